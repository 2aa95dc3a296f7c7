//! The kernel's IPVS table over generic netlink: read it into the core's
//! [`Observed`](svcroute_core::reconcile::Observed), and apply the core's operations.
//!
//! Messages come from the `svcroute-ipvs` codec; [`super::netlink::Socket`] sends them. New real
//! servers of one virtual server are added in reverse plan order, because the kernel inserts
//! each at the head of its list: the kernel's list then reads in plan order.
//!
//! A full dump reads the virtual servers over netlink (one dump) and all their real servers from
//! one read of `/proc/net/ip_vs`. Netlink has no dump of every destination, and its per-service
//! `IPVS_CMD_GET_DEST` dumps cannot be pipelined: a socket runs one dump at a time, and the
//! kernel answers `EBUSY` to a dump request that arrives (even in the same `sendmsg`) while
//! another is in progress (`__netlink_dump_start`, `net/netlink/af_netlink.c`). Each IPVS
//! destination dump also takes two passes of its callback, so it is still running when the next
//! request of the buffer is read. A virtual server the file does not show (created between the
//! two reads), a file that cannot be read or parsed, or a table too large for the file's
//! quadratic reads (`PROC_MAX_SERVICES`) falls back to one netlink dump each.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use svcroute_core::config::Scheduler;
use svcroute_core::diff::{Op, RsKey, VsConfig, VsKeyJson};
use svcroute_core::model::Protocol;
use svcroute_core::plan::VsKey;
use svcroute_core::reconcile::ObservedRs;
use svcroute_ipvs::netlink::{FamilyMessage, NLM_F_ACK, NetlinkMessage};
use svcroute_ipvs::{
    CtrlMessage, Destination, Errno, FamilyInfo, IPVS_GENL_NAME, IpvsMessage, NetlinkHeader,
    ProcDest, ProcTable, Service, ServiceFlags, ServiceKey,
};

use super::Phases;
use super::netlink::{Counters, MAX_SEND, Protocol as NlProtocol, Sequence, Socket};

/// Where the kernel prints the whole table of the reader's network namespace.
const PROC_IP_VS: &str = "/proc/net/ip_vs";

/// Above this many virtual servers the real servers are dumped over netlink again. The file
/// costs a quadratic walk: each `read` returns at most a page, and `ip_vs_info_seq_start` finds
/// its position by walking the table from the start. Measured in the VM bench (TCG): 0.84 s for
/// the whole file at 10,000 virtual servers against ~0.5 ms per netlink dump, so even if all of
/// it were the quadratic part the two cross near 60,000.
const PROC_MAX_SERVICES: usize = 40_000;

/// The table as the core's `Observed` holds it.
pub type Table = BTreeMap<VsKey, (VsConfig, BTreeMap<RsKey, ObservedRs>)>;

/// An operation the kernel refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    /// What was asked.
    pub op: Op,
    /// The kernel's answer.
    pub errno: Errno,
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({})",
            describe(&self.op),
            self.errno,
            self.errno.ipvs_meaning()
        )
    }
}

/// A connection to the kernel's IPVS.
pub struct Ipvs {
    sock: Socket,
    seq: Sequence,
    family: u16,
}

impl Ipvs {
    /// Opens a generic netlink socket and looks up the "IPVS" family.
    pub fn connect() -> Result<Self> {
        let mut sock = Socket::open(NlProtocol::Generic)?;
        let mut seq = Sequence::new();
        let s = seq.next();
        let req = CtrlMessage::get_family_request(IPVS_GENL_NAME, s, 0).to_bytes();
        sock.send(&req, 1)?;
        let mut replies: Vec<NetlinkMessage<CtrlMessage>> = Vec::new();
        let errors = sock.wait_acks(s, |header, payload| {
            let msg = CtrlMessage::parse(header.message_type, payload)
                .context("parsing the controller's answer")?;
            replies.push(NetlinkMessage::new(*header, msg));
            Ok(())
        })?;
        if let Some(e) = errors.get(&s) {
            bail!(
                "the kernel has no IPVS generic netlink family ({e}): load the ip_vs module \
                 (modprobe ip_vs)"
            );
        }
        let info = FamilyInfo::from_replies(&replies)
            .context("parsing the IPVS family")?
            .context("the controller did not describe the IPVS family")?;
        tracing::debug!(family = info.id, version = info.version, "IPVS family");
        Ok(Ipvs {
            sock,
            seq,
            family: info.id,
        })
    }

