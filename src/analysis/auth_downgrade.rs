//! AUTH down-negotiation: a challenge mechanism abandoned for a plaintext
//! one in one session, or a server that advertised challenge mechanisms in
//! an earlier session and now offers only plaintext ones (RFC 4954 §4: a
//! client may compare the lists to detect an active down-negotiation).

use super::Severity::*;
use super::*;
use crate::model::Service;

pub static INFO: RuleInfo = RuleInfo {
    id: "auth-mechanism-downgrade",
    group: "credentials",
    severities: &[Medium],
    trigger: "AUTH with a challenge mechanism (CRAM-MD5, DIGEST-MD5, NTLM, SCRAM, GSSAPI) cancelled or refused, then AUTH PLAIN or LOGIN in the same session; or a server's EHLO reply offering only PLAIN/LOGIN after it offered a challenge mechanism in an earlier session",
    explanation: "An attacker who breaks the stronger exchange can make the client fall back to a mechanism that reveals the password.",
    references: &["RFC 4954 §4 (down-negotiation)", "curl SASL downgrade tests 935/936"],
};

fn strong(m: &str) -> bool {
    matches!(m, "CRAM-MD5" | "DIGEST-MD5" | "NTLM" | "GSSAPI") || m.starts_with("SCRAM-")
}

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    let Some(auth) = &s.auth else { return };
    let h = &auth.history;
    let Some(i) = h
        .iter()
        .position(|a| strong(&a.mechanism) && (a.cancelled || a.success == Some(false)))
    else {
        return;
    };
    let Some(j) = h[i + 1..]
        .iter()
        .position(|a| matches!(a.mechanism.as_str(), "PLAIN" | "LOGIN"))
        .map(|j| j + i + 1)
    else {
        return;
    };
    let summary = format!(
        "AUTH {} was {} and the client then used AUTH {} for user {}",
        wire(&h[i].mechanism),
        if h[i].cancelled {
            "cancelled"
        } else {
            "refused"
        },
        wire(&h[j].mechanism),
        h[j].user
            .as_deref()
            .map(wire)
            .unwrap_or_else(|| "(not decoded)".into())
    );
    let f = Finding::new(&INFO, Medium, summary, s)
        .events(s, h[i].event.into_iter().chain(h[j].event))
        .frame(h[i].frame)
        .frame(h[j].frame);
    out.push(f);
}

/// Challenge mechanisms remembered per server.
const MAX_MECHS: usize = 8;

#[derive(Default)]
struct Server {
    /// Challenge mechanisms seen advertised, and the session that last did.
    strong: Vec<String>,
    seen_in: u64,
}

/// The cross-session baseline of what each server advertised.
#[derive(Default)]
pub struct State {
    servers: Tracker<Service, Server>,
}

impl State {
    pub fn evicted(&self) -> u64 {
        self.servers.evicted()
    }

    pub fn check(&mut self, s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
        let Some((_, reply)) = s.ehlo_reply() else {
            return;
        };
        let mechs = &s.capabilities.auth;
        if mechs.is_empty() {
            return;
        }
        let srv = self.servers.entry(&s.service());
        let strong_now: Vec<&String> = mechs.iter().filter(|m| strong(m)).collect();
        if !strong_now.is_empty() {
            for m in strong_now {
                if srv.strong.len() < MAX_MECHS && !srv.strong.contains(m) {
                    srv.strong.push(m.clone());
                }
            }
            srv.seen_in = s.id.0;
            return;
        }
        if srv.strong.is_empty() {
            return;
        }
        let summary = format!(
            "{} offered {} in session #{} but only {} in this session's EHLO reply",
            s.service(),
            srv.strong
                .iter()
                .map(|m| wire(m))
                .collect::<Vec<_>>()
                .join(" "),
            srv.seen_in,
            mechs.iter().map(|m| wire(m)).collect::<Vec<_>>().join(" ")
        );
        out.push(Finding::new(&INFO, Medium, summary, s).event(s, reply));
    }
}
