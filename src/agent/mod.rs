//! `svcroute agent`: makes the kernel's IPVS table and the dummy interface match the core's
//! plan for this node, continuously, touching only what it owns.
//!
//! One sync: dump the kernel ([`ipvs::Ipvs::dump`], [`link::Links::addresses`]) into the
//! core's `Observed`, call the core's `reconcile` (ownership and graceful termination live
//! there), and send only the operations it returns: addresses first, then the IPVS requests
//! many per `sendmsg`, then address removals. A restarted agent does the same and so adopts
//! what an earlier run left. After the IPVS and nftables halves, the stale UDP conntrack
//! entries are deleted as kube-proxy's conntrack reconciler does ([`conntrack`]).
//!
//! Guards ([`guard`]): a plan from an empty read, or one that would delete most of what the
//! agent owns, is refused; the manifests are taken only when stable across two polls and are
//! compared by content at every full resync; addresses of the node are never bound, owned or
//! unbound. Sysctls are written only once a manifest has loaded. One agent per node
//! ([`lifecycle`]); SIGTERM/SIGINT finish the sync in flight and exit 0, leaving the kernel as
//! it is; `--cleanup` removes what the agent owns.
//!
//! Modules: [`netlink`] (sockets), [`ipvs`] (the table), [`link`] (the dummy interface),
//! [`sysctl`], [`conntrack`] (stale UDP entries), [`guard`], [`period`] (sync periods),
//! [`lifecycle`] (lock, signals).

#[cfg(feature = "api")]
pub mod api;
pub mod conntrack;
pub mod files; // -f: the manifests on the core's live cluster, only changed objects applied
pub mod guard;
#[cfg(feature = "api")]
pub mod health;
pub mod ipvs;
pub mod lifecycle;
pub mod link;
#[cfg(feature = "api")]
pub mod metrics;
pub mod netlink;
pub mod nft; // the netfilter half: nftables tables `ip svcroute` / `ip6 svcroute`
pub mod period;
pub mod sink; // the kernel, or --dry-run's model of the table
pub mod sysctl;

pub use period::parse_duration;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use ipnet::IpNet;
use svcroute_core::cluster::{Cluster, Tweaks};
use svcroute_core::diff::{Op, State};
use svcroute_core::manifest;
use svcroute_core::plan::VsKey;
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
    /// The service CIDRs: addresses in them on the interface are the agent's.
    pub service_cidrs: Vec<IpNet>,
    /// `--allow-empty`: plans that delete most of what the agent owns go through.
    pub allow_deletions: bool,
    /// The netfilter half: the nftables tables ([`nft`]).
    pub netfilter: svcroute_core::netfilter::NetfilterPlan,
    /// The UDP frontends and their serving endpoints: which conntrack entries are stale
    /// ([`conntrack`]).
    pub conntrack: svcroute_core::netfilter::conntrack::Serving,
}

/// The manifests' text: `(name, text)` per file.
pub type Inputs = Vec<(String, String)>;

