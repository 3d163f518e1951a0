//! Cross-check against other decoders' expected outputs that sit beside the
//! public captures in `../shared/captures`: suricata-verify `test.yaml`
//! (filters on `event_type: smtp` / `fileinfo` with `smtp.*` and `email.*`
//! keys) and Arkime `*.test` JSON (`email.smtpHello`, `src`, `dst`,
//! `subject`, `filename`). For each expectation we look for it in
//! smtpscope's decode of the same capture: helo, MAIL FROM, RCPT TO,
//! subject and attachment names.
//!
//! Normalisation: angle brackets dropped, addresses and HELO names compared
//! case-insensitively (Arkime lowercases them), subjects trimmed (Arkime
//! keeps a leading space). Suricata filters that only hold for old versions
//! (`requires: lt-version`) and negative filters (`count: 0`) are skipped:
//! we compare with what the newest peer decodes. A Suricata filter passes
//! when one transaction of one session (the session with `src_port`, when
//! given) carries every checked field; `tx_id` is not used because
//! Suricata numbers transactions differently (a HELO-only exchange is a
//! transaction there).
//!
//! Every mismatch is either fixed here or listed in `ALLOWED` with why.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use smtpscope::output::json::session_json;
use smtpscope::output::OutputOptions;

/// Known, explained differences: (part of the expectation source, field prefix, reason).
/// The field is the peer's key (`smtp.mail_from`, `email.src`, ...).
const ALLOWED: &[(&str, &str, &str)] = &[
    // --- the peer differs on purpose ---
    ("smtp-subject-multi-nospace.test:58802", "email.subject",
     "Arkime keeps the folding whitespace between adjacent encoded-words; RFC 2047 §6.2 drops it, and we do"),
    ("mime/mime-dec-parse-long-filename01/test.yaml", "email.attachment",
     "Suricata caps the logged file name (its value stops mid-word, '...12c'); we keep the whole name"),
    ("smtp-long-command/test.yaml", "smtp.helo",
     "over-long EHLO line (8 KB): Suricata logs its own cut of the line (ending in \\r); we keep a different cut"),
    ("arkime_synthetic.test:49401", "session", "IMAP on port 143: Arkime fills email.* from IMAP too; not SMTP"),
    ("arkime_synthetic.test:49600", "session", "IMAP on port 143: Arkime fills email.* from IMAP too; not SMTP"),
    ("arkime_synthetic.test:54323", "email.src",
     "EHLO and MAIL FROM get no reply (only the greeting): Arkime logs the MAIL argument, we make a transaction only for a MAIL the server accepted (README)"),
    ("smtp-decrypted.test:", "email.",
     "Arkime decrypted the TLS sessions with their keys; smtpscope does not decrypt, the mail after STARTTLS is opaque to it"),
    ("smtp-moloch-bof.test:50328", "email.filename",
     "Arkime caps the file name at 4095 bytes; ours is the whole (longer) name"),
    ("smtp-subject-windows.test:40531", "email.subject",
     "raw 0x92 byte in an unlabelled header: Arkime guesses windows-1252; we replace invalid UTF-8 with U+FFFD (README)"),
];

/// One decoded session, reduced to what peers report.
#[derive(Debug, Default)]
struct Decoded {
    client_port: u16,
    helo: Option<String>,
    txns: Vec<Txn>,
}

#[derive(Debug, Default)]
struct Txn {
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
    subject: Option<String>,
    from: Vec<String>,
    to: Vec<String>,
    attachments: Vec<String>,
}

fn decode(path: &Path) -> Vec<Decoded> {
    let (sessions, _) = common::decode(&[path.display().to_string()]);
    let opts = OutputOptions::default();
    sessions
        .iter()
        .map(|s| {
            let v = session_json(s, &opts);
            let txns = v["transactions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| {
                    let m = &t["message"];
                    let strs = |x: &Value| -> Vec<String> {
                        x.as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|a| a.as_str().map(String::from))
                            .collect()
                    };
                    Txn {
                        mail_from: t["mail_from"].as_str().map(String::from),
                        rcpt_to: t["rcpt_to"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|r| r["address"].as_str().map(String::from))
                            .collect(),
                        subject: m["subject"].as_str().map(String::from),
                        from: m["from"]
                            .as_str()
                            .map(|f| vec![f.to_string()])
                            .unwrap_or_default(),
                        to: strs(&m["to"]),
                        attachments: m["attachments"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|a| a["filename"].as_str().map(String::from))
                            .collect(),
                    }
                })
                .collect();
            Decoded {
                client_port: s.client.port(),
                helo: v["helo"].as_str().map(String::from),
                txns,
            }
        })
        .collect()
}

