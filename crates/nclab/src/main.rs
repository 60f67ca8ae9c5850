//! `nclab`: train networks through the terminal phase of training and measure neural collapse
//! under hierarchical losses. The CLI only parses, calls the library and prints.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            nclab_runs::errln!("error: {err:#}");
            // Stopped by a signal (a sweep or report on Ctrl-C): the shell's 128 + signal, as
            // `nclab train` exits.
            match nclab_runs::interrupt::requested() {
                Some(signal) => std::process::ExitCode::from((128 + signal) as u8),
                None => std::process::ExitCode::FAILURE,
            }
        }
    }
}
