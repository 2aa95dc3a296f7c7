//! The command line, parsed without I/O. This is a public contract: `plan` and `route`, their
//! flags and their JSON are driven by other tools. Extend it; never break it silently.

use std::net::IpAddr;

use anyhow::{Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;
use svcroute_core::config::{Config, Scheduler, Settings};
use svcroute_core::model::Protocol;
use svcroute_core::modes::ProxyMode;
use svcroute_core::route::Request;

/// Kubernetes Service L4 routing: what kube-proxy's IPVS mode programs, planned and simulated.
#[derive(Debug, Parser)]
#[command(name = "svcroute", version, about, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the IPVS rules and DNS records a node would hold for the manifests.
    Plan(PlanArgs),
    /// Simulate connections to an address or a cluster DNS name and show where they go.
    Route(RouteArgs),
    /// Print the operations that take a node from one set of manifests to another (what the
    /// agent would send, `--dry-run` words).
    Diff(DiffArgs),
    /// Program this node's IPVS table and dummy interface from the manifests, continuously
    /// (the node agent, in place of kube-proxy's IPVS mode).
    Agent(AgentArgs),
    /// Program this node's nftables tables (`ip svcroute`, `ip6 svcroute`) once over netlink,
    /// in one NFNL batch, and print what it cost (the agent's netfilter half, for tests).
    #[command(hide = true)]
    NftSync(NftSyncArgs),
    /// Delete the conntrack entries the manifests' UDP Services call stale, once, and print
    /// what it cost (the agent's conntrack cleanup, for tests).
    #[command(hide = true)]
    ConntrackClean(ManifestArgs),
}

/// `svcroute nft-sync`.
#[derive(Debug, Args)]
pub struct NftSyncArgs {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    #[command(flatten)]
    pub netfilter: NetfilterArgs,
    /// Manifests the kernel's tables were last programmed from: send only the difference
    /// (set elements) instead of replacing the tables.
    #[arg(long, value_name = "PATH")]
    pub previous: Vec<String>,
}

/// Reading manifests and describing the cluster.
#[derive(Clone, Debug, Args)]
pub struct ManifestArgs {
    /// A manifest file, a directory (every .yaml, .yml and .json in it), or - for stdin.
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    pub files: Vec<String>,
    /// Read the live cluster from the API server of this kubeconfig instead of -f (one list of
    /// Services, EndpointSlices and Nodes; the slices are taken as given). For `agent`: follow
    /// it. Without -f, --kubeconfig and --master, `agent` uses the in-cluster config.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The API server's address (overrides the kubeconfig's).
    #[arg(long, value_name = "URL")]
    pub master: Option<String>,
    /// Whose view: NodePort addresses and traffic policies (default: the first Node by name).
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Service CIDR, repeatable for dual-stack (default 10.96.0.0/12, plus fd00:10:96::/112 when
    /// an IPv6 --pod-cidr is given).
    #[arg(long = "service-cidr", value_name = "CIDR")]
    pub service_cidrs: Vec<IpNet>,
    /// Pod CIDR for Pods made from workloads, repeatable (default 10.244.0.0/16).
    #[arg(long = "pod-cidr", value_name = "CIDR")]
    pub pod_cidrs: Vec<IpNet>,
    /// NodePort range (default 30000-32767).
    #[arg(long = "node-port-range", value_name = "LOW-HIGH", value_parser = parse_range)]
    pub node_port_range: Option<(u16, u16)>,
    /// IPVS scheduler: rr, wrr, lc, wlc, sed, nq, sh, dh (simulated); mh, lblc, lblcr, fo, ovf, twos.
    #[arg(long = "ipvs-scheduler", alias = "scheduler", value_name = "NAME", value_parser = parse_scheduler)]
    pub scheduler: Option<Scheduler>,
    /// Cluster DNS domain.
    #[arg(
        long = "cluster-domain",
        value_name = "DOMAIN",
        default_value = "cluster.local"
    )]
    pub cluster_domain: String,
    /// Seed for what a real cluster would pick at random (Pod names, dynamic ClusterIPs).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// How many Nodes to make when the manifests have none.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub nodes: u32,
}

