//! Any bytes from the kernel: parsing IPVS and controller messages never panics, and what
//! parses converts to typed services and destinations without panicking either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcroute_ipvs::{CtrlMessage, IpvsMessage, parse_messages};

fuzz_target!(|data: &[u8]| {
    let _ = parse_messages::<CtrlMessage>(data);
    if let Ok(messages) = parse_messages::<IpvsMessage>(data) {
        for m in &messages {
            let _ = format!("{m:?}");
        }
    }
});
