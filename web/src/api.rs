//! The JS API's logic without JS: options that mirror the CLI's flags, answers that are the
//! CLI's JSON values.
//!
//! `plan(text, options)` is `svcroute plan -f FILE -o json` with the same flags, and
//! `route(text, request)` is `svcroute route -f FILE -o json`; both build [`Config`] exactly as
//! `src/cli.rs` does, call [`manifest::load`], and return the core's serializable values. The
//! wasm-bindgen layer in `lib.rs` only converts these to and from JS values.

use std::net::IpAddr;

use serde::Deserialize;
use svcroute_core::cluster::Tweaks;
use svcroute_core::cluster::live::{Live, LiveError, Object, ObjectKind};
use svcroute_core::config::{Config, Scheduler, Settings, parse_port_range};
use svcroute_core::diag::Diagnostic;
use svcroute_core::diag::Kind;
use svcroute_core::diff::Op;
use svcroute_core::model::Protocol;
use svcroute_core::model::{ObjectRef, Objects};
use svcroute_core::modes::ProxyMode;
use svcroute_core::plan::VsKey;
use svcroute_core::route::Lookup;
use svcroute_core::route::{Request, Routes};
use svcroute_core::{Plan, manifest, route, sim};

/// The file name diagnostics use when `options.file` is not given.
pub const DEFAULT_FILE: &str = "manifest.yaml";

/// One value or a list of them (`from: "10.0.0.7"` or `from: ["10.0.0.7", "10.0.0.8"]`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single value.
    One(String),
    /// A list.
    Many(Vec<String>),
}

impl OneOrMany {
    fn items(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// How to read the manifests and describe the cluster: the CLI's `ManifestArgs`, camelCased.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterOptions {
    /// The name diagnostics give the text (the CLI uses the path): `manifest.yaml` by default.
    pub file: Option<String>,
    /// `--node`: whose view (the first Node by name by default).
    pub node: Option<String>,
    /// `--service-cidr`, one or several (default: 10.96.0.0/12, plus fd00:10:96::/112 when an
    /// IPv6 pod CIDR is given).
    pub service_cidrs: Option<OneOrMany>,
    /// `--pod-cidr`, one or several.
    pub pod_cidrs: Option<OneOrMany>,
    /// `--node-port-range`: `"30000-32767"`.
    pub node_port_range: Option<String>,
    /// `--ipvs-scheduler`: `rr`, `wrr`, `lc`, ….
    #[serde(alias = "ipvsScheduler")]
    pub scheduler: Option<String>,
    /// `--cluster-domain` (`cluster.local`).
    pub cluster_domain: Option<String>,
    /// `--seed` (0).
    pub seed: Option<u64>,
    /// `--nodes`: how many Nodes to make when the manifests have none (2).
    pub nodes: Option<u32>,
    /// The playground's actions on top of the manifests (not a CLI flag): scale, Pod states,
    /// session affinity. See `svcroute_core::cluster::Tweaks`.
    pub tweaks: Option<Tweaks>,
}

impl ClusterOptions {
    /// The keys this struct reads from a JS object.
    pub const KEYS: &'static [&'static str] = &[
        "file",
        "node",
        "serviceCidrs",
        "podCidrs",
        "nodePortRange",
        "scheduler",
        "ipvsScheduler",
        "clusterDomain",
        "seed",
        "nodes",
        "tweaks",
    ];

    /// The file name for diagnostics.
    pub fn file(&self) -> &str {
        self.file.as_deref().unwrap_or(DEFAULT_FILE)
    }

    /// The core's configuration: these options as [`Settings`], whose defaults are the CLI's.
    pub fn config(&self) -> Result<Config, ApiError> {
        let settings = Settings {
            service_cidrs: match &self.service_cidrs {
                Some(list) => parse_cidrs("serviceCidrs", list)?,
                None => Vec::new(),
            },
            pod_cidrs: match &self.pod_cidrs {
                Some(list) => parse_cidrs("podCidrs", list)?,
                None => Vec::new(),
            },
            node_port_range: match &self.node_port_range {
                Some(r) => Some(parse_port_range(r).map_err(ApiError::Message)?),
                None => None,
            },
            scheduler: match &self.scheduler {
                Some(s) => Some(s.parse::<Scheduler>().map_err(ApiError::Message)?),
                None => None,
            },
            cluster_domain: self.cluster_domain.clone(),
            seed: self.seed,
            nodes: self.nodes,
        };
        settings.to_config().map_err(ApiError::Message)
    }
}

