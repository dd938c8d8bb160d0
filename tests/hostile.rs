//! Hostile input through the real binary, judged by what a reader sees: markup and template
//! syntax in every string field stay text, nothing adds a header to an email, invisible
//! characters cannot disguise a name, and odd files never hang, panic or damage the previous
//! output.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SCRIPT: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>";
/// Template syntax that would print `pwned` only if it were evaluated.
const TEMPLATE: &str = "{{ \"pw\" ~ \"ned\" }}{% set x = \"pw\" ~ \"ned2\" %}{{ x }}";

fn affrel(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_affrel"));
    command
        .args(args)
        .env_remove("SOURCE_DATE_EPOCH")
        .stdin(Stdio::null());
    command
}

/// Runs a command, killing it after `limit`: a hang fails the test instead of stalling it.
fn run_within(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("affrel starts");
    let started = Instant::now();
    while child.try_wait().expect("waitable").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("affrel ran for more than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output collected")
}

fn build(root: &Path, public: bool) -> Output {
    let out = root.join("output");
    let mut args = vec![
        "build",
        "--root",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--as-of",
        "2026-11-24",
    ];
    if public {
        args.push("--public");
    }
    run_within(&mut affrel(&args), Duration::from_secs(60))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn exit(output: &Output) -> Option<i32> {
    output.status.code()
}

/// A YAML double-quoted scalar holding `value`.
fn quoted(value: &str) -> String {
    serde_json::to_string(value).expect("JSON strings are YAML double-quoted scalars")
}

/// A project whose every string field holds `payload`: sender, program, report title,
/// and a referral due a welcome (so its email is written) with name, motivation, notes, tags
/// and an event note.
fn project_with(payload: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("content");
    fs::create_dir_all(content.join("referrals")).unwrap();
    fs::create_dir_all(content.join("emails")).unwrap();
    let q = quoted(payload);
    let url = quoted(&format!("https://x.example/\"{payload}"));
    let sender = quoted(&format!("Sam {payload}"));
    fs::write(
        content.join("config.yaml"),
        format!(
            "sender:\n  name: {sender}\n  email: sam@example.com\n  signature: {q}\nprograms:\n  - id: acme\n    name: {q}\n    url: {url}\n    residual_commissions: true\n    residual_rate: 0.1\nreport:\n  title: {q}\n  history_weeks: 2\n"
        ),
    )
    .unwrap();
    let name = quoted(&format!("Eve {payload}"));
    fs::write(
        content.join("referrals/eve.yaml"),
        format!(
            "name: {name}\nemail: eve@example.com\nprogram: acme\nreferred_on: 2026-11-20\nmotivation: {q}\nnotes: {q}\ntags: [{q}]\nevents:\n  - {{ date: 2026-11-21, type: reply, note: {q} }}\n"
        ),
    )
    .unwrap();
    for template in
        fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("content/emails")).unwrap()
    {
        let template = template.unwrap();
        fs::copy(
            template.path(),
            content.join("emails").join(template.file_name()),
        )
        .unwrap();
    }
    dir
}

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .collect()
}

// Markup in every field is shown as text everywhere: pages, feed, calendar, spreadsheet and
// both parts of every email; nothing from a record becomes an element.
#[test]
fn markup_in_every_field_stays_text() {
    let dir = project_with(SCRIPT);
    for public in [false, true] {
        let output = build(dir.path(), public);
        assert_eq!(exit(&output), Some(0), "{}", text(&output.stderr));
        let out = dir.path().join("output");
        // Pages and the feed are rendered as markup; JSON, CSV, calendar and .txt files hold
        // the text as data, and the emails' HTML part is checked below.
        for file in files(&out)
            .into_iter()
            .filter(|f| f.extension().is_some_and(|e| e == "html" || e == "xml"))
        {
            let body = text(&fs::read(&file).unwrap());
            assert!(!body.contains("<script>alert"), "{}", file.display());
            assert!(!body.contains("<img src=x"), "{}", file.display());
        }
        let index = text(&fs::read(out.join("index.html")).unwrap());
        if !public {
            assert!(
                index.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;")
                    || index.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
            );
            let eml = fs::read(out.join("emails/eve--welcome.eml")).unwrap();
            let message = mail_parser::MessageParser::default().parse(&eml).unwrap();
            let html = message.body_html(0).unwrap();
            assert!(!html.contains("<script"), "{html}");
            assert!(
                html.contains("&lt;script&gt;") || html.contains("&lt;script"),
                "{html}"
            );
        }
    }
}

