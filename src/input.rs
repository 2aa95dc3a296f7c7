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
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use svcroute_core::manifest::{self, MAX_INPUT_BYTES};

/// One input named by `-f`: standard input, or a regular file (a directory's are listed).
enum Source {
    Stdin,
    File(PathBuf),
}

/// `(name shown in messages, source)` for every input named by `paths`, in order: a
/// directory's .yaml, .yml and .json files sorted by name.
fn sources(paths: &[String]) -> Result<Vec<(String, Source)>> {
    let mut out = Vec::new();
    for p in paths {
        if p == "-" {
            out.push(("-".to_owned(), Source::Stdin));
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
            out.extend(
                files
                    .into_iter()
                    .map(|f| (f.display().to_string(), Source::File(f))),
            );
        } else {
            out.push((p.clone(), Source::File(path.to_owned())));
        }
    }
    Ok(out)
}

/// `(name shown in messages, text)` for every manifest named by `paths`.
pub fn read_inputs(paths: &[String]) -> Result<Vec<(String, String)>> {
    let mut total = 0usize;
    sources(paths)?
        .into_iter()
        .map(|(shown, source)| {
            let text = match source {
                Source::Stdin => read_stdin(&mut total)?,
                Source::File(path) => {
                    let (file, size) = open_file(&path, &shown)?;
                    read_bounded(file, &shown, &mut total, size)
                        .with_context(|| format!("{shown}: cannot read"))?
                }
            };
            Ok((shown, text))
        })
        .collect()
}

/// Reads the manifests named by `paths` as [`read_inputs`] then [`manifest::read_all`] would,
/// without holding a file's text whole where it need not be: a file holding a JSON object
/// (`kubectl get -o json`) is read a piece at a time ([`manifest::Read::add_pieces`]); one
/// that is to be read whole after all is read again from its start.
pub fn read_manifests(paths: &[String]) -> Result<manifest::Read> {
    let mut read = manifest::Read::default();
    let mut total = 0usize;
    for (shown, source) in sources(paths)? {
        match source {
            Source::Stdin => {
                let text = read_stdin(&mut total)?;
                read.add("-", &text);
            }
            Source::File(path) => {
                let (mut file, size) = open_file(&path, &shown)?;
                let before = total;
                let in_pieces = read
                    .add_pieces(&shown, size, |buf, want| {
                        piece(&mut file, buf, want, &mut total, &shown)
                    })
                    .with_context(|| format!("{shown}: cannot read"))?;
                if !in_pieces {
                    total = before;
                    file.rewind()
                        .with_context(|| format!("{shown}: cannot read"))?;
                    let text = read_bounded(file, &shown, &mut total, size)
                        .with_context(|| format!("{shown}: cannot read"))?;
                    read.add(&shown, &text);
                }
            }
        }
    }
    Ok(read)
}

/// Standard input, whole, within what is left of [`MAX_INPUT_BYTES`].
fn read_stdin(total: &mut usize) -> Result<String> {
    read_bounded(std::io::stdin().lock(), "-", total, 0)
        .context("reading manifests from standard input")
}

/// Appends at most `want` more bytes of `file` to `buf` (fewer only at its end), within what is
/// left of [`MAX_INPUT_BYTES`].
fn piece(
    file: &mut File,
    buf: &mut Vec<u8>,
    want: usize,
    total: &mut usize,
    shown: &str,
) -> Result<usize> {
    let left = MAX_INPUT_BYTES.saturating_sub(*total);
    buf.reserve(want);
    let n = file
        .by_ref()
        .take(want.min(left.saturating_add(1)) as u64)
        .read_to_end(buf)?;
    *total += n;
    if *total > MAX_INPUT_BYTES {
        bail!(
            "{shown}: input too large: the manifests together exceed {} MiB (the reader's limit)",
            MAX_INPUT_BYTES >> 20
        );
    }
    Ok(n)
}

fn not_regular(path: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: not a regular file (a FIFO, device or socket): name a file or a directory, or pipe \
         the manifests to `-f -`",
        path.display()
    )
}

