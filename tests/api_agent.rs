//! `svcroute agent` following a fake API server (crate `svcroute-kube-fake`, on loopback)
//! without a kernel: the whole path kube-rs client → watch → fold → sync → `--dry-run`
//! operations, scripted step by step, plus `/healthz`, `/livez`, `/metrics`, `/proxyMode` and
//! SIGTERM.
//!
//! Each step waits for the agent's `sync` log line (which comes after the sync's operations are
//! flushed on stdout) and then reads exactly that many operations: what a step changes is all
//! it changes. A step that must change nothing is followed by a marker change whose sync must
//! hold only the marker's operations.
//!
//! Behaviours pinned (kube-proxy's unless said):
//! - the label selector `!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless`
//!   (a Service labelled for another proxy is not programmed);
//! - an endpoint turning not ready is one operation (its real server goes);
//! - a Service added and deleted: its virtual server and address come and go;
//! - a re-list after an `ERROR` 410 (etcd compaction) changes nothing (kube-runtime's re-list,
//!   folded as its `Store` does);
//! - a killed API server changes nothing; the watches come back by themselves;
//! - `/healthz` and `/livez` answer 200 with kube-proxy's JSON fields, `/proxyMode` `ipvs`,
//!   `/metrics` kube-proxy's metric names;
//! - SIGTERM exits 0 (kube-proxy leaves the rules on exit too);
//! - the ClusterRole in `deploy/rbac.yaml` grants exactly the requests the agent made.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "support/agent.rs"]
mod agent;
#[path = "support/apt.rs"]
mod apt;
use agent::{Agent, WAIT};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::time::Duration;

use serde_json::{Value, json};
use svcroute_kube_fake::{Fake, Options};

/// The agent following `fake`, with the addresses its health and metrics servers bound.
struct ApiAgent {
    proc: Agent,
    healthz: String,
    metrics: String,
}

impl ApiAgent {
    fn start(fake: &Fake, extra: &[&str]) -> ApiAgent {
        let mut proc = Agent::spawn(
            Command::new(env!("CARGO_BIN_EXE_svcroute"))
                .args(["agent", "--master", &fake.url(), "--dry-run"])
                .args([
                    "--hostname-override",
                    "node-a",
                    "--ipvs-min-sync-period",
                    "0",
                ])
                .args(["--healthz-bind-address", "127.0.0.1:0"])
                .args(["--metrics-bind-address", "127.0.0.1:0"])
                .args(extra),
        );
        let healthz = address(&mut proc, "serving /healthz");
        let metrics = address(&mut proc, "serving /metrics");
        ApiAgent {
            proc,
            healthz,
            metrics,
        }
    }

    fn wait_log(&mut self, what: &str) -> String {
        self.proc.wait_log(what)
    }

    /// The operations of the next sync.
    fn sync(&mut self) -> Vec<String> {
        self.proc.sync_logged(" sync ")
    }

    fn stop(self) -> std::process::ExitStatus {
        self.proc.stop()
    }
}

/// The address a server logged it serves on.
fn address(agent: &mut Agent, what: &str) -> String {
    let line = agent.wait_log(what);
    let at = line.find("address=").expect("an address") + "address=".len();
    line[at..].split_whitespace().next().unwrap().to_owned()
}

fn get(addr: &str, path: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, head.to_ascii_lowercase(), body.to_owned())
}

fn seed() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/seed.json"))
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn item(seed: &Value, kind: &str, name: &str) -> Value {
    seed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == kind && i["metadata"]["name"] == name)
        .cloned()
        .unwrap()
}

fn service(name: &str, ip: &str, port: u16) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": name, "namespace": "default"},
           "spec": {"clusterIP": ip, "clusterIPs": [ip], "type": "ClusterIP",
                    "ports": [{"port": port, "protocol": "UDP"}]}})
}

