//! Enhanced mail system status codes `class.subject.detail` (RFC 3463;
//! IANA "SMTP Enhanced Status Codes" registry, RFC 5248; use in SMTP
//! replies: RFC 2034). Details are registered per subject and apply to
//! every class (X.1.1 is 4.1.1 as well as 5.1.1).

#[derive(Debug)]
pub struct ClassInfo {
    pub class: u8,
    pub name: &'static str,
    pub meaning: &'static str,
}

pub static CLASSES: &[ClassInfo] = &[
    ClassInfo {
        class: 2,
        name: "Success",
        meaning: "the action succeeded; the detail may add what was done on the way",
    },
    ClassInfo {
        class: 4,
        name: "Persistent transient failure",
        meaning:
            "the message is fine but a passing condition stopped it; sending again later may work",
    },
    ClassInfo {
        class: 5,
        name: "Permanent failure",
        meaning: "resending as is will not help; the message or the destination must change",
    },
];

#[derive(Debug)]
pub struct SubjectInfo {
    pub subject: u16,
    pub name: &'static str,
    pub meaning: &'static str,
    pub reference: &'static str,
}

pub static SUBJECTS: &[SubjectInfo] = &[
    SubjectInfo {
        subject: 0,
        name: "Other or undefined",
        meaning: "no more precise subject is given",
        reference: "RFC 3463 §3.1",
    },
    SubjectInfo {
        subject: 1,
        name: "Addressing",
        meaning: "the sender's or recipient's address: its syntax or whether it exists",
        reference: "RFC 3463 §3.2",
    },
    SubjectInfo {
        subject: 2,
        name: "Mailbox",
        meaning: "the destination mailbox, something its owner controls",
        reference: "RFC 3463 §3.3",
    },
    SubjectInfo {
        subject: 3,
        name: "Mail system",
        meaning: "the receiving system, something its administrator controls",
        reference: "RFC 3463 §3.4",
    },
    SubjectInfo {
        subject: 4,
        name: "Network and routing",
        meaning: "the delivery path: DNS, routing, connections between hosts",
        reference: "RFC 3463 §3.5",
    },
    SubjectInfo {
        subject: 5,
        name: "Mail delivery protocol",
        meaning: "the SMTP exchange itself: sequence, syntax, protocol limits",
        reference: "RFC 3463 §3.6",
    },
    SubjectInfo {
        subject: 6,
        name: "Message content or media",
        meaning: "the message body: media types, conversions, encodings",
        reference: "RFC 3463 §3.7",
    },
    SubjectInfo {
        subject: 7,
        name: "Security or policy",
        meaning: "policy filtering, authentication and cryptography",
        reference: "RFC 3463 §3.8",
    },
];

/// One registered `X.subject.detail` code.
#[derive(Debug)]
pub struct DetailInfo {
    pub subject: u16,
    pub detail: u16,
    pub title: &'static str,
    pub meaning: &'static str,
    pub reference: &'static str,
}

macro_rules! d {
    ($s:expr, $d:expr, $t:expr, $m:expr, $r:expr) => {
        DetailInfo {
            subject: $s,
            detail: $d,
            title: $t,
            meaning: $m,
            reference: $r,
        }
    };
}

