//! A proxy handshake at the start of a TCP stream: SOCKS4 and 4a (the 4a
//! extension, <https://www.openssh.com/txt/socks4a.protocol>), SOCKS5
//! (RFC 1928, with RFC 1929 username/password authentication), and an HTTP
//! CONNECT request (RFC 9110 §9.3.6, with `Proxy-Authorization: Basic`).
//!
//! Mail sent through a proxy (spam bots on open proxies, clients behind a
//! corporate gateway) reaches the proxy's port, not an SMTP port, and
//! starts with the proxy's handshake rather than a greeting. [`Handshake`]
//! reads the first bytes of each direction; once the proxy has granted a
//! CONNECT it says how many bytes of each direction the handshake took, so
//! the stream inside the tunnel can be decoded from the next byte.
//!
//! It decides fast: a proxy's client speaks first, so any byte from the
//! server before the client's, or a first client byte other than 4, 5 or
//! the `C` of `CONNECT`, ends it at once. At most [`MAX_HANDSHAKE`] bytes per direction are held.

use super::Dir;

/// Bytes of one direction held while the handshake is read. A SOCKS5
/// client sends at most 257 bytes (method offer), 513 (RFC 1929 login) and
/// 262 (request): 1,032; a SOCKS4 user id has no stated limit, and one
/// that long is not one. HTTP CONNECT headers longer than this are not
/// followed either (proxy clients send a few short lines).
pub const MAX_HANDSHAKE: usize = 1032;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ProxyProtocol {
    #[serde(rename = "socks4")]
    Socks4,
    #[serde(rename = "socks4a")]
    Socks4a,
    #[serde(rename = "socks5")]
    Socks5,
    #[serde(rename = "http-connect")]
    HttpConnect,
}

impl ProxyProtocol {
    pub fn name(self) -> &'static str {
        match self {
            ProxyProtocol::Socks4 => "SOCKS4",
            ProxyProtocol::Socks4a => "SOCKS4a",
            ProxyProtocol::Socks5 => "SOCKS5",
            ProxyProtocol::HttpConnect => "HTTP CONNECT",
        }
    }
}

/// Where the client asked the proxy to connect, as the client named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Ip(std::net::IpAddr),
    /// A host name, resolved by the proxy (SOCKS4a, SOCKS5 type 3, HTTP);
    /// bytes from the wire, not checked.
    Name(Vec<u8>),
}

/// A granted CONNECT: the stream after the handshake is the tunnel's.
/// Its `Debug` masks the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Tunnel {
    pub protocol: ProxyProtocol,
    pub target: Target,
    pub port: u16,
    /// SOCKS4 user id (when not empty), the RFC 1929 user name, or the
    /// HTTP Basic user.
    pub user: Option<Vec<u8>>,
    /// The RFC 1929 or HTTP Basic password (a secret: outputs mask it).
    pub password: Option<Vec<u8>>,
    /// Handshake bytes of each direction, indexed by [`Dir::index`].
    pub consumed: [usize; 2],
}

impl std::fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tunnel")
            .field("protocol", &self.protocol)
            .field("target", &self.target)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "********"))
            .field("consumed", &self.consumed)
            .finish()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// More bytes needed.
    Undecided,
    /// Not a proxy handshake, or not one that opened a tunnel (refused,
    /// a command other than CONNECT, an authentication method that cannot
    /// be followed).
    No,
    Tunnel(Tunnel),
}

/// The handshake's first bytes of each direction.
#[derive(Debug, Default)]
pub struct Handshake {
    held: [Vec<u8>; 2],
    done: bool,
}

impl Handshake {
    pub fn new() -> Handshake {
        Handshake::default()
    }