    /// What went through the socket so far.
    pub fn counters(&self) -> Counters {
        self.sock.counters
    }

    /// Dumps the table: every virtual server (by address) with its real servers and their
    /// connection counts. Firewall-mark services and unknown protocols are not ours and are
    /// left out.
    pub fn dump(&mut self) -> Result<Table> {
        self.dump_timed(&mut Phases::default())
    }

    /// [`Self::dump`], recording its phases: the netlink dump of the virtual servers, the read
    /// of `/proc/net/ip_vs`, its parse, and the table's construction.
    pub fn dump_timed(&mut self, phases: &mut Phases) -> Result<Table> {
        let t = Instant::now();
        let services = self.dump_services()?;
        phases.lap("services", t);
        let from_proc = if services.len() <= PROC_MAX_SERVICES {
            proc_destinations(phases)
        } else {
            None
        };
        let t = Instant::now();
        let mut matcher = from_proc.as_ref().map(ProcMatcher::new);
        let mut netlink_dumps = 0usize;
        let mut entries = Vec::with_capacity(services.len());
        for svc in services {
            let ServiceKey::Addr {
                protocol,
                address,
                port,
            } = svc.key
            else {
                continue;
            };
            let Some(protocol) = core_protocol(protocol) else {
                continue;
            };
            let scheduler = Scheduler::parse(&svc.scheduler);
            let config = VsConfig {
                scheduler: scheduler.unwrap_or_default(),
                persistence_timeout_seconds: if scheduler.is_none()
                    || scheduler.is_some_and(|s| {
                        s.kube_proxy_flag().is_some() && !svc.flags.contains(ServiceFlags::SCHED2)
                    }) {
                    // An unknown scheduler, or mh without kube-proxy's mh-port flag, can never
                    // equal a plan's: make the config differ so the next sync edits it.
                    Some(0)
                } else if svc.flags.contains(ServiceFlags::PERSISTENT) {
                    Some(svc.timeout)
                } else {
                    None
                },
            };
            let real = match matcher.as_mut().and_then(|m| m.find(&svc.key)) {
                Some(dests) => dests.iter().map(proc_rs).collect(),
                None => {
                    netlink_dumps += 1;
                    self.dump_destinations(&svc.key)?
                        .iter()
                        .map(observed_rs)
                        .collect()
                }
            };
            entries.push((
                VsKey {
                    address,
                    port,
                    protocol,
                },
                (config, real),
            ));
        }
        // The kernel's keys are unique; sorted first, the map is built in one pass.
        entries.sort_unstable_by_key(|e| e.0);
        let out: Table = entries.into_iter().collect();
        phases.lap("table", t);
        tracing::debug!(
            virtual_servers = out.len(),
            netlink_dumps,
            "dumped the IPVS table"
        );
        Ok(out)
    }

    /// Re-reads the real servers of one virtual server (an empty map if it is gone).
    pub fn dump_real_servers(&mut self, key: &VsKey) -> Result<BTreeMap<RsKey, ObservedRs>> {
        let key = service_key(&VsKeyJson::from(*key));
        Ok(self
            .dump_destinations(&key)?
            .iter()
            .map(observed_rs)
            .collect())
    }

    fn dump_services(&mut self) -> Result<Vec<Service>> {
        let s = self.seq.next();
        let req = IpvsMessage::get_services()
            .into_request(self.family, s, 0)
            .to_bytes();
        self.sock.send(&req, 1)?;
        let mut services = Vec::new();
        let errors = self.sock.wait_acks(s, |header, payload| {
            if header.sequence_number != s {
                return Ok(());
            }
            let msg = IpvsMessage::parse(header.message_type, payload)
                .context("parsing a service of the dump")?;
            if let Some(attrs) = msg.service_attrs() {
                services.push(Service::from_attrs(attrs).context("a service of the dump")?);
            }
            Ok(())
        })?;
        if let Some(e) = errors.get(&s) {
            bail!("dumping the IPVS services: {e}");
        }
        Ok(services)
    }

