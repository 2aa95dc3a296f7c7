//! `route`: where connections to an address or a cluster DNS name go.
//!
//! A target is `HOST:PORT` where HOST is a virtual server's address (a ClusterIP, a node
//! address for a NodePort, a load balancer IP, an externalIP) or a cluster DNS name, resolved
//! with a Pod's search path. Connections to a node address are handled by that node's rules;
//! the others by the client's node (`--node`).
//!
//! With a [`ClientLocation`] (`--client-location`), the request also says where the clients
//! are, as kube-proxy's rules see them: a Pod on the node, the node itself, or a machine outside
//! the cluster. A connection enters through the node it comes from and that node's IPVS table
//! chooses; from outside, a ClusterIP (and a cluster DNS name) is unreachable, while a NodePort
//! on a node's address, a load balancer IP and an externalIP are reachable. The source address
//! the Pod sees is reported where kube-proxy masquerades (`snat`): IPVS mode's
//! `KUBE-MARK-MASQ` for NodePorts, load balancer IPs and externalIPs with
//! `externalTrafficPolicy: Cluster`, for ClusterIP traffic whose source is outside the Pod
//! network (a node's own connections: the `! -s clusterCIDR` rule), and for a Pod that reaches
//! itself through its Service (the `KUBE-LOOP-BACK` hairpin). `Local` keeps the client's address.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::net::IpAddr;

use serde::Serialize;

use crate::cluster::Cluster;
use crate::config::Scheduler;
use crate::diag::Msg;
use crate::dns::{self, Answer};
use crate::model::{Family, Protocol, TrafficPolicy};
use crate::modes::ProxyMode;
use crate::plan::{self, Plan, VirtualServer, VsKey, VsKind, fmt_addr};
use crate::sim::{Open, Simulator};

/// Where the clients of a request are (`--client-location`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientLocation {
    /// In a Pod on the request's node: its connections pass that node's rules.
    Pod,
    /// On the request's node itself (a process in the host's network namespace).
    Node,
    /// A machine outside the cluster: it reaches node addresses and load balancer IPs only.
    Outside,
}

impl ClientLocation {
    /// The words `--client-location` takes.
    pub const NAMES: [&'static str; 3] = ["pod", "node", "outside"];

    /// `pod`, `node` or `outside`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientLocation::Pod => "pod",
            ClientLocation::Node => "node",
            ClientLocation::Outside => "outside",
        }
    }
}

impl core::str::FromStr for ClientLocation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pod" => Ok(ClientLocation::Pod),
            "node" => Ok(ClientLocation::Node),
            "outside" => Ok(ClientLocation::Outside),
            _ => Err(format!(
                "{s:?}: expected one of {}",
                ClientLocation::NAMES.join(", ")
            )),
        }
    }
}

/// What to simulate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `HOST:PORT`: an address or a cluster DNS name.
    pub to: String,
    /// Client addresses; connection `i` comes from `from[i % len]`.
    pub from: Vec<IpAddr>,
    /// Source ports aligned with `from` (`--from IP:PORT`); a missing or `None` entry: the
    /// simulator's seeded sequence.
    pub source_ports: Vec<Option<u16>>,
    /// How long each connection stays open (`--duration`), then it closes and expires as
    /// IPVS's timeouts say; `None`: open for the whole run.
    pub duration_ms: Option<u64>,
    /// How many connections.
    pub count: u32,
    /// Simulated milliseconds between connections.
    pub interval_ms: u64,
    /// Simulated time of the first connection.
    pub start_ms: u64,
    /// L4 protocol.
    pub protocol: Protocol,
    /// The client's node; the first Node by name when `None`.
    pub node: Option<String>,
    /// The client Pod's namespace, for DNS search (`default`).
    pub namespace: String,
    /// Where the clients are; `None`: not said (every entry point reachable, no `snat`).
    pub location: Option<ClientLocation>,
    /// The kube-proxy mode that chooses the backend (`--proxy-mode`); only `ipvs` needs a
    /// simulated `--ipvs-scheduler`.
    pub proxy_mode: ProxyMode,
    /// Pods (`namespace/name`) or endpoint addresses (`IP` or `IP:PORT`) whose process
    /// refuses connections (`--refusing`): the Pod is Ready, so it stays an endpoint, but a
    /// connection sent to it gets a TCP RST. Only the userspace mode retries another one.
    pub refusing: Vec<String>,
    /// Report the rule lines each connection passed (`Connection::rules`, `--trace-rules`).
    pub trace: bool,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            to: String::new(),
            from: alloc::vec![IpAddr::V4(core::net::Ipv4Addr::new(10, 0, 0, 1))],
            source_ports: Vec::new(),
            duration_ms: None,
            count: 1,
            interval_ms: 0,
            start_ms: 0,
            protocol: Protocol::Tcp,
            node: None,
            namespace: "default".into(),
            location: None,
            proxy_mode: ProxyMode::Ipvs,
            refusing: Vec::new(),
            trace: false,
        }
    }
}

