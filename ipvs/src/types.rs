//! Typed IPVS values (`Service`, `Destination`) and their conversion to and from attributes.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::DecodeError;
use crate::message::{DestAttr, FlagsAttr, FwdMethod, ServiceAttr, Stats};

/// `AF_INET`.
pub const AF_INET: u16 = 2;
/// `AF_INET6`.
pub const AF_INET6: u16 = 10;

/// An address family IPVS supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4 (`AF_INET`).
    Ipv4,
    /// IPv6 (`AF_INET6`).
    Ipv6,
}

impl Family {
    /// The `AF_*` number.
    pub fn af(self) -> u16 {
        match self {
            Family::Ipv4 => AF_INET,
            Family::Ipv6 => AF_INET6,
        }
    }

    /// From an `AF_*` number.
    pub fn from_af(what: &'static str, af: u16) -> Result<Self, DecodeError> {
        match af {
            AF_INET => Ok(Family::Ipv4),
            AF_INET6 => Ok(Family::Ipv6),
            other => Err(DecodeError::InvalidValue {
                what,
                value: u64::from(other),
            }),
        }
    }

    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }
}

/// The IP protocol of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// SCTP (132).
    Sctp,
    /// Another protocol number.
    Other(u16),
}

impl From<u16> for Protocol {
    fn from(v: u16) -> Self {
        match v {
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            132 => Protocol::Sctp,
            other => Protocol::Other(other),
        }
    }
}

impl From<Protocol> for u16 {
    fn from(p: Protocol) -> u16 {
        match p {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
            Protocol::Other(v) => v,
        }
    }
}

/// Service flags (`IP_VS_SVC_F_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    /// Persistent port (set by `ipvsadm -p`).
    pub const PERSISTENT: ServiceFlags = ServiceFlags(0x0001);
    /// Hashed entry (the kernel sets it on every service it reports).
    pub const HASHED: ServiceFlags = ServiceFlags(0x0002);
    /// One-packet scheduling (`-o`).
    pub const ONEPACKET: ServiceFlags = ServiceFlags(0x0004);
    /// Scheduler flag 1 (`sh-fallback` for sh, …).
    pub const SCHED1: ServiceFlags = ServiceFlags(0x0008);
    /// Scheduler flag 2 (`sh-port` for sh, …).
    pub const SCHED2: ServiceFlags = ServiceFlags(0x0010);
    /// Scheduler flag 3.
    pub const SCHED3: ServiceFlags = ServiceFlags(0x0020);

    /// Whether all bits of `other` are set.
    pub fn contains(self, other: ServiceFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for ServiceFlags {
    type Output = ServiceFlags;
    fn bitor(self, rhs: ServiceFlags) -> ServiceFlags {
        ServiceFlags(self.0 | rhs.0)
    }
}

/// What identifies a virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceKey {
    /// A protocol, virtual address and port (`ipvsadm -t|-u|--sctp-service ADDR:PORT`).
    Addr {
        /// The protocol.
        protocol: Protocol,
        /// The virtual IP; its family is the service's.
        address: IpAddr,
        /// The port.
        port: u16,
    },
    /// A firewall mark (`ipvsadm -f MARK`).
    Fwmark {
        /// The family of the packets it matches.
        family: Family,
        /// The mark.
        mark: u32,
    },
}

impl ServiceKey {
    /// The service's address family.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { address, .. } => Family::of(address),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }

    /// The identifying attributes only (AF, then PROTOCOL/ADDR/PORT or FWMARK), as
    /// ipvsadm sends for GET_DEST.
    pub fn to_attrs(&self) -> Vec<ServiceAttr> {
        let mut attrs = alloc::vec![ServiceAttr::AddressFamily(self.family().af())];
        match self {
            ServiceKey::Addr {
                protocol,
                address,
                port,
            } => {
                attrs.push(ServiceAttr::Protocol((*protocol).into()));
                attrs.push(ServiceAttr::Address(inet_addr_bytes(address).to_vec()));
                attrs.push(ServiceAttr::Port(*port));
            }
            ServiceKey::Fwmark { mark, .. } => attrs.push(ServiceAttr::Fwmark(*mark)),
        }
        attrs
    }

