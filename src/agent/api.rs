//! `svcroute agent` following the Kubernetes API, as kube-proxy does.
//!
//! - kube-runtime watchers (paginated list, then watch with bookmarks; a 410 re-lists; errors
//!   back off from 800 ms to 30 s) for Services and `discovery.k8s.io/v1` EndpointSlices with
//!   kube-proxy's label selector, and for this agent's own Node (`metadata.name=NODE`).
//! - Events fold into a [`Cache`] the way kube-runtime's `Store` folds them: `Init` starts a
//!   buffer that `InitApply` fills, `InitDone` swaps it in (objects not re-listed are gone);
//!   `Apply` and `Delete` change one object. Each object is decoded once, when it arrives, by the
//!   core's strict reader.
//! - Syncs are rate-limited as kube-proxy's `BoundedFrequencyRunner` ([`Runner`]): a change asks
//!   for a sync, which runs at once when a token is free (burst 2, one token per
//!   `--ipvs-min-sync-period`; 0 = always at once); a full sync (kernel dump, repair) runs every
//!   `--ipvs-sync-period`. Nothing syncs before Services, EndpointSlices and the Node have
//!   been listed once (kube-proxy waits for `OnServiceSynced` and `OnEndpointSlicesSynced`).
//! - A lost API server changes nothing in the kernel: the watchers retry with back-off and the
//!   cache keeps the last state.
//! - `--dry-run` keeps its own model of the table (from the kernel when it has IPVS, else
//!   empty, with a warning) and prints each sync's operations in `ipvsadm` words on stdout.
//! - Health and metrics as kube-proxy reports them ([`super::health`], [`super::metrics`]).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use futures::{StreamExt, stream::BoxStream};
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::Value;
use svcroute_core::cluster::Cluster;
use svcroute_core::cluster::live::{Live, LiveError, Object, ObjectKind};
use svcroute_core::config::Config;
use svcroute_core::diff::Op;
use svcroute_core::model::{ObjectRef, Objects};

use super::health::{Endpoints, Health};
use super::metrics::Metrics;
pub use super::sink::{Sink, SyncKind};
use super::{Desired, SyncReport};
use crate::cli::AgentArgs;
use crate::kube as k;

/// The kinds the agent watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// v1 Service.
    Service,
    /// discovery.k8s.io/v1 EndpointSlice.
    EndpointSlice,
    /// v1 Node (this agent's).
    Node,
}

impl Kind {
    fn index(self) -> usize {
        self as usize
    }

    /// The resource name (metrics label, logs).
    pub fn resource(self) -> &'static str {
        match self {
            Kind::Service => "services",
            Kind::EndpointSlice => "endpointslices",
            Kind::Node => "nodes",
        }
    }
}

/// One watch event, objects as JSON (kube-runtime's `watcher::Event`).
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// A re-list starts.
    Init,
    /// One object of the re-list.
    InitApply(Value),
    /// The re-list is complete.
    InitDone,
    /// An object was created or changed.
    Apply(Value),
    /// An object was deleted.
    Delete(Value),
}

impl Change {
    /// kube-runtime's name of the event (`Init`, `InitApply`, `InitDone`, `Apply`, `Delete`).
    pub fn name(&self) -> &'static str {
        match self {
            Change::Init => "Init",
            Change::InitApply(_) => "InitApply",
            Change::InitDone => "InitDone",
            Change::Apply(_) => "Apply",
            Change::Delete(_) => "Delete",
        }
    }
}

/// What a fold did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Folded {
    /// Whether the cache changed (a sync is needed).
    pub changed: bool,
    /// `endpoints.kubernetes.io/last-change-trigger-time` of a changed EndpointSlice.
    pub trigger_time: Option<SystemTime>,
    /// The same change for the live cluster.
    pub touch: Touch,
}

/// One change for the core's live cluster.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Touch {
    /// Nothing.
    #[default]
    None,
    /// These objects were created or changed.
    Apply(Objects),
    /// This object was deleted.
    Delete(ObjectRef),
    /// A re-list of one kind changed something: the whole cache replaces the cluster's objects.
    Replace,
}

