//! Maglev hashing (`mh`, `net/netfilter/ipvs/ip_vs_mh.c`) as Linux 6.1 runs it for
//! kube-proxy: a lookup table of 4093 slots (`CONFIG_IP_VS_MH_TAB_INDEX` = 12 in Debian's
//! kernel: `primes[12 - 8]`, `ip_vs_mh.c:50-59`), filled from each destination's
//! permutation, indexed by the hash of the client's address and port.
//!
//! kube-proxy programs `mh` with `IP_VS_SVC_F_SCHED2` (its `FlagSourceHash`, the kernel's
//! `IP_VS_SVC_F_SCHED_MH_PORT`, `ip_vs_mh.c:35-36`: ipvsadm's `-b mh-port`) and never with
//! `MH_FALLBACK`: the source port is hashed and a slot whose destination has weight 0 finds
//! no destination (`ip_vs_mh_get`, `ip_vs_mh.c:234-243`).
//!
//! Weights enter through `last_weight`, the latest non-zero weight
//! (`ip_vs_ctl.c:885-887`): a destination set to weight 0 keeps its slots (connections
//! hashing there are refused), one added at weight 0 gets none.

use alloc::vec::Vec;
use core::net::IpAddr;

use super::hash::{fold, hsiphash_u32};
use super::{Dest, DestId};

/// Slots (`IP_VS_MH_TAB_SIZE` = `primes[4]`).
pub const TAB_SIZE: u32 = 4093;
/// `IP_VS_MH_TAB_BITS` = `CONFIG_IP_VS_MH_TAB_INDEX / 2` (`ip_vs_mh.c:57`).
const TAB_BITS: i32 = 6;
/// `generate_hash_secret` (`ip_vs_mh.c:70-78`): constant keys, the same on every boot.
const HASH1: (u64, u64) = (2_654_435_761, 2_654_435_761);
const HASH2: (u64, u64) = (2_654_446_892, 2_654_446_892);

/// `ip_vs_mh_hashkey(af, addr, port, key, 0)` (`ip_vs_mh.c:88-102`):
/// `hsiphash(ntohs(port) + ntohl(addr_fold))`.
fn hashkey(addr: &IpAddr, port: u16, key: (u64, u64)) -> u32 {
    hsiphash_u32(u32::from(port).wrapping_add(fold(addr)), key)
}

/// The slot a client (address, source port) looks up (`ip_vs_mh_get`).
pub fn slot(addr: &IpAddr, port: u16) -> usize {
    (hashkey(addr, port, HASH1) % TAB_SIZE) as usize
}

