//! Cohorts and time against return, through the real binary: the figures of a small project
//! computed by hand, in `report.json`, the archived weeks and `cohorts.csv`; the charts drawn
//! from the same figures; and no name in a public build's charts.

use std::fs;
use std::path::Path;

use serde_json::{Value, json};

mod common;
use common::{affrel, assert_exit, text};

const CONFIG: &str = "sender:\n  name: Sam Rivera\n  email: sam@example.com\nprograms:\n  - id: acme\n    name: Acme Hosting\n    residual_commissions: true\n    residual_rate: 0.10\n  - id: bounty\n    name: Bounty Board\n    residual_commissions: false\nreport:\n  history_weeks: 2\n  cohort_months: 4\n  pseudonym_salt: cohort-test-salt\n";

/// (file, name, program, `referred_on`, events).
const RECORDS: &[(&str, &str, &str, &str, &str)] = &[
    // August: welcomed after 2, 4, 1 and 1 days (an even count: median 1.5); a first sale
    // after 17 days (early) and one after 71 (not).
    (
        "a1",
        "Anna Alpha",
        "acme",
        "2026-08-03",
        "  - { date: 2026-08-05, type: welcome_sent, minutes: 30 }\n  - { date: 2026-08-20, type: sale, amount: 100 }\n",
    ),
    (
        "a2",
        "Bert Bravo",
        "acme",
        "2026-08-10",
        "  - { date: 2026-08-14, type: welcome_sent, minutes: 10 }\n  - { date: 2026-10-20, type: sale, amount: 50 }\n",
    ),
    (
        "a3",
        "Cora Charlie",
        "acme",
        "2026-08-20",
        "  - { date: 2026-08-21, type: welcome_sent }\n",
    ),
    (
        "a5",
        "Dirk Delta",
        "acme",
        "2026-08-30",
        "  - { date: 2026-08-31, type: welcome_sent, minutes: 5 }\n",
    ),
    // Not worth mentoring: in no cohort.
    (
        "a4",
        "Edda Echo",
        "bounty",
        "2026-08-25",
        "  - { date: 2026-08-26, type: welcome_sent, minutes: 60 }\n",
    ),
    // October: too young to judge (joined less than 60 days before D).
    (
        "b1",
        "Finn Foxtrot",
        "acme",
        "2026-10-01",
        "  - { date: 2026-10-02, type: welcome_sent }\n  - { date: 2026-10-10, type: sale, amount: 20 }\n",
    ),
    // November: its events come after D, so they do not count yet.
    (
        "c1",
        "Gus Golf",
        "acme",
        "2026-11-02",
        "  - { date: 2026-11-30, type: welcome_sent, minutes: 99 }\n  - { date: 2026-12-01, type: sale, amount: 500 }\n",
    ),
    // Before the four months shown, and after D: in no cohort.
    (
        "j1",
        "Hal Hotel",
        "acme",
        "2026-07-15",
        "  - { date: 2026-07-16, type: welcome_sent }\n",
    ),
    ("f1", "Ida India", "acme", "2026-11-28", ""),
];

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("content");
    fs::create_dir_all(content.join("referrals")).unwrap();
    fs::write(content.join("config.yaml"), CONFIG).unwrap();
    for (id, name, program, referred_on, events) in RECORDS {
        let mut record = format!(
            "name: {name}\nemail: {id}@example.com\nprogram: {program}\nreferred_on: {referred_on}\n"
        );
        if !events.is_empty() {
            record.push_str("events:\n");
            record.push_str(events);
        }
        fs::write(content.join("referrals").join(format!("{id}.yaml")), record).unwrap();
    }
    dir
}

fn build(root: &Path, flags: &[&str]) -> std::path::PathBuf {
    let out = root.join(if flags.contains(&"--public") {
        "public"
    } else {
        "private"
    });
    let mut args = vec![
        "build",
        "--as-of",
        "2026-11-24",
        "--root",
        root.to_str().unwrap(),
        "--out",
    ];
    args.push(out.to_str().unwrap());
    args.extend(flags);
    assert_exit(&affrel(&args).output().unwrap(), 0);
    out
}

