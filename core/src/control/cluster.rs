//! The cluster as the control plane would make it from the manifests: Nodes (given or made),
//! Pods of workloads that were not in the input, allocated ClusterIPs and NodePorts, and each
//! Service's endpoints as the EndpointSlice controller derives them.
//!
//! Everything here is deterministic: the same objects, config and seed give the same cluster.
//! Pods are indexed by label so a Service's endpoints are found without scanning every Pod.
//!
//! [`live::Live`] keeps a cluster up to date object by object and answers each change with the
//! dataplane operations it causes.

pub mod live;

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::net::IpAddr;

use ipnet::IpNet;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::config::Config;
use crate::diag::{Diagnostic, Errors, Kind, Loc, Msg};
use crate::labels::Labels;
use crate::model::*;
use crate::sort::CollectSorted as _;

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
    /// as the Service port): what CoreDNS builds a headless Service's SRV records from. Empty
    /// for a Service that is not headless, where nothing reads them (a list and a copy of each
    /// port's name for every endpoint of every Service, a fifth of a large build's allocations).
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
        objects: Objects,
        config: Config,
        tweaks: &Tweaks,
    ) -> Result<Cluster, Errors> {
        Cluster::build_keeping(objects, config, tweaks, None)
    }

    /// [`Cluster::build_with`], keeping what `previous` allocated and placed where it is still
    /// valid (ClusterIPs, NodePorts, the Nodes and addresses of Pods the control plane made), as
    /// the API server and the scheduler keep them across changes.
    pub fn build_keeping(
        objects: Objects,
        config: Config,
        tweaks: &Tweaks,
        previous: Option<&Cluster>,
    ) -> Result<Cluster, Errors> {
        Cluster::build_counting(objects, config, tweaks, previous).map(|(c, _)| c)
    }

    /// [`Cluster::build_keeping`], and how many of the cluster's warnings, last in the list,
    /// are [`derived_warnings`] (which the live cluster makes again at plan time).
    pub(crate) fn build_counting(
        mut objects: Objects,
        config: Config,
        tweaks: &Tweaks,
        previous: Option<&Cluster>,
    ) -> Result<(Cluster, usize), Errors> {
        // Each lookup formats a `namespace/name` key: skip them when there is nothing to find.
        if !tweaks.replicas.is_empty() {
            for w in &mut objects.workloads {
                if let Some(r) = tweaks.replicas.get(&w.meta.id.to_string()) {
                    w.replicas = *r;
                }
            }
        }
        if !tweaks.affinity.is_empty() {
            for s in &mut objects.services {
                if let Some(a) = tweaks.affinity.get(&s.meta.id.to_string()) {
                    s.affinity_timeout = *a;
                }
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
        let nodes = b.nodes(nodes, &pods, previous);
        // The Pods' order by namespace and name, found once: for the repeats here and for
        // the cluster's order at the end (`None`: the input is sorted already).
        let (mut pods, mut order) = b.unique_pods(pods);
        if !tweaks.pods.is_empty() {
            pods.retain(|p| {
                !tweaks
                    .pods
                    .get(&p.meta.id.to_string())
                    .is_some_and(|t| t.deleted)
            });
            order = id_order(&pods, |p| &p.meta.id);
        }
        let given = pods.len();
        b.start_pods(&nodes, &mut pods, previous);
        b.expand_workloads(&workloads, &nodes, &mut pods, tweaks, previous);
        for p in pods.iter_mut().filter(|_| !tweaks.pods.is_empty()) {
            if let Some(t) = tweaks.pods.get(&p.meta.id.to_string()) {
                if let Some(r) = t.ready {
                    p.ready = r;
                }
                p.meta.deleting |= t.terminating;
            }
        }
        if pods.len() > given {
            order = id_order(&pods, |p| &p.meta.id);
        }
        if let Some(mut order) = order {
            permute(&mut pods, &mut order);
        }
        let services = b.unique_services(services);
        for s in services.iter().filter(|s| proxy_ignores(s)) {
            let label = UNWATCHED_LABELS
                .into_iter()
                .find(|l| s.meta.labels.contains_key(*l))
                .unwrap_or_default();
            b.diags.push(Diagnostic::warning(
                Kind::Note,
                Some(s.meta.loc.clone()),
                crate::msg!(
                    "Service \"{}\": labelled {}: kube-proxy does not watch it (its informers select !{}): no virtual servers",
                    s.meta.id,
                    label,
                    label
                ),
            ));
        }
        let mut resolved = b.allocate(services, previous);
        let index = PodIndex::new(&pods);
        let known_node = |n: &str| node_named(&nodes, n).is_some();
        // Slices by (namespace, Service name), in input order within each: sorted indexes.
        let mut by_service: Vec<(&str, &str, u32)> = slices
            .iter()
            .enumerate()
            .filter_map(|(i, sl)| {
                let name = sl.service.as_deref()?;
                Some((sl.meta.id.namespace.as_str(), name, i as u32))
            })
            .collect();
        crate::sort::sort_unstable(&mut by_service);
        let (by_service, all_slices) = (&by_service, &slices);
        let slices_of = move |id: &ObjectRef| {
            let key = (id.namespace.as_str(), id.name.as_str());
            let lo = by_service.partition_point(|e| (e.0, e.1) < key);
            let n = by_service[lo..].partition_point(|e| (e.0, e.1) == key);
            by_service[lo..lo + n]
                .iter()
                .map(move |e| &all_slices[e.2 as usize])
        };
        // Each Service's selected Pods, kept for the warnings (one selection per Service).
        let mut selections: Vec<Option<Vec<usize>>> = Vec::with_capacity(resolved.len());
        for svc in &mut resolved {
            let mut selected = None;
            svc.backends = if svc.service.kind == ServiceType::ExternalName {
                Vec::new()
            } else if let Some(selector) = &svc.service.selector {
                let chosen =
                    selected.insert(index.select(&svc.service.meta.id.namespace, selector));
                let mut backends = derive_backends(svc, chosen, &pods, known_node);
                // kube-proxy's EndpointSliceCache merges every slice labelled with the
                // Service's name, the controller's and user-made ones alike.
                backends.extend(slice_backends(svc, &mut slices_of(svc.id())));
                backends
            } else {
                slice_backends(svc, &mut slices_of(svc.id()))
            };
            selections.push(selected);
        }
        drop(index);
        if b.diags.iter().any(Diagnostic::is_error) {
            return Err(Errors(b.diags));
        }
        let mut cluster = Cluster {
            config: b.config,
            nodes,
            pods,
            services: resolved,
            warnings: b.diags,
        };
        let derived = derived_warnings_of(&cluster, &slices, |i, _| selections[i].take());
        let count = derived.len();
        cluster.warnings.extend(derived);
        Ok((cluster, count))
    }

    /// One Service resolved against this cluster as the API server would admit it: families,
    /// ClusterIPs and NodePorts allocated around the other Services' (the Service keeps what it
    /// had here). Endpoints are left empty. Errors are what the API server would refuse.
    pub(crate) fn resolve_service(&self, service: Service) -> Result<ResolvedService, Errors> {
        let mut b = Builder {
            config: self.config.clone(),
            diags: Vec::new(),
        };
        let mut ips: Vec<IpAllocator> = self
            .config
            .service_cidrs
            .iter()
            .enumerate()
            .map(|(i, c)| IpAllocator::new(*c, i == 0))
            .collect();
        let (lo, hi) = self.config.node_port_range;
        let mut ports = PortAllocator::new(lo, hi);
        for other in self.services.iter().filter(|o| o.id() != &service.meta.id) {
            for ip in &other.cluster_ips {
                if let Some(a) = ips.iter_mut().find(|a| a.family == Family::of(ip)) {
                    let loc = other.service.cluster_ip_loc.as_ref();
                    let _ = a.allocate_static(*ip, other.id(), loc);
                }
            }
            for np in other
                .node_ports
                .iter()
                .flatten()
                .chain(&other.health_check_node_port)
            {
                let _ = ports.allocate_static(*np, other.id(), None);
            }
        }
        let mut out = b.allocate_with(alloc::vec![service], Some(self), ips, ports);
        if b.diags.iter().any(Diagnostic::is_error) {
            return Err(Errors(b.diags));
        }
        out.pop().ok_or_else(|| Errors(Vec::new()))
    }

    /// A node by name.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes
            .binary_search_by(|n| n.meta.id.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.nodes[i])
    }

    /// A Pod by namespace and name.
    pub fn pod(&self, id: &ObjectRef) -> Option<&Pod> {
        self.pods
            .binary_search_by(|p| p.meta.id.cmp(id))
            .ok()
            .map(|i| &self.pods[i])
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
    fn error(&mut self, kind: Kind, loc: Option<Loc>, msg: Msg) {
        self.diags.push(Diagnostic::error(kind, loc, msg));
    }

    /// Given Nodes (sorted, unique, with pod CIDRs), or synthesized ones: named after the
    /// Pods' `nodeName`s when Pods name nodes, else `node-1`, `node-2`, ….
    fn nodes(&mut self, given: Vec<Node>, pods: &[Pod], previous: Option<&Cluster>) -> Vec<Node> {
        let mut nodes: Vec<Node> = Vec::new();
        if given.is_empty() {
            let mut names: Vec<String> = pods
                .iter()
                .filter_map(|p| p.node_name.as_deref())
                .collect_set()
                .into_iter()
                .map(String::from)
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
                    unschedulable: false,
                    taints: Vec::new(),
                    ready: None,
                });
            }
        } else {
            for n in given {
                if let Some(prev) = nodes.iter().find(|o| o.meta.id.name == n.meta.id.name) {
                    let msg = crate::msg!(
                        "Node {}: already defined at {}",
                        format!("{:?}", n.meta.id.name),
                        prev.meta.loc
                    );
                    self.error(Kind::Conflict, Some(n.meta.loc.clone()), msg);
                    continue;
                }
                nodes.push(n);
            }
        }
        crate::sort::sort_by(&mut nodes, |a, b| a.meta.id.name.cmp(&b.meta.id.name));
        // Per-node pod ranges, as the node IPAM controller hands them out: /24 (IPv4) or /64
        // (IPv6) subnets of the cluster CIDR, skipping the ones Nodes already have.
        for cidr in self.config.pod_cidrs.clone() {
            let family = Family::of_net(&cidr);
            let sub_len = match cidr {
                IpNet::V4(_) => 24.max(cidr.prefix_len()),
                IpNet::V6(_) => 64.max(cidr.prefix_len()),
            };
            // A Node keeps the range it had (the IPAM controller never takes one back).
            for node in &mut nodes {
                if node.pod_cidrs.iter().any(|c| Family::of_net(c) == family) {
                    continue;
                }
                let had = previous
                    .and_then(|c| c.node(&node.meta.id.name))
                    .and_then(|n| n.pod_cidrs.iter().find(|c| cidr.contains(*c)).copied());
                if let Some(had) = had {
                    node.pod_cidrs.push(had);
                }
            }
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

    /// The Pods without repeated names (a repeat is an error naming the first), in input order,
    /// and their order by namespace and name ([`id_order`]).
    fn unique_pods(&mut self, pods: Vec<Pod>) -> (Vec<Pod>, Option<Vec<u32>>) {
        let Some(order) = id_order(&pods, |p| &p.meta.id) else {
            return (pods, None);
        };
        let mut first_of: Vec<Option<usize>> = Vec::new();
        let mut run = 0;
        for k in 1..order.len() {
            let (a, b) = (order[run] as usize, order[k] as usize);
            if pods[b].meta.id == pods[a].meta.id {
                if first_of.is_empty() {
                    first_of = alloc::vec![None; pods.len()];
                }
                first_of[b] = Some(a);
            } else {
                run = k;
            }
        }
        if first_of.is_empty() {
            return (pods, Some(order));
        }
        for (i, first) in first_of.iter().enumerate() {
            if let Some(f) = first {
                let msg = crate::msg!(
                    "Pod \"{}\": already defined at {}",
                    pods[i].meta.id,
                    pods[*f].meta.loc
                );
                self.error(Kind::Conflict, Some(pods[i].meta.loc.clone()), msg);
            }
        }
        let pods: Vec<Pod> = pods
            .into_iter()
            .zip(first_of)
            .filter_map(|(p, f)| f.is_none().then_some(p))
            .collect();
        let order = id_order(&pods, |p| &p.meta.id);
        (pods, order)
    }

    fn unique_services(&mut self, mut services: Vec<Service>) -> Vec<Service> {
        crate::sort::sort_by(&mut services, |a, b| a.meta.id.cmp(&b.meta.id));
        let mut out: Vec<Service> = Vec::with_capacity(services.len());
        for s in services {
            if let Some(prev) = out.last().filter(|p| p.meta.id == s.meta.id) {
                let msg = crate::msg!(
                    "Service \"{}\": already defined at {}",
                    s.meta.id,
                    prev.meta.loc
                );
                self.error(Kind::Conflict, Some(s.meta.loc.clone()), msg);
                continue;
            }
            out.push(s);
        }
        out
    }

    /// Pods written without a status, started as the scheduler and the kubelet would: on their
    /// `nodeName` (when that Node exists) or a Node chosen by the Pod's name among those the
    /// scheduler may use, with an address of the Node's pod range seeded by the Pod's name,
    /// Running and Ready. A Pod bound to a Node that does not exist stays Pending without an
    /// address. A Pod placed before (in `previous`) keeps its Node and addresses.
    fn start_pods(&mut self, nodes: &[Node], pods: &mut [Pod], previous: Option<&Cluster>) {
        if pods.iter().all(|p| p.status_given) {
            return;
        }
        let mut used_ips = UsedIps::of(pods);
        let seed = self.config.seed;
        // The Nodes a Pod may be scheduled on depend on its tolerations only: found again only
        // when they differ from the last Pod's (Pods of one workload share them).
        let mut fit: Vec<&Node> = Vec::new();
        let mut fit_for: Option<Vec<Toleration>> = None;
        for p in pods.iter_mut().filter(|p| !p.status_given) {
            let node = match &p.node_name {
                // Bound by name: the scheduler is bypassed, the kubelet admits it unless its
                // Node is not Ready or has a NoExecute taint the Pod does not tolerate.
                Some(n) => match node_named(nodes, n) {
                    Some(node) if kubelet_admits(node, &p.tolerations) => node,
                    _ => continue,
                },
                None => {
                    if fit_for.as_deref() != Some(p.tolerations.as_slice()) {
                        fit = nodes
                            .iter()
                            .filter(|n| schedulable(n, &p.tolerations, false))
                            .collect();
                        fit_for = Some(p.tolerations.clone());
                    }
                    match kept_node(previous, &p.meta.id, &fit)
                        .or_else(|| pick_node(seed, &p.meta.id, &fit))
                    {
                        Some(node) => node,
                        None => continue,
                    }
                }
            };
            p.node_name = Some(node.meta.id.name.clone());
            if p.host_network {
                p.ips = host_ips(node);
            } else {
                p.ips = pod_addresses(seed, &p.meta.id, node, &mut used_ips, previous);
            }
            p.phase = PodPhase::Running;
            p.ready = true;
        }
    }

    /// Pods for workloads whose Pods are not in the input (no given Pod in the namespace
    /// matches the selector), as the controllers and the scheduler would make them. A Pod's
    /// name, Node and address depend on the workload and the Pod alone; a deleted Pod is
    /// replaced as its controller does (a new name for ReplicaSet and Deployment Pods, the same
    /// ordinal name for StatefulSet Pods, one Pod per Node for DaemonSets), and a terminating
    /// ReplicaSet Pod gets a replacement beside it (it no longer counts as active).
    fn expand_workloads(
        &mut self,
        workloads: &[Workload],
        nodes: &[Node],
        pods: &mut Vec<Pod>,
        tweaks: &Tweaks,
        previous: Option<&Cluster>,
    ) {
        if workloads.is_empty() {
            return;
        }
        let mut order: Vec<&Workload> = workloads.iter().collect();
        crate::sort::sort_unstable_by(&mut order, |a, b| {
            (a.kind, &a.meta.id).cmp(&(b.kind, &b.meta.id))
        });
        // Sorted, searched by halves (a list: no set type of its own in the wasm build).
        let mut deployments: Vec<&ObjectRef> = workloads
            .iter()
            .filter(|w| w.kind == WorkloadKind::Deployment)
            .map(|w| &w.meta.id)
            .collect();
        crate::sort::sort_unstable(&mut deployments);
        let mut used_ips = UsedIps::of(pods);
        let seed = self.config.seed;
        // Which workloads have a given Pod (their Pods are in the input), found through the
        // label index: a scan of every Pod per workload was quadratic.
        let present: Vec<bool> = {
            let index = PodIndex::new(pods.as_slice());
            order
                .iter()
                .map(|w| index.any_match(&w.meta.id.namespace, &w.selector))
                .collect()
        };
        for (w, present) in order.into_iter().zip(present) {
            if w.kind == WorkloadKind::ReplicaSet
                && let Some((kind, name)) = &w.meta.controller
            {
                let owner = ObjectRef::new(w.meta.id.namespace.clone(), name.clone());
                if kind == "Deployment" && deployments.binary_search(&&owner).is_ok() {
                    continue;
                }
            }
            if present {
                continue;
            }
            let selected: Vec<&Node> = nodes
                .iter()
                .filter(|n| {
                    w.node_selector
                        .iter()
                        .all(|(k, v)| n.meta.labels.get(k) == Some(v))
                })
                .collect();
            let daemon = w.kind == WorkloadKind::DaemonSet;
            let eligible: Vec<&Node> = selected
                .iter()
                .copied()
                .filter(|n| schedulable(n, &w.tolerations, daemon))
                .collect();
            if eligible.is_empty() {
                let why = if selected.is_empty() {
                    "no Node matches its nodeSelector"
                } else {
                    "no Node its Pods may be scheduled on (cordoned, NotReady and tainted Nodes are skipped unless tolerated)"
                };
                self.diags.push(Diagnostic::warning(
                    Kind::Note,
                    Some(w.meta.loc.clone()),
                    crate::msg!(
                        "{} \"{}\": {}: its Pods stay Pending",
                        w.kind.as_str(),
                        w.meta.id,
                        why
                    ),
                ));
                continue;
            }
            // The Pods made here count against the reader's limit on objects with the ones
            // read (each workload's `replicas` is held to it when read; many of them could
            // still add up to minutes and gigabytes).
            let wanted = if daemon {
                eligible.len()
            } else {
                w.replicas as usize
            };
            if wanted > MAX_PODS.saturating_sub(pods.len()) {
                self.diags.push(Diagnostic::error(
                    Kind::Invalid,
                    Some(w.meta.loc.clone()),
                    crate::msg!(
                        "{} \"{}\": its {} Pods would make more than {} with the others (the reader's limit on objects): none made",
                        w.kind.as_str(),
                        w.meta.id,
                        wanted,
                        MAX_PODS
                    ),
                ));
                continue;
            }
            let ns = w.meta.id.namespace.as_str();
            let state = |name: &str| {
                if tweaks.pods.is_empty() {
                    return (false, false);
                }
                let t = tweaks.pods.get(&format!("{ns}/{name}"));
                (
                    t.is_some_and(|t| t.deleted),
                    t.is_some_and(|t| t.terminating),
                )
            };
            let wkey = format!("{}/{}", w.kind.as_str(), w.meta.id);
            // (name, the Node a DaemonSet Pod is for, terminating, the Pod's index: the
            // ordinal of a StatefulSet Pod, the place of a ReplicaSet Pod's name in its
            // workload's sequence of names, deleted names counted)
            let mut made: Vec<(String, Option<&Node>, bool, usize)> = Vec::new();
            match w.kind {
                WorkloadKind::StatefulSet => {
                    for i in 0..w.replicas {
                        let name = format!("{}-{i}", w.meta.id.name);
                        let terminating = state(&name).1;
                        made.push((name, None, terminating, i as usize));
                    }
                }
                WorkloadKind::DaemonSet => {
                    for node in &eligible {
                        let mut rng = ChaCha8Rng::seed_from_u64(
                            seed ^ fnv_parts(&[
                                wkey.as_bytes(),
                                b"/",
                                node.meta.id.name.as_bytes(),
                            ]),
                        );
                        // Bounded: at most as many deleted names as tweaks.
                        for _ in 0..=tweaks.pods.len() {
                            let name = format!("{}-{}", w.meta.id.name, random_suffix(&mut rng));
                            let (deleted, terminating) = state(&name);
                            if !deleted {
                                made.push((name, Some(*node), terminating, 0));
                                break;
                            }
                        }
                    }
                }
                WorkloadKind::Deployment | WorkloadKind::ReplicaSet => {
                    let hash = safe_encode(w.template_hash);
                    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ fnv64(wkey.as_bytes()));
                    let mut active = 0u32;
                    // Bounded: a deleted Pod's name is skipped and a terminating one not
                    // counted; there are at most as many of them as tweaks.
                    for index in 0..w.replicas as usize + tweaks.pods.len() {
                        if active == w.replicas {
                            break;
                        }
                        let name = match w.kind {
                            WorkloadKind::Deployment => {
                                format!("{}-{}-{}", w.meta.id.name, hash, random_suffix(&mut rng))
                            }
                            _ => format!("{}-{}", w.meta.id.name, random_suffix(&mut rng)),
                        };
                        let (deleted, terminating) = state(&name);
                        if deleted {
                            continue;
                        }
                        if !terminating {
                            active += 1;
                        }
                        made.push((name, None, terminating, index));
                    }
                }
            }
            // The default scheduler spreads a workload's replicas over the Nodes
            // (PodTopologySpread's system-default constraint on the hostname and
            // LeastAllocated scoring): the workload's Nodes are ranked once, and its Pod of
            // index k goes to the (k mod n)-th. A function of the workload and the Pod's own
            // index, never of the other Pods: deleting one moves none of the rest.
            let ranked = if daemon {
                Vec::new()
            } else {
                spread_order(seed, &wkey, &eligible)
            };
            for (i, (name, node, terminating, index)) in made.into_iter().enumerate() {
                let mut labels = w.template_labels.clone();
                match w.kind {
                    WorkloadKind::Deployment => {
                        labels.insert("pod-template-hash".into(), safe_encode(w.template_hash));
                    }
                    WorkloadKind::StatefulSet => {
                        labels.insert("statefulset.kubernetes.io/pod-name".into(), name.clone());
                        labels.insert("apps.kubernetes.io/pod-index".into(), i.to_string());
                    }
                    _ => {}
                }
                let id = ObjectRef::new(w.meta.id.namespace.clone(), name.clone());
                let Some(node) = node
                    .or_else(|| kept_node(previous, &id, &eligible))
                    .or_else(|| ranked.get(index % ranked.len().max(1)).copied())
                else {
                    continue;
                };
                let ips = if w.host_network {
                    host_ips(node)
                } else {
                    pod_addresses(seed, &id, node, &mut used_ips, previous)
                };
                if ips.is_empty() {
                    let msg = crate::msg!(
                        "{} \"{}\": no free Pod address on Node {}: Pod {} gets no IP",
                        w.kind.as_str(),
                        w.meta.id,
                        format!("{:?}", node.meta.id.name),
                        name
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
                        id,
                        labels,
                        deleting: terminating,
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
                    tolerations: w.tolerations.clone(),
                });
            }
        }
    }

    /// IP families, ClusterIPs, NodePorts and health-check ports, as the API server's
    /// allocators would give them.
    fn allocate(
        &mut self,
        services: Vec<Service>,
        previous: Option<&Cluster>,
    ) -> Vec<ResolvedService> {
        let ip_alloc: Vec<IpAllocator> = self
            .config
            .service_cidrs
            .iter()
            .enumerate()
            .map(|(i, c)| IpAllocator::new(*c, i == 0))
            .collect();
        let (lo, hi) = self.config.node_port_range;
        self.allocate_with(services, previous, ip_alloc, PortAllocator::new(lo, hi))
    }

    /// [`Builder::allocate`] with allocators that may already hold other Services' addresses
    /// and ports.
    fn allocate_with(
        &mut self,
        services: Vec<Service>,
        previous: Option<&Cluster>,
        mut ip_alloc: Vec<IpAllocator>,
        mut ports: PortAllocator,
    ) -> Vec<ResolvedService> {
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
                    let msg = crate::msg!(
                        "Service \"{}\": {}: Invalid value: \"{}\": {} is not configured on this cluster",
                        s.meta.id,
                        path,
                        ip,
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
                        let msg = crate::msg!(
                            "Service \"{}\": {}: Invalid value: \"{}\": failed to allocate IP {}: {}",
                            s.meta.id,
                            path,
                            ip,
                            ip,
                            reason
                        );
                        let kind = if reason.to_string().contains("already allocated") {
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
        // A Service that had a dynamic ClusterIP keeps it (the API server never re-allocates).
        for r in out.iter_mut().filter(|r| !r.service.headless) {
            let Some(prev) = previous.and_then(|c| c.service(r.id())) else {
                continue;
            };
            for fam in r.families.clone() {
                if r.service.cluster_ips.iter().any(|ip| Family::of(ip) == fam) {
                    continue;
                }
                if let Some(ip) = prev.cluster_ips.iter().find(|ip| Family::of(ip) == fam)
                    && let Some(a) = ip_alloc.iter_mut().find(|a| a.family == fam)
                    && a.allocate_static(*ip, &r.service.meta.id, None).is_ok()
                {
                    r.cluster_ips.push(*ip);
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
                if r.cluster_ips.iter().any(|ip| Family::of(ip) == fam) {
                    continue;
                }
                let Some(a) = ip_alloc.iter_mut().find(|a| a.family == fam) else {
                    continue;
                };
                match a.allocate_dynamic(self.config.seed, &r.service.meta.id) {
                    Some(ip) => r.cluster_ips.push(ip),
                    None => {
                        let msg = crate::msg!(
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

        for r in &mut out {
            let fams = &r.families;
            crate::sort::sort_by_key(&mut r.cluster_ips, |ip| {
                fams.iter().position(|f| *f == Family::of(ip))
            });
        }

        // NodePorts: static first, then the ones Services had, then dynamic (same port number
        // across protocols shares one).
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
                    let msg = crate::msg!(
                        "Service \"{}\": spec.ports[{}].nodePort: Invalid value: {}: {}",
                        s.meta.id,
                        i,
                        np,
                        reason
                    );
                    let kind = if reason.to_string().contains("already allocated") {
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
                    let msg = crate::msg!(
                        "Service \"{}\": spec.healthCheckNodePort: Invalid value: {}: {}",
                        s.meta.id,
                        hc,
                        reason
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
        for r in out.iter_mut().filter(|r| r.service.wants_node_ports()) {
            let Some(prev) = previous.and_then(|c| c.service(r.id())) else {
                continue;
            };
            for (i, p) in r.service.ports.iter().enumerate() {
                if r.node_ports[i].is_some() {
                    continue;
                }
                let had = prev
                    .service
                    .ports
                    .iter()
                    .zip(&prev.node_ports)
                    .find(|(q, _)| q.name == p.name && q.port == p.port && q.protocol == p.protocol)
                    .and_then(|(_, np)| *np);
                if let Some(np) = had
                    && ports.allocate_static(np, &r.service.meta.id, None).is_ok()
                {
                    r.node_ports[i] = Some(np);
                }
            }
            let needs_hc = r.service.kind == ServiceType::LoadBalancer
                && r.service.external_traffic_policy == TrafficPolicy::Local;
            if needs_hc
                && r.health_check_node_port.is_none()
                && let Some(hc) = prev.health_check_node_port
                && ports.allocate_static(hc, &r.service.meta.id, None).is_ok()
            {
                r.health_check_node_port = Some(hc);
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
                        let msg = crate::msg!(
                            "Service \"{}\": spec.ports[{}].nodePort: Internal error: failed to allocate a nodePort: range is full",
                            r.service.meta.id,
                            i
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
        // The map of every Pod address is only worth making when some Service has a VIP.
        let has_vip = |r: &ResolvedService| {
            !r.service.external_ips.is_empty() || r.service.lb_ingress.iter().any(|i| !i.proxy_mode)
        };
        if !services.iter().any(has_vip) {
            return;
        }
        // (address, Pod) sorted by address, a repeated address's last Pod found (a list: no
        // map type of its own in the wasm build).
        let mut by_ip: Vec<(IpAddr, &ObjectRef)> = pods
            .iter()
            .filter(|p| !p.host_network)
            .flat_map(|p| p.ips.iter().map(move |ip| (*ip, &p.meta.id)))
            .collect();
        crate::sort::sort_by_key(&mut by_ip, |e| e.0);
        let pod_of = |ip: &IpAddr| {
            let end = by_ip.partition_point(|e| e.0 <= *ip);
            by_ip[..end].last().filter(|e| e.0 == *ip).map(|e| e.1)
        };
        for r in services {
            let s = &r.service;
            let vips = s.external_ips.iter().map(|ip| ("externalIP", *ip)).chain(
                s.lb_ingress
                    .iter()
                    .filter(|i| !i.proxy_mode)
                    .map(|i| ("load balancer VIP", i.ip)),
            );
            for (what, ip) in vips {
                if let Some(pod) = pod_of(&ip) {
                    self.diags.push(Diagnostic::warning(
                        Kind::Note,
                        Some(s.meta.loc.clone()),
                        crate::msg!("Service \"{}\": {} {} is the address of Pod \"{}\": kube-proxy binds it on kube-ipvs0 of every node, which then delivers traffic for that Pod locally", s.meta.id, what, ip, pod),
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
                crate::msg!(
                    "Service \"{}\": selector {} matches no Pod in namespace {}: no endpoints",
                    s.meta.id,
                    shown.join(","),
                    format!("{:?}", s.meta.id.namespace)
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
                    1 => Msg::default(),
                    n => crate::msg!(" and {} more", n - 1),
                };
                self.diags.push(Diagnostic::warning(
                    Kind::Note,
                    Some(s.meta.loc.clone()),
                    crate::msg!("Service \"{}\": spec.ports[{}].targetPort {} names no {} container port of Pod \"{}\"{}: not an endpoint of that port", s.meta.id, i, format!("{:?}", name), p.protocol, first.meta.id, more),
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
                let msg = crate::msg!(
                    "Service \"{}\": spec.ipFamilies[{}]: Invalid value: \"{}\": not configured on this cluster",
                    s.meta.id,
                    i,
                    f.as_str()
                );
                self.diags
                    .push(Diagnostic::error(Kind::Invalid, loc.clone(), msg));
                return None;
            }
        }
        if policy == IpFamilyPolicy::RequireDualStack && !dual_capable {
            let msg = crate::msg!(
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
        let total = addresses_in(&net);
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
    ) -> Result<(), Msg> {
        let Some(idx) = self.index_of(ip) else {
            return Err(crate::msg!(
                "provided IP is not in the valid range. The range of valid IPs is {}",
                self.net
            ));
        };
        if let Some((other, other_loc)) = self.taken.get(&idx) {
            if idx == 0 && other == owner {
                return Ok(());
            }
            let at = match other_loc {
                Some(l) => crate::msg!(" at {}", l),
                None if idx == 0 => {
                    crate::msg!(", which the API server creates at the range's first address")
                }
                None => Msg::default(),
            };
            return Err(crate::msg!(
                "provided IP is already allocated (to Service \"{}\"{})",
                other,
                at
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
    /// Keyed by `u128` (a port's value) to share the ClusterIP allocator's map code in the
    /// wasm build.
    taken: BTreeMap<u128, (ObjectRef, Option<Loc>)>,
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
    ) -> Result<(), Msg> {
        if port < self.lo || port > self.hi {
            return Err(crate::msg!(
                "provided port is not in the valid range. The range of valid ports is {}-{}",
                self.lo,
                self.hi
            ));
        }
        if let Some((other, other_loc)) = self.taken.get(&u128::from(port)) {
            if other == owner {
                return Ok(());
            }
            let at = other_loc
                .as_ref()
                .map(|l| crate::msg!(" at {}", l))
                .unwrap_or_default();
            return Err(crate::msg!(
                "provided port is already allocated (to Service \"{}\"{})",
                other,
                at
            ));
        }
        self.taken
            .insert(u128::from(port), (owner.clone(), loc.cloned()));
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
                if let alloc::collections::btree_map::Entry::Vacant(e) =
                    self.taken.entry(u128::from(port))
                {
                    e.insert((owner.clone(), None));
                    return Some(port);
                }
                idx = if idx + 1 >= hi { lo } else { idx + 1 };
            }
        }
        None
    }
}

/// The order of `items` by namespace and name (ties by position): their indexes, or `None`
/// when they are in strictly ascending order already (as `kubectl get -A` lists them).
///
/// Sorted on integer keys made of the first 16 bytes of the namespace and 24 of the name, so
/// most comparisons touch no string (a Pod's name is compared whole only where the keys tie).
pub(crate) fn id_order<T>(items: &[T], id: impl Fn(&T) -> &ObjectRef) -> Option<Vec<u32>> {
    if items
        .windows(2)
        .all(|w| id(&w[0]).cmp(id(&w[1])) == core::cmp::Ordering::Less)
    {
        return None;
    }
    /// The first 16 bytes, big-endian, zero-padded: ordered as the strings are where they
    /// differ (names hold no NUL byte).
    fn prefix(s: &[u8]) -> u128 {
        let mut b = [0u8; 16];
        let n = s.len().min(16);
        b[..n].copy_from_slice(&s[..n]);
        u128::from_be_bytes(b)
    }
    // A namespace longer than the prefix leaves the name out of the key (all such keys tie
    // with one another and sort after every shorter namespace of the same prefix). The name's
    // key is its first 24 bytes: a workload's Pods share their first 16 (`app-00012-17334-3`).
    let mut keys: Vec<(u128, u128, u64, u32)> = items
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let r = id(x);
            let (name, rest) = if r.namespace.len() <= 16 {
                let name = r.name.as_bytes();
                let rest = name.get(16..).map_or(0, |t| (prefix(t) >> 64) as u64);
                (prefix(name), rest)
            } else {
                (u128::MAX, u64::MAX)
            };
            (prefix(r.namespace.as_bytes()), name, rest, i as u32)
        })
        .collect();
    crate::sort::sort_unstable_by(&mut keys, |a, b| {
        (a.0, a.1, a.2)
            .cmp(&(b.0, b.1, b.2))
            .then_with(|| id(&items[a.3 as usize]).cmp(id(&items[b.3 as usize])))
            .then(a.3.cmp(&b.3))
    });
    Some(keys.into_iter().map(|k| k.3).collect())
}

/// The most Pods a cluster holds, read and made for workloads together: [`OBJECT_LIMIT`], or a
/// thousand in this crate's unit tests, which reach it cheaply.
const MAX_PODS: usize = if cfg!(test) { 1_000 } else { OBJECT_LIMIT };

/// The reader's limit on objects, `manifest::MAX_OBJECTS` (a test holds them equal; the reader
/// is not in the `no_std` build).
const OBJECT_LIMIT: usize = 1_000_000;

/// Reorders `items` in place so that position `k` holds what was at `order[k]` (following
/// each cycle of the permutation: no second list of the items). `order` is used up.
pub(crate) fn permute<T>(items: &mut [T], order: &mut [u32]) {
    for start in 0..order.len() {
        let mut k = start;
        loop {
            let src = order[k] as usize;
            order[k] = k as u32;
            if src == start || src == k {
                break;
            }
            items.swap(k, src);
            k = src;
        }
    }
}

/// Pods indexed by (namespace, label key, label value): one list of `(hash, pod)` sorted,
/// searched from a table of where each range of hashes starts (no map nodes, no cloned
/// strings, one cache line or two a lookup).
struct PodIndex<'a> {
    pods: &'a [Pod],
    index: HashIndex,
}

/// The index key of a label: FNV-1a of namespace, key and value, separated by a byte that
/// UTF-8 text never holds. Collisions are possible; [`PodIndex::select`] checks the Pods.
fn label_hash(namespace: &str, key: &str, value: &str) -> u64 {
    mix(fnv_parts(&[
        namespace.as_bytes(),
        &[0xff],
        key.as_bytes(),
        &[0xff],
        value.as_bytes(),
    ]))
}

/// A multimap from 64-bit hashes to `u32` values: `(hash, value)` pairs sorted, and for each
/// of `2^bits` ranges of hashes (by their top bits) where its pairs start. Built by a counting
/// sort on the top bits; a lookup reads one slot of the table and searches a few pairs.
#[derive(Clone, Debug, Default)]
pub(crate) struct HashIndex {
    entries: Vec<(u64, u32)>,
    /// `starts[b]..starts[b + 1]`: the entries whose hash's top bits are `b`.
    starts: Vec<u32>,
    shift: u32,
}

impl HashIndex {
    /// The index of `pairs` (hashes should be well mixed: the top bits pick the range).
    pub(crate) fn new(pairs: Vec<(u64, u32)>) -> HashIndex {
        let bits = (usize::BITS - pairs.len().leading_zeros()).clamp(1, 20);
        let shift = 64 - bits;
        let mut starts = alloc::vec![0u32; (1 << bits) + 1];
        for (h, _) in &pairs {
            starts[(h >> shift) as usize + 1] += 1;
        }
        for b in 1..starts.len() {
            starts[b] += starts[b - 1];
        }
        let mut next = starts.clone();
        let mut entries = alloc::vec![(0u64, 0u32); pairs.len()];
        for e in pairs {
            let b = (e.0 >> shift) as usize;
            entries[next[b] as usize] = e;
            next[b] += 1;
        }
        for b in 0..starts.len() - 1 {
            crate::sort::sort_unstable(&mut entries[starts[b] as usize..starts[b + 1] as usize]);
        }
        HashIndex {
            entries,
            starts,
            shift,
        }
    }

    /// The pairs of `hash`, by value.
    pub(crate) fn get(&self, hash: u64) -> &[(u64, u32)] {
        let Some(b) = self.bucket(hash) else {
            return &[];
        };
        let range = &self.entries[self.starts[b] as usize..self.starts[b + 1] as usize];
        let lo = range.partition_point(|e| e.0 < hash);
        let n = range[lo..].partition_point(|e| e.0 == hash);
        &range[lo..lo + n]
    }

    fn bucket(&self, hash: u64) -> Option<usize> {
        let b = (hash >> self.shift) as usize;
        (b + 1 < self.starts.len()).then_some(b)
    }
}

impl<'a> PodIndex<'a> {
    fn new(pods: &'a [Pod]) -> Self {
        let mut entries = Vec::with_capacity(pods.iter().map(|p| p.meta.labels.len()).sum());
        for (i, p) in pods.iter().enumerate() {
            // More Pods than u32 indexes cannot be read (the reader stops at a million objects).
            let Ok(i) = u32::try_from(i) else { break };
            for (k, v) in &p.meta.labels {
                entries.push((label_hash(&p.meta.id.namespace, k, v), i));
            }
        }
        PodIndex {
            pods,
            index: HashIndex::new(entries),
        }
    }

    /// The Pods (ascending) whose label hash is that of `key=value` in `namespace`: every Pod
    /// that carries it, and maybe a few that only collide.
    fn with(&self, namespace: &str, key: &str, value: &str) -> &[(u64, u32)] {
        self.index.get(label_hash(namespace, key, value))
    }

    /// Whether some Pod of `namespace` matches a workload's `selector`: candidates from the
    /// index by its rarest `key=value` requirement (every Pod of the namespace when it has
    /// none), each checked against the whole selector.
    fn any_match(&self, namespace: &str, selector: &labels::Selector) -> bool {
        let matches =
            |p: &Pod| p.meta.id.namespace == namespace && selector.matches(&p.meta.labels);
        let rarest = selector
            .equality_pairs()
            .map(|(k, v)| self.with(namespace, k, v))
            .min_by_key(|l| l.len());
        match rarest {
            Some(list) => list.iter().any(|e| matches(&self.pods[e.1 as usize])),
            None => self.pods.iter().any(matches),
        }
    }

    /// Pods of `namespace` that carry every label of `selector` (a Service's map selector).
    fn select(&self, namespace: &str, selector: &Labels) -> Vec<usize> {
        let mut lists: Vec<&[(u64, u32)]> = Vec::with_capacity(selector.len());
        for (k, v) in selector {
            let l = self.with(namespace, k, v);
            if l.is_empty() {
                return Vec::new();
            }
            lists.push(l);
        }
        crate::sort::sort_unstable_by_key(&mut lists, |l| l.len());
        let Some((first, rest)) = lists.split_first() else {
            return Vec::new();
        };
        let mut out: Vec<usize> = first
            .iter()
            .map(|e| e.1)
            .filter(|i| {
                rest.iter()
                    .all(|l| l.binary_search_by_key(i, |e| e.1).is_ok())
            })
            .map(|i| i as usize)
            .filter(|&i| {
                let p = &self.pods[i];
                p.meta.id.namespace == namespace
                    && selector
                        .iter()
                        .all(|(k, v)| p.meta.labels.get(k) == Some(v))
            })
            .collect();
        // Two labels of one Pod that collide would list it twice.
        out.dedup();
        out
    }
}

/// The warnings that follow from the Pods, Services and slices as they are now (and so change
/// with any of them): selectors that match no Pod, named target ports no selected Pod has,
/// virtual IPs on Pod addresses, EndpointSlices that program nothing. The live cluster makes
/// them at plan time; a build appends them last.
pub(crate) fn derived_warnings<'a>(
    cluster: &Cluster,
    slices: impl IntoIterator<Item = &'a EndpointSlice>,
) -> Vec<Diagnostic> {
    let index = PodIndex::new(&cluster.pods);
    derived_warnings_of(cluster, slices, |_, svc| {
        let selector = svc.service.selector.as_ref()?;
        Some(index.select(&svc.service.meta.id.namespace, selector))
    })
}

/// [`derived_warnings`] with each Service's selected Pods (by its index in `cluster.services`)
/// from `selected` (`None` or unused for Services without a selector and ExternalName ones).
fn derived_warnings_of<'a>(
    cluster: &Cluster,
    slices: impl IntoIterator<Item = &'a EndpointSlice>,
    mut selected: impl FnMut(usize, &ResolvedService) -> Option<Vec<usize>>,
) -> Vec<Diagnostic> {
    let mut b = Builder {
        config: cluster.config.clone(),
        diags: Vec::new(),
    };
    for (i, svc) in cluster.services.iter().enumerate() {
        if svc.service.kind == ServiceType::ExternalName {
            continue;
        }
        if let Some(selector) = &svc.service.selector {
            let chosen = selected(i, svc).unwrap_or_default();
            b.selector_warnings(svc, selector, &chosen, &cluster.pods);
        }
    }
    b.vips_on_pod_ips(&cluster.services, &cluster.pods);
    b.diags.extend(slice_warnings(&cluster.services, slices));
    b.diags
}

/// Notes for EndpointSlices that program nothing: no such Service, or a Service with a selector
/// (whose endpoints come from its Pods).
pub(crate) fn slice_warnings<'a>(
    services: &[ResolvedService],
    slices: impl IntoIterator<Item = &'a EndpointSlice>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for s in slices {
        let owner = s.service.as_deref().and_then(|name| {
            services
                .binary_search_by(|r| {
                    (r.id().namespace.as_str(), r.id().name.as_str())
                        .cmp(&(s.meta.id.namespace.as_str(), name))
                })
                .ok()
                .map(|i| &services[i])
        });
        let what = slice_kind(s);
        let msg = match owner {
            None => Some(crate::msg!(
                "no Service {} in namespace {}: ignored",
                format!("{:?}", s.service.as_deref().unwrap_or("")),
                format!("{:?}", s.meta.id.namespace)
            )),
            Some(r) if r.service.selector.is_some() && what == "Endpoints" => Some(crate::msg!(
                "Service \"{}\" has a selector, so the EndpointSlice mirroring controller does not mirror it: ignored",
                r.id()
            )),
            Some(r) if r.service.selector.is_some() && managed_by_controller(s) => {
                Some(crate::msg!(
                    "Service \"{}\" has a selector, so its controller-managed slices are derived from Pods: ignored",
                    r.id()
                ))
            }
            Some(r) if !r.service.headless => unwatched_label(s).map(|l| {
                crate::msg!(
                    "labelled {}: kube-proxy does not watch it (its informers select !{}): ignored",
                    l,
                    l
                )
            }),
            Some(_) => None,
        };
        if let Some(msg) = msg {
            out.push(Diagnostic::warning(
                Kind::Note,
                Some(s.meta.loc.clone()),
                crate::msg!("{} \"{}\": {}", what, s.meta.id, msg),
            ));
        }
    }
    out
}

/// The EndpointSlice controller's endpoints for a Service with a selector.
fn derive_backends(
    svc: &ResolvedService,
    selected: &[usize],
    pods: &[Pod],
    known_node: impl Fn(&str) -> bool,
) -> Vec<Backend> {
    let mut out = Vec::with_capacity(selected.len());
    for &i in selected {
        pod_backends(svc, &pods[i], &known_node, &mut out);
    }
    crate::sort::sort_by_key(&mut out, |a| a.address);
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

/// The endpoints one selected Pod gives a Service (one per address of the Service's
/// families), appended to `out`; `known_node` says whether a Node exists.
pub(crate) fn pod_backends(
    svc: &ResolvedService,
    pod: &Pod,
    known_node: impl Fn(&str) -> bool,
    out: &mut Vec<Backend>,
) {
    let s = &svc.service;
    // ShouldPodBeInEndpoints: an IP, and not in a terminal phase.
    if matches!(pod.phase, PodPhase::Succeeded | PodPhase::Failed) {
        return;
    }
    // The EndpointSlice reconciler looks the Pod's Node up; when it does not exist (or the
    // Pod names none) the Pod is left out, unless publishNotReadyAddresses asks for it.
    let node_known = pod.node_name.as_deref().is_some_and(known_node);
    if !node_known && !s.publish_not_ready {
        return;
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
    let slice_ports: Vec<EndpointPort> = if s.headless {
        s.ports
            .iter()
            .zip(&ports)
            .filter_map(|(p, resolved)| {
                Some(EndpointPort {
                    name: p.name.clone(),
                    protocol: p.protocol,
                    port: (*resolved)?,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut ips = pod
        .ips
        .iter()
        .filter(|ip| svc.families.contains(&Family::of(ip)))
        .peekable();
    // The lists are moved into the last endpoint (a Pod has one address per family).
    let (mut ports, mut slice_ports, mut hostname) = (Some(ports), Some(slice_ports), hostname);
    while let Some(ip) = ips.next() {
        let last = ips.peek().is_none();
        out.push(Backend {
            address: *ip,
            ports: take_list(&mut ports, last),
            conditions,
            node: pod.node_name.clone(),
            pod: Some(pod.meta.id.clone()),
            hostname: if last {
                hostname.take()
            } else {
                hostname.clone()
            },
            slice_ports: take_list(&mut slice_ports, last),
        });
    }
}

/// The list for one endpoint: moved out for the last, else copied.
fn take_list<T: Clone>(v: &mut Option<Vec<T>>, last: bool) -> Vec<T> {
    if last {
        v.take().unwrap_or_default()
    } else {
        v.clone().unwrap_or_default()
    }
}

/// Endpoints from a Service's EndpointSlices (all of them for a Service without a selector;
/// for one with a selector the user-made ones, since the controller's are derived from Pods):
/// ports matched by name and protocol, and an endpoint that appears in several slices with the
/// same ports kept once, the first seen (kube-proxy's `endpointslicecache.go` deduplicates by
/// `ip:port`). The same address with other ports is another endpoint. Slices kube-proxy does
/// not watch are left out unless the Service is headless (CoreDNS still reads them).
pub(crate) fn slice_backends(
    svc: &ResolvedService,
    // `dyn`: the build and the live cluster find slices differently, and one copy of this in
    // the wasm build is 1.5 KB less.
    slices: &mut dyn Iterator<Item = &EndpointSlice>,
) -> Vec<Backend> {
    let s = &svc.service;
    type Key = (IpAddr, Vec<Option<u16>>, Vec<(String, Protocol, u16)>);
    // Every endpoint with its key; sorted (stably) by key and each key's first kept below (a
    // list: no map type of its own in the wasm build).
    let mut by_addr: Vec<(Key, Backend)> = Vec::new();
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
                slice_ports: if s.headless {
                    slice.ports.clone()
                } else {
                    Vec::new()
                },
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
            by_addr.push(((*addr, ports.clone(), dns_key), b));
        }
    }
    crate::sort::sort_by(&mut by_addr, |a, b| a.0.cmp(&b.0));
    by_addr.dedup_by(|later, first| later.0 == first.0);
    by_addr.into_iter().map(|(_, b)| b).collect()
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

/// The taints the DaemonSet controller tolerates for its Pods
/// (`AddOrUpdateDaemonPodTolerations`): not-ready and unreachable NoExecute, the pressure
/// conditions and `unschedulable` NoSchedule.
const DAEMON_TOLERATED: [(&str, TaintEffect); 6] = [
    ("node.kubernetes.io/not-ready", TaintEffect::NoExecute),
    ("node.kubernetes.io/unreachable", TaintEffect::NoExecute),
    ("node.kubernetes.io/disk-pressure", TaintEffect::NoSchedule),
    (
        "node.kubernetes.io/memory-pressure",
        TaintEffect::NoSchedule,
    ),
    ("node.kubernetes.io/pid-pressure", TaintEffect::NoSchedule),
    ("node.kubernetes.io/unschedulable", TaintEffect::NoSchedule),
];

/// The taints the scheduler sees on a Node: its own, plus the ones the node lifecycle
/// controller adds for `spec.unschedulable` and a Ready condition that is not True
/// (TaintNodesByCondition: `node.kubernetes.io/unschedulable` and
/// `node.kubernetes.io/not-ready`, NoSchedule).
fn effective_taints(node: &Node) -> Vec<Taint> {
    let mut taints = node.taints.clone();
    let mut add = |key: &str| {
        if !taints
            .iter()
            .any(|t| t.key == key && t.effect == TaintEffect::NoSchedule)
        {
            taints.push(Taint {
                key: key.into(),
                value: String::new(),
                effect: TaintEffect::NoSchedule,
            });
        }
    };
    if node.unschedulable {
        add("node.kubernetes.io/unschedulable");
    }
    if node.ready == Some(false) {
        add("node.kubernetes.io/not-ready");
    }
    taints
}

/// Whether the scheduler may place a Pod on `node`: every NoSchedule and NoExecute taint is
/// tolerated (the TaintToleration and NodeUnschedulable plugins; PreferNoSchedule is only a
/// preference). `daemon`: a DaemonSet's Pod, with the controller's tolerations.
fn schedulable(node: &Node, tolerations: &[Toleration], daemon: bool) -> bool {
    effective_taints(node)
        .iter()
        .filter(|t| t.effect != TaintEffect::PreferNoSchedule)
        .all(|t| {
            tolerations.iter().any(|tol| tol.tolerates(t))
                || (daemon && DAEMON_TOLERATED.contains(&(t.key.as_str(), t.effect)))
        })
}

/// Whether the kubelet of `node` starts a Pod bound to it by name: the Node is not NotReady
/// (a kubelet that does not report runs nothing) and every NoExecute taint is tolerated.
fn kubelet_admits(node: &Node, tolerations: &[Toleration]) -> bool {
    node.ready != Some(false)
        && node
            .taints
            .iter()
            .filter(|t| t.effect == TaintEffect::NoExecute)
            .all(|t| tolerations.iter().any(|tol| tol.tolerates(t)))
}

/// The Node a Pod had in `previous`, when it is still one of `nodes`: the scheduler never moves
/// a running Pod.
fn kept_node<'n>(
    previous: Option<&Cluster>,
    id: &ObjectRef,
    nodes: &[&'n Node],
) -> Option<&'n Node> {
    let name = previous?.pod(id)?.node_name.as_deref()?;
    nodes.iter().copied().find(|n| n.meta.id.name == name)
}

/// The scheduler's choice, made a function of the Pod alone: rendezvous hashing of the Pod's
/// name over the Nodes it may use (adding or removing a Node moves no other Pod's choice
/// between the remaining ones).
fn pick_node<'n>(seed: u64, id: &ObjectRef, nodes: &[&'n Node]) -> Option<&'n Node> {
    // FNV-1a runs byte by byte: the Pod's part is hashed once, each Node continues from it.
    let pod = fnv_from(
        FNV_OFFSET,
        &[
            b"node/",
            id.namespace.as_bytes(),
            b"/",
            id.name.as_bytes(),
            b"/",
        ],
    );
    nodes
        .iter()
        .copied()
        .max_by_key(|n| mix(seed ^ fnv_from(pod, &[n.meta.id.name.as_bytes()])))
}

/// `nodes` in the order a workload's Pods are spread over them: by a hash of the workload and
/// each Node's name (as [`pick_node`] ranks Nodes for one Pod), so two workloads start on
/// different Nodes and adding or removing a Node keeps the others' order.
fn spread_order<'n>(seed: u64, workload: &str, nodes: &[&'n Node]) -> Vec<&'n Node> {
    let w = fnv_from(FNV_OFFSET, &[b"spread/", workload.as_bytes(), b"/"]);
    let mut ranked: Vec<(u64, &'n Node)> = nodes
        .iter()
        .map(|n| (mix(seed ^ fnv_from(w, &[n.meta.id.name.as_bytes()])), *n))
        .collect();
    // Highest first; Node names are unique, so ties of the hash fall to the name.
    crate::sort::sort_unstable_by(&mut ranked, |a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.meta.id.name.cmp(&b.1.meta.id.name))
    });
    ranked.into_iter().map(|(_, n)| n).collect()
}

/// The Node named `name` of `nodes` (sorted by name).
fn node_named<'n>(nodes: &'n [Node], name: &str) -> Option<&'n Node> {
    nodes
        .binary_search_by(|n| n.meta.id.name.as_str().cmp(name))
        .ok()
        .map(|i| &nodes[i])
}

/// One address per pod range of `node`: the one the Pod had in `previous` when it is still
/// free, else a free one from a start seeded by the Pod's name (as ClusterIPs are).
fn pod_addresses(
    seed: u64,
    id: &ObjectRef,
    node: &Node,
    used: &mut UsedIps,
    previous: Option<&Cluster>,
) -> Vec<IpAddr> {
    let kept: &[IpAddr] = previous
        .and_then(|c| c.pod(id))
        .filter(|p| p.node_name.as_deref() == Some(node.meta.id.name.as_str()))
        .map_or(&[], |p| p.ips.as_slice());
    let mut ips = Vec::new();
    for cidr in &node.pod_cidrs {
        let ip = kept
            .iter()
            .copied()
            .find(|ip| cidr.contains(ip) && !used.ips.contains(ip))
            .or_else(|| used.free(cidr, seed, id));
        if let Some(ip) = ip {
            used.ips.insert(ip);
            ips.push(ip);
        }
    }
    ips
}

/// The Pod addresses in use while Pods are placed, and the Pod ranges found full: nothing is
/// freed during a build, so a full range stays full (each further Pod of its Node probed the
/// whole range again: a workload of a million replicas on two Nodes took 250 million probes).
struct UsedIps {
    ips: BTreeSet<IpAddr>,
    /// Sorted.
    full: Vec<IpNet>,
}

impl UsedIps {
    /// The addresses `pods` hold.
    fn of(pods: &[Pod]) -> Self {
        UsedIps {
            ips: pods
                .iter()
                .flat_map(|p| p.ips.iter().copied())
                .collect_set(),
            full: Vec::new(),
        }
    }

    /// [`seeded_free`], remembering a range without a free address (one it probed whole).
    fn free(&mut self, cidr: &IpNet, seed: u64, id: &ObjectRef) -> Option<IpAddr> {
        let Err(at) = self.full.binary_search(cidr) else {
            return None;
        };
        let ip = seeded_free(cidr, seed, id, &self.ips);
        if ip.is_none() && usable_addresses(cidr).is_none_or(|n| n <= MAX_PROBES) {
            self.full.insert(at, *cidr);
        }
        ip
    }
}

/// A free address of a Node's pod range, probing forward from a start seeded by the Pod's
/// name. The range's first host is the bridge's gateway (as flannel and the bridge CNI use it),
/// IPv4's last is the broadcast address.
fn seeded_free(cidr: &IpNet, seed: u64, id: &ObjectRef, used: &BTreeSet<IpAddr>) -> Option<IpAddr> {
    let count = usable_addresses(cidr)?;
    let first = ip_to_u128(&cidr.network()) + 2;
    let family = Family::of_net(cidr);
    let start =
        u128::from(mix(seed
            ^ fnv_parts(&[
                b"podip/",
                id.namespace.as_bytes(),
                b"/",
                id.name.as_bytes(),
            ])))
            % count;
    (0..count.min(MAX_PROBES))
        .map(|k| u128_to_ip(family, first + (start + k) % count))
        .find(|ip| !used.contains(ip))
}

/// The most addresses [`seeded_free`] tries in one range.
const MAX_PROBES: u128 = 1 << 20;

/// How many addresses of a Pod range Pods may get (none: `None`): the first host is the
/// bridge's gateway, and IPv4's last the broadcast address.
fn usable_addresses(cidr: &IpNet) -> Option<u128> {
    let reserved = match cidr {
        IpNet::V4(_) => 3,
        IpNet::V6(_) => 2,
    };
    addresses_in(cidr).checked_sub(reserved).filter(|c| *c > 0)
}

/// The Service the API server makes for itself.
fn kubernetes_service() -> ObjectRef {
    ObjectRef::new("default", "kubernetes")
}

/// How many addresses a prefix holds (saturating for an IPv6 /0).
fn addresses_in(net: &IpNet) -> u128 {
    let bits = u32::from(net.max_prefix_len() - net.prefix_len());
    if bits >= 128 {
        u128::MAX
    } else {
        1u128 << bits
    }
}

/// FNV-1a's offset basis: the hash of no bytes.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a over several byte strings, as if concatenated (no allocation).
fn fnv_parts(parts: &[&[u8]]) -> u64 {
    fnv_from(FNV_OFFSET, parts)
}

/// FNV-1a continued from the hash `h` of earlier bytes.
fn fnv_from(mut h: u64, parts: &[&[u8]]) -> u64 {
    for p in parts {
        for b in *p {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// splitmix64's finalizer: spreads FNV's low-entropy high bits before a modulo.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a, 64 bits: a stable, seedless hash to derive per-object seeds.
pub(crate) fn fnv64(bytes: &[u8]) -> u64 {
    fnv_parts(&[bytes])
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

    /// svcroute's limit on objects (`manifest::MAX_OBJECTS`; `MAX_PODS` here) holds for the
    /// Pods it makes for workloads too, added up over workloads: the workload that would go
    /// over it is refused and made nothing, and the build fails with that error (before,
    /// `replicas` summing to tens of millions took minutes and gigabytes).
    #[test]
    fn pods_made_for_workloads_count_against_the_object_limit() {
        assert_eq!(OBJECT_LIMIT, crate::manifest::MAX_OBJECTS);
        let deployment = |name: &str, replicas: usize| {
            alloc::format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec: {{containers: [{{name: c, image: x}}]}}\n---\n"
            )
        };
        let build = |text: &str| {
            let read = crate::manifest::read_all([("w.yaml", text)]);
            assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
            Cluster::build(read.objects, Config::default())
        };
        // At the limit: every Pod made.
        let text = deployment("a", 600) + &deployment("b", MAX_PODS - 600);
        let cluster = build(&text).expect("a cluster at the limit builds");
        assert_eq!(cluster.pods.len(), MAX_PODS);
        // The two default Nodes' /24 Pod ranges hold 253 Pods each (gateway, network and
        // broadcast addresses kept out), each address once; the rest get none.
        let addressed: Vec<&Pod> = cluster.pods.iter().filter(|p| !p.ips.is_empty()).collect();
        let distinct: BTreeSet<IpAddr> = addressed.iter().flat_map(|p| p.ips.clone()).collect();
        assert_eq!((addressed.len(), distinct.len()), (2 * 253, 2 * 253));
        // One over: the second workload (in kind and name order) is refused, at its object.
        let text = deployment("a", 600) + &deployment("b", MAX_PODS - 599);
        let errors = build(&text).expect_err("one Pod over the limit");
        // (The two default Nodes' Pod ranges run out first: warnings, not errors.)
        let errors: Vec<&Diagnostic> = errors.0.iter().filter(|d| d.is_error()).collect();
        let messages: Vec<&str> = errors.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [alloc::format!(
                "Deployment \"default/b\": its {} Pods would make more than {MAX_PODS} with the others (the reader's limit on objects): none made",
                MAX_PODS - 599
            )]
        );
        assert_eq!(errors[0].loc.as_ref().map(|l| l.line), Some(11));
    }

    #[test]
    fn safe_encode_uses_the_alphabet() {
        let s = safe_encode(1_234_567_890);
        assert_eq!(s.len(), 10);
        assert!(s.bytes().all(|b| ALPHANUMS.contains(&b)));
    }
}
