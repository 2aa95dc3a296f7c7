//! Any bytes from the kernel: parsing nf_tables messages never panics, what parses re-emits
//! to bytes that parse to the same value, and rule expressions read as typed values without
//! panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcroute_ipvs::netlink::{NetlinkPayload, emit_messages, parse_messages};
use svcroute_nft::{NftMessage, Value, expr};

fuzz_target!(|data: &[u8]| {
    if let Ok(messages) = parse_messages::<NftMessage>(data) {
        let again = emit_messages(&messages);
        assert_eq!(parse_messages::<NftMessage>(&again).ok(), Some(messages.clone()));
        for m in &messages {
            if let NetlinkPayload::Inner(m) = &m.payload {
                for a in &m.attrs {
                    if let Value::Nested(items) = &a.value {
                        let _ = expr::parse_list(items);
                    }
                }
            }
        }
    }
});
