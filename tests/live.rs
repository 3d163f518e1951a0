//! Live capture on the loopback interface (feature `live`, needs root or
//! CAP_NET_RAW). The test makes its own TCP exchange on 127.0.0.1 and
//! checks that it comes out reassembled; it never sends traffic anywhere
//! else. Without the privilege it is skipped with a printed reason, unless
//! SMTPSCOPE_REQUIRE_LIVE=1 (CI runs as root and sets it).
#![cfg(feature = "live")]

mod common;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::loopback::{may_capture, smtp_exchange};
use common::*;
use smtpscope::capture::live::LiveSource;
use smtpscope::capture::PacketSource;
use smtpscope::net::flow::{FlowConfig, FlowTable};
use smtpscope::net::Dir;

#[test]
fn test_live_capture_on_loopback_reassembles_our_own_exchange() {
    if !may_capture() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let mut source =
        LiveSource::open("lo", Some(&format!("tcp port {port}")), None, stop.clone()).unwrap();
    let exchange = std::thread::spawn(move || smtp_exchange(listener));
    let stopper = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            exchange.join().unwrap();
            std::thread::sleep(Duration::from_millis(500));
            stop.store(true, Ordering::Relaxed);
        })
    };
    let mut table = FlowTable::new(FlowConfig::default());
    let mut rec = Recorder::default();
    let deadline = Instant::now() + Duration::from_secs(20);
    while let Some(pkt) = source.next_packet().unwrap() {
        table.process(&pkt, &mut rec);
        assert!(Instant::now() < deadline, "capture did not stop");
    }
    table.finish(&mut rec);
    stopper.join().unwrap();
    assert_eq!(rec.conns.len(), 1, "{:?}", rec.conns);
    let conn = rec.conns.values().next().unwrap();
    assert_eq!(
        conn.bytes(Dir::ClientToServer),
        b"EHLO probe.test\r\nQUIT\r\n"
    );
    assert_eq!(
        conn.bytes(Dir::ServerToClient),
        b"220 live.test ESMTP\r\n250 live.test\r\n221 bye\r\n"
    );
    assert!(source.stats().received >= 6);
}

#[test]
fn test_live_cli_writes_sessions_and_a_complete_w_file_after_sigint() {
    if !may_capture() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = scratch("live-cli");
    let wfile = dir.join("live.pcap");
    let child = Command::new(env!("CARGO_BIN_EXE_smtpscope"))
        .args([
            "-i",
            "lo",
            "-f",
            &format!("tcp port {port}"),
            "--port",
            &port.to_string(),
        ])
        .args(["--format", "json", "-w"])
        .arg(&wfile)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the capture is open (the -w file header is written).
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(&wfile)
        .map(|m| m.len() < 24)
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "capture did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    smtp_exchange(listener);
    std::thread::sleep(Duration::from_millis(500));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let session: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(session["helo"], "probe.test");
    assert_eq!(session["greeting"], "live.test ESMTP");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("capture drops:"), "{stderr}");
    // The -w file replays to the same dialogue.
    let (sessions, outcome) = decode(&[wfile.display().to_string()]);
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    assert_eq!(sessions.len(), 1);
    assert_eq!(
        sessions[0].helo.as_ref().map(|h| h.lossy()).as_deref(),
        Some("probe.test")
    );
}
