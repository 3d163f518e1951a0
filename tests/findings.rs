//! Security findings: for every finding id a small generated capture that
//! raises it (asserting id, severity and evidence) and a near miss that
//! must not;
//! the benign-capture guard; and docs/findings.md kept in step with
//! `analysis::catalogue()`.

mod common;

use std::net::SocketAddr;

use base64::Engine;
use smtpscope::analysis::{
    catalogue, catalogue_markdown, AnalysisConfig, Analyzer, Facts, Finding, Severity,
};
use std::sync::atomic::{AtomicU64, Ordering};

use common::{tcp_packet, ACK, FINACK, SYN, SYNACK};
use smtpscope::capture::writer::PcapWriter;
use smtpscope::capture::{LinkType, Timestamp};
use smtpscope::model::Session;
use smtpscope::net::{ConnId, Dir};

use Dir::{ClientToServer as C, ServerToClient as S};
use Severity::*;

const MS: i64 = 1_000_000;
/// A fake TLS record (handshake type, TLS 1.0 record version).
const TLS: &[u8] = b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00";

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Writes a byte script as a small capture with the project's own pcap
/// writer (a handshake, one segment per step, each acknowledged, FINs),
/// then reads it back through the whole pipeline, as `smtpscope FILE`
/// would. Step i is frame 4 + 2i, at i + 1 ms. The capture stays in the
/// scratch directory for a look in the UI.
fn session(id: u64, client: &str, port: u16, steps: &[(Dir, &[u8])]) -> Session {
    captured(id, client, port, steps, true)
}

/// As [`session`]; without `handshake` the capture starts mid-connection
/// (no SYN, SYN-ACK, ACK; step i is then frame 1 + 2i).
fn captured(id: u64, client: &str, port: u16, steps: &[(Dir, &[u8])], handshake: bool) -> Session {
    static N: AtomicU64 = AtomicU64::new(0);
    let client: SocketAddr = client.parse().unwrap();
    let server: SocketAddr = format!("198.51.100.25:{port}").parse().unwrap();
    let start = 1_714_564_800_000_000_000 + id as i64 * 1000 * MS;
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| common::scratch("findings"));
    let path = dir.join(format!(
        "{}-session{id}.pcap",
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let mut w = PcapWriter::new(
        std::io::BufWriter::new(std::fs::File::create(&path).unwrap()),
        LinkType::RAW,
    )
    .unwrap();
    let mut put = |ms: i64, us: i64, p: Vec<u8>| {
        let ts = Timestamp::from_nanos(start + ms * MS + us * 1000);
        w.write_packet(ts, &p, p.len() as u32).unwrap();
    };
    let (mut c, mut sv) = (1000u32, 5000u32);
    if handshake {
        put(0, 0, tcp_packet(client, server, c, 0, SYN, b""));
        put(0, 1, tcp_packet(server, client, sv, c + 1, SYNACK, b""));
    }
    c += 1;
    sv += 1;
    if handshake {
        put(0, 2, tcp_packet(client, server, c, sv, ACK, b""));
    }
    for (i, (dir, bytes)) in steps.iter().enumerate() {
        let ms = i as i64 + 1;
        let n = bytes.len() as u32;
        match dir {
            C => {
                put(ms, 0, tcp_packet(client, server, c, sv, ACK, bytes));
                c = c.wrapping_add(n);
                put(ms, 1, tcp_packet(server, client, sv, c, ACK, b""));
            }
            S => {
                put(ms, 0, tcp_packet(server, client, sv, c, ACK, bytes));
                sv = sv.wrapping_add(n);
                put(ms, 1, tcp_packet(client, server, c, sv, ACK, b""));
            }
        }
    }
    let end = steps.len() as i64 + 1;
    put(end, 0, tcp_packet(client, server, c, sv, FINACK, b""));
    put(end, 1, tcp_packet(server, client, sv, c + 1, FINACK, b""));
    put(end, 2, tcp_packet(client, server, c + 1, sv + 1, ACK, b""));
    w.flush().unwrap();
    drop(w);
    let (mut sessions, outcome) = common::decode(&[path.display().to_string()]);
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    assert_eq!(sessions.len(), 1, "one session in {}", path.display());
    let mut s = sessions.remove(0);
    // Cross-session tests tell their sessions apart by id.
    s.id = ConnId(id);
    s
}

fn findings_with(
    cfg: AnalysisConfig,
    port: u16,
    steps: &[(Dir, &[u8])],
) -> (Session, Vec<Finding>) {
    let s = session(42, "192.0.2.10:40000", port, steps);
    let f = Analyzer::new(cfg).findings(&s);
    (s, f)
}

fn findings(port: u16, steps: &[(Dir, &[u8])]) -> (Session, Vec<Finding>) {
    findings_with(AnalysisConfig::default(), port, steps)
}

/// The finding exists with this severity, and its evidence points into
/// the session: its id, timeline items that exist, frames of the script.
fn assert_raised(s: &Session, f: &[Finding], id: &str, sev: Severity) -> Finding {
    assert!(
        catalogue().iter().any(|r| r.id == id),
        "{id} is not in the catalogue"
    );
    let Some(x) = f.iter().find(|x| x.id == id) else {
        panic!(
            "{id} not raised; got {:#?}",
            f.iter().map(|x| (x.id, &x.summary)).collect::<Vec<_>>()
        )
    };
    assert_eq!(x.severity, sev, "{id}: {}", x.summary);
    assert_eq!(x.evidence.session, s.id.0);
    assert!(
        !x.evidence.events.is_empty() || !x.evidence.frames.is_empty(),
        "{id} has no evidence"
    );
    for &e in &x.evidence.events {
        let t = &s.timeline[e];
        assert!(
            x.evidence.frames.contains(&t.frame),
            "{id}: frame of event {e} missing"
        );
    }
    assert!(
        x.evidence.frames.iter().all(|&fr| fr >= 2),
        "{id}: frames {:?}",
        x.evidence.frames
    );
    assert!(!x.summary.is_empty() && !x.references.is_empty());
    x.clone()
}

fn assert_quiet(f: &[Finding], id: &str) {
    if let Some(x) = f.iter().find(|x| x.id == id) {
        panic!("{id} raised on a near miss: {}", x.summary);
    }
}

const GREET: (Dir, &[u8]) = (S, b"220 mx.example.org ESMTP\r\n");
const EHLO: (Dir, &[u8]) = (C, b"EHLO client.example.com\r\n");
const CAPS: (Dir, &[u8]) = (S, b"250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-STARTTLS\r\n250-CHUNKING\r\n250 AUTH PLAIN LOGIN\r\n");
const CAPS_NOTLS: (Dir, &[u8]) = (
    S,
    b"250-mx.example.org\r\n250-PIPELINING\r\n250 AUTH CRAM-MD5\r\n",
);
const CAPS_PLAIN: (Dir, &[u8]) = (S, b"250-mx.example.org\r\n250 8BITMIME\r\n");

fn mail(body: &'static [u8]) -> Vec<(Dir, &'static [u8])> {
    vec![
        (C, b"MAIL FROM:<alice@example.com>\r\n"),
        (S, b"250 ok\r\n"),
        (C, b"RCPT TO:<bob@example.org>\r\n"),
        (S, b"250 ok\r\n"),
        (C, b"DATA\r\n"),
        (S, b"354 go\r\n"),
        (C, body),
        (S, b"250 queued\r\n"),
        (C, b"QUIT\r\n"),
        (S, b"221 bye\r\n"),
    ]
}

fn script(
    head: &[(Dir, &'static [u8])],
    tail: Vec<(Dir, &'static [u8])>,
) -> Vec<(Dir, &'static [u8])> {
    let mut v = head.to_vec();
    v.extend(tail);
    v
}

fn leak(s: String) -> &'static [u8] {
    Box::leak(s.into_bytes().into_boxed_slice())
}

// ---------------------------------------------------------------- 1. credentials

fn auth_plain(user: &str, pass: &str) -> &'static [u8] {
    leak(format!(
        "AUTH PLAIN {}\r\n",
        b64(format!("\0{user}\0{pass}").as_bytes())
    ))
}

#[test]
fn test_auth_cleartext_plain_accepted_is_critical_and_masks_the_password() {
    let (s, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, auth_plain("alice", "hunter2")),
            (S, b"235 ok\r\n"),
        ],
    );
    let x = assert_raised(&s, &f, "auth-cleartext-plain", Critical);
    assert!(x.summary.contains("alice"));
    assert!(f.iter().all(|x| !x.summary.contains("hunter2")));
    assert_eq!(x.evidence.events, vec![3]);
    // Steps 3 (AUTH) and 4 (235): frames 4 + 2i.
    assert_eq!(x.evidence.frames, vec![10, 12]);
}

#[test]
fn test_auth_cleartext_plain_rejected_is_high() {
    let (s, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, auth_plain("alice", "x")),
            (S, b"535 5.7.8 no\r\n"),
        ],
    );
    assert_raised(&s, &f, "auth-cleartext-plain", High);
}

#[test]
fn test_auth_cleartext_near_miss_auth_inside_tls_is_invisible() {
    let (_, f) = findings(
        587,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"STARTTLS\r\n"),
            (S, b"220 go\r\n"),
            (C, TLS),
        ],
    );
    assert_quiet(&f, "auth-cleartext-plain");
    assert_quiet(&f, "starttls-command-injection");
}

