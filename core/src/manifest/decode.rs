//! From the position-carrying YAML tree to checked objects, validating as the API server does.
//!
//! Every problem becomes a [`Diagnostic`] at the line and column of the offending key or value,
//! with a message in the API server's words (`spec.ports[0].port: Invalid value: 0: must be
//! between 1 and 65535, inclusive`). An invalid object is left out; reading goes on.

use alloc::borrow::ToOwned;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::net::IpAddr;

use ipnet::IpNet;

use super::Read;
use super::quoted_list;
use super::schema::{self, Shape};
use super::yaml::{Entry, Node, Pos, Value};
use crate::diag::{Diagnostic, Kind, Loc, Msg};
use crate::labels::{Labels, Selector};
use crate::model::{self, *};
use crate::validation;

/// Reads `text` (named `file`) into `out`.
pub(crate) fn read_into(file: &Arc<str>, text: &str, out: &mut Read) {
    let first = out.diagnostics.len();
    read_text(file, text, out);
    // Within a file, report in the order of the text.
    crate::sort::sort_by_key(&mut out.diagnostics[first..], |d| {
        d.loc.as_ref().map(|l| (l.line, l.col))
    });
}

fn read_text(file: &Arc<str>, text: &str, out: &mut Read) {
    let streamed = if super::looks_like_json(text) {
        read_streaming(file, text, out, super::json::parse_documents_streaming)
    } else {
        read_streaming(file, text, out, super::yaml::parse_documents_streaming)
    };
    if streamed {
        return;
    }
    let parsed = super::parse(text);
    let docs = match parsed {
        Ok(docs) => docs,
        Err((what, e)) => {
            out.diagnostics.push(Diagnostic::error(
                Kind::Syntax,
                Some(loc(file, e.pos)),
                crate::msg!(
                    "invalid {}: {}",
                    what,
                    match e.message {
                        // The parser's own words: matched back to their template if one fits.
                        Msg::Raw(text) => super::parser_messages::structured(text),
                        m => m,
                    }
                ),
            ));
            return;
        }
    };
    for doc in &docs {
        read_object(file, doc, out);
    }
}

/// Texts from this size on reserve room for their Pods up front (see [`read_streaming`]).
const RESERVE_FROM: usize = 1 << 20;

/// Fewer bytes than any Pod `kubectl get -o json` prints takes (a bare one with a container,
/// an address and a Ready condition is about 500).
const BYTES_PER_POD: usize = 512;

/// A parser that hands over documents and the items of a top-level `items` list one by one.
type StreamingParser =
    for<'a> fn(&'a str, &mut dyn FnMut(Node<'a>, bool)) -> Result<(), super::yaml::SyntaxError>;

/// Reads JSON or YAML decoding each item of a `List` as soon as the parser has it, then
/// dropping its tree: the whole List's tree is never held (it was most of the reader's memory).
/// Adds nothing and returns false when the text needs the whole-tree path, which then gives the
/// same result as ever: a syntax error (JSON's YAML retry and its message), more than
/// [`super::MAX_OBJECTS`] objects, items streamed from an object that turns out not to be a
/// List `read_object` flattens (no string `kind` ending in `List`, or no string `apiVersion`),
/// or YAML whose anchors or merges streaming would change.
fn read_streaming(file: &Arc<str>, text: &str, out: &mut Read, parse: StreamingParser) -> bool {
    read_handed(file, text.len(), out, |each| {
        parse(text, &mut |node, whole| each(node, whole)).is_ok()
    })
}

/// Reads a text given in pieces (see [`super::json::pieces`]) into `out`, as [`read_into`]
/// reads it whole. Adds nothing and returns `Ok(false)` when the text is to be read whole
/// instead; `size` is its length, or a guess.
pub(crate) fn read_pieces<E>(
    file: &Arc<str>,
    size: usize,
    out: &mut Read,
    fill: &mut super::json::pieces::Fill<'_, E>,
) -> Result<bool, E> {
    let first = out.diagnostics.len();
    let mut failed = None;
    let read = read_handed(file, size, out, |each| {
        super::json::pieces::parse_pieces(fill, each).unwrap_or_else(|e| {
            failed = Some(e);
            false
        })
    });
    if let Some(e) = failed {
        return Err(e);
    }
    crate::sort::sort_by_key(&mut out.diagnostics[first..], |d| {
        d.loc.as_ref().map(|l| (l.line, l.col))
    });
    Ok(read)
}

/// [`read_streaming`] for any parser: `hand` hands over documents (`each(doc, true)`) and a
/// List's items (`each(item, false)`), and returns whether it read the text to its end. `size`
/// is the text's length.
fn read_handed(
    file: &Arc<str>,
    size: usize,
    out: &mut Read,
    hand: impl FnOnce(&mut dyn for<'w> FnMut(Node<'w>, bool)) -> bool,
) -> bool {
    let mut local = Read::default();
    let mut pending = Read::default();
    // A List's length is known only at its end, and growing a Vec of Pods by doubling copies
    // every Pod read so far into fresh memory at each step (a sixth of reading 10,000 × 10
    // went to it). Room for as many Pods as the text could hold is reserved instead: address
    // space, not memory, until a Pod is written into it.
    if size >= RESERVE_FROM {
        pending.objects.pods.reserve(size / BYTES_PER_POD);
    }
    let mut streamed = false;
    let mut objects = 0usize;
    let mut ok = true;
    let parsed = hand(&mut |node, whole| {
        if !ok {
            return;
        }
        let is_list = whole
            && match &node.value {
                Value::Map(entries) => {
                    let string = |key| {
                        entries
                            .iter()
                            .find(|e| e.key == key)
                            .and_then(|e| match &e.value.value {
                                Value::Str(s) => Some(&**s),
                                _ => None,
                            })
                    };
                    string("kind").is_some_and(|k| k.ends_with("List"))
                        && string("apiVersion").is_some()
                        && super::list_items(entries).is_some()
                }
                _ => false,
            };
        if !whole || !is_list {
            objects += 1;
            if objects > super::MAX_OBJECTS || (whole && streamed) {
                ok = false;
                return;
            }
        }
        if whole {
            local.objects.extend(core::mem::take(&mut pending.objects));
            local.diagnostics.append(&mut pending.diagnostics);
            streamed = false;
            read_object(file, &node, &mut local);
        } else {
            streamed = true;
            read_object(file, &node, &mut pending);
        }
    });
    if !parsed || !ok {
        return false;
    }
    out.objects.extend(local.objects);
    out.diagnostics.append(&mut local.diagnostics);
    true
}

fn loc(file: &Arc<str>, pos: Pos) -> Loc {
    Loc {
        file: file.clone(),
        line: pos.line,
        col: pos.col,
    }
}

fn read_object(file: &Arc<str>, node: &Node, out: &mut Read) {
    let mut cx = Cx {
        file,
        diags: &mut out.diagnostics,
        what: What::Nothing,
        errors: 0,
    };
    let Value::Map(entries) = &node.value else {
        cx.err(
            Kind::Type,
            node.pos,
            crate::msg!(
                "expected a Kubernetes object, got {}",
                describe(&node.value)
            ),
        );
        return;
    };
    let api_version = cx.str(entries, "apiVersion", &"");
    let kind = cx.str(entries, "kind", &"");
    let Some((kind, kind_pos)) = kind else {
        let hint = case_hint(entries, "kind");
        cx.err(
            Kind::Required,
            node.pos,
            crate::msg!("Object 'Kind' is missing{}", hint),
        );
        return;
    };
    let Some((api_version, _)) = api_version else {
        let hint = case_hint(entries, "apiVersion");
        cx.err(
            Kind::Required,
            node.pos,
            crate::msg!("Object 'apiVersion' is missing{}", hint),
        );
        if let Some((known, version)) = schema::KINDS
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(kind))
            && *known != kind
        {
            cx.err(
                Kind::Invalid,
                kind_pos,
                crate::msg!(
                    "no matches for kind {}: did you mean kind {} (apiVersion {})?",
                    format!("{:?}", kind),
                    format!("{:?}", known),
                    format!("{:?}", version)
                ),
            );
        }
        return;
    };
    // kubectl flattens objects with `items` (a custom `FooList` too); a `…List` without
    // `items` is an ordinary object, reported below like any other kind.
    if kind.ends_with("List") && entries.iter().any(|e| e.key == "items") {
        let Some((items, _)) = cx.seq(entries, "items", &"") else {
            return;
        };
        for item in items {
            read_object(file, item, out);
        }
        return;
    }
    let Some(root) = schema::root(api_version, kind) else {
        if let Some((known, version)) = schema::KINDS
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(kind))
        {
            let hint = if *known == kind {
                crate::msg!(
                    ": {} is served as apiVersion {}",
                    kind,
                    format!("{:?}", version)
                )
            } else {
                crate::msg!(
                    ": did you mean kind {} (apiVersion {})?",
                    format!("{:?}", known),
                    format!("{:?}", version)
                )
            };
            cx.err(
                Kind::Invalid,
                kind_pos,
                crate::msg!(
                    "no matches for kind {} in version {}{}",
                    format!("{:?}", kind),
                    format!("{:?}", api_version),
                    hint
                ),
            );
        } else {
            // A typo of a kind svcroute reads (`Servcie`): say which one was meant.
            let typo = near_kind(kind)
                .map(|(k, v)| {
                    crate::msg!(" (did you mean {}? apiVersion {})", k, format!("{:?}", v))
                })
                .unwrap_or_default();
            // At the `kind:` value, as the API server's "no matches for kind" points at it.
            cx.diags.push(Diagnostic::warning(
                Kind::SkippedKind,
                Some(loc(file, kind_pos)),
                crate::msg!(
                    "skipped {} ({}){}: svcroute reads Service, Pod, Node, EndpointSlice, \
                     Endpoints, Deployment, ReplicaSet, StatefulSet and DaemonSet",
                    kind,
                    api_version,
                    typo
                ),
            ));
        }
        return;
    };

    let meta_entries = cx.map(entries, "metadata", &"");
    let name = meta_entries.and_then(|(m, _)| cx.str(m, "name", &"metadata"));
    let namespace = meta_entries
        .and_then(|(m, _)| cx.str(m, "namespace", &"metadata"))
        .map_or("default", |(ns, _)| ns);
    let cluster_scoped = kind == "Node";
    let name = name.map_or("", |(n, _)| n);
    let id = ObjectRef::new(
        if cluster_scoped {
            String::new()
        } else {
            namespace.to_owned()
        },
        name.to_owned(),
    );
    cx.what = if cluster_scoped {
        What::Cluster { kind, name }
    } else {
        What::Namespaced {
            kind,
            namespace,
            name,
        }
    };

    check_fields(&mut cx, node, Shape::Object(root), &FieldPath::Root);

    let Some((meta_entries, meta_pos)) = meta_entries else {
        cx.err(
            Kind::Required,
            node.pos,
            crate::msg!("metadata.name: Required value: name is required"),
        );
        return;
    };
    let (meta, annotations) = read_meta(&mut cx, kind, id, meta_entries, meta_pos, node.pos);
    let spec = cx.map(entries, "spec", &"").map(|(m, _)| m).unwrap_or(&[]);
    let status = cx
        .map(entries, "status", &"")
        .map(|(m, _)| m)
        .unwrap_or(&[]);
    let objects = &mut out.objects;
    match kind {
        "Service" => {
            if let Some(s) = read_service(&mut cx, meta, &annotations, spec, status, node.pos) {
                objects.services.push(s);
            }
        }
        "Pod" => {
            if let Some(p) = read_pod(&mut cx, meta, spec, status, node.pos) {
                objects.pods.push(p);
            }
        }
        "Node" => {
            if let Some(n) = read_node(&mut cx, meta, spec, status) {
                objects.nodes.push(n);
            }
        }
        "EndpointSlice" => {
            if let Some(s) = read_slice(&mut cx, meta, entries) {
                objects.slices.push(s);
            }
        }
        "Endpoints" => {
            let slices = read_endpoints(&mut cx, meta, &annotations, entries);
            objects.slices.extend(slices);
        }
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => {
            let wk = match kind {
                "Deployment" => WorkloadKind::Deployment,
                "ReplicaSet" => WorkloadKind::ReplicaSet,
                "StatefulSet" => WorkloadKind::StatefulSet,
                _ => WorkloadKind::DaemonSet,
            };
            if let Some(w) = read_workload(&mut cx, wk, meta, spec, node.pos) {
                objects.workloads.push(w);
            }
        }
        _ => {}
    }
}

/// The kind svcroute reads that `kind` is a typo of: one edit away (an insertion, a deletion,
/// a substitution or a swap of neighbours), two for names of seven letters or more. Names
/// shorter than six letters get no guess: `Role` is a real kind one edit from `Node`.
fn near_kind(kind: &str) -> Option<(&'static str, &'static str)> {
    let a: Vec<char> = kind.chars().collect();
    if a.len() < 6 {
        return None;
    }
    let most = if a.len() >= 7 { 2 } else { 1 };
    schema::KINDS
        .iter()
        .map(|&(k, v)| (edits(&a, &k.chars().collect::<Vec<_>>()), k, v))
        .filter(|(d, _, _)| *d <= most)
        .min_by_key(|(d, _, _)| *d)
        .map(|(_, k, v)| (k, v))
}