/// A marker change and its operations: proof that nothing else was pending.
fn marker(fake: &Fake, agent: &mut ApiAgent, n: u8) {
    let ip = format!("10.96.1.{n}");
    fake.apply(service(&format!("marker-{n}"), &ip, 53))
        .unwrap();
    assert_eq!(
        agent.sync(),
        [format!("ip addr add {ip}"), format!("-A -u {ip}:53 -s rr")]
    );
}

#[test]
fn agent_follows_the_api() {
    let fake = Fake::start(Options {
        bookmark_interval: Duration::from_millis(300),
        ..Options::default()
    })
    .unwrap();
    let seed = seed();
    fake.apply(seed.clone()).unwrap();
    let mut agent = ApiAgent::start(&fake, &[]);

    // The first sync: the Service "web" and its two endpoints; "elsewhere" belongs to
    // another proxy (service.kubernetes.io/service-proxy-name) and is left alone.
    assert_eq!(
        agent.sync(),
        [
            "ip addr add 10.96.0.20",
            "-A -t 10.96.0.20:80 -s rr",
            "-a -t 10.96.0.20:80 -r 10.244.0.5:8080 -m -w 1",
            "-a -t 10.96.0.20:80 -r 10.244.1.7:8080 -m -w 1",
        ]
    );

    // An endpoint turns not ready: one operation.
    let mut slice = item(&seed, "EndpointSlice", "web-x7k2p");
    slice["endpoints"][1]["conditions"]["ready"] = json!(false);
    slice["endpoints"][1]["conditions"]["serving"] = json!(false);
    fake.apply(slice.clone()).unwrap();
    assert_eq!(agent.sync(), ["-d -t 10.96.0.20:80 -r 10.244.1.7:8080"]);

    // A Service added, then deleted.
    fake.apply(service("dns", "10.96.0.10", 53)).unwrap();
    assert_eq!(
        agent.sync(),
        ["ip addr add 10.96.0.10", "-A -u 10.96.0.10:53 -s rr"]
    );
    fake.delete(service("dns", "10.96.0.10", 53)).unwrap();
    assert_eq!(
        agent.sync(),
        ["-D -u 10.96.0.10:53", "ip addr del 10.96.0.10"]
    );

    // etcd compacts, the watches break: they resume from a version now too old, get an ERROR
    // 410 inside a 200 stream, and list again. The re-list changes nothing.
    let lists_before = lists(&fake);
    fake.compact();
    fake.drop_watches();
    wait_until(
        || lists(&fake) >= lists_before + 3,
        "three re-lists after the 410",
    );
    assert!(fake.wait_for_watches(3, WAIT), "the watches come back");
    marker(&fake, &mut agent, 1);

    // Health and metrics.
    let (code, head, body) = get(&agent.healthz, "/healthz");
    assert_eq!(code, 200, "{body}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    let h: Value = serde_json::from_str(&body).unwrap();
    for f in [
        "lastUpdated",
        "currentTime",
        "nodeEligible",
        "healthy",
        "status",
    ] {
        assert!(h.get(f).is_some(), "{f} in {body}");
    }
    assert_eq!(h["status"]["IPv4"]["healthy"], json!(true), "{body}");
    let (code, _, body) = get(&agent.healthz, "/livez");
    assert_eq!(code, 200);
    assert!(!body.contains("nodeEligible"), "{body}");
    let (code, _, body) = get(&agent.metrics, "/proxyMode");
    assert_eq!((code, body.as_str()), (200, "ipvs"));
    let (code, _, text) = get(&agent.metrics, "/metrics");
    assert_eq!(code, 200);
    for line in [
        "kubeproxy_sync_proxy_rules_duration_seconds_bucket{ip_family=\"IPv4\",le=\"0.001\"}",
        "kubeproxy_sync_full_proxy_rules_duration_seconds_count{ip_family=\"IPv4\"} 1",
        "kubeproxy_sync_partial_proxy_rules_duration_seconds_count{ip_family=\"IPv4\"} 4",
        "kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family=\"IPv4\"}",
        "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds{ip_family=\"IPv4\"}",
        "kubeproxy_sync_proxy_rules_endpoint_changes_pending 0",
        "kubeproxy_sync_proxy_rules_service_changes_pending 0",
        "kubeproxy_sync_proxy_rules_endpoint_changes_total 2",
        "kubeproxy_proxy_healthz_total{code=\"200\"} 1",
        "kubeproxy_proxy_livez_total{code=\"200\"} 1",
        "svcroute_ipvs_operations_total{operation=\"add_real_server\",result=\"ok\"} 2",
        "svcroute_ipvs_operations_total{operation=\"delete_real_server\",result=\"ok\"} 1",
        "svcroute_ipvs_virtual_servers 2",
        "svcroute_ipvs_real_servers 1",
        "# TYPE kubeproxy_network_programming_duration_seconds histogram",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }

    // The API server dies: nothing changes; it comes back and the watches follow it again.
    let mut fake = fake;
    fake.kill();
    agent.wait_log("watch:");
    fake.restart().unwrap();
    assert!(fake.wait_for_watches(3, WAIT), "the watches come back");
    marker(&fake, &mut agent, 2);

    // RBAC: exactly what the agent requested.
    let asked = requested(&fake);
    assert_eq!(asked, cluster_role(), "deploy/rbac.yaml's ClusterRole");

    assert!(agent.stop().success(), "SIGTERM exits 0");
}

/// Following the API there is no guard against mass deletion (that one is for file input, where
/// an empty or truncated read is a likely accident): the API server is the truth, as it is for
/// kube-proxy, so deleting the only Service deletes its virtual server and address.
#[test]
fn the_api_deleting_every_service_is_followed() {
    let fake = Fake::start(Options::default()).unwrap();
    let seed = seed();
    fake.apply(seed.clone()).unwrap();
    let mut agent = ApiAgent::start(&fake, &[]);
    assert_eq!(agent.sync().len(), 4);
    fake.delete(item(&seed, "Service", "web")).unwrap();
    assert_eq!(
        agent.sync(),
        ["-D -t 10.96.0.20:80", "ip addr del 10.96.0.20"]
    );
    assert!(agent.stop().success());
}

fn lists(fake: &Fake) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.contains("limit=") && !r.contains("watch="))
        .count()
}

