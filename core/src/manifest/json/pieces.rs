//! A JSON object read from text given in pieces (a file read a piece at a time, by the CLI):
//! the items of its `items` array are parsed from a window over the last piece or two, so a
//! 70 MB `kubectl get -o json` dump is never held whole. Holding it was a third of the CLI's
//! peak memory, and the page faults of reading it into fresh memory a tenth of its time.
//!
//! Sans-IO: the caller's `fill` appends bytes to the window's buffer. The tree, its positions
//! and the order in which values are handed over are those of
//! [`parse_documents_streaming`](super::parse_documents_streaming), which gives
//! the same values for the same text. Whatever that path reads differently, or reports, is
//! left to it: this returns `false`, and the caller reads the text whole and gets exactly the
//! diagnostics it always had. That is text that is not UTF-8, a top-level value that is not an
//! object, more than one document, a duplicate top-level key, and any syntax error or limit.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use super::super::yaml::{Entry, Node, Pos, Value};
use super::{Parser, parser};

/// The bytes asked of `fill` at a time: the window stays in the CPU's caches.
pub(crate) const PIECE: usize = 256 << 10;

/// Appends at most the given number of bytes of the text to the buffer, and says how many (0
/// at the text's end).
pub(crate) type Fill<'f, E> = dyn FnMut(&mut Vec<u8>, usize) -> Result<usize, E> + 'f;

/// A failure within this many bytes of the window's end may be the window's end (a token cut
/// short, `"a`, `tr`, `\u00`); one further back is the text's own error.
const MARGIN: usize = 16;

/// Where the parser stood, kept from one window to the next; indexes are into the window.
#[derive(Clone, Copy)]
struct At {
    i: usize,
    line: u32,
    line_start: usize,
    ascii_line: bool,
    col_at: (usize, usize),
    col_base: usize,
    values: usize,
}

impl At {
    fn of(p: &Parser<'_>) -> At {
        At {
            i: p.i,
            line: p.line,
            line_start: p.line_start,
            ascii_line: p.ascii_line,
            col_at: p.col_at,
            col_base: p.col_base,
            values: p.values,
        }
    }

    fn set(self, p: &mut Parser<'_>) {
        p.i = self.i;
        p.line = self.line;
        p.line_start = self.line_start;
        p.ascii_line = self.ascii_line;
        p.col_at = self.col_at;
        p.col_base = self.col_base;
        p.values = self.values;
    }

    /// The window's first `n` bytes (at most `line_start`) are gone.
    fn drop_front(&mut self, n: usize) {
        // A column counted on an earlier line is no base for this one: the line's start is.
        self.col_at = match self.col_at {
            (j, c) if j >= self.line_start => (j - n, c),
            _ => (self.line_start - n, self.col_base),
        };
        self.line_start -= n;
        self.i -= n;
    }
}

/// What the reader waits for next.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stage {
    /// The top-level `{`.
    Open,
    /// A member's key (or, `first`, the `}` of an empty object).
    Key { first: bool },
    /// `,` or `}` after a member's value.
    AfterMember,
    /// An element of `items` (or, `first`, its `]`).
    Item { first: bool },
    /// `,` or `]` after an element of `items`.
    AfterItem,
    /// Only whitespace, up to the end.
    End,
}

/// How a window ended.
enum Flow {
    /// The object is read.
    Done,
    /// The window ends inside what comes next: read on from here with more text.
    More(At),
    /// The text is to be read whole (see the module's documentation).
    Whole,
}

/// The top-level object read so far: its members other than `items` (owned: the text they
/// were read from is gone by the end), and `items` as an empty array, as the streaming parser
/// leaves it.
struct Doc {
    pos: Pos,
    entries: Vec<Entry<'static>>,
}

/// Reads one JSON object from the text that `fill(buf, n)` appends to `buf` (at most `n` bytes
/// a call, 0 at the end), handing each element of its `items` array to `each(item, false)` as
/// it ends, then the object to `each(object, true)` with `items` empty. Returns `Ok(false)`
/// when the text is to be read whole (see the module's documentation): then whatever `each`
/// was given is to be dropped.
pub(crate) fn parse_pieces<E>(
    fill: &mut Fill<'_, E>,
    each: &mut dyn for<'w> FnMut(Node<'w>, bool),
) -> Result<bool, E> {
    read(PIECE, fill, each)
}

