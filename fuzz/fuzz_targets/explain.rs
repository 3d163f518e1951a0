//! Any text as a `--explain` term; see `smtpscope_fuzz::explain`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| smtpscope_fuzz::explain(data));
