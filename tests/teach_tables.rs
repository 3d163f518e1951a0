//! The teaching tables: complete, referenced, and right on the RFC facts
//! we can check by hand; the lookup API and the `explain` subcommand.

use std::collections::HashSet;
use std::process::Command;

use smtpscope::smtp::command::Verb;
use smtpscope::teach::commands::COMMANDS;
use smtpscope::teach::enhanced::{CLASSES, DETAILS, SUBJECTS};
use smtpscope::teach::extensions::{KeywordOrigin, KEYWORDS, SASL};
use smtpscope::teach::limits::LIMITS;
use smtpscope::teach::replies::{digits, REPLIES};
use smtpscope::teach::state::{info, STATES};
use smtpscope::teach::{explain, explain_with, levenshtein, list_with, render_text, TermKind};

fn referenced(r: &str) -> bool {
    // An RFC with a section where the RFC has sections we cite, otherwise
    // the named defining document.
    !r.trim().is_empty() && r.len() >= 5
}

#[test]
fn test_every_reply_code_has_meaning_reference_and_digits() {
    let mut seen = HashSet::new();
    for r in REPLIES {
        assert!(seen.insert(r.code), "{} listed twice", r.code);
        assert!((200..600).contains(&r.code), "{}", r.code);
        assert!(!r.meaning.is_empty() && !r.when.is_empty(), "{}", r.code);
        assert!(
            r.reference.starts_with("RFC "),
            "{}: {}",
            r.code,
            r.reference
        );
        let e = explain(&r.code.to_string());
        assert_eq!(e.entries.len(), 1);
        assert!(e.entries[0].listed);
        assert_eq!(e.entries[0].details.len(), 3, "three digits for {}", r.code);
    }
    // Catalogue 2b: every RFC 5321 §4.2.3 code plus the extension codes.
    for c in [
        211, 214, 220, 221, 250, 251, 252, 354, 421, 450, 451, 452, 455, 500, 501, 502, 503, 504,
        550, 551, 552, 553, 554, 555, 235, 334, 432, 454, 530, 534, 535, 538, 521, 556, 253, 458,
        459, 453, 355, 523, 525,
    ] {
        assert!(seen.contains(&c), "reply code {c} missing");
    }
    // RFC 5321 §4.3.2 replies of every command are explained codes.
    for c in COMMANDS {
        for code in c.success.iter().chain(c.intermediate).chain(c.errors) {
            assert!(
                seen.contains(code),
                "{} lists {code}, which has no entry",
                c.verb
            );
        }
    }
}

#[test]
fn test_every_enhanced_code_has_meaning_and_reference() {
    assert_eq!(
        CLASSES.iter().map(|c| c.class).collect::<Vec<_>>(),
        [2, 4, 5]
    );
    assert_eq!(SUBJECTS.len(), 8);
    let mut seen = HashSet::new();
    for d in DETAILS {
        assert!(
            seen.insert((d.subject, d.detail)),
            "X.{}.{} twice",
            d.subject,
            d.detail
        );
        assert!(SUBJECTS.iter().any(|s| s.subject == d.subject));
        assert!(!d.title.is_empty() && !d.meaning.is_empty());
        assert!(referenced(d.reference), "X.{}.{}", d.subject, d.detail);
        for class in [2, 4, 5] {
            let e = explain(&format!("{class}.{}.{}", d.subject, d.detail));
            assert_eq!(e.entries.len(), 1);
            assert!(e.entries[0].listed);
            assert!(!e.entries[0].defined_in.is_empty());
        }
    }
    // The whole IANA registry of catalogue 2c: per subject, details 0..=n.
    for (subject, max) in [
        (0, 0),
        (1, 10),
        (2, 4),
        (3, 6),
        (4, 7),
        (5, 6),
        (6, 10),
        (7, 30),
    ] {
        for detail in 0..=max {
            assert!(
                seen.contains(&(subject, detail)),
                "X.{subject}.{detail} missing"
            );
        }
    }
    assert_eq!(seen.len(), 1 + 11 + 5 + 7 + 8 + 7 + 11 + 31);
}

