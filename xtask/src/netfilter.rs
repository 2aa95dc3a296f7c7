//! `cargo xtask netfilter-host`: the agent's nftables table on the host's own kernel, in a
//! private network namespace (`tests/netfilter_host.rs`). Installs Debian's `nftables` when
//! `nft` is missing (the host kernel has nf_tables; no VM is needed).

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use crate::{cargo, run};

/// Installs `nftables` with apt-get unless `nft` is already there.
pub fn ensure_nft() -> Result<()> {
    let found = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"]
        .iter()
        .any(|p| Path::new(p).exists());
    if found {
        return Ok(());
    }
    let install = || {
        run(Command::new("apt-get").args(["install", "-y", "--no-install-recommends", "nftables"]))
    };
    if install().is_err() {
        run(Command::new("apt-get").arg("update"))?;
        install()?;
    }
    Ok(())
}

/// Runs the host netfilter tests.
pub fn host(_args: &[String]) -> Result<()> {
    ensure_nft()?;
    run(cargo().args(["test", "--test", "netfilter_host", "--", "--ignored"]))
}