fn wait_until(f: impl Fn() -> bool, what: &str) {
    for _ in 0..1200 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what}: not within a minute");
}

/// (API group, resource, verb) of every request the fake saw.
fn requested(fake: &Fake) -> BTreeSet<(String, String, String)> {
    fake.requests()
        .iter()
        .filter_map(|r| {
            let (method, target) = r.split_once(' ')?;
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
            let (group, rest) = match parts.as_slice() {
                ["api", "v1", rest @ ..] => ("", rest),
                ["apis", g, _, rest @ ..] => (*g, rest),
                _ => return None,
            };
            let resource = match rest {
                ["namespaces", _, r, ..] | [r, ..] => *r,
                [] => return None,
            };
            let named = rest.len() == 2 || rest.len() == 4;
            let verb = match (method, named) {
                ("GET", true) => "get",
                ("GET", false)
                    if query
                        .split('&')
                        .any(|q| q == "watch=true" || q == "watch=1") =>
                {
                    "watch"
                }
                ("GET", false) => "list",
                _ => "other",
            };
            Some((group.to_owned(), resource.to_owned(), verb.to_owned()))
        })
        .collect()
}

/// (API group, resource, verb) the ClusterRole of deploy/rbac.yaml grants.
fn cluster_role() -> BTreeSet<(String, String, String)> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/rbac.yaml")).unwrap();
    let docs = svcroute_core::manifest::yaml::parse_documents(&text).unwrap();
    let mut out = BTreeSet::new();
    for doc in docs {
        let v = to_json(&doc);
        if v["kind"] != "ClusterRole" {
            continue;
        }
        for rule in v["rules"].as_array().unwrap() {
            for g in rule["apiGroups"].as_array().unwrap() {
                for r in rule["resources"].as_array().unwrap() {
                    for verb in rule["verbs"].as_array().unwrap() {
                        out.insert((
                            g.as_str().unwrap().to_owned(),
                            r.as_str().unwrap().to_owned(),
                            verb.as_str().unwrap().to_owned(),
                        ));
                    }
                }
            }
        }
    }
    out
}

