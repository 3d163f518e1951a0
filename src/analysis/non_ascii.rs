//! 8-bit envelope or content without the extension that allows it.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "non-ascii-without-extension",
    group: "protocol",
    severities: &[Low],
    trigger: "Non-ASCII in EHLO/MAIL/RCPT/VRFY without SMTPUTF8 (advertised and requested on MAIL), or 8-bit message content without BODY=8BITMIME/BINARYMIME",
    explanation: "Without the extension the receiver may reject, mangle or misread the bytes, and different hops may see different addresses.",
    references: &["RFC 5321 §2.4", "RFC 6531 §3.1", "RFC 6152"],
};

/// Escaped timeline text keeps printable UTF-8 and shows other bytes as
/// `\xNN`; either is non-ASCII on the wire.
fn non_ascii(escaped: &str) -> bool {
    !escaped.is_ascii()
        || escaped.match_indices("\\x").any(|(i, _)| {
            escaped[i + 2..]
                .starts_with(|c: char| ('8'..='9').contains(&c) || ('a'..='f').contains(&c))
        })
}

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let utf8_mail = s
        .commands()
        .any(|c| c.verb == "MAIL" && c.arg.to_ascii_uppercase().contains("SMTPUTF8"));
    let utf8 = s.capabilities.smtputf8 && utf8_mail;
    if !utf8 {
        if let Some(c) = s.commands().find(|c| {
            matches!(c.verb.as_ref(), "EHLO" | "HELO" | "MAIL" | "RCPT" | "VRFY")
                && non_ascii(c.arg)
        }) {
            let summary = format!(
                "non-ASCII {} without SMTPUTF8: {}",
                c.verb,
                short(c.arg, 80)
            );
            out.push(Finding::new(&INFO, Low, summary, s).event(s, c.idx));
        }
    }
    for (i, tx) in s.transactions.iter().enumerate() {
        let eight = tx.mail_params.iter().any(|p| {
            p.key == "BODY"
                && p.value.as_deref().is_some_and(|v| {
                    v.eq_ignore_ascii_case("8BITMIME") || v.eq_ignore_ascii_case("BINARYMIME")
                })
        }) || tx.mail_params.iter().any(|p| p.key == "SMTPUTF8");
        let Some(n) = tx.content.as_ref().map(|c| c.eight_bit) else {
            continue;
        };
        if eight || n == 0 {
            continue;
        }
        let summary = format!("{n} 8-bit byte(s) in a message sent without BODY=8BITMIME");
        let mut f = Finding::new(&INFO, Low, summary, s);
        f = f.message_event(s, i);
        out.push(f);
    }
}
