//! The playground's state and its reducer: a `State` + `Action` (`impl Reducible`), as in
//! Yew's function_todomvc. A new text (or scheduler, scenario, link) re-runs the core on it
//! ([`PageCluster::load`]); a Pod action is one change to the live cluster kept with it
//! ([`PageCluster::tweak_pod`]: a readiness toggle re-plans only the Services that select the
//! Pod); scaling and session affinity rebuild from the objects it holds. Sending connections
//! runs [`route::route`] with one [`Simulator`] kept across sends, so round-robin positions
//! and affinity templates persist.
//!
//! While the manifests are broken, `model` keeps the last good answers and `errors` holds the
//! diagnostics of the current text.

use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;

use svcroute_core::cluster::Tweaks;
use svcroute_core::config::{Config, Scheduler};
use svcroute_core::diag::Diagnostic;
use svcroute_core::diff::{self, Op};
use svcroute_core::route::{self, Connection, Request};
use svcroute_core::sim::Simulator;
use svcroute_core::sort::CollectSorted;
use yew::Reducible;

use crate::api::DEFAULT_FILE;
use crate::fragment::Fragment;
use crate::i18n::Lang;
use crate::live_model::PageCluster;
use crate::model::{Entry, EntryKind, Model, ServiceView};
use crate::scenarios::{Prefer, Scenario};

/// Simulated time between two connections of one send, and the clock's step after each.
pub const STEP_MS: u64 = 1000;
/// How long one simulated request keeps its connection open.
const REQUEST_MS: u64 = 100;
/// How many connections a burst sends.
pub const BURST: u32 = 6;
/// How many connections the log keeps.
pub const LOG_LIMIT: usize = 200;
/// Replicas one can scale a workload to, at most.
pub const MAX_REPLICAS: u32 = 12;
/// How many actions undo goes back, at most.
pub const UNDO_LIMIT: usize = 100;
/// How many sends a link replays, at most.
pub const SENDS_LIMIT: usize = 200;
/// sessionAffinity ClientIP's default timeout (`timeoutSeconds`).
pub const AFFINITY_TIMEOUT: u32 = 10_800;

pub use crate::model::{Client, ClientLocation};

/// The answer to a send: the connections, or why there are none.
pub type SendResult = Result<Vec<Connection>, String>;

/// Why a send made no connection, in either language ([`SendError::text`]); its `Display` is
/// the English the JS API rejects with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The manifests have errors.
    Broken,
    /// No Service to send to.
    NoService,
    /// No client to send from.
    NoClient,
    /// The core's route error.
    Route(svcroute_core::diag::Msg),
}

impl SendError {
    /// The message in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        let t = lang.t();
        match self {
            SendError::Broken => t.send_broken.to_owned(),
            SendError::NoService => t.send_no_service.to_owned(),
            SendError::NoClient => t.send_no_client.to_owned(),
            SendError::Route(m) => crate::messages::render(m, lang),
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text(Lang::En))
    }
}

/// Where the answer to a send from the JS API goes: the reducer fills it in.
#[derive(Clone, Debug, Default)]
pub struct Reply(pub Rc<RefCell<Option<SendResult>>>);

impl PartialEq for Reply {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.0, &o.0)
    }
}

/// A send the link replays (so that round-robin positions and affinity pins survive sharing).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SendRecord {
    /// Client addresses, in turn.
    pub from: Vec<IpAddr>,
    /// The target.
    pub to: String,
    /// How many connections.
    pub count: u32,
    /// The clock at the send, in milliseconds.
    pub at: u64,
}

/// One connection sent, with its place in the log.
#[derive(Clone, Debug, PartialEq)]
pub struct Sent {
    /// Sequence number, from 1.
    pub seq: u64,
    /// Which send it was part of, from 1.
    pub burst: u64,
    /// The core's answer.
    pub conn: Connection,
    /// A number no other connection of this playground had (for the widget's events).
    pub id: u64,
}

/// How the page starts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Init {
    /// The language.
    pub lang: Lang,
    /// A scenario id (the default when `None` or unknown).
    pub scenario: Option<String>,
    /// Manifests to start with instead of the scenario's.
    pub manifest: Option<String>,
    /// A state from a link; wins over the two above.
    pub fragment: Option<Fragment>,
    /// The clients ([`Model::default_clients`] when `None`).
    pub clients: Option<Vec<Client>>,
    /// The target to send to first (`HOST:PORT`).
    pub target: Option<String>,
    /// kube-proxy's `--ipvs-scheduler`.
    pub scheduler: Option<Scheduler>,
    /// The proxy modes view is shown from the start (`view: "modes"`): every send is replayed
    /// in the four modes at once. Otherwise only while the playground's panel is open.
    pub modes_view: bool,
}

