//! SASL exchanges inside SMTP AUTH (RFC 4954), decoded passively.
//!
//! Between a `334` challenge and the final reply, client lines are base64
//! SASL responses, not commands. Each mechanism decoder extracts what is
//! visible on the wire: user, authorization id, and the secret material
//! (password, bearer token, or challenge response usable offline). Secrets
//! live in [`Secret`], which masks itself in every generic rendering.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde::{Serialize, Serializer};
use std::fmt;

/// Base64 as SASL clients send it: padding optional (some omit it).
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Cap on a decoded SASL response we look into; NTLM type 3 messages are a
/// few hundred bytes, SASL lines are capped by RFC 4954 §4 at 12288 octets.
const MAX_SASL_DECODE: usize = 16 * 1024;

pub fn b64_decode(text: &[u8]) -> Option<Vec<u8>> {
    let text = trim(text);
    if text.len() > MAX_SASL_DECODE * 4 / 3 + 4 {
        return None;
    }
    B64.decode(text).ok()
}

fn trim(mut b: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = b {
        b = rest;
    }
    b
}

/// A credential seen on the wire. Display, Debug and Serialize print a
/// mask; only [`Secret::reveal`] gives the value, for outputs that were
/// explicitly asked to show secrets.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub const MASK: &'static str = "********";

    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Secret::MASK)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", Secret::MASK)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(Secret::MASK)
    }
}

/// What kind of secret material was captured.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    Password,
    BearerToken,
    /// A challenge response (CRAM-MD5 digest, NTLM/SCRAM/DIGEST proof):
    /// not the password, but enough for an offline attack.
    ChallengeResponse,
}

/// Decoding state of one AUTH exchange.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SaslState {
    /// Uppercased mechanism name as sent.
    pub mechanism: String,
    pub user: Option<String>,
    pub authzid: Option<String>,
    pub secret: Option<Secret>,
    pub secret_kind: Option<SecretKind>,
    /// NTLM domain and workstation (type 3 message).
    pub ntlm_domain: Option<String>,
    pub ntlm_workstation: Option<String>,
    /// The client sent `*` (RFC 4954 §4): the server must answer 501.
    pub cancelled: bool,
    /// A response was not valid base64.
    pub undecodable: u32,
    /// Client responses seen, including the initial response.
    pub responses: u32,
    /// Last server challenge, decoded (to tell LOGIN's prompts apart).
    #[serde(skip)]
    last_challenge: Option<Vec<u8>>,
}

/// Result of feeding one client response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseKind {
    Cancel,
    Data,
    Undecodable,
}

impl SaslState {
    pub fn start(mechanism: &str, initial_response: Option<&[u8]>) -> SaslState {
        let mut s = SaslState {
            mechanism: mechanism.to_ascii_uppercase(),
            ..SaslState::default()
        };
        if let Some(ir) = initial_response {
            s.on_response(ir);
        }
        s
    }

    /// A `334` challenge text (base64, possibly empty).
    pub fn on_challenge(&mut self, text: &[u8]) {
        self.last_challenge = b64_decode(text);
    }

    /// A client response line (base64, `=` for empty, or `*`).
    pub fn on_response(&mut self, line: &[u8]) -> ResponseKind {
        let line = trim(line);
        if line == b"*" {
            self.cancelled = true;
            return ResponseKind::Cancel;
        }
        self.responses += 1;
        let decoded = if line == b"=" {
            Some(Vec::new())
        } else {
            b64_decode(line)
        };
        let Some(data) = decoded else {
            self.undecodable += 1;
            return ResponseKind::Undecodable;
        };
        match self.mechanism.as_str() {
            "PLAIN" => self.plain(&data),
            "LOGIN" => self.login(&data),
            "CRAM-MD5" => self.cram_md5(&data),
            "XOAUTH2" => self.oauth(&data, false),
            "OAUTHBEARER" => self.oauth(&data, true),
            "NTLM" => self.ntlm(&data),
            "DIGEST-MD5" => self.digest_md5(&data),
            m if m.starts_with("SCRAM-") => self.scram(&data),
            _ => {}
        }
        ResponseKind::Data
    }

    fn set_secret(&mut self, value: &[u8], kind: SecretKind) {
        self.secret = Some(Secret::new(String::from_utf8_lossy(value)));
        self.secret_kind = Some(kind);
    }

    /// RFC 4616 §2: `[authzid] UTF8NUL authcid UTF8NUL passwd`.
    fn plain(&mut self, data: &[u8]) {
        let mut parts = data.splitn(3, |&b| b == 0);
        let (Some(authzid), Some(authcid), Some(passwd)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return;
        };
        if !authzid.is_empty() {
            self.authzid = Some(lossy(authzid));
        }
        self.user = Some(lossy(authcid));
        self.set_secret(passwd, SecretKind::Password);
    }

