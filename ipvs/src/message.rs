//! IPVS messages at the attribute level: commands, the attributes of each level, their exact
//! wire layout (as `include/uapi/linux/ip_vs.h` and `net/netfilter/ipvs/ip_vs_ctl.c` define it).
//!
//! Parsing keeps everything: unknown attributes become `Other` and are emitted back unchanged, so
//! `emit(parse(bytes)) == bytes` for what the kernel and ipvsadm send.

use alloc::string::String;
use alloc::vec::Vec;

use crate::DecodeError;
use crate::genl;
use crate::netlink::FamilyMessage;
use crate::nla::{self, DefaultNla, NlaIter, RawNla};

/// The generic netlink family name of IPVS.
pub const IPVS_GENL_NAME: &str = "IPVS";
/// The version IPVS messages carry in `genlmsghdr`.
pub const IPVS_GENL_VERSION: u8 = 1;

macro_rules! numbered_enum {
    ($(#[$meta:meta])* $name:ident : $repr:ty { $($(#[$vmeta:meta])* $variant:ident = $value:expr,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A number this crate does not name.
            Other($repr),
        }
        impl From<$repr> for $name {
            fn from(v: $repr) -> Self {
                match v {
                    $($value => $name::$variant,)*
                    other => $name::Other(other),
                }
            }
        }
        impl From<$name> for $repr {
            fn from(v: $name) -> $repr {
                match v {
                    $($name::$variant => $value,)*
                    $name::Other(other) => other,
                }
            }
        }
    };
}

numbered_enum! {
    /// IPVS generic netlink commands (`IPVS_CMD_*`).
    IpvsCmd: u8 {
        /// Add a virtual service.
        NewService = 1,
        /// Edit a virtual service.
        SetService = 2,
        /// Delete a virtual service.
        DelService = 3,
        /// Get one service, or dump all (also the command of the replies: they use `NewService`).
        GetService = 4,
        /// Add a destination (real server).
        NewDest = 5,
        /// Edit a destination.
        SetDest = 6,
        /// Delete a destination.
        DelDest = 7,
        /// Dump the destinations of a service.
        GetDest = 8,
        /// Start a sync daemon.
        NewDaemon = 9,
        /// Stop a sync daemon.
        DelDaemon = 10,
        /// Get the sync daemons.
        GetDaemon = 11,
        /// Set the TCP/TCP-FIN/UDP timeouts.
        SetConfig = 12,
        /// Get the timeouts.
        GetConfig = 13,
        /// The reply to `GetInfo`.
        SetInfo = 14,
        /// Get the version and connection table size.
        GetInfo = 15,
        /// Zero the counters.
        Zero = 16,
        /// Delete all services.
        Flush = 17,
    }
}

numbered_enum! {
    /// Forwarding methods of a destination (`IP_VS_CONN_F_FWD_MASK` values).
    FwdMethod: u32 {
        /// NAT (`ipvsadm -m`).
        Masquerade = 0,
        /// Local node.
        Local = 1,
        /// IP-in-IP tunnel (`-i`).
        Tunnel = 2,
        /// Direct routing (`-g`).
        Route = 3,
        /// Cache bypass.
        Bypass = 4,
    }
}

const IPVS_CMD_ATTR_SERVICE: u16 = 1;
const IPVS_CMD_ATTR_DEST: u16 = 2;
const IPVS_CMD_ATTR_DAEMON: u16 = 3;
const IPVS_CMD_ATTR_TIMEOUT_TCP: u16 = 4;
const IPVS_CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
const IPVS_CMD_ATTR_TIMEOUT_UDP: u16 = 6;

const IPVS_INFO_ATTR_VERSION: u16 = 1;
const IPVS_INFO_ATTR_CONN_TAB_SIZE: u16 = 2;

