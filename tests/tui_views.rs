//! TUI rendering and state, on real captures, without a terminal: the
//! real worker reads the capture, the App takes actions, and the screen
//! drawn on ratatui's TestBackend is compared with reviewed snapshots.

use std::path::PathBuf;
use std::time::Instant;

use smtpscope::model::Session;
use smtpscope::net::ConnId;
use smtpscope::tui::action::Action;
use smtpscope::tui::app::{App, AppConfig, Pane};
use smtpscope::tui::state::filter::{Preset, SortKey};
use smtpscope::tui::state::rows::RowKind;
use smtpscope::tui::state::store::{Severity, StoreLimits};
use smtpscope::tui::testing::{load_files, render_to_string};
use smtpscope::tui::worker::WorkerMsg;

fn cap(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
        .display()
        .to_string()
}

fn load(names: &[&str], w: u16, h: u16) -> App {
    load_files(&names.iter().map(|n| cap(n)).collect::<Vec<_>>(), w, h)
}

fn keys(app: &mut App, actions: &[Action]) {
    for a in actions {
        app.update(a.clone());
    }
}

/// Move the timeline selection to the first row of `kind`.
fn select_row(app: &mut App, pred: impl Fn(RowKind) -> bool) {
    app.update(Action::Home);
    let i = app
        .timeline
        .rows
        .iter()
        .position(|r| pred(r.kind))
        .expect("row of that kind");
    for _ in 0..i {
        app.update(Action::Down);
    }
}

fn with_findings(app: &mut App) {
    let id = app.sessions.current().expect("a session");
    let mut s: Session = app.store.get(id).unwrap().session.clone();
    let frame = s.timeline[3].frame;
    s.warnings = vec![
        serde_json::json!({"id": "auth-cleartext", "severity": "high",
            "summary": "AUTH PLAIN without TLS", "evidence": {"session": id.0, "events": [], "frames": [frame]}}),
        serde_json::json!({"id": "vrfy-enabled", "severity": "low",
            "summary": "VRFY answers \u{1b}[31m", "evidence": {"session": id.0, "events": [5], "frames": []}}),
    ];
    app.apply(WorkerMsg::SessionFinished(Box::new(s)));
    app.refresh();
}

// ---- snapshots (reviewed by eye) ----

#[test]
fn snapshot_sessions_tour_80x24() {
    let app = load(
        &[
            "tour.pcap",
            "postfix-starttls.pcap",
            "postfix-rcpt-rejected.pcap",
        ],
        80,
        24,
    );
    insta::assert_snapshot!(render_to_string(&app));
}

#[test]
fn snapshot_sessions_tour_160x48() {
    let app = load(
        &[
            "tour.pcap",
            "postfix-starttls.pcap",
            "postfix-rcpt-rejected.pcap",
        ],
        160,
        48,
    );
    insta::assert_snapshot!(render_to_string(&app));
}

#[test]
fn snapshot_timeline_pipelining_160x48() {
    let mut app = load(&["tour.pcap"], 160, 48);
    keys(&mut app, &[Action::Enter]);
    select_row(&mut app, |k| matches!(k, RowKind::Message { .. }));
    insta::assert_snapshot!(render_to_string(&app));
}

#[test]
fn snapshot_timeline_through_socks5_names_the_target_160x48() {
    let mut app = load(&["socks5-auth-smtp.pcap"], 160, 48);
    keys(&mut app, &[Action::Enter]);
    insta::assert_snapshot!(render_to_string(&app));
}

#[test]
fn snapshot_timeline_data_expanded_attachment_160x48() {
    let mut app = load(&["postfix-attachment.pcap"], 160, 48);
    keys(&mut app, &[Action::Enter]);
    select_row(&mut app, |k| matches!(k, RowKind::Message { .. }));
    keys(&mut app, &[Action::Enter]);
    insta::assert_snapshot!(render_to_string(&app));
}

