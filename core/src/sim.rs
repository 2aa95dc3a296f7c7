//! IPVS's choice of real server, simulated without I/O: the schedulers as the kernel's
//! `ip_vs_*.c` walk their lists, and persistence (sessionAffinity ClientIP) as connection
//! templates that expire `timeout` after a client's last connection.
//!
//! Time is an input (milliseconds since the start of the simulation). The real-server list is
//! the plan's order, which is the order the agent gives the kernel's list.
//! Connections are modelled as held open for the whole simulation, so the least-connection
//! schedulers see every earlier connection as active.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

use crate::config::Scheduler;
use crate::plan::{RealServer, VirtualServer, VsKey, fmt_addr};

/// The kernel's `GOLDEN_RATIO_32`, used by `hash_32`.
const GOLDEN_RATIO_32: u32 = 0x61C8_8647;
/// `IP_VS_SH_TAB_BITS` / `IP_VS_DH_TAB_BITS` default.
const TAB_BITS: u32 = 8;
const TAB_SIZE: usize = 1 << TAB_BITS;

/// One scheduling decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The chosen real server's index in the virtual server's list, or `None` when none is
    /// available (no endpoints, or all drained).
    pub index: Option<usize>,
    /// Why, in words: "rr: next after 10.244.0.3:80".
    pub reason: String,
}

#[derive(Clone, Debug)]
struct Template {
    dest: (IpAddr, u16),
    last_ms: u64,
}

#[derive(Clone, Debug, Default)]
struct VsState {
    /// rr: the last chosen destination.
    rr_last: Option<(IpAddr, u16)>,
    /// wrr: current position and current weight.
    wrr_pos: Option<usize>,
    wrr_cw: i64,
    /// Connections sent to each destination.
    conns: BTreeMap<(IpAddr, u16), u32>,
    /// Persistence templates per client.
    templates: BTreeMap<IpAddr, Template>,
}

/// The state IPVS keeps between connections, for any number of virtual servers.
#[derive(Clone, Debug, Default)]
pub struct Simulator {
    state: BTreeMap<(String, VsKey), VsState>,
}

fn dest_of(rs: &RealServer) -> (IpAddr, u16) {
    (rs.address, rs.port)
}

fn show(d: (IpAddr, u16)) -> String {
    format!("{}:{}", fmt_addr(&d.0), d.1)
}

fn fmt_time(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("t={}s", ms / 1000)
    } else {
        format!("t={}.{:03}s", ms / 1000, ms % 1000)
    }
}

/// `hash_32(val, bits)` from the kernel's `linux/hash.h`.
fn hash_32(val: u32, bits: u32) -> u32 {
    val.wrapping_mul(GOLDEN_RATIO_32) >> (32 - bits)
}

/// The address folded to 32 bits, host order, as `ip_vs_sh_hashkey` / `ip_vs_dh_hashkey` do.
fn fold(ip: &IpAddr) -> u32 {
    match ip {
        IpAddr::V4(v4) => u32::from(*v4),
        IpAddr::V6(v6) => {
            let o = v6.octets();
            let w = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
            // The kernel xors the four words in network order, then converts with ntohl.
            w(0) ^ w(4) ^ w(8) ^ w(12)
        }
    }
}

/// The bucket table of `sh` / `dh`: buckets assigned round the list, `weight` buckets in a
/// row per destination (`ip_vs_sh_reassign`).
fn hash_table(rs: &[RealServer]) -> Vec<Option<usize>> {
    let mut table = alloc::vec![None; TAB_SIZE];
    if rs.is_empty() {
        return table;
    }
    let mut p = 0usize;
    let mut count = 0u32;
    for slot in table.iter_mut() {
        *slot = Some(p);
        count += 1;
        if count >= rs[p].weight {
            p = (p + 1) % rs.len();
            count = 0;
        }
    }
    table
}

impl Simulator {
    /// A simulator with no history.
    pub fn new() -> Self {
        Simulator::default()
    }

    /// Forgets all state (templates, round-robin positions, connection counts).
    pub fn reset(&mut self) {
        self.state.clear();
    }

