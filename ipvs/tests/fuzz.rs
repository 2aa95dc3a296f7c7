//! The no-panic promise: parsing random bytes, truncated captures and corrupted captures
//! returns a value or a `DecodeError`, never a panic. Plus typed round trips on random values.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use svcroute_ipvs::nla::NlaIter;
use svcroute_ipvs::{
    CtrlMessage, Destination, Family, FamilyInfo, FwdMethod, IpvsAttr, IpvsMessage, MessageIter,
    NetlinkMessage, NetlinkPayload, Protocol, Replies, Service, ServiceFlags, ServiceKey,
    parse_messages,
};

/// Everything a receiver might do with untrusted bytes.
fn parse_everything(bytes: &[u8]) {
    let _ = parse_messages::<IpvsMessage>(bytes);
    let _ = parse_messages::<CtrlMessage>(bytes);
    let _ = parse_messages::<Vec<u8>>(bytes);
    if let Ok(msgs) = parse_messages::<IpvsMessage>(bytes) {
        for m in &msgs {
            if let NetlinkPayload::Inner(p) = &m.payload {
                if let Some(s) = p.service_attrs() {
                    let _ = Service::from_attrs(s);
                    let _ = ServiceKey::from_attrs(s);
                }
                if let Some(d) = p.dest_attrs() {
                    let _ = Destination::from_attrs(d, Family::Ipv4);
                    let _ = Destination::from_attrs(d, Family::Ipv6);
                }
            }
        }
        // What parses re-emits and parses to the same value.
        let again: Vec<NetlinkMessage<IpvsMessage>> =
            parse_messages(&svcroute_ipvs::emit_messages(&msgs)).unwrap();
        assert_eq!(again, msgs);
    }
    if let Ok(msgs) = parse_messages::<CtrlMessage>(bytes) {
        let _ = FamilyInfo::from_replies(&msgs);
    }
    let mut r = Replies::new();
    let _ = r.feed(bytes);
    let _ = r.services(0);
    for m in MessageIter::new(bytes).take(1000) {
        let _ = m;
    }
    for a in NlaIter::new(bytes).take(1000) {
        let _ = a;
    }
}

/// Every captured packet, read once.
fn captured_records() -> &'static [Vec<u8>] {
    static RECORDS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    RECORDS.get_or_init(|| {
        common::all()
            .into_iter()
            .flat_map(|v| v.records.into_iter().map(|r| r.bytes))
            .collect()
    })
}

#[test]
fn every_truncation_of_every_capture() {
    for bytes in captured_records() {
        for cut in 0..bytes.len() {
            parse_everything(&bytes[..cut]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        parse_everything(&bytes);
    }

    #[test]
    fn corrupted_captures_never_panic(index in any::<prop::sample::Index>(), edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let records = captured_records();
        let mut bytes = records[index.index(records.len())].clone();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        parse_everything(&bytes);
    }
}

fn arb_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o))),
        any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o))),
    ]
}

fn arb_key() -> impl Strategy<Value = ServiceKey> {
    prop_oneof![
        (
            prop_oneof![
                Just(Protocol::Tcp),
                Just(Protocol::Udp),
                Just(Protocol::Sctp)
            ],
            arb_ip(),
            any::<u16>()
        )
            .prop_map(|(protocol, address, port)| ServiceKey::Addr {
                protocol,
                address,
                port
            }),
        (
            prop_oneof![Just(Family::Ipv4), Just(Family::Ipv6)],
            1..u32::MAX
        )
            .prop_map(|(family, mark)| ServiceKey::Fwmark { family, mark }),
    ]
}

proptest! {
    #[test]
    fn service_round_trips(key in arb_key(), sched in "[a-z]{1,15}", flags in any::<u32>(), timeout in any::<u32>(), seq in any::<u32>(), port_id in any::<u32>()) {
        let mut svc = Service::new(key, &sched);
        svc.flags = ServiceFlags(flags);
        svc.timeout = timeout;
        let req = IpvsMessage::new_service(&svc).into_request(0x20, seq, port_id);
        let bytes = req.to_bytes();
        let parsed: NetlinkMessage<IpvsMessage> = NetlinkMessage::parse(&bytes).unwrap();
        prop_assert_eq!(&parsed, &req);
        let NetlinkPayload::Inner(msg) = parsed.payload else { panic!("not IPVS") };
        prop_assert_eq!(Service::from_attrs(msg.service_attrs().unwrap()).unwrap(), svc);
    }

    #[test]
    fn destination_round_trips(key in arb_key(), addr in arb_ip(), port in any::<u16>(), weight in any::<u32>(), fwd in 0u32..5, u in any::<u32>(), l in any::<u32>()) {
        let mut dest = Destination::new(addr, port, FwdMethod::from(fwd), weight);
        dest.upper_threshold = u;
        dest.lower_threshold = l;
        let msg = IpvsMessage::new_dest(&key, &dest);
        let bytes = msg.clone().into_request(0x20, 1, 0).to_bytes();
        let parsed: NetlinkMessage<IpvsMessage> = NetlinkMessage::parse(&bytes).unwrap();
        let NetlinkPayload::Inner(p) = parsed.payload else { panic!("not IPVS") };
        prop_assert_eq!(&p, &msg);
        prop_assert_eq!(ServiceKey::from_attrs(p.service_attrs().unwrap()).unwrap(), key);
        prop_assert_eq!(Destination::from_attrs(p.dest_attrs().unwrap(), key.family()).unwrap(), dest);
        prop_assert!(matches!(p.attrs[0], IpvsAttr::Service(_)));
    }
}
