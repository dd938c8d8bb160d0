//! The `affrel` binary end to end: fixture projects under `tests/fixtures/<case>/`, exit
//! statuses, the located messages of every invalid fixture (snapshotted: they are part of the
//! contract), and what `build` does to the output folder.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The date every fixture is checked as of.
const AS_OF: &str = "2026-11-24";

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(case)
}

/// A command for the real binary, with no `SOURCE_DATE_EPOCH` leaking in from the caller.
fn affrel(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_affrel"));
    command.args(args).env_remove("SOURCE_DATE_EPOCH");
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("the affrel binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("affrel prints UTF-8")
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// Runs `check` on an invalid project and returns its stderr, after asserting exit status 1,
/// an empty stdout, and that the first problem is reported at `at` (`path:line:col`, or just
/// `path` for a problem with the file as a whole).
fn check_invalid_root(root: &Path, at: &str) -> String {
    let output = run(&mut affrel(&[
        "check",
        "--root",
        path_arg(root),
        "--as-of",
        AS_OF,
    ]));
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr:\n{stderr}");
    assert_eq!(text(&output.stdout), "");
    assert!(
        stderr.starts_with(&format!("{at}: error: ")),
        "expected the first problem at `{at}`, stderr:\n{stderr}"
    );
    stderr
}

fn check_invalid(case: &str, at: &str) -> String {
    check_invalid_root(&fixture(case), at)
}

/// Every file under `dir`, by path relative to it.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .expect("readable folder")
            .map(|entry| entry.expect("readable entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(base, &path, files);
            } else {
                let relative = path.strip_prefix(base).expect("inside base").to_path_buf();
                files.insert(relative, fs::read(&path).expect("readable file"));
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

/// The names directly inside `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("readable folder")
        .map(|entry| {
            entry
                .expect("readable entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// A temporary copy of a fixture project, to break or build into.
fn copy_of(case: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    for (relative, bytes) in tree(&fixture(case)) {
        let path = dir.path().join(relative);
        fs::create_dir_all(path.parent().expect("has a parent")).expect("creatable folder");
        fs::write(path, bytes).expect("writable file");
    }
    dir
}

fn build(root: &Path, out: &Path) -> Output {
    run(&mut affrel(&[
        "build",
        "--root",
        path_arg(root),
        "--out",
        path_arg(out),
        "--as-of",
        AS_OF,
    ]))
}

fn assert_success(output: &Output) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr:\n{}",
        text(&output.stderr)
    );
}

fn report_json(out: &Path) -> Value {
    let bytes = fs::read(out.join("report.json")).expect("report.json was written");
    serde_json::from_slice(&bytes).expect("report.json is JSON")
}

// ---------------------------------------------------------------------------------------
// One invalid fixture per validation rule.

// A referral without a required key is rejected at the start of its mapping.
#[test]
fn errors_when_a_required_field_is_missing() {
    let stderr = check_invalid("missing_required_field", "content/referrals/alice.yaml:1:1");
    assert!(stderr.contains("the key `email` is missing"));
    insta::assert_snapshot!(stderr);
}

// Misspelt keys are errors, not silently ignored data.
#[test]
fn errors_when_a_key_is_unknown() {
    let stderr = check_invalid("unknown_key", "content/referrals/alice.yaml:4:1");
    assert!(stderr.contains("unknown key `nickname`"));
    insta::assert_snapshot!(stderr);
}

// An event type outside DESIGN's list is named, with the list and the likely intent.
#[test]
fn errors_when_event_type_is_unknown() {
    let stderr = check_invalid("unknown_event_type", "content/referrals/alice.yaml:6:31");
    assert!(stderr.contains("unknown event type `welcom_sent`; expected one of `welcome_sent`"));
    assert!(stderr.contains("did you mean `welcome_sent`?"));
    insta::assert_snapshot!(stderr);
}

// `amount` belongs to sales only.
#[test]
fn errors_when_amount_is_on_a_non_sale_event() {
    let stderr = check_invalid("amount_on_non_sale", "content/referrals/alice.yaml:7:46");
    insta::assert_snapshot!(stderr);
}

// A sale cannot have a negative amount.
#[test]
fn errors_when_a_sale_amount_is_negative() {
    let stderr = check_invalid("negative_amount", "content/referrals/alice.yaml:7:45");
    insta::assert_snapshot!(stderr);
}

// `interest` belongs to replies only; a block-style event is located on the key's own line.
#[test]
fn errors_when_interest_is_on_a_non_reply_event() {
    let stderr = check_invalid(
        "interest_on_non_reply",
        "content/referrals/alice.yaml:10:15",
    );
    insta::assert_snapshot!(stderr);
}

// Interest is `low` or `high`, nothing else.
#[test]
fn errors_when_interest_is_not_low_or_high() {
    let stderr = check_invalid("bad_interest_word", "content/referrals/alice.yaml:7:48");
    insta::assert_snapshot!(stderr);
}

// Email addresses must look deliverable.
#[test]
fn errors_when_an_email_address_is_invalid() {
    let stderr = check_invalid("invalid_email", "content/referrals/alice.yaml:2:8");
    insta::assert_snapshot!(stderr);
}

// Well-shaped dates must exist on the calendar.
#[test]
fn errors_when_a_date_is_not_on_the_calendar() {
    let stderr = check_invalid("impossible_date", "content/referrals/alice.yaml:4:14");
    assert!(stderr.contains("`2026-02-30` is not a real calendar date"));
    insta::assert_snapshot!(stderr);
}

// Dates are written one way only, zero-padded.
#[test]
fn errors_when_a_date_is_not_yyyy_mm_dd() {
    let stderr = check_invalid("badly_shaped_date", "content/referrals/alice.yaml:6:13");
    insta::assert_snapshot!(stderr);
}

// Names end up in headers and the report: no tabs or line breaks.
#[test]
fn errors_when_a_name_contains_a_control_character() {
    let stderr = check_invalid(
        "name_with_control_character",
        "content/referrals/alice.yaml:1:7",
    );
    insta::assert_snapshot!(stderr);
}

// A name is required and cannot be blank.
#[test]
fn errors_when_a_name_is_empty() {
    let stderr = check_invalid("empty_name", "content/referrals/alice.yaml:1:7");
    insta::assert_snapshot!(stderr);
}

// A referral's program must be one of the configured ones, with a suggestion for a typo.
#[test]
fn errors_when_the_program_is_unknown() {
    let stderr = check_invalid("unknown_program", "content/referrals/alice.yaml:3:10");
    assert!(stderr.contains("did you mean `acme`?"));
    insta::assert_snapshot!(stderr);
}

// Ids are file stems and unique across subfolders; the message names both files.
#[test]
fn errors_when_an_id_is_used_in_two_subfolders() {
    let stderr = check_invalid("duplicate_id", "content/referrals/alice.yaml");
    assert!(stderr.contains("content/referrals/2026-autumn/alice.yaml"));
    insta::assert_snapshot!(stderr);
}

// The file name is the id, so it must be a slug.
#[test]
fn errors_when_a_referral_file_name_is_not_a_slug() {
    let stderr = check_invalid("non_slug_file_name", "content/referrals/Alice Walker.yaml");
    insta::assert_snapshot!(stderr);
}

// Emails need a sender.
#[test]
fn errors_when_the_sender_is_missing() {
    let stderr = check_invalid("missing_sender", "content/config.yaml:1:1");
    insta::assert_snapshot!(stderr);
}

// At least one program must be configured.
#[test]
fn errors_when_no_programs_are_configured() {
    let stderr = check_invalid("no_programs", "content/config.yaml:4:11");
    insta::assert_snapshot!(stderr);
}

// An empty file is an error with advice, not a confusing parser message.
#[test]
fn errors_when_a_file_is_empty() {
    let stderr = check_invalid("empty_file", "content/referrals/alice.yaml:1:1");
    insta::assert_snapshot!(stderr);
}

// Bytes that are not UTF-8 are located at the first bad byte, not a panic.
#[test]
fn errors_when_a_file_is_not_utf8() {
    let project = copy_of("valid");
    fs::write(
        project.path().join("content/referrals/alice.yaml"),
        b"name: Alice Walker\nemail: alice@example.com\nprogram: acme\nnotes: caf\xe9\n",
    )
    .expect("writable file");
    let stderr = check_invalid_root(project.path(), "content/referrals/alice.yaml:4:11");
    insta::assert_snapshot!(stderr);
}

// A "billion laughs" document fails fast instead of expanding (typed records stop at the
// first alias-defining key; serde_yaml's repetition limit backs that up).
#[test]
fn errors_quickly_on_a_yaml_alias_bomb() {
    let stderr = check_invalid("alias_bomb", "content/referrals/alice.yaml");
    insta::assert_snapshot!(stderr);
}

// YAML syntax errors keep both the failure point and where the broken construct started.
#[test]
fn errors_when_yaml_syntax_is_broken() {
    let stderr = check_invalid("yaml_syntax_error", "content/referrals/alice.yaml:8:1");
    assert!(stderr.contains("at line 7 column 5"));
    insta::assert_snapshot!(stderr);
}

// Email templates are named after action kinds; a typo would silently lose emails.
#[test]
fn errors_when_an_email_template_is_not_named_after_an_action_kind() {
    let stderr = check_invalid("bad_email_template_stem", "content/emails/welcom.md");
    assert!(stderr.contains("rename the file to `welcome.md`"));
    insta::assert_snapshot!(stderr);
}

// Without a config there is nothing to check against; the message says how to start.
#[test]
fn errors_when_the_config_is_missing() {
    let stderr = check_invalid("missing_config", "content/config.yaml");
    insta::assert_snapshot!(stderr);
}

// Every problem in every file is reported in one run, sorted by path and line.
#[test]
fn reports_every_problem_sorted_by_path_and_line() {
    let stderr = check_invalid("several_problems", "content/config.yaml:3:10");
    let locations: Vec<&str> = stderr
        .lines()
        .filter_map(|line| line.split_once(": error: ").map(|(at, _)| at))
        .collect();
    assert_eq!(
        locations,
        [
            "content/config.yaml:3:10",
            "content/emails/welcom.md",
            "content/referrals/2026-autumn/ben.yaml:3:10",
            "content/referrals/alice.yaml:4:14",
            "content/referrals/alice.yaml:7:31",
            "content/referrals/cleo.yaml:5:1",
        ]
    );
    assert!(stderr.ends_with("error: 6 problems found; nothing was written\n"));
    insta::assert_snapshot!(stderr);
}

// Rule values are whole days from 1 to 100 years: 0 would fire every day, and a huge value
// meant as "never" would push due dates off the calendar.
#[test]
fn errors_when_a_rule_is_zero_or_too_large() {
    let stderr = check_invalid("rule_out_of_range", "content/config.yaml:9:21");
    assert!(stderr.contains("content/config.yaml:10:21: error: `quiet_after_days` is 4294967295"));
    insta::assert_snapshot!(stderr);
}

// ---------------------------------------------------------------------------------------
// `check` and usage.

// A valid project gets one summary line on stdout and nothing on stderr.
#[test]
fn check_prints_one_summary_line_for_a_valid_project() {
    let output = run(&mut affrel(&[
        "check",
        "--root",
        path_arg(&fixture("valid")),
        "--as-of",
        AS_OF,
    ]));
    assert_success(&output);
    let stdout = text(&output.stdout);
    assert_eq!(stdout.lines().count(), 1, "stdout:\n{stdout}");
    assert!(
        stdout.contains(&format!("as of {AS_OF}")),
        "stdout:\n{stdout}"
    );
    assert_eq!(text(&output.stderr), "");
}

// A date that does not exist is a usage error (2), not bad content (1).
#[test]
fn as_of_that_is_not_a_date_is_a_usage_error() {
    let output = run(&mut affrel(&[
        "check",
        "--root",
        path_arg(&fixture("valid")),
        "--as-of",
        "2026-13-01",
    ]));
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("2026-13-01"));
}

// Unknown flags are usage errors.
#[test]
fn unknown_flag_is_a_usage_error() {
    let output = run(&mut affrel(&["check", "--frobnicate"]));
    assert_eq!(output.status.code(), Some(2));
}

// Without --as-of, SOURCE_DATE_EPOCH decides D (1795478400 s is 2026-11-24 00:00 UTC).
#[test]
fn source_date_epoch_sets_d_without_as_of() {
    let output = run(affrel(&["check", "--root", path_arg(&fixture("valid"))])
        .env("SOURCE_DATE_EPOCH", "1795478400"));
    assert_success(&output);
    assert!(text(&output.stdout).contains("as of 2026-11-24"));
}

// --as-of wins over SOURCE_DATE_EPOCH.
#[test]
fn as_of_overrides_source_date_epoch() {
    let output = run(affrel(&[
        "check",
        "--root",
        path_arg(&fixture("valid")),
        "--as-of",
        "2026-12-01",
    ])
    .env("SOURCE_DATE_EPOCH", "1795478400"));
    assert_success(&output);
    assert!(text(&output.stdout).contains("as of 2026-12-01"));
}

// A SOURCE_DATE_EPOCH that is not a number is a usage error, not silently today.
#[test]
fn unreadable_source_date_epoch_is_a_usage_error() {
    let output = run(affrel(&["check", "--root", path_arg(&fixture("valid"))])
        .env("SOURCE_DATE_EPOCH", "yesterday"));
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("SOURCE_DATE_EPOCH"));
}

// ---------------------------------------------------------------------------------------
// `build` and the output folder.

// Same content and same D give the same bytes.
#[test]
fn building_twice_gives_byte_identical_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let outs = tempfile::tempdir().expect("temporary folder");
    let (first, second) = (outs.path().join("first"), outs.path().join("second"));
    assert_success(&build(root, &first));
    assert_success(&build(root, &second));
    let first = tree(&first);
    assert!(first.contains_key(Path::new("report.json")));
    assert!(first == tree(&second), "the two builds differ");
}

// The repository's demo content builds and covers every stage and every action kind.
#[test]
fn demo_content_covers_all_stages_and_action_kinds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().expect("temporary folder");
    let output = build(root, out.path());
    assert_success(&output);
    let report = report_json(out.path());
    let counts = report["stage_counts"]
        .as_object()
        .expect("stage_counts is an object");
    for (stage, count) in counts {
        assert!(count.as_u64() > Some(0), "no demo referral is {stage}");
    }
    let mut kinds: Vec<&str> = report["affiliates"]
        .as_array()
        .expect("affiliates is a list")
        .iter()
        .filter_map(|affiliate| affiliate["next_action"]["kind"].as_str())
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            "congratulate",
            "follow_up",
            "nudge",
            "offer_help",
            "welcome"
        ]
    );
}

