//! IPVS as a simulation without I/O: the kernel's schedulers (Linux 6.1, the kernel the VM
//! boots), its destination lists, its connection table and persistence templates.
//!
//! One file per scheduler family: [`rr`] (`rr`, `wrr`), [`lc`] (`lc`, `wlc`, `sed`, `nq`),
//! [`sh`] (`sh`, `dh`), [`mh`] (Maglev), [`hash`] (the kernel's hash functions); [`conn`]
//! holds the connection table. This file keeps each virtual server's destination list as the
//! kernel holds it and turns the changes it sees between calls into the kernel's
//! `add_dest` / `del_dest` / `upd_dest` hooks.
//!
//! # API (used by `route`, the playground and the VM harness)
//! - [`Simulator::with_seed`] / [`Simulator::new`]: an empty kernel; the seed drives the
//!   source ports of connections given without one.
//! - [`Simulator::open`]: one connection ([`Open`]: client address, optional source port,
//!   time, optional duration) to a [`VirtualServer`] on a node; the virtual server's
//!   `real_servers` are the kernel's destination list in list order. Returns a
//!   [`Decision`]. [`Simulator::connect`] is `open` with a generated port, open for the run.
//! - [`Simulator::connections`]: the connection table at a time, as `ipvsadm -Lnc` lists it
//!   ([`ConnEntry`], with persistence templates).
//! - [`Simulator::counters`]: ActiveConn / InActConn / PersistConn per real server at a time.
//! - [`Simulator::reset`]: forget everything.
//!
//! Time is an input in milliseconds. kube-proxy's sysctls are assumed
//! (`expire_nodest_conn=1`, `expire_quiescent_template=1`, `conn_reuse_mode=1` on 6.1),
//! no thresholds (no destination is ever overloaded), persistence netmask /32 and /128.

pub mod conn;
pub mod hash;
pub mod lc;
pub mod mh;
pub mod modes;
pub mod route;
pub mod rr;
pub mod sh;

use alloc::borrow::Cow;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;

use crate::diag::Msg;
use alloc::vec::Vec;
use core::net::IpAddr;

use crate::config::Scheduler;
use crate::plan::{Plan, RealServer, VirtualServer, VsKey, fmt_addr};
use crate::sort::CollectSorted as _;

pub use conn::{ConnEntry, DestCounters};
use conn::{ConnTable, Reuse};

/// A destination's identity: address and port.
pub(crate) type DestId = (IpAddr, u16);

/// A destination as the kernel keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Dest {
    pub id: DestId,
    /// `dest->weight`.
    pub weight: u32,
    /// `dest->last_weight`: the latest non-zero weight, or the weight it was added with
    /// (`ip_vs_ctl.c:885-887`).
    pub last_weight: u32,
}

/// Destinations `10.244.0.2`, `.3`, … on `port` with the given weights (`last_weight` the same):
/// the scheduler families' unit tests start from these.
#[cfg(test)]
pub(crate) fn test_dests(weights: &[u32], port: u16) -> Vec<Dest> {
    use core::net::Ipv4Addr;
    weights
        .iter()
        .enumerate()
        .map(|(i, w)| Dest {
            id: (IpAddr::V4(Ipv4Addr::new(10, 244, 0, 2 + i as u8)), port),
            weight: *w,
            last_weight: *w,
        })
        .collect()
}

/// A destination's connection counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// `activeconns` (ipvsadm's ActiveConn).
    pub active: u32,
    /// `inactconns` (InActConn).
    pub inactive: u32,
    /// `persistconns` (PersistConn): templates pointing at it.
    pub persistent: u32,
}

/// One connection to open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Open {
    /// The client's address.
    pub client: IpAddr,
    /// Its source port; `None`: the next of the seeded sequence (32768–60999, Linux's
    /// `ip_local_port_range`), skipping ports with an entry in the table.
    pub port: Option<u16>,
    /// When, in simulated milliseconds.
    pub at_ms: u64,
    /// How long the client keeps it open; `None`: for the whole run.
    pub duration_ms: Option<u64>,
}

/// The outcome of one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The chosen real server's index in the virtual server's list; `None` when the kernel
    /// finds no destination (the client sees the connection refused).
    pub index: Option<usize>,
    /// The source port used.
    pub source_port: u16,
    /// The entry already in the connection table was used (not scheduled again).
    pub existing: bool,
    /// Why, in words (structured: its English rendering is the reason).
    pub reason: Msg,
}

impl Decision {
    /// No destination: IPVS answers with ICMP port unreachable (`ip_vs_leave`).
    pub fn refused(&self) -> bool {
        self.index.is_none()
    }
}

/// Scheduler state of one virtual server.
#[derive(Clone, Debug)]
enum Sched {
    Rr(rr::Rr),
    Wrr(rr::Wrr),
    Sh(sh::Buckets),
    Dh(sh::Buckets),
    Mh(mh::Maglev),
    /// lc, wlc, sed, nq: no state of their own.
    Stateless,
    /// Not simulated.
    None,
}

impl Sched {
    fn init(s: Scheduler, dests: &[Dest]) -> Self {
        match s {
            Scheduler::RoundRobin => Sched::Rr(rr::Rr::default()),
            Scheduler::WeightedRoundRobin => Sched::Wrr(rr::Wrr::init(dests)),
            Scheduler::SourceHashing => Sched::Sh(sh::Buckets::sh(dests)),
            Scheduler::DestinationHashing => Sched::Dh(sh::Buckets::dh(dests)),
            Scheduler::Maglev => Sched::Mh(mh::Maglev::build(dests)),
            Scheduler::LeastConnection
            | Scheduler::WeightedLeastConnection
            | Scheduler::ShortestExpectedDelay
            | Scheduler::NeverQueue => Sched::Stateless,
            _ => Sched::None,
        }
    }

