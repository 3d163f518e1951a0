//! Any bytes as a capture file (pcap, pcapng, gzip of either): reading
//! packets until the end or the first error must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpscope::capture::file::FileSource;

fuzz_target!(|data: &[u8]| {
    let Ok(mut src) =
        FileSource::from_reader("fuzz", Box::new(std::io::Cursor::new(data.to_vec())), None)
    else {
        return;
    };
    while let Ok(Some(_pkt)) = src.next_packet() {}
    let _ = src.stats();
});
