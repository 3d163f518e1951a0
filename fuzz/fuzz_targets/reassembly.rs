//! TCP reassembly against a byte-offset oracle; see `smtpscope_fuzz::reassembly`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| smtpscope_fuzz::reassembly(data));
