//! `cargo xtask bench`: the numbers of issue 7 item 6, measured in one run and printed as one
//! table at the end.
//!
//! ```text
//! cargo xtask bench [--services N] [--pods-per-service M] [--runs R] [--no-js]
//! ```
//!
//! - Whole process: `svcroute plan -o json -f FILE` (release build) on a `cargo xtask
//!   gen-cluster` cluster (10,000 Services × 10 Pods by default) as JSON and as YAML, wall time
//!   and peak RSS from `/usr/bin/time` (installed from Debian when missing), the median of
//!   `R` runs (3); paired with each run, Python's `json.load` of the same JSON file (the time
//!   of the call, not of the interpreter's start), and the ratio of the medians.
//! - In process, criterion (`cargo bench -p svcroute-core --bench plan`): building and
//!   planning 10,000 × 10, one Pod's readiness change in the live cluster (and its operation
//!   count), one Service added and deleted, one backend choice per simulated scheduler.
//! - The JS API in node (`web/e2e/bench.mjs` on the built `pkg/`): `plan()` of the same JSON
//!   text on a fresh module and warm, `new Cluster()` of it, and the readiness change through
//!   `cluster.apply` (first and warm).
//!
//! Not part of `cargo xtask test`: nothing here asserts a time. The agent's bench in the VM
//! is `cargo xtask vm bench`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::{cargo, root, run, web};

struct Opts {
    services: u32,
    pods: u32,
    runs: usize,
    js: bool,
}

/// One row of the table.
struct Row {
    what: String,
    value: String,
    note: String,
}

fn row(what: impl Into<String>, value: impl Into<String>, note: impl Into<String>) -> Row {
    Row {
        what: what.into(),
        value: value.into(),
        note: note.into(),
    }
}

