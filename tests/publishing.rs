//! Publishing: `--public` privacy, the week archive, the feed, calendar and CSV exports,
//! `affrel init`, and the git provenance line — all through the real binary.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const DEMO_DATE: &str = "2026-11-24";

fn demo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn affrel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_affrel"))
        .args(args)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .expect("affrel runs")
}

fn build(root: &Path, out: &Path, extra: &[&str]) -> Output {
    build_as_of(root, out, DEMO_DATE, extra)
}

/// Builds `root` into `out` as of `date`, asserting success.
fn build_as_of(root: &Path, out: &Path, date: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "build",
        "--root",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--as-of",
        date,
    ];
    args.extend_from_slice(extra);
    let output = affrel(&args);
    assert!(
        output.status.success(),
        "build failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Every file under `dir`, relative to it.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    files.sort();
    files
}

/// The personal strings of every demo record: names, emails, ids, motivations and notes.
fn demo_personal_strings() -> BTreeSet<String> {
    let mut strings = BTreeSet::new();
    let referrals = demo_root().join("content/referrals");
    let mut stack = vec![referrals];
    while let Some(folder) = stack.pop() {
        for entry in fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let id = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let record: serde_yaml::Value =
                serde_yaml::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
            strings.insert(id);
            for key in ["name", "email", "motivation", "notes"] {
                if let Some(text) = record.get(key).and_then(|v| v.as_str()) {
                    strings.insert(text.to_owned());
                }
            }
            for event in record
                .get("events")
                .and_then(|e| e.as_sequence())
                .into_iter()
                .flatten()
            {
                if let Some(note) = event.get("note").and_then(|v| v.as_str()) {
                    strings.insert(note.to_owned());
                }
            }
        }
    }
    strings
}

/// How a string may look once written into HTML, JSON or XML.
fn encodings(text: &str) -> Vec<String> {
    let html = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    vec![
        text.to_owned(),
        html.replace('\'', "&#x27;"),
        html.replace('\'', "&#39;"),
        html.replace('\'', "&apos;"),
        serde_json::to_string(text)
            .unwrap()
            .trim_matches('"')
            .to_owned(),
    ]
}

// A public report carries no name, email, id, motivation or note of any record, anywhere.
#[test]
fn public_build_leaks_no_personal_data() {
    let out = tempfile::tempdir().unwrap();
    build(&demo_root(), out.path(), &["--public"]);
    let personal = demo_personal_strings();
    assert!(
        personal.len() > 50,
        "the demo should have many personal strings"
    );
    for relative in tree(out.path()) {
        let text =
            String::from_utf8_lossy(&fs::read(out.path().join(&relative)).unwrap()).into_owned();
        let name = relative.to_string_lossy().into_owned();
        for secret in &personal {
            assert!(!name.contains(secret.as_str()), "{name} names {secret}");
            for encoded in encodings(secret) {
                assert!(
                    !text.contains(&encoded),
                    "{name} contains personal data: {encoded}"
                );
            }
        }
        assert!(!text.contains("mailto:"), "{name} has a mailto link");
        let address = text
            .as_bytes()
            .windows(2)
            .any(|pair| pair[0].is_ascii_alphanumeric() && pair[1] == b'@');
        assert!(!address, "{name} contains an email address");
    }
}

// A public report has no emails folder, calendar or spreadsheet, but keeps the report.
#[test]
fn public_build_writes_no_emails_calendar_or_spreadsheet() {
    let out = tempfile::tempdir().unwrap();
    build(&demo_root(), out.path(), &["--public"]);
    let files = tree(out.path());
    assert!(files.iter().all(|f| !f.starts_with("emails")));
    for absent in ["agenda.ics", "report.csv"] {
        assert!(!files.contains(&PathBuf::from(absent)), "{absent} written");
    }
    for present in ["index.html", "report.json", "feed.xml"] {
        assert!(files.contains(&PathBuf::from(present)), "{present} missing");
    }
}

fn report_json(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(dir.join("report.json")).unwrap()).unwrap()
}

