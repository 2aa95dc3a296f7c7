//! `cargo xtask fuzz [TARGET…] [--seconds N]`: runs the cargo-fuzz targets of `fuzz/` for a
//! while each (default 60 s), on nightly, with the fixtures of `tests/fixtures` as the seed
//! corpus of the text targets.
//!
//! It installs what it needs and skips what is already there: the nightly toolchain (rustup)
//! and `cargo-fuzz` (crates.io). The same targets run briefly on stable in `cargo test`
//! (`core/tests/fuzz_shapes.rs`): this is the longer run.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{root, run};

/// The targets of `fuzz/Cargo.toml`; the first four take manifest text.
const TARGETS: &[&str] = &[
    "read_manifest",
    "manifest_tree",
    "load_plan_route",
    "yaml_fast",
    "label_selector",
    "ipvs_parse",
    "nft_parse",
    "ct_parse",
];

/// `cargo xtask fuzz …`.
pub fn main(args: &[String]) -> Result<()> {
    let mut seconds = 60u32;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = it
                    .next()
                    .context("--seconds needs a value")?
                    .parse()
                    .context("--seconds: a whole number")?;
            }
            "-h" | "--help" => {
                println!(
                    "usage: cargo xtask fuzz [TARGET…] [--seconds N]  (targets: {})",
                    TARGETS.join(", ")
                );
                return Ok(());
            }
            t if TARGETS.contains(&t) => targets.push(t),
            other => bail!(
                "unknown fuzz target {other:?}: one of {}",
                TARGETS.join(", ")
            ),
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    ensure_nightly()?;
    ensure_cargo_fuzz()?;
    for t in targets {
        let corpus = root().join("fuzz/corpus").join(t);
        std::fs::create_dir_all(&corpus)?;
        if !matches!(
            t,
            "ipvs_parse" | "nft_parse" | "ct_parse" | "label_selector"
        ) {
            seed(&corpus)?;
        }
        eprintln!("fuzzing {t} for {seconds} s");
        run(Command::new("cargo")
            .args(["+nightly", "fuzz", "run", t])
            .arg(&corpus)
            .args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-rss_limit_mb=4096",
            ])
            .current_dir(root().join("fuzz")))?;
    }
    Ok(())
}

/// Copies every fixture (YAML or JSON) into the corpus, skipping those already there.
fn seed(corpus: &Path) -> Result<()> {
    for e in std::fs::read_dir(root().join("tests/fixtures"))? {
        let path = e?.path();
        if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "json")
        ) && let Some(name) = path.file_name()
        {
            let dest = corpus.join(name);
            if !dest.exists() {
                std::fs::copy(&path, dest)?;
            }
        }
    }
    Ok(())
}

fn ensure_nightly() -> Result<()> {
    let out = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .context("running rustup: cargo xtask fuzz needs rustup and a nightly toolchain")?;
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.starts_with("nightly"))
    {
        return Ok(());
    }
    run(Command::new("rustup").args(["toolchain", "install", "nightly", "--profile", "minimal"]))
        .context(
            "cargo-fuzz needs nightly Rust (libFuzzer's sanitizer flags), and installing it failed; \
             the stable property tests (cargo test -p svcroute-core --test fuzz_shapes) run the \
             same targets briefly",
        )
}

fn ensure_cargo_fuzz() -> Result<()> {
    let have = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if have {
        return Ok(());
    }
    run(Command::new("cargo").args(["install", "cargo-fuzz"]))
        .context("installing cargo-fuzz from crates.io")
}
