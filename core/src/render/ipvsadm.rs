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
        if let Some(f) = vs.scheduler.kube_proxy_flag() {
            let _ = write!(out, " -b {f}");
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

/// A virtual server's line of `ipvsadm -Ln`.
fn vs_line(out: &mut String, vs: &VirtualServer) {
    out.push_str(&vs_text(vs));
    out.push('\n');
}

/// A virtual server's line of `ipvsadm -Ln`, without its newline.
pub fn vs_text(vs: &VirtualServer) -> String {
    let mut line = format!(
        "{:<4} {} {}",
        vs.protocol.as_str(),
        vs_addr(vs),
        vs.scheduler
    );
    if let Some(f) = vs.scheduler.kube_proxy_flag() {
        let _ = write!(line, " ({f})");
    }
    if let Some(t) = vs.persistence_timeout_seconds {
        let _ = write!(line, " persistent {t}");
    }
    line.trim_end().into()
}

/// A real server's line of `ipvsadm -Ln` up to its weight (the counters that follow change).
pub fn rs_text(rs: &crate::plan::RealServer) -> String {
    let dest = format!("{}:{}", fmt_addr(&rs.address), rs.port);
    format!("  -> {dest:<28} {:<7} {}", "Masq", rs.weight)
}

/// A real server's line of `ipvsadm -Ln`.
fn rs_line(
    out: &mut String,
    address: &core::net::IpAddr,
    port: u16,
    weight: u32,
    counts: (u32, u32),
) {
    let dest = format!("{}:{}", fmt_addr(address), port);
    let line = format!(
        "  -> {dest:<28} {:<7} {:<6} {:<10} {:<10}",
        "Masq", weight, counts.0, counts.1
    );
    out.push_str(line.trim_end());
    out.push('\n');
}

/// The table as `ipvsadm -Ln` prints it (without trailing blanks), connection counters 0.
pub fn ipvsadm_table(plan: &Plan) -> String {
    ipvsadm_table_with(plan, &|_, _| (0, 0))
}

/// The table as `ipvsadm -Ln` prints it with ActiveConn / InActConn from `counts` (e.g. the
/// simulator's: [`crate::sim::Simulator::counters`]).
pub fn ipvsadm_table_with(
    plan: &Plan,
    counts: &dyn Fn(&VirtualServer, &crate::plan::RealServer) -> (u32, u32),
) -> String {
    let mut out = String::new();
    out.push_str("IP Virtual Server version 1.2.1 (size=4096)\n");
    out.push_str("Prot LocalAddress:Port Scheduler Flags\n");
    out.push_str("  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n");
    for vs in &plan.virtual_servers {
        vs_line(&mut out, vs);
        for rs in &vs.real_servers {
            rs_line(&mut out, &rs.address, rs.port, rs.weight, counts(vs, rs));
        }
    }
    out
}

/// The simulator's connection table as `ipvsadm -Lnc` prints it (`list_conn` /
/// `print_conn` of ipvsadm 1.31).
pub fn ipvsadm_connections(entries: &[crate::sim::ConnEntry]) -> String {
    let mut out = String::from("IPVS connection entries\n");
    let _ = writeln!(
        out,
        "pro expire {:<11} {:<18} {:<18} destination",
        "state", "source", "virtual"
    );
    for e in entries {
        out.push_str(e.line().trim_end());
        out.push('\n');
    }
    out
}

/// One virtual server as `ipvsadm -Ln` prints it, with the simulator's counters: its real
/// servers in the kernel's list order with ActiveConn and InActConn (PersistConn is what
/// `ipvsadm -Ln --persistent-conn` adds; shown as a comment).
pub fn ipvsadm_counters(
    vs: Option<&VirtualServer>,
    counters: &[crate::sim::DestCounters],
) -> String {
    let mut out = String::new();
    out.push_str("Prot LocalAddress:Port Scheduler Flags\n");
    out.push_str("  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n");
    if let Some(vs) = vs {
        vs_line(&mut out, vs);
    }
    for c in counters {
        let counts = (c.counts.active, c.counts.inactive);
        rs_line(&mut out, &c.address, c.port, c.weight, counts);
    }
    let persistent: u32 = counters.iter().map(|c| c.counts.persistent).sum();
    if persistent > 0 {
        let _ = writeln!(out, "# persistence templates (PersistConn): {persistent}");
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
            let kind = r.kind.as_str();
            let _ = writeln!(out, "{:<width$}  {kind:<5}  {}", r.name, r.value);
        }
    }
    out
}
