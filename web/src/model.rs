//! The core's answers for one manifest text, gathered for drawing: the cluster, every node's
//! plan, the workloads one can scale, and per Service its entry points and DNS records.
//!
//! Nothing here decides where traffic goes: entry points are the plans' virtual servers, DNS
//! names are the core's records, Pod states are the cluster's. This module only indexes them.

use std::net::IpAddr;

use svcroute_core::cluster::{Cluster, Tweaks};
use svcroute_core::config::Config;
use svcroute_core::diag::Diagnostic;
use svcroute_core::dns::{self, DnsRecord, RecordType};
use svcroute_core::model::{Pod, Protocol, ServiceType, WorkloadKind};

use svcroute_core::cluster::ResolvedService;
use svcroute_core::plan::{Plan, VirtualServer, VsKind, fmt_addr};
use svcroute_core::{manifest, plan};

/// A workload whose replicas can be changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    /// `namespace/name`.
    pub id: String,
    /// Deployment, ReplicaSet or StatefulSet.
    pub kind: WorkloadKind,
    /// `spec.replicas` as written.
    pub replicas: u32,
}

/// How a target is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A virtual server of this kind.
    Vs(VsKind),
    /// The Service's DNS name (headless, ExternalName, or by name).
    Dns,
}

/// One way into a Service: a virtual server's `ADDRESS:PORT` or its DNS name and port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// What it is.
    pub kind: EntryKind,
    /// `HOST:PORT`, as `route` takes it and as connections name their virtual server.
    pub target: String,
    /// L4 protocol.
    pub protocol: Protocol,
    /// For a NodePort: the node whose address it is.
    pub node: Option<String>,
}

/// A Service as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceView {
    /// `namespace/name`.
    pub id: String,
    /// `spec.type`.
    pub kind: ServiceType,
    /// `clusterIP: None`.
    pub headless: bool,
    /// Virtual servers on any node (ClusterIP, externalIPs, LoadBalancer IPs, NodePorts),
    /// then the DNS name.
    pub entries: Vec<Entry>,
    /// The core's DNS records for this Service.
    pub dns: Vec<DnsRecord>,
    /// For an ExternalName: the name outside the cluster.
    pub external_name: Option<String>,
    /// `sessionAffinity: ClientIP` timeout.
    pub affinity: Option<u32>,
}

/// Where a simulated client is (the core's [`ClientLocation`]).
pub use svcroute_core::route::ClientLocation;

/// A simulated client: an address somewhere in (or outside) the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    /// Its address (the source address of its connections).
    pub address: IpAddr,
    /// In a Pod, on a node, or outside the cluster.
    pub location: ClientLocation,
    /// Its name on the page.
    pub name: String,
    /// The node a Pod or node client is on (`None` outside).
    pub node: Option<String>,
}

/// An outside machine's address (TEST-NET-3, RFC 5737).
pub const OUTSIDE_CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 9));

/// Everything the page draws for one valid manifest text.
#[derive(Clone, Debug)]
pub struct Model {
    /// The cluster the core built.
    pub cluster: Cluster,
    /// One plan per node, in `cluster.nodes` order.
    pub plans: Vec<Plan>,
    /// Workloads that can be scaled.
    pub workloads: Vec<Workload>,
    /// Services, in the cluster's order.
    pub services: Vec<ServiceView>,
}

impl Model {
    /// Reads, builds and plans every node, as `manifest::load` and `plan` do for the CLI.
    pub fn load(
        file: &str,
        text: &str,
        config: Config,
        tweaks: &Tweaks,
    ) -> Result<Model, Vec<Diagnostic>> {
        let cluster = manifest::load([(file, text)], config, tweaks).map_err(|e| e.0)?;
        let mut plans = Vec::with_capacity(cluster.nodes.len());
        for n in &cluster.nodes {
            match plan(&cluster, Some(&n.meta.id.name)) {
                Ok(p) => plans.push(p),
                Err(e) => {
                    return Err(vec![Diagnostic::error(
                        svcroute_core::diag::Kind::Note,
                        None,
                        e.to_string(),
                    )]);
                }
            }
        }
        let workloads = manifest::read(file, text)
            .objects
            .workloads
            .iter()
            .filter(|w| w.kind != WorkloadKind::DaemonSet)
            .map(|w| Workload {
                id: w.meta.id.to_string(),
                kind: w.kind,
                replicas: w.replicas,
            })
            .collect();
        let services = services(&cluster, &plans);
        Ok(Model {
            cluster,
            plans,
            workloads,
            services,
        })
    }