    /// Reads the key from service attributes.
    pub fn from_attrs(attrs: &[ServiceAttr]) -> Result<Self, DecodeError> {
        let mut af = None;
        let mut protocol = None;
        let mut address = None;
        let mut port = None;
        let mut fwmark = None;
        for a in attrs {
            match a {
                ServiceAttr::AddressFamily(v) => af = Some(*v),
                ServiceAttr::Protocol(v) => protocol = Some(*v),
                ServiceAttr::Address(v) => address = Some(v.as_slice()),
                ServiceAttr::Port(v) => port = Some(*v),
                ServiceAttr::Fwmark(v) => fwmark = Some(*v),
                _ => {}
            }
        }
        let family = Family::from_af(
            "IPVS_SVC_ATTR_AF",
            af.ok_or(DecodeError::MissingAttribute {
                what: "IPVS_SVC_ATTR_AF",
            })?,
        )?;
        match fwmark {
            Some(mark) if mark != 0 => Ok(ServiceKey::Fwmark { family, mark }),
            _ => Ok(ServiceKey::Addr {
                protocol: protocol
                    .ok_or(DecodeError::MissingAttribute {
                        what: "IPVS_SVC_ATTR_PROTOCOL",
                    })?
                    .into(),
                address: ip_from_bytes(
                    "IPVS_SVC_ATTR_ADDR",
                    family,
                    address.ok_or(DecodeError::MissingAttribute {
                        what: "IPVS_SVC_ATTR_ADDR",
                    })?,
                )?,
                port: port.ok_or(DecodeError::MissingAttribute {
                    what: "IPVS_SVC_ATTR_PORT",
                })?,
            }),
        }
    }
}

/// A virtual service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// What identifies it.
    pub key: ServiceKey,
    /// The scheduler (`"rr"`, `"wrr"`, `"lc"`, `"sh"`, `"mh"`, …).
    pub scheduler: String,
    /// Flags; the kernel reports [`ServiceFlags::HASHED`] on every service.
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (0 = not persistent).
    pub timeout: u32,
    /// Persistence netmask, raw: for IPv4 a mask whose `__be32` bytes read as a native `u32`
    /// (`0xffff_ffff` = /32), for IPv6 a prefix length (128).
    pub netmask: u32,
    /// Persistence engine, if any.
    pub pe_name: Option<String>,
    /// Counters (replies only).
    pub stats: Option<Stats>,
    /// 64-bit counters (replies only).
    pub stats64: Option<Stats>,
}

impl Service {
    /// A service with ipvsadm's defaults: no flags, no persistence, a full netmask.
    pub fn new(key: ServiceKey, scheduler: &str) -> Self {
        let netmask = match key.family() {
            Family::Ipv4 => u32::MAX,
            Family::Ipv6 => 128,
        };
        Service {
            key,
            scheduler: scheduler.into(),
            flags: ServiceFlags::default(),
            timeout: 0,
            netmask,
            pe_name: None,
            stats: None,
            stats64: None,
        }
    }

    /// A TCP service on `address:port`.
    pub fn tcp(address: IpAddr, port: u16, scheduler: &str) -> Self {
        Service::new(
            ServiceKey::Addr {
                protocol: Protocol::Tcp,
                address,
                port,
            },
            scheduler,
        )
    }

    /// A UDP service on `address:port`.
    pub fn udp(address: IpAddr, port: u16, scheduler: &str) -> Self {
        Service::new(
            ServiceKey::Addr {
                protocol: Protocol::Udp,
                address,
                port,
            },
            scheduler,
        )
    }

    /// Makes it persistent for `timeout` seconds (like `ipvsadm -p TIMEOUT`).
    pub fn persistent(mut self, timeout: u32) -> Self {
        self.flags = self.flags | ServiceFlags::PERSISTENT;
        self.timeout = timeout;
        self
    }

