//! The codec's own requests against the real kernel, in the VM: key-only deletes, dest commands
//! without the scheduler, many requests in one `sendmsg`, and the dumps read back.
//!
//! Ignored by default (it boots qemu, ~10 s): run it with
//! `cargo xtask vm fetch && cargo xtask vm build && cargo test -p svcroute-ipvs --test kernel -- --ignored`.
//! It is also the pattern for the agent's integration tests: write files, build a static binary,
//! `cargo xtask vm run --script S --out D --add SRC:DEST…`, read `D`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use svcroute_ipvs::{
    Batch, CtrlMessage, Destination, Errno, Family, FamilyInfo, IpvsMessage, NetlinkMessage,
    Protocol, Replies, Service, ServiceFlags, ServiceKey, parse_messages,
};

/// The id the Debian 6.1 kernel gives IPVS with the harness's module order (checked below).
const IPVS_FAMILY: u16 = 0x20;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs `script` in the VM with `files` under `/data`; returns the output folder.
fn run_in_vm(work: &Path, script: &str, files: &[PathBuf]) -> PathBuf {
    let script_path = work.join("script.sh");
    std::fs::write(&script_path, script).unwrap();
    let out = work.join("out");
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(workspace_root())
        .args(["xtask", "vm", "run", "--timeout", "180", "--script"])
        .arg(&script_path)
        .arg("--out")
        .arg(&out);
    for f in files {
        let name = f.file_name().unwrap().to_str().unwrap();
        cmd.arg("--add")
            .arg(format!("{}:/data/{name}", f.display()));
    }
    let status = cmd.status().unwrap();
    assert!(status.success(), "vm run failed: see {}", out.display());
    out
}