/// [`parse_pieces`], asking `fill` for `piece` bytes at a time.
fn read<E>(
    piece: usize,
    fill: &mut Fill<'_, E>,
    each: &mut dyn for<'w> FnMut(Node<'w>, bool),
) -> Result<bool, E> {
    // The window: checked UTF-8 text from the current line's start (or, on a line longer
    // than a piece, from where the parser stands) on. `raw` takes what `fill` gives; a
    // character it cuts short waits there for the rest.
    let mut text = String::new();
    let mut raw: Vec<u8> = Vec::new();
    let mut eof = false;
    let mut at = At {
        i: 0,
        line: 1,
        line_start: 0,
        ascii_line: true,
        col_at: (0, 0),
        col_base: 0,
        values: 0,
    };
    let mut stage = Stage::Open;
    let mut doc = Doc {
        pos: Pos { line: 1, col: 1 },
        entries: Vec::new(),
    };
    // The last window ended inside the value it started at: the next one reads as much again
    // as it holds, so that a value larger than a piece costs linear time, not quadratic.
    let mut stuck = false;
    loop {
        // Keep the window from the current line's start on (a one-line `json.dump` would
        // otherwise be held whole), and read more.
        if at.i - at.line_start > piece {
            // A long line: it goes on from `i` as if it started there, with the columns it
            // has there.
            let mut p = parser(&text);
            at.set(&mut p);
            let col = p.column();
            (at.line_start, at.col_base, at.col_at) = (at.i, col, (at.i, col));
        }
        let keep = at.line_start;
        at.drop_front(keep);
        text.drain(..keep);
        let want = if stuck { text.len().max(piece) } else { piece };
        eof = eof || fill(&mut raw, want)? == 0;
        let end = if eof { raw.len() } else { complete(&raw) };
        let Ok(more) = core::str::from_utf8(raw.get(..end).unwrap_or_default()) else {
            return Ok(false);
        };
        text.push_str(more);
        raw.drain(..end);
        let mut p = parser(&text);
        at.set(&mut p);
        let from = at.i;
        match steps(&mut p, &mut stage, &mut doc, each, eof) {
            Flow::Done => break,
            Flow::Whole => return Ok(false),
            Flow::More(next) => {
                stuck = next.i == from;
                at = next;
            }
        }
    }
    each(
        Node {
            value: Value::Map(doc.entries),
            pos: doc.pos,
        },
        true,
    );
    Ok(true)
}

/// The length of `bytes` without a UTF-8 character cut short at its end.
fn complete(bytes: &[u8]) -> usize {
    let n = bytes.len();
    for back in 1..=n.min(3) {
        let b = bytes[n - back];
        if b & 0xc0 != 0x80 {
            let len = match b {
                0xf0.. => 4,
                0xe0.. => 3,
                0xc0.. => 2,
                _ => 1,
            };
            return if len > back { n - back } else { n };
        }
    }
    n
}

/// Reads on through the window from `stage`, until the object ends or the window does.
fn steps<'w>(
    p: &mut Parser<'w>,
    stage: &mut Stage,
    doc: &mut Doc,
    each: &mut dyn for<'x> FnMut(Node<'x>, bool),
    eof: bool,
) -> Flow {
    loop {
        if *stage == Stage::End {
            p.skip_ws();
            return if p.i < p.bytes.len() {
                // Another document, or anything else after the object.
                Flow::Whole
            } else if eof {
                Flow::Done
            } else {
                Flow::More(At::of(p))
            };
        }
        let here = At::of(p);
        match step(p, *stage, doc, each) {
            Some(next) => *stage = next,
            // The text's own error, or the end of it: the whole-text path says what it is.
            None if eof || p.i.saturating_add(MARGIN) < p.bytes.len() => return Flow::Whole,
            None => return Flow::More(here),
        }
    }
}

