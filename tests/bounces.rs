//! Automatic replies and delivery failure reports, against a real Dovecot (and the SMTP test
//! server) the tests start: automatic replies from referrals are listed, never recorded as
//! answers; a Postfix-style (RFC 3464) and an Exim-style (`X-Failed-Recipients`) report for a
//! referral's address become `bounced` events; `drafts` and `send` then leave that referral
//! out until the address is corrected; reports about strangers, and delays, are ignored.

use std::fs;
use std::path::Path;

mod common;
mod servers;

use common::{assert_exit, text};
use servers::project::{DUE, Setup, events, project, run, run_measured, seen};
use servers::{Dovecot, SmtpOptions, start_both};

const SAM: &str = "Sam Rivera <sam@example.com>";
const DATE: &str = "Tue, 24 Nov 2026 15:00:00 +0000";

/// A reply from `from` with these extra header lines.
fn reply(from: &str, id: &str, extra: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {SAM}\r\nSubject: Out of office\r\nDate: {DATE}\r\nMessage-ID: {id}\r\n{extra}\r\nI am away until Monday.\r\n"
    )
    .into_bytes()
}

/// A Postfix-style delivery status notification (RFC 3464) for `recipient`, with `action`,
/// returning a message of `returned` bytes.
fn postfix_report(recipient: &str, action: &str, id: &str, returned: usize) -> Vec<u8> {
    let body = "x".repeat(76) + "\r\n";
    let original = body.repeat(returned / body.len());
    format!(
        "From: MAILER-DAEMON@mail.example.net (Mail Delivery System)\r\n\
         To: sam@example.com\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n\
         Date: {DATE}\r\n\
         Message-ID: {id}\r\n\
         Auto-Submitted: auto-replied\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B1\"\r\n\
         \r\n\
         --B1\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         \r\n\
         I'm sorry to have to inform you that your message could not be delivered.\r\n\
         \r\n\
         --B1\r\n\
         Content-Type: message/delivery-status\r\n\
         \r\n\
         Reporting-MTA: dns; mail.example.net\r\n\
         Arrival-Date: {DATE}\r\n\
         \r\n\
         Final-Recipient: rfc822; {recipient}\r\n\
         Original-Recipient: rfc822;{recipient}\r\n\
         Action: {action}\r\n\
         Status: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected:\r\n\
         \x20   User unknown in virtual mailbox table\r\n\
         \r\n\
         --B1\r\n\
         Content-Type: message/rfc822\r\n\
         \r\n\
         From: {SAM}\r\n\
         To: {recipient}\r\n\
         Subject: Welcome\r\n\
         \r\n\
         {original}\r\n\
         --B1--\r\n"
    )
    .into_bytes()
}

/// An Exim-style bounce: a plain message whose `X-Failed-Recipients` names the address.
fn exim_report(recipient: &str, id: &str) -> Vec<u8> {
    format!(
        "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\r\n\
         To: sam@example.com\r\n\
         Subject: Mail delivery failed: returning message to sender\r\n\
         Date: {DATE}\r\n\
         Message-ID: {id}\r\n\
         X-Failed-Recipients: {recipient}\r\n\
         Auto-Submitted: auto-replied\r\n\
         \r\n\
         This message was created automatically by mail delivery software.\r\n\
         \r\n\
         A message that you sent could not be delivered to one or more of its recipients.\r\n\
         \r\n\
         \x20 {recipient}\r\n\
         \x20   No such user here\r\n"
    )
    .into_bytes()
}