impl ManifestArgs {
    /// The core's configuration from the flags.
    pub fn config(&self) -> Result<Config> {
        let settings = Settings {
            service_cidrs: self.service_cidrs.clone(),
            pod_cidrs: self.pod_cidrs.clone(),
            node_port_range: self.node_port_range,
            scheduler: self.scheduler,
            cluster_domain: Some(self.cluster_domain.clone()),
            seed: Some(self.seed),
            nodes: Some(self.nodes),
        };
        settings.to_config().map_err(anyhow::Error::msg)
    }
}

/// `svcroute plan`.
#[derive(Debug, Args)]
#[command(mut_arg("files", |a| a.required_unless_present_any(["kubeconfig", "master"])))]
pub struct PlanArgs {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    #[command(flatten)]
    pub netfilter: NetfilterArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = PlanFormat::Table)]
    pub output: PlanFormat,
}

/// kube-proxy's flags for the netfilter half of its IPVS mode (`plan -o nftables-ipvs`, agent).
#[derive(Debug, Args)]
pub struct NetfilterArgs {
    /// SNAT all traffic sent to ClusterIPs (kube-proxy `--masquerade-all`).
    #[arg(long)]
    pub masquerade_all: bool,
    /// The cluster's Pod range: traffic to a ClusterIP from outside it is masqueraded.
    /// Repeatable or comma-separated, at most one per IP family (kube-proxy `--cluster-cidr`).
    #[arg(long = "cluster-cidr", value_name = "CIDR", value_delimiter = ',')]
    pub cluster_cidrs: Vec<IpNet>,
    /// NodePorts only on node addresses in these ranges (kube-proxy `--nodeport-addresses`;
    /// default: every node address). Repeatable or comma-separated.
    #[arg(
        long = "nodeport-addresses",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    pub nodeport_addresses: Vec<IpNet>,
    /// The packet mark bit meaning "masquerade me", 0-31 (kube-proxy
    /// `--iptables-masquerade-bit`).
    #[arg(
        long = "iptables-masquerade-bit",
        value_name = "BIT",
        default_value_t = 14
    )]
    pub masquerade_bit: u8,
}

impl NetfilterArgs {
    /// The core's options from the flags, checked.
    pub fn options(&self) -> Result<svcroute_core::netfilter::Options> {
        let o = svcroute_core::netfilter::Options {
            masquerade_all: self.masquerade_all,
            cluster_cidrs: self.cluster_cidrs.clone(),
            masquerade_bit: self.masquerade_bit,
        };
        o.validate()?;
        Ok(o)
    }
}

/// `plan -o`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PlanFormat {
    /// Like `ipvsadm -Ln`, then the DNS records.
    Table,
    /// One JSON object.
    Json,
    /// `ipvsadm -S -n` rules, which `ipvsadm -R` accepts.
    Ipvsadm,
    /// kube-proxy's iptables mode: `iptables-save` of the node (`iptables-restore` accepts it).
    Iptables,
    /// kube-proxy's nftables mode: the ruleset, which `nft -f` accepts.
    Nftables,
    /// The agent's nftables tables (`ip svcroute`, `ip6 svcroute`: the netfilter half of
    /// kube-proxy's IPVS mode) as `nft -f` input.
    NftablesIpvs,
    /// What the seed notes look at with kubectl, per namespace: `get svc`, `describe svc`,
    /// `get endpoints`, `get endpointslices`, `get pods -o wide`.
    Kubectl,
}

