//! `affrel sync`: your sent and inbox folders, read without changing anything → the emails
//! you sent that complete a referral's action, and the replies you got, listed (a dry run)
//! or appended to the records, all or none.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{Days, NaiveDate};

use crate::cli::{Exit, SyncArgs};
use crate::cmd::{append_all, fail, locked_project, print_all, today};
use crate::console::say;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::edit::text::{EventFields, Item};
use crate::mail;
use crate::mail::imap::Mailbox;
use crate::mail::sync::{self, Folder, Found, Message, Plan};
use crate::model::{EventKind, ImapSettings, Project};
use crate::render::{Mailer, plural};

/// How far back `sync` reads without `--since`.
const DEFAULT_DAYS: u64 = 30;

/// Lists, or with `--write` records, what the mailbox says happened.
pub fn run(args: &SyncArgs) -> Exit {
    let Some(today) = today() else {
        return Exit::Usage;
    };
    let since = args.since.unwrap_or_else(|| default_since(today));
    let (session, project, diagnostics) = match locked_project(&args.root.path, today) {
        Ok(locked) => locked,
        Err(exit) => return exit,
    };
    let plan = mail::settings(project.config.mail.as_ref())
        .and_then(|mail| Ok((mail, mail::imap_settings(mail)?)))
        .map_err(|problem| vec![problem])
        .and_then(|(mail, imap)| {
            let mut mailbox = Mailbox::log_in(imap, mail).map_err(|p| vec![p])?;
            let plan = plan(&mut mailbox, &project, imap, since, today);
            mailbox.logout();
            plan
        });
    let plan = match plan {
        Ok(plan) => plan,
        Err(problems) => return fail(&problems),
    };
    print_all(&diagnostics);
    say(format_args!(
        "{}",
        listing(&plan, since, args.write).trim_end()
    ));
    if !args.write || plan.events.is_empty() {
        return Exit::Success;
    }
    append_all(session, &project, events(&plan), today)
}

/// How far back `sync` reads without `--since`: [`DEFAULT_DAYS`] before today.
pub fn default_since(today: NaiveDate) -> NaiveDate {
    today
        .checked_sub_days(Days::new(DEFAULT_DAYS))
        .unwrap_or(today)
}

/// Reads the folders since `since` and plans what they add to the records.
pub fn plan(
    mailbox: &mut Mailbox,
    project: &Project,
    imap: &ImapSettings,
    since: NaiveDate,
    today: NaiveDate,
) -> Result<Plan, Vec<Diagnostic>> {
    let mut problems = Diagnostics::default();
    let Some(mailer) = Mailer::new(project, &mut problems) else {
        return Err(problems.into_sorted());
    };
    read_folders(mailbox, imap, since)
        .and_then(|messages| sync::plan(project, &mailer, &messages, today))
        .map_err(|problem| vec![problem])
}

/// The events a plan adds, as items to append to each referral's record.
pub fn events(plan: &Plan) -> impl Iterator<Item = (&str, Vec<Item>)> {
    plan.events
        .iter()
        .map(|(id, found)| (id.as_str(), found.iter().map(item).collect()))
}

/// Reads the headers of the sent folder and of each inbox folder since `since`, read-only.
fn read_folders(
    mailbox: &mut Mailbox,
    imap: &ImapSettings,
    since: NaiveDate,
) -> Result<Vec<Message>, Diagnostic> {
    let folders = std::iter::once((Folder::Sent, &imap.sent))
        .chain(imap.inbox.iter().map(|name| (Folder::Inbox, name)));
    let mut messages = Vec::new();
    for (folder, name) in folders {
        mailbox.examine(folder.key(), name)?;
        let uids = mailbox.since(since)?;
        let mut read: BTreeMap<u32, Message> = BTreeMap::new();
        for header in mailbox.headers(&uids, sync::FIELDS)? {
            if let Some(message) = sync::read(folder, name, &header.bytes, header.received)
                .filter(|message| message.date.is_none_or(|date| date >= since))
            {
                read.insert(header.uid, message);
            }
        }
        let reports: Vec<u32> = read
            .iter()
            .filter(|(_, m)| m.folder == Folder::Inbox && m.is_report && m.failed.is_empty())
            .map(|(&uid, _)| uid)
            .collect();
        for (uid, status) in mailbox.delivery_status(&reports)? {
            if let Some(message) = read.get_mut(&uid) {
                message.failed = sync::failed_recipients(&status);
            }
        }
        messages.extend(read.into_values());
    }
    Ok(messages)
}

/// What a plan records, in one line: the sent emails and replies, and what was seen and not
/// recorded.
pub fn summary(plan: &Plan) -> String {
    let count = |kind: EventKind| {
        plan.events
            .values()
            .flatten()
            .filter(|found| found.kind == kind)
            .count()
    };
    let (replies, bounces) = (count(EventKind::Reply), count(EventKind::Bounced));
    let sent = plan.event_count() - replies - bounces;
    let mut line = if plan.event_count() == 0 {
        format!("nothing new ({} already recorded)", plan.already_recorded)
    } else {
        let mut parts = vec![
            plural(sent, "sent email", "sent emails"),
            plural(replies, "reply", "replies"),
        ];
        if bounces > 0 {
            parts.push(plural(bounces, "bounce", "bounces"));
        }
        let last = parts.pop().unwrap_or_default();
        format!(
            "recorded {} and {last} for {}",
            parts.join(", "),
            plural(plan.events.len(), "referral", "referrals")
        )
    };
    if !plan.unmatched.is_empty() {
        let _ = write!(
            line,
            "; {} seen but not recorded (`affrel sync` lists them)",
            plan.unmatched.len()
        );
    }
    line
}

fn item(found: &Found) -> Item {
    Item::event(&EventFields {
        date: &found.date.to_string(),
        kind: found.kind.as_str(),
        note: found.note.as_deref(),
        message_id: Some(&found.message_id),
        address: found.address.as_deref(),
        ..EventFields::default()
    })
}

/// What the folders add, per referral, then what was seen and not recorded.
fn listing(plan: &Plan, since: NaiveDate, write: bool) -> String {
    let mut out = String::new();
    let verb = if write { "records" } else { "would record" };
    let _ = writeln!(
        out,
        "since {since}: {verb} {} for {}; {} already recorded",
        plural(plan.event_count(), "event", "events"),
        plural(plan.events.len(), "referral", "referrals"),
        plan.already_recorded
    );
    for (id, found) in &plan.events {
        let _ = writeln!(out, "  {id}");
        for event in found {
            let _ = writeln!(
                out,
                "    {}  {}  \"{}\" ({})",
                event.date, event.kind, event.subject, event.folder_name
            );
        }
    }
    if !plan.unmatched.is_empty() {
        let _ = writeln!(out, "seen but not recorded:");
        for seen in &plan.unmatched {
            let date = seen
                .date
                .map_or_else(|| "no date".to_owned(), |d| d.to_string());
            let _ = write!(
                out,
                "  {}  {date}  \"{}\" ({}): {}",
                seen.id, seen.subject, seen.folder_name, seen.why
            );
            if let Some(done) = &seen.done {
                let _ = write!(out, "; if it completes their action: {done}");
            }
            out.push('\n');
        }
    }
    if !write && plan.event_count() > 0 {
        let _ = writeln!(
            out,
            "nothing was written; run again with --write to record them"
        );
    }
    out
}
