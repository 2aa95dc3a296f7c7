//! The choice each kube-proxy mode makes for a connection [`crate::route`] sends to a Service
//! address (`route --proxy-mode`), made directly by that mode's own mechanism: IPVS (the
//! schedulers of [`crate::sim`]), iptables (the `-m recent` affinity checks, then the
//! `-m statistic --probability` cascade with the 31-bit fractions the kernel stores,
//! `xt_statistic`'s `get_random_u32() & 0x7FFFFFFF`), nftables (the affinity sets, then
//! `numgen random mod N`: `reciprocal_scale` of a random `u32`) and the historical userspace
//! proxy (kube-proxy's own round robin and ClientIP affinity, retrying the next endpoint when
//! one refuses: `TryConnectEndpoints` over `EndpointDialTimeouts`, four attempts).
//!
//! Each choice names the rule that decided it and lists the rule lines the connection passed,
//! exactly as the mode's rendering ([`crate::render`]) prints them, so a view can highlight
//! them ([`highlight`]). Randomness comes from the configuration's seed; time from the
//! connections. Also here: what kube-proxy does at start with the ConfigMap's `mode`
//! ([`startup`]) and how each mode's rules grow with Services and endpoints ([`counts`]).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::net::IpAddr;

use ipnet::IpNet;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use serde::Serialize;

use crate::cluster::Cluster;
use crate::diag::Msg;
use crate::model::Family;
use crate::msg;
use crate::plan::{Plan, RealServer, VirtualServer, VsKind};
use crate::render::proxy::{self, Endpoint, ServicePort};
use crate::render::{iptables, ipvsadm, nftables, userspace};
use crate::route::ClientLocation;

/// kube-proxy's `--proxy-mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyMode {
    /// IPVS (svcroute's default).
    #[default]
    Ipvs,
    /// iptables (kube-proxy's default).
    Iptables,
    /// nftables.
    Nftables,
    /// The userspace proxy (removed in Kubernetes 1.26).
    Userspace,
}

impl ProxyMode {
    /// Every mode.
    pub const ALL: [ProxyMode; 4] = [
        ProxyMode::Ipvs,
        ProxyMode::Iptables,
        ProxyMode::Nftables,
        ProxyMode::Userspace,
    ];

    /// kube-proxy's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyMode::Ipvs => "ipvs",
            ProxyMode::Iptables => "iptables",
            ProxyMode::Nftables => "nftables",
            ProxyMode::Userspace => "userspace",
        }
    }

    /// The seed of this mode's random draws, from the configuration's seed.
    fn seed(seed: u64) -> u64 {
        seed ^ 0x6b75_6265_2d70_726f
    }
}

impl core::str::FromStr for ProxyMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        ProxyMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                format!("unknown proxy mode {s:?}; one of: ipvs, iptables, nftables, userspace")
            })
    }
}

/// What kube-proxy does at start with the `mode` of its ConfigMap (`kubectl edit cm
/// kube-proxy -n kube-system`, then `kubectl delete pod -l k8s-app=kube-proxy`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Startup {
    /// The mode it runs; `None`: it exits.
    pub mode: Option<ProxyMode>,
    /// What it logs about the choice.
    pub log: Vec<String>,
}

/// The IPVS modules kube-proxy 1.24 checked for (`ipvs.CanUseIPVSProxier`).
const IPVS_MODULES: &str = "[ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh]";

/// kube-proxy's start on Linux with ConfigMap `mode` `configured` and the IPVS kernel modules
/// loaded or not, as kube-proxy `1.minor` does it: `""` is iptables; `ipvs` without the
/// modules falls back to iptables up to 1.24 (`tryIPVSProxy`, the seed notes' era) and exits
/// with an error since 1.25 (kubernetes#111806); `userspace` is gone since 1.26; `nftables`
/// needs 1.29 (its feature gate is on by default since 1.31).
pub fn startup(configured: &str, ipvs_modules: bool, minor: u32) -> Startup {
    let using = |m: ProxyMode| format!("\"Using {} Proxier\"", m.as_str());
    let run = |m: ProxyMode, mut log: Vec<String>| {
        log.push(using(m));
        Startup { mode: Some(m), log }
    };
    let exit = |why: String| Startup {
        mode: None,
        log: Vec::from([format!("\"Error running ProxyServer\" err=\"{why}\"")]),
    };
    match configured {
        "" | "iptables" => run(ProxyMode::Iptables, Vec::new()),
        "ipvs" if ipvs_modules => run(ProxyMode::Ipvs, Vec::new()),
        "ipvs" => {
            let why = format!(
                "IPVS proxier will not be used because the following required kernel modules are not loaded: {IPVS_MODULES}"
            );
            if minor <= 24 {
                run(
                    ProxyMode::Iptables,
                    Vec::from([
                        format!("\"Can't use the IPVS proxier\" err=\"{why}\""),
                        String::from("\"Can't use ipvs proxier, trying iptables proxier\""),
                    ]),
                )
            } else {
                exit(format!("can't use the IPVS proxier: {why}"))
            }
        }
        "userspace" if minor <= 25 => run(ProxyMode::Userspace, Vec::new()),
        "nftables" if minor >= 29 => run(ProxyMode::Nftables, Vec::new()),
        other => exit(format!(
            "invalid proxy mode {other:?} for kube-proxy 1.{minor}"
        )),
    }
}

