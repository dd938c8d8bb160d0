//! The emails `affrel build` writes, through the real binary: parsed back with a MIME
//! parser, attacked through record values, broken templates, missing templates, snapshots
//! and byte-identical rebuilds.

mod common_emails;

use std::fs;
use std::path::Path;

use mail_parser::{Address, Message, MessageParser, MimeHeaders};

use common_emails::{
    AS_OF, build_into, build_ok, check, demo_root, fixture, read_text, read_tree, report_json,
};

fn parse(bytes: &[u8]) -> Message<'_> {
    MessageParser::default()
        .parse(bytes)
        .expect("the .eml parses as a message")
}

/// The one mailbox of an address header, as (display name, address).
fn mailbox(address: Option<&Address<'_>>) -> (String, String) {
    let address = address.expect("the header is present");
    let list = address.as_list().expect("a plain list of mailboxes");
    assert_eq!(list.len(), 1, "exactly one mailbox in {address:?}");
    (
        list[0].name().unwrap_or_default().to_owned(),
        list[0].address().unwrap_or_default().to_owned(),
    )
}

/// The header section of a raw message: everything before the first blank line.
fn header_section(raw: &[u8]) -> &[u8] {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("the message has a blank line after its headers");
    &raw[..end]
}

/// The decoded text/plain and text/html parts of a multipart/alternative message.
fn alternative_parts(message: &Message<'_>) -> (String, String) {
    let content_type = message.content_type().expect("a Content-Type");
    assert_eq!(
        (content_type.ctype(), content_type.subtype()),
        ("multipart", Some("alternative"))
    );
    assert_eq!(message.text_body_count(), 1, "one text/plain part");
    assert_eq!(message.html_body_count(), 1, "one text/html part");
    let text_part = message.text_part(0).expect("a text part");
    let text_type = text_part.content_type().expect("the text part's type");
    assert_eq!(
        (text_type.ctype(), text_type.subtype()),
        ("text", Some("plain"))
    );
    let html_part = message.html_part(0).expect("an HTML part");
    let html_type = html_part.content_type().expect("the HTML part's type");
    assert_eq!(
        (html_type.ctype(), html_type.subtype()),
        ("text", Some("html"))
    );
    (
        text_part
            .text_contents()
            .expect("text")
            .replace("\r\n", "\n"),
        html_part
            .text_contents()
            .expect("HTML")
            .replace("\r\n", "\n"),
    )
}

/// Splits a `.txt` file into its subject and body.
fn split_txt(txt: &str) -> (&str, &str) {
    let rest = txt
        .strip_prefix("Subject: ")
        .expect(".txt starts with `Subject: `");
    rest.split_once("\n\n")
        .expect("a blank line after the subject")
}

/// Whether `needle` occurs inside an HTML tag (between a `<` and its `>`) of `html`.
fn in_a_tag(html: &str, needle: &str) -> bool {
    html.match_indices(needle).any(|(at, _)| {
        let before = &html[..at];
        before.rfind('<') > before.rfind('>')
    })
}

/// Every CR in `raw` starts a CRLF and every LF ends one, as RFC 5322 requires.
fn assert_crlf_only(raw: &[u8], name: &str) {
    for (at, &byte) in raw.iter().enumerate() {
        let ok = match byte {
            b'\r' => raw.get(at + 1) == Some(&b'\n'),
            b'\n' => at > 0 && raw[at - 1] == b'\r',
            _ => true,
        };
        assert!(ok, "{name}: a bare CR or LF at byte {at}");
    }
}

fn eml_paths(out: &Path) -> Vec<std::path::PathBuf> {
    let mut paths: Vec<_> = fs::read_dir(out.join("emails"))
        .expect("an emails folder")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "eml"))
        .collect();
    paths.sort();
    paths
}

