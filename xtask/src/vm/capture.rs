//! `cargo xtask vm capture`: ipvsadm's generic netlink traffic, captured in the VM, as test vectors.
//!
//! Runs `ipvs/tests/vectors/capture.sh` in the VM (each ipvsadm command under its own tcpdump on
//! an `nlmon0` tap), then reads every `NAME.pcap` (link type NETLINK: a 16-byte cooked header
//! whose last two bytes are the netlink protocol, then the netlink message) and writes
//! `ipvs/tests/vectors/NAME.txt`: the command in a comment, then one record per generic netlink
//! packet (`>` user to kernel, `<` kernel to user; told apart by NLM_F_REQUEST, since nlmon marks
//! every packet "outgoing") with its bytes in hex.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::{Paths, fetch, run};

const LINKTYPE_NETLINK: u32 = 253;
const NETLINK_GENERIC: u16 = 16;
const NLM_F_REQUEST: u16 = 1;

/// Runs the capture script and writes the vectors.
pub fn capture(paths: &Paths) -> Result<()> {
    let vectors = crate::root().join("ipvs/tests/vectors");
    let out = paths.cache.join("capture");
    let provenance = provenance(paths);
    // nlmon now and then misses a packet under TCG: retry (bounded) until every request in
    // every capture has its ACK, error or NLMSG_DONE.
    let mut texts = Vec::new();
    for attempt in 1..=3 {
        let report = run::run(
            paths,
            &run::RunConfig {
                script: vectors.join("capture.sh"),
                out: out.clone(),
                timeout: Duration::from_secs(300),
                add: Vec::new(),
                memory_mb: 512,
                smp: 1,
            },
        )?;
        if report.rc != 0 {
            bail!("capture.sh exited {}; see {}", report.rc, out.display());
        }
        eprintln!(
            "vm capture: attempt {attempt}: VM run took {:.1} s",
            report.seconds
        );
        let mut names: Vec<String> = fs::read_dir(&out)?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".pcap"))
                    .map(str::to_string)
            })
            .collect();
        names.sort();
        texts.clear();
        let mut incomplete = Vec::new();
        for name in &names {
            let (text, complete) = vector_text(&out, name, &provenance)?;
            if !complete {
                incomplete.push(name.clone());
            }
            texts.push((name.clone(), text));
        }
        if incomplete.is_empty() {
            break;
        }
        eprintln!("vm capture: incomplete captures: {incomplete:?}");
        if attempt == 3 {
            bail!("captures still incomplete after 3 attempts: {incomplete:?}");
        }
    }
    let names: Vec<&String> = texts.iter().map(|(n, _)| n).collect();
    for (name, text) in &texts {
        fs::write(vectors.join(format!("{name}.txt")), text)?;
    }
    eprintln!(
        "vm capture: wrote {} vectors to {}",
        names.len(),
        vectors.display()
    );
    Ok(())
}

/// Kernel and ipvsadm versions, from the cached debs.
fn provenance(paths: &Paths) -> String {
    let version = |pkg: &str| {
        fetch::find_deb(&paths.debs, pkg)
            .and_then(|deb| {
                Command::new("dpkg-deb")
                    .arg("-f")
                    .arg(deb)
                    .arg("Version")
                    .output()
                    .ok()
            })
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "?".into())
    };
    let kernel_pkg = fs::read_to_string(paths.cache.join("kernel-package")).unwrap_or_default();
    let kernel_pkg = kernel_pkg.trim();
    format!(
        "# Captured by `cargo xtask vm capture` (tcpdump on nlmon0 in the VM): {kernel_pkg} {}, ipvsadm {}.\n",
        version(kernel_pkg),
        version("ipvsadm")
    )
}

/// The vector file's text, and whether every request in it got its ACK, error or DONE.
fn vector_text(dir: &Path, name: &str, provenance: &str) -> Result<(String, bool)> {
    let read =
        |ext: &str| fs::read_to_string(dir.join(format!("{name}.{ext}"))).unwrap_or_default();
    let mut text = String::new();
    text.push_str(&format!("# {}\n", read("cmd").trim()));
    text.push_str(&format!("# exit status {}", read("rc").trim()));
    let output = read("stdout");
    for line in output.lines() {
        text.push_str(&format!("\n#   | {line}"));
    }
    text.push('\n');
    text.push_str(provenance);
    text.push_str("# Records: `>` user to kernel, `<` kernel to user; then the packet in hex.\n");
    let pcap = fs::read(dir.join(format!("{name}.pcap")))?;
    let mut requests = Vec::new();
    let mut answered = Vec::new();
    for packet in pcap_packets(&pcap)? {
        let Some(msg) = packet.get(16..) else {
            continue;
        };
        let protocol = u16::from_be_bytes([packet[14], packet[15]]);
        if protocol != NETLINK_GENERIC || msg.len() < 16 {
            continue;
        }
        let flags = u16::from_le_bytes([msg[6], msg[7]]);
        let seq = &msg[8..16];
        if flags & NLM_F_REQUEST != 0 {
            requests.push(seq.to_vec());
        } else {
            // The last message of a packet tells whether it ends an exchange (ACK/error/DONE).
            let mut off = 0;
            let mut last_type = 0;
            while off + 16 <= msg.len() {
                let len = u32::from_le_bytes([msg[off], msg[off + 1], msg[off + 2], msg[off + 3]])
                    as usize;
                last_type = u16::from_le_bytes([msg[off + 4], msg[off + 5]]);
                off += (len.max(16) + 3) & !3;
            }
            if last_type == 2 || last_type == 3 {
                answered.push(seq.to_vec());
            }
        }
        text.push_str(if flags & NLM_F_REQUEST != 0 {
            ">\n"
        } else {
            "<\n"
        });
        for chunk in msg.chunks(16) {
            let line: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            text.push_str(&line.join(" "));
            text.push('\n');
        }
    }
    let complete = !requests.is_empty() && requests.iter().all(|r| answered.contains(r));
    Ok((text, complete))
}

/// The packets of a little-endian, microsecond pcap file of link type NETLINK.
fn pcap_packets(data: &[u8]) -> Result<Vec<&[u8]>> {
    let u32_at = |off: usize| -> Result<u32> {
        let b = data.get(off..off + 4).context("truncated pcap")?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if u32_at(0)? != 0xa1b2_c3d4 {
        bail!("not a little-endian pcap file");
    }
    if u32_at(20)? != LINKTYPE_NETLINK {
        bail!("pcap link type {} is not NETLINK", u32_at(20)?);
    }
    let mut packets = Vec::new();
    let mut off = 24;
    while off < data.len() {
        let caplen = u32_at(off + 8)? as usize;
        let start = off + 16;
        let packet = data
            .get(start..start + caplen)
            .context("truncated pcap record")?;
        packets.push(packet);
        off = start + caplen;
    }
    Ok(packets)
}
