//! Stable sorts that cost the WebAssembly build one copy of the sorting code, not one per type.
//!
//! `slice::sort*` is generic over the element and the comparator: each call site with its own
//! element type or closure is a copy of std's driftsort (about 2.5 KB of wasm each; 34 copies
//! were 32 KiB of the playground's gzipped bundle, issue 12). Natively these functions are
//! std's sorts. On `wasm32` a slice of up to [`SMALL`] elements is sorted by insertion (a few
//! dozen bytes of code per type), a longer one by sorting the indices of its elements (one
//! shared copy of std's sort of `u32`s, the comparator called through `dyn`) and then moving
//! each element once to its place. Both are stable, so where the order of equal elements
//! cannot matter (`sort_unstable` natively) the result is the same as a stable sort's.

use alloc::collections::{BTreeMap, BTreeSet};
use core::cmp::Ordering;

/// Up to this many elements, the wasm build sorts by insertion (no allocation).
#[cfg(any(target_arch = "wasm32", test))]
const SMALL: usize = 12;

/// The run of `v` (sorted by `key`) whose key is `k`: empty when there is none. The lookup
/// of the sorted lists that stand in for maps of lists in the wasm build.
pub fn equal_range<T, K: Ord>(v: &[T], key: impl Fn(&T) -> K, k: K) -> &[T] {
    let from = v.partition_point(|e| key(e) < k);
    let to = from + v[from..].partition_point(|e| key(e) <= k);
    &v[from..to]
}

/// `v.sort_by(cmp)`: stable.
#[inline]
pub fn sort_by<T, F: FnMut(&T, &T) -> Ordering>(v: &mut [T], cmp: F) {
    #[cfg(not(target_arch = "wasm32"))]
    v.sort_by(cmp);
    #[cfg(target_arch = "wasm32")]
    compact(v, cmp);
}

/// `v.sort_by_key(key)`: stable.
#[inline]
pub fn sort_by_key<T, K: Ord, F: FnMut(&T) -> K>(v: &mut [T], key: F) {
    #[cfg(not(target_arch = "wasm32"))]
    v.sort_by_key(key);
    #[cfg(target_arch = "wasm32")]
    {
        let mut key = key;
        compact(v, |a, b| key(a).cmp(&key(b)));
    }
}

/// `v.sort()`: stable.
#[inline]
pub fn sort<T: Ord>(v: &mut [T]) {
    #[cfg(not(target_arch = "wasm32"))]
    v.sort();
    #[cfg(target_arch = "wasm32")]
    compact(v, T::cmp);
}

/// `v.sort_unstable_by(cmp)`, for orders in which equal elements are indistinguishable
/// (natively std's unstable sort; in wasm the shared stable one).
#[inline]
pub fn sort_unstable_by<T, F: FnMut(&T, &T) -> Ordering>(v: &mut [T], cmp: F) {
    #[cfg(not(target_arch = "wasm32"))]
    v.sort_unstable_by(cmp);
    #[cfg(target_arch = "wasm32")]
    compact(v, cmp);
}

/// `v.sort_unstable()` (see [`sort_unstable_by`]).
#[inline]
pub fn sort_unstable<T: Ord>(v: &mut [T]) {
    #[cfg(not(target_arch = "wasm32"))]
    v.sort_unstable();
    #[cfg(target_arch = "wasm32")]
    compact(v, T::cmp);
}

/// `v.sort_unstable_by_key(key)` (see [`sort_unstable_by`]).
#[inline]
pub fn sort_unstable_by_key<T, K: Ord, F: FnMut(&T) -> K>(v: &mut [T], key: F) {
    #[cfg(not(target_arch = "wasm32"))]
    v.sort_unstable_by_key(key);
    #[cfg(target_arch = "wasm32")]
    {
        let mut key = key;
        compact(v, |a, b| key(a).cmp(&key(b)));
    }
}

