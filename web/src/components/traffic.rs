//! Sending connections: the Service, the target (an entry point the plans hold, or the DNS
//! name), the client, one connection or a burst; and the simulated clock.

use web_sys::HtmlSelectElement;
use yew::prelude::*;

use super::{PanelProps, clock_text};
use crate::i18n::Lang;
use crate::model::ClientLocation;
use crate::model::EntryKind;
use crate::state::{Action, BURST};

/// Steps the clock can be advanced by: (label, milliseconds).
const STEPS: [(&str, u64); 4] = [
    ("+1 s", 1_000),
    ("+1 min", 60_000),
    ("+1 h", 3_600_000),
    ("+3 h", 10_800_000),
];

/// Target, client, send buttons and the clock.
#[function_component(Traffic)]
pub fn traffic(props: &PanelProps) -> Html {
    let state = &props.state;
    let t = state.lang.t();
    let Some(model) = state.model.clone() else {
        return html! {};
    };
    let svc = state.service_view().cloned();
    let entry = state.entry().cloned();
    let on_select = |make: fn(String) -> Action| {
        let d = state.dispatcher();
        Callback::from(move |e: Event| {
            let s: HtmlSelectElement = e.target_unchecked_into();
            d.dispatch(make(s.value()));
        })
    };
    let on_client = {
        let d = state.dispatcher();
        Callback::from(move |e: Event| {
            let s: HtmlSelectElement = e.target_unchecked_into();
            d.dispatch(Action::Client(s.value().parse().unwrap_or(0)));
        })
    };
    let send = |count: u32, all_clients: bool| {
        let d = state.dispatcher();
        Callback::from(move |_| d.dispatch(Action::Send { count, all_clients }))
    };
    let has_target = entry.is_some();
    let clients = state.clients();
    // The burst goes from every client in turn: the label counts the widget's own clients
    // (a teacher's `clients` option may give two, or five).
    let burst = match (state.lang, clients.len()) {
        (Lang::En, 1) => format!("Burst: {BURST} connections from 1 client"),
        (Lang::En, n) => format!("Burst: {BURST} connections from {n} clients"),
        (Lang::Zh, n) => format!("突发：{n} 个客户端共 {BURST} 个连接"),
    };
    html! {
        <div class="sr-traffic" data-testid="traffic">
            <div class="sr-row">
                if model.services.len() > 1 {
                    <label class="sr-field">
                        <span>{ t.service }</span>
                        <select data-testid="service" onchange={on_select(Action::Service)}>
                            { for model.services.iter().map(|s| html! {
                                <option value={s.id.clone()} selected={svc.as_ref().is_some_and(|v| v.id == s.id)}>{ s.id.clone() }</option>
                            }) }
                        </select>
                    </label>
                }
                <label class="sr-field">
                    <span>{ t.target }</span>
                    <select data-testid="target" onchange={on_select(Action::Target)} disabled={!has_target}>
                        { for svc.iter().flat_map(|s| s.entries.iter()).map(|e| {
                            let kind = match e.kind {
                                EntryKind::Vs(k) => format!("{k:?}"),
                                EntryKind::Dns => "DNS".into(),
                            };
                            let on = match &e.node { Some(n) => format!(" ({n})"), None => String::new() };
                            html! {
                                <option value={e.target.clone()} selected={entry.as_ref().is_some_and(|c| c.target == e.target)}>
                                    { format!("{} — {kind}{on}", e.target) }
                                </option>
                            }
                        }) }
                    </select>
                </label>
                <label class="sr-field">
                    <span>{ t.from }</span>
                    <select data-testid="client" onchange={on_client}>
                        { for clients.iter().enumerate().map(|(i, c)| {
                            let node = c.node.clone().unwrap_or_default();
                            let place = match c.location {
                                ClientLocation::Pod => format!("{} {node}", t.pod_on),
                                ClientLocation::Node => format!("{} {node}", t.node_itself),
                                ClientLocation::Outside => t.outside.to_owned(),
                            };
                            let who = if c.name == c.address.to_string() { c.name.clone() } else { format!("{} {}", c.name, c.address) };
                            html! {
                                <option value={i.to_string()} selected={state.client == i}>{ format!("{who} ({place})") }</option>
                            }
                        }) }
                        <option value={clients.len().to_string()} selected={state.client >= clients.len()}>{ t.all_clients }</option>
                    </select>
                </label>
            </div>
            <div class="sr-row">
                <button type="button" class="sr-primary" data-testid="send-one" disabled={!has_target}
                    onclick={send(1, false)}>{ t.send_one }</button>
                <button type="button" class="sr-primary" data-testid="burst" disabled={!has_target}
                    onclick={send(BURST, true)}>{ burst }</button>
            </div>
            <div class="sr-row sr-clock" role="group" aria-label={t.clock}>
                <span>{ t.clock }{ ": " }<output data-testid="clock" data-ms={state.clock_ms.to_string()}>{ clock_text(state.clock_ms) }</output></span>
                { for STEPS.iter().map(|(label, ms)| {
                    let d = state.dispatcher();
                    let ms = *ms;
                    html! {
                        <button type="button" class="sr-small" data-testid={format!("advance-{ms}")}
                            aria-label={format!("{} {label}", t.advance)}
                            onclick={Callback::from(move |_| d.dispatch(Action::Advance(ms)))}>{ *label }</button>
                    }
                }) }
                <button type="button" class="sr-small" data-testid="restart" onclick={{
                    let d = state.dispatcher();
                    Callback::from(move |_| d.dispatch(Action::Restart))
                }}>{ t.restart }</button>
            </div>
            if let Some(n) = &state.notice {
                <p class="sr-notice" role="alert" data-testid="notice" lang={state.lang.tag()}
                    title={(state.lang != Lang::En).then(|| n.to_string())}>{ n.text(state.lang) }</p>
            }
        </div>
    }
}
