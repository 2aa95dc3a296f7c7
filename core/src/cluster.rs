//! The cluster as the control plane would make it from the manifests: Nodes (given or made),
//! Pods of workloads that were not in the input, allocated ClusterIPs and NodePorts, and each
//! Service's endpoints as the EndpointSlice controller derives them.
//!
//! Everything here is deterministic: the same objects, config and seed give the same cluster.
//! Pods are indexed by label so a Service's endpoints are found without scanning every Pod.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::net::IpAddr;

use ipnet::IpNet;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::config::Config;
use crate::diag::{Diagnostic, Errors, Kind, Loc};
use crate::labels::Labels;
use crate::model::*;

/// One backend of a Service: an address with, for each Service port, the port it listens on
/// (`None`: this Pod lacks the named `targetPort`, so it is left out of that port only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backend {
    /// The endpoint's address.
    pub address: IpAddr,
    /// Target port per Service port, by index into `Service::ports`.
    pub ports: Vec<Option<u16>>,
    /// Ready / serving / terminating.
    pub conditions: Conditions,
    /// The Node it runs on.
    pub node: Option<String>,
    /// The Pod, when the endpoint is one.
    pub pod: Option<ObjectRef>,
    /// The DNS hostname (headless Services).
    pub hostname: Option<String>,
    /// The ports of the EndpointSlice the endpoint is in (for a Service with a selector, the
    /// ones the EndpointSlice controller writes: each Service port the Pod resolves, named
    /// as the Service port): what CoreDNS builds a headless Service's SRV records from.
    pub slice_ports: Vec<EndpointPort>,
}

/// A Service with everything the control plane fills in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedService {
    /// The Service as read.
    pub service: Service,
    /// Its IP families, primary first (empty for ExternalName).
    pub families: Vec<Family>,
    /// Its cluster IPs, one per family (empty when headless or ExternalName).
    pub cluster_ips: Vec<IpAddr>,
    /// Node port per Service port (allocated when not written).
    pub node_ports: Vec<Option<u16>>,
    /// `healthCheckNodePort` for LoadBalancer Services with `externalTrafficPolicy: Local`.
    pub health_check_node_port: Option<u16>,
    /// Endpoints, sorted by address.
    pub backends: Vec<Backend>,
}

impl ResolvedService {
    /// `namespace/name`.
    pub fn id(&self) -> &ObjectRef {
        &self.service.meta.id
    }
}

/// What happens to one Pod after the controllers made it: the actions a playground (or a
/// what-if question) applies to a cluster without editing its manifests.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodTweak {
    /// Override the Ready condition.
    pub ready: Option<bool>,
    /// Mark the Pod as being deleted (it turns terminating; it keeps serving while Ready).
    pub terminating: bool,
    /// Delete the Pod. A workload's controller replaces it with a new Pod of a new name.
    pub deleted: bool,
}

/// Changes applied on top of the manifests: scale a workload, change a Pod's state, switch a
/// Service's session affinity. Keys are `namespace/name`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Tweaks {
    /// Replicas per workload (`namespace/name` of a Deployment, ReplicaSet or StatefulSet).
    pub replicas: BTreeMap<String, u32>,
    /// Pod changes, by `namespace/name`.
    pub pods: BTreeMap<String, PodTweak>,
    /// Session affinity per Service: `Some(timeout)` = ClientIP, `None` = None.
    pub affinity: BTreeMap<String, Option<u32>>,
}

impl Tweaks {
    /// Whether nothing is changed.
    pub fn is_empty(&self) -> bool {
        self.replicas.is_empty() && self.pods.is_empty() && self.affinity.is_empty()
    }
}

/// The whole cluster, ready to plan any node's rules.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// The settings it was built with.
    pub config: Config,
    /// Nodes, sorted by name.
    pub nodes: Vec<Node>,
    /// Pods (given and synthesized), sorted by namespace and name.
    pub pods: Vec<Pod>,
    /// Services, sorted by namespace and name.
    pub services: Vec<ResolvedService>,
    /// Warnings from building the cluster (and from reading, when passed in).
    pub warnings: Vec<Diagnostic>,
}

impl Cluster {
    /// Builds the cluster. Errors are allocation conflicts and values the API server would
    /// reject given the config (a clusterIP outside the range, a nodePort taken twice, …).
    pub fn build(objects: Objects, config: Config) -> Result<Cluster, Errors> {
        Cluster::build_with(objects, config, &Tweaks::default())
    }

