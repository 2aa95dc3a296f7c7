//! nf_tables netlink messages: `nlmsg_type` (subsystem and command), `struct nfgenmsg`, then
//! attributes ([`crate::attr`]).

use alloc::vec::Vec;

use svcroute_ipvs::DecodeError;
use svcroute_ipvs::netlink::FamilyMessage;

use crate::attr::{self, Attr, Ctx};

/// `NFNL_SUBSYS_NFTABLES`.
pub const NFNL_SUBSYS_NFTABLES: u8 = 10;
/// `NFNL_MSG_BATCH_BEGIN` (`NLMSG_MIN_TYPE`).
pub const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
/// `NFNL_MSG_BATCH_END`.
pub const NFNL_MSG_BATCH_END: u16 = 0x11;
/// `NFNETLINK_V0`.
pub const NFNETLINK_V0: u8 = 0;

/// `AF_UNSPEC`, the family of batch and generation messages.
pub const AF_UNSPEC: u8 = 0;
/// `NFPROTO_IPV4`: tables of family `ip`.
pub const NFPROTO_IPV4: u8 = 2;
/// `NFPROTO_IPV6`: tables of family `ip6`.
pub const NFPROTO_IPV6: u8 = 10;

/// nf_tables commands (`enum nf_tables_msg_types`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cmd {
    /// `NFT_MSG_NEWTABLE`.
    NewTable,
    /// `NFT_MSG_GETTABLE`.
    GetTable,
    /// `NFT_MSG_DELTABLE`.
    DelTable,
    /// `NFT_MSG_NEWCHAIN`.
    NewChain,
    /// `NFT_MSG_GETCHAIN`.
    GetChain,
    /// `NFT_MSG_DELCHAIN`.
    DelChain,
    /// `NFT_MSG_NEWRULE`.
    NewRule,
    /// `NFT_MSG_GETRULE`.
    GetRule,
    /// `NFT_MSG_DELRULE`.
    DelRule,
    /// `NFT_MSG_NEWSET`.
    NewSet,
    /// `NFT_MSG_GETSET`.
    GetSet,
    /// `NFT_MSG_DELSET`.
    DelSet,
    /// `NFT_MSG_NEWSETELEM`.
    NewSetElem,
    /// `NFT_MSG_GETSETELEM`.
    GetSetElem,
    /// `NFT_MSG_DELSETELEM`.
    DelSetElem,
    /// `NFT_MSG_NEWGEN`.
    NewGen,
    /// `NFT_MSG_GETGEN`.
    GetGen,
    /// Another nf_tables command, by number.
    Other(u8),
}

impl Cmd {
    /// The command's number.
    pub fn number(self) -> u8 {
        match self {
            Cmd::NewTable => 0,
            Cmd::GetTable => 1,
            Cmd::DelTable => 2,
            Cmd::NewChain => 3,
            Cmd::GetChain => 4,
            Cmd::DelChain => 5,
            Cmd::NewRule => 6,
            Cmd::GetRule => 7,
            Cmd::DelRule => 8,
            Cmd::NewSet => 9,
            Cmd::GetSet => 10,
            Cmd::DelSet => 11,
            Cmd::NewSetElem => 12,
            Cmd::GetSetElem => 13,
            Cmd::DelSetElem => 14,
            Cmd::NewGen => 15,
            Cmd::GetGen => 16,
            Cmd::Other(n) => n,
        }
    }

    /// The command with this number.
    pub fn from_number(n: u8) -> Cmd {
        const ALL: [Cmd; 17] = [
            Cmd::NewTable,
            Cmd::GetTable,
            Cmd::DelTable,
            Cmd::NewChain,
            Cmd::GetChain,
            Cmd::DelChain,
            Cmd::NewRule,
            Cmd::GetRule,
            Cmd::DelRule,
            Cmd::NewSet,
            Cmd::GetSet,
            Cmd::DelSet,
            Cmd::NewSetElem,
            Cmd::GetSetElem,
            Cmd::DelSetElem,
            Cmd::NewGen,
            Cmd::GetGen,
        ];
        ALL.get(usize::from(n)).copied().unwrap_or(Cmd::Other(n))
    }

