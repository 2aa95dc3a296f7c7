//! svcroute-nft: the nf_tables netlink messages the node agent needs, parsed and emitted
//! without any I/O.
//!
//! `no_std` (with `alloc`), no socket, no clock. The netlink header and attribute layers are
//! the IPVS codec's ([`svcroute_ipvs::netlink`], [`svcroute_ipvs::nla`]); this crate adds:
//! - [`attr`]: nf_tables attributes as a typed tree, parsed by the kernel's attribute
//!   policies (big-endian integers, strings, nesting), lossless;
//! - [`msg`]: `nlmsg_type` (subsystem and command) and `struct nfgenmsg`;
//! - [`expr`]: the expressions the agent's rules use (payload, cmp, lookup, meta, bitwise,
//!   immediate/verdict, ct, fib, masq, reject, counter) as typed values;
//! - [`build`]: tables, chains, sets, elements and rules as messages, and NFNL batches;
//! - [`dump`]: the kernel's view of a table read back (GET requests and dump replies as
//!   values to compare: chains, set shapes, canonical rule expressions, elements);
//! - [`ct`]: ctnetlink, the conntrack table's dump and entry deletion (another nfnetlink
//!   subsystem on the same framing), held to Debian's `conntrack` (`tests/ct_vectors/`).
//!
//! Promise: no `parse` function panics, whatever the input; malformed bytes give a
//! [`DecodeError`]; well-formed attributes that do not fit their policy are kept as bytes, so
//! emitting a parsed message gives its bytes back. Held to bytes captured from Debian's `nft`
//! (`tests/vectors/`, `cargo xtask nft-capture`).
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod attr;
pub mod build;
pub mod ct;
pub mod dump;
pub mod expr;
pub mod msg;

pub use attr::{Attr, Ctx, ExprKind, Value};

pub use msg::{Cmd, Kind, NftMessage};
pub use svcroute_ipvs::DecodeError;
