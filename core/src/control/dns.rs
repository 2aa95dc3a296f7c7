//! Cluster DNS answers, as the Kubernetes DNS specification gives them and CoreDNS's
//! `plugin/kubernetes` serves them.
//!
//! - `dns-version.zone TXT "1.1.0"`: the specification's schema version.
//! - A ClusterIP Service: `A`/`AAAA` for `svc.ns.svc.zone` to its cluster IPs, a `PTR` from each
//!   cluster IP back to that name, and `SRV` records: at the bare name one per distinct Service
//!   port, at `_port._proto.svc.ns.svc.zone` one per named port, target the Service. CoreDNS
//!   makes one answer per (port, cluster IP) and weighs them `floor(100 / answers)` before
//!   dropping repeated (target, port) pairs, so a dual-stack Service's weights are halved.
//! - A headless Service: one `A`/`AAAA` per ready endpoint, a record per endpoint hostname
//!   (`host.svc.ns.svc.zone`) with its `PTR`, and `SRV` records built from the EndpointSlices'
//!   ports (not the Service's: a headless Service may have none), at the bare name and at
//!   `_port._proto` for named ports, weighed the same way; an endpoint without a hostname is
//!   named by its dashed address, as CoreDNS does (`10-244-0-2.svc.ns.svc.zone`). Every ready
//!   endpoint is also answered under its own name (hostname or dashed address), so SRV targets
//!   resolve.
//! - A ClusterIP Service whose Pods have a hostname and the Service as subdomain: CoreDNS
//!   answers `host.svc.ns.svc.zone` (and its `PTR`) too. (It also answers dashed-address names,
//!   and their `PTR`s, under ClusterIP Services; those are left out of the listing.)
//! - An ExternalName Service: a `CNAME` to the external name; none when the name is an IP
//!   address (CoreDNS answers nothing for it).

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write as _;
use core::net::IpAddr;

use serde::Serialize;

use crate::cluster::{Cluster, ResolvedService};
use crate::model::{EndpointPort, Protocol, ServicePort, ServiceType};

/// The version of the Kubernetes DNS specification CoreDNS implements.
pub const DNS_SCHEMA_VERSION: &str = "1.1.0";

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
    /// Reverse lookup: an address's name.
    PTR,
    /// Text (the schema version at `dns-version.zone`).
    TXT,
}

impl RecordType {
    /// The type's mnemonic (`A`, `SRV`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::AAAA => "AAAA",
            RecordType::SRV => "SRV",
            RecordType::CNAME => "CNAME",
            RecordType::PTR => "PTR",
            RecordType::TXT => "TXT",
        }
    }
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
    let zone = &cluster.config.cluster_domain;
    // Kubernetes DNS specification 2.2: the schema version.
    out.push(DnsRecord {
        name: format!("dns-version.{zone}"),
        kind: RecordType::TXT,
        value: format!("\"{DNS_SCHEMA_VERSION}\""),
    });
    for svc in &cluster.services {
        service_records(svc, zone, &mut out);
    }
    crate::sort::sort(&mut out);
    out.dedup();
    out
}

fn addr_record(name: String, ip: &IpAddr) -> DnsRecord {
    let mut value = String::with_capacity(15);
    push_ip(&mut value, ip);
    DnsRecord {
        name,
        kind: if ip.is_ipv4() {
            RecordType::A
        } else {
            RecordType::AAAA
        },
        value,
    }
}

/// The parts one after another, in one allocation (a cluster's records are tens of thousands of
/// names: `format!` was most of their cost).
fn concat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// Appends `v` in decimal.
fn push_num(s: &mut String, v: u64) {
    s.push_str(crate::render::json::uint_digits(v, &mut [0; 20]));
}

/// Appends `ip` as `Display` writes it (an IPv4 address's octets in decimal, without
/// `core::fmt`).
fn push_ip(s: &mut String, ip: &IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, o) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                push_num(s, u64::from(o));
            }
        }
        IpAddr::V6(v6) => {
            let _ = write!(s, "{v6}");
        }
    }
}

