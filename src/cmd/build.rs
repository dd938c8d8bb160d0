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
    let mut timings = Timings::new(args.timings);
    let built = build(root, &out, as_of, today, args.public, &mut timings);
    timings.print();
    match built {
        Ok((summary, warnings)) => {
            print_all(&warnings);
            say(format_args!("{summary}"));
            Exit::Success
        }
        Err(problems) => fail(&problems),
    }
}

/// Builds the site into `out`, swapping it in only when nothing was wrong. Returns the line
/// that says what was built, and the warnings; or every problem, with `out` as it was.
pub fn build(
    root: &Path,
    out: &Path,
    as_of: NaiveDate,
    today: NaiveDate,
    public: bool,
    timings: &mut Timings,
) -> Result<(String, Vec<Diagnostic>), Vec<Diagnostic>> {
    write::check_destination(root, out, &[CONTENT_DIR, TEMPLATES_DIR]).map_err(|p| vec![p])?;
    // Taken before anything is read: it puts back an output a killed run left aside, and
    // holds the output's lock until the new output is in place.
    let staging = Staging::begin(out).map_err(|p| vec![p])?;
    let (summary, diagnostics) = produce(root, as_of, today, public, &staging, timings);
    if summary.is_none() {
        return Err(diagnostics);
    }
    let finished = staging.finish();
    timings.step("swap");
    let files = finished.map_err(|problem| {
        let mut all = diagnostics.clone();
        all.push(problem);
        all
    })?;
    Ok((
        format!("built {files} files into {} as of {as_of}", out.display()),
        diagnostics,
    ))
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
