//! The weekly loop from the terminal, through the real binary: `agenda`, `new`, `log`,
//! `done` and `completions`, the warnings of `check`, and its advice on common YAML slips.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use serde_json::Value;

mod common;
use common::{affrel, assert_exit, copy_tree, demo, repo, run_in, text};

/// A project with the test config, the demo's email templates and these referral files.
fn project(records: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    let content = dir.path().join("content");
    fs::create_dir_all(content.join("referrals")).expect("creatable folder");
    fs::copy(
        repo().join("tests/fixtures/valid/content/config.yaml"),
        content.join("config.yaml"),
    )
    .expect("config copied");
    copy_tree(&repo().join("content/emails"), &content.join("emails"));
    for (path, bytes) in records {
        let path = content.join("referrals").join(path);
        fs::create_dir_all(path.parent().expect("has a parent")).expect("creatable folder");
        fs::write(path, bytes).expect("writable record");
    }
    dir
}

fn record(root: &Path, relative: &str) -> Vec<u8> {
    fs::read(root.join("content/referrals").join(relative)).expect("the record exists")
}

/// The parsed events of a record.
fn events(root: &Path, relative: &str) -> Vec<serde_yaml::Value> {
    let value: serde_yaml::Value =
        serde_yaml::from_slice(&record(root, relative)).expect("the record is YAML");
    value["events"].as_sequence().cloned().unwrap_or_default()
}

/// Every file name under `dir`, hidden ones included.
fn file_names(dir: &Path) -> BTreeSet<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|entry| entry.expect("readable tree"))
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