/// `svcroute diff`.
#[derive(Debug, Args)]
#[command(mut_arg("files", |a| a.required(false).hide(true)))]
pub struct DiffArgs {
    /// The manifests the node is programmed from now (files, directories, - for stdin).
    #[arg(long, value_name = "PATH", required = true, num_args = 1..)]
    pub from: Vec<String>,
    /// The manifests to move to.
    #[arg(long, value_name = "PATH", required = true, num_args = 1..)]
    pub to: Vec<String>,
    /// Plan flags (`-f` is not used: the inputs are --from and --to).
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = DiffFormat::Ipvsadm)]
    pub output: DiffFormat,
}

/// `diff -o`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DiffFormat {
    /// One operation per line in `ipvsadm` and `ip addr` words, as `agent --dry-run` prints.
    Ipvsadm,
    /// A JSON array of operations (`{"op": "addRealServer", …}`).
    Json,
    /// The stale UDP conntrack entries the change calls for deleting (kube-proxy's conntrack
    /// reconciler: an endpoint that stopped serving a UDP frontend), one `conntrack -D`
    /// command line per filter.
    Conntrack,
}

/// `svcroute route`.
#[derive(Debug, Args)]
#[command(mut_arg("files", |a| a.required_unless_present_any(["kubeconfig", "master"])))]
pub struct RouteArgs {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// HOST:PORT: a virtual server's address or a cluster DNS name.
    #[arg(long, value_name = "HOST:PORT")]
    pub to: String,
    /// Client address, optionally with its source port (IP, IP:PORT, [IPv6]:PORT),
    /// repeatable: connection i comes from the i-th, cycling. Without a port, ports come from
    /// a sequence seeded by --seed.
    #[arg(long, value_name = "IP[:PORT]", value_parser = parse_source)]
    pub from: Vec<(IpAddr, Option<u16>)>,
    /// How many connections.
    #[arg(long, default_value_t = 1)]
    pub count: u32,
    /// Simulated seconds between connections.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0)]
    pub interval: f64,
    /// How long each connection stays open, in simulated seconds; then it closes and
    /// expires as IPVS's timeouts say (TCP TIME_WAIT 120 s, UDP 300 s). Default: open for
    /// the whole run.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// L4 protocol.
    #[arg(long, value_name = "TCP|UDP|SCTP", default_value = "TCP", value_parser = parse_protocol)]
    pub protocol: Protocol,
    /// The client Pod's namespace, for DNS search paths.
    #[arg(long, short = 'n', default_value = "default")]
    pub namespace: String,
    /// Where the clients are: pod (in a Pod on --node), node (on --node itself) or outside
    /// (a machine outside the cluster: a ClusterIP or cluster DNS name is refused, a NodePort
    /// or load balancer IP is reached). With it, each connection reports `snat`, the source
    /// address the Pod sees when kube-proxy masquerades.
    #[arg(long = "client-location", value_name = "pod|node|outside")]
    pub client_location: Option<svcroute_core::route::ClientLocation>,
    /// Which kube-proxy mode chooses the backend: ipvs (the --ipvs-scheduler), iptables
    /// (random cascade), nftables (numgen random), userspace (round robin).
    #[arg(long = "proxy-mode", value_name = "MODE", default_value = "ipvs",
          value_parser = parse_proxy_mode)]
    pub proxy_mode: ProxyMode,
    /// A Pod (`namespace/name`) or endpoint (`IP`, `IP:PORT`) whose process refuses
    /// connections while it stays Ready (repeatable): IPVS, iptables and nftables send the
    /// connection there and the client is refused; userspace retries another endpoint.
    #[arg(long, value_name = "POD|IP[:PORT]")]
    pub refusing: Vec<String>,
    /// Report the rule lines each connection passed (`rules` in the JSON), as the mode's
    /// rendering prints them (`plan -o ipvsadm|iptables|nftables`).
    #[arg(long = "trace-rules")]
    pub trace_rules: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = RouteFormat::Table)]
    pub output: RouteFormat,
}

