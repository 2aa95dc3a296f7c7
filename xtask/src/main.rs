//! `cargo xtask`: the project's development tasks, in Rust instead of shell scripts.
//!
//! - `cargo xtask test`: everything CI checks (format, clippy, tests, the no_std build).
//! - `cargo xtask vm …`: the qemu harness that boots a real IPVS kernel.
//! - `cargo xtask gen-cluster …`: a synthetic cluster for measuring (see `gen_cluster.rs`).
//! - `cargo xtask bench …`: the measurements of issue 7 as one table (see `bench.rs`).
//! - `cargo xtask fuzz …`: the cargo-fuzz targets on nightly (see `fuzz.rs`).

mod api_bench; // `cargo xtask api-bench`: the API agent at 10,000 Services, no kernel
mod bench; // `cargo xtask bench`: issue 7's table (whole process, criterion, the JS API)
mod fuzz; // `cargo xtask fuzz`: the fuzz/ targets on nightly
mod gen_cluster; // `cargo xtask gen-cluster`: synthetic clusters for benchmarks
mod netfilter; // the agent's nftables table on the host kernel: `cargo xtask netfilter-host`
mod vm;
mod web; // the playground (web/): `cargo xtask web|serve`, and its tests in `test`

use std::process::Command;

use anyhow::{Context, Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = args
        .split_first()
        .map(|(c, r)| (c.as_str(), r))
        .unwrap_or(("help", &[]));
    match cmd {
        "test" => test(rest),
        "vm" => vm::main(rest),
        "static-agent" => vm::static_agent_cli(rest), // the musl agent the image and the VM use
        "api-bench" => api_bench::main(rest),
        "gen-cluster" => gen_cluster::main(rest),
        "bench" => bench::main(rest), // not part of `test`: times, no assertions
        "fuzz" => fuzz::main(rest),
        "netfilter-host" => netfilter::host(rest),
        "nft-capture" => netfilter::capture(rest), // test vectors for nft/
        "ct-capture" => netfilter::ct_capture(rest), // ctnetlink vectors for nft/src/ct.rs
        "web" => web::web(rest),                   // playground: build pkg/
        "serve" => web::serve(rest),               // playground: build, serve on 127.0.0.1:8080
        "test-web" => web::test(),                 // only the playground's part of `test`
        "help" | "--help" | "-h" => {
            println!(
                "usage: cargo xtask <serve|web|test|test-web|vm|static-agent|api-bench|netfilter-host|nft-capture|ct-capture|gen-cluster|bench|fuzz>"
            );
            Ok(())
        }
        other => bail!("unknown xtask command {other:?}; try `cargo xtask help`"),
    }
}

/// Root of the repository (the parent of `xtask/`).
pub fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the root")
        .to_path_buf()
}

/// Runs a command in the repository root, failing with its command line when it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    eprintln!("$ {shown}");
    let status = cmd
        .current_dir(root())
        .status()
        .with_context(|| format!("starting {shown}"))?;
    if !status.success() {
        bail!("{shown} failed: {status}");
    }
    Ok(())
}

/// `cargo`, the one running this xtask when known.
pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Adds a rustup target unless it is already installed.
pub fn ensure_target(target: &str) -> Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup")?;
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == target)
    {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", target]))
}

fn test(_args: &[String]) -> Result<()> {
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo().args(["test", "--workspace"]))?;
    ensure_target("thumbv7em-none-eabihf")?;
    run(cargo().args([
        "build",
        "-p",
        "svcroute-core",
        "--no-default-features",
        "--target",
        "thumbv7em-none-eabihf",
    ]))?;
    netfilter::host(&[])?; // the agent's nftables table in a network namespace on the host
    vm::test_agent()?; // the node agent's scenarios on a real IPVS kernel in qemu
    vm::test_sched()?; // the kernel's schedulers, connection by connection, vs the simulator
    web::test()?; // the playground: bundle size, wasm-bindgen tests, JS API vs CLI, e2e in Chromium
    eprintln!("xtask test: all checks passed");
    Ok(())
}
