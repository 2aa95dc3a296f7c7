//! kube-proxy's nftables mode (`pkg/proxy/nftables/proxier.go`): the ruleset of `table ip
//! kube-proxy` (and `ip6 kube-proxy`) after a full sync, in the `add …` form kube-proxy's
//! `knftables` writes and that `nft -f` loads into an empty ruleset.
//!
//! kube-proxy's defaults are rendered: `--nodeport-addresses primary` (the node's first address
//! of the family in `nodeport-ips`), `--masquerade-all=false`, `--cluster-cidr` = the first Pod
//! CIDR of the family, mark `0x4000`. Services come in name order, each as one block.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;
use core::net::IpAddr;

use super::proxy::{self, Endpoint, ServicePort, hash_base32};
use crate::cluster::Cluster;
use crate::model::Family;

/// kube-proxy's `chainNameBaseLengthMax`.
const NAME_BASE_MAX: usize = 240;

fn hash_and_truncate(name: &str) -> String {
    let mut out = format!("{}-{name}", hash_base32(name, 8));
    if out.len() > NAME_BASE_MAX {
        out.truncate(NAME_BASE_MAX - 3);
        out.push_str("...");
    }
    out
}

/// `HASH-ns/name/proto/port`, the suffix of a port's chains.
pub(crate) fn port_base(sp: &ServicePort) -> String {
    hash_and_truncate(&format!(
        "{}/{}/{}/{}",
        sp.namespace,
        sp.name,
        sp.proto(),
        sp.port_name
    ))
}

/// `HASH-ns/name/proto/port__ip/port`, the suffix of an endpoint's chain and affinity set.
pub(crate) fn endpoint_base(sp: &ServicePort, ep: &Endpoint) -> String {
    let ip = ep.ip.to_string().replace(':', ".");
    hash_and_truncate(&format!(
        "{}/{}/{}/{}__{ip}/{}",
        sp.namespace,
        sp.name,
        sp.proto(),
        sp.port_name,
        ep.port
    ))
}

/// The ruleset for node `node`: `table ip kube-proxy`, then `table ip6 kube-proxy` when Services
/// have IPv6 cluster IPs.
pub fn ruleset(cluster: &Cluster, node: &str) -> String {
    let mut out = String::new();
    for fam in proxy::families(cluster) {
        out.push_str(&family_ruleset(cluster, node, fam));
    }
    out
}

struct Names {
    fam: &'static str,
    ipx: &'static str,
    addr_type: &'static str,
}

