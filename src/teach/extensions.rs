//! EHLO keywords (IANA "SMTP Service Extensions" registry) and the private
//! or unregistered ones common in captures, plus the SASL mechanisms that
//! appear after `AUTH`.

/// Where a keyword comes from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum KeywordOrigin {
    /// In the IANA registry.
    Registered,
    /// Vendor-specific or X-prefixed (RFC 5321 §2.2.2: X keywords are private).
    Private,
    /// Seen in the wild, registered nowhere, not private by name.
    Unregistered,
}

impl KeywordOrigin {
    pub fn label(self) -> &'static str {
        match self {
            KeywordOrigin::Registered => "IANA-registered extension",
            KeywordOrigin::Private => "private (unregistered) extension",
            KeywordOrigin::Unregistered => "unregistered keyword seen in the wild",
        }
    }
}

#[derive(Debug)]
pub struct KeywordInfo {
    pub keyword: &'static str,
    pub title: &'static str,
    /// What advertising it lets the client do.
    pub enables: &'static str,
    /// Parameters on the EHLO line, or "none".
    pub params: &'static str,
    /// Verbs or MAIL/RCPT parameters it adds.
    pub adds: &'static str,
    pub reference: &'static str,
    pub origin: KeywordOrigin,
}

macro_rules! k {
    ($k:expr, $t:expr, $e:expr, $p:expr, $a:expr, $r:expr, $o:ident) => {
        KeywordInfo {
            keyword: $k,
            title: $t,
            enables: $e,
            params: $p,
            adds: $a,
            reference: $r,
            origin: KeywordOrigin::$o,
        }
    };
}

