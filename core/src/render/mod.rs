//! Text views of a plan, one file per kube-proxy mode: `ipvsadm` (IPVS mode's tables and the
//! DNS records), `iptables` (`iptables-save` of the iptables mode), `nftables` (the `nft -f`
//! ruleset of the nftables mode) and `userspace` (the historical mode, as a description to
//! draw), `kubectl` (the `kubectl get`/`describe` views of the cluster). `proxy` holds what the iptables and nftables modes share. `json` writes any
//! serializable result (plan, routes, operations) as serde_json would, for the CLI and the JS API.
//! `fixed` writes a float with a fixed number of digits (`{:.p$}`) in less code in wasm.

mod fixed;
pub mod iptables;
pub mod ipvsadm;
pub mod json;
pub mod kubectl;
pub mod nftables;
pub mod proxy;
pub mod userspace;

pub use fixed::fixed;
pub use ipvsadm::{ipvsadm_rules, ipvsadm_table, table};