/// One simulated connection.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    /// Client address.
    pub from: String,
    /// The client's source port.
    pub source_port: u16,
    /// IPVS found no destination: the client sees the connection refused (`reason` says
    /// why).
    pub refused: bool,
    /// The target as asked (`HOST:PORT`).
    pub to: String,
    /// Simulated time, in seconds.
    pub time: f64,
    /// The Service that answered, `namespace/name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The virtual server used, `ADDRESS:PORT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_server: Option<String>,
    /// What the virtual server is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<VsKind>,
    /// The node whose rules handled it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The chosen real server, `ADDRESS:PORT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// The Pod behind it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// For an ExternalName: the alias target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cname: Option<String>,
    /// For a headless name: the A/AAAA records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<String>>,
    /// With a client location: the source address the Pod sees when kube-proxy masquerades
    /// the connection (absent: the client's own address arrives).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snat: Option<String>,
    /// Why it went there.
    pub reason: String,
    /// With `Request::trace`: the rule lines the connection passed, as the mode's rendering
    /// prints them (`ipvsadm -Ln` without counters, `iptables-save`, `nft -f` text, the
    /// userspace description); [`crate::modes::highlight`] finds them in the text.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// Endpoints (`ip:port`) that refused this connection, in the order they were tried
    /// (`Request::refusing`): with `refused`, the client saw the refusal; without, the
    /// userspace proxy retried and another endpoint answered.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tried: Vec<String>,
    /// `reason`, structured (for a front end's translation; not serialized).
    #[serde(skip)]
    pub why: Msg,
}

/// The result of `route`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Routes {
    /// The connections, in order.
    pub connections: Vec<Connection>,
    /// The node and virtual server the simulator ran, when one did (for the connection
    /// table and counters views).
    #[serde(skip)]
    pub simulated: Option<(String, VsKey)>,
    /// The simulated time of the last connection, in milliseconds.
    #[serde(skip)]
    pub end_ms: u64,
}

/// Why a request cannot be simulated.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouteError {
    /// `--to` is not `HOST:PORT`.
    BadTarget(String),
    /// No Node of that name.
    UnknownNode(plan::UnknownNode),
    /// The host is neither a virtual server address nor a cluster DNS name.
    NoSuchHost(String),
    /// The address is known but has no virtual server on that port and protocol.
    NoSuchPort {
        /// The target.
        target: String,
        /// What that address serves: `80/TCP, 443/TCP`.
        serves: String,
    },
    /// `--count` is 0 or `--from` is empty.
    NothingToSend,
    /// A `--refusing` value is neither an IP, `IP:PORT`, nor a Pod of the cluster.
    BadRefusing(String),
    /// The virtual server's scheduler is programmed but not simulated.
    NotSimulated {
        /// The virtual server.
        target: String,
        /// Its scheduler.
        scheduler: Scheduler,
    },
}

impl RouteError {
    /// The message, structured (a front end translates it; its English is the `Display`).
    pub fn text(&self) -> Msg {
        match self {
            RouteError::BadTarget(t) => crate::msg!(
                "--to {}: expected HOST:PORT (an address such as 10.97.97.97:80 or [fd00::1]:80, or a DNS name such as svc.ns.svc.cluster.local:80)",
                format!("{t:?}")
            ),
            RouteError::UnknownNode(e) => e.text(),
            RouteError::NoSuchHost(h) => crate::msg!(
                "{} is neither the address of a virtual server nor a cluster DNS name",
                format!("{h:?}")
            ),
            RouteError::NoSuchPort { target, serves } => crate::msg!(
                "no virtual server for {}; that address serves {}",
                target,
                serves
            ),
            RouteError::NothingToSend => {
                crate::msg!("nothing to send: --count must be at least 1 and --from non-empty")
            }
            RouteError::BadRefusing(r) => crate::msg!(
                "--refusing {}: expected a Pod of the cluster (namespace/name), an IP or IP:PORT",
                format!("{r:?}")
            ),
            RouteError::NotSimulated { target, scheduler } => crate::msg!(
                "{} uses the IPVS scheduler {}, which `plan` and the agent program but route does not simulate; simulated: {}",
                target,
                scheduler,
                crate::sim::simulated().join(", ")
            ),
        }
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.text())
    }
}

