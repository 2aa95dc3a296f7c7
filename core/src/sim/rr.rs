//! Round robin (`rr`, `net/netfilter/ipvs/ip_vs_rr.c`) and weighted round robin (`wrr`,
//! `ip_vs_wrr.c`) as Linux 6.1 runs them, with their state between connections.

use super::{Dest, DestId};

/// `rr`'s state: `svc->sched_data`, the list entry of the last chosen destination, or the
/// list head (`None`) on a new service (`ip_vs_rr.c:26-30`).
#[derive(Clone, Debug, Default)]
pub(crate) struct Rr {
    cursor: Option<DestId>,
}

impl Rr {
    /// `ip_vs_rr_del_dest` (`ip_vs_rr.c:33-46`): when the removed destination is the cursor,
    /// the cursor steps back to its predecessor in the list (`p->next->prev`), the list head
    /// when it was first. `pred` is that predecessor.
    pub fn del_dest(&mut self, removed: DestId, pred: Option<DestId>) {
        if self.cursor == Some(removed) {
            self.cursor = pred;
        }
    }

    /// The last chosen destination (`None`: the list head).
    pub fn cursor(&self) -> Option<DestId> {
        self.cursor
    }

    /// `ip_vs_rr_schedule` (`ip_vs_rr.c:52-98`): from the entry after the cursor to the end
    /// of the list, then (unless the cursor is the head) from the start up to and including
    /// the cursor; the first destination with weight > 0 wins and becomes the cursor.
    /// (No thresholds are set by kube-proxy, so no destination is ever overloaded.)
    pub fn schedule(&mut self, dests: &[Dest]) -> Option<usize> {
        let n = dests.len();
        let start = match self.cursor {
            None => 0,
            Some(c) => dests.iter().position(|d| d.id == c).map_or(0, |p| p + 1),
        };
        // From start, n entries: with a cursor the last one checked is the cursor itself.
        for k in 0..n {
            let i = (start + k) % n;
            if dests[i].weight > 0 {
                self.cursor = Some(dests[i].id);
                return Some(i);
            }
        }
        None
    }
}

/// `struct ip_vs_wrr_mark` (`ip_vs_wrr.c:60-66`): current destination (`None`: the list
/// head), current weight, maximum weight, decreasing interval.
#[derive(Clone, Debug, Default)]
pub(crate) struct Wrr {
    cl: Option<DestId>,
    /// `cw`: current weight.
    pub cw: i64,
    /// `mw`: maximum weight less `di - 1`.
    pub mw: i64,
    /// `di`: the gcd of the positive weights.
    pub di: i64,
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// `ip_vs_wrr_gcd_weight` (`ip_vs_wrr.c:69-85`): gcd of the weights > 0, or 1.
fn gcd_weight(dests: &[Dest]) -> i64 {
    let g = dests
        .iter()
        .map(|d| i64::from(d.weight))
        .filter(|w| *w > 0)
        .fold(0, |g, w| if g > 0 { gcd(w, g) } else { w });
    if g > 0 { g } else { 1 }
}

/// `ip_vs_wrr_max_weight` (`ip_vs_wrr.c:91-103`).
fn max_weight(dests: &[Dest]) -> i64 {
    dests.iter().map(|d| i64::from(d.weight)).fold(0, i64::max)
}

impl Wrr {
    /// `ip_vs_wrr_init_svc` (`ip_vs_wrr.c:106-124`).
    pub fn init(dests: &[Dest]) -> Self {
        let di = gcd_weight(dests);
        let mw = max_weight(dests) - (di - 1);
        Wrr {
            cl: None,
            cw: mw,
            mw,
            di,
        }
    }

    /// `ip_vs_wrr_dest_changed` (`ip_vs_wrr.c:138-153`), the add, delete and update hook:
    /// back to the list head; `cw` kept unless above the new `mw` or 0, and realigned to the
    /// new `di` when that is above 1.
    pub fn dest_changed(&mut self, dests: &[Dest]) {
        self.cl = None;
        self.di = gcd_weight(dests);
        self.mw = max_weight(dests) - (self.di - 1);
        if self.cw > self.mw || self.cw == 0 {
            self.cw = self.mw;
        } else if self.di > 1 {
            self.cw = (self.cw / self.di) * self.di + 1;
        }
    }

