//! `affrel init`: scaffold a ready project in a folder.

use std::path::Path;

use crate::cli::Exit;
use crate::cmd::today;
use crate::console::{say, tell};
use crate::init;

/// Writes the starter files, skipping any that exist.
pub fn run(dir: &Path) -> Exit {
    let Some(today) = today() else {
        return Exit::Usage;
    };
    match init::scaffold(dir, today) {
        Ok(done) => {
            for path in &done.written {
                say(format_args!("created {}", dir.join(path).display()));
            }
            for path in &done.skipped {
                say(format_args!(
                    "skipped {} (already exists)",
                    dir.join(path).display()
                ));
            }
            say(format_args!(
                "next: edit {}, then run `affrel build`",
                dir.join("content/config.yaml").display()
            ));
            Exit::Success
        }
        Err(err) => {
            tell(format_args!(
                "error: cannot create the project in {}: {err}",
                dir.display()
            ));
            Exit::InvalidContent
        }
    }
}
