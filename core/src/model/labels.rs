//! Label selectors with the semantics of Kubernetes apimachinery's `labels` package.
//!
//! [`Selector::parse`] is a port of `labels.Parse` (its lexer, its parser and its error texts),
//! [`Requirement::new`] validates like `labels.NewRequirement`, matching follows
//! `Requirement.Matches`, and `Display` prints what `Selector.String()` prints.
//! [`Selector::from_map`] is `labels.ValidatedSelectorFromSet` (a Service's `spec.selector`) and
//! [`Selector::from_label_selector`] is `metav1.LabelSelectorAsSelector`.
//!
//! Deliberate differences from Go, none of which changes what a selector matches:
//! - a requirement's values are kept sorted and deduplicated whatever way it was built (Go does so
//!   only for parsed selectors), so `x in (a,a)` from a `matchExpressions` prints as `x in (a)`;
//! - requirements are sorted by key with a stable sort (Go's `sort.Sort` is not stable, but it is
//!   an insertion sort, hence stable, for up to 12 requirements);
//! - a map's entries are validated in key order, so of several bad entries the first by key is
//!   reported (Go reports whichever its map iteration meets first);
//! - in error texts, non-ASCII characters that Go's `strconv.Quote` would escape as not printable
//!   (other than control characters) are shown as they are.

use alloc::{format, string::String, vec, vec::Vec};
use core::borrow::Borrow;
use core::fmt::{self, Write as _};

use crate::diag::Msg;
use crate::msg;
use crate::validation;

/// A set of labels: key to value, as in `metadata.labels`, kept sorted by key.
///
/// The map's interface (`insert`, `get`, `contains_key`, iteration in key order as
/// `(&key, &value)`) over one sorted `Vec`: objects carry a few labels each, and a B-tree's
/// first node alone is over 500 bytes (half of what a Pod took in memory at 100,000 Pods).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Labels(Vec<(String, String)>);

/// The iterator of [`Labels::iter`]: `(key, value)` in key order.
pub type Iter<'a> = core::iter::Map<
    core::slice::Iter<'a, (String, String)>,
    fn(&'a (String, String)) -> (&'a String, &'a String),
>;

fn pair_refs(p: &(String, String)) -> (&String, &String) {
    (&p.0, &p.1)
}

impl Labels {
    /// No labels.
    pub const fn new() -> Labels {
        Labels(Vec::new())
    }

    /// No labels, with room for `n` (an object's labels are read into exactly their room:
    /// growing from none takes room for four, twice what most objects carry).
    pub fn with_capacity(n: usize) -> Labels {
        Labels(Vec::with_capacity(n))
    }

    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        String: Borrow<Q>,
    {
        self.0.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    /// Sets `key` to `value`; the value it had.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.find(key.as_str()) {
            Ok(i) => Some(core::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// The value of `key`.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&String>
    where
        String: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    /// Whether `key` is set.
    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        String: Borrow<Q>,
    {
        self.find(key).is_ok()
    }

    /// Unsets `key`; the value it had.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<String>
    where
        String: Borrow<Q>,
    {
        self.find(key).ok().map(|i| self.0.remove(i).1)
    }

    /// How many labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `(key, value)` in key order.
    pub fn iter(&self) -> Iter<'_> {
        self.0
            .iter()
            .map(pair_refs as fn(&(String, String)) -> (&String, &String))
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    /// The values, in key order.
    pub fn values(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(_, v)| v)
    }
}

/// As a map prints: `{"key": "value", …}`.
impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = (&'a String, &'a String);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl IntoIterator for Labels {
    type Item = (String, String);
    type IntoIter = vec::IntoIter<(String, String)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// A later pair for the same key wins, as in a map.
impl Extend<(String, String)> for Labels {
    fn extend<I: IntoIterator<Item = (String, String)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl FromIterator<(String, String)> for Labels {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Labels {
        let mut out = Labels::new();
        out.extend(iter);
        out
    }
}

impl<const N: usize> From<[(String, String); N]> for Labels {
    fn from(pairs: [(String, String); N]) -> Labels {
        pairs.into_iter().collect()
    }
}

/// How a [`Requirement`] relates its key to its values (`selection.Operator`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// `key=value`: the label is present with this value.
    Equals,
    /// `key==value`: the same as [`Operator::Equals`], kept apart because it prints as `==`.
    DoubleEquals,
    /// `key!=value`: the label is absent or has another value.
    NotEquals,
    /// `key in (a,b)`: the label is present with one of the values.
    In,
    /// `key notin (a,b)`: the label is absent or has none of the values.
    NotIn,
    /// `key`: the label is present.
    Exists,
    /// `!key`: the label is absent.
    DoesNotExist,
    /// `key>n`: the label is present and, read as an `i64`, greater than `n`.
    GreaterThan,
    /// `key<n`: the label is present and, read as an `i64`, less than `n`.
    LessThan,
}

impl Operator {
    /// The `selection.Operator` string: `=`, `==`, `!=`, `in`, `notin`, `exists`, `!`, `gt`, `lt`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a selector or requirement could not be built.
///
/// `Display` prints the text Kubernetes' `error` would print.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SelectorError {
    /// `labels.Parse` met a token its grammar does not allow there. `message` is Go's text,
    /// including its `unable to parse requirement: ` prefix where Go adds one; `position` is the
    /// byte offset of the offending token in the input (Kubernetes does not report it).
    Syntax {
        /// The error text, as Kubernetes words it (structured: a front end translates it).
        message: Msg,
        /// Byte offset of the offending token.
        position: usize,
    },
    /// `labels.NewRequirement` (or, while parsing, `validateLabelKey`) rejected a requirement.
    /// `errors` are the field errors (`key: Invalid value: "…": …`); `position` is the byte
    /// offset of the requirement when it came from [`Selector::parse`], whose errors Go prefixes
    /// with `unable to parse requirement: `.
    InvalidRequirement {
        /// Each field error's text, duplicates removed as `ErrorList.ToAggregate` does.
        errors: Vec<Msg>,
        /// Byte offset of the requirement in the parsed string, if it was parsed.
        position: Option<usize>,
    },
    /// `LabelSelectorAsSelector`: a `matchExpressions` operator other than `In`, `NotIn`,
    /// `Exists` and `DoesNotExist`.
    UnknownOperator {
        /// The operator as written.
        operator: String,
    },
}

impl SelectorError {
    /// The byte offset in the parsed string that the error is about, if it came from parsing.
    pub fn position(&self) -> Option<usize> {
        match self {
            SelectorError::Syntax { position, .. } => Some(*position),
            SelectorError::InvalidRequirement { position, .. } => *position,
            SelectorError::UnknownOperator { .. } => None,
        }
    }
}

impl SelectorError {
    /// The message, structured (a front end translates it; its English is the `Display`).
    pub fn text(&self) -> Msg {
        match self {
            SelectorError::Syntax { message, .. } => message.clone(),
            SelectorError::InvalidRequirement { errors, position } => {
                // utilerrors.aggregate.Error: one error alone, several as "[a, b]".
                let all = match errors.as_slice() {
                    [one] => one.clone(),
                    many => msg!("[{}]", Msg::Join(many.to_vec(), ", ")),
                };
                if position.is_some() {
                    msg!("unable to parse requirement: {}", all)
                } else {
                    all
                }
            }
            SelectorError::UnknownOperator { operator } => msg!(
                "{} is not a valid pod selector operator",
                go_quote(operator)
            ),
        }
    }
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.text())
    }
}

impl core::error::Error for SelectorError {}

/// Go's `strconv.Quote` (`%q`), for error texts.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        let _ = match c {
            '"' => out.write_str("\\\""),
            '\\' => out.write_str("\\\\"),
            '\x07' => out.write_str("\\a"),
            '\x08' => out.write_str("\\b"),
            '\x0c' => out.write_str("\\f"),
            '\n' => out.write_str("\\n"),
            '\r' => out.write_str("\\r"),
            '\t' => out.write_str("\\t"),
            '\x0b' => out.write_str("\\v"),
            c if c < ' ' || c == '\x7f' => write!(out, "\\x{:02x}", c as u32),
            c if c.is_control() => write!(out, "\\u{:04x}", c as u32),
            c => out.write_char(c),
        };
    }
    out.push('"');
    out
}

