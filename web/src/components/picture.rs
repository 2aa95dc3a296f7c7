//! The live picture (SVG), as the cluster is: outside machines (and, for a LoadBalancer, the
//! load balancer device) above the cluster boundary; inside, the control plane's path once
//! (apiserver → etcd → EndpointSlice → every node's kube-proxy → rules, animated on a change),
//! the cluster DNS for headless and ExternalName Services, and the nodes. Each node holds its
//! kube-proxy with its own IPVS table and the addresses on `kube-ipvs0` (there is no Service
//! box above the nodes: a Service is rules on every node, not a proxy), its client Pod or host
//! process when it has one, and its Pods. The last send is drawn from its client through the
//! kube-proxy of the node whose table chose (the connection's `node`) to the Pod, with the
//! source address the Pod sees where kube-proxy masquerades; a refused connection stops at the
//! cluster boundary or the table, with the core's reason.
//!
//! Positions are the only thing computed here; which Pods are real servers, where each
//! connection went and why all come from the core (the plans and the connections).

use std::collections::BTreeMap;

use std::rc::Rc;

use svcroute_core::model::ServiceType;
use svcroute_core::plan::{VsKind, fmt_addr};
use svcroute_core::render::fixed;
use yew::prelude::*;

use super::PanelProps;
use crate::model::{Client, ClientLocation, Entry, EntryKind, Model, PodState, ServiceView};
use crate::state::{Sent, State};

/// The drawing's width in a wide container, and in a narrow one (phones: nodes stacked).
const WIDE: f64 = 600.0;
const NARROW: f64 = 320.0;
/// Below this container width (CSS px) the narrow layout is used.
const NARROW_BELOW: i32 = 540;
const CLIENT_H: f64 = 28.0;
const POD_H: f64 = 40.0;
const POD_GAP: f64 = 6.0;
/// Colours of the three clients' connections.
const CLIENT_COLOURS: [&str; 4] = ["#1f6feb", "#8250df", "#bc4c00", "#0f8a7e"];

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
    fn bottom(&self) -> (f64, f64) {
        (self.cx(), self.y + self.h)
    }
}

/// Boxes by name: each an index into a list, through the `BTreeMap<String, usize>` the core
/// already has in the wasm build (a map type of its own for `Rect` was about 1 KiB of it).
#[derive(Default)]
struct Boxes {
    at: BTreeMap<String, usize>,
    rects: Vec<Rect>,
}

impl Boxes {
    /// Sets `name`'s box (a later one replaces it, as a map's insert does).
    fn insert(&mut self, name: String, r: Rect) {
        match self.at.get(&name).and_then(|&i| self.rects.get_mut(i)) {
            Some(old) => *old = r,
            None => {
                self.at.insert(name, self.rects.len());
                self.rects.push(r);
            }
        }
    }

    fn get(&self, name: &str) -> Option<&Rect> {
        self.at.get(name).and_then(|&i| self.rects.get(i))
    }
}

/// The key of an entry's box: its Node and target (one string, so the boxes share the other
/// maps' [`Boxes`] code in the wasm build; names have no newline).
fn entry_key(node: &str, target: &str) -> String {
    let mut k = String::with_capacity(node.len() + 1 + target.len());
    k.push_str(node);
    k.push('\n');
    k.push_str(target);
    k
}

fn f(x: f64) -> String {
    fixed(x, 1)
}

/// How many monospace cells a character takes: CJK and full-width ones two (near enough:
/// the fallback CJK font's glyphs are about 1.75 Latin cells), the rest one.
fn cells(c: char) -> f64 {
    if matches!(c as u32, 0x1100..=0x115f | 0x2e80..=0xa4cf | 0xac00..=0xd7a3 | 0xf900..=0xfaff | 0xfe30..=0xfe4f | 0xff00..=0xff60 | 0xffe0..=0xffe6)
    {
        1.75
    } else {
        1.0
    }
}

/// Shortens a long text in the middle to at most `max` cells: `pc-deployment-…-x2k9q`.
fn short(name: &str, max: usize) -> String {
    let max = max as f64;
    let chars: Vec<char> = name.chars().collect();
    if chars.iter().map(|c| cells(*c)).sum::<f64>() <= max {
        return name.into();
    }
    let budget = max - 1.0;
    let (mut head, mut tail) = (String::new(), Vec::new());
    let (mut used, mut i, mut j) = (0.0, 0, chars.len());
    // Alternately from both ends, the tail (a Pod's unique suffix) first.
    while i < j {
        let take_tail = tail.len() <= head.chars().count();
        let c = if take_tail { chars[j - 1] } else { chars[i] };
        if used + cells(c) > budget {
            break;
        }
        used += cells(c);
        if take_tail {
            tail.push(c);
            j -= 1;
        } else {
            head.push(c);
            i += 1;
        }
    }
    head.push('…');
    head.extend(tail.iter().rev());
    head
}