/// Per object key: a fingerprint of its normalized JSON (what a change is compared by) and its
/// decoded objects.
type Map = BTreeMap<String, (u64, Objects)>;

/// The watch cache: the decoded objects of each kind, folded as kube-runtime's `Store`.
#[derive(Debug, Default)]
pub struct Cache {
    maps: [Map; 3],
    buffers: [Option<Map>; 3],
    synced: [bool; 3],
}

impl Cache {
    /// Folds one event of `kind`. Objects the core's reader refuses are logged and left out.
    pub fn fold(&mut self, kind: Kind, change: Change) -> Folded {
        let i = kind.index();
        let mut out = Folded::default();
        match change {
            Change::Init => self.buffers[i] = Some(Map::new()),
            Change::InitApply(v) => {
                if let Some(entry) = decode(kind, &v) {
                    self.buffers[i]
                        .get_or_insert_with(Map::new)
                        .insert(k::object_key(&v), entry);
                }
            }
            Change::InitDone => {
                let new = self.buffers[i].take().unwrap_or_default();
                let same = new.len() == self.maps[i].len()
                    && new
                        .iter()
                        .zip(&self.maps[i])
                        .all(|((a, (x, _)), (b, (y, _)))| a == b && x == y);
                out.changed = !same || !self.synced[i];
                if out.changed {
                    out.touch = Touch::Replace;
                }
                self.maps[i] = new;
                self.synced[i] = true;
            }
            Change::Apply(v) => {
                let key = k::object_key(&v);
                out.trigger_time = trigger_time(&v);
                match decode(kind, &v) {
                    Some(entry) => {
                        out.changed = self.maps[i].get(&key).is_none_or(|(o, _)| *o != entry.0);
                        if out.changed {
                            out.touch = Touch::Apply(entry.1.clone());
                        }
                        self.maps[i].insert(key, entry);
                    }
                    None => {
                        out.changed = self.maps[i].remove(&key).is_some();
                        if out.changed {
                            out.touch = Touch::Delete(object_ref(&v));
                        }
                    }
                }
            }
            Change::Delete(v) => {
                out.changed = self.maps[i].remove(&k::object_key(&v)).is_some();
                if out.changed {
                    out.touch = Touch::Delete(object_ref(&v));
                }
            }
        }
        if !out.changed {
            out.trigger_time = None;
        }
        out
    }

    /// Whether every kind has been listed once.
    pub fn synced(&self) -> bool {
        self.synced.iter().all(|s| *s)
    }

    /// Every object, for the core.
    pub fn objects(&self) -> Objects {
        let mut all = Objects::default();
        for map in &self.maps {
            for (_, o) in map.values() {
                all.extend(o.clone());
            }
        }
        all
    }
}

fn object_ref(v: &Value) -> ObjectRef {
    let meta = |f: &str| {
        v.get("metadata")
            .and_then(|m| m.get(f))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    ObjectRef::new(meta("namespace"), meta("name"))
}

impl Kind {
    fn live(self) -> ObjectKind {
        match self {
            Kind::Service => ObjectKind::Service,
            Kind::EndpointSlice => ObjectKind::EndpointSlice,
            Kind::Node => ObjectKind::Node,
        }
    }
}

/// Folds one cache change into the live cluster (each change re-plans only what it touches).
pub fn touch(live: &mut Live, cache: &Cache, kind: Kind, touch: Touch) -> Result<(), LiveError> {
    match touch {
        Touch::None => Ok(()),
        Touch::Apply(objects) => {
            for o in Object::all(objects) {
                live.apply(o)?;
            }
            Ok(())
        }
        Touch::Delete(id) => live.delete(kind.live(), &id).map(drop),
        Touch::Replace => live.replace(cache.objects()).map(drop),
    }
}

/// The object as the cache keeps it: without what changes on every write and means nothing to
/// the plan (`resourceVersion`, `managedFields`), so a re-list or a no-op update is no change.
fn normalize(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
        m.remove("managedFields");
    }
    v
}

