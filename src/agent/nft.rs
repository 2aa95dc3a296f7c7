//! The agent's netfilter half: the core's nftables tables (`ip svcroute`, `ip6 svcroute`)
//! turned into nf_tables requests ([`svcroute_nft`]) and sent as one NFNL batch — one atomic
//! transaction — per sync.
//!
//! A table is (re)created as nft's `add table; delete table; add table …` in one batch, so a
//! table changed by hand is replaced whole and nothing else in nftables is touched. A change
//! of Services or endpoints is a [`NfOp`] list: set elements added and removed in one batch.
//!
//! Restart-safe and tamper-repairing like the IPVS half, by replacement rather than by a
//! dump: every full sync (at start and every `--sync-period`) replaces each table atomically,
//! so a restart adopts nothing stale and a rule or element changed by hand is gone at the next
//! resync; the syncs in between send only the element changes since the last good sync.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ipnet::IpNet;
use svcroute_core::model::{Family, Protocol};
use svcroute_core::netfilter::diff::NfOp;
use svcroute_core::netfilter::rules::{self, Action, ChainType, CtState, Field, Match, Rule};
use svcroute_core::netfilter::{Element, KeyKind, SetId, TABLE, Table};
use svcroute_nft::build::{self, ChainHook, NF_ACCEPT, Request, SetElem, SetSpec};
use svcroute_nft::expr::{self, Expr, Verdict};
use svcroute_nft::msg::{NFPROTO_IPV4, NFPROTO_IPV6};

use super::netlink::{Protocol as NlProtocol, Sequence, Socket};

/// Elements per `NEWSETELEM` message: the element list is one attribute, whose length must
/// stay below 64 KiB (an IPv6 range element takes about 100 bytes).
const ELEMENTS_PER_MESSAGE: usize = 500;

/// The nf_tables family of a table.
pub fn nfproto(f: Family) -> u8 {
    match f {
        Family::V4 => NFPROTO_IPV4,
        Family::V6 => NFPROTO_IPV6,
    }
}

