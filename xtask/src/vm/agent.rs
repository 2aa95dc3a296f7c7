//! `cargo xtask vm test-agent` and `cargo xtask vm bench`: the node agent on a real kernel.
//!
//! Both prepare everything on a fresh machine and skip what is cached: the rustup target
//! `x86_64-unknown-linux-musl`, the VM's Debian packages (`vm fetch`, which runs `apt-get
//! update` when the lists are missing), the initramfs (`vm build`), and the static agent
//! ([`static_agent`]: Debian's `musl-tools` for ring's C, then `cargo build --release --target
//! x86_64-unknown-linux-musl` with the `api` feature). Nothing comes from anywhere but
//! crates.io, rustup and Debian's archive. When the VM cannot boot, they fail; they never skip.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::{Paths, fetch, image, run};

const MUSL: &str = "x86_64-unknown-linux-musl";

fn target_dir() -> PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| crate::root().join("target"))
}

/// The C compiler for musl that ring's build script (kube-rs's TLS through rustls) uses.
const MUSL_CC: (&str, &str) = ("CC_x86_64_unknown_linux_musl", "musl-gcc");

/// The static agent with every feature (the API source included), as the VM tests and the
/// container image (`deploy/Containerfile`) use it: the rustup target, Debian's `musl-tools`
/// (installed with apt-get unless `musl-gcc` is there), then the release build. Returns the
/// binary.
pub fn static_agent() -> Result<PathBuf> {
    crate::ensure_target(MUSL)?;
    crate::netfilter::ensure_package(
        "musl-tools",
        &["/usr/bin/musl-gcc", "/usr/local/bin/musl-gcc"],
    )?;
    crate::run(
        crate::cargo()
            .args(["build", "--release", "--bin", "svcroute", "--target", MUSL])
            .env(MUSL_CC.0, MUSL_CC.1),
    )?;
    let agent = target_dir().join(MUSL).join("release/svcroute");
    if !agent.is_file() {
        bail!("{} missing after the build", agent.display());
    }
    Ok(agent)
}

/// `cargo xtask static-agent`: builds the static agent and prints its path.
pub fn static_agent_cli(_args: &[String]) -> Result<()> {
    println!("{}", static_agent()?.display());
    Ok(())
}

/// Everything the VM tests need; returns the static agent.
pub(super) fn prepare(paths: &Paths) -> Result<PathBuf> {
    fetch::fetch(paths, None, false)?;
    image::build(paths, &[])?;
    static_agent()
}

