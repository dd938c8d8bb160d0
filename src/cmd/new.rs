//! `affrel new`: the fields of a new referral → a new record file, checked as `check` checks
//! it before it is written.

use std::path::Path;

use crate::cli::{Exit, NewArgs};
use crate::cmd::{fail, not_changed, print_all, shown, today};
use crate::console::say;
use crate::diagnostic::Diagnostic;
use crate::edit::text::{self, RecordFields};
use crate::edit::{Change, Session};
use crate::load::REFERRALS_DIR;
use crate::model;

/// Creates `content/referrals/<ID>.yaml`.
pub fn run(args: &NewArgs) -> Exit {
    let Some(today) = today() else {
        return Exit::Usage;
    };
    if !model::is_slug(&args.id) {
        return fail(&[Diagnostic::error(
            REFERRALS_DIR,
            format!("`{}` is not a valid referral id", args.id),
        )
        .with_help("an id is the record's file name: lowercase letters, digits, `-` and `_`, starting with a letter or digit, e.g. `alice-walker`")]);
    }
    let session = match Session::open(&args.root.path) {
        Ok(session) => session,
        Err(refused) => return not_changed(refused),
    };
    if let Ok(existing) = session.find_record(&args.id) {
        return fail(&[Diagnostic::error(
            &existing,
            format!("the id `{}` is already used by this file", args.id),
        )
        .with_help("ids are unique across all subfolders: choose another id, such as one with their surname")]);
    }
    let referred_on = args
        .referred_on
        .clone()
        .unwrap_or_else(|| today.to_string());
    let path = Path::new(REFERRALS_DIR).join(format!("{}.yaml", args.id));
    let record = text::new_record(&RecordFields {
        id: &args.id,
        name: &args.name,
        email: &args.email,
        program: &args.program,
        referred_on: &referred_on,
        motivation: args.motivation.as_deref(),
        account: args.account.as_deref(),
        tags: &args.tags,
    });
    match session.apply(&[Change::create(path.clone(), record)], today) {
        Ok(warnings) => {
            print_all(&warnings);
            say(format_args!(
                "created {}",
                shown(&args.root.path, &path).display()
            ));
            say(format_args!(
                "next: welcome them, then run `affrel done {}`",
                args.id
            ));
            Exit::Success
        }
        Err(refused) => not_changed(refused),
    }
}
