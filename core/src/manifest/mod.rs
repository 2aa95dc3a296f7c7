//! Reading manifests: YAML or JSON text into checked [`Objects`](crate::model::Objects).
//!
//! Three steps, each reporting at the line and column of the offending text:
//! 1. [`yaml`]: text into a tree that remembers positions (syntax errors, duplicate keys);
//! 2. strict field validation against Kubernetes' own schema ([`schema`]): an unknown field is an
//!    error, as with `kubectl apply --validate=strict`;
//! 3. [`decode`]: the fields svcroute uses, typed and validated as the API server validates them.

pub mod decode;
pub mod json;
pub mod schema;
pub mod yaml;

use alloc::string::String;
use alloc::vec::Vec;

use crate::diag::Diagnostic;
use crate::model::Objects;

/// What reading one text produced: the objects, and every error and warning found.
#[derive(Clone, Debug, Default)]
pub struct Read {
    /// The objects that were valid.
    pub objects: Objects,
    /// Errors and warnings, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Read {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Reads every object of `text`; `file` names it in diagnostics.
///
/// Never panics; an invalid object is reported and left out, the others are kept, so a caller
/// can show every error of a file at once.
pub fn read(file: &str, text: &str) -> Read {
    let mut out = Read::default();
    decode::read_into(&alloc::sync::Arc::from(file), text, &mut out);
    out
}

/// Reads several `(file, text)` pairs into one set of objects.
pub fn read_all<'a>(inputs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Read {
    let mut out = Read::default();
    for (file, text) in inputs {
        decode::read_into(&alloc::sync::Arc::from(file), text, &mut out);
    }
    out
}

/// The Kubernetes-style list of allowed values: `"A", "B", "C"`.
pub(crate) fn quoted_list(values: &[&str]) -> String {
    let mut s = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('"');
        s.push_str(v);
        s.push('"');
    }
    s
}

/// Reads manifests and builds the cluster in one step, as the CLI and the playground do:
/// reading warnings come first in `Cluster::warnings`. On failure, every diagnostic (errors
/// and warnings, in order) is returned.
pub fn load<'a>(
    inputs: impl IntoIterator<Item = (&'a str, &'a str)>,
    config: crate::config::Config,
    tweaks: &crate::cluster::Tweaks,
) -> Result<crate::cluster::Cluster, crate::diag::Errors> {
    let mut read = read_all(inputs);
    if read.objects == Objects::default() && !read.has_errors() {
        // `kubectl apply` refuses an empty input ("no objects passed to apply").
        read.diagnostics.push(Diagnostic::warning(
            crate::diag::Kind::Note,
            None,
            "no objects in the input: the plan is empty",
        ));
    }
    if read.has_errors() {
        return Err(crate::diag::Errors(read.diagnostics));
    }
    match crate::cluster::Cluster::build_with(read.objects, config, tweaks) {
        Ok(mut cluster) => {
            let mut warnings = read.diagnostics;
            warnings.append(&mut cluster.warnings);
            cluster.warnings = warnings;
            Ok(cluster)
        }
        Err(mut errors) => {
            let mut all = read.diagnostics;
            all.append(&mut errors.0);
            Err(crate::diag::Errors(all))
        }
    }
}
