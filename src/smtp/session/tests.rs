//! Session decoder scenarios: each test feeds a small scripted dialogue and
//! checks the events that prove one behaviour.

use super::*;
use crate::net::{ConnId, RoleSource};
use crate::smtp::auth::tests::b64;
use crate::smtp::tls::tests::client_hello_record;
use std::net::SocketAddr;

use Dir::{ClientToServer as Cl, ServerToClient as Sv};

const MS: i64 = 1_000_000;

pub(crate) fn meta() -> ConnMeta {
    ConnMeta {
        id: ConnId(7),
        client: "192.0.2.10:40000".parse::<SocketAddr>().unwrap(),
        server: "198.51.100.25:25".parse::<SocketAddr>().unwrap(),
        start: Timestamp::from_nanos(1_700_000_000_000_000_000),
        first_frame: 1,
        roles: RoleSource::Handshake,
    }
}

/// Feeds `(dir, bytes)` steps 1 ms apart (frame = step number) and closes.
pub(crate) fn run_with(cfg: &DecoderConfig, steps: &[(Dir, &[u8])]) -> Vec<Event> {
    let m = meta();
    let mut dec = SessionDecoder::new(cfg, &m, false);
    let mut out = Vec::new();
    let mut ts = m.start;
    for (i, (dir, bytes)) in steps.iter().enumerate() {
        ts = m.start.add_nanos((i as i64 + 1) * MS);
        dec.feed(
            *dir,
            Chunk {
                ts,
                frame: i as u64 + 2,
                bytes,
            },
            &mut out,
        );
    }
    dec.close(CloseReason::Fin, ts.add_nanos(MS), &mut out);
    out
}

/// Message bytes kept, so tests can look at them.
fn kept() -> DecoderConfig {
    DecoderConfig {
        keep_raw: true,
        ..DecoderConfig::default()
    }
}

pub(crate) fn run(steps: &[(Dir, &[u8])]) -> Vec<Event> {
    run_with(&kept(), steps)
}

fn commands(ev: &[Event]) -> Vec<String> {
    ev.iter()
        .filter_map(|e| match &e.kind {
            EventKind::Command(c) => Some(String::from_utf8_lossy(&c.raw.bytes).into_owned()),
            _ => None,
        })
        .collect()
}

