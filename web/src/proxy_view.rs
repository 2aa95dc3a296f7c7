//! The proxy modes view's part of the playground's state: kube-proxy's ConfigMap `mode` and
//! the IPVS modules (the seed's `kubectl edit cm kube-proxy` step; the core's
//! [`modes::startup`] says which mode runs), the Pods marked as refusing connections, and the
//! last send replayed in each of the four modes on a simulator of its own.
//!
//! Nothing here decides a route: every connection is the core's ([`route::route`] with
//! `proxy_mode`, `refusing` and `trace`), and the view only highlights the rule lines the
//! core lists.

use std::collections::BTreeSet;
use std::rc::Rc;

use svcroute_core::cluster::Cluster;
use svcroute_core::modes::{self, ProxyMode, Startup};
use svcroute_core::route::{self, Connection, Request};
use svcroute_core::sim::Simulator;

use crate::state::State;

/// The kube-proxy minor version whose start the playground follows: the seed notes' era,
/// when `mode: ipvs` without the kernel modules fell back to iptables.
pub const SEED_MINOR: u32 = 24;
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
    /// The last send in each mode: its connections (with the rule lines passed) or why none.
    pub last: Vec<(ProxyMode, Result<Vec<Connection>, String>)>,
}

impl Default for ProxyView {
    /// After the seed's step: `mode: "ipvs"`, modules loaded.
    fn default() -> Self {
        ProxyView {
            cm_mode: "ipvs".into(),
            ipvs_modules: true,
            refusing: BTreeSet::new(),
            shadow: Simulator::new(),
            last: Vec::new(),
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
}

impl ProxyView {
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
            ..self.clone()
        }
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
            let got = route::route(cluster, &r, &mut self.shadow).map_err(|e| e.to_string());
            match (out, got) {
                (Ok(list), Ok(routes)) => list.extend(routes.connections),
                (out, Err(e)) => *out = Err(e),
                (Err(_), Ok(_)) => {}
            }
        }
    }

    /// The last connection of the last send in `mode`.
    pub fn last_of(&self, mode: ProxyMode) -> Option<&Result<Vec<Connection>, String>> {
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
}