impl core::error::Error for RouteError {}

/// Checks `Request::refusing` as given by a user (`--refusing`, the JS API's `refusing`): each
/// value is an IP, `IP:PORT` or a Pod of `cluster` (`namespace/name`), so a typo is an error
/// rather than a send in which nothing refuses.
pub fn check_refusing(cluster: &Cluster, refusing: &[String]) -> Result<(), RouteError> {
    for r in refusing {
        let address = r.parse::<IpAddr>().is_ok()
            || split_target(r).is_some_and(|(h, _)| h.parse::<IpAddr>().is_ok());
        let pod = || cluster.pods.iter().any(|p| p.meta.id.to_string() == *r);
        if !address && !pod() {
            return Err(RouteError::BadRefusing(r.clone()));
        }
    }
    Ok(())
}

/// Splits `HOST:PORT` (`[v6]:PORT` for IPv6).
pub fn split_target(to: &str) -> Option<(String, u16)> {
    let (host, port) = if let Some(rest) = to.strip_prefix('[') {
        let (h, p) = rest.split_once("]:")?;
        (h, p)
    } else {
        to.rsplit_once(':')?
    };
    if host.is_empty() || host.contains(':') && !to.starts_with('[') {
        return None;
    }
    Some((host.to_string(), port.parse().ok().filter(|p| *p > 0)?))
}

/// What a node's rules hold for one (address, port, protocol).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The virtual server.
    Found(VirtualServer),
    /// None; the node's virtual servers at that address serve these `PORT/PROTOCOL`s.
    Missing(Vec<String>),
}

impl Lookup {
    /// The answer of a node's whole plan.
    pub fn in_plan(plan: &Plan, key: &VsKey) -> Lookup {
        match plan.virtual_server(key) {
            Some(vs) => Lookup::Found(vs.clone()),
            None => Lookup::Missing(
                plan.virtual_servers
                    .iter()
                    .filter(|v| v.address == key.address)
                    .map(|v| format!("{}/{}", v.port, v.protocol))
                    .collect(),
            ),
        }
    }
}

/// Simulates `req` against `cluster`, continuing the simulator's state.
pub fn route(cluster: &Cluster, req: &Request, sim: &mut Simulator) -> Result<Routes, RouteError> {
    route_with(cluster, req, sim, &|node, key| {
        plan::plan(cluster, Some(node)).map(|p| Lookup::in_plan(&p, key))
    })
}

