//! Structure-aware fuzz inputs: arbitrary trees of Kubernetes shapes, written as YAML or JSON.
//!
//! The fuzzers' raw bytes rarely get past YAML syntax and the strict schema (13 M runs of the
//! text target never reached the inputs of issue 8). Here the bytes choose among the shapes the
//! reader expects: the kinds svcroute reads, each field from the API's own schema
//! (`manifest::schema`, so every field name is one the API knows), values from a pool of
//! interesting scalars (ports at and past their bounds, IPs of every class, label keys and
//! values at their length limits, YAML 1.1 words) — and now and then a hostile turn: nesting
//! past the reader's depth limit, wide mappings with a duplicate key, anchors, aliases and
//! `<<` merge keys, custom tags, very long keys and values, comments in JSON.
//!
//! Used by the cargo-fuzz targets of `fuzz/` (with libFuzzer's bytes) and by
//! `core/tests/fuzz_shapes.rs` on stable (with proptest's bytes), so the short deterministic
//! run in `cargo test` and the long nightly one exercise the same code.

use arbitrary::{Result, Unstructured};
use svcroute_core::labels::{Labels, Selector};
use svcroute_core::manifest::schema::{KINDS, Shape, TYPES, Ty, root};
use svcroute_core::manifest::{self, json, yaml};
use svcroute_core::route::{Request, route};
use svcroute_core::sim::Simulator;
use svcroute_core::{Config, plan};

/// A generated value.
#[derive(Clone, Debug)]
pub enum Tree {
    /// A scalar, written as is in YAML (plain) and as a JSON string or number.
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Tree>),
    /// A mapping, in order (keys may repeat on purpose).
    Map(Vec<(String, Tree)>),
    /// YAML only: an anchored value (`&aN`) and later an alias to it (`*aN`).
    Anchor(u32, Box<Tree>),
    /// YAML only: `*aN`.
    Alias(u32),
}

