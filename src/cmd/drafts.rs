//! `affrel drafts`: this week's emails → the drafts folder of your mailbox, each marked as
//! affrel's; affrel's earlier drafts that changed or are no longer due are replaced or
//! removed, and nothing else in the folder is touched.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use chrono::NaiveDate;
use imap::types::Flag;
use mail_parser::MessageParser;

use crate::cli::{DraftsArgs, Exit};
use crate::cmd::{
    fail, leave_out_email_on_its_way, locked_project, only_real_emails, print_all, today,
};
use crate::console::say;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::mail;
use crate::mail::drafts::{self, Found, MARK, Plan, Wanted};
use crate::mail::imap::{Fetched, Mailbox};
use crate::mail::sync::one_line;
use crate::model::Project;
use crate::render::{self, RenderedEmail};
use crate::stages;

/// Brings the drafts folder in line with this week's emails.
pub fn run(args: &DraftsArgs) -> Exit {
    let Some(today) = today() else {
        return Exit::Usage;
    };
    let as_of = args.common.as_of.unwrap_or(today);
    let root = &args.common.root.path;
    // The project lock: two runs of `drafts`, or `drafts` and `send`, never work on the
    // mailbox at once, so no draft is added twice and none is added for an email being sent.
    let (_session, project, warnings) = match locked_project(root, today) {
        Ok(locked) => locked,
        Err(exit) => return exit,
    };
    let settings = mail::settings(project.config.mail.as_ref()).and_then(|mail| {
        let imap = mail::imap_settings(mail)?;
        Ok((mail, imap))
    });
    let (mail, imap) = match settings {
        Ok(settings) => settings,
        Err(problem) => return fail(&[problem]),
    };
    let emails = match emails_to_draft(&project, as_of, root, warnings) {
        Ok((emails, warnings)) => {
            print_all(&warnings);
            emails
        }
        Err(problems) => return fail(&problems),
    };
    let wanted = wanted(&emails);
    let result = Mailbox::log_in(imap, mail).and_then(|mut mailbox| {
        let changed = update(&mut mailbox, &imap.drafts, &wanted, args.dry_run);
        mailbox.logout();
        changed
    });
    match result {
        Ok((plan, can_remove)) => {
            say(format_args!(
                "{}",
                listing(&plan, &emails, &imap.drafts, args.dry_run, can_remove).trim_end()
            ));
            Exit::Success
        }
        Err(problem) => fail(&[problem]),
    }
}

/// This week's emails to draft, less those of sample referrals, of bouncing addresses and the
/// one a stopped `send` left on its way, with the warnings (`warnings` and the emails'). Every
/// problem when there are errors, the placeholder sender among them.
pub fn emails_to_draft(
    project: &Project,
    as_of: NaiveDate,
    root: &Path,
    warnings: Vec<Diagnostic>,
) -> Result<(Vec<RenderedEmail>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut diagnostics = Diagnostics::default();
    diagnostics.extend(warnings);
    let derived = stages::derive(project, as_of);
    let mut emails = render::emails_due(project, &derived, &mut diagnostics);
    only_real_emails(project, &derived, &mut emails).map_err(|problem| vec![problem])?;
    if let Err(problem) = leave_out_email_on_its_way(root, &mut emails) {
        diagnostics.push(problem);
    }
    let diagnostics = diagnostics.into_sorted();
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(diagnostics);
    }
    Ok((emails, diagnostics))
}

/// The drafts wanted for `emails`, as the mailbox compares them.
pub fn wanted(emails: &[RenderedEmail]) -> Vec<Wanted<'_>> {
    emails
        .iter()
        .map(|email| Wanted {
            message_id: &email.message_id,
            to: email.to_email.to_lowercase(),
            bytes: drafts::draft_bytes(&email.eml),
        })
        .collect()
}

