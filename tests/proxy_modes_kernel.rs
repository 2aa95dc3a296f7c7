//! kube-proxy's iptables and nftables modes, as `svcroute plan -o iptables|nftables` renders
//! them, proven in this host's kernel: `tests/modes/netns.sh` builds a node namespace holding the
//! rules, one namespace per Pod answering with its own address and a client namespace (all under
//! a private mount namespace, so nothing outlives the test), and the client's real connections
//! must reach exactly the plan's endpoints:
//!
//! - a ClusterIP Service with three endpoints spreads connections at random (iptables'
//!   `--probability` cascade, nftables' `numgen random mod 3`): a chi-square test on 1200
//!   connections with a bound a correct implementation exceeds with probability 1e-6;
//! - a `sessionAffinity: ClientIP` Service keeps the client on one Pod (`-m recent`, the
//!   nftables affinity sets);
//! - the NodePort answers on the node's address;
//! - with no ready endpoint, the serving terminating one answers (the terminating fallback);
//!   with no usable endpoint, connections are refused;
//! - in iptables mode, `iptables-save` of the loaded rules prints exactly what svcroute printed.
//!
//! A second test loads every `plan -o iptables|nftables` run of the `modes-*` fixtures
//! (kube-proxy's own test clusters, traffic policies, dual-stack) into an empty ruleset and
//! reads the iptables ones back.
//!
//! It needs root and `unshare`; without them it says so loudly, and fails when `CI` is set (CI
//! runs as root). Debian's `iptables`, `nftables`, `nfacct`, `iproute2` and `python3` are
//! installed with apt-get when missing.

#[path = "support/apt.rs"]
mod apt;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const CLUSTER: &str = "tests/modes/kernel-cluster.yaml";
const SPREAD_VIP: &str = "10.96.0.10:80";
const STICKY_VIP: &str = "10.96.0.11:80";
const NODE_PORT: &str = "192.168.0.2:30080";
const FALLBACK_VIP: &str = "10.96.0.13:80";
const NO_ENDPOINTS_VIP: &str = "10.96.0.14:80";
/// Large enough that a wrong cascade (1/3 at every step: 1/3, 2/9, 4/9) gives a chi-square
/// near 88, far above the bound.
const SPREAD_COUNT: usize = 1200;
/// Chi-square with 2 degrees of freedom exceeds -2 ln(1e-6) = 27.63 with probability 1e-6.
const CHI_SQUARE_BOUND: f64 = 27.63;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// Whether the test can run here; when not, why (loudly) — and a failure under CI.
fn can_run() -> bool {
    let why = if !is_root() {
        Some("not root")
    } else if !have("unshare") {
        Some("no unshare")
    } else {
        None
    };
    let Some(why) = why else { return true };
    let msg = format!(
        "proxy_modes_kernel: CANNOT RUN ({why}): kube-proxy's iptables/nftables rules were NOT \
         checked in a kernel"
    );
    if std::env::var_os("CI").is_some() {
        panic!("{msg}");
    }
    eprintln!("\n{}\n{msg}\n{}\n", "!".repeat(80), "!".repeat(80));
    false
}

/// Debian's packages for the tools the harness runs, installed only when one is missing.
fn ensure_tools() {
    let tools = [
        ("iptables-restore", "iptables"),
        ("nft", "nftables"),
        ("nfacct", "nfacct"),
        ("ip", "iproute2"),
        ("python3", "python3"),
    ];
    let missing: Vec<&str> = tools
        .iter()
        .filter(|(bin, _)| !have(bin))
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        return;
    }
    apt::install(&missing);
}

fn svcroute(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_svcroute"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("svcroute runs");
    assert!(
        o.status.success(),
        "svcroute {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf-8")
}