/// What to send: the CLI's `route` flags, camelCased (`interval` in seconds, as `--interval`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RouteOptions {
    /// `--to HOST:PORT` (required).
    pub to: Option<String>,
    /// `--from`, one address or several (connection i comes from the i-th, cycling).
    pub from: Option<OneOrMany>,
    /// `--count` (1).
    pub count: Option<u32>,
    /// `--interval`, simulated seconds between connections (0).
    pub interval: Option<f64>,
    /// `--duration`, simulated seconds each connection stays open (the whole run).
    pub duration: Option<f64>,
    /// `--protocol` (`TCP`).
    pub protocol: Option<String>,
    /// `-n`: the client Pod's namespace for DNS search (`default`).
    pub namespace: Option<String>,
    /// The simulated time of the first connection, in seconds (not a CLI flag; 0).
    pub start: Option<f64>,
    /// `--proxy-mode`: `ipvs` (default), `iptables`, `nftables` or `userspace`.
    pub proxy_mode: Option<String>,
    /// `--client-location`: `pod`, `node` or `outside` (not said: every entry reachable).
    pub client_location: Option<String>,
    /// `--refusing`: Pods (`namespace/name`) or endpoints (`IP`, `IP:PORT`) that refuse.
    pub refusing: Option<OneOrMany>,
    /// `--trace-rules`: each connection's `rules`, the rule lines it passed.
    pub trace_rules: Option<bool>,
}

impl RouteOptions {
    /// The keys this struct reads from a JS object.
    pub const KEYS: &'static [&'static str] = &[
        "to",
        "from",
        "count",
        "interval",
        "duration",
        "protocol",
        "namespace",
        "start",
        "proxyMode",
        "clientLocation",
        "refusing",
        "traceRules",
    ];

    /// `--proxy-mode`, checked as the CLI checks it.
    pub fn proxy_mode(&self) -> Result<ProxyMode, ApiError> {
        match &self.proxy_mode {
            None => Ok(ProxyMode::default()),
            Some(m) => m.parse().map_err(ApiError::Message),
        }
    }

    /// The core's request, checked as `src/cli.rs` checks the flags.
    pub fn request(&self, node: Option<String>) -> Result<Request, ApiError> {
        let Some(to) = self.to.clone() else {
            return Err(ApiError::Message(
                "request.to is required: HOST:PORT, e.g. \"10.97.97.97:80\"".into(),
            ));
        };
        let interval_ms =
            svcroute_core::config::simulated_ms("--interval", self.interval.unwrap_or(0.0))
                .map_err(ApiError::Message)?;
        let start_ms = svcroute_core::config::simulated_ms("start", self.start.unwrap_or(0.0))
            .map_err(ApiError::Message)?;
        let count = self.count.unwrap_or(1);
        if count > 1_000_000 {
            return Err(ApiError::Message(format!(
                "--count {count} is too large (at most 1000000)"
            )));
        }
        let protocol = match &self.protocol {
            None => Protocol::Tcp,
            Some(p) => Protocol::parse(&p.to_ascii_uppercase())
                .ok_or_else(|| ApiError::Message(format!("{p:?}: expected TCP, UDP or SCTP")))?,
        };
        let duration_ms = self
            .duration
            .map(|d| svcroute_core::config::simulated_ms("--duration", d))
            .transpose()
            .map_err(ApiError::Message)?;
        let mut r = Request {
            to,
            count,
            duration_ms,
            interval_ms,
            start_ms,
            protocol,
            node,
            namespace: self.namespace.clone().unwrap_or_else(|| "default".into()),
            location: match &self.client_location {
                None => None,
                Some(l) => Some(
                    l.parse()
                        .map_err(|e: String| ApiError::Message(format!("clientLocation: {e}")))?,
                ),
            },
            proxy_mode: self.proxy_mode()?,
            refusing: self
                .refusing
                .as_ref()
                .map(|r| r.items().into_iter().map(str::to_owned).collect())
                .unwrap_or_default(),
            trace: self.trace_rules.unwrap_or(false),
            ..Request::default()
        };
        if let Some(from) = &self.from {
            let mut addrs = Vec::new();
            let mut ports = Vec::new();
            for f in from.items() {
                let (ip, port) = match f.parse::<IpAddr>() {
                    Ok(ip) => (ip, None),
                    Err(_) => match f.parse::<core::net::SocketAddr>() {
                        Ok(s) if s.port() > 0 => (s.ip(), Some(s.port())),
                        _ => {
                            return Err(ApiError::Message(format!(
                                "from: {f:?} is not IP, IP:PORT or [IPv6]:PORT"
                            )));
                        }
                    },
                };
                addrs.push(ip);
                ports.push(port);
            }
            if !addrs.is_empty() {
                r.from = addrs;
                r.source_ports = ports;
            }
        }
        Ok(r)
    }
}

