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
use svcroute_core::config::{Config, Scheduler, Settings, parse_port_range};
use svcroute_core::diag::Diagnostic;
use svcroute_core::model::Protocol;
use svcroute_core::modes::ProxyMode;
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
    let mut sim = sim::Simulator::with_seed(cluster.config.seed);
    route::route(&cluster, &req, &mut sim).map_err(|e| ApiError::Message(e.to_string()))
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
}
