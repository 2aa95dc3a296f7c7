//! rtnetlink for the dummy interface (`kube-ipvs0`) that holds the virtual addresses.
//!
//! Hand-encoded with the codec's netlink and attribute layers: the agent needs four requests
//! (`RTM_NEWLINK` kind dummy, `RTM_GETLINK` by name, `RTM_GETADDR` dump, `RTM_NEWADDR` /
//! `RTM_DELADDR`), each a fixed header and two or three attributes. Like kube-proxy, the agent
//! leaves the interface down: the kernel still installs local routes for its addresses, so the
//! node accepts traffic for them, and nothing answers ARP for them.
//!
//! The agent only ever works on a dummy: an existing link of that name of another kind (`eth0`,
//! `lo`, a bridge, a veth) is refused, so the agent can never unbind a node's own addresses.
//! `--cleanup` deletes the dummy (`RTM_DELLINK`), which takes its addresses with it.

use std::net::IpAddr;

use anyhow::{Context, Result, bail};
use svcroute_ipvs::netlink::{NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST};
use svcroute_ipvs::{Errno, NetlinkHeader, NetlinkMessage, nla};

use super::netlink::{Counters, Protocol, Sequence, Socket};

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
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

    /// Interface `name`, if it exists: its index and link kind.
    pub fn find(&mut self, name: &str) -> Result<Option<Link>> {
        let mut body = ifinfomsg(0);
        nla::put_str(&mut body, IFLA_IFNAME, name);
        let (s, req) = self.request(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, &body);
        self.sock.send(&req, 1)?;
        let mut found = None;
        let errors = self.sock.wait_acks(s, |h, payload| {
            if h.message_type == RTM_NEWLINK && payload.len() >= 16 {
                let index = u32::from_ne_bytes([payload[4], payload[5], payload[6], payload[7]]);
                found = Some(Link {
                    index,
                    kind: link_kind(&payload[16..]),
                });
            }
            Ok(())
        })?;
        match errors.get(&s) {
            None => Ok(found),
            Some(e) if e.0 == ENODEV => Ok(None),
            Some(e) => bail!("looking up interface {name}: {e}"),
        }
    }

    /// The index of the dummy interface `name`, if it exists; an error when a link of that name
    /// exists and is not a dummy.
    pub fn index(&mut self, name: &str) -> Result<Option<u32>> {
        match self.find(name)? {
            None => Ok(None),
            Some(link) => link.dummy_index(name).map(Some),
        }
    }

    /// Creates the dummy interface unless it exists; returns its index. Refuses a link of that
    /// name that is not a dummy.
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

    /// Deletes interface `index` (and so its addresses).
    pub fn delete(&mut self, index: u32) -> Result<()> {
        let index = i32::try_from(index).context("interface index out of range")?;
        let body = ifinfomsg(index);
        let (s, req) = self.request(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, &body);
        self.sock.send(&req, 1)?;
        let errors = self.sock.wait_acks(s, |_, _| Ok(()))?;
        match errors.get(&s) {
            None => Ok(()),
            Some(e) if e.0 == ENODEV => Ok(()),
            Some(e) => bail!("deleting interface {index}: {e}"),
        }
    }

    /// Every address the kernel holds, with the index of its interface.
    pub fn all_addresses(&mut self) -> Result<Vec<(u32, IpAddr)>> {
        let body = [AF_UNSPEC, 0, 0, 0, 0, 0, 0, 0];
        let (s, req) = self.request(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, &body);
        self.sock.send(&req, 1)?;
        let mut out = Vec::new();
        let errors = self.sock.wait_acks(s, |h, payload| {
            if h.message_type != RTM_NEWADDR || payload.len() < 8 {
                return Ok(());
            }
            let family = payload[0];
            let ifindex = u32::from_ne_bytes([payload[4], payload[5], payload[6], payload[7]]);
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
            out.extend(local.or(address).map(|a| (ifindex, a)));
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

/// A network interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Its index.
    pub index: u32,
    /// `IFLA_INFO_KIND` (`dummy`, `veth`, `bridge`…); `None` for physical and loopback devices.
    pub kind: Option<String>,
}

impl Link {
    /// The index when this is a dummy; a clear error otherwise.
    pub fn dummy_index(&self, name: &str) -> Result<u32> {
        match self.kind.as_deref() {
            Some("dummy") => Ok(self.index),
            kind => bail!(
                "--interface {name}: {name} exists and is not a dummy interface ({}): the agent \
                 binds service addresses only on a dummy interface it creates or adopts, and \
                 never touches a node's own interfaces; choose another name (kube-ipvs0)",
                match kind {
                    Some(k) => format!("its kind is {k}"),
                    None => "a physical or loopback device".to_owned(),
                }
            ),
        }
    }
}

/// The `IFLA_INFO_KIND` inside `IFLA_LINKINFO` of a link message's attributes.
pub fn link_kind(attrs: &[u8]) -> Option<String> {
    let info = nla::NlaIter::new(attrs)
        .filter_map(Result::ok)
        .find(|a| a.kind == IFLA_LINKINFO)?;
    let kind = nla::NlaIter::new(info.value)
        .filter_map(Result::ok)
        .find(|a| a.kind == IFLA_INFO_KIND)?;
    let bytes = kind.value.split(|b| *b == 0).next().unwrap_or_default();
    String::from_utf8(bytes.to_vec()).ok()
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn attrs(kind: Option<&str>) -> Vec<u8> {
        let mut b = Vec::new();
        nla::put_str(&mut b, IFLA_IFNAME, "x");
        if let Some(k) = kind {
            nla::put_nested(&mut b, IFLA_LINKINFO, true, |n| {
                nla::put_str(n, IFLA_INFO_KIND, k)
            });
        }
        b
    }

    /// Issue 8: `--interface eth0` or `lo` adopted any existing link and then unbound the node's
    /// own addresses from it. Only a dummy is adopted.
    #[test]
    fn bug_interface_lo_or_eth0_is_refused() {
        let lo = Link {
            index: 1,
            kind: link_kind(&attrs(None)),
        };
        let err = lo.dummy_index("lo").unwrap_err().to_string();
        assert!(
            err.contains("lo exists and is not a dummy") && err.contains("loopback"),
            "{err}"
        );
        let veth = Link {
            index: 2,
            kind: link_kind(&attrs(Some("veth"))),
        };
        assert!(
            veth.dummy_index("eth0")
                .unwrap_err()
                .to_string()
                .contains("its kind is veth")
        );
        let dummy = Link {
            index: 7,
            kind: link_kind(&attrs(Some("dummy"))),
        };
        assert_eq!(dummy.dummy_index("kube-ipvs0").unwrap(), 7);
    }
}
