//! The message layer: what a DATA or BDAT transfer carried, summarized from
//! its headers and MIME structure.
//!
//! Input is exactly the message the server received (dot-unstuffed DATA or
//! concatenated BDAT chunks), possibly cut short (`truncated`) when the
//! transfer hit a gap or the retention cap.

use serde::Serialize;

/// Headers and MIME tree of one message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MessageSummary {
    /// Subject with RFC 2047 encoded-words decoded.
    pub subject: Option<String>,
    pub from: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub date: Option<String>,
    pub message_id: Option<String>,
    /// User-Agent or X-Mailer.
    pub user_agent: Option<String>,
    pub received_count: usize,
    /// Every header as (name, decoded value), in order, for the message view.
    pub headers: Vec<(String, String)>,
    /// Depth-first MIME tree, root first.
    pub parts: Vec<MimePart>,
    /// True when the input was not the whole message.
    pub truncated: bool,
}

/// One node of the MIME tree.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MimePart {
    /// Nesting depth, 0 for the root.
    pub depth: usize,
    /// e.g. `text/plain`, lowercased.
    pub content_type: String,
    pub transfer_encoding: Option<String>,
    pub filename: Option<String>,
    pub charset: Option<String>,
    /// Size after transfer decoding (base64, quoted-printable).
    pub decoded_size: u64,
    /// Hex SHA-256 of the decoded content (leaf parts only).
    pub sha256: Option<String>,
    pub is_attachment: bool,
}

impl MessageSummary {
    /// Parts a mail client would offer as attachments.
    pub fn attachments(&self) -> impl Iterator<Item = &MimePart> {
        self.parts.iter().filter(|p| p.is_attachment)
    }
}
