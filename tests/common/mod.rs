//! Helpers shared by the tests of the record-changing commands: run the binary on a project
//! with today fixed, copy the demo, read what the binary printed, and assert its exit status
//! with its output in the failure message.

// Each test file uses the part of this it needs.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("affrel prints UTF-8")
}

pub fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// `SOURCE_DATE_EPOCH` for 2026-11-24, the day the demo content describes.
pub const TODAY: &str = "1795478400";

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A command for the real binary with today fixed at 2026-11-24.
pub fn affrel(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_affrel"));
    command
        .args(args)
        .env("SOURCE_DATE_EPOCH", TODAY)
        .env_remove("NO_COLOR");
    command
}

/// Runs `affrel ARGS --root ROOT`.
pub fn run_in(root: &Path, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["--root", root.to_str().expect("UTF-8 temporary path")]);
    affrel(&all).output().expect("the affrel binary runs")
}

/// Copies a folder tree.
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("readable tree");
        let target = to.join(entry.path().strip_prefix(from).expect("inside"));
        if entry.file_type().is_dir() {
            fs::create_dir_all(&target).expect("creatable folder");
        } else {
            fs::copy(entry.path(), &target).expect("copyable file");
        }
    }
}

/// A copy of the repository's demo content.
pub fn demo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    copy_tree(&repo().join("content"), &dir.path().join("content"));
    dir
}

/// Makes a file immutable (`chattr +i`) for as long as it lives, so that no rename can
/// replace it; `None`, after saying why, where this machine cannot.
pub struct Immutable(PathBuf);

impl Immutable {
    pub fn make(path: &Path) -> Option<Self> {
        let made = Command::new("chattr").arg("+i").arg(path).output();
        match made {
            Ok(output) if output.status.success() => Some(Self(path.to_path_buf())),
            Ok(output) => {
                eprintln!(
                    "SKIPPED: `chattr +i` failed here ({}); this test needs root on a file system with immutable files",
                    text(&output.stderr).trim()
                );
                None
            }
            Err(err) => {
                eprintln!("SKIPPED: `chattr` is not available ({err}); install e2fsprogs");
                None
            }
        }
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}