fn addr_bytes(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

fn proto_number(p: Protocol) -> u8 {
    match p {
        Protocol::Tcp => 6,
        Protocol::Udp => 17,
        Protocol::Sctp => 132,
    }
}

fn last_address(n: &IpNet) -> IpAddr {
    n.broadcast()
}

/// The element's key (and, for a range, its inclusive end) in nf_tables registers' layout.
pub fn set_elem(e: &Element) -> SetElem {
    let one = |key: Vec<u8>| SetElem { key, key_end: None };
    match e {
        Element::Addr(a) => one(addr_bytes(a)),
        Element::Port(p) => one(p.to_be_bytes().to_vec()),
        Element::ProtoPort(pr, p) => one(build::concat(&[&[proto_number(*pr)], &p.to_be_bytes()])),
        Element::AddrProtoPort(a, pr, p) => one(build::concat(&[
            &addr_bytes(a),
            &[proto_number(*pr)],
            &p.to_be_bytes(),
        ])),
        Element::AddrProtoPortAddr(a, pr, p, b) => one(build::concat(&[
            &addr_bytes(a),
            &[proto_number(*pr)],
            &p.to_be_bytes(),
            &addr_bytes(b),
        ])),
        Element::AddrProtoPortNet(a, pr, p, n) => {
            let head = build::concat(&[&addr_bytes(a), &[proto_number(*pr)], &p.to_be_bytes()]);
            SetElem {
                key: build::concat(&[&head, &addr_bytes(&n.network())]),
                key_end: Some(build::concat(&[&head, &addr_bytes(&last_address(n))])),
            }
        }
    }
}

/// nft's datatype ids.
const TYPE_IPV4: u32 = 7;
const TYPE_IPV6: u32 = 8;
const TYPE_PROTO: u32 = 12;
const TYPE_SERVICE: u32 = 13;

/// The set's definition (`id` is its number in the batch).
pub fn set_spec(key: KeyKind, f: Family, id: u32) -> SetSpec {
    let (addr, alen) = match f {
        Family::V4 => (TYPE_IPV4, 4),
        Family::V6 => (TYPE_IPV6, 16),
    };
    let fields: Vec<(u32, u32)> = match key {
        KeyKind::Addr => vec![(addr, alen)],
        KeyKind::Port => vec![(TYPE_SERVICE, 2)],
        KeyKind::ProtoPort => vec![(TYPE_PROTO, 1), (TYPE_SERVICE, 2)],
        KeyKind::AddrProtoPort => vec![(addr, alen), (TYPE_PROTO, 1), (TYPE_SERVICE, 2)],
        KeyKind::AddrProtoPortAddr | KeyKind::AddrProtoPortNet => {
            vec![
                (addr, alen),
                (TYPE_PROTO, 1),
                (TYPE_SERVICE, 2),
                (addr, alen),
            ]
        }
    };
    let interval = key == KeyKind::AddrProtoPortNet;
    SetSpec {
        flags: if interval {
            build::SET_INTERVAL | build::SET_CONCAT
        } else {
            0
        },
        key_type: fields.iter().fold(0, |t, (ty, _)| (t << 6) | ty),
        // A concatenation pads each field to a 32-bit register; a single field is its length.
        key_len: if fields.len() == 1 {
            fields[0].1
        } else {
            fields.iter().map(|(_, l)| l.div_ceil(4) * 4).sum()
        },
        id,
        concat: if interval {
            fields.iter().map(|(_, l)| *l).collect()
        } else {
            Vec::new()
        },
        userdata: None,
    }
}

/// Loads `field` into the register holding the concatenation's 32-bit word `word`.
fn load(field: Field, f: Family, word: u32, out: &mut Vec<Expr>) -> u32 {
    let dreg = if word == 0 {
        expr::REG_1
    } else {
        expr::REG32_00 + word
    };
    let (off_s, off_d, alen) = match f {
        Family::V4 => (12, 16, 4),
        Family::V6 => (8, 24, 16),
    };
    match field {
        Field::Saddr | Field::Daddr => {
            out.push(Expr::Payload {
                dreg,
                base: expr::PAYLOAD_NETWORK,
                offset: if field == Field::Saddr { off_s } else { off_d },
                len: alen,
            });
            alen / 4
        }
        Field::L4Proto => {
            out.push(Expr::Meta {
                key: expr::META_L4PROTO,
                dreg,
            });
            1
        }
        Field::Dport | Field::TcpDport => {
            if field == Field::TcpDport {
                out.push(Expr::Meta {
                    key: expr::META_L4PROTO,
                    dreg: expr::REG_1,
                });
                out.push(Expr::Cmp {
                    sreg: expr::REG_1,
                    op: expr::CMP_EQ,
                    data: vec![6],
                });
            }
            out.push(Expr::Payload {
                dreg,
                base: expr::PAYLOAD_TRANSPORT,
                offset: 2,
                len: 2,
            });
            1
        }
    }
}

fn masked_cmp(load: Expr, mask: u32, value: u32, eq: bool, op: Option<u32>) -> Vec<Expr> {
    vec![
        load,
        Expr::Bitwise {
            sreg: expr::REG_1,
            dreg: expr::REG_1,
            op,
            len: 4,
            mask: mask.to_ne_bytes().to_vec(),
            xor: vec![0; 4],
        },
        Expr::Cmp {
            sreg: expr::REG_1,
            op: if eq { expr::CMP_EQ } else { expr::CMP_NEQ },
            data: value.to_ne_bytes().to_vec(),
        },
    ]
}

fn mark_load() -> Expr {
    Expr::Meta {
        key: expr::META_MARK,
        dreg: expr::REG_1,
    }
}

/// The expressions of one rule, as nft compiles the same rule.
pub fn rule_exprs(r: &Rule, f: Family) -> Vec<Expr> {
    let mut out = Vec::new();
    for m in &r.matches {
        match m {
            Match::Lookup { fields, set } => {
                let mut word = 0;
                for field in fields {
                    word += load(*field, f, word, &mut out);
                }
                out.push(Expr::Lookup {
                    set: set.name().to_owned(),
                    sreg: expr::REG_1,
                    set_id: None,
                    flags: None,
                });
            }
            Match::Saddr { net, negate } => {
                let addr = addr_bytes(&net.network());
                let bytes = usize::from(net.prefix_len()).div_ceil(8);
                let (offset, full) = match f {
                    Family::V4 => (12, 4),
                    Family::V6 => (8, 16),
                };
                let aligned = net.prefix_len() % 8 == 0;
                let len = if aligned { bytes } else { full };
                out.push(Expr::Payload {
                    dreg: expr::REG_1,
                    base: expr::PAYLOAD_NETWORK,
                    offset,
                    len: len as u32,
                });
                if !aligned {
                    out.push(Expr::Bitwise {
                        sreg: expr::REG_1,
                        dreg: expr::REG_1,
                        op: Some(0),
                        len: full as u32,
                        mask: addr_bytes(&net.netmask()),
                        xor: vec![0; full],
                    });
                }
                out.push(Expr::Cmp {
                    sreg: expr::REG_1,
                    op: if *negate { expr::CMP_NEQ } else { expr::CMP_EQ },
                    data: addr[..len].to_vec(),
                });
            }
            Match::FibDaddrLocal | Match::FibSaddrNotLocal => {
                let daddr = *m == Match::FibDaddrLocal;
                out.push(Expr::Fib {
                    flags: if daddr {
                        expr::FIB_F_DADDR
                    } else {
                        expr::FIB_F_SADDR
                    },
                    result: expr::FIB_RESULT_ADDRTYPE,
                    dreg: expr::REG_1,
                });
                out.push(Expr::Cmp {
                    sreg: expr::REG_1,
                    op: if daddr { expr::CMP_EQ } else { expr::CMP_NEQ },
                    data: expr::RTN_LOCAL.to_ne_bytes().to_vec(),
                });
            }
            Match::Mark { mark, negate } => {
                out.extend(masked_cmp(mark_load(), *mark, *mark, !negate, Some(0)));
            }
            Match::Ct(state) => {
                let mask = match state {
                    CtState::New => expr::CT_STATE_NEW,
                    CtState::EstablishedRelated => {
                        expr::CT_STATE_ESTABLISHED | expr::CT_STATE_RELATED
                    }
                };
                let ct = Expr::Ct {
                    key: expr::CT_STATE,
                    dreg: expr::REG_1,
                };
                out.extend(masked_cmp(ct, mask, 0, false, None));
            }
        }
    }
    match r.action {
        Action::Accept => out.push(Expr::Verdict(Verdict::Accept)),
        Action::Drop => out.push(Expr::Verdict(Verdict::Drop)),
        Action::Return => out.push(Expr::Verdict(Verdict::Return)),
        Action::Jump(c) => out.push(Expr::Verdict(Verdict::Jump(c.name().to_owned()))),
        Action::Reject => out.push(Expr::Reject {
            kind: expr::REJECT_ICMP_UNREACH,
            // ICMP port unreachable (3); ICMPv6 port unreachable (4).
            code: if f == Family::V4 { 3 } else { 4 },
        }),
        Action::Masquerade { fully_random } => out.push(Expr::Masq {
            flags: fully_random.then_some(expr::NAT_RANGE_PROTO_RANDOM_FULLY),
        }),
        Action::MarkOr(m) | Action::MarkXor(m) => {
            let (mask, xor) = match r.action {
                Action::MarkOr(_) => (!m, m),
                _ => (u32::MAX, m),
            };
            out.push(mark_load());
            out.push(Expr::Bitwise {
                sreg: expr::REG_1,
                dreg: expr::REG_1,
                op: Some(0),
                len: 4,
                mask: mask.to_ne_bytes().to_vec(),
                xor: xor.to_ne_bytes().to_vec(),
            });
            out.push(Expr::MetaSet {
                key: expr::META_MARK,
                sreg: expr::REG_1,
            });
        }
    }
    out
}

fn element_requests(
    family: u8,
    set: SetId,
    elements: &[Element],
    add: bool,
    out: &mut Vec<Request>,
) {
    for chunk in elements.chunks(ELEMENTS_PER_MESSAGE) {
        let elems: Vec<SetElem> = chunk.iter().map(set_elem).collect();
        out.push(if add {
            build::new_elements(family, TABLE, set.name(), None, &elems)
        } else {
            build::del_elements(family, TABLE, set.name(), &elems)
        });
    }
}

/// The requests that replace the table with `t` (sets with their elements, chains, rules).
pub fn table_requests(t: &Table) -> Vec<Request> {
    let f = nfproto(t.family);
    // `add table` first so that `delete table` cannot fail when there is none.
    let mut out = vec![
        build::new_table(f, TABLE),
        build::del_table(f, TABLE),
        build::new_table(f, TABLE),
    ];
    for (i, set) in SetId::ALL.iter().enumerate() {
        out.push(build::new_set(
            f,
            TABLE,
            set.name(),
            &set_spec(set.key(), t.family, i as u32 + 1),
        ));
        let elements: Vec<Element> = t.elements(*set).copied().collect();
        element_requests(f, *set, &elements, true, &mut out);
    }
    let chains = rules::chains(t.family, &t.options);
    for c in &chains {
        let hook = c.base.map(|b| ChainHook {
            kind: match b.kind {
                ChainType::Nat => "nat".into(),
                ChainType::Filter => "filter".into(),
            },
            hooknum: b.hook.number(),
            priority: b.priority,
            policy: NF_ACCEPT,
        });
        out.push(build::new_chain(f, TABLE, c.id.name(), hook.as_ref()));
    }
    for c in &chains {
        for r in &c.rules {
            out.push(build::new_rule(
                f,
                TABLE,
                c.id.name(),
                &rule_exprs(r, t.family),
            ));
        }
    }
    out
}

/// The requests for a diff.
pub fn op_requests(ops: &[NfOp]) -> Vec<Request> {
    let mut out = Vec::new();
    for op in ops {
        match op {
            NfOp::Replace(t) => out.extend(table_requests(t)),
            NfOp::Delete(family) => {
                let f = nfproto(*family);
                out.push(build::new_table(f, TABLE));
                out.push(build::del_table(f, TABLE));
            }
            NfOp::AddElements {
                family,
                set,
                elements,
            } => element_requests(nfproto(*family), *set, elements, true, &mut out),
            NfOp::DeleteElements {
                family,
                set,
                elements,
            } => element_requests(nfproto(*family), *set, elements, false, &mut out),
        }
    }
    out
}

/// What one batch cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sent {
    /// nf_tables messages, BEGIN and END included.
    pub messages: usize,
    /// Bytes of the batch.
    pub bytes: usize,
    /// From building the requests to the kernel's last answer.
    pub elapsed: Duration,
}

