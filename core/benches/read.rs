//! How long reading takes: a kubectl-style `List` of 1,000 Services × 10 Pods (about 7 MB, a
//! tenth of `cargo xtask gen-cluster`'s default), as JSON and as YAML.
//!
//! `cargo bench -p svcroute-core --bench read`. `tree` is text into the position-carrying tree
//! alone (`json::parse_documents`, `yaml::parse_documents`); `read` adds strict field validation
//! and decoding (`manifest::read`), which the tree's numbers let one tell apart. Whole-process
//! numbers at 10,000 × 10 (with peak RSS) come from `/usr/bin/time -v svcroute plan -o json -f`
//! on `cargo xtask gen-cluster` output.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use svcroute_core::manifest::{self, json, yaml};

/// One Service and its Pods as JSON objects (one per line).
fn json_items(i: usize, pods: usize, out: &mut Vec<String>) {
    out.push(format!(
        r#"{{"apiVersion": "v1", "kind": "Service", "metadata": {{"name": "app-{i}", "namespace": "ns-{ns}", "labels": {{"app": "app-{i}"}}, "uid": "u-{i}", "resourceVersion": "{i}"}}, "spec": {{"clusterIP": "10.96.{a}.{b}", "clusterIPs": ["10.96.{a}.{b}"], "ports": [{{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}}], "selector": {{"app": "app-{i}"}}, "sessionAffinity": "None", "type": "ClusterIP"}}, "status": {{"loadBalancer": {{}}}}}}"#,
        ns = i % 50,
        a = i / 250,
        b = i % 250 + 1
    ));
    for p in 0..pods {
        let n = i * pods + p;
        out.push(format!(
            r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "app-{i}-{p}", "namespace": "ns-{ns}", "labels": {{"app": "app-{i}", "pod-template-hash": "5d8f7c9b4"}}, "uid": "u-{i}-{p}"}}, "spec": {{"nodeName": "node-{node}", "containers": [{{"name": "server", "image": "agnhost:2.53", "ports": [{{"containerPort": 8080, "name": "http", "protocol": "TCP"}}]}}]}}, "status": {{"phase": "Running", "podIP": "10.64.{c}.{d}", "podIPs": [{{"ip": "10.64.{c}.{d}"}}], "conditions": [{{"type": "Ready", "status": "True"}}]}}}}"#,
            ns = i % 50,
            node = n % 20,
            c = n / 250,
            d = n % 250 + 1
        ));
    }
}

fn json_list(services: usize, pods: usize) -> String {
    let mut items = Vec::new();
    for i in 0..services {
        json_items(i, pods, &mut items);
    }
    format!(
        "{{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n{}\n]}}\n",
        items.join(",\n")
    )
}

/// The same objects as block-style YAML documents (as `kubectl get -o yaml` prints them).
fn yaml_docs(services: usize, pods: usize) -> String {
    let mut t = String::new();
    for i in 0..services {
        let (ns, a, b) = (i % 50, i / 250, i % 250 + 1);
        let _ = write!(
            t,
            "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: app-{i}\n  namespace: ns-{ns}\n  labels:\n    app: app-{i}\n  uid: u-{i}\n  resourceVersion: \"{i}\"\nspec:\n  clusterIP: 10.96.{a}.{b}\n  clusterIPs:\n  - 10.96.{a}.{b}\n  ports:\n  - name: http\n    port: 80\n    protocol: TCP\n    targetPort: 8080\n  selector:\n    app: app-{i}\n  sessionAffinity: None\n  type: ClusterIP\nstatus:\n  loadBalancer: {{}}\n"
        );
        for p in 0..pods {
            let n = i * pods + p;
            let (node, c, d) = (n % 20, n / 250, n % 250 + 1);
            let _ = write!(
                t,
                "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: app-{i}-{p}\n  namespace: ns-{ns}\n  labels:\n    app: app-{i}\n    pod-template-hash: 5d8f7c9b4\n  uid: u-{i}-{p}\nspec:\n  nodeName: node-{node}\n  containers:\n  - name: server\n    image: agnhost:2.53\n    ports:\n    - containerPort: 8080\n      name: http\n      protocol: TCP\nstatus:\n  phase: Running\n  podIP: 10.64.{c}.{d}\n  podIPs:\n  - ip: 10.64.{c}.{d}\n  conditions:\n  - type: Ready\n    status: \"True\"\n"
            );
        }
    }
    t
}

fn bench(c: &mut Criterion) {
    let json_text = json_list(1_000, 10);
    let yaml_text = yaml_docs(1_000, 10);
    // The inputs are valid: a bench of error paths would measure something else.
    assert!(!manifest::read("b.json", &json_text).has_errors());
    assert!(!manifest::read("b.yaml", &yaml_text).has_errors());
    let mut g = c.benchmark_group("read-1k-services-x-10-pods");
    g.sample_size(10);
    g.bench_function("tree-json", |b| {
        b.iter(|| json::parse_documents(black_box(&json_text)).map(|d| d.len()))
    });
    g.bench_function("tree-yaml", |b| {
        b.iter(|| yaml::parse_documents(black_box(&yaml_text)).map(|d| d.len()))
    });
    g.bench_function("read-json", |b| {
        b.iter(|| {
            manifest::read("b.json", black_box(&json_text))
                .objects
                .pods
                .len()
        })
    });
    g.bench_function("read-yaml", |b| {
        b.iter(|| {
            manifest::read("b.yaml", black_box(&yaml_text))
                .objects
                .pods
                .len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
