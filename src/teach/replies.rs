//! Basic reply codes (RFC 5321 §4.2) and the digit-by-digit reading that
//! applies to any three-digit code, listed or not (§4.2.1: a client that
//! does not know a code acts on its first digit).

/// One listed reply code.
#[derive(Debug)]
pub struct ReplyInfo {
    pub code: u16,
    pub meaning: &'static str,
    /// When a server sends it: which commands or moments.
    pub when: &'static str,
    pub reference: &'static str,
}

pub static REPLIES: &[ReplyInfo] = &[
    ReplyInfo { code: 211, meaning: "System status or help summary.", when: "answer to HELP (or a status request)", reference: "RFC 5321 §4.2.3" },
    ReplyInfo { code: 214, meaning: "Help text meant for a person reading the dialogue.", when: "answer to HELP", reference: "RFC 5321 §4.2.3" },
    ReplyInfo { code: 220, meaning: "The service is ready; the text starts with the server's name.", when: "greeting at connection; also the go-ahead for STARTTLS and the new greeting after XCLIENT", reference: "RFC 5321 §4.2.3 (greeting §4.3.1); RFC 3207 §4" },
    ReplyInfo { code: 221, meaning: "The server is closing the connection in an orderly way.", when: "answer to QUIT", reference: "RFC 5321 §4.2.3" },
    ReplyInfo { code: 235, meaning: "Authentication succeeded.", when: "end of a successful AUTH exchange (usually 235 2.7.0)", reference: "RFC 4954 §4, §6" },
    ReplyInfo { code: 250, meaning: "Done: the requested action completed.", when: "EHLO/HELO, MAIL, RCPT, the end of DATA, BDAT, RSET, VRFY, EXPN, NOOP", reference: "RFC 5321 §4.2.3" },
    ReplyInfo { code: 251, meaning: "The user is not local, but the server will forward the mail to the address given.", when: "RCPT, VRFY; for ETRN: no messages waiting", reference: "RFC 5321 §4.2.3, §3.4; RFC 1985" },
    ReplyInfo { code: 252, meaning: "The server will not verify the user but will accept mail for it and try to deliver.", when: "VRFY, EXPN; for ETRN: pending messages started", reference: "RFC 5321 §4.2.3, §3.5.3; RFC 1985" },
    ReplyInfo { code: 253, meaning: "ETRN: delivery of the given number of pending messages has started.", when: "ETRN", reference: "RFC 1985" },
    ReplyInfo { code: 334, meaning: "AUTH continues: the text is a base64 challenge (empty after \"334 \" means none) and the client must answer one line.", when: "during AUTH", reference: "RFC 4954 §4" },
    ReplyInfo { code: 354, meaning: "Go ahead with the message text; finish it with a line holding only a dot (<CRLF>.<CRLF>).", when: "answer to DATA", reference: "RFC 5321 §4.2.3, §4.1.1.4" },
    ReplyInfo { code: 355, meaning: "CHECKPOINT: the offset to resume a transfer from.", when: "MAIL with TRANSID on a CHECKPOINT server", reference: "RFC 1845" },
    ReplyInfo { code: 421, meaning: "The service is not available and the server is closing the connection; try again later.", when: "greeting, or in answer to any command when the server must shut down", reference: "RFC 5321 §4.2.3, §3.8" },
    ReplyInfo { code: 432, meaning: "A password transition is needed before this mechanism can be used.", when: "AUTH (with 4.7.12)", reference: "RFC 4954 §6" },
    ReplyInfo { code: 450, meaning: "Not done, for now: the mailbox is unavailable (busy, or temporarily blocked by policy such as greylisting).", when: "RCPT, the end of DATA", reference: "RFC 5321 §4.2.3" },
    ReplyInfo { code: 451, meaning: "Aborted by a local error on the server; the client may retry later.", when: "MAIL, RCPT, the end of DATA; ATRN: cannot process now", reference: "RFC 5321 §4.2.3; RFC 2645" },
    ReplyInfo { code: 452, meaning: "Not done: the server is short of storage, or too many recipients were given for now.", when: "MAIL, RCPT, the end of DATA", reference: "RFC 5321 §4.2.3, §4.5.3.1.10" },
    ReplyInfo { code: 453, meaning: "ATRN: there is no mail queued for you.", when: "ATRN", reference: "RFC 2645" },
    ReplyInfo { code: 454, meaning: "Temporary failure: TLS is not available right now (to STARTTLS), or authentication failed for a temporary reason (to AUTH, 4.7.0).", when: "STARTTLS, AUTH", reference: "RFC 3207 §4; RFC 4954 §6" },
    ReplyInfo { code: 455, meaning: "The server cannot accommodate the MAIL/RCPT parameters right now.", when: "MAIL, RCPT", reference: "RFC 5321 §4.2.3, §4.1.1.11" },
    ReplyInfo { code: 458, meaning: "ETRN: unable to queue messages for that node.", when: "ETRN", reference: "RFC 1985" },
    ReplyInfo { code: 459, meaning: "ETRN: that node is not allowed.", when: "ETRN", reference: "RFC 1985" },
    ReplyInfo { code: 500, meaning: "Syntax error: the command is not recognised, or the line is too long (with 5.5.6: an AUTH line too long).", when: "any command", reference: "RFC 5321 §4.2.3, §4.2.4; RFC 4954 §6" },
    ReplyInfo { code: 501, meaning: "Syntax error in the parameters or arguments (also the answer to a cancelled AUTH).", when: "any command; DATA/RSET/QUIT with arguments", reference: "RFC 5321 §4.2.3, §4.3.2; RFC 4954 §4" },
    ReplyInfo { code: 502, meaning: "The command is recognised but not implemented here.", when: "EHLO on old servers, VRFY, EXPN, HELP, TURN, any optional command", reference: "RFC 5321 §4.2.3, §4.2.4" },
    ReplyInfo { code: 503, meaning: "Bad sequence: the command is valid but not at this point of the dialogue.", when: "MAIL before EHLO or inside a transaction, RCPT before MAIL, DATA without recipients, a second AUTH", reference: "RFC 5321 §4.2.3, §4.1.4" },
    ReplyInfo { code: 504, meaning: "A parameter of the command is not implemented (e.g. an unknown AUTH mechanism).", when: "EHLO, VRFY, EXPN, HELP, AUTH", reference: "RFC 5321 §4.2.3; RFC 4954 §6" },
    ReplyInfo { code: 521, meaning: "This host does not accept mail at all.", when: "greeting or any command", reference: "RFC 7504" },
    ReplyInfo { code: 523, meaning: "Encryption is needed (paired with X.7.10).", when: "commands refused until TLS", reference: "RFC 5248" },
    ReplyInfo { code: 525, meaning: "The user account is disabled (paired with X.7.13).", when: "AUTH, MAIL", reference: "RFC 5248" },
    ReplyInfo { code: 530, meaning: "Authentication is required before this command.", when: "MAIL and other commands except AUTH/EHLO/HELO/NOOP/RSET/QUIT (5.7.0)", reference: "RFC 4954 §6" },
    ReplyInfo { code: 534, meaning: "The chosen authentication mechanism is too weak for this server's policy.", when: "AUTH (5.7.9)", reference: "RFC 4954 §6" },
    ReplyInfo { code: 535, meaning: "Authentication failed: the credentials are invalid.", when: "AUTH (5.7.8)", reference: "RFC 4954 §6" },
    ReplyInfo { code: 538, meaning: "This mechanism may only be used over an encrypted connection.", when: "AUTH (5.7.11)", reference: "RFC 4954 §6" },
    ReplyInfo { code: 550, meaning: "Not done, permanently: the mailbox is unavailable (unknown, no access) or the server refuses for policy reasons.", when: "EHLO, MAIL, RCPT, VRFY, EXPN, the end of DATA", reference: "RFC 5321 §4.2.3" },
    ReplyInfo { code: 551, meaning: "The user is not local; the client should try the address given in the text.", when: "RCPT, VRFY", reference: "RFC 5321 §4.2.3, §3.4" },
    ReplyInfo { code: 552, meaning: "Aborted: a storage allocation (quota or size limit) would be exceeded.", when: "MAIL (SIZE=), RCPT, the end of DATA", reference: "RFC 5321 §4.2.3; RFC 1870" },
    ReplyInfo { code: 553, meaning: "Not done: the mailbox name is not allowed (bad syntax, not permitted).", when: "MAIL, RCPT, VRFY", reference: "RFC 5321 §4.2.3" },
    ReplyInfo { code: 554, meaning: "The transaction failed; as the first reply on a connection it means no SMTP service here.", when: "greeting, DATA, the end of DATA", reference: "RFC 5321 §4.2.3, §3.1" },
    ReplyInfo { code: 555, meaning: "A MAIL FROM or RCPT TO parameter is not recognised or not implemented.", when: "MAIL, RCPT", reference: "RFC 5321 §4.2.3, §4.1.1.11" },
    ReplyInfo { code: 556, meaning: "The recipient's domain does not accept mail (e.g. it publishes a null MX).", when: "RCPT", reference: "RFC 7504" },
];