const IPVS_SVC_ATTR_AF: u16 = 1;
const IPVS_SVC_ATTR_PROTOCOL: u16 = 2;
const IPVS_SVC_ATTR_ADDR: u16 = 3;
const IPVS_SVC_ATTR_PORT: u16 = 4;
const IPVS_SVC_ATTR_FWMARK: u16 = 5;
const IPVS_SVC_ATTR_SCHED_NAME: u16 = 6;
const IPVS_SVC_ATTR_FLAGS: u16 = 7;
const IPVS_SVC_ATTR_TIMEOUT: u16 = 8;
const IPVS_SVC_ATTR_NETMASK: u16 = 9;
const IPVS_SVC_ATTR_STATS: u16 = 10;
const IPVS_SVC_ATTR_PE_NAME: u16 = 11;
const IPVS_SVC_ATTR_STATS64: u16 = 12;

const IPVS_DEST_ATTR_ADDR: u16 = 1;
const IPVS_DEST_ATTR_PORT: u16 = 2;
const IPVS_DEST_ATTR_FWD_METHOD: u16 = 3;
const IPVS_DEST_ATTR_WEIGHT: u16 = 4;
const IPVS_DEST_ATTR_U_THRESH: u16 = 5;
const IPVS_DEST_ATTR_L_THRESH: u16 = 6;
const IPVS_DEST_ATTR_ACTIVE_CONNS: u16 = 7;
const IPVS_DEST_ATTR_INACT_CONNS: u16 = 8;
const IPVS_DEST_ATTR_PERSIST_CONNS: u16 = 9;
const IPVS_DEST_ATTR_STATS: u16 = 10;
const IPVS_DEST_ATTR_ADDR_FAMILY: u16 = 11;
const IPVS_DEST_ATTR_STATS64: u16 = 12;
const IPVS_DEST_ATTR_TUN_TYPE: u16 = 13;
const IPVS_DEST_ATTR_TUN_PORT: u16 = 14;
const IPVS_DEST_ATTR_TUN_FLAGS: u16 = 15;

const IPVS_STATS_ATTR_CONNS: u16 = 1;
const IPVS_STATS_ATTR_INPKTS: u16 = 2;
const IPVS_STATS_ATTR_OUTPKTS: u16 = 3;
const IPVS_STATS_ATTR_INBYTES: u16 = 4;
const IPVS_STATS_ATTR_OUTBYTES: u16 = 5;
const IPVS_STATS_ATTR_CPS: u16 = 6;
const IPVS_STATS_ATTR_INPPS: u16 = 7;
const IPVS_STATS_ATTR_OUTPPS: u16 = 8;
const IPVS_STATS_ATTR_INBPS: u16 = 9;
const IPVS_STATS_ATTR_OUTBPS: u16 = 10;

/// Counters and rates of a service or destination (`IPVS_STATS_ATTR_*`).
///
/// Parsing accepts 4- or 8-byte values for every field and ignores unknown attributes (such as
/// `IPVS_STATS_ATTR_PAD`). Emitting writes the kernel's layouts: in `*_STATS`, `conns`, the
/// packet counters and the rates are `u32` (truncated) and the byte counters `u64`; in
/// `*_STATS64` all are `u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Incoming packets.
    pub inpkts: u64,
    /// Outgoing packets.
    pub outpkts: u64,
    /// Incoming bytes.
    pub inbytes: u64,
    /// Outgoing bytes.
    pub outbytes: u64,
    /// Current connection rate.
    pub cps: u64,
    /// Current incoming packet rate.
    pub inpps: u64,
    /// Current outgoing packet rate.
    pub outpps: u64,
    /// Current incoming byte rate.
    pub inbps: u64,
    /// Current outgoing byte rate.
    pub outbps: u64,
}

