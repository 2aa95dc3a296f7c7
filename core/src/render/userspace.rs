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

/// The userspace mode's ports of `node` as text, one line per Service port:
/// `ns/name:port ADDRESS:PORT/PROTO … → kube-proxy's proxy port → round robin: BACKENDS`
/// (the line a connection passes is this text's, see [`crate::modes`]).
pub fn text(cluster: &Cluster, node: &str) -> String {
    use core::fmt::Write;
    let mut out = String::from(
        "# kube-proxy --proxy-mode userspace: iptables REDIRECT of each Service address to a\n# proxy port of kube-proxy itself, which dials a backend (round robin, retried on refusal)\n",
    );
    for p in describe(cluster, node) {
        let mut addrs: Vec<String> = p
            .addresses
            .iter()
            .map(|a| {
                alloc::format!(
                    "{}:{}/{}",
                    crate::plan::fmt_addr(a),
                    p.port,
                    p.protocol.as_str()
                )
            })
            .collect();
        if let Some(np) = p.node_port {
            addrs.push(alloc::format!("NODE:{np}/{}", p.protocol.as_str()));
        }
        let backends = if p.backends.is_empty() {
            String::from("(none: the connection is closed)")
        } else {
            p.backends.join(", ")
        };
        let _ = write!(
            out,
            "{} {} → kube-proxy's proxy port → round robin: {backends}",
            p.service_port,
            addrs.join(" ")
        );
        if let Some(s) = p.affinity_seconds {
            let _ = write!(out, " (ClientIP affinity {s}s)");
        }
        out.push('\n');
    }
    out
}
