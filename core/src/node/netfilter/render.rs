//! The netfilter plan as `nft -f` input: `svcroute plan -o nftables-ipvs`.
//!
//! [`script`] replaces each family's table atomically (`add table` + `delete table` + the
//! table, one transaction for `nft -f`); [`ops`] writes a [`super::diff`] as `add element` /
//! `delete element` commands.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use super::diff::NfOp;
use super::rules::{self, Action, BaseChain, ChainType, CtState, Field, Hook, Match, Rule};
use super::{Element, KeyKind, NetfilterPlan, SetId, TABLE, Table};
use crate::model::{Family, Protocol};

/// `ip` or `ip6`: the nftables family of a table.
pub fn family_name(f: Family) -> &'static str {
    match f {
        Family::V4 => "ip",
        Family::V6 => "ip6",
    }
}

fn addr_type(f: Family) -> &'static str {
    match f {
        Family::V4 => "ipv4_addr",
        Family::V6 => "ipv6_addr",
    }
}

/// nft's name of a protocol (`tcp`, `udp`, `sctp`).
pub fn proto_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    }
}

/// The set's `type` line.
pub fn set_type(key: KeyKind, f: Family) -> String {
    let a = addr_type(f);
    match key {
        KeyKind::Addr => a.into(),
        KeyKind::Port => "inet_service".into(),
        KeyKind::ProtoPort => "inet_proto . inet_service".into(),
        KeyKind::AddrProtoPort => format!("{a} . inet_proto . inet_service"),
        KeyKind::AddrProtoPortAddr | KeyKind::AddrProtoPortNet => {
            format!("{a} . inet_proto . inet_service . {a}")
        }
    }
}

/// One element as nft writes it (`10.96.0.10 . udp . 53`).
pub fn element(e: &Element) -> String {
    match e {
        Element::Addr(a) => format!("{a}"),
        Element::Port(p) => format!("{p}"),
        Element::ProtoPort(pr, p) => format!("{} . {p}", proto_name(*pr)),
        Element::AddrProtoPort(a, pr, p) => format!("{a} . {} . {p}", proto_name(*pr)),
        Element::AddrProtoPortAddr(a, pr, p, b) => {
            format!("{a} . {} . {p} . {b}", proto_name(*pr))
        }
        Element::AddrProtoPortNet(a, pr, p, n) => format!("{a} . {} . {p} . {n}", proto_name(*pr)),
    }
}

fn field(f: Field, fam: Family) -> String {
    let ip = family_name(fam);
    match f {
        Field::Saddr => format!("{ip} saddr"),
        Field::Daddr => format!("{ip} daddr"),
        Field::L4Proto => "meta l4proto".into(),
        Field::Dport => "th dport".into(),
        Field::TcpDport => "tcp dport".into(),
    }
}

fn matcher(m: &Match, fam: Family) -> String {
    match m {
        Match::Lookup { fields, set } => {
            let key: Vec<String> = fields.iter().map(|f| field(*f, fam)).collect();
            format!("{} @{}", key.join(" . "), set.name())
        }
        Match::Saddr { net, negate } => format!(
            "{} saddr {}{net}",
            family_name(fam),
            if *negate { "!= " } else { "" }
        ),
        Match::FibDaddrLocal => "fib daddr type local".into(),
        Match::FibSaddrNotLocal => "fib saddr type != local".into(),
        Match::Mark { mark, negate } => format!(
            "meta mark & 0x{mark:08x} {} 0x{mark:08x}",
            if *negate { "!=" } else { "==" }
        ),
        Match::Ct(CtState::New) => "ct state new".into(),
        Match::Ct(CtState::EstablishedRelated) => "ct state established,related".into(),
    }
}

fn action(a: &Action) -> String {
    match a {
        Action::Accept => "accept".into(),
        Action::Drop => "drop".into(),
        Action::Return => "return".into(),
        Action::Reject => "reject".into(),
        Action::Jump(c) => format!("jump {}", c.name()),
        Action::Masquerade { fully_random } => {
            if *fully_random {
                "masquerade fully-random".into()
            } else {
                "masquerade".into()
            }
        }
        Action::MarkOr(m) => format!("meta mark set meta mark | 0x{m:08x}"),
        Action::MarkXor(m) => format!("meta mark set meta mark ^ 0x{m:08x}"),
    }
}

/// One rule as nft writes it.
pub fn rule(r: &Rule, fam: Family) -> String {
    let mut parts: Vec<String> = r.matches.iter().map(|m| matcher(m, fam)).collect();
    parts.push(action(&r.action));
    parts.join(" ")
}

