//! One-shot and chunked MIME summaries agree; see `smtpscope_fuzz::mime`.
#![no_main]

libfuzzer_sys::fuzz_target!(
    // Caught mail-parser panics must unwind (fuzz/README.md, "Runs").
    init: drop(std::panic::take_hook()),
    |data: &[u8]| smtpscope_fuzz::mime(data)
);
