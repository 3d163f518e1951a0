//! Live capture through libpcap (the `live` feature): open an interface in
//! immediate mode with a whole-segment snap length, apply a BPF filter,
//! optionally tee every packet into a pcap file, and stop cleanly on
//! Ctrl-C or SIGTERM.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::file::CaptureError;
use super::writer::PcapWriter;
use super::{LinkType, Packet, PacketSource, Timestamp};

/// Whole segments even on 64 KB loopback MTUs.
pub const SNAPLEN: i32 = 262_144;
/// How long a read may wait before the stop flag is checked again.
const READ_TIMEOUT_MS: i32 = 100;
/// Pause between polls when no packet is waiting (bounds the added latency).
const IDLE_POLL_MS: u64 = 5;

/// Why live capture could not start, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("no permission to capture on {iface}: run as root, or give the binary the capability once with `sudo setcap cap_net_raw,cap_net_admin=eip $(command -v smtpscope)` ({detail})")]
    Permission { iface: String, detail: String },
    #[error("no interface named {iface:?}; interfaces here: {known} (list them with -D)")]
    NoSuchInterface { iface: String, known: String },
    #[error(
        "bad capture filter {filter:?}: {detail} (the syntax is tcpdump's, see pcap-filter(7))"
    )]
    Filter { filter: String, detail: String },
    #[error("cannot create {path}: {detail}")]
    WriteFile { path: String, detail: String },
    #[error("live capture on {iface} failed: {detail}")]
    Other { iface: String, detail: String },
}

/// One line per interface: name, description, addresses.
pub fn list_interfaces() -> Result<Vec<String>, LiveError> {
    let devices = pcap::Device::list().map_err(|e| LiveError::Other {
        iface: "-".into(),
        detail: e.to_string(),
    })?;
    Ok(devices
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let addrs: Vec<String> = d.addresses.iter().map(|a| a.addr.to_string()).collect();
            format!(
                "{}. {}{}{}",
                i + 1,
                d.name,
                d.desc.map(|s| format!(" ({s})")).unwrap_or_default(),
                if addrs.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", addrs.join(", "))
                }
            )
        })
        .collect())
}

/// Counters from libpcap.
#[derive(Copy, Clone, Debug, Default)]
pub struct LiveStats {
    pub received: u64,
    pub kernel_dropped: u64,
    pub interface_dropped: u64,
}

pub struct LiveSource {
    iface: String,
    cap: pcap::Capture<pcap::Active>,
    link: LinkType,
    tee: Option<PcapWriter<BufWriter<File>>>,
    stop: Arc<AtomicBool>,
    frame: u64,
    buf: Vec<u8>,
    /// Time and wire length of the packet in `buf`.
    current: (Timestamp, u32),
}

impl LiveSource {
    /// Open `iface`; `stop` is polled between reads (set it from a signal
    /// handler to end the capture cleanly).
    pub fn open(
        iface: &str,
        filter: Option<&str>,
        write: Option<&Path>,
        stop: Arc<AtomicBool>,
    ) -> Result<LiveSource, LiveError> {
        let inactive = pcap::Capture::from_device(iface).map_err(|e| classify(iface, e))?;
        let mut cap = inactive
            .snaplen(SNAPLEN)
            .immediate_mode(true)
            .promisc(true)
            .timeout(READ_TIMEOUT_MS)
            .open()
            .map_err(|e| classify(iface, e))?
            // In immediate mode libpcap may block past its read timeout
            // when nothing arrives; non-blocking reads let the loop see
            // the stop flag promptly.
            .setnonblock()
            .map_err(|e| classify(iface, e))?;
        if let Some(expr) = filter {
            cap.filter(expr, true).map_err(|e| LiveError::Filter {
                filter: expr.to_string(),
                detail: e.to_string(),
            })?;
        }
        let link = LinkType(cap.get_datalink().0 as u32);
        let tee = match write {
            Some(path) => {
                let f = File::create(path).map_err(|e| LiveError::WriteFile {
                    path: path.display().to_string(),
                    detail: e.to_string(),
                })?;
                Some(
                    PcapWriter::with_options(
                        BufWriter::new(f),
                        link,
                        super::writer::Resolution::Micro,
                        false,
                        SNAPLEN as u32,
                    )
                    .map_err(|e| LiveError::WriteFile {
                        path: path.display().to_string(),
                        detail: e.to_string(),
                    })?,
                )
            }
            None => None,
        };
        Ok(LiveSource {
            iface: iface.to_string(),
            cap,
            link,
            tee,
            stop,
            frame: 0,
            buf: Vec::with_capacity(SNAPLEN as usize),
            current: (Timestamp::from_nanos(0), 0),
        })
    }

