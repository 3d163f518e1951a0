//! Helpers for tests and benchmarks: load captures through the real worker
//! and draw on ratatui's `TestBackend`, no terminal needed.

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::action::Action;
use super::app::{App, AppConfig};
use super::views;
use super::worker::{spawn_files, WorkerConfig, WorkerMsg};

/// An App of `width` x `height` that has read `files` to the end.
pub fn load_files(files: &[String], width: u16, height: u16) -> App {
    load_files_with(files, AppConfig::default(), width, height)
}

/// [`load_files`] with a configuration of its own (its label is replaced).
pub fn load_files_with(files: &[String], cfg: AppConfig, width: u16, height: u16) -> App {
    let mut app = App::new(AppConfig {
        source_label: super::files_label(files),
        ..cfg
    });
    let worker = spawn_files(files.to_vec(), WorkerConfig::default());
    while let Ok(m) = worker.receiver().recv() {
        let done = matches!(m, WorkerMsg::Done { .. });
        app.apply(m);
        if done {
            break;
        }
    }
    app.update(Action::Resize(width, height));
    app
}

/// Draw `app` on a fresh `TestBackend` of its size.
pub fn render_to_terminal(app: &App) -> Terminal<TestBackend> {
    let mut t =
        Terminal::new(TestBackend::new(app.size.width, app.size.height)).expect("test backend");
    t.draw(|f| views::render(f, app)).expect("draw");
    t
}

/// The screen as text, one line per row (styles dropped).
pub fn render_to_string(app: &App) -> String {
    let t = render_to_terminal(app);
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