#[test]
#[ignore = "boots a VM: needs `cargo xtask vm fetch` and `cargo xtask vm build`"]
fn kernel_accepts_the_codecs_requests() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ipvs-kernel-test");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();

    let nlsend = work.join("nlsend");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vm/nlsend.c");
    let ok = Command::new("gcc")
        .args(["-static", "-O1", "-o"])
        .arg(&nlsend)
        .arg(&src)
        .status()
        .unwrap();
    assert!(ok.success(), "gcc -static failed");

    let tcp = Service::tcp(ip("10.97.97.97"), 80, "rr");
    let udp6 = Service::udp(ip("fd00:10:96::a"), 53, "rr");
    let fwm = Service::new(
        ServiceKey::Fwmark {
            family: Family::Ipv4,
            mark: 42,
        },
        "sh",
    );
    let b1 = Destination::masq(ip("10.244.0.2"), 80, 1);
    let b2 = Destination::masq(ip("10.244.0.3"), 80, 1);
    let b6 = Destination::masq(ip("fd00:10:244::2"), 53, 1);

    let mut requests: Vec<(&str, Vec<u8>)> = Vec::new();
    requests.push((
        "01_family.bin",
        CtrlMessage::get_family_request("IPVS", 1, 0).to_bytes(),
    ));

    // One sendmsg, eleven requests, each with NLM_F_ACK.
    let mut batch = Batch::new(IPVS_FAMILY, 0, 100);
    batch.push(IpvsMessage::new_service(&tcp));
    batch.push(IpvsMessage::new_dest(&tcp.key, &b1));
    batch.push(IpvsMessage::new_dest(&tcp.key, &b2));
    batch.push(IpvsMessage::new_service(&udp6));
    batch.push(IpvsMessage::new_dest(&udp6.key, &b6));
    batch.push(IpvsMessage::new_service(&fwm));
    let mut b1_drained = b1.clone();
    b1_drained.weight = 0;
    batch.push(IpvsMessage::set_dest(&tcp.key, &b1_drained));
    batch.push(IpvsMessage::set_service(&Service::tcp(
        ip("10.97.97.97"),
        80,
        "wrr",
    )));
    let dup = batch.push(IpvsMessage::new_service(&tcp));
    batch.push(IpvsMessage::del_dest(&tcp.key, ip("10.244.0.3"), 80));
    let missing = batch.push(IpvsMessage::del_service(&ServiceKey::Addr {
        protocol: Protocol::Tcp,
        address: ip("10.1.2.3"),
        port: 1,
    }));
    let batch_seqs = batch.sequence_numbers().to_vec();
    requests.push(("02_batch.bin", batch.bytes().to_vec()));
    // Dumps one per sendmsg (a second dump on a socket mid-dump would be refused).
    requests.push((
        "03_services.bin",
        IpvsMessage::get_services()
            .into_request(IPVS_FAMILY, 200, 0)
            .to_bytes(),
    ));
    requests.push((
        "04_dests.bin",
        IpvsMessage::get_dests(&tcp.key)
            .into_request(IPVS_FAMILY, 201, 0)
            .to_bytes(),
    ));
    requests.push((
        "05_dests6.bin",
        IpvsMessage::get_dests(&udp6.key)
            .into_request(IPVS_FAMILY, 202, 0)
            .to_bytes(),
    ));
    let mut cleanup = Batch::new(IPVS_FAMILY, 0, 300);
    cleanup.push(IpvsMessage::get_info());
    cleanup.push(IpvsMessage::del_service(&tcp.key));
    cleanup.push(IpvsMessage::flush());
    requests.push(("06_cleanup.bin", cleanup.bytes().to_vec()));
    requests.push((
        "07_after.bin",
        IpvsMessage::get_services()
            .into_request(IPVS_FAMILY, 400, 0)
            .to_bytes(),
    ));

    let mut files = vec![nlsend.clone()];
    for (name, bytes) in &requests {
        let p = work.join(name);
        std::fs::write(&p, bytes).unwrap();
        files.push(p);
    }
    let script = "cd /data && /data/nlsend 01_family.bin 02_batch.bin 03_services.bin 04_dests.bin \
                  05_dests6.bin 06_cleanup.bin 07_after.bin && cp *.reply /out/\n";
    let started = std::time::Instant::now();
    let out = run_in_vm(&work, script, &files);
    eprintln!("VM run: {:.1} s", started.elapsed().as_secs_f64());
    let reply = |name: &str| std::fs::read(out.join(format!("{name}.reply"))).unwrap();

    // The family.
    let ctrl: Vec<NetlinkMessage<CtrlMessage>> = parse_messages(&reply("01_family.bin")).unwrap();
    let info = FamilyInfo::from_replies(&ctrl).unwrap().unwrap();
    assert_eq!(
        (info.id, info.name.as_str(), info.version),
        (IPVS_FAMILY, "IPVS", 1)
    );

    // The batch: every request answered, in order, by sequence number.
    let mut replies = Replies::new();
    replies.feed(&reply("02_batch.bin")).unwrap();
    for seq in batch_seqs {
        let want = if seq == dup {
            Err(Errno::EEXIST)
        } else if seq == missing {
            Err(Errno::ESRCH)
        } else {
            Ok(())
        };
        assert_eq!(replies.result(seq), Some(want), "request {seq}");
    }

    // The services dump.
    let mut replies = Replies::new();
    replies.feed(&reply("03_services.bin")).unwrap();
    assert!(replies.dump_done(200));
    let mut services = replies.services(200).unwrap();
    for s in &mut services {
        assert!(s.stats.take().is_some() && s.stats64.take().is_some());
    }
    services.sort_by_key(|s| s.key);
    let hashed = |mut s: Service| {
        s.flags = s.flags | ServiceFlags::HASHED;
        s
    };
    let mut want = vec![
        hashed(Service::tcp(ip("10.97.97.97"), 80, "wrr")),
        hashed(udp6.clone()),
        hashed(fwm.clone()),
    ];
    want.sort_by_key(|s| s.key);
    assert_eq!(services, want);

    // The destinations dumps.
    for (file, seq, svc, dest) in [
        ("04_dests.bin", 201, &tcp, &b1_drained),
        ("05_dests6.bin", 202, &udp6, &b6),
    ] {
        let mut replies = Replies::new();
        replies.feed(&reply(file)).unwrap();
        assert!(replies.dump_done(seq));
        let dests = replies.destinations(seq, svc.key.family()).unwrap();
        assert_eq!(dests.len(), 1, "{file}");
        let d = &dests[0];
        assert_eq!(
            (d.address, d.port, d.fwd_method, d.weight),
            (dest.address, dest.port, dest.fwd_method, dest.weight)
        );
        assert_eq!((d.active_conns, d.inactive_conns), (Some(0), Some(0)));
    }

    // Cleanup: GET_INFO answers SetInfo then an ACK; deletes and flush are acknowledged.
    let mut replies = Replies::new();
    replies.feed(&reply("06_cleanup.bin")).unwrap();
    for seq in 300..303 {
        assert_eq!(replies.result(seq), Some(Ok(())), "cleanup {seq}");
    }
    assert_eq!(replies.data(300).count(), 1);
    let mut replies = Replies::new();
    replies.feed(&reply("07_after.bin")).unwrap();
    assert!(replies.dump_done(400));
    assert_eq!(replies.services(400).unwrap(), vec![]);
}
