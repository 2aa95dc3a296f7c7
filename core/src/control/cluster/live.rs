//! The live cluster: a watch cache that keeps a [`Cluster`] and one node's dataplane up to date
//! object by object, and answers every change with the operations that take the node's kernel
//! from the old rules to the new ones.
//!
//! - Objects are applied (created or replaced by kind, namespace and name) and deleted one at a
//!   time, or the whole set is replaced at once (a re-list, or the `InitDone` of a watch stream
//!   folded as kube-runtime's `Store` folds it, see [`Event`]).
//! - A Pod that carries its status, or an EndpointSlice, re-derives only the Services that
//!   select the Pod (indexes from labels to Services and from Services to Pods) or own the
//!   slice, and re-plans only their virtual servers. Other changes (Services, Nodes, workloads,
//!   Pods the control plane still has to start) rebuild the cluster, keeping every allocation
//!   and placement that is still valid (ClusterIPs, NodePorts, Pod Nodes and addresses), as
//!   the API server and the scheduler never move them.
//! - The dataplane state keeps the kernel's list order: a virtual server created in one go has
//!   its real servers in the plan's order (the agent adds them in reverse, and the kernel
//!   inserts each at the head of its list); real servers added later go to the head.
//!
//! Invariant (property-tested): after any sequence of changes, [`Live::plan`] equals
//! [`crate::plan::plan`] of [`Cluster::build`] of [`Live::objects`] when no two objects
//! compete for an allocation, and the operations returned by each change, applied to the state
//! before it, give the state after it.

use alloc::borrow::Cow;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::net::IpAddr;

use crate::config::Config;
use crate::diag::{Diagnostic, Errors};
use crate::diff::{self, Op, RsKey, State};
use crate::model::*;
use crate::plan::{self, Plan, UnknownNode, VirtualServer, VsKey};
use crate::sort::CollectSorted as _;

use super::{Cluster, PodTweak, Tweaks, pod_backends, slice_backends};

/// The kinds of object the live cluster holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectKind {
    /// v1 Service.
    Service,
    /// v1 Pod.
    Pod,
    /// v1 Node.
    Node,
    /// discovery.k8s.io/v1 EndpointSlice (and v1 Endpoints, mirrored).
    EndpointSlice,
    /// A workload.
    Workload(WorkloadKind),
}

impl ObjectKind {
    /// The kind as the API names it (`Service`, `Deployment`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Service => "Service",
            ObjectKind::Pod => "Pod",
            ObjectKind::Node => "Node",
            ObjectKind::EndpointSlice => "EndpointSlice",
            ObjectKind::Workload(w) => w.as_str(),
        }
    }

    /// Parses an API kind name (`Endpoints` is held as its mirrored `EndpointSlice`).
    pub fn parse(kind: &str) -> Option<ObjectKind> {
        Some(match kind {
            "Service" => ObjectKind::Service,
            "Pod" => ObjectKind::Pod,
            "Node" => ObjectKind::Node,
            "EndpointSlice" | "Endpoints" => ObjectKind::EndpointSlice,
            "Deployment" => ObjectKind::Workload(WorkloadKind::Deployment),
            "ReplicaSet" => ObjectKind::Workload(WorkloadKind::ReplicaSet),
            "StatefulSet" => ObjectKind::Workload(WorkloadKind::StatefulSet),
            "DaemonSet" => ObjectKind::Workload(WorkloadKind::DaemonSet),
            _ => return None,
        })
    }
}

/// One object of any kind the live cluster holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Object {
    /// A Service.
    Service(Service),
    /// A Pod.
    Pod(Pod),
    /// A Node.
    Node(Node),
    /// An EndpointSlice.
    EndpointSlice(EndpointSlice),
    /// A Deployment, ReplicaSet, StatefulSet or DaemonSet.
    Workload(Workload),
}

impl Object {
    /// Its kind.
    pub fn kind(&self) -> ObjectKind {
        match self {
            Object::Service(_) => ObjectKind::Service,
            Object::Pod(_) => ObjectKind::Pod,
            Object::Node(_) => ObjectKind::Node,
            Object::EndpointSlice(_) => ObjectKind::EndpointSlice,
            Object::Workload(w) => ObjectKind::Workload(w.kind),
        }
    }

    /// Its namespace and name (Nodes have an empty namespace).
    pub fn id(&self) -> &ObjectRef {
        match self {
            Object::Service(o) => &o.meta.id,
            Object::Pod(o) => &o.meta.id,
            Object::Node(o) => &o.meta.id,
            Object::EndpointSlice(o) => &o.meta.id,
            Object::Workload(o) => &o.meta.id,
        }
    }

    /// Where it was read.
    pub fn loc(&self) -> &crate::diag::Loc {
        match self {
            Object::Service(o) => &o.meta.loc,
            Object::Pod(o) => &o.meta.loc,
            Object::Node(o) => &o.meta.loc,
            Object::EndpointSlice(o) => &o.meta.loc,
            Object::Workload(o) => &o.meta.loc,
        }
    }

    /// Every object of `objects`, in kind order and then in input order.
    pub fn all(objects: Objects) -> Vec<Object> {
        let mut out = Vec::new();
        out.extend(objects.services.into_iter().map(Object::Service));
        out.extend(objects.pods.into_iter().map(Object::Pod));
        out.extend(objects.nodes.into_iter().map(Object::Node));
        out.extend(objects.slices.into_iter().map(Object::EndpointSlice));
        out.extend(objects.workloads.into_iter().map(Object::Workload));
        out
    }
}

/// One event of a watch stream, as kube-runtime's `watcher::Event` spells them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// An object was created or changed.
    Apply(Object),
    /// An object was deleted.
    Delete(ObjectKind, ObjectRef),
    /// A re-list starts: the objects that follow replace the whole state at `InitDone`.
    Init,
    /// One object of the re-list.
    InitApply(Object),
    /// The re-list is complete: the state becomes exactly its objects.
    InitDone,
}

