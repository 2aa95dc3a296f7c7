//! One node's rules, as kube-proxy's IPVS mode builds them: a virtual server per (address,
//! port, protocol) for each ClusterIP, NodePort on each node address, LoadBalancer ingress IP
//! and externalIP, with the endpoints that kube-proxy's topology rules leave for that node.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::net::IpAddr;

use serde::Serialize;

use crate::cluster::{Backend, Cluster, ResolvedService};
use crate::config::Scheduler;
use crate::diag::{Diagnostic, Kind, Msg};
use crate::dns::{self, DnsRecord};
use crate::model::{Family, ObjectRef, Protocol, ServiceType, TrafficPolicy};

/// What a virtual server is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum VsKind {
    /// A Service's cluster IP.
    ClusterIP,
    /// A node address and node port.
    NodePort,
    /// A load balancer's ingress IP.
    LoadBalancer,
    /// One of `spec.externalIPs`.
    ExternalIP,
}

/// The identity of a virtual server in the kernel: protocol, address and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VsKey {
    /// Address.
    pub address: IpAddr,
    /// Port.
    pub port: u16,
    /// Protocol.
    pub protocol: Protocol,
}

/// A real server (destination) of a virtual server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RealServer {
    /// Address.
    pub address: IpAddr,
    /// Port.
    pub port: u16,
    /// IPVS weight (kube-proxy uses 1; 0 drains).
    pub weight: u32,
    /// The Pod behind it, `namespace/name`, when known.
    pub pod: Option<String>,
    /// The node it runs on, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// It is a terminating endpoint used because no endpoint is ready.
    #[serde(skip_serializing_if = "core::ops::Not::not")]
    pub terminating: bool,
}

/// A virtual server with its real servers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualServer {
    /// `namespace/name` of the Service.
    pub service: String,
    /// The Service port's name (empty for an unnamed port).
    pub port_name: String,
    /// What it is for.
    pub kind: VsKind,
    /// Protocol, upper case.
    pub protocol: Protocol,
    /// Address.
    pub address: IpAddr,
    /// Port.
    pub port: u16,
    /// IPVS scheduler.
    pub scheduler: Scheduler,
    /// Persistence timeout (sessionAffinity ClientIP), or null.
    pub persistence_timeout_seconds: Option<u32>,
    /// Real servers, sorted by address and port (the order they hold in the kernel's list).
    pub real_servers: Vec<RealServer>,
    /// Why these real servers: the traffic policy that applied, or why there are none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// `note`'s parts, structured (each a [`Msg`]; `note` joins them with `"; "`).
    #[serde(skip)]
    pub notes: Vec<Msg>,
}

impl VirtualServer {
    /// The kernel identity.
    pub fn key(&self) -> VsKey {
        VsKey {
            address: self.address,
            port: self.port,
            protocol: self.protocol,
        }
    }
}

/// A node's plan: its virtual servers, the cluster's DNS answers, and warnings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The node whose view this is.
    pub node: String,
    /// Virtual servers, sorted by (address, port, protocol).
    pub virtual_servers: Vec<VirtualServer>,
    /// The addresses bound on the dummy interface (`kube-ipvs0`): ClusterIPs, externalIPs and
    /// load balancer IPs, sorted.
    pub interface_addresses: Vec<IpAddr>,
    /// DNS records, sorted by name, type and value.
    pub dns: Vec<DnsRecord>,
    /// Warnings (skipped objects, conflicts), as `FILE:LINE:COL: message`.
    pub warnings: Vec<String>,
    /// The same warnings, structured (for a front end's translation; not serialized).
    #[serde(skip)]
    pub diagnostics: Vec<Diagnostic>,
    /// Services left out for the node's rule limit ([`MAX_NODE_RULES`]), in order (their
    /// warnings are among `warnings`; not serialized).
    #[serde(skip)]
    pub skipped: Vec<ObjectRef>,
    /// The rules of the planned Services together ([`service_rules`]; not serialized).
    #[serde(skip)]
    pub rules: Rules,
}

impl Plan {
    /// The virtual server with this identity.
    pub fn virtual_server(&self, key: &VsKey) -> Option<&VirtualServer> {
        self.virtual_servers
            .binary_search_by(|v| v.key().cmp(key))
            .ok()
            .map(|i| &self.virtual_servers[i])
    }
}

