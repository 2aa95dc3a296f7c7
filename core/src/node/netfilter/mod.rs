//! The netfilter half of kube-proxy's IPVS mode, expressed in nftables.
//!
//! kube-proxy's IPVS mode programs IPVS *and* iptables + ipsets: it masquerades traffic that
//! would otherwise return by another path, accepts forwarded service traffic under a DROP
//! policy, filters `loadBalancerSourceRanges` and keeps VIPs on `kube-ipvs0` from exposing the
//! node's own sockets (K `pkg/proxy/ipvs/proxier.go`, `syncProxyRules` and
//! `writeIptablesRules`). svcroute writes the same decisions as one nftables table per family
//! (`ip svcroute`, `ip6 svcroute`): every ipset becomes a named set with the same elements, and
//! every iptables rule a rule of the table (see [`rules`]).
//!
//! The rules depend only on the [`Options`] (kube-proxy's flags) and the family; the Services
//! and endpoints only change set elements. So an endpoint change is a set-element change
//! ([`diff`]), never a rewrite of the table, and the table's rules can be checked once.
//!
//! Differences from kube-proxy's iptables, on purpose:
//! - rules that kube-proxy writes only while their ipset is non-empty are always present (a
//!   lookup in an empty set matches nothing, so the behaviour is the same and the rules never
//!   change with the Services);
//! - SCTP NodePorts share the `(protocol, port)` set with TCP and UDP (kube-proxy uses
//!   `hash:ip,port` with every node IP for SCTP because `bitmap:port` cannot hold SCTP); the
//!   rule that uses it only runs for local destinations, as kube-proxy's does;
//! - `-m physdev ! --physdev-is-in` (bridge netfilter) has no nftables equivalent and is left
//!   out of the externalIP ACCEPT rule; the `fib saddr type != local` half is kept;
//! - `-m ipvs --vaddr` (KUBE-IPVS-OUT-FILTER) is replaced by a filter chain on the output
//!   hook that runs before IPVS (priority `dstnat - 10`), where the destination is still the
//!   load balancer IP.

pub mod conntrack;
pub mod diff;
pub mod render;
pub mod rules;

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::IpAddr;

use ipnet::IpNet;

use crate::cluster::{Cluster, ResolvedService};
use crate::model::{Family, Protocol, ServiceType, TrafficPolicy};
use crate::plan::{Plan, VsKind};
use crate::sort::CollectSorted as _;

/// The name of the agent's table in each family.
pub const TABLE: &str = "svcroute";

/// kube-proxy's flags that shape the netfilter rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// `--masquerade-all`: SNAT all traffic sent to ClusterIPs.
    pub masquerade_all: bool,
    /// `--cluster-cidr`: at most one per family. Traffic to a ClusterIP from outside it is
    /// masqueraded (kube-proxy's `--detect-local-mode=ClusterCIDR`).
    pub cluster_cidrs: Vec<IpNet>,
    /// `--iptables-masquerade-bit` (default 14): the packet mark bit meaning "SNAT me".
    pub masquerade_bit: u8,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            masquerade_all: false,
            cluster_cidrs: Vec::new(),
            masquerade_bit: 14,
        }
    }
}

/// A bad combination of [`Options`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionsError {
    /// Two `--cluster-cidr` of one family.
    TwoClusterCidrs(IpNet, IpNet),
    /// `--iptables-masquerade-bit` outside 0..=31.
    MasqueradeBit(u8),
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionsError::TwoClusterCidrs(a, b) => write!(
                f,
                "--cluster-cidr: at most one CIDR per IP family, got {a} and {b}"
            ),
            OptionsError::MasqueradeBit(b) => {
                write!(f, "--iptables-masquerade-bit: {b} is not in 0..31")
            }
        }
    }
}

impl core::error::Error for OptionsError {}

impl Options {
    /// Checks the flags as kube-proxy's validation does (one cluster CIDR per family,
    /// masquerade bit 0–31).
    pub fn validate(&self) -> Result<(), OptionsError> {
        if self.masquerade_bit > 31 {
            return Err(OptionsError::MasqueradeBit(self.masquerade_bit));
        }
        for (i, a) in self.cluster_cidrs.iter().enumerate() {
            if let Some(b) = self.cluster_cidrs[i + 1..]
                .iter()
                .find(|b| Family::of_net(b) == Family::of_net(a))
            {
                return Err(OptionsError::TwoClusterCidrs(*a, *b));
            }
        }
        Ok(())
    }

