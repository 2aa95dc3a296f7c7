//! Generic netlink: `struct genlmsghdr` (command, version, 2 reserved bytes) and the controller
//! family (`nlctrl`, type 0x10) that resolves a family name such as `"IPVS"` to its id.

use alloc::string::String;
use alloc::vec::Vec;

use crate::DecodeError;
use crate::netlink::{
    FamilyMessage, NLM_F_ACK, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use crate::nla::{self, DefaultNla, NlaIter};

/// Size of `struct genlmsghdr`.
pub const GENL_HEADER_LEN: usize = 4;
/// The message type (family id) of the generic netlink controller.
pub const GENL_ID_CTRL: u16 = 0x10;

/// Appends `struct genlmsghdr`.
pub fn emit_header(out: &mut Vec<u8>, cmd: u8, version: u8) {
    out.extend_from_slice(&[cmd, version, 0, 0]);
}

/// Splits a generic netlink payload into (command, version, attribute bytes).
pub fn parse_header(payload: &[u8]) -> Result<(u8, u8, &[u8]), DecodeError> {
    match payload {
        [cmd, version, _, _, attrs @ ..] => Ok((*cmd, *version, attrs)),
        _ => Err(DecodeError::Truncated {
            what: "genlmsghdr",
            needed: GENL_HEADER_LEN,
            available: payload.len(),
        }),
    }
}

/// Whether nested attributes in a list carry `NLA_F_NESTED`: `false` only when some attribute
/// of a nested kind (per `is_nest`) lacks it, so lists without nests read as the default `true`.
pub(crate) fn nested_flag_of(attrs: &[u8], is_nest: impl Fn(u16) -> bool) -> bool {
    !NlaIter::new(attrs)
        .filter_map(Result::ok)
        .any(|a| is_nest(a.kind) && !a.is_nested_flagged())
}

const CTRL_CMD_NEWFAMILY: u8 = 1;
const CTRL_CMD_DELFAMILY: u8 = 2;
const CTRL_CMD_GETFAMILY: u8 = 3;

const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const CTRL_ATTR_VERSION: u16 = 3;
const CTRL_ATTR_HDRSIZE: u16 = 4;
const CTRL_ATTR_MAXATTR: u16 = 5;
const CTRL_ATTR_OPS: u16 = 6;
const CTRL_ATTR_MCAST_GROUPS: u16 = 7;

const CTRL_ATTR_OP_ID: u16 = 1;
const CTRL_ATTR_OP_FLAGS: u16 = 2;
const CTRL_ATTR_MCAST_GRP_NAME: u16 = 1;
const CTRL_ATTR_MCAST_GRP_ID: u16 = 2;

/// Commands of the controller family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CtrlCmd {
    /// `CTRL_CMD_NEWFAMILY`: the reply to `GetFamily`.
    NewFamily,
    /// `CTRL_CMD_DELFAMILY`.
    DelFamily,
    /// `CTRL_CMD_GETFAMILY`: look a family up by name or id.
    GetFamily,
    /// Any other command number.
    Other(u8),
}

impl From<u8> for CtrlCmd {
    fn from(v: u8) -> Self {
        match v {
            CTRL_CMD_NEWFAMILY => CtrlCmd::NewFamily,
            CTRL_CMD_DELFAMILY => CtrlCmd::DelFamily,
            CTRL_CMD_GETFAMILY => CtrlCmd::GetFamily,
            other => CtrlCmd::Other(other),
        }
    }
}

impl From<CtrlCmd> for u8 {
    fn from(c: CtrlCmd) -> u8 {
        match c {
            CtrlCmd::NewFamily => CTRL_CMD_NEWFAMILY,
            CtrlCmd::DelFamily => CTRL_CMD_DELFAMILY,
            CtrlCmd::GetFamily => CTRL_CMD_GETFAMILY,
            CtrlCmd::Other(v) => v,
        }
    }
}

/// One operation a family supports (`CTRL_ATTR_OPS` entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FamilyOp {
    /// The command number.
    pub id: u32,
    /// `GENL_*` flags (e.g. `GENL_ADMIN_PERM` 0x01, `GENL_CMD_CAP_DO` 0x02, `_DUMP` 0x04).
    pub flags: u32,
}

/// One multicast group of a family (`CTRL_ATTR_MCAST_GROUPS` entry).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct McastGroup {
    /// The group's name.
    pub name: String,
    /// The group's id (to join with `NETLINK_ADD_MEMBERSHIP`).
    pub id: u32,
}

