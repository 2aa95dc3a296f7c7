//! YAML (and therefore JSON) text into a tree of values that remember where they were written.
//!
//! Kubernetes reads manifests with `sigs.k8s.io/yaml`, which resolves plain scalars by YAML 1.1
//! rules (`yes`, `on`, `off` are booleans) and rejects duplicate keys. We do the same, so a value
//! kubectl would refuse (a label `enabled: yes`) is refused here too, at its line and column.
//! JSON is read by the same parser: every JSON text `kubectl get -o json` prints is valid YAML 1.2.

use crate::sort::CollectSorted as _;
use alloc::borrow::{Cow, ToOwned};
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::diag::Msg;

pub mod fast;

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
pub struct Node<'a> {
    /// The value.
    pub value: Value<'a>,
    /// Where it was written.
    pub pos: Pos,
}

/// One entry of a mapping.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry<'a> {
    /// The key, as text (`80: x` has the key `"80"`, as JSON conversion gives it).
    pub key: Key<'a>,
    /// Where the key was written: unknown-field errors point here.
    pub key_pos: Pos,
    /// The value.
    pub value: Node<'a>,
}

/// A mapping key: borrowed from the text when it is written there as it reads (no escapes),
/// owned otherwise.
pub type Key<'a> = Cow<'a, str>;

/// A YAML value after scalar resolution.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// `null`, `~` or nothing.
    Null,
    /// A boolean (YAML 1.1 spellings included, as `sigs.k8s.io/yaml` resolves them).
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string: borrowed from the text when it is written there as it reads (no escapes,
    /// one line), owned otherwise.
    Str(Cow<'a, str>),
    /// A sequence.
    Seq(Vec<Node<'a>>),
    /// A mapping, in written order.
    Map(Vec<Entry<'a>>),
}

impl Value<'_> {
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
    /// What it said: a template for the reader's own messages, the parser's text otherwise.
    pub message: Msg,
}

/// Upper bound on nodes created by alias expansion, against "billion laughs" inputs.
const MAX_ALIAS_NODES: usize = 1_000_000;

/// Mappings with more keys than this check duplicates with an ordered index instead of a scan.
const SCAN_KEYS: usize = 16;

/// Parses every document of `text`. Empty documents (a lone `---`) are dropped.
///
/// The tree is built without recursion (an explicit stack of open collections), within the
/// reader's [limits](super#limits): nesting depth, values, keys per mapping.
pub fn parse_documents(text: &str) -> Result<Vec<Node<'_>>, SyntaxError> {
    let mut docs = Vec::new();
    parse_into(text, &mut docs, None)?;
    Ok(docs)
}

/// Parses every document of `text`, handing each to `each(node, true)` as it ends; the items
/// of a top-level mapping's `items` sequence go to `each(item, false)` as each ends and are not
/// kept (its `items` is left empty), so a large `List` is never held whole — as
/// [`super::json::parse_documents_streaming`]. When streaming could change the tree (the
/// `items` sequence has an anchor, or a `<<` merge meets the top-level mapping once items were
/// streamed) it stops with an error: the caller then reads the text whole.
pub fn parse_documents_streaming<'a>(
    text: &'a str,
    each: &mut dyn FnMut(Node<'a>, bool),
) -> Result<(), SyntaxError> {
    let mut docs = Vec::new();
    parse_into(text, &mut docs, Some(each))
}

/// [`parse_documents`] into `docs`, or to `each` when given (then `docs` stays empty).
///
/// The [`fast`] scanner goes first; when it declines (or anything fails), saphyr reads the text
/// again from the start, so errors and unusual YAML come out as saphyr makes them. Items
/// already handed to `each` cannot be taken back: then this stops with an error, and the
/// caller reads the text whole (as for a `<<` merge beside streamed items).
fn parse_into<'a>(
    text: &'a str,
    docs: &mut Vec<Node<'a>>,
    mut each: Option<&mut dyn FnMut(Node<'a>, bool)>,
) -> Result<(), SyntaxError> {
    let mut fed = false;
    let fast = {
        let streaming = each.is_some();
        let mut counted = |node: Node<'a>, whole: bool| {
            fed = true;
            if let Some(each) = each.as_mut() {
                each(node, whole);
            }
        };
        let each: Option<&mut dyn FnMut(Node<'a>, bool)> =
            if streaming { Some(&mut counted) } else { None };
        read_events(text, Source::Fast(fast::Fast::new(text)), docs, each)
    };
    match fast {
        Ok(()) => Ok(()),
        Err(_) if fed => Err(SyntaxError {
            pos: Pos { line: 1, col: 1 },
            message: "the fast YAML path stopped after streaming items".into(),
        }),
        Err(_) => {
            docs.clear();
            read_events(text, Source::Saphyr(Parser::new_from_str(text)), docs, each)
        }
    }
}

/// Builds documents from the events of `source`.
fn read_events<'a>(
    text: &'a str,
    source: Source<'a>,
    docs: &mut Vec<Node<'a>>,
    mut each: Option<&mut dyn FnMut(Node<'a>, bool)>,
) -> Result<(), SyntaxError> {
    let mut builder = Builder {
        source,
        text,
        anchors: BTreeMap::new(),
        alias_budget: MAX_ALIAS_NODES,
        values: 0,
        stack: Vec::new(),
        items: Vec::new(),
        entries: Vec::new(),
        streamed: false,
    };
    let mut count = 0usize;
    loop {
        let (event, at) = builder.next()?;
        match event {
            Step::StreamStart | Step::DocumentEnd | Step::Nothing => {}
            Step::StreamEnd => break,
            Step::DocumentStart => {
                builder.anchors.clear();
                let (event, at) = builder.next()?;
                if matches!(event, Step::DocumentEnd) {
                    continue;
                }
                builder.streamed = false;
                let node = builder.document(event, at, &mut each)?;
                if node.value != Value::Null {
                    if count >= super::MAX_OBJECTS {
                        return Err(SyntaxError {
                            pos: node.pos,
                            message: format!(
                                "more than {} documents (the reader's limit)",
                                super::MAX_OBJECTS
                            )
                            .into(),
                        });
                    }
                    count += 1;
                    match each.as_mut() {
                        Some(each) => each(node, true),
                        None => docs.push(node),
                    }
                }
            }
            other => {
                return Err(SyntaxError {
                    pos: at,
                    message: format!("unexpected YAML event {other:?}").into(),
                });
            }
        }
    }
    Ok(())
}

/// One event as the builder takes it: saphyr's [`Event`] with a scalar's tag boxed and a
/// collection's tag left out (the builder never reads it), 48 bytes instead of 88, paired
/// with a [`Pos`] instead of a 48-byte [`Span`]. Every event is moved a few times between the
/// scanner and the builder; with saphyr's types those copies were about a third of the
/// builder's time on a 10k-Service YAML List.
#[derive(Debug)]
enum Step<'a> {
    StreamStart,
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    Nothing,
    Alias(usize),
    /// Text, style, anchor id (0: none), tag.
    Scalar(
        Cow<'a, str>,
        ScalarStyle,
        usize,
        Option<Box<Cow<'a, saphyr_parser::Tag>>>,
    ),
    /// Anchor id (0: none).
    SequenceStart(usize),
    SequenceEnd,
    /// Anchor id (0: none).
    MappingStart(usize),
    MappingEnd,
}

