//! A message through `.eml` export with attachments, every file inside the
//! export directory; see `smtpscope_fuzz::eml_export`.
#![no_main]

libfuzzer_sys::fuzz_target!(
    // libfuzzer-sys's panic hook aborts even on a panic that is caught. Drop
    // it so a mail-parser `debug_assert!` that `smtp::message::catch`
    // recovers from costs one summary, as it does in smtpscope; a panic
    // nobody catches still aborts (libfuzzer-sys's own catch_unwind).
    init: drop(std::panic::take_hook()),
    |data: &[u8]| smtpscope_fuzz::eml_export(data)
);
