//! The kernel's hash functions the hashing schedulers use, bit for bit (Linux 6.1, the kernel
//! the VM boots; paths below are in `linux-source-6.1`):
//!
//! - `hash_32` (`include/linux/hash.h`: `val * GOLDEN_RATIO_32 >> (32 - bits)`), used by
//!   `sh` and `dh`;
//! - `hsiphash`, which on 64-bit kernels is SipHash-1-3 with a 64-bit key pair and the low
//!   32 bits of the result (`lib/siphash.c:229-274`, `HPREAMBLE` = `PREAMBLE`, one
//!   compression round, `v2 ^= 0xff`, three finalization rounds), used by `mh`;
//! - the address fold both apply to IPv6 (`ip6[0]^ip6[1]^ip6[2]^ip6[3]` in network order,
//!   then `ntohl`: `ip_vs_sh.c:87-93`, `ip_vs_dh.c:73-80`, `ip_vs_mh.c:93-99`).

use core::net::IpAddr;

/// `GOLDEN_RATIO_32` (`include/linux/hash.h`).
pub const GOLDEN_RATIO_32: u32 = 0x61C8_8647;

/// `hash_32(val, bits)` of `include/linux/hash.h` (the generic version; x86 has no
/// `HAVE_ARCH_HASH`).
pub fn hash_32(val: u32, bits: u32) -> u32 {
    val.wrapping_mul(GOLDEN_RATIO_32) >> (32 - bits)
}

/// The address as the schedulers fold it: IPv4 in host order; IPv6 as the xor of its four
/// 32-bit words, in host order.
pub fn fold(ip: &IpAddr) -> u32 {
    match ip {
        IpAddr::V4(v4) => u32::from(*v4),
        IpAddr::V6(v6) => {
            let o = v6.octets();
            let w = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
            // xor in network order then ntohl == ntohl of each, then xor.
            w(0) ^ w(4) ^ w(8) ^ w(12)
        }
    }
}

/// `SIPHASH_PERMUTATION` (`include/linux/siphash.h:146-150`).
fn sipround(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13);
    v[1] ^= v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16);
    v[3] ^= v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21);
    v[3] ^= v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17);
    v[1] ^= v[2];
    v[2] = v[2].rotate_left(32);
}

/// SipHash-1-3 of `data` under the key `(k0, k1)`, the full 64-bit result.
pub fn siphash13(k0: u64, k1: u64, data: &[u8]) -> u64 {
    // PREAMBLE (lib/siphash.c:22-31), constants include/linux/siphash.h:152-155.
    let mut v = [
        0x736f_6d65_7073_6575 ^ k0,
        0x646f_7261_6e64_6f6d ^ k1,
        0x6c79_6765_6e65_7261 ^ k0,
        0x7465_6462_7974_6573 ^ k1,
    ];
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let m = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        v[3] ^= m;
        sipround(&mut v);
        v[0] ^= m;
    }
    let mut b = (data.len() as u64) << 56;
    for (i, byte) in chunks.remainder().iter().enumerate() {
        b |= u64::from(*byte) << (8 * i);
    }
    // HPOSTAMBLE (lib/siphash.c:236-244).
    v[3] ^= b;
    sipround(&mut v);
    v[0] ^= b;
    v[2] ^= 0xff;
    sipround(&mut v);
    sipround(&mut v);
    sipround(&mut v);
    (v[0] ^ v[1]) ^ (v[2] ^ v[3])
}

/// The kernel's `hsiphash(&v, 4, key)` on a 64-bit kernel: SipHash-1-3 of the four bytes of
/// `v` (read little-endian, as on x86_64 and arm64), truncated to `u32`.
pub fn hsiphash_u32(v: u32, key: (u64, u64)) -> u32 {
    siphash13(key.0, key.1, &v.to_le_bytes()) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's own self-test vectors for hsiphash on 64-bit kernels
    /// (`lib/test_siphash.c:54-80`, key 00..0f, input bytes 0..i-1): vector i is the hash of
    /// the first i bytes.
    #[test]
    fn hsiphash_matches_the_kernels_self_test_vectors() {
        let k0 = 0x0706_0504_0302_0100;
        let k1 = 0x0f0e_0d0c_0b0a_0908;
        let input: [u8; 64] = core::array::from_fn(|i| i as u8);
        let want: [(usize, u32); 10] = [
            (0, 0x050f_c4dc),
            (1, 0x7d57_ca93),
            (3, 0xe7dd_f7fb),
            (4, 0x88d3_8328),
            (7, 0x9bb1_1140),
            (8, 0x8d29_9a8e),
            (9, 0x6c06_3de4),
            (15, 0x2a51_9956),
            (16, 0x7d90_8b66),
            (63, 0xb7bb_b3a8),
        ];
        for (len, v) in want {
            assert_eq!(siphash13(k0, k1, &input[..len]) as u32, v, "length {len}");
        }
        // hsiphash_1u32(0x03020100) == vector 4 (lib/test_siphash.c:187).
        assert_eq!(hsiphash_u32(0x0302_0100, (k0, k1)), 0x88d3_8328);
    }

    /// Values computed by hand from `hash_32`: 0x0a000001 * 0x61c88647 = 0x27c88647
    /// (mod 2^32: 0x0a000000 * 0x61c88647 keeps only 0x61c88647 * 10 = 0x3d1d53ec6's low
    /// byte, 0xc6, shifted by 24; plus 0x61c88647); its top 8 bits are 0x27.
    #[test]
    fn hash_32_by_hand() {
        assert_eq!(0x0a00_0001u32.wrapping_mul(0x61c8_8647), 0x27c8_8647);
        assert_eq!(hash_32(0x0a00_0001, 8), 0x27);
        assert_eq!(hash_32(0, 8), 0);
        assert_eq!(hash_32(1, 8), 0x61);
    }

    #[test]
    fn ipv6_folds_to_the_xor_of_its_words() {
        let ip: IpAddr = "fd00:10:96::1".parse().unwrap_or(IpAddr::V4(0.into()));
        // words: fd000010, 00960000, 00000000, 00000001
        assert_eq!(fold(&ip), 0xfd00_0010 ^ 0x0096_0000 ^ 0x0000_0001);
        let v4: IpAddr = IpAddr::V4(core::net::Ipv4Addr::new(10, 0, 0, 7));
        assert_eq!(fold(&v4), 0x0a00_0007);
    }
}
