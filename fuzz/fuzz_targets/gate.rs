//! The reader's gate declines exactly where the decoder does; see
//! `smtpscope_fuzz::gate`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| smtpscope_fuzz::gate(data));