    /// The masquerade mark, `1 << bit` (0x4000 by default).
    pub fn mark(&self) -> u32 {
        1u32 << (self.masquerade_bit & 31)
    }

    /// The cluster CIDR of `family`, if one was given.
    pub fn cluster_cidr(&self, family: Family) -> Option<IpNet> {
        self.cluster_cidrs
            .iter()
            .find(|n| Family::of_net(n) == family)
            .map(|n| n.trunc())
    }
}

/// The agent's sets, each standing for one of kube-proxy's ipsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SetId {
    /// KUBE-CLUSTER-IP: ClusterIP . protocol . port.
    ClusterIp,
    /// KUBE-EXTERNAL-IP: externalIP . protocol . port, `externalTrafficPolicy: Cluster`.
    ExternalIp,
    /// KUBE-EXTERNAL-IP-LOCAL: the same with `externalTrafficPolicy: Local`.
    ExternalIpLocal,
    /// KUBE-LOAD-BALANCER: every load balancer IP . protocol . port.
    LoadBalancer,
    /// KUBE-LOAD-BALANCER-LOCAL: those with `externalTrafficPolicy: Local`.
    LoadBalancerLocal,
    /// KUBE-LOAD-BALANCER-FW: those with `loadBalancerSourceRanges`.
    LoadBalancerFw,
    /// KUBE-LOAD-BALANCER-SOURCE-CIDR: LB IP . protocol . port . allowed source range.
    LoadBalancerSourceCidr,
    /// KUBE-LOAD-BALANCER-SOURCE-IP: LB IP . protocol . port . LB IP, when a source range
    /// holds the node's IP (the node reaching its own VIP has the VIP as source).
    LoadBalancerSourceIp,
    /// The entries of KUBE-IPVS-OUT-FILTER: LB IP . protocol . port . LB IP when no source
    /// range holds the node's IP (the node may not bypass the ranges through its own VIP).
    LoadBalancerNoNodeAccess,
    /// KUBE-LOOP-BACK: endpoint IP . protocol . port . endpoint IP, for this node's
    /// endpoints (hairpin).
    LoopBack,
    /// KUBE-NODE-PORT-TCP/-UDP/-SCTP-HASH: protocol . node port.
    NodePort,
    /// KUBE-NODE-PORT-LOCAL-*: those with `externalTrafficPolicy: Local`.
    NodePortLocal,
    /// KUBE-HEALTH-CHECK-NODE-PORT: `healthCheckNodePort`s (TCP).
    HealthCheckNodePort,
    /// KUBE-IPVS-IPS: the addresses bound to `kube-ipvs0`.
    IpvsIps,
}

/// What a set's elements are made of (its key, in concatenation order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// An address.
    Addr,
    /// A port.
    Port,
    /// Protocol . port.
    ProtoPort,
    /// Address . protocol . port.
    AddrProtoPort,
    /// Address . protocol . port . address.
    AddrProtoPortAddr,
    /// Address . protocol . port . network (an interval set).
    AddrProtoPortNet,
}

impl SetId {
    /// Every set, in the order the table declares them.
    pub const ALL: [SetId; 14] = [
        SetId::ClusterIp,
        SetId::ExternalIp,
        SetId::ExternalIpLocal,
        SetId::LoadBalancer,
        SetId::LoadBalancerLocal,
        SetId::LoadBalancerFw,
        SetId::LoadBalancerSourceCidr,
        SetId::LoadBalancerSourceIp,
        SetId::LoadBalancerNoNodeAccess,
        SetId::LoopBack,
        SetId::NodePort,
        SetId::NodePortLocal,
        SetId::HealthCheckNodePort,
        SetId::IpvsIps,
    ];

