//! The connections sent, newest first, each with the core's explanation of why it went where
//! it went, and the count per backend (`route::spread`).

use svcroute_core::route::{self, Routes};
use yew::prelude::*;

use crate::i18n::Lang;
use crate::messages;

use super::{PanelProps, clock_text};

/// The log of connections.
#[function_component(ConnectionLog)]
pub fn connection_log(props: &PanelProps) -> Html {
    let state = &props.state;
    let t = state.lang.t();
    let limit = if props.compact { 6 } else { 30 };
    let routes = Routes {
        connections: state.log.iter().map(|s| s.conn.clone()).collect(),
        simulated: None,
        end_ms: 0,
    };
    let spread = route::spread(&routes);
    html! {
        <div class="sr-log" data-testid="log">
            <h3 class="sr-h3">{ t.connections }{ format!(" ({})", state.log.len()) }</h3>
            if state.log.is_empty() {
                <p class="sr-muted">{ t.no_connections }</p>
            }
            <ol class="sr-conns" reversed=true aria-live="polite">
                { for state.log.iter().rev().take(limit).map(|s| {
                    let c = &s.conn;
                    let answer = match (&c.backend, &c.cname, &c.addresses) {
                        (Some(b), _, _) => format!("{b} ({})", c.pod.as_deref().unwrap_or("-")),
                        (None, Some(n), _) => format!("CNAME {n}"),
                        (None, None, Some(a)) => format!("A {}", a.join(", ")),
                        _ => t.refused.to_owned(),
                    };
                    let via = c.virtual_server.as_ref().filter(|v| **v != c.to).map(|v| format!(" via {v}")).unwrap_or_default();
                    html! {
                        <li class={classes!("sr-conn-item", (s.burst == state.bursts).then_some("sr-new"))}
                            data-testid="conn" data-seq={s.seq.to_string()} data-from={c.from.clone()}
                            data-pod={c.pod.clone().unwrap_or_default()} data-backend={c.backend.clone().unwrap_or_default()}>
                            <div class="sr-conn-line">
                                <span class="sr-muted">{ format!("#{} {}", s.seq, clock_text((c.time * 1000.0).round() as u64)) }</span>
                                { " " }<span class="sr-mono">{ format!("{} → {}{via} ⇒ {answer}", c.from, c.to) }</span>
                            </div>
                            <div class="sr-reason" data-testid="reason" lang={state.lang.tag()}
                                title={(state.lang != Lang::En).then(|| c.reason.clone())}>{ messages::reason(c, state.lang) }</div>
                        </li>
                    }
                }) }
            </ol>
            if !spread.is_empty() {
                <p class="sr-spread" data-testid="spread">
                    <span class="sr-muted">{ t.per_backend }{ ": " }</span>
                    { for spread.iter().map(|(b, n)| html! { <span class="sr-mono sr-chip">{ format!("{b} × {n}") }</span> }) }
                </p>
            }
        </div>
    }
}
