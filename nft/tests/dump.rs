//! Reading the kernel's view of a table back ([`svcroute_nft::dump`]), held to the kernel's
//! replies to `nft list table ip svcroute` (`tests/vectors/list_table.txt`, captured after the
//! other steps of `capture.sh` built the table): the GET requests are nft's, and every chain,
//! set, rule and element the steps made reads back equal to what the step sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use svcroute_ipvs::MessageIter;
use svcroute_ipvs::netlink::{NetlinkMessage, NetlinkPayload, parse_messages};
use svcroute_nft::build::{self, ChainHook, NF_ACCEPT, SetElem};
use svcroute_nft::dump::{self, Chain, Rule, Set, SetShape};
use svcroute_nft::msg::{Cmd, Kind, NFPROTO_IPV4};
use svcroute_nft::{Attr, NftMessage};

mod common;

fn messages(name: &str, request: bool) -> Vec<(u16, NftMessage)> {
    let mut out = Vec::new();
    for r in common::load("vectors", name) {
        if r.request != request {
            continue;
        }
        let msgs: Vec<NetlinkMessage<NftMessage>> = parse_messages(&r.bytes).unwrap();
        for m in msgs {
            if let NetlinkPayload::Inner(p) = m.payload {
                out.push((m.header.flags, p));
            }
        }
    }
    out
}

/// The kernel's replies in `list_table`.
fn replies() -> Vec<NftMessage> {
    messages("list_table", false)
        .into_iter()
        .map(|(_, m)| m)
        .collect()
}

/// The one nf_tables request of the batch (BEGIN, request, END) that step `name` sent.
fn sent(name: &str) -> NftMessage {
    for r in common::load("vectors", name)
        .into_iter()
        .filter(|r| r.request)
    {
        let msgs: Vec<NetlinkMessage<NftMessage>> = parse_messages(&r.bytes).unwrap();
        let inner: Vec<NftMessage> = msgs
            .into_iter()
            .filter_map(|m| match m.payload {
                NetlinkPayload::Inner(p) => Some(p),
                _ => None,
            })
            .collect();
        if let [b, m, _] = &inner[..]
            && b.kind == Kind::BatchBegin
        {
            return m.clone();
        }
    }
    panic!("{name}: no batch of one request")
}

#[test]
fn get_requests_are_nfts() {
    let nft: Vec<(u16, NftMessage)> = messages("list_table", true)
        .into_iter()
        .filter(|(_, m)| matches!(m.kind, Kind::Nft(_)))
        .collect();
    let find = |cmd: Cmd, n: usize| {
        nft.iter()
            .filter(|(_, m)| m.kind == Kind::Nft(cmd))
            .nth(n)
            .cloned()
            .unwrap_or_else(|| panic!("nft sent no {cmd:?} #{n}"))
    };
    let ours = [
        (
            dump::get_table(NFPROTO_IPV4, "svcroute"),
            find(Cmd::GetTable, 0),
        ),
        (
            dump::dump_sets(NFPROTO_IPV4, "svcroute"),
            find(Cmd::GetSet, 0),
        ),
        (
            dump::dump_rules(NFPROTO_IPV4, "svcroute"),
            find(Cmd::GetRule, 0),
        ),
        (
            dump::dump_elements(NFPROTO_IPV4, "svcroute", "cluster-ip"),
            find(Cmd::GetSetElem, 0),
        ),
    ];
    for (req, (flags, msg)) in ours {
        assert_eq!(req.msg, msg, "{:?}", msg.kind);
        assert_eq!(req.flags, flags, "{:?}: flags", msg.kind);
    }
    // nft dumps every family's chains (AF_UNSPEC); the agent asks for one family's.
    let (flags, chains) = find(Cmd::GetChain, 0);
    let ours = dump::dump_chains(NFPROTO_IPV4);
    assert_eq!((ours.flags, ours.msg.attrs), (flags, chains.attrs));
}

#[test]
fn chains_read_back() {
    let chains: BTreeMap<String, Chain> = replies()
        .iter()
        .filter_map(Chain::read)
        .map(|c| (c.name.clone(), c))
        .collect();
    let names: Vec<&str> = chains.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "filter-output",
            "mark-for-masquerade",
            "nat-prerouting",
            "postrouting",
            "services"
        ]
    );
    assert!(chains.values().all(|c| c.table == "svcroute"));
    assert_eq!(
        chains["nat-prerouting"].hook,
        Some(ChainHook {
            kind: "nat".into(),
            hooknum: 0,
            priority: -100,
            policy: NF_ACCEPT,
        })
    );
    assert_eq!(
        chains["filter-output"].hook,
        Some(ChainHook {
            kind: "filter".into(),
            hooknum: 3,
            priority: -110,
            policy: NF_ACCEPT,
        })
    );
    assert_eq!(chains["services"].hook, None);
    // What was sent reads the same way.
    for step in ["chain_add_nat", "chain_add_filter", "chain_add"] {
        let c = Chain::read(&sent(step)).unwrap();
        assert_eq!(chains[&c.name], c, "{step}");
    }
}

