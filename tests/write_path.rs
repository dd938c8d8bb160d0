//! What a record-changing command promises when something goes wrong, through the real
//! binary: a change to several records that fails part-way is taken back and says so, a
//! journal left by a killed run is taken back by the next one, a journal that cannot be
//! read stops everything, a held lock names its holder, output that cannot be written fails
//! the command, and a recorded change is on disk, folder included, before it is reported.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::{Immutable, affrel, assert_exit, demo, run_in, text};

/// The journal a change to several records keeps beside `content/`.
const JOURNAL: &str = ".content.affrel-journal";

/// Every file under `root` with its bytes, hidden ones included.
fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = walkdir::WalkDir::new(root)
        .into_iter()
        .map(|entry| entry.expect("readable tree"))
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| {
            let bytes = fs::read(entry.path()).expect("readable file");
            (entry.into_path(), bytes)
        })
        .collect();
    files.sort();
    files
}

fn referral(root: &Path, id: &str) -> PathBuf {
    root.join("content/referrals").join(format!("{id}.yaml"))
}

// `done` on two records where the second cannot be replaced: the first is put back, so "nothing
// was written" is true, and no temporary file or journal is left behind.
#[test]
fn a_change_that_fails_part_way_is_taken_back_and_says_so() {
    let dir = demo();
    let root = dir.path();
    let before = snapshot(root);
    let Some(_locked) = Immutable::make(&referral(root, "marcus-johnson")) else {
        return;
    };
    let output = run_in(root, &["done", "jose-alvarez", "marcus-johnson"]);
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("content/referrals/marcus-johnson.yaml: error: cannot write the file"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(
        text(&output.stdout).is_empty(),
        "nothing is reported as recorded"
    );
    assert_eq!(
        snapshot(root),
        before,
        "every file holds what it held, and nothing is left beside them"
    );
}

// A journal left by a run killed in the middle of a change to several records: the next run
// puts back what every file held, says so, removes a file the change had created, and then
// does its own work.
#[test]
fn the_next_run_takes_back_a_change_a_killed_run_left_half_made() {
    let dir = demo();
    let root = dir.path();
    let jose = referral(root, "jose-alvarez");
    let original = fs::read_to_string(&jose).unwrap();
    let created = referral(root, "new-person");
    let created_text =
        "name: New Person\nemail: new@example.com\nprogram: acme\nreferred_on: 2026-11-20\n";
    // The killed run had replaced jose's record and created new-person's, but not yet
    // removed the journal.
    fs::write(
        &jose,
        format!("{original}  - {{ date: 2026-11-24, type: welcome_sent }}\n"),
    )
    .unwrap();
    fs::write(&created, created_text).unwrap();
    let journal = serde_json::json!([
        { "undo": "restore", "path": "content/referrals/jose-alvarez.yaml", "text": original },
        { "undo": "remove", "path": "content/referrals/new-person.yaml", "text": created_text },
    ]);
    fs::write(root.join(JOURNAL), journal.to_string()).unwrap();

    let output = run_in(
        root,
        &["log", "ben-carter", "reply", "--note", "back again"],
    );
    assert_exit(&output, 0);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("put back what these files held before it: content/referrals/jose-alvarez.yaml, content/referrals/new-person.yaml"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&jose).unwrap(), original);
    assert!(
        !created.exists(),
        "the file the half-made change created is gone"
    );
    assert!(!root.join(JOURNAL).exists());
    assert!(
        fs::read_to_string(referral(root, "ben-carter"))
            .unwrap()
            .contains("back again"),
        "the command's own change was made"
    );
}

// A journal that exists but cannot be read is never taken for "no journal": the command stops
// before it reads or changes any record.
#[test]
fn a_journal_that_cannot_be_read_stops_the_command() {
    let dir = demo();
    let root = dir.path();
    for (case, make) in [
        (
            "a folder",
            (|path: &Path| fs::create_dir(path).unwrap()) as fn(&Path),
        ),
        ("not JSON", |path: &Path| {
            fs::write(path, "[{\"undo\": ").unwrap();
        }),
    ] {
        make(&root.join(JOURNAL));
        let before = snapshot(root);
        let output = run_in(root, &["log", "ben-carter", "reply"]);
        assert_exit(&output, 1);
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains(
                ".content.affrel-journal: error: cannot read the journal of an interrupted change"
            ),
            "{case}: {stderr}"
        );
        assert_eq!(snapshot(root), before, "{case}: nothing changed");
        let _ = fs::remove_dir(root.join(JOURNAL));
        let _ = fs::remove_file(root.join(JOURNAL));
    }
}

/// Holds `lock` as a running affrel would: locked, with a holder written in it.
fn hold_lock(lock: &Path, command: &str) -> fs::File {
    let mut file = fs::File::create(lock).unwrap();
    file.lock().unwrap();
    write!(file, "pid={}\ncommand={command}\n", std::process::id()).unwrap();
    file
}