/// A scalar and how it is meant.
#[derive(Clone, Debug)]
pub enum Scalar {
    /// A string (quoted when needed).
    Str(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// Null.
    Null,
    /// YAML only: text with a custom tag, `!foo 80`.
    Tagged(String),
}

const WORDS: &[&str] = &[
    "TCP",
    "UDP",
    "SCTP",
    "ClusterIP",
    "NodePort",
    "LoadBalancer",
    "ExternalName",
    "None",
    "ClientIP",
    "Local",
    "Cluster",
    "SingleStack",
    "PreferDualStack",
    "RequireDualStack",
    "IPv4",
    "IPv6",
    "Running",
    "Pending",
    "Succeeded",
    "Failed",
    "Ready",
    "True",
    "False",
    "Unknown",
    "InternalIP",
    "ExternalIP",
    "Hostname",
    "http",
    "web",
    "default",
    "kube-system",
    "app",
    "node-1",
    "node-2",
    "a",
    "x",
    "yes",
    "no",
    "on",
    "off",
    "~",
    "null",
    "-",
    "0x1F",
    "1e3",
    "10.96.0.10",
    "10.96.0.1",
    "10.244.0.5",
    "10.244.1.7",
    "192.168.0.1",
    "0.0.0.0",
    "127.0.0.1",
    "224.0.0.5",
    "255.255.255.255",
    "169.254.1.1",
    "fd00:10:96::a",
    "::1",
    "::",
    "10.96.0.0/12",
    "10.244.0.0/16",
    "10.0.0.0/8",
    "0.0.0.0/0",
    "example.com",
    "app.kubernetes.io/name",
    "kubernetes.io/service-name",
    "endpointslice-controller.k8s.io",
    "service.kubernetes.io/headless",
    "service.kubernetes.io/service-proxy-name",
    "apps/v1",
    "v1",
    "discovery.k8s.io/v1",
    "app in (a, b)",
    "app notin (a)",
    "!app",
    "app!=x",
    "2026-01-01T00:00:00Z",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "List",
];

const INTS: &[i64] = &[
    0,
    1,
    2,
    3,
    53,
    80,
    443,
    8080,
    9090,
    10800,
    30000,
    30080,
    32767,
    32768,
    65535,
    65536,
    -1,
    86400,
    86401,
    i64::MAX,
    i64::MIN,
    4_294_967_295,
];

/// Generation state: nesting so far and anchors made.
struct Gen {
    depth: usize,
    anchors: u32,
    yaml: bool,
}

/// Text of one to a few Kubernetes-shaped objects, YAML or JSON as the bytes choose; the
/// boolean says whether it is JSON.
pub fn manifest(u: &mut Unstructured<'_>) -> Result<(String, bool)> {
    let yaml = u.ratio(3, 4)?;
    let mut g = Gen {
        depth: 0,
        anchors: 0,
        yaml,
    };
    let n = u.int_in_range(1..=4)?;
    let mut objects = Vec::new();
    for _ in 0..n {
        objects.push(object(u, &mut g)?);
    }
    let text = if yaml {
        let mut t = String::new();
        for o in &objects {
            t.push_str("---\n");
            write_yaml(&mut t, o, 0);
        }
        t
    } else {
        let tree = if objects.len() == 1 {
            objects.remove(0)
        } else {
            Tree::Map(vec![
                ("apiVersion".into(), str("v1")),
                ("kind".into(), str("List")),
                ("items".into(), Tree::Seq(objects)),
            ])
        };
        let mut t = String::new();
        write_json(&mut t, &tree);
        if u.ratio(1, 64)? {
            // A comment: not JSON, and it must be reported as such.
            let at = t.find(',').map_or(0, |i| i + 1);
            t.insert_str(at, "\n// a comment\n");
        }
        t
    };
    Ok((text, !yaml))
}

fn str(s: &str) -> Tree {
    Tree::Scalar(Scalar::Str(s.into()))
}

/// One object of a kind svcroute reads (or, now and then, another kind).
fn object(u: &mut Unstructured<'_>, g: &mut Gen) -> Result<Tree> {
    let (kind, api) = if u.ratio(1, 16)? {
        *u.choose(&[
            ("ConfigMap", "v1"),
            ("FooList", "example.com/v1"),
            ("List", "v1"),
        ])?
    } else {
        *u.choose(KINDS)?
    };
    let mut fields = match root(api, kind) {
        Some(ty) => match object_of(u, g, ty)? {
            Tree::Map(f) => f,
            _ => Vec::new(),
        },
        None => Vec::new(),
    };
    fields.retain(|(k, _)| k != "apiVersion" && k != "kind");
    fields.insert(0, ("kind".into(), str(kind)));
    fields.insert(0, ("apiVersion".into(), str(api)));
    if !fields.iter().any(|(k, _)| k == "metadata") {
        fields.push((
            "metadata".into(),
            Tree::Map(vec![(
                "name".into(),
                str(*u.choose(&["a", "b", "web", "x"])?),
            )]),
        ));
    }
    Ok(Tree::Map(fields))
}

/// A value of the given schema shape (or, rarely, something hostile instead).
fn value(u: &mut Unstructured<'_>, g: &mut Gen, shape: Shape) -> Result<Tree> {
    if u.ratio(1, 200)? {
        return hostile(u, g);
    }
    g.depth += 1;
    let v = match shape {
        Shape::Scalar | Shape::Any => Tree::Scalar(scalar(u, g)?),
        Shape::Object(ty) if g.depth < 12 => object_of(u, g, ty)?,
        Shape::ListOf(ty) if g.depth < 12 => {
            let n = u.int_in_range(0..=3)?;
            let mut items = Vec::new();
            for _ in 0..n {
                items.push(object_of(u, g, ty)?);
            }
            Tree::Seq(items)
        }
        Shape::ListOfScalar => {
            let n = u.int_in_range(0..=3)?;
            let mut items = Vec::new();
            for _ in 0..n {
                items.push(Tree::Scalar(scalar(u, g)?));
            }
            Tree::Seq(items)
        }
        Shape::MapOf(ty) if g.depth < 12 => {
            let n = u.int_in_range(0..=2)?;
            let mut m = Vec::new();
            for _ in 0..n {
                m.push((key(u)?, object_of(u, g, ty)?));
            }
            Tree::Map(m)
        }
        Shape::MapOfScalar => {
            let n = u.int_in_range(0..=4)?;
            let mut m = Vec::new();
            for _ in 0..n {
                m.push((key(u)?, Tree::Scalar(scalar(u, g)?)));
            }
            Tree::Map(m)
        }
        _ => Tree::Scalar(Scalar::Null),
    };
    g.depth -= 1;
    let v = if g.yaml && u.ratio(1, 40)? {
        g.anchors += 1;
        Tree::Anchor(g.anchors, Box::new(v))
    } else {
        v
    };
    Ok(v)
}

/// A mapping with some of the type's fields (and, rarely, one it does not have).
fn object_of(u: &mut Unstructured<'_>, g: &mut Gen, ty: Ty) -> Result<Tree> {
    let def = &TYPES[usize::from(ty.0)];
    let mut m = Vec::new();
    for (name, shape) in def.fields {
        // Fields svcroute reads are likelier: names, ports, selectors, addresses.
        let likely = matches!(
            *name,
            "metadata"
                | "spec"
                | "status"
                | "name"
                | "namespace"
                | "labels"
                | "ports"
                | "port"
                | "targetPort"
                | "selector"
                | "clusterIP"
                | "clusterIPs"
                | "type"
                | "podIP"
                | "podIPs"
                | "ip"
                | "containers"
                | "containerPort"
                | "protocol"
                | "nodeName"
                | "conditions"
                | "addresses"
                | "endpoints"
                | "replicas"
                | "template"
                | "matchLabels"
                | "externalIPs"
                | "sessionAffinity"
                | "phase"
                | "address"
                | "ready"
                | "serving"
                | "terminating"
                | "addressType"
        );
        if u.ratio(if likely { 2 } else { 1 }, if likely { 3 } else { 24 })? {
            m.push(((*name).to_string(), value(u, g, *shape)?));
        }
    }
    if u.ratio(1, 50)? {
        m.push((key(u)?, Tree::Scalar(scalar(u, g)?)));
    }
    if g.yaml && !m.is_empty() && u.ratio(1, 60)? && g.anchors > 0 {
        let a = u.int_in_range(1..=g.anchors)?;
        m.push(("<<".into(), Tree::Alias(a)));
    }
    Ok(Tree::Map(m))
}

fn key(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=9)? {
        0 => "k".repeat(u.int_in_range(60..=70)?),
        1 => format!("example.com/{}", "p".repeat(u.int_in_range(1..=260)?)),
        2 => String::from("<<"),
        3 => u.arbitrary::<String>()?,
        _ => (*u.choose(WORDS)?).to_string(),
    })
}

