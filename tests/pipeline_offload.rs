//! The SMTP stage on its own thread gives exactly what it gives inline,
//! and connections it declines stop being reassembled on the reader side.

mod common;

use common::*;
use smtpscope::capture::LinkType;
use smtpscope::model::Session;
use smtpscope::output::json::session_json;
use smtpscope::output::OutputOptions;
use smtpscope::pipeline::offload::Offload;
use smtpscope::pipeline::sharded::{Sharded, MAX_SHARDS};
use smtpscope::pipeline::{PipelineConfig, SmtpPipeline};
use smtpscope::run::read_files;

fn json(sessions: &[Session]) -> Vec<String> {
    let opts = OutputOptions {
        timeline: true,
        ..OutputOptions::default()
    };
    sessions
        .iter()
        .map(|s| session_json(s, &opts).to_string())
        .collect()
}

#[test]
fn test_offloaded_pipeline_matches_inline_on_every_real_capture() {
    let mut files: Vec<String> = std::fs::read_dir(repo().join("captures"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".pcap"))
        .collect();
    files.sort();
    let (inline, _) = decode(&files);
    let mut offload = Offload::spawn(|| SmtpPipeline::new(PipelineConfig::default(), Vec::new()));
    let outcome = read_files(&files, Default::default(), &mut offload);
    assert!(outcome.errors.is_empty());
    let offloaded = offload.finish().unwrap().into_consumer();
    assert!(inline.len() >= 15);
    assert_eq!(json(&inline), json(&offloaded));
    // Any number of decoder threads, one output order: the same bytes
    // again.
    for shards in [1, 2, 3, MAX_SHARDS] {
        let mut sharded = Sharded::with_shards(PipelineConfig::default(), Vec::new(), shards);
        let outcome = read_files(&files, Default::default(), &mut sharded);
        assert!(outcome.errors.is_empty());
        let (merged, stats) = sharded.finish().unwrap();
        assert_eq!(json(&inline), json(&merged), "{shards} shards");
        assert_eq!(stats.smtp_sessions as usize, inline.len());
    }
}

#[test]
fn test_declined_connections_stop_being_reassembled() {
    // A long HTTP-like conversation on port 8080 next to nothing else.
    let (c, s) = (addr("10.0.0.1:40000"), addr("10.0.0.2:8080"));
    let body = vec![b'z'; 1000];
    let mut script: Vec<(smtpscope::net::Dir, &[u8])> = vec![(
        smtpscope::net::Dir::ClientToServer,
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
    )];
    for _ in 0..5000 {
        script.push((smtpscope::net::Dir::ServerToClient, &body));
    }
    let pkts = conversation(c, s, (1, 2), &script);
    let dir = scratch("offload-ignore");
    let path = dir.join("http.pcap");
    write_pcap(&path, LinkType::RAW, &pkts);
    let files = [path.display().to_string()];
    // On its own, the decoder thread declines the connection but the
    // reader never hears it: every byte is reassembled.
    let mut offload = Offload::spawn(|| SmtpPipeline::new(PipelineConfig::default(), Vec::new()));
    let outcome = read_files(&files, Default::default(), &mut offload);
    let pipeline = offload.finish().unwrap();
    assert_eq!(pipeline.stats.not_smtp, 1);
    assert!(pipeline.into_consumer().is_empty());
    assert_eq!(outcome.stats.connections_ignored, 0);
    assert_eq!(outcome.stats.streams[1].bytes_delivered, 5_000_000);
    // Behind the gate the reader stops right after the request, which
    // already says HTTP.
    let mut sharded = Sharded::spawn(PipelineConfig::default(), Vec::new());
    let outcome = read_files(&files, Default::default(), &mut sharded);
    let (sessions, stats) = sharded.finish().unwrap();
    assert!(sessions.is_empty());
    assert_eq!(stats.not_smtp, 1);
    assert_eq!(outcome.stats.connections_ignored, 1);
    let request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".len() as u64;
    assert_eq!(outcome.stats.streams[0].bytes_delivered, request);
    assert_eq!(outcome.stats.streams[1].bytes_delivered, 0);
}

