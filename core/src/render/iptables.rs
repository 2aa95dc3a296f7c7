//! kube-proxy's iptables mode (`pkg/proxy/iptables/proxier.go`, `syncProxyRules`): the rules it
//! writes for a node, printed as `iptables-save` prints them once they are in the kernel.
//!
//! What kube-proxy passes to `iptables-restore` is rewritten by the kernel round trip:
//! `iptables-save` puts `-s`/`-d`/`-p` first (with a prefix length), quotes comments that are
//! not plain words, prints `MARK --or-mark`/`--xor-mark` as `--set-xmark`, spells out the
//! `recent` match's defaults, and prints a `--probability` as the 31-bit fraction the kernel
//! stores (`0.3333333333` → `0.33333333349`), and `libxt_nfacct` puts two spaces after
//! `--nfacct-name`. This renderer prints that canonical form, so the
//! output equals `iptables-save` on a node that holds only kube-proxy's rules.
//!
//! kube-proxy's defaults are rendered: `--masquerade-all=false`, `--cluster-cidr` = the first
//! Pod CIDR of the family (the local-traffic detector), `--nodeport-addresses` unset (every local
//! address), `--iptables-localhost-nodeports=true`, mark bit 14 (`0x4000`),
//! `nf_conntrack_tcp_be_liberal=0`, an `iptables` with `--random-fully`, and nfacct counters
//! available. Services are written in name order (kube-proxy walks a Go map). Above 1000
//! endpoints (kube-proxy's large-cluster mode) the per-endpoint rules lose their comments.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;
use core::net::IpAddr;

use ipnet::IpNet;

use super::proxy::{self, Endpoint, ServicePort, hash_base32};
use crate::cluster::Cluster;
use crate::model::Family;

const MARK: &str = "0x4000";
/// kube-proxy's `largeClusterEndpointsThreshold`.
const LARGE_CLUSTER: usize = 1000;
const NODEPORTS_COMMENT: &str =
    "kubernetes service nodeports; NOTE: this must be the last rule in this chain";

/// One rule in `iptables-save`'s order: addresses and protocol, then matches, then target.
#[derive(Default)]
struct Rule {
    src: Option<(bool, String)>,
    dst: Option<(bool, String)>,
    proto: Option<&'static str>,
    matches: Vec<String>,
    target: String,
}

impl Rule {
    fn new() -> Self {
        Rule::default()
    }
    fn src(mut self, negate: bool, net: &str) -> Self {
        self.src = Some((negate, net.into()));
        self
    }
    fn dst(mut self, negate: bool, net: &str) -> Self {
        self.dst = Some((negate, net.into()));
        self
    }
    fn comment(mut self, text: &str) -> Self {
        self.matches
            .push(format!("-m comment --comment {}", save_string(text)));
        self
    }
    /// `appendServiceCommentLocked`: the comment, left out in large-cluster mode.
    fn svc_comment(self, large: bool, text: &str) -> Self {
        if large { self } else { self.comment(text) }
    }
    /// `-m PROTO -p PROTO [--dport N]`.
    fn proto(mut self, proto: &'static str, dport: Option<u16>) -> Self {
        self.proto = Some(proto);
        match dport {
            Some(p) => self.matches.push(format!("-m {proto} --dport {p}")),
            None => self.matches.push(format!("-m {proto}")),
        }
        self
    }
    fn m(mut self, text: impl Into<String>) -> Self {
        self.matches.push(text.into());
        self
    }
    fn j(mut self, target: impl Into<String>) -> Self {
        self.target = target.into();
        self
    }
    fn print(&self, chain: &str, out: &mut String) {
        let _ = write!(out, "-A {chain}");
        for (flag, part) in [("-s", &self.src), ("-d", &self.dst)] {
            if let Some((neg, net)) = part {
                let bang = if *neg { "! " } else { "" };
                let _ = write!(out, " {bang}{flag} {net}");
            }
        }
        if let Some(p) = self.proto {
            let _ = write!(out, " -p {p}");
        }
        for m in &self.matches {
            let _ = write!(out, " {m}");
        }
        if !self.target.is_empty() {
            let _ = write!(out, " -j {}", self.target);
        }
        out.push('\n');
    }
}

