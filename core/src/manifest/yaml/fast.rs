//! A fast scanner for the YAML that kubectl, Helm and people write, emitting exactly the events
//! (and spans) saphyr-parser emits for it, or declining.
//!
//! saphyr-parser is a complete YAML 1.2 scanner and parser; for a 73 MB `kubectl get -o yaml`
//! List it spends about a second finding tokens one character at a time. Almost all manifests
//! use a small subset: block mappings and sequences (including kubectl's `- ` entries at the
//! parent's indentation), single-line plain and quoted scalars, comments, `---`/`...`, the empty
//! flow collections `{}` and `[]`, and literal/folded block scalars. This scanner reads that
//! subset a line at a time and produces the same [`Event`]s with the same [`Span`]s as saphyr
//! (the differential tests below, and the `yaml_fast` fuzz target, hold it to that).
//!
//! Anything else — anchors, aliases, tags, flow collections with content, complex keys,
//! multi-line plain or quoted scalars, tabs, carriage returns, directives, a byte order mark,
//! control characters, and every syntax error — makes it *decline*: the caller then reads the
//! whole text again with saphyr from the start, so errors and unusual YAML come out exactly as
//! before. A decline is never an error of its own.

use alloc::borrow::Cow;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use saphyr_parser::{Event, Marker, ScalarStyle, Span};

use super::{Pos, Step};

/// The events of saphyr's [`Event`] that the fast path emits, without the anchor ids and tags
/// it never has: about a third of the size, so queueing and returning them copies less. They
/// become saphyr's events as they leave the scanner ([`Fast::next_event`]).
#[derive(Debug)]
enum Ev<'a> {
    StreamStart,
    StreamEnd,
    DocumentStart(bool),
    DocumentEnd,
    Scalar(Cow<'a, str>, ScalarStyle),
    SequenceStart,
    SequenceEnd,
    MappingStart,
    MappingEnd,
}

impl<'a> Ev<'a> {
    /// The builder's event.
    #[inline(always)]
    fn step(self) -> Step<'a> {
        match self {
            Ev::StreamStart => Step::StreamStart,
            Ev::StreamEnd => Step::StreamEnd,
            Ev::DocumentStart(_) => Step::DocumentStart,
            Ev::DocumentEnd => Step::DocumentEnd,
            Ev::Scalar(text, style) => Step::Scalar(text, style, 0, None),
            Ev::SequenceStart => Step::SequenceStart(0),
            Ev::SequenceEnd => Step::SequenceEnd,
            Ev::MappingStart => Step::MappingStart(0),
            Ev::MappingEnd => Step::MappingEnd,
        }
    }

    /// saphyr's event.
    #[inline(always)]
    fn event(self) -> Event<'a> {
        match self {
            Ev::StreamStart => Event::StreamStart,
            Ev::StreamEnd => Event::StreamEnd,
            Ev::DocumentStart(explicit) => Event::DocumentStart(explicit),
            Ev::DocumentEnd => Event::DocumentEnd,
            Ev::Scalar(text, style) => Event::Scalar(text, style, 0, None),
            Ev::SequenceStart => Event::SequenceStart(0, None),
            Ev::SequenceEnd => Event::SequenceEnd,
            Ev::MappingStart => Event::MappingStart(0, None),
            Ev::MappingEnd => Event::MappingEnd,
        }
    }
}

/// The fast path does not handle this text: read it with saphyr instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Declined;

type R<T> = Result<T, Declined>;

/// One open block collection.
#[derive(Clone, Copy, Debug)]
struct Frame {
    /// A mapping (else a sequence).
    map: bool,
    /// Its indentation: the column of its keys or of its `-`.
    col: usize,
    /// A sequence whose `-` stand at its parent mapping's column (as kubectl prints them).
    indentless: bool,
}

/// Where the scanner is in the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before `StreamStart`.
    Start,
    /// Between documents (after the stream start or a `...`).
    Between,
    /// After `---`: the document's root node comes next.
    Root,
    /// Inside a document's root collection.
    Doc,
    /// After `StreamEnd`.
    Done,
}

/// The fast scanner: an iterator of saphyr's events over one text.
pub struct Fast<'a> {
    text: &'a str,
    b: &'a [u8],
    /// The whole text is ASCII: columns are byte offsets.
    ascii: bool,
    /// Byte offset of the current line's start.
    line_start: usize,
    /// Character index of the current line's start.
    line_char: usize,
    /// The current line (1-based).
    line: usize,
    state: State,
    frames: Vec<Frame>,
    /// A mapping key whose value has not come yet: the marker of its `:`.
    pending: Option<Marker>,
    /// The last line (one without a `\n`) has been read.
    at_end: bool,
    queue: VecDeque<(Ev<'a>, Span)>,
}

fn is_ws_end(b: &[u8], i: usize) -> bool {
    i >= b.len() || b[i] == b' ' || b[i] == b'\n'
}

fn empty(m: Marker) -> Span {
    Span::new(m, m)
}

impl<'a> Fast<'a> {
    /// A scanner over `text`.
    pub fn new(text: &'a str) -> Self {
        Fast {
            text,
            b: text.as_bytes(),
            ascii: text.is_ascii(),
            line_start: 0,
            line_char: 0,
            line: 1,
            state: State::Start,
            frames: Vec::new(),
            pending: None,
            at_end: false,
            queue: VecDeque::new(),
        }
    }

    /// The next event as the builder takes it, and where it starts; `None` after `StreamEnd`,
    /// or `Err` when the text is outside the subset.
    #[inline(always)]
    pub(super) fn next_step(&mut self) -> Option<R<(Step<'a>, Pos)>> {
        self.next_queued()
            .map(|r| r.map(|(e, s)| (e.step(), super::pos(s))))
    }

    /// The next event as saphyr's, `None` after `StreamEnd`, or `Err` when the text is outside
    /// the subset (for [`agrees_with_saphyr`]).
    pub fn next_event(&mut self) -> Option<R<(Event<'a>, Span)>> {
        self.next_queued().map(|r| r.map(|(e, s)| (e.event(), s)))
    }