    /// The plan of a node, or the first one.
    pub fn plan_of(&self, node: Option<&str>) -> Option<&Plan> {
        node.and_then(|n| self.plans.iter().find(|p| p.node == n))
            .or(self.plans.first())
    }

    /// The page's clients when none are given: a client Pod on the first node (an address
    /// in that node's Pod range, after the Pods' own), the last node itself (a process in its
    /// host network), and a machine outside the cluster.
    pub fn default_clients(&self) -> Vec<Client> {
        let mut out = Vec::new();
        let nodes = &self.cluster.nodes;
        if let Some(n) = nodes.first() {
            let addr = n.pod_cidrs.first().and_then(|c| c.hosts().nth(199));
            if let Some(address) = addr {
                out.push(Client {
                    address,
                    location: ClientLocation::Pod,
                    name: "client-pod".into(),
                    node: Some(n.meta.id.name.clone()),
                });
            }
        }
        if let Some(n) = nodes.last()
            && let Some(address) = n.addresses.first()
        {
            out.push(Client {
                address: *address,
                location: ClientLocation::Node,
                name: n.meta.id.name.clone(),
                node: Some(n.meta.id.name.clone()),
            });
        }
        out.push(Client {
            address: OUTSIDE_CLIENT,
            location: ClientLocation::Outside,
            name: "laptop".into(),
            node: None,
        });
        out
    }

    /// A Service by `namespace/name`.
    pub fn service(&self, id: &str) -> Option<&ServiceView> {
        self.services.iter().find(|s| s.id == id)
    }

    /// The Pods of one node, in the cluster's order.
    pub fn pods_on<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a Pod> + 'a {
        self.cluster
            .pods
            .iter()
            .filter(move |p| p.node_name.as_deref() == Some(node))
    }

    /// The state of a Pod as an endpoint of a Service: `None` when the Service does not
    /// select it.
    pub fn endpoint_state(&self, service: &str, pod: &str) -> Option<PodState> {
        let svc = self
            .cluster
            .services
            .iter()
            .find(|s| s.id().to_string() == service)?;
        let b = svc
            .backends
            .iter()
            .find(|b| b.pod.as_ref().is_some_and(|p| p.to_string() == pod))?;
        Some(if b.conditions.is_terminating() {
            PodState::Terminating
        } else if b.conditions.is_ready() {
            PodState::Ready
        } else {
            PodState::NotReady
        })
    }

    /// Whether a Pod is a real server of one of the Service's virtual servers on `node`.
    pub fn in_rules(&self, node: Option<&str>, service: &str, pod: &str) -> bool {
        self.plan_of(node).is_some_and(|p| {
            p.virtual_servers
                .iter()
                .filter(|v| v.service == service)
                .any(|v| v.real_servers.iter().any(|r| r.pod.as_deref() == Some(pod)))
        })
    }

    /// The node a Pod address is on.
    pub fn node_of_ip(&self, ip: &IpAddr) -> Option<&str> {
        self.cluster
            .pods
            .iter()
            .find(|p| p.ips.contains(ip))
            .and_then(|p| p.node_name.as_deref())
    }
}

/// Every Service's view, in the cluster's order, from the nodes' plans.
pub(crate) fn services(cluster: &Cluster, plans: &[Plan]) -> Vec<ServiceView> {
    let by_service = vs_by_service(plans);
    cluster
        .services
        .iter()
        .map(|s| {
            let id = s.id().to_string();
            let vss = by_service.get(&id);
            service_view(cluster, s, vss)
        })
        .collect()
}

/// Each Service's virtual servers over the plans, in plan order, then in each plan's order:
/// lists sorted (stably) by Service name, so the wasm build has no map type for it.
pub(crate) struct VsByService<'a> {
    /// The Service of each of `vss`, ascending.
    keys: Vec<&'a str>,
    vss: Vec<(&'a Plan, &'a VirtualServer)>,
}

impl<'a> VsByService<'a> {
    /// One Service's virtual servers (none: an empty slice).
    pub(crate) fn get(&self, service: &str) -> &[(&'a Plan, &'a VirtualServer)] {
        let lo = self.keys.partition_point(|k| *k < service);
        let hi = self.keys.partition_point(|k| *k <= service);
        &self.vss[lo..hi]
    }
}

/// Each Service's virtual servers over the plans (see [`VsByService`]).
pub(crate) fn vs_by_service(plans: &[Plan]) -> VsByService<'_> {
    let mut all: Vec<(&str, &Plan, &VirtualServer)> = Vec::new();
    for p in plans {
        for vs in &p.virtual_servers {
            all.push((vs.service.as_str(), p, vs));
        }
    }
    svcroute_core::sort::sort_by(&mut all, |a, b| a.0.cmp(b.0));
    let mut keys = Vec::with_capacity(all.len());
    let mut vss = Vec::with_capacity(all.len());
    for (k, p, vs) in all {
        keys.push(k);
        vss.push((p, vs));
    }
    VsByService { keys, vss }
}

