//! The fast YAML scanner against saphyr-parser: on the input as text (seeded with the
//! fixtures) and on documents the subset generator (`svcroute_fuzz::yaml_subset`) builds from
//! it, with and without a few edits, the fast path gives saphyr's events and spans exactly or
//! declines — and never declines a document in its subset.
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use svcroute_core::manifest::yaml::fast::agrees_with_saphyr;
use svcroute_fuzz::yaml_subset;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Err(e) = agrees_with_saphyr(text)
    {
        panic!("{e}\n{text:?}");
    }
    let mut u = Unstructured::new(data);
    let Ok(doc) = yaml_subset::document(&mut u) else { return };
    match agrees_with_saphyr(&doc.text) {
        Ok(true) => {}
        Ok(false) if !doc.in_subset => {}
        other => panic!("{other:?}\n{:?}", doc.text),
    }
    if let Ok(text) = yaml_subset::mutate(&mut u, &doc.text)
        && let Err(e) = agrees_with_saphyr(&text)
    {
        panic!("{e}\n{text:?}");
    }
});