impl<'a> From<Event<'a>> for Step<'a> {
    fn from(event: Event<'a>) -> Self {
        match event {
            Event::Nothing => Step::Nothing,
            Event::StreamStart => Step::StreamStart,
            Event::StreamEnd => Step::StreamEnd,
            Event::DocumentStart(_) => Step::DocumentStart,
            Event::DocumentEnd => Step::DocumentEnd,
            Event::Alias(id) => Step::Alias(id),
            Event::Scalar(text, style, anchor, tag) => {
                Step::Scalar(text, style, anchor, tag.map(Box::new))
            }
            Event::SequenceStart(anchor, _) => Step::SequenceStart(anchor),
            Event::SequenceEnd => Step::SequenceEnd,
            Event::MappingStart(anchor, _) => Step::MappingStart(anchor),
            Event::MappingEnd => Step::MappingEnd,
        }
    }
}

fn pos(span: Span) -> Pos {
    Pos {
        line: u32::try_from(span.start.line()).unwrap_or(u32::MAX),
        col: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
    }
}

/// A finished value with what alias expansion needs to know about it.
struct Built<'a> {
    node: Node<'a>,
    /// Values in it (itself included).
    size: usize,
    /// Nesting levels (a scalar is 1).
    height: usize,
    /// A plain, untagged `<<` (YAML 1.1's merge key when it is a mapping key).
    merge_key: bool,
}