/// One Service's view: its entry points from its virtual servers on every node (`vss`), then
/// its DNS name.
pub(crate) fn service_view(
    cluster: &Cluster,
    s: &ResolvedService,
    vss: &[(&Plan, &VirtualServer)],
) -> ServiceView {
    let id = s.id().to_string();
    let mut entries: Vec<Entry> = Vec::new();
    for &(p, vs) in vss {
        let target = format!("{}:{}", fmt_addr(&vs.address), vs.port);
        let node = (vs.kind == VsKind::NodePort).then(|| p.node.clone());
        if !entries
            .iter()
            .any(|e| e.target == target && e.protocol == vs.protocol)
        {
            entries.push(Entry {
                kind: EntryKind::Vs(vs.kind),
                target,
                protocol: vs.protocol,
                node,
            });
        }
    }
    let rank = |e: &Entry| match e.kind {
        EntryKind::Vs(VsKind::ClusterIP) => 0,
        EntryKind::Vs(VsKind::ExternalIP) => 1,
        EntryKind::Vs(VsKind::LoadBalancer) => 2,
        EntryKind::Vs(VsKind::NodePort) => 3,
        EntryKind::Dns => 4,
    };
    svcroute_core::sort::sort_by_key(&mut entries, rank);
    let mut records = Vec::new();
    dns::service_records(s, &cluster.config.cluster_domain, &mut records);
    svcroute_core::sort::sort(&mut records);
    records.dedup();
    // The Service's own name is its shortest address or alias record.
    let own = records
        .iter()
        .filter(|r| r.kind != RecordType::SRV)
        .map(|r| r.name.clone())
        .min_by_key(|n| (n.split('.').count(), n.clone()));
    if let Some(name) = own {
        let port = s.service.ports.first().map_or(80, |p| p.port);
        let protocol = s
            .service
            .ports
            .first()
            .map_or(Protocol::Tcp, |p| p.protocol);
        entries.push(Entry {
            kind: EntryKind::Dns,
            target: format!("{name}:{port}"),
            protocol,
            node: None,
        });
    }
    ServiceView {
        id,
        kind: s.service.kind,
        headless: s.service.headless,
        entries,
        dns: records,
        external_name: s.service.external_name.clone(),
        affinity: s.service.affinity_timeout,
    }
}

/// A Pod's state at a glance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodState {
    /// Ready (and not terminating).
    Ready,
    /// Not ready.
    NotReady,
    /// Being deleted.
    Terminating,
}

impl PodState {
    /// The state of a Pod object.
    pub fn of(pod: &Pod) -> PodState {
        if pod.meta.deleting {
            PodState::Terminating
        } else if pod.ready {
            PodState::Ready
        } else {
            PodState::NotReady
        }
    }

    /// A CSS class name.
    pub fn class(self) -> &'static str {
        match self {
            PodState::Ready => "ready",
            PodState::NotReady => "not-ready",
            PodState::Terminating => "terminating",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::Scenario;

    fn load(id: &str) -> Model {
        Model::load(
            "manifest.yaml",
            &Scenario::get(id).manifest(),
            Config::default(),
            &Tweaks::default(),
        )
        .expect("valid")
    }

    #[test]
    fn clusterip_entry_points_come_from_the_plan() {
        let m = load("clusterip");
        let s = &m.services[0];
        assert_eq!(s.entries[0].target, "10.97.97.97:80");
        assert_eq!(
            s.entries.last().map(|e| e.target.as_str()),
            Some("service-clusterip.dev.svc.cluster.local:80")
        );
    }

    #[test]
    fn nodeport_has_one_entry_per_node() {
        let m = load("nodeport");
        let np: Vec<&Entry> = m.services[0]
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::Vs(VsKind::NodePort))
            .collect();
        assert_eq!(np.len(), m.cluster.nodes.len());
        assert!(np.iter().all(|e| e.target.ends_with(":30002")));
    }

    #[test]
    fn headless_and_externalname_have_only_a_name() {
        for id in ["headless", "externalname"] {
            let m = load(id);
            let kinds: Vec<EntryKind> = m.services[0].entries.iter().map(|e| e.kind).collect();
            assert_eq!(kinds, [EntryKind::Dns], "{id}");
        }
        assert_eq!(
            load("externalname").services[0].external_name.as_deref(),
            Some("www.baidu.com")
        );
    }
}