    /// The `add_dest` / `upd_dest` hooks (after the list changed).
    fn changed(&mut self, dests: &[Dest], update: bool) {
        match self {
            Sched::Wrr(w) => w.dest_changed(dests),
            Sched::Sh(b) => *b = sh::Buckets::sh(dests),
            // dh has no upd_dest (ip_vs_dh.c:251-252).
            Sched::Dh(b) if !update => *b = sh::Buckets::dh(dests),
            Sched::Mh(m) => *m = mh::Maglev::build(dests),
            _ => {}
        }
    }

    /// The `del_dest` hook (after the destination left the list).
    fn deleted(&mut self, dests: &[Dest], removed: DestId, pred: Option<DestId>) {
        match self {
            Sched::Rr(r) => r.del_dest(removed, pred),
            Sched::Dh(b) => *b = sh::Buckets::dh(dests),
            _ => self.changed(dests, false),
        }
    }
}

/// One virtual server in the kernel.
#[derive(Clone, Debug)]
struct Service {
    scheduler: Scheduler,
    dests: Vec<Dest>,
    sched: Sched,
    table: ConnTable,
    /// The plan's last word on each destination (its Pod and node), for
    /// [`Simulator::kernel_view`].
    /// Sorted by (address, port) (a list: a service's few destinations; no map type of its
    /// own in the wasm build).
    known: Vec<RealServer>,
}

impl Service {
    /// A service created empty, then given its destinations as the agent adds them: in
    /// reverse, each at the head of the list, so the list ends in the given order.
    fn new(vs: &VirtualServer) -> Self {
        let mut s = Service {
            scheduler: vs.scheduler,
            dests: Vec::new(),
            sched: Sched::init(vs.scheduler, &[]),
            table: ConnTable::new(vs.key()),
            known: Vec::new(),
        };
        for rs in vs.real_servers.iter().rev() {
            s.know(rs);
            s.add_at_head(Dest {
                id: (rs.address, rs.port),
                weight: rs.weight,
                last_weight: rs.weight,
            });
        }
        s
    }

    /// Keeps the plan's last word on a destination.
    fn know(&mut self, rs: &RealServer) {
        match self.find_known((rs.address, rs.port)) {
            Ok(i) => self.known[i] = rs.clone(),
            Err(i) => self.known.insert(i, rs.clone()),
        }
    }

    fn find_known(&self, id: DestId) -> Result<usize, usize> {
        self.known
            .binary_search_by(|k| (k.address, k.port).cmp(&id))
    }

    /// `__ip_vs_update_dest(add=1)`: `list_add_rcu` at the head (`ip_vs_ctl.c:946`), then
    /// `add_dest`.
    fn add_at_head(&mut self, d: Dest) {
        self.dests.insert(0, d);
        self.sched.changed(&self.dests, false);
    }

    /// Brings the list to `vs.real_servers`: removals (in list order), weight updates, then
    /// additions at the head (the last added first), each through the scheduler's hook; a
    /// changed scheduler is bound afresh (`ip_vs_edit_service`). A final order the kernel
    /// cannot reach by head insertion is taken as given (the table-based schedulers are
    /// rebuilt for it).
    fn sync(&mut self, vs: &VirtualServer) {
        for rs in &vs.real_servers {
            self.know(rs);
        }
        let want: Vec<DestId> = vs
            .real_servers
            .iter()
            .map(|r| (r.address, r.port))
            .collect();
        let mut i = 0;
        while i < self.dests.len() {
            let id = self.dests[i].id;
            if want.contains(&id) {
                i += 1;
                continue;
            }
            // __ip_vs_unlink_dest: list_del_rcu, then del_dest (ip_vs_ctl.c:1197-1208).
            self.dests.remove(i);
            let pred = if i == 0 {
                None
            } else {
                Some(self.dests[i - 1].id)
            };
            self.sched.deleted(&self.dests, id, pred);
        }
        for rs in &vs.real_servers {
            let id = (rs.address, rs.port);
            if let Some(k) = self.dests.iter().position(|d| d.id == id)
                && self.dests[k].weight != rs.weight
            {
                let d = &mut self.dests[k];
                d.weight = rs.weight;
                if rs.weight != 0 {
                    d.last_weight = rs.weight;
                }
                self.sched.changed(&self.dests, true);
            }
        }
        for rs in vs.real_servers.iter().rev() {
            let id = (rs.address, rs.port);
            if !self.dests.iter().any(|d| d.id == id) {
                self.add_at_head(Dest {
                    id,
                    weight: rs.weight,
                    last_weight: rs.weight,
                });
            }
        }
        let order: Vec<DestId> = self.dests.iter().map(|d| d.id).collect();
        if order != want {
            let mut sorted = Vec::with_capacity(want.len());
            for id in &want {
                if let Some(d) = self.dests.iter().find(|d| d.id == *id) {
                    sorted.push(d.clone());
                }
            }
            self.dests = sorted;
            self.sched.changed(&self.dests, false);
        }
        if self.scheduler != vs.scheduler {
            self.scheduler = vs.scheduler;
            self.sched = Sched::init(vs.scheduler, &self.dests);
        }
    }

    fn index(&self, id: DestId) -> Option<usize> {
        self.dests.iter().position(|d| d.id == id)
    }

