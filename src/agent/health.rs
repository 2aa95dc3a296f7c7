//! kube-proxy's health contract and the agent's two HTTP servers.
//!
//! [`Health`] is kube-proxy's `ProxyHealthServer` (`pkg/proxy/healthcheck/proxy_health.go`):
//! per IP family, `queued_update` records the oldest change not yet synced and `updated` clears
//! it after a successful sync; the proxy is healthy while every family either has nothing
//! pending or has waited less than the health timeout (2 × the sync period). `/healthz` also
//! needs the Node to be eligible (known, not being deleted, no `ToBeDeletedByClusterAutoscaler`
//! taint); `/livez` does not. Both answer 200 or 503 with `Content-Type: application/json`,
//! `X-Content-Type-Options: nosniff` and the body `{"lastUpdated", "currentTime",
//! "nodeEligible" (healthz only), "healthy", "status": {"IPv4": {"lastUpdated", "healthy"}}}`,
//! times in RFC 3339 with nanoseconds as Go's `time.Time` marshals them; on 200
//! `lastUpdated` is the current time (kube-proxy's compatibility rule).
//!
//! [`serve`] runs one hyper HTTP/1 server per bind address: `--healthz-bind-address`
//! (`/healthz`, `/livez`) and `--metrics-bind-address` (`/metrics`, `/proxyMode` → `ipvs`,
//! `/healthz` → `ok`, as kube-proxy's metrics mux).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use super::metrics::Metrics;

/// kube-proxy's taint for Nodes the cluster autoscaler is about to delete.
pub const TO_BE_DELETED_TAINT: &str = "ToBeDeletedByClusterAutoscaler";

#[derive(Debug, Default)]
struct State {
    last_updated: BTreeMap<&'static str, SystemTime>,
    oldest_pending: BTreeMap<&'static str, SystemTime>,
    node_eligible: bool,
}

/// The proxy's health, as kube-proxy keeps it.
#[derive(Debug)]
pub struct Health {
    state: Mutex<State>,
    timeout: Duration,
}

/// One HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Status code.
    pub code: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Body.
    pub body: String,
}

impl Health {
    /// Healthy until a queued change waits `timeout` (kube-proxy: 2 × sync period). The Node is
    /// eligible until a Node event says otherwise.
    pub fn new(timeout: Duration) -> Health {
        Health {
            state: Mutex::new(State {
                node_eligible: true,
                ..State::default()
            }),
            timeout,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A change for `family` (`IPv4`, `IPv6`) waits for a sync.
    pub fn queued_update(&self, family: &'static str, now: SystemTime) {
        self.lock().oldest_pending.entry(family).or_insert(now);
    }

    /// `family`'s rules are in step with the API.
    pub fn updated(&self, family: &'static str, now: SystemTime) {
        let mut st = self.lock();
        st.oldest_pending.remove(family);
        st.last_updated.insert(family, now);
    }

    /// Node eligibility: not being deleted and not tainted for deletion (kube-proxy's
    /// `SyncNode`).
    pub fn sync_node(&self, deleting: bool, taints: &[String]) {
        self.lock().node_eligible = !deleting && !taints.iter().any(|t| t == TO_BE_DELETED_TAINT);
    }

    /// The Node is gone.
    pub fn node_deleted(&self) {
        self.lock().node_eligible = false;
    }

    /// (healthy, the newest lastUpdated, per family (lastUpdated, healthy)).
    #[allow(clippy::type_complexity)]
    fn families(
        &self,
        now: SystemTime,
    ) -> (bool, SystemTime, Vec<(&'static str, SystemTime, bool)>) {
        let st = self.lock();
        let mut healthy = true;
        let mut last = UNIX_EPOCH;
        let mut out = Vec::new();
        for (family, updated) in &st.last_updated {
            last = last.max(*updated);
            let ok = st
                .oldest_pending
                .get(family)
                .is_none_or(|p| now.duration_since(*p).unwrap_or_default() < self.timeout);
            healthy &= ok;
            out.push((*family, *updated, ok));
        }
        (healthy, last, out)
    }

    fn answer(&self, now: SystemTime, with_node: bool) -> Reply {
        let (healthy, last, families) = self.families(now);
        let eligible = self.lock().node_eligible;
        let ok = healthy && (!with_node || eligible);
        let last = if ok { now } else { last };
        // Written by hand to keep kube-proxy's field order (`ProxyHealth`'s declaration).
        let q = |t: SystemTime| serde_json::Value::from(rfc3339(t)).to_string();
        let mut body = format!("{{\"lastUpdated\":{},\"currentTime\":{}", q(last), q(now));
        if with_node {
            body.push_str(&format!(",\"nodeEligible\":{eligible}"));
        }
        body.push_str(&format!(",\"healthy\":{ok},\"status\":{{"));
        for (i, (f, updated, h)) in families.into_iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            body.push_str(&format!(
                "{sep}\"{f}\":{{\"lastUpdated\":{},\"healthy\":{h}}}",
                q(updated)
            ));
        }
        body.push_str("}}");
        Reply {
            code: if ok { 200 } else { 503 },
            content_type: "application/json",
            body,
        }
    }

    /// `/healthz`: healthy and the Node eligible.
    pub fn healthz(&self, now: SystemTime) -> Reply {
        self.answer(now, true)
    }

    /// `/livez`: healthy.
    pub fn livez(&self, now: SystemTime) -> Reply {
        self.answer(now, false)
    }
}

/// `t` as Go marshals a UTC `time.Time`: RFC 3339 with nanoseconds, trailing zeros dropped
/// (`2026-12-05T22:48:04.1234Z`, `…:04Z`). Before 1970 (Go's zero time) it prints
/// `0001-01-01T00:00:00Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let Ok(d) = t.duration_since(UNIX_EPOCH) else {
        return "0001-01-01T00:00:00Z".to_owned();
    };
    if d.is_zero() {
        return "0001-01-01T00:00:00Z".to_owned();
    }
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut s = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    let nanos = d.subsec_nanos();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Parses an RFC 3339 UTC time as the API server writes annotations
/// (`2026-12-05T22:48:04Z`, `…04.123456789Z`); other offsets are refused.
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':').map(|x| x.parse::<u64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = u64::try_from(era * 146_097 + doe - 719_468).ok()?;
    let nanos = if frac.is_empty() {
        0
    } else if frac.len() <= 9 && frac.bytes().all(|b| b.is_ascii_digit()) {
        format!("{frac:0<9}").parse::<u32>().ok()?
    } else {
        return None;
    };
    Some(UNIX_EPOCH + Duration::new(days * 86_400 + hh * 3600 + mm * 60 + ss, nanos))
}

