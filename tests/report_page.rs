//! The weekly report page, `index.html`, through the real binary: the demo snapshot,
//! escaping of record text, and a user's override of the built-in template.

mod common_emails;

use std::path::Path;

use common_emails::{build_ok, demo_root, fixture, read_text};

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
