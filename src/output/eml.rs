//! Export of messages (`.eml`) and their attachments to a directory.
//!
//! Invariants, because every name and byte here comes from the traffic:
//! - Nothing from the traffic chooses a path. Message files are named from
//!   the session and transaction numbers; attachment names go through
//!   [`sanitize_filename`], which leaves one plain file name, and the joined
//!   path is checked to sit directly in the directory we chose.
//! - No file is ever overwritten: files are opened with `create_new`
//!   (`O_CREAT|O_EXCL`, which also refuses a symlink in the final place), and
//!   a name that is taken gets a numeric suffix, `-1`, `-2`, ...
//! - We write only into the export directory and attachment directories we
//!   have just created ourselves; an attachment directory name that exists
//!   as a symlink is refused, not followed.
//! - Files are created owner-only (0600) and never executable.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::output::escape::escape_str;
use crate::smtp::message::{try_for_each_part_content, MessageSummary};

/// Longest sanitized attachment name, in bytes (before the part-index prefix
/// and any collision suffix), well under the 255 most file systems allow.
pub const MAX_NAME_BYTES: usize = 100;

/// Longest extension kept when a long name is shortened.
const MAX_KEPT_EXTENSION_BYTES: usize = 16;

/// Collision suffixes tried before giving up on a name.
const MAX_SUFFIX: usize = 10_000;

/// Writes messages and, optionally, their attachments into one directory.
#[derive(Debug)]
pub struct Exporter {
    dir: PathBuf,
    attachments: bool,
    messages_written: u64,
    attachments_written: u64,
}

/// What one [`Exporter::export_message`] call wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportedFiles {
    /// The `.eml` file: the message exactly as the server received it.
    pub message: PathBuf,
    /// One file per attachment, in MIME order.
    pub attachments: Vec<PathBuf>,
}

impl Exporter {
    /// Use `dir` for export, creating it if needed. `attachments` also
    /// saves each attachment's decoded content beside the message.
    pub fn new(dir: &Path, attachments: bool) -> anyhow::Result<Self> {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create export directory {}", dir.display()))?;
        // Resolved once, from the user's choice; every path below is this
        // plus names we built.
        let dir = dir
            .canonicalize()
            .with_context(|| format!("cannot resolve export directory {}", dir.display()))?;
        anyhow::ensure!(
            dir.is_dir(),
            "export path {} is not a directory",
            dir.display()
        );
        Ok(Exporter {
            dir,
            attachments,
            messages_written: 0,
            attachments_written: 0,
        })
    }