fn decode(kind: Kind, v: &Value) -> Option<(u64, Objects)> {
    let v = &normalize(v);
    let shown = match kind {
        Kind::Service => k::strip_selector(v.clone()),
        _ => v.clone(),
    };
    let origin = format!("api:{kind:?} {}", k::object_key(v));
    match k::decode(&origin, &shown) {
        Ok(objects) => {
            use std::hash::{Hash, Hasher};
            let mut h = std::hash::DefaultHasher::new();
            v.to_string().hash(&mut h);
            Some((h.finish(), objects))
        }
        Err(diags) => {
            for d in diags.iter().filter(|d| d.is_error()) {
                tracing::warn!("{d}: the object is left out");
            }
            None
        }
    }
}

fn trigger_time(v: &Value) -> Option<SystemTime> {
    let text = v
        .get("metadata")?
        .get("annotations")?
        .get(k::TRIGGER_TIME)?
        .as_str()?;
    super::health::parse_rfc3339(text)
}

/// kube-proxy's `BoundedFrequencyRunner`: requested runs go at once while tokens last (a
/// bucket of 2, refilled one per `min`; `min` = 0 never limits), and a full run comes every
/// `max`. Pure: time is an argument.
#[derive(Clone, Debug)]
pub struct Runner {
    min: Duration,
    max: Duration,
    tokens: f64,
    refilled: Instant,
    pending: bool,
    next_full: Instant,
}

impl Runner {
    /// kube-proxy's burst for the IPVS and nftables proxiers.
    pub const BURST: f64 = 2.0;

    /// A runner whose first full run is due at once.
    pub fn new(min: Duration, max: Duration, now: Instant) -> Runner {
        Runner {
            min,
            max,
            tokens: Self::BURST,
            refilled: now,
            pending: false,
            next_full: now,
        }
    }

    /// Asks for a run (coalesced with any already asked).
    pub fn request(&mut self) {
        self.pending = true;
    }

    fn refill(&mut self, now: Instant) {
        if !self.min.is_zero() {
            let gained =
                now.saturating_duration_since(self.refilled).as_secs_f64() / self.min.as_secs_f64();
            self.tokens = (self.tokens + gained).min(Self::BURST);
        }
        self.refilled = now;
    }

    /// When the next run is due.
    pub fn due(&self, now: Instant) -> Instant {
        if !self.pending {
            return self.next_full;
        }
        let partial = if self.min.is_zero() || self.tokens >= 1.0 {
            now
        } else {
            self.refilled + self.min.mul_f64(1.0 - self.tokens)
        };
        partial.min(self.next_full)
    }

    /// The run due at `now`, if any (and takes its token).
    pub fn take(&mut self, now: Instant) -> Option<SyncKind> {
        self.refill(now);
        if now >= self.next_full {
            self.next_full = now + self.max;
            self.pending = false;
            self.tokens = (self.tokens - 1.0).max(0.0);
            return Some(SyncKind::Full);
        }
        if self.pending && (self.min.is_zero() || self.tokens >= 1.0) {
            if !self.min.is_zero() {
                self.tokens -= 1.0;
            }
            self.pending = false;
            return Some(SyncKind::Partial);
        }
        None
    }

    /// A failed run: try again in full after `after`.
    pub fn retry(&mut self, now: Instant, after: Duration) {
        self.next_full = self.next_full.min(now + after);
    }
}

/// Service ports with a Local traffic policy and no ready endpoint on the node, by (IP
/// family, `internal`|`external`): kube-proxy's `no_local_endpoints_total` gauge.
pub type NoLocal = BTreeMap<(&'static str, &'static str), i64>;

fn no_local(cluster: &Cluster, node: &str) -> NoLocal {
    use svcroute_core::model::{Family, ServiceType, TrafficPolicy};
    let mut out = NoLocal::new();
    for r in &cluster.services {
        let s = &r.service;
        let external = s.external_traffic_policy == TrafficPolicy::Local
            && (matches!(s.kind, ServiceType::NodePort | ServiceType::LoadBalancer)
                || !s.external_ips.is_empty());
        let internal = s.internal_traffic_policy == TrafficPolicy::Local;
        for fam in &r.families {
            let name = if *fam == Family::V4 { "IPv4" } else { "IPv6" };
            for pi in 0..s.ports.len() {
                let local = r.backends.iter().any(|b| {
                    Family::of(&b.address) == *fam
                        && b.ports.get(pi).is_some_and(Option::is_some)
                        && b.node.as_deref() == Some(node)
                        && b.conditions.is_ready()
                });
                for (on, policy) in [(internal, "internal"), (external, "external")] {
                    if on && !local {
                        *out.entry((name, policy)).or_default() += 1;
                    }
                }
            }
        }
    }
    out
}