pub static KEYWORDS: &[KeywordInfo] = &[
    k!("SEND", "Send to terminal", "The RFC 821 SEND command (deliver to a logged-in user's terminal).", "none", "SEND", "RFC 821; deprecated RFC 5321 App. F.6", Registered),
    k!("SOML", "Send or mail", "The RFC 821 SOML command.", "none", "SOML", "RFC 821; deprecated RFC 5321 App. F.6", Registered),
    k!("SAML", "Send and mail", "The RFC 821 SAML command.", "none", "SAML", "RFC 821; deprecated RFC 5321 App. F.6", Registered),
    k!("EXPN", "Expand mailing list", "The client may ask for list members with EXPN.", "none", "EXPN", "RFC 5321 §4.1.1.7", Registered),
    k!("HELP", "Help", "The server answers HELP.", "none", "HELP", "RFC 5321 §4.1.1.8", Registered),
    k!("TURN", "Role reversal", "The obsolete TURN command; advertising it is a risk.", "none", "TURN", "RFC 821; RFC 5321 App. F.1", Registered),
    k!("8BITMIME", "8-bit MIME transport", "The client may send 8-bit message bodies after declaring them.", "none", "MAIL BODY=7BIT|8BITMIME", "RFC 6152", Registered),
    k!("SIZE", "Message size declaration", "The client may declare the message size up front so an oversized message is refused before it is sent.", "optional maximum size in octets (0 or none = no fixed limit)", "MAIL SIZE=<octets>", "RFC 1870", Registered),
    k!("VERB", "Verbose (sendmail)", "The VERB command.", "none", "VERB", "IANA registry (Eric Allman)", Registered),
    k!("ONEX", "One transaction only (sendmail)", "The ONEX command.", "none", "ONEX", "IANA registry (Eric Allman)", Registered),
    k!("CHUNKING", "Chunking", "The client may send the message with BDAT in counted chunks instead of DATA.", "none", "BDAT", "RFC 3030 §2", Registered),
    k!("BINARYMIME", "Binary MIME", "The client may send unencoded binary content (only with BDAT).", "none", "MAIL BODY=BINARYMIME", "RFC 3030 §3", Registered),
    k!("CHECKPOINT", "Checkpoint/restart", "An interrupted transfer can resume where it stopped.", "none", "MAIL TRANSID=<id>", "RFC 1845", Registered),
    k!("DELIVERBY", "Deliver by", "The client may ask for delivery within a time limit.", "optional minimum by-time (seconds)", "MAIL BY=<seconds>;R|N[T]", "RFC 2852", Registered),
    k!("PIPELINING", "Command pipelining", "The client may send several commands without waiting for each reply; the replies come back in order.", "none", "none", "RFC 2920 §3", Registered),
    k!("DSN", "Delivery status notifications", "The client may ask for success/failure/delay reports per recipient.", "none", "MAIL RET=, ENVID=; RCPT NOTIFY=, ORCPT=", "RFC 3461 §4", Registered),
    k!("ETRN", "Extended TURN", "The client may ask the server to flush its queue for a domain.", "none", "ETRN", "RFC 1985", Registered),
    k!("ENHANCEDSTATUSCODES", "Enhanced status codes", "Replies carry an x.y.z code after the reply code.", "none", "none", "RFC 2034 §3", Registered),
    k!("STARTTLS", "Start TLS", "The client may upgrade the connection to TLS.", "none", "STARTTLS", "RFC 3207 §4", Registered),
    k!("NO-SOLICITING", "No soliciting", "The server announces it refuses solicitations of the listed kinds.", "optional solicitation keywords", "MAIL SOLICIT=", "RFC 3865", Registered),
    k!("MTRK", "Message tracking", "The client may request tracking of the message.", "none", "MAIL MTRK=", "RFC 3885", Registered),
    k!("SUBMITTER", "Responsible submitter", "The client may name who is responsible for the message (Sender ID era).", "none", "MAIL SUBMITTER=", "RFC 4405", Registered),
    k!("ATRN", "Authenticated TURN", "On-demand relay: after AUTH the client may take the server's queued mail.", "none", "ATRN", "RFC 2645", Registered),
    k!("AUTH", "Authentication", "The client may log in with one of the listed SASL mechanisms.", "list of SASL mechanisms (PLAIN, LOGIN, ...)", "AUTH; MAIL AUTH=", "RFC 4954 §3", Registered),
    k!("BURL", "Remote content", "Submission: the message may be fetched by URL (IMAP URLAUTH).", "optional URL schemes (e.g. imap)", "BURL", "RFC 4468", Registered),
    k!("FUTURERELEASE", "Future message release", "The client may hold the message until a later time.", "maximum interval and date-time", "MAIL HOLDFOR=, HOLDUNTIL=", "RFC 4865", Registered),
    k!("UTF8SMTP", "Internationalized email (experimental)", "The experimental predecessor of SMTPUTF8.", "none", "MAIL ALT-ADDRESS", "RFC 5336 (obsoleted by RFC 6531)", Registered),
    k!("CONPERM", "Content conversion permission", "The client may state whether content may be converted.", "none", "MAIL CONPERM=", "RFC 4141", Registered),
    k!("CONNEG", "Content conversion negotiation", "The client may negotiate content conversion.", "none", "RCPT CONNEG", "RFC 4141", Registered),
    k!("SMTPUTF8", "Internationalized email", "Addresses and headers may contain UTF-8.", "none", "MAIL SMTPUTF8", "RFC 6531 §3.1", Registered),
    k!("MT-PRIORITY", "Priority message handling", "The client may give the message a priority from -9 to 9.", "optional priority policy name", "MAIL MT-PRIORITY=", "RFC 6710", Registered),
    k!("RRVS", "Require recipient valid since", "Deliver only if the mailbox has had the same owner since a date.", "none", "RCPT RRVS=", "RFC 7293", Registered),
    k!("REQUIRETLS", "Require TLS", "The client may demand TLS on every following hop.", "none", "MAIL REQUIRETLS", "RFC 8689", Registered),
    k!("LIMITS", "Server limits", "The server publishes its limits so clients can adapt.", "MAILMAX=, RCPTMAX=, RCPTDOMAINMAX=", "none", "RFC 9422", Registered),
    // Private (X-prefixed or vendor).
    k!("XCLIENT", "Postfix client override", "A trusted proxy may replace the client's identity.", "attribute names", "XCLIENT", "Postfix XCLIENT_README", Private),
    k!("XFORWARD", "Postfix client forwarding", "A trusted filter may pass the original client's details for logging.", "attribute names", "XFORWARD", "Postfix XFORWARD_README", Private),
    k!("XEXCH50", "Exchange properties blob", "Exchange servers exchange binary message properties.", "none", "XEXCH50", "vendor (Microsoft); CVE-2003-0714", Private),
    k!("X-LINK2STATE", "Exchange link state", "Exchange servers exchange routing state.", "none", "X-LINK2STATE", "vendor (Microsoft); CVE-2005-0560", Private),
    k!("X-EXPS", "Exchange authentication", "Exchange's own authentication between servers.", "mechanisms (GSSAPI, NTLM, LOGIN)", "X-EXPS", "vendor (Microsoft)", Private),
    k!("X-ANONYMOUSTLS", "Exchange anonymous TLS", "TLS without certificate authentication between Exchange servers.", "none", "X-ANONYMOUSTLS", "vendor (Microsoft)", Private),
    k!("XUSR", "Initial user submission (sendmail)", "The XUSR command.", "none", "XUSR", "sendmail (Allman)", Private),
    k!("XRDST", "Exchange Online private keyword", "A Microsoft Exchange Online private keyword; its use is not publicly documented.", "none", "vendor-defined", "vendor (Microsoft)", Private),
    // Unregistered but common.
    k!("VRFY", "VRFY available", "Tells the client VRFY is enabled. VRFY is base SMTP, not an extension, so the line is informational.", "none", "none", "RFC 5321 §4.1.1.6", Unregistered),
    k!("PRDR", "Per-recipient data responses", "After the message, the server may answer per recipient (Exim, draft-hall-prdr).", "none", "MAIL PRDR", "draft-hall-prdr (expired Internet-Draft)", Unregistered),
    k!("PIPE_CONNECT", "Pipelined connect (Exim)", "A client that cached this EHLO reply may send EHLO and MAIL before the greeting arrives.", "none", "none", "Exim documentation", Unregistered),
    k!("TLS", "Pre-standard STARTTLS", "An old spelling of STARTTLS from before RFC 3207 (e.g. old Exchange); clients use STARTTLS.", "none", "none", "pre-RFC 3207 drafts", Unregistered),
    k!("OK", "Not a keyword", "Some servers end their EHLO list with a filler line such as \"250 OK\"; it advertises nothing.", "none", "none", "RFC 5321 §4.1.1.1 (ehlo-line grammar)", Unregistered),
    k!("EHLO", "Not a keyword", "Some servers end their EHLO list with a filler line echoing the command; it advertises nothing.", "none", "none", "RFC 5321 §4.1.1.1 (ehlo-line grammar)", Unregistered),
];

