//! Requests as nft sends them: tables, chains, sets, elements and rules, and the NFNL batch
//! (`NFNL_MSG_BATCH_BEGIN` … `NFNL_MSG_BATCH_END`) that makes them one transaction.
//!
//! Attribute order and netlink flags are libnftnl's (as captured in `tests/vectors/`), so a
//! request built here has the bytes nft would send for the same command.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use svcroute_ipvs::netlink::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, emit_messages,
};

use crate::attr::{Attr, Value};
use crate::expr::Expr;
use crate::msg::{Cmd, NftMessage};

/// `NLM_F_APPEND` (add a rule at the end of its chain).
pub const NLM_F_APPEND: u16 = 0x800;

/// `NF_ACCEPT`: a base chain's policy.
pub const NF_ACCEPT: u32 = 1;

/// `NFT_SET_INTERVAL`.
pub const SET_INTERVAL: u32 = 0x4;
/// `NFT_SET_CONCAT`.
pub const SET_CONCAT: u32 = 0x80;

/// One request: the message and its netlink flags.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Request {
    /// The message.
    pub msg: NftMessage,
    /// `nlmsg_flags`.
    pub flags: u16,
}

fn s(kind: u16, v: &str) -> Attr {
    Attr::new(kind, Value::Str(v.to_string()))
}

fn u(kind: u16, v: u32) -> Attr {
    Attr::new(kind, Value::U32(v))
}

fn req(cmd: Cmd, family: u8, flags: u16, attrs: Vec<Attr>) -> Request {
    Request {
        msg: NftMessage::new(cmd, family, attrs),
        flags,
    }
}

/// `nft add table FAMILY NAME`.
pub fn new_table(family: u8, name: &str) -> Request {
    req(
        Cmd::NewTable,
        family,
        NLM_F_REQUEST,
        vec![s(1, name), u(2, 0)],
    )
}

/// `nft delete table FAMILY NAME`.
pub fn del_table(family: u8, name: &str) -> Request {
    req(Cmd::DelTable, family, NLM_F_REQUEST, vec![s(1, name)])
}

/// A base chain's hook.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChainHook {
    /// `nat`, `filter`, `route`.
    pub kind: String,
    /// `NF_INET_*` hook number.
    pub hooknum: u32,
    /// Priority.
    pub priority: i32,
    /// Policy ([`NF_ACCEPT`]).
    pub policy: u32,
}

/// `nft add chain FAMILY TABLE NAME [{ type … hook … priority …; policy …; }]`.
pub fn new_chain(family: u8, table: &str, name: &str, hook: Option<&ChainHook>) -> Request {
    let mut attrs = vec![s(1, table), s(3, name)];
    if let Some(h) = hook {
        attrs.push(s(7, &h.kind));
        attrs.push(u(5, h.policy));
        attrs.push(Attr::nested(
            4,
            vec![u(1, h.hooknum), u(2, h.priority as u32)],
        ));
    }
    req(Cmd::NewChain, family, NLM_F_REQUEST | NLM_F_CREATE, attrs)
}

/// `nft delete chain FAMILY TABLE NAME`.
pub fn del_chain(family: u8, table: &str, name: &str) -> Request {
    req(
        Cmd::DelChain,
        family,
        NLM_F_REQUEST,
        vec![s(1, table), s(3, name)],
    )
}

/// `nft add rule FAMILY TABLE CHAIN …` (appended).
pub fn new_rule(family: u8, table: &str, chain: &str, exprs: &[Expr]) -> Request {
    req(
        Cmd::NewRule,
        family,
        NLM_F_REQUEST | NLM_F_CREATE | NLM_F_APPEND,
        vec![
            s(1, table),
            s(2, chain),
            Attr::nested(4, exprs.iter().map(Expr::to_attr).collect()),
        ],
    )
}

/// `nft delete rule FAMILY TABLE CHAIN handle H`.
pub fn del_rule(family: u8, table: &str, chain: &str, handle: u64) -> Request {
    req(
        Cmd::DelRule,
        family,
        NLM_F_REQUEST,
        vec![s(1, table), s(2, chain), Attr::new(3, Value::U64(handle))],
    )
}

/// A set's definition.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SetSpec {
    /// `NFT_SET_*` flags.
    pub flags: u32,
    /// nft's datatype id (a concatenation packs 6 bits per type, first type highest).
    pub key_type: u32,
    /// Key length in bytes (each concatenated field padded to 4).
    pub key_len: u32,
    /// Set id within the batch.
    pub id: u32,
    /// Field lengths of a concatenation, sent (as `NFTA_SET_DESC_CONCAT`) for interval sets.
    pub concat: Vec<u32>,
    /// nft's user data (key byte order, comment), as bytes.
    pub userdata: Option<Vec<u8>>,
}