// Template syntax in record values is printed as written, never evaluated.
#[test]
fn template_syntax_in_values_is_never_evaluated() {
    let dir = project_with(TEMPLATE);
    let output = build(dir.path(), false);
    assert_eq!(exit(&output), Some(0), "{}", text(&output.stderr));
    let out = dir.path().join("output");
    for file in files(&out) {
        let body = text(&fs::read(&file).unwrap());
        assert!(!body.contains("pwned"), "evaluated in {}", file.display());
    }
    let txt = text(&fs::read(out.join("emails/eve--welcome.txt")).unwrap());
    assert!(txt.contains("{{ \"pw\" ~ \"ned\" }}"), "{txt}");
}

/// The names of the headers of a message.
fn header_names(eml: &[u8]) -> Vec<String> {
    let message = mail_parser::MessageParser::default().parse(eml).unwrap();
    message
        .headers()
        .iter()
        .map(|h| h.name().to_ascii_lowercase())
        .collect()
}

// Line separators that are not control characters (U+2028, U+2029) reach headers only
// encoded: every email has the same headers as a plain one, and no raw separator.
#[test]
fn unicode_line_separators_add_no_header() {
    let plain = project_with("plain");
    assert_eq!(exit(&build(plain.path(), false)), Some(0));
    let expected =
        header_names(&fs::read(plain.path().join("output/emails/eve--welcome.eml")).unwrap());
    for separator in [
        "\u{2028}Bcc: spy@example.com",
        "\u{2029}Bcc: spy@example.com",
    ] {
        let dir = project_with(separator);
        let output = build(dir.path(), false);
        assert_eq!(exit(&output), Some(0), "{}", text(&output.stderr));
        let eml = fs::read(dir.path().join("output/emails/eve--welcome.eml")).unwrap();
        assert_eq!(header_names(&eml), expected);
        let head_end = eml.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = text(&eml[..head_end]);
        assert!(
            !head.contains('\u{2028}') && !head.contains('\u{2029}'),
            "{head}"
        );
        assert!(!head.to_ascii_lowercase().contains("\r\nbcc:"), "{head}");
    }
}

// CR, LF and NEL in any field that reaches a header are refused with a located error, and
// the previous output stays as it was.
#[test]
fn line_breaks_in_header_fields_are_refused() {
    for breaker in ["\\r", "\\n", "\\N"] {
        let dir = project_with("fine");
        assert_eq!(exit(&build(dir.path(), false)), Some(0));
        let before = fs::read(dir.path().join("output/report.json")).unwrap();
        let config = dir.path().join("content/config.yaml");
        let original = fs::read_to_string(&config).unwrap();
        let broken = format!("name: \"Acme{breaker}Bcc: spy@example.com\"");
        fs::write(&config, original.replacen("name: \"fine\"", &broken, 1)).unwrap();
        let record = dir.path().join("content/referrals/eve.yaml");
        let original = fs::read_to_string(&record).unwrap();
        let broken = format!("name: \"Eve{breaker}Bcc: x@y.z\"");
        fs::write(&record, original.replacen("name: \"Eve fine\"", &broken, 1)).unwrap();
        let output = build(dir.path(), false);
        assert_eq!(exit(&output), Some(1), "{breaker}");
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains(
                "content/config.yaml:7:11: error: program name contains a control character"
            ),
            "{stderr}"
        );
        assert!(
            stderr.contains(
                "content/referrals/eve.yaml:1:7: error: name contains a control character"
            ),
            "{stderr}"
        );
        assert_eq!(
            fs::read(dir.path().join("output/report.json")).unwrap(),
            before
        );
    }
}

// Bidirectional controls and invisible characters cannot disguise a name or an address.
#[test]
fn invisible_characters_in_names_and_addresses_are_refused() {
    for invisible in ["\u{202E}", "\u{2066}", "\u{200B}", "\u{FEFF}"] {
        let dir = project_with("fine");
        let record = dir.path().join("content/referrals/eve.yaml");
        let original = fs::read_to_string(&record).unwrap();
        let disguised = original
            .replacen("Eve fine", &format!("Eve{invisible}gnp.exe"), 1)
            .replacen("eve@example.com", &format!("eve{invisible}@example.com"), 1);
        fs::write(&record, disguised).unwrap();
        let config = dir.path().join("content/config.yaml");
        let original = fs::read_to_string(&config).unwrap();
        fs::write(
            &config,
            original.replacen("\"Sam fine\"", &format!("\"Sam{invisible}\""), 1),
        )
        .unwrap();
        let output = build(dir.path(), false);
        assert_eq!(exit(&output), Some(1));
        let stderr = text(&output.stderr);
        let code = format!("U+{:04X}", u32::from(invisible.chars().next().unwrap()));
        assert!(stderr.contains(&format!("content/referrals/eve.yaml:1:7: error: name contains the invisible character {code}")), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "eve.yaml:2:8: error: email address contains the invisible character {code}"
            )),
            "{stderr}"
        );
        assert!(stderr.contains(&format!("content/config.yaml:2:9: error: sender name contains the invisible character {code}")), "{stderr}");
    }
    // Joiners are part of real names (Persian, Indic) and stay allowed in them.
    let dir = project_with("fine");
    let record = dir.path().join("content/referrals/eve.yaml");
    let original = fs::read_to_string(&record).unwrap();
    fs::write(
        &record,
        original.replacen("Eve fine", "Eve می\u{200C}خواهم", 1),
    )
    .unwrap();
    assert_eq!(exit(&build(dir.path(), false)), Some(0));
}

