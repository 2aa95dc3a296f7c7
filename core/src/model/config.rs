//! The cluster's settings that are not in the manifests: address ranges, the cluster domain,
//! the IPVS scheduler and the seed that stands in for randomness.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::diag::Msg;
use crate::model::Family;

/// An IPVS scheduler, by the kernel module's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Scheduler {
    /// Round robin (`rr`, kube-proxy's default).
    #[default]
    RoundRobin,
    /// Weighted round robin (`wrr`).
    WeightedRoundRobin,
    /// Least connections (`lc`).
    LeastConnection,
    /// Weighted least connections (`wlc`).
    WeightedLeastConnection,
    /// Shortest expected delay (`sed`).
    ShortestExpectedDelay,
    /// Never queue (`nq`).
    NeverQueue,
    /// Source hashing (`sh`).
    SourceHashing,
    /// Destination hashing (`dh`).
    DestinationHashing,
    /// Maglev hashing (`mh`, with kube-proxy's `mh-port` flag).
    Maglev,
    /// Locality-based least connections (`lblc`): programmed, not simulated.
    LocalityLeastConnection,
    /// Locality-based least connections with replication (`lblcr`): programmed, not simulated.
    LocalityLeastConnectionReplication,
    /// Weighted failover (`fo`): programmed, not simulated.
    Failover,
    /// Weighted overflow (`ovf`): programmed, not simulated.
    Overflow,
    /// Weighted random twos choice (`twos`): programmed, not simulated.
    RandomTwos,
}

impl Scheduler {
    /// Every scheduler, in the order `ipvsadm(8)` lists them.
    pub const ALL: [Scheduler; 14] = [
        Scheduler::RoundRobin,
        Scheduler::WeightedRoundRobin,
        Scheduler::LeastConnection,
        Scheduler::WeightedLeastConnection,
        Scheduler::LocalityLeastConnection,
        Scheduler::LocalityLeastConnectionReplication,
        Scheduler::DestinationHashing,
        Scheduler::SourceHashing,
        Scheduler::ShortestExpectedDelay,
        Scheduler::NeverQueue,
        Scheduler::Failover,
        Scheduler::Overflow,
        Scheduler::Maglev,
        Scheduler::RandomTwos,
    ];

    /// The kernel's name (`rr`, `wrr`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Scheduler::RoundRobin => "rr",
            Scheduler::WeightedRoundRobin => "wrr",
            Scheduler::LeastConnection => "lc",
            Scheduler::WeightedLeastConnection => "wlc",
            Scheduler::ShortestExpectedDelay => "sed",
            Scheduler::NeverQueue => "nq",
            Scheduler::SourceHashing => "sh",
            Scheduler::DestinationHashing => "dh",
            Scheduler::Maglev => "mh",
            Scheduler::LocalityLeastConnection => "lblc",
            Scheduler::LocalityLeastConnectionReplication => "lblcr",
            Scheduler::Failover => "fo",
            Scheduler::Overflow => "ovf",
            Scheduler::RandomTwos => "twos",
        }
    }

    /// The scheduler flags kube-proxy sets with it, in ipvsadm's words: `mh-port` for `mh`
    /// (kube-proxy's `FlagSourceHash` = `IP_VS_SVC_F_SCHED2`: source address *and* port are
    /// hashed, no fallback; `pkg/proxy/ipvs/proxier.go`). None for every other scheduler.
    pub fn kube_proxy_flag(self) -> Option<&'static str> {
        match self {
            Scheduler::Maglev => Some("mh-port"),
            _ => None,
        }
    }

    /// Parses the kernel's name.
    pub fn parse(s: &str) -> Option<Self> {
        Scheduler::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether [`crate::sim`] can simulate its choices exactly.
    pub fn is_simulated(self) -> bool {
        matches!(
            self,
            Scheduler::RoundRobin
                | Scheduler::WeightedRoundRobin
                | Scheduler::LeastConnection
                | Scheduler::WeightedLeastConnection
                | Scheduler::ShortestExpectedDelay
                | Scheduler::NeverQueue
                | Scheduler::SourceHashing
                | Scheduler::DestinationHashing
                | Scheduler::Maglev
        )
    }
}

impl core::str::FromStr for Scheduler {
    type Err = String;