/// One table: its chains in `iptables-save` order and their rules.
struct Table {
    name: &'static str,
    /// The other chains' places in `rules`, by name (`BTreeMap<String, usize>`: a map type the
    /// wasm build has anyway).
    chains: BTreeMap<String, usize>,
    /// The other chains' rules, in the order the chains were made.
    rules: Vec<Vec<Rule>>,
    /// The built-in chains in their order, with their rules (a list, not a map: a few chains,
    /// and one map type less in the wasm build).
    builtin: Vec<(&'static str, Vec<Rule>)>,
}

impl Table {
    fn new(name: &'static str, builtin: &'static [&'static str]) -> Self {
        Table {
            name,
            chains: BTreeMap::new(),
            rules: Vec::new(),
            builtin: builtin.iter().map(|b| (*b, Vec::new())).collect(),
        }
    }
    /// The place of a chain's rules (made empty if new).
    fn chain(&mut self, name: &str) -> usize {
        if let Some(&i) = self.chains.get(name) {
            return i;
        }
        let i = self.rules.len();
        self.rules.push(Vec::new());
        self.chains.insert(name.into(), i);
        i
    }
    fn add(&mut self, chain: &str, rule: Rule) {
        match self.builtin.iter_mut().find(|(b, _)| *b == chain) {
            Some((_, rules)) => rules.push(rule),
            None => {
                let i = self.chain(chain);
                self.rules[i].push(rule);
            }
        }
    }
    fn print(&self, out: &mut String) {
        let _ = writeln!(out, "*{}", self.name);
        for (b, _) in &self.builtin {
            let _ = writeln!(out, ":{b} ACCEPT [0:0]");
        }
        for c in self.chains.keys() {
            let _ = writeln!(out, ":{c} - [0:0]");
        }
        for (b, rules) in &self.builtin {
            for r in rules {
                r.print(b, out);
            }
        }
        for (c, &i) in &self.chains {
            for r in &self.rules[i] {
                r.print(c, out);
            }
        }
        out.push_str("COMMIT\n");
    }
}

/// `xtables_save_string`: bare when only `[A-Za-z0-9_-]`, else in double quotes.
fn save_string(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return s.into();
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        if matches!(c, '"' | '\\' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// kube-proxy writes `1/n` as `%0.10f`; `libxt_statistic` stores `lround(p * 2^31)` and
/// `iptables-save` prints that fraction with `%.11f`.
pub fn saved_probability(n: usize) -> String {
    super::fixed(f64::from(stored_probability(n)) / 2_147_483_648.0, 11)
}

/// The kernel's `xt_statistic` fraction for kube-proxy's `1/n`: `lround(p * 2^31)` of the
/// `%0.10f` text; a rule matches when `get_random_u32() & 0x7FFFFFFF` is below it.
pub fn stored_probability(n: usize) -> u32 {
    let written = super::fixed(1.0 / n as f64, 10);
    let p: f64 = written.parse().unwrap_or(0.0);
    // lround of a positive value up to 2^31: floor(x + 0.5), exact in f64 at this size.
    (p * 2_147_483_648.0 + 0.5) as u32
}

fn host(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}/32"),
        IpAddr::V6(v6) => format!("{v6}/128"),
    }
}

/// `KUBE-SVC-`/`KUBE-SVL-`/`KUBE-EXT-` + the port's hash.
pub(crate) fn svc_chain(prefix: &str, sp: &ServicePort) -> String {
    format!(
        "{prefix}{}",
        hash_base32(&format!("{}{}", sp.name_string(), sp.proto()), 16)
    )
}

/// `KUBE-SEP-` + the endpoint's hash.
pub(crate) fn sep_chain(sp: &ServicePort, ep: &Endpoint) -> String {
    format!(
        "KUBE-SEP-{}",
        hash_base32(
            &format!("{}{}{}", sp.name_string(), sp.proto(), ep.host_port()),
            16
        )
    )
}

/// `iptables-save` (and, when Services have IPv6 cluster IPs, `ip6tables-save` after a
/// `# ip6tables-save` line) of the node `node` as kube-proxy's iptables mode leaves it.
pub fn iptables_save(cluster: &Cluster, node: &str) -> String {
    let mut out = String::new();
    for fam in proxy::families(cluster) {
        if fam == Family::V6 {
            out.push_str("# ip6tables-save\n");
        }
        out.push_str(&family_save(cluster, node, fam));
    }
    out
}

/// The tables of one family, in the order `iptables-save` (nf_tables backend) prints them.
pub fn family_save(cluster: &Cluster, node: &str, fam: Family) -> String {
    let v6 = fam == Family::V6;
    let localhost_nodeports = !v6;
    let local_cidr: Option<IpNet> = proxy::cluster_cidr(cluster, fam);
    let mut filter = Table::new("filter", &["INPUT", "FORWARD", "OUTPUT"]);
    let mut nat = Table::new("nat", &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]);
    let mut mangle = Table::new(
        "mangle",
        &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
    );
    // ipt.Monitor's canary chains.
    for t in [&mut mangle, &mut nat, &mut filter] {
        t.chain("KUBE-PROXY-CANARY");
    }
    // iptablesJumpChains then iptablesKubeletJumpChains, each prepended (EnsureRule
    // Prepend): the last one written is the first in its chain.
    let new = "-m conntrack --ctstate NEW";
    let jumps: [(bool, &str, &str, &str, bool); 14] = [
        (
            true,
            "KUBE-EXTERNAL-SERVICES",
            "INPUT",
            "kubernetes externally-visible service portals",
            true,
        ),
        (
            true,
            "KUBE-EXTERNAL-SERVICES",
            "FORWARD",
            "kubernetes externally-visible service portals",
            true,
        ),
        (
            true,
            "KUBE-NODEPORTS",
            "INPUT",
            "kubernetes health check service ports",
            false,
        ),
        (
            true,
            "KUBE-SERVICES",
            "FORWARD",
            "kubernetes service portals",
            true,
        ),
        (
            true,
            "KUBE-SERVICES",
            "OUTPUT",
            "kubernetes service portals",
            true,
        ),
        (
            true,
            "KUBE-FORWARD",
            "FORWARD",
            "kubernetes forwarding rules",
            false,
        ),
        (
            true,
            "KUBE-PROXY-FIREWALL",
            "INPUT",
            "kubernetes load balancer firewall",
            true,
        ),
        (
            true,
            "KUBE-PROXY-FIREWALL",
            "OUTPUT",
            "kubernetes load balancer firewall",
            true,
        ),
        (
            true,
            "KUBE-PROXY-FIREWALL",
            "FORWARD",
            "kubernetes load balancer firewall",
            true,
        ),
        (
            false,
            "KUBE-SERVICES",
            "OUTPUT",
            "kubernetes service portals",
            false,
        ),
        (
            false,
            "KUBE-SERVICES",
            "PREROUTING",
            "kubernetes service portals",
            false,
        ),
        (
            false,
            "KUBE-POSTROUTING",
            "POSTROUTING",
            "kubernetes postrouting rules",
            false,
        ),
        (true, "KUBE-FIREWALL", "INPUT", "", false),
        (true, "KUBE-FIREWALL", "OUTPUT", "", false),
    ];
    for (is_filter, to, from, comment, ct_new) in jumps.iter().rev() {
        let t = if *is_filter { &mut filter } else { &mut nat };
        t.chain(to);
        let mut r = Rule::new();
        if *ct_new {
            r = r.m(new);
        }
        if !comment.is_empty() {
            r = r.comment(comment);
        }
        t.add(from, r.j(*to));
    }
    for c in [
        "KUBE-SERVICES",
        "KUBE-EXTERNAL-SERVICES",
        "KUBE-FORWARD",
        "KUBE-NODEPORTS",
        "KUBE-PROXY-FIREWALL",
    ] {
        filter.chain(c);
    }
    for c in [
        "KUBE-SERVICES",
        "KUBE-NODEPORTS",
        "KUBE-POSTROUTING",
        "KUBE-MARK-MASQ",
    ] {
        nat.chain(c);
    }
    let mark = format!("{MARK}/{MARK}");
    nat.add(
        "KUBE-POSTROUTING",
        Rule::new()
            .m(format!("-m mark ! --mark {mark}"))
            .j("RETURN"),
    );
    nat.add(
        "KUBE-POSTROUTING",
        Rule::new().j(format!("MARK --set-xmark {MARK}/0x0")),
    );
    nat.add(
        "KUBE-POSTROUTING",
        Rule::new()
            .comment("kubernetes service traffic requiring SNAT")
            .j("MASQUERADE --random-fully"),
    );
    nat.add(
        "KUBE-MARK-MASQ",
        Rule::new().j(format!("MARK --set-xmark {mark}")),
    );
    if localhost_nodeports {
        filter.add(
            "KUBE-FIREWALL",
            Rule::new()
                .src(true, "127.0.0.0/8")
                .dst(false, "127.0.0.0/8")
                .comment("block incoming localnet connections")
                .m("-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT")
                .j("DROP"),
        );
    }

