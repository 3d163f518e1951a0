//! Plaintext SMTP on the implicit-TLS submission port.

use super::Severity::*;
use super::*;
use crate::smtp::event::Anomaly;

pub static INFO: RuleInfo = RuleInfo {
    id: "implicit-tls-port-cleartext",
    group: "tls",
    severities: &[High],
    trigger: "A session on port 465 (submissions) that starts with plaintext SMTP instead of a TLS handshake",
    explanation: "Port 465 promises TLS from the first byte; plaintext there means a misconfigured server or client, and any credentials sent are exposed.",
    references: &["RFC 8314 §3.3, §7.3"],
};

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let Some(a) = s
        .anomalies
        .iter()
        .find(|a| a.anomaly == Anomaly::PlaintextOnImplicitTlsPort)
    else {
        return;
    };
    let summary = format!(
        "plaintext SMTP on implicit-TLS port {} ({} -> {})",
        s.service_port(),
        s.client,
        s.service()
    );
    let mut f = Finding::new(&INFO, High, summary, s).frame(a.frame);
    // The first SMTP line (a proxy's handshake may come before it).
    if let Some(i) = s
        .timeline
        .iter()
        .position(|t| t.kind != crate::model::TimelineKind::Proxy)
    {
        f = f.event(s, i);
    }
    out.push(f);
}
