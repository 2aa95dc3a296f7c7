//! `cargo xtask gen-cluster`: a synthetic cluster as `kubectl get -o json|yaml` prints it, for
//! measuring the reader and the planner at scale (issue 7's "10,000 Services × 10 Pods").
//!
//! Deterministic: the same arguments give the same bytes. One kubectl-style `List` of Nodes,
//! Services (ClusterIP, one or two ports, a selector) and Ready, Running Pods with a status, the
//! fields `kubectl get -o json` prints (uids, resourceVersions, timestamps, managedFields), so the
//! reader sees the text it meets in practice.
//!
//! ```text
//! cargo xtask gen-cluster [--services N] [--pods-per-service M] [--nodes K]
//!                         [--shape pods|workloads|slices|unplaced] [--named-ports]
//!                         [--format json|yaml] [-o FILE]
//! ```
//!
//! `--shape` changes how the endpoints come about, for checking that other shapes of cluster
//! scale too: `pods` (the default) writes the Pods with their status; `workloads` writes no
//! Pods but one workload per Service (Deployments, ReplicaSets, StatefulSets in turn) with
//! `replicas`, whose Pods svcroute makes, places and addresses; `slices` writes Services
//! without a selector and their EndpointSlices (at most 100 endpoints a slice, as the
//! controller cuts them); `unplaced` writes the Pods without `nodeName` and status, so the
//! scheduler's choice and the addresses are svcroute's. `--named-ports` makes every
//! `targetPort` a container port's name.

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::{Context, Result, bail};

