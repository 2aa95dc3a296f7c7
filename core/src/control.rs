//! The control plane's derivations: what the API server, the controllers and CoreDNS make of
//! the objects — Nodes and workload Pods placed and addressed, ClusterIPs and NodePorts
//! allocated, EndpointSlices derived and mirrored ([`cluster`], kept live by
//! [`cluster::live`]), and the DNS records of every Service ([`dns`]).

pub mod cluster;
pub mod dns;
