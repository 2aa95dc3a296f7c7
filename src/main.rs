//! The `svcroute` binary: glue between the command line and `svcroute-core`.
//!
//! Argument parsing ([`cli`]) is pure; this file does the I/O: reading manifests
//! ([`input`]), printing results, and turning errors into `error: FILE:LINE:COL: message` lines
//! and a non-zero exit.

mod agent;
mod cli;
mod input;
#[cfg(feature = "api")]
mod kube;

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use svcroute_core::cluster::live::{Live, LiveError};
use svcroute_core::cluster::{Cluster, Tweaks};
use svcroute_core::diag::Diagnostic;
use svcroute_core::render::json;
use svcroute_core::{manifest, netfilter, render, route, sim};

/// mimalloc instead of the system allocator: a plan of 10,000 Services makes millions of small
/// allocations (tree nodes, strings, model values), where glibc's malloc and free were a fifth
/// of the time. (Not in the static musl build.)
#[cfg(not(target_env = "musl"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use cli::{Cli, Command, DiffArgs, DiffFormat, ManifestArgs, PlanFormat, RouteFormat};
use svcroute_core::netfilter::conntrack::{Serving, cleanups};

fn main() -> ExitCode {
    // No transparent huge pages for this process (see ARCHITECTURE.md "Choices"): mimalloc asks
    // for them on its arenas, and each first touch of a 2 MiB page then cleared it whole, with
    // system time varying from 0.05 to 0.7 s between runs of the same 10k-Service plan.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Plan(args) => {
            let Some(cluster) = load(&args.manifests)? else {
                return Ok(ExitCode::FAILURE);
            };
            let mut plan = svcroute_core::plan(&cluster, args.manifests.node.as_deref())?;
            // The node's own warnings (a Service past the node's rule limit, a virtual server
            // two Services claim) follow the cluster's, which `load` reported.
            report_all(
                plan.diagnostics
                    .get(cluster.warnings.len()..)
                    .unwrap_or_default(),
            );
            netfilter::restrict_node_ports(&mut plan, &args.netfilter.nodeport_addresses);
            let text = match args.output {
                PlanFormat::NftablesIpvs => netfilter::render::script(&netfilter_plan(
                    &cluster,
                    &args.manifests,
                    &args.netfilter,
                )?),
                PlanFormat::Json => {
                    // Written as it is serialized: the text of a large plan is never held.
                    print_json(|sink| json::write_pretty(&plan, sink))?;
                    std::mem::forget((cluster, plan));
                    return Ok(ExitCode::SUCCESS);
                }
                PlanFormat::Ipvsadm => render::ipvsadm_rules(&plan),
                PlanFormat::Iptables => render::iptables::iptables_save(&cluster, &plan.node),
                PlanFormat::Nftables => render::nftables::ruleset(&cluster, &plan.node),
                PlanFormat::Table => render::table(&plan),
                PlanFormat::Kubectl => render::kubectl::all(&cluster),
            };
            print(&text)?;
            // Exit without dropping the whole state object by object (the OS takes it back).
            std::mem::forget((cluster, plan));
        }
        Command::Diff(args) => return diff(&args),
        Command::Agent(args) => {
            let level = match args.verbose {
                0 => tracing::Level::INFO,
                1 => tracing::Level::DEBUG,
                _ => tracing::Level::TRACE,
            };
            tracing_subscriber::fmt()
                .with_max_level(level)
                .with_writer(std::io::stderr)
                .init();
            if let Err(e) = agent::run(&args) {
                tracing::error!("{e:#}");
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::NftSync(args) => {
            // What a full sync found in the kernel's tables, as the agent logs it.
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::INFO)
                .with_writer(std::io::stderr)
                .init();
            let Some(cluster) = load(&args.manifests)? else {
                return Ok(ExitCode::FAILURE);
            };
            let new = netfilter_plan(&cluster, &args.manifests, &args.netfilter)?;
            let old = if args.previous.is_empty() {
                None
            } else {
                let mut m = args.manifests.clone();
                m.files = args.previous.clone();
                let Some(c) = load(&m)? else {
                    return Ok(ExitCode::FAILURE);
                };
                Some(netfilter_plan(&c, &m, &args.netfilter)?)
            };
            print(&agent::nft::sync_once(old.as_ref(), &new)?)?;
        }
        Command::ConntrackClean(args) => {
            let Some(cluster) = load(&args)? else {
                return Ok(ExitCode::FAILURE);
            };
            let r = agent::conntrack::Conntrack::connect()?.clean(&Serving::of(&cluster))?;
            print(&format!(
                "conntrack: {} entries dumped, {} deleted, {} already gone, {} messages, {:.1} ms\n",
                r.dumped,
                r.deleted,
                r.gone,
                r.messages,
                r.elapsed.as_secs_f64() * 1000.0
            ))?;
        }
        Command::Route(args) => {
            let Some(cluster) = load(&args.manifests)? else {
                return Ok(ExitCode::FAILURE);
            };
            let req = args.request()?;
            let mut sim = sim::Simulator::with_seed(cluster.config.seed);
            route::check_refusing(&cluster, &req.refusing)?;
            let routes = route::route(&cluster, &req, &mut sim)?;
            let text = match args.output {
                RouteFormat::Json => {
                    print_json(|sink| json::write_pretty(&routes, sink))?;
                    std::mem::forget((cluster, routes, sim));
                    return Ok(ExitCode::SUCCESS);
                }
                RouteFormat::Table => route_table(&routes),
                RouteFormat::Connections => {
                    render::ipvsadm::ipvsadm_connections(&sim.connections(routes.end_ms))
                }
                RouteFormat::Counters => match &routes.simulated {
                    Some((node, key)) => {
                        let plan = svcroute_core::plan(&cluster, Some(node))?;
                        let counters = sim.counters(node, key, routes.end_ms);
                        let vs = plan.virtual_server(key).cloned();
                        render::ipvsadm::ipvsadm_counters(vs.as_ref(), &counters)
                    }
                    None => "# no virtual server: nothing was scheduled\n".to_owned(),
                },
            };
            print(&text)?;
            std::mem::forget((cluster, routes, sim));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The node's netfilter plan (with `--nodeport-addresses` applied to the IPVS plan).
fn netfilter_plan(
    cluster: &Cluster,
    m: &ManifestArgs,
    nf: &cli::NetfilterArgs,
) -> Result<netfilter::NetfilterPlan> {
    let mut plan = svcroute_core::plan(cluster, m.node.as_deref())?;
    netfilter::restrict_node_ports(&mut plan, &nf.nodeport_addresses);
    Ok(netfilter::plan(cluster, &plan, &nf.options()?))
}

/// Writes a value to stdout as pretty JSON and a newline, as `write` (a
/// [`json::write_pretty`]) serializes it: serde_json's `to_writer_pretty` byte for byte, through
/// the core's faster writer. A closed pipe is not an error.
fn print_json(write: impl FnOnce(json::Sink<'_>) -> Result<(), json::Error>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let mut failed = None;
    let written = write(&mut |text| {
        out.write_all(text.as_bytes()).map_err(|e| {
            let msg = json::Error::new(&e);
            failed = Some(e);
            msg
        })
    });
    let written = match (written, failed) {
        (_, Some(e)) => Err(e),
        (Err(e), None) => return Err(e).context("writing JSON"),
        (Ok(()), None) => out.write_all(b"\n").and_then(|()| out.flush()),
    };
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to standard output"),
    }
}

/// Writes to stdout; a closed pipe (`svcroute plan | head`) is not an error.
fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to standard output"),
    }
}