    /// The resolved export directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Messages and attachment files written so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.messages_written, self.attachments_written)
    }

    /// Write `raw` as `s{session:06}-t{transaction:02}.eml` and, when asked
    /// for, each attachment of `summary` (which must describe `raw`) as
    /// `s{session:06}-t{transaction:02}-attachments/{part:02}-{name}`.
    pub fn export_message(
        &mut self,
        session_id: u64,
        transaction_index: usize,
        raw: &[u8],
        summary: &MessageSummary,
    ) -> io::Result<ExportedFiles> {
        let base = format!("s{session_id:06}-t{transaction_index:02}");
        let want_attachments = self.attachments && summary.attachments().next().is_some();

        // Pick one suffix for both the message and its attachment directory
        // so that the pair stays recognisable.
        for n in 0..=MAX_SUFFIX {
            let stem = if n == 0 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            let attachment_dir = if want_attachments {
                match self.create_own_dir(&format!("{stem}-attachments"))? {
                    Some(dir) => Some(dir),
                    None => continue,
                }
            } else {
                None
            };
            let message = match create_new_in(&self.dir, &format!("{stem}.eml"))? {
                Some(created) => created,
                None => {
                    if let Some(dir) = attachment_dir {
                        // Ours and still empty.
                        fs::remove_dir(dir)?;
                    }
                    continue;
                }
            };
            write_all(message.1, raw)?;
            self.messages_written += 1;
            let mut exported = ExportedFiles {
                message: message.0,
                attachments: Vec::new(),
            };
            if let Some(dir) = attachment_dir {
                exported.attachments = self.write_attachments(&dir, raw, summary)?;
            }
            return Ok(exported);
        }
        Err(taken(&self.dir.join(format!("{base}.eml"))))
    }

    fn write_attachments(
        &mut self,
        dir: &Path,
        raw: &[u8],
        summary: &MessageSummary,
    ) -> io::Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        try_for_each_part_content(raw, |index, content| -> io::Result<()> {
            let Some(part) = summary.parts.get(index).filter(|p| p.is_attachment) else {
                return Ok(());
            };
            let name = format!(
                "{index:02}-{}",
                sanitize_filename(part.filename.as_deref().unwrap_or(""))
            );
            let (path, file) = create_new_with_suffix(dir, &name)?;
            write_all(file, content)?;
            self.attachments_written += 1;
            written.push(path);
            Ok(())
        })?;
        Ok(written)
    }

    /// Create `name` in the export directory. `None` if the name is taken by
    /// a directory or file; an error if it is a symlink.
    fn create_own_dir(&self, name: &str) -> io::Result<Option<PathBuf>> {
        let path = child(&self.dir, name)?;
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        match builder.create(&path) {
            Ok(()) => Ok(Some(path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if fs::symlink_metadata(&path)?.file_type().is_symlink() {
                    Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "refusing to export into {}: it is a symbolic link",
                            escape_str(&path.to_string_lossy())
                        ),
                    ))
                } else {
                    Ok(None)
                }
            }
            Err(e) => Err(e),
        }
    }
}

/// `dir/name`, after checking that `name` is one plain component so the
/// result sits directly in `dir`.
fn child(dir: &Path, name: &str) -> io::Result<PathBuf> {
    let path = dir.join(name);
    if path.parent() == Some(dir) && path.file_name().and_then(|n| n.to_str()) == Some(name) {
        Ok(path)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "file name {} would leave the export directory",
                escape_str(name)
            ),
        ))
    }
}

/// Create `dir/name` only if nothing (not even a dangling symlink) is there.
fn create_new_in(dir: &Path, name: &str) -> io::Result<Option<(PathBuf, File)>> {
    let path = child(dir, name)?;
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(file) => Ok(Some((path, file))),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(None),
        Err(e) => Err(e),
    }
}

/// Create `dir/name`, or `name` with `-1`, `-2`, ... before its extension.
fn create_new_with_suffix(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    for n in 0..=MAX_SUFFIX {
        let candidate = if n == 0 {
            name.to_string()
        } else {
            with_suffix(name, n)
        };
        if let Some(created) = create_new_in(dir, &candidate)? {
            return Ok(created);
        }
    }
    Err(taken(&dir.join(name)))
}

fn with_suffix(name: &str, n: usize) -> String {
    match name.rfind('.') {
        Some(dot) if dot > 0 => format!("{}-{n}{}", &name[..dot], &name[dot..]),
        _ => format!("{name}-{n}"),
    }
}

fn taken(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "{} and its {MAX_SUFFIX} numbered variants all exist",
            escape_str(&path.to_string_lossy())
        ),
    )
}

fn write_all(mut file: File, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)?;
    file.flush()
}