/// Error of [`plan`]: the node is not in the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownNode {
    /// The name asked for.
    pub name: String,
    /// The names there are.
    pub known: Vec<String>,
}

impl UnknownNode {
    /// The message, structured (a front end translates it; its English is the `Display`).
    pub fn text(&self) -> Msg {
        crate::msg!(
            "no Node {}; the Nodes are: {}",
            format!("{:?}", self.name),
            self.known.join(", ")
        )
    }
}

impl core::fmt::Display for UnknownNode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.text())
    }
}

impl core::error::Error for UnknownNode {}

/// The default node: the first by name.
pub fn default_node(cluster: &Cluster) -> &str {
    cluster
        .nodes
        .first()
        .map_or("", |n| n.meta.id.name.as_str())
}

/// Plans the rules of `node` (the first Node by name when `None`).
pub fn plan(cluster: &Cluster, node: Option<&str>) -> Result<Plan, UnknownNode> {
    let node_name = node.unwrap_or_else(|| default_node(cluster));
    let Some(node) = cluster.node(node_name) else {
        return Err(UnknownNode {
            name: node_name.into(),
            known: cluster
                .nodes
                .iter()
                .map(|n| n.meta.id.name.clone())
                .collect(),
        });
    };
    // Which Services fit, decided before any virtual server is made: by counting each when
    // the bound over all of them may pass the limits, else all of them. Each list is then made
    // as `assemble` takes it (not all held at once).
    let name = &node.meta.id.name;
    let mut budget = Budget::new(&cluster.config);
    let admitted = budget.decide(&cluster.services, name, &node.addresses);
    let mut warnings = cluster.warnings.clone();
    warnings.extend(budget.warnings(cluster, name));
    let mut made = Rules::default();
    let lists = cluster.services.iter().enumerate().map(|(i, svc)| {
        let list = if admitted.fits(i) {
            service_virtual_servers(cluster, svc, name, &node.addresses)
        } else {
            Vec::new()
        };
        made = made.plus(Rules::of(&list));
        (svc, Cow::Owned(list))
    });
    let mut plan = assemble(cluster, node, warnings, lists);
    plan.skipped = budget.skipped.into_iter().map(|(id, _)| id).collect();
    plan.rules = made;
    Ok(plan)
}

/// The most virtual servers and real servers one node's plan holds, over all Services.
/// kube-proxy has no such limit, and none is needed for a real cluster: Kubernetes'
/// scalability limits (10,000 Services, 150,000 Pods) come to about a million real servers on
/// a node even when every endpoint is reached on a ClusterIP, a load balancer IP and a
/// NodePort on several node addresses, and to some 100,000 virtual servers. Without it, one
/// Service of 11 KB (200 ports × 200 externalIPs selecting 200 Pods) planned 8 million real
/// servers (9 s, 2 GB and 500 MB of JSON, a hung tab in the playground, and as many IPVS
/// destinations in the node's kernel), and one of 50 KB without endpoints (2,000 ports ×
/// 1,000 externalIPs) 2 million virtual servers (7 s, 1.2 GB, 640 MB of JSON): a virtual
/// server weighs four real servers, so it has its own limit. Services are planned in order
/// (by namespace and name); one that would take the node past either limit is skipped with a
/// warning, and later ones that fit are planned.
pub const MAX_NODE_RULES: Rules = Rules {
    virtual_servers: 500_000,
    real_servers: 2_000_000,
};

/// Virtual servers and real servers, counted ([`service_rules`], [`MAX_NODE_RULES`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    /// Virtual servers.
    pub virtual_servers: usize,
    /// Real servers, over all the virtual servers.
    pub real_servers: usize,
}

impl Rules {
    /// Both counts added.
    pub fn plus(self, o: Rules) -> Rules {
        Rules {
            virtual_servers: self.virtual_servers.saturating_add(o.virtual_servers),
            real_servers: self.real_servers.saturating_add(o.real_servers),
        }
    }

    /// Both counts less `o`'s (which they hold).
    pub fn minus(self, o: Rules) -> Rules {
        Rules {
            virtual_servers: self.virtual_servers.saturating_sub(o.virtual_servers),
            real_servers: self.real_servers.saturating_sub(o.real_servers),
        }
    }

