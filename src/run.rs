//! One run of smtpscope: read the packet sources, drive the pipeline, feed
//! the outputs, and decide the exit status.

use std::io::{self, Write};

use anyhow::{Context, Result};

use crate::analysis::Analyzer;
use crate::capture::file::{CaptureError, FileSource};
use crate::capture::PacketSource;
use crate::cli::{Args, Format, EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK};
// The command line turned into each stage's configuration; re-exported
// here for callers that know them as part of a run.
pub use crate::cli::{analysis_config, flow_config, pipeline_config, BadInput};
use crate::model::Session;
use crate::net::flow::{FlowConfig, FlowTable};
use crate::net::{NetStats, StreamSink};
use crate::output::connections::ConnectionLister;
use crate::output::eml::Exporter;
use crate::output::json::JsonWriter;
use crate::output::text::TextWriter;
use crate::output::{OutputOptions, SessionWriter};
use crate::pipeline::sharded::Sharded;
use crate::pipeline::SessionConsumer;

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
/// the run goes on with the next; files that cannot be opened likewise. A
/// damaged pcapng block whose framing holds is skipped, reported, and
/// reading goes on after it.
pub fn read_files(files: &[String], cfg: FlowConfig, sink: &mut dyn StreamSink) -> ReadOutcome {
    let mut table = FlowTable::new(cfg);
    let mut errors = Vec::new();
    let (mut damaged_blocks, mut bad_interface) = (0, 0);
    for path in files {
        let result = FileSource::open(path).and_then(|mut source| {
            let result = pump(&mut source, &mut table, sink);
            // Damaged blocks skipped on the way come before where it stopped.
            errors.extend(source.take_skipped());
            damaged_blocks += source.stats().damaged_blocks;
            bad_interface += source.stats().bad_interface;
            result
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    table.finish(sink);
    ReadOutcome {
        stats: NetStats {
            damaged_blocks,
            bad_interface,
            ..table.stats()
        },
        errors,
    }
}

pub fn run(args: &Args) -> Result<i32> {
    // On a terminal with no --format, the interactive UI replaces the transcript.
    if args.format.is_none() && io::IsTerminal::is_terminal(&io::stdout()) {
        if let Some(source) = crate::tui::source_for(args) {
            return crate::tui::run(args, source);
        }
    }
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
    let format = args.format.unwrap_or(Format::Text);
    let out = io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let mut worst = None;
    let mut budget_line = None;
    let outcome = if format == Format::Connections {
        let mut lister = ConnectionLister::new(out);
        let outcome = read_files(&args.files, flow_config(args), &mut lister);
        finish_lister(lister)?;
        outcome
    } else {
        drop(out);
        // Reading and reassembly here; SMTP and MIME decoding on worker
        // threads; analysis and output on one more, in close order.
        let sessions = SessionOutput::new(
            args,
            format,
            io::BufWriter::with_capacity(64 * 1024, io::stdout()),
        )?;
        let mut sharded = Sharded::spawn(pipeline_config(args), sessions);
        let outcome = read_files(&args.files, flow_config(args), &mut sharded);
        let (sessions, pipeline_stats) = sharded.finish().map_err(|_| {
            anyhow::anyhow!(
                "an SMTP decoder thread failed (a bug: please report it with the capture)"
            )
        })?;
        worst = sessions.analyzer.worst();
        sessions.finish()?;
        budget_line = pipeline_stats.budget_line();
        outcome
    };
    // The packet-layer summary ends every run that read anything.
    let s = &outcome.stats;
    if args.stats || s.packets > 0 || s.damaged_blocks > 0 || s.bad_interface > 0 {
        eprint!("{}", outcome.stats);
    }
    if let Some(line) = budget_line {
        eprint!("{line}");
    }
    if args.stats {
        print_peak_memory();
    }
    report_errors(&outcome.errors).map(|code| fail_on(args, code, worst))
}

/// `--stats` ends with the process's peak resident memory (Linux's
/// VmHWM), so that memory caps can be checked on any run.
fn print_peak_memory() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(kib) = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map(|v| v.trim().trim_end_matches("kB").trim())
    {
        eprintln!("peak memory:        {kib} KiB");
    }
}

/// `--fail-on`: status 3 when a finding at or above the level was raised
/// (bad input, status 2, wins).
pub fn fail_on(args: &Args, code: i32, worst: Option<crate::analysis::Severity>) -> i32 {
    match (args.fail_on, worst) {
        (Some(level), Some(w)) if code == EXIT_OK && w >= level => EXIT_FINDINGS,
        _ => code,
    }
}

/// Where finished sessions go: export, then the text or JSON writer.
pub struct SessionOutput<'w> {
    writer: Box<dyn SessionWriter + Send + 'w>,
    exporter: Option<Exporter>,
    /// Security findings, attached to each session before it is written.
    pub analyzer: Analyzer,
    /// Text runs end with a findings summary.
    summary: bool,
    /// First failure; later sessions are dropped once output failed.
    error: Option<anyhow::Error>,
    pub sessions: u64,
}

impl<'w> SessionOutput<'w> {
    pub fn new<W: Write + Send + 'w>(args: &Args, format: Format, out: W) -> Result<Self> {
        let opts = OutputOptions {
            show_secrets: args.show_secrets,
            bodies: args.bodies,
            timeline: args.timeline,
            teach: args.teach,
        };
        let writer: Box<dyn SessionWriter + Send + 'w> = match format {
            Format::Json => Box::new(JsonWriter::new(out, opts)),
            _ => Box::new(TextWriter::new(out, opts)),
        };
        let exporter = match &args.export {
            Some(dir) => Some(
                Exporter::new(dir, args.attachments)
                    .map_err(|e| BadInput(format!("--export {}: {e:#}", dir.display())))?,
            ),
            None => None,
        };
        Ok(SessionOutput {
            writer,
            exporter,
            analyzer: Analyzer::new(analysis_config(args)),
            summary: format == Format::Text,
            error: None,
            sessions: 0,
        })
    }

    pub fn session(&mut self, s: Session) {
        SessionConsumer::session(self, s)
    }

    fn take(&mut self, mut s: Session) {
        if self.error.is_some() {
            return;
        }
        self.sessions += 1;
        // Before export: the smuggling rule reads the message bytes.
        self.analyzer.session(&mut s);
        if let Some(exporter) = &mut self.exporter {
            for (i, tx) in s.transactions.iter_mut().enumerate() {
                // The raw bytes are needed only until they are on disk.
                if let (Some(raw), Some(summary)) = (tx.raw_message.take(), &tx.message) {
                    if let Err(e) = exporter.export_message(s.id.0, i, &raw, summary) {
                        self.error = Some(anyhow::Error::new(e).context(format!(
                            "exporting messages to {}",
                            exporter.dir().display()
                        )));
                        return;
                    }
                }
            }
        }
        if let Err(e) = self.writer.session(&s) {
            self.error = Some(anyhow::Error::new(e).context("writing the output"));
        }
    }

    pub fn finish(mut self) -> Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.summary && self.sessions > 0 {
            self.writer
                .trailer(&self.analyzer.summary())
                .context("writing the output")?;
        }
        self.writer.finish().context("writing the output")?;
        if let Some(exporter) = &self.exporter {
            let (messages, attachments) = exporter.counts();
            eprintln!(
                "smtpscope: exported {messages} messages and {attachments} attachments to {}",
                exporter.dir().display()
            );
        }
        Ok(())
    }
}

