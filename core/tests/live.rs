//! The live cluster against the one-shot build: after random sequences of applies and deletes
//! the incremental plan equals a full plan of the same objects, and each change's operations
//! applied to the state before it give the state after it (and the state is the plan's).
//! Also: the controllers' replacements (a deleted Deployment Pod gets a new name, the others
//! do not move), the kernel's list order, and the watch-stream fold.

use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use svcroute_core::cluster::live::{Event, Live, Object, ObjectKind};
use svcroute_core::diff::{self, State};
use svcroute_core::labels::{Labels, Selector};
use svcroute_core::model::*;
use svcroute_core::{Cluster, Config, plan};

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn service(name: &str, app: Option<&str>, node_port: bool, port: u16) -> Service {
    Service {
        meta: Meta {
            id: ObjectRef::new("default", name),
            ..Meta::default()
        },
        kind: if node_port {
            ServiceType::NodePort
        } else {
            ServiceType::ClusterIp
        },
        selector: app.map(|a| labels(&[("app", a)])),
        cluster_ips: Vec::new(),
        headless: false,
        cluster_ip_loc: None,
        ip_families: Vec::new(),
        ip_family_policy: None,
        ports: vec![ServicePort {
            name: String::new(),
            protocol: Protocol::Tcp,
            port,
            target_port: TargetPort::Number(8080),
            node_port: None,
            node_port_loc: None,
        }],
        external_ips: Vec::new(),
        external_name: None,
        affinity_timeout: None,
        external_traffic_policy: TrafficPolicy::Cluster,
        internal_traffic_policy: TrafficPolicy::Cluster,
        publish_not_ready: false,
        allocate_lb_node_ports: true,
        health_check_node_port: None,
        lb_ingress: Vec::new(),
        ip_family_policy_loc: None,
        lb_source_ranges: Vec::new(),
    }
}

fn pod(i: u8, app: &str, node: u8, ready: bool, terminating: bool) -> Pod {
    Pod {
        meta: Meta {
            id: ObjectRef::new("default", format!("pod-{i}")),
            labels: labels(&[("app", app)]),
            deleting: terminating,
            ..Meta::default()
        },
        node_name: Some(format!("node-{node}")),
        hostname: None,
        subdomain: None,
        ports: Vec::new(),
        phase: PodPhase::Running,
        // Given Pods live outside the Pod CIDR the control plane allocates from.
        ips: vec![IpAddr::V4(Ipv4Addr::new(10, 100, 0, i))],
        ready,
        synthesized: false,
        status_given: true,
        tolerations: Vec::new(),
        host_network: false,
    }
}

fn node(i: u8) -> Node {
    Node {
        meta: Meta {
            id: ObjectRef::new("", format!("node-{i}")),
            labels: labels(&[("kubernetes.io/hostname", &format!("node-{i}"))]),
            ..Meta::default()
        },
        addresses: vec![IpAddr::V4(Ipv4Addr::new(172, 18, 0, 10 + i))],
        pod_cidrs: Vec::new(),
        synthesized: false,
        unschedulable: false,
        taints: Vec::new(),
        ready: None,
    }
}

fn slice(i: u8, svc: &str, addrs: &[u8]) -> EndpointSlice {
    EndpointSlice {
        meta: Meta {
            id: ObjectRef::new("default", format!("slice-{i}")),
            ..Meta::default()
        },
        service: Some(svc.to_owned()),
        family: Some(Family::V4),
        endpoints: addrs
            .iter()
            .map(|a| Endpoint {
                addresses: vec![IpAddr::V4(Ipv4Addr::new(10, 200, 0, *a))],
                conditions: Conditions::default(),
                hostname: None,
                node_name: None,
                pod: None,
            })
            .collect(),
        ports: vec![EndpointPort {
            name: String::new(),
            protocol: Protocol::Tcp,
            port: 9090,
        }],
    }
}

fn deployment(name: &str, app: &str, replicas: u32) -> Workload {
    Workload {
        kind: WorkloadKind::Deployment,
        meta: Meta {
            id: ObjectRef::new("default", name),
            ..Meta::default()
        },
        replicas,
        selector: Selector::from_map(&labels(&[("app", app)])).expect("valid"),
        template_labels: labels(&[("app", app)]),
        ports: Vec::new(),
        hostname: None,
        subdomain: None,
        node_selector: Labels::new(),
        service_name: None,
        template_hash: 7,
        tolerations: Vec::new(),
        host_network: false,
    }
}

