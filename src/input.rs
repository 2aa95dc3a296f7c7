//! Reading `-f` arguments: files, directories (their .yaml, .yml and .json files, sorted by
//! name, not recursive, as `kubectl -f DIR`), and `-` for standard input.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// `(name shown in messages, text)` for every manifest named by `paths`.
pub fn read_inputs(paths: &[String]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for p in paths {
        if p == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading manifests from standard input")?;
            out.push(("-".to_owned(), text));
            continue;
        }
        let path = Path::new(p);
        let meta = std::fs::metadata(path).with_context(|| format!("{p}: cannot read"))?;
        if meta.is_dir() {
            let mut files: Vec<_> = std::fs::read_dir(path)
                .with_context(|| format!("{p}: cannot list the directory"))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.is_file()
                        && matches!(
                            f.extension().and_then(|e| e.to_str()),
                            Some("yaml" | "yml" | "json")
                        )
                })
                .collect();
            files.sort();
            if files.is_empty() {
                bail!("{p}: no .yaml, .yml or .json files in this directory");
            }
            for f in files {
                out.push((f.display().to_string(), read_file(&f)?));
            }
        } else {
            out.push((p.clone(), read_file(path)?));
        }
    }
    Ok(out)
}

fn read_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}
