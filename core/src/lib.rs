//! svcroute-core: what kube-proxy's IPVS mode would program for a set of Kubernetes objects.
//!
//! The crate is `no_std` + `alloc` and sans-IO: manifests, time and a random seed go in; a plan,
//! DNS answers, routing decisions and diagnostics come out. The optional `std` feature adds
//! reading manifest text (YAML, JSON) with source locations.
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

pub mod cluster;
pub mod config;
pub mod diag;
pub mod diff;
pub mod dns;
pub mod labels;
#[cfg(feature = "std")]
pub mod manifest;
pub mod model;
pub mod modes;
pub mod netfilter;
pub mod plan;
pub mod reconcile;
pub mod render;
pub mod route;
pub mod sim;
pub mod validation;

pub use cluster::Cluster;
pub use config::{Config, Scheduler};
pub use plan::{Plan, plan};