    fn dump_destinations(&mut self, key: &ServiceKey) -> Result<Vec<Destination>> {
        let s = self.seq.next();
        let req = IpvsMessage::get_dests(key)
            .into_request(self.family, s, 0)
            .to_bytes();
        self.sock.send(&req, 1)?;
        let family = key.family();
        let mut dests = Vec::new();
        let errors = self.sock.wait_acks(s, |header, payload| {
            if header.sequence_number != s {
                return Ok(());
            }
            let msg = IpvsMessage::parse(header.message_type, payload)
                .context("parsing a destination of the dump")?;
            if let Some(attrs) = msg.dest_attrs() {
                dests.push(
                    Destination::from_attrs(attrs, family).context("a destination of the dump")?,
                );
            }
            Ok(())
        })?;
        if let Some(e) = errors.get(&s) {
            // The service went away between the two dumps (someone else deleted it).
            if *e == Errno::ESRCH || *e == Errno::ENOENT {
                return Ok(Vec::new());
            }
            bail!("dumping the real servers of {key:?}: {e}");
        }
        Ok(dests)
    }

    /// Sends the IPVS operations among `ops` (address operations are skipped), many per
    /// `sendmsg`, and returns those the kernel refused. Only the last request of each buffer asks
    /// for an ACK; errors come back for every failed request regardless.
    pub fn apply(&mut self, ops: &[Op]) -> Result<Vec<OpError>> {
        let ordered = kernel_order(ops);
        let mut failed = Vec::new();
        let mut buf = Vec::with_capacity(MAX_SEND + 4096);
        let mut sent: Vec<(u32, &Op)> = Vec::new();
        let mut last_start = 0;
        for (i, op) in ordered.iter().enumerate() {
            let Some(msg) = message(op) else { continue };
            let s = self.seq.next();
            let mut flags = msg.default_flags() & !NLM_F_ACK;
            let is_last = i + 1 == ordered.len();
            if is_last {
                flags |= NLM_F_ACK;
            }
            last_start = buf.len();
            NetlinkMessage::new(
                NetlinkHeader {
                    message_type: self.family,
                    flags,
                    sequence_number: s,
                    port_number: 0,
                },
                msg,
            )
            .emit(&mut buf);
            sent.push((s, *op));
            if buf.len() >= MAX_SEND || is_last {
                self.flush(&mut buf, last_start, &mut sent, &mut failed)?;
            }
        }
        if !sent.is_empty() {
            self.flush(&mut buf, last_start, &mut sent, &mut failed)?;
        }
        Ok(failed)
    }

    fn flush(
        &mut self,
        buf: &mut Vec<u8>,
        last_start: usize,
        sent: &mut Vec<(u32, &Op)>,
        failed: &mut Vec<OpError>,
    ) -> Result<()> {
        let Some(&(last, _)) = sent.last() else {
            return Ok(());
        };
        // The last request of the buffer asks for the ACK that ends the wait.
        let flags_at = last_start + 6;
        let flags = u16::from_ne_bytes([buf[flags_at], buf[flags_at + 1]]) | NLM_F_ACK;
        buf[flags_at..flags_at + 2].copy_from_slice(&flags.to_ne_bytes());
        self.sock.send(buf, sent.len())?;
        let errors = self.sock.wait_acks(last, |_, _| Ok(()))?;
        for (s, op) in sent.iter() {
            if let Some(e) = errors.get(s) {
                failed.push(OpError {
                    op: (*op).clone(),
                    errno: *e,
                });
            }
        }
        buf.clear();
        sent.clear();
        Ok(())
    }
}

/// The order operations go to the kernel: as the core gives them, except that each run of
/// real servers added to one virtual server is reversed (the kernel prepends).
pub fn kernel_order(ops: &[Op]) -> Vec<&Op> {
    let mut out: Vec<&Op> = Vec::with_capacity(ops.len());
    let mut run_start = 0;
    let mut run_key: Option<VsKeyJson> = None;
    for op in ops {
        let key = match op {
            Op::AddRealServer { key, .. } => Some(*key),
            _ => None,
        };
        if key != run_key || key.is_none() {
            out[run_start..].reverse();
            run_start = out.len();
        }
        run_key = key;
        out.push(op);
    }
    out[run_start..].reverse();
    out
}

