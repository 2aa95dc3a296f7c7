//! Captured vectors on disk: `tests/<dir>/NAME.txt`, comments, then `>` (user to kernel) or
//! `<` records, each followed by its bytes in hex.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;

/// One captured packet: `>` (user to kernel) or `<`, and its bytes.
pub struct Record {
    pub request: bool,
    pub bytes: Vec<u8>,
}

/// The records of `tests/DIR/NAME.txt`.
pub fn load(dir: &str, name: &str) -> Vec<Record> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/{dir}/{name}.txt"));
    let text = std::fs::read_to_string(&path).expect("vector");
    let mut out: Vec<Record> = Vec::new();
    for line in text.lines() {
        match line {
            ">" | "<" => out.push(Record {
                request: line == ">",
                bytes: Vec::new(),
            }),
            l if l.starts_with('#') || l.is_empty() => {}
            l => out.last_mut().expect("a record").bytes.extend(
                l.split_whitespace()
                    .map(|t| u8::from_str_radix(t, 16).expect("hex")),
            ),
        }
    }
    out
}

/// The vectors of `tests/DIR`, sorted.
pub fn names(dir: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(dir);
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".txt")
                .map(String::from)
        })
        .collect();
    v.sort();
    v
}