/// Go's `%#v` of a `[]string`, for `field.Invalid` errors on a value list.
fn go_string_slice(values: &[String]) -> String {
    if values.is_empty() {
        return String::from("[]string(nil)");
    }
    let quoted: Vec<String> = values.iter().map(|v| go_quote(v)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

/// One condition of a selector: a key, an operator and its values (`labels.Requirement`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// Validates like `labels.NewRequirement`: the key must be a qualified name; `in`/`notin`
    /// need at least one value, `=`/`==`/`!=` exactly one, `exists`/`!` none, `gt`/`lt` exactly
    /// one that parses as an `i64`; every value must be a valid label value (possibly empty).
    /// All problems are reported together. Values are stored sorted and deduplicated.
    pub fn new<I, S>(
        key: impl Into<String>,
        operator: Operator,
        values: I,
    ) -> Result<Self, SelectorError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        use Operator::*;
        let key = key.into();
        let mut values: Vec<String> = values.into_iter().map(Into::into).collect();
        // field.Invalid(path, value, detail).Error(), with Go's %q / %#v of the value.
        let mut errors: Vec<Msg> = Vec::new();
        let mut invalid = |path: String, value: String, detail: Msg| {
            let e = msg!("{}: Invalid value: {}: {}", path, value, detail);
            if !errors.contains(&e) {
                errors.push(e);
            }
        };
        if let Err(msg) = validation::qualified_name(&key) {
            invalid(String::from("key"), go_quote(&key), msg);
        }
        let count_error = match (operator, values.len()) {
            (In | NotIn, 0) => Some(msg!(
                "for 'in', 'notin' operators, values set can't be empty"
            )),
            (Equals | DoubleEquals | NotEquals, n) if n != 1 => {
                Some(msg!("exact-match compatibility requires one single value"))
            }
            (Exists | DoesNotExist, n) if n != 0 => Some(msg!(
                "values set must be empty for exists and does not exist"
            )),
            (GreaterThan | LessThan, n) if n != 1 => Some(msg!(
                "for 'Gt', 'Lt' operators, exactly one value is required"
            )),
            _ => None,
        };
        if let Some(detail) = count_error {
            invalid(String::from("values"), go_string_slice(&values), detail);
        }
        if matches!(operator, GreaterThan | LessThan) {
            for (i, v) in values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.parse::<i64>().is_err())
            {
                let detail = msg!("for 'Gt', 'Lt' operators, the value must be an integer");
                invalid(format!("values[{i}]"), go_quote(v), detail);
            }
        }
        for (i, v) in values.iter().enumerate() {
            if let Err(msg) = validation::label_value(v) {
                invalid(format!("values[{i}][{key}]"), go_quote(v), msg);
            }
        }
        if !errors.is_empty() {
            return Err(SelectorError::InvalidRequirement {
                errors,
                position: None,
            });
        }
        crate::sort::sort_unstable(&mut values);
        values.dedup();
        Ok(Requirement {
            key,
            operator,
            values,
        })
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values, sorted and without duplicates (empty for `exists` and `!`).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether `labels` satisfy this requirement, as `Requirement.Matches`: an absent key
    /// matches `!=`, `notin` and `!` only; `gt`/`lt` read the label's value as an `i64` and do
    /// not match if it does not parse.
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                value.is_some_and(|v| self.values.contains(v))
            }
            Operator::NotIn | Operator::NotEquals => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(label), [bound]) = (value, self.values.as_slice()) else {
                    return false;
                };
                match (label.parse::<i64>(), bound.parse::<i64>()) {
                    (Ok(l), Ok(b)) if self.operator == Operator::GreaterThan => l > b,
                    (Ok(l), Ok(b)) => l < b,
                    _ => false,
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    /// `Requirement.String()`: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a)`, `k`, `!k`,
    /// `k>1`, `k<1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            f.write_char('!')?;
        }
        f.write_str(&self.key)?;
        let op = match self.operator {
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
            Operator::In => " in ",
            Operator::NotIn => " notin ",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
            other => other.as_str(),
        };
        f.write_str(op)?;
        let set = matches!(self.operator, Operator::In | Operator::NotIn);
        if set {
            f.write_char('(')?;
        }
        f.write_str(&self.values.join(","))?;
        if set {
            f.write_char(')')?;
        }
        Ok(())
    }
}

