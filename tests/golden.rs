//! Golden outputs for the real captures in `captures/`: the JSON Lines
//! output with `--timeline` (`session_json`, timeline on, secrets masked),
//! one pretty-printed array of sessions per capture, without the
//! `"warnings"` field (findings have their own tests and change on their
//! own schedule). A mismatch fails with a line diff; after reviewing it,
//! regenerate with `SMTPSCOPE_BLESS=1 cargo test --test golden` and review
//! the changed files again before committing: these files were checked by
//! hand, line by line, and must stay that way.
//!
//! What was verified in each golden file, and against what. "Dialogue"
//! means: every client event (command text, AUTH masking, message events),
//! every reply (lines, frame, latency_us), the transactions (mail_from,
//! mail_params, rcpt_to address/code/enhanced/accepted, transfer,
//! data_bytes, final code/enhanced) and the message headers (subject,
//! from, to, message_id, attachments), all recomputed by an independent
//! script from tshark's reassembled payload (`tshark -T fields -e
//! tcp.payload`, dot-unstuffing DATA, summing BDAT chunks, Python's
//! `email` module for the headers and MIME parts), then also compared with
//! the recording command or script, the README row, `tshark-smtp.tsv`
//! (minding its listed quirks) and `tshark-follow.tsv` (counters.bytes).
//! Latency is first byte of the reply minus last byte of the command
//! (`acc.first_ts` in src/smtp/session.rs), so a multi-segment reply is
//! timed and framed by its first segment.
//!
//! - postfix-plain-delivery: dialogue vs the swaks command (helo, sender, alice,
//!   subject "plain delivery", Message-Id plain-1@client.test); data_bytes 258 from
//!   the stream; 11-line EHLO reply = 10 extensions; bytes 361/331 = tshark-follow;
//!   end_reason quit. The .pcapng, -nsec.pcap and .pcap.gz variants give this file
//!   byte for byte (checked separately with the CLI, and by the test below).
//! - postfix-rset-multi-transaction: 4 transactions vs rset_multi.py: newsletter@,
//!   SIZE=180 param, null sender `<>` -> mail_from "" (no brackets); the RSET-aborted
//!   transaction 2 has 2 accepted rcpts and no transfer/code; data_bytes 130/150/138
//!   = the script's messages with CRLF; bytes 807/633.
//! - postfix-rcpt-rejected: rcpts alice 250 2.1.5, nobody 550 5.1.1, bob 250, ghost
//!   550 5.1.1 (accepted flags) vs the swaks command and tshark; data 314; bytes 506/544.
//! - postfix-pipelining: MAIL, 3 RCPT, DATA all in frame 9 (4 marked pipelined), the 5
//!   replies all in frame 10 with 250/250/250/550 5.1.1/354, latencies equal (702us);
//!   nobody rejected; data 274; bytes 436/445.
//! - postfix-starttls: EHLO, STARTTLS, 220 2.0.0 then TLS; tls.sni null and versions
//!   TLSv1.3..TLSv1.0 = `tshark -Y tls.handshake.type==1` (no SNI extension: swaks
//!   connected to an IP; supported_versions 0x0304,0x0303,0x0302,0x0301);
//!   tls bytes 1066/2029 = tcp.len sum from the ClientHello (frame 11) on; no
//!   transactions (they are encrypted); end_reason rst (frame 29). NOTE: the
//!   `tls_started` event is listed before the 220 reply that starts TLS (same
//!   frame and ts); see the report. captures/README.md says the client sent no FIN,
//!   but frame 27 is a FIN from the client (then Postfix's close_notify, then RST).
//! - aiosmtpd-auth-plain: AUTH PLAIN initial response masked, user alice (decoded
//!   \0alice\0wonderland), success, 1 attempt; the 6-segment EHLO reply is one reply
//!   framed at its first segment (frame 8); MAIL alice@example.org, RCPT bob@example.net
//!   (aiosmtpd sends no enhanced code on 250 OK -> null); data 234; bytes 370/285.
//! - aiosmtpd-auth-login: AUTH LOGIN, two auth_response events masked, 334 prompts
//!   as sent, user alice, success; data 234; bytes 373/325.
//! - aiosmtpd-auth-failed: 3 sessions vs auth_failed.py: #0 PLAIN, PLAIN, LOGIN all
//!   535 5.7.8 -> attempts 3, failures 3, mechanisms [PLAIN, PLAIN, LOGIN], user alice;
//!   #1 `AUTH PLAIN` + `334 ` + response -> 535; #2 success and one message (subject
//!   "got in", data 116). Bytes per stream = tshark-follow.
//! - postfix-bdat: BDAT 131 + 131 + 0 LAST -> 262 (= "262 bytes queued"), BDAT 100 +
//!   70 LAST -> 170, DATA with dot-stuffed lines -> 231 = bdat.py's msg3 with CRLF;
//!   BODY=8BITMIME param; bytes 962/556. tshark misses the BDAT-with-chunk commands
//!   and the last QUIT (listed quirks), the golden has them.
//! - postfix-utf8-subject: MAIL FROM zoë@client.test (UTF-8, tshark shows U+FFFD) with
//!   BODY=8BITMIME and SMTPUTF8 (no value); subject "Grüße aus Köln – 東京 ✓" and From
//!   "Zoë Müller <zoë@client.test>" decoded; data 378 = utf8.py's message; the
//!   command_syntax non_ascii anomaly on the MAIL line is a decoder fact; bytes 502/331.
//! - postfix-attachment: report.bin application/octet-stream, size 230000, sha256
//!   20c6811b...9787 = sha256 of random.Random(2525)'s 230000 bytes (record.sh) and of
//!   the part extracted from the stream; data 315405 (315408 bytes after the 354 minus
//!   the final ".\r\n"); message event at frame 29 (last body segment); bytes 315508/331.
//! - postfix-ipv6: client/server ::1; dialogue as plain-delivery with ipv6-1 and
//!   subject "plain delivery over IPv6"; data 277; bytes 380/331.
//! - socks5-smtp, socks5-auth-smtp, socks4-smtp: the plain-delivery dialogue through a
//!   SOCKS proxy on 127.0.0.1:1080 (server endpoint :1080), target 127.0.0.1:2525
//!   in the `tunnel` object; user proxyuser and the password masked in the
//!   authenticating one. The greeting frame is the first after the proxy's reply
//!   (11, 13, 8), and counters.bytes are the stream bytes minus the handshake the
//!   recording helper read with tshark (client 13/35/9 bytes, proxy 12/14/8):
//!   349/331, 370/331, 349/331. Subjects and Message-Ids vs record-proxies.sh;
//!   data_bytes 246 and 267 differ by exactly the longer Subject and Message-Id.
//! - http-connect-smtp: the same through tinyproxy on :8888 (`tunnel.protocol`
//!   http-connect, target 127.0.0.1:2525); greeting frame 8; counters.bytes 362/331
//!   = 419/401 stream bytes minus the 57-byte CONNECT request and the 70-byte 200
//!   response; data_bytes 259 = 246 + 7 (Subject) + 6 (Message-Id).
//! - http-connect-407-smtp: curl --proxy-anyauth through tinyproxy with BasicAuth.
//!   Stream 0 (CONNECT without credentials, 407 with `Connection: close` and no
//!   Content-Length, tinyproxy's FIN, curl's RST) is no session; stream 1 is
//!   session id 1: two proxy events (frame 15 the CONNECT naming user proxyuser,
//!   password masked; frame 17 the 200), greeting frame 19, MAIL SIZE=297,
//!   data_bytes 297 (curl's file), Subject/Message-Id as record-proxies.sh
//!   writes them; counters.bytes 409/331 = 578/401 minus the 169-byte CONNECT
//!   and the 70-byte 200.
//! - tour: 12-line EHLO (AUTH PLAIN LOGIN), VRFY 252 2.0.0 / 550 5.1.1, AUTH PLAIN alice
//!   masked, pipelined MAIL SIZE=420 + RCPT nobody 550 + RCPT bob 250 + DATA 354 (frames
//!   15/16), data 369 = tour.py's message dot-unstuffed; BDAT 181 + 90 LAST -> 271
//!   ("271 bytes queued"), BODY=8BITMIME; RSET, NOOP, HELP -> 500 5.5.2 (tour.py's
//!   comment says 502; the capture and README say 500), QUIT; bytes 991/789.
//! - sll-any-interface / sll2-any-interface: dialogue as plain-delivery with
//!   sll-1 / sll2-1 and their subjects; data 275 / 278; bytes 378/331 and 381/331.
//!
//! All sessions: greeting and extensions as in the EHLO reply, start = first
//! packet. NOTE: `end` is the time of the packet that closed the connection
//! (the second FIN, or the RST), not the last packet as README.md says: the
//! trailing ACK after the second FIN is not counted (src/net/flow.rs closes on
//! the second FIN). See the report.