fn to_json(n: &svcroute_core::manifest::yaml::Node) -> Value {
    use svcroute_core::manifest::yaml::Value as Y;
    match &n.value {
        Y::Null => Value::Null,
        Y::Bool(b) => json!(b),
        Y::Int(i) => json!(i),
        Y::Float(f) => json!(f),
        Y::Str(s) => json!(s),
        Y::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        Y::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|e| (e.key.to_string(), to_json(&e.value)))
                .collect(),
        ),
    }
}

/// The DaemonSet goes through svcroute's own strict reader (it knows the workload kinds, so a
/// misspelt field fails here); the RBAC kinds it does not know are checked above.
#[test]
fn daemonset_reads_strictly() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/daemonset.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let read = svcroute_core::manifest::read(path, &text);
    let errors: Vec<String> = read
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(ToString::to_string)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(read.objects.workloads.len(), 1);
    // Host network, NET_ADMIN and nothing more, probes on kube-proxy's health port.
    let v = to_json(&svcroute_core::manifest::yaml::parse_documents(&text).unwrap()[0]);
    let pod = &v["spec"]["template"]["spec"];
    assert_eq!(pod["hostNetwork"], json!(true));
    let c = &pod["containers"][0];
    assert_eq!(
        c["securityContext"]["capabilities"]["add"],
        json!(["NET_ADMIN"])
    );
    assert_eq!(c["securityContext"]["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], json!("/livez"));
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], json!("/healthz"));
    assert_eq!(pod["tolerations"], json!([{"operator": "Exists"}]));
}

/// `plan --master` reads the live cluster once: one list of Services, EndpointSlices and Nodes
/// (the slices as given; the Service another proxy owns is left out, as kube-proxy's selector
/// does), the same rules the agent programs.
#[test]
fn plan_reads_the_live_cluster() {
    let fake = Fake::start(Options::default()).unwrap();
    fake.apply(seed()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_svcroute"))
        .args([
            "plan",
            "--master",
            &fake.url(),
            "--node",
            "node-a",
            "-o",
            "ipvsadm",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "-A -t 10.96.0.20:80 -s rr\n\
         -a -t 10.96.0.20:80 -r 10.244.0.5:8080 -m -w 1\n\
         -a -t 10.96.0.20:80 -r 10.244.1.7:8080 -m -w 1\n"
    );
    let lists: BTreeSet<String> = fake
        .requests()
        .iter()
        .map(|r| r.split('?').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        lists,
        BTreeSet::from([
            "GET /api/v1/nodes".to_owned(),
            "GET /api/v1/services".to_owned(),
            "GET /apis/discovery.k8s.io/v1/endpointslices".to_owned()
        ])
    );
}

/// `plan --master` derives endpoints from Pods only where the cluster has no EndpointSlice for a
/// Service with a selector (as the core does for `-f` input, where the EndpointSlice controller
/// is simulated): `web` keeps its slice as given, `web2` has none, so the Pods are listed (once)
/// and its ready Pod is its only real server.
#[test]
fn plan_lists_pods_only_when_deriving() {
    let fake = Fake::start(Options::default()).unwrap();
    fake.apply(seed()).unwrap();
    fake.apply(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web2", "namespace": "default"},
        "spec": {"clusterIP": "10.96.0.30", "clusterIPs": ["10.96.0.30"], "type": "ClusterIP",
                 "selector": {"app": "web2"},
                 "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}]}}))
        .unwrap();
    for (name, ip, ready) in [
        ("web2-1", "10.244.0.9", "True"),
        ("web2-2", "10.244.0.10", "False"),
    ] {
        fake.apply(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "web2"}},
            "spec": {"nodeName": "node-a", "containers": [{"name": "c", "image": "x"}]},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                       "conditions": [{"type": "Ready", "status": ready}]}}))
            .unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_svcroute"))
        .args([
            "plan",
            "--master",
            &fake.url(),
            "--node",
            "node-a",
            "-o",
            "ipvsadm",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "-A -t 10.96.0.30:80 -s rr\n-a -t 10.96.0.30:80 -r 10.244.0.9:8080 -m -w 1\n"
        ),
        "{text}"
    );
    assert!(!text.contains("10.244.0.10"), "a not-ready Pod: {text}");
    assert!(
        text.contains("-a -t 10.96.0.20:80 -r 10.244.1.7:8080 -m -w 1"),
        "web's slice as given: {text}"
    );
    let pods = fake
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /api/v1/pods"))
        .count();
    assert_eq!(pods, 1, "{:?}", fake.requests());
}

