//! DATA decoding alone, the SMTP worker's part that grows with message
//! bytes: a message with a 4 MiB base64 attachment (76-character lines,
//! as mail clients write them), dot-stuffed, fed to a `DataDecoder` in
//! chunks of a TCP segment's size; MIME summary and SHA-256 included.
//!
//!     cargo run --release --example data_bench [CHUNK_BYTES]
//!
//! Prints the decoder's throughput in ns per wire byte, and the floor
//! under it: base64-decoding and hashing the same attachment in one go,
//! which no framing can beat. See bench/README.md.

use std::time::Instant;

use sha2::{Digest, Sha256};
use smtpscope::smtp::data::{dot_stuff, DataDecoder};

const ROUNDS: usize = 40;
const ATTACHMENT: usize = 4 << 20;

fn main() {
    let chunk: usize = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 1448,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: data_bench [CHUNK_BYTES (a positive number, default 1448)]");
            std::process::exit(2);
        }
    };
    let mut msg = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: bench\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"BB\"\r\n\r\n--BB\r\nContent-Type: text/plain\r\n\r\nhello\r\n.a line starting with a dot\r\n--BB\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\n\r\n".to_vec();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = Vec::new();
    let mut x: u32 = 1;
    for _ in 0..ATTACHMENT / 76 {
        for _ in 0..76 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let c = alphabet[(x >> 16) as usize % 64];
            msg.push(c);
            text.push(c);
        }
        msg.extend_from_slice(b"\r\n");
    }
    msg.extend_from_slice(b"--BB--\r\n");
    let mut wire = dot_stuff(&msg);
    wire.extend_from_slice(b".\r\n");
    let total = (wire.len() * ROUNDS) as f64;

    let start = Instant::now();
    let mut sha = None;
    for _ in 0..ROUNDS {
        let mut d = DataDecoder::new(0);
        d.keep_raw = false;
        for c in wire.chunks(chunk) {
            d.feed(c);
        }
        assert!(d.is_done(), "the message did not end");
        sha = d
            .take_summary(false)
            .parts
            .last()
            .and_then(|p| p.sha256.clone());
    }
    let decoder = start.elapsed().as_secs_f64() * 1e9 / total;

    let start = Instant::now();
    let mut floor_sha = String::new();
    for _ in 0..ROUNDS {
        let decoded = base64_simd::STANDARD
            .decode_to_vec(&text)
            .unwrap_or_default();
        floor_sha = Sha256::digest(&decoded)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
    }
    let floor = start.elapsed().as_secs_f64() * 1e9 / total;
    assert_eq!(
        sha.as_deref(),
        Some(floor_sha.as_str()),
        "the decoder's hash differs"
    );
    println!(
        "DataDecoder, {chunk}-byte chunks: {decoder:.3} ns/byte ({:.0} MB/s); base64 + SHA-256 alone: {floor:.3} ns/byte",
        1e3 / decoder
    );
}
