//! ctnetlink (`NFNL_SUBSYS_CTNETLINK`): the conntrack table's dump and the deletion of one
//! entry, as Debian's `conntrack -D` does it (`conntrack -D -p udp --orig-dst … --reply-src …`
//! dumps the family's table with `IPCTNL_MSG_CT_GET` + `NLM_F_DUMP`, filters in user space,
//! and sends one `IPCTNL_MSG_CT_DELETE` per match carrying the entry as dumped).
//!
//! It shares nfnetlink's framing with nf_tables (`struct nfgenmsg`, the subsystem in the high
//! byte of `nlmsg_type`), which is why it lives in this crate. Attributes are kept as a
//! lossless tree: an attribute flagged `NLA_F_NESTED` whose value re-emits exactly as a list of
//! attributes is [`CtValue::Nested`] (the kernel and libnetfilter_conntrack flag every nest),
//! anything else is bytes; so `emit(parse(bytes)) == bytes` for well-formed messages. The typed
//! view ([`Entry`]) reads the tuples (`CTA_TUPLE_ORIG`, `CTA_TUPLE_REPLY`: addresses,
//! protocol, ports), the zone and the id. Held to bytes captured from Debian's `conntrack`
//! (`tests/ct_vectors/`, `cargo xtask ct-capture`).

use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use svcroute_ipvs::DecodeError;
use svcroute_ipvs::netlink::{
    FamilyMessage, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
};
use svcroute_ipvs::nla::{self, NLA_F_NESTED, NLA_TYPE_MASK, NlaIter};

use crate::msg::{NFNETLINK_V0, NFPROTO_IPV4, NFPROTO_IPV6};

/// `NFNL_SUBSYS_CTNETLINK`.
pub const NFNL_SUBSYS_CTNETLINK: u8 = 1;
/// `IPCTNL_MSG_CT_NEW`: also the type of every entry in a dump.
pub const IPCTNL_MSG_CT_NEW: u8 = 0;
/// `IPCTNL_MSG_CT_GET`.
pub const IPCTNL_MSG_CT_GET: u8 = 1;
/// `IPCTNL_MSG_CT_DELETE`.
pub const IPCTNL_MSG_CT_DELETE: u8 = 2;

/// `CTA_TUPLE_ORIG`.
pub const CTA_TUPLE_ORIG: u16 = 1;
/// `CTA_TUPLE_REPLY`.
pub const CTA_TUPLE_REPLY: u16 = 2;
/// `CTA_STATUS`.
pub const CTA_STATUS: u16 = 3;
/// `CTA_TIMEOUT`.
pub const CTA_TIMEOUT: u16 = 7;
/// `CTA_MARK`.
pub const CTA_MARK: u16 = 8;
/// `CTA_USE`.
pub const CTA_USE: u16 = 11;
/// `CTA_ID`.
pub const CTA_ID: u16 = 12;
/// `CTA_ZONE`.
pub const CTA_ZONE: u16 = 18;
/// `CTA_SYNPROXY`.
pub const CTA_SYNPROXY: u16 = 24;

/// `CTA_TUPLE_IP` inside a tuple.
const CTA_TUPLE_IP: u16 = 1;
/// `CTA_TUPLE_PROTO` inside a tuple.
const CTA_TUPLE_PROTO: u16 = 2;
/// `CTA_TUPLE_ZONE` inside a tuple.
const CTA_TUPLE_ZONE: u16 = 3;
/// `CTA_IP_V4_SRC` … `CTA_IP_V6_DST`.
const CTA_IP_V4_SRC: u16 = 1;
const CTA_IP_V4_DST: u16 = 2;
const CTA_IP_V6_SRC: u16 = 3;
const CTA_IP_V6_DST: u16 = 4;
/// `CTA_PROTO_NUM`, `CTA_PROTO_SRC_PORT`, `CTA_PROTO_DST_PORT`.
const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_SRC_PORT: u16 = 2;
const CTA_PROTO_DST_PORT: u16 = 3;

/// The attributes a delete request carries, in the order libnetfilter_conntrack writes them
/// (ascending): the entry's tuples, status, timeout, mark, zone and synproxy state as dumped.
/// The kernel (`ctnetlink_del_conntrack`) finds the entry by its tuple and zone and ignores
/// the rest; never `CTA_USE` or `CTA_ID` (conntrack sends neither).
const DELETE_ATTRS: [u16; 7] = [
    CTA_TUPLE_ORIG,
    CTA_TUPLE_REPLY,
    CTA_STATUS,
    CTA_TIMEOUT,
    CTA_MARK,
    CTA_ZONE,
    CTA_SYNPROXY,
];

/// One attribute: its `nla_type` as found (flag bits included) and its value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CtAttr {
    /// `nla_type`, flags included.
    pub raw_kind: u16,
    /// The value.
    pub value: CtValue,
}

/// An attribute's value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CtValue {
    /// A nest (`NLA_F_NESTED`).
    Nested(Vec<CtAttr>),
    /// Anything else, as bytes.
    Bytes(Vec<u8>),
}

