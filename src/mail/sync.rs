//! Message headers read from the sent and inbox folders + the validated project → the events
//! they stand for: a sent email that is the one affrel wrote for a referral's action
//! completes that action; a message from a referral is a reply. Pure: the command reads the
//! folders and writes the records.
//!
//! Header values come from anyone who can send an email, so every one is treated as hostile:
//! addresses are compared on the address alone, case-insensitively; the subject becomes a
//! note of one line, at most 200 characters, without control or bidirectional characters; a
//! Message-ID is used only when it has the `<…>` form a record accepts.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Local, NaiveDate};
use mail_parser::{Address, HeaderName, MessageParser};

use crate::diagnostic::Diagnostic;
use crate::model::{EventKind, Project, Referral, is_message_id, is_spoofing_character};
use crate::render::Mailer;
use crate::stages;

/// The longest note taken from a subject, in characters.
const MAX_NOTE_CHARS: usize = 200;

/// The header fields `sync` reads of each message, and no more: the rest of a header, and
/// the body, stay on the server whatever their size.
pub const FIELDS: &[&str] = &["FROM", "TO", "CC", "BCC", "DATE", "SUBJECT", "MESSAGE-ID"];

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
    Some(Message {
        folder,
        folder_name: folder_name.to_owned(),
        from: addresses(parsed.from()),
        from_headers,
        recipients,
        date,
        subject: one_line(parsed.subject().unwrap_or_default()),
        message_id,
    })
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
        Folder::Inbox => Found {
            date,
            kind: EventKind::Reply,
            message_id: message_id.clone(),
            note: (!message.subject.is_empty()).then(|| message.subject.clone()),
            subject: message.subject.clone(),
            folder_name: message.folder_name.clone(),
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
        message_id: Some(found.message_id.clone()),
    };
    let at = referral.events.partition_point(|e| e.date <= found.date);
    referral.events.insert(at, event);
}

#[cfg(test)]
mod tests {
    use super::{Folder, one_line, read};

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
}
