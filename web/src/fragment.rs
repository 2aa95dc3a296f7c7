//! The playground's state in the URL fragment, so that a link reproduces it:
//! `#s=affinity&t=12000&sch=wrr&node=node-2&svc=dev/x&to=10.97.97.97:80&c=1&x={tweaks}&m=YAML`,
//! and the proxy modes view's settings: `pm=iptables` (kube-proxy's ConfigMap `mode`, `pm=` for
//! `""`), `mods=0` (no IPVS kernel modules), `rf=dev/a,dev/b` (the Pods refusing connections),
//! `mv=1` (the playground's modes panel open).
//!
//! Only what differs from the defaults is written; the manifests only when they differ from the
//! scenario's. Values are percent-encoded (RFC 3986 unreserved characters kept). The manifests
//! and the sends are compressed: `z=` is the manifests as raw DEFLATE (RFC 1951, `miniz_oxide`)
//! in base64url without padding (RFC 4648 §5), and `k=` the sends (JSON, the same way). Links
//! written before compression (`m=` with the plain text) still open.

use svcroute_core::cluster::Tweaks;
use svcroute_core::config::Scheduler;

use crate::scenarios::Scenario;
use crate::state::SendRecord;

/// What a link holds.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Fragment {
    /// The scenario's id.
    pub scenario: String,
    /// The manifests, when they differ from the scenario's.
    pub text: Option<String>,
    /// The simulated clock, in milliseconds.
    pub clock_ms: u64,
    /// Actions on the cluster.
    pub tweaks: Tweaks,
    /// The IPVS scheduler.
    pub scheduler: Scheduler,
    /// The chosen node.
    pub node: Option<String>,
    /// The chosen Service.
    pub service: Option<String>,
    /// The chosen target.
    pub target: Option<String>,
    /// The chosen client (index; `CLIENTS.len()` = all in turn).
    pub client: usize,
    /// The connections sent since the simulation started, replayed when the link opens.
    pub sends: Vec<SendRecord>,
    /// kube-proxy's ConfigMap `mode` in the modes view, when it is not `ipvs`.
    pub cm_mode: Option<String>,
    /// The node has no IPVS kernel modules (the modes view's switch).
    pub no_ipvs_modules: bool,
    /// The Pods (`namespace/name`) marked as refusing connections, in order.
    pub refusing: Vec<String>,
    /// The modes view shown (the playground's panel open).
    pub modes_shown: bool,
}

/// The ConfigMap `mode` values a link may carry (the modes view's choices).
const CM_MODES: [&str; 4] = ["", "ipvs", "iptables", "nftables"];

impl Fragment {
    /// `key=value&…`, without the `#`.
    pub fn encode(&self) -> String {
        let mut parts: Vec<String> = vec![format!("s={}", enc(&self.scenario))];
        if self.clock_ms != 0 {
            parts.push(format!("t={}", self.clock_ms));
        }
        if self.scheduler != Scheduler::default() {
            parts.push(format!("sch={}", self.scheduler));
        }
        for (k, v) in [
            ("node", &self.node),
            ("svc", &self.service),
            ("to", &self.target),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}={}", enc(v)));
            }
        }
        if self.client != 0 {
            parts.push(format!("c={}", self.client));
        }
        if !self.tweaks.is_empty()
            && let Some(json) = to_json(&self.tweaks)
        {
            parts.push(format!("x={}", enc(&json)));
        }
        if !self.sends.is_empty()
            && let Some(json) = to_json(&self.sends)
        {
            parts.push(format!("k={}", pack(&json)));
        }
        if let Some(m) = &self.cm_mode {
            parts.push(format!("pm={}", enc(m)));
        }
        if self.no_ipvs_modules {
            parts.push("mods=0".into());
        }
        if !self.refusing.is_empty() {
            parts.push(format!("rf={}", enc(&self.refusing.join(","))));
        }
        if self.modes_shown {
            parts.push("mv=1".into());
        }
        if let Some(t) = &self.text {
            parts.push(format!("z={}", pack(t)));
        }
        parts.join("&")
    }

    /// Parses a fragment (with or without `#`). `None` when it names no known scenario and
    /// holds no manifests: then the page starts as usual.
    pub fn decode(s: &str) -> Option<Fragment> {
        let s = s.strip_prefix('#').unwrap_or(s);
        if s.is_empty() {
            return None;
        }
        let mut f = Fragment::default();
        for part in s.split('&') {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let v = dec(v);
            match k {
                "s" => f.scenario = v,
                "t" => f.clock_ms = v.parse().unwrap_or(0),
                "sch" => f.scheduler = Scheduler::parse(&v).unwrap_or_default(),
                "node" => f.node = Some(v),
                "svc" => f.service = Some(v),
                "to" => f.target = Some(v),
                "c" => f.client = v.parse().unwrap_or(0),
                "x" => f.tweaks = from_json(&v).unwrap_or_default(),
                "pm" if CM_MODES.contains(&v.as_str()) => f.cm_mode = (v != "ipvs").then_some(v),
                "mods" => f.no_ipvs_modules = v == "0",
                "rf" => {
                    f.refusing = v
                        .split(',')
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned)
                        .collect()
                }
                "mv" => f.modes_shown = v == "1",
                "m" => f.text = Some(v),
                "z" => f.text = unpack(&v),
                "k" => f.sends = unpack(&v).and_then(|j| from_json(&j)).unwrap_or_default(),
                _ => {}
            }
        }
        if !Scenario::exists(&f.scenario) {
            f.text.as_ref()?;
            f.scenario = Scenario::default_one().id.into();
        }
        Some(f)
    }
}

