//! The sysctls kube-proxy's IPVS mode sets (`pkg/proxy/ipvs/proxier.go`).

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

/// Writes each setting that differs; returns what was changed.
pub fn apply(root: &std::path::Path) -> Result<Vec<&'static str>> {
    let mut changed = Vec::new();
    for (path, value) in SETTINGS {
        let file = root.join(path);
        let current = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {} (is the ip_vs module loaded?)", file.display()))?;
        if current.trim() != *value {
            std::fs::write(&file, value)
                .with_context(|| format!("writing {value} to {}", file.display()))?;
            changed.push(*path);
        }
    }
    Ok(changed)
}
