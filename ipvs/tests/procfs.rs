//! `/proc/net/ip_vs` parsing, held to the kernel's `ip_vs_info_seq_show` format
//! (`net/netfilter/ipvs/ip_vs_ctl.c`): the header lines, `%s  %08X:%04X %s ` service lines (IPv6:
//! `[%pI6]:%04X`, all eight groups), optional `ops ` and `persistent %d %08X`, and
//! `  -> %08X:%04X      %-7s %-6d %-10d %-10d` real-server lines.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use svcroute_ipvs::{
    ProcDest, ProcParser, Protocol, ServiceKey, parse_proc_ip_vs, read_proc_ip_vs,
};

/// Three virtual servers as the kernel prints them (the column padding is the kernel's `%-7s
/// %-6d %-10d %-10d`, trailing spaces included), with a firewall-mark service between them.
const TABLE: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=4096)\n",
    "Prot LocalAddress:Port Scheduler Flags\n",
    "  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n",
    "TCP  0A60000A:0050 rr \n",
    "  -> 0AF40003:1F90      Masq    1      0          0         \n",
    "  -> 0AF40002:1F90      Masq    0      2          7         \n",
    "FWM  00000001 wlc \n",
    "  -> 0AF40009:0050      Route   1      0          0         \n",
    "UDP  0A60000A:0035 sh ops persistent 10800 FFFFFFFF\n",
    "TCP  [fd00:0000:0000:0000:0000:0000:0000:000a]:01BB mh \n",
    "  -> [fd00:0000:0000:0000:0000:0000:0244:0002]:01BB      Masq    3      1          0         \n",
);

#[test]
fn reads_services_and_real_servers_in_kernel_order() {
    let got = parse_proc_ip_vs(TABLE).unwrap();
    let v4 = |s: &str| s.parse().unwrap();
    assert_eq!(
        got,
        vec![
            (
                ServiceKey::Addr {
                    protocol: Protocol::Tcp,
                    address: v4("10.96.0.10"),
                    port: 80
                },
                vec![
                    ProcDest {
                        address: v4("10.244.0.3"),
                        port: 8080,
                        weight: 1,
                        active_conns: 0,
                        inactive_conns: 0
                    },
                    ProcDest {
                        address: v4("10.244.0.2"),
                        port: 8080,
                        weight: 0,
                        active_conns: 2,
                        inactive_conns: 7
                    },
                ]
            ),
            (
                ServiceKey::Addr {
                    protocol: Protocol::Udp,
                    address: v4("10.96.0.10"),
                    port: 53
                },
                vec![]
            ),
            (
                ServiceKey::Addr {
                    protocol: Protocol::Tcp,
                    address: v4("fd00::a"),
                    port: 443
                },
                vec![ProcDest {
                    address: v4("fd00::244:2"),
                    port: 443,
                    weight: 3,
                    active_conns: 1,
                    inactive_conns: 0
                }]
            ),
        ]
    );
}

#[test]
fn an_empty_table_is_only_the_header() {
    let header = TABLE.lines().take(3).collect::<Vec<_>>().join("\n");
    assert_eq!(parse_proc_ip_vs(&header).unwrap(), vec![]);
}

#[test]
fn other_text_is_an_error_naming_the_line() {
    let e = parse_proc_ip_vs("hello\n").unwrap_err();
    assert_eq!((e.line, e.what), (1, "not the kernel's header"));
    let bad = TABLE.replace("0AF40002:1F90", "0AF40002:1F9");
    let e = parse_proc_ip_vs(&bad).unwrap_err();
    assert_eq!((e.line, e.what), (6, "bad address:port"));
    let bad = TABLE.replace("Masq    0      2", "Masq    x      2");
    assert_eq!(parse_proc_ip_vs(&bad).unwrap_err().line, 6);
}

proptest! {
    /// Whatever the text, parsing returns (no panic).
    #[test]
    fn never_panics(lines in proptest::collection::vec("[ ->0-9A-Fa-f:\\[\\]TCPUDSrmsq]{0,60}", 0..12)) {
        let text = TABLE.lines().take(3).map(String::from).chain(lines).collect::<Vec<_>>().join("\n");
        let _ = parse_proc_ip_vs(&text);
    }
}