/// `v` as JSON text (the JS API's own writer; serde_json's code would be a part of the
/// bundle for these two values only).
fn to_json<T: serde::Serialize>(v: &T) -> Option<String> {
    crate::json::to_string(v).ok()
}

/// The inverse of [`to_json`]; `None` for text that is not JSON of a `T`. In the browser
/// through the JS engine's `JSON`; elsewhere (the unit tests) serde_json.
#[cfg(target_arch = "wasm32")]
fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_wasm_bindgen::from_value(js_sys::JSON::parse(s).ok()?).ok()
}

#[cfg(not(target_arch = "wasm32"))]
fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_str(s).ok()
}

/// Raw DEFLATE at the best level, then base64url without padding. The last answer is kept:
/// the page writes its link after every render, and the manifests rarely change between two.
pub fn pack(text: &str) -> String {
    thread_local! {
        static LAST: std::cell::RefCell<(String, String)> = const { std::cell::RefCell::new((String::new(), String::new())) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != text || last.1.is_empty() {
            let packed = b64url(&miniz_oxide::deflate::compress_to_vec(text.as_bytes(), 9));
            *last = (text.to_owned(), packed);
        }
        last.1.clone()
    })
}

/// The inverse of [`pack`]; `None` for anything that is not (at most 16 MiB unpacked).
pub fn unpack(s: &str) -> Option<String> {
    let bytes = un_b64url(s)?;
    let raw = miniz_oxide::inflate::decompress_to_vec_with_limit(&bytes, 16 << 20).ok()?;
    String::from_utf8(raw).ok()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn un_b64url(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = B64.iter().position(|&b| b == c)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits & 0xff) as u8);
        }
    }
    Some(out)
}

