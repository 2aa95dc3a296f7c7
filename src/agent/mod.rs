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
    /// `sendmsg` calls that carried them.
    pub sends: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// The kernel side: the IPVS socket and the route socket.
pub struct Dataplane {
    ipvs: ipvs::Ipvs,
    links: link::Links,
    interface: String,
    dry_run: bool,
    /// What the kernel holds after the last sync that went through without an error: the
    /// starting point of an incremental sync.
    cache: Option<(Observed, u32)>,
}

impl Dataplane {
    /// Connects to the kernel. With `dry_run` nothing is ever changed.
    pub fn connect(interface: &str, dry_run: bool) -> Result<Self> {
        Ok(Dataplane {
            ipvs: ipvs::Ipvs::connect()?,
            links: link::Links::connect()?,
            interface: interface.to_owned(),
            dry_run,
            cache: None,
        })
    }

    /// Reads the kernel's whole state.
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

    /// A full sync: dump the whole table, reconcile, send the difference. Repairs anything
    /// changed behind the agent's back.
    pub fn sync(&mut self, desired: &Desired) -> Result<SyncReport> {
        let started = Instant::now();
        self.cache = None;
        let (observed, index) = self.observe()?;
        self.converge(observed, index, desired, started)
    }

    /// An incremental sync after a plan change: starts from what the last sync left instead of
    /// dumping everything, and re-reads only the virtual servers that lose a real server (their
    /// connection counts decide between draining and deleting). Falls back to a full sync when
    /// there is no such state (first sync, or the last one saw an error).
    pub fn sync_incremental(&mut self, desired: &Desired) -> Result<SyncReport> {
        let started = Instant::now();
        let Some((mut observed, index)) = self.cache.take() else {
            return self.sync(desired);
        };
        for (key, (_, rs)) in observed.virtual_servers.iter_mut() {
            let Some((_, want)) = desired.state.virtual_servers.get(key) else {
                continue;
            };
            if rs.keys().any(|r| !want.contains_key(r)) {
                *rs = self.ipvs.dump_real_servers(key)?;
            }
        }
        self.converge(observed, Some(index), desired, started)
    }