fn replies(ev: &[Event]) -> Vec<&ReplyEvent> {
    ev.iter()
        .filter_map(|e| match &e.kind {
            EventKind::Reply(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn anomalies(ev: &[Event]) -> Vec<&Anomaly> {
    ev.iter()
        .filter_map(|e| match &e.kind {
            EventKind::Anomaly(a) => Some(a),
            _ => None,
        })
        .collect()
}

fn messages(ev: &[Event]) -> Vec<(bool, &MessageEvent)> {
    ev.iter()
        .filter_map(|e| match &e.kind {
            EventKind::MessageComplete(m) => Some((true, m)),
            EventKind::MessageIncomplete(m) => Some((false, m)),
            _ => None,
        })
        .collect()
}

fn session_end(ev: &[Event]) -> &SessionEnd {
    match &ev.last().unwrap().kind {
        EventKind::SessionEnd(e) => e,
        k => panic!("last event is {k:?}"),
    }
}

const EHLO_REPLY: &[u8] =
    b"250-mx.example\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n";

#[test]
fn test_basic_dialogue_pairs_and_unstuffs() {
    let ev = run(&[
        (Sv, b"220 mx.example ESMTP\r\n"),
        (Cl, b"EHLO client.example\r\n"),
        (Sv, EHLO_REPLY),
        (Cl, b"MAIL FROM:<a@b.example>\r\n"),
        (Sv, b"250 2.1.0 Ok\r\n"),
        (Cl, b"RCPT TO:<c@d.example>\r\n"),
        (Sv, b"250 2.1.5 Ok\r\n"),
        (Cl, b"DATA\r\n"),
        (Sv, b"354 go ahead\r\n"),
        (Cl, b"Subject: hi\r\n\r\n..stuffed\r\n"),
        (Cl, b".\r\n"),
        (Sv, b"250 2.0.0 queued\r\n"),
        (Cl, b"QUIT\r\n"),
        (Sv, b"221 bye\r\n"),
    ]);
    assert_eq!(
        commands(&ev),
        vec![
            "EHLO client.example",
            "MAIL FROM:<a@b.example>",
            "RCPT TO:<c@d.example>",
            "DATA",
            "QUIT"
        ]
    );
    let r = replies(&ev);
    assert!(r[0].greeting && r[0].answers.is_none());
    assert_eq!(r[1].answers.as_ref().unwrap().seq, 0);
    assert_eq!(r[1].raw.len(), 5);
    assert_eq!(r[2].reply.enhanced.unwrap().to_string(), "2.1.0");
    assert_eq!(r[4].reply.code, ReplyCode(354));
    let end = r[5].answers.as_ref().unwrap();
    assert_eq!((end.seq, &end.request), (3, &Request::DataEnd));
    assert_eq!(end.latency_ns, MS);
    let msgs = messages(&ev);
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].0);
    assert_eq!(msgs[0].1.raw, b"Subject: hi\r\n\r\n.stuffed\r\n");
    assert_eq!(msgs[0].1.size, 25);
    assert!(anomalies(&ev).is_empty(), "{:?}", anomalies(&ev));
    assert_eq!(session_end(&ev).reason, EndReason::Quit);
}

#[test]
fn test_pipelining_pairs_in_order_with_latencies() {
    let ev = run(&[
        (Sv, b"220 mx\r\n"),
        (Cl, b"EHLO c\r\n"),
        (Sv, EHLO_REPLY),
        (
            Cl,
            b"MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nRCPT TO:<bad@y>\r\nDATA\r\n",
        ),
        (Sv, b"250 ok\r\n250 ok\r\n"),
        (Sv, b"550 5.1.1 unknown\r\n354 go\r\n"),
        (Cl, b"x\r\n.\r\n"),
        (Sv, b"250 ok\r\n"),
    ]);
    let r = replies(&ev);
    let pairs: Vec<_> = r[2..]
        .iter()
        .map(|r| {
            let a = r.answers.as_ref().unwrap();
            (r.reply.code.0, a.seq, a.latency_ns)
        })
        .collect();
    // Replies arrive 1 ms (step 5) and 2 ms (step 6) after the commands.
    assert_eq!(
        pairs,
        vec![
            (250, 1, MS),
            (250, 2, MS),
            (550, 3, 2 * MS),
            (354, 4, 2 * MS),
            (250, 4, MS)
        ]
    );
    let pipelined: Vec<bool> = ev
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Command(c) => Some(c.pipelined),
            _ => None,
        })
        .collect();
    assert_eq!(pipelined, vec![false, false, true, true, true]);
    assert!(anomalies(&ev).is_empty(), "{:?}", anomalies(&ev));
}

#[test]
fn test_pipelining_without_capability_flagged() {
    let ev = run(&[
        (Sv, b"220 mx\r\n"),
        (Cl, b"HELO c\r\n"),
        (Sv, b"250 mx\r\n"),
        (Cl, b"MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\n"),
    ]);
    assert!(anomalies(&ev)
        .iter()
        .any(|a| matches!(a, Anomaly::PipeliningWithoutCapability { .. })));
}

#[test]
fn test_pregreet_and_unsolicited_reply() {
    let ev = run(&[
        (Cl, b"EHLO early\r\n"),
        (Sv, b"220 mx\r\n"),
        (Sv, b"250 what\r\n"),
        (Sv, b"250 again\r\n"),
    ]);
    let a = anomalies(&ev);
    assert!(matches!(a[0], Anomaly::Pregreet { .. }));
    let r = replies(&ev);
    // The 220 is the greeting even with EHLO pending; the 250 answers EHLO.
    assert!(r[0].greeting);
    assert_eq!(r[1].answers.as_ref().unwrap().seq, 0);
    assert!(a.iter().any(|a| matches!(
        a,
        Anomaly::UnsolicitedReply {
            code: ReplyCode(250),
            ..
        }
    )));
}

#[test]
fn test_multiline_code_mismatch_and_unparsable_reply() {
    let ev = run(&[(
        Sv,
        b"220-mx\r\n221-oops\r\nhello there\r\n220 ok\r\n999 weird\r\n",
    )]);
    let a = anomalies(&ev);
    assert!(a.contains(&&Anomaly::ReplyCodeMismatch {
        first: ReplyCode(220),
        line: ReplyCode(221)
    }));
    assert!(a
        .iter()
        .any(|a| matches!(a, Anomaly::UnparsableReply { line } if line == b"hello there")));
    assert!(a.contains(&&Anomaly::ReplyCodeOutOfRange {
        code: ReplyCode(999)
    }));
    let r = replies(&ev);
    assert_eq!(r[0].raw.len(), 3);
}