/// What a mode decided for one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The endpoint that answered (`None`: refused, dropped or rejected).
    pub endpoint: Option<(IpAddr, u16)>,
    /// The rule that decided, and why (structured: a front end translates it).
    pub reason: Msg,
    /// The rule lines passed, as the mode's rendering prints them.
    pub rules: Vec<String>,
    /// Endpoints that refused the connection, in order (`ip:port`).
    pub tried: Vec<String>,
}

/// The random draws, affinity lists and round-robin positions of one mode.
#[derive(Clone, Debug)]
struct ModeState {
    rng: ChaCha8Rng,
    /// iptables `recent` lists and nftables affinity sets: (name, client) → last update (ms),
    /// beside an empty string (`sticky`'s type).
    affinity: Recent,
    /// userspace round robin: service port → next index.
    rr: BTreeMap<String, usize>,
    /// userspace affinity: (service port, client) → (endpoint, last used ms).
    sticky: Recent,
}

/// (name, client) → (text, ms). A map: a route request may come from any number of clients,
/// and a sorted list's insert would make that quadratic (session 8's review).
#[derive(Clone, Debug, Default)]
struct Recent(BTreeMap<(String, IpAddr), (String, u64)>);

impl Recent {
    fn get(&self, key: &(String, IpAddr)) -> Option<&(String, u64)> {
        self.0.get(key)
    }

    fn insert(&mut self, key: (String, IpAddr), value: (String, u64)) {
        self.0.insert(key, value);
    }
}

/// The state the iptables, nftables and userspace modes keep between connections, one per
/// mode (kept in [`crate::sim::Simulator`] beside IPVS's).
#[derive(Clone, Debug, Default)]
pub struct ModeStates {
    /// At most one per mode, in the order first used (a list, not a map: three modes, and
    /// one map type less in the wasm build).
    by_mode: Vec<(ProxyMode, ModeState)>,
}

impl ModeStates {
    /// Forgets every draw, list and position.
    pub fn reset(&mut self) {
        self.by_mode.clear();
    }

    fn of(&mut self, mode: ProxyMode, seed: u64) -> &mut ModeState {
        let i = match self.by_mode.iter().position(|(m, _)| *m == mode) {
            Some(i) => i,
            None => {
                self.by_mode.push((
                    mode,
                    ModeState {
                        rng: ChaCha8Rng::seed_from_u64(ProxyMode::seed(seed)),
                        affinity: Recent::default(),
                        rr: BTreeMap::new(),
                        sticky: Recent::default(),
                    },
                ));
                self.by_mode.len() - 1
            }
        };
        &mut self.by_mode[i].1
    }

    /// Decides, as `ctx`'s mode does, where a connection from `client` at `ms` goes;
    /// `refuses` says which endpoints refuse connections.
    pub fn choose(
        &mut self,
        seed: u64,
        ctx: &Context,
        client: IpAddr,
        ms: u64,
        refuses: &dyn Fn(IpAddr, u16, Option<&str>) -> bool,
    ) -> Choice {
        let st = self.of(ctx.mode, seed);
        match ctx.mode {
            ProxyMode::Userspace => st.userspace(ctx, client, ms, refuses),
            _ => {
                let mut c = st.rules(ctx, client, ms);
                if let Some((ip, port)) = c.endpoint {
                    let ep = ctx
                        .sp
                        .endpoints
                        .iter()
                        .find(|e| e.ip == ip && e.port == port);
                    if refuses(ip, port, ep.and_then(|e| e.pod.as_deref())) {
                        let hp = host_port(ip, port);
                        c.reason = msg!(
                            "{}; {} refuses (TCP RST): the kernel already rewrote the destination, nothing retries another endpoint — the client sees connection refused",
                            core::mem::take(&mut c.reason),
                            hp
                        );
                        c.tried.push(hp);
                        c.endpoint = None;
                    }
                }
                c
            }
        }
    }
}

