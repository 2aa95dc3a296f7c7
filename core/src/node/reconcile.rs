//! Reconciliation: from what the kernel reports to what the plan wants, touching only what the
//! proxy owns, and draining TCP real servers the way kube-proxy does.
//!
//! - Ownership (kube-proxy's IPVS mode): a virtual server is ours when its address is bound on
//!   our dummy interface (or wanted there), or when it is one of the node's addresses on a port
//!   of the NodePort range. Anything else in the table is left as it is.
//! - Graceful termination (`pkg/proxy/ipvs/graceful_termination.go`): a TCP real server that is
//!   no longer wanted is set to weight 0 and deleted once its active and inactive connection
//!   counts reach 0; UDP and SCTP real servers are deleted at once (the kernel expires their
//!   connections with `expire_nodest_conn=1`).
//!
//! Pure: the agent dumps the kernel into an [`Observed`], calls [`reconcile`], and sends the
//! operations.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::net::IpAddr;

use crate::diff::{Op, RsKey, State, VsConfig, VsKeyJson};
use crate::model::Protocol;
use crate::plan::VsKey;
use crate::sort::CollectSorted as _;

/// A real server as the kernel reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ObservedRs {
    /// Weight.
    pub weight: u32,
    /// Active connections.
    pub active: u32,
    /// Inactive connections (e.g. TIME_WAIT).
    pub inactive: u32,
}

/// What the kernel holds.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Observed {
    /// Virtual servers with their settings and real servers.
    pub virtual_servers: BTreeMap<VsKey, (VsConfig, BTreeMap<RsKey, ObservedRs>)>,
    /// Addresses bound on the dummy interface.
    pub addresses: BTreeSet<IpAddr>,
}

/// What the proxy may touch besides the dummy interface's addresses.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Ownership {
    /// The node's own addresses (NodePort virtual servers live on them).
    pub node_addresses: BTreeSet<IpAddr>,
    /// The NodePort range, inclusive.
    pub node_port_range: (u16, u16),
    /// `--ipvs-exclude-cidrs`: virtual servers in these ranges are never deleted, even on an
    /// address the proxy owns (kube-proxy's `cleanLegacyService` skips them: another program,
    /// e.g. kube-router, manages them).
    pub excluded: Vec<ipnet::IpNet>,
}

impl Ownership {
    fn owns(&self, key: &VsKey, bound: &BTreeSet<IpAddr>, wanted: &BTreeSet<IpAddr>) -> bool {
        if self.excluded.iter().any(|n| n.contains(&key.address)) {
            return false;
        }
        bound.contains(&key.address)
            || wanted.contains(&key.address)
            || (self.node_addresses.contains(&key.address)
                && key.port >= self.node_port_range.0
                && key.port <= self.node_port_range.1)
    }
}

/// Whether kube-proxy drains real servers of this protocol before deleting them.
pub fn drains(protocol: Protocol) -> bool {
    protocol == Protocol::Tcp
}

/// The operations that move the kernel towards `desired`, in a safe order (as [`crate::diff::diff`]).
pub fn reconcile(observed: &Observed, desired: &State, owned: &Ownership) -> Vec<Op> {
    operations(observed, desired, |key| {
        owned.owns(key, &observed.addresses, &desired.addresses)
    })
}

impl Observed {
    /// A kernel that holds exactly `state`, with no connections.
    pub fn idle(state: &State) -> Observed {
        Observed {
            virtual_servers: state
                .virtual_servers
                .iter()
                .map(|(k, (cfg, rs))| {
                    let rs = rs
                        .iter()
                        .map(|(r, w)| {
                            (
                                *r,
                                ObservedRs {
                                    weight: *w,
                                    ..ObservedRs::default()
                                },
                            )
                        })
                        .collect_map();
                    (*k, (*cfg, rs))
                })
                .collect_map(),
            addresses: state.addresses.clone(),
        }
    }
}

