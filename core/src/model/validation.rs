//! API-server validators for names, label keys and values, ports and IP addresses.
//!
//! Each function mirrors a Kubernetes apimachinery validator and, on failure, returns the text
//! the API server would put after `Invalid value: "…": `. Validators that Kubernetes lets report
//! several problems at once join them with `"; "`, as `labels.validateLabelKey` does.
//!
//! Sources followed (current Kubernetes `master`):
//! - `k8s.io/apimachinery/pkg/util/validation/validation.go`: `IsDNS1123Label`,
//!   `IsDNS1123Subdomain`, `IsDNS1035Label`, `IsValidPortName`, `IsValidPortNum`. Their length
//!   message is `validation.MaxLenError`: "must be no more than N characters".
//! - `k8s.io/apimachinery/pkg/api/validate/content/kube.go`: `IsLabelKey` (what
//!   `validation.IsQualifiedName` now is) and `IsLabelValue` (what `IsValidLabelValue` now is).
//!   Their length message is `content.MaxLenError`: "must be no more than N bytes".
//! - `k8s.io/apimachinery/pkg/util/validation/ip.go`: `IsValidIPForLegacyField` with strict
//!   validation (see [`ip_address`]).
//!
//! All lengths are byte lengths, as Go's `len` counts.

use crate::diag::Msg;
use alloc::{string::String, vec::Vec};
use core::net::IpAddr;

/// Longest DNS-1123 label (`validation.DNS1123LabelMaxLength`).
pub const DNS1123_LABEL_MAX_LENGTH: usize = 63;
/// Longest DNS-1123 subdomain (`validation.DNS1123SubdomainMaxLength`).
pub const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;
/// Longest DNS-1035 label (`validation.DNS1035LabelMaxLength`).
pub const DNS1035_LABEL_MAX_LENGTH: usize = 63;
/// Longest name part of a qualified name / label key (`content.labelKeyMaxLength`).
pub const QUALIFIED_NAME_MAX_LENGTH: usize = 63;
/// Longest label value (`content.LabelValueMaxLength`).
pub const LABEL_VALUE_MAX_LENGTH: usize = 63;
/// Longest IANA_SVC_NAME port name (`IsValidPortName`).
pub const PORT_NAME_MAX_LENGTH: usize = 15;

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
fn dns1123_label_err() -> Msg {
    crate::msg!(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
    )
}
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
fn dns1123_subdomain_err() -> Msg {
    crate::msg!(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
    )
}
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
fn dns1035_label_err() -> Msg {
    crate::msg!(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character"
    )
}
const LABEL_KEY_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
fn label_key_err() -> Msg {
    crate::msg!(
        "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
    )
}
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
fn label_value_err() -> Msg {
    crate::msg!(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
    )
}

/// `validation.RegexError`: the message, the examples and the regex Kubernetes reports.
fn regex_error(msg: Msg, fmt: &str, examples: &[&str]) -> Msg {
    if examples.is_empty() {
        return crate::msg!("{} (regex used for validation is '{}')", msg, fmt);
    }
    // Kubernetes' own spacing: "'a',  or 'b', " (each example, then " or " between them).
    let shown = Msg::Join(
        examples
            .iter()
            .map(|example| crate::msg!("'{}', ", example))
            .collect(),
        " or ",
    );
    crate::msg!(
        "{} (e.g. {}regex used for validation is '{}')",
        msg,
        shown,
        fmt
    )
}

/// `validation.MaxLenError` (util/validation, used by the DNS and port-name validators).
fn max_len_error(length: usize) -> Msg {
    crate::msg!("must be no more than {} characters", length)
}

/// `content.MaxLenError` (api/validate/content, used by the label key and value validators).
fn content_max_len_error(length: usize) -> Msg {
    crate::msg!("must be no more than {} bytes", length)
}

fn finish(errs: Vec<Msg>) -> Result<(), Msg> {
    if errs.is_empty() {
        Ok(())
    } else {
        Err(Msg::join(errs, "; "))
    }
}