impl CtAttr {
    /// The type without flag bits.
    pub fn kind(&self) -> u16 {
        self.raw_kind & NLA_TYPE_MASK
    }

    /// The child of type `kind`, when this is a nest.
    pub fn child(&self, kind: u16) -> Option<&CtAttr> {
        match &self.value {
            CtValue::Nested(items) => find(items, kind),
            CtValue::Bytes(_) => None,
        }
    }

    /// The value's bytes, when it is not a nest.
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.value {
            CtValue::Bytes(b) => Some(b),
            CtValue::Nested(_) => None,
        }
    }

    fn emit(&self, out: &mut Vec<u8>) {
        match &self.value {
            CtValue::Bytes(b) => nla::put(out, self.raw_kind, b),
            CtValue::Nested(items) => {
                let mut body = Vec::new();
                emit_attrs(items, &mut body);
                nla::put(out, self.raw_kind, &body);
            }
        }
    }
}

fn find(items: &[CtAttr], kind: u16) -> Option<&CtAttr> {
    items.iter().find(|a| a.kind() == kind)
}

/// Appends attributes.
pub fn emit_attrs(items: &[CtAttr], out: &mut Vec<u8>) {
    for a in items {
        a.emit(out);
    }
}

/// How deep nests are read; deeper ones stay bytes (ctnetlink's go three levels deep, and
/// the bound keeps hostile input from exhausting the stack).
const MAX_DEPTH: usize = 6;

/// Parses attributes (lossless, see the module doc).
pub fn parse_attrs(buf: &[u8]) -> Result<Vec<CtAttr>, DecodeError> {
    parse_at(buf, 0)
}

fn parse_at(buf: &[u8], depth: usize) -> Result<Vec<CtAttr>, DecodeError> {
    let mut out = Vec::new();
    for raw in NlaIter::new(buf) {
        let raw = raw?;
        let nested = if raw.raw_kind & NLA_F_NESTED != 0 && depth < MAX_DEPTH {
            parse_at(raw.value, depth + 1).ok().filter(|items| {
                let mut again = Vec::new();
                emit_attrs(items, &mut again);
                again == raw.value
            })
        } else {
            None
        };
        out.push(CtAttr {
            raw_kind: raw.raw_kind,
            value: match nested {
                Some(items) => CtValue::Nested(items),
                None => CtValue::Bytes(raw.value.to_vec()),
            },
        });
    }
    Ok(out)
}

/// One ctnetlink message's payload: `struct nfgenmsg` and the attributes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CtMessage {
    /// The `nlmsg_type` (subsystem in the high byte, `IPCTNL_MSG_*` in the low one).
    pub message_type: u16,
    /// `nfgen_family`: [`NFPROTO_IPV4`] or [`NFPROTO_IPV6`].
    pub family: u8,
    /// `version`.
    pub version: u8,
    /// `res_id` (big-endian on the wire).
    pub res_id: u16,
    /// The attributes.
    pub attrs: Vec<CtAttr>,
}

impl CtMessage {
    /// The ctnetlink command (`IPCTNL_MSG_*`), when the message is ctnetlink's.
    pub fn command(&self) -> Option<u8> {
        (self.message_type >> 8 == u16::from(NFNL_SUBSYS_CTNETLINK))
            .then_some((self.message_type & 0xff) as u8)
    }

    fn new(cmd: u8, family: u8, attrs: Vec<CtAttr>) -> CtMessage {
        CtMessage {
            message_type: (u16::from(NFNL_SUBSYS_CTNETLINK) << 8) | u16::from(cmd),
            family,
            version: NFNETLINK_V0,
            res_id: 0,
            attrs,
        }
    }
}

impl FamilyMessage for CtMessage {
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.family);
        out.push(self.version);
        out.extend_from_slice(&self.res_id.to_be_bytes());
        emit_attrs(&self.attrs, out);
    }

    fn parse(message_type: u16, payload: &[u8]) -> Result<Self, DecodeError> {
        let Some(&[family, version, r0, r1]) = payload.get(..4) else {
            return Err(DecodeError::Truncated {
                what: "nfgenmsg",
                needed: 4,
                available: payload.len(),
            });
        };
        Ok(CtMessage {
            message_type,
            family,
            version,
            res_id: u16::from_be_bytes([r0, r1]),
            attrs: parse_attrs(&payload[4..])?,
        })
    }
}

/// One direction of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tuple {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Layer-4 protocol number.
    pub protocol: u8,
    /// Source port (0 when the protocol has none).
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
}