/// Everything the page shows.
#[derive(Clone, Debug)]
pub struct State {
    /// The page's language.
    pub lang: Lang,
    /// The chosen scenario.
    pub scenario: &'static Scenario,
    /// The editor's text.
    pub text: String,
    /// Actions applied on top of the manifests.
    pub tweaks: Tweaks,
    /// kube-proxy's `--ipvs-scheduler`.
    pub scheduler: Scheduler,
    /// The chosen node (whose rules are shown; the clients' node).
    pub node: Option<String>,
    /// The chosen Service.
    pub service: Option<String>,
    /// The chosen target (`HOST:PORT`).
    pub target: Option<String>,
    /// The chosen client: an index into [`State::clients`], or its length for all in turn.
    pub client: usize,
    /// The clients given by the embedder; `None`: [`Model::default_clients`].
    pub clients: Option<Vec<Client>>,
    /// The simulated clock, in milliseconds.
    pub clock_ms: u64,
    /// The last good answers of the core.
    pub model: Option<Rc<Model>>,
    /// The live cluster `model` was made from (shared by the states an action makes: only
    /// the newest is drawn).
    pub page: Option<Rc<RefCell<PageCluster>>>,
    /// The answers before the last change, for the diff.
    pub prev: Option<Rc<Model>>,
    /// The current text's diagnostics (errors make `model` stale).
    pub errors: Rc<Vec<Diagnostic>>,
    /// IPVS's state between connections.
    pub sim: Simulator,
    /// Connections sent, oldest first.
    pub log: Rc<Vec<Sent>>,
    /// How many sends so far.
    pub bursts: u64,
    /// Why the last send did nothing.
    pub notice: Option<SendError>,
    /// Edited manifests of the other scenarios, kept while switching: (scenario id, text),
    /// at most one a scenario (a list: a handful of scenarios, no map type in the wasm).
    pub edits: Rc<Vec<(&'static str, String)>>,
    /// The sends since the simulation started, for the link.
    pub sends: Rc<Vec<SendRecord>>,
    /// The next connection's [`Sent::id`].
    pub next_id: u64,
    /// Connections with a smaller id were replayed from a link (no event for them).
    pub emit_from: u64,
    /// The states before each action, for undo.
    pub past: Rc<Vec<Fragment>>,
    /// Whether the last action was one a browser history entry is made for.
    pub history_step: bool,
    /// The proxy modes view: kube-proxy's ConfigMap mode, refusing Pods, the last send in
    /// every mode.
    pub proxy: Rc<crate::proxy_view::ProxyView>,
}

/// What the learner does.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// The editor's text changed.
    Edit(String),
    /// Load a scenario (manifests, clock, actions and simulation start afresh).
    Scenario(String),
    /// Switch the language.
    Lang(Lang),
    /// Send connections: from the chosen client, or from all clients in turn.
    Send {
        /// How many.
        count: u32,
        /// From every client in turn instead of the chosen one.
        all_clients: bool,
    },
    /// Choose the client (index; `CLIENTS.len()` = all in turn).
    Client(usize),
    /// Choose the target.
    Target(String),
    /// Choose the Service.
    Service(String),
    /// Choose the node.
    Node(String),
    /// Advance the clock.
    Advance(u64),
    /// Clock to 0, simulation and log cleared.
    Restart,
    /// Scale a workload.
    Scale {
        /// `namespace/name`.
        workload: String,
        /// Replicas.
        replicas: u32,
    },
    /// Make a Pod ready or not.
    PodReady {
        /// `namespace/name`.
        pod: String,
        /// Ready.
        ready: bool,
    },
    /// Start deleting a Pod (it turns terminating).
    PodTerminate(String),
    /// Delete a Pod (its controller replaces it).
    PodDelete(String),
    /// Change a Service's session affinity (`Some(timeout)` = ClientIP).
    Affinity {
        /// `namespace/name`.
        service: String,
        /// Timeout, or `None` for no affinity.
        timeout: Option<u32>,
    },
    /// Change kube-proxy's IPVS scheduler.
    Scheduler(Scheduler),
    /// Undo every action on the cluster.
    ResetTweaks,
    /// Restore a state from a link.
    Restore(Box<Fragment>),
    /// Send from the JS API: `from` (addresses, in turn; the chosen client when empty), `to`
    /// (the chosen target when `None`), `count`; the answer goes to `reply`.
    ApiSend {
        /// Client addresses.
        from: Vec<IpAddr>,
        /// Target.
        to: Option<String>,
        /// How many.
        count: u32,
        /// Where the connections (or the error) go.
        reply: Reply,
    },
    /// Back to the state before the last action.
    Undo,
    /// The proxy modes view's switches.
    Proxy(crate::proxy_view::ProxyAction),
}

