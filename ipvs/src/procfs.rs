//! `/proc/net/ip_vs`: the whole IPVS table of a network namespace as text, parsed without I/O.
//!
//! Over generic netlink the real servers of each virtual server are one `IPVS_CMD_GET_DEST` dump,
//! and a netlink socket runs one dump at a time (`__netlink_dump_start` answers `EBUSY` to a
//! second dump request while one is in progress, so dumps cannot share a `sendmsg`): reading a
//! table of N virtual servers costs N round trips. The kernel's `ip_vs_info_seq_show`
//! (`net/netfilter/ipvs/ip_vs_ctl.c`) prints every virtual server with its real servers, weights
//! and connection counts in one file, read in a few system calls. It lacks what only netlink
//! has (service flags such as `mh-port`, the persistence timeout in seconds, thresholds,
//! statistics), so the agent reads the virtual servers over netlink and their real servers here.
//!
//! The format, from the kernel's `seq_printf` calls:
//! ```text
//! IP Virtual Server version 1.2.1 (size=4096)
//! Prot LocalAddress:Port Scheduler Flags
//!   -> RemoteAddress:Port Forward Weight ActiveConn InActConn
//! TCP  0A600001:0050 rr
//!   -> 0AF40002:0050      Masq    1      0          0
//! UDP  [fd00:0000:0000:0000:0000:0000:0000:000a]:0035 rr persistent 10800 FFFFFFFF
//! FWM  00000001 wlc
//! ```
//! Addresses are hexadecimal in network byte order (IPv4) or `%pI6` (IPv6, all eight groups),
//! ports are four hexadecimal digits. Firewall-mark services and protocols other than TCP, UDP
//! and SCTP are skipped with their real servers.

use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::types::{Protocol, ServiceKey};

/// A real server as `/proc/net/ip_vs` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcDest {
    /// Its address.
    pub address: IpAddr,
    /// Its port.
    pub port: u16,
    /// Its weight.
    pub weight: u32,
    /// Active connections.
    pub active_conns: u32,
    /// Inactive connections.
    pub inactive_conns: u32,
}

/// A line of `/proc/net/ip_vs` that does not have the kernel's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcError {
    /// The line (1-based).
    pub line: usize,
    /// What was wrong with it.
    pub what: &'static str,
}

impl fmt::Display for ProcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/proc/net/ip_vs line {}: {}", self.line, self.what)
    }
}

impl core::error::Error for ProcError {}

/// The whole table of `/proc/net/ip_vs` in two flat vectors: the address-keyed virtual
/// servers in the kernel's order, each with the range of its real servers in [`Self::dests`].
/// One allocation per vector, none per virtual server or line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcTable {
    /// The virtual servers and where their real servers are in [`Self::dests`].
    pub services: Vec<(ServiceKey, core::ops::Range<usize>)>,
    /// Every kept real server, grouped by virtual server.
    pub dests: Vec<ProcDest>,
}

impl ProcTable {
    /// The real servers of the `i`-th virtual server.
    pub fn dests_of(&self, i: usize) -> &[ProcDest] {
        self.services
            .get(i)
            .and_then(|(_, r)| self.dests.get(r.clone()))
            .unwrap_or(&[])
    }
}

/// Parses the text of `/proc/net/ip_vs` into the address-keyed virtual servers and their real
/// servers, in the kernel's order. Never panics; text that is not the kernel's format is a
/// [`ProcError`] naming the line.
pub fn parse_proc_ip_vs(text: &str) -> Result<Vec<(ServiceKey, Vec<ProcDest>)>, ProcError> {
    let t = read_proc_ip_vs(text.as_bytes())?;
    Ok((0..t.services.len())
        .map(|i| (t.services[i].0, t.dests_of(i).to_vec()))
        .collect())
}

/// [`parse_proc_ip_vs`] on the file's bytes, into a [`ProcTable`]: the agent's full dump reads
/// 100,000 real servers through it, so it splits lines and fields by hand and parses the
/// kernel's fixed-width hexadecimal directly (no UTF-8 check, no per-line allocation).
pub fn read_proc_ip_vs(text: &[u8]) -> Result<ProcTable, ProcError> {
    let mut parser = ProcParser::default();
    parser.feed(text)?;
    Ok(parser.finish())
}

/// [`read_proc_ip_vs`] a part at a time, as the file's reads come: each part is whole lines
/// (it ends with a newline, or at the end of the file), and the parts together are the text.
/// Feeding the text in any such parts gives the same table and errors as reading it whole.
#[derive(Debug, Clone, Default)]
pub struct ProcParser {
    table: ProcTable,
    /// Lines read so far.
    lines: usize,
    /// Whether a service line was read.
    seen: bool,
    /// Whether the real servers that follow belong to a service that is kept.
    keep: bool,
}

