//! Size limits (RFC 5321 §4.5.3.1) and timeouts (§4.5.3.2): the numbers
//! behind "line too long" and "stalled" explanations.

#[derive(Debug)]
pub struct Limit {
    pub name: &'static str,
    pub value: &'static str,
    pub meaning: &'static str,
    pub reference: &'static str,
}

pub static LIMITS: &[Limit] = &[
    Limit {
        name: "local-part",
        value: "64 octets",
        meaning: "longest user part (before the @) a server must accept",
        reference: "RFC 5321 §4.5.3.1.1",
    },
    Limit {
        name: "domain",
        value: "255 octets",
        meaning: "longest domain name a server must accept",
        reference: "RFC 5321 §4.5.3.1.2",
    },
    Limit {
        name: "path",
        value: "256 octets",
        meaning: "longest <reverse-path> or <forward-path>, brackets included",
        reference: "RFC 5321 §4.5.3.1.3",
    },
    Limit {
        name: "command line",
        value: "512 octets",
        meaning: "longest command line including CRLF (extensions may add to it)",
        reference: "RFC 5321 §4.5.3.1.4",
    },
    Limit {
        name: "reply line",
        value: "512 octets",
        meaning: "longest reply line including the code and CRLF",
        reference: "RFC 5321 §4.5.3.1.5",
    },
    Limit {
        name: "text line",
        value: "1000 octets",
        meaning: "longest line of message text including CRLF, before dot-stuffing",
        reference: "RFC 5321 §4.5.3.1.6",
    },
    Limit {
        name: "message content",
        value: "at least 64K octets",
        meaning: "a server must take messages at least this large (SIZE announces its real limit)",
        reference: "RFC 5321 §4.5.3.1.7",
    },
    Limit {
        name: "recipients buffer",
        value: "at least 100",
        meaning: "recipients a server must accept in one transaction before answering 452",
        reference: "RFC 5321 §4.5.3.1.8, §4.5.3.1.10",
    },
    Limit {
        name: "initial 220 timeout",
        value: "5 minutes",
        meaning: "how long a client should wait for the greeting",
        reference: "RFC 5321 §4.5.3.2.1",
    },
    Limit {
        name: "MAIL timeout",
        value: "5 minutes",
        meaning: "client wait for the reply to MAIL",
        reference: "RFC 5321 §4.5.3.2.2",
    },
    Limit {
        name: "RCPT timeout",
        value: "5 minutes",
        meaning: "client wait for the reply to each RCPT",
        reference: "RFC 5321 §4.5.3.2.3",
    },
    Limit {
        name: "DATA initiation timeout",
        value: "2 minutes",
        meaning: "client wait for the 354 after DATA",
        reference: "RFC 5321 §4.5.3.2.4",
    },
    Limit {
        name: "data block timeout",
        value: "3 minutes",
        meaning: "client wait for each block of message text to be sent",
        reference: "RFC 5321 §4.5.3.2.5",
    },
    Limit {
        name: "DATA termination timeout",
        value: "10 minutes",
        meaning: "client wait for the final reply after the dot",
        reference: "RFC 5321 §4.5.3.2.6",
    },
    Limit {
        name: "server timeout",
        value: "5 minutes",
        meaning: "server wait for the client's next command",
        reference: "RFC 5321 §4.5.3.2.7",
    },
];
