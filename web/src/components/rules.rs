//! The rules a node would hold: `ipvsadm -Ln` (the core's `render::ipvsadm_table`), the
//! agent's nftables table beside it (the netfilter half, `plan -o nftables-ipvs`), the
//! addresses on `kube-ipvs0`, the DNS records, the plan's warnings, and the diff from the
//! previous state (the core's `diff::diff`), written as the commands an operator would type.

use std::net::IpAddr;

use svcroute_core::cluster::Cluster;
use svcroute_core::plan::VsKey;

use svcroute_core::diff::{Op, VsKeyJson};
use svcroute_core::model::Protocol;
use svcroute_core::plan::fmt_addr;
use svcroute_core::render;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use super::{PanelProps, clock_text};
use crate::i18n::Lang;
use crate::state::Action;

/// How many rows of the change list and of the DNS records are drawn until the learner asks
/// for all: a 2,000-Service manifest has ~10,000 changes and ~6,000 records, and drawing them
/// all made a keystroke cost over a second of layout (135,000 layout objects).
pub const LIST_ROWS: usize = 200;

/// The node's rules.
#[function_component(Rules)]
pub fn rules(props: &PanelProps) -> Html {
    // Hooks first (before any early return): whether the long lists are drawn whole.
    let all_ops = use_state(|| false);
    let all_dns = use_state(|| false);
    let state = &props.state;
    let t = state.lang.t();
    let Some(model) = state.model.clone() else {
        return html! {};
    };
    let node = state.node_name();
    let Some(plan) = model.plan_of(node.as_deref()) else {
        return html! {};
    };
    let on_node = {
        let d = state.dispatcher();
        Callback::from(move |e: Event| {
            let s: HtmlSelectElement = e.target_unchecked_into();
            d.dispatch(Action::Node(s.value()));
        })
    };
    let diff = state.diff();
    html! {
        <div class="sr-rules" data-testid="rules">
            if !props.compact {
                <h2 class="sr-h">{ t.rules }</h2>
            }
            <label class="sr-field">
                <span>{ t.node }</span>
                <select data-testid="node" onchange={on_node}>
                    { for model.plans.iter().map(|p| html! {
                        <option value={p.node.clone()} selected={p.node == plan.node}>{ p.node.clone() }</option>
                    }) }
                </select>
            </label>
            <div class="sr-side" style="display:grid;grid-template-columns:repeat(auto-fit,minmax(min(320px,100%),1fr));gap:10px">
                <div style="min-width:0">
                    <h3 class="sr-h3"><code>{ format!("ipvsadm -Ln   # {}", plan.node) }</code></h3>
                    <pre class="sr-pre" data-testid="ipvsadm">{ counters_table(state, plan) }</pre>
                    <p class="sr-muted sr-note">{ t.counters_note }</p>
                </div>
                <div style="min-width:0">
                    <h3 class="sr-h3"><code>{ format!("nft list table ip svcroute   # {}", plan.node) }</code></h3>
                    <pre class="sr-pre" data-testid="nft-ipvs" style="max-height:420px;overflow:auto">{ agent_table(&model.cluster, plan) }</pre>
                    <p class="sr-muted sr-note">{ state.lang.modes().nft_ipvs_note }</p>
                </div>
            </div>
            <h3 class="sr-h3"><code>{ format!("ipvsadm -Lnc   # {} · {}", t.conn_table, clock_text(state.clock_ms)) }</code></h3>
            <pre class="sr-pre" data-testid="ipvsadm-lnc">{ conn_table(state, &plan.node) }</pre>
            <h3 class="sr-h3">{ t.addresses }</h3>
            <pre class="sr-pre" data-testid="addresses">{
                if plan.interface_addresses.is_empty() { "—".to_owned() }
                else { plan.interface_addresses.iter().map(|a| a.to_string()).collect::<Vec<_>>().join("\n") }
            }</pre>
            <h3 class="sr-h3">{ t.diff }</h3>
            <div data-testid="diff">
                { match diff {
                    None => html! {},
                    Some((ops, first)) => html! {
                        <>
                            if first { <p class="sr-muted">{ t.diff_first }</p> }
                            if ops.is_empty() {
                                <p class="sr-muted" data-testid="no-change">{ t.no_change }</p>
                            } else {
                                <pre class="sr-pre sr-diff">{ for ops.iter().take(if *all_ops { usize::MAX } else { LIST_ROWS }).map(|op| {
                                    let (sign, text) = describe(op);
                                    let class = match sign { '+' => "sr-add", '-' => "sr-del", _ => "sr-mod" };
                                    html! { <div class={class} data-testid="op">{ format!("{sign} {text}") }</div> }
                                }) }</pre>
                                { more_rows(state.lang, ops.len(), &all_ops, "diff-all") }
                            }
                        </>
                    },
                } }
            </div>
            <h3 class="sr-h3">{ t.dns }</h3>
            <div class="sr-scroll">
                <table class="sr-table" data-testid="dns">
                    <tbody>
                        { for plan.dns.iter().take(if *all_dns { usize::MAX } else { LIST_ROWS }).map(|r| html! {
                            <tr><td class="sr-mono">{ r.name.clone() }</td><td>{ format!("{:?}", r.kind) }</td><td class="sr-mono">{ r.value.clone() }</td></tr>
                        }) }
                    </tbody>
                </table>
            </div>
            { more_rows(state.lang, plan.dns.len(), &all_dns, "dns-all") }
            <details class="sr-more" data-testid="kubectl" open={!props.compact}>
                <summary>{ t.kubectl_views }</summary>
                { for kubectl_views(&model.cluster, state.service_view().map(|s| s.id.as_str())).into_iter().map(|(cmd, text)| html! {
                    <>
                        <h3 class="sr-h3"><code>{ format!("$ {cmd}") }</code></h3>
                        <pre class="sr-pre" data-testid="kubectl-view" data-cmd={cmd.clone()}>{ text }</pre>
                    </>
                }) }
            </details>
            if !plan.warnings.is_empty() {
                <h3 class="sr-h3">{ t.warnings }</h3>
                <ul class="sr-diags" data-testid="warnings">
                    { for plan.diagnostics.iter().map(|w| html! { <li class="sr-diag warning" title={(state.lang != Lang::En).then(|| format!("warning: {w}"))}>{ crate::messages::diagnostic(w, state.lang) }</li> }) }
                </ul>
            }
        </div>
    }
}