    /// All attributes, in the order ipvsadm and the kernel use: AF, PROTOCOL, ADDR, PORT (or
    /// FWMARK), SCHED_NAME, PE_NAME, FLAGS (mask `!0`), TIMEOUT, NETMASK, STATS, STATS64.
    pub fn to_attrs(&self) -> Vec<ServiceAttr> {
        let mut attrs = self.key.to_attrs();
        attrs.push(ServiceAttr::SchedName(self.scheduler.clone()));
        if let Some(pe) = &self.pe_name {
            attrs.push(ServiceAttr::PeName(pe.clone()));
        }
        attrs.push(ServiceAttr::Flags(FlagsAttr {
            flags: self.flags.0,
            mask: u32::MAX,
        }));
        attrs.push(ServiceAttr::Timeout(self.timeout));
        attrs.push(ServiceAttr::Netmask(self.netmask));
        if let Some(s) = self.stats {
            attrs.push(ServiceAttr::Stats(s));
        }
        if let Some(s) = self.stats64 {
            attrs.push(ServiceAttr::Stats64(s));
        }
        attrs
    }

    /// Reads a service (e.g. from a GET_SERVICE reply); needs the key and the scheduler.
    pub fn from_attrs(attrs: &[ServiceAttr]) -> Result<Self, DecodeError> {
        let key = ServiceKey::from_attrs(attrs)?;
        let mut svc = Service::new(key, "");
        let mut scheduler = None;
        for a in attrs {
            match a {
                ServiceAttr::SchedName(s) => scheduler = Some(s.clone()),
                ServiceAttr::Flags(f) => svc.flags = ServiceFlags(f.flags & f.mask),
                ServiceAttr::Timeout(v) => svc.timeout = *v,
                ServiceAttr::Netmask(v) => svc.netmask = *v,
                ServiceAttr::PeName(s) => svc.pe_name = Some(s.clone()),
                ServiceAttr::Stats(s) => svc.stats = Some(*s),
                ServiceAttr::Stats64(s) => svc.stats64 = Some(*s),
                _ => {}
            }
        }
        svc.scheduler = scheduler.ok_or(DecodeError::MissingAttribute {
            what: "IPVS_SVC_ATTR_SCHED_NAME",
        })?;
        Ok(svc)
    }
}

/// A destination (real server) of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// Its address; its family may differ from the service's only for tunnels.
    pub address: IpAddr,
    /// Its port.
    pub port: u16,
    /// How packets reach it.
    pub fwd_method: FwdMethod,
    /// Its weight (0 = no new connections).
    pub weight: u32,
    /// Upper connection threshold (0 = none).
    pub upper_threshold: u32,
    /// Lower connection threshold.
    pub lower_threshold: u32,
    /// Tunnel type (`IP_VS_CONN_F_TUNNEL_TYPE_*`), for [`FwdMethod::Tunnel`].
    pub tunnel_type: u8,
    /// Tunnel port (GUE).
    pub tunnel_port: u16,
    /// Tunnel flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`).
    pub tunnel_flags: u16,
    /// Active connections (replies only).
    pub active_conns: Option<u32>,
    /// Inactive connections (replies only).
    pub inactive_conns: Option<u32>,
    /// Persistent connection templates (replies only).
    pub persistent_conns: Option<u32>,
    /// Counters (replies only).
    pub stats: Option<Stats>,
    /// 64-bit counters (replies only).
    pub stats64: Option<Stats>,
}

impl Destination {
    /// A destination with ipvsadm's defaults for everything but the forwarding method.
    pub fn new(address: IpAddr, port: u16, fwd_method: FwdMethod, weight: u32) -> Self {
        Destination {
            address,
            port,
            fwd_method,
            weight,
            upper_threshold: 0,
            lower_threshold: 0,
            tunnel_type: 0,
            tunnel_port: 0,
            tunnel_flags: 0,
            active_conns: None,
            inactive_conns: None,
            persistent_conns: None,
            stats: None,
            stats64: None,
        }
    }

    /// A NAT destination (`ipvsadm -m`), as kube-proxy programs.
    pub fn masq(address: IpAddr, port: u16, weight: u32) -> Self {
        Destination::new(address, port, FwdMethod::Masquerade, weight)
    }

    /// The attributes a request carries, in ipvsadm's order: ADDR_FAMILY, ADDR, PORT,
    /// FWD_METHOD, WEIGHT, TUN_TYPE, TUN_PORT, TUN_FLAGS, U_THRESH, L_THRESH (the counters and
    /// stats are not sent).
    pub fn to_attrs(&self) -> Vec<DestAttr> {
        alloc::vec![
            DestAttr::AddressFamily(Family::of(&self.address).af()),
            DestAttr::Address(inet_addr_bytes(&self.address).to_vec()),
            DestAttr::Port(self.port),
            DestAttr::FwdMethod(self.fwd_method),
            DestAttr::Weight(self.weight),
            DestAttr::TunnelType(self.tunnel_type),
            DestAttr::TunnelPort(self.tunnel_port),
            DestAttr::TunnelFlags(self.tunnel_flags),
            DestAttr::UpperThreshold(self.upper_threshold),
            DestAttr::LowerThreshold(self.lower_threshold),
        ]
    }