#[test]
fn test_auth_cleartext_login_oauth_cram_ntlm_other() {
    let login: Vec<(Dir, &[u8])> = vec![
        GREET,
        EHLO,
        CAPS,
        (C, b"AUTH LOGIN\r\n"),
        (S, b"334 VXNlcm5hbWU6\r\n"),
        (C, leak(format!("{}\r\n", b64(b"bob")))),
        (S, b"334 UGFzc3dvcmQ6\r\n"),
        (C, leak(format!("{}\r\n", b64(b"pw")))),
        (S, b"235 ok\r\n"),
    ];
    let (s, f) = findings(25, &login);
    assert!(assert_raised(&s, &f, "auth-cleartext-login", Critical)
        .summary
        .contains("bob"));

    let tok = leak(format!(
        "AUTH XOAUTH2 {}\r\n",
        b64(b"user=carol\x01auth=Bearer abc\x01\x01")
    ));
    let (s, f) = findings(587, &[GREET, EHLO, CAPS, (C, tok), (S, b"535 no\r\n")]);
    let x = assert_raised(&s, &f, "auth-cleartext-oauth-token", Critical);
    assert!(!x.summary.contains("abc"));

    let cram: Vec<(Dir, &[u8])> = vec![
        GREET,
        EHLO,
        CAPS_NOTLS,
        (C, b"AUTH CRAM-MD5\r\n"),
        (S, leak(format!("334 {}\r\n", b64(b"<1.2@mx>")))),
        (
            C,
            leak(format!(
                "{}\r\n",
                b64(b"dave 0123456789abcdef0123456789abcdef")
            )),
        ),
        (S, b"235 ok\r\n"),
    ];
    let (s, f) = findings(25, &cram);
    assert_raised(&s, &f, "auth-cleartext-cram-md5", Medium);

    let (s, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (
                C,
                b"AUTH NTLM TlRMTVNTUAABAAAAB4IIAAAAAAAAAAAAAAAAAAAAAAA=\r\n",
            ),
            (S, b"535 no\r\n"),
        ],
    );
    assert_raised(&s, &f, "auth-cleartext-ntlm", High);

    let scram = leak(format!(
        "AUTH SCRAM-SHA-256 {}\r\n",
        b64(b"n,,n=erin,r=abc")
    ));
    let (s, f) = findings(25, &[GREET, EHLO, CAPS, (C, scram), (S, b"535 no\r\n")]);
    // The user name is readable in SCRAM's client-first message.
    assert!(assert_raised(&s, &f, "auth-cleartext-other", Medium)
        .summary
        .contains("erin"));
}

#[test]
fn test_auth_cleartext_login_near_miss_refused_before_the_user_name() {
    // RFC 4954 §6: 538 5.7.11, encryption required; only the mechanism
    // name crossed the wire.
    let (_, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"AUTH LOGIN\r\n"),
            (
                S,
                b"538 5.7.11 Encryption required for requested authentication mechanism\r\n",
            ),
            (C, b"QUIT\r\n"),
            (S, b"221 bye\r\n"),
        ],
    );
    assert_quiet(&f, "auth-cleartext-login");
}

/// A TLS application-data record around `payload`: ciphertext can hold
/// any bytes, even ones that read like a command.
fn tls_record(payload: &[u8]) -> &'static [u8] {
    let mut r = vec![0x17, 0x03, 0x03];
    r.extend((payload.len() as u16).to_be_bytes());
    r.extend(payload);
    Box::leak(r.into_boxed_slice())
}

#[test]
fn test_auth_cleartext_oauth_token_near_miss_inside_starttls() {
    let tok = leak(format!(
        "AUTH XOAUTH2 {}\r\n",
        b64(b"user=carol\x01auth=Bearer abc\x01\x01")
    ));
    let (_, f) = findings(
        587,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"STARTTLS\r\n"),
            (S, b"220 go\r\n"),
            (C, TLS),
            (S, TLS),
            (C, tls_record(tok)),
            (S, tls_record(b"235 ok\r\n")),
        ],
    );
    assert_quiet(&f, "auth-cleartext-oauth-token");
}

#[test]
fn test_auth_cleartext_cram_md5_near_miss_cancelled_before_the_digest() {
    // RFC 4954 §4: "*" cancels; the challenge alone allows no attack.
    let (_, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS_NOTLS,
            (C, b"AUTH CRAM-MD5\r\n"),
            (S, leak(format!("334 {}\r\n", b64(b"<1.2@mx>")))),
            (C, b"*\r\n"),
            (S, b"501 5.7.0 cancelled\r\n"),
        ],
    );
    assert_quiet(&f, "auth-cleartext-cram-md5");
}

#[test]
fn test_auth_cleartext_ntlm_near_miss_mechanism_not_offered() {
    // 504: the server does not do NTLM; no NTLM message was sent.
    let (_, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"AUTH NTLM\r\n"),
            (S, b"504 5.5.4 Unrecognized authentication type\r\n"),
        ],
    );
    assert_quiet(&f, "auth-cleartext-ntlm");
}

#[test]
fn test_auth_cleartext_other_near_miss_gssapi_has_no_reusable_secret() {
    // A Kerberos ticket is bound to this server and expires: nothing to
    // replay or crack.
    let (_, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            (S, b"250-mx.example.org\r\n250 AUTH GSSAPI\r\n"),
            (
                C,
                b"AUTH GSSAPI YIIBhwYJKoZIhvcSAQICAQBuggF2MIIBcqADAgEF\r\n",
            ),
            (S, b"235 ok\r\n"),
        ],
    );
    assert_quiet(&f, "auth-cleartext-other");
}

#[test]
fn test_auth_cleartext_near_miss_external_has_no_secret() {
    let (_, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"AUTH EXTERNAL =\r\n"),
            (S, b"235 ok\r\n"),
        ],
    );
    assert!(f.iter().all(|x| !x.id.starts_with("auth-cleartext")));
}

#[test]
fn test_auth_plaintext_mechs_advertised_before_tls() {
    let (s, f) = findings(
        25,
        &[GREET, EHLO, CAPS, (C, b"QUIT\r\n"), (S, b"221 bye\r\n")],
    );
    assert_raised(&s, &f, "auth-plaintext-mechs-advertised", Medium);
    let (_, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS_NOTLS,
            (C, b"QUIT\r\n"),
            (S, b"221 bye\r\n"),
        ],
    );
    assert_quiet(&f, "auth-plaintext-mechs-advertised");
}

fn attempts(creds: &[(&str, &str)], last_ok: bool) -> Vec<(Dir, &'static [u8])> {
    let mut v = vec![GREET, EHLO, CAPS];
    for (i, (u, p)) in creds.iter().enumerate() {
        v.push((C, auth_plain(u, p)));
        let ok = last_ok && i == creds.len() - 1;
        v.push((
            S,
            if ok {
                b"235 ok\r\n"
            } else {
                b"535 5.7.8 bad\r\n"
            },
        ));
    }
    v
}

#[test]
fn test_auth_bruteforce_in_one_session() {
    let (s, f) = findings(
        587,
        &attempts(&[("alice", "1"), ("alice", "2"), ("alice", "3")], false),
    );
    let x = assert_raised(&s, &f, "auth-bruteforce", High);
    assert_eq!(x.evidence.events.len(), 3);
}

#[test]
fn test_auth_bruteforce_near_miss_single_mistyped_password() {
    let (_, f) = findings(
        587,
        &attempts(&[("alice", "typo"), ("alice", "right")], true),
    );
    assert_quiet(&f, "auth-bruteforce");
    assert_quiet(&f, "auth-success-after-failures");
}

#[test]
fn test_auth_spray_stale_and_success_after_failures_across_sessions() {
    let mut a = Analyzer::new(AnalysisConfig::default());
    let users = ["alice", "bob", "carol"];
    let mut all = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let s = session(
            i as u64 + 1,
            "203.0.113.7:1000",
            587,
            &attempts(&[(u, "Winter2024")], false),
        );
        all.push((s.clone(), a.findings(&s)));
    }
    let (s, f) = &all[2];
    assert_raised(s, f, "auth-password-spray", High);
    let s = session(
        9,
        "203.0.113.7:1001",
        587,
        &attempts(&[("dave", "Winter2024")], true),
    );
    let f = a.findings(&s);
    assert_raised(&s, &f, "auth-success-after-failures", Critical);

    let mut a = Analyzer::new(AnalysisConfig::default());
    let mut last = Vec::new();
    for i in 0..3 {
        let s = session(
            20 + i,
            "203.0.113.8:1000",
            587,
            &attempts(&[("alice", "old")], false),
        );
        last = a.findings(&s);
        if i == 2 {
            assert_raised(&s, &last, "auth-stale-credentials", Low);
        }
    }
    assert_quiet(&last, "auth-bruteforce");
}

#[test]
fn test_auth_spray_near_miss_users_behind_one_nat_mistype_then_log_in() {
    // An office behind one address: three users each mistype once, then
    // log in. Typos forgiven by the login are no run at all.
    let mut a = Analyzer::new(AnalysisConfig::default());
    let mut f = Vec::new();
    for (i, user) in ["alice", "bob", "carol"].into_iter().enumerate() {
        let s = session(
            50 + i as u64,
            "203.0.113.11:1000",
            587,
            &attempts(&[(user, "typo"), (user, "right")], true),
        );
        f.extend(a.findings(&s));
    }
    assert_quiet(&f, "auth-password-spray");
    assert_quiet(&f, "auth-success-after-failures");
    assert_quiet(&f, "auth-bruteforce");
}

#[test]
fn test_auth_bruteforce_near_miss_failures_hours_apart_are_no_run() {
    // One failure every 70 minutes (a session's start is its id in
    // seconds): three failures, no run.
    let mut a = Analyzer::new(AnalysisConfig::default());
    let mut f = Vec::new();
    for (i, pass) in ["a", "b", "c"].into_iter().enumerate() {
        let s = session(
            60 + i as u64 * 4200,
            "203.0.113.12:1000",
            587,
            &attempts(&[("alice", pass)], false),
        );
        f.extend(a.findings(&s));
    }
    assert_quiet(&f, "auth-bruteforce");
    // The same three within minutes are a run.
    let mut a = Analyzer::new(AnalysisConfig::default());
    let mut f = Vec::new();
    for (i, pass) in ["a", "b", "c"].into_iter().enumerate() {
        let s = session(
            60 + i as u64,
            "203.0.113.12:1000",
            587,
            &attempts(&[("alice", pass)], false),
        );
        f.extend(a.findings(&s));
    }
    assert!(f.iter().any(|x| x.id == "auth-bruteforce"));
}

