//! The proxy modes agree: the endpoints kube-proxy's iptables and nftables modes send a Service
//! address to (`render::proxy`, kube-proxy's `CategorizeEndpoints`) are the real servers the IPVS
//! plan holds for it, on every node of the seed examples and the modes' test clusters; and the
//! userspace mode's description lists the same backends in round-robin order.

use std::collections::BTreeSet;
use std::net::IpAddr;

use svcroute_core::model::Family;
use svcroute_core::plan::VsKind;
use svcroute_core::render::{proxy, userspace};
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
