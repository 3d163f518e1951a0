//! Any bytes as a capture file through the whole run, analysis and text and
//! JSON outputs included; see `smtpscope_fuzz::pipeline`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| smtpscope_fuzz::pipeline(data));
