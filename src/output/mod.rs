//! Outputs: everything that turns the model into text for people or programs.
//!
//! One event stream feeds every output: the pipeline builds each
//! [`Session`] once and hands it to every [`SessionWriter`].

pub mod connections;
pub mod eml;
pub mod escape;
pub mod json;
pub mod text;

use std::io;

use crate::model::Session;
use crate::smtp::auth::Secret;

/// Put before a proxy handshake line (timeline kind `Proxy`) wherever the
/// timeline is shown as C:/S: lines, so that it is not read as SMTP.
pub const PROXY_MARK: &str = "[proxy] ";

/// What writers include. Secrets stay masked unless `show_secrets`.
#[derive(Clone, Debug, Default)]
pub struct OutputOptions {
    /// Reveal passwords, tokens and SASL responses (`--show-secrets`).
    pub show_secrets: bool,
    /// Print message bodies instead of a one-line summary.
    pub bodies: bool,
    /// JSON: add the per-line `events` array.
    pub timeline: bool,
    /// Text: explain every line inline (`--teach`).
    pub teach: bool,
}

impl OutputOptions {
    /// A secret as these options say: masked unless `--show-secrets`.
    /// Not escaped: a terminal output escapes it like any wire text.
    pub fn shown(&self, secret: &Secret) -> String {
        if self.show_secrets {
            secret.reveal().to_string()
        } else {
            secret.to_string()
        }
    }
}

/// A consumer of finished (or snapshotted) sessions.
pub trait SessionWriter {
    fn session(&mut self, s: &Session) -> io::Result<()>;
    fn finish(&mut self) -> io::Result<()>;
    /// Text written after the last session (the text run's findings
    /// summary); formats that cannot carry it ignore it.
    fn trailer(&mut self, _text: &str) -> io::Result<()> {
        Ok(())
    }
}
