//! The agent's netfilter half: the core's nftables tables (`ip svcroute`, `ip6 svcroute`)
//! turned into nf_tables requests ([`svcroute_nft`]) and sent as one NFNL batch — one atomic
//! transaction — per sync.
//!
//! A full sync (at start and every `--sync-period`) reads each table back from the kernel
//! ([`resync_requests`]: the table, its chains, sets and rules, then every set's elements, as
//! `nft list table` does) and sends only what differs: nothing when the table is as planned,
//! element deletions and additions when only elements differ, and the whole table replaced
//! (nft's `add table; delete table; add table …` in one batch) when a chain, a set or a rule
//! differs or the table changed while it was read. So a restart adopts a table as planned
//! without touching it, and anything changed by hand is repaired at the next resync. The syncs
//! in between send only the element changes since the last good sync ([`NfOp`] lists). Nothing
//! else in nftables is touched.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ipnet::IpNet;
use svcroute_core::model::{Family, Protocol};
use svcroute_core::netfilter::diff::NfOp;
use svcroute_core::netfilter::rules::{self, Action, ChainType, CtState, Field, Match, Rule};
use svcroute_core::netfilter::{Element, KeyKind, SetId, TABLE, Table};
use svcroute_nft::Attr;
use svcroute_nft::build::{self, ChainHook, NF_ACCEPT, Request, SetElem, SetSpec};
use svcroute_nft::dump::{self, SetShape};
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

/// A base chain's type, hook, priority and policy.
fn chain_hook(c: &rules::Chain) -> Option<ChainHook> {
    c.base.map(|b| ChainHook {
        kind: match b.kind {
            ChainType::Nat => "nat".into(),
            ChainType::Filter => "filter".into(),
        },
        hooknum: b.hook.number(),
        priority: b.priority,
        policy: NF_ACCEPT,
    })
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
        out.push(build::new_chain(
            f,
            TABLE,
            c.id.name(),
            chain_hook(c).as_ref(),
        ));
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

    /// Brings the tables to `want` in one batch. With `full` (or without a last good sync) the
    /// kernel's tables are read back ([`resync_requests`]) and only what differs is sent:
    /// nothing when they are as planned, the elements that differ when only elements do, the
    /// table replaced whole when anything else does. Otherwise only the element changes since
    /// the last sync are sent. Returns the messages sent and the time spent reading the
    /// tables back. A dry run prints the operations (a full sync: every table replaced, as the
    /// kernel is not read).
    pub fn sync(
        &mut self,
        want: &svcroute_core::netfilter::NetfilterPlan,
        full: bool,
    ) -> Result<(usize, Duration)> {
        let incremental = match (&self.last, full) {
            (Some(last), false) => Some(svcroute_core::netfilter::diff::diff(last, want)),
            _ => None,
        };
        let Some((sock, seq)) = self.sock.as_mut() else {
            let ops = incremental.unwrap_or_else(|| replace_all(want));
            print!("{}", svcroute_core::netfilter::render::ops(&ops));
            self.last = Some(want.clone());
            return Ok((0, Duration::ZERO));
        };
        self.last = None;
        let read = Instant::now();
        let requests = match incremental {
            Some(ops) => op_requests(&ops),
            None => resync_requests(sock, seq, want)?,
        };
        let read = read.elapsed();
        let sent = send(sock, seq, &requests)?;
        self.last = Some(want.clone());
        Ok((sent.messages, read))
    }
}

/// Every table of `want` replaced, the other family's deleted.
fn replace_all(want: &svcroute_core::netfilter::NetfilterPlan) -> Vec<NfOp> {
    [Family::V4, Family::V6]
        .into_iter()
        .map(|f| match want.table(f) {
            Some(t) => NfOp::Replace(t.clone()),
            None => NfOp::Delete(f),
        })
        .collect()
}

