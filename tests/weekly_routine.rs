//! `affrel weekly`, the Monday routine in one command, against real servers the tests start
//! on 127.0.0.1; and the unattended workflow that `init` writes, its shell steps run against
//! a local bare git repository. The demo project, as of 2026-11-24, has ten emails due.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use imap::types::Flag;

mod common;
mod servers;

use common::{assert_exit, demo, run_in, text};
use servers::project::{Setup, project, record, record_path, records, run, seen};
use servers::{Dovecot, SmtpOptions, TestCa, free_port, start_both};

/// A message from `from` to `to` on 2026-11-24.
fn message(from: &str, to: &str, subject: &str, id: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Tue, 24 Nov 2026 15:00:00 +0000\r\nMessage-ID: {id}\r\n\r\nHello.\r\n"
    )
    .into_bytes()
}

/// Wei's follow-up, sent from a phone, and a reply from Amara.
fn seed(dovecot: &Dovecot) {
    let sam = "Sam Rivera <sam@example.com>";
    dovecot.append(
        "Sent",
        &message(
            sam,
            "Wei Chen <wei.chen@example.com>",
            "How is it going, Wei?",
            "<phone-1@phone.example>",
        ),
        &[Flag::Seen],
    );
    dovecot.append(
        "INBOX",
        &message(
            "Amara <amara@example.com>",
            sam,
            "Re: your tips",
            "<r-1@mail.example>",
        ),
        &[],
    );
}

/// The recipients of the drafts in the drafts folder.
fn drafted_to(dovecot: &Dovecot) -> Vec<String> {
    let mut to: Vec<String> = dovecot
        .messages("Drafts")
        .iter()
        .map(|(_, bytes)| seen(bytes).1)
        .collect();
    to.sort();
    to
}

/// The addresses of the emails `agenda --json` says are due this week.
fn due_addresses(root: &Path) -> Vec<String> {
    let agenda = run(root, &["agenda", "--json"]);
    assert_exit(&agenda, 0);
    let items: serde_json::Value = serde_json::from_slice(&agenda.stdout).unwrap();
    let with_email: BTreeSet<String> = items
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| !item["email"].is_null())
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect();
    let mut addresses: Vec<String> = with_email
        .iter()
        .map(|id| record(root, id)["email"].as_str().unwrap().to_owned())
        .collect();
    addresses.sort();
    addresses
}

