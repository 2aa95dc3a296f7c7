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

use alloc::{collections::BTreeMap, format, string::String, vec, vec::Vec};
use core::fmt::{self, Write as _};

use crate::validation;

/// A set of labels: key to value, as in `metadata.labels`.
pub type Labels = BTreeMap<String, String>;

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
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SelectorError {
    /// `labels.Parse` met a token its grammar does not allow there. `message` is Go's text,
    /// including its `unable to parse requirement: ` prefix where Go adds one; `position` is the
    /// byte offset of the offending token in the input (Kubernetes does not report it).
    Syntax {
        /// The error text, as Kubernetes words it.
        message: String,
        /// Byte offset of the offending token.
        position: usize,
    },
    /// `labels.NewRequirement` (or, while parsing, `validateLabelKey`) rejected a requirement.
    /// `errors` are the field errors (`key: Invalid value: "…": …`); `position` is the byte
    /// offset of the requirement when it came from [`Selector::parse`], whose errors Go prefixes
    /// with `unable to parse requirement: `.
    InvalidRequirement {
        /// Each field error's text, duplicates removed as `ErrorList.ToAggregate` does.
        errors: Vec<String>,
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

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectorError::Syntax { message, .. } => f.write_str(message),
            SelectorError::InvalidRequirement { errors, position } => {
                if position.is_some() {
                    f.write_str("unable to parse requirement: ")?;
                }
                // utilerrors.aggregate.Error: one error alone, several as "[a, b]".
                match errors.as_slice() {
                    [one] => f.write_str(one),
                    many => write!(f, "[{}]", many.join(", ")),
                }
            }
            SelectorError::UnknownOperator { operator } => {
                write!(
                    f,
                    "{} is not a valid pod selector operator",
                    go_quote(operator)
                )
            }
        }
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
        let key = key.into();
        let mut values: Vec<String> = values.into_iter().map(Into::into).collect();
        let mut errors: Vec<String> = Vec::new();
        let mut push = |e: String| {
            if !errors.contains(&e) {
                errors.push(e);
            }
        };
        if let Err(msg) = validation::qualified_name(&key) {
            push(format!("key: Invalid value: {}: {msg}", go_quote(&key)));
        }
        let invalid_values = |detail: &str| {
            format!(
                "values: Invalid value: {}: {detail}",
                go_string_slice(&values)
            )
        };
        match operator {
            Operator::In | Operator::NotIn if values.is_empty() => {
                push(invalid_values(
                    "for 'in', 'notin' operators, values set can't be empty",
                ));
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals
                if values.len() != 1 =>
            {
                push(invalid_values(
                    "exact-match compatibility requires one single value",
                ));
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                push(invalid_values(
                    "values set must be empty for exists and does not exist",
                ));
            }
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    push(invalid_values(
                        "for 'Gt', 'Lt' operators, exactly one value is required",
                    ));
                }
                for (i, v) in values.iter().enumerate() {
                    if v.parse::<i64>().is_err() {
                        push(format!(
                            "values[{i}]: Invalid value: {}: for 'Gt', 'Lt' operators, the value must be an integer",
                            go_quote(v)
                        ));
                    }
                }
            }
            _ => {}
        }
        for (i, v) in values.iter().enumerate() {
            if let Err(msg) = validation::label_value(v) {
                push(format!(
                    "values[{i}][{key}]: Invalid value: {}: {msg}",
                    go_quote(v)
                ));
            }
        }
        if !errors.is_empty() {
            return Err(SelectorError::InvalidRequirement {
                errors,
                position: None,
            });
        }
        values.sort_unstable();
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
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
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
    /// validated (`labels.ValidatedSelectorFromSet`; kube-proxy's controllers use the unvalidated
    /// `SelectorFromValidatedSet` on objects the API server already checked, with the same
    /// result). An empty map gives [`Selector::everything`]; note that Kubernetes manages no
    /// endpoints at all for a Service without a selector, which the caller must check first.
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