/// Reads the manifests. Paths that are neither a regular file nor a directory (a FIFO, a
/// device, a socket) are refused before anything opens them: a FIFO with no writer would stall
/// the poll loop, `/dev/zero` would never end.
pub fn read(args: &AgentArgs) -> Result<Inputs> {
    use std::os::unix::fs::FileTypeExt;
    for f in args.manifests.files.iter().filter(|f| *f != "-") {
        let Ok(meta) = std::fs::metadata(f) else {
            continue; // input::read_inputs reports it
        };
        let t = meta.file_type();
        let what = if t.is_file() || t.is_dir() {
            continue;
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_socket() {
            "a socket"
        } else if t.is_char_device() || t.is_block_device() {
            "a device"
        } else {
            "not a regular file"
        };
        bail!("{f}: is {what}, not a regular file or a directory: refusing to read it");
    }
    crate::input::read_inputs(&args.manifests.files)
}

/// Reads the manifests and plans this node (see [`plan`]).
pub fn load(args: &AgentArgs) -> Result<Desired> {
    plan(args, &read(args)?)
}

/// Plans this node from the manifests' text. Diagnostics are logged; any error fails, and so
/// does an empty read unless `--allow-empty`.
pub fn plan(args: &AgentArgs, inputs: &Inputs) -> Result<Desired> {
    let m = &args.manifests;
    if !args.allow_empty && guard::is_empty_input(inputs.iter().map(|(_, t)| t.as_str())) {
        let names: Vec<&str> = inputs.iter().map(|(n, _)| n.as_str()).collect();
        bail!(
            "the manifests are empty ({}): refusing to plan from an empty read (a file being \
             rewritten?); pass --allow-empty to mean it",
            names.join(", ")
        );
    }
    let config = m.config()?;
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
    desired_of(args, &cluster, m.node.as_deref())
}

/// Plans `node` of a built cluster: the dataplane state, what the agent owns, the netfilter
/// half. Shared by the manifest loop and the API source ([`api`]).
pub fn desired_of(args: &AgentArgs, cluster: &Cluster, node: Option<&str>) -> Result<Desired> {
    desired_of_plan(args, cluster, svcroute_core::plan(cluster, node)?)
}

/// [`desired_of`] from the node's plan already made (the live cluster's, [`files`], [`api`]).
pub fn desired_of_plan(
    args: &AgentArgs,
    cluster: &Cluster,
    mut plan: svcroute_core::plan::Plan,
) -> Result<Desired> {
    let range = cluster.config.node_port_range;
    let service_cidrs = cluster.config.service_cidrs.clone();
    let nf = &args.netfilter; // --nodeport-addresses, and the netfilter half's flags
    svcroute_core::netfilter::restrict_node_ports(&mut plan, &nf.nodeport_addresses);
    let netfilter = svcroute_core::netfilter::plan(cluster, &plan, &nf.options()?);
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
            excluded: args.exclude_cidrs.clone(),
        },
        service_cidrs,
        allow_deletions: args.allow_empty,
        netfilter,
        conntrack: svcroute_core::netfilter::conntrack::Serving::of(cluster),
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
    /// Wall time of the whole sync: the dump, the IPVS and address changes, the nftables
    /// half and the conntrack cleanup (what kube-proxy's `sync_proxy_rules_duration_seconds`
    /// covers).
    pub elapsed: Duration,
    /// Where the time went, phase by phase (full syncs: the address and table dumps, the
    /// compare, the sends, the netfilter half read back and sent, the conntrack cleanup).
    pub phases: Phases,
}

/// Durations of the phases of one sync, in order, as the sync log prints them
/// (`links=0.4ms services=12.0ms …`).
#[derive(Clone, Debug, Default)]
pub struct Phases(pub Vec<(&'static str, Duration)>);

impl Phases {
    /// Records the phase `name` as the time since `since`; returns now (the next phase's start).
    pub fn lap(&mut self, name: &'static str, since: Instant) -> Instant {
        let now = Instant::now();
        self.0.push((name, now - since));
        now
    }
}

impl std::fmt::Display for Phases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (name, d)) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(f, "{sep}{name}={:.1}ms", d.as_secs_f64() * 1000.0)?;
        }
        Ok(())
    }
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
    /// Addresses on other interfaces at the last full sync: the node's own.
    local: BTreeSet<IpAddr>,
    /// Addresses this process bound on the interface.
    bound_by_us: BTreeSet<IpAddr>,
    /// Virtual servers this process created: its own even on an address it does not own (an
    /// externalIP equal to the node's address), so they go when their Service goes.
    created_by_us: BTreeSet<VsKey>,
    /// The nftables tables, with `--nftables`.
    nft: Option<nft::Netfilter>,
    /// Conntrack cleanup (not in dry runs), and the serving endpoints of the last cleanup.
    conntrack: Option<(
        conntrack::Conntrack,
        Option<svcroute_core::netfilter::conntrack::Serving>,
    )>,
}

