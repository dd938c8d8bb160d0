//! The mailbox commands as real accounts meet them, against real servers the tests start on
//! 127.0.0.1: OAuth 2 logins (Dovecot checking each token at an introspection endpoint the
//! test serves, the SMTP server taking the same SASL mechanisms), a server laid out as
//! Courier IMAP is, a server without UIDPLUS, pacing, and a provider's burst limit. The demo
//! project, as of 2026-11-24, has ten emails due.

use std::fs;
use std::path::Path;
use std::process::Output;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

mod common;
mod servers;

use common::{assert_exit, text};
use servers::project::{DUE, Setup, both, command, message_id, project, recorded_ids, records};
use servers::{
    COURIER_FOLDERS, Dovecot, DovecotOptions, Introspection, PASSWORD, Smtp, SmtpOptions, TOKEN,
    TestCa, USER,
};

/// Where the test's token helper finds the token: `password_command` prints it.
const TOKEN_VARIABLE: &str = "AFFREL_TEST_TOKEN";

/// Runs affrel on the project with `token` for its token helper to print.
fn run_with_token(root: &Path, args: &[&str], token: &str) -> Output {
    command(root, args, PASSWORD)
        .env(TOKEN_VARIABLE, token)
        .output()
        .unwrap()
}

/// Runs affrel on the project with the mailbox password in the environment.
fn run(root: &Path, args: &[&str]) -> Output {
    servers::project::run(root, args)
}

/// A reply from a referral, as it arrives in the inbox.
fn reply_from_amara() -> Vec<u8> {
    b"From: Amara <amara@example.com>\r\nTo: Sam Rivera <sam@example.com>\r\nSubject: Re: your tips\r\nDate: Tue, 24 Nov 2026 15:00:00 +0000\r\nMessage-ID: <r-oauth@mail.example>\r\n\r\nThanks!\r\n".to_vec()
}

/// Asserts that nothing a run printed shows the token, in any form a server could echo.
fn assert_token_hidden(output: &Output) {
    let printed = both(output);
    assert!(!printed.contains(TOKEN), "the token was printed: {printed}");
    let xoauth2 = STANDARD.encode(format!("user={USER}\x01auth=Bearer {TOKEN}\x01\x01"));
    assert!(
        !printed.contains(&xoauth2[..20]),
        "the login was printed: {printed}"
    );
}

/// Dovecot checking tokens at a fresh introspection endpoint, the SMTP server taking the
/// same token, and the demo project logging in to both with `auth` and a token helper.
fn token_servers(
    auth: &'static str,
) -> Option<(Introspection, TestCa, Dovecot, Smtp, tempfile::TempDir)> {
    let ca = TestCa::new();
    let introspection = Introspection::start();
    let options = DovecotOptions {
        introspection_port: Some(introspection.port),
        ..DovecotOptions::default()
    };
    let dovecot = Dovecot::start_with(&ca, &options)?;
    let smtp = Smtp::start(
        &ca,
        &SmtpOptions {
            token: Some(TOKEN.to_owned()),
            ..SmtpOptions::default()
        },
    )?;
    let setup = Setup {
        auth: Some(auth),
        password_command: Some(format!("printenv {TOKEN_VARIABLE}")),
        ..Setup::new(&dovecot, smtp.port)
    };
    let dir = project(&ca, &setup);
    Some((introspection, ca, dovecot, smtp, dir))
}

// With `auth: xoauth2` and a token helper, `drafts`, `sync --write` and `send --yes` log in
// to IMAP with AUTHENTICATE and to SMTP with the same mechanism; a refused token stops each
// command with exit 1 and says so, changing nothing; the token is in no output.
#[test]
fn an_xoauth2_token_logs_in_to_both_servers() {
    token_logins_work("xoauth2", "XOAUTH2");
}