/// A mapping key waiting for its value.
struct PendingKey<'a> {
    key: Key<'a>,
    pos: Pos,
    /// A plain, untagged `<<`: YAML 1.1's merge key.
    merge: bool,
}

/// A collection being built. Its items so far are `Builder::items[start..]` (or
/// `Builder::entries[start..]`): one scratch vector for all open collections, since only the
/// innermost one grows, and each collection's vector is made once, at its exact size, when it
/// closes (no growth by doubling, no shrinking).
enum Open<'a> {
    Seq {
        start: usize,
    },
    Map {
        start: usize,
        pending: Option<PendingKey<'a>>,
        /// Key → index in `entries`, once the mapping has more than [`SCAN_KEYS`] keys.
        index: Option<BTreeMap<Key<'a>, usize>>,
        /// Keys whose value came from a `<<` merge: a key written later replaces it.
        merged: BTreeSet<Key<'a>>,
    },
}

struct Frame<'a> {
    open: Open<'a>,
    pos: Pos,
    anchor: usize,
    size: usize,
    height: usize,
}

/// Where the builder's events come from (one per read: the size difference does not matter).
#[allow(clippy::large_enum_variant)]
enum Source<'a> {
    /// The fast scanner, which may decline.
    Fast(fast::Fast<'a>),
    /// saphyr-parser.
    Saphyr(Parser<'a, saphyr_parser::StrInput<'a>>),
}

struct Builder<'a> {
    source: Source<'a>,
    text: &'a str,
    anchors: BTreeMap<usize, Built<'a>>,
    alias_budget: usize,
    values: usize,
    stack: Vec<Frame<'a>>,
    /// Items of the open sequences, innermost last (see [`Open`]).
    items: Vec<Node<'a>>,
    /// Entries of the open mappings, innermost last.
    entries: Vec<Entry<'a>>,
    /// Items of this document's top-level `items` went to the caller, not into the tree.
    streamed: bool,
}

impl<'a> Builder<'a> {
    /// The next event. Inlined for the fast scanner's (most of a large read; not in the
    /// browser build, for its size); saphyr's come from [`saphyr_event`].
    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    fn next(&mut self) -> Result<(Step<'a>, Pos), SyntaxError> {
        match &mut self.source {
            Source::Fast(fast) => match fast.next_step() {
                Some(Ok(ev)) => Ok(ev),
                // Never shown: `parse_into` reads the text again with saphyr.
                _ => Err(SyntaxError {
                    pos: Pos::default(),
                    message: "outside the fast YAML path".into(),
                }),
            },
            Source::Saphyr(parser) => saphyr_event(parser, self.text),
        }
    }

    /// Counts one more value against the reader's limit.
    fn count(&mut self, n: usize, at: Pos) -> Result<(), SyntaxError> {
        self.values = self.values.saturating_add(n);
        if self.values > super::MAX_VALUES {
            return Err(SyntaxError {
                pos: at,
                message: format!(
                    "more than {} values in one input (the reader's limit)",
                    super::MAX_VALUES
                )
                .into(),
            });
        }
        Ok(())
    }