impl ProcParser {
    /// The table of the lines fed so far.
    pub fn table(&self) -> &ProcTable {
        &self.table
    }

    /// The table.
    pub fn finish(self) -> ProcTable {
        self.table
    }

    /// Parses the next whole lines of the text.
    pub fn feed(&mut self, text: &[u8]) -> Result<(), ProcError> {
        // About 600 bytes per service of ten real servers, 55 per real server line.
        self.table.services.reserve(text.len() / 600 + 1);
        self.table.dests.reserve(text.len() / 55 + 1);
        let table = &mut self.table;
        // As `str::lines`: a final newline ends the last line, it does not start an empty one.
        let body = (!text.is_empty()).then(|| text.strip_suffix(b"\n").unwrap_or(text));
        let lines = body.into_iter().flat_map(|b| b.split(|&c| c == b'\n'));
        for line in lines {
            self.lines += 1;
            let n = self.lines;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let err = |what| ProcError { line: n, what };
            if n <= 3 {
                let want: &[u8] = [
                    &b"IP Virtual Server"[..],
                    &b"Prot "[..],
                    &b"  -> RemoteAddress"[..],
                ][n - 1];
                if !line.starts_with(want) {
                    return Err(err("not the kernel's header"));
                }
                continue;
            }
            if let Some(rest) = line.strip_prefix(b"  -> ") {
                let mut w = Words(rest);
                let (Some(addr), Some(_fwd), Some(weight), Some(active), Some(inactive), None) =
                    (w.next(), w.next(), w.next(), w.next(), w.next(), w.next())
                else {
                    return Err(err(
                        "a real server needs address:port, forward, weight and counts",
                    ));
                };
                let (address, port) = address_port(addr).ok_or_else(|| err("bad address:port"))?;
                let number = |s: &[u8]| decimal(s).ok_or_else(|| err("bad number"));
                let dest = ProcDest {
                    address,
                    port,
                    weight: number(weight)?,
                    active_conns: number(active)?,
                    inactive_conns: number(inactive)?,
                };
                if !self.seen {
                    return Err(err("a real server before any service"));
                }
                if self.keep {
                    table.dests.push(dest);
                    if let Some((_, r)) = table.services.last_mut() {
                        r.end = table.dests.len();
                    }
                }
                continue;
            }
            let mut w = Words(line);
            let (Some(proto), Some(addr), Some(_scheduler)) = (w.next(), w.next(), w.next()) else {
                return Err(err("a service needs protocol, address and scheduler"));
            };
            self.seen = true;
            let protocol = match proto {
                b"TCP" => Protocol::Tcp,
                b"UDP" => Protocol::Udp,
                b"SCTP" => Protocol::Sctp,
                _ => {
                    // FWM, or a protocol the agent never programs.
                    self.keep = false;
                    continue;
                }
            };
            let (address, port) = address_port(addr).ok_or_else(|| err("bad address:port"))?;
            let at = table.dests.len();
            table.services.push((
                ServiceKey::Addr {
                    protocol,
                    address,
                    port,
                },
                at..at,
            ));
            self.keep = true;
        }
        Ok(())
    }
}

/// The words of a line, split at ASCII spaces and tabs.
struct Words<'a>(&'a [u8]);

impl<'a> Iterator for Words<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let space = |b: &u8| *b == b' ' || *b == b'\t';
        let start = self.0.iter().position(|b| !space(b))?;
        let rest = &self.0[start..];
        let end = rest.iter().position(space).unwrap_or(rest.len());
        self.0 = &rest[end..];
        Some(&rest[..end])
    }
}

/// A decimal `u32` (`%d` of a non-negative counter).
fn decimal(s: &[u8]) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u32, |n, &b| {
        let d = (b as char).to_digit(10)?;
        n.checked_mul(10)?.checked_add(d)
    })
}

/// Hexadecimal digits (either case) as a number; `None` when empty, too long or not hex.
fn hex(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 8 {
        return None;
    }
    s.iter()
        .try_fold(0u32, |n, &b| Some((n << 4) | (b as char).to_digit(16)?))
}

/// `0A600001:0050` or `[fd00:0000:…:000a]:0035`.
fn address_port(s: &[u8]) -> Option<(IpAddr, u16)> {
    let colon = s.iter().rposition(|&b| b == b':')?;
    let (addr, port) = (&s[..colon], &s[colon + 1..]);
    if port.len() != 4 {
        return None;
    }
    let port = u16::try_from(hex(port)?).ok()?;
    let address = if let Some(v6) = addr.strip_prefix(b"[").and_then(|a| a.strip_suffix(b"]")) {
        IpAddr::V6(core::str::from_utf8(v6).ok()?.parse::<Ipv6Addr>().ok()?)
    } else if addr.len() == 8 {
        IpAddr::V4(Ipv4Addr::from(hex(addr)?))
    } else {
        return None;
    };
    Some((address, port))
}
