//! `svcroute agent`: makes the kernel's IPVS table and the dummy interface match the core's
//! plan for this node, continuously, touching only what it owns.
//!
//! One sync: dump the kernel ([`ipvs::Ipvs::dump`], [`link::Links::addresses`]) into the
//! core's `Observed`, call the core's `reconcile` (ownership and graceful termination live
//! there), and send only the operations it returns: addresses first, then the IPVS requests
//! many per `sendmsg`, then address removals. A restarted agent does the same and so adopts
//! what an earlier run left.
//!
//! Modules: [`netlink`] (sockets), [`ipvs`] (the table), [`link`] (the dummy interface),
//! [`sysctl`].

pub mod ipvs;
pub mod link;
pub mod netlink;
pub mod sysctl;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use svcroute_core::cluster::Tweaks;
use svcroute_core::diff::{Op, State};
use svcroute_core::manifest;
use svcroute_core::reconcile::{Observed, Ownership, reconcile};

use crate::cli::AgentArgs;

/// What the plan asks of the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    /// The node whose plan it is.
    pub node: String,
    /// Virtual servers and interface addresses.
    pub state: State,
    /// What the agent may touch.
    pub owned: Ownership,
}

/// Reads the manifests and plans this node. Diagnostics are logged; any error fails.
pub fn load(args: &AgentArgs) -> Result<Desired> {
    let m = &args.manifests;
    let inputs = crate::input::read_inputs(&m.files)?;
    let config = m.config()?;
    let range = config.node_port_range;
    let cluster = match manifest::load(
        inputs.iter().map(|(n, t)| (n.as_str(), t.as_str())),
        config,
        &Tweaks::default(),
    ) {
        Ok(c) => c,
        Err(errors) => {
            let mut count = 0;
            for d in &errors.0 {
                if d.is_error() {
                    count += 1;
                    tracing::error!("{d}");
                } else {
                    tracing::warn!("{d}");
                }
            }
            bail!("the manifests have {count} error(s)");
        }
    };
    for w in &cluster.warnings {
        tracing::warn!("{w}");
    }
    let plan = svcroute_core::plan(&cluster, m.node.as_deref())?;
    let node_addresses: BTreeSet<IpAddr> = cluster
        .nodes
        .iter()
        .filter(|n| n.meta.id.name == plan.node)
        .flat_map(|n| n.addresses.iter().copied())
        .collect();
    Ok(Desired {
        node: plan.node.clone(),
        state: State::from_plan(&plan),
        owned: Ownership {
            node_addresses,
            node_port_range: range,
        },
    })
}

/// What one sync did.
#[derive(Clone, Debug, Default)]
pub struct SyncReport {
    /// Operations the core asked for.
    pub operations: usize,
    /// Netlink requests sent to change something (IPVS and rtnetlink).
    pub messages: u64,
    /// Operations the kernel refused.
    pub failed: usize,
    /// Real servers kept at weight 0 until their connections end.
    pub draining: usize,
    /// `sendmsg` calls that carried the IPVS changes.
    pub ipvs_sends: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// The kernel side: the IPVS socket and the route socket.
pub struct Dataplane {
    ipvs: ipvs::Ipvs,
    links: link::Links,
    interface: String,
    dry_run: bool,
}

impl Dataplane {
    /// Connects to the kernel. With `dry_run` nothing is ever changed.
    pub fn connect(interface: &str, dry_run: bool) -> Result<Self> {
        Ok(Dataplane {
            ipvs: ipvs::Ipvs::connect()?,
            links: link::Links::connect()?,
            interface: interface.to_owned(),
            dry_run,
        })
    }

    /// Reads the kernel's state.
    pub fn observe(&mut self) -> Result<(Observed, Option<u32>)> {
        let index = if self.dry_run {
            self.links.index(&self.interface)?
        } else {
            Some(self.links.ensure_dummy(&self.interface)?)
        };
        let addresses = match index {
            Some(i) => self.links.addresses(i)?,
            None => BTreeSet::new(),
        };
        let virtual_servers = self.ipvs.dump()?;
        Ok((
            Observed {
                virtual_servers,
                addresses,
            },
            index,
        ))
    }