/// `Name <a@b>` or `<a@b>` or `a@b` -> `a@b`, lowercased.
fn addr(s: &str) -> String {
    let s = s.trim();
    let inner = match (s.rfind('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        _ => s,
    };
    inner.trim().to_lowercase()
}

#[derive(Default)]
struct Tally {
    files: BTreeMap<String, usize>,
    fields: usize,
    allowed: Vec<String>,
    failures: Vec<String>,
}

impl Tally {
    fn result(&mut self, source: &str, field: &str, ok: bool, detail: String) {
        self.fields += 1;
        *self.files.entry(source.to_string()).or_default() += 1;
        if ok {
            return;
        }
        match ALLOWED
            .iter()
            .find(|(f, k, _)| source.contains(f) && field.starts_with(k))
        {
            Some((_, _, why)) => self.allowed.push(format!("{source} {field}: {why}")),
            None => self
                .failures
                .push(format!("{source} {field}: {}", cut(&detail))),
        }
    }
}

/// Long peer values (a 16 KB HELO, a 5 KB file name) make unreadable
/// failure messages: keep the start.
fn cut(s: &str) -> String {
    if s.chars().count() <= 300 {
        return s.to_string();
    }
    let head: String = s.chars().take(300).collect();
    format!("{head}... ({} chars)", s.chars().count())
}

// ---------------------------------------------------------------- Suricata

/// A YAML scalar as suricata-verify writes them: plain, '...' or "...".
fn scalar(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        return v[1..v.len() - 1].replace("''", "'");
    }
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        return v[1..v.len() - 1].replace("\\\"", "\"");
    }
    v.to_string()
}

/// The filters of a test.yaml, each as its flat `key: value` pairs (keys
/// are unique inside a filter, so nesting under `match:` and `requires:`
/// can be flattened), plus the top-level `pcap:`.
fn parse_test_yaml(text: &str) -> (Option<String>, Vec<BTreeMap<String, String>>) {
    let mut pcap = None;
    let mut filters = Vec::new();
    let mut current: Option<(usize, BTreeMap<String, String>)> = None;
    for line in text.lines() {
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let indent = line.len() - body.len();
        if indent == 0 {
            if let Some(v) = body.strip_prefix("pcap:") {
                pcap = Some(scalar(v));
            }
        }
        if let Some((ind, _)) = &current {
            if indent <= *ind {
                filters.push(current.take().expect("current").1);
            }
        }
        if body.starts_with("- filter:") {
            current = Some((indent, BTreeMap::new()));
            continue;
        }
        if let Some((_, map)) = &mut current {
            let kv = body.strip_prefix("- ").unwrap_or(body);
            if let Some((k, v)) = kv.split_once(": ") {
                map.insert(k.trim().to_string(), scalar(v));
            } else if let Some(k) = kv.strip_suffix(':') {
                map.insert(k.trim().to_string(), String::new());
            }
        }
    }
    if let Some((_, map)) = current {
        filters.push(map);
    }
    (pcap, filters)
}

fn find_files(dir: &Path, name: &dyn Fn(&str) -> bool, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            find_files(&p, name, out);
        } else if p.file_name().is_some_and(|f| name(&f.to_string_lossy())) {
            out.push(p);
        }
    }
}