impl State {
    /// The starting state.
    pub fn new(init: Init) -> State {
        let scenario = Scenario::get(init.scenario.as_deref().unwrap_or(""));
        let mut s = State {
            lang: init.lang,
            scenario,
            text: init
                .manifest
                .unwrap_or_else(|| scenario.manifest_in(init.lang)),
            tweaks: Tweaks::default(),
            scheduler: init.scheduler.unwrap_or_default(),
            node: None,
            service: None,
            target: init.target,
            client: 0,
            clients: init.clients,
            clock_ms: 0,
            model: None,
            page: None,
            prev: None,
            errors: Rc::new(Vec::new()),
            sim: Simulator::new(),
            log: Rc::new(Vec::new()),
            bursts: 0,
            notice: None,
            edits: Rc::default(),
            sends: Rc::default(),
            next_id: 1,
            emit_from: 1,
            past: Rc::default(),
            history_step: false,
            proxy: Rc::new(crate::proxy_view::ProxyView::shown(init.modes_view)),
        };
        match init.fragment {
            Some(f) => s.restore(f),
            None => s.rebuild(),
        }
        s
    }

    /// Applies one action.
    pub fn apply(&mut self, action: Action) {
        self.notice = None;
        let before = self.fragment();
        let undoable = !matches!(
            action,
            Action::Undo
                | Action::Lang(_)
                | Action::Restore(_)
                | Action::Edit(_)
                | Action::Proxy(crate::proxy_view::ProxyAction::Shown(_))
        );
        self.apply_one(action);
        self.history_step = undoable && self.fragment() != before;
        if self.history_step {
            let mut past = (*self.past).clone();
            past.push(before);
            let excess = past.len().saturating_sub(UNDO_LIMIT);
            past.drain(..excess);
            self.past = Rc::new(past);
        }
    }

    fn apply_one(&mut self, action: Action) {
        match action {
            // An unchanged text (a repeated input event) is not an action: the diff stays.
            Action::Edit(text) if text == self.text => {}
            Action::Edit(text) => {
                self.text = text;
                self.edited();
            }
            Action::Scenario(id) => {
                let scenario = Scenario::get(&id);
                // The edits of the scenario left are kept for coming back.
                let mut edits = (*self.edits).clone();
                let left = self.scenario.id;
                edits.retain(|(id, _)| *id != left);
                if !self.scenario.is_unedited(&self.text) {
                    edits.push((left, self.text.clone()));
                }
                let text = edits
                    .iter()
                    .find(|(id, _)| *id == scenario.id)
                    .map(|(_, t)| t.clone());
                self.edits = Rc::new(edits);
                // The modes view's settings stay as they are.
                let now = self.fragment();
                self.restore(Fragment {
                    scenario: scenario.id.into(),
                    text,
                    cm_mode: now.cm_mode,
                    no_ipvs_modules: now.no_ipvs_modules,
                    refusing: now.refusing,
                    ..Fragment::default()
                });
            }
            Action::Lang(l) => {
                // An unedited scenario's YAML comments follow the language (only comments
                // differ: the plan is the same).
                if self.scenario.is_unedited(&self.text) {
                    self.text = self.scenario.manifest_in(l);
                }
                self.lang = l;
            }
            Action::Send { count, all_clients } => self.send(count, all_clients),
            Action::Client(c) => self.client = c.min(self.clients().len()),
            Action::Target(t) => self.target = Some(t),
            Action::Service(s) => {
                self.service = Some(s);
                self.target = None;
            }
            Action::Node(n) => self.node = Some(n),
            Action::Advance(ms) => self.clock_ms = self.clock_ms.saturating_add(ms),
            Action::Restart => {
                self.clock_ms = 0;
                self.sim.reset();
                self.proxy = Rc::new(self.proxy.cleared());
                self.log = Rc::new(Vec::new());
                self.sends = Rc::default();
                self.bursts = 0;
            }
            Action::Scale { workload, replicas } => {
                self.tweaks
                    .replicas
                    .insert(workload, replicas.min(MAX_REPLICAS));
                self.tweaks_changed();
            }
            Action::PodReady { pod, ready } => {
                self.tweaks.pods.entry(pod.clone()).or_default().ready = Some(ready);
                self.pod_changed(&pod);
            }
            Action::PodTerminate(pod) => {
                self.tweaks.pods.entry(pod.clone()).or_default().terminating = true;
                self.pod_changed(&pod);
            }
            Action::PodDelete(pod) => {
                self.tweaks.pods.entry(pod.clone()).or_default().deleted = true;
                self.pod_changed(&pod);
            }
            Action::Affinity { service, timeout } => {
                self.tweaks.affinity.insert(service, timeout);
                self.tweaks_changed();
            }
            Action::Scheduler(s) => {
                self.scheduler = s;
                self.rebuild();
            }
            Action::ResetTweaks => {
                self.tweaks = Tweaks::default();
                self.tweaks_changed();
            }
            Action::Restore(f) => self.restore(*f),
            Action::ApiSend {
                from,
                to,
                count,
                reply,
            } => {
                let answer = self.send_to(from, to, count).map_err(|e| e.to_string());
                *reply.0.borrow_mut() = Some(answer);
            }
            Action::Proxy(a) => self.apply_proxy(a),
            Action::Undo => {
                let mut past = (*self.past).clone();
                if let Some(f) = past.pop() {
                    self.past = Rc::new(past);
                    self.restore(f);
                }
            }
        }
    }

