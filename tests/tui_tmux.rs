//! End to end: the real binary in a real terminal (tmux), driven by keys,
//! read back as a person would see it. Skipped with a printed reason when
//! tmux is missing, unless SMTPSCOPE_REQUIRE_TMUX=1.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::tmux::Tmux;

#[test]
fn tmux_browse_session_expand_data_help_and_quit() {
    if !Tmux::available() {
        return;
    }
    let t = Tmux::start(
        "browse",
        "captures/postfix-rcpt-rejected.pcap captures/tour.pcap",
    );
    t.wait_for("the sessions list", |s| {
        s.contains("Sessions 2/2") && s.contains("alice✓")
    });
    // Select the tour session (AUTH alice), open its timeline.
    t.keys(&["j", "Enter"]);
    // What a test checks goes into the wait itself: a frame caught half
    // drawn then only means another look, never a false failure.
    t.wait_for("the tour timeline", |s| {
        s.contains("AUTH PLAIN ********")
            && s.contains("C→ EHLO client.example.test")
            && s.contains("←S 235 2.7.0 Authentication successful")
    });
    // The first DATA line: from the top, find it by moving down until the detail shows it.
    t.keys(&["g"]);
    for _ in 0..40 {
        if t.screen().contains("row: ▸ DATA") {
            break;
        }
        t.keys(&["j"]);
        std::thread::sleep(Duration::from_millis(30));
    }
    t.wait_for("the DATA line selected", |s| {
        s.contains("row: ▸ DATA 369 B \"SMTP tour\"")
    });
    t.keys(&["Enter"]);
    t.wait_for("the expanded message", |s| {
        s.contains("Headers:") && s.contains("Body:") && s.contains("Subject: SMTP tour")
    });
    t.keys(&["?"]);
    t.wait_for("the help overlay", |s| s.contains("Keys (Esc or ? closes)"));
    t.keys(&["Escape"]);
    t.wait_for("help closed", |s| !s.contains("Keys (Esc or ? closes)"));
    t.keys(&["q"]);
    let s = t.wait_for("the exit", |s| s.contains("EXITED:0"));
    assert!(
        !s.contains("Sessions 2/2"),
        "the alternate screen is left: {s}"
    );
}

#[test]
fn tmux_replay_shows_lines_over_time() {
    if !Tmux::available() {
        return;
    }
    // tour.pcap's session lasts 0.42 s; at quarter speed about 1.7 s, so
    // the dialogue is seen part way through before it ends.
    let t = Tmux::start("replay", "--replay=0.25 captures/tour.pcap");
    t.wait_for("the replay label", |s| s.contains("replay ×0.25"));
    t.wait_for("the session part way through", |s| {
        s.contains("(open)") && s.contains("C→ ") && !s.contains("221 2.0.0 Bye")
    });
    t.wait_for("the end of the dialogue", |s| {
        s.contains("221 2.0.0 Bye") && s.contains("C→ QUIT")
    });
    t.keys(&["q"]);
    t.wait_for("the exit", |s| s.contains("EXITED:0"));
}

#[test]
fn tmux_sigterm_restores_the_terminal() {
    if !Tmux::available() {
        return;
    }
    let t = Tmux::start("term", "captures/tour.pcap");
    t.wait_for("the sessions list", |s| s.contains("Sessions 1/1"));
    // The pane's shell runs the binary as its child.
    let out = Command::new("tmux")
        .args(["list-panes", "-t", &t.name, "-F", "#{pane_pid}"])
        .output()
        .expect("tmux list-panes");
    let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let out = Command::new("pgrep")
        .args(["-P", &shell])
        .output()
        .expect("pgrep");
    let pid = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("the smtpscope process")
        .to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let s = t.wait_for("the exit", |s| s.contains("EXITED:"));
    assert!(!s.contains("Sessions 1/1"), "{s}");
}

#[test]
fn tmux_hangup_ends_the_process_instead_of_spinning() {
    if !Tmux::available() {
        return;
    }
    let name = format!("smtpscope-test-hup-{}", std::process::id());
    let bin = env!("CARGO_BIN_EXE_smtpscope");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cmd = format!("cd {} && exec {bin} captures/tour.pcap", dir.display());
    let st = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "40",
            "-s",
            &name,
            &cmd,
        ])
        .env("TERM", "xterm-256color")
        .status()
        .expect("tmux new-session");
    assert!(st.success());
    let t = Tmux { name };
    t.wait_for("the sessions list", |s| s.contains("Sessions 1/1"));
    let out = Command::new("tmux")
        .args(["list-panes", "-t", &t.name, "-F", "#{pane_pid}"])
        .output()
        .expect("tmux list-panes");
    let pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!pid.is_empty());
    // Closing the terminal under it (the pty hangs up).
    let _ = Command::new("tmux")
        .args(["kill-session", "-t", &t.name])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            Instant::now() < deadline,
            "smtpscope {pid} still running after hangup"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn tmux_teach_key_explains_timeline_lines_inline() {
    if !Tmux::available() {
        return;
    }
    let t = Tmux::start("teach", "captures/tour.pcap");
    t.wait_for("the sessions list", |s| s.contains("Sessions 1/1"));
    t.keys(&["Enter", "T"]);
    t.wait_for("teaching mode", |s| {
        s.contains("· teaching")
            && s.contains("│ 220 (greeting): The service is ready")
            && s.contains("│ state: connected -> greeted")
    });
    // Walk down to the DATA reply: its meaning shows under it.
    for _ in 0..60 {
        if t.screen().contains("│ 354 to DATA: Go ahead") {
            break;
        }
        t.keys(&["j"]);
        std::thread::sleep(Duration::from_millis(30));
    }
    t.wait_for("the 354 explained", |s| {
        s.contains("│ 354 to DATA: Go ahead with the message text") && s.contains("←S 354 End data")
    });
    t.keys(&["T"]);
    t.wait_for("teaching mode off", |s| {
        !s.contains("· teaching") && !s.contains("│ 354 to DATA") && s.contains("←S 354 End data")
    });
    t.keys(&["q"]);
    t.wait_for("the exit", |s| s.contains("EXITED:0"));
}

#[test]
fn tmux_teach_flag_starts_replay_in_teaching_mode() {
    if !Tmux::available() {
        return;
    }
    let t = Tmux::start("teachflag", "--teach --replay=2 captures/tour.pcap");
    t.wait_for("the replayed dialogue explained to its end", |s| {
        s.contains("· teaching")
            && s.contains("221 2.0.0 Bye")
            && s.contains("│ 221")
            && s.contains("│ state:")
    });
    t.keys(&["q"]);
    t.wait_for("the exit", |s| s.contains("EXITED:0"));
}
