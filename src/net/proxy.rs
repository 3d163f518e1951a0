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
//!
//! A granted tunnel comes with its handshake decoded into [`Step`]s, one
//! per message, timed by the chunk that completed it: the session's
//! timeline starts with them.

use super::Dir;
use crate::capture::Timestamp;

/// The longest SOCKS5 client handshake: at most 257 bytes (method offer),
/// 513 (RFC 1929 login) and 262 (request). A SOCKS4 user id has no stated
/// limit, and one longer than [`MAX_HANDSHAKE`] is not one.
pub const SOCKS5_MAX: usize = 1032;

/// Bytes of one direction held while the handshake is read: room for the
/// longest SOCKS5 handshake, and for an HTTP CONNECT answered 407 with a
/// short page, then sent again with credentials on the same connection.
/// Longer HTTP exchanges are not followed (proxy clients send a few short
/// lines).
pub const MAX_HANDSHAKE: usize = 4096;

/// HTTP CONNECT requests followed on one connection (each refused with 407
/// but the last).
const MAX_HTTP_ATTEMPTS: usize = 4;

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

impl Target {
    /// The address as text, or the name as sent.
    pub fn host(&self) -> Vec<u8> {
        match self {
            Target::Ip(ip) => ip.to_string().into_bytes(),
            Target::Name(name) => name.clone(),
        }
    }
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
    /// The handshake's messages in the order they were sent, decoded.
    pub steps: Vec<Step>,
}

/// What a handshake message does.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// SOCKS5: the client offers its authentication methods (RFC 1928 §3).
    Hello,
    /// SOCKS5: the proxy picks one.
    MethodChosen,
    /// SOCKS5: the client's RFC 1929 login.
    Login,
    /// SOCKS5: the proxy accepts it.
    LoginAccepted,
    /// The client's CONNECT request.
    Request,
    /// The proxy connected: the tunnel opens.
    Granted,
    /// HTTP: refused with 407; the client may ask again.
    Refused,
}

/// One message of a proxy handshake, decoded for display. Its `Debug`
/// leaves the password out.
#[derive(Clone, PartialEq, Eq)]
pub struct Step {
    pub dir: Dir,
    /// When its last byte arrived, and the frame that carried it.
    pub ts: Timestamp,
    pub frame: u64,
    pub kind: StepKind,
    /// What it says, one line without the password; host and user names
    /// are wire bytes, unescaped.
    pub text: Vec<u8>,
    /// A password the message carries, and the offset in `text` where it
    /// goes: [`Step::line_with`] puts it, or a mask, there.
    password: Option<(usize, Vec<u8>)>,
    /// Bytes of its direction up to its end.
    end: usize,
}

impl Step {
    fn new(dir: Dir, end: usize, kind: StepKind, text: Vec<u8>) -> Step {
        Step {
            dir,
            ts: Timestamp::default(),
            frame: 0,
            kind,
            text,
            password: None,
            end,
        }
    }

    /// A step whose line names a password: `text` and `tail` around it.
    fn with_password(
        dir: Dir,
        end: usize,
        kind: StepKind,
        mut text: Vec<u8>,
        password: &[u8],
        tail: &[u8],
    ) -> Step {
        let at = text.len();
        text.extend_from_slice(tail);
        Step {
            password: Some((at, password.to_vec())),
            ..Step::new(dir, end, kind, text)
        }
    }

    /// The line with `shown` where the password goes: the password itself,
    /// or the caller's mask.
    pub fn line_with(&self, shown: &[u8]) -> Vec<u8> {
        match &self.password {
            Some((at, _)) => {
                let (head, tail) = self.text.split_at((*at).min(self.text.len()));
                [head, shown, tail].concat()
            }
            None => self.text.clone(),
        }
    }

    /// The line with the password shown (outputs asked to show secrets).
    pub fn revealed(&self) -> Option<Vec<u8>> {
        self.password.as_ref().map(|(_, p)| self.line_with(p))
    }
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Step")
            .field("dir", &self.dir)
            .field("ts", &self.ts)
            .field("frame", &self.frame)
            .field("kind", &self.kind)
            .field("text", &String::from_utf8_lossy(&self.text))
            .finish()
    }
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
            .field("steps", &self.steps)
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
    /// Per direction, each chunk's end in `held`, its time and frame.
    arrivals: [Vec<(usize, Timestamp, u64)>; 2],
    done: bool,
}

impl Handshake {
    pub fn new() -> Handshake {
        Handshake::default()
    }

