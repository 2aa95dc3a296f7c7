//! The netfilter plan's diff: applying `diff(a, b)` to `a` gives `b` for any two plans; a
//! changed endpoint is set-element operations, never a new table; other flags replace the
//! table.

use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;
use svcroute_core::model::{Family, Protocol};
use svcroute_core::netfilter::diff::{NfOp, apply, diff};
use svcroute_core::netfilter::{self, Element, NetfilterPlan, Options, SetId, Table};

fn addr(s: &str) -> IpAddr {
    s.parse().expect("an address")
}

fn ip(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 96, 0, n))
}

fn element(set: SetId, a: u8, b: u8, p: u16) -> Element {
    let proto = if p.is_multiple_of(2) {
        Protocol::Tcp
    } else {
        Protocol::Udp
    };
    match set.key() {
        netfilter::KeyKind::Addr => Element::Addr(ip(a)),
        netfilter::KeyKind::Port => Element::Port(p),
        netfilter::KeyKind::ProtoPort => Element::ProtoPort(proto, p),
        netfilter::KeyKind::AddrProtoPort => Element::AddrProtoPort(ip(a), proto, p),
        netfilter::KeyKind::AddrProtoPortAddr => Element::AddrProtoPortAddr(ip(a), proto, p, ip(b)),
        netfilter::KeyKind::AddrProtoPortNet => Element::AddrProtoPortNet(
            ip(a),
            proto,
            p,
            ipnet::IpNet::new(ip(b), 24).expect("prefix").trunc(),
        ),
    }
}

fn plan() -> impl Strategy<Value = NetfilterPlan> {
    (
        proptest::option::of(any::<bool>()),
        proptest::collection::vec((0usize..14, 0u8..4, 0u8..4, 80u16..84), 0..20),
    )
        .prop_map(|(table, elements)| {
            let Some(masquerade_all) = table else {
                return NetfilterPlan { tables: vec![] };
            };
            let options = Options {
                masquerade_all,
                ..Options::default()
            };
            let mut t = Table::empty(Family::V4, &options);
            for (s, a, b, p) in elements {
                let set = SetId::ALL[s];
                t.sets.entry(set).or_default().insert(element(set, a, b, p));
            }
            NetfilterPlan { tables: vec![t] }
        })
}

proptest! {
    #[test]
    fn applying_the_diff_gives_the_target(a in plan(), b in plan()) {
        let ops = diff(&a, &b);
        let mut got = a.clone();
        apply(&mut got, &ops);
        prop_assert_eq!(got, b);
    }

    #[test]
    fn same_options_never_replace_the_table(a in plan(), b in plan()) {
        if let (Some(ta), Some(tb)) = (a.tables.first(), b.tables.first())
            && ta.options == tb.options
        {
            let only_elements = diff(&a, &b).iter().all(|op| {
                matches!(op, NfOp::AddElements { .. } | NfOp::DeleteElements { .. })
            });
            prop_assert!(only_elements);
        }
    }

    #[test]
    fn no_change_means_no_operations(a in plan()) {
        prop_assert!(diff(&a, &a).is_empty());
    }
}

const MANIFEST: &str = "
apiVersion: v1
kind: Node
metadata: {name: node-1}
status: {addresses: [{type: InternalIP, address: 172.18.0.2}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}}
spec: {nodeName: node-1, containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]}
status: {phase: Running, podIP: POD_IP, conditions: [{type: Ready, status: 'True'}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  clusterIP: 10.96.0.20
  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
";

fn netfilter_plan(pod_ip: &str, options: &Options) -> NetfilterPlan {
    let text = MANIFEST.replace("POD_IP", pod_ip);
    let read = svcroute_core::manifest::read("m.yaml", &text);
    assert!(!read.has_errors(), "{:?}", read.diagnostics);
    let cluster = svcroute_core::Cluster::build(read.objects, svcroute_core::Config::default())
        .expect("cluster builds");
    let plan = svcroute_core::plan(&cluster, Some("node-1")).expect("node-1");
    netfilter::plan(&cluster, &plan, options)
}

#[test]
fn a_moved_endpoint_changes_loop_back_elements_only() {
    let a = netfilter_plan("10.244.1.5", &Options::default());
    let b = netfilter_plan("10.244.1.6", &Options::default());
    let ops = diff(&a, &b);
    let old =
        Element::AddrProtoPortAddr(addr("10.244.1.5"), Protocol::Tcp, 8080, addr("10.244.1.5"));
    let new =
        Element::AddrProtoPortAddr(addr("10.244.1.6"), Protocol::Tcp, 8080, addr("10.244.1.6"));
    assert_eq!(
        ops,
        vec![
            NfOp::DeleteElements {
                family: Family::V4,
                set: SetId::LoopBack,
                elements: vec![old],
            },
            NfOp::AddElements {
                family: Family::V4,
                set: SetId::LoopBack,
                elements: vec![new],
            },
        ]
    );
    assert_eq!(
        netfilter::render::ops(&ops),
        "delete element ip svcroute loop-back { 10.244.1.5 . tcp . 8080 . 10.244.1.5 }\n\
         add element ip svcroute loop-back { 10.244.1.6 . tcp . 8080 . 10.244.1.6 }\n"
    );
}

#[test]
fn other_flags_replace_the_table() {
    let a = netfilter_plan("10.244.1.5", &Options::default());
    let all = Options {
        masquerade_all: true,
        ..Options::default()
    };
    let b = netfilter_plan("10.244.1.5", &all);
    let ops = diff(&a, &b);
    assert!(matches!(ops.as_slice(), [NfOp::Replace(t)] if t.options == all));
    let empty = NetfilterPlan { tables: vec![] };
    assert!(matches!(diff(&empty, &a).as_slice(), [NfOp::Replace(_)]));
    assert_eq!(diff(&a, &empty), vec![NfOp::Delete(Family::V4)]);
}
