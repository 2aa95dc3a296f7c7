//! Any bytes from the kernel: parsing ctnetlink messages never panics, what parses re-emits to
//! bytes that parse to the same value, and an entry read from it deletes by its tuple.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcroute_ipvs::netlink::{NetlinkPayload, emit_messages, parse_messages};
use svcroute_nft::ct::{CTA_TUPLE_ORIG, CtMessage, Entry};

fuzz_target!(|data: &[u8]| {
    if let Ok(messages) = parse_messages::<CtMessage>(data) {
        let again = emit_messages(&messages);
        assert_eq!(parse_messages::<CtMessage>(&again).ok(), Some(messages.clone()));
        for m in &messages {
            if let NetlinkPayload::Inner(c) = &m.payload
                && let Some(e) = Entry::from_message(c)
            {
                assert_eq!(e.delete().attrs.first().map(|a| a.kind()), Some(CTA_TUPLE_ORIG));
            }
        }
    }
});
