//! The benchmark's cluster, shared by `tests/agent_vm.rs` and `cargo xtask vm bench`.

use std::fmt::Write as _;

/// `n` Services over one Deployment of 10 Pods, plus Service `one` over `one_replicas` Pods
/// (the same shape as `tests/agent_vm.rs`).
pub fn big_manifest(n: usize, one_replicas: u32) -> String {
    let mut s = String::new();
    for (name, replicas) in [("big", 10), ("one", one_replicas)] {
        let _ = write!(
            s,
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  \
             replicas: {replicas}\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    \
             metadata: {{labels: {{app: {name}}}}}\n    spec: {{containers: [{{name: c, image: x}}]}}\n---\n"
        );
    }
    s.push_str(
        "apiVersion: v1\nkind: Service\nmetadata: {name: one}\nspec:\n  selector: {app: one}\n  \
         ports: [{port: 80}]\n",
    );
    for i in 1..n {
        let _ = write!(
            s,
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: s{i}}}\nspec:\n  \
             selector: {{app: big}}\n  ports: [{{port: 80}}]\n"
        );
    }
    s
}
