//! Tweaks: the actions a playground applies on top of manifests, with the controllers'
//! behaviour (a deleted Deployment Pod is replaced under a new name; a StatefulSet Pod comes
//! back under its own name; a not-ready Pod leaves the virtual servers).

use svcroute_core::cluster::{PodTweak, Tweaks};
use svcroute_core::{Cluster, Config, manifest, plan};

const SEED: &str = include_str!("../../examples/deployment.yaml");
const SVC: &str = include_str!("../../examples/service-clusterip.yaml");

fn cluster(tweaks: &Tweaks) -> Cluster {
    let read = manifest::read_all([("deployment.yaml", SEED), ("service.yaml", SVC)]);
    assert!(!read.has_errors(), "{:?}", read.diagnostics);
    Cluster::build_with(read.objects, Config::default(), tweaks).expect("valid")
}

/// Tweaks that change one Pod only.
fn one_pod(pod: String, tweak: PodTweak) -> Tweaks {
    let mut t = Tweaks::default();
    t.pods.insert(pod, tweak);
    t
}

fn pods(c: &Cluster) -> Vec<String> {
    c.pods.iter().map(|p| p.meta.id.to_string()).collect()
}

fn real_servers(c: &Cluster) -> Vec<String> {
    let p = plan(c, None).expect("node");
    p.virtual_servers[0]
        .real_servers
        .iter()
        .map(|r| r.address.to_string())
        .collect()
}

#[test]
fn scaling_changes_the_pod_count() {
    let mut t = Tweaks::default();
    t.replicas.insert("dev/pc-deployment".into(), 5);
    assert_eq!(cluster(&t).pods.len(), 5);
    t.replicas.insert("dev/pc-deployment".into(), 0);
    let c = cluster(&t);
    assert!(c.pods.is_empty());
    let p = plan(&c, None).expect("node");
    assert!(
        p.virtual_servers[0].real_servers.is_empty(),
        "the virtual server stays, empty"
    );
}

#[test]
fn a_not_ready_pod_leaves_the_rules() {
    let before = cluster(&Tweaks::default());
    let victim = pods(&before)[0].clone();
    let mut t = Tweaks::default();
    t.pods.insert(
        victim.clone(),
        PodTweak {
            ready: Some(false),
            ..PodTweak::default()
        },
    );
    let after = cluster(&t);
    assert_eq!(pods(&after), pods(&before), "the Pod still exists");
    assert_eq!(real_servers(&after).len(), 2);
}

#[test]
fn a_deleted_deployment_pod_is_replaced_under_a_new_name() {
    let before = cluster(&Tweaks::default());
    let victim = pods(&before)[1].clone();
    let after = cluster(&one_pod(
        victim.clone(),
        PodTweak {
            deleted: true,
            ..PodTweak::default()
        },
    ));
    assert_eq!(after.pods.len(), 3);
    assert!(!pods(&after).contains(&victim));
}

/// ReplicaSet controller: a terminating Pod is not active, so a replacement is made beside it;
/// the other Pods keep their names, Nodes and addresses (identities depend on the Pod alone).
#[test]
fn a_terminating_deployment_pod_gets_a_replacement_and_nothing_moves() {
    let placed = |c: &Cluster| -> Vec<(String, Option<String>, Vec<std::net::IpAddr>)> {
        c.pods
            .iter()
            .map(|p| (p.meta.id.to_string(), p.node_name.clone(), p.ips.clone()))
            .collect()
    };
    let before = cluster(&Tweaks::default());
    let victim = pods(&before)[0].clone();
    let after = cluster(&one_pod(
        victim.clone(),
        PodTweak {
            terminating: true,
            ..PodTweak::default()
        },
    ));
    assert_eq!(after.pods.len(), 4, "three active and the terminating one");
    let terminating: Vec<&str> = after
        .pods
        .iter()
        .filter(|p| p.meta.deleting)
        .map(|p| p.meta.id.name.as_str())
        .collect();
    assert_eq!(terminating.len(), 1);
    assert_eq!(format!("dev/{}", terminating[0]), victim);
    for p in placed(&before) {
        assert!(placed(&after).contains(&p), "{p:?} moved");
    }
}

/// Deleting one Pod moves no other (before, placement followed list order).
#[test]
fn deleting_a_pod_moves_no_other() {
    let before = cluster(&Tweaks::default());
    let victim = pods(&before)[0].clone();
    let after = cluster(&one_pod(
        victim.clone(),
        PodTweak {
            deleted: true,
            ..PodTweak::default()
        },
    ));
    for p in before
        .pods
        .iter()
        .filter(|p| p.meta.id.to_string() != victim)
    {
        let q = after.pod(&p.meta.id).expect("still there");
        assert_eq!((&q.node_name, &q.ips), (&p.node_name, &p.ips));
    }
}