    /// Schedules one connection from `client` to `vs` on `node` at `now_ms`.
    pub fn connect(
        &mut self,
        node: &str,
        vs: &VirtualServer,
        client: IpAddr,
        now_ms: u64,
    ) -> Decision {
        let st = self.state.entry((node.into(), vs.key())).or_default();
        let rs = &vs.real_servers;
        let available = |d: (IpAddr, u16)| rs.iter().position(|r| dest_of(r) == d && r.weight > 0);

        let mut previous = String::new();
        if let Some(timeout) = vs.persistence_timeout_seconds {
            let timeout_ms = u64::from(timeout) * 1000;
            if let Some(t) = st.templates.get_mut(&client) {
                let alive = now_ms < t.last_ms.saturating_add(timeout_ms);
                match (alive, available(t.dest)) {
                    (true, Some(i)) => {
                        t.last_ms = now_ms;
                        let until = fmt_time(now_ms.saturating_add(timeout_ms));
                        *st.conns.entry(t.dest).or_default() += 1;
                        return Decision {
                            index: Some(i),
                            reason: format!(
                                "ClientIP affinity: {client} is pinned to {} until {until} (timeout {timeout}s)",
                                show(t.dest)
                            ),
                        };
                    }
                    (true, None) => {
                        previous = format!(" (its pinned {} is gone)", show(t.dest));
                        st.templates.remove(&client);
                    }
                    (false, _) => {
                        previous = format!(
                            " (its pin to {} expired at {})",
                            show(t.dest),
                            fmt_time(t.last_ms.saturating_add(timeout_ms))
                        );
                        st.templates.remove(&client);
                    }
                }
            }
        }

        let picked = schedule(st, vs, client);
        let Some((i, why)) = picked else {
            let reason = if rs.is_empty() {
                "no real servers: the connection is refused".into()
            } else {
                "no real server with weight > 0: the connection is refused".into()
            };
            return Decision {
                index: None,
                reason,
            };
        };
        let dest = dest_of(&rs[i]);
        *st.conns.entry(dest).or_default() += 1;
        let mut reason = why;
        if let Some(timeout) = vs.persistence_timeout_seconds {
            st.templates.insert(
                client,
                Template {
                    dest,
                    last_ms: now_ms,
                },
            );
            reason = format!(
                "{reason}; ClientIP affinity: {client}{previous} now pinned to {} for {timeout}s",
                show(dest)
            );
        }
        Decision {
            index: Some(i),
            reason,
        }
    }
}

