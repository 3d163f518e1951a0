//! Server software named in the greeting, EHLO or HELP reply.

use super::Severity::*;
use super::*;
use crate::model::TimelineKind;

pub static INFO: RuleInfo = RuleInfo {
    id: "banner-version-disclosure",
    group: "disclosure",
    severities: &[Info],
    trigger: "The greeting, EHLO first line or a 214 reply names the server software (Postfix, Exim, Sendmail, Exchange, ...); the version too when one follows",
    explanation: "Software and version tell an attacker which known vulnerabilities to try (e.g. Exim 4.87-4.91 and CVE-2019-10149).",
    references: &["RFC 5321 §3.1, §7.5"],
};

const PRODUCTS: &[&str] = &[
    "postfix",
    "exim",
    "sendmail",
    "microsoft esmtp",
    "exchange",
    "qmail",
    "opensmtpd",
    "hmailserver",
    "mdaemon",
    "zimbra",
    "haraka",
    "python smtp",
    "aiosmtpd",
    "courier",
    "kerio",
    "communigate",
    "axigen",
    "surgemail",
    "mercury",
    "ironport",
    "smtpd",
];

fn version(text: &str) -> Option<&str> {
    text.split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ';' || c == ',')
        .find(|w| {
            let b = w.as_bytes();
            b.first().is_some_and(u8::is_ascii_digit)
                && w.contains('.')
                && w.chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
                && w.split('.').count() <= 4
                && !w
                    .split('.')
                    .all(|p| p.parse::<u8>().is_ok() && w.split('.').count() == 4)
        })
}

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    for (i, t) in s.timeline.iter().enumerate() {
        let candidate = t.kind == TimelineKind::Greeting
            || (t.kind == TimelineKind::Reply && matches!(code_of(t), Some(214)))
            || (t.kind == TimelineKind::Reply
                && t.answers.and_then(|a| s.timeline.get(a)).is_some_and(|c| {
                    c.lines
                        .first()
                        .is_some_and(|l| l.to_ascii_uppercase().starts_with("EHLO"))
                }));
        if !candidate {
            continue;
        }
        let line = t.lines.first().map(String::as_str).unwrap_or("");
        let text = line.get(4..).unwrap_or("");
        // An enhanced status code ("2.0.0 ") is not a software version.
        let text = match text.split_once(' ') {
            Some((first, rest))
                if crate::smtp::reply::EnhancedCode::parse_prefix(first.as_bytes()).is_some() =>
            {
                rest
            }
            _ => text,
        };
        let lower = text.to_ascii_lowercase();
        let product = PRODUCTS.iter().find(|p| lower.contains(*p));
        let ver = version(text);
        if product.is_none() {
            continue;
        }
        let summary = format!(
            "{} names its software{}: {}",
            s.service(),
            ver.map(|v| format!(" and version {v}")).unwrap_or_default(),
            short(text, 100)
        );
        out.push(Finding::new(&INFO, Info, summary, s).event(s, i));
        return;
    }
}
