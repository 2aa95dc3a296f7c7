//! The live picture (SVG): clients on top, the Service's entry points (ClusterIP,
//! LoadBalancer IP, externalIPs; NodePorts inside each node), the Pods grouped by node with
//! their state at a glance, and the last send animated from client through the virtual
//! server to the chosen Pod. Headless and ExternalName Services are drawn as what they are: a
//! DNS answer, no virtual IP.
//!
//! Positions are the only thing computed here; which Pods are real servers, where each
//! connection went and why all come from the core (the plans and the connections).

use std::collections::BTreeMap;

use svcroute_core::model::ServiceType;
use svcroute_core::plan::VsKind;
use yew::prelude::*;

use super::PanelProps;
use crate::model::{Entry, EntryKind, Model, PodState, ServiceView};
use crate::state::{Sent, State};

/// The drawing's width in a wide container, and in a narrow one (phones: nodes stacked).
const WIDE: f64 = 440.0;
const NARROW: f64 = 300.0;
/// Below this container width (CSS px) the narrow layout is used.
const NARROW_BELOW: i32 = 540;
const CLIENT_Y: f64 = 8.0;
const CLIENT_H: f64 = 30.0;
const POD_H: f64 = 40.0;
const POD_GAP: f64 = 6.0;
/// Colours of the three clients' connections.
const CLIENT_COLOURS: [&str; 3] = ["#1f6feb", "#8250df", "#0f8a7e"];

#[derive(Clone, Copy, Debug)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn cx(&self) -> f64 {
        self.x + self.w / 2.0
    }
    fn cy(&self) -> f64 {
        self.y + self.h / 2.0
    }
    fn top(&self) -> (f64, f64) {
        (self.cx(), self.y)
    }
    fn bottom(&self) -> (f64, f64) {
        (self.cx(), self.y + self.h)
    }
}

fn f(x: f64) -> String {
    format!("{x:.1}")
}

/// Shortens a long name in the middle: `pc-deployment-…-x2k9q`.
fn short(name: &str, max: usize) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() <= max {
        return name.into();
    }
    let tail = max / 2;
    let head = max - tail - 1;
    let mut s: String = chars[..head].iter().collect();
    s.push('…');
    s.extend(&chars[chars.len() - tail..]);
    s
}