/// One family's table.
pub fn family_ruleset(cluster: &Cluster, node: &str, fam: Family) -> String {
    let n = match fam {
        Family::V4 => Names {
            fam: "ip",
            ipx: "ip",
            addr_type: "ipv4_addr",
        },
        Family::V6 => Names {
            fam: "ip6",
            ipx: "ip6",
            addr_type: "ipv6_addr",
        },
    };
    let t = format!("{} kube-proxy", n.fam);
    let ipx = n.ipx;
    let addr = n.addr_type;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "add table {t} {{ comment \"rules for kube-proxy\" ; }}\n"
    );
    let _ = writeln!(
        o,
        "add set {t} cluster-ips {{ type {addr} ; comment \"Active ClusterIPs\" ; }}"
    );
    let _ = writeln!(
        o,
        "add set {t} nodeport-ips {{ type {addr} ; comment \"IPs that accept NodePort traffic\" ; }}\n"
    );
    for (name, key, comment) in [
        (
            "firewall-ips",
            "addr . inet_proto . inet_service",
            "destinations that are subject to LoadBalancerSourceRanges",
        ),
        (
            "no-endpoint-nodeports",
            "inet_proto . inet_service",
            "vmap to drop or reject packets to service nodeports with no endpoints",
        ),
        (
            "no-endpoint-services",
            "addr . inet_proto . inet_service",
            "vmap to drop or reject packets to services with no endpoints",
        ),
        (
            "service-ips",
            "addr . inet_proto . inet_service",
            "ClusterIP, ExternalIP and LoadBalancer IP traffic",
        ),
        (
            "service-nodeports",
            "inet_proto . inet_service",
            "NodePort traffic",
        ),
    ] {
        let key = key.replace("addr", addr);
        let _ = writeln!(
            o,
            "add map {t} {name} {{ type {key} : verdict ; comment \"{comment}\" ; }}"
        );
    }
    o.push('\n');
    for (chain, spec) in [
        ("cluster-ips-check", ""),
        (
            "filter-prerouting-pre-dnat",
            " { type filter hook prerouting priority -110 ; }",
        ),
        (
            "filter-output-pre-dnat",
            " { type filter hook output priority -110 ; }",
        ),
        (
            "filter-forward",
            " { type filter hook forward priority 0 ; }",
        ),
        ("filter-input", " { type filter hook input priority 0 ; }"),
        ("filter-output", " { type filter hook output priority 0 ; }"),
        ("firewall-check", ""),
        ("mark-for-masquerade", ""),
        ("masquerading", ""),
        ("nat-output", " { type nat hook output priority -100 ; }"),
        (
            "nat-postrouting",
            " { type nat hook postrouting priority 100 ; }",
        ),
        (
            "nat-prerouting",
            " { type nat hook prerouting priority -100 ; }",
        ),
        ("nodeport-endpoints-check", ""),
        (
            "reject-chain",
            " { comment \"helper for @no-endpoint-services / @no-endpoint-nodeports\" ; }",
        ),
        ("services", ""),
        ("service-endpoints-check", ""),
    ] {
        let _ = writeln!(o, "add chain {t} {chain}{spec}");
    }
    o.push('\n');
    let cidrs: Vec<String> = cluster
        .config
        .service_cidrs
        .iter()
        .filter(|c| Family::of_net(c) == fam)
        .map(ToString::to_string)
        .collect();
    let mut base = Vec::new();
    base.push(format!(
        "cluster-ips-check {ipx} daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\""
    ));
    if !cidrs.is_empty() {
        base.push(format!(
            "cluster-ips-check {ipx} daddr {{ {} }} drop comment \"Drop traffic to unallocated ClusterIPs\"",
            cidrs.join(", ")
        ));
    }
    for r in [
        "filter-prerouting-pre-dnat ct state new jump firewall-check",
        "filter-forward ct state new jump service-endpoints-check",
        "filter-forward ct state new jump cluster-ips-check",
        "filter-input ct state new jump nodeport-endpoints-check",
        "filter-input ct state new jump service-endpoints-check",
        "filter-output ct state new jump service-endpoints-check",
        "filter-output-pre-dnat ct state new jump firewall-check",
        "filter-output ct state new jump cluster-ips-check",
    ] {
        base.push(r.into());
    }
    base.push(format!(
        "firewall-check {ipx} daddr . meta l4proto . th dport vmap @firewall-ips"
    ));
    for r in [
        "mark-for-masquerade mark set mark or 0x4000",
        "masquerading mark and 0x4000 == 0 return",
        "masquerading mark set mark xor 0x4000",
        "masquerading masquerade fully-random",
        "nat-output jump services",
        "nat-postrouting jump masquerading",
        "nat-prerouting jump services",
    ] {
        base.push(r.into());
    }
    base.push(format!(
        "nodeport-endpoints-check {ipx} daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports"
    ));
    base.push("reject-chain reject".into());
    base.push(format!(
        "services {ipx} daddr . meta l4proto . th dport vmap @service-ips"
    ));
    base.push(format!(
        "services {ipx} daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports"
    ));
    base.push(format!(
        "service-endpoints-check {ipx} daddr . meta l4proto . th dport vmap @no-endpoint-services"
    ));
    for r in base {
        let _ = writeln!(o, "add rule {t} {r}");
    }
    // --nodeport-addresses primary: the node's first address of the family.
    let node_ip = proxy::node_ip(cluster, node, fam);
    if let Some(ip) = node_ip {
        let _ = writeln!(o, "add element {t} nodeport-ips {{ {ip} }}");
    }
    let local_cidr = proxy::cluster_cidr(cluster, fam);
    for sp in proxy::service_ports(cluster, node, fam) {
        service_block(
            &mut o,
            &t,
            ipx,
            addr,
            &sp,
            local_cidr.map(|c| c.to_string()),
            node_ip,
        );
    }
    o
}

