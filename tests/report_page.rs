//! The weekly report page, `index.html`, through the real binary: the demo snapshot,
//! escaping of record text, and a user's override of the built-in template.

mod common_emails;

use std::path::Path;

use common_emails::{AS_OF, affrel, build_ok, demo_root, fixture, path_str, read_text, read_tree};

// The demo's report page, whole: layout, wording and every figure at a fixed date.
#[test]
fn demo_report_page_snapshot() {
    let (_dir, out, _) = build_ok(&demo_root());
    let index = read_text(&out.join("index.html"));
    insta::assert_snapshot!("demo_index_html", index);
}

// The demo's page lists this week's actions with links to emails that exist.
#[test]
fn demo_report_page_links_every_due_email() {
    let (_dir, out, _) = build_ok(&demo_root());
    let index = read_text(&out.join("index.html"));
    let links: Vec<&str> = index
        .match_indices("href=\"emails/")
        .map(|(at, _)| {
            let rest = &index[at + "href=\"".len()..];
            &rest[..rest.find('"').expect("a closing quote")]
        })
        .filter(|href| Path::new(href).extension().is_some_and(|e| e == "eml"))
        .collect();
    assert!(links.len() >= 5, "{links:?}");
    for link in links {
        assert!(out.join(link).is_file(), "{link} is linked but missing");
    }
    assert!(index.contains("class=\"action overdue\""), "no overdue row");
    // Self-contained: nothing is fetched from the network.
    for fetch in ["<link", "src=\"http", "@import", "url(http"] {
        assert!(!index.contains(fetch), "index.html fetches with {fetch}");
    }
}

// Markup in a record's name or motivation shows as text on the report page, never as
// tags, attributes or links.
#[test]
fn markup_in_records_is_escaped_on_the_report_page() {
    let (_dir, out, _) = build_ok(&fixture("emails-escaping"));
    let index = read_text(&out.join("index.html"));
    assert!(
        !index.contains("<script>alert"),
        "raw <script> from a record"
    );
    assert!(!index.contains("<img"), "raw <img from a record");
    assert!(!index.contains("href=\"javascript"), "a javascript: link");
    assert!(index.contains("&lt;script&gt;alert(1)&lt;/script&gt; Eve"));
    assert!(index.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(index.contains("[click](javascript:alert(1)) &quot; onmouseover=&quot;alert(2)"));
}

// A user's templates/index.html replaces the built-in report page.
#[test]
fn user_override_of_index_html_is_used() {
    let (_dir, out, _) = build_ok(&fixture("emails-override"));
    assert_eq!(
        read_text(&out.join("index.html")),
        "<p>My own report for 2026-W48</p>\n"
    );
    // The other pages still come from the built-in templates.
    let emails = read_text(&out.join("emails/index.html"));
    assert!(emails.contains("Ada Lovelace"), "{emails}");
}

/// Copies a fixture project into a temporary folder, to change it there.
fn copy_of(fixture_name: &str) -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("a folder");
        for entry in std::fs::read_dir(from).expect("a readable folder") {
            let entry = entry.expect("an entry");
            let target = to.join(entry.file_name());
            if entry.file_type().expect("a file type").is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).expect("a copied file");
            }
        }
    }
    let dir = tempfile::tempdir().expect("a temporary folder");
    copy(&fixture(fixture_name), dir.path());
    dir
}

// Tags show, escaped, in the private "Everyone" table, where the filter searches them; a
// public report never shows them.
#[test]
fn tags_show_escaped_in_private_reports_and_never_in_public_ones() {
    let root = copy_of("emails-escaping");
    let eve = root.path().join("content/referrals/eve.yaml");
    let record = read_text(&eve) + "tags: [\"<b>vip</b>\", newsletter]\n";
    std::fs::write(&eve, record).expect("a record with tags");

    let (_dir, out, _) = build_ok(root.path());
    let index = read_text(&out.join("index.html"));
    assert!(!index.contains("<b>vip"), "raw markup from a tag");
    assert!(
        index.contains("<span class=\"tags\" data-find>&lt;b&gt;vip&lt;/b&gt; · newsletter</span>"),
        "{index}"
    );

    let public = tempfile::tempdir().expect("a temporary folder");
    let run = affrel(&[
        "build",
        "--root",
        path_str(root.path()),
        "--out",
        path_str(public.path()),
        "--as-of",
        AS_OF,
        "--public",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    for (path, bytes) in read_tree(public.path()) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("vip"), "{} shows a tag", path.display());
    }
}

// Under each email, the emails page shows the command that records it once sent, with a copy
// button, and the email's card has a valid HTML id.
#[test]
fn emails_page_shows_the_command_that_records_each_email() {
    let (_dir, out, _) = build_ok(&demo_root());
    let page = read_text(&out.join("emails/index.html"));
    let mut emails = 0;
    for entry in std::fs::read_dir(out.join("emails")).expect("an emails folder") {
        let name = entry.expect("an entry").file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".eml")) else {
            continue;
        };
        let (id, _kind) = stem.split_once("--").expect("<id>--<kind>");
        emails += 1;
        assert!(
            page.contains(&format!("<code>affrel done {id}</code>")),
            "{id}"
        );
        assert!(
            page.contains(&format!("data-copy=\"affrel done {id}\"")),
            "{id}"
        );
        assert!(page.contains(&format!("id=\"email-{stem}\"")), "{stem}");
    }
    assert!(emails >= 5, "{emails} emails");
}