/// What the two servers answer.
pub struct Endpoints {
    /// Health state.
    pub health: Arc<Health>,
    /// Metrics.
    pub metrics: Metrics,
}

impl Endpoints {
    /// The health server's answer for `path`.
    pub fn healthz_server(&self, path: &str) -> Reply {
        let now = SystemTime::now();
        let (reply, counter) = match path {
            "/healthz" => (self.health.healthz(now), &self.metrics.healthz_total),
            "/livez" => (self.health.livez(now), &self.metrics.livez_total),
            _ => return not_found(),
        };
        counter.with_label_values(&[&reply.code.to_string()]).inc();
        reply
    }

    /// The metrics server's answer for `path`.
    pub fn metrics_server(&self, path: &str) -> Reply {
        let text = |body: String, ct| Reply {
            code: 200,
            content_type: ct,
            body,
        };
        match path {
            "/metrics" => text(
                self.metrics.render(),
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            "/proxyMode" => text("ipvs".to_owned(), "text/plain; charset=utf-8"),
            "/healthz" => text("ok".to_owned(), "text/plain; charset=utf-8"),
            _ => not_found(),
        }
    }
}

fn not_found() -> Reply {
    Reply {
        code: 404,
        content_type: "text/plain; charset=utf-8",
        body: "404 page not found\n".to_owned(),
    }
}

/// Serves `answer(path)` on `listener` until the task is dropped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    answer: Arc<dyn Fn(&str) -> Reply + Send + Sync>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let answer = Arc::clone(&answer);
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                let r = answer(req.uri().path());
                async move {
                    let mut resp = Response::new(Full::new(Bytes::from(r.body)));
                    *resp.status_mut() = hyper::StatusCode::from_u16(r.code)
                        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
                    let h = resp.headers_mut();
                    h.insert(
                        hyper::header::CONTENT_TYPE,
                        hyper::header::HeaderValue::from_static(r.content_type),
                    );
                    h.insert(
                        "x-content-type-options",
                        hyper::header::HeaderValue::from_static("nosniff"),
                    );
                    Ok::<_, Infallible>(resp)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_764_000_000 + secs)
    }

    #[test]
    fn go_time_format() {
        assert_eq!(rfc3339(UNIX_EPOCH), "0001-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::new(1_796_510_884, 120_000_000)),
            "2026-12-05T22:48:04.12Z"
        );
    }

    #[test]
    fn rfc3339_round_trip() {
        for t in [
            UNIX_EPOCH + Duration::from_secs(951_782_400),
            UNIX_EPOCH + Duration::new(1_796_510_884, 120_000_000),
            UNIX_EPOCH + Duration::new(4_102_444_799, 999_999_999),
        ] {
            assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
        }
        assert_eq!(parse_rfc3339("2026-12-05T22:48:04+01:00"), None);
        assert_eq!(parse_rfc3339("2026-13-05T22:48:04Z"), None);
    }

    #[test]
    fn kube_proxy_health_semantics() {
        // proxy_health.go: healthy while starting; a queued update is late after the timeout;
        // Updated clears it; /healthz also needs node eligibility, /livez does not.
        let h = Health::new(Duration::from_secs(60));
        assert_eq!(h.healthz(at(0)).code, 200);
        h.updated("IPv4", at(0));
        h.queued_update("IPv4", at(10));
        h.queued_update("IPv4", at(50)); // the oldest stays
        assert_eq!(h.healthz(at(69)).code, 200);
        let late = h.healthz(at(70));
        assert_eq!(late.code, 503);
        assert!(late.body.contains("\"healthy\":false"), "{}", late.body);
        assert!(
            late.body.ends_with(",\"healthy\":false}}}"),
            "{}",
            late.body
        );
        h.updated("IPv4", at(71));
        assert_eq!(h.healthz(at(72)).code, 200);
        h.sync_node(false, &[TO_BE_DELETED_TAINT.to_owned()]);
        let r = h.healthz(at(72));
        assert_eq!(r.code, 503);
        assert!(r.body.contains("\"nodeEligible\":false"), "{}", r.body);
        assert_eq!(h.livez(at(72)).code, 200);
        assert!(!h.livez(at(72)).body.contains("nodeEligible"));
    }
}
