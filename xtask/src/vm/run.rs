//! `cargo xtask vm run`: one boot of the VM with a script, bounded by a timeout.
//!
//! The script and any extra files travel in a second, uncompressed cpio archive appended to the
//! base initramfs (the kernel unpacks concatenated archives), so a run needs no rebuild. The
//! console (ttyS0) goes to `console.log`; `/init` writes the files under `/out` as hex blocks to
//! ttyS1, which qemu writes to a host file that is decoded here.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::{Paths, image};

/// One run's settings.
pub struct RunConfig {
    /// Shell script run inside the VM as `/bin/sh /script`.
    pub script: PathBuf,
    /// Host folder receiving `/out` (emptied first).
    pub out: PathBuf,
    /// Wall-clock bound for the whole boot-run-poweroff.
    pub timeout: Duration,
    /// Extra host files: (source, absolute path in the VM).
    pub add: Vec<(PathBuf, String)>,
    /// Guest memory.
    pub memory_mb: u32,
    /// Virtual CPUs (`-smp`); with more than one, qemu runs one host thread per vCPU
    /// (multi-threaded TCG, its default for x86 guests on x86 hosts).
    pub smp: u32,
}

/// What a run produced.
pub struct RunReport {
    /// The script's exit status.
    pub rc: i32,
    /// Wall time of the qemu process.
    pub seconds: f64,
}

/// Boots the VM, runs the script, collects `/out` into `config.out`.
pub fn run(paths: &Paths, config: &RunConfig) -> Result<RunReport> {
    if !paths.initrd.exists() {
        bail!(
            "{} missing: run `cargo xtask vm build`",
            paths.initrd.display()
        );
    }
    let vmlinuz = image::vmlinuz(paths)?;
    let qemu = qemu_binary(paths)?;

    if config.out.exists() {
        fs::remove_dir_all(&config.out)?;
    }
    fs::create_dir_all(&config.out)?;
    let work = config.out.join(".vm");
    fs::create_dir_all(&work)?;

    // Base initramfs + per-run archive.
    let mut initrd = fs::read(&paths.initrd)?;
    let mut extra = Vec::new();
    let script =
        fs::read(&config.script).with_context(|| format!("reading {}", config.script.display()))?;
    image::write_entry(&mut extra, "script", 0o100755, &script);
    for (src, dest) in &config.add {
        let data = fs::read(src).with_context(|| format!("reading {}", src.display()))?;
        let dest = dest.trim_start_matches('/');
        // Parent folders first (cpio does not create them).
        let mut parent = String::new();
        let parts: Vec<&str> = dest.split('/').collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(part);
            image::write_entry(&mut extra, &parent, 0o040755, &[]);
        }
        image::write_entry(&mut extra, dest, 0o100755, &data);
    }
    image::finish(&mut extra);
    while !initrd.len().is_multiple_of(4) {
        initrd.push(0);
    }
    initrd.extend_from_slice(&extra);
    let initrd_path = work.join("initrd");
    fs::write(&initrd_path, &initrd)?;

    let console = config.out.join("console.log");
    let serial_out = work.join("ttyS1.txt");
    let mut cmd = Command::new(&qemu);
    cmd.env("LD_LIBRARY_PATH", qemu_library_path(paths))
        .arg("-L")
        .arg(paths.root.join("usr/share/qemu"))
        .args([
            "-accel",
            "tcg",
            "-m",
            &config.memory_mb.to_string(),
            "-smp",
            &config.smp.max(1).to_string(),
        ])
        .args([
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-no-reboot",
            "-nic",
            "none",
        ])
        .arg("-serial")
        .arg(format!("file:{}", console.display()))
        .arg("-serial")
        .arg(format!("file:{}", serial_out.display()))
        .arg("-kernel")
        .arg(&vmlinuz)
        .arg("-initrd")
        .arg(&initrd_path)
        // no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check can
        // fail ("IO-APIC + timer doesn't work") and panic the boot; the check proves nothing
        // about the code under test.
        .args([
            "-append",
            "console=ttyS0 quiet panic=-1 rdinit=/init no_timer_check",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());

    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", qemu.display()))?;
    let pid = child.id();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() > config.timeout {
            eprintln!(
                "vm run: timeout after {:?}; killing qemu (pid {pid})",
                config.timeout
            );
            child.kill()?; // SIGKILL to this PID only
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let seconds = started.elapsed().as_secs_f64();
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    let Some(status) = status else {
        bail!(
            "the VM did not power off within {:?}; see {}",
            config.timeout,
            console.display()
        );
    };
    if !status.success() {
        bail!("qemu exited with {status}: {stderr}");
    }

    let raw = fs::read_to_string(&serial_out).unwrap_or_default();
    let files = decode_out(&raw)?;
    for (name, data) in &files {
        if name.contains("..") || name.starts_with('/') {
            bail!("refusing VM output file name {name:?}");
        }
        let dest = config.out.join(name);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(dest, data)?;
    }
    let rc = files
        .iter()
        .find(|(n, _)| n == "rc")
        .and_then(|(_, d)| String::from_utf8_lossy(d).trim().parse().ok())
        .with_context(|| format!("the VM returned no rc; see {}", console.display()))?;
    Ok(RunReport { rc, seconds })
}

/// Parses the `@@FILE name` / hex / `@@END` blocks that `/init` writes to ttyS1.
fn decode_out(raw: &str) -> Result<Vec<(String, Vec<u8>)>> {
    if !raw.contains("@@SVCROUTE-OUT-DONE") {
        bail!("the VM's output stream is incomplete ({} bytes)", raw.len());
    }
    let mut files = Vec::new();
    let mut current: Option<(String, Vec<u8>)> = None;
    for line in raw.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(name) = line.strip_prefix("@@FILE ") {
            current = Some((name.to_string(), Vec::new()));
        } else if line == "@@END" {
            files.extend(current.take());
        } else if let Some((_, data)) = current.as_mut() {
            for byte in line.split_whitespace() {
                data.push(
                    u8::from_str_radix(byte, 16).with_context(|| format!("bad hex {byte:?}"))?,
                );
            }
        }
    }
    Ok(files)
}

fn qemu_binary(paths: &Paths) -> Result<PathBuf> {
    let path = paths.root.join("usr/bin/qemu-system-x86_64");
    if !path.is_file() {
        bail!("{} missing: run `cargo xtask vm fetch`", path.display());
    }
    Ok(path)
}

fn qemu_library_path(paths: &Paths) -> String {
    let dirs = ["lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu"];
    let mut all: Vec<String> = dirs
        .iter()
        .map(|d| paths.root.join(d).display().to_string())
        .collect();
    // Some qemu dependencies install into sub-folders (e.g. pulseaudio, ceph).
    for d in dirs {
        if let Ok(entries) = fs::read_dir(paths.root.join(d)) {
            for e in entries.filter_map(|e| e.ok()) {
                if e.path().is_dir() && !Path::new(&e.file_name()).starts_with(".") {
                    all.push(e.path().display().to_string());
                }
            }
        }
    }
    all.join(":")
}
