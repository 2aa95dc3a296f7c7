//! The kernel's IPVS table over generic netlink: read it into the core's
//! [`Observed`](svcroute_core::reconcile::Observed), and apply the core's operations.
//!
//! Messages come from the `svcroute-ipvs` codec; [`super::netlink::Socket`] sends them. New real
//! servers of one virtual server are added in reverse plan order, because the kernel inserts
//! each at the head of its list: the kernel's list then reads in plan order.
//!
//! A full dump reads the virtual servers over netlink (one dump) and their real servers from
//! `/proc/net/ip_vs` and from per-service netlink dumps, two walks of the kernel's table from
//! its two ends that meet. Netlink has no dump of every destination, and its per-service
//! `IPVS_CMD_GET_DEST` dumps cannot be pipelined: a socket runs one dump at a time, and the
//! kernel answers `EBUSY` to a dump request that arrives (even in the same `sendmsg`) while
//! another is in progress (`__netlink_dump_start`, `net/netlink/af_netlink.c`). Each IPVS
//! destination dump also takes two passes of its callback, so it is still running when the next
//! request of the buffer is read: a round trip per virtual server. The file prints every virtual
//! server with its real servers, but each `read` returns at most a page (`seq_read_iter`'s
//! buffer) and `ip_vs_info_seq_start` finds its place by walking the table from the start, so a
//! read costs more the further it is: the whole file is quadratic. So a thread reads the file
//! from the head while this one reads the addresses and dumps the virtual servers, then (with a
//! second CPU) dumps real servers from the tail until the two meet. A virtual server neither
//! shows (created between the reads), a file that cannot be read or parsed, or (on one CPU) a
//! table too large for the file (`PROC_MAX_SERVICES`) falls back to one netlink dump each.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    ProcDest, Service, ServiceFlags, ServiceKey,
};

use super::Phases;
use super::netlink::{Counters, MAX_SEND, Protocol as NlProtocol, Sequence, Socket};

/// Where the kernel prints the whole table of the reader's network namespace.
const PROC_IP_VS: &str = "/proc/net/ip_vs";

