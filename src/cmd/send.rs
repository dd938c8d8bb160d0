//! `affrel send`: this week's emails (or those of the given referrals) → listed, or with
//! `--yes` sent over SMTP one at a time, each recorded as the event that completes its
//! action, with its Message-ID, as soon as the server has taken it and before the next goes.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use imap::types::Flag;

use crate::cli::{Exit, SendArgs};
use crate::cmd::{
    fail, leave_out_email_on_its_way, not_changed, only_real_emails, print_all, shown, today,
};
use crate::console::{say, tell};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::edit::pending::{self, Pending};
use crate::edit::text::{EventFields, Item};
use crate::edit::{Refused, Session, referral};
use crate::load::REFERRALS_DIR;
use crate::mail;
use crate::mail::drafts::sent_bytes;
use crate::mail::imap::Mailbox;
use crate::mail::password::password;
use crate::mail::smtp::{Outbox, SendError};
use crate::model::{MailSettings, Project};
use crate::render::{self, RenderedEmail, plural};
use crate::stages;

/// Lists, or with `--yes` sends and records, the emails due this week.
pub fn run(args: &SendArgs) -> Exit {
    let Some(today) = today() else {
        return Exit::Usage;
    };
    let as_of = args.common.as_of.unwrap_or(today);
    let root = &args.common.root.path;
    let mut session = match Session::open(root) {
        Ok(session) => session,
        Err(refused) => return not_changed(refused),
    };
    // Only a run that sends records the email a stopped run left on its way; a listing
    // leaves it out and changes nothing.
    if args.yes
        && let Err(exit) = record_pending(&mut session, today)
    {
        return exit;
    }
    let (project, diagnostics) = session.project(today);
    let Some(project) = project else {
        return fail(&diagnostics);
    };
    let mail = match mail::settings(project.config.mail.as_ref()) {
        Ok(mail) => mail,
        Err(problem) => return fail(&[problem]),
    };
    let emails = match chosen(&project, as_of, args, root) {
        Ok(emails) => emails,
        Err(problems) => return fail(&problems),
    };
    print_all(&diagnostics);
    if emails.is_empty() {
        say(format_args!("nothing to send: no email is due this week"));
        return Exit::Success;
    }
    if !args.yes {
        let sender = &project.config.sender;
        say(format_args!("from {} <{}>:", sender.name, sender.email));
        for email in &emails {
            say(format_args!(
                "  {} <{}>: {}",
                email.to_name, email.to_email, email.subject
            ));
        }
        say(format_args!(
            "would send {}; nothing was sent. Run again with --yes to send them",
            plural(emails.len(), "email", "emails")
        ));
        return Exit::Success;
    }
    let rate = args
        .rate
        .or_else(|| mail.smtp.as_ref().and_then(|smtp| smtp.rate));
    send_all(&mut session, &project, mail, &emails, rate, today)
}

