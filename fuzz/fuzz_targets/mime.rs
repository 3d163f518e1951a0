//! One-shot and chunked MIME summaries agree; see `smtpscope_fuzz::mime`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| smtpscope_fuzz::mime(data));