// report.json follows DESIGN's schema: keys, order, history length and nulls.
#[test]
fn report_json_has_the_documented_shape() {
    let project = copy_of("valid");
    let out = project.path().join("output");
    assert_success(&build(project.path(), &out));
    let report = report_json(&out);

    assert_eq!(report["week"], "2026-W48");
    assert_eq!(report["week_start"], "2026-11-23");
    assert_eq!(report["week_end"], "2026-11-29");
    assert_eq!(report["as_of"], AS_OF);
    let stages: Vec<&String> = report["stage_counts"]
        .as_object()
        .expect("stage_counts is an object")
        .keys()
        .collect();
    let mut expected_stages = [
        "not_worth_it",
        "uncontacted",
        "welcomed",
        "first_sale",
        "following_up",
        "struggling",
        "thriving",
        "let_go",
    ];
    let mut stages_sorted: Vec<&str> = stages.iter().map(|s| s.as_str()).collect();
    stages_sorted.sort_unstable();
    expected_stages.sort_unstable();
    assert_eq!(stages_sorted, expected_stages);

    let affiliates = report["affiliates"]
        .as_array()
        .expect("affiliates is a list");
    let ids: Vec<&str> = affiliates
        .iter()
        .map(|a| a["id"].as_str().expect("id is a string"))
        .collect();
    assert_eq!(ids, ["alice", "ben", "cleo", "dan"]);
    let by_id = |id: &str| &affiliates[ids.iter().position(|&i| i == id).expect("listed")];

    // Events listed out of order are read by date: a first sale, follow-up long overdue.
    let alice = by_id("alice");
    assert_eq!(alice["stage"], "first_sale");
    assert_eq!(alice["first_sale_on"], "2026-09-20");
    assert_eq!(alice["sales"], 1);
    assert_eq!(alice["next_action"]["kind"], "follow_up");
    assert_eq!(alice["next_action"]["due"], "2026-10-11");
    assert_eq!(alice["next_action"]["overdue"], true);

    // Nulls are present as null, not missing.
    let ben = by_id("ben");
    assert!(
        ben.as_object()
            .expect("object")
            .contains_key("first_sale_on")
    );
    assert_eq!(ben["first_sale_on"], Value::Null);
    let cleo = by_id("cleo");
    assert_eq!(cleo["stage"], "not_worth_it");
    assert!(
        cleo.as_object()
            .expect("object")
            .contains_key("next_action")
    );
    assert_eq!(cleo["next_action"], Value::Null);

    // A referral that did not exist before the week comes from null.
    assert_eq!(
        report["transitions"],
        serde_json::json!([{ "id": "dan", "from": null, "to": "welcomed" }])
    );

    // history_weeks: 3 in the fixture's config, plus the current week.
    let history = report["history"].as_array().expect("history is a list");
    let weeks: Vec<&str> = history
        .iter()
        .map(|point| point["week"].as_str().expect("week is a string"))
        .collect();
    assert_eq!(weeks, ["2026-W45", "2026-W46", "2026-W47", "2026-W48"]);
    assert_eq!(history[3]["stage_counts"], report["stage_counts"]);

    // not_worth_it is left out of the metrics.
    assert_eq!(report["metrics"]["referrals"], 3);
    assert_eq!(report["metrics"]["contacted"], 2);
    assert_eq!(report["metrics"]["first_sale_rate_contacted"], 0.5);
    assert_eq!(report["metrics"]["first_sale_rate_uncontacted"], 0.0);
}