/// Cells that fit in `width` drawing units of the mono font (9.5 px: 5.75 units a cell).
fn fit(width: f64) -> usize {
    (width / 5.75).max(8.0) as usize
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
    let clients = state.clients();
    let colour_of = |addr: &str| {
        clients
            .iter()
            .position(|c| c.address.to_string() == addr)
            .map_or(CLIENT_COLOURS[0], |i| {
                CLIENT_COLOURS[i % CLIENT_COLOURS.len()]
            })
    };
    let chosen_client = |i: usize| state.client == i || state.client >= clients.len();

    let mut items: Vec<Html> = Vec::new();
    let mut overlay: Vec<Html> = Vec::new();
    let mut client_boxes = Boxes::default();

    // Outside the cluster: its machines, the load balancer device, an ExternalName's host.
    let outside: Vec<(usize, &Client)> = clients
        .iter()
        .enumerate()
        .filter(|(_, c)| c.location == ClientLocation::Outside)
        .collect();
    let is_lb = svc
        .as_ref()
        .is_some_and(|s| s.kind == ServiceType::LoadBalancer);
    let lb_ips: Vec<&Entry> = svc
        .iter()
        .flat_map(|s| s.entries.iter())
        .filter(|e| e.kind == EntryKind::Vs(VsKind::LoadBalancer))
        .collect();
    let band_top = 4.0;
    let mut x = 10.0;
    let row_y = band_top + 18.0;
    for (i, c) in &outside {
        let r = Rect {
            x,
            y: row_y,
            w: 118.0,
            h: CLIENT_H,
        };
        x += r.w + 10.0;
        client_boxes.insert(c.address.to_string(), r);
        items.push(client_box(
            r,
            c,
            colour_of(&c.address.to_string()),
            chosen_client(*i),
            "",
        ));
    }
    let mut lb_box: Option<Rect> = None;
    if is_lb {
        let w = (W - x - 10.0).clamp(120.0, 210.0);
        let r = Rect {
            x: (W - w - 10.0).max(x),
            y: row_y,
            w,
            h: CLIENT_H + 10.0,
        };
        let (line2, pending) = match lb_ips.first() {
            Some(e) => (format!("{} → NodePort", e.target), false),
            None => ("EXTERNAL-IP <pending>".to_owned(), true),
        };
        items.push(html! {
            <g class={classes!("sr-lb", pending.then_some("sr-pending"))} data-testid="lb-device">
                <title>{ if pending { t.lb_pending.to_owned() } else { format!("{} · {}", t.lb_device, t.lb_forwards) } }</title>
                <rect x={f(r.x)} y={f(r.y)} width={f(r.w)} height={f(r.h)} rx="6" />
                <text x={f(r.cx())} y={f(r.y + 14.0)} class="sr-t-small">{ t.lb_device }</text>
                <text x={f(r.cx())} y={f(r.y + 30.0)} class="sr-t-mono sr-t-bold">{ line2 }</text>
            </g>
        });
        lb_box = Some(r);
    }
    let mut external_box: Option<Rect> = None;
    if let Some(name) = svc.as_ref().and_then(|s| s.external_name.clone()) {
        let w = (W - x - 10.0).clamp(120.0, 200.0);
        let r = Rect {
            x: (W - w - 10.0).max(x),
            y: row_y,
            w,
            h: CLIENT_H + 6.0,
        };
        items.push(html! {
            <g class="sr-external" data-testid="external">
                <rect x={f(r.x)} y={f(r.y)} width={f(r.w)} height={f(r.h)} rx="14" />
                <text x={f(r.cx())} y={f(r.y + 15.0)} class="sr-t-mono sr-t-bold">{ name }</text>
                <text x={f(r.cx())} y={f(r.y + 28.0)} class="sr-t-small">{ t.outside }</text>
            </g>
        });
        external_box = Some(r);
    }
    let band_h = row_y + CLIENT_H + 16.0 - band_top;
    items.insert(
        0,
        html! {
            <g class="sr-zone" data-testid="outside-zone">
                <rect x="1" y={f(band_top)} width={f(W - 2.0)} height={f(band_h)} rx="8" class="sr-outside-band" />
                <text x="10" y={f(band_top + 12.0)} class="sr-t-left sr-t-small">{ t.outside_zone }</text>
            </g>
        },
    );

    // The cluster.
    let cluster_top = band_top + band_h + 10.0;
    let mut y = cluster_top + 18.0;

    // Cluster DNS, for headless and ExternalName Services.
    let mut dns_box: Option<Rect> = None;
    match &svc {
        None => {
            items.push(html! { <text x={f(W / 2.0)} y={f(y + 14.0)} class="sr-t-note">{ t.no_services }</text> });
            y += 30.0;
        }
        Some(s) if s.headless || s.kind == ServiceType::ExternalName => {
            let (r, html) = draw_dns(s, y, W, narrow, t);
            items.push(html);
            dns_box = Some(r);
            y = r.y + r.h + 16.0;
        }
        Some(_) => {}
    }

    // Nodes: client, kube-proxy with its table and kube-ipvs0, Pods.
    let nodes = &model.cluster.nodes;
    let cols = if narrow { 1 } else { nodes.len().clamp(1, 3) };
    let gap = 8.0;
    let nw = (W - 20.0 - (cols as f64 - 1.0) * gap) / cols as f64;
    let mut pod_boxes = Boxes::default();
    let mut proxy_boxes = Boxes::default();
    let mut entry_boxes = Boxes::default();
    let mut row_h: f64 = 0.0;
    let svc_id = svc.as_ref().map(|s| s.id.clone()).unwrap_or_default();
    let mut ksim = state.sim.clone();
    let snat_node: Option<String> = state
        .log
        .iter()
        .rev()
        .find(|s| s.burst == state.bursts)
        .filter(|s| s.conn.pod.is_some() && !s.conn.refused)
        .and_then(|s| s.conn.node.clone());
    let mut snat_slot: Option<Rect> = None;
    let kernel = kernel_real_servers(
        &mut ksim,
        state.clock_ms,
        &model,
        &svc_id,
        node_sel.as_deref(),
    );
    for (i, n) in nodes.iter().enumerate() {
        let col = i % cols;
        if col == 0 && i > 0 {
            y += row_h + gap;
            row_h = 0.0;
        }
        let name = n.meta.id.name.clone();
        let x = 10.0 + col as f64 * (nw + gap);
        let addr = n
            .addresses
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        let mut inner: Vec<Html> = Vec::new();
        let mut cy = y + 32.0;
        // Clients on this node: a Pod on it, or the node itself.
        for (ci, c) in clients.iter().enumerate() {
            if c.node.as_deref() != Some(name.as_str()) || c.location == ClientLocation::Outside {
                continue;
            }
            let r = Rect {
                x: x + 6.0,
                y: cy,
                w: nw - 12.0,
                h: 26.0,
            };
            let what = if c.location == ClientLocation::Pod {
                t.client_pod
            } else {
                t.host_process
            };
            client_boxes.insert(c.address.to_string(), r);
            inner.push(client_box(
                r,
                c,
                colour_of(&c.address.to_string()),
                chosen_client(ci),
                what,
            ));
            cy += 30.0;
        }
        // kube-proxy and its IPVS table for the chosen Service.
        let plan = model.plans.iter().find(|p| p.node == name);
        let vss: Vec<&svcroute_core::plan::VirtualServer> = plan
            .map(|p| {
                p.virtual_servers
                    .iter()
                    .filter(|v| v.service == svc_id)
                    .collect()
            })
            .unwrap_or_default();
        let mut vips: Vec<String> = vss
            .iter()
            .filter(|v| v.kind != VsKind::NodePort)
            .map(|v| fmt_addr(&v.address))
            .collect();
        vips.dedup();
        let line_h = 13.0;
        let chars = fit(nw - 12.0 - 10.0);
        // Each entry: `TCP ADDRESS:PORT (name) rr → N`; when that does not fit, the protocol
        // and the port's name go on a line of their own rather than cutting the address.
        let entry_lines: Vec<(String, Option<String>)> = vss
            .iter()
            .map(|v| {
                // As the node's kernel holds it: real servers kube-proxy drains count too.
                let held = ksim
                    .kernel_view(&name, v, state.clock_ms)
                    .real_servers
                    .len();
                let target = format!("{}:{}", fmt_addr(&v.address), v.port);
                let named = if v.port_name.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", v.port_name)
                };
                let full = format!("{} {target}{named} {} → {held}", v.protocol, v.scheduler);
                if full.chars().count() <= chars {
                    (full, None)
                } else {
                    (
                        format!("{target} {} → {held}", v.scheduler),
                        Some(format!("  {}{named}", v.protocol)),
                    )
                }
            })
            .collect();
        let entry_rows: usize = entry_lines
            .iter()
            .map(|(_, second)| 1 + usize::from(second.is_some()))
            .sum();
        let kp_h =
            30.0 + entry_rows.max(1) as f64 * line_h + if vips.is_empty() { 0.0 } else { line_h };
        let kp = Rect {
            x: x + 6.0,
            y: cy,
            w: nw - 12.0,
            h: kp_h,
        };
        proxy_boxes.insert(name.clone(), kp);
        let mut lines: Vec<Html> = Vec::new();
        let mut ly = kp.y + 26.0;
        if !vips.is_empty() {
            lines.push(html! {
                <text x={f(kp.x + 5.0)} y={f(ly)} class="sr-t-left sr-t-mono sr-t-muted" data-testid="kube-ipvs0">
                    { short(&format!("kube-ipvs0: {}", vips.join(", ")), chars) }
                </text>
            });
            ly += line_h;
        }
        if vss.is_empty() {
            lines.push(html! { <text x={f(kp.x + 5.0)} y={f(ly)} class="sr-t-left sr-t-small">{ t.no_vs }</text> });
        }
        for (v, (text, second)) in vss.iter().zip(&entry_lines) {
            let target = format!("{}:{}", fmt_addr(&v.address), v.port);
            let chosen = entry.as_ref().is_some_and(|e| e.target == target);
            let rows = 1.0 + f64::from(u8::from(second.is_some()));
            let r = Rect {
                x: kp.x + 2.0,
                y: ly - 10.0,
                w: kp.w - 4.0,
                h: line_h * rows,
            };
            entry_boxes.insert(entry_key(&name, &target), r);
            lines.push(html! {
                <g class={classes!("sr-vs", chosen.then_some("sr-chosen"))} data-testid="entry" data-target={target.clone()} data-node={name.clone()}>
                    <title>{ format!("{text} · {:?}", v.kind) }</title>
                    <rect x={f(r.x)} y={f(r.y)} width={f(r.w)} height={f(r.h)} rx="2" />
                    <text x={f(kp.x + 5.0)} y={f(ly)} class="sr-t-left sr-t-mono">{ short(text, chars) }</text>
                    if let Some(second) = second {
                        <text x={f(kp.x + 5.0)} y={f(ly + line_h)} class="sr-t-left sr-t-mono">{ short(second, chars) }</text>
                    }
                </g>
            });
            ly += line_h * rows;
        }
        inner.push(html! {
            <g class="sr-proxy" data-testid="kube-proxy" data-node={name.clone()}>
                <rect x={f(kp.x)} y={f(kp.y)} width={f(kp.w)} height={f(kp.h)} rx="5" />
                <text x={f(kp.x + 5.0)} y={f(kp.y + 12.0)} class="sr-t-left sr-t-small sr-t-strong">{ t.ipvs_table }</text>
                { for lines }
            </g>
        });
        cy += kp_h + 8.0;
        // The last connection's "the Pod sees source …" tag gets its own row under the
        // kube-proxy that masquerades it, clear of every Pod's name.
        if snat_node.as_deref() == Some(name.as_str()) {
            snat_slot = Some(Rect {
                x: x + 6.0,
                y: cy - 3.0,
                w: nw - 12.0,
                h: 15.0,
            });
            cy += 16.0;
        }
        // Pods.
        let pods: Vec<_> = model.pods_on(&name).collect();
        if pods.is_empty() {
            inner.push(html! { <text x={f(x + nw / 2.0)} y={f(cy + 16.0)} class="sr-t-small">{ t.no_pods }</text> });
        }
        let mut py = cy;
        for p in &pods {
            let id = p.meta.id.to_string();
            // A draining Pod has a third line: its weight and open connections.
            let draining = kernel.get(&id).is_some_and(|(w, _)| *w == 0);
            let r = Rect {
                x: x + 6.0,
                y: py,
                w: nw - 12.0,
                h: POD_H + if draining { 12.0 } else { 0.0 },
            };
            py += r.h + POD_GAP;
            pod_boxes.insert(id.clone(), r);
            inner.push(pod_box(
                state,
                &model,
                &svc_id,
                node_sel.as_deref(),
                (p, kernel.get(&id).copied()),
                r,
                t,
            ));
        }
        let h = py.max(cy + POD_H + POD_GAP) + 2.0 - y;
        let chosen_node = node_sel.as_deref() == Some(name.as_str());
        items.push(html! {
            <g class={classes!("sr-node", chosen_node.then_some("sr-chosen"))} data-testid="node" data-node={name.clone()}>
                <rect x={f(x)} y={f(y)} width={f(nw)} height={f(h)} rx="8" />
                <text x={f(x + 8.0)} y={f(y + 14.0)} class="sr-t-left sr-t-bold sr-t-mono">{ short(&name, fit(nw - 16.0)) }</text>
                <text x={f(x + 8.0)} y={f(y + 26.0)} class="sr-t-left sr-t-mono">{ addr }</text>
                { for inner }
            </g>
        });
        row_h = row_h.max(h);
    }
    // The control plane, below the nodes: no connection's path crosses it.
    y += row_h + 22.0;
    // The control plane, once: how a change reaches the rules.
    let proxies = format!("kube-proxy ×{}", model.cluster.nodes.len());
    let steps = [
        "kube-apiserver",
        "etcd",
        "EndpointSlice",
        proxies.as_str(),
        t.ipvs_rules,
    ];
    let cp_gap = 12.0;
    // Narrow: three a row, the second row right to left (a snake), so no arrow crosses a box.
    let (cp_cols, cp_w) = if narrow {
        (3usize, (W - 20.0 - 2.0 * cp_gap) / 3.0)
    } else {
        (5usize, (W - 20.0 - 4.0 * cp_gap) / 5.0)
    };
    let changed = state.prev.is_some();
    let mut cp: Vec<Html> = Vec::new();
    let mut prev: Option<Rect> = None;
    for (i, label) in steps.iter().enumerate() {
        let row = i / cp_cols;
        let col = if row % 2 == 0 {
            i % cp_cols
        } else {
            cp_cols - 1 - i % cp_cols
        };
        let r = Rect {
            x: 10.0 + col as f64 * (cp_w + cp_gap),
            y: y + row as f64 * 30.0,
            w: cp_w,
            h: 22.0,
        };
        if let Some(p) = prev {
            let (x1, y1, x2, y2) = if (r.y - p.y).abs() >= 1.0 {
                (p.cx(), p.y + p.h, r.cx(), r.y)
            } else if r.x > p.x {
                (p.x + p.w, p.cy(), r.x, r.cy())
            } else {
                (p.x, p.cy(), r.x + r.w + 2.0, r.cy())
            };
            cp.push(html! { <line x1={f(x1)} y1={f(y1)} x2={f(x2 - 1.0)} y2={f(y2)} class="sr-cp-link" marker-end="url(#sr-arrow)" /> });
        }
        let style = format!("animation-delay:{}s", fixed(i as f64 * 0.25, 2));
        cp.push(html! {
            <g class={classes!("sr-cp-step", changed.then_some("sr-cp-anim"))} style={style}>
                <title>{ if i == 3 { t.every_kube_proxy } else { *label } }</title>
                <rect x={f(r.x)} y={f(r.y)} width={f(r.w)} height={f(r.h)} rx="4" />
                <text x={f(r.cx())} y={f(r.y + 14.5)} class="sr-t-small sr-t-strong">{ *label }</text>
            </g>
        });
        prev = Some(r);
    }
    let cp_h = if narrow { 52.0 } else { 22.0 };
    items.push(html! {
        <g class="sr-control-plane" data-testid="control-plane" key={format!("cp-{:p}", Rc::as_ptr(&model))}>
            <text x={f(W - 10.0)} y={f(y - 4.0)} class="sr-t-small sr-t-right">{ t.control_plane }</text>
            { for cp }
        </g>
    });
    y += cp_h + 8.0;

    let cluster_bottom = y;
    let height = cluster_bottom + 6.0;
    items.insert(
        1,
        html! {
            <g class="sr-zone" data-testid="cluster-boundary">
                <rect x="1" y={f(cluster_top)} width={f(W - 2.0)} height={f(cluster_bottom - cluster_top)} rx="10" class="sr-boundary" />
                <text x="10" y={f(cluster_top + 12.0)} class="sr-t-left sr-t-small sr-t-strong">{ t.cluster }</text>
            </g>
        },
    );

    // The chosen entry's real servers on the chosen node (or the DNS answer's Pods).
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

    // The last send: client → (load balancer) → its node's kube-proxy → Pod.
    let last: Vec<&Sent> = state
        .log
        .iter()
        .filter(|s| s.burst == state.bursts)
        .collect();
    let mut refused_marks: Vec<(String, String)> = Vec::new();
    for (i, sent) in last.iter().enumerate() {
        let c = &sent.conn;
        let Some(from) = client_boxes.get(&c.from).copied() else {
            continue;
        };
        let colour = colour_of(&c.from);
        let start = if from.y < cluster_top {
            from.bottom()
        } else {
            (from.x + from.w - 10.0, from.y + from.h)
        };
        let mut points = vec![start];
        let end = c.pod.as_ref().and_then(|p| pod_boxes.get(p)).copied();
        let dx = (i % 3) as f64 * 6.0;
        let mut refused_at: Option<(f64, f64)> = None;
        let mut snat_at: Option<(f64, f64)> = None;
        // Only an outside client's connection goes through the device: inside, the address
        // is on every node's kube-ipvs0 and the local table answers at once.
        let from_outside = clients
            .iter()
            .any(|k| k.address.to_string() == c.from && k.location == ClientLocation::Outside);
        if c.kind == Some(VsKind::LoadBalancer)
            && from_outside
            && let Some(lb) = lb_box
        {
            points.push((lb.x + 12.0 + dx, lb.y + lb.h / 2.0));
            points.push((lb.x + 12.0 + dx, lb.y + lb.h));
        }
        if let Some(node) = &c.node
            && let Some(kp) = proxy_boxes.get(node)
        {
            let key = entry_key(node, c.virtual_server.as_deref().unwrap_or_default());
            let line = entry_boxes.get(&key).copied().unwrap_or(*kp);
            points.push((kp.x + kp.w - 14.0 - dx, kp.y));
            points.push((kp.x + kp.w - 14.0 - dx, line.cy()));
            match end {
                Some(end) => {
                    let p = (end.x + end.w - 20.0 - dx, end.y + end.h - 8.0);
                    snat_at = Some(((line.cx() + p.0) / 2.0, (line.cy() + p.1) / 2.0));
                    points.push(p);
                }
                None => refused_at = Some((kp.cx(), kp.y + kp.h + 10.0)),
            }
        } else if let Some(d) = dns_box.filter(|_| c.cname.is_some() || c.addresses.is_some()) {
            // Headless and ExternalName: first the DNS question.
            points.push((d.x + 20.0 + dx, d.y));
            points.push((d.x + 20.0 + dx, d.cy()));
            if let (Some(ext), Some(_)) = (external_box, &c.cname) {
                points.push((ext.cx(), ext.y + ext.h));
            }
        } else if c.refused {
            // Stopped at the boundary: outside, a ClusterIP or a cluster name does not exist.
            let p = (start.0, cluster_top);
            points.push(p);
            // The mark beside the client, in the outside band, clear of the cluster's labels.
            refused_at = Some((from.x + from.w + 38.0, from.cy() + 3.0));
        }
        let d = path_of(&points);
        let begin = format!("{}s", fixed(i as f64 * 0.3, 2));
        overlay.push(html! {
            <g class={classes!("sr-conn", c.refused.then_some("sr-refused"))} data-testid="conn-path"
                data-from={c.from.clone()} data-node={c.node.clone().unwrap_or_default()}
                data-pod={c.pod.clone().unwrap_or_default()} data-refused={c.refused.to_string()}>
                <title>{ crate::messages::hover(&crate::messages::reason(c, state.lang), &c.reason) }</title>
                <path d={d.clone()} style={format!("stroke:{colour}")} />
                <circle r="4.5" class="sr-dot" style={format!("fill:{colour}")} cx="0" cy="0">
                    <animateMotion dur="0.9s" begin={begin} fill="freeze" path={d} />
                </circle>
            </g>
        });
        // Headless: the second hop, from the client straight to the Pod it picked.
        if let Some(addrs) = &c.addresses
            && let Some(first) = addrs.first()
            && let Some(pod) = model
                .cluster
                .pods
                .iter()
                .find(|p| p.ips.iter().any(|a| &a.to_string() == first))
            && let Some(end) = pod_boxes.get(&pod.meta.id.to_string())
        {
            let d2 = path_of(&[start, (end.x + end.w - 20.0 - dx, end.y + end.h - 8.0)]);
            overlay.push(html! {
                <g class="sr-conn sr-hop2" data-testid="conn-hop2">
                    <title>{ format!("{} {first}", t.client_picks) }</title>
                    <path d={d2} style={format!("stroke:{colour}")} />
                </g>
            });
        }
        // One mark per place: several refused connections from one client share it.
        if let Some((x, y)) = refused_at
            && !refused_marks.contains(&(f(x), f(y)))
        {
            refused_marks.push((f(x), f(y)));
            overlay.push(html! {
                <g data-testid="refused-mark">
                    <title>{ crate::messages::hover(&crate::messages::reason(c, state.lang), &c.reason) }</title>
                    { cross(x - 30.0, y - 4.0) }
                    <text x={f(x - 22.0)} y={f(y)} class="sr-t-left sr-t-bold sr-refused-text">{ t.refused }</text>
                </g>
            });
        }
        if i == last.len() - 1
            && let Some((x, y)) = snat_at
        {
            let label = match &c.snat {
                Some(a) => format!("{} {a}", t.sees_source),
                None => format!("{} {}", t.sees_source, c.from),
            };
            let w = label.chars().map(cells).sum::<f64>() * 5.8 + 10.0;
            let (x, y) = match snat_slot {
                // Left of the paths, which run down the node's right side.
                Some(slot) => (
                    (slot.x + slot.w - 34.0 - w / 2.0).max(slot.x + w / 2.0),
                    slot.y + 10.0,
                ),
                None => (x, y),
            };
            let x = x.clamp(w / 2.0 + 2.0, W - w / 2.0 - 2.0);
            overlay.push(html! {
                <g class="sr-snat" data-testid="snat" data-snat={c.snat.clone().unwrap_or_default()}>
                    <rect x={f(x - w / 2.0)} y={f(y - 9.0)} width={f(w)} height="13" rx="3" />
                    <text x={f(x)} y={f(y + 1.0)} class="sr-t-mono">{ label }</text>
                </g>
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
            { legend(t) }
        </div>
    }
}

/// `M x y L x y …`.
fn path_of(points: &[(f64, f64)]) -> String {
    points
        .iter()
        .enumerate()
        .map(|(k, (x, y))| format!("{}{} {}", if k == 0 { "M" } else { " L" }, f(*x), f(*y)))
        .collect()
}

/// A red cross (an SVG shape, not a glyph) at the top-left corner (x, y).
fn cross(x: f64, y: f64) -> Html {
    html! {
        <path class="sr-cross" d={format!("M {} {} L {} {} M {} {} L {} {}", f(x), f(y - 4.0), f(x + 8.0), f(y + 4.0), f(x + 8.0), f(y - 4.0), f(x), f(y + 4.0))} />
    }
}

/// A client: its kind, name and address, outlined in its colour.
fn client_box(r: Rect, c: &Client, colour: &str, chosen: bool, what: &str) -> Html {
    html! {
        <g class={classes!("sr-client", chosen.then_some("sr-chosen"))} data-testid="client-box"
            data-address={c.address.to_string()} data-where={c.location.as_str()}>
            <rect x={f(r.x)} y={f(r.y)} width={f(r.w)} height={f(r.h)} rx="6" style={format!("stroke:{colour}")} />
            <text x={f(r.x + 6.0)} y={f(r.y + 11.0)} class="sr-t-left sr-t-small">{ short(&if what.is_empty() { c.name.clone() } else { format!("{what} · {}", c.name) }, ((r.w - 10.0) / 4.9) as usize) }</text>
            <text x={f(r.x + 6.0)} y={f(r.y + r.h - 5.0)} class="sr-t-left sr-t-mono">{ c.address.to_string() }</text>
        </g>
    }
}

/// Each Pod of `svc_id` in the chosen node's IPVS table as the core's simulator has it at the
/// clock ([`svcroute_core::sim::Simulator::kernel_view`]): its weight and its open connections
/// (ActiveConn + InActConn). A real server the plan dropped while busy is there at weight 0,
/// draining, until its connections end (kube-proxy's graceful termination).
fn kernel_real_servers(
    sim: &mut svcroute_core::sim::Simulator,
    now: u64,
    model: &Model,
    svc_id: &str,
    node: Option<&str>,
) -> KernelPods {
    let mut out: Vec<(String, (u32, u32))> = Vec::new();
    let Some(plan) = model.plan_of(node) else {
        return KernelPods(out);
    };
    for vs in plan.virtual_servers.iter().filter(|v| v.service == svc_id) {
        let view = sim.kernel_view(&plan.node, vs, now).into_owned();
        let counts = sim.counters(&plan.node, &vs.key(), now);
        for rs in &view.real_servers {
            let Some(pod) = &rs.pod else { continue };
            let open: u32 = counts
                .iter()
                .filter(|c| c.address == rs.address && c.port == rs.port)
                .map(|c| c.counts.active + c.counts.inactive)
                .sum();
            out.push((pod.clone(), (rs.weight, open)));
        }
    }
    // One entry a Pod: its highest weight and all its open connections.
    svcroute_core::sort::sort_by(&mut out, |a, b| a.0.cmp(&b.0));
    out.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1 = (kept.1.0.max(later.1.0), kept.1.1 + later.1.1);
        }
        same
    });
    KernelPods(out)
}

