//! `cargo xtask vm test-sched`: the kernel's schedulers, traced in the VM, held to the simulator.
//!
//! One VM boot runs `tests/vm/sched.sh` for every scheduler the simulator simulates (rr, wrr,
//! lc, wlc, sed, nq, sh, dh, mh with kube-proxy's flag mh-port): the agent programs the Service
//! of `tests/vm/sched.yaml`, and `sched_probe` (`tests/vm/sched_probe.c`, built here with
//! `gcc -static`) opens the connections of a plan generated here — many (source address, source
//! port) pairs in two client namespaces, some held open, some closed — in four phases (base,
//! one real server removed, one drained to weight 0, one added at the head of the list; in the
//! last, one connection comes again from the address and port of a closed one of the first).
//! The kernel's choices come back as traces (`.cache/vm/sched/out/sched/S/`); then
//! `tests/sched_kernel.rs` (`cargo test --test sched_kernel`, `SVCROUTE_SCHED_TRACE` naming the
//! traces) replays them through the simulator and fails on any connection where it chose
//! otherwise.
//!
//! The plan is deterministic (a fixed seed): the same connections on every run, so the kernel
//! makes the same choices. `--record` copies the traces into `tests/vm/sched_trace/`, which
//! `cargo test --test sched_kernel` compares with the simulator without a VM.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::{Paths, agent, run};

/// The schedulers held to the kernel, in the order the VM runs them.
pub const SCHEDULERS: &[&str] = &["rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh", "mh"];

/// Connections per phase: enough to go round the list several times, and for the hashing
/// schedulers to land in many buckets / Maglev slots.
fn per_phase(scheduler: &str) -> usize {
    match scheduler {
        "rr" | "wrr" => 15,
        "lc" | "wlc" | "sed" | "nq" => 20,
        _ => 32,
    }
}

/// Client addresses per client namespace.
const ADDRESSES_PER_CLIENT: usize = 12;

const PHASES: &[&str] = &["base", "removed", "drained", "added"];

/// splitmix64: a small deterministic generator (no dependency for a test plan).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Writes the VM's inputs under `dir`; returns the `--add` list.
fn write_inputs(dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    let mut rng = Rng(0x5eed_5c4e_d000_0013);
    let mut add = Vec::new();
    let mut put = |name: &str, text: &str| -> Result<()> {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text)?;
        add.push((path, format!("/data/sched/{name}")));
        Ok(())
    };

    // Client addresses: 10.C.X.Y in 10.C.0.0/16 (10.C.0.1 is the VM's side).
    let mut clients: Vec<(String, String)> = Vec::new();
    for c in 1..=2 {
        let mut text = String::new();
        let mut mine = Vec::new();
        while mine.len() < ADDRESSES_PER_CLIENT {
            let a = format!("10.{c}.{}.{}", rng.below(256), 2 + rng.below(252));
            if !mine.contains(&a) {
                writeln!(text, "{a}")?;
                mine.push(a);
            }
        }
        put(&format!("clients-c{c}.txt"), &text)?;
        clients.extend(mine.into_iter().map(|a| (format!("c{c}"), a)));
    }

    put("schedulers", &(SCHEDULERS.join("\n") + "\n"))?;
    let mut used_ports = std::collections::BTreeSet::new();
    for (k, s) in SCHEDULERS.iter().enumerate() {
        let vip = format!("10.96.1.{}", k + 1);
        put(&format!("{s}/vip"), &format!("{vip}\n"))?;
        let mut plan = String::new();
        // The first closed connection of the base phase; its (address, port) comes back in
        // the last phase, when the kernel's entry for it is in TIME_WAIT.
        let mut first_closed: Option<(String, String, u16)> = None;
        for phase in PHASES {
            for i in 0..per_phase(s) {
                let mode = if rng.below(2) == 0 { "hold" } else { "close" };
                let reuse = (*phase == "added" && i == 1)
                    .then(|| first_closed.clone())
                    .flatten();
                let (ns, src, port) = match reuse {
                    Some(again) => again,
                    None => {
                        let (ns, src) = &clients[rng.below(clients.len() as u64) as usize];
                        let port = loop {
                            let p = 1024 + rng.below(65535 - 1024) as u16;
                            if used_ports.insert((src.clone(), p)) {
                                break p;
                            }
                        };
                        (ns.clone(), src.clone(), port)
                    }
                };
                if *phase == "base" && mode == "close" && first_closed.is_none() {
                    first_closed = Some((ns.clone(), src.clone(), port));
                }
                writeln!(
                    plan,
                    "conn {phase}-{i:02} {ns} {src} {port} {vip} 80 {mode}"
                )?;
            }
            writeln!(plan, "sync {phase}")?;
        }
        writeln!(plan, "release")?;
        put(&format!("{s}/plan.txt"), &plan)?;
    }
    Ok(add)
}

