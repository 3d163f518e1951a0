//! The message layer: what a DATA or BDAT transfer carried, summarized from
//! its headers and MIME structure.
//!
//! Input is exactly the message the server received (dot-unstuffed DATA or
//! concatenated BDAT chunks), possibly cut short (`truncated`) when the
//! transfer hit a gap or ended early.
//!
//! Summaries come from the streaming [`MimeSummarizer`](super::mime), which
//! the decoder runs while the message arrives; [`MessageSummary::parse`] is
//! the same summarizer fed one slice. The content accessors
//! ([`part_content`], [`body_text`], [`try_for_each_part_content`]) run only
//! on explicit export or view, on retained bytes, with mail-parser.
//!
//! Invariants: no input panics (mail-parser calls are also behind
//! `catch_unwind`); work is linear in the input: the streaming summarizer
//! looks at each byte once, and for the accessors the MIME parser only sees
//! the prefix before too many or too long `boundary=` parameters and the
//! tree walk is iterative with depth and part caps; anything left out is
//! flagged in `parts_capped`. Values are decoded but not escaped: escaping is
//! the outputs' job. Part indices are the same in `parts`, `part_content` and
//! `try_for_each_part_content` for well-formed messages.

use std::borrow::Cow;
use std::fmt::Write;
use std::ops::ControlFlow;

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{
    Addr, Encoding, HeaderName, HeaderValue, Message, MessageParser, MessagePart, PartType,
};
use serde::Serialize;
#[cfg(test)]
use sha2::{Digest, Sha256};

use super::mime::MimeSummarizer;

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
    /// True when [`MAX_MIME_DEPTH`] or [`MAX_MIME_PARTS`] left parts out.
    pub parts_capped: bool,
    /// True when headers were found but the MIME parser gave up, so `parts`
    /// is empty.
    pub mime_error: bool,
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
    /// The declared transfer encoding or nesting did not decode cleanly
    /// (e.g. bytes outside the base64 alphabet, which were skipped).
    pub encoding_problem: bool,
    /// What the decoded content's first bytes say it is, whatever its name
    /// or declared type (see [`magic_class`]); leaf parts only.
    pub magic: Option<&'static str>,
    /// First decoded bytes (up to 16) of a leaf part, e.g. `MZ` of a
    /// Windows executable behind an innocent name.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "ser_hex")]
    pub first_bytes: Vec<u8>,
    /// The part's header block was longer than the summarizer keeps
    /// ([`MAX_PART_HEADER_BYTES`](super::mime::MAX_PART_HEADER_BYTES)); the
    /// rest was skipped.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub headers_truncated: bool,
}

fn ser_hex<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(b))
}

impl MessageSummary {
    /// Parts a mail client would offer as attachments.
    pub fn attachments(&self) -> impl Iterator<Item = &MimePart> {
        self.parts.iter().filter(|p| p.is_attachment)
    }
}

/// Deepest MIME nesting described; deeper parts are left out and
/// `parts_capped` is set. Sixty-four levels is far beyond any real client.
pub const MAX_MIME_DEPTH: usize = 64;

/// Most MIME parts described per message; the rest are left out and
/// `parts_capped` is set.
pub const MAX_MIME_PARTS: usize = 10_000;

/// Most `boundary=` parameters handed to the MIME parser. mail-parser scans
/// to the end of the input for a boundary it cannot find, so each multipart
/// costs up to the message length: this cap keeps parsing linear.
pub const MAX_MIME_BOUNDARIES: usize = 128;

/// Longest `boundary=` value handed to the MIME parser (RFC 2046 section
/// 5.1.1 allows 70). Matching costs up to the boundary length at every `--`.
pub const MAX_BOUNDARY_LEN: usize = 200;

impl MessageSummary {
    /// Summarize `raw` (the message as the server received it) with the
    /// streaming summarizer. Never panics; on input with no header at all
    /// the summary is empty apart from `truncated`.
    pub fn parse(raw: &[u8], truncated: bool) -> MessageSummary {
        let mut m = MimeSummarizer::new();
        m.feed(raw);
        m.finish(truncated)
    }

    /// From, To, Cc and Message-ID from the root part's structured headers.
    pub(crate) fn fill_addresses(&mut self, root: &MessagePart<'_>) {
        let mut from = Vec::new();
        for header in &root.headers {
            let list = match header.name {
                HeaderName::From => &mut from,
                HeaderName::To => &mut self.to,
                HeaderName::Cc => &mut self.cc,
                _ => continue,
            };
            if let Some(address) = header.value.as_address() {
                list.extend(address.iter().map(format_addr));
            }
        }
        if !from.is_empty() {
            self.from = Some(from.join(", "));
        }
        if let Some(id) = root
            .headers
            .iter()
            .find(|h| h.name == HeaderName::MessageId)
            .and_then(|h| h.value.as_text())
        {
            self.message_id = Some(id.to_string());
        }
    }