/// Each Pod's (weight, open connections) in the chosen node's kernel, by Pod: a list
/// searched by halves (no map type of its own in the wasm build).
struct KernelPods(Vec<(String, (u32, u32))>);

impl KernelPods {
    fn get(&self, pod: &str) -> Option<&(u32, u32)> {
        let i = self.0.binary_search_by(|e| e.0.as_str().cmp(pod)).ok()?;
        Some(&self.0[i].1)
    }
}

/// A Pod: name, address, state (a shape and a word), whether the chosen node's table holds
/// it and with which weight (a draining one — weight 0 — with its open connections), and its
/// connection count in a badge clear of the name.
fn pod_box(
    state: &State,
    model: &Model,
    svc_id: &str,
    node: Option<&str>,
    (p, kernel): (&svcroute_core::model::Pod, Option<(u32, u32)>),
    r: Rect,
    t: &crate::i18n::Texts,
) -> Html {
    let id = p.meta.id.to_string();
    let as_endpoint = model.endpoint_state(svc_id, &id);
    let pod_state = as_endpoint.unwrap_or_else(|| PodState::of(p));
    let in_rules = model.in_rules(node, svc_id, &id);
    let weight = kernel.map(|(w, _)| w);
    let draining = kernel.filter(|(w, _)| *w == 0).map(|(_, open)| open);
    let hits = state.hits(&id);
    let state_word = match pod_state {
        PodState::Ready => t.ready,
        PodState::NotReady => t.not_ready,
        PodState::Terminating => t.terminating,
    };
    let drain_line = draining.map(|open| format!("{} · {open} {}", t.draining, t.open_conns));
    let ip = p
        .ips
        .first()
        .map(ToString::to_string)
        .unwrap_or_else(|| "-".into());
    let badge = if hits > 0 { 26.0 } else { 0.0 };
    // The name (mono, bold) stops short of the hit badge; the lines below run under it.
    let name_max = fit(r.w - 21.0 - badge);
    let line_max = fit(r.w - 12.0);
    let title = format!(
        "{id} · {ip} · {state_word}{} · {}",
        drain_line
            .as_ref()
            .map(|d| format!(" · {d}"))
            .unwrap_or_default(),
        if in_rules { t.in_rules } else { t.not_in_rules }
    );
    let (sx, sy) = (r.x + 9.0, r.y + 11.0);
    let shape = match pod_state {
        PodState::Ready => html! { <circle cx={f(sx)} cy={f(sy)} r="4" class="sr-mark-ready" /> },
        PodState::NotReady => {
            html! { <circle cx={f(sx)} cy={f(sy)} r="3.5" class="sr-mark-notready" /> }
        }
        PodState::Terminating => html! {
            <path d={format!("M {} {} L {} {} L {} {} L {} {} Z", f(sx - 4.0), f(sy - 4.0), f(sx + 4.0), f(sy - 4.0), f(sx - 4.0), f(sy + 4.0), f(sx + 4.0), f(sy + 4.0))} class="sr-mark-term" />
        },
    };
    html! {
        <g class={classes!("sr-pod", pod_state.class(), if in_rules { "sr-in" } else { "sr-out" }, as_endpoint.is_none().then_some("sr-unselected"), draining.is_some().then_some("sr-draining"))}
            data-testid="pod" data-pod={id.clone()} data-state={pod_state.class()} data-ip={ip.clone()}
            data-draining={draining.map(|n| n.to_string())}
            data-node={p.node_name.clone().unwrap_or_default()}
            data-in-rules={in_rules.to_string()} data-weight={weight.map(|w| w.to_string()).unwrap_or_default()}
            data-hits={hits.to_string()}>
            <title>{ title }</title>
            <rect x={f(r.x)} y={f(r.y)} width={f(r.w)} height={f(r.h)} rx="5" />
            { shape }
            <text x={f(r.x + 17.0)} y={f(r.y + 15.0)} class="sr-t-left sr-t-bold sr-t-mono">{ short(&p.meta.id.name, name_max) }</text>
            <text x={f(r.x + 7.0)} y={f(r.y + 31.0)} class="sr-t-left sr-t-mono">{ short(&format!("{ip} · {state_word}"), line_max) }</text>
            if let Some(d) = &drain_line {
                <text x={f(r.x + 7.0)} y={f(r.y + 44.0)} class="sr-t-left sr-t-mono sr-drain-text" data-testid="draining">{ short(d, line_max) }</text>
            }
            if hits > 0 {
                <g class="sr-hits">
                    <circle cx={f(r.x + r.w - 13.0)} cy={f(r.y + 13.0)} r="9.5" />
                    <text x={f(r.x + r.w - 13.0)} y={f(r.y + 16.5)} class="sr-t-bold">{ hits }</text>
                </g>
            }
        </g>
    }
}

