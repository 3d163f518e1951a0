//! HELO/EHLO names that are not what RFC 5321 asks for.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "helo-anomaly",
    group: "recon",
    severities: &[Low],
    trigger: "EHLO/HELO with an empty name, localhost, a bare IP address without brackets, a name without a dot, the server's own banner name, or several different names in one session",
    explanation: "Spam bots and scanners often send fake or lazy HELO names; claiming the server's own name is a classic forgery.",
    references: &["RFC 5321 §4.1.1.1, §4.1.3, §4.1.4"],
};

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let hellos: Vec<_> = s
        .commands()
        .filter(|c| c.verb == "EHLO" || c.verb == "HELO")
        .collect();
    let Some(first) = hellos.first() else { return };
    let name = first.arg.trim();
    let banner = s
        .greeting
        .as_ref()
        .map(|g| g.lossy())
        .and_then(|g| {
            g.split_whitespace().next().map(|w| {
                w.trim_start_matches(|c: char| c.is_ascii_digit() || c == '-')
                    .to_ascii_lowercase()
            })
        })
        .unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    let why = if name.is_empty() {
        Some("an empty name".to_string())
    } else if lower == "localhost" || lower.starts_with("localhost.") {
        Some("localhost".to_string())
    } else if name.parse::<std::net::IpAddr>().is_ok() {
        Some("a bare IP address without [brackets]".to_string())
    } else if !banner.is_empty() && lower == banner {
        Some("the server's own name".to_string())
    } else if !name.starts_with('[') && !name.contains('.') {
        Some("a name without a dot".to_string())
    } else {
        None
    };
    let mut names: Vec<&str> = hellos.iter().map(|c| c.arg.trim()).collect();
    names.sort_unstable();
    names.dedup();
    let why = why.or_else(|| (names.len() > 1).then(|| format!("{} different names", names.len())));
    let Some(why) = why else { return };
    let summary = format!("{} {} is {why}", first.verb, short(name, 80));
    out.push(Finding::new(&INFO, Low, summary, s).events(s, hellos.iter().map(|c| c.idx)));
}
