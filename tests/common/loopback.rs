//! Live-capture helpers: whether this process may capture on `lo`, and a
//! tiny SMTP exchange on 127.0.0.1 (never anywhere else).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use smtpscope::capture::live::LiveSource;

/// Capturing on `lo` works here (root or CAP_NET_RAW). Otherwise a printed
/// skip, or a failure when SMTPSCOPE_REQUIRE_LIVE=1.
pub fn may_capture() -> bool {
    match LiveSource::open(
        "lo",
        Some("tcp port 1"),
        None,
        Arc::new(AtomicBool::new(true)),
    ) {
        Ok(_) => true,
        Err(e) => {
            if std::env::var_os("SMTPSCOPE_REQUIRE_LIVE").is_some_and(|v| v == "1") {
                panic!("live capture required but unavailable: {e}");
            }
            eprintln!("skipped: cannot capture on lo ({e}); run as root to include live tests");
            false
        }
    }
}

/// A server on `listener` (greeting, 250, 221) and a client sending
/// `EHLO probe.test` and `QUIT`, both on 127.0.0.1; returns when done.
pub fn smtp_exchange(listener: TcpListener) {
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