// A failed build leaves the last good output exactly as it was, with no temporary folders.
#[test]
fn failed_build_leaves_the_previous_output_untouched() {
    let project = copy_of("valid");
    let root = project.path();
    let first = run(&mut affrel(&[
        "build",
        "--root",
        path_arg(root),
        "--as-of",
        AS_OF,
    ]));
    assert_success(&first);
    let out = root.join("output");
    let before = tree(&out);
    assert!(before.contains_key(Path::new("report.json")));

    fs::write(
        root.join("content/referrals/ben.yaml"),
        "name: Ben Carter\nemail: ben@example.com\nprogram: acme\nreferred_on: 2026-11-20\nevents:\n  - { date: 2026-11-21, type: welcom_sent }\n",
    )
    .expect("writable file");
    let second = build(root, &out);
    assert_eq!(second.status.code(), Some(1));
    assert!(text(&second.stderr).contains("content/referrals/ben.yaml:6:31"));

    assert!(tree(&out) == before, "the previous output changed");
    assert_eq!(names(root), ["content", "output"]);
}

// Files are written into the staging folder as they are rendered; a template that fails
// only while rendering, after the emails were written, still leaves the previous output as
// it was and no staging folder behind.
#[test]
fn a_failure_in_the_middle_of_rendering_leaves_the_previous_output_untouched() {
    let project = copy_of("valid");
    let root = project.path();
    let out = root.join("output");
    assert_success(&build(root, &out));
    let before = tree(&out);

    let built_in =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/index.html"))
            .expect("the built-in report template");
    fs::create_dir_all(root.join("templates")).expect("creatable folder");
    fs::write(
        root.join("templates/index.html"),
        built_in.replace(
            "<h1>{{ title }}</h1>",
            "<h1>{{ title }}{{ actions[999].who }}</h1>",
        ),
    )
    .expect("writable file");
    let failed = build(root, &out);
    let stderr = text(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("templates/index.html"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");

    assert!(tree(&out) == before, "the previous output changed");
    assert_eq!(names(root), ["content", "output", "templates"]);
}

// `--timings` prints each step's time and peak memory to stderr; stdout is as without it.
#[test]
fn timings_go_to_stderr_step_by_step() {
    let project = copy_of("valid");
    let out = project.path().join("output");
    let output = run(&mut affrel(&[
        "build",
        "--root",
        path_arg(project.path()),
        "--out",
        path_arg(&out),
        "--as-of",
        AS_OF,
        "--timings",
    ]));
    assert_success(&output);
    assert!(text(&output.stdout).starts_with("built "));
    let stderr = text(&output.stderr);
    let steps: Vec<&str> = stderr
        .lines()
        .filter_map(|line| line.strip_prefix("timings: "))
        .map(|line| line.split_whitespace().next().unwrap_or(""))
        .collect();
    assert_eq!(
        steps,
        ["load", "validate", "derive", "render", "swap", "total"]
    );
    assert!(stderr.contains(" ms"), "{stderr}");

    let quiet = run(&mut affrel(&[
        "check",
        "--root",
        path_arg(project.path()),
        "--as-of",
        AS_OF,
    ]));
    assert_success(&quiet);
    assert!(!text(&quiet.stderr).contains("timings:"));
}

// A reader that goes away early (`affrel check 2>&1 | head -1`) ends the output, not the
// program: the exit status stays the command's own, never a panic's 101.
#[test]
fn a_closed_pipe_ends_the_output_without_a_panic() {
    use std::process::Stdio;
    let exit_with_closed = |args: &[&str], stdout_closed: bool| {
        let mut command = affrel(args);
        let pipe = |closed: bool| {
            if closed {
                Stdio::piped()
            } else {
                Stdio::null()
            }
        };
        command
            .stdout(pipe(stdout_closed))
            .stderr(pipe(!stdout_closed));
        let mut child = command.spawn().expect("the affrel binary runs");
        // Dropping the read end closes the pipe before affrel writes to it.
        drop(child.stdout.take());
        drop(child.stderr.take());
        child.wait().expect("affrel exits").code()
    };
    let broken = fixture("duplicate_id");
    let errors = exit_with_closed(
        &["check", "--root", path_arg(&broken), "--as-of", AS_OF],
        false,
    );
    assert_eq!(errors, Some(1));
    let demo = env!("CARGO_MANIFEST_DIR");
    let agenda = exit_with_closed(&["agenda", "--root", demo, "--as-of", AS_OF], true);
    assert_eq!(agenda, Some(0));
    let check = exit_with_closed(&["check", "--root", demo, "--as-of", AS_OF], true);
    assert_eq!(check, Some(0));
}

// A successful rebuild replaces the output whole: files no longer produced disappear.
#[test]
fn rebuild_replaces_stale_files_and_leaves_no_temporary_folders() {
    let project = copy_of("valid");
    let out = project.path().join("site");
    assert_success(&build(project.path(), &out));
    fs::write(out.join("stale.txt"), "left over").expect("writable file");
    assert_success(&build(project.path(), &out));
    assert!(!out.join("stale.txt").exists());
    assert_eq!(names(project.path()), ["content", "site"]);
}

/// Builds into `out` (as given, relative to `cwd`) and asserts it is refused without
/// writing anything anywhere under `watch`.
fn assert_out_refused(cwd: &Path, root: &str, out: &str, watch: &Path, reason: &str) {
    let before = tree(watch);
    let before_names = names(watch);
    let output =
        run(affrel(&["build", "--root", root, "--out", out, "--as-of", AS_OF]).current_dir(cwd));
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "--out {out}: {stderr}");
    assert!(
        stderr.contains("refusing to write the output here") && stderr.contains(reason),
        "--out {out}: {stderr}"
    );
    assert!(tree(watch) == before, "--out {out} wrote something");
    assert_eq!(names(watch), before_names, "--out {out} created something");
}

// --out may not be or contain the root, content/ or templates/, however it is spelt.
#[test]
fn build_refuses_an_out_that_overlaps_the_sources() {
    let parent = tempfile::tempdir().expect("temporary folder");
    let root = parent.path().join("project");
    for (relative, bytes) in tree(&fixture("valid")) {
        let path = root.join(relative);
        fs::create_dir_all(path.parent().expect("has a parent")).expect("creatable folder");
        fs::write(path, bytes).expect("writable file");
    }
    fs::create_dir_all(root.join("templates")).expect("creatable folder");
    fs::write(root.join("templates/README.txt"), "keep").expect("writable file");
    let watch = parent.path();

    let root_arg = path_arg(&root).to_owned();
    let cases = [
        (".", "is or contains the project root"),
        ("..", "is or contains the project root"),
        ("content", "is or contains the content/ folder"),
        ("content/referrals/out", "is inside the content/ folder"),
        ("output/../content", "is or contains the content/ folder"),
        ("templates", "is or contains the templates/ folder"),
    ];
    for (out, reason) in cases {
        // Relative to the current directory, which is the root.
        assert_out_refused(&root, ".", out, watch, reason);
        // Absolute, with an absolute root.
        let absolute = root.join(out);
        assert_out_refused(watch, &root_arg, path_arg(&absolute), watch, reason);
    }
}

// templates/ is refused even when the project has none yet.
#[test]
fn build_refuses_templates_folder_that_does_not_exist_yet() {
    let project = copy_of("valid");
    let out = project.path().join("templates");
    assert_out_refused(
        project.path(),
        ".",
        "templates",
        project.path(),
        "templates/ folder",
    );
    assert!(!out.exists());
}

// `..` in --out is resolved against real folders: the output lands where the path points
// and no folder is created along the way.
#[test]
fn build_resolves_dot_dot_in_out() {
    let project = copy_of("valid");
    let output = run(
        affrel(&["build", "--out", "site/../public", "--as-of", AS_OF]).current_dir(project.path()),
    );
    assert_success(&output);
    assert!(project.path().join("public/report.json").is_file());
    assert_eq!(names(project.path()), ["content", "public"]);
}

// clap's own consistency checks on the argument definitions.
#[test]
fn command_line_definition_is_consistent() {
    use clap::CommandFactory;
    affrel::cli::Cli::command().debug_assert();
}

// Deeply nested brackets are refused before parsing: the YAML parser's time grows with the
// square of the depth, so 100 000 levels would otherwise take minutes.
#[test]
fn errors_quickly_on_deeply_nested_brackets() {
    let project = copy_of("valid");
    let depth = 100_000;
    let text = format!(
        "name: Alice Walker\nnotes: {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    fs::write(project.path().join("content/referrals/alice.yaml"), text).expect("writable file");
    let stderr = check_invalid_root(project.path(), "content/referrals/alice.yaml:2:72");
    insta::assert_snapshot!(stderr);
}

// A UTF-8 byte-order mark, as some Windows editors write, is not content.
#[test]
fn accepts_a_byte_order_mark() {
    let project = copy_of("valid");
    let path = project.path().join("content/referrals/ben.yaml");
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    bytes.extend(fs::read(&path).expect("readable file"));
    fs::write(&path, bytes).expect("writable file");
    let output = run(&mut affrel(&[
        "check",
        "--root",
        path_arg(project.path()),
        "--as-of",
        AS_OF,
    ]));
    assert_success(&output);
}

// A file name that is not UTF-8 is reported, not unwrapped.
#[cfg(unix)]
#[test]
fn errors_when_a_referral_file_name_is_not_utf8() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let project = copy_of("valid");
    let name = OsStr::from_bytes(b"caf\xe9.yaml");
    let referrals = project.path().join("content/referrals");
    fs::copy(referrals.join("ben.yaml"), referrals.join(name)).expect("copyable file");
    let stderr = check_invalid_root(project.path(), "content/referrals/caf\u{fffd}.yaml");
    assert!(stderr.contains("not valid UTF-8"));
}

// An --out that is a symbolic link into content/ is refused like content/ itself.
#[cfg(unix)]
#[test]
fn build_refuses_an_out_that_links_into_content() {
    let project = copy_of("valid");
    let link = project.path().join("output");
    std::os::unix::fs::symlink(project.path().join("content/referrals"), &link)
        .expect("creatable link");
    let before = tree(&project.path().join("content"));
    let output = run(&mut affrel(&[
        "build",
        "--root",
        path_arg(project.path()),
        "--as-of",
        AS_OF,
    ]));
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("is inside the content/ folder"));
    assert!(tree(&project.path().join("content")) == before);
    assert_eq!(names(project.path()), ["content", "output"]);
}

