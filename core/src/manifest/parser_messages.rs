//! The YAML reader's syntax errors as structured messages ([`Msg`]), so a front end can say
//! them in another language.
//!
//! A syntax error reaches the reader as text: saphyr-parser's `ScanError::info()` (a static
//! string, save one that names the character) and the reader's own limits in [`super::yaml`].
//! [`TEMPLATES`] lists every one of those texts as a template — saphyr-parser 0.3.4's
//! messages, read from its `scanner.rs`, `parser.rs` and `input*.rs`, kept byte for byte — and
//! [`structured`] finds the template a text was made from, with its arguments. A text no
//! template makes (a newer parser's new message) stays [`Msg::Raw`]: its English is shown as it
//! is. Either way the English rendering is the text itself.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::diag::{Arg, Msg};

/// Every message the YAML reader's parser can produce, as templates (`{}` holds an argument,
/// `{{` and `}}` are braces). The playground's catalogue test checks that each has its
/// translation.
pub const TEMPLATES: &[&str] = &[
    // saphyr-parser 0.3.4, scanner.rs, parser.rs and input.rs / input/str.rs.
    "\"-\" is only valid inside a block",
    "'-' must be followed by a valid YAML whitespace",
    "':' may not precede any of `[{{` in flow mapping",
    "':' must be followed by a valid YAML whitespace",
    "a block scalar content cannot start with a tab",
    "a byte order mark must not appear inside a document",
    "block sequence entries are not allowed in this context",
    "comment intercepting the multiline text",
    "comments must be separated from other tokens by whitespace",
    "did not find expected <document start>",
    "did not find expected <document-start>",
    "did not find expected <stream-start>",
    "did not find expected next token",
    "duplicate version directive",
    "expected whitespace",
    "found incompatible YAML document",
    "found unprintable character",
    "illegal placement of ':' indicator",
    "invalid content after document end marker",
    "invalid global tag character",
    "invalid indentation",
    "invalid indentation for anchor",
    "invalid indentation in flow construct",
    "invalid indentation in quoted scalar",
    "invalid trailing content after double-quoted scalar",
    "mapping keys are not allowed in this context",
    "mapping values are not allowed in this context",
    "misplaced bracket",
    "missing explicit document end marker before directive",
    "plain scalar cannot start with '-' followed by ,[]{{}}",
    "recursion limit exceeded",
    "simple key expect ':'",
    "simple key expected",
    "tab cannot be used as indentation",
    "tabs disallowed in this context",
    "tabs disallowed within this context (block indentation)",
    "the TAG directive must only be given at most once per handle in the same document",
    "the handle wasn't declared",
    "unexpected character: `{}'",
    "unexpected end of plain scalar",
    "unexpected eof",
    "while parsing a block collection, did not find expected '-' indicator",
    "while parsing a block mapping, did not find expected key",
    "while parsing a flow mapping, did not find expected ',' or '}}'",
    "while parsing a flow sequence, expected ',' or ']'",
    "while parsing a node, did not find expected node content",
    "while parsing a quoted scalar, did not find expected hexadecimal number",
    "while parsing a quoted scalar, found invalid Unicode character escape code",
    "while parsing a quoted scalar, found unknown escape character",
    "while parsing a tag directive, did not find expected '!'",
    "while parsing a tag, did not find expected tag URI",
    "while parsing a tag, found an incorrect leading UTF-8 byte",
    "while parsing a tag, found an incorrect trailing UTF-8 byte",
    "while parsing a tag, found an invalid UTF-8 codepoint",
    "while parsing a tag, found an invalid escape sequence",
    "while parsing anchor, found duplicated anchor",
    "while parsing node, found unknown anchor",
    "while scanning TAG, did not find expected whitespace or line break",
    "while scanning a YAML directive, did not find expected digit or '.' character",
    "while scanning a YAML directive, did not find expected version number",
    "while scanning a YAML directive, found extremely long version number",
    "while scanning a block scalar, did not find expected comment or line break",
    "while scanning a block scalar, found an indentation indicator equal to 0",
    "while scanning a directive, could not find expected directive name",
    "while scanning a directive, did not find expected comment or line break",
    "while scanning a directive, found unexpected non-alphabetical character",
    "while scanning a plain scalar, found a tab",
    "while scanning a quoted scalar, found unexpected document indicator",
    "while scanning a quoted scalar, found unexpected end of stream",
    "while scanning a tag, did not find expected '!'",
    "while scanning a tag, did not find expected whitespace or line break",
    "while scanning a verbatim tag, did not find the expected '>'",
    "while scanning an anchor or alias, did not find expected alphabetic or numeric character",
    "wrongly indented line in block scalar",
    // The reader's own (yaml.rs, mod.rs): its limits and what its tree builder refuses.
    "more than {} documents (the reader's limit)",
    "more than {} objects (the reader's limit)",
    "more than {} values in one input (the reader's limit)",
    "more than {} keys in one mapping (the reader's limit)",
    "nesting deeper than {} levels (the reader's limit)",
    "this alias nests deeper than {} levels (the reader's limit)",
    "unexpected YAML event {}",
    "unexpected end of input",
    "unbalanced collection end",
    "alias to an unknown anchor",
    "aliases expand to too many nodes",
    "a `<<` merge beside streamed items",
    "a mapping key of {} characters: YAML allows at most 1024 in a plain `key: value` (kubectl refuses it too)",
    "a mapping key must be a scalar",
    "mapping key {} already defined at line {}",
    "map merge requires map or sequence of maps as the value",
];