fn report(out: &Path, file: &str) -> Value {
    serde_json::from_slice(&fs::read(out.join(file)).unwrap()).unwrap()
}

/// The August to November cohorts, worked out by hand.
fn expected_cohorts() -> Value {
    json!([
        { "month": "2026-08", "referrals": 4, "contacted": 4, "median_days_to_welcome": 1.5,
          "with_sale": 2, "matured": 4, "first_sale_within_60_days": 1,
          "first_sale_rate_60_days": 0.25, "minutes_invested": 45, "estimated_residual": 15.0 },
        { "month": "2026-09", "referrals": 0, "contacted": 0, "median_days_to_welcome": null,
          "with_sale": 0, "matured": 0, "first_sale_within_60_days": 0,
          "first_sale_rate_60_days": null, "minutes_invested": 0, "estimated_residual": 0.0 },
        { "month": "2026-10", "referrals": 1, "contacted": 1, "median_days_to_welcome": 1.0,
          "with_sale": 1, "matured": 0, "first_sale_within_60_days": 0,
          "first_sale_rate_60_days": null, "minutes_invested": 0, "estimated_residual": 2.0 },
        { "month": "2026-11", "referrals": 1, "contacted": 0, "median_days_to_welcome": null,
          "with_sale": 0, "matured": 0, "first_sale_within_60_days": 0,
          "first_sale_rate_60_days": null, "minutes_invested": 0, "estimated_residual": 0.0 },
    ])
}

// The cohorts of a small project equal the figures worked out by hand: an even-count median,
// a month nobody joined in, months too young to judge, a referral not worth mentoring left
// out, and events after D ignored. The archived weeks and cohorts.csv carry them too.
#[test]
fn cohorts_equal_the_hand_computed_figures() {
    let dir = project();
    let out = build(dir.path(), &[]);
    let current = report(&out, "report.json");
    assert_eq!(current["cohorts"], expected_cohorts());

    let archived = report(&out, "weeks/2026-W47/report.json");
    let months: Vec<&str> = archived["cohorts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["month"].as_str().unwrap())
        .collect();
    assert_eq!(months, ["2026-08", "2026-09", "2026-10", "2026-11"]);
    assert_eq!(
        archived["cohorts"][0],
        expected_cohorts()[0],
        "as of 2026-11-22"
    );

    let csv = fs::read_to_string(out.join("cohorts.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "month,referrals,contacted,median_days_to_welcome,with_sale,matured,first_sale_within_60_days,first_sale_rate_60_days,minutes_invested,estimated_residual"
        )
    );
    assert_eq!(lines.next(), Some("2026-08,4,4,1.5,2,4,1,0.25,45,15.0"));
    assert_eq!(lines.next(), Some("2026-09,0,0,,0,0,0,,0,0.0"));
    assert_eq!(lines.count(), 2);
    let public = build(dir.path(), &["--public"]);
    assert!(
        !public.join("cohorts.csv").exists(),
        "no cohorts.csv in public builds"
    );
    assert_eq!(
        report(&public, "report.json")["cohorts"],
        expected_cohorts()
    );
}

/// The values of attribute `name` in `html`, in order.
fn attributes(html: &str, name: &str) -> Vec<String> {
    html.split(&format!(" {name}=\""))
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or_default().to_owned())
        .collect()
}

/// The HTML of one section of the report page.
fn section<'h>(html: &'h str, id: &str) -> &'h str {
    let start = html
        .find(&format!("<section class=\"card\" id=\"{id}\""))
        .expect("the section");
    let end = html[start..].find("</section>").expect("its end");
    &html[start..start + end]
}

