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

/// Parses the text of `/proc/net/ip_vs` into the address-keyed virtual servers and their real
/// servers, in the kernel's order. Never panics; text that is not the kernel's format is a
/// [`ProcError`] naming the line.
pub fn parse_proc_ip_vs(text: &str) -> Result<Vec<(ServiceKey, Vec<ProcDest>)>, ProcError> {
    let mut out: Vec<(ServiceKey, Vec<ProcDest>)> = Vec::new();
    // Whether a service line was read, and whether the real servers that follow belong to a
    // service that is kept.
    let (mut seen, mut keep) = (false, false);
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let err = |what| ProcError { line: n, what };
        if n <= 3 {
            let want = ["IP Virtual Server", "Prot ", "  -> RemoteAddress"][i];
            if !line.starts_with(want) {
                return Err(err("not the kernel's header"));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("  -> ") {
            let mut w = rest.split_ascii_whitespace();
            let (Some(addr), Some(_fwd), Some(weight), Some(active), Some(inactive), None) =
                (w.next(), w.next(), w.next(), w.next(), w.next(), w.next())
            else {
                return Err(err(
                    "a real server needs address:port, forward, weight and counts",
                ));
            };
            let (address, port) = address_port(addr).ok_or_else(|| err("bad address:port"))?;
            let number = |s: &str| s.parse::<u32>().map_err(|_| err("bad number"));
            let dest = ProcDest {
                address,
                port,
                weight: number(weight)?,
                active_conns: number(active)?,
                inactive_conns: number(inactive)?,
            };
            if !seen {
                return Err(err("a real server before any service"));
            }
            if let (true, Some((_, dests))) = (keep, out.last_mut()) {
                dests.push(dest);
            }
            continue;
        }
        let mut w = line.split_ascii_whitespace();
        let (Some(proto), Some(addr), Some(_scheduler)) = (w.next(), w.next(), w.next()) else {
            return Err(err("a service needs protocol, address and scheduler"));
        };
        seen = true;
        let protocol = match proto {
            "TCP" => Protocol::Tcp,
            "UDP" => Protocol::Udp,
            "SCTP" => Protocol::Sctp,
            _ => {
                // FWM, or a protocol the agent never programs.
                keep = false;
                continue;
            }
        };
        let (address, port) = address_port(addr).ok_or_else(|| err("bad address:port"))?;
        out.push((
            ServiceKey::Addr {
                protocol,
                address,
                port,
            },
            Vec::new(),
        ));
        keep = true;
    }
    Ok(out)
}

/// `0A600001:0050` or `[fd00:0000:…:000a]:0035`.
fn address_port(s: &str) -> Option<(IpAddr, u16)> {
    let (addr, port) = s.rsplit_once(':')?;
    if port.len() != 4 {
        return None;
    }
    let port = u16::from_str_radix(port, 16).ok()?;
    let address = if let Some(v6) = addr.strip_prefix('[').and_then(|a| a.strip_suffix(']')) {
        IpAddr::V6(v6.parse::<Ipv6Addr>().ok()?)
    } else if addr.len() == 8 {
        IpAddr::V4(Ipv4Addr::from(u32::from_str_radix(addr, 16).ok()?))
    } else {
        return None;
    };
    Some((address, port))
}
