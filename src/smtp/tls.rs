//! TLS after STARTTLS (RFC 3207) or on an implicit-TLS port (RFC 8314):
//! record detection and a small bounded ClientHello parser (RFC 8446 §4.1.2,
//! RFC 6066 §3 server_name, RFC 8446 §4.2.1 supported_versions).
//!
//! The parser reassembles handshake bytes from consecutive handshake
//! records up to [`MAX_HELLO`] and never reads out of bounds: every length
//! is checked against what is there.

use serde::Serialize;

/// Cap on handshake bytes buffered to find the ClientHello.
pub const MAX_HELLO: usize = 64 * 1024;

const CONTENT_ALERT: u8 = 0x15;
const CONTENT_HANDSHAKE: u8 = 0x16;
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
const EXT_SERVER_NAME: u16 = 0;
const EXT_SUPPORTED_VERSIONS: u16 = 43;
const EXT_ALPN: u16 = 16;

/// Does `b` begin like a TLS record (`type 0x03 0x00..=0x04`)? `None`
/// when too few bytes are there to tell.
pub fn looks_like_record(b: &[u8]) -> Option<bool> {
    let first = *b.first()?;
    if !(0x14..=0x17).contains(&first) {
        return Some(false);
    }
    let major = *b.get(1)?;
    if major != 0x03 {
        return Some(false);
    }
    let minor = *b.get(2)?;
    Some(minor <= 0x04)
}

/// Does `b` begin a record that may legitimately start a TLS stream
/// (handshake or alert)?
pub fn starts_tls_stream(b: &[u8]) -> Option<bool> {
    let first = *b.first()?;
    if first != CONTENT_HANDSHAKE && first != CONTENT_ALERT {
        return Some(false);
    }
    looks_like_record(b)
}

/// What a ClientHello offered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClientHello {
    /// Record-layer version, e.g. 0x0301.
    pub record_version: u16,
    /// `legacy_version` of the hello body, e.g. 0x0303.
    pub legacy_version: u16,
    /// From supported_versions, GREASE values removed.
    pub supported_versions: Vec<u16>,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    pub cipher_suites: usize,
}

/// Human name of a TLS protocol version.
pub fn version_name(v: u16) -> String {
    match v {
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv1.0".into(),
        0x0302 => "TLSv1.1".into(),
        0x0303 => "TLSv1.2".into(),
        0x0304 => "TLSv1.3".into(),
        v => format!("0x{v:04x}"),
    }
}

fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// Outcome of feeding bytes to the hello collector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HelloProgress {
    NeedMore,
    Parsed(ClientHello),
    /// Not a ClientHello, malformed, or over the cap: stop looking.
    Failed,
}

/// Collects the first handshake message from TLS records.
#[derive(Debug, Default)]
pub struct HelloCollector {
    /// Raw record bytes not yet split into records.
    pending: Vec<u8>,
    /// Handshake payload reassembled from records.
    handshake: Vec<u8>,
    record_version: u16,
    finished: bool,
}

impl HelloCollector {
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    pub fn feed(&mut self, bytes: &[u8]) -> HelloProgress {
        if self.finished {
            return HelloProgress::Failed;
        }
        let room = (MAX_HELLO + 5).saturating_sub(self.pending.len());
        self.pending
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
        loop {
            if self.pending.len() < 5 {
                break;
            }
            if self.pending[0] != CONTENT_HANDSHAKE || self.pending[1] != 3 {
                return self.fail();
            }
            let len = u16::from_be_bytes([self.pending[3], self.pending[4]]) as usize;
            if self.pending.len() < 5 + len {
                if self.pending.len() >= MAX_HELLO + 5 {
                    return self.fail();
                }
                break;
            }
            if self.record_version == 0 {
                self.record_version = u16::from_be_bytes([self.pending[1], self.pending[2]]);
            }
            self.handshake.extend_from_slice(&self.pending[5..5 + len]);
            self.pending.drain(..5 + len);
            if self.handshake.len() > MAX_HELLO {
                return self.fail();
            }
        }
        if self.handshake.len() >= 4 {
            if self.handshake[0] != HANDSHAKE_CLIENT_HELLO {
                return self.fail();
            }
            let len =
                u32::from_be_bytes([0, self.handshake[1], self.handshake[2], self.handshake[3]])
                    as usize;
            if len > MAX_HELLO {
                return self.fail();
            }
            if self.handshake.len() >= 4 + len {
                self.finished = true;
                let parsed = parse_client_hello_body(&self.handshake[4..4 + len]);
                self.pending = Vec::new();
                self.handshake = Vec::new();
                return match parsed {
                    Some(mut h) => {
                        h.record_version = self.record_version;
                        HelloProgress::Parsed(h)
                    }
                    None => HelloProgress::Failed,
                };
            }
        }
        if bytes.len() > room {
            return self.fail();
        }
        HelloProgress::NeedMore
    }

    fn fail(&mut self) -> HelloProgress {
        self.finished = true;
        self.pending = Vec::new();
        self.handshake = Vec::new();
        HelloProgress::Failed
    }
}

/// A bounds-checked reader; every accessor returns None past the end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()? as usize;
        self.take(n)
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()? as usize;
        self.take(n)
    }
}

