//! One virtual server's connection table (`net/netfilter/ipvs/ip_vs_conn.c`): connections
//! with their protocol state and timer, persistence templates, and each destination's
//! ActiveConn / InActConn / PersistConn counters as the kernel keeps them.
//!
//! The lifecycle modelled (Linux 6.1):
//! - a new connection is bound with `IP_VS_CONN_F_INACTIVE` (`ip_vs_ctl.c:891-892`,
//!   `ip_vs_conn.c:625-640`); a TCP connection becomes active when its handshake reaches
//!   ESTABLISHED and inactive again on leaving it (`ip_vs_proto_tcp.c:556-581`); the
//!   simulated handshake is instant, so an open TCP or SCTP connection counts as active;
//!   UDP entries never do (InActConn);
//! - when the client closes, TCP ends in TIME_WAIT for 2 min (`tcp_timeouts`,
//!   `ip_vs_proto_tcp.c:365-378`), SCTP in CLOSED for 61 s (`IP_VS_SCTP_MAX_RTO`,
//!   `ip_vs_proto_sctp.c:330-347`), and a UDP entry expires 5 min after its last packet
//!   (`ip_vs_proto_udp.c:434-437`); an open connection is assumed to carry traffic, so its
//!   timer (15 min established, 5 min UDP) never runs out while it is open;
//! - a persistence template (`ip_vs_sched_persist`) has the service's timeout, is re-armed
//!   at each use (`ip_vs_conn_put`), and when its timer fires while connections it controls
//!   remain it is re-armed for 60 s (`ip_vs_conn_expire`, `ip_vs_conn.c:848-917`:
//!   `cp->timeout = 60*HZ`); a template whose real server was removed or has weight 0
//!   (`expire_quiescent_template=1`) is invalidated (`ip_vs_check_template`: ports set to
//!   65535) and stays listed until its timer fires.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

use super::{Counts, DestId};
use crate::diag::Msg;
use crate::model::Protocol;
use crate::plan::{VsKey, fmt_addr};

const TCP_TIME_WAIT_MS: u64 = 120_000;
const TCP_ESTABLISHED_MS: u64 = 900_000;
const SCTP_CLOSED_MS: u64 = 61_000;
const UDP_MS: u64 = 300_000;
const TEMPLATE_DELAY_MS: u64 = 60_000;

/// `t=12s` / `t=1.500s`.
pub fn fmt_time(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("t={}s", ms / 1000)
    } else {
        format!("t={}.{:03}s", ms / 1000, ms % 1000)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Established,
    TimeWait,
    SctpClosed,
    Udp,
}

#[derive(Clone, Debug)]
struct Conn {
    dest: DestId,
    protocol: Protocol,
    state: State,
    opened_ms: u64,
    closes_ms: Option<u64>,
    timer: Option<(u64, u64)>,
    template: Option<u64>,
}

impl Conn {
    fn active(&self) -> bool {
        self.state == State::Established && self.protocol != Protocol::Udp
    }
}

#[derive(Clone, Debug)]
struct Template {
    client: IpAddr,
    dest: DestId,
    protocol: Protocol,
    expires_ms: u64,
    timeout_ms: u64,
    n_control: u32,
    valid: bool,
    timer: (u64, u64),
}

#[derive(Clone, Copy, Debug)]
enum Target {
    Conn(IpAddr, u16),
    Template(u64),
}

/// What the kernel does with an existing entry for a new connection's address and port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Reuse {
    /// No entry.
    None,
    /// The entry is this connection (not scheduled again).
    Same(DestId),
    /// The entry was expired and the connection is scheduled anew; why.
    Expired(Msg),
}

/// One line of `ipvsadm -Lnc`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnEntry {
    /// `TCP`, `UDP`, `SCTP`.
    pub protocol: Protocol,
    /// Seconds until the entry's timer fires (`/proc/net/ip_vs_conn`'s expires), read an
    /// instant after the simulated time.
    pub expire_seconds: u64,
    /// The kernel's state name: `ESTABLISHED`, `TIME_WAIT`, `CLOSED`, `UDP`, `NONE`.
    pub state: &'static str,
    /// Client address and port (0 for a template).
    pub source: (IpAddr, u16),
    /// Virtual address and port (65535 for an invalidated template).
    pub virtual_server: (IpAddr, u16),
    /// Real server (port 65535 for an invalidated template).
    pub destination: (IpAddr, u16),
    /// A persistence template.
    pub template: bool,
}

