//! Loads the captured vectors in `tests/vectors/*.txt` (written by `cargo xtask vm capture`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use svcroute_ipvs::netlink::NetlinkHeader;

/// Who sent a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// ipvsadm to the kernel.
    Request,
    /// The kernel to ipvsadm.
    Reply,
}

/// One captured packet (one or more netlink messages).
#[derive(Debug, Clone)]
pub struct Record {
    pub dir: Dir,
    pub bytes: Vec<u8>,
}

impl Record {
    /// The header of the first message.
    pub fn header(&self) -> NetlinkHeader {
        NetlinkHeader::parse(&self.bytes).unwrap().1
    }

    /// `genlmsghdr.cmd` of the first message.
    pub fn genl_cmd(&self) -> u8 {
        self.bytes[16]
    }
}

/// One vector file: the command and its records.
#[derive(Debug, Clone)]
pub struct Vector {
    pub name: String,
    pub command: String,
    pub records: Vec<Record>,
}

impl Vector {
    /// The requests to the IPVS family (type `family_id`).
    pub fn ipvs_requests(&self, family_id: u16) -> Vec<&Record> {
        self.records
            .iter()
            .filter(|r| r.dir == Dir::Request && r.header().message_type == family_id)
            .collect()
    }

    /// The records after `request` with its sequence number and port (its replies).
    pub fn replies_to(&self, request: &Record) -> Vec<&Record> {
        let h = request.header();
        self.records
            .iter()
            .filter(|r| {
                r.dir == Dir::Reply
                    && r.header().sequence_number == h.sequence_number
                    && r.header().port_number == h.port_number
            })
            .collect()
    }

    /// The last IPVS request whose genl command is `cmd` (the command's own request; earlier
    /// ones are ipvsadm's GET_INFO at start-up).
    pub fn last_request(&self, family_id: u16, cmd: u8) -> &Record {
        self.ipvs_requests(family_id)
            .into_iter()
            .rfind(|r| r.genl_cmd() == cmd)
            .unwrap_or_else(|| panic!("{}: no request with cmd {cmd}", self.name))
    }
}

pub fn vectors_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors"))
}

/// Reads `tests/vectors/NAME.txt`.
pub fn load(name: &str) -> Vector {
    let path = vectors_dir().join(format!("{name}.txt"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(name, &text)
}

/// Every vector file.
pub fn all() -> Vec<Vector> {
    let mut names: Vec<String> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".txt"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names.iter().map(|n| load(n)).collect()
}

fn parse(name: &str, text: &str) -> Vector {
    let command = text
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("# ")
        .to_string();
    let mut records: Vec<Record> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line {
            ">" => records.push(Record {
                dir: Dir::Request,
                bytes: Vec::new(),
            }),
            "<" => records.push(Record {
                dir: Dir::Reply,
                bytes: Vec::new(),
            }),
            hex => {
                let rec = records.last_mut().expect("hex before a direction line");
                rec.bytes.extend(
                    hex.split_whitespace()
                        .map(|b| u8::from_str_radix(b, 16).unwrap()),
                );
            }
        }
    }
    Vector {
        name: name.to_string(),
        command,
        records,
    }
}

/// The IPVS family id, read from the first controller reply of a vector.
pub fn ipvs_family_id(v: &Vector) -> u16 {
    use svcroute_ipvs::{CtrlMessage, FamilyInfo, NetlinkMessage};
    let reply = v
        .records
        .iter()
        .find(|r| r.dir == Dir::Reply && r.header().message_type == 0x10)
        .unwrap();
    let msgs: Vec<NetlinkMessage<CtrlMessage>> =
        svcroute_ipvs::parse_messages(&reply.bytes).unwrap();
    FamilyInfo::from_replies(&msgs).unwrap().unwrap().id
}
