//! Structure-aware: arbitrary trees of Kubernetes shapes (deep and wide, YAML and JSON) through
//! the reader (`svcroute_fuzz::shapes::check_read`).
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use svcroute_fuzz::shapes;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    if let Ok((text, is_json)) = shapes::manifest(&mut u) {
        shapes::check_read(&text, is_json);
    }
});
