//! Diagnostics: errors and warnings that name the file, line, column and field they are about.
//!
//! Messages follow the API server's field errors (`spec.ports[0].port: Invalid value: 0: must be
//! between 1 and 65535, inclusive`), so what a user reads here is what `kubectl apply` would say.

use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;

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
            message: message.into(),
        }
    }

    /// A warning.
    pub fn warning(kind: Kind, loc: Option<Loc>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            kind,
            loc,
            message: message.into(),
        }
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
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