    /// Builds one document from its first event, iteratively.
    /// With `each`, finished items of the top-level mapping's `items` sequence go there.
    fn document(
        &mut self,
        first: Step<'a>,
        first_at: Pos,
        each: &mut Option<&mut dyn FnMut(Node<'a>, bool)>,
    ) -> Result<Node<'a>, SyntaxError> {
        self.stack.clear();
        self.items.clear();
        self.entries.clear();
        let mut event = first;
        let mut at = first_at;
        loop {
            let done: Option<(Built, usize)> = match event {
                Step::Scalar(text, style, anchor, tag) => {
                    self.count(1, at)?;
                    let merge_key = style == ScalarStyle::Plain && tag.is_none() && text == "<<";
                    let value = scalar(text, style, tag.as_deref().map(|t| &**t));
                    Some((
                        Built {
                            node: Node { value, pos: at },
                            size: 1,
                            height: 1,
                            merge_key,
                        },
                        anchor,
                    ))
                }
                Step::SequenceStart(anchor) | Step::MappingStart(anchor) => {
                    self.count(1, at)?;
                    if self.stack.len() >= super::MAX_DEPTH {
                        return Err(SyntaxError {
                            pos: at,
                            message: format!(
                                "nesting deeper than {} levels (the reader's limit)",
                                super::MAX_DEPTH
                            )
                            .into(),
                        });
                    }
                    let open = if matches!(event, Step::SequenceStart(..)) {
                        Open::Seq {
                            start: self.items.len(),
                        }
                    } else {
                        Open::Map {
                            start: self.entries.len(),
                            pending: None,
                            index: None,
                            merged: BTreeSet::new(),
                        }
                    };
                    self.stack.push(Frame {
                        open,
                        pos: at,
                        anchor,
                        size: 1,
                        height: 1,
                    });
                    None
                }
                Step::SequenceEnd | Step::MappingEnd => {
                    let Some(frame) = self.stack.pop() else {
                        return Err(SyntaxError {
                            pos: at,
                            message: "unbalanced collection end".into(),
                        });
                    };
                    Some(finish(frame, &mut self.items, &mut self.entries)?)
                }
                Step::Alias(id) => {
                    let Some(target) = self.anchors.get(&id) else {
                        return Err(SyntaxError {
                            pos: at,
                            message: "alias to an unknown anchor".into(),
                        });
                    };
                    if target.size > self.alias_budget {
                        return Err(SyntaxError {
                            pos: at,
                            message: "aliases expand to too many nodes".into(),
                        });
                    }
                    if self.stack.len() + target.height > super::MAX_DEPTH + 1 {
                        return Err(SyntaxError {
                            pos: at,
                            message: format!(
                                "this alias nests deeper than {} levels (the reader's limit)",
                                super::MAX_DEPTH
                            )
                            .into(),
                        });
                    }
                    let (size, height) = (target.size, target.height);
                    let mut node = target.node.clone();
                    self.alias_budget -= size;
                    self.count(size, at)?;
                    node.pos = at;
                    Some((
                        Built {
                            node,
                            size,
                            height,
                            merge_key: false,
                        },
                        0,
                    ))
                }
                other => {
                    return Err(SyntaxError {
                        pos: at,
                        message: format!("unexpected YAML event {other:?}").into(),
                    });
                }
            };
            if let Some((built, anchor)) = done {
                if anchor != 0 {
                    let copy = Built {
                        node: built.node.clone(),
                        size: built.size,
                        height: built.height,
                        merge_key: false,
                    };
                    self.anchors.insert(anchor, copy);
                }
                if let Some(each) = each.as_mut()
                    && self.stack.len() == 2
                    && streams_items(&self.stack)
                {
                    self.streamed = true;
                    each(built.node, false);
                } else {
                    if self.streamed
                        && self.stack.len() == 1
                        && matches!(&self.stack[0].open, Open::Map { pending: Some(k), .. } if k.merge)
                    {
                        // A merge could bring (or replace) `items` after they were streamed.
                        return Err(SyntaxError {
                            pos: at,
                            message: "a `<<` merge beside streamed items".into(),
                        });
                    }
                    match self.stack.last_mut() {
                        None => return Ok(built.node),
                        Some(parent) => add(parent, built, &mut self.items, &mut self.entries)?,
                    }
                }
            }
            (event, at) = self.next()?;
        }
    }
}

/// The next event from saphyr, its error at the text's line and column.
#[inline(never)]
fn saphyr_event<'a>(
    parser: &mut Parser<'a, saphyr_parser::StrInput<'a>>,
    text: &'a str,
) -> Result<(Step<'a>, Pos), SyntaxError> {
    match parser.next_event() {
        Some(Ok((event, span))) => Ok((event.into(), pos(span))),
        Some(Err(e)) => Err(long_key(
            text,
            SyntaxError {
                pos: marker_pos(text, e.marker()),
                message: e.info().to_owned().into(),
            },
        )),
        None => Err(SyntaxError {
            pos: Pos::default(),
            message: "unexpected end of input".into(),
        }),
    }
}