    /// Take the next bytes of `dir`; the verdict on all bytes so far.
    /// After a verdict other than `Undecided`, nothing more is read.
    pub fn feed(&mut self, dir: Dir, bytes: &[u8]) -> Verdict {
        if self.done {
            return Verdict::No;
        }
        let held = &mut self.held[dir.index()];
        let room = MAX_HANDSHAKE.saturating_sub(held.len());
        held.extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or(bytes));
        let verdict = match parse(&self.held[0], &self.held[1]) {
            Parsed::Tunnel(t) => Verdict::Tunnel(t),
            // Still incomplete where the direction's whole allowance is
            // held: it never will be.
            Parsed::Incomplete(side) if self.held[side].len() < MAX_HANDSHAKE => Verdict::Undecided,
            Parsed::Incomplete(_) | Parsed::No => Verdict::No,
        };
        if verdict != Verdict::Undecided {
            self.done = true;
            self.held = [Vec::new(), Vec::new()];
        }
        verdict
    }
}

enum Parsed {
    /// Bytes of this direction ([`Dir::index`]) are still missing.
    Incomplete(usize),
    No,
    Tunnel(Tunnel),
}

/// A cursor over one direction's held bytes; `None` means "not here yet".
struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
    /// The direction's [`Dir::index`].
    side: usize,
}

impl<'a> Cursor<'a> {
    fn new(data: &'a [u8], dir: Dir) -> Cursor<'a> {
        Cursor {
            data,
            at: 0,
            side: dir.index(),
        }
    }

    fn u8(&mut self) -> Option<u8> {
        let b = *self.data.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.data.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Bytes up to a NUL, which is consumed.
    fn until_nul(&mut self) -> Option<&'a [u8]> {
        let rest = self.data.get(self.at..)?;
        let end = memchr::memchr(0, rest)?;
        self.at += end + 1;
        rest.get(..end)
    }
}

/// `?` for a missing byte of `cursor`'s direction: the handshake is
/// incomplete there.
macro_rules! need {
    ($cursor:ident . $($call:tt)+) => {
        match $cursor.$($call)+ {
            Some(v) => v,
            None => return Parsed::Incomplete($cursor.side),
        }
    };
}

/// [`need!`] for an RFC 1928 address.
macro_rules! need_address {
    ($cursor:ident) => {
        match address(&mut $cursor) {
            Some(v) => v,
            None => return Parsed::Incomplete($cursor.side),
        }
    };
}

/// `client` and `server`: every byte of each direction held so far.
fn parse(client: &[u8], server: &[u8]) -> Parsed {
    match client.first() {
        // A proxy's client speaks first.
        None if !server.is_empty() => Parsed::No,
        None => Parsed::Incomplete(Dir::ClientToServer.index()),
        Some(4) => socks4(client, server),
        Some(5) => socks5(client, server),
        Some(b'C') => http_connect(client, server),
        Some(_) => Parsed::No,
    }
}

/// SOCKS4: `4, CD, DSTPORT, DSTIP, USERID, NUL` [4a: `DOMAIN, NUL` when
/// DSTIP is 0.0.0.x, x != 0]; the reply is 8 bytes, `0, 90` granted.
fn socks4(client: &[u8], server: &[u8]) -> Parsed {
    let mut c = Cursor::new(client, Dir::ClientToServer);
    let _version = need!(c.u8());
    // Only CONNECT (1) opens a stream to a mail server; BIND (2) is for
    // the server side of FTP-like protocols.
    if need!(c.u8()) != 1 {
        return Parsed::No;
    }
    let port = need!(c.u16());
    let ip = need!(c.take(4));
    let user = need!(c.until_nul()).to_vec();
    let (protocol, target) = if ip[..3] == [0, 0, 0] && ip[3] != 0 {
        (
            ProxyProtocol::Socks4a,
            Target::Name(need!(c.until_nul()).to_vec()),
        )
    } else {
        let ip = std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]);
        (ProxyProtocol::Socks4, Target::Ip(ip.into()))
    };
    let mut s = Cursor::new(server, Dir::ServerToClient);
    let reply_version = need!(s.u8());
    let status = need!(s.u8());
    // RFC-less but universal: the reply's version byte is 0 (some proxies
    // send 4); 90 is "request granted".
    if !matches!(reply_version, 0 | 4) || status != 90 {
        return Parsed::No;
    }
    need!(s.take(6));
    Parsed::Tunnel(Tunnel {
        protocol,
        target,
        port,
        user: (!user.is_empty()).then_some(user),
        password: None,
        consumed: [c.at, s.at],
    })
}

