//! Sales in, returns out, through the real binary: `affrel import` of program exports in two
//! real-world shapes, its idempotence and its located problems, and the return-on-time
//! metrics of a small project computed by hand.

use std::fs;
use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

mod common;
use common::{assert_exit, run_in, text};

const CONFIG: &str = r#"sender:
  name: Sam Rivera
  email: sam@example.com
programs:
  - id: acme
    name: Acme Hosting
    residual_commissions: true
    residual_rate: 0.10
    import:
      referral: Affiliate
      date: Date
      date_format: "%m/%d/%Y"
      amount: Sale Amount
      ref: Order ID
  - id: inkwell
    name: Inkwell Newsletters
    residual_commissions: true
    residual_rate: 0.20
    import:
      referral: Partner-E-Mail
      date: Datum
      date_format: "%d.%m.%Y"
      amount: Umsatz
  - id: bounty
    name: Bounty Board
    residual_commissions: false
"#;

/// Acme's dashboard export: commas, US dates, dollar amounts, an order id per row.
const ACME_EXPORT: &str = "Order ID,Date,Affiliate,Sale Amount,Status\n\
A-1,09/20/2026,awalker,$49.00,approved\n\
A-2,10/02/2026,awalker,\"$1,234.50\",approved\n\
A-3,10/05/2026,BEN@example.com,USD 12.00,approved\n\
A-4,10/06/2026,nobody42,$5.00,approved\n";

/// Inkwell's export: a byte-order mark, `;` between cells, CRLF lines, day-first dates, no
/// order id, and a quoted note that spans two lines.
const INKWELL_EXPORT: &str = "\u{feff}Datum;Partner-E-Mail;Umsatz;Notiz\r\n\
01.10.2026;cleo@example.com;1234.5;\"erste\r\nBestellung\"\r\n\
15.10.2026;Cleo@Example.com;20;\r\n";

/// A project with three referrals and the two exports beside it.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    let content = dir.path().join("content");
    fs::create_dir_all(content.join("referrals")).unwrap();
    fs::write(content.join("config.yaml"), CONFIG).unwrap();
    let records = [
        (
            "alice.yaml",
            "name: Alice Walker\nemail: alice@example.com\nprogram: acme\naccount: awalker\nreferred_on: 2026-09-01\nevents:\n  - { date: 2026-09-02, type: welcome_sent, minutes: 30 }\n  - { date: 2026-09-20, type: sale, amount: 49.00 }\n",
        ),
        (
            "ben.yaml",
            "name: Ben Carter\nemail: ben@example.com\nprogram: acme\nreferred_on: 2026-09-01\n",
        ),
        (
            "cleo.yaml",
            "name: Cleo Park\nemail: cleo@example.com\nprogram: inkwell\nreferred_on: 2026-09-01\nevents:\n  - { date: 2026-09-03, type: welcome_sent, minutes: 20 }\n",
        ),
    ];
    for (name, body) in records {
        fs::write(content.join("referrals").join(name), body).unwrap();
    }
    fs::write(dir.path().join("acme.csv"), ACME_EXPORT).unwrap();
    fs::write(dir.path().join("inkwell.csv"), INKWELL_EXPORT).unwrap();
    dir
}

fn records(root: &Path) -> Vec<Vec<u8>> {
    ["alice", "ben", "cleo"]
        .iter()
        .map(|id| fs::read(root.join(format!("content/referrals/{id}.yaml"))).unwrap())
        .collect()
}

