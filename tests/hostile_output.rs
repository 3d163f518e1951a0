//! A capture written by an attacker (issue 7): terminal escape sequences
//! (CSI, OSC 8 hyperlinks, OSC 52 clipboard writes), a one-byte C1 CSI,
//! bidi controls and NULs in commands, replies, headers and attachment
//! names; attachment names that try to leave the export directory. The
//! text transcript, JSON Lines and the TUI must show all of it escaped, and
//! `--export` must write only inside its directory.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use common::{addr, conversation, scratch, write_pcap};
use smtpscope::capture::LinkType;
use smtpscope::net::Dir;
use smtpscope::tui::action::Action;
use smtpscope::tui::testing::{load_files, render_to_string};

const OSC8: &str = "\u{1b}]8;;https://evil.example/\u{1b}\\click\u{1b}]8;;\u{1b}\\";
const OSC52: &str = "\u{1b}]52;c;cm0gLXJmIH4K\u{7}";
const CSI: &str = "\u{1b}[2J\u{1b}[31m";
const C1_CSI: &str = "\u{9b}5m";
const RLO: &str = "\u{202e}";

/// Attachment names that must not choose where a file goes.
fn hostile_names() -> Vec<String> {
    vec![
        "../../etc/passwd".into(),
        "/etc/shadow".into(),
        "..\\..\\Windows\\system.ini".into(),
        "C:\\evil.exe".into(),
        "CON".into(),
        "NUL.txt".into(),
        format!("{}.pdf", "a".repeat(10_000)),
        format!("invoice{RLO}fdp.exe"),
        format!("{CSI}red.txt"),
    ]
}

fn message() -> Vec<u8> {
    let subject = format!("hello {OSC52}{RLO}txt.exe {C1_CSI}");
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut m = format!(
        "From: {CSI}boss@example.test\r\n\
         To: b@example.test\r\n\
         Subject: =?utf-8?b?{}?=\r\n\
         X-Mailer: {OSC8}\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\n\
         Content-Type: text/plain\r\n\r\n\
         body with a NUL \0 and {CSI}\r\n",
        b64.encode(subject)
    );
    for name in hostile_names() {
        m.push_str(&format!(
            "--b1\r\n\
             Content-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n\
             {}\r\n",
            b64.encode(b"MZ payload")
        ));
    }
    m.push_str("--b1--\r\n.\r\n");
    m.into_bytes()
}

fn capture(dir: &Path) -> PathBuf {
    use Dir::*;
    let greeting = format!("220 mx.example.test {OSC8} ESMTP\r\n");
    let ehlo = format!("EHLO {CSI}{OSC52}\r\n");
    let mail = format!("MAIL FROM:<a{OSC52}@client.test>\r\n");
    let reply = format!("250 2.1.0 ok {C1_CSI}{RLO}\r\n");
    let body = message();
    let script: Vec<(Dir, &[u8])> = vec![
        (ServerToClient, greeting.as_bytes()),
        (ClientToServer, ehlo.as_bytes()),
        (ServerToClient, b"250-mx.example.test\r\n250 8BITMIME\r\n"),
        (ClientToServer, mail.as_bytes()),
        (ServerToClient, reply.as_bytes()),
        (ClientToServer, b"RCPT TO:<b@example.test>\r\n"),
        (ServerToClient, b"250 2.1.5 Ok\r\n"),
        (ClientToServer, b"DATA\r\n"),
        (ServerToClient, b"354 go ahead\r\n"),
        (ClientToServer, &body),
        (ServerToClient, b"250 2.0.0 Ok: queued\r\n"),
        (ClientToServer, b"X\0\x1b]8;;x\x07 \xc2\x9b\r\n"),
        (ServerToClient, b"502 5.5.2 what\r\n"),
        (ClientToServer, b"QUIT\r\n"),
        (ServerToClient, b"221 2.0.0 Bye\r\n"),
    ];
    let pkts = conversation(
        addr("192.0.2.10:40000"),
        addr("198.51.100.25:25"),
        (1000, 5000),
        &script,
    );
    let path = dir.join("hostile.pcap");
    write_pcap(&path, LinkType::RAW, &pkts);
    path
}

/// No character that can act on a terminal: C0 (but newline), DEL, C1,
/// bidi and invisible format characters.
fn assert_terminal_safe(what: &str, text: &str) {
    if let Some((i, c)) = text
        .char_indices()
        .find(|&(_, c)| (c.is_control() && c != '\n') || smtpscope::output::escape::is_dangerous(c))
    {
        panic!(
            "{what}: raw U+{:04X} at byte {i}: {:?}",
            c as u32,
            &text[i.saturating_sub(40)..(i + 40).min(text.len())]
        );
    }
}

