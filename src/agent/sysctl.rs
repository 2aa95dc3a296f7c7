//! The sysctls kube-proxy's IPVS mode sets (`pkg/proxy/ipvs/proxier.go`, `NewProxier`; the
//! IPVS backend's `PrivilegedInit` in recent releases), checked against its source:
//! - `net/ipv4/vs/conntrack=1`, `vs/expire_nodest_conn=1`, `vs/expire_quiescent_template=1`,
//!   `ip_forward=1` always; `conf/all/arp_ignore=1`, `arp_announce=2` with `--ipvs-strict-arp`;
//! - `vs/conn_reuse_mode=0` only on kernels from 4.1 (`IPVSConnReuseModeMinSupportedKernelVersion`)
//!   to before 5.9 (`IPVSConnReuseModeFixedKernelVersion`, kubernetes#93297); on newer kernels it
//!   is left as it is, on older ones an error is logged ([`conn_reuse_mode`]);
//! - `net/bridge/bridge-nf-call-iptables` is only read: when `br_netfilter` is loaded and it is
//!   not 1, kube-proxy logs that the proxy may not work as intended, and so does the agent
//!   ([`bridge_warning`]); kube-proxy never writes it;
//! - `conf/all/route_localnet` is not set: kube-proxy's IPVS mode stopped setting it (only the
//!   iptables mode does, for NodePorts on 127.0.0.1, which IPVS mode does not serve; the agent's
//!   NodePorts never include a loopback address either).

use anyhow::{Context, Result};

/// `(path under /proc/sys, value)`.
pub const SETTINGS: &[(&str, &str)] = &[
    // Connection tracking for IPVS connections, so that NodePort traffic can be masqueraded.
    ("net/ipv4/vs/conntrack", "1"),
    // Drop connections whose real server was deleted (a UDP/SCTP backend that went away).
    ("net/ipv4/vs/expire_nodest_conn", "1"),
    // Expire persistence templates of quiescent (weight 0) real servers.
    ("net/ipv4/vs/expire_quiescent_template", "1"),
    // Route the replies of real servers back through the node.
    ("net/ipv4/ip_forward", "1"),
];

/// With `--ipvs-strict-arp`: answer ARP only for addresses on the receiving interface and
/// announce only the outgoing interface's, so the VIPs on the dummy interface are not claimed
/// on the node's network (kube-proxy's `sysctlArpIgnore`, `sysctlArpAnnounce`).
pub const STRICT_ARP: &[(&str, &str)] = &[
    ("net/ipv4/conf/all/arp_ignore", "1"),
    ("net/ipv4/conf/all/arp_announce", "2"),
];

/// `net/ipv4/vs/conn_reuse_mode`, which kube-proxy sets to 0 on some kernels only.
pub const CONN_REUSE_MODE: (&str, &str) = ("net/ipv4/vs/conn_reuse_mode", "0");

/// `net/bridge/bridge-nf-call-iptables` (present once `br_netfilter` is loaded).
pub const BRIDGE_CALL_IPTABLES: &str = "net/bridge/bridge-nf-call-iptables";

/// What kube-proxy does with `conn_reuse_mode` on a kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnReuse {
    /// Before 4.1: cannot be set (an error is logged).
    TooOld,
    /// 4.1 to before 5.9: set to 0.
    Set,
    /// 5.9 and later (the kernel bug is fixed): left as it is.
    LeftAsIs,
}

/// kube-proxy's choice for the kernel `release` (`/proc/sys/kernel/osrelease`, e.g.
/// `6.1.0-18-amd64`); an unreadable version counts as new.
pub fn conn_reuse_mode(release: &str) -> ConnReuse {
    let mut parts = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) if (major, minor) < (4, 1) => ConnReuse::TooOld,
        (Some(major), Some(minor)) if (major, minor) < (5, 9) => ConnReuse::Set,
        _ => ConnReuse::LeftAsIs,
    }
}

/// kube-proxy's message when `br_netfilter` is loaded but `bridge-nf-call-iptables` is not 1
/// (Pods on a Linux bridge then bypass the rules); `None` otherwise.
pub fn bridge_warning(root: &std::path::Path) -> Option<String> {
    let value = std::fs::read_to_string(root.join(BRIDGE_CALL_IPTABLES)).ok()?;
    (value.trim() != "1").then(|| {
        format!(
            "missing br-netfilter module or unset sysctl br-nf-call-iptables \
             ({BRIDGE_CALL_IPTABLES} = {}), proxy may not work as intended",
            value.trim()
        )
    })
}

/// One setting after [`apply_all`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    /// Path under `/proc/sys`.
    pub path: &'static str,
    /// The value it has now.
    pub value: &'static str,
    /// Whether it had another value before.
    pub changed: bool,
}

/// Writes each setting that differs ([`SETTINGS`], [`CONN_REUSE_MODE`] when the kernel under
/// `root` calls for it, [`STRICT_ARP`] when `strict_arp`); returns every setting and whether it
/// changed.
pub fn apply_all(root: &std::path::Path, strict_arp: bool) -> Result<Vec<Applied>> {
    let release = std::fs::read_to_string(root.join("kernel/osrelease")).unwrap_or_default();
    let reuse: &[(&str, &str)] = match conn_reuse_mode(&release) {
        ConnReuse::Set => std::slice::from_ref(&CONN_REUSE_MODE),
        ConnReuse::TooOld => {
            tracing::error!(
                "can't set sysctl {}: the kernel ({}) is older than 4.1",
                CONN_REUSE_MODE.0,
                release.trim()
            );
            &[]
        }
        ConnReuse::LeftAsIs => &[],
    };
    let strict: &[(&str, &str)] = if strict_arp { STRICT_ARP } else { &[] };
    let mut out = Vec::new();
    for (path, value) in SETTINGS.iter().chain(reuse).chain(strict) {
        let file = root.join(path);
        let current = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {} (is the ip_vs module loaded?)", file.display()))?;
        let changed = current.trim() != *value;
        if changed {
            std::fs::write(&file, value)
                .with_context(|| format!("writing {value} to {}", file.display()))?;
        }
        out.push(Applied {
            path,
            value,
            changed,
        });
    }
    Ok(out)
}