/// Percent-encodes everything but RFC 3986's unreserved characters (and `/` and `:`, which
/// are allowed in a fragment and keep `dev/x` and `10.97.97.97:80` readable).
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` sequences; invalid ones are kept as they are. Invalid UTF-8 is replaced.
pub fn dec(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use svcroute_core::cluster::PodTweak;

    #[test]
    fn round_trip() {
        let mut tweaks = Tweaks::default();
        tweaks.replicas.insert("dev/pc-deployment".into(), 5);
        tweaks.pods.insert(
            "dev/pod-a".into(),
            PodTweak {
                ready: Some(false),
                ..PodTweak::default()
            },
        );
        tweaks.affinity.insert("dev/svc".into(), Some(60));
        let f = Fragment {
            scenario: "affinity".into(),
            text: Some("a: 1 # ünïcode & = % #\n---\nb: [x, y]\n".into()),
            clock_ms: 10_806_000,
            tweaks,
            scheduler: Scheduler::WeightedRoundRobin,
            node: Some("node-2".into()),
            service: Some("dev/service-affinity".into()),
            target: Some("10.97.97.97:80".into()),
            client: 3,
            sends: vec![SendRecord {
                from: vec!["10.0.0.7".parse().expect("ip")],
                to: "10.97.97.97:80".into(),
                count: 2,
                at: 5000,
            }],
            cm_mode: Some(String::new()),
            no_ipvs_modules: true,
            refusing: vec!["dev/pod-a".into(), "dev/pod-b".into()],
            modes_shown: true,
        };
        let s = f.encode();
        assert!(
            !s.contains(' ') && !s.contains('#') && !s.contains('\n'),
            "{s}"
        );
        assert_eq!(Fragment::decode(&format!("#{s}")), Some(f));
    }

    #[test]
    fn base64url_and_deflate_round_trip() {
        for n in 0..20 {
            let text: String = "apiVersion: v1\nkind: Service 中 "
                .chars()
                .cycle()
                .take(n * 7)
                .collect();
            assert_eq!(unpack(&pack(&text)).as_deref(), Some(text.as_str()));
        }
        assert_eq!(b64url(b"\xfb\xff"), "-_8");
        assert_eq!(un_b64url("-_8").as_deref(), Some(&b"\xfb\xff"[..]));
        assert_eq!(unpack("%%"), None);
    }

    #[test]
    fn a_large_manifest_makes_a_short_link() {
        let text: String = (0..2000)
            .map(|i| format!("---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\n  namespace: dev\nspec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n    targetPort: 8080\n"))
            .collect();
        let f = Fragment {
            scenario: "clusterip".into(),
            text: Some(text.clone()),
            ..Fragment::default()
        };
        let link = f.encode();
        assert!(
            link.len() * 10 < text.len(),
            "{} bytes for {}",
            link.len(),
            text.len()
        );
        assert_eq!(Fragment::decode(&link).and_then(|f| f.text), Some(text));
        // A link from before compression still opens.
        assert_eq!(
            Fragment::decode("s=clusterip&m=a%3A%201")
                .and_then(|f| f.text)
                .as_deref(),
            Some("a: 1")
        );
    }

    #[test]
    fn the_modes_settings_are_carried_and_old_links_keep_their_defaults() {
        let f = Fragment::decode("s=clusterip&pm=iptables&rf=dev%2Fa%2Cdev%2Fb&mods=0")
            .expect("decoded");
        assert_eq!(f.cm_mode.as_deref(), Some("iptables"));
        assert!(f.no_ipvs_modules);
        assert_eq!(f.refusing, ["dev/a", "dev/b"]);
        // `mode: ""` (iptables, by default) differs from no `pm=` (the seed's `ipvs`).
        let empty = Fragment::decode("s=clusterip&pm=").expect("decoded");
        assert_eq!(empty.cm_mode.as_deref(), Some(""));
        assert_eq!(empty.encode(), "s=clusterip&pm=");
        // A link from before the modes settings: the defaults.
        let old = Fragment::decode("s=clusterip&c=1").expect("decoded");
        assert_eq!((old.cm_mode, old.no_ipvs_modules), (None, false));
        assert!(old.refusing.is_empty() && !old.modes_shown);
        // A mode the ConfigMap switch does not offer is ignored.
        assert_eq!(
            Fragment::decode("s=clusterip&pm=kernelspace").and_then(|f| f.cm_mode),
            None
        );
    }

    #[test]
    fn defaults_are_short() {
        let f = Fragment {
            scenario: "clusterip".into(),
            ..Fragment::default()
        };
        assert_eq!(f.encode(), "s=clusterip");
    }

    #[test]
    fn garbage_is_harmless() {
        assert_eq!(Fragment::decode(""), None);
        assert_eq!(Fragment::decode("#nothing"), None);
        let f = Fragment::decode("#s=nodeport&t=abc&x=%ZZ&c=%").expect("scenario known");
        assert_eq!(f.scenario, "nodeport");
        assert_eq!(f.clock_ms, 0);
        assert_eq!(dec("100%"), "100%");
        assert_eq!(dec("%e4%b8%ad"), "中");
    }
}