/// Builds the static probe with the host's gcc.
fn build_probe(dest: &Path) -> Result<()> {
    let src = crate::root().join("tests/vm/sched_probe.c");
    crate::run(
        std::process::Command::new("gcc")
            .args(["-static", "-O2", "-Wall", "-o"])
            .arg(dest)
            .arg(&src),
    )
    .context("building tests/vm/sched_probe.c (needs gcc and the static libc, libc6-dev)")
}

/// The files of a scheduler's trace that `tests/sched_kernel.rs` reads (not the logs).
fn is_trace_file(name: &str) -> bool {
    name.ends_with(".txt") || name == "client.rc"
}

/// Copies the fresh traces over the recorded ones (`tests/vm/sched_trace/`).
fn record(fresh: &Path) -> Result<()> {
    let dest = crate::root().join("tests/vm/sched_trace");
    if dest.exists() {
        std::fs::remove_dir_all(&dest)?;
    }
    for s in SCHEDULERS {
        let from = fresh.join(s);
        let to = dest.join(s);
        std::fs::create_dir_all(&to)?;
        for entry in std::fs::read_dir(&from).with_context(|| format!("{}", from.display()))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_trace_file(&name) {
                std::fs::copy(entry.path(), to.join(&name))?;
            }
        }
    }
    eprintln!("vm test-sched: recorded the traces in {}", dest.display());
    Ok(())
}

/// `cargo xtask vm test-sched [--record]`.
pub fn cli(args: &[String]) -> Result<()> {
    match args {
        [] => run_sched(false),
        [a] if a == "--record" => run_sched(true),
        _ => bail!("usage: cargo xtask vm test-sched [--record]"),
    }
}

/// Runs the scenario in the VM and the comparison on the host.
pub fn test_sched() -> Result<()> {
    run_sched(false)
}

fn run_sched(record_traces: bool) -> Result<()> {
    let started = Instant::now();
    let paths = Paths::new();
    let agent_bin = agent::prepare(&paths)?;
    let work = paths.cache.join("sched");
    let inputs = work.join("data");
    let mut add = write_inputs(&inputs)?;
    let probe = work.join("sched_probe");
    build_probe(&probe)?;
    let vm = crate::root().join("tests/vm");
    add.push((agent_bin, "/data/svcroute".into()));
    add.push((probe, "/data/sched_probe".into()));
    add.push((vm.join("sched.yaml"), "/data/sched.yaml".into()));
    let out = work.join("out");
    let report = run::run(
        &paths,
        &run::RunConfig {
            script: vm.join("sched.sh"),
            out: out.clone(),
            timeout: Duration::from_secs(900),
            add,
            memory_mb: 512,
            smp: 1,
        },
    )?;
    let stderr = std::fs::read_to_string(out.join("stderr")).unwrap_or_default();
    if report.rc != 0 {
        bail!(
            "tests/vm/sched.sh exited {}; see {}\n{stderr}",
            report.rc,
            out.display()
        );
    }
    if !stderr.trim().is_empty() {
        eprintln!("tests/vm/sched.sh stderr:\n{stderr}");
    }
    eprintln!(
        "vm test-sched: VM run {:.1} s (boot to power-off, TCG); traces in {}",
        report.seconds,
        out.join("sched").display()
    );
    if let Ok(times) = std::fs::read_to_string(out.join("sched/times.txt")) {
        let spans: Vec<(f64, f64)> = times
            .lines()
            .filter_map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                Some((w.get(1)?.parse().ok()?, w.get(2)?.parse().ok()?))
            })
            .collect();
        if let (Some(first), Some(last)) = (spans.first(), spans.last()) {
            eprintln!(
                "vm test-sched: the {} scheduler scenarios took {:.1} s of VM time",
                spans.len(),
                last.1 - first.0
            );
        }
    }
    if record_traces {
        record(&out.join("sched"))?;
    }
    crate::run(
        crate::cargo()
            .args(["test", "--test", "sched_kernel", "--", "--nocapture"])
            .env("SVCROUTE_SCHED_TRACE", out.join("sched")),
    )?;
    eprintln!(
        "vm test-sched: passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
