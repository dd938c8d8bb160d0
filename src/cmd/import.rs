//! `affrel import`: a program's sales export → the sales it adds, listed (a dry run) or
//! appended to the referrals' files, all or none.

use std::fmt::Write as _;
use std::path::Path;

use crate::cli::{Exit, ImportArgs};
use crate::cmd::{append_all, fail, locked_project, print_all, today};
use crate::console::say;
use crate::diagnostic::Diagnostic;
use crate::edit::text::{EventFields, Item};
use crate::import::{self, NewSale, Plan};
use crate::render::plural;

/// Lists, or with `--write` records, the sales of an export.
pub fn run(args: &ImportArgs) -> Exit {
    let Some(today) = today() else {
        return Exit::Usage;
    };
    let bytes = match std::fs::read(&args.file) {
        Ok(bytes) => bytes,
        Err(err) => {
            return fail(&[
                Diagnostic::error(&args.file, format!("cannot read the file: {err}"))
                    .with_help("pass the path of the CSV file you downloaded from the program"),
            ]);
        }
    };
    // Read and planned under the lock, so that the records cannot change in between.
    let (session, project, _) = match locked_project(&args.root.path, today) {
        Ok(locked) => locked,
        Err(exit) => return exit,
    };
    let plan = match import::plan(&project, &args.program, &args.file, &bytes) {
        Ok(plan) => plan,
        Err(problems) => return fail(&problems),
    };
    if plan.problems.iter().any(Diagnostic::is_error) {
        return fail(&plan.problems);
    }
    print_all(&plan.problems);
    let listed = listing(&plan, &args.file, args.write);
    say(format_args!("{}", listed.trim_end_matches('\n')));
    if !args.write || plan.sales.is_empty() {
        if !args.write && !plan.sales.is_empty() {
            say(format_args!(
                "nothing was written; run again with --write to record them"
            ));
        }
        return Exit::Success;
    }
    let events = plan
        .sales
        .iter()
        .map(|(id, sales)| (id.as_str(), sales.iter().map(sale_item).collect()));
    append_all(session, &project, events, today)
}

fn sale_item(sale: &NewSale) -> Item {
    let date = sale.date.to_string();
    Item::event(&EventFields {
        date: &date,
        kind: "sale",
        amount: sale.amount.as_deref(),
        reference: sale.reference.as_deref(),
        ..EventFields::default()
    })
}

/// What the export adds, per referral, and what it leaves out.
fn listing(plan: &Plan, file: &Path, write: bool) -> String {
    let verb = if write { "adds" } else { "would add" };
    if plan.sales.is_empty() {
        return format!(
            "{} adds nothing new; {} already recorded\n",
            file.display(),
            plural(plan.already_recorded, "row", "rows")
        );
    }
    let mut out = format!(
        "{} {verb} {} to {}; {} already recorded\n",
        file.display(),
        plural(plan.sale_count(), "sale", "sales"),
        plural(plan.sales.len(), "referral", "referrals"),
        plural(plan.already_recorded, "row", "rows"),
    );
    for (id, sales) in &plan.sales {
        let _ = writeln!(out, "  {id}");
        for sale in sales {
            let _ = write!(out, "    {}", sale.date);
            if let Some(amount) = &sale.amount {
                let _ = write!(out, "  {amount}");
            }
            if let Some(reference) = &sale.reference {
                let _ = write!(out, "  ref {reference}");
            }
            let _ = writeln!(out, "  (line {})", sale.line);
        }
    }
    out
}