/// `after` with one inserted run of bytes removed equals `before`; returns the inserted run.
fn inserted(before: &[u8], after: &[u8]) -> String {
    let prefix = before.iter().zip(after).take_while(|(a, b)| a == b).count();
    let suffix = before[prefix..]
        .iter()
        .rev()
        .zip(after[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    assert_eq!(
        prefix + suffix,
        before.len(),
        "bytes of the original file were changed, not only added to"
    );
    text(&after[prefix..after.len() - suffix])
}

// ---------------------------------------------------------------------------------------
// `log`

/// Record files in every layout people write, by name.
fn layouts() -> Vec<(&'static str, String)> {
    let head = "name: Ana Lima\nemail: ana@example.com\nprogram: acme\nreferred_on: 2026-09-01\n";
    vec![
        (
            "comments_and_quoting",
            "# Ana, met at the meetup\nname: 'Ana Lima'   # single quotes on purpose\nemail: \"ana@example.com\"\nprogram: acme\nreferred_on: 2026-09-01\n\nevents:\n  # first contact\n  - { date: 2026-09-02, type: welcome_sent }   # from my phone\n\n  - {date: 2026-09-05, type: reply, interest: high}\n  # more to come\n\nnotes: \"keeps \\\"quotes\\\"\"\n".to_owned(),
        ),
        (
            "crlf_line_endings",
            format!("{head}events:\n  - {{ date: 2026-09-02, type: welcome_sent }}\n")
                .replace('\n', "\r\n"),
        ),
        (
            "no_final_newline",
            format!("{head}events:\n  - {{ date: 2026-09-02, type: welcome_sent }}"),
        ),
        (
            "flow_list_on_several_lines",
            format!(
                "{head}events: [\n    {{ date: 2026-09-02, type: welcome_sent }},\n    {{ date: 2026-09-05, type: reply, note: \"a ] in a note\" }}\n]\ntags: [blogger]\n"
            ),
        ),
        (
            "flow_list_on_one_line",
            format!("{head}events: [{{ date: 2026-09-02, type: welcome_sent }}]\n"),
        ),
        (
            "block_items",
            format!(
                "{head}events:\n  - date: 2026-09-02\n    type: welcome_sent\n    note: >-\n      a folded\n      note\n  - date: 2026-09-05\n    type: reply\ntags: [blogger]\n"
            ),
        ),
        ("no_events_key", head.trim_end().to_owned()),
    ]
}

// `log` adds one item in the list's own style and changes no byte of the rest, in every
// layout; the result passes `check` and reads back with the new event last.
#[test]
fn log_appends_one_item_and_keeps_every_other_byte() {
    for (layout, original) in layouts() {
        let dir = project(&[("ana.yaml", original.as_bytes())]);
        let output = run_in(
            dir.path(),
            &[
                "log",
                "ana",
                "reply",
                "--date",
                "2026-11-20",
                "--interest",
                "low",
                "--note",
                "busy: \"back in May\" # really",
            ],
        );
        assert_exit(&output, 0);
        let after = record(dir.path(), "ana.yaml");
        let added = inserted(original.as_bytes(), &after);
        if original.contains("\r\n") {
            assert!(
                !text(&after).replace("\r\n", "").contains('\n'),
                "{layout}: a bare LF"
            );
        }
        let last = events(dir.path(), "ana.yaml")
            .pop()
            .expect("an event was added");
        assert_eq!(last["type"].as_str(), Some("reply"), "{layout}");
        assert_eq!(
            last["note"].as_str(),
            Some("busy: \"back in May\" # really"),
            "{layout}"
        );
        assert_exit(&run_in(dir.path(), &["check", "--as-of", "2026-11-24"]), 0);
        insta::assert_snapshot!(
            format!("log_{layout}"),
            format!(
                "added:\n{}\n---\nfile:\n{}",
                added.replace('\r', "␍"),
                text(&after).replace('\r', "␍")
            )
        );
    }
}

// An invalid event is refused with a message located where it would have been written, and
// the file keeps every byte; no temporary file is left behind.
#[test]
fn invalid_log_leaves_the_file_untouched_and_says_where() {
    let original = "name: Ana Lima\nemail: ana@example.com\nprogram: acme\nreferred_on: 2026-09-01\nevents:\n  - { date: 2026-09-02, type: welcome_sent }\n";
    let cases: &[(&str, &[&str])] = &[
        (
            "amount_on_a_reply",
            &["log", "ana", "reply", "--amount", "5"],
        ),
        (
            "impossible_date",
            &["log", "ana", "reply", "--date", "2026-13-01"],
        ),
        (
            "unpadded_date",
            &["log", "ana", "reply", "--date", "2026-9-5"],
        ),
        ("unknown_id", &["log", "anna", "reply"]),
        (
            "minutes_on_a_sale",
            &["log", "ana", "sale", "--minutes", "5"],
        ),
        (
            "too_many_minutes",
            &["log", "ana", "help_given", "--minutes", "2000"],
        ),
        (
            "amount_not_a_number",
            &["log", "ana", "sale", "--amount", "lots"],
        ),
    ];
    let mut messages = String::new();
    for (case, args) in cases {
        let dir = project(&[("ana.yaml", original.as_bytes())]);
        let before = file_names(dir.path());
        let output = run_in(dir.path(), args);
        assert_exit(&output, 1);
        assert_eq!(
            record(dir.path(), "ana.yaml"),
            original.as_bytes(),
            "{case}"
        );
        assert_eq!(
            file_names(dir.path()),
            before,
            "{case}: a file was left behind"
        );
        let stderr = text(&output.stderr);
        assert!(stderr.contains("nothing was written"), "{case}: {stderr}");
        let _ = write!(messages, "== {case}\n{stderr}");
    }
    insta::assert_snapshot!(messages);
}

// Ten `log` runs started at once on one record all land: the project lock serializes them.
#[test]
fn parallel_logs_on_one_record_all_land() {
    let original = "name: Ana Lima\nemail: ana@example.com\nprogram: acme\nreferred_on: 2026-09-01\nevents:\n  - { date: 2026-09-02, type: welcome_sent }\n";
    let dir = project(&[("ana.yaml", original.as_bytes())]);
    let children: Vec<_> = (0..10)
        .map(|i| {
            let mut command = affrel(&[
                "log",
                "ana",
                "reply",
                "--note",
                &format!("reply {i}"),
                "--root",
                dir.path().to_str().expect("UTF-8"),
            ]);
            command.spawn().expect("the affrel binary starts")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("affrel finishes");
        assert_exit(&output, 0);
    }
    let notes: BTreeSet<String> = events(dir.path(), "ana.yaml")
        .iter()
        .filter_map(|event| event["note"].as_str().map(str::to_owned))
        .collect();
    let expected: BTreeSet<String> = (0..10).map(|i| format!("reply {i}")).collect();
    assert_eq!(notes, expected);
    assert!(!dir.path().join(".content.affrel-lock").exists());
}

// ---------------------------------------------------------------------------------------
// `new`

// `new` writes a commented record that `check` accepts and `log` can extend.
#[test]
fn new_writes_a_commented_record_that_check_accepts() {
    let dir = project(&[]);
    let output = run_in(
        dir.path(),
        &[
            "new",
            "nina-park",
            "--name",
            "Nina Park",
            "--email",
            "nina@example.com",
            "--program",
            "acme",
            "--referred-on",
            "2026-11-20",
            "--motivation",
            "Freedom: work from anywhere",
            "--account",
            "np-77",
            "--tag",
            "blogger",
            "--tag",
            "no, really",
        ],
    );
    assert_exit(&output, 0);
    let written = text(&record(dir.path(), "nina-park.yaml"));
    insta::assert_snapshot!(written);
    assert_exit(&run_in(dir.path(), &["check", "--as-of", "2026-11-24"]), 0);
    assert_exit(
        &run_in(dir.path(), &["done", "nina-park", "--minutes", "20"]),
        0,
    );
    let last = events(dir.path(), "nina-park.yaml")
        .pop()
        .expect("an event");
    assert_eq!(last["type"].as_str(), Some("welcome_sent"));
    assert_eq!(last["minutes"].as_u64(), Some(20));
}

// An id is unique across subfolders: `new` names the file that has it and writes nothing.
#[test]
fn new_refuses_an_id_that_exists_in_any_subfolder() {
    let existing =
        b"name: Ana Lima\nemail: ana@example.com\nprogram: acme\nreferred_on: 2026-09-01\n";
    let dir = project(&[("2026/ana.yaml", existing)]);
    let output = run_in(
        dir.path(),
        &[
            "new",
            "ana",
            "--name",
            "Ana Two",
            "--email",
            "a2@example.com",
            "--program",
            "acme",
        ],
    );
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr)
            .contains("content/referrals/2026/ana.yaml: error: the id `ana` is already used")
    );
    assert!(!dir.path().join("content/referrals/ana.yaml").exists());
}

// Invalid values get the same messages `check` gives for a hand-written file, all at once.
#[test]
fn new_refuses_invalid_values_with_the_messages_of_check() {
    let dir = project(&[]);
    let output = run_in(
        dir.path(),
        &[
            "new",
            "zed",
            "--name",
            " ",
            "--email",
            "zed(at)example.com",
            "--program",
            "acmee",
            "--referred-on",
            "05/09/2026",
        ],
    );
    assert_exit(&output, 1);
    assert!(!dir.path().join("content/referrals/zed.yaml").exists());
    let stderr = text(&output.stderr);
    let hand_written = project(&[(
        "zed.yaml",
        b"name: \" \"\nemail: zed(at)example.com\nprogram: acmee\nreferred_on: 05/09/2026\n",
    )]);
    let checked = text(&run_in(hand_written.path(), &["check", "--as-of", "2026-11-24"]).stderr);
    let messages = |all: &str| -> Vec<String> {
        all.lines()
            .filter_map(|line| line.split_once(": error: ").map(|(_, m)| m.to_owned()))
            .collect()
    };
    assert_eq!(messages(&stderr), messages(&checked));
    assert_eq!(messages(&stderr).len(), 4, "{stderr}");
    assert!(stderr.contains("`2026-09-05` if the day comes first"));
}

// An id that is not a slug never becomes a path.
#[test]
fn new_refuses_an_id_that_is_not_a_file_name() {
    let dir = project(&[]);
    let output = run_in(
        dir.path(),
        &[
            "new",
            "../escape",
            "--name",
            "X",
            "--email",
            "x@example.com",
            "--program",
            "acme",
        ],
    );
    assert_exit(&output, 1);
    assert!(text(&output.stderr).contains("`../escape` is not a valid referral id"));
    assert!(!dir.path().join("content/escape.yaml").exists());
}

// ---------------------------------------------------------------------------------------
// `done`

// `done` records, for each of the five action kinds, the event that completes it.
#[test]
fn done_records_the_event_that_completes_each_kind_of_action() {
    let dir = demo();
    let expected = [
        ("jose-alvarez.yaml", "welcome_sent"),
        ("marcus-johnson.yaml", "nudge_sent"),
        ("wei-chen.yaml", "follow_up_sent"),
        ("oliver-grant.yaml", "help_given"),
        ("kenji-watanabe.yaml", "congratulated"),
    ];
    let ids: Vec<&str> = expected
        .iter()
        .map(|(file, _)| file.trim_end_matches(".yaml"))
        .collect();
    let before: Vec<(Value, Value)> = ids
        .iter()
        .map(|id| {
            let listed = agenda_json(dir.path());
            listed
                .into_iter()
                .find(|item| item["id"] == *id)
                .map(|item| (item["kind"].clone(), item["due"].clone()))
                .expect("each has an action")
        })
        .collect();
    let mut args = vec!["done"];
    args.extend(&ids);
    args.extend(["--minutes", "15"]);
    let output = run_in(dir.path(), &args);
    assert_exit(&output, 0);
    for (file, kind) in expected {
        let last = events(dir.path(), file).pop().expect("an event");
        assert_eq!(last["type"].as_str(), Some(kind), "{file}");
        assert_eq!(last["date"].as_str(), Some("2026-11-24"), "{file}");
        assert_eq!(last["minutes"].as_u64(), Some(15), "{file}");
    }
    // Each completed action has left the agenda (a later one may have taken its place).
    let after = agenda_json(dir.path());
    for ((id, (kind, due)), (_, event)) in ids.iter().zip(&before).zip(expected) {
        let next = after.iter().find(|item| item["id"] == *id);
        assert!(
            next.is_none_or(|item| (&item["kind"], &item["due"]) != (kind, due)),
            "{id}: {kind} due {due} still listed after recording {event}"
        );
    }
}

// A referral with nothing to do fails the whole command: no file changes, not even the
// valid ones named with it.
#[test]
fn done_refuses_a_referral_with_no_action_and_changes_nothing() {
    let dir = demo();
    let before = record(dir.path(), "jose-alvarez.yaml");
    let output = run_in(
        dir.path(),
        &["done", "jose-alvarez", "ben-carter", "jose-alvarez"],
    );
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("`ben-carter` has no next action to mark done: their stage is `let_go`")
    );
    assert!(stderr.contains("`jose-alvarez` is named twice"));
    assert_eq!(record(dir.path(), "jose-alvarez.yaml"), before);
}

