//! AUTH failure runs, within a session and across sessions from one client
//! address: brute force (many secrets), spraying (many users), a stale
//! client (one credential repeated), and success after a failure run.
//!
//! Two things keep users behind one address (an office NAT, a webmail
//! front end) from looking like an attack: a run is forgotten after
//! [`WINDOW_NANOS`] without failures, and a user who fails fewer than
//! [`THRESHOLD`] times and then logs in made typos, which no longer count.

use std::net::IpAddr;

use super::Severity::*;
use super::*;

pub static BRUTE: RuleInfo = RuleInfo {
    id: "auth-bruteforce",
    group: "credentials",
    severities: &[High],
    trigger: "3 or more failed AUTH attempts with differing credentials from one client address (in one session or across sessions less than an hour apart)",
    explanation: "Repeated failures with changing passwords are password guessing; servers should slow down or disconnect such clients.",
    references: &["RFC 4954 §6 (535 5.7.8), §9", "sendmail 8.10.1 AUTH delay"],
};
pub static SPRAY: RuleInfo = RuleInfo {
    id: "auth-password-spray",
    group: "credentials",
    severities: &[High],
    trigger: "Failed AUTH attempts for 3 or more different user names from one client address, less than an hour apart (a user who then logs in after fewer than 3 failures made typos and is not counted)",
    explanation: "Few passwords tried against many accounts avoid per-account lockouts: a password spraying attack.",
    references: &["RFC 4954 §9", "MITRE ATT&CK T1110.003"],
};
pub static STALE: RuleInfo = RuleInfo {
    id: "auth-stale-credentials",
    group: "credentials",
    severities: &[Low],
    trigger: "3 or more failed AUTH attempts from one client address, all with the identical credential",
    explanation: "The same rejected credential retried is typically a client with an outdated saved password, not guessing; it still locks accounts and fills logs.",
    references: &["RFC 4954 §9"],
};
pub static SUCCESS_AFTER: RuleInfo = RuleInfo {
    id: "auth-success-after-failures",
    group: "credentials",
    severities: &[Critical],
    trigger: "A successful AUTH (235) from a client address after 3 or more failed attempts with other credentials",
    explanation: "A guessing run that ends in success means an account is probably compromised.",
    references: &["RFC 4954 §6, §9"],
};

pub static INFOS: &[&RuleInfo] = &[&BRUTE, &SPRAY, &STALE, &SUCCESS_AFTER];

/// Failures before a finding.
const THRESHOLD: u32 = 3;
/// Distinct users/credentials remembered per client.
const MAX_DISTINCT: usize = 64;
/// A failure run ends after this long without a failure (capture time).
pub const WINDOW_NANOS: i64 = 3600 * 1_000_000_000;

#[derive(Default)]
struct Client {
    failures: u32,
    /// Failures per user name (decoded ones), for typo forgiveness.
    users: Vec<(String, u32)>,
    creds: Vec<u64>,
    raised: [bool; 4],
    last_failure: Option<crate::capture::Timestamp>,
}

impl Client {
    fn fail(&mut self, user: Option<&String>) {
        self.failures += 1;
        let Some(u) = user else { return };
        if let Some((_, k)) = self.users.iter_mut().find(|(n, _)| n == u) {
            *k += 1;
        } else if self.users.len() < MAX_DISTINCT {
            self.users.push((u.clone(), 1));
        }
    }

    fn failures_of(&self, user: Option<&String>) -> u32 {
        user.and_then(|u| self.users.iter().find(|(n, _)| n == u))
            .map_or(0, |(_, k)| *k)
    }

    /// A user who got in after fewer than THRESHOLD failures mistyped.
    fn forgive(&mut self, user: Option<&String>) {
        let k = self.failures_of(user);
        if k > 0 && k < THRESHOLD {
            self.failures -= k.min(self.failures);
            self.users.retain(|(n, _)| Some(n) != user);
        }
    }
}

#[derive(Default)]
pub struct State {
    clients: Tracker<IpAddr, Client>,
}

fn push_capped<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if v.len() < MAX_DISTINCT && !v.contains(&x) {
        v.push(x);
    }
}

impl State {
    pub fn evicted(&self) -> u64 {
        self.clients.evicted()
    }

    pub fn check(&mut self, s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
        let Some(auth) = &s.auth else { return };
        let c = self.clients.entry(&s.client.ip());
        if c.last_failure
            .is_some_and(|t| s.start.since(t) > WINDOW_NANOS)
        {
            // A new run: what came before is too old to be part of it.
            *c = Client::default();
        }
        let mut failed_here = Vec::new();
        for a in &auth.history {
            match a.success {
                // 525 (account disabled) is not a guess.
                Some(false) if a.code.map(|c| c.0) != Some(525) => {
                    c.fail(a.user.as_ref());
                    c.last_failure = Some(s.start);
                    if let Some(k) = a.credential {
                        push_capped(&mut c.creds, k);
                    }
                    failed_here.push(a);
                }
                Some(true) => {
                    // Guessing this user's password, or others' before it;
                    // not a few typos of this user among others' typos.
                    let own = c.failures_of(a.user.as_ref());
                    let guessed = own >= THRESHOLD || c.failures.saturating_sub(own) >= THRESHOLD;
                    let repeated = a.credential.is_some_and(|k| c.creds == [k]);
                    c.forgive(a.user.as_ref());
                    if guessed && !repeated && !c.raised[3] {
                        c.raised[3] = true;
                        let summary = format!(
                            "AUTH {} for user {} from {} succeeded after {} failed attempts",
                            wire(&a.mechanism),
                            a.user
                                .as_deref()
                                .map(wire)
                                .unwrap_or_else(|| "(not decoded)".into()),
                            s.client.ip(),
                            c.failures
                        );
                        let mut f =
                            Finding::new(&SUCCESS_AFTER, Critical, summary, s).frame(a.frame);
                        if let Some(e) = a.event {
                            f = f.event(s, e);
                        }
                        out.push(f);
                    }
                }
                _ => {}
            }
        }
        if failed_here.is_empty() || c.failures < THRESHOLD {
            return;
        }
        let evidence = |f: Finding| {
            failed_here.iter().fold(f, |f, a| {
                let f = f.frame(a.frame);
                match a.event {
                    Some(e) => f.event(s, e),
                    None => f,
                }
            })
        };
        let users: Vec<String> = c.users.iter().take(5).map(|(u, _)| wire(u)).collect();
        let (which, info, sev) = if c.creds.len() == 1 {
            (2, &STALE, Low)
        } else if c.users.len() >= THRESHOLD as usize {
            (1, &SPRAY, High)
        } else {
            (0, &BRUTE, High)
        };
        if c.raised[which] {
            return;
        }
        c.raised[which] = true;
        let summary = match which {
            2 => format!(
                "{} failed AUTH attempts from {} all repeat one credential for user {} (a stale saved password?)",
                c.failures,
                s.client.ip(),
                users.first().map(String::as_str).unwrap_or("(not decoded)")
            ),
            1 => format!(
                "{} failed AUTH attempts from {} across {} user names: {}",
                c.failures,
                s.client.ip(),
                c.users.len(),
                users.join(", ")
            ),
            _ => format!(
                "{} failed AUTH attempts from {} with {} different credentials for user {}",
                c.failures,
                s.client.ip(),
                c.creds.len().max(1),
                if users.is_empty() { "(not decoded)".to_string() } else { users.join(", ") }
            ),
        };
        out.push(evidence(Finding::new(info, sev, summary, s)));
    }
}
