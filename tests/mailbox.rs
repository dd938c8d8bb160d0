//! `affrel drafts` and `affrel send` against real servers the tests start on 127.0.0.1:
//! Dovecot for IMAP and aiosmtpd for SMTP, with a certificate authority made for each test.
//! The demo project, as of 2026-11-24, has ten emails due.

use std::fmt::Write as _;
use std::fs;
use std::process::Stdio;

mod common;
mod servers;

use common::{Immutable, affrel, assert_exit, demo, text};
use servers::project::{
    DUE, Setup, both, built_emails, command, message_id, project, record_path, recorded_ids,
    records, run, run_with_password, seen,
};
use servers::{Dovecot, PASSWORD, SmtpOptions, TestCa, USER, free_port, start_both};

/// Dovecot, and the demo project using it, after a first `drafts` run (checked on the way)
/// with one draft of the user's own in the folder first. `None` when Dovecot is missing.
fn drafted() -> Option<(TestCa, Dovecot, tempfile::TempDir, Vec<u8>)> {
    let ca = TestCa::new();
    let dovecot = Dovecot::start(&ca)?;
    let dir = project(&ca, &Setup::new(&dovecot, free_port()));
    let own = b"From: Sam <sam@example.com>\r\nTo: friend@example.org\r\nSubject: my own draft\r\nMessage-ID: <own-1@example.com>\r\n\r\nNot from affrel.\r\n".to_vec();
    dovecot.append("Drafts", &own, &[imap::types::Flag::Draft]);
    let first = run(dir.path(), &["drafts"]);
    assert_exit(&first, 0);
    let summary = format!("drafts in Drafts: {DUE} added, 0 kept, 0 replaced, 0 removed");
    assert!(
        text(&first.stdout).contains(&summary),
        "{}",
        text(&first.stdout)
    );
    Some((ca, dovecot, dir, own))
}

// A drafts folder whose name holds a double quote and a backslash works: every command
// quotes folder names, APPEND included.
#[test]
fn a_folder_name_with_quotes_and_backslashes_works() {
    let ca = TestCa::new();
    let Some(dovecot) = Dovecot::start(&ca) else {
        return;
    };
    let folder = "Q\"uo\\te";
    let mut client = dovecot.client();
    client.create(folder).expect("the folder is made");
    let _ = client.logout();
    let setup = Setup {
        drafts_folder: Some("'Q\"uo\\te'"),
        ..Setup::new(&dovecot, free_port())
    };
    let dir = project(&ca, &setup);
    let dry = run(dir.path(), &["drafts", "--dry-run"]);
    assert_exit(&dry, 0);
    assert!(dovecot.messages(folder).is_empty());
    let output = run(dir.path(), &["drafts"]);
    assert_exit(&output, 0);
    assert_eq!(
        dovecot.messages(folder).len(),
        DUE,
        "{}",
        text(&output.stdout)
    );
    let again = run(dir.path(), &["drafts"]);
    assert_exit(&again, 0);
    assert_eq!(dovecot.messages(folder).len(), DUE);
}

// `drafts --dry-run` changes nothing; `drafts` puts each email due into the drafts folder
// once, flagged \Draft, each parsing back to its .eml; a second run adds nothing; the user's
// own draft is left as it was.
#[test]
fn drafts_are_added_once_and_read_as_their_eml() {
    let ca = TestCa::new();
    let Some(dovecot) = Dovecot::start(&ca) else {
        return;
    };
    let dir = project(&ca, &Setup::new(&dovecot, free_port()));
    let root = dir.path();
    let dry = run(root, &["drafts", "--dry-run"]);
    assert_exit(&dry, 0);
    let would = format!("would be {DUE} added, 0 kept, 0 replaced, 0 removed");
    assert!(text(&dry.stdout).contains(&would), "{}", text(&dry.stdout));
    assert!(
        dovecot.messages("Drafts").is_empty(),
        "a dry run changes nothing"
    );
    drop((dovecot, dir));

    let Some((_ca, dovecot, dir, own)) = drafted() else {
        return;
    };
    let root = dir.path();
    let drafts = dovecot.messages("Drafts");
    assert_eq!(drafts.len(), DUE + 1);
    assert_eq!(drafts[0].1, own, "the user's draft is untouched");
    let built = built_emails(root);
    assert_eq!(built.len(), DUE);
    for (flags, bytes) in &drafts[1..] {
        assert!(
            flags.iter().any(|f| f == "Draft"),
            "flagged \\Draft: {flags:?}"
        );
        let id = message_id(bytes);
        let (_, eml) = built
            .iter()
            .find(|(built_id, _)| *built_id == id)
            .expect("a draft of a built email");
        assert_eq!(seen(bytes), seen(eml), "the draft reads as its .eml");
        assert!(!text(bytes).contains("X-Unsent"));
    }
    let again = run(root, &["drafts"]);
    assert_exit(&again, 0);
    let kept = format!("drafts in Drafts: 0 added, {DUE} kept, 0 replaced, 0 removed");
    assert!(
        text(&again.stdout).contains(&kept),
        "{}",
        text(&again.stdout)
    );
    assert_eq!(
        dovecot.messages("Drafts"),
        drafts,
        "a second run changes nothing"
    );
}