// Automatic replies from three referrals (`Auto-Submitted: auto-replied`, only `X-Autoreply:
// yes`, `Precedence: bulk`) are listed as automatic, not recorded. A Postfix report for
// José's address, returning a 30 MB message, and an Exim report for Tom's become `bounced`
// events with the address, and sync reads no more than the report's small part. A report
// for a stranger's address and a delay report are ignored.
#[test]
fn automatic_replies_are_listed_and_bounces_recorded() {
    let Some((ca, dovecot, smtp)) = start_both(&SmtpOptions::default()) else {
        return;
    };
    let dir = project(&ca, &Setup::new(&dovecot, smtp.port));
    let root = dir.path();
    seed(&dovecot);

    let (dry, peak_kib) = run_measured(root, &["sync"]);
    assert_exit(&dry, 0);
    let stdout = text(&dry.stdout);
    assert!(
        stdout.contains("would record 2 events for 2 referrals"),
        "{stdout}"
    );
    for (id, mark) in [
        ("sofia-rossi", "Auto-Submitted: auto-replied"),
        ("zoe-muller", "X-Autoreply: yes"),
        ("amara-okafor", "Precedence: bulk"),
    ] {
        assert!(
            stdout.contains(&format!(
                "{id}  2026-11-24  \"Out of office\" (INBOX): an automatic reply ({mark}), not an answer"
            )),
            "{stdout}"
        );
    }
    for stranger in ["nobody@elsewhere.example", "priya"] {
        assert!(!stdout.contains(stranger), "{stranger}: {stdout}");
    }
    assert!(
        peak_kib < 100 * 1024,
        "sync peaked at {peak_kib} KiB: the returned message was read"
    );

    let write = run(root, &["sync", "--write"]);
    assert_exit(&write, 0);
    let jose = events(root, "jose-alvarez");
    let bounce = jose.last().unwrap();
    assert_eq!(bounce["type"], "bounced");
    assert_eq!(bounce["address"], "jose.alvarez@example.com");
    assert_eq!(bounce["date"], "2026-11-24");
    assert_eq!(bounce["message_id"], "<dsn-1@mail.example.net>");
    assert_eq!(
        events(root, "tom-becker").last().unwrap()["type"],
        "bounced"
    );
    for id in ["sofia-rossi", "zoe-muller", "amara-okafor", "priya-raman"] {
        assert!(
            events(root, id)
                .iter()
                .all(|e| e["message_id"].as_str().is_none_or(|m| !m.contains("auto"))),
            "{id}: nothing recorded"
        );
    }
    assert_exit(&run(root, &["check"]), 0);
    let agenda = run(root, &["agenda"]);
    assert!(
        text(&agenda.stdout).contains("address bounced on 2026-11-24: check it"),
        "{}",
        text(&agenda.stdout)
    );

    bouncing_referrals_are_left_out(root, &dovecot, &smtp);
}

/// Puts the automatic replies and the reports in the inbox.
fn seed(dovecot: &Dovecot) {
    let messages = [
        reply(
            "Sofia <sofia.rossi@example.com>",
            "<auto-1@mail.example>",
            "Auto-Submitted: auto-replied\r\n",
        ),
        reply(
            "zoe.mueller@example.com",
            "<auto-2@mail.example>",
            "X-Autoreply: yes\r\n",
        ),
        reply(
            "Amara <amara@example.com>",
            "<auto-3@mail.example>",
            "Precedence: bulk\r\n",
        ),
        postfix_report(
            "jose.alvarez@example.com",
            "failed",
            "<dsn-1@mail.example.net>",
            30 * 1024 * 1024,
        ),
        exim_report("tom@becker-studio.example", "<dsn-2@mx.example.org>"),
        postfix_report(
            "nobody@elsewhere.example",
            "failed",
            "<dsn-3@mail.example.net>",
            100,
        ),
        postfix_report(
            "priya.raman@example.com",
            "delayed",
            "<dsn-4@mail.example.net>",
            100,
        ),
    ];
    for message in messages {
        dovecot.append("INBOX", &message, &[]);
    }
}

/// `drafts` and `send` leave José and Tom out and say why; once José's address is corrected,
/// he is drafted again.
fn bouncing_referrals_are_left_out(root: &Path, dovecot: &Dovecot, smtp: &servers::Smtp) {
    let drafts = run(root, &["drafts"]);
    assert_exit(&drafts, 0);
    let stderr = text(&drafts.stderr);
    assert!(
        stderr.contains(
            "left out José Álvarez <jose.alvarez@example.com>: the address bounced on 2026-11-24"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("left out Tom Becker"), "{stderr}");
    let drafted: Vec<String> = dovecot
        .messages("Drafts")
        .iter()
        .map(|(_, b)| seen(b).1)
        .collect();
    assert_eq!(drafted.len(), DUE - 2);
    assert!(
        !drafted
            .iter()
            .any(|to| to.contains("jose.alvarez") || to.contains("becker")),
        "{drafted:?}"
    );

    let sent = run(root, &["send", "--yes"]);
    assert_exit(&sent, 0);
    assert!(text(&sent.stderr).contains("left out José Álvarez"));
    let received = smtp.received();
    assert_eq!(received.len(), DUE - 2);
    assert!(
        received
            .iter()
            .all(|(to, _)| to.iter().all(|a| a != "jose.alvarez@example.com"))
    );

    let record = root.join("content/referrals/jose-alvarez.yaml");
    let corrected = fs::read_to_string(&record).unwrap().replacen(
        "email: jose.alvarez@example.com",
        "email: jose@alvarez.example",
        1,
    );
    fs::write(&record, corrected).unwrap();
    let again = run(root, &["drafts"]);
    assert_exit(&again, 0);
    assert!(!text(&again.stderr).contains("left out José"));
    assert!(
        dovecot
            .messages("Drafts")
            .iter()
            .any(|(_, b)| seen(b).1.contains("jose@alvarez.example")),
        "José is drafted again at the corrected address"
    );
}
