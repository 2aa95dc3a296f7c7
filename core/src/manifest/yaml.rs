//! YAML (and therefore JSON) text into a tree of values that remember where they were written.
//!
//! Kubernetes reads manifests with `sigs.k8s.io/yaml`, which resolves plain scalars by YAML 1.1
//! rules (`yes`, `on`, `off` are booleans) and rejects duplicate keys. We do the same, so a value
//! kubectl would refuse (a label `enabled: yes`) is refused here too, at its line and column.
//! JSON is read by the same parser: every JSON text `kubectl get -o json` prints is valid YAML 1.2.

use alloc::borrow::ToOwned;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// A position in a manifest: 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1 (in characters).
    pub col: u32,
}

/// A value of the tree with the position where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it was written.
    pub pos: Pos,
}

/// One entry of a mapping.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The key, as text (`80: x` has the key `"80"`, as JSON conversion gives it).
    pub key: String,
    /// Where the key was written: unknown-field errors point here.
    pub key_pos: Pos,
    /// The value.
    pub value: Node,
}

/// A YAML value after scalar resolution.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// A boolean (YAML 1.1 spellings included, as `sigs.k8s.io/yaml` resolves them).
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in written order.
    Map(Vec<Entry>),
}

impl Value {
    /// A short description for type errors: `a string`, `the number 1`, `a list` …
    pub fn describe(&self) -> String {
        match self {
            Value::Null => "null".to_string(),
            Value::Bool(b) => format!("the boolean {b}"),
            Value::Int(i) => format!("the number {i}"),
            Value::Float(f) => format!("the number {f}"),
            Value::Str(s) => format!("the string {s:?}"),
            Value::Seq(_) => "a list".to_string(),
            Value::Map(_) => "an object".to_string(),
        }
    }
}

/// A YAML syntax error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where the parser stopped.
    pub pos: Pos,
    /// What it said.
    pub message: String,
}

/// Upper bound on nodes created by alias expansion, against "billion laughs" inputs.
const MAX_ALIAS_NODES: usize = 1_000_000;

/// Parses every document of `text`. Empty documents (a lone `---`) are dropped.
pub fn parse_documents(text: &str) -> Result<Vec<Node>, SyntaxError> {
    let mut builder = Builder {
        parser: Parser::new_from_str(text),
        anchors: BTreeMap::new(),
        alias_budget: MAX_ALIAS_NODES,
    };
    let mut docs = Vec::new();
    loop {
        let (event, span) = builder.next()?;
        match event {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                builder.anchors.clear();
                let (event, span) = builder.next()?;
                if matches!(event, Event::DocumentEnd) {
                    continue;
                }
                let node = builder.node(event, span)?;
                if node.value != Value::Null {
                    docs.push(node);
                }
            }
            other => {
                return Err(SyntaxError {
                    pos: pos(span),
                    message: format!("unexpected YAML event {other:?}"),
                });
            }
        }
    }
    Ok(docs)
}

fn pos(span: Span) -> Pos {
    Pos {
        line: u32::try_from(span.start.line()).unwrap_or(u32::MAX),
        col: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
    }
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: BTreeMap<usize, Node>,
    alias_budget: usize,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), SyntaxError> {
        match self.parser.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(SyntaxError {
                pos: Pos {
                    line: u32::try_from(e.marker().line()).unwrap_or(u32::MAX),
                    col: u32::try_from(e.marker().col() + 1).unwrap_or(u32::MAX),
                },
                message: e.info().to_owned(),
            }),
            None => Err(SyntaxError {
                pos: Pos::default(),
                message: "unexpected end of input".into(),
            }),
        }
    }

    fn node(&mut self, event: Event<'a>, span: Span) -> Result<Node, SyntaxError> {
        let at = pos(span);
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let is_str_tag = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let value = if style != ScalarStyle::Plain || is_str_tag {
                    Value::Str(text.into_owned())
                } else {
                    resolve_plain(&text)
                };
                (Node { value, pos: at }, anchor)
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (ev, sp) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(ev, sp)?);
                }
                (
                    Node {
                        value: Value::Seq(items),
                        pos: at,
                    },
                    anchor,
                )
            }
            Event::MappingStart(anchor, _) => {
                let mut entries: Vec<Entry> = Vec::new();
                loop {
                    let (ev, sp) = self.next()?;
                    if matches!(ev, Event::MappingEnd) {
                        break;
                    }
                    let key_node = self.node(ev, sp)?;
                    let key = match key_node.value {
                        Value::Str(s) => s,
                        Value::Int(i) => i.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Float(f) => f.to_string(),
                        Value::Null => "null".to_string(),
                        Value::Seq(_) | Value::Map(_) => {
                            return Err(SyntaxError {
                                pos: key_node.pos,
                                message: "a mapping key must be a scalar".into(),
                            });
                        }
                    };
                    if let Some(prev) = entries.iter().find(|e| e.key == key) {
                        return Err(SyntaxError {
                            pos: key_node.pos,
                            message: format!(
                                "mapping key {key:?} already defined at line {}",
                                prev.key_pos.line
                            ),
                        });
                    }
                    let (ev, sp) = self.next()?;
                    let value = self.node(ev, sp)?;
                    entries.push(Entry {
                        key,
                        key_pos: key_node.pos,
                        value,
                    });
                }
                (
                    Node {
                        value: Value::Map(entries),
                        pos: at,
                    },
                    anchor,
                )
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id) else {
                    return Err(SyntaxError {
                        pos: at,
                        message: "alias to an unknown anchor".into(),
                    });
                };
                let size = count_nodes(target);
                if size > self.alias_budget {
                    return Err(SyntaxError {
                        pos: at,
                        message: "aliases expand to too many nodes".into(),
                    });
                }
                self.alias_budget -= size;
                let mut node = target.clone();
                node.pos = at;
                return Ok(node);
            }
            other => {
                return Err(SyntaxError {
                    pos: at,
                    message: format!("unexpected YAML event {other:?}"),
                });
            }
        };
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }
}