/// Whether the open collections are a top-level mapping's `items` sequence whose items can go
/// to the caller one by one: a plain key (not a merge), no merged keys before it, no anchor on
/// the sequence (an alias to it would copy it).
fn streams_items(stack: &[Frame<'_>]) -> bool {
    matches!(
        &stack[0].open,
        Open::Map { pending: Some(k), merged, .. } if k.key == "items" && !k.merge && merged.is_empty()
    ) && matches!(stack[1].open, Open::Seq { .. })
        && stack[1].anchor == 0
}

/// The position a parser error points at. saphyr's marker can be far off for a key longer than
/// YAML's 1024-character limit on implicit keys; the byte index is exact, so line and column are
/// counted from it when they disagree with the text.
fn marker_pos(text: &str, m: &saphyr_parser::Marker) -> Pos {
    let (line, col) = (m.line(), m.col());
    let mut start = 0;
    let mut l = 1;
    // Find the reported line; if the text has no such line or column, fall back to the index.
    for (i, b) in text.bytes().enumerate() {
        if l == line {
            break;
        }
        if b == b'\n' {
            l += 1;
            start = i + 1;
        }
    }
    let line_len = text[start..].find('\n').unwrap_or(text.len() - start);
    let chars_on_line = text[start..start + line_len].chars().count();
    if l == line && col <= chars_on_line {
        return Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col + 1).unwrap_or(u32::MAX),
        };
    }
    position_of(text, m.index())
}

/// YAML allows implicit (unquoted, `key: value`) keys of at most 1024 characters; beyond, the
/// parser stops at the `:` after the key, maybe millions of columns to the right. Point at the
/// start of the key instead and say why.
fn long_key(text: &str, err: SyntaxError) -> SyntaxError {
    if err.pos.col <= 1024
        || !matches!(&err.message, Msg::Raw(m) if m == "mapping values are not allowed in this context")
    {
        return err;
    }
    let Some(line) = text.lines().nth(err.pos.line.saturating_sub(1) as usize) else {
        return err;
    };
    let before: String = line.chars().take(err.pos.col as usize - 1).collect();
    // The key starts after the last indicator that can precede it.
    let start = before.rfind(['{', ',', '[', '-', '?']).map_or(0, |i| i + 1);
    let key = before[start..].trim_start();
    let key_col = before[..before.len() - key.len()].chars().count() + 1;
    let chars = key.trim_end().chars().count();
    if chars <= 1024 {
        return err;
    }
    SyntaxError {
        pos: Pos {
            line: err.pos.line,
            col: u32::try_from(key_col).unwrap_or(u32::MAX),
        },
        message: format!(
            "a mapping key of {chars} characters: YAML allows at most 1024 in a plain `key: value` \
             (kubectl refuses it too)"
        )
        .into(),
    }
}

/// Line and column (1-based, columns in characters) of a character index into `text`.
pub(crate) fn position_of(text: &str, char_index: usize) -> Pos {
    let mut line = 1u32;
    let mut col = 1u32;
    for c in text.chars().take(char_index) {
        if c == '\n' {
            line = line.saturating_add(1);
            col = 1;
        } else {
            col = col.saturating_add(1);
        }
    }
    Pos { line, col }
}

/// Adds a finished value to the collection being built.
fn add<'a>(
    parent: &mut Frame<'a>,
    built: Built<'a>,
    items: &mut Vec<Node<'a>>,
    all_entries: &mut Vec<Entry<'a>>,
) -> Result<(), SyntaxError> {
    parent.size = parent.size.saturating_add(built.size);
    parent.height = parent.height.max(built.height + 1);
    match &mut parent.open {
        Open::Seq { .. } => items.push(built.node),
        Open::Map {
            start,
            pending,
            index,
            merged,
        } => match pending.take() {
            None => {
                let node = built.node;
                let merge = built.merge_key;
                let key: Key<'a> = match node.value {
                    Value::Str(s) => s,
                    Value::Int(i) => i.to_string().into(),
                    Value::Bool(b) => b.to_string().into(),
                    Value::Float(f) => f.to_string().into(),
                    Value::Null => Cow::Borrowed("null"),
                    Value::Seq(_) | Value::Map(_) => {
                        return Err(SyntaxError {
                            pos: node.pos,
                            message: "a mapping key must be a scalar".into(),
                        });
                    }
                };
                *pending = Some(PendingKey {
                    key,
                    pos: node.pos,
                    merge,
                });
            }
            Some(k) if k.merge => {
                // `<<: *base` or `<<: [*a, *b]`: go-yaml v2's merge (sigs.k8s.io/yaml), mappings
                // only, applied where it is written: its keys replace those set before it, keys
                // written after it replace its own, and in a list the earlier mapping wins.
                let maps = match built.node.value {
                    Value::Map(m) => alloc::vec![m],
                    Value::Seq(items) => {
                        let mut maps = Vec::new();
                        for item in items {
                            match item.value {
                                Value::Map(m) => maps.push(m),
                                _ => return Err(merge_error(item.pos)),
                            }
                        }
                        maps.reverse();
                        maps
                    }
                    _ => return Err(merge_error(built.node.pos)),
                };
                for e in maps.into_iter().flatten() {
                    merged.insert(e.key.clone());
                    let entries = &mut all_entries[*start..];
                    match find(entries, index.as_ref(), &e.key) {
                        Some(i) => entries[i].value = e.value,
                        None => put(all_entries, *start, index, e, k.pos)?,
                    }
                }
            }
            Some(k) => {
                let entries = &mut all_entries[*start..];
                if let Some(prev) = find(entries, index.as_ref(), &k.key) {
                    if merged.remove(&k.key) {
                        entries[prev].key_pos = k.pos;
                        entries[prev].value = built.node;
                        return Ok(());
                    }
                    return Err(SyntaxError {
                        pos: k.pos,
                        message: format!(
                            "mapping key {:?} already defined at line {}",
                            k.key, entries[prev].key_pos.line
                        )
                        .into(),
                    });
                }
                put(
                    all_entries,
                    *start,
                    index,
                    Entry {
                        key: k.key,
                        key_pos: k.pos,
                        value: built.node,
                    },
                    k.pos,
                )?;
            }
        },
    }
    Ok(())
}

