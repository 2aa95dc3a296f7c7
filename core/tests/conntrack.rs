//! The conntrack cleanup decision (`netfilter::conntrack`) held to kube-proxy's own test of its
//! reconciler (K `pkg/proxy/conntrack/cleanup_test.go`, `TestCleanStaleEntries`,
//! `TestServiceWithoutEndpoints`), and the filters of a change (`cleanups`) held to the
//! reconciler by a property: for entries that were consistent before the change, a filter
//! matches exactly the entries the reconciler deletes after it.

use std::collections::BTreeSet;
use std::net::IpAddr;

use proptest::prelude::*;
use svcroute_core::cluster::{Cluster, Tweaks};
use svcroute_core::config::Config;
use svcroute_core::manifest;
use svcroute_core::netfilter::conntrack::{Filter, Flow, IPPROTO_UDP, Serving, Stale, cleanups};

const CLUSTER_IP: &str = "10.96.1.1";
const EXTERNAL_IP: &str = "192.168.99.100";
const LB_IP: &str = "1.2.3.4";
const SERVING: &str = "10.240.0.4";
const NOT_SERVING: &str = "10.240.1.5";
const DELETED: &str = "10.240.2.6";
const PORT: u16 = 8000;
const NODE_PORT: u16 = 32000;
/// A port that is no Service's: entries to it are not kube-proxy's to clean.
const OTHER_PORT: u16 = 3000;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("an address")
}

/// kube-proxy's test Service: ClusterIP, one externalIP, one load balancer IP, ports
/// TCP/UDP/SCTP 8000 (UDP and SCTP on node port 32000); one slice with a serving and a
/// non-serving endpoint (`serving` from the list, in that order).
fn cluster(serving: &[bool]) -> Cluster {
    let endpoints: Vec<String> = [SERVING, NOT_SERVING]
        .iter()
        .zip(serving)
        .map(|(a, s)| format!("  - addresses: [{a}]\n    conditions: {{serving: {s}}}\n"))
        .collect();
    let text = format!(
        "apiVersion: v1
kind: Service
metadata: {{name: cleanup-test, namespace: test}}
spec:
  type: LoadBalancer
  clusterIP: {CLUSTER_IP}
  externalIPs: [{EXTERNAL_IP}]
  ports:
  - {{name: test-tcp, port: {PORT}, protocol: TCP, nodePort: 32001}}
  - {{name: test-udp, port: {PORT}, protocol: UDP, nodePort: {NODE_PORT}}}
  - {{name: test-sctp, port: {PORT}, protocol: SCTP, nodePort: {NODE_PORT}}}
status:
  loadBalancer:
    ingress: [{{ip: {LB_IP}}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: cleanup-test-0
  namespace: test
  labels: {{kubernetes.io/service-name: cleanup-test}}
addressType: IPv4
endpoints:
{}ports:
- {{name: test-tcp, port: {PORT}, protocol: TCP}}
- {{name: test-udp, port: {PORT}, protocol: UDP}}
- {{name: test-sctp, port: {PORT}, protocol: SCTP}}
",
        endpoints.concat()
    );
    manifest::load(
        [("t.yaml", text.as_str())],
        Config::default(),
        &Tweaks::default(),
    )
    .expect("the test manifest loads")
}

fn flow(proto: u8, dst: &str, dport: u16, src: &str, sport: u16) -> Flow {
    Flow {
        protocol: proto,
        orig_dst: ip(dst),
        orig_dst_port: dport,
        reply_src: ip(src),
        reply_src_port: sport,
    }
}

/// matches: kube-proxy `TestCleanStaleEntries`: of 3 endpoints (serving, not serving,
/// deleted) × TCP/UDP/SCTP × (ClusterIP, LB IP, externalIP) × (service port, another port) and
/// the node port, only UDP entries to the service port or node port answered by an endpoint
/// that is not serving are deleted; so are the UDP entries a Service with no DROP rule left
/// un-DNATed (reply source = the Service IP itself).
#[test]
fn clean_stale_entries_as_kube_proxy() {
    let serving = Serving::of(&cluster(&[true, false]));
    let mut kept = 0;
    let mut deleted = BTreeSet::new();
    let mut check = |f: Flow, expect: Option<Stale>| {
        assert_eq!(serving.is_stale(&f), expect, "{f:?}");
        match expect {
            Some(_) => {
                deleted.insert(f);
            }
            None => kept += 1,
        }
    };
    for dnat in [SERVING, NOT_SERVING, DELETED] {
        for proto in [6u8, IPPROTO_UDP, 132] {
            for dst in [CLUSTER_IP, LB_IP, EXTERNAL_IP] {
                for port in [PORT, OTHER_PORT] {
                    let stale = proto == IPPROTO_UDP && port == PORT && dnat != SERVING;
                    check(
                        flow(proto, dst, port, dnat, PORT),
                        stale.then_some(Stale::ServiceIp),
                    );
                }
            }
            let stale = proto == IPPROTO_UDP && dnat != SERVING;
            check(
                flow(proto, "192.0.2.1", NODE_PORT, dnat, PORT),
                stale.then_some(Stale::NodePort),
            );
        }
    }
    for dst in [CLUSTER_IP, LB_IP, EXTERNAL_IP] {
        for port in [PORT, OTHER_PORT] {
            let stale = port == PORT;
            check(
                flow(IPPROTO_UDP, dst, port, dst, port),
                stale.then_some(Stale::ServiceIp),
            );
        }
    }
    assert_eq!((kept, deleted.len()), (69 - 11, 11));
}

/// matches: kube-proxy's reconciler keys on the endpoint's IP *and* port
/// (`net.JoinHostPort(endpoint.IP(), endpoint.Port())`): the serving endpoint's address on
/// another port is not the serving endpoint.
#[test]
fn endpoint_port_is_part_of_the_key() {
    let serving = Serving::of(&cluster(&[true, false]));
    assert_eq!(
        serving.is_stale(&flow(IPPROTO_UDP, CLUSTER_IP, PORT, SERVING, PORT)),
        None
    );
    assert_eq!(
        serving.is_stale(&flow(IPPROTO_UDP, CLUSTER_IP, PORT, SERVING, PORT + 1)),
        Some(Stale::ServiceIp)
    );
}

/// matches: kube-proxy `TestServiceWithoutEndpoints`: a Service port with no serving endpoint
/// cleans nothing ("a Service without endpoints does not require to clean the conntrack
/// entries associated").
#[test]
fn service_without_serving_endpoints_cleans_nothing() {
    let serving = Serving::of(&cluster(&[false, false]));
    assert_eq!(serving, Serving::default());
    for dst in [CLUSTER_IP, LB_IP, EXTERNAL_IP] {
        assert_eq!(
            serving.is_stale(&flow(IPPROTO_UDP, dst, PORT, DELETED, PORT)),
            None
        );
    }
}

/// matches: the pre-1.31 targeted cleanup and the reconciler agree on an endpoint that stops
/// serving: one `filterForIPPortNAT` per frontend (ClusterIP, LB IP, externalIP) and one
/// `filterForPortNAT` for the node port, written as `conntrack -D` would be asked.
#[test]
fn an_endpoint_that_stops_serving_is_one_filter_per_frontend() {
    let before = Serving::of(&cluster(&[true, true]));
    let after = Serving::of(&cluster(&[true, false]));
    let lines: Vec<String> = cleanups(&before, &after)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            "conntrack -D -p udp --orig-dst 1.2.3.4 --orig-port-dst 8000 --reply-src 10.240.1.5 --reply-port-src 8000",
            "conntrack -D -p udp --orig-dst 10.96.1.1 --orig-port-dst 8000 --reply-src 10.240.1.5 --reply-port-src 8000",
            "conntrack -D -p udp --orig-dst 192.168.99.100 --orig-port-dst 8000 --reply-src 10.240.1.5 --reply-port-src 8000",
            "conntrack -D -p udp --orig-port-dst 32000 --reply-src 10.240.1.5 --reply-port-src 8000",
        ]
    );
    assert!(cleanups(&after, &after).is_empty());
    assert!(
        cleanups(&after, &before).is_empty(),
        "an endpoint added cleans nothing"
    );
}