#[test]
fn test_auth_password_spray_near_miss_disabled_account_is_not_a_guess() {
    // Three user names fail from one address, but carol's account is
    // disabled (525 5.7.13, RFC 5248): two failures, not a spray.
    let mut a = Analyzer::new(AnalysisConfig::default());
    let mut f = Vec::new();
    let tries: [(&str, &[u8]); 3] = [
        ("alice", b"535 5.7.8 bad\r\n"),
        ("bob", b"535 5.7.8 bad\r\n"),
        ("carol", b"525 5.7.13 account disabled\r\n"),
    ];
    for (i, (user, reply)) in tries.into_iter().enumerate() {
        let s = session(
            30 + i as u64,
            "203.0.113.9:1000",
            587,
            &[
                GREET,
                EHLO,
                CAPS,
                (C, auth_plain(user, "Winter2024")),
                (S, reply),
            ],
        );
        f.extend(a.findings(&s));
    }
    assert_quiet(&f, "auth-password-spray");
    assert_quiet(&f, "auth-bruteforce");
}

#[test]
fn test_auth_stale_credentials_near_miss_two_retries_then_the_new_password() {
    // A client retries its old saved password twice; then the user types
    // the new one.
    let mut a = Analyzer::new(AnalysisConfig::default());
    let mut f = Vec::new();
    for (i, (pass, ok)) in [("old", false), ("old", false), ("new", true)]
        .into_iter()
        .enumerate()
    {
        let s = session(
            40 + i as u64,
            "203.0.113.10:1000",
            587,
            &attempts(&[("alice", pass)], ok),
        );
        f.extend(a.findings(&s));
    }
    assert_quiet(&f, "auth-stale-credentials");
    assert_quiet(&f, "auth-success-after-failures");
}

#[test]
fn test_auth_mechanism_downgrade() {
    let steps: Vec<(Dir, &[u8])> = vec![
        GREET,
        EHLO,
        CAPS,
        (C, b"AUTH CRAM-MD5\r\n"),
        (S, b"334 PDEuMkBteD4=\r\n"),
        (C, b"*\r\n"),
        (S, b"501 cancelled\r\n"),
        (C, auth_plain("alice", "pw")),
        (S, b"235 ok\r\n"),
    ];
    let (s, f) = findings(587, &steps);
    assert_raised(&s, &f, "auth-mechanism-downgrade", Medium);
    let (_, f) = findings(
        587,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, auth_plain("alice", "pw")),
            (S, b"235 ok\r\n"),
        ],
    );
    assert_quiet(&f, "auth-mechanism-downgrade");
}

/// RFC 4954 §4 baseline: a server that offered CRAM-MD5 earlier offers
/// only PLAIN and LOGIN now (an EHLO reply rewritten in the path).
#[test]
fn test_auth_mechanism_downgrade_across_sessions_to_one_server() {
    const CAPS_CRAM: (Dir, &[u8]) = (
        S,
        b"250-mx.example.org\r\n250 AUTH CRAM-MD5 PLAIN LOGIN\r\n",
    );
    const CAPS_WEAK: (Dir, &[u8]) = (S, b"250-mx.example.org\r\n250 AUTH PLAIN LOGIN\r\n");
    let mut a = Analyzer::new(AnalysisConfig::default());
    let first = session(70, "192.0.2.20:1000", 587, &[GREET, EHLO, CAPS_CRAM]);
    assert_quiet(&a.findings(&first), "auth-mechanism-downgrade");
    let later = session(71, "192.0.2.21:1000", 587, &[GREET, EHLO, CAPS_WEAK]);
    let f = a.findings(&later);
    let x = assert_raised(&later, &f, "auth-mechanism-downgrade", Medium);
    assert!(
        x.summary.contains("CRAM-MD5") && x.summary.contains("#70"),
        "{}",
        x.summary
    );
}

#[test]
fn test_auth_mechanism_downgrade_near_miss_same_list_again_or_another_server() {
    const CAPS_CRAM: (Dir, &[u8]) = (
        S,
        b"250-mx.example.org\r\n250 AUTH CRAM-MD5 PLAIN LOGIN\r\n",
    );
    const CAPS_WEAK: (Dir, &[u8]) = (S, b"250-mx.example.org\r\n250 AUTH PLAIN LOGIN\r\n");
    let mut a = Analyzer::new(AnalysisConfig::default());
    let mut f = a.findings(&session(
        72,
        "192.0.2.20:1000",
        587,
        &[GREET, EHLO, CAPS_CRAM],
    ));
    f.extend(a.findings(&session(
        73,
        "192.0.2.21:1000",
        587,
        &[GREET, EHLO, CAPS_CRAM],
    )));
    // Another server (port 25 here) that never offered CRAM-MD5.
    f.extend(a.findings(&session(
        74,
        "192.0.2.22:1000",
        25,
        &[GREET, EHLO, CAPS_WEAK],
    )));
    assert_quiet(&f, "auth-mechanism-downgrade");
}

// ---------------------------------------------------------------- 2. TLS

#[test]
fn test_starttls_not_offered_on_submission_is_medium() {
    let (s, f) = findings(
        587,
        &script(&[GREET, EHLO, CAPS_PLAIN], mail(b"x\r\n.\r\n")),
    );
    assert_raised(&s, &f, "starttls-not-offered", Medium);
    let (s, f) = findings(25, &script(&[GREET, EHLO, CAPS_PLAIN], mail(b"x\r\n.\r\n")));
    assert_raised(&s, &f, "starttls-not-offered", Low);
    let (_, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS_PLAIN,
            (C, b"QUIT\r\n"),
            (S, b"221 bye\r\n"),
        ],
    );
    assert_quiet(&f, "starttls-not-offered");
}

#[test]
fn test_starttls_offered_not_used_severity_by_context() {
    let (s, f) = findings(25, &script(&[GREET, EHLO, CAPS], mail(b"x\r\n.\r\n")));
    assert_raised(&s, &f, "starttls-offered-not-used", Low);
    let (s, f) = findings(587, &script(&[GREET, EHLO, CAPS], mail(b"x\r\n.\r\n")));
    assert_raised(&s, &f, "starttls-offered-not-used", High);
    let (s, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, auth_plain("a", "b")),
            (S, b"235 ok\r\n"),
        ],
    );
    assert_raised(&s, &f, "starttls-offered-not-used", High);
    // Health check: EHLO and QUIT only.
    let (_, f) = findings(
        25,
        &[GREET, EHLO, CAPS, (C, b"QUIT\r\n"), (S, b"221 bye\r\n")],
    );
    assert_quiet(&f, "starttls-offered-not-used");
}

#[test]
fn test_starttls_rejected_then_clear_is_high() {
    let steps = script(
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"STARTTLS\r\n"),
            (S, b"454 4.7.0 TLS not available\r\n"),
        ],
        mail(b"x\r\n.\r\n"),
    );
    let (s, f) = findings(25, &steps);
    assert_raised(&s, &f, "starttls-rejected", High);
    let (s, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"STARTTLS\r\n"),
            (S, b"454 4.7.0 later\r\n"),
            (C, b"QUIT\r\n"),
            (S, b"221 bye\r\n"),
        ],
    );
    assert_raised(&s, &f, "starttls-rejected", Medium);
    let (_, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"STARTTLS\r\n"),
            (S, b"220 go\r\n"),
            (C, TLS),
        ],
    );
    assert_quiet(&f, "starttls-rejected");
}

#[test]
fn test_starttls_command_injection() {
    let (s, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"STARTTLS\r\nEHLO injected\r\n"),
            (S, b"220 go\r\n"),
            (C, TLS),
        ],
    );
    let x = assert_raised(&s, &f, "starttls-command-injection", Critical);
    assert!(x.summary.contains("EHLO injected"), "{}", x.summary);
    // Near miss: STARTTLS followed directly by a ClientHello.
    let (_, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"STARTTLS\r\n"),
            (S, b"220 go\r\n"),
            (C, TLS),
        ],
    );
    assert_quiet(&f, "starttls-command-injection");
}

#[test]
fn test_starttls_220_then_plaintext_both_ways_is_stripping_not_injection() {
    let steps: Vec<(Dir, &[u8])> = vec![
        GREET,
        EHLO,
        CAPS,
        (C, b"STARTTLS\r\n"),
        (S, b"220 go ahead\r\n"),
        (C, b"EHLO client.example.com\r\n"),
        (S, b"250-mx.example.org\r\n250 SIZE 1000\r\n"),
    ];
    let (s, f) = findings(25, &steps);
    assert_raised(&s, &f, "starttls-stripping-indicator", High);
    assert_quiet(&f, "starttls-command-injection");
    assert_quiet(&f, "starttls-response-injection");
}

#[test]
fn test_starttls_response_injection() {
    let (s, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"STARTTLS\r\n"),
            (S, b"220 go\r\n250-evil\r\n250 AUTH LOGIN\r\n"),
            (C, TLS),
        ],
    );
    assert_raised(&s, &f, "starttls-response-injection", Critical);
    let (_, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"STARTTLS\r\n"),
            (S, b"220 go\r\n"),
            (C, TLS),
            (S, TLS),
        ],
    );
    assert_quiet(&f, "starttls-response-injection");
}

/// Session `id` from client port `id` to a SOCKS5 proxy on 1080, which
/// connected it to `target`:25.
fn through_proxy(id: u64, target: &str, steps: &[(Dir, &[u8])]) -> Session {
    let mut s = session(id, &format!("192.0.2.1:{id}"), 1080, steps);
    let t = smtpscope::net::proxy::Tunnel {
        protocol: smtpscope::net::proxy::ProxyProtocol::Socks5,
        target: smtpscope::net::proxy::Target::Name(target.as_bytes().to_vec()),
        port: 25,
        user: None,
        password: None,
        consumed: [0, 0],
        steps: Vec::new(),
    };
    s.tunnel = Some(smtpscope::model::TunnelInfo::new(&t));
    s
}

