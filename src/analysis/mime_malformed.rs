//! MIME structure or transfer encodings that do not decode.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "mime-malformed",
    group: "content",
    severities: &[Medium],
    trigger: "The MIME parser failed, or a part's declared transfer encoding (base64, quoted-printable) did not decode",
    explanation: "Scanners and mail clients repair broken MIME differently, so content can hide from a filter yet open in the client.",
    references: &["RFC 2045 §6", "Suricata smtp.mime_* events"],
};

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    for (i, tx) in s.transactions.iter().enumerate() {
        let Some(m) = &tx.message else { continue };
        let bad: Vec<_> = m.parts.iter().filter(|p| p.encoding_problem).collect();
        if !m.mime_error && bad.is_empty() {
            continue;
        }
        let summary = if m.mime_error {
            "the message's MIME structure does not parse".to_string()
        } else {
            format!(
                "{} part(s) fail their transfer encoding, first {} ({})",
                bad.len(),
                wire(&bad[0].content_type),
                wire(bad[0].transfer_encoding.as_deref().unwrap_or("?"))
            )
        };
        let mut f = Finding::new(&INFO, Medium, summary, s);
        f = f.message_event(s, i);
        out.push(f);
    }
}