#[test]
fn test_sharded_run_counts_what_an_inline_run_counts() {
    use smtpscope::net::Dir::{ClientToServer as Cl, ServerToClient as Sv};
    // Two connections the decoders decline (an HTTP download, a binary
    // protocol), one recognised as SMTP by content on an odd port, one on
    // port 25. The reader must stop reassembling the declined ones at the
    // same byte whatever the threads do, or its counters vary run to run.
    let body = vec![b'z'; 1000];
    let mut http: Vec<(smtpscope::net::Dir, &[u8])> =
        vec![(Cl, &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..])];
    let blob = [0u8, 1, 2, 3, 0xff, 0xfe, b'\r', b'\n'].repeat(100);
    let mut binary: Vec<(smtpscope::net::Dir, &[u8])> = Vec::new();
    for _ in 0..3000 {
        http.push((Sv, &body));
        binary.push((Cl, &blob));
    }
    let mut pkts = conversation(addr("10.0.0.1:40000"), addr("10.0.0.2:8080"), (1, 2), &http);
    pkts.extend(conversation(
        addr("10.0.0.1:40001"),
        addr("10.0.0.2:2626"),
        (3, 4),
        &smtp_script(),
    ));
    pkts.extend(conversation(
        addr("10.0.0.1:40002"),
        addr("10.0.0.2:9000"),
        (5, 6),
        &binary,
    ));
    pkts.extend(conversation(
        addr("10.0.0.1:40003"),
        addr("10.0.0.2:25"),
        (7, 8),
        &smtp_script(),
    ));
    let dir = scratch("sharded-counters");
    let path = dir.join("mixed.pcap");
    write_pcap(&path, LinkType::RAW, &pkts);
    let files = [path.display().to_string()];
    let only_ports = PipelineConfig {
        only_ports: true,
        ..PipelineConfig::default()
    };
    for (cfg, sessions, declined) in [(PipelineConfig::default(), 2, 2), (only_ports, 1, 3)] {
        let (inline, inline_outcome) = decode_with(&files, cfg.clone());
        assert_eq!(inline.len(), sessions);
        assert_eq!(inline_outcome.stats.connections_ignored, declined);
        for shards in [1, 2, 3, 3, 3] {
            let mut sharded = Sharded::with_shards(cfg.clone(), Vec::new(), shards);
            let outcome = read_files(&files, Default::default(), &mut sharded);
            let (merged, stats) = sharded.finish().unwrap();
            assert_eq!(outcome.stats, inline_outcome.stats, "{shards} shards");
            assert_eq!(json(&merged), json(&inline));
            assert_eq!(stats.not_smtp, declined);
        }
    }
}

#[test]
fn test_sharded_run_declines_as_inline_when_the_hold_budget_runs_out() {
    use smtpscope::net::Dir::{ClientToServer as Cl, ServerToClient as Sv};
    use smtpscope::pipeline::MAX_DETECT_HOLD_TOTAL;
    // Connections to port 8080 that each get a greeting and junk up to
    // the 4,096 bytes one may hold, and stay open: more held in all than
    // the budget, so the last ones are judged not SMTP on that alone.
    // Then an SMTP dialogue on an odd port (declined too: the budget is
    // spent exactly) and one on port 25 (no detection needed).
    let server = addr("198.51.100.25:8080");
    let mut payload = b"220 mx ESMTP\r\n".to_vec();
    payload.resize(smtpscope::pipeline::MAX_DETECT_HOLD, b'a');
    let n = MAX_DETECT_HOLD_TOTAL / payload.len() + 200;
    let mut pkts = Vec::new();
    for i in 0..n {
        let client = std::net::SocketAddr::from(([10, 1, (i >> 8) as u8, i as u8], 40000));
        pkts.push(tcp_packet(client, server, 1000, 0, SYN, b""));
        pkts.push(tcp_packet(server, client, 5000, 1001, SYNACK, b""));
        pkts.push(tcp_packet(server, client, 5001, 1001, ACK, &payload));
    }
    let script = [
        (Sv, &b"220 mx ESMTP\r\n"[..]),
        (Cl, b"EHLO c\r\n"),
        (Sv, b"250 mx\r\n"),
        (Cl, b"QUIT\r\n"),
        (Sv, b"221 bye\r\n"),
    ];
    pkts.extend(conversation(
        addr("10.2.0.1:40001"),
        addr("10.2.0.2:2626"),
        (3, 4),
        &script,
    ));
    pkts.extend(conversation(
        addr("10.2.0.1:40002"),
        addr("10.2.0.2:25"),
        (5, 6),
        &script,
    ));
    let dir = scratch("hold-budget");
    let path = dir.join("undecided.pcap");
    write_pcap(&path, LinkType::RAW, &pkts);
    let files = [path.display().to_string()];
    let (inline, inline_outcome) = decode_with(&files, PipelineConfig::default());
    assert_eq!(inline.len(), 1, "only the port-25 session");
    let declined = inline_outcome.stats.connections_ignored;
    assert!(declined >= 200, "{declined} declined");
    for shards in [1, 2, 3] {
        let mut sharded = Sharded::with_shards(PipelineConfig::default(), Vec::new(), shards);
        let outcome = read_files(&files, Default::default(), &mut sharded);
        let (merged, stats) = sharded.finish().unwrap();
        assert_eq!(outcome.stats, inline_outcome.stats, "{shards} shards");
        assert_eq!(json(&merged), json(&inline));
        assert_eq!(stats.not_smtp as usize, n + 1, "{shards} shards");
        // The 200 past the budget and the odd-port dialogue.
        assert_eq!(stats.over_hold_budget, 201, "{shards} shards");
    }
}