    /// Runs the scheduler: the chosen index, or `None` with the kernel's reason.
    fn schedule(&mut self, client: IpAddr, port: u16, vaddr: IpAddr) -> Result<(usize, Msg), Msg> {
        let name = self.scheduler.as_str();
        if self.dests.is_empty() {
            return Err(crate::msg!("no real servers: the connection is refused"));
        }
        let show = |d: &Dest| format!("{}:{}", fmt_addr(&d.id.0), d.id.1);
        let no_dest = || crate::msg!("no destination available: the connection is refused");
        let all_zero = || crate::msg!("{}: every real server has weight 0: {}", name, no_dest());
        match &mut self.sched {
            Sched::Rr(r) => {
                let before = r.cursor();
                let i = r.schedule(&self.dests).ok_or_else(all_zero)?;
                let why = match before {
                    None => crate::msg!("{}: first real server in the list", name),
                    Some(c) => crate::msg!("{}: next after {}:{}", name, fmt_addr(&c.0), c.1),
                };
                Ok((i, why))
            }
            Sched::Wrr(w) => {
                let i = w.schedule(&self.dests).ok_or_else(all_zero)?;
                Ok((
                    i,
                    crate::msg!(
                        "{}: weight {} >= current weight {} (max {}, gcd {})",
                        name,
                        self.dests[i].weight,
                        w.cw,
                        w.mw,
                        w.di
                    ),
                ))
            }
            Sched::Stateless => {
                let table = &self.table;
                let dests = &self.dests;
                let counts = |i: usize| table.counts(dests[i].id);
                let i = lc::schedule(self.scheduler, dests, &counts).ok_or_else(all_zero)?;
                let c = counts(i);
                Ok((
                    i,
                    crate::msg!(
                        "{}: least loaded ({} active, {} inactive, weight {})",
                        name,
                        c.active,
                        c.inactive,
                        dests[i].weight
                    ),
                ))
            }
            Sched::Sh(b) | Sched::Dh(b) => {
                let source = self.scheduler == Scheduler::SourceHashing;
                let (key, bucket) = if source {
                    (client, sh::sh_bucket(&client, 0))
                } else {
                    (vaddr, sh::dh_bucket(&vaddr))
                };
                let id = b.get(bucket).ok_or_else(no_dest)?;
                let i = self.index(id).ok_or_else(no_dest)?;
                let (key, held) = (fmt_addr(&key), show(&self.dests[i]));
                let head = if source {
                    crate::msg!(
                        "{}: source {} hashes to bucket {} of {}, held by {}",
                        name,
                        key,
                        bucket,
                        sh::TAB_SIZE,
                        held
                    )
                } else {
                    crate::msg!(
                        "{}: destination {} hashes to bucket {} of {}, held by {}",
                        name,
                        key,
                        bucket,
                        sh::TAB_SIZE,
                        held
                    )
                };
                if self.dests[i].weight == 0 {
                    return Err(crate::msg!(
                        "{} at weight 0 (no fallback): {}",
                        head,
                        no_dest()
                    ));
                }
                Ok((i, head))
            }
            Sched::Mh(m) => {
                let slot = mh::slot(&client, port);
                let head = crate::msg!(
                    "{}: {}:{} hashes to slot {} of {}",
                    name,
                    fmt_addr(&client),
                    port,
                    slot,
                    mh::TAB_SIZE
                );
                let Some(id) = m.get(slot) else {
                    return Err(crate::msg!("{}, which is empty: {}", head, no_dest()));
                };
                let i = self.index(id).ok_or_else(no_dest)?;
                let held = crate::msg!("{}, held by {}", head, show(&self.dests[i]));
                if self.dests[i].weight == 0 {
                    return Err(crate::msg!(
                        "{} at weight 0 (it keeps its slots; kube-proxy sets no mh-fallback): {}",
                        held,
                        no_dest()
                    ));
                }
                Ok((i, held))
            }
            Sched::None => Err(crate::msg!("{} is not simulated", name)),
        }
    }
}

/// The state IPVS keeps between connections, for any number of virtual servers on any
/// number of nodes.
#[derive(Clone, Debug, Default)]
pub struct Simulator {
    seed: u64,
    services: BTreeMap<(String, VsKey), Service>,
    /// Per client address: how many ports the sequence gave it (a `u32` counter, kept as a
    /// `u64` to share the connection tables' `BTreeMap<IpAddr, u64>` code in the wasm build).
    ports: BTreeMap<IpAddr, u64>,
    /// The other kube-proxy modes' state (`route --proxy-mode`).
    modes: modes::ModeStates,
}

/// The ephemeral port range (Linux's default `net.ipv4.ip_local_port_range`).
const PORT_LOW: u32 = 32768;
const PORT_COUNT: u32 = 61000 - 32768;