/// Why a change was refused. The live cluster is then as it was before the change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveError {
    /// The objects are not a valid cluster (what the API server would reject).
    Invalid(Errors),
    /// No object of that kind, namespace and name.
    NotFound(ObjectKind, ObjectRef),
}

impl LiveError {
    /// A [`LiveError::NotFound`]'s message, structured (a front end translates it; its English
    /// is the `Display`); an invalid cluster's diagnostics carry their own.
    pub fn not_found_text(kind: ObjectKind, id: &ObjectRef) -> crate::diag::Msg {
        crate::msg!("no {} \"{}\"", kind.as_str(), id)
    }
}

impl core::fmt::Display for LiveError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LiveError::Invalid(e) => {
                for (i, d) in e.0.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    write!(f, "{d}")?;
                }
                Ok(())
            }
            LiveError::NotFound(kind, id) => {
                write!(f, "{}", LiveError::not_found_text(*kind, id))
            }
        }
    }
}

impl core::error::Error for LiveError {}

/// The objects, by kind, namespace and name.
#[derive(Clone, Debug, Default)]
struct Store {
    services: BTreeMap<ObjectRef, Service>,
    pods: BTreeMap<ObjectRef, Pod>,
    nodes: BTreeMap<ObjectRef, Node>,
    slices: BTreeMap<ObjectRef, EndpointSlice>,
    workloads: BTreeMap<(WorkloadKind, ObjectRef), Workload>,
}

impl Store {
    /// The objects by key; `Err` names the second of two that share a kind, namespace and
    /// name.
    fn of(objects: &Objects) -> Result<Store, alloc::boxed::Box<Object>> {
        let mut store = Store::default();
        for o in Object::all(objects.clone()) {
            // A repeat: the first goes back in its place, and the second is the one named.
            if let Some(first) = store.insert(o)
                && let Some(again) = store.insert(first)
            {
                return Err(alloc::boxed::Box::new(again));
            }
        }
        Ok(store)
    }

    fn objects(&self) -> Objects {
        Objects {
            services: self.services.values().cloned().collect(),
            pods: self.pods.values().cloned().collect(),
            nodes: self.nodes.values().cloned().collect(),
            slices: self.slices.values().cloned().collect(),
            workloads: self.workloads.values().cloned().collect(),
        }
    }

    fn insert(&mut self, o: Object) -> Option<Object> {
        match o {
            Object::Service(x) => self
                .services
                .insert(x.meta.id.clone(), x)
                .map(Object::Service),
            Object::Pod(x) => self.pods.insert(x.meta.id.clone(), x).map(Object::Pod),
            Object::Node(x) => self.nodes.insert(x.meta.id.clone(), x).map(Object::Node),
            Object::EndpointSlice(x) => self
                .slices
                .insert(x.meta.id.clone(), x)
                .map(Object::EndpointSlice),
            Object::Workload(x) => self
                .workloads
                .insert((x.kind, x.meta.id.clone()), x)
                .map(Object::Workload),
        }
    }

    fn remove(&mut self, kind: ObjectKind, id: &ObjectRef) -> Option<Object> {
        match kind {
            ObjectKind::Service => self.services.remove(id).map(Object::Service),
            ObjectKind::Pod => self.pods.remove(id).map(Object::Pod),
            ObjectKind::Node => self.nodes.remove(id).map(Object::Node),
            ObjectKind::EndpointSlice => self.slices.remove(id).map(Object::EndpointSlice),
            ObjectKind::Workload(w) => self
                .workloads
                .remove(&(w, id.clone()))
                .map(Object::Workload),
        }
    }

    fn restore(&mut self, kind: ObjectKind, id: &ObjectRef, old: Option<Object>) {
        match old {
            Some(o) => {
                self.insert(o);
            }
            None => {
                self.remove(kind, id);
            }
        }
    }
}

/// `(namespace, key, value)`.
type LabelKey = (String, String, String);

/// A cluster kept up to date one object at a time, with one node's dataplane state.
#[derive(Clone, Debug)]
pub struct Live {
    store: Store,
    /// Changes to Pods the controllers made (deleted, terminating, readiness).
    tweaks: Tweaks,
    cluster: Cluster,
    /// The node asked for (`None`: the first Node by name, re-chosen on every rebuild).
    want_node: Option<String>,
    /// The node whose dataplane this is, when it exists.
    node: Option<Node>,
    /// Warnings of the last rebuild, without the EndpointSlice notes (made at plan time).
    base_warnings: Vec<Diagnostic>,
    /// Services with a selector, by each (namespace, key, value) of their selector.
    services_by_label: BTreeMap<LabelKey, BTreeSet<ObjectRef>>,
    /// Pods, by each of their labels.
    pods_by_label: BTreeMap<LabelKey, BTreeSet<ObjectRef>>,
    /// EndpointSlices by (namespace, Service name, ""): the label indexes' type, so the wasm
    /// build has one copy of its map code.
    slices_by_service: BTreeMap<LabelKey, BTreeSet<ObjectRef>>,
    /// Given Pods per `nodeName` (Nodes are made from these when none is given).
    node_refs: BTreeMap<String, usize>,
    /// Addresses of the Pods the control plane made.
    made_ips: BTreeSet<IpAddr>,
    /// Each planned Service's rules ([`plan::service_rules`]) and virtual servers on the
    /// node, in generation order.
    vs: BTreeMap<ObjectRef, Planned>,
    /// Rules of the planned Services together.
    used: plan::Rules,
    /// Services skipped for the node's rule limit, in order, with their rules.
    skipped: Vec<(ObjectRef, plan::Rules)>,
    /// Which Services claim a virtual server (the first by name gets it).
    claims: BTreeMap<VsKey, BTreeSet<ObjectRef>>,
    /// How many claimed virtual servers use each interface address (`u64`: the simulator's
    /// map type).
    address_refs: BTreeMap<IpAddr, u64>,
    state: State,
    /// Real servers of each virtual server in the kernel's list order.
    order: BTreeMap<VsKey, Vec<RsKey>>,
    /// A re-list in progress (between `Init` and `InitDone`).
    relist: Option<Objects>,
}