/// The configuration for the cache's objects: without `--service-cidr`, the ranges of the
/// ClusterIPs the API server allocated.
fn config_for(args: &AgentArgs, objects: &Objects, config: Config) -> Result<Config> {
    if !args.manifests.service_cidrs.is_empty() {
        return Ok(config);
    }
    let cidrs = k::service_cidrs_of(objects.services.iter().flat_map(|s| s.cluster_ips.clone()))?;
    if cidrs.is_empty() {
        return Ok(config);
    }
    let mut m = args.manifests.clone();
    m.service_cidrs = cidrs;
    m.config()
}

/// The live cluster of the cache's objects, planning `node`.
pub fn live_of(args: &AgentArgs, cache: &Cache, config: Config, node: &str) -> Result<Live> {
    let objects = cache.objects();
    if objects.nodes.is_empty() {
        bail!("Node {node:?} is not in the API (--hostname-override?)");
    }
    let config = config_for(args, &objects, config)?;
    Live::new(objects, config, Some(node)).map_err(|e| {
        if let LiveError::Invalid(errors) = &e {
            for d in &errors.0 {
                tracing::error!("{d}");
            }
        }
        anyhow::anyhow!("the API's objects do not make a cluster the core accepts: {e}")
    })
}

/// Plans `node` from the live cluster (its plan, assembled from what each change re-planned).
/// No guard against mass deletion: the API server is the truth, as it is kube-proxy's (a
/// deleted namespace takes its Services with it); that guard is for file input, where an
/// empty or truncated read is a likely accident.
pub fn desired(args: &AgentArgs, live: &Live, node: &str) -> Result<(Desired, NoLocal)> {
    let cluster = live.cluster();
    let plan = live.plan()?;
    if !plan.skipped.is_empty() {
        let names: Vec<String> = plan.skipped.iter().map(ToString::to_string).collect();
        let limit = cluster.config.max_node_rules;
        tracing::warn!(
            "Services not programmed: they would take the node past {} virtual servers or {} real servers (svcroute's limits): {}",
            limit.virtual_servers,
            limit.real_servers,
            names.join(", ")
        );
    }
    let mut desired = super::desired_of_plan(args, cluster, plan)?;
    desired.allow_deletions = true;
    Ok((desired, no_local(cluster, node)))
}

type Events = BoxStream<'static, (Kind, Result<Change, watcher::Error>)>;

fn watch<K>(api: Api<K>, config: watcher::Config, kind: Kind) -> Events
where
    K: kube::Resource
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + serde::Serialize
        + Send
        + 'static,
    K::DynamicType: Default,
{
    let json = |o: &K| serde_json::to_value(o).unwrap_or(Value::Null);
    watcher(api, config)
        .default_backoff()
        .map(move |r| {
            let c = r.map(|e| match e {
                watcher::Event::Init => Change::Init,
                watcher::Event::InitApply(o) => Change::InitApply(json(&o)),
                watcher::Event::InitDone => Change::InitDone,
                watcher::Event::Apply(o) => Change::Apply(json(&o)),
                watcher::Event::Delete(o) => Change::Delete(json(&o)),
            });
            (kind, c)
        })
        .boxed()
}

fn family_of(desired: &Desired) -> Vec<&'static str> {
    let mut v4 = false;
    let mut v6 = false;
    for key in desired.state.virtual_servers.keys() {
        match key.address {
            IpAddr::V4(_) => v4 = true,
            IpAddr::V6(_) => v6 = true,
        }
    }
    let mut out = Vec::new();
    if v4 || !v6 {
        out.push("IPv4");
    }
    if v6 {
        out.push("IPv6");
    }
    out
}