#[test]
fn test_commands_keywords_sasl_states_and_limits_are_referenced() {
    for c in COMMANDS {
        assert!(referenced(c.reference), "{}", c.verb);
        assert!(!c.meaning.is_empty() && !c.syntax.is_empty(), "{}", c.verb);
        assert!(!c.before.is_empty() && !c.after.is_empty(), "{}", c.verb);
    }
    // Every verb the decoder knows by name has an entry.
    for v in [
        "EHLO", "HELO", "LHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "VRFY", "EXPN", "HELP",
        "NOOP", "QUIT", "STARTTLS", "AUTH", "ETRN", "ATRN", "TURN", "XCLIENT", "XFORWARD",
    ] {
        assert!(Verb::from_bytes(v.as_bytes()).is_known(), "{v}");
        assert!(
            explain(v)
                .entries
                .iter()
                .any(|e| e.kind == TermKind::Command),
            "{v}"
        );
    }
    for k in KEYWORDS {
        assert!(referenced(k.reference), "{}", k.keyword);
        assert!(
            !k.enables.is_empty() && !k.params.is_empty(),
            "{}",
            k.keyword
        );
    }
    let registered = KEYWORDS
        .iter()
        .filter(|k| k.origin == KeywordOrigin::Registered)
        .count();
    assert!(registered >= 34, "IANA registry rows: {registered}");
    for m in SASL {
        assert!(referenced(m.reference) && !m.exposes.is_empty() && !m.steps.is_empty());
    }
    for s in STATES {
        assert!(s.reference.starts_with("RFC "), "{}", s.name);
        assert_eq!(info(s.state).name, s.name);
    }
    assert!(LIMITS
        .iter()
        .all(|l| l.reference.starts_with("RFC 5321 §4.5.3")));
}

#[test]
fn test_explain_answers_match_the_rfcs() {
    // 354: go ahead with the message text, ended by <CRLF>.<CRLF> (§4.2.3).
    let e = explain("354");
    let t = render_text(&e);
    assert!(
        t.contains("<CRLF>.<CRLF>") && t.contains("RFC 5321 §4.2.3"),
        "{t}"
    );
    assert!(t.contains("first digit 3 = positive intermediate"), "{t}");

    // 5.1.1: bad destination mailbox, RFC 3463 §3.2.
    let t = render_text(&explain("5.1.1"));
    assert!(t.contains("Bad destination mailbox address"), "{t}");
    assert!(
        t.contains("RFC 3463 §3.2") && t.contains("class 5 = Permanent failure"),
        "{t}"
    );

    // 452: transient, mail system, grade 2.
    let d = &explain("452").entries[0].details;
    assert!(
        d[0].starts_with("first digit 4 = transient negative"),
        "{d:?}"
    );
    assert!(d[1].starts_with("second digit 5 = mail system"), "{d:?}");
    assert!(d[2].starts_with("third digit 2"), "{d:?}");

    let p = explain("pipelining");
    assert_eq!(p.entries[0].kind, TermKind::EhloKeyword);
    assert!(p.entries[0].defined_in[0].contains("RFC 2920"));

    let b = explain("BDAT");
    assert!(b.entries[0].defined_in[0].starts_with("RFC 3030"));

    let c = explain("cram-md5");
    assert_eq!(c.entries[0].kind, TermKind::SaslMechanism);
    assert!(c.entries[0].defined_in[0].contains("RFC 2195"));
    assert!(render_text(&c).contains("offline"));

    // STARTTLS is both a command and an EHLO keyword.
    let kinds: Vec<TermKind> = explain("starttls").entries.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [TermKind::Command, TermKind::EhloKeyword]);

    // Reply and enhanced code together; classes must agree (RFC 3463 §2).
    let both = explain("550 5.7.1");
    assert_eq!(both.entries.len(), 2);
    assert_eq!(both.entries[1].title, "5.7.1");
    assert!(!render_text(&both).contains("mismatch"));
    assert!(render_text(&explain("250 5.7.1")).contains("mismatch"));

    // The registry's own notation, any class.
    let x = explain("x.1.1");
    assert_eq!(x.entries[0].title, "X.1.1");
    assert!(x.entries[0].details[0].starts_with("class X = any of 2"));

    // Unlisted codes are read by their parts, never refused.
    let odd = explain("436");
    assert!(odd.is_known() && !odd.entries[0].listed);
    assert!(odd.entries[0].details[1].contains("unassigned"));
    assert!(explain("472").entries[0].details[1].contains("above 5"));
    let vendor = explain("5.7.606");
    assert!(vendor.is_known() && !vendor.entries[0].listed);
    assert!(render_text(&vendor).contains("not in the IANA registry"));
    assert!(render_text(&explain("999")).contains("outside the reply-code grammar"));
}