// Every demo email is a well-formed draft: sender, recipient, subject, fixed date, an id,
// X-Unsent, and text + HTML alternatives matching the .txt, the text without Markdown links.
#[test]
fn demo_emails_parse_back_with_headers_and_both_parts() {
    let (_dir, out, _) = build_ok(&demo_root());
    let paths = eml_paths(&out);
    assert!(paths.len() >= 5, "the demo has emails due: {paths:?}");
    let mut message_ids = Vec::new();
    for path in &paths {
        let raw = fs::read(path).expect("the .eml is readable");
        let message = parse(&raw);
        let name = path.display();

        assert_eq!(
            mailbox(message.from()),
            ("Sam Rivera".to_owned(), "sam@example.com".to_owned()),
            "{name}"
        );
        let (to_name, to_address) = mailbox(message.to());
        assert!(!to_name.is_empty() && to_address.contains('@'), "{name}");
        let date = message.date().expect("a Date header");
        assert_eq!(date.to_rfc3339(), "2026-11-24T09:00:00Z", "{name}");
        let message_id = message.message_id().expect("a Message-ID");
        assert!(
            message_id.ends_with("@affrel.invalid"),
            "{name}: {message_id}"
        );
        message_ids.push(message_id.to_owned());
        assert_eq!(
            message.header_raw("X-Unsent").map(str::trim),
            Some("1"),
            "{name}"
        );
        assert!(message.bcc().is_none() && message.cc().is_none(), "{name}");

        let (text, html) = alternative_parts(&message);
        assert!(
            !text.contains("]("),
            "{name}: Markdown link syntax in the text part"
        );
        let copy = read_text(&path.with_extension("txt"));
        let (copy_subject, copy_body) = split_txt(&copy);
        assert_eq!(message.subject(), Some(copy_subject), "{name}");
        assert_eq!(text, copy_body, "{name}: text part and .txt body differ");
        assert!(html.contains("<p>Hi "), "{name}: {html}");
        assert_crlf_only(&raw, &name.to_string());
    }
    let count = message_ids.len();
    message_ids.sort();
    message_ids.dedup();
    assert_eq!(message_ids.len(), count, "Message-IDs are unique");

    let zoe = fs::read(out.join("emails/zoe-muller--nudge.eml")).expect("Zoë's nudge");
    let zoe = parse(&zoe);
    assert_eq!(
        mailbox(zoe.to()),
        (
            "Zoë Müller".to_owned(),
            "zoe.mueller@example.com".to_owned()
        )
    );
    let jose = fs::read(out.join("emails/jose-alvarez--welcome.eml")).expect("José's welcome");
    let jose = parse(&jose);
    assert_eq!(
        mailbox(jose.to()),
        (
            "José Álvarez".to_owned(),
            "jose.alvarez@example.com".to_owned()
        )
    );
    assert_eq!(
        jose.subject(),
        Some("Welcome to Inkwell Newsletters, José!")
    );
}

// A line break in a record value used in the subject cannot start a new header.
#[test]
fn motivation_with_a_line_break_cannot_add_a_bcc_header() {
    let (_dir, out, _) = build_ok(&fixture("emails-injection"));
    let raw = fs::read(out.join("emails/mallory--welcome.eml")).expect("Mallory's email");
    let message = parse(&raw);
    assert!(message.bcc().is_none(), "a Bcc header was injected");
    assert!(
        message
            .headers()
            .iter()
            .all(|h| !h.name().eq_ignore_ascii_case("bcc")),
        "a Bcc header was injected"
    );
    assert!(
        !raw.split(|&b| b == b'\n' || b == b'\r')
            .any(|line| line.to_ascii_lowercase().starts_with(b"bcc:")),
        "a line of the raw message starts with Bcc:"
    );
    assert_eq!(
        message.subject(),
        Some("About x Bcc: x@example.net, Mallory")
    );
    let txt = read_text(&out.join("emails/mallory--welcome.txt"));
    assert!(txt.starts_with("Subject: About x Bcc: x@example.net, Mallory\n\nHi Mallory,\n"));
}

// A lone CR in a value quoted in a body becomes a line break, never a bare CR in the message.
#[test]
fn carriage_returns_in_values_become_line_breaks_in_the_body() {
    let (_dir, out, _) = build_ok(&fixture("emails-injection"));
    let raw = fs::read(out.join("emails/carol--nudge.eml")).expect("Carol's email");
    assert_crlf_only(&raw, "carol--nudge.eml");
    let (text, html) = alternative_parts(&parse(&raw));
    assert!(text.contains("You told me: one\ntwo\nthree\n"), "{text}");
    assert!(html.contains("one<br />\ntwo<br />\nthree"), "{html}");
    let copy = read_text(&out.join("emails/carol--nudge.txt"));
    assert!(!copy.contains('\r'), "{copy:?}");
    assert_eq!(split_txt(&copy).1, text);
}

// A non-ASCII subject travels as RFC 2047 encoded words, folded, and decodes back exactly.
#[test]
fn non_ascii_subject_is_encoded_and_decodes_exactly() {
    let (_dir, out, _) = build_ok(&fixture("emails-injection"));
    let raw = fs::read(out.join("emails/zoe--welcome.eml")).expect("Zoë's email");
    let headers = header_section(&raw);
    assert!(headers.is_ascii(), "raw non-ASCII in the headers");
    let text = String::from_utf8_lossy(headers);
    assert!(text.contains("=?utf-8?"), "no encoded words:\n{text}");
    assert!(
        text.lines().all(|line| line.len() <= 78),
        "a header line is longer than 78 characters:\n{text}"
    );
    let message = parse(&raw);
    assert_eq!(
        message.subject(),
        Some(
            "About Ünïcödé everywhere — café, naïve, résumé, Zürich, São Paulo, 東京 and 🚀, \
             then a long tail of plain words to force folding, Zoë"
        )
    );
    assert_eq!(
        mailbox(message.to()),
        (
            "Zoë Müller-Lüdenscheidt".to_owned(),
            "zoe@example.com".to_owned()
        )
    );
}