    /// Whether both counts are within `limit`'s.
    pub fn within(self, limit: Rules) -> bool {
        self.virtual_servers <= limit.virtual_servers && self.real_servers <= limit.real_servers
    }

    /// The counts of virtual servers as they are made.
    pub fn of(list: &[VirtualServer]) -> Rules {
        Rules {
            virtual_servers: list.len(),
            real_servers: list.iter().map(|v| v.real_servers.len()).sum(),
        }
    }
}

/// How many virtual servers and real servers [`service_virtual_servers`] makes for `svc` on
/// `node`, counted without making them.
pub fn service_rules(svc: &ResolvedService, node: &str, node_addresses: &[IpAddr]) -> Rules {
    let mut rules = Rules::default();
    let mut seen: Vec<(IpAddr, u16)> = Vec::new();
    each_port(svc, node, node_addresses, &mut |pi, _, cat, fronts| {
        if fronts.is_empty() {
            return;
        }
        // Real servers are endpoints with this port, one per address and port. Endpoints
        // usually come sorted by address (the build sorts a selector's): counted in one pass
        // while they rise, sorted only when they do not.
        let mut distinct = |chosen: &[&Backend]| {
            let rs = || {
                chosen
                    .iter()
                    .filter_map(|b| Some((b.address, b.ports[pi]?)))
            };
            let mut count = 0;
            let mut last = None;
            for r in rs() {
                if last.is_some_and(|l| l >= r) {
                    seen.clear();
                    seen.extend(rs());
                    crate::sort::sort_unstable(&mut seen);
                    seen.dedup();
                    return seen.len();
                }
                last = Some(r);
                count += 1;
            }
            count
        };
        let cluster = distinct(&cat.cluster);
        let local = distinct(&cat.local);
        for f in fronts {
            let chosen = match f.policy {
                TrafficPolicy::Cluster => cluster,
                TrafficPolicy::Local => local,
            };
            rules = rules.plus(Rules {
                virtual_servers: 1,
                real_servers: chosen,
            });
        }
    });
    rules
}

/// The rules of a node's plan as Services are admitted in order ([`MAX_NODE_RULES`]).
#[derive(Debug)]
pub(crate) struct Budget {
    limit: Rules,
    /// Rules of the admitted Services.
    used: Rules,
    /// The Services skipped, in order, with their rules.
    pub(crate) skipped: Vec<(ObjectRef, Rules)>,
}

impl Budget {
    pub(crate) fn new(config: &crate::config::Config) -> Budget {
        Budget {
            limit: config.max_node_rules,
            used: Rules::default(),
            skipped: Vec::new(),
        }
    }

    /// Whether a Service of `rules` fits; counted when it does, remembered when it does not.
    pub(crate) fn admit(&mut self, id: &ObjectRef, rules: Rules) -> bool {
        let used = self.used.plus(rules);
        if !used.within(self.limit) {
            self.skipped.push((id.clone(), rules));
            return false;
        }
        self.used = used;
        true
    }

    /// Whether `services` surely fit on a node with `node_addresses`: an upper bound of each
    /// one's rules (its ports times all its addresses, each with all its endpoints) in O(1),
    /// so that the exact count ([`service_rules`]) is needed only when they may not.
    fn surely_fits(limit: Rules, services: &[ResolvedService], node_addresses: &[IpAddr]) -> bool {
        let mut bound = Rules::default();
        for svc in services {
            let s = &svc.service;
            let addresses = svc.cluster_ips.len()
                + s.external_ips.len()
                + s.lb_ingress.len()
                + node_addresses.len();
            let virtual_servers = s.ports.len().saturating_mul(addresses);
            bound = bound.plus(Rules {
                virtual_servers,
                real_servers: virtual_servers.saturating_mul(svc.backends.len()),
            });
            if !bound.within(limit) {
                return false;
            }
        }
        true
    }