    /// [`Cluster::build`] with [`Tweaks`] applied: replicas before the controllers run, Pod
    /// changes after, affinity on the Services.
    pub fn build_with(
        mut objects: Objects,
        config: Config,
        tweaks: &Tweaks,
    ) -> Result<Cluster, Errors> {
        for w in &mut objects.workloads {
            if let Some(r) = tweaks.replicas.get(&w.meta.id.to_string()) {
                w.replicas = *r;
            }
        }
        for s in &mut objects.services {
            if let Some(a) = tweaks.affinity.get(&s.meta.id.to_string()) {
                s.affinity_timeout = *a;
            }
        }
        let mut b = Builder {
            config,
            diags: Vec::new(),
        };
        if let Some(msg) = b.config.follow_input_families(&objects) {
            b.diags.push(Diagnostic::warning(Kind::Note, None, msg));
        }
        if let Err(msg) = b.config.validate() {
            return Err(Errors(alloc::vec![Diagnostic::error(
                Kind::Invalid,
                None,
                msg
            )]));
        }
        let Objects {
            services,
            pods,
            nodes,
            slices,
            workloads,
        } = objects;
        let nodes = b.nodes(nodes, &pods);
        let mut pods = b.unique_pods(pods);
        pods.retain(|p| {
            !tweaks
                .pods
                .get(&p.meta.id.to_string())
                .is_some_and(|t| t.deleted)
        });
        b.start_pods(&nodes, &mut pods);
        b.expand_workloads(&workloads, &nodes, &mut pods, tweaks);
        for p in &mut pods {
            if let Some(t) = tweaks.pods.get(&p.meta.id.to_string()) {
                if let Some(r) = t.ready {
                    p.ready = r;
                }
                p.meta.deleting |= t.terminating;
            }
        }
        pods.sort_by(|a, c| a.meta.id.cmp(&c.meta.id));
        let services = b.unique_services(services);
        for s in services.iter().filter(|s| proxy_ignores(s)) {
            b.diags.push(Diagnostic::warning(
                Kind::Note,
                Some(s.meta.loc.clone()),
                format!(
                    "Service \"{}\": labelled {label}: kube-proxy does not watch it (its informers select !{label}): no virtual servers",
                    s.meta.id,
                    label = UNWATCHED_LABELS
                        .into_iter()
                        .find(|l| s.meta.labels.contains_key(*l))
                        .unwrap_or_default()
                ),
            ));
        }
        let mut resolved = b.allocate(services);
        let index = PodIndex::new(&pods);
        let node_names: BTreeSet<&str> = nodes.iter().map(|n| n.meta.id.name.as_str()).collect();
        for svc in &mut resolved {
            svc.backends = if svc.service.kind == ServiceType::ExternalName {
                Vec::new()
            } else if let Some(selector) = &svc.service.selector {
                let selected = index.select(&svc.service.meta.id.namespace, selector);
                b.selector_warnings(svc, selector, &selected, &pods);
                let mut backends = derive_backends(svc, &selected, &pods, &node_names);
                // kube-proxy's EndpointSliceCache merges every slice labelled with the
                // Service's name, the controller's and user-made ones alike.
                backends.extend(slice_backends(svc, &slices));
                backends
            } else {
                slice_backends(svc, &slices)
            };
        }
        b.vips_on_pod_ips(&resolved, &pods);
        for s in &slices {
            let what = slice_kind(s);
            let owner = s.service.as_deref().and_then(|name| {
                resolved
                    .iter()
                    .find(|r| r.id().namespace == s.meta.id.namespace && r.id().name == name)
            });
            let msg = match owner {
                None => Some(format!(
                    "no Service {:?} in namespace {:?}: ignored",
                    s.service.as_deref().unwrap_or(""),
                    s.meta.id.namespace
                )),
                Some(r) if r.service.selector.is_some() && what == "Endpoints" => Some(format!(
                    "Service \"{}\" has a selector, so the EndpointSlice mirroring controller does not mirror it: ignored",
                    r.id()
                )),
                Some(r) if r.service.selector.is_some() && managed_by_controller(s) => {
                    Some(format!(
                        "Service \"{}\" has a selector, so its controller-managed slices are derived from Pods: ignored",
                        r.id()
                    ))
                }
                Some(r) if !r.service.headless => unwatched_label(s).map(|l| {
                    format!("labelled {l}: kube-proxy does not watch it (its informers select !{l}): ignored")
                }),
                Some(_) => None,
            };
            if let Some(msg) = msg {
                b.diags.push(Diagnostic::warning(
                    Kind::Note,
                    Some(s.meta.loc.clone()),
                    format!("{what} \"{}\": {msg}", s.meta.id),
                ));
            }
        }
        if b.diags.iter().any(Diagnostic::is_error) {
            return Err(Errors(b.diags));
        }
        Ok(Cluster {
            config: b.config,
            nodes,
            pods,
            services: resolved,
            warnings: b.diags,
        })
    }

    /// A node by name.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.meta.id.name == name)
    }

    /// A Service by namespace and name.
    pub fn service(&self, id: &ObjectRef) -> Option<&ResolvedService> {
        self.services
            .binary_search_by(|s| s.id().cmp(id))
            .ok()
            .map(|i| &self.services[i])
    }
}

struct Builder {
    config: Config,
    diags: Vec<Diagnostic>,
}

impl Builder {
    fn error(&mut self, kind: Kind, loc: Option<Loc>, msg: String) {
        self.diags.push(Diagnostic::error(kind, loc, msg));
    }