/// One Service's virtual servers on the node, as planned.
#[derive(Clone, Debug)]
struct Planned {
    /// Its rules ([`plan::service_rules`]).
    rules: plan::Rules,
    /// Its virtual servers, in generation order.
    list: Vec<VirtualServer>,
    /// Places in `list` sorted by key, the first generated first among equal keys: a lookup by
    /// key is a binary search (a scan was quadratic in a Service's virtual servers: 40,000 of
    /// them took 7 s to apply).
    by_key: Vec<u32>,
}

impl Planned {
    fn new(rules: plan::Rules, list: Vec<VirtualServer>) -> Planned {
        let mut by_key: Vec<u32> = (0..list.len() as u32).collect();
        crate::sort::sort_by_key(&mut by_key, |&i| list[i as usize].key());
        Planned {
            rules,
            list,
            by_key,
        }
    }

    /// The first virtual server generated with this key.
    fn get(&self, key: &VsKey) -> Option<&VirtualServer> {
        let at = self
            .by_key
            .partition_point(|&i| self.list[i as usize].key() < *key);
        let vs = &self.list[*self.by_key.get(at)? as usize];
        (vs.key() == *key).then_some(vs)
    }
}

impl Live {
    /// A live cluster of `objects`, planning `node` (the first Node by name when `None`).
    /// Its dataplane state is the plan's; [`Live::initial_operations`] gives the operations
    /// from an empty kernel.
    pub fn new(objects: Objects, config: Config, node: Option<&str>) -> Result<Live, LiveError> {
        Live::with_tweaks(objects, config, Tweaks::default(), node)
    }

    /// [`Live::new`] with a playground's [`Tweaks`] on top of the objects (what
    /// [`Cluster::build_with`] takes).
    pub fn with_tweaks(
        objects: Objects,
        config: Config,
        tweaks: Tweaks,
        node: Option<&str>,
    ) -> Result<Live, LiveError> {
        let store = Store::of(&objects).map_err(|o| invalid(&objects, &config, &o))?;
        let (cluster, derived) =
            Cluster::build_counting(objects, config, &tweaks, None).map_err(LiveError::Invalid)?;
        let mut live = Live {
            store,
            tweaks,
            // A placeholder until `adopt` takes the cluster (no copy of it is made).
            cluster: Cluster {
                config: cluster.config.clone(),
                nodes: Vec::new(),
                pods: Vec::new(),
                services: Vec::new(),
                warnings: Vec::new(),
            },
            want_node: node.map(ToString::to_string),
            node: None,
            base_warnings: Vec::new(),
            services_by_label: BTreeMap::new(),
            pods_by_label: BTreeMap::new(),
            slices_by_service: BTreeMap::new(),
            node_refs: BTreeMap::new(),
            made_ips: BTreeSet::new(),
            vs: BTreeMap::new(),
            used: plan::Rules::default(),
            skipped: Vec::new(),
            claims: BTreeMap::new(),
            address_refs: BTreeMap::new(),
            state: State::default(),
            order: BTreeMap::new(),
            relist: None,
        };
        live.adopt(cluster, derived, false);
        Ok(live)
    }

    /// The operations that program the current state into an empty kernel.
    pub fn initial_operations(&self) -> Vec<Op> {
        diff::diff(&State::default(), &self.state)
    }

    /// The cluster as the control plane made it.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// The objects as applied (what a full [`Cluster::build`] would start from).
    pub fn objects(&self) -> Objects {
        self.store.objects()
    }

    /// Changes made to Pods the controllers made.
    pub fn tweaks(&self) -> &Tweaks {
        &self.tweaks
    }

    /// The node whose dataplane this is (`None` when the cluster has no such Node).
    pub fn node(&self) -> Option<&Node> {
        self.node.as_ref()
    }

    /// The node's virtual server `key`, as [`Live::plan`] holds it (real servers in the plan's
    /// order), without assembling the plan.
    pub fn virtual_server(&self, key: &VsKey) -> Option<&VirtualServer> {
        self.effective(key)
    }

    /// The node's virtual servers at `address`, in key order.
    pub fn virtual_servers_at(&self, address: IpAddr) -> impl Iterator<Item = &VirtualServer> {
        self.claims
            .keys()
            .filter(move |k| k.address == address)
            .filter_map(|k| self.effective(k))
    }

    /// The dataplane state the node holds.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The real servers of a virtual server in the kernel's list order (what `ipvsadm -Ln`
    /// prints and round robin walks).
    pub fn kernel_order(&self, key: &VsKey) -> &[RsKey] {
        self.order.get(key).map_or(&[], Vec::as_slice)
    }

    /// The cluster's warnings as the objects are now: equal to [`Cluster::warnings`] of a full
    /// build of the same objects. ([`Live::cluster`]'s own list is the last full build's: the
    /// warnings that follow from the Pods, Services and slices are made here, when asked.)
    pub fn warnings(&self) -> Vec<Diagnostic> {
        let mut warnings = self.base_warnings.clone();
        warnings.extend(super::derived_warnings(
            &self.cluster,
            self.store.slices.values(),
        ));
        warnings
    }

    /// The node's plan: equal to [`crate::plan::plan`] of a full build of the same objects.
    pub fn plan(&self) -> Result<Plan, UnknownNode> {
        self.plan_with(self.warnings())
    }