    let node_ip = proxy::node_ip(cluster, node, fam);
    let ports = proxy::service_ports(cluster, node, fam);
    // largeClusterEndpointsThreshold: above 1000 endpoints kube-proxy drops the comments of
    // the per-endpoint rules.
    let large = ports.iter().map(|sp| sp.endpoints.len()).sum::<usize>() > LARGE_CLUSTER;
    for sp in &ports {
        service_rules(
            sp,
            &mut filter,
            &mut nat,
            local_cidr,
            node_ip,
            localhost_nodeports,
            large,
        );
    }

    let mut last = Rule::new();
    if v6 {
        last = last.dst(true, "::1/128");
    }
    nat.add(
        "KUBE-SERVICES",
        last.comment(NODEPORTS_COMMENT)
            .m("-m addrtype --dst-type LOCAL")
            .j("KUBE-NODEPORTS"),
    );
    filter.add(
        "KUBE-FORWARD",
        Rule::new()
            .m("-m conntrack --ctstate INVALID -m nfacct --nfacct-name  ct_state_invalid_dropped_pkts")
            .j("DROP"),
    );
    filter.add(
        "KUBE-FORWARD",
        Rule::new()
            .comment("kubernetes forwarding rules")
            .m(format!("-m mark --mark {mark}"))
            .j("ACCEPT"),
    );
    filter.add(
        "KUBE-FORWARD",
        Rule::new()
            .comment("kubernetes forwarding conntrack rule")
            .m("-m conntrack --ctstate RELATED,ESTABLISHED")
            .j("ACCEPT"),
    );