    /// Given Nodes (sorted, unique, with pod CIDRs), or synthesized ones: named after the
    /// Pods' `nodeName`s when Pods name nodes, else `node-1`, `node-2`, ….
    fn nodes(&mut self, given: Vec<Node>, pods: &[Pod]) -> Vec<Node> {
        let mut nodes: Vec<Node> = Vec::new();
        if given.is_empty() {
            let mut names: Vec<String> = pods
                .iter()
                .filter_map(|p| p.node_name.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if names.is_empty() {
                names = (1..=self.config.synthesized_nodes.max(1))
                    .map(|i| format!("node-{i}"))
                    .collect();
            }
            for (i, name) in names.into_iter().enumerate() {
                let mut labels = Labels::new();
                labels.insert("kubernetes.io/hostname".into(), name.clone());
                labels.insert("kubernetes.io/os".into(), "linux".into());
                nodes.push(Node {
                    meta: Meta {
                        id: ObjectRef::new("", name),
                        labels,
                        ..Meta::default()
                    },
                    addresses: alloc::vec![Config::synthesized_node_address(i as u32)],
                    pod_cidrs: Vec::new(),
                    synthesized: true,
                });
            }
        } else {
            for n in given {
                if let Some(prev) = nodes.iter().find(|o| o.meta.id.name == n.meta.id.name) {
                    let msg = format!(
                        "Node {:?}: already defined at {}",
                        n.meta.id.name, prev.meta.loc
                    );
                    self.error(Kind::Conflict, Some(n.meta.loc.clone()), msg);
                    continue;
                }
                nodes.push(n);
            }
        }
        nodes.sort_by(|a, b| a.meta.id.name.cmp(&b.meta.id.name));
        // Per-node pod ranges, as the node IPAM controller hands them out: /24 (IPv4) or /64
        // (IPv6) subnets of the cluster CIDR, skipping the ones Nodes already have.
        for cidr in self.config.pod_cidrs.clone() {
            let family = Family::of_net(&cidr);
            let sub_len = match cidr {
                IpNet::V4(_) => 24.max(cidr.prefix_len()),
                IpNet::V6(_) => 64.max(cidr.prefix_len()),
            };
            let taken: Vec<IpNet> = nodes
                .iter()
                .flat_map(|n| n.pod_cidrs.iter().copied())
                .collect();
            let Ok(mut subnets) = cidr.subnets(sub_len) else {
                continue;
            };
            for node in &mut nodes {
                if node.pod_cidrs.iter().any(|c| Family::of_net(c) == family) {
                    continue;
                }
                if let Some(next) = subnets
                    .by_ref()
                    .find(|s| !taken.iter().any(|t| t.contains(s) || s.contains(t)))
                {
                    node.pod_cidrs.push(next);
                }
            }
        }
        nodes
    }

    fn unique_pods(&mut self, pods: Vec<Pod>) -> Vec<Pod> {
        let mut seen: BTreeMap<ObjectRef, Loc> = BTreeMap::new();
        let mut out = Vec::with_capacity(pods.len());
        for p in pods {
            if let Some(prev) = seen.get(&p.meta.id) {
                let msg = format!("Pod \"{}\": already defined at {prev}", p.meta.id);
                self.error(Kind::Conflict, Some(p.meta.loc.clone()), msg);
                continue;
            }
            seen.insert(p.meta.id.clone(), p.meta.loc.clone());
            out.push(p);
        }
        out
    }

    fn unique_services(&mut self, mut services: Vec<Service>) -> Vec<Service> {
        services.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));
        let mut out: Vec<Service> = Vec::with_capacity(services.len());
        for s in services {
            if let Some(prev) = out.last().filter(|p| p.meta.id == s.meta.id) {
                let msg = format!(
                    "Service \"{}\": already defined at {}",
                    s.meta.id, prev.meta.loc
                );
                self.error(Kind::Conflict, Some(s.meta.loc.clone()), msg);
                continue;
            }
            out.push(s);
        }
        out
    }

    /// Pods written without a status, started as the scheduler and the kubelet would: on their
    /// `nodeName` (when that Node exists) or the least loaded Node, with the next free address of
    /// the Node's pod range, Running and Ready. A Pod bound to a Node that does not exist stays
    /// Pending without an address.
    fn start_pods(&mut self, nodes: &[Node], pods: &mut [Pod]) {
        let (mut used_ips, mut per_node) = placement(nodes, pods);
        let all: Vec<&Node> = nodes.iter().collect();
        for p in pods.iter_mut().filter(|p| !p.status_given) {
            let node = match &p.node_name {
                Some(n) => match nodes.iter().find(|x| x.meta.id.name == *n) {
                    Some(node) => node,
                    None => continue,
                },
                None => {
                    if all.is_empty() {
                        continue;
                    }
                    let node = least_loaded(&all, &per_node);
                    if let Some(c) = per_node.get_mut(&node.meta.id.name) {
                        *c += 1;
                    }
                    node
                }
            };
            p.node_name = Some(node.meta.id.name.clone());
            if p.host_network {
                p.ips = host_ips(node);
            } else {
                for cidr in &node.pod_cidrs {
                    if let Some(ip) = next_free(cidr, &used_ips) {
                        used_ips.insert(ip);
                        p.ips.push(ip);
                    }
                }
            }
            p.phase = PodPhase::Running;
            p.ready = true;
        }
    }

    /// Pods for workloads whose Pods are not in the input (no given Pod in the namespace
    /// matches the selector), as the controllers and the scheduler would make them.
    fn expand_workloads(
        &mut self,
        workloads: &[Workload],
        nodes: &[Node],
        pods: &mut Vec<Pod>,
        tweaks: &Tweaks,
    ) {
        let mut order: Vec<&Workload> = workloads.iter().collect();
        order.sort_by(|a, b| (a.kind, &a.meta.id).cmp(&(b.kind, &b.meta.id)));
        let deployments: BTreeSet<&ObjectRef> = workloads
            .iter()
            .filter(|w| w.kind == WorkloadKind::Deployment)
            .map(|w| &w.meta.id)
            .collect();
        let (mut used_ips, mut per_node) = placement(nodes, pods);
        let given = pods.len();
        for w in order {
            if w.kind == WorkloadKind::ReplicaSet
                && let Some((kind, name)) = &w.meta.controller
            {
                let owner = ObjectRef::new(w.meta.id.namespace.clone(), name.clone());
                if kind == "Deployment" && deployments.contains(&owner) {
                    continue;
                }
            }
            let present = pods[..given].iter().any(|p| {
                p.meta.id.namespace == w.meta.id.namespace && w.selector.matches(&p.meta.labels)
            });
            if present {
                continue;
            }
            let eligible: Vec<&Node> = nodes
                .iter()
                .filter(|n| {
                    w.node_selector
                        .iter()
                        .all(|(k, v)| n.meta.labels.get(k) == Some(v))
                })
                .collect();
            if eligible.is_empty() {
                self.diags.push(Diagnostic::warning(
                    Kind::Note,
                    Some(w.meta.loc.clone()),
                    format!(
                        "{} \"{}\": no Node matches its nodeSelector: its Pods stay Pending",
                        w.kind.as_str(),
                        w.meta.id
                    ),
                ));
                continue;
            }
            let count = if w.kind == WorkloadKind::DaemonSet {
                eligible.len()
            } else {
                w.replicas as usize
            };
            let hash = safe_encode(w.template_hash);
            let mut rng = ChaCha8Rng::seed_from_u64(
                self.config.seed ^ fnv64(format!("{}/{}", w.kind.as_str(), w.meta.id).as_bytes()),
            );
            let mut made = 0usize;
            // Bounded: a deleted Pod's name is skipped and the controller makes another; there
            // are at most as many deleted names as tweaks.
            for i in 0..count + tweaks.pods.len() {
                if made == count {
                    break;
                }
                let mut labels = w.template_labels.clone();
                let name = match w.kind {
                    WorkloadKind::Deployment => {
                        labels.insert("pod-template-hash".into(), hash.clone());
                        format!("{}-{}-{}", w.meta.id.name, hash, random_suffix(&mut rng))
                    }
                    WorkloadKind::StatefulSet => {
                        let name = format!("{}-{i}", w.meta.id.name);
                        labels.insert("statefulset.kubernetes.io/pod-name".into(), name.clone());
                        labels.insert("apps.kubernetes.io/pod-index".into(), i.to_string());
                        name
                    }
                    WorkloadKind::ReplicaSet | WorkloadKind::DaemonSet => {
                        format!("{}-{}", w.meta.id.name, random_suffix(&mut rng))
                    }
                };
                let deleted = tweaks
                    .pods
                    .get(&format!("{}/{name}", w.meta.id.namespace))
                    .is_some_and(|t| t.deleted);
                if deleted && w.kind != WorkloadKind::StatefulSet {
                    continue;
                }
                let ordinal = made;
                made += 1;
                let node = if w.kind == WorkloadKind::DaemonSet {
                    eligible[ordinal]
                } else {
                    least_loaded(&eligible, &per_node)
                };
                if let Some(c) = per_node.get_mut(&node.meta.id.name) {
                    *c += 1;
                }
                let mut ips = Vec::new();
                if w.host_network {
                    ips = host_ips(node);
                } else {
                    for cidr in &node.pod_cidrs {
                        if let Some(ip) = next_free(cidr, &used_ips) {
                            used_ips.insert(ip);
                            ips.push(ip);
                        }
                    }
                }
                if ips.is_empty() {
                    let msg = format!(
                        "{} \"{}\": no free Pod address on Node {:?}: Pod {name} gets no IP",
                        w.kind.as_str(),
                        w.meta.id,
                        node.meta.id.name
                    );
                    self.diags.push(Diagnostic::warning(
                        Kind::Note,
                        Some(w.meta.loc.clone()),
                        msg,
                    ));
                }
                let (hostname, subdomain) = match w.kind {
                    WorkloadKind::StatefulSet => (Some(name.clone()), w.service_name.clone()),
                    _ => (w.hostname.clone(), w.subdomain.clone()),
                };
                pods.push(Pod {
                    meta: Meta {
                        id: ObjectRef::new(w.meta.id.namespace.clone(), name),
                        labels,
                        deleting: false,
                        controller: Some((w.kind.as_str().into(), w.meta.id.name.clone())),
                        loc: w.meta.loc.clone(),
                    },
                    node_name: Some(node.meta.id.name.clone()),
                    hostname,
                    subdomain,
                    ports: w.ports.clone(),
                    phase: PodPhase::Running,
                    ips,
                    ready: true,
                    synthesized: true,
                    host_network: w.host_network,
                    status_given: true,
                });
            }
        }
    }

    /// IP families, ClusterIPs, NodePorts and health-check ports, as the API server's
    /// allocators would give them.
    fn allocate(&mut self, services: Vec<Service>) -> Vec<ResolvedService> {
        let mut out: Vec<ResolvedService> = Vec::with_capacity(services.len());
        let cluster_families = self.config.families();
        // Families first.
        for s in services {
            let families = self.families(&s, &cluster_families);
            let n = s.ports.len();
            out.push(ResolvedService {
                service: s,
                families: families.unwrap_or_default(),
                cluster_ips: Vec::new(),
                node_ports: alloc::vec![None; n],
                health_check_node_port: None,
                backends: Vec::new(),
            });
        }

        // ClusterIPs: static ones first (they may sit in the lower band), then dynamic ones.
        let mut ip_alloc: Vec<IpAllocator> = self
            .config
            .service_cidrs
            .iter()
            .enumerate()
            .map(|(i, c)| IpAllocator::new(*c, i == 0))
            .collect();
        for r in &mut out {
            let s = &r.service;
            for (i, ip) in s.cluster_ips.iter().enumerate() {
                let path = if s.cluster_ips.len() > 1 || i > 0 {
                    format!("spec.clusterIPs[{i}]")
                } else {
                    "spec.clusterIP".into()
                };
                let fam = Family::of(ip);
                let Some(a) = ip_alloc.iter_mut().find(|a| a.family == fam) else {
                    let msg = format!(
                        "Service \"{}\": {path}: Invalid value: \"{ip}\": {} is not configured on this cluster",
                        s.meta.id,
                        fam.as_str()
                    );
                    self.diags.push(Diagnostic::error(
                        Kind::Invalid,
                        s.cluster_ip_loc.clone(),
                        msg,
                    ));
                    continue;
                };
                match a.allocate_static(*ip, &s.meta.id, s.cluster_ip_loc.as_ref()) {
                    Ok(()) => {}
                    Err(reason) => {
                        let msg = format!(
                            "Service \"{}\": {path}: Invalid value: \"{ip}\": failed to allocate IP {ip}: {reason}",
                            s.meta.id
                        );
                        let kind = if reason.contains("already allocated") {
                            Kind::Conflict
                        } else {
                            Kind::Invalid
                        };
                        self.diags
                            .push(Diagnostic::error(kind, s.cluster_ip_loc.clone(), msg));
                    }
                }
            }
        }
        for r in &mut out {
            if r.service.headless || r.service.kind == ServiceType::ExternalName {
                continue;
            }
            for fam in r.families.clone() {
                if let Some(ip) = r
                    .service
                    .cluster_ips
                    .iter()
                    .find(|ip| Family::of(ip) == fam)
                {
                    r.cluster_ips.push(*ip);
                    continue;
                }
                let Some(a) = ip_alloc.iter_mut().find(|a| a.family == fam) else {
                    continue;
                };
                match a.allocate_dynamic(self.config.seed, &r.service.meta.id) {
                    Some(ip) => r.cluster_ips.push(ip),
                    None => {
                        let msg = format!(
                            "Service \"{}\": spec.clusterIPs: Internal error: failed to allocate a serviceIP: range is full",
                            r.service.meta.id
                        );
                        self.diags.push(Diagnostic::error(
                            Kind::Conflict,
                            Some(r.service.meta.loc.clone()),
                            msg,
                        ));
                    }
                }
            }
        }

        // NodePorts: static first, then dynamic (same port number across protocols shares one).
        let (lo, hi) = self.config.node_port_range;
        let mut ports = PortAllocator::new(lo, hi);
        for r in &mut out {
            let s = &r.service;
            for (i, p) in s.ports.iter().enumerate() {
                // A written nodePort is kept even with allocateLoadBalancerNodePorts: false
                // ("respect specific requests", alloc.go initNodePorts).
                let Some(np) = p.node_port else { continue };
                let shared = s.ports[..i]
                    .iter()
                    .any(|o| o.node_port == Some(np) && o.protocol != p.protocol);
                if !shared
                    && let Err(reason) =
                        ports.allocate_static(np, &s.meta.id, p.node_port_loc.as_ref())
                {
                    let msg = format!(
                        "Service \"{}\": spec.ports[{i}].nodePort: Invalid value: {np}: {reason}",
                        s.meta.id
                    );
                    let kind = if reason.contains("already allocated") {
                        Kind::Conflict
                    } else {
                        Kind::Invalid
                    };
                    self.diags
                        .push(Diagnostic::error(kind, p.node_port_loc.clone(), msg));
                    continue;
                }
                r.node_ports[i] = Some(np);
            }
            if let Some(hc) = s.health_check_node_port {
                if let Err(reason) = ports.allocate_static(hc, &s.meta.id, None) {
                    let msg = format!(
                        "Service \"{}\": spec.healthCheckNodePort: Invalid value: {hc}: {reason}",
                        s.meta.id
                    );
                    self.diags.push(Diagnostic::error(
                        Kind::Conflict,
                        Some(s.meta.loc.clone()),
                        msg,
                    ));
                } else {
                    r.health_check_node_port = Some(hc);
                }
            }
        }
        for r in &mut out {
            if !r.service.wants_node_ports() {
                continue;
            }
            for i in 0..r.service.ports.len() {
                if r.node_ports[i].is_some() {
                    continue;
                }
                let port = r.service.ports[i].port;
                let sibling = (0..r.service.ports.len())
                    .find(|&j| {
                        j != i && r.service.ports[j].port == port && r.node_ports[j].is_some()
                    })
                    .and_then(|j| r.node_ports[j]);
                let got = sibling.or_else(|| {
                    ports.allocate_dynamic(self.config.seed, &r.service.meta.id, i as u64)
                });
                match got {
                    Some(np) => r.node_ports[i] = Some(np),
                    None => {
                        let msg = format!(
                            "Service \"{}\": spec.ports[{i}].nodePort: Internal error: failed to allocate a nodePort: range is full",
                            r.service.meta.id
                        );
                        self.diags.push(Diagnostic::error(
                            Kind::Conflict,
                            Some(r.service.meta.loc.clone()),
                            msg,
                        ));
                    }
                }
            }
            let needs_hc = r.service.kind == ServiceType::LoadBalancer
                && r.service.external_traffic_policy == TrafficPolicy::Local;
            if needs_hc && r.health_check_node_port.is_none() {
                r.health_check_node_port =
                    ports.allocate_dynamic(self.config.seed, &r.service.meta.id, u64::MAX);
            }
        }
        out
    }

    /// kube-proxy binds every externalIP and load-balancer VIP that is not one of the node's
    /// own addresses (`shouldBind`) on kube-ipvs0, a Pod's address included: svcroute does the
    /// same and says what it means.
    fn vips_on_pod_ips(&mut self, services: &[ResolvedService], pods: &[Pod]) {
        let by_ip: BTreeMap<IpAddr, &ObjectRef> = pods
            .iter()
            .filter(|p| !p.host_network)
            .flat_map(|p| p.ips.iter().map(move |ip| (*ip, &p.meta.id)))
            .collect();
        for r in services {
            let s = &r.service;
            let vips = s.external_ips.iter().map(|ip| ("externalIP", *ip)).chain(
                s.lb_ingress
                    .iter()
                    .filter(|i| !i.proxy_mode)
                    .map(|i| ("load balancer VIP", i.ip)),
            );
            for (what, ip) in vips {
                if let Some(pod) = by_ip.get(&ip) {
                    self.diags.push(Diagnostic::warning(
                        Kind::Note,
                        Some(s.meta.loc.clone()),
                        format!(
                            "Service \"{}\": {what} {ip} is the address of Pod \"{pod}\": kube-proxy binds it on kube-ipvs0 of every node, which then delivers traffic for that Pod locally",
                            s.meta.id
                        ),
                    ));
                }
            }
        }
    }

    /// Warnings for a Service whose selector matches no Pod, or whose named `targetPort` is
    /// no container port of a selected Pod (that Pod is then no endpoint for that port).
    fn selector_warnings(
        &mut self,
        svc: &ResolvedService,
        selector: &Labels,
        selected: &[usize],
        pods: &[Pod],
    ) {
        let s = &svc.service;
        if selected.is_empty() {
            let shown: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
            self.diags.push(Diagnostic::warning(
                Kind::Note,
                Some(s.meta.loc.clone()),
                format!(
                    "Service \"{}\": selector {} matches no Pod in namespace {:?}: no endpoints",
                    s.meta.id,
                    shown.join(","),
                    s.meta.id.namespace
                ),
            ));
            return;
        }
        for (i, p) in s.ports.iter().enumerate() {
            let TargetPort::Name(name) = &p.target_port else {
                continue;
            };
            let missing: Vec<&Pod> = selected
                .iter()
                .map(|&j| &pods[j])
                .filter(|pod| {
                    !pod.ports
                        .iter()
                        .any(|c| c.name == *name && c.protocol == p.protocol)
                })
                .collect();
            if let Some(first) = missing.first() {
                let more = match missing.len() {
                    1 => String::new(),
                    n => format!(" and {} more", n - 1),
                };
                self.diags.push(Diagnostic::warning(
                    Kind::Note,
                    Some(s.meta.loc.clone()),
                    format!(
                        "Service \"{}\": spec.ports[{i}].targetPort {name:?} names no {} container port of Pod \"{}\"{more}: not an endpoint of that port",
                        s.meta.id,
                        p.protocol,
                        first.meta.id
                    ),
                ));
            }
        }
    }

    /// `spec.ipFamilies` after the API server's defaulting, or an error.
    fn families(&mut self, s: &Service, cluster: &[Family]) -> Option<Vec<Family>> {
        if s.kind == ServiceType::ExternalName {
            return Some(Vec::new());
        }
        let dual_capable = cluster.len() > 1;
        let policy = s.ip_family_policy.unwrap_or(IpFamilyPolicy::SingleStack);
        let mut fams: Vec<Family> = if !s.cluster_ips.is_empty() {
            s.cluster_ips.iter().map(Family::of).collect()
        } else {
            s.ip_families.clone()
        };
        let loc = s
            .cluster_ip_loc
            .clone()
            .or_else(|| Some(s.meta.loc.clone()));
        for (i, f) in fams.iter().enumerate() {
            if !cluster.contains(f) {
                let msg = format!(
                    "Service \"{}\": spec.ipFamilies[{i}]: Invalid value: \"{}\": not configured on this cluster",
                    s.meta.id,
                    f.as_str()
                );
                self.diags
                    .push(Diagnostic::error(Kind::Invalid, loc.clone(), msg));
                return None;
            }
        }
        if policy == IpFamilyPolicy::RequireDualStack && !dual_capable {
            let msg = format!(
                "Service \"{}\": spec.ipFamilyPolicy: Invalid value: \"RequireDualStack\": this cluster is not configured for dual-stack services",
                s.meta.id
            );
            let at = s.ip_family_policy_loc.clone().or(loc);
            self.diags.push(Diagnostic::error(Kind::Invalid, at, msg));
            return None;
        }
        if fams.is_empty() {
            fams.push(cluster[0]);
        }
        if policy != IpFamilyPolicy::SingleStack
            && dual_capable
            && fams.len() == 1
            && let Some(other) = cluster.iter().find(|f| **f != fams[0])
        {
            fams.push(*other);
        }
        Some(fams)
    }
}