/// The shared walk of [`reconcile`] and [`crate::diff::diff`]: `owns` says which virtual
/// servers that are not wanted may be deleted.
pub(crate) fn operations(
    observed: &Observed,
    desired: &State,
    owns: impl Fn(&VsKey) -> bool,
) -> Vec<Op> {
    let mut ops = Vec::new();
    for a in desired.addresses.difference(&observed.addresses) {
        ops.push(Op::AddAddress { address: *a });
    }
    for (key, (cfg, rs)) in &desired.virtual_servers {
        let k = VsKeyJson::from(*key);
        match observed.virtual_servers.get(key) {
            None => {
                ops.push(Op::AddVirtualServer {
                    key: k,
                    config: *cfg,
                });
                for (r, w) in rs {
                    ops.push(Op::AddRealServer {
                        key: k,
                        real_server: *r,
                        weight: *w,
                    });
                }
            }
            Some((old_cfg, old_rs)) => {
                if old_cfg != cfg {
                    ops.push(Op::UpdateVirtualServer {
                        key: k,
                        config: *cfg,
                    });
                }
                for (r, w) in rs {
                    match old_rs.get(r) {
                        None => ops.push(Op::AddRealServer {
                            key: k,
                            real_server: *r,
                            weight: *w,
                        }),
                        Some(o) if o.weight != *w => ops.push(Op::UpdateRealServer {
                            key: k,
                            real_server: *r,
                            weight: *w,
                        }),
                        Some(_) => {}
                    }
                }
                for (r, o) in old_rs {
                    if rs.contains_key(r) {
                        continue;
                    }
                    let busy = o.active + o.inactive > 0;
                    if drains(key.protocol) && busy {
                        if o.weight != 0 {
                            ops.push(Op::UpdateRealServer {
                                key: k,
                                real_server: *r,
                                weight: 0,
                            });
                        }
                    } else {
                        ops.push(Op::DeleteRealServer {
                            key: k,
                            real_server: *r,
                        });
                    }
                }
            }
        }
    }
    for key in observed.virtual_servers.keys() {
        if !desired.virtual_servers.contains_key(key) && owns(key) {
            ops.push(Op::DeleteVirtualServer { key: (*key).into() });
        }
    }
    for a in observed.addresses.difference(&desired.addresses) {
        ops.push(Op::DeleteAddress { address: *a });
    }
    ops
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::Scheduler;

    fn key(a: &str, port: u16, protocol: Protocol) -> VsKey {
        VsKey {
            address: a.parse().unwrap(),
            port,
            protocol,
        }
    }

    fn rs(a: &str) -> RsKey {
        RsKey {
            address: a.parse().unwrap(),
            port: 80,
        }
    }

    const RR: VsConfig = VsConfig {
        scheduler: Scheduler::RoundRobin,
        persistence_timeout_seconds: None,
    };

    fn observed(vs: VsKey, servers: &[(&str, u32, u32)]) -> Observed {
        let mut o = Observed::default();
        o.addresses.insert(vs.address);
        o.virtual_servers.insert(
            vs,
            (
                RR,
                servers
                    .iter()
                    .map(|(a, active, inactive)| {
                        (
                            rs(a),
                            ObservedRs {
                                weight: 1,
                                active: *active,
                                inactive: *inactive,
                            },
                        )
                    })
                    .collect(),
            ),
        );
        o
    }

    fn desired(vs: VsKey, servers: &[&str]) -> State {
        let mut s = State::default();
        s.addresses.insert(vs.address);
        s.virtual_servers
            .insert(vs, (RR, servers.iter().map(|a| (rs(a), 1)).collect()));
        s
    }

    /// graceful_termination.go: a busy TCP real server is drained (weight 0), not deleted.
    #[test]
    fn busy_tcp_real_server_is_drained_then_deleted() {
        let vs = key("10.96.0.10", 80, Protocol::Tcp);
        let want = desired(vs, &["10.244.0.2"]);
        let busy = observed(vs, &[("10.244.0.2", 0, 0), ("10.244.0.3", 2, 1)]);
        let ops = reconcile(&busy, &want, &Ownership::default());
        assert_eq!(
            ops,
            [Op::UpdateRealServer {
                key: vs.into(),
                real_server: rs("10.244.0.3"),
                weight: 0
            }]
        );
        let mut drained = busy.clone();
        drained
            .virtual_servers
            .get_mut(&vs)
            .unwrap()
            .1
            .get_mut(&rs("10.244.0.3"))
            .unwrap()
            .weight = 0;
        assert!(
            reconcile(&drained, &want, &Ownership::default()).is_empty(),
            "still busy: wait"
        );
        let idle = observed(vs, &[("10.244.0.2", 0, 0), ("10.244.0.3", 0, 0)]);
        assert_eq!(
            reconcile(&idle, &want, &Ownership::default()),
            [Op::DeleteRealServer {
                key: vs.into(),
                real_server: rs("10.244.0.3")
            }]
        );
    }

    /// UDP real servers are deleted at once.
    #[test]
    fn udp_real_server_is_deleted_at_once() {
        let vs = key("10.96.0.10", 53, Protocol::Udp);
        let want = desired(vs, &[]);
        let busy = observed(vs, &[("10.244.0.2", 5, 0)]);
        assert_eq!(
            reconcile(&busy, &want, &Ownership::default()),
            [Op::DeleteRealServer {
                key: vs.into(),
                real_server: rs("10.244.0.2")
            }]
        );
    }

    /// A virtual server on an address we do not own is never touched.
    #[test]
    fn foreign_virtual_servers_are_left_alone() {
        let mut o = Observed::default();
        let foreign = key("192.0.2.1", 80, Protocol::Tcp);
        o.virtual_servers.insert(foreign, (RR, BTreeMap::new()));
        let node_port_elsewhere = key("172.18.0.2", 8080, Protocol::Tcp);
        o.virtual_servers
            .insert(node_port_elsewhere, (RR, BTreeMap::new()));
        let stale_node_port = key("172.18.0.2", 30080, Protocol::Tcp);
        o.virtual_servers
            .insert(stale_node_port, (RR, BTreeMap::new()));
        let mut owned = Ownership {
            node_addresses: ["172.18.0.2".parse().unwrap()].into_iter().collect(),
            node_port_range: (30000, 32767),
            excluded: Vec::new(),
        };
        assert_eq!(
            reconcile(&o, &State::default(), &owned),
            [Op::DeleteVirtualServer {
                key: stale_node_port.into()
            }]
        );
        // kube-proxy --ipvs-exclude-cidrs: cleanLegacyService skips addresses in the ranges.
        owned.excluded = alloc::vec!["172.18.0.0/30".parse().unwrap()];
        assert_eq!(reconcile(&o, &State::default(), &owned), []);
    }

    /// Restart safety: a kernel already matching the plan needs nothing.
    #[test]
    fn converged_kernel_needs_nothing() {
        let vs = key("10.96.0.10", 80, Protocol::Tcp);
        let want = desired(vs, &["10.244.0.2", "10.244.0.3"]);
        let have = observed(vs, &[("10.244.0.2", 3, 9), ("10.244.0.3", 0, 0)]);
        assert!(reconcile(&have, &want, &Ownership::default()).is_empty());
    }
}
