//! Any bytes in both directions through the SMTP session decoder, the
//! session model and the text and JSON outputs.
//!
//! Input format, repeated: a control byte, then its chunk. Bit 7 of the
//! control byte is the direction (set: server to client). Bits 0-6 are the
//! chunk length; 0 means "a gap" whose length is the next byte instead.
//! A short last chunk takes what is left.
//!
//! Checks: no panic; the JSON text parses back to the same value; the text
//! output carries no control character but '\n', and no C1 or bidi/format
//! control (the escaping contract in src/output/escape.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpscope::capture::Timestamp;
use smtpscope::model::SessionBuilder;
use smtpscope::net::{Chunk, CloseReason, ConnId, ConnMeta, Dir, RoleSource};
use smtpscope::output::OutputOptions;
use smtpscope::smtp::{DecoderConfig, SessionDecoder};

const MS: i64 = 1_000_000;

fn meta() -> ConnMeta {
    ConnMeta {
        id: ConnId(1),
        client: "192.0.2.10:40000".parse().unwrap(),
        server: "198.51.100.25:25".parse().unwrap(),
        start: Timestamp::from_nanos(1_700_000_000_000_000_000),
        first_frame: 1,
        roles: RoleSource::Handshake,
    }
}

/// Characters the text output must never contain raw.
fn forbidden(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c as u32,
            0x061c | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x2069
            | 0xfeff | 0xfff9..=0xfffb)
}

fuzz_target!(|data: &[u8]| {
    let m = meta();
    // keep_raw exercises the copy of message bytes too; the summary is
    // built either way.
    let cfg = DecoderConfig {
        keep_raw: data.first().is_some_and(|b| b & 1 == 1),
        ..DecoderConfig::default()
    };
    let mut dec = SessionDecoder::new(&cfg, &m, false);
    let mut events = Vec::new();
    let mut ts = m.start;
    let mut frame = 1u64;
    let mut rest = data;
    while let Some((&ctl, tail)) = rest.split_first() {
        rest = tail;
        ts = ts.add_nanos(MS);
        frame += 1;
        let dir = if ctl & 0x80 != 0 {
            Dir::ServerToClient
        } else {
            Dir::ClientToServer
        };
        let len = (ctl & 0x7f) as usize;
        if len == 0 {
            let Some((&gap, tail)) = rest.split_first() else {
                break;
            };
            rest = tail;
            dec.gap(dir, ts, frame, gap as u64 + 1, &mut events);
            continue;
        }
        let (bytes, tail) = rest.split_at(len.min(rest.len()));
        rest = tail;
        dec.feed(dir, Chunk { ts, frame, bytes }, &mut events);
    }
    dec.close(CloseReason::Fin, ts.add_nanos(MS), &mut events);

    let mut b = SessionBuilder::new(&m);
    b.apply_all(events);
    let session = b.finish();

    for opts in [
        OutputOptions::default(),
        OutputOptions {
            show_secrets: true,
            bodies: true,
            timeline: true,
            teach: true,
        },
    ] {
        let text = smtpscope::output::text::render(&session, &opts);
        if let Some((i, c)) = text.char_indices().find(|&(_, c)| forbidden(c)) {
            panic!(
                "raw control U+{:04X} at byte {i} of text output:\n{text:?}",
                c as u32
            );
        }
        let json = smtpscope::output::json::session_json(&session, &opts);
        let line = serde_json::to_string(&json).expect("JSON serializes");
        let back: serde_json::Value = serde_json::from_str(&line).expect("JSON parses back");
        assert_eq!(back, json, "JSON does not round-trip");
    }
});