/// A referral's entry in the built `report.json`.
fn in_report(root: &Path, id: &str) -> serde_json::Value {
    let report: serde_json::Value =
        serde_json::from_slice(&fs::read(root.join("output/report.json")).unwrap()).unwrap();
    report["affiliates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .cloned()
        .expect("in the report")
}

// A follow-up sent from a phone and a reply in the inbox: `weekly` records both, builds a
// report that shows them, drafts only what is still due, prints one line per step and then
// the agenda. A second run changes nothing.
#[test]
fn weekly_records_builds_and_drafts_what_is_still_due() {
    let Some((ca, dovecot, smtp)) = start_both(&SmtpOptions::default()) else {
        return;
    };
    let dir = project(&ca, &Setup::new(&dovecot, smtp.port));
    let root = dir.path();
    assert_eq!(
        in_report_after_build(root, "wei-chen")["next_action"]["kind"],
        "follow_up"
    );
    seed(&dovecot);

    let output = run(root, &["weekly"]);
    assert_exit(&output, 0);
    let stderr = text(&output.stderr);
    assert!(
        stderr
            .contains("synced since 2026-10-25: recorded 1 sent email and 1 reply for 2 referrals"),
        "{stderr}"
    );
    assert!(stderr.contains("built "), "{stderr}");
    assert!(stderr.contains("drafts in Drafts: "), "{stderr}");
    let stdout = text(&output.stdout);
    assert!(stdout.starts_with("Week 2026-W48"), "{stdout}");

    let wei = find_record(root, "wei-chen").unwrap();
    assert!(wei.contains("<phone-1@phone.example>"), "{wei}");
    assert!(
        find_record(root, "amara-okafor")
            .unwrap()
            .contains("<r-1@mail.example>")
    );
    assert_ne!(
        in_report(root, "wei-chen")["next_action"]["kind"],
        "follow_up",
        "the report knows the follow-up went"
    );
    let drafted = drafted_to(&dovecot);
    assert!(
        !drafted.iter().any(|to| to.contains("wei.chen")),
        "{drafted:?}"
    );
    assert_eq!(
        drafted
            .iter()
            .map(|to| to
                .rsplit('<')
                .next()
                .unwrap()
                .trim_end_matches('>')
                .to_owned())
            .collect::<Vec<_>>(),
        due_addresses(root),
        "a draft for each email still due, and no other"
    );

    let records_before = records(root);
    let drafts_before = dovecot.messages("Drafts");
    let index_before = fs::read(root.join("output/index.html")).unwrap();
    let again = run(root, &["weekly"]);
    assert_exit(&again, 0);
    let stderr = text(&again.stderr);
    assert!(
        stderr.contains("nothing new (2 already recorded)"),
        "{stderr}"
    );
    assert!(stderr.contains("0 added"), "{stderr}");
    assert_eq!(records(root), records_before);
    assert_eq!(dovecot.messages("Drafts"), drafts_before);
    assert_eq!(
        fs::read(root.join("output/index.html")).unwrap(),
        index_before
    );
}

/// Builds the project and reads a referral's entry in its `report.json`.
fn in_report_after_build(root: &Path, id: &str) -> serde_json::Value {
    assert_exit(&run(root, &["build"]), 0);
    in_report(root, id)
}

/// The text of a referral's record, wherever it is.
fn find_record(root: &Path, id: &str) -> std::io::Result<String> {
    fs::read_to_string(record_path(root, id))
}

// With the mailbox down, `weekly` still builds the report and prints the agenda, then exits
// 1 naming the step that failed; the drafts step does not run on records that may lack what
// was sent.
#[test]
fn with_the_mailbox_down_weekly_still_builds() {
    let ca = TestCa::new();
    let Some(dovecot) = Dovecot::start(&ca) else {
        return;
    };
    let setup = Setup {
        imap_port: free_port(),
        ..Setup::new(&dovecot, free_port())
    };
    let dir = project(&ca, &setup);
    let root = dir.path();
    let before = records(root);
    let output = run(root, &["weekly"]);
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("cannot connect"), "{stderr}");
    assert!(stderr.contains("sync: failed"), "{stderr}");
    assert!(stderr.contains("drafts: skipped"), "{stderr}");
    assert!(
        stderr.contains("error: sync and drafts did not run to the end"),
        "{stderr}"
    );
    assert!(stderr.contains("built "), "{stderr}");
    assert!(root.join("output/index.html").is_file());
    assert!(text(&output.stdout).starts_with("Week 2026-W48"));
    assert_eq!(records(root), before);
}