impl RouteArgs {
    /// The core's request from the flags.
    pub fn request(&self) -> Result<Request> {
        let interval_ms = svcroute_core::config::simulated_ms("--interval", self.interval)
            .map_err(anyhow::Error::msg)?;
        let duration_ms = self
            .duration
            .map(|d| svcroute_core::config::simulated_ms("--duration", d))
            .transpose()
            .map_err(anyhow::Error::msg)?;
        if self.count > 1_000_000 {
            bail!("--count {} is too large (at most 1000000)", self.count);
        }
        let mut r = Request {
            to: self.to.clone(),
            count: self.count,
            interval_ms,
            duration_ms,
            protocol: self.protocol,
            node: self.manifests.node.clone(),
            namespace: self.namespace.clone(),
            location: self.client_location,
            proxy_mode: self.proxy_mode,
            refusing: self.refusing.clone(),
            trace: self.trace_rules,
            ..Request::default()
        };
        if !self.from.is_empty() {
            r.from = self.from.iter().map(|(ip, _)| *ip).collect();
            r.source_ports = self.from.iter().map(|(_, p)| *p).collect();
        }
        Ok(r)
    }
}

/// `svcroute agent`.
#[derive(Debug, Args)]
#[command(mut_arg("files", |a| a.required(false)))]
pub struct AgentArgs {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    #[command(flatten)]
    pub api: ApiArgs,
    /// Reconcile once and exit (non-zero when an operation failed).
    #[arg(long)]
    pub once: bool,
    /// Print the operations (in ipvsadm words) instead of sending them.
    #[arg(long)]
    pub dry_run: bool,
    /// Period of the full resync that also repairs rules changed by hand and re-reads the
    /// manifests (a Go duration: 30s, 500ms, 1m30s; > 0).
    #[arg(long, alias = "ipvs-sync-period", value_name = "DURATION", default_value = "30s",
          value_parser = crate::agent::parse_duration)]
    pub sync_period: std::time::Duration,
    /// No two syncs closer than this (0: sync at once); at most --sync-period.
    #[arg(long = "ipvs-min-sync-period", value_name = "DURATION", default_value = "1s",
          value_parser = crate::agent::parse_duration)]
    pub min_sync_period: std::time::Duration,
    /// Accept an empty manifest, and plans that delete most of what the agent owns (refused
    /// otherwise: an empty or truncated read must not wipe the node).
    #[arg(long)]
    pub allow_empty: bool,
    /// Remove what the agent owns (its virtual servers, its interface and addresses) and exit.
    /// -f is optional: it names the Node whose addresses hold NodePorts.
    #[arg(long)]
    pub cleanup: bool,
    /// The single-instance lock: a second agent on the node exits with an error.
    #[arg(long, value_name = "PATH", default_value = crate::agent::lifecycle::LOCK_FILE)]
    pub lock_file: std::path::PathBuf,
    /// The dummy interface that holds ClusterIPs, externalIPs and load balancer IPs.
    #[arg(long, value_name = "NAME", default_value = "kube-ipvs0")]
    pub interface: String,
    /// How often the manifests are checked for changes, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000, hide = true)]
    pub watch_interval_ms: u64,
    /// More logs (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Virtual servers in these ranges are never deleted, even on the agent's addresses
    /// (kube-proxy `--ipvs-exclude-cidrs`). Repeatable or comma-separated.
    #[arg(
        long = "ipvs-exclude-cidrs",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    pub exclude_cidrs: Vec<IpNet>,
    /// Program the netfilter half of kube-proxy's IPVS mode (on by default, as kube-proxy
    /// always writes its iptables rules): the nftables tables `ip svcroute` / `ip6 svcroute`
    /// (`plan -o nftables-ipvs`), replaced at every full sync, set elements changed in
    /// between. `--nftables=false` programs IPVS only.
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub nftables: bool,
    /// Set `net.ipv4.conf.all.arp_ignore=1` and `arp_announce=2`, so the node does not answer
    /// ARP for the VIPs on the dummy interface (kube-proxy `--ipvs-strict-arp`).
    #[arg(long = "ipvs-strict-arp")]
    pub strict_arp: bool,
    /// Delete stale UDP conntrack entries after each sync, as kube-proxy's conntrack
    /// reconciler does (on by default; `=false` only for tests that show why it is needed).
    #[arg(
        long = "conntrack-cleanup",
        hide = true,
        value_name = "BOOL",
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub conntrack_cleanup: bool,
    #[command(flatten)]
    pub netfilter: NetfilterArgs,
}

