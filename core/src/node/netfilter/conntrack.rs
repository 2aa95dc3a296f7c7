//! Which conntrack entries to delete so that UDP traffic stops going to endpoints that no
//! longer serve: kube-proxy's conntrack reconciler (K `pkg/proxy/conntrack/cleanup.go`,
//! `CleanStaleEntries`, run by every proxier after its rules are written).
//!
//! UDP has no connection to end, so a conntrack entry (and IPVS's own connection, whose
//! conntrack entry keeps it alive) would keep a client's flow — same source address and port,
//! a DNS resolver's usual way — on a Pod that is gone: the "DNS timeouts during a rollout"
//! bug. kube-proxy's answer, kept here:
//! - for every UDP Service port with at least one *serving* endpoint (ready or terminating
//!   but serving: "changes to the service should not affect existing flows, so we do not take
//!   traffic policies, topology, or terminating status of the service into account"), its
//!   frontends — ClusterIP:port, each load balancer VIP:port (not `ipMode: Proxy`), each
//!   externalIP:port, and `*:nodePort` — map to the set of serving endpoint IP:port;
//! - a UDP entry whose original destination is such a frontend and whose reply source (the
//!   endpoint it was sent to) is not in the set is deleted (`filterForIPPortNAT`,
//!   `filterForPortNAT`); every other entry stays.
//!
//! So a Service port with no serving endpoint left, or one that was deleted, cleans nothing
//! ("a Service without endpoints does not require to clean the conntrack entries
//! associated"): with no real server IPVS has nowhere to send the flow, and the entry expires.
//! kube-proxy before 1.31 also cleared every entry to a deleted UDP ClusterIP; the reconciler
//! that replaced it does not, and neither does svcroute.
//!
//! [`Serving::is_stale`] is that decision for one entry (the agent dumps the table and asks it
//! of each entry); [`cleanups`] is the same decision as filters from the state before and
//! after a change — the entries that were consistent with the old state and are stale in the
//! new one — which is what `svcroute diff -o conntrack` prints and what tells the agent that a
//! change needs a cleanup at all.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::fmt;
use core::net::IpAddr;

use crate::cluster::Cluster;
use crate::model::{Family, Protocol, ServiceType};

/// `IPPROTO_UDP`: the only protocol the reconciler looks at.
pub const IPPROTO_UDP: u8 = 17;

/// An address and a port.
pub type HostPort = (IpAddr, u16);

/// What the reconciler reads of one conntrack entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Flow {
    /// Layer-4 protocol number (`--protonum`).
    pub protocol: u8,
    /// `--orig-dst`: where the client sent it (a Service's frontend).
    pub orig_dst: IpAddr,
    /// `--orig-port-dst`.
    pub orig_dst_port: u16,
    /// `--reply-src`: who answers (the endpoint IPVS chose).
    pub reply_src: IpAddr,
    /// `--reply-port-src`.
    pub reply_src_port: u16,
}

/// The UDP frontends of the cluster's Services and their serving endpoints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Serving {
    /// Service IP:port (ClusterIP, load balancer VIP, externalIP) → serving endpoints.
    pub frontends: BTreeMap<HostPort, BTreeSet<HostPort>>,
    /// Node port, per family (kube-proxy runs one reconciler per family) → serving endpoints.
    pub node_ports: BTreeMap<(Family, u16), BTreeSet<HostPort>>,
}

/// Why an entry is stale (which of kube-proxy's two filters matches it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stale {
    /// Its original destination is a Service IP:port whose serving endpoints do not include
    /// its reply source.
    ServiceIp,
    /// Its original destination port is a NodePort whose serving endpoints do not include its
    /// reply source.
    NodePort,
}

impl Serving {
    /// The UDP frontends of every Service of `cluster` (ExternalName and headless Services
    /// have none, as kube-proxy's service change tracker skips them), for every family.
    pub fn of(cluster: &Cluster) -> Serving {
        let mut out = Serving::default();
        for svc in &cluster.services {
            let s = &svc.service;
            if s.kind == ServiceType::ExternalName || s.headless {
                continue;
            }
            for (pi, port) in s.ports.iter().enumerate() {
                if port.protocol != Protocol::Udp {
                    continue;
                }
                for &cluster_ip in &svc.cluster_ips {
                    let family = Family::of(&cluster_ip);
                    let endpoints: BTreeSet<HostPort> = svc
                        .backends
                        .iter()
                        .filter(|b| Family::of(&b.address) == family && b.conditions.is_serving())
                        .filter_map(|b| Some((b.address, (*b.ports.get(pi)?)?)))
                        .collect();
                    if endpoints.is_empty() {
                        continue;
                    }
                    let vips = s
                        .lb_ingress
                        .iter()
                        .filter(|i| !i.proxy_mode)
                        .map(|i| i.ip)
                        .chain(s.external_ips.iter().copied())
                        .filter(|ip| Family::of(ip) == family);
                    for ip in core::iter::once(cluster_ip).chain(vips) {
                        out.frontends
                            .entry((ip, port.port))
                            .or_default()
                            .extend(endpoints.iter().copied());
                    }
                    if let Some(Some(np)) = svc.node_ports.get(pi) {
                        out.node_ports
                            .entry((family, *np))
                            .or_default()
                            .extend(endpoints.iter().copied());
                    }
                }
            }
        }
        out
    }