#[test]
fn snapshot_timeline_data_expanded_attachment_80x24() {
    let mut app = load(&["postfix-attachment.pcap"], 80, 24);
    keys(&mut app, &[Action::Enter]);
    select_row(&mut app, |k| matches!(k, RowKind::Message { .. }));
    keys(&mut app, &[Action::Enter]);
    insta::assert_snapshot!(render_to_string(&app));
}

#[test]
fn snapshot_timeline_starttls_block_160x48() {
    let mut app = load(&["postfix-starttls.pcap"], 160, 48);
    keys(&mut app, &[Action::Enter]);
    select_row(&mut app, |k| k == RowKind::Tls);
    insta::assert_snapshot!(render_to_string(&app));
}

#[test]
fn snapshot_detail_reply_line_80x24() {
    let mut app = load(&["postfix-rcpt-rejected.pcap"], 80, 24);
    keys(
        &mut app,
        &[Action::Enter, Action::Down, Action::Down, Action::Enter],
    );
    assert_eq!(app.focus, Pane::Detail);
    insta::assert_snapshot!(render_to_string(&app));
}

#[test]
fn snapshot_message_view_attachment_160x48() {
    let mut app = load(&["postfix-attachment.pcap"], 160, 48);
    keys(&mut app, &[Action::Enter]);
    select_row(&mut app, |k| matches!(k, RowKind::Message { .. }));
    keys(&mut app, &[Action::OpenMessage]);
    assert!(app.message.is_some());
    insta::assert_snapshot!(render_to_string(&app));
}

#[test]
fn snapshot_message_view_80x24() {
    let mut app = load(&["postfix-utf8-subject.pcap"], 80, 24);
    keys(&mut app, &[Action::Enter]);
    select_row(&mut app, |k| matches!(k, RowKind::Message { .. }));
    keys(&mut app, &[Action::OpenMessage]);
    insta::assert_snapshot!(render_to_string(&app));
}

#[test]
fn snapshot_help_overlay_80x24() {
    let mut app = load(&["tour.pcap"], 80, 24);
    keys(&mut app, &[Action::ToggleHelp]);
    insta::assert_snapshot!(render_to_string(&app));
}

#[test]
fn snapshot_help_overlay_160x48() {
    let mut app = load(&["tour.pcap"], 160, 48);
    keys(&mut app, &[Action::ToggleHelp]);
    insta::assert_snapshot!(render_to_string(&app));
}

#[test]
fn snapshot_findings_pane_and_marks_160x48() {
    let mut app = load(&["tour.pcap"], 160, 48);
    with_findings(&mut app);
    keys(&mut app, &[Action::FocusPrev]);
    assert_eq!(app.focus, Pane::Findings);
    insta::assert_snapshot!(render_to_string(&app));
}

#[test]
fn snapshot_findings_pane_80x24() {
    let mut app = load(&["tour.pcap"], 80, 24);
    with_findings(&mut app);
    keys(&mut app, &[Action::FocusPrev]);
    insta::assert_snapshot!(render_to_string(&app));
}

#[test]
fn snapshot_search_prompt_80x24() {
    let mut app = load(
        &[
            "tour.pcap",
            "postfix-starttls.pcap",
            "postfix-rcpt-rejected.pcap",
        ],
        80,
        24,
    );
    keys(
        &mut app,
        &[
            Action::StartSearch,
            Action::Input('a'),
            Action::Input('l'),
            Action::Input('i'),
        ],
    );
    insta::assert_snapshot!(render_to_string(&app));
}

// ---- state ----

