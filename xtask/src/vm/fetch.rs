//! `cargo xtask vm fetch`: downloads Debian packages into `.cache/vm/debs` and extracts them.
//!
//! Nothing is installed on the machine: `apt-get download` fetches the `.deb` files that
//! `apt-get install -s --no-install-recommends` would install (plus the named tools themselves,
//! which may already be installed here), and `dpkg -x` unpacks them under `.cache/vm/root`.
//! The kernel image goes to `.cache/vm/kernel`. Packages already downloaded are skipped.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::Paths;

/// The userland tools the VM image needs, as Debian package names.
pub const TOOLS: &[&str] = &[
    "qemu-system-x86",
    "busybox-static",
    "kmod",
    "ipvsadm",
    "iproute2",
    "tcpdump",
    "nftables",
    "conntrack",
];

/// Runs the fetch step. The kernel is, in order: `kernel` (`--kernel PKG`), the one already
/// cached (so that an `apt-get update` does not silently change the kernel under the tests), or
/// the one `linux-image-amd64` depends on (`--latest-kernel` forces this).
pub fn fetch(paths: &Paths, kernel: Option<&str>, latest: bool) -> Result<()> {
    fs::create_dir_all(&paths.debs)?;
    let cached = paths
        .kernel_package()
        .filter(|k| find_deb(&paths.debs, k).is_some());
    let chosen = kernel
        .map(str::to_string)
        .or(if latest { None } else { cached });
    let pick = || -> Result<(String, Vec<String>)> {
        let k = match &chosen {
            Some(k) => k.clone(),
            None => kernel_package()?,
        };
        Ok((k, simulated_installs(TOOLS)?))
    };
    // Package lists may be missing on a fresh machine: update once and retry.
    let (kernel_pkg, simulated) = match pick() {
        Ok(found) => found,
        Err(e) => {
            eprintln!("vm fetch: {e:#}; running apt-get update once");
            crate::run(Command::new("apt-get").arg("update"))?;
            pick()?
        }
    };
    eprintln!("vm fetch: kernel package {kernel_pkg}");

    let mut wanted: BTreeSet<String> = TOOLS.iter().map(|s| s.to_string()).collect();
    wanted.extend(simulated);
    wanted.insert(kernel_pkg.clone());

    let missing: Vec<&String> = wanted
        .iter()
        .filter(|p| find_deb(&paths.debs, p).is_none())
        .collect();
    if !missing.is_empty() {
        eprintln!("vm fetch: downloading {} packages", missing.len());
        if download(&paths.debs, &missing).is_err() {
            eprintln!("vm fetch: download failed; running apt-get update once and retrying");
            crate::run(Command::new("apt-get").arg("update"))?;
            download(&paths.debs, &missing)?;
        }
    }

    for pkg in &wanted {
        let deb =
            find_deb(&paths.debs, pkg).with_context(|| format!("{pkg}: no .deb after download"))?;
        let dest = if *pkg == kernel_pkg {
            paths.kernels.join(pkg)
        } else {
            paths.root.clone()
        };
        extract(&deb, &dest)?;
    }
    fs::write(paths.cache.join("kernel-package"), &kernel_pkg)?;
    eprintln!(
        "vm fetch: done ({} packages in {})",
        wanted.len(),
        paths.debs.display()
    );
    Ok(())
}

/// The versioned kernel image package that `linux-image-amd64` depends on.
fn kernel_package() -> Result<String> {
    let out = Command::new("apt-cache")
        .args(["depends", "linux-image-amd64"])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        if let Some(dep) = line.trim().strip_prefix("Depends: ")
            && dep.starts_with("linux-image-")
        {
            return Ok(dep.trim().to_string());
        }
    }
    bail!("apt-cache depends linux-image-amd64 named no linux-image-*; run apt-get update")
}

/// Packages that `apt-get install -s --no-install-recommends` would install for `pkgs`.
fn simulated_installs(pkgs: &[&str]) -> Result<Vec<String>> {
    let out = Command::new("apt-get")
        .args(["install", "-s", "--no-install-recommends"])
        .args(pkgs)
        .output()
        .context("running apt-get install -s")?;
    if !out.status.success() {
        bail!(
            "apt-get install -s failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .filter_map(|l| l.strip_prefix("Inst "))
        .filter_map(|l| l.split_whitespace().next())
        .map(|name| name.split(':').next().unwrap_or(name).to_string())
        .collect())
}

fn download(dir: &Path, pkgs: &[&String]) -> Result<()> {
    let status = Command::new("apt-get")
        .arg("download")
        .args(pkgs)
        .current_dir(dir)
        .status()
        .context("running apt-get download")?;
    if !status.success() {
        bail!("apt-get download failed: {status}");
    }
    Ok(())
}

/// The downloaded `.deb` of package `pkg` (files are named `NAME_VERSION_ARCH.deb`).
pub fn find_deb(dir: &Path, pkg: &str) -> Option<std::path::PathBuf> {
    let prefix = format!("{pkg}_");
    let entries = fs::read_dir(dir).ok()?;
    entries.filter_map(|e| e.ok()).map(|e| e.path()).find(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".deb"))
    })
}

/// `dpkg -x DEB DEST`, once per deb (a marker file records it).
fn extract(deb: &Path, dest: &Path) -> Result<()> {
    fs::create_dir_all(dest)?;
    let name = deb.file_name().and_then(|n| n.to_str()).unwrap_or("deb");
    let marker_dir = dest.join(".extracted");
    fs::create_dir_all(&marker_dir)?;
    let marker = marker_dir.join(name);
    if marker.exists() {
        return Ok(());
    }
    let status = Command::new("dpkg").arg("-x").arg(deb).arg(dest).status()?;
    if !status.success() {
        bail!("dpkg -x {} failed: {status}", deb.display());
    }
    fs::write(marker, b"")?;
    Ok(())
}