mod common;

use std::path::PathBuf;

use serde_json::Value;
use smtpscope::output::json::session_json;
use smtpscope::output::OutputOptions;

/// Every real capture and the golden file it must reproduce. The format
/// variants share the plain-delivery golden file.
const CASES: &[(&str, &str)] = &[
    ("postfix-plain-delivery.pcap", "postfix-plain-delivery"),
    ("postfix-plain-delivery.pcapng", "postfix-plain-delivery"),
    ("postfix-plain-delivery-nsec.pcap", "postfix-plain-delivery"),
    ("postfix-plain-delivery.pcap.gz", "postfix-plain-delivery"),
    (
        "postfix-rset-multi-transaction.pcap",
        "postfix-rset-multi-transaction",
    ),
    ("postfix-rcpt-rejected.pcap", "postfix-rcpt-rejected"),
    ("postfix-pipelining.pcap", "postfix-pipelining"),
    ("postfix-starttls.pcap", "postfix-starttls"),
    ("aiosmtpd-auth-plain.pcap", "aiosmtpd-auth-plain"),
    ("aiosmtpd-auth-login.pcap", "aiosmtpd-auth-login"),
    ("aiosmtpd-auth-failed.pcap", "aiosmtpd-auth-failed"),
    ("postfix-bdat.pcap", "postfix-bdat"),
    ("postfix-utf8-subject.pcap", "postfix-utf8-subject"),
    ("postfix-attachment.pcap", "postfix-attachment"),
    ("postfix-ipv6.pcap", "postfix-ipv6"),
    ("socks5-smtp.pcap", "socks5-smtp"),
    ("socks5-auth-smtp.pcap", "socks5-auth-smtp"),
    ("socks4-smtp.pcap", "socks4-smtp"),
    ("http-connect-smtp.pcap", "http-connect-smtp"),
    ("http-connect-407-smtp.pcap", "http-connect-407-smtp"),
    ("tour.pcap", "tour"),
    ("sll-any-interface.pcap", "sll-any-interface"),
    ("sll2-any-interface.pcap", "sll2-any-interface"),
];