#[test]
fn test_data_rejected_after_pipelined_body_becomes_commands() {
    let ev = run(&[
        (Sv, b"220 mx\r\n"),
        (Cl, b"EHLO c\r\n"),
        (Sv, EHLO_REPLY),
        (Cl, b"MAIL FROM:<a@b>\r\n"),
        (Sv, b"250 ok\r\n"),
        (Cl, b"DATA\r\nRSET\r\nMAIL FROM:<evil@x>\r\n.\r\n"),
        (Sv, b"554 5.5.1 no valid recipients\r\n"),
        (Sv, b"250 reset\r\n250 ok\r\n500 what\r\n"),
    ]);
    assert!(messages(&ev).is_empty(), "no message was transferred");
    assert_eq!(commands(&ev)[3..], ["RSET", "MAIL FROM:<evil@x>", "."]);
    let a = anomalies(&ev);
    assert!(a.iter().any(|a| matches!(
        a,
        Anomaly::DataBeforeReply {
            accepted: false,
            bytes: 29,
            ..
        }
    )));
    let r = replies(&ev);
    assert_eq!(r.last().unwrap().answers.as_ref().unwrap().seq, 5);
}

#[test]
fn test_data_accepted_after_pipelined_body_is_content() {
    let ev = run(&[
        (Sv, b"220 mx\r\n"),
        (Cl, b"DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n"),
        (Sv, b"354 go\r\n"),
        (Sv, b"250 ok\r\n221 bye\r\n"),
    ]);
    let m = messages(&ev);
    assert_eq!(m[0].1.raw, b"Subject: x\r\n\r\nbody\r\n");
    assert!(m[0].0);
    assert_eq!(commands(&ev), ["DATA", "QUIT"]);
    assert!(anomalies(&ev)
        .iter()
        .any(|a| matches!(a, Anomaly::DataBeforeReply { accepted: true, .. })));
    assert_eq!(session_end(&ev).reason, EndReason::Quit);
}

#[test]
fn test_data_terminator_split_across_chunks_everywhere() {
    let body: &[u8] = b"a\r\n..b\r\n.\r\nQUIT\r\n";
    for i in 0..=body.len() {
        for j in i..=body.len() {
            let ev = run(&[
                (Sv, b"220 mx\r\n"),
                (Cl, b"DATA\r\n"),
                (Sv, b"354 go\r\n"),
                (Cl, &body[..i]),
                (Cl, &body[i..j]),
                (Cl, &body[j..]),
            ]);
            let m = messages(&ev);
            assert_eq!(m.len(), 1, "split {i} {j}");
            assert!(m[0].0);
            assert_eq!(m[0].1.raw, b"a\r\n.b\r\n", "split {i} {j}");
            assert_eq!(commands(&ev), ["DATA", "QUIT"], "split {i} {j}");
        }
    }
}

#[test]
fn test_non_canonical_eod_reported_with_offset() {
    let ev = run(&[
        (Sv, b"220 mx\r\n"),
        (Cl, b"DATA\r\n"),
        (Sv, b"354 go\r\n"),
        (Cl, b"Subject: a\r\n\r\nx\n.\r\nmail FROM:<s@t>\r\n.\r\n"),
    ]);
    let a = anomalies(&ev);
    let nc = a
        .iter()
        .find_map(|a| match a {
            Anomaly::NonCanonicalEndOfData(n) => Some(n),
            _ => None,
        })
        .unwrap();
    assert_eq!(nc.sequence, b"\n.\r\n");
    assert_eq!(nc.raw_offset, 15);
    assert!(a
        .iter()
        .any(|a| matches!(a, Anomaly::MessageLineEndings { bare_lf: 1, .. })));
}