impl Dataplane {
    /// Connects to the kernel. With `dry_run` nothing is ever changed.
    pub fn connect(interface: &str, dry_run: bool, nftables: bool) -> Result<Self> {
        Ok(Dataplane {
            ipvs: ipvs::Ipvs::connect()?,
            links: link::Links::connect()?,
            interface: interface.to_owned(),
            dry_run,
            cache: None,
            local: BTreeSet::new(),
            bound_by_us: BTreeSet::new(),
            created_by_us: BTreeSet::new(),
            nft: nftables
                .then(|| nft::Netfilter::connect(dry_run))
                .transpose()?,
            conntrack: (!dry_run)
                .then(|| conntrack::Conntrack::connect().map(|c| (c, None)))
                .transpose()?,
        })
    }

    /// Turns the conntrack cleanup off (a hidden flag, for the VM test's negative check).
    pub fn disable_conntrack_cleanup(&mut self) {
        self.conntrack = None;
    }

    /// kube-proxy's conntrack reconciler, after the rules are written: at every full sync,
    /// and at an incremental one when an endpoint stopped serving a UDP frontend. A failure is
    /// logged (as kube-proxy logs it), never a failed sync.
    fn clean_conntrack(&mut self, desired: &Desired, full: bool) {
        let Some((ct, last)) = &mut self.conntrack else {
            return;
        };
        let serving = &desired.conntrack;
        let due = full
            || last.as_ref().is_none_or(|old| {
                !svcroute_core::netfilter::conntrack::cleanups(old, serving).is_empty()
            });
        if !due {
            *last = Some(serving.clone());
            return;
        }
        match ct.clean(serving) {
            Ok(r) => {
                *last = Some(serving.clone());
                let ms = r.elapsed.as_secs_f64() * 1000.0;
                if r.deleted > 0 || r.gone > 0 {
                    tracing::info!(
                        dumped = r.dumped,
                        deleted = r.deleted,
                        gone = r.gone,
                        messages = r.messages,
                        "conntrack: deleted {} stale UDP entries in {ms:.1} ms",
                        r.deleted
                    );
                } else {
                    tracing::info!(
                        dumped = r.dumped,
                        "conntrack: no stale UDP entry ({ms:.1} ms)"
                    );
                }
            }
            Err(e) => tracing::error!("conntrack cleanup: {e:#}"),
        }
    }

    /// Fails when `--interface` names an existing link that is not a dummy.
    pub fn check_interface(&mut self) -> Result<()> {
        self.links.index(&self.interface).map(|_| ())
    }

    /// Which addresses are the agent's under `desired`.
    fn owner<'a>(&'a self, desired: &'a Desired) -> guard::Addresses<'a> {
        guard::Addresses {
            node: &desired.owned.node_addresses,
            local: &self.local,
            service_cidrs: &desired.service_cidrs,
            wanted: &desired.state.addresses,
            bound_by_us: &self.bound_by_us,
        }
    }

    /// Reads the kernel's whole state: the table, and the addresses on the interface that are
    /// the agent's (others are left out, so they are neither unbound nor make the virtual
    /// servers on them the agent's).
    pub fn observe(&mut self, desired: &Desired) -> Result<(Observed, Option<u32>)> {
        self.observe_timed(desired, &mut Phases::default())
    }

