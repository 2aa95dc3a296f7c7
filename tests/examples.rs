//! The seed notes' scenarios (`examples/`) plan as the notes describe them, and the notes'
//! typos (`examples/seed-typos/`) give the errors a user pasting them should get.

use std::process::{Command, Output};

use serde_json::Value;

fn svcroute(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_svcroute"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("svcroute runs")
}

fn plan_json() -> Value {
    let o = svcroute(&["plan", "-f", "examples/", "-o", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("JSON")
}

fn virtual_servers<'a>(plan: &'a Value, service: &str) -> Vec<&'a Value> {
    plan["virtualServers"]
        .as_array()
        .expect("array")
        .iter()
        .filter(|v| v["service"] == service)
        .collect()
}

#[test]
fn clusterip_scenario_has_its_vip_and_three_pods() {
    let plan = plan_json();
    let vs = virtual_servers(&plan, "dev/service-clusterip");
    assert_eq!(vs.len(), 1);
    assert_eq!(vs[0]["address"], "10.97.97.97");
    assert_eq!(vs[0]["port"], 80);
    assert_eq!(vs[0]["kind"], "ClusterIP");
    assert_eq!(vs[0]["realServers"].as_array().map(Vec::len), Some(3));
}

#[test]
fn nodeport_scenario_listens_on_30002_of_the_node() {
    let plan = plan_json();
    let vs = virtual_servers(&plan, "dev/service-nodeport");
    let node_ports: Vec<_> = vs.iter().filter(|v| v["kind"] == "NodePort").collect();
    assert_eq!(node_ports.len(), 1, "one address on node-1");
    assert_eq!(node_ports[0]["port"], 30002);
    assert!(
        vs.iter().any(|v| v["kind"] == "ClusterIP"),
        "a NodePort Service is also a ClusterIP one"
    );
}

#[test]
fn loadbalancer_scenario_has_ingress_nodeport_and_clusterip() {
    let plan = plan_json();
    let vs = virtual_servers(&plan, "dev/service-loadbalancer");
    let kinds: Vec<&str> = vs.iter().filter_map(|v| v["kind"].as_str()).collect();
    assert!(
        kinds.contains(&"LoadBalancer")
            && kinds.contains(&"NodePort")
            && kinds.contains(&"ClusterIP"),
        "{kinds:?}"
    );
}

#[test]
fn headless_and_externalname_get_dns_not_vips() {
    let plan = plan_json();
    assert!(virtual_servers(&plan, "dev/service-headless").is_empty());
    assert!(virtual_servers(&plan, "dev/service-externalname").is_empty());
    let dns = plan["dns"].as_array().expect("dns");
    let headless_a = dns
        .iter()
        .filter(|r| r["name"] == "service-headless.dev.svc.cluster.local" && r["type"] == "A")
        .count();
    assert_eq!(headless_a, 3);
    assert!(dns.iter().any(
        |r| r["name"] == "service-externalname.dev.svc.cluster.local"
            && r["type"] == "CNAME"
            && r["value"] == "www.baidu.com"
    ));
}

#[test]
fn affinity_scenario_is_persistent_for_10800_seconds() {
    let plan = plan_json();
    let vs = virtual_servers(&plan, "dev/service-affinity");
    assert_eq!(vs[0]["persistenceTimeoutSeconds"], 10800);
    let o = svcroute(&["plan", "-f", "examples/", "-o", "ipvsadm"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("-A -t ") && l.ends_with(" -s rr -p 10800")),
        "{text}"
    );
}

#[test]
fn route_spreads_six_connections_two_two_two() {
    let o = svcroute(&[
        "route",
        "-f",
        "examples/",
        "--to",
        "10.97.97.97:80",
        "--count",
        "6",
        "-o",
        "json",
    ]);
    assert!(o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let mut counts = std::collections::BTreeMap::new();
    for c in v["connections"].as_array().expect("connections") {
        *counts
            .entry(c["backend"].as_str().expect("backend").to_owned())
            .or_insert(0) += 1;
    }
    assert_eq!(counts.values().copied().collect::<Vec<_>>(), [2, 2, 2]);
}

/// Each seed typo: the exit status, and the `FILE:LINE:COL` and words the error must carry.
#[test]
fn seed_typos_give_clear_errors() {
    let cases = [
        (
            "headless-selectpr.yaml",
            ":7:3:",
            "unknown field \"spec.selectpr\"",
        ),
        (
            "nodeport-port.yaml",
            ":10:3:",
            "unknown field \"spec.port\"",
        ),
        ("externalname-apiversion.yaml", ":1:1:", "apiversion"),
        ("externalname-apiversion.yaml", ":2:7:", "\"service\""),
        ("externalname-spec-type.yaml", ":6:", "invalid YAML"),
        ("clusterip-out-of-range.yaml", ":9:14:", "\"1.2.3.4\""),
        ("clusterip-out-of-range.yaml", ":9:14:", "10.96.0.0/12"),
    ];
    for (file, at, words) in cases {
        let path = format!("examples/seed-typos/{file}");
        let o = svcroute(&["plan", "-f", &path]);
        assert_eq!(o.status.code(), Some(1), "{file}");
        let err = String::from_utf8_lossy(&o.stderr);
        let line = err
            .lines()
            .find(|l| l.starts_with(&format!("error: {path}{at}")))
            .unwrap_or_else(|| panic!("{file}: no error at {at}:\n{err}"));
        assert!(line.contains(words), "{file}: {line:?} lacks {words:?}");
    }
}

/// Huge intervals are refused with a clear error (they would saturate the simulated clock,
/// and an affinity pin would outlive the connection it governs).
#[test]
fn huge_interval_is_refused() {
    let o = svcroute(&[
        "route",
        "-f",
        "examples/",
        "--to",
        "service-affinity.dev:80",
        "--count",
        "3",
        "--interval",
        "1e300",
        "-o",
        "json",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "accepted --interval 1e300");
    assert!(
        err.contains("--interval") && err.contains("too large"),
        "{err}"
    );
}
