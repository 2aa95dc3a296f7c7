//! nf_tables attributes as a typed tree, parsed by the kernel's attribute policies.
//!
//! Every nf_tables attribute is a netlink TLV. Which ones nest, and how wide their integers
//! are, depends on where they sit (the `nla_policy` tables of `net/netfilter/nf_tables_api.c`
//! and of each expression); [`Ctx`] names those places and [`shape`] gives each attribute's
//! shape there. Integers are big-endian on the wire (`htonl` in libnftnl). Parsing is
//! lossless: an attribute whose bytes do not fit its shape, or that the policy does not know,
//! is kept as [`Value::Bytes`], so `emit(parse(bytes)) == bytes` for any well-formed TLVs.

use alloc::string::String;
use alloc::vec::Vec;

use svcroute_ipvs::DecodeError;
use svcroute_ipvs::nla::{self, NLA_F_NESTED, NlaIter};

/// Where an attribute list sits: it decides each attribute's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ctx {
    /// `NFTA_TABLE_*`.
    Table,
    /// `NFTA_CHAIN_*`.
    Chain,
    /// `NFTA_HOOK_*`.
    Hook,
    /// `NFTA_COUNTER_*` (chain counters).
    Counters,
    /// `NFTA_RULE_*`.
    Rule,
    /// `NFTA_LIST_ELEM` items that are expressions.
    ExprList,
    /// `NFTA_EXPR_*`.
    Expr,
    /// One expression's `NFTA_EXPR_DATA`.
    ExprData(ExprKind),
    /// `NFTA_SET_*`.
    Set,
    /// `NFTA_SET_DESC_*`.
    SetDesc,
    /// `NFTA_LIST_ELEM` items of a concatenation description.
    ConcatList,
    /// `NFTA_SET_FIELD_*`.
    ConcatField,
    /// `NFTA_SET_ELEM_LIST_*`.
    ElemList,
    /// `NFTA_LIST_ELEM` items that are set elements.
    Elems,
    /// `NFTA_SET_ELEM_*`.
    Elem,
    /// `NFTA_DATA_*`.
    Data,
    /// `NFTA_VERDICT_*`.
    Verdict,
    /// `NFTA_GEN_*`.
    Gen,
    /// A place this codec does not model: every attribute is bytes.
    Unknown,
}

/// The expressions the agent uses, by `NFTA_EXPR_NAME`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExprKind {
    /// `payload`.
    Payload,
    /// `cmp`.
    Cmp,
    /// `lookup`.
    Lookup,
    /// `meta`.
    Meta,
    /// `bitwise`.
    Bitwise,
    /// `immediate`.
    Immediate,
    /// `ct`.
    Ct,
    /// `fib`.
    Fib,
    /// `masq`.
    Masq,
    /// `reject`.
    Reject,
    /// `counter`.
    Counter,
    /// Any other expression: its data is kept as bytes.
    Other,
}

impl ExprKind {
    /// The kind named `name`.
    pub fn from_name(name: &str) -> ExprKind {
        match name {
            "payload" => ExprKind::Payload,
            "cmp" => ExprKind::Cmp,
            "lookup" => ExprKind::Lookup,
            "meta" => ExprKind::Meta,
            "bitwise" => ExprKind::Bitwise,
            "immediate" => ExprKind::Immediate,
            "ct" => ExprKind::Ct,
            "fib" => ExprKind::Fib,
            "masq" => ExprKind::Masq,
            "reject" => ExprKind::Reject,
            "counter" => ExprKind::Counter,
            _ => ExprKind::Other,
        }
    }
}

/// The shape of an attribute's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One byte.
    U8,
    /// A big-endian `u32`.
    U32,
    /// A big-endian `u64`.
    U64,
    /// A NUL-terminated string.
    Str,
    /// Raw bytes.
    Bytes,
    /// Attributes of the given place.
    Nested(Ctx),
}

