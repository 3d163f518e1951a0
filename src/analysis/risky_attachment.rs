//! Executable attachments, double extensions, and executables behind an
//! innocent name.

use super::Severity::*;
use super::*;

pub static INFO: RuleInfo = RuleInfo {
    id: "risky-attachment",
    group: "content",
    severities: &[High],
    trigger: "An attachment named with an executable/script extension (.exe .scr .js .vbs .hta .lnk .iso ...), a double extension (invoice.pdf.exe), an executable type (application/x-msdownload), or executable content (MZ/ELF) behind another name",
    explanation: "Executable attachments are the classic malware delivery; a double extension or an executable disguised as a document is a deliberate deception.",
    references: &["Suricata SMTP file extraction", "Zeek files framework (application/x-dosexec)"],
};

const RISKY: &[&str] = &[
    "exe", "scr", "com", "pif", "bat", "cmd", "js", "jse", "vbs", "vbe", "wsf", "hta", "lnk",
    "ps1", "msi", "dll", "jar", "iso", "img", "vhd", "cpl",
];
const DOCS: &[&str] = &[
    "pdf", "doc", "docx", "xls", "xlsx", "jpg", "png", "txt", "zip", "rtf",
];

fn ext(name: &str) -> Option<String> {
    name.rsplit_once('.')
        .map(|x| x.1.trim().to_ascii_lowercase())
}

pub fn check(s: &Facts, _cfg: &AnalysisConfig, out: &mut Vec<Finding>) {
    for (i, tx) in s.transactions.iter().enumerate() {
        let Some(m) = &tx.message else { continue };
        for p in &m.parts {
            let name = p.filename.as_deref().unwrap_or("");
            let e = ext(name);
            let risky_ext = e.as_deref().is_some_and(|e| RISKY.contains(&e));
            let double = risky_ext
                && name
                    .rsplit_once('.')
                    .and_then(|(stem, _)| ext(stem))
                    .is_some_and(|e2| DOCS.contains(&e2.as_str()));
            let exe_type = matches!(
                p.content_type.as_str(),
                "application/x-msdownload" | "application/x-dosexec"
            );
            let exe_magic = matches!(
                p.magic,
                Some("pe-executable" | "elf-executable" | "mach-o-executable")
            );
            let why = if double {
                "a double extension".to_string()
            } else if exe_magic && !risky_ext {
                format!("{} content behind this name", p.magic.unwrap_or_default())
            } else if risky_ext {
                "an executable extension".to_string()
            } else if exe_type {
                format!("type {}", p.content_type)
            } else {
                continue;
            };
            let summary = format!(
                "attachment {} ({}, {} bytes) has {}",
                if name.is_empty() {
                    "(unnamed)".to_string()
                } else {
                    wire(name)
                },
                wire(&p.content_type),
                p.decoded_size,
                wire(&why)
            );
            let mut f = Finding::new(&INFO, High, summary, s);
            f = f.message_event(s, i);
            out.push(f);
        }
    }
}