    /// Headers as unstructured text: every value has its RFC 2047 words
    /// decoded and its folding removed, the way a reader sees it.
    pub(crate) fn fill_headers(&mut self, raw: &[u8]) {
        // A non-empty header map makes mail-parser use the default (here:
        // unstructured text) for every header it has no entry for.
        static AS_TEXT: std::sync::LazyLock<MessageParser> = std::sync::LazyLock::new(|| {
            MessageParser::new()
                .header_text(HeaderName::Subject)
                .default_header_text()
        });
        let Some(message) = catch(|| AS_TEXT.parse_headers(raw)) else {
            return;
        };
        let Some(root) = message.parts.first() else {
            return;
        };
        for header in &root.headers {
            // The raw value decoded here: mail-parser's text folds runs of
            // whitespace into one space, which RFC 5322 unfolding keeps.
            let raw_value = raw
                .get(header.offset_start as usize..header.offset_end as usize)
                .and_then(|v| catch(|| Some(unstructured(v))));
            let value = match (&header.value, raw_value) {
                (_, Some(v)) => v,
                (HeaderValue::Text(text), None) => text.to_string(),
                _ => String::new(),
            };
            self.headers.push((header.name.as_str().to_string(), value));
        }
        let first = |name: &str| {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        self.subject = first("Subject");
        self.date = first("Date");
        self.user_agent = first("User-Agent").or_else(|| first("X-Mailer"));
        self.received_count = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("Received"))
            .count();
    }
}

/// Decoded content of the `index`-th part, counted in the depth-first order of
/// [`MessageSummary::parts`]. `None` for a multipart (it has no content of
/// its own) or an index past the end.
pub fn part_content(raw: &[u8], index: usize) -> Option<Vec<u8>> {
    let mut found = None;
    let _ = try_for_each_part_content(raw, |i, content| {
        if i == index {
            found = Some(content.to_vec());
            return Err(());
        }
        Ok(())
    });
    found
}

/// Call `f` with the index (as in [`MessageSummary::parts`]) and decoded
/// content of every part that has content of its own (all but multiparts),
/// in one parse. Stops at the first error and returns it.
pub fn try_for_each_part_content<E>(
    raw: &[u8],
    mut f: impl FnMut(usize, &[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let Some(message) = parse_mime(mime_input(raw).0) else {
        return Ok(());
    };
    let mut index = 0;
    let mut result = Ok(());
    walk(&message, |node| {
        if !matches!(node.part.body, PartType::Multipart(_)) {
            if let Err(e) = f(index, &decoded_content(&node)) {
                result = Err(e);
                return ControlFlow::Break(());
            }
        }
        index += 1;
        ControlFlow::Continue(())
    });
    result
}

/// The text a reader would see first: the first text/plain body, or the
/// first text/html body reduced to text.
pub fn body_text(raw: &[u8]) -> Option<String> {
    let message = parse_mime(mime_input(raw).0)?;
    let text = catch(|| message.body_text(0).map(|t| t.into_owned()))?;
    Some(text)
}

/// Longest encoded-word decoded. RFC 2047 §2 allows 75 characters; some
/// mailers write a whole long subject as one word.
const MAX_WORD: usize = 4096;

/// An unstructured header value (RFC 5322 §3.2.5) as a reader sees it:
/// unfolded (§2.2.3: a line break before whitespace goes, the whitespace
/// stays), RFC 2047 encoded-words decoded, the whitespace between two
/// adjacent encoded-words dropped (RFC 2047 §6.2); all other whitespace is
/// kept as it came, runs included, and the value trimmed at both ends.
/// Bytes outside encoded-words are UTF-8, invalid sequences replaced.
/// Encoded-words are found also where a sender glued them to text, as mail
/// clients decode them. Each `=?` is tried over at most [`MAX_WORD`] bytes,
/// so a header of unterminated `=?` costs linear time.
pub(crate) fn unstructured(raw: &[u8]) -> String {
    let mut text = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match (b, raw.get(i + 1)) {
            (b'\r', Some(b'\n')) => i += 2,
            (b'\n', _) => i += 1,
            _ => {
                text.push(b);
                i += 1;
            }
        }
    }
    let is_wsp = |b: &u8| matches!(b, b' ' | b'\t');
    let start = text.iter().position(|b| !is_wsp(b)).unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|b| !is_wsp(b))
        .map_or(start, |e| e + 1);
    let text = text.get(start..end).unwrap_or_default();

    let mut out = String::with_capacity(text.len());
    // Text not yet written, from here; after an encoded-word or not.
    let mut plain = 0;
    let mut after_word = false;
    for at in memchr::memmem::find_iter(text, b"=?") {
        if at < plain {
            continue; // inside the word just decoded
        }
        let rest = text.get(at + 1..).unwrap_or_default();
        let rest = rest.get(..MAX_WORD.min(rest.len())).unwrap_or(rest);
        let mut stream = mail_parser::parsers::MessageStream::new(rest);
        let Some(decoded) = stream.decode_rfc2047() else {
            continue;
        };
        let between = text.get(plain..at).unwrap_or_default();
        if !(after_word && between.iter().all(is_wsp)) {
            out.push_str(&String::from_utf8_lossy(between));
        }
        out.push_str(&decoded);
        plain = at + 1 + stream.offset();
        after_word = true;
    }
    out.push_str(&String::from_utf8_lossy(
        text.get(plain..).unwrap_or_default(),
    ));
    out
}

