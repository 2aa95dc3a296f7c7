//! rtnetlink for the dummy interface (`kube-ipvs0`) that holds the virtual addresses.
//!
//! Hand-encoded with the codec's netlink and attribute layers: the agent needs four requests
//! (`RTM_NEWLINK` kind dummy, `RTM_GETLINK` by name, `RTM_GETADDR` dump, `RTM_NEWADDR` /
//! `RTM_DELADDR`), each a fixed header and two or three attributes. Like kube-proxy, the agent
//! leaves the interface down: the kernel still installs local routes for its addresses, so the
//! node accepts traffic for them, and nothing answers ARP for them.

use std::collections::BTreeSet;
use std::net::IpAddr;

use anyhow::{Context, Result, bail};
use svcroute_ipvs::netlink::{NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST};
use svcroute_ipvs::{Errno, NetlinkHeader, NetlinkMessage, nla};

use super::netlink::{Counters, Protocol, Sequence, Socket};

const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
const IFLA_IFNAME: u16 = 3;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_F_NODAD: u8 = 0x02;
const AF_UNSPEC: u8 = 0;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const ENODEV: i32 = 19;
const EADDRNOTAVAIL: i32 = 99;

/// A route netlink connection.
pub struct Links {
    sock: Socket,
    seq: Sequence,
}

impl Links {
    /// Opens a `NETLINK_ROUTE` socket.
    pub fn connect() -> Result<Self> {
        Ok(Links {
            sock: Socket::open(Protocol::Route)?,
            seq: Sequence::new(),
        })
    }

    /// What went through the socket so far.
    pub fn counters(&self) -> Counters {
        self.sock.counters
    }

    fn request(&mut self, message_type: u16, flags: u16, body: &[u8]) -> (u32, Vec<u8>) {
        let s = self.seq.next();
        let header = NetlinkHeader {
            message_type,
            flags,
            sequence_number: s,
            port_number: 0,
        };
        (s, NetlinkMessage::new(header, body.to_vec()).to_bytes())
    }

    /// The index of interface `name`, if it exists.
    pub fn index(&mut self, name: &str) -> Result<Option<u32>> {
        let mut body = ifinfomsg(0);
        nla::put_str(&mut body, IFLA_IFNAME, name);
        let (s, req) = self.request(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, &body);
        self.sock.send(&req, 1)?;
        let mut index = None;
        let errors = self.sock.wait_acks(s, |h, payload| {
            if h.message_type == RTM_NEWLINK && payload.len() >= 16 {
                index = Some(u32::from_ne_bytes([
                    payload[4], payload[5], payload[6], payload[7],
                ]));
            }
            Ok(())
        })?;
        match errors.get(&s) {
            None => Ok(index),
            Some(e) if e.0 == ENODEV => Ok(None),
            Some(e) => bail!("looking up interface {name}: {e}"),
        }
    }

    /// Creates the dummy interface unless it exists; returns its index.
    pub fn ensure_dummy(&mut self, name: &str) -> Result<u32> {
        if let Some(i) = self.index(name)? {
            return Ok(i);
        }
        let mut body = ifinfomsg(0);
        nla::put_str(&mut body, IFLA_IFNAME, name);
        nla::put_nested(&mut body, IFLA_LINKINFO, true, |b| {
            nla::put_str(b, IFLA_INFO_KIND, "dummy");
        });
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        let (s, req) = self.request(RTM_NEWLINK, flags, &body);
        self.sock.send(&req, 1)?;
        let errors = self.sock.wait_acks(s, |_, _| Ok(()))?;
        if let Some(e) = errors.get(&s)
            && *e != Errno::EEXIST
        {
            bail!("creating dummy interface {name}: {e} (is the dummy module loaded?)");
        }
        tracing::info!(interface = name, "created the dummy interface");
        self.index(name)?
            .with_context(|| format!("{name} missing right after its creation"))
    }