    /// The next queued event, scanning lines until there is one.
    #[inline(always)]
    fn next_queued(&mut self) -> Option<R<(Ev<'a>, Span)>> {
        loop {
            if let Some(queued) = self.queue.pop_front() {
                return Some(Ok(queued));
            }
            if self.state == State::Done {
                return None;
            }
            if let Err(d) = self.step() {
                self.state = State::Done;
                self.queue.clear();
                return Some(Err(d));
            }
        }
    }

    #[inline(always)]
    fn push(&mut self, e: Ev<'a>, s: Span) {
        self.queue.push_back((e, s));
    }

    /// The marker of byte `i`, which is on the current line.
    fn mark(&self, i: usize) -> Marker {
        let col = if self.ascii {
            i - self.line_start
        } else {
            chars(&self.b[self.line_start..i])
        };
        Marker::new(self.line_char + col, self.line, col)
    }

    /// Moves to the line after the one ending with the `\n` at `nl`.
    fn next_line(&mut self, nl: usize) {
        let len = if self.ascii {
            nl + 1 - self.line_start
        } else {
            chars(&self.b[self.line_start..=nl])
        };
        self.line_char += len;
        self.line += 1;
        self.line_start = nl + 1;
    }

    /// Moves the cursor from the line ending at `nl` to the line starting at `ls`; each line
    /// between is empty (its `\n` is at its start).
    fn lines_to(&mut self, nl: usize, ls: usize) {
        let mut at = nl;
        loop {
            self.next_line(at);
            if self.line_start >= ls {
                break;
            }
            at = self.line_start;
        }
    }

    /// Processes the next content line (or the end of the text), queueing its events.
    fn step(&mut self) -> R<()> {
        if self.state == State::Start {
            if self.text.starts_with('\u{FEFF}') {
                return Err(Declined);
            }
            self.state = State::Between;
            self.push(Ev::StreamStart, empty(Marker::new(0, 1, 0)));
            return Ok(());
        }
        if self.at_end {
            return self.end_of_text();
        }
        // Skip blank and comment lines.
        let b = self.b;
        let k = loop {
            let k = skip_spaces(b, self.line_start);
            if k >= b.len() {
                return self.end_of_text();
            }
            match b[k] {
                b'\n' => self.next_line(k),
                b'#' => {
                    let nl = self.comment_end(k)?;
                    if nl >= b.len() {
                        return self.end_of_text();
                    }
                    self.next_line(nl);
                }
                _ => break k,
            }
        };
        let ind = k - self.line_start;
        if ind == 0
            && (b[k..].starts_with(b"---") || b[k..].starts_with(b"..."))
            && is_ws_end(b, k + 3)
        {
            return self.document_marker(k);
        }
        let entry = b[k] == b'-' && is_ws_end(b, k + 1);
        match self.state {
            State::Between | State::Root => {
                let m = self.mark(k);
                if self.state == State::Between {
                    self.push(Ev::DocumentStart(false), empty(m));
                }
                self.state = State::Doc;
                if entry {
                    self.push(Ev::SequenceStart, empty(m));
                    self.frames.push(Frame {
                        map: false,
                        col: ind,
                        indentless: false,
                    });
                    self.entry(k)
                } else {
                    self.key_line(k, ind, true)
                }
            }
            State::Doc => self.content_line(k, ind, entry),
            State::Start | State::Done => Err(Declined),
        }
    }

    /// A line starting at `k` (column `ind`) inside a document.
    fn content_line(&mut self, k: usize, ind: usize, entry: bool) -> R<()> {
        let p = self.mark(k);
        if let Some(colon) = self.pending {
            let top = *self.frames.last().ok_or(Declined)?;
            if ind > top.col || (entry && ind == top.col) {
                self.pending = None;
                if entry {
                    // Indented `-`: a block sequence starting at it; at the mapping's column:
                    // kubectl's indentless sequence, which starts at the entry's content.
                    let indentless = ind == top.col;
                    let start = if indentless {
                        self.mark(self.skip_spaces(k + 1))
                    } else {
                        p
                    };
                    self.push(Ev::SequenceStart, empty(start));
                    self.frames.push(Frame {
                        map: false,
                        col: ind,
                        indentless,
                    });
                    return self.entry(k);
                }
                return self.key_line(k, ind, true);
            }
            self.pending = None;
            self.push(
                Ev::Scalar(Cow::Borrowed(""), ScalarStyle::Plain),
                empty(colon),
            );
        }
        while let Some(top) = self.frames.last().copied() {
            let closes = top.col > ind || (top.indentless && top.col == ind && !entry);
            if !closes {
                break;
            }
            self.frames.pop();
            let end = if top.map {
                Ev::MappingEnd
            } else {
                Ev::SequenceEnd
            };
            self.push(end, empty(p));
        }
        let top = *self.frames.last().ok_or(Declined)?;
        if top.col != ind || top.map == entry {
            return Err(Declined);
        }
        if entry {
            self.entry(k)
        } else {
            self.key_line(k, ind, false)
        }
    }

    /// A `---` or `...` line, `k` at its start.
    fn document_marker(&mut self, k: usize) -> R<()> {
        let start = self.b[k] == b'-';
        let m = self.mark(k);
        let span = Span::new(m, self.mark(k + 3));
        let rest = self.skip_spaces(k + 3);
        let nl = self.line_rest(k + 3, rest)?;
        match self.state {
            State::Between => {
                if start {
                    self.push(Ev::DocumentStart(true), span);
                    self.state = State::Root;
                }
            }
            State::Root => {
                self.push(Ev::Scalar(Cow::Borrowed(""), ScalarStyle::Plain), span);
                self.push(Ev::DocumentEnd, span);
                if start {
                    self.push(Ev::DocumentStart(true), span);
                } else {
                    self.state = State::Between;
                }
            }
            State::Doc => {
                self.close_all(m, m);
                self.push(Ev::DocumentEnd, span);
                if start {
                    self.push(Ev::DocumentStart(true), span);
                    self.state = State::Root;
                } else {
                    self.state = State::Between;
                }
            }
            State::Start | State::Done => return Err(Declined),
        }
        self.finish_line(nl);
        Ok(())
    }