    /// One reconciliation: observe, reconcile, send the difference.
    pub fn sync(&mut self, desired: &Desired) -> Result<SyncReport> {
        let started = Instant::now();
        let (observed, index) = self.observe()?;
        let ops = reconcile(&observed, &desired.state, &desired.owned);
        let draining = observed
            .virtual_servers
            .iter()
            .map(|(k, (_, rs))| {
                let want = desired.state.virtual_servers.get(k);
                rs.keys()
                    .filter(|r| want.is_none_or(|(_, w)| !w.contains_key(r)))
                    .count()
            })
            .sum::<usize>();
        let mut report = SyncReport {
            operations: ops.len(),
            draining,
            ..SyncReport::default()
        };
        if self.dry_run {
            for op in &ops {
                println!("{}", ipvs::describe(op));
            }
            report.elapsed = started.elapsed();
            return Ok(report);
        }
        let index = index.context("no dummy interface")?;
        let before_links = self.links.counters().messages;
        let mut failed = 0;
        let before = self.ipvs.counters();
        for op in &ops {
            if let Op::AddAddress { address } = op
                && let Err(e) = self.links.set_address(index, *address, true)
            {
                tracing::error!("{e:#}");
                failed += 1;
            }
        }
        for e in self.ipvs.apply(&ops)? {
            tracing::error!("the kernel refused {e}");
            failed += 1;
        }
        for op in &ops {
            if let Op::DeleteAddress { address } = op
                && let Err(e) = self.links.set_address(index, *address, false)
            {
                tracing::error!("{e:#}");
                failed += 1;
            }
        }
        let after = self.ipvs.counters();
        report.ipvs_sends = after.sends - before.sends;
        // Messages that changed something: every non-dump request after observing.
        let address_messages = self.links.counters().messages - before_links;
        let ipvs_messages = ops
            .iter()
            .filter(|op| !matches!(op, Op::AddAddress { .. } | Op::DeleteAddress { .. }))
            .count() as u64;
        report.messages = address_messages + ipvs_messages;
        report.failed = failed;
        report.elapsed = started.elapsed();
        Ok(report)
    }
}

/// A cheap fingerprint of the inputs (paths, sizes, modification times), to notice edits.
fn fingerprint(files: &[String]) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut out = Vec::new();
    for f in files {
        if f == "-" {
            continue;
        }
        let path = PathBuf::from(f);
        let mut add = |p: PathBuf| {
            let meta = std::fs::metadata(&p).ok();
            out.push((
                p,
                meta.as_ref().map_or(0, |m| m.len()),
                meta.and_then(|m| m.modified().ok()),
            ));
        };
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(&path)
                .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            entries.sort();
            add(path);
            entries.into_iter().for_each(&mut add);
        } else {
            add(path);
        }
    }
    out
}

fn log_sync(why: &str, r: &SyncReport) {
    tracing::info!(
        reason = why,
        operations = r.operations,
        messages = r.messages,
        failed = r.failed,
        draining = r.draining,
        sendmsg = r.ipvs_sends,
        elapsed_ms = format!("{:.1}", r.elapsed.as_secs_f64() * 1000.0),
        "sync: sent {} operation(s) in {:.1} ms",
        r.messages,
        r.elapsed.as_secs_f64() * 1000.0
    );
}

/// Entry point of `svcroute agent`.
pub fn run(args: &AgentArgs) -> Result<()> {
    if args.manifests.files.iter().any(|f| f == "-") && !args.once {
        bail!("-f - (standard input) needs --once: the agent cannot watch standard input");
    }
    if !args.dry_run {
        let changed = sysctl::apply(std::path::Path::new("/proc/sys"))?;
        for c in changed {
            tracing::info!(sysctl = c, "set to 1");
        }
    }
    let mut dataplane = Dataplane::connect(&args.interface, args.dry_run)?;
    let watch = Duration::from_millis(args.watch_interval_ms.max(10));

    let mut seen = fingerprint(&args.manifests.files);
    let mut desired = match load(args) {
        Ok(d) => Some(d),
        Err(e) if args.once => return Err(e),
        Err(e) => {
            tracing::error!("{e:#}; waiting for a good manifest, the kernel is left as it is");
            None
        }
    };
    if args.once {
        let d = desired.as_ref().context("no plan")?;
        let r = dataplane.sync(d)?;
        log_sync("once", &r);
        if r.failed > 0 {
            bail!("{} operation(s) failed", r.failed);
        }
        return Ok(());
    }

    let mut next_sync = Instant::now();
    let mut why = "start";
    loop {
        let now = Instant::now();
        let current = fingerprint(&args.manifests.files);
        if current != seen {
            seen = current;
            match load(args) {
                Ok(d) => {
                    if desired.as_ref() != Some(&d) {
                        tracing::info!(node = d.node, "manifests changed: new plan");
                        desired = Some(d);
                        next_sync = now;
                        why = "manifests changed";
                    } else {
                        tracing::info!("manifests changed; the plan is the same");
                    }
                }
                Err(e) => {
                    tracing::error!("{e:#}; keeping the last good plan in the kernel");
                }
            }
        }
        if now >= next_sync {
            if let Some(d) = &desired {
                match dataplane.sync(d) {
                    Ok(r) => {
                        log_sync(why, &r);
                        // Drained real servers are checked again soon, as their connections end.
                        next_sync = now
                            + if r.draining > 0 || r.failed > 0 {
                                args.sync_period.min(Duration::from_secs(5))
                            } else {
                                args.sync_period
                            };
                    }
                    Err(e) => {
                        tracing::error!("sync failed: {e:#}");
                        next_sync = now + args.sync_period.min(Duration::from_secs(5));
                    }
                }
            } else {
                next_sync = now + args.sync_period;
            }
            why = "periodic resync";
        }
        std::thread::sleep(watch.min(next_sync.saturating_duration_since(Instant::now())));
    }
}

/// Parses `30s`, `500ms`, `2m`, `1h` or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a duration like 30s, 500ms or 2m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (ms, s, m, h)")),
    };
    if !(secs.is_finite() && secs > 0.0 && secs < 1e9) {
        return Err(format!("{s:?}: must be positive"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("3d").is_err());
    }
}