// Pseudonyms are `r-` and 8 hex digits, the same every week, and null names.
#[test]
fn public_pseudonyms_are_stable_across_weeks() {
    let this_week = tempfile::tempdir().unwrap();
    let next_week = tempfile::tempdir().unwrap();
    build(&demo_root(), this_week.path(), &["--public"]);
    build_as_of(&demo_root(), next_week.path(), "2026-12-01", &["--public"]);
    let ids = |dir: &Path| -> BTreeSet<String> {
        report_json(dir)["affiliates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                assert!(a["name"].is_null());
                let id = a["id"].as_str().unwrap().to_owned();
                assert!(id.len() == 10 && id.starts_with("r-"), "{id}");
                assert!(id[2..].bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
                id
            })
            .collect()
    };
    let now = ids(this_week.path());
    assert_eq!(now.len(), 31);
    assert!(now.is_subset(&ids(next_week.path())));
}

/// Copies the demo project (content only) into a fresh folder.
fn copy_demo(into: &Path) {
    let mut stack = vec![PathBuf::from("content")];
    while let Some(relative) = stack.pop() {
        let source = demo_root().join(&relative);
        fs::create_dir_all(into.join(&relative)).unwrap();
        for entry in fs::read_dir(&source).unwrap() {
            let name = entry.unwrap().file_name();
            let child = relative.join(&name);
            if demo_root().join(&child).is_dir() {
                stack.push(child);
            } else {
                fs::copy(demo_root().join(&child), into.join(&child)).unwrap();
            }
        }
    }
}

// The salt is what keeps pseudonyms unguessable: another salt gives other pseudonyms.
#[test]
fn pseudonyms_depend_on_the_salt() {
    let root = tempfile::tempdir().unwrap();
    copy_demo(root.path());
    let first = tempfile::tempdir().unwrap();
    build(root.path(), first.path(), &["--public"]);
    let config = root.path().join("content/config.yaml");
    let text = fs::read_to_string(&config).unwrap();
    let salted = text.replace("pseudonym_salt: ", "pseudonym_salt: other");
    assert_ne!(text, salted);
    fs::write(&config, salted).unwrap();
    let second = tempfile::tempdir().unwrap();
    build(root.path(), second.path(), &["--public"]);
    let first_ids = report_json(first.path())["affiliates"][0]["id"].clone();
    let second_ids = report_json(second.path())["affiliates"][0]["id"].clone();
    assert_ne!(first_ids, second_ids);
}

