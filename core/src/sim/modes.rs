//! The choice each kube-proxy mode makes for a connection that [`crate::route`] resolved to a
//! virtual server: IPVS (the schedulers of [`crate::sim`], what `route` already decided),
//! iptables (the `-m recent` affinity checks, then the `-m statistic --probability` cascade with
//! the 31-bit fractions the kernel stores, `xt_statistic`'s `get_random_u32() & 0x7FFFFFFF`),
//! nftables (the affinity sets, then `numgen random mod N`: `reciprocal_scale` of a random
//! `u32`) and the historical userspace proxy (kube-proxy's own round robin, ClientIP affinity).
//! Randomness comes from the configuration's seed; time from the connections.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::cluster::Cluster;
use crate::model::{Family, Protocol};
use crate::plan::VsKind;
use crate::render::proxy::{self, Endpoint, ServicePort};
use crate::render::{iptables, nftables};
use crate::route::{Routes, split_target};

/// kube-proxy's `--proxy-mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ProxyMode {
    /// IPVS (svcroute's default).
    #[default]
    Ipvs,
    /// iptables (kube-proxy's default).
    Iptables,
    /// nftables.
    Nftables,
    /// The userspace proxy (removed in Kubernetes 1.26).
    Userspace,
}

impl ProxyMode {
    /// Every mode.
    pub const ALL: [ProxyMode; 4] = [
        ProxyMode::Ipvs,
        ProxyMode::Iptables,
        ProxyMode::Nftables,
        ProxyMode::Userspace,
    ];

    /// kube-proxy's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyMode::Ipvs => "ipvs",
            ProxyMode::Iptables => "iptables",
            ProxyMode::Nftables => "nftables",
            ProxyMode::Userspace => "userspace",
        }
    }
}

impl core::str::FromStr for ProxyMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        ProxyMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                format!("unknown proxy mode {s:?}; one of: ipvs, iptables, nftables, userspace")
            })
    }
}

/// The state the non-IPVS modes keep between connections.
#[derive(Clone, Debug)]
pub struct ModeSimulator {
    rng: ChaCha8Rng,
    /// iptables `recent` lists and nftables affinity sets: (name, client) → last update (ms).
    affinity: BTreeMap<(String, IpAddr), u64>,
    /// userspace round robin: service port → next index.
    rr: BTreeMap<String, usize>,
    /// userspace affinity: (service port, client) → (endpoint, last used ms).
    sticky: BTreeMap<(String, IpAddr), (String, u64)>,
}

