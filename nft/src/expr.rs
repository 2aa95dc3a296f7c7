//! The expressions of the agent's rules, as typed values.
//!
//! Each converts to the attributes libnftnl sends (same attributes, same order, so the bytes
//! are nft's) and back. An expression list whose attributes are not in that canonical form
//! (a kernel dump may add or order attributes differently) parses as [`Expr::Raw`], which
//! keeps it whole.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use crate::attr::{Attr, Value};

/// `NFT_REG_VERDICT`.
pub const REG_VERDICT: u32 = 0;
/// `NFT_REG_1`: the first 16-byte register (as nft uses it for a concatenation's start).
pub const REG_1: u32 = 1;
/// `NFT_REG32_00`: the first 4-byte register; `NFT_REG32_00 + n` is the n-th.
pub const REG32_00: u32 = 8;

/// `NFT_PAYLOAD_NETWORK_HEADER`.
pub const PAYLOAD_NETWORK: u32 = 1;
/// `NFT_PAYLOAD_TRANSPORT_HEADER`.
pub const PAYLOAD_TRANSPORT: u32 = 2;

/// `NFT_CMP_EQ`.
pub const CMP_EQ: u32 = 0;
/// `NFT_CMP_NEQ`.
pub const CMP_NEQ: u32 = 1;

/// `NFT_META_MARK`.
pub const META_MARK: u32 = 3;
/// `NFT_META_L4PROTO`.
pub const META_L4PROTO: u32 = 16;

/// `NFT_CT_STATE`.
pub const CT_STATE: u32 = 0;
/// `NF_CT_STATE_INVALID_BIT`.
pub const CT_STATE_INVALID: u32 = 1;
/// `NF_CT_STATE_BIT(IP_CT_ESTABLISHED)`.
pub const CT_STATE_ESTABLISHED: u32 = 2;
/// `NF_CT_STATE_BIT(IP_CT_RELATED)`.
pub const CT_STATE_RELATED: u32 = 4;
/// `NF_CT_STATE_BIT(IP_CT_NEW)`.
pub const CT_STATE_NEW: u32 = 8;

/// `NFTA_FIB_F_SADDR`.
pub const FIB_F_SADDR: u32 = 1;
/// `NFTA_FIB_F_DADDR`.
pub const FIB_F_DADDR: u32 = 2;
/// `NFT_FIB_RESULT_ADDRTYPE`.
pub const FIB_RESULT_ADDRTYPE: u32 = 3;
/// `RTN_LOCAL` (an address type).
pub const RTN_LOCAL: u32 = 2;

/// `NF_NAT_RANGE_PROTO_RANDOM_FULLY`.
pub const NAT_RANGE_PROTO_RANDOM_FULLY: u32 = 0x10;

/// `NFT_REJECT_ICMP_UNREACH`.
pub const REJECT_ICMP_UNREACH: u32 = 0;
/// ICMP port unreachable (3) — for IPv6, ICMPv6 port unreachable is 4.
pub const ICMP_PORT_UNREACH: u8 = 3;

/// `NFT_LOOKUP_F_INV`.
pub const LOOKUP_F_INV: u32 = 1;

/// A verdict (`NFTA_VERDICT_CODE`, with the chain for jump and goto).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// `NF_DROP` (0).
    Drop,
    /// `NF_ACCEPT` (1).
    Accept,
    /// `NFT_CONTINUE` (-1).
    Continue,
    /// `NFT_JUMP` (-3) to a chain.
    Jump(String),
    /// `NFT_GOTO` (-4) to a chain.
    Goto(String),
    /// `NFT_RETURN` (-5).
    Return,
}

impl Verdict {
    /// The kernel's code.
    pub fn code(&self) -> i32 {
        match self {
            Verdict::Drop => 0,
            Verdict::Accept => 1,
            Verdict::Continue => -1,
            Verdict::Jump(_) => -3,
            Verdict::Goto(_) => -4,
            Verdict::Return => -5,
        }
    }

    fn chain(&self) -> Option<&str> {
        match self {
            Verdict::Jump(c) | Verdict::Goto(c) => Some(c),
            _ => None,
        }
    }
}

