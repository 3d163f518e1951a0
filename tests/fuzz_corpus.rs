//! The fuzz targets under `cargo test`: every committed input in
//! `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` replayed
//! through the same harness function the fuzzer runs, so CI keeps each
//! target's checks honest without cargo-fuzz or a nightly toolchain.

#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::fs;
use std::panic::catch_unwind;
use std::path::{Path, PathBuf};

/// Files directly in `dir`, sorted; none if it does not exist.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("read a corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `check` on every corpus and regression input of `target`; fails
/// naming each input that panicked (the panic message is printed above).
fn replay(target: &str, check: fn(&[u8])) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let corpus = inputs(&fuzz.join("corpus").join(target));
    assert!(!corpus.is_empty(), "fuzz/corpus/{target}/ has no inputs");
    let regressions = inputs(&fuzz.join("regressions").join(target));
    let mut failed = Vec::new();
    for path in corpus.iter().chain(&regressions) {
        let data = fs::read(path).expect("read a corpus input");
        if catch_unwind(|| check(&data)).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} inputs failed:\n{}",
        failed.len(),
        corpus.len() + regressions.len(),
        failed.join("\n")
    );
}

#[test]
fn test_pcap_file_corpus_reads_without_panic() {
    replay("pcap_file", harness::pcap_file);
}

#[test]
fn test_packet_corpus_decodes_one_packet_under_every_link_type_without_panic() {
    replay("packet", harness::packet);
}

#[test]
fn test_reassembly_corpus_delivers_every_byte_at_its_stream_offset() {
    replay("reassembly", harness::reassembly);
}

#[test]
fn test_smtp_session_corpus_text_is_escaped_and_json_round_trips() {
    replay("smtp_session", harness::smtp_session);
}

#[test]
fn test_proxy_corpus_verdict_does_not_depend_on_chunking() {
    replay("proxy", harness::proxy);
}

#[test]
fn test_mime_corpus_summary_does_not_depend_on_chunking() {
    replay("mime", harness::mime);
}

#[test]
fn test_data_corpus_decodes_alike_in_any_chunks() {
    replay("data", harness::data);
}

#[test]
fn test_gate_corpus_answers_like_the_decoder() {
    replay("gate", harness::gate);
}

#[test]
fn test_explain_corpus_terms_render_without_panic() {
    replay("explain", harness::explain);
}

#[test]
fn test_pipeline_corpus_text_is_escaped_and_json_lines_parse() {
    replay("pipeline", harness::pipeline);
}

#[test]
fn test_eml_export_corpus_writes_only_inside_the_export_directory() {
    replay("eml_export", harness::eml_export);
}