#[test]
fn test_starttls_stripping_judges_each_target_behind_one_proxy() {
    let mut a = Analyzer::new(AnalysisConfig::default());
    let quit = [GREET, EHLO, CAPS, (C, b"QUIT\r\n"), (S, b"221 bye\r\n")];
    let plain = script(&[GREET, EHLO, CAPS_PLAIN], mail(b"x\r\n.\r\n"));
    let offers = through_proxy(1, "mx.a.example", &quit);
    assert_quiet(&a.findings(&offers), "starttls-stripping-indicator");
    // Another mail server behind the same proxy never offered STARTTLS.
    let other = through_proxy(2, "mx.b.example", &plain);
    assert_quiet(&a.findings(&other), "starttls-stripping-indicator");
    // The first one's STARTTLS gone is stripping, named by its target.
    let same = through_proxy(3, "mx.a.example", &plain);
    let f = a.findings(&same);
    assert_raised(&same, &f, "starttls-stripping-indicator", High);
    let summary = &f
        .iter()
        .find(|x| x.id == "starttls-stripping-indicator")
        .unwrap()
        .summary;
    assert!(
        summary.starts_with("mx.a.example:25 via proxy 198.51.100.25:1080"),
        "{summary}"
    );
}

#[test]
fn test_starttls_stripping_across_sessions() {
    let mut a = Analyzer::new(AnalysisConfig::default());
    let first = session(
        1,
        "192.0.2.1:1",
        25,
        &[GREET, EHLO, CAPS, (C, b"QUIT\r\n"), (S, b"221 bye\r\n")],
    );
    assert_quiet(&a.findings(&first), "starttls-stripping-indicator");
    let second = session(
        2,
        "192.0.2.2:1",
        25,
        &script(&[GREET, EHLO, CAPS_PLAIN], mail(b"x\r\n.\r\n")),
    );
    let f = a.findings(&second);
    assert_raised(&second, &f, "starttls-stripping-indicator", High);
    // Near miss: a server that never offered it.
    let mut a = Analyzer::new(AnalysisConfig::default());
    let s = session(
        3,
        "192.0.2.2:1",
        25,
        &script(&[GREET, EHLO, CAPS_PLAIN], mail(b"x\r\n.\r\n")),
    );
    assert_quiet(&a.findings(&s), "starttls-stripping-indicator");
}

#[test]
fn test_starttls_stripping_indicator_near_miss_helo_client_sees_no_extensions() {
    // A legacy client that only says HELO never gets a keyword list, so
    // the missing STARTTLS says nothing about the path.
    let mut a = Analyzer::new(AnalysisConfig::default());
    let first = session(
        1,
        "192.0.2.1:1",
        25,
        &[GREET, EHLO, CAPS, (C, b"QUIT\r\n"), (S, b"221 bye\r\n")],
    );
    let mut f = a.findings(&first);
    let helo = session(
        2,
        "192.0.2.3:1",
        25,
        &script(
            &[
                GREET,
                (C, b"HELO old.example.com\r\n"),
                (S, b"250 mx.example.org\r\n"),
            ],
            mail(b"x\r\n.\r\n"),
        ),
    );
    f.extend(a.findings(&helo));
    assert_quiet(&f, "starttls-stripping-indicator");
}

#[test]
fn test_tls_fallback_to_plaintext() {
    let mut a = Analyzer::new(AnalysisConfig::default());
    let failed = session(
        1,
        "192.0.2.1:1",
        587,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"STARTTLS\r\n"),
            (S, b"220 go\r\n"),
            (C, TLS),
            (S, b"\x15\x03\x03\x00\x02\x02\x28"),
        ],
    );
    a.findings(&failed);
    let clear = session(
        2,
        "192.0.2.1:2",
        587,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, auth_plain("a", "b")),
            (S, b"235 ok\r\n"),
        ],
    );
    let f = a.findings(&clear);
    assert_raised(&clear, &f, "tls-fallback-to-plaintext", High);
    // Near miss: the next session uses STARTTLS again.
    let mut a = Analyzer::new(AnalysisConfig::default());
    a.findings(&failed);
    let again = session(
        3,
        "192.0.2.1:3",
        587,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"STARTTLS\r\n"),
            (S, b"220 go\r\n"),
            (C, TLS),
        ],
    );
    assert_quiet(&a.findings(&again), "tls-fallback-to-plaintext");
}

#[test]
fn test_tls_fallback_to_plaintext_near_miss_return_without_mail_or_auth() {
    // After the failed handshake the client comes back, checks the server
    // (EHLO, QUIT) and sends nothing in clear.
    let mut a = Analyzer::new(AnalysisConfig::default());
    let failed = session(
        1,
        "192.0.2.1:1",
        587,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"STARTTLS\r\n"),
            (S, b"220 go\r\n"),
            (C, TLS),
            (S, b"\x15\x03\x03\x00\x02\x02\x28"),
        ],
    );
    let mut f = a.findings(&failed);
    let check = session(
        2,
        "192.0.2.1:2",
        587,
        &[GREET, EHLO, CAPS, (C, b"QUIT\r\n"), (S, b"221 bye\r\n")],
    );
    f.extend(a.findings(&check));
    assert_quiet(&f, "tls-fallback-to-plaintext");
}

#[test]
fn test_implicit_tls_port_cleartext() {
    let (s, f) = findings(465, &[GREET, EHLO, CAPS_PLAIN]);
    assert_raised(&s, &f, "implicit-tls-port-cleartext", High);
    let (_, f) = findings(465, &[(C, TLS)]);
    assert_quiet(&f, "implicit-tls-port-cleartext");
}

// ---------------------------------------------------------------- 3. framing

#[test]
fn test_smtp_smuggling_with_commands_is_critical_and_names_the_second_message() {
    let body: &[u8] = b"From: a@example.com\r\n\r\nhi\n.\r\nMAIL FROM:<ceo@example.org>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\nFrom: ceo@example.org\r\nSubject: pay now\r\n\r\nx\r\n.\r\n";
    let (s, f) = findings(25, &script(&[GREET, EHLO, CAPS], mail(body)));
    let x = assert_raised(&s, &f, "smtp-smuggling", Critical);
    assert!(
        x.summary.contains("ceo@example.org") && x.summary.contains("Subject: pay now"),
        "{}",
        x.summary
    );
    assert!(x.summary.contains("lenient") && x.summary.contains("strict"));
}

#[test]
fn test_smtp_smuggling_without_commands_is_high() {
    let (s, f) = findings(
        25,
        &script(&[GREET, EHLO, CAPS], mail(b"a\r\nb\n.\nc\r\n.\r\n")),
    );
    assert_raised(&s, &f, "smtp-smuggling", High);
}

#[test]
fn test_smtp_smuggling_near_miss_dot_stuffed_line() {
    let (_, f) = findings(
        25,
        &script(&[GREET, EHLO, CAPS], mail(b"a\r\n..leading dot\r\n.\r\n")),
    );
    assert_quiet(&f, "smtp-smuggling");
    assert_quiet(&f, "bare-line-ending");
}

#[test]
fn test_bare_line_endings() {
    let (s, f) = findings(
        25,
        &script(&[GREET, EHLO, CAPS], mail(b"a\r\nb\nc\r\n.\r\n")),
    );
    assert_raised(&s, &f, "bare-line-ending", Medium);
    let (s, f) = findings(25, &[GREET, (C, b"EHLO x.example\n"), CAPS]);
    assert_raised(&s, &f, "bare-line-ending", Low);
}

#[test]
fn test_bare_lf_near_miss_bdat_binary_content() {
    let steps: Vec<(Dir, &[u8])> = vec![
        GREET,
        EHLO,
        CAPS,
        (C, b"MAIL FROM:<a@example.com> BODY=BINARYMIME\r\n"),
        (S, b"250 ok\r\n"),
        (C, b"RCPT TO:<b@example.org>\r\n"),
        (S, b"250 ok\r\n"),
        (C, b"BDAT 12 LAST\r\nab\ncd\n.\nxyz"),
        (S, b"250 ok\r\n"),
    ];
    let (_, f) = findings(25, &steps);
    assert_quiet(&f, "bare-line-ending");
    assert_quiet(&f, "smtp-smuggling");
    assert_quiet(&f, "bdat-framing-anomaly");
}

#[test]
fn test_nul_byte() {
    let (s, f) = findings(25, &script(&[GREET, EHLO, CAPS], mail(b"a\0b\r\n.\r\n")));
    assert_raised(&s, &f, "nul-byte", Medium);
    let (_, f) = findings(25, &script(&[GREET, EHLO, CAPS], mail(b"ab\r\n.\r\n")));
    assert_quiet(&f, "nul-byte");
}

#[test]
fn test_data_before_354() {
    let steps: Vec<(Dir, &[u8])> = vec![
        GREET,
        EHLO,
        CAPS,
        (C, b"MAIL FROM:<a@example.com>\r\n"),
        (S, b"250 ok\r\n"),
        (C, b"RCPT TO:<b@example.org>\r\n"),
        (S, b"250 ok\r\n"),
        (C, b"DATA\r\nSubject: early\r\n\r\nx\r\n.\r\n"),
        (S, b"354 go\r\n250 ok\r\n"),
    ];
    let (s, f) = findings(25, &steps);
    assert_raised(&s, &f, "data-before-354", High);
    let (_, f) = findings(25, &script(&[GREET, EHLO, CAPS], mail(b"x\r\n.\r\n")));
    assert_quiet(&f, "data-before-354");
}

#[test]
fn test_bdat_framing_anomaly() {
    let steps: Vec<(Dir, &[u8])> = vec![
        GREET,
        EHLO,
        CAPS_PLAIN,
        (C, b"MAIL FROM:<a@example.com>\r\n"),
        (S, b"250 ok\r\n"),
        (C, b"RCPT TO:<b@example.org>\r\n"),
        (S, b"250 ok\r\n"),
        (C, b"BDAT 3 LAST\r\nabc"),
        (S, b"250 ok\r\n"),
    ];
    let (s, f) = findings(25, &steps);
    assert_raised(&s, &f, "bdat-framing-anomaly", Medium);
    let steps: Vec<(Dir, &[u8])> = vec![
        GREET,
        EHLO,
        CAPS,
        (C, b"MAIL FROM:<a@example.com>\r\n"),
        (S, b"250 ok\r\n"),
        (C, b"RCPT TO:<b@example.org>\r\n"),
        (S, b"250 ok\r\n"),
        (C, b"BDAT 3 LAST\r\nabc"),
        (S, b"250 ok\r\n"),
    ];
    assert_quiet(&findings(25, &steps).1, "bdat-framing-anomaly");
}