#[test]
fn test_bdat_exact_counts_and_crlf_dot_crlf_inside() {
    let ev = run(&[
        (Sv, b"220 mx\r\n"),
        (Cl, b"EHLO c\r\n"),
        (Sv, EHLO_REPLY),
        (
            Cl,
            b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 8\r\nab\r\n.\r\n",
        ),
        (Cl, b"cBDAT 3 LAST\r\nxyzQUIT\r\n"),
        (
            Sv,
            b"250 ok\r\n250 ok\r\n250 8 octets\r\n250 done\r\n221 bye\r\n",
        ),
    ]);
    assert_eq!(
        commands(&ev),
        [
            "EHLO c",
            "MAIL FROM:<a@b>",
            "RCPT TO:<c@d>",
            "BDAT 8",
            "BDAT 3 LAST",
            "QUIT"
        ]
    );
    let m = messages(&ev);
    assert_eq!(m.len(), 1);
    assert!(m[0].0);
    assert_eq!(m[0].1.raw, b"ab\r\n.\r\ncxyz");
    assert_eq!((m[0].1.size, m[0].1.chunks), (11, 2));
    assert!(anomalies(&ev).is_empty(), "{:?}", anomalies(&ev));
    assert_eq!(session_end(&ev).reason, EndReason::Quit);
}

#[test]
fn test_bdat_chunk_bytes_split_over_many_chunks() {
    let payload: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let mut steps: Vec<(Dir, &[u8])> = vec![
        (Sv, b"220 mx\r\n"),
        (Cl, b"EHLO c\r\n"),
        (Sv, EHLO_REPLY),
        (Cl, b"BDAT 5000 LAST\r\n"),
    ];
    for c in payload.chunks(7) {
        steps.push((Cl, c));
    }
    steps.push((Cl, b"QUIT\r\n"));
    let ev = run(&steps);
    let m = messages(&ev);
    assert_eq!(m[0].1.raw, payload);
    assert_eq!(commands(&ev), ["EHLO c", "BDAT 5000 LAST", "QUIT"]);
}

#[test]
fn test_bdat_zero_last_and_anomalies() {
    let ev = run(&[
        (Sv, b"220 mx\r\n"),
        (Cl, b"HELO c\r\n"),
        (Sv, b"250 mx\r\n"),
        (Cl, b"BDAT 0 LAST\r\n"),
        (Sv, b"250 ok\r\n"),
        (Cl, b"BDAT 0\r\n"),
        (Sv, b"250 ok\r\n"),
        (Cl, b"BDAT x1\r\n"),
        (Sv, b"501 bad\r\n"),
    ]);
    let m = messages(&ev);
    // BDAT 0 LAST is a complete empty message; the lone BDAT 0 never got
    // its LAST chunk.
    assert_eq!(m.len(), 2);
    assert!(m[0].0 && !m[1].0);
    assert_eq!(m[0].1.size, 0);
    let a = anomalies(&ev);
    assert!(a.contains(&&Anomaly::BdatWithoutChunking));
    assert!(a.contains(&&Anomaly::BdatZeroWithoutLast));
    assert!(a.iter().any(|a| matches!(a, Anomaly::BdatBadSize { .. })));
}

#[test]
fn test_bdat_after_last_and_mixed_with_data() {
    let ev = run(&[
        (Sv, b"220 mx\r\n"),
        (Cl, b"EHLO c\r\n"),
        (Sv, EHLO_REPLY),
        (Cl, b"MAIL FROM:<a@b>\r\nBDAT 1 LAST\r\nxBDAT 1\r\ny"),
        (Cl, b"DATA\r\n"),
        (Sv, b"250 ok\r\n250 ok\r\n503 after last\r\n503 mixed\r\n"),
    ]);
    let a = anomalies(&ev);
    assert!(a.contains(&&Anomaly::BdatAfterLast), "{a:?}");
    assert!(a.contains(&&Anomaly::DataAndBdatMixed), "{a:?}");
}

#[test]
fn test_bdat_huge_size_streams_without_allocating() {
    let cfg = DecoderConfig {
        max_message_bytes: 4096,
        keep_raw: true,
        ..DecoderConfig::default()
    };
    let junk = vec![b'Q'; 1 << 20];
    let ev = run_with(
        &cfg,
        &[
            (Sv, b"220 mx\r\n"),
            (Cl, b"BDAT 9223372036854775808 LAST\r\n"),
            (Cl, &junk),
            (Cl, b"QUIT\r\n"),
        ],
    );
    // Nothing after the BDAT line is a command: it is all chunk data.
    assert_eq!(commands(&ev), ["BDAT 9223372036854775808 LAST"]);
    let m = messages(&ev);
    assert!(!m[0].0);
    assert_eq!(m[0].1.raw.len(), 4096);
    assert!(m[0].1.raw.capacity() < 64 * 1024);
    assert_eq!(m[0].1.size, (1 << 20) + 6);
    assert!(m[0].1.truncated);
}

