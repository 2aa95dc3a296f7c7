//! The table's chains and rules, as data: what kube-proxy's IPVS mode writes to the nat and
//! filter tables (`writeIptablesRules`, `iptablesJumpChain`), in nftables' terms.
//!
//! The rules depend on the family and the [`Options`] only. They are described as data so
//! the same description renders as `nft -f` text ([`super::render`]) and, in the agent, as
//! nf_tables expressions.
//!
//! Hook priorities: kube-proxy's iptables chains sit in the nat table (prerouting and output
//! at `dstnat`, postrouting at `srcnat`) and the filter table (`filter`). IPVS itself hooks
//! `LOCAL_IN` after the filter table and `LOCAL_OUT` at `NF_IP_PRI_NAT_DST + 2`, so the filter
//! input chain still sees the VIP as destination; the output filter that stands for
//! KUBE-IPVS-OUT-FILTER runs at `dstnat - 10`, before IPVS rewrites the destination.

use alloc::vec;
use alloc::vec::Vec;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::{Options, SetId};
use crate::model::Family;

/// A packet field used as (part of) a set lookup key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Source address.
    Saddr,
    /// Destination address.
    Daddr,
    /// L4 protocol (`meta l4proto`).
    L4Proto,
    /// Transport destination port (`th dport`).
    Dport,
    /// TCP destination port (`tcp dport`: the protocol must be TCP).
    TcpDport,
}

/// Connection tracking states a rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtState {
    /// `ct state new`.
    New,
    /// `ct state established,related`.
    EstablishedRelated,
}

/// One condition of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Match {
    /// The concatenation of `fields` is (or, negated, is not) in `set`.
    Lookup {
        /// The key, in the set's concatenation order.
        fields: Vec<Field>,
        /// The set.
        set: SetId,
    },
    /// The source address is in (or, when `negate`, outside) `net`.
    Saddr {
        /// The network.
        net: IpNet,
        /// Outside rather than inside.
        negate: bool,
    },
    /// `fib daddr type local` (iptables `-m addrtype --dst-type LOCAL`).
    FibDaddrLocal,
    /// `fib saddr type != local` (iptables `-m addrtype ! --src-type LOCAL`).
    FibSaddrNotLocal,
    /// The masquerade mark bit is set (or, when `negate`, clear).
    Mark {
        /// The mark bit.
        mark: u32,
        /// Clear rather than set.
        negate: bool,
    },
    /// The connection tracking state.
    Ct(CtState),
}

/// What a rule does when it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `accept`.
    Accept,
    /// `drop`.
    Drop,
    /// `return`.
    Return,
    /// `reject` (ICMP port unreachable, as iptables' REJECT).
    Reject,
    /// `jump CHAIN`.
    Jump(ChainId),
    /// `masquerade`, with `fully-random` when set.
    Masquerade {
        /// `--random-fully`.
        fully_random: bool,
    },
    /// `meta mark set meta mark | MARK` (KUBE-MARK-MASQ).
    MarkOr(u32),
    /// `meta mark set meta mark ^ MARK` (clears the bit so a re-traversing packet is not
    /// masqueraded twice).
    MarkXor(u32),
}

/// A rule: all matches, then the action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Conditions, all of which must hold.
    pub matches: Vec<Match>,
    /// The action.
    pub action: Action,
}

/// The table's chains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChainId {
    /// Base chain: nat prerouting.
    NatPrerouting,
    /// Base chain: nat output.
    NatOutput,
    /// Base chain: nat postrouting.
    NatPostrouting,
    /// Base chain: filter input.
    FilterInput,
    /// Base chain: filter forward.
    FilterForward,
    /// Base chain: filter output, before IPVS.
    FilterOutput,
    /// KUBE-SERVICES.
    Services,
    /// KUBE-LOAD-BALANCER.
    LoadBalancer,
    /// nat KUBE-NODE-PORT.
    NodePort,
    /// KUBE-MARK-MASQ.
    MarkForMasquerade,
    /// KUBE-POSTROUTING.
    Postrouting,
    /// KUBE-FORWARD.
    Forward,
    /// filter KUBE-NODE-PORT (health check node ports).
    HealthCheck,
    /// KUBE-PROXY-FIREWALL.
    ProxyFirewall,
    /// KUBE-SOURCE-RANGES-FIREWALL.
    SourceRangesFirewall,
    /// KUBE-IPVS-FILTER.
    IpvsFilter,
    /// KUBE-IPVS-OUT-FILTER.
    IpvsOutFilter,
}