/// Prints diagnostics to stderr through one buffer: stderr is unbuffered, and a large cluster's
/// thousands of warnings were otherwise a few `write` calls each.
fn report_all(ds: &[Diagnostic]) {
    let mut err = std::io::BufWriter::with_capacity(1 << 16, std::io::stderr().lock());
    for d in ds {
        let level = if d.is_error() { "error" } else { "warning" };
        let _ = writeln!(err, "{level}: {d}");
    }
    let _ = err.flush();
}

/// Reads the manifests and builds the cluster. Prints every diagnostic; `None` when any was
/// an error.
fn load(args: &ManifestArgs) -> Result<Option<Cluster>> {
    let (read, config) = if args.uses_api() {
        #[cfg(feature = "api")]
        {
            let (inputs, config) = kube::read_cluster(args)?;
            let read = manifest::read_all(inputs.iter().map(|(n, t)| (n.as_str(), t.as_str())));
            // The text is not needed to build: give its memory back first (it is a third of
            // the peak).
            drop(inputs);
            (read, config)
        }
        #[cfg(not(feature = "api"))]
        anyhow::bail!("--kubeconfig/--master: this svcroute was built without the `api` feature")
    } else {
        // Read without holding a large JSON file's text whole.
        (input::read_manifests(&args.files)?, args.config()?)
    };
    let loaded = manifest::build(read, config, &Tweaks::default());
    match loaded {
        Ok(cluster) => {
            report_all(&cluster.warnings);
            Ok(Some(cluster))
        }
        Err(errors) => {
            report_all(&errors.0);
            Ok(None)
        }
    }
}