/// Reads dumps on one socket, noticing when the ruleset changed while they ran: a dump the
/// kernel marks interrupted (`NLM_F_DUMP_INTR`), or replies of another generation (the low 16
/// bits the kernel puts in `res_id`).
struct Reader<'a> {
    sock: &'a mut Socket,
    seq: &'a mut Sequence,
    generation: Option<u16>,
    consistent: bool,
}

impl Reader<'_> {
    /// Sends `request` and hands every reply to `each`; the kernel's error, if it answered one.
    fn dump(
        &mut self,
        request: &Request,
        mut each: impl FnMut(&svcroute_nft::NftMessage),
    ) -> Result<Option<svcroute_ipvs::Errno>> {
        use svcroute_ipvs::netlink::FamilyMessage;
        self.dump_raw(request, |message_type, payload| {
            let m = svcroute_nft::NftMessage::parse(message_type, payload)
                .context("parsing an nf_tables dump")?;
            each(&m);
            Ok(())
        })
    }

    /// [`Self::dump`], handing `each` every reply's type and payload unparsed.
    fn dump_raw(
        &mut self,
        request: &Request,
        mut each: impl FnMut(u16, &[u8]) -> Result<()>,
    ) -> Result<Option<svcroute_ipvs::Errno>> {
        use svcroute_ipvs::netlink::{NLM_F_DUMP_INTR, NetlinkHeader};
        let s = self.seq.next();
        let bytes = svcroute_ipvs::netlink::NetlinkMessage::new(
            NetlinkHeader {
                message_type: request.msg.kind.message_type(),
                flags: request.flags,
                sequence_number: s,
                port_number: 0,
            },
            request.msg.clone(),
        )
        .to_bytes();
        self.sock.send(&bytes, 1)?;
        let (generation, consistent) = (&mut self.generation, &mut self.consistent);
        let mut errors = self.sock.wait_acks(s, |header, payload| {
            if header.sequence_number != s {
                return Ok(());
            }
            // nfgenmsg: family, version, res_id (big-endian): the generation's low 16 bits.
            let res_id = payload.get(2..4).map(|b| u16::from_be_bytes([b[0], b[1]]));
            let res_id = res_id.context("a short nf_tables reply")?;
            if header.flags & NLM_F_DUMP_INTR != 0 || *generation.get_or_insert(res_id) != res_id {
                *consistent = false;
            }
            each(header.message_type, payload)
        })?;
        Ok(errors.remove(&s))
    }
}

/// What the kernel holds of one family's table, elements aside.
#[derive(Debug, Default, PartialEq, Eq)]
struct Held {
    /// Chains by name, with their hooks.
    chains: BTreeMap<String, Option<ChainHook>>,
    /// Sets by name.
    sets: BTreeMap<String, SetShape>,
    /// Each chain's rules in order, their expressions canonical.
    rules: BTreeMap<String, Vec<Vec<Attr>>>,
}

impl Held {
    /// What `t` is made of, in the same terms.
    fn of(t: &Table) -> Held {
        let mut held = Held::default();
        for (i, set) in SetId::ALL.iter().enumerate() {
            let spec = set_spec(set.key(), t.family, i as u32 + 1);
            held.sets.insert(set.name().to_owned(), SetShape::of(&spec));
        }
        for c in rules::chains(t.family, &t.options) {
            held.chains.insert(c.id.name().to_owned(), chain_hook(&c));
            let rules: Vec<Vec<Attr>> = c
                .rules
                .iter()
                .map(|r| {
                    rule_exprs(r, t.family)
                        .iter()
                        .map(|e| dump::canonical_expr(&e.to_attr()))
                        .collect()
                })
                .collect();
            if !rules.is_empty() {
                held.rules.insert(c.id.name().to_owned(), rules);
            }
        }
        held
    }