/// Optimal string alignment distance (Damerau–Levenshtein without repeated edits).
fn edits(a: &[char], b: &[char]) -> usize {
    let mut d = alloc::vec![alloc::vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// " (found \"apiversion\": field names are case-sensitive)" when a near spelling exists.
fn case_hint(entries: &[Entry], want: &str) -> Msg {
    match entries
        .iter()
        .find(|e| e.key.eq_ignore_ascii_case(want) && e.key != want)
    {
        Some(e) => crate::msg!(
            " (line {} has {}: field names are case-sensitive, write {})",
            e.key_pos.line,
            format!("{:?}", e.key),
            format!("{:?}", want)
        ),
        None => Msg::default(),
    }
}

/// `Value::describe` as a message: "the number 5", "a list", ….
fn describe(v: &Value) -> Msg {
    match v {
        Value::Null => crate::msg!("null"),
        Value::Bool(b) => crate::msg!("the boolean {}", b),
        Value::Int(i) => crate::msg!("the number {}", i),
        Value::Float(f) => crate::msg!("the number {}", f),
        Value::Str(s) => crate::msg!("the string {}", format!("{s:?}")),
        Value::Seq(_) => crate::msg!("a list"),
        Value::Map(_) => crate::msg!("an object"),
    }
}

/// Accumulates diagnostics for one object.
struct Cx<'a> {
    file: &'a Arc<str>,
    diags: &'a mut Vec<Diagnostic>,
    what: What<'a>,
    errors: usize,
}

/// The object a message is about (`Service "ns/web"`, `Node "a"`), written only when a
/// message is made (not once per object read).
enum What<'a> {
    /// Nothing yet (the object's kind or name is not known).
    Nothing,
    /// A namespaced object.
    Namespaced {
        kind: &'a str,
        namespace: &'a str,
        name: &'a str,
    },
    /// A cluster-scoped object (a Node): its name quoted as Go's `%q` would.
    Cluster { kind: &'a str, name: &'a str },
    /// Already written (a name the reader generated).
    Text(String),
}

impl What<'_> {
    fn is_empty(&self) -> bool {
        match self {
            What::Nothing => true,
            What::Text(s) => s.is_empty(),
            _ => false,
        }
    }
}

impl core::fmt::Display for What<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            What::Nothing => Ok(()),
            What::Namespaced {
                kind,
                namespace,
                name,
            } => write!(f, "{kind} \"{namespace}/{name}\""),
            What::Cluster { kind, name } => write!(f, "{kind} {name:?}"),
            What::Text(s) => f.write_str(s),
        }
    }
}

/// A field path (`spec.ports[0]`) as reading passes it down: written out only when a message
/// is made, so reading a list's items formats and allocates no path.
trait Path: core::fmt::Display {
    /// The object's root (written as nothing: its fields' paths are their bare names).
    fn is_root(&self) -> bool {
        false
    }
}

impl Path for &str {
    fn is_root(&self) -> bool {
        self.is_empty()
    }
}

impl Path for String {
    fn is_root(&self) -> bool {
        self.is_empty()
    }
}

/// `parent.key[index]`: an item of a list, as [`Cx::objects`] and [`Cx::strings`] give it.
#[derive(Clone, Copy)]
struct Item<'p> {
    parent: &'p dyn Path,
    key: &'p str,
    index: usize,
}

impl core::fmt::Display for Item<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}[{}]", Sub(self.parent, self.key), self.index)
    }
}

impl Path for Item<'_> {}

/// `prefix.key` (or `key` at the root), written out for a message.
fn join(prefix: &dyn Path, key: &str) -> String {
    Sub(prefix, key).to_string()
}

/// [`join`] as a value written only when shown: a path for a message that is usually not made.
struct Sub<'a>(&'a dyn Path, &'a str);

impl core::fmt::Display for Sub<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if !self.0.is_root() {
            write!(f, "{}.", self.0)?;
        }
        f.write_str(self.1)
    }
}

impl Path for Sub<'_> {}

/// The nodes of `keys` in `m`, each as [`Cx::field`] finds it (the first entry with the key,
/// unless null), in one pass over `m`: for a mapping read for several fields (a
/// [`Cx::field`] each is a pass each).
// Inlined where called natively, so the keys are constants (compared by length first); the
// browser build looks the keys up one by one (smaller code; see ARCHITECTURE.md, Choices).
#[cfg_attr(not(target_arch = "wasm32"), inline(always))]
fn fields<'n, const N: usize>(m: &'n [Entry<'n>], keys: [&str; N]) -> [Option<&'n Node<'n>>; N] {
    #[cfg(target_arch = "wasm32")]
    return keys.map(|k| field(m, k));
    #[cfg(not(target_arch = "wasm32"))]
    {
        let mut found: [Option<&'n Node<'n>>; N] = [None; N];
        let mut seen = [false; N];
        for e in m {
            let key: &str = &e.key;
            for ((k, node), seen) in keys.iter().zip(&mut found).zip(&mut seen) {
                if key == *k {
                    if !*seen {
                        *seen = true;
                        *node = Some(&e.value).filter(|n| !matches!(n.value, Value::Null));
                    }
                    break;
                }
            }
        }
        found
    }
}

/// A present, non-null field: the first entry with the key, unless null.
fn field<'n>(m: &'n [Entry<'n>], key: &str) -> Option<&'n Node<'n>> {
    m.iter()
        .find(|e| e.key == key)
        .map(|e| &e.value)
        .filter(|n| !matches!(n.value, Value::Null))
}

impl<'a> Cx<'a> {
    fn err(&mut self, kind: Kind, pos: Pos, message: Msg) {
        self.errors += 1;
        let message = if self.what.is_empty() {
            message
        } else {
            crate::msg!("{}: {}", self.what, message)
        };
        self.diags
            .push(Diagnostic::error(kind, Some(loc(self.file, pos)), message));
    }

    fn warn(&mut self, pos: Pos, message: Msg) {
        let message = crate::msg!("{}: {}", self.what, message);
        self.diags.push(Diagnostic::warning(
            Kind::Note,
            Some(loc(self.file, pos)),
            message,
        ));
    }

    fn loc(&self, pos: Pos) -> Loc {
        loc(self.file, pos)
    }

    fn invalid(&mut self, pos: Pos, path: &str, value: impl core::fmt::Display, detail: Msg) {
        self.err(
            Kind::Invalid,
            pos,
            crate::msg!("{}: Invalid value: {}: {}", path, value, detail),
        );
    }

    /// A CIDR (host bits cleared), or the API server's error about `shown`.
    fn cidr(&mut self, s: &str, shown: &str, pos: Pos, path: &str) -> Option<IpNet> {
        match s.parse::<IpNet>() {
            Ok(net) => Some(net.trunc()),
            Err(_) => {
                self.invalid(
                    pos,
                    path,
                    format_args!("{shown:?}"),
                    crate::msg!("must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"),
                );
                None
            }
        }
    }

    fn required(&mut self, pos: Pos, path: &str, detail: Option<Msg>) {
        let message = match detail {
            None => crate::msg!("{}: Required value", path),
            Some(d) => crate::msg!("{}: Required value: {}", path, d),
        };
        self.err(Kind::Required, pos, message);
    }

    fn unsupported(&mut self, pos: Pos, path: &str, value: &str, allowed: &[&str]) {
        self.err(
            Kind::Invalid,
            pos,
            crate::msg!(
                "{}: Unsupported value: {}: supported values: {}",
                path,
                format!("{:?}", value),
                quoted_list(allowed)
            ),
        );
    }

    fn type_error(&mut self, node: &Node, path: impl core::fmt::Display, want: Msg) {
        let hint = match (&node.value, &want) {
            (Value::Int(_) | Value::Float(_) | Value::Bool(_), Msg::Template("a string", _)) => {
                crate::msg!(" (quote it to make it a string)")
            }
            _ => Msg::default(),
        };
        self.err(
            Kind::Type,
            node.pos,
            crate::msg!(
                "{}: expected {}, got {}{}",
                path,
                want,
                describe(&node.value),
                hint
            ),
        );
    }

    /// A present, non-null field (see [`field`]).
    fn field<'n>(&self, m: &'n [Entry<'n>], key: &str) -> Option<&'n Node<'n>> {
        field(m, key)
    }

    fn str<'n>(
        &mut self,
        m: &'n [Entry<'n>],
        key: &str,
        prefix: &dyn Path,
    ) -> Option<(&'n str, Pos)> {
        self.str_of(self.field(m, key), key, prefix)
    }

    /// [`Cx::str`] of a node [`fields`] found.
    fn str_of<'n>(
        &mut self,
        node: Option<&'n Node<'n>>,
        key: &str,
        prefix: &dyn Path,
    ) -> Option<(&'n str, Pos)> {
        let node = node?;
        match &node.value {
            Value::Str(s) => Some((&**s, node.pos)),
            _ => {
                self.type_error(node, join(prefix, key), crate::msg!("a string"));
                None
            }
        }
    }

    fn int(&mut self, m: &[Entry], key: &str, prefix: &dyn Path) -> Option<(i64, Pos)> {
        let node = self.field(m, key)?;
        match node.value {
            Value::Int(i) => Some((i, node.pos)),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some((f as i64, node.pos)),
            _ => {
                self.type_error(node, join(prefix, key), crate::msg!("an integer"));
                None
            }
        }
    }

    fn bool(&mut self, m: &[Entry], key: &str, prefix: &dyn Path) -> Option<(bool, Pos)> {
        self.bool_of(self.field(m, key), key, prefix)
    }

    /// [`Cx::bool`] of a node [`fields`] found.
    fn bool_of(
        &mut self,
        node: Option<&Node>,
        key: &str,
        prefix: &dyn Path,
    ) -> Option<(bool, Pos)> {
        let node = node?;
        match node.value {
            Value::Bool(b) => Some((b, node.pos)),
            _ => {
                self.type_error(node, join(prefix, key), crate::msg!("a boolean"));
                None
            }
        }
    }

    fn map<'n>(
        &mut self,
        m: &'n [Entry<'n>],
        key: &str,
        prefix: &dyn Path,
    ) -> Option<(&'n [Entry<'n>], Pos)> {
        self.map_of(self.field(m, key), key, prefix)
    }

    /// [`Cx::map`] of a node [`fields`] found.
    fn map_of<'n>(
        &mut self,
        node: Option<&'n Node<'n>>,
        key: &str,
        prefix: &dyn Path,
    ) -> Option<(&'n [Entry<'n>], Pos)> {
        let node = node?;
        match &node.value {
            Value::Map(e) => Some((e.as_slice(), node.pos)),
            _ => {
                self.type_error(node, join(prefix, key), crate::msg!("an object"));
                None
            }
        }
    }

    fn seq<'n>(
        &mut self,
        m: &'n [Entry<'n>],
        key: &str,
        prefix: &dyn Path,
    ) -> Option<(&'n [Node<'n>], Pos)> {
        self.seq_of(self.field(m, key), key, prefix)
    }

    /// [`Cx::seq`] of a node [`fields`] found.
    fn seq_of<'n>(
        &mut self,
        node: Option<&'n Node<'n>>,
        key: &str,
        prefix: &dyn Path,
    ) -> Option<(&'n [Node<'n>], Pos)> {
        let node = node?;
        match &node.value {
            Value::Seq(items) => Some((items.as_slice(), node.pos)),
            _ => {
                self.type_error(node, join(prefix, key), crate::msg!("a list"));
                None
            }
        }
    }

    /// Items of a list of objects, with their paths (`spec.ports[0]`). An item that is not an
    /// object is reported here, before any item is read (nulls are skipped), so reading the
    /// items needs no vector of them.
    fn objects<'n, 'p>(
        &mut self,
        m: &'n [Entry<'n>],
        key: &'p str,
        prefix: &'p dyn Path,
    ) -> impl Iterator<Item = (&'n [Entry<'n>], Pos, Item<'p>)> + Clone + use<'n, 'p> {
        self.objects_of(self.field(m, key), key, prefix)
    }

    /// [`Cx::objects`] of a node [`fields`] found.
    #[cfg_attr(not(target_arch = "wasm32"), inline)]
    fn objects_of<'n, 'p>(
        &mut self,
        node: Option<&'n Node<'n>>,
        key: &'p str,
        prefix: &'p dyn Path,
    ) -> impl Iterator<Item = (&'n [Entry<'n>], Pos, Item<'p>)> + Clone + use<'n, 'p> {
        let items = self
            .seq_of(node, key, prefix)
            .map_or(&[][..], |(items, _)| items);
        for (index, item) in items.iter().enumerate() {
            if !matches!(item.value, Value::Map(_) | Value::Null) {
                let p = Item {
                    parent: prefix,
                    key,
                    index,
                };
                self.type_error(item, p, crate::msg!("an object"));
            }
        }
        items
            .iter()
            .enumerate()
            .filter_map(move |(index, item)| match &item.value {
                Value::Map(e) => Some((
                    e.as_slice(),
                    item.pos,
                    Item {
                        parent: prefix,
                        key,
                        index,
                    },
                )),
                _ => None,
            })
    }

    /// Items of a list of strings.
    fn strings<'n, 'p>(
        &mut self,
        m: &'n [Entry<'n>],
        key: &'p str,
        prefix: &'p dyn Path,
    ) -> Vec<(&'n str, Pos, Item<'p>)> {
        let mut out = Vec::new();
        if let Some((items, _)) = self.seq(m, key, prefix) {
            for (index, item) in items.iter().enumerate() {
                let p = Item {
                    parent: prefix,
                    key,
                    index,
                };
                match &item.value {
                    Value::Str(s) => out.push((&**s, item.pos, p)),
                    _ => self.type_error(item, p, crate::msg!("a string")),
                }
            }
        }
        out
    }

    /// A map of strings (labels, selectors), validated as label keys and values.
    fn labels(&mut self, m: &[Entry], key: &str, prefix: &dyn Path) -> Labels {
        self.labels_of(self.field(m, key), key, prefix)
    }

    /// [`Cx::labels`] of a node [`fields`] found.
    fn labels_of(&mut self, node: Option<&Node>, key: &str, prefix: &dyn Path) -> Labels {
        let Some((entries, _)) = self.map_of(node, key, prefix) else {
            return Labels::new();
        };
        let mut out = Labels::with_capacity(entries.len());
        let path = Sub(prefix, key);
        for e in entries {
            let p = || format!("{path}.{}", e.key);
            if let Err(msg) = validation::qualified_name(&e.key) {
                self.invalid(
                    e.key_pos,
                    &path.to_string(),
                    format_args!("{:?}", e.key),
                    msg,
                );
                continue;
            }
            let value: &str = match &e.value.value {
                Value::Str(s) => s,
                Value::Null => "",
                _ => {
                    self.type_error(&e.value, p(), crate::msg!("a string"));
                    continue;
                }
            };
            if let Err(msg) = validation::label_value(value) {
                self.invalid(e.value.pos, &p(), format_args!("{value:?}"), msg);
                continue;
            }
            out.insert(e.key.to_string(), value.to_owned());
        }
        out
    }

    fn ip(&mut self, s: &str, pos: Pos, path: impl core::fmt::Display) -> Option<IpAddr> {
        match validation::ip_address(s) {
            Ok(ip) => Some(ip),
            Err(msg) => {
                self.invalid(pos, &path.to_string(), format_args!("{s:?}"), msg);
                None
            }
        }
    }

    fn port(&mut self, value: i64, pos: Pos, path: impl core::fmt::Display) -> Option<u16> {
        match validation::port_number(value) {
            Ok(()) => u16::try_from(value).ok(),
            Err(msg) => {
                self.invalid(pos, &path.to_string(), value, msg);
                None
            }
        }
    }

    fn protocol(&mut self, m: &[Entry], prefix: &dyn Path) -> Protocol {
        match self.str(m, "protocol", prefix) {
            // SetDefaults_ServicePort / SetDefaults_ContainerPort: "" is unset.
            None | Some(("", _)) => Protocol::Tcp,
            Some((p, pos)) => Protocol::parse(p).unwrap_or_else(|| {
                self.unsupported(pos, &join(prefix, "protocol"), p, &["SCTP", "TCP", "UDP"]);
                Protocol::Tcp
            }),
        }
    }
}

