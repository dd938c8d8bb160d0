//! `affrel log`: one event → appended to a referral's file, which keeps every other byte,
//! checked as `check` checks it before it is written.

use crate::cli::{Exit, LogArgs};
use crate::cmd::{fail, not_changed, print_all, shown, today};
use crate::console::say;
use crate::edit::Session;
use crate::edit::text::{EventFields, Item};

/// Appends the event to the record's `events` list.
pub fn run(args: &LogArgs) -> Exit {
    let Some(today) = today() else {
        return Exit::Usage;
    };
    let session = match Session::open(&args.root.path) {
        Ok(session) => session,
        Err(refused) => return not_changed(refused),
    };
    let path = match session.find_record(&args.id) {
        Ok(path) => path,
        Err(problem) => return fail(&[problem]),
    };
    let date = args.event.date.clone().unwrap_or_else(|| today.to_string());
    let item = Item::event(&EventFields {
        date: &date,
        kind: args.kind.as_str(),
        amount: args.amount.as_deref(),
        interest: args.interest.as_deref(),
        minutes: args.event.minutes.as_deref(),
        reference: args.reference.as_deref(),
        note: args.event.note.as_deref(),
        message_id: None,
        address: args.address.as_deref(),
    });
    let change = match session.append(&path, std::slice::from_ref(&item)) {
        Ok(change) => change,
        Err(problem) => return fail(&[problem]),
    };
    match session.apply(&[change], today) {
        Ok(warnings) => {
            print_all(&warnings);
            say(format_args!(
                "recorded {} on {date} in {}",
                args.kind,
                shown(&args.root.path, &path).display()
            ));
            Exit::Success
        }
        Err(refused) => not_changed(refused),
    }
}