/// The message `text` is, as one of [`TEMPLATES`] with its arguments; [`Msg::Raw`] when none
/// makes it. The English rendering of the result is always `text`.
pub fn structured(text: String) -> Msg {
    for t in TEMPLATES {
        if let Some(args) = match_template(t, &text) {
            let m = Msg::Template(t, args.into_iter().map(Arg::Plain).collect());
            // The template's rendering must give the text back, byte for byte.
            if m.to_string() == text {
                return m;
            }
        }
    }
    Msg::Raw(text)
}

/// The literal pieces of a template between its holes (`{{`/`}}` unescaped).
fn pieces(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("{{") || rest.starts_with("}}") {
            cur.push(c);
            rest = &rest[2..];
        } else if rest.starts_with("{}") {
            out.push(core::mem::take(&mut cur));
            rest = &rest[2..];
        } else {
            cur.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out.push(cur);
    out
}

/// The arguments that make `template` into `text`, if it can (each hole takes the shortest
/// text before the next literal piece; the last takes the rest).
fn match_template(template: &str, text: &str) -> Option<Vec<String>> {
    let pieces = pieces(template);
    let (first, rest) = pieces.split_first()?;
    let mut at = text.strip_prefix(first.as_str())?;
    let mut args = Vec::new();
    for (i, piece) in rest.iter().enumerate() {
        let end = if i + 1 == rest.len() {
            // The last piece ends the text.
            if !at.ends_with(piece.as_str()) {
                return None;
            }
            at.len() - piece.len()
        } else {
            at.find(piece.as_str())?
        };
        args.push(at[..end].to_string());
        at = &at[end + piece.len()..];
    }
    if rest.is_empty() && !at.is_empty() {
        return None;
    }
    Some(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every template is its own text (no holes) or gives its text back with arguments.
    #[test]
    fn each_text_comes_back_as_its_template() {
        for t in TEMPLATES {
            let sample = Msg::Template(
                t,
                (0..t.replace("{{", "").matches("{}").count())
                    .map(|i| Arg::Plain(alloc::format!("arg{i}")))
                    .collect(),
            )
            .to_string();
            match structured(sample.clone()) {
                Msg::Template(found, _) => assert_eq!(found, *t, "{sample}"),
                other => panic!("{sample:?} stayed {other:?}"),
            }
        }
    }

    // saphyr-parser's own words through the real parser: a message with a character in it,
    // and one with a brace (an escaped `}}` in its template).
    #[test]
    fn parser_errors_are_structured() {
        for (yaml, expected) in [
            ("a: @b\n", "unexpected character: `@'"),
            (
                "{a: b\n",
                "while parsing a flow mapping, did not find expected ',' or '}'",
            ),
            (
                "a: \"\\q\"\n",
                "while parsing a quoted scalar, found unknown escape character",
            ),
        ] {
            let Err(e) = super::super::yaml::parse_documents(yaml) else {
                panic!("{yaml:?} parsed");
            };
            assert_eq!(e.message.to_string(), expected);
            let m = structured(e.message.to_string());
            assert!(matches!(m, Msg::Template(..)), "{m:?}");
            assert_eq!(m.to_string(), expected);
        }
        assert!(matches!(
            structured("a message no template makes".into()),
            Msg::Raw(_)
        ));
    }
}