    /// `ip_vs_wrr_schedule` (`ip_vs_wrr.c:159-236`), including its last-pass guards.
    pub fn schedule(&mut self, dests: &[Dest]) -> Option<usize> {
        if self.mw == 0 {
            return None;
        }
        let n = dests.len();
        let last: Option<usize> = self.cl.and_then(|c| dests.iter().position(|d| d.id == c));
        let mut pos = last;
        let mut stop: Option<usize> = None;
        let (mut last_pass, mut restarted) = (false, false);
        // Each pass lowers cw by di; mw / di + 2 passes reach every cw, twice over.
        let bound = (self.mw / self.di.max(1) + 2) * 2 + 2;
        for _ in 0..bound {
            let from = pos.map_or(0, |p| p + 1);
            for (i, d) in dests.iter().enumerate().take(n).skip(from) {
                if i64::from(d.weight) >= self.cw {
                    self.cl = Some(d.id);
                    return Some(i);
                }
                if stop == Some(i) {
                    self.cl = Some(d.id);
                    return None;
                }
            }
            pos = None;
            self.cw -= self.di;
            if self.cw <= 0 {
                self.cw = self.mw;
                if last_pass || last.is_none() {
                    self.cl = None;
                    return None;
                }
                restarted = true;
            }
            last_pass = self.cw <= self.di;
            if last_pass && restarted && last.is_some() {
                stop = last;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn dests(weights: &[u32]) -> alloc::vec::Vec<Dest> {
        crate::sim::test_dests(weights, 80)
    }

    fn run_wrr(w: &mut Wrr, d: &[Dest], n: usize) -> alloc::vec::Vec<usize> {
        (0..n).map(|_| w.schedule(d).unwrap()).collect()
    }

    /// ip_vs_wrr.c with weights 4, 3, 2 (gcd 1, mw 4): cw 4 → A; 3 → A B; 2 → A B C;
    /// 1 → A B C; then again.
    #[test]
    fn wrr_interleaves_by_current_weight() {
        let d = dests(&[4, 3, 2]);
        let mut w = Wrr::init(&d);
        assert_eq!(run_wrr(&mut w, &d, 9), [0, 0, 1, 0, 1, 2, 0, 1, 2]);
        assert_eq!(run_wrr(&mut w, &d, 1), [0]);
    }

    /// With gcd 2 (weights 4, 2): di 2, mw 3: cw 3 → A; cw 1 → A B.
    #[test]
    fn wrr_uses_the_gcd() {
        let d = dests(&[4, 2]);
        let mut w = Wrr::init(&d);
        assert_eq!((w.di, w.mw, w.cw), (2, 3, 3));
        assert_eq!(run_wrr(&mut w, &d, 6), [0, 0, 1, 0, 0, 1]);
    }

    /// The order of additions matters: adding weight 4 then weight 2 leaves cw 1
    /// (ip_vs_wrr.c:147-150), not mw 3 as init would.
    #[test]
    fn wrr_state_depends_on_the_history_of_additions() {
        let mut w = Wrr::init(&[]);
        assert_eq!((w.di, w.mw, w.cw), (1, 0, 0));
        // Add weight 4 (the list is [4]).
        let one = dests(&[4]);
        w.dest_changed(&one);
        assert_eq!((w.di, w.mw, w.cw), (4, 1, 1));
        // Add weight 2 at the head (the list is [2, 4]).
        let mut two = dests(&[2]);
        two.extend(one);
        w.dest_changed(&two);
        assert_eq!((w.di, w.mw, w.cw), (2, 3, 1));
        // cw 1: the head (weight 2) first.
        assert_eq!(w.schedule(&two), Some(0));
    }

    #[test]
    fn wrr_all_zero_is_no_destination() {
        let d = dests(&[0, 0]);
        let mut w = Wrr::init(&d);
        assert_eq!(w.mw, 0);
        assert_eq!(w.schedule(&d), None);
    }

    /// ip_vs_rr.c: the first pick on a new service is the list's first entry; the cursor
    /// steps back when its destination is deleted.
    #[test]
    fn rr_cursor_and_del_dest() {
        let mut d = dests(&[1, 1, 1]);
        let mut r = Rr::default();
        assert_eq!(r.schedule(&d), Some(0));
        assert_eq!(r.schedule(&d), Some(1));
        // Delete the cursor's destination (index 1): the cursor moves to index 0, so the
        // next pick is the entry that followed the deleted one.
        let removed = d.remove(1);
        r.del_dest(removed.id, Some(d[0].id));
        assert_eq!(r.schedule(&d), Some(1));
        assert_eq!(r.schedule(&d), Some(0));
    }

    #[test]
    fn rr_skips_weight_zero_and_wraps_to_the_cursor_itself() {
        let d = dests(&[0, 1, 0]);
        let mut r = Rr::default();
        assert_eq!(r.schedule(&d), Some(1));
        assert_eq!(r.schedule(&d), Some(1));
        let none = dests(&[0, 0]);
        assert_eq!(Rr::default().schedule(&none), None);
    }
}
