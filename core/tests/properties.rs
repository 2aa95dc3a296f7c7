//! Property tests of the core's invariants.
//!
//! - `diff`: applying `diff(a, b)` to `a` gives `b`, for any two dataplane states, and every
//!   operation is one the kernel would accept (no EEXIST / ENOENT on the way).
//! - manifest reading never panics, whatever the text.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;
use svcroute_core::config::Scheduler;
use svcroute_core::diff::{RsKey, State, VsConfig, apply, diff};
use svcroute_core::model::Protocol;
use svcroute_core::plan::VsKey;

fn ip(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 96, 0, n))
}

fn state() -> impl Strategy<Value = State> {
    let vs = (
        0u8..6,
        prop_oneof![Just(80u16), Just(443u16)],
        prop_oneof![Just(Protocol::Tcp), Just(Protocol::Udp)],
        prop_oneof![
            Just(Scheduler::RoundRobin),
            Just(Scheduler::WeightedLeastConnection)
        ],
        proptest::option::of(prop_oneof![Just(10_800u32), Just(60u32)]),
        proptest::collection::btree_map(
            (0u8..8, prop_oneof![Just(80u16), Just(8080u16)]),
            0u32..3,
            0..5,
        ),
    );
    (
        proptest::collection::vec(vs, 0..8),
        proptest::collection::btree_set(0u8..6, 0..6),
    )
        .prop_map(|(vss, addrs)| {
            let mut s = State::default();
            for (a, port, protocol, scheduler, persistence, rs) in vss {
                let key = VsKey {
                    address: ip(a),
                    port,
                    protocol,
                };
                let rs: BTreeMap<RsKey, u32> = rs
                    .into_iter()
                    .map(|((h, p), w)| {
                        (
                            RsKey {
                                address: IpAddr::V4(Ipv4Addr::new(10, 244, 0, h)),
                                port: p,
                            },
                            w,
                        )
                    })
                    .collect();
                let cfg = VsConfig {
                    scheduler,
                    persistence_timeout_seconds: persistence,
                };
                s.virtual_servers.insert(key, (cfg, rs));
            }
            s.addresses = addrs.into_iter().map(ip).collect::<BTreeSet<_>>();
            s
        })
}

proptest! {
    #[test]
    fn applying_the_diff_gives_the_target(a in state(), b in state()) {
        let ops = diff(&a, &b);
        let mut got = a.clone();
        prop_assert_eq!(apply(&mut got, &ops), Ok(()));
        prop_assert_eq!(got, b);
    }

    #[test]
    fn no_change_means_no_operations(a in state()) {
        prop_assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn one_weight_change_is_one_operation(a in state()) {
        let mut b = a.clone();
        let target = b
            .virtual_servers
            .values_mut()
            .find_map(|(_, rs)| rs.values_mut().next());
        if let Some(w) = target {
            *w += 1;
            prop_assert_eq!(diff(&a, &b).len(), 1);
        }
    }

    #[test]
    fn reading_never_panics(text in "\\PC{0,300}") {
        let _ = svcroute_core::manifest::read("fuzz.yaml", &text);
    }

    #[test]
    fn reading_yamlish_never_panics(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("apiVersion: v1".to_owned()),
                Just("kind: Service".to_owned()),
                Just("metadata: {name: a}".to_owned()),
                Just("spec:".to_owned()),
                Just("  ports: [{port: 80}]".to_owned()),
                Just("  clusterIP: None".to_owned()),
                Just("  type: NodePort".to_owned()),
                Just("---".to_owned()),
                "[ a-z:{}\\[\\],0-9-]{0,20}",
            ],
            0..20,
        )
    ) {
        let text = lines.join("\n");
        let read = svcroute_core::manifest::read("fuzz.yaml", &text);
        if !read.has_errors() {
            let _ = svcroute_core::Cluster::build(read.objects, svcroute_core::Config::default())
                .map(|c| svcroute_core::plan(&c, None));
        }
    }
}
