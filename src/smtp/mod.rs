//! The SMTP protocol: fed bytes per direction with timestamps, emits typed
//! events. Never sees packets, sockets or terminals.
//!
//! Pieces, each in its own file: line framing ([`lines`]), command and
//! reply grammar ([`command`], [`reply`]), EHLO capabilities ([`ehlo`]),
//! SASL decoders ([`auth`]), DATA content ([`data`]), TLS detection and
//! ClientHello parsing ([`tls`]), the session state machine and pairing
//! ([`session`]), protocol detection ([`detect`]) and the events
//! ([`event`]); [`blocks`] holds the byte-class masks that the loops over
//! message bodies use. BDAT framing lives in the session (it is a byte
//! count).

pub mod auth;
pub mod blocks;
pub mod command;
pub mod data;
pub mod detect;
pub mod ehlo;
pub mod event;
pub mod lines;
pub mod message;
pub mod mime;
pub mod reply;
pub mod session;
pub mod tls;

pub use auth::{SaslState, Secret};
pub use command::{Args, Command, Verb};
pub use detect::{is_smtp_port, Detection, Detector};
pub use ehlo::Capabilities;
pub use event::{Anomaly, Event, EventKind};
pub use lines::Terminator;
pub use reply::{EnhancedCode, Reply, ReplyCode};
pub use session::{DecoderConfig, SessionDecoder};