    /// Which of `services` fit on node `node` with `node_addresses`, decided before any
    /// virtual server is made: all of them when they surely do ([`Budget::surely_fits`]), else
    /// each one counted exactly ([`service_rules`]) and admitted in order.
    pub(crate) fn decide(
        &mut self,
        services: &[ResolvedService],
        node: &str,
        node_addresses: &[IpAddr],
    ) -> Admitted {
        if Budget::surely_fits(self.limit, services, node_addresses) {
            return Admitted(None);
        }
        let counted = services.iter().map(|svc| {
            let rules = service_rules(svc, node, node_addresses);
            self.admit(svc.id(), rules)
        });
        Admitted(Some(counted.collect()))
    }

    /// A warning for each Service skipped, in order.
    pub(crate) fn warnings(&self, cluster: &Cluster, node: &str) -> Vec<Diagnostic> {
        skip_warnings(cluster, node, self.limit, &self.skipped)
    }
}

/// Which Services fit on a node ([`Budget::decide`]): all of them, or those marked.
pub(crate) struct Admitted(Option<Vec<bool>>);

impl Admitted {
    /// Whether the `i`th Service fits.
    pub(crate) fn fits(&self, i: usize) -> bool {
        self.0.as_ref().is_none_or(|a| a[i])
    }
}

/// The warnings of Services skipped for the node's rule limit.
pub(crate) fn skip_warnings(
    cluster: &Cluster,
    node: &str,
    limit: Rules,
    skipped: &[(ObjectRef, Rules)],
) -> Vec<Diagnostic> {
    skipped
        .iter()
        .map(|(id, rules)| {
            let loc = cluster.service(id).map(|s| s.service.meta.loc.clone());
            Diagnostic::warning(
                Kind::Invalid,
                loc,
                crate::msg!(
                    "Service \"{}\": its {} virtual servers and {} real servers on node {} would take the node's plan past {} virtual servers or {} real servers (svcroute's limits): skipped",
                    id,
                    rules.virtual_servers,
                    rules.real_servers,
                    format!("{node:?}"),
                    limit.virtual_servers,
                    limit.real_servers
                ),
            )
        })
        .collect()
}

/// A node's plan from each Service's virtual servers (in Service order): the first Service to
/// claim an (address, port, protocol) gets it, later ones are warned about.
pub(crate) fn assemble<'a>(
    cluster: &Cluster,
    node: &crate::model::Node,
    mut warnings: Vec<Diagnostic>,
    lists: impl Iterator<Item = (&'a ResolvedService, Cow<'a, [VirtualServer]>)>,
) -> Plan {
    // Every virtual server in generation order with its Service, then sorted by key (a stable
    // sort: of the ones sharing a key, the first generated comes first and keeps it).
    let mut all: Vec<(VirtualServer, &ResolvedService)> = Vec::new();
    for (svc, list) in lists {
        all.extend(list.into_owned().into_iter().map(|vs| (vs, svc)));
    }
    let mut addresses: Vec<IpAddr> = all
        .iter()
        .filter(|(vs, _)| binds(node, vs))
        .map(|(vs, _)| vs.address)
        .collect();
    crate::sort::sort_unstable(&mut addresses);
    addresses.dedup();
    let mut order: Vec<u32> = (0..all.len() as u32).collect();
    crate::sort::sort_by_key(&mut order, |&i| all[i as usize].0.key());
    // The later claims of a key, by when they were generated (the warnings' order).
    let mut skipped: Vec<u32> = order
        .windows(2)
        .filter(|w| all[w[0] as usize].0.key() == all[w[1] as usize].0.key())
        .map(|w| w[1])
        .collect();
    crate::sort::sort_unstable(&mut skipped);
    for &i in &skipped {
        let (vs, svc) = &all[i as usize];
        let key = vs.key();
        let first = order[order.partition_point(|&j| all[j as usize].0.key() < key)];
        let prev = &all[first as usize].0;
        warnings.push(Diagnostic::warning(
            Kind::Conflict,
            Some(svc.service.meta.loc.clone()),
            crate::msg!(
                "Service \"{}\": {} {}:{} {} is already programmed for Service \"{}\": skipped",
                svc.id(),
                kind_name(vs.kind),
                fmt_addr(&vs.address),
                vs.port,
                vs.protocol,
                prev.service
            ),
        ));
    }
    crate::cluster::permute(&mut all, &mut order);
    let mut virtual_servers: Vec<VirtualServer> = Vec::with_capacity(all.len());
    for (vs, _) in all {
        if virtual_servers.last().is_none_or(|l| l.key() != vs.key()) {
            virtual_servers.push(vs);
        }
    }
    Plan {
        node: node.meta.id.name.clone(),
        virtual_servers,
        interface_addresses: addresses,
        dns: dns::records(cluster),
        warnings: warnings.iter().map(ToString::to_string).collect(),
        diagnostics: warnings,
        skipped: Vec::new(),
        rules: Rules::default(),
    }
}

