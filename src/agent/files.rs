//! The agent's file input (`-f`) on the core's live cluster ([`Live`]): when the manifests
//! change, the objects are compared with the last ones taken (by kind, namespace and name, and
//! by content, where they were read left aside) and only the changed ones are applied to or
//! deleted from the live cluster, which re-derives and re-plans only the Services they touch.
//! A file that moves one Pod costs that Pod, not a new cluster.
//!
//! The guards stay as they were: an empty read is refused unless `--allow-empty`, the loop takes
//! only reads that are stable across two polls, and a plan deleting most of what the agent owns
//! is refused by the sync ([`super::guard`]). A change the live cluster refuses (what the API
//! server would reject) leaves the last good objects in place.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use anyhow::{Result, bail};
use svcroute_core::cluster::live::{Live, LiveError, Object, ObjectKind};
use svcroute_core::diag::Loc;
use svcroute_core::manifest;
use svcroute_core::model::{ObjectRef, Objects};

use super::{Desired, Inputs, guard};
use crate::cli::AgentArgs;

/// An object's key: kind, namespace and name.
type Key = (ObjectKind, ObjectRef);

/// What one change of the manifests did to the live cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Objects created or changed.
    pub applied: usize,
    /// Objects deleted.
    pub deleted: usize,
    /// Whether the live cluster was built again from every object (the first read, or a
    /// change the object-by-object path refused).
    pub rebuilt: bool,
    /// The operations the live cluster returned (what the node's rules change by).
    pub operations: usize,
}

/// The manifests as a live cluster.
#[derive(Default)]
pub struct Files {
    live: Option<Live>,
    /// A fingerprint of each object's content (without where it was read).
    taken: BTreeMap<Key, u64>,
}

impl Files {
    /// Nothing taken yet.
    pub fn new() -> Files {
        Files::default()
    }

    /// Takes the manifests' text: diagnostics are logged; errors, an empty read (unless
    /// `--allow-empty`) and objects the live cluster refuses fail and keep the last good
    /// objects. Returns this node's plan and what changed.
    pub fn take(&mut self, args: &AgentArgs, inputs: &Inputs) -> Result<(Desired, Applied)> {
        let m = &args.manifests;
        if !args.allow_empty && guard::is_empty_input(inputs.iter().map(|(_, t)| t.as_str())) {
            let names: Vec<&str> = inputs.iter().map(|(n, _)| n.as_str()).collect();
            bail!(
                "the manifests are empty ({}): refusing to plan from an empty read (a file being \
                 rewritten?); pass --allow-empty to mean it",
                names.join(", ")
            );
        }
        let read = manifest::read_all(inputs.iter().map(|(n, t)| (n.as_str(), t.as_str())));
        let mut errors = 0;
        for d in &read.diagnostics {
            if d.is_error() {
                errors += 1;
                tracing::error!("{d}");
            } else {
                tracing::warn!("{d}");
            }
        }
        if errors > 0 {
            bail!("the manifests have {errors} error(s)");
        }
        let objects = Object::all(read.objects);
        let mut next: BTreeMap<Key, u64> = BTreeMap::new();
        let mut duplicate = false;
        for o in &objects {
            duplicate |= next
                .insert((o.kind(), o.id().clone()), content(o))
                .is_some();
        }
        let applied = match self.live.as_mut() {
            Some(live) if !duplicate => {
                let mut a = Applied::default();
                match update(live, &self.taken, &next, objects.clone(), &mut a) {
                    Ok(()) => a,
                    Err(e) => {
                        tracing::info!("{e}: the live cluster is built again from every object");
                        rebuild(live, next.len(), objects)?
                    }
                }
            }
            Some(live) => rebuild(live, next.len(), objects)?,
            None => {
                let config = m.config()?;
                let live = Live::new(gather(objects), config, m.node.as_deref())
                    .map_err(|e| refused(&e))?;
                let operations = live.initial_operations().len();
                self.live = Some(live);
                Applied {
                    applied: next.len(),
                    rebuilt: true,
                    operations,
                    ..Applied::default()
                }
            }
        };
        self.taken = next;
        let live = self.live.as_ref().expect("taken above");
        for w in &live.warnings() {
            tracing::debug!("{w}");
        }
        let plan = live.plan()?;
        for w in &plan.warnings {
            tracing::warn!("{w}");
        }
        Ok((super::desired_of_plan(args, live.cluster(), plan)?, applied))
    }
}