/// A virtual server as `ip_vs_info_seq_show` prints it: `%s  %08X:%04X %s ` (IPv6
/// `[%pI6]:%04X`), or `FWM  %08X %s ` for a firewall mark, then its real servers as
/// `  -> %08X:%04X      %-7s %-6d %-10d %-10d`.
fn kernel_text(services: &[(u8, std::net::IpAddr, u16, Vec<ProcDest>)]) -> String {
    let hex = |a: &std::net::IpAddr| match a {
        std::net::IpAddr::V4(v4) => format!("{:08X}", u32::from(*v4)),
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments().map(|g| format!("{g:04x}")).join(":");
            format!("[{s}]")
        }
    };
    let mut t = String::from(
        "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n",
    );
    for (proto, addr, port, dests) in services {
        match proto {
            0 => t.push_str(&format!("TCP  {}:{port:04X} rr \n", hex(addr))),
            1 => t.push_str(&format!(
                "UDP  {}:{port:04X} sh persistent 10800 FFFFFFFF\n",
                hex(addr)
            )),
            2 => t.push_str(&format!("SCTP  {}:{port:04X} mh \n", hex(addr))),
            _ => t.push_str(&format!("FWM  {:08X} wlc \n", port)),
        }
        for d in dests {
            t.push_str(&format!(
                "  -> {}:{:04X}      {:<7} {:<6} {:<10} {:<10}\n",
                hex(&d.address),
                d.port,
                "Masq",
                d.weight,
                d.active_conns,
                d.inactive_conns
            ));
        }
    }
    t
}

fn address() -> impl Strategy<Value = std::net::IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|a| std::net::IpAddr::V4(a.into())),
        any::<u128>().prop_map(|a| std::net::IpAddr::V6(a.into())),
    ]
}

fn dest() -> impl Strategy<Value = ProcDest> {
    (
        address(),
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(address, port, weight, active_conns, inactive_conns)| ProcDest {
                address,
                port,
                weight,
                active_conns,
                inactive_conns,
            },
        )
}

proptest! {
    /// Any table the kernel can print reads back as the address-keyed virtual servers with their
    /// real servers in the kernel's order; firewall marks are skipped with theirs. The flat
    /// `read_proc_ip_vs` (the agent's) and `parse_proc_ip_vs` agree.
    #[test]
    fn kernel_text_reads_back(services in proptest::collection::vec(
        (0u8..4, address(), any::<u16>(), proptest::collection::vec(dest(), 0..5)), 0..8)) {
        let text = kernel_text(&services);
        let want: Vec<(ServiceKey, Vec<ProcDest>)> = services
            .iter()
            .filter(|s| s.0 < 3)
            .map(|(p, address, port, dests)| {
                let protocol = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp][usize::from(*p)];
                (ServiceKey::Addr { protocol, address: *address, port: *port }, dests.clone())
            })
            .collect();
        prop_assert_eq!(parse_proc_ip_vs(&text).unwrap(), want.clone());
        let flat = read_proc_ip_vs(text.as_bytes()).unwrap();
        let back: Vec<(ServiceKey, Vec<ProcDest>)> = (0..flat.services.len())
            .map(|i| (flat.services[i].0, flat.dests_of(i).to_vec()))
            .collect();
        prop_assert_eq!(back, want);
    }
}

proptest! {
    /// The agent feeds the file as its reads come (whole lines each time): any split of the text
    /// at line ends gives the table, or the error with its line, of the text read whole.
    #[test]
    fn fed_in_parts_reads_as_whole(
        services in proptest::collection::vec(
            (0u8..4, address(), any::<u16>(), proptest::collection::vec(dest(), 0..5)), 0..8),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
        broken in any::<Option<prop::sample::Index>>(),
    ) {
        let mut text = kernel_text(&services);
        if let Some(at) = broken {
            // Text that is not the kernel's format somewhere.
            text.insert_str(at.index(text.len() + 1), "?x");
        }
        let ends: Vec<usize> = text.match_indices('\n').map(|(i, _)| i + 1).collect();
        let mut cuts: Vec<usize> = cuts
            .iter()
            .filter(|_| !ends.is_empty())
            .map(|c| ends[c.index(ends.len())])
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut parser = ProcParser::default();
        let mut from = 0;
        let mut fed = Ok(());
        for at in cuts.into_iter().chain([text.len()]) {
            fed = fed.and_then(|()| parser.feed(&text.as_bytes()[from..at]));
            from = at;
        }
        match read_proc_ip_vs(text.as_bytes()) {
            Ok(whole) => prop_assert_eq!(fed.map(|()| parser.finish()), Ok(whole)),
            Err(e) => prop_assert_eq!(fed, Err(e)),
        }
    }
}