    /// [`Self::observe`], recording its phases.
    fn observe_timed(
        &mut self,
        desired: &Desired,
        phases: &mut Phases,
    ) -> Result<(Observed, Option<u32>)> {
        let t = Instant::now();
        let index = if self.dry_run {
            self.links.index(&self.interface)?
        } else {
            Some(self.links.ensure_dummy(&self.interface)?)
        };
        let all = self.links.all_addresses()?;
        self.local = all
            .iter()
            .filter(|(i, _)| Some(*i) != index)
            .map(|(_, a)| *a)
            .collect();
        let owner = self.owner(desired);
        let mut addresses = BTreeSet::new();
        for (_, a) in all.iter().filter(|(i, _)| Some(*i) == index) {
            if owner.owns(a) {
                addresses.insert(*a);
            } else {
                tracing::debug!(address = %a, "on the interface but not the agent's: left alone");
            }
        }
        phases.lap("links", t);
        let virtual_servers = self.ipvs.dump_timed(phases)?;
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
        let mut phases = Phases::default();
        let (observed, index) = self.observe_timed(desired, &mut phases)?;
        let mut r = self.converge(observed, index, desired, started)?;
        phases.0.append(&mut r.phases.0);
        let t = Instant::now();
        if let Some(nft) = &mut self.nft {
            // The tables read back and compared (nft_read), then only what differs sent.
            let (messages, read) = nft.sync(&desired.netfilter, true)?;
            r.messages += messages as u64;
            phases.0.push(("nft_read", read));
            phases
                .0
                .push(("nft_send", t.elapsed().saturating_sub(read)));
        }
        let t = Instant::now();
        self.clean_conntrack(desired, true);
        phases.lap("conntrack", t);
        r.phases = phases;
        // The whole sync, as kube-proxy's sync_proxy_rules_duration_seconds: both halves and
        // the conntrack cleanup.
        r.elapsed = started.elapsed();
        Ok(r)
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
        let mut r = self.converge(observed, Some(index), desired, started)?;
        if let Some(nft) = &mut self.nft {
            r.messages += nft.sync(&desired.netfilter, false)?.0 as u64; // set elements only
        }
        self.clean_conntrack(desired, false);
        r.elapsed = started.elapsed();
        Ok(r)
    }

    fn converge(
        &mut self,
        mut observed: Observed,
        index: Option<u32>,
        desired: &Desired,
        started: Instant,
    ) -> Result<SyncReport> {
        let mut phases = Phases::default();
        let t = Instant::now();
        // kube-proxy's `shouldBind`: an address the node holds elsewhere is not bound here.
        let owner = self.owner(desired);
        let want = if desired.state.addresses.iter().any(|a| owner.is_node(a)) {
            let mut w = desired.state.clone();
            w.addresses.retain(|a| !owner.is_node(a));
            Cow::Owned(w)
        } else {
            Cow::Borrowed(&desired.state)
        };
        let mut ops = reconcile(&observed, &want, &desired.owned);
        delete_also(&mut ops, &observed, &want, &self.created_by_us);
        if !desired.allow_deletions {
            guard::check_deletions(&observed, &want, &ops)?;
        }
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
        let t = phases.lap("compare", t);
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
        let added = address_changes(true);
        let refused = self.links.set_addresses(index, &added)?;
        for (address, add, e) in &refused {
            tracing::error!("the kernel refused address {address} (add: {add}): {e}");
            failed += 1;
        }
        self.bound_by_us.extend(
            added
                .iter()
                .map(|(a, _)| *a)
                .filter(|a| !refused.iter().any(|(r, _, _)| r == a)),
        );
        let refused_ops = self.ipvs.apply(&ops)?;
        for e in &refused_ops {
            tracing::error!("the kernel refused {e}");
            failed += 1;
        }
        for op in &ops {
            match op {
                Op::AddVirtualServer { key, .. } if !refused_ops.iter().any(|e| e.op == *op) => {
                    self.created_by_us.insert(VsKey::from(*key));
                }
                Op::DeleteVirtualServer { key } => {
                    self.created_by_us.remove(&VsKey::from(*key));
                }
                _ => {}
            }
        }
        let removed = address_changes(false);
        for (address, add, e) in self.links.set_addresses(index, &removed)? {
            tracing::error!("the kernel refused address {address} (add: {add}): {e}");
            failed += 1;
        }
        for (a, _) in &removed {
            self.bound_by_us.remove(a);
        }
        let (after, after_links) = (self.ipvs.counters(), self.links.counters());
        report.messages =
            (after.messages - before.messages) + (after_links.messages - before_links.messages);
        report.sends = (after.sends - before.sends) + (after_links.sends - before_links.sends);
        report.failed = failed;
        let t = phases.lap("send", t);
        if failed == 0 {
            apply_to(&mut observed, &ops);
            self.cache = Some((observed, index));
        }
        phases.lap("cache", t);
        report.phases = phases;
        report.elapsed = started.elapsed();
        Ok(report)
    }
}

