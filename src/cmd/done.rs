//! `affrel done`: referral ids → for each, the event that completes its current next action,
//! appended to its file; all files or none.

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::NaiveDate;

use crate::cli::{DoneArgs, Exit};
use crate::cmd::{fail, locked_project, not_changed, print_all, shown, today};
use crate::console::say;
use crate::diagnostic::Diagnostic;
use crate::edit::text::{EventFields, Item};
use crate::edit::{Change, referral};
use crate::load::REFERRALS_DIR;
use crate::model::{self, EventKind, Project};
use crate::render::action_step;
use crate::stages;

/// Records each referral's next action as done.
pub fn run(args: &DoneArgs) -> Exit {
    let Some(today) = today() else {
        return Exit::Usage;
    };
    // The warnings shown are those of the records changed, once changed.
    let (session, project, _) = match locked_project(&args.root.path, today) {
        Ok(locked) => locked,
        Err(exit) => return exit,
    };
    // The action done is the one that was next on the event's date.
    let date = match args.event.date.as_deref().map(model::parse_date) {
        None => today,
        Some(Ok(date)) => date,
        Some(Err(why)) => {
            return fail(&[Diagnostic::error(REFERRALS_DIR, format!("--date: {why}"))
                .with_help("write the date the action was done as YYYY-MM-DD, e.g. 2026-11-24")]);
        }
    };
    let mut done = Vec::new();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for id in &args.ids {
        if !seen.insert(id) {
            problems.push(named_twice(id));
            continue;
        }
        let planned = completing_event(&project, id, date).and_then(|(path, kind, step)| {
            let item = Item::event(&EventFields {
                date: &date.to_string(),
                kind: kind.as_str(),
                minutes: args.event.minutes.as_deref(),
                note: args.event.note.as_deref(),
                ..EventFields::default()
            });
            let change = session.append(&path, std::slice::from_ref(&item))?;
            Ok(Recorded {
                id,
                path,
                kind,
                step,
                change,
            })
        });
        match planned {
            Ok(recorded) => done.push(recorded),
            Err(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        return fail(&problems);
    }
    let changes: Vec<Change> = done.iter().map(|r| r.change.clone()).collect();
    match session.apply(&changes, today) {
        Ok(warnings) => {
            print_all(&warnings);
            for r in &done {
                say(format_args!(
                    "{}: {}: recorded {} on {date} in {}",
                    r.id,
                    r.step,
                    r.kind,
                    shown(&args.root.path, &r.path).display()
                ));
            }
            Exit::Success
        }
        Err(refused) => not_changed(refused),
    }
}

/// One referral's completed action, ready to write.
struct Recorded<'a> {
    id: &'a str,
    path: PathBuf,
    kind: EventKind,
    step: &'static str,
    change: Change,
}

/// The referral's file, the event that completes its next action as of `date`, and the
/// action's step.
fn completing_event(
    project: &Project,
    id: &str,
    date: NaiveDate,
) -> Result<(PathBuf, EventKind, &'static str), Diagnostic> {
    let referral = referral(project, id)?;
    let program = project.config.programs.get(&referral.program);
    let status = program.and_then(|p| stages::status(referral, p, &project.config.rules, date));
    let Some(status) = status else {
        return Err(Diagnostic::error(
            &referral.path,
            format!(
                "`{id}` was referred on {}, after {date}, so there was nothing to do on {date}",
                referral.referred_on
            ),
        )
        .with_help(format!(
            "pass a --date on or after {}, or correct `referred_on`",
            referral.referred_on
        )));
    };
    match status.action {
        Some(action) => Ok((
            referral.path.clone(),
            action.kind.completed_by(),
            action_step(action.kind),
        )),
        None => Err(Diagnostic::error(
            &referral.path,
            format!(
                "`{id}` has no next action to mark done: their stage is `{}`",
                status.stage
            ),
        )
        .with_help("to record something else, use `affrel log ID TYPE`")),
    }
}

fn named_twice(id: &str) -> Diagnostic {
    Diagnostic::error(REFERRALS_DIR, format!("`{id}` is named twice"))
        .with_help("name each referral once; nothing was written")
}