#[test]
fn test_rejected_bdat_bytes_still_consumed() {
    let ev = run(&[
        (Sv, b"220 mx\r\n"),
        (Cl, b"BDAT 12\r\nRSET\r\nQUIT"),
        (Cl, b"\r\nNOOP\r\n"),
        (Sv, b"503 no mail transaction\r\n250 ok\r\n"),
    ]);
    // "RSET\r\nQUIT\r\n" are the 12 chunk octets, not commands.
    assert_eq!(commands(&ev), ["BDAT 12", "NOOP"]);
    let r = replies(&ev);
    assert_eq!(r[1].answers.as_ref().unwrap().seq, 0);
    assert_eq!(r[2].answers.as_ref().unwrap().seq, 1);
}

fn auth_steps(ev: &[Event]) -> Vec<&AuthStep> {
    ev.iter()
        .filter_map(|e| match &e.kind {
            EventKind::Auth(a) => Some(a),
            _ => None,
        })
        .collect()
}

#[test]
fn test_auth_plain_after_334_success() {
    let resp = b64(b"\0alice\0s3cret");
    let mut line = resp.clone().into_bytes();
    line.extend_from_slice(b"\r\n");
    let ev = run(&[
        (Sv, b"220 mx\r\n"),
        (Cl, b"AUTH PLAIN\r\n"),
        (Sv, b"334 \r\n"),
        (Cl, &line),
        (Sv, b"235 2.7.0 ok\r\n"),
        (Cl, b"MAIL FROM:<alice@x>\r\n"),
    ]);
    let steps = auth_steps(&ev);
    let phases: Vec<_> = steps.iter().map(|s| s.phase.clone()).collect();
    assert_eq!(
        phases,
        vec![
            AuthPhase::Started,
            AuthPhase::Challenge,
            AuthPhase::Response,
            AuthPhase::Succeeded
        ]
    );
    let last = steps.last().unwrap();
    assert_eq!(last.state.user.as_deref(), Some("alice"));
    assert_eq!(last.state.secret.as_ref().unwrap().reveal(), "s3cret");
    // The response line is not a command; MAIL after 235 is.
    assert_eq!(commands(&ev), ["AUTH PLAIN", "MAIL FROM:<alice@x>"]);
    let r = replies(&ev);
    assert_eq!(
        r[2].answers.as_ref().unwrap().request,
        Request::AuthResponse
    );
}

#[test]
fn test_auth_plain_initial_response_is_masked_in_raw_line() {
    let line = format!("AUTH PLAIN {}\r\n", b64(b"\0bob\0pw"));
    let ev = run(&[
        (Sv, b"220 mx\r\n"),
        (Cl, line.as_bytes()),
        (Sv, b"535 5.7.8 bad\r\n"),
    ]);
    assert_eq!(commands(&ev), ["AUTH PLAIN ********"]);
    let steps = auth_steps(&ev);
    assert_eq!(
        steps.last().unwrap().phase,
        AuthPhase::Failed {
            code: ReplyCode(535)
        }
    );
    assert_eq!(steps.last().unwrap().state.user.as_deref(), Some("bob"));
}

#[test]
fn test_auth_login_and_cancel() {
    let user = format!("{}\r\n", b64(b"carol"));
    let pass = format!("{}\r\n", b64(b"pw"));
    let ev = run(&[
        (Sv, b"220 mx\r\n"),
        (Cl, b"AUTH LOGIN\r\n"),
        (Sv, b"334 VXNlcm5hbWU6\r\n"),
        (Cl, user.as_bytes()),
        (Sv, b"334 UGFzc3dvcmQ6\r\n"),
        (Cl, pass.as_bytes()),
        (Sv, b"535 5.7.8 no\r\n"),
        (Cl, b"AUTH CRAM-MD5\r\n"),
        (Sv, b"334 PDEyMzQ+\r\n"),
        (Cl, b"*\r\n"),
        (Sv, b"501 cancelled\r\n"),
        (Cl, b"QUIT\r\n"),
    ]);
    let steps = auth_steps(&ev);
    let login_fail = steps
        .iter()
        .find(|s| matches!(s.phase, AuthPhase::Failed { .. }))
        .unwrap();
    assert_eq!(login_fail.state.user.as_deref(), Some("carol"));
    assert_eq!(login_fail.state.secret.as_ref().unwrap().reveal(), "pw");
    assert!(steps.iter().any(|s| s.phase == AuthPhase::Cancelled));
    let last = steps.last().unwrap();
    assert_eq!(
        last.phase,
        AuthPhase::Failed {
            code: ReplyCode(501)
        }
    );
    assert!(last.state.cancelled);
    assert_eq!(commands(&ev), ["AUTH LOGIN", "AUTH CRAM-MD5", "QUIT"]);
}

