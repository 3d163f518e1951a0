use std::io;

use clap::Parser;
use smtpscope::cli::{Args, EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK};
use smtpscope::run::{run, BadInput};

fn main() {
    // `explain` has its own small argument set (src/teach/cli.rs).
    if std::env::args_os().nth(1).is_some_and(|a| a == "explain") {
        let texts = finding_texts();
        let findings: Vec<(&str, &str)> = texts.iter().map(|(id, t)| (*id, t.as_str())).collect();
        std::process::exit(smtpscope::teach::cli::main(
            std::env::args_os().skip(1),
            &findings,
        ));
    }
    let args = Args::parse();
    let code = match run(&args) {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (`smtpscope ... | head`) is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<io::Error>()
                    .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            }) {
                EXIT_OK
            } else if e.downcast_ref::<BadInput>().is_some() {
                eprintln!("smtpscope: {e:#}");
                EXIT_BAD_INPUT
            } else {
                eprintln!("smtpscope: {e:#}");
                EXIT_FAILURE
            }
        }
    };
    std::process::exit(code);
}

/// The findings catalogue as `explain` shows it: severity, trigger, why it
/// matters and the references.
fn finding_texts() -> Vec<(&'static str, String)> {
    smtpscope::analysis::catalogue()
        .iter()
        .map(|r| {
            let severities: Vec<String> = r.severities.iter().map(|s| s.to_string()).collect();
            (
                r.id,
                format!(
                    "Security finding ({}), severity {}. Raised when: {}. Why it matters: {} References: {}.",
                    r.group,
                    severities.join(" to "),
                    r.trigger.trim_end_matches('.'),
                    r.explanation,
                    r.references.join("; ")
                ),
            )
        })
        .collect()
}