#[test]
fn sets_read_back_as_created() {
    let sets: BTreeMap<String, Set> = replies()
        .iter()
        .filter_map(Set::read)
        .map(|s| (s.name.clone(), s))
        .collect();
    assert_eq!(sets.len(), 3);
    for step in ["set_add_concat", "set_add_addr", "set_add_interval"] {
        let s = Set::read(&sent(step)).unwrap();
        assert_eq!(sets[&s.name].shape, s.shape, "{step}");
    }
    assert_eq!(sets["source-cidr"].shape.concat, [4, 1, 2, 4]);
    assert_eq!(
        sets["ipvs-ips"].shape,
        SetShape {
            flags: 0,
            key_type: 7,
            key_len: 4,
            data: None,
            concat: Vec::new()
        }
    );
}

/// Each chain's rules read back, in order, as the requests that added them (canonical form:
/// the kernel reports lookups, bitwise ops and counters in its own way).
#[test]
fn rules_read_back_as_sent() {
    let mut dumped: BTreeMap<String, Vec<Vec<Attr>>> = BTreeMap::new();
    for r in replies().iter().filter_map(Rule::read) {
        dumped.entry(r.chain).or_default().push(r.exprs);
    }
    let mut want: BTreeMap<String, Vec<Vec<Attr>>> = BTreeMap::new();
    for step in [
        "rule_lookup_jump",
        "rule_mark_or",
        "rule_mark_test",
        "rule_ct_reject",
        "rule_fib",
        "rule_masq",
        "rule_jump",
    ] {
        let r = Rule::read(&sent(step)).unwrap();
        want.entry(r.chain).or_default().push(r.exprs);
    }
    assert_eq!(dumped, want);
    // The kernel's own form does differ from the request's (else this would test nothing).
    let raw = |msgs: &[NftMessage]| -> Vec<Attr> {
        msgs.iter()
            .filter(|m| m.kind == Kind::Nft(Cmd::NewRule))
            .flat_map(|m| m.attrs.iter().filter(|a| a.id() == 4).cloned())
            .collect()
    };
    let kernel = raw(&replies());
    let nft = raw(&[sent("rule_lookup_jump")]);
    assert!(!kernel.contains(&nft[0]));
}

#[test]
fn elements_read_back() {
    let mut sets: BTreeMap<String, Vec<SetElem>> = BTreeMap::new();
    for m in replies() {
        if let Some((table, set, elems)) = dump::read_elements(&m) {
            assert_eq!(table, "svcroute");
            sets.entry(set.to_owned()).or_default().extend(elems);
        }
    }
    // The byte-level reader sees the same elements in the same replies.
    let mut lean: BTreeMap<String, Vec<SetElem>> = BTreeMap::new();
    for r in common::load("vectors", "list_table")
        .into_iter()
        .filter(|r| !r.request)
    {
        for m in MessageIter::new(&r.bytes) {
            let m = m.unwrap();
            if u16::from_ne_bytes([m[4], m[5]]) != Kind::Nft(Cmd::NewSetElem).message_type() {
                continue;
            }
            let mut elems = Vec::new();
            let set = dump::for_each_element(&m[16..], |(k, end)| {
                elems.push(SetElem {
                    key: k.to_vec(),
                    key_end: end.map(<[u8]>::to_vec),
                })
            })
            .unwrap()
            .unwrap();
            lean.entry(set.to_owned()).or_default().extend(elems);
        }
    }
    assert_eq!(lean, sets);
    let key = |a: [u8; 4], p: u8, port: u16| build::concat(&[&a, &[p], &port.to_be_bytes()]);
    let one = |key| SetElem { key, key_end: None };
    assert_eq!(sets["cluster-ip"], [one(key([10, 96, 0, 10], 17, 53))]);
    assert_eq!(sets["ipvs-ips"], [one(vec![10, 96, 0, 10])]);
    let lb = key([198, 51, 100, 9], 6, 443);
    assert_eq!(
        sets["source-cidr"],
        [SetElem {
            key: build::concat(&[&lb, &[172, 18, 0, 0]]),
            key_end: Some(build::concat(&[&lb, &[172, 18, 0, 255]])),
        }]
    );
}