    /// Whether the reconciler deletes this entry, and by which filter (the Service IP one
    /// first, as kube-proxy adds it first).
    pub fn is_stale(&self, flow: &Flow) -> Option<Stale> {
        if flow.protocol != IPPROTO_UDP {
            return None;
        }
        let reply = (flow.reply_src, flow.reply_src_port);
        if let Some(eps) = self.frontends.get(&(flow.orig_dst, flow.orig_dst_port))
            && !eps.contains(&reply)
        {
            return Some(Stale::ServiceIp);
        }
        let family = Family::of(&flow.orig_dst);
        if let Some(eps) = self.node_ports.get(&(family, flow.orig_dst_port))
            && !eps.contains(&reply)
        {
            return Some(Stale::NodePort);
        }
        None
    }
}

/// One of kube-proxy's two cleanup filters, always for UDP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Filter {
    /// `filterForIPPortNAT`: entries sent to `frontend` and answered by `endpoint`.
    ServiceIp {
        /// The Service IP:port (`--orig-dst`, `--orig-port-dst`).
        frontend: HostPort,
        /// The endpoint that no longer serves (`--reply-src`, `--reply-port-src`).
        endpoint: HostPort,
    },
    /// `filterForPortNAT`: entries sent to any address's `node_port` and answered by
    /// `endpoint`.
    NodePort {
        /// The node port (`--orig-port-dst`).
        node_port: u16,
        /// The endpoint that no longer serves.
        endpoint: HostPort,
    },
}

impl Filter {
    /// Whether the entry matches (kube-proxy's `MatchConntrackFlow`).
    pub fn matches(&self, flow: &Flow) -> bool {
        let reply = (flow.reply_src, flow.reply_src_port);
        flow.protocol == IPPROTO_UDP
            && match self {
                Filter::ServiceIp { frontend, endpoint } => {
                    (flow.orig_dst, flow.orig_dst_port) == *frontend && reply == *endpoint
                }
                Filter::NodePort {
                    node_port,
                    endpoint,
                } => flow.orig_dst_port == *node_port && reply == *endpoint,
            }
    }
}

/// As Debian's `conntrack` tool would be asked to delete the same entries.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (endpoint, family) = match self {
            Filter::ServiceIp { endpoint, .. } | Filter::NodePort { endpoint, .. } => {
                (endpoint, Family::of(&endpoint.0))
            }
        };
        write!(f, "conntrack -D")?;
        if family == Family::V6 {
            write!(f, " -f ipv6")?;
        }
        write!(f, " -p udp")?;
        match self {
            Filter::ServiceIp { frontend, .. } => write!(
                f,
                " --orig-dst {} --orig-port-dst {}",
                frontend.0, frontend.1
            )?,
            Filter::NodePort { node_port, .. } => write!(f, " --orig-port-dst {node_port}")?,
        }
        write!(
            f,
            " --reply-src {} --reply-port-src {}",
            endpoint.0, endpoint.1
        )
    }
}

/// The filters a change from `old` to `new` calls for: for every frontend that still has
/// serving endpoints, one filter per endpoint that served it before and no longer does.
/// Entries that were consistent with `old` are stale in `new` exactly when one of these
/// matches them (property-tested against [`Serving::is_stale`]).
pub fn cleanups(old: &Serving, new: &Serving) -> Vec<Filter> {
    let mut out = Vec::new();
    for (frontend, now) in &new.frontends {
        for endpoint in old.frontends.get(frontend).into_iter().flatten() {
            if !now.contains(endpoint) {
                out.push(Filter::ServiceIp {
                    frontend: *frontend,
                    endpoint: *endpoint,
                });
            }
        }
    }
    for (key, now) in &new.node_ports {
        for endpoint in old.node_ports.get(key).into_iter().flatten() {
            if !now.contains(endpoint) {
                out.push(Filter::NodePort {
                    node_port: key.1,
                    endpoint: *endpoint,
                });
            }
        }
    }
    out
}
