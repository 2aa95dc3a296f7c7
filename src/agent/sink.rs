//! Where the agent's syncs go: the kernel ([`Dataplane`]), or for `--dry-run` a model of the
//! table that starts from the kernel's when it has IPVS (else empty, with a warning), changes
//! with every sync and prints each sync's operations in `ipvsadm` words on stdout, flushed per
//! sync. Both sources use it: the API ([`super::api`]) and the files' loop.

use std::io::Write;
use std::time::Instant;

use anyhow::Result;
use svcroute_core::diff::Op;
use svcroute_core::reconcile::{Observed, reconcile};

use super::{Dataplane, Desired, SyncReport, guard};

/// What kind of sync is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncKind {
    /// Dump the kernel and repair everything (every sync period).
    Full,
    /// From the state the last sync left (after a change).
    Partial,
}

/// Where syncs go: the kernel, or (`--dry-run`) a model of the table printed as it changes.
pub enum Sink {
    /// The kernel.
    Kernel(Box<Dataplane>),
    /// The dry run's own table: read from the kernel at the first sync when it has IPVS,
    /// else empty.
    Model {
        /// The kernel to read the first table from (`None`: no IPVS).
        kernel: Option<Box<Dataplane>>,
        /// The table, from the first sync on.
        table: Option<Observed>,
    },
}

impl Sink {
    /// The kernel, or for `dry_run` the model (a warning when the kernel has no IPVS).
    pub fn open(interface: &str, dry_run: bool, nftables: bool) -> Result<Sink> {
        if !dry_run {
            let d = Dataplane::connect(interface, false, nftables)?;
            return Ok(Sink::Kernel(Box::new(d)));
        }
        let kernel = match Dataplane::connect(interface, true, false) {
            Ok(d) => Some(Box::new(d)),
            Err(e) => {
                tracing::warn!(
                    "--dry-run: cannot read the kernel's IPVS table ({e:#}); starting from an empty table"
                );
                None
            }
        };
        Ok(Sink::Model {
            kernel,
            table: None,
        })
    }

    /// Fails when `--interface` names an existing link that is not a dummy (the kernel only).
    pub fn check_interface(&mut self) -> Result<()> {
        match self {
            Sink::Kernel(d) => d.check_interface(),
            Sink::Model { .. } => Ok(()),
        }
    }

    /// Turns the kernel's conntrack cleanup off (`--conntrack-cleanup=false`).
    pub fn disable_conntrack_cleanup(&mut self) {
        if let Sink::Kernel(d) = self {
            d.disable_conntrack_cleanup();
        }
    }

    /// One sync; the model's operations (the kernel's are counted in the report only). The
    /// model keeps the file input's guard against mass deletion (`Desired::allow_deletions`)
    /// as the kernel does.
    pub fn sync(&mut self, desired: &Desired, kind: SyncKind) -> Result<(SyncReport, Vec<Op>)> {
        match self {
            Sink::Kernel(d) => {
                let r = match kind {
                    SyncKind::Full => d.sync(desired)?,
                    SyncKind::Partial => d.sync_incremental(desired)?,
                };
                Ok((r, Vec::new()))
            }
            Sink::Model { kernel, table } => {
                let started = Instant::now();
                let observed = table.get_or_insert_with(|| {
                    match kernel.take().map(|mut k| k.observe(desired)) {
                        Some(Ok((o, _))) => o,
                        Some(Err(e)) => {
                            tracing::warn!(
                                "--dry-run: cannot read the kernel's table ({e:#}); starting from an empty table"
                            );
                            Observed::default()
                        }
                        None => Observed::default(),
                    }
                });
                let ops = reconcile(observed, &desired.state, &desired.owned);
                if !desired.allow_deletions {
                    guard::check_deletions(observed, &desired.state, &ops)?;
                }
                let mut out = std::io::stdout().lock();
                for op in &ops {
                    writeln!(out, "{}", super::ipvs::describe(op))?;
                }
                out.flush()?;
                super::apply_to(observed, &ops);
                let report = SyncReport {
                    operations: ops.len(),
                    elapsed: started.elapsed(),
                    ..SyncReport::default()
                };
                Ok((report, ops))
            }
        }
    }
}