fn suricata(root: &Path, tally: &mut Tally, cache: &mut BTreeMap<PathBuf, Vec<Decoded>>) {
    let mut yamls = Vec::new();
    find_files(
        &root.join("suricata-verify"),
        &|f| f == "test.yaml",
        &mut yamls,
    );
    for y in yamls {
        let text = std::fs::read_to_string(&y).expect("read test.yaml");
        let (pcap, filters) = parse_test_yaml(&text);
        let dir = y.parent().expect("dir");
        let capture = match pcap {
            Some(p) => dir.join(p),
            None => {
                let mut pcaps = Vec::new();
                find_files(
                    dir,
                    &|f| f.ends_with(".pcap") || f.ends_with(".pcapng"),
                    &mut pcaps,
                );
                pcaps.retain(|p| p.parent() == Some(dir));
                if pcaps.len() != 1 {
                    continue;
                }
                pcaps.remove(0)
            }
        };
        let source = y.strip_prefix(root).unwrap_or(&y).display().to_string();
        for f in filters {
            let count: u64 = f.get("count").and_then(|c| c.parse().ok()).unwrap_or(1);
            let event = f.get("event_type").map(String::as_str);
            if count == 0
                || f.contains_key("lt-version")
                || !matches!(event, Some("smtp" | "fileinfo"))
            {
                continue;
            }
            let checked: Vec<(&String, &String)> = f
                .iter()
                .filter(|(k, _)| {
                    k.as_str() == "smtp.helo"
                        || k.as_str() == "smtp.mail_from"
                        || k.starts_with("smtp.rcpt_to[")
                        || k.as_str() == "email.subject"
                        || k.starts_with("email.attachment[")
                })
                .collect();
            if checked.is_empty() {
                continue;
            }
            let decoded = cache
                .entry(capture.clone())
                .or_insert_with(|| decode(&capture));
            let port: Option<u16> = f.get("src_port").and_then(|p| p.parse().ok());
            let sessions: Vec<&Decoded> = decoded
                .iter()
                .filter(|s| port.is_none_or(|p| s.client_port == p))
                .collect();
            for (key, want) in &checked {
                // Each field alone, so a failure names the field; the
                // transaction must then carry all fields together.
                let ok = sessions.iter().any(|s| suricata_field(s, None, key, want));
                tally.result(
                    &source,
                    key,
                    ok,
                    format!("expected {want:?}; decoded {}", describe(&sessions)),
                );
            }
            let together = sessions.iter().any(|s| {
                let helo_ok = checked
                    .iter()
                    .filter(|(k, _)| k.as_str() == "smtp.helo")
                    .all(|(k, w)| suricata_field(s, None, k, w));
                let txn_keys: Vec<_> = checked
                    .iter()
                    .filter(|(k, _)| k.as_str() != "smtp.helo")
                    .collect();
                helo_ok
                    && (txn_keys.is_empty()
                        || s.txns.iter().any(|t| {
                            txn_keys
                                .iter()
                                .all(|(k, w)| suricata_field(s, Some(t), k, w))
                        }))
            });
            let all_fields_ok = checked
                .iter()
                .all(|(k, w)| sessions.iter().any(|s| suricata_field(s, None, k, w)));
            if all_fields_ok && !together {
                tally.failures.push(format!(
                    "{source}: every field is decoded, but not in one transaction: {checked:?}"
                ));
            }
        }
    }
}

/// Does session `s` (transaction `t`, or any transaction) carry `key: want`?
fn suricata_field(s: &Decoded, t: Option<&Txn>, key: &str, want: &str) -> bool {
    if key == "smtp.helo" {
        return s
            .helo
            .as_deref()
            .is_some_and(|h| h.eq_ignore_ascii_case(want));
    }
    let txns: Vec<&Txn> = match t {
        Some(t) => vec![t],
        None => s.txns.iter().collect(),
    };
    let index = |k: &str| -> usize {
        k.split_once('[')
            .and_then(|(_, r)| r.trim_end_matches(']').parse().ok())
            .unwrap_or(0)
    };
    txns.iter().any(|t| match key {
        "smtp.mail_from" => t
            .mail_from
            .as_deref()
            .is_some_and(|m| addr(m) == addr(want)),
        "email.subject" => t.subject.as_deref().map(str::trim) == Some(want.trim()),
        k if k.starts_with("smtp.rcpt_to[") => t
            .rcpt_to
            .get(index(k))
            .is_some_and(|r| addr(r) == addr(want)),
        k if k.starts_with("email.attachment[") => {
            t.attachments.get(index(k)).map(String::as_str) == Some(want)
        }
        _ => false,
    })
}

fn describe(sessions: &[&Decoded]) -> String {
    let parts: Vec<String> = sessions
        .iter()
        .map(|s| {
            let t: Vec<String> = s
                .txns
                .iter()
                .map(|t| {
                    format!(
                        "{{from {:?} rcpt {:?} subject {:?} att {:?}}}",
                        t.mail_from, t.rcpt_to, t.subject, t.attachments
                    )
                })
                .collect();
            format!("[port {} helo {:?} {}]", s.client_port, s.helo, t.join(" "))
        })
        .collect();
    if parts.is_empty() {
        "no session".into()
    } else {
        parts.join(" ")
    }
}

// ------------------------------------------------------------------ Arkime

