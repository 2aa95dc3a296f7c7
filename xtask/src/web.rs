//! The playground's tasks.
//!
//! - `cargo xtask web`: builds `pkg/` (the `svcroute-web` crate for `wasm32-unknown-unknown`,
//!   `wasm-bindgen --target web`, `wasm-opt -Oz`), as wasm-pack lays it out.
//!   `SVCROUTE_WASM_NAMES=1 cargo xtask web` keeps the functions' names in the wasm (for
//!   `node --cpu-prof` and twiggy; the bundle is then larger than the guard allows).
//! - `cargo xtask serve [--addr 127.0.0.1:8080]`: builds, then serves the repository's page
//!   (`index.html`, `pkg/`, `examples/`) until killed.
//! - [`test`], called by `cargo xtask test`: the bundle size (JS + wasm, gzip, at most
//!   600 KiB, issue 12's aim; `cargo xtask web` prints it too), wasm-bindgen tests in node (the JS API against the CLI's checked-in JSON) and
//!   in headless Chromium (the components), the JS API against the CLI binary in node, and the
//!   end-to-end tests in headless Chromium against the served page (`e2e.mjs`: the
//!   playground; `widget.mjs`: the embeddable widget, large manifests, history and
//!   accessibility; `modes.mjs`: the proxy modes view; `outside.mjs`: issue 12's items checked from the
//!   issue's words), with screenshots in `target/e2e/`. `cargo xtask test-web` runs only this.
//!
//! On a fresh Debian machine every tool is installed first, and skipped when present: the
//! wasm target (rustup), `wasm-bindgen-cli` at Cargo.lock's `wasm-bindgen` version (cargo
//! install, without `--locked`, which fails against this registry), `binaryen` (for
//! `wasm-opt`) and `playwright-core` (npm, into `web/node_modules`), Chromium and chromedriver
//! (apt-get). See `tools`.

mod serve;
pub(crate) mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{root, run};

/// The crate and its artifact's name.
const CRATE: &str = "svcroute-web";
const ARTIFACT: &str = "svcroute_web";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The bundle (JS + wasm, gzip) may not be larger than this. Issue 12 aims at 600 KiB; the
/// bundle measured 561 KiB before the live cluster (`Live`, the JS `Cluster` class, the page's
/// incremental model) and the Chinese message catalogue joined it, 660 KiB after, and 648 KiB
/// once the link's JSON went through the JS engine's `JSON` instead of serde_json (15 KiB).
/// Most of what remains is the core's monomorphized `BTreeMap` (~64 KiB gzip, ~54 map types)
/// and stable-sort code (~30 KiB gzip, ~30 element types, many from `collect()` into a
/// `BTreeMap`/`BTreeSet`). Session 4 added ~19 KiB (the fast YAML scanner, the JSON reader's
/// shared keys, every parser message and the scenarios' comments in Chinese): 667 KiB. Session
/// 5 measured the levers (see ARCHITECTURE.md "Choices", WASM build): the core at opt-level
/// `s` costs 89 KiB and at 3 costs 210 KiB, so it stays at `z`; the JS API's text transfer
/// (`text_arg`) added 1 KiB: 668 KiB; the reader's borrowed tree (`Cow` strings), the YAML fast
/// path's multi-line values and the build's new indexes brought it to 673 KiB; session 6's
/// synchronous first draw in `mount`, the replicas' spread and the capped long lists to 676.6.
/// Then the JS API's answers as JSON text instead of serde-wasm-bindgen's serializer (-2.5
/// KiB), the core's sorts through `core::sort`'s one shared copy in wasm (-15.2 KiB) and its
/// `BTreeMap`/`BTreeSet` collects by insertion (-12.3 KiB): 644.3 KiB, and 645.5 KiB with
/// the reader's merge. Session 7: `{:.p$}` floats without std's exact float formatting and six
/// map types fewer (see ARCHITECTURE.md, WASM size, session 7): 637.5 KiB on the session's
/// first main, 641.2 KiB on main with the page's one-document edit path (649.1 KiB without
/// these); 643.3 KiB with the session's JSON writer and reader merged; then the reader's and
/// the Cluster build's last sorts and map collects through `core::sort` (ten copies of std's
/// sort fewer): 631.2 KiB. Session 8: wasm-bindgen's JS glue minified by terser (-3.6 KiB),
/// Yew's `tracing` events compiled out (-10.5) and twenty map types fewer (-17.7): 599.2 KiB.
/// Session 10's streaming reader: 599.8 KiB. Session 11: `wasm-opt --low-memory-unused`
/// (-5.7): 594.1 KiB. Session 12: the node's limits on virtual and real servers, the live
/// cluster's lookups by key and their message in Chinese: 599.7 KiB (0.3 KiB of room left:
/// the next addition needs a saving first). Session 13: the reader's exact room for labels
/// and ports (+0.4), crates.io paths remapped and two unread sections stripped (-0.5), the
/// edited scenario's note (+0.1) and the proxy modes' skip past the node's limits (+0.1): 599.8.
/// The guard is the aim itself (see ARCHITECTURE.md, WASM size).
const BUNDLE_LIMIT: u64 = 600 * 1024;