// Two `drafts` runs started at once take turns: each email is in the folder once.
#[test]
fn two_drafts_runs_at_once_add_each_draft_once() {
    let ca = TestCa::new();
    let Some(dovecot) = Dovecot::start(&ca) else {
        return;
    };
    let dir = project(&ca, &Setup::new(&dovecot, free_port()));
    let root = dir.path();
    let runs: Vec<_> = (0..2)
        .map(|_| {
            command(root, &["drafts"], PASSWORD)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for run in runs {
        assert_exit(&run.wait_with_output().unwrap(), 0);
    }
    let drafts = dovecot.messages("Drafts");
    let mut ids: Vec<String> = drafts.iter().map(|(_, bytes)| message_id(bytes)).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((drafts.len(), ids.len()), (DUE, DUE));
}

// A drafts folder the server does not have: exit 1, and the help lists the server's own
// folders, its drafts and sent folders marked and names beyond ASCII decoded, to copy from.
#[test]
fn a_missing_folder_is_named_with_the_servers_folders() {
    let ca = TestCa::new();
    let Some(dovecot) = Dovecot::start(&ca) else {
        return;
    };
    dovecot.client().create("Entw&APw-rfe").unwrap();
    let setup = Setup {
        drafts_folder: Some("Brouillons"),
        ..Setup::new(&dovecot, free_port())
    };
    let dir = project(&ca, &setup);
    let root = dir.path();
    let output = run(root, &["drafts"]);
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cannot open the folder `Brouillons`"),
        "{stderr}"
    );
    assert!(
        stderr.contains(r#"this server's folders are "Drafts" (drafts), "Sent" (sent), "#),
        "{stderr}"
    );
    assert!(stderr.contains(r#""Entwürfe""#), "{stderr}");
    assert!(stderr.contains(r#""INBOX""#), "{stderr}");
    assert!(
        stderr.contains(r#"Copy a name with its quotes, as in `drafts: "Drafts"`"#),
        "{stderr}"
    );
}

// `save_sent` with a sent folder the server does not have: the run stops before sending
// anything, naming the folders that exist.
#[test]
fn a_missing_sent_folder_stops_send_before_sending() {
    let Some((ca, dovecot, smtp)) = start_both(&SmtpOptions::default()) else {
        return;
    };
    let setup = Setup {
        save_sent: true,
        sent_folder: Some("Gesendet"),
        ..Setup::new(&dovecot, smtp.port)
    };
    let dir = project(&ca, &setup);
    let root = dir.path();
    let before = records(root);
    let output = run(root, &["send", "--yes"]);
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cannot open the folder `Gesendet`"),
        "{stderr}"
    );
    assert!(stderr.contains(r#""Sent" (sent)"#), "{stderr}");
    assert!(smtp.received().is_empty(), "nothing was sent");
    assert_eq!(records(root), before);
}

// A corrected address replaces affrel's draft with one to the new address: the draft never
// stays addressed to the old one.
#[test]
fn a_corrected_address_replaces_the_draft() {
    let Some((_ca, dovecot, dir, _own)) = drafted() else {
        return;
    };
    let root = dir.path();
    let tom = record_path(root, "tom-becker");
    let record = fs::read_to_string(&tom).unwrap();
    let old_address = record
        .lines()
        .find_map(|l| l.strip_prefix("email: "))
        .expect("an email line")
        .trim()
        .to_owned();
    fs::write(
        &tom,
        record.replace(&old_address, "tom.becker@mail.example"),
    )
    .unwrap();
    let corrected = run(root, &["drafts"]);
    assert_exit(&corrected, 0);
    assert!(
        text(&corrected.stdout).contains("0 added, 9 kept, 1 replaced, 0 removed"),
        "{}",
        text(&corrected.stdout)
    );
    let drafts_now = dovecot.messages("Drafts");
    assert!(
        drafts_now
            .iter()
            .any(|(_, b)| text(b).contains("tom.becker@mail.example"))
    );
    assert!(
        !drafts_now
            .iter()
            .any(|(_, b)| text(b).contains(&old_address))
    );
}

// A draft the user edited is theirs: neither replaced nor added again. A template edit
// replaces affrel's drafts of the emails it changes; a done action removes its draft.
#[test]
fn drafts_follow_edits_templates_and_done_actions() {
    let Some((_ca, dovecot, dir, own)) = drafted() else {
        return;
    };
    let root = dir.path();
    dovecot.edit_draft("jose.alvarez@example.com", |draft| {
        draft.replace("Welcome", "Warm welcome")
    });
    let yours = run(root, &["drafts"]);
    assert_exit(&yours, 0);
    let stdout = text(&yours.stdout);
    assert!(
        stdout.contains(
            "0 added, 9 kept, 0 replaced, 0 removed, 1 edited by you and left as they are"
        ),
        "{stdout}"
    );
    assert_eq!(dovecot.messages("Drafts").len(), DUE + 1);

    // The welcome template changes: affrel's welcome drafts are replaced, and José's, which
    // the user edited, stays the only draft of his welcome.
    let template = root.join("content/emails/welcome.md");
    let welcome = fs::read_to_string(&template).unwrap();
    fs::write(
        &template,
        welcome.replacen("\n---\n", "\n---\nP.S. Reply any time.\n\n", 1),
    )
    .unwrap();
    let edited_run = run(root, &["drafts"]);
    assert_exit(&edited_run, 0);
    let stdout = text(&edited_run.stdout);
    assert!(
        stdout.contains(
            "0 added, 7 kept, 2 replaced, 0 removed, 1 edited by you and left as they are"
        ),
        "{stdout}"
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.contains("jose.alvarez"))
            .count(),
        1,
        "one line per draft: {stdout}"
    );
    let after_edit = dovecot.messages("Drafts");
    assert_eq!(
        after_edit.len(),
        DUE + 1,
        "one draft per email: the edited one is José's"
    );
    assert_eq!(
        after_edit
            .iter()
            .filter(|(_, b)| text(b).contains("jose.alvarez@example.com"))
            .count(),
        1
    );
    assert!(
        after_edit
            .iter()
            .any(|(_, b)| text(b).contains("Warm welcome"))
    );
    let new_welcomes = after_edit
        .iter()
        .filter(|(_, b)| text(b).contains("P.S. Reply any time."))
        .count();
    assert_eq!(
        new_welcomes, 2,
        "Tom's and Priya's welcomes have the new text"
    );

    // Kenji's congratulation is done: its draft goes.
    assert_exit(&run(root, &["done", "kenji-watanabe"]), 0);
    let done_run = run(root, &["drafts"]);
    assert_exit(&done_run, 0);
    let stdout = text(&done_run.stdout);
    assert!(
        stdout.contains("0 added, 8 kept, 0 replaced, 1 removed, 1 edited by you"),
        "{stdout}"
    );
    let last = dovecot.messages("Drafts");
    assert!(
        !last
            .iter()
            .any(|(_, b)| text(b).contains("kenji@inbox.example"))
    );
    assert_eq!(last[0].1, own, "the user's own draft is still untouched");
    assert!(
        last.iter().any(|(_, b)| text(b).contains("Warm welcome")),
        "and so is the edited one"
    );
}

// `send` without `--yes` sends nothing; `--yes --limit 2` sends two, records each with its
// Message-ID and files a copy in Sent; a second `--yes` sends only the rest.
#[test]
fn send_lists_then_sends_and_records_each_email_once() {
    let Some((ca, dovecot, smtp)) = start_both(&SmtpOptions::default()) else {
        return;
    };
    let setup = Setup {
        save_sent: true,
        ..Setup::new(&dovecot, smtp.port)
    };
    let dir = project(&ca, &setup);
    let root = dir.path();
    let before = records(root);

    let listed = run(root, &["send"]);
    assert_exit(&listed, 0);
    assert!(text(&listed.stdout).contains(&format!("would send {DUE} emails; nothing was sent")));
    assert!(text(&listed.stdout).contains(
        "José Álvarez <jose.alvarez@example.com>: Welcome to Inkwell Newsletters, José!"
    ));
    assert!(smtp.received().is_empty());
    assert_eq!(records(root), before);

    let two = run(root, &["send", "--yes", "--limit", "2"]);
    assert_exit(&two, 0);
    let received = smtp.received();
    assert_eq!(received.len(), 2);
    let recorded = recorded_ids(root);
    assert_eq!(recorded.len(), 2);
    for (recipients, bytes) in &received {
        assert_eq!(recipients.len(), 1);
        let id = message_id(bytes);
        assert!(recorded.iter().any(|(_, r)| *r == id), "{id} is recorded");
        assert!(!text(bytes).contains("X-Unsent"));
    }
    assert_eq!(
        dovecot.messages("Sent").len(),
        2,
        "a copy of each is in Sent"
    );

    // The rest: the eight not sent yet, and José's follow-up, which his recorded welcome
    // made due (he already has a sale).
    let rest = run(root, &["send", "--yes"]);
    assert_exit(&rest, 0);
    assert!(
        text(&rest.stdout).contains("sent and recorded 9 emails"),
        "{}",
        text(&rest.stdout)
    );
    let received = smtp.received();
    assert_eq!(received.len(), DUE + 1);
    let mut ids: Vec<String> = received.iter().map(|(_, b)| message_id(b)).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), DUE + 1, "no email was sent twice");
    let recorded: Vec<String> = recorded_ids(root).into_iter().map(|(_, id)| id).collect();
    assert_eq!(
        {
            let mut r = recorded.clone();
            r.sort();
            r
        },
        ids,
        "each sent email is recorded"
    );
    assert_eq!(dovecot.messages("Sent").len(), DUE + 1);
    let nothing = run(root, &["send"]);
    assert!(
        text(&nothing.stdout).contains("nothing to send"),
        "{}",
        text(&nothing.stdout)
    );
}

// A server that takes the first email and then drops every connection: the run stops with
// exit 1, and exactly the email that went is recorded.
#[test]
fn a_dropped_connection_stops_the_run_with_what_was_sent_recorded() {
    let options = SmtpOptions {
        accept: Some(1),
        ..SmtpOptions::default()
    };
    let Some((ca, dovecot, smtp)) = start_both(&options) else {
        return;
    };
    let dir = project(&ca, &Setup::new(&dovecot, smtp.port));
    let root = dir.path();
    let output = run(root, &["send", "--yes"]);
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr).contains(&format!("stopped after sending 1 of {DUE}")),
        "{}",
        text(&output.stderr)
    );
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    assert_eq!(recorded_ids(root).len(), 1);
    assert_eq!(recorded_ids(root)[0].1, message_id(&received[0].1));
    assert!(!root.join(".content.affrel-sending").exists());
}

// A refused recipient stops the run after recording the emails sent before it.
#[test]
fn a_refused_recipient_stops_the_run() {
    let options = SmtpOptions {
        refuse: Some("wei.chen@example.com".to_owned()),
        ..SmtpOptions::default()
    };
    let Some((ca, dovecot, smtp)) = start_both(&options) else {
        return;
    };
    let dir = project(&ca, &Setup::new(&dovecot, smtp.port));
    let root = dir.path();
    let output = run(root, &["send", "--yes"]);
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("refused the email to wei.chen@example.com"),
        "{stderr}"
    );
    let sent = smtp.received().len();
    assert_eq!(recorded_ids(root).len(), sent);
    assert!(!recorded_ids(root).iter().any(|(id, _)| id == "wei-chen"));
}

// An email handed to the server by a run that was then killed, before it was recorded, is
// not drafted, and is recorded by the next `send --yes` and never sent again.
#[test]
fn an_email_left_on_its_way_is_recorded_not_sent_again() {
    let Some((ca, dovecot, smtp)) = start_both(&SmtpOptions::default()) else {
        return;
    };
    let dir = project(&ca, &Setup::new(&dovecot, smtp.port));
    let root = dir.path();
    let built = built_emails(root);
    let (jose_id, _) = built
        .iter()
        .find(|(_, b)| text(b).contains("jose.alvarez@example.com"))
        .unwrap();
    let note = serde_json::json!({
        "id": "jose-alvarez", "event": "welcome_sent", "date": "2026-11-24",
        "message_id": jose_id, "to": "jose.alvarez@example.com",
        "subject": "Welcome to Inkwell Newsletters, José!"
    });
    fs::write(root.join(".content.affrel-sending"), note.to_string()).unwrap();
    let drafted = run(root, &["drafts"]);
    assert_exit(&drafted, 0);
    assert!(
        text(&drafted.stderr)
            .contains("it is left out here, and the next `affrel send --yes` records it"),
        "{}",
        text(&drafted.stderr)
    );
    let drafts = dovecot.messages("Drafts");
    assert_eq!(drafts.len(), DUE - 1);
    assert!(
        !drafts
            .iter()
            .any(|(_, bytes)| message_id(bytes) == *jose_id)
    );

    let output = run(root, &["send", "--yes"]);
    assert_exit(&output, 0);
    assert!(
        text(&output.stderr).contains("recorded it now as sent"),
        "{}",
        text(&output.stderr)
    );
    let sent_ids: Vec<String> = smtp.received().iter().map(|(_, b)| message_id(b)).collect();
    assert!(
        !sent_ids.contains(jose_id),
        "José's welcome is not sent again"
    );
    assert!(recorded_ids(root).contains(&("jose-alvarez".to_owned(), jose_id.clone())));
    assert!(!root.join(".content.affrel-sending").exists());
}

// An email the server took but that could not be recorded (its record cannot be replaced)
// stops the run with exit 1 and says so; a listing leaves it out and changes nothing; the
// next `send --yes` records it first, and no email is ever sent twice.
#[test]
fn an_email_sent_but_not_recorded_is_recorded_by_the_next_run() {
    let Some((ca, dovecot, smtp)) = start_both(&SmtpOptions::default()) else {
        return;
    };
    let dir = project(&ca, &Setup::new(&dovecot, smtp.port));
    let root = dir.path();
    let records_folder = root.join("content/referrals");
    let locked: Option<Vec<Immutable>> = walkdir::WalkDir::new(&records_folder)
        .into_iter()
        .map(Result::unwrap)
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| Immutable::make(entry.path()))
        .collect();
    let Some(locked) = locked else {
        return;
    };
    let output = run(root, &["send", "--yes", "--limit", "2"]);
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("error: stopped after sending 1 of 2: the last was sent but could not be recorded; the next `affrel send --yes` records it before anything else"),
        "{stderr}"
    );
    assert_eq!(smtp.received().len(), 1, "the run stopped after the first");
    assert!(!stderr.contains("nothing was written"), "{stderr}");
    assert!(recorded_ids(root).is_empty());
    drop(locked);

    let before = records(root);
    let listing = run(root, &["send"]);
    assert_exit(&listing, 0);
    assert!(
        text(&listing.stderr).contains("it is left out here, and the next `affrel send --yes` records it as sent before anything else"),
        "{}",
        text(&listing.stderr)
    );
    let first = message_id(&smtp.received()[0].1);
    let first_to = smtp.received()[0].0[0].clone();
    assert!(
        !text(&listing.stdout).contains(&first_to),
        "not listed: {}",
        text(&listing.stdout)
    );
    assert_eq!(records(root), before, "a listing changes nothing");

    let rest = run(root, &["send", "--yes"]);
    assert_exit(&rest, 0);
    assert!(
        text(&rest.stderr).contains("recorded it now as sent"),
        "{}",
        text(&rest.stderr)
    );
    assert!(recorded_ids(root).iter().any(|(_, id)| *id == first));
    assert!(!root.join(".content.affrel-sending").exists());
    let mut sent: Vec<String> = smtp.received().iter().map(|(_, b)| message_id(b)).collect();
    let all = sent.len();
    sent.sort();
    sent.dedup();
    assert_eq!(sent.len(), all, "no email was sent twice");
}

