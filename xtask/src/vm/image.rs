//! `cargo xtask vm build`: the initramfs (busybox, `/init`, modules, ipvsadm, ip, tcpdump, nft,
//! conntrack).
//!
//! Also holds a minimal writer of the `newc` cpio format, used for the base image (then gzip'd)
//! and for the small per-run archive that `vm run` appends.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use super::Paths;

/// Modules loaded at boot, in order; their dependencies come along through `modules.dep`.
pub const MODULES: &[&str] = &[
    "crc32c_generic",
    "libcrc32c",
    "nf_defrag_ipv4",
    "nf_defrag_ipv6",
    "nf_conntrack",
    "ip_vs",
    "ip_vs_rr",
    "ip_vs_wrr",
    "ip_vs_sh",
    "ip_vs_mh",
    "ip_vs_lc",
    "ip_vs_wlc",
    "ip_vs_sed",
    "ip_vs_nq",
    "ip_vs_dh",
    // nf_tables for the agent's netfilter half (the expressions its rules use) and
    // ctnetlink (`conntrack` in scenarios).
    "nfnetlink",
    "nf_tables",
    "nf_nat",
    "nft_chain_nat",
    "nft_nat",
    "nft_masq",
    "nft_ct",
    "nft_fib",
    "nft_fib_ipv4",
    "nft_fib_ipv6",
    "nft_reject",
    "nft_reject_ipv4",
    "nft_reject_ipv6",
    "nft_numgen",
    "nf_conntrack_netlink",
    "nlmon",
    "dummy",
    "veth",
    "llc",
    "stp",
    "bridge",
];

/// Dynamically linked programs copied into the image: (path in the extracted debs or the host,
/// path in the VM).
const PROGRAMS: &[(&[&str], &str)] = &[
    (&["sbin/ipvsadm", "usr/sbin/ipvsadm"], "/usr/sbin/ipvsadm"),
    (
        &["bin/ip", "sbin/ip", "usr/bin/ip", "usr/sbin/ip"],
        "/sbin/ip",
    ),
    (
        &["usr/bin/tcpdump", "usr/sbin/tcpdump"],
        "/usr/sbin/tcpdump",
    ),
    // To inspect the agent's tables (`nft list`) and conntrack entries from scenarios.
    (&["usr/sbin/nft", "sbin/nft"], "/usr/sbin/nft"),
    (
        &["usr/sbin/conntrack", "sbin/conntrack"],
        "/usr/sbin/conntrack",
    ),
];

/// The `/init` of the image. A per-run archive may add `/script` and files.
const INIT: &str = r#"#!/bin/sh
# svcroute VM init: mount, load modules, run /script, send /out over ttyS1, power off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /tmp /run /out
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
for m in $(cat /etc/modules-load); do modprobe "$m" || echo "init: modprobe $m failed"; done
/sbin/ip link set lo up
echo "init: ready in $(cut -d' ' -f1 /proc/uptime) s"
if [ -f /script ]; then
  /bin/sh /script >/out/stdout 2>/out/stderr
  echo $? >/out/rc
  echo "init: script exited $(cat /out/rc) at $(cut -d' ' -f1 /proc/uptime) s"
else
  echo "init: no /script; starting a shell"
  setsid cttyhack /bin/sh
fi
# Hand /out to the host: one hex block per file on the second serial port.
stty -F /dev/ttyS1 raw -echo 2>/dev/null
{
  echo "@@SVCROUTE-OUT-BEGIN"
  cd /out && for f in $(find . -type f | sort); do
    echo "@@FILE ${f#./}"
    od -An -v -tx1 "$f"
    echo "@@END"
  done
  echo "@@SVCROUTE-OUT-DONE"
} >/dev/ttyS1
sync
poweroff -f
"#;

