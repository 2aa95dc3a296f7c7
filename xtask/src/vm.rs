//! `cargo xtask vm`: boots Debian's kernel with IPVS in qemu (placeholder until the harness lands).

use anyhow::{Result, bail};

/// Entry point of `cargo xtask vm …`.
pub fn main(_args: &[String]) -> Result<()> {
    bail!("cargo xtask vm: not built yet")
}