/// The sales of a record as (date, amount, ref).
fn sales(root: &Path, id: &str) -> Vec<(String, Option<f64>, Option<String>)> {
    let bytes = fs::read(root.join(format!("content/referrals/{id}.yaml"))).unwrap();
    let value: serde_yaml::Value = serde_yaml::from_slice(&bytes).unwrap();
    value["events"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter(|e| e["type"].as_str() == Some("sale"))
        .map(|e| {
            (
                e["date"].as_str().unwrap().to_owned(),
                e["amount"].as_f64(),
                e["ref"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn import(root: &Path, file: &str, program: &str, write: bool) -> Output {
    let file = root.join(file);
    let mut args = vec!["import", file.to_str().unwrap(), "--program", program];
    if write {
        args.push("--write");
    }
    run_in(root, &args)
}

// The dry run lists what it would add, per referral, and writes nothing; the row naming no
// referral is a warning with its CSV line.
#[test]
fn dry_run_lists_the_new_sales_and_writes_nothing() {
    let dir = project();
    let before = records(dir.path());
    let output = import(dir.path(), "acme.csv", "acme", false);
    assert_exit(&output, 0);
    assert_eq!(records(dir.path()), before);
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("would add 2 sales to 2 referrals; 1 row already recorded"),
        "{stdout}"
    );
    assert!(stdout.contains("2026-10-02  1234.50  ref A-2"), "{stdout}");
    assert!(stdout.contains("nothing was written"), "{stdout}");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("acme.csv:5:1: warning: no referral of this program has the account, email or id `nobody42`"), "{stderr}");
}

// A US-style export: matched by account and by email in any case, amounts with `$`, `USD`
// and thousands separators, the order id kept as `ref`; the hand-typed sale is recognised.
#[test]
fn imports_a_comma_separated_export_with_currency_amounts() {
    let dir = project();
    assert_exit(&import(dir.path(), "acme.csv", "acme", true), 0);
    assert_eq!(
        sales(dir.path(), "alice"),
        vec![
            ("2026-09-20".to_owned(), Some(49.0), None),
            (
                "2026-10-02".to_owned(),
                Some(1234.5),
                Some("A-2".to_owned())
            ),
        ]
    );
    assert_eq!(
        sales(dir.path(), "ben"),
        vec![("2026-10-05".to_owned(), Some(12.0), Some("A-3".to_owned()))]
    );
    let check = run_in(dir.path(), &["check", "--as-of", "2026-11-24"]);
    assert_exit(&check, 0);
}

// A European-style export: BOM, `;`, CRLF, `%d.%m.%Y` dates, a quoted cell over two lines,
// no ref column (so date and amount recognise a sale).
#[test]
fn imports_a_semicolon_separated_export_with_a_byte_order_mark() {
    let dir = project();
    let output = import(dir.path(), "inkwell.csv", "inkwell", true);
    assert_exit(&output, 0);
    assert_eq!(
        sales(dir.path(), "cleo"),
        vec![
            ("2026-10-01".to_owned(), Some(1234.5), None),
            ("2026-10-15".to_owned(), Some(20.0), None),
        ]
    );
}

// Importing the same export twice adds nothing the second time, with or without refs.
#[test]
fn importing_twice_adds_nothing_the_second_time() {
    let dir = project();
    assert_exit(&import(dir.path(), "acme.csv", "acme", true), 0);
    assert_exit(&import(dir.path(), "inkwell.csv", "inkwell", true), 0);
    let after_first = records(dir.path());
    for (file, program) in [("acme.csv", "acme"), ("inkwell.csv", "inkwell")] {
        let output = import(dir.path(), file, program, true);
        assert_exit(&output, 0);
        assert!(text(&output.stdout).contains("adds nothing new"));
    }
    assert_eq!(records(dir.path()), after_first);
}

// A later export that overlaps the first adds only its new rows.
#[test]
fn an_overlapping_export_adds_only_the_new_rows() {
    let dir = project();
    assert_exit(&import(dir.path(), "acme.csv", "acme", true), 0);
    let later = "Order ID,Date,Affiliate,Sale Amount\nA-2,10/02/2026,awalker,\"$1,234.50\"\nA-3,10/05/2026,ben@example.com,USD 12.00\nA-5,11/01/2026,awalker,$10.00\n";
    fs::write(dir.path().join("later.csv"), later).unwrap();
    let output = import(dir.path(), "later.csv", "acme", true);
    assert_exit(&output, 0);
    assert!(text(&output.stdout).contains("adds 1 sale to 1 referral; 2 rows already recorded"));
    assert_eq!(sales(dir.path(), "alice").len(), 3);
    assert_eq!(sales(dir.path(), "ben").len(), 1);
}

// An unreadable date or amount is an error with its CSV line, and then nothing is written,
// not even the good rows.
#[test]
fn a_bad_row_is_an_error_with_its_line_and_nothing_is_written() {
    let dir = project();
    let before = records(dir.path());
    let broken = ACME_EXPORT
        .replace("10/05/2026", "2026-10-05")
        .replace("$5.00", "\"5,00\"");
    fs::write(dir.path().join("broken.csv"), broken).unwrap();
    let output = import(dir.path(), "broken.csv", "acme", true);
    assert_exit(&output, 1);
    assert_eq!(records(dir.path()), before);
    let stderr = text(&output.stderr);
    assert!(
        stderr
            .contains("broken.csv:4:1: error: `2026-10-05` is not a date in the format `%m/%d/%Y`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("broken.csv:5:1: error: `5,00` is not an amount"),
        "{stderr}"
    );
}

// A mapped column missing from the header is an error that names the columns the file has.
#[test]
fn a_missing_column_names_the_columns_the_file_has() {
    let dir = project();
    fs::write(
        dir.path().join("renamed.csv"),
        ACME_EXPORT.replace("Sale Amount", "Total"),
    )
    .unwrap();
    let output = import(dir.path(), "renamed.csv", "acme", false);
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("the header has no column `Sale Amount`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`Order ID`, `Date`, `Affiliate`, `Total`, `Status`"),
        "{stderr}"
    );
}

// `check` validates import blocks: a date format that cannot read a date is located.
#[test]
fn check_refuses_an_import_block_it_cannot_use() {
    let dir = project();
    let config = CONFIG.replace("%d.%m.%Y", "%d.%m");
    fs::write(dir.path().join("content/config.yaml"), config).unwrap();
    let output = run_in(dir.path(), &["check"]);
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("content/config.yaml:22:20: error: `%d.%m` is not a date format"),
        "{stderr}"
    );
}

/// The metrics block of a build as of 2026-11-24.
fn metrics(root: &Path) -> Value {
    let out = root.join("output");
    assert_exit(&run_in(root, &["build", "--as-of", "2026-11-24"]), 0);
    let report: Value =
        serde_json::from_slice(&fs::read(out.join("report.json")).unwrap()).unwrap();
    report["metrics"].clone()
}

// Return on time, by hand. alice: contacted, 30 min, sales 49.00 + 1234.50 at 10% = 128.35.
// ben: never contacted, 12.00 at 10% = 1.20. cleo: contacted, 20 min + 25 min this week,
// sales 1234.50 + 20.00 at 20% = 250.90. Total 380.45; contacted 379.25; 75 minutes, so
// 379.25 / 1.25 h = 303.40 per hour.
#[test]
fn return_on_time_metrics_equal_the_hand_computed_values() {
    let dir = project();
    assert_exit(&import(dir.path(), "acme.csv", "acme", true), 0);
    assert_exit(&import(dir.path(), "inkwell.csv", "inkwell", true), 0);
    let cleo = dir.path().join("content/referrals/cleo.yaml");
    let mut record = fs::read_to_string(&cleo).unwrap();
    record.push_str("  - { date: 2026-11-23, type: help_given, minutes: 25 }\n");
    fs::write(&cleo, record).unwrap();
    let m = metrics(dir.path());
    assert_eq!(m["estimated_residual_total"], json!(380.45));
    assert_eq!(m["estimated_residual_contacted"], json!(379.25));
    assert_eq!(m["minutes_invested"], json!(75));
    assert_eq!(m["minutes_invested_this_week"], json!(25));
    assert_eq!(m["residual_per_hour_invested"], json!(303.4));
}

// With no minutes recorded anywhere, the return per hour is null, not infinite or zero.
#[test]
fn residual_per_hour_is_null_without_minutes() {
    let dir = project();
    for id in ["alice", "cleo"] {
        let path = dir.path().join(format!("content/referrals/{id}.yaml"));
        let record = fs::read_to_string(&path).unwrap();
        fs::write(
            &path,
            record
                .replace(", minutes: 30", "")
                .replace(", minutes: 20", ""),
        )
        .unwrap();
    }
    let m = metrics(dir.path());
    assert_eq!(m["minutes_invested"], json!(0));
    assert_eq!(m["residual_per_hour_invested"], Value::Null);
    assert_eq!(m["estimated_residual_contacted"], json!(4.9));
}

// Every amount shape DESIGN allows is read; anything else is an error on its own line, never
// a guess: exponents, hex, a second decimal point, trailing words, and a decimal comma (see
// README, "Importing sales").
#[test]
fn amounts_are_read_only_in_the_documented_shapes() {
    let dir = project();
    let before = records(dir.path());
    let export = "Order ID,Date,Affiliate,Sale Amount\n\
B-1,10/01/2026,awalker,1e3\n\
B-2,10/02/2026,awalker,1e308\n\
B-3,10/03/2026,awalker,0x1F\n\
B-4,10/04/2026,awalker,12.5.3\n\
B-5,10/05/2026,awalker,12 refunded\n\
B-6,10/06/2026,awalker,\"1 234,00\"\n";
    fs::write(dir.path().join("odd.csv"), export).unwrap();
    let output = import(dir.path(), "odd.csv", "acme", true);
    assert_exit(&output, 1);
    assert_eq!(records(dir.path()), before, "nothing is written");
    let stderr = text(&output.stderr);
    for (line, cell) in [
        (2, "1e3"),
        (3, "1e308"),
        (4, "0x1F"),
        (5, "12.5.3"),
        (6, "12 refunded"),
    ] {
        assert!(
            stderr.contains(&format!(
                "odd.csv:{line}:1: error: `{cell}` is not an amount\n"
            )),
            "{cell}: {stderr}"
        );
    }
    assert!(
        stderr.contains("odd.csv:7:1: error: `1 234,00` is not an amount: it has a decimal comma"),
        "{stderr}"
    );

    let export = "Order ID,Date,Affiliate,Sale Amount\n\
C-1,10/01/2026,awalker,\"$1,049.00\"\n\
C-2,10/02/2026,awalker,USD 12.00\n\
C-3,10/03/2026,awalker,12.00 EUR\n\
C-4,10/04/2026,awalker,1 234.00\n\
C-5,10/05/2026,awalker,(12.00)\n";
    fs::write(dir.path().join("fine.csv"), export).unwrap();
    let output = import(dir.path(), "fine.csv", "acme", true);
    assert_exit(&output, 0);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(
            "fine.csv:6:1: warning: the amount -12.00 is negative (a refund?); row skipped"
        ),
        "{stderr}"
    );
    let amounts: Vec<(Option<f64>, Option<String>)> = sales(dir.path(), "alice")
        .into_iter()
        .skip(1)
        .map(|(_, amount, reference)| (amount, reference))
        .collect();
    assert_eq!(
        amounts,
        [
            (Some(1049.0), Some("C-1".to_owned())),
            (Some(12.0), Some("C-2".to_owned())),
            (Some(12.0), Some("C-3".to_owned())),
            (Some(1234.0), Some("C-4".to_owned())),
        ]
    );
}

// The line of every message is the row's physical line in the file, whether lines end in LF or
// CRLF and after a quoted cell that spans two lines.
#[test]
fn import_messages_name_the_physical_line() {
    let dir = project();
    let lf = "Order ID,Date,Affiliate,Sale Amount,Note\n\
D-1,10/01/2026,nobody,5.00,\n\
D-2,10/02/2026,awalker,5.00,\"first line\nsecond line\"\n\
D-3,10/03/2026,awalker,lots,\n\
\n\
D-4,10/04/2026,stranger,5.00,\n";
    for (name, export) in [("lf", lf.to_owned()), ("crlf", lf.replace('\n', "\r\n"))] {
        let file = format!("{name}.csv");
        fs::write(dir.path().join(&file), export).unwrap();
        let output = import(dir.path(), &file, "acme", false);
        assert_exit(&output, 1);
        let stderr = text(&output.stderr);
        for expected in [
            format!(
                "{file}:2:1: warning: no referral of this program has the account, email or id `nobody`"
            ),
            format!("{file}:5:1: error: `lots` is not an amount"),
            format!(
                "{file}:7:1: warning: no referral of this program has the account, email or id `stranger`"
            ),
        ] {
            assert!(stderr.contains(&expected), "{name}: {expected}\n{stderr}");
        }
    }
}