/// The next port of `client`'s seeded sequence that `taken` does not refuse.
fn next_port(seed: u64, client: IpAddr, n: &mut u32, taken: &dyn Fn(u16) -> bool) -> u16 {
    let base = seed ^ u64::from(hash::fold(&client)).rotate_left(32);
    for _ in 0..PORT_COUNT {
        let r = splitmix64(base ^ u64::from(*n).wrapping_mul(0x2545_f491_4f6c_dd1d));
        *n = n.wrapping_add(1);
        let port = PORT_LOW + (r % u64::from(PORT_COUNT)) as u32;
        if !taken(port as u16) {
            return port as u16;
        }
    }
    PORT_LOW as u16
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Simulator {
    /// A kernel with no virtual servers; source ports from seed 0.
    pub fn new() -> Self {
        Simulator::default()
    }

    /// A kernel with no virtual servers; source ports from `seed`.
    pub fn with_seed(seed: u64) -> Self {
        Simulator {
            seed,
            ..Simulator::default()
        }
    }

    /// Forgets every virtual server, connection and template (keeps the seed; the port
    /// sequence starts again).
    pub fn reset(&mut self) {
        self.services.clear();
        self.ports.clear();
        self.modes.reset();
    }

    /// Decides where a connection from `client` at `now_ms` goes in the mode of `ctx` (not
    /// IPVS: [`Simulator::open`]), continuing that mode's draws, lists and positions.
    pub fn choose(
        &mut self,
        ctx: &modes::Context,
        client: IpAddr,
        now_ms: u64,
        refuses: &dyn Fn(IpAddr, u16, Option<&str>) -> bool,
    ) -> modes::Choice {
        self.modes.choose(self.seed, ctx, client, now_ms, refuses)
    }

    /// Opens a connection from `client` (a generated source port) at `now_ms`, open for the
    /// whole run.
    pub fn connect(
        &mut self,
        node: &str,
        vs: &VirtualServer,
        client: IpAddr,
        now_ms: u64,
    ) -> Decision {
        self.open(
            node,
            vs,
            &Open {
                client,
                port: None,
                at_ms: now_ms,
                duration_ms: None,
            },
        )
    }

    /// The next source port of `client`'s seeded sequence (for connections that reach no
    /// virtual server, e.g. straight to a headless Service's Pods).
    pub fn port_for(&mut self, client: IpAddr) -> u16 {
        let slot = self.ports.entry(client).or_default();
        let mut n = *slot as u32;
        let port = next_port(self.seed, client, &mut n, &|_| false);
        *slot = u64::from(n);
        port
    }

    /// Opens one connection to `vs` on `node`, as the kernel would (`ip_vs_in_hook`): an
    /// entry already in the table for this client address and port is used again, except
    /// where the kernel schedules anew (its real server removed or at weight 0
    /// — `expire_nodest_conn` —, or a TCP entry in TIME_WAIT / CLOSE, or an SCTP one CLOSED,
    /// not under a persistence template — `conn_reuse_mode`, `ip_vs_core.c:1999-2051`).
    /// With ClientIP affinity a valid template decides (`ip_vs_sched_persist`); otherwise
    /// the scheduler does.
    pub fn open(&mut self, node: &str, vs: &VirtualServer, o: &Open) -> Decision {
        let svc = self
            .services
            .entry((node.into(), vs.key()))
            .or_insert_with(|| Service::new(vs));
        svc.sync(vs);
        svc.table.advance(o.at_ms);
        let port = match o.port {
            Some(p) => p,
            None => {
                let slot = self.ports.entry(o.client).or_default();
                let mut n = *slot as u32;
                let port = next_port(self.seed, o.client, &mut n, &|p| svc.table.has(o.client, p));
                *slot = u64::from(n);
                port
            }
        };
        let show = |id: DestId| format!("{}:{}", fmt_addr(&id.0), id.1);
        let dests = svc.dests.clone();
        let weight_of = |id: DestId| dests.iter().find(|d| d.id == id).map(|d| d.weight);

        let mut prefix: Option<Msg> = None;
        let with_prefix = |prefix: &Option<Msg>, m: Msg| match prefix {
            Some(p) => crate::msg!("{}; {}", p, m),
            None => m,
        };
        match svc.table.reuse(o.client, port, vs.protocol, &weight_of) {
            Reuse::Same(id) => {
                svc.table.refresh(o.client, port, o.at_ms, o.duration_ms);
                let i = svc.index(id).unwrap_or(0);
                return Decision {
                    index: Some(i),
                    source_port: port,
                    existing: true,
                    reason: crate::msg!(
                        "existing connection {}:{} → {} in the connection table: not scheduled again",
                        fmt_addr(&o.client),
                        port,
                        show(id)
                    ),
                };
            }
            Reuse::Expired(why) => prefix = Some(why),
            Reuse::None => {}
        }

        let mut template_note = Msg::default();
        if let Some(timeout) = vs.persistence_timeout_seconds {
            match svc.table.template(o.client, &weight_of) {
                Ok(Some(id)) => {
                    let i = svc.index(id).unwrap_or(0);
                    let until = svc.table.use_template(o.client, o.at_ms);
                    svc.table.insert(o, port, id, vs.protocol, true);
                    return Decision {
                        index: Some(i),
                        source_port: port,
                        existing: false,
                        reason: with_prefix(
                            &prefix,
                            crate::msg!(
                                "ClientIP affinity: the persistence template pins {} to {} (expires {})",
                                fmt_addr(&o.client),
                                show(id),
                                conn::fmt_time(until)
                            ),
                        ),
                    };
                }
                Ok(None) => {}
                Err(why) => template_note = crate::msg!(" ({})", why),
            }
            match svc.schedule(o.client, port, vs.address) {
                Ok((i, why)) => {
                    let id = svc.dests[i].id;
                    svc.table.new_template(
                        o.client,
                        id,
                        vs.protocol,
                        o.at_ms,
                        u64::from(timeout) * 1000,
                    );
                    svc.table.insert(o, port, id, vs.protocol, true);
                    return Decision {
                        index: Some(i),
                        source_port: port,
                        existing: false,
                        reason: with_prefix(
                            &prefix,
                            crate::msg!(
                                "{}; ClientIP affinity: new persistence template{} pins {} to {} for {}s",
                                why,
                                template_note,
                                fmt_addr(&o.client),
                                show(id),
                                timeout
                            ),
                        ),
                    };
                }
                Err(why) => {
                    return Decision {
                        index: None,
                        source_port: port,
                        existing: false,
                        reason: with_prefix(&prefix, why),
                    };
                }
            }
        }
        match svc.schedule(o.client, port, vs.address) {
            Ok((i, why)) => {
                let id = svc.dests[i].id;
                svc.table.insert(o, port, id, vs.protocol, false);
                Decision {
                    index: Some(i),
                    source_port: port,
                    existing: false,
                    reason: with_prefix(&prefix, why),
                }
            }
            Err(why) => Decision {
                index: None,
                source_port: port,
                existing: false,
                reason: with_prefix(&prefix, why),
            },
        }
    }

    /// The connection table at `now_ms` (expired entries dropped first), as `ipvsadm -Lnc`
    /// lists it: every node's virtual servers in address order, then entries by source.
    pub fn connections(&mut self, now_ms: u64) -> Vec<ConnEntry> {
        let mut out = Vec::new();
        for svc in self.services.values_mut() {
            svc.table.advance(now_ms);
            out.extend(svc.table.entries(now_ms));
        }
        out
    }

    /// [`Simulator::connections`] of one node: what `ipvsadm -Lnc` lists there (each node's
    /// kernel has its own table).
    pub fn node_connections(&mut self, node: &str, now_ms: u64) -> Vec<ConnEntry> {
        let mut out = Vec::new();
        for ((n, _), svc) in self.services.iter_mut() {
            if n == node {
                svc.table.advance(now_ms);
                out.extend(svc.table.entries(now_ms));
            }
        }
        out
    }

    /// ActiveConn / InActConn / PersistConn of each real server of `vs` on `node` at
    /// `now_ms`, in the kernel's list order (the real servers `open` last saw).
    pub fn counters(&mut self, node: &str, vs: &VsKey, now_ms: u64) -> Vec<DestCounters> {
        let Some(svc) = self.services.get_mut(&(node.into(), *vs)) else {
            return Vec::new();
        };
        svc.table.advance(now_ms);
        svc.dests
            .iter()
            .map(|d| DestCounters {
                address: d.id.0,
                port: d.id.1,
                weight: d.weight,
                counts: svc.table.counts(d.id),
            })
            .collect()
    }

    /// The virtual server as kube-proxy keeps it in `node`'s kernel at `now_ms`: `vs` (what
    /// the plan wants) and, for a protocol kube-proxy drains ([`crate::reconcile::drains`]:
    /// TCP), each real server the kernel still holds that the plan no longer wants while it
    /// has connections (ActiveConn + InActConn > 0), at weight 0 — kube-proxy's graceful
    /// termination (`pkg/proxy/ipvs/graceful_termination.go`: `deleteRsFunc` keeps a busy
    /// real server at weight 0). Once its connections have ended it is left out: kube-proxy
    /// deletes it. [`crate::route::route`] opens connections through this view, so a
    /// draining real server keeps its connections and gets no new ones.
    pub fn kernel_view<'a>(
        &mut self,
        node: &str,
        vs: &'a VirtualServer,
        now_ms: u64,
    ) -> Cow<'a, VirtualServer> {
        let Some(svc) = self.services.get_mut(&(node.into(), vs.key())) else {
            return Cow::Borrowed(vs);
        };
        if !crate::reconcile::drains(vs.protocol) {
            return Cow::Borrowed(vs);
        }
        svc.table.advance(now_ms);
        let mut draining = Vec::new();
        for d in &svc.dests {
            if vs.real_servers.iter().any(|r| (r.address, r.port) == d.id) {
                continue;
            }
            let c = svc.table.counts(d.id);
            if c.active + c.inactive == 0 {
                continue;
            }
            let known = svc.find_known(d.id).ok().map(|i| &svc.known[i]);
            draining.push(RealServer {
                address: d.id.0,
                port: d.id.1,
                weight: 0,
                pod: known.and_then(|k| k.pod.clone()),
                node: known.and_then(|k| k.node.clone()),
                terminating: true,
            });
        }
        if draining.is_empty() {
            return Cow::Borrowed(vs);
        }
        let mut v = vs.clone();
        v.real_servers.extend(draining);
        crate::sort::sort_by_key(&mut v.real_servers, |r| (r.address, r.port));
        Cow::Owned(v)
    }

    /// `plan` with each virtual server as [`Simulator::kernel_view`] gives it at `now_ms`:
    /// what `ipvsadm -Ln` shows on that node, draining real servers included.
    pub fn kernel_plan(&mut self, plan: &Plan, now_ms: u64) -> Plan {
        let mut out = plan.clone();
        for vs in &mut out.virtual_servers {
            if let Cow::Owned(v) = self.kernel_view(&plan.node, vs, now_ms) {
                *vs = v;
            }
        }
        out
    }

    /// What kube-proxy sends to `old`'s node when the plan becomes `new` at `now_ms`: the
    /// kernel as this simulator holds it (its [`Simulator::kernel_plan`] and connection
    /// counts) reconciled to `new` ([`crate::reconcile::reconcile`]): a busy TCP real server
    /// that is no longer wanted is set to weight 0 (`ipvsadm -e … -w 0`), an idle one deleted.
    pub fn sync_ops(&mut self, old: &Plan, new: &Plan, now_ms: u64) -> Vec<crate::diff::Op> {
        use crate::diff::{RsKey, State};
        use crate::reconcile::{Observed, Ownership};
        let held = self.kernel_plan(old, now_ms);
        let mut observed = Observed::idle(&State::from_plan(&held));
        for vs in &held.virtual_servers {
            let counts = self.counters(&old.node, &vs.key(), now_ms);
            let Some((_, rs)) = observed.virtual_servers.get_mut(&vs.key()) else {
                continue;
            };
            for c in counts {
                let key = RsKey {
                    address: c.address,
                    port: c.port,
                };
                if let Some(o) = rs.get_mut(&key) {
                    o.active = c.counts.active;
                    o.inactive = c.counts.inactive;
                }
            }
        }
        // Everything in the old plan is kube-proxy's own.
        let owned = Ownership {
            node_addresses: held
                .virtual_servers
                .iter()
                .map(|v| v.address)
                .chain(new.virtual_servers.iter().map(|v| v.address))
                .collect_set(),
            node_port_range: (0, u16::MAX),
            excluded: Vec::new(),
        };
        crate::reconcile::reconcile(&observed, &State::from_plan(new), &owned)
    }

    /// The protocol of a virtual server the simulator knows, for callers rendering tables.
    pub fn knows(&self, node: &str, vs: &VsKey) -> bool {
        self.services.contains_key(&(node.into(), *vs))
    }
}