// IMAP with STARTTLS, SMTP with TLS from the first byte, and the password from
// `password_command`.
#[test]
fn starttls_implicit_tls_and_a_password_command_work() {
    let options = SmtpOptions {
        implicit_tls: true,
        ..SmtpOptions::default()
    };
    let Some((ca, dovecot, smtp)) = start_both(&options) else {
        return;
    };
    let setup = Setup {
        imap_port: dovecot.starttls_port,
        imap_security: "starttls",
        smtp_security: "tls",
        password_command: Some(format!("[echo, {PASSWORD}]")),
        ..Setup::new(&dovecot, smtp.port)
    };
    let dir = project(&ca, &setup);
    let root = dir.path();
    let drafts = run_with_password(root, &["drafts"], "");
    assert_exit(&drafts, 0);
    assert_eq!(dovecot.messages("Drafts").len(), DUE);
    let sent = run_with_password(root, &["send", "--yes", "--limit", "1"], "");
    assert_exit(&sent, 0);
    assert_eq!(smtp.received().len(), 1);
}

// A wrong password, an untrusted certificate, a closed port and a silent server each give
// exit 1 and one clear message naming the server, change nothing, and never show a password.
#[test]
fn connection_failures_are_clear_and_change_nothing() {
    let Some((ca, dovecot, smtp)) = start_both(&SmtpOptions::default()) else {
        return;
    };
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let cases = failure_cases(&dovecot, smtp.port, silent_port);
    for (case, setup, password, expected) in cases {
        let dir = project(&ca, &setup);
        let root = dir.path();
        let before = records(root);
        let drafts_before = dovecot.messages("Drafts");
        let args: &[&str] = if case.contains("SMTP") {
            &["send", "--yes"]
        } else {
            &["drafts"]
        };
        let mut all = args.to_vec();
        all.extend(["--root", root.to_str().unwrap()]);
        // Short for the silent server, so the test does not wait long; ample for the others,
        // so a busy machine cannot turn their answer into a timeout.
        let timeout = if case.starts_with("silent") {
            "2"
        } else {
            "15"
        };
        let started = std::time::Instant::now();
        let output = affrel(&all)
            .env("AFFREL_MAIL_PASSWORD", password)
            .env("AFFREL_MAIL_TIMEOUT", timeout)
            .output()
            .unwrap();
        assert_exit(&output, 1);
        assert!(started.elapsed().as_secs() < 30, "{case}: gave up in time");
        let all_output = both(&output);
        assert!(all_output.contains(expected), "{case}: {all_output}");
        assert!(all_output.contains("help:"), "{case}: says what to check");
        for secret in [PASSWORD, WRONG] {
            assert!(
                !all_output.contains(secret),
                "{case}: a password was printed"
            );
        }
        assert_eq!(records(root), before, "{case}: no record changed");
        assert_eq!(
            dovecot.messages("Drafts"),
            drafts_before,
            "{case}: no draft changed"
        );
        assert!(smtp.received().is_empty(), "{case}: nothing was sent");
    }
    drop(silent);
}

