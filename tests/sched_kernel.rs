//! The kernel's schedulers, connection by connection, held to svcroute-core's simulator
//! (issue 13, section 2, "Held to the kernel").
//!
//! `cargo xtask vm test-sched` boots Debian's kernel once and runs `tests/vm/sched.sh`: for
//! each simulated scheduler the agent programs the Service of `tests/vm/sched.yaml` (five real
//! servers, added in reverse so the kernel's list is the plan's order), and `sched_probe`
//! opens connections from many (source address, source port) pairs in two client network
//! namespaces — some held open, some closed at once (IPVS counts them as active and inactive,
//! which the least-connection schedulers weigh differently) — in four phases: as programmed;
//! after the real server that took the last connection is deleted; after the first real server
//! with connections has its Pod turn not ready, which the agent drains to weight 0 (kube-proxy's
//! graceful termination; for mh, sh and dh, connections hashing to it find no destination and
//! are refused); after a new Pod joins, whose real server the kernel puts at the head of its
//! list. In that last phase one connection comes again from the source address and port of a
//! closed connection of the first, whose entry is in TIME_WAIT: with the default
//! `conn_reuse_mode=1` the kernel expires the old entry and schedules the SYN as a new
//! connection (on 6.1 with kube-proxy's `conntrack=1`, at once: the traces show no dropped SYN,
//! no retransmission second). The kernel's choice for each connection is its entry in
//! `ipvsadm -Lnc` (cross-checked with the backend that greeted the client), or `refused`.
//!
//! This test reads those traces (`SVCROUTE_SCHED_TRACE`, else the ones recorded in
//! `tests/vm/sched_trace/` by `cargo xtask vm test-sched --record`), builds the same virtual
//! servers from the same manifests with svcroute-core, checks that they list the real servers
//! as the kernel does (order and weights), replays the same connections through the simulator
//! and fails, with a table, on every connection where the simulator chose otherwise, and on
//! any real server whose ActiveConn / InActConn at the end of a phase differ.
//! `cargo test` runs it on the recorded traces (no VM), `cargo xtask vm test-sched` on fresh
//! ones.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use svcroute_core::cluster::Tweaks;
use svcroute_core::config::{Scheduler, Settings};
use svcroute_core::plan::{RealServer, VirtualServer};
use svcroute_core::sim::{Open, Simulator};

/// The schedulers the simulator simulates; every one must have been traced.
const SCHEDULERS: &[&str] = &["rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh", "mh"];
const PHASES: [&str; 4] = ["base", "removed", "drained", "added"];
const PORT: u16 = 80;

/// Where a connection went.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Choice {
    Dest(SocketAddr),
    Refused,
}

impl std::fmt::Display for Choice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Choice::Dest(d) => write!(f, "{d}"),
            Choice::Refused => write!(f, "refused"),
        }
    }
}

/// One connection as the client made it.
#[derive(Clone, Debug)]
struct Conn {
    id: String,
    phase: usize,
    src: IpAddr,
    sport: u16,
    /// Held open until the end of the scenario (else closed at once).
    hold: bool,
    /// The client's view: the greeting backend, `refused`, `timeout`, `error-…`.
    result: String,
    /// When connect() finished (CLOCK_BOOTTIME ms in the VM).
    t_conn_ms: u64,
    /// When the close handshake finished (at once, or at the scenario's release).
    t_closed_ms: Option<u64>,
}

/// One scheduler's trace.
struct Scenario {
    scheduler: Scheduler,
    vip: IpAddr,
    removed: Option<(String, SocketAddr)>,
    drained: Option<(String, SocketAddr)>,
    added: Option<(String, SocketAddr)>,
    notes: Vec<String>,
    conns: Vec<Conn>,
    /// The kernel's choice per connection, and a remark when the trace is odd.
    kernel: Vec<(Choice, Option<String>)>,
    /// The kernel's list (address, weight) after each phase's programming, and its
    /// scheduler line (`mh (mh-port)`).
    lists: Vec<(String, Vec<(SocketAddr, u32)>)>,
    /// When each phase's last connection was done (the client's `sync`), and the kernel's
    /// counters then (`ipvsadm -Ln` just after).
    phase_end_ms: Vec<u64>,
    counts: Vec<Vec<Row>>,
}