/// The cluster, drawn.
#[function_component(Picture)]
pub fn picture(props: &PanelProps) -> Html {
    let state: &State = &props.state;
    let t = state.lang.t();
    let container = use_node_ref();
    let narrow_state = use_state_eq(|| {
        web_sys::window()
            .and_then(|w| w.inner_width().ok())
            .and_then(|v| v.as_f64())
            .is_some_and(|w| w < f64::from(NARROW_BELOW) + 60.0)
    });
    {
        let container = container.clone();
        let narrow_state = narrow_state.clone();
        use_effect_with((), move |_| {
            let measure = move || {
                if let Some(el) = container.cast::<web_sys::Element>() {
                    narrow_state.set(el.client_width() < NARROW_BELOW);
                }
            };
            measure();
            let listener =
                gloo::events::EventListener::new(&gloo::utils::window(), "resize", move |_| {
                    measure()
                });
            move || drop(listener)
        });
    }
    let narrow = *narrow_state;
    let Some(model) = state.model.clone() else {
        return html! { <div class="sr-picture sr-empty" data-testid="picture">{ t.broken }</div> };
    };
    let svc = state.service_view().cloned();
    let entry = state.entry().cloned();
    let node_sel = state.node_name();
    let stale = !state.errors.is_empty() && state.errors.iter().any(|d| d.is_error());
    #[allow(non_snake_case)]
    let W = if narrow { NARROW } else { WIDE };

    let mut items: Vec<Html> = Vec::new();
    let mut overlay: Vec<Html> = Vec::new();

    // Clients.
    let mut clients: BTreeMap<String, Rect> = BTreeMap::new();
    for (i, client) in state.clients.iter().enumerate() {
        let c = client.address;
        let n = state.clients.len() as f64;
        let cx = W * (2.0 * i as f64 + 1.0) / (2.0 * n);
        let cw = (W / n - 8.0).min(96.0);
        let r = Rect {
            x: cx - cw / 2.0,
            y: CLIENT_Y,
            w: cw,
            h: CLIENT_H,
        };
        clients.insert(c.to_string(), r);
        let chosen = state.client == i || state.client >= state.clients.len();
        let who = match &client.name {
            Some(name) if *name != c.to_string() => name.clone(),
            _ => t.client.to_owned(),
        };
        items.push(html! {
            <g class={classes!("sr-client", chosen.then_some("sr-chosen"))} data-testid="client-box">
                <rect x={f(r.x)} y={f(r.y)} width={f(r.w)} height={f(r.h)} rx="6" style={format!("stroke:{}", CLIENT_COLOURS[i % CLIENT_COLOURS.len()])} />
                <text x={f(r.cx())} y={f(r.y + 12.0)} class="sr-t-small">{ who }</text>
                <text x={f(r.cx())} y={f(r.y + 24.0)} class="sr-t-mono">{ c.to_string() }</text>
            </g>
        });
    }

    let mut y = CLIENT_Y + CLIENT_H + 30.0;
    let mut entry_boxes: BTreeMap<String, Rect> = BTreeMap::new();
    let mut dns_box: Option<Rect> = None;
    let mut external_box: Option<Rect> = None;

    match &svc {
        None => {
            items.push(html! { <text x={f(W / 2.0)} y={f(y + 14.0)} class="sr-t-note">{ t.no_services }</text> });
            y += 30.0;
        }
        Some(s) if s.headless || s.kind == ServiceType::ExternalName => {
            let (r, html) = draw_dns(s, y, W, narrow, t);
            items.push(html);
            dns_box = Some(r);
            if let Some(name) = &s.external_name {
                let ext = if narrow {
                    Rect {
                        x: r.x + 30.0,
                        y: r.y + r.h + 22.0,
                        w: r.w - 60.0,
                        h: 40.0,
                    }
                } else {
                    Rect {
                        x: r.x + r.w + 14.0,
                        y: r.y,
                        w: W - (r.x + r.w + 14.0) - 6.0,
                        h: r.h,
                    }
                };
                let (x1, y1, x2, y2) = if narrow {
                    (r.cx(), r.y + r.h, ext.cx(), ext.y)
                } else {
                    (r.x + r.w, r.cy(), ext.x, ext.cy())
                };
                items.push(html! {
                    <g class="sr-external" data-testid="external">
                        <line x1={f(x1)} y1={f(y1)} x2={f(x2)} y2={f(y2)} class="sr-link" marker-end="url(#sr-arrow)" />
                        <rect x={f(ext.x)} y={f(ext.y)} width={f(ext.w)} height={f(ext.h)} rx="14" />
                        <text x={f(ext.cx())} y={f(ext.y + 18.0)} class="sr-t-mono sr-t-bold">{ name.clone() }</text>
                        <text x={f(ext.cx())} y={f(ext.y + 32.0)} class="sr-t-small">{ t.outside }</text>
                    </g>
                });
                external_box = Some(ext);
            }
            y = external_box
                .filter(|_| narrow)
                .map_or(r.y + r.h, |e| e.y + e.h)
                + 30.0;
        }
        Some(s) => {
            let tops: Vec<&Entry> = s
                .entries
                .iter()
                .filter(|e| matches!(e.kind, EntryKind::Vs(k) if k != VsKind::NodePort))
                .collect();
            let k = tops.len().max(1) as f64;
            let w = ((W - 12.0) / k - 8.0).min(200.0);
            let total = k * w + (k - 1.0) * 8.0;
            for (i, e) in tops.iter().enumerate() {
                let r = Rect {
                    x: (W - total) / 2.0 + i as f64 * (w + 8.0),
                    y,
                    w,
                    h: 40.0,
                };
                let label = match e.kind {
                    EntryKind::Vs(VsKind::ClusterIP) => "ClusterIP",
                    EntryKind::Vs(VsKind::LoadBalancer) => "LoadBalancer",
                    EntryKind::Vs(VsKind::ExternalIP) => "externalIP",
                    _ => "",
                };
                let chosen = entry.as_ref().is_some_and(|c| c.target == e.target);
                items.push(html! {
                    <g class={classes!("sr-entry", chosen.then_some("sr-chosen"))} data-testid="entry" data-target={e.target.clone()}>
                        <rect x={f(r.x)} y={f(r.y)} width={f(r.w)} height={f(r.h)} rx="4" />
                        <text x={f(r.cx())} y={f(r.y + 14.0)} class="sr-t-small">{ label }</text>
                        <text x={f(r.cx())} y={f(r.y + 31.0)} class="sr-t-mono sr-t-bold">{ e.target.clone() }</text>
                    </g>
                });
                entry_boxes.insert(e.target.clone(), r);
            }
            y += 40.0 + 30.0;
        }
    }

    // Nodes and their Pods.
    let nodes = &model.cluster.nodes;
    let cols = if narrow { 1 } else { nodes.len().clamp(1, 3) };
    let gap = 8.0;
    let nw = (W - 8.0 - (cols as f64 - 1.0) * gap) / cols as f64;
    let mut pod_boxes: BTreeMap<String, Rect> = BTreeMap::new();
    let mut row_h: f64 = 0.0;
    for (i, n) in nodes.iter().enumerate() {
        let col = i % cols;
        if col == 0 && i > 0 {
            y += row_h + gap;
            row_h = 0.0;
        }
        let name = n.meta.id.name.clone();
        let x = 4.0 + col as f64 * (nw + gap);
        let addr = n
            .addresses
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        let node_ports: Vec<&Entry> = svc
            .as_ref()
            .map(|s| {
                s.entries
                    .iter()
                    .filter(|e| e.node.as_deref() == Some(name.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        let head = 34.0 + node_ports.len() as f64 * 26.0;
        let pods: Vec<_> = model.pods_on(&name).collect();
        let h = head + (pods.len().max(1) as f64) * (POD_H + POD_GAP) + 4.0;
        let chosen_node = node_sel.as_deref() == Some(name.as_str());
        let mut inner: Vec<Html> = Vec::new();
        for (j, e) in node_ports.iter().enumerate() {
            let r = Rect {
                x: x + 6.0,
                y: y + 30.0 + j as f64 * 26.0,
                w: nw - 12.0,
                h: 22.0,
            };
            let chosen = entry.as_ref().is_some_and(|c| c.target == e.target);
            inner.push(html! {
                <g class={classes!("sr-entry", "sr-nodeport", chosen.then_some("sr-chosen"))} data-testid="entry" data-target={e.target.clone()}>
                    <rect x={f(r.x)} y={f(r.y)} width={f(r.w)} height={f(r.h)} rx="4" />
                    <text x={f(r.cx())} y={f(r.y + 15.0)} class="sr-t-mono">{ format!("NodePort {}", e.target) }</text>
                </g>
            });
            entry_boxes.insert(e.target.clone(), r);
        }
        if pods.is_empty() {
            inner.push(html! { <text x={f(x + nw / 2.0)} y={f(y + head + 24.0)} class="sr-t-small">{ t.no_pods }</text> });
        }
        for (j, p) in pods.iter().enumerate() {
            let id = p.meta.id.to_string();
            let r = Rect {
                x: x + 6.0,
                y: y + head + j as f64 * (POD_H + POD_GAP),
                w: nw - 12.0,
                h: POD_H,
            };
            pod_boxes.insert(id.clone(), r);
            // Room for the name left of the count badge (bold 10 px: about 6.2 px a character).
            let name_max = (((r.w - 36.0) / 6.2) as usize).max(8);
            let svc_id = svc.as_ref().map(|s| s.id.clone()).unwrap_or_default();
            let as_endpoint = model.endpoint_state(&svc_id, &id);
            let pod_state = as_endpoint.unwrap_or_else(|| PodState::of(p));
            let in_rules = model.in_rules(node_sel.as_deref(), &svc_id, &id);
            let hits = state.hits(&id);
            let state_word = match pod_state {
                PodState::Ready => t.ready,
                PodState::NotReady => t.not_ready,
                PodState::Terminating => t.terminating,
            };
            let mark = match pod_state {
                PodState::Ready => "✓",
                PodState::NotReady => "✗",
                PodState::Terminating => "⌛",
            };
            let ip = p
                .ips
                .first()
                .map(ToString::to_string)
                .unwrap_or_else(|| "-".into());
            let title = format!(
                "{id} · {ip} · {state_word} · {}",
                if in_rules { t.in_rules } else { t.not_in_rules }
            );
            inner.push(html! {
                <g class={classes!("sr-pod", pod_state.class(), if in_rules { "sr-in" } else { "sr-out" }, as_endpoint.is_none().then_some("sr-unselected"))}
                    data-testid="pod" data-pod={id.clone()} data-state={pod_state.class()}
                    data-in-rules={in_rules.to_string()} data-hits={hits.to_string()}>
                    <title>{ title }</title>
                    <rect x={f(r.x)} y={f(r.y)} width={f(r.w)} height={f(r.h)} rx="5" />
                    <text x={f(r.x + 7.0)} y={f(r.y + 15.0)} class="sr-t-left sr-t-bold">{ short(&p.meta.id.name, name_max) }</text>
                    <text x={f(r.x + 7.0)} y={f(r.y + 31.0)} class="sr-t-left sr-t-mono">{ format!("{mark} {ip} · {state_word}") }</text>
                    if hits > 0 {
                        <g class="sr-hits">
                            <circle cx={f(r.x + r.w - 14.0)} cy={f(r.y + 13.0)} r="10" />
                            <text x={f(r.x + r.w - 14.0)} y={f(r.y + 17.0)} class="sr-t-bold">{ hits }</text>
                        </g>
                    }
                </g>
            });
        }
        items.push(html! {
            <g class={classes!("sr-node", chosen_node.then_some("sr-chosen"))} data-testid="node" data-node={name.clone()}>
                <rect x={f(x)} y={f(y)} width={f(nw)} height={f(h)} rx="8" />
                <text x={f(x + 8.0)} y={f(y + 14.0)} class="sr-t-left sr-t-bold">{ name.clone() }</text>
                <text x={f(x + 8.0)} y={f(y + 26.0)} class="sr-t-left sr-t-mono">{ addr }</text>
                { for inner }
            </g>
        });
        row_h = row_h.max(h);
    }
    let height = y + row_h + 8.0;

    // The chosen target's real servers (or, for DNS, its addresses), as thin links.
    if let (Some(s), Some(e)) = (&svc, &entry) {
        links(
            &model,
            s,
            e,
            node_sel.as_deref(),
            &entry_boxes,
            dns_box,
            &pod_boxes,
            &mut overlay,
        );
    }

    // The last send, animated: client → virtual server (or DNS) → Pod (or the outside name).
    let last: Vec<&Sent> = state
        .log
        .iter()
        .filter(|s| s.burst == state.bursts)
        .collect();
    for (i, sent) in last.iter().enumerate() {
        let c = &sent.conn;
        let Some(from) = clients.get(&c.from) else {
            continue;
        };
        let colour = CLIENT_COLOURS[state
            .clients
            .iter()
            .position(|x| x.address.to_string() == c.from)
            .unwrap_or(0)
            % CLIENT_COLOURS.len()];
        let mid = c
            .virtual_server
            .as_ref()
            .and_then(|v| entry_boxes.get(v))
            .copied()
            .or(dns_box);
        let Some(mid) = mid else { continue };
        let through = c.virtual_server.is_some() || c.cname.is_some();
        let mut points = vec![from.bottom(), mid.top()];
        if through {
            points.push((mid.cx(), mid.cy()));
        }
        let end = c.pod.as_ref().and_then(|p| pod_boxes.get(p)).copied();
        if let (Some(ext), Some(_)) = (external_box, &c.cname) {
            // The alias leads out of the cluster: to the near edge of the outside name.
            points.push(if narrow {
                (ext.cx(), ext.y + 8.0)
            } else {
                (ext.x + 10.0, ext.cy())
            });
        } else if let Some(end) = end {
            // Land right of the address line, clear of the names, spread a little.
            let dx = (i % 3) as f64 * 7.0;
            points.push((end.x + end.w - 18.0 - dx, end.y + end.h - 9.0));
        }
        let d: String = points
            .iter()
            .enumerate()
            .map(|(k, (x, y))| format!("{}{} {}", if k == 0 { "M" } else { " L" }, f(*x), f(*y)))
            .collect();
        let refused = c.backend.is_none() && c.cname.is_none() && c.addresses.is_none();
        let begin = format!("{:.2}s", i as f64 * 0.3);
        overlay.push(html! {
            <g class={classes!("sr-conn", refused.then_some("sr-refused"))} data-testid="conn-path">
                <path d={d.clone()} style={format!("stroke:{colour}")} />
                <circle r="5" class="sr-dot" style={format!("fill:{colour}")} cx="0" cy="0">
                    <animateMotion dur="0.9s" begin={begin} fill="freeze" path={d} />
                </circle>
            </g>
        });
        if refused {
            overlay.push(html! {
                <text x={f(mid.cx())} y={f(mid.y + mid.h + 14.0)} class="sr-t-bold sr-refused-text">{ format!("✗ {}", t.refused) }</text>
            });
        }
    }

    let svc_label = svc
        .as_ref()
        .map(|s| format!("{} ({})", s.id, kind_word(s)))
        .unwrap_or_default();
    html! {
        <div class={classes!("sr-picture", stale.then_some("sr-stale"))} data-testid="picture">
            if !props.compact {
                <h2 class="sr-h">{ t.picture }{ " · " }<span class="sr-mono">{ svc_label.clone() }</span></h2>
            }
            if stale {
                <p class="sr-stale-note" data-testid="stale">{ t.last_good }</p>
            }
            <svg ref={container.clone()} key={format!("burst-{}", state.bursts)} viewBox={format!("0 0 {} {}", W, f(height))}
                role="img" aria-label={format!("{} — {}", t.picture_label, svc_label)} class="sr-svg">
                <defs>
                    <marker id="sr-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
                        <path d="M 0 0 L 10 5 L 0 10 z" class="sr-arrowhead" />
                    </marker>
                </defs>
                { for items }
                { for overlay }
            </svg>
        </div>
    }
}

fn kind_word(s: &ServiceView) -> String {
    if s.headless {
        "ClusterIP: None (headless)".into()
    } else {
        s.kind.as_str().into()
    }
}

/// The DNS box of a headless or ExternalName Service: its name and the core's answers.
#[allow(non_snake_case)]
fn draw_dns(s: &ServiceView, y: f64, W: f64, narrow: bool, t: &crate::i18n::Texts) -> (Rect, Html) {
    use svcroute_core::dns::RecordType;
    let own = s
        .entries
        .iter()
        .find(|e| e.kind == EntryKind::Dns)
        .map(|e| {
            e.target
                .rsplit_once(':')
                .map_or(e.target.clone(), |(h, _)| h.to_owned())
        })
        .unwrap_or_default();
    let answers: Vec<String> = s
        .dns
        .iter()
        .filter(|r| r.name == own && r.kind != RecordType::SRV)
        .map(|r| format!("{:?} {}", r.kind, r.value))
        .collect();
    let shown = answers.len().clamp(1, 5);
    let w = if narrow {
        W - 12.0
    } else if s.external_name.is_some() {
        250.0
    } else {
        300.0
    };
    let x = if s.external_name.is_some() && !narrow {
        6.0
    } else {
        (W - w) / 2.0
    };
    let r = Rect {
        x,
        y,
        w,
        h: 36.0 + shown as f64 * 13.0,
    };
    let html = html! {
        <g class="sr-dns" data-testid="dns-box">
            <rect x={f(r.x)} y={f(r.y)} width={f(r.w)} height={f(r.h)} rx="4" />
            <text x={f(r.cx())} y={f(r.y + 13.0)} class="sr-t-small">{ format!("DNS · {}", t.no_vip) }</text>
            <text x={f(r.cx())} y={f(r.y + 27.0)} class="sr-t-mono sr-t-bold">{ short(&own, 48) }</text>
            { for answers.iter().take(5).enumerate().map(|(i, a)| html! {
                <text x={f(r.cx())} y={f(r.y + 40.0 + i as f64 * 13.0)} class="sr-t-mono" data-testid="dns-answer">{ a.clone() }</text>
            }) }
            if answers.is_empty() {
                <text x={f(r.cx())} y={f(r.y + 40.0)} class="sr-t-small">{ "—" }</text>
            }
        </g>
    };
    (r, html)
}

/// Thin links from the chosen entry to what it leads to: the real servers of its virtual
/// server (on the node that handles it), or the Pods a headless name answers with.
#[allow(clippy::too_many_arguments)]
fn links(
    model: &Model,
    s: &ServiceView,
    e: &Entry,
    node: Option<&str>,
    entry_boxes: &BTreeMap<String, Rect>,
    dns_box: Option<Rect>,
    pod_boxes: &BTreeMap<String, Rect>,
    out: &mut Vec<Html>,
) {
    let mut ends: Vec<Rect> = Vec::new();
    let start = match e.kind {
        EntryKind::Vs(_) => {
            let plan = model.plan_of(e.node.as_deref().or(node));
            if let Some(vs) = plan.and_then(|p| {
                p.virtual_servers.iter().find(|v| {
                    format!("{}:{}", svcroute_core::plan::fmt_addr(&v.address), v.port) == e.target
                })
            }) {
                for rs in &vs.real_servers {
                    if let Some(r) = rs.pod.as_ref().and_then(|p| pod_boxes.get(p)) {
                        ends.push(*r);
                    }
                }
            }
            entry_boxes.get(&e.target).copied()
        }
        EntryKind::Dns => {
            for r in &s.dns {
                if let Ok(ip) = r.value.parse::<std::net::IpAddr>()
                    && let Some(p) = model.cluster.pods.iter().find(|p| p.ips.contains(&ip))
                    && let Some(b) = pod_boxes.get(&p.meta.id.to_string())
                {
                    ends.push(*b);
                }
            }
            ends.dedup_by(|a, b| a.x == b.x && a.y == b.y);
            dns_box
        }
    };
    let Some(start) = start else { return };
    for end in ends {
        let (x1, y1) = start.bottom();
        let (x2, y2) = end.top();
        out.push(html! {
            <line class="sr-link" x1={f(x1)} y1={f(y1)} x2={f(x2)} y2={f(y2)} marker-end="url(#sr-arrow)" />
        });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_shortened_in_the_middle() {
        assert_eq!(super::short("abc", 5), "abc");
        assert_eq!(
            super::short("pc-deployment-7c8d9f-x2k9q", 18),
            "pc-deplo…d9f-x2k9q"
        );
    }
}