/// A wrong password: distinctive, so that no output can contain it unnoticed.
const WRONG: &str = "wrong-Pw-9x-never-printed";

/// Each failure: its name, the setup that causes it, the password to use, and what the
/// message must say.
fn failure_cases(
    dovecot: &Dovecot,
    smtp_port: u16,
    silent_port: u16,
) -> Vec<(&'static str, Setup, &'static str, &'static str)> {
    let base = || Setup::new(dovecot, smtp_port);
    let untrusted = || Setup {
        trust_ca: false,
        ..base()
    };
    vec![
        (
            "wrong password, IMAP",
            base(),
            WRONG,
            "refused the login of `sam@example.com`",
        ),
        ("wrong password, SMTP", base(), WRONG, "refused the login"),
        (
            "untrusted, IMAP",
            untrusted(),
            PASSWORD,
            "has a certificate this machine does not trust",
        ),
        (
            "untrusted, SMTP",
            untrusted(),
            PASSWORD,
            "has a certificate this machine does not trust",
        ),
        (
            "closed port, IMAP",
            Setup {
                imap_port: free_port(),
                ..base()
            },
            PASSWORD,
            "cannot connect to the IMAP server 127.0.0.1:",
        ),
        (
            "closed port, SMTP",
            Setup::new(dovecot, free_port()),
            PASSWORD,
            "cannot connect to the SMTP server localhost:",
        ),
        (
            "silent, IMAP",
            Setup {
                imap_port: silent_port,
                ..base()
            },
            PASSWORD,
            "did not answer within 2 seconds",
        ),
        (
            "silent, SMTP",
            Setup::new(dovecot, silent_port),
            PASSWORD,
            "did not answer within 2 seconds",
        ),
    ]
}

