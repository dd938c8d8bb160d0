//! Helpers shared by the email and report-page tests: run the real binary on a project
//! root, and read back what it wrote.

// Each test crate uses its own subset of these helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// The date every test builds at: a Tuesday in ISO week 2026-W48.
pub const AS_OF: &str = "2026-11-24";

/// What one run of the binary did.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `affrel` with `args`, from a neutral working directory, without
/// `SOURCE_DATE_EPOCH`, and with git unable to find a repository (the demo root is this
/// repository, and the provenance footer would name its current commit), so only the
/// content and the arguments decide what is written.
pub fn affrel(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_affrel"))
        .args(args)
        .current_dir(std::env::temp_dir())
        .env_remove("SOURCE_DATE_EPOCH")
        .env("GIT_DIR", "/nonexistent/affrel-tests-no-git")
        .output()
        .expect("the affrel binary runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// The repository root, whose `content/` is the demo project.
pub fn demo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    demo_root().join("tests").join("fixtures").join(name)
}

/// `affrel build --root <root> --out <out> --as-of <as_of>`.
pub fn build_into(root: &Path, out: &Path, as_of: &str) -> Run {
    affrel(&[
        "build",
        "--root",
        path_str(root),
        "--out",
        path_str(out),
        "--as-of",
        as_of,
    ])
}

/// `affrel check --root <root> --as-of <as_of>`.
pub fn check(root: &Path, as_of: &str) -> Run {
    affrel(&["check", "--root", path_str(root), "--as-of", as_of])
}

/// A successful build of `root` at [`AS_OF`] into a fresh temporary folder, returned with
/// the run; the folder lives as long as the `TempDir`.
pub fn build_ok(root: &Path) -> (TempDir, PathBuf, Run) {
    let dir = TempDir::new().expect("a temporary folder");
    let out = dir.path().join("out");
    let run = build_into(root, &out, AS_OF);
    assert_eq!(
        run.code,
        Some(0),
        "build of {} failed:\n{}",
        root.display(),
        run.stderr
    );
    (dir, out, run)
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// Every file under `dir`, keyed by its path relative to `dir`, with its bytes.
pub fn read_tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in fs::read_dir(&folder).expect("the folder is readable") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).expect("under dir").to_path_buf();
                files.insert(relative, fs::read(&path).expect("the file is readable"));
            }
        }
    }
    files
}

pub fn read_text(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

/// The parsed `report.json` of an output folder.
pub fn report_json(out: &Path) -> serde_json::Value {
    serde_json::from_str(&read_text(&out.join("report.json"))).expect("report.json is JSON")
}