/// Whether a virtual server's address is bound on the dummy interface: not for NodePorts, and
/// (kube-proxy's shouldBind) not for an address the node already has.
pub(crate) fn binds(node: &crate::model::Node, vs: &VirtualServer) -> bool {
    !matches!(vs.kind, VsKind::NodePort) && !node.addresses.contains(&vs.address)
}

fn kind_name(k: VsKind) -> &'static str {
    match k {
        VsKind::ClusterIP => "ClusterIP",
        VsKind::NodePort => "NodePort",
        VsKind::LoadBalancer => "LoadBalancer",
        VsKind::ExternalIP => "externalIP",
    }
}

/// `10.0.0.1` or `[fd00::1]`, for `address:port` text.
pub fn fmt_addr(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}"),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// Which endpoints kube-proxy uses for one Service port on one node
/// (`pkg/proxy/topology.go`, `CategorizeEndpoints`).
struct Categorized<'a> {
    /// Ready endpoints, or, when none is ready, the serving terminating ones.
    cluster: Vec<&'a Backend>,
    /// The same rule restricted to this node's endpoints.
    local: Vec<&'a Backend>,
    cluster_fell_back: bool,
    local_fell_back: bool,
}

fn categorize<'a>(backends: &[&'a Backend], node: &str) -> Categorized<'a> {
    let pick = |local: bool| -> (Vec<&'a Backend>, bool) {
        let here = |b: &&&Backend| !local || b.node.as_deref() == Some(node);
        let ready: Vec<&Backend> = backends
            .iter()
            .filter(here)
            .filter(|b| b.conditions.is_ready())
            .copied()
            .collect();
        if !ready.is_empty() {
            return (ready, false);
        }
        let fallback: Vec<&Backend> = backends
            .iter()
            .filter(here)
            .filter(|b| b.conditions.is_serving() && b.conditions.is_terminating())
            .copied()
            .collect();
        let fell = !fallback.is_empty();
        (fallback, fell)
    };
    let (cluster, cluster_fell_back) = pick(false);
    let (local, local_fell_back) = pick(true);
    Categorized {
        cluster,
        local,
        cluster_fell_back,
        local_fell_back,
    }
}

/// One address a Service port is reached at on a node: a virtual server's kind, address,
/// port and the traffic policy that picks its endpoints.
struct Front {
    kind: VsKind,
    address: IpAddr,
    port: u16,
    policy: TrafficPolicy,
    policy_name: &'static str,
}

/// What [`each_port`] calls: the port's index, the port, its endpoints categorized for the
/// node, and the addresses it is reached at.
type PortVisit<'f> = dyn FnMut(usize, &crate::model::ServicePort, &Categorized<'_>, &[Front]) + 'f;