impl Stats {
    fn parse(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut s = Stats::default();
        for a in NlaIter::new(buf) {
            let a = a?;
            let v = match a.value.len() {
                4 => u64::from(nla::get_u32("stats counter", a.value)?),
                _ => nla::get_u64("stats counter", a.value)?,
            };
            match a.kind {
                IPVS_STATS_ATTR_CONNS => s.conns = v,
                IPVS_STATS_ATTR_INPKTS => s.inpkts = v,
                IPVS_STATS_ATTR_OUTPKTS => s.outpkts = v,
                IPVS_STATS_ATTR_INBYTES => s.inbytes = v,
                IPVS_STATS_ATTR_OUTBYTES => s.outbytes = v,
                IPVS_STATS_ATTR_CPS => s.cps = v,
                IPVS_STATS_ATTR_INPPS => s.inpps = v,
                IPVS_STATS_ATTR_OUTPPS => s.outpps = v,
                IPVS_STATS_ATTR_INBPS => s.inbps = v,
                IPVS_STATS_ATTR_OUTBPS => s.outbps = v,
                _ => {}
            }
        }
        Ok(s)
    }

    fn emit(&self, out: &mut Vec<u8>, wide: bool) {
        let narrow = |out: &mut Vec<u8>, kind, v: u64| {
            if wide {
                nla::put_u64(out, kind, v);
            } else {
                nla::put_u32(out, kind, v as u32);
            }
        };
        narrow(out, IPVS_STATS_ATTR_CONNS, self.conns);
        narrow(out, IPVS_STATS_ATTR_INPKTS, self.inpkts);
        narrow(out, IPVS_STATS_ATTR_OUTPKTS, self.outpkts);
        nla::put_u64(out, IPVS_STATS_ATTR_INBYTES, self.inbytes);
        nla::put_u64(out, IPVS_STATS_ATTR_OUTBYTES, self.outbytes);
        narrow(out, IPVS_STATS_ATTR_CPS, self.cps);
        narrow(out, IPVS_STATS_ATTR_INPPS, self.inpps);
        narrow(out, IPVS_STATS_ATTR_OUTPPS, self.outpps);
        narrow(out, IPVS_STATS_ATTR_INBPS, self.inbps);
        narrow(out, IPVS_STATS_ATTR_OUTBPS, self.outbps);
    }
}

/// `struct ip_vs_flags`: service flags and which of them a SET changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FlagsAttr {
    /// `IP_VS_SVC_F_*` bits.
    pub flags: u32,
    /// The bits of `flags` that apply (the kernel and ipvsadm send `!0`).
    pub mask: u32,
}

/// Attributes of a service (nested in `IPVS_CMD_ATTR_SERVICE`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceAttr {
    /// `IPVS_SVC_ATTR_AF`: `AF_INET` (2) or `AF_INET6` (10).
    AddressFamily(u16),
    /// `IPVS_SVC_ATTR_PROTOCOL`: an IP protocol number (6 TCP, 17 UDP, 132 SCTP).
    Protocol(u16),
    /// `IPVS_SVC_ATTR_ADDR`: `union nf_inet_addr` (16 bytes; IPv4 in the first 4), kept as sent.
    Address(Vec<u8>),
    /// `IPVS_SVC_ATTR_PORT` (network order on the wire; host order here).
    Port(u16),
    /// `IPVS_SVC_ATTR_FWMARK`.
    Fwmark(u32),
    /// `IPVS_SVC_ATTR_SCHED_NAME` (NUL-terminated on the wire).
    SchedName(String),
    /// `IPVS_SVC_ATTR_FLAGS`.
    Flags(FlagsAttr),
    /// `IPVS_SVC_ATTR_TIMEOUT`: persistence timeout in seconds.
    Timeout(u32),
    /// `IPVS_SVC_ATTR_NETMASK`: the raw `u32` (an IPv4 mask as `__be32` bytes, or an IPv6
    /// prefix length).
    Netmask(u32),
    /// `IPVS_SVC_ATTR_STATS`.
    Stats(Stats),
    /// `IPVS_SVC_ATTR_PE_NAME`: persistence engine (e.g. `"sip"`).
    PeName(String),
    /// `IPVS_SVC_ATTR_STATS64`.
    Stats64(Stats),
    /// Any other attribute, kept as found.
    Other(DefaultNla),
}

