//! Text views of a plan, one file per kube-proxy mode: `ipvsadm` (IPVS mode's tables and the
//! DNS records).

pub mod ipvsadm;

pub use ipvsadm::{ipvsadm_rules, ipvsadm_table, table};
