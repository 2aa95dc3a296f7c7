//! How long the core takes for a large cluster: 10,000 Services × 10 Pods.
//!
//! `cargo bench -p svcroute-core --bench plan`. Objects are built in memory, so this measures
//! the control-plane work (allocation, endpoints) and one node's plan, not YAML parsing;
//! `live-new` a live cluster made from the same objects (build, indexes, the node's state); the
//! other `live` rows measure the live cluster: one Pod's readiness change (and back), and one Service
//! added and deleted, each with the operations it returns (printed once before measuring); the
//! `scheduler-choice` rows one backend choice per simulated IPVS scheduler (10 real servers).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use svcroute_core::cluster::live::{Live, Object, ObjectKind};
use svcroute_core::config::Scheduler;
use svcroute_core::labels::Labels;
use svcroute_core::model::*;
use svcroute_core::sim::{Open, Simulator};
use svcroute_core::{Cluster, Config, plan};

fn objects(services: usize, pods_per_service: usize) -> Objects {
    let mut o = Objects::default();
    for i in 0..services {
        let ns = format!("ns{}", i % 50);
        let mut selector = Labels::new();
        selector.insert("app".into(), format!("app-{i}"));
        o.services.push(Service {
            meta: Meta {
                id: ObjectRef::new(ns.clone(), format!("svc-{i}")),
                ..Meta::default()
            },
            kind: ServiceType::ClusterIp,
            selector: Some(selector.clone()),
            cluster_ips: Vec::new(),
            headless: false,
            cluster_ip_loc: None,
            ip_families: Vec::new(),
            ip_family_policy: None,
            ports: vec![ServicePort {
                name: String::new(),
                protocol: Protocol::Tcp,
                port: 80,
                target_port: TargetPort::Number(8080),
                node_port: None,
                node_port_loc: None,
            }],
            external_ips: Vec::new(),
            external_name: None,
            affinity_timeout: None,
            external_traffic_policy: TrafficPolicy::Cluster,
            internal_traffic_policy: TrafficPolicy::Cluster,
            ip_family_policy_loc: None,
            publish_not_ready: false,
            allocate_lb_node_ports: true,
            health_check_node_port: None,
            lb_ingress: Vec::new(),
            lb_source_ranges: Vec::new(),
        });
        for j in 0..pods_per_service {
            let n = (i * pods_per_service + j) as u32;
            o.pods.push(Pod {
                meta: Meta {
                    id: ObjectRef::new(ns.clone(), format!("p-{i}-{j}")),
                    labels: selector.clone(),
                    ..Meta::default()
                },
                node_name: Some(format!("node-{}", n % 5)),
                hostname: None,
                subdomain: None,
                ports: Vec::new(),
                phase: PodPhase::Running,
                ips: vec![IpAddr::V4(Ipv4Addr::from(0x0a64_0000 + n))],
                ready: true,
                synthesized: false,
                host_network: false,
                status_given: true,
                tolerations: Vec::new(),
            });
        }
    }
    o
}

fn bench(c: &mut Criterion) {
    let objs = objects(10_000, 10);
    let mut g = c.benchmark_group("10k-services-x-10-pods");
    g.sample_size(10);
    // The objects are cloned, and the result dropped, outside the measured time.
    g.bench_function("cluster-build", |b| {
        b.iter_batched(
            || objs.clone(),
            |o| Cluster::build(black_box(o), Config::default()),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("live-new", |b| {
        b.iter_batched(
            || objs.clone(),
            |o| Live::new(black_box(o), Config::default(), None),
            BatchSize::LargeInput,
        )
    });
    let cluster = Cluster::build(objs.clone(), Config::default()).expect("valid");
    g.bench_function("plan-one-node", |b| {
        b.iter(|| plan(black_box(&cluster), None).map(|p| p.virtual_servers.len()))
    });
    let mut live = Live::new(objs.clone(), Config::default(), None).expect("valid");
    let pod = |ready: bool| {
        let mut p = objs.pods[0].clone();
        p.ready = ready;
        Object::Pod(p)
    };
    let down = live.apply(pod(false)).expect("applied");
    let up = live.apply(pod(true)).expect("applied");
    eprintln!(
        "live: one readiness change: {} and {} operations (the Pod backs 1 virtual server)",
        down.len(),
        up.len()
    );
    // For `cargo xtask bench`'s table.
    println!("counts: readiness-change={}", down.len());
    g.bench_function("live-readiness-change-and-back", |b| {
        b.iter(|| {
            let a = live.apply(black_box(pod(false))).expect("applied").len();
            a + live.apply(black_box(pod(true))).expect("applied").len()
        })
    });
    let mut extra = objs.services[0].clone();
    extra.meta.id = ObjectRef::new("ns0", "svc-extra");
    let added = live.apply(Object::Service(extra.clone())).expect("applied");
    let deleted = live
        .delete(ObjectKind::Service, &extra.meta.id)
        .expect("deleted");
    eprintln!(
        "live: one Service added: {} operations, deleted: {} operations",
        added.len(),
        deleted.len()
    );
    println!(
        "counts: service-add={} service-delete={}",
        added.len(),
        deleted.len()
    );
    g.bench_function("live-service-add-and-delete", |b| {
        b.iter(|| {
            let a = live
                .apply(black_box(Object::Service(extra.clone())))
                .expect("applied")
                .len();
            a + live
                .delete(ObjectKind::Service, &extra.meta.id)
                .expect("deleted")
                .len()
        })
    });
    g.finish();
}

/// One backend choice (a new connection through `Simulator::open`) on a virtual server of
/// 10 real servers, per simulated scheduler.
fn schedulers(c: &mut Criterion) {
    let mut g = c.benchmark_group("scheduler-choice");
    for s in Scheduler::ALL.iter().filter(|s| s.is_simulated()) {
        let config = Config {
            scheduler: *s,
            ..Config::default()
        };
        let cluster = Cluster::build(objects(1, 10), config).expect("valid");
        let p = plan(&cluster, None).expect("plans");
        let vs = p.virtual_servers[0].clone();
        assert_eq!(vs.real_servers.len(), 10);
        let mut sim = Simulator::with_seed(0);
        let mut i: u32 = 0;
        g.bench_function(s.as_str(), |b| {
            b.iter(|| {
                i = i.wrapping_add(1);
                // The table is emptied now and then, so it stays the size of a busy node's.
                if i.is_multiple_of(4096) {
                    sim.reset();
                }
                let o = Open {
                    client: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (i % 65_536))),
                    port: Some(1024 + (i % 60_000) as u16),
                    at_ms: u64::from(i),
                    duration_ms: Some(0),
                };
                sim.open("node-0", black_box(&vs), &o).index
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench, schedulers);
criterion_main!(benches);
