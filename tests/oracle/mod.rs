//! The message summary as it was computed before the streaming summarizer:
//! mail-parser over the whole retained message. Kept only as a test oracle
//! for `message_stream.rs`; copied from src/smtp/message.rs at f570bf9 with
//! the content accessors left out.
#![allow(dead_code)]

use std::borrow::Cow;
use std::fmt::Write;
use std::ops::ControlFlow;

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{
    Addr, Encoding, HeaderName, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders,
    PartType,
};
use sha2::{Digest, Sha256};
use smtpscope::smtp::message::{
    MessageSummary, MimePart, MAX_BOUNDARY_LEN, MAX_MIME_BOUNDARIES, MAX_MIME_DEPTH, MAX_MIME_PARTS,
};

/// The old `MessageSummary::parse`.
pub fn parse(raw: &[u8], truncated: bool) -> MessageSummary {
    let mut summary = MessageSummary {
        truncated,
        ..MessageSummary::default()
    };
    fill_headers(&mut summary, raw);

    let (input, input_capped) = mime_input(raw);
    summary.parts_capped = input_capped;
    let Some(message) = parse_mime(input) else {
        // Headers were found but the MIME parser gave up.
        summary.mime_error = !summary.headers.is_empty();
        return summary;
    };
    if let Some(root) = message.parts.first() {
        let mut from = Vec::new();
        for header in &root.headers {
            let list = match header.name {
                HeaderName::From => &mut from,
                HeaderName::To => &mut summary.to,
                HeaderName::Cc => &mut summary.cc,
                _ => continue,
            };
            if let Some(address) = header.value.as_address() {
                list.extend(address.iter().map(format_addr));
            }
        }
        if !from.is_empty() {
            summary.from = Some(from.join(", "));
        }
        if let Some(id) = root
            .headers
            .iter()
            .find(|h| h.name == HeaderName::MessageId)
            .and_then(|h| h.value.as_text())
        {
            summary.message_id = Some(id.to_string());
        }
    }

    let mut parts = Vec::new();
    let walk_capped = walk(&message, |node| {
        parts.push(describe(&node));
        ControlFlow::Continue(())
    });
    summary.parts = parts;
    summary.parts_capped |= walk_capped;
    summary
}

/// Headers as unstructured text: every value has its RFC 2047 words
/// decoded and its folding removed, the way a reader sees it.
fn fill_headers(summary: &mut MessageSummary, raw: &[u8]) {
    // A non-empty header map makes mail-parser use the default (here:
    // unstructured text) for every header it has no entry for.
    let parser = MessageParser::new()
        .header_text(HeaderName::Subject)
        .default_header_text();
    let Some(message) = catch(|| parser.parse_headers(raw)) else {
        return;
    };
    let Some(root) = message.parts.first() else {
        return;
    };
    for header in &root.headers {
        let value = match &header.value {
            HeaderValue::Text(text) => text.to_string(),
            _ => String::new(),
        };
        summary
            .headers
            .push((header.name.as_str().to_string(), value));
    }
    let first = |name: &str| {
        summary
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    summary.subject = first("Subject");
    summary.date = first("Date");
    summary.user_agent = first("User-Agent").or_else(|| first("X-Mailer"));
    summary.received_count = summary
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Received"))
        .count();
}

/// mail-parser is written not to panic, but it carries `debug_assert!`s and
/// unchecked offset arithmetic on recovery paths that hostile input reaches.
/// A panic there must cost one message summary, not the whole capture.
fn catch<T>(f: impl FnOnce() -> Option<T>) -> Option<T> {
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
    catch(|| MessageParser::default().parse(raw))
}

/// One part met in the walk, with the message whose `raw_message` its
/// offsets refer to.
struct Node<'m, 'x> {
    depth: usize,
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
        if visit(Node {
            depth,
            container,
            part,
        })
        .is_break()
        {
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

fn describe(node: &Node<'_, '_>) -> MimePart {
    let part = node.part;
    let content_type = match part.content_type() {
        Some(ct) => match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_string(),
        },
        // RFC 2045 section 5.2 default (RFC 2046 section 5.1.5 inside a
        // digest, which mail-parser has already applied).
        None if matches!(part.body, PartType::Message(_)) => "message/rfc822".to_string(),
        None => "text/plain".to_string(),
    }
    .to_ascii_lowercase();
    let filename = part.attachment_name().map(str::to_string);
    let is_attachment = filename.is_some()
        || part
            .content_disposition()
            .is_some_and(|cd| cd.is_attachment());
    let content = decoded_content(node);
    // A nested message's content is described by its own parts.
    let is_leaf = !matches!(part.body, PartType::Multipart(_) | PartType::Message(_));
    MimePart {
        depth: node.depth,
        content_type,
        transfer_encoding: part
            .content_transfer_encoding()
            .map(|e| e.trim().to_ascii_lowercase()),
        filename,
        charset: part
            .content_type()
            .and_then(|ct| ct.attribute("charset"))
            .map(str::to_string),
        decoded_size: content.len() as u64,
        sha256: is_leaf.then(|| hex_sha256(&content)),
        is_attachment,
        encoding_problem: part.is_encoding_problem,
        ..MimePart::default()
    }
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

fn hex_sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out
}
