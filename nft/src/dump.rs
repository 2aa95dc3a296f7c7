//! The kernel's view of a table read back, as `nft list table` reads it: the GET requests
//! (one table; dumps of a family's chains, of a table's sets and rules, of a set's elements)
//! and their replies as plain values to compare with what a table should hold.
//!
//! A dump reply carries more than a request did (handles, use counts, counters, attributes
//! in the kernel's order rather than libnftnl's), so replies are not compared as bytes:
//! [`Chain`], [`SetShape`] and [`canonical_expr`] keep what defines the object and drop the
//! rest. Held to the kernel's replies to `nft list table` (`tests/vectors/list_table.txt`).

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use svcroute_ipvs::DecodeError;
use svcroute_ipvs::netlink::{NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use svcroute_ipvs::nla::NlaIter;

use crate::attr::{Attr, Value};
use crate::build::{ChainHook, Request, SetElem, SetSpec};
use crate::msg::{Cmd, Kind, NftMessage};

fn get(cmd: Cmd, family: u8, flags: u16, attrs: Vec<Attr>) -> Request {
    Request {
        msg: NftMessage::new(cmd, family, attrs),
        flags,
    }
}

fn s(kind: u16, v: &str) -> Attr {
    Attr::new(kind, Value::Str(v.to_string()))
}

/// `GETTABLE` of one table (answered by a `NEWTABLE` and, asked for, an ACK; `ENOENT` when
/// there is none).
pub fn get_table(family: u8, name: &str) -> Request {
    get(
        Cmd::GetTable,
        family,
        NLM_F_REQUEST | NLM_F_ACK,
        vec![s(1, name)],
    )
}

/// A dump of the family's chains (the kernel filters by family only; [`Chain::table`] tells
/// the tables apart), as nft asks for them.
pub fn dump_chains(family: u8) -> Request {
    get(
        Cmd::GetChain,
        family,
        NLM_F_REQUEST | NLM_F_DUMP,
        Vec::new(),
    )
}

/// A dump of the sets of `table` (`ENOENT` when the table does not exist).
pub fn dump_sets(family: u8, table: &str) -> Request {
    get(
        Cmd::GetSet,
        family,
        NLM_F_REQUEST | NLM_F_DUMP,
        vec![s(1, table)],
    )
}

/// A dump of the rules of `table`, chain by chain, each chain's in order.
pub fn dump_rules(family: u8, table: &str) -> Request {
    get(
        Cmd::GetRule,
        family,
        NLM_F_REQUEST | NLM_F_DUMP,
        vec![s(1, table)],
    )
}

/// A dump of the elements of `set` in `table` (libnftnl names the set first).
pub fn dump_elements(family: u8, table: &str, set: &str) -> Request {
    get(
        Cmd::GetSetElem,
        family,
        NLM_F_REQUEST | NLM_F_DUMP,
        vec![s(2, set), s(1, table)],
    )
}

fn find(attrs: &[Attr], id: u16) -> Option<&Value> {
    attrs.iter().find(|a| a.id() == id).map(|a| &a.value)
}

fn str_of(attrs: &[Attr], id: u16) -> Option<&str> {
    match find(attrs, id)? {
        Value::Str(s) => Some(s),
        _ => None,
    }
}

fn u32_of(attrs: &[Attr], id: u16) -> Option<u32> {
    match find(attrs, id)? {
        Value::U32(v) => Some(*v),
        _ => None,
    }
}

fn nested(attrs: &[Attr], id: u16) -> Option<&[Attr]> {
    match find(attrs, id)? {
        Value::Nested(v) => Some(v),
        _ => None,
    }
}

/// A chain as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// Its table.
    pub table: String,
    /// Its name.
    pub name: String,
    /// A base chain's type, hook, priority and policy (`None`: a regular chain).
    pub hook: Option<ChainHook>,
}

impl Chain {
    /// The chain a `NEWCHAIN` reply (or request) describes.
    pub fn read(msg: &NftMessage) -> Option<Chain> {
        if msg.kind != Kind::Nft(Cmd::NewChain) {
            return None;
        }
        let a = &msg.attrs;
        let hook = match nested(a, 4) {
            Some(h) => Some(ChainHook {
                kind: str_of(a, 7)?.to_string(),
                hooknum: u32_of(h, 1)?,
                priority: u32_of(h, 2)? as i32,
                policy: u32_of(a, 5)?,
            }),
            None => None,
        };
        Some(Chain {
            table: str_of(a, 1)?.to_string(),
            name: str_of(a, 3)?.to_string(),
            hook,
        })
    }
}

