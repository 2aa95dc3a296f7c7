//! `cargo xtask api-bench [--services N] [--endpoints E] [--changes M] [--min-sync-period D]
//! [--agent PATH]`: the API agent at scale, without a kernel.
//!
//! Seeds the fake API server (`kube-fake/`, in this process, on loopback) with N Services (10,000
//! by default) of one EndpointSlice with E endpoints each (10), starts `svcroute agent --master
//! … --dry-run` (stdout to /dev/null), and waits for its first sync. Then it applies M
//! EndpointSlice changes (2,000; each turns one endpoint ready or not ready) as fast as the fake
//! takes them and scrapes the agent's `/metrics` until it has received every event
//! (`svcroute_watch_events_total`) and synced them all
//! (`kubeproxy_sync_proxy_rules_endpoint_changes_pending` 0). Prints the start-up time (list,
//! fold, first plan), the events per second folded, the syncs, and the agent's memory from
//! `/proc/PID/status` (VmHWM, VmRSS) after start-up and after the burst.
//!
//! `-v` runs the agent with `-v` and prints its log. The agent is the static musl binary (`cargo xtask static-agent`, what the image ships)
//! unless `--agent` names another.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use svcroute_kube_fake::{Fake, Options};

fn service(i: usize) -> Value {
    let ip = format!(
        "10.{}.{}.{}",
        100 + i / 65_000,
        (i / 250) % 260,
        i % 250 + 1
    );
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": format!("svc-{i}"), "namespace": "default",
                     "uid": format!("00000000-0000-4000-8000-{i:012}")},
        "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip],
                 "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                 "internalTrafficPolicy": "Cluster", "sessionAffinity": "None",
                 "selector": {"app": format!("svc-{i}")},
                 "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}})
}

fn slice(i: usize, endpoints: usize, not_ready: Option<usize>) -> Value {
    let eps: Vec<Value> = (0..endpoints)
        .map(|j| {
            let k = i * endpoints + j + 1;
            let ready = not_ready != Some(j);
            json!({"addresses": [format!("10.{}.{}.{}", 128 + k / 65_536, (k / 256) % 256, k % 256)],
                   "conditions": {"ready": ready, "serving": ready, "terminating": false},
                   "nodeName": "node-a"})
        })
        .collect();
    json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": format!("svc-{i}-x7k2p"), "namespace": "default",
                     "labels": {"kubernetes.io/service-name": format!("svc-{i}"),
                                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
        "addressType": "IPv4", "endpoints": eps,
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]})
}

/// `/proc/PID/status` fields in KiB.
fn memory(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|r| r.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// The process's CPU time (user + system) in seconds, from `/proc/PID/stat`.
fn cpu(pid: u32) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = text.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command; 100 ticks/s.
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
}

/// One metric's value from the agent's `/metrics` (the sum of its series).
fn scrape(addr: &str, name: &str) -> Result<f64> {
    let mut s = TcpStream::connect(addr)?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    Ok(text
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|r| r.starts_with(' ') || r.starts_with('{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

/// Runs the benchmark.
pub fn main(args: &[String]) -> Result<()> {
    let (mut services, mut endpoints, mut changes) = (10_000usize, 10usize, 2_000usize);
    let mut min_sync = "1s".to_owned();
    let mut agent = None;
    let mut verbose = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--services" => services = value()?.parse()?,
            "--endpoints" => endpoints = value()?.parse()?,
            "--changes" => changes = value()?.parse()?,
            "--min-sync-period" => min_sync = value()?.clone(),
            "--agent" => agent = Some(std::path::PathBuf::from(value()?)),
            "-v" => verbose = true,
            other => bail!("unknown option {other:?}"),
        }
    }
    let agent = match agent {
        Some(a) => a,
        None => crate::vm::static_agent()?,
    };
    let fake = Fake::start(Options::default())?;
    let started = Instant::now();
    fake.apply(json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "node-a"},
        "status": {"addresses": [{"type": "InternalIP", "address": "192.168.10.11"}]}}))?;
    for i in 0..services {
        fake.apply(service(i))?;
        fake.apply(slice(i, endpoints, None))?;
    }
    eprintln!(
        "api-bench: the fake holds {services} Services and EndpointSlices ({endpoints} endpoints each) after {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut child = Command::new(&agent)
        .args(["agent", "--master", &fake.url(), "--dry-run"])
        .args(["--hostname-override", "node-a", "--nftables=false"])
        .args(["--ipvs-min-sync-period", &min_sync])
        .args(["--ipvs-sync-period", "1h"])
        .args(["--healthz-bind-address", ""])
        .args(["--metrics-bind-address", "127.0.0.1:0"])
        .args(verbose.then_some("-v"))
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", agent.display()))?;
    let pid = child.id();
    let (tx, rx) = channel::<String>();
    let stderr = child.stderr.take().context("the agent's stderr")?;
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let result = measure(&fake, &rx, pid, services, endpoints, changes, &min_sync);
    if verbose {
        // The agent's log until its first sync, on stderr.
        while let Ok(line) = rx.try_recv() {
            eprintln!("{line}");
        }
    }
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    result
}

