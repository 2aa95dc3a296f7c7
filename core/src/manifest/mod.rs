//! Reading manifests: YAML or JSON text into checked [`Objects`](crate::model::Objects).
//!
//! Three steps, each reporting at the line and column of the offending text:
//! 1. [`yaml`]: text into a tree that remembers positions (syntax errors, duplicate keys);
//! 2. strict field validation against Kubernetes' own schema ([`schema`]): an unknown field is an
//!    error, as with `kubectl apply --validate=strict`;
//! 3. [`decode`]: the fields svcroute uses, typed and validated as the API server validates them.
//!
//! # Limits
//!
//! Hostile or broken input must cost bounded time and memory, and never overflow a stack (the
//! browser build's stack is 1 MiB). Every reader of this crate — the CLI, the node agent and the
//! JS API — goes through [`read`] / [`read_all`], so the limits are the same everywhere; going
//! over one is an error at the line and column where it happened:
//!
//! | limit | value | Kubernetes for comparison |
//! |---|---|---|
//! | input size, all files together | [`MAX_INPUT_BYTES`] (128 MiB) | the API server takes 3 MiB per request |
//! | nesting depth | [`MAX_DEPTH`] (256 levels) | go-yaml and Go's JSON stop at 10,000; real objects stay under 50 |
//! | values (scalars and collections) | [`MAX_VALUES`] (16 million) | |
//! | objects (documents and `List` items) | [`MAX_OBJECTS`] (1 million) | |
//! | Pods, read and made for workloads together (a workload's `spec.replicas` is refused above it when read) | [`MAX_OBJECTS`] | `replicas` is any int32 |
//! | keys in one mapping | [`MAX_KEYS`] (65,536) | |
//!
//! What the objects ask of one node is bounded after reading: a node's plan holds at most
//! [`crate::plan::MAX_NODE_RULES`] (500,000 virtual servers, 2 million real servers; kube-proxy
//! has no limit), and a Service that would pass them is skipped with a warning, in every proxy
//! mode's rules.
//!
//! Both parsers build the tree without recursion deeper than [`MAX_DEPTH`], so everything
//! that walks the tree afterwards (validation, hashing, dropping) is bounded too; duplicate keys
//! are found through an ordered index, so a mapping of n keys costs O(n log n).

pub mod decode;
pub mod json;
pub mod parser_messages;
pub mod schema;
pub mod yaml;

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::diag::{Diagnostic, Kind, Loc};
use crate::model::Objects;
use yaml::{Node, SyntaxError, Value};

/// The most text read at once, all inputs together (128 MiB).
pub const MAX_INPUT_BYTES: usize = 128 << 20;
/// The deepest nesting of sequences and mappings.
pub const MAX_DEPTH: usize = 256;
/// The most values (scalars, sequences and mappings, alias expansions included) in one input.
pub const MAX_VALUES: usize = 16_000_000;
/// The most objects (documents, and items of `List`s) in one input.
pub const MAX_OBJECTS: usize = 1_000_000;
/// The most keys in one mapping.
pub const MAX_KEYS: usize = 65_536;

/// What reading one text produced: the objects, and every error and warning found.
#[derive(Clone, Debug, Default)]
pub struct Read {
    /// The objects that were valid.
    pub objects: Objects,
    /// Errors and warnings, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Read {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Reads one more text (named `file`) into these objects and diagnostics, as [`read_all`]
    /// reads each of its inputs. The caller keeps the [`MAX_INPUT_BYTES`] limit.
    pub fn add(&mut self, file: &str, text: &str) {
        decode::read_into(&Arc::from(file), text, self);
    }

    /// Reads one more text given in pieces: `fill(buf, n)` appends at most `n` more bytes of it
    /// to `buf` and returns how many, 0 at its end; `size` is its length (or a guess). A JSON
    /// object, such as the `List` that `kubectl get -o json` prints, is read a window at a
    /// time and never held whole.
    ///
    /// Returns `Ok(false)`, having added nothing, when the text is to be read whole with
    /// [`Read::add`] instead: YAML, and anything JSON that the whole-text reader reports or
    /// reads in another way (a syntax error, a limit, text that is not UTF-8, several
    /// documents, a duplicate top-level key). An error of `fill` ends the reading.
    pub fn add_pieces<E>(
        &mut self,
        file: &str,
        size: usize,
        mut fill: impl FnMut(&mut Vec<u8>, usize) -> Result<usize, E>,
    ) -> Result<bool, E> {
        decode::read_pieces(&Arc::from(file), size, self, &mut fill)
    }
}