#[test]
fn test_size_declared_mismatch() {
    let big = leak(format!("{}\r\n.\r\n", "x".repeat(3000)));
    let mut steps = vec![GREET, EHLO, CAPS];
    steps.extend([
        (C, &b"MAIL FROM:<a@example.com> SIZE=100\r\n"[..]),
        (S, b"250 ok\r\n"),
        (C, b"RCPT TO:<b@example.org>\r\n"),
        (S, b"250 ok\r\n"),
        (C, b"DATA\r\n"),
        (S, b"354 go\r\n"),
        (C, big),
        (S, b"250 ok\r\n"),
    ]);
    let (s, f) = findings(25, &steps);
    // 3000 bytes accepted by a server advertising SIZE 1000.
    assert_raised(&s, &f, "size-declared-mismatch", Medium);
    let (_, f) = findings(25, &script(&[GREET, EHLO, CAPS], mail(b"small\r\n.\r\n")));
    assert_quiet(&f, "size-declared-mismatch");
}

// ---------------------------------------------------------------- 4. recon

#[test]
fn test_vrfy_enumeration() {
    let steps: Vec<(Dir, &[u8])> = vec![
        GREET,
        EHLO,
        CAPS,
        (C, b"VRFY alice\r\n"),
        (S, b"250 Alice <alice@example.org>\r\n"),
        (C, b"VRFY zed\r\n"),
        (S, b"550 5.1.1 unknown\r\n"),
    ];
    let (s, f) = findings(25, &steps);
    assert_raised(&s, &f, "user-enum-vrfy-expn", Medium);
    let (_, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"VRFY postmaster\r\n"),
            (S, b"252 cannot verify\r\n"),
        ],
    );
    assert_quiet(&f, "user-enum-vrfy-expn");
}

#[test]
fn test_rcpt_enumeration() {
    let mut steps = vec![
        GREET,
        EHLO,
        CAPS,
        (C, &b"MAIL FROM:<a@example.com>\r\n"[..]),
        (S, b"250 ok\r\n"),
    ];
    for i in 0..12 {
        steps.push((C, leak(format!("RCPT TO:<user{i}@example.org>\r\n"))));
        steps.push((S, b"550 5.1.1 unknown user\r\n"));
    }
    let (s, f) = findings(25, &steps);
    assert_raised(&s, &f, "user-enum-rcpt", Medium);
    // Near miss: a list sender with some stale addresses who sends the message.
    let mut steps = steps[..13].to_vec();
    steps.extend([
        (C, &b"RCPT TO:<ok@example.org>\r\n"[..]),
        (S, b"250 ok\r\n"),
        (C, b"DATA\r\n"),
        (S, b"354 go\r\n"),
        (C, b"x\r\n.\r\n"),
        (S, b"250 ok\r\n"),
    ]);
    assert_quiet(&findings(25, &steps).1, "user-enum-rcpt");
}

#[test]
fn test_user_enum_rcpt_near_miss_policy_rejections_are_not_unknown_users() {
    // A list sender refused by policy (5.7.1) on every recipient: the
    // replies say nothing about which mailboxes exist.
    let mut steps = vec![
        GREET,
        EHLO,
        CAPS,
        (C, &b"MAIL FROM:<news@list.example.com>\r\n"[..]),
        (S, b"250 ok\r\n"),
    ];
    for i in 0..12 {
        steps.push((C, leak(format!("RCPT TO:<user{i}@example.org>\r\n"))));
        steps.push((
            S,
            b"550 5.7.1 Sender address rejected: domain blocked by policy\r\n",
        ));
    }
    steps.extend([(C, &b"QUIT\r\n"[..]), (S, b"221 bye\r\n")]);
    let (_, f) = findings(25, &steps);
    assert_quiet(&f, "user-enum-rcpt");
}

fn local() -> AnalysisConfig {
    AnalysisConfig {
        local_domains: vec!["example.org".into()],
        trusted_nets: vec!["10.0.0.0/8".parse().unwrap()],
        ..AnalysisConfig::default()
    }
}

#[test]
fn test_open_relay_accepted_needs_local_domains() {
    let relay = script(
        &[GREET, EHLO, CAPS_PLAIN],
        vec![
            (C, b"MAIL FROM:<a@spam.test>\r\n"),
            (S, b"250 ok\r\n"),
            (C, b"RCPT TO:<x@elsewhere.test>\r\n"),
            (S, b"250 ok\r\n"),
        ],
    );
    let (s, f) = findings_with(local(), 25, &relay);
    assert_raised(&s, &f, "open-relay-accepted", High);
    assert_quiet(&findings(25, &relay).1, "open-relay-accepted");
    // Near miss: a local recipient, or a trusted client.
    let inbound = script(
        &[GREET, EHLO, CAPS_PLAIN],
        vec![
            (C, b"MAIL FROM:<a@spam.test>\r\n"),
            (S, b"250 ok\r\n"),
            (C, b"RCPT TO:<x@mail.example.org>\r\n"),
            (S, b"250 ok\r\n"),
        ],
    );
    assert_quiet(
        &findings_with(local(), 25, &inbound).1,
        "open-relay-accepted",
    );
    let s = session(7, "10.1.2.3:5000", 25, &relay);
    assert_quiet(&Analyzer::new(local()).findings(&s), "open-relay-accepted");
}

#[test]
fn test_open_relay_accepted_near_miss_authenticated_submission() {
    // A user who logged in sends to another domain: relaying as intended.
    let steps = script(
        &[
            GREET,
            EHLO,
            CAPS,
            (C, auth_plain("alice", "pw")),
            (S, b"235 ok\r\n"),
        ],
        vec![
            (C, b"MAIL FROM:<alice@example.org>\r\n"),
            (S, b"250 ok\r\n"),
            (C, b"RCPT TO:<friend@elsewhere.test>\r\n"),
            (S, b"250 ok\r\n"),
            (C, b"DATA\r\n"),
            (S, b"354 go\r\n"),
            (C, b"x\r\n.\r\n"),
            (S, b"250 queued\r\n"),
        ],
    );
    let (_, f) = findings_with(local(), 587, &steps);
    assert_quiet(&f, "open-relay-accepted");
}

#[test]
fn test_relay_probe() {
    let mut steps = vec![
        GREET,
        EHLO,
        CAPS_PLAIN,
        (C, &b"MAIL FROM:<a@spam.test>\r\n"[..]),
        (S, b"250 ok\r\n"),
    ];
    for d in ["a.test", "b.test", "c.test"] {
        steps.push((C, leak(format!("RCPT TO:<x@{d}>\r\n"))));
        steps.push((S, b"554 5.7.1 Relay access denied\r\n"));
    }
    let (s, f) = findings_with(local(), 25, &steps);
    assert_raised(&s, &f, "relay-probe", Low);
    assert_quiet(&findings(25, &steps).1, "relay-probe");
    assert_quiet(&findings_with(local(), 25, &steps[..7]).1, "relay-probe");
}

#[test]
fn test_relay_probe_near_miss_refused_local_recipients() {
    // Refusals for the server's own domain are unknown users, not relaying.
    let mut steps = vec![
        GREET,
        EHLO,
        CAPS_PLAIN,
        (C, &b"MAIL FROM:<a@sender.test>\r\n"[..]),
        (S, b"250 ok\r\n"),
    ];
    for u in ["old", "gone", "typo"] {
        steps.push((C, leak(format!("RCPT TO:<{u}@example.org>\r\n"))));
        steps.push((S, b"550 5.1.1 User unknown\r\n"));
    }
    let (_, f) = findings_with(local(), 25, &steps);
    assert_quiet(&f, "relay-probe");
}

#[test]
fn test_mass_recipients() {
    let mut steps = vec![
        GREET,
        EHLO,
        CAPS,
        (C, &b"MAIL FROM:<a@example.com>\r\n"[..]),
        (S, b"250 ok\r\n"),
    ];
    for i in 0..101 {
        steps.push((C, leak(format!("RCPT TO:<u{i}@example.org>\r\n"))));
        steps.push((S, b"250 ok\r\n"));
    }
    let (s, f) = findings(25, &steps);
    assert_raised(&s, &f, "mass-recipients", Low);
    assert_quiet(&findings(25, &steps[..150]).1, "mass-recipients");
}

#[test]
fn test_mass_recipients_near_miss_exactly_100() {
    // RFC 5321 §4.5.3.1.8: servers must take 100 recipients.
    let mut steps = vec![
        GREET,
        EHLO,
        CAPS,
        (C, &b"MAIL FROM:<a@example.com>\r\n"[..]),
        (S, b"250 ok\r\n"),
    ];
    for i in 0..100 {
        steps.push((C, leak(format!("RCPT TO:<u{i}@example.org>\r\n"))));
        steps.push((S, b"250 ok\r\n"));
    }
    steps.extend([
        (C, &b"DATA\r\n"[..]),
        (S, b"354 go\r\n"),
        (C, b"x\r\n.\r\n"),
        (S, b"250 queued\r\n"),
    ]);
    let (_, f) = findings(25, &steps);
    assert_quiet(&f, "mass-recipients");
}

#[test]
fn test_mass_recipients_near_miss_452_for_storage() {
    // 452 4.3.1 is a full disk, not a recipient limit (RFC 3463).
    let refused = |reply: &'static [u8]| {
        findings(
            25,
            &[
                GREET,
                EHLO,
                CAPS,
                (C, b"MAIL FROM:<a@example.com>\r\n"),
                (S, b"250 ok\r\n"),
                (C, b"RCPT TO:<b@example.org>\r\n"),
                (S, reply),
            ],
        )
    };
    let (_, f) = refused(b"452 4.3.1 Insufficient system storage\r\n");
    assert_quiet(&f, "mass-recipients");
    for limit in [
        &b"452 4.5.3 Too many recipients\r\n"[..],
        b"452 Too many recipients received this hour\r\n",
    ] {
        let (s, f) = refused(limit);
        assert_raised(&s, &f, "mass-recipients", Low);
    }
}