/// Parse a ClientHello body (after the 4-byte handshake header).
pub fn parse_client_hello_body(body: &[u8]) -> Option<ClientHello> {
    let mut r = Reader(body);
    let mut h = ClientHello {
        legacy_version: r.u16()?,
        ..ClientHello::default()
    };
    r.take(32)?; // random
    r.vec8()?; // session id
    h.cipher_suites = r.vec16()?.len() / 2;
    r.vec8()?; // compression methods
    if r.0.is_empty() {
        return Some(h); // no extensions (SSLv3-era hello)
    }
    let mut exts = Reader(r.vec16()?);
    while !exts.0.is_empty() {
        let ty = exts.u16()?;
        let mut data = Reader(exts.vec16()?);
        match ty {
            EXT_SERVER_NAME => {
                let mut list = Reader(data.vec16()?);
                while !list.0.is_empty() {
                    let name_type = list.u8()?;
                    let name = list.vec16()?;
                    if name_type == 0 && h.sni.is_none() {
                        h.sni = Some(String::from_utf8_lossy(name).into_owned());
                    }
                }
            }
            EXT_SUPPORTED_VERSIONS => {
                let list = data.vec8()?;
                h.supported_versions = list
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .filter(|v| !is_grease(*v))
                    .collect();
            }
            EXT_ALPN => {
                let mut list = Reader(data.vec16()?);
                while !list.0.is_empty() {
                    h.alpn
                        .push(String::from_utf8_lossy(list.vec8()?).into_owned());
                }
            }
            _ => {}
        }
    }
    Some(h)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A ClientHello record with SNI and supported_versions, as a test
    /// fixture (also used by the session tests).
    pub fn client_hello_record(sni: &str, versions: &[u16]) -> Vec<u8> {
        let mut exts = Vec::new();
        // server_name
        let name = sni.as_bytes();
        let mut sn = Vec::new();
        sn.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
        sn.push(0);
        sn.extend_from_slice(&(name.len() as u16).to_be_bytes());
        sn.extend_from_slice(name);
        exts.extend_from_slice(&0u16.to_be_bytes());
        exts.extend_from_slice(&(sn.len() as u16).to_be_bytes());
        exts.extend_from_slice(&sn);
        // GREASE extension, empty
        exts.extend_from_slice(&[0x1a, 0x1a, 0, 0]);
        // supported_versions
        let mut sv = vec![(versions.len() * 2 + 2) as u8, 0x3a, 0x3a];
        for v in versions {
            sv.extend_from_slice(&v.to_be_bytes());
        }
        exts.extend_from_slice(&43u16.to_be_bytes());
        exts.extend_from_slice(&(sv.len() as u16).to_be_bytes());
        exts.extend_from_slice(&sv);

        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[7u8; 32]);
        body.push(0); // session id
        body.extend_from_slice(&[0, 4, 0x13, 0x01, 0x13, 0x02]);
        body.extend_from_slice(&[1, 0]);
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(&exts);

        let mut hs = vec![HANDSHAKE_CLIENT_HELLO];
        hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&body);
        let mut rec = vec![CONTENT_HANDSHAKE, 3, 1];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn test_client_hello_sni_and_versions() {
        let rec = client_hello_record("mail.example.org", &[0x0304, 0x0303]);
        let mut c = HelloCollector::default();
        let HelloProgress::Parsed(h) = c.feed(&rec) else {
            panic!("not parsed")
        };
        assert_eq!(h.sni.as_deref(), Some("mail.example.org"));
        assert_eq!(h.supported_versions, vec![0x0304, 0x0303]);
        assert_eq!(h.legacy_version, 0x0303);
        assert_eq!(h.record_version, 0x0301);
        assert_eq!(h.cipher_suites, 2);
    }

    #[test]
    fn test_client_hello_byte_by_byte_and_split_records() {
        let rec = client_hello_record("a.example", &[0x0303]);
        let mut c = HelloCollector::default();
        let mut got = None;
        for b in &rec {
            match c.feed(std::slice::from_ref(b)) {
                HelloProgress::NeedMore => {}
                HelloProgress::Parsed(h) => got = Some(h),
                HelloProgress::Failed => panic!("failed"),
            }
        }
        assert_eq!(got.unwrap().sni.as_deref(), Some("a.example"));

        // The same handshake split over two records.
        let hs = &rec[5..];
        let (a, b) = hs.split_at(20);
        let mut two = vec![0x16, 3, 1];
        two.extend_from_slice(&(a.len() as u16).to_be_bytes());
        two.extend_from_slice(a);
        two.extend_from_slice(&[0x16, 3, 1]);
        two.extend_from_slice(&(b.len() as u16).to_be_bytes());
        two.extend_from_slice(b);
        let mut c = HelloCollector::default();
        assert!(matches!(c.feed(&two), HelloProgress::Parsed(_)));
    }

    #[test]
    fn test_truncated_or_lying_hello_never_panics() {
        let rec = client_hello_record("x.example", &[0x0304]);
        for cut in 0..rec.len() {
            let _ = parse_client_hello_body(&rec[9..cut.max(9)]);
        }
        let mut bad = rec.clone();
        bad[5 + 4 + 2 + 32] = 200; // session id length past the end
        let mut c = HelloCollector::default();
        assert_eq!(c.feed(&bad), HelloProgress::Failed);
        assert_eq!(looks_like_record(b"EHLO"), Some(false));
        assert_eq!(looks_like_record(&[0x16, 3]), None);
        assert_eq!(starts_tls_stream(&[0x16, 3, 1]), Some(true));
        assert_eq!(starts_tls_stream(&[0x17, 3, 3]), Some(false));
    }
}
