//! The netlink layer: `struct nlmsghdr`, control messages (ACK/error, done, noop, overrun),
//! many messages in one buffer.
//!
//! A message is `nlmsghdr` (16 bytes: length, type, flags, sequence number, port id) followed by
//! its payload; messages in a buffer start at 4-byte boundaries. The length field is not stored:
//! [`NetlinkMessage::emit`] computes it and [`NetlinkMessage::parse`] checks it.

use alloc::vec::Vec;

use crate::nla::{self, DefaultNla};
use crate::{DecodeError, Errno};

/// Size of `struct nlmsghdr`.
pub const NLMSG_HEADER_LEN: usize = 16;

/// Message type: nothing.
pub const NLMSG_NOOP: u16 = 1;
/// Message type: error or ACK (`struct nlmsgerr`).
pub const NLMSG_ERROR: u16 = 2;
/// Message type: end of a multi-part dump.
pub const NLMSG_DONE: u16 = 3;
/// Message type: data lost.
pub const NLMSG_OVERRUN: u16 = 4;

/// Flag: a request.
pub const NLM_F_REQUEST: u16 = 0x01;
/// Flag: part of a multi-part message (dump replies).
pub const NLM_F_MULTI: u16 = 0x02;
/// Flag: reply with an ACK (an `NLMSG_ERROR` with code 0) on success.
pub const NLM_F_ACK: u16 = 0x04;
/// Flag: echo this request.
pub const NLM_F_ECHO: u16 = 0x08;
/// Flag: the dump was interrupted (the set changed during it).
pub const NLM_F_DUMP_INTR: u16 = 0x10;
/// Flag (GET requests): return the whole table.
pub const NLM_F_ROOT: u16 = 0x100;
/// Flag (GET requests): return all matching entries.
pub const NLM_F_MATCH: u16 = 0x200;
/// Flag (GET requests): a dump (`NLM_F_ROOT | NLM_F_MATCH`).
pub const NLM_F_DUMP: u16 = NLM_F_ROOT | NLM_F_MATCH;
/// Flag (NEW requests): replace an existing object.
pub const NLM_F_REPLACE: u16 = 0x100;
/// Flag (NEW requests): fail if it exists.
pub const NLM_F_EXCL: u16 = 0x200;
/// Flag (NEW requests): create if missing.
pub const NLM_F_CREATE: u16 = 0x400;
/// Flag (ACKs): the echoed request was cut to its header.
pub const NLM_F_CAPPED: u16 = 0x100;
/// Flag (ACKs): extended ACK attributes follow.
pub const NLM_F_ACK_TLVS: u16 = 0x200;

/// `struct nlmsghdr` without its length (which emitting computes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NetlinkHeader {
    /// `nlmsg_type`: a control type or, for generic netlink, the family id.
    pub message_type: u16,
    /// `nlmsg_flags` (`NLM_F_*`).
    pub flags: u16,
    /// `nlmsg_seq`, chosen by the sender of a request and copied into its replies.
    pub sequence_number: u32,
    /// `nlmsg_pid`: the port id of the user socket (0 = let the kernel assign, or the kernel).
    pub port_number: u32,
}

impl NetlinkHeader {
    fn emit(&self, out: &mut Vec<u8>, length: u32) {
        out.extend_from_slice(&length.to_ne_bytes());
        out.extend_from_slice(&self.message_type.to_ne_bytes());
        out.extend_from_slice(&self.flags.to_ne_bytes());
        out.extend_from_slice(&self.sequence_number.to_ne_bytes());
        out.extend_from_slice(&self.port_number.to_ne_bytes());
    }