/// Why a call failed: the manifests' diagnostics (at least one error), or a plain message
/// (a bad option, an unknown node, a target that is not served).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// What the CLI prints as `error: FILE:LINE:COL: message` / `warning: …` lines.
    Diagnostics(Vec<Diagnostic>),
    /// What the CLI prints as `error: message`.
    Message(String),
}

impl ApiError {
    /// The error the CLI reports first: the first error diagnostic, or the message.
    pub fn first(&self) -> (Option<&Diagnostic>, String) {
        match self {
            ApiError::Diagnostics(d) => {
                let first = d.iter().find(|d| d.is_error()).or(d.first());
                (first, first.map(|d| d.message.clone()).unwrap_or_default())
            }
            ApiError::Message(m) => (None, m.clone()),
        }
    }
}

impl core::fmt::Display for ApiError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ApiError::Diagnostics(d) => {
                let errors: Vec<String> = d
                    .iter()
                    .filter(|d| d.is_error())
                    .map(ToString::to_string)
                    .collect();
                f.write_str(&errors.join("\n"))
            }
            ApiError::Message(m) => f.write_str(m),
        }
    }
}

/// `svcroute plan -f FILE -o json`: the plan of `options.node` (the first Node by default).
pub fn plan(text: &str, options: &ClusterOptions) -> Result<Plan, ApiError> {
    let cluster = load(text, options)?;
    svcroute_core::plan(&cluster, options.node.as_deref())
        .map_err(|e| ApiError::Message(e.to_string()))
}

/// `svcroute route -f FILE -o json`: a fresh simulation of the request.
pub fn route(
    text: &str,
    options: &ClusterOptions,
    request: &RouteOptions,
) -> Result<Routes, ApiError> {
    let cluster = load(text, options)?;
    let req = request.request(options.node.clone())?;
    route::check_refusing(&cluster, &req.refusing).map_err(|e| ApiError::Message(e.to_string()))?;
    let mut sim = sim::Simulator::with_seed(cluster.config.seed);
    route::route(&cluster, &req, &mut sim).map_err(|e| ApiError::Message(e.to_string()))
}

/// The JS API's `Cluster`: a live cluster (the core's [`Live`]) made from a manifest text and
/// changed one object at a time, answering each change with the node's dataplane operations.
///
/// Its [`LiveCluster::plan`] is [`plan`] of the same objects with the same options, and its
/// [`LiveCluster::route`] is [`route`]'s fresh simulation, answered from the live state for
/// the cluster's node instead of re-planning it.
#[derive(Clone, Debug)]
pub struct LiveCluster {
    live: Live,
    options: ClusterOptions,
    /// The reader's warnings on the first text (kept first in the plan's warnings, as
    /// [`manifest::load`] puts them).
    read_warnings: Vec<String>,
}

