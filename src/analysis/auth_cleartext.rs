//! Credentials sent in clear: one finding per AUTH exchange visible on the
//! wire (every visible exchange is outside TLS) in which the client sent
//! at least one SASL response, by mechanism.

use super::Severity::*;
use super::*;

const RFC4954: &str = "RFC 4954 §4, §9 (no plaintext mechanisms without TLS)";

pub static PLAIN: RuleInfo = RuleInfo {
    id: "auth-cleartext-plain",
    group: "credentials",
    severities: &[High, Critical],
    trigger: "AUTH PLAIN exchanged outside TLS; critical when the server accepted it (235)",
    explanation: "PLAIN carries the user name and password in base64, which anyone on the path decodes; an accepted exchange means working credentials were exposed.",
    references: &["RFC 4616 §2, §5", RFC4954],
};
pub static LOGIN: RuleInfo = RuleInfo {
    id: "auth-cleartext-login",
    group: "credentials",
    severities: &[High, Critical],
    trigger: "AUTH LOGIN exchanged outside TLS; critical when the server accepted it (235)",
    explanation: "LOGIN sends the user name and the password as two base64 lines: readable by anyone on the path.",
    references: &["draft-murchison-sasl-login", RFC4954],
};
pub static OAUTH: RuleInfo = RuleInfo {
    id: "auth-cleartext-oauth-token",
    group: "credentials",
    severities: &[Critical],
    trigger: "AUTH XOAUTH2 or OAUTHBEARER outside TLS",
    explanation: "The bearer token in the exchange can be replayed by whoever sees it until it expires, usually with full mailbox access.",
    references: &["RFC 7628 §3.1", "Google XOAUTH2 protocol", RFC4954],
};
pub static CRAM: RuleInfo = RuleInfo {
    id: "auth-cleartext-cram-md5",
    group: "credentials",
    severities: &[Medium],
    trigger: "AUTH CRAM-MD5 outside TLS",
    explanation: "The password itself does not cross the wire, but the user name does, and the challenge with its HMAC-MD5 answer allows an offline dictionary attack on the password.",
    references: &["RFC 2195 §2", RFC4954],
};
pub static NTLM: RuleInfo = RuleInfo {
    id: "auth-cleartext-ntlm",
    group: "credentials",
    severities: &[High],
    trigger: "AUTH NTLM outside TLS",
    explanation: "The NTLM exchange reveals domain, user and workstation, and its challenge/response pair can be cracked offline or relayed to other services.",
    references: &["[MS-NLMP]", "[MS-SMTPNTLM]", RFC4954],
};
pub static OTHER: RuleInfo = RuleInfo {
    id: "auth-cleartext-other",
    group: "credentials",
    severities: &[Low, Medium],
    trigger: "Another SASL mechanism (SCRAM-*, DIGEST-MD5, ANONYMOUS, ...) outside TLS; medium when a user name was readable",
    explanation: "Without TLS the user name is visible and the salted proof allows an offline dictionary attack; the server is not authenticated either.",
    references: &["RFC 5802 §9", "RFC 2831", RFC4954],
};

pub static INFOS: &[&RuleInfo] = &[&PLAIN, &LOGIN, &OAUTH, &CRAM, &NTLM, &OTHER];

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let Some(auth) = &s.auth else { return };
    let mut seen = Vec::new();
    for a in &auth.history {
        // Refused (538 encryption required, 504 unknown mechanism) or
        // cancelled before any response: only the mechanism name crossed.
        if a.responses == 0 {
            continue;
        }
        let key = (a.mechanism.clone(), a.user.clone(), a.success);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let accepted = a.success == Some(true);
        let (info, sev, what) = match a.mechanism.as_str() {
            "PLAIN" => (&PLAIN, if accepted { Critical } else { High }, "password"),
            "LOGIN" => (&LOGIN, if accepted { Critical } else { High }, "password"),
            "XOAUTH2" | "OAUTHBEARER" => (&OAUTH, Critical, "bearer token"),
            "CRAM-MD5" => (&CRAM, Medium, "crackable challenge response"),
            "NTLM" => (&NTLM, High, "crackable NTLM response"),
            // No reusable secret crosses the wire.
            "EXTERNAL" | "GSSAPI" | "GS2-KRB5" => continue,
            _ if a.user.is_some() => (&OTHER, Medium, "crackable proof"),
            _ => (&OTHER, Low, "exchange"),
        };
        let user = a.user.as_deref().map(wire);
        let outcome = match (a.success, a.code) {
            (Some(true), _) => "accepted (235)".to_string(),
            (Some(false), Some(c)) => format!("rejected ({})", c.0),
            _ if a.cancelled => "cancelled by the client".to_string(),
            _ => "no final reply seen".to_string(),
        };
        let summary = format!(
            "AUTH {} in cleartext for user {} to {}: {}; the {} crossed the network readable",
            wire(&a.mechanism),
            user.as_deref().unwrap_or("(not decoded)"),
            s.service(),
            outcome,
            what
        );
        let mut f = Finding::new(info, sev, summary, s).frame(a.frame);
        if let Some(e) = a.event {
            f = f.event(s, e);
        }
        if let Some(r) = a.reply_frame {
            f = f.frame(r);
        }
        out.push(f);
    }
}