/// Reads affrel's drafts in the folder, plans, and (unless a dry run) appends, then
/// removes: a run stopped in between leaves a second copy, which the next run removes, never
/// a missing draft. Returns the plan, and whether the server can remove single messages.
pub fn update(
    mailbox: &mut Mailbox,
    folder: &str,
    wanted: &[Wanted<'_>],
    dry_run: bool,
) -> Result<(Plan, bool), Diagnostic> {
    if dry_run {
        mailbox.examine("drafts", folder)?;
    } else {
        mailbox.select("drafts", folder)?;
    }
    let uids = mailbox.with_header(MARK)?;
    let found: Vec<Found> = mailbox.read(&uids)?.iter().filter_map(affrels).collect();
    let ours: BTreeSet<u32> = found.iter().map(|draft| draft.uid).collect();
    let edited: BTreeSet<String> = mailbox
        .message_ids()?
        .into_iter()
        .filter(|(uid, _)| !ours.contains(uid))
        .map(|(_, id)| id)
        .collect();
    let can_remove = mailbox.can_remove();
    let plan = drafts::plan(wanted, &found, &edited, can_remove);
    if dry_run {
        return Ok((plan, can_remove));
    }
    for &index in &plan.add {
        mailbox.append("drafts", folder, &wanted[index].bytes, &[Flag::Draft])?;
    }
    if can_remove {
        let stale: Vec<u32> = plan.remove.iter().map(|draft| draft.uid).collect();
        mailbox.remove(&stale)?;
    }
    Ok((plan, can_remove))
}

/// The draft, when it is exactly as affrel wrote it.
fn affrels(fetched: &Fetched) -> Option<Found> {
    if !drafts::is_intact(&fetched.bytes) {
        return None;
    }
    let message = MessageParser::default().parse_headers(&fetched.bytes)?;
    let to = message.to()?.first()?.address()?.to_lowercase();
    let date = message.header_raw("Date").map(one_line).unwrap_or_default();
    Some(Found {
        uid: fetched.uid,
        message_id: format!("<{}>", message.message_id()?),
        to,
        subject: one_line(message.subject().unwrap_or_default()),
        date,
        content: drafts::content(&fetched.bytes),
    })
}

/// What was (or would be) done, one line per draft, then the counts of what happened.
fn listing(
    plan: &Plan,
    emails: &[RenderedEmail],
    folder: &str,
    dry_run: bool,
    can_remove: bool,
) -> String {
    let mut out = String::new();
    let line = |out: &mut String, verb: &str, email: &RenderedEmail| {
        let _ = writeln!(
            out,
            "  {verb:<9} {} <{}>: {}",
            email.to_name, email.to_email, email.subject
        );
    };
    for &index in &plan.add {
        let verb = if plan.replacing.contains(&index) {
            "replace"
        } else {
            "add"
        };
        line(&mut out, verb, &emails[index]);
    }
    for &index in &plan.kept {
        line(&mut out, "keep", &emails[index]);
    }
    for &index in &plan.yours {
        line(&mut out, "yours", &emails[index]);
    }
    for (index, earlier) in &plan.outdated {
        let email = &emails[*index];
        let _ = writeln!(
            out,
            "  {:<9} {} <{}>: {}; the draft dated {} is out of date (its email changed): delete it in your mail client, then run `affrel drafts` again",
            "outdated", email.to_name, email.to_email, email.subject, earlier.date
        );
    }
    for draft in plan
        .remove
        .iter()
        .filter(|d| !plan.superseded.contains(&d.uid))
    {
        if can_remove {
            let _ = writeln!(
                out,
                "  {:<9} the draft to {}: \"{}\" (no longer due)",
                "remove", draft.to, draft.subject
            );
        } else {
            let _ = writeln!(
                out,
                "  {:<9} the draft to {} dated {}: \"{}\" is no longer due: delete it in your mail client",
                "stale", draft.to, draft.date, draft.subject
            );
        }
    }
    let _ = writeln!(out, "{}", summary(plan, folder, dry_run, can_remove));
    out
}

/// What was (or would be) done, in one line: the counts of what happened in the folder.
pub fn summary(plan: &Plan, folder: &str, dry_run: bool, can_remove: bool) -> String {
    let replaced = plan.replacing.len();
    let removed = if can_remove {
        plan.remove.len() - plan.superseded.len()
    } else {
        0
    };
    let mut summary = format!(
        "{} added, {} kept, {replaced} replaced, {removed} removed",
        plan.add.len() - replaced,
        plan.kept.len(),
    );
    if !plan.yours.is_empty() {
        let _ = write!(
            summary,
            ", {} edited by you and left as they are",
            plan.yours.len()
        );
    }
    let by_hand = plan.outdated.len() + if can_remove { 0 } else { plan.remove.len() };
    if by_hand > 0 {
        let _ = write!(
            summary,
            "; {by_hand} to delete by hand (this server cannot remove single messages: it lacks UIDPLUS)"
        );
    }
    if dry_run {
        format!("drafts in {folder} (dry run, nothing was changed): would be {summary}")
    } else {
        format!("drafts in {folder}: {summary}")
    }
}