/// The plan's real servers (addresses) per virtual server `address:port`.
fn plan_endpoints() -> BTreeMap<String, Vec<String>> {
    let plan: serde_json::Value =
        serde_json::from_str(&svcroute(&["plan", "-f", CLUSTER, "-o", "json"])).expect("json");
    let mut out = BTreeMap::new();
    for vs in plan["virtualServers"].as_array().expect("virtualServers") {
        let key = format!("{}:{}", vs["address"].as_str().unwrap_or(""), vs["port"]);
        let rs = vs["realServers"]
            .as_array()
            .expect("realServers")
            .iter()
            .map(|r| r["address"].as_str().unwrap_or("").to_string())
            .collect();
        out.insert(key, rs);
    }
    out
}

/// Loads `mode`'s rules into a fresh node and returns the answers per target.
fn run_mode(mode: &str, dir: &Path, pods: &[String]) -> BTreeMap<String, Vec<String>> {
    let rules = dir.join(format!("rules.{mode}"));
    std::fs::write(&rules, svcroute(&["plan", "-f", CLUSTER, "-o", mode])).expect("write rules");
    let o = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh"])
        .arg(root().join("tests/modes/netns.sh"))
        .arg(mode)
        .arg(&rules)
        .arg(pods.join(" "))
        .arg(format!("{SPREAD_VIP}:{SPREAD_COUNT}"))
        .arg(format!("{STICKY_VIP}:30"))
        .arg(format!("{NODE_PORT}:30"))
        .arg(format!("{FALLBACK_VIP}:20"))
        .arg(format!("{NO_ENDPOINTS_VIP}:3"))
        .output()
        .expect("unshare runs");
    assert!(
        o.status.success(),
        "{mode}: the namespace harness failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut answers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let (target, answer) = line.split_once(' ').expect("TARGET ANSWER");
        answers
            .entry(target.to_string())
            .or_default()
            .push(answer.to_string());
    }
    if mode == "iptables" {
        let saved = without_counters(
            &std::fs::read_to_string(dir.join("rules.iptables.saved")).expect("saved"),
        );
        let rendered = std::fs::read_to_string(&rules).expect("rules");
        assert_eq!(
            saved, rendered,
            "iptables-save prints the loaded rules differently from plan -o iptables"
        );
    }
    answers
}

/// Chain lines with `[0:0]` counters: packets the namespaces sent while the test ran (neighbour
/// discovery, the readiness probes) are counted on the builtin chains.
fn without_counters(saved: &str) -> String {
    saved
        .lines()
        .map(|l| match (l.starts_with(':'), l.rfind(" [")) {
            (true, Some(i)) => format!("{} [0:0]\n", &l[..i]),
            _ => format!("{l}\n"),
        })
        .collect()
}

fn check(
    mode: &str,
    answers: &BTreeMap<String, Vec<String>>,
    plan: &BTreeMap<String, Vec<String>>,
) {
    for (target, got) in answers {
        let want = &plan[target];
        if want.is_empty() {
            assert!(
                got.iter().all(|a| a == "ERR:ConnectionRefusedError"),
                "{mode}: {target} has no endpoints in the plan, so connections are refused: {got:?}"
            );
            continue;
        }
        for a in got {
            assert!(
                want.contains(a),
                "{mode}: a connection to {target} answered {a:?}, not one of the plan's endpoints {want:?}"
            );
        }
    }
    let spread = &answers[SPREAD_VIP];
    assert_eq!(
        spread.len(),
        SPREAD_COUNT,
        "{mode}: every connection answered"
    );
    let endpoints = &plan[SPREAD_VIP];
    let expected = SPREAD_COUNT as f64 / endpoints.len() as f64;
    let chi: f64 = endpoints
        .iter()
        .map(|e| {
            let n = spread.iter().filter(|a| *a == e).count() as f64;
            (n - expected).powi(2) / expected
        })
        .sum();
    eprintln!("{mode}: {SPREAD_VIP} spread chi-square {chi:.2} (bound {CHI_SQUARE_BOUND})");
    assert!(
        chi < CHI_SQUARE_BOUND,
        "{mode}: {SPREAD_VIP} is not spread uniformly at random over {endpoints:?}: chi-square {chi:.2}"
    );
    let sticky = &answers[STICKY_VIP];
    assert!(
        sticky.iter().all(|a| a == &sticky[0]),
        "{mode}: sessionAffinity ClientIP moved the client between Pods: {sticky:?}"
    );
    assert_eq!(answers[NODE_PORT].len(), 30, "{mode}: the NodePort answers");
    assert_eq!(
        answers[FALLBACK_VIP].len(),
        20,
        "{mode}: the serving terminating endpoint answers"
    );
    assert_eq!(answers[NO_ENDPOINTS_VIP].len(), 3);
}