/// The offset of the static band (KEP-3070 for IPs, KEP-3668 for ports):
/// `clamp(size / step, min, max)`, 0 for ranges smaller than `min`.
fn band_offset(size: u128, min: u128, max: u128, step: u128) -> u128 {
    if size < min {
        return 0;
    }
    (size / step).clamp(min, max)
}

/// The ClusterIP allocator of one family: a bitmap over the range without its network (and,
/// for IPv4, broadcast) address. Dynamic allocation prefers the upper band; the first address
/// is kept for the `kubernetes` Service.
struct IpAllocator {
    family: Family,
    net: IpNet,
    /// Usable addresses: first is `net.network() + 1`.
    size: u128,
    taken: BTreeMap<u128, (ObjectRef, Option<Loc>)>,
}

impl IpAllocator {
    /// `primary`: the range of the cluster's primary family, whose first address the API
    /// server gives its own single-stack `default/kubernetes` Service.
    fn new(net: IpNet, primary: bool) -> Self {
        let host_bits = u32::from(net.max_prefix_len() - net.prefix_len());
        let total: u128 = if host_bits >= 128 {
            u128::MAX
        } else {
            1u128 << host_bits
        };
        let size = match net {
            IpNet::V4(_) => total.saturating_sub(2),
            // IPv6 ranges are capped like the API server's bitmap (at most 2^16 for a /112).
            IpNet::V6(_) => total.saturating_sub(1).min(1 << 20),
        };
        // The API server's own `default/kubernetes` Service holds the first address.
        let mut taken = BTreeMap::new();
        if primary && size > 0 {
            taken.insert(0, (kubernetes_service(), None));
        }
        IpAllocator {
            family: Family::of_net(&net),
            net,
            size,
            taken,
        }
    }