const APPS: [&str; 3] = ["a", "b", "c"];

/// One change: small pools of names so that objects are replaced and deleted often.
#[derive(Clone, Debug)]
enum Change {
    Service(u8, Option<u8>, bool, u16),
    Pod(u8, u8, u8, bool, bool),
    Node(u8),
    Slice(u8, u8, Vec<u8>),
    Deployment(u8, u8, u32),
    Delete(u8, u8),
    /// The playground's readiness toggle on the i-th Pod the control plane made.
    Ready(u8, bool),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (
            0..5u8,
            proptest::option::of(0..3u8),
            any::<bool>(),
            prop_oneof![Just(80u16), Just(443)]
        )
            .prop_map(|(i, a, np, p)| Change::Service(i, a, np, p)),
        (0..8u8, 0..3u8, 1..4u8, any::<bool>(), any::<bool>())
            .prop_map(|(i, a, n, r, t)| Change::Pod(i, a, n, r, t)),
        (1..5u8).prop_map(Change::Node),
        (0..3u8, 0..5u8, proptest::collection::vec(0..6u8, 0..4))
            .prop_map(|(i, s, a)| Change::Slice(i, s, a)),
        (0..2u8, 0..3u8, 0..4u32).prop_map(|(i, a, r)| Change::Deployment(i, a, r)),
        (0..6u8, 0..8u8).prop_map(|(k, i)| Change::Delete(k, i)),
        (0..8u8, any::<bool>()).prop_map(|(i, r)| Change::Ready(i, r)),
    ]
}