/// `[a-z0-9]`, a bit of [`CLASSES`].
const LOWER_ALNUM: u8 = 1;
/// `[-a-z0-9]`.
const DNS: u8 = 2;
/// `[A-Za-z0-9]`.
const ALNUM: u8 = 4;
/// `[-A-Za-z0-9_.]`.
const KEY: u8 = 8;

/// The character classes of the validators' patterns by byte: one lookup a byte.
static CLASSES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let lower_alnum = b.is_ascii_lowercase() || b.is_ascii_digit();
        let alnum = b.is_ascii_alphanumeric();
        t[c] = if lower_alnum { LOWER_ALNUM | DNS } else { 0 }
            | if b == b'-' { DNS | KEY } else { 0 }
            | if alnum { ALNUM | KEY } else { 0 }
            | if b == b'_' || b == b'.' { KEY } else { 0 };
        c += 1;
    }
    t
};

fn is_lower_alnum(b: u8) -> bool {
    CLASSES[usize::from(b)] & LOWER_ALNUM != 0
}

/// Whether every byte of `b` is in `class`.
fn all_in(b: &[u8], class: u8) -> bool {
    b.iter()
        .fold(class, |acc, &c| acc & CLASSES[usize::from(c)])
        == class
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
fn matches_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&first), Some(&last)) => {
            is_lower_alnum(first) && is_lower_alnum(last) && all_in(b, DNS)
        }
        _ => false,
    }
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`: in one pass, every
/// byte a lowercase alphanumeric, `-` or `.`, the text starting and ending with an
/// alphanumeric and every `.` between two alphanumerics (each dot-separated part a label).
fn matches_dns1123_subdomain(s: &str) -> bool {
    // Most subdomains are one label (object names): that is one cheaper pass.
    if matches_dns1123_label(s) {
        return true;
    }
    let mut prev = b'.';
    for &c in s.as_bytes() {
        let ok = match c {
            b'.' => is_lower_alnum(prev),
            b'-' => prev != b'.',
            _ => is_lower_alnum(c),
        };
        if !ok {
            return false;
        }
        prev = c;
    }
    is_lower_alnum(prev)
}

/// `^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`
fn matches_label_key_name(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() && all_in(b, KEY)
        }
        _ => false,
    }
}

/// `IsDNS1123Label`: a lowercase RFC 1123 label of at most 63 characters (namespace names,
/// Service port names).
pub fn dns1123_label(value: &str) -> Result<(), Msg> {
    // The common case, settled without the error list (natively: a speed path).
    #[cfg(not(target_arch = "wasm32"))]
    if value.len() <= DNS1123_LABEL_MAX_LENGTH && matches_dns1123_label(value) {
        return Ok(());
    }
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    if !matches_dns1123_label(value) {
        if matches_dns1123_subdomain(value) {
            // A valid subdomain but not a label: since length was checked, it must be dots.
            errs.push(crate::msg!("must not contain dots"));
        } else {
            errs.push(regex_error(
                dns1123_label_err(),
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    finish(errs)
}

fn dns1123_subdomain_errors(value: &str, max_len: fn(usize) -> Msg) -> Vec<Msg> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !matches_dns1123_subdomain(value) {
        errs.push(regex_error(
            dns1123_subdomain_err(),
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// `IsDNS1123Subdomain`: a lowercase RFC 1123 subdomain of at most 253 characters (most object
/// names).
pub fn dns1123_subdomain(value: &str) -> Result<(), Msg> {
    // The common case, settled without the error list (natively: a speed path).
    #[cfg(not(target_arch = "wasm32"))]
    if value.len() <= DNS1123_SUBDOMAIN_MAX_LENGTH && matches_dns1123_subdomain(value) {
        return Ok(());
    }
    finish(dns1123_subdomain_errors(value, max_len_error))
}

/// `IsDNS1035Label`: a lowercase RFC 1035 label of at most 63 characters, starting with a
/// letter (Service names).
pub fn dns1035_label(value: &str) -> Result<(), Msg> {
    let mut errs = Vec::new();
    if value.len() > DNS1035_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1035_LABEL_MAX_LENGTH));
    }
    let starts_with_letter = value.as_bytes().first().is_some_and(u8::is_ascii_lowercase);
    if !(starts_with_letter && matches_dns1123_label(value)) {
        errs.push(regex_error(
            dns1035_label_err(),
            DNS1035_LABEL_FMT,
            &["my-name", "abc-123"],
        ));
    }
    finish(errs)
}

/// `IsQualifiedName` (= `content.IsLabelKey`): a label or annotation key, an optional DNS
/// subdomain prefix and `/`, then a name of at most 63 bytes of alphanumerics, `-`, `_`, `.`
/// starting and ending with an alphanumeric.
pub fn qualified_name(value: &str) -> Result<(), Msg> {
    // A valid key (`app`: most label keys; `kubernetes.io/hostname`), settled before splitting
    // it into a vector (the checks below give no error for it either). A name that matches
    // has no `/`.
    let valid_name =
        |name: &str| name.len() <= QUALIFIED_NAME_MAX_LENGTH && matches_label_key_name(name);
    if valid_name(value) {
        return Ok(());
    }
    #[cfg(not(target_arch = "wasm32"))]
    if let Some((prefix, name)) = value.split_once('/')
        && prefix.len() <= DNS1123_SUBDOMAIN_MAX_LENGTH
        && matches_dns1123_subdomain(prefix)
        && valid_name(name)
    {
        return Ok(());
    }
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push(crate::msg!("prefix part must be non-empty"));
            } else {
                for msg in dns1123_subdomain_errors(prefix, content_max_len_error) {
                    errs.push(crate::msg!("prefix part {}", msg));
                }
            }
            *name
        }
        _ => {
            return Err(crate::msg!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(
                    label_key_err(),
                    LABEL_KEY_FMT,
                    &["MyName", "my.name", "123-abc"]
                )
            ));
        }
    };
    if name.is_empty() {
        errs.push(crate::msg!("name part must be non-empty"));
    } else if name.len() > QUALIFIED_NAME_MAX_LENGTH {
        errs.push(crate::msg!(
            "name part {}",
            content_max_len_error(QUALIFIED_NAME_MAX_LENGTH)
        ));
    }
    if !matches_label_key_name(name) {
        errs.push(crate::msg!(
            "name part {}",
            regex_error(
                label_key_err(),
                LABEL_KEY_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    finish(errs)
}

/// `IsValidLabelValue` (= `content.IsLabelValue`): empty, or at most 63 bytes of alphanumerics,
/// `-`, `_`, `.` starting and ending with an alphanumeric.
pub fn label_value(value: &str) -> Result<(), Msg> {
    // The common case, settled without the error list (natively: a speed path).
    #[cfg(not(target_arch = "wasm32"))]
    if value.len() <= LABEL_VALUE_MAX_LENGTH && (value.is_empty() || matches_label_key_name(value))
    {
        return Ok(());
    }
    let mut errs = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LENGTH {
        errs.push(content_max_len_error(LABEL_VALUE_MAX_LENGTH));
    }
    if !(value.is_empty() || matches_label_key_name(value)) {
        errs.push(regex_error(
            label_value_err(),
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    finish(errs)
}

/// `IsValidPortName`: an IANA_SVC_NAME, at most 15 characters of `[-a-z0-9]` with at least one
/// letter, no leading or trailing `-` and no `--`.
pub fn port_name(port: &str) -> Result<(), Msg> {
    let b = port.as_bytes();
    // Natively: a speed path.
    #[cfg(not(target_arch = "wasm32"))]
    {
        // A valid name (`http`), settled in one pass: no leading, trailing or double `-` (the
        // byte before the first is taken as a `-`), a letter somewhere.
        let mut prev = b'-';
        let mut letter = false;
        let mut plain = b.len() <= PORT_NAME_MAX_LENGTH;
        for &c in b {
            match c {
                b'-' => plain &= prev != b'-',
                b'a'..=b'z' => letter = true,
                b'0'..=b'9' => {}
                _ => plain = false,
            }
            prev = c;
        }
        if plain && letter && prev != b'-' {
            return Ok(());
        }
    }
    let mut errs = Vec::new();
    if b.len() > PORT_NAME_MAX_LENGTH {
        errs.push(max_len_error(PORT_NAME_MAX_LENGTH));
    }
    if b.is_empty() || !all_in(b, DNS) {
        errs.push(crate::msg!(
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
        ));
    }
    if !b.iter().any(u8::is_ascii_lowercase) {
        errs.push(crate::msg!("must contain at least one letter (a-z)"));
    }
    if port.contains("--") {
        errs.push(crate::msg!("must not contain consecutive hyphens"));
    }
    if b.first() == Some(&b'-') || b.last() == Some(&b'-') {
        errs.push(crate::msg!("must not begin or end with a hyphen"));
    }
    finish(errs)
}

/// `IsValidPortNum`: 1 to 65535 inclusive.
pub fn port_number(port: i64) -> Result<(), Msg> {
    if (1..=65535).contains(&port) {
        Ok(())
    } else {
        Err(crate::msg!("must be between 1 and 65535, inclusive"))
    }
}

/// An IP address as `IsValidIPForLegacyField(fldPath, value, strictValidation=true)` accepts it,
/// the validation of Service `clusterIP(s)`, `externalIPs`, `loadBalancerIP`, endpoint and Pod
/// IPs once the `StrictIPCIDRValidation` feature gate is on (alpha in 1.33, off by default;
/// Kubernetes warns that the sloppy forms "will be considered invalid in a future Kubernetes
/// release").
///
/// Like Kubernetes it rejects IPv4 octets with leading zeros (`010.0.0.1`: "must not have
/// leading 0s", since `netutils.ParseIPSloppy` would read it as decimal while libc reads octal)
/// and IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`: "must not be an IPv4-mapped IPv6
/// address"). It accepts non-canonical IPv6 text (`FE80:0::1`), which only `IsValidIP` for new
/// fields refuses. Zones (`fe80::1%eth0`) and anything else `ParseIPSloppy` refuses get "must be a
/// valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)".
pub fn ip_address(value: &str) -> Result<IpAddr, Msg> {
    match value.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_some() => {
            Err(crate::msg!("must not be an IPv4-mapped IPv6 address"))
        }
        Ok(ip) => Ok(ip),
        Err(_) if parses_sloppily(value) => Err(crate::msg!("must not have leading 0s")),
        Err(_) => Err(crate::msg!(
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
        )),
    }
}