/// `cargo xtask web`.
pub fn web(args: &[String]) -> Result<()> {
    if let Some(a) = args.first() {
        bail!("cargo xtask web takes no arguments (got {a:?})");
    }
    let t = tools::ensure_build_tools()?;
    let pkg = build(&t)?;
    bundle_size(&pkg)?;
    Ok(())
}

/// `cargo xtask serve [--addr HOST:PORT]`.
pub fn serve(args: &[String]) -> Result<()> {
    let mut addr = "127.0.0.1:8080".to_owned();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--addr" => addr = it.next().context("--addr needs HOST:PORT")?.clone(),
            other => bail!("cargo xtask serve [--addr HOST:PORT]: unknown argument {other:?}"),
        }
    }
    let t = tools::ensure_build_tools()?;
    build(&t)?;
    serve::serve_forever(&addr, &root())
}

/// The target directory cargo uses (`CARGO_TARGET_DIR`, relative to the root, or `target/`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => root().join(d),
        _ => root().join("target"),
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Builds `pkg/`: release wasm (optimized for size), wasm-bindgen, wasm-opt, the JS glue
/// minified by terser, the shared loader for embedding pages, and a package.json.
pub fn build(t: &tools::Tools) -> Result<PathBuf> {
    let started = Instant::now();
    // Size settings for this build only; the root profile stays as the lead set it.
    run(cargo()
        .args(["build", "--release", "-p", CRATE, "--target", WASM_TARGET])
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "z")
        .env("CARGO_PROFILE_RELEASE_LTO", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
            remap_registry(),
        ))?;
    let wasm = target_dir()
        .join(WASM_TARGET)
        .join("release")
        .join(format!("{ARTIFACT}.wasm"));
    let pkg = root().join("pkg");
    if pkg.exists() {
        std::fs::remove_dir_all(&pkg).with_context(|| format!("removing {}", pkg.display()))?;
    }
    run(Command::new(&t.wasm_bindgen)
        .args(["--target", "web", "--out-name", ARTIFACT, "--out-dir"])
        .arg(&pkg)
        .arg(&wasm))?;
    let bg = pkg.join(format!("{ARTIFACT}_bg.wasm"));
    // `SVCROUTE_WASM_NAMES=1`: keep the function names (the wasm `name` section, `-g`) for
    // `node --cpu-prof` and twiggy; the size check then counts them too.
    let names = std::env::var_os("SVCROUTE_WASM_NAMES").is_some_and(|v| v == "1");
    // `--converge`: -Oz again until the module stops shrinking (about 2 KB gzip for ~30 s).
    // `--low-memory-unused`: lets binaryen fold an added constant below 1024 into a load's or
    // store's offset (which does not wrap where the add would); the two differ only for a
    // pointer within 1 KiB of 4 GiB, which Rust's linear memory never hands out. 5.9 KiB
    // gzip off the module (session 11), and fewer instructions on every field access.
    run(Command::new(&t.wasm_opt)
        .args(names.then_some("-g"))
        .args([
            "-Oz",
            "--converge",
            "--low-memory-unused",
            // The `producers` and `target_features` sections: no browser reads them (0.2 KiB).
            "--strip-producers",
            "--strip-target-features",
            "--enable-bulk-memory",
            "--enable-reference-types",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-mutable-globals",
            "--enable-multivalue",
        ])
        .arg(&bg)
        .arg("-o")
        .arg(&bg))?;
    // wasm-bindgen's JS glue, minified as bundlers ship it (its comments and long local
    // names were a third of its gzip size); the exports keep their names, and the types are
    // in the `.d.ts` beside it.
    let glue = pkg.join(format!("{ARTIFACT}.js"));
    run(Command::new("node")
        .arg(&t.terser)
        .arg(&glue)
        .args(["--module", "--compress", "--mangle", "--output"])
        .arg(&glue))?;
    std::fs::copy(root().join("web/js/embed.js"), pkg.join("embed.js"))
        .context("copying web/js/embed.js")?;
    std::fs::write(pkg.join("package.json"), package_json()).context("writing pkg/package.json")?;
    eprintln!(
        "xtask web: built {} in {:.0} s",
        pkg.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(pkg)
}

