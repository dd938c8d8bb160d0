//! `affrel sync` against a real Dovecot the tests start: the emails you sent and the
//! replies you got become the events they stand for, exactly once, the mailbox unchanged,
//! hostile headers included; and the whole weekly loop through the mailbox.

use std::fs;

use imap::types::Flag;

mod common;
mod servers;

use common::{assert_exit, text};
use servers::project::{
    DUE, Setup, built_emails, events, message_id, project, recorded_ids, run, run_measured,
};
use servers::{Dovecot, SmtpOptions, TestCa, free_port, start_both};

/// Today in the tests: 2026-11-24.
const TODAY: &str = "Tue, 24 Nov 2026";

/// A message from `from` to `to`, with these extra header lines.
fn message(from: &str, to: &str, subject: &str, id: &str, extra: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {TODAY} 15:00:00 +0000\r\nMessage-ID: {id}\r\n{extra}\r\nHello.\r\n"
    )
    .into_bytes()
}

/// The messages of the first sync test: (folder, from, to, subject, Message-ID).
const SEEDED: [(&str, &str, &str, &str, &str); 7] = [
    (
        "Sent",
        SAM,
        "Wei Chen <wei.chen@example.com>",
        "How is it going, Wei?",
        "<client-1@phone.example>",
    ),
    (
        "Sent",
        SAM,
        "oliver.grant@example.com",
        "Quick question",
        "<client-2@phone.example>",
    ),
    (
        "Sent",
        SAM,
        "someone@elsewhere.example",
        "Not a referral",
        "<client-3@phone.example>",
    ),
    (
        "INBOX",
        "Sofia R <SOFIA.ROSSI@Example.com>",
        SAM,
        "Re: How is it going, Sofia?",
        "<r-1@mail.example>",
    ),
    (
        "INBOX",
        "zoe.mueller@example.com",
        SAM,
        "=?utf-8?q?Gr=C3=BC=C3=9Fe_aus_Berlin?=",
        "<r-2@mail.example>",
    ),
    (
        "Replies",
        "Amara <amara@example.com>",
        SAM,
        "Re: your tips",
        "<r-3@mail.example>",
    ),
    (
        "INBOX",
        "stranger@spam.example",
        SAM,
        "You won",
        "<spam@spam.example>",
    ),
];

/// The mailbox's owner, as their mail client writes them.
const SAM: &str = "Sam Rivera <sam@example.com>";

/// Every folder's messages and flags, to show that `sync` changes nothing in the mailbox.
fn mailbox_state(dovecot: &Dovecot) -> Vec<Vec<(Vec<String>, Vec<u8>)>> {
    ["Sent", "INBOX", "Replies", "Drafts"]
        .iter()
        .map(|folder| dovecot.messages(folder))
        .collect()
}

