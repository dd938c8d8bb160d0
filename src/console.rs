//! Printing for the commands. A reader that goes away early (`affrel build 2>&1 | head`) ends
//! the output, never the program: unlike `println!`, nothing here panics on a closed pipe, and
//! the exit status still says what happened.

use std::fmt;
use std::io::Write as _;

/// Prints a line to stdout.
pub fn say(line: fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Prints a line to stderr.
pub fn tell(line: fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