    fn restore(&mut self, f: Fragment) {
        self.scenario = Scenario::get(&f.scenario);
        self.text = f
            .text
            .unwrap_or_else(|| self.scenario.manifest_in(self.lang));
        self.tweaks = f.tweaks;
        self.scheduler = f.scheduler;
        self.node = f.node;
        self.service = f.service;
        self.target = f.target;
        self.client = f.client;
        self.sim = Simulator::new();
        // The modes view's settings are the link's (the defaults for a link without them);
        // a link with the view shown opens it, none closes it.
        let mut proxy = self.proxy.cleared();
        proxy.cm_mode = f
            .cm_mode
            .unwrap_or_else(|| crate::proxy_view::SEED_CM_MODE.into());
        proxy.ipvs_modules = !f.no_ipvs_modules;
        proxy.refusing = f.refusing.into_iter().collect_set();
        proxy.shown |= f.modes_shown;
        self.proxy = Rc::new(proxy);
        self.log = Rc::new(Vec::new());
        self.sends = Rc::default();
        self.bursts = 0;
        self.rebuild();
        self.client = self.client.min(self.clients().len());
        // The link's sends, replayed: the simulator's positions and pins come back.
        for rec in f.sends {
            self.clock_ms = rec.at;
            let _ = self.send_to(rec.from, Some(rec.to), rec.count);
        }
        self.emit_from = self.next_id;
        self.clock_ms = f.clock_ms;
    }

    /// The core's configuration: kube-proxy's and kubeadm's defaults, with the chosen scheduler.
    pub fn config(&self) -> Config {
        Config {
            scheduler: self.scheduler,
            ..Config::default()
        }
    }

    /// Re-runs the core on the text, the actions and the config: a new live cluster.
    fn rebuild(&mut self) {
        match PageCluster::load(DEFAULT_FILE, &self.text, self.config(), &self.tweaks) {
            Ok((page, m)) => {
                self.page = Some(Rc::new(RefCell::new(page)));
                self.set_model(m);
            }
            Err(diags) => self.errors = Rc::new(diags),
        }
    }

    /// The text was edited: one document changed in place goes to the live cluster alone
    /// ([`PageCluster::edit`]); anything else reads the whole text.
    fn edited(&mut self) {
        if let Some((page, _)) = self.live()
            && let Some(m) = page.borrow_mut().edit(DEFAULT_FILE, &self.text)
        {
            self.set_model(m);
            return;
        }
        self.rebuild();
    }

    fn set_model(&mut self, m: Model) {
        self.prev = self.model.take();
        self.model = Some(Rc::new(m));
        self.errors = Rc::new(Vec::new());
    }