/// Appends an entry to the mapping whose entries are `all[start..]`, keeping the key index and
/// the keys-per-mapping limit.
fn put<'a>(
    all: &mut Vec<Entry<'a>>,
    start: usize,
    index: &mut Option<BTreeMap<Key<'a>, usize>>,
    e: Entry<'a>,
    at: Pos,
) -> Result<(), SyntaxError> {
    let entries = &all[start..];
    if entries.len() >= super::MAX_KEYS {
        return Err(SyntaxError {
            pos: at,
            message: format!(
                "more than {} keys in one mapping (the reader's limit)",
                super::MAX_KEYS
            )
            .into(),
        });
    }
    if let Some(ix) = index.as_mut() {
        ix.insert(e.key.clone(), entries.len());
    } else if entries.len() >= SCAN_KEYS {
        let mut ix: BTreeMap<Key<'a>, usize> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.key.clone(), i))
            .collect_map();
        ix.insert(e.key.clone(), entries.len());
        *index = Some(ix);
    }
    all.push(e);
    Ok(())
}

fn merge_error(at: Pos) -> SyntaxError {
    SyntaxError {
        pos: at,
        message: "map merge requires map or sequence of maps as the value".into(),
    }
}

fn find(
    entries: &[Entry<'_>],
    index: Option<&BTreeMap<Key<'_>, usize>>,
    key: &str,
) -> Option<usize> {
    match index {
        Some(ix) => ix.get(key).copied(),
        None => entries.iter().position(|e| e.key == key),
    }
}

/// Closes a collection.
fn finish<'a>(
    frame: Frame<'a>,
    items: &mut Vec<Node<'a>>,
    entries: &mut Vec<Entry<'a>>,
) -> Result<(Built<'a>, usize), SyntaxError> {
    // Exact capacity: the tree of a large List is most of the reader's memory. `split_off`
    // copies the items in one `memcpy` into a vector of their exact size.
    let value = match frame.open {
        Open::Seq { start } => Value::Seq(items.split_off(start)),
        Open::Map { start, pending, .. } => {
            if let Some(k) = pending {
                return Err(SyntaxError {
                    pos: k.pos,
                    message: "mapping key without a value".into(),
                });
            }
            Value::Map(entries.split_off(start))
        }
    };
    Ok((
        Built {
            node: Node {
                value,
                pos: frame.pos,
            },
            size: frame.size,
            height: frame.height,
            merge_key: false,
        },
        frame.anchor,
    ))
}

/// A scalar's value: quoted or `!!str` scalars are strings; a custom tag (`!foo 80`) keeps the
/// text as a string, as go-yaml's resolver leaves scalars with tags it cannot resolve; plain and
/// core-schema-tagged ones are resolved by YAML 1.1 rules.
fn scalar<'a>(
    text: Cow<'a, str>,
    style: ScalarStyle,
    tag: Option<&saphyr_parser::Tag>,
) -> Value<'a> {
    let (core, suffix) = match tag {
        None => (true, ""),
        Some(t) => (t.is_yaml_core_schema(), t.suffix.as_str()),
    };
    if core
        && suffix != "str"
        && (style == ScalarStyle::Plain || !suffix.is_empty())
        && let Some(v) = resolve_non_string(&text)
    {
        return v;
    }
    Value::Str(text)
}

