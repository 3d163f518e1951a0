//! The teaching state machine and line explanations, on dialogues built
//! through the real decoder and model (no hand-made timelines).

use std::net::SocketAddr;

use smtpscope::capture::Timestamp;
use smtpscope::model::{Session, SessionBuilder, TimelineKind};
use smtpscope::net::{Chunk, CloseReason, ConnId, ConnMeta, Dir, RoleSource};
use smtpscope::smtp::{DecoderConfig, SessionDecoder};
use smtpscope::teach::state::{track, State};
use smtpscope::teach::{annotate, explain_event};

use Dir::{ClientToServer as Cl, ServerToClient as Sv};

fn session(steps: &[(Dir, &[u8])]) -> Session {
    let m = ConnMeta {
        id: ConnId(7),
        client: "192.0.2.10:40000".parse::<SocketAddr>().unwrap(),
        server: "198.51.100.25:25".parse::<SocketAddr>().unwrap(),
        start: Timestamp::from_nanos(1_714_564_800_000_000_000),
        first_frame: 1,
        roles: RoleSource::Handshake,
    };
    let mut dec = SessionDecoder::new(&DecoderConfig::default(), &m, false);
    let mut b = SessionBuilder::new(&m);
    let mut out = Vec::new();
    let mut ts = m.start;
    for (i, (dir, bytes)) in steps.iter().enumerate() {
        ts = m.start.add_nanos((i as i64 + 1) * 1_000_000);
        let chunk = Chunk {
            ts,
            frame: i as u64 + 2,
            bytes,
        };
        dec.feed(*dir, chunk, &mut out);
        b.apply_all(out.drain(..));
    }
    dec.close(CloseReason::Fin, ts.add_nanos(1_000_000), &mut out);
    b.apply_all(out.drain(..));
    b.finish()
}

/// Timeline index of the first command line starting with `prefix`.
fn cmd(s: &Session, prefix: &str) -> usize {
    s.timeline
        .iter()
        .position(|t| t.kind == TimelineKind::Command && t.lines[0].starts_with(prefix))
        .unwrap_or_else(|| panic!("no command {prefix}"))
}

#[test]
fn test_out_of_order_rcpt_before_mail_and_data_without_rcpt_are_explained() {
    let s = session(&[
        (Sv, b"220 mx.example ESMTP\r\n"),
        (Cl, b"EHLO client.example\r\n"),
        (
            Sv,
            b"250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000000\r\n",
        ),
        (Cl, b"RCPT TO:<bob@example.org>\r\n"),
        (Sv, b"503 5.5.1 Error: need MAIL command\r\n"),
        (Cl, b"MAIL FROM:<alice@example.com>\r\n"),
        (Sv, b"250 2.1.0 Ok\r\n"),
        (Cl, b"DATA\r\n"),
        (Sv, b"554 5.5.1 Error: no valid recipients\r\n"),
        (Cl, b"MAIL FROM:<again@example.com>\r\n"),
        (Sv, b"503 5.5.1 Error: nested MAIL command\r\n"),
        (Cl, b"QUIT\r\n"),
        (Sv, b"221 2.0.0 Bye\r\n"),
    ]);
    let steps = track(&s);
    assert_eq!(steps.len(), s.timeline.len());

    let rcpt = explain_event(&s, cmd(&s, "RCPT"));
    let v = rcpt.violation.as_deref().expect("RCPT before MAIL flagged");
    assert!(
        v.contains("RCPT before MAIL") && v.contains("§4.1.4"),
        "{v}"
    );
    assert_eq!(rcpt.state_before, State::Ready);
    // The 503 leaves the state unchanged (RFC 5321 §4.1.4).
    let reply = explain_event(&s, s.timeline[cmd(&s, "RCPT")].reply.unwrap());
    assert_eq!(
        (reply.state_before, reply.state_after),
        (State::Ready, State::Ready)
    );
    assert!(
        reply.summary.starts_with("503 to RCPT"),
        "{}",
        reply.summary
    );

    let data = explain_event(&s, cmd(&s, "DATA"));
    let v = data
        .violation
        .as_deref()
        .expect("DATA without RCPT flagged");
    assert!(v.contains("without any accepted recipient"), "{v}");
    assert_eq!(data.state_before, State::MailOk);

    let second_mail = s
        .timeline
        .iter()
        .rposition(|t| t.kind == TimelineKind::Command && t.lines[0].starts_with("MAIL"))
        .unwrap();
    let m = explain_event(&s, second_mail);
    assert!(
        m.violation
            .as_deref()
            .unwrap()
            .contains("MAIL during a transaction"),
        "{m:?}"
    );

    // The first MAIL was in order: no violation, and it opens a transaction.
    let first_mail = explain_event(&s, cmd(&s, "MAIL"));
    assert_eq!(first_mail.violation, None);
    assert_eq!(
        (first_mail.state_before, first_mail.state_after),
        (State::Ready, State::MailOk)
    );
    assert!(first_mail.valid_next.contains(&"RCPT"));
    let quit = explain_event(&s, cmd(&s, "QUIT"));
    assert_eq!(quit.violation, None);
}