/// mail-parser is written not to panic, but it carries `debug_assert!`s and
/// unchecked offset arithmetic on recovery paths that hostile input reaches.
/// A panic there must cost one message summary, not the whole capture.
pub(crate) fn catch<T>(f: impl FnOnce() -> Option<T>) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .ok()
        .flatten()
}

/// The prefix of `raw` the MIME parser may see, and whether it is shorter
/// than `raw`: it ends before the first `boundary=` parameter past
/// [`MAX_MIME_BOUNDARIES`] or longer than [`MAX_BOUNDARY_LEN`]. One pass,
/// O(1) work per `b`.
fn mime_input(raw: &[u8]) -> (&[u8], bool) {
    let mut boundaries = 0;
    for at in memchr::memchr2_iter(b'b', b'B', raw) {
        let Some(value) = boundary_param_value(&raw[at..]) else {
            continue;
        };
        boundaries += 1;
        if boundaries > MAX_MIME_BOUNDARIES || value > MAX_BOUNDARY_LEN {
            return (&raw[..at], true);
        }
    }
    (raw, false)
}

/// If `s` starts with a `boundary` parameter (`boundary=`, or RFC 2231
/// `boundary*=`, `boundary*0*=`), the length of its value, counted up to one
/// past [`MAX_BOUNDARY_LEN`].
fn boundary_param_value(s: &[u8]) -> Option<usize> {
    const NAME: &[u8] = b"boundary";
    if !s.get(..NAME.len())?.eq_ignore_ascii_case(NAME) {
        return None;
    }
    let mut rest = &s[NAME.len()..];
    if let Some(after_star) = rest.strip_prefix(b"*") {
        let digits = after_star.iter().take_while(|c| c.is_ascii_digit()).count();
        rest = &after_star[digits..];
        rest = rest.strip_prefix(b"*").unwrap_or(rest);
    }
    let rest = trim_blank(rest).strip_prefix(b"=")?;
    let rest = trim_blank(rest);
    let rest = rest.strip_prefix(b"\"").unwrap_or(rest);
    Some(
        rest.iter()
            .take(MAX_BOUNDARY_LEN + 1)
            .take_while(|&&c| !matches!(c, b'"' | b';' | b'\r' | b'\n'))
            .count(),
    )
}

fn trim_blank(s: &[u8]) -> &[u8] {
    let blanks = s.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
    &s[blanks..]
}

fn parse_mime(raw: &[u8]) -> Option<Message<'_>> {
    catch(|| STRUCTURE.parse(raw))
}

/// How both views of a message (the streaming summary and the whole-message
/// parse behind export and the message view) read headers: those that
/// build the MIME tree or that the summary reports, with mail-parser's own
/// parsers; every other header is skipped to the end of its line. One
/// configuration for both keeps their part numbering equal; skipping
/// spares the costly parsers (Received) and keeps a malformed Date, whose
/// parser can run into the next line, from hiding the header after it.
pub(crate) static STRUCTURE: std::sync::LazyLock<MessageParser> = std::sync::LazyLock::new(|| {
    MessageParser::new()
        .header_content_type(HeaderName::ContentType)
        .header_content_type(HeaderName::ContentDisposition)
        .header_text(HeaderName::ContentTransferEncoding)
        .header_address(HeaderName::From)
        .header_address(HeaderName::To)
        .header_address(HeaderName::Cc)
        .header_id(HeaderName::MessageId)
        .default_header_ignore()
});

/// One part met in the walk, with the message whose `raw_message` its
/// offsets refer to.
struct Node<'m, 'x> {
    container: &'m Message<'x>,
    part: &'m MessagePart<'x>,
}

