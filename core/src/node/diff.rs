//! The dataplane state a plan asks for, and the minimal operations from one state to another.
//!
//! The state is what the kernel holds: virtual servers (scheduler, persistence) with their real
//! servers (weight), and the addresses bound on the dummy interface. `diff(a, b)` gives the
//! operations the agent sends; `apply(a, diff(a, b)) == b` is tested as a property.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::net::IpAddr;

use serde::Serialize;

use crate::config::Scheduler;
use crate::plan::{Plan, VirtualServer, VsKey};
use crate::sort::CollectSorted as _;

/// The settings of a virtual server that the kernel stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VsConfig {
    /// Scheduler.
    pub scheduler: Scheduler,
    /// Persistence timeout, if persistent.
    pub persistence_timeout_seconds: Option<u32>,
}

/// A real server's identity within its virtual server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RsKey {
    /// Address.
    pub address: IpAddr,
    /// Port.
    pub port: u16,
}

/// What the kernel holds (or should hold).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct State {
    /// Virtual servers.
    pub virtual_servers: BTreeMap<VsKey, (VsConfig, BTreeMap<RsKey, u32>)>,
    /// Addresses on the dummy interface.
    pub addresses: BTreeSet<IpAddr>,
}

impl State {
    /// The state a plan asks for.
    pub fn from_plan(plan: &Plan) -> State {
        let mut s = State::default();
        for vs in &plan.virtual_servers {
            s.virtual_servers.insert(vs.key(), entry(vs));
        }
        s.addresses = plan.interface_addresses.iter().copied().collect_set();
        s
    }
}

/// What the kernel holds for one virtual server of a plan: its settings and real servers.
pub fn entry(vs: &VirtualServer) -> (VsConfig, BTreeMap<RsKey, u32>) {
    let cfg = VsConfig {
        scheduler: vs.scheduler,
        persistence_timeout_seconds: vs.persistence_timeout_seconds,
    };
    let rs = vs
        .real_servers
        .iter()
        .map(|r| {
            (
                RsKey {
                    address: r.address,
                    port: r.port,
                },
                r.weight,
            )
        })
        .collect_map();
    (cfg, rs)
}

/// One dataplane operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Op {
    /// Bind an address on the dummy interface.
    AddAddress {
        /// The address.
        address: IpAddr,
    },
    /// Unbind it.
    DeleteAddress {
        /// The address.
        address: IpAddr,
    },
    /// Create a virtual server (IPVS_CMD_NEW_SERVICE).
    AddVirtualServer {
        /// Which.
        #[serde(flatten)]
        key: VsKeyJson,
        /// Its settings.
        config: VsConfig,
    },
    /// Change its settings (IPVS_CMD_SET_SERVICE).
    UpdateVirtualServer {
        /// Which.
        #[serde(flatten)]
        key: VsKeyJson,
        /// The new settings.
        config: VsConfig,
    },
    /// Delete it with its real servers (IPVS_CMD_DEL_SERVICE).
    DeleteVirtualServer {
        /// Which.
        #[serde(flatten)]
        key: VsKeyJson,
    },
    /// Add a real server (IPVS_CMD_NEW_DEST).
    AddRealServer {
        /// Its virtual server.
        #[serde(flatten)]
        key: VsKeyJson,
        /// Which.
        real_server: RsKey,
        /// Weight.
        weight: u32,
    },
    /// Change its weight (IPVS_CMD_SET_DEST).
    UpdateRealServer {
        /// Its virtual server.
        #[serde(flatten)]
        key: VsKeyJson,
        /// Which.
        real_server: RsKey,
        /// New weight.
        weight: u32,
    },
    /// Delete a real server (IPVS_CMD_DEL_DEST).
    DeleteRealServer {
        /// Its virtual server.
        #[serde(flatten)]
        key: VsKeyJson,
        /// Which.
        real_server: RsKey,
    },
}

/// A [`VsKey`] as it appears in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct VsKeyJson {
    /// Protocol.
    pub protocol: crate::model::Protocol,
    /// Address.
    pub address: IpAddr,
    /// Port.
    pub port: u16,
}

impl From<VsKey> for VsKeyJson {
    fn from(k: VsKey) -> Self {
        VsKeyJson {
            protocol: k.protocol,
            address: k.address,
            port: k.port,
        }
    }
}

impl From<VsKeyJson> for VsKey {
    fn from(k: VsKeyJson) -> Self {
        VsKey {
            protocol: k.protocol,
            address: k.address,
            port: k.port,
        }
    }
}

/// The operations that turn `old` into `new`, in a safe order: addresses bound first,
/// virtual servers created before their real servers, real servers removed before their
/// virtual server would be (a deleted virtual server takes its real servers with it), and
/// addresses unbound last.
pub fn diff(old: &State, new: &State) -> Vec<Op> {
    crate::reconcile::operations(&crate::reconcile::Observed::idle(old), new, |_| true)
}

/// Why an operation could not be applied (what the kernel would answer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyError {
    /// The object exists already (EEXIST).
    Exists(Op),
    /// The object does not exist (ENOENT / ESRCH).
    Missing(Op),
}

/// Applies operations to a state, failing as the kernel would on an inconsistent operation.
pub fn apply(state: &mut State, ops: &[Op]) -> Result<(), ApplyError> {
    for op in ops {
        let op_err = || op.clone();
        match op {
            Op::AddAddress { address } => {
                if !state.addresses.insert(*address) {
                    return Err(ApplyError::Exists(op_err()));
                }
            }
            Op::DeleteAddress { address } => {
                if !state.addresses.remove(address) {
                    return Err(ApplyError::Missing(op_err()));
                }
            }
            Op::AddVirtualServer { key, config } => {
                let key = VsKey::from(*key);
                if state.virtual_servers.contains_key(&key) {
                    return Err(ApplyError::Exists(op_err()));
                }
                state
                    .virtual_servers
                    .insert(key, (*config, BTreeMap::new()));
            }
            Op::UpdateVirtualServer { key, config } => {
                let Some(vs) = state.virtual_servers.get_mut(&VsKey::from(*key)) else {
                    return Err(ApplyError::Missing(op_err()));
                };
                vs.0 = *config;
            }
            Op::DeleteVirtualServer { key } => {
                if state.virtual_servers.remove(&VsKey::from(*key)).is_none() {
                    return Err(ApplyError::Missing(op_err()));
                }
            }
            Op::AddRealServer {
                key,
                real_server,
                weight,
            } => {
                let Some(vs) = state.virtual_servers.get_mut(&VsKey::from(*key)) else {
                    return Err(ApplyError::Missing(op_err()));
                };
                if vs.1.insert(*real_server, *weight).is_some() {
                    return Err(ApplyError::Exists(op_err()));
                }
            }
            Op::UpdateRealServer {
                key,
                real_server,
                weight,
            } => {
                let Some(w) = state
                    .virtual_servers
                    .get_mut(&VsKey::from(*key))
                    .and_then(|vs| vs.1.get_mut(real_server))
                else {
                    return Err(ApplyError::Missing(op_err()));
                };
                *w = *weight;
            }
            Op::DeleteRealServer { key, real_server } => {
                let removed = state
                    .virtual_servers
                    .get_mut(&VsKey::from(*key))
                    .and_then(|vs| vs.1.remove(real_server));
                if removed.is_none() {
                    return Err(ApplyError::Missing(op_err()));
                }
            }
        }
    }
    Ok(())
}