impl ConnEntry {
    /// The line as `ipvsadm -Lnc` prints it (`print_conn`: `%-3s %-6s %-11s %-18s %-18s
    /// %s`; expiry `MM:SS`).
    pub fn line(&self) -> String {
        let ap = |a: &(IpAddr, u16)| match a.0 {
            IpAddr::V4(_) => format!("{}:{}", a.0, a.1),
            IpAddr::V6(v6) => format!("[{v6}]:{}", a.1),
        };
        let expire = format!(
            "{:02}:{:02}",
            self.expire_seconds / 60,
            self.expire_seconds % 60
        );
        format!(
            "{:<3} {:<6} {:<11} {:<18} {:<18} {}",
            self.protocol.as_str(),
            expire,
            self.state,
            ap(&self.source),
            ap(&self.virtual_server),
            ap(&self.destination)
        )
    }
}

/// A real server's counters, as `ipvsadm -Ln` shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestCounters {
    /// Address.
    pub address: IpAddr,
    /// Port.
    pub port: u16,
    /// Weight.
    pub weight: u32,
    /// ActiveConn, InActConn, PersistConn.
    pub counts: Counts,
}

/// The table of one virtual server.
#[derive(Clone, Debug)]
pub(crate) struct ConnTable {
    vs: VsKey,
    conns: BTreeMap<(IpAddr, u16), Conn>,
    /// By id, ascending (ids only grow, so a new one is pushed at the back). A deque, not a
    /// map type of its own in the wasm build: a template per client, and templates expire
    /// about in the order they were made, so a removal shifts the few in front of it.
    templates: VecDeque<(u64, Template)>,
    by_client: BTreeMap<IpAddr, u64>,
    /// Sorted by destination (a list: a service's few destinations; no map type of its own in
    /// the wasm build).
    counts: Vec<(DestId, Counts)>,
    events: BTreeMap<(u64, u64), Target>,
    seq: u64,
}

impl ConnTable {
    pub fn new(vs: VsKey) -> Self {
        ConnTable {
            vs,
            conns: BTreeMap::new(),
            templates: VecDeque::new(),
            by_client: BTreeMap::new(),
            counts: Vec::new(),
            events: BTreeMap::new(),
            seq: 0,
        }
    }

    /// Whether an entry for this client address and port exists.
    pub fn has(&self, client: IpAddr, port: u16) -> bool {
        self.conns.contains_key(&(client, port))
    }

    /// A destination's counters (kept while it is out of the list, as the kernel keeps a
    /// removed destination in its trash while connections point at it).
    pub fn counts(&self, id: DestId) -> Counts {
        match self.counts.binary_search_by(|e| e.0.cmp(&id)) {
            Ok(i) => self.counts[i].1,
            Err(_) => Counts::default(),
        }
    }

    /// The counters summed over every destination (removed ones included).
    #[cfg(test)]
    pub fn all_counts(&self) -> Counts {
        self.counts
            .iter()
            .map(|e| &e.1)
            .fold(Counts::default(), |a, c| Counts {
                active: a.active + c.active,
                inactive: a.inactive + c.inactive,
                persistent: a.persistent + c.persistent,
            })
    }

    /// Where template `id` is in `templates`.
    fn template_index(&self, id: u64) -> Option<usize> {
        self.templates.binary_search_by_key(&id, |e| e.0).ok()
    }

    fn template_of(&self, id: u64) -> Option<&Template> {
        Some(&self.templates[self.template_index(id)?].1)
    }

    fn template_mut(&mut self, id: u64) -> Option<&mut Template> {
        let i = self.template_index(id)?;
        Some(&mut self.templates[i].1)
    }