/// On one CPU, above this many virtual servers the real servers are dumped over netlink. The
/// file costs a quadratic walk: each `read` returns at most a page, and `ip_vs_info_seq_start`
/// finds its position by walking the table from the start. Measured in the VM bench (TCG): 0.84 s
/// for the whole file at 10,000 virtual servers against ~0.5 ms per netlink dump, so even if all
/// of it were the quadratic part the two cross near 60,000. (With more CPUs the two walks meet
/// wherever they meet.)
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
        Ok(self.dump_timed(&mut Phases::default(), |_| Ok(()))?.1)
    }

    /// [`Self::dump`], recording its phases, with `before` (the agent's address dump) run on
    /// this thread while another reads `/proc/net/ip_vs`.
    ///
    /// The file is read from the head of the kernel's table on a thread of its own while this
    /// one runs `before` and dumps the virtual servers over netlink. With more than one CPU,
    /// this thread then dumps real servers over netlink from the tail of the table, one virtual
    /// server at a time, until it meets the file (the file stops there too): the file's reads
    /// cost more the further they are from the head (each one walks the table from the start),
    /// so neither walk is long. Each virtual server's real servers come from the netlink dumps
    /// if they have it, else from the file, else (created between the reads, or the file
    /// failed) from a netlink dump of its own.
    pub fn dump_timed<T>(
        &mut self,
        phases: &mut Phases,
        before: impl FnOnce(&mut Phases) -> Result<T>,
    ) -> Result<(T, Table)> {
        let meet = Meet::new();
        let (got, services, tail, proc) = std::thread::scope(|scope| {
            let reader = std::thread::Builder::new()
                .name("proc-ip-vs".into())
                .spawn_scoped(scope, || read_proc(&meet))
                .map_err(|e| tracing::debug!(error = %e, "reading {PROC_IP_VS} on this thread"))
                .ok();
            let parallel =
                reader.is_some() && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
            let dumped: Result<_> = (|| {
                let got = before(phases)?;
                let t = Instant::now();
                let services = self.dump_services()?;
                phases.lap("services", t);
                let t = Instant::now();
                if !parallel && services.len() > PROC_MAX_SERVICES {
                    meet.stop();
                }
                let tail = if parallel {
                    self.dump_tail(&services, &meet)?
                } else {
                    Vec::new()
                };
                phases.lap("dests", t);
                Ok((got, services, tail))
            })();
            let t = Instant::now();
            // On an error the file is not needed any more.
            if dumped.is_err() {
                meet.stop();
            }
            let proc = match reader {
                Some(r) => r.join().unwrap_or_default(),
                None => read_proc(&meet),
            };
            phases.lap("proc_wait", t);
            dumped.map(|(got, services, tail)| (got, services, tail, proc))
        })?;
        phases.0.push(("proc_read", proc.read));
        phases.0.push(("proc_parse", proc.parse));
        let t = Instant::now();
        let first_tail = services.len() - tail.len();
        let mut tail = tail;
        let mut proc_services = proc.services;
        let mut matcher = proc_services.as_deref_mut().map(ProcMatcher::new);
        let mut netlink_dumps = 0usize;
        let mut from_proc = 0usize;
        let mut entries = Vec::with_capacity(services.len());
        for (i, svc) in services.iter().enumerate() {
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
            let tail_len = tail.len();
            let real = if let Some(reals) = i
                .checked_sub(first_tail)
                .and_then(|j| tail.get_mut(tail_len - 1 - j))
            {
                std::mem::take(reals)
            } else if let Some(reals) = matcher.as_mut().and_then(|m| m.take(&svc.key)) {
                from_proc += 1;
                reals
            } else {
                netlink_dumps += 1;
                self.dump_destinations(&svc.key)?
                    .iter()
                    .map(observed_rs)
                    .collect()
            };
            entries.push((
                VsKey {
                    address,
                    port,
                    protocol,
                },
                (vs_config(svc), real),
            ));
        }
        // The kernel's keys are unique; sorted first, the map is built in one pass.
        entries.sort_unstable_by_key(|e| e.0);
        let out: Table = entries.into_iter().collect();
        phases.lap("table", t);
        tracing::info!(
            virtual_servers = out.len(),
            from_tail = tail.len(),
            from_proc,
            proc_whole = proc.whole,
            netlink_dumps,
            "dumped the IPVS table: real servers of {} virtual servers from {PROC_IP_VS}, {} \
             from netlink dumps from the tail, {netlink_dumps} from netlink dumps of their own",
            from_proc,
            tail.len()
        );
        Ok((got, out))
    }

    /// Dumps real servers over netlink from the tail of `services` towards its head while the
    /// file has not shown them; returns them tail first, and leaves `meet` at where it stopped.
    fn dump_tail(&mut self, services: &[Service], meet: &Meet) -> Result<Vec<Reals>> {
        let mut tail = Vec::new();
        let mut i = services.len();
        while i > meet.shown() {
            i -= 1;
            let svc = &services[i];
            let ours = matches!(svc.key, ServiceKey::Addr { protocol, .. }
                if core_protocol(protocol).is_some());
            tail.push(if ours {
                self.dump_destinations(&svc.key)?
                    .iter()
                    .map(observed_rs)
                    .collect()
            } else {
                Reals::new()
            });
            meet.dumped_from(i);
        }
        Ok(tail)
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

/// A virtual server's configuration in the core's terms.
fn vs_config(svc: &Service) -> VsConfig {
    let scheduler = Scheduler::parse(&svc.scheduler);
    VsConfig {
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

/// Where the read of `/proc/net/ip_vs` (from the head of the kernel's table) and the netlink
/// dumps of real servers (from its tail) meet. Both walk the table in the kernel's order
/// (`ip_vs_info_seq_next`, `ip_vs_genl_dump_services`), so a service's place in the file is its
/// index in the netlink dump of services; a table changed between the reads only moves the
/// meeting point (the merge goes by key).
#[derive(Debug)]
struct Meet {
    /// How many services the file has shown whole: indices `0..shown`.
    shown: AtomicUsize,
    /// The lowest index whose real servers were dumped over netlink (`usize::MAX` before any).
    dumped_from: AtomicUsize,
}

impl Meet {
    fn new() -> Self {
        Meet {
            shown: AtomicUsize::new(0),
            dumped_from: AtomicUsize::new(usize::MAX),
        }
    }

    fn shown(&self) -> usize {
        self.shown.load(Ordering::Acquire)
    }

    fn dumped_from(&self, i: usize) {
        self.dumped_from.store(i, Ordering::Release);
    }

    /// The file is not needed (any more).
    fn stop(&self) {
        self.dumped_from(0);
    }

    /// Whether the netlink dumps have every service from `shown` on.
    fn met(&self, shown: usize) -> bool {
        self.shown.store(shown, Ordering::Release);
        shown >= self.dumped_from.load(Ordering::Acquire)
    }
}

/// A virtual server's real servers in the core's terms.
type Reals = BTreeMap<RsKey, ObservedRs>;

/// What the read of `/proc/net/ip_vs` brought back.
#[derive(Debug, Default)]
struct ProcRead {
    /// The address-keyed services it showed whole, in its order, with their real servers;
    /// `None` when the file could not be read or parsed (then each virtual server is one
    /// netlink dump).
    services: Option<Vec<(ServiceKey, Option<Reals>)>>,
    /// Whether it was read to its end (else it stopped where the netlink dumps took over).
    whole: bool,
    /// Time in `read` calls, and parsing into the core's terms.
    read: std::time::Duration,
    parse: std::time::Duration,
}

/// Reads `/proc/net/ip_vs` from its start until its end or until `meet` says the netlink dumps
/// have the rest, parsing as it goes (see [`read_proc_from`]).
fn read_proc(meet: &Meet) -> ProcRead {
    match std::fs::File::open(PROC_IP_VS) {
        Ok(f) => read_proc_from(f, meet),
        Err(e) => {
            tracing::debug!(error = %e, "{PROC_IP_VS}: one netlink dump per virtual server");
            ProcRead::default()
        }
    }
}

/// [`read_proc`] from any reader.
///
/// The kernel fills each `read` with whole records (a service and its real servers) up to its
/// page-sized buffer (`seq_read_iter`). A record is parsed, and counted in `meet`, once the next
/// one has begun (or the file ended); when the read stops early the last one begun is left out.
fn read_proc_from(mut file: impl Read, meet: &Meet) -> ProcRead {
    let mut out = ProcRead::default();
    let mut parser = svcroute_ipvs::ProcParser::default();
    let mut services = Vec::new();
    let mut text: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut chunk = vec![0u8; 64 << 10];
    // Lines that begin a service (the header's `Prot` line included), where the last began,
    // how far newlines were looked at, and how far the text was parsed.
    let (mut begun, mut last_begin, mut scanned, mut parsed) = (0usize, 0usize, 0usize, 0usize);
    let mut fed = Ok(());
    loop {
        if meet.met(begun.saturating_sub(2)) {
            break;
        }
        let t = Instant::now();
        let n = match file.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::warn!(error = %e, "{PROC_IP_VS}: one netlink dump per virtual server");
                return out;
            }
        };
        out.read += t.elapsed();
        if n == 0 {
            out.whole = true;
            break;
        }
        let t = Instant::now();
        text.extend_from_slice(&chunk[..n]);
        // A service line follows a newline and does not start with a space (its real servers'
        // lines and the header's third line do).
        while let Some(nl) = text[scanned..].iter().position(|&b| b == b'\n') {
            let at = scanned + nl + 1;
            let Some(&next) = text.get(at) else {
                break;
            };
            if next != b' ' {
                begun += 1;
                last_begin = at;
            }
            scanned = at;
        }
        // The services before the last one begun are whole.
        if begun >= 2 && last_begin > parsed {
            fed = fed.and_then(|()| parser.feed(&text[parsed..last_begin]));
            parsed = last_begin;
            convert(&parser, &mut services);
        }
        out.parse += t.elapsed();
    }
    let t = Instant::now();
    if out.whole {
        meet.met(usize::MAX);
        fed = fed.and_then(|()| parser.feed(&text[parsed..]));
        convert(&parser, &mut services);
    }
    match fed {
        Ok(()) => out.services = Some(services),
        Err(e) => tracing::warn!(error = %e, "one netlink dump per virtual server instead"),
    }
    out.parse += t.elapsed();
    out
}

/// Turns the services `parser` has that `services` lacks into the core's terms.
fn convert(parser: &svcroute_ipvs::ProcParser, services: &mut Vec<(ServiceKey, Option<Reals>)>) {
    let table = parser.table();
    for i in services.len()..table.services.len() {
        let reals = table.dests_of(i).iter().map(proc_rs).collect();
        services.push((table.services[i].0, Some(reals)));
    }
}

/// Finds the virtual servers of the netlink dump in the file. Both walk the kernel's service
/// table in the same order (`ip_vs_genl_dump_services` and `ip_vs_info_seq_next`), so the next
/// service of the file is almost always the one asked for: a merge of the two lists, with a
/// map built only when they part (a virtual server added or deleted between the two reads).
/// Each service's real servers are handed out once.
struct ProcMatcher<'a> {
    services: &'a mut [(ServiceKey, Option<Reals>)],
    next: usize,
    index: Option<HashMap<ServiceKey, usize>>,
}