    /// draft-murchison-sasl-login: prompts `Username:` then `Password:`.
    /// Without recognizable prompts the first response is the user.
    fn login(&mut self, data: &[u8]) {
        let prompt = self.last_challenge.take().unwrap_or_default();
        let lower = prompt.to_ascii_lowercase();
        let is_pass = lower.starts_with(b"password");
        let is_user = lower.starts_with(b"username") || lower.starts_with(b"user name");
        if is_pass || (!is_user && self.user.is_some()) {
            self.set_secret(data, SecretKind::Password);
        } else {
            self.user = Some(lossy(data));
        }
    }

    /// RFC 2195 §2: `user SP 32-hex-digest`.
    fn cram_md5(&mut self, data: &[u8]) {
        if let Some(sp) = data.iter().rposition(|&b| b == b' ') {
            self.user = Some(lossy(&data[..sp]));
            self.set_secret(&data[sp + 1..], SecretKind::ChallengeResponse);
        }
    }

    /// XOAUTH2 `user=U ^A auth=Bearer T ^A ^A`; OAUTHBEARER (RFC 7628 §3.1)
    /// `gs2-header ^A key=value ^A ... ^A ^A` with `a=U` in the header.
    fn oauth(&mut self, data: &[u8], bearer: bool) {
        let mut fields = data.split(|&b| b == 0x01);
        if bearer {
            if let Some(gs2) = fields.next() {
                for f in gs2.split(|&b| b == b',') {
                    if let Some(a) = f.strip_prefix(b"a=") {
                        self.user = Some(lossy(a));
                    }
                }
            }
        }
        for f in fields {
            if let Some(u) = f.strip_prefix(b"user=") {
                self.user = Some(lossy(u));
            } else if let Some(auth) = f.strip_prefix(b"auth=") {
                let token = auth
                    .strip_prefix(b"Bearer ")
                    .or_else(|| auth.strip_prefix(b"bearer "))
                    .unwrap_or(auth);
                self.set_secret(token, SecretKind::BearerToken);
            }
        }
    }

    /// RFC 5802 §7: client-first `gs2-header n=user,r=nonce`, client-final
    /// `c=...,r=...,p=proof`.
    fn scram(&mut self, data: &[u8]) {
        let mut fields = data.split(|&b| b == b',').peekable();
        if data.starts_with(b"n,") || data.starts_with(b"y,") || data.starts_with(b"p=") {
            // gs2 header: cbind flag, then optional a=authzid.
            fields.next();
            if let Some(a) = fields.next() {
                if let Some(z) = a.strip_prefix(b"a=") {
                    self.authzid = Some(lossy(z));
                }
            }
        }
        for f in fields {
            if let Some(u) = f.strip_prefix(b"n=") {
                self.user = Some(lossy(u));
            } else if let Some(p) = f.strip_prefix(b"p=") {
                self.set_secret(p, SecretKind::ChallengeResponse);
            }
        }
    }

    /// RFC 2831 §2.1.2: `username="u",realm="r",...,response=hex`.
    fn digest_md5(&mut self, data: &[u8]) {
        for f in data.split(|&b| b == b',') {
            let f = trim(f);
            let unquote = |v: &[u8]| -> Vec<u8> {
                v.strip_prefix(b"\"")
                    .and_then(|v| v.strip_suffix(b"\""))
                    .unwrap_or(v)
                    .to_vec()
            };
            if let Some(u) = f.strip_prefix(b"username=") {
                self.user = Some(lossy(&unquote(u)));
            } else if let Some(z) = f.strip_prefix(b"authzid=") {
                self.authzid = Some(lossy(&unquote(z)));
            } else if let Some(r) = f.strip_prefix(b"response=") {
                self.set_secret(&unquote(r), SecretKind::ChallengeResponse);
            }
        }
    }

