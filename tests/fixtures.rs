//! Data-driven tests of the `svcroute` command line: each `tests/fixtures/*.yaml` (or `.json`)
//! holds manifests and, in leading comments, what to run and which Kubernetes behaviour it
//! pins:
//!
//! ```text
//! # matches: kube-proxy CategorizeEndpoints: externalTrafficPolicy Local keeps local endpoints
//! # run: plan --node node-2 -o ipvsadm
//! # run: route --to 10.97.97.97:80 --count 6 -o json
//! ```
//!
//! Every `run` line is executed with `-f <fixture>` appended (except `diff --from … --to …`
//! lines, which name their inputs; the second input lives in `tests/fixtures/diff/`); its exit code, stdout and stderr
//! are compared with `<fixture>.out`. `UPDATE_EXPECT=1 cargo test --test fixtures` rewrites the
//! expectations (review the diff before committing).

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fixtures exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "json")
            )
        })
        .collect();
    out.sort();
    out
}

/// Runs the fixture's commands and renders what they printed.
fn render(fixture: &Path) -> String {
    let text = std::fs::read_to_string(fixture).expect("fixture is readable");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rel = fixture.strip_prefix(root).expect("fixture under the root");
    let runs: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            // `# run: ARGS` in YAML; `"//": "run: ARGS",` in JSON, which has no comments.
            let (_, rest) = l.split_once("run: ")?;
            Some(rest.trim_end_matches([',', '"', ' ']))
        })
        .collect();
    assert!(!runs.is_empty(), "{}: no `# run:` line", fixture.display());
    let mut out = String::new();
    for run in runs {
        let mut args: Vec<String> = run.split_whitespace().map(str::to_owned).collect();
        // `diff --from A --to B` names its own inputs.
        if args.first().map(String::as_str) != Some("diff") {
            args.push("-f".into());
            args.push(rel.display().to_string());
        }
        let o = Command::new(env!("CARGO_BIN_EXE_svcroute"))
            .args(&args)
            .current_dir(root)
            .output()
            .expect("svcroute runs");
        out.push_str(&format!("$ svcroute {}\n", args.join(" ")));
        out.push_str(&format!("exit: {}\n", o.status.code().unwrap_or(-1)));
        let stdout = String::from_utf8_lossy(&o.stdout);
        let stderr = String::from_utf8_lossy(&o.stderr);
        if !stdout.is_empty() {
            out.push_str("--- stdout\n");
            out.push_str(&stdout);
        }
        if !stderr.is_empty() {
            out.push_str("--- stderr\n");
            out.push_str(&stderr);
        }
        out.push('\n');
    }
    out
}

#[test]
fn fixtures_match_their_expected_output() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failed = Vec::new();
    let all = fixtures();
    assert!(
        all.len() >= 10,
        "expected the fixture set, found {}",
        all.len()
    );
    for f in &all {
        let got = render(f);
        let expect_path = f.with_extension(format!(
            "{}.out",
            f.extension().and_then(|e| e.to_str()).unwrap_or("")
        ));
        if update {
            std::fs::write(&expect_path, &got).expect("write expectation");
            continue;
        }
        let want = std::fs::read_to_string(&expect_path).unwrap_or_default();
        if got != want {
            eprintln!(
                "=== {} differs from {}:\n{got}",
                f.display(),
                expect_path.display()
            );
            failed.push(f.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "fixtures differ (UPDATE_EXPECT=1 to accept): {failed:?}"
    );
}