    /// [`Live::plan`] with the cluster's `warnings` as [`Live::warnings`] gave them: a caller
    /// that needs them for other nodes' plans too does not derive them twice.
    pub fn plan_with(&self, warnings: Vec<Diagnostic>) -> Result<Plan, UnknownNode> {
        let node = self.node.as_ref().ok_or_else(|| self.unknown_node())?;
        let lists = self.cluster.services.iter().map(|svc| {
            let list = self.vs.get(svc.id()).map_or(&[][..], |p| p.list.as_slice());
            (svc, Cow::Borrowed(list))
        });
        let mut warnings = warnings;
        warnings.extend(plan::skip_warnings(
            &self.cluster,
            &node.meta.id.name,
            self.cluster.config.max_node_rules,
            &self.skipped,
        ));
        let mut p = plan::assemble(&self.cluster, node, warnings, lists);
        p.skipped = self.skipped.iter().map(|(id, _)| id.clone()).collect();
        p.rules = self.used;
        Ok(p)
    }

    /// [`Live::plan`] with each virtual server's real servers in the kernel's list order: the
    /// view `ipvsadm -Ln` prints after these changes.
    pub fn kernel_plan(&self) -> Result<Plan, UnknownNode> {
        let mut p = self.plan()?;
        let mut place: Vec<(RsKey, usize)> = Vec::new();
        for vs in &mut p.virtual_servers {
            // Each real server's place in the kernel's list, found by a binary search (a scan
            // per real server was quadratic in a virtual server's real servers).
            place.clear();
            place.extend(self.kernel_order(&vs.key()).iter().copied().zip(0..));
            crate::sort::sort_unstable(&mut place);
            crate::sort::sort_by_key(&mut vs.real_servers, |r| {
                let k = RsKey {
                    address: r.address,
                    port: r.port,
                };
                let at = place.partition_point(|e| e.0 < k);
                place.get(at).filter(|e| e.0 == k).map(|e| e.1)
            });
        }
        Ok(p)
    }

    fn unknown_node(&self) -> UnknownNode {
        UnknownNode {
            name: self
                .want_node
                .clone()
                .unwrap_or_else(|| plan::default_node(&self.cluster).into()),
            known: self
                .cluster
                .nodes
                .iter()
                .map(|n| n.meta.id.name.clone())
                .collect(),
        }
    }

    /// Creates or replaces an object (by kind, namespace and name).
    pub fn apply(&mut self, object: Object) -> Result<Vec<Op>, LiveError> {
        let kind = object.kind();
        let id = object.id().clone();
        let new = object.clone();
        let old = self.store.insert(object);
        self.changed(kind, &id, old, Some(new))
    }

    /// Deletes an object. Deleting a Pod that a controller made makes the controller replace
    /// it (a new name for ReplicaSet and Deployment Pods, the same name for StatefulSet Pods, a
    /// new Pod on the same Node for DaemonSets).
    pub fn delete(&mut self, kind: ObjectKind, id: &ObjectRef) -> Result<Vec<Op>, LiveError> {
        match self.store.remove(kind, id) {
            Some(old) => self.changed(kind, id, Some(old), None),
            None if kind == ObjectKind::Pod
                && self.cluster.pod(id).is_some_and(|p| p.synthesized) =>
            {
                let tweak = PodTweak {
                    deleted: true,
                    ..PodTweak::default()
                };
                self.tweak_pod(id, tweak)
            }
            None => Err(LiveError::NotFound(kind, id.clone())),
        }
    }

    /// Changes a Pod the way a playground does (readiness, terminating, deleted) without
    /// editing an object; for Pods the controllers made this is the only way.
    pub fn tweak_pod(&mut self, id: &ObjectRef, tweak: PodTweak) -> Result<Vec<Op>, LiveError> {
        let key = id.to_string();
        let old = self.tweaks.pods.get(&key).cloned();
        if tweak == PodTweak::default() {
            self.tweaks.pods.remove(&key);
        } else {
            self.tweaks.pods.insert(key.clone(), tweak.clone());
        }
        let given = self.store.pods.get(id).cloned();
        let before = old.clone().unwrap_or_default();
        let result = match given {
            // A Pod from the input with a status: only readiness and deletion change.
            Some(p) if p.status_given => self.changed(
                ObjectKind::Pod,
                id,
                Some(Object::Pod(p.clone())),
                Some(Object::Pod(p)),
            ),
            // Only readiness: the Pod stays where the scheduler put it and no controller acts
            // (replacements follow deletion, not readiness), so only the Services that
            // select it change.
            _ if tweak.deleted == before.deleted
                && tweak.terminating == before.terminating
                && !tweak.deleted
                && let Some(ready) = tweak.ready
                && self.cluster.pod(id).is_some() =>
            {
                Ok(self.ready_changed(id, ready))
            }
            _ => self.rebuild().map_err(LiveError::Invalid),
        };
        if result.is_err() {
            match old {
                Some(t) => self.tweaks.pods.insert(key, t),
                None => self.tweaks.pods.remove(&key),
            };
        }
        result
    }

    /// Replaces the playground's [`Tweaks`] (replicas, Pod changes, session affinity) and
    /// rebuilds keeping allocations; on error the tweaks are as before.
    pub fn set_tweaks(&mut self, tweaks: Tweaks) -> Result<Vec<Op>, LiveError> {
        let old = core::mem::replace(&mut self.tweaks, tweaks);
        let result = self.rebuild().map_err(LiveError::Invalid);
        if result.is_err() {
            self.tweaks = old;
        }
        result
    }

    /// Replaces every object at once (a re-list): the operations from the current state.
    pub fn replace(&mut self, objects: Objects) -> Result<Vec<Op>, LiveError> {
        let config = &self.cluster.config;
        let store = Store::of(&objects).map_err(|o| invalid(&objects, config, &o))?;
        let old = core::mem::replace(&mut self.store, store);
        let result = self.rebuild().map_err(LiveError::Invalid);
        if result.is_err() {
            self.store = old;
        }
        result
    }