    /// The set's name in the table.
    pub fn name(self) -> &'static str {
        match self {
            SetId::ClusterIp => "cluster-ip",
            SetId::ExternalIp => "external-ip",
            SetId::ExternalIpLocal => "external-ip-local",
            SetId::LoadBalancer => "load-balancer",
            SetId::LoadBalancerLocal => "load-balancer-local",
            SetId::LoadBalancerFw => "load-balancer-fw",
            SetId::LoadBalancerSourceCidr => "load-balancer-source-cidr",
            SetId::LoadBalancerSourceIp => "load-balancer-source-ip",
            SetId::LoadBalancerNoNodeAccess => "load-balancer-no-node-access",
            SetId::LoopBack => "loop-back",
            SetId::NodePort => "node-port",
            SetId::NodePortLocal => "node-port-local",
            SetId::HealthCheckNodePort => "health-check-node-port",
            SetId::IpvsIps => "ipvs-ips",
        }
    }

    /// The set with this name.
    pub fn from_name(name: &str) -> Option<SetId> {
        SetId::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The key's shape.
    pub fn key(self) -> KeyKind {
        match self {
            SetId::ClusterIp
            | SetId::ExternalIp
            | SetId::ExternalIpLocal
            | SetId::LoadBalancer
            | SetId::LoadBalancerLocal
            | SetId::LoadBalancerFw => KeyKind::AddrProtoPort,
            SetId::LoadBalancerSourceCidr => KeyKind::AddrProtoPortNet,
            SetId::LoadBalancerSourceIp | SetId::LoadBalancerNoNodeAccess | SetId::LoopBack => {
                KeyKind::AddrProtoPortAddr
            }
            SetId::NodePort | SetId::NodePortLocal => KeyKind::ProtoPort,
            SetId::HealthCheckNodePort => KeyKind::Port,
            SetId::IpvsIps => KeyKind::Addr,
        }
    }

    /// The set's comment: kube-proxy's ipset and its purpose.
    pub fn comment(self) -> &'static str {
        match self {
            SetId::ClusterIp => "KUBE-CLUSTER-IP: service cluster ip + port for masquerade purpose",
            SetId::ExternalIp => {
                "KUBE-EXTERNAL-IP: service external ip + port for masquerade and filter purpose"
            }
            SetId::ExternalIpLocal => {
                "KUBE-EXTERNAL-IP-LOCAL: service external ip + port with externalTrafficPolicy=local"
            }
            SetId::LoadBalancer => "KUBE-LOAD-BALANCER: load balancer ingress ip + port",
            SetId::LoadBalancerLocal => {
                "KUBE-LOAD-BALANCER-LOCAL: load balancer ingress ip + port with externalTrafficPolicy=local"
            }
            SetId::LoadBalancerFw => {
                "KUBE-LOAD-BALANCER-FW: load balancer ingress ip + port with loadBalancerSourceRanges"
            }
            SetId::LoadBalancerSourceCidr => {
                "KUBE-LOAD-BALANCER-SOURCE-CIDR: load balancer ingress ip + port + source cidr"
            }
            SetId::LoadBalancerSourceIp => {
                "KUBE-LOAD-BALANCER-SOURCE-IP: load balancer ingress ip + port + source ip (node ip in range)"
            }
            SetId::LoadBalancerNoNodeAccess => {
                "KUBE-IPVS-OUT-FILTER: load balancer ingress ip + port the node may not reach"
            }
            SetId::LoopBack => {
                "KUBE-LOOP-BACK: endpoints dst ip:port, source ip for solving hairpin purpose"
            }
            SetId::NodePort => "KUBE-NODE-PORT-*: protocol + nodeport for masquerade purpose",
            SetId::NodePortLocal => {
                "KUBE-NODE-PORT-LOCAL-*: protocol + nodeport with externalTrafficPolicy=local"
            }
            SetId::HealthCheckNodePort => "KUBE-HEALTH-CHECK-NODE-PORT: health check node port",
            SetId::IpvsIps => "KUBE-IPVS-IPS: addresses on the ipvs interface",
        }
    }
}

/// One set element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Element {
    /// An address.
    Addr(IpAddr),
    /// A port.
    Port(u16),
    /// Protocol . port.
    ProtoPort(Protocol, u16),
    /// Address . protocol . port.
    AddrProtoPort(IpAddr, Protocol, u16),
    /// Address . protocol . port . address.
    AddrProtoPortAddr(IpAddr, Protocol, u16, IpAddr),
    /// Address . protocol . port . network.
    AddrProtoPortNet(IpAddr, Protocol, u16, IpNet),
}

