//! Frame time of the TUI with many sessions, on ratatui's TestBackend.
//!
//! `cargo run --release --example tui_bench [-- N]` (default 100,000):
//! loads N copies of a real session into the UI's store, then times the
//! list rebuild and frames: idle, scrolling, paging and a filtered search.

use std::time::Instant;

use smtpscope::net::ConnId;
use smtpscope::tui::action::Action;
use smtpscope::tui::app::{App, AppConfig};
use smtpscope::tui::testing::{load_files, render_to_terminal};
use smtpscope::tui::worker::WorkerMsg;

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let cap = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/captures/postfix-plain-delivery.pcap"
    );
    let base = load_files(&[cap.to_string()], 80, 24);
    let s = base.store.iter().next().expect("a session").session.clone();
    let mut app = App::new(AppConfig::default());
    let t = Instant::now();
    for i in 0..n {
        let mut s = s.clone();
        s.id = ConnId(i);
        s.start = s.start.add_nanos(i as i64 * 1_000_000);
        app.apply(WorkerMsg::SessionFinished(Box::new(s)));
    }
    println!("apply {n} sessions: {:?}", t.elapsed());
    let t = Instant::now();
    app.update(Action::Resize(160, 48));
    println!("first refresh (list build): {:?}", t.elapsed());

    let mut term = render_to_terminal(&app);
    let mut frame = |app: &App, what: &str, iters: u32| {
        let t = Instant::now();
        for _ in 0..iters {
            term.draw(|f| smtpscope::tui::views::render(f, app))
                .unwrap();
        }
        println!("{what}: {:?} per frame", t.elapsed() / iters);
    };
    frame(&app, "idle frame", 200);
    let t = Instant::now();
    for _ in 0..1000 {
        app.update(Action::Down);
    }
    println!("Down key (update+refresh): {:?} each", t.elapsed() / 1000);
    frame(&app, "frame after scrolling", 200);
    let t = Instant::now();
    for _ in 0..100 {
        app.update(Action::PageDown);
    }
    println!("PgDn key: {:?} each", t.elapsed() / 100);
    app.update(Action::End);
    frame(&app, "frame at the end", 200);
    // Sessions arriving (a live update): the lists catch up from the
    // store's change log.
    let arrive = |app: &mut App, what: &str, id: u64| {
        let t = Instant::now();
        let mut s2 = s.clone();
        s2.id = ConnId(id);
        app.apply(WorkerMsg::SessionFinished(Box::new(s2)));
        app.refresh();
        println!("{what}: {:?}", t.elapsed());
    };
    arrive(&mut app, "new session + list update", n + 1);
    let t = Instant::now();
    app.update(Action::StartSearch);
    // "198.51" matches every session, "alice" none.
    for c in "198.51".chars() {
        app.update(Action::Input(c));
    }
    println!(
        "typing a search that matches all: {:?} per key",
        t.elapsed() / 7
    );
    for _ in 0..6 {
        app.update(Action::InputBackspace);
    }
    let t = Instant::now();
    for c in "alice".chars() {
        app.update(Action::Input(c));
    }
    println!(
        "typing a search that matches none: {:?} per key",
        t.elapsed() / 5
    );
    app.update(Action::Enter);
    arrive(&mut app, "new session + list update, search on", n + 2);
    frame(&app, "frame with search", 200);
}