/// `10-244-0-2` / `fd00--1`: how CoreDNS names an endpoint without a hostname (a trailing
/// `-` of an IPv6 name gets a `0`, so the label is valid).
pub fn dashed(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(_) => {
            let mut s = String::with_capacity(15);
            push_ip(&mut s, ip);
            s.replace('.', "-")
        }
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
    let base = concat(&[&s.meta.id.name, ".", &s.meta.id.namespace, ".svc.", zone]);
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
                let name = concat(&[&host, ".", &base]);
                out.push(addr_record(name.clone(), &b.address));
                out.push(ptr_record(&b.address, name));
            }
            // CoreDNS builds a headless Service's SRV answers from its endpoints' ports (one
            // answer per ready address and slice port; a slice without ports stands for one
            // sentinel answer that counts in the weights but is not returned).
            let answers = |filter: &dyn Fn(&EndpointPort) -> bool| -> Vec<(String, i32)> {
                let mut v = Vec::new();
                for b in &ready {
                    let host = b.hostname.clone().unwrap_or_else(|| dashed(&b.address));
                    if b.slice_ports.is_empty() {
                        v.push((concat(&[&host, ".", &base]), -1));
                    }
                    for p in b.slice_ports.iter().filter(|p| filter(p)) {
                        v.push((concat(&[&host, ".", &base]), i32::from(p.port)));
                    }
                }
                v
            };
            srv_answers(out, &base, &answers(&|_| true));
            let mut named: Vec<(&str, Protocol)> = ready
                .iter()
                .flat_map(|b| b.slice_ports.iter())
                .filter(|p| !p.name.is_empty())
                .map(|p| (p.name.as_str(), p.protocol))
                .collect();
            crate::sort::sort(&mut named);
            named.dedup();
            for (name, protocol) in named {
                let v: Vec<(String, i32)> = answers(&|p| p.name == name && p.protocol == protocol)
                    .into_iter()
                    .filter(|(_, port)| *port >= 0)
                    .collect();
                srv_answers(out, &srv_name(name, protocol, &base), &v);
            }
        }
        _ => {
            for ip in &svc.cluster_ips {
                out.push(addr_record(base.clone(), ip));
                out.push(ptr_record(ip, base.clone()));
            }
            for b in svc.backends.iter().filter(|b| b.conditions.is_ready()) {
                if let Some(h) = &b.hostname {
                    let name = concat(&[h, ".", &base]);
                    out.push(addr_record(name.clone(), &b.address));
                    out.push(ptr_record(&b.address, name));
                }
            }
            // CoreDNS answers one SRV per (Service port, cluster IP), all at priority 0, and
            // drops repeated (target, port) pairs after weighing: a dual-stack Service's
            // answers carry half the weight.
            let per_port = |p: &ServicePort| -> Vec<(String, i32)> {
                svc.cluster_ips
                    .iter()
                    .map(|_| (base.clone(), i32::from(p.port)))
                    .collect()
            };
            let all: Vec<(String, i32)> = s.ports.iter().flat_map(per_port).collect();
            srv_answers(out, &base, &all);
            for p in s.ports.iter().filter(|p| !p.name.is_empty()) {
                srv_answers(out, &srv_name(&p.name, p.protocol, &base), &per_port(p));
            }
        }
    }
}

/// `_name._proto.base`.
fn srv_name(name: &str, protocol: Protocol, base: &str) -> String {
    let proto = match protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    };
    concat(&["_", name, "._", proto, ".", base])
}