// Sent emails: one from a mail client with a fresh Message-ID and affrel's subject (recorded),
// one sent by `affrel send` (already recorded), one with an edited subject (listed with a
// ready `done`), one to a stranger (ignored). Replies: from a referral in other letter case,
// with an encoded-word subject, filed in a second inbox folder (all recorded), from a
// stranger (ignored). A second run and an overlapping `--since` add nothing, and no folder
// changes.
#[test]
fn sync_records_what_was_sent_and_replied_exactly_once() {
    let Some((ca, dovecot, smtp)) = start_both(&SmtpOptions::default()) else {
        return;
    };
    let setup = Setup {
        save_sent: true,
        ..Setup::new(&dovecot, smtp.port)
    };
    let dir = project(&ca, &setup);
    let root = dir.path();
    assert_exit(&run(root, &["send", "--yes", "jose-alvarez"]), 0);
    let by_send = recorded_ids(root);
    assert_eq!(by_send.len(), 1);

    for (folder, from, to, subject, id) in SEEDED {
        let flags: &[Flag<'static>] = if folder == "Sent" { &[Flag::Seen] } else { &[] };
        dovecot.append(folder, &message(from, to, subject, id, ""), flags);
    }
    let before = mailbox_state(&dovecot);

    let dry = run(root, &["sync"]);
    assert_exit(&dry, 0);
    let stdout = text(&dry.stdout);
    assert!(
        stdout.contains("would record 4 events for 4 referrals; 1 already recorded"),
        "{stdout}"
    );
    assert!(stdout.contains("oliver-grant  2026-11-24  \"Quick question\" (Sent): it is not the `offer_help` email affrel wrote"), "{stdout}");
    assert!(
        stdout.contains("affrel done oliver-grant --date 2026-11-24"),
        "{stdout}"
    );
    for stranger in [
        "elsewhere.example",
        "spam.example",
        "You won",
        "Not a referral",
    ] {
        assert!(
            !stdout.contains(stranger),
            "a stranger is never printed: {stranger}"
        );
    }
    assert_eq!(recorded_ids(root), by_send, "a dry run writes nothing");

    let write = run(root, &["sync", "--write"]);
    assert_exit(&write, 0);
    let wei = events(root, "wei-chen");
    let last = wei.last().unwrap();
    assert_eq!(last["type"], "follow_up_sent");
    assert_eq!(last["date"], "2026-11-24");
    assert_eq!(last["message_id"], "<client-1@phone.example>");
    let reply = |id: &str| events(root, id).last().cloned().unwrap();
    assert_eq!(reply("sofia-rossi")["type"], "reply");
    assert_eq!(reply("sofia-rossi")["note"], "Re: How is it going, Sofia?");
    assert_eq!(reply("zoe-muller")["note"], "Grüße aus Berlin");
    assert_eq!(reply("amara-okafor")["message_id"], "<r-3@mail.example>");
    assert!(
        reply("amara-okafor").get("interest").is_none(),
        "interest is left to the user"
    );
    assert_eq!(recorded_ids(root).len(), 5);

    let again = run(root, &["sync", "--write"]);
    assert_exit(&again, 0);
    assert!(
        text(&again.stdout).contains("records 0 events for 0 referrals; 5 already recorded"),
        "{}",
        text(&again.stdout)
    );
    let overlapping = run(root, &["sync", "--write", "--since", "2026-11-20"]);
    assert_exit(&overlapping, 0);
    assert_eq!(
        recorded_ids(root).len(),
        5,
        "an overlapping period adds nothing"
    );
    assert_eq!(
        mailbox_state(&dovecot),
        before,
        "no message, flag or folder changed"
    );
    assert_exit(&run(root, &["check"]), 0);
}

// Hostile headers: a 2 000-character subject, encoded words that decode to line breaks and
// bidirectional controls, missing and invalid dates, a From with two addresses, two From
// headers, malformed Message-IDs, a subject written to break out of YAML, and dates after
// today (2100, and a missing date that falls back to the real arrival day). Nothing crashes;
// what is after today or has two From headers is listed, not recorded; and what reaches the
// records is one clean line that `check` accepts.
#[test]
fn hostile_headers_never_reach_a_record_unchecked() {
    let ca = TestCa::new();
    let Some(dovecot) = Dovecot::start(&ca) else {
        return;
    };
    let dir = project(&ca, &Setup::new(&dovecot, free_port()));
    let root = dir.path();
    let ana = "Sofia <sofia.rossi@example.com>";
    let sam = "sam@example.com";
    let long = "x".repeat(2000);
    let cases: Vec<Vec<u8>> = vec![
        message(ana, sam, &long, "<h-1@mail.example>", ""),
        message(ana, sam, "=?utf-8?q?Hi=0D=0AX-Evil:_yes=E2=80=AE!?=", "<h-2@mail.example>", ""),
        format!("From: {ana}\r\nTo: {sam}\r\nSubject: no date\r\nMessage-ID: <h-3@mail.example>\r\n\r\nx\r\n").into_bytes(),
        format!("From: {ana}\r\nTo: {sam}\r\nSubject: bad date\r\nDate: yesterday-ish\r\nMessage-ID: <h-4@mail.example>\r\n\r\nx\r\n").into_bytes(),
        message("Sofia <sofia.rossi@example.com>, Mallory <mallory@evil.example>", sam, "two senders", "<h-5@mail.example>", ""),
        message(ana, sam, "no usable id", "<not an id>", ""),
        format!("From: {ana}\r\nTo: {sam}\r\nSubject: from the future\r\nDate: Mon, 4 Jan 2100 09:00:00 +0000\r\nMessage-ID: <h-7@mail.example>\r\n\r\nx\r\n").into_bytes(),
        format!("From: Mallory <mallory@evil.example>\r\nFrom: {ana}\r\nTo: {sam}\r\nSubject: two From headers\r\nDate: Tue, 24 Nov 2026 09:00:00 +0000\r\nMessage-ID: <h-8@mail.example>\r\n\r\nx\r\n").into_bytes(),
        message(ana, sam, "\"}, type: sale, amount: 1e9, x: {\"", "<h-6@mail.example>", ""),
    ];
    for bytes in &cases {
        dovecot.append("INBOX", bytes, &[]);
    }
    let output = run(root, &["sync", "--write"]);
    assert_exit(&output, 0);
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("\"no usable id\" (INBOX): it has no usable Message-ID"),
        "{stdout}"
    );
    let replies: Vec<serde_yaml::Value> = events(root, "sofia-rossi")
        .into_iter()
        .filter(|e| {
            e["message_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("<h-"))
        })
        .collect();
    assert_eq!(replies.len(), 4, "{replies:?}");
    for listed in [
        "2100-01-04  \"from the future\" (INBOX): it is dated after today",
        "\"no date\" (INBOX): it is dated after today",
        "\"two From headers\" (INBOX): it has more than one From header",
    ] {
        assert!(stdout.contains(listed), "{listed} in {stdout}");
    }
    let notes: Vec<&str> = replies
        .iter()
        .map(|e| e["note"].as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .all(|n| n.chars().count() <= 200 && !n.chars().any(char::is_control))
    );
    assert!(notes.contains(&"Hi X-Evil: yes!"), "{notes:?}");
    assert!(
        notes.contains(&"\"}, type: sale, amount: 1e9, x: {\""),
        "the subject is a note, verbatim"
    );
    assert!(
        replies
            .iter()
            .all(|e| e["type"] == "reply" && e.get("amount").is_none())
    );
    assert!(
        !events(root, "sofia-rossi")
            .iter()
            .any(|e| e["type"] == "sale" && e["amount"] == 1e9)
    );
    assert_exit(&run(root, &["check"]), 0);
}

// Strangers' messages with huge headers cost `sync` no memory: it fetches only the header
// fields it uses, so ten messages with 20 MB headers keep it under 100 MB, and the reply among
// them is still recorded.
#[test]
fn huge_headers_do_not_grow_syncs_memory() {
    let ca = TestCa::new();
    let Some(dovecot) = Dovecot::start(&ca) else {
        return;
    };
    let dir = project(&ca, &Setup::new(&dovecot, free_port()));
    let root = dir.path();
    let junk = format!(" {}\r\n", "j".repeat(2040)).repeat(20 * 1024 / 2);
    for n in 0..10 {
        let extra = format!("X-Junk:{junk}");
        let from = if n == 0 {
            "Sofia <sofia.rossi@example.com>"
        } else {
            "Stranger <someone@elsewhere.example>"
        };
        dovecot.append(
            "INBOX",
            &message(
                from,
                "sam@example.com",
                "big",
                &format!("<big-{n}@mail.example>"),
                &extra,
            ),
            &[],
        );
    }
    let (output, peak_kib) = run_measured(root, &["sync"]);
    assert_exit(&output, 0);
    assert!(
        text(&output.stdout).contains("would record 1 event for 1 referral"),
        "{}",
        text(&output.stdout)
    );
    assert!(peak_kib < 100 * 1024, "peak {peak_kib} KiB");
}

// The whole week through the mailbox: `drafts`, the user sends a draft from a mail client (it
// lands in Sent with its Message-ID), a reply arrives, `sync --write`, `build`: the action is
// done and the reply recorded, as if typed.
#[test]
fn the_weekly_loop_runs_through_the_mailbox() {
    let ca = TestCa::new();
    let Some(dovecot) = Dovecot::start(&ca) else {
        return;
    };
    let dir = project(&ca, &Setup::new(&dovecot, free_port()));
    let root = dir.path();
    assert_exit(&run(root, &["drafts"]), 0);
    let drafts = dovecot.messages("Drafts");
    assert_eq!(drafts.len(), DUE);
    let (_, priya) = drafts
        .iter()
        .find(|(_, b)| text(b).contains("priya.raman@example.com"))
        .expect("Priya's welcome draft")
        .clone();
    // The client sends the draft: the message goes out and a copy lands in Sent.
    dovecot.append("Sent", &priya, &[Flag::Seen]);
    dovecot.append(
        "INBOX",
        &message(
            "Priya Raman <priya.raman@example.com>",
            "sam@example.com",
            "Re: Welcome to Acme Hosting, Priya!",
            "<priya-1@mail.example>",
            "In-Reply-To: <x@y>\r\n",
        ),
        &[],
    );
    assert_exit(&run(root, &["sync", "--write"]), 0);
    let priya_events = events(root, "priya-raman");
    let kinds: Vec<&str> = priya_events
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert!(kinds.ends_with(&["welcome_sent", "reply"]), "{kinds:?}");
    assert_eq!(
        priya_events[priya_events.len() - 2]["message_id"],
        message_id(&priya)
    );

    assert_exit(&run(root, &["build"]), 0);
    let report: serde_json::Value =
        serde_json::from_slice(&fs::read(root.join("output/report.json")).unwrap()).unwrap();
    let priya_row = report["affiliates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "priya-raman")
        .unwrap();
    assert_eq!(priya_row["stage"], "welcomed", "her welcome is done");
    assert!(priya_row["next_action"]["kind"] == "nudge", "{priya_row}");
    assert!(
        !built_emails(root)
            .iter()
            .any(|(_, b)| text(b).contains("priya.raman@example.com")),
        "no email is due for her this week any more"
    );
    let again = run(root, &["drafts"]);
    assert!(
        text(&again.stdout).contains("1 removed"),
        "her draft goes: {}",
        text(&again.stdout)
    );
}
