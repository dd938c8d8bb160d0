//! Bounded pages: a project with more actions, changes and people than a page lists still
//! gets small pages that say what they leave out, every email on some emails page, and the
//! complete data in `report.json` and `report.csv`.

use std::fs;
use std::path::Path;
use std::process::Command;

const AS_OF: &str = "2026-11-24";
/// More than the report page lists of people (2000), actions and changes (200 each).
const REFERRALS: usize = 2150;
/// Referred this week, so each one is a stage change ("new → uncontacted").
const REFERRED_THIS_WEEK: usize = 260;
const EMAILS_PER_PAGE: usize = 100;

/// The demo's config and email templates, and `REFERRALS` uncontacted referrals, each with
/// a welcome due: the older ones overdue.
fn large_project(root: &Path) {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
    let content = root.join("content");
    fs::create_dir_all(content.join("referrals")).unwrap();
    fs::create_dir_all(content.join("emails")).unwrap();
    fs::copy(demo.join("config.yaml"), content.join("config.yaml")).unwrap();
    for entry in fs::read_dir(demo.join("emails")).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(
            &path,
            content.join("emails").join(path.file_name().unwrap()),
        )
        .unwrap();
    }
    for index in 0..REFERRALS {
        let referred = if index < REFERRED_THIS_WEEK {
            "2026-11-23".to_owned()
        } else {
            format!("2026-10-{:02}", 1 + index % 28)
        };
        let record = format!(
            "name: Person {index}\nemail: person{index}@example.com\nprogram: acme\nreferred_on: {referred}\nmotivation: Pay the rent <soon>\n"
        );
        fs::write(
            content
                .join("referrals")
                .join(format!("person-{index:05}.yaml")),
            record,
        )
        .unwrap();
    }
}

fn build(root: &Path, out: &Path) {
    let output = Command::new(env!("CARGO_BIN_EXE_affrel"))
        .args(["build", "--root", root.to_str().unwrap(), "--out"])
        .arg(out)
        .args(["--as-of", AS_OF])
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .expect("affrel runs");
    assert!(
        output.status.success(),
        "build failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn pages_stay_bounded_and_point_to_the_complete_data() {
    let dir = tempfile::tempdir().unwrap();
    let (root, out) = (dir.path().join("project"), dir.path().join("out"));
    large_project(&root);
    build(&root, &out);

    let index = read(&out.join("index.html"));
    assert_eq!(count(&index, "<tr class=\"action "), 200, "actions listed");
    assert!(index.contains(&format!(
        "{REFERRALS} actions this week, <span class=\"late\">{} overdue</span>",
        REFERRALS - REFERRED_THIS_WEEK
    )));
    assert!(index.contains(&format!(
        "The 200 most overdue of {REFERRALS} actions are listed here"
    )));
    assert!(index.contains(&format!(
        "What changed this week <span class=\"count\">· {REFERRED_THIS_WEEK}</span>"
    )));
    assert!(index.contains(&format!(
        "The first 200 of {REFERRED_THIS_WEEK} are listed; <a href=\"report.json\">report.json</a> has them all."
    )));
    let people = index
        .split("id=\"people\"")
        .nth(1)
        .expect("an Everyone table");
    assert_eq!(count(people, "<th scope=\"row\""), 2000, "people listed");
    assert!(index.contains(&format!("Everyone <span class=\"count\">· {REFERRALS},")));
    assert!(index.contains("The 2000 most urgent are listed here"));
    assert!(
        !index.contains("Pay the rent <soon>"),
        "values stay escaped"
    );

    let report: serde_json::Value = serde_json::from_str(&read(&out.join("report.json"))).unwrap();
    assert_eq!(report["affiliates"].as_array().unwrap().len(), REFERRALS);
    assert_eq!(
        report["transitions"].as_array().unwrap().len(),
        REFERRED_THIS_WEEK
    );
    let csv = read(&out.join("report.csv"));
    assert_eq!(
        csv.lines().count(),
        REFERRALS + 1,
        "a header and one row each"
    );

    let feed = read(&out.join("feed.xml"));
    let entry = feed
        .split("<entry>")
        .nth(1)
        .expect("an entry for this week");
    assert_eq!(
        count(entry, " new → Uncontacted"),
        20,
        "the feed names 20 changes"
    );
    assert!(entry.contains(&format!("and {} more.", REFERRED_THIS_WEEK - 20)));

    let archived = read(&out.join("weeks/2026-W48/index.html"));
    let archived_everyone = archived
        .split("id=\"everyone\"")
        .nth(1)
        .expect("an Everyone section");
    assert_eq!(
        count(archived_everyone, "<th scope=\"row\""),
        0,
        "the archive leaves out Everyone"
    );
    assert_eq!(count(&archived, "<tr class=\"action "), 200);
}

#[test]
fn every_email_is_on_exactly_one_emails_page_and_the_pages_link_up() {
    let dir = tempfile::tempdir().unwrap();
    let (root, out) = (dir.path().join("project"), dir.path().join("out"));
    large_project(&root);
    build(&root, &out);

    let pages = REFERRALS.div_ceil(EMAILS_PER_PAGE);
    let mut seen = Vec::new();
    for page in 1..=pages {
        let file = if page == 1 {
            "index.html".to_owned()
        } else {
            format!("page-{page}.html")
        };
        let html = read(&out.join("emails").join(&file));
        let first = (page - 1) * EMAILS_PER_PAGE + 1;
        let last = (page * EMAILS_PER_PAGE).min(REFERRALS);
        assert!(
            html.contains(&format!("page {page} of {pages}: {first} to {last}")),
            "{file} says which emails it holds"
        );
        for href in html
            .split("href=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
        {
            if !href.contains(':') && !href.starts_with('#') {
                assert!(
                    out.join("emails").join(href).is_file(),
                    "{file} links to {href}"
                );
            }
        }
        for article in html.split("<article class=\"email\" id=\"").skip(1) {
            seen.push(article.split('"').next().unwrap().to_owned());
        }
    }
    assert!(
        !out.join("emails")
            .join(format!("page-{}.html", pages + 1))
            .exists()
    );
    let emails_written = fs::read_dir(out.join("emails"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "eml")
        })
        .count();
    assert_eq!(emails_written, REFERRALS);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (REFERRALS, REFERRALS));
    assert_eq!(
        seen.first().map(String::as_str),
        Some("email-person-00280--welcome"),
        "oldest due first"
    );
}