/// The fake's fidelity, checked with a real client: `kubectl` (Debian's `kubernetes-client`,
/// installed with apt-get when missing) lists it page by page, watches it, and reads the 410.
#[test]
fn kubectl_lists_and_watches_the_fake() {
    ensure_kubectl();
    let fake = Fake::start(Options::default()).unwrap();
    fake.apply(seed()).unwrap();
    let url = fake.url();
    let kubectl = |args: &[&str]| {
        let o = Command::new("kubectl")
            .args(args)
            .args(["--server", &url])
            .env("KUBECONFIG", "/dev/null")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    };
    // kube-proxy's label selector, sent by kubectl and applied by the fake.
    assert_eq!(
        kubectl(&[
            "get",
            "svc",
            "-A",
            "-o",
            "name",
            "-l",
            "!service.kubernetes.io/service-proxy-name"
        ]),
        "service/web\n"
    );
    // Pages: kubectl's --chunk-size follows `continue` to the end.
    assert_eq!(
        kubectl(&["get", "svc", "-A", "-o", "name", "--chunk-size", "1"]),
        "service/elsewhere\nservice/web\n"
    );
    let page: Value =
        serde_json::from_str(&kubectl(&["get", "--raw", "/api/v1/services?limit=1"])).unwrap();
    assert_eq!(page["metadata"]["remainingItemCount"], json!(1));
    assert!(
        page["items"][0].get("kind").is_none(),
        "list items carry no kind"
    );
    // A watch: the current objects, then a new one.
    let mut child = Command::new("kubectl")
        .args(["get", "svc", "-A", "-w", "-o", "name", "--server", &url])
        .env("KUBECONFIG", "/dev/null")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let next = || rx.recv_timeout(WAIT).expect("a line from kubectl -w");
    assert_eq!([next(), next()], ["service/elsewhere", "service/web"]);
    assert!(fake.wait_for_watches(1, WAIT));
    fake.apply(service("dns", "10.96.0.10", 53)).unwrap();
    assert_eq!(next(), "service/dns");
    let _ = child.kill();
    let _ = child.wait();
    // A watch from a compacted version: HTTP 200 and one ERROR event with a 410 Status.
    fake.compact();
    let text = kubectl(&["get", "--raw", "/api/v1/services?watch=1&resourceVersion=2"]);
    let ev: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(ev["type"], json!("ERROR"));
    assert_eq!(ev["object"]["code"], json!(410));
    assert_eq!(ev["object"]["reason"], json!("Expired"));
}

fn ensure_kubectl() {
    let have = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if have {
        return;
    }
    apt::install(&["kubernetes-client"]);
}
