//! The proxy modes view's part of the playground's state: kube-proxy's ConfigMap `mode` and
//! the IPVS modules (the seed's `kubectl edit cm kube-proxy` step; the core's
//! [`modes::startup`] says which mode runs), the Pods marked as refusing connections, and the
//! last send replayed in each of the four modes on a simulator of its own.
//!
//! The replays (four traced routes per request) are made only while the view is shown: a
//! send made while it is hidden is kept ([`ProxyView::record`]) and replayed, in order and
//! against the cluster it was sent to, when the view is shown again ([`ProxyView::show`]).
//!
//! Nothing here decides a route: every connection is the core's ([`route::route`] with
//! `proxy_mode`, `refusing` and `trace`), and the view only highlights the rule lines the
//! core lists.

use std::collections::BTreeSet;
use std::rc::Rc;

use svcroute_core::cluster::Cluster;
use svcroute_core::diag::Msg;
use svcroute_core::modes::{self, ProxyMode, Startup};
use svcroute_core::route::{self, Connection, Request};
use svcroute_core::sim::Simulator;

use crate::model::Model;
use crate::state::State;

/// Requests kept for a hidden view, at most; older ones are forgotten (the shadow simulator
/// then starts from the oldest one kept).
pub const PENDING_LIMIT: usize = 200;

/// The kube-proxy minor version whose start the playground follows: the seed notes' era,
/// when `mode: ipvs` without the kernel modules fell back to iptables.
pub const SEED_MINOR: u32 = 24;
/// The ConfigMap's `mode` after the seed's `kubectl edit cm kube-proxy` step (the default).
pub const SEED_CM_MODE: &str = "ipvs";
/// The current behaviour shown beside it (the fallback was removed in 1.25).
pub const CURRENT_MINOR: u32 = 33;

/// The modes view's state.
#[derive(Clone, Debug)]
pub struct ProxyView {
    /// `mode` in the kube-proxy ConfigMap (`""`, `ipvs`, `iptables`, `nftables`).
    pub cm_mode: String,
    /// Whether the node has the IPVS kernel modules (`lsmod | grep ip_vs`).
    pub ipvs_modules: bool,
    /// Pods (`namespace/name`) whose process refuses connections.
    pub refusing: BTreeSet<String>,
    /// The four modes' own state (draws, lists, positions, IPVS's table).
    pub shadow: Simulator,
    /// The last send in each mode: its connections (with the rule lines passed) or why none
    /// (the core's message, structured).
    pub last: Vec<(ProxyMode, Result<Vec<Connection>, Msg>)>,
    /// Whether the view is shown (the `modes` view, or the playground's panel open).
    pub shown: bool,
    /// The requests sent while the view was hidden, oldest first, to replay when it is shown.
    pending: Vec<Pending>,
}

/// One request of a send, kept while the modes view is hidden.
#[derive(Clone, Debug)]
struct Pending {
    /// The cluster it was sent to.
    model: Rc<Model>,
    /// The request.
    req: Request,
    /// The connections it made (their clients and source ports are replayed).
    sent: Vec<Connection>,
    /// The first request of its send.
    first: bool,
}

impl Default for ProxyView {
    /// After the seed's step: `mode: "ipvs"`, modules loaded.
    fn default() -> Self {
        ProxyView {
            cm_mode: SEED_CM_MODE.into(),
            ipvs_modules: true,
            refusing: BTreeSet::new(),
            shadow: Simulator::new(),
            last: Vec::new(),
            shown: false,
            pending: Vec::new(),
        }
    }
}

/// What the learner changes in the modes view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyAction {
    /// The ConfigMap's `mode`.
    CmMode(String),
    /// The IPVS kernel modules loaded or not.
    IpvsModules(bool),
    /// A Pod refuses connections (`true`) or answers again.
    Refusing {
        /// `namespace/name`.
        pod: String,
        /// Refusing.
        on: bool,
    },
    /// The view is shown (`true`: the playground's panel opened) or hidden.
    Shown(bool),
}

impl ProxyView {
    /// The defaults, the view shown from the start or not.
    pub fn shown(shown: bool) -> ProxyView {
        ProxyView {
            shown,
            ..ProxyView::default()
        }
    }

    /// kube-proxy's start with this ConfigMap, as the seed's kube-proxy (1.24) does it.
    pub fn startup(&self) -> Startup {
        modes::startup(&self.cm_mode, self.ipvs_modules, SEED_MINOR)
    }

    /// The same ConfigMap with a current kube-proxy.
    pub fn startup_now(&self) -> Startup {
        modes::startup(&self.cm_mode, self.ipvs_modules, CURRENT_MINOR)
    }

    /// The mode the playground's sends go through (IPVS when kube-proxy would not start).
    pub fn running(&self) -> ProxyMode {
        self.startup().mode.unwrap_or_default()
    }

    /// The refusing Pods, for the core's request.
    pub fn refusing_list(&self) -> Vec<String> {
        self.refusing.iter().cloned().collect()
    }

