//! `/proc/net/ip_vs` parsing, held to the kernel's `ip_vs_info_seq_show` format
//! (`net/netfilter/ipvs/ip_vs_ctl.c`): the header lines, `%s  %08X:%04X %s ` service lines (IPv6:
//! `[%pI6]:%04X`, all eight groups), optional `ops ` and `persistent %d %08X`, and
//! `  -> %08X:%04X      %-7s %-6d %-10d %-10d` real-server lines.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use svcroute_ipvs::{ProcDest, Protocol, ServiceKey, parse_proc_ip_vs};

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