    fn counts_mut(&mut self, id: DestId) -> &mut Counts {
        let i = match self.counts.binary_search_by(|e| e.0.cmp(&id)) {
            Ok(i) => i,
            Err(i) => {
                self.counts.insert(i, (id, Counts::default()));
                i
            }
        };
        &mut self.counts[i].1
    }

    fn arm(&mut self, at: u64, target: Target) -> (u64, u64) {
        self.seq += 1;
        let key = (at, self.seq);
        self.events.insert(key, target);
        key
    }

    /// Sets a connection's timer from its state.
    fn arm_conn(&mut self, client: IpAddr, port: u16) {
        let Some(c) = self.conns.get(&(client, port)) else {
            return;
        };
        let at = match (c.state, c.closes_ms) {
            (State::Established, Some(close)) => Some(close),
            (State::Udp, Some(close)) => Some(close.saturating_add(UDP_MS)),
            _ => None,
        };
        let old = c.timer;
        if let Some(k) = old {
            self.events.remove(&k);
        }
        let timer = at.map(|t| self.arm(t, Target::Conn(client, port)));
        if let Some(c) = self.conns.get_mut(&(client, port)) {
            c.timer = timer;
        }
    }

    /// Runs every timer due at or before `now_ms`, in time order.
    pub fn advance(&mut self, now_ms: u64) {
        while let Some((&key, &target)) = self.events.iter().next() {
            if key.0 > now_ms {
                break;
            }
            self.events.remove(&key);
            match target {
                Target::Conn(client, port) => self.conn_timer(client, port, key),
                Target::Template(id) => self.template_timer(id, key),
            }
        }
    }

    fn conn_timer(&mut self, client: IpAddr, port: u16, key: (u64, u64)) {
        let Some(c) = self.conns.get(&(client, port)) else {
            return;
        };
        if c.timer != Some(key) {
            return;
        }
        match (c.state, c.protocol) {
            (State::Established, Protocol::Tcp) | (State::Established, Protocol::Sctp) => {
                let (state, wait) = if c.protocol == Protocol::Tcp {
                    (State::TimeWait, TCP_TIME_WAIT_MS)
                } else {
                    (State::SctpClosed, SCTP_CLOSED_MS)
                };
                let dest = c.dest;
                let n = self.counts_mut(dest);
                n.active = n.active.saturating_sub(1);
                n.inactive += 1;
                let t = self.arm(key.0.saturating_add(wait), Target::Conn(client, port));
                if let Some(c) = self.conns.get_mut(&(client, port)) {
                    c.state = state;
                    c.timer = Some(t);
                }
            }
            _ => self.remove(client, port),
        }
    }

    fn template_timer(&mut self, id: u64, key: (u64, u64)) {
        let Some(t) = self.template_of(id) else {
            return;
        };
        if t.timer != key {
            return;
        }
        if t.n_control > 0 {
            let at = key.0.saturating_add(TEMPLATE_DELAY_MS);
            let timer = self.arm(at, Target::Template(id));
            if let Some(t) = self.template_mut(id) {
                t.timeout_ms = TEMPLATE_DELAY_MS;
                t.expires_ms = at;
                t.timer = timer;
            }
            return;
        }
        let dest = t.dest;
        let client = t.client;
        if let Some(i) = self.template_index(id) {
            self.templates.remove(i);
        }
        if self.by_client.get(&client) == Some(&id) {
            self.by_client.remove(&client);
        }
        let n = self.counts_mut(dest);
        n.persistent = n.persistent.saturating_sub(1);
    }

    /// Drops a connection now (its timer, its counters, its template's control).
    fn remove(&mut self, client: IpAddr, port: u16) {
        let Some(c) = self.conns.remove(&(client, port)) else {
            return;
        };
        if let Some(k) = c.timer {
            self.events.remove(&k);
        }
        let active = c.active();
        let n = self.counts_mut(c.dest);
        if active {
            n.active = n.active.saturating_sub(1);
        } else {
            n.inactive = n.inactive.saturating_sub(1);
        }
        if let Some(t) = c.template.and_then(|id| self.template_mut(id)) {
            t.n_control = t.n_control.saturating_sub(1);
        }
    }

