//! `cargo xtask vm`: boots Debian's kernel with IPVS in qemu (TCG) and runs a script inside it.
//!
//! Subcommands (all state lives under `.cache/vm/` at the repository root):
//!
//! - `cargo xtask vm fetch`: `apt-get download`s qemu-system-x86 and the packages it needs, the
//!   Debian kernel image that `linux-image-amd64` depends on, busybox-static, kmod, ipvsadm,
//!   iproute2 and tcpdump, and `dpkg -x`s them into `.cache/vm/{root,kernel}`. Nothing is
//!   installed on the machine (installing qemu-system-x86 would remove qemu-utils). Skips what
//!   is already cached.
//! - `cargo xtask vm build [--add SRC:DEST]…`: writes `.cache/vm/initrd.gz`: busybox, `/init`,
//!   the IPVS/nlmon/dummy/veth/bridge modules with their dependencies (depmod'ed), ipvsadm, `ip`
//!   and tcpdump with their shared libraries. `--add` copies extra host files into the image
//!   (e.g. a static musl binary of the agent).
//! - `cargo xtask vm run --script FILE [--out DIR] [--timeout SECS] [--add SRC:DEST]…`: boots the
//!   VM with a small second initramfs holding the script (so `build` is not needed per run),
//!   runs it as `/bin/sh /script` after the modules are loaded, then powers off. Everything the
//!   script writes under `/out` inside the VM is copied to `DIR` (default `.cache/vm/out`),
//!   together with `stdout`, `stderr` and `rc` of the script and `console.log` (the serial
//!   console). Files travel over a second serial port as hex. On timeout (default 120 s) qemu is
//!   killed by its PID. The command fails when the script exits non-zero.
//! - `cargo xtask vm capture`: runs `ipvs/tests/vectors/capture.sh` (ipvsadm under an `nlmon0`
//!   tap, one pcap per command) and turns the pcaps into the codec's test vectors
//!   `ipvs/tests/vectors/*.txt`.
//! - `cargo xtask vm all`: fetch + build.
//!
//! Inside the VM: busybox applets are symlinked in `/bin`, the real `ip` is `/sbin/ip` (call it by
//! path: busybox's shell prefers its own `ip` applet), `ipvsadm` and `tcpdump` are in `/usr/sbin`.
//!
//! Using it from tests: run `cargo xtask vm run --script S --out D` as a subprocess (after
//! `cargo xtask vm fetch` and `build`) and read `D/rc`, `D/stdout` and the files the script put
//! in `/out`.
//!
//! Measured on the 2-core development machine (TCG, no KVM): fetch from scratch ~1 min (about
//! 90 MB of debs), build ~10 s, one boot-run-poweroff with a trivial script ~10 s.

mod capture;
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
    /// The kernel deb, extracted.
    pub kernel: PathBuf,
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
            kernel: cache.join("kernel"),
            stage: cache.join("initramfs"),
            initrd: cache.join("initrd.gz"),
            cache,
        }
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
}

fn parse_options(args: &[String]) -> Result<Options> {
    let mut opts = Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--script" => opts.script = Some(PathBuf::from(value("--script")?)),
            "--out" => opts.out = Some(PathBuf::from(value("--out")?)),
            "--timeout" => opts.timeout_secs = Some(value("--timeout")?.parse().context("--timeout SECS")?),
            "--memory" => opts.memory_mb = Some(value("--memory")?.parse().context("--memory MB")?),
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
    let (cmd, rest) = args.split_first().map(|(c, r)| (c.as_str(), r)).unwrap_or(("help", &[]));
    let paths = Paths::new();
    match cmd {
        "fetch" => fetch::fetch(&paths),
        "build" => image::build(&paths, &parse_options(rest)?.add),
        "all" => {
            fetch::fetch(&paths)?;
            image::build(&paths, &parse_options(rest)?.add)
        }
        "run" => {
            let opts = parse_options(rest)?;
            let script = opts.script.clone().context("vm run needs --script FILE")?;
            let out = opts.out.clone().unwrap_or_else(|| paths.cache.join("out"));
            let report = run::run(&paths, &run::RunConfig {
                script,
                out: out.clone(),
                timeout: std::time::Duration::from_secs(opts.timeout_secs.unwrap_or(120)),
                add: opts.add,
                memory_mb: opts.memory_mb.unwrap_or(512),
            })?;
            eprintln!("vm run: script exited {} after {:.1} s; output in {}", report.rc, report.seconds, out.display());
            if report.rc != 0 {
                bail!("the script in the VM exited with {}", report.rc);
            }
            Ok(())
        }
        "capture" => capture::capture(&paths),
        _ => {
            println!("usage: cargo xtask vm <fetch|build|all|run|capture> [options]");
            println!("  run --script FILE [--out DIR] [--timeout SECS] [--memory MB] [--add SRC:DEST]...");
            println!("  build [--add SRC:DEST]...");
            Ok(())
        }
    }
}