    /// Ends a pending value and every open collection: those deeper than column `col_of_raw`
    /// at `raw`, the others at `forced` (saphyr's two end markers at the end of the text).
    fn close_all(&mut self, raw: Marker, forced: Marker) {
        if let Some(colon) = self.pending.take() {
            self.push(
                Ev::Scalar(Cow::Borrowed(""), ScalarStyle::Plain),
                empty(colon),
            );
        }
        while let Some(f) = self.frames.pop() {
            let at = if f.col > raw.col() { raw } else { forced };
            let e = if f.map {
                Ev::MappingEnd
            } else {
                Ev::SequenceEnd
            };
            self.push(e, empty(at));
        }
    }

    /// The end of the text: close the document and the stream.
    fn end_of_text(&mut self) -> R<()> {
        let n = self.b.len();
        let raw = self.mark(n);
        // saphyr moves its end marker to a new line when the last line does not end.
        let forced = if raw.col() == 0 {
            raw
        } else {
            Marker::new(raw.index(), raw.line() + 1, 0)
        };
        match self.state {
            State::Between => {}
            State::Root => {
                self.push(
                    Ev::Scalar(Cow::Borrowed(""), ScalarStyle::Plain),
                    empty(forced),
                );
                self.push(Ev::DocumentEnd, empty(forced));
            }
            State::Doc => {
                self.close_all(raw, forced);
                self.push(Ev::DocumentEnd, empty(forced));
            }
            State::Start | State::Done => return Err(Declined),
        }
        self.push(Ev::StreamEnd, empty(forced));
        self.state = State::Done;
        Ok(())
    }

    fn skip_spaces(&self, i: usize) -> usize {
        skip_spaces(self.b, i)
    }

    /// The `\n` (or the text's end) closing a comment that starts at `k`.
    fn comment_end(&self, k: usize) -> R<usize> {
        let b = self.b;
        let mut i = k;
        while i < b.len() && b[i] != b'\n' {
            check_byte(b, i)?;
            i += 1;
        }
        Ok(i)
    }

    /// Checks that only blanks and a comment follow from `from` (already at `rest`, after the
    /// spaces) and returns the line's end. A comment needs a blank before it.
    fn line_rest(&self, from: usize, rest: usize) -> R<usize> {
        let b = self.b;
        if rest >= b.len() || b[rest] == b'\n' {
            return Ok(rest);
        }
        if b[rest] == b'#' && rest > from {
            return self.comment_end(rest);
        }
        Err(Declined)
    }

    /// Moves past the line ending at `nl` (the `\n` or the text's end).
    fn finish_line(&mut self, nl: usize) {
        if nl < self.b.len() {
            self.next_line(nl);
        } else {
            // The last line has no `\n`: the cursor stays on it for the end marker.
            self.at_end = true;
        }
    }

    /// A `- ` entry at `k` whose sequence frame is open.
    fn entry(&mut self, k: usize) -> R<()> {
        let b = self.b;
        let q = self.skip_spaces(k + 1);
        if q >= b.len() || b[q] == b'\n' || b[q] == b'#' || (b[q] == b'-' && is_ws_end(b, q + 1)) {
            // An empty entry or one whose node starts on the next line: saphyr's extra
            // one-column indentation rules; not worth copying.
            return Err(Declined);
        }
        let col = q - self.line_start;
        match self.node(q, true, false)? {
            Node::Key(key, span, colon) => {
                self.push(Ev::MappingStart, empty(span.start));
                self.frames.push(Frame {
                    map: true,
                    col,
                    indentless: false,
                });
                self.push(key, span);
                self.after_colon(colon)
            }
            Node::Value(nl) => {
                self.finish_line(nl);
                Ok(())
            }
            Node::Block => Ok(()),
        }
    }

    /// A line at `k` (column `ind`) that must be `key: …` of the mapping on top, or of a new
    /// mapping (`opens`) at this column.
    fn key_line(&mut self, k: usize, ind: usize, opens: bool) -> R<()> {
        let Node::Key(key, span, colon) = self.node(k, false, false)? else {
            return Err(Declined);
        };
        if opens {
            self.push(Ev::MappingStart, empty(span.start));
            self.frames.push(Frame {
                map: true,
                col: ind,
                indentless: false,
            });
        }
        self.push(key, span);
        self.after_colon(colon)
    }

    /// After a key's `:` at `colon`: the value on this line, or a pending one.
    fn after_colon(&mut self, colon: usize) -> R<()> {
        let b = self.b;
        let v = self.skip_spaces(colon + 1);
        if v >= b.len() || b[v] == b'\n' || b[v] == b'#' {
            let nl = self.line_rest(colon + 1, v)?;
            self.pending = Some(self.mark(colon));
            self.finish_line(nl);
            return Ok(());
        }
        match self.node(v, true, true)? {
            Node::Key(..) => Err(Declined),
            Node::Value(nl) => {
                self.finish_line(nl);
                Ok(())
            }
            Node::Block => Ok(()),
        }
    }