/// One expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    /// Load `len` bytes at `offset` of a header into `dreg`.
    Payload {
        /// Destination register.
        dreg: u32,
        /// [`PAYLOAD_NETWORK`] or [`PAYLOAD_TRANSPORT`].
        base: u32,
        /// Offset in the header.
        offset: u32,
        /// Length.
        len: u32,
    },
    /// Compare a register with data.
    Cmp {
        /// Source register.
        sreg: u32,
        /// [`CMP_EQ`], [`CMP_NEQ`], …
        op: u32,
        /// The data.
        data: Vec<u8>,
    },
    /// Look the register up in a set.
    Lookup {
        /// The set's name.
        set: String,
        /// Source register.
        sreg: u32,
        /// The set's id in this batch (when the set is created in it).
        set_id: Option<u32>,
        /// [`LOOKUP_F_INV`] for "not in".
        flags: Option<u32>,
    },
    /// Load a meta key into `dreg`.
    Meta {
        /// `NFT_META_*`.
        key: u32,
        /// Destination register.
        dreg: u32,
    },
    /// Set a meta key from `sreg`.
    MetaSet {
        /// `NFT_META_*`.
        key: u32,
        /// Source register.
        sreg: u32,
    },
    /// `dreg = (sreg & mask) ^ xor` (boolean op).
    Bitwise {
        /// Source register.
        sreg: u32,
        /// Destination register.
        dreg: u32,
        /// `NFTA_BITWISE_OP` (0 = bool) when sent.
        op: Option<u32>,
        /// Length in bytes.
        len: u32,
        /// Mask.
        mask: Vec<u8>,
        /// Xor.
        xor: Vec<u8>,
    },
    /// Load data into a data register.
    Immediate {
        /// Destination register.
        dreg: u32,
        /// The data.
        data: Vec<u8>,
    },
    /// A verdict (an immediate into the verdict register).
    Verdict(Verdict),
    /// Load a conntrack key into `dreg`.
    Ct {
        /// `NFT_CT_*`.
        key: u32,
        /// Destination register.
        dreg: u32,
    },
    /// A FIB lookup.
    Fib {
        /// `NFTA_FIB_F_*`.
        flags: u32,
        /// `NFT_FIB_RESULT_*`.
        result: u32,
        /// Destination register.
        dreg: u32,
    },
    /// Masquerade.
    Masq {
        /// `NF_NAT_RANGE_*` flags, when any.
        flags: Option<u32>,
    },
    /// Reject.
    Reject {
        /// `NFT_REJECT_*`.
        kind: u32,
        /// ICMP code.
        code: u8,
    },
    /// A counter (as nft sends it: no values; the kernel reports them).
    Counter,
    /// Anything else, or one of the above in another form: the `NFTA_LIST_ELEM` attribute.
    Raw(Attr),
}

fn u32a(kind: u16, v: u32) -> Attr {
    Attr::new(kind, Value::U32(v))
}

fn data_value(kind: u16, bytes: &[u8]) -> Attr {
    Attr::nested(kind, vec![Attr::new(1, Value::Bytes(bytes.to_vec()))])
}

fn named(name: &str, data: Vec<Attr>) -> Attr {
    Attr::nested(
        1,
        vec![
            Attr::new(1, Value::Str(name.to_string())),
            Attr::nested(2, data),
        ],
    )
}

impl Expr {
    /// The `NFTA_LIST_ELEM` attribute libnftnl sends for this expression.
    pub fn to_attr(&self) -> Attr {
        match self {
            Expr::Payload {
                dreg,
                base,
                offset,
                len,
            } => named(
                "payload",
                vec![
                    u32a(1, *dreg),
                    u32a(2, *base),
                    u32a(3, *offset),
                    u32a(4, *len),
                ],
            ),
            Expr::Cmp { sreg, op, data } => named(
                "cmp",
                vec![u32a(1, *sreg), u32a(2, *op), data_value(3, data)],
            ),
            Expr::Lookup {
                set,
                sreg,
                set_id,
                flags,
            } => {
                let mut d = vec![u32a(2, *sreg), Attr::new(1, Value::Str(set.clone()))];
                d.extend(set_id.map(|id| u32a(4, id)));
                d.extend(flags.map(|f| u32a(5, f)));
                named("lookup", d)
            }
            Expr::Meta { key, dreg } => named("meta", vec![u32a(2, *key), u32a(1, *dreg)]),
            Expr::MetaSet { key, sreg } => named("meta", vec![u32a(2, *key), u32a(3, *sreg)]),
            Expr::Bitwise {
                sreg,
                dreg,
                op,
                len,
                mask,
                xor,
            } => {
                let mut d = vec![u32a(1, *sreg), u32a(2, *dreg)];
                d.extend(op.map(|o| u32a(6, o)));
                d.push(u32a(3, *len));
                d.push(data_value(4, mask));
                d.push(data_value(5, xor));
                named("bitwise", d)
            }
            Expr::Immediate { dreg, data } => {
                named("immediate", vec![u32a(1, *dreg), data_value(2, data)])
            }
            Expr::Verdict(v) => {
                let mut verdict = vec![u32a(1, v.code() as u32)];
                if let Some(c) = v.chain() {
                    verdict.push(Attr::new(2, Value::Str(c.to_string())));
                }
                named(
                    "immediate",
                    vec![
                        u32a(1, REG_VERDICT),
                        Attr::nested(2, vec![Attr::nested(2, verdict)]),
                    ],
                )
            }
            Expr::Ct { key, dreg } => named("ct", vec![u32a(2, *key), u32a(1, *dreg)]),
            Expr::Fib {
                flags,
                result,
                dreg,
            } => named(
                "fib",
                vec![u32a(3, *flags), u32a(2, *result), u32a(1, *dreg)],
            ),
            Expr::Masq { flags } => named("masq", flags.map(|f| u32a(1, f)).into_iter().collect()),
            Expr::Reject { kind, code } => named(
                "reject",
                vec![u32a(1, *kind), Attr::new(2, Value::U8(*code))],
            ),
            Expr::Counter => named("counter", Vec::new()),
            Expr::Raw(a) => a.clone(),
        }
    }