/// Builds `.cache/vm/initrd.gz`.
pub fn build(paths: &Paths, add: &[(PathBuf, String)]) -> Result<()> {
    let started = std::time::Instant::now();
    if !paths.root.exists() || !paths.kernel()?.exists() {
        bail!("run `cargo xtask vm fetch` first");
    }
    let kver = kernel_version(paths)?;
    let stage = &paths.stage;
    if stage.exists() {
        fs::remove_dir_all(stage)?;
    }
    for dir in [
        "bin", "sbin", "usr/bin", "usr/sbin", "lib64", "proc", "sys", "dev", "tmp", "run", "out",
        "etc", "root", "var/run",
    ] {
        fs::create_dir_all(stage.join(dir))?;
    }

    // busybox and its applets.
    let busybox = first_existing(&paths.root, &["bin/busybox", "usr/bin/busybox"])
        .context("busybox not in the cache")?;
    copy_file(&busybox, &stage.join("bin/busybox"))?;
    let list = Command::new(&busybox)
        .arg("--list-full")
        .output()
        .context("busybox --list-full")?;
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let applet = applet.trim();
        if applet.is_empty()
            || applet == "bin/busybox"
            || PROGRAMS
                .iter()
                .any(|(_, dest)| dest.trim_start_matches('/') == applet)
        {
            continue;
        }
        let link = stage.join(applet);
        if let Some(parent) = link.parent() {
            fs::create_dir_all(parent)?;
        }
        if !link.exists() {
            std::os::unix::fs::symlink("/bin/busybox", &link)?;
        }
    }

    // Programs and their libraries.
    let lib_path = library_path(&paths.root);
    for (candidates, dest) in PROGRAMS {
        let src = first_existing(&paths.root, candidates)
            .or_else(|| {
                candidates
                    .iter()
                    .map(|c| Path::new("/").join(c))
                    .find(|p| p.is_file())
            })
            .with_context(|| format!("none of {candidates:?} found"))?;
        copy_file(&src, &stage.join(dest.trim_start_matches('/')))?;
        copy_libraries(&src, &lib_path, stage)?;
    }

    // Modules.
    copy_modules(paths, &kver, stage)?;
    fs::write(stage.join("etc/modules-load"), MODULES.join("\n") + "\n")?;

    // Small /etc so that tools find users, protocols and services.
    fs::write(stage.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n")?;
    fs::write(stage.join("etc/group"), "root:x:0:\n")?;
    fs::write(
        stage.join("etc/protocols"),
        "ip 0 IP\nicmp 1 ICMP\ntcp 6 TCP\nudp 17 UDP\nipv6-icmp 58 IPv6-ICMP\nsctp 132 SCTP\n",
    )?;
    fs::write(
        stage.join("etc/services"),
        "http 80/tcp\ndomain 53/tcp\ndomain 53/udp\nhttps 443/tcp\n",
    )?;

    // Extra files.
    for (src, dest) in add {
        copy_file(src, &stage.join(dest.trim_start_matches('/')))?;
    }

    let init = stage.join("init");
    fs::write(&init, INIT)?;
    fs::set_permissions(&init, fs::Permissions::from_mode(0o755))?;

    let mut cpio = Vec::new();
    write_tree(&mut cpio, stage)?;
    finish(&mut cpio);
    gzip(&cpio, &paths.initrd)?;
    eprintln!(
        "vm build: {} ({} KiB cpio, {} KiB gzip) in {:.1} s",
        paths.initrd.display(),
        cpio.len() / 1024,
        fs::metadata(&paths.initrd)?.len() / 1024,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The kernel release (`6.1.0-N-amd64`) of the extracted kernel deb.
pub fn kernel_version(paths: &Paths) -> Result<String> {
    let dir = paths.kernel()?.join("lib/modules");
    let entry = fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok())
        .find(|e| e.path().is_dir())
        .context("no kernel modules directory")?;
    Ok(entry.file_name().to_string_lossy().into_owned())
}

/// The kernel image of the extracted kernel deb.
pub fn vmlinuz(paths: &Paths) -> Result<PathBuf> {
    let kver = kernel_version(paths)?;
    let path = paths.kernel()?.join("boot").join(format!("vmlinuz-{kver}"));
    if !path.is_file() {
        bail!("{} missing: run `cargo xtask vm fetch`", path.display());
    }
    Ok(path)
}

fn first_existing(base: &Path, candidates: &[&str]) -> Option<PathBuf> {
    candidates
        .iter()
        .map(|c| base.join(c))
        .find(|p| p.is_file())
}

fn library_path(root: &Path) -> String {
    [
        "lib/x86_64-linux-gnu",
        "usr/lib/x86_64-linux-gnu",
        "lib",
        "usr/lib",
    ]
    .iter()
    .map(|d| root.join(d).display().to_string())
    .collect::<Vec<_>>()
    .join(":")
}

/// Copies a file's contents (following symlinks), creating parent folders, keeping its mode.
fn copy_file(src: &Path, dest: &Path) -> Result<()> {
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent)?;
    }
    if dest.symlink_metadata().is_ok() {
        fs::remove_file(dest)?;
    }
    fs::copy(src, dest)
        .with_context(|| format!("copying {} to {}", src.display(), dest.display()))?;
    Ok(())
}

/// Copies the shared libraries `ldd` lists for `program` (resolved against the extracted debs
/// first, then the host) into the image under the same paths.
fn copy_libraries(program: &Path, lib_path: &str, stage: &Path) -> Result<()> {
    let out = Command::new("ldd")
        .arg(program)
        .env("LD_LIBRARY_PATH", lib_path)
        .output()
        .context("running ldd")?;
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        let line = line.trim();
        if line.contains("not found") {
            bail!("ldd {}: {line}", program.display());
        }
        let (name, path) = match line.split_once(" => ") {
            Some((name, rest)) => (name.trim(), rest.split_whitespace().next().unwrap_or("")),
            None => {
                let path = line.split_whitespace().next().unwrap_or("");
                (path, path)
            }
        };
        if !path.starts_with('/') {
            continue; // linux-vdso.so.1
        }
        let dest = if name.starts_with('/') {
            stage.join(name.trim_start_matches('/')) // the dynamic loader, under its own path
        } else {
            stage.join("lib/x86_64-linux-gnu").join(name)
        };
        copy_file(Path::new(path), &dest)?;
    }
    Ok(())
}