/// What defines a set: the parts of its definition the kernel reports back (not its id in a
/// batch, nor nft's user data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetShape {
    /// `NFT_SET_*` flags.
    pub flags: u32,
    /// nft's datatype id of the key.
    pub key_type: u32,
    /// Key length in bytes.
    pub key_len: u32,
    /// A map's data type and length.
    pub data: Option<(u32, u32)>,
    /// Field lengths of a concatenation, when given (`NFTA_SET_DESC_CONCAT`).
    pub concat: Vec<u32>,
}

impl SetShape {
    /// The shape of a set created from `spec`.
    pub fn of(spec: &SetSpec) -> SetShape {
        SetShape {
            flags: spec.flags,
            key_type: spec.key_type,
            key_len: spec.key_len,
            data: None,
            concat: spec.concat.clone(),
        }
    }
}

/// A set as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Set {
    /// Its table.
    pub table: String,
    /// Its name.
    pub name: String,
    /// Its definition.
    pub shape: SetShape,
}

impl Set {
    /// The set a `NEWSET` reply (or request) describes.
    pub fn read(msg: &NftMessage) -> Option<Set> {
        if msg.kind != Kind::Nft(Cmd::NewSet) {
            return None;
        }
        let a = &msg.attrs;
        let concat = nested(a, 9)
            .and_then(|d| nested(d, 2))
            .map(|fields| {
                fields
                    .iter()
                    .map(|f| match &f.value {
                        Value::Nested(v) => u32_of(v, 1).unwrap_or(0),
                        _ => 0,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Set {
            table: str_of(a, 1)?.to_string(),
            name: str_of(a, 2)?.to_string(),
            shape: SetShape {
                flags: u32_of(a, 3).unwrap_or(0),
                key_type: u32_of(a, 4)?,
                key_len: u32_of(a, 5)?,
                data: u32_of(a, 6).map(|t| (t, u32_of(a, 7).unwrap_or(0))),
                concat,
            },
        })
    }
}

/// A rule as the kernel reports it: its expressions in [`canonical_expr`] form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Its table.
    pub table: String,
    /// Its chain.
    pub chain: String,
    /// Its expressions, each [`canonical_expr`].
    pub exprs: Vec<Attr>,
}

impl Rule {
    /// The rule a `NEWRULE` reply (or request) describes.
    pub fn read(msg: &NftMessage) -> Option<Rule> {
        if msg.kind != Kind::Nft(Cmd::NewRule) {
            return None;
        }
        let a = &msg.attrs;
        Some(Rule {
            table: str_of(a, 1)?.to_string(),
            chain: str_of(a, 2)?.to_string(),
            exprs: nested(a, 4)
                .map(|l| l.iter().map(canonical_expr).collect())
                .unwrap_or_default(),
        })
    }
}

/// The elements a `NEWSETELEM` reply (or request) lists: `(table, set, elements)`. An
/// element's other parts (flags, timeouts, comments) are not kept.
pub fn read_elements(msg: &NftMessage) -> Option<(&str, &str, Vec<SetElem>)> {
    if msg.kind != Kind::Nft(Cmd::NewSetElem) {
        return None;
    }
    let a = &msg.attrs;
    let value = |e: &[Attr], id| match nested(e, id).and_then(|d| find(d, 1)) {
        Some(Value::Bytes(b)) => Some(b.clone()),
        _ => None,
    };
    let elems = nested(a, 3)
        .unwrap_or_default()
        .iter()
        .filter_map(|item| match &item.value {
            Value::Nested(e) => Some(SetElem {
                key: value(e, 1)?,
                key_end: value(e, 10),
            }),
            _ => None,
        })
        .collect();
    Some((str_of(a, 1)?, str_of(a, 2)?, elems))
}

/// One element of a `NEWSETELEM` payload, borrowed from it: the key's bytes and, in an
/// interval set, the range's end.
pub type ElemRef<'a> = (&'a [u8], Option<&'a [u8]>);

/// The elements of a `NEWSETELEM` payload (`nfgenmsg` and attributes, as the kernel dumps
/// them), read straight from the bytes without building the attribute tree: `each` gets every
/// element's key (and range end); returns the set's name. Reads what [`read_elements`] reads
/// (a dump of 100,000 elements would otherwise allocate a tree node per attribute).
pub fn for_each_element<'a>(
    payload: &'a [u8],
    mut each: impl FnMut(ElemRef<'a>),
) -> Result<Option<&'a str>, DecodeError> {
    let attrs = payload.get(4..).ok_or(DecodeError::Truncated {
        what: "nfgenmsg",
        needed: 4,
        available: payload.len(),
    })?;
    let value_of = |nest: &'a [u8]| -> Result<Option<&'a [u8]>, DecodeError> {
        for d in NlaIter::new(nest) {
            let d = d?;
            if d.kind == 1 {
                return Ok(Some(d.value));
            }
        }
        Ok(None)
    };
    let mut set = None;
    for a in NlaIter::new(attrs) {
        let a = a?;
        match a.kind {
            2 => {
                set = a
                    .value
                    .split_last()
                    .and_then(|(_, s)| core::str::from_utf8(s).ok())
            }
            3 => {
                for item in NlaIter::new(a.value) {
                    let (mut key, mut end) = (None, None);
                    for e in NlaIter::new(item?.value) {
                        let e = e?;
                        match e.kind {
                            1 => key = value_of(e.value)?,
                            10 => end = value_of(e.value)?,
                            _ => {}
                        }
                    }
                    if let Some(k) = key {
                        each((k, end));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(set)
}

/// An expression (`NFTA_LIST_ELEM`: name and data) in the form compared between a request and
/// the kernel's dump: `NLA_F_NESTED` off, the data's attributes sorted by type, registers
/// numbered as the kernel reports them, and what the kernel adds or libnftnl leaves out
/// dropped — a lookup's set id (a batch's, never reported) and zero flags, a bitwise's boolean
/// op (0), a masquerade's zero flags, a counter's values.
pub fn canonical_expr(a: &Attr) -> Attr {
    let Value::Nested(parts) = &a.value else {
        return unflagged(a);
    };
    let name = str_of(parts, 1).unwrap_or("");
    let mut data: Vec<Attr> = nested(parts, 2)
        .unwrap_or_default()
        .iter()
        .filter(|d| !dropped(name, d))
        .map(|d| match (is_register(name, d.id()), &d.value) {
            (true, Value::U32(r)) => Attr::new(d.id(), Value::U32(reported_register(*r))),
            _ => sorted(d),
        })
        .collect();
    data.sort_by_key(|d| d.kind);
    Attr::new(
        1,
        Value::Nested(vec![
            Attr::new(1, Value::Str(name.to_string())),
            Attr::new(2, Value::Nested(data)),
        ]),
    )
}

/// Whether attribute `id` of expression `name` is a register.
fn is_register(name: &str, id: u16) -> bool {
    matches!(
        (name, id),
        ("payload", 1 | 5)
            | ("cmp", 1)
            | ("lookup", 2 | 3)
            | ("meta", 1 | 3)
            | ("bitwise", 1 | 2)
            | ("immediate", 1)
            | ("ct", 1 | 4)
            | ("fib", 1)
            | ("masq", 2 | 3)
    )
}

/// A register's number as the kernel reports it (`nft_dump_register`,
/// `net/netfilter/nf_tables_api.c`): a 4-byte register (`NFT_REG32_00` = 8 on) that starts a
/// 16-byte one is reported as that one (`NFT_REG32_04` = 12 as `NFT_REG_2`).
pub fn reported_register(r: u32) -> u32 {
    match r.checked_sub(crate::expr::REG32_00) {
        Some(n) if n % 4 == 0 => crate::expr::REG_1 + n / 4,
        _ => r,
    }
}

fn dropped(name: &str, d: &Attr) -> bool {
    matches!(
        (name, d.id(), &d.value),
        ("lookup", 4, _)
            | ("lookup", 5, Value::U32(0))
            | ("bitwise", 6, Value::U32(0))
            | ("masq", 1, Value::U32(0))
            | ("counter", _, _)
    )
}

fn unflagged(a: &Attr) -> Attr {
    Attr::new(
        a.id(),
        match &a.value {
            Value::Nested(v) => Value::Nested(v.iter().map(unflagged).collect()),
            other => other.clone(),
        },
    )
}

/// Unflagged, with nested attributes sorted by type (an expression's data nests only
/// `NFTA_DATA_*` and `NFTA_VERDICT_*`, whose types are unique).
fn sorted(a: &Attr) -> Attr {
    Attr::new(
        a.id(),
        match &a.value {
            Value::Nested(v) => {
                let mut v: Vec<Attr> = v.iter().map(sorted).collect();
                v.sort_by_key(|x| x.kind);
                Value::Nested(v)
            }
            other => other.clone(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{Expr, META_L4PROTO, REG_1, REG32_00};

    /// An IPv6 address fills `NFT_REG_1` (4-byte registers 8 to 11); the next field goes to
    /// `NFT_REG32_04` (12), which the kernel reports as `NFT_REG_2` (2). Seen on the host's
    /// kernel with the agent's `ip6 svcroute` table.
    #[test]
    fn registers_as_the_kernel_reports_them() {
        assert_eq!(reported_register(REG32_00 + 4), 2);
        assert_eq!(reported_register(REG32_00), REG_1);
        assert_eq!(reported_register(REG32_00 + 1), REG32_00 + 1);
        assert_eq!(reported_register(REG_1), REG_1);
        let meta = |dreg| {
            canonical_expr(
                &Expr::Meta {
                    key: META_L4PROTO,
                    dreg,
                }
                .to_attr(),
            )
        };
        assert_eq!(meta(REG32_00 + 4), meta(2));
        assert_ne!(meta(REG32_00 + 5), meta(2));
    }
}