    /// A node starting at `i` on this line: a key (when followed by `: `) or, when `value`
    /// allows it, a scalar or empty flow collection filling the rest of the line (queued, and
    /// its line end returned). With `multi` (a mapping's value after `key: `), a plain or
    /// quoted scalar may go on over the lines after it, indented more than the mapping's keys
    /// (as PyYAML and go-yaml fold long strings at 80 columns).
    fn node(&mut self, i: usize, value: bool, multi: bool) -> R<Node<'a>> {
        let b = self.b;
        let (event, span, after) = match b[i] {
            b'{' | b'[' if value => return self.empty_flow(i),
            b'|' | b'>' if value => return self.block_scalar(i),
            b'"' | b'\'' => self.quoted(i, multi)?,
            b'-' | b'?' | b':' if is_ws_end(b, i + 1) => return Err(Declined),
            b'{' | b'[' | b']' | b'}' | b',' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'%'
            | b'@' | b'`' => return Err(Declined),
            _ => self.plain(i)?,
        };
        // `after`: the first byte after the token (and, for quoted scalars, the blanks and
        // comment saphyr's token takes in).
        let j = self.skip_spaces(after);
        if j < b.len() && b[j] == b':' && is_ws_end(b, j + 1) {
            let start = span.start;
            // YAML's limit on implicit keys (saphyr counts up to the `:`).
            if self.mark(j).index() - start.index() > 1000 {
                return Err(Declined);
            }
            return Ok(Node::Key(event, span, j));
        }
        if !value {
            return Err(Declined);
        }
        let nl = self.line_rest(after, j)?;
        if multi
            && j == nl
            && let Ev::Scalar(Cow::Borrowed(first), ScalarStyle::Plain) = &event
            && let Some((value, end, last_nl)) = self.plain_lines(first, nl)?
        {
            self.push(
                Ev::Scalar(Cow::Owned(value), ScalarStyle::Plain),
                Span::new(span.start, end),
            );
            return Ok(Node::Value(last_nl));
        }
        self.push(event, span);
        Ok(Node::Value(nl))
    }

    /// The start of the next line that is not empty after the `\n` at `nl`, the number of
    /// empty lines before it and its first byte that is not a space; `None` at the text's end.
    /// Declines on a line of only spaces.
    fn next_content(&self, nl: usize) -> R<Option<(usize, usize, usize)>> {
        let b = self.b;
        let mut ls = nl + 1;
        let mut empty = 0;
        loop {
            if ls >= b.len() {
                return Ok(None);
            }
            let q = self.skip_spaces(ls);
            if q >= b.len() {
                return Ok(None);
            }
            if b[q] != b'\n' {
                return Ok(Some((ls, empty, q)));
            }
            if q > ls {
                return Err(Declined);
            }
            empty += 1;
            ls = q + 1;
        }
    }

    /// The lines that continue a plain scalar `first` ending its line at `nl`: indented more
    /// than the mapping's keys, each plain text alone on its line (a `: `, ` #`, an indicator
    /// at its start or a comment line declines). Folded as YAML folds them (a line break is a
    /// space, each empty line a `\n`). `None` when the next line does not continue it; else the
    /// value, the end of its last character, and the end of its last line (the cursor is on it).
    fn plain_lines(&mut self, first: &str, nl: usize) -> R<Option<(String, Marker, usize)>> {
        let b = self.b;
        let parent = self.frames.last().ok_or(Declined)?.col;
        let mut value: Option<String> = None;
        let mut nl = nl;
        let mut end = None;
        while nl < b.len() {
            let Some((ls, empty, q)) = self.next_content(nl)? else {
                break;
            };
            // A comment line ends the scalar (what follows it is read as usual).
            if q - ls <= parent || b[q] == b'#' {
                break;
            }
            if matches!(
                b[q],
                b'-' | b'?'
                    | b':'
                    | b','
                    | b'['
                    | b']'
                    | b'{'
                    | b'}'
                    | b'&'
                    | b'*'
                    | b'!'
                    | b'|'
                    | b'>'
                    | b'\''
                    | b'"'
                    | b'%'
                    | b'@'
                    | b'`'
            ) {
                return Err(Declined);
            }
            // The line: plain text to its end, trailing spaces not included.
            let mut e = q;
            let mut last = q;
            while e < b.len() && b[e] != b'\n' {
                match b[e] {
                    b' ' => {
                        if b.get(e + 1) == Some(&b'#') {
                            return Err(Declined);
                        }
                    }
                    b':' if is_ws_end(b, e + 1) => return Err(Declined),
                    _ => {
                        check_byte(b, e)?;
                        last = e + 1;
                    }
                }
                e += 1;
            }
            if e >= b.len() {
                // The last line has no `\n`: saphyr's end markers differ there.
                return Err(Declined);
            }
            self.lines_to(nl, ls);
            let v = value.get_or_insert_with(|| String::from(first));
            if empty == 0 {
                v.push(' ');
            } else {
                v.extend(core::iter::repeat_n('\n', empty));
            }
            v.push_str(&self.text[q..last]);
            end = Some(self.mark(last));
            nl = e;
        }
        Ok(match (value, end) {
            (Some(v), Some(end)) => Some((v, end, nl)),
            _ => None,
        })
    }

    /// `{}` or `[]` (blanks inside allowed) at `i`, then the rest of the line.
    fn empty_flow(&mut self, i: usize) -> R<Node<'a>> {
        let b = self.b;
        let close = if b[i] == b'{' { b'}' } else { b']' };
        let c = self.skip_spaces(i + 1);
        if c >= b.len() || b[c] != close {
            return Err(Declined);
        }
        // saphyr's tokens take in the blanks (and a comment) after each bracket.
        let j = self.skip_spaces(c + 1);
        let end = match b.get(j) {
            None | Some(b'\n') => j,
            Some(b'#') if j > c + 1 => self.comment_end(j)?,
            Some(_) => return Err(Declined),
        };
        let (s, e) = if close == b'}' {
            (Ev::MappingStart, Ev::MappingEnd)
        } else {
            (Ev::SequenceStart, Ev::SequenceEnd)
        };
        self.push(s, Span::new(self.mark(i), self.mark(c)));
        self.push(e, Span::new(self.mark(c), self.mark(end)));
        let nl = end;
        Ok(Node::Value(nl))
    }

    /// A literal (`|`, `|-`) or folded (`>`, `>-`) block scalar whose indicator is at `i`: its
    /// lines all indented alike (a literal's may be indented more), separated by empty lines.
    /// Declines on keep chomping (`+`), indentation indicators, lines of only spaces, a folded
    /// line indented more, and a scalar with no content line.
    fn block_scalar(&mut self, i: usize) -> R<Node<'a>> {
        let b = self.b;
        let literal = b[i] == b'|';
        let mut h = i + 1;
        let strip = b.get(h) == Some(&b'-');
        if strip {
            h += 1;
        }
        let rest = self.skip_spaces(h);
        if rest < b.len() && b[rest] != b'\n' && b[rest] != b'#' {
            return Err(Declined);
        }
        let nl = self.line_rest(h, rest)?;
        if nl >= b.len() {
            return Err(Declined);
        }
        let parent = self.frames.last().map_or(0, |f| f.col);
        self.next_line(nl);
        // The first line sets the indentation.
        let first = self.line_start;
        let n = self.skip_spaces(first) - first;
        if n <= parent || first + n >= b.len() || b[first + n] == b'\n' {
            return Err(Declined);
        }
        let start = self.mark(first + n);
        let mut value = String::new();
        // Empty lines seen since the last content line.
        let mut breaks = 0usize;
        let mut lines = 0usize;
        let end = loop {
            let ls = self.line_start;
            let ind = self.skip_spaces(ls) - ls;
            if ls >= b.len() {
                break self.mark(ls);
            }
            let at = ls + ind;
            if at >= b.len() {
                // A last line of only spaces.
                return Err(Declined);
            }
            if b[at] == b'\n' {
                if ind > 0 {
                    return Err(Declined);
                }
                breaks += 1;
                self.next_line(at);
                continue;
            }
            if ind < n {
                break self.mark(at);
            }
            if ind > n && !literal {
                return Err(Declined);
            }
            let mut e = at;
            while e < b.len() && b[e] != b'\n' {
                check_byte(b, e)?;
                e += 1;
            }
            if e >= b.len() {
                // The text ends inside the scalar, without a line break.
                return Err(Declined);
            }
            if lines > 0 {
                if literal || breaks > 0 {
                    for _ in 0..=breaks {
                        value.push('\n');
                    }
                    if !literal {
                        value.pop();
                    }
                } else {
                    value.push(' ');
                }
            }
            value.push_str(&self.text[ls + n..e]);
            lines += 1;
            breaks = 0;
            self.next_line(e);
        };
        if !strip {
            value.push('\n');
        }
        let style = if literal {
            ScalarStyle::Literal
        } else {
            ScalarStyle::Folded
        };
        self.push(Ev::Scalar(Cow::Owned(value), style), Span::new(start, end));
        Ok(Node::Block)
    }

    /// A plain scalar on one line from `i`: it ends before `: `, ` #` or the line's end.
    fn plain(&self, i: usize) -> R<(Ev<'a>, Span, usize)> {
        let b = self.b;
        let mut j = i;
        let end = loop {
            // The bytes between the ones `plain_stop` finds are plain text.
            loop {
                j = plain_stop(b, j);
                match b.get(j) {
                    None | Some(b' ' | b'\n') => break,
                    Some(b':') if is_ws_end(b, j + 1) => break,
                    Some(_) => {
                        check_byte(b, j)?;
                        j += 1;
                    }
                }
            }
            let end = j;
            if j < b.len() && b[j] == b':' {
                break end;
            }
            let k = self.skip_spaces(j);
            if k >= b.len()
                || b[k] == b'\n'
                || b[k] == b'#'
                || (b[k] == b':' && is_ws_end(b, k + 1))
            {
                break end;
            }
            j = k;
        };
        if end == i {
            return Err(Declined);
        }
        let span = Span::new(self.mark(i), self.mark(end));
        Ok((
            Ev::Scalar(Cow::Borrowed(&self.text[i..end]), ScalarStyle::Plain),
            span,
        ))
        .map(|(e, s)| (e, s, end))
    }

    /// A single- or double-quoted scalar on one line from its quote at `i`. Returns the byte
    /// after saphyr's token: past the closing quote, the blanks and a comment.
    ///
    /// With `multi`, the scalar may go on over the next lines, each indented more than the
    /// mapping's keys: a line break folds to a space, each empty line to a `\n`, the blanks
    /// around a break are dropped, and in double quotes a `\` before the break joins the
    /// lines (the cursor is then on the closing quote's line).
    fn quoted(&mut self, i: usize, multi: bool) -> R<(Ev<'a>, Span, usize)> {
        let b = self.b;
        let start = self.mark(i);
        let single = b[i] == b'\'';
        let mut j = i + 1;
        let mut owned: Option<String> = None;
        let mut run = j; // start of the text not yet copied into `owned`
        loop {
            j = quoted_stop(b, j);
            if j >= b.len() {
                return Err(Declined);
            }
            if b[j] == b'\n' {
                if !multi {
                    return Err(Declined);
                }
                // Blanks before the break are not content.
                let mut t = j;
                while t > run && b[t - 1] == b' ' {
                    t -= 1;
                }
                let s = owned.get_or_insert_with(String::new);
                s.push_str(&self.text[run..t]);
                j = self.quoted_break(j, s, false)?;
                run = j;
                continue;
            }
            match b[j] {
                b'\'' if single => {
                    if j + 1 < b.len() && b[j + 1] == b'\'' {
                        let s = owned.get_or_insert_with(String::new);
                        s.push_str(&self.text[run..=j]);
                        j += 2;
                        run = j;
                        continue;
                    }
                    break;
                }
                b'"' if !single => break,
                b'\\' if !single && multi && b.get(j + 1) == Some(&b'\n') => {
                    // An escaped line break: the lines join without a space.
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(&self.text[run..j]);
                    j = self.quoted_break(j + 1, s, true)?;
                    run = j;
                    continue;
                }
                b'\\' if !single => {
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(&self.text[run..j]);
                    let (c, len) = escape(b, j + 1)?;
                    s.push(c);
                    j += 1 + len;
                    run = j;
                    continue;
                }
                _ => check_byte(b, j)?,
            }
            j += 1;
        }
        let value = match owned {
            Some(mut s) => {
                s.push_str(&self.text[run..j]);
                Cow::Owned(s)
            }
            None => Cow::Borrowed(&self.text[i + 1..j]),
        };
        let close = j + 1;
        let k = self.skip_spaces(close);
        let end = if k < b.len() && b[k] == b'#' {
            if k == close {
                return Err(Declined);
            }
            self.comment_end(k)?
        } else {
            k
        };
        let style = if single {
            ScalarStyle::SingleQuoted
        } else {
            ScalarStyle::DoubleQuoted
        };
        Ok((
            Ev::Scalar(value, style),
            Span::new(start, self.mark(end)),
            end,
        ))
    }

    /// A line break at `nl` inside a quoted scalar (escaped: after a `\`): moves the cursor
    /// to the next line that is not empty, adds the folding to `s` and returns where that
    /// line's text starts. Declines on a line indented no more than the mapping's keys, a line
    /// of only spaces, an empty line after an escaped break, and the text's end.
    fn quoted_break(&mut self, nl: usize, s: &mut String, escaped: bool) -> R<usize> {
        let parent = self.frames.last().ok_or(Declined)?.col;
        let Some((ls, empty, q)) = self.next_content(nl)? else {
            return Err(Declined);
        };
        if q - ls <= parent || (escaped && empty > 0) {
            return Err(Declined);
        }
        self.lines_to(nl, ls);
        if !escaped {
            if empty == 0 {
                s.push(' ');
            } else {
                s.extend(core::iter::repeat_n('\n', empty));
            }
        }
        Ok(q)
    }
}

