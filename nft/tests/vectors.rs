//! The codec held to bytes captured from Debian's `nft` (`tests/vectors/*.txt`, written by
//! `cargo xtask nft-capture`: strace of nft 1.0.6 in a network namespace, the command in each
//! file's first line). For each request nft sent, the value built with [`svcroute_nft::build`]
//! emits exactly nft's batch, and parsing nft's bytes gives that value; every record, request
//! or kernel reply, parses and re-emits to its own bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use svcroute_ipvs::netlink::{NetlinkMessage, NetlinkPayload, emit_messages, parse_messages};
use svcroute_nft::build::{self, ChainHook, NF_ACCEPT, SetElem, SetSpec};
use svcroute_nft::expr::{self, Expr, Verdict};
use svcroute_nft::msg::{Cmd, Kind, NFPROTO_IPV4, NFPROTO_IPV6};
use svcroute_nft::{Attr, NftMessage, Value};

mod common;
use common::Record;

fn load(name: &str) -> Vec<Record> {
    common::load("vectors", name)
}

fn names() -> Vec<String> {
    common::names("vectors")
}

/// The batch nft sent in vector `name` (the request that starts with BATCH_BEGIN).
fn sent_batch(name: &str) -> Vec<u8> {
    load(name)
        .into_iter()
        .find(|r| r.request && r.bytes.get(4..6) == Some(&[0x10, 0x00]))
        .expect("a batch")
        .bytes
}

/// Checks emit == bytes and parse == value for a one-request batch.
fn check(name: &str, request: build::Request) {
    let bytes = sent_batch(name);
    assert_eq!(
        build::batch(std::slice::from_ref(&request), 0, false),
        bytes,
        "{name}: emitted bytes differ from nft's"
    );
    let parsed: Vec<NetlinkMessage<NftMessage>> = parse_messages(&bytes).unwrap();
    assert_eq!(parsed.len(), 3, "{name}: begin, request, end");
    assert_eq!(
        parsed[0].payload,
        NetlinkPayload::Inner(NftMessage::batch(true))
    );
    assert_eq!(
        parsed[1].payload,
        NetlinkPayload::Inner(request.msg.clone()),
        "{name}"
    );
    assert_eq!(parsed[1].header.flags, request.flags, "{name}: flags");
    assert_eq!(
        parsed[2].payload,
        NetlinkPayload::Inner(NftMessage::batch(false))
    );
}