    /// The same settings with the simulation forgotten (restart, scenario, link).
    pub fn cleared(&self) -> ProxyView {
        ProxyView {
            shadow: Simulator::new(),
            last: Vec::new(),
            pending: Vec::new(),
            ..self.clone()
        }
    }

    /// One request of a send made on `model`'s cluster, with the connections it got; `first`
    /// starts a new send. Replayed in every mode at once when the view is shown, else kept
    /// for [`ProxyView::show`].
    pub fn record(&mut self, model: &Rc<Model>, req: &Request, sent: &[Connection], first: bool) {
        if self.shown {
            self.replay(&model.cluster, req, sent, first);
            return;
        }
        if self.pending.len() == PENDING_LIMIT {
            self.pending.remove(0);
        }
        self.pending.push(Pending {
            model: model.clone(),
            req: req.clone(),
            sent: sent.to_vec(),
            first,
        });
    }

    /// Shows or hides the view; shown, the requests kept while it was hidden are replayed.
    pub fn show(&mut self, on: bool) {
        self.shown = on;
        if on {
            for p in std::mem::take(&mut self.pending) {
                self.replay(&p.model.cluster, &p.req, &p.sent, p.first);
            }
        }
    }

    /// How many requests wait for the view to be shown.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Replays one request of a send in every mode on the shadow simulator, with the source
    /// ports `sent` got, keeping the rule lines passed; `first` starts a new send.
    pub fn replay(&mut self, cluster: &Cluster, req: &Request, sent: &[Connection], first: bool) {
        if first {
            self.last = ProxyMode::ALL
                .iter()
                .map(|m| (*m, Ok(Vec::new())))
                .collect();
        }
        let ports: Vec<Option<u16>> = sent.iter().map(|c| Some(c.source_port)).collect();
        let from: Vec<_> = sent.iter().filter_map(|c| c.from.parse().ok()).collect();
        for (mode, out) in &mut self.last {
            let r = Request {
                proxy_mode: *mode,
                trace: true,
                from: if from.len() == sent.len() && !from.is_empty() {
                    from.clone()
                } else {
                    req.from.clone()
                },
                source_ports: if from.len() == sent.len() {
                    ports.clone()
                } else {
                    Vec::new()
                },
                ..req.clone()
            };
            let got = route::route(cluster, &r, &mut self.shadow).map_err(|e| e.text());
            match (out, got) {
                (Ok(list), Ok(routes)) => list.extend(routes.connections),
                (out, Err(e)) => *out = Err(e),
                (Err(_), Ok(_)) => {}
            }
        }
    }

    /// The last connection of the last send in `mode`.
    pub fn last_of(&self, mode: ProxyMode) -> Option<&Result<Vec<Connection>, Msg>> {
        self.last.iter().find(|(m, _)| *m == mode).map(|(_, r)| r)
    }
}

