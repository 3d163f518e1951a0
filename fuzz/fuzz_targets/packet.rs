//! One packet through link, IP and TCP decoding; see `smtpscope_fuzz::packet`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| smtpscope_fuzz::packet(data));