#[test]
fn test_unknown_terms_get_nearest_suggestions() {
    assert_eq!(levenshtein("STARTTLS", "STARTTLS"), 0);
    assert_eq!(levenshtein("PIPELINNG", "PIPELINING"), 1);
    assert_eq!(levenshtein("RCTP", "RCPT"), 1);
    assert_eq!(levenshtein("", "abc"), 3);
    let e = explain("STARTTSL");
    assert!(!e.is_known());
    assert_eq!(e.suggestions.first().map(String::as_str), Some("STARTTLS"));
    assert!(render_text(&e).contains("unknown term; did you mean STARTTLS"));
    assert_eq!(explain("pipelinig").suggestions[0], "PIPELINING");
    assert_eq!(explain("CRAM-MD4").suggestions[0], "CRAM-MD5");
    assert!(explain("RCTP").suggestions.contains(&"RCPT".to_string()));
    let none = explain("zzzzzzzzzzzz");
    assert!(none.suggestions.is_empty());
    assert!(render_text(&none).contains("unknown term (try --list)"));
    // Terminal sequences in an unknown term are escaped in the output.
    assert!(!render_text(&explain("\u{1b}[31mX")).contains('\u{1b}'));
}

#[test]
fn test_finding_ids_are_explained_through_the_registration_hook() {
    let findings = [("auth-plaintext", "Credentials were sent without TLS.")];
    let e = explain_with("AUTH-PLAINTEXT", &findings);
    assert_eq!(e.entries[0].kind, TermKind::Finding);
    assert!(render_text(&e).contains("Credentials were sent without TLS."));
    assert!(!explain("auth-plaintext").is_known());
    assert_eq!(
        explain_with("auth-plaintxt", &findings).suggestions,
        ["auth-plaintext"]
    );
    let list = list_with(&findings);
    assert!(list
        .iter()
        .any(|(k, t)| *k == TermKind::Finding && t.len() == 1));
}

#[test]
fn test_digits_explain_any_code() {
    for code in 200..=599u16 {
        let d = digits(code);
        assert!(d.iter().all(|l| !l.is_empty()));
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_smtpscope"))
}

#[test]
fn test_explain_subcommand_exit_codes_and_list() {
    let ok = bin()
        .args(["explain", "550", "5.1.1", "BDAT"])
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
    let out = String::from_utf8(ok.stdout).unwrap();
    assert!(
        out.contains("550 [reply code]") && out.contains("BDAT [command]"),
        "{out}"
    );

    let bad = bin()
        .args(["explain", "550", "STARTTSL", "QWERTYUIOP"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8(bad.stderr).unwrap();
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(
        err.contains("STARTTSL: unknown term; did you mean STARTTLS?"),
        "{err}"
    );

    let list = bin().args(["explain", "--list"]).output().unwrap();
    assert_eq!(list.status.code(), Some(0));
    let out = String::from_utf8(list.stdout).unwrap();
    for kind in [
        "command (",
        "reply code (",
        "enhanced status code (",
        "EHLO keyword (",
        "SASL mechanism (",
    ] {
        assert!(out.contains(kind), "{kind} missing in {out}");
    }

    // No term and no --list: a usage error from clap.
    let usage = bin().arg("explain").output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn test_text_teach_mode_annotates_every_line_of_the_tour() {
    let tour = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/tour.pcap");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_smtpscope"))
        .args(["--format", "text", "--teach"])
        .arg(&tour)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("| 354 to DATA:"), "{text}");
    assert!(text.contains("| state: greeted -> ready"), "{text}");
    assert!(text.contains("| BDAT:"), "{text}");
    assert!(text.contains("RFC 3030"), "{text}");
    // Secrets stay masked in the explanation of AUTH.
    assert!(!text.contains("wonderland"));
    // Every line of the dialogue is followed by its explanation.
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if l.contains(" C: ") && !l.contains("[DATA") && !l.contains("[BDAT") {
            assert!(
                lines
                    .get(i + 1)
                    .is_some_and(|n| n.trim_start().starts_with('|')),
                "no explanation after {l}"
            );
        }
    }
}
