//! Sync periods: parsed as Go's `time.ParseDuration` parses kube-proxy's flags, validated with
//! kube-proxy's rules and words (`pkg/proxy/apis/config/validation`: the sync period "must be
//! greater than 0", the minimum "must be greater than or equal to 0", and the sync period "must
//! be greater than or equal to" the minimum).
//!
//! The floor: a Go duration is a whole number of nanoseconds, so `1e-300s` is not a duration and
//! `0.0000000001s` is 0 ("must be greater than 0"). The loop itself never syncs more often than
//! it polls (`--watch-interval-ms`, at least 100 ms), nor fully resyncs more often than
//! `--ipvs-min-sync-period` (default 1 s, kube-proxy's).

use std::time::Duration;

/// The shortest poll interval of the loop.
pub const MIN_WATCH_INTERVAL: Duration = Duration::from_millis(100);

/// Parses a Go duration (`30s`, `500ms`, `1m30s`, `1.5h`, `0`; units ns, us, µs, ms, s, m, h).
/// A plain number is seconds (svcroute's older syntax). Negative durations parse (Go accepts
/// them): [`validate`] rejects them in kube-proxy's words.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    parse_signed(s).and_then(|(negative, d)| {
        if negative && !d.is_zero() {
            Err(format!("{s:?}: must be greater than or equal to 0"))
        } else {
            Ok(d)
        }
    })
}

/// [`parse_duration`] keeping the sign, for the validation's words.
fn parse_signed(s: &str) -> Result<(bool, Duration), String> {
    let invalid = || format!("time: invalid duration {s:?}");
    let (negative, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok((negative, Duration::ZERO));
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    if rest.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        // svcroute's older syntax: a number of seconds.
        let secs: f64 = rest.parse().map_err(|_| invalid())?;
        return nanos(secs * 1e9).map(|d| (negative, d)).ok_or_else(invalid);
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(digits);
        if number.is_empty() || number == "." {
            return Err(invalid());
        }
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("time: missing unit in duration {s:?}")),
            _ => return Err(format!("time: unknown unit {unit:?} in duration {s:?}")),
        };
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| invalid())?
        };
        // Go truncates the fraction to whole nanoseconds.
        let mut frac_ns: u128 = 0;
        let mut place = scale;
        for d in frac.bytes() {
            place /= 10;
            frac_ns += u128::from(d - b'0') * place;
        }
        total = whole
            .checked_mul(scale)
            .and_then(|w| w.checked_add(frac_ns))
            .and_then(|v| total.checked_add(v))
            .filter(|t| *t <= i64::MAX as u128)
            .ok_or_else(invalid)?;
        rest = tail;
    }
    let secs = (total / 1_000_000_000) as u64;
    let ns = (total % 1_000_000_000) as u32;
    Ok((negative, Duration::new(secs, ns)))
}

fn nanos(ns: f64) -> Option<Duration> {
    (ns.is_finite() && ns >= 0.0 && ns <= i64::MAX as f64)
        .then(|| Duration::from_nanos(ns.trunc() as u64))
}

/// kube-proxy's checks of `ipvs.syncPeriod` and `ipvs.minSyncPeriod`, with its words and our
/// flags' names.
pub fn validate(sync_period: Duration, min_sync_period: Duration) -> Result<(), String> {
    if sync_period.is_zero() {
        return Err(format!(
            "--ipvs-sync-period: Invalid value: {:?}: must be greater than 0",
            go(sync_period)
        ));
    }
    if min_sync_period > sync_period {
        return Err(format!(
            "--ipvs-sync-period: Invalid value: {:?}: must be greater than or equal to \
             --ipvs-min-sync-period",
            go(min_sync_period)
        ));
    }
    Ok(())
}

/// A duration as Go prints it, roughly (`1.5s`, `250ms`, `0s`).
fn go(d: Duration) -> String {
    if d.is_zero() {
        "0s".to_owned()
    } else if d < Duration::from_millis(1) {
        format!("{}ns", d.as_nanos())
    } else if d < Duration::from_secs(1) {
        format!("{}ms", d.as_secs_f64() * 1000.0)
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1ns"), Ok(Duration::from_nanos(1)));
        assert!(parse_duration("3d").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    /// Issue 8: `--sync-period 1e-300s` dumped the table every 10 ms. Go's ParseDuration has no
    /// exponent: "e-" is an unknown unit (its words); a fraction below a nanosecond is 0, which
    /// kube-proxy's validation rejects.
    #[test]
    fn bug_sync_period_1e_300s_is_refused() {
        assert_eq!(
            parse_duration("1e-300s"),
            Err("time: unknown unit \"e-\" in duration \"1e-300s\"".to_owned())
        );
        let tiny = parse_duration("0.0000000001s").unwrap();
        assert_eq!(tiny, Duration::ZERO);
        assert_eq!(
            validate(tiny, Duration::ZERO),
            Err("--ipvs-sync-period: Invalid value: \"0s\": must be greater than 0".to_owned())
        );
        assert!(parse_duration("0.0000000001").unwrap().is_zero());
        assert!(parse_duration("1e9999").is_err());
        assert!(parse_duration("99999999999h").is_err(), "overflow");
    }

    #[test]
    fn min_sync_period_is_at_most_the_sync_period() {
        assert_eq!(
            validate(Duration::from_secs(30), Duration::from_secs(1)),
            Ok(())
        );
        assert_eq!(validate(Duration::from_secs(1), Duration::ZERO), Ok(()));
        assert_eq!(
            validate(Duration::from_secs(1), Duration::from_secs(5)),
            Err(
                "--ipvs-sync-period: Invalid value: \"5s\": must be greater than or equal to \
                 --ipvs-min-sync-period"
                    .to_owned()
            )
        );
    }
}