fn arkime(root: &Path, tally: &mut Tally, cache: &mut BTreeMap<PathBuf, Vec<Decoded>>) {
    let mut tests = Vec::new();
    find_files(&root.join("arkime"), &|f| f.ends_with(".test"), &mut tests);
    for test in tests {
        let capture = test.with_extension("pcap");
        if !capture.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&test).expect("read .test");
        let json: Value = serde_json::from_str(&text).expect(".test is JSON");
        let source = test
            .strip_prefix(root)
            .unwrap_or(&test)
            .display()
            .to_string();
        for sess in json["sessions3"].as_array().into_iter().flatten() {
            let body = &sess["body"];
            let email = &body["email"];
            if !email.is_object() {
                continue;
            }
            let port = body["source"]["port"].as_u64().unwrap_or(0) as u16;
            let list = |k: &str| -> Vec<String> {
                email[k]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            };
            let decoded = cache
                .entry(capture.clone())
                .or_insert_with(|| decode(&capture));
            let ours = decoded.iter().find(|s| s.client_port == port);
            let src = format!("{source}:{port}");
            let Some(ours) = ours else {
                tally.result(
                    &src,
                    "session",
                    false,
                    format!("no SMTP session from client port {port}"),
                );
                continue;
            };
            let lower = |v: Vec<String>| -> Vec<String> { v.iter().map(|x| addr(x)).collect() };
            let helo = list("smtpHello");
            if !helo.is_empty() {
                let got = ours.helo.as_deref().map(str::to_lowercase);
                let ok = helo.iter().all(|h| Some(h.to_lowercase()) == got);
                tally.result(&src, "email.smtpHello", ok, format!("{helo:?} vs {got:?}"));
            }
            // Arkime's src/dst merge the envelope with the From/To headers.
            let env_from: Vec<String> = ours
                .txns
                .iter()
                .filter_map(|t| t.mail_from.as_deref())
                .map(addr)
                .collect();
            let hdr_from: Vec<String> = ours
                .txns
                .iter()
                .flat_map(|t| t.from.iter())
                .map(|x| addr(x))
                .collect();
            let env_to: Vec<String> = ours
                .txns
                .iter()
                .flat_map(|t| t.rcpt_to.iter())
                .map(|x| addr(x))
                .collect();
            let hdr_to: Vec<String> = ours
                .txns
                .iter()
                .flat_map(|t| t.to.iter())
                .map(|x| addr(x))
                .collect();
            for (key, peer, env, hdr) in [
                ("email.src", lower(list("src")), &env_from, &hdr_from),
                ("email.dst", lower(list("dst")), &env_to, &hdr_to),
            ] {
                if peer.is_empty() {
                    continue;
                }
                let covered = peer.iter().all(|p| env.contains(p) || hdr.contains(p));
                let envelope_in = env.iter().all(|e| peer.contains(e));
                tally.result(
                    &src,
                    key,
                    covered && envelope_in,
                    format!("peer {peer:?}; envelope {env:?}, headers {hdr:?}"),
                );
            }
            let subjects = list("subject");
            if !subjects.is_empty() {
                let got: Vec<&str> = ours
                    .txns
                    .iter()
                    .filter_map(|t| t.subject.as_deref())
                    .map(str::trim)
                    .collect();
                let ok = subjects.iter().all(|s| got.contains(&s.trim()));
                tally.result(
                    &src,
                    "email.subject",
                    ok,
                    format!("{subjects:?} vs {got:?}"),
                );
            }
            let names = list("filename");
            let got: Vec<&str> = ours
                .txns
                .iter()
                .flat_map(|t| t.attachments.iter())
                .map(String::as_str)
                .collect();
            if !names.is_empty() || !got.is_empty() {
                let ok = names.iter().all(|n| got.contains(&n.as_str()))
                    && got.iter().all(|g| names.iter().any(|n| n == g));
                tally.result(&src, "email.filename", ok, format!("{names:?} vs {got:?}"));
            }
        }
    }
}

#[test]
fn peers_expected_smtp_fields_match_our_decode() {
    let Some(root) = common::shared_captures() else {
        return;
    };
    let mut tally = Tally::default();
    let mut cache = BTreeMap::new();
    suricata(&root, &mut tally, &mut cache);
    arkime(&root, &mut tally, &mut cache);
    eprintln!(
        "cross-checked {} fields from {} expectation sets over {} captures; {} allowed differences",
        tally.fields,
        tally.files.len(),
        cache.len(),
        tally.allowed.len()
    );
    for a in &tally.allowed {
        eprintln!("  allowed: {a}");
    }
    assert!(
        tally.failures.is_empty(),
        "{} mismatches with peers' expected output:\n{}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
    assert!(
        tally.fields > 100,
        "too few fields cross-checked: {}",
        tally.fields
    );
}

#[test]
fn test_yaml_filters_parse_flat() {
    let (pcap, f) = parse_test_yaml(
        "pcap: ../x/input.pcap\nchecks:\n- filter:\n    count: 1\n    requires:\n      lt-version: 8\n    match:\n      smtp.helo: GP\n      email.from: '\"A\" <a@b>'\n- filter:\n    match:\n      smtp.rcpt_to[0]: <r@x>\n",
    );
    assert_eq!(pcap.as_deref(), Some("../x/input.pcap"));
    assert_eq!(f.len(), 2);
    assert_eq!(f[0]["smtp.helo"], "GP");
    assert_eq!(f[0]["email.from"], "\"A\" <a@b>");
    assert!(f[0].contains_key("lt-version"));
    assert_eq!(f[1]["smtp.rcpt_to[0]"], "<r@x>");
    assert_eq!(addr("\"A\" <A@B.test>"), "a@b.test");
}
