//! Reading `-f` arguments: files, directories (their .yaml, .yml and .json files, sorted by
//! name, not recursive, as `kubectl -f DIR`), and `-` for standard input.
//!
//! Bounded, and never blocking on a file: the reader's limits (see `svcroute_core::manifest`)
//! start here. Reading stops after [`MAX_INPUT_BYTES`] (all inputs together), so `-f /dev/zero`
//! or `-f - < /dev/zero` ends with an error instead of exhausting memory. Only regular files are
//! read by name: a FIFO, a device or a socket is refused with an error before it is opened (a
//! FIFO without a writer would block `open` forever, and with it the agent's poll loop), and
//! files are opened non-blocking with the check repeated on the open file, so one swapped in
//! between cannot block either. Pipes are still read through `-f -`.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use svcroute_core::manifest::MAX_INPUT_BYTES;

/// `(name shown in messages, text)` for every manifest named by `paths`.
pub fn read_inputs(paths: &[String]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut total = 0usize;
    for p in paths {
        if p == "-" {
            let text = read_bounded(std::io::stdin().lock(), "-", &mut total, 0)
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
                out.push((f.display().to_string(), read_file(&f, &mut total)?));
            }
        } else {
            out.push((p.clone(), read_file(path, &mut total)?));
        }
    }
    Ok(out)
}

fn not_regular(path: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: not a regular file (a FIFO, device or socket): name a file or a directory, or pipe \
         the manifests to `-f -`",
        path.display()
    )
}

fn read_file(path: &Path, total: &mut usize) -> Result<String> {
    let shown = path.display().to_string();
    if !std::fs::metadata(path)
        .with_context(|| format!("{shown}: cannot read"))?
        .is_file()
    {
        return Err(not_regular(path));
    }
    let fd = rustix::fs::open(
        path,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(std::io::Error::from)
    .with_context(|| format!("{shown}: cannot read"))?;
    let file = File::from(fd);
    let meta = file
        .metadata()
        .with_context(|| format!("{shown}: cannot read"))?;
    if !meta.is_file() {
        return Err(not_regular(path));
    }
    let size = usize::try_from(meta.len()).unwrap_or(usize::MAX);
    read_bounded(file, &shown, total, size).with_context(|| format!("{shown}: cannot read"))
}

/// Reads at most what is left of [`MAX_INPUT_BYTES`], as UTF-8. `size` is the expected length
/// (a file's): the buffer is made that large at once (never more than the limit allows), so a
/// large file is not copied at every doubling.
fn read_bounded(r: impl Read, shown: &str, total: &mut usize, size: usize) -> Result<String> {
    let left = MAX_INPUT_BYTES.saturating_sub(*total);
    let mut bytes = Vec::with_capacity(size.min(left).saturating_add(1));
    r.take(left as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > left {
        bail!(
            "{shown}: input too large: the manifests together exceed {} MiB (the reader's limit)",
            MAX_INPUT_BYTES >> 20
        );
    }
    *total += bytes.len();
    utf8(bytes, shown)
}

/// The text, or an error at the line and column (in characters) of the first invalid byte.
fn utf8(bytes: Vec<u8>, shown: &str) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let good = std::str::from_utf8(&e.as_bytes()[..at]).unwrap_or_default();
        let line = good.matches('\n').count() + 1;
        let col = good.rsplit('\n').next().unwrap_or_default().chars().count() + 1;
        anyhow::anyhow!(
            "{shown}:{line}:{col}: not UTF-8 text (invalid byte 0x{:02x}; manifests are UTF-8)",
            e.as_bytes()[at]
        )
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn invalid_utf8_is_reported_at_line_and_column() {
        let err = utf8(b"a: 1\nb: \xc3\xa9\xff\n".to_vec(), "m.yaml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "m.yaml:2:5: not UTF-8 text (invalid byte 0xff; manifests are UTF-8)"
        );
    }

    #[test]
    fn reading_stops_at_the_limit() {
        let mut total = 0;
        let err = read_bounded(std::io::repeat(b' '), "-", &mut total, 0).unwrap_err();
        assert!(err.to_string().contains("input too large"), "{err}");
    }

    /// `-f /dev/zero` (a device) and a FIFO without a writer are refused before opening.
    #[test]
    fn non_regular_files_are_refused() {
        let err = read_inputs(&["/dev/zero".into()]).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    /// A FIFO with no writer would block `open` forever (and the agent's poll loop with it).
    #[test]
    fn a_fifo_without_a_writer_is_refused_at_once() {
        let dir = std::env::temp_dir().join(format!("svcroute-input-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("m.yaml");
        let _ = std::fs::remove_file(&fifo);
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
            0,
        )
        .unwrap();
        let err = read_inputs(&[fifo.display().to_string()]).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        // In a directory, it is not one of the directory's manifests.
        let err = read_inputs(&[dir.display().to_string()]).unwrap_err();
        assert!(err.to_string().contains("no .yaml"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