/// A destination's permutation start and step (`ip_vs_mh_permutate`, `ip_vs_mh.c:143-149`).
pub fn offset_skip(addr: &IpAddr, port: u16) -> (u32, u32) {
    let offset = hashkey(addr, port, HASH1) % TAB_SIZE;
    let skip = hashkey(addr, port, HASH2) % (TAB_SIZE - 1) + 1;
    (offset, skip)
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// `fls`: the position of the highest set bit, 1-based (0 for 0).
fn fls(x: u32) -> i32 {
    32 - x.leading_zeros() as i32
}

/// The lookup table.
#[derive(Clone, Debug)]
pub(crate) struct Maglev {
    lookup: Vec<Option<DestId>>,
}

impl Maglev {
    /// Builds the table as `ip_vs_mh_dest_changed` (`ip_vs_mh.c:431-441`) does on every
    /// add, delete and update: gcd of the positive `last_weight`s
    /// (`ip_vs_mh_gcd_weight`, l.322-338), `rshift` (`ip_vs_mh_shift_weight`, l.343-370),
    /// `turns = ((last_weight / gcd) >> rshift) ?: (last_weight != 0)` (l.151-152), then
    /// `ip_vs_mh_populate` (l.159-231): round the list, a destination with `turns` < 1 is
    /// skipped, each claims its next free slot along its permutation, `turns` claims in a
    /// row, until all slots are taken. No positive `last_weight`: every slot empty.
    pub fn build(dests: &[Dest]) -> Self {
        let size = TAB_SIZE as usize;
        let g = dests
            .iter()
            .map(|d| d.last_weight)
            .filter(|w| *w > 0)
            .fold(0, |g, w| if g > 0 { gcd(w, g) } else { w });
        if g < 1 || dests.is_empty() {
            return Maglev {
                lookup: alloc::vec![None; size],
            };
        }
        let max = dests.iter().map(|d| d.last_weight).max().unwrap_or(0);
        let rshift = (fls(max / g) - TAB_BITS).max(0);
        struct Setup {
            perm: u32,
            skip: u32,
            turns: u32,
        }
        let mut setup: Vec<Setup> = dests
            .iter()
            .map(|d| {
                let (offset, skip) = offset_skip(&d.id.0, d.id.1);
                let lw = d.last_weight;
                let t = (lw / g) >> rshift;
                Setup {
                    perm: offset,
                    skip,
                    turns: if t != 0 { t } else { u32::from(lw != 0) },
                }
            })
            .collect();
        let mut taken = alloc::vec![false; size];
        let mut lookup = alloc::vec![None; size];
        let mut n = 0usize;
        let mut dt_count = 0u32;
        // At least one destination has turns >= 1 (g >= 1), so each pass claims a slot.
        'fill: while n < size {
            let mut p = 0usize;
            while p < dests.len() {
                let ds = &mut setup[p];
                if ds.turns < 1 {
                    p += 1;
                    continue;
                }
                let mut c = ds.perm;
                while taken[c as usize] {
                    ds.perm += ds.skip;
                    if ds.perm >= TAB_SIZE {
                        ds.perm -= TAB_SIZE;
                    }
                    c = ds.perm;
                }
                taken[c as usize] = true;
                lookup[c as usize] = Some(dests[p].id);
                n += 1;
                if n == size {
                    break 'fill;
                }
                dt_count += 1;
                if dt_count >= ds.turns {
                    dt_count = 0;
                    p += 1;
                }
            }
        }
        Maglev { lookup }
    }

    /// The destination in a slot.
    pub fn get(&self, slot: usize) -> Option<DestId> {
        self.lookup.get(slot).copied().flatten()
    }

    /// How many slots a destination holds.
    #[cfg(test)]
    pub fn count(&self, id: DestId) -> usize {
        self.lookup.iter().filter(|d| **d == Some(id)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    fn dests(weights: &[u32]) -> Vec<Dest> {
        crate::sim::test_dests(weights, 8080)
    }

    /// Values computed with an independent Python transcription of `ip_vs_mh.c` and
    /// `lib/siphash.c` (SipHash-1-3, keys of `generate_hash_secret`).
    #[test]
    fn hashes_by_hand() {
        let rs = IpAddr::V4(Ipv4Addr::new(10, 244, 0, 2));
        assert_eq!(hashkey(&rs, 8080, HASH1), 1_801_897_505);
        assert_eq!(offset_skip(&rs, 8080), (3371, 3045));
        let client = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7));
        assert_eq!(hashkey(&client, 40000, HASH1), 0x1e84_1e10);
        assert_eq!(slot(&client, 40000), 2023);
        // The table of 10.244.0.2, .3, .4 :8080 at weight 1 (same transcription).
        let d = dests(&[1, 1, 1]);
        let m = Maglev::build(&d);
        let first: Vec<Option<DestId>> = (0..6).map(|i| m.get(i)).collect();
        let id = |i: usize| Some(d[i].id);
        assert_eq!(first, [id(1), id(0), id(2), id(2), id(2), id(0)]);
        assert_eq!(
            [m.count(d[0].id), m.count(d[1].id), m.count(d[2].id)],
            [1365, 1364, 1364]
        );
        assert_eq!(m.get(2023), id(2));
    }

    #[test]
    fn fls_is_the_kernels() {
        assert_eq!(fls(0), 0);
        assert_eq!(fls(1), 1);
        assert_eq!(fls(64), 7);
        assert_eq!(fls(63), 6);
    }

    /// Every slot is filled; equal weights share the table within one slot of each other
    /// when they have turns of 1 (round robin claims).
    #[test]
    fn equal_weights_fill_the_table_evenly() {
        let d = dests(&[1, 1, 1]);
        let m = Maglev::build(&d);
        let counts: Vec<usize> = d.iter().map(|x| m.count(x.id)).collect();
        assert_eq!(counts.iter().sum::<usize>(), TAB_SIZE as usize);
        assert!(
            counts
                .iter()
                .all(|c| c.abs_diff(TAB_SIZE as usize / 3) <= 1)
        );
    }

    /// A destination added at weight 0 (last_weight 0) gets no slot; one quiesced to weight
    /// 0 (last_weight kept) keeps its slots.
    #[test]
    fn last_weight_decides_the_slots() {
        let mut d = dests(&[1, 1, 0]);
        let m = Maglev::build(&d);
        assert_eq!(m.count(d[2].id), 0);
        d[2].last_weight = 1;
        d[1].weight = 0; // quiesced: last_weight stays 1
        let q = Maglev::build(&d);
        assert!(q.count(d[1].id) > 1000);
        let all_zero = dests(&[0, 0]);
        assert_eq!(Maglev::build(&all_zero).get(0), None);
    }

    /// Weights 2 and 1: gcd 1, rshift 0, turns 2 and 1: two thirds and one third.
    #[test]
    fn weights_give_turns() {
        let d = dests(&[2, 1]);
        let m = Maglev::build(&d);
        assert_eq!(m.count(d[0].id), 2729);
        assert_eq!(m.count(d[1].id), 1364);
    }
}