fn syntax(in_requirement: bool, item: Item<'_>, expected: &str) -> SelectorError {
    let prefix = if in_requirement {
        "unable to parse requirement: "
    } else {
        ""
    };
    SelectorError::Syntax {
        message: format!("{prefix}found '{}'{expected}", item.lit),
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
                                    ", expected: identifier after ','",
                                ));
                            }
                        }
                        _ => return Err(syntax(false, next, ", expected: ',' or 'end of string'")),
                    }
                }
                Token::EndOfString => return Ok(requirements),
                _ => {
                    return Err(syntax(
                        false,
                        item,
                        ", expected: !, identifier, or 'end of string'",
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
        values.sort_unstable();
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
            return Err(syntax(true, item, ", expected: identifier"));
        }
        if let Err(msg) = validation::qualified_name(item.lit) {
            let error = format!("<nil>: Invalid value: {}: {msg}", go_quote(item.lit));
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
                    ", expected: in, notin, =, ==, !=, gt, lt",
                ));
            }
        })
    }

    /// `(a,b)`, where empty entries stand for the empty value: `()`, `(,a)`, `(a,)`, `(a,,b)`.
    fn parse_values(&mut self) -> Result<Vec<&'a str>, SelectorError> {
        let item = self.consume(Context::Values);
        if item.tok != Token::OpenPar {
            return Err(syntax(true, item, " expected: '('"));
        }
        let item = self.lookahead(Context::Values);
        match item.tok {
            Token::Identifier | Token::Comma => {
                let values = self.parse_identifiers_list()?;
                if self.consume(Context::Values).tok != Token::ClosedPar {
                    // Go reports the token after '(' here; parse_identifiers_list only returns
                    // before a ')', so this cannot happen.
                    return Err(syntax(true, item, ", expected: ')'"));
                }
                Ok(values)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(vec![""])
            }
            _ => Err(syntax(true, item, ", expected: ',', ')' or identifier")),
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
                        _ => return Err(syntax(true, next, ", expected: ',' or ')'")),
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
                _ => return Err(syntax(true, item, ", expected: ',', or identifier")),
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
            Err(syntax(true, item, ", expected: identifier"))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use proptest::prelude::*;

    const NONE: [&str; 0] = [];

    fn set(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn req(key: &str, op: Operator, values: &[&str]) -> Requirement {
        Requirement::new(key, op, values.iter().copied()).unwrap()
    }

    fn sel(reqs: &[Requirement]) -> Selector {
        Selector::from_requirements(reqs.iter().cloned())
    }

    fn parse_err(s: &str) -> String {
        Selector::parse(s).unwrap_err().to_string()
    }

    fn tokens(s: &str) -> Vec<Token> {
        let mut items = lex(s);
        items.pop(); // EndOfString
        items.iter().map(|i| i.tok).collect()
    }

    // selector_test.go TestSelectorParse: good strings print back without their spaces.
    #[test]
    fn selector_parse_good_and_bad() {
        for good in [
            "x=a,y=b,z=c",
            "",
            "x!=a,y=b",
            "x=",
            "x= ",
            "x=,z= ",
            "x= ,z= ",
            "!x",
            "x>1",
            "x>1,z<5",
        ] {
            let parsed = Selector::parse(good).unwrap();
            assert_eq!(parsed.to_string(), good.replace(' ', ""), "{good:?}");
        }
        for bad in ["x=a||y=b", "x==a==b", "!x=a", "x<a"] {
            assert!(Selector::parse(bad).is_err(), "{bad:?}");
        }
    }

    // selector_test.go TestDeterministicParse: requirements are sorted by key.
    #[test]
    fn deterministic_parse() {
        assert_eq!(
            Selector::parse("x=a,a=x").unwrap(),
            Selector::parse("a=x,x=a").unwrap()
        );
        assert_eq!(Selector::parse("x=a,a=x").unwrap().to_string(), "a=x,x=a");
    }

    // selector_test.go TestEverything / TestSetIsEmpty: the empty selector matches all.
    #[test]
    fn everything() {
        assert!(Selector::everything().matches(&set(&[("x", "y")])));
        assert!(Selector::everything().is_empty());
        assert_eq!(Selector::parse("").unwrap(), Selector::everything());
        assert_eq!(Selector::parse(" \t\r\n").unwrap(), Selector::everything());
        assert_eq!(
            Selector::from_map(&Labels::new()).unwrap(),
            Selector::everything()
        );
        assert_eq!(
            Selector::from_label_selector(&Labels::new(), &[]).unwrap(),
            Selector::everything()
        );
    }

    // selector_test.go TestSelectorMatches
    #[test]
    fn selector_matches() {
        let yes = |s: &str, l: &[(&str, &str)]| {
            assert!(Selector::parse(s).unwrap().matches(&set(l)), "{s}")
        };
        let no = |s: &str, l: &[(&str, &str)]| {
            assert!(!Selector::parse(s).unwrap().matches(&set(l)), "{s}")
        };
        yes("", &[("x", "y")]);
        yes("x=y", &[("x", "y")]);
        yes("x=y,z=w", &[("x", "y"), ("z", "w")]);
        yes("x!=y,z!=w", &[("x", "z"), ("z", "a")]);
        yes("notin=in", &[("notin", "in")]); // in and notin in exactMatch
        yes("x", &[("x", "z")]);
        yes("!x", &[("y", "z")]);
        yes("x>1", &[("x", "2")]);
        yes("x<1", &[("x", "0")]);
        no("x=z", &[]);
        no("x=y", &[("x", "z")]);
        no("x=y,z=w", &[("x", "w"), ("z", "w")]);
        no("x!=y,z!=w", &[("x", "z"), ("z", "w")]);
        no("x", &[("y", "z")]);
        no("!x", &[("x", "z")]);
        no("x>1", &[("x", "0")]);
        no("x<1", &[("x", "2")]);
        let labelset = [("foo", "bar"), ("baz", "blah")];
        yes("foo=bar", &labelset);
        yes("baz=blah", &labelset);
        yes("foo=bar,baz=blah", &labelset);
        no("foo=blah", &labelset);
        no("baz=bar", &labelset);
        no("foo=bar,foobar=bar,baz=blah", &labelset);
    }

    // Requirement.Matches: a missing key matches != and notin and !, but not =, in, exists, gt, lt.
    #[test]
    fn missing_key_semantics() {
        let empty = Labels::new();
        for (s, expected) in [
            ("k!=v", true),
            ("k notin (v)", true),
            ("!k", true),
            ("k=v", false),
            ("k==v", false),
            ("k in (v)", false),
            ("k", false),
            ("k>1", false),
            ("k<1", false),
        ] {
            assert_eq!(Selector::parse(s).unwrap().matches(&empty), expected, "{s}");
        }
    }

    // Requirement.Matches for Gt/Lt: strconv.ParseInt of the label value; no match if it fails.
    #[test]
    fn greater_less_than_parse_the_label() {
        let gt = Selector::parse("z>1").unwrap();
        assert!(gt.matches(&set(&[("z", "2")])));
        assert!(gt.matches(&set(&[("z", "+2")])));
        assert!(gt.matches(&set(&[("z", "0002")])));
        assert!(!gt.matches(&set(&[("z", "v2")]))); // TestRequirementSelectorMatching
        assert!(!gt.matches(&set(&[("z", "")])));
        assert!(!gt.matches(&set(&[("z", "99999999999999999999")]))); // out of int64 range
        assert!(!gt.matches(&set(&[("z", "1")])));
        let lt = Selector::parse("z<0").unwrap();
        assert!(lt.matches(&set(&[("z", "-5")])));
        assert!(lt.matches(&set(&[("z", "-9223372036854775808")])));
        assert!(!lt.matches(&set(&[("z", "0")])));
    }

    // selector_test.go TestSetMatches: SelectorFromSet matches supersets of the set.
    #[test]
    fn set_matches() {
        let labelset = set(&[("foo", "bar"), ("baz", "blah")]);
        for s in [
            &[][..],
            &[("foo", "bar")],
            &[("baz", "blah")],
            &[("foo", "bar"), ("baz", "blah")],
        ] {
            assert!(Selector::from_map(&set(s)).unwrap().matches(&labelset));
        }
        assert!(
            !Selector::from_map(&set(&[("foo", "bar"), ("x", "y")]))
                .unwrap()
                .matches(&labelset)
        );
        let s = Selector::from_map(&set(&[("b", "2"), ("a", "1")])).unwrap();
        assert_eq!(s.to_string(), "a=1,b=2");
        assert_eq!(s.requirements()[0].operator(), Operator::Equals);
    }

    // ValidatedSelectorFromSet: NewRequirement validation of every entry.
    #[test]
    fn from_map_validates() {
        let err = Selector::from_map(&set(&[("app", "bad value")])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("values[0][app]: Invalid value: \"bad value\": a valid label must be"),
            "{err}"
        );
        assert_eq!(err.position(), None);
        let err = Selector::from_map(&set(&[("-app", "x")])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("key: Invalid value: \"-app\": name part must consist"),
            "{err}"
        );
    }

    // selector_test.go TestLexer: Lex returns the longest valid token.
    #[test]
    fn lexer() {
        for (s, t) in [
            ("", Token::EndOfString),
            (",", Token::Comma),
            ("notin", Token::NotIn),
            ("in", Token::In),
            ("=", Token::Equals),
            ("==", Token::DoubleEquals),
            (">", Token::GreaterThan),
            ("<", Token::LessThan),
            ("!", Token::DoesNotExist),
            ("!=", Token::NotEquals),
            ("(", Token::OpenPar),
            (")", Token::ClosedPar),
            ("~", Token::Identifier),
            ("||", Token::Identifier),
        ] {
            let item = Lexer { s, pos: 0 }.lex();
            assert_eq!((item.tok, item.lit), (t, s), "{s:?}");
        }
    }

    // selector_test.go TestLexerSequence / TestParserLookahead
    #[test]
    fn lexer_sequence() {
        use Token::*;
        for (s, expected) in [
            (
                "key in ( value )",
                &[Identifier, In, OpenPar, Identifier, ClosedPar][..],
            ),
            (
                "key notin ( value )",
                &[Identifier, NotIn, OpenPar, Identifier, ClosedPar],
            ),
            (
                "key in ( value1, value2 )",
                &[
                    Identifier, In, OpenPar, Identifier, Comma, Identifier, ClosedPar,
                ],
            ),
            ("key", &[Identifier]),
            ("!key", &[DoesNotExist, Identifier]),
            ("()", &[OpenPar, ClosedPar]),
            (
                "x in (),y",
                &[Identifier, In, OpenPar, ClosedPar, Comma, Identifier],
            ),
            (
                "== != (), = notin",
                &[
                    DoubleEquals,
                    NotEquals,
                    OpenPar,
                    ClosedPar,
                    Comma,
                    Equals,
                    NotIn,
                ],
            ),
            ("key>2", &[Identifier, GreaterThan, Identifier]),
            ("key<1", &[Identifier, LessThan, Identifier]),
            ("a!==b", &[Identifier, NotEquals, Equals, Identifier]),
            ("a===b", &[Identifier, DoubleEquals, Equals, Identifier]),
            ("a<=b", &[Identifier, LessThan, Equals, Identifier]),
        ] {
            assert_eq!(tokens(s), expected, "{s:?}");
        }
        let lits: Vec<&str> = lex("a.b/c-d in(x_y,é)").iter().map(|i| i.lit).collect();
        assert_eq!(lits, ["a.b/c-d", "in", "(", "x_y", ",", "é", ")", ""]);
    }

    // Lexer.read returns 0 for a NUL byte, which Lex then takes for the end of the string.
    #[test]
    fn nul_byte_ends_the_lexer_like_go() {
        assert_eq!(
            Selector::parse("x=a \0garbage ( ,").unwrap().to_string(),
            "x=a"
        );
        assert_eq!(Selector::parse("\0x").unwrap(), Selector::everything());
        // Inside an identifier the NUL is skipped and the next token starts after it.
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
            ("x", In, &[][..], false),
            ("x", NotIn, &[], false),
            ("x", In, &["foo"], true),
            ("x", NotIn, &["foo"], true),
            ("x", Exists, &[], true),
            ("x", DoesNotExist, &[], true),
            ("1foo", In, &["bar"], true),
            ("1234", In, &["bar"], true),
            ("y", GreaterThan, &["1"], true),
            ("z", LessThan, &["6"], true),
            ("foo", GreaterThan, &["bar"], false),
            ("barz", LessThan, &["blah"], false),
            (&long, Exists, &[], false),
            ("x", Equals, &["a", "b"], false),
            ("x", NotEquals, &[], false),
            ("x", Exists, &["a"], false),
            ("x", GreaterThan, &["1", "2"], false),
            ("x", GreaterThan, &["-1"], false), // an integer, but not a valid label value
            ("x", In, &["", "a"], true),
        ] {
            assert_eq!(
                Requirement::new(key, op, vals.iter().copied()).is_ok(),
                ok,
                "{key} {op} {vals:?}"
            );
        }
    }

    // NewRequirement: the field errors, all reported, deduplicated like ErrorList.ToAggregate.
    #[test]
    fn requirement_error_messages() {
        let err = Requirement::new("x", Operator::In, NONE).unwrap_err();
        assert_eq!(
            err.to_string(),
            "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"
        );
        let err = Requirement::new("x", Operator::GreaterThan, ["a", "1"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "[values: Invalid value: []string{\"a\", \"1\"}: for 'Gt', 'Lt' operators, exactly one value is required, \
             values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer]"
        );
        let err = Requirement::new("a/b/c", Operator::Equals, ["a b"]).unwrap_err();
        let SelectorError::InvalidRequirement {
            errors,
            position: None,
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(errors.len(), 2);
        assert!(
            errors[0].starts_with("key: Invalid value: \"a/b/c\": a valid label key must consist")
        );
        assert!(
            errors[1].starts_with("values[0][a/b/c]: Invalid value: \"a b\": a valid label must")
        );
        let err = Requirement::new("x", Operator::Exists, ["\"q\"\n"]).unwrap_err();
        assert!(err.to_string().starts_with(
            "[values: Invalid value: []string{\"\\\"q\\\"\\n\"}: values set must be empty for exists and does not exist, values[0][x]: Invalid value: \"\\\"q\\\"\\n\": a valid label"
        ), "{err}");
    }

    // labels.Parse error texts, "unable to parse requirement: " inside a requirement, and the
    // byte offset of the offending token.
    #[test]
    fn parse_error_messages() {
        for (input, message, position) in [
            (
                "(",
                "found '(', expected: !, identifier, or 'end of string'",
                0,
            ),
            (
                "a (",
                "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt",
                2,
            ),
            ("x,y", "", 0), // valid
            (
                ",x,y",
                "found ',', expected: !, identifier, or 'end of string'",
                0,
            ),
            ("a,", "found '', expected: identifier after ','", 2),
            ("a,,b", "found ',', expected: identifier after ','", 2),
            (
                "x nott in (y)",
                "unable to parse requirement: found 'nott', expected: in, notin, =, ==, !=, gt, lt",
                2,
            ),
            (
                "a in (xyz),",
                "found '', expected: identifier after ','",
                11,
            ),
            (
                "a in (xyz)b notin ()",
                "found 'b', expected: ',' or 'end of string'",
                10,
            ),
            (
                "a in (xyz abc)",
                "unable to parse requirement: found 'abc', expected: ',' or ')'",
                10,
            ),
            (
                "a notin(",
                "unable to parse requirement: found '', expected: ',', ')' or identifier",
                8,
            ),
            (
                "a in x",
                "unable to parse requirement: found 'x' expected: '('",
                5,
            ),
            (
                "a in (x,=)",
                "unable to parse requirement: found '=', expected: ',', or identifier",
                8,
            ),
            (
                "a in (x,,)",
                "unable to parse requirement: found ')', expected: ',', or identifier",
                9,
            ),
            (
                "a=(",
                "unable to parse requirement: found '(', expected: identifier",
                2,
            ),
            (
                "!",
                "unable to parse requirement: found '', expected: identifier",
                1,
            ),
            (
                "!=x",
                "found '!=', expected: !, identifier, or 'end of string'",
                0,
            ),
            ("x=a y=b", "found 'y', expected: ',' or 'end of string'", 4),
            ("x==a==b", "found '==', expected: ',' or 'end of string'", 4),
            ("!x=a", "found '=', expected: ',' or 'end of string'", 2),
        ] {
            match Selector::parse(input) {
                Ok(_) => assert_eq!(message, "", "{input:?} parsed"),
                Err(e) => {
                    assert_eq!(e.to_string(), message, "{input:?}");
                    assert_eq!(e.position(), Some(position), "{input:?}");
                }
            }
        }
    }

    // labels.Parse: invalid keys come from validateLabelKey with a nil path ("<nil>: …"),
    // invalid values from NewRequirement, both behind "unable to parse requirement: ".
    #[test]
    fn parse_validation_messages() {
        assert_eq!(
            parse_err("app:monolith"),
            "unable to parse requirement: <nil>: Invalid value: \"app:monolith\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        );
        let err = Selector::parse("ok, app.kubernetes_io/name=x").unwrap_err();
        assert!(err.to_string().starts_with("unable to parse requirement: <nil>: Invalid value: \"app.kubernetes_io/name\": prefix part a lowercase RFC 1123 subdomain"), "{err}");
        assert_eq!(err.position(), Some(4));
        assert_eq!(
            parse_err("x<a"),
            "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer"
        );
        // '|' is no special symbol, so "a||y" is one (invalid) value.
        assert!(parse_err("x=a||y=b").starts_with(
            "unable to parse requirement: values[0][x]: Invalid value: \"a||y\": a valid label"
        ));
        // Values are validated in sorted-set order, as Go's sets.String.List() hands them over.
        assert!(
            parse_err("x in (b,-a)")
                .starts_with("unable to parse requirement: values[0][x]: Invalid value: \"-a\"")
        );
        let long = "v".repeat(64);
        assert_eq!(
            parse_err(&format!("x={long}")),
            format!(
                "unable to parse requirement: values[0][x]: Invalid value: \"{long}\": must be no more than 63 bytes"
            )
        );
    }

    // selector_test.go TestToString (and `==` prints as stored).
    #[test]
    fn to_string() {
        use Operator::*;
        for (reqs, out) in [
            (
                vec![
                    req("x", In, &["abc", "def"]),
                    req("y", NotIn, &["jkl"]),
                    req("z", Exists, &[]),
                ],
                "x in (abc,def),y notin (jkl),z",
            ),
            (
                vec![
                    req("x", NotIn, &["abc", "def"]),
                    req("y", NotEquals, &["jkl"]),
                    req("z", DoesNotExist, &[]),
                ],
                "x notin (abc,def),y!=jkl,!z",
            ),
            (
                vec![
                    req("x", NotIn, &["abc"]),
                    req("y", In, &["jkl", "mno"]),
                    req("z", NotIn, &[""]),
                ],
                "x notin (abc),y in (jkl,mno),z notin ()",
            ),
            (
                vec![
                    req("x", Equals, &["abc"]),
                    req("y", DoubleEquals, &["jkl"]),
                    req("z", NotEquals, &["a"]),
                    req("z", Exists, &[]),
                ],
                "x=abc,y==jkl,z!=a,z",
            ),
            (
                vec![
                    req("x", GreaterThan, &["2"]),
                    req("y", LessThan, &["8"]),
                    req("z", Exists, &[]),
                ],
                "x>2,y<8,z",
            ),
            (vec![req("x", In, &["b", "a", "b"])], "x in (a,b)"),
        ] {
            assert_eq!(sel(&reqs).to_string(), out);
        }
    }

    // selector_test.go TestRequirementSelectorMatching
    #[test]
    fn requirement_selector_matching() {
        use Operator::*;
        let xy = set(&[("x", "foo"), ("y", "baz")]);
        let y_empty = set(&[("y", "")]);
        for (labels, reqs, expected) in [
            (
                &xy,
                vec![req("x", In, &["foo"]), req("y", NotIn, &["alpha"])],
                true,
            ),
            (
                &xy,
                vec![req("x", In, &["foo"]), req("y", In, &["alpha"])],
                false,
            ),
            (
                &y_empty,
                vec![req("x", NotIn, &[""]), req("y", Exists, &[])],
                true,
            ),
            (
                &y_empty,
                vec![req("x", DoesNotExist, &[]), req("y", Exists, &[])],
                true,
            ),
            (
                &y_empty,
                vec![req("x", NotIn, &[""]), req("y", DoesNotExist, &[])],
                false,
            ),
            (&set(&[("y", "baz")]), vec![req("x", In, &[""])], false),
            (
                &set(&[("z", "2")]),
                vec![req("z", GreaterThan, &["1"])],
                true,
            ),
            (
                &set(&[("z", "v2")]),
                vec![req("z", GreaterThan, &["1"])],
                false,
            ),
        ] {
            assert_eq!(sel(&reqs).matches(labels), expected, "{}", sel(&reqs));
        }
    }

    // selector_test.go TestSetSelectorParser
    #[test]
    fn set_selector_parser() {
        use Operator::*;
        for (input, expected) in [
            ("\rx", vec![req("x", Exists, &[])]),
            (
                "this-is-a-dns.domain.com/key-with-dash",
                vec![req("this-is-a-dns.domain.com/key-with-dash", Exists, &[])],
            ),
            (
                "this-is-another-dns.domain.com/key-with-dash in (so,what)",
                vec![req(
                    "this-is-another-dns.domain.com/key-with-dash",
                    In,
                    &["so", "what"],
                )],
            ),
            (
                "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
                vec![req(
                    "0.1.2.domain/99",
                    NotIn,
                    &["10.10.100.1", "tick.tack.clock"],
                )],
            ),
            ("foo  in\t (abc)", vec![req("foo", In, &["abc"])]),
            ("x notin\n (abc)", vec![req("x", NotIn, &["abc"])]),
            (
                "x  notin\t\t\t(abc,def)",
                vec![req("x", NotIn, &["abc", "def"])],
            ),
            ("x in (abc,def)", vec![req("x", In, &["abc", "def"])]),
            ("x in (abc,)", vec![req("x", In, &["abc", ""])]),
            ("x in ()", vec![req("x", In, &[""])]),
            (
                "x notin (abc,def),bar,z in (),w",
                vec![
                    req("bar", Exists, &[]),
                    req("w", Exists, &[]),
                    req("x", NotIn, &["abc", "def"]),
                    req("z", In, &[""]),
                ],
            ),
            (
                "x,y in (a)",
                vec![req("y", In, &["a"]), req("x", Exists, &[])],
            ),
            ("x=a", vec![req("x", Equals, &["a"])]),
            ("x>1", vec![req("x", GreaterThan, &["1"])]),
            ("x<7", vec![req("x", LessThan, &["7"])]),
            (
                "x=a,y!=b",
                vec![req("x", Equals, &["a"]), req("y", NotEquals, &["b"])],
            ),
            (
                "x=a,y!=b,z in (h,i,j)",
                vec![
                    req("x", Equals, &["a"]),
                    req("y", NotEquals, &["b"]),
                    req("z", In, &["h", "i", "j"]),
                ],
            ),
            ("x notin ( )", vec![req("x", NotIn, &[""])]),
            ("x notin (, a)", vec![req("x", NotIn, &["", "a"])]),
            ("x in (a,,b)", vec![req("x", In, &["", "a", "b"])]),
            ("a ", vec![req("a", Exists, &[])]),
            (
                "a in (x,y,notin, z,in)",
                vec![req("a", In, &["in", "notin", "x", "y", "z"])],
            ), // 'in' inside the list
            (
                "in in (in), notin=notin, !in",
                vec![
                    req("in", In, &["in"]),
                    req("in", DoesNotExist, &[]),
                    req("notin", Equals, &["notin"]),
                ],
            ),
            ("x == y", vec![req("x", DoubleEquals, &["y"])]),
            ("x>007", vec![req("x", GreaterThan, &["007"])]),
            (
                "x=a,x=a",
                vec![req("x", Equals, &["a"]), req("x", Equals, &["a"])],
            ),
        ] {
            assert_eq!(Selector::parse(input).unwrap(), sel(&expected), "{input:?}");
        }
        for bad in [
            "x=a||y=b",
            ",x,y",
            "x nott in (y)",
            "a in (xyz),",
            "a in (xyz)b notin ()",
            "a in (xyz abc)",
            "a notin(",
            "a (",
            "(",
        ] {
            assert!(Selector::parse(bad).is_err(), "{bad:?}");
        }
    }

    // metav1.LabelSelectorAsSelector: matchLabels and matchExpressions combined, sorted by key.
    #[test]
    fn from_label_selector() {
        let exprs = vec![
            (
                "tier".to_string(),
                "In".to_string(),
                vec!["web".to_string(), "api".to_string()],
            ),
            (
                "env".to_string(),
                "NotIn".to_string(),
                vec!["dev".to_string()],
            ),
            ("canary".to_string(), "DoesNotExist".to_string(), vec![]),
            ("app".to_string(), "Exists".to_string(), vec![]),
        ];
        let s = Selector::from_label_selector(&set(&[("app", "shop")]), &exprs).unwrap();
        assert_eq!(
            s.to_string(),
            "app=shop,app,!canary,env notin (dev),tier in (api,web)"
        );
        assert!(s.matches(&set(&[("app", "shop"), ("tier", "web")])));
        assert!(!s.matches(&set(&[("app", "shop"), ("tier", "web"), ("canary", "")])));
        assert!(!s.matches(&set(&[("app", "shop"), ("tier", "db")])));

        let bad = vec![(
            "app".to_string(),
            "Equals".to_string(),
            vec!["x".to_string()],
        )];
        let err = Selector::from_label_selector(&Labels::new(), &bad).unwrap_err();
        assert_eq!(
            err,
            SelectorError::UnknownOperator {
                operator: "Equals".to_string()
            }
        );
        assert_eq!(
            err.to_string(),
            "\"Equals\" is not a valid pod selector operator"
        );
        // The operator is checked before NewRequirement validates the key.
        let bad = vec![("-bad".to_string(), "in".to_string(), vec![])];
        assert!(matches!(
            Selector::from_label_selector(&Labels::new(), &bad),
            Err(SelectorError::UnknownOperator { .. })
        ));
        let empty_in = vec![("app".to_string(), "In".to_string(), vec![])];
        assert_eq!(
            Selector::from_label_selector(&Labels::new(), &empty_in)
                .unwrap_err()
                .to_string(),
            "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"
        );
        let exists_with_values = vec![(
            "app".to_string(),
            "Exists".to_string(),
            vec!["x".to_string()],
        )];
        assert!(Selector::from_label_selector(&Labels::new(), &exists_with_values).is_err());
    }

    // RequiresExactMatch: =, == and single-value in requirements give a candidate (key, value).
    #[test]
    fn equality_pairs() {
        let s = Selector::parse("a=1,b==2,c in (3),d in (4,5),e!=6,f,g notin (7),h>8").unwrap();
        let pairs: Vec<(&str, &str)> = s.equality_pairs().collect();
        assert_eq!(pairs, [("a", "1"), ("b", "2"), ("c", "3")]);
        assert_eq!(Selector::everything().equality_pairs().count(), 0);
    }

    #[test]
    fn accessors_and_operator_strings() {
        let r = req("k", Operator::NotIn, &["b", "a"]);
        assert_eq!(
            (r.key(), r.operator(), r.values()),
            (
                "k",
                Operator::NotIn,
                &["a".to_string(), "b".to_string()][..]
            )
        );
        let ops = [
            Operator::Equals,
            Operator::DoubleEquals,
            Operator::NotEquals,
            Operator::In,
            Operator::NotIn,
            Operator::Exists,
            Operator::DoesNotExist,
            Operator::GreaterThan,
            Operator::LessThan,
        ];
        let strs: Vec<&str> = ops.iter().map(|o| o.as_str()).collect();
        assert_eq!(
            strs,
            ["=", "==", "!=", "in", "notin", "exists", "!", "gt", "lt"]
        );
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
        let op = prop::sample::select(vec![
            Equals,
            DoubleEquals,
            NotEquals,
            In,
            NotIn,
            Exists,
            DoesNotExist,
            GreaterThan,
            LessThan,
        ]);
        (
            key_strategy(),
            op,
            prop::collection::vec(value_strategy(), 1..4),
            "[0-9]{1,18}",
        )
            .prop_map(|(key, op, values, int)| {
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

    /// The selector written with whitespace around every token.
    fn spaced(s: &Selector, ws: &str) -> String {
        let parts: Vec<String> = s
            .requirements()
            .iter()
            .map(|r| {
                let (k, v) = (r.key(), r.values().join(&format!("{ws},{ws}")));
                match r.operator() {
                    Operator::Exists => format!("{ws}{k}{ws}"),
                    Operator::DoesNotExist => format!("{ws}!{ws}{k}{ws}"),
                    Operator::In | Operator::NotIn => {
                        format!("{ws}{k} {ws}{}{ws} ({ws}{v}{ws}){ws}", r.operator())
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
        // labels.Parse(sel.String()) gives back sel, and printing is a fixed point.
        #[test]
        fn print_parse_round_trip(s in selector_strategy()) {
            let printed = s.to_string();
            let parsed = Selector::parse(&printed);
            prop_assert_eq!(parsed.as_ref(), Ok(&s), "{}", printed);
            let reprinted = parsed.unwrap().to_string();
            prop_assert_eq!(&reprinted, &printed);
            prop_assert_eq!(Selector::parse(&reprinted), Ok(s));
        }

        // The lexer skips ' ', '\t', '\r', '\n' around every token.
        #[test]
        fn whitespace_is_insignificant(s in selector_strategy(), ws in "[ \t\r\n]{1,3}") {
            let text = spaced(&s, &ws);
            prop_assert_eq!(Selector::parse(&text), Ok(s), "{:?}", text);
        }

        // Parsing never panics, and whatever parses prints to a string that parses to it again.
        #[test]
        fn parse_arbitrary_strings(input in prop_oneof![any::<String>(), "[a-c!=<>(), \t\0-]{0,24}", "(in|notin|[ax]|[=!<>(),]| |1){0,14}"]) {
            if let Ok(s) = Selector::parse(&input) {
                prop_assert_eq!(Selector::parse(&s.to_string()), Ok(s));
            }
        }

        // SelectorFromSet(labels) matches labels and every superset of them.
        #[test]
        fn map_selector_matches_its_own_labels(pairs in prop::collection::btree_map(key_strategy(), value_strategy(), 0..5), extra in key_strategy()) {
            let s = Selector::from_map(&pairs).unwrap();
            prop_assert!(s.matches(&pairs));
            let mut superset = pairs.clone();
            superset.entry(extra).or_insert_with(|| "x".to_string());
            prop_assert!(s.matches(&superset));
            prop_assert_eq!(s.equality_pairs().count(), pairs.len());
        }
    }
}