/// Deletes the objects no longer read, then applies the new and changed ones (deletions first:
/// a Service renamed with its ClusterIP frees the address before the new name takes it).
fn update(
    live: &mut Live,
    taken: &BTreeMap<Key, u64>,
    next: &BTreeMap<Key, u64>,
    objects: Vec<Object>,
    a: &mut Applied,
) -> Result<(), LiveError> {
    for (kind, id) in taken.keys().filter(|k| !next.contains_key(*k)) {
        a.operations += live.delete(*kind, id)?.len();
        a.deleted += 1;
    }
    for o in objects {
        let key = (o.kind(), o.id().clone());
        if taken.get(&key) != next.get(&key) {
            a.operations += live.apply(o)?.len();
            a.applied += 1;
        }
    }
    Ok(())
}

/// Replaces every object at once; when the new objects are refused, goes back to the last good
/// ones (the object-by-object path may have left some of the new ones in) and fails.
fn rebuild(live: &mut Live, count: usize, objects: Vec<Object>) -> Result<Applied> {
    let before = live.objects();
    match live.replace(gather(objects)) {
        Ok(ops) => Ok(Applied {
            applied: count,
            rebuilt: true,
            operations: ops.len(),
            ..Applied::default()
        }),
        Err(e) => {
            if live.objects() != before
                && let Err(again) = live.replace(before)
            {
                tracing::error!("the last good objects no longer make a cluster: {again}");
            }
            Err(refused(&e))
        }
    }
}

fn refused(e: &LiveError) -> anyhow::Error {
    let count = match e {
        LiveError::Invalid(errors) => {
            let errors: Vec<_> = errors.0.iter().filter(|d| d.is_error()).collect();
            for d in &errors {
                tracing::error!("{d}");
            }
            errors.len()
        }
        LiveError::NotFound(..) => {
            tracing::error!("{e}");
            1
        }
    };
    anyhow::anyhow!("the manifests have {count} error(s)")
}

/// The objects back in the core's lists (kind order, then input order).
fn gather(objects: Vec<Object>) -> Objects {
    let mut out = Objects::default();
    for o in objects {
        match o {
            Object::Service(x) => out.services.push(x),
            Object::Pod(x) => out.pods.push(x),
            Object::Node(x) => out.nodes.push(x),
            Object::EndpointSlice(x) => out.slices.push(x),
            Object::Workload(x) => out.workloads.push(x),
        }
    }
    out
}

/// A fingerprint of what an object says, not where it was read: an object that only moved in
/// its file (another one added above it) is no change.
fn content(o: &Object) -> u64 {
    let mut o = o.clone();
    let nowhere = Loc::default();
    let meta = match &mut o {
        Object::Service(s) => {
            for l in [&mut s.cluster_ip_loc, &mut s.ip_family_policy_loc]
                .into_iter()
                .flatten()
            {
                *l = nowhere.clone();
            }
            for p in &mut s.ports {
                if let Some(l) = &mut p.node_port_loc {
                    *l = nowhere.clone();
                }
            }
            &mut s.meta
        }
        Object::Pod(x) => &mut x.meta,
        Object::Node(x) => &mut x.meta,
        Object::EndpointSlice(x) => &mut x.meta,
        Object::Workload(x) => &mut x.meta,
    };
    meta.loc = nowhere;
    let mut h = std::hash::DefaultHasher::new();
    // Debug prints every field; hashing it through a writer allocates nothing.
    let mut w = HashWriter(&mut h);
    let _ = std::fmt::Write::write_fmt(&mut w, format_args!("{o:?}"));
    h.finish()
}

struct HashWriter<'a, H: Hasher>(&'a mut H);

impl<H: Hasher> std::fmt::Write for HashWriter<'_, H> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        s.hash(self.0);
        Ok(())
    }
}