async fn bind(addr: &str, what: &str) -> Result<Option<tokio::net::TcpListener>> {
    if addr.is_empty() {
        return Ok(None);
    }
    let l = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("{what} {addr}"))?;
    tracing::info!(address = %l.local_addr()?, "serving {what}");
    Ok(Some(l))
}

/// Entry point of `svcroute agent` without `-f`. `shutdown` is the agent's SIGTERM/SIGINT flag
/// ([`super::lifecycle`]): the sync in flight finishes, then the agent exits 0.
pub fn run(args: &AgentArgs, shutdown: super::lifecycle::Shutdown) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(run_async(args, shutdown))
}

async fn run_async(args: &AgentArgs, shutdown: super::lifecycle::Shutdown) -> Result<()> {
    let api = &args.api;
    let config = args.manifests.config()?;
    let node = match &api.hostname_override {
        Some(n) => n.clone(),
        None => k::hostname()?,
    };
    let health = Arc::new(Health::new(args.sync_period * 2));
    let metrics = Metrics::new();
    let endpoints = Arc::new(Endpoints {
        health: Arc::clone(&health),
        metrics: metrics.clone(),
    });
    if let Some(l) = bind(&api.healthz_bind_address, "/healthz").await? {
        let e = Arc::clone(&endpoints);
        tokio::spawn(super::health::serve(
            l,
            Arc::new(move |p: &str| e.healthz_server(p)),
        ));
    }
    if let Some(l) = bind(&api.metrics_bind_address, "/metrics").await? {
        let e = Arc::clone(&endpoints);
        tokio::spawn(super::health::serve(
            l,
            Arc::new(move |p: &str| e.metrics_server(p)),
        ));
    }
    if !args.dry_run {
        super::ensure_sysctls(false, args.strict_arp)?;
    }
    let mut sink = Sink::open(&args.interface, args.dry_run, args.nftables)?;

    let client = k::client(
        args.manifests.kubeconfig.as_deref(),
        args.manifests.master.as_deref(),
    )
    .await?;
    let selector = k::label_selector(api.service_proxy_name.as_deref());
    tracing::info!(node, selector, "following the API server");
    let labels = watcher::Config::default().labels(&selector);
    let mut events = futures::stream::select_all([
        watch(
            Api::<Service>::all(client.clone()),
            labels.clone(),
            Kind::Service,
        ),
        watch(
            Api::<EndpointSlice>::all(client.clone()),
            labels,
            Kind::EndpointSlice,
        ),
        watch(
            Api::<Node>::all(client),
            watcher::Config::default().fields(&format!("metadata.name={node}")),
            Kind::Node,
        ),
    ]);

    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut cache = Cache::default();
    let mut live: Option<Live> = None;
    let mut runner = Runner::new(args.min_sync_period, args.sync_period, Instant::now());
    let mut families: Vec<&'static str> = vec!["IPv4"];
    let mut triggers: Vec<SystemTime> = Vec::new();
    let (mut svc_pending, mut eps_pending) = (0i64, 0i64);
    let now_wall = SystemTime::now();
    for f in &families {
        health.updated(f, now_wall);
    }
    loop {
        let now = Instant::now();
        let wake = if cache.synced() {
            runner.due(now)
        } else {
            now + Duration::from_secs(3600)
        };
        tokio::select! {
            biased;
            _ = tick.tick() => {
                if shutdown.requested() {
                    tracing::info!("stop signal: exiting; the kernel is left as it is");
                    return Ok(());
                }
            }
            ev = events.next() => {
                let Some((kind, ev)) = ev else { bail!("the watch streams ended") };
                let change = match ev {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(resource = kind.resource(), "watch: {e}; retrying with back-off, the kernel is left as it is");
                        continue;
                    }
                };
                metrics.watch_events.with_label_values(&[kind.resource()]).inc();
                metrics.last_event.set(unix_seconds(SystemTime::now()));
                if kind == Kind::Node {
                    node_health(&health, &change);
                }
                let name = change.name();
                let mut folded = cache.fold(kind, change);
                if let Some(l) = live.as_mut() {
                    let t = std::mem::take(&mut folded.touch);
                    if let Err(e) = touch(l, &cache, kind, t) {
                        tracing::warn!("{e}: the live cluster is rebuilt from the cache");
                        live = None;
                    }
                }
                tracing::debug!(resource = kind.resource(), change = name, changed = folded.changed, "event");
                if folded.changed {
                    match kind {
                        Kind::Service => { svc_pending += 1; metrics.service_changes_total.inc(); }
                        Kind::EndpointSlice => { eps_pending += 1; metrics.endpoint_changes_total.inc(); }
                        Kind::Node => {}
                    }
                    metrics.service_changes_pending.set(svc_pending);
                    metrics.endpoint_changes_pending.set(eps_pending);
                    triggers.extend(folded.trigger_time);
                    let wall = SystemTime::now();
                    for f in &families {
                        health.queued_update(f, wall);
                        metrics.last_queued_timestamp.with_label_values(&[f]).set(unix_seconds(wall));
                    }
                    runner.request();
                }
            }
            _ = tokio::time::sleep_until(wake.into()) => {
                let Some(kind) = runner.take(Instant::now()) else { continue };
                let started = Instant::now();
                if live.is_none() {
                    match live_of(args, &cache, config.clone(), &node) {
                        Ok(l) => live = Some(l),
                        Err(e) => {
                            tracing::error!("sync: {e:#}; the kernel is left as it is");
                            runner.retry(Instant::now(), args.sync_period.min(Duration::from_secs(5)));
                            continue;
                        }
                    }
                }
                let Some(l) = live.as_ref() else { continue };
                let result = desired(args, l, &node)
                    .and_then(|(d, nl)| Ok((sink.sync(&d, kind)?, d, nl)));
                match result {
                    Ok(((report, ops), d, nl)) => {
                        metrics.no_local_endpoints.reset();
                        for ((f, p), n) in nl {
                            metrics.no_local_endpoints.with_label_values(&[f, p]).set(n);
                        }
                        let wall = SystemTime::now();
                        families = family_of(&d);
                        let secs = started.elapsed().as_secs_f64();
                        for f in &families {
                            metrics.sync_duration.with_label_values(&[f]).observe(secs);
                            let h = match kind {
                                SyncKind::Full => &metrics.sync_full_duration,
                                SyncKind::Partial => &metrics.sync_partial_duration,
                            };
                            h.with_label_values(&[f]).observe(secs);
                        }
                        record(&metrics, &d, &report, &ops);
                        tracing::info!(
                            sync = ?kind, operations = report.operations, failed = report.failed,
                            messages = report.messages, sendmsg = report.sends,
                            elapsed_ms = format!("{:.1}", secs * 1000.0), "sync"
                        );
                        if report.failed == 0 {
                            for f in &families {
                                health.updated(f, wall);
                                metrics.last_timestamp.with_label_values(&[f]).set(unix_seconds(wall));
                            }
                            for t in triggers.drain(..) {
                                let lat = wall.duration_since(t).unwrap_or_default().as_secs_f64();
                                for f in &families {
                                    metrics.network_programming.with_label_values(&[f]).observe(lat);
                                }
                            }
                            svc_pending = 0;
                            eps_pending = 0;
                            metrics.service_changes_pending.set(0);
                            metrics.endpoint_changes_pending.set(0);
                        } else {
                            runner.retry(Instant::now(), args.sync_period.min(Duration::from_secs(5)));
                        }
                    }
                    Err(e) => {
                        tracing::error!("sync: {e:#}; the kernel is left as it is");
                        runner.retry(Instant::now(), args.sync_period.min(Duration::from_secs(5)));
                    }
                }
            }
        }
    }
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