fn host_port(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// One `route` call's view of a Service port in one mode: its endpoints and the rendered
/// rules of the node, in which the passed lines are looked up.
#[derive(Clone, Debug)]
pub struct Context {
    mode: ProxyMode,
    sp: ServicePort,
    kind: VsKind,
    /// The Service address the connections were sent to.
    address: IpAddr,
    /// The node's addresses (a source among them is local).
    node_addresses: Vec<IpAddr>,
    cluster_cidr: Option<IpNet>,
    node_client: bool,
    /// (section, line): `iptables-save` table names, or `""`.
    lines: Vec<(String, String)>,
}

impl Context {
    /// The Service port behind `vs` on `node` in `mode` (not IPVS); `None` when the mode
    /// has no such port (which the agreement test rules out).
    pub fn new(
        cluster: &Cluster,
        node: &str,
        vs: &VirtualServer,
        mode: ProxyMode,
        location: Option<ClientLocation>,
    ) -> Option<Context> {
        let fam = Family::of(&vs.address);
        let sp = proxy::service_ports(cluster, node, fam)
            .into_iter()
            .find(|sp| {
                sp.protocol == vs.protocol
                    && format!("{}/{}", sp.namespace, sp.name) == vs.service
                    && match vs.kind {
                        VsKind::ClusterIP => sp.cluster_ip == vs.address && sp.port == vs.port,
                        VsKind::NodePort => sp.node_port == Some(vs.port),
                        VsKind::ExternalIP | VsKind::LoadBalancer => {
                            sp.port == vs.port
                                && (sp.external_ips.contains(&vs.address)
                                    || sp.lb_ips.contains(&vs.address))
                        }
                    }
            })?;
        let text = match mode {
            ProxyMode::Iptables => iptables::family_save(cluster, node, fam),
            ProxyMode::Nftables => nftables::family_ruleset(cluster, node, fam),
            ProxyMode::Userspace => userspace::text(cluster, node),
            ProxyMode::Ipvs => return None,
        };
        let mut section = String::new();
        let mut lines = Vec::new();
        for l in text.lines() {
            if let Some(t) = l.strip_prefix('*') {
                section = t.into();
            }
            lines.push((section.clone(), l.to_string()));
        }
        Some(Context {
            mode,
            sp,
            kind: vs.kind,
            address: vs.address,
            node_addresses: cluster
                .node(node)
                .map(|n| n.addresses.clone())
                .unwrap_or_default(),
            cluster_cidr: proxy::cluster_cidr(cluster, fam),
            node_client: location == Some(ClientLocation::Node),
            lines,
        })
    }

    /// The first line of `section` (any when empty) that `pred` accepts.
    fn find(&self, section: &str, pred: impl Fn(&str) -> bool) -> Option<String> {
        self.lines
            .iter()
            .find(|(s, l)| (section.is_empty() || s == section) && pred(l))
            .map(|(_, l)| l.clone())
    }
}

/// Pushes the line `find` found, if any.
fn push(out: &mut Vec<String>, line: Option<String>) {
    if let Some(l) = line
        && !out.contains(&l)
    {
        out.push(l);
    }
}

/// `-d ADDR/32` as `iptables-save` prints a host.
fn host(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}/32"),
        IpAddr::V6(v6) => format!("{v6}/128"),
    }
}