/// Controller attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CtrlAttr {
    /// `CTRL_ATTR_FAMILY_ID`.
    FamilyId(u16),
    /// `CTRL_ATTR_FAMILY_NAME`.
    FamilyName(String),
    /// `CTRL_ATTR_VERSION`.
    Version(u32),
    /// `CTRL_ATTR_HDRSIZE`: the family's own header after `genlmsghdr` (0 for IPVS).
    HdrSize(u32),
    /// `CTRL_ATTR_MAXATTR`.
    MaxAttr(u32),
    /// `CTRL_ATTR_OPS`, an array numbered from 1.
    Ops(Vec<FamilyOp>),
    /// `CTRL_ATTR_MCAST_GROUPS`, an array numbered from 1.
    McastGroups(Vec<McastGroup>),
    /// Anything else (policies, …), kept as found.
    Other(DefaultNla),
}

impl CtrlAttr {
    fn emit(&self, out: &mut Vec<u8>, nested_flag: bool) {
        match self {
            CtrlAttr::FamilyId(v) => nla::put_u16(out, CTRL_ATTR_FAMILY_ID, *v),
            CtrlAttr::FamilyName(s) => nla::put_str(out, CTRL_ATTR_FAMILY_NAME, s),
            CtrlAttr::Version(v) => nla::put_u32(out, CTRL_ATTR_VERSION, *v),
            CtrlAttr::HdrSize(v) => nla::put_u32(out, CTRL_ATTR_HDRSIZE, *v),
            CtrlAttr::MaxAttr(v) => nla::put_u32(out, CTRL_ATTR_MAXATTR, *v),
            CtrlAttr::Ops(ops) => nla::put_nested(out, CTRL_ATTR_OPS, nested_flag, |out| {
                for (i, op) in ops.iter().enumerate() {
                    let idx = u16::try_from(i + 1).unwrap_or(u16::MAX);
                    nla::put_nested(out, idx, nested_flag, |out| {
                        nla::put_u32(out, CTRL_ATTR_OP_ID, op.id);
                        nla::put_u32(out, CTRL_ATTR_OP_FLAGS, op.flags);
                    });
                }
            }),
            CtrlAttr::McastGroups(groups) => {
                nla::put_nested(out, CTRL_ATTR_MCAST_GROUPS, nested_flag, |out| {
                    for (i, g) in groups.iter().enumerate() {
                        let idx = u16::try_from(i + 1).unwrap_or(u16::MAX);
                        nla::put_nested(out, idx, nested_flag, |out| {
                            nla::put_u32(out, CTRL_ATTR_MCAST_GRP_ID, g.id);
                            nla::put_str(out, CTRL_ATTR_MCAST_GRP_NAME, &g.name);
                        });
                    }
                })
            }
            CtrlAttr::Other(a) => a.emit(out),
        }
    }

    fn parse(a: &nla::RawNla<'_>) -> Result<Self, DecodeError> {
        Ok(match a.kind {
            CTRL_ATTR_FAMILY_ID => {
                CtrlAttr::FamilyId(nla::get_u16("CTRL_ATTR_FAMILY_ID", a.value)?)
            }
            CTRL_ATTR_FAMILY_NAME => {
                CtrlAttr::FamilyName(nla::get_string("CTRL_ATTR_FAMILY_NAME", a.value)?)
            }
            CTRL_ATTR_VERSION => CtrlAttr::Version(nla::get_u32("CTRL_ATTR_VERSION", a.value)?),
            CTRL_ATTR_HDRSIZE => CtrlAttr::HdrSize(nla::get_u32("CTRL_ATTR_HDRSIZE", a.value)?),
            CTRL_ATTR_MAXATTR => CtrlAttr::MaxAttr(nla::get_u32("CTRL_ATTR_MAXATTR", a.value)?),
            CTRL_ATTR_OPS => {
                let mut ops = Vec::new();
                for entry in NlaIter::new(a.value) {
                    let mut op = FamilyOp { id: 0, flags: 0 };
                    for f in NlaIter::new(entry?.value) {
                        let f = f?;
                        match f.kind {
                            CTRL_ATTR_OP_ID => op.id = nla::get_u32("CTRL_ATTR_OP_ID", f.value)?,
                            CTRL_ATTR_OP_FLAGS => {
                                op.flags = nla::get_u32("CTRL_ATTR_OP_FLAGS", f.value)?
                            }
                            _ => {}
                        }
                    }
                    ops.push(op);
                }
                CtrlAttr::Ops(ops)
            }
            CTRL_ATTR_MCAST_GROUPS => {
                let mut groups = Vec::new();
                for entry in NlaIter::new(a.value) {
                    let mut g = McastGroup {
                        name: String::new(),
                        id: 0,
                    };
                    for f in NlaIter::new(entry?.value) {
                        let f = f?;
                        match f.kind {
                            CTRL_ATTR_MCAST_GRP_NAME => {
                                g.name = nla::get_string("CTRL_ATTR_MCAST_GRP_NAME", f.value)?
                            }
                            CTRL_ATTR_MCAST_GRP_ID => {
                                g.id = nla::get_u32("CTRL_ATTR_MCAST_GRP_ID", f.value)?
                            }
                            _ => {}
                        }
                    }
                    groups.push(g);
                }
                CtrlAttr::McastGroups(groups)
            }
            _ => CtrlAttr::Other(DefaultNla::from_raw(a)),
        })
    }
}