/// A field path built on the stack as [`check_fields`] descends, rendered only for a diagnostic
/// (`spec.ports[0].nmae`), so the success path formats nothing.
#[derive(Clone, Copy)]
enum FieldPath<'a> {
    Root,
    Key(&'a FieldPath<'a>, &'a str),
    Index(&'a FieldPath<'a>, usize),
}

impl core::fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FieldPath::Root => Ok(()),
            FieldPath::Key(FieldPath::Root, key) => f.write_str(key),
            FieldPath::Key(parent, key) => write!(f, "{parent}.{key}"),
            FieldPath::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// Strict field validation: every key must be a field the API knows, every value of the
/// right shape. The path uses the API server's form: `spec.ports[0].nmae`.
fn check_fields(cx: &mut Cx<'_>, node: &Node, shape: Shape, path: &FieldPath<'_>) {
    if matches!(node.value, Value::Null) {
        return;
    }
    match shape {
        Shape::Any => {}
        Shape::Scalar => {
            if matches!(node.value, Value::Seq(_) | Value::Map(_)) {
                shape_error(cx, node, path, crate::msg!("a single value"));
            }
        }
        Shape::Object(ty) => {
            let Value::Map(entries) = &node.value else {
                shape_error(cx, node, path, crate::msg!("an object"));
                return;
            };
            check_object(cx, entries, ty, path);
        }
        Shape::ListOf(_) | Shape::ListOfScalar => {
            let Value::Seq(items) = &node.value else {
                shape_error(cx, node, path, crate::msg!("a list"));
                return;
            };
            for (i, item) in items.iter().enumerate() {
                match (shape, &item.value) {
                    // An object of a list (a container, a port): checked without the dispatch
                    // (natively: the browser build keeps one call of `check_object`).
                    #[cfg(not(target_arch = "wasm32"))]
                    (Shape::ListOf(ty), Value::Map(entries)) => {
                        check_object(cx, entries, ty, &FieldPath::Index(path, i));
                    }
                    (Shape::ListOf(ty), _) => {
                        check_fields(cx, item, Shape::Object(ty), &FieldPath::Index(path, i));
                    }
                    // Scalars checked here, without a call.
                    _ if matches!(item.value, Value::Seq(_) | Value::Map(_)) => {
                        let child = FieldPath::Index(path, i);
                        shape_error(cx, item, &child, crate::msg!("a single value"));
                    }
                    _ => {}
                }
            }
        }
        Shape::MapOf(_) | Shape::MapOfScalar => {
            let Value::Map(entries) = &node.value else {
                shape_error(cx, node, path, crate::msg!("an object"));
                return;
            };
            for e in entries {
                match shape {
                    Shape::MapOf(ty) => {
                        let child = FieldPath::Key(path, &e.key);
                        check_fields(cx, &e.value, Shape::Object(ty), &child);
                    }
                    // Labels, annotations, selectors: scalars checked here, without a call.
                    _ if matches!(e.value.value, Value::Seq(_) | Value::Map(_)) => {
                        let child = FieldPath::Key(path, &e.key);
                        shape_error(cx, &e.value, &child, crate::msg!("a single value"));
                    }
                    _ => {}
                }
            }
        }
    }
}

/// [`check_fields`] of an object of type `ty`.
fn check_object(cx: &mut Cx<'_>, entries: &[Entry], ty: schema::Ty, path: &FieldPath<'_>) {
    let def = ty.def();
    for e in entries {
        match def.field(&e.key) {
            // Most fields are scalars: checked here, without a call.
            Some(Shape::Scalar) => {
                if matches!(e.value.value, Value::Seq(_) | Value::Map(_)) {
                    let child = FieldPath::Key(path, &e.key);
                    shape_error(cx, &e.value, &child, crate::msg!("a single value"));
                }
            }
            Some(Shape::Any) => {}
            Some(shape) => check_fields(cx, &e.value, shape, &FieldPath::Key(path, &e.key)),
            None => unknown_field(cx, def, e, path),
        }
    }
}

/// [`check_fields`]' type error, out of its loop (rare: the loop keeps its registers).
#[cold]
#[inline(never)]
fn shape_error(cx: &mut Cx<'_>, node: &Node, path: &FieldPath<'_>, want: Msg) {
    cx.type_error(node, path, want);
}

/// [`check_fields`]' error for a key `def` does not know, with the known field it may be a
/// misspelling of.
#[cold]
#[inline(never)]
fn unknown_field(cx: &mut Cx<'_>, def: &schema::TypeDef, e: &Entry, path: &FieldPath<'_>) {
    let hint = suggest(&e.key, def.fields.iter().map(|(f, _)| *f))
        .map(|s| crate::msg!(" (did you mean {}?)", format!("{:?}", s)))
        .unwrap_or_default();
    let child = FieldPath::Key(path, &e.key).to_string();
    cx.err(
        Kind::UnknownField,
        e.key_pos,
        crate::msg!("unknown field {}{}", format!("{:?}", child), hint),
    );
}

/// The known field closest to a misspelt one: same letters ignoring case, or one or two edits.
fn suggest<'f>(wrong: &str, known: impl Iterator<Item = &'f str>) -> Option<&'f str> {
    let mut best: Option<(usize, &str)> = None;
    for k in known {
        let d = if k.eq_ignore_ascii_case(wrong) {
            0
        } else {
            edit_distance(&wrong.to_ascii_lowercase(), &k.to_ascii_lowercase())
        };
        if d <= 2 && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Annotations as read (`metadata.annotations`), validated as `ValidateAnnotations` does.
/// Each value comes with where it is written.
type Annotations<'n> = BTreeMap<&'n str, (&'n str, Pos)>;

/// `TotalAnnotationSizeLimitB`: keys and values together, 256 KiB.
const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// `names.SimpleNameGenerator`: at most 63 - 5 characters of `generateName`, then 5 random
/// characters (here derived from the object's place in the input, so runs are reproducible).
const MAX_GENERATED_NAME_LENGTH: usize = 58;

/// apimachinery's `ValidateNameFunc` with `prefix: true` (a `generateName`): `maskTrailingDash`
/// replaces a trailing `-` (and the character before it) with `a` before validating.
fn mask_trailing_dash(name: &str) -> String {
    if name.len() > 1 && name.ends_with('-') {
        // Go slices bytes (`name[:len(name)-2] + "a"`); popping characters is the same for
        // the ASCII names that can be valid, and cannot split a character.
        let mut s = String::from(&name[..name.len() - 1]);
        s.pop();
        s.push('a');
        s
    } else {
        name.to_owned()
    }
}

fn read_meta<'n>(
    cx: &mut Cx<'_>,
    kind: &str,
    mut id: ObjectRef,
    m: &'n [Entry<'n>],
    meta_pos: Pos,
    obj_pos: Pos,
) -> (Meta, Annotations<'n>) {
    let name_check = |kind: &str, name: &str| match kind {
        "Service" => validation::dns1035_label(name),
        _ => validation::dns1123_subdomain(name),
    };
    let [generate, labels, annotations, deletion, owners] = fields(
        m,
        [
            "generateName",
            "labels",
            "annotations",
            "deletionTimestamp",
            "ownerReferences",
        ],
    );
    // ValidateObjectMetaAccessor: generateName is validated as a name prefix.
    let generate = cx.str_of(generate, "generateName", &"metadata");
    if let Some((g, gpos)) = generate
        && !g.is_empty()
        && let Err(msg) = name_check(kind, &mask_trailing_dash(g))
    {
        cx.invalid(gpos, "metadata.generateName", format_args!("{g:?}"), msg);
    }
    if id.name.is_empty() {
        match generate.filter(|(g, _)| !g.is_empty()) {
            // The API server generates the name before validating the object.
            Some((g, gpos)) => {
                let mut base: String = g.to_owned();
                if base.len() > MAX_GENERATED_NAME_LENGTH {
                    let mut end = MAX_GENERATED_NAME_LENGTH;
                    while !base.is_char_boundary(end) {
                        end -= 1;
                    }
                    base.truncate(end);
                }
                let mut h = crate::cluster::fnv64(
                    format!("{}:{}:{}:{g}", cx.file, gpos.line, gpos.col).as_bytes(),
                );
                for _ in 0..5 {
                    base.push(char::from(NAME_ALPHABET[(h % 27) as usize]));
                    h /= 27;
                }
                id.name = base;
                cx.what = What::Text(if kind == "Node" {
                    format!("{kind} {:?}", id.name)
                } else {
                    format!("{kind} \"{id}\"")
                });
                if let Err(msg) = name_check(kind, &id.name) {
                    cx.invalid(gpos, "metadata.name", format_args!("{:?}", id.name), msg);
                }
            }
            None => cx.required(
                meta_pos,
                "metadata.name",
                Some(crate::msg!("name or generateName is required")),
            ),
        }
    } else if let Err(msg) = name_check(kind, &id.name) {
        let name_pos = cx.field(m, "name").map_or(meta_pos, |n| n.pos);
        cx.invalid(
            name_pos,
            "metadata.name",
            format_args!("{:?}", id.name),
            msg,
        );
    }
    if !id.namespace.is_empty()
        && let Err(msg) = validation::dns1123_label(&id.namespace)
    {
        let pos = cx.field(m, "namespace").map_or(meta_pos, |n| n.pos);
        cx.invalid(
            pos,
            "metadata.namespace",
            format_args!("{:?}", id.namespace),
            msg,
        );
    }
    let labels = cx.labels_of(labels, "labels", &"metadata");
    let annotations = read_annotations(cx, annotations);
    let deleting = cx
        .str_of(deletion, "deletionTimestamp", &"metadata")
        .is_some();
    let mut controller = None;
    for (r, _, p) in cx.objects_of(owners, "ownerReferences", &"metadata") {
        let is_controller = cx.bool(r, "controller", &p).is_some_and(|(b, _)| b);
        let k = cx.str(r, "kind", &p).map(|(s, _)| s.to_owned());
        let n = cx.str(r, "name", &p).map(|(s, _)| s.to_owned());
        if let (true, Some(k), Some(n)) = (is_controller, k, n) {
            controller = Some((k, n));
        }
    }
    let meta = Meta {
        id,
        labels,
        deleting,
        controller,
        loc: cx.loc(obj_pos),
    };
    (meta, annotations)
}