fn serving_strategy() -> impl Strategy<Value = Serving> {
    let eps = proptest::collection::btree_set((0u8..4, 53u16..55), 0..4);
    (
        proptest::collection::btree_map(0u8..3, eps.clone(), 0..3),
        proptest::collection::btree_map(0u8..2, eps, 0..2),
    )
        .prop_map(|(f, n)| {
            let ep = |(a, p): (u8, u16)| (IpAddr::from([10, 244, 0, a]), p);
            let mut s = Serving::default();
            for (i, e) in f.into_iter().filter(|(_, e)| !e.is_empty()) {
                s.frontends.insert(
                    (IpAddr::from([10, 96, 0, i]), 53),
                    e.into_iter().map(ep).collect(),
                );
            }
            for (i, e) in n.into_iter().filter(|(_, e)| !e.is_empty()) {
                s.node_ports.insert(
                    (svcroute_core::model::Family::V4, 30000 + u16::from(i)),
                    e.into_iter().map(ep).collect(),
                );
            }
            s
        })
}

proptest! {
    /// For every entry to a frontend (or node port) the old state had, that the old state
    /// kept: the reconciler deletes it after the change exactly when one of the change's
    /// filters matches it.
    #[test]
    fn cleanups_are_the_reconcilers_deletions(old in serving_strategy(), new in serving_strategy()) {
        let filters: Vec<Filter> = cleanups(&old, &new);
        let dsts = (0u8..3).map(|i| (IpAddr::from([10, 96, 0, i]), 53))
            .chain((0u16..2).map(|i| (IpAddr::from([192, 0, 2, 1]), 30000 + i)));
        for (dst, dport) in dsts {
            for a in 0u8..4 {
                for p in 53u16..55 {
                    let f = Flow {
                        protocol: IPPROTO_UDP,
                        orig_dst: dst,
                        orig_dst_port: dport,
                        reply_src: IpAddr::from([10, 244, 0, a]),
                        reply_src_port: p,
                    };
                    let known = old.frontends.contains_key(&(dst, dport))
                        || old.node_ports.contains_key(&(svcroute_core::model::Family::V4, dport));
                    if !known || old.is_stale(&f).is_some() {
                        continue;
                    }
                    let by_filter = filters.iter().any(|x| x.matches(&f));
                    prop_assert_eq!(by_filter, new.is_stale(&f).is_some(), "{:?}", f);
                }
            }
        }
    }
}