/// A keyword from the table, or a generic private entry for X-prefixed
/// keywords (RFC 5321 §2.2.2), or `None`.
pub fn keyword(kw: &str) -> Option<&'static KeywordInfo> {
    KEYWORDS.iter().find(|k| k.keyword.eq_ignore_ascii_case(kw))
}

/// Keywords starting with X are reserved for private use and are never
/// registered (RFC 5321 §2.2.2); such a line is explained by that rule.
pub fn is_private_keyword(kw: &str) -> bool {
    kw.as_bytes()
        .first()
        .is_some_and(|b| b.eq_ignore_ascii_case(&b'X'))
}

/// Generic explanation of an X-prefixed keyword not in the table.
pub static PRIVATE_KEYWORD: KeywordInfo = k!(
    "X...",
    "Private extension",
    "A vendor-specific extension; keywords beginning with X are for private use by agreement between the peers. Exchange hides its keywords as runs of X (XXXA, XXXXXXB...).",
    "vendor-defined",
    "vendor-defined",
    "RFC 5321 §2.2.2",
    Private
);

/// What a client response can expose, in clear text, for a mechanism.
#[derive(Debug)]
pub struct SaslInfo {
    pub name: &'static str,
    pub reference: &'static str,
    /// What travels on the wire.
    pub wire: &'static str,
    /// What an observer learns without TLS.
    pub exposes: &'static str,
    /// Responses in order, for annotating each one (last repeats).
    pub steps: &'static [&'static str],
}