/// `nft add set FAMILY TABLE NAME { … }`.
pub fn new_set(family: u8, table: &str, name: &str, spec: &SetSpec) -> Request {
    let mut attrs = vec![
        s(1, table),
        s(2, name),
        u(3, spec.flags),
        u(4, spec.key_type),
        u(5, spec.key_len),
        u(10, spec.id),
    ];
    if !spec.concat.is_empty() {
        let fields = spec
            .concat
            .iter()
            .map(|l| Attr::nested(1, vec![u(1, *l)]))
            .collect();
        attrs.push(Attr::nested(9, vec![Attr::nested(2, fields)]));
    }
    if let Some(ud) = &spec.userdata {
        attrs.push(Attr::new(13, Value::Bytes(ud.clone())));
    }
    req(Cmd::NewSet, family, NLM_F_REQUEST | NLM_F_CREATE, attrs)
}

/// `nft delete set FAMILY TABLE NAME`.
pub fn del_set(family: u8, table: &str, name: &str) -> Request {
    req(
        Cmd::DelSet,
        family,
        NLM_F_REQUEST,
        vec![s(1, table), s(2, name)],
    )
}

/// A set element: its key and, in an interval set, the range's inclusive end.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SetElem {
    /// The key's bytes.
    pub key: Vec<u8>,
    /// The end of the range (`NFTA_SET_ELEM_KEY_END`).
    pub key_end: Option<Vec<u8>>,
}

fn elements(elems: &[SetElem]) -> Attr {
    let items = elems
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut a = vec![Attr::nested(
                1,
                vec![Attr::new(1, Value::Bytes(e.key.clone()))],
            )];
            if let Some(end) = &e.key_end {
                a.push(Attr::nested(
                    10,
                    vec![Attr::new(1, Value::Bytes(end.clone()))],
                ));
            }
            // libnftnl numbers the list items 1, 2, 3, …
            Attr::nested(u16::try_from(i + 1).unwrap_or(u16::MAX) & 0x3fff, a)
        })
        .collect();
    Attr::nested(3, items)
}

/// `nft add element FAMILY TABLE SET { … }`; `set_id` as nft sends it.
pub fn new_elements(
    family: u8,
    table: &str,
    set: &str,
    set_id: Option<u32>,
    elems: &[SetElem],
) -> Request {
    let mut attrs = vec![s(1, table), s(2, set)];
    attrs.extend(set_id.map(|id| u(4, id)));
    attrs.push(elements(elems));
    req(Cmd::NewSetElem, family, NLM_F_REQUEST | NLM_F_CREATE, attrs)
}

/// `nft delete element FAMILY TABLE SET { … }`.
pub fn del_elements(family: u8, table: &str, set: &str, elems: &[SetElem]) -> Request {
    req(
        Cmd::DelSetElem,
        family,
        NLM_F_REQUEST,
        vec![s(1, table), s(2, set), elements(elems)],
    )
}

/// A concatenation's key: each field padded with zeros to a multiple of 4 bytes
/// (`NFT_REG32_SIZE`), as nf_tables registers hold them.
pub fn concat(fields: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in fields {
        out.extend_from_slice(f);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    out
}

/// One NFNL batch: BEGIN, the requests, END, with sequence numbers from `first_seq`; with
/// `ack`, every request asks for an ACK so that each one's outcome is known.
pub fn batch(requests: &[Request], first_seq: u32, ack: bool) -> Vec<u8> {
    let mut seq = first_seq;
    let mut next = || {
        let s = seq;
        seq = seq.wrapping_add(1);
        s
    };
    let header = |flags: u16, message_type: u16, sequence_number: u32| NetlinkHeader {
        message_type,
        flags,
        sequence_number,
        port_number: 0,
    };
    let begin = NftMessage::batch(true);
    let mut msgs = vec![NetlinkMessage::new(
        header(NLM_F_REQUEST, begin.kind.message_type(), next()),
        begin,
    )];
    for r in requests {
        let flags = if ack { r.flags | NLM_F_ACK } else { r.flags };
        msgs.push(NetlinkMessage::new(
            header(flags, r.msg.kind.message_type(), next()),
            r.msg.clone(),
        ));
    }
    let end = NftMessage::batch(false);
    msgs.push(NetlinkMessage::new(
        header(NLM_F_REQUEST, end.kind.message_type(), next()),
        end,
    ));
    emit_messages(&msgs)
}