#[test]
fn iptables_and_nftables_rules_route_real_connections_as_planned() {
    if !can_run() {
        return;
    }
    ensure_tools();
    let start = Instant::now();
    let plan = plan_endpoints();
    let pods = plan[SPREAD_VIP].clone();
    assert_eq!(pods.len(), 3, "the test cluster has three endpoints");
    let dir = std::env::temp_dir().join(format!("svcroute-modes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for mode in ["iptables", "nftables"] {
        let answers = run_mode(mode, &dir, &pods);
        check(mode, &answers, &plan);
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "proxy_modes_kernel: both modes checked in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

/// Runs `script` in a throwaway network namespace with `input` on its standard input.
fn in_netns(script: &str, input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new("unshare")
        .args(["-n", "sh", "-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("unshare runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write rules");
    child.wait_with_output().expect("unshare ends")
}

/// Every `plan -o iptables|nftables` run of the `modes-*` fixtures (kube-proxy's own test
/// clusters, traffic policies, dual-stack) loads into an empty ruleset, and the iptables ones
/// read back from `iptables-save` / `ip6tables-save` exactly as rendered.
#[test]
fn every_modes_fixture_loads_and_reads_back() {
    if !can_run() {
        return;
    }
    ensure_tools();
    let dir = root().join("tests/fixtures");
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.starts_with("modes-") && n.ends_with(".yaml")
        })
        .collect();
    fixtures.sort();
    let mut loaded = 0;
    for f in &fixtures {
        let text = std::fs::read_to_string(f).expect("fixture");
        let rel = f
            .strip_prefix(root())
            .expect("under root")
            .display()
            .to_string();
        for run in text.lines().filter_map(|l| l.strip_prefix("# run: plan ")) {
            let mut args: Vec<&str> = Vec::from(["plan"]);
            args.extend(run.split_whitespace());
            args.extend(["-f", rel.as_str()]);
            if run.ends_with("-o nftables") {
                let o = in_netns("nft -f -", &svcroute(&args));
                assert!(
                    o.status.success(),
                    "{rel}: nft -f refused `{run}`: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                loaded += 1;
            } else if run.ends_with("-o iptables") {
                let out = svcroute(&args);
                let (v4, v6) = match out.split_once("# ip6tables-save\n") {
                    Some((a, b)) => (a.to_string(), Some(b.to_string())),
                    None => (out.clone(), None),
                };
                for (rules, cmd) in [(Some(v4), "iptables"), (v6, "ip6tables")] {
                    let Some(rules) = rules else { continue };
                    let o = in_netns(
                        &format!(
                            "nfacct add ct_state_invalid_dropped_pkts && \
                             nfacct add localhost_nps_accepted_pkts && \
                             {cmd}-restore && {cmd}-save"
                        ),
                        &rules,
                    );
                    assert!(
                        o.status.success(),
                        "{rel}: {cmd}-restore refused `{run}`: {}",
                        String::from_utf8_lossy(&o.stderr)
                    );
                    let saved: String = String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .filter(|l| !l.starts_with('#'))
                        .map(|l| format!("{l}\n"))
                        .collect();
                    assert_eq!(
                        without_counters(&saved),
                        rules,
                        "{rel}: {cmd}-save differs from `{run}`"
                    );
                    loaded += 1;
                }
            }
        }
    }
    assert!(loaded >= 6, "only {loaded} renderings loaded");
    eprintln!("proxy_modes_kernel: {loaded} fixture renderings loaded into a kernel");
}