/// Visit the MIME tree depth-first, root first, with an explicit stack (no
/// recursion, so nesting depth cannot overflow ours). Returns true when a cap
/// left parts out.
fn walk<'m, 'x>(
    message: &'m Message<'x>,
    mut visit: impl FnMut(Node<'m, 'x>) -> ControlFlow<()>,
) -> bool {
    let mut capped = false;
    let mut visited = 0usize;
    let mut stack: Vec<(&'m Message<'x>, usize, usize)> = vec![(message, 0, 0)];
    while let Some((container, id, depth)) = stack.pop() {
        let Some(part) = container.parts.get(id) else {
            continue;
        };
        if depth > MAX_MIME_DEPTH || visited == MAX_MIME_PARTS {
            capped = true;
            if visited == MAX_MIME_PARTS {
                break;
            }
            continue;
        }
        visited += 1;
        if visit(Node { container, part }).is_break() {
            break;
        }
        match &part.body {
            // Children always come after their parent in `parts`; following
            // only forward ids makes a malformed tree unable to loop.
            PartType::Multipart(children) => stack.extend(
                children
                    .iter()
                    .rev()
                    .map(|&c| c as usize)
                    .filter(|&c| c > id)
                    .map(|c| (container, c, depth + 1)),
            ),
            PartType::Message(nested) => stack.push((nested, 0, depth + 1)),
            _ => {}
        }
    }
    capped
}

/// A file-type class from leading magic bytes: the few types that matter
/// when the name says otherwise (an executable behind `invoice.pdf`).
pub fn magic_class(content: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"MZ", "pe-executable"),
        (b"\x7fELF", "elf-executable"),
        (b"\xca\xfe\xba\xbe", "mach-o-executable"),
        (b"\xcf\xfa\xed\xfe", "mach-o-executable"),
        (b"PK\x03\x04", "zip"),
        (b"Rar!", "rar"),
        (b"7z\xbc\xaf\x27\x1c", "7z"),
        (b"%PDF", "pdf"),
        (b"\xd0\xcf\x11\xe0", "ole2"),
    ];
    MAGIC
        .iter()
        .find(|(m, _)| content.starts_with(m))
        .map(|(_, class)| *class)
}

/// The part's bytes after transfer decoding but before any charset
/// conversion, so that a hash matches the file a client would save.
/// mail-parser keeps text parts converted to UTF-8, so those are decoded
/// again from the raw body.
fn decoded_content<'m>(node: &Node<'m, '_>) -> Cow<'m, [u8]> {
    let part = node.part;
    match &part.body {
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => Cow::Borrowed(bytes.as_ref()),
        PartType::Text(text) | PartType::Html(text) => {
            raw_decoded(node).unwrap_or(Cow::Borrowed(text.as_bytes()))
        }
        PartType::Message(nested) => {
            raw_decoded(node).unwrap_or(Cow::Borrowed(nested.raw_message.as_ref()))
        }
        PartType::Multipart(_) => Cow::Borrowed(&[]),
    }
}

fn raw_decoded<'m>(node: &Node<'m, '_>) -> Option<Cow<'m, [u8]>> {
    let part = node.part;
    let body = node
        .container
        .raw_message
        .get(part.offset_body as usize..part.offset_end as usize)?;
    match part.encoding {
        Encoding::None => Some(Cow::Borrowed(body)),
        Encoding::Base64 => base64_decode(body).map(Cow::Owned),
        Encoding::QuotedPrintable => quoted_printable_decode(body).map(Cow::Owned),
    }
}

