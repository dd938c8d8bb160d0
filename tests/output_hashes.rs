//! Every byte of a large build stays as it was: the SHA-256 of every file that a private and
//! a public build of a generated 1 000-referral project write (`bench/generate.py`, seeded)
//! is held in `tests/fixtures/output-1000.sha256`, so that work on speed or structure can
//! change nothing a user sees. A deliberate change to the output updates that file: the
//! failure message prints its new text.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

mod common;
use common::{assert_exit, repo};

/// `path  sha256`, a line per file, sorted by path.
fn hashes(out: &Path, label: &str) -> String {
    let mut files: Vec<(String, String)> = walkdir::WalkDir::new(out)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let relative = e.path().strip_prefix(out).unwrap().display().to_string();
            let digest = Sha256::digest(fs::read(e.path()).unwrap());
            (format!("{label}/{relative}"), format!("{digest:x}"))
        })
        .collect();
    files.sort();
    let mut text = String::new();
    for (path, digest) in files {
        let _ = writeln!(text, "{digest}  {path}");
    }
    text
}

#[test]
fn a_generated_project_builds_to_the_recorded_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    let generated = Command::new("python3")
        .arg(repo().join("bench/generate.py"))
        .arg("1000")
        .arg(&root)
        .status()
        .expect("python3 runs bench/generate.py");
    assert!(generated.success());
    let mut all = String::new();
    for (label, flags) in [("private", &[][..]), ("public", &["--public"][..])] {
        let out = dir.path().join(label);
        let mut args = vec![
            "build",
            "--as-of",
            "2026-11-24",
            "--root",
            root.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(flags);
        let built = Command::new(env!("CARGO_BIN_EXE_affrel"))
            .args(&args)
            .env_remove("SOURCE_DATE_EPOCH")
            .output()
            .unwrap();
        assert_exit(&built, 0);
        all.push_str(&hashes(&out, label));
    }
    let recorded = fs::read_to_string(repo().join("tests/fixtures/output-1000.sha256"))
        .expect("the recorded hashes");
    if all != recorded {
        let differing: Vec<&str> = all
            .lines()
            .filter(|line| !recorded.lines().any(|r| r == *line))
            .take(20)
            .collect();
        panic!(
            "the output changed; files that differ (first 20):\n{}\n\nthe new tests/fixtures/output-1000.sha256:\n{all}",
            differing.join("\n")
        );
    }
}
