//! Printing for the commands: the one writer of stdout and stderr.
//!
//! A reader that goes away early (`affrel agenda | head`) ends the output, never the
//! program: a closed pipe is ignored, and the exit status still says what happened. Any
//! other failure to write stdout (a full disk, a closed file) is kept, and
//! [`write_failure`] turns it into an error and exit status 1 once the command is done.

use std::fmt;
use std::io::{self, Write as _};
use std::sync::OnceLock;

/// The first failure to write stdout that was not a closed pipe.
static STDOUT_FAILURE: OnceLock<String> = OnceLock::new();

/// Prints a line to stdout.
pub fn say(line: fmt::Arguments<'_>) {
    out(format!("{line}\n").as_bytes());
}

/// Prints bytes to stdout as they are.
pub fn out(bytes: &[u8]) {
    let mut stdout = io::stdout().lock();
    if let Err(err) = stdout.write_all(bytes).and_then(|()| stdout.flush())
        && err.kind() != io::ErrorKind::BrokenPipe
    {
        STDOUT_FAILURE.get_or_init(|| err.to_string());
    }
}

/// Prints a line to stderr. A failure to write there has nowhere to be reported.
pub fn tell(line: fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// Why stdout could not be written, when it could not (a closed pipe excepted).
pub fn write_failure() -> Option<&'static str> {
    STDOUT_FAILURE.get().map(String::as_str)
}