    /// The expression an `NFTA_LIST_ELEM` attribute holds: typed when it is what
    /// [`Expr::to_attr`] gives for some value (the kernel's dumps may leave `NLA_F_NESTED`
    /// off; that flag is not compared), [`Expr::Raw`] otherwise.
    pub fn from_attr(a: &Attr) -> Expr {
        match typed(a) {
            Some(e) if unflagged(&e.to_attr()) == unflagged(a) => e,
            _ => Expr::Raw(a.clone()),
        }
    }
}

/// The attribute with `NLA_F_NESTED` removed everywhere.
fn unflagged(a: &Attr) -> Attr {
    Attr {
        kind: a.id(),
        value: match &a.value {
            Value::Nested(v) => Value::Nested(v.iter().map(unflagged).collect()),
            other => other.clone(),
        },
    }
}

/// The expressions of an `NFTA_RULE_EXPRESSIONS` value.
pub fn parse_list(attrs: &[Attr]) -> Vec<Expr> {
    attrs.iter().map(Expr::from_attr).collect()
}

/// A best-effort reading; [`Expr::from_attr`] keeps it only if it re-emits identically.
fn typed(a: &Attr) -> Option<Expr> {
    let Value::Nested(parts) = &a.value else {
        return None;
    };
    let name = parts
        .iter()
        .find(|p| p.id() == 1)
        .and_then(|p| match &p.value {
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        })?;
    let data: &[Attr] = match parts.iter().find(|p| p.id() == 2).map(|p| &p.value) {
        Some(Value::Nested(d)) => d,
        _ => &[],
    };
    let u = |k: u16| {
        data.iter()
            .find(|d| d.id() == k)
            .and_then(|d| match d.value {
                Value::U32(v) => Some(v),
                _ => None,
            })
    };
    let bytes = |k: u16| -> Option<Vec<u8>> {
        let inner = data.iter().find(|d| d.id() == k)?;
        match &inner.value {
            Value::Nested(v) => v.iter().find(|x| x.id() == 1).and_then(|x| match &x.value {
                Value::Bytes(b) => Some(b.clone()),
                _ => None,
            }),
            _ => None,
        }
    };
    Some(match name {
        "payload" => Expr::Payload {
            dreg: u(1)?,
            base: u(2)?,
            offset: u(3)?,
            len: u(4)?,
        },
        "cmp" => Expr::Cmp {
            sreg: u(1)?,
            op: u(2)?,
            data: bytes(3)?,
        },
        "lookup" => Expr::Lookup {
            set: data
                .iter()
                .find(|d| d.id() == 1)
                .and_then(|d| match &d.value {
                    Value::Str(s) => Some(s.clone()),
                    _ => None,
                })?,
            sreg: u(2)?,
            set_id: u(4),
            flags: u(5),
        },
        "meta" => match (u(1), u(3)) {
            (Some(dreg), None) => Expr::Meta { key: u(2)?, dreg },
            (None, Some(sreg)) => Expr::MetaSet { key: u(2)?, sreg },
            _ => return None,
        },
        "bitwise" => Expr::Bitwise {
            sreg: u(1)?,
            dreg: u(2)?,
            op: u(6),
            len: u(3)?,
            mask: bytes(4)?,
            xor: bytes(5)?,
        },
        "immediate" if u(1)? == REG_VERDICT => {
            let Value::Nested(d) = &data.iter().find(|d| d.id() == 2)?.value else {
                return None;
            };
            let Value::Nested(v) = &d.iter().find(|x| x.id() == 2)?.value else {
                return None;
            };
            let code = v.iter().find(|x| x.id() == 1).and_then(|x| match x.value {
                Value::U32(c) => Some(c as i32),
                _ => None,
            })?;
            let chain = v.iter().find(|x| x.id() == 2).and_then(|x| match &x.value {
                Value::Str(s) => Some(s.clone()),
                _ => None,
            });
            Expr::Verdict(match (code, chain) {
                (0, None) => Verdict::Drop,
                (1, None) => Verdict::Accept,
                (-1, None) => Verdict::Continue,
                (-3, Some(c)) => Verdict::Jump(c),
                (-4, Some(c)) => Verdict::Goto(c),
                (-5, None) => Verdict::Return,
                _ => return None,
            })
        }
        "immediate" => Expr::Immediate {
            dreg: u(1)?,
            data: bytes(2)?,
        },
        "ct" => Expr::Ct {
            key: u(2)?,
            dreg: u(1)?,
        },
        "fib" => Expr::Fib {
            flags: u(3)?,
            result: u(2)?,
            dreg: u(1)?,
        },
        "masq" => Expr::Masq { flags: u(1) },
        "reject" => Expr::Reject {
            kind: u(1)?,
            code: data
                .iter()
                .find(|d| d.id() == 2)
                .and_then(|d| match d.value {
                    Value::U8(c) => Some(c),
                    _ => None,
                })?,
        },
        "counter" => Expr::Counter,
        _ => return None,
    })
}
