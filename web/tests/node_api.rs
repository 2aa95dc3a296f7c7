//! The JS API in node (wasm-bindgen-test's node runner): `plan` and `route` give the same JSON
//! as the CLI on the same fixtures, and throw the CLI's first error with its path, line and
//! column.
//!
//! The expectations are the CLI's own, checked in by `tests/fixtures.rs` (which holds them to
//! the binary): every `$ svcroute plan|route … -o json` run of `tests/fixtures/*.out` that
//! exited 0 is replayed through the JS API and compared as `JSON.stringify` text; every run
//! that exited 1 is compared by its first `error:` line. Flags are mapped to the API's option
//! names; an unknown flag fails the test, so a new CLI flag cannot go unmirrored. Every `plan`
//! run is also made a live `Cluster`, whose `plan()` must give the same JSON (or error).
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, JSON, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

#[wasm_bindgen(module = "fs")]
extern "C" {
    #[wasm_bindgen(js_name = readFileSync)]
    fn read_file_sync(path: &str, encoding: &str) -> String;
    #[wasm_bindgen(js_name = readdirSync)]
    fn readdir_sync(path: &str) -> Array;
}

fn root() -> String {
    let web = env!("CARGO_MANIFEST_DIR");
    web.strip_suffix("/web").unwrap_or(web).to_owned()
}

fn set(o: &JsValue, k: &str, v: JsValue) {
    Reflect::set(o, &k.into(), &v).expect("set");
}

fn push(o: &JsValue, k: &str, v: &str) {
    let cur = Reflect::get(o, &k.into()).expect("get");
    let arr: Array = if cur.is_undefined() {
        let a = Array::new();
        set(o, k, a.clone().into());
        a
    } else {
        cur.into()
    };
    arr.push(&v.into());
}

/// One recorded CLI run.
struct Run {
    args: Vec<String>,
    exit: i32,
    stdout: String,
    stderr: String,
}

fn runs(out: &str) -> Vec<Run> {
    let mut runs = Vec::new();
    for block in out.split("$ svcroute ").skip(1) {
        let (cmd, rest) = block.split_once('\n').expect("command line");
        let (exit, rest) = rest.split_once('\n').expect("exit line");
        let exit: i32 = exit
            .strip_prefix("exit: ")
            .expect("exit: N")
            .parse()
            .expect("number");
        let (stdout, stderr) = match rest.split_once("--- stderr\n") {
            Some((o, e)) => (o, e),
            None => (rest, ""),
        };
        runs.push(Run {
            args: cmd.split_whitespace().map(str::to_owned).collect(),
            exit,
            stdout: stdout.strip_prefix("--- stdout\n").unwrap_or("").to_owned(),
            stderr: stderr.to_owned(),
        });
    }
    runs
}