    /// Folds one watch event. `Init` starts a buffer that `InitApply` fills and `InitDone`
    /// swaps in for the whole state (kube-runtime's `Store`); until then the state is the old
    /// one. `Apply` and `Delete` change one object.
    pub fn fold(&mut self, event: Event) -> Result<Vec<Op>, LiveError> {
        match event {
            Event::Apply(o) => self.apply(o),
            Event::Delete(kind, id) => self.delete(kind, &id),
            Event::Init => {
                self.relist = Some(Objects::default());
                Ok(Vec::new())
            }
            Event::InitApply(o) => {
                let b = self.relist.get_or_insert_with(Objects::default);
                match o {
                    Object::Service(x) => b.services.push(x),
                    Object::Pod(x) => b.pods.push(x),
                    Object::Node(x) => b.nodes.push(x),
                    Object::EndpointSlice(x) => b.slices.push(x),
                    Object::Workload(x) => b.workloads.push(x),
                }
                Ok(Vec::new())
            }
            Event::InitDone => {
                let objects = self.relist.take().unwrap_or_default();
                self.replace(objects)
            }
        }
    }

    /// After the store changed from `old` to `new` for one object: the fast path when the
    /// change touches only some Services' endpoints, else a rebuild. On error the store is
    /// restored.
    fn changed(
        &mut self,
        kind: ObjectKind,
        id: &ObjectRef,
        old: Option<Object>,
        new: Option<Object>,
    ) -> Result<Vec<Op>, LiveError> {
        if kind == ObjectKind::Service {
            return match self.service_changed(id, new) {
                Ok(ops) => Ok(ops),
                Err(e) => {
                    self.store.restore(kind, id, old);
                    Err(e)
                }
            };
        }
        let fast = match kind {
            ObjectKind::Pod => self.pod_is_local(old.as_ref(), new.as_ref()),
            ObjectKind::EndpointSlice => true,
            _ => false,
        };
        if fast {
            return Ok(match kind {
                ObjectKind::Pod => self.pod_changed(id, old, new),
                _ => self.slice_changed(old, new),
            });
        }
        let result = self.rebuild().map_err(LiveError::Invalid);
        if result.is_err() {
            self.store.restore(kind, id, old);
        }
        result
    }

    /// Whether a Pod change touches only the endpoints of the Services that select it: the Pod
    /// has its status (nothing to place), names a Node that exists before and after, takes no
    /// address of a Pod the control plane made, and no workload selects it.
    fn pod_is_local(&self, old: Option<&Object>, new: Option<&Object>) -> bool {
        let pod = |o: Option<&Object>| match o {
            Some(Object::Pod(p)) => Some(p.clone()),
            _ => None,
        };
        let nodes_given = !self.store.nodes.is_empty();
        for (p, leaving) in [(pod(old), true), (pod(new), false)] {
            let Some(p) = p else { continue };
            if !p.status_given || p.ips.iter().any(|ip| self.made_ips.contains(ip)) {
                return false;
            }
            if !nodes_given {
                // Nodes are made from the Pods' nodeNames: the set must not change.
                let Some(n) = &p.node_name else { return false };
                let refs = self.node_refs.get(n).copied().unwrap_or(0);
                if self.cluster.node(n).is_none() || (leaving && refs < 2) {
                    return false;
                }
            }
            let selected = self.store.workloads.values().any(|w| {
                w.meta.id.namespace == p.meta.id.namespace && w.selector.matches(&p.meta.labels)
            });
            if selected {
                return false;
            }
        }
        true
    }

    /// A started Pod's readiness set to `ready` (as [`Cluster::build_with`] sets it after
    /// placing the Pod): the Services that select it re-derived and re-planned.
    fn ready_changed(&mut self, id: &ObjectRef, ready: bool) -> Vec<Op> {
        let Ok(i) = self.cluster.pods.binary_search_by(|p| p.meta.id.cmp(id)) else {
            return Vec::new();
        };
        self.cluster.pods[i].ready = ready;
        let touched = self.selecting(&self.cluster.pods[i]);
        for s in &touched {
            self.derive(s);
        }
        self.replan(&touched)
    }

    /// The Services whose selector matches `p`'s labels.
    fn selecting(&self, p: &Pod) -> BTreeSet<ObjectRef> {
        let mut touched = BTreeSet::new();
        for (k, v) in &p.meta.labels {
            let key = (p.meta.id.namespace.clone(), k.clone(), v.clone());
            for s in self.services_by_label.get(&key).into_iter().flatten() {
                let svc = self.cluster.service(s);
                if svc
                    .and_then(|s| s.service.selector.as_ref())
                    .is_some_and(|sel| sel.iter().all(|(k, v)| p.meta.labels.get(k) == Some(v)))
                {
                    touched.insert(s.clone());
                }
            }
        }
        touched
    }

    fn pod_changed(&mut self, id: &ObjectRef, old: Option<Object>, new: Option<Object>) -> Vec<Op> {
        let old = match old {
            Some(Object::Pod(p)) => Some(p),
            _ => None,
        };
        let mut new = match new {
            Some(Object::Pod(p)) => Some(p),
            _ => None,
        };
        if let Some(p) = &mut new
            && let Some(t) = self.tweaks.pods.get(&id.to_string())
        {
            if t.deleted {
                new = None;
            } else {
                if let Some(r) = t.ready {
                    p.ready = r;
                }
                p.meta.deleting |= t.terminating;
            }
        }
        // The Services that select the Pod before or after.
        let mut touched: BTreeSet<ObjectRef> = BTreeSet::new();
        for p in old.iter().chain(new.iter()) {
            touched.extend(self.selecting(p));
        }
        // The cluster's Pods and the label index.
        if let Some(p) = &old {
            unindex_pod(&mut self.pods_by_label, p);
        }
        if let Some(p) = &new {
            index_pod(&mut self.pods_by_label, p);
        }
        let pos = self.cluster.pods.binary_search_by(|p| p.meta.id.cmp(id));
        put(&mut self.cluster.pods, pos, new);
        if let Some(n) = old.as_ref().and_then(|p| p.node_name.as_ref())
            && let Some(c) = self.node_refs.get_mut(n)
        {
            *c = c.saturating_sub(1);
        }
        if let Some(n) = self.store.pods.get(id).and_then(|p| p.node_name.as_ref()) {
            *self.node_refs.entry(n.clone()).or_default() += 1;
        }
        for s in &touched {
            self.derive(s);
        }
        self.replan(&touched)
    }