#[test]
fn test_keys_select_open_expand_and_back() {
    let mut app = load(&["postfix-attachment.pcap", "tour.pcap"], 160, 48);
    assert_eq!(app.sessions.len(), 2);
    keys(&mut app, &[Action::Down]);
    assert_eq!(app.sessions.list.selected, 1);
    let second = app.sessions.current();
    keys(&mut app, &[Action::Enter]);
    assert_eq!(app.focus, Pane::Timeline);
    assert_eq!(app.timeline.session, second);
    select_row(&mut app, |k| matches!(k, RowKind::Message { .. }));
    let before = app.timeline.rows.len();
    keys(&mut app, &[Action::Enter]);
    assert!(app.timeline.rows.len() > before, "DATA expands into rows");
    assert!(matches!(
        app.timeline.selected_row().unwrap().kind,
        RowKind::Message { expanded: true }
    ));
    keys(&mut app, &[Action::Enter]);
    assert!(
        app.message.is_some(),
        "Enter on an expanded DATA opens the message"
    );
    keys(&mut app, &[Action::Back]);
    assert!(app.message.is_none());
    keys(&mut app, &[Action::Back]);
    assert_eq!(app.focus, Pane::Sessions);
    // Another session resets the expansion.
    keys(&mut app, &[Action::Up]);
    assert!(app.timeline.expanded.is_empty());
}

#[test]
fn test_filter_presets_search_and_sort() {
    let mut app = load(
        &[
            "tour.pcap",
            "postfix-starttls.pcap",
            "postfix-rcpt-rejected.pcap",
        ],
        160,
        48,
    );
    assert_eq!(app.sessions.len(), 3);
    keys(&mut app, &[Action::CycleFilter]);
    assert_eq!(app.sessions.filter.preset, Preset::WithFindings);
    // All three raise findings (cleartext AUTH, banner disclosure, ...).
    assert_eq!(app.sessions.len(), 3);
    keys(&mut app, &[Action::CycleFilter]);
    assert_eq!(app.sessions.filter.preset, Preset::WithAuth);
    assert_eq!(app.sessions.len(), 1);
    keys(&mut app, &[Action::CycleFilter]);
    assert_eq!(app.sessions.filter.preset, Preset::WithRejected);
    assert_eq!(app.sessions.len(), 2);
    keys(&mut app, &[Action::CycleFilter]);
    assert_eq!(app.sessions.len(), 1, "one session used TLS");
    keys(&mut app, &[Action::CycleFilter, Action::CycleFilter]);
    assert_eq!(app.sessions.filter.preset, Preset::All);
    // `/` search is incremental and Esc clears it.
    keys(&mut app, &[Action::StartSearch]);
    for c in "TOUR".chars() {
        keys(&mut app, &[Action::Input(c)]);
    }
    assert_eq!(
        app.sessions.len(),
        1,
        "subject 'SMTP tour' matches case-insensitively"
    );
    keys(&mut app, &[Action::Enter]);
    assert!(app.prompt.is_none());
    assert_eq!(app.sessions.len(), 1);
    keys(&mut app, &[Action::StartSearch, Action::Back]);
    assert_eq!(app.sessions.len(), 3);
    // Typed filter.
    keys(&mut app, &[Action::StartTypedFilter]);
    for c in "port:2525 rejected".chars() {
        keys(&mut app, &[Action::Input(c)]);
    }
    assert_eq!(app.sessions.len(), 3, "typed filter applies on Enter");
    keys(&mut app, &[Action::Enter]);
    assert_eq!(app.sessions.len(), 1);
    keys(&mut app, &[Action::StartTypedFilter]);
    for _ in 0..30 {
        keys(&mut app, &[Action::InputBackspace]);
    }
    keys(&mut app, &[Action::Enter]);
    assert_eq!(app.sessions.len(), 3);
    // Sort by size, biggest first.
    keys(&mut app, &[Action::CycleSort, Action::CycleSort]);
    assert_eq!(app.sessions.sort, SortKey::Size);
    let sizes: Vec<u64> = app
        .sessions
        .ids()
        .map(|id| app.store.get(id).unwrap().facts.bytes)
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    keys(&mut app, &[Action::ReverseSort]);
    let first = app
        .store
        .get(app.sessions.id_at(0).unwrap())
        .unwrap()
        .facts
        .bytes;
    assert_eq!(first, *sizes.last().unwrap());
}