    /// The identifying attributes only (family, address, port), enough for DEL_DEST.
    pub fn key_attrs(address: IpAddr, port: u16) -> Vec<DestAttr> {
        alloc::vec![
            DestAttr::AddressFamily(Family::of(&address).af()),
            DestAttr::Address(inet_addr_bytes(&address).to_vec()),
            DestAttr::Port(port),
        ]
    }

    /// Reads a destination (e.g. from a GET_DEST reply). Its family comes from
    /// `IPVS_DEST_ATTR_ADDR_FAMILY`, else from `service_family` (kernels before 4.x).
    pub fn from_attrs(attrs: &[DestAttr], service_family: Family) -> Result<Self, DecodeError> {
        let mut family = service_family;
        let mut address = None;
        let mut port = None;
        for a in attrs {
            match a {
                DestAttr::AddressFamily(af) => {
                    family = Family::from_af("IPVS_DEST_ATTR_ADDR_FAMILY", *af)?
                }
                DestAttr::Address(v) => address = Some(v.as_slice()),
                DestAttr::Port(p) => port = Some(*p),
                _ => {}
            }
        }
        let address = ip_from_bytes(
            "IPVS_DEST_ATTR_ADDR",
            family,
            address.ok_or(DecodeError::MissingAttribute {
                what: "IPVS_DEST_ATTR_ADDR",
            })?,
        )?;
        let port = port.ok_or(DecodeError::MissingAttribute {
            what: "IPVS_DEST_ATTR_PORT",
        })?;
        let mut d = Destination::new(address, port, FwdMethod::Masquerade, 0);
        for a in attrs {
            match a {
                DestAttr::FwdMethod(m) => d.fwd_method = *m,
                DestAttr::Weight(v) => d.weight = *v,
                DestAttr::UpperThreshold(v) => d.upper_threshold = *v,
                DestAttr::LowerThreshold(v) => d.lower_threshold = *v,
                DestAttr::ActiveConns(v) => d.active_conns = Some(*v),
                DestAttr::InactiveConns(v) => d.inactive_conns = Some(*v),
                DestAttr::PersistentConns(v) => d.persistent_conns = Some(*v),
                DestAttr::Stats(s) => d.stats = Some(*s),
                DestAttr::Stats64(s) => d.stats64 = Some(*s),
                DestAttr::TunnelType(v) => d.tunnel_type = *v,
                DestAttr::TunnelPort(v) => d.tunnel_port = *v,
                DestAttr::TunnelFlags(v) => d.tunnel_flags = *v,
                _ => {}
            }
        }
        Ok(d)
    }
}

/// `union nf_inet_addr` bytes: IPv4 in the first 4 of 16.
pub fn inet_addr_bytes(addr: &IpAddr) -> [u8; 16] {
    match addr {
        IpAddr::V4(a) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&a.octets());
            b
        }
        IpAddr::V6(a) => a.octets(),
    }
}

/// An address from `union nf_inet_addr` bytes (4 or more for IPv4, 16 for IPv6).
pub fn ip_from_bytes(
    what: &'static str,
    family: Family,
    bytes: &[u8],
) -> Result<IpAddr, DecodeError> {
    match family {
        Family::Ipv4 => match bytes.get(..4) {
            Some(&[a, b, c, d]) => Ok(IpAddr::V4(Ipv4Addr::new(a, b, c, d))),
            _ => Err(DecodeError::InvalidLength {
                what,
                expected: 4,
                found: bytes.len(),
            }),
        },
        Family::Ipv6 => {
            let octets: [u8; 16] = bytes.try_into().map_err(|_| DecodeError::InvalidLength {
                what,
                expected: 16,
                found: bytes.len(),
            })?;
            Ok(IpAddr::V6(Ipv6Addr::from(octets)))
        }
    }
}
