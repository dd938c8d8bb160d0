//! The parsed command line → the subcommand that runs, and its exit status. One file per
//! subcommand, each composing the pipeline steps; this module dispatches to them and holds
//! what they share: resolving dates, loading a validated project, and printing diagnostics.

pub mod agenda;
pub mod build;
pub mod check;
pub mod completions;
pub mod done;
pub mod drafts;
pub mod import;
pub mod init;
pub mod log;
pub mod new;
pub mod send;
pub mod sync;
pub mod weekly;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};

use crate::cli::{Cli, Command, Exit};
use crate::console::{self, say, tell};
use crate::diagnostic::{Diagnostic, Diagnostics, WarningKind};
use crate::edit::commit::{JOURNAL_FILE, Unfinished};
use crate::edit::pending;
use crate::edit::text::Item;
use crate::edit::{self, Change, Refused, Session};
use crate::load;
use crate::model::{self, PLACEHOLDER_SENDER, Project, SAMPLE_TAG};
use crate::render::{RenderedEmail, plural};
use crate::stages::Derived;
use crate::timings::Timings;

/// Runs one command and reports what happened on stderr/stdout; a command whose output
/// could not be written fails, whatever it did.
pub fn run(cli: &Cli) -> Exit {
    let all_warnings = cli.command.project().is_some_and(|root| root.all_warnings);
    ALL_WARNINGS.set(all_warnings).ok();
    let exit = dispatch(cli);
    match console::write_failure() {
        Some(why) => {
            tell(format_args!("error: cannot write the output: {why}"));
            Exit::InvalidContent
        }
        None => exit,
    }
}

fn dispatch(cli: &Cli) -> Exit {
    match &cli.command {
        Command::Build(args) => build::run(args),
        Command::Check(args) => check::run(args),
        Command::Init(args) => init::run(&args.dir),
        Command::Agenda(args) => agenda::run(args),
        Command::New(args) => new::run(args),
        Command::Log(args) => log::run(args),
        Command::Done(args) => done::run(args),
        Command::Import(args) => import::run(args),
        Command::Drafts(args) => drafts::run(args),
        Command::Send(args) => send::run(args),
        Command::Sync(args) => sync::run(args),
        Command::Weekly(args) => weekly::run(args),
        Command::Completions(args) => completions::run(args.shell),
    }
}

/// The real date: `SOURCE_DATE_EPOCH` when set, else the clock. `None` after printing a
/// usage error when `SOURCE_DATE_EPOCH` is not a date.
pub fn today() -> Option<NaiveDate> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) => {
            let date = value
                .trim()
                .parse::<i64>()
                .ok()
                .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, 0))
                .map(|moment| moment.date_naive())
                .filter(|date| (0..=9999).contains(&date.year()));
            if date.is_none() {
                tell(format_args!(
                    "error: SOURCE_DATE_EPOCH=`{value}` is not a number of seconds since 1970-01-01 within years 0 to 9999\n  help: unset it, or set it to a whole number of seconds"
                ));
            }
            date
        }
        Err(_) => Some(chrono::Local::now().date_naive()),
    }
}

/// Loads and validates the project as `check` does, timing the two steps; `None` when it
/// has errors.
pub fn validated_project(
    root: &Path,
    today: NaiveDate,
    timings: &mut Timings,
) -> (Option<Project>, Diagnostics) {
    let mut diagnostics = Diagnostics::default();
    let raw = load::load(root, &mut diagnostics);
    timings.step("load");
    let project = model::validate(raw, today, &mut diagnostics);
    timings.step("validate");
    let failed = diagnostics.has_errors();
    (project.filter(|_| !failed), diagnostics)
}

/// Takes the project lock, then loads and validates the project under it: for the commands
/// that change records, or the mailbox, according to what the records say. Also returns the
/// project's warnings, for the commands that show them. `Err` holds the exit status after
/// the problems were printed.
pub fn locked_project(
    root: &Path,
    today: NaiveDate,
) -> Result<(Session, Project, Vec<Diagnostic>), Exit> {
    let session = Session::open(root).map_err(not_changed)?;
    let (project, diagnostics) = session.project(today);
    let project = project.ok_or_else(|| fail(&diagnostics))?;
    Ok((session, project, diagnostics))
}

