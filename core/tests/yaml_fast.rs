//! The fast YAML scanner against saphyr-parser, event for event and span for span: generated
//! documents in its subset (which it must read, not decline), the same a few edits away (which
//! it must read identically or decline), and every fixture of `tests/fixtures`. The generator is
//! the `yaml_fast` fuzz target's (`fuzz/src/yaml_subset.rs`), driven here by proptest's bytes.
//!
//! Pinned promise: the tree, the positions and every error are what saphyr gives — kubectl's
//! `-o yaml` output reads the same through either path.

#![allow(clippy::unwrap_used)]

#[path = "../../fuzz/src/yaml_subset.rs"]
#[allow(dead_code, clippy::all, clippy::pedantic)]
mod yaml_subset;

use arbitrary::Unstructured;
use proptest::prelude::*;
use svcroute_core::manifest::yaml::fast::agrees_with_saphyr;

#[path = "support/seeded.rs"]
mod seeded;
use seeded::{bytes, config};

proptest! {
    #![proptest_config(config(2000, 0x5eed_fa57))]

    /// Documents in the subset: the fast path reads them, exactly as saphyr does.
    #[test]
    fn subset_reads_like_saphyr(data in bytes(2048)) {
        let mut u = Unstructured::new(&data);
        if let Ok(doc) = yaml_subset::document(&mut u) {
            let got = agrees_with_saphyr(&doc.text);
            prop_assert!(got.is_ok(), "{:?}\n{}", got, doc.text);
            if doc.in_subset {
                prop_assert_eq!(got, Ok(true), "declined: {:?}", doc.text);
            }
        }
    }

    /// A few edits away: the fast path agrees with saphyr or declines, never differs.
    #[test]
    fn near_the_subset_agrees_or_declines(data in bytes(2048)) {
        let mut u = Unstructured::new(&data);
        if let Ok(doc) = yaml_subset::document(&mut u)
            && let Ok(text) = yaml_subset::mutate(&mut u, &doc.text)
        {
            let got = agrees_with_saphyr(&text);
            prop_assert!(got.is_ok(), "{:?}\n{:?}", got, text);
        }
    }
}

/// Every YAML and JSON fixture: identical events, or a decline.
#[test]
fn fixtures_agree_or_decline() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures");
    let mut read = 0;
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let ext = path.extension().and_then(|e| e.to_str());
        if !matches!(ext, Some("yaml" | "yml" | "json")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        total += 1;
        match agrees_with_saphyr(&text) {
            Ok(true) => read += 1,
            Ok(false) => {}
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
    // Most fixtures are written by hand in flow style (`metadata: {name: web}`), which the
    // fast path leaves to saphyr; the block-style ones it reads.
    assert!(read > 0, "read {read} of {total}");
}

/// PyYAML's `yaml.safe_dump` of a `kubectl get -o json` List with annotations (a description
/// folded at 80 columns as a multi-line plain scalar, a double-quoted string continued with
/// `\`, `last-applied-configuration` single-quoted over three lines for its trailing newline):
/// read by the fast path, not declined (a decline would read a large cluster with saphyr).
#[test]
fn pyyaml_safe_dump_is_read() {
    let text = include_str!("yaml_fast/pyyaml_safe_dump.yaml");
    assert_eq!(agrees_with_saphyr(text), Ok(true));
}