#[test]
fn test_findings_enter_jumps_to_evidence_line() {
    let mut app = load(&["tour.pcap"], 160, 48);
    with_findings(&mut app);
    assert_eq!(app.store.severity_counts(), [0, 1, 0, 1, 0]);
    keys(&mut app, &[Action::FocusPrev]);
    assert_eq!(app.findings.len(), 2);
    assert_eq!(app.findings.selected().unwrap().severity, Severity::High);
    keys(&mut app, &[Action::Enter]);
    assert_eq!(app.focus, Pane::Timeline);
    assert_eq!(app.timeline.selected_row().unwrap().ev, 3);
    keys(
        &mut app,
        &[
            Action::FocusNext,
            Action::FocusNext,
            Action::Down,
            Action::Enter,
        ],
    );
    assert_eq!(app.timeline.selected_row().unwrap().ev, 5);
}

#[test]
fn test_paging_and_scrolling_many_sessions() {
    let mut app = synthetic(1000, 80, 24);
    let page = app.areas().sessions_rows();
    keys(&mut app, &[Action::PageDown, Action::PageDown]);
    assert_eq!(app.sessions.list.selected, 2 * page);
    keys(&mut app, &[Action::End]);
    assert_eq!(app.sessions.list.selected, 999);
    assert_eq!(app.sessions.list.offset, 1000 - page);
    keys(&mut app, &[Action::Home]);
    assert_eq!(
        (app.sessions.list.selected, app.sessions.list.offset),
        (0, 0)
    );
    // Wheel over the sessions pane scrolls it; click selects the row.
    let a = app.areas();
    keys(
        &mut app,
        &[Action::Scroll {
            col: 5,
            row: a.sessions.y + 3,
            delta: 3,
        }],
    );
    assert_eq!(app.sessions.list.offset, 3);
    keys(
        &mut app,
        &[Action::Click {
            col: 5,
            row: a.sessions.y + 2 + 1,
        }],
    );
    assert_eq!(app.sessions.list.selected, 4);
    // Resize re-lays out and keeps the selection visible.
    keys(&mut app, &[Action::End, Action::Resize(160, 48)]);
    let page = app.areas().sessions_rows();
    assert_eq!(app.sessions.list.offset, 1000 - page);
}

#[test]
fn test_store_drops_oldest_finished_sessions_beyond_cap() {
    let mut app = App::new(AppConfig {
        limits: StoreLimits {
            max_sessions: 10,
            max_message_bytes: 1,
        },
        ..AppConfig::default()
    });
    let base = load(&["postfix-plain-delivery.pcap"], 80, 24);
    let s = base.store.iter().next().unwrap().session.clone();
    let mut open = s.clone();
    open.id = ConnId(0);
    app.apply(WorkerMsg::SessionUpdated(Box::new(open)));
    for i in 1..=20 {
        let mut s = s.clone();
        s.id = ConnId(i);
        app.apply(WorkerMsg::SessionFinished(Box::new(s)));
    }
    assert_eq!(app.store.len(), 10);
    assert_eq!(app.store.dropped_sessions, 11);
    assert!(
        app.store.get(ConnId(0)).is_some_and(|e| e.open),
        "open sessions stay"
    );
    assert!(app.store.get(ConnId(20)).is_some());
    assert!(
        app.store.message_bytes() <= 1,
        "message bytes over the cap are dropped"
    );
    assert!(app.store.dropped_messages > 0);
}

#[test]
fn test_pause_holds_updates_until_resumed() {
    let base = load(&["postfix-plain-delivery.pcap"], 80, 24);
    let s = base.store.iter().next().unwrap().session.clone();
    let mut app = App::new(AppConfig::default());
    keys(&mut app, &[Action::TogglePause]);
    app.apply(WorkerMsg::SessionFinished(Box::new(s)));
    assert_eq!(app.store.len(), 0);
    assert_eq!(app.pending(), 1);
    keys(&mut app, &[Action::TogglePause]);
    assert_eq!(app.store.len(), 1);
}

