//! Every command verb and EHLO keyword in every capture we have is
//! explained, and every line of every decoded session gets an explanation
//! that never shows a secret.
//!
//! Exempt: verbs the decoder itself records as unknown commands (it emits
//! an `UnknownCommand` anomaly for every `Verb::Other`): hostile captures
//! send header lines, base64 and binary where commands belong.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use smtpscope::model::{Session, TimelineKind};
use smtpscope::smtp::command::Verb;
use smtpscope::smtp::Anomaly;
use smtpscope::teach::extensions::{is_private_keyword, keyword};
use smtpscope::teach::{annotate, explain, TermKind};

fn captures_in(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            captures_in(&p, out);
        } else {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.contains(".pcap") {
                out.push(p);
            }
        }
    }
}

fn is_decoder_unknown(s: &Session, verb: &str) -> bool {
    !Verb::from_bytes(verb.as_bytes()).is_known()
        && (s.anomalies_dropped > 0
            || s.anomalies.iter().any(|a| {
                matches!(&a.anomaly, Anomaly::UnknownCommand { verb: v }
                    if smtpscope::output::escape::escape_str(v) == verb
                        || v.eq_ignore_ascii_case(verb))
            })
            // Escaped binary never round-trips to the anomaly's text.
            || verb.contains('\\')
            || !verb.is_ascii())
}

/// The first command verb or EHLO keyword without an explanation.
fn first_unexplained(file: &Path, sessions: &[Session]) -> Option<String> {
    for s in sessions {
        for t in &s.timeline {
            if t.kind != TimelineKind::Command {
                continue;
            }
            let verb = t.lines[0]
                .split([' ', '\t'])
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            let known = explain(&verb)
                .entries
                .iter()
                .any(|e| e.kind == TermKind::Command);
            if !known && !is_decoder_unknown(s, &verb) {
                return Some(format!("{}: command {verb:?}", file.display()));
            }
        }
        for kw in s.capabilities.keywords() {
            if keyword(&kw).is_none() && !is_private_keyword(&kw) {
                return Some(format!("{}: EHLO keyword {kw:?}", file.display()));
            }
        }
    }
    None
}

fn check_dir(dir: &Path) -> usize {
    let mut files = Vec::new();
    captures_in(dir, &mut files);
    assert!(!files.is_empty(), "no captures under {}", dir.display());
    let mut lines = 0;
    for f in &files {
        let (sessions, _) = decode(&[f.display().to_string()]);
        if let Some(what) = first_unexplained(f, &sessions) {
            panic!("no explanation for {what}");
        }
        for s in &sessions {
            let notes = annotate(s);
            assert_eq!(notes.len(), s.timeline.len(), "{}", f.display());
            for ((_, text), t) in notes.iter().zip(&s.timeline) {
                assert!(!text.is_empty(), "{}", f.display());
                lines += 1;
                if let Some(secret) = &t.secret {
                    let secret = secret.reveal();
                    // Only meaningful secrets: a masked line's revealed
                    // text, long enough not to match by chance.
                    if secret.len() >= 6 {
                        let joined = text.join("\n");
                        assert!(!joined.contains(secret), "{}: secret shown", f.display());
                    }
                }
                for l in text {
                    assert!(
                        !l.contains('\u{1b}'),
                        "{}: raw escape in {l:?}",
                        f.display()
                    );
                }
            }
        }
    }
    lines
}

#[test]
fn test_every_verb_and_keyword_in_our_captures_is_explained() {
    let n = check_dir(&repo().join("captures"));
    assert!(n > 100, "explained {n} lines");
}

#[test]
fn test_every_verb_and_keyword_in_shared_captures_is_explained() {
    let Some(dir) = shared_captures() else { return };
    check_dir(&dir);
}

/// Reviewed by hand against RFC 5321 §3.3 and §4.1.4: one transaction,
/// two recipients refused (550 leaves the state as it was), DATA, QUIT.
const RCPT_REJECTED_STATES: &str = "\
220 mx.example.test ESMTP Postfix (Debian/GNU)  =>  connected -> greeted
EHLO client.example.test  =>  greeted -> ready
250-mx.example.test  =>  greeted -> ready
MAIL FROM:<sender@client.test>  =>  ready -> transaction open
250 2.1.0 Ok  =>  ready -> transaction open
RCPT TO:<alice@example.test>  =>  transaction open -> recipients accepted
250 2.1.5 Ok  =>  transaction open -> recipients accepted
RCPT TO:<nobody@example.test>  =>  recipients accepted (unchanged)
550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown in virtual mailbox table  =>  recipients accepted (unchanged)
RCPT TO:<bob@example.test>  =>  recipients accepted (unchanged)
250 2.1.5 Ok  =>  recipients accepted (unchanged)
RCPT TO:<ghost@example.test>  =>  recipients accepted (unchanged)
550 5.1.1 <ghost@example.test>: Recipient address rejected: User unknown in virtual mailbox table  =>  recipients accepted (unchanged)
DATA  =>  recipients accepted -> message text
354 End data with <CR><LF>.<CR><LF>  =>  recipients accepted -> message text
  =>  message text -> ready
250 2.0.0 Ok: queued as 42A5D98C33E  =>  message text -> ready
QUIT  =>  ready -> closing
221 2.0.0 Bye  =>  ready -> closing
";

#[test]
fn test_state_walk_of_postfix_rcpt_rejected_matches_the_reviewed_golden() {
    let (sessions, _) = decode(&[capture("postfix-rcpt-rejected.pcap")]);
    assert_eq!(sessions.len(), 1);
    let s = &sessions[0];
    let got: Vec<String> = annotate(s)
        .into_iter()
        .map(|(i, lines)| {
            assert!(
                !lines.iter().any(|l| l.starts_with("out of sequence")),
                "{lines:?}"
            );
            let state = lines.iter().find(|l| l.starts_with("state: ")).unwrap();
            format!(
                "{}  =>  {}",
                s.timeline[i]
                    .lines
                    .first()
                    .map(String::as_str)
                    .unwrap_or(""),
                &state["state: ".len()..]
            )
        })
        .collect();
    assert_eq!(got.join("\n"), RCPT_REJECTED_STATES.trim_end());
}

/// Each message of a proxy handshake is explained as what it is, with the
/// section of the protocol that defines it.
#[test]
fn test_proxy_handshake_lines_cite_their_protocol() {
    let cases: &[(&str, &[&str])] = &[
        (
            "socks5-auth-smtp.pcap",
            &[
                "RFC 1928 §3",
                "RFC 1928 §3",
                "RFC 1929 §2",
                "RFC 1929 §2",
                "RFC 1928 §4, §6",
                "RFC 1928 §4, §6",
            ],
        ),
        (
            "http-connect-smtp.pcap",
            &[
                "RFC 9110 §9.3.6, §11.7.2; RFC 7617",
                "RFC 9110 §9.3.6, §15.5.8",
            ],
        ),
    ];
    for (file, refs) in cases {
        let (sessions, _) = decode(&[capture(file)]);
        let s = &sessions[0];
        let notes = annotate(s);
        let cited: Vec<String> = s
            .timeline
            .iter()
            .zip(&notes)
            .filter(|(t, _)| t.kind == TimelineKind::Proxy)
            .map(|(_, (_, text))| text.last().cloned().unwrap_or_default())
            .collect();
        let expected: Vec<String> = refs.iter().map(|r| format!("see: {r}")).collect();
        assert_eq!(cited, expected, "{file}");
    }
}