/// Reads every object of `text`; `file` names it in diagnostics.
///
/// Never panics; an invalid object is reported and left out, the others are kept, so a caller
/// can show every error of a file at once.
pub fn read(file: &str, text: &str) -> Read {
    read_all([(file, text)])
}

/// Reads several `(file, text)` pairs into one set of objects.
///
/// Inputs over [`MAX_INPUT_BYTES`] (together) are refused with an error naming the file.
pub fn read_all<'a>(inputs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Read {
    let mut out = Read::default();
    let mut total = 0usize;
    for (file, text) in inputs {
        let file = Arc::from(file);
        total = total.saturating_add(text.len());
        if total > MAX_INPUT_BYTES {
            out.diagnostics.push(too_large(&file));
            break;
        }
        decode::read_into(&file, text, &mut out);
    }
    out
}

/// The error for input over [`MAX_INPUT_BYTES`]; the CLI says the same when it stops reading.
pub fn too_large(file: &Arc<str>) -> Diagnostic {
    Diagnostic::error(
        Kind::Syntax,
        Some(Loc {
            file: file.clone(),
            line: 1,
            col: 1,
        }),
        crate::msg!(
            "input too large: the manifests together exceed {} MiB (the reader's limit)",
            MAX_INPUT_BYTES >> 20
        ),
    )
}

/// Parses a text into documents: JSON by the fast JSON parser when it starts like JSON, YAML
/// otherwise (and when JSON fails, since YAML's flow style also starts with `{`). Returns which
/// syntax the error speaks of. Counts objects against [`MAX_OBJECTS`].
pub(crate) fn parse(text: &str) -> Result<Vec<Node<'_>>, (&'static str, SyntaxError)> {
    let docs = if looks_like_json(text) {
        match json::parse_documents(text) {
            Ok(docs) => docs,
            // A comment is not JSON, and reading the text as YAML instead would misreport it.
            Err(e) if json::is_comment(&e) => return Err(("JSON", e)),
            Err(json) => yaml::parse_documents(text).map_err(|_| ("JSON", json))?,
        }
    } else {
        yaml::parse_documents(text).map_err(|e| ("YAML", e))?
    };
    let mut objects = 0usize;
    for doc in &docs {
        objects += match &doc.value {
            Value::Map(entries) => match list_items(entries) {
                Some(items) => items.len(),
                None => 1,
            },
            _ => 1,
        };
        if objects > MAX_OBJECTS {
            return Err((
                "input",
                SyntaxError {
                    pos: doc.pos,
                    message: format!("more than {MAX_OBJECTS} objects (the reader's limit)").into(),
                },
            ));
        }
    }
    Ok(docs)
}

/// Whether `text` is read as JSON first (it opens with `{` or `[`).
pub(crate) fn looks_like_json(text: &str) -> bool {
    text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n'])
        .starts_with(['{', '['])
}

/// The items of an object that is a list, as kubectl decides it: a kind ending in `List`
/// (`List`, `ServiceList`, a custom `FooList`) with an `items` field is flattened, as
/// apimachinery's unstructured decoder treats every object with `items` as a list. A kind ending
/// in `List` without `items` is an ordinary object (read, or skipped with a warning when its
/// kind is not one svcroute reads), never dropped silently. (`decode` decides the same.)
fn list_items<'n>(entries: &'n [yaml::Entry<'n>]) -> Option<&'n [Node<'n>]> {
    let kind = entries.iter().find(|e| e.key == "kind")?;
    let Value::Str(kind) = &kind.value.value else {
        return None;
    };
    if !kind.ends_with("List") {
        return None;
    }
    match &entries.iter().find(|e| e.key == "items")?.value.value {
        Value::Seq(items) => Some(items),
        // `items: null` or `items: []` is an empty list.
        Value::Null => Some(&[]),
        _ => None,
    }
}

/// The Kubernetes-style list of allowed values: `"A", "B", "C"`.
pub(crate) fn quoted_list(values: &[&str]) -> String {
    let mut s = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('"');
        s.push_str(v);
        s.push('"');
    }
    s
}