#[test]
fn test_pipelined_transaction_is_judged_against_the_projected_state() {
    let s = session(&[
        (Sv, b"220 mx.example ESMTP\r\n"),
        (Cl, b"EHLO c\r\n"),
        (Sv, b"250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n"),
        (
            Cl,
            b"MAIL FROM:<a@example.com> BODY=8BITMIME\r\nRCPT TO:<b@example.org>\r\nDATA\r\n",
        ),
        (
            Sv,
            b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n",
        ),
        (Cl, b"Subject: t\r\n\r\nhello\r\n.\r\n"),
        (Sv, b"250 2.0.0 Ok: queued\r\n"),
        (Cl, b"QUIT\r\n"),
        (Sv, b"221 Bye\r\n"),
    ]);
    for (i, step) in track(&s).iter().enumerate() {
        assert_eq!(step.violation, None, "line {i}: {:?}", s.timeline[i].lines);
    }
    let rcpt = explain_event(&s, cmd(&s, "RCPT"));
    assert_eq!(rcpt.state_before, State::MailOk);
    let mail = explain_event(&s, cmd(&s, "MAIL"));
    assert!(
        mail.details.iter().any(|d| d.contains("8BITMIME")),
        "{mail:?}"
    );
    let msg = s
        .timeline
        .iter()
        .position(|t| t.kind == TimelineKind::Message)
        .unwrap();
    let fin = explain_event(&s, s.timeline[msg].reply.unwrap());
    assert_eq!(fin.state_after, State::Ready);
    assert!(fin.details.iter().any(|d| d.contains("§4.2.5")), "{fin:?}");
}

#[test]
fn test_ehlo_reply_reply_digits_and_auth_lines_are_explained_without_the_secret() {
    // AUTH PLAIN with initial response: \0alice\0s3cret-pass
    let s = session(&[
        (Sv, b"220 mx.example ESMTP\r\n"),
        (Cl, b"EHLO c\r\n"),
        (
            Sv,
            b"250-mx.example\r\n250-SIZE 1000\r\n250-AUTH PLAIN LOGIN\r\n250-XXXA\r\n250 ENHANCEDSTATUSCODES\r\n",
        ),
        (Cl, b"AUTH PLAIN AGFsaWNlAHMzY3JldC1wYXNz\r\n"),
        (Sv, b"535 5.7.8 Authentication failed\r\n"),
        (Cl, b"QUIT\r\n"),
        (Sv, b"221 Bye\r\n"),
    ]);
    let ehlo_reply = explain_event(&s, s.timeline[cmd(&s, "EHLO")].reply.unwrap());
    let d = ehlo_reply.details.join("\n");
    assert!(d.contains("SIZE: ") && d.contains("RFC 1870"), "{d}");
    assert!(d.contains("AUTH: ") && d.contains("PLAIN: exposes"), "{d}");
    assert!(d.contains("XXXA: private extension"), "{d}");
    assert!(d.contains("ENHANCEDSTATUSCODES: "), "{d}");
    assert_eq!(ehlo_reply.state_after, State::Ready);

    let auth = explain_event(&s, cmd(&s, "AUTH"));
    let all = auth.to_lines().join("\n");
    assert!(all.contains("user name alice"), "{all}");
    assert!(all.contains("clear-text password (masked)"), "{all}");
    assert!(!all.contains("s3cret"), "secret leaked: {all}");
    assert!(all.contains("RFC 4616"), "{all}");

    let fail = explain_event(&s, s.timeline[cmd(&s, "AUTH")].reply.unwrap());
    let d = fail.details.join("\n");
    assert!(
        d.contains("first digit 5") && d.contains("enhanced code 5.7.8"),
        "{d}"
    );

    let notes = annotate(&s);
    assert_eq!(notes.len(), s.timeline.len());
    assert!(notes
        .iter()
        .all(|(_, lines)| !lines.join(" ").contains("s3cret")));
}

