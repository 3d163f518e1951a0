use std::io;

use clap::Parser;
use smtpscope::cli::{Args, EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK};
use smtpscope::run::{run, BadInput};

fn main() {
    // `explain` has its own small argument set (src/teach/cli.rs).
    if std::env::args_os().nth(1).is_some_and(|a| a == "explain") {
        std::process::exit(smtpscope::teach::cli::main(std::env::args_os().skip(1)));
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
