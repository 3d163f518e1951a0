//! The terminal UI (ratatui + crossterm) for capture files, live
//! interfaces and replay.
//!
//! Shape: `worker` runs capture -> reassembly -> SMTP decode on its own
//! thread and sends [`worker::WorkerMsg`]s through a bounded channel; the
//! UI thread owns the model it draws (`state::store`). Keys become
//! `action::Action`s, `app::App::update` changes state, `views::*::render`
//! only draws. The TUI never parses wire data and escapes every wire string
//! before drawing.
//!
//! The terminal is always restored: on quit, on error (a guard's `Drop`),
//! on panic (a panic hook) and on SIGTERM/SIGINT/SIGHUP (a flag the event
//! loop polls).

pub mod action;
pub mod app;
pub mod explain;
pub mod layout;
pub mod runtime;
pub mod state;
pub mod testing;
pub mod theme;
pub mod views;
pub mod worker;

use std::io::{self, Write};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{Context, Result};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use crate::cli::{analysis_config, flow_config, pipeline_config, BadInput};
use crate::cli::{Args, EXIT_BAD_INPUT, EXIT_OK};
use app::{App, AppConfig, Mode};
use state::store::StoreLimits;
use worker::WorkerConfig;

/// What the TUI reads.
#[derive(Clone, Debug, PartialEq)]
pub enum TuiSource {
    Files(Vec<String>),
    /// Capture files at their recorded pace times `speed`.
    Replay {
        files: Vec<String>,
        speed: f64,
    },
    /// A live interface (`live` builds only).
    Live {
        interface: String,
    },
}

/// The TUI source for these arguments, or None when the run is not one
/// the TUI shows (listing interfaces, no input).
pub fn source_for(args: &Args) -> Option<TuiSource> {
    if args.list_interfaces {
        return None;
    }
    if let Some(i) = &args.interface {
        return Some(TuiSource::Live {
            interface: i.clone(),
        });
    }
    if args.files.is_empty() {
        return None;
    }
    Some(match args.replay {
        Some(speed) => TuiSource::Replay {
            files: args.files.clone(),
            speed: speed.unwrap_or(1.0),
        },
        None => TuiSource::Files(args.files.clone()),
    })
}

fn restore_terminal() {
    let _ = disable_raw_mode();
    let mut out = io::stdout();
    let _ = crossterm::execute!(
        out,
        LeaveAlternateScreen,
        DisableMouseCapture,
        crossterm::cursor::Show
    );
    let _ = out.flush();
}

/// crossterm 0.28 spins inside `event::poll` once the terminal hangs up
/// (its reader loops on `read() == 0`), so the event loop never sees the
/// signal flag. This thread does: it gives the loop a moment to leave on
/// its own, then restores what it can and exits.
fn spawn_hangup_watchdog(terminate: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("tui-watchdog".into())
        .spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_millis(100));
            if terminate.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(500));
                restore_terminal();
                std::process::exit(crate::cli::EXIT_OK);
            }
        })
        .ok();
}

/// Restores the terminal when dropped, whatever path leaves `run`.
struct TerminalGuard;

impl TerminalGuard {
    fn enter() -> Result<TerminalGuard> {
        enable_raw_mode().context("switching the terminal to raw mode")?;
        let guard = TerminalGuard;
        crossterm::execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)
            .context("setting up the terminal")?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
}

/// The status bar's name for the input: the first file, and how many more.
pub fn files_label(files: &[String]) -> String {
    let name = |f: &String| {
        std::path::Path::new(f)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| f.clone())
    };
    match files {
        [] => String::new(),
        [one] => name(one),
        [first, rest @ ..] => format!("{} +{} more", name(first), rest.len()),
    }
}

fn worker_config(args: &Args, speed: Option<f64>) -> WorkerConfig {
    WorkerConfig {
        flow: flow_config(args),
        pipeline: pipeline_config(args),
        replay_speed: speed,
        analysis: analysis_config(args),
    }
}

/// Run the interface until the user quits; the exit status is that of the
/// non-interactive run (2 when an input was damaged or unreadable).
pub fn run(args: &Args, source: TuiSource) -> Result<i32> {
    if (args.filter.is_some() || args.write.is_some()) && !matches!(source, TuiSource::Live { .. })
    {
        {
            return Err(BadInput("-f and -w apply to live capture (-i IFACE) only".into()).into());
        }
    }
    let (worker, label, mode) = match &source {
        TuiSource::Files(files) => (
            worker::spawn_files(files.clone(), worker_config(args, None)),
            files_label(files),
            Mode::File,
        ),
        TuiSource::Replay { files, speed } => (
            worker::spawn_files(files.clone(), worker_config(args, Some(*speed))),
            files_label(files),
            Mode::Replay(*speed),
        ),
        TuiSource::Live { interface } => {
            (start_live(args, interface)?, interface.clone(), Mode::Live)
        }
    };
    let mut app = App::new(AppConfig {
        source_label: label,
        mode,
        limits: StoreLimits {
            max_sessions: args.max_sessions.max(1),
            max_message_bytes: args.max_message_bytes,
        },
        export_dir: args
            .export
            .clone()
            .unwrap_or_else(|| "smtpscope-export".into()),
        teach: args.teach,
        show_secrets: args.show_secrets,
    });

    let terminate = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(sig, terminate.clone())
            .context("installing the signal handler")?;
    }
    install_panic_hook();
    spawn_hangup_watchdog(terminate.clone());
    let result = {
        let _guard = TerminalGuard::enter()?;
        let mut terminal =
            Terminal::new(CrosstermBackend::new(io::stdout())).context("opening the terminal")?;
        runtime::event_loop(&mut terminal, &mut app, &worker, &terminate)
    };
    drop(worker);
    result?;
    for e in &app.status.errors {
        eprintln!("smtpscope: {e}");
    }
    Ok(if app.status.errors.is_empty() {
        EXIT_OK
    } else {
        EXIT_BAD_INPUT
    })
}

#[cfg(feature = "live")]
fn start_live(args: &Args, interface: &str) -> Result<worker::WorkerHandle> {
    use crate::capture::live::LiveSource;
    if !args.files.is_empty() {
        return Err(BadInput("give either capture files or -i IFACE, not both".into()).into());
    }
    let stop = Arc::new(AtomicBool::new(false));
    let source = LiveSource::open(
        interface,
        args.filter.as_deref(),
        args.write.as_deref(),
        stop.clone(),
    )
    .map_err(|e| BadInput(e.to_string()))?;
    Ok(worker::spawn_live(source, stop, worker_config(args, None)))
}

#[cfg(not(feature = "live"))]
fn start_live(_args: &Args, _interface: &str) -> Result<worker::WorkerHandle> {
    Err(BadInput(
        "live capture is not in this build: install one with `cargo install --path . --features live` (needs libpcap-dev)".into(),
    )
    .into())
}
