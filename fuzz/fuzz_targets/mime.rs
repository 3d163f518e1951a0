//! Any bytes as a message: the one-shot summary and the streaming one fed
//! in two chunks (split where `data[0]` says) must agree, as the
//! summarizer's module docs promise for any chunking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpscope::smtp::message::MessageSummary;
use smtpscope::smtp::mime::MimeSummarizer;

fuzz_target!(|data: &[u8]| {
    let Some((&split, msg)) = data.split_first() else {
        return;
    };
    let whole = MessageSummary::parse(msg, false);
    let at = if msg.is_empty() {
        0
    } else {
        split as usize % (msg.len() + 1)
    };
    let mut m = MimeSummarizer::new();
    m.feed(&msg[..at]);
    m.feed(&msg[at..]);
    let streamed = m.finish(false);
    assert_eq!(whole, streamed, "summary depends on the split at {at}");
});