/// apimachinery `ValidateAnnotations`: every key a qualified name once lowercased
/// (`metadata.annotations: Invalid value: "key": …`), and keys and values together at most
/// 256 KiB (`metadata.annotations: Too long: may not be more than 262144 bytes`).
fn read_annotations<'n>(cx: &mut Cx<'_>, node: Option<&'n Node<'n>>) -> Annotations<'n> {
    let mut out = Annotations::new();
    let Some((entries, pos)) = cx.map_of(node, "annotations", &"metadata") else {
        return out;
    };
    let mut total = 0usize;
    for e in entries {
        // Lowercased (a copy) only when it has capitals (natively: a speed path).
        let lower;
        let key: &str =
            if cfg!(target_arch = "wasm32") || e.key.bytes().any(|c| c.is_ascii_uppercase()) {
                lower = e.key.to_ascii_lowercase();
                &lower
            } else {
                &e.key
            };
        if let Err(msg) = validation::qualified_name(key) {
            cx.invalid(
                e.key_pos,
                "metadata.annotations",
                format_args!("{:?}", e.key),
                msg,
            );
        }
        let value: &str = match &e.value.value {
            Value::Str(s) => s,
            Value::Null => "",
            _ => {
                let p = format!("metadata.annotations.{}", e.key);
                cx.type_error(&e.value, p, crate::msg!("a string"));
                continue;
            }
        };
        total = total
            .saturating_add(e.key.len())
            .saturating_add(value.len());
        out.insert(&e.key, (value, e.value.pos));
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        cx.err(
            Kind::Invalid,
            pos,
            crate::msg!(
                "metadata.annotations: Too long: may not be more than {} bytes",
                TOTAL_ANNOTATION_SIZE_LIMIT
            ),
        );
    }
    out
}

/// apimachinery's alphabet for generated names (`utilrand.String`).
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

const SESSION_AFFINITY_DEFAULT_TIMEOUT: u32 = 10_800;
const SESSION_AFFINITY_MAX_TIMEOUT: i64 = 86_400;

fn read_service(
    cx: &mut Cx<'_>,
    meta: Meta,
    annotations: &Annotations<'_>,
    spec: &[Entry],
    status: &[Entry],
    obj_pos: Pos,
) -> Option<Service> {
    let before = cx.errors;
    // SetDefaults_Service: an empty string is unset for type, sessionAffinity and
    // externalTrafficPolicy (Helm charts render them from empty values).
    let kind = match cx.str(spec, "type", &"spec") {
        None | Some(("", _)) => ServiceType::ClusterIp,
        Some(("ClusterIP", _)) => ServiceType::ClusterIp,
        Some(("NodePort", _)) => ServiceType::NodePort,
        Some(("LoadBalancer", _)) => ServiceType::LoadBalancer,
        Some(("ExternalName", _)) => ServiceType::ExternalName,
        Some((other, pos)) => {
            cx.unsupported(
                pos,
                "spec.type",
                other,
                &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
            );
            ServiceType::ClusterIp
        }
    };
    let type_name = kind.as_str();

    let selector = Some(cx.labels(spec, "selector", &"spec")).filter(|s| !s.is_empty());

    // clusterIP / clusterIPs, as ValidateServiceClusterIPsRelatedFields checks them (the
    // API server copies clusterIP into clusterIPs first, and reports on clusterIPs).
    let single = cx
        .str(spec, "clusterIP", &"spec")
        .filter(|(s, _)| !s.is_empty());
    let many = cx.strings(spec, "clusterIPs", &"spec");
    let many_pos = cx.field(spec, "clusterIPs").map(|n| n.pos);
    let shown: Vec<&str> = many.iter().map(|(s, _, _)| *s).collect();
    let mut written: Vec<(String, Pos, String)> = Vec::new();
    match (single, many.is_empty()) {
        (None, false) => cx.invalid(
            many_pos.unwrap_or(obj_pos),
            "spec.clusterIPs",
            go_strings(&shown),
            crate::msg!("must be empty when `clusterIP` is not specified"),
        ),
        (Some((s, _)), false) if s != many[0].0 => cx.invalid(
            many_pos.unwrap_or(obj_pos),
            "spec.clusterIPs",
            go_strings(&shown),
            crate::msg!("first value must match `clusterIP`"),
        ),
        (Some((s, pos)), true) => {
            written.push((s.to_owned(), pos, "spec.clusterIPs[0]".to_owned()))
        }
        _ => {}
    }
    if written.is_empty() {
        written.extend(
            many.iter()
                .map(|(s, p, path)| ((*s).to_owned(), *p, path.to_string())),
        );
    }
    let all: Vec<&str> = written.iter().map(|(s, _, _)| s.as_str()).collect();
    let list_pos = written.first().map_or(obj_pos, |w| w.1);
    let cluster_ip_loc = written.first().map(|(_, p, _)| cx.loc(*p));
    let mut headless = false;
    let mut cluster_ips: Vec<IpAddr> = Vec::new();
    if kind == ServiceType::ExternalName {
        if !written.is_empty() {
            cx.err(
                Kind::Invalid,
                list_pos,
                crate::msg!("spec.clusterIPs: Forbidden: may not be set for ExternalName services"),
            );
        }
    } else if all.first() == Some(&"None") {
        if all.len() > 1 {
            cx.invalid(
                list_pos,
                "spec.clusterIPs",
                go_strings(&all),
                crate::msg!("'None' must be the first and only value"),
            );
        } else if kind != ServiceType::ClusterIp {
            cx.invalid(
                list_pos,
                "spec.clusterIPs[0]",
                "\"None\"",
                crate::msg!("may not be set to 'None' for {} services", type_name),
            );
        }
        headless = true;
    } else if all.len() > 2 {
        cx.invalid(
            list_pos,
            "spec.clusterIPs",
            go_strings(&all),
            crate::msg!("may only hold up to 2 values"),
        );
    } else {
        for (s, pos, path) in &written {
            let Some(ip) = cx.ip(s, *pos, path) else {
                continue;
            };
            if cluster_ips.iter().any(|o| Family::of(o) == Family::of(&ip)) {
                // IsDualStackIPStrings fails: the error is on the whole list.
                cx.invalid(
                    many_pos.unwrap_or(*pos),
                    "spec.clusterIPs",
                    go_strings(&all),
                    crate::msg!("may specify no more than one IP for each IP family"),
                );
            }
            cluster_ips.push(ip);
        }
    }

    // ipFamilies, ipFamilyPolicy
    let mut ip_families = Vec::new();
    for (f, pos, path) in cx.strings(spec, "ipFamilies", &"spec") {
        let fam = match f {
            "IPv4" => Family::V4,
            "IPv6" => Family::V6,
            _ => {
                cx.unsupported(pos, &path.to_string(), f, &["IPv4", "IPv6"]);
                continue;
            }
        };
        if ip_families.contains(&fam) {
            cx.err(
                Kind::Invalid,
                pos,
                crate::msg!("{}: Duplicate value: {}", path, format!("{:?}", f)),
            );
            continue;
        }
        ip_families.push(fam);
    }
    let ip_family_policy_loc = cx.field(spec, "ipFamilyPolicy").map(|n| cx.loc(n.pos));
    let ip_family_policy = match cx.str(spec, "ipFamilyPolicy", &"spec") {
        None => None,
        Some(("SingleStack", _)) => Some(IpFamilyPolicy::SingleStack),
        Some(("PreferDualStack", _)) => Some(IpFamilyPolicy::PreferDualStack),
        Some(("RequireDualStack", _)) => Some(IpFamilyPolicy::RequireDualStack),
        Some((other, pos)) => {
            cx.unsupported(
                pos,
                "spec.ipFamilyPolicy",
                other,
                &["PreferDualStack", "RequireDualStack", "SingleStack"],
            );
            None
        }
    };
    if kind == ServiceType::ExternalName {
        // ExternalName Services have no IPs: the families may not be set.
        for (key, written) in [
            ("ipFamilies", !ip_families.is_empty()),
            ("ipFamilyPolicy", ip_family_policy.is_some()),
        ] {
            if written {
                let pos = cx.field(spec, key).map_or(obj_pos, |n| n.pos);
                cx.err(
                    Kind::Invalid,
                    pos,
                    crate::msg!(
                        "spec.{}: Forbidden: may not be set for ExternalName services",
                        key
                    ),
                );
            }
        }
    }
    if ip_family_policy == Some(IpFamilyPolicy::SingleStack) {
        let pos = cx.field(spec, "ipFamilyPolicy").map_or(obj_pos, |n| n.pos);
        let what = if cluster_ips.len() > 1 {
            Some(crate::msg!("cluster IPs"))
        } else if ip_families.len() > 1 {
            Some(crate::msg!("IP families"))
        } else {
            None
        };
        if let Some(what) = what {
            cx.invalid(
                pos,
                "spec.ipFamilyPolicy",
                "\"SingleStack\"",
                crate::msg!("must be 'RequireDualStack' or 'PreferDualStack' when multiple {} are specified", what),
            );
        }
    }
    for (i, ip) in cluster_ips.iter().enumerate() {
        if let Some(f) = ip_families.get(i)
            && *f != Family::of(ip)
        {
            cx.invalid(
                obj_pos,
                &format!("spec.clusterIPs[{i}]"),
                format_args!("\"{ip}\""),
                crate::msg!(
                    "expected an {} value as indicated by `ipFamilies[{}]`",
                    f.as_str(),
                    i
                ),
            );
        }
    }

    // ports
    let mut ports: Vec<ServicePort> = Vec::new();
    // Uniqueness as the API server checks it, with sets (linear in the number of ports).
    let mut names_seen: BTreeSet<String> = BTreeSet::new();
    let mut ports_seen: BTreeSet<(u16, Protocol)> = BTreeSet::new();
    let mut node_ports_seen: BTreeSet<(u16, Protocol)> = BTreeSet::new();
    let port_items = cx.objects(spec, "ports", &"spec");
    let multiple = port_items.clone().nth(1).is_some();
    for (m, pos, path) in port_items {
        let name = cx
            .str(m, "name", &path)
            .map(|(s, _)| s.to_owned())
            .unwrap_or_default();
        if name.is_empty() {
            if multiple {
                cx.required(pos, &join(&path, "name"), None);
            }
        } else if let Err(msg) = validation::dns1123_label(&name) {
            let p = cx.field(m, "name").map_or(pos, |n| n.pos);
            cx.invalid(p, &join(&path, "name"), format_args!("{name:?}"), msg);
        } else if !names_seen.insert(name.clone()) {
            let p = cx.field(m, "name").map_or(pos, |n| n.pos);
            cx.err(
                Kind::Invalid,
                p,
                crate::msg!("{}.name: Duplicate value: {}", path, format!("{:?}", name)),
            );
        }
        let protocol = cx.protocol(m, &path);
        // validateServicePort: appProtocol is a qualified name.
        if let Some((app, apos)) = cx.str(m, "appProtocol", &path)
            && let Err(msg) = validation::qualified_name(app)
        {
            cx.invalid(
                apos,
                &join(&path, "appProtocol"),
                format_args!("{app:?}"),
                msg,
            );
        }
        let Some((port_value, port_pos)) = cx.int(m, "port", &path) else {
            if cx.field(m, "port").is_none() {
                cx.required(pos, &join(&path, "port"), None);
            }
            continue;
        };
        let Some(port) = cx.port(port_value, port_pos, Sub(&path, "port")) else {
            continue;
        };
        let target_port = match cx.field(m, "targetPort").map(|n| (&n.value, n.pos)) {
            None => TargetPort::Number(port),
            Some((Value::Int(0), _)) => TargetPort::Number(port),
            Some((Value::Int(i), tpos)) => match cx.port(*i, tpos, Sub(&path, "targetPort")) {
                Some(p) => TargetPort::Number(p),
                None => continue,
            },
            Some((Value::Str(s), _)) if s.is_empty() => TargetPort::Number(port),
            Some((Value::Str(s), tpos)) => {
                // An int-or-string written as a quoted number is a string to the API server,
                // validated as a port name ("must contain at least one letter").
                if let Err(msg) = validation::port_name(s) {
                    cx.invalid(tpos, &join(&path, "targetPort"), format_args!("{s:?}"), msg);
                    continue;
                } else {
                    TargetPort::Name(s.to_string())
                }
            }
            Some((other, tpos)) => {
                cx.err(
                    Kind::Type,
                    tpos,
                    crate::msg!(
                        "{}.targetPort: expected a port number or name, got {}",
                        path,
                        describe(other)
                    ),
                );
                continue;
            }
        };
        let mut node_port = None;
        let mut node_port_loc = None;
        if let Some((np, np_pos)) = cx.int(m, "nodePort", &path)
            && np != 0
        {
            if matches!(kind, ServiceType::ClusterIp | ServiceType::ExternalName) {
                cx.err(
                    Kind::Invalid,
                    np_pos,
                    crate::msg!(
                        "{}.nodePort: Forbidden: may not be used when `type` is '{}'",
                        path,
                        type_name
                    ),
                );
            } else if let Some(p) = cx.port(np, np_pos, Sub(&path, "nodePort")) {
                if !node_ports_seen.insert((p, protocol)) {
                    cx.err(
                        Kind::Invalid,
                        np_pos,
                        crate::msg!("{}.nodePort: Duplicate value: {}", path, p),
                    );
                }
                node_port = Some(p);
                node_port_loc = Some(cx.loc(np_pos));
            }
        }
        if !ports_seen.insert((port, protocol)) {
            cx.err(
                Kind::Invalid,
                pos,
                crate::msg!(
                    "{}: Duplicate value: {{\"port\": {}, \"protocol\": {}}}",
                    path,
                    port,
                    format!("{:?}", protocol.as_str())
                ),
            );
        }
        ports.push(ServicePort {
            name,
            protocol,
            port,
            target_port,
            node_port,
            node_port_loc,
        });
    }
    let ports_written = cx
        .field(spec, "ports")
        .is_some_and(|n| matches!(&n.value, Value::Seq(v) if !v.is_empty()));
    if ports.is_empty() && !headless && kind != ServiceType::ExternalName && !ports_written {
        let at = entries_pos(spec).unwrap_or(obj_pos);
        if cx.field(spec, "port").is_some() {
            let hint = crate::msg!(
                "{}: Required value (this manifest has \"spec.port\": the field is \"ports\", a list)",
                "spec.ports"
            );
            cx.err(Kind::Required, at, hint);
        } else {
            cx.required(at, "spec.ports", None);
        }
    }

    // externalIPs
    let mut external_ips = Vec::new();
    for (s, pos, path) in cx.strings(spec, "externalIPs", &"spec") {
        if let Some(ip) = cx.ip(s, pos, path) {
            if let Err(msg) = non_special_ip(&ip) {
                cx.invalid(pos, &path.to_string(), format_args!("{s:?}"), msg);
                continue;
            }
            external_ips.push(ip);
        }
    }

    // externalName
    let mut external_name = None;
    match cx.str(spec, "externalName", &"spec") {
        Some((name, pos)) if kind == ServiceType::ExternalName && !name.is_empty() => {
            let trimmed = name.strip_suffix('.').unwrap_or(name);
            if let Err(msg) = validation::dns1123_subdomain(trimmed) {
                cx.invalid(pos, "spec.externalName", format_args!("{trimmed:?}"), msg);
            } else {
                external_name = Some(trimmed.to_owned());
            }
        }
        Some(_) | None if kind == ServiceType::ExternalName => {
            cx.required(obj_pos, "spec.externalName", None);
        }
        _ => {}
    }

    // sessionAffinity
    let affinity_cfg = cx
        .map(spec, "sessionAffinityConfig", &"spec")
        .and_then(|(m, _)| cx.map(m, "clientIP", &"spec.sessionAffinityConfig"))
        .and_then(|(m, _)| cx.int(m, "timeoutSeconds", &"spec.sessionAffinityConfig.clientIP"));
    let affinity_timeout = match cx.str(spec, "sessionAffinity", &"spec") {
        // SetDefaults_Service drops sessionAffinityConfig when the affinity is None.
        None | Some(("None" | "", _)) => None,
        Some(("ClientIP", _)) => match affinity_cfg {
            None => Some(SESSION_AFFINITY_DEFAULT_TIMEOUT),
            Some((t, pos)) if t <= 0 || t > SESSION_AFFINITY_MAX_TIMEOUT => {
                cx.invalid(
                    pos,
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    t,
                    crate::msg!("must be greater than 0 and less than 86400"),
                );
                None
            }
            Some((t, _)) => u32::try_from(t).ok(),
        },
        Some((other, pos)) => {
            cx.unsupported(pos, "spec.sessionAffinity", other, &["ClientIP", "None"]);
            None
        }
    };

    let service_externally_accessible =
        matches!(kind, ServiceType::NodePort | ServiceType::LoadBalancer)
            || (kind == ServiceType::ClusterIp && !external_ips.is_empty());
    let external_traffic_policy = match cx.str(spec, "externalTrafficPolicy", &"spec") {
        None | Some(("", _)) => TrafficPolicy::Cluster,
        Some((p, pos)) => {
            let policy = match p {
                "Cluster" => TrafficPolicy::Cluster,
                "Local" => TrafficPolicy::Local,
                other => {
                    cx.unsupported(
                        pos,
                        "spec.externalTrafficPolicy",
                        other,
                        &["Cluster", "Local"],
                    );
                    TrafficPolicy::Cluster
                }
            };
            if !service_externally_accessible {
                cx.invalid(
                    pos,
                    "spec.externalTrafficPolicy",
                    format_args!("{p:?}"),
                    crate::msg!("may only be set for externally-accessible services"),
                );
            }
            policy
        }
    };
    let internal_traffic_policy = match cx.str(spec, "internalTrafficPolicy", &"spec") {
        None | Some(("Cluster", _)) => TrafficPolicy::Cluster,
        Some(("Local", _)) => TrafficPolicy::Local,
        Some((other, pos)) => {
            cx.unsupported(
                pos,
                "spec.internalTrafficPolicy",
                other,
                &["Cluster", "Local"],
            );
            TrafficPolicy::Cluster
        }
    };
    let publish_not_ready = cx
        .bool(spec, "publishNotReadyAddresses", &"spec")
        .is_some_and(|(b, _)| b);
    let allocate_lb_node_ports = match cx.bool(spec, "allocateLoadBalancerNodePorts", &"spec") {
        Some((v, pos)) => {
            if kind != ServiceType::LoadBalancer {
                cx.err(
                    Kind::Invalid,
                    pos,
                    crate::msg!("spec.allocateLoadBalancerNodePorts: Forbidden: may only be used when `type` is 'LoadBalancer'"),
                );
            }
            v
        }
        None => true,
    };
    let health_check_node_port = match cx.int(spec, "healthCheckNodePort", &"spec") {
        Some((0, _)) | None => None,
        Some((v, pos)) => {
            if kind != ServiceType::LoadBalancer || external_traffic_policy != TrafficPolicy::Local
            {
                cx.invalid(
                    pos,
                    "spec.healthCheckNodePort",
                    v,
                    crate::msg!("may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"),
                );
                None
            } else {
                cx.port(v, pos, "spec.healthCheckNodePort")
            }
        }
    };

    // Load balancer addresses: status first; the deprecated spec.loadBalancerIP otherwise.
    let mut lb_ingress = Vec::new();
    if let Some((lb, _)) = cx.map(status, "loadBalancer", &"status") {
        // ValidateLoadBalancerStatus (the AllowServiceLBStatusOnNonLB gate is off by default).
        if kind != ServiceType::LoadBalancer
            && let Some(n) = cx
                .field(lb, "ingress")
                .filter(|n| matches!(&n.value, Value::Seq(v) if !v.is_empty()))
        {
            cx.err(
                Kind::Invalid,
                n.pos,
                crate::msg!("status.loadBalancer.ingress: Forbidden: may only be used when `spec.type` is 'LoadBalancer'"),
            );
        }
        for (m, _, path) in cx.objects(lb, "ingress", &"status.loadBalancer") {
            if let Some((h, hpos)) = cx.str(m, "hostname", &path)
                && !h.is_empty()
            {
                let hpath = join(&path, "hostname");
                if let Err(msg) = validation::dns1123_subdomain(h) {
                    cx.invalid(hpos, &hpath, format_args!("{h:?}"), msg);
                }
                if h.parse::<IpAddr>().is_ok()
                    || validation::ip_address(h)
                        .is_err_and(|e| e.to_string().contains("leading 0s"))
                {
                    cx.invalid(
                        hpos,
                        &hpath,
                        format_args!("{h:?}"),
                        crate::msg!("must be a DNS name, not an IP address"),
                    );
                }
            }
            let ip_written = cx.str(m, "ip", &path).filter(|(s, _)| !s.is_empty());
            let proxy_mode = match cx.str(m, "ipMode", &path) {
                Some((_, p)) if ip_written.is_none() => {
                    cx.err(
                        Kind::Invalid,
                        p,
                        crate::msg!(
                            "{}.ipMode: Forbidden: may not be specified when `ip` is not set",
                            path
                        ),
                    );
                    false
                }
                None | Some(("VIP", _)) => false,
                Some(("Proxy", _)) => true,
                Some((other, p)) => {
                    cx.unsupported(p, &join(&path, "ipMode"), other, &["Proxy", "VIP"]);
                    false
                }
            };
            let Some((s, pos)) = ip_written else {
                continue;
            };
            if let Some(ip) = cx.ip(s, pos, Sub(&path, "ip")) {
                // The API server accepts any address here, and kube-proxy would bind it on
                // kube-ipvs0; addresses that cannot be a load balancer's VIP are not programmed.
                if let Err(why) = not_a_vip(&ip) {
                    cx.warn(
                        pos,
                        crate::msg!(
                            "{}.ip {} {}: it is not a load balancer VIP and is not programmed",
                            path,
                            ip,
                            why
                        ),
                    );
                    continue;
                }
                lb_ingress.push(LoadBalancerIngress { ip, proxy_mode });
            }
        }
    }
    if let Some((s, pos)) = cx.str(spec, "loadBalancerIP", &"spec")
        && let Some(ip) = cx.ip(s, pos, "spec.loadBalancerIP")
    {
        // kube-proxy reads load balancer VIPs only from status.loadBalancer.ingress;
        // spec.loadBalancerIP is a request to the cloud provider.
        if kind == ServiceType::LoadBalancer && lb_ingress.is_empty() {
            cx.warn(
                pos,
                crate::msg!(
                    "spec.loadBalancerIP {} is only a request to a load balancer controller: \
                     until one publishes status.loadBalancer.ingress there is no load balancer VIP",
                    ip
                ),
            );
        }
    }
    if kind != ServiceType::LoadBalancer && !lb_ingress.is_empty() {
        lb_ingress.clear();
    }
    let lb_source_ranges = read_source_ranges(cx, kind, annotations, spec);
    // validateLoadBalancerClassField (on create).
    if let Some((class, cpos)) = cx.str(spec, "loadBalancerClass", &"spec") {
        if kind == ServiceType::LoadBalancer {
            if let Err(msg) = validation::qualified_name(class) {
                cx.invalid(
                    cpos,
                    "spec.loadBalancerClass",
                    format_args!("{class:?}"),
                    msg,
                );
            }
        } else {
            cx.err(
                Kind::Invalid,
                cpos,
                crate::msg!("spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'"),
            );
        }
    }
    // ValidateService: the topology-mode annotation must agree with the deprecated one.
    if let (Some((mode, pos)), Some((hints, _))) = (
        annotations.get(TOPOLOGY_MODE),
        annotations.get(TOPOLOGY_AWARE_HINTS),
    ) && mode != hints
    {
        let pos = *pos;
        cx.invalid(
            pos,
            &format!("metadata.annotations[{TOPOLOGY_MODE}]"),
            format_args!("{mode:?}"),
            crate::msg!(
                "must match annotations[{}] when both are specified",
                TOPOLOGY_AWARE_HINTS
            ),
        );
    }
    // validateServiceTrafficDistribution (PreferSameZone and PreferSameNode since 1.34).
    if let Some((td, tpos)) = cx.str(spec, "trafficDistribution", &"spec") {
        const SUPPORTED: [&str; 3] = ["PreferClose", "PreferSameNode", "PreferSameZone"];
        if !SUPPORTED.contains(&td) {
            cx.unsupported(tpos, "spec.trafficDistribution", td, &SUPPORTED);
        } else if td == "PreferClose" {
            cx.warn(
                tpos,
                crate::msg!("spec.trafficDistribution: \"PreferClose\" is deprecated; use \"PreferSameZone\""),
            );
        }
    }

    if cx.errors > before {
        return None;
    }
    Some(Service {
        meta,
        kind,
        selector,
        cluster_ips,
        headless,
        cluster_ip_loc,
        ip_families,
        ip_family_policy,
        ports,
        external_ips,
        external_name,
        affinity_timeout,
        external_traffic_policy,
        internal_traffic_policy,
        ip_family_policy_loc,
        publish_not_ready,
        allocate_lb_node_ports,
        health_check_node_port,
        lb_ingress,
        lb_source_ranges,
    })
}