impl State {
    /// Applies one of the modes view's actions.
    pub(crate) fn apply_proxy(&mut self, a: ProxyAction) {
        let mut p = (*self.proxy).clone();
        match a {
            ProxyAction::CmMode(m) => p.cm_mode = m,
            ProxyAction::IpvsModules(on) => p.ipvs_modules = on,
            ProxyAction::Refusing { pod, on } => {
                if on {
                    p.refusing.insert(pod);
                } else {
                    p.refusing.remove(&pod);
                }
            }
            ProxyAction::Shown(on) => p.show(on),
        }
        self.proxy = Rc::new(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Action, Init};

    fn state(id: &str) -> State {
        State::new(Init {
            scenario: Some(id.into()),
            modes_view: true,
            ..Init::default()
        })
    }

    fn send(s: &mut State) {
        s.apply(Action::Send {
            count: 1,
            all_clients: false,
        });
    }

    #[test]
    fn every_send_is_replayed_in_the_four_modes_with_the_rules_passed() {
        let mut s = state("clusterip");
        send(&mut s);
        assert_eq!(s.proxy.last.len(), 4);
        for (mode, r) in &s.proxy.last {
            let conns = r.as_ref().expect("routed");
            assert_eq!(conns.len(), 1, "{mode:?}");
            assert!(!conns[0].rules.is_empty(), "{mode:?}");
        }
        // The log's connection is the running mode's (IPVS after the seed's step).
        let logged = &s.log.last().expect("sent").conn;
        let ipvs = &s
            .proxy
            .last_of(ProxyMode::Ipvs)
            .expect("ipvs")
            .as_ref()
            .expect("ok")[0];
        assert_eq!(logged.backend, ipvs.backend);
        assert!(logged.rules.is_empty(), "the log keeps the CLI's shape");
    }

    #[test]
    fn the_configmap_switch_and_the_missing_modules_fall_back_to_iptables() {
        let mut s = state("clusterip");
        assert_eq!(s.proxy.running(), ProxyMode::Ipvs);
        s.apply(Action::Proxy(ProxyAction::IpvsModules(false)));
        assert_eq!(s.proxy.running(), ProxyMode::Iptables);
        assert_eq!(s.proxy.startup_now().mode, None, "1.25+ exits");
        send(&mut s);
        let logged = &s.log.last().expect("sent").conn;
        assert!(logged.reason.contains("KUBE-SVC-"), "{}", logged.reason);
        s.apply(Action::Proxy(ProxyAction::IpvsModules(true)));
        s.apply(Action::Proxy(ProxyAction::CmMode(String::new())));
        assert_eq!(
            s.proxy.running(),
            ProxyMode::Iptables,
            "mode \"\" is iptables"
        );
    }

    #[test]
    fn a_refusing_pod_is_retried_by_userspace_only() {
        let mut s = state("clusterip");
        let pods: Vec<String> = s
            .model
            .as_ref()
            .expect("valid")
            .cluster
            .pods
            .iter()
            .map(|p| p.meta.id.to_string())
            .collect();
        for p in &pods {
            s.apply(Action::Proxy(ProxyAction::Refusing {
                pod: p.clone(),
                on: true,
            }));
        }
        // Every backend refuses but one.
        s.apply(Action::Proxy(ProxyAction::Refusing {
            pod: pods[0].clone(),
            on: false,
        }));
        for _ in 0..3 {
            send(&mut s);
            for (mode, r) in &s.proxy.last {
                let c = &r.as_ref().expect("routed")[0];
                if *mode == ProxyMode::Userspace {
                    assert!(!c.refused, "{}", c.reason);
                    assert_eq!(c.pod.as_deref(), Some(pods[0].as_str()));
                } else {
                    assert_eq!(c.refused, c.pod.is_none());
                    assert_eq!(c.refused, !c.tried.is_empty(), "{mode:?}: {}", c.reason);
                }
            }
        }
    }

    #[test]
    fn a_hidden_view_replays_nothing_until_it_is_shown_and_then_the_same() {
        let mut shown = state("clusterip");
        let mut hidden = State::new(Init {
            scenario: Some("clusterip".into()),
            ..Init::default()
        });
        assert!(!hidden.proxy.shown, "the playground's panel starts closed");
        for _ in 0..3 {
            send(&mut shown);
            send(&mut hidden);
        }
        assert!(hidden.proxy.last.is_empty(), "no replay while hidden");
        assert_eq!(hidden.proxy.pending(), 3);
        hidden.apply(Action::Proxy(ProxyAction::Shown(true)));
        assert_eq!(hidden.proxy.pending(), 0);
        // Replayed in order against the cluster each was sent to: what the view would have
        // shown had it been open all along.
        assert_eq!(hidden.proxy.last, shown.proxy.last);
        send(&mut shown);
        send(&mut hidden);
        assert_eq!(
            hidden.proxy.last, shown.proxy.last,
            "shown: replayed at once"
        );
        let steps = hidden.past.len();
        hidden.apply(Action::Proxy(ProxyAction::Shown(false)));
        assert_eq!(
            hidden.past.len(),
            steps,
            "closing the panel is no undo step"
        );
        assert!(!hidden.history_step);
    }

    #[test]
    fn a_link_carries_the_configmap_mode_and_the_refusing_pods() {
        let mut s = state("clusterip");
        let pods: Vec<String> = s.model.as_ref().expect("valid").cluster.pods[..2]
            .iter()
            .map(|p| p.meta.id.to_string())
            .collect();
        s.apply(Action::Proxy(ProxyAction::CmMode("iptables".into())));
        s.apply(Action::Proxy(ProxyAction::IpvsModules(false)));
        for p in &pods {
            s.apply(Action::Proxy(ProxyAction::Refusing {
                pod: p.clone(),
                on: true,
            }));
        }
        send(&mut s);
        send(&mut s);
        let link = s.fragment().encode();
        let t = State::new(Init {
            fragment: crate::fragment::Fragment::decode(&link),
            modes_view: true,
            ..Init::default()
        });
        assert_eq!(t.proxy.cm_mode, "iptables");
        assert!(!t.proxy.ipvs_modules);
        assert_eq!(t.proxy.refusing_list(), {
            let mut p = pods.clone();
            p.sort();
            p
        });
        assert_eq!(t.proxy.running(), ProxyMode::Iptables);
        // The same connections, in the log and in every mode.
        let conns = |s: &State| s.log.iter().map(|l| l.conn.clone()).collect::<Vec<_>>();
        assert_eq!(conns(&t), conns(&s));
        assert_eq!(t.proxy.last, s.proxy.last);
        // Undo takes a refusal back; a link from before these settings opens with the
        // seed's defaults.
        s.apply(Action::Undo);
        s.apply(Action::Undo);
        s.apply(Action::Undo);
        assert_eq!(s.proxy.refusing.len(), 1);
        let old = State::new(Init {
            fragment: crate::fragment::Fragment::decode("s=clusterip"),
            ..Init::default()
        });
        assert_eq!(
            (old.proxy.cm_mode.as_str(), old.proxy.ipvs_modules),
            ("ipvs", true)
        );
        assert!(old.proxy.refusing.is_empty());
    }
}