impl ServiceAttr {
    fn emit(&self, out: &mut Vec<u8>, nested_flag: bool) {
        match self {
            ServiceAttr::AddressFamily(v) => nla::put_u16(out, IPVS_SVC_ATTR_AF, *v),
            ServiceAttr::Protocol(v) => nla::put_u16(out, IPVS_SVC_ATTR_PROTOCOL, *v),
            ServiceAttr::Address(a) => nla::put(out, IPVS_SVC_ATTR_ADDR, a),
            ServiceAttr::Port(p) => nla::put_be16(out, IPVS_SVC_ATTR_PORT, *p),
            ServiceAttr::Fwmark(v) => nla::put_u32(out, IPVS_SVC_ATTR_FWMARK, *v),
            ServiceAttr::SchedName(s) => nla::put_str(out, IPVS_SVC_ATTR_SCHED_NAME, s),
            ServiceAttr::Flags(f) => {
                let mut v = [0u8; 8];
                v[..4].copy_from_slice(&f.flags.to_ne_bytes());
                v[4..].copy_from_slice(&f.mask.to_ne_bytes());
                nla::put(out, IPVS_SVC_ATTR_FLAGS, &v);
            }
            ServiceAttr::Timeout(v) => nla::put_u32(out, IPVS_SVC_ATTR_TIMEOUT, *v),
            ServiceAttr::Netmask(v) => nla::put_u32(out, IPVS_SVC_ATTR_NETMASK, *v),
            ServiceAttr::Stats(s) => {
                nla::put_nested(out, IPVS_SVC_ATTR_STATS, nested_flag, |o| s.emit(o, false))
            }
            ServiceAttr::PeName(s) => nla::put_str(out, IPVS_SVC_ATTR_PE_NAME, s),
            ServiceAttr::Stats64(s) => {
                nla::put_nested(out, IPVS_SVC_ATTR_STATS64, nested_flag, |o| s.emit(o, true))
            }
            ServiceAttr::Other(a) => a.emit(out),
        }
    }

    fn parse(a: &RawNla<'_>) -> Result<Self, DecodeError> {
        Ok(match a.kind {
            IPVS_SVC_ATTR_AF => {
                ServiceAttr::AddressFamily(nla::get_u16("IPVS_SVC_ATTR_AF", a.value)?)
            }
            IPVS_SVC_ATTR_PROTOCOL => {
                ServiceAttr::Protocol(nla::get_u16("IPVS_SVC_ATTR_PROTOCOL", a.value)?)
            }
            IPVS_SVC_ATTR_ADDR => {
                ServiceAttr::Address(address_bytes("IPVS_SVC_ATTR_ADDR", a.value)?)
            }
            IPVS_SVC_ATTR_PORT => ServiceAttr::Port(nla::get_be16("IPVS_SVC_ATTR_PORT", a.value)?),
            IPVS_SVC_ATTR_FWMARK => {
                ServiceAttr::Fwmark(nla::get_u32("IPVS_SVC_ATTR_FWMARK", a.value)?)
            }
            IPVS_SVC_ATTR_SCHED_NAME => {
                ServiceAttr::SchedName(nla::get_string("IPVS_SVC_ATTR_SCHED_NAME", a.value)?)
            }
            IPVS_SVC_ATTR_FLAGS => {
                let v = nla::fixed::<8>("IPVS_SVC_ATTR_FLAGS", a.value)?;
                ServiceAttr::Flags(FlagsAttr {
                    flags: u32::from_ne_bytes([v[0], v[1], v[2], v[3]]),
                    mask: u32::from_ne_bytes([v[4], v[5], v[6], v[7]]),
                })
            }
            IPVS_SVC_ATTR_TIMEOUT => {
                ServiceAttr::Timeout(nla::get_u32("IPVS_SVC_ATTR_TIMEOUT", a.value)?)
            }
            IPVS_SVC_ATTR_NETMASK => {
                ServiceAttr::Netmask(nla::get_u32("IPVS_SVC_ATTR_NETMASK", a.value)?)
            }
            IPVS_SVC_ATTR_STATS => ServiceAttr::Stats(Stats::parse(a.value)?),
            IPVS_SVC_ATTR_PE_NAME => {
                ServiceAttr::PeName(nla::get_string("IPVS_SVC_ATTR_PE_NAME", a.value)?)
            }
            IPVS_SVC_ATTR_STATS64 => ServiceAttr::Stats64(Stats::parse(a.value)?),
            _ => ServiceAttr::Other(DefaultNla::from_raw(a)),
        })
    }
}