/// A JSON/YAML value, enough for the objects we print.
#[derive(Clone)]
enum V {
    S(String),
    I(u64),
    B(bool),
    A(Vec<V>),
    O(Vec<(&'static str, V)>),
}

fn s(x: impl Into<String>) -> V {
    V::S(x.into())
}

fn o(fields: Vec<(&'static str, V)>) -> V {
    V::O(fields)
}

/// The value, leaving an empty array in its place.
fn take(v: &mut V) -> V {
    std::mem::replace(v, V::A(Vec::new()))
}

/// Options of `gen-cluster`.
struct Opts {
    services: u32,
    pods: u32,
    nodes: u32,
    yaml: bool,
    out: Option<String>,
    shape: Shape,
    named_ports: bool,
}

/// How the endpoints of the generated cluster come about (`--shape`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Pods,
    Workloads,
    Slices,
    Unplaced,
}

/// `cargo xtask gen-cluster …`.
pub fn main(args: &[String]) -> Result<()> {
    let mut o = Opts {
        services: 10_000,
        pods: 10,
        nodes: 100,
        yaml: false,
        out: None,
        shape: Shape::Pods,
        named_ports: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--services" => o.services = val()?.parse()?,
            "--pods-per-service" => o.pods = val()?.parse()?,
            "--nodes" => o.nodes = val()?.parse::<u32>()?.max(1),
            "--format" => {
                o.yaml = match val()?.as_str() {
                    "json" => false,
                    "yaml" => true,
                    f => bail!("--format {f:?}: json or yaml"),
                }
            }
            "--shape" => {
                o.shape = match val()?.as_str() {
                    "pods" => Shape::Pods,
                    "workloads" => Shape::Workloads,
                    "slices" => Shape::Slices,
                    "unplaced" => Shape::Unplaced,
                    f => bail!("--shape {f:?}: pods, workloads, slices or unplaced"),
                }
            }
            "--named-ports" => o.named_ports = true,
            "-o" | "--output" => o.out = Some(val()?.clone()),
            "-h" | "--help" => {
                println!(
                    "usage: cargo xtask gen-cluster [--services N] [--pods-per-service M] [--nodes K] [--shape pods|workloads|slices|unplaced] [--named-ports] [--format json|yaml] [-o FILE]"
                );
                return Ok(());
            }
            other => bail!("unknown gen-cluster argument {other:?}"),
        }
    }
    let list = cluster(&o);
    let mut text = String::new();
    if o.yaml {
        yaml(&mut text, &list, 0, false);
    } else {
        json_list(&mut text, &list);
    }
    match &o.out {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {path}"))?,
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    Ok(())
}

fn meta(name: &str, namespace: Option<&str>, n: u64, labels: Option<V>) -> V {
    let mut m = vec![
        ("creationTimestamp", s("2026-01-01T00:00:00Z")),
        ("name", s(name)),
    ];
    if let Some(l) = labels {
        m.insert(1, ("labels", l));
    }
    if let Some(ns) = namespace {
        m.push(("namespace", s(ns)));
    }
    m.push(("resourceVersion", s((1000 + n).to_string())));
    m.push((
        "uid",
        s(format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            n.wrapping_mul(2_654_435_761) & 0xffff_ffff,
            n & 0xffff,
            (n >> 4) & 0xfff,
            (n >> 8) & 0xfff,
            n.wrapping_mul(0x9e37_79b9_7f4a) & 0xffff_ffff_ffff
        )),
    ));
    V::O(m)
}

fn cluster(opt: &Opts) -> V {
    let mut items = Vec::new();
    let mut n = 0u64;
    // Each Node's pod range: /24s from 10.244.0.0 as kubeadm's default hands them out; when
    // svcroute places the Pods (or there are more Nodes than that space holds), ranges from
    // 10.128.0.0/9 sized for twice the Pods a Node gets.
    let per_node = u64::from(opt.services) * u64::from(opt.pods) / u64::from(opt.nodes) + 1;
    let host_bits = (2 * per_node + 3)
        .next_power_of_two()
        .trailing_zeros()
        .clamp(8, 23);
    let pod_cidr = |k: u32| {
        if matches!(opt.shape, Shape::Pods | Shape::Slices) && k < 12 * 256 {
            return format!("10.{}.{}.0/24", 244 + k / 256, k % 256);
        }
        let a = (10u64 << 24 | 128 << 16) + (u64::from(k) << host_bits);
        format!(
            "{}.{}.{}.{}/{}",
            (a >> 24) & 255,
            (a >> 16) & 255,
            (a >> 8) & 255,
            a & 255,
            32 - host_bits
        )
    };
    for k in 0..opt.nodes {
        n += 1;
        let name = format!("node-{k:04}");
        let ip = format!("192.168.{}.{}", k / 250, k % 250 + 1);
        items.push(o(vec![
            ("apiVersion", s("v1")),
            ("kind", s("Node")),
            (
                "metadata",
                meta(
                    &name,
                    None,
                    n,
                    Some(o(vec![
                        ("kubernetes.io/hostname", s(name.clone())),
                        ("kubernetes.io/os", s("linux")),
                    ])),
                ),
            ),
            ("spec", o(vec![("podCIDR", s(pod_cidr(k)))])),
            (
                "status",
                o(vec![
                    (
                        "addresses",
                        V::A(vec![
                            o(vec![("address", s(ip)), ("type", s("InternalIP"))]),
                            o(vec![("address", s(name.clone())), ("type", s("Hostname"))]),
                        ]),
                    ),
                    (
                        "conditions",
                        V::A(vec![o(vec![
                            ("lastTransitionTime", s("2026-01-01T00:00:00Z")),
                            ("status", s("True")),
                            ("type", s("Ready")),
                        ])]),
                    ),
                ]),
            ),
        ]));
    }
    let mut pod_index = 0u64;
    for i in 0..opt.services {
        n += 1;
        let ns = format!("ns-{}", i % 50);
        let app = format!("app-{i:05}");
        let ip = 10u64 << 24 | 96 << 16 | (u64::from(i) + 16);
        let ip = format!(
            "{}.{}.{}.{}",
            ip >> 24,
            (ip >> 16) & 255,
            (ip >> 8) & 255,
            ip & 255
        );
        let http_target = if opt.named_ports {
            s("http")
        } else {
            V::I(8080)
        };
        let mut ports = vec![o(vec![
            ("name", s("http")),
            ("port", V::I(80)),
            ("protocol", s("TCP")),
            ("targetPort", http_target),
        ])];
        if i % 4 == 0 {
            ports.push(o(vec![
                ("name", s("metrics")),
                ("port", V::I(9090)),
                ("protocol", s("TCP")),
                ("targetPort", s("metrics")),
            ]));
        }
        let mut spec = vec![
            ("clusterIP", s(ip.clone())),
            ("clusterIPs", V::A(vec![s(ip)])),
            ("internalTrafficPolicy", s("Cluster")),
            ("ipFamilies", V::A(vec![s("IPv4")])),
            ("ipFamilyPolicy", s("SingleStack")),
            ("ports", V::A(ports)),
            ("selector", o(vec![("app", s(app.clone()))])),
            ("sessionAffinity", s("None")),
            ("type", s("ClusterIP")),
        ];
        if opt.shape == Shape::Slices {
            spec.retain(|(k, _)| *k != "selector");
        }
        items.push(o(vec![
            ("apiVersion", s("v1")),
            ("kind", s("Service")),
            (
                "metadata",
                meta(&app, Some(&ns), n, Some(o(vec![("app", s(app.clone()))]))),
            ),
            ("spec", o(spec)),
            ("status", o(vec![("loadBalancer", o(vec![]))])),
        ]));
        // The Pods' container ports (with --named-ports also the one `metrics` names).
        let mut container_ports = vec![o(vec![
            ("containerPort", V::I(8080)),
            ("name", s("http")),
            ("protocol", s("TCP")),
        ])];
        if opt.named_ports {
            container_ports.push(o(vec![
                ("containerPort", V::I(9090)),
                ("name", s("metrics")),
                ("protocol", s("TCP")),
            ]));
        }
        let containers = || {
            V::A(vec![o(vec![
                ("image", s("registry.k8s.io/e2e-test-images/agnhost:2.53")),
                ("name", s("server")),
                ("ports", V::A(container_ports.clone())),
            ])])
        };
        if opt.shape == Shape::Workloads {
            n += 1;
            let kind = ["Deployment", "ReplicaSet", "StatefulSet"][i as usize % 3];
            let mut wspec = vec![
                ("replicas", V::I(u64::from(opt.pods))),
                (
                    "selector",
                    o(vec![("matchLabels", o(vec![("app", s(app.clone()))]))]),
                ),
            ];
            if kind == "StatefulSet" {
                wspec.push(("serviceName", s(app.clone())));
            }
            wspec.push((
                "template",
                o(vec![
                    (
                        "metadata",
                        o(vec![("labels", o(vec![("app", s(app.clone()))]))]),
                    ),
                    ("spec", o(vec![("containers", containers())])),
                ]),
            ));
            items.push(o(vec![
                ("apiVersion", s("apps/v1")),
                ("kind", s(kind)),
                (
                    "metadata",
                    meta(&app, Some(&ns), n, Some(o(vec![("app", s(app.clone()))]))),
                ),
                ("spec", o(wspec)),
            ]));
            continue;
        }
        let mut endpoints = Vec::new();
        for p in 0..opt.pods {
            n += 1;
            let node = (pod_index % u64::from(opt.nodes)) as u32;
            // Pod addresses counted up from 10.64.0.0 (a /10 holds four million).
            let a = (10u32 << 24 | 64 << 16) + u32::try_from(pod_index).unwrap_or(u32::MAX);
            let pod_ip = format!(
                "{}.{}.{}.{}",
                a >> 24,
                (a >> 16) & 255,
                (a >> 8) & 255,
                a & 255
            );
            pod_index += 1;
            let name = format!("{app}-{:05x}-{p}", i.wrapping_mul(7919) & 0xfffff);
            if opt.shape == Shape::Slices {
                endpoints.push(o(vec![
                    ("addresses", V::A(vec![s(pod_ip)])),
                    (
                        "conditions",
                        o(vec![
                            ("ready", V::B(true)),
                            ("serving", V::B(true)),
                            ("terminating", V::B(false)),
                        ]),
                    ),
                    ("nodeName", s(format!("node-{node:04}"))),
                    (
                        "targetRef",
                        o(vec![
                            ("kind", s("Pod")),
                            ("name", s(name)),
                            ("namespace", s(ns.clone())),
                        ]),
                    ),
                ]));
                continue;
            }
            let mut pod_spec = vec![("containers", containers())];
            let mut pod = vec![
                ("apiVersion", s("v1")),
                ("kind", s("Pod")),
                (
                    "metadata",
                    meta(
                        &name,
                        Some(&ns),
                        n,
                        Some(o(vec![
                            ("app", s(app.clone())),
                            ("pod-template-hash", s("5d8f7c9b4")),
                        ])),
                    ),
                ),
            ];
            if opt.shape == Shape::Unplaced {
                pod.push(("spec", o(pod_spec)));
                items.push(o(pod));
                continue;
            }
            pod_spec.push(("nodeName", s(format!("node-{node:04}"))));
            pod.push(("spec", o(pod_spec)));
            pod.push((
                "status",
                o(vec![
                    (
                        "conditions",
                        V::A(vec![o(vec![("status", s("True")), ("type", s("Ready"))])]),
                    ),
                    (
                        "hostIP",
                        s(format!("192.168.{}.{}", node / 250, node % 250 + 1)),
                    ),
                    ("phase", s("Running")),
                    ("podIP", s(pod_ip.clone())),
                    ("podIPs", V::A(vec![o(vec![("ip", s(pod_ip))])])),
                ]),
            ));
            items.push(o(pod));
        }
        // The slices as the controller cuts them: at most 100 endpoints each.
        for (k, chunk) in endpoints.chunks_mut(100).enumerate() {
            n += 1;
            let mut slice_ports = vec![o(vec![
                ("name", s("http")),
                ("port", V::I(8080)),
                ("protocol", s("TCP")),
            ])];
            if i % 4 == 0 {
                slice_ports.push(o(vec![
                    ("name", s("metrics")),
                    ("port", V::I(9090)),
                    ("protocol", s("TCP")),
                ]));
            }
            items.push(o(vec![
                ("addressType", s("IPv4")),
                ("apiVersion", s("discovery.k8s.io/v1")),
                ("endpoints", V::A(chunk.iter_mut().map(take).collect())),
                ("kind", s("EndpointSlice")),
                (
                    "metadata",
                    meta(
                        &format!("{app}-{k:05}"),
                        Some(&ns),
                        n,
                        Some(o(vec![
                            ("endpointslice.kubernetes.io/managed-by", s("gen-cluster")),
                            ("kubernetes.io/service-name", s(app.clone())),
                        ])),
                    ),
                ),
                ("ports", V::A(slice_ports)),
            ]));
        }
    }
    o(vec![
        ("apiVersion", s("v1")),
        ("items", V::A(items)),
        ("kind", s("List")),
        ("metadata", o(vec![("resourceVersion", s(""))])),
    ])
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// The List with one item per line (Python's `json.dump` separators), so the text is about the
/// size issue 7 measured (48 MB for 10,000 × 10).
fn json_list(out: &mut String, list: &V) {
    let V::O(fields) = list else { return };
    out.push_str("{\n");
    for (k, (key, val)) in fields.iter().enumerate() {
        let _ = write!(out, "  {key:?}: ");
        match val {
            V::A(items) if !items.is_empty() => {
                out.push_str("[\n");
                for (i, item) in items.iter().enumerate() {
                    out.push_str("    ");
                    json(out, item);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                out.push_str("  ]");
            }
            _ => json(out, val),
        }
        out.push_str(if k + 1 < fields.len() { ",\n" } else { "\n" });
    }
    out.push_str("}\n");
}

/// Compact JSON with `", "` and `": "` separators.
fn json(out: &mut String, v: &V) {
    match v {
        V::S(x) => {
            let _ = write!(out, "{x:?}");
        }
        V::I(i) => {
            let _ = write!(out, "{i}");
        }
        V::B(b) => {
            let _ = write!(out, "{b}");
        }
        V::A(items) => {
            out.push('[');
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                json(out, item);
            }
            out.push(']');
        }
        V::O(fields) => {
            out.push('{');
            for (k, (key, val)) in fields.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{key:?}: ");
                json(out, val);
            }
            out.push('}');
        }
    }
}

/// `kubectl -o yaml`'s layout: two-space mappings, list items at their key's indentation.
/// `inline`: the value follows `- ` on the current line.
fn yaml(out: &mut String, v: &V, col: usize, inline: bool) {
    match v {
        V::O(fields) => {
            for (k, (key, val)) in fields.iter().enumerate() {
                if !(inline && k == 0) {
                    indent(out, col);
                }
                out.push_str(key);
                out.push(':');
                match val {
                    V::O(f) if !f.is_empty() => {
                        out.push('\n');
                        yaml(out, val, col + 2, false);
                    }
                    V::A(a) if !a.is_empty() => {
                        out.push('\n');
                        yaml(out, val, col, false);
                    }
                    _ => {
                        out.push(' ');
                        scalar(out, val);
                        out.push('\n');
                    }
                }
            }
        }
        V::A(items) => {
            for item in items {
                indent(out, col);
                out.push_str("- ");
                match item {
                    V::O(f) if !f.is_empty() => yaml(out, item, col + 2, true),
                    _ => {
                        scalar(out, item);
                        out.push('\n');
                    }
                }
            }
        }
        _ => {
            scalar(out, v);
            out.push('\n');
        }
    }
}

fn scalar(out: &mut String, v: &V) {
    match v {
        V::S(x) => {
            // Quote what YAML would read as something else, as kubectl does.
            let plain = !x.is_empty()
                && x.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-./_".contains(c))
                && !x
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit() || c == '-')
                && !matches!(
                    x.to_ascii_lowercase().as_str(),
                    "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | "~"
                );
            if plain {
                out.push_str(x);
            } else {
                let _ = write!(out, "\"{}\"", x.replace('\\', "\\\\").replace('"', "\\\""));
            }
        }
        V::I(i) => {
            let _ = write!(out, "{i}");
        }
        V::B(b) => {
            let _ = write!(out, "{b}");
        }
        V::A(_) => out.push_str("[]"),
        V::O(_) => out.push_str("{}"),
    }
}