    /// A Service created, replaced or deleted: admitted against the others' allocations (it
    /// keeps its own), its endpoints derived and its virtual servers re-planned.
    fn service_changed(
        &mut self,
        id: &ObjectRef,
        new: Option<Object>,
    ) -> Result<Vec<Op>, LiveError> {
        let resolved = match new {
            Some(Object::Service(s)) => Some(
                self.cluster
                    .resolve_service(s)
                    .map_err(LiveError::Invalid)?,
            ),
            _ => None,
        };
        let pos = self.cluster.services.binary_search_by(|s| s.id().cmp(id));
        if let Ok(i) = pos
            && let Some(sel) = &self.cluster.services[i].service.selector
        {
            for (k, v) in sel {
                let key = (id.namespace.clone(), k.clone(), v.clone());
                if let Some(set) = self.services_by_label.get_mut(&key) {
                    set.remove(id);
                    if set.is_empty() {
                        self.services_by_label.remove(&key);
                    }
                }
            }
        }
        if let Some(sel) = resolved.as_ref().and_then(|r| r.service.selector.as_ref()) {
            for (k, v) in sel {
                let key = (id.namespace.clone(), k.clone(), v.clone());
                self.services_by_label
                    .entry(key)
                    .or_default()
                    .insert(id.clone());
            }
        }
        put(&mut self.cluster.services, pos, resolved);
        self.derive(id);
        // Inserted, not `BTreeSet::from`: its bulk building is more code in the wasm build.
        let mut touched = BTreeSet::new();
        touched.insert(id.clone());
        Ok(self.replan(&touched))
    }

    fn slice_changed(&mut self, old: Option<Object>, new: Option<Object>) -> Vec<Op> {
        let mut touched = BTreeSet::new();
        for o in old.iter().chain(new.iter()) {
            let Object::EndpointSlice(s) = o else {
                continue;
            };
            let Some(name) = &s.service else { continue };
            let key = (s.meta.id.namespace.clone(), name.clone(), String::new());
            let set = self.slices_by_service.entry(key).or_default();
            if new.as_ref() == Some(o) {
                set.insert(s.meta.id.clone());
            } else {
                set.remove(&s.meta.id);
            }
            let svc = ObjectRef::new(s.meta.id.namespace.clone(), name.clone());
            // kube-proxy merges every slice labelled with the Service's name.
            if self.cluster.service(&svc).is_some() {
                touched.insert(svc);
            }
        }
        for s in &touched {
            self.derive(s);
        }
        self.replan(&touched)
    }