/// One step from `stage`: the stage after it, or `None` where the text does not go on as a
/// `List` would (or not yet: the window may end there).
fn step<'w>(
    p: &mut Parser<'w>,
    stage: Stage,
    doc: &mut Doc,
    each: &mut dyn for<'x> FnMut(Node<'x>, bool),
) -> Option<Stage> {
    p.skip_ws();
    match stage {
        Stage::Open => {
            doc.pos = p.pos();
            (p.eat(b'{') && p.count_value().is_ok()).then_some(Stage::Key { first: true })
        }
        Stage::Key { first } => {
            if first && p.eat(b'}') {
                return Some(Stage::End);
            }
            let (key, key_pos, _) = p.key(0).ok()?;
            // A List has a few top-level keys: many are left to the whole-text path, which
            // indexes them (a scan here would be quadratic).
            if doc.entries.len() >= super::SCAN_KEYS || doc.entries.iter().any(|e| e.key == key) {
                return None;
            }
            let key: Cow<'static, str> = Cow::Owned(key.into_owned());
            p.skip_ws();
            if key == "items" && p.bytes.get(p.i) == Some(&b'[') {
                let pos = p.pos();
                p.i += 1;
                p.count_value().ok()?;
                doc.entries.push(Entry {
                    key,
                    key_pos,
                    value: Node {
                        value: Value::Seq(Vec::new()),
                        pos,
                    },
                });
                return Some(Stage::Item { first: true });
            }
            p.depth = 1;
            let value = owned(p.value(None).ok()?);
            doc.entries.push(Entry {
                key,
                key_pos,
                value,
            });
            Some(Stage::AfterMember)
        }
        Stage::AfterMember => {
            if p.eat(b',') {
                Some(Stage::Key { first: false })
            } else {
                p.eat(b'}').then_some(Stage::End)
            }
        }
        Stage::Item { first } => {
            if first && p.eat(b']') {
                return Some(Stage::AfterMember);
            }
            p.depth = 2;
            let item = p.value(None).ok()?;
            each(item, false);
            Some(Stage::AfterItem)
        }
        Stage::AfterItem => {
            if p.eat(b',') {
                Some(Stage::Item { first: false })
            } else {
                p.eat(b']').then_some(Stage::AfterMember)
            }
        }
        // Read by `steps`.
        Stage::End => None,
    }
}

