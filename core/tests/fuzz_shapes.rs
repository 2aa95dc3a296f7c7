//! The fuzz targets, briefly and deterministically, on stable: proptest's bytes drive the
//! structure-aware generator of `fuzz/src/shapes.rs` (arbitrary trees of Kubernetes shapes,
//! deep and wide, YAML and JSON) through the same checks the cargo-fuzz targets run
//! (`cargo xtask fuzz` runs them for longer on nightly).
//!
//! Pinned promises: the reader never panics and places every diagnostic; the JSON fast path and
//! the YAML parser read JSON alike; `load → plan → route` never panics; a label selector that
//! parses prints back to a selector that parses the same (apimachinery's `String()`).

#[path = "../../fuzz/src/shapes.rs"]
#[allow(dead_code, clippy::all, clippy::pedantic)]
mod shapes;

use arbitrary::Unstructured;
use proptest::prelude::*;

#[path = "support/seeded.rs"]
mod seeded;
use seeded::{bytes, config};

proptest! {
    #![proptest_config(config(256, 8))]

    #[test]
    fn manifest_tree(data in bytes(4096)) {
        let mut u = Unstructured::new(&data);
        if let Ok((text, is_json)) = shapes::manifest(&mut u) {
            shapes::check_read(&text, is_json);
        }
    }

    #[test]
    fn load_plan_route(data in bytes(4096)) {
        let mut u = Unstructured::new(&data);
        if let Ok((text, _)) = shapes::manifest(&mut u) {
            shapes::check_load_plan_route(&text);
        }
    }
}

proptest! {
    #![proptest_config(config(1024, 8))]

    #[test]
    fn label_selector(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut u = Unstructured::new(&data);
        if let Ok(s) = shapes::selector(&mut u) {
            shapes::check_selector(&s);
        }
    }
}

/// The fixtures (the fuzzers' seed corpus) pass the same checks.
#[test]
fn fixtures_pass_the_checks() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    for e in std::fs::read_dir(dir).expect("tests/fixtures is readable") {
        let path = e.expect("a directory entry").path();
        let ext = path.extension().and_then(|e| e.to_str());
        if matches!(ext, Some("yaml" | "json")) {
            let text = std::fs::read_to_string(&path).expect("a fixture is UTF-8 text");
            shapes::check_read(&text, ext == Some("json"));
            shapes::check_load_plan_route(&text);
        }
    }
}
