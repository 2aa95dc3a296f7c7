//! Diagnostics: errors and warnings that name the file, line, column and field they are about.
//!
//! Messages follow the API server's field errors (`spec.ports[0].port: Invalid value: 0: must be
//! between 1 and 65535, inclusive`), so what a user reads here is what `kubectl apply` would say.
//!
//! Messages quote the input, and the input may be hostile: a word longer than
//! [`MAX_WORD_CHARS`] characters (a 10 MB `metadata.name`) is shortened to its start and end
//! with its length, and a message stays under about [`MAX_MESSAGE_CHARS`] characters.
//!
//! Every message is also kept structured, as a [`Msg`]: a static English template with `{}`
//! holes and its arguments (names, addresses, field paths, numbers, or other messages), made
//! with the [`msg!`](crate::msg) macro at each site. Its English rendering is the message; a
//! front end renders the same `Msg` through its own catalogue of templates (the playground's
//! Chinese), keeping the arguments as they are.

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::fmt::Write as _;

/// Longest run of non-space characters a message shows in full.
pub const MAX_WORD_CHARS: usize = 256;
/// Longest message shown in full; longer ones keep their start and end.
pub const MAX_MESSAGE_CHARS: usize = 4096;

/// Where something was written: a file (as the user named it) and a 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Loc {
    /// The file, as given on the command line (`-` for standard input).
    pub file: Arc<str>,
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub col: u32,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The input cannot be planned.
    Error,
    /// The input was planned, but something was skipped or looks wrong.
    Warning,
}

/// What kind of problem a diagnostic reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// The text is not YAML or JSON.
    Syntax,
    /// A field the Kubernetes API does not know (strict field validation).
    UnknownField,
    /// A value of the wrong type (a number where a string is expected, …).
    Type,
    /// A value the API server's validation rejects.
    Invalid,
    /// A required field is missing.
    Required,
    /// Two objects claim the same thing (a clusterIP, a nodePort, a name).
    Conflict,
    /// An object of a kind svcroute does not read.
    SkippedKind,
    /// Anything else worth telling the user.
    Note,
}

/// One error or warning.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The category.
    pub kind: Kind,
    /// Where, when known.
    pub loc: Option<Loc>,
    /// The message, starting with the object it is about when there is one.
    pub message: String,
    /// The same message, structured (its English rendering is `message` before shortening).
    pub text: Msg,
}

impl Diagnostic {
    /// An error.
    pub fn error(kind: Kind, loc: Option<Loc>, message: impl Into<Msg>) -> Self {
        let text = message.into();
        Diagnostic {
            severity: Severity::Error,
            kind,
            loc,
            message: shorten(text.to_string()),
            text,
        }
    }

    /// A warning.
    pub fn warning(kind: Kind, loc: Option<Loc>, message: impl Into<Msg>) -> Self {
        let text = message.into();
        Diagnostic {
            severity: Severity::Warning,
            kind,
            loc,
            message: shorten(text.to_string()),
            text,
        }
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A message kept structured: what a front end needs to say it in another language.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Msg {
    /// A static English template (`{}` marks each argument, `{{`/`}}` a brace) and its
    /// arguments, in order. Made by [`msg!`](crate::msg). A translated template may also
    /// name an argument by its index, `{0}`, to put the arguments in another order.
    Template(&'static str, Vec<Arg>),
    /// Messages joined by a separator (`"; "`, as Kubernetes joins a field's several errors).
    Join(Vec<Msg>, &'static str),
    /// Text with no template (not translatable; a front end shows it as it is).
    Raw(String),
}

/// One argument of a [`Msg::Template`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Arg {
    /// A value kept in every language: a name, an address, a field path, a number.
    Plain(String),
    /// A message of its own, rendered in the same language as the whole.
    Msg(Msg),
}

impl Msg {
    /// The message rendered with `lookup` giving each English template's replacement (`None`:
    /// the English template) and `plain` rendering each plain argument.
    pub fn render_with(
        &self,
        lookup: &dyn Fn(&'static str) -> Option<&'static str>,
        plain: &dyn Fn(&str, &mut String),
        out: &mut String,
    ) {
        match self {
            Msg::Raw(s) => out.push_str(s),
            Msg::Join(parts, sep) => {
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        out.push_str(lookup(sep).unwrap_or(sep));
                    }
                    p.render_with(lookup, plain, out);
                }
            }
            Msg::Template(t, args) => {
                let template = lookup(t).unwrap_or(t);
                let mut next = 0;
                let mut rest = template;
                while let Some(i) = rest.find(['{', '}']) {
                    out.push_str(&rest[..i]);
                    let tail = &rest[i..];
                    // `{}`: the next argument; `{N}`: argument N (a translation may reorder).
                    let hole = tail.strip_prefix('{').and_then(|t| {
                        let end = t.find('}')?;
                        let n = &t[..end];
                        (n.is_empty() || n.bytes().all(|b| b.is_ascii_digit()))
                            .then(|| (n.parse::<usize>().ok(), end + 2))
                    });
                    if tail.starts_with("{{") || tail.starts_with("}}") {
                        out.push_str(&tail[..1]);
                        rest = &tail[2..];
                    } else if let Some((index, len)) = hole {
                        let k = index.unwrap_or_else(|| {
                            next += 1;
                            next - 1
                        });
                        match args.get(k) {
                            Some(Arg::Plain(s)) => plain(s, out),
                            Some(Arg::Msg(m)) => m.render_with(lookup, plain, out),
                            None => {}
                        }
                        rest = &tail[len..];
                    } else {
                        out.push_str(&tail[..1]);
                        rest = &tail[1..];
                    }
                }
                out.push_str(rest);
            }
        }
    }

    /// Each template this message uses, its arguments' included.
    pub fn templates(&self, out: &mut Vec<&'static str>) {
        match self {
            Msg::Raw(_) => {}
            Msg::Join(parts, _) => parts.iter().for_each(|p| p.templates(out)),
            Msg::Template(t, args) => {
                out.push(t);
                for a in args {
                    if let Arg::Msg(m) = a {
                        m.templates(out);
                    }
                }
            }
        }
    }

    /// Whether this message (or one of its argument messages) is [`Msg::Raw`].
    pub fn has_raw(&self) -> bool {
        match self {
            Msg::Raw(_) => true,
            Msg::Join(parts, _) => parts.iter().any(Msg::has_raw),
            Msg::Template(_, args) => args.iter().any(|a| matches!(a, Arg::Msg(m) if m.has_raw())),
        }
    }

    /// `parts` joined by `sep`; a single part is itself.
    pub fn join(mut parts: Vec<Msg>, sep: &'static str) -> Msg {
        if parts.len() == 1 {
            parts.remove(0)
        } else {
            Msg::Join(parts, sep)
        }
    }
}

/// The English rendering.
impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.render_with(&|_| None, &|s, out| out.push_str(s), &mut out);
        f.write_str(&out)
    }
}

