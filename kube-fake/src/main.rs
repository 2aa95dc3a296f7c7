//! `svcroute-kube-fake`: the fake API server as a program, for `kubectl`, the VM and people.
//!
//! ```text
//! svcroute-kube-fake [--listen ADDR] [--seed FILE]... [--script FILE]
//!                    [--bookmark-interval SECS] [--max-watch SECS] [--log-events]
//! ```
//! Seeds are `kubectl get -o json` files (a `List` or one object). The script runs after the
//! seeds, one step per line: `apply FILE`, `delete FILE`, `sleep SECS`, `compact`, `drop`,
//! `wait-watches N`, `exit`; `#` starts a comment. Without `exit` the server runs until killed.
//! It prints `listening on http://ADDR` first. `--log-events` prints on stderr when each watch
//! stream sends events, with the wall-clock time. `POST /fake/apply|delete|compact|drop` change
//! it while it runs.

use std::time::Duration;

use svcroute_kube_fake::{Fake, Options};

fn main() {
    if let Err(e) = run() {
        eprintln!("svcroute-kube-fake: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut listen = "127.0.0.1:0".to_owned();
    let (mut seeds, mut script) = (Vec::new(), None);
    let mut options = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        let secs = |v: String| {
            v.parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0)
                .map(Duration::from_secs_f64)
                .ok_or(format!("{a}: {v:?} is not a number of seconds"))
        };
        match a.as_str() {
            "--listen" => listen = value()?,
            "--seed" => seeds.push(value()?),
            "--script" => script = Some(value()?),
            "--bookmark-interval" => options.bookmark_interval = secs(value()?)?,
            "--max-watch" => options.max_watch = secs(value()?)?,
            "--log-events" => options.log_events = true,
            _ => return Err(format!("unknown argument {a:?}")),
        }
    }
    let addr = listen
        .parse()
        .map_err(|e| format!("--listen {listen}: {e}"))?;
    let fake = Fake::start_on(addr, options).map_err(|e| format!("{listen}: {e}"))?;
    let read = |path: &str| std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"));
    for s in &seeds {
        fake.apply_json(&read(s)?)
            .map_err(|e| format!("{s}: {e}"))?;
    }
    println!("listening on {}", fake.url());
    let steps = match &script {
        Some(p) => read(p)?,
        None => String::new(),
    };
    for (n, line) in steps.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        let at = |e: String| format!("{}:{}: {e}", script.as_deref().unwrap_or(""), n + 1);
        let (op, arg) = line.split_once(' ').unwrap_or((line, ""));
        match op {
            "" => {}
            "apply" | "delete" => {
                let v = serde_json::from_str(&read(arg.trim()).map_err(at)?)
                    .map_err(|e| at(e.to_string()))?;
                let r = if op == "apply" {
                    fake.apply(v)
                } else {
                    fake.delete(v)
                };
                r.map_err(|e| at(e.to_string()))?;
            }
            "sleep" => std::thread::sleep(Duration::from_secs_f64(
                arg.trim()
                    .parse()
                    .map_err(|_| at(format!("sleep {arg:?}")))?,
            )),
            "compact" => fake.compact(),
            "drop" => fake.drop_watches(),
            "wait-watches" => {
                let n = arg
                    .trim()
                    .parse()
                    .map_err(|_| at(format!("wait-watches {arg:?}")))?;
                if !fake.wait_for_watches(n, Duration::from_secs(120)) {
                    return Err(at(format!("{n} watches did not open in 120 s")));
                }
            }
            "exit" => return Ok(()),
            _ => return Err(at(format!("unknown step {op:?}"))),
        }
        println!(
            "step {}: {line} (resourceVersion {})",
            n + 1,
            fake.resource_version()
        );
    }
    loop {
        std::thread::park();
    }
}