#[test]
fn test_hostile_header_is_escaped_on_screen() {
    let base = load(&["postfix-plain-delivery.pcap"], 160, 48);
    let mut s = base.store.iter().next().unwrap().session.clone();
    let tx = s
        .transactions
        .iter_mut()
        .find(|t| t.message.is_some())
        .unwrap();
    tx.message.as_mut().unwrap().subject =
        Some("evil \u{1b}]52;c;AAAA\u{7} \u{202e}txt.exe".into());
    let mut app = App::new(AppConfig::default());
    app.apply(WorkerMsg::SessionFinished(Box::new(s)));
    app.update(Action::Resize(160, 48));
    keys(&mut app, &[Action::Enter]);
    select_row(&mut app, |k| matches!(k, RowKind::Message { .. }));
    let screen = render_to_string(&app);
    assert!(!screen.contains('\u{1b}') && !screen.contains('\u{202e}'));
    assert!(
        screen.contains("evil \\x1b]52;c;AAAA\\x07 \\u{202e}txt.exe"),
        "{screen}"
    );
}

/// `n` copies of one real session with distinct ids.
fn synthetic(n: u64, w: u16, h: u16) -> App {
    let base = load(&["postfix-plain-delivery.pcap"], 80, 24);
    let s = base.store.iter().next().unwrap().session.clone();
    let mut app = App::new(AppConfig::default());
    for i in 0..n {
        let mut s = s.clone();
        s.id = ConnId(i);
        s.start = s.start.add_nanos(i as i64 * 1_000_000);
        app.apply(WorkerMsg::SessionFinished(Box::new(s)));
    }
    app.update(Action::Resize(w, h));
    app
}

#[test]
fn test_replay_space_pauses_and_n_steps_the_worker() {
    use smtpscope::tui::app::Mode;
    use smtpscope::tui::worker::Control;
    let mut app = App::new(AppConfig {
        mode: Mode::Replay(1.0),
        ..AppConfig::default()
    });
    assert!(app.sessions.follow, "replay follows the newest session");
    keys(&mut app, &[Action::TogglePause]);
    assert!(app.status.paused);
    keys(&mut app, &[Action::Step, Action::Step, Action::TogglePause]);
    assert_eq!(
        std::mem::take(&mut app.outbox),
        vec![
            Control::Pause(true),
            Control::Step,
            Control::Step,
            Control::Pause(false)
        ]
    );
    // Stepping a file that is not replayed does nothing.
    let mut file = App::new(AppConfig::default());
    keys(&mut file, &[Action::Step]);
    assert!(file.outbox.is_empty());
}

// ---- teaching mode (issue 6) ----

fn tour_timeline_teaching(w: u16, h: u16) -> App {
    let mut app = load(&["tour.pcap"], w, h);
    keys(&mut app, &[Action::Enter, Action::ToggleTeach]);
    app
}

/// The timeline event of the selected row, and its kind.
fn selected_line(app: &App) -> (usize, RowKind) {
    let r = app.timeline.selected_row().expect("a selected row");
    (r.ev, r.kind)
}

#[test]
fn snapshot_timeline_teaching_tour_80x24() {
    let app = tour_timeline_teaching(80, 24);
    insta::assert_snapshot!(render_to_string(&app));
}

#[test]
fn snapshot_timeline_teaching_tour_160x48() {
    let mut app = tour_timeline_teaching(160, 48);
    // The DATA reply: "354" explained on screen.
    let i = app
        .timeline
        .rows
        .iter()
        .position(|r| r.text.starts_with("354"))
        .expect("a 354 reply");
    for _ in 0..i {
        app.update(Action::Down);
    }
    insta::assert_snapshot!(render_to_string(&app));
}

#[test]
fn test_teach_toggle_keeps_selection_on_the_same_dialogue_line() {
    let mut app = load(&["tour.pcap"], 160, 48);
    keys(&mut app, &[Action::Enter]);
    for _ in 0..7 {
        app.update(Action::Down);
    }
    let before = selected_line(&app);
    assert!(!app.timeline.teach);
    let plain = render_to_string(&app);
    assert!(!plain.contains("state: "), "{plain}");

    app.update(Action::ToggleTeach);
    assert!(app.timeline.teach);
    assert_eq!(selected_line(&app), before);
    let screen = render_to_string(&app);
    assert!(screen.contains("teaching"), "{screen}");
    assert!(screen.contains("│ 220 (greeting)"), "{screen}");
    assert!(screen.contains("│ state: connected -> greeted"), "{screen}");

    app.update(Action::ToggleTeach);
    assert!(!app.timeline.teach);
    assert_eq!(selected_line(&app), before);
    assert_eq!(render_to_string(&app), plain);
}