impl LiveCluster {
    /// `new Cluster(manifestText, options)`: as [`plan`] reads, checks and builds them.
    pub fn new(text: &str, options: ClusterOptions) -> Result<LiveCluster, ApiError> {
        let config = options.config()?;
        let tweaks = options.tweaks.clone().unwrap_or_default();
        let mut read = manifest::read(options.file(), text);
        if read.objects == Objects::default() && !read.has_errors() {
            // What `manifest::load` (and so `plan`) warns.
            read.diagnostics.push(Diagnostic::warning(
                Kind::Note,
                None,
                "no objects in the input: the plan is empty",
            ));
        }
        if read.has_errors() {
            return Err(ApiError::Diagnostics(read.diagnostics));
        }
        let live = Live::with_tweaks(read.objects, config, tweaks, options.node.as_deref())
            .map_err(|e| live_error(read.diagnostics.clone(), e))?;
        let cluster = LiveCluster {
            live,
            read_warnings: read.diagnostics.iter().map(ToString::to_string).collect(),
            options,
        };
        // An unknown node is refused here, as `plan` refuses it (only then is a plan made:
        // a whole node's plan is not worth making just to check that it can be).
        if cluster.live.node().is_none() {
            cluster.plan()?;
        }
        Ok(cluster)
    }

    /// The core's live cluster.
    pub fn live(&self) -> &Live {
        &self.live
    }

    /// `cluster.plan()`: what `plan(text, options)` gives for the objects as they are now.
    pub fn plan(&self) -> Result<Plan, ApiError> {
        let mut p = self
            .live
            .plan()
            .map_err(|e| ApiError::Message(e.to_string()))?;
        if !self.read_warnings.is_empty() {
            let mut w = self.read_warnings.clone();
            w.append(&mut p.warnings);
            p.warnings = w;
        }
        Ok(p)
    }

    /// `cluster.apply(objectsText)`: creates or replaces each object of the text (one or
    /// several documents, or a `List`) in order; the operations of all of them. Bad text or an
    /// object the API server would refuse changes nothing.
    pub fn apply(&mut self, text: &str) -> Result<Vec<Op>, ApiError> {
        let read = manifest::read(self.options.file(), text);
        if read.has_errors() {
            return Err(ApiError::Diagnostics(read.diagnostics));
        }
        let objects = Object::all(read.objects);
        if objects.is_empty() {
            // kubectl apply: "error: no objects passed to apply".
            return Err(ApiError::Message("no objects passed to apply".into()));
        }
        // One object is refused atomically by the core; several are applied on a copy.
        let mut next = if objects.len() == 1 {
            None
        } else {
            Some(self.live.clone())
        };
        let live = next.as_mut().unwrap_or(&mut self.live);
        let mut ops = Vec::new();
        for o in objects {
            ops.extend(
                live.apply(o)
                    .map_err(|e| live_error(read.diagnostics.clone(), e))?,
            );
        }
        if let Some(n) = next {
            self.live = n;
        }
        Ok(ops)
    }

    /// `cluster.remove(kind, namespace, name)`: deletes one object (a Pod the control plane
    /// made is replaced by its controller); its operations.
    pub fn remove(&mut self, kind: &str, namespace: &str, name: &str) -> Result<Vec<Op>, ApiError> {
        let k = ObjectKind::parse(kind).ok_or_else(|| {
            ApiError::Message(format!(
                "remove: unknown kind {kind:?}; kinds: Service, Pod, Node, EndpointSlice, Endpoints, Deployment, ReplicaSet, StatefulSet, DaemonSet"
            ))
        })?;
        // Nodes are cluster-scoped.
        let namespace = if k == ObjectKind::Node { "" } else { namespace };
        let id = ObjectRef::new(namespace, name);
        self.live
            .delete(k, &id)
            .map_err(|e| live_error(Vec::new(), e))
    }