impl Element {
    /// The key shape this element has.
    pub fn key(&self) -> KeyKind {
        match self {
            Element::Addr(_) => KeyKind::Addr,
            Element::Port(_) => KeyKind::Port,
            Element::ProtoPort(..) => KeyKind::ProtoPort,
            Element::AddrProtoPort(..) => KeyKind::AddrProtoPort,
            Element::AddrProtoPortAddr(..) => KeyKind::AddrProtoPortAddr,
            Element::AddrProtoPortNet(..) => KeyKind::AddrProtoPortNet,
        }
    }
}

/// One family's table: the options its rules come from and its sets' elements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// `ip` or `ip6`.
    pub family: Family,
    /// The flags the rules come from.
    pub options: Options,
    /// Elements of every set (every [`SetId`] is present, maybe empty).
    pub sets: BTreeMap<SetId, BTreeSet<Element>>,
}

impl Table {
    /// A table with empty sets.
    pub fn empty(family: Family, options: &Options) -> Table {
        Table {
            family,
            options: options.clone(),
            sets: SetId::ALL
                .iter()
                .map(|s| (*s, BTreeSet::new()))
                .collect_map(),
        }
    }

    /// The elements of `set`.
    pub fn elements(&self, set: SetId) -> impl Iterator<Item = &Element> {
        self.sets.get(&set).into_iter().flatten()
    }

    fn add(&mut self, set: SetId, e: Element) {
        self.sets.entry(set).or_default().insert(e);
    }

    /// How many elements in all sets.
    pub fn element_count(&self) -> usize {
        self.sets.values().map(BTreeSet::len).sum()
    }
}

/// The node's netfilter plan: one table per IP family of the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetfilterPlan {
    /// The tables, IPv4 first.
    pub tables: Vec<Table>,
}

impl NetfilterPlan {
    /// The table of `family`.
    pub fn table(&self, family: Family) -> Option<&Table> {
        self.tables.iter().find(|t| t.family == family)
    }
}