fn format_addr(addr: &Addr<'_>) -> String {
    match (addr.name(), addr.address()) {
        (Some(name), Some(address)) => format!("{name} <{address}>"),
        (Some(only), None) | (None, Some(only)) => only.to_string(),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
fn hex_sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex of a digest.
pub(crate) fn hex_sha256_digest(digest: &[u8]) -> String {
    hex(digest)
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn sha(bytes: &[u8]) -> String {
        hex_sha256(bytes)
    }

    fn crlf(s: &str) -> Vec<u8> {
        s.replace('\n', "\r\n").into_bytes()
    }

    #[test]
    fn test_magic_class_names_executables_and_archives() {
        assert_eq!(magic_class(b"MZ\x90\x00"), Some("pe-executable"));
        assert_eq!(magic_class(b"PK\x03\x04rest"), Some("zip"));
        assert_eq!(magic_class(b"Hello"), None);
        assert_eq!(magic_class(b""), None);
    }

    #[test]
    fn test_simple_text_message() {
        let raw = crlf(
            "Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\n\
             Received: from c by a; Mon, 1 Jan 2024 00:00:00 +0000\n\
             From: Alice <alice@example.org>\n\
             To: bob@example.com, \"Carol C\" <carol@example.com>\n\
             Cc: dave@example.net\n\
             Subject: Hello\n\
             Date: Mon, 1 Jan 2024 00:00:00 +0000\n\
             Message-ID: <abc@example.org>\n\
             X-Mailer: Test 1.0\n\
             \n\
             Hi Bob.\n",
        );
        let s = MessageSummary::parse(&raw, false);
        assert_eq!(s.from.as_deref(), Some("Alice <alice@example.org>"));
        assert_eq!(s.to, ["bob@example.com", "Carol C <carol@example.com>"]);
        assert_eq!(s.cc, ["dave@example.net"]);
        assert_eq!(s.subject.as_deref(), Some("Hello"));
        assert_eq!(s.date.as_deref(), Some("Mon, 1 Jan 2024 00:00:00 +0000"));
        assert_eq!(s.message_id.as_deref(), Some("abc@example.org"));
        assert_eq!(s.user_agent.as_deref(), Some("Test 1.0"));
        assert_eq!(s.received_count, 2);
        let names: Vec<&str> = s.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "Received",
                "Received",
                "From",
                "To",
                "Cc",
                "Subject",
                "Date",
                "Message-ID",
                "X-Mailer"
            ]
        );
        assert_eq!(s.parts.len(), 1);
        let p = &s.parts[0];
        assert_eq!(p.content_type, "text/plain");
        assert_eq!(p.depth, 0);
        assert!(!p.is_attachment);
        assert_eq!(p.sha256.as_deref(), Some(sha(b"Hi Bob.\r\n").as_str()));
        assert!(!s.truncated && !s.parts_capped && !s.mime_error);
        assert_eq!(body_text(&raw).as_deref(), Some("Hi Bob.\r\n"));
    }

    fn mixed_with_attachment(content: &[u8]) -> Vec<u8> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(content);
        let wrapped: Vec<&str> = b64
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        crlf(&format!(
            "From: a@example.org\n\
             Subject: report\n\
             MIME-Version: 1.0\n\
             Content-Type: Multipart/Mixed; boundary=\"XYZ\"\n\
             \n\
             preamble\n\
             --XYZ\n\
             Content-Type: text/plain; charset=us-ascii\n\
             \n\
             See attached.\n\
             --XYZ\n\
             Content-Type: application/octet-stream; name=\"report.bin\"\n\
             Content-Transfer-Encoding: BASE64\n\
             Content-Disposition: attachment; filename=\"report.bin\"\n\
             \n\
             {}\n\
             --XYZ--\n\
             epilogue\n",
            wrapped.join("\n")
        ))
    }

    #[test]
    fn test_multipart_mixed_base64_attachment_hash_and_size() {
        let content: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 256) as u8).collect();
        let raw = mixed_with_attachment(&content);
        let s = MessageSummary::parse(&raw, false);
        let types: Vec<&str> = s.parts.iter().map(|p| p.content_type.as_str()).collect();
        assert_eq!(
            types,
            ["multipart/mixed", "text/plain", "application/octet-stream"]
        );
        assert_eq!(
            s.parts.iter().map(|p| p.depth).collect::<Vec<_>>(),
            [0, 1, 1]
        );
        assert_eq!(s.parts[0].sha256, None);
        assert_eq!(s.parts[1].charset.as_deref(), Some("us-ascii"));
        let att = &s.parts[2];
        assert_eq!(att.transfer_encoding.as_deref(), Some("base64"));
        assert_eq!(att.filename.as_deref(), Some("report.bin"));
        assert!(att.is_attachment);
        assert_eq!(att.decoded_size, 1000);
        let expected = format!("{:x}", Sha256::digest(&content));
        assert_eq!(att.sha256.as_deref(), Some(expected.as_str()));
        assert_eq!(s.attachments().count(), 1);
        assert_eq!(part_content(&raw, 2).as_deref(), Some(&content[..]));
        assert_eq!(
            part_content(&raw, 1).as_deref(),
            Some(&b"See attached."[..])
        );
        assert_eq!(part_content(&raw, 0), None, "a multipart has no content");
        assert_eq!(part_content(&raw, 3), None);
        let mut seen = Vec::new();
        let all = try_for_each_part_content(&raw, |i, c| {
            seen.push((i, c.len()));
            Ok::<_, ()>(())
        });
        assert_eq!((all, seen), (Ok(()), vec![(1, 13), (2, 1000)]));
        assert_eq!(body_text(&raw).as_deref(), Some("See attached."));
    }

    /// Found in review: mail-parser's date parser runs past a Date value
    /// with junk after the zone and swallows the next header. The summary
    /// skipped Date (so it saw the Content-Type after it) while the
    /// whole-message parse did not, so export numbered the parts
    /// differently and left out the attachment the JSON reported.
    #[test]
    fn test_regression_date_with_trailing_junk_does_not_hide_next_header() {
        let content = b"MZ not really a program".to_vec();
        let raw = mixed_with_attachment(&content);
        let text = String::from_utf8(raw).unwrap();
        let raw = text
            .replacen(
                "MIME-Version: 1.0\r\n",
                "Date: Mon, 1 Jan 2024 00:00:00 +0000x\r\n",
                1,
            )
            .into_bytes();
        let s = MessageSummary::parse(&raw, false);
        let types: Vec<&str> = s.parts.iter().map(|p| p.content_type.as_str()).collect();
        assert_eq!(
            types,
            ["multipart/mixed", "text/plain", "application/octet-stream"]
        );
        assert_eq!(part_content(&raw, 2).as_deref(), Some(&content[..]));
        let mut seen = Vec::new();
        let _ = try_for_each_part_content(&raw, |i, c| {
            seen.push((i, c.len()));
            Ok::<_, ()>(())
        });
        assert_eq!(seen, vec![(1, 13), (2, content.len())]);
        assert_eq!(body_text(&raw).as_deref(), Some("See attached."));
    }

    #[test]
    fn test_quoted_printable_decoded_size_and_hash() {
        let raw = crlf(
            "Subject: qp\n\
             Content-Type: text/plain; charset=iso-8859-1\n\
             Content-Transfer-Encoding: quoted-printable\n\
             \n\
             caf=E9 cr=E8me, a soft=\n\
             break\n",
        );
        let s = MessageSummary::parse(&raw, false);
        let p = &s.parts[0];
        assert_eq!(p.transfer_encoding.as_deref(), Some("quoted-printable"));
        assert_eq!(p.charset.as_deref(), Some("iso-8859-1"));
        // The hash is over the transfer-decoded Latin-1 bytes, not UTF-8.
        let decoded = b"caf\xe9 cr\xe8me, a softbreak\r\n";
        assert_eq!(p.decoded_size, decoded.len() as u64);
        assert_eq!(p.sha256.as_deref(), Some(sha(decoded).as_str()));
        assert_eq!(part_content(&raw, 0).as_deref(), Some(&decoded[..]));
        // The message view gets the text converted to UTF-8.
        assert_eq!(
            body_text(&raw).as_deref(),
            Some("café crème, a softbreak\r\n")
        );
    }

    fn subject_of(header: &str) -> Option<String> {
        MessageSummary::parse(&crlf(&format!("Subject: {header}\n\nx\n")), false).subject
    }

    #[test]
    fn test_rfc2047_subjects() {
        assert_eq!(
            subject_of("=?UTF-8?B?R3LDvMOfZQ==?=").as_deref(),
            Some("Grüße")
        );
        assert_eq!(
            subject_of("=?utf-8?Q?Gr=C3=BC=C3=9Fe_dich?=").as_deref(),
            Some("Grüße dich")
        );
        assert_eq!(
            subject_of("=?ISO-8859-1?Q?caf=E9?=").as_deref(),
            Some("café")
        );
        assert_eq!(
            subject_of("=?iso-8859-1?B?Y2Fm6Q==?=").as_deref(),
            Some("café")
        );
        assert_eq!(
            subject_of("=?UTF-8?Q?a?=\n =?UTF-8?Q?b?= c").as_deref(),
            Some("ab c"),
            "adjacent encoded words join, folding is removed"
        );
        let headers =
            MessageSummary::parse(&crlf("Subject: =?UTF-8?B?w6k=?=\n\nx\n"), false).headers;
        assert_eq!(headers, [("Subject".to_string(), "é".to_string())]);
    }

    #[test]
    fn test_unstructured_keeps_whitespace_runs_and_drops_only_line_breaks() {
        // RFC 5322 §2.2.3: unfolding removes the CRLF, not the WSP after it.
        assert_eq!(unstructured(b" a  b\r\n   \tc\r\n"), "a  b   \tc");
        // The Arkime sample: a folded line of 53 spaces before "test".
        let raw = format!(
            " =?iso-8859-1?Q?=E9_=EE?= =?iso-8859-1?Q?__?=\r\n{}test",
            " ".repeat(53)
        );
        assert_eq!(
            unstructured(raw.as_bytes()),
            format!("é î  {}test", " ".repeat(53))
        );
    }

    #[test]
    fn test_unstructured_keeps_unterminated_words_as_text() {
        // Each `=?` is tried over MAX_WORD bytes only (before, to the end:
        // quadratic in the header's length).
        let raw = "=?ab?q?_".repeat(8_000);
        assert_eq!(unstructured(raw.as_bytes()), raw);
    }

    #[test]
    fn test_unstructured_encoded_words_rfc2047() {
        // §6.2: whitespace between adjacent encoded-words is dropped, also
        // across a fold; whitespace next to plain text is kept.
        assert_eq!(unstructured(b"=?UTF-8?Q?a?=\r\n =?UTF-8?Q?b?=  c"), "ab  c");
        assert_eq!(unstructured(b"x =?UTF-8?B?w6k=?= y"), "x é y");
        // Glued to text, as some senders write it, decoded all the same.
        assert_eq!(unstructured(b"Re:=?UTF-8?Q?caf=C3=A9?="), "Re:café");
        // Not an encoded-word: kept as it is.
        assert_eq!(
            unstructured(b"=?x =? y ?= =?UTF-8?X?a?="),
            "=?x =? y ?= =?UTF-8?X?a?="
        );
        assert_eq!(unstructured(b"\xff ok"), "\u{fffd} ok");
        assert_eq!(unstructured(b""), "");
        assert_eq!(unstructured(b" \r\n "), "");
    }

    /// mail-parser decodes GB2312/GBK only with its `full_encoding` feature,
    /// which this crate does not enable: the words are then read as UTF-8
    /// with replacement characters. What matters here: no panic, no raw
    /// bytes, the ASCII around it intact.
    #[test]
    fn test_rfc2047_gb2312_subject_without_full_encoding() {
        // "你好" in GB2312 is C4 E3 BA C3.
        let subject = subject_of("=?GB2312?B?xOO6ww==?= ok").unwrap();
        assert!(
            subject == "\u{fffd}\u{fffd}\u{fffd} ok" || subject == "你好 ok",
            "{subject:?}"
        );
    }

    #[test]
    fn test_rfc2231_filename() {
        let raw = crlf(
            "Content-Type: multipart/mixed; boundary=b\n\
             \n\
             --b\n\
             Content-Type: application/pdf\n\
             Content-Disposition: attachment;\n \
             filename*0*=UTF-8''%E2%82%AC%20rates;\n \
             filename*1=\" 2024.pdf\"\n\
             \n\
             %PDF\n\
             --b\n\
             Content-Type: application/pdf; name*=iso-8859-1'fr'r%E9sum%E9.pdf\n\
             \n\
             %PDF\n\
             --b--\n",
        );
        let s = MessageSummary::parse(&raw, false);
        assert_eq!(s.parts[1].filename.as_deref(), Some("€ rates 2024.pdf"));
        assert_eq!(s.parts[2].filename.as_deref(), Some("résumé.pdf"));
        assert!(s.parts[2].is_attachment, "a named part is an attachment");
    }

    #[test]
    fn test_nested_message_rfc822() {
        let raw = crlf(
            "Subject: fwd\n\
             Content-Type: multipart/mixed; boundary=outer\n\
             \n\
             --outer\n\
             Content-Type: text/plain\n\
             \n\
             see below\n\
             --outer\n\
             Content-Type: message/rfc822\n\
             Content-Disposition: attachment\n\
             \n\
             Subject: inner\n\
             Content-Type: multipart/alternative; boundary=inner\n\
             \n\
             --inner\n\
             Content-Type: text/plain\n\
             \n\
             inner text\n\
             --inner\n\
             Content-Type: text/html\n\
             \n\
             <p>inner</p>\n\
             --inner--\n\
             --outer--\n",
        );
        let s = MessageSummary::parse(&raw, false);
        let shape: Vec<(usize, &str)> = s
            .parts
            .iter()
            .map(|p| (p.depth, p.content_type.as_str()))
            .collect();
        assert_eq!(
            shape,
            [
                (0, "multipart/mixed"),
                (1, "text/plain"),
                (1, "message/rfc822"),
                (2, "multipart/alternative"),
                (3, "text/plain"),
                (3, "text/html"),
            ]
        );
        assert!(s.parts[2].is_attachment);
        assert_eq!(s.parts[2].sha256, None, "described by its own parts");
        assert_eq!(s.subject.as_deref(), Some("fwd"));
        assert_eq!(part_content(&raw, 4).as_deref(), Some(&b"inner text"[..]));
        let inner = part_content(&raw, 2).unwrap();
        assert!(
            inner.starts_with(b"Subject: inner\r\n"),
            "{:?}",
            String::from_utf8_lossy(&inner)
        );
        assert_eq!(s.parts[2].decoded_size, inner.len() as u64);
    }

    #[test]
    fn test_truncated_message_keeps_flag_and_parts() {
        let content = vec![0x5a; 3000];
        let full = mixed_with_attachment(&content);
        for cut in [0, 1, 10, 40, 100, 200, 300, 500, 1000, full.len() - 10] {
            let s = MessageSummary::parse(&full[..cut], true);
            assert!(s.truncated);
            for i in 0..s.parts.len() + 1 {
                let _ = part_content(&full[..cut], i);
            }
            let _ = body_text(&full[..cut]);
        }
        let s = MessageSummary::parse(&full[..full.len() - 300], true);
        assert_eq!(s.subject.as_deref(), Some("report"));
        assert!(s.parts.len() >= 2, "{:?}", s.parts);
    }

    fn nested_multiparts(levels: usize) -> Vec<u8> {
        let mut raw = Vec::new();
        for i in 0..levels {
            raw.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n")
                    .as_bytes(),
            );
        }
        raw.extend_from_slice(b"Content-Type: text/plain\r\n\r\ndeep\r\n");
        for i in (0..levels).rev() {
            raw.extend_from_slice(format!("--b{i}--\r\n").as_bytes());
        }
        raw
    }

    #[test]
    fn test_ten_thousand_nested_multiparts_are_capped_without_stack_overflow() {
        let raw = nested_multiparts(10_000);
        let s = MessageSummary::parse(&raw, false);
        assert!(s.parts_capped);
        assert_eq!(s.parts.len(), MAX_MIME_DEPTH + 1);
        assert!(s.parts.iter().all(|p| p.depth <= MAX_MIME_DEPTH));
        assert_eq!(part_content(&raw, MAX_MIME_DEPTH + 1), None);
    }

    #[test]
    fn test_nesting_past_max_depth_is_capped() {
        let levels = MAX_MIME_DEPTH + 10;
        assert!(
            levels < MAX_MIME_BOUNDARIES,
            "exercise the walk's cap, not the input cap"
        );
        let s = MessageSummary::parse(&nested_multiparts(levels), false);
        assert!(s.parts_capped);
        assert_eq!(s.parts.len(), MAX_MIME_DEPTH + 1);
        let s = MessageSummary::parse(&nested_multiparts(MAX_MIME_DEPTH), false);
        assert!(!s.parts_capped);
        assert_eq!(s.parts.len(), MAX_MIME_DEPTH + 1);
        assert_eq!(s.parts[MAX_MIME_DEPTH].content_type, "text/plain");
    }

    #[test]
    fn test_unfound_boundaries_are_described_as_leaves_in_linear_time() {
        // Each multipart whose boundary never comes made mail-parser scan to
        // the end of the input (quadratic); the streaming summarizer sees
        // each byte once and describes every such part as a leaf.
        let mut raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
        let n = MAX_MIME_BOUNDARIES * 4;
        for _ in 0..n {
            raw.extend_from_slice(
                b"--b\r\nContent-Type: multipart/mixed; BOUNDARY = zz\r\n\r\nx\r\n",
            );
        }
        let s = MessageSummary::parse(&raw, false);
        assert!(!s.parts_capped);
        assert_eq!(s.parts.len(), n + 1);
        let p = &s.parts[1];
        assert_eq!(
            (p.content_type.as_str(), p.decoded_size),
            ("multipart/mixed", 1)
        );
        assert_eq!(p.sha256.as_deref(), Some(sha(b"x").as_str()));
    }

    #[test]
    fn test_overlong_boundary_is_not_parsed() {
        for long in ["0".repeat(MAX_BOUNDARY_LEN + 1), "-".repeat(5000)] {
            let raw = format!(
                "Subject: s\r\nContent-Type: multipart/mixed; boundary*0*=\"{long}\"\r\n\r\n--{long}\r\n\r\nx\r\n"
            );
            let s = MessageSummary::parse(raw.as_bytes(), false);
            assert!(s.parts_capped);
            assert_eq!(
                s.subject.as_deref(),
                Some("s"),
                "headers still come from the whole input"
            );
        }
        let ok = "q".repeat(70);
        let raw = format!(
            "Content-Type: multipart/mixed; boundary={ok}\r\n\r\n--{ok}\r\n\r\nx\r\n--{ok}--\r\n"
        );
        let s = MessageSummary::parse(raw.as_bytes(), false);
        assert!(!s.parts_capped);
        assert_eq!(s.parts.len(), 2);
    }

    #[test]
    fn test_boundary_param_value() {
        assert_eq!(boundary_param_value(b"boundary=abc;"), Some(3));
        assert_eq!(boundary_param_value(b"Boundary = \"a b\""), Some(3));
        assert_eq!(boundary_param_value(b"boundary*1*=''12345\r\n"), Some(7));
        assert_eq!(boundary_param_value(b"boundary line"), None);
        assert_eq!(boundary_param_value(b"bound"), None);
        assert_eq!(
            boundary_param_value("boundary=".repeat(2).as_bytes()),
            Some("boundary=".len())
        );
    }

    #[test]
    fn test_many_parts_are_capped() {
        let mut raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
        for _ in 0..MAX_MIME_PARTS + 10 {
            raw.extend_from_slice(b"--b\r\n\r\nx\r\n");
        }
        raw.extend_from_slice(b"--b--\r\n");
        let s = MessageSummary::parse(&raw, false);
        assert!(s.parts_capped);
        assert_eq!(s.parts.len(), MAX_MIME_PARTS);
    }

    #[test]
    fn test_empty_input() {
        let s = MessageSummary::parse(b"", true);
        assert_eq!(
            s,
            MessageSummary {
                truncated: true,
                ..Default::default()
            }
        );
        assert_eq!(part_content(b"", 0), None);
        assert_eq!(body_text(b""), None);
    }

    #[test]
    fn test_non_utf8_header_bytes() {
        let raw = b"Subject: caf\xe9 \xff\xfe\r\nFrom: \xc3\x28 <x@example.org>\r\nX-Bin: \x00\x1b[31m\r\n\r\nbody \xff\r\n";
        let s = MessageSummary::parse(raw, false);
        let subject = s.subject.unwrap();
        assert!(subject.starts_with("caf"), "{subject:?}");
        assert_eq!(s.headers.len(), 3);
        assert_eq!(s.parts.len(), 1);
        assert_eq!(s.parts[0].decoded_size, 8);
    }
}