impl ModeState {
    /// The iptables or nftables mode's rules for one connection: refuse when nothing
    /// serves, pick the policy's endpoints (external traffic through the EXT/external
    /// chain, which short-circuits pod and local sources under policy Local), honour
    /// ClientIP affinity, else draw.
    fn rules(&mut self, ctx: &Context, client: IpAddr, ms: u64) -> Choice {
        let nft = ctx.mode == ProxyMode::Nftables;
        let sp = &ctx.sp;
        let kind = ctx.kind;
        let name = sp.name_string();
        let cat = sp.categorize();
        let base = nftables::port_base(sp);
        let fam = Family::of(&sp.cluster_ip);
        let (t, ipx) = match fam {
            Family::V4 => ("ip kube-proxy", "ip"),
            Family::V6 => ("ip6 kube-proxy", "ip6"),
        };
        let local_src = ctx.node_addresses.contains(&client);
        let pod_src = ctx.cluster_cidr.is_some_and(|n| n.contains(&client));
        let chain_of = |local: bool| match (nft, local) {
            (false, false) => iptables::svc_chain("KUBE-SVC-", sp),
            (false, true) => iptables::svc_chain("KUBE-SVL-", sp),
            (true, false) => format!("service-{base}"),
            (true, true) => format!("local-{base}"),
        };
        let ext = if nft {
            format!("external-{base}")
        } else {
            iptables::svc_chain("KUBE-EXT-", sp)
        };
        let proto = sp.proto();
        let port = sp.port;
        let addr = ctx.address;
        let mut rules = Vec::new();
        // The hook that sends the packet to the Service rules.
        let (nat_hook, nft_hook) = if ctx.node_client {
            ("OUTPUT", "nat-output")
        } else {
            ("PREROUTING", "nat-prerouting")
        };
        let dport = |p: u16| format!("--dport {p} -j ");
        let refused = |rules: &mut Vec<String>, verdict: &str| {
            if nft {
                let (set, elem) = match kind {
                    VsKind::NodePort => (
                        "nodeport-endpoints-check",
                        format!(
                            "add element {t} no-endpoint-nodeports {{ {proto} . {} ",
                            port_of(sp, kind, port)
                        ),
                    ),
                    _ => (
                        "service-endpoints-check",
                        format!(
                            "add element {t} no-endpoint-services {{ {addr} . {proto} . {port} "
                        ),
                    ),
                };
                push(
                    rules,
                    ctx.find("", |l| l.starts_with(&format!("add rule {t} {set} "))),
                );
                push(rules, ctx.find("", |l| l.starts_with(&elem)));
                if verdict == "reject" {
                    push(
                        rules,
                        ctx.find("", |l| l == format!("add rule {t} reject-chain reject")),
                    );
                }
            } else {
                let d = host(&addr);
                let p = dport(port_of(sp, kind, port));
                push(
                    rules,
                    ctx.find("filter", |l| {
                        (l.starts_with("-A KUBE-SERVICES ")
                            || l.starts_with("-A KUBE-EXTERNAL-SERVICES "))
                            && (kind == VsKind::NodePort || l.contains(&format!("-d {d} ")))
                            && l.contains(&p)
                    }),
                );
            }
        };
        if !cat.has_any {
            let why = if nft {
                msg!("no-endpoint-services: {} → goto reject-chain: reject", name)
            } else {
                msg!(
                    "KUBE-SERVICES (filter): \"{} has no endpoints\" → REJECT",
                    name
                )
            };
            refused(&mut rules, "reject");
            return Choice {
                endpoint: None,
                reason: why,
                rules,
                tried: Vec::new(),
            };
        }
        // Into the Service's chain.
        if nft {
            push(
                &mut rules,
                ctx.find("", |l| {
                    l == format!("add rule {t} {nft_hook} jump services")
                }),
            );
        } else {
            push(
                &mut rules,
                ctx.find("nat", |l| {
                    l.starts_with(&format!("-A {nat_hook} ")) && l.ends_with("-j KUBE-SERVICES")
                }),
            );
        }
        let (local, path) = if kind == VsKind::ClusterIP {
            (sp.itp_local, Msg::default())
        } else if !sp.external_policy_local() {
            let masq = if nft {
                "jump mark-for-masquerade"
            } else {
                "KUBE-MARK-MASQ"
            };
            (false, msg!("{}: {} → ", ext, masq))
        } else if pod_src || local_src {
            (
                false,
                msg!("{}: pod or local source, short-circuit → ", ext),
            )
        } else {
            (true, msg!("{} → ", ext))
        };
        let chain = chain_of(local);
        let eps = if local { &cat.local } else { &cat.cluster };
        if eps.is_empty() {
            let why = match (nft, kind) {
                (true, _) => msg!("no-endpoint-services: {} → drop", name),
                (false, VsKind::ClusterIP) => {
                    msg!(
                        "KUBE-SERVICES (filter): \"{} has no local endpoints\" → DROP",
                        name
                    )
                }
                (false, _) => msg!(
                    "KUBE-EXTERNAL-SERVICES (filter): \"{} has no local endpoints\" → DROP",
                    name
                ),
            };
            refused(&mut rules, "drop");
            return Choice {
                endpoint: None,
                reason: why,
                rules,
                tried: Vec::new(),
            };
        }
        // The dispatch: KUBE-SERVICES / KUBE-NODEPORTS, or the service-ips /
        // service-nodeports verdict maps.
        match (nft, kind) {
            (true, VsKind::NodePort) => {
                push(
                    &mut rules,
                    ctx.find("", |l| {
                        l.starts_with(&format!("add rule {t} services "))
                            && l.ends_with("@service-nodeports")
                    }),
                );
                push(
                    &mut rules,
                    ctx.find("", |l| {
                        l.starts_with(&format!(
                            "add element {t} service-nodeports {{ {proto} . {} : ",
                            port_of(sp, kind, port)
                        ))
                    }),
                );
            }
            (true, _) => {
                push(
                    &mut rules,
                    ctx.find("", |l| {
                        l.starts_with(&format!("add rule {t} services "))
                            && l.ends_with("@service-ips")
                    }),
                );
                push(
                    &mut rules,
                    ctx.find("", |l| {
                        l.starts_with(&format!(
                            "add element {t} service-ips {{ {addr} . {proto} . {port} : "
                        ))
                    }),
                );
            }
            (false, VsKind::NodePort) => {
                push(
                    &mut rules,
                    ctx.find("nat", |l| {
                        l.starts_with("-A KUBE-SERVICES ") && l.ends_with("-j KUBE-NODEPORTS")
                    }),
                );
                push(
                    &mut rules,
                    ctx.find("nat", |l| {
                        l.starts_with("-A KUBE-NODEPORTS ")
                            && !l.contains("127.0.0.0/8")
                            && l.contains(&dport(port_of(sp, kind, port)))
                    }),
                );
            }
            (false, _) => {
                let d = format!("-d {} ", host(&addr));
                push(
                    &mut rules,
                    ctx.find("nat", |l| {
                        l.starts_with(&format!("-A KUBE-SERVICES {d}")) && l.contains(&dport(port))
                    }),
                );
            }
        }
        // The external chain (NodePort, externalIPs, load balancer IPs).
        if kind != VsKind::ClusterIP {
            let pre = if nft {
                format!("add rule {t} {ext} ")
            } else {
                format!("-A {ext} ")
            };
            let ext_rules: Vec<&String> = ctx
                .lines
                .iter()
                .map(|(_, l)| l)
                .filter(|l| l.starts_with(&pre))
                .collect();
            let take: Vec<&String> = if !sp.external_policy_local() {
                ext_rules
            } else if pod_src {
                let cidr = ctx.cluster_cidr.map(|c| c.to_string()).unwrap_or_default();
                ext_rules
                    .into_iter()
                    .filter(|l| {
                        l.contains(&format!("-s {cidr} ")) || l.contains(&format!("saddr {cidr} "))
                    })
                    .collect()
            } else if local_src {
                ext_rules
                    .into_iter()
                    .filter(|l| {
                        l.contains("--src-type LOCAL") || l.contains("fib saddr type local")
                    })
                    .collect()
            } else {
                let last = ext_rules.last().copied();
                last.into_iter().collect()
            };
            for l in take {
                push(&mut rules, Some(l.clone()));
            }
        } else if !pod_src {
            // A source outside the cluster CIDR is marked for masquerade.
            let pre = if nft {
                format!("add rule {t} {chain} {ipx} daddr {addr} {ipx} saddr != ")
            } else {
                format!("-A {chain} ! -s ")
            };
            push(
                &mut rules,
                ctx.find(if nft { "" } else { "nat" }, |l| l.starts_with(&pre)),
            );
        }
        // The endpoint's chain, and the affinity list (iptables `recent`) or set (nftables).
        let target = |ep: &Endpoint| {
            if nft {
                let b = nftables::endpoint_base(sp, ep);
                (format!("endpoint-{b}"), format!("affinity-{b}"))
            } else {
                let sep = iptables::sep_chain(sp, ep);
                (sep.clone(), sep)
            }
        };
        let nat = |ep: &Endpoint| {
            if nft {
                format!("dnat to {}", ep.host_port())
            } else {
                format!("DNAT to {}", ep.host_port())
            }
        };
        let endpoint_rules = |rules: &mut Vec<String>, ep: &Endpoint| {
            let (to, _) = target(ep);
            if nft {
                let pre = format!("add rule {t} {to} ");
                for (_, l) in ctx.lines.iter().filter(|(_, l)| l.starts_with(&pre)) {
                    // The hairpin rule marks only the endpoint's own connections.
                    if !l.contains("jump mark-for-masquerade") || client == ep.ip {
                        push(rules, Some(l.clone()));
                    }
                }
            } else {
                let pre = format!("-A {to} ");
                for (_, l) in ctx
                    .lines
                    .iter()
                    .filter(|(s, l)| s == "nat" && l.starts_with(&pre))
                {
                    if l.contains("-j DNAT") || client == ep.ip {
                        push(rules, Some(l.clone()));
                    }
                }
            }
        };
        let chain_rule = |rules: &mut Vec<String>, pred: &dyn Fn(&str) -> bool| {
            let pre = if nft {
                format!("add rule {t} {chain} ")
            } else {
                format!("-A {chain} ")
            };
            push(
                rules,
                ctx.find(if nft { "" } else { "nat" }, |l| {
                    l.starts_with(&pre) && pred(l)
                }),
            );
        };
        if let Some(timeout) = sp.affinity {
            let ttl = u64::from(timeout) * 1000;
            for ep in eps {
                let (to, list) = target(ep);
                let check: &dyn Fn(&str) -> bool = if nft {
                    &|l: &str| l.ends_with(&format!("goto {to}")) && l.contains("saddr @")
                } else {
                    &|l: &str| l.ends_with(&format!("-j {to}")) && l.contains("--rcheck")
                };
                chain_rule(&mut rules, check);
                // `--rcheck --seconds N` matches up to N s after the last packet; an nftables
                // set element expires N s after its last update.
                let Some((_, last)) = self.affinity.get(&(list.clone(), client)) else {
                    continue;
                };
                let age = ms.saturating_sub(*last);
                if (nft && age >= ttl) || (!nft && age > ttl) {
                    continue;
                }
                let check = if nft {
                    msg!(
                        "ip saddr @{} ({} in the set, timeout {}s)",
                        list,
                        client,
                        timeout
                    )
                } else {
                    msg!(
                        "-m recent --rcheck --seconds {}: {} seen {} s ago",
                        timeout,
                        client,
                        age / 1000
                    )
                };
                let reason = msg!("{}{}: {} → {}: {}", path, chain, check, to, nat(ep));
                self.affinity.insert((list, client), (String::new(), ms));
                endpoint_rules(&mut rules, ep);
                return Choice {
                    endpoint: Some((ep.ip, ep.port)),
                    reason,
                    rules,
                    tried: Vec::new(),
                };
            }
        }
        let n = eps.len();
        let (i, draw) = if nft {
            let i = ((u64::from(self.rng.next_u32()) * n as u64) >> 32) as usize;
            chain_rule(&mut rules, &|l: &str| l.contains("numgen random mod "));
            (i, msg!("numgen random mod {} → {}", n, i))
        } else {
            let mut steps = Vec::new();
            let mut chosen = n - 1;
            for (i, ep) in eps.iter().enumerate().take(n - 1) {
                let p = iptables::saved_probability(n - i);
                let (to, _) = target(ep);
                chain_rule(&mut rules, &|l: &str| {
                    l.ends_with(&format!("-j {to}")) && !l.contains("--rcheck")
                });
                if self.rng.next_u32() & 0x7FFF_FFFF < iptables::stored_probability(n - i) {
                    steps.push(msg!("--probability {} matched", p));
                    chosen = i;
                    break;
                }
                steps.push(msg!("--probability {} failed, next rule", p));
            }
            if chosen == n - 1 {
                let (to, _) = target(&eps[n - 1]);
                chain_rule(&mut rules, &|l: &str| {
                    l.ends_with(&format!("-j {to}")) && !l.contains("--rcheck")
                });
                steps.push(msg!("last rule"));
            }
            (chosen, Msg::join(steps, "; "))
        };
        let ep = &eps[i];
        let (to, list) = target(ep);
        if sp.affinity.is_some() {
            self.affinity.insert((list, client), (String::new(), ms));
        }
        endpoint_rules(&mut rules, ep);
        Choice {
            endpoint: Some((ep.ip, ep.port)),
            reason: msg!("{}{}: {} → {}: {}", path, chain, draw, to, nat(ep)),
            rules,
            tried: Vec::new(),
        }
    }