/// Attributes of a destination (nested in `IPVS_CMD_ATTR_DEST`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DestAttr {
    /// `IPVS_DEST_ATTR_ADDR`: `union nf_inet_addr`, kept as sent.
    Address(Vec<u8>),
    /// `IPVS_DEST_ATTR_PORT` (network order on the wire; host order here).
    Port(u16),
    /// `IPVS_DEST_ATTR_FWD_METHOD`.
    FwdMethod(FwdMethod),
    /// `IPVS_DEST_ATTR_WEIGHT`.
    Weight(u32),
    /// `IPVS_DEST_ATTR_U_THRESH`: upper connection threshold (0 = none).
    UpperThreshold(u32),
    /// `IPVS_DEST_ATTR_L_THRESH`: lower connection threshold.
    LowerThreshold(u32),
    /// `IPVS_DEST_ATTR_ACTIVE_CONNS` (replies only).
    ActiveConns(u32),
    /// `IPVS_DEST_ATTR_INACT_CONNS` (replies only).
    InactiveConns(u32),
    /// `IPVS_DEST_ATTR_PERSIST_CONNS` (replies only).
    PersistentConns(u32),
    /// `IPVS_DEST_ATTR_STATS`.
    Stats(Stats),
    /// `IPVS_DEST_ATTR_ADDR_FAMILY`: the destination's own family (may differ from the service's
    /// for tunnels).
    AddressFamily(u16),
    /// `IPVS_DEST_ATTR_STATS64`.
    Stats64(Stats),
    /// `IPVS_DEST_ATTR_TUN_TYPE` (`IP_VS_CONN_F_TUNNEL_TYPE_*`: 0 IPIP, 1 GUE, 2 GRE).
    TunnelType(u8),
    /// `IPVS_DEST_ATTR_TUN_PORT` (network order on the wire; host order here).
    TunnelPort(u16),
    /// `IPVS_DEST_ATTR_TUN_FLAGS` (`IP_VS_TUNNEL_ENCAP_FLAG_*`).
    TunnelFlags(u16),
    /// Any other attribute, kept as found.
    Other(DefaultNla),
}

impl DestAttr {
    fn emit(&self, out: &mut Vec<u8>, nested_flag: bool) {
        match self {
            DestAttr::Address(a) => nla::put(out, IPVS_DEST_ATTR_ADDR, a),
            DestAttr::Port(p) => nla::put_be16(out, IPVS_DEST_ATTR_PORT, *p),
            DestAttr::FwdMethod(m) => nla::put_u32(out, IPVS_DEST_ATTR_FWD_METHOD, (*m).into()),
            DestAttr::Weight(v) => nla::put_u32(out, IPVS_DEST_ATTR_WEIGHT, *v),
            DestAttr::UpperThreshold(v) => nla::put_u32(out, IPVS_DEST_ATTR_U_THRESH, *v),
            DestAttr::LowerThreshold(v) => nla::put_u32(out, IPVS_DEST_ATTR_L_THRESH, *v),
            DestAttr::ActiveConns(v) => nla::put_u32(out, IPVS_DEST_ATTR_ACTIVE_CONNS, *v),
            DestAttr::InactiveConns(v) => nla::put_u32(out, IPVS_DEST_ATTR_INACT_CONNS, *v),
            DestAttr::PersistentConns(v) => nla::put_u32(out, IPVS_DEST_ATTR_PERSIST_CONNS, *v),
            DestAttr::Stats(s) => {
                nla::put_nested(out, IPVS_DEST_ATTR_STATS, nested_flag, |o| s.emit(o, false))
            }
            DestAttr::AddressFamily(v) => nla::put_u16(out, IPVS_DEST_ATTR_ADDR_FAMILY, *v),
            DestAttr::Stats64(s) => {
                nla::put_nested(out, IPVS_DEST_ATTR_STATS64, nested_flag, |o| {
                    s.emit(o, true)
                })
            }
            DestAttr::TunnelType(v) => nla::put_u8(out, IPVS_DEST_ATTR_TUN_TYPE, *v),
            DestAttr::TunnelPort(v) => nla::put_be16(out, IPVS_DEST_ATTR_TUN_PORT, *v),
            DestAttr::TunnelFlags(v) => nla::put_u16(out, IPVS_DEST_ATTR_TUN_FLAGS, *v),
            DestAttr::Other(a) => a.emit(out),
        }
    }

