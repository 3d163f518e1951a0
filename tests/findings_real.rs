//! Issue 4, from real software: each `captures/finding-*.pcap` was recorded
//! on loopback against the private Postfix 3.7.11 or aiosmtpd 1.4.6 (see
//! captures/README.md and captures/recording/record-findings.sh). Each test
//! runs one through the whole pipeline and asserts the finding id, its exact
//! severity, and the capture frames its evidence names (checked against
//! `tshark -r FILE`).

mod common;

use smtpscope::analysis::{AnalysisConfig, Analyzer, Finding, Severity};
use smtpscope::model::Session;

use Severity::*;

/// Every session in `file` (one, unless `sessions` says more) and every
/// finding on them, from one analyzer as the CLI runs it.
fn analyze(file: &str, cfg: AnalysisConfig, sessions: usize) -> (Vec<Session>, Vec<Finding>) {
    let (all, outcome) = common::decode(&[common::capture(file)]);
    assert!(outcome.errors.is_empty(), "{file}: {:?}", outcome.errors);
    assert_eq!(all.len(), sessions, "{file}");
    let mut a = Analyzer::new(cfg);
    let f = all.iter().flat_map(|s| a.findings(s)).collect();
    (all, f)
}

/// Asserts that `file` raises `id` at `sev` with exactly `frames` as
/// evidence, every evidence event in one of them, and a summary containing
/// `says`. Returns every finding for further checks.
fn assert_real(file: &str, id: &str, sev: Severity, frames: &[u64], says: &str) -> Vec<Finding> {
    assert_real_with(AnalysisConfig::default(), 1, file, id, sev, frames, says)
}

fn assert_real_with(
    cfg: AnalysisConfig,
    sessions: usize,
    file: &str,
    id: &str,
    sev: Severity,
    frames: &[u64],
    says: &str,
) -> Vec<Finding> {
    let (all, f) = analyze(file, cfg, sessions);
    let summaries = || {
        f.iter()
            .map(|x| (x.id, x.severity, &x.summary))
            .collect::<Vec<_>>()
    };
    let Some(x) = f.iter().find(|x| x.id == id) else {
        panic!("{file}: {id} not raised; got {:#?}", summaries())
    };
    assert_eq!(x.severity, sev, "{file}: {id}: {}", x.summary);
    let s = all.iter().find(|s| s.id.0 == x.evidence.session).unwrap();
    assert_eq!(x.evidence.frames, frames, "{file}: {id}: {}", x.summary);
    for &e in &x.evidence.events {
        assert!(
            frames.contains(&s.timeline[e].frame),
            "{file}: {id}: event {e} is in frame {}",
            s.timeline[e].frame
        );
    }
    assert!(x.summary.contains(says), "{file}: {id}: {}", x.summary);
    f
}

/// The recording Postfix's domain as --local-domain: what relay rules need.
fn local_example_test() -> AnalysisConfig {
    AnalysisConfig {
        local_domains: vec!["example.test".into(), "example.org".into()],
        ..AnalysisConfig::default()
    }
}

fn raised(f: &[Finding], id: &str) -> Vec<Severity> {
    f.iter()
        .filter(|x| x.id == id)
        .map(|x| x.severity)
        .collect()
}

// ---------------------------------------------------------------- framing

#[test]
fn test_real_smuggled_transaction_after_crlf_dot_lf_is_critical() {
    // Frame 13 DATA; frame 15 the message with `\r\n.\n` and a second
    // MAIL/RCPT/DATA; Postfix 3.7 (smtpd_forbid_bare_newline = no) answers
    // in frame 16 with two "queued as" replies: it took both messages.
    assert_real(
        "finding-smtp-smuggling.pcap",
        "smtp-smuggling",
        Critical,
        &[13, 15],
        "\\r\\n.\\n",
    );
}

#[test]
fn test_real_bare_lf_inside_data_is_medium() {
    assert_real(
        "finding-bare-line-ending.pcap",
        "bare-line-ending",
        Medium,
        &[15],
        "1 bare LF",
    );
}

#[test]
fn test_real_nul_in_data_is_medium() {
    assert_real(
        "finding-nul-byte.pcap",
        "nul-byte",
        Medium,
        &[15],
        "1 NUL byte(s) in DATA",
    );
}

#[test]
fn test_real_message_sent_with_data_before_354_is_high() {
    // DATA and the whole message share frame 13; 354 and 250 share frame 14.
    assert_real(
        "finding-data-before-354.pcap",
        "data-before-354",
        High,
        &[13, 14],
        "167 bytes sent after DATA",
    );
}

#[test]
fn test_real_message_larger_than_size_declaration_is_low() {
    assert_real(
        "finding-size-declared-mismatch.pcap",
        "size-declared-mismatch",
        Low,
        &[15],
        "declared SIZE=200",
    );
}