pub static SASL: &[SaslInfo] = &[
    SaslInfo { name: "PLAIN", reference: "RFC 4616 §2", wire: "one base64 line: authorization id, NUL, user name, NUL, password", exposes: "user name and password (base64 is an encoding, not encryption)", steps: &["base64 of authzid NUL user NUL password"] },
    SaslInfo { name: "LOGIN", reference: "draft-murchison-sasl-login (no RFC)", wire: "the server prompts \"Username:\" then \"Password:\" (base64); the client answers each in base64", exposes: "user name and password", steps: &["base64 user name", "base64 password"] },
    SaslInfo { name: "CRAM-MD5", reference: "RFC 2195 §2", wire: "the server sends a one-time challenge; the client answers base64 of user name, space, HMAC-MD5 digest of the challenge keyed by the password", exposes: "user name; the challenge and digest allow an offline password-guessing attack", steps: &["base64 of user name and HMAC-MD5 digest"] },
    SaslInfo { name: "DIGEST-MD5", reference: "RFC 2831 (historic, RFC 6331)", wire: "a nonce challenge and a response with realm, nonces and an MD5 digest", exposes: "user name and realm; the digest allows offline guessing", steps: &["digest response (user, realm, nonces, digest)", "empty acknowledgement"] },
    SaslInfo { name: "SCRAM-SHA-1", reference: "RFC 5802", wire: "client-first (user, nonce), server-first (salt, iterations), client-final (proof)", exposes: "user name; salt and proof allow offline guessing, slowed by the iteration count", steps: &["client-first message: user name and nonce", "client-final message: proof"] },
    SaslInfo { name: "SCRAM-SHA-256", reference: "RFC 7677", wire: "as SCRAM-SHA-1 with SHA-256", exposes: "user name; salt and proof allow slowed offline guessing", steps: &["client-first message: user name and nonce", "client-final message: proof"] },
    SaslInfo { name: "SCRAM-SHA-1-PLUS", reference: "RFC 5802", wire: "SCRAM bound to the TLS channel", exposes: "user name; the proof is tied to this TLS session", steps: &["client-first message", "client-final message"] },
    SaslInfo { name: "SCRAM-SHA-256-PLUS", reference: "RFC 7677", wire: "SCRAM-SHA-256 bound to the TLS channel", exposes: "user name; the proof is tied to this TLS session", steps: &["client-first message", "client-final message"] },
    SaslInfo { name: "XOAUTH2", reference: "Google XOAUTH2 protocol (no RFC)", wire: "base64 of user=..., auth=Bearer <token>", exposes: "user name and an OAuth bearer token, usable by anyone until it expires", steps: &["base64 user name and bearer token"] },
    SaslInfo { name: "OAUTHBEARER", reference: "RFC 7628", wire: "base64 GS2 header with user, host, port and auth=Bearer <token>", exposes: "user name and an OAuth bearer token, usable until it expires", steps: &["base64 user name and bearer token"] },
    SaslInfo { name: "NTLM", reference: "MS-NLMP, MS-SMTPNTLM (Microsoft)", wire: "three NTLMSSP messages (negotiate, challenge, authenticate) in base64", exposes: "domain, user and workstation names; the NetNTLM response can be cracked offline or relayed", steps: &["NTLM negotiate message", "NTLM authenticate message (domain, user, workstation, response)"] },
    SaslInfo { name: "GSSAPI", reference: "RFC 4752", wire: "Kerberos tickets and authenticators", exposes: "the client's principal name, little else", steps: &["Kerberos AP-REQ token", "security-layer negotiation"] },
    SaslInfo { name: "EXTERNAL", reference: "RFC 4422 App. A", wire: "an optional authorization id; the identity comes from outside (usually the TLS client certificate)", exposes: "nothing secret", steps: &["authorization identity or empty"] },
    SaslInfo { name: "ANONYMOUS", reference: "RFC 4505", wire: "an optional trace string (often an e-mail address)", exposes: "the trace string only", steps: &["trace information"] },
    SaslInfo { name: "MSN", reference: "vendor (Microsoft), undocumented", wire: "a proprietary Microsoft exchange", exposes: "unknown; treat as sensitive", steps: &["proprietary response"] },
];

pub fn sasl(name: &str) -> Option<&'static SaslInfo> {
    SASL.iter().find(|m| m.name.eq_ignore_ascii_case(name))
}