// A 100 000-character name is refused with a located error, never written into a header.
#[test]
fn a_very_long_name_is_refused() {
    let dir = project_with(&"n".repeat(100_000));
    let output = build(dir.path(), false);
    assert_eq!(exit(&output), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(
            "content/referrals/eve.yaml:1:7: error: name is 100004 characters long, more than 200"
        ),
        "{stderr}"
    );
}

// A 50 MB referral file is refused at once with a clear message; the output stays.
#[test]
fn a_huge_file_is_refused_quickly() {
    let dir = project_with("fine");
    assert_eq!(exit(&build(dir.path(), false)), Some(0));
    let before = fs::read(dir.path().join("output/report.json")).unwrap();
    let huge = format!("name: Big\nnotes: \"{}\"\n", "x".repeat(50_000_000));
    fs::write(dir.path().join("content/referrals/big.yaml"), huge).unwrap();
    let started = Instant::now();
    let output = build(dir.path(), false);
    assert_eq!(exit(&output), Some(1));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(text(&output.stderr).contains("content/referrals/big.yaml: error: the file is 50 MB"));
    assert_eq!(
        fs::read(dir.path().join("output/report.json")).unwrap(),
        before
    );
}

// A FIFO, a folder and a dangling link named like records, and a link loop: never a hang or
// a panic; the FIFO is ignored with a warning, the broken links are errors.
#[cfg(unix)]
#[test]
fn special_files_under_referrals_never_hang() {
    use std::os::unix::fs::symlink;
    let dir = project_with("fine");
    let referrals = dir.path().join("content/referrals");
    let fifo = referrals.join("x.yaml");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    fs::create_dir(referrals.join("folder.yaml")).unwrap();
    let output = build(dir.path(), false);
    assert_eq!(exit(&output), Some(0), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr)
            .contains("content/referrals/x.yaml: warning: ignored: not a regular file")
    );
    let before = fs::read(dir.path().join("output/report.json")).unwrap();

    symlink(
        referrals.join("missing.yaml"),
        referrals.join("dangling.yaml"),
    )
    .unwrap();
    fs::create_dir(referrals.join("loop")).unwrap();
    symlink(&referrals, referrals.join("loop/back")).unwrap();
    let output = build(dir.path(), false);
    assert_eq!(exit(&output), Some(1), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("dangling.yaml"), "{stderr}");
    assert!(stderr.contains("loop"), "{stderr}");
    assert_eq!(
        fs::read(dir.path().join("output/report.json")).unwrap(),
        before
    );
}

// An unreadable record is an error naming it (as root every file is readable, so this is
// checked only as another user).
#[cfg(unix)]
#[test]
fn an_unreadable_file_is_an_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = project_with("fine");
    let record = dir.path().join("content/referrals/eve.yaml");
    fs::set_permissions(&record, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read(&record).is_ok() {
        eprintln!("skipped: running as root, so an unreadable file cannot be made");
        return;
    }
    let output = build(dir.path(), false);
    assert_eq!(exit(&output), Some(1));
    assert!(
        text(&output.stderr).contains("content/referrals/eve.yaml: error: cannot read the file")
    );
}

// A user's template override that prints record values still escapes them.
#[test]
fn an_override_template_escapes_record_values() {
    let dir = project_with(SCRIPT);
    fs::create_dir_all(dir.path().join("templates")).unwrap();
    fs::write(
        dir.path().join("templates/index.html"),
        "<!DOCTYPE html><title>{{ title }}</title>{% for p in people %}<p>{{ p.who }} {{ p.motivation }}</p>{% endfor %}\n",
    )
    .unwrap();
    let output = build(dir.path(), false);
    assert_eq!(exit(&output), Some(0), "{}", text(&output.stderr));
    let index = text(&fs::read(dir.path().join("output/index.html")).unwrap());
    assert!(!index.contains("<script>alert"), "{index}");
    assert!(index.contains("&lt;script&gt;"), "{index}");
}
