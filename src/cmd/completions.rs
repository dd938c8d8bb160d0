//! `affrel completions SHELL`: the shell completion script, generated from the arguments.

use clap::CommandFactory as _;
use clap_complete::Shell;

use crate::cli::{Cli, Exit};

/// Prints the completion script for `shell` to stdout.
pub fn run(shell: Shell) -> Exit {
    clap_complete::generate(shell, &mut Cli::command(), "affrel", &mut std::io::stdout());
    Exit::Success
}