fn node_health(health: &Health, change: &Change) {
    let v = match change {
        Change::Apply(v) | Change::InitApply(v) => v,
        Change::Delete(_) => return health.node_deleted(),
        _ => return,
    };
    let deleting = v
        .get("metadata")
        .and_then(|m| m.get("deletionTimestamp"))
        .is_some_and(|t| !t.is_null());
    let taints: Vec<String> = v
        .get("spec")
        .and_then(|s| s.get("taints"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| t.get("key").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    health.sync_node(deleting, &taints);
}

fn record(metrics: &Metrics, d: &Desired, report: &SyncReport, ops: &[Op]) {
    if report.failed == 0 {
        metrics.count_operations(ops, "ok");
    } else {
        metrics
            .operations
            .with_label_values(&["any", "error"])
            .inc_by(report.failed as u64);
    }
    if ops.is_empty() && report.operations > 0 && report.failed == 0 {
        metrics
            .operations
            .with_label_values(&["any", "ok"])
            .inc_by(report.operations as u64);
    }
    metrics.netlink_messages.inc_by(report.messages);
    metrics.netlink_sendmsg.inc_by(report.sends);
    metrics
        .virtual_servers
        .set(d.state.virtual_servers.len() as i64);
    metrics.real_servers.set(
        d.state
            .virtual_servers
            .values()
            .map(|(_, rs)| rs.len() as i64)
            .sum(),
    );
    metrics.real_servers_draining.set(report.draining as i64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_frequency_runner() {
        // bounded_frequency_runner.go: burst 2, then one run per minInterval; runs coalesce.
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut r = Runner::new(s, Duration::from_secs(30), t0);
        assert_eq!(r.take(t0), Some(SyncKind::Full)); // the first sync
        r.request();
        r.request();
        assert_eq!(r.due(t0), t0);
        assert_eq!(r.take(t0), Some(SyncKind::Partial));
        r.request();
        assert_eq!(r.take(t0), None, "the bucket is empty");
        assert_eq!(r.due(t0), t0 + s);
        assert_eq!(r.take(t0 + s), Some(SyncKind::Partial));
        assert_eq!(r.take(t0 + s), None, "nothing asked");
        assert_eq!(r.due(t0 + s), t0 + Duration::from_secs(30));
        assert_eq!(r.take(t0 + Duration::from_secs(30)), Some(SyncKind::Full));
    }

    #[test]
    fn zero_min_sync_period_never_waits() {
        let t0 = Instant::now();
        let mut r = Runner::new(Duration::ZERO, Duration::from_secs(30), t0);
        r.take(t0);
        for _ in 0..10 {
            r.request();
            assert_eq!(r.take(t0), Some(SyncKind::Partial));
        }
    }

    fn svc(name: &str, rv: &str) -> Value {
        serde_json::json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default", "resourceVersion": rv},
            "spec": {"clusterIP": "10.96.0.10", "selector": {"app": name},
                     "ports": [{"port": 80, "protocol": "TCP"}]}})
    }

    #[test]
    fn fold_like_kube_runtime_store() {
        // reflector/store.rs: Init buffers, InitDone swaps; objects not re-listed are gone.
        let mut c = Cache::default();
        c.fold(Kind::Service, Change::Init);
        c.fold(Kind::Service, Change::InitApply(svc("a", "1")));
        assert!(c.objects().services.is_empty(), "buffered until InitDone");
        assert!(c.fold(Kind::Service, Change::InitDone).changed);
        assert_eq!(c.objects().services.len(), 1);
        assert!(
            !c.synced(),
            "EndpointSlices and the Node are not listed yet"
        );
        // A re-list with the same objects changes nothing (a 410 re-list).
        c.fold(Kind::Service, Change::Init);
        c.fold(Kind::Service, Change::InitApply(svc("a", "7")));
        assert!(!c.fold(Kind::Service, Change::InitDone).changed);
        // A new resourceVersion alone is no change either.
        assert!(!c.fold(Kind::Service, Change::Apply(svc("a", "8"))).changed);
        assert!(c.fold(Kind::Service, Change::Apply(svc("b", "9"))).changed);
        assert!(
            c.fold(Kind::Service, Change::Delete(svc("a", "10")))
                .changed
        );
        assert!(
            !c.fold(Kind::Service, Change::Delete(svc("a", "10")))
                .changed
        );
        // The selector is dropped: the slices are taken as given.
        assert!(c.objects().services[0].selector.is_none());
    }
}
