//! Acting on the cluster: scale a workload, make a Pod not ready, terminate or delete it,
//! change the Service's session affinity or kube-proxy's scheduler. Each action becomes a
//! `Tweaks` entry and the core re-plans.

use svcroute_core::config::Scheduler;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use super::PanelProps;
use crate::model::PodState;
use crate::state::{AFFINITY_TIMEOUT, Action, MAX_REPLICAS};

/// The actions panel.
#[function_component(ClusterActions)]
pub fn cluster_actions(props: &PanelProps) -> Html {
    let state = &props.state;
    let t = state.lang.t();
    let Some(model) = state.model.clone() else {
        return html! {};
    };
    let svc = state.service_view().cloned();
    let dispatch = |a: Action| {
        let d = state.dispatcher();
        Callback::from(move |_| d.dispatch(a.clone()))
    };
    let on_scheduler = {
        let d = state.dispatcher();
        Callback::from(move |e: Event| {
            let s: HtmlSelectElement = e.target_unchecked_into();
            if let Some(x) = Scheduler::parse(&s.value()) {
                d.dispatch(Action::Scheduler(x));
            }
        })
    };
    let on_affinity = {
        let d = state.dispatcher();
        let id = svc.as_ref().map(|s| s.id.clone()).unwrap_or_default();
        Callback::from(move |e: Event| {
            let s: HtmlSelectElement = e.target_unchecked_into();
            let timeout = s
                .value()
                .strip_prefix("ClientIP:")
                .and_then(|x| x.parse().ok());
            d.dispatch(Action::Affinity {
                service: id.clone(),
                timeout,
            });
        })
    };
    let svc_id = svc.as_ref().map(|s| s.id.clone()).unwrap_or_default();
    html! {
        <div class="sr-actions" data-testid="actions">
            if !props.compact {
                <h2 class="sr-h">{ t.actions }</h2>
            }
            <div class="sr-row">
                if let Some(s) = &svc {
                    <label class="sr-field">
                        <span>{ format!("{} · {}", t.affinity, s.id) }</span>
                        <select data-testid="affinity" onchange={on_affinity}>
                            <option value="None" selected={s.affinity.is_none()}>{ t.affinity_none }</option>
                            // timeoutSeconds: the default, and short ones to watch a template expire.
                            { for timeouts(s.affinity).into_iter().map(|x| html! {
                                <option value={format!("ClientIP:{x}")} selected={s.affinity == Some(x)}>
                                    { if x == AFFINITY_TIMEOUT { t.affinity_client_ip.to_owned() } else { format!("ClientIP ({} {x} {})", t.affinity_timeout, t.seconds) } }
                                </option>
                            }) }
                        </select>
                    </label>
                }
                <label class="sr-field">
                    <span>{ t.scheduler }</span>
                    <select data-testid="scheduler" onchange={on_scheduler}>
                        // Only what the simulator runs exactly (route refuses the others).
                        { for Scheduler::ALL.iter().filter(|x| x.is_simulated()).map(|x| html! {
                            <option value={x.as_str()} selected={*x == state.scheduler}>
                                { x.as_str() }
                            </option>
                        }) }
                    </select>
                </label>
            </div>
            { for model.workloads.iter().map(|w| {
                let replicas = state.tweaks.replicas.get(&w.id).copied().unwrap_or(w.replicas);
                let id = w.id.clone();
                html! {
                    <div class="sr-row sr-workload" data-testid="workload" data-workload={w.id.clone()}>
                        <span>{ format!("{} {}", w.kind.as_str(), w.id) }</span>
                        <button type="button" class="sr-small" aria-label={format!("{} {}: {} − 1", w.kind.as_str(), w.id, t.replicas)} disabled={replicas == 0}
                            data-testid="scale-down"
                            onclick={dispatch(Action::Scale { workload: id.clone(), replicas: replicas.saturating_sub(1) })}>{ "−" }</button>
                        <output data-testid="replicas">{ format!("{replicas} {}", t.replicas) }</output>
                        <button type="button" class="sr-small" aria-label={format!("{} {}: {} + 1", w.kind.as_str(), w.id, t.replicas)} disabled={replicas >= MAX_REPLICAS}
                            data-testid="scale-up"
                            onclick={dispatch(Action::Scale { workload: id.clone(), replicas: replicas + 1 })}>{ "+" }</button>
                    </div>
                }
            }) }
            <h3 class="sr-h3">{ t.pods }</h3>
            <ul class="sr-pods">
                { for model.cluster.pods.iter().map(|p| {
                    let id = p.meta.id.to_string();
                    let st = model.endpoint_state(&svc_id, &id).unwrap_or_else(|| PodState::of(p));
                    let word = match st { PodState::Ready => t.ready, PodState::NotReady => t.not_ready, PodState::Terminating => t.terminating };
                    let ready = p.ready;
                    html! {
                        <li class="sr-pod-row" data-testid="pod-row" data-pod={id.clone()}>
                            <span class="sr-mono">{ id.clone() }</span>
                            <span class="sr-muted">{ format!(" {} · {} ", p.node_name.as_deref().unwrap_or("-"), p.ips.first().map(ToString::to_string).unwrap_or_default()) }</span>
                            <span class={classes!("sr-chip", st.class())}>{ word }</span>
                            <span class="sr-pod-buttons">
                                <button type="button" class="sr-small" data-testid={if ready { "make-not-ready" } else { "make-ready" }}
                                    aria-label={format!("{} {id}", if ready { t.make_not_ready } else { t.make_ready })}
                                    onclick={dispatch(Action::PodReady { pod: id.clone(), ready: !ready })}>
                                    { if ready { t.make_not_ready } else { t.make_ready } }
                                </button>
                                <button type="button" class="sr-small" data-testid="terminate" disabled={p.meta.deleting}
                                    aria-label={format!("{} {id}", t.terminate)}
                                    onclick={dispatch(Action::PodTerminate(id.clone()))}>{ t.terminate }</button>
                                <button type="button" class="sr-small" data-testid="delete"
                                    aria-label={format!("{} {id}", t.delete)}
                                    onclick={dispatch(Action::PodDelete(id.clone()))}>{ t.delete }</button>
                            </span>
                        </li>
                    }
                }) }
            </ul>
            if !state.tweaks.is_empty() {
                <button type="button" class="sr-small" data-testid="undo" onclick={dispatch(Action::ResetTweaks)}>{ t.undo_actions }</button>
            }
        </div>
    }
}

/// The affinity timeouts offered: kube-proxy's default, a minute, ten seconds, and the
/// manifest's own when it is another.
fn timeouts(current: Option<u32>) -> Vec<u32> {
    let mut v = vec![AFFINITY_TIMEOUT, 60, 10];
    if let Some(c) = current
        && !v.contains(&c)
    {
        v.push(c);
    }
    v
}