#[test]
fn test_client_on_blocklist() {
    let (s, f) = findings(25, &[GREET, EHLO, CAPS, (C, b"MAIL FROM:<a@example.com>\r\n"), (S, b"554 5.7.1 Service unavailable; Client host [192.0.2.10] blocked using zen.spamhaus.org\r\n")]);
    assert!(assert_raised(&s, &f, "client-on-blocklist", Low)
        .summary
        .contains("192.0.2.10"));
    let (_, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"MAIL FROM:<a@example.com>\r\n"),
            (S, b"550 5.7.1 policy\r\n"),
        ],
    );
    assert_quiet(&f, "client-on-blocklist");
}

#[test]
fn test_helo_anomaly() {
    let (s, f) = findings(25, &[GREET, (C, b"EHLO localhost\r\n"), CAPS]);
    assert_raised(&s, &f, "helo-anomaly", Low);
    let (s, f) = findings(25, &[GREET, (C, b"EHLO mx.example.org\r\n"), CAPS]);
    assert!(assert_raised(&s, &f, "helo-anomaly", Low)
        .summary
        .contains("own name"));
    let (_, f) = findings(25, &[GREET, (C, b"EHLO [192.0.2.10]\r\n"), CAPS]);
    assert_quiet(&f, "helo-anomaly");
    let (_, f) = findings(25, &[GREET, EHLO, CAPS]);
    assert_quiet(&f, "helo-anomaly");
}

// ---------------------------------------------------------------- 5. protocol

#[test]
fn test_pregreet() {
    let (s, f) = findings(25, &[(C, b"EHLO bot.example\r\n"), GREET, CAPS]);
    assert_raised(&s, &f, "pregreet", Medium);
    assert_quiet(&findings(25, &[GREET, EHLO, CAPS]).1, "pregreet");
}

#[test]
fn test_pregreet_near_miss_capture_started_after_the_greeting() {
    // No handshake seen: the greeting went by before the capture began.
    let s = captured(
        42,
        "192.0.2.10:40000",
        25,
        &[EHLO, CAPS, (C, b"QUIT\r\n"), (S, b"221 bye\r\n")],
        false,
    );
    assert!(!s.handshake_seen);
    let f = Analyzer::new(AnalysisConfig::default()).findings(&s);
    assert_quiet(&f, "pregreet");
}

#[test]
fn test_pipelining_without_capability() {
    let steps: Vec<(Dir, &[u8])> = vec![
        GREET,
        EHLO,
        CAPS_PLAIN,
        (
            C,
            b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n",
        ),
        (S, b"250 ok\r\n250 ok\r\n"),
    ];
    let (s, f) = findings(25, &steps);
    assert_raised(&s, &f, "pipelining-violation", Medium);
    let steps: Vec<(Dir, &[u8])> = vec![
        GREET,
        EHLO,
        CAPS,
        (
            C,
            b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n",
        ),
        (S, b"250 ok\r\n250 ok\r\n"),
    ];
    assert_quiet(&findings(25, &steps).1, "pipelining-violation");
}

#[test]
fn test_pipelining_violation_near_miss_rfc2920_groups() {
    // PIPELINING offered: MAIL, RCPT, DATA in one group with DATA last;
    // message content may start a group, so QUIT may follow the dot.
    let (_, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (
                C,
                b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n",
            ),
            (S, b"250 ok\r\n250 ok\r\n354 go\r\n"),
            (C, b"x\r\n.\r\nQUIT\r\n"),
            (S, b"250 queued\r\n221 bye\r\n"),
        ],
    );
    assert_quiet(&f, "pipelining-violation");
}

#[test]
fn test_pipelining_violation_near_miss_quit_right_behind_the_final_dot() {
    // No PIPELINING, every command waits, but QUIT rides behind the dot:
    // common and harmless.
    let (_, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS_PLAIN,
            (C, b"MAIL FROM:<a@example.com>\r\n"),
            (S, b"250 ok\r\n"),
            (C, b"RCPT TO:<b@example.org>\r\n"),
            (S, b"250 ok\r\n"),
            (C, b"DATA\r\n"),
            (S, b"354 go\r\n"),
            (C, b"x\r\n.\r\nQUIT\r\n"),
            (S, b"250 queued\r\n221 bye\r\n"),
        ],
    );
    assert_quiet(&f, "pipelining-violation");
}

#[test]
fn test_line_too_long() {
    let long = leak(format!("MAIL FROM:<{}@example.com>\r\n", "a".repeat(600)));
    let (s, f) = findings(
        25,
        &[GREET, EHLO, CAPS, (C, long), (S, b"501 too long\r\n")],
    );
    assert_raised(&s, &f, "line-too-long", Medium);
    let ok = leak(format!("MAIL FROM:<{}@example.com>\r\n", "a".repeat(60)));
    assert_quiet(
        &findings(25, &[GREET, EHLO, CAPS, (C, ok), (S, b"250 ok\r\n")]).1,
        "line-too-long",
    );
}

/// `head` padded with `x` to `len` octets, CRLF included.
fn line_of(head: &str, len: usize) -> &'static [u8] {
    leak(format!("{head}{}\r\n", "x".repeat(len - head.len() - 2)))
}

#[test]
fn test_line_too_long_near_miss_exactly_at_the_limits() {
    // RFC 5321 §4.5.3.1.4-6: command and reply lines 512 octets, text
    // lines 1000, CRLF included; a stuffed dot does not count.
    let text = format!("{}\r\n..{}\r\n.\r\n", "b".repeat(998), "c".repeat(997));
    let (s, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, line_of("MAIL FROM:<a@example.com> ENVID=", 512)),
            (S, line_of("250 2.1.0 ok ", 512)),
            (C, b"RCPT TO:<b@example.org>\r\n"),
            (S, b"250 ok\r\n"),
            (C, b"DATA\r\n"),
            (S, b"354 go\r\n"),
            (C, leak(text)),
            (S, b"250 queued\r\n"),
        ],
    );
    assert!(s.transactions[0].completed);
    assert_quiet(&f, "line-too-long");
}

#[test]
fn test_non_ascii_without_smtputf8() {
    let (s, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, "MAIL FROM:<zoë@example.com>\r\n".as_bytes()),
            (S, b"250 ok\r\n"),
        ],
    );
    assert_raised(&s, &f, "non-ascii-without-extension", Low);
    let caps: (Dir, &[u8]) = (S, b"250-mx.example.org\r\n250 SMTPUTF8\r\n");
    let (_, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            caps,
            (C, "MAIL FROM:<zoë@example.com> SMTPUTF8\r\n".as_bytes()),
            (S, b"250 ok\r\n"),
        ],
    );
    assert_quiet(&f, "non-ascii-without-extension");
}

#[test]
fn test_http_on_the_smtp_port() {
    let (s, f) = findings(
        25,
        &[
            GREET,
            (C, b"GET / HTTP/1.1\r\nHost: mx\r\n\r\n"),
            (S, b"500 5.5.2 what\r\n500 5.5.2 what\r\n"),
        ],
    );
    assert_raised(&s, &f, "unknown-command", Medium);
    let (_, f) = findings(
        25,
        &[GREET, EHLO, CAPS, (C, b"NOOP\r\n"), (S, b"250 ok\r\n")],
    );
    assert_quiet(&f, "unknown-command");
}

#[test]
fn test_bad_command_sequence() {
    let (s, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"RCPT TO:<b@example.org>\r\n"),
            (S, b"503 5.5.1 need MAIL\r\n"),
        ],
    );
    assert_raised(&s, &f, "bad-command-sequence", Low);
    assert_quiet(
        &findings(25, &script(&[GREET, EHLO, CAPS], mail(b"x\r\n.\r\n"))).1,
        "bad-command-sequence",
    );
}

#[test]
fn test_bad_command_sequence_near_miss_pipelined_after_a_rejected_mail() {
    // RFC 5321 §4.1.4: with MAIL refused, the RCPT and DATA already
    // pipelined behind it can only get 503.
    let (_, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (
                C,
                b"MAIL FROM:<a@spam.test>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n",
            ),
            (
                S,
                b"550 5.7.1 Sender rejected\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need RCPT\r\n",
            ),
            (C, b"QUIT\r\n"),
            (S, b"221 bye\r\n"),
        ],
    );
    assert_quiet(&f, "bad-command-sequence");
}

#[test]
fn test_reply_anomaly() {
    let (s, f) = findings(25, &[GREET, EHLO, (S, b"250-mx\r\n251 PIPELINING\r\n")]);
    assert_raised(&s, &f, "reply-anomaly", Medium);
    assert_quiet(&findings(25, &[GREET, EHLO, CAPS]).1, "reply-anomaly");
}

#[test]
fn test_reply_anomaly_near_miss_421_on_idle_timeout() {
    // RFC 5321 §3.8, §4.2.2: a server closing the connection may send 421
    // without a command to answer.
    let (_, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (S, b"421 4.4.2 mx.example.org Error: timeout exceeded\r\n"),
        ],
    );
    assert_quiet(&f, "reply-anomaly");
}

#[test]
fn test_session_refused() {
    let (s, f) = findings(
        25,
        &[
            (S, b"554 5.7.1 no service for you\r\n"),
            (C, b"QUIT\r\n"),
            (S, b"221 bye\r\n"),
        ],
    );
    assert_raised(&s, &f, "session-refused", Info);
    assert_quiet(&findings(25, &[GREET]).1, "session-refused");
}

#[test]
fn test_session_refused_near_miss_554_after_a_220_greeting() {
    // The server greets and then refuses a recipient: a rejection within
    // the session, not a refused session.
    let (_, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"MAIL FROM:<a@example.com>\r\n"),
            (S, b"250 ok\r\n"),
            (C, b"RCPT TO:<b@example.org>\r\n"),
            (S, b"554 5.7.1 Client host rejected: Access denied\r\n"),
            (C, b"QUIT\r\n"),
            (S, b"421 4.7.0 mx.example.org closing connection\r\n"),
        ],
    );
    assert_quiet(&f, "session-refused");
}

// ---------------------------------------------------------------- 6. dangerous commands

#[test]
fn test_turn_accepted_is_high() {
    let (s, f) = findings(
        25,
        &[GREET, EHLO, CAPS, (C, b"TURN\r\n"), (S, b"250 OK\r\n")],
    );
    assert_raised(&s, &f, "turn-atrn-unauthenticated", High);
}