fn trace_root() -> PathBuf {
    std::env::var("SVCROUTE_SCHED_TRACE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vm/sched_trace"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run `cargo xtask vm test-sched` to make the traces)",
            path.display()
        )
    })
}

/// One real server as `ipvsadm -Ln` shows it: address, weight, ActiveConn, InActConn.
type Row = (SocketAddr, u32, u32, u32);

/// `ipvsadm -Ln --nosort -t VIP:80`: the scheduler line and the real servers in list order.
fn parse_rows(text: &str) -> (String, Vec<Row>) {
    let mut sched = String::new();
    let mut list = Vec::new();
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["TCP", _, rest @ ..] => sched = rest.join(" "),
            ["->", addr, _fwd, weight, active, inactive] if addr.parse::<SocketAddr>().is_ok() => {
                list.push((
                    addr.parse().unwrap(),
                    weight.parse().unwrap(),
                    active.parse().unwrap(),
                    inactive.parse().unwrap(),
                ));
            }
            _ => {}
        }
    }
    (sched, list)
}

/// The scheduler line and the real servers (address, weight) in list order.
fn parse_list(text: &str) -> (String, Vec<(SocketAddr, u32)>) {
    let (sched, rows) = parse_rows(text);
    (sched, rows.into_iter().map(|(a, w, _, _)| (a, w)).collect())
}

/// `ipvsadm -Lnc`: source → destination for connections to `virtual`.
fn parse_connections(
    text: &str,
    virtual_: SocketAddr,
    into: &mut BTreeMap<SocketAddr, SocketAddr>,
) {
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if let ["TCP", _expire, _state, src, vs, dest] = w.as_slice()
            && vs.parse::<SocketAddr>().ok() == Some(virtual_)
        {
            into.insert(src.parse().unwrap(), dest.parse().unwrap());
        }
    }
}

fn load_scenario(dir: &Path, name: &str) -> Scenario {
    let scheduler = Scheduler::parse(name).unwrap();
    let events = read(&dir.join("events.txt"));
    let mut vip = None;
    let (mut removed, mut drained, mut added, mut notes) = (None, None, None, Vec::new());
    for line in events.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["vip", a] => vip = Some(a.parse::<IpAddr>().unwrap()),
            ["removed", pod, a] => removed = Some((pod.to_string(), a.parse().unwrap())),
            ["drained", pod, a] => drained = Some((pod.to_string(), a.parse().unwrap())),
            ["added", pod, a] => added = Some((pod.to_string(), a.parse().unwrap())),
            _ => notes.push(line.to_owned()),
        }
    }
    let vip = vip.expect("events.txt names the virtual address");
    let rc = read(&dir.join("client.rc"));
    assert_eq!(
        rc.trim(),
        "0",
        "{name}: the client failed: {}",
        read(&dir.join("client.err"))
    );

    let mut conns: Vec<Conn> = Vec::new();
    let mut phase_end_ms = Vec::new();
    for line in read(&dir.join("conns.txt")).lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["conn", id, src, sport, mode, result, t_conn, t_closed] => {
                let phase = PHASES
                    .iter()
                    .position(|p| id.starts_with(&format!("{p}-")))
                    .unwrap();
                let t_closed: u64 = t_closed.parse().unwrap();
                conns.push(Conn {
                    id: id.to_string(),
                    phase,
                    src: src.parse().unwrap(),
                    sport: sport.parse().unwrap(),
                    hold: *mode == "hold",
                    result: result.to_string(),
                    t_conn_ms: t_conn.parse().unwrap(),
                    t_closed_ms: (t_closed > 0).then_some(t_closed),
                });
            }
            ["released", id, t] => {
                let c = conns.iter_mut().find(|c| c.id == *id).unwrap();
                c.t_closed_ms = Some(t.parse().unwrap());
            }
            ["sync", phase, t] => {
                assert_eq!(
                    *phase,
                    PHASES[phase_end_ms.len()],
                    "{name}: phases in order"
                );
                phase_end_ms.push(t.parse().unwrap());
            }
            _ => panic!("{name}: odd trace line {line:?}"),
        }
    }

    // The kernel's choice for a connection of phase p is its entry in the table read at the
    // end of phase p (a TIME_WAIT entry lasts 2 minutes, an established one 15): a source
    // address and port used again later has a new entry by then.
    let virtual_ = SocketAddr::new(vip, PORT);
    let tables: Vec<BTreeMap<SocketAddr, SocketAddr>> = PHASES
        .iter()
        .map(|p| {
            let mut table = BTreeMap::new();
            parse_connections(
                &read(&dir.join(format!("lnc-{p}.txt"))),
                virtual_,
                &mut table,
            );
            table
        })
        .collect();
    let kernel = conns
        .iter()
        .map(|c| {
            let greeting = c.result.parse::<SocketAddr>().ok();
            match (
                tables[c.phase].get(&SocketAddr::new(c.src, c.sport)),
                greeting,
            ) {
                (Some(d), Some(g)) if *d == g => (Choice::Dest(*d), None),
                (Some(d), g) => (
                    Choice::Dest(*d),
                    Some(format!(
                        "the client saw {:?}",
                        g.map_or(c.result.clone(), |g| g.to_string())
                    )),
                ),
                (None, Some(g)) => (
                    Choice::Dest(g),
                    Some("gone from ipvsadm -Lnc; the backend's greeting".into()),
                ),
                (None, None) if c.result == "refused" => (Choice::Refused, None),
                (None, None) => (Choice::Refused, Some(format!("client: {}", c.result))),
            }
        })
        .collect();

    let lists = PHASES
        .iter()
        .map(|p| parse_list(&read(&dir.join(format!("ln-{p}-programmed.txt")))))
        .collect();
    let counts = PHASES
        .iter()
        .map(|p| parse_rows(&read(&dir.join(format!("ln-{p}.txt")))).1)
        .collect();
    Scenario {
        scheduler,
        vip,
        removed,
        drained,
        added,
        notes,
        conns,
        kernel,
        lists,
        phase_end_ms,
        counts,
    }
}