// A lock held by a live process: the waiter names it, and when it gives up it says to wait
// or to end that process, never to delete the lock file.
#[test]
fn a_held_lock_names_its_holder_and_is_never_to_be_deleted() {
    let dir = demo();
    let root = dir.path();
    let pid = std::process::id();
    let cases = [
        (
            ".content.affrel-lock",
            "affrel done",
            vec!["log", "ben-carter", "reply"],
        ),
        (".output.affrel-lock", "affrel build", vec!["build"]),
    ];
    for (lock, holder, args) in cases {
        let _held = hold_lock(&root.join(lock), holder);
        let mut all = args.clone();
        all.extend(["--root", root.to_str().unwrap()]);
        let output = affrel(&all)
            .env("AFFREL_LOCK_TIMEOUT", "1")
            .output()
            .unwrap();
        assert_exit(&output, 1);
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains(&format!("waiting for {holder} (pid {pid}) to finish")),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "{holder} (pid {pid}) has held the lock for more than 1 seconds"
            )),
            "{stderr}"
        );
        assert!(stderr.contains(&format!("`kill {pid}`")), "{stderr}");
        assert!(!stderr.contains("delete"), "{stderr}");
    }
}

// Output that cannot be written is an error with exit status 1, for every command that
// prints; a reader closing the pipe early is not.
#[test]
fn output_that_cannot_be_written_fails_the_command() {
    let dir = demo();
    let root = dir.path();
    for args in [vec!["agenda", "--json"], vec!["agenda"], vec!["check"]] {
        let full = fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let mut all = args.clone();
        all.extend(["--root", root.to_str().unwrap()]);
        let output = affrel(&all).stdout(full).output().unwrap();
        assert_exit(&output, 1);
        assert!(
            text(&output.stderr)
                .contains("error: cannot write the output: No space left on device"),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
    let mut child = affrel(&["agenda", "--root", root.to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "a closed pipe is not a failure");
}

// `log`'s TYPE is checked before any file is read: a word that is not an event type is
// named, with the likely intent, and not taken for a missing key.
#[test]
fn log_names_an_unknown_event_type() {
    let dir = demo();
    let root = dir.path();
    let before = snapshot(root);
    let output = run_in(root, &["log", "ben-carter", "null"]);
    assert_exit(&output, 2);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("unknown event type `null`"), "{stderr}");
    assert!(!stderr.contains("missing"), "{stderr}");
    let output = run_in(root, &["log", "ben-carter", "welcom_sent"]);
    assert_exit(&output, 2);
    assert!(text(&output.stderr).contains("did you mean `welcome_sent`?"));
    assert_eq!(snapshot(root), before);
}

// The system calls of one `log`: the new text is flushed, renamed over the record, and the
// folder flushed, all before "recorded" is printed.
#[test]
fn a_recorded_change_is_on_disk_before_it_is_reported() {
    if let Some(reason) = strace_unusable() {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let dir = demo();
    let root = dir.path();
    let trace = root.join("trace.txt");
    let output = Command::new("strace")
        .args([
            "-f",
            "-y",
            "-e",
            "trace=fsync,fdatasync,rename,renameat,renameat2,write",
            "-o",
        ])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_affrel"))
        .args([
            "log",
            "ben-carter",
            "reply",
            "--root",
            root.to_str().unwrap(),
        ])
        .env("SOURCE_DATE_EPOCH", common::TODAY)
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let calls = fs::read_to_string(&trace).unwrap();
    let position = |what: &str, pattern: &dyn Fn(&str) -> bool| {
        calls
            .lines()
            .position(pattern)
            .unwrap_or_else(|| panic!("no {what} in the trace:\n{calls}"))
    };
    let temp = ".ben-carter.yaml.affrel-tmp";
    let flushed = position("fsync of the new text", &|l| {
        l.contains("fsync(") && l.contains(temp)
    });
    let renamed = position("rename over the record", &|l| {
        l.contains("rename") && l.contains(temp) && l.contains("ben-carter.yaml\"")
    });
    let folder = position("fsync of the folder", &|l| {
        l.contains("fsync(") && l.contains("/content/referrals>")
    });
    let reported = position("the report", &|l| {
        l.contains("write(1") && l.contains("recorded reply")
    });
    assert!(
        flushed < renamed && renamed < folder && folder < reported,
        "out of order:\n{calls}"
    );
}

/// Why `strace` cannot trace a process here, if it cannot: not installed, or tracing is
/// not permitted (a container without `CAP_SYS_PTRACE`, say).
fn strace_unusable() -> Option<String> {
    match Command::new("strace")
        .args(["-o", "/dev/null", "true"])
        .output()
    {
        Err(err) => Some(format!(
            "strace is not installed ({err}); apt-get install strace, as .ci/run does"
        )),
        Ok(probe) if !probe.status.success() => Some(format!(
            "strace cannot trace here: {}",
            text(&probe.stderr).trim()
        )),
        Ok(_) => None,
    }
}
