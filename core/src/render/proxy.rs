//! What kube-proxy's iptables and nftables modes share: the per-family view of a Service port
//! (`pkg/proxy/serviceport.go`), its endpoints sorted as the slice cache sorts them, kube-proxy's
//! `CategorizeEndpoints` (`pkg/proxy/topology.go`) and the hashed chain names.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

use ipnet::IpNet;
use sha2::{Digest, Sha256};

use crate::cluster::{Cluster, ResolvedService};
use crate::model::{Family, Protocol, ServiceType, TrafficPolicy};

/// One endpoint of a Service port, as kube-proxy's `BaseEndpointInfo` sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Address.
    pub ip: IpAddr,
    /// Port.
    pub port: u16,
    /// `ready` (nil is true; a terminating endpoint is never ready).
    pub ready: bool,
    /// `serving` (nil is true).
    pub serving: bool,
    /// `terminating` (nil is false).
    pub terminating: bool,
    /// On the node whose rules these are.
    pub local: bool,
    /// The Pod behind it, `namespace/name`, when known.
    pub pod: Option<String>,
}

impl Endpoint {
    /// `ip:port` (`[ip]:port` for IPv6), as Go's `net.JoinHostPort`: the endpoint's `String()`.
    pub fn host_port(&self) -> String {
        match self.ip {
            IpAddr::V4(v4) => format!("{v4}:{}", self.port),
            IpAddr::V6(v6) => format!("[{v6}]:{}", self.port),
        }
    }
}

/// One Service port in one IP family, with what kube-proxy derives from it.
#[derive(Clone, Debug)]
pub struct ServicePort {
    /// Namespace.
    pub namespace: String,
    /// Service name.
    pub name: String,
    /// Port name (may be empty).
    pub port_name: String,
    /// Protocol.
    pub protocol: Protocol,
    /// The cluster IP of this family.
    pub cluster_ip: IpAddr,
    /// The Service port.
    pub port: u16,
    /// The node port, when there is one.
    pub node_port: Option<u16>,
    /// `spec.externalIPs` of this family.
    pub external_ips: Vec<IpAddr>,
    /// Load balancer ingress IPs of this family (not `ipMode: Proxy`).
    pub lb_ips: Vec<IpAddr>,
    /// `spec.loadBalancerSourceRanges` of this family: with load balancer IPs, kube-proxy's
    /// firewall admits only these sources to them.
    pub source_ranges: Vec<IpNet>,
    /// `healthCheckNodePort`.
    pub health_check_node_port: Option<u16>,
    /// ClientIP affinity timeout in seconds.
    pub affinity: Option<u32>,
    /// `externalTrafficPolicy: Local` (only meaningful when externally accessible).
    pub etp_local: bool,
    /// `internalTrafficPolicy: Local`.
    pub itp_local: bool,
    /// Endpoints, sorted by `ip:port` text (kube-proxy's `byAddress`).
    pub endpoints: Vec<Endpoint>,
}

/// kube-proxy's `CategorizeEndpoints` for one Service port on one node.
#[derive(Clone, Debug, Default)]
pub struct Categorized {
    /// Endpoints for `Cluster` traffic policy.
    pub cluster: Vec<Endpoint>,
    /// Endpoints for `Local` traffic policy.
    pub local: Vec<Endpoint>,
    /// Every endpoint either policy may reach (each gets an endpoint chain).
    pub reachable: Vec<Endpoint>,
    /// Whether the Service has usable endpoints anywhere in the cluster.
    pub has_any: bool,
}

impl ServicePort {
    /// `ns/name:port` (`ns/name` for an unnamed port): `ServicePortName.String()`.
    pub fn name_string(&self) -> String {
        if self.port_name.is_empty() {
            format!("{}/{}", self.namespace, self.name)
        } else {
            format!("{}/{}:{}", self.namespace, self.name, self.port_name)
        }
    }