// The `mail` block is checked like the rest of the config: every problem located, a
// password key refused with where the password comes from instead, `none` only on this
// machine, and a `ca_file` that must hold a certificate. No server is needed.
#[test]
fn the_mail_block_is_checked_with_located_errors() {
    let dir = demo();
    let root = dir.path();
    fs::create_dir_all(root.join("certs")).unwrap();
    fs::write(root.join("certs/empty.pem"), "not a certificate\n").unwrap();
    let config = root.join("content/config.yaml");
    let mut text_config = fs::read_to_string(&config).unwrap();
    let first_mail_line = text_config.lines().count() + 1;
    text_config.push_str(
        "mail:\n  imap:\n    host: imap.example.com\n    security: none\n    password: hunter2\n  smtp:\n    host: \"smtp example\"\n    port: 70000\n    security: ssl\n  ca_file: certs/empty.pem\n",
    );
    fs::write(&config, text_config).unwrap();
    let output = run(root, &["check"]);
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    let line = |offset: usize| format!("content/config.yaml:{}:", first_mail_line + offset);
    for (offset, message) in [
        (
            3,
            "`security: none` would send your password to imap.example.com unencrypted",
        ),
        (4, "a password is not allowed in the config"),
        (6, "`smtp example` is not a server name"),
        (7, "`port` should be a port number from 1 to 65535"),
        (8, "unknown security `ssl`"),
        (9, "certs/empty.pem holds no certificate"),
    ] {
        let located = stderr
            .lines()
            .any(|l| l.starts_with(&line(offset)) && l.contains(message));
        assert!(located, "{message} at {}:\n{stderr}", line(offset));
    }
    assert!(stderr.contains("AFFREL_MAIL_PASSWORD"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password is not repeated");
}

// `drafts`, `send` and `sync` without a `mail` block say what to add.
#[test]
fn without_a_mail_block_the_mail_commands_say_what_to_add() {
    let dir = demo();
    for args in [&["drafts"][..], &["send", "--yes"][..], &["sync"][..]] {
        let output = run(dir.path(), args);
        assert_exit(&output, 1);
        let stderr = text(&output.stderr);
        assert!(stderr.contains("there is no `mail` block"), "{stderr}");
        assert!(stderr.contains("help: add a `mail:` block"), "{stderr}");
    }
}

// `message_id` belongs on the events that are emails, in `<…>` form, once per referral.
#[test]
fn message_ids_are_checked() {
    let dir = demo();
    let root = dir.path();
    let record = root.join("content/referrals/ben-carter.yaml");
    let mut text_record = fs::read_to_string(&record).unwrap();
    text_record.push_str("  - { date: 2026-10-01, type: reply, message_id: \"<a@x.example>\" }\n  - { date: 2026-10-02, type: reply, message_id: \"<a@x.example>\" }\n  - { date: 2026-10-03, type: sale, message_id: \"<b@x.example>\" }\n  - { date: 2026-10-04, type: reply, message_id: \"no brackets\" }\n");
    fs::write(&record, text_record).unwrap();
    let output = run(root, &["check"]);
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    for message in [
        "the `message_id` `<a@x.example>` is already used by event",
        "`message_id` is only allowed on events that are emails",
        "`no brackets` is not a Message-ID",
    ] {
        assert!(stderr.contains(message), "{message}:\n{stderr}");
    }
}

// An email's Message-ID does not depend on the day of the week it is built: the same email
// due on the same day keeps it.
#[test]
fn message_ids_do_not_change_with_the_as_of_date() {
    let dir = demo();
    let root = dir.path();
    let ids_as_of = |date: &str| {
        let out = root.join(format!("out-{date}"));
        let output = run(
            root,
            &["build", "--as-of", date, "--out", out.to_str().unwrap()],
        );
        assert_exit(&output, 0);
        let mut ids: Vec<(String, String)> = fs::read_dir(out.join("emails"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .map(|p| {
                let eml = fs::read(p.with_extension("eml")).unwrap();
                (fs::read_to_string(&p).unwrap(), message_id(&eml))
            })
            .collect();
        ids.sort();
        ids
    };
    let monday = ids_as_of("2026-11-23");
    let tuesday = ids_as_of("2026-11-24");
    let same_text: Vec<_> = monday
        .iter()
        .filter(|m| tuesday.iter().any(|t| t.0 == m.0))
        .collect();
    assert!(
        !same_text.is_empty(),
        "some emails read the same on both days"
    );
    for (text_both, id) in same_text {
        let tuesday_id = &tuesday.iter().find(|t| t.0 == *text_both).unwrap().1;
        assert_eq!(id, tuesday_id, "the same email keeps its Message-ID");
    }
}

// `init` writes the `mail` block commented out; uncommented, it checks clean.
#[test]
fn init_writes_a_mail_block_to_uncomment() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    assert_exit(
        &affrel(&["init", root.to_str().unwrap()]).output().unwrap(),
        0,
    );
    let config = root.join("content/config.yaml");
    let written = fs::read_to_string(&config).unwrap();
    let start = written.find("# mail:").expect("a commented mail block");
    let mut uncommented = written[..start].to_owned();
    for line in written[start..]
        .lines()
        .filter(|line| !line.contains("ca_file"))
    {
        uncommented.push_str(line.strip_prefix("# ").unwrap_or(line));
        uncommented.push('\n');
    }
    fs::write(&config, uncommented).unwrap();
    let output = run(root, &["check"]);
    assert_exit(&output, 0);
}

// A string `password_command` runs through `sh -c`: quotes around a path with a space work,
// and a failing command's message shows its exit status and the first line it wrote to
// stderr, never its output.
#[test]
fn a_quoted_password_command_runs_through_the_shell() {
    let ca = TestCa::new();
    let Some(dovecot) = Dovecot::start(&ca) else {
        return;
    };
    let secrets = tempfile::tempdir().unwrap();
    let file = secrets.path().join("my pw.txt");
    fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    let setup = Setup {
        password_command: Some(format!("'cat \"{}\"'", file.display())),
        ..Setup::new(&dovecot, free_port())
    };
    let dir = project(&ca, &setup);
    let drafts = run_with_password(dir.path(), &["drafts", "--dry-run"], "");
    assert_exit(&drafts, 0);

    let failing = Setup {
        password_command: Some(format!(
            "'cat \"{}\"; echo no-such-key >&2; exit 3'",
            file.display()
        )),
        ..Setup::new(&dovecot, free_port())
    };
    let dir = project(&ca, &failing);
    let output = run_with_password(dir.path(), &["drafts"], "");
    assert_exit(&output, 1);
    let said = both(&output);
    assert!(said.contains("exit status: 3"), "{said}");
    assert!(said.contains("it said: no-such-key"), "{said}");
    assert!(!said.contains(PASSWORD), "{said}");
}

// A project fresh from `init` emails nobody by accident: `drafts` and `send --yes` refuse
// while the sender is the placeholder, naming the key; once it is set, the sample referrals
// are still never drafted.
#[test]
fn a_fresh_init_project_drafts_and_sends_nothing() {
    let Some((ca, dovecot, smtp)) = start_both(&SmtpOptions::default()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    assert_exit(
        &affrel(&["init", root.to_str().unwrap()]).output().unwrap(),
        0,
    );
    fs::create_dir_all(root.join("certs")).unwrap();
    fs::write(root.join("certs/test-ca.pem"), &ca.ca).unwrap();
    let config = root.join("content/config.yaml");
    let mut text_of_config = fs::read_to_string(&config).unwrap();
    let _ = write!(
        text_of_config,
        "mail:\n  imap:\n    host: 127.0.0.1\n    port: {}\n    user: {USER}\n  smtp:\n    host: localhost\n    port: {}\n    security: starttls\n    user: {USER}\n  ca_file: certs/test-ca.pem\n",
        dovecot.tls_port, smtp.port
    );
    fs::write(&config, &text_of_config).unwrap();
    for args in [&["drafts"][..], &["send", "--yes"][..]] {
        let output = run(root, args);
        assert_exit(&output, 1);
        assert!(
            text(&output.stderr)
                .contains("`sender.email` is still the placeholder `you@example.com`"),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
    fs::write(
        &config,
        text_of_config.replacen("email: you@example.com", &format!("email: {USER}"), 1),
    )
    .unwrap();
    let drafted = run(root, &["drafts"]);
    assert_exit(&drafted, 0);
    assert!(
        text(&drafted.stderr).contains("sample referrals' emails: tagged `sample`"),
        "{}",
        text(&drafted.stderr)
    );
    assert!(dovecot.messages("Drafts").is_empty());
    let sent = run(root, &["send", "--yes"]);
    assert_exit(&sent, 0);
    assert!(smtp.received().is_empty(), "nothing was sent");
}