#[test]
fn test_login_responses_are_told_apart_and_a_second_auth_is_out_of_sequence() {
    let s = session(&[
        (Sv, b"220 mx.example ESMTP\r\n"),
        (Cl, b"EHLO c\r\n"),
        (Sv, b"250-mx.example\r\n250 AUTH LOGIN\r\n"),
        (Cl, b"AUTH LOGIN\r\n"),
        (Sv, b"334 VXNlcm5hbWU6\r\n"),
        (Cl, b"Ym9i\r\n"),
        (Sv, b"334 UGFzc3dvcmQ6\r\n"),
        (Cl, b"aHVudGVyMg==\r\n"),
        (Sv, b"235 2.7.0 Authentication successful\r\n"),
        (Cl, b"AUTH LOGIN\r\n"),
        (Sv, b"503 5.5.1 Already authenticated\r\n"),
        (Cl, b"QUIT\r\n"),
        (Sv, b"221 Bye\r\n"),
    ]);
    let responses: Vec<usize> = s
        .timeline
        .iter()
        .enumerate()
        .filter(|(_, t)| t.kind == TimelineKind::AuthResponse)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(responses.len(), 2);
    let user = explain_event(&s, responses[0]);
    assert!(user
        .details
        .iter()
        .any(|d| d.contains("LOGIN response 1: base64 user name")));
    let pass = explain_event(&s, responses[1]);
    assert!(pass
        .details
        .iter()
        .any(|d| d.contains("LOGIN response 2: base64 password")));
    assert!(!pass.to_lines().join(" ").contains("hunter2"));
    let ok = explain_event(&s, s.timeline[responses[1]].reply.unwrap());
    assert_eq!(ok.state_after, State::Ready);
    assert!(!ok.valid_next.contains(&"AUTH"), "{:?}", ok.valid_next);
    let second = s
        .timeline
        .iter()
        .rposition(|t| t.kind == TimelineKind::Command && t.lines[0].starts_with("AUTH"))
        .unwrap();
    let again = explain_event(&s, second);
    assert!(
        again
            .violation
            .as_deref()
            .unwrap()
            .contains("only one per session"),
        "{again:?}"
    );
}

#[test]
fn test_starttls_resets_the_state_to_greeted_until_a_new_ehlo() {
    let s = session(&[
        (Sv, b"220 mx.example ESMTP\r\n"),
        (Cl, b"EHLO c\r\n"),
        (Sv, b"250-mx.example\r\n250 STARTTLS\r\n"),
        (Cl, b"STARTTLS\r\n"),
        (Sv, b"220 2.0.0 Ready to start TLS\r\n"),
        (Cl, b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00"),
    ]);
    let tls = s
        .timeline
        .iter()
        .position(|t| t.kind == TimelineKind::TlsStarted)
        .expect("TLS start on the timeline");
    let x = explain_event(&s, tls);
    assert_eq!(x.state_after, State::Greeted);
    assert!(x.references.iter().any(|r| r.contains("RFC 3207 §4.2")));
    assert!(x.valid_next.contains(&"EHLO"));
    let go = explain_event(&s, s.timeline[cmd(&s, "STARTTLS")].reply.unwrap());
    assert_eq!(go.state_after, State::Greeted);
}

#[test]
fn test_capture_started_mid_session_is_uncertain_and_not_flagged() {
    // No greeting, no MAIL seen: the capture began inside a transaction.
    let s = session(&[
        (Cl, b"RCPT TO:<bob@example.org>\r\n"),
        (Sv, b"250 2.1.5 Ok\r\n"),
        (Cl, b"DATA\r\n"),
        (Sv, b"354 go ahead\r\n"),
        (Cl, b"Subject: x\r\n\r\nbody\r\n.\r\n"),
        (Sv, b"250 2.0.0 queued\r\n"),
        (Cl, b"RCPT TO:<late@example.org>\r\n"),
        (Sv, b"503 5.5.1 need MAIL\r\n"),
    ]);
    let rcpt = explain_event(&s, cmd(&s, "RCPT"));
    assert_eq!(rcpt.violation, None);
    assert!(rcpt.uncertain);
    // The 250 to RCPT proves recipients were accepted: DATA is in order.
    let data = explain_event(&s, cmd(&s, "DATA"));
    assert_eq!((data.violation, data.state_before), (None, State::RcptOk));
    assert!(rcpt.to_lines().iter().any(|l| l.contains("uncertain")));
    // The final reply to the message pins the state down again: a RCPT
    // after it is out of sequence.
    let late = s
        .timeline
        .iter()
        .rposition(|t| t.kind == TimelineKind::Command && t.lines[0].starts_with("RCPT"))
        .unwrap();
    let late = explain_event(&s, late);
    assert!(!late.uncertain);
    assert!(late.violation.unwrap().contains("RCPT before MAIL"));
}

#[test]
fn test_hostile_verb_is_shown_escaped_once_and_never_raw() {
    let s = session(&[
        (Sv, b"220 mx.example ESMTP\r\n"),
        (Cl, b"X\x1b[31mEVIL arg\r\n"),
        (Sv, b"500 5.5.2 unrecognized\r\n"),
    ]);
    let i = s
        .timeline
        .iter()
        .position(|t| t.kind == TimelineKind::Command)
        .unwrap();
    let x = explain_event(&s, i);
    assert_eq!(x.summary, "X\\x1b[31mEVIL: not an SMTP command we know");
    assert!(x.to_lines().iter().all(|l| !l.contains('\u{1b}')));
    let reply = explain_event(&s, s.timeline[i].reply.unwrap());
    assert!(
        reply.summary.starts_with("500 to X\\x1b[31mEVIL:"),
        "{}",
        reply.summary
    );
}