pub static DETAILS: &[DetailInfo] = &[
    d!(0, 0, "Other undefined status", "Nothing more specific is known; read the reply text.", "RFC 3463 §3.1"),
    d!(1, 0, "Other address status", "About an address, with nothing more specific (2.1.0 often acknowledges MAIL FROM).", "RFC 3463 §3.2"),
    d!(1, 1, "Bad destination mailbox address", "The part before the @ names no mailbox on that system: the user does not exist.", "RFC 3463 §3.2"),
    d!(1, 2, "Bad destination system address", "The domain after the @ does not exist or accepts no mail.", "RFC 3463 §3.2"),
    d!(1, 3, "Bad destination mailbox address syntax", "The recipient address is malformed.", "RFC 3463 §3.2"),
    d!(1, 4, "Destination mailbox address ambiguous", "The address matches more than one mailbox.", "RFC 3463 §3.2"),
    d!(1, 5, "Destination address valid", "The recipient address is fine (used in positive replies, 2.1.5).", "RFC 3463 §3.2"),
    d!(1, 6, "Destination mailbox has moved", "The mailbox moved and no forwarding address is known.", "RFC 3463 §3.2"),
    d!(1, 7, "Bad sender's mailbox address syntax", "The envelope sender address is malformed.", "RFC 3463 §3.2"),
    d!(1, 8, "Bad sender's system address", "The sender's domain does not exist or cannot receive replies.", "RFC 3463 §3.2"),
    d!(1, 9, "Message relayed to non-compliant mailer", "Delivered to a system that cannot return delivery reports.", "RFC 3886"),
    d!(1, 10, "Recipient address has null MX", "The recipient domain declares with a null MX that it takes no mail.", "RFC 7505"),
    d!(2, 0, "Other or undefined mailbox status", "About the destination mailbox, with nothing more specific.", "RFC 3463 §3.3"),
    d!(2, 1, "Mailbox disabled", "The mailbox exists but currently refuses all messages.", "RFC 3463 §3.3"),
    d!(2, 2, "Mailbox full", "The recipient is over quota.", "RFC 3463 §3.3"),
    d!(2, 3, "Message length exceeds administrative limit", "The message is larger than this mailbox allows.", "RFC 3463 §3.3"),
    d!(2, 4, "Mailing list expansion problem", "The recipient is a list that could not be expanded.", "RFC 3463 §3.3"),
    d!(3, 0, "Other or undefined mail system status", "About the receiving mail system, with nothing more specific.", "RFC 3463 §3.4"),
    d!(3, 1, "Mail system full", "The receiving system is out of storage.", "RFC 3463 §3.4"),
    d!(3, 2, "System not accepting network messages", "The host accepts no mail now (e.g. shutting down).", "RFC 3463 §3.4"),
    d!(3, 3, "System not capable of selected features", "A feature the message requires is not supported here.", "RFC 3463 §3.4"),
    d!(3, 4, "Message too big for system", "The message is larger than the whole system accepts.", "RFC 3463 §3.4"),
    d!(3, 5, "System incorrectly configured", "A configuration error on the receiving side.", "RFC 3463 §3.4"),
    d!(3, 6, "Requested priority was changed", "The message was accepted with a different MT-PRIORITY.", "RFC 6710"),
    d!(4, 0, "Other or undefined network or routing status", "About the delivery path, with nothing more specific.", "RFC 3463 §3.5"),
    d!(4, 1, "No answer from host", "The next host did not answer the connection attempt.", "RFC 3463 §3.5"),
    d!(4, 2, "Bad connection", "The connection was made but broke or misbehaved.", "RFC 3463 §3.5"),
    d!(4, 3, "Directory server failure", "A lookup service (usually DNS) could not be reached.", "RFC 3463 §3.5"),
    d!(4, 4, "Unable to route", "No route to the destination could be found.", "RFC 3463 §3.5"),
    d!(4, 5, "Mail system congestion", "The system is overloaded; try later.", "RFC 3463 §3.5"),
    d!(4, 6, "Routing loop detected", "The message has been passed around in a loop.", "RFC 3463 §3.5"),
    d!(4, 7, "Delivery time expired", "The message stayed queued too long and was given up.", "RFC 3463 §3.5"),
    d!(5, 0, "Other or undefined protocol status", "About the SMTP exchange, with nothing more specific.", "RFC 3463 §3.6"),
    d!(5, 1, "Invalid command", "The command is out of sequence or not supported.", "RFC 3463 §3.6"),
    d!(5, 2, "Syntax error", "The command could not be parsed.", "RFC 3463 §3.6"),
    d!(5, 3, "Too many recipients", "More recipients than the server takes in one transaction.", "RFC 3463 §3.6"),
    d!(5, 4, "Invalid command arguments", "The command is known but its arguments are wrong.", "RFC 3463 §3.6"),
    d!(5, 5, "Wrong protocol version", "The peers' protocol versions do not match.", "RFC 3463 §3.6"),
    d!(5, 6, "Authentication exchange line is too long", "An AUTH response exceeded the server's line limit.", "RFC 4954 §6"),
    d!(6, 0, "Other or undefined media error", "About the message content, with nothing more specific.", "RFC 3463 §3.7"),
    d!(6, 1, "Media not supported", "A media type in the message is not accepted here.", "RFC 3463 §3.7"),
    d!(6, 2, "Conversion required and prohibited", "The content would need converting, but the sender forbade it.", "RFC 3463 §3.7"),
    d!(6, 3, "Conversion required but not supported", "The content would need a conversion this system cannot do.", "RFC 3463 §3.7"),
    d!(6, 4, "Conversion with loss performed", "Delivered, but a conversion lost information.", "RFC 3463 §3.7"),
    d!(6, 5, "Conversion failed", "A needed conversion was attempted and failed.", "RFC 3463 §3.7"),
    d!(6, 6, "Message content not available", "BURL: the content could not be fetched from its URL.", "RFC 4468"),
    d!(6, 7, "Non-ASCII addresses not permitted", "This sender or recipient may not use an internationalised address.", "RFC 6531"),
    d!(6, 8, "UTF-8 string reply is required", "The reply would need UTF-8, which the client did not allow.", "RFC 6531"),
    d!(6, 9, "UTF-8 header message cannot be transferred", "A UTF-8 header message cannot reach some recipients, so it is refused.", "RFC 6531"),
    d!(6, 10, "UTF-8 string reply is required (duplicate)", "Same as X.6.8; registered twice and kept for compatibility.", "RFC 6531"),
    d!(7, 0, "Other or undefined security status", "About security or policy, with nothing more specific (2.7.0 with 235: authentication succeeded; 5.7.0 with 530: authentication required).", "RFC 3463 §3.8"),
    d!(7, 1, "Delivery not authorized, message refused", "Policy forbids this sender, recipient or relay (e.g. relaying denied, blocklisted).", "RFC 3463 §3.8"),
    d!(7, 2, "Mailing list expansion prohibited", "The sender may not expand this list.", "RFC 3463 §3.8"),
    d!(7, 3, "Security conversion required but not possible", "A security conversion (e.g. re-encryption) was needed and could not be done.", "RFC 3463 §3.8"),
    d!(7, 4, "Security features not supported", "The message needs security features this system lacks.", "RFC 3463 §3.8"),
    d!(7, 5, "Cryptographic failure", "Decryption or signature processing failed.", "RFC 3463 §3.8"),
    d!(7, 6, "Cryptographic algorithm not supported", "An algorithm the message uses is not supported.", "RFC 3463 §3.8"),
    d!(7, 7, "Message integrity failure", "The message was altered or damaged on the way.", "RFC 3463 §3.8"),
    d!(7, 8, "Authentication credentials invalid", "AUTH failed: wrong user name or password (with 535).", "RFC 4954 §6"),
    d!(7, 9, "Authentication mechanism is too weak", "Policy wants a stronger AUTH mechanism (with 534).", "RFC 4954 §6"),
    d!(7, 10, "Encryption needed", "The request is refused until the connection is encrypted (with 523).", "RFC 5248"),
    d!(7, 11, "Encryption required for requested authentication mechanism", "This mechanism may only run inside TLS (with 538).", "RFC 4954 §6"),
    d!(7, 12, "A password transition is needed", "The user must change or set up the password first (with 432).", "RFC 4954 §6"),
    d!(7, 13, "User account disabled", "The account exists but is disabled (with 525).", "RFC 5248"),
    d!(7, 14, "Trust relationship required", "The servers involved lack the trust needed (e.g. for BURL).", "RFC 5248"),
    d!(7, 15, "Priority level is too low", "The requested MT-PRIORITY is below what is accepted now.", "RFC 6710"),
    d!(7, 16, "Message is too big for the specified priority", "Large messages need a higher priority here.", "RFC 6710"),
    d!(7, 17, "Mailbox owner has changed", "RRVS: the mailbox changed hands since the given date.", "RFC 7293"),
    d!(7, 18, "Domain owner has changed", "RRVS: the domain changed hands since the given date.", "RFC 7293"),
    d!(7, 19, "RRVS test cannot be completed", "The server cannot check the Require-Recipient-Valid-Since condition.", "RFC 7293"),
    d!(7, 20, "No passing DKIM signature found", "The message carries no DKIM signature that verifies.", "RFC 7372"),
    d!(7, 21, "No acceptable DKIM signature found", "Signatures verify but none meets local policy.", "RFC 7372"),
    d!(7, 22, "No valid author-matched DKIM signature found", "No verifying signature matches the From: domain.", "RFC 7372"),
    d!(7, 23, "SPF validation failed", "The sending host is not permitted by the sender domain's SPF record.", "RFC 7372 (RFC 7208 §8.4)"),
    d!(7, 24, "SPF validation error", "The SPF check could not be completed (DNS or record error).", "RFC 7372 (RFC 7208 §8.6, §8.7)"),
    d!(7, 25, "Reverse DNS validation failed", "The client's IP address has no matching reverse DNS name.", "RFC 7372"),
    d!(7, 26, "Multiple authentication checks failed", "Several sender checks (SPF, DKIM, ...) failed together.", "RFC 7372"),
    d!(7, 27, "Sender address has null MX", "The sender's domain declares it takes no mail, so bounces could not return.", "RFC 7505"),
    d!(7, 28, "Mail flood detected", "The message belongs to a flood of similar abusive messages.", "IANA registry (RFC 5248 procedure)"),
    d!(7, 29, "ARC validation failure", "The message's ARC chain does not validate.", "RFC 8617"),
    d!(7, 30, "REQUIRETLS support required", "The message demands TLS on every hop and this path cannot provide it.", "RFC 8689"),
];

pub fn class(c: u8) -> Option<&'static ClassInfo> {
    CLASSES.iter().find(|x| x.class == c)
}

pub fn subject(s: u16) -> Option<&'static SubjectInfo> {
    SUBJECTS.iter().find(|x| x.subject == s)
}

pub fn detail(s: u16, d: u16) -> Option<&'static DetailInfo> {
    DETAILS.iter().find(|x| x.subject == s && x.detail == d)
}

/// RFC 2034 §4 / RFC 3463 §2: the enhanced class must agree with the
/// reply's first digit (2 with 2yz, 4 with 4yz, 5 with 5yz).
pub fn agrees_with_reply(class: u8, reply: u16) -> bool {
    u16::from(class) == reply / 100
}
