use std::io;

use clap::Parser;
use smtpscope::cli::{Args, EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK};
use smtpscope::run::{run, BadInput};

fn main() {
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