// Without a salt a public build still works, with one warning naming the config.
#[test]
fn public_build_without_salt_warns() {
    let root = tempfile::tempdir().unwrap();
    copy_demo(root.path());
    let config = root.path().join("content/config.yaml");
    let text: String = fs::read_to_string(&config)
        .unwrap()
        .lines()
        .filter(|line| !line.contains("pseudonym_salt"))
        .flat_map(|line| [line, "\n"])
        .collect();
    fs::write(&config, text).unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = build(root.path(), out.path(), &["--public"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("content/config.yaml: warning:") && stderr.contains("pseudonym_salt"),
        "{stderr}"
    );
}

// Each history week and the current week get an archived page and report.
#[test]
fn archive_has_a_page_per_week_with_neighbour_links() {
    let out = tempfile::tempdir().unwrap();
    build(&demo_root(), out.path(), &[]);
    let report = report_json(out.path());
    let weeks: Vec<&str> = report["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["week"].as_str().unwrap())
        .collect();
    assert_eq!(weeks.len(), 13);
    let index = fs::read_to_string(out.path().join("index.html")).unwrap();
    for (i, week) in weeks.iter().enumerate() {
        let page = out.path().join(format!("weeks/{week}/index.html"));
        let html = fs::read_to_string(&page).unwrap();
        assert!(
            index.contains(&format!("weeks/{week}/index.html")),
            "{week}"
        );
        if i > 0 {
            assert!(html.contains(&format!("weeks/{}/index.html", weeks[i - 1])));
        }
        let archived: serde_json::Value = serde_json::from_slice(
            &fs::read(out.path().join(format!("weeks/{week}/report.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(archived["week"], *week);
    }
    // A past week is replayed at its Sunday.
    let w47: serde_json::Value =
        serde_json::from_slice(&fs::read(out.path().join("weeks/2026-W47/report.json")).unwrap())
            .unwrap();
    assert_eq!(w47["as_of"], "2026-11-22");
    // Only the current week has emails.
    assert!(
        w47["affiliates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["next_action"].is_null() || a["next_action"]["email"].is_null())
    );
}

// The feed is valid Atom with one entry per week and ids that do not change between builds.
#[test]
fn feed_is_valid_atom_with_stable_entry_ids() {
    let this_week = tempfile::tempdir().unwrap();
    let next_week = tempfile::tempdir().unwrap();
    build(&demo_root(), this_week.path(), &[]);
    build_as_of(&demo_root(), next_week.path(), "2026-12-01", &[]);
    let read = |dir: &Path| {
        let bytes = fs::read(dir.join("feed.xml")).unwrap();
        atom_syndication::Feed::read_from(&bytes[..]).expect("valid Atom")
    };
    let now = read(this_week.path());
    let later = read(next_week.path());
    assert_eq!(now.entries().len(), 13);
    let entry = |feed: &atom_syndication::Feed, title: &str| {
        feed.entries()
            .iter()
            .find(|e| e.title().as_str() == title)
            .map(|e| e.id().to_owned())
    };
    assert_eq!(entry(&now, "Week 2026-W47"), entry(&later, "Week 2026-W47"));
    assert!(entry(&now, "Week 2026-W48").is_some());
    let summary = now.entries()[0].summary().unwrap().as_str().to_owned();
    assert!(summary.contains("actions due"), "{summary}");
}

/// The unfolded content lines of an iCalendar file.
fn ics_lines(text: &str) -> Vec<String> {
    assert!(text.contains("\r\n"), "iCalendar lines end in CRLF");
    let mut lines: Vec<String> = Vec::new();
    for line in text.split("\r\n") {
        match line.strip_prefix(' ') {
            Some(rest) => lines.last_mut().unwrap().push_str(rest),
            None => lines.push(line.to_owned()),
        }
    }
    lines
}

// The calendar has one all-day event per next action, overdue ones on D, with stable UIDs.
#[test]
fn agenda_has_one_event_per_next_action() {
    let out = tempfile::tempdir().unwrap();
    build(&demo_root(), out.path(), &[]);
    let lines = ics_lines(&fs::read_to_string(out.path().join("agenda.ics")).unwrap());
    assert_eq!(lines.first().unwrap(), "BEGIN:VCALENDAR");
    let report = report_json(out.path());
    let actions = report["affiliates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| !a["next_action"].is_null())
        .count();
    let events = lines.iter().filter(|l| *l == "BEGIN:VEVENT").count();
    assert_eq!(events, actions);
    let uids: BTreeSet<&String> = lines.iter().filter(|l| l.starts_with("UID:")).collect();
    assert_eq!(uids.len(), actions);
    assert!(lines.contains(&"UID:wei-chen--follow_up@affrel".to_owned()));
    assert!(lines.contains(&"SUMMARY:Follow up with Wei Chen (Inkwell Newsletters)".to_owned()));
    // Wei Chen's follow-up was due 2026-11-10: overdue, so it sits on D.
    let wei = lines
        .iter()
        .position(|l| l == "UID:wei-chen--follow_up@affrel")
        .unwrap();
    let start = lines[..wei]
        .iter()
        .rev()
        .find(|l| l.starts_with("DTSTART"))
        .unwrap();
    assert_eq!(start, "DTSTART;VALUE=DATE:20261124");
}

// The spreadsheet has a header and one properly quoted row per referral.
#[test]
fn csv_has_one_row_per_referral() {
    let out = tempfile::tempdir().unwrap();
    build(&demo_root(), out.path(), &[]);
    let mut reader = csv::Reader::from_path(out.path().join("report.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    assert_eq!(&headers[4], "stage");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 31);
    assert!(rows.iter().all(|row| row.len() == headers.len()));
    let zoe = rows.iter().find(|r| &r[0] == "zoe-muller").unwrap();
    assert_eq!(&zoe[1], "Zoë Müller");
}

// `init` scaffolds a project that checks and builds at once, with a valid workflow.
#[test]
fn init_scaffolds_a_project_that_builds() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("new");
    let output = affrel(&["init", project.to_str().unwrap()]);
    assert!(output.status.success());
    for file in [
        "content/config.yaml",
        "content/emails/welcome.md",
        "content/emails/congratulate.md",
        ".gitignore",
        ".github/workflows/weekly-report.yml",
    ] {
        assert!(project.join(file).is_file(), "{file}");
    }
    let root = project.to_str().unwrap();
    assert!(affrel(&["check", "--root", root]).status.success());
    assert!(affrel(&["build", "--root", root]).status.success());
    assert!(project.join("output/index.html").is_file());

    let workflow: serde_yaml::Value = serde_yaml::from_str(
        &fs::read_to_string(project.join(".github/workflows/weekly-report.yml")).unwrap(),
    )
    .expect("the workflow is YAML");
    let text = serde_yaml::to_string(&workflow).unwrap();
    for needle in [
        "cron",
        "workflow_dispatch",
        "cargo install",
        "affrel check",
        "affrel build --public",
        "affrel weekly --public",
        "AFFREL_MAIL_PASSWORD",
        "actions/upload-pages-artifact",
        "actions/deploy-pages",
        "actions/cache",
    ] {
        assert!(text.contains(needle), "workflow lacks {needle}");
    }
    assert!(workflow["env"]["AFFREL_GIT"].as_str().is_some());

    let config = fs::read_to_string(project.join("content/config.yaml")).unwrap();
    let salt = config
        .lines()
        .find_map(|l| l.trim().strip_prefix("pseudonym_salt: "))
        .unwrap();
    assert_eq!(salt.len(), 64);
}

// `init` never overwrites: a second run skips every file and changes nothing.
#[test]
fn init_never_overwrites_existing_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    assert!(affrel(&["init", root]).status.success());
    let config = dir.path().join("content/config.yaml");
    fs::write(&config, "mine").unwrap();
    let output = affrel(&["init", root]);
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("skipped") && !stdout.contains("created"),
        "{stdout}"
    );
    assert_eq!(fs::read_to_string(&config).unwrap(), "mine");
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .expect("git runs")
        .status;
    assert!(status.success(), "git {args:?}");
}

// Inside git the footer names the commit, and says when content has uncommitted changes.
#[test]
fn footer_names_the_commit_the_content_came_from() {
    if Command::new("git").arg("--version").output().is_err() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    copy_demo(root.path());
    let out = tempfile::tempdir().unwrap();
    build(root.path(), out.path(), &[]);
    let outside = fs::read_to_string(out.path().join("index.html")).unwrap();
    assert!(!outside.contains("commit "), "no git, no commit line");

    git(root.path(), &["init", "-q"]);
    git(root.path(), &["add", "content"]);
    git(root.path(), &["commit", "-q", "-m", "content"]);
    let head = Command::new("git")
        .arg("-C")
        .arg(root.path())
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .unwrap();
    let head = String::from_utf8(head.stdout).unwrap().trim().to_owned();
    build(root.path(), out.path(), &[]);
    let clean = fs::read_to_string(out.path().join("index.html")).unwrap();
    assert!(
        clean.contains(&format!("commit {head}")),
        "footer names {head}"
    );
    assert!(!clean.contains("uncommitted"));

    fs::write(
        root.path().join("content/referrals/new-person.yaml"),
        "name: New Person\nemail: new@example.com\nprogram: acme\nreferred_on: 2026-11-01\n",
    )
    .unwrap();
    build(root.path(), out.path(), &[]);
    let dirty = fs::read_to_string(out.path().join("index.html")).unwrap();
    assert!(dirty.contains(&format!("commit {head} with uncommitted changes")));
}
