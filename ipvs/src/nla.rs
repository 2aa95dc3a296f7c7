//! Netlink attributes (`struct nlattr`): a 4-byte header `{u16 len, u16 type}`, the value, and
//! padding to 4 bytes. The top two bits of `type` are flags: [`NLA_F_NESTED`] and
//! [`NLA_F_NET_BYTEORDER`].

use alloc::string::String;
use alloc::vec::Vec;

use crate::DecodeError;

/// Flag bit of `nla_type`: the value holds attributes.
pub const NLA_F_NESTED: u16 = 0x8000;
/// Flag bit of `nla_type`: the value is in network byte order.
pub const NLA_F_NET_BYTEORDER: u16 = 0x4000;
/// The bits of `nla_type` that are the type proper.
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);
/// Size of `struct nlattr`.
pub const NLA_HEADER_LEN: usize = 4;

/// Rounds up to netlink's 4-byte alignment.
pub const fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// One attribute as found in a buffer, not yet interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawNla<'a> {
    /// The type with flag bits removed.
    pub kind: u16,
    /// `nla_type` as found, flag bits included.
    pub raw_kind: u16,
    /// The value (without header and padding).
    pub value: &'a [u8],
}

impl RawNla<'_> {
    /// Whether [`NLA_F_NESTED`] was set.
    pub fn is_nested_flagged(&self) -> bool {
        self.raw_kind & NLA_F_NESTED != 0
    }
}

/// Iterates over the attributes in a buffer; yields an error (once) on a malformed header.
#[derive(Debug, Clone)]
pub struct NlaIter<'a> {
    buf: &'a [u8],
    failed: bool,
}

impl<'a> NlaIter<'a> {
    /// Attributes packed in `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        NlaIter { buf, failed: false }
    }
}

impl<'a> Iterator for NlaIter<'a> {
    type Item = Result<RawNla<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() || self.failed {
            return None;
        }
        let fail = |this: &mut Self, e| {
            this.failed = true;
            Some(Err(e))
        };
        let Some(header) = self.buf.get(..NLA_HEADER_LEN) else {
            let available = self.buf.len();
            return fail(
                self,
                DecodeError::Truncated {
                    what: "attribute header",
                    needed: NLA_HEADER_LEN,
                    available,
                },
            );
        };
        let len = usize::from(u16::from_ne_bytes([header[0], header[1]]));
        let raw_kind = u16::from_ne_bytes([header[2], header[3]]);
        if len < NLA_HEADER_LEN {
            return fail(
                self,
                DecodeError::LengthTooSmall {
                    what: "attribute",
                    length: len,
                },
            );
        }
        let Some(value) = self.buf.get(NLA_HEADER_LEN..len) else {
            let available = self.buf.len();
            return fail(
                self,
                DecodeError::Truncated {
                    what: "attribute",
                    needed: len,
                    available,
                },
            );
        };
        // The last attribute may lack its padding.
        self.buf = self.buf.get(align(len)..).unwrap_or(&[]);
        Some(Ok(RawNla {
            kind: raw_kind & NLA_TYPE_MASK,
            raw_kind,
            value,
        }))
    }
}

/// An attribute kept as it was: its `nla_type` (flag bits included) and value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DefaultNla {
    /// `nla_type`, flag bits included.
    pub kind: u16,
    /// The value.
    pub value: Vec<u8>,
}

impl DefaultNla {
    /// Keeps a raw attribute.
    pub fn from_raw(nla: &RawNla<'_>) -> Self {
        DefaultNla {
            kind: nla.raw_kind,
            value: nla.value.to_vec(),
        }
    }

    /// Appends it to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        put(out, self.kind, &self.value);
    }
}

/// Parses every attribute of `buf` into a list of `DefaultNla`.
pub fn parse_default_list(buf: &[u8]) -> Result<Vec<DefaultNla>, DecodeError> {
    NlaIter::new(buf)
        .map(|r| r.map(|n| DefaultNla::from_raw(&n)))
        .collect()
}