impl ChainId {
    /// The chain's name in the table.
    pub fn name(self) -> &'static str {
        match self {
            ChainId::NatPrerouting => "nat-prerouting",
            ChainId::NatOutput => "nat-output",
            ChainId::NatPostrouting => "nat-postrouting",
            ChainId::FilterInput => "filter-input",
            ChainId::FilterForward => "filter-forward",
            ChainId::FilterOutput => "filter-output",
            ChainId::Services => "services",
            ChainId::LoadBalancer => "load-balancer",
            ChainId::NodePort => "node-port",
            ChainId::MarkForMasquerade => "mark-for-masquerade",
            ChainId::Postrouting => "postrouting",
            ChainId::Forward => "forward",
            ChainId::HealthCheck => "health-check",
            ChainId::ProxyFirewall => "proxy-firewall",
            ChainId::SourceRangesFirewall => "source-ranges-firewall",
            ChainId::IpvsFilter => "ipvs-filter",
            ChainId::IpvsOutFilter => "ipvs-out-filter",
        }
    }
}

/// The type of a base chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainType {
    /// `type nat`.
    Nat,
    /// `type filter`.
    Filter,
}

/// Netfilter hooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    /// `prerouting` (NF_INET_PRE_ROUTING = 0).
    Prerouting,
    /// `input` (1).
    Input,
    /// `forward` (2).
    Forward,
    /// `output` (3).
    Output,
    /// `postrouting` (4).
    Postrouting,
}

impl Hook {
    /// nft's name.
    pub fn name(self) -> &'static str {
        match self {
            Hook::Prerouting => "prerouting",
            Hook::Input => "input",
            Hook::Forward => "forward",
            Hook::Output => "output",
            Hook::Postrouting => "postrouting",
        }
    }

    /// The kernel's number (`NF_INET_*`).
    pub fn number(self) -> u32 {
        match self {
            Hook::Prerouting => 0,
            Hook::Input => 1,
            Hook::Forward => 2,
            Hook::Output => 3,
            Hook::Postrouting => 4,
        }
    }
}

/// `dstnat` priority (NF_IP_PRI_NAT_DST).
pub const PRIORITY_DSTNAT: i32 = -100;
/// `srcnat` priority (NF_IP_PRI_NAT_SRC).
pub const PRIORITY_SRCNAT: i32 = 100;
/// `filter` priority (NF_IP_PRI_FILTER).
pub const PRIORITY_FILTER: i32 = 0;

/// A base chain's hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BaseChain {
    /// nat or filter.
    pub kind: ChainType,
    /// The hook.
    pub hook: Hook,
    /// The priority.
    pub priority: i32,
}

/// A chain and its rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// Which.
    pub id: ChainId,
    /// Its hook, for a base chain (policy accept).
    pub base: Option<BaseChain>,
    /// Its rules, in order.
    pub rules: Vec<Rule>,
}

/// `ip daddr . meta l4proto . th dport`.
fn dst_dst() -> Vec<Field> {
    vec![Field::Daddr, Field::L4Proto, Field::Dport]
}

/// `ip daddr . meta l4proto . th dport . ip saddr`.
fn dst_dst_src() -> Vec<Field> {
    vec![Field::Daddr, Field::L4Proto, Field::Dport, Field::Saddr]
}

fn lookup(fields: Vec<Field>, set: SetId) -> Match {
    Match::Lookup { fields, set }
}

fn rule(matches: Vec<Match>, action: Action) -> Rule {
    Rule { matches, action }
}