fn count_nodes(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Value::Map(entries) => {
            1 + entries
                .iter()
                .map(|e| 1 + count_nodes(&e.value))
                .sum::<usize>()
        }
        _ => 1,
    }
}

/// Resolves a plain scalar the way `sigs.k8s.io/yaml` (go-yaml v2, YAML 1.1) does.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = parse_int(text) {
        return Value::Int(i);
    }
    let first = text.as_bytes()[0];
    if (first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.'))
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'_'))
        && text.bytes().any(|b| b.is_ascii_digit())
        && let Ok(f) = text.replace('_', "").parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str(text.to_owned())
}

fn parse_int(text: &str) -> Option<i64> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() {
        return None;
    }
    let cleaned: String = body.chars().filter(|&c| c != '_').collect();
    let (radix, digits) = if let Some(h) = cleaned.strip_prefix("0x") {
        (16, h.to_owned())
    } else if let Some(o) = cleaned.strip_prefix("0o") {
        (8, o.to_owned())
    } else if let Some(b) = cleaned.strip_prefix("0b") {
        (2, b.to_owned())
    } else if cleaned.len() > 1 && cleaned.starts_with('0') {
        (8, cleaned[1..].to_owned())
    } else {
        (10, cleaned)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(&digits, radix).ok()?;
    let v = if neg { -magnitude } else { magnitude };
    i64::try_from(v).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn one(text: &str) -> Node {
        let mut docs = parse_documents(text).unwrap();
        assert_eq!(docs.len(), 1);
        docs.remove(0)
    }

    #[test]
    fn positions_are_one_based() {
        let n = one("a: 1\nb:\n  c: x\n");
        let Value::Map(entries) = n.value else {
            panic!()
        };
        assert_eq!(entries[1].key, "b");
        assert_eq!(entries[1].key_pos, Pos { line: 2, col: 1 });
        let Value::Map(inner) = &entries[1].value.value else {
            panic!()
        };
        assert_eq!(inner[0].key_pos, Pos { line: 3, col: 3 });
    }

    /// sigs.k8s.io/yaml resolves YAML 1.1 booleans: `yes` is not a string.
    #[test]
    fn yaml_1_1_booleans_and_numbers() {
        assert_eq!(resolve_plain("yes"), Value::Bool(true));
        assert_eq!(resolve_plain("off"), Value::Bool(false));
        assert_eq!(resolve_plain("80"), Value::Int(80));
        assert_eq!(resolve_plain("0x1F"), Value::Int(31));
        assert_eq!(resolve_plain("1.5"), Value::Float(1.5));
        assert_eq!(
            resolve_plain("10.97.97.97"),
            Value::Str("10.97.97.97".into())
        );
        assert_eq!(resolve_plain("nginx-pod"), Value::Str("nginx-pod".into()));
        assert_eq!(resolve_plain("-"), Value::Str("-".into()));
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        let n = one("a: \"80\"\nb: 'yes'\n");
        let Value::Map(e) = n.value else { panic!() };
        assert_eq!(e[0].value.value, Value::Str("80".into()));
        assert_eq!(e[1].value.value, Value::Str("yes".into()));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse_documents("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.pos, Pos { line: 3, col: 1 });
        assert!(err.message.contains("already defined at line 1"));
    }

    #[test]
    fn json_is_read_too() {
        let n = one("{\n  \"kind\": \"Service\",\n  \"spec\": {\"ports\": [{\"port\": 80}]}\n}\n");
        let Value::Map(e) = n.value else { panic!() };
        assert_eq!(e[1].key_pos, Pos { line: 3, col: 3 });
    }

    #[test]
    fn documents_and_empty_documents() {
        let docs = parse_documents("---\na: 1\n---\n---\nb: 2\n...\n").unwrap();
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn seed_typo_spec_type_on_one_line_is_a_syntax_error() {
        let err = parse_documents("spec: type:\n  type: ExternalName\n").unwrap_err();
        assert_eq!(err.pos.line, 1);
    }

    #[test]
    fn aliases_expand_with_a_budget() {
        let n = one("a: &x {k: v}\nb: *x\n");
        let Value::Map(e) = n.value else { panic!() };
        assert_eq!(e[0].value.value, e[1].value.value);
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        assert!(parse_documents(&bomb).is_err());
    }
}