    fn parse(a: &RawNla<'_>) -> Result<Self, DecodeError> {
        Ok(match a.kind {
            IPVS_DEST_ATTR_ADDR => {
                DestAttr::Address(address_bytes("IPVS_DEST_ATTR_ADDR", a.value)?)
            }
            IPVS_DEST_ATTR_PORT => DestAttr::Port(nla::get_be16("IPVS_DEST_ATTR_PORT", a.value)?),
            IPVS_DEST_ATTR_FWD_METHOD => {
                DestAttr::FwdMethod(nla::get_u32("IPVS_DEST_ATTR_FWD_METHOD", a.value)?.into())
            }
            IPVS_DEST_ATTR_WEIGHT => {
                DestAttr::Weight(nla::get_u32("IPVS_DEST_ATTR_WEIGHT", a.value)?)
            }
            IPVS_DEST_ATTR_U_THRESH => {
                DestAttr::UpperThreshold(nla::get_u32("IPVS_DEST_ATTR_U_THRESH", a.value)?)
            }
            IPVS_DEST_ATTR_L_THRESH => {
                DestAttr::LowerThreshold(nla::get_u32("IPVS_DEST_ATTR_L_THRESH", a.value)?)
            }
            IPVS_DEST_ATTR_ACTIVE_CONNS => {
                DestAttr::ActiveConns(nla::get_u32("IPVS_DEST_ATTR_ACTIVE_CONNS", a.value)?)
            }
            IPVS_DEST_ATTR_INACT_CONNS => {
                DestAttr::InactiveConns(nla::get_u32("IPVS_DEST_ATTR_INACT_CONNS", a.value)?)
            }
            IPVS_DEST_ATTR_PERSIST_CONNS => {
                DestAttr::PersistentConns(nla::get_u32("IPVS_DEST_ATTR_PERSIST_CONNS", a.value)?)
            }
            IPVS_DEST_ATTR_STATS => DestAttr::Stats(Stats::parse(a.value)?),
            IPVS_DEST_ATTR_ADDR_FAMILY => {
                DestAttr::AddressFamily(nla::get_u16("IPVS_DEST_ATTR_ADDR_FAMILY", a.value)?)
            }
            IPVS_DEST_ATTR_STATS64 => DestAttr::Stats64(Stats::parse(a.value)?),
            IPVS_DEST_ATTR_TUN_TYPE => {
                DestAttr::TunnelType(nla::get_u8("IPVS_DEST_ATTR_TUN_TYPE", a.value)?)
            }
            IPVS_DEST_ATTR_TUN_PORT => {
                DestAttr::TunnelPort(nla::get_be16("IPVS_DEST_ATTR_TUN_PORT", a.value)?)
            }
            IPVS_DEST_ATTR_TUN_FLAGS => {
                DestAttr::TunnelFlags(nla::get_u16("IPVS_DEST_ATTR_TUN_FLAGS", a.value)?)
            }
            _ => DestAttr::Other(DefaultNla::from_raw(a)),
        })
    }
}