/// Maglev's properties (NSDI'16 §3.4) as the kernel's table gives them, pinned as a
/// snapshot: for N = 2..10 equal backends, the fewest and most of the 4093 slots one holds,
/// and for 10,000 seeded clients (address, source port) the share that moves when the
/// first backend of the list leaves — about 1/N, almost all of them the removed backend's
/// own clients, with a small disruption of the others.
#[cfg(test)]
mod snapshot {
    use super::*;
    use alloc::format;
    use alloc::string::String;
    use core::fmt::Write;
    use core::net::Ipv4Addr;

    fn backends(n: usize) -> Vec<Dest> {
        (0..n)
            .map(|i| Dest {
                id: (IpAddr::V4(Ipv4Addr::new(10, 244, 1, 10 + i as u8)), 8080),
                weight: 1,
                last_weight: 1,
            })
            .collect()
    }

    fn clients() -> Vec<(IpAddr, u16)> {
        let mut z: u64 = 13;
        (0..10_000)
            .map(|_| {
                z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let r = z ^ (z >> 29);
                let a = (r >> 16) as u32;
                let ip = IpAddr::V4(Ipv4Addr::new(10, (a >> 16) as u8, (a >> 8) as u8, a as u8));
                (ip, 32768 + (r % 28232) as u16)
            })
            .collect()
    }

    fn table() -> String {
        let clients = clients();
        let mut out = String::from("N  min  max  moved  removed's  others\n");
        for n in 2..=10 {
            let d = backends(n);
            let m = Maglev::build(&d);
            let shares: Vec<usize> = d.iter().map(|x| m.count(x.id)).collect();
            let after = Maglev::build(&d[1..]);
            let (mut moved, mut own, mut others) = (0, 0, 0);
            for (ip, port) in &clients {
                let s = slot(ip, *port);
                let (a, b) = (m.get(s), after.get(s));
                if a != b {
                    moved += 1;
                    if a == Some(d[0].id) {
                        own += 1;
                    } else {
                        others += 1;
                    }
                }
            }
            let pct = |x: usize| format!("{:.2}%", x as f64 / 100.0);
            let _ = writeln!(
                out,
                "{n:<2} {:<4} {:<4} {:<6} {:<10} {}",
                shares.iter().min().unwrap_or(&0),
                shares.iter().max().unwrap_or(&0),
                pct(moved),
                pct(own),
                pct(others)
            );
        }
        out
    }

    #[test]
    fn maglev_shares_and_disruption() {
        let got = table();
        let want = "\
N  min  max  moved  removed's  others
2  2046 2047 50.57% 50.57%     0.00%
3  1364 1365 33.62% 33.50%     0.12%
4  1023 1024 25.82% 25.40%     0.42%
5  818  819  20.89% 20.53%     0.36%
6  682  683  17.65% 17.14%     0.51%
7  584  585  15.15% 14.62%     0.53%
8  511  512  13.57% 12.97%     0.60%
9  454  455  12.58% 11.54%     1.04%
10 409  410  11.58% 10.33%     1.25%
";
        assert_eq!(got, want, "\n{got}");
    }
}