impl<'a> ProcMatcher<'a> {
    fn new(services: &'a mut [(ServiceKey, Option<Reals>)]) -> Self {
        ProcMatcher {
            services,
            next: 0,
            index: None,
        }
    }

    /// The real servers the file shows for `key`, or `None` when it does not show `key` (or
    /// they were handed out already).
    fn take(&mut self, key: &ServiceKey) -> Option<Reals> {
        let i = if self.services.get(self.next).is_some_and(|(k, _)| k == key) {
            self.next
        } else {
            let services = &*self.services;
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
        self.services.get_mut(i)?.1.take()
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
        let mut services: Vec<(ServiceKey, Option<Reals>)> = Vec::new();
        let mut parser = svcroute_ipvs::ProcParser::default();
        parser.feed(text.as_bytes()).unwrap();
        assert_eq!(parser.table(), &table);
        convert(&parser, &mut services);
        let mut m = ProcMatcher::new(&mut services);
        let weight = |d: Option<Reals>| d.map(|d| d.values().next().unwrap().weight);
        let k = |port| service_key(&key(port));
        assert_eq!(weight(m.take(&k(80))), Some(1));
        assert_eq!(weight(m.take(&k(82))), Some(3), "80's successor skipped");
        assert_eq!(weight(m.take(&k(81))), Some(2), "found behind");
        assert_eq!(m.take(&k(83)), None, "not in the file");
        assert_eq!(
            m.take(&k(82)),
            None,
            "handed out once (a netlink dump of its own)"
        );
    }

    /// `/proc/net/ip_vs` of `services` virtual servers with two real servers each.
    fn proc_text(services: u16) -> String {
        let mut t = String::from(concat!(
            "IP Virtual Server version 1.2.1 (size=4096)\n",
            "Prot LocalAddress:Port Scheduler Flags\n",
            "  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n",
        ));
        for p in 0..services {
            t.push_str(&format!("TCP  0A60000A:{p:04X} rr \n"));
            for r in [3, 4] {
                t.push_str(&format!(
                    "  -> 0AF400{r:02X}:1F90      Masq    1      0          0         \n"
                ));
            }
        }
        t
    }

    /// Gives its text `step` bytes per `read`, cutting lines anywhere.
    struct Chunked<'a>(&'a [u8], usize);

    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn proc_read_whole() {
        let text = proc_text(5);
        let meet = Meet::new();
        let got = read_proc_from(Chunked(text.as_bytes(), 7), &meet);
        assert!(got.whole);
        let services = got.services.unwrap();
        assert_eq!(services.len(), 5);
        assert!(services.iter().all(|(_, r)| r.as_ref().unwrap().len() == 2));
    }

    /// Stopped where the netlink dumps from the tail took over, the read keeps only services
    /// it saw whole (the last one begun may be cut anywhere), and says how many it has: the
    /// two cover the table.
    #[test]
    fn proc_read_stops_at_the_tail_with_whole_services_only() {
        let text = proc_text(8);
        for step in [1, 7, 50, 100, 4096] {
            let meet = Meet::new();
            meet.dumped_from(5);
            let got = read_proc_from(Chunked(text.as_bytes(), step), &meet);
            let services = got.services.unwrap();
            let n = services.len();
            assert_eq!(n, meet.shown(), "step {step}");
            assert!(n >= 5, "step {step}: covers up to the tail");
            assert!(!got.whole, "step {step}");
            assert!(
                services.iter().all(|(_, r)| r.as_ref().unwrap().len() == 2),
                "step {step}"
            );
        }
        // The netlink dumps had everything: nothing is read.
        let meet = Meet::new();
        meet.stop();
        let got = read_proc_from(Chunked(text.as_bytes(), 100), &meet);
        assert_eq!(got.services.unwrap().len(), 0);
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
