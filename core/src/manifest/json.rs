//! A fast path for JSON text (`kubectl get -o json`): the same position-carrying tree as
//! [`super::yaml`], built by a small recursive-descent parser about ten times faster than the
//! YAML parser on large cluster dumps. The reader tries it first for text that starts with `{`
//! or `[` and falls back to YAML (which also reads JSON, and YAML flow style) when it fails,
//! except at a comment: JSON has none, and the user is told so where it is.
//!
//! The parser keeps open arrays and objects on an explicit stack (no recursion), at most
//! [`MAX_DEPTH`](super::MAX_DEPTH) deep, and keeps the reader's other [limits](super#limits).
//!
//! What makes it cheap on a 70 MB List: keys and strings without escapes are borrowed from the
//! text (no allocation, no copy), and a column is the byte distance from the line start while
//! the line holds only ASCII (characters are counted only on a line with other text, from the
//! last position asked for); an object's members whose values are strings (most of a
//! Kubernetes object) are read whole in one loop, key to `,`, without going through the stack.

use crate::sort::CollectSorted as _;
use alloc::borrow::Cow;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use super::yaml::{Entry, Key, Node, Pos, SyntaxError, Value};
use crate::diag::Msg;

pub(crate) mod pieces;

/// The message for a `//` or `/* */` comment.
fn comment() -> Msg {
    crate::msg!("comments are not allowed in JSON")
}

/// Whether `e` is the error for a comment (JSON has none: the reader says so rather than
/// reading the text again as YAML).
pub(crate) fn is_comment(e: &SyntaxError) -> bool {
    e.message == comment()
}

/// Objects with more keys than this check duplicates with an ordered index instead of a scan.
const SCAN_KEYS: usize = 16;

/// A new parser at the start of `text`.
fn parser(text: &str) -> Parser<'_> {
    Parser {
        bytes: text.as_bytes(),
        text,
        i: 0,
        line: 1,
        line_start: 0,
        col_base: 0,
        ascii_line: true,
        col_at: (0, 0),
        values: 0,
        depth: 0,
        stack: Vec::new(),
        nodes: Vec::new(),
        entries: Vec::new(),
        tags: Vec::new(),
        indexes: Vec::new(),
    }
}

/// Parses a stream of JSON values (usually one).
pub fn parse_documents(text: &str) -> Result<Vec<Node<'_>>, SyntaxError> {
    let mut p = parser(text);
    let mut docs = Vec::new();
    p.skip_ws();
    while p.i < p.bytes.len() {
        docs.push(p.value(None)?);
        p.skip_ws();
    }
    Ok(docs)
}

/// Parses a stream of JSON values, handing each to `each(node, true)` as it ends; the items of
/// a top-level object's `items` array go to `each(item, false)` as each ends, and are not kept
/// in the tree (its `items` is left empty), so a large `List` is never held whole.
pub fn parse_documents_streaming<'a>(
    text: &'a str,
    each: &mut dyn FnMut(Node<'a>, bool),
) -> Result<(), SyntaxError> {
    let mut p = parser(text);
    p.skip_ws();
    while p.i < p.bytes.len() {
        let doc = p.value(Some(&mut *each))?;
        each(doc, true);
        p.skip_ws();
    }
    Ok(())
}

/// An array or object being read. Its items so far are `Parser::nodes[start..]` (or
/// `Parser::entries[start..]`): one scratch vector for all open collections, since only the
/// innermost one grows, and each collection's vector is made once, at its exact size, when it
/// closes (no growth by doubling, no shrinking). An object's last entry is the one whose
/// value is being read: its key is pushed as soon as it is read, with a `null` in wait for the
/// value. Plain data (no drop), 24 bytes: opening and closing move little.
#[derive(Clone, Copy)]
struct Open {
    /// Where its items start in `Parser::nodes` (array) or `Parser::entries` (object).
    start: usize,
    /// Where it was written.
    pos: Pos,
    /// An object (else an array).
    map: bool,
}

struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    i: usize,
    line: u32,
    line_start: usize,
    /// The columns before the text's first byte when its first line started earlier (a
    /// window of [`pieces`] that starts inside a long line); 0 from the next line on.
    col_base: usize,
    /// The line holds only ASCII up to `i`: a column is then a byte distance.
    ascii_line: bool,
    /// `(byte index, column)` of the last position asked for on this line: columns count
    /// characters, and counting from the line start every time would be quadratic on the
    /// one-line JSON that `json.dump` writes.
    col_at: (usize, usize),
    /// Values read so far, against [`super::MAX_VALUES`].
    values: usize,
    /// Collections open around the text this parser reads (a `List`'s items are read at
    /// depth 2 by [`pieces`]): they count against [`super::MAX_DEPTH`] too.
    depth: usize,
    /// [`Parser::value`]'s stack of open collections, kept between values for its memory.
    stack: Vec<Open>,
    /// Items of the open arrays, innermost last (see [`Open`]).
    nodes: Vec<Node<'a>>,
    /// Entries of the open objects, innermost last.
    entries: Vec<Entry<'a>>,
    /// The [`tag`] of each of `entries`' keys: a duplicate key is looked for among equal tags
    /// (one 8-byte comparison a key), not among the keys themselves.
    tags: Vec<u64>,
    /// Key → index from `start` for the open objects (by their `start`, innermost last) that
    /// have more than [`SCAN_KEYS`] keys.
    indexes: Vec<(usize, BTreeMap<Key<'a>, usize>)>,
}

/// A key's length and first bytes in one word: keys with different tags differ.
fn tag(key: &str) -> u64 {
    let b = key.as_bytes();
    let first = b
        .iter()
        .take(8)
        .rev()
        .fold(0, |t, &c| (t << 8) | u64::from(c));
    tag_of(first, b.len())
}

/// The [`tag`] of a key of `len` bytes whose first bytes (and, for a short key, the text after
/// it) are the little-endian `word`.
#[inline(always)]
fn tag_of(word: u64, len: usize) -> u64 {
    let first = if len < 8 {
        word & ((1u64 << (len * 8)) - 1)
    } else {
        word
    };
    first ^ (len as u64).rotate_right(8)
}

/// The error for a key already in its object: `line` is where the first one was written.
#[cold]
#[inline(never)]
fn duplicate(key: &str, pos: Pos, line: u32) -> SyntaxError {
    SyntaxError {
        pos,
        message: crate::msg!(
            "mapping key {} already defined at line {}",
            alloc::format!("{key:?}"),
            line
        ),
    }
}

impl<'a> Parser<'a> {
    #[inline(always)]
    fn pos(&mut self) -> Pos {
        let col = self.column();
        Pos {
            line: self.line,
            col: u32::try_from(col + 1).unwrap_or(u32::MAX),
        }
    }

    /// The column of `i`, from 0, in characters.
    #[inline(always)]
    fn column(&mut self) -> usize {
        if self.ascii_line {
            self.i - self.line_start + self.col_base
        } else {
            self.char_col()
        }
    }

    /// The column of `i` in characters, on a line with text outside ASCII.
    #[cold]
    #[inline(never)]
    fn char_col(&mut self) -> usize {
        let (from, base) = if self.col_at.0 >= self.line_start && self.col_at.0 <= self.i {
            self.col_at
        } else {
            (self.line_start, self.col_base)
        };
        let col = base + self.text.get(from..self.i).map_or(0, |s| s.chars().count());
        self.col_at = (self.i, col);
        col
    }

    /// The error `message` here (or the comment error, at a comment).
    fn err<T>(&mut self, message: Msg) -> Result<T, SyntaxError> {
        let rest = &self.bytes[self.i.min(self.bytes.len())..];
        let message = if rest.starts_with(b"//") || rest.starts_with(b"/*") {
            comment()
        } else {
            message
        };
        // A byte that is not ASCII outside a string is an error here: the columns before it
        // are bytes, and it is counted as one character.
        Err(SyntaxError {
            pos: self.pos(),
            message,
        })
    }

    /// Skips whitespace. Inlined for its common cases (no whitespace, or the one space
    /// `json.dumps` and kubectl write after `:` and `,`); longer runs and newlines are
    /// [`Parser::skip_more_ws`].
    #[inline(always)]
    fn skip_ws(&mut self) {
        match self.bytes.get(self.i) {
            Some(&b) if b > b' ' => return,
            Some(b' ') => {
                self.i += 1;
                if self.bytes.get(self.i).is_some_and(|&b| b > b' ') {
                    return;
                }
            }
            _ => {}
        }
        self.skip_more_ws();
    }