    /// kube-proxy's userspace proxier: the client's connection is accepted on the proxy port;
    /// `TryConnectEndpoints` asks the round robin (or the client's affinity) for an endpoint
    /// and dials it, up to four times (`EndpointDialTimeouts`), resetting the affinity after
    /// a failure; when all four fail it closes the client's connection.
    fn userspace(
        &mut self,
        ctx: &Context,
        client: IpAddr,
        ms: u64,
        refuses: &dyn Fn(IpAddr, u16, Option<&str>) -> bool,
    ) -> Choice {
        let sp = &ctx.sp;
        let name = sp.name_string();
        let eps = sp.categorize().cluster;
        let mut rules = Vec::new();
        push(
            &mut rules,
            ctx.find("", |l| l.starts_with(&format!("{name} "))),
        );
        if eps.is_empty() {
            return Choice {
                endpoint: None,
                reason: msg!(
                    "userspace: kube-proxy accepted on the proxy port of {}; no endpoints: it closes the connection",
                    name
                ),
                rules,
                tried: Vec::new(),
            };
        }
        let mut tried: Vec<String> = Vec::new();
        let retry = msg!("it would retry the next endpoint if this one refused");
        for attempt in 0..4 {
            let reset = attempt > 0;
            let key = (name.clone(), client);
            let sticky = sp.affinity.and_then(|timeout| {
                let (hp, last) = self.sticky.get(&key)?;
                (!reset && ms.saturating_sub(*last) <= u64::from(timeout) * 1000)
                    .then(|| eps.iter().find(|e| &e.host_port() == hp))
                    .flatten()
            });
            // What chose the endpoint, and the round robin's position.
            let (ep, how, position) = match sticky {
                Some(ep) => (
                    ep.clone(),
                    msg!("ClientIP affinity keeps {} on {}", client, ep.host_port()),
                    Msg::default(),
                ),
                None => {
                    let next = self.rr.entry(name.clone()).or_insert(0);
                    let i = *next % eps.len();
                    *next = i + 1;
                    let ep = eps[i].clone();
                    let how = msg!("round robin → {}", ep.host_port());
                    (ep, how, msg!("{} of {}; ", i + 1, eps.len()))
                }
            };
            if sp.affinity.is_some() {
                self.sticky.insert(key, (ep.host_port(), ms));
            }
            if refuses(ep.ip, ep.port, ep.pod.as_deref()) {
                tried.push(ep.host_port());
                continue;
            }
            let reason = if tried.is_empty() {
                msg!(
                    "userspace: kube-proxy's proxy port for {}: {} ({}{})",
                    name,
                    how,
                    position,
                    retry
                )
            } else {
                msg!(
                    "userspace: kube-proxy's proxy port for {}: {} refused, kube-proxy dialed again: {} ({}attempt {} of 4)",
                    name,
                    tried.join(", "),
                    how,
                    position,
                    attempt + 1
                )
            };
            return Choice {
                endpoint: Some((ep.ip, ep.port)),
                reason,
                rules,
                tried,
            };
        }
        Choice {
            endpoint: None,
            reason: msg!(
                "userspace: kube-proxy's proxy port for {}: {} refused; after 4 attempts \"failed to connect to an endpoint\": it closes the client's connection",
                name,
                tried.join(", ")
            ),
            rules,
            tried,
        }
    }
}