// The same with `auth: oauthbearer` (RFC 7628).
#[test]
fn an_oauthbearer_token_logs_in_to_both_servers() {
    token_logins_work("oauthbearer", "OAUTHBEARER");
}

/// `drafts`, `sync --write` and `send --yes` with `auth` and a good token, the SMTP server
/// seeing `mechanism`; then an expired token.
fn token_logins_work(auth: &'static str, mechanism: &str) {
    let Some((_introspection, _ca, dovecot, smtp, dir)) = token_servers(auth) else {
        return;
    };
    let root = dir.path();

    let drafted = run_with_token(root, &["drafts"], TOKEN);
    assert_exit(&drafted, 0);
    assert_token_hidden(&drafted);
    assert_eq!(dovecot.messages("Drafts").len(), DUE);

    dovecot.append("INBOX", &reply_from_amara(), &[]);
    let synced = run_with_token(root, &["sync", "--write"], TOKEN);
    assert_exit(&synced, 0);
    assert_token_hidden(&synced);
    assert!(
        fs::read_to_string(root.join("content/referrals/amara-okafor.yaml"))
            .is_ok_and(|record| record.contains("r-oauth@mail.example")),
        "{}",
        both(&synced)
    );

    let sent = run_with_token(root, &["send", "--yes", "--limit", "1"], TOKEN);
    assert_exit(&sent, 0);
    assert_token_hidden(&sent);
    let envelopes = smtp.envelopes();
    assert_eq!(envelopes.len(), 1);
    assert_eq!(envelopes[0]["login"], mechanism);

    refused_tokens_change_nothing(root, &dovecot, &smtp);
}

/// An expired token: each mailbox command stops with exit 1, says the token was refused
/// and how to renew it, never shows it, and changes nothing.
fn refused_tokens_change_nothing(root: &Path, dovecot: &Dovecot, smtp: &Smtp) {
    let expired = "ya29.expired-Hh8-never-printed";
    let before = (records(root), dovecot.messages("Drafts"), smtp.envelopes());
    for args in [&["drafts"][..], &["sync", "--write"], &["send", "--yes"]] {
        let output = run_with_token(root, args, expired);
        assert_exit(&output, 1);
        let stderr = text(&output.stderr);
        assert!(stderr.contains("refused the token"), "{args:?}: {stderr}");
        assert!(
            stderr.contains("Run your token helper"),
            "{args:?}: {stderr}"
        );
        assert!(!both(&output).contains(expired), "{args:?}: {stderr}");
        assert_token_hidden(&output);
    }
    let after = (records(root), dovecot.messages("Drafts"), smtp.envelopes());
    assert!(before == after, "a refused token changed something");
}

/// Dovecot laid out as Courier IMAP is, and the demo project using it with these folders.
fn courier(
    drafts: &'static str,
    sent: &'static str,
    inbox: &'static str,
) -> Option<(TestCa, Dovecot, Smtp, tempfile::TempDir)> {
    let ca = TestCa::new();
    let options = DovecotOptions {
        courier_layout: true,
        ..DovecotOptions::default()
    };
    let dovecot = Dovecot::start_with(&ca, &options)?;
    let smtp = Smtp::start(&ca, &SmtpOptions::default())?;
    let setup = Setup {
        drafts_folder: Some(drafts),
        sent_folder: Some(sent),
        inbox_folders: inbox,
        save_sent: true,
        ..Setup::new(&dovecot, smtp.port)
    };
    let dir = project(&ca, &setup);
    Some((ca, dovecot, smtp, dir))
}

