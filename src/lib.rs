//! smtpscope: SMTP traffic analysis from packets to dialogues.
//!
//! The pipeline, one module per stage, each knowing only the stages before it:
//!
//! ```text
//! capture -> net (link/IP decode, TCP reassembly) -> smtp (session decode)
//!         -> analysis (findings) -> model -> output (text, JSON Lines, .eml) / tui
//! ```
//!
//! `pipeline` joins the stages (net events to finished sessions); `cli` and
//! `run` parse the command line and drive one run.

pub mod analysis;
pub mod capture;
pub mod model;
pub mod net;
pub mod output;
pub mod smtp;
pub mod teach;
pub mod tui;

pub mod cli;
pub mod pipeline;
pub mod run;
