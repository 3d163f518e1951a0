//! DATA decoded in any chunks agrees with one byte at a time and with the
//! summarizer alone; see `smtpscope_fuzz::data`.
#![no_main]

libfuzzer_sys::fuzz_target!(
    // Caught mail-parser panics must unwind (fuzz/README.md, "Runs").
    init: drop(std::panic::take_hook()),
    |data: &[u8]| smtpscope_fuzz::data(data)
);