/// What [`Fast::node`] found.
enum Node<'a> {
    /// A key (its scalar event and span) and the byte of its `:`.
    Key(Ev<'a>, Span, usize),
    /// A value, queued; the end of its line.
    Value(usize),
    /// A block scalar, queued, its lines read: the cursor is on the line after it.
    Block,
}

const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGH: u64 = u64::from_le_bytes([0x80; 8]);

/// The eight bytes at `i`, if the text has them.
#[inline(always)]
fn word(b: &[u8], i: usize) -> Option<u64> {
    b.get(i..i + 8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map(u64::from_le_bytes)
}

/// The first byte at or after `i` that is not a space (or the text's end), eight bytes at a
/// time: indentation and the blanks around `:` are runs of spaces.
#[cfg_attr(not(target_arch = "wasm32"), inline(always))]
fn skip_spaces(b: &[u8], i: usize) -> usize {
    // The lowest byte of `w ^ SPACES` that is not zero is the first other byte.
    scan(b, i, |w| w ^ (ONES * u64::from(b' ')), |c| c != b' ')
}

/// Flags (high bit of each byte) the bytes of `w` equal to `c`: the lowest flag is exact
/// ("Bit Twiddling Hacks": a borrow only misflags bytes above a true one).
#[inline(always)]
fn bytes_eq(w: u64, c: u8) -> u64 {
    let x = w ^ (ONES * u64::from(c));
    x.wrapping_sub(ONES) & !x & HIGH
}

/// Flags the bytes of `w` below `n` (at most 128), the lowest exactly.
#[inline(always)]
fn bytes_below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH
}