fn service_block(
    o: &mut String,
    t: &str,
    ipx: &str,
    addr: &str,
    sp: &ServicePort,
    local_cidr: Option<String>,
    node_ip: Option<IpAddr>,
) {
    let name = sp.name_string();
    let proto = sp.proto();
    let cat = sp.categorize();
    let base = port_base(sp);
    let svc = format!("service-{base}");
    let local = format!("local-{base}");
    let ext = format!("external-{base}");
    let fw = format!("firewall-{base}");
    let uses_cluster_chain = !cat.cluster.is_empty() && sp.uses_cluster_endpoints();
    let uses_local_chain = !cat.local.is_empty() && sp.uses_local_endpoints();
    let (internal_chain, has_internal) = if sp.itp_local {
        (&local, cat.has_any && !cat.local.is_empty())
    } else {
        (&svc, cat.has_any)
    };
    let (external_policy_chain, has_external) = if sp.external_policy_local() {
        (&local, cat.has_any && !cat.local.is_empty())
    } else {
        (&svc, cat.has_any)
    };
    let uses_ext_chain = cat.has_any && sp.externally_accessible();
    let (int_verdict, ext_verdict) = if cat.has_any {
        ("drop", "drop")
    } else {
        ("goto reject-chain", "goto reject-chain")
    };
    let ep_chain = |ep: &Endpoint| format!("endpoint-{}", endpoint_base(sp, ep));
    let aff_set = |ep: &Endpoint| format!("affinity-{}", endpoint_base(sp, ep));

    let _ = writeln!(o, "\n# {name}");
    let mut chains: Vec<String> = Vec::new();
    if uses_cluster_chain {
        chains.push(svc.clone());
    }
    if uses_local_chain {
        chains.push(local.clone());
    }
    if uses_ext_chain {
        chains.push(ext.clone());
    }
    for ep in &cat.reachable {
        chains.push(ep_chain(ep));
    }
    if sp.uses_firewall() {
        chains.push(fw.clone());
    }
    if let Some(timeout) = sp.affinity {
        for ep in &cat.reachable {
            let _ = writeln!(
                o,
                "add set {t} {} {{ type {addr} ; flags dynamic,timeout ; timeout {timeout}s ; }}",
                aff_set(ep)
            );
        }
    }
    for c in &chains {
        let _ = writeln!(o, "add chain {t} {c}");
    }
    let mut rule = |chain: &str, text: String| {
        let _ = writeln!(o, "add rule {t} {chain} {text}");
    };
    if has_internal && let Some(cidr) = &local_cidr {
        rule(
            internal_chain,
            format!(
                "{ipx} daddr {} {ipx} saddr != {cidr} jump mark-for-masquerade",
                sp.cluster_ip
            ),
        );
    }
    let lb = |chain: &str, eps: &[Endpoint], rule: &mut dyn FnMut(&str, String)| {
        if sp.affinity.is_some() {
            for ep in eps {
                rule(
                    chain,
                    format!("{ipx} saddr @{} goto {}", aff_set(ep), ep_chain(ep)),
                );
            }
        }
        let elems: Vec<String> = eps
            .iter()
            .enumerate()
            .map(|(i, ep)| format!("{i} : goto {}", ep_chain(ep)))
            .collect();
        rule(
            chain,
            format!(
                "numgen random mod {} vmap {{ {} }}",
                eps.len(),
                elems.join(" , ")
            ),
        );
    };
    if uses_cluster_chain {
        lb(&svc, &cat.cluster, &mut rule);
    }
    if uses_local_chain {
        lb(&local, &cat.local, &mut rule);
    }
    if uses_ext_chain {
        if !sp.external_policy_local() {
            rule(&ext, "jump mark-for-masquerade".into());
        } else {
            if let Some(cidr) = &local_cidr {
                rule(
                    &ext,
                    format!("{ipx} saddr {cidr} goto {svc} comment \"short-circuit pod traffic\""),
                );
            }
            rule(
                &ext,
                "fib saddr type local jump mark-for-masquerade comment \"masquerade local traffic\""
                    .into(),
            );
            rule(
                &ext,
                format!("fib saddr type local goto {svc} comment \"short-circuit local traffic\""),
            );
        }
        if has_external {
            rule(&ext, format!("goto {external_policy_chain}"));
        }
    }
    for ep in &cat.reachable {
        let c = ep_chain(ep);
        rule(
            &c,
            format!("{ipx} saddr {} jump mark-for-masquerade", ep.ip),
        );
        if sp.affinity.is_some() {
            rule(&c, format!("update @{} {{ {ipx} saddr }}", aff_set(ep)));
        }
        rule(
            &c,
            format!("meta l4proto {proto} dnat to {}", ep.host_port()),
        );
    }
    if sp.uses_firewall() {
        // knftables.Concat: the set's elements separated by " , ".
        let mut sources: Vec<String> = sp.source_ranges.iter().map(|r| r.to_string()).collect();
        if sp.allows_from_node(node_ip) {
            sources.extend(sp.lb_ips.iter().map(|ip| ip.to_string()));
        }
        rule(
            &fw,
            format!("{ipx} saddr != {{ {} }} drop", sources.join(" , ")),
        );
    }

    o.push('\n');
    let mut elem = |set: &str, text: String| {
        let _ = writeln!(o, "add element {t} {set} {{ {text} }}");
    };
    let cip = sp.cluster_ip;
    let port = sp.port;
    elem("cluster-ips", cip.to_string());
    if has_internal {
        elem(
            "service-ips",
            format!("{cip} . {proto} . {port} : goto {internal_chain}"),
        );
    } else {
        elem(
            "no-endpoint-services",
            format!("{cip} . {proto} . {port} comment \"{name}\" : {int_verdict}"),
        );
    }
    for ip in sp.external_ips.iter().chain(&sp.lb_ips) {
        if cat.has_any {
            elem(
                "service-ips",
                format!("{ip} . {proto} . {port} : goto {ext}"),
            );
        }
    }
    if let Some(np) = sp.node_port
        && cat.has_any
    {
        elem("service-nodeports", format!("{proto} . {np} : goto {ext}"));
    }
    if sp.uses_firewall() {
        for ip in &sp.lb_ips {
            elem(
                "firewall-ips",
                format!("{ip} . {proto} . {port} : goto {fw}"),
            );
        }
    }
    if !has_external {
        if let Some(np) = sp.node_port {
            elem(
                "no-endpoint-nodeports",
                format!("{proto} . {np} comment \"{name}\" : {ext_verdict}"),
            );
        }
        for ip in sp.lb_ips.iter().chain(&sp.external_ips) {
            elem(
                "no-endpoint-services",
                format!("{ip} . {proto} . {port} comment \"{name}\" : {ext_verdict}"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_names_as_kube_proxy_hashes_them() {
        assert_eq!(
            hash_and_truncate("ns1/svc1/tcp/p80__10.180.0.1/80"),
            "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"
        );
    }
}
