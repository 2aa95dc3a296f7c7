//! Building IPVS requests, batching many into one buffer, and reading the replies.

use alloc::vec::Vec;
use core::net::IpAddr;

use crate::message::{IpvsAttr, IpvsCmd, IpvsMessage};
use crate::netlink::{
    FamilyMessage, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload, parse_messages,
};
use crate::types::{Destination, Family, Service, ServiceKey};
use crate::{DecodeError, Errno};

impl IpvsMessage {
    /// `IPVS_CMD_NEW_SERVICE` with all the service's attributes.
    pub fn new_service(service: &Service) -> Self {
        IpvsMessage::new(
            IpvsCmd::NewService,
            alloc::vec![IpvsAttr::Service(service.to_attrs())],
        )
    }

    /// `IPVS_CMD_SET_SERVICE`: the service found by its key gets these settings.
    pub fn set_service(service: &Service) -> Self {
        IpvsMessage::new(
            IpvsCmd::SetService,
            alloc::vec![IpvsAttr::Service(service.to_attrs())],
        )
    }

    /// `IPVS_CMD_DEL_SERVICE` (the key is enough).
    pub fn del_service(key: &ServiceKey) -> Self {
        IpvsMessage::new(
            IpvsCmd::DelService,
            alloc::vec![IpvsAttr::Service(key.to_attrs())],
        )
    }

    /// `IPVS_CMD_GET_SERVICE` for one service (not a dump).
    pub fn get_service(key: &ServiceKey) -> Self {
        IpvsMessage::new(
            IpvsCmd::GetService,
            alloc::vec![IpvsAttr::Service(key.to_attrs())],
        )
    }

    /// `IPVS_CMD_GET_SERVICE` without attributes: dump all services (send with `NLM_F_DUMP`).
    pub fn get_services() -> Self {
        IpvsMessage::new(IpvsCmd::GetService, Vec::new())
    }

    /// `IPVS_CMD_NEW_DEST`.
    pub fn new_dest(service: &ServiceKey, dest: &Destination) -> Self {
        IpvsMessage::new(
            IpvsCmd::NewDest,
            alloc::vec![
                IpvsAttr::Service(service.to_attrs()),
                IpvsAttr::Dest(dest.to_attrs())
            ],
        )
    }

    /// `IPVS_CMD_SET_DEST` (e.g. a new weight).
    pub fn set_dest(service: &ServiceKey, dest: &Destination) -> Self {
        IpvsMessage::new(
            IpvsCmd::SetDest,
            alloc::vec![
                IpvsAttr::Service(service.to_attrs()),
                IpvsAttr::Dest(dest.to_attrs())
            ],
        )
    }

    /// `IPVS_CMD_DEL_DEST` (address and port identify the destination).
    pub fn del_dest(service: &ServiceKey, address: IpAddr, port: u16) -> Self {
        IpvsMessage::new(
            IpvsCmd::DelDest,
            alloc::vec![
                IpvsAttr::Service(service.to_attrs()),
                IpvsAttr::Dest(Destination::key_attrs(address, port))
            ],
        )
    }

    /// `IPVS_CMD_GET_DEST`: dump the destinations of a service (send with `NLM_F_DUMP`).
    pub fn get_dests(service: &ServiceKey) -> Self {
        IpvsMessage::new(
            IpvsCmd::GetDest,
            alloc::vec![IpvsAttr::Service(service.to_attrs())],
        )
    }

    /// `IPVS_CMD_FLUSH`: delete every service.
    pub fn flush() -> Self {
        IpvsMessage::new(IpvsCmd::Flush, Vec::new())
    }

    /// `IPVS_CMD_ZERO`: zero all counters.
    pub fn zero() -> Self {
        IpvsMessage::new(IpvsCmd::Zero, Vec::new())
    }

    /// `IPVS_CMD_GET_INFO`: version and connection table size (the reply is `SetInfo`).
    pub fn get_info() -> Self {
        IpvsMessage::new(IpvsCmd::GetInfo, Vec::new())
    }

    /// `IPVS_CMD_GET_CONFIG`: the timeouts (the reply is `SetConfig`).
    pub fn get_config() -> Self {
        IpvsMessage::new(IpvsCmd::GetConfig, Vec::new())
    }

    /// Whether this request asks for a dump: GET_DEST, or GET_SERVICE without a service.
    pub fn is_dump_request(&self) -> bool {
        match self.cmd {
            IpvsCmd::GetDest => true,
            IpvsCmd::GetService => self.service_attrs().is_none(),
            _ => false,
        }
    }

    /// The flags ipvsadm uses: `NLM_F_REQUEST | NLM_F_ACK`, plus `NLM_F_DUMP` for dumps.
    pub fn default_flags(&self) -> u16 {
        let dump = if self.is_dump_request() {
            NLM_F_DUMP
        } else {
            0
        };
        NLM_F_REQUEST | NLM_F_ACK | dump
    }