/// SOCKS5, RFC 1928: method negotiation (§3), RFC 1929 sub-negotiation
/// when the proxy chose it, then the request (§4) and its reply (§6).
fn socks5(client: &[u8], server: &[u8]) -> Parsed {
    let mut c = Cursor::new(client, Dir::ClientToServer);
    let mut s = Cursor::new(server, Dir::ServerToClient);
    let _version = need!(c.u8());
    let methods = need!(c.u8());
    if methods == 0 {
        return Parsed::No;
    }
    let offered = need!(c.take(usize::from(methods)));
    if need!(s.u8()) != 5 {
        return Parsed::No;
    }
    let method = need!(s.u8());
    if !offered.contains(&method) {
        return Parsed::No;
    }
    let (mut user, mut password) = (None, None);
    match method {
        0 => {}
        2 => {
            // RFC 1929 §2: `1, ULEN, UNAME, PLEN, PASSWD`; reply `1, STATUS`.
            if need!(c.u8()) != 1 {
                return Parsed::No;
            }
            let ulen = need!(c.u8());
            user = Some(need!(c.take(usize::from(ulen))).to_vec());
            let plen = need!(c.u8());
            password = Some(need!(c.take(usize::from(plen))).to_vec());
            let _auth_version = need!(s.u8());
            if need!(s.u8()) != 0 {
                return Parsed::No;
            }
        }
        // GSSAPI (1) and private methods may encapsulate what follows;
        // 0xFF is "no acceptable method".
        _ => return Parsed::No,
    }
    // §4: `5, CMD, 0, ATYP, DST.ADDR, DST.PORT`; CONNECT is 1.
    if need!(c.u8()) != 5 || need!(c.u8()) != 1 {
        return Parsed::No;
    }
    let _reserved = need!(c.u8());
    let target = match need_address!(c) {
        Some(t) => t,
        None => return Parsed::No,
    };
    let port = need!(c.u16());
    // §6: `5, REP, 0, ATYP, BND.ADDR, BND.PORT`; REP 0 is success.
    if need!(s.u8()) != 5 || need!(s.u8()) != 0 {
        return Parsed::No;
    }
    let _reserved = need!(s.u8());
    if need_address!(s).is_none() {
        return Parsed::No;
    }
    need!(s.u16());
    Parsed::Tunnel(Tunnel {
        protocol: ProxyProtocol::Socks5,
        target,
        port,
        user,
        password,
        consumed: [c.at, s.at],
    })
}