/// Reduce a file name from the traffic to one harmless file name component:
/// only its last path component (after `/` or `\`), with control, bidi and
/// other format characters and the characters Windows forbids (`<>:"|?*`)
/// replaced by `_`, no leading dots or spaces, no trailing dots or spaces, not
/// a Windows device name, at most [`MAX_NAME_BYTES`] bytes (keeping a short
/// extension), and `part` if nothing is left.
pub fn sanitize_filename(name: &str) -> String {
    let last = trim_name(name.rsplit(['/', '\\']).next().unwrap_or(""));
    // Only what can survive shortening is looked at, so a hostile 10 MB
    // "name" costs no more than a short one; a short extension is taken from
    // the far end so that it survives.
    let (stem, ext) = match last.rfind('.') {
        Some(dot) if dot > 0 && last.len() - dot <= MAX_KEPT_EXTENSION_BYTES => last.split_at(dot),
        _ => (last, ""),
    };
    let out: String = stem
        .chars()
        .take(MAX_NAME_BYTES)
        .chain(ext.chars())
        .map(|c| if is_safe_char(c) { c } else { '_' })
        .collect();
    let mut out = shorten(trim_name(&out));
    if is_windows_device_name(&out) {
        out = shorten(&format!("_{out}"));
    }
    let out = trim_name(&out);
    if out.is_empty() {
        "part".to_string()
    } else {
        out.to_string()
    }
}

/// A character that prints as itself: the terminal escaper leaves it alone
/// (so no control, bidi or invisible format character) and Windows allows it.
fn is_safe_char(c: char) -> bool {
    let mut buf = [0u8; 4];
    let s = c.encode_utf8(&mut buf);
    !matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') && escape_str(s) == *s
}

/// Leading dots (hidden files, `..`) and spaces; trailing dots and spaces,
/// which Windows drops, making `a.exe.` an `a.exe`.
fn trim_name(s: &str) -> &str {
    s.trim_start_matches(['.', ' ', '\u{a0}'])
        .trim_end_matches(['.', ' ', '\u{a0}'])
}

/// Cut to [`MAX_NAME_BYTES`] on a character boundary, keeping a short
/// extension so the file still opens with the right program.
fn shorten(s: &str) -> String {
    if s.len() <= MAX_NAME_BYTES {
        return s.to_string();
    }
    let ext = s
        .rfind('.')
        .map(|dot| &s[dot..])
        .filter(|ext| ext.len() <= MAX_KEPT_EXTENSION_BYTES);
    let ext = ext.unwrap_or("");
    let mut stem_end = MAX_NAME_BYTES - ext.len();
    while !s.is_char_boundary(stem_end) {
        stem_end -= 1;
    }
    let stem = trim_name(&s[..stem_end]);
    format!("{stem}{ext}")
}