/// The first byte at or after `i` where the lowest set bit of `hits` of its word falls (it must
/// fall in the word's first byte to stop at) or, in the text's last few bytes, that `stop`
/// names; the text's end if none.
#[inline(always)]
fn scan(b: &[u8], mut i: usize, hits: impl Fn(u64) -> u64, stop: impl Fn(u8) -> bool) -> usize {
    while let Some(w) = word(b, i) {
        let hit = hits(w);
        if hit != 0 {
            return i + (hit.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while b.get(i).is_some_and(|&c| !stop(c)) {
        i += 1;
    }
    i
}

/// The first byte at or after `i` that a plain scalar must look at (or the text's end): a
/// space, a `:`, a control character (`\n` among them), DEL, or 0xEF (a byte order mark's
/// first byte), eight bytes at a time.
#[cfg_attr(not(target_arch = "wasm32"), inline(always))]
fn plain_stop(b: &[u8], i: usize) -> usize {
    scan(
        b,
        i,
        |w| bytes_below(w, 0x21) | bytes_eq(w, b':') | bytes_eq(w, 0x7F) | bytes_eq(w, 0xEF),
        |c| matches!(c, 0..=0x20 | b':' | 0x7F | 0xEF),
    )
}

/// The first byte at or after `i` that a quoted scalar must look at (or the text's end): a
/// quote of either kind, a `\\`, a control character (`\n` among them), DEL or 0xEF, eight
/// bytes at a time.
#[cfg_attr(not(target_arch = "wasm32"), inline(always))]
fn quoted_stop(b: &[u8], i: usize) -> usize {
    scan(
        b,
        i,
        |w| {
            bytes_below(w, 0x20)
                | bytes_eq(w, b'"')
                | bytes_eq(w, b'\'')
                | bytes_eq(w, b'\\')
                | bytes_eq(w, 0x7F)
                | bytes_eq(w, 0xEF)
        },
        |c| matches!(c, 0..=0x1F | b'"' | b'\'' | b'\\' | 0x7F | 0xEF),
    )
}

/// Characters in a UTF-8 byte slice.
fn chars(b: &[u8]) -> usize {
    b.iter().filter(|&&c| (c & 0xC0) != 0x80).count()
}

/// Declines on what saphyr treats specially inside text: tabs, carriage returns, NUL (its end
/// of input), other control characters, and the byte order mark.
fn check_byte(b: &[u8], i: usize) -> R<()> {
    match b[i] {
        0..=0x1F | 0x7F => Err(Declined),
        0xEF if b.get(i + 1) == Some(&0xBB) && b.get(i + 2) == Some(&0xBF) => Err(Declined),
        _ => Ok(()),
    }
}

/// A double-quoted escape whose letter is at `i`: the character and the bytes it took.
fn escape(b: &[u8], i: usize) -> R<(char, usize)> {
    let c = match b.get(i).ok_or(Declined)? {
        b'0' => '\0',
        b'a' => '\x07',
        b'b' => '\x08',
        b't' => '\t',
        b'n' => '\n',
        b'v' => '\x0b',
        b'f' => '\x0c',
        b'r' => '\r',
        b'e' => '\x1b',
        b' ' => ' ',
        b'"' => '"',
        b'/' => '/',
        b'\\' => '\\',
        b'N' => '\u{85}',
        b'_' => '\u{A0}',
        b'L' => '\u{2028}',
        b'P' => '\u{2029}',
        b'x' | b'u' | b'U' => {
            let n = match b[i] {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            let digits = b.get(i + 1..i + 1 + n).ok_or(Declined)?;
            let mut v = 0u32;
            for &d in digits {
                v = (v << 4) + char::from(d).to_digit(16).ok_or(Declined)?;
            }
            return Ok((char::from_u32(v).ok_or(Declined)?, 1 + n));
        }
        _ => return Err(Declined),
    };
    Ok((c, 1))
}

/// Runs the fast scanner and saphyr over `text` (for the tests and the `yaml_fast` fuzz
/// target): `Ok(true)` when the fast path reads the whole text and every event and span agree
/// with saphyr's, `Ok(false)` when it declines (what it queued before is discarded by its
/// caller), `Err` with the first difference otherwise.
pub fn agrees_with_saphyr(text: &str) -> Result<bool, String> {
    let mut fast = Fast::new(text);
    let mut ours = Vec::new();
    while let Some(e) = fast.next_event() {
        match e {
            Ok(e) => ours.push(e),
            Err(Declined) => return Ok(false),
        }
    }
    let mut saphyr = saphyr_parser::Parser::new_from_str(text);
    let mut ours = ours.into_iter();
    for n in 0.. {
        match (ours.next(), saphyr.next_event()) {
            (None, None) => break,
            (Some(a), Some(Ok(b))) if a == b => {}
            (a, b) => return Err(alloc::format!("event {n}: fast {a:?}, saphyr {b:?}")),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The fast path reads `text` and agrees with saphyr event for event.
    #[track_caller]
    fn reads(text: &str) {
        assert_eq!(agrees_with_saphyr(text), Ok(true), "{text:?}");
    }

    /// The fast path declines `text` (agreeing with saphyr up to there).
    #[track_caller]
    fn declines(text: &str) {
        assert_eq!(agrees_with_saphyr(text), Ok(false), "{text:?}");
    }

    /// The word-at-a-time scans find what a byte loop finds: every byte value, at every
    /// offset in a word, after runs of every length, and at the text's end.
    #[test]
    fn word_scans_agree_with_byte_loops() {
        let stop = |c: u8| matches!(c, 0..=0x20 | b':' | 0x7F | 0xEF);
        for n in 0..20 {
            for c in 0..=255u8 {
                let mut text = alloc::vec![b'a'; n];
                text.push(c);
                text.extend_from_slice(b"bcdefghijk");
                let want = if stop(c) { n } else { n + 1 + 10 };
                assert_eq!(plain_stop(&text, 0), want, "{n} {c:#x}");
                let mut spaces = alloc::vec![b' '; n];
                spaces.push(c);
                let want = if c == b' ' { n + 1 } else { n };
                assert_eq!(skip_spaces(&spaces, 0), want, "{n} {c:#x}");
                // A stop after a high byte that is not one (a borrow must not hide it).
                let mut high = alloc::vec![0xC3u8, 0xA9, 0x80, 0xFF];
                high.truncate(n.min(4));
                let at = high.len();
                high.push(c);
                high.extend_from_slice(b"xyz");
                let want = if stop(c) { at } else { high.len() };
                assert_eq!(plain_stop(&high, 0), want, "{n} {c:#x}");
                let quoted = |c: u8| matches!(c, 0..=0x1F | b'"' | b'\'' | b'\\' | 0x7F | 0xEF);
                let want = if quoted(c) { at } else { high.len() };
                assert_eq!(quoted_stop(&high, 0), want, "{n} {c:#x}");
                let want = if quoted(c) { n } else { n + 1 + 10 };
                assert_eq!(quoted_stop(&text, 0), want, "{n} {c:#x}");
            }
        }
    }

    #[test]
    fn kubectl_list() {
        reads(
            "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata:\n    labels:\n      app: web\n    name: web\n  spec:\n    ports:\n    - name: http\n      port: 80\n      protocol: TCP\n      targetPort: 8080\n    selector:\n      app: web\n  status:\n    loadBalancer: {}\nkind: List\nmetadata:\n  resourceVersion: \"\"\n",
        );
    }

    #[test]
    fn block_collections() {
        reads("a: 1\nb:\n  c: 2\n  d:\n    e: 3\nf: 4\n");
        reads("- a\n- b\n-   c\n");
        reads("a:\n  - x\n  - y\nb: 2\n");
        reads("a:\n- x\n- y: 1\n  z: 2\nb:\n- w\n");
        reads("  a: 1\n  b: 2\n");
        reads("a:\n    b: 1\n    c:\n      - 1\n      -  2\n");
        reads("- a: 1\n  b:\n  - c\n- d\n");
        reads("a:\nb:\nc:\n  d:\n");
        reads("- a:\n- b:\n  c:\n");
    }

    #[test]
    fn scalars() {
        reads("a: b c  d\nb: 'it''s'\nc: \"x\\ty\\u00e9\\x41\\\\\\\"\"\nd: \"\"\ne: ''\n");
        reads("url: http://x:80/a#b\nk: a:b\nn: -1\nq: ?x\nc: :x\n");
        reads("\"quoted key\": 1\n'single': 2\n\"k\" : 3\nk  : 4\n");
        reads("a: \"x\"   \nb: 'y'  # comment\nc: z   # comment\n");
        reads("a: x[1]\nb: x{}\n");
        reads("a: x]\nb: x}\nc: x,y\n");
    }

    #[test]
    fn unicode_columns() {
        reads("名前: 値\nb: \"é\"\nc:\n  d: ü # ü\n");
        reads("- ключ: значение\n  x: y\n");
    }

    #[test]
    fn comments_and_blank_lines() {
        reads("# head\n\na: 1 # one\n   # indented\n\n# c\nb:\n  # inside\n  c: 2\n# tail\n");
        reads("a: 1\n  # deeper comment\nb: 2\n");
        reads("a:\n\n  b: 1\n");
    }

    #[test]
    fn empty_flow_collections() {
        reads("status: {}\nlist: []\nspaced: { }\nx: [ ]  # c\n- \n".trim_end_matches("- \n"));
        reads("- {}\n- []\n");
    }

    #[test]
    fn documents() {
        reads("");
        reads("\n\n");
        reads("# only a comment\n");
        reads("---\na: 1\n---\nb: 2\n...\n");
        reads("---\n---\n...\n---\n");
        reads("...\n...\n---\na: 1\n");
        reads("a: 1\n...\nb: 2\n");
        reads("--- # c\na: 1\n--- \n- x\n");
        reads("a: 1\n---");
        reads("---\n");
        reads("---");
        reads("...\n");
    }

    #[test]
    fn end_without_newline() {
        reads("a: 1");
        reads("a:\n  b:\n    c: 1");
        reads("a:\n  b: 1\n ");
        reads("a:\n  b: 1\n   ");
        reads("a:\n  b: 1\n  # x");
        reads("a:\n  b:");
        reads("- a");
        reads("a: 'x'  ");
    }

    #[test]
    fn declines_outside_the_subset() {
        declines("a: &x 1\nb: *x\n");
        declines("a: !!str 1\n");
        declines("a: [1, 2]\n");
        declines("a: {b: 1}\n");
        declines("? a\n: b\n");
        declines("- b\n  c\n");
        declines("- \"b\n  c\"\n");
        declines("\"b\n  c\": 1\n");
        declines("a:\tb\n");
        declines("a: b\r\n");
        declines("%YAML 1.2\n---\na: 1\n");
        declines("\u{FEFF}a: 1\n");
        declines("-\n  a: 1\n");
        declines("- - a\n");
        declines("plain\n");
        declines("\"quoted\"\n");
        declines("a: x\0\n");
        declines("a: @x\n");
        declines("[]\n");
    }

    /// Long strings as PyYAML's `safe_dump` and go-yaml fold them at 80 columns.
    #[test]
    fn multi_line_scalars() {
        reads("a: b\n  c\n");
        reads("a: \"b\n  c\"\n");
        reads(
            "m:\n  description: This service exposes the web application to the rest of the cluster\n    and is owned by the platform team; contact them before changing it.\n  x: 1\n",
        );
        reads("m:\n  k: '{\"apiVersion\":\"v1\",\"kind\":\"Service\"}\n\n    '\n  x: 1\n");
        reads("m:\n  k: 'one\n\n\n    two  \n    three'  # c\nn: 2\n");
        reads("a: \"x\\\n  \\ y\\\n  z\"\nb: \"p\n\n  q \\t\n  r\"\n");
        reads("- a: one\n    two\n\n    three\n  b: 2\n");
        reads("a:\n- b: one\n   two\n");
        reads("k: a\n  b\n\n# c\nl: 1\n");
        reads("名前: 値 は\n  長い\nb: 'é\n  ü'\n");
    }

    #[test]
    fn multi_line_scalars_outside_the_subset() {
        declines("a: b\n  c: d\n");
        declines("a: b\n  c # d\n");
        declines("a: b\n  # c\n  d\n");
        declines("a: b\n  - c\n");
        declines("a: b\n   \n  c\n");
        declines("a: b\n  c");
        declines("a: 'b\n'\n");
        declines("a: 'b\n  c\n");
        declines("a: \"b\\\n\n  c\"\n");
        declines("a: b\n  'c'\n");
    }

    #[test]
    fn block_scalars() {
        reads("a: |\n  x\n  y\nb: 1\n");
        reads("a: |-\n  x\n\n    y\n\n\nb: 1\n");
        reads("a: >\n  x\n  y\n\n  z\nb: 1\n");
        reads("a: >-  # c\n  x\n  y\n");
        reads("- |\n  x\n- >\n   y\n# c\n- z\n");
        reads("a:\n  b: |\n    x\n  # not content\nc: 1\n");
        reads("a: |\n  # content\n  x\n");
        reads("a: |\n  x\n\n");
        reads("items:\n- data:\n    k: |\n      v\n  kind: ConfigMap\n");
    }

    #[test]
    fn block_scalars_outside_the_subset() {
        declines("a: |+\n  x\n\nb: 1\n");
        declines("a: |2\n   x\n");
        declines("a: |\n\n  x\n");
        declines("a: |\n  x\n   \nb: 1\n");
        declines("a: >\n  x\n    y\n");
        declines("a: |\nb: 1\n");
        declines("a: |\n  x");
        declines("a: | x\n");
    }

    #[test]
    fn declines_errors() {
        declines("a: b: c\n");
        declines("a: 1\n b: 2\n");
        declines("- a\nb: 1\n");
        declines("a: 1\n- b\n");
        declines("a: \"x\"#c\n");
        declines("a: \"x\" y\n");
        declines("a: {}x\n");
        declines("a: \"\\q\"\n");
        declines("a: \"\\x4\"\n");
        declines("a: \"\\ud800\"\n");
        declines("a: 1\n--- x\n");
        declines("... x\n");
        declines("a:\n  b: 1\nc\n");
        declines("a:\n  b: 1\n c: 2\n");
        declines(&alloc::format!("{}: 1\n", "k".repeat(1100)));
    }
}