#[test]
fn test_turn_atrn_unauthenticated_near_miss_odmr_atrn_after_auth() {
    // RFC 2645: on-demand relay, ATRN on port 366 after a successful AUTH.
    let (_, f) = findings(
        366,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, auth_plain("a", "b")),
            (S, b"235 ok\r\n"),
            (C, b"ATRN example.org\r\n"),
            (S, b"250 ok\r\n"),
        ],
    );
    assert_quiet(&f, "turn-atrn-unauthenticated");
}

#[test]
fn test_etrn() {
    let (s, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"ETRN example.org\r\n"),
            (S, b"250 queuing started\r\n"),
        ],
    );
    assert_raised(&s, &f, "etrn-queue-trigger", Low);
    assert_quiet(&findings(25, &[GREET, EHLO, CAPS]).1, "etrn-queue-trigger");
}

#[test]
fn test_etrn_queue_trigger_near_miss_trusted_secondary_mx() {
    // A backup MX in --trusted-net asks for the queue it holds for us.
    let s = session(
        9,
        "10.0.0.7:1000",
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"ETRN example.org\r\n"),
            (S, b"250 queuing started\r\n"),
        ],
    );
    let f = Analyzer::new(local()).findings(&s);
    assert_quiet(&f, "etrn-queue-trigger");
}

#[test]
fn test_exchange_verb_and_backdoor_command() {
    let (s, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"XEXCH50 2 2\r\n"),
            (S, b"500 no\r\n"),
            (C, b"WIZ\r\n"),
            (S, b"500 no\r\n"),
        ],
    );
    assert_raised(&s, &f, "exchange-legacy-verb", High);
    assert_raised(&s, &f, "legacy-backdoor-command", High);
    let (_, f) = findings(
        25,
        &[GREET, EHLO, CAPS, (C, b"HELP\r\n"), (S, b"214 help\r\n")],
    );
    assert_quiet(&f, "exchange-legacy-verb");
    assert_quiet(&f, "legacy-backdoor-command");
}

#[test]
fn test_xclient_accepted() {
    let steps: Vec<(Dir, &[u8])> = vec![
        GREET,
        EHLO,
        CAPS,
        (C, b"XCLIENT ADDR=10.0.0.1 LOGIN=admin\r\n"),
        (S, b"220 mx ESMTP\r\n"),
    ];
    let (s, f) = findings(25, &steps);
    assert_raised(&s, &f, "xclient-xforward-accepted", High);
    let s = session(8, "10.0.0.5:1", 25, &steps);
    assert_quiet(
        &Analyzer::new(local()).findings(&s),
        "xclient-xforward-accepted",
    );
    let refused: Vec<(Dir, &[u8])> = vec![
        GREET,
        EHLO,
        CAPS,
        (C, b"XCLIENT ADDR=10.0.0.1\r\n"),
        (S, b"550 5.7.0 denied\r\n"),
    ];
    assert_quiet(&findings(25, &refused).1, "xclient-xforward-accepted");
}

#[test]
fn test_xclient_xforward_accepted_near_miss_trusted_content_filter() {
    // A content filter in --trusted-net hands the original client on.
    let s = session(
        10,
        "10.0.0.5:1000",
        10025,
        &[
            GREET,
            EHLO,
            (
                S,
                b"250-mx.example.org\r\n250 XFORWARD NAME ADDR PROTO HELO\r\n",
            ),
            (C, b"XFORWARD NAME=client.example.com ADDR=192.0.2.10\r\n"),
            (S, b"250 2.0.0 Ok\r\n"),
        ],
    );
    let f = Analyzer::new(local()).findings(&s);
    assert_quiet(&f, "xclient-xforward-accepted");
}

#[test]
fn test_envelope_injection_payload() {
    let (s, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"MAIL FROM:<;sleep 66;>\r\n"),
            (S, b"250 ok\r\n"),
        ],
    );
    assert_raised(&s, &f, "envelope-injection-payload", Critical);
    let (s, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"RCPT TO:<${run{\\x2Fbin\\x2Fsh}}@example.org>\r\n"),
            (S, b"250 ok\r\n"),
        ],
    );
    assert_raised(&s, &f, "envelope-injection-payload", Critical);
    // Near miss: a DSN ORCPT parameter legitimately holds ';'.
    let (_, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"RCPT TO:<b@example.org> ORCPT=rfc822;b@example.org\r\n"),
            (S, b"250 ok\r\n"),
        ],
    );
    assert_quiet(&f, "envelope-injection-payload");
}

// ---------------------------------------------------------------- 7. content

#[test]
fn test_envelope_header_from_mismatch() {
    let (s, f) = findings(
        25,
        &script(
            &[GREET, EHLO, CAPS],
            mail(b"From: Boss <boss@bank.test>\r\nSubject: hi\r\n\r\nx\r\n.\r\n"),
        ),
    );
    assert_raised(&s, &f, "envelope-header-from-mismatch", Info);
    let (_, f) = findings(
        25,
        &script(
            &[GREET, EHLO, CAPS],
            mail(b"From: Alice <alice@mail.example.com>\r\n\r\nx\r\n.\r\n"),
        ),
    );
    assert_quiet(&f, "envelope-header-from-mismatch");
}

fn with_attachment(name: &str, content: &[u8]) -> &'static [u8] {
    leak(format!(
        "From: alice@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--XX--\r\n.\r\n",
        b64(content)
    ))
}

#[test]
fn test_risky_attachment_double_extension_and_mz_behind_pdf() {
    let (s, f) = findings(
        25,
        &script(
            &[GREET, EHLO, CAPS],
            mail(with_attachment("invoice.pdf.exe", b"MZ\x90\x00")),
        ),
    );
    assert!(assert_raised(&s, &f, "risky-attachment", High)
        .summary
        .contains("double extension"));
    let (s, f) = findings(
        25,
        &script(
            &[GREET, EHLO, CAPS],
            mail(with_attachment("report.pdf", b"MZ\x90\x00rest")),
        ),
    );
    assert!(assert_raised(&s, &f, "risky-attachment", High)
        .summary
        .contains("pe-executable"));
    let (_, f) = findings(
        25,
        &script(
            &[GREET, EHLO, CAPS],
            mail(with_attachment("report.pdf", b"%PDF-1.7 ...")),
        ),
    );
    assert_quiet(&f, "risky-attachment");
}

#[test]
fn test_mime_malformed() {
    let body: &[u8] = b"From: alice@example.com\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!! not base64 ####\r\n.\r\n";
    let (s, f) = findings(25, &script(&[GREET, EHLO, CAPS], mail(body)));
    assert_raised(&s, &f, "mime-malformed", Medium);
    let (_, f) = findings(
        25,
        &script(
            &[GREET, EHLO, CAPS],
            mail(with_attachment("a.txt", b"hello")),
        ),
    );
    assert_quiet(&f, "mime-malformed");
}

#[test]
fn test_too_many_received_headers() {
    let many = leak(format!(
        "{}From: alice@example.com\r\n\r\nx\r\n.\r\n",
        "Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n".repeat(100)
    ));
    let (s, f) = findings(25, &script(&[GREET, EHLO, CAPS], mail(many)));
    assert_raised(&s, &f, "too-many-received-headers", Low);
    let few = leak(format!(
        "{}From: alice@example.com\r\n\r\nx\r\n.\r\n",
        "Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n".repeat(5)
    ));
    assert_quiet(
        &findings(25, &script(&[GREET, EHLO, CAPS], mail(few))).1,
        "too-many-received-headers",
    );
}

#[test]
fn test_too_many_received_headers_near_miss_99_and_more_quoted_in_the_body() {
    // One under the RFC 5321 §6.3 loop limit; a forwarded message's trace
    // quoted in the body is not this message's path.
    let hop = "Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n";
    let body = leak(format!(
        "{}From: alice@example.com\r\n\r\nForwarded:\r\n{}\r\n.\r\n",
        hop.repeat(99),
        hop.repeat(20)
    ));
    let (s, f) = findings(25, &script(&[GREET, EHLO, CAPS], mail(body)));
    assert!(s.transactions[0].completed);
    assert_quiet(&f, "too-many-received-headers");
}

// ---------------------------------------------------------------- 8. disclosure

#[test]
fn test_banner_version_disclosure() {
    let (s, f) = findings(
        25,
        &[
            (
                S,
                b"220 mx.example.org ESMTP Exim 4.92 Mon, 01 Jan 2024\r\n",
            ),
            EHLO,
            CAPS,
        ],
    );
    assert!(assert_raised(&s, &f, "banner-version-disclosure", Info)
        .summary
        .contains("4.92"));
    assert_quiet(
        &findings(25, &[GREET, EHLO, CAPS]).1,
        "banner-version-disclosure",
    );
}

#[test]
fn test_banner_version_disclosure_near_miss_numbers_but_no_software() {
    // Dates, addresses and counts in a banner name no product or version.
    let (_, f) = findings(
        25,
        &[
            (
                S,
                b"220 smtp1.example.org ESMTP ready Mon, 01 Jan 2024 10:00:00 +0000\r\n",
            ),
            EHLO,
            (
                S,
                b"250-smtp1.example.org Hello client.example.com [192.0.2.10]\r\n250 SIZE 10240000\r\n",
            ),
            (C, b"HELP\r\n"),
            (S, b"214 2.0.0 See https://www.rfc-editor.org/rfc/rfc5321\r\n"),
        ],
    );
    assert_quiet(&f, "banner-version-disclosure");
}

/// Regression: the enhanced code of a 214 ("2.0.0") was taken for the
/// software's version.
#[test]
fn test_banner_version_is_not_the_enhanced_status_code() {
    let (s, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"HELP\r\n"),
            (S, b"214 2.0.0 Postfix commands: see the manual\r\n"),
        ],
    );
    let x = assert_raised(&s, &f, "banner-version-disclosure", Info);
    assert!(!x.summary.contains("version"), "{}", x.summary);
}

