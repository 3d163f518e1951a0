//! Any bytes as a capture file through the whole run, analysis and text and
//! JSON outputs included; see `smtpscope_fuzz::pipeline`.
#![no_main]

libfuzzer_sys::fuzz_target!(
    // Caught mail-parser panics must unwind (fuzz/README.md, "Runs").
    init: drop(std::panic::take_hook()),
    |data: &[u8]| smtpscope_fuzz::pipeline(data)
);
