//! The node's plan: what kube-proxy's IPVS mode programs on one node ([`plan`]), the minimal
//! dataplane operations between two plans ([`diff`]), reconciling against what the kernel
//! reports ([`reconcile`]), and the netfilter half of the node ([`netfilter`]).

pub mod diff;
pub mod netfilter;
pub mod plan;
pub mod reconcile;