#[test]
fn test_teach_flag_starts_in_teaching_mode() {
    let app = App::new(AppConfig {
        teach: true,
        ..AppConfig::default()
    });
    assert!(app.timeline.teach);
    assert!(!App::new(AppConfig::default()).timeline.teach);
}

#[test]
fn test_teach_selection_moves_over_dialogue_rows_and_stays_on_screen() {
    let mut app = tour_timeline_teaching(80, 24);
    let n = app.timeline.rows.len();
    let h = app.areas().timeline_rows();
    for step in 1..n {
        app.update(Action::Down);
        assert_eq!(app.timeline.list.selected, step);
        // The selected row's own line is drawn inside the pane.
        let lines_above: usize = (app.timeline.list.offset..step)
            .map(|i| 1 + app.timeline.extra_lines(i).len())
            .sum();
        assert!(lines_above < h, "row {step} drawn below the pane");
    }
    // At the end, the last line (QUIT's 221) and its explanation show.
    let screen = render_to_string(&app);
    assert!(screen.contains("221"), "{screen}");
    assert!(screen.contains("│ state:"), "{screen}");
    // And back to the top.
    app.update(Action::Home);
    assert_eq!(app.timeline.list, Default::default());
}

#[test]
fn test_teach_explains_only_lines_on_screen() {
    let app = tour_timeline_teaching(80, 24);
    let events = app
        .store
        .get(app.timeline.session.unwrap())
        .unwrap()
        .session
        .timeline
        .len();
    let cached = app.timeline.explain.cached();
    assert!(cached > 0);
    assert!(cached <= app.areas().timeline_rows(), "{cached} explained");
    assert!(cached < events, "{cached} of {events} explained");
}

#[test]
fn test_teach_click_on_explanation_selects_its_line_and_wheel_scrolls_up() {
    let mut app = tour_timeline_teaching(160, 48);
    let a = app.areas();
    // Screen line 1 of the timeline is the greeting's explanation.
    assert!(app.timeline.extra_lines(0).len() >= 2);
    keys(
        &mut app,
        &[Action::Click {
            col: a.timeline.x + 5,
            row: a.timeline.y + 2,
        }],
    );
    assert_eq!(app.focus, Pane::Timeline);
    assert_eq!(app.timeline.list.selected, 0);
    // Below the explanation: the next row.
    let below = 1 + app.timeline.extra_lines(0).len() as u16;
    keys(
        &mut app,
        &[Action::Click {
            col: a.timeline.x + 5,
            row: a.timeline.y + 1 + below,
        }],
    );
    assert_eq!(app.timeline.list.selected, 1);

    // Wheel: down then up returns to the top instead of sticking.
    keys(&mut app, &[Action::End]);
    let end_offset = app.timeline.list.offset;
    assert!(end_offset > 0);
    for _ in 0..20 {
        app.update(Action::Scroll {
            col: a.timeline.x + 5,
            row: a.timeline.y + 2,
            delta: -3,
        });
    }
    assert_eq!(app.timeline.list.offset, 0);
    let top = render_to_string(&app);
    assert!(top.contains("220 (greeting)"), "{top}");
}