pub fn reply(code: u16) -> Option<&'static ReplyInfo> {
    REPLIES.iter().find(|r| r.code == code)
}

/// The meaning of each digit of any three-digit code (RFC 5321 §4.2.1).
/// `code` is taken modulo 1000.
pub fn digits(code: u16) -> [String; 3] {
    let (a, b, c) = (code / 100 % 10, code / 10 % 10, code % 10);
    let first = match a {
        2 => "2 = positive completion: the action succeeded; the client may send its next request",
        3 => "3 = positive intermediate: accepted so far, the server waits for more (354 message text, 334 AUTH answer)",
        4 => "4 = transient negative: not done this time; the same request may succeed later",
        5 => "5 = permanent negative: not done; repeating the same request unchanged will fail again",
        1 => "1 = positive preliminary in FTP; SMTP never uses it (RFC 5321 §4.2.1)",
        _ => "outside 2-5: not a valid SMTP reply class (RFC 5321 §4.2); clients treat it as an error",
    };
    let second = match b {
        0 => "0 = syntax: a syntax error, or a command that fits no other category (unknown, unimplemented)",
        1 => "1 = information: an answer to a request for information (status, help)",
        2 => "2 = connections: about the transmission channel itself",
        3 | 4 => "unassigned category (RFC 5321 leaves x3z and x4z unspecified)",
        5 => "5 = mail system: the state of the receiving mail system for this request",
        _ => "above 5: outside the RFC 5321 grammar (%x30-35)",
    };
    [
        format!("first digit {first}"),
        format!("second digit {second}"),
        format!("third digit {c} = a finer grade within that category; the listed codes give it its meaning"),
    ]
}

/// RFC 5321 §4.2: `Reply-code = %x32-35 %x30-35 %x30-39`.
pub fn in_grammar(code: u16) -> bool {
    (2..=5).contains(&(code / 100)) && (code / 10) % 10 <= 5 && code < 1000
}