// The charts draw what report.json says: a rate bar per month old enough to judge, at its
// rate, the others outlined; a point per referral with time or residual, at its figures.
#[test]
fn the_charts_draw_the_figures_of_report_json() {
    let dir = project();
    let out = build(dir.path(), &[]);
    let json = report(&out, "report.json");
    let html = fs::read_to_string(out.join("index.html")).unwrap();

    let cohorts = section(&html, "cohorts");
    assert_eq!(
        attributes(cohorts, "data-month"),
        ["2026-08", "2026-09", "2026-10", "2026-11"]
    );
    let rate_bars: Vec<&str> = cohorts.split("class=\"rate-bar\"").skip(1).collect();
    assert_eq!(rate_bars.len(), 1, "only August is old enough to judge");
    assert!(rate_bars[0].starts_with(" data-percent=\"25\""));
    assert_eq!(
        cohorts.matches("class=\"young-bar\"").count(),
        2,
        "October and November are outlined"
    );
    assert!(cohorts.contains("too young"));
    assert!(cohorts.contains("25%<span class=\"of\">1 of 4</span>"));

    let returns = section(&html, "returns");
    let mut drawn: Vec<(u64, f64)> = attributes(returns, "data-minutes")
        .iter()
        .zip(attributes(returns, "data-residual"))
        .map(|(m, r)| (m.parse().unwrap(), r.parse().unwrap()))
        .collect();
    let mut expected: Vec<(u64, f64)> = json["affiliates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["minutes_invested"].as_u64().unwrap(),
                a["estimated_residual"].as_f64().unwrap(),
            )
        })
        .filter(|&(m, r)| m > 0 || r > 0.0)
        .collect();
    drawn.sort_by(|a, b| a.partial_cmp(b).unwrap());
    expected.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(drawn, expected);
    assert_eq!(
        drawn.len(),
        5,
        "the one not worth mentoring has time recorded too"
    );
    assert!(
        returns.contains("aria-label=\"Anna Alpha: First sale, 30 min invested, 10.00 residual\""),
        "{returns}"
    );
}

// A public build names nobody in either chart: pseudonyms only.
#[test]
fn public_charts_show_pseudonyms_only() {
    let dir = project();
    let out = build(dir.path(), &["--public"]);
    let html = fs::read_to_string(out.join("index.html")).unwrap();
    for id in ["cohorts", "returns"] {
        let part = section(&html, id);
        for (_, name, _, _, _) in RECORDS {
            assert!(!part.contains(name), "{name} in the public {id} section");
        }
    }
    let labels = attributes(section(&html, "returns"), "aria-label");
    assert_eq!(labels.len(), 5);
    assert!(labels.iter().all(|l| l.starts_with("r-")), "{labels:?}");
    let output = affrel(&["check", "--root", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(text(&output.stdout).starts_with("ok:"));
}

// The time-against-return chart stays bounded: at most 2000 points, the rest counted in a
// note that points to report.json.
#[test]
fn the_return_chart_draws_at_most_2000_points() {
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("content");
    fs::create_dir_all(content.join("referrals")).unwrap();
    fs::write(content.join("config.yaml"), CONFIG).unwrap();
    for index in 0..2100 {
        let record = format!(
            "name: Person {index}\nemail: p{index}@example.com\nprogram: acme\nreferred_on: 2026-10-01\nevents:\n  - {{ date: 2026-10-02, type: welcome_sent, minutes: {} }}\n",
            1 + index % 90
        );
        fs::write(
            content.join("referrals").join(format!("p{index:04}.yaml")),
            record,
        )
        .unwrap();
    }
    let out = build(dir.path(), &[]);
    let html = fs::read_to_string(out.join("index.html")).unwrap();
    let returns = section(&html, "returns");
    assert_eq!(returns.matches("<g class=\"pt").count(), 2000);
    assert!(returns.contains("The 2000 referrals with the most time invested are drawn, of 2100"));
    let minutes: Vec<u64> = attributes(returns, "data-minutes")
        .iter()
        .map(|m| m.parse().unwrap())
        .collect();
    assert!(
        minutes.iter().all(|&m| m >= minutes[minutes.len() - 1]),
        "the most time invested first"
    );
}
