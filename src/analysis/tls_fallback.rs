//! A failed TLS handshake followed by a cleartext session from the same
//! client to the same server.

use std::net::IpAddr;

use super::Severity::*;
use super::*;
use crate::capture::Timestamp;
use crate::model::Service;

pub static INFO: RuleInfo = RuleInfo {
    id: "tls-fallback-to-plaintext",
    group: "tls",
    severities: &[Low, High],
    trigger: "STARTTLS accepted but the handshake failed (the server sent under 100 TLS bytes), then within 10 minutes the same client sends MAIL or AUTH to the same server without STARTTLS; low on relay ports, high on submission ports or with AUTH",
    explanation: "Falling back to plaintext after a broken handshake is what an attacker who breaks the handshake wants; MTAs do it by design (opportunistic TLS), submission clients should not.",
    references: &["RFC 3207 §6", "RFC 8461 (MTA-STS)", "RFC 8689 (REQUIRETLS)"],
};

/// How long a failed handshake is remembered.
const WINDOW_NANOS: i64 = 600 * 1_000_000_000;
/// A server that sent fewer TLS bytes did not complete a handshake.
const MIN_HANDSHAKE_BYTES: u64 = 100;

#[derive(Default)]
struct Failed {
    session: u64,
    at: Option<Timestamp>,
}

#[derive(Default)]
pub struct State {
    failed: Tracker<(IpAddr, Service), Failed>,
}

impl State {
    pub fn evicted(&self) -> u64 {
        self.failed.evicted()
    }

    pub fn check(&mut self, s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
        let key = (s.client.ip(), s.service());
        if s.tls.started && !s.tls.implicit && s.tls.bytes[1] < MIN_HANDSHAKE_BYTES {
            let e = self.failed.entry(&key);
            e.session = s.id.0;
            e.at = Some(s.end.unwrap_or(s.last_ts));
            return;
        }
        if s.tls.starttls_command {
            return;
        }
        let Some(Failed {
            session,
            at: Some(at),
        }) = self.failed.get(&key)
        else {
            return;
        };
        if s.start.since(*at) > WINDOW_NANOS {
            return;
        }
        let Some(cmd) = s.first_command(&["AUTH", "MAIL"]) else {
            return;
        };
        let sev = if cmd.verb == "AUTH" || is_submission_port(s.service_port()) {
            High
        } else {
            Low
        };
        let summary = format!(
            "TLS failed in session #{session}; the client came back to {} and sent {} in clear",
            s.service(),
            cmd.verb
        );
        let session = *session;
        let f = Finding::new(&INFO, sev, summary, s).event(s, cmd.idx);
        out.push(f);
        self.failed.entry(&key).at = None;
        let _ = session;
    }
}