    fn base(&self) -> u128 {
        ip_to_u128(&self.net.network())
    }

    fn index_of(&self, ip: IpAddr) -> Option<u128> {
        if !self.net.contains(&ip) {
            return None;
        }
        let off = ip_to_u128(&ip).checked_sub(self.base())?;
        (off >= 1 && off <= self.size).then(|| off - 1)
    }

    fn allocate_static(
        &mut self,
        ip: IpAddr,
        owner: &ObjectRef,
        loc: Option<&Loc>,
    ) -> Result<(), String> {
        let Some(idx) = self.index_of(ip) else {
            return Err(format!(
                "provided IP is not in the valid range. The range of valid IPs is {}",
                self.net
            ));
        };
        if let Some((other, other_loc)) = self.taken.get(&idx) {
            if idx == 0 && other == owner {
                return Ok(());
            }
            let at = match other_loc {
                Some(l) => format!(" at {l}"),
                None if idx == 0 => {
                    ", which the API server creates at the range's first address".into()
                }
                None => String::new(),
            };
            return Err(format!(
                "provided IP is already allocated (to Service \"{other}\"{at})"
            ));
        }
        self.taken.insert(idx, (owner.clone(), loc.cloned()));
        Ok(())
    }

    fn allocate_dynamic(&mut self, seed: u64, owner: &ObjectRef) -> Option<IpAddr> {
        // `default/kubernetes` gets the first address of the range.
        if *owner == kubernetes_service() && self.taken.get(&0).is_some_and(|(o, _)| o == owner) {
            return Some(u128_to_ip(self.family, self.base() + 1));
        }
        let offset = band_offset(self.size, 16, 256, 16);
        let mut rng =
            ChaCha8Rng::seed_from_u64(seed ^ fnv64(format!("clusterip/{owner}").as_bytes()));
        let start = u128::from(rng.next_u64());
        // The upper band first, then the lower band; index 0 is the `kubernetes` Service's.
        let bands = [(offset.max(1), self.size), (1, offset.max(1))];
        for (lo, hi) in bands {
            if lo >= hi {
                continue;
            }
            let span = hi - lo;
            let first = lo + start % span;
            // Probe forward from a seeded start. Bounded by the band's size.
            let mut idx = first;
            for _ in 0..span.min(1 << 22) {
                if let alloc::collections::btree_map::Entry::Vacant(e) = self.taken.entry(idx) {
                    e.insert((owner.clone(), None));
                    return Some(u128_to_ip(self.family, self.base() + 1 + idx));
                }
                idx = if idx + 1 >= hi { lo } else { idx + 1 };
            }
        }
        None
    }
}

