//! BDAT (CHUNKING) framing anomalies.

use super::Severity::*;
use super::*;
use crate::output::escape::escape_bytes;
use crate::smtp::event::Anomaly;

pub static INFO: RuleInfo = RuleInfo {
    id: "bdat-framing-anomaly",
    group: "framing",
    severities: &[Medium],
    trigger: "BDAT without CHUNKING advertised, DATA and BDAT in one transaction, BDAT after LAST, a bad chunk size, or BDAT 0 without LAST",
    explanation: "Chunk framing that the two ends may count differently desynchronizes them: content becomes commands or commands become content.",
    references: &["RFC 3030 §2, §3"],
};

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let mut what = Vec::new();
    let mut f = Finding::new(&INFO, Medium, String::new(), s);
    for a in &s.anomalies {
        let w = match &a.anomaly {
            Anomaly::BdatWithoutChunking => "BDAT without CHUNKING advertised".to_string(),
            Anomaly::DataAndBdatMixed => "DATA and BDAT in one transaction".to_string(),
            Anomaly::BdatAfterLast => "BDAT after the LAST chunk".to_string(),
            Anomaly::BdatBadSize { line } => {
                format!("bad chunk size in {}", short(&escape_bytes(line), 60))
            }
            Anomaly::BdatZeroWithoutLast => "BDAT 0 without LAST".to_string(),
            _ => continue,
        };
        if !what.contains(&w) {
            what.push(w);
        }
        f = f.frame(a.frame);
        if let Some(i) = event_at_frame(s, a.frame, Some(crate::model::TimelineKind::Command)) {
            f = f.event(s, i);
        }
    }
    if what.is_empty() {
        return;
    }
    f.summary = what.join("; ");
    out.push(f);
}
