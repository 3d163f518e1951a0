//! End to end, live (issue 5): the real binary captures on the loopback
//! interface inside a real terminal (tmux) while the test makes its own
//! small SMTP exchange on 127.0.0.1, and the sessions list is read back
//! from the screen. No traffic goes anywhere but 127.0.0.1.
//!
//! Needs the `live` feature, permission to capture (root or CAP_NET_RAW)
//! and tmux; without them it is skipped with a printed reason, unless
//! SMTPSCOPE_REQUIRE_LIVE=1 or SMTPSCOPE_REQUIRE_TMUX=1 make it fail.
#![cfg(feature = "live")]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smtpscope::capture::live::LiveSource;

fn required(var: &str) -> bool {
    std::env::var(var).as_deref() == Ok("1")
}

fn may_capture() -> bool {
    let probe = LiveSource::open(
        "lo",
        Some("tcp port 1"),
        None,
        Arc::new(AtomicBool::new(true)),
    );
    match probe {
        Ok(_) => true,
        Err(e) => {
            if required("SMTPSCOPE_REQUIRE_LIVE") {
                panic!("live capture required (SMTPSCOPE_REQUIRE_LIVE=1) but unavailable: {e}");
            }
            eprintln!("skipping: cannot capture on lo ({e}); run as root to include this test");
            false
        }
    }
}

fn tmux_available() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if required("SMTPSCOPE_REQUIRE_TMUX") {
            panic!("tmux is required (SMTPSCOPE_REQUIRE_TMUX=1) but not runnable");
        }
        eprintln!("skipping: tmux is not installed");
    }
    ok
}

/// A tmux session running the binary; killed when dropped.
struct Tmux {
    name: String,
}

impl Tmux {
    fn start(tag: &str, args: &str) -> Tmux {
        let name = format!("smtpscope-test-{tag}-{}", std::process::id());
        let bin = env!("CARGO_BIN_EXE_smtpscope");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let cmd = format!(
            "cd {} && {bin} {args}; echo EXITED:$?; sleep 30",
            dir.display()
        );
        let st = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-x",
                "160",
                "-y",
                "48",
                "-s",
                &name,
                &cmd,
            ])
            .env("TERM", "xterm-256color")
            .status()
            .expect("tmux new-session");
        assert!(st.success());
        Tmux { name }
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let st = Command::new("tmux")
                .args(["send-keys", "-t", &self.name, k])
                .status()
                .expect("tmux send-keys");
            assert!(st.success());
        }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Poll until `pred` holds on the screen; panic with the screen at the deadline.
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status();
    }
}

/// A tiny SMTP server and client on 127.0.0.1 (the pattern of tests/live.rs).
fn smtp_exchange(listener: TcpListener) {
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut c, _) = listener.accept().unwrap();
        let mut buf = [0u8; 512];
        c.write_all(b"220 live.test ESMTP\r\n").unwrap();
        for reply in [&b"250 live.test\r\n"[..], b"221 bye\r\n"] {
            let _ = c.read(&mut buf).unwrap();
            c.write_all(reply).unwrap();
        }
    });
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 512];
    let _ = c.read(&mut buf).unwrap();
    c.write_all(b"EHLO probe.test\r\n").unwrap();
    let _ = c.read(&mut buf).unwrap();
    c.write_all(b"QUIT\r\n").unwrap();
    let _ = c.read(&mut buf).unwrap();
    drop(c);
    server.join().unwrap();
}

#[test]
fn tui_live_shows_our_own_loopback_session_and_its_helo() {
    if !may_capture() || !tmux_available() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = Tmux::start("live", &format!("-i lo -f 'tcp port {port}' --port {port}"));
    // The capture is open before the first frame is drawn.
    t.wait_for("the live UI", |s| {
        s.contains("Sessions 0/0") && s.contains(" lo live ")
    });
    smtp_exchange(listener);
    let server = format!("→ 127.0.0.1:{port}");
    let s = t.wait_for("our session with its HELO", |s| {
        s.lines()
            .any(|l| l.contains("127.0.0.1:") && l.contains(&server) && l.contains("probe.test"))
    });
    assert!(s.contains("Sessions 1/1"), "{s}");
    t.keys(&["q"]);
    let s = t.wait_for("the exit", |s| s.contains("EXITED:"));
    assert!(s.contains("EXITED:0"), "{s}");
    assert!(
        !s.contains("Sessions 1/1"),
        "the alternate screen is left: {s}"
    );
}