fn tls_events(ev: &[Event]) -> (Vec<bool>, Vec<&crate::smtp::tls::ClientHello>) {
    let mut started = Vec::new();
    let mut hellos = Vec::new();
    for e in ev {
        match &e.kind {
            EventKind::TlsStarted { implicit } => started.push(*implicit),
            EventKind::TlsClientHello(h) => hellos.push(h),
            _ => {}
        }
    }
    (started, hellos)
}

#[test]
fn test_starttls_clean_parses_client_hello() {
    let hello = client_hello_record("mx.example", &[0x0304, 0x0303]);
    let ev = run(&[
        (Sv, b"220 mx\r\n"),
        (Cl, b"EHLO c\r\n"),
        (Sv, EHLO_REPLY),
        (Cl, b"STARTTLS\r\n"),
        (Sv, b"220 2.0.0 ready\r\n"),
        (Cl, &hello[..10]),
        (Cl, &hello[10..]),
        (Sv, &[0x16, 3, 3, 0, 2, 1, 2]),
    ]);
    let (started, hellos) = tls_events(&ev);
    assert_eq!(started, vec![false]);
    assert_eq!(hellos[0].sni.as_deref(), Some("mx.example"));
    assert_eq!(hellos[0].supported_versions, vec![0x0304, 0x0303]);
    assert!(anomalies(&ev).is_empty(), "{:?}", anomalies(&ev));
    let c = &session_end(&ev).counters;
    assert_eq!(c.tls_bytes, [hello.len() as u64, 7]);
}

#[test]
fn test_starttls_command_injection_on_client_side() {
    let hello = client_hello_record("mx.example", &[0x0303]);
    let ev = run(&[
        (Sv, b"220 mx\r\n"),
        (Cl, b"STARTTLS\r\nEHLO commandinjectiontester\r\n"),
        (Sv, b"220 ready\r\n"),
        (Cl, &hello),
    ]);
    let a = anomalies(&ev);
    assert_eq!(
        a,
        vec![&Anomaly::PlaintextAfterStartTls {
            bytes: 29,
            evidence: b"EHLO commandinjectiontester\r\n".to_vec()
        }]
    );
    assert_eq!(
        commands(&ev),
        ["STARTTLS"],
        "injected line is not decoded as a command"
    );
    assert_eq!(tls_events(&ev).1.len(), 1);
}

#[test]
fn test_starttls_response_injection_on_server_side() {
    let ev = run(&[
        (Sv, b"220 mx\r\n"),
        (Cl, b"STARTTLS\r\n"),
        (Sv, b"220 Ready to start TLS\r\n250-example.org\r\n250 AUTH LOGIN\r\n\x16\x03\x03\x00\x01\x02"),
    ]);
    let a = anomalies(&ev);
    assert_eq!(a.len(), 1);
    let Anomaly::PlaintextAfterStartTls { bytes, evidence } = a[0] else {
        panic!("{a:?}")
    };
    assert_eq!(*bytes, 33);
    assert!(evidence.starts_with(b"250-example.org"));
    assert_eq!(
        ev.iter()
            .find(|e| matches!(e.kind, EventKind::Anomaly(_)))
            .unwrap()
            .dir,
        Sv
    );
}

#[test]
fn test_starttls_rejected_continues_in_plaintext() {
    let ev = run(&[
        (Sv, b"220 mx\r\n"),
        (Cl, b"STARTTLS\r\nMAIL FROM:<a@b>\r\n"),
        (Sv, b"454 4.7.0 no tls\r\n250 ok\r\n"),
    ]);
    assert_eq!(commands(&ev), ["STARTTLS", "MAIL FROM:<a@b>"]);
    assert!(tls_events(&ev).0.is_empty());
    assert!(anomalies(&ev)
        .iter()
        .any(|a| matches!(a, Anomaly::PipelinedAfterStartTls { bytes: 17, .. })));
}