    fn ntlm(&mut self, data: &[u8]) {
        if let Some(t3) = NtlmAuthenticate::parse(data) {
            self.user = Some(t3.user);
            self.ntlm_domain = Some(t3.domain);
            self.ntlm_workstation = Some(t3.workstation);
            if !t3.nt_response_hex.is_empty() {
                self.secret = Some(Secret::new(t3.nt_response_hex));
                self.secret_kind = Some(SecretKind::ChallengeResponse);
            }
        }
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The fields of an NTLMSSP AUTHENTICATE (type 3) message ([MS-NLMP]
/// §2.2.1.3) that identify the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NtlmAuthenticate {
    pub domain: String,
    pub user: String,
    pub workstation: String,
    /// NtChallengeResponse in hex (capped), crackable offline.
    pub nt_response_hex: String,
}

impl NtlmAuthenticate {
    const SIGNATURE: &'static [u8] = b"NTLMSSP\0";
    const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
    /// Hex of at most this many response bytes is kept.
    const MAX_RESPONSE: usize = 512;

    pub fn parse(msg: &[u8]) -> Option<NtlmAuthenticate> {
        if !msg.starts_with(Self::SIGNATURE) || le32(msg, 8)? != 3 {
            return None;
        }
        // Security buffers: u16 len, u16 maxlen, u32 offset.
        let field = |at: usize| -> Option<&[u8]> {
            let len = le16(msg, at)? as usize;
            let off = le32(msg, at + 4)? as usize;
            msg.get(off..off.checked_add(len)?)
        };
        let nt = field(20)?;
        let domain = field(28)?;
        let user = field(36)?;
        let ws = field(44)?;
        // Flags follow the session-key buffer; absent in some old clients.
        let unicode = le32(msg, 60).is_none_or(|f| f & Self::NEGOTIATE_UNICODE != 0);
        let text = |b: &[u8]| -> String {
            if unicode {
                let units: Vec<u16> = b
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16_lossy(&units)
            } else {
                lossy(b)
            }
        };
        let mut nt_hex = String::new();
        for b in nt.iter().take(Self::MAX_RESPONSE) {
            nt_hex.push_str(&format!("{b:02x}"));
        }
        Some(NtlmAuthenticate {
            domain: text(domain),
            user: text(user),
            workstation: text(ws),
            nt_response_hex: nt_hex,
        })
    }
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn b64(data: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(data)
    }

    #[test]
    fn test_secret_is_masked_everywhere_but_reveal() {
        let s = Secret::new("hunter2");
        assert_eq!(s.to_string(), "********");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"********\"");
        assert_eq!(s.reveal(), "hunter2");
    }

    #[test]
    fn test_plain_initial_response() {
        let ir = b64(b"admin\0user\0secret");
        let s = SaslState::start("plain", Some(ir.as_bytes()));
        assert_eq!(s.mechanism, "PLAIN");
        assert_eq!(s.authzid.as_deref(), Some("admin"));
        assert_eq!(s.user.as_deref(), Some("user"));
        assert_eq!(s.secret.as_ref().unwrap().reveal(), "secret");
        assert_eq!(s.secret_kind, Some(SecretKind::Password));
    }

    #[test]
    fn test_plain_after_empty_challenge_without_authzid() {
        let mut s = SaslState::start("PLAIN", None);
        s.on_challenge(b"");
        s.on_response(b64(b"\0bob\0pw").as_bytes());
        assert_eq!(s.authzid, None);
        assert_eq!(s.user.as_deref(), Some("bob"));
        assert_eq!(s.secret.unwrap().reveal(), "pw");
    }

    #[test]
    fn test_login_prompts_and_initial_response() {
        let mut s = SaslState::start("LOGIN", None);
        s.on_challenge(b"VXNlcm5hbWU6");
        s.on_response(b64(b"alice").as_bytes());
        s.on_challenge(b"UGFzc3dvcmQ6");
        s.on_response(b64(b"wonder").as_bytes());
        assert_eq!(s.user.as_deref(), Some("alice"));
        assert_eq!(s.secret.as_ref().unwrap().reveal(), "wonder");

        let mut s = SaslState::start("LOGIN", Some(b64(b"carol").as_bytes()));
        s.on_challenge(b"UGFzc3dvcmQ6");
        s.on_response(b64(b"pw2").as_bytes());
        assert_eq!(s.user.as_deref(), Some("carol"));
        assert_eq!(s.secret.unwrap().reveal(), "pw2");
    }

    #[test]
    fn test_cancel_star() {
        let mut s = SaslState::start("LOGIN", None);
        assert_eq!(s.on_response(b"*"), ResponseKind::Cancel);
        assert!(s.cancelled);
        assert_eq!(s.responses, 0);
        assert_eq!(s.on_response(b"!!notb64"), ResponseKind::Undecodable);
    }

    #[test]
    fn test_cram_md5_user_from_response() {
        let mut s = SaslState::start("CRAM-MD5", None);
        s.on_challenge(b"PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+");
        s.on_response(b64(b"tim b913a602c7eda7a495b4e6e7334d3890").as_bytes());
        assert_eq!(s.user.as_deref(), Some("tim"));
        assert_eq!(
            s.secret.unwrap().reveal(),
            "b913a602c7eda7a495b4e6e7334d3890"
        );
    }

    #[test]
    fn test_xoauth2_and_oauthbearer() {
        // curl test 922's initial response.
        let s = SaslState::start(
            "XOAUTH2",
            Some(b"dXNlcj11c2VyAWF1dGg9QmVhcmVyIG1GXzkuQjVmLTQuMUpxTQEB"),
        );
        assert_eq!(s.user.as_deref(), Some("user"));
        assert_eq!(s.secret.as_ref().unwrap().reveal(), "mF_9.B5f-4.1JqM");
        assert_eq!(s.secret_kind, Some(SecretKind::BearerToken));

        let ir = b64(b"n,a=user@example.com,\x01host=server.example.com\x01port=587\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01");
        let s = SaslState::start("OAUTHBEARER", Some(ir.as_bytes()));
        assert_eq!(s.user.as_deref(), Some("user@example.com"));
        assert_eq!(
            s.secret.unwrap().reveal(),
            "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="
        );
    }

    #[test]
    fn test_scram_and_digest_md5_users() {
        let s = SaslState::start(
            "SCRAM-SHA-256",
            Some(b64(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO").as_bytes()),
        );
        assert_eq!(s.user.as_deref(), Some("user"));
        let mut s = SaslState::start(
            "SCRAM-SHA-1",
            Some(b64(b"n,a=admin,n=joe,r=abc").as_bytes()),
        );
        assert_eq!(s.authzid.as_deref(), Some("admin"));
        s.on_response(b64(b"c=biws,r=abcdef,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=").as_bytes());
        assert_eq!(s.user.as_deref(), Some("joe"));
        assert_eq!(s.secret.unwrap().reveal(), "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");

        let mut s = SaslState::start("DIGEST-MD5", None);
        s.on_response(
            b64(b"charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",response=d388dad90d4bbd760a152321f2143af7,qop=auth")
                .as_bytes(),
        );
        assert_eq!(s.user.as_deref(), Some("chris"));
        assert_eq!(
            s.secret.unwrap().reveal(),
            "d388dad90d4bbd760a152321f2143af7"
        );
    }

    /// Builds an NTLMSSP type 3 message with Unicode strings.
    pub fn ntlm_type3(domain: &str, user: &str, ws: &str, nt: &[u8]) -> Vec<u8> {
        let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
        let (d, u, w) = (utf16(domain), utf16(user), utf16(ws));
        let mut msg = Vec::new();
        msg.extend_from_slice(b"NTLMSSP\0");
        msg.extend_from_slice(&3u32.to_le_bytes());
        let header_len = 64u32;
        let payloads: [&[u8]; 6] = [&[], nt, &d, &u, &w, &[]];
        let mut off = header_len;
        let mut body = Vec::new();
        for p in payloads {
            msg.extend_from_slice(&(p.len() as u16).to_le_bytes());
            msg.extend_from_slice(&(p.len() as u16).to_le_bytes());
            msg.extend_from_slice(&off.to_le_bytes());
            off += p.len() as u32;
            body.extend_from_slice(p);
        }
        msg.extend_from_slice(&0x0000_0001u32.to_le_bytes()); // flags: unicode
        assert_eq!(msg.len(), header_len as usize);
        msg.extend_from_slice(&body);
        msg
    }

    #[test]
    fn test_ntlm_type3_parse() {
        let msg = ntlm_type3("CORP", "jdoe", "WS01", &[0xde, 0xad, 0xbe, 0xef]);
        let t3 = NtlmAuthenticate::parse(&msg).unwrap();
        assert_eq!(t3.domain, "CORP");
        assert_eq!(t3.user, "jdoe");
        assert_eq!(t3.workstation, "WS01");
        assert_eq!(t3.nt_response_hex, "deadbeef");

        let mut s = SaslState::start(
            "NTLM",
            Some(b64(b"NTLMSSP\0\x01\0\0\0\x07\x82\x08\xa2").as_bytes()),
        );
        assert_eq!(s.user, None, "type 1 carries no user");
        s.on_challenge(b"TlRMTVNTUAACAAAA");
        s.on_response(b64(&msg).as_bytes());
        assert_eq!(s.user.as_deref(), Some("jdoe"));
        assert_eq!(s.ntlm_domain.as_deref(), Some("CORP"));
        assert_eq!(s.ntlm_workstation.as_deref(), Some("WS01"));
        // Truncated or lying offsets never panic.
        assert_eq!(NtlmAuthenticate::parse(&msg[..40]), None);
        let mut bad = msg.clone();
        bad[32] = 0xff; // domain offset far out of range
        assert_eq!(NtlmAuthenticate::parse(&bad), None);
    }
}