/// nft's priority: a standard name where nft accepts it for the hook (`dstnat` only on
/// prerouting, `srcnat` only on postrouting), else the number.
fn priority(p: i32, hook: Hook) -> String {
    let (name, base) = match (hook, p) {
        (Hook::Prerouting, -200..=-1) => ("dstnat", rules::PRIORITY_DSTNAT),
        (Hook::Postrouting, 1..=200) => ("srcnat", rules::PRIORITY_SRCNAT),
        (_, -50..=50) => ("filter", rules::PRIORITY_FILTER),
        _ => return format!("{p}"),
    };
    match p - base {
        0 => name.into(),
        d if d > 0 => format!("{name} + {d}"),
        d => format!("{name} - {}", -d),
    }
}

fn hook_line(b: &BaseChain) -> String {
    let kind = match b.kind {
        ChainType::Nat => "nat",
        ChainType::Filter => "filter",
    };
    format!(
        "type {kind} hook {} priority {}; policy accept;",
        b.hook.name(),
        priority(b.priority, b.hook)
    )
}

fn elements_block(out: &mut String, elements: &[String], indent: &str) {
    out.push_str("{ ");
    for (i, e) in elements.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
            out.push_str(indent);
        }
        out.push_str(e);
    }
    out.push_str(" }");
}

/// The table as an nft block (`table ip svcroute { … }`).
pub fn table(t: &Table) -> String {
    let fam = t.family;
    let mut out = format!("table {} {TABLE} {{\n", family_name(fam));
    out.push_str("\tcomment \"svcroute: the netfilter half of kube-proxy's IPVS mode\"\n");
    for set in SetId::ALL {
        let key = set.key();
        let _ = writeln!(out, "\n\tset {} {{", set.name());
        let _ = writeln!(out, "\t\ttype {}", set_type(key, fam));
        if key == KeyKind::AddrProtoPortNet {
            out.push_str("\t\tflags interval\n");
        }
        let _ = writeln!(out, "\t\tcomment \"{}\"", set.comment());
        let elements: Vec<String> = t.elements(set).map(element).collect();
        if !elements.is_empty() {
            out.push_str("\t\telements = ");
            elements_block(&mut out, &elements, "\t\t\t     ");
            out.push('\n');
        }
        out.push_str("\t}\n");
    }
    for chain in rules::chains(fam, &t.options) {
        let _ = writeln!(out, "\n\tchain {} {{", chain.id.name());
        if let Some(b) = &chain.base {
            let _ = writeln!(out, "\t\t{}", hook_line(b));
        }
        for r in &chain.rules {
            let _ = writeln!(out, "\t\t{}", rule(r, fam));
        }
        out.push_str("\t}\n");
    }
    out.push_str("}\n");
    out
}

/// Replaces the table in one `nft -f` transaction.
pub fn replace(t: &Table) -> String {
    let f = family_name(t.family);
    let mut out = format!("add table {f} {TABLE}\ndelete table {f} {TABLE}\n");
    out.push_str(&table(t));
    out
}

/// Every table of the plan, each replaced atomically: `svcroute plan -o nftables-ipvs`.
pub fn script(plan: &NetfilterPlan) -> String {
    let mut out = String::new();
    for (i, t) in plan.tables.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&replace(t));
    }
    out
}

/// Operations as `nft -f` commands.
pub fn ops(ops: &[NfOp]) -> String {
    let mut out = String::new();
    for op in ops {
        match op {
            NfOp::Replace(t) => out.push_str(&replace(t)),
            NfOp::Delete(f) => {
                let _ = writeln!(out, "delete table {} {TABLE}", family_name(*f));
            }
            NfOp::AddElements {
                family,
                set,
                elements,
            }
            | NfOp::DeleteElements {
                family,
                set,
                elements,
            } => {
                let verb = if matches!(op, NfOp::AddElements { .. }) {
                    "add"
                } else {
                    "delete"
                };
                let _ = write!(
                    out,
                    "{verb} element {} {TABLE} {} ",
                    family_name(*family),
                    set.name()
                );
                let elements: Vec<String> = elements.iter().map(element).collect();
                elements_block(&mut out, &elements, "\t");
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities() {
        assert_eq!(priority(-100, Hook::Prerouting), "dstnat");
        assert_eq!(priority(-100, Hook::Output), "-100");
        assert_eq!(priority(-110, Hook::Output), "-110");
        assert_eq!(priority(100, Hook::Postrouting), "srcnat");
        assert_eq!(priority(0, Hook::Input), "filter");
    }
}
