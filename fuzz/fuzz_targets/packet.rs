//! One packet of any bytes through link, IP and TCP decoding and the flow
//! table, under the link type `data[0]` picks (modulo the list's length).
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpscope::capture::{LinkType, Packet, Timestamp};
use smtpscope::net::{
    Chunk, CloseReason, ConnMeta, Dir, FlowConfig, FlowTable, Interest, StreamSink,
};

const LINKS: [LinkType; 10] = [
    LinkType::NULL,
    LinkType::ETHERNET,
    LinkType::RAW_12,
    LinkType::RAW_14,
    LinkType::RAW,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::LINUX_SLL2,
];

struct Nothing;

impl StreamSink for Nothing {
    fn open(&mut self, _: &ConnMeta) -> Interest {
        Interest::Keep
    }
    fn data(&mut self, _: &ConnMeta, _: Dir, _: Chunk<'_>) -> Interest {
        Interest::Keep
    }
    fn gap(&mut self, _: &ConnMeta, _: Dir, _: Timestamp, _: u64, _: u64) {}
    fn close(&mut self, _: &ConnMeta, _: CloseReason, _: Timestamp) {}
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let link = LINKS[pick as usize % LINKS.len()];
    let mut table = FlowTable::new(FlowConfig::default());
    let mut sink = Nothing;
    let pkt = Packet {
        frame: 1,
        ts: Timestamp::from_nanos(1_700_000_000_000_000_000),
        link,
        data: bytes,
        // Bit 7 of `pick` claims the packet was cut short by the snap length.
        orig_len: bytes.len() as u32 + (pick >> 7) as u32 * 100,
    };
    table.process(&pkt, &mut sink);
    table.finish(&mut sink);
    let _ = table.stats();
});
