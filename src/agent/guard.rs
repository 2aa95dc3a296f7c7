//! The agent's guards: what keeps a bad read of the manifests, or a foreign address, from
//! costing a node its rules. Pure functions over the agent's values, tested without a kernel.
//!
//! - [`Stable`]: a change of the manifests is taken only when two polls in a row see the same
//!   thing (a file caught mid-write by a poll is not applied).
//! - [`is_empty_input`]: a read with no objects at all (an empty or just-truncated file) is not
//!   a plan, unless the operator said so (`--allow-empty`).
//! - [`check_deletions`]: a plan that would delete most of the virtual servers (or addresses)
//!   the agent owns is refused, unless `--allow-empty`.
//! - [`Addresses`]: which addresses on the dummy interface the agent may own: never the node's
//!   own addresses (the Node's, or any address bound on another interface, as kube-proxy's
//!   `shouldBind := !nodeAddressSet.Has(ip)`), and only addresses inside the service CIDRs, the
//!   plan's own addresses (externalIPs and validated ingress IPs) or addresses this process bound.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use svcroute_core::diff::{Op, State};
use svcroute_core::reconcile::Observed;

/// A value taken only once two successive offers agree: the poll loop offers the manifests'
/// fingerprint every poll, and their content at every full resync.
#[derive(Debug, Clone)]
pub struct Stable<T> {
    accepted: T,
    candidate: Option<T>,
}

impl<T: PartialEq> Stable<T> {
    /// Starts from what is already taken.
    pub fn new(accepted: T) -> Self {
        Stable {
            accepted,
            candidate: None,
        }
    }

    /// Offers what a poll saw. `true` when it differs from what was taken and the previous
    /// offer saw the same: it is now taken.
    pub fn offer(&mut self, seen: T) -> bool {
        if seen == self.accepted {
            self.candidate = None;
            return false;
        }
        if self.candidate.as_ref() == Some(&seen) {
            self.accepted = seen;
            self.candidate = None;
            return true;
        }
        self.candidate = Some(seen);
        false
    }

    /// Takes a value without waiting (the fingerprint already was stable).
    pub fn accept(&mut self, value: T) {
        self.accepted = value;
        self.candidate = None;
    }

    /// Whether a change was seen once and waits for a second look.
    pub fn pending(&self) -> bool {
        self.candidate.is_some()
    }

    /// What is taken.
    pub fn accepted(&self) -> &T {
        &self.accepted
    }
}

/// Whether the manifests hold no object at all: every file is empty, blank, or only comments
/// and document markers. Such a read is what a poll sees of a file a shell `>` just truncated.
pub fn is_empty_input<'a>(texts: impl IntoIterator<Item = &'a str>) -> bool {
    texts.into_iter().all(|t| {
        t.lines().all(|l| {
            let l = l.trim();
            l.is_empty() || l.starts_with('#') || l == "---" || l == "..."
        })
    })
}

/// A plan the guard refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What would be deleted.
    pub deleted: usize,
    /// Out of how many owned.
    pub owned: usize,
    /// `"virtual servers"` or `"addresses"`.
    pub what: &'static str,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refusing a plan that deletes {} of the {} {} the agent owns (more than half): an \
             empty or truncated manifest? The kernel is left as it is; pass --allow-empty to \
             apply such plans",
            self.deleted, self.owned, self.what
        )
    }
}

impl std::error::Error for Refusal {}

/// Refuses `ops` when they delete more than half of the virtual servers, or of the addresses,
/// the agent owns in `observed` (what it keeps of them plus what it deletes).
pub fn check_deletions(observed: &Observed, desired: &State, ops: &[Op]) -> Result<(), Refusal> {
    let deleted_vs = ops
        .iter()
        .filter(|op| matches!(op, Op::DeleteVirtualServer { .. }))
        .count();
    let kept_vs = observed
        .virtual_servers
        .keys()
        .filter(|k| desired.virtual_servers.contains_key(k))
        .count();
    if deleted_vs > kept_vs {
        return Err(Refusal {
            deleted: deleted_vs,
            owned: deleted_vs + kept_vs,
            what: "virtual servers",
        });
    }
    let deleted_addresses = ops
        .iter()
        .filter(|op| matches!(op, Op::DeleteAddress { .. }))
        .count();
    let kept_addresses = observed.addresses.intersection(&desired.addresses).count();
    if deleted_addresses > kept_addresses {
        return Err(Refusal {
            deleted: deleted_addresses,
            owned: deleted_addresses + kept_addresses,
            what: "addresses",
        });
    }
    Ok(())
}

/// Which addresses the agent may bind, own and unbind on its interface.
#[derive(Debug, Clone)]
pub struct Addresses<'a> {
    /// The Node's own addresses, as the manifests give them.
    pub node: &'a BTreeSet<IpAddr>,
    /// Addresses the kernel holds on any other interface.
    pub local: &'a BTreeSet<IpAddr>,
    /// The service CIDRs (ClusterIPs).
    pub service_cidrs: &'a [IpNet],
    /// The plan's addresses (ClusterIPs, externalIPs, validated ingress IPs).
    pub wanted: &'a BTreeSet<IpAddr>,
    /// What this process bound itself.
    pub bound_by_us: &'a BTreeSet<IpAddr>,
}