/// Container ports of a pod spec (containers, and sidecar init containers with
/// `restartPolicy: Always`, which the EndpointSlice controller also searches). `at` is where a
/// missing `containers` is reported when the pod spec has no keys: the nearest real position
/// (the pod spec itself, or the template, or the object when there is none).
fn read_container_ports(
    cx: &mut Cx<'_>,
    spec: &[Entry],
    prefix: &dyn Path,
    at: Pos,
) -> Vec<ContainerPort> {
    let mut ports: Vec<ContainerPort> = Vec::new();
    let containers = cx.objects(spec, "containers", prefix);
    if containers.clone().next().is_none() {
        cx.required(
            entries_pos(spec).unwrap_or(at),
            &join(prefix, "containers"),
            None,
        );
    }
    let mut sidecars = Vec::new();
    for (c, pos, path) in cx.objects(spec, "initContainers", prefix) {
        if cx
            .str(c, "restartPolicy", &path)
            .is_some_and(|(p, _)| p == "Always")
        {
            sidecars.push((c, pos, path));
        }
    }
    for (c, _, cpath) in containers.chain(sidecars) {
        // The port names of this container so far: those of its ports pushed from `first` on,
        // and those another container has (warned about and not pushed).
        let first = ports.len();
        let mut warned: Vec<&str> = Vec::new();
        let items = cx.objects(c, "ports", &cpath);
        // Exact room (growing from none takes four; most Pods have one container).
        ports.reserve_exact(items.clone().count());
        for (m, _, path) in items {
            let name = cx.str(m, "name", &path);
            let protocol = cx.protocol(m, &path);
            let Some((value, pos)) = cx.int(m, "containerPort", &path) else {
                continue;
            };
            let Some(port) = cx.port(value, pos, Sub(&path, "containerPort")) else {
                continue;
            };
            let name = match name {
                Some((n, npos)) => {
                    if let Err(msg) = validation::port_name(n) {
                        cx.invalid(npos, &join(&path, "name"), format_args!("{n:?}"), msg);
                        continue;
                    }
                    if ports[first..].iter().any(|p| p.name == n) || warned.contains(&n) {
                        cx.err(
                            Kind::Invalid,
                            npos,
                            crate::msg!("{}.name: Duplicate value: {}", path, format!("{:?}", n)),
                        );
                        continue;
                    }
                    if ports[..first].iter().any(|p| p.name == n) {
                        warned.push(n);
                        // validateContainerPorts checks one container; across containers the
                        // API server only warns, and FindPort uses the first.
                        cx.warn(
                            npos,
                            crate::msg!("{}: duplicate port name {}: Services that select ports by name use the first", path, format!("{:?}", n)),
                        );
                        continue;
                    }
                    n.to_owned()
                }
                None => String::new(),
            };
            ports.push(ContainerPort {
                name,
                port,
                protocol,
            });
        }
    }
    ports
}