/// Leaves out the email that a stopped `send --yes` handed to the server and did not
/// record: it has gone, so it is neither drafted nor listed again; the next `send --yes`
/// records it.
pub fn leave_out_email_on_its_way(
    root: &Path,
    emails: &mut Vec<RenderedEmail>,
) -> Result<(), Diagnostic> {
    let Some(note) = pending::read(root)? else {
        return Ok(());
    };
    emails.retain(|email| email.message_id != note.message_id);
    tell(format_args!(
        "an earlier `affrel send --yes` stopped after handing \"{}\" for {} to the server, before recording it: it is left out here, and the next `affrel send --yes` records it as sent before anything else",
        note.subject, note.to
    ));
    Ok(())
}

/// Keeps emails from going anywhere by accident: an error while the sender is still
/// `init`'s placeholder; the emails of sample referrals, and of referrals whose address is
/// bouncing in `derived`, left out, saying so.
pub fn only_real_emails(
    project: &Project,
    derived: &Derived<'_>,
    emails: &mut Vec<RenderedEmail>,
) -> Result<(), Diagnostic> {
    if project
        .config
        .sender
        .email
        .eq_ignore_ascii_case(PLACEHOLDER_SENDER)
    {
        return Err(Diagnostic::error(
            "content/config.yaml",
            format!("`sender.email` is still the placeholder `{PLACEHOLDER_SENDER}` that `affrel init` wrote"),
        )
        .with_help("set `sender.email` (and `sender.name`) to the address you send from; until then affrel drafts and sends nothing"));
    }
    let samples: BTreeSet<&str> = project
        .referrals
        .iter()
        .filter(|referral| referral.tags.iter().any(|tag| tag == SAMPLE_TAG))
        .map(|referral| referral.id.as_str())
        .collect();
    let before = emails.len();
    emails.retain(|email| !samples.contains(email.id.as_str()));
    let left_out = before - emails.len();
    if left_out > 0 {
        tell(format_args!(
            "left out {}: tagged `{SAMPLE_TAG}`; replace the samples with your own referrals",
            plural(
                left_out,
                "sample referral's email",
                "sample referrals' emails"
            )
        ));
    }
    leave_out_bouncing(derived, emails);
    Ok(())
}

/// Leaves out the emails to addresses that bounced, naming each and what ends it.
fn leave_out_bouncing(derived: &Derived<'_>, emails: &mut Vec<RenderedEmail>) {
    emails.retain(|email| {
        let Ok(index) = derived
            .affiliates
            .binary_search_by(|affiliate| affiliate.referral.id.as_str().cmp(&email.id))
        else {
            return true;
        };
        let affiliate = &derived.affiliates[index];
        let Some(on) = affiliate.bouncing else {
            return true;
        };
        let referral = affiliate.referral;
        tell(format_args!(
            "left out {} <{}>: the address bounced on {on}; correct `email` in {}, or it ends with their next reply or sale",
            referral.name,
            referral.email,
            referral.path.display()
        ));
        false
    });
}

/// A path relative to the root as the user can type it from where they ran the command.
pub fn shown(root: &Path, relative: &Path) -> PathBuf {
    if root == Path::new(".") {
        relative.to_path_buf()
    } else {
        root.join(relative)
    }
}

/// How many warnings of one kind are printed in full before the rest are counted.
const WARNINGS_SHOWN_PER_KIND: usize = 3;

/// Whether `--all-warnings` was given: set once, by [`run`].
static ALL_WARNINGS: OnceLock<bool> = OnceLock::new();

