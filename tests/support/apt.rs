//! Debian packages for the tools a test runs, installed with apt-get (after an `apt-get update`
//! when the first try fails). Included by the tests that need it with `#[path]`.

use std::process::Command;

/// Installs `packages`; panics naming them when apt-get cannot.
pub fn install(packages: &[&str]) {
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    if !install() {
        let updated = Command::new("apt-get").arg("update").status();
        assert!(
            updated.is_ok_and(|s| s.success()) && install(),
            "could not install {packages:?} with apt-get"
        );
    }
}
