//! The event loop: drain worker messages, draw when something changed,
//! turn terminal events into actions. Nothing here blocks for long: input
//! is polled with a short timeout and draining has a time budget, so the UI
//! answers keys while packets pour in.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use crossterm::event::{self, Event};
use ratatui::backend::Backend;
use ratatui::Terminal;

use super::action::{map_key, map_mouse, Action};
use super::app::App;
use super::views;
use super::worker::WorkerHandle;

/// Longest time spent applying worker messages before drawing and reading
/// input again.
const DRAIN_BUDGET: Duration = Duration::from_millis(25);
/// Shortest time between frames redrawn only because data arrived.
const FRAME_INTERVAL: Duration = Duration::from_millis(40);
/// Input poll timeout when idle.
const IDLE_POLL: Duration = Duration::from_millis(50);

/// Map one terminal event.
pub fn map_event(ev: Event, typing: bool) -> Option<Action> {
    match ev {
        Event::Key(k) => map_key(k, typing),
        Event::Mouse(m) => map_mouse(m),
        Event::Resize(w, h) => Some(Action::Resize(w, h)),
        _ => None,
    }
}

pub fn event_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    worker: &WorkerHandle,
    terminate: &AtomicBool,
) -> Result<()> {
    let size = terminal.size()?;
    app.update(Action::Resize(size.width, size.height));
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME_INTERVAL;
    loop {
        let start = Instant::now();
        let mut got = false;
        while start.elapsed() < DRAIN_BUDGET {
            match worker.receiver().try_recv() {
                Ok(m) => {
                    app.apply(m);
                    got = true;
                }
                Err(_) => break,
            }
        }
        // A periodic frame picks up throttled list rebuilds (large lists).
        dirty |= got || last_draw.elapsed() >= Duration::from_secs(1);
        if dirty && last_draw.elapsed() >= FRAME_INTERVAL {
            app.refresh();
            terminal.draw(|f| views::render(f, app))?;
            last_draw = Instant::now();
            dirty = false;
        }
        if terminate.load(Ordering::Relaxed) {
            return Ok(());
        }
        let timeout = if got || dirty {
            Duration::from_millis(5)
        } else {
            IDLE_POLL
        };
        if event::poll(timeout)? {
            loop {
                if let Some(a) = map_event(event::read()?, app.prompt.is_some()) {
                    app.update(a);
                }
                if !event::poll(Duration::ZERO)? {
                    break;
                }
            }
            for c in app.outbox.drain(..) {
                worker.control(c);
            }
            if app.quit {
                return Ok(());
            }
            // Input is drawn at once.
            app.refresh();
            terminal.draw(|f| views::render(f, app))?;
            last_draw = Instant::now();
            dirty = false;
        }
    }
}