impl Tuple {
    fn read(tuple: &CtAttr) -> Option<Tuple> {
        let ip = tuple.child(CTA_TUPLE_IP)?;
        let addr = |v4: u16, v6: u16| -> Option<IpAddr> {
            if let Some(b) = ip.child(v4).and_then(CtAttr::bytes) {
                return Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(b).ok()?)));
            }
            let b = ip.child(v6).and_then(CtAttr::bytes)?;
            Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(b).ok()?)))
        };
        let proto = tuple.child(CTA_TUPLE_PROTO)?;
        let port = |k: u16| -> Option<u16> {
            match proto.child(k).and_then(CtAttr::bytes) {
                None => Some(0),
                Some(b) => Some(u16::from_be_bytes(<[u8; 2]>::try_from(b).ok()?)),
            }
        };
        let protocol = *proto.child(CTA_PROTO_NUM)?.bytes()?.first()?;
        Some(Tuple {
            src: addr(CTA_IP_V4_SRC, CTA_IP_V6_SRC)?,
            dst: addr(CTA_IP_V4_DST, CTA_IP_V6_DST)?,
            protocol,
            src_port: port(CTA_PROTO_SRC_PORT)?,
            dst_port: port(CTA_PROTO_DST_PORT)?,
        })
    }
}

/// One conntrack entry from a dump: its tuples read, its attributes kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// `nfgen_family`.
    pub family: u8,
    /// `CTA_TUPLE_ORIG`: the client's direction.
    pub orig: Tuple,
    /// `CTA_TUPLE_REPLY`: the answer's direction (after NAT: from the real server).
    pub reply: Tuple,
    /// `CTA_ZONE` (0 when absent).
    pub zone: u16,
    /// `CTA_ID`, when dumped.
    pub id: Option<u32>,
    /// Every attribute as dumped.
    pub attrs: Vec<CtAttr>,
}

impl Entry {
    /// Reads an entry of a dump (an `IPCTNL_MSG_CT_NEW` message); `None` when it is another
    /// message or lacks a complete pair of tuples.
    pub fn from_message(m: &CtMessage) -> Option<Entry> {
        if m.command() != Some(IPCTNL_MSG_CT_NEW) {
            return None;
        }
        let be = |k: u16, n: usize| -> Option<u32> {
            let b = find(&m.attrs, k)?.bytes()?;
            (b.len() == n).then(|| b.iter().fold(0u32, |acc, x| (acc << 8) | u32::from(*x)))
        };
        let orig_attr = find(&m.attrs, CTA_TUPLE_ORIG)?;
        let tuple_zone = orig_attr
            .child(CTA_TUPLE_ZONE)
            .and_then(CtAttr::bytes)
            .and_then(|b| <[u8; 2]>::try_from(b).ok())
            .map(u16::from_be_bytes);
        Some(Entry {
            family: m.family,
            orig: Tuple::read(orig_attr)?,
            reply: Tuple::read(find(&m.attrs, CTA_TUPLE_REPLY)?)?,
            zone: be(CTA_ZONE, 2)
                .map(|z| z as u16)
                .or(tuple_zone)
                .unwrap_or(0),
            id: be(CTA_ID, 4),
            attrs: m.attrs.clone(),
        })
    }

    /// The `IPCTNL_MSG_CT_DELETE` that `conntrack -D` sends for this entry: its attributes as
    /// dumped, only those a request carries ([`DELETE_ATTRS`], ascending). Always carries
    /// `CTA_TUPLE_ORIG` (a delete without a tuple would flush the whole table).
    pub fn delete(&self) -> CtMessage {
        let mut attrs: Vec<CtAttr> = self
            .attrs
            .iter()
            .filter(|a| DELETE_ATTRS.contains(&a.kind()))
            .cloned()
            .collect();
        attrs.sort_by_key(CtAttr::kind);
        CtMessage::new(IPCTNL_MSG_CT_DELETE, self.family, attrs)
    }
}

/// The `nfgen_family` of an address family's table.
pub fn family_of(ipv6: bool) -> u8 {
    if ipv6 { NFPROTO_IPV6 } else { NFPROTO_IPV4 }
}

/// `conntrack -L`'s and `-D`'s first request: dump every entry of `family`.
pub fn dump_request(family: u8, sequence_number: u32) -> Vec<u8> {
    NetlinkMessage::new(
        NetlinkHeader {
            message_type: (u16::from(NFNL_SUBSYS_CTNETLINK) << 8) | u16::from(IPCTNL_MSG_CT_GET),
            flags: NLM_F_REQUEST | NLM_F_DUMP,
            sequence_number,
            port_number: 0,
        },
        CtMessage::new(IPCTNL_MSG_CT_GET, family, Vec::new()),
    )
    .to_bytes()
}

/// The delete request for `entry`, asking for an ACK when `ack` (the agent sends many in one
/// buffer and asks only the last: the kernel answers errors regardless).
pub fn delete_request(entry: &Entry, sequence_number: u32, ack: bool) -> Vec<u8> {
    let mut flags = NLM_F_REQUEST;
    if ack {
        flags |= NLM_F_ACK;
    }
    let m = entry.delete();
    NetlinkMessage::new(
        NetlinkHeader {
            message_type: m.message_type,
            flags,
            sequence_number,
            port_number: 0,
        },
        m,
    )
    .to_bytes()
}