/// Runs the agent's kernel scenarios (`tests/agent_vm.rs`), one VM boot each.
pub fn test_agent() -> Result<()> {
    let started = std::time::Instant::now();
    let paths = Paths::new();
    let agent = prepare(&paths)?;
    crate::run(
        crate::cargo()
            .args([
                "test",
                "--test",
                "agent_vm",
                "--",
                "--ignored",
                "--test-threads",
                "1",
            ])
            .env("SVCROUTE_AGENT_BIN", &agent),
    )?;
    eprintln!(
        "vm test-agent: kernel scenarios passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[path = "../../../tests/vm/big_manifest.rs"]
mod big_manifest;
use big_manifest::big_manifest;

/// The benchmark script: the agent (both halves) from empty, a no-op resync, one endpoint
/// change (one-shot and in a running agent), then `ipvsadm -R` of the same rules from empty,
/// and the netfilter half alone (`nft-sync`) from empty, as a no-op full resync, and for the
/// endpoint change.
const BENCH: &str = r#"A=/data/svcroute
up() { cut -d' ' -f1 /proc/uptime; }
$A plan -f /data/big.yaml -o ipvsadm > /tmp/plan.txt
wc -l < /tmp/plan.txt > /out/plan_lines
t0=$(up); $A agent --once -f /data/big.yaml 2>/out/apply.log; t1=$(up)
echo "agent_apply_process $t0 $t1" >> /out/times
ipvsadm -S -n | wc -l > /out/agent_lines
t0=$(up); $A agent --once -f /data/big.yaml 2>/out/noop.log; t1=$(up)
echo "agent_noop_process $t0 $t1" >> /out/times
# With --compare: no-op resyncs of this agent and another build, interleaved on the same table.
if [ -x /data/svcroute_b ]; then
  for i in 1 2 3; do
    $A agent --once -f /data/big.yaml 2>/out/noop_a$i.log
    /data/svcroute_b agent --once -f /data/big.yaml 2>/out/noop_b$i.log
  done
fi
# Floors for a full dump of the same table: ipvsadm's own netlink listing (one GET_DEST dump
# per virtual server, as the agent's) and one read of /proc/net/ip_vs (the whole table as text).
t0=$(up); ipvsadm -L -n > /dev/null; t1=$(up)
echo "ipvsadm_list_netlink $t0 $t1" >> /out/times
t0=$(up); cat /proc/net/ip_vs > /tmp/proc_ip_vs; t1=$(up)
echo "proc_net_ip_vs_read $t0 $t1" >> /out/times
wc -l < /tmp/proc_ip_vs > /out/proc_lines
t0=$(up); $A agent --once -f /data/big9.yaml 2>/out/change_once.log; t1=$(up)
echo "agent_change_once_process $t0 $t1" >> /out/times
# A running agent: the change is incremental (no full dump).
mkdir -p /m && cp /data/big.yaml /m/c.yaml
$A agent -f /m --sync-period 1h --watch-interval-ms 100 2>/out/running.log &
P=$!
n=0; while [ $n -lt 600 ] && ! grep -q 'sync: sent' /out/running.log; do n=$((n + 1)); sleep 0.5; done
cp /data/big9.yaml /m/c.tmp && mv /m/c.tmp /m/c.yaml
n=0; while [ $n -lt 600 ] && [ "$(grep -c 'sync: sent' /out/running.log)" -lt 2 ]; do n=$((n + 1)); sleep 0.1; done
kill $P
ipvsadm -C
t0=$(up); ipvsadm -R < /tmp/plan.txt; t1=$(up)
echo "ipvsadm_restore $t0 $t1" >> /out/times
ipvsadm -S -n | wc -l > /out/ipvsadm_lines
# The netfilter half alone: its tables from empty, then one endpoint change (set elements).
nft delete table ip svcroute
t0=$(up); $A nft-sync -f /data/big.yaml > /out/nft_apply.txt; t1=$(up)
echo "nft_sync_process $t0 $t1" >> /out/times
# A full resync of the same tables: read back, compared, nothing sent.
t0=$(up); $A nft-sync -f /data/big.yaml > /out/nft_noop.txt; t1=$(up)
echo "nft_noop_process $t0 $t1" >> /out/times
t0=$(up); $A nft-sync -f /data/big9.yaml --previous /data/big.yaml > /out/nft_change.txt; t1=$(up)
echo "nft_change_process $t0 $t1" >> /out/times
"#;

/// `cargo xtask vm bench [--services N] [--smp N] [--agent PATH] [--compare PATH]`: 10,000
/// services x 10 real servers by default, on one vCPU unless `--smp`. `--agent` runs a given
/// static agent instead of building one; `--compare` adds another build whose no-op resyncs
/// alternate with the agent's on the same table (paired runs in one boot).
pub fn bench(args: &[String]) -> Result<()> {
    let mut services = 10_000;
    let mut smp = 1;
    let mut agent = None;
    let mut compare = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match a.as_str() {
            "--services" => services = value("--services N")?.parse().context("--services N")?,
            "--smp" => smp = value("--smp N")?.parse().context("--smp N")?,
            "--agent" => agent = Some(PathBuf::from(value("--agent PATH")?)),
            "--compare" => compare = Some(PathBuf::from(value("--compare PATH")?)),
            other => bail!("unknown option {other:?}"),
        }
    }
    let paths = Paths::new();
    let agent = match agent {
        Some(a) => {
            fetch::fetch(&paths, None, false)?;
            image::build(&paths, &[])?;
            a
        }
        None => prepare(&paths)?,
    };
    let work = paths.cache.join("bench");
    std::fs::create_dir_all(&work)?;
    let big = work.join("big.yaml");
    let big9 = work.join("big9.yaml");
    std::fs::write(&big, big_manifest(services, 10))?;
    std::fs::write(&big9, big_manifest(services, 9))?;
    let script = work.join("bench.sh");
    std::fs::write(&script, BENCH)?;
    let out = work.join("out");
    let mut add = vec![
        (agent, "/data/svcroute".into()),
        (big, "/data/big.yaml".into()),
        (big9, "/data/big9.yaml".into()),
    ];
    if let Some(b) = compare {
        add.push((b, "/data/svcroute_b".into()));
    }
    let report = run::run(
        &paths,
        &run::RunConfig {
            script,
            out: out.clone(),
            timeout: std::time::Duration::from_secs(1800),
            add,
            memory_mb: 2048,
            smp,
        },
    )?;
    if report.rc != 0 {
        bail!(
            "the bench script exited {}; see {}",
            report.rc,
            out.display()
        );
    }
    let read = |n: &str| std::fs::read_to_string(out.join(n)).unwrap_or_default();
    println!("# {services} services x 10 real servers, Debian kernel in qemu (TCG), {smp} vCPU");
    println!(
        "rules: plan {} lines, after agent {}, after ipvsadm -R {}",
        read("plan_lines").trim(),
        read("agent_lines").trim(),
        read("ipvsadm_lines").trim()
    );
    println!("/proc/net/ip_vs: {} lines", read("proc_lines").trim());
    for line in read("times").lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if let [name, t0, t1] = w[..] {
            let (t0, t1): (f64, f64) = (t0.parse()?, t1.parse()?);
            println!(
                "{name:<28} {:>8.2} s (process, incl. reading manifests)",
                t1 - t0
            );
        }
    }
    for f in ["nft_apply.txt", "nft_noop.txt", "nft_change.txt"] {
        print!("{f:<16} {}", read(f));
    }
    let logs = [
        "apply.log",
        "noop.log",
        "noop_a1.log",
        "noop_b1.log",
        "noop_a2.log",
        "noop_b2.log",
        "noop_a3.log",
        "noop_b3.log",
        "change_once.log",
        "running.log",
    ];
    for log in logs {
        for l in read(log).lines().filter(|l| l.contains("sync: sent")) {
            let fields: Vec<&str> = l
                .split_whitespace()
                .filter(|w| w.contains('=') && !w.starts_with("elapsed_ms"))
                .collect();
            let ms = l
                .split("elapsed_ms=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("?");
            println!("{log:<16} sync {ms:>9} ms  {}", fields.join(" "));
        }
        for l in read(log).lines() {
            for what in ["sync phases: ", "loaded: ", "dumped the IPVS table: "] {
                if let Some(rest) = l.split(what).nth(1) {
                    println!("{log:<16} {what}{rest}");
                }
            }
        }
    }
    Ok(())
}