#[test]
fn test_implicit_tls_from_first_bytes() {
    let hello = client_hello_record("smtp.example", &[0x0304]);
    let ev = run(&[(Cl, &hello), (Sv, &[0x16, 3, 3, 0, 0])]);
    let (started, hellos) = tls_events(&ev);
    assert_eq!(started, vec![true]);
    assert_eq!(hellos[0].sni.as_deref(), Some("smtp.example"));
    assert!(commands(&ev).is_empty());
}

#[test]
fn test_plaintext_on_implicit_tls_port_flagged() {
    let m = meta();
    let mut dec = SessionDecoder::new(&DecoderConfig::default(), &m, true);
    let mut out = Vec::new();
    dec.feed(
        Sv,
        Chunk {
            ts: m.start,
            frame: 2,
            bytes: b"220 mx\r\n",
        },
        &mut out,
    );
    assert!(anomalies(&out).contains(&&Anomaly::PlaintextOnImplicitTlsPort));
    assert!(replies(&out)[0].greeting);
}

#[test]
fn test_gap_in_data_marks_message_incomplete() {
    let m = meta();
    let mut dec = SessionDecoder::new(&kept(), &m, false);
    let mut out = Vec::new();
    let t = m.start;
    for (dir, b) in [
        (Sv, &b"220 mx\r\n"[..]),
        (Cl, b"DATA\r\n"),
        (Sv, b"354 go\r\n"),
        (Cl, b"part one\r\n"),
    ] {
        dec.feed(
            dir,
            Chunk {
                ts: t,
                frame: 1,
                bytes: b,
            },
            &mut out,
        );
    }
    dec.gap(Cl, t, 9, 1000, &mut out);
    dec.feed(
        Cl,
        Chunk {
            ts: t,
            frame: 10,
            bytes: b"tail\r\n.\r\nQUIT\r\n",
        },
        &mut out,
    );
    dec.close(CloseReason::Fin, t, &mut out);
    assert!(out.iter().any(|e| matches!(
        e.kind,
        EventKind::Gap {
            len: 1000,
            in_message: true
        }
    )));
    let msgs = messages(&out);
    assert!(!msgs[0].0, "a message with a gap is incomplete");
    assert!(msgs[0].1.gap);
    assert_eq!(msgs[0].1.raw, b"part one\r\ntail\r\n");
    assert!(msgs[0].1.summary.truncated);
    assert_eq!(commands(&out), ["DATA", "QUIT"]);
}

#[test]
fn test_message_summary_streams_without_keeping_raw() {
    let body = b"Subject: hi\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\nTVo=\r\n--b--\r\n.\r\n";
    for cfg in [DecoderConfig::default(), kept()] {
        // Byte at a time through DATA, and as one BDAT chunk.
        let mut steps: Vec<(Dir, &[u8])> =
            vec![(Sv, b"220 mx\r\n"), (Cl, b"DATA\r\n"), (Sv, b"354 go\r\n")];
        steps.extend(body.chunks(1).map(|c| (Cl, c)));
        let bdat = format!("BDAT {} LAST\r\n", body.len() - 3);
        steps.extend([(Sv, &b"250 ok\r\n"[..]), (Cl, bdat.as_bytes())]);
        steps.push((Cl, &body[..body.len() - 3]));
        let ev = run_with(&cfg, &steps);
        let m = messages(&ev);
        assert_eq!(m.len(), 2);
        for (_, msg) in &m {
            assert_eq!(msg.raw_kept, cfg.keep_raw);
            assert_eq!(msg.raw.is_empty(), !cfg.keep_raw);
            let s = &msg.summary;
            assert_eq!(s.subject.as_deref(), Some("hi"));
            assert_eq!(s.parts.len(), 2);
            assert_eq!(s.parts[1].first_bytes, b"MZ");
            assert_eq!(s.parts[1].magic, Some("pe-executable"));
            assert!(!s.truncated);
        }
        assert_eq!(m[0].1.summary, m[1].1.summary);
    }
}