    /// The kernel's name, with the list of names when unknown.
    fn from_str(s: &str) -> Result<Self, String> {
        Scheduler::parse(s).ok_or_else(|| {
            let names: Vec<&str> = Scheduler::ALL.iter().map(|s| s.as_str()).collect();
            alloc::format!("unknown IPVS scheduler {s:?}; one of: {}", names.join(", "))
        })
    }
}

/// Parses a port range written `LOW-HIGH` (`--service-node-port-range`).
pub fn parse_port_range(s: &str) -> Result<(u16, u16), String> {
    use alloc::format;
    let (lo, hi) = s
        .split_once('-')
        .ok_or_else(|| format!("{s:?}: expected LOW-HIGH, e.g. 30000-32767"))?;
    let lo: u16 = lo
        .trim()
        .parse()
        .map_err(|_| format!("{lo:?} is not a port"))?;
    let hi: u16 = hi
        .trim()
        .parse()
        .map_err(|_| format!("{hi:?} is not a port"))?;
    if lo == 0 || lo > hi {
        return Err(format!("{s:?}: LOW must be between 1 and HIGH"));
    }
    Ok((lo, hi))
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The settings as a user gives them (the CLI's flags, the JS API's options), before defaults.
/// [`Settings::to_config`] is the one place that applies the defaults, so every front end
/// builds the same [`Config`] from the same choices.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// `--service-cidr`; empty: follow the pod CIDRs' families.
    pub service_cidrs: Vec<IpNet>,
    /// `--pod-cidr`; empty: `10.244.0.0/16`.
    pub pod_cidrs: Vec<IpNet>,
    /// `--node-port-range`.
    pub node_port_range: Option<(u16, u16)>,
    /// `--ipvs-scheduler`.
    pub scheduler: Option<Scheduler>,
    /// `--cluster-domain` (a trailing dot is dropped).
    pub cluster_domain: Option<String>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--nodes`: Nodes to make when the manifests have none (at least 1).
    pub nodes: Option<u32>,
}

impl Settings {
    /// The configuration these settings describe, checked.
    pub fn to_config(&self) -> Result<Config, String> {
        let mut c = Config::default();
        if !self.pod_cidrs.is_empty() {
            c.pod_cidrs = self.pod_cidrs.iter().map(IpNet::trunc).collect();
        }
        // Without service CIDRs the cluster serves the pod CIDRs' families: IPv4 by default,
        // dual-stack when IPv4 and IPv6 pod CIDRs are given.
        c.service_cidrs = if self.service_cidrs.is_empty() {
            Config::service_cidrs_for_pods(&c.pod_cidrs)
        } else {
            self.service_cidrs.iter().map(IpNet::trunc).collect()
        };
        if let Some(r) = self.node_port_range {
            c.node_port_range = r;
        }
        if let Some(s) = self.scheduler {
            c.scheduler = s;
        }
        if let Some(d) = &self.cluster_domain {
            c.cluster_domain = d.trim_end_matches('.').into();
        }
        c.seed = self.seed.unwrap_or(0);
        c.cidrs_from_defaults = self.service_cidrs.is_empty() && self.pod_cidrs.is_empty();
        c.synthesized_nodes = self.nodes.unwrap_or(c.synthesized_nodes).max(1);
        c.validate()
            .map_err(|m| alloc::string::ToString::to_string(&m))?;
        Ok(c)
    }
}

/// The most Nodes `--nodes` (JS `nodes`) may ask for: Kubernetes' scalability limit of 5,000
/// Nodes per cluster. Without a limit, `--nodes 4294967295` asked for a 103 GB allocation.
pub const MAX_NODES: u32 = 5_000;

/// Settings of the cluster and of the proxy, with kubeadm's and kube-proxy's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Service CIDRs, primary family first (`--service-cluster-ip-range`).
    pub service_cidrs: Vec<IpNet>,
    /// Pod CIDRs, split into per-node ranges for synthesized Pods (`--cluster-cidr`).
    pub pod_cidrs: Vec<IpNet>,
    /// The NodePort range, inclusive (`--service-node-port-range`).
    pub node_port_range: (u16, u16),
    /// The cluster DNS domain.
    pub cluster_domain: String,
    /// The IPVS scheduler (`--ipvs-scheduler`).
    pub scheduler: Scheduler,
    /// The seed for everything that would be random in a real cluster (Pod name suffixes,
    /// dynamically allocated ClusterIPs and NodePorts).
    pub seed: u64,
    /// How many Nodes to make when the input has none.
    pub synthesized_nodes: u32,
    /// No CIDR was chosen (no `--service-cidr`, no `--pod-cidr`): when the input shows
    /// addresses of both families, the cluster is made dual-stack as the input shows it
    /// ([`Config::follow_input_families`]).
    pub cidrs_from_defaults: bool,
    /// The most virtual servers and real servers a node's plan holds
    /// ([`crate::plan::MAX_NODE_RULES`]; lower only in tests).
    pub max_node_rules: crate::plan::Rules,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            // kubeadm's service subnet: a single-stack IPv4 cluster.
            service_cidrs: vec![Config::default_service_cidr(Family::V4)],
            pod_cidrs: vec![IpNet::V4(Ipv4Net::new_assert(
                Ipv4Addr::new(10, 244, 0, 0),
                16,
            ))],
            node_port_range: (30000, 32767),
            cluster_domain: "cluster.local".into(),
            scheduler: Scheduler::RoundRobin,
            seed: 0,
            synthesized_nodes: 2,
            cidrs_from_defaults: true,
            max_node_rules: crate::plan::MAX_NODE_RULES,
        }
    }
}

impl Config {
    /// The default service CIDR of a family: kubeadm's `10.96.0.0/12`, and `fd00:10:96::/112`
    /// for IPv6 (single-stack IPv6 or the second family of a dual-stack cluster).
    pub fn default_service_cidr(family: Family) -> IpNet {
        match family {
            Family::V4 => IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::new(10, 96, 0, 0), 12)),
            Family::V6 => IpNet::V6(Ipv6Net::new_assert(
                core::net::Ipv6Addr::new(0xfd00, 0x10, 0x96, 0, 0, 0, 0, 0),
                112,
            )),
        }
    }

    /// The default pod CIDR of a family: `10.244.0.0/16` (flannel's, kubeadm guides') and kind's
    /// `fd00:10:244::/56` for IPv6.
    pub fn default_pod_cidr(family: Family) -> IpNet {
        match family {
            Family::V4 => IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::new(10, 244, 0, 0), 16)),
            Family::V6 => IpNet::V6(Ipv6Net::new_assert(
                core::net::Ipv6Addr::new(0xfd00, 0x10, 0x244, 0, 0, 0, 0, 0),
                56,
            )),
        }
    }

    /// When no CIDR was chosen and the input shows addresses of both families (Services'
    /// `clusterIPs`, Pods' `podIPs`, Nodes' `podCIDRs`), makes the cluster dual-stack as
    /// `kubectl get -o yaml` of a dual-stack cluster shows it: the family of the first written
    /// ClusterIP (`default/kubernetes`'s when present) is primary, the other family gets the
    /// default range, or the smallest range around the input's ClusterIPs of that family
    /// when they lie outside it. Returns the warning that says so.
    pub fn follow_input_families(&mut self, objects: &crate::model::Objects) -> Option<Msg> {
        use alloc::format;
        if !self.cidrs_from_defaults || self.families().len() > 1 {
            return None;
        }
        let mut seen: Vec<Family> = Vec::new();
        let mut note = |f: Family| {
            if !seen.contains(&f) {
                seen.push(f);
            }
        };
        for s in &objects.services {
            s.cluster_ips.iter().for_each(|ip| note(Family::of(ip)));
        }
        for p in &objects.pods {
            p.ips.iter().for_each(|ip| note(Family::of(ip)));
        }
        for n in &objects.nodes {
            n.pod_cidrs.iter().for_each(|c| note(Family::of_net(c)));
        }
        if seen.len() < 2 {
            return None;
        }
        let kubernetes = objects
            .services
            .iter()
            .find(|s| s.meta.id.namespace == "default" && s.meta.id.name == "kubernetes")
            .and_then(|s| s.cluster_ips.first());
        let primary = kubernetes
            .or_else(|| objects.services.iter().find_map(|s| s.cluster_ips.first()))
            .map_or(self.families()[0], Family::of);
        let other = if primary == Family::V4 {
            Family::V6
        } else {
            Family::V4
        };
        let range_for = |f: Family| -> IpNet {
            let default = Config::default_service_cidr(f);
            let ips: Vec<IpAddr> = objects
                .services
                .iter()
                .flat_map(|s| s.cluster_ips.iter().copied())
                .filter(|ip| Family::of(ip) == f)
                .collect();
            if ips.iter().all(|ip| default.contains(ip)) {
                return default;
            }
            // The smallest prefix holding them all, no larger than the API server allows.
            let first = ips[0];
            let max = default.max_prefix_len();
            let min = max.saturating_sub(MAX_SERVICE_CIDR_HOST_BITS);
            let mut len = max.saturating_sub(2);
            while len > min {
                let net = IpNet::new(first, len).map(|n| n.trunc());
                if net.is_ok_and(|n| ips.iter().all(|ip| n.contains(ip))) {
                    break;
                }
                len -= 1;
            }
            IpNet::new(first, len).map_or(default, |n| n.trunc())
        };
        let current = self.service_cidrs[0];
        self.service_cidrs = if Family::of_net(&current) == primary {
            alloc::vec![current, range_for(other)]
        } else {
            alloc::vec![range_for(primary), current]
        };
        if !self.pod_cidrs.iter().any(|c| Family::of_net(c) == other) {
            self.pod_cidrs.push(Config::default_pod_cidr(other));
        }
        let show = |nets: &[IpNet]| -> String {
            nets.iter()
                .map(|n| format!("{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Some(crate::msg!(
            "the input shows IPv4 and IPv6 addresses and no --service-cidr or --pod-cidr was given: \
             modelling a dual-stack cluster (service CIDRs {}; pod CIDRs {}); pass --service-cidr \
             and --pod-cidr to set them",
            show(&self.service_cidrs),
            show(&self.pod_cidrs)
        ))
    }

    /// Service CIDRs that follow the pod CIDRs' families (in their order), as a cluster set up
    /// with kubeadm's defaults for those families would have.
    pub fn service_cidrs_for_pods(pod_cidrs: &[IpNet]) -> Vec<IpNet> {
        let mut out: Vec<IpNet> = Vec::new();
        for p in pod_cidrs {
            let c = Config::default_service_cidr(Family::of_net(p));
            if !out.contains(&c) {
                out.push(c);
            }
        }
        if out.is_empty() {
            out.push(Config::default_service_cidr(Family::V4));
        }
        out
    }

    /// The service CIDR of a family, if the cluster has one.
    pub fn service_cidr(&self, family: Family) -> Option<&IpNet> {
        self.service_cidrs
            .iter()
            .find(|n| Family::of_net(n) == family)
    }

    /// The families the cluster serves, primary first.
    pub fn families(&self) -> Vec<Family> {
        let mut out: Vec<Family> = Vec::new();
        for n in &self.service_cidrs {
            let f = Family::of_net(n);
            if !out.contains(&f) {
                out.push(f);
            }
        }
        out
    }

    /// The address synthesized Node `index` (0-based) gets: 172.18.0.2, .3, … as kind gives them.
    pub fn synthesized_node_address(index: u32) -> IpAddr {
        let n = 2 + index;
        IpAddr::V4(Ipv4Addr::new(
            172,
            18,
            ((n >> 8) & 0xff) as u8,
            (n & 0xff) as u8,
        ))
    }

    /// Checks the settings themselves (ranges non-empty, families not repeated).
    /// The error is structured (a front end translates it; its English is the CLI's).
    pub fn validate(&self) -> Result<(), Msg> {
        if self.service_cidrs.is_empty() {
            return Err(crate::msg!("at least one service CIDR is needed"));
        }
        if self.service_cidrs.len() > 2
            || (self.service_cidrs.len() == 2
                && Family::of_net(&self.service_cidrs[0]) == Family::of_net(&self.service_cidrs[1]))
        {
            return Err(crate::msg!("service CIDRs: at most one per IP family"));
        }
        for n in &self.service_cidrs {
            let host_bits = n.max_prefix_len() - n.prefix_len();
            if host_bits < 2 {
                return Err(crate::msg!("service CIDR {} is too small", n));
            }
            // kube-apiserver's validateMaxCIDRRange (maxCIDRBits = 20).
            if host_bits > MAX_SERVICE_CIDR_HOST_BITS {
                return Err(crate::msg!(
                    "--service-cidr {}: specified --service-cluster-ip-range is too large; for {}-bit addresses, the mask must be >= {}",
                    n,
                    n.max_prefix_len(),
                    n.max_prefix_len() - MAX_SERVICE_CIDR_HOST_BITS
                ));
            }
            if let Some(why) = special_range(n) {
                return Err(crate::msg!(
                    "--service-cidr {}: overlaps {}: ClusterIPs there would be bound on kube-ipvs0",
                    n,
                    why
                ));
            }
        }
        for n in &self.pod_cidrs {
            if let Some(why) = special_range(n) {
                return Err(crate::msg!(
                    "--pod-cidr {}: overlaps {}: Pods cannot have such addresses",
                    n,
                    why
                ));
            }
        }
        if self.pod_cidrs.len() > 2
            || (self.pod_cidrs.len() == 2
                && Family::of_net(&self.pod_cidrs[0]) == Family::of_net(&self.pod_cidrs[1]))
        {
            return Err(crate::msg!("pod CIDRs: at most one per IP family"));
        }
        if let Err(msg) = crate::validation::dns1123_subdomain(&self.cluster_domain) {
            return Err(crate::msg!(
                "--cluster-domain {}: must be a DNS subdomain: {}",
                alloc::format!("{:?}", self.cluster_domain),
                msg
            ));
        }
        let (lo, hi) = self.node_port_range;
        if lo == 0 || lo > hi {
            return Err(crate::msg!("node port range {}-{} is empty", lo, hi));
        }
        if self.synthesized_nodes > MAX_NODES {
            return Err(crate::msg!(
                "nodes: {} is more than {}, the most Nodes a Kubernetes cluster is \
                 tested with (the limit of the synthesized cluster)",
                self.synthesized_nodes,
                MAX_NODES
            ));
        }
        Ok(())
    }
}

/// kube-apiserver's `maxCIDRBits`: a service range holds at most 2^20 addresses.
pub const MAX_SERVICE_CIDR_HOST_BITS: u8 = 20;

/// The address ranges no ClusterIP or Pod address may fall in: unspecified ("this network"),
/// loopback, link-local, multicast and (IPv4) reserved/broadcast.
fn special_range(net: &IpNet) -> Option<&'static str> {
    const V4: [(&str, [u8; 4], u8); 5] = [
        ("0.0.0.0/8 (this network)", [0, 0, 0, 0], 8),
        ("127.0.0.0/8 (loopback)", [127, 0, 0, 0], 8),
        ("169.254.0.0/16 (link-local)", [169, 254, 0, 0], 16),
        ("224.0.0.0/4 (multicast)", [224, 0, 0, 0], 4),
        ("240.0.0.0/4 (reserved, broadcast)", [240, 0, 0, 0], 4),
    ];
    const V6: [(&str, u16, u8); 3] = [
        ("::/8 (unspecified, loopback, IPv4-mapped)", 0, 8),
        ("fe80::/10 (link-local)", 0xfe80, 10),
        ("ff00::/8 (multicast)", 0xff00, 8),
    ];
    let overlaps = |other: IpNet| net.contains(&other) || other.contains(net);
    match net {
        IpNet::V4(_) => V4.iter().find_map(|(name, a, len)| {
            let other = IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::from(*a), *len));
            overlaps(other).then_some(*name)
        }),
        IpNet::V6(_) => V6.iter().find_map(|(name, first, len)| {
            let addr = core::net::Ipv6Addr::new(*first, 0, 0, 0, 0, 0, 0, 0);
            let other = IpNet::V6(Ipv6Net::new_assert(addr, *len));
            overlaps(other).then_some(*name)
        }),
    }
}

/// The longest simulated time a `route` request may span, in seconds (a year): the
/// simulator's clock is in milliseconds, and intervals beyond this would saturate it.
pub const MAX_SIMULATED_SECONDS: f64 = 31_536_000.0;

/// Seconds given on the command line or to the JS API (`--interval`) as simulated
/// milliseconds: a finite number from 0 to [`MAX_SIMULATED_SECONDS`].
pub fn simulated_ms(flag: &str, seconds: f64) -> Result<u64, String> {
    if !(seconds.is_finite() && seconds >= 0.0) {
        return Err(alloc::format!(
            "{flag} must be a number of seconds >= 0, not {seconds}"
        ));
    }
    if seconds > MAX_SIMULATED_SECONDS {
        return Err(alloc::format!(
            "{flag} {seconds} is too large: at most {MAX_SIMULATED_SECONDS} seconds (a year of simulated time)"
        ));
    }
    // In range: at most 3.2e10 ms, exact in f64 and far from u64::MAX; adding a half and
    // truncating rounds a non-negative number as `f64::round` (not in `core`) does.
    Ok((seconds * 1000.0 + 0.5) as u64)
}

impl serde::Serialize for Scheduler {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