/// HTTP CONNECT, RFC 9110 §9.3.6: the request line `CONNECT host:port
/// HTTP/1.x`, header fields and an empty line; any 2xx response, once its
/// header ends, turns the connection into a tunnel. A `Proxy-Authorization:
/// Basic` field (RFC 7617) gives the user and password.
fn http_connect(client: &[u8], server: &[u8]) -> Parsed {
    const METHOD: &[u8] = b"CONNECT ";
    let seen = client.len().min(METHOD.len());
    if client.get(..seen) != METHOD.get(..seen) {
        return Parsed::No;
    }
    let client_side = Dir::ClientToServer.index();
    let Some((head, consumed_c)) = http_head(client) else {
        return Parsed::Incomplete(client_side);
    };
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let request: Vec<&[u8]> = lines
        .next()
        .unwrap_or_default()
        .split(|&b| b == b' ')
        .collect();
    let [_, authority, version] = request[..] else {
        return Parsed::No;
    };
    if !version.starts_with(b"HTTP/1.") {
        return Parsed::No;
    }
    let Some((target, port)) = authority_of(authority) else {
        return Parsed::No;
    };
    let (mut user, mut password) = (None, None);
    for (name, value) in lines.filter_map(|l| split_once(l, b':')) {
        if name.eq_ignore_ascii_case(b"Proxy-Authorization") {
            if let Some((u, p)) = basic_credentials(value) {
                (user, password) = (Some(u), Some(p));
            }
        }
    }
    let Some((response, consumed_s)) = http_head(server) else {
        return Parsed::Incomplete(Dir::ServerToClient.index());
    };
    let status = response.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut status = status.split(|&b| b == b' ');
    let (version, code) = (
        status.next().unwrap_or_default(),
        status.next().unwrap_or_default(),
    );
    if !version.starts_with(b"HTTP/1.") || code.len() != 3 || code.first() != Some(&b'2') {
        return Parsed::No;
    }
    Parsed::Tunnel(Tunnel {
        protocol: ProxyProtocol::HttpConnect,
        target,
        port,
        user,
        password,
        consumed: [consumed_c, consumed_s],
    })
}

/// An HTTP message head: its text before the empty line, and its length
/// with that line (CRLF CRLF, or bare LFs as lenient parsers accept).
fn http_head(data: &[u8]) -> Option<(&[u8], usize)> {
    let crlf = memchr::memmem::find(data, b"\r\n\r\n").map(|at| (at, at + 4));
    let lf = memchr::memmem::find(data, b"\n\n").map(|at| (at, at + 2));
    let (end, consumed) = match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    Some((data.get(..end)?, consumed))
}

/// `host:port` or `[v6]:port` (RFC 9110 §9.3.6: the authority form).
fn authority_of(authority: &[u8]) -> Option<(Target, u16)> {
    let colon = authority.iter().rposition(|&b| b == b':')?;
    let (host, port) = (authority.get(..colon)?, authority.get(colon + 1..)?);
    let port: u16 = std::str::from_utf8(port).ok()?.parse().ok()?;
    let bare = host
        .strip_prefix(b"[")
        .and_then(|h| h.strip_suffix(b"]"))
        .unwrap_or(host);
    if bare.is_empty() {
        return None;
    }
    let target = match std::str::from_utf8(bare).ok().and_then(|h| h.parse().ok()) {
        Some(ip) => Target::Ip(ip),
        None => Target::Name(bare.to_vec()),
    };
    Some((target, port))
}

