//! Property tests: parsing never panics whatever the bytes; what is emitted parses back to
//! the same value; typed expressions survive a trip through their attributes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use svcroute_ipvs::netlink::{FamilyMessage, NetlinkMessage, parse_messages};
use svcroute_nft::NftMessage;
use svcroute_nft::build::{self, SetElem};
use svcroute_nft::expr::{Expr, Verdict};

fn expr() -> impl Strategy<Value = Expr> {
    let reg = 0u32..24;
    let bytes = proptest::collection::vec(any::<u8>(), 0..20);
    prop_oneof![
        (reg.clone(), 0u32..3, 0u32..64, 1u32..17).prop_map(|(dreg, base, offset, len)| {
            Expr::Payload {
                dreg,
                base,
                offset,
                len,
            }
        }),
        (reg.clone(), 0u32..6, bytes.clone()).prop_map(|(sreg, op, data)| Expr::Cmp {
            sreg,
            op,
            data
        }),
        (
            "[a-z-]{1,20}",
            reg.clone(),
            proptest::option::of(0u32..9),
            proptest::option::of(0u32..2)
        )
            .prop_map(|(set, sreg, set_id, flags)| Expr::Lookup {
                set,
                sreg,
                set_id,
                flags
            }),
        (0u32..40, reg.clone()).prop_map(|(key, dreg)| Expr::Meta { key, dreg }),
        (0u32..40, reg.clone()).prop_map(|(key, sreg)| Expr::MetaSet { key, sreg }),
        (
            reg.clone(),
            reg.clone(),
            proptest::option::of(0u32..3),
            1u32..17,
            bytes.clone(),
            bytes.clone()
        )
            .prop_map(|(sreg, dreg, op, len, mask, xor)| Expr::Bitwise {
                sreg,
                dreg,
                op,
                len,
                mask,
                xor
            }),
        (1u32..24, bytes).prop_map(|(dreg, data)| Expr::Immediate { dreg, data }),
        prop_oneof![
            Just(Verdict::Accept),
            Just(Verdict::Drop),
            Just(Verdict::Return),
            Just(Verdict::Continue),
            "[a-z-]{1,20}".prop_map(Verdict::Jump),
            "[a-z-]{1,20}".prop_map(Verdict::Goto),
        ]
        .prop_map(Expr::Verdict),
        (0u32..20, reg.clone()).prop_map(|(key, dreg)| Expr::Ct { key, dreg }),
        (0u32..8, 0u32..4, reg).prop_map(|(flags, result, dreg)| Expr::Fib {
            flags,
            result,
            dreg
        }),
        proptest::option::of(0u32..32).prop_map(|flags| Expr::Masq { flags }),
        (0u32..3, any::<u8>()).prop_map(|(kind, code)| Expr::Reject { kind, code }),
        Just(Expr::Counter),
    ]
}

proptest! {
    #[test]
    fn parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_messages::<NftMessage>(&bytes);
    }

    #[test]
    fn parsing_mutated_requests_never_panics(
        exprs in proptest::collection::vec(expr(), 0..6),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = build::batch(&[build::new_rule(2, "t", "c", &exprs)], 0, false);
        for (i, b) in flips {
            let at = i.index(bytes.len());
            bytes[at] = b;
        }
        if let Ok(msgs) = parse_messages::<NftMessage>(&bytes) {
            let again = svcroute_ipvs::netlink::emit_messages(&msgs);
            prop_assert_eq!(parse_messages::<NftMessage>(&again).unwrap(), msgs);
        }
    }

    /// The byte-level element reader never panics, and on any element list it reads what the
    /// attribute tree reads.
    #[test]
    fn element_reader_agrees_with_the_tree(
        keys in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 1..20),
             proptest::option::of(proptest::collection::vec(any::<u8>(), 1..20))),
            0..10),
        flip in proptest::option::of((any::<prop::sample::Index>(), any::<u8>())),
    ) {
        let elems: Vec<SetElem> =
            keys.into_iter().map(|(key, key_end)| SetElem { key, key_end }).collect();
        let mut bytes = Vec::new();
        build::new_elements(10, "svcroute", "cluster-ip", None, &elems).msg.emit(&mut bytes);
        if let Some((i, b)) = flip {
            let at = i.index(bytes.len());
            bytes[at] = b;
        }
        let mut lean = Vec::new();
        let read = svcroute_nft::dump::for_each_element(&bytes, |(k, e)| {
            lean.push(SetElem { key: k.to_vec(), key_end: e.map(<[u8]>::to_vec) })
        });
        if flip.is_none() {
            prop_assert_eq!(read.unwrap(), Some("cluster-ip"));
            prop_assert_eq!(lean, elems);
        }
    }

    #[test]
    fn expressions_survive_their_attributes(e in expr()) {
        prop_assert_eq!(Expr::from_attr(&e.to_attr()), e);
    }

    #[test]
    fn rules_and_elements_parse_back(
        exprs in proptest::collection::vec(expr(), 0..8),
        keys in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..20), 0..10),
    ) {
        let elems: Vec<SetElem> = keys.into_iter().map(|key| SetElem { key, key_end: None }).collect();
        let requests = [
            build::new_rule(2, "svcroute", "services", &exprs),
            build::new_elements(10, "svcroute", "cluster-ip", None, &elems),
            build::del_elements(10, "svcroute", "cluster-ip", &elems),
        ];
        let bytes = build::batch(&requests, 7, true);
        let msgs: Vec<NetlinkMessage<NftMessage>> = parse_messages(&bytes).unwrap();
        prop_assert_eq!(msgs.len(), 5);
        for (m, r) in msgs[1..4].iter().zip(&requests) {
            prop_assert_eq!(&m.payload, &svcroute_ipvs::netlink::NetlinkPayload::Inner(r.msg.clone()));
        }
    }
}

proptest! {
    /// ctnetlink: any bytes parse without panicking; what parses re-emits to bytes that parse
    /// to the same value, and reading an entry from it never panics.
    #[test]
    fn ct_messages_round_trip(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        use svcroute_nft::ct::{CtMessage, Entry};
        if let Ok(messages) = parse_messages::<CtMessage>(&data) {
            let again = svcroute_ipvs::netlink::emit_messages(&messages);
            prop_assert_eq!(parse_messages::<CtMessage>(&again).ok(), Some(messages.clone()));
            for m in &messages {
                if let svcroute_ipvs::netlink::NetlinkPayload::Inner(c) = &m.payload
                    && let Some(e) = Entry::from_message(c)
                {
                    prop_assert_eq!(e.delete().attrs.first().map(|a| a.kind()), Some(svcroute_nft::ct::CTA_TUPLE_ORIG));
                }
            }
        }
    }
}
