//! Checked Kubernetes objects: what the manifest reader produces once a raw object has been
//! validated. After this point nothing re-checks syntax, and nothing panics.
//!
//! Only the fields that influence routing are kept. Defaults are applied as the API server
//! applies them (a Service port's `protocol` is TCP, its `targetPort` is its `port`, …).

pub mod config;
pub mod labels;
pub mod validation;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::IpAddr;

use ipnet::IpNet;

use crate::diag::Loc;
use crate::labels::{Labels, Selector};

/// A namespaced name, printed `namespace/name`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ObjectRef {
    /// The namespace (`default` when the manifest gives none).
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl ObjectRef {
    /// A reference to `namespace/name`.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ObjectRef {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The metadata svcroute uses.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Meta {
    /// Namespace and name (for Nodes the namespace is empty).
    pub id: ObjectRef,
    /// Labels.
    pub labels: Labels,
    /// Set when the object is being deleted (`metadata.deletionTimestamp`).
    pub deleting: bool,
    /// The controller owner reference (`kind`, `name`), when there is one.
    pub controller: Option<(String, String)>,
    /// Where the object starts.
    pub loc: Loc,
}

/// L4 protocol of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// As the API writes it: `TCP`, `UDP`, `SCTP`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }

    /// Parses the API spelling (case-sensitive, as the API server is).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// IP family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(ip: &IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The family of a prefix.
    pub fn of_net(net: &IpNet) -> Family {
        match net {
            IpNet::V4(_) => Family::V4,
            IpNet::V6(_) => Family::V6,
        }
    }

    /// `IPv4` or `IPv6`, as `spec.ipFamilies` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// `spec.type` of a Service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceType {
    /// A virtual IP inside the cluster (the default).
    ClusterIp,
    /// ClusterIP plus a port on every node.
    NodePort,
    /// NodePort plus an external load balancer's addresses.
    LoadBalancer,
    /// A DNS alias to a name outside the cluster.
    ExternalName,
}

impl ServiceType {
    /// As the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::ClusterIp => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
            ServiceType::ExternalName => "ExternalName",
        }
    }
}

/// `spec.ipFamilyPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpFamilyPolicy {
    /// One family (the default).
    SingleStack,
    /// Both families when the cluster has both.
    PreferDualStack,
    /// Both families, or an error.
    RequireDualStack,
}

/// `externalTrafficPolicy` / `internalTrafficPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TrafficPolicy {
    /// Any ready endpoint in the cluster (the default).
    #[default]
    Cluster,
    /// Only endpoints on the node that received the traffic.
    Local,
}

/// A Service port's `targetPort`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TargetPort {
    /// A port number.
    Number(u16),
    /// A container port name, resolved per Pod.
    Name(String),
}

/// One entry of `spec.ports`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePort {
    /// The port's name (may be empty when the Service has one port).
    pub name: String,
    /// Its protocol.
    pub protocol: Protocol,
    /// The Service port.
    pub port: u16,
    /// Where traffic goes on the Pods.
    pub target_port: TargetPort,
    /// The node port, when the manifest sets one.
    pub node_port: Option<u16>,
    /// Where `nodePort` was written (for allocation conflicts).
    pub node_port_loc: Option<Loc>,
}

/// One `status.loadBalancer.ingress` entry that has an IP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadBalancerIngress {
    /// The address.
    pub ip: IpAddr,
    /// `ipMode: Proxy` means the load balancer delivers to the node, not to the VIP: kube-proxy
    /// then programs no virtual server for it (KEP-1860).
    pub proxy_mode: bool,
}

/// A checked Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// Metadata.
    pub meta: Meta,
    /// `spec.type`.
    pub kind: ServiceType,
    /// `spec.selector`; `None` when absent or empty (then EndpointSlices come from the input).
    pub selector: Option<Labels>,
    /// `spec.clusterIPs` (or `spec.clusterIP`) as written; empty means "allocate".
    pub cluster_ips: Vec<IpAddr>,
    /// `clusterIP: None`.
    pub headless: bool,
    /// Where `spec.clusterIP(s)` was written.
    pub cluster_ip_loc: Option<Loc>,
    /// `spec.ipFamilies` as written.
    pub ip_families: Vec<Family>,
    /// `spec.ipFamilyPolicy` as written.
    pub ip_family_policy: Option<IpFamilyPolicy>,
    /// `spec.ports`.
    pub ports: Vec<ServicePort>,
    /// `spec.externalIPs`.
    pub external_ips: Vec<IpAddr>,
    /// `spec.externalName`.
    pub external_name: Option<String>,
    /// `sessionAffinity: ClientIP` with its timeout in seconds.
    pub affinity_timeout: Option<u32>,
    /// `spec.externalTrafficPolicy`.
    pub external_traffic_policy: TrafficPolicy,
    /// `spec.internalTrafficPolicy`.
    pub internal_traffic_policy: TrafficPolicy,
    /// Where `spec.ipFamilyPolicy` was written (for errors about it).
    pub ip_family_policy_loc: Option<Loc>,
    /// `spec.publishNotReadyAddresses`.
    pub publish_not_ready: bool,
    /// `spec.allocateLoadBalancerNodePorts` (default true).
    pub allocate_lb_node_ports: bool,
    /// `spec.healthCheckNodePort` as written.
    pub health_check_node_port: Option<u16>,
    /// `status.loadBalancer.ingress` addresses (plus a deprecated `spec.loadBalancerIP` when
    /// the status has none, as a bare-metal load balancer would publish it).
    pub lb_ingress: Vec<LoadBalancerIngress>,
    /// `spec.loadBalancerSourceRanges` (LoadBalancer only), host bits cleared: the clients
    /// kube-proxy lets reach the load balancer IPs (a firewall, not IPVS: see `netfilter`).
    pub lb_source_ranges: Vec<IpNet>,
}

