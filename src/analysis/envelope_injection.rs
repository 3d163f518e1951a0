//! Shell metacharacters or expansion syntax in envelope addresses.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "envelope-injection-payload",
    group: "dangerous-commands",
    severities: &[Critical],
    trigger: "A MAIL FROM or RCPT TO path containing ; ` | $( or ${",
    explanation: "Such addresses exploit MTAs that pass envelope addresses to a shell or an expansion engine (OpenSMTPD, Exim): remote command execution.",
    references: &["CVE-2020-7247", "CVE-2019-10149", "Terada, SMTP Injection via recipient email addresses (2015)"],
};

const META: &[&str] = &[";", "`", "|", "$(", "${"];

/// The path part of `FROM:<path> params`: parameters (e.g. DSN ORCPT=rfc822;...) legitimately hold `;`.
fn path(arg: &str) -> &str {
    let after = arg.split_once(':').map(|x| x.1).unwrap_or(arg).trim_start();
    match after.strip_prefix('<') {
        Some(rest) => rest.rsplit_once('>').map(|x| x.0).unwrap_or(rest),
        None => after.split(' ').next().unwrap_or(after),
    }
}

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    for c in s
        .commands()
        .filter(|c| c.verb == "MAIL" || c.verb == "RCPT")
    {
        let p = path(c.arg);
        let Some(m) = META.iter().find(|m| p.contains(*m)) else {
            continue;
        };
        let summary = format!(
            "{} path carries shell/expansion syntax {m:?}: {}",
            c.verb,
            short(p, 100)
        );
        let mut f = Finding::new(&INFO, Critical, summary, s).event(s, c.idx);
        if let Some((r, _)) = c.reply(s) {
            f = f.event(s, r);
        }
        out.push(f);
    }
}