impl ModeSimulator {
    /// A simulator whose random draws come from `seed`.
    pub fn new(seed: u64) -> Self {
        ModeSimulator {
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x6b75_6265_2d70_726f),
            affinity: BTreeMap::new(),
            rr: BTreeMap::new(),
            sticky: BTreeMap::new(),
        }
    }

    /// Decides again, as `mode` would, the backend of each connection `route` sent to a
    /// virtual server (IPVS: unchanged). `protocol` is the request's.
    pub fn redecide(
        &mut self,
        cluster: &Cluster,
        routes: &mut Routes,
        mode: ProxyMode,
        protocol: Protocol,
    ) {
        if mode == ProxyMode::Ipvs {
            return;
        }
        let mut ports: BTreeMap<(String, Family), Vec<ServicePort>> = BTreeMap::new();
        for c in &mut routes.connections {
            let (Some(vs), Some(kind), Some(node), Some(service)) =
                (&c.virtual_server, c.kind, &c.node, &c.service)
            else {
                continue;
            };
            let Some((host, port)) = split_target(vs) else {
                continue;
            };
            let (Ok(address), Ok(client)) = (host.parse::<IpAddr>(), c.from.parse::<IpAddr>())
            else {
                continue;
            };
            let fam = Family::of(&address);
            let list = ports
                .entry((node.clone(), fam))
                .or_insert_with(|| proxy::service_ports(cluster, node, fam));
            let Some(sp) = list.iter().find(|sp| {
                sp.protocol == protocol
                    && &format!("{}/{}", sp.namespace, sp.name) == service
                    && match kind {
                        VsKind::ClusterIP => sp.cluster_ip == address && sp.port == port,
                        VsKind::NodePort => sp.node_port == Some(port),
                        VsKind::ExternalIP | VsKind::LoadBalancer => {
                            sp.port == port
                                && (sp.external_ips.contains(&address)
                                    || sp.lb_ips.contains(&address))
                        }
                    }
            }) else {
                continue;
            };
            let ms = (c.time * 1000.0 + 0.5) as u64;
            let local_src = cluster
                .node(node)
                .is_some_and(|n| n.addresses.contains(&client));
            let pod_src = proxy::cluster_cidr(cluster, fam).is_some_and(|n| n.contains(&client));
            let (ep, reason) = match mode {
                ProxyMode::Iptables => {
                    self.rules(false, sp, kind, client, ms, pod_src || local_src)
                }
                ProxyMode::Nftables => self.rules(true, sp, kind, client, ms, pod_src || local_src),
                _ => self.userspace(sp, client, ms),
            };
            c.backend = ep.as_ref().map(Endpoint::host_port);
            c.refused = c.backend.is_none();
            c.pod = ep.and_then(|e| e.pod);
            c.reason = reason;
        }
    }

    /// The iptables (`nft == false`) or nftables mode's rules for one connection: refuse when
    /// nothing serves, pick the policy's endpoints (external traffic through the EXT/external
    /// chain, which short-circuits pod and local sources under policy Local), honour ClientIP
    /// affinity, else draw.
    fn rules(
        &mut self,
        nft: bool,
        sp: &ServicePort,
        kind: VsKind,
        client: IpAddr,
        ms: u64,
        short_circuit: bool,
    ) -> (Option<Endpoint>, String) {
        let name = sp.name_string();
        let cat = sp.categorize();
        let base = nftables::port_base(sp);
        let chain_of = |local: bool| match (nft, local) {
            (false, false) => iptables::svc_chain("KUBE-SVC-", sp),
            (false, true) => iptables::svc_chain("KUBE-SVL-", sp),
            (true, false) => format!("service-{base}"),
            (true, true) => format!("local-{base}"),
        };
        let ext = if nft {
            format!("external-{base}")
        } else {
            iptables::svc_chain("KUBE-EXT-", sp)
        };
        if !cat.has_any {
            let why = if nft {
                format!("no-endpoint-services: {name} → goto reject-chain: reject")
            } else {
                format!("KUBE-SERVICES (filter): \"{name} has no endpoints\" → REJECT")
            };
            return (None, why);
        }
        let (local, path) = if kind == VsKind::ClusterIP {
            (sp.itp_local, String::new())
        } else if !sp.external_policy_local() {
            let masq = if nft {
                "jump mark-for-masquerade"
            } else {
                "KUBE-MARK-MASQ"
            };
            (false, format!("{ext}: {masq} → "))
        } else if short_circuit {
            (
                false,
                format!("{ext}: pod or local source, short-circuit → "),
            )
        } else {
            (true, format!("{ext} → "))
        };
        let chain = chain_of(local);
        let eps = if local { &cat.local } else { &cat.cluster };
        if eps.is_empty() {
            let why = match (nft, kind) {
                (true, _) => format!("no-endpoint-services: {name} → drop"),
                (false, VsKind::ClusterIP) => {
                    format!("KUBE-SERVICES (filter): \"{name} has no local endpoints\" → DROP")
                }
                (false, _) => format!(
                    "KUBE-EXTERNAL-SERVICES (filter): \"{name} has no local endpoints\" → DROP"
                ),
            };
            return (None, why);
        }
        // The endpoint's chain, and the affinity list (iptables `recent`) or set (nftables).
        let target = |ep: &Endpoint| {
            if nft {
                let b = nftables::endpoint_base(sp, ep);
                (format!("endpoint-{b}"), format!("affinity-{b}"))
            } else {
                let sep = iptables::sep_chain(sp, ep);
                (sep.clone(), sep)
            }
        };
        let nat = |ep: &Endpoint| {
            if nft {
                format!("dnat to {}", ep.host_port())
            } else {
                format!("DNAT to {}", ep.host_port())
            }
        };
        if let Some(timeout) = sp.affinity {
            let ttl = u64::from(timeout) * 1000;
            for ep in eps {
                let (to, list) = target(ep);
                // `--rcheck --seconds N` matches up to N s after the last packet; an nftables
                // set element expires N s after its last update.
                let Some(last) = self.affinity.get(&(list.clone(), client)) else {
                    continue;
                };
                let age = ms.saturating_sub(*last);
                if (nft && age >= ttl) || (!nft && age > ttl) {
                    continue;
                }
                let check = if nft {
                    format!("ip saddr @{list} ({client} in the set, timeout {timeout}s)")
                } else {
                    format!(
                        "-m recent --rcheck --seconds {timeout}: {client} seen {} s ago",
                        age / 1000
                    )
                };
                let reason = format!("{path}{chain}: {check} → {to}: {}", nat(ep));
                self.affinity.insert((list, client), ms);
                return (Some(ep.clone()), reason);
            }
        }
        let n = eps.len();
        let (i, draw) = if nft {
            let i = ((u64::from(self.rng.next_u32()) * n as u64) >> 32) as usize;
            (i, format!("numgen random mod {n} → {i}"))
        } else {
            let mut steps = Vec::new();
            let mut chosen = n - 1;
            for i in 0..n - 1 {
                let p = iptables::saved_probability(n - i);
                if self.rng.next_u32() & 0x7FFF_FFFF < iptables::stored_probability(n - i) {
                    steps.push(format!("--probability {p} matched"));
                    chosen = i;
                    break;
                }
                steps.push(format!("--probability {p} failed, next rule"));
            }
            if chosen == n - 1 {
                steps.push(String::from("last rule"));
            }
            (chosen, steps.join("; "))
        };
        let ep = &eps[i];
        let (to, list) = target(ep);
        if sp.affinity.is_some() {
            self.affinity.insert((list, client), ms);
        }
        (
            Some(ep.clone()),
            format!("{path}{chain}: {draw} → {to}: {}", nat(ep)),
        )
    }

    fn userspace(
        &mut self,
        sp: &ServicePort,
        client: IpAddr,
        ms: u64,
    ) -> (Option<Endpoint>, String) {
        let name = sp.name_string();
        let eps = sp.categorize().cluster;
        if eps.is_empty() {
            return (
                None,
                format!(
                    "userspace: kube-proxy accepted on the proxy port of {name}; no endpoints: it closes the connection"
                ),
            );
        }
        if let Some(timeout) = sp.affinity
            && let Some((hp, last)) = self.sticky.get(&(name.clone(), client))
            && ms.saturating_sub(*last) <= u64::from(timeout) * 1000
            && let Some(ep) = eps.iter().find(|e| &e.host_port() == hp)
        {
            let ep = ep.clone();
            self.sticky
                .insert((name.clone(), client), (ep.host_port(), ms));
            return (
                Some(ep.clone()),
                format!(
                    "userspace: kube-proxy's proxy port for {name}: ClientIP affinity keeps {client} on {} (it would retry the next endpoint if this one refused)",
                    ep.host_port()
                ),
            );
        }
        let next = self.rr.entry(name.clone()).or_insert(0);
        let i = *next % eps.len();
        *next = i + 1;
        let ep = eps[i].clone();
        if sp.affinity.is_some() {
            self.sticky
                .insert((name.clone(), client), (ep.host_port(), ms));
        }
        let reason = format!(
            "userspace: kube-proxy's proxy port for {name}: round robin → {} ({} of {}; it would retry the next endpoint if this one refused)",
            ep.host_port(),
            i + 1,
            eps.len()
        );
        (Some(ep), reason)
    }
}
