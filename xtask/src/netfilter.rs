//! `cargo xtask netfilter-host`: the agent's nftables table on the host's own kernel, in a
//! private network namespace (`tests/netfilter_host.rs`). Installs Debian's `nftables` when
//! `nft` is missing, and `conntrack` (the conntrack cleanup's oracle) (the host kernel has
//! nf_tables and ctnetlink; no VM is needed).
//!
//! `cargo xtask nft-capture`: the nf_tables netlink messages Debian's `nft` sends and receives,
//! as test vectors for the `nft/` codec. Runs `nft/tests/vectors/capture.sh` in a private
//! network namespace, each nft command under `strace -e write=all -e read=all`, which dumps
//! the bytes of every `sendto`/`sendmsg` (`>`) and `recvmsg` (`<`) on the netlink socket, and
//! writes `nft/tests/vectors/NAME.txt` in the IPVS vectors' format: the command, its exit status
//! and output in comments, then one record per packet in hex.
//!
//! `cargo xtask ct-capture`: the same for ctnetlink, Debian's `conntrack -D` deleting UDP
//! entries (`nft/tests/ct_vectors/capture.sh`, installing `conntrack` when missing).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{cargo, run};

/// Installs Debian's `package` with apt-get unless one of `paths` is already there.
pub(crate) fn ensure_package(package: &str, paths: &[&str]) -> Result<()> {
    if paths.iter().any(|p| Path::new(p).exists()) {
        return Ok(());
    }
    let install =
        || run(Command::new("apt-get").args(["install", "-y", "--no-install-recommends", package]));
    if install().is_err() {
        run(Command::new("apt-get").arg("update"))?;
        install()?;
    }
    Ok(())
}

/// Installs `nftables` unless `nft` is already there.
pub fn ensure_nft() -> Result<()> {
    ensure_package("nftables", &["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"])
}

/// Runs the host netfilter tests.
pub fn host(_args: &[String]) -> Result<()> {
    ensure_nft()?;
    ensure_package("conntrack", &["/usr/sbin/conntrack", "/sbin/conntrack"])?;
    run(cargo().args(["test", "--test", "netfilter_host", "--", "--ignored"]))
}

/// Captures the vectors.
pub fn capture(_args: &[String]) -> Result<()> {
    ensure_nft()?;
    ensure_package("strace", &["/usr/bin/strace"])?;
    capture_into("nft", &["--version"], "nft-capture", "nft/tests/vectors")
}

/// Captures the ctnetlink vectors (`cargo xtask ct-capture`): Debian's `conntrack` deleting
/// UDP entries in a network namespace, into `nft/tests/ct_vectors/`.
pub fn ct_capture(_args: &[String]) -> Result<()> {
    ensure_package("conntrack", &["/usr/sbin/conntrack", "/sbin/conntrack"])?;
    ensure_package("strace", &["/usr/bin/strace"])?;
    capture_into(
        "conntrack",
        &["--version"],
        "ct-capture",
        "nft/tests/ct_vectors",
    )
}

/// Runs `DIR/capture.sh` in a private network namespace and writes one `NAME.txt` per step
/// into `DIR`: the command, its exit status and output, the tool's version, the records.
fn capture_into(tool: &str, version_args: &[&str], task: &str, dir: &str) -> Result<()> {
    let vectors = crate::root().join(dir);
    let out = std::env::temp_dir().join(format!("svcroute-{task}-{}", std::process::id()));
    std::fs::create_dir_all(&out)?;
    run(Command::new("unshare")
        .args(["-n", "sh"])
        .arg(vectors.join("capture.sh"))
        .arg(&out))?;
    let version = Command::new(tool)
        .args(version_args)
        .output()
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text).trim().to_string()
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let provenance = format!(
        "# Captured by `cargo xtask {task}` (strace of Debian's {tool} in a network namespace): {version}, kernel {}.\n",
        kernel.trim()
    );
    let mut names: Vec<String> = std::fs::read_dir(&out)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".strace"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    for name in &names {
        let read = |ext: &str| {
            std::fs::read_to_string(out.join(format!("{name}.{ext}"))).unwrap_or_default()
        };
        let mut text = format!(
            "# {}\n# exit status {}",
            read("cmd").trim(),
            read("rc").trim()
        );
        for line in read("stdout").lines() {
            text.push_str(&format!("\n#   | {line}"));
        }
        text.push('\n');
        text.push_str(&provenance);
        text.push_str(
            "# Records: `>` user to kernel, `<` kernel to user; then the packet in hex.\n",
        );
        text.push_str(&records(&read("strace")).with_context(|| format!("{name}.strace"))?);
        std::fs::write(vectors.join(format!("{name}.txt")), text)?;
    }
    let _ = std::fs::remove_dir_all(&out);
    eprintln!(
        "{task}: wrote {} vectors to {}",
        names.len(),
        vectors.display()
    );
    Ok(())
}

/// strace's hex dumps as records: a `>` or `<` line, then the bytes, 16 a line.
fn records(strace: &str) -> Result<String> {
    let mut packets: Vec<(char, Vec<u8>)> = Vec::new();
    for line in strace.lines() {
        if let Some(dump) = line.strip_prefix(" | ") {
            let hex = dump.get(7..dump.len().min(56)).unwrap_or("");
            let Some((_, bytes)) = packets.last_mut() else {
                bail!("a hex dump before any call: {line}");
            };
            for tok in hex.split_whitespace() {
                bytes.push(u8::from_str_radix(tok, 16).with_context(|| format!("{line:?}"))?);
            }
            continue;
        }
        let call = line
            .split_once(' ')
            .map_or(line, |(_, rest)| rest)
            .trim_start();
        if call.starts_with("sendto(") || call.starts_with("sendmsg(") {
            packets.push(('>', Vec::new()));
        } else if call.starts_with("recvmsg(") || call.starts_with("recvfrom(") {
            packets.push(('<', Vec::new()));
        }
    }
    let mut text = String::new();
    for (dir, bytes) in packets.iter().filter(|(_, b)| !b.is_empty()) {
        text.push(*dir);
        text.push('\n');
        for chunk in bytes.chunks(16) {
            let line: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            text.push_str(&line.join(" "));
            text.push('\n');
        }
    }
    Ok(text)
}