/// A message of the controller family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtrlMessage {
    /// The command.
    pub cmd: CtrlCmd,
    /// `genlmsghdr.version` (libnl sends 1, the kernel answers 2).
    pub version: u8,
    /// The attributes, in order.
    pub attrs: Vec<CtrlAttr>,
    /// Whether nested attributes carry `NLA_F_NESTED` when emitted (the kernel's replies do not).
    pub nested_flag: bool,
}

impl CtrlMessage {
    /// `CTRL_CMD_GETFAMILY` for a family name, as libnl's `genl_ctrl_resolve` sends it.
    pub fn get_family(name: &str) -> Self {
        CtrlMessage {
            cmd: CtrlCmd::GetFamily,
            version: 1,
            attrs: alloc::vec![CtrlAttr::FamilyName(name.into())],
            nested_flag: true,
        }
    }

    /// The whole request: type `GENL_ID_CTRL`, flags `NLM_F_REQUEST | NLM_F_ACK`.
    pub fn get_family_request(
        name: &str,
        sequence_number: u32,
        port_number: u32,
    ) -> NetlinkMessage<CtrlMessage> {
        let header = NetlinkHeader {
            message_type: GENL_ID_CTRL,
            flags: NLM_F_REQUEST | NLM_F_ACK,
            sequence_number,
            port_number,
        };
        NetlinkMessage::new(header, CtrlMessage::get_family(name))
    }
}

impl FamilyMessage for CtrlMessage {
    fn emit(&self, out: &mut Vec<u8>) {
        emit_header(out, self.cmd.into(), self.version);
        for a in &self.attrs {
            a.emit(out, self.nested_flag);
        }
    }

    fn parse(_message_type: u16, payload: &[u8]) -> Result<Self, DecodeError> {
        let (cmd, version, attrs_buf) = parse_header(payload)?;
        let attrs = NlaIter::new(attrs_buf)
            .map(|a| a.and_then(|a| CtrlAttr::parse(&a)))
            .collect::<Result<_, _>>()?;
        Ok(CtrlMessage {
            cmd: cmd.into(),
            version,
            attrs,
            nested_flag: nested_flag_of(attrs_buf, |k| {
                k == CTRL_ATTR_OPS || k == CTRL_ATTR_MCAST_GROUPS
            }),
        })
    }
}

/// What the controller says about a family (from a `CTRL_CMD_NEWFAMILY` reply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyInfo {
    /// The family id: the `nlmsg_type` of its messages.
    pub id: u16,
    /// The family name.
    pub name: String,
    /// The family's version.
    pub version: u32,
    /// Size of the family header after `genlmsghdr`.
    pub hdr_size: u32,
    /// The highest attribute number.
    pub max_attr: u32,
    /// The commands it supports.
    pub ops: Vec<FamilyOp>,
    /// Its multicast groups.
    pub mcast_groups: Vec<McastGroup>,
}

impl FamilyInfo {
    /// Reads the family from a controller message; needs the id and the name.
    pub fn from_message(msg: &CtrlMessage) -> Result<Self, DecodeError> {
        let mut id = None;
        let mut name = None;
        let mut info = FamilyInfo {
            id: 0,
            name: String::new(),
            version: 0,
            hdr_size: 0,
            max_attr: 0,
            ops: Vec::new(),
            mcast_groups: Vec::new(),
        };
        for a in &msg.attrs {
            match a {
                CtrlAttr::FamilyId(v) => id = Some(*v),
                CtrlAttr::FamilyName(s) => name = Some(s.clone()),
                CtrlAttr::Version(v) => info.version = *v,
                CtrlAttr::HdrSize(v) => info.hdr_size = *v,
                CtrlAttr::MaxAttr(v) => info.max_attr = *v,
                CtrlAttr::Ops(ops) => info.ops.clone_from(ops),
                CtrlAttr::McastGroups(g) => info.mcast_groups.clone_from(g),
                CtrlAttr::Other(_) => {}
            }
        }
        info.id = id.ok_or(DecodeError::MissingAttribute {
            what: "CTRL_ATTR_FAMILY_ID",
        })?;
        info.name = name.ok_or(DecodeError::MissingAttribute {
            what: "CTRL_ATTR_FAMILY_NAME",
        })?;
        Ok(info)
    }

    /// Finds the family in the replies to a `GETFAMILY` request (skipping ACKs).
    pub fn from_replies(
        replies: &[NetlinkMessage<CtrlMessage>],
    ) -> Option<Result<Self, DecodeError>> {
        replies.iter().find_map(|m| match &m.payload {
            NetlinkPayload::Inner(c) if c.cmd == CtrlCmd::NewFamily => {
                Some(FamilyInfo::from_message(c))
            }
            _ => None,
        })
    }
}