fn read_dns_label(cx: &mut Cx<'_>, spec: &[Entry], key: &str, prefix: &dyn Path) -> Option<String> {
    dns_label_of(cx, cx.field(spec, key), key, prefix)
}

/// [`read_dns_label`] of a node [`fields`] found.
fn dns_label_of(
    cx: &mut Cx<'_>,
    node: Option<&Node>,
    key: &str,
    prefix: &dyn Path,
) -> Option<String> {
    let (s, pos) = cx.str_of(node, key, prefix)?;
    if let Err(msg) = validation::dns1123_label(s) {
        cx.invalid(pos, &join(prefix, key), format_args!("{s:?}"), msg);
        return None;
    }
    Some(s.to_owned())
}

fn read_pod(
    cx: &mut Cx<'_>,
    meta: Meta,
    spec: &[Entry],
    status: &[Entry],
    obj_pos: Pos,
) -> Option<Pod> {
    let before = cx.errors;
    if spec.is_empty() {
        cx.required(obj_pos, "spec", None);
        return None;
    }
    let ports = read_container_ports(cx, spec, &"spec", obj_pos);
    let [node_name, host_network, hostname, subdomain] =
        fields(spec, ["nodeName", "hostNetwork", "hostname", "subdomain"]);
    let node_name = cx
        .str_of(node_name, "nodeName", &"spec")
        .map(|(s, _)| s.to_owned());
    let host_network = cx
        .bool_of(host_network, "hostNetwork", &"spec")
        .is_some_and(|(b, _)| b);
    let hostname = dns_label_of(cx, hostname, "hostname", &"spec");
    let subdomain = dns_label_of(cx, subdomain, "subdomain", &"spec");
    let [phase, pod_ips, pod_ip, conditions] =
        fields(status, ["phase", "podIPs", "podIP", "conditions"]);
    let phase = match cx.str_of(phase, "phase", &"status") {
        None | Some(("Pending", _)) => PodPhase::Pending,
        Some(("Running", _)) => PodPhase::Running,
        Some(("Succeeded", _)) => PodPhase::Succeeded,
        Some(("Failed", _)) => PodPhase::Failed,
        Some(("Unknown", _)) => PodPhase::Unknown,
        Some((other, pos)) => {
            cx.unsupported(
                pos,
                "status.phase",
                other,
                &["Failed", "Pending", "Running", "Succeeded", "Unknown"],
            );
            PodPhase::Unknown
        }
    };
    let pod_ips = cx.objects_of(pod_ips, "podIPs", &"status");
    let mut ips: Vec<IpAddr> = Vec::with_capacity(pod_ips.clone().count().max(1));
    // The text of the first address, which `podIP` repeats.
    let mut first_text = None;
    for (m, _, path) in pod_ips {
        if let Some((s, pos)) = cx.str(m, "ip", &path)
            && let Some(ip) = cx.ip(s, pos, Sub(&path, "ip"))
        {
            if ips.is_empty() {
                first_text = Some(s);
            }
            ips.push(ip);
        }
    }
    if let Some((s, pos)) = cx.str_of(pod_ip, "podIP", &"status")
        && let Some(ip) = match first_text {
            // The same text is the same address (read without a message): not parsed again
            // (natively: a speed path).
            Some(first) if first == s && cfg!(not(target_arch = "wasm32")) => ips.first().copied(),
            _ => cx.ip(s, pos, "status.podIP"),
        }
    {
        if ips.is_empty() {
            ips.push(ip);
        } else if ips[0] != ip {
            cx.invalid(
                pos,
                "status.podIP",
                format_args!("{s:?}"),
                crate::msg!("must be the first of status.podIPs"),
            );
        }
    }
    let mut ready = false;
    for (m, _, path) in cx.objects_of(conditions, "conditions", &"status") {
        let t = cx.str(m, "type", &path).map(|(s, _)| s);
        let s = cx.str(m, "status", &path).map(|(s, _)| s);
        if t == Some("Ready") {
            ready = s == Some("True");
        }
    }
    if cx.errors > before {
        return None;
    }
    let tolerations = read_tolerations(cx, spec, &"spec");
    Some(Pod {
        meta,
        node_name,
        hostname,
        subdomain,
        ports,
        phase,
        ips,
        ready,
        synthesized: false,
        host_network,
        status_given: !status.is_empty(),
        tolerations,
    })
}

fn read_node(cx: &mut Cx<'_>, meta: Meta, spec: &[Entry], status: &[Entry]) -> Option<model::Node> {
    let before = cx.errors;
    let mut addresses = Vec::new();
    for (m, _, path) in cx.objects(status, "addresses", &"status") {
        let t = cx.str(m, "type", &path).map(|(s, _)| s);
        let Some((a, pos)) = cx.str(m, "address", &path) else {
            continue;
        };
        if matches!(t, Some("InternalIP" | "ExternalIP"))
            && let Some(ip) = cx.ip(a, pos, Sub(&path, "address"))
            && !addresses.contains(&ip)
        {
            addresses.push(ip);
        }
    }
    let mut pod_cidrs = Vec::new();
    let mut cidrs: Vec<(&str, Pos, String)> = cx
        .strings(spec, "podCIDRs", &"spec")
        .into_iter()
        .map(|(s, pos, path)| (s, pos, path.to_string()))
        .collect();
    if cidrs.is_empty()
        && let Some((s, pos)) = cx.str(spec, "podCIDR", &"spec")
    {
        cidrs.push((s, pos, "spec.podCIDR".to_owned()));
    }
    for (s, pos, path) in cidrs {
        pod_cidrs.extend(cx.cidr(s, s, pos, &path));
    }
    let unschedulable = cx
        .bool(spec, "unschedulable", &"spec")
        .is_some_and(|(b, _)| b);
    let mut taints = Vec::new();
    for (m, _, path) in cx.objects(spec, "taints", &"spec") {
        let key = cx.str(m, "key", &path).map(|(s, _)| s.to_owned());
        let value = cx.str(m, "value", &path).map(|(s, _)| s.to_owned());
        let effect = match cx.str(m, "effect", &path) {
            Some((e, pos)) => TaintEffect::parse(e).or_else(|| {
                let p = join(&path, "effect");
                cx.unsupported(pos, &p, e, &["NoExecute", "NoSchedule", "PreferNoSchedule"]);
                None
            }),
            None => None,
        };
        if let (Some(key), Some(effect)) = (key, effect) {
            taints.push(Taint {
                key,
                value: value.unwrap_or_default(),
                effect,
            });
        }
    }
    let mut ready = None;
    for (m, _, path) in cx.objects(status, "conditions", &"status") {
        if cx.str(m, "type", &path).map(|(s, _)| s) == Some("Ready") {
            ready = Some(cx.str(m, "status", &path).map(|(s, _)| s) == Some("True"));
        }
    }
    if cx.errors > before {
        return None;
    }
    Some(model::Node {
        meta,
        addresses,
        pod_cidrs,
        synthesized: false,
        unschedulable,
        taints,
        ready,
    })
}

/// `spec.tolerations` (operator `Equal` by default; an unknown operator or effect is an error).
fn read_tolerations(cx: &mut Cx<'_>, spec: &[Entry], prefix: &dyn Path) -> Vec<Toleration> {
    let mut out = Vec::new();
    for (m, _, path) in cx.objects(spec, "tolerations", prefix) {
        let key = cx.str(m, "key", &path).map(|(s, _)| s.to_owned());
        let value = cx.str(m, "value", &path).map(|(s, _)| s.to_owned());
        let exists = match cx.str(m, "operator", &path) {
            None | Some(("Equal", _)) => false,
            Some(("Exists", _)) => true,
            Some((o, pos)) => {
                cx.unsupported(pos, &join(&path, "operator"), o, &["Equal", "Exists"]);
                continue;
            }
        };
        let effect = match cx.str(m, "effect", &path) {
            None | Some(("", _)) => None,
            Some((e, pos)) => match TaintEffect::parse(e) {
                Some(e) => Some(e),
                None => {
                    let p = join(&path, "effect");
                    cx.unsupported(pos, &p, e, &["NoExecute", "NoSchedule", "PreferNoSchedule"]);
                    continue;
                }
            },
        };
        out.push(Toleration {
            key: key.unwrap_or_default(),
            exists,
            value: value.unwrap_or_default(),
            effect,
        });
    }
    out
}

fn read_conditions(cx: &mut Cx<'_>, m: &[Entry], prefix: &dyn Path) -> Conditions {
    let Some((c, _)) = cx.map(m, "conditions", prefix) else {
        return Conditions::default();
    };
    let path = Sub(prefix, "conditions");
    Conditions {
        ready: cx.bool(c, "ready", &path).map(|(b, _)| b),
        serving: cx.bool(c, "serving", &path).map(|(b, _)| b),
        terminating: cx.bool(c, "terminating", &path).map(|(b, _)| b),
    }
}

fn read_target_ref(
    cx: &mut Cx<'_>,
    m: &[Entry],
    prefix: &dyn Path,
    default_ns: &str,
) -> Option<ObjectRef> {
    let (r, _) = cx.map(m, "targetRef", prefix)?;
    let path = Sub(prefix, "targetRef");
    let kind = cx.str(r, "kind", &path).map(|(s, _)| s);
    let name = cx.str(r, "name", &path).map(|(s, _)| s.to_owned())?;
    let ns = cx
        .str(r, "namespace", &path)
        .map_or_else(|| default_ns.to_owned(), |(s, _)| s.to_owned());
    (kind.is_none_or(|k| k == "Pod")).then(|| ObjectRef::new(ns, name))
}

fn read_endpoint_ports(
    cx: &mut Cx<'_>,
    m: &[Entry],
    prefix: &dyn Path,
    port_required: bool,
) -> Vec<EndpointPort> {
    let mut ports = Vec::new();
    for (p, pos, path) in cx.objects(m, "ports", prefix) {
        let name = cx
            .str(p, "name", &path)
            .map(|(s, _)| s.to_owned())
            .unwrap_or_default();
        let protocol = cx.protocol(p, &path);
        // validateEndpointPort / validateEndpointSlice ports: appProtocol is a qualified name.
        if let Some((app, apos)) = cx.str(p, "appProtocol", &path)
            && let Err(msg) = validation::qualified_name(app)
        {
            cx.invalid(
                apos,
                &join(&path, "appProtocol"),
                format_args!("{app:?}"),
                msg,
            );
        }
        match cx.int(p, "port", &path) {
            Some((v, vpos)) => {
                if let Some(port) = cx.port(v, vpos, Sub(&path, "port")) {
                    ports.push(EndpointPort {
                        name,
                        protocol,
                        port,
                    });
                }
            }
            None if port_required => cx.required(pos, &join(&path, "port"), None),
            None => {}
        }
    }
    ports
}

fn read_slice(cx: &mut Cx<'_>, meta: Meta, entries: &[Entry]) -> Option<EndpointSlice> {
    let before = cx.errors;
    let family = match cx.str(entries, "addressType", &"") {
        Some(("IPv4", _)) => Some(Family::V4),
        Some(("IPv6", _)) => Some(Family::V6),
        Some(("FQDN", _)) => None,
        Some((other, pos)) => {
            cx.unsupported(pos, "addressType", other, &["FQDN", "IPv4", "IPv6"]);
            None
        }
        None => {
            cx.required(meta_pos(&meta), "addressType", None);
            None
        }
    };
    let mut endpoints = Vec::new();
    let ns = meta.id.namespace.clone();
    for (m, pos, path) in cx.objects(entries, "endpoints", &"") {
        let addrs = cx.strings(m, "addresses", &path);
        if addrs.is_empty() {
            cx.required(
                pos,
                &join(&path, "addresses"),
                Some(crate::msg!("must contain at least 1 address")),
            );
            continue;
        }
        if addrs.len() > 100 {
            cx.err(
                Kind::Invalid,
                pos,
                crate::msg!(
                    "{}.addresses: Too many: {}: must have at most 100 items",
                    path,
                    addrs.len()
                ),
            );
            continue;
        }
        let mut addresses = Vec::new();
        for (s, apos, apath) in addrs {
            if family.is_none() {
                continue;
            }
            if let Some(ip) = cx.ip(s, apos, apath) {
                if Some(Family::of(&ip)) != family {
                    let want = family.map_or("", Family::as_str);
                    cx.invalid(
                        apos,
                        &apath.to_string(),
                        format_args!("{s:?}"),
                        crate::msg!("must be a valid {} address", want),
                    );
                    continue;
                }
                if let Err(msg) = non_special_ip(&ip) {
                    cx.invalid(apos, &apath.to_string(), format_args!("{s:?}"), msg);
                    continue;
                }
                addresses.push(ip);
            }
        }
        let conditions = read_conditions(cx, m, &path);
        let hostname = read_dns_label(cx, m, "hostname", &path);
        let node_name = cx.str(m, "nodeName", &path).map(|(s, _)| s.to_owned());
        let pod = read_target_ref(cx, m, &path, &ns);
        endpoints.push(Endpoint {
            addresses,
            conditions,
            hostname,
            node_name,
            pod,
        });
    }
    let ports = read_endpoint_ports(cx, entries, &"", false);
    let service = meta.labels.get("kubernetes.io/service-name").cloned();
    if cx.errors > before {
        return None;
    }
    Some(EndpointSlice {
        meta,
        service,
        family,
        endpoints,
        ports,
    })
}

