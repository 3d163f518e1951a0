//! Nothing lost (issue 7): whatever could be decoded before a fault is
//! reported, and the fault itself is reported with its size and place: a
//! capture cut in the middle of a packet, a TCP gap in the middle of DATA,
//! a connection evicted under the flow cap. And the same capture gives
//! byte-identical JSON every time, also when flows are evicted.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::gen::{smtp_conn_from, Conn, Gen};
use common::{addr, scratch};
use serde_json::Value;

/// MAIL, RCPT and DATA accepted, up to the 354.
fn start_data(g: &mut Gen, c: &mut Conn) {
    c.client(g, b"MAIL FROM:<a@client.test>\r\n");
    c.server(g, b"250 2.1.0 Ok\r\n");
    c.client(g, b"RCPT TO:<b@example.test>\r\n");
    c.server(g, b"250 2.1.5 Ok\r\n");
    c.client(g, b"DATA\r\n");
    c.server(g, b"354 go ahead\r\n");
}

/// A whole transaction: a short message with `subject`, queued.
fn deliver(g: &mut Gen, c: &mut Conn, subject: &str) {
    start_data(g, c);
    c.client(
        g,
        format!("Subject: {subject}\r\n\r\nhello\r\n.\r\n").as_bytes(),
    );
    c.server(g, b"250 2.0.0 Ok: queued\r\n");
}

fn quit(g: &mut Gen, mut c: Conn) {
    c.client(g, b"QUIT\r\n");
    c.server(g, b"221 2.0.0 Bye\r\n");
    c.close(g);
}

fn write_capture(path: &Path, build: impl FnOnce(&mut Gen)) {
    let mut g = Gen::new(Box::new(File::create(path).expect("create capture")));
    build(&mut g);
    g.finish();
}

fn client(n: u16) -> std::net::SocketAddr {
    addr(&format!("192.0.2.{n}:{}", 40000 + n))
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn sessions(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect()
    }
}

fn smtpscope(args: &[&str], capture: &Path) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_smtpscope"))
        .args(["--format", "json"])
        .args(args)
        .arg(capture)
        .output()
        .expect("run smtpscope");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).expect("UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn assert_delivered(s: &Value, subject: &str) {
    assert_eq!(s["complete"], true, "{s}");
    assert_eq!(s["end_reason"], "quit", "{s}");
    let tx = &s["transactions"][0];
    assert_eq!(tx["completed"], true, "{tx}");
    assert_eq!(tx["message"]["subject"], subject, "{tx}");
}

#[test]
fn test_capture_cut_mid_packet_keeps_every_session_before_and_names_the_cut() {
    let dir = scratch("cut-mid-packet");
    let whole = dir.join("whole.pcap");
    let mut before_last_record = 0;
    write_capture(&whole, |g| {
        for n in 1..=3 {
            let mut c = smtp_conn_from(g, client(n));
            deliver(g, &mut c, &format!("message {n}"));
            quit(g, c);
        }
        let mut c = smtp_conn_from(g, client(4));
        c.client(g, b"MAIL FROM:<a@client.test>\r\n");
        c.server(g, b"250 2.1.0 Ok\r\n");
        g.flush();
        before_last_record = std::fs::metadata(&whole).unwrap().len();
        // Its 16-byte record header, then 20 of the packet's bytes: the
        // file ends in the middle of this packet.
        c.client(g, b"RCPT TO:<cut@example.test>\r\n");
    });
    let data = std::fs::read(&whole).unwrap();
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &data[..before_last_record as usize + 16 + 20]).unwrap();

    let r = smtpscope(&[], &cut);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let sessions = r.sessions();
    assert_eq!(sessions.len(), 4, "{}", r.stdout);
    for (n, s) in sessions[..3].iter().enumerate() {
        assert_delivered(s, &format!("message {}", n + 1));
    }
    // The cut session is there as far as it goes, marked as unfinished.
    let last = &sessions[3];
    assert_eq!(last["end_reason"], "end-of-capture", "{last}");
    assert_eq!(last["complete"], false, "{last}");
    assert_eq!(last["helo"], "client.test");
    assert_eq!(last["transactions"][0]["mail_from"], "a@client.test");
    // The fault: where, and how much of the record is missing.
    let err = r.stderr.lines().last().unwrap_or_default();
    let ip_len = 20 + 20 + "RCPT TO:<cut@example.test>\r\n".len();
    assert!(
        err.contains(&format!("cut off at byte {before_last_record}"))
            && err.contains(&format!("36 of its {} bytes are there", 16 + ip_len)),
        "{err}"
    );
}