/// `CON`, `PRN`, `AUX`, `NUL`, `COM0`-`COM9`, `LPT0`-`LPT9` (also with
/// superscript digits) and `CONIN$`/`CONOUT$`, with any extension: Windows
/// opens the device instead of a file.
fn is_windows_device_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or("").trim_end_matches(' ');
    let upper = stem.to_uppercase();
    match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" => true,
        _ => {
            let mut chars = upper.chars();
            let prefix: String = chars.by_ref().take(3).collect();
            let digit: Vec<char> = chars.collect();
            (prefix == "COM" || prefix == "LPT")
                && matches!(digit.as_slice(), [d] if d.is_ascii_digit() || matches!(d, '¹' | '²' | '³'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::message::MessageSummary;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(label: &str) -> TempDir {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir()
                .join(format!("smtpscope-eml-{}-{label}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).unwrap();
            TempDir(path.canonicalize().unwrap())
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn message_with_attachments(names: &[&str]) -> Vec<u8> {
        let mut raw = b"Subject: t\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
                        --b\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
            .to_vec();
        for (i, name) in names.iter().enumerate() {
            raw.extend_from_slice(
                format!(
                    "--b\r\nContent-Type: application/octet-stream\r\n\
                     Content-Disposition: attachment; filename=\"{name}\"\r\n\r\ncontent {i}\r\n"
                )
                .as_bytes(),
            );
        }
        raw.extend_from_slice(b"--b--\r\n");
        raw
    }

    /// Every file under `dir`, recursively, with no symlink among them.
    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            assert!(!kind.is_symlink(), "{:?}", entry.path());
            if kind.is_dir() {
                out.extend(files_under(&entry.path()));
            } else {
                out.push(entry.path());
            }
        }
        out.sort();
        out
    }

    #[test]
    fn test_sanitize_strips_directories() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("/etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("C:\\Windows\\x.exe"), "x.exe");
        assert_eq!(sanitize_filename("C:x.exe"), "C_x.exe");
        assert_eq!(sanitize_filename(".."), "part");
        assert_eq!(sanitize_filename("a/.."), "part");
        assert_eq!(sanitize_filename("..\\..\\"), "part");
        assert_eq!(sanitize_filename("...hidden"), "hidden");
        assert_eq!(sanitize_filename("report.pdf:stream"), "report.pdf_stream");
    }

    #[test]
    fn test_sanitize_windows_device_names() {
        assert_eq!(sanitize_filename("CON.txt"), "_CON.txt");
        assert_eq!(sanitize_filename("aux"), "_aux");
        assert_eq!(sanitize_filename("nul.tar.gz"), "_nul.tar.gz");
        assert_eq!(sanitize_filename("COM1"), "_COM1");
        assert_eq!(sanitize_filename("lpt9.doc"), "_lpt9.doc");
        assert_eq!(sanitize_filename("COM¹.txt"), "_COM¹.txt");
        assert_eq!(sanitize_filename("CON .txt"), "_CON .txt");
        assert_eq!(sanitize_filename("console.txt"), "console.txt");
        assert_eq!(sanitize_filename("COM10"), "COM10");
    }

    #[test]
    fn test_sanitize_trailing_dots_spaces_and_empty() {
        assert_eq!(sanitize_filename("a.exe. . "), "a.exe");
        assert_eq!(sanitize_filename(""), "part");
        assert_eq!(sanitize_filename("   "), "part");
        assert_eq!(sanitize_filename("\0"), "_");
    }

    #[test]
    fn test_sanitize_control_and_bidi_characters() {
        assert_eq!(
            sanitize_filename("a\u{1b}[31mb\0c\r\n.txt"),
            "a_[31mb_c__.txt"
        );
        // "invoice\u{202e}fdp.exe" shows as "invoiceexe.pdf" in a bidi UI.
        assert_eq!(
            sanitize_filename("invoice\u{202e}fdp.exe"),
            "invoice_fdp.exe"
        );
        assert_eq!(sanitize_filename("x\u{200b}\u{9b}\u{feff}y"), "x___y");
        assert_eq!(sanitize_filename("Grüße 世界.pdf"), "Grüße 世界.pdf");
        assert_eq!(sanitize_filename("a<b>c|d?e*f\"g"), "a_b_c_d_e_f_g");
    }

    #[test]
    fn test_sanitize_long_names_keep_extension() {
        let long = format!("{}.pdf", "a".repeat(10_000));
        let out = sanitize_filename(&long);
        assert_eq!(out.len(), MAX_NAME_BYTES);
        assert!(out.ends_with("aaa.pdf"));

        let multibyte = format!("{}.docx", "é".repeat(10_000));
        let out = sanitize_filename(&multibyte);
        assert!(
            out.len() <= MAX_NAME_BYTES && out.ends_with("é.docx"),
            "{out}"
        );

        let long_ext = format!("x.{}", "b".repeat(10_000));
        assert_eq!(sanitize_filename(&long_ext).len(), MAX_NAME_BYTES);

        let dots = format!("{}{}.txt", "a".repeat(95), ".".repeat(10_000));
        let out = sanitize_filename(&dots);
        assert!(!out.ends_with('.') && out.len() <= MAX_NAME_BYTES, "{out}");
    }

    #[test]
    fn test_export_message_and_attachments_names() {
        let tmp = TempDir::new("names");
        let raw = message_with_attachments(&["report.pdf", "../../etc/passwd"]);
        let summary = MessageSummary::parse(&raw, false);
        let mut ex = Exporter::new(&tmp.0, true).unwrap();
        let files = ex.export_message(7, 2, &raw, &summary).unwrap();
        assert_eq!(files.message, tmp.0.join("s000007-t02.eml"));
        assert_eq!(fs::read(&files.message).unwrap(), raw);
        let dir = tmp.0.join("s000007-t02-attachments");
        assert_eq!(
            files.attachments,
            [dir.join("02-report.pdf"), dir.join("03-passwd")]
        );
        assert_eq!(fs::read(&files.attachments[0]).unwrap(), b"content 0");
        assert_eq!(fs::read(&files.attachments[1]).unwrap(), b"content 1");
        assert_eq!(ex.counts(), (1, 2));
    }

    #[test]
    fn test_export_without_attachments_flag_writes_only_the_message() {
        let tmp = TempDir::new("noatt");
        let raw = message_with_attachments(&["a.txt"]);
        let summary = MessageSummary::parse(&raw, false);
        let files = Exporter::new(&tmp.0, false)
            .unwrap()
            .export_message(1, 0, &raw, &summary)
            .unwrap();
        assert!(files.attachments.is_empty());
        assert_eq!(files_under(&tmp.0), [tmp.0.join("s000001-t00.eml")]);
    }

    #[test]
    fn test_hostile_attachment_names_stay_inside_export_dir() {
        let tmp = TempDir::new("hostile");
        let long = "L".repeat(10_000);
        let names = [
            "../../etc/passwd",
            "/etc/passwd",
            "C:\\\\Windows\\\\x.exe",
            "CON.txt",
            "aux",
            long.as_str(),
            "a\u{1b}]52;c;AAAA\u{7}b",
            "x\u{202e}gpj.exe",
            "..",
            "",
        ];
        let raw = message_with_attachments(&names);
        let summary = MessageSummary::parse(&raw, false);
        assert_eq!(summary.attachments().count(), names.len());
        let mut ex = Exporter::new(&tmp.0, true).unwrap();
        let files = ex.export_message(1, 0, &raw, &summary).unwrap();
        assert_eq!(files.attachments.len(), names.len());
        let dir = tmp.0.join("s000001-t00-attachments");
        for path in &files.attachments {
            assert_eq!(path.parent(), Some(dir.as_path()));
            let name = path.file_name().unwrap().to_str().unwrap();
            assert!(name.len() <= MAX_NAME_BYTES + 3, "{name}");
            assert!(!name.chars().any(char::is_control), "{name:?}");
        }
        assert_eq!(files_under(&tmp.0).len(), names.len() + 1);
    }

    #[test]
    fn test_collisions_never_overwrite() {
        let tmp = TempDir::new("collide");
        fs::write(tmp.0.join("s000001-t00.eml"), b"existing").unwrap();
        fs::create_dir(tmp.0.join("s000001-t00-1-attachments")).unwrap();
        let raw = message_with_attachments(&["same.txt", "same.txt"]);
        let summary = MessageSummary::parse(&raw, false);
        let mut ex = Exporter::new(&tmp.0, true).unwrap();

        let first = ex.export_message(1, 0, &raw, &summary).unwrap();
        assert_eq!(first.message, tmp.0.join("s000001-t00-2.eml"));
        let dir = tmp.0.join("s000001-t00-2-attachments");
        assert_eq!(
            first.attachments,
            [dir.join("02-same.txt"), dir.join("03-same.txt")]
        );

        let second = ex.export_message(1, 0, &raw, &summary).unwrap();
        assert_eq!(second.message, tmp.0.join("s000001-t00-3.eml"));
        assert_eq!(
            fs::read(tmp.0.join("s000001-t00.eml")).unwrap(),
            b"existing"
        );
        assert!(fs::read_dir(tmp.0.join("s000001-t00-1-attachments"))
            .unwrap()
            .next()
            .is_none());
        assert_eq!(files_under(&tmp.0).len(), 1 + 2 * 3);
    }

    #[test]
    fn test_sanitize_device_name_prefix_stays_within_limit() {
        let name = format!("CON.{}", "x".repeat(200));
        let out = sanitize_filename(&name);
        assert!(
            out.starts_with("_CON.") && out.len() == MAX_NAME_BYTES,
            "{out}"
        );
    }

    proptest::proptest! {
        #[test]
        fn test_sanitized_name_is_always_one_harmless_component(name in ".{0,300}") {
            check_sanitized(&sanitize_filename(&name));
        }

        #[test]
        fn test_sanitized_pathlike_name_is_harmless(
            parts in proptest::collection::vec("(\\.\\.|CON|aux|[./\\\\ ]|\\PC{0,5}|\\p{Cc}|\u{202e})", 0..30)
        ) {
            check_sanitized(&sanitize_filename(&parts.concat()));
        }
    }

    fn check_sanitized(out: &str) {
        assert!(!out.is_empty() && out.len() <= MAX_NAME_BYTES, "{out:?}");
        assert!(!out.contains(['/', '\\', '\0']), "{out:?}");
        assert_eq!(escape_str(out), out);
        assert!(
            !out.starts_with(['.', ' ']) && !out.ends_with(['.', ' ']),
            "{out:?}"
        );
        assert!(!is_windows_device_name(out), "{out:?}");
        assert!(child(Path::new("/export"), out).is_ok(), "{out:?}");
    }

    #[test]
    fn test_suffix_goes_before_extension() {
        assert_eq!(with_suffix("02-a.pdf", 1), "02-a-1.pdf");
        assert_eq!(with_suffix("02-part", 2), "02-part-2");
        assert_eq!(with_suffix(".x", 3), ".x-3");
    }

    #[test]
    fn test_child_rejects_names_that_leave_the_dir() {
        let dir = Path::new("/tmp/export");
        assert!(child(dir, "a.eml").is_ok());
        for bad in ["../a", "a/b", "/etc/passwd", "..", "."] {
            assert!(child(dir, bad).is_err(), "{bad}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn test_symlinked_attachment_dir_is_refused_not_followed() {
        let tmp = TempDir::new("symlink");
        let outside = TempDir::new("outside");
        std::os::unix::fs::symlink(&outside.0, tmp.0.join("s000001-t00-attachments")).unwrap();
        let raw = message_with_attachments(&["a.txt"]);
        let summary = MessageSummary::parse(&raw, false);
        let err = Exporter::new(&tmp.0, true)
            .unwrap()
            .export_message(1, 0, &raw, &summary)
            .unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(fs::read_dir(&outside.0).unwrap().next().is_none());
    }

    #[cfg(unix)]
    #[test]
    fn test_symlinked_message_name_is_not_followed() {
        let tmp = TempDir::new("symlink-eml");
        let outside = TempDir::new("outside-eml");
        let target = outside.0.join("victim");
        fs::write(&target, b"keep").unwrap();
        std::os::unix::fs::symlink(&target, tmp.0.join("s000001-t00.eml")).unwrap();
        let raw = b"Subject: x\r\n\r\nbody\r\n";
        let summary = MessageSummary::parse(raw, false);
        let files = Exporter::new(&tmp.0, true)
            .unwrap()
            .export_message(1, 0, raw, &summary)
            .unwrap();
        assert_eq!(files.message, tmp.0.join("s000001-t00-1.eml"));
        assert_eq!(fs::read(&target).unwrap(), b"keep");
    }

    #[cfg(unix)]
    #[test]
    fn test_exported_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = TempDir::new("mode");
        let raw = message_with_attachments(&["run.sh"]);
        let summary = MessageSummary::parse(&raw, false);
        let files = Exporter::new(&tmp.0, true)
            .unwrap()
            .export_message(1, 0, &raw, &summary)
            .unwrap();
        for path in std::iter::once(&files.message).chain(&files.attachments) {
            let mode = fs::metadata(path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode & !0o600, 0, "{path:?} {mode:o}");
        }
    }
}