fn scalar(u: &mut Unstructured<'_>, g: &Gen) -> Result<Scalar> {
    Ok(match u.int_in_range(0..=19)? {
        0..=7 => Scalar::Str((*u.choose(WORDS)?).to_string()),
        8..=12 => Scalar::Int(*u.choose(INTS)?),
        13 => Scalar::Int(u.arbitrary()?),
        14 => Scalar::Bool(u.arbitrary()?),
        15 => Scalar::Null,
        16 => Scalar::Str(u.arbitrary()?),
        17 => Scalar::Str("a".repeat(u.int_in_range(62..=300)?)),
        18 if g.yaml => Scalar::Tagged((*u.choose(&["80", "true", "x", "1.5"])?).into()),
        _ => Scalar::Str(format!(
            "{}-{}",
            u.choose(WORDS)?,
            u.int_in_range(0..=99u32)?
        )),
    })
}

/// Inputs that stress the reader's limits: deep nesting, wide mappings with a duplicate key.
fn hostile(u: &mut Unstructured<'_>, g: &mut Gen) -> Result<Tree> {
    Ok(match u.int_in_range(0..=2)? {
        0 => {
            let depth = u.int_in_range(200..=300)?;
            let mut t = Tree::Scalar(Scalar::Int(1));
            for i in 0..depth {
                t = if i % 2 == 0 {
                    Tree::Seq(vec![t])
                } else {
                    Tree::Map(vec![("d".into(), t)])
                };
            }
            t
        }
        1 => {
            let n = u.int_in_range(10..=200)?;
            let mut m: Vec<(String, Tree)> = (0..n)
                .map(|i| (format!("k{i}"), Tree::Scalar(Scalar::Int(i64::from(i)))))
                .collect();
            if u.arbitrary()? {
                let dup = u.int_in_range(0..=n - 1)?;
                m.push((format!("k{dup}"), Tree::Scalar(Scalar::Null)));
            }
            Tree::Map(m)
        }
        _ => Tree::Scalar(scalar(u, g)?),
    })
}

