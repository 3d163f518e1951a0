//! Plaintext between STARTTLS and the TLS handshake, either direction
//! (the decoder's `PlaintextAfterStartTls` fact).

use super::Severity::*;
use super::*;
use crate::net::Dir;
use crate::output::escape::escape_bytes;
use crate::smtp::event::Anomaly;

pub static COMMAND: RuleInfo = RuleInfo {
    id: "starttls-command-injection",
    group: "tls",
    severities: &[Critical],
    trigger: "Client bytes after the STARTTLS command line and before the TLS ClientHello",
    explanation: "Commands sent in clear right after STARTTLS are executed by vulnerable servers as if they came inside TLS (CVE-2011-0411 class); an attacker injects them on the path.",
    references: &["CVE-2011-0411", "RFC 3207 §4", "Poddebniak et al., USENIX Security 2021"],
};
pub static RESPONSE: RuleInfo = RuleInfo {
    id: "starttls-response-injection",
    group: "tls",
    severities: &[Critical],
    trigger: "Server bytes after the 220 reply to STARTTLS and before the TLS ServerHello",
    explanation: "Extra plaintext replies after the 220 can be consumed by a buggy client as if they came over TLS (response injection), e.g. forged capabilities.",
    references: &["RFC 3207 §4.2, §6", "Poddebniak et al., USENIX Security 2021 (EAST B_1)"],
};

pub static INFOS: &[&RuleInfo] = &[&COMMAND, &RESPONSE];

pub fn check(s: &Session, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    for a in &s.anomalies {
        let Anomaly::PlaintextAfterStartTls { bytes, evidence } = &a.anomaly else {
            continue;
        };
        let (info, who) = match a.dir {
            Dir::ClientToServer => (&COMMAND, "client"),
            Dir::ServerToClient => (&RESPONSE, "server"),
        };
        let summary = format!(
            "{bytes} plaintext bytes from the {who} after STARTTLS, before TLS: {}",
            short(&escape_bytes(evidence), 100)
        );
        let mut f = Finding::new(info, Critical, summary, s);
        if let Some(c) = commands(s).filter(|c| c.verb == "STARTTLS").last() {
            f = f.event(s, c.idx);
        }
        out.push(f.frame(a.frame));
    }
}