#[test]
fn every_record_round_trips() {
    let mut n = 0;
    for name in names() {
        for r in load(&name) {
            let msgs: Vec<NetlinkMessage<NftMessage>> =
                parse_messages(&r.bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            let again = emit_messages(&msgs);
            assert_eq!(
                again.len(),
                r.bytes.len(),
                "{name}: re-emitted length differs"
            );
            assert_eq!(
                parse_messages::<NftMessage>(&again).unwrap(),
                msgs,
                "{name}"
            );
            // Padding is not kept: nft leaves it uninitialised after the name in its GET
            // GET requests naming one table (list_set, list_table).
            let get = r.request && msgs.first().is_some_and(|m| {
                matches!(&m.payload, NetlinkPayload::Inner(NftMessage { kind: Kind::Nft(c), .. })
                        if [1, 4, 7, 10, 13, 16, 19, 21, 23, 25].contains(&c.number()))
            });
            if !get {
                assert_eq!(again, r.bytes, "{name}: re-emitted bytes differ");
            }
            n += 1;
        }
    }
    assert!(n > 50, "only {n} records");
}

#[test]
fn tables() {
    check("table_add", build::new_table(NFPROTO_IPV4, "svcroute"));
    check("table6_add", build::new_table(NFPROTO_IPV6, "svcroute"));
    check("table_del", build::del_table(NFPROTO_IPV4, "svcroute"));
}

#[test]
fn chains() {
    check(
        "chain_add",
        build::new_chain(NFPROTO_IPV4, "svcroute", "services", None),
    );
    let nat = ChainHook {
        kind: "nat".into(),
        hooknum: 0,
        priority: -100,
        policy: NF_ACCEPT,
    };
    check(
        "chain_add_nat",
        build::new_chain(NFPROTO_IPV4, "svcroute", "nat-prerouting", Some(&nat)),
    );
    let out = ChainHook {
        kind: "filter".into(),
        hooknum: 3,
        priority: -110,
        policy: NF_ACCEPT,
    };
    check(
        "chain_add_filter",
        build::new_chain(NFPROTO_IPV4, "svcroute", "filter-output", Some(&out)),
    );
}

fn userdata(name: &str) -> Option<Vec<u8>> {
    let bytes = sent_batch(name);
    let parsed: Vec<NetlinkMessage<NftMessage>> = parse_messages(&bytes).unwrap();
    let NetlinkPayload::Inner(m) = &parsed[1].payload else {
        panic!("a message")
    };
    m.attrs
        .iter()
        .find(|a| a.id() == 13)
        .map(|a| match &a.value {
            Value::Bytes(b) => b.clone(),
            other => panic!("userdata {other:?}"),
        })
}

#[test]
fn sets() {
    // ipv4_addr (7) . inet_proto (12) . inet_service (13), 6 bits each.
    let concat_type = (7 << 12) | (12 << 6) | 13;
    check(
        "set_add_concat",
        build::new_set(
            NFPROTO_IPV4,
            "svcroute",
            "cluster-ip",
            &SetSpec {
                flags: 0,
                key_type: concat_type,
                key_len: 12,
                id: 1,
                concat: vec![],
                userdata: userdata("set_add_concat"),
            },
        ),
    );
    check(
        "set_add_addr",
        build::new_set(
            NFPROTO_IPV4,
            "svcroute",
            "ipvs-ips",
            &SetSpec {
                flags: 0,
                key_type: 7,
                key_len: 4,
                id: 1,
                concat: vec![],
                userdata: userdata("set_add_addr"),
            },
        ),
    );
    check(
        "set_add_interval",
        build::new_set(
            NFPROTO_IPV4,
            "svcroute",
            "source-cidr",
            &SetSpec {
                flags: build::SET_INTERVAL | build::SET_CONCAT,
                key_type: (concat_type << 6) | 7,
                key_len: 16,
                id: 1,
                concat: vec![4, 1, 2, 4],
                userdata: userdata("set_add_interval"),
            },
        ),
    );
    check(
        "set_del",
        build::del_set(NFPROTO_IPV4, "svcroute", "source-cidr"),
    );
}

fn key(addr: [u8; 4], proto: u8, port: u16) -> Vec<u8> {
    build::concat(&[&addr, &[proto], &port.to_be_bytes()])
}

#[test]
fn elements() {
    let dns = SetElem {
        key: key([10, 96, 0, 10], 17, 53),
        key_end: None,
    };
    let web = SetElem {
        key: key([10, 96, 0, 20], 6, 80),
        key_end: None,
    };
    check(
        "elem_add",
        build::new_elements(
            NFPROTO_IPV4,
            "svcroute",
            "cluster-ip",
            Some(1),
            &[dns, web.clone()],
        ),
    );
    check(
        "elem_add_addr",
        build::new_elements(
            NFPROTO_IPV4,
            "svcroute",
            "ipvs-ips",
            Some(2),
            &[SetElem {
                key: vec![10, 96, 0, 10],
                key_end: None,
            }],
        ),
    );
    let lb = key([198, 51, 100, 9], 6, 443);
    let range = SetElem {
        key: build::concat(&[&lb, &[172, 18, 0, 0]]),
        key_end: Some(build::concat(&[&lb, &[172, 18, 0, 255]])),
    };
    check(
        "elem_add_interval",
        build::new_elements(NFPROTO_IPV4, "svcroute", "source-cidr", Some(3), &[range]),
    );
    check(
        "elem_del",
        build::del_elements(NFPROTO_IPV4, "svcroute", "cluster-ip", &[web]),
    );
}

/// `ip daddr . meta l4proto . th dport` into NFT_REG_1.
fn dst_dst() -> Vec<Expr> {
    vec![
        Expr::Payload {
            dreg: expr::REG_1,
            base: expr::PAYLOAD_NETWORK,
            offset: 16,
            len: 4,
        },
        Expr::Meta {
            key: expr::META_L4PROTO,
            dreg: expr::REG32_00 + 1,
        },
        Expr::Payload {
            dreg: expr::REG32_00 + 2,
            base: expr::PAYLOAD_TRANSPORT,
            offset: 2,
            len: 2,
        },
    ]
}

fn lookup(set: &str, set_id: u32) -> Expr {
    Expr::Lookup {
        set: set.into(),
        sreg: expr::REG_1,
        set_id: Some(set_id),
        flags: None,
    }
}

fn mark_load() -> Expr {
    Expr::Meta {
        key: expr::META_MARK,
        dreg: expr::REG_1,
    }
}

#[test]
fn rules() {
    let mut e = dst_dst();
    e.push(lookup("cluster-ip", 1));
    e.push(Expr::Payload {
        dreg: expr::REG_1,
        base: expr::PAYLOAD_NETWORK,
        offset: 12,
        len: 2,
    });
    e.push(Expr::Cmp {
        sreg: expr::REG_1,
        op: expr::CMP_NEQ,
        data: vec![10, 244],
    });
    e.push(Expr::Verdict(Verdict::Jump("mark-for-masquerade".into())));
    check(
        "rule_lookup_jump",
        build::new_rule(NFPROTO_IPV4, "svcroute", "services", &e),
    );

    let mark = 0x4000u32.to_ne_bytes().to_vec();
    let e = vec![
        mark_load(),
        Expr::Bitwise {
            sreg: expr::REG_1,
            dreg: expr::REG_1,
            op: Some(0),
            len: 4,
            mask: (!0x4000u32).to_ne_bytes().to_vec(),
            xor: mark.clone(),
        },
        Expr::MetaSet {
            key: expr::META_MARK,
            sreg: expr::REG_1,
        },
    ];
    check(
        "rule_mark_or",
        build::new_rule(NFPROTO_IPV4, "svcroute", "mark-for-masquerade", &e),
    );

    let e = vec![
        mark_load(),
        Expr::Bitwise {
            sreg: expr::REG_1,
            dreg: expr::REG_1,
            op: Some(0),
            len: 4,
            mask: mark.clone(),
            xor: vec![0; 4],
        },
        Expr::Cmp {
            sreg: expr::REG_1,
            op: expr::CMP_NEQ,
            data: mark,
        },
        Expr::Verdict(Verdict::Return),
    ];
    check(
        "rule_mark_test",
        build::new_rule(NFPROTO_IPV4, "svcroute", "services", &e),
    );

    let e = vec![
        Expr::Ct {
            key: expr::CT_STATE,
            dreg: expr::REG_1,
        },
        Expr::Bitwise {
            sreg: expr::REG_1,
            dreg: expr::REG_1,
            op: None,
            len: 4,
            mask: expr::CT_STATE_NEW.to_ne_bytes().to_vec(),
            xor: vec![0; 4],
        },
        Expr::Cmp {
            sreg: expr::REG_1,
            op: expr::CMP_NEQ,
            data: vec![0; 4],
        },
        Expr::Payload {
            dreg: expr::REG_1,
            base: expr::PAYLOAD_NETWORK,
            offset: 16,
            len: 4,
        },
        lookup("ipvs-ips", 2),
        Expr::Reject {
            kind: expr::REJECT_ICMP_UNREACH,
            code: expr::ICMP_PORT_UNREACH,
        },
    ];
    check(
        "rule_ct_reject",
        build::new_rule(NFPROTO_IPV4, "svcroute", "services", &e),
    );

    let e = vec![
        Expr::Fib {
            flags: expr::FIB_F_DADDR,
            result: expr::FIB_RESULT_ADDRTYPE,
            dreg: expr::REG_1,
        },
        Expr::Cmp {
            sreg: expr::REG_1,
            op: expr::CMP_EQ,
            data: expr::RTN_LOCAL.to_ne_bytes().to_vec(),
        },
        Expr::Verdict(Verdict::Accept),
    ];
    check(
        "rule_fib",
        build::new_rule(NFPROTO_IPV4, "svcroute", "services", &e),
    );

    let e = vec![
        Expr::Counter,
        Expr::Masq {
            flags: Some(expr::NAT_RANGE_PROTO_RANDOM_FULLY),
        },
    ];
    check(
        "rule_masq",
        build::new_rule(NFPROTO_IPV4, "svcroute", "postrouting", &e),
    );

    let e = vec![Expr::Verdict(Verdict::Jump("mark-for-masquerade".into()))];
    check(
        "rule_jump",
        build::new_rule(NFPROTO_IPV4, "svcroute", "nat-prerouting", &e),
    );

    // The handle nft looked up in the same namespace (see capture.sh).
    let parsed: Vec<NetlinkMessage<NftMessage>> = parse_messages(&sent_batch("rule_del")).unwrap();
    let NetlinkPayload::Inner(m) = &parsed[1].payload else {
        panic!("a message")
    };
    let handle = m
        .attrs
        .iter()
        .find_map(|a| match (a.id(), &a.value) {
            (3, Value::U64(h)) => Some(*h),
            _ => None,
        })
        .expect("a handle");
    check(
        "rule_del",
        build::del_rule(NFPROTO_IPV4, "svcroute", "services", handle),
    );
}

/// The kernel's dump of the table (`nft list table`): chains with their hooks, rules whose
/// expressions read back as the typed values nft sent.
#[test]
fn kernel_dump_reads_back() {
    let mut chains = Vec::new();
    let mut rules: Vec<Vec<Expr>> = Vec::new();
    for r in load("list_table").into_iter().filter(|r| !r.request) {
        let msgs: Vec<NetlinkMessage<NftMessage>> = parse_messages(&r.bytes).unwrap();
        for m in msgs {
            let NetlinkPayload::Inner(m) = m.payload else {
                continue;
            };
            match m.kind {
                Kind::Nft(Cmd::NewChain) => chains.push(m.attrs),
                Kind::Nft(Cmd::NewRule) => {
                    let list = m.attrs.iter().find(|a| a.id() == 4).expect("expressions");
                    let Value::Nested(items) = &list.value else {
                        panic!("nested expressions")
                    };
                    rules.push(expr::parse_list(items));
                }
                _ => {}
            }
        }
    }
    let hook = |attrs: &[Attr]| attrs.iter().find(|a| a.id() == 4).map(|a| a.value.clone());
    assert!(chains.iter().any(|c| hook(c)
        == Some(Value::Nested(vec![
            Attr::new(1, Value::U32(0)),
            Attr::new(2, Value::U32(-100i32 as u32)),
        ]))));
    assert!(
        rules
            .iter()
            .flatten()
            .any(|e| *e == Expr::Verdict(Verdict::Return))
    );
    assert!(
        rules
            .iter()
            .flatten()
            .any(|e| matches!(e, Expr::Payload { offset: 16, .. }))
    );
}