    /// Where this command's attributes sit.
    pub fn ctx(self) -> Ctx {
        match self.number() {
            0..=2 => Ctx::Table,
            3..=5 => Ctx::Chain,
            6..=8 => Ctx::Rule,
            9..=11 => Ctx::Set,
            12..=14 => Ctx::ElemList,
            15 | 16 => Ctx::Gen,
            _ => Ctx::Unknown,
        }
    }
}

/// What an nfnetlink message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `NFNL_MSG_BATCH_BEGIN`.
    BatchBegin,
    /// `NFNL_MSG_BATCH_END`.
    BatchEnd,
    /// An nf_tables command.
    Nft(Cmd),
    /// Another `nlmsg_type` (another subsystem).
    Other(u16),
}

impl Kind {
    /// The `nlmsg_type`.
    pub fn message_type(self) -> u16 {
        match self {
            Kind::BatchBegin => NFNL_MSG_BATCH_BEGIN,
            Kind::BatchEnd => NFNL_MSG_BATCH_END,
            Kind::Nft(c) => (u16::from(NFNL_SUBSYS_NFTABLES) << 8) | u16::from(c.number()),
            Kind::Other(t) => t,
        }
    }

    /// The kind of an `nlmsg_type`.
    pub fn from_message_type(t: u16) -> Kind {
        match t {
            NFNL_MSG_BATCH_BEGIN => Kind::BatchBegin,
            NFNL_MSG_BATCH_END => Kind::BatchEnd,
            _ if t >> 8 == u16::from(NFNL_SUBSYS_NFTABLES) => {
                Kind::Nft(Cmd::from_number((t & 0xff) as u8))
            }
            _ => Kind::Other(t),
        }
    }
}

/// One nfnetlink message's payload: `struct nfgenmsg` and the attributes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NftMessage {
    /// What it is (the `nlmsg_type`, kept here so the payload parses by itself).
    pub kind: Kind,
    /// `nfgen_family`: [`NFPROTO_IPV4`], [`NFPROTO_IPV6`], or [`AF_UNSPEC`].
    pub family: u8,
    /// `version` ([`NFNETLINK_V0`]).
    pub version: u8,
    /// `res_id` (big-endian on the wire): the subsystem in batch messages, else the
    /// generation id (low 16 bits) in replies or 0.
    pub res_id: u16,
    /// The attributes.
    pub attrs: Vec<Attr>,
}

impl NftMessage {
    /// A command with its attributes.
    pub fn new(cmd: Cmd, family: u8, attrs: Vec<Attr>) -> NftMessage {
        NftMessage {
            kind: Kind::Nft(cmd),
            family,
            version: NFNETLINK_V0,
            res_id: 0,
            attrs,
        }
    }

    /// `NFNL_MSG_BATCH_BEGIN` or `END` for the nf_tables subsystem.
    pub fn batch(begin: bool) -> NftMessage {
        NftMessage {
            kind: if begin {
                Kind::BatchBegin
            } else {
                Kind::BatchEnd
            },
            family: AF_UNSPEC,
            version: NFNETLINK_V0,
            res_id: u16::from(NFNL_SUBSYS_NFTABLES),
            attrs: Vec::new(),
        }
    }
}

impl FamilyMessage for NftMessage {
    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.family);
        out.push(self.version);
        out.extend_from_slice(&self.res_id.to_be_bytes());
        attr::emit(&self.attrs, out);
    }

    fn parse(message_type: u16, payload: &[u8]) -> Result<Self, DecodeError> {
        let kind = Kind::from_message_type(message_type);
        let Some(&[family, version, r0, r1]) = payload.get(..4) else {
            return Err(DecodeError::Truncated {
                what: "nfgenmsg",
                needed: 4,
                available: payload.len(),
            });
        };
        let ctx = match kind {
            Kind::Nft(c) => c.ctx(),
            _ => Ctx::Unknown,
        };
        Ok(NftMessage {
            kind,
            family,
            version,
            res_id: u16::from_be_bytes([r0, r1]),
            attrs: attr::parse(ctx, &payload[4..])?,
        })
    }
}
