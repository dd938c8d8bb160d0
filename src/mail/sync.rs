//! Message headers read from the sent and inbox folders + the validated project → the events
//! they stand for: a sent email that is the one affrel wrote for a referral's action
//! completes that action; a message from a referral is a reply, unless it is an automatic
//! one; a delivery failure report for a referral's address is a bounce. Pure: the command
//! reads the folders and writes the records.
//!
//! Header values come from anyone who can send an email, so every one is treated as hostile:
//! addresses are compared on the address alone, case-insensitively; the subject becomes a
//! note of one line, at most 200 characters, without control or bidirectional characters; a
//! Message-ID is used only when it has the `<…>` form a record accepts.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Local, NaiveDate};
use mail_parser::{Address, HeaderName, MessageParser, MimeHeaders as _};

use crate::diagnostic::Diagnostic;
use crate::model::{EventKind, Project, Referral, is_message_id, is_spoofing_character};
use crate::render::Mailer;
use crate::stages;

/// The longest note taken from a subject, in characters.
const MAX_NOTE_CHARS: usize = 200;

/// The header fields `sync` reads of each message, and no more: the rest of a header, and
/// the body, stay on the server whatever their size.
pub const FIELDS: &[&str] = &[
    "FROM",
    "TO",
    "CC",
    "BCC",
    "DATE",
    "SUBJECT",
    "MESSAGE-ID",
    "CONTENT-TYPE",
    "AUTO-SUBMITTED",
    "X-AUTOREPLY",
    "X-AUTORESPOND",
    "PRECEDENCE",
    "X-FAILED-RECIPIENTS",
];

/// Which kind of folder a message was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Folder {
    /// Emails you sent.
    Sent,
    /// Where replies arrive.
    Inbox,
}

impl Folder {
    /// Its key under `mail.imap`.
    pub fn key(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Inbox => "inbox",
        }
    }
}

/// What affrel uses of one message's header.
#[derive(Debug, Clone)]
pub struct Message {
    pub folder: Folder,
    /// The folder's name, for listings.
    pub folder_name: String,
    /// Sender addresses, lowercase.
    pub from: Vec<String>,
    /// How many `From` headers it has: with more than one, which is the sender depends on
    /// the reader, so it is not recorded.
    pub from_headers: usize,
    /// To, Cc and Bcc addresses, lowercase.
    pub recipients: Vec<String>,
    /// The day of its `Date` header in this machine's time zone, else the day the server
    /// received it.
    pub date: Option<NaiveDate>,
    /// The subject on one line, cleaned and cut to a note's length.
    pub subject: String,
    /// Its Message-ID, `<…>`, when it has a usable one.
    pub message_id: Option<String>,
    /// The header that marks it as sent by a machine, not a person (RFC 3834's
    /// `Auto-Submitted`, and the older marks), as `name: value`.
    pub automatic: Option<String>,
    /// A delivery status report (RFC 3464): its machine-readable part names the recipients.
    pub is_report: bool,
    /// The recipients a delivery failure report says failed, lowercase: from
    /// `X-Failed-Recipients`, or from the report's part once it is read.
    pub failed: Vec<String>,
}

/// Reads the header of a message; `None` when it is not a message header at all.
pub fn read(
    folder: Folder,
    folder_name: &str,
    header: &[u8],
    received: Option<NaiveDate>,
) -> Option<Message> {
    let parsed = MessageParser::default().parse_headers(header)?;
    let addresses = |address: Option<&Address<'_>>| -> Vec<String> {
        address
            .map(|a| {
                a.iter()
                    .filter_map(|addr| addr.address())
                    .map(str::to_lowercase)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut recipients = addresses(parsed.to());
    recipients.extend(addresses(parsed.cc()));
    recipients.extend(addresses(parsed.bcc()));
    let date = parsed
        .date()
        .filter(|d| d.is_valid())
        .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0))
        .map(|moment| moment.with_timezone(&Local).date_naive())
        .or(received);
    let from_headers = parsed
        .headers()
        .iter()
        .filter(|header| header.name == HeaderName::From)
        .count();
    let message_id = parsed
        .message_id()
        .map(|id| format!("<{id}>"))
        .filter(|id| is_message_id(id));
    let is_report = parsed.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"))
    });
    let failed = parsed
        .header_raw("X-Failed-Recipients")
        .map(address_list)
        .unwrap_or_default();
    Some(Message {
        folder,
        folder_name: folder_name.to_owned(),
        from: addresses(parsed.from()),
        from_headers,
        recipients,
        date,
        subject: one_line(parsed.subject().unwrap_or_default()),
        message_id,
        automatic: automatic_mark(&parsed),
        is_report,
        failed,
    })
}

