//! Label selectors: raw text and grammar-built selectors parse without panicking and print back
//! to themselves (`svcroute_fuzz::shapes::check_selector`).
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use svcroute_fuzz::shapes;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        shapes::check_selector(text);
    }
    let mut u = Unstructured::new(data);
    if let Ok(s) = shapes::selector(&mut u) {
        shapes::check_selector(&s);
    }
});