    /// [`Handshake::feed_at`] for bytes whose time does not matter.
    pub fn feed(&mut self, dir: Dir, bytes: &[u8]) -> Verdict {
        self.feed_at(dir, Timestamp::default(), 0, bytes)
    }

    /// Take the next bytes of `dir`, which arrived at `ts` in `frame`; the
    /// verdict on all bytes so far. After a verdict other than
    /// `Undecided`, nothing more is read.
    pub fn feed_at(&mut self, dir: Dir, ts: Timestamp, frame: u64, bytes: &[u8]) -> Verdict {
        if self.done {
            return Verdict::No;
        }
        let held = &mut self.held[dir.index()];
        let room = MAX_HANDSHAKE.saturating_sub(held.len());
        let take = room.min(bytes.len());
        held.extend_from_slice(bytes.get(..take).unwrap_or(bytes));
        // One entry per chunk that added bytes: at most MAX_HANDSHAKE.
        if take > 0 {
            self.arrivals[dir.index()].push((held.len(), ts, frame));
        }
        let verdict = match parse(&self.held[0], &self.held[1]) {
            Parsed::Tunnel(mut t) => {
                self.time_steps(&mut t.steps);
                Verdict::Tunnel(t)
            }
            // Still incomplete where the direction's whole allowance is
            // held: it never will be.
            Parsed::Incomplete(side) if self.held[side].len() < MAX_HANDSHAKE => Verdict::Undecided,
            Parsed::Incomplete(_) | Parsed::No => Verdict::No,
        };
        if verdict != Verdict::Undecided {
            self.done = true;
            self.held = Default::default();
            self.arrivals = Default::default();
        }
        verdict
    }

