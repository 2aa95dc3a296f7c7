//! Source hashing (`sh`, `net/netfilter/ipvs/ip_vs_sh.c`) and destination hashing (`dh`,
//! `ip_vs_dh.c`) as Linux 6.1 runs them: a table of 256 buckets
//! (`CONFIG_IP_VS_SH_TAB_BITS` = `CONFIG_IP_VS_DH_TAB_BITS` = 8 in Debian's kernel), tiled
//! over the destination list, indexed by `hash_32` of an address.
//!
//! kube-proxy sets no scheduler flags for `sh`: the source port is not hashed
//! (`IP_VS_SVC_F_SCHED_SH_PORT`) and there is no fallback (`IP_VS_SVC_F_SCHED_SH_FALLBACK`).

use alloc::vec::Vec;
use core::net::IpAddr;

use super::hash::{fold, hash_32};
use super::{Dest, DestId};

/// Table bits (`ip_vs_sh.c:61-66`, `ip_vs_dh.c:56-61`).
pub const TAB_BITS: u32 = 8;
/// Buckets.
pub const TAB_SIZE: usize = 1 << TAB_BITS;

/// A bucket table: each bucket names a destination (`None` only when the list is empty).
#[derive(Clone, Debug)]
pub(crate) struct Buckets {
    table: Vec<Option<DestId>>,
}

impl Buckets {
    /// `ip_vs_sh_reassign` (`ip_vs_sh.c:162-204`): buckets 0..255 in list order, each
    /// destination taking `weight` consecutive buckets before the next (`++d_count >=
    /// weight`, so weight 0 still takes one), wrapping round the list.
    pub fn sh(dests: &[Dest]) -> Self {
        let mut table = alloc::vec![None; TAB_SIZE];
        if !dests.is_empty() {
            let (mut p, mut count) = (0usize, 0u32);
            for slot in table.iter_mut() {
                *slot = Some(dests[p].id);
                count += 1;
                if count >= dests[p].weight {
                    p = (p + 1) % dests.len();
                    count = 0;
                }
            }
        }
        Buckets { table }
    }

    /// `ip_vs_dh_reassign` (`ip_vs_dh.c:97-128`): one bucket per destination round the
    /// list; weights play no part.
    pub fn dh(dests: &[Dest]) -> Self {
        let mut table = alloc::vec![None; TAB_SIZE];
        if !dests.is_empty() {
            for (i, slot) in table.iter_mut().enumerate() {
                *slot = Some(dests[i % dests.len()].id);
            }
        }
        Buckets { table }
    }

    /// The bucket of a destination.
    pub fn get(&self, bucket: usize) -> Option<DestId> {
        self.table.get(bucket).copied().flatten()
    }

    /// How many buckets each destination holds.
    #[cfg(test)]
    pub fn count(&self, id: DestId) -> usize {
        self.table.iter().filter(|d| **d == Some(id)).count()
    }
}

/// `ip_vs_sh_hashkey(af, addr, port, 0)` (`ip_vs_sh.c:83-97`); kube-proxy's `sh` hashes
/// port 0.
pub fn sh_bucket(addr: &IpAddr, port: u16) -> usize {
    (hash_32(u32::from(port).wrapping_add(fold(addr)), TAB_BITS) as usize) & (TAB_SIZE - 1)
}

/// `ip_vs_dh_hashkey` (`ip_vs_dh.c:71-81`).
pub fn dh_bucket(addr: &IpAddr) -> usize {
    hash_32(fold(addr), TAB_BITS) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    fn dests(weights: &[u32]) -> Vec<Dest> {
        crate::sim::test_dests(weights, 80)
    }

    /// By hand (Python on the kernel's formula): 10.0.0.1 = 0x0a000001, times 0x61c88647 mod
    /// 2^32 = 0x27c88647 → bucket 0x27; 10.0.0.7 → 0x727babf1 → bucket 0x72; with source port
    /// 40000 added first (SH_PORT) → bucket 0x16.
    #[test]
    fn buckets_by_hand() {
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(sh_bucket(&a, 0), 0x27);
        assert_eq!(dh_bucket(&a), 0x27);
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7));
        assert_eq!(sh_bucket(&b, 0), 0x72);
        assert_eq!(sh_bucket(&b, 40000), 0x16);
    }

    /// Weights tile: weights 2, 1, 0 → A A B C A A B C … (weight 0 still takes a bucket).
    #[test]
    fn sh_tiles_by_weight() {
        let d = dests(&[2, 1, 0]);
        let t = Buckets::sh(&d);
        let ids: Vec<DestId> = (0..8).filter_map(|i| t.get(i)).collect();
        let w = [d[0].id, d[0].id, d[1].id, d[2].id];
        assert_eq!(ids, [w, w].concat());
        assert_eq!(t.count(d[0].id), 128);
        assert_eq!(t.count(d[2].id), 64);
    }

    /// dh ignores weights: one bucket each, round the list.
    #[test]
    fn dh_ignores_weights() {
        let d = dests(&[5, 1, 1]);
        let t = Buckets::dh(&d);
        assert_eq!(t.get(0), Some(d[0].id));
        assert_eq!(t.get(1), Some(d[1].id));
        assert_eq!(t.get(3), Some(d[0].id));
        assert_eq!(t.count(d[0].id), 86);
        assert_eq!(Buckets::dh(&[]).get(0), None);
    }
}
