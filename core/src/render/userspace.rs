//! kube-proxy's historical userspace mode (removed in Kubernetes 1.26), as a description the
//! playground can draw: no rules to render, because kube-proxy itself was the proxy. For each
//! Service port it opened a proxy port on the node, redirected the Service's addresses there
//! (iptables `REDIRECT`), accepted each connection itself, chose a backend round-robin
//! (or by client IP with `sessionAffinity: ClientIP`) and, when the backend refused, retried the
//! next one — what the iptables, nftables and IPVS modes cannot do.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

use serde::Serialize;

use super::proxy;
use crate::cluster::Cluster;
use crate::model::{Family, Protocol};

/// One Service port as the userspace proxier served it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserspacePort {
    /// `ns/name:port`.
    pub service_port: String,
    /// Protocol.
    pub protocol: Protocol,
    /// The addresses redirected to the proxy port (cluster IP, externalIPs, LB IPs), with the
    /// Service port.
    pub addresses: Vec<IpAddr>,
    /// The Service port.
    pub port: u16,
    /// The node port, also redirected to the proxy port.
    pub node_port: Option<u16>,
    /// Backends (`ip:port`) in the round-robin order the proxier walked.
    pub backends: Vec<String>,
    /// ClientIP affinity timeout in seconds: the proxier remembered each client's backend.
    pub affinity_seconds: Option<u32>,
    /// The proxier retried another backend when one refused (always true: its distinguishing
    /// trait).
    pub retries_on_refusal: bool,
}

/// The userspace mode's view of the node `node` (IPv4 Services; the mode predates dual-stack).
pub fn describe(cluster: &Cluster, node: &str) -> Vec<UserspacePort> {
    proxy::service_ports(cluster, node, Family::V4)
        .into_iter()
        .map(|sp| {
            let cat = sp.categorize();
            let mut addresses = Vec::from([sp.cluster_ip]);
            addresses.extend(sp.external_ips.iter().chain(&sp.lb_ips));
            UserspacePort {
                service_port: sp.name_string(),
                protocol: sp.protocol,
                addresses,
                port: sp.port,
                node_port: sp.node_port,
                backends: cat.cluster.iter().map(proxy::Endpoint::host_port).collect(),
                affinity_seconds: sp.affinity,
                retries_on_refusal: true,
            }
        })
        .collect()
}