    /// Lower-case protocol, as the rules spell it.
    pub fn proto(&self) -> &'static str {
        proto_lower(self.protocol)
    }

    /// NodePort, LoadBalancer or externalIPs: external traffic policy applies.
    pub fn externally_accessible(&self) -> bool {
        self.node_port.is_some() || !self.lb_ips.is_empty() || !self.external_ips.is_empty()
    }

    /// `usesFWChain` (iptables mode; nftables mode drops the endpoints condition): load
    /// balancer IPs with `loadBalancerSourceRanges`.
    pub fn uses_firewall(&self) -> bool {
        !self.lb_ips.is_empty() && !self.source_ranges.is_empty()
    }

    /// kube-proxy's `allowFromNode`: a source range holds the node's IP, so the load balancer
    /// IPs themselves (a node reaching its own VIP loops back with it as source) are admitted.
    pub fn allows_from_node(&self, node_ip: Option<IpAddr>) -> bool {
        node_ip.is_some_and(|ip| self.source_ranges.iter().any(|r| r.contains(&ip)))
    }

    /// `ExternalPolicyLocal`.
    pub fn external_policy_local(&self) -> bool {
        self.externally_accessible() && self.etp_local
    }

    /// `UsesClusterEndpoints`: internal policy Cluster, or any external traffic (even with
    /// external policy Local, for short-circuiting).
    pub fn uses_cluster_endpoints(&self) -> bool {
        !self.itp_local || self.externally_accessible()
    }

    /// `UsesLocalEndpoints`.
    pub fn uses_local_endpoints(&self) -> bool {
        self.itp_local || self.external_policy_local()
    }

    /// kube-proxy's `CategorizeEndpoints` (topology hints are not modelled).
    pub fn categorize(&self) -> Categorized {
        let mut c = Categorized::default();
        if self.uses_cluster_endpoints() {
            c.cluster = self.endpoints.iter().filter(|e| e.ready).cloned().collect();
            if c.cluster.is_empty() {
                c.cluster = self
                    .endpoints
                    .iter()
                    .filter(|e| e.serving && e.terminating)
                    .cloned()
                    .collect();
            }
            c.has_any = !c.cluster.is_empty();
        }
        if !self.uses_local_endpoints() {
            c.reachable = c.cluster.clone();
            return c;
        }
        let (mut local_ready, mut local_terminating) = (false, false);
        for e in &self.endpoints {
            if e.ready {
                c.has_any = true;
                local_ready |= e.local;
            } else if e.serving && e.terminating {
                c.has_any = true;
                local_terminating |= e.local;
            }
        }
        if local_ready {
            c.local = self
                .endpoints
                .iter()
                .filter(|e| e.local && e.ready)
                .cloned()
                .collect();
        } else if local_terminating {
            c.local = self
                .endpoints
                .iter()
                .filter(|e| e.local && e.serving && e.terminating)
                .cloned()
                .collect();
        }
        if !self.uses_cluster_endpoints() {
            c.reachable = c.local.clone();
            return c;
        }
        c.reachable = c.cluster.clone();
        for e in &c.local {
            if !c.reachable.contains(e) {
                c.reachable.push(e.clone());
            }
        }
        crate::sort::sort_by_key(&mut c.reachable, Endpoint::host_port);
        c
    }
}

/// `tcp`, `udp`, `sctp`.
pub fn proto_lower(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    }
}

/// The Service ports kube-proxy of `family` handles, sorted by name, then port.
///
/// A Service that node `node`'s plan skips for svcroute's limits
/// ([`MAX_NODE_RULES`](crate::plan::MAX_NODE_RULES); the plan warns of it) is left out here
/// too, so no proxy mode's rules grow past what the node's plan holds: without it, 60 KB of
/// YAML (2,000 ports × 1,000 externalIPs) rendered 350 MB of `iptables-save` in 1.7 GB.
pub fn service_ports(cluster: &Cluster, node: &str, family: Family) -> Vec<ServicePort> {
    let addresses = cluster.node(node).map_or(&[][..], |n| &n.addresses[..]);
    let admitted =
        crate::plan::Budget::new(&cluster.config).decide(&cluster.services, node, addresses);
    let mut out = Vec::new();
    for (i, svc) in cluster.services.iter().enumerate() {
        if admitted.fits(i) {
            out.extend(ports_of(svc, node, family));
        }
    }
    crate::sort::sort_by(&mut out, |a, b| {
        (a.name_string(), a.proto(), a.port).cmp(&(b.name_string(), b.proto(), b.port))
    });
    out
}

