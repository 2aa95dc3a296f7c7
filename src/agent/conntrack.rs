//! Conntrack cleanup over ctnetlink: kube-proxy's conntrack reconciler
//! (`pkg/proxy/conntrack/cleanup.go`), run after the IPVS and nftables halves of a sync.
//!
//! The decision is the core's ([`svcroute_core::netfilter::conntrack`]); the bytes are the
//! `svcroute-nft` codec's ([`svcroute_nft::ct`]). Here: dump the table of each family that has
//! UDP Services with serving endpoints, ask the core of each entry, delete the stale ones
//! (as `conntrack -D` does: one `IPCTNL_MSG_CT_DELETE` per entry, many to a `sendmsg`, only
//! the last asking for an ACK). An entry that is already gone (`ENOENT`: it expired, or the
//! client's next datagram replaced it) is not an error.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use svcroute_core::model::Family;
use svcroute_core::netfilter::conntrack::{Flow, Serving};
use svcroute_ipvs::Errno;
use svcroute_ipvs::netlink::FamilyMessage;
use svcroute_nft::ct::{self, CtMessage, Entry};

use super::netlink::{MAX_SEND, Protocol, Sequence, Socket};

/// What one cleanup did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Report {
    /// Entries dumped (every protocol).
    pub dumped: usize,
    /// Stale entries deleted.
    pub deleted: usize,
    /// Stale entries already gone when deleted.
    pub gone: usize,
    /// Netlink requests sent (dumps and deletes).
    pub messages: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// The ctnetlink socket.
pub struct Conntrack {
    socket: Socket,
    seq: Sequence,
}

impl Conntrack {
    /// Opens a `NETLINK_NETFILTER` socket.
    pub fn connect() -> Result<Self> {
        Ok(Conntrack {
            socket: Socket::open(Protocol::Netfilter)?,
            seq: Sequence::new(),
        })
    }

    /// Deletes every entry `serving` calls stale, in each family that has UDP frontends.
    pub fn clean(&mut self, serving: &Serving) -> Result<Report> {
        let started = Instant::now();
        let before = self.socket.counters.messages;
        let mut report = Report::default();
        for family in [Family::V4, Family::V6] {
            let has = serving
                .frontends
                .keys()
                .any(|(ip, _)| Family::of(ip) == family)
                || serving.node_ports.keys().any(|(f, _)| *f == family);
            if !has {
                continue;
            }
            let entries = self.dump(ct::family_of(family == Family::V6))?;
            report.dumped += entries.len();
            let stale: Vec<&Entry> = entries
                .iter()
                .filter(|e| {
                    let flow = Flow {
                        protocol: e.orig.protocol,
                        orig_dst: e.orig.dst,
                        orig_dst_port: e.orig.dst_port,
                        reply_src: e.reply.src,
                        reply_src_port: e.reply.src_port,
                    };
                    let stale = serving.is_stale(&flow);
                    if flow.protocol == svcroute_core::netfilter::conntrack::IPPROTO_UDP {
                        tracing::trace!(?flow, ?stale, "conntrack entry");
                    }
                    stale.is_some()
                })
                .collect();
            for e in &stale {
                tracing::debug!(
                    "conntrack: deleting udp {}:{} answered by {}:{} (client {}:{})",
                    e.orig.dst,
                    e.orig.dst_port,
                    e.reply.src,
                    e.reply.src_port,
                    e.orig.src,
                    e.orig.src_port
                );
            }
            let gone = self.delete(&stale)?;
            report.deleted += stale.len() - gone;
            report.gone += gone;
        }
        report.messages = self.socket.counters.messages - before;
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// The entries of one family's table.
    fn dump(&mut self, family: u8) -> Result<Vec<Entry>> {
        let seq = self.seq.next();
        self.socket.send(&ct::dump_request(family, seq), 1)?;
        let mut entries = Vec::new();
        let errors = self.socket.wait_acks(seq, |header, payload| {
            if header.sequence_number == seq
                && let Ok(m) = CtMessage::parse(header.message_type, payload)
                && let Some(e) = Entry::from_message(&m)
            {
                entries.push(e);
            }
            Ok(())
        })?;
        if let Some(e) = errors.get(&seq) {
            anyhow::bail!("dumping the conntrack table: {e}");
        }
        Ok(entries)
    }

    /// Deletes the entries; returns how many were already gone.
    fn delete(&mut self, entries: &[&Entry]) -> Result<usize> {
        let mut gone = 0;
        for chunk in chunks(entries) {
            let mut buf = Vec::new();
            let mut last = 0;
            for (i, e) in chunk.iter().enumerate() {
                last = self.seq.next();
                buf.extend(ct::delete_request(e, last, i + 1 == chunk.len()));
            }
            self.socket.send(&buf, chunk.len())?;
            let errors = self
                .socket
                .wait_acks(last, |_, _| Ok(()))
                .context("deleting conntrack entries")?;
            for e in errors.values() {
                if *e == Errno::ENOENT {
                    gone += 1;
                } else {
                    anyhow::bail!("the kernel refused a conntrack delete: {e}");
                }
            }
        }
        Ok(gone)
    }
}

/// Requests per `sendmsg`: a delete is under 256 bytes.
fn chunks<'a>(entries: &'a [&'a Entry]) -> impl Iterator<Item = &'a [&'a Entry]> {
    entries.chunks(MAX_SEND / 256)
}