/// The node port for NodePort connections, else the Service port.
fn port_of(sp: &ServicePort, kind: VsKind, port: u16) -> u16 {
    match kind {
        VsKind::NodePort => sp.node_port.unwrap_or(port),
        _ => port,
    }
}

/// The lines of `ipvsadm -Ln` a connection to `vs` passed: its virtual server and the real
/// server chosen (without the counters, which change).
pub fn ipvs_rules(vs: &VirtualServer, rs: Option<&RealServer>) -> Vec<String> {
    let mut out = Vec::from([ipvsadm::vs_text(vs)]);
    if let Some(rs) = rs {
        out.push(ipvsadm::rs_text(rs));
    }
    out
}

/// The line numbers (from 0) of `text` — a mode's rendering of a node, as [`Context`] and
/// [`ipvs_rules`] read it — that are among `rules`, within the section of `text` of the
/// family of `address` (after `# ip6tables-save` for IPv6). A rule without counters matches
/// an `ipvsadm -Ln` line that continues with counters; a real server's line matches under a
/// virtual server that matched.
pub fn highlight(text: &str, rules: &[String], address: Option<IpAddr>) -> Vec<usize> {
    let v6 = matches!(address, Some(IpAddr::V6(_)));
    let mut in_v6 = false;
    let mut block = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line == "# ip6tables-save" {
            in_v6 = true;
        }
        if in_v6 != v6 && text.contains("# ip6tables-save") {
            continue;
        }
        let hit = rules.iter().any(|r| {
            line == r
                || line.strip_prefix(r.as_str()).is_some_and(|rest| {
                    rest.starts_with(' ')
                        && rest.split_whitespace().all(|w| w.parse::<u64>().is_ok())
                })
        });
        // A real server's line belongs to the virtual server above it.
        let nested = line.starts_with("  -> ");
        if !nested {
            block = hit;
        }
        if hit && (!nested || block) {
            out.push(i);
        }
    }
    out
}

