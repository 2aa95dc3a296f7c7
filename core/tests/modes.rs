//! The proxy modes agree: the endpoints kube-proxy's iptables and nftables modes send a Service
//! address to (`render::proxy`, kube-proxy's `CategorizeEndpoints`) are the real servers the IPVS
//! plan holds for it, on every node of the seed examples and the modes' test clusters; and the
//! userspace mode's description lists the same backends in round-robin order. The simulator of
//! each mode (`route --proxy-mode`): seeded uniform draws for iptables and nftables, round robin
//! for userspace, ClientIP affinity in all three; a refusing endpoint refused in every mode but
//! userspace, which retries; the rule lines each connection passed, found in the renderings;
//! how the rules grow; kube-proxy's start with the ConfigMap's mode.

use std::collections::BTreeSet;
use std::net::IpAddr;

use svcroute_core::model::Family;
use svcroute_core::modes::{self, ProxyMode};
use svcroute_core::plan::VsKind;
use svcroute_core::render::{proxy, userspace};
use svcroute_core::route::{Request, Routes, route};
use svcroute_core::sim::Simulator;
use svcroute_core::{Cluster, Config, manifest, plan};

fn cluster(files: &[&str], config: Config) -> Cluster {
    let texts: Vec<(String, String)> = files
        .iter()
        .map(|f| {
            let path = format!("{}/../{f}", env!("CARGO_MANIFEST_DIR"));
            (
                f.to_string(),
                std::fs::read_to_string(path).expect("readable"),
            )
        })
        .collect();
    let read = manifest::read_all(texts.iter().map(|(f, t)| (f.as_str(), t.as_str())));
    assert!(!read.has_errors(), "{:?}", read.diagnostics);
    Cluster::build(read.objects, config).expect("valid")
}