/// Runs the virtual server's scheduler. Returns the index and the reason.
fn schedule(st: &mut VsState, vs: &VirtualServer, client: IpAddr) -> Option<(usize, String)> {
    let rs = &vs.real_servers;
    let usable = |i: usize| rs[i].weight > 0;
    if !(0..rs.len()).any(usable) {
        return None;
    }
    let name = vs.scheduler.as_str();
    match vs.scheduler {
        Scheduler::RoundRobin => {
            // ip_vs_rr_schedule: continue after the last chosen destination. If it is gone,
            // the kernel moved the mark to its predecessor; with a sorted list that is the
            // last one before its place.
            let start = match st.rr_last {
                None => 0,
                Some(last) => match rs.iter().position(|r| dest_of(r) == last) {
                    Some(p) => p + 1,
                    None => rs
                        .iter()
                        .position(|r| dest_of(r) > last)
                        .unwrap_or(rs.len()),
                },
            };
            for k in 0..rs.len() {
                let i = (start + k) % rs.len();
                if usable(i) {
                    let reason = match st.rr_last {
                        None => format!("{name}: first real server in the list"),
                        Some(last) => format!("{name}: next after {}", show(last)),
                    };
                    st.rr_last = Some(dest_of(&rs[i]));
                    return Some((i, reason));
                }
            }
            None
        }
        Scheduler::WeightedRoundRobin => {
            let weights: Vec<i64> = rs.iter().map(|r| i64::from(r.weight)).collect();
            let mw = weights.iter().copied().max().unwrap_or(0);
            let di = weights
                .iter()
                .copied()
                .filter(|w| *w > 0)
                .fold(0, gcd)
                .max(1);
            if st.wrr_cw <= 0 || st.wrr_cw > mw {
                st.wrr_cw = mw;
            }
            // Bounded: at most (mw / di + 1) passes over the list.
            let limit = (rs.len() as i64) * (mw / di + 2);
            for _ in 0..limit {
                let next = st.wrr_pos.map_or(0, |p| p + 1);
                if next >= rs.len() {
                    st.wrr_pos = None;
                    st.wrr_cw -= di;
                    if st.wrr_cw <= 0 {
                        st.wrr_cw = mw;
                    }
                    continue;
                }
                st.wrr_pos = Some(next);
                if weights[next] >= st.wrr_cw && weights[next] > 0 {
                    return Some((
                        next,
                        format!(
                            "{name}: weight {} >= current weight {}",
                            weights[next], st.wrr_cw
                        ),
                    ));
                }
            }
            None
        }
        Scheduler::LeastConnection
        | Scheduler::WeightedLeastConnection
        | Scheduler::ShortestExpectedDelay
        | Scheduler::NeverQueue => {
            let conns = |i: usize| u64::from(st.conns.get(&dest_of(&rs[i])).copied().unwrap_or(0));
            if vs.scheduler == Scheduler::NeverQueue
                && let Some(i) = (0..rs.len()).find(|&i| usable(i) && conns(i) == 0)
            {
                return Some((i, format!("{name}: {} is idle", show(dest_of(&rs[i])))));
            }
            // Overhead compared as a/w < b/w' by cross-multiplication, first minimum wins.
            let overhead = |i: usize| -> (u64, u64) {
                let w = u64::from(rs[i].weight);
                match vs.scheduler {
                    Scheduler::LeastConnection => (conns(i) << 8, 1),
                    Scheduler::WeightedLeastConnection => (conns(i) << 8, w),
                    _ => (conns(i) + 1, w),
                }
            };
            let mut best: Option<usize> = None;
            for i in (0..rs.len()).filter(|&i| usable(i)) {
                best = match best {
                    None => Some(i),
                    Some(b) => {
                        let (lo, lw) = overhead(b);
                        let (doh, dw) = overhead(i);
                        if u128::from(doh) * u128::from(lw) < u128::from(lo) * u128::from(dw) {
                            Some(i)
                        } else {
                            Some(b)
                        }
                    }
                };
            }
            let i = best?;
            Some((
                i,
                format!("{name}: fewest connections ({} so far)", conns(i)),
            ))
        }
        Scheduler::SourceHashing | Scheduler::DestinationHashing => {
            let key = if vs.scheduler == Scheduler::SourceHashing {
                client
            } else {
                vs.address
            };
            let bucket = hash_32(fold(&key), TAB_BITS) as usize;
            let table = hash_table(rs);
            let i = table[bucket]?;
            if !usable(i) {
                return None;
            }
            let what = if vs.scheduler == Scheduler::SourceHashing {
                "source"
            } else {
                "destination"
            };
            Some((i, format!("{name}: {what} {key} hashes to bucket {bucket}")))
        }
        _ => {
            // Not simulated: fall back to the list order so the learner still sees traffic.
            let start = st
                .rr_last
                .and_then(|l| rs.iter().position(|r| dest_of(r) == l))
                .map_or(0, |p| p + 1);
            let i = (0..rs.len())
                .map(|k| (start + k) % rs.len())
                .find(|&i| usable(i))?;
            st.rr_last = Some(dest_of(&rs[i]));
            Some((i, format!("{name} is not simulated: shown as round robin")))
        }
    }
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::Protocol;
    use crate::plan::VsKind;

    fn vs(n: u8, scheduler: Scheduler, persistence: Option<u32>) -> VirtualServer {
        VirtualServer {
            service: "dev/s".into(),
            port_name: String::new(),
            kind: VsKind::ClusterIP,
            protocol: Protocol::Tcp,
            address: "10.96.0.10".parse().unwrap(),
            port: 80,
            scheduler,
            persistence_timeout_seconds: persistence,
            real_servers: (0..n)
                .map(|i| RealServer {
                    address: IpAddr::V4(core::net::Ipv4Addr::new(10, 244, 0, 2 + i)),
                    port: 80,
                    weight: 1,
                    pod: None,
                    node: None,
                    terminating: false,
                })
                .collect(),
            note: String::new(),
        }
    }

    fn picks(
        sim: &mut Simulator,
        v: &VirtualServer,
        clients: &[&str],
        n: usize,
        step_ms: u64,
    ) -> Vec<usize> {
        (0..n)
            .map(|i| {
                let c = clients[i % clients.len()].parse().unwrap();
                sim.connect("n", v, c, i as u64 * step_ms).index.unwrap()
            })
            .collect()
    }

    /// ip_vs_rr.c: starts at the list head and walks the list, wrapping.
    #[test]
    fn rr_walks_the_list() {
        let v = vs(3, Scheduler::RoundRobin, None);
        let mut s = Simulator::new();
        assert_eq!(picks(&mut s, &v, &["10.0.0.1"], 6, 0), [0, 1, 2, 0, 1, 2]);
    }

    /// ip_vs_rr.c skips destinations of weight 0 (a draining endpoint).
    #[test]
    fn rr_skips_weight_zero() {
        let mut v = vs(3, Scheduler::RoundRobin, None);
        v.real_servers[1].weight = 0;
        let mut s = Simulator::new();
        assert_eq!(picks(&mut s, &v, &["10.0.0.1"], 4, 0), [0, 2, 0, 2]);
    }

    /// IPVS persistence: a client keeps its destination until `timeout` passes with no
    /// connection; then the scheduler chooses again.
    #[test]
    fn persistence_pins_until_idle_timeout() {
        let v = vs(3, Scheduler::RoundRobin, Some(10));
        let mut s = Simulator::new();
        let c: IpAddr = "10.0.0.7".parse().unwrap();
        let d = |s: &mut Simulator, t| s.connect("n", &v, c, t).index.unwrap();
        assert_eq!(d(&mut s, 0), 0);
        assert_eq!(d(&mut s, 9_000), 0);
        assert_eq!(
            d(&mut s, 18_000),
            0,
            "each connection refreshes the template"
        );
        assert_eq!(d(&mut s, 28_000), 1, "10 s idle: the template expired");
        let other: IpAddr = "10.0.0.8".parse().unwrap();
        assert_eq!(s.connect("n", &v, other, 28_001).index, Some(2));
    }

    /// With weights all 1, wrr is round robin (ip_vs_wrr.c).
    #[test]
    fn wrr_with_weights() {
        let mut v = vs(3, Scheduler::WeightedRoundRobin, None);
        let mut s = Simulator::new();
        assert_eq!(picks(&mut s, &v, &["10.0.0.1"], 6, 0), [0, 1, 2, 0, 1, 2]);
        v.real_servers[0].weight = 2;
        let mut s = Simulator::new();
        assert_eq!(
            picks(&mut s, &v, &["10.0.0.1"], 8, 0),
            [0, 0, 1, 2, 0, 0, 1, 2]
        );
    }

    /// ip_vs_sh.c: one client always lands on one destination.
    #[test]
    fn sh_is_sticky_per_source() {
        let v = vs(3, Scheduler::SourceHashing, None);
        let mut s = Simulator::new();
        let a = picks(&mut s, &v, &["10.0.0.1"], 3, 0);
        assert!(a.iter().all(|x| *x == a[0]));
        // bucket = hash_32(0x0a000001, 8) = (0x0a000001 * 0x61c88647) >> 24
        let bucket = (0x0a00_0001u32.wrapping_mul(0x61c8_8647) >> 24) as usize;
        assert_eq!(a[0], bucket % 3);
    }

    #[test]
    fn lc_balances_open_connections() {
        let v = vs(3, Scheduler::LeastConnection, None);
        let mut s = Simulator::new();
        assert_eq!(picks(&mut s, &v, &["10.0.0.1"], 6, 0), [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn no_real_servers_is_refused() {
        let v = vs(0, Scheduler::RoundRobin, None);
        let d = Simulator::new().connect("n", &v, "10.0.0.1".parse().unwrap(), 0);
        assert_eq!(d.index, None);
        assert!(d.reason.contains("refused"));
    }
}
