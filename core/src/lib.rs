//! svcroute-core: what kube-proxy's IPVS mode would program for a set of Kubernetes objects.
//!
//! The crate is `no_std` + `alloc` and sans-IO: manifests, time and a random seed go in; a plan,
//! DNS answers, routing decisions and diagnostics come out. The optional `std` feature adds
//! reading manifest text (YAML, JSON) with source locations.
//!
//! The folders are the layers: reading (`manifest`, with `std`), the model (`model`: checked
//! objects, labels, validation, settings), the control plane's derivations (`control`), the
//! node's plan (`node`), renderers (`render`) and the simulator (`sim`).
//!
//! The pipeline:
//! [`manifest::read`] (text → checked [`model::Objects`]) →
//! [`cluster::Cluster::build`] (Nodes, workload Pods, allocation, endpoints) →
//! [`plan::plan`] (one node's virtual servers and DNS) →
//! [`diff::diff`] (dataplane operations) and [`route::route`] (simulated connections);
//! [`netfilter::plan`] (the node's nftables table: kube-proxy's iptables + ipsets).
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

// The layers (see the crate doc for the order data flows through them).
pub mod control;
pub mod diag;
#[cfg(feature = "std")]
pub mod manifest;
pub mod model;
pub mod node;
pub mod render;
pub mod sim;
pub mod sort;

// The modules' earlier flat paths, kept for users of the crate.
pub use control::{cluster, dns};
pub use model::{config, labels, validation};
pub use node::{diff, netfilter, plan, reconcile};
pub use sim::{modes, route};

pub use cluster::Cluster;
pub use config::{Config, Scheduler};
pub use plan::{Plan, plan};