#[test]
fn test_address_info_disclosure() {
    let (s, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"MAIL FROM:<a@example.com>\r\n"),
            (S, b"250 ok\r\n"),
            (C, b"RCPT TO:<old@example.org>\r\n"),
            (
                S,
                b"251 User not local; will forward to <new@elsewhere.test>\r\n",
            ),
        ],
    );
    assert_raised(&s, &f, "address-info-disclosure", Info);
    let (_, f) = findings(
        25,
        &[
            GREET,
            EHLO,
            CAPS,
            (C, b"VRFY bob\r\n"),
            (S, b"252 cannot verify\r\n"),
        ],
    );
    assert_quiet(&f, "address-info-disclosure");
}

// ---------------------------------------------------------------- facts shared by the rules

#[test]
fn test_facts_list_commands_uppercased_and_name_the_last_accepted_ehlo() {
    let s = session(
        43,
        "192.0.2.10:40001",
        25,
        &[
            GREET,
            (C, b"EHLO first.example.com\r\n"),
            (S, b"250-mx.example.org\r\n250 PIPELINING\r\n"),
            (C, b"ehlo second.example.com\r\n"),
            (S, b"250-mx.example.org\r\n250 STARTTLS\r\n"),
            (C, b"EHLO third.example.com\r\n"),
            (S, b"421 busy\r\n"),
            (C, b"mail FROM:<a@example.com>\r\n"),
            (S, b"250 ok\r\n"),
        ],
    );
    let facts = Facts::new(&s);
    let verbs: Vec<&str> = facts.commands().map(|c| c.verb.as_ref()).collect();
    assert_eq!(verbs, ["EHLO", "EHLO", "EHLO", "MAIL"]);
    let mail = facts.first_command(&["MAIL", "RCPT"]).unwrap();
    assert_eq!(mail.arg, "FROM:<a@example.com>");
    // The third EHLO was refused: the second one set the capabilities.
    let (cmd, reply) = facts.ehlo_reply().unwrap();
    assert_eq!(s.timeline[cmd].lines[0], "ehlo second.example.com");
    assert_eq!(s.timeline[reply].lines[1], "250 STARTTLS");
}

// ---------------------------------------------------------------- whole-run guards

#[test]
fn test_every_catalogue_id_is_unique_kebab_case_and_referenced() {
    let mut ids: Vec<&str> = catalogue().iter().map(|r| r.id).collect();
    assert!(ids.len() >= 40);
    for r in catalogue() {
        assert!(
            r.id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{}",
            r.id
        );
        assert!(
            !r.references.is_empty() && !r.severities.is_empty(),
            "{}",
            r.id
        );
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), catalogue().len());
}

/// Issue 4: every finding id has a test that raises it and a near miss
/// that must not. Read off this file, whitespace removed so that calls
/// rustfmt splits over lines match too.
#[test]
fn test_every_finding_has_a_trigger_and_a_near_miss() {
    let src: String = include_str!("findings.rs")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let raised: Vec<&str> = src
        .split("assert_raised(")
        .skip(1)
        .filter_map(|call| call.split(',').nth(2))
        .collect();
    let mut missing = Vec::new();
    for r in catalogue() {
        let id = format!("\"{}\"", r.id);
        if !raised.contains(&id.as_str()) {
            missing.push(format!("{}: no assert_raised", r.id));
        }
        let quiet = format!("assert_quiet(&f,{id}");
        if ![")", ",)"]
            .iter()
            .any(|end| src.contains(&format!("{quiet}{end}")))
        {
            missing.push(format!("{}: no assert_quiet(&f, ..)", r.id));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

/// Captures in captures/ that raise findings above low by design.
const NOT_BENIGN: &[(&str, &str)] = &[
    (
        "aiosmtpd-auth-plain.pcap",
        "AUTH PLAIN in clear to a server offering no STARTTLS",
    ),
    ("aiosmtpd-auth-login.pcap", "AUTH LOGIN in clear"),
    (
        "aiosmtpd-auth-failed.pcap",
        "a password-guessing run in clear that ends in success",
    ),
    (
        "tour.pcap",
        "the teaching tour authenticates with AUTH PLAIN although STARTTLS was offered",
    ),
    (
        "finding-starttls-rejected.pcap",
        "STARTTLS refused by aiosmtpd, then mail in clear",
    ),
    (
        "finding-open-relay-accepted.pcap",
        "aiosmtpd offers AUTH PLAIN/LOGIN in clear, and accepts any recipient",
    ),
    ("finding-bdat-framing-anomaly.pcap", "BDAT 0 without LAST"),
    (
        "finding-mime-malformed.pcap",
        "a base64 part that does not decode",
    ),
    (
        "finding-implicit-tls-port-cleartext.pcap",
        "plaintext SMTP on port 465, with AUTH offered in clear",
    ),
    (
        "finding-smtp-smuggling.pcap",
        "a smuggled second transaction after <CR><LF>.<LF> inside DATA",
    ),
    (
        "finding-bare-line-ending.pcap",
        "a bare LF mixed with CRLF inside DATA",
    ),
    ("finding-nul-byte.pcap", "a NUL byte inside DATA"),
    (
        "finding-data-before-354.pcap",
        "the message sent in one segment with DATA, before the 354",
    ),
    (
        "finding-pregreet.pcap",
        "EHLO sent before the server's greeting",
    ),
    (
        "finding-pipelining-violation.pcap",
        "MAIL and RCPT pipelined to aiosmtpd, which offers no PIPELINING",
    ),
    (
        "finding-unknown-command-http.pcap",
        "an HTTP request to the SMTP port",
    ),
    ("finding-line-too-long.pcap", "a 605-octet command line"),
    (
        "finding-starttls-command-injection.pcap",
        "RSET behind STARTTLS in one segment (CVE-2011-0411 style)",
    ),
    ("finding-user-enum-vrfy-expn.pcap", "five VRFY/EXPN probes"),
    (
        "finding-user-enum-rcpt.pcap",
        "ten RCPT to unknown users and no message",
    ),
    (
        "finding-dangerous-verbs.pcap",
        "XEXCH50, DEBUG, WIZ and TURN",
    ),
    (
        "finding-envelope-injection-payload.pcap",
        "shell syntax in MAIL FROM",
    ),
    (
        "finding-risky-attachment.pcap",
        "an .exe attachment with a double extension",
    ),
];

fn worst_of(files: &[String]) -> Vec<(String, Severity)> {
    let (sessions, _) = common::decode(files);
    let mut a = Analyzer::new(AnalysisConfig::default());
    sessions
        .iter()
        .flat_map(|s| a.findings(s))
        .filter(|f| f.severity > Low)
        .map(|f| (f.id.to_string() + ": " + &f.summary, f.severity))
        .collect()
}

#[test]
fn test_benign_captures_raise_nothing_above_low() {
    let dir = common::repo().join("captures");
    let mut checked = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if !(name.ends_with(".pcap") || name.ends_with(".pcapng") || name.ends_with(".gz")) {
            continue;
        }
        if NOT_BENIGN.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let bad = worst_of(&[common::capture(&name)]);
        assert!(bad.is_empty(), "{name}: {bad:#?}");
        checked += 1;
    }
    assert!(checked >= 10);
}

#[test]
fn test_cleartext_auth_captures_raise_their_findings() {
    let bad = worst_of(&[common::capture("aiosmtpd-auth-failed.pcap")]);
    for id in [
        "auth-bruteforce",
        "auth-success-after-failures",
        "auth-cleartext-plain",
        "auth-cleartext-login",
    ] {
        assert!(
            bad.iter().any(|(s, _)| s.starts_with(id)),
            "{id} missing: {bad:#?}"
        );
    }
}

/// Shared captures whose README row marks them benign (in its features or
/// notes column) raise nothing above low; all of them analyze without panic.
#[test]
fn test_shared_benign_captures_raise_nothing_above_low() {
    let Some(dir) = common::shared_captures() else {
        return;
    };
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let mut benign = 0;
    for line in readme
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains(".pcap"))
    {
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        let path = dir.join(cols[1]).display().to_string();
        let bad = worst_of(std::slice::from_ref(&path));
        if line.to_ascii_lowercase().contains("benign") {
            benign += 1;
            assert!(bad.is_empty(), "{}: {bad:#?}", cols[1]);
        }
    }
    if benign == 0 {
        eprintln!("note: no capture in ../shared/captures/README.md is marked benign; all were analyzed for panics only");
    }
}

#[test]
fn catalogue_doc() {
    let path = common::repo().join("docs/findings.md");
    let want = catalogue_markdown();
    if std::env::var_os("SMTPSCOPE_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/findings.md is stale: regenerate with `SMTPSCOPE_BLESS=1 cargo test --test findings catalogue_doc`"
    );
}

// ---------------------------------------------------------------- command line

fn smtpscope(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_smtpscope"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn test_fail_on_exits_3_and_json_carries_warnings_with_contract_fields() {
    let cap = common::capture("aiosmtpd-auth-plain.pcap");
    let out = smtpscope(&["--format", "json", "--fail-on", "high", &cap]);
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value =
        serde_json::from_slice(out.stdout.split(|&b| b == b'\n').next().unwrap()).unwrap();
    let w = &v["warnings"][0];
    for k in [
        "id",
        "severity",
        "summary",
        "evidence",
        "references",
        "explanation",
    ] {
        assert!(!w[k].is_null(), "{k} missing in {w}");
    }
    assert!(!String::from_utf8_lossy(&out.stdout).contains("wonderland"));
    // Near miss: nothing at critical on a benign capture.
    let out = smtpscope(&[
        "--fail-on",
        "medium",
        &common::capture("postfix-plain-delivery.pcap"),
    ]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn test_min_severity_filters_and_text_run_ends_with_summary() {
    let cap = common::capture("tour.pcap");
    let out = String::from_utf8(smtpscope(&["--min-severity", "high", &cap]).stdout).unwrap();
    assert!(out.contains("finding [critical] auth-cleartext-plain"));
    assert!(!out.contains("banner-version-disclosure"));
    assert!(out.contains("findings: 2"), "{out}");
    let bad = smtpscope(&["--min-severity", "severe", &cap]);
    assert_eq!(bad.status.code(), Some(2));
}