/// For each port and family of `svc` that kube-proxy programs on `node`: the port's index,
/// the port, its endpoints categorized for the node, and the addresses it is reached at (in
/// kube-proxy's order: ClusterIP, externalIPs, load balancer IPs, NodePorts).
fn each_port(svc: &ResolvedService, node: &str, node_addresses: &[IpAddr], f: &mut PortVisit<'_>) {
    let s = &svc.service;
    if s.kind == ServiceType::ExternalName || s.headless || crate::cluster::proxy_ignores(s) {
        return;
    }
    let mut fronts = Vec::new();
    for (pi, port) in s.ports.iter().enumerate() {
        for fam in &svc.families {
            let backends: Vec<&Backend> = svc
                .backends
                .iter()
                .filter(|b| Family::of(&b.address) == *fam && b.ports[pi].is_some())
                .collect();
            let cat = categorize(&backends, node);
            fronts.clear();
            let etp = s.external_traffic_policy;
            let front = |kind, address, port, policy, policy_name| Front {
                kind,
                address,
                port,
                policy,
                policy_name,
            };
            if let Some(ip) = svc.cluster_ips.iter().find(|ip| Family::of(ip) == *fam) {
                fronts.push(front(
                    VsKind::ClusterIP,
                    *ip,
                    port.port,
                    s.internal_traffic_policy,
                    "internalTrafficPolicy",
                ));
            }
            for ip in s.external_ips.iter().filter(|ip| Family::of(ip) == *fam) {
                fronts.push(front(
                    VsKind::ExternalIP,
                    *ip,
                    port.port,
                    etp,
                    "externalTrafficPolicy",
                ));
            }
            for ing in s
                .lb_ingress
                .iter()
                .filter(|i| Family::of(&i.ip) == *fam && !i.proxy_mode)
            {
                fronts.push(front(
                    VsKind::LoadBalancer,
                    ing.ip,
                    port.port,
                    etp,
                    "externalTrafficPolicy",
                ));
            }
            if let Some(np) = svc.node_ports[pi] {
                for ip in node_addresses.iter().filter(|ip| Family::of(ip) == *fam) {
                    fronts.push(front(
                        VsKind::NodePort,
                        *ip,
                        np,
                        etp,
                        "externalTrafficPolicy",
                    ));
                }
            }
            f(pi, port, &cat, &fronts);
        }
    }
}

/// Every virtual server of one Service on one node (whatever the node's rule limit: see
/// [`plan`] and [`MAX_NODE_RULES`]).
pub fn service_virtual_servers(
    cluster: &Cluster,
    svc: &ResolvedService,
    node: &str,
    node_addresses: &[IpAddr],
) -> Vec<VirtualServer> {
    let s = &svc.service;
    let mut out = Vec::new();
    let id = ObjectRef::to_string_ref(&s.meta.id);
    each_port(svc, node, node_addresses, &mut |pi, port, cat, fronts| {
        for f in fronts {
            let (chosen, fell) = match f.policy {
                TrafficPolicy::Cluster => (&cat.cluster, cat.cluster_fell_back),
                TrafficPolicy::Local => (&cat.local, cat.local_fell_back),
            };
            let mut notes = Vec::new();
            if f.policy == TrafficPolicy::Local {
                notes.push(crate::msg!(
                    "{} Local: only {}'s endpoints",
                    f.policy_name,
                    node
                ));
            }
            if fell {
                notes.push(crate::msg!(
                    "no ready endpoint: using serving terminating endpoints"
                ));
            }
            if chosen.is_empty() {
                notes.push(crate::msg!("no endpoints: connections are refused"));
            }
            let note = Msg::Join(notes.clone(), "; ").to_string();
            // Exact room: a filtered `collect` starts at four and doubles (a third of the
            // plan's real-server memory at ten endpoints a Service).
            let mut real_servers: Vec<RealServer> = Vec::with_capacity(chosen.len());
            real_servers.extend(chosen.iter().filter_map(|b| {
                Some(RealServer {
                    address: b.address,
                    port: b.ports[pi]?,
                    weight: 1,
                    pod: b.pod.as_ref().map(ObjectRef::to_string_ref),
                    node: b.node.clone(),
                    terminating: b.conditions.is_terminating(),
                })
            }));
            crate::sort::sort_by_key(&mut real_servers, |a| (a.address, a.port));
            real_servers.dedup_by(|a, b| a.address == b.address && a.port == b.port);
            out.push(VirtualServer {
                service: id.clone(),
                port_name: port.name.clone(),
                kind: f.kind,
                protocol: port.protocol,
                address: f.address,
                port: f.port,
                scheduler: cluster.config.scheduler,
                persistence_timeout_seconds: s.affinity_timeout,
                real_servers,
                note,
                notes,
            });
        }
    });
    out
}

impl ObjectRef {
    /// `namespace/name` as a `String`.
    pub fn to_string_ref(&self) -> String {
        // Made for every real server of a plan: joined directly, not through `format!`.
        let mut s = String::with_capacity(self.namespace.len() + 1 + self.name.len());
        s.push_str(&self.namespace);
        s.push('/');
        s.push_str(&self.name);
        s
    }
}
