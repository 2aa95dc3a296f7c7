//! The least-connection family as Linux 6.1 runs it: `lc` (`ip_vs_lc.c`), `wlc`
//! (`ip_vs_wlc.c`), `sed` (`ip_vs_sed.c`) and `nq` (`ip_vs_nq.c`). They keep no state of
//! their own: each reads every destination's ActiveConn / InActConn counters.

use super::{Counts, Dest};
use crate::config::Scheduler;

/// `ip_vs_dest_conn_overhead` of the 6.1 kernel (`include/net/ip_vs.h:1715-1726`):
/// `(activeconns << 8) + inactconns`. (Later kernels changed the second term; the VM boots
/// 6.1.)
pub(crate) fn conn_overhead(c: Counts) -> i64 {
    (i64::from(c.active) << 8) + i64::from(c.inactive)
}

/// `ip_vs_sed_dest_overhead` / `ip_vs_nq_dest_overhead` (`ip_vs_sed.c:42-50`,
/// `ip_vs_nq.c:38-46`): `activeconns + 1`.
fn expected_delay(c: Counts) -> i64 {
    i64::from(c.active) + 1
}

/// Picks a destination as the kernel's scheduler of that name does, or `None` ("no
/// destination available"). `counts(i)` are destination `i`'s counters. No destination is
/// ever overloaded (kube-proxy sets no thresholds).
pub(crate) fn schedule(
    kind: Scheduler,
    dests: &[Dest],
    counts: &dyn Fn(usize) -> Counts,
) -> Option<usize> {
    let w = |i: usize| i64::from(dests[i].weight);
    match kind {
        // ip_vs_lc.c:41-50: skip weight 0; strictly smaller overhead wins (ties: earliest).
        Scheduler::LeastConnection => {
            let mut least: Option<(usize, i64)> = None;
            for i in 0..dests.len() {
                if w(i) == 0 {
                    continue;
                }
                let doh = conn_overhead(counts(i));
                if least.is_none_or(|(_, loh)| doh < loh) {
                    least = Some((i, doh));
                }
            }
            least.map(|(i, _)| i)
        }
        // ip_vs_wlc.c:50-74 and ip_vs_sed.c:78-102: the first destination with weight > 0,
        // then any later one with loh * w(dest) > doh * w(least) (64-bit products; weight-0
        // destinations are not skipped there but can never win). Ties keep the earlier.
        Scheduler::WeightedLeastConnection | Scheduler::ShortestExpectedDelay => {
            let oh = |i: usize| {
                if kind == Scheduler::WeightedLeastConnection {
                    conn_overhead(counts(i))
                } else {
                    expected_delay(counts(i))
                }
            };
            let first = (0..dests.len()).find(|&i| w(i) > 0)?;
            let (mut least, mut loh) = (first, oh(first));
            for i in first + 1..dests.len() {
                let doh = oh(i);
                if i128::from(loh) * i128::from(w(i)) > i128::from(doh) * i128::from(w(least)) {
                    least = i;
                    loh = doh;
                }
            }
            Some(least)
        }
        // ip_vs_nq.c:74-95: skip weight 0; a destination with no active connection is
        // taken at once; otherwise as sed.
        Scheduler::NeverQueue => {
            let mut least: Option<(usize, i64)> = None;
            for i in 0..dests.len() {
                if w(i) == 0 {
                    continue;
                }
                let c = counts(i);
                let doh = expected_delay(c);
                if c.active == 0 {
                    return Some(i);
                }
                let better = match least {
                    None => true,
                    Some((l, loh)) => {
                        i128::from(loh) * i128::from(w(i)) > i128::from(doh) * i128::from(w(l))
                    }
                };
                if better {
                    least = Some((i, doh));
                }
            }
            least.map(|(i, _)| i)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn dests(weights: &[u32]) -> Vec<Dest> {
        crate::sim::test_dests(weights, 80)
    }

    fn c(active: u32, inactive: u32) -> Counts {
        Counts {
            active,
            inactive,
            persistent: 0,
        }
    }

    /// 6.1's overhead: one active connection outweighs 255 inactive ones.
    #[test]
    fn overhead_is_active_times_256_plus_inactive() {
        assert_eq!(conn_overhead(c(1, 0)), 256);
        assert_eq!(conn_overhead(c(0, 255)), 255);
        let d = dests(&[1, 1]);
        let counts = [c(0, 255), c(1, 0)];
        assert_eq!(
            schedule(Scheduler::LeastConnection, &d, &|i| counts[i]),
            Some(0)
        );
    }

    /// Ties go to the earliest in list order (lc: `doh < loh`; wlc: `>` on products).
    #[test]
    fn ties_keep_the_earliest() {
        let d = dests(&[1, 1, 1]);
        let counts = [c(1, 0), c(0, 3), c(0, 3)];
        for s in [
            Scheduler::LeastConnection,
            Scheduler::WeightedLeastConnection,
        ] {
            assert_eq!(schedule(s, &d, &|i| counts[i]), Some(1), "{s}");
        }
        // sed and nq look at active connections only: 1 and 2 tie at 0 active; nq takes the
        // first idle one, sed the first minimum of (active + 1) / weight.
        assert_eq!(
            schedule(Scheduler::ShortestExpectedDelay, &d, &|i| counts[i]),
            Some(1)
        );
        assert_eq!(schedule(Scheduler::NeverQueue, &d, &|i| counts[i]), Some(1));
    }

    /// wlc weighs overhead by weight: 2 active on weight 3 (512/3) beats 1 active on
    /// weight 1 (256/1).
    #[test]
    fn wlc_divides_by_weight() {
        let d = dests(&[1, 3]);
        let counts = [c(1, 0), c(2, 0)];
        assert_eq!(
            schedule(Scheduler::WeightedLeastConnection, &d, &|i| counts[i]),
            Some(1)
        );
        assert_eq!(
            schedule(Scheduler::LeastConnection, &d, &|i| counts[i]),
            Some(0)
        );
    }

    /// nq sends to an idle server even when sed would not: weights 1 and 10, the heavy one
    /// has 1 active: sed compares 1/1 with 2/10 and picks the heavy one; nq picks the idle.
    #[test]
    fn nq_prefers_idle() {
        let d = dests(&[10, 1]);
        let counts = [c(1, 0), c(0, 0)];
        assert_eq!(
            schedule(Scheduler::ShortestExpectedDelay, &d, &|i| counts[i]),
            Some(0)
        );
        assert_eq!(schedule(Scheduler::NeverQueue, &d, &|i| counts[i]), Some(1));
    }

    #[test]
    fn weight_zero_is_never_chosen() {
        let d = dests(&[0, 0]);
        for s in [
            Scheduler::LeastConnection,
            Scheduler::WeightedLeastConnection,
            Scheduler::ShortestExpectedDelay,
            Scheduler::NeverQueue,
        ] {
            assert_eq!(schedule(s, &d, &|_| c(0, 0)), None, "{s}");
        }
    }
}