// ---------------------------------------------------------------- protocol

#[test]
fn test_real_ehlo_before_postfix_greeting_is_pregreet() {
    // Frame 4 is the client's EHLO; Postfix's 220 comes in frame 6.
    assert_real(
        "finding-pregreet.pcap",
        "pregreet",
        Medium,
        &[4],
        "EHLO client.example.test",
    );
}

#[test]
fn test_real_mail_and_rcpt_in_one_segment_to_aiosmtpd_without_pipelining() {
    // aiosmtpd's EHLO reply (frames 8-15) has no PIPELINING; frame 17
    // carries MAIL and RCPT.
    assert_real(
        "finding-pipelining-violation.pcap",
        "pipelining-violation",
        Medium,
        &[17],
        "RCPT TO:<bob@example.net>",
    );
}

#[test]
fn test_real_http_request_to_postfix_is_medium_unknown_command() {
    // Frame 6: GET, Host: and an empty line; Postfix hangs up with 221 2.7.0.
    let f = assert_real(
        "finding-unknown-command-http.pcap",
        "unknown-command",
        Medium,
        &[6],
        "HTTP on the SMTP port",
    );
    // Regression: the Host: line behind GET was also reported as SMTP
    // pipelining without PIPELINING (medium).
    assert!(raised(&f, "pipelining-violation").is_empty());
}

#[test]
fn test_real_long_command_is_medium_and_long_text_line_low() {
    let f = assert_real(
        "finding-line-too-long.pcap",
        "line-too-long",
        Medium,
        &[9],
        "605-octet line",
    );
    assert_eq!(raised(&f, "line-too-long"), [Medium, Low]);
    let low = f
        .iter()
        .find(|x| x.severity == Low && x.id == "line-too-long");
    assert_eq!(low.unwrap().evidence.frames, [17]);
}

#[test]
fn test_real_rcpt_before_mail_answered_503_is_bad_sequence() {
    assert_real(
        "finding-bad-command-sequence.pcap",
        "bad-command-sequence",
        Low,
        &[9, 10],
        "RCPT",
    );
}

// ---------------------------------------------------------------- tls

#[test]
fn test_real_rset_behind_starttls_in_one_segment_is_command_injection() {
    // Frame 9 is `STARTTLS\r\nRSET\r\n`; Postfix discards the RSET and
    // answers 220 (frame 10), then the ClientHello (frame 11).
    let f = assert_real(
        "finding-starttls-command-injection.pcap",
        "starttls-command-injection",
        Critical,
        &[9],
        "RSET\\r\\n",
    );
    assert!(raised(&f, "starttls-response-injection").is_empty());
}

// ---------------------------------------------------------------- recon

#[test]
fn test_real_vrfy_and_expn_probes_are_user_enumeration() {
    // Frames 9-18: VRFY alice, bob, nobody, root and EXPN, with replies.
    assert_real(
        "finding-user-enum-vrfy-expn.pcap",
        "user-enum-vrfy-expn",
        Medium,
        &(9..=18).collect::<Vec<_>>(),
        "5 VRFY/EXPN probes",
    );
}

#[test]
fn test_real_ten_unknown_rcpt_without_message_are_user_enumeration() {
    // RCPT in frames 11, 13, ..., 29, each answered 550 5.1.1.
    assert_real(
        "finding-user-enum-rcpt.pcap",
        "user-enum-rcpt",
        Medium,
        &(11..=29).step_by(2).collect::<Vec<_>>(),
        "10 of 10 RCPT rejected",
    );
}

#[test]
fn test_real_ehlo_localhost_is_helo_anomaly() {
    assert_real(
        "finding-helo-anomaly.pcap",
        "helo-anomaly",
        Low,
        &[6],
        "EHLO localhost",
    );
}

// ---------------------------------------------------------------- dangerous commands

#[test]
fn test_real_etrn_from_untrusted_client() {
    assert_real(
        "finding-etrn-queue-trigger.pcap",
        "etrn-queue-trigger",
        Low,
        &[9],
        "answered 459",
    );
}

#[test]
fn test_real_exchange_backdoor_and_turn_verbs() {
    // Postfix answers each with 500 5.5.2: XEXCH50 9/10, DEBUG 11/12,
    // WIZ 13/14, TURN 15/16.
    let file = "finding-dangerous-verbs.pcap";
    assert_real(file, "exchange-legacy-verb", High, &[9, 10], "XEXCH50");
    assert_real(file, "turn-atrn-unauthenticated", Medium, &[15, 16], "TURN");
    let f = assert_real(file, "legacy-backdoor-command", High, &[11, 12], "DEBUG");
    let wiz: Vec<_> = f
        .iter()
        .filter(|x| x.id == "legacy-backdoor-command" && x.summary.contains("WIZ"))
        .collect();
    assert_eq!(wiz.len(), 1);
    assert_eq!(wiz[0].evidence.frames, [13, 14]);
    // Three unknown verbs stay under the medium threshold of five.
    assert_eq!(raised(&f, "unknown-command"), [Low]);
}