/// `--remap-path-prefix` flags that turn each crates.io source directory of cargo's home into
/// nothing: the wasm's panic locations then name `yew-0.23.0/src/...`, not this machine's
/// `/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/yew-0.23.0/src/...` (0.3 KiB
/// gzip, and the same bytes whoever builds it). The standard library's paths come built in.
fn remap_registry() -> String {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let Some(Ok(dirs)) = home.map(|h| std::fs::read_dir(h.join("registry/src"))) else {
        return String::new();
    };
    let mut flags: Vec<String> = dirs
        .flatten()
        .filter_map(|d| d.path().to_str().map(str::to_owned))
        // Flags are separated by spaces here.
        .filter(|d| !d.contains(' '))
        .map(|d| format!("--remap-path-prefix={d}/="))
        .collect();
    flags.sort();
    flags.join(" ")
}

fn package_json() -> String {
    format!(
        r#"{{
  "name": "svcroute-web",
  "version": "{}",
  "description": "svcroute-core in the browser and in node: plan, route, mount",
  "license": "Apache-2.0",
  "type": "module",
  "main": "{ARTIFACT}.js",
  "module": "{ARTIFACT}.js",
  "types": "{ARTIFACT}.d.ts",
  "files": ["{ARTIFACT}_bg.wasm", "{ARTIFACT}.js", "{ARTIFACT}.d.ts", "{ARTIFACT}_bg.wasm.d.ts", "embed.js"],
  "sideEffects": false
}}
"#,
        env!("CARGO_PKG_VERSION")
    )
}