fn golden_path(name: &str) -> PathBuf {
    common::repo()
        .join("tests/golden")
        .join(format!("{name}.json"))
}

/// The golden text for a capture: `--format json --timeline` per session,
/// `warnings` removed, as one pretty-printed JSON array.
fn render(capture: &str) -> String {
    let (sessions, outcome) = common::decode(&[common::capture(capture)]);
    assert!(
        outcome.errors.is_empty(),
        "{capture} did not read cleanly: {:?}",
        outcome.errors
    );
    let opts = OutputOptions {
        timeline: true,
        ..OutputOptions::default()
    };
    let values: Vec<Value> = sessions
        .iter()
        .map(|s| {
            let mut v = session_json(s, &opts);
            if let Value::Object(o) = &mut v {
                o.remove("warnings");
            }
            v
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&values).expect("serialise");
    text.push('\n');
    text
}

fn bless() -> bool {
    std::env::var_os("SMTPSCOPE_BLESS").is_some_and(|v| v == "1")
}

/// A unified-style line diff (LCS), with three lines of context, capped.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let (n, m) = (a.len(), b.len());
    // lcs[i][j] = length of the LCS of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // (tag, golden line number, text)
    let mut ops: Vec<(char, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', i + 1, a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', i + 1, a[i]));
            i += 1;
        } else {
            ops.push(('+', i + 1, b[j]));
            j += 1;
        }
    }
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let mut out = String::new();
    let mut shown = 0;
    let mut last: Option<usize> = None;
    for (k, op) in ops.iter().enumerate() {
        let near = changed.iter().any(|&c| c.abs_diff(k) <= 3);
        if !near {
            continue;
        }
        if last.is_some_and(|l| l + 1 != k) || last.is_none() {
            out.push_str(&format!("@@ golden line {} @@\n", op.1));
        }
        last = Some(k);
        out.push_str(&format!("{}{}\n", op.0, op.2));
        shown += 1;
        if shown >= 120 {
            out.push_str("... (diff cut at 120 lines)\n");
            break;
        }
    }
    out
}