    /// Each step takes the time of the chunk holding its last byte; then
    /// they are put in the order they arrived (a client may send its
    /// request before the proxy's answer to its greeting).
    fn time_steps(&self, steps: &mut [Step]) {
        for st in steps.iter_mut() {
            let arrivals = &self.arrivals[st.dir.index()];
            if let Some(&(_, ts, frame)) = arrivals
                .iter()
                .find(|(end, _, _)| *end >= st.end)
                .or(arrivals.last())
            {
                (st.ts, st.frame) = (ts, frame);
            }
        }
        steps.sort_by_key(|st| (st.ts, st.frame));
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
    let mut request = format!("{} CONNECT ", protocol.name()).into_bytes();
    request.extend_from_slice(&authority(&target.host(), port));
    if !user.is_empty() {
        request.extend_from_slice(b" user id ");
        request.extend_from_slice(&user);
    }
    let mut s = Cursor::new(server, Dir::ServerToClient);
    let reply_version = need!(s.u8());
    let status = need!(s.u8());
    // RFC-less but universal: the reply's version byte is 0 (some proxies
    // send 4); 90 is "request granted".
    if !matches!(reply_version, 0 | 4) || status != 90 {
        return Parsed::No;
    }
    need!(s.take(6));
    let reply = format!("{} reply: request granted (90)", protocol.name()).into_bytes();
    Parsed::Tunnel(Tunnel {
        protocol,
        target,
        port,
        user: (!user.is_empty()).then_some(user),
        password: None,
        consumed: [c.at, s.at],
        steps: vec![
            Step::new(Dir::ClientToServer, c.at, StepKind::Request, request),
            Step::new(Dir::ServerToClient, s.at, StepKind::Granted, reply),
        ],
    })
}

/// `host:port` (RFC 3986 §3.2.2): a host with a colon, an IPv6 address,
/// goes in brackets. Wire bytes in, wire bytes out.
pub fn authority(host: &[u8], port: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(host.len() + 8);
    if host.contains(&b':') {
        out.push(b'[');
        out.extend_from_slice(host);
        out.push(b']');
    } else {
        out.extend_from_slice(host);
    }
    out.extend_from_slice(format!(":{port}").as_bytes());
    out
}

/// RFC 1928 §3 method names (IANA's registry for the assigned ones).
fn socks5_method(m: u8) -> String {
    match m {
        0 => "no authentication".into(),
        1 => "GSSAPI".into(),
        2 => "username/password".into(),
        0xff => "no acceptable methods".into(),
        0x80..=0xfe => format!("private method 0x{m:02x}"),
        _ => format!("method 0x{m:02x}"),
    }
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
    let names: Vec<String> = offered.iter().map(|&m| socks5_method(m)).collect();
    let mut steps = vec![Step::new(
        Dir::ClientToServer,
        c.at,
        StepKind::Hello,
        format!("SOCKS5 hello: methods {}", names.join(", ")).into_bytes(),
    )];
    if need!(s.u8()) != 5 {
        return Parsed::No;
    }
    let method = need!(s.u8());
    if !offered.contains(&method) {
        return Parsed::No;
    }
    steps.push(Step::new(
        Dir::ServerToClient,
        s.at,
        StepKind::MethodChosen,
        format!("SOCKS5 method chosen: {}", socks5_method(method)).into_bytes(),
    ));
    let (mut user, mut password) = (None, None);
    match method {
        0 => {}
        2 => {
            // RFC 1929 §2: `1, ULEN, UNAME, PLEN, PASSWD`; reply `1, STATUS`.
            if need!(c.u8()) != 1 {
                return Parsed::No;
            }
            let ulen = need!(c.u8());
            let name = need!(c.take(usize::from(ulen)));
            let plen = need!(c.u8());
            let secret = need!(c.take(usize::from(plen)));
            let mut text = b"SOCKS5 login (RFC 1929): user ".to_vec();
            text.extend_from_slice(name);
            text.extend_from_slice(b" password ");
            steps.push(Step::with_password(
                Dir::ClientToServer,
                c.at,
                StepKind::Login,
                text,
                secret,
                b"",
            ));
            (user, password) = (Some(name.to_vec()), Some(secret.to_vec()));
            let _auth_version = need!(s.u8());
            if need!(s.u8()) != 0 {
                return Parsed::No;
            }
            steps.push(Step::new(
                Dir::ServerToClient,
                s.at,
                StepKind::LoginAccepted,
                b"SOCKS5 login accepted".to_vec(),
            ));
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
    let mut request = b"SOCKS5 CONNECT ".to_vec();
    request.extend_from_slice(&authority(&target.host(), port));
    steps.push(Step::new(
        Dir::ClientToServer,
        c.at,
        StepKind::Request,
        request,
    ));
    // §6: `5, REP, 0, ATYP, BND.ADDR, BND.PORT`; REP 0 is success.
    if need!(s.u8()) != 5 || need!(s.u8()) != 0 {
        return Parsed::No;
    }
    let _reserved = need!(s.u8());
    let Some(bound) = need_address!(s) else {
        return Parsed::No;
    };
    let bound_port = need!(s.u16());
    let mut reply = b"SOCKS5 reply: succeeded, bound to ".to_vec();
    reply.extend_from_slice(&authority(&bound.host(), bound_port));
    steps.push(Step::new(
        Dir::ServerToClient,
        s.at,
        StepKind::Granted,
        reply,
    ));
    Parsed::Tunnel(Tunnel {
        protocol: ProxyProtocol::Socks5,
        target,
        port,
        user,
        password,
        consumed: [c.at, s.at],
        steps,
    })
}

/// HTTP CONNECT, RFC 9110 §9.3.6: the request line `CONNECT host:port
/// HTTP/1.x`, header fields and an empty line; any 2xx response, once its
/// header ends, turns the connection into a tunnel. A `Proxy-Authorization:
/// Basic` field (RFC 7617) gives the user and password. A 407 (§15.5.8)
/// with a `Content-Length` leaves the connection open for the client to ask
/// again with credentials: followed, up to [`MAX_HTTP_ATTEMPTS`] requests.
fn http_connect(client: &[u8], server: &[u8]) -> Parsed {
    let (client_side, server_side) = (Dir::ClientToServer.index(), Dir::ServerToClient.index());
    let (mut c_at, mut s_at) = (0, 0);
    let mut steps = Vec::new();
    for _ in 0..MAX_HTTP_ATTEMPTS {
        let rest = client.get(c_at..).unwrap_or_default();
        if rest.is_empty() && c_at > 0 {
            // After a 407: the client may yet ask again.
            return Parsed::Incomplete(client_side);
        }
        let request = match http_request(rest) {
            Ok(r) => r,
            Err(Some(side)) => return Parsed::Incomplete(side),
            Err(None) => return Parsed::No,
        };
        c_at += request.len;
        steps.push(request.step(c_at));
        let Some((head, used)) = http_head(server.get(s_at..).unwrap_or_default()) else {
            return Parsed::Incomplete(server_side);
        };
        let status = head.split(|&b| b == b'\n').next().unwrap_or_default();
        let status = status.strip_suffix(b"\r").unwrap_or(status);
        let mut words = status.split(|&b| b == b' ');
        let (version, code) = (
            words.next().unwrap_or_default(),
            words.next().unwrap_or_default(),
        );
        if !version.starts_with(b"HTTP/1.")
            || code.len() != 3
            || !code.iter().all(u8::is_ascii_digit)
        {
            return Parsed::No;
        }
        s_at += used;
        if code.first() == Some(&b'2') {
            steps.push(Step::new(
                Dir::ServerToClient,
                s_at,
                StepKind::Granted,
                status.to_vec(),
            ));
            return Parsed::Tunnel(Tunnel {
                protocol: ProxyProtocol::HttpConnect,
                target: request.target,
                port: request.port,
                user: request.user,
                password: request.password,
                consumed: [c_at, s_at],
                steps,
            });
        }
        // Only a 407 whose page has a stated length can be followed by
        // another request on this connection.
        let body = match (code, content_length(head)) {
            (b"407", Some(n)) => n,
            _ => return Parsed::No,
        };
        s_at = s_at.saturating_add(body);
        if s_at > server.len() {
            return Parsed::Incomplete(server_side);
        }
        steps.push(Step::new(
            Dir::ServerToClient,
            s_at,
            StepKind::Refused,
            status.to_vec(),
        ));
    }
    Parsed::No
}

/// One CONNECT request head.
struct HttpRequest {
    line: Vec<u8>,
    target: Target,
    port: u16,
    user: Option<Vec<u8>>,
    password: Option<Vec<u8>>,
    /// Bytes, with the empty line.
    len: usize,
}

impl HttpRequest {
    /// Its request line, and the Basic credentials it carried.
    fn step(&self, end: usize) -> Step {
        let mut text = self.line.clone();
        match (&self.user, &self.password) {
            (Some(user), Some(password)) => {
                text.extend_from_slice(b" [Proxy-Authorization: Basic, user ");
                text.extend_from_slice(user);
                text.extend_from_slice(b" password ");
                let kind = StepKind::Request;
                Step::with_password(Dir::ClientToServer, end, kind, text, password, b"]")
            }
            _ => Step::new(Dir::ClientToServer, end, StepKind::Request, text),
        }
    }
}

/// The CONNECT request at the start of `data`; when there is none, `Err`
/// with the direction whose bytes are missing, or `None` when it is not
/// one.
fn http_request(data: &[u8]) -> Result<HttpRequest, Option<usize>> {
    const METHOD: &[u8] = b"CONNECT ";
    let seen = data.len().min(METHOD.len());
    if data.get(..seen) != METHOD.get(..seen) {
        return Err(None);
    }
    let Some((head, len)) = http_head(data) else {
        return Err(Some(Dir::ClientToServer.index()));
    };
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let line = lines.next().unwrap_or_default();
    let words: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    let [_, authority, version] = words[..] else {
        return Err(None);
    };
    if !version.starts_with(b"HTTP/1.") {
        return Err(None);
    }
    let Some((target, port)) = authority_of(authority) else {
        return Err(None);
    };
    let (mut user, mut password) = (None, None);
    for (name, value) in lines.filter_map(|l| split_once(l, b':')) {
        if name.eq_ignore_ascii_case(b"Proxy-Authorization") {
            if let Some((u, p)) = basic_credentials(value) {
                (user, password) = (Some(u), Some(p));
            }
        }
    }
    Ok(HttpRequest {
        line: line.to_vec(),
        target,
        port,
        user,
        password,
        len,
    })
}

/// The body length a response head states (RFC 9110 §8.6); `None` when it
/// states none, or also a `Transfer-Encoding` (RFC 9112 §6.3).
fn content_length(head: &[u8]) -> Option<usize> {
    let mut length = None;
    for (name, value) in head
        .split(|&b| b == b'\n')
        .skip(1)
        .filter_map(|l| split_once(l, b':'))
    {
        if name.eq_ignore_ascii_case(b"Transfer-Encoding") {
            return None;
        }
        if name.eq_ignore_ascii_case(b"Content-Length") {
            length = std::str::from_utf8(value).ok()?.trim().parse().ok();
        }
    }
    length
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
        assert_eq!(client.len(), SOCKS5_MAX);
        let mut h = Handshake::new();
        assert_eq!(h.feed(Cl, &client), Verdict::Undecided);
        let t = tunnel(h.feed(Sv, b"\x05\x02\x01\x00\x05\x00\x00\x01\0\0\0\0\0\0"));
        assert_eq!(t.consumed[0], SOCKS5_MAX);
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

    /// After a 407 the connection stays a handshake only while it can go
    /// on: the page's length must be stated, and the client's next bytes
    /// must be another CONNECT.
    #[test]
    fn test_http_407_is_followed_only_where_a_retry_can_come() {
        let req = &b"CONNECT mx:25 HTTP/1.1\r\n\r\n"[..];
        let exchange = |server: &[&[u8]], client: &[&[u8]]| {
            let mut h = Handshake::new();
            let mut v = h.feed(Cl, req);
            for s in server {
                v = h.feed(Sv, s);
            }
            for c in client {
                v = h.feed(Cl, c);
            }
            v
        };
        let page = &b"HTTP/1.1 407 Auth\r\nContent-Length: 3\r\n\r\nno\n"[..];
        // Waiting for the retry, or for the rest of the page.
        assert_eq!(exchange(&[page], &[]), Verdict::Undecided);
        assert_eq!(
            exchange(&[&page[..page.len() - 1]], &[]),
            Verdict::Undecided
        );
        // No length (the page runs to the close), chunked, another status.
        for resp in [
            &b"HTTP/1.1 407 Auth\r\n\r\n"[..],
            b"HTTP/1.1 407 Auth\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            b"HTTP/1.1 403 No\r\nContent-Length: 0\r\n\r\n",
        ] {
            assert_eq!(exchange(&[resp], &[]), Verdict::No, "{resp:?}");
        }
        // The client sends something other than CONNECT next.
        assert_eq!(exchange(&[page], &[b"EHLO x\r\n"]), Verdict::No);
        // The retry, granted, its tunnel after both exchanges.
        let ok = b"HTTP/1.1 200 OK\r\n\r\n";
        let t = tunnel(exchange(&[page, ok], &[req]));
        assert_eq!(t.consumed, [2 * req.len(), page.len() + ok.len()]);
        assert_eq!(t.steps.len(), 4);
        // A proxy that keeps answering 407 is given up on.
        let mut h = Handshake::new();
        let mut v = Verdict::Undecided;
        for _ in 0..MAX_HTTP_ATTEMPTS {
            h.feed(Cl, req);
            v = h.feed(Sv, page);
        }
        assert_eq!(v, Verdict::No);
    }

    /// Each step takes the time and frame of the chunk that completed it,
    /// and the steps come in the order they arrived.
    #[test]
    fn test_steps_are_timed_by_the_chunk_that_completed_them() {
        let at = |n: i64| Timestamp::from_nanos(n);
        let mut h = Handshake::new();
        // Greeting and request sent together, before the method choice.
        h.feed_at(Cl, at(10), 1, &V5_CLIENT[..2]);
        h.feed_at(Cl, at(20), 2, &V5_CLIENT[2..]);
        h.feed_at(Sv, at(30), 3, &V5_SERVER[..2]);
        let t = tunnel(h.feed_at(Sv, at(40), 4, &V5_SERVER[2..]));
        let steps: Vec<(Dir, u64, String)> = t
            .steps
            .iter()
            .map(|s| {
                (
                    s.dir,
                    s.frame,
                    String::from_utf8_lossy(&s.text).into_owned(),
                )
            })
            .collect();
        assert_eq!(
            steps,
            [
                (Cl, 2, "SOCKS5 hello: methods no authentication".into()),
                (Cl, 2, "SOCKS5 CONNECT 127.0.0.1:2525".into()),
                (Sv, 3, "SOCKS5 method chosen: no authentication".into()),
                (
                    Sv,
                    4,
                    "SOCKS5 reply: succeeded, bound to 127.0.0.1:50000".into()
                ),
            ]
        );
        assert_eq!(t.steps[3].ts, at(40));
    }

    #[test]
    fn test_login_step_masks_the_password_and_keeps_it_revealed() {
        let mut client = b"\x05\x01\x02\x01\x05alice\x03pw!".to_vec();
        client.extend_from_slice(&V5_CLIENT[3..]);
        let mut h = Handshake::new();
        h.feed(Cl, &client);
        let t = tunnel(h.feed(Sv, b"\x05\x02\x01\x00\x05\x00\x00\x01\0\0\0\0\0\0"));
        let login = &t.steps[2];
        assert_eq!(
            login.line_with(b"********"),
            b"SOCKS5 login (RFC 1929): user alice password ********"
        );
        assert_eq!(
            login.revealed().as_deref(),
            Some(&b"SOCKS5 login (RFC 1929): user alice password pw!"[..])
        );
        assert!(
            !format!("{t:?}").contains("pw!"),
            "Debug shows the password"
        );
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