/// [`route`], finding a node's virtual servers through `rules` (node, key) instead of planning
/// the node: a live cluster answers from the state it keeps. `rules` must answer as
/// [`Lookup::in_plan`] of [`plan::plan`] of the node.
pub fn route_with(
    cluster: &Cluster,
    req: &Request,
    sim: &mut Simulator,
    rules: &dyn Fn(&str, &VsKey) -> Result<Lookup, plan::UnknownNode>,
) -> Result<Routes, RouteError> {
    if req.count == 0 || req.from.is_empty() {
        return Err(RouteError::NothingToSend);
    }
    let (host, port) =
        split_target(&req.to).ok_or_else(|| RouteError::BadTarget(req.to.clone()))?;
    let client_node = req
        .node
        .clone()
        .unwrap_or_else(|| plan::default_node(cluster).into());
    if cluster.node(&client_node).is_none() {
        return Err(RouteError::UnknownNode(plan::UnknownNode {
            name: client_node,
            known: cluster
                .nodes
                .iter()
                .map(|n| n.meta.id.name.clone())
                .collect(),
        }));
    }
    let times = (0..req.count).map(|i| {
        req.start_ms
            .saturating_add(u64::from(i).saturating_mul(req.interval_ms))
    });
    let client = |i: usize| req.from[i % req.from.len()];
    let client_port = |i: usize| req.source_ports.get(i % req.from.len()).copied().flatten();
    // Connections that reach no virtual server still have a source port: the given one,
    // or the simulator's sequence.
    let port_of =
        |sim: &mut Simulator, i: usize| client_port(i).unwrap_or_else(|| sim.port_for(client(i)));
    let end_ms = req
        .start_ms
        .saturating_add(u64::from(req.count - 1).saturating_mul(req.interval_ms));
    let secs = |ms: u64| ms as f64 / 1000.0;

    let outside = req.location == Some(ClientLocation::Outside);
    // Connections no virtual server handles (refused, or answered by DNS alone), each with the
    // same reason.
    let unproxied = |sim: &mut Simulator, why: Msg, dns: Dns| Routes {
        simulated: None,
        end_ms,
        connections: times
            .clone()
            .enumerate()
            .map(|(i, t)| Connection {
                from: client(i).to_string(),
                source_port: port_of(sim, i),
                refused: dns.service.is_none() && dns.cname.is_none() && dns.addresses.is_none(),
                to: req.to.clone(),
                time: secs(t),
                service: dns.service.clone(),
                virtual_server: None,
                kind: None,
                node: None,
                backend: None,
                pod: None,
                cname: dns.cname.clone(),
                addresses: dns.addresses.clone(),
                snat: None,
                reason: why.to_string(),
                why: why.clone(),
                rules: Vec::new(),
                tried: Vec::new(),
            })
            .collect(),
    };
    if outside && host.parse::<IpAddr>().is_err() {
        return Ok(unproxied(
            sim,
            crate::msg!(
                "outside the cluster, {} does not resolve: the cluster DNS (CoreDNS at the kube-dns ClusterIP) answers Pods inside the cluster only",
                host
            ),
            Dns::default(),
        ));
    }

    // An address, or a name to resolve.
    let address: IpAddr = match host.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => {
            let records = dns::records(cluster);
            let zone = &cluster.config.cluster_domain;
            match dns::resolve(&records, &host, &req.namespace, zone) {
                None => return Err(RouteError::NoSuchHost(host)),
                Some(Answer::Cname(fqdn, target)) => {
                    let service = service_of(&fqdn, zone);
                    let why_cname = crate::msg!(
                        "ExternalName: {} is a CNAME for {}; no virtual server, no proxying",
                        fqdn,
                        target
                    );
                    return Ok(unproxied(
                        sim,
                        why_cname,
                        Dns {
                            service,
                            cname: Some(target),
                            addresses: None,
                        },
                    ));
                }
                Some(Answer::Addresses(fqdn, addrs)) => {
                    let is_vip = addrs.len() == 1 && is_cluster_ip(cluster, &addrs[0]);
                    if is_vip {
                        addrs[0]
                    } else {
                        let service = service_of(&fqdn, zone);
                        let shown: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
                        let why_dns = crate::msg!(
                            "DNS: {} answers with Pod addresses (a headless Service or an endpoint's name): the client connects to one directly, no virtual server",
                            fqdn
                        );
                        return Ok(unproxied(
                            sim,
                            why_dns,
                            Dns {
                                service,
                                cname: None,
                                addresses: Some(shown),
                            },
                        ));
                    }
                }
            }
        }
    };

    // Traffic to a node's address is handled by that node.
    let owner = cluster
        .nodes
        .iter()
        .find(|n| n.addresses.contains(&address))
        .map(|n| n.meta.id.name.clone());
    if outside && owner.is_none() && is_cluster_ip(cluster, &address) {
        return Ok(unproxied(
            sim,
            crate::msg!(
                "outside the cluster, the ClusterIP {} is unreachable: it lives only in each node's kube-proxy rules (on kube-ipvs0) and no route outside the cluster leads to the Service CIDR; use a NodePort (NodeIP:nodePort) or a load balancer IP",
                fmt_addr(&address)
            ),
            Dns::default(),
        ));
    }
    let owned = owner.is_some();
    let mut node = owner.unwrap_or(client_node);
    let key = VsKey {
        address,
        port,
        protocol: req.protocol,
    };
    let mut entry_node: Option<String> = None;
    if outside && !owned {
        // A load balancer IP or an externalIP: the outside network delivers it to a node. With
        // externalTrafficPolicy Local the load balancer's health check (healthCheckNodePort)
        // sends only to nodes with a local endpoint.
        let serves_here =
            |n: &str| matches!(rules(n, &key), Ok(Lookup::Found(v)) if !v.real_servers.is_empty());
        if !serves_here(&node)
            && let Some(n) = cluster
                .nodes
                .iter()
                .map(|n| n.meta.id.name.as_str())
                .find(|n| serves_here(n))
        {
            node = n.into();
        }
        entry_node = Some(node.clone());
    }
    let vs = match rules(&node, &key).map_err(RouteError::UnknownNode)? {
        Lookup::Found(vs) => vs,
        Lookup::Missing(serves) => {
            let target = format!("{}:{port}/{}", fmt_addr(&address), req.protocol);
            return Err(if serves.is_empty() {
                RouteError::NoSuchHost(host)
            } else {
                RouteError::NoSuchPort {
                    target,
                    serves: serves.join(", "),
                }
            });
        }
    };
    let vs = &vs;
    // The other modes ignore the IPVS scheduler: their own chooser decides.
    if req.proxy_mode == ProxyMode::Ipvs && !vs.scheduler.is_simulated() {
        return Err(RouteError::NotSimulated {
            target: format!("{}:{port}/{}", fmt_addr(&address), req.protocol),
            scheduler: vs.scheduler,
        });
    }
    let mut connections = Vec::with_capacity(req.count as usize);
    let refuses = |ip: IpAddr, port: u16, pod: Option<&str>| {
        req.refusing.iter().any(|r| {
            Some(r.as_str()) == pod
                || r.parse::<IpAddr>().is_ok_and(|a| a == ip)
                || split_target(r).is_some_and(|(h, p)| p == port && h.parse() == Ok(ip))
        })
    };
    // The other modes decide with their own mechanism, on the rules rendered for this node.
    let ctx = (req.proxy_mode != ProxyMode::Ipvs)
        .then(|| crate::modes::Context::new(cluster, &node, vs, req.proxy_mode, req.location))
        .flatten();
    for (i, t) in times.enumerate() {
        let from = client(i);
        // kube-proxy's IPVS table at that moment: the plan's real servers and any it is still
        // draining (weight 0).
        let view = match &ctx {
            None => sim.kernel_view(&node, vs, t),
            Some(_) => alloc::borrow::Cow::Borrowed(vs),
        };
        let vs: &VirtualServer = &view;
        let (source_port, rs, mut why, rules, tried) = match &ctx {
            Some(ctx) => {
                let port = client_port(i).unwrap_or_else(|| sim.port_for(from));
                let choice = sim.choose(ctx, from, t, &refuses);
                let rs = choice.endpoint.and_then(|(ip, p)| {
                    vs.real_servers
                        .iter()
                        .find(|r| r.address == ip && r.port == p)
                });
                (port, rs, choice.reason, choice.rules, choice.tried)
            }
            None => {
                let decision = sim.open(
                    &node,
                    vs,
                    &Open {
                        client: from,
                        port: client_port(i),
                        at_ms: t,
                        duration_ms: req.duration_ms,
                    },
                );
                let mut rs = decision.index.map(|k| &vs.real_servers[k]);
                let mut why = decision.reason;
                // The plan's note explains the real-server set; its "no endpoints" part is
                // already what the decision says.
                let notes: Vec<Msg> = vs
                    .notes
                    .iter()
                    .filter(|n| {
                        !matches!(n, Msg::Template(t, _) if *t == "no endpoints: connections are refused")
                    })
                    .cloned()
                    .collect();
                if !notes.is_empty() {
                    why = crate::msg!("{} ({})", why, Msg::join(notes, "; "));
                }
                // The lines passed, only when asked for: formatting them is not free.
                let rules = if req.trace {
                    crate::modes::ipvs_rules(vs, rs)
                } else {
                    Vec::new()
                };
                let mut tried = Vec::new();
                if let Some(r) = rs
                    && refuses(r.address, r.port, r.pod.as_deref())
                {
                    let hp = format!("{}:{}", fmt_addr(&r.address), r.port);
                    why = crate::msg!(
                        "{}; {} refuses (TCP RST): IPVS forwarded the SYN and does not retry another real server — the client sees connection refused",
                        why,
                        hp
                    );
                    tried.push(hp);
                    rs = None;
                }
                (decision.source_port, rs, why, rules, tried)
            }
        };
        if let Some(entry) = &entry_node {
            why = crate::msg!("the outside network delivers it to node {}; {}", entry, why);
        }
        let snat = match (req.location, rs) {
            (Some(loc), Some(rs)) => masquerade(cluster, &node, vs, loc, from, rs),
            _ => None,
        };
        if let Some(a) = &snat {
            why = crate::msg!("{}; masqueraded: the Pod sees source {}", why, a);
        }
        connections.push(Connection {
            from: from.to_string(),
            source_port,
            refused: rs.is_none(),
            to: req.to.clone(),
            time: secs(t),
            service: Some(vs.service.clone()),
            virtual_server: Some(format!("{}:{}", fmt_addr(&vs.address), vs.port)),
            kind: Some(vs.kind),
            node: Some(node.clone()),
            backend: rs.map(|r| format!("{}:{}", fmt_addr(&r.address), r.port)),
            pod: rs.and_then(|r| r.pod.clone()),
            cname: None,
            addresses: None,
            snat,
            reason: why.to_string(),
            why,
            rules: if req.trace { rules } else { Vec::new() },
            tried,
        });
    }
    Ok(Routes {
        connections,
        simulated: Some((node, key)),
        end_ms,
    })
}