    /// `ip_vs_in_hook`'s handling of an entry found for a new connection
    /// (`ip_vs_core.c:1999-2051`). `weight` gives a destination's weight, `None` when it is
    /// no longer in the list.
    pub fn reuse(
        &mut self,
        client: IpAddr,
        port: u16,
        protocol: Protocol,
        weight: &dyn Fn(DestId) -> Option<u32>,
    ) -> Reuse {
        let Some(c) = self.conns.get(&(client, port)) else {
            return Reuse::None;
        };
        let dest = c.dest;
        let show = format!("{}:{}", fmt_addr(&dest.0), dest.1);
        // is_new_conn: a TCP SYN or an SCTP INIT; UDP has no new-connection packet.
        let new_conn = protocol != Protocol::Udp;
        let why = match weight(dest) {
            None => Some(crate::msg!(
                "the earlier connection from this port went to {}, which was removed: expire_nodest_conn drops it",
                show
            )),
            Some(0) if new_conn => Some(crate::msg!(
                "the earlier connection from this port went to {}, now at weight 0: expire_nodest_conn drops it",
                show
            )),
            _ => {
                let closed = matches!(c.state, State::TimeWait | State::SctpClosed);
                (new_conn && closed && c.template.is_none()).then(|| {
                    crate::msg!("the earlier connection from this port is in {}: conn_reuse_mode schedules anew", if c.state == State::TimeWait {
                            "TIME_WAIT"
                        } else {
                            "CLOSED"
                        })
                })
            }
        };
        match why {
            Some(w) => {
                self.remove(client, port);
                Reuse::Expired(w)
            }
            None => Reuse::Same(dest),
        }
    }

    /// The same connection used again at `now_ms`: open again (a closed TCP one goes back to
    /// ESTABLISHED), open for `duration_ms` from now.
    pub fn refresh(&mut self, client: IpAddr, port: u16, now_ms: u64, duration_ms: Option<u64>) {
        let Some(c) = self.conns.get_mut(&(client, port)) else {
            return;
        };
        c.closes_ms = duration_ms.map(|d| now_ms.saturating_add(d));
        c.opened_ms = now_ms;
        if c.protocol != Protocol::Udp && c.state != State::Established {
            c.state = State::Established;
            let dest = c.dest;
            let n = self.counts_mut(dest);
            n.inactive = n.inactive.saturating_sub(1);
            n.active += 1;
        }
        self.arm_conn(client, port);
    }

    /// `ip_vs_sched_persist`'s template lookup and `ip_vs_check_template`: the pinned
    /// destination, `None` without a template, or why the template was invalidated.
    pub fn template(
        &mut self,
        client: IpAddr,
        weight: &dyn Fn(DestId) -> Option<u32>,
    ) -> Result<Option<DestId>, Msg> {
        let Some(&id) = self.by_client.get(&client) else {
            return Ok(None);
        };
        let Some(t) = self.template_mut(id) else {
            return Ok(None);
        };
        let show = format!("{}:{}", fmt_addr(&t.dest.0), t.dest.1);
        let why = match weight(t.dest) {
            None => crate::msg!("its template's real server {} was removed", show),
            Some(0) => crate::msg!(
                "its template's real server {} has weight 0 (expire_quiescent_template)",
                show
            ),
            Some(_) => return Ok(Some(t.dest)),
        };
        t.valid = false;
        self.by_client.remove(&client);
        Err(why)
    }

    /// Re-arms the client's template (`ip_vs_conn_put`); returns when it now expires.
    pub fn use_template(&mut self, client: IpAddr, now_ms: u64) -> u64 {
        let Some(&id) = self.by_client.get(&client) else {
            return now_ms;
        };
        let Some(t) = self.template_of(id) else {
            return now_ms;
        };
        let (old, at) = (t.timer, now_ms.saturating_add(t.timeout_ms));
        self.events.remove(&old);
        let timer = self.arm(at, Target::Template(id));
        if let Some(t) = self.template_mut(id) {
            t.timer = timer;
            t.expires_ms = at;
        }
        at
    }