    /// The live cluster, when it holds the current text (the text has no errors).
    fn live(&self) -> Option<(Rc<RefCell<PageCluster>>, Rc<Model>)> {
        if !self.errors.is_empty() {
            return None;
        }
        Some((self.page.clone()?, self.model.clone()?))
    }

    /// A Pod's entry of [`State::tweaks`] changed: one change to the live cluster (a
    /// readiness toggle re-plans only the Services that select the Pod).
    fn pod_changed(&mut self, pod: &str) {
        let tweak = self.tweaks.pods.get(pod).cloned().unwrap_or_default();
        if let Some((page, prev)) = self.live() {
            let next = page.borrow_mut().tweak_pod(pod, tweak, &prev);
            if let Ok(m) = next {
                self.set_model(m);
                return;
            }
        }
        self.rebuild();
    }

    /// Replicas or session affinity changed: the live cluster rebuilds from the objects it
    /// holds (nothing is read again).
    fn tweaks_changed(&mut self) {
        if let Some((page, _)) = self.live() {
            let next = page.borrow_mut().set_tweaks(self.tweaks.clone());
            if let Ok(m) = next {
                self.set_model(m);
                return;
            }
        }
        self.rebuild();
    }

    /// The chosen Service, or the first.
    pub fn service_view(&self) -> Option<&ServiceView> {
        let m = self.model.as_deref()?;
        self.service
            .as_deref()
            .and_then(|id| m.service(id))
            .or(m.services.first())
    }

    /// The chosen target of the chosen Service, or the scenario's preferred one.
    pub fn entry(&self) -> Option<&Entry> {
        let svc = self.service_view()?;
        if let Some(t) = &self.target
            && let Some(e) = svc.entries.iter().find(|e| &e.target == t)
        {
            return Some(e);
        }
        let preferred = |e: &&Entry| {
            use svcroute_core::plan::VsKind;
            match self.scenario.prefer {
                Prefer::ClusterIp => e.kind == EntryKind::Vs(VsKind::ClusterIP),
                Prefer::NodePort => e.kind == EntryKind::Vs(VsKind::NodePort),
                Prefer::LoadBalancer => e.kind == EntryKind::Vs(VsKind::LoadBalancer),
                Prefer::Dns => e.kind == EntryKind::Dns,
            }
        };
        svc.entries.iter().find(preferred).or(svc.entries.first())
    }

    /// The chosen node if the cluster has it, else the first.
    pub fn node_name(&self) -> Option<String> {
        let m = self.model.as_deref()?;
        m.plan_of(self.node.as_deref()).map(|p| p.node.clone())
    }

    /// The operations from the previous state to the current one on the chosen node, and
    /// whether the previous state was an empty node.
    pub fn diff(&self) -> Option<(Vec<Op>, bool)> {
        let m = self.model.as_deref()?;
        let node = self.node_name();
        let new_plan = m.plan_of(node.as_deref())?;
        let new = diff::State::from_plan(new_plan);
        let old = self
            .prev
            .as_deref()
            .and_then(|p| p.plans.iter().find(|pl| Some(&pl.node) == node.as_ref()));
        let first = old.is_none();
        // kube-proxy's sync from the kernel as it is (busy real servers drain at weight 0).
        Some(match old {
            Some(old) => (
                self.sim.clone().sync_ops(old, new_plan, self.clock_ms),
                first,
            ),
            None => (diff::diff(&diff::State::default(), &new), first),
        })
    }

    /// The state a link reproduces.
    pub fn fragment(&self) -> Fragment {
        Fragment {
            scenario: self.scenario.id.into(),
            text: (!self.scenario.is_unedited(&self.text)).then(|| self.text.clone()),
            clock_ms: self.clock_ms,
            tweaks: self.tweaks.clone(),
            scheduler: self.scheduler,
            node: self.node.clone(),
            service: self.service.clone(),
            target: self.target.clone(),
            client: self.client,
            sends: (*self.sends).clone(),
            cm_mode: (self.proxy.cm_mode != crate::proxy_view::SEED_CM_MODE)
                .then(|| self.proxy.cm_mode.clone()),
            no_ipvs_modules: !self.proxy.ipvs_modules,
            refusing: self.proxy.refusing.iter().cloned().collect(),
            modes_shown: self.proxy.shown,
        }
    }