    /// `cluster.route(request)`: [`route`] of the objects as they are now, the clients on
    /// `node` (the cluster's node by default). The cluster's node
    /// answers from the live state; another node (a connection to that node's address, or from
    /// outside) is planned on demand.
    pub fn route(&self, request: &RouteOptions, node: Option<String>) -> Result<Routes, ApiError> {
        let cluster = self.live.cluster();
        let req = request.request(node.or_else(|| self.options.node.clone()))?;
        let live_node = self.live.node().map(|n| n.meta.id.name.as_str());
        let rules = |node: &str, key: &VsKey| {
            if Some(node) == live_node {
                Ok(match self.live.virtual_server(key) {
                    Some(vs) => Lookup::Found(vs.clone()),
                    None => Lookup::Missing(
                        self.live
                            .virtual_servers_at(key.address)
                            .map(|v| format!("{}/{}", v.port, v.protocol))
                            .collect(),
                    ),
                })
            } else {
                svcroute_core::plan(cluster, Some(node)).map(|p| Lookup::in_plan(&p, key))
            }
        };
        route::check_refusing(cluster, &req.refusing)
            .map_err(|e| ApiError::Message(e.to_string()))?;
        let mut sim = sim::Simulator::with_seed(cluster.config.seed);
        route::route_with(cluster, &req, &mut sim, &rules)
            .map_err(|e| ApiError::Message(e.to_string()))
    }
}

/// The core's refusal as the JS API throws it: the reader's warnings, then the errors.
fn live_error(mut read: Vec<Diagnostic>, e: LiveError) -> ApiError {
    match e {
        LiveError::Invalid(errors) => {
            read.extend(errors.0);
            ApiError::Diagnostics(read)
        }
        other => ApiError::Message(other.to_string()),
    }
}

fn load(text: &str, options: &ClusterOptions) -> Result<svcroute_core::Cluster, ApiError> {
    let config = options.config()?;
    let tweaks = options.tweaks.clone().unwrap_or_default();
    manifest::load([(options.file(), text)], config, &tweaks)
        .map_err(|e| ApiError::Diagnostics(e.0))
}

