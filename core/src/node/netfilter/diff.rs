//! From one netfilter plan to the next: set elements added and removed, and a whole table
//! only when its rules change (a new table, other flags) — the nftables counterpart of
//! [`crate::diff`]. A changed endpoint changes set elements, never the table.

use alloc::vec::Vec;

use super::{Element, NetfilterPlan, SetId, Table};
use crate::model::Family;

/// One change to the agent's nftables tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NfOp {
    /// Create the table (deleting one of that name first): rules, sets and elements.
    Replace(Table),
    /// Delete the table of a family.
    Delete(Family),
    /// Add elements to a set.
    AddElements {
        /// The table's family.
        family: Family,
        /// The set.
        set: SetId,
        /// The elements, sorted.
        elements: Vec<Element>,
    },
    /// Remove elements from a set.
    DeleteElements {
        /// The table's family.
        family: Family,
        /// The set.
        set: SetId,
        /// The elements, sorted.
        elements: Vec<Element>,
    },
}

/// The operations that turn `old` (what the kernel holds; `None` for nothing) into `new`.
/// Deletions come before additions within a set, so an element that moves between sets is
/// never in both.
pub fn diff(old: &NetfilterPlan, new: &NetfilterPlan) -> Vec<NfOp> {
    let mut ops = Vec::new();
    for t in &old.tables {
        if new.table(t.family).is_none() {
            ops.push(NfOp::Delete(t.family));
        }
    }
    for t in &new.tables {
        match old.table(t.family) {
            Some(o) if o.options == t.options => table_elements(o, t, &mut ops),
            _ => ops.push(NfOp::Replace(t.clone())),
        }
    }
    ops
}

fn table_elements(old: &Table, new: &Table, ops: &mut Vec<NfOp>) {
    let mut adds = Vec::new();
    for set in SetId::ALL {
        let (Some(a), Some(b)) = (old.sets.get(&set), new.sets.get(&set)) else {
            continue;
        };
        let gone: Vec<Element> = a.difference(b).copied().collect();
        let added: Vec<Element> = b.difference(a).copied().collect();
        if !gone.is_empty() {
            ops.push(NfOp::DeleteElements {
                family: new.family,
                set,
                elements: gone,
            });
        }
        if !added.is_empty() {
            adds.push(NfOp::AddElements {
                family: new.family,
                set,
                elements: added,
            });
        }
    }
    ops.extend(adds);
}

/// Applies operations to a plan (what the kernel does with them): `apply(a, diff(a, b)) == b`.
pub fn apply(plan: &mut NetfilterPlan, ops: &[NfOp]) {
    for op in ops {
        match op {
            NfOp::Replace(t) => {
                plan.tables.retain(|x| x.family != t.family);
                plan.tables.push(t.clone());
            }
            NfOp::Delete(f) => plan.tables.retain(|x| x.family != *f),
            NfOp::AddElements {
                family,
                set,
                elements,
            } => {
                if let Some(t) = plan.tables.iter_mut().find(|t| t.family == *family) {
                    t.sets
                        .entry(*set)
                        .or_default()
                        .extend(elements.iter().copied());
                }
            }
            NfOp::DeleteElements {
                family,
                set,
                elements,
            } => {
                if let Some(s) = plan
                    .tables
                    .iter_mut()
                    .find(|t| t.family == *family)
                    .and_then(|t| t.sets.get_mut(set))
                {
                    for e in elements {
                        s.remove(e);
                    }
                }
            }
        }
    }
    crate::sort::sort_by_key(&mut plan.tables, |t| t.family);
}
