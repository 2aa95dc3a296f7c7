//! The page's components: function components with hooks, one per file. Each takes the
//! reducer's handle, reads the [`State`](crate::state::State) and dispatches
//! [`Action`](crate::state::Action)s; none of them computes a route, an address or a rule.

mod announcer;
pub mod app;
mod cluster_actions;
mod connection_log;
mod editor;
mod header;
mod modes;
mod picture;
mod rules;
mod scenario_bar;
mod traffic;

use yew::prelude::*;

use crate::state::State;

/// The props every panel takes: the reducer's handle (compared by identity of the state).
#[derive(Clone, PartialEq, Properties)]
pub struct PanelProps {
    /// The state and its dispatcher.
    pub state: UseReducerHandle<State>,
    /// A smaller rendering for embedded, single-scenario views.
    #[prop_or_default]
    pub compact: bool,
}

/// `t=12s`, `t=3h 0m 5s`: the simulated clock for people.
pub(crate) fn clock_text(ms: u64) -> String {
    let s = ms / 1000;
    let frac = ms % 1000;
    let secs = if frac == 0 {
        format!("{s}s")
    } else {
        format!("{s}.{frac:03}s")
    };
    if s >= 60 {
        let (h, m, r) = (s / 3600, (s % 3600) / 60, s % 60);
        if h > 0 {
            format!("t={secs} ({h}h {m}m {r}s)")
        } else {
            format!("t={secs} ({m}m {r}s)")
        }
    } else {
        format!("t={secs}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn clock_text() {
        assert_eq!(super::clock_text(0), "t=0s");
        assert_eq!(super::clock_text(1500), "t=1.500s");
        assert_eq!(super::clock_text(10_806_000), "t=10806s (3h 0m 6s)");
    }
}