/// How big each mode's rules are for one node (from the renderers themselves).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleCounts {
    /// `-A` rules of `iptables-save` (all tables).
    pub iptables_rules: usize,
    /// Rules in the nat table's `KUBE-SERVICES`: the list a new connection walks in order.
    pub iptables_services_chain: usize,
    /// `add rule` lines of the nftables mode.
    pub nftables_rules: usize,
    /// `add element` lines of the nftables mode (set and verdict-map elements: hashed).
    pub nftables_elements: usize,
    /// IPVS virtual servers plus real servers (`ipvsadm -Ln` entries: hashed).
    pub ipvs_entries: usize,
}

/// The sizes of each mode's rules on `node` of `cluster` with its IPVS plan `plan`.
pub fn counts(cluster: &Cluster, node: &str, plan: &Plan) -> RuleCounts {
    let ipt = iptables::iptables_save(cluster, node);
    let nft = nftables::ruleset(cluster, node);
    let mut nat = false;
    let mut services_chain = 0;
    for l in ipt.lines() {
        if let Some(t) = l.strip_prefix('*') {
            nat = t == "nat";
        }
        if nat && l.starts_with("-A KUBE-SERVICES ") {
            services_chain += 1;
        }
    }
    RuleCounts {
        iptables_rules: ipt.lines().filter(|l| l.starts_with("-A ")).count(),
        iptables_services_chain: services_chain,
        nftables_rules: nft.lines().filter(|l| l.starts_with("add rule ")).count(),
        nftables_elements: nft
            .lines()
            .filter(|l| l.starts_with("add element "))
            .count(),
        ipvs_entries: plan
            .virtual_servers
            .iter()
            .map(|v| 1 + v.real_servers.len())
            .sum(),
    }
}