/// The header that marks a message as an automatic one, as `name: value`: `Auto-Submitted`
/// other than `no` (RFC 3834; any of several such headers), `X-Autoreply`, `X-Autorespond`,
/// or `Precedence` of `auto_reply`, `bulk` or `junk`. Comments in parentheses and parameters
/// after `;` are not part of the value.
fn automatic_mark(parsed: &mail_parser::Message<'_>) -> Option<String> {
    let values = |name: &str| -> Vec<String> {
        parsed
            .headers()
            .iter()
            .filter(|header| header.name.as_str().eq_ignore_ascii_case(name))
            .filter_map(|header| {
                let raw = parsed
                    .raw_message()
                    .get(header.offset_start as usize..header.offset_end as usize)?;
                Some(bare_value(&String::from_utf8_lossy(raw)))
            })
            .collect()
    };
    if let Some(submitted) = values("Auto-Submitted").into_iter().find(|v| v != "no") {
        return Some(format!("Auto-Submitted: {submitted}"));
    }
    for name in ["X-Autoreply", "X-Autorespond"] {
        if let Some(mark) = values(name).into_iter().next() {
            return Some(format!("{name}: {mark}"));
        }
    }
    values("Precedence")
        .into_iter()
        .find(|p| matches!(p.as_str(), "auto_reply" | "bulk" | "junk"))
        .map(|p| format!("Precedence: {p}"))
}

/// A header value without comments or parameters, on one line, lowercase:
/// `auto-replied; owner-email="x" (vacation)` → `auto-replied`.
fn bare_value(raw: &str) -> String {
    let mut value = String::new();
    let mut depth = 0usize;
    for c in raw.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ';' if depth == 0 => break,
            c if depth == 0 => value.push(c),
            _ => {}
        }
    }
    one_line(&value).to_lowercase()
}

/// The addresses of a comma-separated list such as `X-Failed-Recipients`, lowercase, with any
/// angle brackets removed.
fn address_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|a| {
            a.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .trim()
                .to_lowercase()
        })
        .filter(|a| a.contains('@') && !a.chars().any(char::is_whitespace))
        .collect()
}

/// The recipients a delivery status report's machine-readable part (`message/delivery-status`)
/// says failed: each per-recipient block with `Action: failed` gives its `Final-Recipient`.
/// A delayed or delivered recipient is no failure.
pub fn failed_recipients(status: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(status).replace("\r\n", "\n");
    // Folded lines continue the field before them.
    let unfolded = text.replace("\n ", " ").replace("\n\t", " ");
    let mut failed = Vec::new();
    for block in unfolded.split("\n\n") {
        let field = |name: &str| {
            block.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
            })
        };
        let action =
            field("Action").map(|a| a.split(['(', ' ']).next().unwrap_or("").to_lowercase());
        if action.as_deref() != Some("failed") {
            continue;
        }
        let Some(recipient) = field("Final-Recipient") else {
            continue;
        };
        let address = recipient.split_once(';').map_or(recipient, |(_, a)| a);
        failed.extend(address_list(address));
    }
    failed.sort();
    failed.dedup();
    failed
}