// A backdated `done` completes the action that was next on that date: here the welcome,
// though the welcome recorded later makes the nudge next today.
#[test]
fn backdated_done_completes_the_action_due_then() {
    let rae = "name: Rae Quinn\nemail: rae@example.com\nprogram: acme\nreferred_on: 2026-11-10\nevents:\n  - { date: 2026-11-22, type: welcome_sent }\n";
    let dir = project(&[("rae.yaml", rae.as_bytes())]);
    let output = run_in(dir.path(), &["done", "rae", "--date", "2026-11-20"]);
    assert_exit(&output, 0);
    assert!(
        text(&output.stdout)
            .contains("rae: Welcome and offer help: recorded welcome_sent on 2026-11-20"),
        "{}",
        text(&output.stdout)
    );
    let last = events(dir.path(), "rae.yaml").pop().expect("an event");
    assert_eq!(last["type"].as_str(), Some("welcome_sent"));
    assert_eq!(last["date"].as_str(), Some("2026-11-20"));

    let before = record(dir.path(), "rae.yaml");
    let output = run_in(dir.path(), &["done", "rae", "--date", "2026-11-01"]);
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("`rae` was referred on 2026-11-10, after 2026-11-01, so there was nothing to do on 2026-11-01"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(record(dir.path(), "rae.yaml"), before);
}

// Free text may start with a dash: it is the value, not an option.
#[test]
fn free_text_may_start_with_a_dash() {
    let dir = demo();
    let output = run_in(
        dir.path(),
        &["log", "ben-carter", "reply", "--note", "-5% this month"],
    );
    assert_exit(&output, 0);
    let last = events(dir.path(), "ben-carter.yaml")
        .pop()
        .expect("an event");
    assert_eq!(last["note"].as_str(), Some("-5% this month"));
    let output = run_in(
        dir.path(),
        &[
            "new",
            "dash",
            "--name",
            "-Dee Dash",
            "--email",
            "dee@example.com",
            "--program",
            "acme",
            "--motivation",
            "-debt",
        ],
    );
    assert_exit(&output, 0);
    let value: Value =
        serde_yaml::from_slice(&record(dir.path(), "dash.yaml")).expect("the record is YAML");
    assert_eq!(value["name"], "-Dee Dash");
    assert_eq!(value["motivation"], "-debt");
}

// 500 warnings of one kind print as the first few and a count; `--all-warnings` prints all.
#[test]
fn many_warnings_of_one_kind_are_counted() {
    let mut record =
        "name: Ana Lima\nemail: ana@example.com\nprogram: acme\nreferred_on: 2020-01-01\nevents:\n"
            .to_owned();
    for day in 0..500 {
        let date = chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap() + chrono::Days::new(day);
        let _ = writeln!(record, "  - {{ date: {date}, type: sale }}");
    }
    let dir = project(&[("ana.yaml", record.as_bytes())]);
    let warning = "warning: this sale has no `amount`";
    for (flags, shown) in [(&[][..], 3), (&["--all-warnings"][..], 500)] {
        let mut args = vec!["check"];
        args.extend(flags);
        let output = run_in(dir.path(), &args);
        assert_exit(&output, 0);
        let stderr = text(&output.stderr);
        assert_eq!(stderr.matches(warning).count(), shown, "{flags:?}");
        let counted = stderr.contains("… and 497 more like this (--all-warnings lists every one)");
        assert_eq!(counted, flags.is_empty(), "{stderr}");
    }
}

// ---------------------------------------------------------------------------------------
// `agenda`

fn agenda_json(root: &Path) -> Vec<Value> {
    let output = run_in(root, &["agenda", "--json", "--as-of", "2026-11-24"]);
    assert_exit(&output, 0);
    serde_json::from_slice(&output.stdout).expect("agenda --json prints JSON")
}

// `agenda --json` lists exactly the actions report.json has due this week, with the same
// kind, date, lateness and email, then a few upcoming ones.
#[test]
fn agenda_json_agrees_with_report_json() {
    let dir = demo();
    let out = dir.path().join("output");
    assert_exit(&run_in(dir.path(), &["build", "--as-of", "2026-11-24"]), 0);
    let report: Value =
        serde_json::from_slice(&fs::read(out.join("report.json")).unwrap()).unwrap();
    let week_end = report["week_end"].as_str().unwrap();
    let due_in_report: BTreeMap<&str, &Value> = report["affiliates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            a["next_action"]["due"]
                .as_str()
                .is_some_and(|due| due <= week_end)
        })
        .map(|a| (a["id"].as_str().unwrap(), &a["next_action"]))
        .collect();
    let agenda = agenda_json(dir.path());
    let due_in_agenda: BTreeMap<&str, &Value> = agenda
        .iter()
        .filter(|item| item["due"].as_str().unwrap() <= week_end)
        .map(|item| (item["id"].as_str().unwrap(), item))
        .collect();
    assert_eq!(
        due_in_agenda.keys().collect::<Vec<_>>(),
        due_in_report.keys().collect::<Vec<_>>()
    );
    for (id, action) in due_in_report {
        let item = due_in_agenda[id];
        for key in ["kind", "due", "overdue", "email"] {
            assert_eq!(item[key], action[key], "{id}: {key}");
        }
        assert!(item["reason"].as_str().is_some_and(|r| !r.is_empty()));
    }
    let upcoming = agenda.len() - due_in_agenda.len();
    assert!((1..=5).contains(&upcoming), "{upcoming} upcoming");
    let dues: Vec<&str> = agenda.iter().map(|i| i["due"].as_str().unwrap()).collect();
    assert!(dues.windows(2).all(|w| w[0] <= w[1]), "sorted by due date");
}