    /// Reads a header and its length field from the first 16 bytes of `buf`.
    pub fn parse(buf: &[u8]) -> Result<(u32, NetlinkHeader), DecodeError> {
        let b: [u8; NLMSG_HEADER_LEN] = buf
            .get(..NLMSG_HEADER_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(DecodeError::Truncated {
                what: "nlmsghdr",
                needed: NLMSG_HEADER_LEN,
                available: buf.len(),
            })?;
        let length = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
        Ok((
            length,
            NetlinkHeader {
                message_type: u16::from_ne_bytes([b[4], b[5]]),
                flags: u16::from_ne_bytes([b[6], b[7]]),
                sequence_number: u32::from_ne_bytes([b[8], b[9], b[10], b[11]]),
                port_number: u32::from_ne_bytes([b[12], b[13], b[14], b[15]]),
            },
        ))
    }
}

/// The payload of one family's messages (what follows `nlmsghdr` for the non-control types).
pub trait FamilyMessage: Sized {
    /// Appends the payload bytes.
    fn emit(&self, out: &mut Vec<u8>);
    /// Parses the payload of a message of type `message_type`.
    fn parse(message_type: u16, payload: &[u8]) -> Result<Self, DecodeError>;
}

/// A payload kept as raw bytes: for families this crate does not model.
impl FamilyMessage for Vec<u8> {
    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
    fn parse(_message_type: u16, payload: &[u8]) -> Result<Self, DecodeError> {
        Ok(payload.to_vec())
    }
}

/// `struct nlmsgerr`: an error (code < 0) or an ACK (code 0), with the request it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorMessage {
    /// 0 for an ACK, else a negated errno.
    pub code: i32,
    /// The length field of the echoed request header.
    pub request_length: u32,
    /// The echoed request header.
    pub request_header: NetlinkHeader,
    /// The echoed request payload: present on errors, absent when [`NLM_F_CAPPED`] is set (ACKs).
    pub request_payload: Vec<u8>,
    /// Extended ACK attributes (when the outer header has [`NLM_F_ACK_TLVS`]).
    pub ext_ack: Vec<DefaultNla>,
}

impl ErrorMessage {
    /// `Ok(())` for an ACK, `Err(errno)` for an error.
    pub fn result(&self) -> Result<(), Errno> {
        match Errno::from_code(self.code) {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.code.to_ne_bytes());
        self.request_header.emit(out, self.request_length);
        out.extend_from_slice(&self.request_payload);
        if !self.ext_ack.is_empty() {
            nla::pad(out);
            for a in &self.ext_ack {
                a.emit(out);
            }
        }
    }

    fn parse(outer_flags: u16, payload: &[u8]) -> Result<Self, DecodeError> {
        let code_bytes = nla::fixed::<4>("nlmsgerr error", payload.get(..4).unwrap_or(payload))?;
        let rest = payload.get(4..).unwrap_or(&[]);
        let (request_length, request_header) = NetlinkHeader::parse(rest)?;
        let after = rest.get(NLMSG_HEADER_LEN..).unwrap_or(&[]);
        let echoed = if outer_flags & NLM_F_CAPPED != 0 {
            0
        } else {
            (request_length as usize)
                .saturating_sub(NLMSG_HEADER_LEN)
                .min(after.len())
        };
        let request_payload = after.get(..echoed).unwrap_or(&[]).to_vec();
        let tail = after
            .get(nla::align(echoed).min(after.len())..)
            .unwrap_or(&[]);
        let ext_ack = if outer_flags & NLM_F_ACK_TLVS != 0 {
            nla::parse_default_list(tail)?
        } else if tail.is_empty() {
            Vec::new()
        } else {
            return Err(DecodeError::TrailingBytes {
                what: "nlmsgerr",
                count: tail.len(),
            });
        };
        Ok(ErrorMessage {
            code: i32::from_ne_bytes(code_bytes),
            request_length,
            request_header,
            request_payload,
            ext_ack,
        })
    }
}

/// `NLMSG_DONE`: the end of a dump, with the dump's final status.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DoneMessage {
    /// 0, or a negated errno when the dump failed.
    pub code: i32,
    /// Extended ACK attributes (when the header has [`NLM_F_ACK_TLVS`]).
    pub ext_ack: Vec<DefaultNla>,
}

/// What a netlink message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetlinkPayload<P> {
    /// `NLMSG_NOOP`.
    Noop,
    /// `NLMSG_ERROR`: an error or an ACK.
    Error(ErrorMessage),
    /// `NLMSG_DONE`.
    Done(DoneMessage),
    /// `NLMSG_OVERRUN`, its payload kept.
    Overrun(Vec<u8>),
    /// A message of the family.
    Inner(P),
}

/// One netlink message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetlinkMessage<P> {
    /// The header (its length is computed on emit).
    pub header: NetlinkHeader,
    /// The payload.
    pub payload: NetlinkPayload<P>,
}

impl<P: FamilyMessage> NetlinkMessage<P> {
    /// A message of the family.
    pub fn new(header: NetlinkHeader, inner: P) -> Self {
        NetlinkMessage {
            header,
            payload: NetlinkPayload::Inner(inner),
        }
    }

