//! svcroute-core: what kube-proxy's IPVS mode would program for a set of Kubernetes objects.
//!
//! The crate is `no_std` + `alloc` and sans-IO: manifests, time and a random seed go in; a plan,
//! DNS answers, routing decisions and diagnostics come out. The optional `std` feature adds
//! reading manifest text (YAML, JSON) with source locations.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod labels;
pub mod validation;
