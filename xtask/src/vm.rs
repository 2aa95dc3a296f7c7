//! `cargo xtask vm`: boots Debian's kernel with IPVS in qemu (TCG) and runs a script inside it.
//!
//! Subcommands (all state lives under `.cache/vm/` at the repository root, git-ignored):
//!
//! - `cargo xtask vm fetch [--kernel PKG | --latest-kernel]`: `apt-get download`s
//!   qemu-system-x86 and the packages `apt-get install -s --no-install-recommends` says it needs,
//!   busybox-static, kmod, ipvsadm, iproute2, tcpdump (and their missing libraries), and a Debian
//!   kernel image, then `dpkg -x`s them into `.cache/vm/root` and `.cache/vm/kernels/PKG`.
//!   Nothing is installed on the machine (installing qemu-system-x86 would remove qemu-utils).
//!   Skips what is cached. The kernel is the one already cached (an `apt-get update` must not
//!   change the kernel under the tests), else the one `linux-image-amd64` depends on; the
//!   vectors were captured on `linux-image-6.1.0-48-amd64`. Runs `apt-get update` once only if a
//!   look-up or download fails.
//! - `cargo xtask vm build [--add SRC:DEST]…`: writes `.cache/vm/initrd.gz`: busybox and its
//!   applets, `/init`, the IPVS (rr wrr sh mh lc wlc sed nq dh), nlmon, dummy, veth and bridge
//!   modules with their dependencies (depmod'ed with kmod from the cache), ipvsadm, `ip` and tcpdump with the
//!   shared libraries `ldd` names. `--add` puts extra host files in the image.
//! - `cargo xtask vm run --script FILE [--out DIR] [--timeout SECS] [--memory MB] [--smp N]
//!   [--add SRC:DEST]…`: boots on `--smp` vCPUs (default `$SVCROUTE_VM_SMP`, else 1) with a
//!   second, uncompressed cpio appended to the initramfs (the script as `/script`, plus the `--add` files, e.g. a static musl binary of the agent), so a
//!   run needs no rebuild. `/init` loads the modules, brings `lo` up, runs `/bin/sh /script`
//!   and powers off. Everything the script writes under `/out` comes back in `DIR` (default
//!   `.cache/vm/out`, emptied first) with the script's `stdout`, `stderr`, `rc`, and
//!   `console.log` (the kernel console). Files travel as hex over a second serial port. qemu is
//!   killed by its PID when the timeout (default 120 s) passes. Fails when the script exits
//!   non-zero.
//! - `cargo xtask vm capture`: runs `ipvs/tests/vectors/capture.sh` (each ipvsadm command under
//!   its own tcpdump on an `nlmon0` tap) and writes the codec's vectors
//!   `ipvs/tests/vectors/NAME.txt`; retries (at most 3 runs) when nlmon missed a packet.
//! - `cargo xtask vm all`: fetch, then build.
//! - `cargo xtask vm test-agent`: prepares everything (musl target, fetch, build, the static
//!   agent) and runs the agent's kernel scenarios, `tests/agent_vm.rs`. `cargo xtask test`
//!   calls it.
//! - `cargo xtask vm test-sched [--record]`: the kernel's schedulers (rr wrr lc wlc sed nq sh dh mh) on
//!   connections from many source addresses and ports, one boot, traces compared with the
//!   simulator by `tests/sched_kernel.rs` (see `vm/sched.rs`). `cargo xtask test` calls it.
//! - `cargo xtask vm bench [--services N] [--smp N] [--agent PATH] [--compare PATH]`: the agent
//!   applying N services x 10 real servers from empty vs `ipvsadm -R` of the same rules, and one
//!   endpoint change; `--compare` alternates no-op resyncs of two builds in one boot (see
//!   `vm/agent.rs`).
//!
//! Inside the VM: busybox applets in `/bin` and `/sbin`, iproute2's `ip` as `/sbin/ip` (call it
//! by path: busybox's shell prefers its own `ip` applet), `ipvsadm` and `tcpdump` in
//! `/usr/sbin`, no network but `lo` (add dummy/veth/bridge devices and namespaces in the script).
//!
//! From Rust tests (see `ipvs/tests/kernel.rs`): write the script and files, run
//! `cargo xtask vm run --script S --out D --add SRC:/data/NAME` as a subprocess (from the
//! workspace root, after `fetch` and `build`), then read `D/rc`, `D/stdout` and what the script
//! copied to `/out`.
//!
//! Measured on the 2-core development machine (TCG, `nice -n 10`): `fetch` from scratch 7 s
//! (34-36 debs, 86 MB, from the Debian mirror; `dpkg -x` of the kernel included); `build` 1-2 s
//! (17 MB cpio, 7.1 MB gzip); one boot-run-poweroff with a trivial script 5-6 s (userland ready
//! 2.5 s after boot); `capture` (19 ipvsadm commands) about 20 s; the cache is about 600 MB,
//! 400 MB of it the extracted kernel package.

mod agent;
mod capture;
mod sched;

pub use sched::test_sched;

pub use agent::{static_agent, static_agent_cli, test_agent};
mod fetch;
mod image;
mod run;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