impl Addresses<'_> {
    /// A node address: never bound on the dummy, never owned, never unbound.
    pub fn is_node(&self, a: &IpAddr) -> bool {
        self.node.contains(a) || self.local.contains(a)
    }

    /// Whether an address on the dummy is the agent's.
    pub fn owns(&self, a: &IpAddr) -> bool {
        !self.is_node(a)
            && (self.service_cidrs.iter().any(|c| c.contains(a))
                || self.wanted.contains(a)
                || self.bound_by_us.contains(a))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use svcroute_core::config::Scheduler;
    use svcroute_core::diff::VsConfig;
    use svcroute_core::model::Protocol;
    use svcroute_core::plan::VsKey;
    use svcroute_core::reconcile::{Ownership, reconcile};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn state(n: u8) -> State {
        let mut s = State::default();
        for i in 0..n {
            let address = ip(&format!("10.96.0.{}", i + 1));
            s.addresses.insert(address);
            s.virtual_servers.insert(
                VsKey {
                    address,
                    port: 80,
                    protocol: Protocol::Tcp,
                },
                (
                    VsConfig {
                        scheduler: Scheduler::RoundRobin,
                        persistence_timeout_seconds: None,
                    },
                    Default::default(),
                ),
            );
        }
        s
    }

    /// Issue 8: a poll that catches a file mid-write (`>` truncates first) must not apply it;
    /// the next poll seeing the same thing does.
    #[test]
    fn bug_truncated_mid_write_is_not_applied_until_stable() {
        let mut w = Stable::new((100u64, 1u64));
        assert!(!w.offer((0, 2)), "truncated: seen once");
        assert!(!w.offer((60, 2)), "still growing: seen once");
        assert!(w.offer((60, 2)), "stable across two polls: taken");
        assert!(!w.offer((60, 2)), "taken once");
        assert_eq!(*w.accepted(), (60, 2));
        // Back to the taken value cancels a candidate.
        assert!(!w.offer((10, 3)));
        assert!(w.pending());
        assert!(!w.offer((60, 2)));
        assert!(!w.pending());
    }

    /// Issue 8: `cp -p` / `rsync -t` keep size and mtime; the content comparison at a full
    /// resync sees the edit (and takes it at the next look when it is still the same).
    #[test]
    fn bug_same_size_same_mtime_edit_is_seen_by_content() {
        let mut content = Stable::new(vec![(
            "m.yaml".to_owned(),
            "clusterIP: 10.96.0.10".to_owned(),
        )]);
        let edited = vec![("m.yaml".to_owned(), "clusterIP: 10.96.0.19".to_owned())];
        assert!(!content.offer(edited.clone()));
        assert!(content.offer(edited));
    }

    /// Issue 8: an empty or blank read is not a plan.
    #[test]
    fn bug_empty_read_is_recognised() {
        assert!(is_empty_input([""]));
        assert!(is_empty_input(["\n  \n# only a comment\n---\n", ""]));
        assert!(!is_empty_input(["", "kind: Service"]));
        assert!(!is_empty_input(["{}"]));
    }

    /// Issue 8: a truncated manifest (one Service of six left) would delete most of what the
    /// agent owns: refused. Deleting a minority goes through.
    #[test]
    fn bug_truncated_manifest_wipes_the_node_is_refused() {
        let kernel = Observed::idle(&state(6));
        let truncated = state(1);
        let ops = reconcile(&kernel, &truncated, &Ownership::default());
        let r = check_deletions(&kernel, &truncated, &ops).unwrap_err();
        assert_eq!((r.deleted, r.owned, r.what), (5, 6, "virtual servers"));
        assert!(r.to_string().contains("--allow-empty"));

        let empty = State::default();
        let ops = reconcile(&kernel, &empty, &Ownership::default());
        assert!(check_deletions(&kernel, &empty, &ops).is_err());

        let fewer = state(4);
        let ops = reconcile(&kernel, &fewer, &Ownership::default());
        assert_eq!(check_deletions(&kernel, &fewer, &ops), Ok(()));
        // A fresh node: nothing owned, nothing refused.
        let ops = reconcile(&Observed::default(), &state(3), &Ownership::default());
        assert_eq!(
            check_deletions(&Observed::default(), &state(3), &ops),
            Ok(())
        );
    }

    /// Issue 8: an externalIP equal to the node's address does not make the node's address the
    /// agent's (kube-proxy: `shouldBind := !nodeAddressSet.Has(ip)`); neither does an address
    /// outside the service CIDRs that the plan does not name.
    #[test]
    fn bug_external_ip_equal_to_node_address_is_not_owned() {
        let node = BTreeSet::from([ip("10.1.0.1")]);
        let local = BTreeSet::from([ip("10.1.0.1"), ip("127.0.0.1")]);
        let wanted = BTreeSet::from([ip("10.1.0.1"), ip("10.96.0.10"), ip("203.0.113.7")]);
        let cidrs = ["10.96.0.0/12".parse().unwrap()];
        let a = Addresses {
            node: &node,
            local: &local,
            service_cidrs: &cidrs,
            wanted: &wanted,
            bound_by_us: &BTreeSet::new(),
        };
        assert!(!a.owns(&ip("10.1.0.1")));
        assert!(!a.owns(&ip("127.0.0.1")));
        assert!(a.owns(&ip("10.96.0.10")));
        assert!(a.owns(&ip("10.111.0.1")), "inside the service CIDR");
        assert!(a.owns(&ip("203.0.113.7")), "an externalIP of the plan");
        assert!(!a.owns(&ip("198.51.100.1")), "bound by someone else");
    }
}