/// Resolves a plain scalar the way `sigs.k8s.io/yaml` (go-yaml v2, YAML 1.1) does.
#[cfg(test)]
fn resolve_plain(text: &str) -> Value<'_> {
    resolve_non_string(text).unwrap_or(Value::Str(Cow::Borrowed(text)))
}

/// [`resolve_plain`] for what is not a string (`None`: the text is a string).
fn resolve_non_string(text: &str) -> Option<Value<'static>> {
    // Most keys and values start with a letter that no null, boolean, number or infinity
    // starts with: a string, without trying the words below one by one.
    if let Some(b) = text.bytes().next()
        && b.is_ascii_alphabetic()
        && !matches!(b.to_ascii_lowercase(), b'n' | b'y' | b't' | b'o' | b'f')
    {
        return None;
    }
    Some(match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Value::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Value::Bool(false)
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Value::Float(f64::NAN),
        _ => {
            if let Some(i) = parse_int(text) {
                return Some(Value::Int(i));
            }
            let first = text.as_bytes()[0];
            if (first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.'))
                && text.bytes().all(|b| {
                    b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'_')
                })
                && text.bytes().any(|b| b.is_ascii_digit())
                && let Ok(f) = text.replace('_', "").parse::<f64>()
            {
                return Some(Value::Float(f));
            }
            return None;
        }
    })
}

