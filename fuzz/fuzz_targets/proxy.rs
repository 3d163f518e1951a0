//! SOCKS handshakes, whole and byte by byte; see `smtpscope_fuzz::proxy`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| smtpscope_fuzz::proxy(data));