#[test]
fn test_gap_in_commands_resyncs_at_next_command() {
    let m = meta();
    let mut dec = SessionDecoder::new(&DecoderConfig::default(), &m, false);
    let mut out = Vec::new();
    let t = m.start;
    dec.feed(
        Sv,
        Chunk {
            ts: t,
            frame: 1,
            bytes: b"220 mx\r\n",
        },
        &mut out,
    );
    dec.feed(
        Cl,
        Chunk {
            ts: t,
            frame: 2,
            bytes: b"MAIL FR",
        },
        &mut out,
    );
    dec.gap(Cl, t, 3, 50, &mut out);
    dec.feed(
        Cl,
        Chunk {
            ts: t,
            frame: 4,
            bytes: b"om the middle\r\nRCPT TO:<a@b>\r\n",
        },
        &mut out,
    );
    dec.close(CloseReason::Rst, t, &mut out);
    assert_eq!(commands(&out), ["RCPT TO:<a@b>"]);
    assert!(anomalies(&out)
        .iter()
        .any(|a| matches!(a, Anomaly::ResyncSkipped { lines: 1, .. })));
    assert_eq!(session_end(&out).reason, EndReason::Rst);
}

#[test]
fn test_gap_in_bdat_counts_against_chunk() {
    let m = meta();
    let mut dec = SessionDecoder::new(&kept(), &m, false);
    let mut out = Vec::new();
    let t = m.start;
    dec.feed(
        Cl,
        Chunk {
            ts: t,
            frame: 1,
            bytes: b"BDAT 10 LAST\r\nabc",
        },
        &mut out,
    );
    dec.gap(Cl, t, 2, 4, &mut out);
    dec.feed(
        Cl,
        Chunk {
            ts: t,
            frame: 3,
            bytes: b"xyzQUIT\r\n",
        },
        &mut out,
    );
    dec.close(CloseReason::Fin, t, &mut out);
    assert_eq!(commands(&out), ["BDAT 10 LAST", "QUIT"]);
    let msgs = messages(&out);
    assert!(!msgs[0].0);
    assert_eq!(msgs[0].1.size, 10);
    assert_eq!(msgs[0].1.raw, b"abcxyz");
}

#[test]
fn test_unterminated_data_at_close_is_incomplete() {
    let ev = run(&[
        (Sv, b"220 mx\r\n"),
        (Cl, b"DATA\r\n"),
        (Sv, b"354 go\r\n"),
        (Cl, b"Subject: x\r\n\r\nhalf"),
    ]);
    let m = messages(&ev);
    assert!(!m[0].0);
    assert_eq!(m[0].1.raw, b"Subject: x\r\n\r\nhalf");
    assert_eq!(session_end(&ev).reason, EndReason::Fin);
}

#[test]
fn test_line_anomalies_bare_lf_nul_overlong() {
    let cfg = DecoderConfig {
        max_line_len: 100,
        ..DecoderConfig::default()
    };
    let mut long = b"NOOP ".to_vec();
    long.extend(std::iter::repeat_n(b'x', 600));
    long.extend_from_slice(b"\r\n");
    let ev = run_with(
        &cfg,
        &[
            (Sv, b"220 mx\r\n"),
            (Cl, b"HELO a\x00b\n"),
            (Cl, &long),
            (Cl, b"xyzzy\r\n"),
        ],
    );
    let a = anomalies(&ev);
    assert!(a.iter().any(|a| matches!(
        a,
        Anomaly::BareLineTerminator {
            term: Terminator::Lf,
            ..
        }
    )));
    assert!(a.iter().any(|a| matches!(a, Anomaly::NulInLine { .. })));
    assert!(a.contains(&&Anomaly::LineOverCap { len: 605, cap: 100 }));
    assert!(a.contains(&&Anomaly::UnknownCommand {
        verb: "XYZZY".into()
    }));
}

#[test]
fn test_unterminated_reply_at_close_releases_held_bytes() {
    // The 554 to DATA arrives without CRLF and the connection closes: the
    // bytes held after DATA are still decoded as the commands they were.
    let ev = run(&[
        (Sv, b"220 mx\r\n"),
        (Cl, b"DATA\r\nQUIT\r\n"),
        (Sv, b"554 no"),
    ]);
    assert_eq!(commands(&ev), ["DATA", "QUIT"]);
    assert!(messages(&ev).is_empty());
}
