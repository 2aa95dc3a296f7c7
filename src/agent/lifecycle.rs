//! The agent's life: one agent per node (an exclusive `flock` on a file under `/run`), and a
//! clean stop on SIGTERM/SIGINT.
//!
//! - The lock is `flock(LOCK_EX | LOCK_NB)` through rustix (no `unsafe`). The kernel drops it
//!   when the process ends however it ends (`kill -9` included), so a stale file never blocks a
//!   restart. The holder writes its pid into the file for the second agent's error.
//! - Signals go through `signal-hook`'s `flag` module: the handler only sets an atomic flag,
//!   which the loop reads between syncs, so the sync in flight finishes and the agent exits 0,
//!   leaving the kernel as it is (kube-proxy does not flush on exit either). A second signal
//!   while the first is being handled ends the process at once (exit 1): an operator's second
//!   Ctrl-C is not ignored.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use rustix::fs::FlockOperation;

/// The default lock file.
pub const LOCK_FILE: &str = "/run/svcroute.lock";

/// Holds the node's agent lock while alive.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Takes the single-instance lock at `path`, or fails naming the holder.
pub fn lock(path: &Path) -> Result<Lock> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating {} for the lock file", dir.display()))?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("opening the lock file {}", path.display()))?;
    match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() {
                String::new()
            } else {
                format!(" (pid {holder})")
            };
            bail!(
                "another svcroute agent{who} holds {}: only one agent may program this node's \
                 IPVS table",
                path.display()
            );
        }
        Err(e) => {
            return Err(e).with_context(|| format!("locking {}", path.display()));
        }
    }
    file.set_len(0)?;
    file.rewind()?;
    writeln!(file, "{}", std::process::id())?;
    Ok(Lock { _file: file })
}

/// Set when SIGTERM or SIGINT arrived.
#[derive(Clone, Debug)]
pub struct Shutdown(Arc<AtomicBool>);

impl Shutdown {
    /// Installs the handlers.
    pub fn install() -> Result<Self> {
        let flag = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            // Order matters: the conditional exit is registered first, so it sees the flag as
            // it was before this signal set it.
            signal_hook::flag::register_conditional_shutdown(sig, 1, Arc::clone(&flag))
                .context("installing a signal handler")?;
            signal_hook::flag::register(sig, Arc::clone(&flag))
                .context("installing a signal handler")?;
        }
        Ok(Shutdown(flag))
    }

    /// A flag no signal sets (tests, `--once`).
    #[cfg(test)]
    pub fn never() -> Self {
        Shutdown(Arc::new(AtomicBool::new(false)))
    }

    /// Whether a stop was asked for.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Sleeps `d` in slices, returning early when a stop is asked for.
    pub fn sleep(&self, d: std::time::Duration) {
        let step = std::time::Duration::from_millis(50);
        let end = std::time::Instant::now() + d;
        while !self.requested() {
            let now = std::time::Instant::now();
            if now >= end {
                break;
            }
            std::thread::sleep(step.min(end - now));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Issue 8: two agents fought over `kube-ipvs0`. The second fails with a clear error naming
    /// the first; once the first is gone the lock is free.
    #[test]
    fn bug_two_agents_second_one_is_refused() {
        let dir = std::env::temp_dir().join(format!("svcroute-lock-{}", std::process::id()));
        let path = dir.join("run/svcroute.lock");
        let first = lock(&path).unwrap();
        let err = lock(&path).unwrap_err().to_string();
        assert!(
            err.contains("another svcroute agent")
                && err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        let again = lock(&path);
        assert!(again.is_ok());
        drop(again);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn sleep_returns_at_once_when_stopping() {
        let s = Shutdown::never();
        s.0.store(true, Ordering::SeqCst);
        let t = std::time::Instant::now();
        s.sleep(std::time::Duration::from_secs(60));
        assert!(t.elapsed() < std::time::Duration::from_secs(60));
    }
}