/// Opens a regular file to read, with its size; anything else is refused before it is opened.
fn open_file(path: &Path, shown: &str) -> Result<(File, usize)> {
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
    Ok((file, usize::try_from(meta.len()).unwrap_or(usize::MAX)))
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

    /// A file read in pieces gives what it gives read whole: a kubectl `List` (read in
    /// pieces), a broken one and YAML (both read again whole), with the same diagnostics.
    #[test]
    fn files_read_in_pieces_as_whole() {
        let dir =
            std::env::temp_dir().join(format!("svcroute-input-pieces-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pod = |i: usize| {
            format!(
                "{{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n  \"metadata\": {{\"name\": \"p-{i}\", \"labels\": {{\"app\": \"a\"}}, \"annotations\": {{\"n\": \"é日\"}}}},\n  \"spec\": {{\"nodeName\": \"n\", \"containers\": [{{\"name\": \"c\"}}]}},\n  \"status\": {{\"podIP\": \"10.0.{}.{}\", \"phase\": \"Running\", \"conditions\": [{{\"type\": \"Ready\", \"status\": \"True\"}}]}}\n}}",
                i / 250,
                i % 250
            )
        };
        // Large enough for several pieces; an invalid port and an unknown field for warnings
        // and errors at their lines.
        let items: Vec<String> = (0..3000).map(pod).collect();
        let list = format!(
            "{{\"apiVersion\": \"v1\", \"items\": [\n{},\n{{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {{\"name\": \"s\"}}, \"spec\": {{\"selector\": {{\"app\": \"a\"}}, \"ports\": [{{\"port\": 70000}}], \"bogus\": 1}}}}\n], \"kind\": \"List\", \"metadata\": {{}}}}\n",
            items.join(",\n")
        );
        assert!(list.len() > 3 * (256 << 10), "more than three pieces");
        let broken = list.replacen("\"phase\"", "\"phase\" \"x\"", 1);
        // The same objects on one line (as `json.dump` writes them), named apart.
        let line = list.replace('\n', " ").replace("\"p-", "\"q-");
        let files = [
            ("list.json", list.as_str()),
            ("line.json", line.as_str()),
            ("broken.json", broken.as_str()),
            (
                "pod.yaml",
                "apiVersion: v1\nkind: Pod\nmetadata: {name: yaml-pod}\nspec: {nodeName: node-1, containers: [{name: c}]}\n",
            ),
        ];
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        // The List is read in pieces, the broken one is not.
        for (name, in_pieces) in [
            ("list.json", true),
            ("line.json", true),
            ("broken.json", false),
        ] {
            let (mut file, size) = open_file(&dir.join(name), name).unwrap();
            let mut total = 0;
            let done = manifest::Read::default()
                .add_pieces(name, size, |buf, want| {
                    piece(&mut file, buf, want, &mut total, name)
                })
                .unwrap();
            assert_eq!(done, in_pieces, "{name}");
        }
        let paths = vec![dir.display().to_string()];
        let got = read_manifests(&paths).unwrap();
        let inputs = read_inputs(&paths).unwrap();
        let want = manifest::read_all(inputs.iter().map(|(n, t)| (n.as_str(), t.as_str())));
        assert_eq!(got.objects, want.objects);
        assert_eq!(got.diagnostics, want.diagnostics);
        assert_eq!(got.objects.pods.len(), 6001, "{:?}", got.diagnostics);
        let shown: Vec<String> = got.diagnostics.iter().map(ToString::to_string).collect();
        assert!(
            shown
                .iter()
                .any(|d| d.contains("broken.json:") && d.contains("invalid JSON")),
            "{shown:?}"
        );
        assert!(
            shown
                .iter()
                .any(|d| d.contains("list.json:") && d.contains("bogus")),
            "{shown:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A piece that would take the inputs over the limit is an error.
    #[test]
    fn pieces_stop_at_the_limit() {
        let path =
            std::env::temp_dir().join(format!("svcroute-input-limit-{}", std::process::id()));
        std::fs::write(&path, "{\"items\": []}").unwrap();
        let (mut file, _) = open_file(&path, "f").unwrap();
        let mut total = MAX_INPUT_BYTES - 4;
        let err = piece(&mut file, &mut Vec::new(), 1024, &mut total, "f").unwrap_err();
        assert!(err.to_string().contains("input too large"), "{err}");
        std::fs::remove_file(&path).unwrap();
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