/// `services` ClusterIP Services of `endpoints` ready endpoints each (one port, TCP), as
/// manifest text for [`growth`].
pub fn synthetic_manifest(services: usize, endpoints: usize) -> String {
    let mut text = String::new();
    for s in 0..services {
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: s{s}, namespace: grow}}\nspec:\n  ports: [{{name: http, port: 80}}]\n"
        ));
        if endpoints == 0 {
            continue;
        }
        text.push_str(&format!(
            "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: s{s}-a, namespace: grow, labels: {{kubernetes.io/service-name: s{s}}}}}\naddressType: IPv4\nports: [{{name: http, port: 8080, protocol: TCP}}]\nendpoints:\n"
        ));
        for e in 0..endpoints {
            let n = s * endpoints + e;
            text.push_str(&format!(
                "- addresses: [10.{}.{}.{}]\n",
                100 + n / 65_536,
                (n / 256) % 256,
                n % 256
            ));
        }
    }
    text
}

/// The rule counts of each mode for `services` × `endpoints` (a synthetic cluster of
/// ClusterIP Services, [`synthetic_manifest`]), on its first node.
#[cfg(feature = "std")]
pub fn growth(services: usize, endpoints: usize) -> Option<RuleCounts> {
    let text = synthetic_manifest(services, endpoints);
    let cluster = crate::manifest::load(
        [("grow.yaml", text.as_str())],
        crate::config::Config::default(),
        &crate::cluster::Tweaks::default(),
    )
    .ok()?;
    let node = crate::plan::default_node(&cluster).to_string();
    let plan = crate::plan::plan(&cluster, Some(&node)).ok()?;
    Some(counts(&cluster, &node, &plan))
}