fn needs_quotes(s: &str) -> bool {
    s.is_empty()
        || s.len() > 1000
        || s.chars()
            .any(|c| !(c.is_ascii_alphanumeric() || "-./_".contains(c)))
}

/// Block-style YAML at `indent` (a mapping's keys, a sequence's dashes).
pub fn write_yaml(out: &mut String, t: &Tree, indent: usize) {
    match t {
        Tree::Map(m) if !m.is_empty() => {
            for (k, v) in m {
                out.push_str(&" ".repeat(indent));
                if k == "<<" {
                    out.push_str("<<");
                } else {
                    out.push_str(&json_string(k));
                }
                out.push(':');
                child(out, v, indent);
            }
        }
        Tree::Seq(items) if !items.is_empty() => {
            for v in items {
                out.push_str(&" ".repeat(indent));
                out.push('-');
                child(out, v, indent + 2);
            }
        }
        other => {
            out.push_str(&" ".repeat(indent));
            inline(out, other);
            out.push('\n');
        }
    }
}

fn child(out: &mut String, v: &Tree, indent: usize) {
    match v {
        Tree::Map(m) if !m.is_empty() => {
            out.push('\n');
            write_yaml(out, v, indent + 2);
        }
        Tree::Seq(s) if !s.is_empty() => {
            out.push('\n');
            write_yaml(out, v, indent + 2);
        }
        Tree::Anchor(a, inner) => {
            out.push_str(&format!(" &a{a}"));
            child(out, inner, indent);
        }
        other => {
            out.push(' ');
            inline(out, other);
            out.push('\n');
        }
    }
}

/// Flow-style YAML for scalars, empty collections and aliases.
fn inline(out: &mut String, t: &Tree) {
    match t {
        Tree::Scalar(Scalar::Str(s)) if needs_quotes(s) => out.push_str(&json_string(s)),
        Tree::Scalar(Scalar::Str(s)) => out.push_str(s),
        Tree::Scalar(Scalar::Int(i)) => out.push_str(&i.to_string()),
        Tree::Scalar(Scalar::Bool(b)) => out.push_str(&b.to_string()),
        Tree::Scalar(Scalar::Null) => out.push_str("null"),
        Tree::Scalar(Scalar::Tagged(s)) => out.push_str(&format!("!foo {s}")),
        Tree::Map(_) => out.push_str("{}"),
        Tree::Seq(_) => out.push_str("[]"),
        Tree::Alias(a) => out.push_str(&format!("*a{a}")),
        Tree::Anchor(a, inner) => {
            out.push_str(&format!("&a{a} "));
            let mut s = String::new();
            write_json(&mut s, inner);
            out.push_str(&s);
        }
    }
}

fn json_string(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{85}' => {
                o.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if !c.is_ascii() && (c as u32) > 0xffff => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    o.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// JSON (anchors written as their value, aliases as null).
pub fn write_json(out: &mut String, t: &Tree) {
    match t {
        Tree::Scalar(Scalar::Str(s)) | Tree::Scalar(Scalar::Tagged(s)) => {
            out.push_str(&json_string(s))
        }
        Tree::Scalar(Scalar::Int(i)) => out.push_str(&i.to_string()),
        Tree::Scalar(Scalar::Bool(b)) => out.push_str(&b.to_string()),
        Tree::Scalar(Scalar::Null) | Tree::Alias(_) => out.push_str("null"),
        Tree::Anchor(_, inner) => write_json(out, inner),
        Tree::Seq(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(out, v);
            }
            out.push(']');
        }
        Tree::Map(m) => {
            out.push_str("{\n");
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                out.push_str(&json_string(k));
                out.push_str(": ");
                write_json(out, v);
            }
            out.push_str("\n}");
        }
    }
}

