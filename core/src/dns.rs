//! Cluster DNS answers, as the Kubernetes DNS specification gives them and CoreDNS serves them.
//!
//! - A ClusterIP Service: `A`/`AAAA` for `svc.ns.svc.zone` to its cluster IPs, and for each named
//!   port `SRV` at `_port._proto.svc.ns.svc.zone` (priority 0, weight 100, target the Service).
//! - A headless Service: one `A`/`AAAA` per ready endpoint, a record per endpoint hostname
//!   (`host.svc.ns.svc.zone`), and `SRV` per named port per endpoint; an endpoint without a
//!   hostname is named by its dashed address, as CoreDNS does (`10-244-0-2.svc.ns.svc.zone`).
//!   CoreDNS weighs the SRV targets equally: `floor(100 / n)`. Every ready endpoint is also
//!   answered under its own name (hostname or dashed address), so SRV targets resolve.
//! - A ClusterIP Service whose Pods have a hostname and the Service as subdomain: CoreDNS
//!   answers `host.svc.ns.svc.zone` too. (It also answers dashed-address names under ClusterIP
//!   Services; those are left out of the listing.)
//! - An ExternalName Service: a `CNAME` to the external name; none when the name is an IP
//!   address (CoreDNS answers nothing for it).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

use serde::Serialize;

use crate::cluster::{Cluster, ResolvedService};
use crate::model::ServiceType;

/// A DNS record type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum RecordType {
    /// IPv4 address.
    A,
    /// IPv6 address.
    AAAA,
    /// Service location: `priority weight port target`.
    SRV,
    /// Alias.
    CNAME,
}

/// One record. Names are written without the trailing dot.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DnsRecord {
    /// Owner name.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: RecordType,
    /// Data: an address, `priority weight port target`, or the alias target.
    pub value: String,
}

/// The records of every Service of the cluster, sorted.
pub fn records(cluster: &Cluster) -> Vec<DnsRecord> {
    let mut out = Vec::new();
    for svc in &cluster.services {
        service_records(svc, &cluster.config.cluster_domain, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

fn addr_record(name: String, ip: &IpAddr) -> DnsRecord {
    DnsRecord {
        name,
        kind: if ip.is_ipv4() {
            RecordType::A
        } else {
            RecordType::AAAA
        },
        value: format!("{ip}"),
    }
}

/// `10-244-0-2` / `fd00--1`: how CoreDNS names an endpoint without a hostname (a trailing
/// `-` of an IPv6 name gets a `0`, so the label is valid).
pub fn dashed(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}").replace('.', "-"),
        IpAddr::V6(v6) => {
            let mut s = format!("{v6}").replace(':', "-");
            if s.ends_with('-') {
                s.push('0');
            }
            if s.starts_with('-') {
                s.insert(0, '0');
            }
            s
        }
    }
}

/// The records of one Service.
pub fn service_records(svc: &ResolvedService, zone: &str, out: &mut Vec<DnsRecord>) {
    let s = &svc.service;
    let base = format!("{}.{}.svc.{zone}", s.meta.id.name, s.meta.id.namespace);
    match s.kind {
        ServiceType::ExternalName => {
            if let Some(target) = s
                .external_name
                .as_ref()
                .filter(|t| t.parse::<IpAddr>().is_err())
            {
                out.push(DnsRecord {
                    name: base,
                    kind: RecordType::CNAME,
                    value: target.clone(),
                });
            }
        }
        _ if s.headless => {
            let ready: Vec<_> = svc
                .backends
                .iter()
                .filter(|b| b.conditions.is_ready())
                .collect();
            for b in &ready {
                out.push(addr_record(base.clone(), &b.address));
                let host = b.hostname.clone().unwrap_or_else(|| dashed(&b.address));
                out.push(addr_record(format!("{host}.{base}"), &b.address));
            }
            for (pi, p) in s.ports.iter().enumerate() {
                if p.name.is_empty() {
                    continue;
                }
                let targets: Vec<_> = ready
                    .iter()
                    .filter_map(|b| Some((b, b.ports[pi]?)))
                    .collect();
                let weight = if targets.is_empty() {
                    0
                } else {
                    100 / targets.len()
                };
                for (b, port) in targets {
                    let host = b.hostname.clone().unwrap_or_else(|| dashed(&b.address));
                    out.push(srv(p, &base, format!("0 {weight} {port} {host}.{base}")));
                }
            }
        }
        _ => {
            for ip in &svc.cluster_ips {
                out.push(addr_record(base.clone(), ip));
            }
            for b in svc.backends.iter().filter(|b| b.conditions.is_ready()) {
                if let Some(h) = &b.hostname {
                    out.push(addr_record(format!("{h}.{base}"), &b.address));
                }
            }
            for p in &s.ports {
                if p.name.is_empty() {
                    continue;
                }
                out.push(srv(p, &base, format!("0 100 {} {base}", p.port)));
            }
        }
    }
}

/// An SRV record for a named port: `_name._proto.base`.
fn srv(p: &crate::model::ServicePort, base: &str, value: String) -> DnsRecord {
    DnsRecord {
        name: format!(
            "_{}._{}.{base}",
            p.name,
            p.protocol.as_str().to_ascii_lowercase()
        ),
        kind: RecordType::SRV,
        value,
    }
}

/// What a name resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Addresses (A/AAAA), and the fully qualified name that matched.
    Addresses(String, Vec<IpAddr>),
    /// An alias to a name outside the cluster.
    Cname(String, String),
}

/// Resolves `name` as a Pod in `namespace` would: with the search path
/// `ns.svc.zone svc.zone zone` and `ndots:5`, or as an absolute name when it ends with a dot.
pub fn resolve(records: &[DnsRecord], name: &str, namespace: &str, zone: &str) -> Option<Answer> {
    let name = name.to_ascii_lowercase();
    let mut candidates: Vec<String> = Vec::new();
    if let Some(abs) = name.strip_suffix('.') {
        candidates.push(abs.into());
    } else {
        let dots = name.matches('.').count();
        if dots >= 5 {
            candidates.push(name.clone());
        }
        for suffix in [
            format!("{namespace}.svc.{zone}"),
            format!("svc.{zone}"),
            zone.into(),
        ] {
            candidates.push(format!("{name}.{suffix}"));
        }
        if dots < 5 {
            candidates.push(name.clone());
        }
    }
    for fqdn in candidates {
        if let Some(c) = records
            .iter()
            .find(|r| r.name == fqdn && r.kind == RecordType::CNAME)
        {
            return Some(Answer::Cname(fqdn, c.value.clone()));
        }
        let addrs: Vec<IpAddr> = records
            .iter()
            .filter(|r| r.name == fqdn && matches!(r.kind, RecordType::A | RecordType::AAAA))
            .filter_map(|r| r.value.parse().ok())
            .collect();
        if !addrs.is_empty() {
            return Some(Answer::Addresses(fqdn, addrs));
        }
    }
    None
}
