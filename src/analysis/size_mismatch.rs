//! Declared SIZE against the measured message size.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "size-declared-mismatch",
    group: "framing",
    severities: &[Low, Medium],
    trigger: "A message more than 10% (and 1 KiB) larger than its MAIL SIZE= declaration; medium when it also exceeds the server's advertised SIZE maximum and was accepted",
    explanation: "SIZE lets a server refuse mail it cannot take before the transfer; a false declaration evades size limits, and a server accepting more than its advertised maximum does not enforce it.",
    references: &["RFC 1870 §4, §6", "RFC 5321 §4.5.3.1.7"],
};

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let max = s.capabilities.size.flatten().filter(|&m| m > 0);
    for (i, tx) in s.transactions.iter().enumerate() {
        let Some(actual) = tx.data_bytes else {
            continue;
        };
        let declared = tx
            .mail_params
            .iter()
            .find(|p| p.key == "SIZE")
            .and_then(|p| p.value.as_deref()?.parse::<u64>().ok());
        let over_decl = declared.filter(|&d| actual > d + d / 10 + 1024);
        let over_max = max.filter(|&m| actual > m && tx.completed);
        if over_decl.is_none() && over_max.is_none() {
            continue;
        }
        let sev = if over_max.is_some() { Medium } else { Low };
        let mut summary = format!("message of {actual} bytes");
        if let Some(d) = over_decl {
            summary.push_str(&format!(" declared SIZE={d}"));
        }
        if let Some(m) = over_max {
            summary.push_str(&format!("; accepted although the server's maximum is {m}"));
        }
        let mut f = Finding::new(&INFO, sev, summary, s);
        f = f.message_event(s, i);
        out.push(f);
    }
}