/// The node's netfilter plan from its IPVS plan, as kube-proxy's IPVS mode fills its ipsets.
///
/// `plan` must be `cluster`'s plan for one node. The sets hold, per family:
/// ClusterIP / externalIP / load balancer / NodePort entries for every virtual server of the
/// plan (split by `externalTrafficPolicy` and source ranges), a loop-back entry for every
/// endpoint of this node (ready or not, as kube-proxy's `endpointsMap` holds them), the
/// health-check node ports, and the addresses kube-proxy binds to `kube-ipvs0` (ClusterIPs,
/// and externalIPs and load balancer IPs that are not already the node's own).
pub fn plan(cluster: &Cluster, plan: &Plan, options: &Options) -> NetfilterPlan {
    let node = cluster.node(&plan.node);
    let node_addresses: &[IpAddr] = node.map_or(&[], |n| n.addresses.as_slice());
    let by_id: BTreeMap<String, &ResolvedService> = cluster
        .services
        .iter()
        .map(|s| (s.id().to_string_ref(), s))
        .collect_map();
    let mut tables = Vec::new();
    for family in cluster.config.families() {
        let mut t = Table::empty(family, options);
        // kube-proxy's nodeIP: the node's primary address of this family.
        let node_ip = node_addresses
            .iter()
            .find(|a| Family::of(a) == family)
            .copied();
        for vs in plan
            .virtual_servers
            .iter()
            .filter(|v| Family::of(&v.address) == family)
        {
            let Some(svc) = by_id.get(&vs.service) else {
                continue;
            };
            let s = &svc.service;
            let local = s.external_traffic_policy == TrafficPolicy::Local;
            let e = Element::AddrProtoPort(vs.address, vs.protocol, vs.port);
            match vs.kind {
                VsKind::ClusterIP => {
                    t.add(SetId::ClusterIp, e);
                    t.add(SetId::IpvsIps, Element::Addr(vs.address));
                }
                VsKind::ExternalIP => {
                    t.add(
                        if local {
                            SetId::ExternalIpLocal
                        } else {
                            SetId::ExternalIp
                        },
                        e,
                    );
                    if !node_addresses.contains(&vs.address) {
                        t.add(SetId::IpvsIps, Element::Addr(vs.address));
                    }
                }
                VsKind::LoadBalancer => {
                    t.add(SetId::LoadBalancer, e);
                    if local {
                        t.add(SetId::LoadBalancerLocal, e);
                    }
                    if !node_addresses.contains(&vs.address) {
                        t.add(SetId::IpvsIps, Element::Addr(vs.address));
                    }
                    let ranges: Vec<IpNet> = s
                        .lb_source_ranges
                        .iter()
                        .filter(|n| Family::of_net(n) == family)
                        .copied()
                        .collect();
                    if !ranges.is_empty() {
                        t.add(SetId::LoadBalancerFw, e);
                        for r in &ranges {
                            t.add(
                                SetId::LoadBalancerSourceCidr,
                                Element::AddrProtoPortNet(vs.address, vs.protocol, vs.port, *r),
                            );
                        }
                        let self_entry = Element::AddrProtoPortAddr(
                            vs.address,
                            vs.protocol,
                            vs.port,
                            vs.address,
                        );
                        let from_node =
                            node_ip.is_some_and(|ip| ranges.iter().any(|r| r.contains(&ip)));
                        t.add(
                            if from_node {
                                SetId::LoadBalancerSourceIp
                            } else {
                                SetId::LoadBalancerNoNodeAccess
                            },
                            self_entry,
                        );
                    }
                }
                VsKind::NodePort => {
                    let np = Element::ProtoPort(vs.protocol, vs.port);
                    t.add(SetId::NodePort, np);
                    if local {
                        t.add(SetId::NodePortLocal, np);
                    }
                }
            }
        }
        for svc in &cluster.services {
            let s = &svc.service;
            if s.kind == ServiceType::ExternalName
                || s.headless
                || !svc.cluster_ips.iter().any(|ip| Family::of(ip) == family)
            {
                continue;
            }
            if let Some(hc) = svc.health_check_node_port {
                t.add(SetId::HealthCheckNodePort, Element::Port(hc));
            }
            for b in svc.backends.iter().filter(|b| {
                Family::of(&b.address) == family && b.node.as_deref() == Some(plan.node.as_str())
            }) {
                for (pi, port) in s.ports.iter().enumerate() {
                    if let Some(Some(p)) = b.ports.get(pi) {
                        t.add(
                            SetId::LoopBack,
                            Element::AddrProtoPortAddr(b.address, port.protocol, *p, b.address),
                        );
                    }
                }
            }
        }
        tables.push(t);
    }
    NetfilterPlan { tables }
}

/// `--nodeport-addresses`: keeps the NodePort virtual servers whose address is in one of
/// `cidrs` (kube-proxy's `nodePortAddresses.GetNodeIPs`, loopback excluded); none given means
/// every node address.
pub fn restrict_node_ports(plan: &mut Plan, cidrs: &[IpNet]) {
    if cidrs.is_empty() {
        return;
    }
    plan.virtual_servers.retain(|vs| {
        vs.kind != VsKind::NodePort
            || (!vs.address.is_loopback() && cidrs.iter().any(|c| c.contains(&vs.address)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_checks() {
        let mut o = Options::default();
        assert_eq!(o.mark(), 0x4000);
        o.cluster_cidrs = alloc::vec![
            "10.244.0.0/16".parse().expect("cidr"),
            "fd00::/56".parse().expect("cidr")
        ];
        assert_eq!(o.validate(), Ok(()));
        o.cluster_cidrs.push("10.0.0.0/8".parse().expect("cidr"));
        assert!(matches!(
            o.validate(),
            Err(OptionsError::TwoClusterCidrs(..))
        ));
        o.cluster_cidrs.pop();
        o.masquerade_bit = 32;
        assert_eq!(o.validate(), Err(OptionsError::MasqueradeBit(32)));
    }

    #[test]
    fn set_names_round_trip() {
        for s in SetId::ALL {
            assert_eq!(SetId::from_name(s.name()), Some(s));
        }
    }
}