struct PortAllocator {
    lo: u16,
    hi: u16,
    taken: BTreeMap<u16, (ObjectRef, Option<Loc>)>,
}

impl PortAllocator {
    fn new(lo: u16, hi: u16) -> Self {
        PortAllocator {
            lo,
            hi,
            taken: BTreeMap::new(),
        }
    }

    fn allocate_static(
        &mut self,
        port: u16,
        owner: &ObjectRef,
        loc: Option<&Loc>,
    ) -> Result<(), String> {
        if port < self.lo || port > self.hi {
            return Err(format!(
                "provided port is not in the valid range. The range of valid ports is {}-{}",
                self.lo, self.hi
            ));
        }
        if let Some((other, other_loc)) = self.taken.get(&port) {
            if other == owner {
                return Ok(());
            }
            let at = other_loc
                .as_ref()
                .map(|l| format!(" at {l}"))
                .unwrap_or_default();
            return Err(format!(
                "provided port is already allocated (to Service \"{other}\"{at})"
            ));
        }
        self.taken.insert(port, (owner.clone(), loc.cloned()));
        Ok(())
    }

    fn allocate_dynamic(&mut self, seed: u64, owner: &ObjectRef, salt: u64) -> Option<u16> {
        let size = u128::from(self.hi - self.lo) + 1;
        let offset = band_offset(size, 16, 128, 32);
        let mut rng = ChaCha8Rng::seed_from_u64(
            seed ^ fnv64(format!("nodeport/{owner}").as_bytes()) ^ salt.rotate_left(17),
        );
        let start = u128::from(rng.next_u64());
        for (lo, hi) in [(offset, size), (0, offset)] {
            if lo >= hi {
                continue;
            }
            let span = hi - lo;
            let mut idx = lo + start % span;
            for _ in 0..span {
                let port = self.lo + idx as u16;
                if let alloc::collections::btree_map::Entry::Vacant(e) = self.taken.entry(port) {
                    e.insert((owner.clone(), None));
                    return Some(port);
                }
                idx = if idx + 1 >= hi { lo } else { idx + 1 };
            }
        }
        None
    }
}

