//! The proxy modes view (`view: "modes"`, and the playground's modes panel): the same Service
//! in kube-proxy's modes side by side — the rules each would hold on the node (`ipvsadm -Ln`,
//! `iptables-save`, `nft list ruleset`, the userspace proxy's description), each highlighted
//! along the path of the last connection as the core lists it (`Connection::rules`, found
//! with `modes::highlight`); the Pods one can mark as refusing connections; the seed's
//! `kubectl edit cm kube-proxy` switch with the IPVS modules; and how each mode's rules grow,
//! counted by the core (`modes::growth`) and drawn as a small SVG chart.
//!
//! Every connection, rule line and count is the core's; this file only draws.

use std::net::IpAddr;

use svcroute_core::modes::{self, ProxyMode, RuleCounts};
use svcroute_core::render;
use svcroute_core::route::Connection;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::PanelProps;
use crate::i18n::{Lang, ModesTexts};
use crate::messages;
use crate::proxy_view::{ProxyAction, ProxyView};
use crate::state::Action;

/// The view's own styles (scoped under `.sr-modes-wrap`).
const CSS: &str = r#"
.sr-modes-wrap{margin:10px 0}
.sr-modes-wrap .sr-mode{border:1px solid var(--line);border-radius:8px;padding:6px 8px;background:var(--bg)}
.sr-modes-wrap .sr-mode.sr-running{border-color:var(--accent);box-shadow:0 0 0 1px var(--accent)}
.sr-modes-wrap .sr-badge{display:inline-block;margin-left:6px;padding:0 6px;border-radius:10px;background:var(--accent);color:#fff;font-size:11px;vertical-align:middle}
.sr-modes-wrap .sr-h3{margin:4px 0;font-size:13px}
.sr-modes-wrap .sr-rules-text{max-height:300px;overflow:auto;font-size:11.5px;line-height:1.35;margin:4px 0;padding:4px 0}
.sr-modes-wrap .sr-ln{display:block;white-space:pre;padding:0 6px}
.sr-modes-wrap .sr-hl{background:#fff3b0;box-shadow:inset 3px 0 0 #d4a72c}
.sr-modes-wrap .sr-outcome{margin:4px 0;font-weight:600}
.sr-modes-wrap .sr-outcome[data-outcome=refused]{color:var(--bad)}
.sr-modes-wrap .sr-outcome[data-outcome=retried]{color:var(--warn)}
.sr-modes-wrap .sr-outcome[data-outcome=answered]{color:var(--ok)}
.sr-modes-wrap .sr-reason{margin:2px 0;font-size:12px;color:var(--muted);overflow-wrap:anywhere}
.sr-modes-wrap .sr-boxes{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(280px,100%),1fr));gap:10px}
.sr-modes-wrap .sr-modes{grid-template-columns:repeat(auto-fit,minmax(min(300px,100%),1fr))}
.sr-modes-wrap .sr-box{border:1px solid var(--line);border-radius:8px;padding:6px 10px;background:var(--panel);min-width:0}
.sr-modes-wrap .sr-box .sr-pre{font-size:12px;margin:4px 0;overflow:auto}
.sr-modes-wrap .sr-check{display:flex;gap:6px;align-items:flex-start;margin:4px 0}
.sr-modes-wrap .sr-check input{margin-top:3px}
.sr-modes-wrap .sr-refusing{color:var(--bad);font-weight:600}
.sr-modes-wrap .sr-chart{width:100%;max-width:520px;height:auto;display:block}
.sr-modes-wrap .sr-legend{display:flex;flex-wrap:wrap;gap:4px 12px;font-size:12px;margin:4px 0;padding:0;list-style:none}
.sr-modes-wrap .sr-key{display:inline-block;width:14px;height:3px;vertical-align:middle;margin-right:4px}
.sr-modes-wrap .sr-counts{font-size:12px}
@media (prefers-color-scheme: dark){.sr-modes-wrap .sr-hl{background:#4d3d00;box-shadow:inset 3px 0 0 #d4a72c}}
.sr-modes-wrap .sr-chart text{fill:currentColor}
.sr-modes-wrap .sr-counts td,.sr-modes-wrap .sr-counts th{padding:1px 6px;text-align:right;white-space:nowrap;overflow-wrap:normal}
"#;

/// Services in the growth chart's points.
const GROWTH_SERVICES: [usize; 5] = [1, 10, 25, 50, 100];
/// The table's column heads: the technical names of what each series counts.
const SHORT: [&str; 5] = [
    "iptables -A",
    "KUBE-SERVICES",
    "nft rule",
    "nft element",
    "ipvsadm",
];
/// Endpoints per Service one can choose.
const GROWTH_ENDPOINTS: [usize; 3] = [1, 3, 10];

/// The modes side by side.
#[function_component(Modes)]
pub fn modes(props: &PanelProps) -> Html {
    let state = &props.state;
    let mt = state.lang.modes();
    let Some(model) = state.model.clone() else {
        return html! {};
    };
    let proxy = state.proxy.clone();
    // The connection each mode made last; its node's rules are shown.
    let last = |mode: ProxyMode| -> Option<Connection> {
        match proxy.last_of(mode)? {
            Ok(list) => list.last().cloned(),
            Err(_) => None,
        }
    };
    let node = last(ProxyMode::Ipvs)
        .and_then(|c| c.node)
        .or_else(|| state.node_name());
    let Some(plan) = model.plan_of(node.as_deref()) else {
        return html! {};
    };
    let node = plan.node.clone();
    let texts = {
        let key = (std::rc::Rc::as_ptr(&model) as usize, node.clone());
        let model = model.clone();
        use_memo(key, move |(_, node)| {
            let plan = model.plan_of(Some(node)).cloned();
            ProxyMode::ALL.map(|m| match (m, &plan) {
                (ProxyMode::Ipvs, Some(p)) => render::ipvsadm_table(p),
                (ProxyMode::Iptables, _) => render::iptables::iptables_save(&model.cluster, node),
                (ProxyMode::Nftables, _) => render::nftables::ruleset(&model.cluster, node),
                (ProxyMode::Userspace, _) => render::userspace::text(&model.cluster, node),
                (ProxyMode::Ipvs, None) => String::new(),
            })
        })
    };
    // Each panel scrolls to the first highlighted line of the last connection.
    let wrap = use_node_ref();
    {
        let wrap = wrap.clone();
        let key = (state.bursts, std::rc::Rc::as_ptr(&proxy) as usize);
        use_effect_with(key, move |_| scroll_to_highlights(&wrap));
    }
    let running = proxy.running();
    let panes = ProxyMode::ALL.into_iter().enumerate().map(|(i, mode)| {
        let text = &texts[i];
        let conn = last(mode);
        let (testid, cmd) = match mode {
            ProxyMode::Ipvs => ("mode-ipvs", "ipvsadm -Ln"),
            ProxyMode::Iptables => ("mode-iptables", "iptables-save"),
            ProxyMode::Nftables => ("mode-nftables", "nft list ruleset"),
            ProxyMode::Userspace => ("userspace-mode", mt.userspace_cmd),
        };
        let lit: Vec<usize> = conn.as_ref().map_or_else(Vec::new, |c| {
            let addr = c
                .virtual_server
                .as_deref()
                .and_then(|v| v.rsplit_once(':'))
                .and_then(|(h, _)| h.trim_matches(['[', ']']).parse::<IpAddr>().ok());
            modes::highlight(text, &c.rules, addr)
        });
        let error = match proxy.last_of(mode) {
            Some(Err(e)) => Some(e),
            _ => None,
        };
        let on = mode == running;
        html! {
            <section class={classes!("sr-mode", on.then_some("sr-running"))} data-testid={testid}
                data-running={on.to_string()} aria-label={format!("{}: {cmd}", mode.as_str())}>
                <h3 class="sr-h3">
                    { mode.as_str() }{ " · " }<code>{ cmd }</code>{ format!(" · {node}") }
                    if on { <span class="sr-badge" data-testid="running-badge">{ mt.running_badge }</span> }
                </h3>
                { outcome(mt, state.lang, conn.as_ref(), error) }
                if mode == ProxyMode::Userspace { <p class="sr-reason">{ mt.userspace_note }</p> }
                <pre class="sr-pre sr-rules-text" tabindex="0" data-scroll="true" data-testid="rules-text"
                    data-highlighted={lit.len().to_string()}>
                    { for text.lines().enumerate().map(|(n, l)| {
                        let hl = lit.binary_search(&n).is_ok();
                        html! { <span class={classes!("sr-ln", hl.then_some("sr-hl"))} data-testid={hl.then_some("hl")}>{ if l.is_empty() { " " } else { l } }</span> }
                    }) }
                </pre>
            </section>
        }
    });
    html! {
        <div class="sr-modes-wrap" data-testid="modes" ref={wrap}>
            <style>{ CSS }</style>
            if !props.compact {
                <p class="sr-muted">{ mt.intro }</p>
            }
            <div class="sr-boxes">
                { configmap(state, mt, &proxy) }
                { refusal(state, mt, &proxy) }
            </div>
            <div class="sr-modes">{ for panes }</div>
            <Growth state={state.clone()} />
        </div>
    }
}

/// The last connection's outcome in one mode.
fn outcome(
    mt: &ModesTexts,
    lang: Lang,
    conn: Option<&Connection>,
    error: Option<&svcroute_core::diag::Msg>,
) -> Html {
    let Some(c) = conn else {
        let english = error.map(|e| e.to_string());
        return html! {
            <p class="sr-outcome sr-muted" data-testid="outcome" data-outcome="none"
                title={english.filter(|_| lang != Lang::En)}>
                { error.map_or_else(|| mt.no_conn.to_owned(), |e| messages::render(e, lang)) }
            </p>
        };
    };
    let who = |c: &Connection| match (&c.pod, &c.backend) {
        (Some(p), Some(b)) => format!("{p} ({b})"),
        (None, Some(b)) => b.clone(),
        _ => String::new(),
    };
    let (kind, text) = if c.refused {
        let tried = if c.tried.is_empty() {
            String::new()
        } else {
            format!(" ({})", c.tried.join(", "))
        };
        ("refused", format!("{}{tried}", mt.refused))
    } else if !c.tried.is_empty() {
        ("retried", format!("{} {}", mt.retried, who(c)))
    } else {
        ("answered", format!("{} {}", mt.answered, who(c)))
    };
    html! {
        <>
            <p class="sr-outcome" data-testid="outcome" data-outcome={kind}>
                { format!("{} · {} → {}: {text}", mt.last_conn, c.from, c.to) }
            </p>
            <p class="sr-reason" data-testid="conn-reason" lang={lang.tag()}
                title={(lang != Lang::En).then(|| c.reason.clone())}>{ messages::reason(c, lang) }</p>
        </>
    }
}

/// The seed's `kubectl edit cm kube-proxy` step and the IPVS modules, with kube-proxy's log.
fn configmap(
    state: &UseReducerHandle<crate::state::State>,
    mt: &ModesTexts,
    p: &ProxyView,
) -> Html {
    let on_mode = {
        let d = state.dispatcher();
        Callback::from(move |e: Event| {
            let s: HtmlSelectElement = e.target_unchecked_into();
            d.dispatch(Action::Proxy(ProxyAction::CmMode(s.value())));
        })
    };
    let on_modules = {
        let d = state.dispatcher();
        Callback::from(move |e: Event| {
            let i: HtmlInputElement = e.target_unchecked_into();
            d.dispatch(Action::Proxy(ProxyAction::IpvsModules(i.checked())));
        })
    };
    let seed = p.startup();
    let now = p.startup_now();
    let shown = |s: &modes::Startup| match s.mode {
        Some(m) => format!("{}: {}", mt.runs, m.as_str()),
        None => mt.exits.to_owned(),
    };
    let log = format!(
        "$ kubectl delete pod -l k8s-app=kube-proxy -n kube-system\n# {} — {}\n{}\n# {}\n{}",
        mt.restart,
        mt.seed_kube_proxy,
        seed.log.join("\n"),
        mt.current_kube_proxy,
        now.log.join("\n"),
    );
    let options = [
        ("", mt.cm_empty),
        ("ipvs", "\"ipvs\""),
        ("iptables", "\"iptables\""),
        ("nftables", "\"nftables\""),
    ];
    html! {
        <section class="sr-box" data-testid="cm-switch">
            <h3 class="sr-h3">{ mt.cm_title }</h3>
            <p class="sr-muted sr-note">{ mt.cm_help }</p>
            <pre class="sr-pre">{ format!("$ kubectl edit cm kube-proxy -n kube-system\n    mode: \"{}\"", p.cm_mode) }</pre>
            <label class="sr-field">
                <span>{ mt.cm_mode }</span>
                <select data-testid="cm-mode" onchange={on_mode}>
                    { for options.iter().map(|(v, label)| html! {
                        <option value={*v} selected={p.cm_mode == *v}>{ *label }</option>
                    }) }
                </select>
            </label>
            <label class="sr-check">
                <input type="checkbox" data-testid="ipvs-modules" checked={p.ipvs_modules} onchange={on_modules} />
                <span>{ mt.modules }</span>
            </label>
            <pre class="sr-pre" data-testid="kube-proxy-log">{ log }</pre>
            <p data-testid="running-mode" data-mode={p.running().as_str()}>
                <strong>{ format!("{}: {}", mt.seed_kube_proxy, shown(&seed)) }</strong>
                <br />
                { format!("{}: {}", mt.current_kube_proxy, shown(&now)) }
            </p>
        </section>
    }
}

/// The Pods of the chosen Service, each with a "refuses connections" switch.
fn refusal(state: &UseReducerHandle<crate::state::State>, mt: &ModesTexts, p: &ProxyView) -> Html {
    let pods: Vec<(String, String)> = state
        .model
        .as_deref()
        .zip(state.service_view())
        .and_then(|(m, sv)| {
            m.cluster
                .services
                .iter()
                .find(|s| s.id().to_string() == sv.id)
                .map(|s| {
                    let mut out: Vec<(String, String)> = Vec::new();
                    for b in &s.backends {
                        if let Some(pod) = &b.pod {
                            let id = pod.to_string();
                            if !out.iter().any(|(p, _)| *p == id) {
                                out.push((id, b.address.to_string()));
                            }
                        }
                    }
                    out
                })
        })
        .unwrap_or_default();
    html! {
        <section class="sr-box" data-testid="refusal">
            <h3 class="sr-h3">{ mt.refuse_title }</h3>
            <p class="sr-muted sr-note">{ mt.refuse_help }</p>
            if pods.is_empty() {
                <p class="sr-muted">{ mt.no_pods }</p>
            }
            { for pods.into_iter().map(|(pod, addr)| {
                let on = p.refusing.contains(&pod);
                let d = state.dispatcher();
                let id = pod.clone();
                let toggle = Callback::from(move |e: Event| {
                    let i: HtmlInputElement = e.target_unchecked_into();
                    d.dispatch(Action::Proxy(ProxyAction::Refusing { pod: id.clone(), on: i.checked() }));
                });
                html! {
                    <label class="sr-check">
                        <input type="checkbox" data-testid="refuse-toggle" data-pod={pod.clone()} checked={on} onchange={toggle} />
                        <span class={classes!(on.then_some("sr-refusing"))}>{ format!("{pod} ({addr})") }{ if on { format!(" — {}", mt.refuses) } else { String::new() } }</span>
                    </label>
                }
            }) }
        </section>
    }
}

/// Scrolls each rules panel to its first highlighted line.
fn scroll_to_highlights(wrap: &NodeRef) {
    use wasm_bindgen::JsCast;
    let Some(root) = wrap.cast::<web_sys::Element>() else {
        return;
    };
    let Ok(pres) = root.query_selector_all("pre[data-scroll]") else {
        return;
    };
    for i in 0..pres.length() {
        let Some(pre) = pres
            .item(i)
            .and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        else {
            continue;
        };
        let first = pre
            .query_selector(".sr-hl")
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(hl) = first {
            pre.set_scroll_top((hl.offset_top() - pre.offset_top() - 24).max(0));
        }
    }
}

/// How the rules grow: the core's counts for 1–100 Services of M endpoints, as a chart.
#[function_component(Growth)]
fn growth(props: &PanelProps) -> Html {
    let mt = props.state.lang.modes();
    let per = use_state(|| 3usize);
    let points = use_memo(*per, |m| {
        GROWTH_SERVICES
            .iter()
            .filter_map(|n| modes::growth(*n, *m).map(|c| (*n, c)))
            .collect::<Vec<(usize, RuleCounts)>>()
    });
    let on_per = {
        let per = per.clone();
        Callback::from(move |e: Event| {
            let s: HtmlSelectElement = e.target_unchecked_into();
            if let Ok(v) = s.value().parse() {
                per.set(v);
            }
        })
    };
    type Series = (&'static str, &'static str, fn(&RuleCounts) -> usize);
    let series: [Series; 5] = [
        (mt.iptables_rules, "#cf222e", |c| c.iptables_rules),
        (mt.iptables_walk, "#fb8f44", |c| c.iptables_services_chain),
        (mt.nftables_rules, "#0969da", |c| c.nftables_rules),
        (mt.nftables_elements, "#54aeff", |c| c.nftables_elements),
        (mt.ipvs_entries, "#1a7f37", |c| c.ipvs_entries),
    ];
    let (w, h, left, bottom, top, right) = (420.0, 230.0, 52.0, 34.0, 10.0, 12.0);
    let max_n = *GROWTH_SERVICES.last().unwrap_or(&1) as f64;
    let max_y = points
        .iter()
        .flat_map(|(_, c)| series.iter().map(move |s| (s.2)(c)))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let x = |n: usize| left + (n as f64 / max_n) * (w - left - right);
    let y = |v: usize| h - bottom - (v as f64 / max_y) * (h - bottom - top);
    let ticks_y = [0, (max_y / 2.0).round() as usize, max_y as usize];
    html! {
        <section class="sr-box" data-testid="growth">
            <h3 class="sr-h3">{ mt.growth_title }</h3>
            <p class="sr-muted sr-note">{ mt.growth_help }</p>
            <label class="sr-field">
                <span>{ mt.endpoints_per_service }</span>
                <select data-testid="growth-endpoints" onchange={on_per}>
                    { for GROWTH_ENDPOINTS.iter().map(|m| html! { <option value={m.to_string()} selected={*m == *per}>{ m.to_string() }</option> }) }
                </select>
            </label>
            <svg class="sr-chart" data-testid="growth-chart" viewBox={format!("0 0 {w} {h}")} role="img"
                aria-label={format!("{}: {}", mt.growth_title, mt.count_axis)}>
                <line x1={left.to_string()} y1={(h - bottom).to_string()} x2={(w - right).to_string()} y2={(h - bottom).to_string()} stroke="#6e7781" />
                <line x1={left.to_string()} y1={top.to_string()} x2={left.to_string()} y2={(h - bottom).to_string()} stroke="#6e7781" />
                { for ticks_y.iter().map(|v| html! {
                    <>
                        <line x1={(left - 3.0).to_string()} x2={(w - right).to_string()} y1={y(*v).to_string()} y2={y(*v).to_string()} stroke="#d0d7de" stroke-dasharray="2 3" />
                        <text x={(left - 5.0).to_string()} y={(y(*v) + 4.0).to_string()} font-size="10" text-anchor="end" fill="#57606a">{ v.to_string() }</text>
                    </>
                }) }
                { for GROWTH_SERVICES.iter().map(|n| html! {
                    <text x={x(*n).to_string()} y={(h - bottom + 13.0).to_string()} font-size="10" text-anchor="middle" fill="#57606a">{ n.to_string() }</text>
                }) }
                <text x={((left + w - right) / 2.0).to_string()} y={(h - 4.0).to_string()} font-size="11" text-anchor="middle" fill="#1b1f24">{ mt.services_axis }</text>
                { for series.iter().map(|(label, colour, f)| {
                    let pts: Vec<String> = points.iter().map(|(n, c)| format!("{},{}", render::fixed(x(*n), 1), render::fixed(y(f(c)), 1))).collect();
                    html! {
                        <polyline data-testid="growth-line" data-series={*label} points={pts.join(" ")} fill="none" stroke={*colour} stroke-width="2" />
                    }
                }) }
            </svg>
            <ul class="sr-legend">
                { for series.iter().map(|(label, colour, _)| html! {
                    <li><span class="sr-key" style={format!("background:{colour}")}></span>{ *label }</li>
                }) }
            </ul>
            <div class="sr-scroll">
                <table class="sr-table sr-counts" data-testid="growth-table">
                    <thead><tr><th>{ mt.services_axis }</th>{ for series.iter().zip(SHORT).map(|((l, c, _), short)| html! {
                        <th title={*l}><span class="sr-key" style={format!("background:{c}")}></span>{ short }</th>
                    }) }</tr></thead>
                    <tbody>
                        { for points.iter().map(|(n, c)| html! {
                            <tr><td>{ n.to_string() }</td>{ for series.iter().map(|(_, _, f)| html! { <td>{ f(c).to_string() }</td> }) }</tr>
                        }) }
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// The playground's modes panel: closed at first, drawn only while open (the renderings of
/// a large manifest are long).
#[function_component(ModesPanel)]
pub fn modes_panel(props: &PanelProps) -> Html {
    let mt = props.state.lang.modes();
    // Open or closed is the state's (a link carries it): the four modes' replays are made
    // only while the panel is open, and the sends made while it was closed when it opens.
    let open = props.state.proxy.shown;
    let on_toggle = {
        let d = props.state.dispatcher();
        Callback::from(move |e: Event| {
            let el: web_sys::Element = e.target_unchecked_into();
            let now = el.has_attribute("open");
            if now != open {
                d.dispatch(Action::Proxy(ProxyAction::Shown(now)));
            }
        })
    };
    html! {
        <details class="sr-more" data-testid="modes-panel" open={open} ontoggle={on_toggle}
            data-pending={props.state.proxy.pending().to_string()}>
            <summary>{ mt.show_modes }</summary>
            if open {
                <h2 class="sr-h">{ mt.title }</h2>
                <Modes state={props.state.clone()} />
            }
        </details>
    }
}