/// [`apply_all`], returning only what was changed, as (path, value).
#[cfg(test)]
pub fn apply(
    root: &std::path::Path,
    strict_arp: bool,
) -> Result<Vec<(&'static str, &'static str)>> {
    Ok(apply_all(root, strict_arp)?
        .into_iter()
        .filter(|a| a.changed)
        .map(|a| (a.path, a.value))
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use clap::Parser;

    fn agent(argv: &[&str]) -> crate::cli::AgentArgs {
        let mut full = vec!["svcroute", "agent", "-f", "m.yaml"];
        full.extend_from_slice(argv);
        match crate::cli::Cli::try_parse_from(full).unwrap().command {
            crate::cli::Command::Agent(a) => a,
            _ => unreachable!(),
        }
    }

    /// kube-proxy's IPVS mode always writes its netfilter half; `--nftables=false` turns ours
    /// off. `--ipvs-strict-arp` is off unless given, as kube-proxy's flag.
    #[test]
    fn netfilter_half_on_by_default_and_strict_arp_opt_in() {
        let a = agent(&[]);
        assert!(a.nftables && !a.strict_arp);
        assert!(!agent(&["--nftables=false"]).nftables);
        assert!(agent(&["--nftables"]).nftables);
        assert!(agent(&["--ipvs-strict-arp"]).strict_arp);
    }

    /// Only what differs is written; strict ARP adds kube-proxy's two ARP sysctls.
    #[test]
    fn apply_writes_what_differs_and_strict_arp() {
        let root = std::env::temp_dir().join(format!("svcroute-sysctl-{}", std::process::id()));
        for (path, _) in SETTINGS.iter().chain(STRICT_ARP) {
            let f = root.join(path);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(&f, "0\n").unwrap();
        }
        std::fs::write(root.join("net/ipv4/ip_forward"), "1\n").unwrap();
        let changed = apply(&root, false).unwrap();
        assert_eq!(changed.len(), SETTINGS.len() - 1, "{changed:?}");
        assert!(apply(&root, false).unwrap().is_empty());
        assert_eq!(apply(&root, true).unwrap(), STRICT_ARP.to_vec());
        let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
        assert_eq!(read("net/ipv4/conf/all/arp_ignore"), "1");
        assert_eq!(read("net/ipv4/conf/all/arp_announce"), "2");
        let _ = std::fs::remove_dir_all(root);
    }

    /// kube-proxy writes `conn_reuse_mode=0` on kernels 4.1 to before 5.9 only
    /// (`IPVSConnReuseModeMinSupportedKernelVersion`, `IPVSConnReuseModeFixedKernelVersion`).
    #[test]
    fn conn_reuse_mode_by_kernel_version() {
        assert_eq!(conn_reuse_mode("3.10.0-1160.el7.x86_64"), ConnReuse::TooOld);
        assert_eq!(conn_reuse_mode("4.1.0"), ConnReuse::Set);
        assert_eq!(conn_reuse_mode("5.4.0-150-generic"), ConnReuse::Set);
        assert_eq!(conn_reuse_mode("5.9.0"), ConnReuse::LeftAsIs);
        assert_eq!(conn_reuse_mode("6.1.0-18-amd64\n"), ConnReuse::LeftAsIs);
        assert_eq!(conn_reuse_mode("garbage"), ConnReuse::LeftAsIs);

        let root = std::env::temp_dir().join(format!("svcroute-reuse-{}", std::process::id()));
        for (path, _) in SETTINGS.iter().chain([&CONN_REUSE_MODE]) {
            let f = root.join(path);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(&f, "1\n").unwrap();
        }
        std::fs::create_dir_all(root.join("kernel")).unwrap();
        std::fs::write(root.join("kernel/osrelease"), "6.1.0-18-amd64\n").unwrap();
        assert!(
            apply(&root, false).unwrap().is_empty(),
            "left as it is on 6.1"
        );
        std::fs::write(root.join("kernel/osrelease"), "5.4.0-150-generic\n").unwrap();
        assert_eq!(apply(&root, false).unwrap(), vec![CONN_REUSE_MODE]);
        let _ = std::fs::remove_dir_all(root);
    }

    /// kube-proxy only logs when br_netfilter is loaded and bridge-nf-call-iptables is not 1.
    #[test]
    fn bridge_call_iptables_is_only_checked() {
        let root = std::env::temp_dir().join(format!("svcroute-bridge-{}", std::process::id()));
        assert_eq!(bridge_warning(&root), None, "br_netfilter not loaded");
        let f = root.join(BRIDGE_CALL_IPTABLES);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, "1\n").unwrap();
        assert_eq!(bridge_warning(&root), None);
        std::fs::write(&f, "0\n").unwrap();
        assert!(
            bridge_warning(&root)
                .unwrap()
                .contains("br-nf-call-iptables")
        );
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "0\n", "never written");
        let _ = std::fs::remove_dir_all(root);
    }
}