    let mut out = String::new();
    for t in [&mangle, &filter, &nat] {
        t.print(&mut out);
    }
    out
}

fn service_rules(
    sp: &ServicePort,
    filter: &mut Table,
    nat: &mut Table,
    local_cidr: Option<IpNet>,
    node_ip: Option<IpAddr>,
    localhost_nodeports: bool,
    large: bool,
) {
    let name = sp.name_string();
    let proto = sp.proto();
    let cat = sp.categorize();
    let svc = svc_chain("KUBE-SVC-", sp);
    let svl = svc_chain("KUBE-SVL-", sp);
    let ext = svc_chain("KUBE-EXT-", sp);
    let uses_cluster_chain = !cat.cluster.is_empty() && sp.uses_cluster_endpoints();
    let uses_local_chain = !cat.local.is_empty() && sp.uses_local_endpoints();
    let (internal_chain, has_internal) = if sp.itp_local {
        (&svl, cat.has_any && !cat.local.is_empty())
    } else {
        (&svc, cat.has_any)
    };
    let (external_policy_chain, has_external) = if sp.external_policy_local() {
        (&svl, cat.has_any && !cat.local.is_empty())
    } else {
        (&svc, cat.has_any)
    };
    let uses_ext_chain = cat.has_any && sp.externally_accessible();
    let fw = svc_chain("KUBE-FW-", sp);
    let uses_fw_chain = cat.has_any && sp.uses_firewall();
    let lb_chain = if uses_fw_chain { &fw } else { &ext };
    let (internal_filter, external_filter, filter_comment_int, filter_comment_ext) = if !cat.has_any
    {
        let c = format!("{name} has no endpoints");
        let reject = match sp.cluster_ip {
            IpAddr::V4(_) => "REJECT --reject-with icmp-port-unreachable",
            IpAddr::V6(_) => "REJECT --reject-with icmp6-port-unreachable",
        };
        (reject, reject, c.clone(), c)
    } else {
        let c = format!("{name} has no local endpoints");
        ("DROP", "DROP", c.clone(), c)
    };
    let cip = host(&sp.cluster_ip);

    if has_internal {
        nat.add(
            "KUBE-SERVICES",
            Rule::new()
                .dst(false, &cip)
                .comment(&format!("{name} cluster IP"))
                .proto(proto, Some(sp.port))
                .j(internal_chain.as_str()),
        );
    } else {
        filter.add(
            "KUBE-SERVICES",
            Rule::new()
                .dst(false, &cip)
                .comment(&filter_comment_int)
                .proto(proto, Some(sp.port))
                .j(internal_filter),
        );
    }
    for ip in &sp.external_ips {
        if cat.has_any {
            nat.add(
                "KUBE-SERVICES",
                Rule::new()
                    .dst(false, &host(ip))
                    .comment(&format!("{name} external IP"))
                    .proto(proto, Some(sp.port))
                    .j(ext.as_str()),
            );
        }
        if !has_external {
            filter.add(
                "KUBE-EXTERNAL-SERVICES",
                Rule::new()
                    .dst(false, &host(ip))
                    .comment(&filter_comment_ext)
                    .proto(proto, Some(sp.port))
                    .j(external_filter),
            );
        }
    }
    for ip in &sp.lb_ips {
        if cat.has_any {
            nat.add(
                "KUBE-SERVICES",
                Rule::new()
                    .dst(false, &host(ip))
                    .comment(&format!("{name} loadbalancer IP"))
                    .proto(proto, Some(sp.port))
                    .j(lb_chain.as_str()),
            );
        }
        if uses_fw_chain {
            filter.add(
                "KUBE-PROXY-FIREWALL",
                Rule::new()
                    .dst(false, &host(ip))
                    .comment(&format!("{name} traffic not accepted by {fw}"))
                    .proto(proto, Some(sp.port))
                    .j("DROP"),
            );
        }
    }
    if !has_external {
        for ip in &sp.lb_ips {
            filter.add(
                "KUBE-EXTERNAL-SERVICES",
                Rule::new()
                    .dst(false, &host(ip))
                    .comment(&filter_comment_ext)
                    .proto(proto, Some(sp.port))
                    .j(external_filter),
            );
        }
    }
    if let Some(np) = sp.node_port {
        if cat.has_any {
            if localhost_nodeports {
                nat.add(
                    "KUBE-NODEPORTS",
                    Rule::new()
                        .dst(false, "127.0.0.0/8")
                        .comment(&name)
                        .proto(proto, Some(np))
                        .m("-m nfacct --nfacct-name  localhost_nps_accepted_pkts")
                        .j(ext.as_str()),
                );
            }
            nat.add(
                "KUBE-NODEPORTS",
                Rule::new()
                    .comment(&name)
                    .proto(proto, Some(np))
                    .j(ext.as_str()),
            );
        }
        if !has_external {
            filter.add(
                "KUBE-EXTERNAL-SERVICES",
                Rule::new()
                    .comment(&filter_comment_ext)
                    .m("-m addrtype --dst-type LOCAL")
                    .proto(proto, Some(np))
                    .j(external_filter),
            );
        }
    }
    if let Some(hc) = sp.health_check_node_port {
        filter.add(
            "KUBE-NODEPORTS",
            Rule::new()
                .comment(&format!("{name} health check node port"))
                .proto("tcp", Some(hc))
                .j("ACCEPT"),
        );
    }

    if has_internal && let Some(cidr) = local_cidr {
        nat.add(
            internal_chain,
            Rule::new()
                .src(true, &cidr.to_string())
                .dst(false, &cip)
                .comment(&format!("{name} cluster IP"))
                .proto(proto, Some(sp.port))
                .j("KUBE-MARK-MASQ"),
        );
    }
    if uses_ext_chain {
        nat.chain(&ext);
        if !sp.external_policy_local() {
            nat.add(
                &ext,
                Rule::new()
                    .comment(&format!(
                        "masquerade traffic for {name} external destinations"
                    ))
                    .j("KUBE-MARK-MASQ"),
            );
        } else {
            if let Some(cidr) = local_cidr {
                nat.add(
                    &ext,
                    Rule::new()
                        .src(false, &cidr.to_string())
                        .comment(&format!("pod traffic for {name} external destinations"))
                        .j(svc.as_str()),
                );
            }
            nat.add(
                &ext,
                Rule::new()
                    .comment(&format!(
                        "masquerade LOCAL traffic for {name} external destinations"
                    ))
                    .m("-m addrtype --src-type LOCAL")
                    .j("KUBE-MARK-MASQ"),
            );
            nat.add(
                &ext,
                Rule::new()
                    .comment(&format!(
                        "route LOCAL traffic for {name} external destinations"
                    ))
                    .m("-m addrtype --src-type LOCAL")
                    .j(svc.as_str()),
            );
        }
        if has_external {
            nat.add(&ext, Rule::new().j(external_policy_chain.as_str()));
        }
    }
    if uses_fw_chain {
        // Only VIP-like load balancers that keep the client's address are filtered; traffic
        // that falls off the chain's end is dropped by KUBE-PROXY-FIREWALL (filter).
        nat.chain(&fw);
        let comment = format!("{name} loadbalancer IP");
        let mut sources: Vec<String> = sp.source_ranges.iter().map(ToString::to_string).collect();
        if sp.allows_from_node(node_ip) {
            sources.extend(sp.lb_ips.iter().map(host));
        }
        for src in &sources {
            nat.add(
                &fw,
                Rule::new()
                    .src(false, src)
                    .comment(&comment)
                    .j(ext.as_str()),
            );
        }
        nat.add(
            &fw,
            Rule::new().comment(&format!(
                "other traffic to {name} will be dropped by KUBE-PROXY-FIREWALL"
            )),
        );
    }
    if uses_cluster_chain {
        nat.chain(&svc);
        endpoint_jumps(nat, sp, &svc, &cat.cluster, large);
    }
    if uses_local_chain {
        nat.chain(&svl);
        endpoint_jumps(nat, sp, &svl, &cat.local, large);
    }
    for ep in &cat.reachable {
        let sep = sep_chain(sp, ep);
        nat.add(
            &sep,
            Rule::new()
                .src(false, &host(&ep.ip))
                .svc_comment(large, &name)
                .j("KUBE-MARK-MASQ"),
        );
        let mut r = Rule::new().svc_comment(large, &name);
        if sp.affinity.is_some() {
            r = r.m(format!(
                "-m recent --set --name {sep} --mask {} --rsource",
                full_mask(&ep.ip)
            ));
        }
        nat.add(
            &sep,
            r.proto(proto, None)
                .j(format!("DNAT --to-destination {}", ep.host_port())),
        );
    }
}

fn full_mask(ip: &IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "255.255.255.255",
        IpAddr::V6(_) => "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    }
}

/// `writeServiceToEndpointRules`: affinity checks, then the probability cascade.
fn endpoint_jumps(nat: &mut Table, sp: &ServicePort, chain: &str, eps: &[Endpoint], large: bool) {
    let name = sp.name_string();
    if let Some(timeout) = sp.affinity {
        for ep in eps {
            let sep = sep_chain(sp, ep);
            nat.add(
                chain,
                Rule::new()
                    .svc_comment(large, &format!("{name} -> {}", ep.host_port()))
                    .m(format!(
                        "-m recent --rcheck --seconds {timeout} --reap --name {sep} --mask {} --rsource",
                        full_mask(&ep.ip)
                    ))
                    .j(sep.as_str()),
            );
        }
    }
    let n = eps.len();
    for (i, ep) in eps.iter().enumerate() {
        let mut r = Rule::new().svc_comment(large, &format!("{name} -> {}", ep.host_port()));
        if i + 1 < n {
            r = r.m(format!(
                "-m statistic --mode random --probability {}",
                saved_probability(n - i)
            ));
        }
        nat.add(chain, r.j(sep_chain(sp, ep)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_read_back_as_the_kernel_stores_them() {
        // iptables-restore of "--probability 0.3333333333" reads back as 0.33333333349.
        assert_eq!(saved_probability(3), "0.33333333349");
        assert_eq!(saved_probability(2), "0.50000000000");
        assert_eq!(saved_probability(7), "0.14285714272");
    }

    #[test]
    fn comments_are_quoted_as_iptables_save_quotes_them() {
        assert_eq!(save_string("ns1/svc1:p80"), "\"ns1/svc1:p80\"");
        assert_eq!(save_string("KUBE-x_1"), "KUBE-x_1");
    }
}
