//! Which emails get answers, through the real binary: a small project's figures computed by
//! hand with `reply_window_days: 7`, in `report.json`, an archived week and
//! `communication.csv`; the agenda's hints for an unanswered email and a bounced address; the
//! rule's validation; and `log … bounced --address`.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use serde_json::{Value, json};

mod common;
use common::{affrel, assert_exit, text};

const CONFIG: &str = "sender:\n  name: Sam Rivera\n  email: sam@example.com\nprograms:\n  - id: acme\n    name: Acme Hosting\n    residual_commissions: true\n  - id: bounty\n    name: Bounty Board\n    residual_commissions: false\nrules:\n  reply_window_days: 7\nreport:\n  history_weeks: 2\n  pseudonym_salt: answers-test-salt\n";

/// (id, motivation, program, events). Everyone was referred on 2026-10-25; D is 2026-11-24,
/// so an email counts when dated on or before 2026-11-17.
const RECORDS: &[(&str, &str, &str, &str)] = &[
    // A reply on the same day as the welcome, listed before it: it answers it (0 days).
    (
        "a",
        "Pay the rent",
        "acme",
        "  - { date: 2026-11-01, type: reply }\n  - { date: 2026-11-01, type: welcome_sent }\n  - { date: 2026-11-05, type: sale, amount: 10 }\n",
    ),
    // A reply on the window's last day answers it (7 days).
    (
        "b",
        "",
        "acme",
        "  - { date: 2026-11-01, type: welcome_sent }\n  - { date: 2026-11-08, type: reply }\n",
    ),
    // One day past the window: not an answer, though they did write back.
    (
        "c",
        "Travel",
        "acme",
        "  - { date: 2026-11-01, type: welcome_sent }\n  - { date: 2026-11-09, type: reply }\n  - { date: 2026-11-12, type: sale, amount: 10 }\n",
    ),
    // Two emails on one date: the reply answers the one listed later, the nudge.
    (
        "d",
        "",
        "acme",
        "  - { date: 2026-11-02, type: welcome_sent }\n  - { date: 2026-11-02, type: nudge_sent }\n  - { date: 2026-11-03, type: reply }\n",
    ),
    // Inside its window at D: not counted yet.
    (
        "e",
        "",
        "acme",
        "  - { date: 2026-11-21, type: welcome_sent }\n",
    ),
    // Replies, but no email: nothing to answer, and not contacted.
    ("f", "", "acme", "  - { date: 2026-11-05, type: reply }\n"),
    // Not worth mentoring: left out.
    (
        "g",
        "",
        "bounty",
        "  - { date: 2026-11-01, type: welcome_sent }\n  - { date: 2026-11-02, type: reply }\n",
    ),
    // Counted at D and answered after 7 days; at the archived week's Sunday not counted yet.
    (
        "h",
        "",
        "acme",
        "  - { date: 2026-11-16, type: welcome_sent }\n  - { date: 2026-11-23, type: reply }\n",
    ),
    // A welcome nobody answered: its nudge says so.
    (
        "i",
        "",
        "acme",
        "  - { date: 2026-11-01, type: welcome_sent }\n",
    ),
    // A welcome that bounced.
    (
        "j",
        "",
        "acme",
        "  - { date: 2026-11-01, type: welcome_sent }\n  - { date: 2026-11-03, type: bounced, address: j@example.com }\n",
    ),
];

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("content");
    fs::create_dir_all(content.join("referrals")).unwrap();
    fs::write(content.join("config.yaml"), CONFIG).unwrap();
    for (id, motivation, program, events) in RECORDS {
        let mut record = format!(
            "name: {} Person\nemail: {id}@example.com\nprogram: {program}\nreferred_on: 2026-10-25\n",
            id.to_uppercase()
        );
        if !motivation.is_empty() {
            let _ = writeln!(record, "motivation: {motivation}");
        }
        record.push_str("events:\n");
        record.push_str(events);
        fs::write(content.join("referrals").join(format!("{id}.yaml")), record).unwrap();
    }
    dir
}