/// `node` without borrows from the text (its depth is bounded by the reader's limit).
fn owned(node: Node<'_>) -> Node<'static> {
    let value = match node.value {
        Value::Null => Value::Null,
        Value::Bool(b) => Value::Bool(b),
        Value::Int(i) => Value::Int(i),
        Value::Float(f) => Value::Float(f),
        Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
        Value::Seq(items) => Value::Seq(items.into_iter().map(owned).collect()),
        Value::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|e| Entry {
                    key: Cow::Owned(e.key.into_owned()),
                    key_pos: e.key_pos,
                    value: owned(e.value),
                })
                .collect(),
        ),
    };
    Node {
        value,
        pos: node.pos,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use alloc::string::String;

    type Handed = Vec<(Node<'static>, bool)>;

    /// `text` read in pieces of at most `size` bytes: whether it was read, and what was handed.
    fn in_pieces(text: &str, size: usize) -> (bool, Handed) {
        let mut rest = text.as_bytes();
        let mut got = Vec::new();
        // Pieces of `size` (a line longer than that is cut at the parser), and `fill` giving
        // at most `size` bytes a call.
        let done = read(
            size,
            &mut |buf: &mut Vec<u8>, want| {
                let n = want.min(size).min(rest.len());
                buf.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
                Ok::<_, ()>(n)
            },
            &mut |node, whole| got.push((owned(node), whole)),
        )
        .unwrap();
        (done, got)
    }

    /// What the whole-text streaming parser hands over for `text`.
    fn streamed(text: &str) -> Result<Handed, ()> {
        let mut got = Vec::new();
        super::super::parse_documents_streaming(text, &mut |node, whole| {
            got.push((owned(node), whole));
        })
        .map_err(|_| ())?;
        Ok(got)
    }

    /// A `List` as `kubectl get -o json` prints it, and its variations: read in pieces of
    /// every size from one byte on, the same items and object as the whole-text parser hands
    /// over, with the same positions (characters outside ASCII cut across pieces included).
    #[test]
    fn lists_read_in_pieces_as_whole() {
        let kubectl = "{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n        {\n            \"kind\": \"Pod\",\n            \"metadata\": {\"name\": \"é-ü\", \"labels\": {\"a\": \"日本\"}}\n        },\n        {\"kind\": \"Service\", \"n\": [1, -2.5e3, true, false, null, \"\\u00e9\\ud83d\\ude00\"]}\n    ],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n";
        let texts = [
            kubectl,
            "{\"kind\":\"List\",\"items\":[{\"a\":1},{\"b\":\"x\"}],\"apiVersion\":\"v1\"}",
            "{\"items\": []}",
            "{\"items\": null, \"kind\": \"List\"}",
            "{}",
            "  \r\n{\"a\": {\"items\": [1]}, \"items\": [[], {}, \"s\"]}  \n\n",
            "{\"items\": [{\"é\": \"ü\"}], \"m\": \"日本語のテキスト\"}",
            // Text outside ASCII on line after line: a column counted on one line is not a
            // base for the next.
            "{\"items\": [{\"a\": \"éééé\", \"x\": 1},\n{\"b\": \"ü\", \"c\": [1, 2]},\n {\"d\": \"日本\", \"e\": \"f\"}]}",
            "{\"items\": [{\"a\": \"éééé\", \"x\": 1}\n, {\"b\": \"ü\", \"c\": [1, 2]}\n , {\"d\": \"日本\", \"e\": \"f\"}]}",
        ];
        // A long line (as `json.dump` writes one), characters outside ASCII before and after
        // where windows start mid-line, then lines again.
        let long: String = (0..40)
            .map(|i| alloc::format!("{{\"n\": \"é{i}日\", \"v\": [{i}, \"ü\"]}}, "))
            .collect();
        let long = alloc::format!(
            "{{\"items\": [{long}{{\"m\": \"x\"}},\n  {{\"é\": \"z\"}}], \"kind\": \"List\", \"k\": \"日\"}}"
        );
        for text in texts.iter().copied().chain([long.as_str()]) {
            let want = streamed(text).unwrap();
            for size in 1..40 {
                assert_eq!(
                    in_pieces(text, size),
                    (true, want.clone()),
                    "{size}: {text}"
                );
            }
            assert_eq!(in_pieces(text, PIECE), (true, want), "{text}");
        }
    }

    /// What the whole-text path reads otherwise or reports is left to it, whatever the
    /// pieces: syntax errors (the one at the end of the text too), limits, several documents,
    /// top-level values other than objects, duplicate top-level keys, text that is not JSON.
    #[test]
    fn the_rest_is_read_whole() {
        let deep = alloc::format!("{{\"items\": [{}1{}]}}", "[".repeat(255), "]".repeat(255));
        let deep_member = alloc::format!("{{\"a\": {}1{}}}", "[".repeat(256), "]".repeat(256));
        let many_keys: String = (0..=super::super::SCAN_KEYS)
            .map(|i| alloc::format!("\"k{i}\": {i}, "))
            .collect();
        let many_keys = alloc::format!("{{{many_keys}\"items\": []}}");
        let texts: [&str; 13] = [
            "{\"items\": [{\"a\": 1},, {\"b\": 2}], \"kind\": \"List\"}",
            "{\"items\": [{\"a\": 1}], \"kind\": \"List\"",
            "{\"items\": [{\"a\": 1}]} {\"kind\": \"Pod\"}",
            "[{\"kind\": \"Pod\"}]",
            "{\"items\": [], \"items\": []}",
            "{\"kind\": \"Pod\", \"kind\": \"Pod\"}",
            "kind: List\nitems: []\n",
            "{\"items\": [{\"a\": tru}]}",
            "{\"items\": [{\"a\": 1} // note\n]}",
            "",
            &many_keys,
            &deep,
            &deep_member,
        ];
        for text in texts {
            for size in [1, 2, 5, 16, 17, 64, PIECE] {
                assert!(!in_pieces(text, size).0, "{size}: {text}");
            }
        }
        assert!(streamed(&deep).is_err() && streamed(&deep_member).is_err());
        // Just under the depth limit, the values are read.
        for under in [
            alloc::format!("{{\"items\": [{}1{}]}}", "[".repeat(254), "]".repeat(254)),
            alloc::format!("{{\"a\": {}1{}}}", "[".repeat(255), "]".repeat(255)),
        ] {
            assert_eq!(in_pieces(&under, 7), (true, streamed(&under).unwrap()));
        }
    }

    /// A value larger than a piece is read in windows that double, not in a window that grows
    /// a piece at a time (which would read it again at each piece).
    #[test]
    fn a_large_value_costs_linear_time() {
        let big: String = "x".repeat(3 * PIECE);
        let text = alloc::format!("{{\"items\": [{{\"a\": \"{big}\"}}], \"kind\": \"List\"}}");
        let mut rest = text.as_bytes();
        let mut calls = 0;
        let done = parse_pieces(
            &mut |buf: &mut Vec<u8>, want| {
                calls += 1;
                let n = want.min(rest.len());
                buf.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
                Ok::<_, ()>(n)
            },
            &mut |_, _| {},
        )
        .unwrap();
        assert!(done);
        // 256 KiB, then as much again (512), then 1 MiB covers the 768 KiB value; then the end.
        assert!(calls <= 5, "{calls} calls");
    }

    /// `fill`'s error ends the reading and is returned.
    #[test]
    fn fill_errors_are_returned() {
        let r = parse_pieces(&mut |_: &mut Vec<u8>, _| Err("gone"), &mut |_, _| {});
        assert_eq!(r, Err("gone"));
    }

    #[test]
    fn characters_cut_at_the_end() {
        let text = "aé日😀";
        let b = text.as_bytes();
        for cut in 0..=b.len() {
            let n = complete(&b[..cut]);
            assert!(text.is_char_boundary(n), "{cut}");
            assert!(n <= cut && cut - n < 4, "{cut}");
        }
        // Bytes that are no character are left to the UTF-8 check.
        assert_eq!(complete(b"a\x80\x80\x80"), 4);
    }
}
