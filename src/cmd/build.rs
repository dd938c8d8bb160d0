//! `affrel build`: load → validate → derive → render, each file written into a staging
//! folder as soon as it is rendered, then the folder swapped in as `--out`.

use std::path::Path;

use chrono::NaiveDate;

use crate::cli::{BuildArgs, Exit};
use crate::cmd::{fail, print_all, today, validated_project};
use crate::console::say;
use crate::diagnostic::Diagnostic;
use crate::load::{CONTENT_DIR, TEMPLATES_DIR};
use crate::provenance;
use crate::render::{self, Sink};
use crate::stages::Weeks;
use crate::timings::Timings;
use crate::write::{self, Staging};

/// Builds the site and swaps it into the output folder.
pub fn run(args: &BuildArgs) -> Exit {
    let Some(today) = today() else {
        return Exit::Usage;
    };
    let as_of = args.common.as_of.unwrap_or(today);
    let root = &args.common.root.path;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| root.join(write::DEFAULT_OUT));
    if let Err(problem) = write::check_destination(root, &out, &[CONTENT_DIR, TEMPLATES_DIR]) {
        return fail(&[problem]);
    }
    let mut timings = Timings::new(args.timings);
    // Taken before anything is read: it puts back an output a killed run left aside, and
    // holds the output's lock until the new output is in place.
    let staging = match Staging::begin(&out) {
        Ok(staging) => staging,
        Err(problem) => return fail(&[problem]),
    };
    let (summary, diagnostics) = produce(root, as_of, today, args.public, &staging, &mut timings);
    if summary.is_none() {
        drop(staging);
        timings.print();
        return fail(&diagnostics);
    }
    print_all(&diagnostics);
    let finished = staging.finish();
    timings.step("swap");
    timings.print();
    match finished {
        Ok(files) => {
            say(format_args!(
                "built {files} files into {} as of {as_of}",
                out.display()
            ));
            Exit::Success
        }
        Err(problem) => fail(&[problem]),
    }
}

/// Load → validate → derive → render into `sink`, with every problem collected and each step
/// timed. Returns the one-line summary of what was rendered, `None` when there were errors.
pub fn produce(
    root: &Path,
    as_of: NaiveDate,
    today: NaiveDate,
    public: bool,
    sink: &dyn Sink,
    timings: &mut Timings,
) -> (Option<String>, Vec<Diagnostic>) {
    let (project, mut diagnostics) = validated_project(root, today, timings);
    let summary = project.and_then(|project| {
        let weeks = Weeks::new(&project, as_of);
        let current = weeks.derive(weeks.current_index());
        timings.step("derive");
        let provenance = provenance::describe(root);
        let options = render::Options {
            public,
            provenance: provenance.as_deref(),
        };
        let summary = render::render(&project, &weeks, &current, options, sink, &mut diagnostics);
        timings.step("render");
        summary
    });
    let failed = diagnostics.has_errors();
    (summary.filter(|_| !failed), diagnostics.into_sorted())
}