/// Pods indexed by (namespace, label key, label value).
struct PodIndex<'a> {
    by_label: BTreeMap<(&'a str, &'a str, &'a str), Vec<usize>>,
}

impl<'a> PodIndex<'a> {
    fn new(pods: &'a [Pod]) -> Self {
        let mut by_label: BTreeMap<(&str, &str, &str), Vec<usize>> = BTreeMap::new();
        for (i, p) in pods.iter().enumerate() {
            for (k, v) in &p.meta.labels {
                by_label
                    .entry((p.meta.id.namespace.as_str(), k.as_str(), v.as_str()))
                    .or_default()
                    .push(i);
            }
        }
        PodIndex { by_label }
    }

    /// Pods of `namespace` that carry every label of `selector` (a Service's map selector).
    fn select(&self, namespace: &str, selector: &Labels) -> Vec<usize> {
        let mut lists: Vec<&Vec<usize>> = Vec::new();
        for (k, v) in selector {
            match self.by_label.get(&(namespace, k.as_str(), v.as_str())) {
                Some(l) => lists.push(l),
                None => return Vec::new(),
            }
        }
        lists.sort_by_key(|l| l.len());
        let Some((first, rest)) = lists.split_first() else {
            return Vec::new();
        };
        first
            .iter()
            .copied()
            .filter(|i| rest.iter().all(|l| l.binary_search(i).is_ok()))
            .collect()
    }
}

/// The EndpointSlice controller's endpoints for a Service with a selector.
fn derive_backends(
    svc: &ResolvedService,
    selected: &[usize],
    pods: &[Pod],
    known_nodes: &BTreeSet<&str>,
) -> Vec<Backend> {
    let s = &svc.service;
    let mut out = Vec::new();
    for &i in selected {
        let pod = &pods[i];
        // ShouldPodBeInEndpoints: an IP, and not in a terminal phase.
        if matches!(pod.phase, PodPhase::Succeeded | PodPhase::Failed) {
            continue;
        }
        // The EndpointSlice reconciler looks the Pod's Node up; when it does not exist (or the
        // Pod names none) the Pod is left out, unless publishNotReadyAddresses asks for it.
        let node_known = pod
            .node_name
            .as_deref()
            .is_some_and(|n| known_nodes.contains(n));
        if !node_known && !s.publish_not_ready {
            continue;
        }
        let serving = pod.ready;
        let terminating = pod.meta.deleting;
        let conditions = Conditions {
            ready: Some(s.publish_not_ready || (serving && !terminating)),
            serving: Some(serving),
            terminating: Some(terminating),
        };
        let hostname = match (&pod.hostname, &pod.subdomain) {
            (Some(h), Some(sub)) if *sub == s.meta.id.name => Some(h.clone()),
            _ => None,
        };
        let ports: Vec<Option<u16>> = s
            .ports
            .iter()
            .map(|p| match &p.target_port {
                TargetPort::Number(n) => Some(*n),
                TargetPort::Name(name) => pod
                    .ports
                    .iter()
                    .find(|c| c.name == *name && c.protocol == p.protocol)
                    .map(|c| c.port),
            })
            .collect();
        let slice_ports: Vec<EndpointPort> = s
            .ports
            .iter()
            .zip(&ports)
            .filter_map(|(p, resolved)| {
                Some(EndpointPort {
                    name: p.name.clone(),
                    protocol: p.protocol,
                    port: (*resolved)?,
                })
            })
            .collect();
        for ip in &pod.ips {
            if !svc.families.contains(&Family::of(ip)) {
                continue;
            }
            out.push(Backend {
                address: *ip,
                ports: ports.clone(),
                conditions,
                node: pod.node_name.clone(),
                pod: Some(pod.meta.id.clone()),
                hostname: hostname.clone(),
                slice_ports: slice_ports.clone(),
            });
        }
    }
    out.sort_by_key(|a| a.address);
    out
}

/// The labels kube-proxy's informers exclude (`!service.kubernetes.io/service-proxy-name`,
/// `!service.kubernetes.io/headless`), when the object carries one.
pub(crate) fn unwatched_label(s: &EndpointSlice) -> Option<&'static str> {
    UNWATCHED_LABELS
        .into_iter()
        .find(|l| s.meta.labels.contains_key(*l))
}

/// `endpointslice.kubernetes.io/managed-by`.
pub const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
/// The EndpointSlice mirroring controller's name in `managed-by`.
pub const MIRRORING_CONTROLLER: &str = "endpointslicemirroring-controller.k8s.io";

/// Labels that hide a Service or an EndpointSlice from kube-proxy.
pub const UNWATCHED_LABELS: [&str; 2] = [
    "service.kubernetes.io/service-proxy-name",
    "service.kubernetes.io/headless",
];

/// Whether kube-proxy ignores this Service (its informer's label selector excludes it).
pub fn proxy_ignores(s: &Service) -> bool {
    UNWATCHED_LABELS
        .iter()
        .any(|l| s.meta.labels.contains_key(*l))
}

/// `Endpoints` for slices mirrored from a legacy Endpoints object, `EndpointSlice` otherwise.
fn slice_kind(s: &EndpointSlice) -> &'static str {
    let mirrored = s.meta.labels.get(MANAGED_BY) == Some(&String::from(MIRRORING_CONTROLLER));
    if mirrored {
        "Endpoints"
    } else {
        "EndpointSlice"
    }
}

/// Whether the EndpointSlice controller manages the slice (its endpoints are derived here).
fn managed_by_controller(s: &EndpointSlice) -> bool {
    s.meta
        .labels
        .get(MANAGED_BY)
        .is_some_and(|m| m == "endpointslice-controller.k8s.io")
}