fn ports_of(svc: &ResolvedService, node: &str, family: Family) -> Vec<ServicePort> {
    let s = &svc.service;
    if s.kind == ServiceType::ExternalName || s.headless {
        return Vec::new();
    }
    let Some(cluster_ip) = svc
        .cluster_ips
        .iter()
        .copied()
        .find(|ip| Family::of(ip) == family)
    else {
        return Vec::new();
    };
    let of_family = |ips: &mut dyn Iterator<Item = IpAddr>| -> Vec<IpAddr> {
        ips.filter(|ip| Family::of(ip) == family).collect()
    };
    let external_ips = of_family(&mut s.external_ips.iter().copied());
    let lb_ips = of_family(&mut s.lb_ingress.iter().filter(|i| !i.proxy_mode).map(|i| i.ip));
    s.ports
        .iter()
        .enumerate()
        .map(|(pi, port)| {
            let mut endpoints: Vec<Endpoint> = svc
                .backends
                .iter()
                .filter(|b| Family::of(&b.address) == family)
                .filter_map(|b| {
                    let terminating = b.conditions.is_terminating();
                    Some(Endpoint {
                        ip: b.address,
                        port: b.ports.get(pi).copied().flatten()?,
                        ready: b.conditions.is_ready() && !terminating,
                        serving: b.conditions.is_serving(),
                        terminating,
                        local: b.node.as_deref() == Some(node),
                        pod: b
                            .pod
                            .as_ref()
                            .map(|p| format!("{}/{}", p.namespace, p.name)),
                    })
                })
                .collect();
            crate::sort::sort_by_key(&mut endpoints, Endpoint::host_port);
            endpoints.dedup_by(|a, b| a.ip == b.ip && a.port == b.port);
            ServicePort {
                namespace: s.meta.id.namespace.clone(),
                name: s.meta.id.name.clone(),
                port_name: port.name.clone(),
                protocol: port.protocol,
                cluster_ip,
                port: port.port,
                node_port: svc.node_ports.get(pi).copied().flatten(),
                external_ips: external_ips.clone(),
                lb_ips: lb_ips.clone(),
                source_ranges: s
                    .lb_source_ranges
                    .iter()
                    .filter(|n| Family::of_net(n) == family)
                    .copied()
                    .collect(),
                health_check_node_port: svc.health_check_node_port,
                affinity: s.affinity_timeout,
                etp_local: s.external_traffic_policy == TrafficPolicy::Local,
                itp_local: s.internal_traffic_policy == TrafficPolicy::Local,
                endpoints,
            }
        })
        .collect()
}

/// The cluster CIDR kube-proxy's `--cluster-cidr` local-traffic detector uses for `family`:
/// the first Pod CIDR of that family.
pub fn cluster_cidr(cluster: &Cluster, family: Family) -> Option<IpNet> {
    cluster
        .config
        .pod_cidrs
        .iter()
        .copied()
        .find(|n| Family::of_net(n) == family)
}

/// kube-proxy's `nodeIP` of `family`: the node's first address of that family.
pub fn node_ip(cluster: &Cluster, node: &str, family: Family) -> Option<IpAddr> {
    cluster.node(node).and_then(|n| {
        n.addresses
            .iter()
            .find(|a| Family::of(a) == family)
            .copied()
    })
}

/// The families kube-proxy runs for: IPv4 always (its primary proxier on a node with an IPv4
/// address), IPv6 when some Service has an IPv6 cluster IP.
pub fn families(cluster: &Cluster) -> Vec<Family> {
    let mut out = Vec::new();
    for f in [Family::V4, Family::V6] {
        if f == Family::V4
            || cluster
                .services
                .iter()
                .any(|s| s.cluster_ips.iter().any(|ip| Family::of(ip) == f))
        {
            out.push(f);
        }
    }
    out
}

/// base32 (RFC 4648, `encoding/base32.StdEncoding`) of sha256 of `text`, first `len` characters.
pub fn hash_base32(text: &str, len: usize) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = Sha256::digest(text.as_bytes());
    let mut out = String::with_capacity(len);
    let (mut acc, mut bits) = (0u32, 0u32);
    for byte in digest.iter() {
        acc = (acc << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
            if out.len() == len {
                return out;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_kube_proxy() {
        // pkg/proxy/iptables/proxier_test.go and pkg/proxy/nftables/proxier_test.go.
        assert_eq!(hash_base32("ns1/svc1:p80tcp", 16), "XPGD46QRK7WJZT7O");
        assert_eq!(
            hash_base32("ns1/svc1:p80tcp10.180.0.1:80", 16),
            "SXIVWICOYRO3J4NJ"
        );
        assert_eq!(hash_base32("ns1/svc1/tcp/p80", 8), "ULMVA6XW");
        assert_eq!(
            hash_base32("ns1/svc1/tcp/p80__10.180.0.1/80", 8),
            "5OJB2KTY"
        );
    }
}