// Markup in a record shows as text on the emails page and in the HTML part, never as
// tags, attributes or links.
#[test]
fn markup_in_records_is_escaped_on_the_emails_page_and_in_the_html_part() {
    let (_dir, out, _) = build_ok(&fixture("emails-escaping"));
    let page = read_text(&out.join("emails/index.html"));
    let eve = fs::read(out.join("emails/eve--welcome.eml")).expect("Eve's email");
    let (_, eve_html) = alternative_parts(&parse(&eve));
    let mallory = fs::read(out.join("emails/mallory--welcome.eml")).expect("Mallory's email");
    let (mallory_text, mallory_html) = alternative_parts(&parse(&mallory));

    for (what, html) in [
        ("emails/index.html", page.as_str()),
        ("Eve's HTML part", eve_html.as_str()),
    ] {
        assert!(!html.contains("<script>alert"), "{what}: raw <script>");
        assert!(!html.contains("<img"), "{what}: raw <img");
        assert!(html.contains("&lt;script&gt;alert(1)"), "{what}: {html}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{what}"
        );
    }
    for (what, html) in [
        ("emails/index.html", page.as_str()),
        ("Mallory's HTML part", mallory_html.as_str()),
    ] {
        assert!(
            !html.contains("href=\"javascript"),
            "{what}: a javascript: link"
        );
        assert!(
            !in_a_tag(html, "\" onmouseover="),
            "{what}: attribute breakout"
        );
        assert!(
            html.contains("[click](javascript:alert(1))"),
            "{what}: {html}"
        );
    }
    // The plain part carries the record's text exactly, without Markdown escapes.
    assert!(
        mallory_text.contains("You said: [click](javascript:alert(1)) \" onmouseover=\"alert(2)\n"),
        "{mallory_text}"
    );
}

// Templates that compare or test record and config values take the same branches in the
// HTML part as in the plain part: escaping for Markdown must not change what they see.
#[test]
fn html_part_says_what_the_plain_part_says() {
    let (_dir, out, _) = build_ok(&fixture("emails-html-matches-text"));
    let raw = fs::read(out.join("emails/ada--welcome.eml")).expect("Ada's email");
    let (text, html) = alternative_parts(&parse(&raw));
    for sentence in [
        "Acme Hosting pays you every month a customer stays.",
        "You asked for SEO tips: I will send three next week.",
        "Paying off loans is a fine reason.",
    ] {
        assert!(
            text.contains(sentence),
            "plain part lacks {sentence:?}:\n{text}"
        );
        assert!(
            html.contains(sentence),
            "HTML part lacks {sentence:?}:\n{html}"
        );
    }
}

/// Runs `check`, then `build` into a fresh folder and into a folder holding a previous
/// output; both must fail with the same stderr and leave everything as it was.
fn assert_fails_writing_nothing(fixture_name: &str) -> String {
    let root = fixture(fixture_name);
    let checked = check(&root, AS_OF);
    assert_eq!(checked.code, Some(1), "check: {}", checked.stderr);

    let dir = tempfile::TempDir::new().expect("a temporary folder");
    let fresh = dir.path().join("fresh");
    let built = build_into(&root, &fresh, AS_OF);
    assert_eq!(built.code, Some(1), "build: {}", built.stderr);
    assert!(!fresh.exists(), "a failed build created --out");
    assert_eq!(built.stdout, "");
    assert_eq!(built.stderr, checked.stderr, "build and check report alike");

    let previous = dir.path().join("previous");
    fs::create_dir_all(previous.join("emails")).expect("a previous output");
    fs::write(previous.join("index.html"), "last week").expect("a previous file");
    fs::write(previous.join("emails/old--welcome.eml"), "old").expect("a previous file");
    let before = read_tree(&previous);
    let again = build_into(&root, &previous, AS_OF);
    assert_eq!(again.code, Some(1));
    assert_eq!(read_tree(&previous), before, "a failed build changed --out");
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .expect("the temporary folder")
        .map(|e| e.expect("an entry").file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "a failed build left files: {leftovers:?}"
    );
    built.stderr
}

// A syntax error in a body is reported at its line in the whole file, front matter included.
#[test]
fn errors_when_template_body_has_a_syntax_error() {
    let stderr = assert_fails_writing_nothing("emails-syntax-error-in-body");
    assert!(
        stderr.starts_with("content/emails/welcome.md:7:"),
        "{stderr}"
    );
    insta::assert_snapshot!(stderr);
}

