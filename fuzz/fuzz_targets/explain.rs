//! Any text as a `--explain` term.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let term = String::from_utf8_lossy(data);
    let e = smtpscope::teach::explain(&term);
    let _ = smtpscope::teach::render_text(&e);
});