/// A conjunction of [`Requirement`]s, sorted by key (`labels.internalSelector`). The empty
/// selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    /// The selector that matches all label sets (`labels.Everything()`).
    pub fn everything() -> Self {
        Selector::default()
    }

    /// A selector of these requirements, sorted by key (`NewSelector().Add(…)`).
    pub fn from_requirements(requirements: impl IntoIterator<Item = Requirement>) -> Self {
        let mut requirements: Vec<Requirement> = requirements.into_iter().collect();
        crate::sort::sort_by(&mut requirements, |a, b| a.key.cmp(&b.key));
        Selector { requirements }
    }

    /// Parses the string syntax of `labels.Parse`, e.g. `a=b,c!=d,e in (f,g),h notin (i),j,!k`,
    /// `x==y`, `n>1`, `n<3`. Whitespace (space, tab, CR, LF) may surround every token; the empty
    /// string is [`Selector::everything`]. Errors carry Go's texts.
    pub fn parse(selector: &str) -> Result<Self, SelectorError> {
        let mut parser = Parser {
            items: lex(selector),
            position: 0,
        };
        Ok(Selector::from_requirements(parser.parse()?))
    }

    /// The selector of a Service's `spec.selector` map: one `key=value` requirement per entry,
    /// validated as `labels.ValidatedSelectorFromSet` does. (The EndpointSlice controller uses
    /// the unvalidated `SelectorFromValidatedSet` on Services the API server already validated;
    /// for valid maps the result is the same.) An empty map gives [`Selector::everything`]; the
    /// controller manages no endpoints for a Service without a selector, so check that first.
    pub fn from_map(labels: &Labels) -> Result<Self, SelectorError> {
        let requirements = labels
            .iter()
            .map(|(k, v)| Requirement::new(k.as_str(), Operator::Equals, [v.as_str()]))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Selector::from_requirements(requirements))
    }

    /// `metav1.LabelSelectorAsSelector` for a non-nil `LabelSelector`: `matchLabels` become
    /// `=` requirements, `matchExpressions` (key, operator as written, values) become `in`,
    /// `notin`, `exists` or `!` requirements; all are ANDed. Both empty gives
    /// [`Selector::everything`]. A nil `LabelSelector` selects nothing in Kubernetes
    /// (`labels.Nothing()`), which the caller must handle before calling this.
    pub fn from_label_selector(
        match_labels: &Labels,
        match_expressions: &[(String, String, Vec<String>)],
    ) -> Result<Self, SelectorError> {
        let mut requirements = Vec::with_capacity(match_labels.len() + match_expressions.len());
        for (k, v) in match_labels {
            requirements.push(Requirement::new(
                k.as_str(),
                Operator::Equals,
                [v.as_str()],
            )?);
        }
        for (key, operator, values) in match_expressions {
            let op = match operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                _ => {
                    return Err(SelectorError::UnknownOperator {
                        operator: operator.clone(),
                    });
                }
            };
            requirements.push(Requirement::new(
                key.as_str(),
                op,
                values.iter().map(String::as_str),
            )?);
        }
        Ok(Selector::from_requirements(requirements))
    }

    /// Whether every requirement matches `labels`.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Whether the selector has no requirements and so matches everything (`Selector.Empty()`).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The `(key, value)` pairs that a matching label set must contain: the `=` and `==`
    /// requirements and the `in` requirements with a single value (those `RequiresExactMatch`
    /// reports). Useful to find candidates in a label index before checking with
    /// [`Selector::matches`].
    pub fn equality_pairs(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.requirements
            .iter()
            .filter_map(|r| match (r.operator, r.values.as_slice()) {
                (Operator::Equals | Operator::DoubleEquals | Operator::In, [v]) => {
                    Some((r.key.as_str(), v.as_str()))
                }
                _ => None,
            })
    }
}

impl fmt::Display for Selector {
    /// `Selector.String()`: the requirements joined by `,` (the empty selector prints nothing).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_char(',')?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

// ---- labels.Lexer ----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

#[derive(Clone, Copy, Debug)]
struct Item<'a> {
    tok: Token,
    lit: &'a str,
    pos: usize,
}