// An --out that is an existing file is refused, and the file kept.
#[test]
fn build_refuses_an_out_that_is_a_file() {
    let project = copy_of("valid");
    let out = project.path().join("report.txt");
    fs::write(&out, "mine").expect("writable file");
    let output = build(project.path(), &out);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("exists and is not a folder"));
    assert_eq!(fs::read_to_string(&out).expect("readable file"), "mine");
}

// A folder holding someone else's files (a Pages checkout, a CNAME) is never replaced.
#[test]
fn build_refuses_to_replace_a_folder_that_is_not_affrel_output() {
    let project = copy_of("valid");
    let out = project.path().join("site");
    fs::create_dir_all(out.join(".git")).expect("writable folder");
    fs::write(out.join("CNAME"), "reports.example.com").expect("writable file");
    let output = build(project.path(), &out);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("no report.json"));
    assert!(out.join(".git").is_dir());
    assert_eq!(
        fs::read_to_string(out.join("CNAME")).expect("readable file"),
        "reports.example.com"
    );
    // An empty folder, or an earlier build, is fine.
    let empty = project.path().join("empty");
    fs::create_dir_all(&empty).expect("writable folder");
    assert!(build(project.path(), &empty).status.success());
    assert!(build(project.path(), &empty).status.success());
}

// Problems of every kind in one file are all reported in one run: an unknown key, a missing
// key, a value of the wrong shape, and the checks of the values that are there.
#[test]
fn reports_every_problem_of_one_file_at_once() {
    let project = copy_of("valid");
    fs::write(
        project.path().join("content/referrals/mixed.yaml"),
        "name: Mixed Up\nnotse: typo\nprogram: acmee\nreferred_on: 2026-13-10\ntags: 5\nevents:\n  - { date: 2026-11-31, type: welcom_sent }\n  - { type: nudge_sent, interest: low, colour: red }\n  - { date: 2026-11-03, type: sale, amount: abc }\n",
    )
    .expect("writable file");
    let stderr = check_invalid_root(project.path(), "content/referrals/mixed.yaml:1:1");
    let located: Vec<&str> = stderr
        .lines()
        .filter_map(|line| line.split(": error: ").next())
        .filter(|place| place.starts_with("content/referrals/mixed.yaml"))
        .collect();
    assert_eq!(
        located,
        [
            "content/referrals/mixed.yaml:1:1",
            "content/referrals/mixed.yaml:2:1",
            "content/referrals/mixed.yaml:3:10",
            "content/referrals/mixed.yaml:4:14",
            "content/referrals/mixed.yaml:5:7",
            "content/referrals/mixed.yaml:7:13",
            "content/referrals/mixed.yaml:7:31",
            "content/referrals/mixed.yaml:8:3",
            "content/referrals/mixed.yaml:8:35",
            "content/referrals/mixed.yaml:8:40",
            "content/referrals/mixed.yaml:9:45",
        ],
        "{stderr}"
    );
}