/// JS + wasm, raw and gzip (`gzip -9`). Fails above [`BUNDLE_LIMIT`].
fn bundle_size(pkg: &Path) -> Result<()> {
    let mut total_raw = 0u64;
    let mut total_gz = 0u64;
    let mut parts = Vec::new();
    for name in [format!("{ARTIFACT}.js"), format!("{ARTIFACT}_bg.wasm")] {
        let path = pkg.join(&name);
        let raw = std::fs::metadata(&path)
            .with_context(|| format!("{}", path.display()))?
            .len();
        let out = Command::new("gzip")
            .args(["-9", "-c"])
            .arg(&path)
            .output()
            .context("running gzip")?;
        if !out.status.success() {
            bail!("gzip {} failed", path.display());
        }
        let gz = out.stdout.len() as u64;
        total_raw += raw;
        total_gz += gz;
        parts.push(format!(
            "{name} {:.1} KiB (gzip {:.1} KiB)",
            kib(raw),
            kib(gz)
        ));
    }
    eprintln!(
        "bundle: {}; total {:.1} KiB, gzip {:.1} KiB (limit {:.0} KiB)",
        parts.join(" + "),
        kib(total_raw),
        kib(total_gz),
        kib(BUNDLE_LIMIT)
    );
    if total_gz > BUNDLE_LIMIT {
        bail!(
            "the playground's bundle is {:.1} KiB gzip, over the {:.0} KiB limit",
            kib(total_gz),
            kib(BUNDLE_LIMIT)
        );
    }
    Ok(())
}

fn kib(b: u64) -> f64 {
    b as f64 / 1024.0
}

/// The playground's part of `cargo xtask test`.
pub fn test() -> Result<()> {
    let started = Instant::now();
    let t = tools::ensure_build_tools()?;
    let browser = tools::ensure_browser_tools()?;
    let pkg = build(&t)?;
    bundle_size(&pkg)?;

    // wasm-bindgen tests: tests/node_api.rs in node, tests/components.rs in Chromium.
    run(cargo()
        .args(["test", "-p", CRATE, "--target", WASM_TARGET])
        .args(["--test", "node_api", "--test", "components"])
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            &t.wasm_bindgen_test_runner,
        )
        .env("CHROMEDRIVER", &browser.chromedriver)
        .env("WASM_BINDGEN_TEST_TIMEOUT", "180"))?;

    // The built module in plain node against the CLI binary.
    run(cargo().args(["build", "-p", "svcroute", "--bin", "svcroute"]))?;
    let cli = target_dir().join("debug").join("svcroute");
    run(Command::new("node")
        .arg(root().join("web/e2e/node_api.mjs"))
        .env("SVCROUTE_BIN", &cli)
        .env("SVCROUTE_PKG", &pkg))?;

    // End to end in Chromium against the served page.
    let artifacts = target_dir().join("e2e");
    std::fs::create_dir_all(&artifacts)?;
    let addr = serve::spawn("127.0.0.1:0", &root())?;
    let e2e_started = Instant::now();
    run(Command::new("node")
        .arg(root().join("web/e2e/e2e.mjs"))
        .env("BASE_URL", format!("http://{addr}/"))
        .env("ARTIFACTS", &artifacts)
        .env("CHROMIUM", &browser.chromium))?;
    // The widget: the embedding lesson, the handle's strictness and events, large manifests,
    // history, accessibility (web/e2e/widget.mjs).
    run(Command::new("node")
        .arg(root().join("web/e2e/widget.mjs"))
        .env("BASE_URL", format!("http://{addr}/"))
        .env("ARTIFACTS", &artifacts)
        .env("CHROMIUM", &browser.chromium))?;
    // The proxy modes view: highlights, refusal, growth chart, ConfigMap switch
    // (web/e2e/modes.mjs).
    run(Command::new("node")
        .arg(root().join("web/e2e/modes.mjs"))
        .env("BASE_URL", format!("http://{addr}/"))
        .env("ARTIFACTS", &artifacts)
        .env("CHROMIUM", &browser.chromium))?;
    // An outside check of issue 12's items, written from the issue's words
    // (web/e2e/outside.mjs).
    run(Command::new("node")
        .arg(root().join("web/e2e/outside.mjs"))
        .env("BASE_URL", format!("http://{addr}/"))
        .env("ARTIFACTS", &artifacts)
        .env("CHROMIUM", &browser.chromium))?;
    eprintln!(
        "xtask test (web): e2e {:.1} s, screenshots in {}; web total {:.0} s",
        e2e_started.elapsed().as_secs_f64(),
        artifacts.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
