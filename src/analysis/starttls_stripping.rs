//! STARTTLS stripping indicators: the keyword missing for a server that
//! offered it in an earlier session, or advertised and then answered as
//! an unknown command (RFC 5321 §4.2.4 forbids that combination).

use super::Severity::*;
use super::*;
use crate::model::Service;

pub static INFO: RuleInfo = RuleInfo {
    id: "starttls-stripping-indicator",
    group: "tls",
    severities: &[High],
    trigger: "STARTTLS missing from an EHLO reply of a server that offered it in an earlier session, STARTTLS advertised but answered 500/502, or a 220 to STARTTLS followed by plaintext SMTP in both directions",
    explanation: "An on-path attacker (or a middlebox) deleting STARTTLS keeps the session in clear without either side noticing.",
    references: &["RFC 3207 §6", "RFC 5321 §4.2.4", "Durumeric et al., IMC 2015", "RFC 8461 (MTA-STS)"],
};

#[derive(Default)]
struct Server {
    /// Session that last showed STARTTLS.
    offered_in: Option<u64>,
}

#[derive(Default)]
pub struct State {
    servers: Tracker<Service, Server>,
}

impl State {
    pub fn evicted(&self) -> u64 {
        self.servers.evicted()
    }

    pub fn check(&mut self, s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
        // (b) advertised, then refused as unknown.
        if s.capabilities.starttls {
            for c in s.commands().filter(|c| c.verb == "STARTTLS") {
                if let Some((r, code @ (500 | 502))) = c.reply(s) {
                    let summary = format!(
                        "{} advertised STARTTLS but answered it {code} (not recognized)",
                        s.service()
                    );
                    out.push(
                        Finding::new(&INFO, High, summary, s)
                            .event(s, c.idx)
                            .event(s, r),
                    );
                }
            }
        }
        let Some((_, reply)) = s.ehlo_reply() else {
            return;
        };
        let srv = self.servers.entry(&s.service());
        if s.capabilities.starttls {
            srv.offered_in = Some(s.id.0);
            return;
        }
        if let Some(earlier) = srv.offered_in {
            let summary = format!(
                "{} offered STARTTLS in session #{earlier} but not in this session's EHLO reply",
                s.service()
            );
            out.push(Finding::new(&INFO, High, summary, s).event(s, reply));
        }
    }
}