impl SessionConsumer for SessionOutput<'_> {
    fn session(&mut self, s: Session) {
        self.take(s)
    }
}

fn finish_lister<W: Write>(mut lister: ConnectionLister<W>) -> Result<()> {
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
    let format = args.format.unwrap_or(Format::Text);
    let out = LineFlush(io::stdout());
    let mut table = FlowTable::new(flow_config(args));
    let mut worst = None;
    let mut budget_line = None;
    let result = if format == Format::Connections {
        let mut lister = ConnectionLister::new(out);
        let r = pump(&mut source, &mut table, &mut lister);
        table.finish(&mut lister);
        finish_lister(lister)?;
        r
    } else {
        let sessions = SessionOutput::new(args, format, out)?;
        let mut pipeline = crate::pipeline::SmtpPipeline::new(pipeline_config(args), sessions);
        let r = pump(&mut source, &mut table, &mut pipeline);
        table.finish(&mut pipeline);
        budget_line = pipeline.stats.budget_line();
        let sessions = pipeline.into_consumer();
        worst = sessions.analyzer.worst();
        sessions.finish()?;
        r
    };
    source.flush().context("finishing the -w file")?;
    let mut stats = table.stats();
    let live = source.stats();
    stats.kernel_dropped = Some(live.kernel_dropped);
    stats.interface_dropped = Some(live.interface_dropped);
    eprint!("{stats}");
    if let Some(line) = budget_line {
        eprint!("{line}");
    }
    if args.stats {
        print_peak_memory();
    }
    match result {
        Ok(()) => Ok(fail_on(args, EXIT_OK, worst)),
        Err(e) => Err(e).context("live capture"),
    }
}

/// Live output: each session is written as soon as it ends (stdout is
/// flushed per write rather than per 64 KiB).
#[cfg(feature = "live")]
struct LineFlush(io::Stdout);

#[cfg(feature = "live")]
impl Write for LineFlush {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.0.write(buf)?;
        self.0.flush()?;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
