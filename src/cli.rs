//! Command-line definitions (clap) and their validation into a [`Config`].
//!
//! Flag names, exit codes and output field names are contracts: add to them,
//! never rename.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use crate::analysis::AnalysisConfig;
use crate::net::flow::{FlowConfig, DEFAULT_IDLE_TIMEOUT_NANOS, DEFAULT_MAX_FLOWS};
use crate::net::ip::{IpConfig, DEFAULT_MAX_PENDING_DATAGRAMS};
use crate::net::reassembly::{ReassemblyConfig, DEFAULT_MAX_OOO_BYTES};
use crate::pipeline::PipelineConfig;
use crate::smtp::detect::DEFAULT_SMTP_PORTS;

/// Exit status: success.
pub const EXIT_OK: i32 = 0;
/// Exit status: a runtime failure (I/O error on output, capture device).
pub const EXIT_FAILURE: i32 = 1;
/// Exit status: bad input (usage error, unreadable or damaged capture).
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit status: `--fail-on` matched a finding.
pub const EXIT_FINDINGS: i32 = 3;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Readable transcript per session.
    Text,
    /// JSON Lines, one object per session.
    Json,
    /// The TCP connections found (packet layer only).
    Connections,
}

#[derive(Parser, Debug, Clone)]
#[command(
    name = "smtpscope",
    version,
    about = "SMTP traffic analyzer: reassembles TCP streams from captures or live interfaces and decodes SMTP dialogues",
    after_help = "Examples:\n  smtpscope captures/tour.pcap\n  smtpscope --format json capture.pcapng > sessions.jsonl\n  tcpdump -i eth0 -w - 'tcp port 25' | smtpscope -\n  smtpscope -i lo -f 'tcp port 2525'   (needs a build with --features live)\n\nExit status: 0 ok, 1 runtime failure, 2 bad input (usage, unreadable or damaged capture), 3 --fail-on matched."
)]
pub struct Args {
    /// Capture files (pcap, pcapng, optionally gzip-compressed); `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,

    /// Capture live from this interface (needs the `live` feature).
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: Option<String>,

    /// List the interfaces live capture can use (needs the `live` feature).
    #[arg(short = 'D', long = "list-interfaces")]
    pub list_interfaces: bool,

    /// BPF capture filter for live capture, e.g. 'tcp port 25'.
    #[arg(short = 'f', long = "filter", value_name = "EXPR")]
    pub filter: Option<String>,

    /// Also write the packets captured live to this pcap file.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// Output format when not using the terminal UI.
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Print packet and reassembly statistics to stderr even when nothing was read
    /// (they end every run that read packets).
    #[arg(long)]
    pub stats: bool,

    /// Also treat this TCP port as SMTP (repeatable).
    #[arg(long = "port", value_name = "N")]
    pub ports: Vec<u16>,

    /// Only the SMTP ports (25, 465, 587, 2525, 24 and --port) are SMTP: no content detection.
    #[arg(long)]
    pub only_ports: bool,

    /// Show AUTH passwords and tokens instead of masking them.
    #[arg(long)]
    pub show_secrets: bool,

    /// Show message bodies in the text transcript.
    #[arg(long)]
    pub bodies: bool,

    /// Add every dialogue event to the JSON output (`"events"`).
    #[arg(long)]
    pub timeline: bool,

    /// Write every message as an .eml file into this directory.
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,

    /// With --export, also write decoded attachments.
    #[arg(long, requires = "export")]
    pub attachments: bool,

    /// Connections tracked at once; the least recently active are evicted beyond it.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_FLOWS)]
    pub max_flows: usize,

    /// Seconds of capture time after which an idle connection is closed.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_IDLE_TIMEOUT_NANOS as u64 / 1_000_000_000)]
    pub idle_timeout: u64,

    /// Out-of-order bytes held per connection direction before a hole is given up as a gap.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_OOO_BYTES)]
    pub max_ooo_bytes: usize,

    /// IP datagrams held waiting for missing fragments.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_PENDING_DATAGRAMS)]
    pub max_fragments: usize,

    /// Attach only findings at or above this severity (info, low, medium, high, critical).
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    pub min_severity: crate::analysis::Severity,

    /// Exit with status 3 when a finding at or above this severity was raised.
    #[arg(long, value_name = "LEVEL")]
    pub fail_on: Option<crate::analysis::Severity>,

    /// A domain your servers receive mail for (repeatable); enables the open-relay and relay-probe rules.
    #[arg(long = "local-domain", value_name = "DOMAIN")]
    pub local_domains: Vec<String>,

    /// A network whose clients may relay, e.g. 192.0.2.0/24 (repeatable); they may also use XCLIENT/XFORWARD and ETRN.
    #[arg(long = "trusted-net", value_name = "CIDR")]
    pub trusted_nets: Vec<crate::analysis::Cidr>,

    /// Explain every line of the transcript inline: command and reply
    /// meanings, digits of the code, the session state and what may come next.
    #[arg(long)]
    pub teach: bool,

    /// Terminal UI: play the capture at its recorded pace, or SPEED times faster, as if live.
    #[arg(long, value_name = "SPEED", num_args = 0..=1, default_missing_value = "1")]
    pub replay: Option<Option<f64>>,

    /// Terminal UI: sessions kept in memory; beyond it the oldest finished ones are dropped.
    #[arg(long, value_name = "N", default_value_t = crate::tui::state::store::DEFAULT_MAX_SESSIONS)]
    pub max_sessions: usize,

    /// Terminal UI: message bytes kept in memory; beyond it the oldest messages keep only their summary (a file's are read again when opened).
    #[arg(long, value_name = "BYTES", default_value_t = crate::tui::state::store::DEFAULT_MAX_MESSAGE_BYTES)]
    pub max_message_bytes: u64,
}

/// An error the user can fix by giving other input; exits with status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// The packet layer's configuration from the command line.
pub fn flow_config(args: &Args) -> FlowConfig {
    let mut server_ports: Vec<u16> = DEFAULT_SMTP_PORTS.to_vec();
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

/// The findings stage's configuration from the command line.
pub fn analysis_config(args: &Args) -> AnalysisConfig {
    AnalysisConfig {
        local_domains: args
            .local_domains
            .iter()
            .map(|d| d.trim_end_matches('.').to_ascii_lowercase())
            .collect(),
        trusted_nets: args.trusted_nets.clone(),
        min_severity: args.min_severity,
    }
}

/// The SMTP stage's configuration from the command line.
pub fn pipeline_config(args: &Args) -> PipelineConfig {
    let mut cfg = PipelineConfig {
        extra_ports: args.ports.clone(),
        only_ports: args.only_ports,
        ..PipelineConfig::default()
    };
    // Message bytes are kept only for the outputs that show or save them;
    // summaries are built as the bytes stream past.
    cfg.decoder.keep_raw = args.export.is_some() || args.bodies;
    cfg
}