/// Endpoints from a Service's EndpointSlices (all of them for a Service without a selector;
/// for one with a selector the user-made ones, since the controller's are derived from Pods):
/// ports matched by name and protocol, and an endpoint that appears in several slices with the
/// same ports kept once, the first seen (kube-proxy's `endpointslicecache.go` deduplicates by
/// `ip:port`). The same address with other ports is another endpoint. Slices kube-proxy does
/// not watch are left out unless the Service is headless (CoreDNS still reads them).
fn slice_backends(svc: &ResolvedService, slices: &[EndpointSlice]) -> Vec<Backend> {
    let s = &svc.service;
    type Key = (IpAddr, Vec<Option<u16>>, Vec<(String, Protocol, u16)>);
    let mut by_addr: BTreeMap<Key, Backend> = BTreeMap::new();
    for slice in slices {
        if slice.meta.id.namespace != s.meta.id.namespace
            || slice.service.as_deref() != Some(s.meta.id.name.as_str())
        {
            continue;
        }
        if s.selector.is_some()
            && (managed_by_controller(slice) || slice_kind(slice) == "Endpoints")
        {
            continue;
        }
        if !s.headless && unwatched_label(slice).is_some() {
            continue;
        }
        let Some(fam) = slice.family else { continue };
        if !svc.families.contains(&fam) && !s.headless {
            continue;
        }
        let ports: Vec<Option<u16>> = s
            .ports
            .iter()
            .map(|p| {
                slice
                    .ports
                    .iter()
                    .find(|e| e.name == p.name && e.protocol == p.protocol)
                    .map(|e| e.port)
            })
            .collect();
        for ep in &slice.endpoints {
            let Some(addr) = ep.addresses.first() else {
                continue;
            };
            let b = Backend {
                address: *addr,
                ports: ports.clone(),
                conditions: ep.conditions,
                node: ep.node_name.clone(),
                pod: ep.pod.clone(),
                hostname: ep.hostname.clone(),
                slice_ports: slice.ports.clone(),
            };
            // A headless Service's DNS reads the slices' own ports; proxying reads the
            // Service's, so for it the slice ports do not make another endpoint.
            let dns_key = if s.headless {
                slice
                    .ports
                    .iter()
                    .map(|p| (p.name.clone(), p.protocol, p.port))
                    .collect()
            } else {
                Vec::new()
            };
            by_addr.entry((*addr, ports.clone(), dns_key)).or_insert(b);
        }
    }
    by_addr.into_values().collect()
}

/// What the kubelet reports as a `hostNetwork` Pod's IPs: the Node's addresses, the first
/// of each family (`GetNodeHostIPs`: InternalIPs before ExternalIPs, as the Node lists them).
fn host_ips(node: &Node) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    for ip in &node.addresses {
        if !out.iter().any(|o| Family::of(o) == Family::of(ip)) {
            out.push(*ip);
        }
    }
    out
}

/// The addresses Pods already use, and how many Pods each Node runs.
fn placement(nodes: &[Node], pods: &[Pod]) -> (BTreeSet<IpAddr>, BTreeMap<String, usize>) {
    let used: BTreeSet<IpAddr> = pods.iter().flat_map(|p| p.ips.iter().copied()).collect();
    let mut per_node: BTreeMap<String, usize> =
        nodes.iter().map(|n| (n.meta.id.name.clone(), 0)).collect();
    for p in pods {
        if let Some(count) = p.node_name.as_ref().and_then(|n| per_node.get_mut(n)) {
            *count += 1;
        }
    }
    (used, per_node)
}

/// The scheduler's spreading, simplified: the Node with the fewest Pods, ties broken by name
/// (`nodes` is sorted by name and not empty).
fn least_loaded<'n>(nodes: &[&'n Node], per_node: &BTreeMap<String, usize>) -> &'n Node {
    let load = |n: &Node| per_node.get(&n.meta.id.name).copied().unwrap_or(0);
    let mut best = nodes[0];
    for n in nodes {
        if load(n) < load(best) {
            best = n;
        }
    }
    best
}

fn next_free(cidr: &IpNet, used: &BTreeSet<IpAddr>) -> Option<IpAddr> {
    // The first host address is the bridge's gateway (as flannel and the bridge CNI use it);
    // IPv4's `hosts()` already leaves out the network address, IPv6's does not.
    let skip = match cidr {
        IpNet::V4(_) => 1,
        IpNet::V6(_) => 2,
    };
    cidr.hosts()
        .skip(skip)
        .take(1 << 20)
        .find(|ip| !used.contains(ip))
}

/// The Service the API server makes for itself.
fn kubernetes_service() -> ObjectRef {
    ObjectRef::new("default", "kubernetes")
}

/// FNV-1a, 64 bits: a stable, seedless hash to derive per-object seeds.
pub(crate) fn fnv64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// apimachinery's alphabet for generated names: no vowels, no confusable characters.
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `rand.String(5)`: the suffix of a generated Pod name.
fn random_suffix(rng: &mut ChaCha8Rng) -> String {
    (0..5)
        .map(|_| ALPHANUMS[(rng.next_u32() as usize) % ALPHANUMS.len()] as char)
        .collect()
}

/// `rand.SafeEncodeString(fmt.Sprint(hash))`: how the controller spells `pod-template-hash`.
fn safe_encode(hash: u32) -> String {
    hash.to_string()
        .bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

fn ip_to_u128(ip: &IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(*v4)),
        IpAddr::V6(v6) => u128::from(*v6),
    }
}

fn u128_to_ip(family: Family, v: u128) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(core::net::Ipv4Addr::from(v as u32)),
        Family::V6 => IpAddr::V6(core::net::Ipv6Addr::from(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// KEP-3070: a /12 reserves 256 addresses for static allocation; KEP-3668: 30000-32767
    /// reserves 86 ports.
    #[test]
    fn band_offsets_match_the_keps() {
        assert_eq!(band_offset((1 << 20) - 2, 16, 256, 16), 256);
        assert_eq!(band_offset(2768, 16, 128, 32), 86);
        assert_eq!(band_offset(254, 16, 256, 16), 16);
        assert_eq!(band_offset(10, 16, 256, 16), 0);
    }

    #[test]
    fn safe_encode_uses_the_alphabet() {
        let s = safe_encode(1_234_567_890);
        assert_eq!(s.len(), 10);
        assert!(s.bytes().all(|b| ALPHANUMS.contains(&b)));
    }
}