/// A CIDR as `IsValidCIDRForLegacyField(fldPath, value, nil)` accepts it (strict validation,
/// as for `spec.loadBalancerSourceRanges`): `netutils.ParseCIDRSloppy` must read it ("must be a
/// valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"), then `netip.ParsePrefix` must
/// ("must not have leading 0s in IP or prefix length"), the address may not be IPv4-mapped
/// ("must not have an IPv4-mapped IPv6 address") and no bit may be set after the prefix
/// ("must not have bits set beyond the prefix length").
pub fn cidr(value: &str) -> Result<ipnet::IpNet, Msg> {
    let invalid = || crate::msg!("must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)");
    let Some((ip, len)) = value.split_once('/') else {
        return Err(invalid());
    };
    // ParseCIDRSloppy: a sloppy IP and a decimal prefix length (leading zeros allowed).
    let sloppy_ip = ip.parse::<IpAddr>().is_ok() || parses_sloppily(ip);
    let bits: u32 = if ip.contains(':') { 128 } else { 32 };
    let sloppy_len = !len.is_empty()
        && len.len() <= 8
        && len.bytes().all(|b| b.is_ascii_digit())
        && len.parse::<u32>().is_ok_and(|n| n <= bits);
    if !sloppy_ip || !sloppy_len {
        return Err(invalid());
    }
    let strict_len = len == "0" || !len.starts_with('0');
    let Some(addr) = ip.parse::<IpAddr>().ok().filter(|_| strict_len) else {
        return Err(crate::msg!(
            "must not have leading 0s in IP or prefix length"
        ));
    };
    if let IpAddr::V6(v6) = addr
        && v6.to_ipv4_mapped().is_some()
    {
        return Err(crate::msg!("must not have an IPv4-mapped IPv6 address"));
    }
    let prefix = len.parse::<u8>().unwrap_or(0);
    let net = ipnet::IpNet::new(addr, prefix).map_err(|_| invalid())?;
    if net.trunc().addr() != addr {
        return Err(crate::msg!(
            "must not have bits set beyond the prefix length"
        ));
    }
    Ok(net)
}