fn measure(
    fake: &Fake,
    rx: &std::sync::mpsc::Receiver<String>,
    pid: u32,
    services: usize,
    endpoints: usize,
    changes: usize,
    min_sync: &str,
) -> Result<()> {
    let wait = Duration::from_secs(600);
    let mut log = Vec::new();
    let mut next = |what: &str| -> Result<String> {
        loop {
            let line = rx
                .recv_timeout(wait)
                .with_context(|| format!("no {what:?} in the agent's log:\n{}", log.join("\n")))?;
            log.push(line.clone());
            if line.contains(what) || log.len() < 8 || line.contains("InitDone") {
                eprintln!("{line}");
            }
            if line.contains(what) {
                return Ok(line);
            }
        }
    };
    let spawned = Instant::now();
    let line = next("serving /metrics")?;
    let addr = line
        .split("address=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .context("the metrics address")?
        .to_owned();
    let first = next(" sync ")?;
    let startup = spawned.elapsed();
    let (hwm0, rss0) = memory(pid);
    let cpu0 = cpu(pid);
    let events0 = scrape(&addr, "svcroute_watch_events_total")?;
    let syncs0 = scrape(&addr, "kubeproxy_sync_proxy_rules_duration_seconds_count")?;

    let t0 = Instant::now();
    for c in 0..changes {
        let i = c % services;
        let not_ready = (c / services).is_multiple_of(2);
        fake.apply(slice(i, endpoints, not_ready.then_some(0)))?;
    }
    let fed = t0.elapsed();
    let mut received = None;
    let deadline = Instant::now() + wait;
    loop {
        let events = scrape(&addr, "svcroute_watch_events_total")?;
        if received.is_none() && events >= events0 + changes as f64 {
            received = Some(t0.elapsed());
        }
        if received.is_some()
            && scrape(&addr, "kubeproxy_sync_proxy_rules_endpoint_changes_pending")? == 0.0
        {
            break;
        }
        if Instant::now() > deadline {
            bail!("the agent did not take the {changes} changes in {wait:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let synced = t0.elapsed();
    let received = received.unwrap_or(synced);
    let syncs = scrape(&addr, "kubeproxy_sync_proxy_rules_duration_seconds_count")? - syncs0;
    let sync_sum = scrape(
        &addr,
        "kubeproxy_sync_partial_proxy_rules_duration_seconds_sum",
    )?;
    let (hwm1, rss1) = memory(pid);
    let cpu1 = cpu(pid);
    let field = |l: &str, f: &str| {
        l.split(&format!("{f}="))
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or("?")
            .trim_matches('"')
            .to_owned()
    };
    println!(
        "# api-bench: {services} Services x {endpoints} endpoints, agent --dry-run, --ipvs-min-sync-period {min_sync}"
    );
    println!(
        "start-up (list, fold, first plan and sync): {:.2} s ({cpu0:.2} s of the agent's CPU); first sync {} operations in {} ms",
        startup.as_secs_f64(),
        field(&first, "operations"),
        field(&first, "elapsed_ms")
    );
    println!(
        "memory after start-up: VmHWM {} MiB, VmRSS {} MiB",
        hwm0 / 1024,
        rss0 / 1024
    );
    println!(
        "burst: {changes} EndpointSlice changes fed in {:.2} s; all received by the agent after {:.2} s ({:.0} events/s of wall time); all synced after {:.2} s, {:.2} s of the agent's CPU ({:.0} events per CPU second, syncs included)",
        fed.as_secs_f64(),
        received.as_secs_f64(),
        changes as f64 / received.as_secs_f64(),
        synced.as_secs_f64(),
        cpu1 - cpu0,
        changes as f64 / (cpu1 - cpu0).max(0.01)
    );
    println!(
        "syncs during the burst: {syncs:.0} (partial syncs took {sync_sum:.2} s in all, {:.0} ms each)",
        if syncs > 0.0 {
            sync_sum / syncs * 1000.0
        } else {
            0.0
        }
    );
    println!(
        "memory after the burst: VmHWM {} MiB, VmRSS {} MiB",
        hwm1 / 1024,
        rss1 / 1024
    );
    Ok(())
}