    /// This message as a whole netlink request with [`IpvsMessage::default_flags`].
    pub fn into_request(
        self,
        family_id: u16,
        sequence_number: u32,
        port_number: u32,
    ) -> NetlinkMessage<IpvsMessage> {
        let header = NetlinkHeader {
            message_type: family_id,
            flags: self.default_flags(),
            sequence_number,
            port_number,
        };
        NetlinkMessage::new(header, self)
    }
}

/// Many requests in one buffer, with consecutive sequence numbers, for one `sendmsg`.
///
/// Each request asks for an ACK, so the kernel answers every one (a reply or an error, then an
/// ACK); [`Replies`] matches them back by sequence number.
#[derive(Debug, Clone)]
pub struct Batch {
    family_id: u16,
    port_number: u32,
    next_seq: u32,
    buf: Vec<u8>,
    seqs: Vec<u32>,
}

impl Batch {
    /// An empty batch for the IPVS family id (from the controller), the socket's port id (0 lets
    /// the kernel fill it), and the first sequence number.
    pub fn new(family_id: u16, port_number: u32, first_seq: u32) -> Self {
        Batch {
            family_id,
            port_number,
            next_seq: first_seq,
            buf: Vec::new(),
            seqs: Vec::new(),
        }
    }

    /// Appends a request with [`IpvsMessage::default_flags`]; returns its sequence number.
    pub fn push(&mut self, msg: IpvsMessage) -> u32 {
        let flags = msg.default_flags();
        self.push_with_flags(msg, flags)
    }

    /// Appends a request with explicit `nlmsg_flags`; returns its sequence number.
    pub fn push_with_flags(&mut self, msg: IpvsMessage, flags: u16) -> u32 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let header = NetlinkHeader {
            message_type: self.family_id,
            flags,
            sequence_number: seq,
            port_number: self.port_number,
        };
        NetlinkMessage::new(header, msg).emit(&mut self.buf);
        self.seqs.push(seq);
        seq
    }

    /// The bytes to send.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The sequence numbers of the requests, in order.
    pub fn sequence_numbers(&self) -> &[u32] {
        &self.seqs
    }

    /// How many requests it holds.
    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }

    /// The sequence number the next request will get.
    pub fn next_sequence_number(&self) -> u32 {
        self.next_seq
    }

    /// Empties it (sequence numbers keep counting).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.seqs.clear();
    }
}

/// Replies read from the socket, gathered across `recvmsg` calls.
#[derive(Debug, Clone, Default)]
pub struct Replies {
    messages: Vec<NetlinkMessage<IpvsMessage>>,
}

impl Replies {
    /// No replies yet.
    pub fn new() -> Self {
        Replies::default()
    }

    /// Parses one received buffer (one or many messages) and keeps them.
    pub fn feed(&mut self, buf: &[u8]) -> Result<(), DecodeError> {
        self.messages.extend(parse_messages::<IpvsMessage>(buf)?);
        Ok(())
    }

    /// All messages so far.
    pub fn messages(&self) -> &[NetlinkMessage<IpvsMessage>] {
        &self.messages
    }

    /// The outcome of the request with sequence number `seq`: `None` while no ACK or error
    /// for it has arrived.
    pub fn result(&self, seq: u32) -> Option<Result<(), Errno>> {
        self.messages
            .iter()
            .filter(|m| m.header.sequence_number == seq)
            .find_map(|m| m.ack_result())
    }

    /// Whether the dump with sequence number `seq` is complete (its `NLMSG_DONE` or an error
    /// arrived).
    pub fn dump_done(&self, seq: u32) -> bool {
        self.messages
            .iter()
            .filter(|m| m.header.sequence_number == seq)
            .any(|m| {
                matches!(m.payload, NetlinkPayload::Done(_))
                    || matches!(&m.payload, NetlinkPayload::Error(e) if e.code != 0)
            })
    }

    /// The IPVS messages answering `seq` (dump parts or a single reply).
    pub fn data(&self, seq: u32) -> impl Iterator<Item = &IpvsMessage> {
        self.messages
            .iter()
            .filter(move |m| m.header.sequence_number == seq)
            .filter_map(|m| match &m.payload {
                NetlinkPayload::Inner(p) => Some(p),
                _ => None,
            })
    }

    /// The services in the replies to `seq` (a GET_SERVICE dump or single get).
    pub fn services(&self, seq: u32) -> Result<Vec<Service>, DecodeError> {
        self.data(seq)
            .filter_map(|m| m.service_attrs())
            .map(Service::from_attrs)
            .collect()
    }

    /// The destinations in the replies to `seq` (a GET_DEST dump of a service of `family`).
    pub fn destinations(&self, seq: u32, family: Family) -> Result<Vec<Destination>, DecodeError> {
        self.data(seq)
            .filter_map(|m| m.dest_attrs())
            .map(|d| Destination::from_attrs(d, family))
            .collect()
    }

    /// Forgets everything received.
    pub fn clear(&mut self) {
        self.messages.clear();
    }
}

/// Parses a buffer of replies of any [`FamilyMessage`].
pub fn parse_replies<P: FamilyMessage>(buf: &[u8]) -> Result<Vec<NetlinkMessage<P>>, DecodeError> {
    parse_messages(buf)
}