/// `svcroute agent` following the Kubernetes API (without `-f`): kube-proxy's flags.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// The Node this agent runs on (default: the host name).
    #[arg(long = "hostname-override", value_name = "NAME")]
    pub hostname_override: Option<String>,
    /// Serve only Services labelled service.kubernetes.io/service-proxy-name=NAME (default:
    /// the Services with no such label, as kube-proxy).
    #[arg(long = "service-proxy-name", value_name = "NAME")]
    pub service_proxy_name: Option<String>,
    /// /healthz and /livez (kube-proxy's); empty to disable.
    #[arg(
        long = "healthz-bind-address",
        value_name = "IP:PORT",
        default_value = "0.0.0.0:10256"
    )]
    pub healthz_bind_address: String,
    /// /metrics (Prometheus) and /proxyMode; empty to disable.
    #[arg(
        long = "metrics-bind-address",
        value_name = "IP:PORT",
        default_value = "127.0.0.1:10249"
    )]
    pub metrics_bind_address: String,
}

impl ManifestArgs {
    /// Whether the objects come from the API rather than files: a kubeconfig or master is
    /// given, or no `-f` at all.
    pub fn uses_api(&self) -> bool {
        self.kubeconfig.is_some() || self.master.is_some() || self.files.is_empty()
    }
}

/// `route -o`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RouteFormat {
    /// One line per connection, then the spread.
    Table,
    /// `{"connections": [...]}`.
    Json,
    /// The simulator's connection table after the run, as `ipvsadm -Lnc` lists it
    /// (with ClientIP affinity's persistence templates).
    Connections,
    /// The virtual server after the run as `ipvsadm -Ln` shows it, with the simulator's
    /// ActiveConn / InActConn counters.
    Counters,
}

fn parse_range(s: &str) -> Result<(u16, u16), String> {
    svcroute_core::config::parse_port_range(s)
}

fn parse_scheduler(s: &str) -> Result<Scheduler, String> {
    s.parse()
}

fn parse_proxy_mode(s: &str) -> Result<ProxyMode, String> {
    s.parse()
}

/// `IP`, `IP:PORT` or `[IPv6]:PORT`.
fn parse_source(s: &str) -> Result<(IpAddr, Option<u16>), String> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok((ip, None));
    }
    let bad = || format!("{s:?}: expected IP, IP:PORT or [IPv6]:PORT with a port 1-65535");
    let sock: std::net::SocketAddr = s.parse().map_err(|_| bad())?;
    if sock.port() == 0 {
        return Err(bad());
    }
    Ok((sock.ip(), Some(sock.port())))
}

fn parse_protocol(s: &str) -> Result<Protocol, String> {
    Protocol::parse(&s.to_ascii_uppercase())
        .ok_or_else(|| format!("{s:?}: expected TCP, UDP or SCTP"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sources() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert_eq!(parse_source("10.0.0.7"), Ok((ip("10.0.0.7"), None)));
        assert_eq!(
            parse_source("10.0.0.7:40000"),
            Ok((ip("10.0.0.7"), Some(40000)))
        );
        assert_eq!(parse_source("[fd00::7]:53"), Ok((ip("fd00::7"), Some(53))));
        assert_eq!(parse_source("fd00::7"), Ok((ip("fd00::7"), None)));
        assert!(parse_source("10.0.0.7:0").is_err());
        assert!(parse_source("fd00::7:53x").is_err());
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("30000-32767"), Ok((30000, 32767)));
        assert!(parse_range("32767-30000").is_err());
        assert!(parse_range("30000").is_err());
    }
}
