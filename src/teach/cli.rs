//! `smtpscope explain TERM... | --list`: a subcommand parsed apart from the
//! capture arguments (main.rs dispatches on the first argument).

use std::ffi::OsString;
use std::io::{self, Write};

use clap::Parser;

/// Explain SMTP commands, reply codes, enhanced status codes, EHLO
/// keywords and SASL mechanisms.
#[derive(Debug, Parser)]
#[command(name = "smtpscope explain")]
pub struct ExplainArgs {
    /// Terms to explain: 550, 5.7.1, "550 5.7.1", STARTTLS, PIPELINING, CRAM-MD5 ...
    #[arg(required_unless_present = "list")]
    pub terms: Vec<String>,
    /// List every known term by kind.
    #[arg(long)]
    pub list: bool,
}

/// Exit status when a term was unknown.
pub const EXIT_UNKNOWN_TERM: i32 = 2;

/// Prints explanations; returns 0 when every term was known, 2 otherwise
/// (one line per unknown term on `err`, with suggestions).
pub fn run(
    args: &ExplainArgs,
    findings: &[(&str, &str)],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<i32> {
    if args.list {
        out.write_all(super::render_list(&super::list_with(findings)).as_bytes())?;
        if args.terms.is_empty() {
            return Ok(0);
        }
        writeln!(out)?;
    }
    let mut code = 0;
    let mut first = true;
    for term in &args.terms {
        let e = super::explain_with(term, findings);
        if e.is_known() {
            if !first {
                writeln!(out)?;
            }
            first = false;
            out.write_all(super::render_text(&e).as_bytes())?;
        } else {
            code = EXIT_UNKNOWN_TERM;
            write!(err, "smtpscope explain: {}", super::render_text(&e))?;
        }
    }
    Ok(code)
}

/// Entry point for main.rs: `argv` starts at "explain". Returns the exit
/// status; a closed stdout is not an error.
pub fn main(argv: impl IntoIterator<Item = OsString>, findings: &[(&str, &str)]) -> i32 {
    let args = ExplainArgs::parse_from(argv);
    let stdout = io::stdout();
    let stderr = io::stderr();
    match run(&args, findings, &mut stdout.lock(), &mut stderr.lock()) {
        Ok(code) => code,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("smtpscope explain: {e}");
            1
        }
    }
}