/// Prints diagnostics to stderr, in the order given: every error, and of each kind of warning
/// the first few, then a count of the rest (all of them with `--all-warnings`).
pub fn print_all(diagnostics: &[Diagnostic]) {
    let all = ALL_WARNINGS.get().copied().unwrap_or(false);
    let mut totals: HashMap<WarningKind, usize> = HashMap::new();
    for kind in diagnostics.iter().filter_map(|d| d.warning_kind) {
        *totals.entry(kind).or_default() += 1;
    }
    let mut shown: HashMap<WarningKind, usize> = HashMap::new();
    for diagnostic in diagnostics {
        let Some(kind) = diagnostic.warning_kind.filter(|_| !all) else {
            tell(format_args!("{diagnostic}"));
            continue;
        };
        let count = shown.entry(kind).or_default();
        *count += 1;
        if *count > WARNINGS_SHOWN_PER_KIND {
            continue;
        }
        tell(format_args!("{diagnostic}"));
        let total = totals.get(&kind).copied().unwrap_or(0);
        if *count == WARNINGS_SHOWN_PER_KIND && total > WARNINGS_SHOWN_PER_KIND {
            tell(format_args!(
                "  … and {} more like this (--all-warnings lists every one)",
                grouped(total - WARNINGS_SHOWN_PER_KIND)
            ));
        }
    }
}

/// A count with a space between groups of three digits: `1 204`.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(digit);
    }
    out
}

/// Prints every diagnostic and a closing count; exit status 1.
pub fn fail(diagnostics: &[Diagnostic]) -> Exit {
    print_all(diagnostics);
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    tell(format_args!(
        "error: {} found; nothing was written",
        plural(errors, "problem", "problems")
    ));
    Exit::InvalidContent
}

/// Prints why records were not changed, or what a change that stopped part-way left; exit
/// status 1.
pub fn not_changed(refused: Refused) -> Exit {
    match refused {
        Refused::Unchanged(problems) => fail(&problems),
        Refused::Unfinished(unfinished) => {
            print_all(&unfinished.problems);
            tell(format_args!("{}", unfinished_summary(&unfinished)));
            Exit::InvalidContent
        }
    }
}

/// Which files hold their new text and which their old, and what the next run does.
fn unfinished_summary(unfinished: &Unfinished) -> String {
    let list = |paths: &[PathBuf]| {
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut lines =
        vec!["error: the change stopped part-way and could not be wholly taken back".to_owned()];
    if !unfinished.changed.is_empty() {
        lines.push(format!(
            "  these files hold their new text: {}",
            list(&unfinished.changed)
        ));
    }
    if !unfinished.unchanged.is_empty() {
        lines.push(format!(
            "  these files hold what they held before: {}",
            list(&unfinished.unchanged)
        ));
    }
    lines.push(if unfinished.journal_left {
        format!("  help: the next affrel command that changes records first puts back what these files held, from {JOURNAL_FILE}; fix what stopped it, then run the command again")
    } else {
        "  help: check the files listed, then run the command again for what is missing".to_owned()
    });
    lines.join("\n")
}

/// Appends each referral's new events to its record, then writes them all or none, naming
/// each file changed: what `import --write` and `sync --write` finish with.
pub fn append_all<'i>(
    session: Session,
    project: &Project,
    events: impl Iterator<Item = (&'i str, Vec<Item>)>,
    today: NaiveDate,
) -> Exit {
    let root = session.root().to_path_buf();
    let changes = match appending(&session, project, events) {
        Ok(changes) => changes,
        Err(problem) => return fail(&[problem]),
    };
    match session.apply(&changes, today) {
        Ok(warnings) => {
            print_all(&warnings);
            for change in &changes {
                say(format_args!(
                    "updated {}",
                    shown(&root, &change.path).display()
                ));
            }
            Exit::Success
        }
        Err(refused) => not_changed(refused),
    }
}

/// The changes that append each referral's new events to its record.
pub fn appending<'i>(
    session: &Session,
    project: &Project,
    events: impl Iterator<Item = (&'i str, Vec<Item>)>,
) -> Result<Vec<Change>, Diagnostic> {
    events
        .map(|(id, items)| {
            let path = &edit::referral(project, id)?.path;
            session.append(path, &items)
        })
        .collect()
}
