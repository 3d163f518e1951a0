//! Summary and export agree: an exported attachment's bytes hash to what
//! the summary reported, whatever the transfer encoding.

use sha2::{Digest, Sha256};
use smtpscope::output::eml::Exporter;
use smtpscope::smtp::message::MessageSummary;

const RAW: &[u8] = b"From: a@example.org\r\n\
Subject: =?utf-8?Q?R=C3=A9sum=C3=A9?=\r\n\
Content-Type: multipart/mixed; boundary=\"=_b\"\r\n\
\r\n\
--=_b\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
hello\r\n\
--=_b\r\n\
Content-Type: image/png; name=\"../dot.png\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGA\r\n\
WjR9awAAAABJRU5ErkJggg==\r\n\
--=_b\r\n\
Content-Type: text/csv; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
Content-Disposition: attachment; filename*=iso-8859-1''caf%E9.csv\r\n\
\r\n\
caf=E9;1\r\n\
--=_b--\r\n";

#[test]
fn test_exported_attachments_hash_to_summary_sha256() {
    let summary = MessageSummary::parse(RAW, false);
    assert_eq!(summary.subject.as_deref(), Some("Résumé"));
    let names: Vec<_> = summary.attachments().map(|p| p.filename.clone()).collect();
    assert_eq!(
        names,
        [Some("../dot.png".to_string()), Some("café.csv".to_string())]
    );

    let dir = std::env::temp_dir().join(format!("smtpscope-message-export-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut exporter = Exporter::new(&dir, true).unwrap();
    let files = exporter.export_message(42, 1, RAW, &summary).unwrap();
    let dir = exporter.dir().to_path_buf();

    assert_eq!(files.message, dir.join("s000042-t01.eml"));
    let attachment_dir = dir.join("s000042-t01-attachments");
    assert_eq!(
        files.attachments,
        [
            attachment_dir.join("02-dot.png"),
            attachment_dir.join("03-café.csv")
        ]
    );
    for (path, part) in files.attachments.iter().zip(summary.attachments()) {
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(bytes.len() as u64, part.decoded_size);
        assert_eq!(
            Some(format!("{:x}", Sha256::digest(&bytes))),
            part.sha256,
            "{path:?}"
        );
    }
    assert!(std::fs::read(&files.attachments[0])
        .unwrap()
        .starts_with(b"\x89PNG"));
    assert_eq!(std::fs::read(&files.attachments[1]).unwrap(), b"caf\xe9;1");
    std::fs::remove_dir_all(&dir).unwrap();
}
