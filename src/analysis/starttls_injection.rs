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

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let starttls = s.commands().rev().find(|c| c.verb == "STARTTLS");
    let reply_frame = starttls
        .as_ref()
        .and_then(|c| c.reply(s))
        .map(|(r, _)| s.timeline[r].frame);
    let plain = |d: Dir| {
        s.anomalies
            .iter()
            .find(|a| a.dir == d && matches!(a.anomaly, Anomaly::PlaintextAfterStartTls { .. }))
    };
    // Both sides carry on in plaintext, the client only after the 220
    // arrived: nobody ever started TLS. That is a middlebox answering
    // STARTTLS (or a capture behind a TLS terminator), not injection.
    if let (Some(c), Some(sv), Some(rf)) = (
        plain(Dir::ClientToServer),
        plain(Dir::ServerToClient),
        reply_frame,
    ) {
        if c.frame > rf {
            let summary = format!(
                "{} answered STARTTLS with 220 but both sides went on in plaintext SMTP: TLS never started (a middlebox, or a capture behind a TLS terminator?)",
                s.service()
            );
            let mut f = Finding::new(&super::starttls_stripping::INFO, High, summary, s);
            if let Some(st) = &starttls {
                f = f.event(s, st.idx);
            }
            out.push(f.frame(c.frame).frame(sv.frame));
            return;
        }
    }
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
        if let Some(c) = &starttls {
            f = f.event(s, c.idx);
        }
        out.push(f.frame(a.frame));
    }
}