fn parse_cidrs(what: &str, list: &OneOrMany) -> Result<Vec<ipnet::IpNet>, ApiError> {
    list.items()
        .into_iter()
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .map(|n| n.trunc())
                .map_err(|_| ApiError::Message(format!("{what}: {s:?} is not a CIDR")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_clis() {
        let c = ClusterOptions::default().config().expect("valid");
        assert_eq!(
            c,
            Config {
                synthesized_nodes: 2,
                ..Config::default()
            }
        );
    }

    #[test]
    fn options_are_checked() {
        let bad = ClusterOptions {
            node_port_range: Some("3-1".into()),
            ..ClusterOptions::default()
        };
        assert!(bad.config().is_err());
        let bad = ClusterOptions {
            scheduler: Some("fastest".into()),
            ..ClusterOptions::default()
        };
        assert!(matches!(bad.config(), Err(ApiError::Message(m)) if m.contains("one of: rr")));
        let r = RouteOptions {
            to: Some("10.97.97.97:80".into()),
            interval: Some(-1.0),
            ..RouteOptions::default()
        };
        assert!(r.request(None).is_err());
        assert!(
            RouteOptions::default().request(None).is_err(),
            "to is required"
        );
    }

    #[test]
    fn the_ipvs_scheduler_binds_ipvs_mode_only() {
        // As the CLI: lblc is programmed, not simulated; only --proxy-mode ipvs needs it.
        let text = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  clusterIP: 10.96.0.50\n  ports: [{port: 80}]\n";
        let options = ClusterOptions {
            scheduler: Some("lblc".into()),
            ..ClusterOptions::default()
        };
        let request = |mode: &str| RouteOptions {
            to: Some("10.96.0.50:80".into()),
            proxy_mode: Some(mode.into()),
            ..RouteOptions::default()
        };
        for mode in ["iptables", "nftables", "userspace"] {
            assert!(route(text, &options, &request(mode)).is_ok(), "{mode}");
        }
        assert!(
            matches!(route(text, &options, &request("ipvs")), Err(ApiError::Message(m)) if m.contains("lblc"))
        );
    }

    // --- The JS API's Cluster (issue 7 item 3) ---

    /// A Service over two Pods written with their status (as `kubectl get -o yaml` prints
    /// them), on a given Node.
    const LIVE: &str = "apiVersion: v1\nkind: Node\nmetadata: {name: node-1}\nspec: {podCIDR: 10.244.1.0/24}\nstatus: {addresses: [{type: InternalIP, address: 192.168.1.10}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: dev}\nspec:\n  clusterIP: 10.96.0.50\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n---\n";

    fn pod(name: &str, ip: &str, ready: bool) -> String {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: dev, labels: {{app: web}}}}\nspec: {{nodeName: node-1, containers: [{{name: c, image: nginx}}]}}\nstatus:\n  phase: Running\n  podIP: {ip}\n  podIPs: [{{ip: {ip}}}]\n  conditions: [{{type: Ready, status: \"{}\"}}]\n",
            if ready { "True" } else { "False" }
        )
    }

    fn live_text() -> String {
        format!(
            "{LIVE}{}---\n{}",
            pod("web-1", "10.244.1.2", true),
            pod("web-2", "10.244.1.3", true)
        )
    }

    fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
        serde_json::to_value(v).expect("serializable")
    }

    /// `cluster.plan()` is `plan(text, options)` (the same JSON, or the same error), for the
    /// text and options given.
    fn same_plan(name: &str, text: &str, options: &ClusterOptions) {
        let want = plan(text, options);
        match (LiveCluster::new(text, options.clone()), want) {
            (Ok(c), Ok(w)) => assert_eq!(
                json(&c.plan().expect("plans")),
                json(&w),
                "{name}: Cluster.plan() differs from plan()"
            ),
            (Err(a), Err(b)) => assert_eq!(a.first().1, b.first().1, "{name}: errors differ"),
            (a, b) => panic!(
                "{name}: Cluster {:?} but plan {:?}",
                a.map(|_| ()),
                b.map(|_| ())
            ),
        }
    }

    #[test]
    fn cluster_plan_is_plan_on_every_scenario_example_and_fixture() {
        let variants = [
            ClusterOptions::default(),
            ClusterOptions {
                node: Some("node-2".into()),
                scheduler: Some("wrr".into()),
                nodes: Some(3),
                seed: Some(7),
                ..ClusterOptions::default()
            },
        ];
        for s in &crate::scenarios::ALL {
            for o in &variants {
                same_plan(s.id, &s.manifest(), o);
            }
        }
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let mut files = 0;
        for dir in ["examples", "examples/seed-typos", "tests/fixtures"] {
            let mut paths: Vec<_> = std::fs::read_dir(format!("{root}/{dir}"))
                .expect("dir")
                .map(|e| e.expect("entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "json"))
                .collect();
            paths.sort();
            for p in paths {
                let text = std::fs::read_to_string(&p).expect("text");
                same_plan(&p.display().to_string(), &text, &variants[0]);
                files += 1;
            }
        }
        assert!(files > 100, "{files} files");
    }

    #[test]
    fn a_readiness_change_is_one_operation_in_the_diffs_json() {
        let mut c = LiveCluster::new(&live_text(), ClusterOptions::default()).expect("valid");
        // kube-proxy drops a not-ready endpoint (not terminating): one real server leaves.
        let ops = c
            .apply(&pod("web-2", "10.244.1.3", false))
            .expect("applied");
        assert_eq!(
            json(&ops),
            serde_json::json!([{
                "op": "deleteRealServer", "address": "10.96.0.50", "port": 80,
                "protocol": "TCP", "realServer": {"address": "10.244.1.3", "port": 8080}
            }])
        );
        let ops = c.apply(&pod("web-2", "10.244.1.3", true)).expect("applied");
        assert_eq!(json(&ops)[0]["op"], "addRealServer", "{ops:?}");
        assert_eq!(json(&ops)[0]["weight"], 1, "{ops:?}");
        assert_eq!(ops.len(), 1);
    }

    #[test]
    fn removing_a_service_deletes_its_virtual_server_and_address() {
        let mut c = LiveCluster::new(&live_text(), ClusterOptions::default()).expect("valid");
        let ops = c.remove("Service", "dev", "web").expect("removed");
        let names: Vec<serde_json::Value> = json(&ops)
            .as_array()
            .expect("list")
            .iter()
            .map(|o| o["op"].clone())
            .collect();
        assert_eq!(names, ["deleteVirtualServer", "deleteAddress"], "{ops:?}");
        assert!(c.plan().expect("plans").virtual_servers.is_empty());
        // Gone is gone: the API server's NotFound.
        let e = c.remove("Service", "dev", "web").expect_err("not found");
        assert_eq!(e.first().1, "no Service \"dev/web\"");
        let e = c.remove("Ingress", "dev", "web").expect_err("unknown kind");
        assert!(e.first().1.contains("unknown kind \"Ingress\""), "{e}");
    }

    #[test]
    fn plan_after_applies_is_plan_of_the_final_text() {
        let start = crate::scenarios::Scenario::get("clusterip").manifest();
        let mut c = LiveCluster::new(&start, ClusterOptions::default()).expect("valid");
        let extra = "apiVersion: v1\nkind: Service\nmetadata: {name: extra, namespace: dev}\nspec:\n  selector: {app: nginx-pod}\n  ports: [{port: 8080, targetPort: 80}]\n";
        let scaled = start.replace("replicas: 3", "replicas: 5");
        assert_ne!(scaled, start);
        // A Deployment scaled (a multi-document apply: the scaled text again), then a Service
        // added, then removed and added again.
        c.apply(&scaled).expect("applied");
        c.apply(extra).expect("applied");
        c.remove("Service", "dev", "extra").expect("removed");
        c.apply(extra).expect("applied");
        let final_text = format!("{scaled}---\n{extra}");
        assert_eq!(
            json(&c.plan().expect("plans")),
            json(&plan(&final_text, &ClusterOptions::default()).expect("plans"))
        );
    }

    #[test]
    fn a_refused_apply_throws_the_diagnostics_and_changes_nothing() {
        let mut c = LiveCluster::new(&live_text(), ClusterOptions::default()).expect("valid");
        let before = json(&c.plan().expect("plans"));
        // A typo: the reader's strict error at its line.
        let bad = pod("web-3", "10.244.1.4", true).replace("  podIP:", "  podIp:");
        match c.apply(&bad) {
            Err(ApiError::Diagnostics(d)) => {
                let e = d.iter().find(|d| d.is_error()).expect("an error");
                assert_eq!(
                    e.loc.as_ref().map(|l| (l.line, &*l.file)),
                    Some((7, DEFAULT_FILE))
                );
                assert!(e.message.contains("podIp"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        // Two objects, the second refused by the API server (a ClusterIP outside the range):
        // the first is not applied either.
        let two = format!(
            "{}---\napiVersion: v1\nkind: Service\nmetadata: {{name: out, namespace: dev}}\nspec:\n  clusterIP: 10.200.0.1\n  ports: [{{port: 80}}]\n",
            pod("web-3", "10.244.1.4", true)
        );
        let e = c.apply(&two).expect_err("refused");
        assert!(e.to_string().contains("10.200.0.1"), "{e}");
        assert_eq!(json(&c.plan().expect("plans")), before);
        assert!(
            matches!(c.apply(""), Err(ApiError::Message(m)) if m == "no objects passed to apply")
        );
        assert_eq!(json(&c.plan().expect("plans")), before);
    }

    #[test]
    fn cluster_route_is_route() {
        for s in &crate::scenarios::ALL {
            let text = s.manifest();
            let opts = ClusterOptions::default();
            let c = LiveCluster::new(&text, opts.clone()).expect("valid");
            let Some(vs) = c.plan().expect("plans").virtual_servers.first().cloned() else {
                continue;
            };
            for location in [None, Some("pod"), Some("outside")] {
                let req = RouteOptions {
                    to: Some(format!(
                        "{}:{}",
                        svcroute_core::plan::fmt_addr(&vs.address),
                        vs.port
                    )),
                    count: Some(5),
                    from: Some(OneOrMany::Many(vec!["10.0.0.7".into(), "10.0.0.8".into()])),
                    client_location: location.map(Into::into),
                    ..RouteOptions::default()
                };
                let a = c
                    .route(&req, None)
                    .map(|r| json(&r))
                    .map_err(|e| e.first().1);
                let b = route(&text, &opts, &req)
                    .map(|r| json(&r))
                    .map_err(|e| e.first().1);
                assert_eq!(a, b, "{} {location:?}", s.id);
            }
        }
    }
}