/// `cargo xtask bench …`.
pub fn main(args: &[String]) -> Result<()> {
    let mut o = Opts {
        services: 10_000,
        pods: 10,
        runs: 3,
        js: true,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--services" => o.services = val()?.parse()?,
            "--pods-per-service" => o.pods = val()?.parse()?,
            "--runs" => o.runs = val()?.parse::<usize>()?.max(1),
            "--no-js" => o.js = false,
            _ => bail!(
                "usage: cargo xtask bench [--services N] [--pods-per-service M] [--runs R] [--no-js]"
            ),
        }
    }
    let started = std::time::Instant::now();
    let mut rows = Vec::new();
    run(cargo().args(["build", "--release", "-p", "svcroute", "--bin", "svcroute"]))?;
    let bin = web::target_dir().join("release").join("svcroute");
    let dir = web::target_dir().join("bench");
    std::fs::create_dir_all(&dir)?;
    let json = cluster_file(&dir, &o, "json")?;
    let yaml = cluster_file(&dir, &o, "yaml")?;
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len() as f64 / 1048576.0);
    let scale = format!("{}×{}", o.services, o.pods);

    // Whole process.
    let time = time_binary()?;
    let mut plan_json = Vec::new();
    let mut py = Vec::new();
    for _ in 0..o.runs {
        plan_json.push(whole_plan(&time, &bin, &json)?);
        py.push(python_json_load(&json)?);
    }
    let mut plan_yaml = Vec::new();
    for _ in 0..o.runs {
        plan_yaml.push(whole_plan(&time, &bin, &yaml)?);
    }
    let (jw, jr) = medians(&plan_json);
    let (yw, yr) = medians(&plan_yaml);
    let pyw = median(py.clone());
    rows.push(row(
        format!("plan -o json, {scale} JSON ({:.0} MiB)", size(&json)?),
        format!("{jw:.2} s"),
        format!("peak RSS {jr:.0} MiB; median of {}", o.runs),
    ));
    rows.push(row(
        "  Python json.load of the same file",
        format!("{pyw:.2} s"),
        format!("plan / json.load = {:.2}×", jw / pyw),
    ));
    rows.push(row(
        format!("plan -o json, {scale} YAML ({:.0} MiB)", size(&yaml)?),
        format!("{yw:.2} s"),
        format!("peak RSS {yr:.0} MiB"),
    ));

    // In process (criterion).
    let counts = criterion()?;
    let est = |group: &str, id: &str| estimate(group, id);
    let g = "10k-services-x-10-pods";
    rows.push(row(
        "Cluster::build 10k×10 (in memory)",
        fmt_ns(est(g, "cluster-build")?),
        "criterion median",
    ));
    rows.push(row(
        "plan one node 10k×10",
        fmt_ns(est(g, "plan-one-node")?),
        "criterion median",
    ));
    rows.push(row(
        "live: one Pod readiness change",
        fmt_ns(est(g, "live-readiness-change-and-back")? / 2.0),
        format!(
            "{} operation(s); half of a change and back",
            counts.get("readiness-change").map_or("?", String::as_str)
        ),
    ));
    rows.push(row(
        "live: one Service added and deleted",
        fmt_ns(est(g, "live-service-add-and-delete")?),
        format!(
            "{} + {} operations",
            counts.get("service-add").map_or("?", String::as_str),
            counts.get("service-delete").map_or("?", String::as_str)
        ),
    ));
    let mut scheds: Vec<String> = Vec::new();
    let sched_dir = web::target_dir().join("criterion").join("scheduler-choice");
    let mut names: Vec<String> = std::fs::read_dir(&sched_dir)
        .with_context(|| format!("{}", sched_dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "report")
        .collect();
    names.sort();
    for n in &names {
        scheds.push(format!("{n} {}", fmt_ns(est("scheduler-choice", n)?)));
    }
    rows.push(row(
        "one backend choice (10 real servers)",
        "",
        scheds.join(", "),
    ));

    // The JS API in node.
    if o.js {
        let t = web::tools::ensure_build_tools()?;
        let pkg = web::build(&t)?;
        let out = Command::new("node")
            .arg(root().join("web/e2e/bench.mjs"))
            .env("SVCROUTE_PKG", &pkg)
            .env("CLUSTER", &json)
            .stderr(Stdio::inherit())
            .output()
            .context("running node")?;
        if !out.status.success() {
            bail!("web/e2e/bench.mjs failed: {}", out.status);
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let num = |k: &str| -> Result<f64> {
            json_number(&text, k).with_context(|| format!("{k} in {text}"))
        };
        let first = num("planFirstMs")? / 1000.0;
        rows.push(row(
            format!("JS plan(), {scale} JSON, first call"),
            format!("{first:.2} s"),
            format!(
                "{:.2}× the native whole process; wasm memory {:.0} MiB",
                first / jw,
                num("memoryMiB")?
            ),
        ));
        let warm = num("planWarmMs")? / 1000.0;
        rows.push(row(
            "JS plan(), warm",
            format!("{warm:.2} s"),
            format!("{:.2}× native", warm / jw),
        ));
        rows.push(row(
            "JS new Cluster()",
            format!("{:.2} s", num("clusterNewMs")? / 1000.0),
            "",
        ));
        rows.push(row(
            "JS cluster.apply: one readiness change",
            format!(
                "first {:.1} ms, warm {:.1} ms",
                num("readinessFirstMs")?,
                num("readinessWarmMs")?
            ),
            format!(
                "{} operation(s); includes reading the Pod's JSON",
                num("readinessOps")?
            ),
        ));
    }

    let w = rows
        .iter()
        .map(|r| r.what.chars().count())
        .max()
        .unwrap_or(0);
    let v = rows
        .iter()
        .map(|r| r.value.chars().count())
        .max()
        .unwrap_or(0);
    println!(
        "\nsvcroute bench ({} cores, {:.0} s):",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        started.elapsed().as_secs_f64()
    );
    for r in &rows {
        println!("  {:<w$}  {:>v$}  {}", r.what, r.value, r.note);
    }
    Ok(())
}

/// The generated cluster, made once per size and format.
fn cluster_file(dir: &Path, o: &Opts, format: &str) -> Result<PathBuf> {
    let path = dir.join(format!("cluster-{}x{}.{format}", o.services, o.pods));
    if !path.exists() {
        let args: Vec<String> = [
            "--services",
            &o.services.to_string(),
            "--pods-per-service",
            &o.pods.to_string(),
            "--format",
            format,
            "-o",
            &path.to_string_lossy(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        crate::gen_cluster::main(&args)?;
    }
    Ok(path)
}

/// `/usr/bin/time`, from Debian's `time` when missing.
fn time_binary() -> Result<PathBuf> {
    let p = PathBuf::from("/usr/bin/time");
    if !p.exists() {
        web::tools::apt_install(&["time"])?;
    }
    Ok(p)
}

/// (wall seconds, peak RSS MiB) of `svcroute plan -o json -f FILE`, output discarded.
fn whole_plan(time: &Path, bin: &Path, file: &Path) -> Result<(f64, f64)> {
    let out = Command::new(time)
        .args(["-f", "%e %M"])
        .arg(bin)
        .args(["plan", "-o", "json", "-f"])
        .arg(file)
        .stdout(Stdio::null())
        .output()
        .context("running /usr/bin/time")?;
    if !out.status.success() {
        bail!(
            "svcroute plan failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or("");
    let mut f = last.split_whitespace();
    let (Some(wall), Some(kib)) = (f.next(), f.next()) else {
        bail!("unexpected /usr/bin/time output {last:?}");
    };
    Ok((wall.parse()?, kib.parse::<f64>()? / 1024.0))
}

/// Seconds Python's `json.load` takes for `file`.
fn python_json_load(file: &Path) -> Result<f64> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, time\nf = open(sys.argv[1], 'rb')\nt = time.perf_counter()\njson.load(f)\nprint(time.perf_counter() - t)",
        ])
        .arg(file)
        .output()
        .context("running python3")?;
    if !out.status.success() {
        bail!("python3 failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median wall time and the largest peak RSS.
fn medians(v: &[(f64, f64)]) -> (f64, f64) {
    (
        median(v.iter().map(|x| x.0).collect()),
        v.iter().map(|x| x.1).fold(0.0, f64::max),
    )
}

/// Runs the core's `plan` bench; the `counts:` lines it prints, as key → value.
fn criterion() -> Result<std::collections::BTreeMap<String, String>> {
    let shown = "cargo bench -p svcroute-core --bench plan";
    eprintln!("$ {shown}");
    let out = cargo()
        .args(["bench", "-p", "svcroute-core", "--bench", "plan"])
        .current_dir(root())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {shown}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    if !out.status.success() {
        bail!("{shown} failed: {}", out.status);
    }
    let mut counts = std::collections::BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("counts:") {
            for kv in rest.split_whitespace() {
                if let Some((k, v)) = kv.split_once('=') {
                    counts.insert(k.to_owned(), v.to_owned());
                }
            }
        }
    }
    Ok(counts)
}

/// Criterion's median estimate of one benchmark, in nanoseconds.
fn estimate(group: &str, id: &str) -> Result<f64> {
    let p = web::target_dir()
        .join("criterion")
        .join(group)
        .join(id)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(&p).with_context(|| format!("{}", p.display()))?;
    // {"mean":{…},"median":{"confidence_interval":{…},"point_estimate":123.4,…},…}
    let median = text
        .split_once("\"median\"")
        .map(|(_, rest)| rest)
        .with_context(|| format!("no median in {}", p.display()))?;
    json_number(median, "point_estimate").with_context(|| format!("{}", p.display()))
}

/// The first number after `"key":` in `text` (the JSON here is flat enough for this).
fn json_number(text: &str, key: &str) -> Option<f64> {
    let (_, rest) = text.split_once(&format!("\"{key}\":"))?;
    let rest = rest.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | 'E' | '+')))
        .unwrap_or(rest.len());
    rest[..end].trim().parse().ok()
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}