    /// Connections per Pod, over the log.
    pub fn hits(&self, pod: &str) -> usize {
        self.log
            .iter()
            .filter(|s| s.conn.pod.as_deref() == Some(pod))
            .count()
    }

    /// The simulated clients: the embedder's, or the model's defaults. A Pod or node client
    /// that names no node is on the first node.
    pub fn clients(&self) -> Vec<Client> {
        let model = self.model.as_deref();
        match (&self.clients, model) {
            (Some(c), _) => {
                let first = model.and_then(|m| m.plans.first()).map(|p| p.node.clone());
                c.iter()
                    .cloned()
                    .map(|mut c| {
                        if c.location != ClientLocation::Outside && c.node.is_none() {
                            c.node = first.clone();
                        }
                        c
                    })
                    .collect()
            }
            (None, Some(m)) => m.default_clients(),
            (None, None) => Vec::new(),
        }
    }

    /// Sends `count` connections, one per step of the clock, from the chosen client (or the
    /// clients in turn): each one a request to the core from where its client is, so the
    /// node it enters and the core's reachability and masquerade apply.
    fn send(&mut self, count: u32, all_clients: bool) {
        let clients = self.clients();
        let from = if all_clients || self.client >= clients.len() {
            clients.iter().map(|c| c.address).collect()
        } else {
            vec![clients[self.client].address]
        };
        if let Err(e) = self.send_to(from, None, count) {
            self.notice = Some(e);
        }
    }

    /// Where a connection from `address` starts: its client's location and the node whose
    /// rules it meets. A Pod or node client is on its own node ([`State::clients`]); an
    /// outside client enters the chosen node; an address of no client is a Pod on the chosen
    /// node.
    fn origin_of(&self, clients: &[Client], address: IpAddr) -> (Option<String>, ClientLocation) {
        match clients.iter().find(|c| c.address == address) {
            Some(c) => (c.node.clone().or_else(|| self.node_name()), c.location),
            None => (self.node_name(), ClientLocation::Pod),
        }
    }

    /// Sends `count` connections from `from` (in turn; the chosen client when empty) to `to`
    /// (the chosen target when `None`), logs them and returns them. Each request to the core
    /// carries its clients' location and node, so the node it enters, the core's reachability
    /// and masquerade apply.
    fn send_to(
        &mut self,
        mut from: Vec<IpAddr>,
        to: Option<String>,
        count: u32,
    ) -> Result<Vec<Connection>, SendError> {
        let Some(model) = self.model.clone() else {
            return Err(SendError::Broken);
        };
        let entry = self.entry().cloned();
        let to = match (to, &entry) {
            (Some(t), _) => t,
            (None, Some(e)) => e.target.clone(),
            (None, None) => return Err(SendError::NoService),
        };
        let protocol = entry
            .as_ref()
            .filter(|e| e.target == to)
            .map_or(svcroute_core::model::Protocol::Tcp, |e| e.protocol);
        let clients = self.clients();
        if from.is_empty() {
            let c = self.client.min(clients.len().saturating_sub(1));
            from = clients.get(c).map(|c| c.address).into_iter().collect();
        }
        if from.is_empty() {
            return Err(SendError::NoClient);
        }
        let namespace = self
            .service_view()
            .and_then(|s| s.id.split_once('/'))
            .map_or("default".to_owned(), |(ns, _)| ns.to_owned());
        // One request per client node and location: a request has one of each.
        let keys: Vec<(Option<String>, ClientLocation)> =
            from.iter().map(|a| self.origin_of(&clients, *a)).collect();
        let uniform = keys.windows(2).all(|w| w[0] == w[1]);
        let mut conns = Vec::new();
        let calls: Vec<(Vec<IpAddr>, u32, usize)> = if uniform {
            vec![(from.clone(), count, 0)]
        } else {
            (0..count as usize)
                .map(|i| (vec![from[i % from.len()]], 1, i % from.len()))
                .collect()
        };
        let mut clock = self.clock_ms;
        let mut proxy = (*self.proxy).clone();
        for (call, (from, n, k)) in calls.into_iter().enumerate() {
            let (node, location) = keys[k].clone();
            let req = Request {
                to: to.clone(),
                from,
                count: n,
                interval_ms: STEP_MS,
                start_ms: clock,
                protocol,
                node,
                namespace: namespace.clone(),
                source_ports: Vec::new(),
                // Each connection is one short request, as `curl` makes: it closes at once and
                // waits out TCP's TIME_WAIT in the kernel's table (so persistence templates
                // expire once the client stops, as `ipvsadm -Lnc` shows).
                duration_ms: Some(REQUEST_MS),
                location: Some(location),
                // The mode kube-proxy runs (the modes view's ConfigMap switch), and the Pods
                // marked as refusing there.
                proxy_mode: proxy.running(),
                refusing: proxy.refusing_list(),
                ..Request::default()
            };
            let routes = route::route(&model.cluster, &req, &mut self.sim)
                .map_err(|e| SendError::Route(e.text()))?;
            proxy.record(&model, &req, &routes.connections, call == 0);
            conns.extend(routes.connections);
            clock = clock.saturating_add(u64::from(n).saturating_mul(STEP_MS));
        }
        self.proxy = Rc::new(proxy);
        self.bursts += 1;
        let mut log: Vec<Sent> = (*self.log).clone();
        let first = log.last().map_or(0, |s| s.seq) + 1;
        for (seq, conn) in (first..).zip(conns.iter().cloned()) {
            log.push(Sent {
                seq,
                burst: self.bursts,
                conn,
                id: self.next_id,
            });
            self.next_id += 1;
        }
        let excess = log.len().saturating_sub(LOG_LIMIT);
        log.drain(..excess);
        self.log = Rc::new(log);
        let mut sends = (*self.sends).clone();
        if sends.len() < SENDS_LIMIT {
            sends.push(SendRecord {
                from: req_from(&conns),
                to,
                count,
                at: self.clock_ms,
            });
        }
        self.sends = Rc::new(sends);
        self.clock_ms = clock;
        Ok(conns)
    }
}