/// The IPVS request for an operation; `None` for address operations.
pub fn message(op: &Op) -> Option<IpvsMessage> {
    Some(match op {
        Op::AddAddress { .. } | Op::DeleteAddress { .. } => return None,
        Op::AddVirtualServer { key, config } => IpvsMessage::new_service(&service(key, config)),
        Op::UpdateVirtualServer { key, config } => IpvsMessage::set_service(&service(key, config)),
        Op::DeleteVirtualServer { key } => IpvsMessage::del_service(&service_key(key)),
        Op::AddRealServer {
            key,
            real_server,
            weight,
        } => IpvsMessage::new_dest(
            &service_key(key),
            &Destination::masq(real_server.address, real_server.port, *weight),
        ),
        Op::UpdateRealServer {
            key,
            real_server,
            weight,
        } => IpvsMessage::set_dest(
            &service_key(key),
            &Destination::masq(real_server.address, real_server.port, *weight),
        ),
        Op::DeleteRealServer { key, real_server } => {
            IpvsMessage::del_dest(&service_key(key), real_server.address, real_server.port)
        }
    })
}

fn service_key(k: &VsKeyJson) -> ServiceKey {
    ServiceKey::Addr {
        protocol: match k.protocol {
            Protocol::Tcp => svcroute_ipvs::Protocol::Tcp,
            Protocol::Udp => svcroute_ipvs::Protocol::Udp,
            Protocol::Sctp => svcroute_ipvs::Protocol::Sctp,
        },
        address: k.address,
        port: k.port,
    }
}

fn service(k: &VsKeyJson, config: &VsConfig) -> Service {
    let mut svc = Service::new(service_key(k), config.scheduler.as_str());
    if config.scheduler.kube_proxy_flag().is_some() {
        // mh-port: kube-proxy's FlagSourceHash (IP_VS_SVC_F_SCHED2).
        svc.flags = svc.flags | ServiceFlags::SCHED2;
    }
    match config.persistence_timeout_seconds {
        Some(t) => svc.persistent(t),
        None => svc,
    }
}

fn core_protocol(p: svcroute_ipvs::Protocol) -> Option<Protocol> {
    match p {
        svcroute_ipvs::Protocol::Tcp => Some(Protocol::Tcp),
        svcroute_ipvs::Protocol::Udp => Some(Protocol::Udp),
        svcroute_ipvs::Protocol::Sctp => Some(Protocol::Sctp),
        svcroute_ipvs::Protocol::Other(_) => None,
    }
}

fn flag(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "-t",
        Protocol::Udp => "-u",
        Protocol::Sctp => "--sctp-service",
    }
}