/// Sends `requests` as one NFNL batch (one transaction) and waits for the kernel's answer;
/// any error aborts the whole batch, as the kernel does.
pub fn send(sock: &mut Socket, seq: &mut Sequence, requests: &[Request]) -> Result<Sent> {
    let start = Instant::now();
    if requests.is_empty() {
        return Ok(Sent::default());
    }
    let first = seq.next();
    for _ in 0..requests.len() + 1 {
        seq.next();
    }
    let bytes = build::batch(requests, first, true);
    sock.reserve_send(bytes.len());
    let count = requests.len() + 2;
    sock.send(&bytes, count)
        .with_context(|| format!("sending an nf_tables batch of {} bytes", bytes.len()))?;
    let last = first + requests.len() as u32;
    let errors = sock.wait_acks(last, |_, _| Ok(()))?;
    if let Some((s, e)) = errors.iter().min_by_key(|(s, _)| **s) {
        let i = s.wrapping_sub(first + 1) as usize;
        let what = requests
            .get(i)
            .map_or_else(|| "the batch".to_owned(), |r| format!("{:?}", r.msg.kind));
        bail!("nf_tables refused {what} (request {i} of the batch): {e}");
    }
    Ok(Sent {
        messages: count,
        bytes: bytes.len(),
        elapsed: start.elapsed(),
    })
}