    pub fn interface(&self) -> &str {
        &self.iface
    }

    pub fn stats(&mut self) -> LiveStats {
        match self.cap.stats() {
            Ok(s) => LiveStats {
                received: u64::from(s.received),
                kernel_dropped: u64::from(s.dropped),
                interface_dropped: u64::from(s.if_dropped),
            },
            Err(_) => LiveStats::default(),
        }
    }

    /// Flush the `-w` file; called at the end and safe to call repeatedly.
    pub fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.tee {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

/// What one [`LiveSource::poll`] found.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LivePoll {
    /// A packet, now in [`LiveSource::packet`].
    Packet,
    /// Nothing arrived for a moment: a chance to refresh views.
    Idle,
    /// The capture stopped (signal, or the interface went away).
    End,
}

impl LiveSource {
    /// Wait briefly for the next packet. Unlike `next_packet`, an idle
    /// interface returns `Idle`, so a viewer can show what it has.
    pub fn poll(&mut self) -> Result<LivePoll, CaptureError> {
        let io_err = |iface: &str, source| CaptureError::Io {
            path: iface.to_string(),
            offset: 0,
            source,
        };
        if self.stop.load(Ordering::Relaxed) {
            self.flush().map_err(|e| io_err(&self.iface, e))?;
            return Ok(LivePoll::End);
        }
        // libpcap's packet borrows the capture handle; copying it into
        // our buffer (one memcpy) lets the read loop retry on timeouts.
        let (ts, orig_len) = match self.cap.next_packet() {
            Ok(p) => {
                self.buf.clear();
                self.buf.extend_from_slice(p.data);
                (
                    Timestamp::from_parts(
                        // time_t is i64 on the 64-bit targets we build
                        // for; the cast keeps 32-bit ones compiling.
                        #[allow(clippy::unnecessary_cast)]
                        {
                            p.header.ts.tv_sec as i64
                        },
                        p.header.ts.tv_usec as u64,
                        1_000_000,
                    ),
                    p.header.len,
                )
            }
            Err(pcap::Error::TimeoutExpired) => {
                // Idle: a good moment to get the -w file onto disk.
                self.flush().map_err(|e| io_err(&self.iface, e))?;
                std::thread::sleep(std::time::Duration::from_millis(IDLE_POLL_MS));
                return Ok(LivePoll::Idle);
            }
            Err(pcap::Error::NoMorePackets) => return Ok(LivePoll::End),
            Err(e) => return Err(io_err(&self.iface, std::io::Error::other(e.to_string()))),
        };
        if let Some(w) = &mut self.tee {
            w.write_packet(ts, &self.buf, orig_len)
                .map_err(|e| io_err(&self.iface, e))?;
        }
        self.frame += 1;
        self.current = (ts, orig_len);
        Ok(LivePoll::Packet)
    }

    /// The packet the last `poll` returned `Packet` for.
    pub fn packet(&self) -> Packet<'_> {
        Packet {
            frame: self.frame,
            ts: self.current.0,
            link: self.link,
            data: &self.buf,
            orig_len: self.current.1,
        }
    }
}

impl PacketSource for LiveSource {
    fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        loop {
            match self.poll()? {
                LivePoll::Packet => return Ok(Some(self.packet())),
                LivePoll::End => return Ok(None),
                LivePoll::Idle => {}
            }
        }
    }
}

fn classify(iface: &str, e: pcap::Error) -> LiveError {
    let detail = e.to_string();
    let lower = detail.to_lowercase();
    if lower.contains("permission") || lower.contains("operation not permitted") {
        LiveError::Permission {
            iface: iface.to_string(),
            detail,
        }
    } else if lower.contains("no such device") || lower.contains("doesn't exist") {
        let known = pcap::Device::list()
            .map(|d| d.into_iter().map(|d| d.name).collect::<Vec<_>>().join(", "))
            .unwrap_or_else(|_| "(cannot list)".into());
        LiveError::NoSuchInterface {
            iface: iface.to_string(),
            known,
        }
    } else {
        LiveError::Other {
            iface: iface.to_string(),
            detail,
        }
    }
}