// An event before the referral date is a typo, not history: it would skew the metrics.
#[test]
fn errors_when_an_event_is_dated_before_the_referral() {
    let project = copy_of("valid");
    fs::write(
        project.path().join("content/referrals/early.yaml"),
        "name: Early Bird\nemail: early@example.com\nprogram: acme\nreferred_on: 2026-10-01\nevents:\n  - { date: 2026-09-30, type: sale, amount: 10 }\n",
    )
    .expect("writable file");
    let stderr = check_invalid_root(project.path(), "content/referrals/early.yaml:6:13");
    assert!(
        stderr.contains("before `referred_on` (2026-10-01)"),
        "{stderr}"
    );
}

/// Each output file's inode and modification time.
#[cfg(unix)]
fn identities(out: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt as _;
    tree(out)
        .into_keys()
        .map(|relative| {
            let metadata = fs::metadata(out.join(&relative)).expect("output file");
            let modified = metadata.modified().expect("modification time");
            (relative, (metadata.ino(), modified))
        })
        .collect()
}

// A rebuild of unchanged content rewrites no file; after a change, only the files whose
// bytes changed are new, and the others keep their inode and modification time.
#[cfg(unix)]
#[test]
fn rebuild_rewrites_only_the_files_that_changed() {
    let project = copy_of("valid");
    let out = project.path().join("output");
    assert_success(&build(project.path(), &out));
    let first = identities(&out);
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_success(&build(project.path(), &out));
    assert_eq!(identities(&out), first);

    let template = project.path().join("content/emails/welcome.md");
    let edited = fs::read_to_string(&template)
        .unwrap()
        .replace("Hi ", "Hello ");
    fs::write(&template, edited).unwrap();
    assert_success(&build(project.path(), &out));
    let second = identities(&out);
    let (changed, kept): (Vec<_>, Vec<_>) = second
        .iter()
        .partition(|(path, identity)| first.get(*path) != Some(identity));
    // The welcome emails changed, and the pages that show them; nothing else.
    assert!(
        changed
            .iter()
            .all(|(path, _)| path.starts_with("emails") || path.ends_with("index.html")),
        "{changed:?}"
    );
    assert!(
        changed
            .iter()
            .any(|(path, _)| path.to_string_lossy().ends_with("--welcome.eml"))
    );
    assert!(
        kept.iter()
            .any(|(path, _)| path == &&PathBuf::from("report.json"))
    );
    assert!(
        kept.iter()
            .any(|(path, _)| path.starts_with("weeks/2026-W46"))
    );
}

// Archived weeks leave out the per-person table (their report.json keeps everyone), so the
// archive does not repeat the whole table once per week.
#[test]
fn archived_weeks_link_to_their_data_instead_of_repeating_everyone() {
    let project = copy_of("valid");
    let out = project.path().join("output");
    assert_success(&build(project.path(), &out));
    let current = fs::read_to_string(out.join("index.html")).unwrap();
    assert!(current.contains("id=\"people\""));
    let archived = fs::read_to_string(out.join("weeks/2026-W47/index.html")).unwrap();
    assert!(!archived.contains("id=\"people\""));
    assert!(archived.contains("<a href=\"report.json\">this week's report.json</a>"));
    let week: Value =
        serde_json::from_slice(&fs::read(out.join("weeks/2026-W47/report.json")).unwrap()).unwrap();
    assert!(!week["affiliates"].as_array().unwrap().is_empty());
}