/// Writes a length into a 2-byte field; values are documented to stay below 64 KiB.
fn len16(len: usize) -> [u8; 2] {
    u16::try_from(len).unwrap_or(u16::MAX).to_ne_bytes()
}

/// Appends one attribute (header, value, padding). Values must stay below 64 KiB.
pub fn put(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    out.extend_from_slice(&len16(NLA_HEADER_LEN + value.len()));
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    pad(out);
}

/// Pads `out` to 4-byte alignment with zeros.
pub fn pad(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// Appends a `u8` attribute.
pub fn put_u8(out: &mut Vec<u8>, kind: u16, v: u8) {
    put(out, kind, &[v]);
}

/// Appends a host-order `u16` attribute.
pub fn put_u16(out: &mut Vec<u8>, kind: u16, v: u16) {
    put(out, kind, &v.to_ne_bytes());
}

/// Appends a network-order `u16` attribute (ports).
pub fn put_be16(out: &mut Vec<u8>, kind: u16, v: u16) {
    put(out, kind, &v.to_be_bytes());
}

/// Appends a host-order `u32` attribute.
pub fn put_u32(out: &mut Vec<u8>, kind: u16, v: u32) {
    put(out, kind, &v.to_ne_bytes());
}

/// Appends a host-order `u64` attribute.
pub fn put_u64(out: &mut Vec<u8>, kind: u16, v: u64) {
    put(out, kind, &v.to_ne_bytes());
}

/// Appends a NUL-terminated string attribute.
pub fn put_str(out: &mut Vec<u8>, kind: u16, s: &str) {
    out.extend_from_slice(&len16(NLA_HEADER_LEN + s.len() + 1));
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(s.as_bytes());
    out.push(0);
    pad(out);
}

/// Appends a nested attribute whose contents `body` writes; `flag` sets [`NLA_F_NESTED`].
pub fn put_nested(out: &mut Vec<u8>, kind: u16, flag: bool, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0, 0]);
    let kind = if flag { kind | NLA_F_NESTED } else { kind };
    out.extend_from_slice(&kind.to_ne_bytes());
    body(out);
    let len = len16(out.len() - start);
    out[start] = len[0];
    out[start + 1] = len[1];
    pad(out);
}

/// Reads a value of exactly `N` bytes.
pub fn fixed<const N: usize>(what: &'static str, value: &[u8]) -> Result<[u8; N], DecodeError> {
    value.try_into().map_err(|_| DecodeError::InvalidLength {
        what,
        expected: N,
        found: value.len(),
    })
}

/// Reads a `u8` value.
pub fn get_u8(what: &'static str, value: &[u8]) -> Result<u8, DecodeError> {
    Ok(fixed::<1>(what, value)?[0])
}

/// Reads a host-order `u16` value.
pub fn get_u16(what: &'static str, value: &[u8]) -> Result<u16, DecodeError> {
    Ok(u16::from_ne_bytes(fixed(what, value)?))
}

/// Reads a network-order `u16` value.
pub fn get_be16(what: &'static str, value: &[u8]) -> Result<u16, DecodeError> {
    Ok(u16::from_be_bytes(fixed(what, value)?))
}

/// Reads a host-order `u32` value.
pub fn get_u32(what: &'static str, value: &[u8]) -> Result<u32, DecodeError> {
    Ok(u32::from_ne_bytes(fixed(what, value)?))
}

/// Reads a host-order `u64` value.
pub fn get_u64(what: &'static str, value: &[u8]) -> Result<u64, DecodeError> {
    Ok(u64::from_ne_bytes(fixed(what, value)?))
}

/// Reads a string value, up to its first NUL.
pub fn get_string(what: &'static str, value: &[u8]) -> Result<String, DecodeError> {
    let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
    let bytes = value.get(..end).unwrap_or(value);
    core::str::from_utf8(bytes)
        .map(String::from)
        .map_err(|_| DecodeError::InvalidUtf8 { what })
}