/// `Basic base64(user:password)` (RFC 7617 §2).
fn basic_credentials(value: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    use base64::Engine;
    let (scheme, token) = split_once(value.trim_ascii(), b' ')?;
    if !scheme.eq_ignore_ascii_case(b"Basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim_ascii())
        .ok()?;
    let (user, password) = split_once(&decoded, b':')?;
    Some((user.to_vec(), password.to_vec()))
}

/// The bytes before and after the first `sep`.
fn split_once(s: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let at = memchr::memchr(sep, s)?;
    Some((s.get(..at)?, s.get(at + 1..)?))
}

/// RFC 1928 §5 address: `None` when incomplete, `Some(None)` for an
/// unknown address type.
fn address(c: &mut Cursor<'_>) -> Option<Option<Target>> {
    Some(match c.u8()? {
        1 => {
            let b: [u8; 4] = c.take(4)?.try_into().ok()?;
            Some(Target::Ip(std::net::Ipv4Addr::from(b).into()))
        }
        3 => {
            let len = c.u8()?;
            Some(Target::Name(c.take(usize::from(len))?.to_vec()))
        }
        4 => {
            let b: [u8; 16] = c.take(16)?.try_into().ok()?;
            Some(Target::Ip(std::net::Ipv6Addr::from(b).into()))
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use Dir::{ClientToServer as Cl, ServerToClient as Sv};

    const V5_CLIENT: &[u8] = b"\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01\x09\xdd";
    const V5_SERVER: &[u8] = b"\x05\x00\x05\x00\x00\x01\x7f\x00\x00\x01\xc3\x50";

    fn tunnel(v: Verdict) -> Tunnel {
        match v {
            Verdict::Tunnel(t) => t,
            other => panic!("expected a tunnel, got {other:?}"),
        }
    }

    #[test]
    fn test_socks5_no_auth_connect_to_ipv4() {
        let mut h = Handshake::new();
        assert_eq!(h.feed(Cl, &V5_CLIENT[..3]), Verdict::Undecided);
        assert_eq!(h.feed(Sv, &V5_SERVER[..2]), Verdict::Undecided);
        assert_eq!(h.feed(Cl, &V5_CLIENT[3..]), Verdict::Undecided);
        let mut server = V5_SERVER[2..].to_vec();
        server.extend_from_slice(b"220 mx ESMTP\r\n");
        let t = tunnel(h.feed(Sv, &server));
        assert_eq!(t.protocol, ProxyProtocol::Socks5);
        assert_eq!(t.target, Target::Ip("127.0.0.1".parse().unwrap()));
        assert_eq!(t.port, 2525);
        assert_eq!(t.consumed, [V5_CLIENT.len(), V5_SERVER.len()]);
        assert_eq!((t.user, t.password), (None, None));
    }

    #[test]
    fn test_socks5_password_auth_and_domain_target() {
        let mut client = b"\x05\x02\x00\x02\x01\x05alice\x06secret".to_vec();
        client.extend_from_slice(b"\x05\x01\x00\x03\x0emx.example.com\x00\x19");
        let server = b"\x05\x02\x01\x00\x05\x00\x00\x04".to_vec();
        let mut server = server;
        server.extend_from_slice(&[0; 16]);
        server.extend_from_slice(b"\x00\x00");
        let mut h = Handshake::new();
        assert_eq!(h.feed(Cl, &client), Verdict::Undecided);
        let t = tunnel(h.feed(Sv, &server));
        assert_eq!(t.target, Target::Name(b"mx.example.com".to_vec()));
        assert_eq!(t.port, 25);
        assert_eq!(t.user.as_deref(), Some(&b"alice"[..]));
        assert_eq!(t.password.as_deref(), Some(&b"secret"[..]));
        assert_eq!(t.consumed, [client.len(), server.len()]);
    }

    #[test]
    fn test_socks4_and_4a() {
        let mut h = Handshake::new();
        h.feed(Cl, b"\x04\x01\x00\x19\xc0\x00\x02\x01bob\x00");
        let t = tunnel(h.feed(Sv, b"\x00\x5a\x00\x00\x00\x00\x00\x00EHLO"));
        assert_eq!(t.protocol, ProxyProtocol::Socks4);
        assert_eq!(t.target, Target::Ip("192.0.2.1".parse().unwrap()));
        assert_eq!(t.user.as_deref(), Some(&b"bob"[..]));
        assert_eq!(t.consumed, [12, 8]);

        let mut h = Handshake::new();
        h.feed(Cl, b"\x04\x01\x00\x19\x00\x00\x00\x01\x00mx.example\x00");
        let t = tunnel(h.feed(Sv, b"\x00\x5a\x00\x00\x00\x00\x00\x00"));
        assert_eq!(t.protocol, ProxyProtocol::Socks4a);
        assert_eq!(t.target, Target::Name(b"mx.example".to_vec()));
        assert_eq!(t.user, None);
        assert_eq!(t.consumed, [20, 8]);
    }

    #[test]
    fn test_refused_or_unfollowable_is_not_a_tunnel() {
        // SOCKS4 rejected (91).
        let mut h = Handshake::new();
        h.feed(Cl, b"\x04\x01\x00\x19\x7f\x00\x00\x01\x00");
        assert_eq!(h.feed(Sv, b"\x00\x5b\x00\x00\x00\x00\x00\x00"), Verdict::No);
        // SOCKS5: no acceptable method; GSSAPI; a failed password; BIND;
        // connection refused (5).
        for (client, server) in [
            (&b"\x05\x01\x02"[..], &b"\x05\xff"[..]),
            (b"\x05\x01\x01", b"\x05\x01"),
            (b"\x05\x01\x02\x01\x01a\x01b", b"\x05\x02\x01\x01"),
            (
                b"\x05\x01\x00\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x19",
                b"\x05\x00",
            ),
            (
                b"\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x19",
                b"\x05\x00\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00",
            ),
        ] {
            let mut h = Handshake::new();
            h.feed(Cl, client);
            assert_eq!(h.feed(Sv, server), Verdict::No, "{client:?} / {server:?}");
        }
    }

    #[test]
    fn test_smtp_and_other_protocols_are_rejected_at_once() {
        let mut h = Handshake::new();
        assert_eq!(h.feed(Sv, b"220 mx ESMTP\r\n"), Verdict::No);
        let mut h = Handshake::new();
        assert_eq!(h.feed(Cl, b"EHLO x\r\n"), Verdict::No);
        let mut h = Handshake::new();
        assert_eq!(h.feed(Cl, b"GET / HTTP/1.1\r\n"), Verdict::No);
        // After a verdict, nothing more is read.
        assert_eq!(h.feed(Cl, b"\x05\x01\x00"), Verdict::No);
    }

    #[test]
    fn test_endless_user_id_is_not_a_tunnel() {
        let mut h = Handshake::new();
        h.feed(Cl, b"\x04\x01\x00\x19\x7f\x00\x00\x01");
        assert_eq!(h.feed(Cl, &[b'u'; MAX_HANDSHAKE]), Verdict::No);
    }

    #[test]
    fn test_longest_valid_socks5_handshake_is_accepted() {
        let mut client = vec![5, 255];
        client.extend(0..=254u8);
        client.extend([1, 255]);
        client.extend([b'u'; 255]);
        client.push(255);
        client.extend([b'p'; 255]);
        client.extend([5, 1, 0, 3, 255]);
        client.extend([b'h'; 255]);
        client.extend([0, 25]);
        assert_eq!(client.len(), MAX_HANDSHAKE);
        let mut h = Handshake::new();
        assert_eq!(h.feed(Cl, &client), Verdict::Undecided);
        let t = tunnel(h.feed(Sv, b"\x05\x02\x01\x00\x05\x00\x00\x01\0\0\0\0\0\0"));
        assert_eq!(t.consumed[0], MAX_HANDSHAKE);
        assert!(
            !format!("{t:?}").contains("ppp"),
            "Debug shows the password"
        );
    }

    #[test]
    fn test_http_connect_with_basic_auth_then_smtp() {
        let request = b"CONNECT mx.example.com:25 HTTP/1.1\r\nHost: mx.example.com:25\r\nProxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n\r\n";
        let response = b"HTTP/1.1 200 Connection established\r\nProxy-agent: test\r\n\r\n";
        let mut h = Handshake::new();
        assert_eq!(h.feed(Cl, request), Verdict::Undecided);
        let mut server = response.to_vec();
        server.extend_from_slice(b"220 mx ESMTP\r\n");
        let t = tunnel(h.feed(Sv, &server));
        assert_eq!(t.protocol, ProxyProtocol::HttpConnect);
        assert_eq!(
            (t.target, t.port),
            (Target::Name(b"mx.example.com".to_vec()), 25)
        );
        assert_eq!(t.user.as_deref(), Some(&b"alice"[..]));
        assert_eq!(t.password.as_deref(), Some(&b"s3cret"[..]));
        assert_eq!(t.consumed, [request.len(), response.len()]);
    }

    #[test]
    fn test_http_connect_forms_and_refusals() {
        let connect = |req: &[u8], resp: &[u8]| {
            let mut h = Handshake::new();
            h.feed(Cl, req);
            h.feed(Sv, resp)
        };
        let ok = b"HTTP/1.0 200 OK\n\n";
        let v6 = b"CONNECT [2001:db8::1]:587 HTTP/1.0\n\n";
        let t = tunnel(connect(v6, ok));
        assert_eq!(
            (t.target, t.port),
            (Target::Ip("2001:db8::1".parse().unwrap()), 587)
        );
        assert_eq!(t.consumed, [v6.len(), ok.len()]);
        let t = tunnel(connect(b"CONNECT 192.0.2.5:2525 HTTP/1.1\r\n\r\n", ok));
        assert_eq!(t.target, Target::Ip("192.0.2.5".parse().unwrap()));
        // Refused, or asking for credentials; a bad request line; GET.
        let req = b"CONNECT mx:25 HTTP/1.1\r\n\r\n";
        for resp in [
            &b"HTTP/1.1 403 Forbidden\r\n\r\n"[..],
            b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n",
            b"220 mx\r\n\r\n",
        ] {
            assert_eq!(connect(req, resp), Verdict::No, "{resp:?}");
        }
        for req in [
            &b"CONNECT mx HTTP/1.1\r\n\r\n"[..],
            b"CONNECT mx:99999 HTTP/1.1\r\n\r\n",
            b"CONNECT :25 HTTP/1.1\r\n\r\n",
            b"CONNECT mx:25 SMTP\r\n\r\n",
            b"CONNECTED\r\n",
            b"COPY x\r\n",
        ] {
            assert_eq!(connect(req, ok), Verdict::No, "{req:?}");
        }
        let mut h = Handshake::new();
        assert_eq!(h.feed(Cl, b"CONN"), Verdict::Undecided);
        assert_eq!(h.feed(Cl, b"ECT mx:25 HTTP/1.1\r\n"), Verdict::Undecided);
    }

    #[test]
    fn test_client_data_sent_before_the_reply_still_opens_the_tunnel() {
        let mut h = Handshake::new();
        let mut client = V5_CLIENT.to_vec();
        client.extend_from_slice(&[b'x'; 2 * MAX_HANDSHAKE]);
        assert_eq!(h.feed(Cl, &client), Verdict::Undecided);
        let t = tunnel(h.feed(Sv, V5_SERVER));
        assert_eq!(t.consumed, [V5_CLIENT.len(), V5_SERVER.len()]);
    }

    proptest! {
        #[test]
        fn test_any_split_gives_the_same_tunnel(cuts in proptest::collection::vec(0usize..40, 0..6)) {
            // The client's bytes and the server's, fed in pieces whatever
            // their boundaries, interleaved client first.
            let mut client = V5_CLIENT.to_vec();
            client.extend_from_slice(b"EHLO x\r\n");
            let mut cuts = cuts;
            cuts.sort();
            let mut h = Handshake::new();
            let mut last = Verdict::Undecided;
            let mut from = 0;
            for &cut in cuts.iter().chain(std::iter::once(&client.len())) {
                let cut = cut.min(client.len()).max(from);
                last = h.feed(Cl, &client[from..cut]);
                from = cut;
                if from >= 3 && last == Verdict::Undecided {
                    last = h.feed(Sv, &[]);
                }
            }
            prop_assert_eq!(&last, &Verdict::Undecided);
            let t = tunnel(h.feed(Sv, V5_SERVER));
            prop_assert_eq!(t.consumed, [V5_CLIENT.len(), V5_SERVER.len()]);
        }

        #[test]
        fn test_any_bytes_never_panic(client in proptest::collection::vec(any::<u8>(), 0..64),
                                      server in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut h = Handshake::new();
            if let Verdict::Tunnel(t) = h.feed(Cl, &client) {
                prop_assert!(t.consumed[0] <= client.len());
            }
            if let Verdict::Tunnel(t) = h.feed(Sv, &server) {
                prop_assert!(t.consumed[0] <= client.len() && t.consumed[1] <= server.len());
            }
        }
    }
}