/// The shape of attribute `kind` (flags removed) in `ctx`.
pub fn shape(ctx: Ctx, kind: u16) -> Shape {
    use Shape::*;
    match (ctx, kind) {
        // NFTA_TABLE_NAME, FLAGS, USE, HANDLE, PAD, USERDATA, OWNER
        (Ctx::Table, 1) => Str,
        (Ctx::Table, 2 | 3 | 7) => U32,
        (Ctx::Table, 4) => U64,
        // NFTA_CHAIN_TABLE, HANDLE, NAME, HOOK, POLICY, USE, TYPE, COUNTERS, PAD, FLAGS, ID
        (Ctx::Chain, 1 | 3 | 7) => Str,
        (Ctx::Chain, 2) => U64,
        (Ctx::Chain, 4) => Nested(Ctx::Hook),
        (Ctx::Chain, 5 | 6 | 10 | 11) => U32,
        (Ctx::Chain, 8) => Nested(Ctx::Counters),
        // NFTA_HOOK_HOOKNUM, PRIORITY, DEV
        (Ctx::Hook, 1 | 2) => U32,
        (Ctx::Hook, 3) => Str,
        // NFTA_COUNTER_BYTES, PACKETS
        (Ctx::Counters, 1 | 2) => U64,
        // NFTA_RULE_TABLE, CHAIN, HANDLE, EXPRESSIONS, COMPAT, POSITION, USERDATA, PAD, ID,
        // POSITION_ID, CHAIN_ID
        (Ctx::Rule, 1 | 2) => Str,
        (Ctx::Rule, 3 | 6) => U64,
        (Ctx::Rule, 4) => Nested(Ctx::ExprList),
        (Ctx::Rule, 9..=11) => U32,
        // List items: NFTA_LIST_ELEM, or (set elements, libnftnl) numbered 1, 2, 3, …
        (Ctx::ExprList, _) => Nested(Ctx::Expr),
        (Ctx::ConcatList, _) => Nested(Ctx::ConcatField),
        (Ctx::Elems, _) => Nested(Ctx::Elem),
        // NFTA_EXPR_NAME (DATA is decided by the name: see `parse`)
        (Ctx::Expr, 1) => Str,
        // NFTA_SET_TABLE, NAME, FLAGS, KEY_TYPE, KEY_LEN, DATA_TYPE, DATA_LEN, POLICY, DESC, ID,
        // TIMEOUT, GC_INTERVAL, USERDATA, PAD, OBJ_TYPE, HANDLE
        (Ctx::Set, 1 | 2) => Str,
        (Ctx::Set, 3..=8 | 10 | 12 | 15) => U32,
        (Ctx::Set, 9) => Nested(Ctx::SetDesc),
        (Ctx::Set, 11 | 16) => U64,
        // NFTA_SET_DESC_SIZE, CONCAT
        (Ctx::SetDesc, 1) => U32,
        (Ctx::SetDesc, 2) => Nested(Ctx::ConcatList),
        // NFTA_SET_FIELD_LEN
        (Ctx::ConcatField, 1) => U32,
        // NFTA_SET_ELEM_LIST_TABLE, SET, ELEMENTS, SET_ID
        (Ctx::ElemList, 1 | 2) => Str,
        (Ctx::ElemList, 3) => Nested(Ctx::Elems),
        (Ctx::ElemList, 4) => U32,
        // NFTA_SET_ELEM_KEY, DATA, FLAGS, TIMEOUT, EXPIRATION, USERDATA, EXPR, PAD, OBJREF,
        // KEY_END
        (Ctx::Elem, 1 | 2 | 10) => Nested(Ctx::Data),
        (Ctx::Elem, 3) => U32,
        (Ctx::Elem, 4 | 5) => U64,
        (Ctx::Elem, 9) => Str,
        // NFTA_DATA_VALUE, VERDICT
        (Ctx::Data, 1) => Bytes,
        (Ctx::Data, 2) => Nested(Ctx::Verdict),
        // NFTA_VERDICT_CODE, CHAIN, CHAIN_ID
        (Ctx::Verdict, 1 | 3) => U32,
        (Ctx::Verdict, 2) => Str,
        // NFTA_GEN_ID, PROC_PID, PROC_NAME
        (Ctx::Gen, 1 | 2) => U32,
        (Ctx::Gen, 3) => Str,
        (Ctx::ExprData(e), k) => expr_shape(e, k),
        _ => Bytes,
    }
}

fn expr_shape(e: ExprKind, kind: u16) -> Shape {
    use ExprKind as E;
    use Shape::*;
    match (e, kind) {
        // NFTA_PAYLOAD_DREG, BASE, OFFSET, LEN, SREG, CSUM_TYPE, CSUM_OFFSET, CSUM_FLAGS
        (E::Payload, 1..=8) => U32,
        // NFTA_CMP_SREG, OP, DATA
        (E::Cmp, 1 | 2) => U32,
        (E::Cmp, 3) => Nested(Ctx::Data),
        // NFTA_LOOKUP_SET, SREG, DREG, SET_ID, FLAGS
        (E::Lookup, 1) => Str,
        (E::Lookup, 2..=5) => U32,
        // NFTA_META_DREG, KEY, SREG
        (E::Meta, 1..=3) => U32,
        // NFTA_BITWISE_SREG, DREG, LEN, MASK, XOR, OP, DATA
        (E::Bitwise, 1 | 2 | 3 | 6) => U32,
        (E::Bitwise, 4 | 5 | 7) => Nested(Ctx::Data),
        // NFTA_IMMEDIATE_DREG, DATA
        (E::Immediate, 1) => U32,
        (E::Immediate, 2) => Nested(Ctx::Data),
        // NFTA_CT_DREG, KEY, DIRECTION (u8), SREG
        (E::Ct, 1 | 2 | 4) => U32,
        (E::Ct, 3) => U8,
        // NFTA_FIB_DREG, RESULT, FLAGS
        (E::Fib, 1..=3) => U32,
        // NFTA_MASQ_FLAGS, REG_PROTO_MIN, REG_PROTO_MAX
        (E::Masq, 1..=3) => U32,
        // NFTA_REJECT_TYPE, ICMP_CODE (u8)
        (E::Reject, 1) => U32,
        (E::Reject, 2) => U8,
        // NFTA_COUNTER_BYTES, PACKETS
        (E::Counter, 1 | 2) => U64,
        _ => Bytes,
    }
}