#[test]
fn test_gap_in_data_is_marked_with_size_and_place_and_decoding_resumes() {
    let dir = scratch("gap-in-data");
    let path = dir.join("gap.pcap");
    write_capture(&path, |g| {
        let mut c = smtp_conn_from(g, client(1));
        start_data(g, &mut c);
        c.client(g, b"Subject: first\r\n\r\nline one\r\n");
        // 500 bytes of body the capture missed; the server's ACK covers them.
        c.client_lost(500);
        c.client(g, b"line after the gap\r\n.\r\n");
        c.server(g, b"250 2.0.0 Ok: queued\r\n");
        deliver(g, &mut c, "second");
        quit(g, c);
    });
    let r = smtpscope(&["--timeline"], &path);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = &r.sessions()[0];
    assert_eq!(s["gaps"], 1, "{s}");
    assert_eq!(s["counters"]["gap_bytes"][0], 500);
    assert_eq!(s["complete"], false, "a session with a gap is not complete");
    let gap = s["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "gap")
        .unwrap_or_else(|| panic!("no gap event: {}", s["events"]));
    assert_eq!(gap["gap_len"], 500, "{gap}");
    assert_eq!(gap["dir"], "c2s", "{gap}");
    assert!(gap["frame"].as_u64().unwrap() > 0, "{gap}");
    let txs = s["transactions"].as_array().unwrap();
    assert_eq!(txs.len(), 2, "{s}");
    // The damaged message: its reply is known, its content marked partial.
    assert_eq!(txs[0]["code"], 250);
    assert_eq!(txs[0]["message_complete"], false, "{}", txs[0]);
    assert_eq!(txs[0]["message"]["subject"], "first");
    // Decoding went on after it.
    assert_eq!(txs[1]["completed"], true);
    assert_eq!(txs[1]["message"]["subject"], "second");
    assert_eq!(txs[1]["message_complete"], true);
    assert_eq!(s["end_reason"], "quit");
}

/// Session 1 stays open while sessions 2 and 3 run; with room for two
/// flows, the third connection pushes the idle first one out.
fn eviction_capture(dir: &Path) -> PathBuf {
    let path = dir.join("evict.pcap");
    write_capture(&path, |g| {
        let mut idle = smtp_conn_from(g, client(1));
        idle.client(g, b"MAIL FROM:<idle@client.test>\r\n");
        idle.server(g, b"250 2.1.0 Ok\r\n");
        for n in 2..=3 {
            let mut c = smtp_conn_from(g, client(n));
            deliver(g, &mut c, &format!("message {n}"));
            quit(g, c);
        }
    });
    path
}

#[test]
fn test_connection_evicted_under_flow_cap_is_reported_and_others_complete() {
    let dir = scratch("evicted");
    let path = eviction_capture(&dir);
    let r = smtpscope(&["--max-flows", "2", "--stats"], &path);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let sessions = r.sessions();
    assert_eq!(sessions.len(), 3, "{}", r.stdout);
    let evicted = sessions
        .iter()
        .find(|s| s["client"]["port"] == 40001)
        .expect("the evicted session is reported");
    assert_eq!(evicted["end_reason"], "evicted", "{evicted}");
    assert_eq!(evicted["complete"], false, "{evicted}");
    assert_eq!(evicted["transactions"][0]["mail_from"], "idle@client.test");
    for n in 2..=3 {
        let s = sessions
            .iter()
            .find(|s| s["client"]["port"] == 40000 + n)
            .unwrap();
        assert_delivered(s, &format!("message {n}"));
    }
    let evictions = r
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("flows evicted:"))
        .unwrap_or_default();
    assert!(evictions.trim_start().starts_with("1 "), "{}", r.stderr);
}