fn base(id: ChainId, kind: ChainType, hook: Hook, priority: i32, jumps: &[ChainId]) -> Chain {
    Chain {
        id,
        base: Some(BaseChain {
            kind,
            hook,
            priority,
        }),
        rules: jumps
            .iter()
            .map(|to| rule(vec![], Action::Jump(*to)))
            .collect(),
    }
}

fn regular(id: ChainId, rules: Vec<Rule>) -> Chain {
    Chain {
        id,
        base: None,
        rules,
    }
}

/// The loopback network kube-proxy dismisses early (`127.0.0.0/8`, `::1/128`).
fn loopback(family: Family) -> IpNet {
    match family {
        Family::V4 => IpNet::V4(Ipv4Net::new_assert(
            core::net::Ipv4Addr::new(127, 0, 0, 0),
            8,
        )),
        Family::V6 => IpNet::V6(Ipv6Net::new_assert(core::net::Ipv6Addr::LOCALHOST, 128)),
    }
}

/// Every chain of the table of `family`, base chains first, in kube-proxy's rule order.
pub fn chains(family: Family, options: &Options) -> Vec<Chain> {
    use Action::*;
    use ChainId as C;
    let mark = options.mark();
    let masq = Jump(C::MarkForMasquerade);

    // KUBE-SERVICES, in writeIptablesRules' order.
    let mut services = vec![
        rule(
            vec![Match::Saddr {
                net: loopback(family),
                negate: false,
            }],
            Return,
        ),
        rule(
            vec![lookup(dst_dst(), SetId::LoadBalancer)],
            Jump(C::LoadBalancer),
        ),
    ];
    // ClusterIP masquerade: one of three forms.
    if options.masquerade_all {
        services.push(rule(vec![lookup(dst_dst(), SetId::ClusterIp)], masq));
    } else if let Some(cidr) = options.cluster_cidr(family) {
        services.push(rule(
            vec![
                lookup(dst_dst(), SetId::ClusterIp),
                Match::Saddr {
                    net: cidr,
                    negate: true,
                },
            ],
            masq,
        ));
    } else {
        // "src,dst": node-originated traffic whose source is a VIP of kube-ipvs0.
        services.push(rule(
            vec![lookup(
                vec![Field::Saddr, Field::L4Proto, Field::Dport],
                SetId::ClusterIp,
            )],
            masq,
        ));
    }
    services.push(rule(vec![lookup(dst_dst(), SetId::ExternalIp)], masq));
    for set in [SetId::ExternalIp, SetId::ExternalIpLocal] {
        services.push(rule(
            vec![lookup(dst_dst(), set), Match::FibSaddrNotLocal],
            Accept,
        ));
        services.push(rule(
            vec![lookup(dst_dst(), set), Match::FibDaddrLocal],
            Accept,
        ));
    }
    services.push(rule(vec![Match::FibDaddrLocal], Jump(C::NodePort)));
    services.push(rule(vec![lookup(dst_dst(), SetId::ClusterIp)], Accept));
    services.push(rule(vec![lookup(dst_dst(), SetId::LoadBalancer)], Accept));

    let proto_port = || vec![Field::L4Proto, Field::Dport];
    vec![
        // Jumps as kube-proxy leaves them: it prepends each (`-I`), so a hook that gets
        // several jumps holds them in reverse order of `iptablesJumpChain`.
        base(
            C::NatPrerouting,
            ChainType::Nat,
            Hook::Prerouting,
            PRIORITY_DSTNAT,
            &[C::Services],
        ),
        base(
            C::NatOutput,
            ChainType::Nat,
            Hook::Output,
            PRIORITY_DSTNAT,
            &[C::Services],
        ),
        base(
            C::NatPostrouting,
            ChainType::Nat,
            Hook::Postrouting,
            PRIORITY_SRCNAT,
            &[C::Postrouting],
        ),
        base(
            C::FilterInput,
            ChainType::Filter,
            Hook::Input,
            PRIORITY_FILTER,
            &[C::IpvsFilter, C::ProxyFirewall, C::HealthCheck],
        ),
        base(
            C::FilterForward,
            ChainType::Filter,
            Hook::Forward,
            PRIORITY_FILTER,
            &[C::ProxyFirewall, C::Forward],
        ),
        base(
            C::FilterOutput,
            ChainType::Filter,
            Hook::Output,
            PRIORITY_DSTNAT - 10,
            &[C::IpvsOutFilter],
        ),
        regular(C::Services, services),
        regular(
            C::LoadBalancer,
            vec![
                rule(vec![lookup(dst_dst(), SetId::LoadBalancerLocal)], Return),
                rule(vec![], masq),
            ],
        ),
        regular(
            C::NodePort,
            vec![
                rule(vec![lookup(proto_port(), SetId::NodePortLocal)], Return),
                rule(vec![lookup(proto_port(), SetId::NodePort)], masq),
            ],
        ),
        regular(C::MarkForMasquerade, vec![rule(vec![], MarkOr(mark))]),
        regular(
            C::Postrouting,
            vec![
                rule(
                    vec![lookup(dst_dst_src(), SetId::LoopBack)],
                    Masquerade {
                        fully_random: false,
                    },
                ),
                rule(vec![Match::Mark { mark, negate: true }], Return),
                rule(vec![], MarkXor(mark)),
                rule(vec![], Masquerade { fully_random: true }),
            ],
        ),
        regular(
            C::Forward,
            vec![
                rule(
                    vec![Match::Mark {
                        mark,
                        negate: false,
                    }],
                    Accept,
                ),
                rule(vec![Match::Ct(CtState::EstablishedRelated)], Accept),
            ],
        ),
        regular(
            C::HealthCheck,
            vec![rule(
                vec![lookup(vec![Field::TcpDport], SetId::HealthCheckNodePort)],
                Accept,
            )],
        ),
        regular(
            C::ProxyFirewall,
            vec![rule(
                vec![lookup(dst_dst(), SetId::LoadBalancerFw)],
                Jump(C::SourceRangesFirewall),
            )],
        ),
        regular(
            C::SourceRangesFirewall,
            vec![
                rule(
                    vec![lookup(dst_dst_src(), SetId::LoadBalancerSourceCidr)],
                    Return,
                ),
                rule(
                    vec![lookup(dst_dst_src(), SetId::LoadBalancerSourceIp)],
                    Return,
                ),
                rule(vec![], Drop),
            ],
        ),
        regular(
            C::IpvsFilter,
            vec![
                rule(vec![lookup(dst_dst(), SetId::LoadBalancer)], Return),
                rule(vec![lookup(dst_dst(), SetId::ClusterIp)], Return),
                rule(vec![lookup(dst_dst(), SetId::ExternalIp)], Return),
                rule(vec![lookup(dst_dst(), SetId::ExternalIpLocal)], Return),
                rule(
                    vec![lookup(vec![Field::TcpDport], SetId::HealthCheckNodePort)],
                    Return,
                ),
                rule(
                    vec![
                        Match::Ct(CtState::New),
                        lookup(vec![Field::Daddr], SetId::IpvsIps),
                    ],
                    Reject,
                ),
            ],
        ),
        regular(
            C::IpvsOutFilter,
            vec![rule(
                vec![lookup(dst_dst_src(), SetId::LoadBalancerNoNodeAccess)],
                Drop,
            )],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_set_is_used_and_every_chain_reached() {
        let chains = chains(Family::V4, &Options::default());
        for set in SetId::ALL {
            assert!(
                chains.iter().flat_map(|c| &c.rules).any(|r| r
                    .matches
                    .iter()
                    .any(|m| matches!(m, Match::Lookup { set: s, .. } if *s == set))),
                "{} unused",
                set.name()
            );
        }
        for c in chains.iter().filter(|c| c.base.is_none()) {
            assert!(
                chains
                    .iter()
                    .flat_map(|c| &c.rules)
                    .any(|r| r.action == Action::Jump(c.id)),
                "{} unreachable",
                c.id.name()
            );
        }
    }
}
