//! `affrel weekly`: the Monday routine in one command. Under one project lock: `sync
//! --write` (with `mail:`), `build`, `drafts` (with `mail:`), each saying in one line on
//! stderr what it did; then the agenda on stdout. A mailbox step that fails is reported and
//! the rest runs, and the command exits 1 naming it; content errors stop everything, as they
//! stop `build`.

use std::path::Path;

use chrono::NaiveDate;

use crate::cli::{Exit, WeeklyArgs};
use crate::cmd::{
    agenda, appending, build, drafts, fail, locked_project, print_all, shown, sync, today,
};
use crate::console::tell;
use crate::diagnostic::Diagnostic;
use crate::edit::{Refused, Session};
use crate::load::{CONTENT_DIR, TEMPLATES_DIR};
use crate::mail;
use crate::mail::imap::Mailbox;
use crate::model::{ImapSettings, MailSettings, Project};
use crate::write;

/// Runs the routine as of today.
pub fn run(args: &WeeklyArgs) -> Exit {
    let Some(today) = today() else {
        return Exit::Usage;
    };
    let root = &args.root.path;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| shown(root, Path::new(write::DEFAULT_OUT)));
    if let Err(problem) = write::check_destination(root, &out, &[CONTENT_DIR, TEMPLATES_DIR]) {
        return fail(&[problem]);
    }
    // The project's warnings are printed once, by the build below.
    let (mut session, project, warnings) = match locked_project(root, today) {
        Ok(locked) => locked,
        Err(exit) => return exit,
    };
    let mut steps = Steps::default();
    let mail = project.config.mail.as_ref();
    if mail.is_some_and(|mail| mail.imap.is_none()) {
        tell(format_args!(
            "sync and drafts: skipped: there is no `mail.imap` in content/config.yaml to read and draft in"
        ));
    }
    let mut connection = mail.filter(|mail| mail.imap.is_some()).map(connect);
    let mut recorded = false;
    if let Some(connected) = &mut connection {
        let synced = match connected {
            Ok((mailbox, imap)) => {
                record_sync(&mut session, &project, mailbox, imap, today, &mut recorded)
            }
            Err(problem) => Err(vec![problem.clone()]),
        };
        steps.report("sync", synced);
    }
    // What `sync` recorded is in the report, the drafts and the agenda: read again only then.
    let reread;
    let (project, warnings) = if recorded {
        let (project, problems) = session.project(today);
        let Some(project) = project else {
            return fail(&problems);
        };
        reread = project;
        (&reread, problems)
    } else {
        (&project, warnings)
    };
    let built = build::build_validated(root, &out, project, warnings, today, args.public);
    match built {
        Ok((summary, warnings)) => {
            print_all(&warnings);
            tell(format_args!("{summary}"));
        }
        Err(problems) => return fail(&problems),
    }
    match connection {
        None => {}
        Some(Ok((mut mailbox, imap))) if steps.failed.is_empty() => {
            let drafted = put_drafts(project, &mut mailbox, imap, root, today);
            steps.report("drafts", drafted);
            mailbox.logout();
        }
        Some(connected) => {
            steps.skip("drafts", "sync failed, and drafting from records that lack what you sent could draft an email you already sent");
            if let Ok((mailbox, _)) = connected {
                mailbox.logout();
            }
        }
    }
    agenda::print(project, today, (!args.public).then_some(out.as_path()));
    steps.exit()
}

/// The mailbox steps' outcomes, as they are told.
#[derive(Default)]
struct Steps {
    failed: Vec<&'static str>,
}

impl Steps {
    /// Tells what a step did, or its problems and that it failed.
    fn report(&mut self, step: &'static str, outcome: Result<String, Vec<Diagnostic>>) {
        match outcome {
            Ok(line) => tell(format_args!("{line}")),
            Err(problems) => {
                print_all(&problems);
                tell(format_args!("{step}: failed (the problem is above)"));
                self.failed.push(step);
            }
        }
    }

    /// Tells that a step did not run, and why.
    fn skip(&mut self, step: &'static str, why: &str) {
        tell(format_args!("{step}: skipped: {why}"));
        self.failed.push(step);
    }

    /// Success, or exit status 1 naming the steps that failed.
    fn exit(self) -> Exit {
        if self.failed.is_empty() {
            return Exit::Success;
        }
        tell(format_args!(
            "error: {} did not run to the end; the report was built and the agenda printed from the records as they are",
            self.failed.join(" and ")
        ));
        Exit::InvalidContent
    }
}

/// Logs in to the mailbox once, for both mailbox steps.
fn connect(mail: &MailSettings) -> Result<(Mailbox, &ImapSettings), Diagnostic> {
    let imap = mail::imap_settings(mail)?;
    Ok((Mailbox::log_in(imap, mail)?, imap))
}

/// `sync --write` over the default period, keeping the session for the steps after it;
/// `recorded` says whether it changed any record.
fn record_sync(
    session: &mut Session,
    project: &Project,
    mailbox: &mut Mailbox,
    imap: &ImapSettings,
    today: NaiveDate,
    recorded: &mut bool,
) -> Result<String, Vec<Diagnostic>> {
    let since = sync::default_since(today);
    let plan = sync::plan(mailbox, project, imap, since, today)?;
    if !plan.events.is_empty() {
        let changes = appending(session, project, sync::events(&plan)).map_err(|p| vec![p])?;
        // Its warnings are the project's, which the build prints.
        match session.apply_and_keep(&changes, today) {
            Ok(_) => *recorded = true,
            Err(Refused::Unchanged(problems)) => return Err(problems),
            Err(refused) => {
                crate::cmd::not_changed(refused);
                return Err(Vec::new());
            }
        }
    }
    Ok(format!("synced since {since}: {}", sync::summary(&plan)))
}

/// `drafts` for this week's emails.
fn put_drafts(
    project: &Project,
    mailbox: &mut Mailbox,
    imap: &ImapSettings,
    root: &Path,
    today: NaiveDate,
) -> Result<String, Vec<Diagnostic>> {
    // Their warnings are the build's, printed already.
    let (emails, _) = drafts::emails_to_draft(project, today, root, Vec::new())?;
    let wanted = drafts::wanted(&emails);
    let (plan, can_remove) =
        drafts::update(mailbox, &imap.drafts, &wanted, false).map_err(|p| vec![p])?;
    Ok(drafts::summary(&plan, &imap.drafts, false, can_remove))
}
