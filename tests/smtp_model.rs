//! End-to-end over the public API: decoder events -> SessionBuilder ->
//! text and JSON writers.

use std::net::SocketAddr;

use base64::Engine;
use proptest::prelude::*;
use serde_json::Value;
use smtpscope::capture::Timestamp;
use smtpscope::model::{Session, SessionBuilder};
use smtpscope::net::{Chunk, CloseReason, ConnId, ConnMeta, Dir, RoleSource};
use smtpscope::output::json::{session_json, JsonWriter};
use smtpscope::output::text::render;
use smtpscope::output::{OutputOptions, SessionWriter};
use smtpscope::smtp::{DecoderConfig, SessionDecoder};

use Dir::{ClientToServer as Cl, ServerToClient as Sv};

const MS: i64 = 1_000_000;

fn meta() -> ConnMeta {
    ConnMeta {
        id: ConnId(42),
        client: "192.0.2.10:40000".parse::<SocketAddr>().unwrap(),
        server: "198.51.100.25:587".parse::<SocketAddr>().unwrap(),
        start: Timestamp::from_nanos(1_714_564_800_000_000_000),
        first_frame: 1,
        roles: RoleSource::Handshake,
    }
}

/// Feeds each step (optionally split into pieces at `cuts`) with one
/// timestamp per step, so any chunking yields the same line times.
fn build(steps: &[(Dir, Vec<u8>)], cuts: &[Vec<usize>]) -> Session {
    let m = meta();
    let mut dec = SessionDecoder::new(&DecoderConfig::default(), &m, false);
    let mut b = SessionBuilder::new(&m);
    let mut out = Vec::new();
    let mut ts = m.start;
    for (i, (dir, bytes)) in steps.iter().enumerate() {
        ts = m.start.add_nanos((i as i64 + 1) * MS);
        let mut points: Vec<usize> = cuts.get(i).cloned().unwrap_or_default();
        points.retain(|&p| p < bytes.len());
        points.push(0);
        points.push(bytes.len());
        points.sort_unstable();
        points.dedup();
        for w in points.windows(2) {
            let chunk = Chunk {
                ts,
                frame: i as u64 + 2,
                bytes: &bytes[w[0]..w[1]],
            };
            dec.feed(*dir, chunk, &mut out);
            b.apply_all(out.drain(..));
        }
    }
    dec.close(CloseReason::Fin, ts.add_nanos(MS), &mut out);
    b.apply_all(out.drain(..));
    b.finish()
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn script() -> Vec<(Dir, Vec<u8>)> {
    let auth = format!("AUTH PLAIN {}\r\n", b64(b"\0alice\0hunter2"));
    let s: Vec<(Dir, &[u8])> = vec![
        (Sv, b"220 mx.example ESMTP\r\n"),
        (Cl, b"EHLO client.example\r\n"),
        (
            Sv,
            b"250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n",
        ),
        (Cl, auth.as_bytes()),
        (Sv, b"235 2.7.0 Authentication successful\r\n"),
        (Cl, b"MAIL FROM:<alice@example.org> SIZE=120\r\nRCPT TO:<bob@example.net>\r\nRCPT TO:<nobody@example.net>\r\nDATA\r\n"),
        (Sv, b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 unknown user\r\n354 End data with <CR><LF>.<CR><LF>\r\n"),
        (Cl, b"Subject: test\r\nFrom: alice@example.org\r\n\r\n..a dot-stuffed line\r\n.\r\n"),
        (Sv, b"250 2.0.0 Ok: queued as ABC123\r\n"),
        (Cl, b"QUIT\r\n"),
        (Sv, b"221 2.0.0 Bye\r\n"),
    ];
    s.into_iter().map(|(d, b)| (d, b.to_vec())).collect()
}

fn has_keys(v: &Value, keys: &[&str]) {
    for k in keys {
        assert!(v.get(k).is_some(), "missing {k} in {v}");
    }
}

#[test]
fn test_json_has_every_contract_field() {
    let s = build(&script(), &[]);
    let v = session_json(&s, &OutputOptions::default());
    has_keys(
        &v,
        &[
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
            "warnings",
            "gaps",
            "complete",
        ],
    );
    assert_eq!(v["type"], "session");
    assert_eq!(v["id"], 42);
    assert_eq!(v["start"], "2024-05-01T12:00:00.000000Z");
    assert_eq!(v["end"], "2024-05-01T12:00:00.012000Z");
    has_keys(&v["client"], &["ip", "port"]);
    assert_eq!(v["client"]["ip"], "192.0.2.10");
    assert_eq!(v["server"]["port"], 587);
    assert_eq!(v["greeting"], "mx.example ESMTP");
    assert_eq!(v["helo"], "client.example");
    assert_eq!(v["extensions"][1], "SIZE 1000000");
    has_keys(
        &v["tls"],
        &[
            "starttls_offered",
            "starttls_command",
            "started",
            "implicit",
        ],
    );
    has_keys(
        &v["auth"],
        &["mechanism", "user", "success", "attempts", "failures"],
    );
    assert_eq!(v["auth"]["mechanism"], "PLAIN");
    assert_eq!(v["auth"]["user"], "alice");
    assert_eq!(v["auth"]["success"], true);
    let t = &v["transactions"][0];
    has_keys(
        t,
        &[
            "mail_from",
            "rcpt_to",
            "data_bytes",
            "code",
            "completed",
            "message",
        ],
    );
    assert_eq!(t["mail_from"], "alice@example.org");
    has_keys(&t["rcpt_to"][0], &["address", "code", "accepted"]);
    assert_eq!(t["rcpt_to"][0]["accepted"], true);
    assert_eq!(t["rcpt_to"][1]["code"], 550);
    assert_eq!(t["rcpt_to"][1]["accepted"], false);
    assert_eq!(t["data_bytes"], 63);
    assert_eq!(t["code"], 250);
    assert_eq!(t["completed"], true);
    has_keys(
        &t["message"],
        &["subject", "from", "to", "message_id", "attachments"],
    );
    assert_eq!(v["warnings"], Value::Array(vec![]));
    assert_eq!(v["gaps"], 0);
    assert_eq!(v["complete"], true);
    assert!(v.get("events").is_none());
    let with_events = session_json(
        &s,
        &OutputOptions {
            timeline: true,
            ..Default::default()
        },
    );
    assert!(with_events["events"].as_array().unwrap().len() > 10);
}

#[test]
fn test_password_masked_unless_show_secrets() {
    let s = build(&script(), &[]);
    let opts = OutputOptions {
        timeline: true,
        ..Default::default()
    };
    let mut w = JsonWriter::new(Vec::new(), opts.clone());
    w.session(&s).unwrap();
    let json = String::from_utf8(w.into_inner()).unwrap();
    let text = render(&s, &opts);
    let encoded = b64(b"\0alice\0hunter2");
    for out in [&json, &text] {
        assert!(!out.contains("hunter2"), "{out}");
        assert!(!out.contains(&encoded), "{out}");
        assert!(out.contains("********"));
    }
    let reveal = OutputOptions {
        show_secrets: true,
        timeline: true,
        ..Default::default()
    };
    assert!(render(&s, &reveal).contains("hunter2"));
    assert!(render(&s, &reveal).contains(&encoded));
    assert_eq!(session_json(&s, &reveal)["auth"]["secret"], "hunter2");
}

#[test]
fn test_text_transcript_shape() {
    let s = build(&script(), &[]);
    let text = render(&s, &OutputOptions::default());
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("#42 2024-05-01T12:00:00.000000Z 192.0.2.10:40000 -> 198.51.100.25:587"),
        "{first}"
    );
    assert!(
        first.contains("[AUTH PLAIN user=alice secret=******** ok attempts=1]"),
        "{first}"
    );
    assert!(text.contains("S: 220 mx.example ESMTP"));
    assert!(text.contains("C: MAIL FROM:<alice@example.org> SIZE=120"));
    assert!(
        text.contains("C: [DATA 63 bytes, subject \"test\"]"),
        "{text}"
    );
    assert!(text.contains("(1.0ms)"), "{text}");
}

#[test]
fn test_hostile_bytes_escaped_in_text_and_valid_in_json() {
    let steps: Vec<(Dir, Vec<u8>)> = vec![
        (
            Sv,
            b"220 \x1b]52;c;ZXZpbA==\x07 \x1b[2J evil\xff\xfe \xe2\x80\xae rtl\r\n".to_vec(),
        ),
        (Cl, b"EHLO \x1b]8;;http://x\x07link\x00\x9b31m\r\n".to_vec()),
        (Sv, b"250 ok\r\n".to_vec()),
        (Cl, b"MAIL FROM:<\x1b[31m@x>\r\n".to_vec()),
        (Sv, b"250 ok\r\n".to_vec()),
        (Cl, b"X\x1b[2J\r\n".to_vec()),
    ];
    let s = build(&steps, &[]);
    let opts = OutputOptions {
        timeline: true,
        bodies: true,
        show_secrets: true,
        teach: false,
    };
    let text = render(&s, &opts);
    for c in text.chars() {
        assert!(
            c == '\n' || !c.is_control(),
            "raw control {c:?} in text:\n{text}"
        );
        assert!(
            !matches!(c, '\u{202e}' | '\u{9b}'),
            "dangerous {c:?} in text"
        );
    }
    assert!(text.contains("\\x1b]52;c;ZXZpbA==\\x07"), "{text}");
    assert!(text.contains("evil\\xff\\xfe"), "{text}");
    let mut w = JsonWriter::new(Vec::new(), opts);
    w.session(&s).unwrap();
    let bytes = w.into_inner();
    let json = std::str::from_utf8(&bytes).expect("JSON output is UTF-8");
    assert!(
        !json.bytes().any(|b| b < 0x20 && b != b'\n'),
        "raw control byte in JSON"
    );
    let v: Value = serde_json::from_str(json.trim_end()).expect("valid JSON");
    assert!(
        v["greeting"].as_str().unwrap().contains('\u{1b}'),
        "JSON keeps the text, escaped by JSON"
    );
}

#[test]
fn test_snapshot_of_open_session() {
    let m = meta();
    let mut dec = SessionDecoder::new(&DecoderConfig::default(), &m, false);
    let mut b = SessionBuilder::new(&m);
    let mut out = Vec::new();
    for (dir, bytes) in [
        (Sv, &b"220 mx\r\n"[..]),
        (Cl, b"EHLO c\r\n"),
        (Sv, b"250 mx\r\n"),
        (Cl, b"MAIL FROM:<a@b>\r\n"),
        (Sv, b"250 ok\r\n"),
        (Cl, b"RCPT TO:<c@d>\r\n"),
    ] {
        dec.feed(
            dir,
            Chunk {
                ts: m.start,
                frame: 1,
                bytes,
            },
            &mut out,
        );
        b.apply_all(out.drain(..));
    }
    let snap = b.session().clone();
    assert!(!snap.closed && snap.end.is_none());
    assert_eq!(snap.transactions.len(), 1);
    assert!(
        snap.transactions[0].rcpt_to.is_empty(),
        "RCPT unanswered yet"
    );
    assert!(render(&snap, &OutputOptions::default()).contains("(open)"));
    dec.feed(
        Sv,
        Chunk {
            ts: m.start,
            frame: 2,
            bytes: b"250 ok\r\n",
        },
        &mut out,
    );
    b.apply_all(out.drain(..));
    assert_eq!(b.session().transactions[0].rcpt_to.len(), 1);
}

fn cut_strategy() -> impl Strategy<Value = Vec<Vec<usize>>> {
    prop::collection::vec(prop::collection::vec(0usize..160, 0..6), 11)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn test_any_chunking_gives_identical_session(cuts in cut_strategy()) {
        let steps = script();
        let whole = build(&steps, &[]);
        let split = build(&steps, &cuts);
        let opts = OutputOptions { timeline: true, show_secrets: true, bodies: true, teach: false };
        prop_assert_eq!(session_json(&whole, &opts), session_json(&split, &opts));
        prop_assert_eq!(render(&whole, &opts), render(&split, &opts));
    }

    #[test]
    fn test_byte_at_a_time_gives_identical_session(step in 0usize..11) {
        let steps = script();
        let whole = build(&steps, &[]);
        let mut cuts = vec![Vec::new(); 11];
        cuts[step] = (1..steps[step].1.len()).collect();
        let split = build(&steps, &cuts);
        let opts = OutputOptions { timeline: true, ..Default::default() };
        prop_assert_eq!(session_json(&whole, &opts), session_json(&split, &opts));
    }
}

/// LMTP (RFC 2033 §4.2): after the message, one reply per accepted
/// recipient, in RCPT order; none is an unsolicited reply, each is that
/// recipient's delivery result, and the message counts as delivered when
/// any recipient got it.
#[test]
fn test_lmtp_per_recipient_replies_after_data_are_paired() {
    let steps: Vec<(Dir, Vec<u8>)> = [
        (Sv, &b"220 lmtp.example.org LMTP\r\n"[..]),
        (Cl, b"LHLO client.example.com\r\n"),
        (Sv, b"250-lmtp.example.org\r\n250 PIPELINING\r\n"),
        (Cl, b"MAIL FROM:<a@example.com>\r\n"),
        (Sv, b"250 ok\r\n"),
        (Cl, b"RCPT TO:<one@example.org>\r\n"),
        (Sv, b"250 ok\r\n"),
        (Cl, b"RCPT TO:<nobody@example.org>\r\n"),
        (Sv, b"550 5.1.1 no such user\r\n"),
        (Cl, b"RCPT TO:<two@example.org>\r\n"),
        (Sv, b"250 ok\r\n"),
        (Cl, b"DATA\r\n"),
        (Sv, b"354 go\r\n"),
        (Cl, b"Subject: lmtp\r\n\r\nhi\r\n.\r\n"),
        (
            Sv,
            b"250 2.1.5 one@example.org delivered\r\n452 4.2.2 two@example.org over quota\r\n",
        ),
        (Cl, b"QUIT\r\n"),
        (Sv, b"221 bye\r\n"),
    ]
    .iter()
    .map(|(d, b)| (*d, b.to_vec()))
    .collect();
    let s = build(&steps, &[]);
    assert!(s.anomalies.is_empty(), "{:?}", s.anomalies);
    assert_eq!(s.counters.unanswered, 0);
    let t = &s.transactions[0];
    assert_eq!(t.code.map(|c| c.0), Some(250));
    assert!(t.completed);
    let delivery: Vec<_> = t.rcpt_to.iter().map(|r| r.delivery.map(|c| c.0)).collect();
    assert_eq!(delivery, [Some(250), None, Some(452)]);
    let v = session_json(&s, &OutputOptions::default());
    assert_eq!(v["transactions"][0]["rcpt_to"][2]["delivery"], 452);
    // Both replies answer the message line; the first is its reply.
    let msg = s
        .timeline
        .iter()
        .position(|e| e.kind == smtpscope::model::TimelineKind::Message)
        .unwrap();
    let answering: Vec<_> = s
        .timeline
        .iter()
        .enumerate()
        .filter(|(_, e)| e.answers == Some(msg))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(answering.len(), 2);
    assert_eq!(s.timeline[msg].reply, Some(answering[0]));
}

/// After a message, the client's next MAIL starts another transaction
/// even when no reply to it is seen (the server closed after an error and
/// the client had pipelined on, as in suricata-verify's
/// smtp-bdat-bad-tail-next-mail): the second message must not replace the
/// first one's summary.
#[test]
fn test_message_after_an_unanswered_mail_keeps_the_first_transactions_message() {
    let steps = |second: &[u8], replies: Option<&[u8]>| -> Vec<(Dir, Vec<u8>)> {
        let mut client = b"BDAT 21 LAST\r\nSubject: first\r\n\r\nx\r\n".to_vec();
        client.extend_from_slice(b"MAIL FROM:<bob@example.net>\r\nRCPT TO:<alice@example.org>\r\n");
        client.extend_from_slice(second);
        let mut v: Vec<(Dir, Vec<u8>)> = [
            (Sv, &b"220 mx ESMTP\r\n"[..]),
            (Cl, b"EHLO c.example\r\n"),
            (Sv, b"250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n"),
            (Cl, b"MAIL FROM:<alice@example.org>\r\n"),
            (Sv, b"250 ok\r\n"),
            (Cl, b"RCPT TO:<bob@example.net>\r\n"),
            (Sv, b"250 ok\r\n"),
        ]
        .iter()
        .map(|(d, b)| (*d, b.to_vec()))
        .collect();
        v.push((Cl, client));
        v.extend(replies.map(|r| (Sv, r.to_vec())));
        v
    };
    let summary = |s: &Session| -> Vec<(Option<String>, Option<String>)> {
        s.transactions
            .iter()
            .map(|t| {
                (
                    t.mail_from.as_ref().map(|m| m.lossy()),
                    t.message.as_ref().and_then(|m| m.subject.clone()),
                )
            })
            .collect()
    };
    let expected = [
        (Some("alice@example.org".into()), Some("first".into())),
        (Some("bob@example.net".into()), Some("second".into())),
    ];
    // No reply after the first message: the server had closed.
    let s = build(
        &steps(b"DATA\r\nSubject: second\r\n\r\ny\r\n.\r\n", None),
        &[],
    );
    assert_eq!(summary(&s), expected);
    // BDAT needs no 354, so a pipelining client's second message can come
    // before the server answers its MAIL: that late 250 belongs to the
    // transaction the message opened, and opens no third one.
    let bdat = b"BDAT 22 LAST\r\nSubject: second\r\n\r\ny\r\n";
    let s = build(
        &steps(bdat, Some(b"250 one\r\n250 ok\r\n250 ok\r\n250 two\r\n")),
        &[],
    );
    assert_eq!(summary(&s), expected);
    assert!(s.transactions.iter().all(|t| t.completed));
}

/// (sender, [(recipient, code)], subject, final code) of each transaction.
type TxnView = (
    Option<String>,
    Vec<(String, Option<u16>)>,
    Option<String>,
    Option<u16>,
);

fn txns(s: &Session) -> Vec<TxnView> {
    s.transactions
        .iter()
        .map(|t| {
            (
                t.mail_from.as_ref().map(|m| m.lossy()),
                t.rcpt_to
                    .iter()
                    .map(|r| (r.address.lossy(), r.code.map(|c| c.0)))
                    .collect(),
                t.message.as_ref().and_then(|m| m.subject.clone()),
                t.code.map(|c| c.0),
            )
        })
        .collect()
}

/// A session with CHUNKING and PIPELINING, then `client` in one segment
/// and `server` in the next.
fn chunking(client: &[u8], server: &[u8]) -> Session {
    let steps: Vec<(Dir, Vec<u8>)> = [
        (Sv, &b"220 mx ESMTP\r\n"[..]),
        (Cl, b"EHLO c.example\r\n"),
        (Sv, b"250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n"),
        (Cl, client),
        (Sv, server),
    ]
    .iter()
    .map(|(d, b)| (*d, b.to_vec()))
    .collect();
    build(&steps, &[])
}

fn view(
    from: &str,
    rcpt: &str,
    rcpt_code: Option<u16>,
    subject: &str,
    code: Option<u16>,
) -> TxnView {
    (
        Some(from.into()),
        vec![(rcpt.into(), rcpt_code)],
        Some(subject.into()),
        code,
    )
}

/// BDAT needs no 354, so RFC 3030 clients may send MAIL, RCPT and the
/// whole message before any reply: each reply must still find its
/// transaction, however many transactions are in flight.
#[test]
fn test_pipelined_bdat_transactions_get_their_own_replies() {
    // One transaction sent whole before any reply.
    let s = chunking(
        b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 16 LAST\r\nSubject: one\r\n\r\n",
        b"250 ok\r\n250 ok\r\n250 queued\r\n",
    );
    assert_eq!(txns(&s), [view("a@x", "b@y", Some(250), "one", Some(250))]);

    // Two, the first in two chunks.
    let s = chunking(
        b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 16\r\nSubject: one\r\n\r\nBDAT 0 LAST\r\nMAIL FROM:<c@x>\r\nRCPT TO:<d@y>\r\nBDAT 16 LAST\r\nSubject: two\r\n\r\n",
        b"250 ok\r\n250 ok\r\n250 chunk\r\n250 queued 1\r\n250 ok\r\n451 later\r\n250 queued 2\r\n",
    );
    assert_eq!(
        txns(&s),
        [
            view("a@x", "b@y", Some(250), "one", Some(250)),
            view("c@x", "d@y", Some(451), "two", Some(250)),
        ]
    );

    // The first transaction's replies come before the second's message.
    let s = chunking(
        b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 16 LAST\r\nSubject: one\r\n\r\nMAIL FROM:<c@x>\r\nRCPT TO:<d@y>\r\nBDAT 16 LAST\r\nSubject: two\r\n\r\n",
        b"250 ok\r\n250 ok\r\n250 queued 1\r\n250 ok\r\n250 ok\r\n250 queued 2\r\n",
    );
    assert_eq!(
        txns(&s),
        [
            view("a@x", "b@y", Some(250), "one", Some(250)),
            view("c@x", "d@y", Some(250), "two", Some(250)),
        ]
    );
}

/// A RCPT after RSET belongs to no transaction (the server refuses it).
#[test]
fn test_rcpt_after_rset_joins_no_transaction() {
    let s = chunking(
        b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRSET\r\nRCPT TO:<z@y>\r\n",
        b"250 ok\r\n250 ok\r\n250 reset\r\n503 need MAIL\r\n",
    );
    let t = &s.transactions[0];
    assert_eq!(t.rcpt_to.len(), 1);
    assert_eq!(t.rcpt_count, 1);
}

/// A BDAT message pipelined behind a MAIL the server then refuses was
/// still sent (RFC 3030 §4.2): its transaction stays, with the refusal as
/// `mail_code` and the BDAT's reply as its final code, never completed.
#[test]
fn test_bdat_message_behind_a_refused_mail_keeps_the_refusal() {
    let s = chunking(
        b"MAIL FROM:<spam@x>\r\nRCPT TO:<b@y>\r\nBDAT 16 LAST\r\nSubject: one\r\n\r\n",
        b"550 go away\r\n503 need MAIL\r\n503 need RCPT\r\n",
    );
    assert_eq!(
        txns(&s),
        [view("spam@x", "b@y", Some(503), "one", Some(503))]
    );
    let t = &s.transactions[0];
    assert_eq!(t.mail_code.map(|c| c.0), Some(550));
    assert!(!t.completed);
    let json = session_json(&s, &OutputOptions::default());
    assert_eq!(json["transactions"][0]["mail_code"], 550);
}

/// Every transaction the server opened carries its MAIL's 2xx; a message
/// whose MAIL the capture never answered has none.
#[test]
fn test_mail_code_is_the_mails_reply_or_null() {
    let s = chunking(
        b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 16 LAST\r\nSubject: one\r\n\r\nMAIL FROM:<c@x>\r\nRCPT TO:<d@y>\r\nBDAT 16 LAST\r\nSubject: two\r\n\r\n",
        b"251 ok\r\n250 ok\r\n250 queued 1\r\n",
    );
    let codes: Vec<Option<u16>> = s
        .transactions
        .iter()
        .map(|t| t.mail_code.map(|c| c.0))
        .collect();
    assert_eq!(codes, [Some(251), None]);
}

/// A MAIL refused inside an open transaction (503 nested MAIL) does not
/// end it: the RCPTs after it, answered or not, are that transaction's.
/// A MAIL refused with no transaction open leaves the RCPTs after it
/// with none.
#[test]
fn test_rcpts_after_a_refused_mail_go_where_the_server_put_them() {
    let s = chunking(
        b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nMAIL FROM:<c@x>\r\nRCPT TO:<d@y>\r\nRCPT TO:<e@y>\r\n",
        b"250 ok\r\n250 ok\r\n503 nested MAIL\r\n250 ok\r\n",
    );
    let rcpts: Vec<(String, Option<u16>)> = s.transactions[0]
        .rcpt_to
        .iter()
        .map(|r| (r.address.lossy(), r.code.map(|c| c.0)))
        .collect();
    assert_eq!(
        rcpts,
        [
            ("b@y".into(), Some(250)),
            ("d@y".into(), Some(250)),
            ("e@y".into(), None)
        ]
    );
    assert_eq!(s.transactions.len(), 1);

    let s = chunking(
        b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRSET\r\nMAIL FROM:<c@x>\r\nRCPT TO:<d@y>\r\nRCPT TO:<e@y>\r\n",
        b"250 ok\r\n250 ok\r\n250 reset\r\n550 no\r\n503 need MAIL\r\n",
    );
    assert_eq!(s.transactions.len(), 1);
    assert_eq!(s.transactions[0].rcpt_to.len(), 1);
}
