use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = affrel::cli::Cli::parse();
    ExitCode::from(affrel::cli::run(&cli) as u8)
}