/// An address attribute: at most 16 bytes (the kernel's policy), kept as sent.
fn address_bytes(what: &'static str, value: &[u8]) -> Result<Vec<u8>, DecodeError> {
    if value.len() > 16 {
        return Err(DecodeError::InvalidLength {
            what,
            expected: 16,
            found: value.len(),
        });
    }
    Ok(value.to_vec())
}

/// Top-level attributes of an IPVS message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IpvsAttr {
    /// `IPVS_CMD_ATTR_SERVICE`.
    Service(Vec<ServiceAttr>),
    /// `IPVS_CMD_ATTR_DEST`.
    Dest(Vec<DestAttr>),
    /// `IPVS_CMD_ATTR_DAEMON`, its attributes kept raw.
    Daemon(Vec<DefaultNla>),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP` (seconds).
    TimeoutTcp(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN` (seconds).
    TimeoutTcpFin(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_UDP` (seconds).
    TimeoutUdp(u32),
    /// `IPVS_INFO_ATTR_VERSION` (only in `SetInfo`, the reply to `GetInfo`): e.g. `0x010201`.
    InfoVersion(u32),
    /// `IPVS_INFO_ATTR_CONN_TAB_SIZE` (only in `SetInfo`).
    InfoConnTabSize(u32),
    /// Any other attribute, kept as found.
    Other(DefaultNla),
}

impl IpvsAttr {
    fn emit(&self, out: &mut Vec<u8>, nested_flag: bool) {
        match self {
            IpvsAttr::Service(attrs) => {
                nla::put_nested(out, IPVS_CMD_ATTR_SERVICE, nested_flag, |o| {
                    for a in attrs {
                        a.emit(o, nested_flag);
                    }
                })
            }
            IpvsAttr::Dest(attrs) => nla::put_nested(out, IPVS_CMD_ATTR_DEST, nested_flag, |o| {
                for a in attrs {
                    a.emit(o, nested_flag);
                }
            }),
            IpvsAttr::Daemon(attrs) => {
                nla::put_nested(out, IPVS_CMD_ATTR_DAEMON, nested_flag, |o| {
                    for a in attrs {
                        a.emit(o);
                    }
                })
            }
            IpvsAttr::TimeoutTcp(v) => nla::put_u32(out, IPVS_CMD_ATTR_TIMEOUT_TCP, *v),
            IpvsAttr::TimeoutTcpFin(v) => nla::put_u32(out, IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, *v),
            IpvsAttr::TimeoutUdp(v) => nla::put_u32(out, IPVS_CMD_ATTR_TIMEOUT_UDP, *v),
            IpvsAttr::InfoVersion(v) => nla::put_u32(out, IPVS_INFO_ATTR_VERSION, *v),
            IpvsAttr::InfoConnTabSize(v) => nla::put_u32(out, IPVS_INFO_ATTR_CONN_TAB_SIZE, *v),
            IpvsAttr::Other(a) => a.emit(out),
        }
    }

    fn parse(cmd: IpvsCmd, a: &RawNla<'_>) -> Result<Self, DecodeError> {
        if cmd == IpvsCmd::SetInfo {
            return Ok(match a.kind {
                IPVS_INFO_ATTR_VERSION => {
                    IpvsAttr::InfoVersion(nla::get_u32("IPVS_INFO_ATTR_VERSION", a.value)?)
                }
                IPVS_INFO_ATTR_CONN_TAB_SIZE => IpvsAttr::InfoConnTabSize(nla::get_u32(
                    "IPVS_INFO_ATTR_CONN_TAB_SIZE",
                    a.value,
                )?),
                _ => IpvsAttr::Other(DefaultNla::from_raw(a)),
            });
        }
        Ok(match a.kind {
            IPVS_CMD_ATTR_SERVICE => IpvsAttr::Service(
                NlaIter::new(a.value)
                    .map(|n| n.and_then(|n| ServiceAttr::parse(&n)))
                    .collect::<Result<_, _>>()?,
            ),
            IPVS_CMD_ATTR_DEST => IpvsAttr::Dest(
                NlaIter::new(a.value)
                    .map(|n| n.and_then(|n| DestAttr::parse(&n)))
                    .collect::<Result<_, _>>()?,
            ),
            IPVS_CMD_ATTR_DAEMON => IpvsAttr::Daemon(nla::parse_default_list(a.value)?),
            IPVS_CMD_ATTR_TIMEOUT_TCP => {
                IpvsAttr::TimeoutTcp(nla::get_u32("IPVS_CMD_ATTR_TIMEOUT_TCP", a.value)?)
            }
            IPVS_CMD_ATTR_TIMEOUT_TCP_FIN => {
                IpvsAttr::TimeoutTcpFin(nla::get_u32("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN", a.value)?)
            }
            IPVS_CMD_ATTR_TIMEOUT_UDP => {
                IpvsAttr::TimeoutUdp(nla::get_u32("IPVS_CMD_ATTR_TIMEOUT_UDP", a.value)?)
            }
            _ => IpvsAttr::Other(DefaultNla::from_raw(a)),
        })
    }
}

/// An IPVS generic netlink message: `genlmsghdr` and the attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsMessage {
    /// The command.
    pub cmd: IpvsCmd,
    /// `genlmsghdr.version` ([`IPVS_GENL_VERSION`]).
    pub version: u8,
    /// The attributes, in order.
    pub attrs: Vec<IpvsAttr>,
    /// Whether nested attributes carry `NLA_F_NESTED` when emitted. libnl (ipvsadm) sets it on
    /// requests and the kernel accepts either; the kernel's IPVS replies do not set it. Parsing
    /// records what the bytes had.
    pub nested_flag: bool,
}

impl IpvsMessage {
    /// A request-style message (version 1, nested attributes flagged like libnl does).
    pub fn new(cmd: IpvsCmd, attrs: Vec<IpvsAttr>) -> Self {
        IpvsMessage {
            cmd,
            version: IPVS_GENL_VERSION,
            attrs,
            nested_flag: true,
        }
    }

    /// The attributes of the first `IPVS_CMD_ATTR_SERVICE`.
    pub fn service_attrs(&self) -> Option<&[ServiceAttr]> {
        self.attrs.iter().find_map(|a| match a {
            IpvsAttr::Service(s) => Some(s.as_slice()),
            _ => None,
        })
    }

    /// The attributes of the first `IPVS_CMD_ATTR_DEST`.
    pub fn dest_attrs(&self) -> Option<&[DestAttr]> {
        self.attrs.iter().find_map(|a| match a {
            IpvsAttr::Dest(d) => Some(d.as_slice()),
            _ => None,
        })
    }
}

impl FamilyMessage for IpvsMessage {
    fn emit(&self, out: &mut Vec<u8>) {
        genl::emit_header(out, self.cmd.into(), self.version);
        for a in &self.attrs {
            a.emit(out, self.nested_flag);
        }
    }

    fn parse(_message_type: u16, payload: &[u8]) -> Result<Self, DecodeError> {
        let (cmd, version, attrs_buf) = genl::parse_header(payload)?;
        let cmd = IpvsCmd::from(cmd);
        let attrs = NlaIter::new(attrs_buf)
            .map(|a| a.and_then(|a| IpvsAttr::parse(cmd, &a)))
            .collect::<Result<_, _>>()?;
        Ok(IpvsMessage {
            cmd,
            version,
            attrs,
            nested_flag: genl::nested_flag_of(attrs_buf, |k| {
                cmd != IpvsCmd::SetInfo
                    && matches!(
                        k,
                        IPVS_CMD_ATTR_SERVICE | IPVS_CMD_ATTR_DEST | IPVS_CMD_ATTR_DAEMON
                    )
            }),
        })
    }
}
