//! `affrel completions SHELL`: the shell completion script, generated from the arguments.

use clap::CommandFactory as _;
use clap_complete::Shell;

use crate::cli::{Cli, Exit};
use crate::console;

/// Prints the completion script for `shell` to stdout.
pub fn run(shell: Shell) -> Exit {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "affrel", &mut script);
    console::out(&script);
    Exit::Success
}