/// `svcroute diff`: the live cluster of the --from manifests, replaced by the --to ones (so
/// ClusterIPs, NodePorts and the control plane's Pods keep what they had, as in a cluster).
fn diff(args: &DiffArgs) -> Result<ExitCode> {
    let config = args.manifests.config()?;
    let read = |paths: &[String]| -> Result<Option<svcroute_core::model::Objects>> {
        let read = input::read_manifests(paths)?;
        report_all(&read.diagnostics);
        Ok((!read.has_errors()).then_some(read.objects))
    };
    let (Some(from), Some(to)) = (read(&args.from)?, read(&args.to)?) else {
        return Ok(ExitCode::FAILURE);
    };
    let node = args.manifests.node.as_deref();
    let mut live = match Live::new(from, config, node) {
        Ok(l) => l,
        Err(e) => return refused(&e),
    };
    if let Err(e) = live.plan() {
        anyhow::bail!("{e}");
    }
    let serving_before = Serving::of(live.cluster());
    let ops = match live.replace(to) {
        Ok(ops) => ops,
        Err(e) => return refused(&e),
    };
    report_all(&live.cluster().warnings);
    let text: String = match args.output {
        DiffFormat::Json => {
            print_json(|sink| json::write_pretty(&ops, sink))?;
            std::mem::forget(live);
            return Ok(ExitCode::SUCCESS);
        }
        DiffFormat::Ipvsadm => ops
            .iter()
            .map(|op| agent::ipvs::describe(op) + "\n")
            .collect(),
        DiffFormat::Conntrack => cleanups(&serving_before, &Serving::of(live.cluster()))
            .iter()
            .map(|f| format!("{f}\n"))
            .collect(),
    };
    print(&text)?;
    // The process ends here: the cluster's memory goes back with it, not object by object.
    std::mem::forget(live);
    Ok(ExitCode::SUCCESS)
}

fn refused(e: &LiveError) -> Result<ExitCode> {
    match e {
        LiveError::Invalid(errors) => report_all(&errors.0),
        other => eprintln!("error: {other}"),
    }
    Ok(ExitCode::FAILURE)
}

fn route_table(routes: &route::Routes) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for c in &routes.connections {
        let target = match (&c.backend, &c.cname, &c.addresses) {
            (Some(b), _, _) => format!("{b} ({})", c.pod.as_deref().unwrap_or("-")),
            (None, Some(cname), _) => format!("CNAME {cname}"),
            (None, None, Some(a)) => format!("A {}", a.join(", ")),
            _ => "refused".to_owned(),
        };
        let from = match c.from.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V6(_)) => format!("[{}]:{}", c.from, c.source_port),
            _ => format!("{}:{}", c.from, c.source_port),
        };
        let _ = writeln!(
            out,
            "t={:<8} {:<21} -> {:<28} => {target}\n           {}",
            c.time, from, c.to, c.reason
        );
        for r in &c.rules {
            let _ = writeln!(out, "           | {r}");
        }
    }
    let spread = route::spread(routes);
    if !spread.is_empty() {
        out.push_str("\n# connections per backend\n");
        for (b, n) in spread {
            let _ = writeln!(out, "{b:<28} {n}");
        }
    }
    out
}