/// `tests/vm/sched.yaml` with its placeholders filled in, as `render` in `tests/vm/sched.sh`.
fn render(vip: IpAddr, gone: &str, not_ready: &str, late: &str) -> String {
    let mut text = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vm/sched.yaml"))
        .replacen("clusterIP: VIP", &format!("clusterIP: {vip}"), 1)
        .replace(&format!("APP_{gone}}}"), "gone}")
        .replace("APP_LATE}", &format!("{late}}}"))
        .replace(&format!("\"READY_{not_ready}\""), "\"False\"");
    for i in 1..=6 {
        text = text
            .replace(&format!("APP_b{i}}}"), "probe}")
            .replace(&format!("\"READY_b{i}\""), "\"True\"");
    }
    text
}

/// svcroute-core's virtual server for the manifest.
fn virtual_server(s: &Scenario, gone: &str, not_ready: &str, late: &str) -> VirtualServer {
    let config = Settings {
        scheduler: Some(s.scheduler),
        ..Settings::default()
    }
    .to_config()
    .unwrap();
    let text = render(s.vip, gone, not_ready, late);
    let cluster =
        svcroute_core::manifest::load([("sched.yaml", text.as_str())], config, &Tweaks::default())
            .unwrap_or_else(|e| panic!("tests/vm/sched.yaml: {e:?}"));
    let plan = svcroute_core::plan::plan(&cluster, Some("node-1")).unwrap();
    plan.virtual_servers
        .into_iter()
        .find(|v| v.address == s.vip && v.port == PORT)
        .expect("the plan has the Service's virtual server")
}

fn socket(r: &RealServer) -> SocketAddr {
    SocketAddr::new(r.address, r.port)
}

/// The virtual server in each phase, as the kernel holds it after the same history: the plan
/// (the agent adds in reverse, so the kernel lists it in the plan's order); the plan without
/// the removed Pod; then the drained Pod's real server kept at weight 0 (the agent's graceful
/// termination: `core/src/node/reconcile.rs` keeps a busy TCP real server at weight 0); then the late
/// Pod's real server at the head of the list (`list_add_rcu` in `ip_vs_ctl.c`).
fn phases(s: &Scenario) -> Vec<VirtualServer> {
    let gone = s.removed.as_ref().map_or("-", |(p, _)| p.as_str());
    let not_ready = s.drained.as_ref().map_or("-", |(p, _)| p.as_str());
    let base = virtual_server(s, "-", "-", "gone");
    let removed = virtual_server(s, gone, "-", "gone");
    let mut drained = removed.clone();
    if let Some((_, addr)) = &s.drained {
        let rs = drained
            .real_servers
            .iter_mut()
            .find(|r| socket(r) == *addr)
            .expect("the drained real server is in the list");
        rs.weight = 0;
    }
    let mut added = drained.clone();
    if let Some((_, addr)) = &s.added {
        let late = virtual_server(s, gone, not_ready, "probe")
            .real_servers
            .into_iter()
            .find(|r| socket(r) == *addr)
            .expect("the late Pod's real server is in the plan");
        added.real_servers.insert(0, late);
    }
    vec![base, removed, drained, added]
}