    /// A new template pinning `client` to `dest` for `timeout_ms`.
    pub fn new_template(
        &mut self,
        client: IpAddr,
        dest: DestId,
        protocol: Protocol,
        now_ms: u64,
        timeout_ms: u64,
    ) {
        self.seq += 1;
        let id = self.seq;
        let at = now_ms.saturating_add(timeout_ms);
        let timer = self.arm(at, Target::Template(id));
        self.templates.push_back((
            id,
            Template {
                client,
                dest,
                protocol,
                expires_ms: at,
                timeout_ms,
                n_control: 0,
                valid: true,
                timer,
            },
        ));
        self.by_client.insert(client, id);
        self.counts_mut(dest).persistent += 1;
    }

    /// A new connection entry for `o` from `port` (and, when `controlled`, under the
    /// client's template).
    pub fn insert(
        &mut self,
        o: &super::Open,
        port: u16,
        dest: DestId,
        protocol: Protocol,
        controlled: bool,
    ) {
        let (client, now_ms, duration_ms) = (o.client, o.at_ms, o.duration_ms);
        let template = if controlled {
            self.by_client.get(&client).copied()
        } else {
            None
        };
        if let Some(t) = template.and_then(|id| self.template_mut(id)) {
            t.n_control += 1;
        }
        let state = if protocol == Protocol::Udp {
            State::Udp
        } else {
            State::Established
        };
        let c = Conn {
            dest,
            protocol,
            state,
            opened_ms: now_ms,
            closes_ms: duration_ms.map(|d| now_ms.saturating_add(d)),
            timer: None,
            template,
        };
        let active = c.active();
        self.conns.insert((client, port), c);
        let n = self.counts_mut(dest);
        if active {
            n.active += 1;
        } else {
            n.inactive += 1;
        }
        self.arm_conn(client, port);
    }

    /// The entries at `now_ms` (timers due must have run), by source address and port.
    pub fn entries(&self, now_ms: u64) -> Vec<ConnEntry> {
        let vs = (self.vs.address, self.vs.port);
        // An instant after now: whole seconds left, rounded down.
        let secs = |left_ms: u64| left_ms.saturating_sub(1) / 1000;
        let mut out: Vec<ConnEntry> = Vec::new();
        for (_, t) in &self.templates {
            let (vport, dport) = if t.valid {
                (vs.1, t.dest.1)
            } else {
                (65535, 65535)
            };
            out.push(ConnEntry {
                protocol: t.protocol,
                expire_seconds: secs(t.expires_ms.saturating_sub(now_ms)),
                state: if t.protocol == Protocol::Udp {
                    "UDP"
                } else {
                    "NONE"
                },
                source: (t.client, 0),
                virtual_server: (vs.0, vport),
                destination: (t.dest.0, dport),
                template: true,
            });
        }
        for (&(client, port), c) in &self.conns {
            let left = match (c.state, c.timer) {
                (State::Established, _) => {
                    TCP_ESTABLISHED_MS - now_ms.saturating_sub(c.opened_ms) % TCP_ESTABLISHED_MS
                }
                (State::Udp, _) if c.closes_ms.is_none_or(|t| t > now_ms) => {
                    UDP_MS - now_ms.saturating_sub(c.opened_ms) % UDP_MS
                }
                (_, Some((at, _))) => at.saturating_sub(now_ms),
                (_, None) => 0,
            };
            out.push(ConnEntry {
                protocol: c.protocol,
                expire_seconds: secs(left),
                state: match c.state {
                    State::Established => "ESTABLISHED",
                    State::TimeWait => "TIME_WAIT",
                    State::SctpClosed => "CLOSED",
                    State::Udp => "UDP",
                },
                source: (client, port),
                virtual_server: vs,
                destination: c.dest,
                template: false,
            });
        }
        crate::sort::sort_by_key(&mut out, |e| (e.source, !e.template));
        out
    }
}