/// The source address the Pod sees when kube-proxy (IPVS mode) masquerades a connection
/// from `client` at `loc` through `vs` on `node` to `rs`; `None` when the client's address is
/// kept. MASQUERADE takes the address of the interface the packet leaves by: the Pod network's
/// gateway on the node (the first address of the node's Pod range) for a Pod on that node, the
/// node's address otherwise.
fn masquerade(
    cluster: &Cluster,
    node: &str,
    vs: &VirtualServer,
    loc: ClientLocation,
    client: IpAddr,
    rs: &plan::RealServer,
) -> Option<String> {
    let local_policy = || {
        cluster
            .services
            .iter()
            .find(|s| s.id().to_string() == vs.service)
            .is_some_and(|s| s.service.external_traffic_policy == TrafficPolicy::Local)
    };
    let masq = match vs.kind {
        // KUBE-NODE-PORT / KUBE-LOAD-BALANCER / KUBE-EXTERNAL-IP → KUBE-MARK-MASQ, unless
        // the address is in a -LOCAL set.
        VsKind::NodePort | VsKind::LoadBalancer | VsKind::ExternalIP => !local_policy(),
        // `KUBE-CLUSTER-IP dst,dst ! -s <clusterCIDR>`: a node's own connection; and the
        // KUBE-LOOP-BACK hairpin of a Pod that lands on itself.
        VsKind::ClusterIP => match loc {
            ClientLocation::Node | ClientLocation::Outside => true,
            ClientLocation::Pod => rs.address == client,
        },
    };
    if !masq {
        return None;
    }
    let n = cluster.node(node)?;
    let fam = Family::of(&rs.address);
    let gateway = (rs.node.as_deref() == Some(node))
        .then(|| n.pod_cidrs.iter().find(|c| Family::of_net(c) == fam))
        .flatten()
        .and_then(|c| c.hosts().next());
    gateway
        .or_else(|| n.addresses.iter().find(|a| Family::of(a) == fam).copied())
        .map(|a| a.to_string())
}