/// Reads manifests and builds the cluster in one step, as the CLI and the playground do:
/// reading warnings come first in `Cluster::warnings`. On failure, every diagnostic (errors
/// and warnings, in order) is returned.
pub fn load<'a>(
    inputs: impl IntoIterator<Item = (&'a str, &'a str)>,
    config: crate::config::Config,
    tweaks: &crate::cluster::Tweaks,
) -> Result<crate::cluster::Cluster, crate::diag::Errors> {
    build(read_all(inputs), config, tweaks)
}

/// The second half of [`load`]: builds the cluster from what [`read_all`] read. A caller that
/// owns the text can drop it in between (the CLI does: the text of a large cluster is as
/// large as the rest of its peak memory).
pub fn build(
    mut read: Read,
    config: crate::config::Config,
    tweaks: &crate::cluster::Tweaks,
) -> Result<crate::cluster::Cluster, crate::diag::Errors> {
    if read.objects == Objects::default() && !read.has_errors() {
        // `kubectl apply` refuses an empty input ("no objects passed to apply").
        read.diagnostics.push(Diagnostic::warning(
            Kind::Note,
            None,
            crate::msg!("no objects in the input: the plan is empty"),
        ));
    }
    if read.has_errors() {
        return Err(crate::diag::Errors(read.diagnostics));
    }
    match crate::cluster::Cluster::build_with(read.objects, config, tweaks) {
        Ok(mut cluster) => {
            let mut warnings = read.diagnostics;
            warnings.append(&mut cluster.warnings);
            cluster.warnings = warnings;
            Ok(cluster)
        }
        Err(mut errors) => {
            let mut all = read.diagnostics;
            all.append(&mut errors.0);
            Err(crate::diag::Errors(all))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use alloc::string::ToString;

    /// Issue 8: a 10 MB `metadata.name` was echoed in full, twice (20 MB of stderr).
    #[test]
    fn a_huge_name_is_not_echoed() {
        let name = "a".repeat(10_000_000);
        let text = alloc::format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  ports:\n  - port: 80\n"
        );
        let read = read("big.yaml", &text);
        assert!(read.has_errors());
        for d in &read.diagnostics {
            let shown = d.to_string();
            assert!(shown.len() < 2_000, "{} bytes", shown.len());
            assert!(shown.contains("(1000001"), "{shown}");
        }
    }

    #[test]
    fn input_over_the_limit_is_refused() {
        let half = " ".repeat(MAX_INPUT_BYTES / 2 + 1);
        let read = read_all([("a.yaml", half.as_str()), ("b.yaml", half.as_str())]);
        let errors: Vec<_> = read.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].loc.as_ref().unwrap().file.as_ref(), "b.yaml");
        assert!(errors[0].message.contains("input too large"));
    }

    /// The generated perfect hash finds every field of every type, and nothing else.
    #[test]
    fn schema_lookup_finds_every_field() {
        for def in schema::TYPES {
            for (name, shape) in def.fields {
                assert_eq!(def.field(name), Some(*shape), "{}.{name}", def.name);
                assert_eq!(def.field(&alloc::format!("{name}x")), None);
            }
            assert_eq!(def.field(""), None);
        }
    }

    /// kubectl flattens `List` and `…List` kinds with `items`; the objects count against the
    /// limit one by one.
    #[test]
    fn list_items_are_objects() {
        let text = "kind: FooList\nitems: [{a: 1}, {b: 2}]\n";
        let docs = parse(text).unwrap();
        let Value::Map(e) = &docs[0].value else {
            panic!()
        };
        assert_eq!(list_items(e).unwrap().len(), 2);
        assert!(list_items(&e[1..]).is_none());
    }
}
