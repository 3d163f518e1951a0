//! Any bytes as a capture file; see `smtpscope_fuzz::pcap_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| smtpscope_fuzz::pcap_file(data));