/// A socket for nf_tables.
pub fn open() -> Result<(Socket, Sequence)> {
    Ok((Socket::open(NlProtocol::Netfilter)?, Sequence::new()))
}

/// The agent's nftables state: the socket and what the last good sync left in the kernel.
pub struct Netfilter {
    sock: Option<(Socket, Sequence)>,
    last: Option<svcroute_core::netfilter::NetfilterPlan>,
}

impl Netfilter {
    /// Opens the nf_tables socket; with `dry_run` none (operations are printed).
    pub fn connect(dry_run: bool) -> Result<Self> {
        Ok(Netfilter {
            sock: if dry_run { None } else { Some(open()?) },
            last: None,
        })
    }

    /// Brings the tables to `want` in one batch: with `full` (or without a last good sync)
    /// every table is replaced and the other family's deleted; otherwise only the element
    /// changes since the last sync are sent. Returns the messages sent.
    pub fn sync(
        &mut self,
        want: &svcroute_core::netfilter::NetfilterPlan,
        full: bool,
    ) -> Result<usize> {
        let ops: Vec<NfOp> = match (&self.last, full) {
            (Some(last), false) => svcroute_core::netfilter::diff::diff(last, want),
            _ => [Family::V4, Family::V6]
                .into_iter()
                .map(|f| match want.table(f) {
                    Some(t) => NfOp::Replace(t.clone()),
                    None => NfOp::Delete(f),
                })
                .collect(),
        };
        let Some((sock, seq)) = self.sock.as_mut() else {
            print!("{}", svcroute_core::netfilter::render::ops(&ops));
            self.last = Some(want.clone());
            return Ok(0);
        };
        self.last = None;
        let sent = send(sock, seq, &op_requests(&ops))?;
        self.last = Some(want.clone());
        Ok(sent.messages)
    }
}

/// Programs the tables once, as the agent's [`Netfilter::sync`] does: the element changes
/// since `old` (what the kernel holds) when given, else every table replaced. Returns a
/// one-line report.
pub fn sync_once(
    old: Option<&svcroute_core::netfilter::NetfilterPlan>,
    new: &svcroute_core::netfilter::NetfilterPlan,
) -> Result<String> {
    let mut nf = Netfilter::connect(false)?;
    nf.last = old.cloned();
    let start = Instant::now();
    let messages = nf.sync(new, old.is_none())?;
    Ok(format!(
        "nft-sync: {messages} messages in one batch, built, sent and acknowledged in {:.1} ms\n",
        start.elapsed().as_secs_f64() * 1000.0
    ))
}