    /// What differs from `want`, in words; `None` when nothing does.
    fn differs(&self, want: &Held) -> Option<String> {
        /// Other names held ("`plural` [names]"), or the first name whose value differs
        /// ("the `what` `kind` name").
        fn by_name<V: PartialEq>(
            held: &BTreeMap<String, V>,
            want: &BTreeMap<String, V>,
            plural: &str,
            what: &str,
        ) -> Option<String> {
            if held.keys().ne(want.keys()) {
                let names: Vec<&str> = held.keys().map(String::as_str).collect();
                return Some(format!("{plural} [{}]", names.join(" ")));
            }
            held.iter()
                .find(|(n, v)| want.get(*n) != Some(*v))
                .map(|(n, _)| format!("{what} {n}"))
        }
        if let Some(why) = by_name(&self.sets, &want.sets, "sets", "the definition of set") {
            return Some(why);
        }
        if let Some(why) = by_name(&self.chains, &want.chains, "chains", "the hook of chain") {
            return Some(why);
        }
        let chains = self.rules.keys().chain(want.rules.keys());
        if let Some(n) = chains
            .into_iter()
            .find(|n| self.rules.get(*n) != want.rules.get(*n))
        {
            return Some(format!("the rules of chain {n}"));
        }
        None
    }
}

/// Reads one family's table back: `None` when the kernel has none.
fn read_held(r: &mut Reader<'_>, f: u8) -> Result<Option<Held>> {
    let what = |e: svcroute_ipvs::Errno, d: &str| anyhow::anyhow!("nf_tables dump of {d}: {e}");
    match r.dump(&dump::get_table(f, TABLE), |_| {})? {
        Some(e) if e == svcroute_ipvs::Errno::ENOENT => return Ok(None),
        Some(e) => return Err(what(e, "the table")),
        None => {}
    }
    let mut held = Held::default();
    if let Some(e) = r.dump(&dump::dump_chains(f), |m| {
        if let Some(c) = dump::Chain::read(m).filter(|c| c.table == TABLE) {
            held.chains.insert(c.name, c.hook);
        }
    })? {
        return Err(what(e, "the chains"));
    }
    match r.dump(&dump::dump_sets(f, TABLE), |m| {
        if let Some(s) = dump::Set::read(m).filter(|s| s.table == TABLE) {
            held.sets.insert(s.name, s.shape);
        }
    })? {
        Some(e) if e == svcroute_ipvs::Errno::ENOENT => return Ok(None), // deleted meanwhile
        Some(e) => return Err(what(e, "the sets")),
        None => {}
    }
    if let Some(e) = r.dump(&dump::dump_rules(f, TABLE), |m| {
        if let Some(rule) = dump::Rule::read(m).filter(|x| x.table == TABLE) {
            held.rules.entry(rule.chain).or_default().push(rule.exprs);
        }
    })? {
        return Err(what(e, "the rules"));
    }
    Ok(Some(held))
}

/// The requests a full sync sends: each family's table read back from the kernel (as `nft
/// list table` reads it: the table, its chains, sets, rules, then each set's elements) and
/// compared with the plan. A table as planned gets nothing; one whose elements alone differ
/// gets those elements deleted and added (as kube-proxy's nftables mode diffs its sets' and
/// maps' elements at a full sync, `nftElementStorage` in `pkg/proxy/nftables/proxier.go`); one
/// whose sets, chains or rules differ (a hand edit, other flags, an older agent's table), or
/// that changed while it was read, is replaced whole; a table the plan has no more is deleted.
/// All of it goes in one batch, one transaction.
pub fn resync_requests(
    sock: &mut Socket,
    seq: &mut Sequence,
    want: &svcroute_core::netfilter::NetfilterPlan,
) -> Result<Vec<Request>> {
    let mut out = Vec::new();
    for family in [Family::V4, Family::V6] {
        let f = nfproto(family);
        let mut r = Reader {
            sock: &mut *sock,
            seq: &mut *seq,
            generation: None,
            consistent: true,
        };
        let held = read_held(&mut r, f)?;
        let (t, held) = match (want.table(family), held) {
            (None, None) => continue,
            (None, Some(_)) => {
                out.extend(op_requests(&[NfOp::Delete(family)]));
                continue;
            }
            (Some(t), None) => {
                out.extend(table_requests(t));
                continue;
            }
            (Some(t), Some(h)) => (t, h),
        };
        if let Some(why) = held.differs(&Held::of(t)) {
            tracing::info!(
                "nftables: {} {TABLE} differs from the plan ({why}): replacing it",
                family_word(family)
            );
            out.extend(table_requests(t));
            continue;
        }
        let mut elements = Vec::new();
        for set in SetId::ALL {
            let (gone, added) = element_differences(&mut r, f, t, set)?;
            elements.push((set, gone, added));
        }
        if !r.consistent {
            tracing::info!(
                "nftables: {} {TABLE} changed while it was read: replacing it",
                family_word(family)
            );
            out.extend(table_requests(t));
            continue;
        }
        for (set, gone, added) in elements {
            for (elems, add) in [(gone, false), (added, true)] {
                for chunk in elems.chunks(ELEMENTS_PER_MESSAGE) {
                    out.push(if add {
                        build::new_elements(f, TABLE, set.name(), None, chunk)
                    } else {
                        build::del_elements(f, TABLE, set.name(), chunk)
                    });
                }
            }
        }
    }
    Ok(out)
}