#[test]
fn test_teach_long_session_explains_only_what_scrolls_into_view() {
    let mut app = load(&["tour.pcap"], 80, 24);
    let id = app.sessions.current().unwrap();
    let mut s: Session = app.store.get(id).unwrap().session.clone();
    // About 11,000 events: the tour's dialogue three hundred times.
    let one = s.timeline.clone();
    for _ in 1..300 {
        s.timeline.extend(one.iter().cloned());
    }
    let events = s.timeline.len();
    app.apply(WorkerMsg::SessionFinished(Box::new(s)));
    keys(&mut app, &[Action::Enter, Action::ToggleTeach]);
    let h = app.areas().timeline_rows();
    let started = Instant::now();
    keys(&mut app, &[Action::End]);
    assert_eq!(app.timeline.list.selected, app.timeline.rows.len() - 1);
    let screen = render_to_string(&app);
    assert!(screen.contains("221 2.0.0 Bye"), "{screen}");
    for _ in 0..10 {
        keys(&mut app, &[Action::PageUp]);
        let _ = render_to_string(&app);
    }
    keys(&mut app, &[Action::Home, Action::PageDown]);
    let _ = render_to_string(&app);
    let cached = app.timeline.explain.cached();
    // The end, ten pages up, the top and one page down: a dozen screens.
    assert!(cached <= 13 * h, "{cached} of {events} events explained");
    eprintln!(
        "{events} events: {cached} explained, 13 moves and 12 frames in {:?}",
        started.elapsed()
    );
}

/// The sessions list and the findings list follow the store's change log
/// instead of rebuilding; under random arrivals, updates of open sessions
/// and drops by the session cap, with every sort and a search, they must
/// always equal a rebuild from scratch.
#[test]
fn test_incremental_lists_equal_full_rebuild_under_churn() {
    use smtpscope::tui::state::filter::visible;
    let base = load(&["postfix-plain-delivery.pcap"], 80, 24);
    let proto = base.store.iter().next().unwrap().session.clone();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    for (sort_steps, descending, search) in [
        (0, false, ""),
        (1, true, ""),
        (2, false, "192.0.2"),
        (2, true, "no such text"),
    ] {
        let mut app = App::new(AppConfig {
            limits: StoreLimits {
                max_sessions: 300,
                ..StoreLimits::default()
            },
            ..AppConfig::default()
        });
        app.update(Action::Resize(160, 48));
        for _ in 0..sort_steps {
            app.update(Action::CycleSort);
        }
        if descending {
            app.update(Action::ReverseSort);
        }
        app.sessions.filter.search = search.into();
        app.sessions.invalidate();
        let mut ids = 0u64;
        for _round in 0..60 {
            for _ in 0..next(40) {
                let mut s = proto.clone();
                let open = next(3) == 0;
                // A new session, or news of a recent one.
                s.id = if ids > 0 && next(2) == 0 {
                    ConnId(ids - 1 - next(ids.min(20)))
                } else {
                    ids += 1;
                    ConnId(ids - 1)
                };
                s.start = s.start.add_nanos(next(1_000_000) as i64);
                s.transactions[0].data_bytes = Some(next(5_000));
                s.warnings = (0..next(3))
                    .map(|k| {
                        let sev = ["info", "low", "high"][next(3) as usize];
                        serde_json::json!({"id": format!("f{k}"), "severity": sev,
                            "summary": "x", "evidence": {"events": [], "frames": []}})
                    })
                    .collect();
                app.apply(if open {
                    WorkerMsg::SessionUpdated(Box::new(s))
                } else {
                    WorkerMsg::SessionFinished(Box::new(s))
                });
            }
            app.refresh();
            let full: Vec<ConnId> = visible(
                &app.store,
                &app.sessions.filter,
                app.sessions.sort,
                app.sessions.descending,
            )
            .into_iter()
            .map(|r| r.id())
            .collect();
            assert_eq!(app.sessions.ids().collect::<Vec<_>>(), full);
            let mut rebuilt = smtpscope::tui::views::findings::FindingsView::default();
            rebuilt.refresh(&app.store, None, 10);
            assert_eq!(app.findings.len(), rebuilt.len());
            for i in 0..rebuilt.len() {
                rebuilt.list.selected = i;
                app.findings.list.selected = i;
                assert_eq!(app.findings.selected(), rebuilt.selected());
            }
        }
        assert!(app.store.dropped_sessions > 0, "the cap was reached");
    }
}