// Piped, the agenda has no colour codes; it groups actions and ends with the `done` command.
#[test]
fn agenda_prints_plain_sections_when_piped() {
    let dir = demo();
    let output = affrel(&["agenda", "--as-of", "2026-11-24"])
        .current_dir(dir.path())
        .output()
        .expect("the affrel binary runs");
    assert_exit(&output, 0);
    let stdout = text(&output.stdout);
    assert!(!stdout.contains('\u{1b}'));
    insta::assert_snapshot!(stdout);
}

// ---------------------------------------------------------------------------------------
// `check` warnings and YAML advice

/// `check` of a fixture as of 2026-11-24: exit status and stderr.
fn check_fixture(case: &str) -> (Option<i32>, String) {
    let root = repo().join("tests/fixtures").join(case);
    let output = run_in(&root, &["check", "--as-of", "2026-11-24"]);
    (output.status.code(), text(&output.stderr))
}

// Likely mistakes are warnings with file and line; the content still builds.
#[test]
fn check_warns_about_likely_mistakes() {
    for case in [
        "warn_event_after_let_go",
        "warn_same_email",
        "warn_sale_without_amount",
        "warn_future_date",
    ] {
        let (code, stderr) = check_fixture(case);
        assert_eq!(code, Some(0), "{case}: {stderr}");
        assert!(stderr.contains(": warning: "), "{case}: {stderr}");
        insta::assert_snapshot!(case, stderr);
    }
}

