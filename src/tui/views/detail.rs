//! The selected dialogue line in full: raw bytes with the exact terminator
//! visible, the parsed fields, findings on it and an explanation.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::super::app::{App, Pane};
use super::super::explain::explain_line;
use super::super::state::rows::RowKind;
use super::super::theme;
use super::pane_block;
use crate::capture::time::format_duration_nanos;
use crate::model::TimelineKind;
use crate::net::Dir;
use crate::output::escape::escape_str;
use crate::smtp::lines::Terminator;

fn term(t: Terminator) -> &'static str {
    match t {
        Terminator::CrLf => "\\r\\n",
        Terminator::Lf => "\\n (bare LF)",
        Terminator::Cr => "\\r (bare CR)",
        Terminator::None => "(no terminator)",
    }
}

fn field(name: &str, value: String) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{name:>10}: "), theme::dim()),
        Span::raw(value),
    ])
}

pub fn render(f: &mut Frame, area: Rect, app: &App) {
    let block = pane_block(" Detail ", app, Pane::Detail);
    let t = &app.timeline;
    let (Some(e), Some(row)) = (t.session.and_then(|id| app.store.get(id)), t.selected_row())
    else {
        f.render_widget(
            Paragraph::new(Span::styled("no line selected", theme::dim())).block(block),
            area,
        );
        return;
    };
    let s = &e.session;
    let ev = &s.timeline[row.ev];
    let line_no = match row.kind {
        RowKind::Line(n) => n,
        _ => 0,
    };
    let mut lines: Vec<Line> = Vec::new();
    if ev.kind == TimelineKind::Proxy {
        // Binary SOCKS or an HTTP head, decoded into one line: no raw
        // line with a terminator to show.
        lines.push(Line::from(vec![
            Span::styled("decoded: ", theme::dim()),
            Span::raw(ev.lines.first().cloned().unwrap_or_default()),
        ]));
    } else if let (RowKind::Line(n), Some(text)) = (row.kind, ev.lines.get(line_no)) {
        let t = ev.terms.get(n).copied().unwrap_or(Terminator::None);
        lines.push(Line::from(vec![
            Span::styled("raw: ", theme::dim()),
            Span::raw(text.clone()),
            Span::styled(term(t), theme::notice()),
        ]));
    } else {
        lines.push(Line::from(vec![
            Span::styled("row: ", theme::dim()),
            Span::raw(row.text.clone()),
        ]));
    }
    let kind = format!("{:?}", ev.kind);
    let dir = match ev.dir {
        Dir::ClientToServer => "client → server",
        Dir::ServerToClient => "server → client",
    };
    lines.push(field("kind", format!("{kind}, {dir}")));
    lines.push(field(
        "time",
        format!(
            "{} (+{:.6}s), frame {}",
            ev.ts.rfc3339(),
            ev.ts.since(s.start) as f64 / 1e9,
            ev.frame
        ),
    ));
    if let Some(seq) = ev.seq {
        lines.push(field("request", format!("#{seq}")));
    }
    if let Some(g) = row.group {
        lines.push(field("pipelined", format!("group {g} (RFC 2920)")));
    }
    if let Some(a) = ev.answers.and_then(|i| s.timeline.get(i)) {
        let req = a
            .lines
            .first()
            .cloned()
            .unwrap_or_else(|| "[message]".into());
        lines.push(field("answers", req));
    }
    if let Some(r) = ev.reply.and_then(|i| s.timeline.get(i)) {
        lines.push(field("reply", r.lines.first().cloned().unwrap_or_default()));
    }
    if let Some(l) = ev.latency_ns {
        lines.push(field("latency", format_duration_nanos(l)));
    }
    if let Some(secret) = &ev.secret {
        lines.push(field(
            "secret",
            if app.timeline.show_secrets {
                // Escaped by the model when it was decoded; the session's
                // AUTH record has the credential itself.
                match s
                    .auth
                    .as_ref()
                    .and_then(|a| a.secret.as_ref())
                    .filter(|_| ev.kind != TimelineKind::Proxy)
                {
                    Some(cred) => format!(
                        "{} (user {}, secret {})",
                        secret.reveal(),
                        escape_str(
                            s.auth
                                .as_ref()
                                .and_then(|a| a.user.as_deref())
                                .unwrap_or("-")
                        ),
                        escape_str(cred.reveal())
                    ),
                    None => secret.reveal().to_string(),
                }
            } else {
                "masked (run with --show-secrets to see it)".into()
            },
        ));
    }
    match ev.kind {
        TimelineKind::Message => {
            if let Some(tx) = ev.txn.and_then(|i| s.transactions.get(i)) {
                lines.push(field(
                    "from",
                    tx.mail_from
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or("-".into()),
                ));
                for r in &tx.rcpt_to {
                    lines.push(field(
                        "to",
                        format!(
                            "{} {}",
                            r.address,
                            r.code.map(|c| c.0.to_string()).unwrap_or_default()
                        ),
                    ));
                }
                lines.push(field(
                    "size",
                    format!("{} bytes", tx.data_bytes.unwrap_or(0)),
                ));
                lines.push(field(
                    "result",
                    match tx.code {
                        Some(c) if tx.completed => format!("{} accepted", c.0),
                        Some(c) => format!("{} refused", c.0),
                        None => "no final reply".into(),
                    },
                ));
            }
        }
        TimelineKind::TlsStarted => {
            let tls = &s.tls;
            lines.push(field(
                "sni",
                tls.sni.as_deref().map(escape_str).unwrap_or("-".into()),
            ));
            lines.push(field("versions", tls.versions.join(", ")));
            lines.push(field(
                "bytes",
                format!("C→S {} S→C {}", tls.bytes[0], tls.bytes[1]),
            ));
        }
        TimelineKind::Gap => {
            lines.push(field("lost", format!("{} bytes", ev.gap_len.unwrap_or(0))));
        }
        _ => {}
    }
    for fd in e
        .facts
        .findings
        .iter()
        .filter(|fd| fd.marks(row.ev, ev.frame))
    {
        lines.push(Line::from(vec![
            Span::styled(
                format!("{:>10}: ", fd.severity.as_str()),
                theme::severity(fd.severity),
            ),
            Span::raw(format!("{} {}", escape_str(&fd.name), escape_str(&fd.text))),
        ]));
    }
    let steps = app.timeline.explain.steps_for(s, e.open);
    let explained = explain_line(s, steps, row.ev, line_no);
    lines.push(Line::from(Span::styled("explanation:", theme::dim())));
    if explained.is_empty() {
        lines.push(Line::from(Span::styled(
            "  (the teaching module will explain this line)",
            theme::dim(),
        )));
    }
    for l in explained {
        lines.push(Line::from(format!("  {l}")));
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((t.detail_scroll, 0)),
        area,
    );
}