/// A header value as one short line: whitespace folded, control and bidirectional
/// characters removed, cut at [`MAX_NOTE_CHARS`].
pub fn one_line(value: &str) -> String {
    let cleaned: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .filter(|&c| !is_spoofing_character(c))
        .collect();
    let folded = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= MAX_NOTE_CHARS {
        return folded;
    }
    let mut cut: String = folded.chars().take(MAX_NOTE_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// An event a message stands for.
#[derive(Debug, Clone)]
pub struct Found {
    pub date: NaiveDate,
    pub kind: EventKind,
    pub message_id: String,
    /// The subject, as a reply's note.
    pub note: Option<String>,
    /// The address that failed, for a delivery failure report.
    pub address: Option<String>,
    /// The message's subject and folder, for listings.
    pub subject: String,
    pub folder_name: String,
}

/// A message to or from a referral that is not recorded, and why.
#[derive(Debug, Clone)]
pub struct Unmatched {
    pub id: String,
    pub date: Option<NaiveDate>,
    pub subject: String,
    pub folder_name: String,
    pub why: String,
    /// The command that records it as the action it may complete.
    pub done: Option<String>,
}

/// What the folders add: events by referral id (in date order), and what was seen but not
/// recorded.
#[derive(Debug, Default)]
pub struct Plan {
    pub events: BTreeMap<String, Vec<Found>>,
    pub unmatched: Vec<Unmatched>,
    /// Messages already recorded, skipped.
    pub already_recorded: usize,
}

impl Plan {
    /// How many events it records.
    pub fn event_count(&self) -> usize {
        self.events.values().map(Vec::len).sum()
    }
}

/// Matches the messages to the referrals. Messages are taken oldest first, and each event
/// found counts for the next ones: a follow-up sent after a recorded welcome is matched
/// against the action the welcome left.
pub fn plan(
    project: &Project,
    mailer: &Mailer<'_>,
    messages: &[Message],
    today: NaiveDate,
) -> Result<Plan, Diagnostic> {
    let mut referrals: HashMap<String, Referral> = HashMap::new();
    let by_address: HashMap<String, &Referral> = project
        .referrals
        .iter()
        .map(|referral| (referral.email.to_lowercase(), referral))
        .collect();
    let mut ordered: Vec<&Message> = messages.iter().collect();
    ordered.sort_by_key(|m| (m.date, m.folder));
    let mut plan = Plan::default();
    for message in ordered {
        let addresses = match message.folder {
            Folder::Sent => &message.recipients,
            // A delivery failure report comes from a mail system: it is about the recipients
            // it names.
            Folder::Inbox if !message.failed.is_empty() => &message.failed,
            Folder::Inbox => &message.from,
        };
        let matched: BTreeMap<&str, &Referral> = addresses
            .iter()
            .filter_map(|address| by_address.get(address))
            .map(|referral| (referral.id.as_str(), *referral))
            .collect();
        for (id, original) in matched {
            let referral = referrals
                .entry(id.to_owned())
                .or_insert_with(|| original.clone());
            match_one(project, mailer, referral, message, today, &mut plan)?;
        }
    }
    Ok(plan)
}

/// Matches one message to one referral, and adds what it finds to the referral's events.
fn match_one(
    project: &Project,
    mailer: &Mailer<'_>,
    referral: &mut Referral,
    message: &Message,
    today: NaiveDate,
    plan: &mut Plan,
) -> Result<(), Diagnostic> {
    let unmatched = |why: &str, done: Option<String>| Unmatched {
        id: referral.id.clone(),
        date: message.date,
        subject: message.subject.clone(),
        folder_name: message.folder_name.clone(),
        why: why.to_owned(),
        done,
    };
    let Some(message_id) = &message.message_id else {
        plan.unmatched
            .push(unmatched("it has no usable Message-ID", None));
        return Ok(());
    };
    if referral
        .events
        .iter()
        .any(|e| e.message_id.as_deref() == Some(message_id.as_str()))
    {
        plan.already_recorded += 1;
        return Ok(());
    }
    if message.from_headers > 1 {
        plan.unmatched.push(unmatched(
            "it has more than one From header, so who sent it is unclear",
            None,
        ));
        return Ok(());
    }
    let Some(date) = message.date else {
        plan.unmatched.push(unmatched("it has no date", None));
        return Ok(());
    };
    if date > today {
        plan.unmatched
            .push(unmatched("it is dated after today", None));
        return Ok(());
    }
    if date < referral.referred_on {
        plan.unmatched
            .push(unmatched("it is dated before they were referred", None));
        return Ok(());
    }
    let found = match message.folder {
        Folder::Inbox => match from_inbox(referral, message, message_id, date) {
            Ok(found) => found,
            Err(why) => {
                plan.unmatched.push(unmatched(&why, None));
                return Ok(());
            }
        },
        Folder::Sent => {
            let Some(state) = stages::state_of(project, referral, date) else {
                return Ok(());
            };
            let Some((action, email)) = mailer.email_for(&state, date) else {
                plan.unmatched.push(unmatched(
                    "they had no action with an email to complete then",
                    None,
                ));
                return Ok(());
            };
            let email = email?;
            let same_subject = one_line(&email.subject) == message.subject;
            if email.message_id != *message_id && !same_subject {
                let done = format!("affrel done {} --date {date}", referral.id);
                plan.unmatched.push(unmatched(
                    &format!(
                        "it is not the `{}` email affrel wrote (another subject)",
                        action.kind
                    ),
                    Some(done),
                ));
                return Ok(());
            }
            Found {
                date,
                kind: action.kind.completed_by(),
                message_id: message_id.clone(),
                note: None,
                address: None,
                subject: message.subject.clone(),
                folder_name: message.folder_name.clone(),
            }
        }
    };
    record(referral, &found);
    plan.events
        .entry(referral.id.clone())
        .or_default()
        .push(found);
    Ok(())
}

/// What a message in an inbox folder stands for: a bounce when it is a delivery failure
/// report, a reply unless it is an automatic one (then why it is not recorded).
fn from_inbox(
    referral: &Referral,
    message: &Message,
    message_id: &str,
    date: NaiveDate,
) -> Result<Found, String> {
    let found = |kind, note, address| Found {
        date,
        kind,
        message_id: message_id.to_owned(),
        note,
        address,
        subject: message.subject.clone(),
        folder_name: message.folder_name.clone(),
    };
    if !message.failed.is_empty() {
        return Ok(found(
            EventKind::Bounced,
            None,
            Some(referral.email.clone()),
        ));
    }
    if let Some(mark) = &message.automatic {
        return Err(format!("an automatic reply ({mark}), not an answer"));
    }
    let note = (!message.subject.is_empty()).then(|| message.subject.clone());
    Ok(found(EventKind::Reply, note, None))
}

/// Adds the event to the referral as `sync --write` will record it, keeping events in date
/// order, so that later messages are matched against what it leaves.
fn record(referral: &mut Referral, found: &Found) {
    let event = crate::model::Event {
        date: found.date,
        kind: found.kind,
        amount: None,
        interest: None,
        minutes: None,
        reference: None,
        message_id: Some(found.message_id.as_str().into()),
        address: found.address.as_deref().map(Into::into),
    };
    let at = referral.events.partition_point(|e| e.date <= found.date);
    referral.events.insert(at, event);
}

#[cfg(test)]
mod tests {
    use super::{Folder, failed_recipients, one_line, read};

    // Hostile subjects become one clean line of at most 200 characters.
    #[test]
    fn subjects_become_one_clean_short_line() {
        assert_eq!(one_line("  Re:\tyour\r\n  question "), "Re: your question");
        assert_eq!(one_line("a\u{202E}b\u{0}c"), "ab c");
        let long = one_line(&"x".repeat(2000));
        assert_eq!(long.chars().count(), 200);
        assert!(long.ends_with('…'));
    }

    // Addresses are compared without display names, case-insensitively; a Message-ID is
    // kept only in the form a record accepts; a missing date falls back to the arrival day.
    #[test]
    fn headers_are_read_defensively() {
        let header = b"From: \"Ana\" <Ana@Example.COM>, Bob <bob@example.com>\r\nTo: sam@example.com\r\nSubject: =?utf-8?q?Hi=0A=E2=80=AEthere?=\r\nMessage-ID: not a message id\r\n\r\n";
        let received = chrono::NaiveDate::from_ymd_opt(2026, 11, 20);
        let message = read(Folder::Inbox, "INBOX", header, received).unwrap();
        assert_eq!(message.from, ["ana@example.com", "bob@example.com"]);
        assert_eq!(message.subject, "Hi there");
        assert_eq!(message.message_id, None);
        assert_eq!(message.date, received);
    }

    /// The automatic mark `read` finds in a header.
    fn mark(header: &str) -> Option<String> {
        let text = format!("From: ana@example.com\r\n{header}\r\n\r\n");
        read(Folder::Inbox, "INBOX", text.as_bytes(), None)
            .unwrap()
            .automatic
    }

    // RFC 3834's `Auto-Submitted` with its comments and parameters, several of them, the
    // older marks, and `Precedence` with a comment; `no` is a person writing.
    #[test]
    fn automatic_replies_are_told_by_their_headers() {
        assert_eq!(mark("Auto-Submitted: no (written by hand)"), None);
        assert_eq!(mark("Subject: hi"), None);
        assert_eq!(
            mark("Auto-Submitted: auto-replied; owner-email=\"a@example.com\" (vacation)"),
            Some("Auto-Submitted: auto-replied".to_owned())
        );
        assert_eq!(
            mark("Auto-Submitted: auto-replied\r\nAuto-Submitted: no"),
            Some("Auto-Submitted: auto-replied".to_owned())
        );
        assert_eq!(
            mark("X-Autoreply: yes"),
            Some("X-Autoreply: yes".to_owned())
        );
        assert_eq!(
            mark("Precedence: bulk (list)"),
            Some("Precedence: bulk".to_owned())
        );
        assert_eq!(mark("Precedence: first-class"), None);
    }

    // A delivery status report's failed recipients: folded fields, several recipient
    // blocks, CRLF, a delayed one left out, angle brackets and letter case.
    #[test]
    fn failed_recipients_come_from_the_report() {
        let status = b"Reporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822;\r\n <Ana@Example.com>\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\nFinal-Recipient: rfc822; bob@example.com\r\nAction: delayed\r\n\r\nFinal-Recipient: rfc822; cy@example.com\r\nAction: Failed (permanent)\r\n";
        assert_eq!(
            failed_recipients(status),
            ["ana@example.com", "cy@example.com"]
        );
        assert!(failed_recipients(b"Action: delivered\r\n").is_empty());
    }
}