// An undefined variable is caught before anything is written, at its file line.
#[test]
fn errors_when_template_uses_an_undefined_variable() {
    let stderr = assert_fails_writing_nothing("emails-undefined-variable");
    assert!(
        stderr.starts_with("content/emails/welcome.md:7:"),
        "{stderr}"
    );
    assert!(stderr.contains("nickname"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

// An undefined variable in a branch only a real record takes still fails the build.
#[test]
fn errors_when_undefined_variable_is_in_a_branch_taken_by_a_record() {
    let stderr = assert_fails_writing_nothing("emails-undefined-variable-in-branch");
    assert!(
        stderr.starts_with("content/emails/welcome.md:6:"),
        "{stderr}"
    );
    insta::assert_snapshot!(stderr);
}

// A syntax error in the subject points at the subject's line in the front matter.
#[test]
fn errors_when_template_subject_has_a_syntax_error() {
    let stderr = assert_fails_writing_nothing("emails-syntax-error-in-subject");
    assert!(
        stderr.starts_with("content/emails/welcome.md:3:"),
        "{stderr}"
    );
    insta::assert_snapshot!(stderr);
}

// A broken override of a report template fails the build and names the user's file.
#[test]
fn errors_when_a_report_template_override_is_broken() {
    let stderr = assert_fails_writing_nothing("emails-broken-override");
    assert!(stderr.starts_with("templates/index.html:3:"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

// A due action whose kind has no template still shows in the report, gets no email and
// one warning, and report.json says so.
#[test]
fn action_kind_without_template_gets_no_email_and_one_warning() {
    let (_dir, out, run) = build_ok(&fixture("emails-missing-template"));
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.contains("warning"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].starts_with("content/emails/nudge.md: warning: "),
        "{}",
        warnings[0]
    );

    let index = read_text(&out.join("index.html"));
    assert_eq!(index.matches("data-kind=\"nudge\"").count(), 2, "{index}");
    assert!(index.contains("Ben Carter") && index.contains("Cleo Park"));

    let files: Vec<String> = read_tree(&out.join("emails"))
        .into_keys()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(
        files,
        ["ada--welcome.eml", "ada--welcome.txt", "index.html"]
    );

    let report = report_json(&out);
    let email_of = |id: &str| {
        report["affiliates"]
            .as_array()
            .expect("affiliates")
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("{id} is in report.json"))["next_action"]["email"]
            .clone()
    };
    assert_eq!(email_of("ben"), serde_json::Value::Null);
    assert_eq!(email_of("cleo"), serde_json::Value::Null);
    assert_eq!(email_of("ada"), "emails/ada--welcome.eml");
}

// Every email named in the demo's report.json exists, and every email written is named.
#[test]
fn report_json_names_exactly_the_emails_written() {
    let (_dir, out, _) = build_ok(&demo_root());
    let report = report_json(&out);
    let mut named: Vec<String> = report["affiliates"]
        .as_array()
        .expect("affiliates")
        .iter()
        .filter_map(|a| a["next_action"]["email"].as_str().map(str::to_owned))
        .collect();
    named.sort();
    for path in &named {
        assert!(out.join(path).is_file(), "{path} is named but missing");
    }
    let written: Vec<String> = eml_paths(&out)
        .iter()
        .map(|p| {
            format!(
                "emails/{}",
                p.file_name().unwrap_or_default().to_string_lossy()
            )
        })
        .collect();
    assert_eq!(named, written);
}

// The demo's emails, byte for byte (line endings shown as LF): the wording users send.
#[test]
fn demo_email_snapshots() {
    let (_dir, out, _) = build_ok(&demo_root());
    let eml_with_lf = |name: &str| {
        let path = out.join("emails").join(name);
        assert_crlf_only(&fs::read(&path).expect("the .eml is readable"), name);
        read_text(&path).replace("\r\n", "\n")
    };
    let sofia_eml = eml_with_lf("sofia-rossi--follow_up.eml");
    insta::assert_snapshot!("sofia_rossi_follow_up_eml", sofia_eml);
    let sofia_txt = read_text(&out.join("emails/sofia-rossi--follow_up.txt"));
    insta::assert_snapshot!("sofia_rossi_follow_up_txt", sofia_txt);
    let jose_eml = eml_with_lf("jose-alvarez--welcome.eml");
    insta::assert_snapshot!("jose_alvarez_welcome_eml", jose_eml);
}

// Same content and date give the same bytes in every file, emails included.
#[test]
fn rebuilding_gives_byte_identical_output() {
    let (_first_dir, first, _) = build_ok(&demo_root());
    let (_second_dir, second, _) = build_ok(&demo_root());
    let first = read_tree(&first);
    let second = read_tree(&second);
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    assert!(first.keys().any(|p| p.ends_with("emails/index.html")));
    for (path, bytes) in &first {
        assert!(
            &second[path] == bytes,
            "{} differs between builds",
            path.display()
        );
    }
}