    /// The EndpointSlices labelled with a Service's name, by name.
    fn slices_of<'a>(&'a self, id: &ObjectRef) -> impl Iterator<Item = &'a EndpointSlice> {
        let key = (id.namespace.clone(), id.name.clone(), String::new());
        self.slices_by_service
            .get(&key)
            .into_iter()
            .flatten()
            .filter_map(|s| self.store.slices.get(s))
    }

    /// Re-derives one Service's endpoints from the Pods or slices.
    fn derive(&mut self, id: &ObjectRef) {
        let Ok(i) = self.cluster.services.binary_search_by(|s| s.id().cmp(id)) else {
            return;
        };
        let svc = &self.cluster.services[i];
        let backends = if svc.service.kind == ServiceType::ExternalName {
            Vec::new()
        } else if let Some(selector) = &svc.service.selector {
            let ns = &svc.service.meta.id.namespace;
            let mut sets = Vec::new();
            for (k, v) in selector {
                match self.pods_by_label.get(&(ns.clone(), k.clone(), v.clone())) {
                    Some(s) => sets.push(s),
                    None => {
                        sets.clear();
                        break;
                    }
                }
            }
            crate::sort::sort_by_key(&mut sets, |s| s.len());
            let mut out = Vec::new();
            if let Some((first, rest)) = sets.split_first() {
                for pid in first.iter().filter(|p| rest.iter().all(|s| s.contains(*p))) {
                    if let Some(pod) = self.cluster.pod(pid) {
                        pod_backends(svc, pod, |n| self.cluster.node(n).is_some(), &mut out);
                    }
                }
            }
            crate::sort::sort_by_key(&mut out, |a| a.address);
            out.extend(slice_backends(svc, &mut self.slices_of(svc.id())));
            out
        } else {
            slice_backends(svc, &mut self.slices_of(svc.id()))
        };
        self.cluster.services[i].backends = backends;
    }

    /// Re-plans the virtual servers of `services` on the node; returns the operations and
    /// updates the dataplane state.
    fn replan(&mut self, services: &BTreeSet<ObjectRef>) -> Vec<Op> {
        let Some(node) = &self.node else {
            return Vec::new();
        };
        // The node's rule limit: while no Service is skipped and the changed ones fit, only
        // they are planned again; otherwise which Services fit may change anywhere, and the
        // node is planned whole (as [`plan::plan`] does, Services in order).
        let mut used = self.used;
        let mut rules = Vec::with_capacity(services.len());
        for id in services {
            let n = self
                .cluster
                .service(id)
                .map_or_else(plan::Rules::default, |svc| {
                    plan::service_rules(svc, &node.meta.id.name, &node.addresses)
                });
            used = used
                .minus(
                    self.vs
                        .get(id)
                        .map_or_else(plan::Rules::default, |p| p.rules),
                )
                .plus(n);
            rules.push(n);
        }
        if !self.skipped.is_empty() || !used.within(self.cluster.config.max_node_rules) {
            return self.plan_all(true);
        }
        self.used = used;
        // Sorted and made unique below (a list: no set type of its own in the wasm build).
        let mut keys: Vec<VsKey> = Vec::new();
        let mut addresses: BTreeSet<IpAddr> = BTreeSet::new();
        for (id, n) in services.iter().zip(rules) {
            let list = match self.cluster.service(id) {
                Some(svc) => plan::service_virtual_servers(
                    &self.cluster,
                    svc,
                    &node.meta.id.name,
                    &node.addresses,
                ),
                None => Vec::new(),
            };
            let old = self.vs.remove(id).map(|p| p.list).unwrap_or_default();
            for vs in &old {
                keys.push(vs.key());
                let bind = plan::binds(node, vs);
                unclaim(&mut self.claims, &mut self.address_refs, id, vs, bind);
                if bind {
                    addresses.insert(vs.address);
                }
            }
            for vs in &list {
                keys.push(vs.key());
                let bind = plan::binds(node, vs);
                claim(&mut self.claims, &mut self.address_refs, id, vs, bind);
                if bind {
                    addresses.insert(vs.address);
                }
            }
            if !list.is_empty() {
                self.vs.insert(id.clone(), Planned::new(n, list));
            }
        }
        crate::sort::sort_unstable(&mut keys);
        keys.dedup();
        let mut before = State::default();
        let mut after = State::default();
        for k in &keys {
            if let Some(e) = self.state.virtual_servers.get(k) {
                before.virtual_servers.insert(*k, e.clone());
            }
            if let Some(vs) = self.effective(k) {
                after.virtual_servers.insert(*k, diff::entry(vs));
            }
        }
        for a in addresses {
            if self.state.addresses.contains(&a) {
                before.addresses.insert(a);
            }
            if self.address_refs.contains_key(&a) {
                after.addresses.insert(a);
            }
        }
        let ops = diff::diff(&before, &after);
        self.commit(&ops, &after);
        ops
    }

    /// The virtual server that holds `key`: the first claiming Service's.
    fn effective(&self, key: &VsKey) -> Option<&VirtualServer> {
        let owner = self.claims.get(key)?.first()?;
        self.vs.get(owner)?.get(key)
    }

    /// Applies `ops` to the state and the kernel order; `after` has the new real servers of
    /// the virtual servers the operations create (in the plan's order).
    fn commit(&mut self, ops: &[Op], after: &State) {
        let mut added: BTreeMap<VsKey, Vec<RsKey>> = BTreeMap::new();
        // A run of real servers deleted from one virtual server, taken out of its list in one
        // pass (one pass each was quadratic in the real servers).
        let mut deleting: Option<(VsKey, Vec<RsKey>)> = None;
        let flush = |order: &mut BTreeMap<VsKey, Vec<RsKey>>,
                     run: &mut Option<(VsKey, Vec<RsKey>)>| {
            if let Some((k, mut gone)) = run.take()
                && let Some(o) = order.get_mut(&k)
            {
                crate::sort::sort_unstable(&mut gone);
                o.retain(|r| gone.binary_search(r).is_err());
            }
        };
        for op in ops {
            if let Op::DeleteRealServer { key, real_server } = op {
                let k = VsKey::from(*key);
                match &mut deleting {
                    Some((run, gone)) if *run == k => gone.push(*real_server),
                    _ => {
                        flush(&mut self.order, &mut deleting);
                        deleting = Some((k, alloc::vec![*real_server]));
                    }
                }
                continue;
            }
            flush(&mut self.order, &mut deleting);
            match op {
                Op::AddVirtualServer { key, .. } => {
                    let k = VsKey::from(*key);
                    let rs = after
                        .virtual_servers
                        .get(&k)
                        .map(|(_, rs)| rs.keys().copied().collect())
                        .unwrap_or_default();
                    self.order.insert(k, rs);
                    added.insert(k, Vec::new());
                }
                Op::DeleteVirtualServer { key } => {
                    self.order.remove(&VsKey::from(*key));
                }
                Op::AddRealServer {
                    key, real_server, ..
                } => {
                    let k = VsKey::from(*key);
                    // The list was set from `after` when the virtual server was added.
                    if let Some(list) = added.get(&k)
                        && list.is_empty()
                        && after
                            .virtual_servers
                            .get(&k)
                            .is_some_and(|(_, rs)| rs.contains_key(real_server))
                    {
                        continue; // created in one go, in the plan's order
                    }
                    added.entry(k).or_default().push(*real_server);
                }
                _ => {}
            }
        }
        flush(&mut self.order, &mut deleting);
        // Real servers added to an existing list: the agent sends them in reverse, the kernel
        // puts each at the head, so they lead the list in the plan's order.
        for (k, new) in added {
            if new.is_empty() {
                continue;
            }
            let o = self.order.entry(k).or_default();
            let mut list = new;
            list.extend(o.iter().copied());
            *o = list;
        }
        if let Err(e) = diff::apply(&mut self.state, ops) {
            debug_assert!(false, "live state out of step: {e:?}");
        }
    }

    /// Rebuilds the cluster from the store, keeping allocations and placements, and re-plans
    /// every Service.
    fn rebuild(&mut self) -> Result<Vec<Op>, Errors> {
        let (cluster, derived) = Cluster::build_counting(
            self.store.objects(),
            self.cluster.config.clone(),
            &self.tweaks,
            Some(&self.cluster),
        )?;
        Ok(self.adopt(cluster, derived, true))
    }

    /// Takes `cluster` (built from the store, its last `derived` warnings the
    /// [`super::derived_warnings`]) as the current one and re-plans every Service: the
    /// operations (none when `want_ops` is false and the state was empty).
    fn adopt(&mut self, cluster: Cluster, derived: usize, want_ops: bool) -> Vec<Op> {
        self.base_warnings = cluster.warnings[..cluster.warnings.len() - derived].to_vec();
        self.cluster = cluster;
        let name = self
            .want_node
            .clone()
            .unwrap_or_else(|| plan::default_node(&self.cluster).into());
        self.node = self.cluster.node(&name).cloned();
        self.index();
        self.plan_all(want_ops)
    }

    /// Re-plans every Service on the node, in order within its rule limit: the operations
    /// from the state (none when `want_ops` is false and the state was empty).
    fn plan_all(&mut self, want_ops: bool) -> Vec<Op> {
        let mut after = State::default();
        self.vs.clear();
        self.claims.clear();
        self.address_refs.clear();
        let mut budget = plan::Budget::new(&self.cluster.config);
        let mut used = plan::Rules::default();
        if let Some(node) = &self.node {
            let name = &node.meta.id.name;
            let admitted = budget.decide(&self.cluster.services, name, &node.addresses);
            for (i, svc) in self.cluster.services.iter().enumerate() {
                if !admitted.fits(i) {
                    continue;
                }
                let list = plan::service_virtual_servers(&self.cluster, svc, name, &node.addresses);
                let rules = plan::Rules::of(&list);
                used = used.plus(rules);
                for vs in &list {
                    let bind = plan::binds(node, vs);
                    claim(&mut self.claims, &mut self.address_refs, svc.id(), vs, bind);
                }
                if !list.is_empty() {
                    self.vs.insert(svc.id().clone(), Planned::new(rules, list));
                }
            }
            for k in self.claims.keys() {
                if let Some(vs) = self.effective(k) {
                    after.virtual_servers.insert(*k, diff::entry(vs));
                }
            }
            after.addresses = self.address_refs.keys().copied().collect_set();
        }
        self.used = used;
        self.skipped = budget.skipped;
        if !want_ops && self.state == State::default() {
            // A new live cluster: the state is the plan's, each list in the plan's order (what
            // committing the operations from an empty kernel gives), with no operations made.
            self.order = after
                .virtual_servers
                .iter()
                .map(|(k, (_, rs))| (*k, rs.keys().copied().collect()))
                .collect_map();
            self.state = after;
            return Vec::new();
        }
        let ops = diff::diff(&self.state, &after);
        self.commit(&ops, &after);
        ops
    }

    /// The indexes, from the cluster and the store.
    fn index(&mut self) {
        self.services_by_label.clear();
        for svc in &self.cluster.services {
            let Some(sel) = &svc.service.selector else {
                continue;
            };
            for (k, v) in sel {
                let key = (svc.id().namespace.clone(), k.clone(), v.clone());
                self.services_by_label
                    .entry(key)
                    .or_default()
                    .insert(svc.id().clone());
            }
        }
        self.pods_by_label.clear();
        self.made_ips.clear();
        for p in &self.cluster.pods {
            index_pod(&mut self.pods_by_label, p);
            if !self.store.pods.contains_key(&p.meta.id) || !p.status_given {
                self.made_ips.extend(p.ips.iter().copied());
            }
        }
        self.slices_by_service.clear();
        for s in self.store.slices.values() {
            if let Some(name) = &s.service {
                self.slices_by_service
                    .entry((s.meta.id.namespace.clone(), name.clone(), String::new()))
                    .or_default()
                    .insert(s.meta.id.clone());
            }
        }
        self.node_refs.clear();
        for p in self.store.pods.values() {
            if let Some(n) = &p.node_name {
                *self.node_refs.entry(n.clone()).or_default() += 1;
            }
        }
    }
}