    #[inline(never)]
    fn skip_more_ws(&mut self) {
        while let Some(&b) = self.bytes.get(self.i) {
            match b {
                b'\n' => {
                    self.i += 1;
                    self.line += 1;
                    self.line_start = self.i;
                    self.col_base = 0;
                    self.ascii_line = true;
                }
                b' ' | b'\t' | b'\r' => self.i += 1,
                _ => break,
            }
        }
    }

    /// Whether the byte at `at` is `b`. (Not `get(at) == Some(&b)`: at the browser build's
    /// `opt-level = "z"` that is a call to `Option`'s `eq` for every byte looked at, 3% of a
    /// large first `plan()` in node.)
    #[inline(always)]
    fn byte_is(&self, at: usize, b: u8) -> bool {
        matches!(self.bytes.get(at), Some(&c) if c == b)
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.byte_is(self.i, b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// One key of an object with its `:`, checked against the keys before it (the object's
    /// entries are `self.entries[start..]`), with its position and [`tag`].
    #[inline(always)]
    fn key(&mut self, start: usize) -> Result<(Key<'a>, Pos, u64), SyntaxError> {
        self.skip_ws();
        let key_pos = self.pos();
        if !self.byte_is(self.i, b'"') {
            return self.err(crate::msg!("expected a string key"));
        }
        let from = self.i + 1;
        let (key, key_tag) = match self.plain() {
            // A key as written: its tag from the text's word at its start (natively).
            Some(k) => (
                Cow::Borrowed(k),
                match self.bytes.get(from..from + 8) {
                    Some(w) if cfg!(not(target_arch = "wasm32")) => tag_of(
                        u64::from_le_bytes(<[u8; 8]>::try_from(w).unwrap_or_default()),
                        k.len(),
                    ),
                    _ => tag(k),
                },
            ),
            None => {
                let key = self.escaped()?;
                let key_tag = tag(&key);
                (key, key_tag)
            }
        };
        // An object gets its index at `SCAN_KEYS` keys, and keeps it.
        if self.entries.len().saturating_sub(start) >= SCAN_KEYS {
            self.indexed_key(start, &key, key_pos)?;
        } else if let Some(j) = self
            .tags
            .get(start..)
            .unwrap_or_default()
            .iter()
            .position(|&t| t == key_tag)
        {
            self.scanned_key(start + j, &key, key_tag, key_pos)?;
        }
        // `": "` as `kubectl` and `json.dumps` write it, in one step (natively).
        if cfg!(not(target_arch = "wasm32")) && self.bytes.get(self.i..self.i + 2) == Some(b": ") {
            self.i += 2;
        } else {
            self.skip_ws();
            if !self.eat(b':') {
                return self.err(crate::msg!("expected ':'"));
            }
        }
        Ok((key, key_pos, key_tag))
    }

    /// Looks for `key` among `self.entries[from..]` whose tags are `key_tag` (the first of them
    /// is `from`): a duplicate is an error.
    #[cold]
    #[inline(never)]
    fn scanned_key(
        &self,
        from: usize,
        key: &str,
        key_tag: u64,
        key_pos: Pos,
    ) -> Result<(), SyntaxError> {
        let tags = self.tags.get(from..).unwrap_or_default();
        let entries = self.entries.get(from..).unwrap_or_default();
        match tags
            .iter()
            .zip(entries)
            .find(|&(&t, e)| t == key_tag && e.key == key)
        {
            Some((_, e)) => Err(duplicate(key, key_pos, e.key_pos.line)),
            None => Ok(()),
        }
    }

    /// Checks `key` against the object whose entries are `self.entries[start..]` through its
    /// index (made here when the object reaches [`SCAN_KEYS`] keys), and puts it in.
    #[cold]
    #[inline(never)]
    fn indexed_key(
        &mut self,
        start: usize,
        key: &Key<'a>,
        key_pos: Pos,
    ) -> Result<(), SyntaxError> {
        let entries = self.entries.get(start..).unwrap_or_default();
        let n = entries.len();
        let ix = match self.indexes.last_mut() {
            Some((s, ix)) if *s == start => ix,
            _ => {
                let ix = entries
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (e.key.clone(), i))
                    .collect_map();
                self.indexes.push((start, ix));
                match self.indexes.last_mut() {
                    Some((_, ix)) => ix,
                    None => return Ok(()),
                }
            }
        };
        if let Some(&prev) = ix.get(key) {
            let line = entries.get(prev).map_or(0, |e| e.key_pos.line);
            return Err(duplicate(key, key_pos, line));
        }
        if n >= super::MAX_KEYS {
            return Err(SyntaxError {
                pos: key_pos,
                message: crate::msg!(
                    "more than {} keys in one mapping (the reader's limit)",
                    super::MAX_KEYS
                ),
            });
        }
        ix.insert(key.clone(), n);
        Ok(())
    }

    /// An object's members from the key after its `{` or a `,` on (its entries are
    /// `self.entries[start..]`), as long as their values are strings (most of Kubernetes'
    /// objects' values): natively, those are read here, whole entries at once. Returns `true`
    /// at a value of another kind, its entry pushed with a `null` in wait for it and `self.i`
    /// at it; `false` after the object's closing `}`.
    fn members(&mut self, start: usize) -> Result<bool, SyntaxError> {
        loop {
            let (key, key_pos, key_tag) = self.key(start)?;
            self.skip_ws();
            self.tags.push(key_tag);
            // The browser build leaves string values to `Parser::value` too (the same tree, in
            // less code).
            if cfg!(target_arch = "wasm32") || !self.byte_is(self.i, b'"') {
                self.entries.push(Entry {
                    key,
                    key_pos,
                    value: Node {
                        value: Value::Null,
                        pos: key_pos,
                    },
                });
                return Ok(true);
            }
            self.count_value()?;
            let pos = self.pos();
            let value = Value::Str(self.string()?);
            self.entries.push(Entry {
                key,
                key_pos,
                value: Node { value, pos },
            });
            if self.byte_is(self.i, b',') && self.byte_is(self.i + 1, b' ') {
                self.i += 2;
                continue;
            }
            self.skip_ws();
            if self.eat(b',') {
                continue;
            }
            if self.eat(b'}') {
                return Ok(false);
            }
            return self.err(crate::msg!("expected ',' or '}}'"));
        }
    }

    /// Puts `node` in place of the `null` the last entry waits with (nothing to drop).
    #[inline(always)]
    fn fill(&mut self, node: Node<'a>) {
        if let Some(entry) = self.entries.last_mut() {
            core::mem::forget(core::mem::replace(&mut entry.value, node));
        }
    }

    /// Counts one more value against [`super::MAX_VALUES`].
    #[inline(always)]
    fn count_value(&mut self) -> Result<(), SyntaxError> {
        self.values += 1;
        if self.values > super::MAX_VALUES {
            return self.err(crate::msg!(
                "more than {} values in one input (the reader's limit)",
                super::MAX_VALUES
            ));
        }
        Ok(())
    }

    /// The object whose entries are `self.entries[start..]`, closed.
    #[inline(never)]
    fn close_map(&mut self, start: usize) -> Value<'a> {
        if matches!(self.indexes.last(), Some((s, _)) if *s == start) {
            self.indexes.pop();
        }
        self.tags.truncate(start);
        // Exact capacity: the tree of a large List is most of the reader's memory.
        // `split_off` copies the items in one `memcpy` (a `drain` collected them one
        // by one) into a vector of their exact size.
        Value::Map(self.entries.split_off(start))
    }