/// The elements of `set` the kernel holds and `t` does not (to delete), and those `t` holds
/// and the kernel does not (to add). The kernel's are read from the dump's bytes and looked
/// up by their bytes (key, then range end): nothing is allocated per element held as planned.
fn element_differences(
    r: &mut Reader<'_>,
    f: u8,
    t: &Table,
    set: SetId,
) -> Result<(Vec<SetElem>, Vec<SetElem>)> {
    let want: Vec<SetElem> = t.elements(set).map(set_elem).collect();
    let mut flat = Vec::new();
    let mut bounds = Vec::with_capacity(want.len());
    for e in &want {
        let start = flat.len();
        flat.extend_from_slice(&e.key);
        flat.extend_from_slice(e.key_end.as_deref().unwrap_or_default());
        bounds.push((start, flat.len()));
    }
    let mut missing: HashMap<&[u8], usize> = bounds
        .iter()
        .enumerate()
        .map(|(i, (a, b))| (&flat[*a..*b], i))
        .collect();
    let mut gone = Vec::new();
    let new_elem = svcroute_nft::Kind::Nft(svcroute_nft::Cmd::NewSetElem).message_type();
    let mut record = Vec::new();
    let error = r.dump_raw(
        &dump::dump_elements(f, TABLE, set.name()),
        |kind, payload| {
            if kind != new_elem {
                return Ok(());
            }
            let name = dump::for_each_element(payload, |(key, end)| {
                record.clear();
                record.extend_from_slice(key);
                record.extend_from_slice(end.unwrap_or_default());
                if missing.remove(record.as_slice()).is_none() {
                    gone.push(SetElem {
                        key: key.to_vec(),
                        key_end: end.map(<[u8]>::to_vec),
                    });
                }
            })
            .map_err(|e| anyhow::anyhow!("a malformed element dump of set {}: {e}", set.name()))?;
            if name.is_some_and(|n| n != set.name()) {
                bail!("the kernel dumped set {name:?} for set {}", set.name());
            }
            Ok(())
        },
    )?;
    if let Some(e) = error {
        bail!("nf_tables dump of set {}: {e}", set.name());
    }
    let mut added: Vec<usize> = missing.into_values().collect();
    added.sort_unstable();
    let added = added.into_iter().map(|i| want[i].clone()).collect();
    gone.sort();
    Ok((gone, added))
}

fn family_word(f: Family) -> &'static str {
    match f {
        Family::V4 => "ip",
        Family::V6 => "ip6",
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
    let (messages, read) = nf.sync(new, old.is_none())?;
    Ok(format!(
        "nft-sync: {messages} messages in one batch, built, sent and acknowledged in {:.1} ms \
         (reading the tables back: {:.1} ms)\n",
        start.elapsed().as_secs_f64() * 1000.0,
        read.as_secs_f64() * 1000.0
    ))
}
