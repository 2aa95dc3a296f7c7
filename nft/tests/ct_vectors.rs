//! The ctnetlink codec ([`svcroute_nft::ct`]) held to bytes captured from Debian's
//! `conntrack` 1.4.7 (`tests/ct_vectors/*.txt`, written by `cargo xtask ct-capture`: strace of
//! `conntrack -D` in a network namespace, the command in each file's first line). `-D` dumps
//! the family's table, then deletes each entry that matches its filter: the dump request
//! built here is conntrack's, the entries it got parse into their tuples, and the delete built
//! from the matching entry is byte for byte the one conntrack sent. Every record parses and
//! re-emits to its own bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;

use svcroute_ipvs::netlink::{NetlinkMessage, NetlinkPayload, emit_messages, parse_messages};
use svcroute_nft::ct::{self, CtMessage, Entry, Tuple};
use svcroute_nft::msg::{NFPROTO_IPV4, NFPROTO_IPV6};

mod common;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn messages(bytes: &[u8]) -> Vec<NetlinkMessage<CtMessage>> {
    parse_messages(bytes).unwrap()
}

fn seq(bytes: &[u8]) -> u32 {
    u32::from_ne_bytes(bytes[8..12].try_into().unwrap())
}

/// The entries the kernel sent in answer to the dump.
fn entries(name: &str) -> Vec<Entry> {
    common::load("ct_vectors", name)
        .iter()
        .filter(|r| !r.request)
        .flat_map(|r| messages(&r.bytes))
        .filter_map(|m| match m.payload {
            NetlinkPayload::Inner(c) => Entry::from_message(&c),
            _ => None,
        })
        .collect()
}

#[test]
fn every_record_round_trips() {
    let names = common::names("ct_vectors");
    assert_eq!(names.len(), 3, "{names:?}");
    for name in names {
        for r in common::load("ct_vectors", &name) {
            let parsed = messages(&r.bytes);
            assert_eq!(emit_messages(&parsed), r.bytes, "{name}");
        }
    }
}

/// Checks one `conntrack -D` capture: the dump request, the two entries of the table, and the
/// one delete it sent (for the entry answered by `gone`), when `gone` is given.
fn check(name: &str, family: u8, client: &str, vip: &str, gone: Option<&str>, live: &str) {
    let records = common::load("ct_vectors", name);
    let requests: Vec<&Vec<u8>> = records
        .iter()
        .filter(|r| r.request)
        .map(|r| &r.bytes)
        .collect();
    assert_eq!(requests.len(), 1 + usize::from(gone.is_some()), "{name}");
    let dump = requests[0];
    assert_eq!(ct::dump_request(family, seq(dump)), *dump, "{name}: dump");

    let mut found = entries(name);
    found.sort_by_key(|e| e.orig.src_port); // the kernel dumps in hash order
    assert_eq!(found.len(), 2, "{name}: the table's two entries");
    let tuple = |src: &str, dst: &str, sport: u16, dport: u16| Tuple {
        src: ip(src),
        dst: ip(dst),
        protocol: 17,
        src_port: sport,
        dst_port: dport,
    };
    for (e, (endpoint, port)) in found
        .iter()
        .zip([(gone.unwrap_or(live), 40000), (live, 40001)])
    {
        assert_eq!(e.family, family);
        assert_eq!(e.orig, tuple(client, vip, port, 53), "{name}");
        assert_eq!(e.reply, tuple(endpoint, client, 53, port), "{name}");
        assert_eq!(e.zone, 0);
        assert!(e.id.is_some());
    }
    if let Some(gone) = gone {
        let entry = found.iter().find(|e| e.reply.src == ip(gone)).unwrap();
        let sent = requests[1];
        assert_eq!(
            ct::delete_request(entry, seq(sent), true),
            *sent,
            "{name}: the delete conntrack sent"
        );
    }
}

/// `conntrack -D -p udp --orig-dst 10.96.0.10 --orig-port-dst 53 --reply-src 10.244.1.5
/// --reply-port-src 53`: kube-proxy's `filterForIPPortNAT` for an endpoint that stopped serving.
#[test]
fn delete_udp4() {
    check(
        "ct_delete_udp4",
        NFPROTO_IPV4,
        "192.0.2.7",
        "10.96.0.10",
        Some("10.244.1.5"),
        "10.244.1.6",
    );
}

/// The same in the IPv6 table.
#[test]
fn delete_udp6() {
    check(
        "ct_delete_udp6",
        NFPROTO_IPV6,
        "2001:db8::7",
        "fd00:10:96::a",
        Some("fd00:10:244::5"),
        "fd00:10:244::6",
    );
}

/// A filter that matches nothing: the dump, and no delete (`conntrack` exits 1).
#[test]
fn delete_none() {
    // The udp4 step already deleted the entry answered by 10.244.1.5: one entry is left.
    let found = entries("ct_delete_none");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].reply.src, ip("10.244.1.6"));
    let requests: Vec<_> = common::load("ct_vectors", "ct_delete_none")
        .into_iter()
        .filter(|r| r.request)
        .collect();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        ct::dump_request(NFPROTO_IPV4, seq(&requests[0].bytes)),
        requests[0].bytes
    );
}

/// A delete never goes without the original tuple (without one the kernel flushes the table).
#[test]
fn delete_always_carries_the_tuple() {
    for e in entries("ct_delete_udp4") {
        let d = e.delete();
        assert_eq!(d.attrs.first().map(|a| a.kind()), Some(ct::CTA_TUPLE_ORIG));
        assert!(
            d.attrs
                .iter()
                .all(|a| a.kind() != ct::CTA_ID && a.kind() != ct::CTA_USE)
        );
    }
}