fn start() -> Objects {
    Objects {
        nodes: vec![node(1), node(2)],
        services: vec![service("svc-0", Some("a"), false, 80)],
        pods: vec![pod(0, "a", 1, true, false)],
        ..Objects::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// The incremental plan equals the full plan of the same objects; the operations of each
    /// change take the old state to the new one, which is the new plan's.
    #[test]
    fn incremental_equals_full(changes in proptest::collection::vec(change(), 1..24)) {
        check(&changes, true, Config::default())?;
    }

    /// Under a node rule limit low enough to skip Services (`plan::MAX_NODE_RULES`, lowered):
    /// the same, with the Services the limit leaves out as a full plan leaves them out.
    #[test]
    fn incremental_equals_full_under_a_rule_limit(
        changes in proptest::collection::vec(change(), 1..24),
        virtual_servers in 0..8usize,
        real_servers in 0..16usize,
    ) {
        let max_node_rules = plan::Rules { virtual_servers, real_servers };
        let config = Config { max_node_rules, ..Config::default() };
        check(&changes, true, config)?;
    }

    /// Without Nodes and workloads nothing is placed: the live cluster equals a plain full
    /// build of its objects.
    #[test]
    fn endpoint_changes_equal_a_fresh_build(
        changes in proptest::collection::vec(change(), 1..24)
    ) {
        let changes: Vec<Change> = changes
            .into_iter()
            .filter(|c| !matches!(c, Change::Node(_) | Change::Deployment(..) | Change::Delete(3 | 5, _)))
            .collect();
        check(&changes, false, Config::default())?;
    }
}

/// Runs `changes`; compares with a build that keeps the live cluster's allocations and
/// placements (`keeping`), or with a fresh build.
fn check(changes: &[Change], keeping: bool, config: Config) -> Result<(), TestCaseError> {
    {
        let mut live = Live::new(start(), config.clone(), Some("node-1")).expect("valid");
        for c in changes {
            let before = live.state().clone();
            // Deleting what does not exist, or a change the API server would refuse, changes
            // nothing.
            if let Ok(ops) = apply_change(&mut live, c) {
                let mut replayed = before.clone();
                diff::apply(&mut replayed, &ops).expect("operations apply to the old state");
                prop_assert_eq!(&replayed, live.state(), "ops of {:?}", c);
            } else {
                prop_assert_eq!(&before, live.state());
            }
            let full = if keeping {
                Cluster::build_keeping(
                    live.objects(),
                    config.clone(),
                    live.tweaks(),
                    Some(live.cluster()),
                )
            } else {
                Cluster::build(live.objects(), config.clone())
            };
            match (full, live.plan()) {
                (Ok(cluster), Ok(incremental)) => {
                    let want = plan(&cluster, Some("node-1")).expect("node-1 exists");
                    prop_assert_eq!(&incremental, &want, "after {:?}", c);
                    prop_assert!(want.rules.within(config.max_node_rules));
                    // Each Service's rules, counted, are the ones made.
                    let node = cluster.node("node-1").expect("node-1 exists");
                    for svc in &cluster.services {
                        let made = plan::Rules::of(&plan::service_virtual_servers(
                            &cluster,
                            svc,
                            "node-1",
                            &node.addresses,
                        ));
                        prop_assert_eq!(plan::service_rules(svc, "node-1", &node.addresses), made);
                    }
                    // The cluster's warnings (selectors that match no Pod, ...) as a build's.
                    prop_assert_eq!(&live.warnings(), &cluster.warnings, "after {:?}", c);
                    prop_assert_eq!(&State::from_plan(&want), live.state());
                    // The kernel's list holds the same real servers as the plan.
                    for vs in &want.virtual_servers {
                        let mut order = live.kernel_order(&vs.key()).to_vec();
                        order.sort();
                        let mut rs: Vec<_> = vs
                            .real_servers
                            .iter()
                            .map(|r| diff::RsKey {
                                address: r.address,
                                port: r.port,
                            })
                            .collect();
                        rs.sort();
                        prop_assert_eq!(order, rs);
                    }
                }
                (Err(e), _) => {
                    prop_assert!(false, "live holds objects a full build refuses: {:?}", e)
                }
                (Ok(_), Err(_)) => {
                    prop_assert!(live.cluster().node("node-1").is_none());
                }
            }
        }
    }
    Ok(())
}

fn apply_change(
    live: &mut Live,
    c: &Change,
) -> Result<Vec<diff::Op>, svcroute_core::cluster::live::LiveError> {
    match c {
        Change::Service(i, a, np, p) => live.apply(Object::Service(service(
            &format!("svc-{i}"),
            a.map(|a| APPS[a as usize]),
            *np,
            *p,
        ))),
        Change::Pod(i, a, n, r, t) => {
            live.apply(Object::Pod(pod(*i, APPS[*a as usize], *n, *r, *t)))
        }
        Change::Node(i) => live.apply(Object::Node(node(*i))),
        Change::Slice(i, s, a) => {
            live.apply(Object::EndpointSlice(slice(*i, &format!("svc-{s}"), a)))
        }
        Change::Deployment(i, a, r) => live.apply(Object::Workload(deployment(
            &format!("dep-{i}"),
            APPS[*a as usize],
            *r,
        ))),
        Change::Ready(i, ready) => {
            let made: Vec<ObjectRef> = live
                .cluster()
                .pods
                .iter()
                .filter(|p| p.synthesized)
                .map(|p| p.meta.id.clone())
                .collect();
            let Some(id) = made.get(*i as usize % made.len().max(1)) else {
                return Ok(Vec::new());
            };
            let mut t = live
                .tweaks()
                .pods
                .get(&id.to_string())
                .cloned()
                .unwrap_or_default();
            t.ready = Some(*ready);
            live.tweak_pod(id, t)
        }
        Change::Delete(k, i) => {
            let (kind, id) = match k {
                0 => (
                    ObjectKind::Service,
                    ObjectRef::new("default", format!("svc-{}", i % 5)),
                ),
                1 | 2 => (
                    ObjectKind::Pod,
                    ObjectRef::new("default", format!("pod-{i}")),
                ),
                3 => (
                    ObjectKind::Node,
                    ObjectRef::new("", format!("node-{}", 1 + i % 4)),
                ),
                4 => (
                    ObjectKind::EndpointSlice,
                    ObjectRef::new("default", format!("slice-{}", i % 3)),
                ),
                _ => (
                    ObjectKind::Workload(WorkloadKind::Deployment),
                    ObjectRef::new("default", format!("dep-{}", i % 2)),
                ),
            };
            live.delete(kind, &id)
        }
    }
}

/// ReplicaSet controller: a deleted Pod is replaced under a new name and address; the other
/// Pods keep their names, Nodes and addresses (Kubernetes never moves a running Pod).
#[test]
fn a_deleted_deployment_pod_is_replaced_and_the_others_stay() {
    let objects = Objects {
        nodes: vec![node(1), node(2)],
        services: vec![service("svc-0", Some("a"), false, 80)],
        workloads: vec![deployment("dep", "a", 3)],
        ..Objects::default()
    };
    let mut live = Live::new(objects, Config::default(), Some("node-1")).expect("valid");
    let placed = |l: &Live| -> Vec<(String, Option<String>, Vec<IpAddr>)> {
        l.cluster()
            .pods
            .iter()
            .map(|p| (p.meta.id.name.clone(), p.node_name.clone(), p.ips.clone()))
            .collect()
    };
    let before = placed(&live);
    assert_eq!(before.len(), 3);
    let victim = ObjectRef::new("default", before[1].0.clone());
    let ops = live.delete(ObjectKind::Pod, &victim).expect("a made Pod");
    let after = placed(&live);
    assert_eq!(after.len(), 3);
    assert!(after.iter().all(|p| p.0 != victim.name), "a new name");
    for p in before.iter().filter(|p| p.0 != victim.name) {
        assert!(after.contains(p), "{p:?} moved");
    }
    // One real server out, one in.
    assert_eq!(ops.len(), 2, "{ops:?}");
}

/// The kernel inserts a new destination at the head of its list: a real server added to an
/// existing virtual server leads the list; one made in one go keeps the plan's order.
#[test]
fn a_real_server_added_later_goes_to_the_head() {
    let mut live = Live::new(start(), Config::default(), Some("node-1")).expect("valid");
    live.apply(Object::Pod(pod(9, "a", 2, true, false)))
        .expect("applied");
    live.apply(Object::Pod(pod(5, "a", 2, true, false)))
        .expect("applied");
    let p = live.plan().expect("node");
    let key = p.virtual_servers[0].key();
    let order: Vec<String> = live
        .kernel_order(&key)
        .iter()
        .map(|r| r.address.to_string())
        .collect();
    assert_eq!(order, ["10.100.0.5", "10.100.0.9", "10.100.0.0"]);
    // The kernel's view lists them in that order.
    let kernel = live.kernel_plan().expect("node");
    let listed: Vec<String> = kernel.virtual_servers[0]
        .real_servers
        .iter()
        .map(|r| r.address.to_string())
        .collect();
    assert_eq!(listed, order);
}

/// One readiness change is one operation per virtual server the Pod backs.
#[test]
fn a_readiness_change_is_one_operation_per_virtual_server() {
    let mut objects = start();
    objects.services[0] = service("svc-0", Some("a"), true, 80);
    let mut live = Live::new(objects, Config::default(), Some("node-1")).expect("valid");
    let ops = live
        .apply(Object::Pod(pod(0, "a", 1, false, false)))
        .expect("applied");
    // ClusterIP and the NodePort on node-1's address.
    assert_eq!(ops.len(), 2, "{ops:?}");
    assert!(
        ops.iter()
            .all(|o| matches!(o, diff::Op::DeleteRealServer { .. }))
    );
}

/// kube-runtime's Store: Init … InitApply … InitDone replaces the whole state; events before
/// InitDone change nothing.
#[test]
fn a_relist_replaces_the_whole_state() {
    let mut live = Live::new(start(), Config::default(), Some("node-1")).expect("valid");
    assert!(live.fold(Event::Init).expect("ok").is_empty());
    let relisted = [
        Object::Node(node(1)),
        Object::Service(service("svc-1", Some("b"), false, 443)),
        Object::Pod(pod(3, "b", 1, true, false)),
    ];
    for o in relisted {
        assert!(live.fold(Event::InitApply(o)).expect("ok").is_empty());
    }
    assert!(live.plan().expect("node").virtual_servers[0].service == "default/svc-0");
    let ops = live.fold(Event::InitDone).expect("ok");
    assert!(!ops.is_empty());
    let p = live.plan().expect("node");
    assert_eq!(p.virtual_servers.len(), 1);
    assert_eq!(p.virtual_servers[0].service, "default/svc-1");
    assert_eq!(live.objects().pods.len(), 1);
    let want = plan(
        &Cluster::build(live.objects(), Config::default()).expect("valid"),
        None,
    )
    .expect("node");
    assert_eq!(State::from_plan(&want), *live.state());
}

/// The API server refuses a Service whose clusterIP is taken; the live cluster is unchanged.
#[test]
fn a_service_with_a_taken_cluster_ip_is_refused() {
    let mut live = Live::new(start(), Config::default(), Some("node-1")).expect("valid");
    let taken = live.cluster().services[0].cluster_ips[0];
    let before = live.state().clone();
    let mut s = service("svc-9", Some("b"), false, 80);
    s.cluster_ips = vec![taken];
    let err = live.apply(Object::Service(s)).expect_err("refused");
    assert!(err.to_string().contains("already allocated"), "{err}");
    assert_eq!(live.state(), &before);
    assert_eq!(live.objects().services.len(), 1);
}