/// The errors of objects with repeated names: the one-shot build's words where it has them.
fn invalid(objects: &Objects, config: &Config, again: &Object) -> LiveError {
    match Cluster::build(objects.clone(), config.clone()) {
        Err(e) => LiveError::Invalid(e),
        Ok(_) => {
            let msg = crate::msg!(
                "{} \"{}\": defined twice",
                again.kind().as_str(),
                again.id()
            );
            let loc = again.loc().clone();
            LiveError::Invalid(Errors(alloc::vec![Diagnostic::error(
                crate::diag::Kind::Conflict,
                Some(loc),
                msg
            )]))
        }
    }
}

/// Replaces, removes or inserts at the place a binary search found in a sorted list.
fn put<T>(list: &mut Vec<T>, pos: Result<usize, usize>, new: Option<T>) {
    match (pos, new) {
        (Ok(i), Some(x)) => list[i] = x,
        (Ok(i), None) => {
            list.remove(i);
        }
        (Err(i), Some(x)) => list.insert(i, x),
        (Err(_), None) => {}
    }
}

fn index_pod(index: &mut BTreeMap<LabelKey, BTreeSet<ObjectRef>>, p: &Pod) {
    for (k, v) in &p.meta.labels {
        index
            .entry((p.meta.id.namespace.clone(), k.clone(), v.clone()))
            .or_default()
            .insert(p.meta.id.clone());
    }
}

fn unindex_pod(index: &mut BTreeMap<LabelKey, BTreeSet<ObjectRef>>, p: &Pod) {
    for (k, v) in &p.meta.labels {
        let key = (p.meta.id.namespace.clone(), k.clone(), v.clone());
        if let Some(set) = index.get_mut(&key) {
            set.remove(&p.meta.id);
            if set.is_empty() {
                index.remove(&key);
            }
        }
    }
}

fn claim(
    claims: &mut BTreeMap<VsKey, BTreeSet<ObjectRef>>,
    refs: &mut BTreeMap<IpAddr, u64>,
    id: &ObjectRef,
    vs: &VirtualServer,
    bind: bool,
) {
    claims.entry(vs.key()).or_default().insert(id.clone());
    if bind {
        *refs.entry(vs.address).or_default() += 1;
    }
}

fn unclaim(
    claims: &mut BTreeMap<VsKey, BTreeSet<ObjectRef>>,
    refs: &mut BTreeMap<IpAddr, u64>,
    id: &ObjectRef,
    vs: &VirtualServer,
    bind: bool,
) {
    if let Some(set) = claims.get_mut(&vs.key()) {
        set.remove(id);
        if set.is_empty() {
            claims.remove(&vs.key());
        }
    }
    if bind && let Some(n) = refs.get_mut(&vs.address) {
        *n -= 1;
        if *n == 0 {
            refs.remove(&vs.address);
        }
    }
}
