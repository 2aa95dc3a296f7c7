//! `format!("{x:.p$}")` for an `f64`, in the WebAssembly build without std's exact float
//! formatting (Grisu's and Dragon4's exact modes and their rounding: about 3.5 KiB of the
//! playground's gzipped bundle, issue 12). Natively this is `format!`.
//!
//! The wasm variant works on the float's exact value `m·2^e`: the integer part in decimal
//! digits, the fraction rounded to `p` digits half to even, as std's `{:.p$}` does (`0.25`
//! → `0.2`, `0.35`, stored as 0.34999…, → `0.3`; `-0.04` → `-0.0`); `NaN`, `inf`, `-inf` as
//! std writes them. The tests hold it to `format!` natively.

use alloc::string::String;

/// `x` with `p` digits after the point, as `format!("{x:.p$}")` writes it.
#[inline]
pub fn fixed(x: f64, p: usize) -> String {
    #[cfg(not(target_arch = "wasm32"))]
    return alloc::format!("{x:.p$}");
    #[cfg(target_arch = "wasm32")]
    compact(x, p)
}

/// The wasm build's formatter (also run natively by the tests).
#[cfg(any(target_arch = "wasm32", test))]
#[inline(never)]
fn compact(x: f64, p: usize) -> String {
    use alloc::vec::Vec;
    if x.is_nan() {
        return String::from("NaN");
    }
    let mut out = String::new();
    if x.is_sign_negative() {
        out.push('-');
    }
    if x.is_infinite() {
        out.push_str("inf");
        return out;
    }
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    // |x| = m·2^e exactly.
    let (m, e) = if exp == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), exp - 1075)
    };
    // Decimal digits, most significant first, of the rounded |x|·10^p.
    let mut digits: Vec<u8> = Vec::new();
    if e >= 0 {
        // An integer: m's digits doubled e times, then p zeros.
        push_digits(&mut digits, u128::from(m));
        for _ in 0..e {
            let mut carry = 0;
            for d in digits.iter_mut().rev() {
                let v = *d * 2 + carry;
                *d = v % 10;
                carry = v / 10;
            }
            if carry > 0 {
                digits.insert(0, carry);
            }
        }
        digits.extend(core::iter::repeat_n(0, p));
    } else if p <= 17 {
        // m < 2^53 and 10^p < 2^57: m·10^p fits in a u128.
        let scaled = u128::from(m) * 10u128.pow(p as u32);
        let s = e.unsigned_abs();
        let q = if s >= 128 {
            // |x|·10^p < 2^110, under half of 2^s: rounds to zero.
            0
        } else {
            let q = scaled >> s;
            let rem = scaled - (q << s);
            let half = 1u128 << (s - 1);
            if rem > half || (rem == half && q & 1 == 1) {
                q + 1
            } else {
                q
            }
        };
        push_digits(&mut digits, q);
    } else {
        // More digits than any caller asks for: std's exact formatting.
        return alloc::format!("{x:.p$}");
    }
    // At least one digit before the point.
    while digits.len() <= p {
        digits.insert(0, 0);
    }
    let point = digits.len() - p;
    for (i, d) in digits.iter().enumerate() {
        if i == point {
            out.push('.');
        }
        out.push(char::from(b'0' + d));
    }
    out
}

/// `v`'s decimal digits (one `0` for zero), appended most significant first.
#[cfg(any(target_arch = "wasm32", test))]
fn push_digits(out: &mut alloc::vec::Vec<u8>, mut v: u128) {
    let start = out.len();
    loop {
        out.push((v % 10) as u8);
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out[start..].reverse();
}

#[cfg(test)]
mod tests {
    use super::compact;
    use alloc::format;

    fn check(x: f64) {
        for p in 0..=12 {
            assert_eq!(compact(x, p), format!("{x:.p$}"), "{x:e} at {p} digits");
        }
    }

    #[test]
    fn matches_std() {
        for x in [
            0.0,
            -0.0,
            0.25,
            0.75,
            0.125,
            0.5,
            1.5,
            2.5,
            -0.25,
            -0.04,
            0.05,
            0.35,
            2.675,
            1e300,
            -1e300,
            1e-300,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            9.5,
            99.95,
            123456.789,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            0.333_333_333_35,
            1.0 / 3.0,
        ] {
            check(x);
        }
        // The picture's coordinates, the charts' points, kube-proxy's 1/n.
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..3000u32 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            check(f64::from(i) / 20.0);
            check(1.0 / f64::from(i + 1));
            check((s >> 11) as f64 / (1u64 << 53) as f64 * 2000.0 - 1000.0);
            if i % 16 == 0 {
                // Any float, most of them far from 1 (the slow, long cases).
                check(f64::from_bits(s));
            }
        }
    }
}
