//! A generator of YAML in and near the subset the fast YAML scanner reads
//! (`svcroute_core::manifest::yaml::fast`): block mappings and sequences (kubectl's `- ` at the
//! parent's indentation and indented ones), plain, single- and double-quoted scalars with
//! escapes, comments, blank lines, `{}`/`[]`, several documents — and, by [`mutate`], texts
//! one or a few edits away from it (tabs, anchors, flow content, broken indentation, …).
//! Used by the `yaml_fast` fuzz target and, on stable, by `core/tests/yaml_fast.rs`.

use arbitrary::{Result, Unstructured};

/// A generated text.
pub struct Doc {
    /// The YAML.
    pub text: String,
    /// Every construct in it is one the fast path reads (it must not decline).
    pub in_subset: bool,
}

enum Tree {
    Scalar(String),
    EmptyMap,
    EmptySeq,
    Map(Vec<(String, Tree)>),
    Seq(Vec<Tree>),
    /// A block scalar: its header (`|`, `>-` …) and lines (`""`: an empty line).
    Block(&'static str, Vec<String>),
}

struct Style {
    step: usize,
    indentless: bool,
    comments: bool,
    in_subset: bool,
    /// A block scalar was written (the fast path declines one the text ends in unterminated).
    blocks: bool,
    /// The last thing written was a block scalar: a `#` line indented as deep as its lines is
    /// one of them (a folded scalar's line indented more, which the fast path declines), not a
    /// comment.
    last_block: bool,
}

const WORDS: &[&str] = &[
    "web",
    "v1",
    "80",
    "8080",
    "-1",
    "0x1F",
    "1.5",
    "yes",
    "off",
    "null",
    "~",
    "10.0.0.1",
    "http://x:80/a",
    "a#b",
    "a:b",
    "TCP",
    "app.kubernetes.io/name",
    "x]",
    "y}",
    "z,w",
    "<<",
    "名前",
    "é",
    "a  b",
    "-x",
    ":x",
    "?x",
    "1e3",
    "_1",
    ".inf",
];

const KEYS: &[&str] = &[
    "a", "b", "name", "port", "app", "kind", "items", "metadata", "ключ", "x.y/z", "80", "true",
    "k-1", "---x", "a b",
];

fn scalar(u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0..=9)? {
        0..=5 => (*u.choose(WORDS)?).to_string(),
        6 | 7 => {
            let mut s = String::from("\"");
            for _ in 0..u.int_in_range(0..=6)? {
                s.push_str(u.choose(&[
                    "a",
                    " ",
                    "\\n",
                    "\\\"",
                    "\\\\",
                    "\\t",
                    "\\u00e9",
                    "\\x41",
                    "\\/",
                    "é",
                    "#",
                    ": ",
                    "'",
                    "\\U0001F600",
                    "\\ ",
                    "\\0",
                ])?);
            }
            s.push('"');
            s
        }
        _ => {
            let mut s = String::from("'");
            for _ in 0..u.int_in_range(0..=6)? {
                s.push_str(u.choose(&["a", " ", "''", "\\", "\"", "#", ": ", "名"])?);
            }
            s.push('\'');
            s
        }
    })
}

/// A key, made distinct by `i`.
fn key(u: &mut Unstructured, i: usize) -> Result<String> {
    let k = u.choose(KEYS)?;
    Ok(match u.int_in_range(0..=7)? {
        0 => format!("\"{k}{i}\""),
        1 => format!("'{k}{i}'"),
        _ => format!("{k}{i}"),
    })
}

