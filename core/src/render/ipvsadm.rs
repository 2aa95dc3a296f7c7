//! Text views of a plan: `ipvsadm -Ln` (the table), `ipvsadm -S -n` (rules `ipvsadm -R`
//! accepts), and the DNS records as a zone-file-like list.

use alloc::format;
use alloc::string::String;
use core::fmt::Write;

use crate::model::Protocol;
use crate::plan::{Plan, VirtualServer, fmt_addr};

fn proto_flag(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "-t",
        Protocol::Udp => "-u",
        Protocol::Sctp => "--sctp-service",
    }
}

fn vs_addr(vs: &VirtualServer) -> String {
    format!("{}:{}", fmt_addr(&vs.address), vs.port)
}

/// The rules in `ipvsadm -S -n` form: `-A -t 10.97.97.97:80 -s rr [-p 10800]` and
/// `-a -t 10.97.97.97:80 -r 10.244.0.2:80 -m -w 1`.
pub fn ipvsadm_rules(plan: &Plan) -> String {
    let mut out = String::new();
    for vs in &plan.virtual_servers {
        let flag = proto_flag(vs.protocol);
        let addr = vs_addr(vs);
        let _ = write!(out, "-A {flag} {addr} -s {}", vs.scheduler);
        if let Some(t) = vs.persistence_timeout_seconds {
            let _ = write!(out, " -p {t}");
        }
        out.push('\n');
        for rs in &vs.real_servers {
            let _ = writeln!(
                out,
                "-a {flag} {addr} -r {}:{} -m -w {}",
                fmt_addr(&rs.address),
                rs.port,
                rs.weight
            );
        }
    }
    out
}

/// The table as `ipvsadm -Ln` prints it (without trailing blanks), connection counters 0.
pub fn ipvsadm_table(plan: &Plan) -> String {
    let mut out = String::new();
    out.push_str("IP Virtual Server version 1.2.1 (size=4096)\n");
    out.push_str("Prot LocalAddress:Port Scheduler Flags\n");
    out.push_str("  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n");
    for vs in &plan.virtual_servers {
        let mut line = format!(
            "{:<4} {} {}",
            vs.protocol.as_str(),
            vs_addr(vs),
            vs.scheduler
        );
        if let Some(t) = vs.persistence_timeout_seconds {
            let _ = write!(line, " persistent {t}");
        }
        out.push_str(line.trim_end());
        out.push('\n');
        for rs in &vs.real_servers {
            let dest = format!("{}:{}", fmt_addr(&rs.address), rs.port);
            let line = format!(
                "  -> {dest:<28} {:<7} {:<6} {:<10} {:<10}",
                "Masq", rs.weight, 0, 0
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

/// `ipvsadm -Ln`, then the DNS records and the warnings: what `svcroute plan` prints.
pub fn table(plan: &Plan) -> String {
    let mut out = format!("# node {}\n", plan.node);
    out.push_str(&ipvsadm_table(plan));
    if !plan.interface_addresses.is_empty() {
        out.push_str("\n# kube-ipvs0 addresses\n");
        for a in &plan.interface_addresses {
            let _ = writeln!(out, "{a}");
        }
    }
    if !plan.dns.is_empty() {
        out.push_str("\n# DNS\n");
        let width = plan.dns.iter().map(|r| r.name.len()).max().unwrap_or(0);
        for r in &plan.dns {
            let kind = match r.kind {
                crate::dns::RecordType::A => "A",
                crate::dns::RecordType::AAAA => "AAAA",
                crate::dns::RecordType::SRV => "SRV",
                crate::dns::RecordType::CNAME => "CNAME",
            };
            let _ = writeln!(out, "{:<width$}  {kind:<5}  {}", r.name, r.value);
        }
    }
    out
}