fn examples() -> Vec<String> {
    let dir = format!("{}/../examples", env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .expect("examples/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .map(|n| format!("examples/{n}"))
        .collect();
    out.sort();
    out
}

fn check_agreement(c: &Cluster) -> usize {
    let mut checked = 0;
    for node in &c.nodes {
        let name = &node.meta.id.name;
        let p = plan(c, Some(name)).expect("node");
        for fam in [Family::V4, Family::V6] {
            for sp in proxy::service_ports(c, name, fam) {
                let cat = sp.categorize();
                let internal = if sp.itp_local {
                    &cat.local
                } else {
                    &cat.cluster
                };
                let external = if sp.external_policy_local() {
                    &cat.local
                } else {
                    &cat.cluster
                };
                for vs in &p.virtual_servers {
                    let ours = vs.protocol == sp.protocol
                        && match vs.kind {
                            VsKind::ClusterIP => vs.address == sp.cluster_ip && vs.port == sp.port,
                            VsKind::ExternalIP | VsKind::LoadBalancer => {
                                vs.port == sp.port
                                    && (sp.external_ips.contains(&vs.address)
                                        || sp.lb_ips.contains(&vs.address))
                            }
                            VsKind::NodePort => Some(vs.port) == sp.node_port,
                        };
                    if !ours || vs.service != format!("{}/{}", sp.namespace, sp.name) {
                        continue;
                    }
                    let eps = if vs.kind == VsKind::ClusterIP {
                        internal
                    } else {
                        external
                    };
                    let modes: BTreeSet<(IpAddr, u16)> =
                        eps.iter().map(|e| (e.ip, e.port)).collect();
                    let ipvs: BTreeSet<(IpAddr, u16)> = vs
                        .real_servers
                        .iter()
                        .map(|r| (r.address, r.port))
                        .collect();
                    assert_eq!(
                        modes, ipvs,
                        "node {name}: {} {}:{} — iptables/nftables endpoints differ from IPVS's",
                        vs.service, vs.address, vs.port
                    );
                    checked += 1;
                }
            }
        }
    }
    checked
}

#[test]
fn iptables_nftables_and_ipvs_send_each_address_to_the_same_endpoints() {
    let mut checked = 0;
    for f in examples() {
        checked += check_agreement(&cluster(&[&f], Config::default()));
    }
    checked += check_agreement(&cluster(
        &["tests/fixtures/modes-03-policies-and-fallback.yaml"],
        Config::default(),
    ));
    checked += check_agreement(&cluster(
        &["tests/fixtures/05-traffic-policy.yaml"],
        Config::default(),
    ));
    checked += check_agreement(&cluster(
        &["tests/modes/kernel-cluster.yaml"],
        Config::default(),
    ));
    assert!(checked >= 20, "only {checked} virtual servers compared");
}

#[test]
fn userspace_mode_lists_backends_in_round_robin_order_and_retries() {
    let c = cluster(&["tests/modes/kernel-cluster.yaml"], Config::default());
    let ports = userspace::describe(&c, "node-a");
    let get = |name: &str| {
        ports
            .iter()
            .find(|p| p.service_port == name)
            .unwrap_or_else(|| panic!("{name} described"))
    };
    let web = get("demo/web:http");
    assert_eq!(
        web.backends,
        ["10.244.1.11:8080", "10.244.1.12:8080", "10.244.1.13:8080"]
    );
    assert!(web.retries_on_refusal);
    assert_eq!(get("demo/sticky:http").affinity_seconds, Some(10800));
    assert_eq!(get("demo/web-np:http").node_port, Some(30080));
    assert_eq!(get("demo/fallback:http").backends, ["10.244.1.12:8080"]);
    assert!(get("demo/nothing:http").backends.is_empty());
}

fn routed(
    c: &Cluster,
    mode: ProxyMode,
    to: &str,
    from: &[&str],
    count: u32,
    interval_s: u64,
) -> Routes {
    let req = Request {
        to: to.into(),
        from: from.iter().map(|f| f.parse().expect("ip")).collect(),
        count,
        interval_ms: interval_s * 1000,
        node: Some("node-a".into()),
        proxy_mode: mode,
        ..Request::default()
    };
    route(c, &req, &mut Simulator::with_seed(c.config.seed)).expect("routed")
}

fn chi_square(routes: &Routes, endpoints: &[&str]) -> f64 {
    let expected = routes.connections.len() as f64 / endpoints.len() as f64;
    endpoints
        .iter()
        .map(|e| {
            let n = routes
                .connections
                .iter()
                .filter(|c| c.backend.as_deref() == Some(*e))
                .count() as f64;
            (n - expected).powi(2) / expected
        })
        .sum()
}

const WEB: [&str; 3] = ["10.244.1.11:8080", "10.244.1.12:8080", "10.244.1.13:8080"];

#[test]
fn iptables_and_nftables_modes_draw_uniformly_from_the_seed() {
    let c = cluster(&["tests/modes/kernel-cluster.yaml"], Config::default());
    for mode in [ProxyMode::Iptables, ProxyMode::Nftables] {
        let r = routed(&c, mode, "10.96.0.10:80", &["10.0.0.7"], 3000, 0);
        // Chi-square, 2 degrees of freedom: above 27.63 with probability 1e-6 for a uniform
        // draw; a cascade of 1/3 at every step gives about 220 here.
        let chi = chi_square(&r, &WEB);
        assert!(chi < 27.63, "{mode:?}: chi-square {chi}");
        assert_eq!(
            r,
            routed(&c, mode, "10.96.0.10:80", &["10.0.0.7"], 3000, 0),
            "seeded"
        );
    }
    for (mode, start) in [
        (
            ProxyMode::Iptables,
            "KUBE-SVC-XRY76EGRC3BSCIIJ: --probability 0.33333333349",
        ),
        (
            ProxyMode::Nftables,
            "service-AXK6CI2C-demo/web/tcp/http: numgen random mod 3 → ",
        ),
    ] {
        let r = routed(&c, mode, "10.96.0.10:80", &["10.0.0.7"], 1, 0);
        let reason = &r.connections[0].reason;
        assert!(reason.starts_with(start), "{reason}");
    }
}

#[test]
fn affinity_keeps_a_client_in_every_mode_until_the_timeout() {
    let c = cluster(&["tests/modes/kernel-cluster.yaml"], Config::default());
    for mode in [
        ProxyMode::Iptables,
        ProxyMode::Nftables,
        ProxyMode::Userspace,
    ] {
        let r = routed(&c, mode, "10.96.0.11:80", &["10.0.0.7"], 20, 60);
        let first = r.connections[0].backend.clone();
        assert!(first.is_some());
        assert!(
            r.connections.iter().all(|x| x.backend == first),
            "{mode:?}: {:?}",
            r.connections
        );
        // Ten clients spread over more than one Pod.
        let clients: Vec<String> = (1..=10).map(|i| format!("10.0.1.{i}")).collect();
        let refs: Vec<&str> = clients.iter().map(String::as_str).collect();
        let r = routed(&c, mode, "10.96.0.11:80", &refs, 10, 0);
        let distinct: BTreeSet<_> = r.connections.iter().map(|x| x.backend.clone()).collect();
        assert!(distinct.len() > 1, "{mode:?}: every client on one Pod");
    }
}

#[test]
fn userspace_mode_is_round_robin_and_empty_services_refuse() {
    let c = cluster(&["tests/modes/kernel-cluster.yaml"], Config::default());
    let r = routed(
        &c,
        ProxyMode::Userspace,
        "10.96.0.10:80",
        &["10.0.0.7"],
        4,
        0,
    );
    let got: Vec<_> = r
        .connections
        .iter()
        .map(|x| x.backend.clone().unwrap_or_default())
        .collect();
    assert_eq!(got, [WEB[0], WEB[1], WEB[2], WEB[0]]);
    for mode in ProxyMode::ALL {
        let r = routed(&c, mode, "10.96.0.14:80", &["10.0.0.7"], 1, 0);
        assert_eq!(r.connections[0].backend, None, "{mode:?}");
    }
    let r = routed(
        &c,
        ProxyMode::Iptables,
        "10.96.0.14:80",
        &["10.0.0.7"],
        1,
        0,
    );
    assert!(
        r.connections[0]
            .reason
            .ends_with("has no endpoints\" → REJECT")
    );
    let r = routed(
        &c,
        ProxyMode::Nftables,
        "192.168.0.2:30080",
        &["10.0.0.7"],
        1,
        0,
    );
    assert!(
        r.connections[0].reason.starts_with("external-"),
        "{}",
        r.connections[0].reason
    );
}

/// A Service with `n` ready endpoints, in slices of at most 500.
fn big_cluster(n: usize) -> Cluster {
    let mut text = String::from(
        "apiVersion: v1\nkind: Service\nmetadata: {name: big, namespace: demo}\nspec:\n  clusterIP: 10.96.0.50\n  ports: [{name: http, port: 80}]\n",
    );
    for (s, chunk) in (0..n).collect::<Vec<_>>().chunks(500).enumerate() {
        text.push_str(&format!(
            "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: big-{s}, namespace: demo, labels: {{kubernetes.io/service-name: big}}}}\naddressType: IPv4\nports: [{{name: http, port: 80, protocol: TCP}}]\nendpoints:\n"
        ));
        for i in chunk {
            text.push_str(&format!(
                "- addresses: [10.1.{}.{}]\n",
                i / 250,
                i % 250 + 1
            ));
        }
    }
    let read = manifest::read("big.yaml", &text);
    assert!(!read.has_errors(), "{:?}", read.diagnostics);
    Cluster::build(read.objects, Config::default()).expect("valid")
}

#[test]
fn iptables_mode_drops_endpoint_comments_above_1000_endpoints() {
    use svcroute_core::render::iptables::iptables_save;
    let sep_commented = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("-A KUBE-SEP-") && l.contains("-m comment"))
            .count()
    };
    let c = big_cluster(1000);
    let small = iptables_save(&c, &c.nodes[0].meta.id.name);
    assert_eq!(sep_commented(&small), 2000);
    let c = big_cluster(1001);
    let large = iptables_save(&c, &c.nodes[0].meta.id.name);
    assert_eq!(sep_commented(&large), 0);
    assert!(large.contains(
        "-A KUBE-SERVICES -d 10.96.0.50/32 -p tcp -m comment --comment \"demo/big:http cluster IP\""
    ));
    assert!(large.contains("-A KUBE-SVC-") && !large.contains("demo/big:http -> "));
}