fn is_cluster_ip(cluster: &Cluster, ip: &IpAddr) -> bool {
    cluster.services.iter().any(|s| s.cluster_ips.contains(ip))
}

/// `namespace/name` from `[host.]name.namespace.svc.zone`.
/// What DNS told a connection that no virtual server handles: nothing (it is refused), a
/// CNAME, or Pod addresses.
#[derive(Default)]
struct Dns {
    service: Option<String>,
    cname: Option<String>,
    addresses: Option<Vec<String>>,
}

fn service_of(fqdn: &str, zone: &str) -> Option<String> {
    let rest = fqdn.strip_suffix(zone)?.strip_suffix(".svc.")?;
    let mut parts: Vec<&str> = rest.split('.').collect();
    let ns = parts.pop()?;
    let name = parts.pop()?;
    Some(format!("{ns}/{name}"))
}

/// Counts connections per backend: `{"10.244.0.2:80": 2, …}`.
pub fn spread(routes: &Routes) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for c in &routes.connections {
        if let Some(b) = &c.backend {
            *out.entry(b.clone()).or_default() += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            split_target("10.97.97.97:80"),
            Some(("10.97.97.97".into(), 80))
        );
        assert_eq!(split_target("[fd00::1]:53"), Some(("fd00::1".into(), 53)));
        assert_eq!(
            split_target("svc.dev.svc.cluster.local:80"),
            Some(("svc.dev.svc.cluster.local".into(), 80))
        );
        assert_eq!(split_target("fd00::1:53"), None);
        assert_eq!(split_target("10.0.0.1"), None);
        assert_eq!(split_target("10.0.0.1:0"), None);
        assert_eq!(split_target(":80"), None);
    }

    #[test]
    fn service_names_from_fqdns() {
        assert_eq!(
            service_of("web.dev.svc.cluster.local", "cluster.local"),
            Some("dev/web".into())
        );
        assert_eq!(
            service_of("web-0.web.dev.svc.cluster.local", "cluster.local"),
            Some("dev/web".into())
        );
    }
}
