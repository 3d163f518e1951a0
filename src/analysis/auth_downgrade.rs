//! A challenge mechanism abandoned for a plaintext one in one session.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "auth-mechanism-downgrade",
    group: "credentials",
    severities: &[Medium],
    trigger: "AUTH with a challenge mechanism (CRAM-MD5, DIGEST-MD5, NTLM, SCRAM, GSSAPI) cancelled or refused, then AUTH PLAIN or LOGIN in the same session",
    explanation: "An attacker who breaks the stronger exchange can make the client fall back to a mechanism that reveals the password.",
    references: &["RFC 4954 §4 (down-negotiation)", "curl SASL downgrade tests 935/936"],
};

fn strong(m: &str) -> bool {
    matches!(m, "CRAM-MD5" | "DIGEST-MD5" | "NTLM" | "GSSAPI") || m.starts_with("SCRAM-")
}

pub fn check(s: &Session, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let Some(auth) = &s.auth else { return };
    let h = &auth.history;
    let Some(i) = h
        .iter()
        .position(|a| strong(&a.mechanism) && (a.cancelled || a.success == Some(false)))
    else {
        return;
    };
    let Some(j) = h[i + 1..]
        .iter()
        .position(|a| matches!(a.mechanism.as_str(), "PLAIN" | "LOGIN"))
        .map(|j| j + i + 1)
    else {
        return;
    };
    let summary = format!(
        "AUTH {} was {} and the client then used AUTH {} for user {}",
        wire(&h[i].mechanism),
        if h[i].cancelled {
            "cancelled"
        } else {
            "refused"
        },
        wire(&h[j].mechanism),
        h[j].user
            .as_deref()
            .map(wire)
            .unwrap_or_else(|| "(not decoded)".into())
    );
    let f = Finding::new(&INFO, Medium, summary, s)
        .events(s, h[i].event.into_iter().chain(h[j].event))
        .frame(h[i].frame)
        .frame(h[j].frame);
    out.push(f);
}
