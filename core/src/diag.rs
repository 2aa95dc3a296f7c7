//! Diagnostics: errors and warnings that name the file, line, column and field they are about.
//!
//! Messages follow the API server's field errors (`spec.ports[0].port: Invalid value: 0: must be
//! between 1 and 65535, inclusive`), so what a user reads here is what `kubectl apply` would say.
//!
//! Messages quote the input, and the input may be hostile: a word longer than
//! [`MAX_WORD_CHARS`] characters (a 10 MB `metadata.name`) is shortened to its start and end
//! with its length, and a message stays under about [`MAX_MESSAGE_CHARS`] characters.

use alloc::string::String;
use alloc::sync::Arc;
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
}

impl Diagnostic {
    /// An error.
    pub fn error(kind: Kind, loc: Option<Loc>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            kind,
            loc,
            message: shorten(message.into()),
        }
    }

    /// A warning.
    pub fn warning(kind: Kind, loc: Option<Loc>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            kind,
            loc,
            message: shorten(message.into()),
        }
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
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
pub struct Errors(pub alloc::vec::Vec<Diagnostic>);

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
