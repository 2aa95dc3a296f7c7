//! The agent's nftables table on the host's real kernel, in a private network namespace
//! (`unshare -n`): `nft -f` loads what `svcroute plan -o nftables-ipvs` prints, and
//! `nft -j list ruleset` — nft's own parser, the kernel and nft's JSON printer, independent of
//! svcroute's renderer — must give back exactly the core's sets, chains and rules. Diffs are
//! applied the same way, and a table made by hand must survive every replace and diff.
//!
//! Needs root, `unshare` and `nft` (Debian's `nftables`): run by `cargo xtask netfilter-host`
//! (part of `cargo xtask test`), which installs `nftables` when `nft` is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use svcroute_core::cluster::Tweaks;
use svcroute_core::model::{Family, Protocol};
use svcroute_core::netfilter::diff::{apply, diff};
use svcroute_core::netfilter::rules::{self, Action, Match};
use svcroute_core::netfilter::{self, Element, KeyKind, NetfilterPlan, Options, SetId};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fixture's netfilter plan for `node`, computed in-process.
fn nf_plan(
    fixture: &str,
    node: Option<&str>,
    options: &Options,
    pod_cidrs: &[&str],
) -> NetfilterPlan {
    let path = root().join("tests/fixtures").join(fixture);
    let text = std::fs::read_to_string(&path).expect("fixture");
    let settings = svcroute_core::config::Settings {
        pod_cidrs: pod_cidrs.iter().map(|c| c.parse().expect("cidr")).collect(),
        ..Default::default()
    };
    let config = settings.to_config().expect("config");
    let cluster =
        svcroute_core::manifest::load([(fixture, text.as_str())], config, &Tweaks::default())
            .expect("fixture loads");
    let plan = svcroute_core::plan(&cluster, node).expect("node");
    netfilter::plan(&cluster, &plan, options)
}