/// Whether `netutils.ParseIPSloppy` (Go 1.16's `net.ParseIP`, which reads any number of leading
/// zeros in decimal IPv4 octets and in IPv6 hex groups) would accept `value`.
fn parses_sloppily(value: &str) -> bool {
    // ParseIPSloppy picks the family from whichever of '.' and ':' comes first.
    let ipv6 = match value.bytes().find(|&b| b == b'.' || b == b':') {
        Some(b':') => true,
        Some(_) => false,
        None => return false,
    };
    let strip = |part: &str, digits: fn(&u8) -> bool| -> String {
        if !part.is_empty() && part.as_bytes().iter().all(digits) {
            let trimmed = part.trim_start_matches('0');
            String::from(if trimmed.is_empty() { "0" } else { trimmed })
        } else {
            String::from(part)
        }
    };
    let strip_v4 = |s: &str| -> String {
        s.split('.')
            .map(|p| strip(p, u8::is_ascii_digit))
            .collect::<Vec<_>>()
            .join(".")
    };
    if ipv6 {
        let groups: Vec<String> = value
            .split(':')
            .map(|g| {
                if g.contains('.') {
                    strip_v4(g)
                } else {
                    strip(g, u8::is_ascii_hexdigit)
                }
            })
            .collect();
        groups.join(":").parse::<core::net::Ipv6Addr>().is_ok()
    } else {
        strip_v4(value).parse::<core::net::Ipv4Addr>().is_ok()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;

    /// Every string of up to `n` bytes over `alphabet`.
    fn strings(alphabet: &[u8], n: usize) -> Vec<String> {
        let mut out = alloc::vec![String::new()];
        let mut last = out.clone();
        for _ in 0..n {
            let mut next = Vec::new();
            for s in &last {
                for &c in alphabet {
                    let mut t = s.clone();
                    t.push(char::from(c));
                    next.push(t);
                }
            }
            out.extend(next.iter().cloned());
            last = next;
        }
        out
    }

    /// The validators' one-pass fast paths accept exactly what their patterns (and the slow
    /// paths below them) accept: the dot-separated subdomain pattern, checked against the
    /// definition, on every short string of the characters that matter.
    #[test]
    fn fast_paths_agree_with_the_patterns() {
        let by_labels = |s: &str| s.split('.').all(matches_dns1123_label);
        for s in strings(b"a0-._A/", 6) {
            assert_eq!(matches_dns1123_subdomain(&s), by_labels(&s), "{s:?}");
            let label = |s: &str| {
                s.bytes()
                    .next()
                    .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && s.bytes()
                        .last()
                        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && s.bytes()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            };
            assert_eq!(matches_dns1123_label(&s), label(&s), "{s:?}");
            let key = |s: &str| {
                s.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric())
                    && s.bytes().last().is_some_and(|c| c.is_ascii_alphanumeric())
                    && s.bytes()
                        .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c))
            };
            assert_eq!(matches_label_key_name(&s), key(&s), "{s:?}");
            // A valid name is one no check of the slow path reports.
            let ok = |r: Result<(), Msg>| r.is_ok();
            let parts: Vec<&str> = s.split('/').collect();
            let qualified = match parts.as_slice() {
                [name] => key(name),
                [prefix, name] => by_labels(prefix) && key(name),
                _ => false,
            };
            assert_eq!(ok(qualified_name(&s)), qualified, "{s:?}");
            assert_eq!(ok(label_value(&s)), s.is_empty() || key(&s), "{s:?}");
            assert_eq!(ok(dns1123_subdomain(&s)), by_labels(&s), "{s:?}");
            assert_eq!(ok(dns1123_label(&s)), label(&s), "{s:?}");
        }
        for s in strings(b"a0-A", 7) {
            let b = s.as_bytes();
            let valid = !b.is_empty()
                && b.iter()
                    .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                && b.iter().any(u8::is_ascii_lowercase)
                && !s.contains("--")
                && !s.starts_with('-')
                && !s.ends_with('-');
            assert_eq!(port_name(&s).is_ok(), valid, "{s:?}");
        }
    }

    /// Test values separated by `|` (some contain spaces), plus `extra`.
    fn cases<'a>(list: &'a str, extra: &'a [&'a str]) -> impl Iterator<Item = &'a str> {
        list.split('|').chain(extra.iter().copied())
    }

    const LABELS_GOOD: &str = "a|ab|abc|a1|a-1|a--1--2--b|0|01|012|1a|1-a|1--a--b--2";
    const LABELS_BAD: &str = "|A|ABC|aBc|A1|A-1|1-A|-|a-|-a|1-|-1|_|a_|_a|a_b|1_|_1|1_2\
        |.|a.|.a|1.|.1| |a |  a|a b|1 | 1|1 2|a\n";

    // validation_test.go TestIsDNS1123Label
    #[test]
    fn dns1123_label_cases() {
        for good in cases(LABELS_GOOD, &[&"a".repeat(63)]) {
            assert_eq!(dns1123_label(good), Ok(()), "{good}");
        }
        for bad in cases(LABELS_BAD, &["a.b", "1.2", &"a".repeat(64)]) {
            assert!(dns1123_label(bad).is_err(), "{bad:?}");
        }
    }

    // IsDNS1123Label: the exact message, the "must not contain dots" special case, and length.
    #[test]
    fn dns1123_label_messages() {
        assert_eq!(
            dns1123_label("My_Name").unwrap_err().to_string(),
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \
             '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or \
             '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        );
        assert_eq!(
            dns1123_label("a.b").unwrap_err().to_string(),
            "must not contain dots"
        );
        let too_long = dns1123_label(&"a".repeat(64)).unwrap_err().to_string();
        assert_eq!(too_long, "must be no more than 63 characters");
        let both = dns1123_label(&"a.".repeat(40)).unwrap_err().to_string();
        assert!(both.starts_with("must be no more than 63 characters; a lowercase RFC 1123 label"));
    }

    // validation_test.go TestIsDNS1123Subdomain
    #[test]
    fn dns1123_subdomain_cases() {
        let more_good = "a.a|ab.a|a--1--2--b.a|a.1|a--1--2--b.1|0.a|012.a|1-a.a|0.1|1--a--b--2.1\
            |a.b.c.d.e|aa.bb.cc.dd.ee|1.2.3.4.5|11.22.33.44.55";
        for good in cases(LABELS_GOOD, &[&"a".repeat(253)]).chain(more_good.split('|')) {
            assert_eq!(dns1123_subdomain(good), Ok(()), "{good}");
        }
        let more_bad = "a..b|1..2|A.a|aB.a|ab.A|A1.a|a1.A|A.1|1A.1|0.A|1a.A|A.B.C.D.E|a.B.c.d.e\
            |a@b|a,b|a;b|a:b|a%b|a?b|a$b";
        for bad in cases(LABELS_BAD, &[&"a".repeat(254)]).chain(more_bad.split('|')) {
            assert!(dns1123_subdomain(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            dns1123_subdomain("Example.com").unwrap_err().to_string(),
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \
             '-' or '.', and must start and end with an alphanumeric character (e.g. \
             'example.com', regex used for validation is \
             '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        );
        let too_long = dns1123_subdomain(&"a".repeat(254)).unwrap_err().to_string();
        assert_eq!(too_long, "must be no more than 253 characters");
    }

    // validation_test.go TestIsDNS1035Label
    #[test]
    fn dns1035_label_cases() {
        for good in cases("a|ab|abc|a1|a-1|a--1--2--b", &[&"a".repeat(63)]) {
            assert_eq!(dns1035_label(good), Ok(()), "{good}");
        }
        let digits_first = "0|01|012|1a|1-a|1--a--b--2";
        for bad in cases(LABELS_BAD, &[&"a".repeat(64), "a.b"]).chain(digits_first.split('|')) {
            assert!(dns1035_label(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            dns1035_label("1abc").unwrap_err().to_string(),
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start \
             with an alphabetic character, and end with an alphanumeric character (e.g. \
             'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
        );
    }

    // validation_test.go TestIsQualifiedName (content kube_test.go TestIsLabelKey)
    #[test]
    fn qualified_name_cases() {
        let good = "simple|now-with-dashes|1-starts-with-num|1234|simple/simple\
            |now-with-dashes/simple|now-with-dashes/now-with-dashes|now.with.dots/simple\
            |now-with.dashes-and.dots/simple|1-num.2-num/3-num|1234/5678|1.2.3.4/5678\
            |Uppercase_Is_OK_123|example.com/Uppercase_Is_OK_123|requests.storage-foo";
        let long_both = format!("{}/{}", "a".repeat(253), "b".repeat(63));
        for good in cases(good, &[&"a".repeat(63), &long_both]) {
            assert_eq!(qualified_name(good), Ok(()), "{good}");
        }
        let bad = "nospecialchars%^=@|cantendwithadash-|-cantstartwithadash-|only/one/slash\
            |Example.com/abc|example_com/abc|example.com/|/simple|";
        let long_prefix = format!("{}/abc", "a".repeat(254));
        for bad in cases(bad, &[&"a".repeat(64), &long_prefix]) {
            assert!(qualified_name(bad).is_err(), "{bad:?}");
        }
    }

    // content.IsLabelKey: message texts, "bytes" lengths, joined with "; " like validateLabelKey.
    #[test]
    fn qualified_name_messages() {
        let name_regex = "must consist of alphanumeric characters, '-', '_' or '.', and must \
            start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or \
            '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
        assert_eq!(
            qualified_name("app:").unwrap_err().to_string(),
            format!("name part {name_regex}")
        );
        assert_eq!(
            qualified_name("a/b/c").unwrap_err().to_string(),
            format!(
                "a valid label key {name_regex} with an optional DNS subdomain prefix and '/' \
                 (e.g. 'example.com/MyName')"
            )
        );
        assert_eq!(
            qualified_name("/").unwrap_err().to_string(),
            format!(
                "prefix part must be non-empty; name part must be non-empty; name part {name_regex}"
            )
        );
        let too_long = qualified_name(&"a".repeat(64)).unwrap_err().to_string();
        assert_eq!(too_long, "name part must be no more than 63 bytes");
        let long_prefix = qualified_name(&format!("{}/a", "a".repeat(254)))
            .unwrap_err()
            .to_string();
        assert_eq!(long_prefix, "prefix part must be no more than 253 bytes");
        let underscore = qualified_name("app.kubernetes_io/name")
            .unwrap_err()
            .to_string();
        assert!(underscore.starts_with("prefix part a lowercase RFC 1123 subdomain"));
    }

    // validation_test.go TestIsValidLabelValue
    #[test]
    fn label_value_cases() {
        let good = "simple|now-with-dashes|1-starts-with-num|end-with-num-1|1234|";
        for good in cases(good, &[&"a".repeat(63)]) {
            assert_eq!(label_value(good), Ok(()), "{good}");
        }
        let bad = "nospecialchars%^=@|Tama-nui-te-rā.is.Māori.sun|\\backslashes\\are\\bad\
            |-starts-with-dash|ends-with-dash-|.starts.with.dot|ends.with.dot.";
        for bad in cases(bad, &[&"a".repeat(64)]) {
            assert!(label_value(bad).is_err(), "{bad:?}");
        }
        let too_long = label_value(&"a".repeat(64)).unwrap_err().to_string();
        assert_eq!(too_long, "must be no more than 63 bytes");
        assert_eq!(
            label_value("-x").unwrap_err().to_string(),
            "a valid label must be an empty string or consist of alphanumeric characters, '-', \
             '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  \
             or 'my_value',  or '12345', regex used for validation is \
             '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        );
    }

    // validation_test.go TestIsValidPortName
    #[test]
    fn port_name_cases() {
        for good in
            "telnet|re-mail-ck|pop3|a|a-1|1-a|a-1-b-2-c|1-a-2-b-3|abcdefghijklmno".split('|')
        {
            assert_eq!(port_name(good), Ok(()), "{good}");
        }
        let bad = "longerthan15characters||aaaaaaaaaaaaaaaa|12345|1-2-3-4|-begin|end-|two--hyphens\
            |whois++|HTTP";
        for bad in bad.split('|') {
            assert!(port_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            port_name("").unwrap_err().to_string(),
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-); \
             must contain at least one letter (a-z)"
        );
        assert_eq!(
            port_name("-a--").unwrap_err().to_string(),
            "must not contain consecutive hyphens; must not begin or end with a hyphen"
        );
        let too_long = port_name("aaaaaaaaaaaaaaaa").unwrap_err().to_string();
        assert_eq!(too_long, "must be no more than 15 characters");
    }

    // validation_test.go TestIsValidPortNum
    #[test]
    fn port_number_cases() {
        for good in [1, 2, 1000, 16384, 32768, 65535] {
            assert_eq!(port_number(good), Ok(()));
        }
        for bad in [0, -1, 65536, 100000, i64::MIN, i64::MAX] {
            assert_eq!(
                port_number(bad).unwrap_err().to_string(),
                "must be between 1 and 65535, inclusive"
            );
        }
    }

    // ip.go IsValidCIDRForLegacyField (strict): parseCIDR's four messages.
    #[test]
    fn cidr_cases() {
        for good in "10.0.0.0/8|0.0.0.0/0|192.168.1.0/24|2001:db8::/64|::/0|1.2.3.4/32".split('|') {
            assert!(cidr(good).is_ok(), "{good}");
        }
        let invalid =
            "|10.0.0.0|10.0.0.0/33|10.0.0.0/-1|a/8|10.0.0.0/8/8|2001:db8::/129|1.2.3.4/ 8";
        for bad in invalid.split('|') {
            assert_eq!(
                cidr(bad).unwrap_err().to_string(),
                "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                "{bad:?}"
            );
        }
        for bad in "010.0.0.0/8|10.0.0.0/08".split('|') {
            assert_eq!(
                cidr(bad).unwrap_err().to_string(),
                "must not have leading 0s in IP or prefix length"
            );
        }
        assert_eq!(
            cidr("::ffff:1.2.3.0/120").unwrap_err().to_string(),
            "must not have an IPv4-mapped IPv6 address"
        );
        assert_eq!(
            cidr("10.0.0.1/8").unwrap_err().to_string(),
            "must not have bits set beyond the prefix length"
        );
    }

    // ip.go IsValidIPForLegacyField(strict=true): parseIP's three messages.
    #[test]
    fn ip_address_cases() {
        let good = "1.2.3.4|0.0.0.0|255.255.255.255|10.96.0.10|2001:db8::1|::|::1|FE80:0:0::0abc\
            |::1.2.3.4";
        for good in good.split('|') {
            assert!(ip_address(good).is_ok(), "{good}");
        }
        assert_eq!(ip_address("10.0.0.1").unwrap().to_string(), "10.0.0.1");
        let leading = "010.0.0.1|1.2.3.04|0001.2.3.4|::ffff:01.2.3.4|2001:db8::00001";
        for leading in leading.split('|') {
            assert_eq!(
                ip_address(leading).unwrap_err().to_string(),
                "must not have leading 0s",
                "{leading}"
            );
        }
        for mapped in "::ffff:1.2.3.4|::ffff:102:304|::FFFF:10.0.0.1".split('|') {
            let err = ip_address(mapped).unwrap_err().to_string();
            assert_eq!(err, "must not be an IPv4-mapped IPv6 address", "{mapped}");
        }
        let bad = "|1.2.3|1.2.3.4.5|1.2.3.256|0256.1.1.1|1.2.3.4 | 1.2.3.4|1.2.3.-4|a.b.c.d\
            |fe80::1%eth0|[::1]|1:2:3:4:5:6:7:8:9|1::2::3|1:2:3:4:5:6:7::8|1.2.3.4:80|abc|1.2.3.+4";
        for bad in bad.split('|') {
            let err = ip_address(bad).unwrap_err().to_string();
            assert_eq!(
                err, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                "{bad:?}"
            );
        }
    }
}