// On a server with every folder under `INBOX.`, `.` as separator, no special-use marks and
// fourteen folders, a folder name that is not there gets help that names the key that
// failed and suggests the folder with that last part, listed first; with the names it
// suggests, everything works.
#[test]
fn a_courier_like_server_gets_the_folder_to_write() {
    let Some((_ca, dovecot, smtp, dir)) = courier("Drafts", "Sent", "[INBOX]") else {
        return;
    };
    let root = dir.path();
    let before = records(root);
    let missing_drafts = run(root, &["drafts"]);
    assert_exit(&missing_drafts, 1);
    let stderr = text(&missing_drafts.stderr);
    assert!(stderr.contains("check `mail.imap.drafts`"), "{stderr}");
    assert!(
        stderr.contains(r#"this server's folders are "INBOX.Drafts", "#),
        "{stderr}"
    );
    assert!(
        stderr.contains(r#"Likely: `drafts: "INBOX.Drafts"`"#),
        "{stderr}"
    );
    assert!(
        stderr.contains("more"),
        "fourteen folders are cut: {stderr}"
    );

    let missing_sent = run(root, &["send", "--yes"]);
    assert_exit(&missing_sent, 1);
    let stderr = text(&missing_sent.stderr);
    assert!(stderr.contains("check `mail.imap.sent`"), "{stderr}");
    assert!(
        stderr.contains(r#"Likely: `sent: "INBOX.Sent"`"#),
        "{stderr}"
    );
    assert!(smtp.received().is_empty(), "nothing was sent");
    assert_eq!(records(root), before);

    assert_eq!(COURIER_FOLDERS.len() + 1, 14);
    let config = root.join("content/config.yaml");
    let settings = fs::read_to_string(&config).unwrap();
    fs::write(
        &config,
        settings
            .replace("drafts: Drafts", "drafts: INBOX.Drafts")
            .replace("sent: Sent", "sent: INBOX.Sent"),
    )
    .unwrap();
    let drafts = run(root, &["drafts"]);
    assert_exit(&drafts, 0);
    assert_eq!(dovecot.messages("INBOX.Drafts").len(), DUE);
    let sent = run(root, &["send", "--yes", "--limit", "1"]);
    assert_exit(&sent, 0);
    assert_eq!(smtp.received().len(), 1);
    assert_eq!(dovecot.messages("INBOX.Sent").len(), 1);
    let synced = run(root, &["sync"]);
    assert_exit(&synced, 0);
}

/// The recipients of the drafts in a folder, each as many times as it has drafts.
fn draft_recipients(dovecot: &Dovecot) -> Vec<String> {
    let mut recipients: Vec<String> = dovecot
        .messages("Drafts")
        .iter()
        .map(|(_, bytes)| servers::project::seen(bytes).1)
        .collect();
    recipients.sort();
    recipients
}

/// Asserts that no one has two drafts.
fn assert_one_draft_each(dovecot: &Dovecot) {
    let recipients = draft_recipients(dovecot);
    let mut unique = recipients.clone();
    unique.dedup();
    assert_eq!(recipients, unique, "someone has two drafts");
}

// A server without UIDPLUS: after the user edits a draft and a template changes, `drafts`
// adds nothing beside a draft it cannot remove, says which drafts to delete, and counts
// only what happened; once the user has deleted them, the next run adds the new versions.
// No one ever has two drafts.
#[test]
fn without_uidplus_no_one_gets_two_drafts() {
    let ca = TestCa::new();
    let options = DovecotOptions {
        without_uidplus: true,
        ..DovecotOptions::default()
    };
    let Some(dovecot) = Dovecot::start_with(&ca, &options) else {
        return;
    };
    let dir = project(&ca, &Setup::new(&dovecot, servers::free_port()));
    let root = dir.path();
    assert_exit(&run(root, &["drafts"]), 0);
    assert_eq!(dovecot.messages("Drafts").len(), DUE);

    dovecot.edit_draft("jose.alvarez@example.com", |draft| {
        draft.replace("Welcome", "Warm welcome")
    });
    let template = root.join("content/emails/welcome.md");
    let welcome = fs::read_to_string(&template).unwrap();
    fs::write(
        &template,
        welcome.replacen("\n---\n", "\n---\nP.S. Reply any time.\n\n", 1),
    )
    .unwrap();

    for _ in 0..2 {
        let output = run(root, &["drafts"]);
        assert_exit(&output, 0);
        let stdout = text(&output.stdout);
        assert!(
            stdout.contains("0 added, 7 kept, 0 replaced, 0 removed"),
            "{stdout}"
        );
        assert!(
            stdout.contains("2 to delete by hand (this server cannot remove single messages"),
            "{stdout}"
        );
        let outdated = stdout
            .lines()
            .filter(|l| {
                l.trim_start().starts_with("outdated")
                    && l.contains("delete it in your mail client")
            })
            .count();
        assert_eq!(outdated, 2, "{stdout}");
        assert_eq!(dovecot.messages("Drafts").len(), DUE);
        assert_one_draft_each(&dovecot);
    }

    // The user deletes the two outdated welcomes; the next run adds their new versions.
    let mut client = dovecot.client();
    client.select("Drafts").unwrap();
    let outdated = client
        .search("NOT BODY \"Warm welcome\" SUBJECT \"Welcome to\"")
        .unwrap();
    assert_eq!(outdated.len(), 2, "Tom's and Priya's welcomes");
    let set: Vec<String> = outdated.iter().map(u32::to_string).collect();
    client
        .store(set.join(","), "+FLAGS (\\Deleted)")
        .expect("flagged");
    client.expunge().expect("expunged");
    let _ = client.logout();
    let output = run(root, &["drafts"]);
    assert_exit(&output, 0);
    assert!(
        text(&output.stdout).contains("2 added, 7 kept, 0 replaced, 0 removed"),
        "{}",
        text(&output.stdout)
    );
    assert_eq!(dovecot.messages("Drafts").len(), DUE);
    assert_one_draft_each(&dovecot);
    let new_welcomes = dovecot
        .messages("Drafts")
        .iter()
        .filter(|(_, b)| text(b).contains("P.S. Reply any time."))
        .count();
    assert_eq!(new_welcomes, 2);
}

// `--rate 30` sends one email every two seconds, as the SMTP server's receive times show,
// and says that it is waiting.
#[test]
fn a_rate_spaces_the_emails() {
    let Some((ca, dovecot, smtp)) = servers::start_both(&SmtpOptions::default()) else {
        return;
    };
    let dir = project(&ca, &Setup::new(&dovecot, smtp.port));
    let root = dir.path();
    let output = run(root, &["send", "--yes", "--limit", "3", "--rate", "30"]);
    assert_exit(&output, 0);
    assert!(
        both(&output).contains("(at most 30 a minute)"),
        "{}",
        both(&output)
    );
    let times: Vec<f64> = smtp
        .envelopes()
        .iter()
        .map(|e| e["received_at"].as_f64().expect("a time"))
        .collect();
    assert_eq!(times.len(), 3);
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!((1.8..3.5).contains(&gap), "{gap} s between two emails");
    }
}

// A provider's burst limit: the server refuses the second email's recipient for now
// (451 4.7.0). The run stops with exit 1, sends nothing more, records exactly the first
// email, and says that the server refused the rest for now and what it said.
#[test]
fn a_temporary_refusal_stops_the_run_with_the_first_recorded() {
    let options = SmtpOptions {
        tempfail_after: Some(1),
        ..SmtpOptions::default()
    };
    let Some((ca, dovecot, smtp)) = servers::start_both(&options) else {
        return;
    };
    let dir = project(&ca, &Setup::new(&dovecot, smtp.port));
    let root = dir.path();
    let output = run(root, &["send", "--yes"]);
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("for now"), "{stderr}");
    assert!(stderr.contains("try again in 10 minutes"), "{stderr}");
    assert!(
        stderr.contains(&format!("stopped after sending 1 of {DUE}")),
        "{stderr}"
    );
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    let recorded = recorded_ids(root);
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].1, message_id(&received[0].1));
}