/// Under a list cut to [`LIST_ROWS`]: how many are shown and a button that draws them all.
fn more_rows(lang: Lang, total: usize, all: &UseStateHandle<bool>, testid: &'static str) -> Html {
    if **all || total <= LIST_ROWS {
        return html! {};
    }
    let onclick = {
        let all = all.clone();
        Callback::from(move |_| all.set(true))
    };
    html! {
        <p class="sr-muted sr-note">
            { lang.shown_of(LIST_ROWS, total) }{ " " }
            <button type="button" class="sr-small" data-testid={testid} {onclick}>{ lang.t().show_all }</button>
        </p>
    }
}

/// A real server of a virtual server: its key, address and port.
type CounterKey = (VsKey, IpAddr, u16);

/// `ipvsadm -Ln` of the node with the simulator's ActiveConn / InActConn at the clock.
fn counters_table(state: &crate::state::State, plan: &svcroute_core::plan::Plan) -> String {
    let mut sim = state.sim.clone();
    let now = state.clock_ms;
    // The table as kube-proxy keeps it: real servers it is draining stay, at weight 0.
    let plan = &sim.kernel_plan(plan, now);
    // A sorted list, not a map (one map type less in the wasm build); of equal keys the last
    // counts, as a map's insert would keep it.
    let mut counts: Vec<(CounterKey, (u32, u32))> = Vec::new();
    for vs in &plan.virtual_servers {
        for d in sim.counters(&plan.node, &vs.key(), now) {
            counts.push((
                (vs.key(), d.address, d.port),
                (d.counts.active, d.counts.inactive),
            ));
        }
    }
    svcroute_core::sort::sort_by(&mut counts, |a, b| a.0.cmp(&b.0));
    render::ipvsadm::ipvsadm_table_with(plan, &|vs, rs| {
        let key = (vs.key(), rs.address, rs.port);
        let end = counts.partition_point(|(k, _)| *k <= key);
        match end.checked_sub(1).and_then(|i| counts.get(i)) {
            Some((k, c)) if *k == key => *c,
            _ => (0, 0),
        }
    })
}

