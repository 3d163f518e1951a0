//! A message through `.eml` export with attachments, every file inside the
//! export directory; see `smtpscope_fuzz::eml_export`.
#![no_main]

libfuzzer_sys::fuzz_target!(
    // Caught mail-parser panics must unwind (fuzz/README.md, "Runs").
    init: drop(std::panic::take_hook()),
    |data: &[u8]| smtpscope_fuzz::eml_export(data)
);