fn smtpscope(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_smtpscope"))
        .args(args)
        .output()
        .expect("run smtpscope");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("output is UTF-8"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn test_text_transcript_shows_escape_sequences_escaped() {
    let dir = scratch("hostile-text");
    let cap = capture(&dir);
    let (code, text, err) = smtpscope(&[
        "--format",
        "text",
        "--timeline",
        "--bodies",
        "--teach",
        cap.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_terminal_safe("text", &text);
    for shown in [
        "\\x1b]8;;https://evil.example/\\x1b\\\\click",
        "\\x1b]52;c;cm0gLXJmIH4K\\x07",
        "\\x1b[2J\\x1b[31m",
        "\\u{009b}5m",
        "\\u{202e}",
        "X\\0\\x1b]8;;x\\x07",
    ] {
        assert!(
            text.contains(shown),
            "{shown} not in the transcript:\n{text}"
        );
    }
}

#[test]
fn test_json_lines_escape_everything_and_keep_the_exact_text() {
    let dir = scratch("hostile-json");
    let cap = capture(&dir);
    let (code, out, err) = smtpscope(&["--format", "json", "--timeline", cap.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_terminal_safe("json", &out);
    let s: serde_json::Value = serde_json::from_str(out.trim_end()).expect("one JSON line");
    // Escaped on the wire of JSON, exact once parsed.
    assert_eq!(
        s["helo"].as_str().unwrap(),
        format!("{CSI}{OSC52}"),
        "{}",
        s["helo"]
    );
    let msg = &s["transactions"][0]["message"];
    assert_eq!(
        msg["subject"].as_str().unwrap(),
        format!("hello {OSC52}{RLO}txt.exe {C1_CSI}")
    );
    let names: Vec<&str> = msg["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].as_str().unwrap_or(""))
        .collect();
    assert!(names.contains(&"../../etc/passwd"), "{names:?}");
    assert!(out.contains("\\u001b]52;c;") && out.contains("\\u202e") && out.contains("\\u009b"));
}

#[test]
fn test_tui_draws_hostile_capture_escaped_in_every_view() {
    let dir = scratch("hostile-tui");
    let cap = capture(&dir);
    let mut app = load_files(&[cap.display().to_string()], 160, 48);
    let mut screens = vec![("sessions", render_to_string(&app))];
    app.update(Action::Enter);
    screens.push(("timeline", render_to_string(&app)));
    // Every timeline line selected (the detail pane shows it), opened,
    // then the message view and help.
    let rows = app.timeline.rows.len();
    for _ in 0..rows {
        screens.push(("timeline row", render_to_string(&app)));
        app.update(Action::Enter);
        screens.push(("timeline row opened", render_to_string(&app)));
        app.update(Action::Down);
    }
    app.update(Action::OpenMessage);
    screens.push(("message", render_to_string(&app)));
    app.update(Action::ToggleHelp);
    screens.push(("help", render_to_string(&app)));
    for (what, screen) in &screens {
        assert_terminal_safe(what, screen);
    }
    let all = screens.iter().map(|(_, s)| s.as_str()).collect::<String>();
    assert!(all.contains("\\x1b"), "escapes are visible somewhere");
}

/// Every path below `dir`, relative to it.
fn tree(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                todo.push(p.clone());
            }
            out.insert(p.strip_prefix(dir).unwrap().to_path_buf());
        }
    }
    out
}

#[test]
fn test_export_keeps_hostile_attachment_names_inside_the_directory() {
    let dir = scratch("hostile-export");
    let cap = capture(&dir);
    let export = dir.join("out");
    let before = tree(&dir);
    let (code, _, err) = smtpscope(&[
        "--format",
        "json",
        "--export",
        export.to_str().unwrap(),
        "--attachments",
        cap.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let after = tree(&dir);
    let new: Vec<_> = after.difference(&before).collect();
    assert!(
        new.iter().all(|p| p.starts_with("out")),
        "written outside the export directory: {new:?}"
    );
    let files = tree(&export);
    let attachments: Vec<_> = files
        .iter()
        .filter(|p| p.components().count() == 2)
        .collect();
    assert_eq!(attachments.len(), hostile_names().len(), "{files:?}");
    for p in &attachments {
        let name = p.file_name().unwrap().to_str().expect("UTF-8 name");
        assert!(name.len() <= 255, "{} bytes", name.len());
        assert!(
            !name.contains(['/', '\\', ':']) && !name.chars().any(|c| c.is_control()),
            "{name:?}"
        );
        assert!(!name.contains(RLO), "{name:?}");
    }
}