/// Adds a deletion for each virtual server of `also` that the kernel holds, the plan no longer
/// wants, and `ops` does not delete yet (virtual servers the agent knows are its own although
/// their address is not).
fn delete_also(ops: &mut Vec<Op>, observed: &Observed, want: &State, also: &BTreeSet<VsKey>) {
    if also.is_empty() {
        return;
    }
    let deleted: BTreeSet<VsKey> = ops
        .iter()
        .filter_map(|op| match op {
            Op::DeleteVirtualServer { key } => Some(VsKey::from(*key)),
            _ => None,
        })
        .collect();
    for key in observed.virtual_servers.keys() {
        if also.contains(key) && !want.virtual_servers.contains_key(key) && !deleted.contains(key) {
            ops.push(Op::DeleteVirtualServer { key: (*key).into() });
        }
    }
}

/// What the kernel holds after `ops` went through (new real servers have no connections).
pub(crate) fn apply_to(observed: &mut Observed, ops: &[Op]) {
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

/// A cheap fingerprint of the inputs (paths, kinds, sizes, modification times), to notice
/// edits. Only metadata: nothing is opened (a FIFO cannot block it).
type Fingerprint = Vec<(PathBuf, Option<bool>, u64, Option<SystemTime>)>;

fn fingerprint(files: &[String]) -> Fingerprint {
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
                meta.as_ref().map(|m| m.is_file()),
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
    if !r.phases.0.is_empty() {
        tracing::info!(reason = why, "sync phases: {}", r.phases);
    }
}

/// Writes the sysctls kube-proxy's IPVS mode needs; `repair` logs a change as a repair of
/// something reset behind the agent's back.
fn ensure_sysctls(repair: bool, strict_arp: bool) -> Result<()> {
    let root = std::path::Path::new("/proc/sys");
    for a in sysctl::apply_all(root, strict_arp)? {
        let (c, v) = (a.path, a.value);
        match (repair, a.changed) {
            (true, true) => tracing::warn!(sysctl = c, "was reset: set to {v} again"),
            (false, true) => tracing::info!(sysctl = c, "set to {v}"),
            (false, false) => tracing::info!(sysctl = c, "already {v}"),
            (true, false) => {}
        }
    }
    if !repair && let Some(w) = sysctl::bridge_warning(root) {
        tracing::warn!("{w}");
    }
    Ok(())
}

/// Entry point of `svcroute agent`.
pub fn run(args: &AgentArgs) -> Result<()> {
    if args.cleanup {
        return cleanup(args);
    }
    if args.manifests.uses_api() {
        period::validate(args.sync_period, args.min_sync_period).map_err(anyhow::Error::msg)?;
        let _lock = match args.dry_run {
            true => None,
            false => Some(lifecycle::lock(&args.lock_file)?),
        };
        #[cfg(feature = "api")]
        return api::run(args, lifecycle::Shutdown::install()?);
        #[cfg(not(feature = "api"))]
        bail!(
            "following the API server needs the `api` feature: this svcroute reads -f files only"
        );
    }
    if args.manifests.files.iter().any(|f| f == "-") && !args.once {
        bail!("-f - (standard input) needs --once: the agent cannot watch standard input");
    }
    period::validate(args.sync_period, args.min_sync_period).map_err(anyhow::Error::msg)?;
    let _lock = match args.dry_run {
        true => None,
        false => Some(lifecycle::lock(&args.lock_file)?),
    };
    let shutdown = lifecycle::Shutdown::install()?;
    if args.once {
        let mut dataplane = Dataplane::connect(&args.interface, args.dry_run, args.nftables)?;
        dataplane.check_interface()?;
        if !args.conntrack_cleanup {
            dataplane.disable_conntrack_cleanup();
        }
        let t = Instant::now();
        let d = load(args)?;
        let load_ms = t.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(
            elapsed_ms = format!("{load_ms:.1}"),
            "loaded: read and planned in {load_ms:.1} ms"
        );
        if !args.dry_run {
            ensure_sysctls(false, args.strict_arp)?;
        }
        let r = dataplane.sync(&d)?;
        log_sync("once", &r);
        if r.failed > 0 {
            bail!("{} operation(s) failed", r.failed);
        }
        return Ok(());
    }

    // The kernel, or --dry-run's own model of the table (no IPVS needed).
    let mut sink = sink::Sink::open(&args.interface, args.dry_run, args.nftables)?;
    sink.check_interface()?;
    if !args.conntrack_cleanup {
        sink.disable_conntrack_cleanup();
    }
    let mut live = files::Files::new(); // the objects, changed one by one
    let files = &args.manifests.files;
    let watch = Duration::from_millis(args.watch_interval_ms).max(period::MIN_WATCH_INTERVAL);
    let mut fingerprints = guard::Stable::new(fingerprint(files));
    let mut contents: guard::Stable<Option<Inputs>> = guard::Stable::new(None);
    let mut desired: Option<Desired> = None;
    match read(args) {
        Ok(inputs) => {
            contents.accept(Some(inputs.clone()));
            match live.take(args, &inputs) {
                Ok((d, _)) => desired = Some(d),
                Err(e) => {
                    tracing::error!(
                        "{e:#}; waiting for a good manifest, the kernel is left as it is"
                    )
                }
            }
        }
        Err(e) => {
            tracing::error!("{e:#}; waiting for a good manifest, the kernel is left as it is")
        }
    }

    // Full syncs (dump everything, repair everything) every --sync-period; incremental ones
    // right after a plan change and while real servers drain; no two syncs closer than
    // --ipvs-min-sync-period, and none more often than the loop polls.
    let retry = args.sync_period.min(Duration::from_secs(5));
    let start = Instant::now();
    let mut next_full = start;
    let mut next_content_check = start + args.sync_period;
    let mut last_sync: Option<Instant> = None;
    let mut sysctls_written = false;
    let mut first = true;
    let mut next_incremental: Option<(Instant, &'static str)> = None;
    loop {
        if shutdown.requested() {
            tracing::info!("stop signal: exiting; the kernel is left as it is");
            return Ok(());
        }
        let now = Instant::now();
        // The manifests: a change of size or mtime stable across two polls; at every full
        // resync also the content (an edit keeping size and mtime), stable across two reads.
        let by_fingerprint = fingerprints.offer(fingerprint(files));
        let content_due = now >= next_content_check;
        if content_due {
            next_content_check = now + args.sync_period;
        }
        if by_fingerprint || content_due || contents.pending() {
            match read(args) {
                Ok(inputs) => {
                    let changed = if by_fingerprint {
                        let changed = contents.accepted().as_ref() != Some(&inputs);
                        if !changed {
                            tracing::info!("manifests touched; the content is the same");
                        }
                        contents.accept(Some(inputs.clone()));
                        changed
                    } else {
                        contents.offer(Some(inputs.clone()))
                    };
                    if changed {
                        match live.take(args, &inputs) {
                            Ok((d, a)) if desired.as_ref() == Some(&d) => {
                                tracing::info!(
                                    applied = a.applied,
                                    deleted = a.deleted,
                                    "manifests changed; the plan is the same"
                                );
                            }
                            Ok((d, a)) => {
                                let how = if by_fingerprint {
                                    "manifests changed: new plan"
                                } else {
                                    "manifests changed (same size and mtime: seen by content \
                                     at the resync): new plan"
                                };
                                tracing::info!(
                                    node = d.node,
                                    applied = a.applied,
                                    deleted = a.deleted,
                                    rebuilt = a.rebuilt,
                                    operations = a.operations,
                                    "{how}"
                                );
                                desired = Some(d);
                                next_incremental = Some((now, "manifests changed"));
                            }
                            Err(e) => {
                                tracing::error!("{e:#}; keeping the last good plan in the kernel");
                            }
                        }
                    }
                }
                Err(e) if by_fingerprint || content_due => {
                    tracing::error!("{e:#}; keeping the last good plan in the kernel");
                }
                Err(_) => {}
            }
        }
        if let Some(d) = &desired {
            if !sysctls_written && !args.dry_run {
                // Only now: a manifest has loaded and validated.
                ensure_sysctls(false, args.strict_arp)?;
                sysctls_written = true;
            }
            let full = now >= next_full;
            let incremental = next_incremental.filter(|(t, _)| now >= *t);
            let rate_ok = last_sync.is_none_or(|t| now >= t + args.min_sync_period);
            if rate_ok && (full || incremental.is_some()) {
                if full
                    && !first
                    && !args.dry_run
                    && let Err(e) = ensure_sysctls(true, args.strict_arp)
                {
                    tracing::error!("sysctls: {e:#}");
                }
                let (why, kind) = match incremental {
                    Some((_, why)) if !full => (why, sink::SyncKind::Partial),
                    _ if first => ("start", sink::SyncKind::Full),
                    _ => ("periodic resync", sink::SyncKind::Full),
                };
                let result = sink.sync(d, kind).map(|(r, _)| r);
                if shutdown.requested() {
                    tracing::info!("stop signal during the sync: it went to the end");
                }
                first = false;
                last_sync = Some(now);
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
                    Err(e) if e.is::<guard::Refusal>() => {
                        tracing::error!("{e}");
                        next_full = now + args.sync_period;
                    }
                    Err(e) => {
                        tracing::error!("sync failed: {e:#}");
                        next_full = now + retry;
                    }
                }
            }
        }
        shutdown.sleep(watch);
    }
}

/// `svcroute agent --cleanup`: deletes what the agent owns (the virtual servers on the
/// interface's addresses, the NodePort virtual servers on the node's addresses, the interface
/// with its addresses) and exits, as kube-proxy's `--cleanup` does; without a flush. The node's
/// addresses are the Node's of `-f` when given, else every address on another interface.
fn cleanup(args: &AgentArgs) -> Result<()> {
    let _lock = match args.dry_run {
        true => None,
        false => Some(lifecycle::lock(&args.lock_file)?),
    };
    let mut dp = Dataplane::connect(&args.interface, args.dry_run, false)?;
    let range = args.manifests.config()?.node_port_range;
    let index = match dp.links.find(&args.interface)? {
        Some(link) => Some(link.dummy_index(&args.interface)?),
        None => None,
    };
    let all = dp.links.all_addresses()?;
    let local: BTreeSet<IpAddr> = all
        .iter()
        .filter(|(i, _)| Some(*i) != index)
        .map(|(_, a)| *a)
        .collect();
    let (node_addresses, planned) = if args.manifests.files.is_empty() {
        (local.clone(), BTreeSet::new())
    } else {
        let d = load(args)?;
        let planned: BTreeSet<VsKey> = d.state.virtual_servers.keys().copied().collect();
        (d.owned.node_addresses, planned)
    };
    let (mine, foreign): (BTreeSet<IpAddr>, BTreeSet<IpAddr>) = all
        .iter()
        .filter(|(i, _)| Some(*i) == index)
        .map(|(_, a)| *a)
        .partition(|a| !local.contains(a) && !node_addresses.contains(a));
    let observed = Observed {
        virtual_servers: dp.ipvs.dump()?,
        addresses: mine,
    };
    let mut ops = reconcile(
        &observed,
        &State::default(),
        &Ownership {
            node_addresses,
            node_port_range: range,
            excluded: args.exclude_cidrs.clone(),
        },
    );
    // The plan's virtual servers are the agent's, whatever their address.
    delete_also(&mut ops, &observed, &State::default(), &planned);
    let delete_link = index.filter(|_| foreign.is_empty());
    if !foreign.is_empty() {
        tracing::warn!(
            "{} holds addresses that are not the agent's ({}): they stay, and so does the \
             interface",
            args.interface,
            foreign
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if args.dry_run {
        for op in &ops {
            println!("{}", ipvs::describe(op));
        }
        if delete_link.is_some() {
            println!("ip link del {}", args.interface);
        }
        return Ok(());
    }
    let mut failed = 0;
    for e in dp.ipvs.apply(&ops)? {
        tracing::error!("the kernel refused {e}");
        failed += 1;
    }
    if let Some(i) = index {
        let removed: Vec<(IpAddr, bool)> = ops
            .iter()
            .filter_map(|op| match op {
                Op::DeleteAddress { address } => Some((*address, false)),
                _ => None,
            })
            .collect();
        for (address, _, e) in dp.links.set_addresses(i, &removed)? {
            tracing::error!("the kernel refused to unbind {address}: {e}");
            failed += 1;
        }
    }
    if let Some(i) = delete_link {
        dp.links.delete(i)?;
    }
    if args.nftables {
        // The netfilter half: delete `ip svcroute` and `ip6 svcroute` (nothing else).
        let none = svcroute_core::netfilter::NetfilterPlan { tables: Vec::new() };
        nft::Netfilter::connect(false)?.sync(&none, true)?;
    }
    let deleted = ops
        .iter()
        .filter(|op| matches!(op, Op::DeleteVirtualServer { .. }))
        .count();
    tracing::info!(
        virtual_servers = deleted,
        interface_deleted = delete_link.is_some(),
        "cleanup: deleted {deleted} virtual server(s){}",
        if delete_link.is_some() {
            format!(" and {}", args.interface)
        } else {
            String::new()
        }
    );
    if failed > 0 {
        bail!("{failed} operation(s) failed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use clap::Parser;

    fn agent_args(argv: &[&str]) -> AgentArgs {
        let mut full = vec!["svcroute", "agent"];
        full.extend_from_slice(argv);
        match crate::cli::Cli::try_parse_from(full).unwrap().command {
            crate::cli::Command::Agent(a) => a,
            _ => unreachable!(),
        }
    }

    /// Issue 8: `-f FIFO` with no writer blocked forever, and would stall the poll loop. The
    /// agent refuses it without opening it (so this test cannot hang on it).
    #[test]
    fn bug_manifest_turned_into_a_fifo_is_refused_unopened() {
        let dir = std::env::temp_dir().join(format!("svcroute-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("m.yaml");
        let _ = std::fs::remove_file(&fifo);
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let args = agent_args(&["-f", fifo.to_str().unwrap()]);
        let err = read(&args).unwrap_err().to_string();
        assert!(err.contains("is a FIFO"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Issue 8: an empty read is not a plan unless `--allow-empty`.
    #[test]
    fn bug_empty_manifest_is_refused_without_allow_empty() {
        let inputs = vec![("m.yaml".to_owned(), "\n# nothing yet\n".to_owned())];
        let err = plan(&agent_args(&["-f", "m.yaml"]), &inputs).unwrap_err();
        assert!(
            err.to_string().contains("the manifests are empty (m.yaml)"),
            "{err}"
        );
        let d = plan(&agent_args(&["-f", "m.yaml", "--allow-empty"]), &inputs).unwrap();
        assert!(d.state.virtual_servers.is_empty() && d.allow_deletions);
    }

    /// Issue 9: `--cleanup` needs no manifest; an agent without `-f` follows the API (the
    /// in-cluster config when no --kubeconfig/--master); `plan` needs `-f` or the API.
    #[test]
    fn cleanup_needs_no_manifest() {
        assert!(agent_args(&["--cleanup"]).cleanup);
        assert!(agent_args(&[]).manifests.uses_api());
        assert!(!agent_args(&["-f", "x.yaml"]).manifests.uses_api());
        assert!(crate::cli::Cli::try_parse_from(["svcroute", "plan"]).is_err());
        assert!(crate::cli::Cli::try_parse_from(["svcroute", "plan", "--kubeconfig", "k"]).is_ok());
    }
}