/// The JS options object for the CLI's flags, and the manifest text; `None` for runs whose
/// output the JS API does not give (tables).
fn options(args: &[String]) -> Option<(String, JsValue, bool)> {
    let o: JsValue = Object::new().into();
    let mut it = args.iter();
    let cmd = it.next().expect("subcommand").clone();
    if cmd != "plan" && cmd != "route" {
        return None; // `diff` has no JS API yet
    }
    let mut json = false;
    let mut text = None;
    while let Some(flag) = it.next() {
        let mut val = || it.next().expect("flag value").clone();
        match flag.as_str() {
            "-o" => json = val() == "json",
            "-f" => {
                let path = val();
                // A device or absolute path (`-f /dev/zero`) tests file reading, which the JS
                // API does not do: it is given text.
                if path.starts_with('/') {
                    return None;
                }
                text = Some(read_file_sync(&format!("{}/{path}", root()), "utf8"));
                set(&o, "file", path.into());
            }
            "--node" => set(&o, "node", val().into()),
            "--service-cidr" => push(&o, "serviceCidrs", &val()),
            "--pod-cidr" => push(&o, "podCidrs", &val()),
            "--node-port-range" => set(&o, "nodePortRange", val().into()),
            "--ipvs-scheduler" | "--scheduler" => set(&o, "scheduler", val().into()),
            "--cluster-domain" => set(&o, "clusterDomain", val().into()),
            "--seed" => set(&o, "seed", val().parse::<f64>().expect("seed").into()),
            "--nodes" => set(&o, "nodes", val().parse::<f64>().expect("nodes").into()),
            "--to" => set(&o, "to", val().into()),
            "--from" => push(&o, "from", &val()),
            "--count" => set(&o, "count", val().parse::<f64>().expect("count").into()),
            "--interval" => set(
                &o,
                "interval",
                val().parse::<f64>().expect("interval").into(),
            ),
            "--duration" => set(
                &o,
                "duration",
                val().parse::<f64>().expect("duration").into(),
            ),
            "--protocol" => set(&o, "protocol", val().into()),
            "--proxy-mode" => set(&o, "proxyMode", val().into()),
            "--client-location" => set(&o, "clientLocation", val().into()),
            "--refusing" => push(&o, "refusing", &val()),
            "--trace-rules" => set(&o, "traceRules", true.into()),
            "-n" | "--namespace" => set(&o, "namespace", val().into()),
            // kube-proxy's netfilter flags shape `plan -o nftables-ipvs` (and, for
            // --nodeport-addresses, which NodePorts exist), options the JS API does not have
            // yet: the CLI's fixtures pin those runs.
            "--cluster-cidr"
            | "--masquerade-all"
            | "--iptables-masquerade-bit"
            | "--nodeport-addresses" => return None,
            other => panic!("flag {other} has no JS API option: mirror it in web/src/api.rs"),
        }
    }
    Some((text.expect("-f"), o, json)).filter(|_| cmd == "plan" || cmd == "route")
}

fn call(cmd: &str, text: &str, o: JsValue) -> Result<JsValue, JsValue> {
    match cmd {
        "plan" => svcroute_web::js_plan(JsValue::from_str(text), o),
        _ => svcroute_web::js_route(JsValue::from_str(text), o),
    }
}

fn get_str(v: &JsValue, k: &str) -> Option<String> {
    Reflect::get(v, &k.into())
        .ok()
        .and_then(|x| x.as_string().or_else(|| x.as_f64().map(|n| n.to_string())))
}

#[wasm_bindgen_test]
fn plan_and_route_give_the_clis_json_and_errors() {
    let dir = format!("{}/tests/fixtures", root());
    let mut names: Vec<String> = readdir_sync(&dir)
        .iter()
        .filter_map(|v| v.as_string())
        .filter(|n| n.ends_with(".out"))
        .collect();
    names.sort();
    let (mut same_json, mut same_error, mut same_live) = (0, 0, 0);
    for name in &names {
        let out = read_file_sync(&format!("{dir}/{name}"), "utf8");
        for run in runs(&out) {
            let Some((text, o, json)) = options(&run.args) else {
                continue;
            };
            let what = format!("{name}: svcroute {}", run.args.join(" "));
            // Issue 7: a live Cluster of the same text and options plans the same, or throws
            // the same first error.
            if run.args[0] == "plan" && (json || run.exit != 0) {
                let live = svcroute_web::JsCluster::new(JsValue::from_str(&text), o.clone())
                    .and_then(|c| c.plan());
                let direct = call("plan", &text, o.clone());
                match (live, direct) {
                    (Ok(a), Ok(b)) => assert_eq!(
                        JSON::stringify(&a).expect("stringify").as_string(),
                        JSON::stringify(&b).expect("stringify").as_string(),
                        "{what}: Cluster.plan() differs from plan()"
                    ),
                    (Err(a), Err(b)) => assert_eq!(
                        get_str(&a, "message"),
                        get_str(&b, "message"),
                        "{what}: Cluster and plan throw differently"
                    ),
                    (a, _) => panic!("{what}: only one of Cluster and plan threw: {}", a.is_err()),
                }
                same_live += 1;
            }
            let got = call(&run.args[0], &text, o);
            match (run.exit, got) {
                (0, Ok(v)) if json => {
                    let want = JSON::parse(&run.stdout)
                        .unwrap_or_else(|_| panic!("{what}: stdout is not JSON"));
                    let want = JSON::stringify(&want).expect("stringify").as_string();
                    let got = JSON::stringify(&v).expect("stringify").as_string();
                    assert_eq!(got, want, "{what}");
                    same_json += 1;
                }
                (0, Ok(_)) => {}
                (0, Err(e)) => panic!(
                    "{what}: the CLI succeeded, the API threw {:?}",
                    get_str(&e, "text")
                ),
                (_, Ok(_)) => panic!("{what}: the CLI failed, the API did not"),
                (_, Err(e)) => {
                    let first = run
                        .stderr
                        .lines()
                        .find(|l| l.starts_with("error: "))
                        .unwrap_or_else(|| panic!("{what}: no error line"));
                    let shown = match get_str(&e, "path") {
                        Some(path) => format!(
                            "error: {path}:{}:{}: {}",
                            get_str(&e, "line").unwrap_or_default(),
                            get_str(&e, "column").unwrap_or_default(),
                            get_str(&e, "message").unwrap_or_default()
                        ),
                        None => format!("error: {}", get_str(&e, "message").unwrap_or_default()),
                    };
                    // clap wraps a flag's own error: `invalid value 'X' for '--flag <V>': MSG`;
                    // the JS API throws MSG.
                    let first = match first.split_once("' for '--") {
                        Some((head, rest)) if head.starts_with("error: invalid value '") => rest
                            .split_once(">': ")
                            .map_or(first.to_owned(), |(_, msg)| format!("error: {msg}")),
                        _ => first.to_owned(),
                    };
                    assert_eq!(shown, first, "{what}");
                    assert_eq!(get_str(&e, "name").as_deref(), Some("SvcrouteError"));
                    same_error += 1;
                }
            }
        }
    }
    // The fixtures hold at least these many JSON runs and failing runs today; a parser that
    // silently matched nothing must not pass.
    assert!(same_json >= 10, "only {same_json} JSON runs compared");
    assert!(same_error >= 3, "only {same_error} failing runs compared");
    assert!(same_live >= 10, "only {same_live} Cluster plans compared");
}