fn meta_pos(meta: &Meta) -> Pos {
    Pos {
        line: meta.loc.line,
        col: meta.loc.col,
    }
}

/// The label that keeps an Endpoints object from being mirrored.
const SKIP_MIRROR: &str = "endpointslice.kubernetes.io/skip-mirror";
/// `resourcelock.LeaderElectionRecordAnnotationKey`: Endpoints used as a leader-election lock.
const LEADER_ANNOTATION: &str = "control-plane.alpha.kubernetes.io/leader";
use crate::cluster::{MANAGED_BY, MIRRORING_CONTROLLER};
/// `defaultMaxEndpointsPerSubset`: addresses mirrored per (repacked) subset.
const MAX_ENDPOINTS_PER_SUBSET: usize = 1000;

/// Legacy Endpoints become EndpointSlices as the EndpointSlice mirroring controller makes them
/// (`pkg/controller/endpointslicemirroring`): nothing when the object is labelled
/// `endpointslice.kubernetes.io/skip-mirror: "true"`, carries the leader-election annotation or
/// is being deleted; otherwise the subsets are repacked (`RepackSubsets`: subsets with the same
/// ports merged, an address both ready and not ready kept ready, addresses sorted by their
/// text), at most 1000 addresses of each are mirrored (ready ones first), one slice per
/// (subset, family). Whether the Service has a selector (then nothing is mirrored) is decided
/// when the cluster is built. (RepackSubsets keys an address by IP and targetRef UID; here by
/// IP alone, so one IP listed for two Pods is one endpoint.)
fn read_endpoints(
    cx: &mut Cx<'_>,
    mut meta: Meta,
    annotations: &Annotations<'_>,
    entries: &[Entry],
) -> Vec<EndpointSlice> {
    let before = cx.errors;
    let ns = meta.id.namespace.clone();
    let obj_pos = meta_pos(&meta);
    // Port set -> (address text -> (endpoint, ready)), in the order first seen.
    type PortSet = Vec<(String, Protocol, u16)>;
    let mut repacked: BTreeMap<PortSet, BTreeMap<String, Endpoint>> = BTreeMap::new();
    let mut port_lists: BTreeMap<PortSet, Vec<EndpointPort>> = BTreeMap::new();
    for (subset, _, path) in cx.objects(entries, "subsets", &"") {
        let ports = read_endpoint_ports(cx, subset, &path, true);
        let mut key: Vec<(String, Protocol, u16)> = ports
            .iter()
            .map(|p| (p.name.clone(), p.protocol, p.port))
            .collect();
        crate::sort::sort(&mut key);
        key.dedup();
        port_lists.entry(key.clone()).or_insert(ports);
        let group = repacked.entry(key).or_default();
        for (key, ready) in [("addresses", true), ("notReadyAddresses", false)] {
            for (a, _, apath) in cx.objects(subset, key, &path) {
                let Some((s, pos)) = cx.str(a, "ip", &apath) else {
                    continue;
                };
                let Some(ip) = cx.ip(s, pos, Sub(&apath, "ip")) else {
                    continue;
                };
                if let Err(msg) = non_special_ip(&ip) {
                    cx.invalid(pos, &join(&apath, "ip"), format_args!("{s:?}"), msg);
                    continue;
                }
                let hostname = read_dns_label(cx, a, "hostname", &apath);
                let node_name = cx.str(a, "nodeName", &apath).map(|(s, _)| s.to_owned());
                let pod = read_target_ref(cx, a, &apath, &ns);
                let endpoint = Endpoint {
                    addresses: alloc::vec![ip],
                    // The mirroring controller sets only `ready`.
                    conditions: Conditions {
                        ready: Some(ready),
                        serving: None,
                        terminating: None,
                    },
                    hostname,
                    node_name,
                    pod,
                };
                // RepackSubsets: an address listed as ready and not ready is ready.
                match group.get(s) {
                    Some(prev) if prev.conditions.ready == Some(true) => {}
                    _ => {
                        group.insert(s.to_owned(), endpoint);
                    }
                }
            }
        }
    }
    if cx.errors > before {
        return Vec::new();
    }
    let skip = if meta.labels.get(SKIP_MIRROR).is_some_and(|v| v == "true") {
        Some(crate::msg!("labelled {}: \"true\"", SKIP_MIRROR))
    } else if annotations.contains_key(LEADER_ANNOTATION) {
        Some(crate::msg!(
            "annotated {} (a leader-election lock)",
            LEADER_ANNOTATION
        ))
    } else if meta.deleting {
        Some(crate::msg!("being deleted (metadata.deletionTimestamp)"))
    } else {
        None
    };
    if let Some(why) = skip {
        if !repacked.is_empty() {
            cx.warn(
                obj_pos,
                crate::msg!("{}: the EndpointSlice mirroring controller does not mirror it, so kube-proxy does not see its addresses", why),
            );
        }
        return Vec::new();
    }
    meta.labels
        .insert(MANAGED_BY.to_owned(), MIRRORING_CONTROLLER.to_owned());
    let mut out = Vec::new();
    let mut skipped = 0usize;
    for (key, group) in repacked {
        let ports = port_lists.remove(&key).unwrap_or_default();
        // Ready addresses first, each kind sorted by its text (LessEndpointAddress compares
        // the IP strings' bytes), at most MAX_ENDPOINTS_PER_SUBSET in all.
        let total = group.len();
        let (ready, not_ready): (Vec<_>, Vec<_>) = group
            .into_values()
            .partition(|e| e.conditions.ready == Some(true));
        let kept: Vec<Endpoint> = ready
            .into_iter()
            .chain(not_ready)
            .take(MAX_ENDPOINTS_PER_SUBSET)
            .collect();
        skipped += total - kept.len();
        let mut by_family: [Vec<Endpoint>; 2] = [Vec::new(), Vec::new()];
        for e in kept {
            let idx = e
                .addresses
                .first()
                .map_or(0, |ip| usize::from(Family::of(ip) == Family::V6));
            by_family[idx].push(e);
        }
        for (f, endpoints) in by_family.into_iter().enumerate() {
            if endpoints.is_empty() {
                continue;
            }
            out.push(EndpointSlice {
                meta: meta.clone(),
                service: Some(meta.id.name.clone()),
                family: Some(if f == 0 { Family::V4 } else { Family::V6 }),
                endpoints,
                ports: ports.clone(),
            });
        }
    }
    if skipped > 0 {
        // The controller's TooManyAddressesToMirror event.
        cx.warn(
            obj_pos,
            crate::msg!("A max of {} addresses can be mirrored to EndpointSlices per Endpoints subset. {} addresses were skipped", MAX_ENDPOINTS_PER_SUBSET, skipped),
        );
    }
    out
}

fn read_workload(
    cx: &mut Cx<'_>,
    kind: WorkloadKind,
    meta: Meta,
    spec: &[Entry],
    obj_pos: Pos,
) -> Option<Workload> {
    let before = cx.errors;
    let replicas = match cx.int(spec, "replicas", &"spec") {
        None => 1,
        Some((r, pos)) => match u32::try_from(r) {
            // svcroute makes a workload's Pods itself when the input has none: they count
            // against the reader's limit on objects, or fifty million replicas would take
            // minutes and gigabytes (hostile input costs bounded time and memory).
            Ok(r) if r as usize > super::MAX_OBJECTS => {
                cx.invalid(
                    pos,
                    "spec.replicas",
                    r,
                    crate::msg!(
                        "more than {} Pods to make (the reader's limit on objects)",
                        super::MAX_OBJECTS
                    ),
                );
                0
            }
            Ok(r) => r,
            Err(_) => {
                cx.invalid(
                    pos,
                    "spec.replicas",
                    r,
                    crate::msg!("must be greater than or equal to 0"),
                );
                0
            }
        },
    };
    let selector = match cx.map(spec, "selector", &"spec") {
        None => {
            cx.required(obj_pos, "spec.selector", None);
            Selector::everything()
        }
        Some((sel, sel_pos)) => {
            let match_labels = cx.labels(sel, "matchLabels", &"spec.selector");
            let mut exprs = Vec::new();
            for (e, _, path) in cx.objects(sel, "matchExpressions", &"spec.selector") {
                let key = cx
                    .str(e, "key", &path)
                    .map(|(s, _)| s.to_owned())
                    .unwrap_or_default();
                let op = cx
                    .str(e, "operator", &path)
                    .map(|(s, _)| s.to_owned())
                    .unwrap_or_default();
                let values = cx
                    .strings(e, "values", &path)
                    .into_iter()
                    .map(|(s, _, _)| s.to_owned())
                    .collect::<Vec<_>>();
                exprs.push((key, op, values));
            }
            match Selector::from_label_selector(&match_labels, &exprs) {
                Ok(s) if s.is_empty() => {
                    cx.invalid(
                        sel_pos,
                        "spec.selector",
                        "{}",
                        crate::msg!(
                            "empty selector is invalid for {}",
                            kind.as_str().to_ascii_lowercase()
                        ),
                    );
                    s
                }
                Ok(s) => s,
                Err(e) => {
                    cx.invalid(sel_pos, "spec.selector", "", e.text());
                    Selector::everything()
                }
            }
        }
    };
    let Some((template, tpos)) = cx.map(spec, "template", &"spec") else {
        cx.required(obj_pos, "spec.template", None);
        return None;
    };
    let template_labels = cx
        .map(template, "metadata", &"spec.template")
        .map(|(m, _)| cx.labels(m, "labels", &"spec.template.metadata"))
        .unwrap_or_default();
    if !selector.is_empty() && !selector.matches(&template_labels) {
        cx.invalid(
            tpos,
            "spec.template.metadata.labels",
            format_args!("{template_labels:?}"),
            crate::msg!("`selector` does not match template `labels`"),
        );
    }
    let (pod_spec, pod_spec_pos) = cx
        .map(template, "spec", &"spec.template")
        .unwrap_or((&[], tpos));
    let ports = read_container_ports(cx, pod_spec, &"spec.template.spec", pod_spec_pos);
    let hostname = read_dns_label(cx, pod_spec, "hostname", &"spec.template.spec");
    let subdomain = read_dns_label(cx, pod_spec, "subdomain", &"spec.template.spec");
    let node_selector = cx.labels(pod_spec, "nodeSelector", &"spec.template.spec");
    let host_network = cx
        .bool(pod_spec, "hostNetwork", &"spec.template.spec")
        .is_some_and(|(b, _)| b);
    let service_name = if kind == WorkloadKind::StatefulSet {
        cx.str(spec, "serviceName", &"spec")
            .map(|(s, _)| s.to_owned())
    } else {
        None
    };
    let template_hash = hash_node(template);
    let tolerations = read_tolerations(cx, pod_spec, &"spec.template.spec");
    if cx.errors > before {
        return None;
    }
    Some(Workload {
        kind,
        meta,
        replicas,
        selector,
        template_labels,
        ports,
        hostname,
        subdomain,
        node_selector,
        host_network,
        service_name,
        template_hash,
        tolerations,
    })
}

/// FNV-1a over a canonical rendering of a subtree: the same template gives the same hash
/// whatever its formatting (the controller hashes the template to name ReplicaSets).
fn hash_node(entries: &[Entry]) -> u32 {
    fn feed(h: &mut u32, bytes: &[u8]) {
        for b in bytes {
            *h ^= u32::from(*b);
            *h = h.wrapping_mul(0x0100_0193);
        }
    }
    fn walk(h: &mut u32, v: &Value) {
        match v {
            Value::Null => feed(h, b"~"),
            Value::Bool(b) => feed(h, if *b { b"T" } else { b"F" }),
            Value::Int(i) => feed(h, &i.to_le_bytes()),
            Value::Float(f) => feed(h, &f.to_bits().to_le_bytes()),
            Value::Str(s) => {
                feed(h, b"\"");
                feed(h, s.as_bytes());
                feed(h, b"\"");
            }
            Value::Seq(items) => {
                feed(h, b"[");
                for i in items {
                    walk(h, &i.value);
                }
                feed(h, b"]");
            }
            Value::Map(entries) => {
                let mut sorted: Vec<&Entry> = entries.iter().collect();
                crate::sort::sort_by(&mut sorted, |a, b| a.key.cmp(&b.key));
                feed(h, b"{");
                for e in sorted {
                    feed(h, e.key.as_bytes());
                    feed(h, b":");
                    walk(h, &e.value.value);
                }
                feed(h, b"}");
            }
        }
    }
    let mut h = 0x811c_9dc5;
    let v = Value::Map(entries.to_vec());
    walk(&mut h, &v);
    h
}

/// The API server's `ValidateNonSpecialIP`: externalIPs and endpoint addresses may not be
/// unspecified, loopback, link-local unicast or link-local multicast.
fn non_special_ip(ip: &IpAddr) -> Result<(), Msg> {
    let link_local_unicast = match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    };
    // Go's net.IP.IsLinkLocalMulticast: 224.0.0.0/24, ffX2::/16.
    let link_local_multicast = match ip {
        IpAddr::V4(v4) => v4.octets()[..3] == [224, 0, 0],
        IpAddr::V6(v6) => v6.segments()[0] & 0xff0f == 0xff02,
    };
    if ip.is_unspecified() {
        Err(crate::msg!("may not be unspecified ({})", ip))
    } else if ip.is_loopback() {
        Err(crate::msg!(
            "may not be in the loopback range (127.0.0.0/8, ::1/128)"
        ))
    } else if link_local_unicast {
        Err(crate::msg!(
            "may not be in the link-local range (169.254.0.0/16, fe80::/10)"
        ))
    } else if link_local_multicast {
        Err(crate::msg!(
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"
        ))
    } else {
        Ok(())
    }
}