/// What the shapes and lines mean.
fn legend(t: &crate::i18n::Texts) -> Html {
    let item = |svg: Html, text: &str| {
        html! {
            <li><svg width="26" height="14" viewBox="0 0 26 14" aria-hidden="true">{ svg }</svg>{ text.to_owned() }</li>
        }
    };
    html! {
        <ul class="sr-legend" data-testid="legend" aria-label={t.legend}>
            { item(html! { <circle cx="7" cy="7" r="4" class="sr-mark-ready" /> }, t.ready) }
            { item(html! { <circle cx="7" cy="7" r="3.5" class="sr-mark-notready" /> }, t.not_ready) }
            { item(html! { <path d="M 3 3 L 11 3 L 3 11 L 11 11 Z" class="sr-mark-term" /> }, t.terminating) }
            { item(html! { <line x1="1" y1="7" x2="25" y2="7" class="sr-legend-conn" /> }, t.legend_conn) }
            { item(html! { <line x1="1" y1="7" x2="25" y2="7" class="sr-link" /> }, t.legend_link) }
            { item(html! { <path d="M 9 3 L 17 11 M 17 3 L 9 11" class="sr-cross" /> }, t.legend_refused) }
            { item(html! { <rect x="1" y="2" width="24" height="10" rx="3" class="sr-boundary" /> }, t.legend_boundary) }
            { item(html! { <rect x="1" y="2" width="24" height="10" rx="3" class="sr-legend-snat" /> }, t.legend_snat) }
        </ul>
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
    entry_boxes: &Boxes,
    dns_box: Option<Rect>,
    pod_boxes: &Boxes,
    out: &mut Vec<Html>,
) {
    let mut ends: Vec<Rect> = Vec::new();
    let start = match e.kind {
        EntryKind::Vs(_) => {
            let plan = model.plan_of(e.node.as_deref().or(node));
            let on = plan.map(|p| p.node.clone()).unwrap_or_default();
            if let Some(vs) = plan.and_then(|p| {
                p.virtual_servers
                    .iter()
                    .find(|v| format!("{}:{}", fmt_addr(&v.address), v.port) == e.target)
            }) {
                for rs in &vs.real_servers {
                    if let Some(r) = rs.pod.as_ref().and_then(|p| pod_boxes.get(p)) {
                        ends.push(*r);
                    }
                }
            }
            entry_boxes.get(&entry_key(&on, &e.target)).map(|r| Rect {
                x: r.x + 8.0,
                y: r.y,
                w: 0.0,
                h: r.h,
            })
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
        let (x2, y2) = (end.x + 14.0, end.y);
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
        // Chinese takes about two cells a character: the text fits the same width.
        let zh = super::short("10.244.0.209 · 权重 0，排空中 · 1 个连接", 24);
        let cells: f64 = zh.chars().map(super::cells).sum();
        assert!(cells <= 24.0, "{zh} is {cells} cells");
        assert!(zh.starts_with("10.244.") && zh.ends_with("个连接"), "{zh}");
    }
}