// The YAML slips people make most get a `help:` line that says what to write instead.
#[test]
fn check_explains_common_yaml_slips() {
    for case in [
        "hint_item_without_events_key",
        "hint_tab_indentation",
        "hint_unpadded_date",
        "hint_day_first_date",
        "hint_colon_in_value",
    ] {
        let (code, stderr) = check_fixture(case);
        assert_eq!(code, Some(1), "{case}: {stderr}");
        insta::assert_snapshot!(case, stderr);
    }
}

// Errors come before warnings, whatever their files.
#[test]
fn errors_print_before_warnings() {
    let dir = project(&[
        (
            "a.yaml",
            b"name: A\nemail: a@example.com\nprogram: acme\nreferred_on: 2062-01-01\n",
        ),
        (
            "b.yaml",
            b"name: B\nemail: b@example.com\nprogram: acmee\nreferred_on: 2026-01-01\n",
        ),
    ]);
    let stderr = text(&run_in(dir.path(), &["check"]).stderr);
    let error = stderr.find(": error: ").expect("an error");
    let warning = stderr.find(": warning: ").expect("a warning");
    assert!(error < warning, "{stderr}");
}

// ---------------------------------------------------------------------------------------
// `completions`

// Completion scripts name the subcommands for each supported shell.
#[test]
fn completions_cover_the_subcommands() {
    for shell in ["bash", "zsh", "fish"] {
        let output = affrel(&["completions", shell]).output().unwrap();
        assert_exit(&output, 0);
        let script = text(&output.stdout);
        for command in ["agenda", "log", "done", "new"] {
            assert!(script.contains(command), "{shell}: {command}");
        }
    }
    assert_exit(&affrel(&["completions", "tcsh"]).output().unwrap(), 2);
}

/// Keeps the helper used by several tests honest about what "inserted" means.
#[test]
fn inserted_rejects_a_changed_byte() {
    let result = std::panic::catch_unwind(|| inserted(b"abc", b"abXc"));
    assert!(result.is_ok());
    let result = std::panic::catch_unwind(|| inserted(b"abc", b"aXc"));
    assert!(result.is_err());
}