/// Why an address cannot be a load balancer's VIP: what `ValidateNonSpecialIP` refuses
/// (unspecified, loopback, link-local), multicast, and the IPv4 limited broadcast address.
fn not_a_vip(ip: &IpAddr) -> Result<(), Msg> {
    non_special_ip(ip)?;
    if ip.is_multicast() {
        return Err(crate::msg!("is a multicast address"));
    }
    if *ip == IpAddr::V4(core::net::Ipv4Addr::BROADCAST) {
        return Err(crate::msg!("is the broadcast address"));
    }
    Ok(())
}

const TOPOLOGY_MODE: &str = "service.kubernetes.io/topology-mode";
const TOPOLOGY_AWARE_HINTS: &str = "service.kubernetes.io/topology-aware-hints";
const SOURCE_RANGES_ANNOTATION: &str = "service.beta.kubernetes.io/load-balancer-source-ranges";

/// `spec.loadBalancerSourceRanges`, or else the legacy annotation, as `ValidateService` checks
/// them (upstream's field path is spelled `spec.LoadBalancerSourceRanges`). Valid ranges on a
/// LoadBalancer get a warning: kube-proxy enforces them with iptables and ipsets, not IPVS.
fn read_source_ranges(
    cx: &mut Cx<'_>,
    kind: ServiceType,
    annotations: &Annotations<'_>,
    spec: &[Entry],
) -> Vec<IpNet> {
    let mut ranges: Vec<IpNet> = Vec::new();
    let field_items = cx.strings(spec, "loadBalancerSourceRanges", &"spec");
    let field_pos = cx.field(spec, "loadBalancerSourceRanges").map(|n| n.pos);
    let before = cx.errors;
    let warn_pos;
    if !field_items.is_empty() {
        let path = "spec.LoadBalancerSourceRanges";
        let pos = field_pos.unwrap_or_default();
        warn_pos = pos;
        if kind != ServiceType::LoadBalancer {
            cx.err(
                Kind::Invalid,
                pos,
                crate::msg!(
                    "{}: Forbidden: may only be used when `type` is 'LoadBalancer'",
                    path
                ),
            );
        }
        for (i, (value, vpos, _)) in field_items.iter().enumerate() {
            // "due to a historical accident … these values are allowed to be space-padded".
            let v = value.trim();
            match validation::cidr(v) {
                Ok(net) => ranges.push(net),
                Err(msg) => cx.invalid(*vpos, &format!("{path}[{i}]"), format_args!("{v:?}"), msg),
            }
        }
    } else if let Some((val, pos)) = annotations.get(SOURCE_RANGES_ANNOTATION) {
        let path = format!("metadata.annotations[{SOURCE_RANGES_ANNOTATION}]");
        let pos = *pos;
        warn_pos = pos;
        if kind != ServiceType::LoadBalancer {
            cx.err(
                Kind::Invalid,
                pos,
                crate::msg!(
                    "{}: Forbidden: may only be used when `type` is 'LoadBalancer'",
                    path
                ),
            );
        }
        let val = val.trim();
        if !val.is_empty() {
            for v in val.split(',') {
                let v = v.trim();
                match validation::cidr(v) {
                    Ok(net) => ranges.push(net),
                    Err(msg) => cx.invalid(pos, &path, format_args!("{v:?}"), msg),
                }
            }
        }
    } else {
        return ranges;
    }
    if cx.errors == before && kind == ServiceType::LoadBalancer && !ranges.is_empty() {
        let shown: Vec<String> = ranges.iter().map(|n| format!("{n}")).collect();
        cx.warn(
            warn_pos,
            crate::msg!("loadBalancerSourceRanges {} are enforced by kube-proxy's netfilter rules \
                 (`plan -o nftables-ipvs|iptables|nftables`, `agent --nftables`), not by IPVS: the IPVS rules \
                 and `route` accept every source", shown.join(",")),
        );
    }
    ranges
}

/// A list of strings as Go's `%#v` prints a `[]string` in API errors.
fn go_strings(items: &[&str]) -> String {
    let inner: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[]string{{{}}}", inner.join(", "))
}

/// Where a mapping's first key is written (the start of a block object).
fn entries_pos(m: &[Entry]) -> Option<Pos> {
    m.first().map(|e| e.key_pos)
}

#[cfg(test)]
mod tests {
    use super::super::read;
    use super::super::schema::TYPES;
    use alloc::string::{String, ToString};

    /// The schema's perfect hash finds a field only where the type has it: every field name of
    /// every type looked up in every type, and near misses (same length, first and last four
    /// bytes; one byte changed; a byte more or less).
    #[test]
    fn schema_lookup_matches_a_search() {
        let mut names: alloc::vec::Vec<String> = TYPES
            .iter()
            .flat_map(|t| t.fields.iter().map(|(f, _)| f.to_string()))
            .collect();
        for (f, _) in TYPES.iter().flat_map(|t| t.fields.iter()) {
            for i in 0..f.len() {
                let mut b = f.as_bytes().to_vec();
                b[i] ^= 0x20;
                names.extend(String::from_utf8(b).ok());
            }
            names.push(alloc::format!("{f}s"));
            names.push(f[1..].to_string());
            names.push(f[..f.len() - 1].to_string());
        }
        names.extend(["", "a", "ab", "abc"].map(String::from));
        for t in TYPES {
            for name in &names {
                let want = t.fields.iter().find(|(f, _)| f == name).map(|(_, s)| *s);
                assert_eq!(t.field(name), want, "{}.{name}", t.name);
            }
        }
    }

    /// A Service with every port number: the uniqueness checks are sets (this took 16–22 s
    /// with linear scans); a repeated port and a repeated name are still each reported once.
    #[test]
    fn every_port_number_on_one_service() {
        let mut text =
            String::from("apiVersion: v1\nkind: Service\nmetadata: {name: all}\nspec:\n  ports:\n");
        for p in 1..=65535u32 {
            text.push_str(&alloc::format!("  - {{name: p{p}, port: {p}}}\n"));
        }
        let ok = read("all.yaml", &text);
        assert!(!ok.has_errors(), "{:?}", ok.diagnostics.first());
        assert_eq!(ok.objects.services[0].ports.len(), 65535);
        text.push_str("  - {name: p1, port: 80}\n");
        let dup = read("all.yaml", &text);
        let messages: alloc::vec::Vec<String> =
            dup.diagnostics.iter().map(|d| d.to_string()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        // In the order of the text: the item's position, then its name's.
        assert!(messages[1].contains("spec.ports[65535].name: Duplicate value: \"p1\""));
        assert!(
            messages[0].contains(
                "spec.ports[65535]: Duplicate value: {\"port\": 80, \"protocol\": \"TCP\"}"
            )
        );
    }

    /// A collection where the schema wants a scalar is a type error at the value, with the
    /// field's path (`check_fields` checks scalar fields inline, without recursing).
    #[test]
    fn collections_in_scalar_fields() {
        let text = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  \
                    sessionAffinity: [ClientIP]\n  externalName: {a: b}\n  ports:\n  \
                    - port: 80\n    appProtocol: [x]\n";
        let read = read("s.yaml", text);
        let messages: alloc::vec::Vec<String> =
            read.diagnostics.iter().map(|d| d.to_string()).collect();
        let want = [
            "s.yaml:5:20: Service \"default/web\": spec.sessionAffinity: expected a single value, got a list",
            "s.yaml:6:17: Service \"default/web\": spec.externalName: expected a single value, got an object",
            "s.yaml:9:18: Service \"default/web\": spec.ports[0].appProtocol: expected a single value, got a list",
        ];
        for w in want {
            assert!(
                messages.iter().any(|m| m.ends_with(w)),
                "{w}\n{messages:#?}"
            );
        }
    }

    /// A workload whose template has no `spec` (or an empty one) is reported where the template
    /// (or the empty pod spec) is, never at 0:0; the API server's message is unchanged.
    #[test]
    fn missing_pod_spec_is_placed_at_the_template() {
        let head = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n";
        for (template, line, col) in [
            ("  template:\n    metadata: {labels: {app: web}}\n", 7, 5),
            (
                "  template:\n    metadata: {labels: {app: web}}\n    spec: {}\n",
                8,
                11,
            ),
        ] {
            let read = read("w.yaml", &alloc::format!("{head}{template}"));
            let d = read
                .diagnostics
                .iter()
                .find(|d| {
                    d.message
                        .contains("spec.template.spec.containers: Required value")
                })
                .expect("a missing containers is reported");
            let loc = d.loc.as_ref().expect("placed");
            assert_eq!((loc.line, loc.col), (line, col), "{d}");
        }
    }

    /// JSON read item by item (the List's tree never whole) gives what reading the whole tree
    /// gives, and the cases that need the whole tree fall back to it: an object with `items`
    /// that is not a List, a List without `apiVersion`, several values in one text, syntax
    /// errors (read again as YAML).
    #[test]
    fn streamed_json_reads_as_the_whole_tree() {
        let svc = r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"ports":[{"port":80,"nmae":"x"}]}}"#;
        let texts = [
            alloc::format!(
                r#"{{"apiVersion":"v1","items":[{svc},{svc},7],"kind":"List","metadata":{{}}}}"#
            ),
            alloc::format!(r#"{{"items":[{svc}],"kind":"List"}}"#),
            alloc::format!(
                r#"{{"apiVersion":"v1","items":[{svc}],"kind":"Service","metadata":{{"name":"b"}}}}"#
            ),
            alloc::format!(
                r#"{{"apiVersion":"v1","kind":"ServiceList","items":[{svc}]}} {svc} [1]"#
            ),
            alloc::format!(r#"{{"apiVersion":"v1","kind":"List","items":[{svc}, ]}}"#),
        ];
        for text in &texts {
            let streamed = read("s.json", text);
            let file: super::Arc<str> = "s.json".into();
            let mut whole = super::Read::default();
            match super::super::parse(text) {
                Ok(docs) => {
                    for doc in &docs {
                        super::read_object(&file, doc, &mut whole);
                    }
                    whole
                        .diagnostics
                        .sort_by_key(|d| d.loc.as_ref().map(|l| (l.line, l.col)));
                }
                Err(_) => whole = read("s.json", text),
            }
            assert_eq!(
                alloc::format!("{:?}", streamed.objects),
                alloc::format!("{:?}", whole.objects),
                "{text}"
            );
            let messages = |r: &super::Read| -> alloc::vec::Vec<String> {
                r.diagnostics.iter().map(|d| d.to_string()).collect()
            };
            assert_eq!(messages(&streamed), messages(&whole), "{text}");
            assert!(!streamed.diagnostics.is_empty(), "{text}");
        }
    }

    /// The same for YAML, with what only YAML has: anchors and aliases between items, an
    /// anchored `items` aliased later, `<<` merges beside and before `items` (go-yaml's merge
    /// could bring or replace `items`), several documents, a syntax error after items.
    #[test]
    fn streamed_yaml_reads_as_the_whole_tree() {
        let svc = "- apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n  spec:\n    ports: [{port: 80, nmae: x}]\n";
        let texts = [
            alloc::format!("apiVersion: v1\nkind: List\nitems:\n{svc}{svc}- 7\n"),
            alloc::format!("kind: List\nitems:\n{svc}"),
            alloc::format!("apiVersion: v1\nkind: Service\nmetadata: {{name: b}}\nitems:\n{svc}"),
            alloc::format!(
                "apiVersion: v1\nkind: List\nitems:\n{svc}---\n{}---\n- 1\n",
                &svc[2..].replace("\n  ", "\n")
            ),
            alloc::format!(
                "apiVersion: v1\nkind: List\nitems:\n- &s {}- *s\n",
                &svc[2..]
            ),
            alloc::format!("apiVersion: v1\nkind: List\nitems: &all\n{svc}other: *all\n"),
            alloc::format!(
                "apiVersion: v1\nkind: List\nbase: &b {{items: [1]}}\nitems:\n{svc}<<: *b\n"
            ),
            alloc::format!(
                "apiVersion: v1\nkind: List\nbase: &b {{items: [1]}}\n<<: *b\nitems:\n{svc}"
            ),
            alloc::format!("apiVersion: v1\nkind: List\nitems:\n{svc}x: [\n"),
            alloc::format!("apiVersion: v1\nkind: List\nitems:\n{svc}items: []\n"),
        ];
        for text in &texts {
            let streamed = read("s.yaml", text);
            let file: super::Arc<str> = "s.yaml".into();
            let mut whole = super::Read::default();
            match super::super::parse(text) {
                Ok(docs) => {
                    for doc in &docs {
                        super::read_object(&file, doc, &mut whole);
                    }
                }
                Err((what, e)) => whole.diagnostics.push(super::Diagnostic::error(
                    super::Kind::Syntax,
                    Some(super::loc(&file, e.pos)),
                    alloc::format!("invalid {what}: {}", e.message),
                )),
            }
            whole
                .diagnostics
                .sort_by_key(|d| d.loc.as_ref().map(|l| (l.line, l.col)));
            assert_eq!(
                alloc::format!("{:?}", streamed.objects),
                alloc::format!("{:?}", whole.objects),
                "{text}"
            );
            let messages = |r: &super::Read| -> alloc::vec::Vec<String> {
                r.diagnostics.iter().map(|d| d.to_string()).collect()
            };
            assert_eq!(messages(&streamed), messages(&whole), "{text}");
            assert!(!streamed.diagnostics.is_empty(), "{text}");
        }
    }
}
