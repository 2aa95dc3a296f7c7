//! The netlink socket layer: the only place the agent touches `AF_NETLINK` sockets.
//!
//! A [`Socket`] sends buffers that hold many requests (one `sendmsg` each) and reads replies
//! until every request it waits for is answered. Requests that need no answer of their own are
//! sent without `NLM_F_ACK`: the kernel still answers an error for them, and it handles the
//! messages of one buffer in order, so once the last request's ACK is read every earlier error
//! has been read too. That is what makes a large sync a few system calls instead of one round
//! trip per operation.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::sockopt::{self, Timeout};
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};
use svcroute_ipvs::{Errno, MessageIter, NetlinkHeader};

/// Receive buffer of the socket: room for many ACKs and errors before the kernel drops any.
const RCVBUF: usize = 8 << 20;
/// Send buffer: the largest single `sendmsg` the kernel accepts is a little less.
const SNDBUF: usize = 1 << 20;
/// How many bytes of requests go into one `sendmsg` (below [`SNDBUF`]).
pub const MAX_SEND: usize = 256 << 10;
/// How long to wait for an answer before giving up on the kernel.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Counters of one socket, for the sync log and the benchmark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Netlink requests sent.
    pub messages: u64,
    /// `sendmsg` calls.
    pub sends: u64,
    /// `recvmsg` calls.
    pub recvs: u64,
}

/// A netlink socket of one protocol.
pub struct Socket {
    fd: OwnedFd,
    buf: Vec<u8>,
    /// What went through it.
    pub counters: Counters,
}

/// Which netlink protocol.
#[derive(Clone, Copy, Debug)]
pub enum Protocol {
    /// `NETLINK_GENERIC` (IPVS).
    Generic,
    /// `NETLINK_ROUTE` (links and addresses).
    Route,
    /// `NETLINK_NETFILTER` (nf_tables).
    Netfilter,
}

impl Socket {
    /// Opens and binds a socket (the kernel picks the port id).
    pub fn open(protocol: Protocol) -> Result<Self> {
        let proto = match protocol {
            Protocol::Generic => Some(netlink::GENERIC),
            Protocol::Route => None, // NETLINK_ROUTE is protocol 0
            Protocol::Netfilter => Some(netlink::NETFILTER),
        };
        let fd = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            proto,
        )
        .with_context(|| format!("opening a {protocol:?} netlink socket"))?;
        rustix::net::bind(&fd, &SocketAddrNetlink::new(0, 0)).context("binding netlink socket")?;
        // FORCE needs CAP_NET_ADMIN, which the agent has; fall back to the capped size.
        if sockopt::set_socket_recv_buffer_size_force(&fd, RCVBUF).is_err() {
            let _ = sockopt::set_socket_recv_buffer_size(&fd, RCVBUF);
        }
        if sockopt::set_socket_send_buffer_size_force(&fd, SNDBUF).is_err() {
            let _ = sockopt::set_socket_send_buffer_size(&fd, SNDBUF);
        }
        sockopt::set_socket_timeout(&fd, Timeout::Recv, Some(TIMEOUT))
            .context("setting the netlink receive timeout")?;
        Ok(Socket {
            fd,
            buf: vec![0; 1 << 20],
            counters: Counters::default(),
        })
    }

    /// Raises the send buffer so that one `sendmsg` can carry `bytes` (an nf_tables batch is
    /// one transaction only within one datagram).
    pub fn reserve_send(&mut self, bytes: usize) {
        let want = bytes + (64 << 10);
        if sockopt::set_socket_send_buffer_size_force(&self.fd, want).is_err() {
            let _ = sockopt::set_socket_send_buffer_size(&self.fd, want);
        }
    }

    /// Sends one buffer of `count` requests.
    pub fn send(&mut self, bytes: &[u8], count: usize) -> Result<()> {
        let n = loop {
            match rustix::net::sendto(
                &self.fd,
                bytes,
                SendFlags::empty(),
                &SocketAddrNetlink::new(0, 0),
            ) {
                // A signal (SIGTERM: the agent finishes its sync first) interrupted the call.
                Err(rustix::io::Errno::INTR) => continue,
                other => break other.context("sendmsg on the netlink socket")?,
            }
        };
        if n != bytes.len() {
            bail!("netlink sendmsg sent {n} of {} bytes", bytes.len());
        }
        self.counters.sends += 1;
        self.counters.messages += count as u64;
        Ok(())
    }

    /// Reads one datagram (one or more messages). Fails on a timeout or an overrun (ENOBUFS:
    /// the kernel dropped answers because the receive buffer was full).
    pub fn recv(&mut self) -> Result<&[u8]> {
        // A socket with a receive timeout is not restarted after a signal handler ran (signal(7)):
        // SIGTERM mid-sync shows up here as EINTR, and the sync goes on.
        let (_, n) = loop {
            match rustix::net::recv(&self.fd, &mut self.buf[..], RecvFlags::empty()) {
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::AGAIN) => {
                    bail!("no answer from the kernel within {TIMEOUT:?}")
                }
                Err(e) => {
                    return Err(anyhow::Error::from(e).context("recvmsg on the netlink socket"));
                }
                Ok(r) => break r,
            }
        };
        self.counters.recvs += 1;
        if n > self.buf.len() {
            bail!("netlink datagram of {n} bytes truncated");
        }
        Ok(&self.buf[..n])
    }

    /// Reads until the request `last` is answered (an ACK or an error), collecting the errors
    /// of every request by sequence number. Messages that are neither (dump parts) go to
    /// `on_data`.
    pub fn wait_acks(
        &mut self,
        last: u32,
        mut on_data: impl FnMut(&NetlinkHeader, &[u8]) -> Result<()>,
    ) -> Result<HashMap<u32, Errno>> {
        let mut errors = HashMap::new();
        loop {
            let datagram = self.recv()?;
            let mut done = false;
            for msg in MessageIter::new(datagram) {
                let msg = msg.context("malformed netlink reply")?;
                let (_, header) = NetlinkHeader::parse(msg).context("netlink header")?;
                let payload = &msg[16..];
                match header.message_type {
                    svcroute_ipvs::netlink::NLMSG_ERROR => {
                        let code = payload
                            .get(..4)
                            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                            .context("short nlmsgerr")?;
                        if let Some(e) = Errno::from_code(code) {
                            errors.insert(header.sequence_number, e);
                        }
                        if header.sequence_number == last {
                            done = true;
                        }
                    }
                    svcroute_ipvs::netlink::NLMSG_DONE => {
                        if header.sequence_number == last {
                            done = true;
                        }
                    }
                    _ => on_data(&header, payload)?,
                }
            }
            if done {
                return Ok(errors);
            }
        }
    }
}

/// Sequence numbers for one socket.
#[derive(Debug)]
pub struct Sequence(u32);

impl Sequence {
    /// Starts at a number derived from the clock, so that replies to an earlier process on a
    /// reused port id cannot be mistaken for ours.
    pub fn new() -> Self {
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(1);
        Sequence(start | 1)
    }

    /// The next number.
    pub fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(1);
        self.0
    }
}