/// The empty message (an absent hint).
impl Default for Msg {
    fn default() -> Self {
        Msg::Join(Vec::new(), "")
    }
}

impl From<String> for Msg {
    fn from(s: String) -> Self {
        Msg::Raw(s)
    }
}

impl From<&str> for Msg {
    fn from(s: &str) -> Self {
        Msg::Raw(s.into())
    }
}

/// `msg!`'s argument wrapper: a [`Msg`] argument stays a message ([`MsgArg`]), anything else
/// that is `Display` becomes plain text ([`PlainArg`]) — chosen by method resolution (autoref).
#[doc(hidden)]
pub struct ArgOf<'a, T: ?Sized>(pub &'a T);

#[doc(hidden)]
pub trait MsgArg {
    fn to_arg(&self) -> Arg;
}

impl MsgArg for ArgOf<'_, Msg> {
    fn to_arg(&self) -> Arg {
        Arg::Msg(self.0.clone())
    }
}

#[doc(hidden)]
pub trait PlainArg {
    fn to_arg(&self) -> Arg;
}

impl<T: fmt::Display + ?Sized> PlainArg for &ArgOf<'_, T> {
    fn to_arg(&self) -> Arg {
        Arg::Plain(self.0.to_string())
    }
}

#[doc(hidden)]
pub fn args<const N: usize>(a: [Arg; N]) -> Vec<Arg> {
    a.into()
}

/// A [`Msg`] from a static English template with `{}` holes and its arguments (each
/// `Display`; a `Msg` argument stays structured): `msg!("{}: must be unique", path)`.
/// The template must be a string literal: the playground's catalogue test finds every one
/// by scanning the core's sources for `msg!(`.
#[macro_export]
macro_rules! msg {
    ($t:literal $(, $a:expr)* $(,)?) => {{
        #[allow(unused_imports)]
        use $crate::diag::{MsgArg as _, PlainArg as _};
        $crate::diag::Msg::Template($t, $crate::diag::args([$((&$crate::diag::ArgOf(&$a)).to_arg()),*]))
    }};
}

/// A message with over-long words and an over-long whole cut down (see the module doc).
pub fn shorten(message: String) -> String {
    if message.len() <= MAX_WORD_CHARS {
        return message;
    }
    let mut out = String::new();
    for (i, word) in message.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let chars = word.chars().count();
        if chars > MAX_WORD_CHARS {
            let head: String = word.chars().take(64).collect();
            let tail: String = word.chars().skip(chars - 16).collect();
            let _ = write!(out, "{head}…({chars} characters)…{tail}");
        } else {
            out.push_str(word);
        }
    }
    let chars = out.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        let head: String = out.chars().take(MAX_MESSAGE_CHARS / 2).collect();
        let tail: String = out.chars().skip(chars - MAX_MESSAGE_CHARS / 4).collect();
        let omitted = chars - MAX_MESSAGE_CHARS / 2 - MAX_MESSAGE_CHARS / 4;
        out = alloc::format!("{head} … ({omitted} characters left out) … {tail}");
    }
    out
}

/// `LOC: message` (or just the message when the location is unknown), without the severity.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.loc {
            Some(loc) => write!(f, "{loc}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl core::error::Error for Diagnostic {}

/// The errors of an input that cannot be planned (at least one), with the warnings seen so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Errors(pub Vec<Diagnostic>);

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().filter(|d| d.is_error()).enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl core::error::Error for Errors {}