/// `collect()` into a `BTreeMap` or `BTreeSet` without a sort: std's `FromIterator` sorts the
/// items first (a copy of the sorting code per map type); on `wasm32` these insert them one at a
/// time. Natively they are `collect()`. Equal keys: the last value wins, as with `collect()`.
pub trait CollectSorted: Iterator + Sized {
    /// `collect::<BTreeMap<K, V>>()`.
    #[inline]
    fn collect_map<K: Ord, V>(self) -> BTreeMap<K, V>
    where
        Self: Iterator<Item = (K, V)>,
    {
        #[cfg(not(target_arch = "wasm32"))]
        return self.collect();
        #[cfg(target_arch = "wasm32")]
        {
            let mut m = BTreeMap::new();
            m.extend(self);
            m
        }
    }

    /// `collect::<BTreeSet<T>>()`.
    #[inline]
    fn collect_set(self) -> BTreeSet<Self::Item>
    where
        Self::Item: Ord,
    {
        #[cfg(not(target_arch = "wasm32"))]
        return self.collect();
        #[cfg(target_arch = "wasm32")]
        {
            let mut s = BTreeSet::new();
            s.extend(self);
            s
        }
    }
}

impl<I: Iterator> CollectSorted for I {}

/// The wasm build's stable sort (also run natively by the tests).
#[cfg(any(target_arch = "wasm32", test))]
fn compact<T, F: FnMut(&T, &T) -> Ordering>(v: &mut [T], mut cmp: F) {
    if v.len() <= SMALL {
        for i in 1..v.len() {
            let mut j = i;
            while j > 0 && cmp(&v[j - 1], &v[j]) == Ordering::Greater {
                v.swap(j - 1, j);
                j -= 1;
            }
        }
        return;
    }
    let Ok(n) = u32::try_from(v.len()) else {
        // Not reached: no slice the core sorts has 4 billion elements.
        return v.sort_by(cmp);
    };
    let mut order: alloc::vec::Vec<u32> = (0..n).collect();
    {
        let items: &[T] = v;
        sort_indices(&mut order, &mut |a, b| {
            cmp(&items[a as usize], &items[b as usize])
        });
    }
    crate::cluster::permute(v, &mut order);
}

/// The one instance of std's stable sort in the wasm build.
#[cfg(any(target_arch = "wasm32", test))]
#[inline(never)]
fn sort_indices(order: &mut [u32], cmp: &mut dyn FnMut(u32, u32) -> Ordering) {
    order.sort_by(|a, b| cmp(*a, *b));
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use proptest::prelude::*;

    use super::{compact, equal_range};

    #[test]
    fn equal_range_is_the_run_of_a_key() {
        let v = [(1, 'a'), (2, 'b'), (2, 'c'), (4, 'd')];
        assert_eq!(equal_range(&v, |e| e.0, 2), &v[1..3]);
        assert_eq!(equal_range(&v, |e| e.0, 1), &v[..1]);
        assert!(equal_range(&v, |e| e.0, 3).is_empty());
        assert!(equal_range(&v, |e| e.0, 5).is_empty());
        assert!(equal_range(&[] as &[(i32, char)], |e| e.0, 0).is_empty());
    }

    proptest! {
        /// The wasm build's sort is std's stable sort, equal elements kept in their order.
        #[test]
        fn compact_is_a_stable_sort(v in proptest::collection::vec((0u8..6, any::<u16>()), 0..200)) {
            let mut ours = v.clone();
            compact(&mut ours, |a, b| a.0.cmp(&b.0));
            let mut std = v;
            std.sort_by_key(|x| x.0);
            prop_assert_eq!(ours, std);
        }
    }

    #[test]
    fn compact_sorts_owned_values() {
        let mut v: Vec<alloc::string::String> = (0..100)
            .rev()
            .map(|i| alloc::format!("{}", i * 37 % 101))
            .collect();
        let mut want = v.clone();
        want.sort();
        compact(&mut v, |a, b| a.cmp(b));
        assert_eq!(v, want);
    }
}