/// Runs `script` with `sh` in a new network namespace; its stdout.
fn in_netns(dir: &Path, script: &str) -> String {
    let out = Command::new("unshare")
        .args(["-n", "sh", "-euc", script])
        .current_dir(dir)
        .output()
        .expect("unshare runs");
    assert!(
        out.status.success(),
        "script failed: {}\n--- stderr\n{}",
        script,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("svcroute-nf-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A base chain's (type, hook, priority).
type Hooked = (String, String, i64);

/// What the kernel holds, read from `nft -j list ruleset`.
#[derive(Debug, Default, PartialEq)]
struct Listed {
    /// family → set → elements.
    sets: BTreeMap<(Family, SetId), BTreeSet<Element>>,
    /// family → chain name → (type, hook, priority) for base chains.
    hooks: BTreeMap<(Family, String), Option<Hooked>>,
    /// family → chain name → each rule's summary.
    rules: BTreeMap<(Family, String), Vec<String>>,
    /// Tables that are not ours: (family, name).
    others: BTreeSet<(String, String)>,
}

fn family(s: &str) -> Option<Family> {
    match s {
        "ip" => Some(Family::V4),
        "ip6" => Some(Family::V6),
        _ => None,
    }
}

fn proto(s: &str) -> Protocol {
    match s {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        "sctp" => Protocol::Sctp,
        other => panic!("protocol {other:?}"),
    }
}

fn addr(v: &Value) -> IpAddr {
    v.as_str().expect("address").parse().expect("an address")
}

fn port(v: &Value) -> u16 {
    u16::try_from(v.as_u64().expect("a port")).expect("port fits")
}

fn net(v: &Value) -> ipnet::IpNet {
    if let Some(p) = v.get("prefix") {
        let a = addr(&p["addr"]);
        let len = u8::try_from(p["len"].as_u64().expect("len")).expect("len fits");
        return ipnet::IpNet::new(a, len).expect("prefix");
    }
    ipnet::IpNet::from(addr(v))
}

fn element(set: SetId, v: &Value) -> Element {
    let v = v.get("elem").map_or(v, |e| &e["val"]);
    let parts: Vec<Value> = match v.get("concat") {
        Some(c) => c.as_array().expect("concat").clone(),
        None => vec![v.clone()],
    };
    let p = |i: usize| &parts[i];
    match set.key() {
        KeyKind::Addr => Element::Addr(addr(p(0))),
        KeyKind::Port => Element::Port(port(p(0))),
        KeyKind::ProtoPort => Element::ProtoPort(proto(p(0).as_str().expect("proto")), port(p(1))),
        KeyKind::AddrProtoPort => {
            Element::AddrProtoPort(addr(p(0)), proto(p(1).as_str().expect("proto")), port(p(2)))
        }
        KeyKind::AddrProtoPortAddr => Element::AddrProtoPortAddr(
            addr(p(0)),
            proto(p(1).as_str().expect("proto")),
            port(p(2)),
            addr(p(3)),
        ),
        KeyKind::AddrProtoPortNet => Element::AddrProtoPortNet(
            addr(p(0)),
            proto(p(1).as_str().expect("proto")),
            port(p(2)),
            net(p(3)),
        ),
    }
}

/// A rule as `@set` references and the verdict, from nft's JSON expressions.
fn summary_json(expr: &[Value]) -> String {
    let mut parts = Vec::new();
    for e in expr {
        let (k, v) = e
            .as_object()
            .and_then(|o| o.iter().next())
            .expect("expression");
        match k.as_str() {
            "match" => {
                if let Some(set) = v["right"].as_str().filter(|s| s.starts_with('@')) {
                    parts.push(set.to_owned());
                } else {
                    parts.push("match".to_owned());
                }
            }
            "jump" => parts.push(format!("jump {}", v["target"].as_str().expect("target"))),
            "mangle" => parts.push("mark".to_owned()),
            "masquerade" => parts.push("masquerade".to_owned()),
            other => parts.push(other.to_owned()),
        }
    }
    parts.join(" ")
}

/// The same summary from the core's rule description.
fn summary_core(r: &rules::Rule) -> String {
    let mut parts: Vec<String> = r
        .matches
        .iter()
        .map(|m| match m {
            Match::Lookup { set, .. } => format!("@{}", set.name()),
            _ => "match".to_owned(),
        })
        .collect();
    parts.push(match r.action {
        Action::Accept => "accept".to_owned(),
        Action::Drop => "drop".to_owned(),
        Action::Return => "return".to_owned(),
        Action::Reject => "reject".to_owned(),
        Action::Jump(c) => format!("jump {}", c.name()),
        Action::Masquerade { .. } => "masquerade".to_owned(),
        Action::MarkOr(_) | Action::MarkXor(_) => "mark".to_owned(),
    });
    parts.join(" ")
}

fn list(json: &str) -> Listed {
    let v: Value = serde_json::from_str(json).expect("nft -j prints JSON");
    let mut out = Listed::default();
    for item in v["nftables"].as_array().expect("nftables array") {
        if let Some(t) = item.get("table") {
            let (f, n) = (
                t["family"].as_str().expect("family"),
                t["name"].as_str().expect("name"),
            );
            if n != netfilter::TABLE || family(f).is_none() {
                out.others.insert((f.to_owned(), n.to_owned()));
            }
            continue;
        }
        let Some((kind, o)) = item.as_object().and_then(|o| o.iter().next()) else {
            continue;
        };
        if o.get("table").and_then(Value::as_str) != Some(netfilter::TABLE) {
            continue;
        }
        let Some(fam) = o["family"].as_str().and_then(family) else {
            continue;
        };
        match kind.as_str() {
            "set" => {
                let set =
                    SetId::from_name(o["name"].as_str().expect("name")).expect("a set of ours");
                let elems = o
                    .get("elem")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(|e| element(set, e)).collect())
                    .unwrap_or_default();
                out.sets.insert((fam, set), elems);
            }
            "chain" => {
                let hook = o.get("hook").map(|h| {
                    (
                        o["type"].as_str().expect("type").to_owned(),
                        h.as_str().expect("hook").to_owned(),
                        o["prio"].as_i64().expect("prio"),
                    )
                });
                let name = o["name"].as_str().expect("name").to_owned();
                out.hooks.insert((fam, name.clone()), hook);
                out.rules.entry((fam, name)).or_default();
            }
            "rule" => {
                let name = o["chain"].as_str().expect("chain").to_owned();
                out.rules
                    .entry((fam, name))
                    .or_default()
                    .push(summary_json(o["expr"].as_array().expect("expr")));
            }
            _ => {}
        }
    }
    out
}

/// What `nft -j list ruleset` must show for `plan`.
fn expected(plan: &NetfilterPlan) -> Listed {
    let mut out = Listed::default();
    for t in &plan.tables {
        for (set, elems) in &t.sets {
            out.sets.insert((t.family, *set), elems.clone());
        }
        for c in rules::chains(t.family, &t.options) {
            let hook = c.base.map(|b| {
                (
                    match b.kind {
                        rules::ChainType::Nat => "nat".to_owned(),
                        rules::ChainType::Filter => "filter".to_owned(),
                    },
                    b.hook.name().to_owned(),
                    i64::from(b.priority),
                )
            });
            out.hooks.insert((t.family, c.id.name().to_owned()), hook);
            out.rules.insert(
                (t.family, c.id.name().to_owned()),
                c.rules.iter().map(summary_core).collect(),
            );
        }
    }
    out
}

const HAND_MADE: &str = "table ip other {\n\tchain c {\n\t\ttype filter hook input priority 0; policy accept;\n\t\ttcp dport 22 accept\n\t}\n}\n";

fn check_loads(name: &str, plan: &NetfilterPlan) {
    let dir = temp_dir(name);
    std::fs::write(dir.join("hand.nft"), HAND_MADE).expect("write");
    std::fs::write(dir.join("plan.nft"), netfilter::render::script(plan)).expect("write");
    // Loaded twice: the script replaces the table, so it is idempotent.
    let json = in_netns(
        &dir,
        "nft -f hand.nft; nft -f plan.nft; nft -f plan.nft; nft -j list ruleset",
    );
    let mut got = list(&json);
    assert_eq!(
        got.others,
        BTreeSet::from([("ip".to_owned(), "other".to_owned())]),
        "the hand-made table is untouched"
    );
    got.others.clear();
    assert_eq!(
        got,
        expected(plan),
        "{name}: nft's view differs from the plan"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs root, unshare and nft: cargo xtask netfilter-host"]
fn tables_load_as_planned() {
    let cidr = Options {
        cluster_cidrs: vec!["10.244.0.0/16".parse().expect("cidr")],
        ..Options::default()
    };
    let all = Options {
        masquerade_all: true,
        masquerade_bit: 3,
        ..Options::default()
    };
    let cases = [
        (
            "01-default",
            nf_plan(
                "netfilter-01-clusterip-masquerade.yaml",
                None,
                &Options::default(),
                &[],
            ),
        ),
        (
            "01-cidr",
            nf_plan("netfilter-01-clusterip-masquerade.yaml", None, &cidr, &[]),
        ),
        (
            "01-all",
            nf_plan("netfilter-01-clusterip-masquerade.yaml", None, &all, &[]),
        ),
        (
            "02",
            nf_plan(
                "netfilter-02-traffic-policy.yaml",
                Some("node-1"),
                &cidr,
                &[],
            ),
        ),
        (
            "03-in-range",
            nf_plan(
                "netfilter-03-source-ranges.yaml",
                Some("node-1"),
                &cidr,
                &[],
            ),
        ),
        (
            "03-out-of-range",
            nf_plan(
                "netfilter-03-source-ranges.yaml",
                Some("node-2"),
                &cidr,
                &[],
            ),
        ),
        (
            "05-dual-stack",
            nf_plan(
                "netfilter-05-hairpin-dual-stack.yaml",
                Some("node-1"),
                &Options {
                    cluster_cidrs: vec![
                        "10.244.0.0/16".parse().expect("cidr"),
                        "fd00:10:244::/56".parse().expect("cidr"),
                    ],
                    ..Options::default()
                },
                &["10.244.0.0/16", "fd00:10:244::/56"],
            ),
        ),
    ];
    for (name, plan) in &cases {
        assert!(plan.tables.iter().all(|t| !t.sets.is_empty()));
        check_loads(name, plan);
    }
}

#[test]
#[ignore = "needs root, unshare and nft: cargo xtask netfilter-host"]
fn diffs_apply_in_the_kernel() {
    let cidr = Options {
        cluster_cidrs: vec!["10.244.0.0/16".parse().expect("cidr")],
        ..Options::default()
    };
    // From node-2's view to node-1's of the source-range fixture, then to the traffic policy
    // fixture: elements move between sets, sets empty and fill.
    let a = nf_plan(
        "netfilter-03-source-ranges.yaml",
        Some("node-2"),
        &cidr,
        &[],
    );
    let b = nf_plan(
        "netfilter-03-source-ranges.yaml",
        Some("node-1"),
        &cidr,
        &[],
    );
    let c = nf_plan(
        "netfilter-02-traffic-policy.yaml",
        Some("node-1"),
        &cidr,
        &[],
    );
    let ab = diff(&a, &b);
    let bc = diff(&b, &c);
    let mut check = a.clone();
    apply(&mut check, &ab);
    assert_eq!(check, b);
    let dir = temp_dir("diff");
    std::fs::write(dir.join("hand.nft"), HAND_MADE).expect("write");
    std::fs::write(dir.join("a.nft"), netfilter::render::script(&a)).expect("write");
    std::fs::write(dir.join("ab.nft"), netfilter::render::ops(&ab)).expect("write");
    std::fs::write(dir.join("bc.nft"), netfilter::render::ops(&bc)).expect("write");
    let json = in_netns(
        &dir,
        "nft -f hand.nft; nft -f a.nft; nft -f ab.nft; nft -j list ruleset; echo '#'; \
         nft -f bc.nft; nft -j list ruleset",
    );
    let (after_ab, after_bc) = json.split_once("\n#\n").expect("two listings");
    for (got, want) in [(after_ab, &b), (after_bc, &c)] {
        let mut got = list(got);
        assert_eq!(got.others.len(), 1, "the hand-made table is untouched");
        got.others.clear();
        assert_eq!(got, expected(want));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `nft list ruleset` without comments (the agent does not send nft's comment user data).
const LIST: &str = "nft list ruleset | grep -v comment";

#[test]
#[ignore = "needs root, unshare and nft: cargo xtask netfilter-host"]
fn the_agent_programs_what_nft_loads() {
    let bin = env!("CARGO_BIN_EXE_svcroute");
    let fixtures = root().join("tests/fixtures");
    let f = |n: &str| fixtures.join(n).display().to_string();
    let dual = "--pod-cidr 10.244.0.0/16 --pod-cidr fd00:10:244::/56";
    // (name, flags of the first sync, flags of the second, files of the first, of the second,
    // whether the second is sent as a diff from the first)
    let p02 = f("netfilter-02-traffic-policy.yaml");
    let p05 = f("netfilter-05-hairpin-dual-stack.yaml");
    let cases = [
        // An endpoint moves, a policy flips: element changes only.
        (
            "02-diff",
            "--node node-1 --cluster-cidr 10.244.0.0/16".to_owned(),
            "--node node-1 --cluster-cidr 10.244.0.0/16".to_owned(),
            p02.clone(),
            "changed.yaml".to_owned(),
            true,
        ),
        // Other flags: the table is replaced.
        (
            "02-flags",
            "--node node-1".to_owned(),
            "--node node-1 --masquerade-all --iptables-masquerade-bit 5".to_owned(),
            p02.clone(),
            p02.clone(),
            false,
        ),
        (
            "05-dual-stack",
            format!("--node node-1 {dual}"),
            format!(
                "--node node-1 {dual} --cluster-cidr 10.244.0.0/16 --cluster-cidr fd00:10:244::/56"
            ),
            p05.clone(),
            p05.clone(),
            false,
        ),
        (
            "03",
            "--node node-2".to_owned(),
            "--node node-1".to_owned(),
            f("netfilter-03-source-ranges.yaml"),
            f("netfilter-03-source-ranges.yaml"),
            false,
        ),
    ];
    for (name, flags_a, flags_b, a, b, as_diff) in cases {
        let dir = temp_dir(&format!("agent-{name}"));
        std::fs::write(dir.join("hand.nft"), HAND_MADE).expect("write");
        let text = std::fs::read_to_string(&p02).expect("fixture");
        let changed = text
            .replace("10.244.1.5", "10.244.1.6")
            .replace(
                "externalTrafficPolicy: Local",
                "externalTrafficPolicy: Cluster",
            )
            .replace("healthCheckNodePort: 32000", "");
        std::fs::write(dir.join("changed.yaml"), changed).expect("write");
        let previous = if as_diff {
            format!("--previous {a}")
        } else {
            String::new()
        };
        let script = format!(
            "nft -f hand.nft; {bin} nft-sync -f {a} {flags_a} >/dev/null; \
             {bin} nft-sync -f {b} {flags_b} {previous} >/dev/null; {LIST} > agent.txt; \
             nft delete table ip svcroute; nft delete table ip6 svcroute 2>/dev/null || true; \
             {bin} plan -f {b} {flags_b} -o nftables-ipvs > b.nft; nft -f b.nft; {LIST} > nft.txt; \
             cat agent.txt; echo '#'; cat nft.txt"
        );
        let out = in_netns(&dir, &script);
        let (agent, nft) = out.split_once("\n#\n").expect("two listings");
        assert!(
            agent.contains("table ip other"),
            "{name}: the hand-made table is untouched"
        );
        assert!(agent.contains("table ip svcroute"), "{name}: programmed");
        assert_eq!(
            agent.trim_end(),
            nft.trim_end(),
            "{name}: the agent's tables differ from nft's"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Issue 7: a full sync (`nft-sync` without `--previous`, the agent's start and every
/// `--sync-period`) reads the kernel's tables back and sends only what differs: nothing when
/// they are as planned; an element deleted and one added by hand, one message each; a rule or
/// a set added by hand, the table replaced. After each the kernel holds exactly what `nft -f`
/// of the plan loads, and a table made by hand is untouched.
#[test]
#[ignore = "needs root, unshare and nft: cargo xtask netfilter-host"]
fn full_resync_sends_only_what_differs() {
    let bin = env!("CARGO_BIN_EXE_svcroute");
    let fixture = root().join("tests/fixtures/netfilter-05-hairpin-dual-stack.yaml");
    let pods = ["10.244.0.0/16", "fd00:10:244::/56"];
    let flags = format!(
        "--node node-1 --pod-cidr {} --pod-cidr {}",
        pods[0], pods[1]
    );
    let plan = nf_plan(
        "netfilter-05-hairpin-dual-stack.yaml",
        Some("node-1"),
        &Options::default(),
        &pods,
    );
    let v4 = plan.table(Family::V4).expect("an ip table");
    let Some(Element::AddrProtoPort(a, p, port)) = v4.elements(SetId::ClusterIp).next() else {
        panic!("a ClusterIP element")
    };
    let p = match p {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    };
    let dir = temp_dir("resync");
    std::fs::write(dir.join("hand.nft"), HAND_MADE).expect("write");
    let sync = format!("{bin} nft-sync -f {} {flags}", fixture.display());
    let script = format!(
        "nft -f hand.nft; {sync}; {sync}; \
         nft delete element ip svcroute cluster-ip '{{ {a} . {p} . {port} }}'; \
         nft add element ip svcroute cluster-ip '{{ 10.9.9.9 . tcp . 9 }}'; {sync}; \
         {LIST} > elements.txt; \
         nft add rule ip svcroute filter-input accept; {sync}; {LIST} > rule.txt; \
         nft add set ip6 svcroute extra '{{ type ipv4_addr; }}'; {sync}; {LIST} > set.txt; {sync}; \
         nft delete table ip svcroute; nft delete table ip6 svcroute; \
         {bin} plan -f {} {flags} -o nftables-ipvs > plan.nft; nft -f plan.nft; {LIST} > nft.txt",
        fixture.display()
    );
    let out = in_netns(&dir, &script);
    let messages: Vec<usize> = out
        .lines()
        .filter_map(|l| {
            l.strip_prefix("nft-sync: ")?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    let [created, noop, elements, rule, set, again] = messages[..] else {
        panic!("six syncs: {out}")
    };
    assert!(created > 100, "{out}");
    assert_eq!(noop, 0, "as planned: nothing sent");
    assert_eq!(elements, 4, "begin, one delete, one add, end");
    assert!(rule > 4 && set > 4, "replaced: {out}");
    assert_eq!(again, 0);
    let nft = std::fs::read_to_string(dir.join("nft.txt")).expect("listing");
    for step in ["elements.txt", "rule.txt", "set.txt"] {
        let agent = std::fs::read_to_string(dir.join(step)).expect("listing");
        assert!(
            agent.contains("table ip other"),
            "{step}: the hand-made table"
        );
        // A replaced table is listed after the others: compared table by table.
        let tables = |s: &str| -> BTreeSet<String> {
            s.trim_end()
                .split("\ntable ")
                .map(|t| t.trim_start_matches("table ").to_owned())
                .collect()
        };
        assert_eq!(
            tables(&agent),
            tables(&nft),
            "{step}: the agent's tables differ from nft's"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Connects from the client namespace with `python3`: prints `ok`, `refused` or `timeout`.
const CONNECT: &str = r#"connect() { ip netns exec client python3 -c '
import socket, sys
s = socket.socket(); s.settimeout(1.0); s.bind((sys.argv[1], 0))
try:
    s.connect((sys.argv[2], int(sys.argv[3]))); print("ok")
except ConnectionRefusedError: print("refused")
except OSError: print("timeout")
' "$@"; }"#;

/// A manifest for the traffic test: the node at 192.168.50.1, a LoadBalancer whose source
/// ranges admit 192.168.50.2 only.
const TRAFFIC: &str = "
apiVersion: v1
kind: Node
metadata: {name: node-1}
status: {addresses: [{type: InternalIP, address: 192.168.50.1}]}
---
apiVersion: v1
kind: Service
metadata: {name: fw}
spec:
  type: LoadBalancer
  allocateLoadBalancerNodePorts: false
  clusterIP: 10.96.0.30
  loadBalancerSourceRanges: [192.168.50.2/32]
  ports: [{port: 443}]
status: {loadBalancer: {ingress: [{ip: 198.51.100.9}]}}
";

/// Real connections through the filter rules, which need no IPVS: with the VIPs on the
/// node's loopback and listeners standing in for IPVS, KUBE-IPVS-FILTER refuses new
/// connections to a VIP port that is no Service (#72236) and KUBE-SOURCE-RANGES-FIREWALL
/// drops clients outside `loadBalancerSourceRanges`. Without the table all connect.
#[test]
#[ignore = "needs root, unshare and nft: cargo xtask netfilter-host"]
fn filters_with_traffic() {
    let bin = env!("CARGO_BIN_EXE_svcroute");
    let dir = temp_dir("traffic");
    std::fs::write(dir.join("m.yaml"), TRAFFIC).expect("write");
    let script = format!(
        r#"{CONNECT}
mount --make-rprivate /; mkdir -p /run/netns; mount -t tmpfs tmpfs /run/netns
ip link set lo up
ip netns add client
ip link add veth0 type veth peer name veth1 netns client
ip addr add 192.168.50.1/24 dev veth0; ip link set veth0 up
ip -n client link set lo up; ip -n client link set veth1 up
ip -n client addr add 192.168.50.2/24 dev veth1; ip -n client addr add 192.168.50.3/24 dev veth1
ip -n client route add default via 192.168.50.1
ip addr add 10.96.0.30/32 dev lo; ip addr add 198.51.100.9/32 dev lo
pids=""
for a in 10.96.0.30:22 10.96.0.30:443 198.51.100.9:443; do
  python3 -c 'import socket, sys, time
h, p = sys.argv[1].split(":"); s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((h, int(p))); s.listen(16); time.sleep(30)' $a & pids="$pids $!"
done
trap 'kill $pids 2>/dev/null' EXIT
sleep 0.5
check() {{ echo "$1 $(connect 192.168.50.2 10.96.0.30 22) $(connect 192.168.50.2 10.96.0.30 443) $(connect 192.168.50.2 198.51.100.9 443) $(connect 192.168.50.3 198.51.100.9 443)"; }}
check without
{bin} plan -f m.yaml -o nftables-ipvs > t.nft; nft -f t.nft
check with
"#
    );
    let out = in_netns_mount(&dir, &script);
    assert_eq!(
        out,
        "without ok ok ok ok\n\
         with refused ok ok timeout\n",
        "columns: VIP:22 (no Service), ClusterIP:443, LB from inside the ranges, LB from outside"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// [`in_netns`] with a private mount namespace too (for `ip netns`).
fn in_netns_mount(dir: &Path, script: &str) -> String {
    let out = Command::new("unshare")
        .args(["-n", "-m", "sh", "-euc", script])
        .current_dir(dir)
        .output()
        .expect("unshare runs");
    assert!(
        out.status.success(),
        "script failed\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Issue 10, conntrack cleanup on the host's kernel (ctnetlink in a network namespace): entries
/// made with `conntrack -I`, then `svcroute conntrack-clean` (the agent's cleanup, once) with
/// the after state of `tests/fixtures/conntrack-01-udp-endpoint-gone.yaml`. kube-proxy's
/// reconciler deletes exactly the UDP entries sent to a frontend (ClusterIP, externalIP, LB
/// IP, any address's NodePort) and answered by an endpoint that no longer serves; the
/// serving and the terminating-but-serving endpoints' entries, TCP, and another port stay.
#[test]
#[ignore = "needs root, unshare and conntrack: cargo xtask netfilter-host"]
fn conntrack_cleanup_deletes_only_stale_udp_entries() {
    let bin = env!("CARGO_BIN_EXE_svcroute");
    let to = root().join("tests/fixtures/diff/conntrack-01-udp-endpoint-gone-to.yaml");
    // (client source port, protocol, original destination, port, reply source, deleted?)
    let entries = [
        (40001, "udp", "10.96.0.10", 53, "10.244.2.6", true),
        (40002, "udp", "10.96.0.10", 53, "10.244.3.7", true),
        (40003, "udp", "10.96.0.10", 53, "10.244.1.5", false),
        (40004, "udp", "10.96.0.10", 53, "10.244.4.8", false),
        (40005, "udp", "192.0.2.50", 53, "10.244.2.6", true),
        (40006, "udp", "198.51.100.10", 53, "10.244.3.7", true),
        (40007, "udp", "192.0.2.1", 30053, "10.244.2.6", true),
        (40008, "tcp", "10.96.0.10", 53, "10.244.2.6", false),
        (40009, "udp", "10.96.0.10", 54, "10.244.2.6", false),
    ];
    let mut script = String::new();
    for (sport, proto, dst, dport, reply, _) in entries {
        let state = if proto == "tcp" {
            " --state ESTABLISHED"
        } else {
            ""
        };
        script.push_str(&format!(
            "conntrack -I -p {proto}{state} -t 120 -s 10.1.0.2 -d {dst} --sport {sport} \
             --dport {dport} -r {reply} -q 10.1.0.2 --reply-port-src 5353 \
             --reply-port-dst {sport} >/dev/null 2>&1\n"
        ));
    }
    script.push_str(&format!(
        "{bin} conntrack-clean -f {} >&2\nconntrack -L 2>/dev/null\n",
        to.display()
    ));
    let dir = temp_dir("conntrack");
    let listed = in_netns(&dir, &script);
    let left: BTreeSet<u16> = listed
        .lines()
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("sport="))
                .and_then(|p| p.parse().ok())
        })
        .collect();
    let want: BTreeSet<u16> = entries.iter().filter(|e| !e.5).map(|e| e.0).collect();
    assert_eq!(left, want, "{listed}");
    let _ = std::fs::remove_dir_all(dir);
}