/// AUTH secrets are masked on screen unless the UI was started with
/// `--show-secrets`; then the AUTH line and the detail pane show them.
#[test]
fn test_auth_secret_masked_unless_show_secrets() {
    use smtpscope::tui::testing::load_files_with;
    let screen = |show_secrets: bool| {
        let mut app = load_files_with(
            &[cap("aiosmtpd-auth-plain.pcap")],
            AppConfig {
                show_secrets,
                ..AppConfig::default()
            },
            160,
            48,
        );
        keys(&mut app, &[Action::Enter]);
        let i = app
            .timeline
            .rows
            .iter()
            .position(|r| r.text.starts_with("AUTH PLAIN"))
            .expect("the AUTH line");
        for _ in 0..i {
            app.update(Action::Down);
        }
        render_to_string(&app)
    };
    let masked = screen(false);
    assert!(masked.contains("AUTH PLAIN ********"), "{masked}");
    assert!(
        masked.contains("masked (run with --show-secrets"),
        "{masked}"
    );
    assert!(!masked.contains("AGFsaWNl") && !masked.contains("wonderland"));
    let shown = screen(true);
    assert!(
        shown.contains("AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ="),
        "{shown}"
    );
    assert!(shown.contains("alice, secret wonderland)"), "{shown}");
}

#[test]
fn test_esc_on_sessions_clears_search_and_typed_filter() {
    let mut app = load(&["tour.pcap", "postfix-starttls.pcap"], 120, 32);
    keys(
        &mut app,
        &[
            Action::StartSearch,
            Action::Input('q'),
            Action::Input('q'),
            Action::Enter,
        ],
    );
    keys(
        &mut app,
        &[Action::StartTypedFilter, Action::Input('z'), Action::Enter],
    );
    assert!(app.sessions.filter.is_active());
    assert_eq!(app.sessions.len(), 0);
    keys(&mut app, &[Action::Back]);
    assert!(!app.sessions.filter.is_active());
    assert_eq!(app.sessions.len(), 2);
}

/// A message whose bytes the store dropped under its byte cap is read
/// again from the file when the message view opens (file mode), and then
/// exported like any other.
#[test]
fn test_message_dropped_under_byte_cap_is_read_again_from_the_file() {
    use smtpscope::tui::testing::load_files_with;
    use smtpscope::tui::worker::{reread_message, Control, WorkerConfig};
    let files = [cap("postfix-attachment.pcap"), cap("tour.pcap")];
    let dir = std::env::temp_dir().join(format!("smtpscope-reread-{}", std::process::id()));
    let mut app = load_files_with(
        &files,
        AppConfig {
            limits: StoreLimits {
                max_message_bytes: 1000,
                ..StoreLimits::default()
            },
            export_dir: dir.clone(),
            ..AppConfig::default()
        },
        160,
        48,
    );
    assert!(
        app.store.dropped_messages > 0,
        "the cap dropped the big message"
    );
    keys(&mut app, &[Action::Enter]);
    select_row(&mut app, |k| matches!(k, RowKind::Message { .. }));
    keys(&mut app, &[Action::OpenMessage]);
    let asked: Vec<Control> = app.outbox.drain(..).collect();
    let [Control::Reread { id, txn }] = asked[..] else {
        panic!("no re-read asked for: {asked:?}");
    };
    assert!(render_to_string(&app).contains("reading the message again"));
    // What the worker handle's thread does.
    let raw = reread_message(&files, &WorkerConfig::default(), id, txn);
    let len = raw.as_ref().map(|r| r.len()).expect("the message bytes");
    assert_eq!(
        len as u64,
        app.store.get(id).unwrap().session.transactions[txn]
            .data_bytes
            .unwrap()
    );
    app.apply(WorkerMsg::MessageBytes { id, txn, raw });
    app.refresh();
    let screen = render_to_string(&app);
    assert!(
        screen.contains("Hello Alice, the report is attached."),
        "{screen}"
    );
    keys(&mut app, &[Action::Export]);
    let eml = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(std::fs::metadata(&eml).unwrap().len(), len as u64);
    let _ = std::fs::remove_dir_all(&dir);
}
