//! One run of smtpscope: read the packet sources, drive the pipeline, feed
//! the outputs, and decide the exit status.

use std::io::{self, Write};

use anyhow::{Context, Result};

use crate::capture::file::{CaptureError, FileSource};
use crate::capture::PacketSource;
use crate::cli::{Args, Format, EXIT_BAD_INPUT, EXIT_OK};
use crate::net::flow::{FlowConfig, FlowTable};
use crate::net::ip::IpConfig;
use crate::net::reassembly::ReassemblyConfig;
use crate::net::{NetStats, StreamSink};
use crate::output::connections::ConnectionLister;

/// Ports that are SMTP by default: SMTP, submissions (implicit TLS),
/// submission, the common alternative, and LMTP.
pub const SMTP_PORTS: [u16; 5] = [25, 465, 587, 2525, 24];

/// An error the user can fix by giving other input; exits with status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

pub fn flow_config(args: &Args) -> FlowConfig {
    let mut server_ports: Vec<u16> = SMTP_PORTS.to_vec();
    server_ports.extend(&args.ports);
    FlowConfig {
        max_flows: args.max_flows.max(1),
        idle_timeout_nanos: (args.idle_timeout.max(1) as i64).saturating_mul(1_000_000_000),
        server_ports,
        reassembly: ReassemblyConfig {
            max_ooo_bytes: args.max_ooo_bytes,
            ..ReassemblyConfig::default()
        },
        ip: IpConfig {
            max_pending_datagrams: args.max_fragments.max(1),
            ..IpConfig::default()
        },
    }
}

/// What reading the inputs came to.
pub struct ReadOutcome {
    pub stats: NetStats,
    /// Damage found in an input; everything before it was processed.
    pub errors: Vec<CaptureError>,
}

/// Feed every packet of `source` through the flow table into `sink`.
pub fn pump(
    source: &mut dyn PacketSource,
    table: &mut FlowTable,
    sink: &mut dyn StreamSink,
) -> Result<(), CaptureError> {
    while let Some(pkt) = source.next_packet()? {
        table.process(&pkt, sink);
    }
    Ok(())
}

/// Read every file in order through one flow table into `sink`.
///
/// Damage in one file stops that file (everything before it is kept) and
/// the run goes on with the next; files that cannot be opened likewise.
pub fn read_files(files: &[String], cfg: FlowConfig, sink: &mut dyn StreamSink) -> ReadOutcome {
    let mut table = FlowTable::new(cfg);
    let mut errors = Vec::new();
    for path in files {
        let result =
            FileSource::open(path).and_then(|mut source| pump(&mut source, &mut table, sink));
        if let Err(e) = result {
            errors.push(e);
        }
    }
    table.finish(sink);
    ReadOutcome {
        stats: table.stats(),
        errors,
    }
}

pub fn run(args: &Args) -> Result<i32> {
    if args.list_interfaces || args.interface.is_some() {
        return run_live(args);
    }
    if args.files.is_empty() {
        return Err(BadInput(
            "no capture given: name a pcap/pcapng file (or - for standard input), or capture live with -i IFACE; see --help".into(),
        )
        .into());
    }
    if args.filter.is_some() || args.write.is_some() {
        return Err(BadInput("-f and -w apply to live capture (-i IFACE) only".into()).into());
    }
    let format = args.format.unwrap_or(Format::Connections);
    let out = io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let mut lister = ConnectionLister::new(out);
    let outcome = read_files(&args.files, flow_config(args), &mut lister);
    finish_output(lister)?;
    if args.stats || (format == Format::Connections && outcome.stats.packets > 0) {
        eprint!("{}", outcome.stats);
    }
    report_errors(&outcome.errors)
}

fn finish_output<W: Write>(mut lister: ConnectionLister<W>) -> Result<()> {
    if let Some(e) = lister.error.take() {
        return Err(e).context("writing the output");
    }
    lister.into_inner().flush().context("writing the output")
}

/// Print each input error on one line; any of them makes the exit status 2.
fn report_errors(errors: &[CaptureError]) -> Result<i32> {
    for e in errors {
        let note = if e.is_damage() {
            " (everything before it was processed and is reported above)"
        } else {
            ""
        };
        eprintln!("smtpscope: {e}{note}");
    }
    Ok(if errors.is_empty() {
        EXIT_OK
    } else {
        EXIT_BAD_INPUT
    })
}

#[cfg(not(feature = "live"))]
fn run_live(_args: &Args) -> Result<i32> {
    Err(anyhow::Error::new(BadInput(
        "live capture is not in this build: install one with `cargo install --path . --features live` (needs libpcap-dev on Debian/Ubuntu, built in on macOS, Npcap on Windows)".into()
    )))
}

#[cfg(feature = "live")]
fn run_live(args: &Args) -> Result<i32> {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    use crate::capture::live::{list_interfaces, LiveSource};

    if args.list_interfaces {
        for line in list_interfaces()? {
            println!("{line}");
        }
        return Ok(EXIT_OK);
    }
    if !args.files.is_empty() {
        return Err(BadInput("give either capture files or -i IFACE, not both".into()).into());
    }
    let iface = args.interface.as_deref().unwrap_or_default();
    let stop = Arc::new(AtomicBool::new(false));
    // Ctrl-C and SIGTERM end the capture; the summary and the -w file are
    // still completed.
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing the signal handler")?;
    }
    let mut source = LiveSource::open(iface, args.filter.as_deref(), args.write.as_deref(), stop)
        .map_err(|e| BadInput(e.to_string()))?;
    let format = args.format.unwrap_or(Format::Connections);
    let out = io::BufWriter::new(io::stdout().lock());
    let mut lister = ConnectionLister::new(out);
    let mut table = FlowTable::new(flow_config(args));
    let result = pump(&mut source, &mut table, &mut lister);
    table.finish(&mut lister);
    source.flush().context("finishing the -w file")?;
    finish_output(lister)?;
    let mut stats = table.stats();
    let live = source.stats();
    stats.kernel_dropped = Some(live.kernel_dropped);
    stats.interface_dropped = Some(live.interface_dropped);
    if args.stats || format == Format::Connections {
        eprint!("{stats}");
    }
    match result {
        Ok(()) => Ok(EXIT_OK),
        Err(e) => Err(e).context("live capture"),
    }
}