/// Names of the schedulers the simulator runs exactly.
pub fn simulated() -> Vec<&'static str> {
    Scheduler::ALL
        .iter()
        .filter(|s| s.is_simulated())
        .map(|s| s.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::Protocol;
    use crate::plan::{RealServer, VsKind};
    use alloc::string::ToString;
    use core::net::Ipv4Addr;

    fn vs(weights: &[u32], scheduler: Scheduler, persistence: Option<u32>) -> VirtualServer {
        VirtualServer {
            service: "dev/s".into(),
            port_name: String::new(),
            kind: VsKind::ClusterIP,
            protocol: Protocol::Tcp,
            address: "10.96.0.10".parse().unwrap(),
            port: 80,
            scheduler,
            persistence_timeout_seconds: persistence,
            real_servers: weights
                .iter()
                .enumerate()
                .map(|(i, w)| RealServer {
                    address: IpAddr::V4(Ipv4Addr::new(10, 244, 0, 2 + i as u8)),
                    port: 8080,
                    weight: *w,
                    pod: None,
                    node: None,
                    terminating: false,
                })
                .collect(),
            note: String::new(),
            notes: Vec::new(),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn open(
        sim: &mut Simulator,
        v: &VirtualServer,
        c: &str,
        port: u16,
        t: u64,
        d: Option<u64>,
    ) -> Decision {
        sim.open(
            "n",
            v,
            &Open {
                client: ip(c),
                port: Some(port),
                at_ms: t,
                duration_ms: d,
            },
        )
    }

    /// kube-proxy's graceful termination (graceful_termination.go): a TCP real server the plan
    /// drops while it has connections stays in the kernel at weight 0 (no new connections,
    /// its own keep going) and leaves once ActiveConn + InActConn reach 0 (after TIME_WAIT).
    #[test]
    fn a_dropped_busy_real_server_drains_at_weight_0_then_leaves() {
        let both = vs(&[1, 1], Scheduler::RoundRobin, None);
        let mut s = Simulator::new();
        // 10.244.0.3 gets the second connection, open for 10 s.
        open(&mut s, &both, "10.0.0.1", 40000, 0, Some(1_000));
        let d = open(&mut s, &both, "10.0.0.1", 40001, 0, Some(10_000));
        let busy = both.real_servers[d.index.unwrap()].address;
        let mut one = both.clone();
        one.real_servers.retain(|r| r.address != busy);
        // kube-proxy's sync: the busy real server is set to weight 0, not deleted.
        let plan = |v: &VirtualServer| Plan {
            node: "n".into(),
            virtual_servers: alloc::vec![v.clone()],
            interface_addresses: alloc::vec![v.address],
            dns: Vec::new(),
            warnings: Vec::new(),
            diagnostics: Vec::new(),
            skipped: Vec::new(),
            rules: crate::plan::Rules::default(),
        };
        let ops = s.sync_ops(&plan(&both), &plan(&one), 5_000);
        assert!(
            matches!(ops.as_slice(), [crate::diff::Op::UpdateRealServer { weight: 0, real_server, .. }] if real_server.address == busy),
            "{ops:?}"
        );
        let view = s.kernel_view("n", &one, 5_000).into_owned();
        let drained: Vec<u32> = view
            .real_servers
            .iter()
            .filter(|r| r.address == busy)
            .map(|r| r.weight)
            .collect();
        assert_eq!(drained, [0], "{view:?}");
        for p in 0..4 {
            let d = open(&mut s, &view, "10.0.0.2", 41000 + p, 5_000, Some(1_000));
            assert_ne!(view.real_servers[d.index.unwrap()].address, busy);
        }
        // Closed at 10 s, in TIME_WAIT until 130 s: still draining, then gone.
        assert_eq!(s.kernel_view("n", &one, 129_000).real_servers.len(), 2);
        assert_eq!(s.kernel_view("n", &one, 131_000).real_servers.len(), 1);
        // UDP is not drained: kube-proxy deletes its real servers at once.
        let mut udp = both.clone();
        udp.protocol = Protocol::Udp;
        let mut s = Simulator::new();
        open(&mut s, &udp, "10.0.0.1", 40000, 0, Some(10_000));
        let mut one = udp.clone();
        one.real_servers.truncate(1);
        assert_eq!(s.kernel_view("n", &one, 1_000).real_servers.len(), 1);
    }

    /// ip_vs_rr.c: list order from the head, wrapping.
    #[test]
    fn rr_walks_the_list() {
        let v = vs(&[1, 1, 1], Scheduler::RoundRobin, None);
        let mut s = Simulator::new();
        let got: Vec<Option<usize>> = (0..6)
            .map(|i| open(&mut s, &v, "10.0.0.1", 40000 + i, 0, None).index)
            .collect();
        assert_eq!(got, [0, 1, 2, 0, 1, 2].map(Some));
    }

    /// A connection from an address and port whose entry is still in the table is that
    /// connection; once in TIME_WAIT (not under a template) it is scheduled anew
    /// (conn_reuse_mode, ip_vs_core.c:2007-2030).
    #[test]
    fn existing_entries_and_time_wait_reuse() {
        let v = vs(&[1, 1], Scheduler::RoundRobin, None);
        let mut s = Simulator::new();
        let a = open(&mut s, &v, "10.0.0.1", 40000, 0, Some(1000));
        let b = open(&mut s, &v, "10.0.0.1", 40000, 500, Some(1000));
        assert!(b.existing && b.index == a.index);
        // Closed at 1.5 s → TIME_WAIT; a new SYN at 2 s is scheduled again (rr moves on).
        let c = open(&mut s, &v, "10.0.0.1", 40000, 2000, Some(1000));
        assert!(!c.existing);
        assert_eq!(c.index, Some(1));
        assert!(c.reason.to_string().contains("TIME_WAIT"), "{}", c.reason);
    }

    /// lc differs from rr once connections close: closed ones weigh 1, open ones 256
    /// (ip_vs_dest_conn_overhead of 6.1).
    #[test]
    fn lc_follows_open_connections() {
        let v = vs(&[1, 1, 1], Scheduler::LeastConnection, None);
        let mut s = Simulator::new();
        // A long one to .2, then short ones: .3 (closes at 1 s), .4 (closes at 2 s).
        assert_eq!(open(&mut s, &v, "10.0.0.1", 1, 0, None).index, Some(0));
        assert_eq!(
            open(&mut s, &v, "10.0.0.1", 2, 0, Some(1000)).index,
            Some(1)
        );
        assert_eq!(
            open(&mut s, &v, "10.0.0.1", 3, 0, Some(2000)).index,
            Some(2)
        );
        // At 1.5 s: .2 has 256, .3 has 1 (TIME_WAIT), .4 has 256 → .3.
        assert_eq!(
            open(&mut s, &v, "10.0.0.1", 4, 1500, Some(0)).index,
            Some(1)
        );
        let c = s.counters("n", &v.key(), 1500);
        assert_eq!(
            c[0].counts,
            Counts {
                active: 1,
                inactive: 0,
                persistent: 0
            }
        );
        // .3 now: one TIME_WAIT and one just closed at 1.5 s (duration 0).
        assert_eq!(c[1].counts.inactive, 2);
        // After 2 min of TIME_WAIT they expire.
        let later = s.counters("n", &v.key(), 200_000);
        assert_eq!(later[1].counts, Counts::default());
        assert_eq!(later[0].counts.active, 1);
    }

    /// sh: the same source address, whatever its port, lands on one bucket.
    #[test]
    fn sh_is_sticky_per_source_address() {
        let v = vs(&[1, 1, 1], Scheduler::SourceHashing, None);
        let mut s = Simulator::new();
        let first = open(&mut s, &v, "10.0.0.7", 40000, 0, None).index;
        for p in 40001..40010 {
            assert_eq!(open(&mut s, &v, "10.0.0.7", p, 0, None).index, first);
        }
        // bucket 0x72 of 256 (by hand, sh.rs), 0x72 % 3 = 0 → the first in the list.
        assert_eq!(first, Some(0x72 % 3));
    }

    /// mh: a real server set to weight 0 keeps its slots; clients hashing there are refused
    /// (no fallback). One added at weight 0 gets no slot.
    #[test]
    fn mh_refuses_after_a_drain() {
        let mut v = vs(&[1, 1, 1], Scheduler::Maglev, None);
        let mut s = Simulator::new();
        // 10.0.0.7:40000 → slot 2023 → 10.244.0.4 (index 2; by hand, mh.rs).
        assert_eq!(
            open(&mut s, &v, "10.0.0.7", 40000, 0, Some(0)).index,
            Some(2)
        );
        v.real_servers[2].weight = 0;
        // 10.0.0.7:40002 hashes to a slot of .4 (Python transcription): refused; 40001 to
        // .3: served.
        let d = open(&mut s, &v, "10.0.0.7", 40002, 1000, None);
        assert!(d.refused(), "{}", d.reason);
        assert!(d.reason.to_string().contains("mh-fallback"), "{}", d.reason);
        assert_eq!(
            open(&mut s, &v, "10.0.0.7", 40001, 1000, None).index,
            Some(1)
        );
        // Its earlier connection is in TIME_WAIT at weight 0: rescheduled → refused too.
        let r = open(&mut s, &v, "10.0.0.7", 40000, 2000, None);
        assert!(r.refused(), "{}", r.reason);
        assert!(r.reason.to_string().contains("weight 0"), "{}", r.reason);
        // Added at weight 0: no slot, so nobody is refused because of it.
        let w = vs(&[1, 1, 0], Scheduler::Maglev, None);
        let m = mh::Maglev::build(&Service::new(&w).dests);
        assert_eq!(m.count(w.real_servers[2].address_id()), 0);
    }

    impl RealServer {
        fn address_id(&self) -> DestId {
            (self.address, self.port)
        }
    }

    /// A real server added later goes to the head of the kernel's list; rr's cursor stays
    /// on its destination (ip_vs_rr.c has no add_dest).
    #[test]
    fn added_at_the_head_and_rr_cursor() {
        let v = vs(&[1, 1], Scheduler::RoundRobin, None);
        let mut s = Simulator::new();
        assert_eq!(open(&mut s, &v, "10.0.0.1", 1, 0, None).index, Some(0));
        // Add 10.244.0.9 at the head: the list is [.9, .2, .3]; the cursor is .2 → .3 next.
        let mut w = v.clone();
        let mut new = w.real_servers[0].clone();
        new.address = ip("10.244.0.9");
        w.real_servers.insert(0, new);
        assert_eq!(open(&mut s, &w, "10.0.0.1", 2, 0, None).index, Some(2));
        assert_eq!(open(&mut s, &w, "10.0.0.1", 3, 0, None).index, Some(0));
        // Remove .9 while the cursor is on it: the cursor steps back to the head.
        let d = open(&mut s, &v, "10.0.0.1", 4, 0, None);
        assert_eq!(d.index, Some(0));
    }

    /// Persistence: a template per client address (port 0), re-armed at each use, kept
    /// while connections it controls remain (60 s steps).
    #[test]
    fn persistence_templates() {
        let v = vs(&[1, 1, 1], Scheduler::RoundRobin, Some(10));
        let mut s = Simulator::new();
        let a = open(&mut s, &v, "10.0.0.7", 1, 0, Some(0));
        let b = open(&mut s, &v, "10.0.0.7", 2, 9_000, Some(0));
        assert_eq!(a.index, b.index);
        let t = s.connections(9_000);
        let tpl = t.iter().find(|e| e.template).unwrap();
        assert_eq!(
            tpl.line(),
            "TCP 00:09  NONE        10.0.0.7:0         10.96.0.10:80      10.244.0.2:8080"
        );
        // At 19 s the template's timer fires, but its connections are in TIME_WAIT until
        // 129 s: re-armed for 60 s steps, so at 100 s the client is still pinned.
        let c = open(&mut s, &v, "10.0.0.7", 3, 100_000, Some(0));
        assert_eq!(c.index, a.index);
        assert!(c.reason.to_string().contains("template"), "{}", c.reason);
        // Another client is scheduled by rr.
        assert_eq!(
            open(&mut s, &v, "10.0.0.8", 1, 100_000, None).index,
            Some(1)
        );
        // Long after every connection expired, the template is gone: scheduled again.
        let d = open(&mut s, &v, "10.0.0.7", 4, 1_000_000, None);
        assert_eq!(d.index, Some(2));
    }

    /// A template whose real server went to weight 0 is invalidated (listed with ports
    /// 65535 until its timer fires) and the client is scheduled anew.
    #[test]
    fn quiescent_template_is_invalidated() {
        let mut v = vs(&[1, 1], Scheduler::RoundRobin, Some(60));
        let mut s = Simulator::new();
        assert_eq!(open(&mut s, &v, "10.0.0.7", 1, 0, None).index, Some(0));
        v.real_servers[0].weight = 0;
        let d = open(&mut s, &v, "10.0.0.7", 2, 1000, None);
        assert_eq!(d.index, Some(1));
        let t = s.connections(1000);
        assert!(t.iter().any(|e| e.template && e.destination.1 == 65535));
    }

    /// wrr's state depends on the order of additions: the agent adds weight 4 then weight 2
    /// (at the head), leaving cw 1 (ip_vs_wrr_dest_changed), so the head goes first;
    /// ip_vs_wrr_init_svc on the same list would start at cw 3 with the weight-4 one.
    #[test]
    fn wrr_follows_the_history_of_additions() {
        let v = vs(&[2, 4], Scheduler::WeightedRoundRobin, None);
        let mut s = Simulator::new();
        let got: Vec<Option<usize>> = (0..6)
            .map(|i| open(&mut s, &v, "10.0.0.1", 1 + i, 0, None).index)
            .collect();
        assert_eq!(got, [0, 1, 1, 0, 1, 1].map(Some));
    }

    /// dh hashes the virtual address: every client on one real server, weights ignored.
    #[test]
    fn dh_hashes_the_destination() {
        let v = vs(&[1, 5, 1], Scheduler::DestinationHashing, None);
        let mut s = Simulator::new();
        let bucket = sh::dh_bucket(&v.address);
        let want = Some(bucket % 3);
        for c in ["10.0.0.1", "10.0.0.2", "192.168.1.9"] {
            assert_eq!(open(&mut s, &v, c, 40000, 0, None).index, want);
        }
    }

    /// An operation sequence for the property test.
    #[derive(Clone, Debug)]
    enum Step {
        Open {
            client: u8,
            port: u16,
            at: u16,
            duration: Option<u16>,
        },
        Weight {
            rs: u8,
            weight: u8,
        },
        Remove {
            rs: u8,
        },
        Add {
            last: u8,
        },
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        prop_oneof![
            4 => (0u8..4, 1u16..4, 0u16..400, proptest::option::of(0u16..300)).prop_map(
                |(client, port, at, duration)| Step::Open { client, port, at, duration }
            ),
            1 => (0u8..6, 0u8..4).prop_map(|(rs, weight)| Step::Weight { rs, weight }),
            1 => (0u8..6).prop_map(|rs| Step::Remove { rs }),
            1 => (0u8..250).prop_map(|last| Step::Add { last }),
        ]
    }

    proptest::proptest! {
        /// Any history of list changes and connections: no panic; a scheduled connection
        /// goes to a real server of weight > 0; the counters add up to the table's entries.
        #[test]
        fn any_history_keeps_the_kernels_invariants(
            sched in 0usize..9,
            persistence in proptest::option::of(1u32..200),
            udp in proptest::bool::ANY,
            steps in proptest::collection::vec(step(), 1..60),
        ) {
            let schedulers = [
                Scheduler::RoundRobin, Scheduler::WeightedRoundRobin, Scheduler::LeastConnection,
                Scheduler::WeightedLeastConnection, Scheduler::ShortestExpectedDelay,
                Scheduler::NeverQueue, Scheduler::SourceHashing, Scheduler::DestinationHashing,
                Scheduler::Maglev,
            ];
            let mut v = vs(&[1, 2, 1], schedulers[sched], persistence);
            if udp {
                v.protocol = Protocol::Udp;
            }
            let mut s = Simulator::with_seed(7);
            let mut now = 0u64;
            for st in steps {
                match st {
                    Step::Open { client, port, at, duration } => {
                        now += u64::from(at) * 100;
                        let c = IpAddr::V4(Ipv4Addr::new(10, 0, 0, client));
                        let d = s.open("n", &v, &Open {
                            client: c,
                            port: Some(port),
                            at_ms: now,
                            duration_ms: duration.map(|x| u64::from(x) * 100),
                        });
                        if let Some(i) = d.index {
                            proptest::prop_assert!(i < v.real_servers.len());
                            if !d.existing {
                                proptest::prop_assert!(v.real_servers[i].weight > 0, "{}", d.reason);
                            }
                        } else {
                            proptest::prop_assert!(!d.existing);
                        }
                    }
                    Step::Weight { rs, weight } => {
                        let n = v.real_servers.len();
                        if n > 0 {
                            v.real_servers[rs as usize % n].weight = u32::from(weight);
                        }
                    }
                    Step::Remove { rs } => {
                        let n = v.real_servers.len();
                        if n > 0 {
                            v.real_servers.remove(rs as usize % n);
                        }
                    }
                    Step::Add { last } => {
                        let a = IpAddr::V4(Ipv4Addr::new(10, 244, 9, last));
                        if !v.real_servers.iter().any(|r| r.address == a) {
                            let mut r = vs(&[1], v.scheduler, None).real_servers.remove(0);
                            r.address = a;
                            v.real_servers.insert(0, r);
                        }
                    }
                }
            }
            let entries = s.connections(now);
            let conns = entries.iter().filter(|e| !e.template).count() as u32;
            let templates = entries.iter().filter(|e| e.template).count() as u32;
            let total: Counts = s
                .services
                .get(&(String::from("n"), v.key()))
                .map(|svc| svc.table.all_counts())
                .unwrap_or_default();
            proptest::prop_assert_eq!(total.active + total.inactive, conns);
            proptest::prop_assert_eq!(total.persistent, templates);
            if udp {
                proptest::prop_assert_eq!(total.active, 0);
            }
        }
    }

    #[test]
    fn no_real_servers_is_refused() {
        let v = vs(&[], Scheduler::RoundRobin, None);
        let d = Simulator::new().connect("n", &v, ip("10.0.0.1"), 0);
        assert!(d.refused());
        assert!(d.reason.to_string().contains("refused"));
    }

    /// Generated ports are deterministic for a seed and differ between seeds.
    #[test]
    fn seeded_ports() {
        let v = vs(&[1], Scheduler::RoundRobin, None);
        let p = |seed| {
            Simulator::with_seed(seed)
                .connect("n", &v, ip("10.0.0.1"), 0)
                .source_port
        };
        assert_eq!(p(1), p(1));
        assert_ne!(p(1), p(2));
        assert!((32768..61000).contains(&u32::from(p(3))));
    }
}