fn check(capture: &str, name: &str) -> Result<(), String> {
    let actual = render(capture);
    let path = golden_path(name);
    if bless() {
        // The variants must not overwrite their original's file with
        // something else: bless only from the capture named like the file.
        if capture.trim_end_matches(".pcap") == name {
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, &actual).expect("write golden");
            return Ok(());
        }
    }
    let expected = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            return Err(format!(
                "{capture}: cannot read {}: {e}\n  generate it with: SMTPSCOPE_BLESS=1 cargo test --test golden",
                path.display()
            ))
        }
    };
    if expected == actual {
        return Ok(());
    }
    Err(format!(
        "{capture}: output differs from {} (- golden, + now):\n{}\n  If the change is intended, regenerate with\n    SMTPSCOPE_BLESS=1 cargo test --test golden\n  and review every changed line against the capture before committing.",
        path.display(),
        diff(&expected, &actual)
    ))
}

#[test]
fn real_captures_match_their_reviewed_golden_json() {
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|(capture, name)| check(capture, name).err())
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

/// A new capture in captures/ must get a reviewed golden file too.
#[test]
fn every_capture_in_captures_has_a_golden_case() {
    if bless() {
        return; // the files are being written by the test above
    }
    let dir = common::repo().join("captures");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("captures/") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let is_capture = [".pcap", ".pcapng", ".pcap.gz", ".pcapng.gz"]
            .iter()
            .any(|ext| name.ends_with(ext));
        // finding-*.pcap are asserted finding by finding in
        // tests/findings_real.rs and kept out of the golden set.
        let finding = name.starts_with("finding-");
        if is_capture && !finding && !CASES.iter().any(|(c, _)| *c == name) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "captures without a golden case in tests/golden.rs: {missing:?}"
    );
    for (_, name) in CASES {
        assert!(
            golden_path(name).is_file(),
            "{} is missing; generate it with SMTPSCOPE_BLESS=1 cargo test --test golden",
            golden_path(name).display()
        );
    }
}

/// The golden files are what the CLI prints, not a test-only rendering:
/// the warnings are the only field left out.
#[test]
fn golden_sessions_keep_every_json_field_but_warnings() {
    if bless() {
        return;
    }
    let text = std::fs::read_to_string(golden_path("tour")).expect("tour golden");
    let v: Value = serde_json::from_str(&text).expect("golden is JSON");
    let s = &v[0];
    for key in [
        "type",
        "id",
        "start",
        "end",
        "client",
        "server",
        "greeting",
        "helo",
        "extensions",
        "tls",
        "auth",
        "transactions",
        "complete",
        "end_reason",
        "counters",
        "events",
    ] {
        assert!(s.get(key).is_some(), "golden lacks {key}");
    }
    assert!(s.get("warnings").is_none());
}