/// Copies the modules in [`MODULES`] and their dependencies, then runs depmod on the image.
fn copy_modules(paths: &Paths, kver: &str, stage: &Path) -> Result<()> {
    let kernel_dir = paths.kernel()?;
    let kernel_mods = kernel_dir.join("lib/modules").join(kver);
    if !kernel_mods.join("modules.dep").exists() {
        depmod(paths, &kernel_dir, kver)?;
    }
    let dep_text = fs::read_to_string(kernel_mods.join("modules.dep"))?;
    let mut deps: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for line in dep_text.lines() {
        let Some((path, rest)) = line.split_once(':') else {
            continue;
        };
        deps.insert(
            module_name(path),
            (
                path.to_string(),
                rest.split_whitespace().map(str::to_string).collect(),
            ),
        );
    }
    let mut files: BTreeSet<String> = BTreeSet::new();
    for name in MODULES {
        let key = name.replace('-', "_");
        let Some((path, more)) = deps.get(&key) else {
            // Built into the kernel (or absent): modprobe will say so at boot.
            eprintln!("vm build: module {name} is not a loadable module here");
            continue;
        };
        files.insert(path.clone());
        files.extend(more.iter().cloned());
    }
    let dest_mods = stage.join("lib/modules").join(kver);
    for file in &files {
        copy_file(&kernel_mods.join(file), &dest_mods.join(file))?;
    }
    for meta in [
        "modules.builtin",
        "modules.builtin.modinfo",
        "modules.order",
    ] {
        let src = kernel_mods.join(meta);
        if src.exists() {
            copy_file(&src, &dest_mods.join(meta))?;
        }
    }
    depmod(paths, stage, kver)
}

/// `kernel/net/netfilter/ipvs/ip_vs.ko` → `ip_vs`.
fn module_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let base = file.split(".ko").next().unwrap_or(file);
    base.replace('-', "_")
}

/// Runs kmod's depmod (from the extracted kmod deb) on `base/lib/modules/KVER`.
fn depmod(paths: &Paths, base: &Path, kver: &str) -> Result<()> {
    let kmod = first_existing(&paths.root, &["bin/kmod", "usr/bin/kmod"])
        .context("kmod not in the cache")?;
    let tools = paths.cache.join("tools");
    fs::create_dir_all(&tools)?;
    let link = tools.join("depmod");
    if link.symlink_metadata().is_ok() {
        fs::remove_file(&link)?;
    }
    std::os::unix::fs::symlink(&kmod, &link)?;
    let status = Command::new(&link)
        .arg("-b")
        .arg(base)
        .arg(kver)
        .env("LD_LIBRARY_PATH", library_path(&paths.root))
        .status()
        .context("running depmod")?;
    if !status.success() {
        bail!("depmod -b {} {kver} failed: {status}", base.display());
    }
    Ok(())
}

/// Appends one `newc` cpio entry.
pub fn write_entry(out: &mut Vec<u8>, name: &str, mode: u32, data: &[u8]) {
    let ino = out.len() as u32; // unique enough within one archive
    let fields = [
        ino,
        mode,
        0,
        0,
        1,
        0,
        data.len() as u32,
        0,
        0,
        0,
        0,
        name.len() as u32 + 1,
        0,
    ];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08X}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad4(out);
    out.extend_from_slice(data);
    pad4(out);
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// Appends the trailer entry of a cpio archive.
pub fn finish(out: &mut Vec<u8>) {
    write_entry(out, "TRAILER!!!", 0, &[]);
}

/// Appends a directory tree (files, folders, symlinks) to a cpio archive, paths relative to it.
pub fn write_tree(out: &mut Vec<u8>, base: &Path) -> Result<()> {
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let full = base.join(&rel);
        let mut entries: Vec<_> = fs::read_dir(&full)?.filter_map(|e| e.ok()).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let rel_child = rel.join(entry.file_name());
            let name = rel_child.to_string_lossy().into_owned();
            let meta = entry.path().symlink_metadata()?;
            if meta.file_type().is_symlink() {
                let target = fs::read_link(entry.path())?;
                write_entry(out, &name, 0o120777, target.to_string_lossy().as_bytes());
            } else if meta.is_dir() {
                write_entry(out, &name, 0o040755, &[]);
                stack.push(rel_child);
            } else {
                let data = fs::read(entry.path())?;
                write_entry(out, &name, 0o100000 | (meta.mode() & 0o7777), &data);
            }
        }
    }
    Ok(())
}

fn gzip(data: &[u8], dest: &Path) -> Result<()> {
    let file = fs::File::create(dest)?;
    let mut child = Command::new("gzip")
        .arg("-6")
        .arg("-n")
        .stdin(Stdio::piped())
        .stdout(file)
        .spawn()
        .context("starting gzip")?;
    child.stdin.take().context("gzip stdin")?.write_all(data)?;
    let status = child.wait()?;
    if !status.success() {
        bail!("gzip failed: {status}");
    }
    Ok(())
}
