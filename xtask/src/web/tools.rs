//! Installing what the playground's build and tests need, skipping what is already there.
//!
//! - the `wasm32-unknown-unknown` target (rustup);
//! - `wasm-bindgen` and `wasm-bindgen-test-runner` at exactly Cargo.lock's `wasm-bindgen`
//!   version (`cargo install wasm-bindgen-cli --version =V`; `--locked` fails against this
//!   registry, so it is not used);
//! - node and npm (apt-get, when missing), then `web/package.json`'s pinned `binaryen` (its
//!   `wasm-opt`; Debian's binaryen is too old for Rust's wasm), `terser` (minifies
//!   wasm-bindgen's JS glue) and `playwright-core` (it downloads no browser: it drives
//!   Debian's Chromium) into `web/node_modules`;
//! - Chromium and chromedriver from Debian (apt-get), and a Chinese font for the screenshots.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{ensure_target, root, run};

/// Paths of the build tools.
pub struct Tools {
    /// `wasm-bindgen`.
    pub wasm_bindgen: PathBuf,
    /// `wasm-bindgen-test-runner`.
    pub wasm_bindgen_test_runner: PathBuf,
    /// `wasm-opt` (npm's binaryen).
    pub wasm_opt: PathBuf,
    /// terser's command-line script (run with `node`).
    pub terser: PathBuf,
}

/// Paths of the browser.
pub struct Browser {
    /// Chromium.
    pub chromium: PathBuf,
    /// chromedriver.
    pub chromedriver: PathBuf,
}

/// The wasm target, wasm-bindgen, node, npm packages.
pub fn ensure_build_tools() -> Result<Tools> {
    ensure_target("wasm32-unknown-unknown")?;
    let (wasm_bindgen, wasm_bindgen_test_runner) = ensure_wasm_bindgen()?;
    ensure_node()?;
    ensure_npm_packages()?;
    let wasm_opt = root().join("web/node_modules/.bin/wasm-opt");
    let terser = root().join("web/node_modules/terser/bin/terser");
    for p in [&wasm_opt, &terser] {
        if !p.exists() {
            bail!("{} is missing after npm install", p.display());
        }
    }
    Ok(Tools {
        wasm_bindgen,
        wasm_bindgen_test_runner,
        wasm_opt,
        terser,
    })
}

/// Chromium and chromedriver.
pub fn ensure_browser_tools() -> Result<Browser> {
    let chromium = PathBuf::from("/usr/bin/chromium");
    let chromedriver = PathBuf::from("/usr/bin/chromedriver");
    if !chromium.exists() || !chromedriver.exists() {
        apt_install(&["chromium", "chromium-driver"])?;
    }
    // A Chinese font, so that the screenshots of the Chinese page show characters.
    let has_cjk = Command::new("fc-list")
        .arg(":lang=zh")
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
    if !has_cjk {
        apt_install(&["fonts-wqy-microhei"])?;
    }
    for p in [&chromium, &chromedriver] {
        if !p.exists() {
            bail!("{} is missing after apt-get install", p.display());
        }
    }
    Ok(Browser {
        chromium,
        chromedriver,
    })
}

/// The version of `wasm-bindgen` in Cargo.lock.
pub fn locked_version(package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l.trim() == format!("name = \"{package}\"")
            && let Some(v) = lines
                .next()
                .and_then(|v| v.trim().strip_prefix("version = \""))
                .and_then(|v| v.strip_suffix('"'))
        {
            return Ok(v.to_owned());
        }
    }
    bail!("Cargo.lock has no package {package:?}")
}

fn cargo_bin() -> PathBuf {
    match std::env::var_os("CARGO_HOME") {
        Some(h) => PathBuf::from(h).join("bin"),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo/bin"),
    }
}

fn version_of(bin: &Path) -> Option<String> {
    let out = Command::new(bin).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn ensure_wasm_bindgen() -> Result<(PathBuf, PathBuf)> {
    let version = locked_version("wasm-bindgen")?;
    let want = format!("wasm-bindgen {version}");
    let dir = cargo_bin();
    let bin = dir.join("wasm-bindgen");
    let runner = dir.join("wasm-bindgen-test-runner");
    if version_of(&bin).as_deref() == Some(want.as_str()) && runner.exists() {
        return Ok((bin, runner));
    }
    eprintln!(
        "xtask: installing wasm-bindgen-cli {version} (Cargo.lock's wasm-bindgen); found {:?}",
        version_of(&bin)
    );
    run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["install", "wasm-bindgen-cli", "--force", "--version"])
            .arg(format!("={version}")),
    )?;
    if version_of(&bin).as_deref() != Some(want.as_str()) {
        bail!(
            "{} --version is {:?} after installing, not {want:?}",
            bin.display(),
            version_of(&bin)
        );
    }
    Ok((bin, runner))
}

fn works(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn ensure_node() -> Result<()> {
    if works("node") && works("npm") {
        return Ok(());
    }
    apt_install(&["nodejs", "npm"])?;
    if !(works("node") && works("npm")) {
        bail!("node and npm are still missing after apt-get install nodejs npm");
    }
    Ok(())
}

/// `"key": "value"` in a JSON text: the first such string value after `after`.
fn json_string(text: &str, after: &str, key: &str) -> Option<String> {
    let start = text.find(after)?;
    let rest = &text[start..];
    let k = rest.find(&format!("\"{key}\""))?;
    let rest = &rest[k + key.len() + 2..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_owned())
}

/// `web/package.json`'s pinned packages, installed into `web/node_modules` unless the same
/// versions are there. No lock file is written (it would name the registry's host).
fn ensure_npm_packages() -> Result<()> {
    let web = root().join("web");
    let manifest =
        std::fs::read_to_string(web.join("package.json")).context("reading web/package.json")?;
    let mut missing = Vec::new();
    for pkg in ["binaryen", "playwright-core", "terser"] {
        let want = json_string(&manifest, "devDependencies", pkg)
            .with_context(|| format!("web/package.json pins no {pkg}"))?;
        let installed =
            std::fs::read_to_string(web.join("node_modules").join(pkg).join("package.json"))
                .ok()
                .and_then(|t| json_string(&t, "{", "version"));
        if installed.as_deref() != Some(want.as_str()) {
            missing.push(format!("{pkg} {want} (found {installed:?})"));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: npm install in web/: {}", missing.join(", "));
    let mut cmd = Command::new("npm");
    cmd.args([
        "install",
        "--no-audit",
        "--no-fund",
        "--no-package-lock",
        "--prefix",
    ])
    .arg(&web);
    run(&mut cmd)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `apt-get update` then `apt-get install -y --no-install-recommends PKGS` (with sudo when
/// not root).
pub(crate) fn apt_install(pkgs: &[&str]) -> Result<()> {
    eprintln!("xtask: installing Debian packages {}", pkgs.join(" "));
    let apt = |args: &[&str]| -> Command {
        let mut c = if is_root() {
            Command::new("apt-get")
        } else {
            let mut s = Command::new("sudo");
            s.arg("apt-get");
            s
        };
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run(&mut apt(&["update", "-qq"]))?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend_from_slice(pkgs);
    run(&mut apt(&args))
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_strings() {
        let t = r#"{ "name": "x", "devDependencies": { "binaryen": "132.0.0", "playwright-core": "1.65.1" } }"#;
        assert_eq!(
            super::json_string(t, "devDependencies", "binaryen").as_deref(),
            Some("132.0.0")
        );
        assert_eq!(super::json_string(t, "{", "name").as_deref(), Some("x"));
        assert_eq!(super::json_string(t, "devDependencies", "nope"), None);
    }
}
