//! Driving the real binary in a real terminal (tmux), read back as a
//! person would see it. Skipped with a printed reason when tmux is
//! missing, unless SMTPSCOPE_REQUIRE_TMUX=1.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux session running the real binary; killed when dropped.
pub struct Tmux {
    pub name: String,
}

impl Tmux {
    pub fn available() -> bool {
        let ok = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            if std::env::var("SMTPSCOPE_REQUIRE_TMUX").as_deref() == Ok("1") {
                panic!("tmux is required (SMTPSCOPE_REQUIRE_TMUX=1) but not runnable");
            }
            eprintln!("skipping: tmux is not installed");
        }
        ok
    }

    pub fn start(tag: &str, args: &str) -> Tmux {
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

    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            let st = Command::new("tmux")
                .args(["send-keys", "-t", &self.name, k])
                .status()
                .expect("tmux send-keys");
            assert!(st.success());
        }
    }

    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Poll until `pred` holds on the screen; panic with the screen at the deadline.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(40));
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