fn tree(u: &mut Unstructured, depth: usize) -> Result<Tree> {
    let leaf = depth == 0 || u.ratio(1, 3)?;
    if leaf {
        return Ok(match u.int_in_range(0..=11)? {
            0 => Tree::EmptyMap,
            1 => Tree::EmptySeq,
            2 | 3 => {
                let header = *u.choose(&["|", "|-", ">", ">-", "|  # c"])?;
                let mut lines =
                    vec![(*u.choose(&["x", "a b", "# not a comment", "é"])?).to_string()];
                for _ in 0..u.int_in_range(0..=4)? {
                    let line = *u.choose(&["", "y", "key: v", "- z", "x  "])?;
                    // A line of only spaces is outside the subset; more indentation only in literals.
                    let extra = if header.starts_with('|') && !line.is_empty() {
                        *u.choose(&["", "", "  "])?
                    } else {
                        ""
                    };
                    lines.push(format!("{extra}{line}"));
                }
                Tree::Block(header, lines)
            }
            _ => Tree::Scalar(scalar(u)?),
        });
    }
    let n = u.int_in_range(1..=4)?;
    if u.ratio(1, 2)? {
        let mut entries = Vec::new();
        for i in 0..n {
            // Distinct keys keep the document valid for the tree builder too.
            entries.push((key(u, i)?, tree(u, depth - 1)?));
        }
        Ok(Tree::Map(entries))
    } else {
        let mut items = Vec::new();
        for _ in 0..n {
            items.push(tree(u, depth - 1)?);
        }
        Ok(Tree::Seq(items))
    }
}

fn inline(t: &Tree, u: &mut Unstructured) -> Result<Option<String>> {
    Ok(match t {
        Tree::Scalar(s) => Some(s.clone()),
        Tree::EmptyMap => Some((*u.choose(&["{}", "{ }"])?).to_string()),
        Tree::EmptySeq => Some((*u.choose(&["[]", "[  ]"])?).to_string()),
        _ => None,
    })
}

fn comment(u: &mut Unstructured, st: &Style) -> Result<&'static str> {
    if st.comments && u.ratio(1, 6)? {
        return Ok(u.choose(&["  # c", " #", " # é: x"])?);
    }
    Ok("")
}

fn extra_lines(out: &mut String, col: usize, u: &mut Unstructured, st: &Style) -> Result<()> {
    if st.comments && u.ratio(1, 8)? {
        // Lines of only spaces are outside the subset (right after a block scalar): blank
        // lines are empty, comments indented anyhow, but no deeper than the next entry's
        // column right after a block scalar (deeper, they are the scalar's lines).
        let line = *u.choose(&["# comment\n", "\n", "#\n"])?;
        if line != "\n" {
            let deepest = if st.last_block { col.min(6) } else { 6 };
            out.push_str(&" ".repeat(u.int_in_range(0..=deepest)?));
        }
        out.push_str(line);
    }
    Ok(())
}

/// A block scalar's header (after `key: ` or `- `) and lines, indented to `col`.
fn block_scalar(out: &mut String, header: &str, lines: &[String], col: usize) {
    out.push_str(header);
    out.push('\n');
    for l in lines {
        if !l.is_empty() {
            out.push_str(&" ".repeat(col));
            out.push_str(l);
        }
        out.push('\n');
    }
}

/// Entries of a mapping at column `col`; the first one's line is already indented when
/// `first_inline` (after `- `).
fn map(
    out: &mut String,
    entries: &[(String, Tree)],
    col: usize,
    first_inline: bool,
    u: &mut Unstructured,
    st: &mut Style,
) -> Result<()> {
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 || !first_inline {
            extra_lines(out, col, u, st)?;
            out.push_str(&" ".repeat(col));
        }
        st.last_block = false;
        out.push_str(k);
        out.push(':');
        if let Tree::Block(header, lines) = v {
            st.blocks = true;
            out.push(' ');
            block_scalar(out, header, lines, col + st.step);
            st.last_block = true;
            continue;
        }
        match inline(v, u)? {
            Some(s) => {
                out.push(' ');
                out.push_str(&s);
                out.push_str(comment(u, st)?);
                out.push('\n');
            }
            None => {
                out.push_str(comment(u, st)?);
                out.push('\n');
                let child = match v {
                    Tree::Seq(_) if st.indentless => col,
                    _ => col + st.step,
                };
                block(out, v, child, u, st)?;
            }
        }
    }
    Ok(())
}