// Without `mail:`, `weekly` is `build` plus the agenda: the same files and the same agenda.
#[test]
fn without_mail_weekly_is_build_and_agenda() {
    let dir = demo();
    let root = dir.path();
    // A second record with Wei's address: one warning, which is printed once.
    fs::write(
        root.join("content/referrals/wei-again.yaml"),
        "name: Wei Again\nemail: wei.chen@example.com\nprogram: inkwell\nreferred_on: 2026-11-01\n",
    )
    .unwrap();
    let out = |name: &str| root.join(name).to_str().unwrap().to_owned();
    let weekly = run_in(root, &["weekly"]);
    assert_exit(&weekly, 0);
    let stderr = text(&weekly.stderr);
    assert!(stderr.contains("built "), "{stderr}");
    assert!(!stderr.contains("sync"), "{stderr}");
    assert_eq!(stderr.matches("warning:").count(), 1, "{stderr}");
    let build = run_in(root, &["build", "--out", &out("build-out")]);
    assert_exit(&build, 0);
    for file in ["index.html", "report.json", "report.csv"] {
        assert_eq!(
            fs::read(root.join("output").join(file)).unwrap(),
            fs::read(root.join("build-out").join(file)).unwrap(),
            "{file}"
        );
    }
    let agenda = run_in(root, &["agenda"]);
    assert_eq!(text(&weekly.stdout), text(&agenda.stdout));

    // The agenda names the email files where this run wrote them, and none in a public build.
    let elsewhere = run_in(root, &["weekly", "--out", &out("elsewhere")]);
    assert_exit(&elsewhere, 0);
    let listed = text(&elsewhere.stdout);
    let first = listed
        .split(" · ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .expect("an email file");
    assert!(first.starts_with(&out("elsewhere")), "{first}");
    assert!(Path::new(first).is_file(), "{first}");
    let public = run_in(root, &["weekly", "--public", "--out", &out("public-out")]);
    assert_exit(&public, 0);
    assert!(!root.join("public-out/emails").exists());
    assert!(
        !text(&public.stdout).contains(".eml"),
        "{}",
        text(&public.stdout)
    );
}

// A content error stops everything, as it stops `build`: the mailbox is not touched, the
// previous output stays, exit 1.
#[test]
fn a_content_error_stops_weekly_before_the_mailbox() {
    let ca = TestCa::new();
    let Some(dovecot) = Dovecot::start(&ca) else {
        return;
    };
    let dir = project(&ca, &Setup::new(&dovecot, free_port()));
    let root = dir.path();
    assert_exit(&run(root, &["build"]), 0);
    let index = fs::read(root.join("output/index.html")).unwrap();
    let tom = root.join("content/referrals/2026-autumn/tom-becker.yaml");
    let record = fs::read_to_string(&tom).unwrap();
    fs::write(&tom, record.replacen("email:", "emial:", 1)).unwrap();
    let output = run(root, &["weekly"]);
    assert_exit(&output, 1);
    assert!(text(&output.stderr).contains("tom-becker.yaml"));
    assert!(dovecot.messages("Drafts").is_empty());
    assert_eq!(fs::read(root.join("output/index.html")).unwrap(), index);
}

/// The steps of the job that `init`'s workflow runs every week, by id.
fn workflow_step(id: &str) -> String {
    let workflow: serde_yaml::Value = serde_yaml::from_str(
        &fs::read_to_string(common::repo().join("src/init/weekly-report.yml")).unwrap(),
    )
    .unwrap();
    workflow["jobs"]["build"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|step| step["id"] == id)
        .and_then(|step| step["run"].as_str())
        .unwrap_or_else(|| panic!("a step with id {id}"))
        .to_owned()
}

// Every shell step of the workflow passes shellcheck, each `${{ … }}` read as a variable, as
// actionlint checks them where shellcheck is installed beside it.
#[test]
fn the_workflows_shell_steps_pass_shellcheck() {
    if Command::new("shellcheck")
        .arg("--version")
        .output()
        .is_err()
    {
        let _: Option<()> = servers::missing("shellcheck is not installed");
        return;
    }
    let workflow: serde_yaml::Value = serde_yaml::from_str(
        &fs::read_to_string(common::repo().join("src/init/weekly-report.yml")).unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for job in workflow["jobs"].as_mapping().unwrap().values() {
        for step in job["steps"].as_sequence().unwrap() {
            let Some(script) = step["run"].as_str() else {
                continue;
            };
            let script = expressions_as_variables(script);
            let mut shellcheck = Command::new("shellcheck")
                .args(["--shell=bash", "--norc", "-"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            std::io::Write::write_all(&mut shellcheck.stdin.take().unwrap(), script.as_bytes())
                .unwrap();
            let output = shellcheck.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "{script}\n{}",
                text(&output.stdout)
            );
            checked += 1;
        }
    }
    assert!(checked >= 6, "{checked} steps");
}

/// A step's script with each `${{ … }}` expression replaced by a variable, as the runner
/// substitutes a value.
fn expressions_as_variables(script: &str) -> String {
    let mut out = String::new();
    let mut rest = script;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("}}")
            .map_or(rest.len(), |e| start + e + 2);
        out.push_str("${EXPRESSION}");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Runs a workflow step's shell script as GitHub's runner does (`bash -eo pipefail`), in
/// `dir`, with affrel on the PATH.
fn run_step(id: &str, dir: &Path, env: &[(&str, &str)]) -> Output {
    let script = workflow_step(id);
    let bin = Path::new(env!("CARGO_BIN_EXE_affrel")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let mut command = Command::new("bash");
    command
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script])
        .current_dir(dir)
        .env("PATH", path)
        .env("SOURCE_DATE_EPOCH", common::TODAY)
        .env("AFFREL_MAIL_TIMEOUT", "10")
        .env("GITHUB_REF_NAME", "main")
        .env_remove("AFFREL_MAIL_PASSWORD");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Sam")
        .env("GIT_AUTHOR_EMAIL", "sam@example.com")
        .env("GIT_COMMITTER_NAME", "Sam")
        .env("GIT_COMMITTER_EMAIL", "sam@example.com")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

// The workflow's choice: the mailbox only on the schedule or by hand, and only with a mail
// secret; otherwise it only builds, as before.
#[test]
fn the_workflow_uses_the_mailbox_only_when_scheduled_with_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let decide = |env: &[(&str, &str)]| {
        let outputs = tempfile::NamedTempFile::new().unwrap();
        let mut all = env.to_vec();
        let file = outputs.path().to_str().unwrap().to_owned();
        all.push(("GITHUB_OUTPUT", &file));
        assert_exit(&run_step("mode", dir.path(), &all), 0);
        fs::read_to_string(outputs.path()).unwrap()
    };
    let password = ("HAS_MAIL_SECRET", "true");
    let schedule = ("GITHUB_EVENT_NAME", "schedule");
    assert_eq!(decide(&[schedule]), "mailbox=false\n");
    assert_eq!(
        decide(&[schedule, ("HAS_MAIL_SECRET", "false")]),
        "mailbox=false\n"
    );
    assert_eq!(
        decide(&[("GITHUB_EVENT_NAME", "push"), password]),
        "mailbox=false\n"
    );
    assert_eq!(decide(&[schedule, password]), "mailbox=true\n");
    assert_eq!(
        decide(&[
            ("GITHUB_EVENT_NAME", "workflow_dispatch"),
            ("HAS_MAIL_SECRET", "true")
        ]),
        "mailbox=true\n"
    );
}

/// Puts the project in a git repository pushed to a bare one that stands in for GitHub, and
/// clones that as the job's checkout: (the bare repository, the checkout's parent).
fn published(root: &Path) -> (tempfile::TempDir, tempfile::TempDir) {
    let origin = tempfile::tempdir().unwrap();
    let origin_path = origin.path().to_str().unwrap();
    git(
        origin.path(),
        &["init", "--quiet", "--bare", "--initial-branch=main"],
    );
    fs::write(root.join(".gitignore"), "output/\n.*.affrel-lock\n").unwrap();
    git(root, &["init", "--quiet", "--initial-branch=main"]);
    git(root, &["add", "."]);
    git(root, &["commit", "--quiet", "-m", "My referrals"]);
    git(root, &["remote", "add", "origin", origin_path]);
    git(root, &["push", "--quiet", "origin", "main"]);
    let clone = tempfile::tempdir().unwrap();
    git(clone.path(), &["clone", "--quiet", origin_path, "work"]);
    (origin, clone)
}

// The workflow's shell steps, run against a bare repository standing in for GitHub and the
// test servers: `weekly` records what the mailbox shows, keeps the agenda out of the log, and
// the commit step pushes exactly the changed records, by the bot; run again, nothing is
// committed.
#[test]
fn the_workflow_commits_new_records_once() {
    let Some((ca, dovecot, smtp)) = start_both(&SmtpOptions::default()) else {
        return;
    };
    let dir = project(&ca, &Setup::new(&dovecot, smtp.port));
    let (origin, clone) = published(dir.path());
    let work = clone.path().join("work");

    seed(&dovecot);
    let secret = [("AFFREL_MAIL_PASSWORD", servers::PASSWORD)];
    let weekly = run_step("weekly", &work, &secret);
    assert_exit(&weekly, 0);
    assert!(
        text(&weekly.stdout).is_empty(),
        "the agenda stays out of the log"
    );
    assert!(work.join("output/index.html").is_file());
    // Meanwhile someone pushes to the branch: the records go on top of it, never forced.
    fs::write(dir.path().join("NOTES.md"), "Call Ana on Friday.\n").unwrap();
    git(dir.path(), &["add", "NOTES.md"]);
    git(dir.path(), &["commit", "--quiet", "-m", "A note"]);
    git(dir.path(), &["push", "--quiet", "origin", "main"]);
    let commit = run_step("commit", &work, &[]);
    assert_exit(&commit, 0);
    let log = git(origin.path(), &["log", "--format=%an|%s", "main"]);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert_eq!(lines[1], "Sam|A note", "{log}");
    assert!(lines[0].starts_with("github-actions[bot]|"), "{log}");
    assert!(
        lines[0].contains("Record what the mailbox showed on "),
        "{log}"
    );
    let changed = git(origin.path(), &["show", "--name-only", "--format=", "main"]);
    let mut changed: Vec<&str> = changed.lines().collect();
    changed.sort_unstable();
    assert_eq!(
        changed,
        [
            "content/referrals/amara-okafor.yaml",
            "content/referrals/wei-chen.yaml"
        ],
        "only the records sync changed"
    );

    let again = run_step("weekly", &work, &secret);
    assert_exit(&again, 0);
    let commit = run_step("commit", &work, &[]);
    assert_exit(&commit, 0);
    assert!(
        text(&commit.stdout).contains("nothing new to commit"),
        "{}",
        text(&commit.stdout)
    );
    assert_eq!(
        git(origin.path(), &["rev-list", "--count", "main"]).trim(),
        "3",
        "no commit when nothing changed"
    );
}