#[wasm_bindgen_test]
fn options_are_checked_like_flags() {
    let text = read_file_sync(
        &format!("{}/examples/service-clusterip.yaml", root()),
        "utf8",
    );
    let o: JsValue = Object::new().into();
    set(&o, "scheduler", "fastest".into());
    let e = svcroute_web::js_plan(JsValue::from_str(&text), o).expect_err("unknown scheduler");
    assert!(get_str(&e, "message").is_some_and(|m| m.contains("one of: rr")));
    let o: JsValue = Object::new().into();
    set(&o, "nodez", 3.into());
    let e = svcroute_web::js_plan(JsValue::from_str(&text), o).expect_err("unknown option");
    assert!(get_str(&e, "message").is_some_and(|m| m.contains("unknown option \"nodez\"")));
    let e = svcroute_web::js_route(JsValue::from_str(&text), JsValue::UNDEFINED)
        .expect_err("to is required");
    assert!(get_str(&e, "message").is_some_and(|m| m.contains("to is required")));
}

#[wasm_bindgen_test]
fn the_default_file_name_is_manifest_yaml() {
    let e = svcroute_web::js_plan(
        JsValue::from_str(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  selectpr: {}\n",
        ),
        JsValue::UNDEFINED,
    )
    .expect_err("typo");
    assert_eq!(get_str(&e, "path").as_deref(), Some("manifest.yaml"));
    assert_eq!(get_str(&e, "line").as_deref(), Some("6"));
    assert_eq!(get_str(&e, "column").as_deref(), Some("3"));
    let diags: Array = Reflect::get(&e, &"diagnostics".into())
        .expect("diagnostics")
        .into();
    assert!(diags.length() >= 1);
}

#[wasm_bindgen_test]
fn node_has_no_dom_and_needs_none() {
    assert!(
        Reflect::get(&js_sys::global(), &"document".into())
            .expect("global")
            .is_undefined()
    );
    let text = read_file_sync(&format!("{}/examples/deployment.yaml", root()), "utf8");
    let plan = svcroute_web::js_plan(JsValue::from_str(&text), JsValue::UNDEFINED).expect("plan");
    assert_eq!(get_str(&plan, "node").as_deref(), Some("node-1"));
}