fn string_to_token(s: &str) -> Option<Token> {
    Some(match s {
        ")" => Token::ClosedPar,
        "," => Token::Comma,
        "!" => Token::DoesNotExist,
        "==" => Token::DoubleEquals,
        "=" => Token::Equals,
        ">" => Token::GreaterThan,
        "in" => Token::In,
        "<" => Token::LessThan,
        "!=" => Token::NotEquals,
        "notin" => Token::NotIn,
        "(" => Token::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(ch: u8) -> bool {
    matches!(ch, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special_symbol(ch: u8) -> bool {
    matches!(ch, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

struct Lexer<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    /// Like Go's `read`: 0 at the end (without moving), and a NUL byte also reads as 0, so Go's
    /// lexer takes a NUL for the end of the string.
    fn read(&mut self) -> u8 {
        match self.s.as_bytes().get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                b
            }
            None => 0,
        }
    }

    fn scan_id_or_keyword(&mut self, start: usize) -> (Token, &'a str) {
        let mut end = start;
        loop {
            match self.read() {
                0 => break,
                ch if is_special_symbol(ch) || is_whitespace(ch) => {
                    self.pos -= 1;
                    break;
                }
                _ => end = self.pos,
            }
        }
        let lit = &self.s[start..end];
        (string_to_token(lit).unwrap_or(Token::Identifier), lit)
    }

    /// The longest operator at `start`. Go's `ErrorToken` cannot come out of it: every special
    /// symbol is a token on its own, so the first byte always matches.
    fn scan_special_symbol(&mut self, start: usize) -> (Token, &'a str) {
        let mut last: Option<(Token, usize)> = None;
        loop {
            match self.read() {
                0 => break,
                ch if is_special_symbol(ch) => match string_to_token(&self.s[start..self.pos]) {
                    Some(tok) => last = Some((tok, self.pos)),
                    None if last.is_some() => {
                        self.pos -= 1;
                        break;
                    }
                    None => {}
                },
                _ => {
                    self.pos -= 1;
                    break;
                }
            }
        }
        let (tok, end) = last.unwrap_or((Token::Identifier, start));
        (tok, &self.s[start..end])
    }

    fn lex(&mut self) -> Item<'a> {
        let mut ch = self.read();
        while is_whitespace(ch) {
            ch = self.read();
        }
        if ch == 0 {
            return Item {
                tok: Token::EndOfString,
                lit: "",
                pos: self.pos,
            };
        }
        self.pos -= 1;
        let start = self.pos;
        let (tok, lit) = if is_special_symbol(ch) {
            self.scan_special_symbol(start)
        } else {
            self.scan_id_or_keyword(start)
        };
        Item {
            tok,
            lit,
            pos: start,
        }
    }
}

/// `Parser.scan`: every token up to and including the first end of string.
fn lex(s: &str) -> Vec<Item<'_>> {
    let mut lexer = Lexer { s, pos: 0 };
    let mut items = Vec::new();
    loop {
        let item = lexer.lex();
        items.push(item);
        if item.tok == Token::EndOfString {
            return items;
        }
    }
}

// ---- labels.Parser ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

struct Parser<'a> {
    items: Vec<Item<'a>>,
    position: usize,
}

fn syntax(in_requirement: bool, item: Item<'_>, expected: Msg) -> SelectorError {
    let found = msg!("found '{}'{}", item.lit, expected);
    SelectorError::Syntax {
        message: if in_requirement {
            msg!("unable to parse requirement: {}", found)
        } else {
            found
        },
        position: item.pos,
    }
}

impl<'a> Parser<'a> {
    /// The current item; in the `Values` context `in` and `notin` are identifiers.
    fn lookahead(&self, ctx: Context) -> Item<'a> {
        // The list always ends with EndOfString, which the parser never consumes past; the
        // clamp keeps that an invariant rather than a possible panic.
        let mut item = self.items[self.position.min(self.items.len() - 1)];
        if ctx == Context::Values && matches!(item.tok, Token::In | Token::NotIn) {
            item.tok = Token::Identifier;
        }
        item
    }

    fn consume(&mut self, ctx: Context) -> Item<'a> {
        let item = self.lookahead(ctx);
        self.position += 1;
        item
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut requirements = Vec::new();
        loop {
            let item = self.lookahead(Context::Values);
            match item.tok {
                Token::Identifier | Token::DoesNotExist => {
                    requirements.push(self.parse_requirement()?);
                    let next = self.consume(Context::Values);
                    match next.tok {
                        Token::EndOfString => return Ok(requirements),
                        Token::Comma => {
                            let after = self.lookahead(Context::Values);
                            if !matches!(after.tok, Token::Identifier | Token::DoesNotExist) {
                                return Err(syntax(
                                    false,
                                    after,
                                    msg!(", expected: identifier after ','"),
                                ));
                            }
                        }
                        _ => {
                            return Err(syntax(
                                false,
                                next,
                                msg!(", expected: ',' or 'end of string'"),
                            ));
                        }
                    }
                }
                Token::EndOfString => return Ok(requirements),
                _ => {
                    return Err(syntax(
                        false,
                        item,
                        msg!(", expected: !, identifier, or 'end of string'"),
                    ));
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, SelectorError> {
        let start = self.lookahead(Context::Values).pos;
        let (key, inferred) = self.parse_key_and_infer_operator()?;
        let at = |e: SelectorError| match e {
            SelectorError::InvalidRequirement { errors, .. } => SelectorError::InvalidRequirement {
                errors,
                position: Some(start),
            },
            other => other,
        };
        if let Some(op) = inferred {
            return Requirement::new(key, op, [""; 0]).map_err(at);
        }
        let operator = self.parse_operator()?;
        let mut values = match operator {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        // Go collects the values in a sets.String and passes its sorted List(), so the indices
        // in value errors are positions in the sorted set.
        crate::sort::sort_unstable(&mut values);
        values.dedup();
        Requirement::new(key, operator, values).map_err(at)
    }

    /// The key, with `exists` or `!` when no operator follows it (Go leaves the operator empty
    /// otherwise, and so does a `!key` followed by an operator: it still yields `!key`).
    fn parse_key_and_infer_operator(
        &mut self,
    ) -> Result<(&'a str, Option<Operator>), SelectorError> {
        let mut item = self.consume(Context::Values);
        let mut operator = None;
        if item.tok == Token::DoesNotExist {
            operator = Some(Operator::DoesNotExist);
            item = self.consume(Context::Values);
        }
        if item.tok != Token::Identifier {
            return Err(syntax(true, item, msg!(", expected: identifier")));
        }
        if let Err(msg) = validation::qualified_name(item.lit) {
            let error = msg!("<nil>: Invalid value: {}: {}", go_quote(item.lit), msg);
            return Err(SelectorError::InvalidRequirement {
                errors: vec![error],
                position: Some(item.pos),
            });
        }
        if matches!(
            self.lookahead(Context::Values).tok,
            Token::EndOfString | Token::Comma
        ) && operator.is_none()
        {
            operator = Some(Operator::Exists);
        }
        Ok((item.lit, operator))
    }

    fn parse_operator(&mut self) -> Result<Operator, SelectorError> {
        let item = self.consume(Context::KeyAndOperator);
        Ok(match item.tok {
            Token::In => Operator::In,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            Token::NotIn => Operator::NotIn,
            Token::NotEquals => Operator::NotEquals,
            _ => {
                return Err(syntax(
                    true,
                    item,
                    msg!(", expected: in, notin, =, ==, !=, gt, lt"),
                ));
            }
        })
    }

    /// `(a,b)`, where empty entries stand for the empty value: `()`, `(,a)`, `(a,)`, `(a,,b)`.
    fn parse_values(&mut self) -> Result<Vec<&'a str>, SelectorError> {
        let item = self.consume(Context::Values);
        if item.tok != Token::OpenPar {
            return Err(syntax(true, item, msg!(" expected: '('")));
        }
        let item = self.lookahead(Context::Values);
        match item.tok {
            Token::Identifier | Token::Comma => {
                let values = self.parse_identifiers_list()?;
                if self.consume(Context::Values).tok != Token::ClosedPar {
                    // Go reports the token after '(' here; parse_identifiers_list only returns
                    // before a ')', so this cannot happen.
                    return Err(syntax(true, item, msg!(", expected: ')'")));
                }
                Ok(values)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(vec![""])
            }
            _ => Err(syntax(
                true,
                item,
                msg!(", expected: ',', ')' or identifier"),
            )),
        }
    }

    fn parse_identifiers_list(&mut self) -> Result<Vec<&'a str>, SelectorError> {
        let mut values = Vec::new();
        loop {
            let item = self.consume(Context::Values);
            match item.tok {
                Token::Identifier => {
                    values.push(item.lit);
                    let next = self.lookahead(Context::Values);
                    match next.tok {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(values),
                        _ => return Err(syntax(true, next, msg!(", expected: ',' or ')'"))),
                    }
                }
                Token::Comma => {
                    if values.is_empty() {
                        values.push(""); // "(,"
                    }
                    match self.lookahead(Context::Values).tok {
                        Token::ClosedPar => {
                            values.push(""); // ",)"
                            return Ok(values);
                        }
                        Token::Comma => {
                            self.consume(Context::Values);
                            values.push(""); // ",,"
                        }
                        _ => {}
                    }
                }
                _ => return Err(syntax(true, item, msg!(", expected: ',', or identifier"))),
            }
        }
    }

    fn parse_exact_value(&mut self) -> Result<Vec<&'a str>, SelectorError> {
        if matches!(
            self.lookahead(Context::Values).tok,
            Token::EndOfString | Token::Comma
        ) {
            return Ok(vec![""]);
        }
        let item = self.consume(Context::Values);
        if item.tok == Token::Identifier {
            Ok(vec![item.lit])
        } else {
            Err(syntax(true, item, msg!(", expected: identifier")))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use proptest::prelude::*;

    /// Labels from `k=v` words.
    fn set(s: &str) -> Labels {
        let pair = |w: &str| {
            w.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        };
        s.split_whitespace().filter_map(pair).collect()
    }

    fn req(key: &str, op: Operator, values: &str) -> Requirement {
        Requirement::new(key, op, values.split(',').filter(|v| !v.is_empty())).unwrap()
    }

    fn canonical(s: &str) -> String {
        Selector::parse(s).unwrap().to_string()
    }

    fn parse_err(s: &str) -> String {
        Selector::parse(s).unwrap_err().to_string()
    }

    fn s(text: &str) -> String {
        text.to_string()
    }

    // selector_test.go TestSelectorParse: good strings print back without their spaces.
    #[test]
    fn selector_parse_good_and_bad() {
        for good in "x=a,y=b,z=c||x!=a,y=b|x=|x= |x=,z= |x= ,z= |!x|x>1|x>1,z<5".split('|') {
            assert_eq!(canonical(good), good.replace(' ', ""), "{good:?}");
        }
        for bad in ["x=a||y=b", "x==a==b", "!x=a", "x<a"] {
            assert!(Selector::parse(bad).is_err(), "{bad:?}");
        }
    }

    // selector_test.go TestDeterministicParse: requirements are sorted by key (stably).
    #[test]
    fn deterministic_parse() {
        assert_eq!(Selector::parse("x=a,a=x"), Selector::parse("a=x,x=a"));
        assert_eq!(canonical("x=a,a=x"), "a=x,x=a");
        assert_eq!(canonical("b,a=1,!b,a"), "a=1,a,b,!b");
    }

    // selector_test.go TestEverything / TestSetIsEmpty / TestNilMapIsValid.
    #[test]
    fn everything() {
        assert!(Selector::everything().matches(&set("x=y")));
        assert!(Selector::everything().is_empty());
        for empty in ["", " \t\r\n"] {
            assert_eq!(Selector::parse(empty), Ok(Selector::everything()));
        }
        assert_eq!(
            Selector::from_map(&Labels::new()),
            Ok(Selector::everything())
        );
        assert_eq!(
            Selector::from_label_selector(&Labels::new(), &[]),
            Ok(Selector::everything())
        );
    }

    // selector_test.go TestSelectorMatches (+ Requirement.Matches on missing keys and Gt/Lt).
    #[test]
    fn selector_matches() {
        for (selector, labels, expected) in [
            ("", "x=y", true),
            ("x=y", "x=y", true),
            ("x=y,z=w", "x=y z=w", true),
            ("x!=y,z!=w", "x=z z=a", true),
            ("notin=in", "notin=in", true), // in and notin in exactMatch
            ("x", "x=z", true),
            ("!x", "y=z", true),
            ("x>1", "x=2", true),
            ("x<1", "x=0", true),
            ("x=z", "", false),
            ("x=y", "x=z", false),
            ("x=y,z=w", "x=w z=w", false),
            ("x!=y,z!=w", "x=z z=w", false),
            ("x", "y=z", false),
            ("!x", "x=z", false),
            ("x>1", "x=0", false),
            ("x<1", "x=2", false),
            ("foo=bar,baz=blah", "foo=bar baz=blah", true),
            ("foo=bar,foobar=bar,baz=blah", "foo=bar baz=blah", false),
            // A missing key matches !=, notin and ! only.
            ("k!=v,k notin (v),!k", "", true),
            ("k in (v)", "", false),
            ("k==v", "", false),
            ("k>0", "", false),
            // Gt/Lt: strconv.ParseInt of the label value, no match if it does not parse.
            ("z>1", "z=+2", true),
            ("z>1", "z=0002", true),
            ("z>1", "z=v2", false),
            ("z>1", "z=", false),
            ("z>1", "z=99999999999999999999", false),
            ("z<0", "z=-9223372036854775808", true),
            ("z<0", "z=0", false),
        ] {
            let got = Selector::parse(selector).unwrap().matches(&set(labels));
            assert_eq!(got, expected, "{selector:?} on {labels:?}");
        }
    }

    // selector_test.go TestSetMatches; ValidatedSelectorFromSet validates every entry.
    #[test]
    fn set_selectors() {
        let labels = set("foo=bar baz=blah");
        for sub in ["", "foo=bar", "baz=blah", "foo=bar baz=blah"] {
            assert!(
                Selector::from_map(&set(sub)).unwrap().matches(&labels),
                "{sub}"
            );
        }
        assert!(
            !Selector::from_map(&set("foo=bar x=y"))
                .unwrap()
                .matches(&labels)
        );
        assert_eq!(
            Selector::from_map(&set("b=2 a=1")).unwrap().to_string(),
            "a=1,b=2"
        );
        let err = Selector::from_map(&set("app=-x")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("values[0][app]: Invalid value: \"-x\": a valid")
        );
        assert_eq!(err.position(), None);
        let err = Selector::from_map(&set("-app=x")).unwrap_err().to_string();
        assert!(
            err.starts_with("key: Invalid value: \"-app\": name part must consist"),
            "{err}"
        );
    }

    /// The token kinds of `text`: identifiers as `id`, the end as `$`, others as themselves.
    fn tokens(text: &str) -> String {
        let kinds: Vec<&str> = lex(text)
            .into_iter()
            .map(|i| match i.tok {
                Token::Identifier => "id",
                Token::EndOfString => "$",
                _ => i.lit,
            })
            .collect();
        kinds.join(" ")
    }

    // selector_test.go TestLexer / TestLexerSequence: Lex returns the longest valid token.
    #[test]
    fn lexer() {
        for (text, expected) in [
            ("", "$"),
            (
                ", notin in = == > < ! != ( )",
                ", notin in = == > < ! != ( ) $",
            ),
            ("~ || a.b/c-d x_y é", "id id id id id $"), // no special symbols
            ("key in ( value1, value2 )", "id in ( id , id ) $"),
            ("key notin ( value )", "id notin ( id ) $"),
            ("!key", "! id $"),
            ("x in (),y", "id in ( ) , id $"),
            ("== != (), = notin", "== != ( ) , = notin $"),
            ("key>2,key<1", "id > id , id < id $"),
            ("a!==b===c<=d", "id != = id == = id < = id $"),
            ("in(notin)innotin", "in ( notin ) id $"),
        ] {
            assert_eq!(tokens(text), expected, "{text:?}");
        }
        let lits: Vec<&str> = lex("a.b/c-d in(x_y,é)").iter().map(|i| i.lit).collect();
        assert_eq!(lits, ["a.b/c-d", "in", "(", "x_y", ",", "é", ")", ""]);
    }

    // Lexer.read returns 0 for a NUL byte, which Lex then takes for the end of the string.
    #[test]
    fn nul_byte_ends_the_lexer_like_go() {
        assert_eq!(canonical("x=a \0garbage ( ,"), "x=a");
        assert_eq!(Selector::parse("\0x"), Ok(Selector::everything()));
        // Inside an identifier the NUL ends it and lexing resumes after it.
        assert_eq!(
            parse_err("x=a\0b"),
            "found 'b', expected: ',' or 'end of string'"
        );
    }

    // selector_test.go TestRequirementConstructor
    #[test]
    fn requirement_constructor() {
        use Operator::*;
        let long = "a".repeat(254);
        for (key, op, vals, ok) in [
            ("x", In, "", false),
            ("x", NotIn, "", false),
            ("x", In, "foo", true),
            ("x", NotIn, "foo", true),
            ("x", Exists, "", true),
            ("x", DoesNotExist, "", true),
            ("1foo", In, "bar", true),
            ("1234", In, "bar", true),
            ("y", GreaterThan, "1", true),
            ("z", LessThan, "6", true),
            ("foo", GreaterThan, "bar", false),
            ("barz", LessThan, "blah", false),
            (&long, Exists, "", false),
            ("x", Equals, "a,b", false),
            ("x", NotEquals, "", false),
            ("x", Exists, "a", false),
            ("x", GreaterThan, "1,2", false),
            ("x", GreaterThan, "-1", false), // an integer, but not a valid label value
        ] {
            let values = vals.split(',').filter(|v| !v.is_empty());
            assert_eq!(
                Requirement::new(key, op, values).is_ok(),
                ok,
                "{key} {op} {vals:?}"
            );
        }
        assert_eq!(
            Requirement::new("x", In, ["", "a", ""]).unwrap().values(),
            [s(""), s("a")]
        );
    }

    // NewRequirement: every field error, deduplicated like ErrorList.ToAggregate.
    #[test]
    fn requirement_error_messages() {
        let err = Requirement::new("x", Operator::In, [""; 0]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "values: Invalid value: []string(nil): \
             for 'in', 'notin' operators, values set can't be empty"
        );
        let err = Requirement::new("x", Operator::GreaterThan, ["a", "1"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "[values: Invalid value: []string{\"a\", \"1\"}: \
             for 'Gt', 'Lt' operators, exactly one value is required, \
             values[0]: Invalid value: \"a\": \
             for 'Gt', 'Lt' operators, the value must be an integer]"
        );
        let err = Requirement::new("a/b/c", Operator::Equals, ["a b"]).unwrap_err();
        let SelectorError::InvalidRequirement {
            errors,
            position: None,
        } = &err
        else {
            panic!("{err:?}")
        };
        assert!(
            errors[0]
                .to_string()
                .starts_with("key: Invalid value: \"a/b/c\": a valid label key must")
        );
        assert!(
            errors[1]
                .to_string()
                .starts_with("values[0][a/b/c]: Invalid value: \"a b\": a valid label")
        );
        let err = Requirement::new("x", Operator::Exists, ["\"q\"\n\u{85}"]).unwrap_err();
        let quoted = "\"\\\"q\\\"\\n\\u0085\"";
        assert!(err.to_string().starts_with(&format!(
            "[values: Invalid value: []string{{{quoted}}}: values set must be empty for exists \
             and does not exist, values[0][x]: Invalid value: {quoted}: a valid label"
        )));
    }

    // labels.Parse error texts ("unable to parse requirement: " inside a requirement) and the
    // byte offset of the offending token.
    #[test]
    fn parse_error_messages() {
        let in_req = "unable to parse requirement: found";
        let ops = "expected: in, notin, =, ==, !=, gt, lt";
        for (input, message, position) in [
            (
                "(",
                s("found '(', expected: !, identifier, or 'end of string'"),
                0,
            ),
            ("a (", format!("{in_req} '(', {ops}"), 2),
            (
                ",x,y",
                s("found ',', expected: !, identifier, or 'end of string'"),
                0,
            ),
            ("a,", s("found '', expected: identifier after ','"), 2),
            ("a,,b", s("found ',', expected: identifier after ','"), 2),
            ("x nott in (y)", format!("{in_req} 'nott', {ops}"), 2),
            (
                "a in (xyz),",
                s("found '', expected: identifier after ','"),
                11,
            ),
            (
                "a in (xyz)b notin ()",
                s("found 'b', expected: ',' or 'end of string'"),
                10,
            ),
            (
                "a in (xyz abc)",
                format!("{in_req} 'abc', expected: ',' or ')'"),
                10,
            ),
            (
                "a notin(",
                format!("{in_req} '', expected: ',', ')' or identifier"),
                8,
            ),
            ("a in x", format!("{in_req} 'x' expected: '('"), 5),
            (
                "a in (x,=)",
                format!("{in_req} '=', expected: ',', or identifier"),
                8,
            ),
            (
                "a in (x,,)",
                format!("{in_req} ')', expected: ',', or identifier"),
                9,
            ),
            ("a=(", format!("{in_req} '(', expected: identifier"), 2),
            ("!", format!("{in_req} '', expected: identifier"), 1),
            (
                "!=x",
                s("found '!=', expected: !, identifier, or 'end of string'"),
                0,
            ),
            (
                "x=a y=b",
                s("found 'y', expected: ',' or 'end of string'"),
                4,
            ),
            (
                "x==a==b",
                s("found '==', expected: ',' or 'end of string'"),
                4,
            ),
            ("!x=a", s("found '=', expected: ',' or 'end of string'"), 2),
        ] {
            let err = Selector::parse(input).unwrap_err();
            assert_eq!(
                (err.to_string(), err.position()),
                (message, Some(position)),
                "{input:?}"
            );
        }
    }

    // labels.Parse: a bad key is reported by validateLabelKey with a nil path ("<nil>: …"), bad
    // values by NewRequirement, both after "unable to parse requirement: ".
    #[test]
    fn parse_validation_messages() {
        let pre = "unable to parse requirement:";
        assert_eq!(
            parse_err("app:monolith"),
            format!(
                "{pre} <nil>: Invalid value: \"app:monolith\": name part must consist of \
                 alphanumeric characters, '-', '_' or '.', and must start and end with an \
                 alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex \
                 used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
            )
        );
        let err = Selector::parse("ok, app.kubernetes_io/name=x").unwrap_err();
        let expected = "<nil>: Invalid value: \"app.kubernetes_io/name\": prefix part a lowercase";
        assert!(
            err.to_string().starts_with(&format!("{pre} {expected}")),
            "{err}"
        );
        assert_eq!(err.position(), Some(4));
        assert_eq!(
            parse_err("x<a"),
            format!(
                "{pre} values[0]: Invalid value: \"a\": \
                 for 'Gt', 'Lt' operators, the value must be an integer"
            )
        );
        // '|' is no special symbol, so "a||y" is one (invalid) value.
        let err = parse_err("x=a||y=b");
        assert!(
            err.starts_with(&format!("{pre} values[0][x]: Invalid value: \"a||y\"")),
            "{err}"
        );
        // Values are checked in sorted-set order, as Go's sets.String.List() hands them over.
        let err = parse_err("x in (b,-a)");
        assert!(
            err.starts_with(&format!("{pre} values[0][x]: Invalid value: \"-a\"")),
            "{err}"
        );
        let long = "v".repeat(64);
        assert_eq!(
            parse_err(&format!("x={long}")),
            format!("{pre} values[0][x]: Invalid value: \"{long}\": must be no more than 63 bytes")
        );
    }

    // selector_test.go TestToString (`==` prints as stored; values print sorted).
    #[test]
    fn to_string() {
        use Operator::*;
        for (reqs, out) in [
            (
                [
                    req("x", In, "abc,def"),
                    req("y", NotIn, "jkl"),
                    req("z", Exists, ""),
                ],
                "x in (abc,def),y notin (jkl),z",
            ),
            (
                [
                    req("x", NotIn, "def,abc"),
                    req("y", NotEquals, "jkl"),
                    req("z", DoesNotExist, ""),
                ],
                "x notin (abc,def),y!=jkl,!z",
            ),
            (
                [
                    req("x", NotIn, "abc"),
                    req("y", In, "jkl,mno"),
                    Requirement::new("z", NotIn, [""]).unwrap(),
                ],
                "x notin (abc),y in (jkl,mno),z notin ()",
            ),
            (
                [
                    req("x", Equals, "abc"),
                    req("y", DoubleEquals, "jkl"),
                    req("z", NotEquals, "a"),
                ],
                "x=abc,y==jkl,z!=a",
            ),
            (
                [
                    req("x", GreaterThan, "2"),
                    req("y", LessThan, "8"),
                    req("z", Exists, ""),
                ],
                "x>2,y<8,z",
            ),
        ] {
            assert_eq!(Selector::from_requirements(reqs).to_string(), out);
        }
        let dup = Requirement::new("x", In, ["", "b", "a", "b"]).unwrap();
        assert_eq!(dup.to_string(), "x in (,a,b)");
    }

    // selector_test.go TestRequirementSelectorMatching
    #[test]
    fn requirement_selector_matching() {
        use Operator::*;
        for (labels, reqs, expected) in [
            (
                "x=foo y=baz",
                [req("x", In, "foo"), req("y", NotIn, "alpha")],
                true,
            ),
            (
                "x=foo y=baz",
                [req("x", In, "foo"), req("y", In, "alpha")],
                false,
            ),
            (
                "y=",
                [
                    Requirement::new("x", NotIn, [""]).unwrap(),
                    req("y", Exists, ""),
                ],
                true,
            ),
            (
                "y=",
                [req("x", DoesNotExist, ""), req("y", Exists, "")],
                true,
            ),
            (
                "y=",
                [
                    Requirement::new("x", NotIn, [""]).unwrap(),
                    req("y", DoesNotExist, ""),
                ],
                false,
            ),
            (
                "y=baz",
                [
                    Requirement::new("x", In, [""]).unwrap(),
                    req("y", Exists, ""),
                ],
                false,
            ),
            (
                "z=2",
                [req("z", GreaterThan, "1"), req("z", Exists, "")],
                true,
            ),
            (
                "z=v2",
                [req("z", GreaterThan, "1"), req("z", Exists, "")],
                false,
            ),
        ] {
            let selector = Selector::from_requirements(reqs);
            assert_eq!(
                selector.matches(&set(labels)),
                expected,
                "{selector} on {labels}"
            );
        }
    }

    // selector_test.go TestSetSelectorParser: input and the canonical form of what it parses to.
    #[test]
    fn set_selector_parser() {
        for (input, expected) in [
            ("\rx", "x"),
            (
                "this-is-a-dns.domain.com/key-with-dash",
                "this-is-a-dns.domain.com/key-with-dash",
            ),
            ("a.io/key in (so,what)", "a.io/key in (so,what)"),
            (
                "0.1.2.domain/99 notin (10.10.100.1, tick.tack)",
                "0.1.2.domain/99 notin (10.10.100.1,tick.tack)",
            ),
            ("foo  in\t (abc)", "foo in (abc)"),
            ("x notin\n (abc)", "x notin (abc)"),
            ("x  notin\t\t\t(def,abc)", "x notin (abc,def)"),
            ("x in (abc,)", "x in (,abc)"),
            ("x in ()", "x in ()"),
            (
                "x notin (abc,def),bar,z in (),w",
                "bar,w,x notin (abc,def),z in ()",
            ),
            ("x,y in (a)", "x,y in (a)"),
            (
                "x>1,x<7,y=a,y!=b,z in (j,i,h)",
                "x>1,x<7,y=a,y!=b,z in (h,i,j)",
            ),
            ("x notin ( )", "x notin ()"),
            ("x notin (, a)", "x notin (,a)"),
            ("x in (a,,b)", "x in (,a,b)"),
            ("x in (a,a,b,a)", "x in (a,b)"),
            ("a ", "a"),
            ("a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)"), // operator 'in' inside the list
            ("in in (in), notin=notin, !in", "in in (in),!in,notin=notin"),
            ("x == y", "x==y"),
            ("x>007", "x>007"),
            ("x=a,x=a", "x=a,x=a"),
        ] {
            assert_eq!(canonical(input), expected, "{input:?}");
        }
        for bad in "x=a||y=b;,x,y;x nott in (y);a in (xyz),;a in (xyz)b notin ();a (;(".split(';') {
            assert!(Selector::parse(bad).is_err(), "{bad:?}");
        }
        for bad in ["a in (xyz abc)", "a notin("] {
            assert!(Selector::parse(bad).is_err(), "{bad:?}");
        }
        let parsed = Selector::parse("x=a,y==b").unwrap();
        let ops: Vec<Operator> = parsed
            .requirements()
            .iter()
            .map(Requirement::operator)
            .collect();
        assert_eq!(ops, [Operator::Equals, Operator::DoubleEquals]);
    }

    fn expr(key: &str, op: &str, values: &[&str]) -> (String, String, Vec<String>) {
        (s(key), s(op), values.iter().map(|v| s(v)).collect())
    }

    // metav1.LabelSelectorAsSelector: matchLabels and matchExpressions ANDed, sorted by key.
    #[test]
    fn from_label_selector() {
        let exprs = [
            expr("tier", "In", &["web", "api"]),
            expr("env", "NotIn", &["dev"]),
            expr("canary", "DoesNotExist", &[]),
            expr("app", "Exists", &[]),
        ];
        let selector = Selector::from_label_selector(&set("app=shop"), &exprs).unwrap();
        assert_eq!(
            selector.to_string(),
            "app=shop,app,!canary,env notin (dev),tier in (api,web)"
        );
        assert!(selector.matches(&set("app=shop tier=web")));
        assert!(!selector.matches(&set("app=shop tier=web canary=")));
        assert!(!selector.matches(&set("app=shop tier=db")));

        let none = Labels::new();
        let err = Selector::from_label_selector(&none, &[expr("app", "Equals", &["x"])]);
        let err = err.unwrap_err();
        assert_eq!(
            err,
            SelectorError::UnknownOperator {
                operator: s("Equals")
            }
        );
        assert_eq!(
            err.to_string(),
            "\"Equals\" is not a valid pod selector operator"
        );
        // The operator is checked before NewRequirement validates the key.
        let err = Selector::from_label_selector(&none, &[expr("-bad", "in", &[])]).unwrap_err();
        assert!(matches!(err, SelectorError::UnknownOperator { .. }));
        let err = Selector::from_label_selector(&none, &[expr("app", "In", &[])]).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("for 'in', 'notin' operators, values set can't be empty")
        );
        assert!(Selector::from_label_selector(&none, &[expr("app", "Exists", &["x"])]).is_err());
    }

    // RequiresExactMatch: =, == and single-value in requirements give a candidate (key, value).
    #[test]
    fn equality_pairs_and_accessors() {
        use Operator::*;
        let selector =
            Selector::parse("a=1,b==2,c in (3),d in (4,5),e!=6,f,g notin (7),h>8").unwrap();
        let pairs: Vec<(&str, &str)> = selector.equality_pairs().collect();
        assert_eq!(pairs, [("a", "1"), ("b", "2"), ("c", "3")]);
        assert_eq!(Selector::everything().equality_pairs().count(), 0);
        let r = &selector.requirements()[6];
        assert_eq!(
            (r.key(), r.operator(), r.values()),
            ("g", NotIn, &[s("7")][..])
        );
        let ops = [
            Equals,
            DoubleEquals,
            NotEquals,
            In,
            NotIn,
            Exists,
            DoesNotExist,
            GreaterThan,
        ];
        let strs: Vec<&str> = ops.iter().chain(&[LessThan]).map(|o| o.as_str()).collect();
        assert_eq!(strs.join(" "), "= == != in notin exists ! gt lt");
    }

    // ---- property tests ----

    fn key_strategy() -> impl Strategy<Value = String> {
        let name = "[A-Za-z0-9]([-A-Za-z0-9_.]{0,8}[A-Za-z0-9])?";
        let prefix = "[a-z0-9]([-a-z0-9]{0,4}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,4}[a-z0-9])?){0,2}";
        prop_oneof![
            6 => name.prop_map(String::from),
            3 => (prefix, name).prop_map(|(p, n)| format!("{p}/{n}")),
            1 => prop_oneof![Just("in"), Just("notin"), Just("a")].prop_map(String::from),
        ]
    }

    fn value_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => "[A-Za-z0-9]([-A-Za-z0-9_.]{0,8}[A-Za-z0-9])?".prop_map(String::from),
            1 => prop_oneof![Just(""), Just("in"), Just("notin")].prop_map(String::from),
        ]
    }

    fn requirement_strategy() -> impl Strategy<Value = Requirement> {
        use Operator::*;
        let ops = vec![
            Equals,
            DoubleEquals,
            NotEquals,
            In,
            NotIn,
            Exists,
            DoesNotExist,
        ];
        let op = prop::sample::select([ops, vec![GreaterThan, LessThan]].concat());
        let values = prop::collection::vec(value_strategy(), 1..4);
        (key_strategy(), op, values, "[0-9]{1,18}").prop_map(|(key, op, values, int)| {
            let values = match op {
                In | NotIn => values,
                Equals | DoubleEquals | NotEquals => values[..1].to_vec(),
                Exists | DoesNotExist => Vec::new(),
                GreaterThan | LessThan => vec![int],
            };
            Requirement::new(key, op, values).unwrap()
        })
    }

    fn selector_strategy() -> impl Strategy<Value = Selector> {
        prop::collection::vec(requirement_strategy(), 0..6).prop_map(Selector::from_requirements)
    }

    /// The selector written with `ws` around every token.
    fn spaced(selector: &Selector, ws: &str) -> String {
        let parts: Vec<String> = selector
            .requirements()
            .iter()
            .map(|r| {
                let (k, v) = (r.key(), r.values().join(&format!("{ws},{ws}")));
                match r.operator() {
                    Operator::Exists => format!("{ws}{k}{ws}"),
                    Operator::DoesNotExist => format!("{ws}!{ws}{k}{ws}"),
                    op @ (Operator::In | Operator::NotIn) => {
                        format!("{ws}{k} {ws}{op}{ws} ({ws}{v}{ws}){ws}")
                    }
                    Operator::GreaterThan => format!("{ws}{k}{ws}>{ws}{v}{ws}"),
                    Operator::LessThan => format!("{ws}{k}{ws}<{ws}{v}{ws}"),
                    op => format!("{ws}{k}{ws}{op}{ws}{v}{ws}"),
                }
            })
            .collect();
        parts.join(",")
    }

    proptest! {
        // labels.Parse(sel.String()) gives sel back, and printing is a fixed point.
        #[test]
        fn print_parse_round_trip(selector in selector_strategy()) {
            let printed = selector.to_string();
            let parsed = Selector::parse(&printed);
            prop_assert_eq!(parsed.as_ref(), Ok(&selector), "{}", printed);
            let reprinted = parsed.unwrap().to_string();
            prop_assert_eq!(&reprinted, &printed);
            prop_assert_eq!(Selector::parse(&reprinted), Ok(selector));
        }

        // The lexer skips ' ', '\t', '\r', '\n' around every token.
        #[test]
        fn whitespace_is_insignificant(selector in selector_strategy(), ws in "[ \t\r\n]{1,3}") {
            let text = spaced(&selector, &ws);
            prop_assert_eq!(Selector::parse(&text), Ok(selector), "{:?}", text);
        }

        // Parsing never panics, and whatever parses prints to a string that parses back to it.
        #[test]
        fn parse_arbitrary_strings(input in prop_oneof![
            any::<String>(),
            "[a-c!=<>(), \t\0-]{0,24}",
            "(in|notin|[ax]|[=!<>(),]| |1){0,14}",
        ]) {
            if let Ok(selector) = Selector::parse(&input) {
                prop_assert_eq!(Selector::parse(&selector.to_string()), Ok(selector));
            }
        }

        // SelectorFromSet(labels) matches the labels and every superset of them.
        #[test]
        fn map_selector_matches_its_labels(
            labels in prop::collection::btree_map(key_strategy(), value_strategy(), 0..5),
            extra in key_strategy(),
        ) {
            let labels: Labels = labels.into_iter().collect();
            let selector = Selector::from_map(&labels).unwrap();
            prop_assert!(selector.matches(&labels));
            let mut superset = labels.clone();
            if !superset.contains_key(&extra) {
                superset.insert(extra, s("x"));
            }
            prop_assert!(selector.matches(&superset));
            prop_assert_eq!(selector.equality_pairs().count(), labels.len());
        }
    }
}