    fn converge(
        &mut self,
        mut observed: Observed,
        index: Option<u32>,
        desired: &Desired,
        started: Instant,
    ) -> Result<SyncReport> {
        let ops = reconcile(&observed, &desired.state, &desired.owned);
        let draining = ops
            .iter()
            .filter(|op| matches!(op, Op::UpdateRealServer { weight: 0, .. }))
            .count()
            + observed
                .virtual_servers
                .iter()
                .map(|(k, (_, rs))| {
                    let want = desired.state.virtual_servers.get(k);
                    rs.iter()
                        .filter(|(r, o)| {
                            o.weight == 0 && want.is_some_and(|(_, w)| !w.contains_key(*r))
                        })
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
        let before = self.ipvs.counters();
        let before_links = self.links.counters();
        let mut failed = 0;
        let address_changes = |add: bool| -> Vec<(IpAddr, bool)> {
            ops.iter()
                .filter_map(|op| match op {
                    Op::AddAddress { address } if add => Some((*address, true)),
                    Op::DeleteAddress { address } if !add => Some((*address, false)),
                    _ => None,
                })
                .collect()
        };
        for (address, add, e) in self.links.set_addresses(index, &address_changes(true))? {
            tracing::error!("the kernel refused address {address} (add: {add}): {e}");
            failed += 1;
        }
        for e in self.ipvs.apply(&ops)? {
            tracing::error!("the kernel refused {e}");
            failed += 1;
        }
        for (address, add, e) in self.links.set_addresses(index, &address_changes(false))? {
            tracing::error!("the kernel refused address {address} (add: {add}): {e}");
            failed += 1;
        }
        let (after, after_links) = (self.ipvs.counters(), self.links.counters());
        report.messages =
            (after.messages - before.messages) + (after_links.messages - before_links.messages);
        report.sends = (after.sends - before.sends) + (after_links.sends - before_links.sends);
        report.failed = failed;
        if failed == 0 {
            apply_to(&mut observed, &ops);
            self.cache = Some((observed, index));
        }
        report.elapsed = started.elapsed();
        Ok(report)
    }
}

/// What the kernel holds after `ops` went through (new real servers have no connections).
fn apply_to(observed: &mut Observed, ops: &[Op]) {
    use svcroute_core::plan::VsKey;
    use svcroute_core::reconcile::ObservedRs;
    for op in ops {
        match op {
            Op::AddAddress { address } => {
                observed.addresses.insert(*address);
            }
            Op::DeleteAddress { address } => {
                observed.addresses.remove(address);
            }
            Op::AddVirtualServer { key, config } => {
                observed
                    .virtual_servers
                    .insert(VsKey::from(*key), (*config, Default::default()));
            }
            Op::UpdateVirtualServer { key, config } => {
                if let Some(vs) = observed.virtual_servers.get_mut(&VsKey::from(*key)) {
                    vs.0 = *config;
                }
            }
            Op::DeleteVirtualServer { key } => {
                observed.virtual_servers.remove(&VsKey::from(*key));
            }
            Op::AddRealServer {
                key,
                real_server,
                weight,
            } => {
                if let Some(vs) = observed.virtual_servers.get_mut(&VsKey::from(*key)) {
                    vs.1.insert(
                        *real_server,
                        ObservedRs {
                            weight: *weight,
                            ..ObservedRs::default()
                        },
                    );
                }
            }
            Op::UpdateRealServer {
                key,
                real_server,
                weight,
            } => {
                if let Some(rs) = observed
                    .virtual_servers
                    .get_mut(&VsKey::from(*key))
                    .and_then(|vs| vs.1.get_mut(real_server))
                {
                    rs.weight = *weight;
                }
            }
            Op::DeleteRealServer { key, real_server } => {
                if let Some(vs) = observed.virtual_servers.get_mut(&VsKey::from(*key)) {
                    vs.1.remove(real_server);
                }
            }
        }
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
        sendmsg = r.sends,
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

    // Full syncs (dump everything, repair everything) every --sync-period; incremental ones
    // right after a plan change and while real servers drain.
    let retry = args.sync_period.min(Duration::from_secs(5));
    let mut next_full = Instant::now();
    let mut first = true;
    let mut next_incremental: Option<(Instant, &'static str)> = None;
    loop {
        let now = Instant::now();
        let current = fingerprint(&args.manifests.files);
        if current != seen {
            seen = current;
            match load(args) {
                Ok(d) if desired.as_ref() == Some(&d) => {
                    tracing::info!("manifests changed; the plan is the same");
                }
                Ok(d) => {
                    tracing::info!(node = d.node, "manifests changed: new plan");
                    desired = Some(d);
                    next_incremental = Some((now, "manifests changed"));
                }
                Err(e) => {
                    tracing::error!("{e:#}; keeping the last good plan in the kernel");
                }
            }
        }
        if let Some(d) = &desired {
            let full = now >= next_full;
            let incremental = next_incremental.filter(|(t, _)| now >= *t);
            if full || incremental.is_some() {
                let (why, result) = match incremental {
                    Some((_, why)) if !full => (why, dataplane.sync_incremental(d)),
                    _ if first => ("start", dataplane.sync(d)),
                    _ => ("periodic resync", dataplane.sync(d)),
                };
                first = false;
                next_incremental = None;
                match result {
                    Ok(r) => {
                        log_sync(why, &r);
                        if r.failed > 0 {
                            next_full = now + retry;
                        } else if full {
                            next_full = now + args.sync_period;
                        }
                        if r.draining > 0 {
                            // Re-read the drained real servers soon, as their connections end.
                            next_incremental = Some((now + retry, "draining"));
                        }
                    }
                    Err(e) => {
                        tracing::error!("sync failed: {e:#}");
                        next_full = now + retry;
                    }
                }
            }
        }
        std::thread::sleep(watch);
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