fn parse_int(text: &str) -> Option<i64> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    // Every integer starts with a digit (or the `_` this reader has always skipped): most
    // scalars are not numbers, and need no copy to find that out.
    if !body
        .as_bytes()
        .first()
        .is_some_and(|b| b.is_ascii_digit() || *b == b'_')
    {
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
    use alloc::string::ToString;
    use alloc::vec;

    fn one(text: &str) -> Node<'_> {
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

    /// The shortcut for text starting with a letter keeps every YAML 1.1 word (go-yaml v2's
    /// resolve table) resolved, and only those.
    #[test]
    fn words_resolve_past_the_letter_shortcut() {
        for w in [
            "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on",
            "On", "ON", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
        ] {
            assert!(resolve_non_string(w).is_some(), "{w}");
        }
        for w in [
            "nginx", "Never", "TCP", "ready", "app", "Zeta", "nul", "yess",
        ] {
            assert_eq!(resolve_plain(w), Value::Str(w.into()), "{w}");
        }
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
        assert!(
            err.message
                .to_string()
                .contains("already defined at line 1")
        );
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

    /// Runs `f` on a thread with a 256 KiB stack: a quarter of the browser build's 1 MiB, so
    /// what passes here cannot overflow there.
    fn small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap()
    }

    /// Issue 8: ~10,700 nested block sequences aborted the process (recursive builder).
    #[test]
    fn deep_block_sequences_are_an_error_not_an_abort() {
        let err = small_stack(|| parse_documents(&block_nesting(10_700)).unwrap_err());
        assert!(
            err.message.to_string().contains("nesting deeper than 256"),
            "{err:?}"
        );
        assert_eq!(err.pos.line, 257);
    }

    #[test]
    fn deep_complex_keys_are_an_error_not_an_abort() {
        let err = small_stack(|| parse_documents(&"? ".repeat(20_000)).unwrap_err());
        assert!(
            err.message.to_string().contains("nesting deeper than 256"),
            "{err:?}"
        );
    }

    /// Exactly the limit is accepted, and dropping the deepest tree fits the small stack.
    /// (saphyr itself stops flow collections a level earlier, so block style is used.)
    fn block_nesting(levels: usize) -> String {
        let mut text = String::new();
        for i in 0..levels {
            text.push_str(&" ".repeat(i * 2));
            text.push_str("-\n");
        }
        text.push_str(&" ".repeat(levels * 2));
        text.push_str("x\n");
        text
    }

    #[test]
    fn nesting_at_the_limit_is_read() {
        let docs = small_stack(|| parse_documents(&block_nesting(256)).map(|d| d.len()));
        assert_eq!(docs, Ok(1));
        assert!(parse_documents(&block_nesting(257)).is_err());
    }

    /// An alias cannot smuggle nesting past the limit.
    #[test]
    fn aliases_count_towards_depth() {
        let text = format!(
            "a: &d {}x{}\nb: {}*d{}\n",
            "[".repeat(200),
            "]".repeat(200),
            "[".repeat(100),
            "]".repeat(100)
        );
        let err = parse_documents(&text).unwrap_err();
        assert!(
            err.message.to_string().contains("alias nests deeper"),
            "{err:?}"
        );
    }

    /// Duplicate keys among many are found (through the index) at the second one.
    #[test]
    fn duplicates_in_large_mappings() {
        let mut text = String::new();
        for i in 0..50_000 {
            text.push_str(&format!("k{i}: {i}\n"));
        }
        let Value::Map(e) = one(&text).value else {
            panic!()
        };
        assert_eq!(e.len(), 50_000);
        text.push_str("k123: again\n");
        let err = parse_documents(&text).unwrap_err();
        assert_eq!(err.pos.line, 50_001);
        assert!(
            err.message
                .to_string()
                .contains("already defined at line 124")
        );
    }

    #[test]
    fn keys_per_mapping_are_limited() {
        let mut text = String::new();
        for i in 0..=crate::manifest::MAX_KEYS {
            text.push_str(&format!("k{i}: 1\n"));
        }
        let err = parse_documents(&text).unwrap_err();
        assert!(
            err.message.to_string().contains("keys in one mapping"),
            "{err:?}"
        );
    }

    /// go-yaml v2 (sigs.k8s.io/yaml) merges `<<` mappings where they are written: later keys
    /// win over merged ones, merged ones over earlier keys, the first of a merged list wins.
    #[test]
    fn merge_keys_merge() {
        let n = one(
            "base: &b {port: 80, protocol: TCP}\nother: &o {port: 81, name: x}\nm:\n  <<: [*b, *o]\n  protocol: UDP\nn:\n  port: 1\n  <<: *b\n",
        );
        let Value::Map(e) = n.value else { panic!() };
        let pairs = |v: &Value<'static>| -> Vec<(String, Value<'static>)> {
            let Value::Map(m) = v else { panic!() };
            m.iter()
                .map(|e| (e.key.to_string(), e.value.value.clone()))
                .collect()
        };
        assert_eq!(
            pairs(&e[2].value.value),
            vec![
                ("port".into(), Value::Int(80)),
                ("name".into(), Value::Str("x".into())),
                ("protocol".into(), Value::Str("UDP".into())),
            ]
        );
        // go-yaml v2 applies a merge where it is written: over a key set before it.
        assert_eq!(
            pairs(&e[3].value.value),
            vec![
                ("port".into(), Value::Int(80)),
                ("protocol".into(), Value::Str("TCP".into())),
            ]
        );
        // Keys written twice are still duplicates.
        assert!(parse_documents("<<: {b: 2}\nb: 3\nb: 4\n").is_err());
        // A quoted "<<" is an ordinary key.
        let n = one("\"<<\": 1\n");
        let Value::Map(e) = n.value else { panic!() };
        assert_eq!(e[0].key, "<<");
        assert!(parse_documents("a:\n  <<: 1\n").is_err());
    }

    /// go-yaml leaves a scalar with a tag it cannot resolve as a string: `port: !foo 80` is the
    /// string "80" (which the API then refuses as a port), not the number 80.
    #[test]
    fn custom_tags_keep_strings() {
        let n = one("a: !foo 80\nb: !!int \"81\"\nc: !!str 82\nd: 83\n");
        let Value::Map(e) = n.value else { panic!() };
        let v: Vec<&Value> = e.iter().map(|e| &e.value.value).collect();
        assert_eq!(
            v,
            vec![
                &Value::Str("80".into()),
                &Value::Int(81),
                &Value::Str("82".into()),
                &Value::Int(83)
            ]
        );
    }

    /// Issue 8: a key over YAML's 1024-character limit on implicit keys was reported at
    /// column 10000005.
    #[test]
    fn long_implicit_key_error_has_its_real_column() {
        let text = format!("a: 1\nb:\n- {}: 2\n", "k".repeat(100_000));
        let err = parse_documents(&text).unwrap_err();
        assert_eq!(err.pos, Pos { line: 3, col: 3 }, "{err:?}");
        assert!(
            err.message.to_string().contains("100000 characters"),
            "{err:?}"
        );
    }
}