/// What the simulator made of one scenario.
struct Simulated {
    /// Its choice and reason for each connection.
    choices: Vec<(Choice, String)>,
    /// Its ActiveConn / InActConn per real server at the end of each phase, when its API
    /// reports them.
    counts: Option<Vec<Vec<Row>>>,
}

/// The one function that knows the simulator's API: every connection of one scenario, in
/// order, through svcroute-core's simulator (a fresh one per scenario, as each scenario has its
/// own virtual server). `phases[p]` is the virtual server, its real servers in the kernel's
/// list order, while phase `p`'s connections are made; `phase_end_ms[p]` is when the
/// kernel's counters of phase `p` were read.
///
/// Written against `Simulator::open` (source port and lifetime given) and
/// `Simulator::counters`.
fn simulate(phases: &[VirtualServer], conns: &[Conn], phase_end_ms: &[u64]) -> Simulated {
    let mut sim = Simulator::new();
    let mut choices = Vec::new();
    let mut counts = Vec::new();
    for (p, vs) in phases.iter().enumerate() {
        for c in conns.iter().filter(|c| c.phase == p) {
            let d = sim.open(
                "node-1",
                vs,
                &Open {
                    client: c.src,
                    port: Some(c.sport),
                    at_ms: c.t_conn_ms,
                    duration_ms: c.t_closed_ms.map(|t| t.saturating_sub(c.t_conn_ms)),
                },
            );
            let choice = match d.index {
                Some(i) => Choice::Dest(socket(&vs.real_servers[i])),
                None => Choice::Refused,
            };
            choices.push((choice, d.reason.to_string()));
        }
        let rows = sim
            .counters("node-1", &vs.key(), phase_end_ms[p])
            .into_iter()
            .map(|d| {
                (
                    SocketAddr::new(d.address, d.port),
                    d.weight,
                    d.counts.active,
                    d.counts.inactive,
                )
            })
            .collect();
        counts.push(rows);
    }
    Simulated {
        choices,
        counts: Some(counts),
    }
}