#[test]
fn test_real_shell_syntax_in_mail_from_is_envelope_injection() {
    assert_real(
        "finding-envelope-injection-payload.pcap",
        "envelope-injection-payload",
        Critical,
        &[9, 10],
        ";sleep 1;@client.test",
    );
}

// ---------------------------------------------------------------- content

#[test]
fn test_real_swaks_exe_attachment_with_double_extension() {
    assert_real(
        "finding-risky-attachment.pcap",
        "risky-attachment",
        High,
        &[15],
        "invoice.pdf.exe",
    );
}

#[test]
fn test_real_header_from_domain_differs_from_envelope() {
    assert_real(
        "finding-envelope-header-from-mismatch.pcap",
        "envelope-header-from-mismatch",
        Info,
        &[15],
        "bank.example",
    );
}

#[test]
fn test_real_empty_bdat_chunk_without_last_is_framing_anomaly() {
    // Frame 13 `BDAT 0`, which Postfix refuses: 551 5.7.1 Null BDAT request.
    assert_real(
        "finding-bdat-framing-anomaly.pcap",
        "bdat-framing-anomaly",
        Medium,
        &[13],
        "BDAT 0 without LAST",
    );
}

#[test]
fn test_real_base64_part_that_does_not_decode_is_mime_malformed() {
    assert_real(
        "finding-mime-malformed.pcap",
        "mime-malformed",
        Medium,
        &[15],
        "application/pdf (base64)",
    );
}

#[test]
fn test_real_hundred_received_headers_refused_by_postfix_as_too_many_hops() {
    assert_real(
        "finding-too-many-received-headers.pcap",
        "too-many-received-headers",
        Low,
        &[15],
        "100 Received: headers",
    );
}

#[test]
fn test_real_eight_bit_body_without_8bitmime() {
    assert_real(
        "finding-non-ascii-without-extension.pcap",
        "non-ascii-without-extension",
        Low,
        &[15],
        "without BODY=8BITMIME",
    );
}

// ---------------------------------------------------------------- more tls and relay

#[test]
fn test_real_starttls_refused_454_by_aiosmtpd_then_mail_in_clear_is_high() {
    // STARTTLS frame 17, 454 frame 18, MAIL in clear frame 19.
    assert_real(
        "finding-starttls-rejected.pcap",
        "starttls-rejected",
        High,
        &[17, 18, 19],
        "454 TLS not available",
    );
}

#[test]
fn test_real_starttls_given_up_then_mail_in_clear_on_a_new_connection() {
    // Session 1: STARTTLS answered 220 (frame 10), then the client closes
    // without a TLS byte. Session 2: MAIL in clear (frame 22).
    assert_real_with(
        AnalysisConfig::default(),
        2,
        "finding-tls-fallback-to-plaintext.pcap",
        "tls-fallback-to-plaintext",
        Low,
        &[22],
        "sent MAIL in clear",
    );
}

#[test]
fn test_real_aiosmtpd_accepts_a_foreign_recipient_from_anyone() {
    assert_real_with(
        local_example_test(),
        1,
        "finding-open-relay-accepted.pcap",
        "open-relay-accepted",
        High,
        &[18, 19],
        "elsewhere.example",
    );
    // Without --local-domain nothing is known to be foreign.
    let (_, f) = analyze(
        "finding-open-relay-accepted.pcap",
        AnalysisConfig::default(),
        1,
    );
    assert!(raised(&f, "open-relay-accepted").is_empty());
}

#[test]
fn test_real_relay_attempts_refused_by_postfix_are_a_probe() {
    // Three foreign domains and a percent hack, each 554 5.7.1 Relay
    // access denied (frames 11-18).
    assert_real_with(
        local_example_test(),
        1,
        "finding-relay-probe.pcap",
        "relay-probe",
        Low,
        &[11, 13, 15, 17],
        "4 relay probe recipient(s)",
    );
}

#[test]
fn test_real_hundred_and_one_pipelined_recipients() {
    // All 101 RCPT in frame 11, all answered 250 in frame 12.
    assert_real(
        "finding-mass-recipients.pcap",
        "mass-recipients",
        Low,
        &[11],
        "101 recipients",
    );
}

#[test]
fn test_real_plaintext_smtp_on_port_465() {
    // Frame 4 is aiosmtpd's plaintext 220 on the submissions port.
    assert_real(
        "finding-implicit-tls-port-cleartext.pcap",
        "implicit-tls-port-cleartext",
        High,
        &[4],
        "implicit-TLS port 465",
    );
}
