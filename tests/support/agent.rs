//! A `svcroute agent` child process for tests: its stdout (the dry-run operations) and stderr
//! (the log) read line by line on threads, bounded waits for a log line and for a sync's
//! operations, SIGTERM, and a kill on drop. Included by the agent tests with `#[path]`.
// Each test crate that includes it uses a part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

/// How long any one wait lasts at most.
pub const WAIT: Duration = Duration::from_secs(60);

/// A running agent; killed when dropped.
pub struct Agent {
    child: Child,
    out: Receiver<String>,
    err: Receiver<String>,
    /// Every log line read so far.
    pub log: Vec<String>,
}

impl Agent {
    /// Starts `command` (the binary and its arguments) with piped output.
    pub fn spawn(command: &mut Command) -> Agent {
        let mut child = command
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the agent starts");
        let lines = |r: Box<dyn Read + Send>| {
            let (tx, rx) = channel();
            std::thread::spawn(move || {
                for line in BufReader::new(r).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            rx
        };
        let out = lines(Box::new(child.stdout.take().unwrap()));
        let err = lines(Box::new(child.stderr.take().unwrap()));
        Agent {
            child,
            out,
            err,
            log: Vec::new(),
        }
    }

    /// The next log line containing `what` (bounded wait).
    pub fn wait_log(&mut self, what: &str) -> String {
        loop {
            let line = self.err.recv_timeout(WAIT).unwrap_or_else(|_| {
                panic!("no log line with {what:?}; log:\n{}", self.log.join("\n"))
            });
            self.log.push(line.clone());
            if line.contains(what) {
                return line;
            }
        }
    }

    /// The operations of the next sync, whose log line contains `marker` and says how many
    /// (`operations=N`).
    pub fn sync_logged(&mut self, marker: &str) -> Vec<String> {
        let line = self.wait_log(marker);
        let n: usize = field(&line, "operations").parse().unwrap();
        (0..n)
            .map(|_| self.out.recv_timeout(WAIT).expect("the sync's operations"))
            .collect()
    }

    /// SIGTERM, then the exit status (bounded wait).
    pub fn stop(mut self) -> ExitStatus {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        for _ in 0..600 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("the agent did not exit after SIGTERM");
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of `name=` in a log line (quotes trimmed).
pub fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let key = format!("{name}=");
    let at = line
        .match_indices(&key)
        .map(|(i, _)| i)
        .find(|&i| i == 0 || line.as_bytes()[i - 1] == b' ')
        .unwrap_or_else(|| panic!("{name} in {line}"))
        + key.len();
    line[at..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_matches('"')
}
