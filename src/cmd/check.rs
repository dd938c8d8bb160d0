//! `affrel check`: the build without the write step, so the two can never disagree.

use crate::cli::{CheckArgs, Exit};
use crate::cmd::{build, fail, print_all, today};
use crate::console::say;
use crate::render::Discard;
use crate::timings::Timings;

/// Validates and renders everything, keeping nothing; prints a summary line when all is fine.
pub fn run(args: &CheckArgs) -> Exit {
    let Some(today) = today() else {
        return Exit::Usage;
    };
    let as_of = args.common.as_of.unwrap_or(today);
    let mut timings = Timings::new(args.timings);
    let (summary, diagnostics) = build::produce(
        &args.common.root.path,
        as_of,
        today,
        false,
        &Discard,
        &mut timings,
    );
    timings.print();
    match summary {
        Some(summary) => {
            print_all(&diagnostics);
            say(format_args!("ok: {summary} as of {as_of}"));
            Exit::Success
        }
        None => fail(&diagnostics),
    }
}