    /// One JSON value, without recursion: open arrays and objects wait on a stack.
    /// With `items`, the elements of a top-level object's `items` array go there instead.
    fn value(
        &mut self,
        mut items_sink: Option<&mut dyn FnMut(Node<'a>, bool)>,
    ) -> Result<Node<'a>, SyntaxError> {
        // The stack of the last value read, empty: one allocation for every value a parser
        // reads (a List's items read from pieces are a value each).
        let mut stack = core::mem::take(&mut self.stack);
        // The array at `stack[1]` is the value of a top-level object's `items`, and its
        // elements go to `items_sink` (set when that array opens).
        let mut streaming = false;
        'values: loop {
            self.skip_ws();
            self.count_value()?;
            let pos = self.pos();
            let value = match self.bytes.get(self.i) {
                None => return self.err(crate::msg!("unexpected end of JSON")),
                Some(b'{' | b'[') if stack.len() + self.depth >= super::MAX_DEPTH => {
                    return self.err(crate::msg!(
                        "nesting deeper than {} levels (the reader's limit)",
                        super::MAX_DEPTH
                    ));
                }
                Some(b'{') => {
                    self.i += 1;
                    self.skip_ws();
                    if self.eat(b'}') {
                        Value::Map(Vec::new())
                    } else {
                        let start = self.entries.len();
                        if self.members(start)? {
                            stack.push(Open {
                                start,
                                pos,
                                map: true,
                            });
                            continue 'values;
                        }
                        self.close_map(start)
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    self.skip_ws();
                    if self.eat(b']') {
                        Value::Seq(Vec::new())
                    } else {
                        if let [top] = stack[..] {
                            streaming = items_sink.is_some()
                                && top.map
                                && self.entries.last().is_some_and(|e| e.key == "items");
                        }
                        stack.push(Open {
                            start: self.nodes.len(),
                            pos,
                            map: false,
                        });
                        continue 'values;
                    }
                }
                Some(b'"') => Value::Str(self.string()?),
                Some(b't') if self.bytes[self.i..].starts_with(b"true") => {
                    self.i += 4;
                    Value::Bool(true)
                }
                Some(b'f') if self.bytes[self.i..].starts_with(b"false") => {
                    self.i += 5;
                    Value::Bool(false)
                }
                Some(b'n') if self.bytes[self.i..].starts_with(b"null") => {
                    self.i += 4;
                    Value::Null
                }
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(_) => return self.err(crate::msg!("expected a JSON value")),
            };
            // Hand the finished value to the collection that waits for it, closing every
            // collection that ends after it.
            let mut node = Node { value, pos };
            loop {
                let Some(&open) = stack.last() else {
                    self.stack = stack;
                    return Ok(node);
                };
                self.skip_ws();
                let value = if open.map {
                    self.fill(node);
                    if self.eat(b',') {
                        if self.members(open.start)? {
                            continue 'values;
                        }
                    } else if !self.eat(b'}') {
                        return self.err(crate::msg!("expected ',' or '}}'"));
                    }
                    self.close_map(open.start)
                } else {
                    match items_sink.as_mut() {
                        Some(sink) if streaming && stack.len() == 2 => sink(node, false),
                        _ => self.nodes.push(node),
                    }
                    if self.eat(b',') {
                        continue 'values;
                    }
                    if !self.eat(b']') {
                        return self.err(crate::msg!("expected ',' or ']'"));
                    }
                    Value::Seq(self.nodes.split_off(open.start))
                };
                stack.pop();
                node = Node {
                    value,
                    pos: open.pos,
                };
            }
        }
    }