/// Every manifest of the fixtures and examples that builds: on every node and in both
/// families, the iptables rules only jump to chains their table declares (as iptables-restore
/// demands) and every nftables `jump`/`goto`/`@set` names something added before it (as
/// `nft -f` demands).
#[test]
fn renderings_reference_only_what_they_declare() {
    use svcroute_core::render::{iptables, nftables};
    let mut files: Vec<String> = examples();
    let dir = format!("{}/../tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    for e in std::fs::read_dir(dir)
        .expect("fixtures")
        .filter_map(|e| e.ok())
    {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.ends_with(".yaml") || n.ends_with(".json") {
            files.push(format!("tests/fixtures/{n}"));
        }
    }
    let mut rendered = 0;
    for f in &files {
        let path = format!("{}/../{f}", env!("CARGO_MANIFEST_DIR"));
        let read = manifest::read(f, &std::fs::read_to_string(path).expect("readable"));
        if read.has_errors() {
            continue;
        }
        // The modes fixtures use kube-proxy's test ranges.
        let mut config = Config::default();
        if f.contains("modes-0") {
            config.service_cidrs = vec!["172.30.0.0/16".parse().expect("cidr")];
            config.node_port_range = (3000, 32767);
        }
        let Ok(c) = Cluster::build(read.objects, config) else {
            continue;
        };
        for node in &c.nodes {
            let name = &node.meta.id.name;
            let ipt = iptables::iptables_save(&c, name);
            for table in ipt.split("COMMIT\n").filter(|t| !t.trim().is_empty()) {
                let declared: BTreeSet<&str> = table
                    .lines()
                    .filter_map(|l| l.strip_prefix(':'))
                    .filter_map(|l| l.split(' ').next())
                    .collect();
                for l in table.lines().filter(|l| l.starts_with("-A ")) {
                    let chain = l.split(' ').nth(1).unwrap_or("");
                    assert!(declared.contains(chain), "{f} {name}: {l}");
                    if let Some((_, target)) = l.split_once(" -j ") {
                        let target = target.split(' ').next().unwrap_or("");
                        if target.starts_with("KUBE-") {
                            assert!(declared.contains(target), "{f} {name}: {l}");
                        }
                    }
                }
            }
            let nft = nftables::ruleset(&c, name);
            let mut added: BTreeSet<String> = BTreeSet::new();
            for l in nft.lines() {
                let words: Vec<&str> = l.split_whitespace().collect();
                if let ["add", "chain" | "set" | "map", _, _, obj, ..] = words.as_slice() {
                    added.insert((*obj).to_string());
                    continue;
                }
                for w in words.windows(2) {
                    let referenced = match w {
                        ["jump" | "goto", target] => Some(*target),
                        [_, set] if set.starts_with('@') => Some(&set[1..]),
                        _ => None,
                    };
                    if let Some(r) = referenced {
                        assert!(
                            added.contains(r),
                            "{f} {name}: {l} uses {r} before it exists"
                        );
                    }
                }
            }
            rendered += 1;
        }
    }
    assert!(rendered >= 20, "only {rendered} nodes rendered");
}

fn traced(c: &Cluster, mode: ProxyMode, to: &str, count: u32, refusing: &[&str]) -> Routes {
    let req = Request {
        to: to.into(),
        from: vec!["10.0.0.7".parse().expect("ip")],
        count,
        node: Some("node-a".into()),
        proxy_mode: mode,
        refusing: refusing.iter().map(|s| s.to_string()).collect(),
        trace: true,
        ..Request::default()
    };
    route(c, &req, &mut Simulator::with_seed(c.config.seed)).expect("routed")
}

/// kube-proxy's userspace proxier retries (`TryConnectEndpoints`: the next endpoint of the
/// round robin, four attempts); iptables, nftables and IPVS rewrite the destination once and
/// the client gets the refusal.
#[test]
fn a_refusing_endpoint_is_retried_only_by_userspace() {
    let c = cluster(&["tests/modes/kernel-cluster.yaml"], Config::default());
    for mode in [ProxyMode::Ipvs, ProxyMode::Iptables, ProxyMode::Nftables] {
        let r = traced(&c, mode, "10.96.0.10:80", 30, &["10.244.1.12"]);
        let refused: Vec<_> = r.connections.iter().filter(|x| x.refused).collect();
        assert!(
            !refused.is_empty(),
            "{mode:?}: one of 30 reaches the refusing Pod"
        );
        for x in &r.connections {
            assert_eq!(x.refused, !x.tried.is_empty(), "{mode:?}: {}", x.reason);
            assert_ne!(x.backend.as_deref(), Some(WEB[1]), "{mode:?}");
        }
        assert!(
            refused
                .iter()
                .all(|x| x.tried == [WEB[1]] && x.reason.contains("refuses (TCP RST)"))
        );
    }
    let r = traced(
        &c,
        ProxyMode::Userspace,
        "10.96.0.10:80",
        6,
        &["10.244.1.12"],
    );
    assert!(
        r.connections.iter().all(|x| !x.refused),
        "userspace retried"
    );
    let got: Vec<_> = r
        .connections
        .iter()
        .map(|x| x.backend.clone().unwrap_or_default())
        .collect();
    // Round robin: .11; .12 refuses → .13; .11; .12 refuses → .13 …
    assert_eq!(got, [WEB[0], WEB[2], WEB[0], WEB[2], WEB[0], WEB[2]]);
    assert_eq!(r.connections[1].tried, [WEB[1]]);
    assert!(
        r.connections[1].reason.contains("attempt 2 of 4"),
        "{}",
        r.connections[1].reason
    );
    // Every endpoint refuses: four attempts, then kube-proxy closes the connection.
    let r = traced(
        &c,
        ProxyMode::Userspace,
        "10.96.0.10:80",
        1,
        &["10.244.1.11", "10.244.1.12:8080", "10.244.1.13"],
    );
    assert!(r.connections[0].refused);
    assert_eq!(
        r.connections[0].tried.len(),
        4,
        "{:?}",
        r.connections[0].tried
    );
}

/// The rule lines a connection passed are lines of the mode's own rendering of the node, in
/// the order a packet meets them, ending at the chosen endpoint's DNAT (or the reject).
#[test]
fn traced_rules_are_lines_of_the_renderings() {
    use svcroute_core::render::{iptables, ipvsadm_table, nftables};
    let c = cluster(&["tests/modes/kernel-cluster.yaml"], Config::default());
    let p = plan(&c, Some("node-a")).expect("node");
    let mut checked = 0;
    for mode in ProxyMode::ALL {
        let text = match mode {
            ProxyMode::Ipvs => ipvsadm_table(&p),
            ProxyMode::Iptables => iptables::iptables_save(&c, "node-a"),
            ProxyMode::Nftables => nftables::ruleset(&c, "node-a"),
            ProxyMode::Userspace => userspace::text(&c, "node-a"),
        };
        for to in [
            "10.96.0.10:80",
            "10.96.0.11:80",
            "10.96.0.14:80",
            "192.168.0.2:30080",
        ] {
            let r = traced(&c, mode, to, 3, &[]);
            for x in &r.connections {
                assert!(!x.rules.is_empty(), "{mode:?} {to}");
                let addr = x
                    .virtual_server
                    .as_deref()
                    .and_then(|v| v.rsplit_once(':'))
                    .and_then(|(h, _)| h.parse().ok());
                let lines = modes::highlight(&text, &x.rules, addr);
                assert_eq!(lines.len(), x.rules.len(), "{mode:?} {to}: {:?}", x.rules);
                if let Some(b) = &x.backend {
                    let last = x.rules.last().expect("rules");
                    let port = b.rsplit_once(':').map(|(h, _)| h).unwrap_or(b);
                    assert!(last.contains(port), "{mode:?} {to}: {last}");
                    if mode == ProxyMode::Iptables {
                        assert!(
                            last.ends_with(&format!("-j DNAT --to-destination {b}")),
                            "{last}"
                        );
                    }
                }
                if to.ends_with(":30080") && mode != ProxyMode::Userspace {
                    assert!(
                        x.rules.iter().any(|l| l.contains("30080")),
                        "{mode:?}: {:?}",
                        x.rules
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 40);
    // The iptables cascade: a connection that fell to the last rule passed all three.
    let r = traced(&c, ProxyMode::Iptables, "10.96.0.10:80", 20, &[]);
    let last = r
        .connections
        .iter()
        .find(|x| x.reason.contains("last rule"))
        .expect("one of 20");
    assert_eq!(
        last.rules
            .iter()
            .filter(|l| l.contains("-j KUBE-SEP-") && l.starts_with("-A KUBE-SVC-"))
            .count(),
        3
    );
}

/// iptables grows a rule list per Service and per endpoint and walks KUBE-SERVICES in order;
/// nftables keeps its rules per Service and dispatches through verdict maps; IPVS holds one
/// entry per virtual and real server (counts from the renderers).
#[test]
fn rule_counts_grow_as_each_mode_stores_them() {
    let a = modes::growth(10, 3).expect("builds");
    let b = modes::growth(20, 3).expect("builds");
    let d = modes::growth(20, 6).expect("builds");
    // One KUBE-SERVICES rule per Service, plus the jump to KUBE-NODEPORTS.
    assert_eq!(a.iptables_services_chain, 11);
    assert_eq!(b.iptables_services_chain, 21);
    // Per Service: KUBE-SERVICES + masquerade + 3 jumps + 3 × (mark + DNAT) = 11.
    assert_eq!(b.iptables_rules - a.iptables_rules, 10 * 11);
    assert_eq!(d.iptables_rules - b.iptables_rules, 20 * 3 * 3);
    // nftables: per Service a masquerade rule, the numgen rule, 2 per endpoint; the
    // service-ips and cluster-ips elements.
    assert_eq!(b.nftables_rules - a.nftables_rules, 10 * (2 + 3 * 2));
    assert_eq!(b.nftables_elements - a.nftables_elements, 10 * 2);
    assert_eq!(b.ipvs_entries - a.ipvs_entries, 10 * 4);
}

/// The seed's step: `kubectl edit cm kube-proxy` mode "" → "ipvs"; without the IPVS modules
/// kube-proxy 1.24 falls back to iptables, 1.25 and later exit (kubernetes#111806).
#[test]
fn kube_proxy_starts_in_the_configured_mode_or_falls_back() {
    assert_eq!(modes::startup("", true, 24).mode, Some(ProxyMode::Iptables));
    assert_eq!(modes::startup("ipvs", true, 24).mode, Some(ProxyMode::Ipvs));
    let fallback = modes::startup("ipvs", false, 24);
    assert_eq!(fallback.mode, Some(ProxyMode::Iptables));
    assert!(fallback.log[0].contains("Can't use the IPVS proxier"));
    assert_eq!(modes::startup("ipvs", false, 25).mode, None);
    assert_eq!(modes::startup("userspace", true, 26).mode, None);
    assert_eq!(
        modes::startup("nftables", true, 31).mode,
        Some(ProxyMode::Nftables)
    );
}

/// Dual stack: an IPv6 connection's rule lines are found in the IPv6 half of the renderings
/// (after `# ip6tables-save`; `table ip6 kube-proxy`), never in the IPv4 copy of the same
/// generic rules.
#[test]
fn ipv6_connections_highlight_the_ipv6_rules() {
    use svcroute_core::render::{iptables, nftables};
    let config = Config {
        pod_cidrs: vec![
            "10.244.0.0/16".parse().expect("cidr"),
            "fd00:10:244::/56".parse().expect("cidr"),
        ],
        // What the CLI derives from an IPv6 --pod-cidr.
        service_cidrs: vec![
            "10.96.0.0/12".parse().expect("cidr"),
            "fd00:10:96::/112".parse().expect("cidr"),
        ],
        ..Config::default()
    };
    let c = cluster(&["tests/fixtures/modes-04-dual-stack.yaml"], config);
    let p = plan(&c, Some("node-a")).expect("node");
    let vs = p
        .virtual_servers
        .iter()
        .find(|v| v.address.is_ipv6() && v.kind == VsKind::ClusterIP && !v.real_servers.is_empty())
        .expect("an IPv6 ClusterIP with endpoints");
    let to = format!("[{}]:{}", vs.address, vs.port);
    for mode in [ProxyMode::Iptables, ProxyMode::Nftables] {
        let req = Request {
            to: to.clone(),
            from: vec!["fd00:99::7".parse().expect("ip")],
            node: Some("node-a".into()),
            proxy_mode: mode,
            trace: true,
            ..Request::default()
        };
        let r = route(&c, &req, &mut Simulator::new()).expect("routed");
        let x = &r.connections[0];
        assert!(x.backend.is_some(), "{mode:?}: {}", x.reason);
        let text = match mode {
            ProxyMode::Iptables => iptables::iptables_save(&c, "node-a"),
            _ => nftables::ruleset(&c, "node-a"),
        };
        let lines = modes::highlight(&text, &x.rules, Some(vs.address));
        assert_eq!(lines.len(), x.rules.len(), "{mode:?}: {:?}", x.rules);
        let v6_from = text
            .lines()
            .position(|l| l == "# ip6tables-save" || l.starts_with("add table ip6 "))
            .expect("an IPv6 half");
        assert!(
            lines.iter().all(|i| *i > v6_from),
            "{mode:?}: {lines:?} before {v6_from}"
        );
    }
}