/// An attribute's value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// One byte.
    U8(u8),
    /// A `u32` (big-endian on the wire).
    U32(u32),
    /// A `u64` (big-endian on the wire).
    U64(u64),
    /// A string (NUL-terminated on the wire).
    Str(String),
    /// Bytes.
    Bytes(Vec<u8>),
    /// Nested attributes.
    Nested(Vec<Attr>),
}

/// One attribute.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Attr {
    /// `nla_type` as sent, flag bits ([`NLA_F_NESTED`]) included.
    pub kind: u16,
    /// The value.
    pub value: Value,
}

impl Attr {
    /// A non-nested attribute.
    pub fn new(kind: u16, value: Value) -> Attr {
        Attr { kind, value }
    }

    /// A nested attribute, flagged [`NLA_F_NESTED`] as libnftnl sends them.
    pub fn nested(kind: u16, attrs: Vec<Attr>) -> Attr {
        Attr {
            kind: kind | NLA_F_NESTED,
            value: Value::Nested(attrs),
        }
    }

    /// The type without flag bits.
    pub fn id(&self) -> u16 {
        self.kind & nla::NLA_TYPE_MASK
    }
}

/// How deep attributes may nest before the rest is kept as bytes (rules nest 6 deep).
const MAX_DEPTH: usize = 16;

/// Parses the attributes in `buf`, placed in `ctx`.
pub fn parse(ctx: Ctx, buf: &[u8]) -> Result<Vec<Attr>, DecodeError> {
    parse_depth(ctx, buf, 0)
}

fn parse_depth(ctx: Ctx, buf: &[u8], depth: usize) -> Result<Vec<Attr>, DecodeError> {
    let mut out = Vec::new();
    let mut expr = ExprKind::Other;
    for raw in NlaIter::new(buf) {
        let raw = raw?;
        let mut sh = shape(ctx, raw.kind);
        if ctx == Ctx::Expr && raw.kind == 2 {
            sh = Shape::Nested(Ctx::ExprData(expr));
        }
        let value = value(sh, raw.value, depth)?;
        if let (Ctx::Expr, 1, Value::Str(name)) = (ctx, raw.kind, &value) {
            expr = ExprKind::from_name(name);
        }
        out.push(Attr {
            kind: raw.raw_kind,
            value,
        });
    }
    // The last attribute may lack padding; anything else must have been consumed whole.
    Ok(out)
}

fn value(sh: Shape, v: &[u8], depth: usize) -> Result<Value, DecodeError> {
    let bytes = || Value::Bytes(v.to_vec());
    Ok(match sh {
        Shape::U8 => match v {
            [b] => Value::U8(*b),
            _ => bytes(),
        },
        Shape::U32 => match <[u8; 4]>::try_from(v) {
            Ok(b) => Value::U32(u32::from_be_bytes(b)),
            Err(_) => bytes(),
        },
        Shape::U64 => match <[u8; 8]>::try_from(v) {
            Ok(b) => Value::U64(u64::from_be_bytes(b)),
            Err(_) => bytes(),
        },
        Shape::Str => match v.split_last() {
            Some((0, s)) if !s.contains(&0) => match core::str::from_utf8(s) {
                Ok(s) => Value::Str(s.into()),
                Err(_) => bytes(),
            },
            _ => bytes(),
        },
        Shape::Bytes => bytes(),
        Shape::Nested(ctx) => {
            if depth >= MAX_DEPTH {
                bytes()
            } else {
                match parse_depth(ctx, v, depth + 1) {
                    Ok(attrs) if emitted_len(&attrs) == v.len() => Value::Nested(attrs),
                    _ => bytes(),
                }
            }
        }
    })
}

fn emitted_len(attrs: &[Attr]) -> usize {
    let mut out = Vec::new();
    emit(attrs, &mut out);
    out.len()
}

/// Appends the attributes.
pub fn emit(attrs: &[Attr], out: &mut Vec<u8>) {
    for a in attrs {
        match &a.value {
            Value::U8(b) => nla::put(out, a.kind, &[*b]),
            Value::U32(v) => nla::put(out, a.kind, &v.to_be_bytes()),
            Value::U64(v) => nla::put(out, a.kind, &v.to_be_bytes()),
            Value::Str(s) => {
                let mut b = Vec::with_capacity(s.len() + 1);
                b.extend_from_slice(s.as_bytes());
                b.push(0);
                nla::put(out, a.kind, &b);
            }
            Value::Bytes(b) => nla::put(out, a.kind, b),
            Value::Nested(inner) => {
                let start = out.len();
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&a.kind.to_ne_bytes());
                emit(inner, out);
                let len = u16::try_from(out.len() - start).unwrap_or(u16::MAX);
                out[start..start + 2].copy_from_slice(&len.to_ne_bytes());
                nla::pad(out);
            }
        }
    }
}
