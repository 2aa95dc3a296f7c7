//! The codec's own behaviour: batching, matching replies, NLA edge cases, errors and errnos.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;

use svcroute_ipvs::netlink::{
    NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP, NLM_F_MULTI, NLM_F_REQUEST, NLMSG_ERROR,
};
use svcroute_ipvs::nla::{self, NLA_F_NESTED, NlaIter};
use svcroute_ipvs::{
    Batch, DecodeError, DefaultNla, Destination, DoneMessage, Errno, ErrorMessage, IpvsAttr,
    IpvsCmd, IpvsMessage, NetlinkHeader, NetlinkMessage, NetlinkPayload, Replies, Service,
    ServiceAttr, ServiceKey, emit_messages, parse_messages,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ack(
    seq: u32,
    port: u32,
    code: i32,
    request: &NetlinkMessage<IpvsMessage>,
) -> NetlinkMessage<IpvsMessage> {
    let bytes = request.to_bytes();
    NetlinkMessage {
        header: NetlinkHeader {
            message_type: NLMSG_ERROR,
            flags: if code == 0 { NLM_F_CAPPED } else { 0 },
            sequence_number: seq,
            port_number: port,
        },
        payload: NetlinkPayload::Error(ErrorMessage {
            code,
            request_length: bytes.len() as u32,
            request_header: request.header,
            request_payload: if code == 0 {
                vec![]
            } else {
                bytes[16..].to_vec()
            },
            ext_ack: vec![],
        }),
    }
}

#[test]
fn batch_is_the_concatenation_of_its_requests() {
    let svc = Service::tcp(ip("10.97.97.97"), 80, "rr");
    let dest = Destination::masq(ip("10.244.0.2"), 80, 1);
    let mut batch = Batch::new(0x20, 4242, 100);
    let s1 = batch.push(IpvsMessage::new_service(&svc));
    let s2 = batch.push(IpvsMessage::new_dest(&svc.key, &dest));
    let s3 = batch.push(IpvsMessage::get_dests(&svc.key));
    assert_eq!((s1, s2, s3), (100, 101, 102));
    assert_eq!(batch.len(), 3);
    assert_eq!(batch.next_sequence_number(), 103);

    let expected = vec![
        IpvsMessage::new_service(&svc).into_request(0x20, 100, 4242),
        IpvsMessage::new_dest(&svc.key, &dest).into_request(0x20, 101, 4242),
        IpvsMessage::get_dests(&svc.key).into_request(0x20, 102, 4242),
    ];
    assert_eq!(batch.bytes(), emit_messages(&expected).as_slice());
    let parsed: Vec<NetlinkMessage<IpvsMessage>> = parse_messages(batch.bytes()).unwrap();
    assert_eq!(parsed, expected);
    assert_eq!(parsed[0].header.flags, NLM_F_REQUEST | NLM_F_ACK);
    assert_eq!(
        parsed[2].header.flags,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP
    );

    batch.clear();
    assert!(batch.is_empty());
    assert_eq!(batch.push(IpvsMessage::flush()), 103);
}

#[test]
fn replies_match_acks_and_errors_by_sequence_number() {
    let svc = Service::tcp(ip("10.97.97.97"), 80, "rr");
    let mut batch = Batch::new(0x20, 7, 1);
    batch.push(IpvsMessage::new_service(&svc));
    batch.push(IpvsMessage::new_service(&svc));
    let reqs: Vec<NetlinkMessage<IpvsMessage>> = parse_messages(batch.bytes()).unwrap();
    // The kernel answers both in one read: an ACK, then EEXIST echoing the request.
    let answer = emit_messages(&[ack(1, 7, 0, &reqs[0]), ack(2, 7, -17, &reqs[1])]);
    let mut replies = Replies::new();
    assert_eq!(replies.result(1), None);
    replies.feed(&answer).unwrap();
    assert_eq!(replies.result(1), Some(Ok(())));
    assert_eq!(replies.result(2), Some(Err(Errno::EEXIST)));
    assert_eq!(replies.result(3), None);
    // The echoed request parses back into the request.
    let NetlinkPayload::Error(e) = &replies.messages()[1].payload else {
        panic!()
    };
    let mut echoed = Vec::new();
    echoed.extend_from_slice(&e.request_length.to_ne_bytes());
    echoed.extend_from_slice(&e.request_header.message_type.to_ne_bytes());
    echoed.extend_from_slice(&e.request_header.flags.to_ne_bytes());
    echoed.extend_from_slice(&e.request_header.sequence_number.to_ne_bytes());
    echoed.extend_from_slice(&e.request_header.port_number.to_ne_bytes());
    echoed.extend_from_slice(&e.request_payload);
    assert_eq!(
        NetlinkMessage::<IpvsMessage>::parse(&echoed).unwrap(),
        reqs[1]
    );
}

#[test]
fn dump_replies_across_reads() {
    let svc = |port| Service::tcp(ip("10.0.0.1"), port, "rr");
    let part = |port| {
        let mut m = IpvsMessage::new(
            IpvsCmd::NewService,
            vec![IpvsAttr::Service(svc(port).to_attrs())],
        );
        m.nested_flag = false;
        NetlinkMessage::new(
            NetlinkHeader {
                message_type: 0x20,
                flags: NLM_F_MULTI,
                sequence_number: 9,
                port_number: 1,
            },
            m,
        )
    };
    let done: NetlinkMessage<IpvsMessage> = NetlinkMessage {
        header: NetlinkHeader {
            message_type: 3,
            flags: NLM_F_MULTI,
            sequence_number: 9,
            port_number: 1,
        },
        payload: NetlinkPayload::Done(DoneMessage::default()),
    };
    let mut replies = Replies::new();
    replies.feed(&emit_messages(&[part(1), part(2)])).unwrap();
    assert!(!replies.dump_done(9));
    replies.feed(&emit_messages(&[part(3), done])).unwrap();
    assert!(replies.dump_done(9));
    let ports: Vec<u16> = replies
        .services(9)
        .unwrap()
        .into_iter()
        .map(|s| match s.key {
            ServiceKey::Addr { port, .. } => port,
            ServiceKey::Fwmark { .. } => 0,
        })
        .collect();
    assert_eq!(ports, [1, 2, 3]);
}

#[test]
fn builders_send_only_what_the_kernel_needs() {
    let key = ServiceKey::Addr {
        protocol: svcroute_ipvs::Protocol::Tcp,
        address: ip("10.0.0.1"),
        port: 80,
    };
    let del = IpvsMessage::del_service(&key);
    assert_eq!(del.attrs, vec![IpvsAttr::Service(key.to_attrs())]);
    assert_eq!(key.to_attrs().len(), 4, "AF, PROTOCOL, ADDR, PORT");
    let del_dest = IpvsMessage::del_dest(&key, ip("10.244.0.9"), 8080);
    assert_eq!(
        del_dest.dest_attrs().unwrap().len(),
        3,
        "ADDR_FAMILY, ADDR, PORT"
    );
    assert!(IpvsMessage::get_services().is_dump_request());
    assert!(IpvsMessage::get_dests(&key).is_dump_request());
    assert!(!IpvsMessage::get_service(&key).is_dump_request());
    assert_eq!(
        IpvsMessage::flush().default_flags(),
        NLM_F_REQUEST | NLM_F_ACK
    );
}

#[test]
fn unknown_attributes_are_kept() {
    // A future service attribute 99 (flags included) and a future top-level attribute 42.
    let mut msg = IpvsMessage::new_service(&Service::tcp(ip("10.0.0.1"), 80, "rr"));
    if let IpvsAttr::Service(attrs) = &mut msg.attrs[0] {
        attrs.push(ServiceAttr::Other(DefaultNla {
            kind: 99 | NLA_F_NESTED,
            value: vec![4, 0, 1, 0],
        }));
    }
    msg.attrs.push(IpvsAttr::Other(DefaultNla {
        kind: 42,
        value: vec![1, 2, 3],
    }));
    let req = msg.into_request(0x20, 5, 6);
    let parsed: NetlinkMessage<IpvsMessage> = NetlinkMessage::parse(&req.to_bytes()).unwrap();
    assert_eq!(parsed, req);
}

#[test]
fn nested_flag_is_recorded() {
    let key = ServiceKey::Fwmark {
        family: svcroute_ipvs::Family::Ipv6,
        mark: 7,
    };
    for flag in [true, false] {
        let mut m = IpvsMessage::get_dests(&key);
        m.nested_flag = flag;
        let bytes = m.clone().into_request(0x20, 1, 1).to_bytes();
        let raw = NlaIter::new(&bytes[20..]).next().unwrap().unwrap();
        assert_eq!(raw.is_nested_flagged(), flag);
        let parsed: NetlinkMessage<IpvsMessage> = NetlinkMessage::parse(&bytes).unwrap();
        assert_eq!(parsed.payload, NetlinkPayload::Inner(m));
    }
}

#[test]
fn extended_ack_attributes() {
    // NLMSGERR_ATTR_MSG (1) "bad" after a capped echo.
    let request = IpvsMessage::flush().into_request(0x20, 3, 4);
    let mut err = ack(3, 4, -22, &request);
    err.header.flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
    if let NetlinkPayload::Error(e) = &mut err.payload {
        e.request_payload.clear();
        e.ext_ack = vec![DefaultNla {
            kind: 1,
            value: b"bad\0".to_vec(),
        }];
    }
    let bytes = err.to_bytes();
    let parsed: NetlinkMessage<IpvsMessage> = NetlinkMessage::parse(&bytes).unwrap();
    assert_eq!(parsed, err);
    assert_eq!(parsed.ack_result(), Some(Err(Errno::EINVAL)));
}

#[test]
fn decode_errors() {
    assert_eq!(
        parse_messages::<IpvsMessage>(&[1, 2, 3]),
        Err(DecodeError::Truncated {
            what: "nlmsghdr",
            needed: 16,
            available: 3
        })
    );
    let mut bytes = IpvsMessage::flush().into_request(0x20, 1, 1).to_bytes();
    bytes[0] = 8; // length smaller than the header
    assert_eq!(
        parse_messages::<IpvsMessage>(&bytes),
        Err(DecodeError::LengthTooSmall {
            what: "nlmsghdr",
            length: 8
        })
    );
    bytes[0] = 200; // longer than the buffer
    assert!(matches!(
        parse_messages::<IpvsMessage>(&bytes),
        Err(DecodeError::Truncated { .. })
    ));

    // A PORT attribute of 3 bytes.
    let mut attrs = Vec::new();
    nla::put_nested(&mut attrs, 1, true, |o| nla::put(o, 4, &[0, 80, 0]));
    let mut payload = vec![u8::from(IpvsCmd::NewService), 1, 0, 0];
    payload.extend_from_slice(&attrs);
    let msg = NetlinkMessage::new(
        NetlinkHeader {
            message_type: 0x20,
            ..Default::default()
        },
        payload,
    );
    let err = parse_messages::<IpvsMessage>(&msg.to_bytes()).unwrap_err();
    assert_eq!(
        err,
        DecodeError::InvalidLength {
            what: "IPVS_SVC_ATTR_PORT",
            expected: 2,
            found: 3
        }
    );
    assert_eq!(
        err.to_string(),
        "IPVS_SVC_ATTR_PORT: expected 2 bytes, found 3"
    );

    // A service without its family.
    assert_eq!(
        Service::from_attrs(&[]),
        Err(DecodeError::MissingAttribute {
            what: "IPVS_SVC_ATTR_AF"
        })
    );
    assert_eq!(
        ServiceKey::from_attrs(&[ServiceAttr::AddressFamily(99)]),
        Err(DecodeError::InvalidValue {
            what: "IPVS_SVC_ATTR_AF",
            value: 99
        })
    );
}

#[test]
fn errno_names() {
    assert_eq!(Errno::from_code(-17), Some(Errno::EEXIST));
    assert_eq!(Errno::from_code(0), None);
    assert_eq!(Errno::from_code(i32::MIN), Some(Errno(i32::MAX)));
    assert_eq!(Errno::EEXIST.to_string(), "EEXIST (17)");
    assert_eq!(Errno(3).name(), Some("ESRCH"));
    assert_eq!(Errno(2).ipvs_meaning(), "no such destination");
    assert_eq!(Errno(4095).to_string(), "errno 4095");
    for (e, name) in [
        (Errno::EPERM, "EPERM"),
        (Errno::ENOENT, "ENOENT"),
        (Errno::ENOMEM, "ENOMEM"),
        (Errno::EBUSY, "EBUSY"),
        (Errno::EINVAL, "EINVAL"),
        (Errno::EOPNOTSUPP, "EOPNOTSUPP"),
    ] {
        assert_eq!(e.name(), Some(name));
    }
}

#[test]
fn last_attribute_without_padding_is_accepted() {
    // A 5-byte attribute at the very end, its padding missing.
    let buf = [5, 0, 13, 0, 7];
    let a: Vec<_> = NlaIter::new(&buf).collect::<Result<_, _>>().unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].value, &[7]);
}