/// The client addresses of a send, in turn (as short as the cycle they repeat).
fn req_from(conns: &[Connection]) -> Vec<IpAddr> {
    let all: Vec<IpAddr> = conns.iter().filter_map(|c| c.from.parse().ok()).collect();
    for len in 1..=all.len() {
        if all.iter().enumerate().all(|(i, a)| *a == all[i % len]) {
            return all[..len].to_vec();
        }
    }
    all
}

/// Equal when everything shown is equal: values compared, the core's answers and the log
/// by identity (each action that changes them makes new ones).
impl PartialEq for State {
    fn eq(&self, o: &Self) -> bool {
        fn same<T>(a: &Option<Rc<T>>, b: &Option<Rc<T>>) -> bool {
            match (a, b) {
                (Some(a), Some(b)) => Rc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
        }
        self.lang == o.lang
            && self.scenario.id == o.scenario.id
            && self.text == o.text
            && self.tweaks == o.tweaks
            && self.scheduler == o.scheduler
            && self.node == o.node
            && self.service == o.service
            && self.target == o.target
            && self.client == o.client
            && self.clients == o.clients
            && self.clock_ms == o.clock_ms
            && same(&self.model, &o.model)
            && same(&self.prev, &o.prev)
            && Rc::ptr_eq(&self.errors, &o.errors)
            && Rc::ptr_eq(&self.log, &o.log)
            && self.bursts == o.bursts
            && self.notice == o.notice
            && Rc::ptr_eq(&self.edits, &o.edits)
            && Rc::ptr_eq(&self.past, &o.past)
            && Rc::ptr_eq(&self.proxy, &o.proxy)
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        next.apply(action);
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn state(id: &str) -> State {
        State::new(Init {
            scenario: Some(id.into()),
            ..Init::default()
        })
    }

    fn spread(s: &State) -> Vec<usize> {
        let mut per: BTreeMap<String, usize> = BTreeMap::new();
        for c in s.log.iter().filter(|c| !c.conn.refused) {
            *per.entry(c.conn.pod.clone().unwrap_or_default())
                .or_default() += 1;
        }
        per.into_values().collect()
    }

    #[test]
    fn a_burst_spreads_over_the_three_pods_and_outside_is_refused() {
        let mut s = state("clusterip");
        assert_eq!(s.entry().map(|e| e.target.as_str()), Some("10.97.97.97:80"));
        s.apply(Action::Send {
            count: BURST,
            all_clients: true,
        });
        assert_eq!(s.log.len(), 6);
        let refused: Vec<&Sent> = s.log.iter().filter(|c| c.conn.refused).collect();
        assert_eq!(
            refused.len(),
            2,
            "the outside client cannot reach a ClusterIP"
        );
        assert!(refused.iter().all(|c| c.conn.from == "203.0.113.9"));
        // Each node's table keeps its own rr position: the client Pod (node-1) and node-2's
        // own process both start at the first real server.
        assert_eq!(spread(&s), [2, 2], "rr per node");
        assert_eq!(s.clock_ms, 6_000);
    }

    #[test]
    fn affinity_pins_one_client_until_the_timeout() {
        let mut s = state("affinity");
        for _ in 0..3 {
            s.apply(Action::Send {
                count: 1,
                all_clients: false,
            });
        }
        let pods: Vec<_> = s.log.iter().map(|c| c.conn.pod.clone()).collect();
        assert!(pods.iter().all(|p| p == &pods[0]), "{pods:?}");
        assert!(
            s.log[1]
                .conn
                .reason
                .contains("the persistence template pins"),
            "{}",
            s.log[1].conn.reason
        );
        // The template's timeout runs from when its last connection left (IPVS keeps a template
        // while it controls connections): the connections closed long before.
        s.apply(Action::Advance(u64::from(AFFINITY_TIMEOUT) * 1000));
        s.apply(Action::Send {
            count: 1,
            all_clients: false,
        });
        let last = &s.log[3].conn;
        assert!(
            last.reason.contains("new persistence template"),
            "{}",
            last.reason
        );
        assert_ne!(last.pod, pods[0], "rr moved on after the template expired");
    }

    #[test]
    fn a_not_ready_pod_leaves_the_rules_and_the_diff_says_so() {
        let mut s = state("clusterip");
        let m = s.model.clone().expect("valid");
        let pod = m.cluster.pods[0].meta.id.to_string();
        assert!(m.in_rules(None, "dev/service-clusterip", &pod));
        s.apply(Action::PodReady {
            pod: pod.clone(),
            ready: false,
        });
        let m = s.model.clone().expect("valid");
        assert!(!m.in_rules(None, "dev/service-clusterip", &pod));
        let (ops, first) = s.diff().expect("diff");
        assert!(!first);
        assert_eq!(ops.len(), 1, "{ops:?}");
        assert!(matches!(ops[0], Op::DeleteRealServer { .. }));
    }

    #[test]
    fn broken_text_keeps_the_last_good_model() {
        let mut s = state("clusterip");
        let good = s.model.clone().expect("valid");
        let broken = s.text.replace("\n  ports:\n", "\n  port:\n");
        s.apply(Action::Edit(broken.clone()));
        assert!(Rc::ptr_eq(s.model.as_ref().expect("kept"), &good));
        let line = broken
            .lines()
            .position(|l| l == "  port:")
            .expect("edited line")
            + 1;
        let at_line: Vec<&Diagnostic> = s
            .errors
            .iter()
            .filter(|d| d.loc.as_ref().is_some_and(|l| l.line as usize == line))
            .collect();
        assert_eq!(at_line.len(), 1, "{:?}", s.errors);
        assert!(at_line[0].message.contains("unknown field \"spec.port\""));
        s.apply(Action::Edit(broken.replace("\n  port:\n", "\n  ports:\n")));
        assert!(s.errors.is_empty());
    }

    #[test]
    fn the_fragment_reproduces_the_state() {
        let mut s = state("affinity");
        s.apply(Action::Advance(42_000));
        let pod = s.model.as_ref().expect("valid").cluster.pods[1]
            .meta
            .id
            .to_string();
        s.apply(Action::PodReady { pod, ready: false });
        s.apply(Action::Edit(s.text.replace("replicas: 3", "replicas: 4")));
        let f = s.fragment();
        let t = State::new(Init {
            fragment: Fragment::decode(&f.encode()),
            ..Init::default()
        });
        assert_eq!(t.scenario.id, "affinity");
        assert_eq!(t.clock_ms, 42_000);
        assert_eq!(t.text, s.text);
        assert_eq!(t.tweaks, s.tweaks);
        assert_eq!(
            t.model.as_ref().expect("valid").plans,
            s.model.as_ref().expect("valid").plans
        );
    }

    #[test]
    fn every_scenario_can_send() {
        for sc in &crate::scenarios::ALL {
            let mut s = state(sc.id);
            s.apply(Action::Send {
                count: BURST,
                all_clients: true,
            });
            assert_eq!(s.notice, None, "{}", sc.id);
            assert_eq!(s.log.len(), 6, "{}", sc.id);
        }
    }
}
