//! Proptest settings shared by the generated-input tests (`fuzz_shapes.rs`, `yaml_fast.rs`):
//! fixed seeds, so every run checks the same cases (the fuzzers explore; these guard).

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

/// `cases` cases from the fixed seed `seed`, nothing persisted.
pub fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    }
}

/// The raw bytes a fuzz target's `Unstructured` reads: 64 bytes up to `max`.
pub fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 64..max)
}