fn addr(a: &std::net::IpAddr, port: u16) -> String {
    match a {
        std::net::IpAddr::V4(v4) => format!("{v4}:{port}"),
        std::net::IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// An operation in `ipvsadm` words (`-A -t 10.96.0.10:80 -s rr`), as `--dry-run` prints it.
pub fn describe(op: &Op) -> String {
    match op {
        Op::AddAddress { address } => format!("ip addr add {address}"),
        Op::DeleteAddress { address } => format!("ip addr del {address}"),
        Op::AddVirtualServer { key, config } | Op::UpdateVirtualServer { key, config } => {
            let verb = if matches!(op, Op::AddVirtualServer { .. }) {
                "-A"
            } else {
                "-E"
            };
            let mut s = format!(
                "{verb} {} {} -s {}",
                flag(key.protocol),
                addr(&key.address, key.port),
                config.scheduler
            );
            if let Some(t) = config.persistence_timeout_seconds {
                s.push_str(&format!(" -p {t}"));
            }
            if let Some(f) = config.scheduler.kube_proxy_flag() {
                s.push_str(&format!(" -b {f}"));
            }
            s
        }
        Op::DeleteVirtualServer { key } => {
            format!("-D {} {}", flag(key.protocol), addr(&key.address, key.port))
        }
        Op::AddRealServer {
            key,
            real_server,
            weight,
        }
        | Op::UpdateRealServer {
            key,
            real_server,
            weight,
        } => {
            let verb = if matches!(op, Op::AddRealServer { .. }) {
                "-a"
            } else {
                "-e"
            };
            format!(
                "{verb} {} {} -r {} -m -w {weight}",
                flag(key.protocol),
                addr(&key.address, key.port),
                addr(&real_server.address, real_server.port)
            )
        }
        Op::DeleteRealServer { key, real_server } => format!(
            "-d {} {} -r {}",
            flag(key.protocol),
            addr(&key.address, key.port),
            addr(&real_server.address, real_server.port)
        ),
    }
}

/// Every address-keyed virtual server's real servers from `/proc/net/ip_vs`, or `None` (then
/// each virtual server is one netlink dump) when the file cannot be read or parsed.
fn proc_destinations(phases: &mut Phases) -> Option<ProcTable> {
    let t = Instant::now();
    let text = std::fs::read(PROC_IP_VS)
        .map_err(
            |e| tracing::debug!(error = %e, "{PROC_IP_VS}: one netlink dump per virtual server"),
        )
        .ok()?;
    let t = phases.lap("proc_read", t);
    let parsed = svcroute_ipvs::read_proc_ip_vs(&text);
    phases.lap("proc_parse", t);
    parsed
        .map_err(|e| tracing::warn!(error = %e, "one netlink dump per virtual server instead"))
        .ok()
}

/// Finds the virtual servers of the netlink dump in the file. Both walk the kernel's service
/// table in the same order (`ip_vs_genl_dump_services` and `ip_vs_info_seq_next`), so the next
/// service of the file is almost always the one asked for: a merge of the two lists, with a
/// map built only when they part (a virtual server added or deleted between the two reads).
struct ProcMatcher<'a> {
    table: &'a ProcTable,
    next: usize,
    index: Option<HashMap<ServiceKey, usize>>,
}

impl<'a> ProcMatcher<'a> {
    fn new(table: &'a ProcTable) -> Self {
        ProcMatcher {
            table,
            next: 0,
            index: None,
        }
    }

    /// The real servers the file shows for `key`, or `None` when it does not show `key`.
    fn find(&mut self, key: &ServiceKey) -> Option<&'a [ProcDest]> {
        let services = &self.table.services;
        let i = if services.get(self.next).is_some_and(|(k, _)| k == key) {
            self.next
        } else {
            let index = self.index.get_or_insert_with(|| {
                services
                    .iter()
                    .enumerate()
                    .map(|(i, (k, _))| (*k, i))
                    .collect()
            });
            *index.get(key)?
        };
        self.next = i + 1;
        Some(self.table.dests_of(i))
    }
}

/// A real server as `/proc/net/ip_vs` shows it, in the core's terms.
fn proc_rs(d: &ProcDest) -> (RsKey, ObservedRs) {
    (
        RsKey {
            address: d.address,
            port: d.port,
        },
        ObservedRs {
            weight: d.weight,
            active: d.active_conns,
            inactive: d.inactive_conns,
        },
    )
}

