//! `view: "modes"`: one node's rules in the three kernel proxy modes side by side, each the
//! core's rendering of the same state (`ipvsadm -Ln`, `iptables-save`, `nft list ruleset`).
//! The animated proxy-modes picture is not built yet; this is what exists.

use svcroute_core::render;
use yew::prelude::*;

use super::PanelProps;

/// The three renderings for the chosen node.
#[function_component(Modes)]
pub fn modes(props: &PanelProps) -> Html {
    let state = &props.state;
    let Some(model) = state.model.as_deref() else {
        return html! {};
    };
    let node = state.node_name();
    let Some(plan) = model.plan_of(node.as_deref()) else {
        return html! {};
    };
    let panes = [
        ("ipvs", "ipvsadm -Ln", render::ipvsadm_table(plan)),
        (
            "iptables",
            "iptables-save",
            render::iptables::iptables_save(&model.cluster, &plan.node),
        ),
        (
            "nftables",
            "nft list ruleset",
            render::nftables::ruleset(&model.cluster, &plan.node),
        ),
    ];
    html! {
        <div class="sr-modes" data-testid="modes">
            { for panes.into_iter().map(|(mode, cmd, text)| html! {
                <section class="sr-mode" data-testid={format!("mode-{mode}")} aria-label={format!("{mode}: {cmd}")}>
                    <h3 class="sr-h3">{ format!("{mode} · {cmd} · {}", plan.node) }</h3>
                    <pre class="sr-pre" tabindex="0">{ text }</pre>
                </section>
            }) }
        </div>
    }
}
