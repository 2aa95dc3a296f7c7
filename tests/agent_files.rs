//! `svcroute agent -f DIR --dry-run` without a kernel: the file input on the core's live
//! cluster. Each step rewrites the manifest and waits for the agent's log, then reads exactly
//! the operations of the sync it logged.
//!
//! Behaviours pinned:
//! - a change re-applies only the objects that changed (issue 7 item 4): one Pod turning not
//!   ready in a file of many objects is one object applied and one operation (its real server
//!   deleted: kube-proxy's graceful termination deletes a real server with no connections);
//! - an object that only moved in its file (an object added above it) is no change;
//! - a new Service is its address and its virtual server;
//! - the file guards keep working: a read of a manifest that lost most of its Services is
//!   refused (the kernel, here the model, is left as it is), and `--allow-empty` takes it;
//! - `--dry-run` needs no IPVS in the kernel (this machine's kernel has none): it starts from
//!   an empty table, keeps its own model, prints each sync's operations.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/agent.rs"]
mod agent;
use agent::{Agent, field};

fn start(dir: &Path, extra: &[&str]) -> Agent {
    Agent::spawn(
        Command::new(env!("CARGO_BIN_EXE_svcroute"))
            .args(["agent", "--dry-run", "--nftables=false", "-f"])
            .arg(dir)
            .args(["--watch-interval-ms", "100", "--sync-period", "1h"])
            .args(["--ipvs-min-sync-period", "0"])
            .args(extra),
    )
}

/// The operations of the next sync.
fn sync(agent: &mut Agent) -> Vec<String> {
    agent.sync_logged("sync: sent")
}

/// A Node, `services` Services of three ready Pods each (`app: sN`, ClusterIP 10.96.1.N, Pods
/// at 10.244.N.1-3) with `not_ready` Pods (by name) not ready; `pad` comment lines first.
fn manifest(services: u32, not_ready: &[&str], pad: usize) -> String {
    let mut m = "# padding\n".repeat(pad);
    m.push_str(
        "apiVersion: v1\nkind: Node\nmetadata: {name: node-1}\n\
         status: {addresses: [{type: InternalIP, address: 192.168.0.10}]}\n",
    );
    for s in 1..=services {
        write!(
            m,
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: s{s}, namespace: default}}\n\
             spec: {{clusterIP: 10.96.1.{s}, selector: {{app: s{s}}}, ports: [{{port: 80, targetPort: 8080}}]}}\n"
        )
        .unwrap();
        for p in 1..=3 {
            let name = format!("s{s}-p{p}");
            let ready = if not_ready.contains(&name.as_str()) {
                "False"
            } else {
                "True"
            };
            write!(
                m,
                "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: default, labels: {{app: s{s}}}}}\n\
                 spec: {{nodeName: node-1, containers: [{{name: c, image: x}}]}}\n\
                 status: {{phase: Running, podIP: 10.244.{s}.{p}, conditions: [{{type: Ready, status: \"{ready}\"}}]}}\n"
            )
            .unwrap();
        }
    }
    m
}

/// Replaces the manifest as an editor would (a new file renamed over the old one).
fn write(dir: &Path, text: &str) {
    let tmp = dir.join("m.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join("m.yaml")).unwrap();
}

fn workdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("agent-files-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_changed_file_applies_only_the_changed_objects() {
    let dir = workdir("changes");
    std::fs::write(dir.join("m.yaml"), manifest(20, &[], 0)).unwrap();
    let mut agent = start(&dir, &[]);
    let first = sync(&mut agent);
    assert_eq!(first.len(), 20 * (1 + 1 + 3), "{first:?}"); // address, vs, 3 rs each
    assert!(
        agent
            .log
            .iter()
            .any(|l| l.contains("starting from an empty table")),
        "{:?}",
        agent.log
    );

    // One Pod turns not ready: one object applied, one operation.
    write(&dir, &manifest(20, &["s7-p2"], 0));
    let line = agent.wait_log("manifests changed");
    assert_eq!(field(&line, "applied"), "1", "{line}");
    assert_eq!(field(&line, "deleted"), "0", "{line}");
    assert_eq!(field(&line, "rebuilt"), "false", "{line}");
    assert_eq!(field(&line, "operations"), "1", "{line}");
    assert_eq!(sync(&mut agent), ["-d -t 10.96.1.7:80 -r 10.244.7.2:8080"]);

    // Every object moves down its file: the same objects, nothing applied, no sync.
    write(&dir, &manifest(20, &["s7-p2"], 3));
    let line = agent.wait_log("manifests changed");
    assert!(line.contains("the plan is the same"), "{line}");
    assert_eq!(field(&line, "applied"), "0", "{line}");

    // A Service more (with its Pods): its address, virtual server and real servers.
    write(&dir, &manifest(21, &["s7-p2"], 3));
    let line = agent.wait_log("manifests changed");
    assert_eq!(field(&line, "applied"), "4", "{line}");
    let mut ops = sync(&mut agent);
    ops.sort();
    assert_eq!(
        ops,
        [
            "-A -t 10.96.1.21:80 -s rr",
            "-a -t 10.96.1.21:80 -r 10.244.21.1:8080 -m -w 1",
            "-a -t 10.96.1.21:80 -r 10.244.21.2:8080 -m -w 1",
            "-a -t 10.96.1.21:80 -r 10.244.21.3:8080 -m -w 1",
            "ip addr add 10.96.1.21",
        ]
    );
}

#[test]
fn mass_deletion_from_a_file_is_refused_unless_allow_empty() {
    for allow in [false, true] {
        let dir = workdir(if allow { "allow" } else { "guard" });
        std::fs::write(dir.join("m.yaml"), manifest(10, &[], 0)).unwrap();
        let extra: &[&str] = if allow { &["--allow-empty"] } else { &[] };
        let mut agent = start(&dir, extra);
        assert_eq!(sync(&mut agent).len(), 10 * 5);
        // The file loses 8 of its 10 Services (a truncated write?).
        write(&dir, &manifest(2, &[], 0));
        let line = agent.wait_log("manifests changed");
        assert_eq!(field(&line, "deleted"), "32", "{line}"); // 8 Services, 24 Pods
        if allow {
            let ops = sync(&mut agent);
            assert_eq!(ops.len(), 16, "8 virtual servers and 8 addresses: {ops:?}");
        } else {
            let line = agent.wait_log("refusing a plan");
            assert!(
                line.contains("deletes 8 of the 10 virtual servers"),
                "{line}"
            );
        }
    }
}
