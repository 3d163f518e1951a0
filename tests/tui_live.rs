//! End to end, live (issue 5): the real binary captures on the loopback
//! interface inside a real terminal (tmux) while the test makes its own
//! small SMTP exchange on 127.0.0.1, and the sessions list is read back
//! from the screen. No traffic goes anywhere but 127.0.0.1.
//!
//! Needs the `live` feature, permission to capture (root or CAP_NET_RAW)
//! and tmux; without them it is skipped with a printed reason, unless
//! SMTPSCOPE_REQUIRE_LIVE=1 or SMTPSCOPE_REQUIRE_TMUX=1 make it fail.
#![cfg(feature = "live")]

mod common;

use std::net::TcpListener;

use common::loopback::{may_capture, smtp_exchange};
use common::tmux::Tmux;

#[test]
fn tui_live_shows_our_own_loopback_session_and_its_helo() {
    if !may_capture() || !Tmux::available() {
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
    t.wait_for("our session with its HELO", |s| {
        s.contains("Sessions 1/1")
            && s.lines().any(|l| {
                l.contains("127.0.0.1:") && l.contains(&server) && l.contains("probe.test")
            })
    });
    // Traffic has stopped: the status bar still catches up with every
    // packet of the exchange (a handshake, a dozen lines, two FINs), and
    // the session shows as closed.
    t.wait_for("the status bar counting the whole exchange", |s| {
        let pkts = s
            .lines()
            .next()
            .and_then(|l| l.split(" pkts").next())
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        pkts >= 10 && s.contains("closed")
    });
    t.keys(&["q"]);
    let s = t.wait_for("the exit", |s| s.contains("EXITED:"));
    assert!(s.contains("EXITED:0"), "{s}");
    assert!(
        !s.contains("Sessions 1/1"),
        "the alternate screen is left: {s}"
    );
}