    /// Appends the message (header with its computed length, payload, padding) to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        nla::pad(out);
        let start = out.len();
        self.header.emit(out, 0);
        match &self.payload {
            NetlinkPayload::Noop => {}
            NetlinkPayload::Error(e) => e.emit(out),
            NetlinkPayload::Done(d) => {
                out.extend_from_slice(&d.code.to_ne_bytes());
                for a in &d.ext_ack {
                    a.emit(out);
                }
            }
            NetlinkPayload::Overrun(b) => out.extend_from_slice(b),
            NetlinkPayload::Inner(p) => p.emit(out),
        }
        let len = u32::try_from(out.len() - start)
            .unwrap_or(u32::MAX)
            .to_ne_bytes();
        out[start..start + 4].copy_from_slice(&len);
        nla::pad(out);
    }

    /// The message as a new byte vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.emit(&mut out);
        out
    }

    /// Parses one message from the start of `buf`; bytes after its length are ignored.
    pub fn parse(buf: &[u8]) -> Result<Self, DecodeError> {
        let (length, header) = NetlinkHeader::parse(buf)?;
        let length = length as usize;
        if length < NLMSG_HEADER_LEN {
            return Err(DecodeError::LengthTooSmall {
                what: "nlmsghdr",
                length,
            });
        }
        let payload = buf
            .get(NLMSG_HEADER_LEN..length)
            .ok_or(DecodeError::Truncated {
                what: "netlink message",
                needed: length,
                available: buf.len(),
            })?;
        let payload = match header.message_type {
            NLMSG_NOOP => NetlinkPayload::Noop,
            NLMSG_ERROR => NetlinkPayload::Error(ErrorMessage::parse(header.flags, payload)?),
            NLMSG_DONE => {
                let code = match payload.get(..4) {
                    Some(b) => i32::from_ne_bytes(nla::fixed("NLMSG_DONE status", b)?),
                    None if payload.is_empty() => 0,
                    None => {
                        return Err(DecodeError::Truncated {
                            what: "NLMSG_DONE status",
                            needed: 4,
                            available: payload.len(),
                        });
                    }
                };
                let tail = payload.get(4..).unwrap_or(&[]);
                let ext_ack = if header.flags & NLM_F_ACK_TLVS != 0 {
                    nla::parse_default_list(tail)?
                } else if tail.is_empty() {
                    Vec::new()
                } else {
                    return Err(DecodeError::TrailingBytes {
                        what: "NLMSG_DONE",
                        count: tail.len(),
                    });
                };
                NetlinkPayload::Done(DoneMessage { code, ext_ack })
            }
            NLMSG_OVERRUN => NetlinkPayload::Overrun(payload.to_vec()),
            t => NetlinkPayload::Inner(P::parse(t, payload)?),
        };
        Ok(NetlinkMessage { header, payload })
    }

    /// For an `NLMSG_ERROR`: `Some(Ok(()))` for an ACK, `Some(Err(errno))` for an error.
    pub fn ack_result(&self) -> Option<Result<(), Errno>> {
        match &self.payload {
            NetlinkPayload::Error(e) => Some(e.result()),
            _ => None,
        }
    }
}

/// Splits a buffer into its messages (each `&[u8]` is one message, header included).
#[derive(Debug, Clone)]
pub struct MessageIter<'a> {
    buf: &'a [u8],
    failed: bool,
}

impl<'a> MessageIter<'a> {
    /// The messages in `buf` (e.g. what one `recvmsg` returned).
    pub fn new(buf: &'a [u8]) -> Self {
        MessageIter { buf, failed: false }
    }
}

impl<'a> Iterator for MessageIter<'a> {
    type Item = Result<&'a [u8], DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() || self.failed {
            return None;
        }
        let length = match NetlinkHeader::parse(self.buf) {
            Ok((l, _)) => l as usize,
            Err(e) => {
                self.failed = true;
                return Some(Err(e));
            }
        };
        if length < NLMSG_HEADER_LEN {
            self.failed = true;
            return Some(Err(DecodeError::LengthTooSmall {
                what: "nlmsghdr",
                length,
            }));
        }
        let Some(msg) = self.buf.get(..length) else {
            self.failed = true;
            return Some(Err(DecodeError::Truncated {
                what: "netlink message",
                needed: length,
                available: self.buf.len(),
            }));
        };
        self.buf = self.buf.get(nla::align(length)..).unwrap_or(&[]);
        Some(Ok(msg))
    }
}

/// Parses every message in `buf`.
pub fn parse_messages<P: FamilyMessage>(buf: &[u8]) -> Result<Vec<NetlinkMessage<P>>, DecodeError> {
    MessageIter::new(buf)
        .map(|m| m.and_then(NetlinkMessage::parse))
        .collect()
}

/// Emits many messages into one buffer (for one `sendmsg`).
pub fn emit_messages<P: FamilyMessage>(messages: &[NetlinkMessage<P>]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        m.emit(&mut out);
    }
    out
}