fn block(
    out: &mut String,
    t: &Tree,
    col: usize,
    u: &mut Unstructured,
    st: &mut Style,
) -> Result<()> {
    match t {
        Tree::Map(entries) => map(out, entries, col, false, u, st),
        Tree::Seq(items) => {
            for item in items {
                extra_lines(out, col, u, st)?;
                out.push_str(&" ".repeat(col));
                st.last_block = false;
                out.push('-');
                let pad = if u.ratio(1, 5)? { 3 } else { 1 };
                out.push_str(&" ".repeat(pad));
                match item {
                    Tree::Block(header, lines) => {
                        st.blocks = true;
                        block_scalar(out, header, lines, col + st.step);
                        st.last_block = true;
                    }
                    Tree::Map(entries) => map(out, entries, col + 1 + pad, true, u, st)?,
                    Tree::Seq(_) => {
                        // `- - x`: outside the subset.
                        st.in_subset = false;
                        block(out, item, col + 1 + pad, u, st)?;
                    }
                    _ => {
                        let s = inline(item, u)?.unwrap_or_default();
                        out.push_str(&s);
                        out.push_str(comment(u, st)?);
                        out.push('\n');
                    }
                }
            }
            Ok(())
        }
        _ => {
            let s = inline(t, u)?.unwrap_or_default();
            out.push_str(&s);
            out.push('\n');
            // A scalar or flow root: outside the subset.
            st.in_subset = false;
            Ok(())
        }
    }
}

/// A stream of one to three documents in the subset (or, rarely, just outside it).
pub fn document(u: &mut Unstructured) -> Result<Doc> {
    let mut st = Style {
        step: *u.choose(&[1, 2, 2, 4])?,
        indentless: u.ratio(2, 3)?,
        comments: u.ratio(1, 2)?,
        in_subset: true,
        blocks: false,
        last_block: false,
    };
    let mut out = String::new();
    let docs = u.int_in_range(1..=3)?;
    for d in 0..docs {
        if d > 0 || u.ratio(1, 4)? {
            out.push_str(u.choose(&["---\n", "--- # doc\n"])?);
        }
        let t = match tree(u, 4)? {
            t @ (Tree::Map(_) | Tree::Seq(_)) => t,
            _ => Tree::Map(vec![("a".into(), Tree::Scalar("b".into()))]),
        };
        let col = if u.ratio(1, 8)? { 2 } else { 0 };
        block(&mut out, &t, col, u, &mut st)?;
        if u.ratio(1, 6)? {
            out.push_str("...\n");
        }
    }
    if u.ratio(1, 6)? {
        out.pop();
        st.in_subset &= !st.blocks;
    }
    Ok(Doc {
        text: out,
        in_subset: st.in_subset,
    })
}

/// `text` with one to three random edits: characters YAML treats specially inserted,
/// characters deleted, a line duplicated.
pub fn mutate(u: &mut Unstructured, text: &str) -> Result<String> {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..u.int_in_range(1..=3)? {
        let at = u.int_in_range(0..=chars.len())?;
        match u.int_in_range(0..=3)? {
            0 | 1 => chars.insert(
                at,
                *u.choose(&[
                    ' ', '\n', '\t', ':', '-', '#', '"', '\'', '{', '}', '[', ']', '&', '*', '!',
                    '|', '>', '?', ',', '\\', 'é', '\r', '%', '@', '\u{FEFF}', '\0',
                ])?,
            ),
            2 if at < chars.len() => {
                chars.remove(at);
            }
            _ => {
                let s: String = chars.iter().collect();
                let lines: Vec<&str> = s.split('\n').collect();
                let i = u.int_in_range(0..=lines.len().saturating_sub(1))?;
                let mut v: Vec<String> = lines.iter().map(|l| (*l).to_string()).collect();
                v.insert(i, v[i].clone());
                chars = v.join("\n").chars().collect();
            }
        }
    }
    Ok(chars.into_iter().collect())
}