/// The agent's netfilter half beside IPVS: its nftables table for the node with kube-proxy's
/// default flags (the core's `plan -o nftables-ipvs`).
fn agent_table(cluster: &Cluster, plan: &svcroute_core::plan::Plan) -> String {
    use svcroute_core::netfilter;
    netfilter::render::script(&netfilter::plan(
        cluster,
        plan,
        &netfilter::Options::default(),
    ))
}

/// `ipvsadm -Lnc` of the node: its connections and persistence templates, counting down.
fn conn_table(state: &crate::state::State, node: &str) -> String {
    let mut sim = state.sim.clone();
    let entries = sim.node_connections(node, state.clock_ms);
    render::ipvsadm::ipvsadm_connections(&entries)
}

/// The kubectl views of the chosen Service's namespace (the core renders them).
fn kubectl_views(cluster: &Cluster, service: Option<&str>) -> Vec<(String, String)> {
    use svcroute_core::render::kubectl;
    let Some((ns, name)) = service.and_then(|s| s.split_once('/')) else {
        return Vec::new();
    };
    let mut out = vec![(
        format!("kubectl get svc -n {ns}"),
        kubectl::get_services(cluster, ns),
    )];
    if let Some(d) = kubectl::describe_service(cluster, ns, name) {
        out.push((format!("kubectl describe svc {name} -n {ns}"), d));
    }
    out.push((
        format!("kubectl get endpoints -n {ns}"),
        kubectl::get_endpoints(cluster, ns),
    ));
    out.push((
        format!("kubectl get endpointslices -n {ns}"),
        kubectl::get_endpoint_slices(cluster, ns),
    ));
    out.push((
        format!("kubectl get pods -n {ns} -o wide"),
        kubectl::get_pods_wide(cluster, ns),
    ));
    out
}

fn flag(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "-t",
        Protocol::Udp => "-u",
        Protocol::Sctp => "--sctp-service",
    }
}

fn vs(k: &VsKeyJson) -> String {
    format!("{} {}:{}", flag(k.protocol), fmt_addr(&k.address), k.port)
}

fn host(a: &IpAddr) -> String {
    match a {
        IpAddr::V4(_) => format!("{a}/32"),
        IpAddr::V6(_) => format!("{a}/128"),
    }
}

/// One operation as the command an operator would type, with `+`, `-` or `~`.
fn describe(op: &Op) -> (char, String) {
    let sched = |c: &svcroute_core::diff::VsConfig| {
        let mut s = format!("-s {}", c.scheduler);
        if let Some(p) = c.persistence_timeout_seconds {
            s.push_str(&format!(" -p {p}"));
        }
        if let Some(f) = c.scheduler.kube_proxy_flag() {
            s.push_str(&format!(" -b {f}"));
        }
        s
    };
    match op {
        Op::AddAddress { address } => {
            ('+', format!("ip addr add {} dev kube-ipvs0", host(address)))
        }
        Op::DeleteAddress { address } => {
            ('-', format!("ip addr del {} dev kube-ipvs0", host(address)))
        }
        Op::AddVirtualServer { key, config } => {
            ('+', format!("ipvsadm -A {} {}", vs(key), sched(config)))
        }
        Op::UpdateVirtualServer { key, config } => {
            ('~', format!("ipvsadm -E {} {}", vs(key), sched(config)))
        }
        Op::DeleteVirtualServer { key } => ('-', format!("ipvsadm -D {}", vs(key))),
        Op::AddRealServer {
            key,
            real_server,
            weight,
        } => (
            '+',
            format!(
                "ipvsadm -a {} -r {}:{} -m -w {weight}",
                vs(key),
                fmt_addr(&real_server.address),
                real_server.port
            ),
        ),
        Op::UpdateRealServer {
            key,
            real_server,
            weight,
        } => (
            '~',
            format!(
                "ipvsadm -e {} -r {}:{} -m -w {weight}",
                vs(key),
                fmt_addr(&real_server.address),
                real_server.port
            ),
        ),
        Op::DeleteRealServer { key, real_server } => (
            '-',
            format!(
                "ipvsadm -d {} -r {}:{}",
                vs(key),
                fmt_addr(&real_server.address),
                real_server.port
            ),
        ),
    }
}
