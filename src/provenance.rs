//! The project root → the git commit its content came from, read by running `git`.
//!
//! This is the only input besides the content and the date that reaches the output. Outside
//! a repository, or without git installed, there is nothing to say and the line is left out.

use std::path::Path;
use std::process::{Command, Stdio};

/// "commit abc1234", plus "with uncommitted changes" when `content/` or `templates/`
/// differ from it; `None` outside git.
pub fn describe(root: &Path) -> Option<String> {
    let commit = git(root, &["rev-parse", "--short", "HEAD"])?;
    let commit = commit.trim();
    if commit.is_empty() {
        return None;
    }
    let changes = git(
        root,
        &["status", "--porcelain", "--", "content", "templates"],
    )?;
    Some(if changes.trim().is_empty() {
        format!("commit {commit}")
    } else {
        format!("commit {commit} with uncommitted changes")
    })
}

fn git(root: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout).ok()
}