impl Service {
    /// Whether the Service is reachable from outside the cluster (NodePort, LoadBalancer, or
    /// externalIPs): then `externalTrafficPolicy` applies.
    pub fn externally_accessible(&self) -> bool {
        matches!(self.kind, ServiceType::NodePort | ServiceType::LoadBalancer)
            || (self.kind == ServiceType::ClusterIp && !self.external_ips.is_empty())
    }

    /// Whether the Service gets node ports.
    pub fn wants_node_ports(&self) -> bool {
        match self.kind {
            ServiceType::NodePort => true,
            ServiceType::LoadBalancer => self.allocate_lb_node_ports,
            _ => false,
        }
    }
}

/// A named container port of a Pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerPort {
    /// The name (may be empty).
    pub name: String,
    /// The port.
    pub port: u16,
    /// Its protocol.
    pub protocol: Protocol,
}

/// `status.phase` of a Pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PodPhase {
    /// Not all containers started.
    Pending,
    /// Bound and started.
    Running,
    /// All containers exited with success.
    Succeeded,
    /// All containers exited, one in failure.
    Failed,
    /// Unknown.
    Unknown,
}

/// A checked Pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pod {
    /// Metadata.
    pub meta: Meta,
    /// `spec.nodeName`.
    pub node_name: Option<String>,
    /// `spec.hostname`.
    pub hostname: Option<String>,
    /// `spec.subdomain`.
    pub subdomain: Option<String>,
    /// Container ports, over all containers.
    pub ports: Vec<ContainerPort>,
    /// `status.phase` (Pending when absent).
    pub phase: PodPhase,
    /// `status.podIPs` (or `status.podIP`).
    pub ips: Vec<IpAddr>,
    /// The `Ready` condition is True.
    pub ready: bool,
    /// Made by svcroute from a workload (not in the input).
    pub synthesized: bool,
    /// `spec.hostNetwork`: the Pod shares its Node's network namespace and addresses.
    pub host_network: bool,
    /// The manifest carries a `status` (as `kubectl get` prints it). A Pod written without one
    /// is started as the scheduler and the kubelet would: placed on a Node, given an address,
    /// Running and Ready.
    pub status_given: bool,
    /// `spec.tolerations`.
    pub tolerations: Vec<Toleration>,
}

/// What a taint does to Pods that do not tolerate it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaintEffect {
    /// New Pods are not scheduled onto the Node.
    NoSchedule,
    /// The scheduler avoids the Node when it can (a preference: svcroute ignores it).
    PreferNoSchedule,
    /// New Pods are not scheduled and running ones are evicted.
    NoExecute,
}

impl TaintEffect {
    /// Parses the API spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "NoSchedule" => Some(TaintEffect::NoSchedule),
            "PreferNoSchedule" => Some(TaintEffect::PreferNoSchedule),
            "NoExecute" => Some(TaintEffect::NoExecute),
            _ => None,
        }
    }
}

/// One of a Node's `spec.taints`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Taint {
    /// The key.
    pub key: String,
    /// The value (may be empty).
    pub value: String,
    /// The effect.
    pub effect: TaintEffect,
}

/// One of a Pod's `spec.tolerations`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Toleration {
    /// The key; empty with `exists` matches every key.
    pub key: String,
    /// `operator: Exists` (else `Equal`, the default).
    pub exists: bool,
    /// The value `Equal` compares.
    pub value: String,
    /// The effect it tolerates; `None` tolerates every effect.
    pub effect: Option<TaintEffect>,
}

impl Toleration {
    /// `ToleratesTaint` of `k8s.io/api/core/v1` (`toleration.go`).
    pub fn tolerates(&self, t: &Taint) -> bool {
        if self.effect.is_some_and(|e| e != t.effect) {
            return false;
        }
        if !self.key.is_empty() && self.key != t.key {
            return false;
        }
        self.exists || self.value == t.value
    }
}