    /// The addresses bound on interface `index`.
    pub fn addresses(&mut self, index: u32) -> Result<BTreeSet<IpAddr>> {
        let body = [AF_UNSPEC, 0, 0, 0, 0, 0, 0, 0];
        let (s, req) = self.request(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, &body);
        self.sock.send(&req, 1)?;
        let mut out = BTreeSet::new();
        let errors = self.sock.wait_acks(s, |h, payload| {
            if h.message_type != RTM_NEWADDR || payload.len() < 8 {
                return Ok(());
            }
            let family = payload[0];
            let ifindex = u32::from_ne_bytes([payload[4], payload[5], payload[6], payload[7]]);
            if ifindex != index {
                return Ok(());
            }
            let mut local = None;
            let mut address = None;
            for a in nla::NlaIter::new(&payload[8..]) {
                let a = a.context("malformed address attribute")?;
                match a.kind {
                    IFA_LOCAL => local = ip(family, a.value),
                    IFA_ADDRESS => address = ip(family, a.value),
                    _ => {}
                }
            }
            out.extend(local.or(address));
            Ok(())
        })?;
        if let Some(e) = errors.get(&s) {
            bail!("listing addresses: {e}");
        }
        Ok(out)
    }

    /// Binds (`true`) or unbinds (`false`) addresses (/32 or /128) on interface `index`, many
    /// per `sendmsg` (only the last asks for an ACK; errors come back for any). An address
    /// already bound, or already gone, is not an error. Returns the failures.
    pub fn set_addresses(
        &mut self,
        index: u32,
        changes: &[(IpAddr, bool)],
    ) -> Result<Vec<(IpAddr, bool, Errno)>> {
        let mut failed = Vec::new();
        for chunk in changes.chunks(1000) {
            let mut buf = Vec::new();
            let mut seqs = Vec::with_capacity(chunk.len());
            for (i, (address, add)) in chunk.iter().enumerate() {
                let (family, prefix, bytes, flags) = match address {
                    IpAddr::V4(a) => (AF_INET, 32u8, a.octets().to_vec(), 0u8),
                    IpAddr::V6(a) => (AF_INET6, 128u8, a.octets().to_vec(), IFA_F_NODAD),
                };
                let mut body = vec![family, prefix, flags, 0];
                body.extend_from_slice(&index.to_ne_bytes());
                nla::put(&mut body, IFA_LOCAL, &bytes);
                nla::put(&mut body, IFA_ADDRESS, &bytes);
                let ack = if i + 1 == chunk.len() { NLM_F_ACK } else { 0 };
                let (kind, flags) = if *add {
                    (RTM_NEWADDR, NLM_F_REQUEST | ack | NLM_F_CREATE | NLM_F_EXCL)
                } else {
                    (RTM_DELADDR, NLM_F_REQUEST | ack)
                };
                let (s, req) = self.request(kind, flags, &body);
                buf.extend_from_slice(&req);
                seqs.push(s);
            }
            let Some(&last) = seqs.last() else { continue };
            self.sock.send(&buf, seqs.len())?;
            let errors = self.sock.wait_acks(last, |_, _| Ok(()))?;
            for (s, (address, add)) in seqs.iter().zip(chunk) {
                match errors.get(s) {
                    None => {}
                    Some(e) if *add && *e == Errno::EEXIST => {}
                    Some(e) if !*add && (e.0 == EADDRNOTAVAIL || *e == Errno::ENOENT) => {}
                    Some(e) => failed.push((*address, *add, *e)),
                }
            }
        }
        Ok(failed)
    }
}

/// `struct ifinfomsg` with an index.
fn ifinfomsg(index: i32) -> Vec<u8> {
    let mut b = vec![AF_UNSPEC, 0, 0, 0];
    b.extend_from_slice(&index.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes()); // flags
    b.extend_from_slice(&0u32.to_ne_bytes()); // change
    b
}

fn ip(family: u8, bytes: &[u8]) -> Option<IpAddr> {
    match family {
        AF_INET => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        AF_INET6 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}
