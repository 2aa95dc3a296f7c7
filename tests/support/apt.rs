//! Debian packages for the tools a test runs, installed with apt-get (after an `apt-get update`
//! when the first try fails). Included by the tests that need it with `#[path]`.

use std::process::Command;
use std::sync::Mutex;

/// One install at a time in this test binary: its tests run on parallel threads, and a second
/// `apt-get` fails at once on dpkg's lock (seen on a fresh machine, where two tests of
/// `proxy_modes_kernel` installed iptables together). Other processes' apt runs are waited for
/// by dpkg's own lock timeout.
static APT: Mutex<()> = Mutex::new(());

/// Installs `packages`; panics naming them when apt-get cannot.
pub fn install(packages: &[&str]) {
    let _one = APT.lock().unwrap_or_else(|e| e.into_inner());
    let install = || {
        Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=300"])
            .args(["install", "-y", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    if !install() {
        let updated = Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=300", "update"])
            .status();
        assert!(
            updated.is_ok_and(|s| s.success()) && install(),
            "could not install {packages:?} with apt-get"
        );
    }
}
