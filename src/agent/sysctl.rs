//! The sysctls kube-proxy's IPVS mode sets (`pkg/proxy/ipvs/proxier.go`, `NewProxier`).
//!
//! Left as kube-proxy leaves them: `net/ipv4/vs/conn_reuse_mode` (kube-proxy writes 0 only on
//! kernels before 5.9; the VM's and every supported kernel are newer).

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

/// Writes each setting that differs (and [`STRICT_ARP`] when `strict_arp`); returns what was
/// changed, as (path, value).
pub fn apply(
    root: &std::path::Path,
    strict_arp: bool,
) -> Result<Vec<(&'static str, &'static str)>> {
    let mut changed = Vec::new();
    let strict: &[(&str, &str)] = if strict_arp { STRICT_ARP } else { &[] };
    for (path, value) in SETTINGS.iter().chain(strict) {
        let file = root.join(path);
        let current = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {} (is the ip_vs module loaded?)", file.display()))?;
        if current.trim() != *value {
            std::fs::write(&file, value)
                .with_context(|| format!("writing {value} to {}", file.display()))?;
            changed.push((*path, *value));
        }
    }
    Ok(changed)
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
}