fn run(root: &Path, args: &[&str]) -> std::process::Output {
    let mut all = args.to_vec();
    all.extend(["--root", root.to_str().unwrap()]);
    affrel(&all).output().unwrap()
}

fn report(out: &Path, file: &str) -> Value {
    serde_json::from_slice(&fs::read(out.join(file)).unwrap()).unwrap()
}

/// The figures at D, worked out by hand.
fn expected_now() -> Value {
    json!({
        "reply_window_days": 7,
        "emails": [
            { "kind": "welcome", "sent": 7, "answered": 3,
              "reply_rate": 3.0 / 7.0, "median_days_to_reply": 7.0 },
            { "kind": "nudge", "sent": 1, "answered": 1,
              "reply_rate": 1.0, "median_days_to_reply": 1.0 },
            { "kind": "follow_up", "sent": 0, "answered": 0,
              "reply_rate": null, "median_days_to_reply": null },
            { "kind": "congratulate", "sent": 0, "answered": 0,
              "reply_rate": null, "median_days_to_reply": null },
        ],
        "welcomed": 8,
        "motivation_known": 2,
        "first_sale_rate_replied": 0.4,
        "first_sale_rate_not_replied": 0.0,
    })
}

// At D: a, b and h answer their welcomes (0, 7 and 7 days: median 7); c's reply is a day
// late; d's reply answers the nudge listed after the welcome; e's welcome is still in its
// window; f has nothing to answer; g is not worth mentoring. Of the contacted, a, b, c, d and
// h wrote back (2 of 5 with a sale), e, i and j never did (none of 3).
#[test]
fn communication_equals_the_hand_computed_figures() {
    let dir = project();
    let root = dir.path();
    let out = root.join("out");
    let built = run(root, &["build", "--out", out.to_str().unwrap()]);
    assert_exit(&built, 0);
    assert_eq!(report(&out, "report.json")["communication"], expected_now());

    // As of Sunday 2026-11-22, emails count up to 2026-11-15: h's welcome is not counted,
    // and h has not written back yet.
    let archived = report(&out, "weeks/2026-W47/report.json");
    assert_eq!(
        archived["communication"]["emails"][0],
        json!({ "kind": "welcome", "sent": 6, "answered": 2,
                "reply_rate": 2.0 / 6.0, "median_days_to_reply": 3.5 })
    );
    assert_eq!(
        archived["communication"]["first_sale_rate_replied"],
        json!(0.5)
    );
    assert_eq!(
        archived["communication"]["first_sale_rate_not_replied"],
        json!(0.0)
    );

    let csv = fs::read_to_string(out.join("communication.csv")).unwrap();
    assert_eq!(
        csv,
        "kind,sent,answered,reply_rate,median_days_to_reply\n\
         welcome,7,3,0.42857142857142855,7.0\n\
         nudge,1,1,1.0,1.0\n\
         follow_up,0,0,,\n\
         congratulate,0,0,,\n"
    );

    let index = fs::read_to_string(out.join("index.html")).unwrap();
    assert!(index.contains("Referrals you contacted who wrote back made a first sale 40% of the time; those who never did, 0%."));
    assert!(index.contains("You know the motivation of 2 of 8 people you welcomed."));
    assert!(index.contains("not enough yet"), "a kind with fewer than 5");

    let public = root.join("public");
    let built = run(
        root,
        &["build", "--public", "--out", public.to_str().unwrap()],
    );
    assert_exit(&built, 0);
    assert_eq!(
        report(&public, "report.json")["communication"],
        expected_now()
    );
    assert!(!public.join("communication.csv").exists());
    let page = fs::read_to_string(public.join("index.html")).unwrap();
    assert!(page.contains("Which emails get answers"));
    assert!(!page.contains("A Person"));
}