    fn number(&mut self) -> Result<Value<'a>, SyntaxError> {
        let start = self.i;
        while let Some(&b) = self.bytes.get(self.i) {
            if b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E') {
                self.i += 1;
            } else {
                break;
            }
        }
        let s = &self.text[start..self.i];
        if let Ok(i) = s.parse::<i64>() {
            return Ok(Value::Int(i));
        }
        match s.parse::<f64>() {
            Ok(f) => Ok(Value::Float(f)),
            Err(_) => {
                self.i = start;
                self.err(crate::msg!("invalid number"))
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let Some(h) = self.text.get(self.i..self.i + 4) else {
            return self.err(crate::msg!("truncated \\u escape"));
        };
        let v =
            u32::from_str_radix(h, 16).or_else(|_| self.err(crate::msg!("invalid \\u escape")))?;
        self.i += 4;
        Ok(v)
    }

    /// The run of string bytes from `i` up to a quote, a backslash, a control character or
    /// the end; a non-ASCII byte in it makes the line's columns counted in characters.
    #[inline(always)]
    fn run(&mut self) -> &'a str {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let start = self.i;
        let mut words = self.bytes.get(start..).unwrap_or_default().chunks_exact(8);
        let mut len = 0;
        let mut seen = 0u64;
        // Eight bytes at a time, also past the string's end while the text goes on: the lowest
        // byte flagged as a quote, a backslash or a control character is exact (the zero-byte
        // test only misflags bytes above a true one, where a borrow carries), so it is where
        // the run ends; the bytes before it are or-ed into `seen` (its high bits: text outside
        // ASCII). A Kubernetes string is short: one or two words, with no byte loop.
        let end = loop {
            let Some(word) = words.next() else {
                // The text's last few bytes.
                for &b in words.remainder() {
                    if b == b'"' || b == b'\\' || b < 0x20 {
                        break;
                    }
                    seen |= u64::from(b);
                    len += 1;
                }
                break len;
            };
            let w = u64::from_le_bytes(<[u8; 8]>::try_from(word).unwrap_or_default());
            let quote = (w ^ (ONES * u64::from(b'"'))).wrapping_sub(ONES);
            let backslash = (w ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES);
            let below_space = w.wrapping_sub(ONES * 0x20);
            let end = (quote | backslash | below_space) & !w & HIGH;
            if end != 0 {
                let k = end.trailing_zeros() / 8;
                // The bytes below the `k`th: `k` is at most 7, the shift at most 56.
                seen |= w & ((1u64 << (k * 8)) - 1);
                break len + k as usize;
            }
            seen |= w;
            len += 8;
        };
        self.i = start + end;
        if seen & HIGH != 0 {
            self.ascii_line = false;
        }
        // Both ends are at ASCII bytes (or the text's end): always a boundary.
        self.text.get(start..start + end).unwrap_or_default()
    }

    /// A string without escapes (`self.i` at its opening quote, then past its closing one),
    /// borrowed from the text; `None`, and `self.i` where it was, for any other:
    /// [`Parser::escaped`] reads those. Inlined where keys and strings are read (half a million
    /// in a 7 MB List), except in the browser build, where size counts more.
    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    #[cfg_attr(target_arch = "wasm32", inline(never))]
    fn plain(&mut self) -> Option<&'a str> {
        let at = self.i;
        self.i += 1; // opening quote
        let s = self.run();
        if self.byte_is(self.i, b'"') {
            self.i += 1;
            return Some(s);
        }
        self.i = at;
        None
    }

    /// A string (`self.i` at its opening quote): borrowed from the text when it has no
    /// escapes ([`Parser::plain`]), owned otherwise ([`Parser::escaped`]).
    #[inline(always)]
    fn string(&mut self) -> Result<Cow<'a, str>, SyntaxError> {
        match self.plain() {
            Some(s) => Ok(Cow::Borrowed(s)),
            None => self.escaped(),
        }
    }

    /// A string [`Parser::plain`] left (`self.i` at its opening quote): escapes, or an error.
    #[cold]
    #[inline(never)]
    fn escaped(&mut self) -> Result<Cow<'a, str>, SyntaxError> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            out.push_str(self.run());
            match self.bytes.get(self.i) {
                None => return self.err(crate::msg!("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.i += 1;
                    let Some(&e) = self.bytes.get(self.i) else {
                        return self.err(crate::msg!("unterminated escape"));
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&hi) {
                                if !(self.eat(b'\\') && self.eat(b'u')) {
                                    return self
                                        .err(crate::msg!("unpaired surrogate in \\u escape"));
                                }
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return self
                                        .err(crate::msg!("unpaired surrogate in \\u escape"));
                                }
                                char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                            } else {
                                char::from_u32(hi)
                            };
                            match c {
                                Some(c) => out.push(c),
                                None => return self.err(crate::msg!("invalid \\u escape")),
                            }
                        }
                        _ => return self.err(crate::msg!("invalid escape")),
                    }
                }
                Some(_) => return self.err(crate::msg!("control character in string")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use alloc::string::ToString;

    /// The JSON fast path builds the same tree, positions included, as the YAML parser.
    #[test]
    fn same_tree_as_yaml() {
        let text = "{\n  \"kind\": \"Service\",\n  \"n\": [1, -2, 3.5, true, null, \"\\u00e9\"],\n  \"o\": {\"a\": {}}\n}\n";
        let fast = parse_documents(text).unwrap();
        let slow = super::super::yaml::parse_documents(text).unwrap();
        assert_eq!(fast, slow);
    }

    /// `text` is read, into the tree the YAML parser makes of it.
    fn same_as_yaml(text: &str) {
        let docs = parse_documents(text).unwrap();
        assert_eq!(
            docs,
            super::super::yaml::parse_documents(text).unwrap(),
            "{text}"
        );
    }

    /// Every spacing around `:` and `,` (the one `kubectl` writes is read in one step): the
    /// same tree and positions as YAML's.
    #[test]
    fn spacing_around_separators() {
        for (colon, comma) in [
            (": ", ", "),
            (":", ","),
            (" : ", " , "),
            (":\t", ",\n  "),
            (":  ", ",  "),
        ] {
            let text = alloc::format!(
                "{{\"a\"{colon}\"b\"{comma}\"c\"{colon}[\"d\"{comma}1]{comma}\"e\"{colon}{{\"f\"{colon}\"g\"}}}}"
            );
            same_as_yaml(&text);
        }
    }

    /// Keys are compared by their value, escaped or not.
    #[test]
    fn escaped_keys_are_compared_by_value() {
        let docs = parse_documents("{\"kind\": 1, \"kin\\u0064\": 2}").unwrap_err();
        assert!(
            docs.message
                .to_string()
                .contains("\"kind\" already defined")
        );
    }

    /// Strings are scanned eight bytes at a time: every special byte is found wherever it
    /// falls in a word, and non-ASCII text still makes columns count characters.
    #[test]
    fn strings_at_every_offset() {
        for n in 0..20 {
            let pad = "x".repeat(n);
            for special in ["\\\"", "\\n", "\\u00e9", "é"] {
                let text = alloc::format!("[\"{pad}{special}{pad}\", 1]");
                let docs = parse_documents(&text).unwrap();
                let yaml = super::super::yaml::parse_documents(&text).unwrap();
                assert_eq!(docs, yaml, "{text}");
            }
            // Non-ASCII text just past a string's end (in the same word) is not part of it.
            let text = alloc::format!("{{\"{pad}\":\"{pad}\",\"é{pad}\":[\"{pad}\",\"é\"]}}");
            let docs = parse_documents(&text).unwrap();
            let yaml = super::super::yaml::parse_documents(&text).unwrap();
            assert_eq!(docs, yaml, "{text}");
            let text = alloc::format!("[\"{pad}\u{1}\"]");
            assert!(parse_documents(&text).is_err(), "{text:?}");
            let text = alloc::format!("[\"{pad}");
            assert!(parse_documents(&text).is_err(), "{text:?}");
        }
    }

    /// Duplicates are found through the keys' tags: long keys that share their first eight
    /// bytes and length are told apart, short and long duplicates are found, escaped or not.
    #[test]
    fn duplicate_keys_by_tag() {
        let ok = "{\"containerPort1\": 1, \"containerPort2\": 2, \"a\": 3, \"b\": 4, \"\": 5}";
        assert!(parse_documents(ok).is_ok());
        for (text, line_of_first) in [
            ("{\"kubernetes.io/a\": 1,\n\"kubernetes.io/a\": 2}", 1),
            ("{\"x\": 1, \"ab\": 1,\n\"ab\": 2}", 1),
            ("{\"\": 1,\n\"\": 2}", 1),
            (
                "{\"q\": 0,\n\"kubernetes.io/a\": 1, \"kubernetes.io\\u002fa\": 2}",
                2,
            ),
        ] {
            let e = parse_documents(text).unwrap_err();
            let msg = e.message.to_string();
            assert!(msg.contains("already defined"), "{text}: {msg}");
            assert!(
                msg.ends_with(&alloc::format!("at line {line_of_first}")),
                "{text}: {msg}"
            );
        }
    }

    /// Keys of every length around a word's eight bytes, written plain or with an escape, at
    /// the text's end or not: the same tree as YAML's, and a duplicate is found whichever way
    /// either copy is written (their tags agree), in small objects (scanned) and large ones
    /// (indexed), at the first copy's line.
    #[test]
    fn keys_at_word_boundaries() {
        for len in 0..20 {
            let key = "k".repeat(len);
            // The last key's escape: its value is `key`, spelled differently.
            let esc = match len {
                0 => String::new(),
                _ => alloc::format!("{}\\u006b", "k".repeat(len - 1)),
            };
            let other = alloc::format!("{key}x");
            for filler in [0, 17] {
                let fill: String = (0..filler)
                    .map(|j| alloc::format!("\"f{j}\": 0, "))
                    .collect();
                let ok = alloc::format!(
                    "{{{fill}\"{key}\": \"v\", \"{other}\": [1, \"{key}\"], \"z\": {{\"{key}\": 1}}}}"
                );
                same_as_yaml(&ok);
                for (first, second) in [(&key, &key), (&key, &esc), (&esc, &key), (&esc, &esc)] {
                    for tail in ["", " ", "\n  "] {
                        let text = alloc::format!(
                            "{{{fill}\"{first}\": 1, \"{other}\": 2,\n\"{second}\":{tail}3}}"
                        );
                        let e = parse_documents(&text).unwrap_err();
                        assert_eq!(e.pos, Pos { line: 2, col: 1 }, "{text}");
                        assert!(
                            e.message
                                .to_string()
                                .ends_with(&alloc::format!("{:?} already defined at line 1", key)),
                            "{text}: {}",
                            e.message
                        );
                    }
                }
            }
        }
    }

    /// Only the elements of a top-level object's `items` go to the sink, each as it ends; the
    /// object is handed over with `items` left empty, and other arrays stay in the tree.
    #[test]
    fn items_are_streamed() {
        let text =
            "{\"a\": [{\"x\": 1}], \"items\": [{\"b\": [2]}, \"s\", {}], \"c\": {\"items\": [3]}}";
        let mut got = Vec::new();
        parse_documents_streaming(text, &mut |node, whole| got.push((node, whole))).unwrap();
        let docs = parse_documents(text).unwrap();
        let Value::Map(entries) = &docs[0].value else {
            panic!("{docs:?}")
        };
        let Value::Seq(items) = &entries[1].value.value else {
            panic!("{entries:?}")
        };
        let mut whole = docs[0].clone();
        if let Value::Map(entries) = &mut whole.value {
            entries[1].value.value = Value::Seq(Vec::new());
        }
        let mut want: Vec<_> = items.iter().map(|n| (n.clone(), false)).collect();
        want.push((whole, true));
        assert_eq!(got, want);
    }

    #[test]
    fn surrogate_pairs() {
        let docs = parse_documents("[\"\\ud83d\\ude00\"]").unwrap();
        assert_eq!(
            docs[0].value,
            Value::Seq(alloc::vec![Node {
                value: Value::Str("\u{1f600}".into()),
                pos: Pos { line: 1, col: 2 }
            }])
        );
    }

    #[test]
    fn errors_have_positions() {
        let e = parse_documents("{\n  \"a\": 1,\n  \"a\": 2\n}").unwrap_err();
        assert_eq!(e.pos, Pos { line: 3, col: 3 });
        let e = parse_documents("{\"a\": tru}").unwrap_err();
        assert_eq!(e.pos.line, 1);
        assert!(parse_documents(&"[".repeat(1000)).is_err());
    }

    /// The recursion is bounded by the depth limit and fits a 256 KiB stack (a quarter of the
    /// browser build's) even in a debug build.
    #[test]
    fn depth_limit_on_a_small_stack() {
        let (ok, deeper) = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(|| {
                let ok = alloc::format!("{}1{}", "[".repeat(256), "]".repeat(256));
                let deeper = alloc::format!("{}1{}", "[{\"a\":".repeat(200), "}]".repeat(200));
                (
                    parse_documents(&ok).map(|d| d.len()),
                    parse_documents(&deeper).map(|d| d.len()),
                )
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(ok, Ok(1));
        let err = deeper.unwrap_err();
        assert!(
            err.message.to_string().contains("nesting deeper than 256"),
            "{err:?}"
        );
    }

    #[test]
    fn comments_are_named() {
        let e = parse_documents("{\n  \"a\": 1, // no\n  \"b\": 2\n}").unwrap_err();
        assert_eq!((e.pos, e.message), (Pos { line: 2, col: 11 }, comment()));
        let e = parse_documents("[1, /* no */ 2]").unwrap_err();
        assert!(is_comment(&e));
    }
}
