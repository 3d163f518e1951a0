//! Both directions through the SMTP decoder and the outputs; see `smtpscope_fuzz::smtp_session`.
#![no_main]

libfuzzer_sys::fuzz_target!(
    // Caught mail-parser panics must unwind (fuzz/README.md, "Runs").
    init: drop(std::panic::take_hook()),
    |data: &[u8]| smtpscope_fuzz::smtp_session(data)
);