fn show_list(list: &[(SocketAddr, u32)]) -> String {
    list.iter()
        .map(|(a, w)| format!("{a} w{w}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every scheduler's trace under `root`, checked for what the comparison rests on: all phases
/// happened, mh ran with mh-port, no connection's trace contradicts itself, and the kernel
/// listed the real servers (order and weights) as the model of each phase does. Returns each
/// scenario with its model.
fn checked_scenarios(root: &Path) -> Vec<(Scenario, Vec<VirtualServer>)> {
    let mut out = Vec::new();
    for name in SCHEDULERS {
        let dir = root.join(name);
        assert!(
            dir.is_dir(),
            "no trace for {name} in {} (run `cargo xtask vm test-sched`)",
            root.display()
        );
        let s = load_scenario(&dir, name);
        assert!(
            s.removed.is_some() && s.drained.is_some() && s.added.is_some(),
            "{name}: the trace lacks the removal, the drain or the addition: {:?} {:?} {:?}",
            s.removed,
            s.drained,
            s.added
        );
        for (p, phase) in PHASES.iter().enumerate() {
            assert!(
                s.conns.iter().any(|c| c.phase == p),
                "{name}: no connection in phase {phase}"
            );
        }
        if s.scheduler == Scheduler::Maglev {
            assert!(
                s.lists.iter().all(|(line, _)| line.contains("mh-port")),
                "mh runs with kube-proxy's flag mh-port: {:?}",
                s.lists
            );
        }
        for (c, (_, remark)) in s.conns.iter().zip(&s.kernel) {
            assert!(
                remark.is_none(),
                "{name} {}: odd kernel trace: {}",
                c.id,
                remark.as_deref().unwrap_or_default()
            );
        }
        // The kernel's list must be the model's before the choices can be compared.
        let model = phases(&s);
        for (p, vs) in model.iter().enumerate() {
            let want: Vec<(SocketAddr, u32)> = vs
                .real_servers
                .iter()
                .map(|r| (socket(r), r.weight))
                .collect();
            assert_eq!(
                s.lists[p].1, want,
                "{name}, phase {}: the kernel's real servers (left) are not the model's (right)",
                PHASES[p]
            );
        }
        out.push((s, model));
    }
    out
}

/// The recorded traces hold what the comparison needs, and the core's plans list the real
/// servers as the kernel did after the same history (the agent's reverse additions give the
/// plan's order; a drained server keeps its place at weight 0; a new one goes to the head).
#[test]
fn recorded_traces_are_whole_and_lists_match_the_plan() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vm/sched_trace");
    let all = checked_scenarios(&root);
    assert_eq!(all.len(), SCHEDULERS.len());
    // The drained real server refuses new connections under the hashing schedulers (no
    // fallback flag): the traces must show refusals there, and none elsewhere.
    for (s, _) in &all {
        let refused = s
            .kernel
            .iter()
            .filter(|(k, _)| *k == Choice::Refused)
            .count();
        let hashing = matches!(
            s.scheduler,
            Scheduler::SourceHashing | Scheduler::DestinationHashing | Scheduler::Maglev
        );
        assert_eq!(refused > 0, hashing, "{}: {refused} refused", s.scheduler);
    }
}

#[test]
fn simulator_chooses_what_the_kernel_chose() {
    let root = trace_root();
    let mut failures = String::new();
    let mut summary = String::new();
    for (s, model) in checked_scenarios(&root) {
        let name = s.scheduler.as_str();
        let sim = simulate(&model, &s.conns, &s.phase_end_ms);
        if let Some(counts) = &sim.counts {
            for (p, (kernel, simulated)) in s.counts.iter().zip(counts).enumerate() {
                if kernel != simulated {
                    writeln!(
                        failures,
                        "{name}, end of phase {}: (address, weight, ActiveConn, InActConn)\n  kernel    {kernel:?}\n  simulator {simulated:?}",
                        PHASES[p]
                    )
                    .unwrap();
                }
            }
        }
        let mut agree = [0usize; 4];
        let mut total = [0usize; 4];
        let mut refused = 0;
        let mut table = String::new();
        for ((c, (kernel, _)), (simulated, reason)) in
            s.conns.iter().zip(&s.kernel).zip(&sim.choices)
        {
            total[c.phase] += 1;
            refused += usize::from(*kernel == Choice::Refused);
            if kernel == simulated {
                agree[c.phase] += 1;
            } else {
                writeln!(
                    table,
                    "  {name:<4} {:<11} {:<21} {:<5} {:<17} {:<17} {reason}",
                    c.id,
                    format!("{}:{}", c.src, c.sport),
                    if c.hold { "hold" } else { "close" },
                    kernel.to_string(),
                    simulated.to_string(),
                )
                .unwrap();
            }
        }
        let (a, t): (usize, usize) = (agree.iter().sum(), total.iter().sum());
        writeln!(
            summary,
            "{name:<4} {a:>3}/{t:<3} agree (base {}/{}, removed {}/{}, drained {}/{}, added {}/{}); kernel refused {refused}; list {}{}",
            agree[0],
            total[0],
            agree[1],
            total[1],
            agree[2],
            total[2],
            agree[3],
            total[3],
            show_list(&s.lists[0].1),
            if s.notes.is_empty() { String::new() } else { format!("; {}", s.notes.join("; ")) }
        )
        .unwrap();
        if !table.is_empty() {
            writeln!(
                failures,
                "{name}: the simulator disagrees with the kernel on {} of {t} connections \
                 (the kernel's list in each phase:\n{})\n  sched conn        from                  mode  \
                 kernel            simulator         simulator's reason\n{table}",
                t - a,
                PHASES
                    .iter()
                    .zip(&s.lists)
                    .map(|(p, (line, l))| format!("  {p:<8} {line}: {}", show_list(l)))
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
            .unwrap();
        }
    }
    eprintln!("kernel vs simulator, per scheduler:\n{summary}");
    assert!(failures.is_empty(), "{failures}");
}
