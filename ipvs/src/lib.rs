//! svcroute-ipvs: the IPVS generic netlink messages, parsed and emitted without any I/O.
//!
//! The agent opens a `NETLINK_GENERIC` socket; this crate only turns values into bytes and bytes
//! into values. It is `no_std` (with `alloc`), reads no clock and opens no socket.
//!
//! Layers, each in its own module:
//! - [`nla`]: netlink attributes (4-byte aligned TLVs, nesting, `NLA_F_NESTED`).
//! - [`netlink`]: `nlmsghdr`, ACK/error (`nlmsgerr`), `NLMSG_DONE`, many messages per buffer.
//! - [`genl`]: `genlmsghdr` and the controller family (`CTRL_CMD_GETFAMILY "IPVS"` → family id).
//! - [`message`]: IPVS commands and attributes, lossless (unknown attributes kept as `Other`).
//! - [`types`]: typed [`Service`] and [`Destination`] with conversions both ways.
//! - [`request`]: request builders, [`Batch`] (many requests, one buffer) and [`Replies`].
//! - [`procfs`]: the text of `/proc/net/ip_vs` (the whole table, read without one dump per
//!   virtual server).
//!
//! Promise: no `parse` function panics, whatever the input; malformed bytes give a
//! [`DecodeError`]. Emitting is infallible; attribute values must stay below 64 KiB (IPVS values
//! are at most a few dozen bytes). Integers use the host's byte order like netlink itself (the
//! captured vectors are from x86_64, little-endian); ports are big-endian on the wire.
//!
//! ```
//! use svcroute_ipvs::{Batch, Destination, IpvsMessage, Service};
//! let svc = Service::tcp("10.97.97.97".parse().unwrap(), 80, "rr");
//! let mut batch = Batch::new(0x20, 0, 1);
//! batch.push(IpvsMessage::new_service(&svc));
//! batch.push(IpvsMessage::new_dest(&svc.key, &Destination::masq("10.244.0.2".parse().unwrap(), 80, 1)));
//! assert_eq!(batch.sequence_numbers(), &[1, 2]);
//! ```
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod error;
pub mod genl;
pub mod message;
pub mod netlink;
pub mod nla;
pub mod procfs;
pub mod request;
pub mod types;

pub use error::{DecodeError, Errno};
pub use genl::{CtrlAttr, CtrlCmd, CtrlMessage, FamilyInfo, FamilyOp, GENL_ID_CTRL, McastGroup};
pub use message::{
    DestAttr, FlagsAttr, FwdMethod, IPVS_GENL_NAME, IPVS_GENL_VERSION, IpvsAttr, IpvsCmd,
    IpvsMessage, ServiceAttr, Stats,
};
pub use netlink::{
    DoneMessage, ErrorMessage, FamilyMessage, MessageIter, NetlinkHeader, NetlinkMessage,
    NetlinkPayload, emit_messages, parse_messages,
};
pub use nla::DefaultNla;
pub use procfs::{ProcDest, ProcError, ProcParser, ProcTable, parse_proc_ip_vs, read_proc_ip_vs};
pub use request::{Batch, Replies};
pub use types::{Destination, Family, Protocol, Service, ServiceFlags, ServiceKey};