// A group with nobody in it gets no sentence: with no one contacted, neither sentence shows.
#[test]
fn no_sentence_for_an_empty_group() {
    let dir = project();
    let root = dir.path();
    for entry in fs::read_dir(root.join("content/referrals")).unwrap() {
        let path = entry.unwrap().path();
        if path.file_stem().is_some_and(|s| s != "f") {
            fs::remove_file(path).unwrap();
        }
    }
    let out = root.join("out");
    assert_exit(&run(root, &["build", "--out", out.to_str().unwrap()]), 0);
    let communication = &report(&out, "report.json")["communication"];
    assert_eq!(communication["welcomed"], 0);
    assert_eq!(communication["first_sale_rate_replied"], Value::Null);
    let index = fs::read_to_string(out.join("index.html")).unwrap();
    assert!(!index.contains("who wrote back made a first sale"));
    assert!(!index.contains("You know the motivation"));
}

// The agenda says when the last email went unanswered past the window, and when an address
// bounced; `drafts` would leave the bouncing one out.
#[test]
fn the_agenda_names_silence_and_bounces() {
    let dir = project();
    let root = dir.path();
    let agenda = run(root, &["agenda", "--json"]);
    assert_exit(&agenda, 0);
    let items: Value = serde_json::from_slice(&agenda.stdout).unwrap();
    let reason = |id: &str| {
        items
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["id"] == id)
            .map_or_else(
                || panic!("{id} in the agenda"),
                |item| item["reason"].as_str().unwrap().to_owned(),
            )
    };
    assert_eq!(reason("i"), "no sale yet; welcome unanswered for 23 days");
    assert_eq!(
        reason("j"),
        "no sale yet; welcome unanswered for 23 days; address bounced on 2026-11-03: check it"
    );
    assert_eq!(reason("b"), "no sale yet; last touch 16 days ago");
}

// `reply_window_days` is a whole number of days from 1 to 365, and an error names the key.
#[test]
fn the_reply_window_is_validated() {
    for bad in ["0", "366"] {
        let dir = project();
        let root = dir.path();
        let config = root.join("content/config.yaml");
        let text_of_config = fs::read_to_string(&config).unwrap();
        fs::write(
            &config,
            text_of_config.replace("reply_window_days: 7", &format!("reply_window_days: {bad}")),
        )
        .unwrap();
        let output = run(root, &["check"]);
        assert_exit(&output, 1);
        assert!(
            text(&output.stderr).contains(&format!(
                "content/config.yaml:12:22: error: `reply_window_days` is {bad}; expected a whole number of days from 1 to 365"
            )),
            "{}",
            text(&output.stderr)
        );
    }
}

// `log ID bounced --address …` records a bounce; `address` is required on `bounced` and
// allowed on no other type.
#[test]
fn log_records_a_bounce_with_its_address() {
    let dir = project();
    let root = dir.path();
    let logged = run(
        root,
        &[
            "log",
            "i",
            "bounced",
            "--date",
            "2026-11-20",
            "--address",
            "i@example.com",
        ],
    );
    assert_exit(&logged, 0);
    let record = fs::read_to_string(root.join("content/referrals/i.yaml")).unwrap();
    assert!(
        record.ends_with("  - { date: 2026-11-20, type: bounced, address: \"i@example.com\" }\n"),
        "{record}"
    );
    let agenda = run(root, &["agenda"]);
    assert!(text(&agenda.stdout).contains("address bounced on 2026-11-20: check it"));

    let missing = run(root, &["log", "b", "bounced"]);
    assert_exit(&missing, 1);
    assert!(
        text(&missing.stderr).contains("`address`"),
        "{}",
        text(&missing.stderr)
    );
    let misplaced = run(root, &["log", "b", "reply", "--address", "b@example.com"]);
    assert_exit(&misplaced, 1);
    assert!(
        text(&misplaced.stderr)
            .contains("`address` is only allowed on `bounced` events, not on `reply`"),
        "{}",
        text(&misplaced.stderr)
    );
    let invalid = run(
        root,
        &["log", "b", "bounced", "--address", "not an address"],
    );
    assert_exit(&invalid, 1);
    assert!(text(&invalid.stderr).contains("is not a valid email address"));
}