#[test]
fn test_same_captures_twice_give_byte_identical_json_also_under_eviction() {
    let dir = scratch("determinism");
    let mut files: Vec<PathBuf> = std::fs::read_dir(common::repo().join("captures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    files.sort();
    files.push(eviction_capture(&dir));
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_smtpscope"))
            .args(["--format", "json", "--timeline"])
            .args(extra)
            .args(&files)
            .output()
            .expect("run smtpscope");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let first = run(&[]);
    assert!(first.len() > 10_000);
    assert_eq!(first, run(&[]), "two runs differ");
    let evicting = run(&["--max-flows", "1"]);
    assert_eq!(
        evicting,
        run(&["--max-flows", "1"]),
        "two runs under eviction differ"
    );
    assert_ne!(first, evicting, "--max-flows 1 evicted nothing");
}

/// The offsets of a little-endian pcapng file's blocks.
fn pcapng_blocks(ng: &[u8]) -> Vec<usize> {
    let mut at = 0;
    let mut starts = Vec::new();
    while at + 8 <= ng.len() {
        starts.push(at);
        at += u32::from_le_bytes(ng[at + 4..at + 8].try_into().unwrap()) as usize;
    }
    starts
}

#[test]
fn test_damaged_pcapng_block_with_intact_framing_is_skipped_and_reading_goes_on() {
    // A block whose contents do not parse but whose length, repeated at its
    // end, holds: the next block is where the length says. It used to stop
    // the read, losing every packet after it.
    let dir = scratch("damaged-pcapng-block");
    let ng = std::fs::read(common::capture("postfix-plain-delivery.pcapng")).unwrap();
    let starts = pcapng_blocks(&ng);
    let whole = smtpscope(
        &[],
        Path::new(&common::capture("postfix-plain-delivery.pcapng")),
    );
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    let expected = whole.sessions();
    assert_eq!(expected.len(), 1);

    // A 48-byte Enhanced Packet Block claiming 1,000,000 captured bytes,
    // inserted between two packets: nothing is lost.
    let mut epb = Vec::new();
    for field in [6u32, 48, 0, 0, 0, 1_000_000, 1_000_000] {
        epb.extend_from_slice(&field.to_le_bytes());
    }
    epb.extend_from_slice(&[0; 16]);
    epb.extend_from_slice(&48u32.to_le_bytes());
    let at = starts[10];
    let inserted = [&ng[..at], &epb[..], &ng[at..]].concat();
    let path = dir.join("inserted.pcapng");
    std::fs::write(&path, &inserted).unwrap();
    let r = smtpscope(&[], &path);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.sessions(), expected, "{}", r.stderr);
    let line = r
        .stderr
        .lines()
        .find(|l| l.starts_with("smtpscope:"))
        .unwrap();
    assert!(
        line.contains(&format!("damaged at byte {at}"))
            && line
                .contains("skipped, and reading went on after it (1 damaged block skipped in all)"),
        "{line}"
    );
    assert!(
        r.stderr
            .contains("pcapng damage:      1 damaged blocks skipped, 0 packets naming"),
        "{}",
        r.stderr
    );

    // The same damage to a packet of the dialogue (the server's 250 to
    // EHLO): that packet is a gap, every later one decodes.
    let victim = starts[9];
    let mut damaged = ng.clone();
    damaged[victim + 20..victim + 24].copy_from_slice(&1_000_000u32.to_le_bytes());
    let path = dir.join("damaged.pcapng");
    std::fs::write(&path, &damaged).unwrap();
    let r = smtpscope(&[], &path);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let sessions = r.sessions();
    assert_eq!(sessions.len(), 1, "{}", r.stderr);
    assert_eq!(sessions[0]["end_reason"], "quit", "{}", sessions[0]);
    assert_eq!(sessions[0]["transactions"][0]["completed"], true);
    assert!(sessions[0]["gaps"].as_u64().unwrap() > 0, "{}", sessions[0]);
    assert!(
        r.stderr.contains(&format!("damaged at byte {victim}")),
        "{}",
        r.stderr
    );
}

#[test]
fn test_packet_naming_an_undescribed_pcapng_interface_is_counted_in_the_summary() {
    // It is dropped (no link type to decode it by), and that used to be
    // counted where no summary showed it.
    let dir = scratch("undescribed-interface");
    let ng = std::fs::read(common::capture("postfix-plain-delivery.pcapng")).unwrap();
    let starts = pcapng_blocks(&ng);
    let mut named = ng.clone();
    // The Enhanced Packet Block's interface id, after its type and length.
    named[starts[9] + 8..starts[9] + 12].copy_from_slice(&3u32.to_le_bytes());
    let path = dir.join("interface-3.pcapng");
    std::fs::write(&path, &named).unwrap();
    let r = smtpscope(&[], &path);
    assert!(
        r.stderr.contains(
            "pcapng damage:      0 damaged blocks skipped, 1 packets naming an undescribed interface (dropped)"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(r.sessions().len(), 1);
}