/// A destination as the kernel reports it, in the core's terms.
fn observed_rs(d: &Destination) -> (RsKey, ObservedRs) {
    (
        RsKey {
            address: d.address,
            port: d.port,
        },
        ObservedRs {
            weight: d.weight,
            active: d.active_conns.unwrap_or(0),
            inactive: d.inactive_conns.unwrap_or(0),
        },
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key(port: u16) -> VsKeyJson {
        VsKeyJson {
            protocol: Protocol::Tcp,
            address: "10.96.0.10".parse().unwrap(),
            port,
        }
    }

    fn add_rs(port: u16, last: u8) -> Op {
        Op::AddRealServer {
            key: key(port),
            real_server: RsKey {
                address: format!("10.244.0.{last}").parse().unwrap(),
                port: 80,
            },
            weight: 1,
        }
    }

    #[test]
    fn new_real_servers_go_in_reverse_per_virtual_server() {
        let vs = |port| Op::AddVirtualServer {
            key: key(port),
            config: VsConfig {
                scheduler: Scheduler::RoundRobin,
                persistence_timeout_seconds: None,
            },
        };
        let ops = [
            vs(80),
            add_rs(80, 2),
            add_rs(80, 3),
            add_rs(80, 4),
            vs(81),
            add_rs(81, 2),
            add_rs(81, 3),
        ];
        let got: Vec<String> = kernel_order(&ops).into_iter().map(describe).collect();
        assert_eq!(
            got,
            [
                "-A -t 10.96.0.10:80 -s rr",
                "-a -t 10.96.0.10:80 -r 10.244.0.4:80 -m -w 1",
                "-a -t 10.96.0.10:80 -r 10.244.0.3:80 -m -w 1",
                "-a -t 10.96.0.10:80 -r 10.244.0.2:80 -m -w 1",
                "-A -t 10.96.0.10:81 -s rr",
                "-a -t 10.96.0.10:81 -r 10.244.0.3:80 -m -w 1",
                "-a -t 10.96.0.10:81 -r 10.244.0.2:80 -m -w 1",
            ]
        );
    }

    #[test]
    fn persistent_service_message() {
        let op = Op::AddVirtualServer {
            key: key(80),
            config: VsConfig {
                scheduler: Scheduler::RoundRobin,
                persistence_timeout_seconds: Some(10800),
            },
        };
        let msg = message(&op).unwrap();
        let svc = Service::from_attrs(msg.service_attrs().unwrap()).unwrap();
        assert!(svc.flags.contains(ServiceFlags::PERSISTENT));
        assert_eq!((svc.timeout, svc.scheduler.as_str()), (10800, "rr"));
    }

    /// The netlink dump and `/proc/net/ip_vs` walk the kernel's table in the same order, but a
    /// virtual server added or deleted between the two reads shifts one against the other: every
    /// virtual server the file shows is still found, one it does not show is `None` (a netlink
    /// dump of its own).
    #[test]
    fn proc_matcher_merges_and_finds_out_of_order() {
        let text = concat!(
            "IP Virtual Server version 1.2.1 (size=4096)\n",
            "Prot LocalAddress:Port Scheduler Flags\n",
            "  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n",
            "TCP  0A60000A:0050 rr \n",
            "  -> 0AF40003:1F90      Masq    1      0          0         \n",
            "TCP  0A60000A:0051 rr \n",
            "  -> 0AF40004:1F90      Masq    2      0          0         \n",
            "TCP  0A60000A:0052 rr \n",
            "  -> 0AF40005:1F90      Masq    3      0          0         \n",
        );
        let table = svcroute_ipvs::read_proc_ip_vs(text.as_bytes()).unwrap();
        let mut m = ProcMatcher::new(&table);
        let weight = |d: Option<&[ProcDest]>| d.map(|d| d[0].weight);
        let k = |port| service_key(&key(port));
        assert_eq!(weight(m.find(&k(80))), Some(1));
        assert_eq!(weight(m.find(&k(82))), Some(3), "80's successor skipped");
        assert_eq!(weight(m.find(&k(81))), Some(2), "found behind");
        assert_eq!(m.find(&k(83)), None, "not in the file");
        assert_eq!(weight(m.find(&k(82))), Some(3));
    }

    /// kube-proxy programs `mh` with `FlagSourceHash` (IP_VS_SVC_F_SCHED2, ipvsadm's
    /// `-b mh-port`): source address and port are hashed (`pkg/proxy/ipvs/proxier.go`).
    #[test]
    fn maglev_service_carries_mh_port() {
        let op = Op::AddVirtualServer {
            key: key(80),
            config: VsConfig {
                scheduler: Scheduler::Maglev,
                persistence_timeout_seconds: None,
            },
        };
        let msg = message(&op).unwrap();
        let svc = Service::from_attrs(msg.service_attrs().unwrap()).unwrap();
        assert!(svc.flags.contains(ServiceFlags::SCHED2));
        assert!(!svc.flags.contains(ServiceFlags::SCHED1), "no fallback");
        assert_eq!(svc.scheduler.as_str(), "mh");
    }
}