/// A checked Node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Metadata (namespace empty).
    pub meta: Meta,
    /// InternalIP and ExternalIP addresses, in the order given.
    pub addresses: Vec<IpAddr>,
    /// `spec.podCIDRs` (or `spec.podCIDR`).
    pub pod_cidrs: Vec<IpNet>,
    /// Made by svcroute because the input had no Nodes.
    pub synthesized: bool,
    /// `spec.unschedulable` (cordoned).
    pub unschedulable: bool,
    /// `spec.taints`.
    pub taints: Vec<Taint>,
    /// The `Ready` condition: `Some(false)` when False or Unknown, `None` when not reported.
    pub ready: Option<bool>,
}

/// The conditions of an endpoint, as the EndpointSlice API defines them (`None` = unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Conditions {
    /// `ready`.
    pub ready: Option<bool>,
    /// `serving`.
    pub serving: Option<bool>,
    /// `terminating`.
    pub terminating: Option<bool>,
}

impl Conditions {
    /// "nil should be interpreted as true" for ready.
    pub fn is_ready(&self) -> bool {
        self.ready.unwrap_or(true)
    }

    /// A nil serving is true (kube-proxy's `endpointslicecache.go`).
    pub fn is_serving(&self) -> bool {
        self.serving.unwrap_or(true)
    }

    /// A nil terminating is false.
    pub fn is_terminating(&self) -> bool {
        self.terminating.unwrap_or(false)
    }
}

/// One endpoint of a slice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Its addresses (kube-proxy uses the first).
    pub addresses: Vec<IpAddr>,
    /// Its conditions.
    pub conditions: Conditions,
    /// `hostname`, for headless DNS.
    pub hostname: Option<String>,
    /// `nodeName`.
    pub node_name: Option<String>,
    /// The Pod it stands for (`targetRef`), when it is one.
    pub pod: Option<ObjectRef>,
}

/// One port of a slice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointPort {
    /// Matches the Service port's name.
    pub name: String,
    /// Protocol.
    pub protocol: Protocol,
    /// The port on the endpoints.
    pub port: u16,
}

/// A checked EndpointSlice (legacy Endpoints objects are converted into these, as the
/// EndpointSlice mirroring controller does).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointSlice {
    /// Metadata.
    pub meta: Meta,
    /// The Service it belongs to (label `kubernetes.io/service-name`).
    pub service: Option<String>,
    /// `addressType`: IPv4, IPv6 (FQDN slices are kept with `None` and ignored by the proxy).
    pub family: Option<Family>,
    /// Endpoints.
    pub endpoints: Vec<Endpoint>,
    /// Ports.
    pub ports: Vec<EndpointPort>,
}

/// The kinds of workload svcroute turns into Pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WorkloadKind {
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 ReplicaSet.
    ReplicaSet,
    /// apps/v1 StatefulSet.
    StatefulSet,
    /// apps/v1 DaemonSet.
    DaemonSet,
}

impl WorkloadKind {
    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::ReplicaSet => "ReplicaSet",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
        }
    }
}

/// A checked workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    /// Which kind.
    pub kind: WorkloadKind,
    /// Metadata.
    pub meta: Meta,
    /// `spec.replicas` (default 1; DaemonSets ignore it).
    pub replicas: u32,
    /// `spec.selector`.
    pub selector: Selector,
    /// `spec.template.metadata.labels`.
    pub template_labels: Labels,
    /// Container ports of the template.
    pub ports: Vec<ContainerPort>,
    /// `spec.template.spec.hostname`.
    pub hostname: Option<String>,
    /// `spec.template.spec.subdomain`.
    pub subdomain: Option<String>,
    /// `spec.template.spec.nodeSelector`.
    pub node_selector: Labels,
    /// `spec.template.spec.hostNetwork`.
    pub host_network: bool,
    /// StatefulSet `spec.serviceName`.
    pub service_name: Option<String>,
    /// A hash of the Pod template, the source of `pod-template-hash`.
    pub template_hash: u32,
    /// `spec.template.spec.tolerations`.
    pub tolerations: Vec<Toleration>,
}

/// Everything read from the manifests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Objects {
    /// Services.
    pub services: Vec<Service>,
    /// Pods.
    pub pods: Vec<Pod>,
    /// Nodes.
    pub nodes: Vec<Node>,
    /// EndpointSlices (and converted Endpoints).
    pub slices: Vec<EndpointSlice>,
    /// Deployments, ReplicaSets, StatefulSets, DaemonSets.
    pub workloads: Vec<Workload>,
}

impl Objects {
    /// Appends everything of `other`.
    pub fn extend(&mut self, other: Objects) {
        /// Appends, or takes `b` whole when `a` is empty (no copy of a large list).
        fn append<T>(a: &mut Vec<T>, mut b: Vec<T>) {
            if a.is_empty() {
                *a = b;
            } else {
                a.append(&mut b);
            }
        }
        append(&mut self.services, other.services);
        append(&mut self.pods, other.pods);
        append(&mut self.nodes, other.nodes);
        append(&mut self.slices, other.slices);
        append(&mut self.workloads, other.workloads);
    }
}