/// A label selector string built from the grammar's pieces (and arbitrary text).
pub fn selector(u: &mut Unstructured<'_>) -> Result<String> {
    let n = u.int_in_range(0..=4)?;
    let mut parts = Vec::new();
    for _ in 0..n {
        let k = key(u)?;
        let part = match u.int_in_range(0..=7)? {
            0 => format!("{k}={}", u.choose(WORDS)?),
            1 => format!("{k}=={}", u.choose(WORDS)?),
            2 => format!("{k}!={}", u.choose(WORDS)?),
            3 => format!("{k} in ({}, {})", u.choose(WORDS)?, u.choose(WORDS)?),
            4 => format!("{k} notin ({})", u.choose(WORDS)?),
            5 => format!("!{k}"),
            6 => k,
            _ => u.arbitrary::<String>()?,
        };
        parts.push(part);
    }
    Ok(parts.join(if u.arbitrary()? { "," } else { " , " }))
}

/// The reader's promise on any text: no panic, every diagnostic placed and short, and JSON read
/// alike by the JSON fast path and the YAML parser.
pub fn check_read(text: &str, is_json: bool) {
    let read = manifest::read("fuzz", text);
    for d in &read.diagnostics {
        if let Some(loc) = &d.loc {
            // Every diagnostic with a place names a real line and column (both 1-based).
            assert!(loc.line >= 1 && loc.col >= 1, "{d}");
        }
        assert!(
            d.message.len() < 16_384,
            "a message of {} bytes",
            d.message.len()
        );
    }
    if is_json && let (Ok(a), Ok(b)) = (json::parse_documents(text), yaml::parse_documents(text)) {
        assert_eq!(a, b, "the JSON and YAML parsers disagree on {text:?}");
    }
    check_pieces(text, &read);
}

/// Read in pieces of a few sizes (as the CLI reads a file), the text gives what it gives read
/// whole, or nothing and `false` (it is then read whole).
pub fn check_pieces(text: &str, whole: &manifest::Read) {
    for size in [1, 3, 64, 1 << 20] {
        let mut rest = text.as_bytes();
        let mut read = manifest::Read::default();
        let done = read
            .add_pieces("fuzz", text.len(), |buf, want| {
                let n = want.min(size).min(rest.len());
                buf.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
                Ok::<_, ()>(n)
            })
            .unwrap_or_default();
        if done {
            assert_eq!(read.objects, whole.objects, "pieces of {size}: {text:?}");
            assert_eq!(
                read.diagnostics, whole.diagnostics,
                "pieces of {size}: {text:?}"
            );
        } else {
            assert_eq!(read.objects, manifest::Read::default().objects);
            assert!(read.diagnostics.is_empty());
        }
    }
}

/// The whole path: load, plan every node, route to every virtual server; no panic.
pub fn check_load_plan_route(text: &str) {
    let Ok(cluster) = manifest::load([("fuzz", text)], Config::default(), &Default::default())
    else {
        return;
    };
    let mut targets = Vec::new();
    for node in &cluster.nodes {
        let Ok(p) = plan(&cluster, Some(node.meta.id.name.as_str())) else {
            continue;
        };
        for vs in p.virtual_servers.iter().take(4) {
            targets.push(match vs.address {
                core::net::IpAddr::V4(a) => format!("{a}:{}", vs.port),
                core::net::IpAddr::V6(a) => format!("[{a}]:{}", vs.port),
            });
        }
    }
    for r in &cluster.services {
        targets.push(format!(
            "{}.{}:80",
            r.service.meta.id.name, r.service.meta.id.namespace
        ));
    }
    let mut sim = Simulator::new();
    for to in targets.into_iter().take(8) {
        let req = Request {
            to,
            count: 3,
            ..Request::default()
        };
        let _ = route(&cluster, &req, &mut sim);
    }
}

/// Label selectors: parsing never panics, and what parses prints back to itself (kubectl's
/// `String()`), which parses to the same selector.
pub fn check_selector(text: &str) {
    let Ok(sel) = Selector::parse(text) else {
        return;
    };
    let printed = sel.to_string();
    let again = Selector::parse(&printed)
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which does not parse: {e}"));
    assert_eq!(again.to_string(), printed, "{text:?}");
    let mut labels = Labels::new();
    for r in sel.requirements() {
        if let Some(v) = r.values().first() {
            labels.insert(r.key().to_string(), v.clone());
        }
    }
    let _ = sel.matches(&labels);
}
