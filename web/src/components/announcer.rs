//! What a screen reader hears and reads besides the drawing: each connection's result in a
//! polite live region, and the picture as text (entry points, nodes and their Pods).

use yew::prelude::*;

use super::PanelProps;
use crate::i18n::Lang;
use crate::model::EntryKind;

/// The last send's connections, one sentence each, in an `aria-live` region (read out when
/// they change), and the picture as text for those who cannot see it.
#[function_component(Announcer)]
pub fn announcer(props: &PanelProps) -> Html {
    let state = &props.state;
    let zh = state.lang == Lang::Zh;
    let last = state.log.last().map(|s| s.burst);
    let lines: Vec<String> = state
        .log
        .iter()
        .filter(|s| Some(s.burst) == last)
        .map(|s| {
            let c = &s.conn;
            let dest = match (&c.pod, &c.backend) {
                _ if c.refused => (if zh { "被拒绝" } else { "refused" }).to_owned(),
                (Some(p), Some(b)) => format!("{p} ({b})"),
                (Some(p), None) => p.clone(),
                (None, Some(b)) => b.clone(),
                (None, None) => "-".into(),
            };
            if zh {
                format!(
                    "连接 {}：{} → {}：{}。{}",
                    s.seq,
                    c.from,
                    c.to,
                    dest,
                    crate::messages::reason(c, Lang::Zh)
                )
            } else {
                format!(
                    "Connection {}: {} to {}: {}. {}",
                    s.seq, c.from, c.to, dest, c.reason
                )
            }
        })
        .collect();
    html! {
        <>
            <div class="sr-visually-hidden" role="status" aria-live="polite" aria-atomic="true" data-testid="announce">
                { for lines.iter().map(|l| html! { <p>{ l.clone() }</p> }) }
            </div>
            <PictureText state={state.clone()} />
        </>
    }
}

/// The picture as text: the chosen Service's entry points, then every node with its Pods.
#[function_component(PictureText)]
fn picture_text(props: &PanelProps) -> Html {
    let state = &props.state;
    let zh = state.lang == Lang::Zh;
    let Some(model) = state.model.as_deref() else {
        return html! {};
    };
    let svc = state.service_view();
    let entries: Vec<String> = svc
        .map(|s| {
            s.entries
                .iter()
                .map(|e| {
                    let kind = match e.kind {
                        EntryKind::Vs(k) => format!("{k:?}"),
                        EntryKind::Dns => "DNS".into(),
                    };
                    match &e.node {
                        Some(n) => format!("{} ({kind}, {n})", e.target),
                        None => format!("{} ({kind})", e.target),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let heading = if zh {
        "示意图（文字版）"
    } else {
        "The picture, as text"
    };
    let entry_word = if zh { "入口" } else { "Entry points" };
    html! {
        <section class="sr-visually-hidden" data-testid="picture-text" aria-label={heading}>
            <h3>{ heading }</h3>
            <p>{ format!("{} {}: {}", svc.map_or("", |s| s.id.as_str()), entry_word,
                if entries.is_empty() { "-".to_owned() } else { entries.join("; ") }) }</p>
            <ul>
                { for model.plans.iter().map(|p| {
                    let pods: Vec<String> = model.pods_on(&p.node).map(|pod| {
                        let ip = pod.ips.first().map(ToString::to_string).unwrap_or_default();
                        let ready = if pod.meta.deleting {
                            if zh { "终止中" } else { "terminating" }
                        } else if pod.ready {
                            if zh { "就绪" } else { "ready" }
                        } else if zh { "未就绪" } else { "not ready" };
                        format!("{} {ip} ({ready})", pod.meta.id)
                    }).collect();
                    let (node_word, none) = if zh { ("节点", "没有 Pod") } else { ("Node", "no Pods") };
                    html! {
                        <li>{ format!("{node_word} {}: {}", p.node, if pods.is_empty() { none.to_owned() } else { pods.join(", ") }) }</li>
                    }
                }) }
            </ul>
        </section>
    }
}