/// Where the harness keeps its files.
pub struct Paths {
    /// `.cache/vm`.
    pub cache: PathBuf,
    /// Downloaded `.deb` files.
    pub debs: PathBuf,
    /// The userland debs, extracted.
    pub root: PathBuf,
    /// Kernel debs, each extracted into a folder named after its package.
    pub kernels: PathBuf,
    /// Staging tree of the initramfs.
    pub stage: PathBuf,
    /// The packed base initramfs.
    pub initrd: PathBuf,
}

impl Paths {
    fn new() -> Self {
        let cache = crate::root().join(".cache").join("vm");
        Paths {
            debs: cache.join("debs"),
            root: cache.join("root"),
            kernels: cache.join("kernels"),
            stage: cache.join("initramfs"),
            initrd: cache.join("initrd.gz"),
            cache,
        }
    }
}

impl Paths {
    /// The kernel package in use (written by `vm fetch`).
    pub fn kernel_package(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.cache.join("kernel-package")).ok()?;
        Some(text.trim().to_string()).filter(|s| !s.is_empty())
    }

    /// The extracted kernel package in use.
    pub fn kernel(&self) -> Result<PathBuf> {
        let pkg = self
            .kernel_package()
            .context("no kernel chosen yet: run `cargo xtask vm fetch`")?;
        Ok(self.kernels.join(pkg))
    }
}

/// Options shared by `build` and `run`.
#[derive(Default)]
struct Options {
    script: Option<PathBuf>,
    out: Option<PathBuf>,
    timeout_secs: Option<u64>,
    add: Vec<(PathBuf, String)>,
    memory_mb: Option<u32>,
    smp: Option<u32>,
    kernel: Option<String>,
    latest_kernel: bool,
}

fn parse_options(args: &[String]) -> Result<Options> {
    let mut opts = Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .with_context(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--script" => opts.script = Some(PathBuf::from(value("--script")?)),
            "--out" => opts.out = Some(PathBuf::from(value("--out")?)),
            "--timeout" => {
                opts.timeout_secs = Some(value("--timeout")?.parse().context("--timeout SECS")?)
            }
            "--memory" => opts.memory_mb = Some(value("--memory")?.parse().context("--memory MB")?),
            "--smp" => opts.smp = Some(value("--smp")?.parse().context("--smp N")?),
            "--kernel" => opts.kernel = Some(value("--kernel")?),
            "--latest-kernel" => opts.latest_kernel = true,
            "--add" => {
                let spec = value("--add")?;
                let (src, dest) = spec.split_once(':').context("--add SRC:DEST")?;
                if !dest.starts_with('/') {
                    bail!("--add {spec}: DEST must be an absolute path inside the VM");
                }
                opts.add.push((PathBuf::from(src), dest.to_string()));
            }
            other => bail!("unknown option {other:?}"),
        }
    }
    Ok(opts)
}

/// Entry point of `cargo xtask vm …`.
pub fn main(args: &[String]) -> Result<()> {
    let (cmd, rest) = args
        .split_first()
        .map(|(c, r)| (c.as_str(), r))
        .unwrap_or(("help", &[]));
    let paths = Paths::new();
    match cmd {
        "fetch" => {
            let opts = parse_options(rest)?;
            fetch::fetch(&paths, opts.kernel.as_deref(), opts.latest_kernel)
        }
        "build" => image::build(&paths, &parse_options(rest)?.add),
        "all" => {
            let opts = parse_options(rest)?;
            fetch::fetch(&paths, opts.kernel.as_deref(), opts.latest_kernel)?;
            image::build(&paths, &opts.add)
        }
        "run" => {
            let opts = parse_options(rest)?;
            let script = opts.script.clone().context("vm run needs --script FILE")?;
            let out = opts.out.clone().unwrap_or_else(|| paths.cache.join("out"));
            let report = run::run(
                &paths,
                &run::RunConfig {
                    script,
                    out: out.clone(),
                    timeout: std::time::Duration::from_secs(opts.timeout_secs.unwrap_or(120)),
                    add: opts.add,
                    memory_mb: opts.memory_mb.unwrap_or(512),
                    // SVCROUTE_VM_SMP: the VM tests (which call `vm run`) on more vCPUs.
                    smp: match opts.smp {
                        Some(n) => n,
                        None => std::env::var("SVCROUTE_VM_SMP")
                            .ok()
                            .map(|v| v.parse().context("SVCROUTE_VM_SMP"))
                            .transpose()?
                            .unwrap_or(1),
                    },
                },
            )?;
            eprintln!(
                "vm run: script exited {} after {:.1} s; output in {}",
                report.rc,
                report.seconds,
                out.display()
            );
            if report.rc != 0 {
                bail!("the script in the VM exited with {}", report.rc);
            }
            Ok(())
        }
        "capture" => capture::capture(&paths),
        "test-agent" => test_agent(),
        "test-sched" => sched::cli(rest),
        "bench" => agent::bench(rest),
        _ => {
            println!(
                "usage: cargo xtask vm <fetch|build|all|run|capture|test-agent|test-sched|bench> [options]"
            );
            println!(
                "  bench [--services N] [--smp N] [--agent PATH] [--compare PATH]   (default 10000 services x 10 real servers, 1 vCPU)"
            );
            println!(
                "  run --script FILE [--out DIR] [--timeout SECS] [--memory MB] [--smp N] [--add SRC:DEST]..."
            );
            println!("  build [--add SRC:DEST]...");
            println!("  fetch [--kernel linux-image-VERSION-amd64 | --latest-kernel]");
            Ok(())
        }
    }
}