/// The emails to send: those due this week but the one a stopped run left on its way, of
/// the given referrals when any are named, at most `--limit` of them.
fn chosen(
    project: &Project,
    as_of: NaiveDate,
    args: &SendArgs,
    root: &Path,
) -> Result<Vec<RenderedEmail>, Vec<Diagnostic>> {
    let derived = stages::derive(project, as_of);
    let mut diagnostics = Diagnostics::default();
    let mut emails = render::emails_due(project, &derived, &mut diagnostics);
    only_real_emails(project, &derived, &mut emails).map_err(|problem| vec![problem])?;
    if let Err(problem) = leave_out_email_on_its_way(root, &mut emails) {
        diagnostics.push(problem);
    }
    if diagnostics.has_errors() {
        return Err(diagnostics.into_sorted());
    }
    if !args.ids.is_empty() {
        let mut problems = Vec::new();
        for id in &args.ids {
            if let Err(problem) = referral(project, id) {
                problems.push(problem);
            } else if !emails.iter().any(|email| &email.id == id) {
                problems.push(
                    Diagnostic::error(REFERRALS_DIR, format!("`{id}` has no email due this week"))
                        .with_help("`affrel agenda` lists who is due and when; `affrel send` without ids sends every email due"),
                );
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        emails.retain(|email| args.ids.contains(&email.id));
    }
    emails.truncate(args.limit.unwrap_or(usize::MAX));
    Ok(emails)
}

/// Logs in, then sends each email and records it before the next, at most `rate` a minute
/// when set; with `save_sent`, each is also appended to the sent folder. Stops at the first
/// problem, after recording what was sent.
fn send_all(
    session: &mut Session,
    project: &Project,
    mail: &MailSettings,
    emails: &[RenderedEmail],
    rate: Option<u32>,
    today: NaiveDate,
) -> Exit {
    let connected = mail::smtp_settings(mail).and_then(|smtp| {
        let password = password(mail)?;
        let outbox = Outbox::connect(smtp, mail, &password)?;
        let sent_folder = if smtp.save_sent {
            let imap = mail::imap_settings(mail)?;
            let mut mailbox = Mailbox::connect(imap, mail, &password)?;
            // A sent folder that cannot be opened stops the run before anything is sent.
            mailbox.examine("sent", &imap.sent)?;
            Some((mailbox, imap.sent.as_str()))
        } else {
            None
        };
        Ok((outbox, sent_folder))
    });
    let (mut outbox, mut sent_folder) = match connected {
        Ok(connected) => connected,
        Err(problem) => return fail(&[problem]),
    };
    let mut sent = 0;
    let mut pace = rate.map(Pace::new);
    for email in emails {
        if let Some(pace) = &mut pace {
            pace.wait();
        }
        let step = send_one(session, project, &mut outbox, email, today).and_then(|bytes| {
            sent += 1;
            match &mut sent_folder {
                Some((mailbox, folder)) => mailbox.append("sent", folder, &bytes, &[Flag::Seen]).map_err(|problem| {
                    Stop::Failed(vec![problem.with_help_first("the email was sent and recorded; only its copy in the sent folder is missing")])
                }),
                None => Ok(()),
            }
        });
        if let Err(stop) = step {
            return stopped(stop, sent, emails.len());
        }
    }
    outbox.quit();
    if let Some((mailbox, _)) = sent_folder {
        mailbox.logout();
    }
    say(format_args!(
        "sent and recorded {}",
        plural(sent, "email", "emails")
    ));
    Exit::Success
}

/// At most so many emails a minute: each starts no sooner than a fixed interval after the
/// one before.
struct Pace {
    rate: u32,
    interval: Duration,
    next: Option<Instant>,
}

impl Pace {
    fn new(rate: u32) -> Self {
        Self {
            rate,
            interval: Duration::from_secs(60) / rate,
            next: None,
        }
    }

    /// Waits, saying so, until the next email may go.
    fn wait(&mut self) {
        if let Some(next) = self.next {
            let left = next.saturating_duration_since(Instant::now());
            if !left.is_zero() {
                tell(format_args!(
                    "waiting {:.1} s before the next email (at most {} a minute)",
                    left.as_secs_f64(),
                    self.rate
                ));
                std::thread::sleep(left);
            }
        }
        self.next = Some(Instant::now() + self.interval);
    }
}

/// Why the run stopped.
enum Stop {
    /// The problems; what was sent before is recorded.
    Failed(Vec<Diagnostic>),
    /// The email was sent but recording it failed.
    NotRecorded(Refused),
    /// The email was handed over and recorded as sent, but the server never confirmed it.
    Unconfirmed(Diagnostic),
}

/// The note of an email the server took without confirming it.
const UNCONFIRMED_NOTE: &str = "delivery not confirmed by the server";

/// Sends one email and records it; returns the bytes sent.
fn send_one(
    session: &mut Session,
    project: &Project,
    outbox: &mut Outbox,
    email: &RenderedEmail,
    today: NaiveDate,
) -> Result<Vec<u8>, Stop> {
    let mut note = Pending {
        id: email.id.clone(),
        event: email.kind.completed_by().as_str().to_owned(),
        date: today.to_string(),
        message_id: email.message_id.clone(),
        to: email.to_email.clone(),
        subject: email.subject.clone(),
        note: None,
    };
    let fail_with = |problem: Diagnostic| Stop::Failed(vec![problem]);
    pending::write(session.root(), &note).map_err(fail_with)?;
    let bytes = sent_bytes(&email.eml, &chrono::Utc::now().to_rfc2822());
    match outbox.send(&project.config.sender.email, &email.to_email, &bytes) {
        Ok(()) => {}
        Err(SendError::NotSent(problem)) => {
            // The server did not take it: nothing to record.
            let cleared = pending::clear(session.root());
            return Err(Stop::Failed(
                std::iter::once(problem).chain(cleared.err()).collect(),
            ));
        }
        Err(SendError::Unconfirmed(problem)) => {
            // Handed over: it counts as sent, and is never handed over again.
            note.note = Some(UNCONFIRMED_NOTE.to_owned());
            let _ = pending::write(session.root(), &note);
            record(session, &note, today).map_err(Stop::NotRecorded)?;
            pending::clear(session.root()).map_err(fail_with)?;
            return Err(Stop::Unconfirmed(problem.with_help(format!(
                "the whole email to {} was handed to the server, which did not confirm it; it is recorded as sent ({}, note \"{UNCONFIRMED_NOTE}\") and affrel will not send it again. Look in your sent folder, or ask them, whether it arrived; if it did not, remove that event and send again",
                email.to_email, note.event
            ))));
        }
    }
    let path = record(session, &note, today).map_err(Stop::NotRecorded)?;
    pending::clear(session.root()).map_err(fail_with)?;
    say(format_args!(
        "sent to {} <{}>: {}; recorded {} in {}",
        email.to_name,
        email.to_email,
        email.subject,
        note.event,
        shown(session.root(), &path).display()
    ));
    Ok(bytes)
}

/// Records the sent email as the event that completes its action, with its Message-ID.
fn record(
    session: &mut Session,
    note: &Pending,
    today: NaiveDate,
) -> Result<std::path::PathBuf, Refused> {
    let path = session.find_record(&note.id)?;
    let item = Item::event(&EventFields {
        date: &note.date,
        kind: &note.event,
        note: note.note.as_deref(),
        message_id: Some(&note.message_id),
        ..EventFields::default()
    });
    let change = session.append(&path, std::slice::from_ref(&item))?;
    let warnings = session.apply_and_keep(&[change], today)?;
    print_all(&warnings);
    Ok(path)
}

/// An email a stopped run handed to the server and did not record: recorded now, as sent,
/// so that it is never sent twice.
fn record_pending(session: &mut Session, today: NaiveDate) -> Result<(), Exit> {
    let note = match pending::read(session.root()) {
        Ok(Some(note)) => note,
        Ok(None) => return Ok(()),
        Err(problem) => return Err(fail(&[problem])),
    };
    let already = session.project(today).0.is_some_and(|project| {
        referral(&project, &note.id).is_ok_and(|r| {
            r.events
                .iter()
                .any(|e| e.message_id.as_deref() == Some(note.message_id.as_str()))
        })
    });
    if !already {
        record(session, &note, today).map_err(not_changed)?;
        tell(format_args!(
            "an earlier `affrel send --yes` stopped after handing \"{}\" for {} to the server, before recording it: recorded it now as sent ({}, {}). If it never arrived, remove that event and send again",
            note.subject, note.to, note.event, note.date
        ));
    }
    pending::clear(session.root()).map_err(|problem| fail(&[problem]))
}

/// Reports why the run stopped and what was sent before; exit status 1.
fn stopped(stop: Stop, sent: usize, total: usize) -> Exit {
    let summary =
        format!("error: stopped after sending {sent} of {total}; each email sent is recorded");
    match stop {
        Stop::Failed(problems) => {
            print_all(&problems);
            tell(format_args!("{summary}"));
        }
        Stop::NotRecorded(refused) => {
            match refused {
                Refused::Unchanged(problems) => print_all(&problems),
                unfinished @ Refused::Unfinished(_) => {
                    let _ = not_changed(unfinished);
                }
            }
            tell(format_args!(
                "error: stopped after sending {} of {total}: the last was sent but could not be recorded; the next `affrel send --yes` records it before anything else",
                sent + 1
            ));
        }
        Stop::Unconfirmed(problem) => {
            print_all(&[problem]);
            tell(format_args!(
                "error: stopped after {} of {total}: delivery was not confirmed for the last, which is recorded as sent; each email sent is recorded",
                sent + 1
            ));
        }
    }
    Exit::InvalidContent
}