/// CoreDNS's `plugin.SRV`: every answer at priority 0 weighs `floor(100 / n)` over all `n`
/// answers (sentinel ones with port -1 included, then skipped), and a repeated (target,
/// port) is dropped.
fn srv_answers(out: &mut Vec<DnsRecord>, name: &str, answers: &[(String, i32)]) {
    if answers.is_empty() {
        return;
    }
    let weight = 100 / answers.len();
    // The repeats: each (target, port) but its first (no set type of its own in the wasm
    // build). A few answers are compared with the ones before them (no allocation); more are
    // found by a stable sort of their places.
    let mut sorted_repeats = Vec::new();
    if answers.len() > 8 {
        let mut order: Vec<usize> = (0..answers.len()).collect();
        crate::sort::sort_by(&mut order, |&a, &b| answers[a].cmp(&answers[b]));
        sorted_repeats = vec![false; answers.len()];
        for w in order.windows(2) {
            if answers[w[0]] == answers[w[1]] {
                sorted_repeats[w[1]] = true;
            }
        }
    }
    for (i, (target, port)) in answers.iter().enumerate() {
        let repeat = match sorted_repeats.get(i) {
            Some(&r) => r,
            None => answers[..i].contains(&answers[i]),
        };
        if *port < 0 || repeat {
            continue;
        }
        out.push(DnsRecord {
            name: name.into(),
            kind: RecordType::SRV,
            value: {
                let mut v = String::with_capacity(target.len() + 12);
                v.push_str("0 ");
                push_num(&mut v, weight as u64);
                v.push(' ');
                // Ports here are the answers' (0 to 65535): negative ones were skipped.
                push_num(&mut v, u64::try_from(*port).unwrap_or_default());
                v.push(' ');
                v.push_str(target);
                v
            },
        });
    }
}

/// The reverse name of an address: `d.c.b.a.in-addr.arpa`, or IPv6 nibbles under `ip6.arpa`.
pub fn reverse_name(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let mut s = String::with_capacity(29);
            for o in v4.octets().into_iter().rev() {
                push_num(&mut s, u64::from(o));
                s.push('.');
            }
            s.push_str("in-addr.arpa");
            s
        }
        IpAddr::V6(v6) => {
            let mut s = String::new();
            for byte in v6.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", byte & 0xf, byte >> 4));
            }
            s.push_str("ip6.arpa");
            s
        }
    }
}

fn ptr_record(ip: &IpAddr, target: String) -> DnsRecord {
    DnsRecord {
        name: reverse_name(ip),
        kind: RecordType::PTR,
        value: target,
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

#[cfg(test)]
mod tests {
    use alloc::collections::BTreeSet;
    use alloc::string::String;
    use alloc::vec::Vec;

    use proptest::prelude::*;

    use super::srv_answers;

    proptest! {
        /// Addresses and reverse names are written as `Display` and `format!` wrote them.
        #[test]
        fn names_as_format_wrote_them(a in any::<u32>(), b in any::<u128>()) {
            let v4 = core::net::IpAddr::V4(a.into());
            let mut s = String::new();
            super::push_ip(&mut s, &v4);
            prop_assert_eq!(&s, &alloc::format!("{v4}"));
            let [w, x, y, z] = a.to_be_bytes();
            prop_assert_eq!(super::reverse_name(&v4), alloc::format!("{z}.{y}.{x}.{w}.in-addr.arpa"));
            prop_assert_eq!(super::dashed(&v4), alloc::format!("{v4}").replace('.', "-"));
            let v6 = core::net::IpAddr::V6(b.into());
            let mut s = String::new();
            super::push_ip(&mut s, &v6);
            prop_assert_eq!(s, alloc::format!("{v6}"));
        }
    }

    proptest! {
        /// The repeats are found as a set of (target, port) finds them, for a few answers
        /// (compared one by one) and for many (sorted).
        #[test]
        fn srv_answers_drop_repeats_as_a_set_does(
            answers in proptest::collection::vec((0u8..4, -1i32..3), 1..40)
        ) {
            let answers: Vec<(String, i32)> = answers
                .into_iter()
                .map(|(t, p)| (alloc::format!("t{t}"), p))
                .collect();
            let mut ours = Vec::new();
            srv_answers(&mut ours, "n", &answers);
            let mut seen = BTreeSet::new();
            let weight = 100 / answers.len();
            let want: Vec<String> = answers
                .iter()
                .filter(|(t, p)| *p >= 0 && seen.insert((t.as_str(), *p)))
                .map(|(t, p)| alloc::format!("0 {weight} {p} {t}"))
                .collect();
            prop_assert_eq!(ours.into_iter().map(|r| r.value).collect::<Vec<_>>(), want);
        }
    }
}
