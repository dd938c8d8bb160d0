//! `affrel build`: load → validate → derive → render, each file written into a staging
//! folder as soon as it is rendered, then the folder swapped in as `--out`.

use std::path::Path;

use chrono::NaiveDate;

use crate::cli::{BuildArgs, Exit};
use crate::cmd::{fail, print_all, today, validated_project};
use crate::console::say;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::load::{CONTENT_DIR, TEMPLATES_DIR};
use crate::model::Project;
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
    into_output(root, out, as_of, timings, |sink, timings| {
        produce(root, as_of, today, public, sink, timings)
    })
}

/// [`build`] for a project already read and validated under the project lock, with its
/// warnings: what `weekly` has in hand after `sync`.
pub fn build_validated(
    root: &Path,
    out: &Path,
    project: &Project,
    warnings: Vec<Diagnostic>,
    as_of: NaiveDate,
    public: bool,
) -> Result<(String, Vec<Diagnostic>), Vec<Diagnostic>> {
    into_output(
        root,
        out,
        as_of,
        &mut Timings::new(false),
        |sink, timings| {
            let mut diagnostics = Diagnostics::default();
            diagnostics.extend(warnings);
            render_site(root, project, diagnostics, as_of, public, sink, timings)
        },
    )
}

/// Runs `produce` into a staging folder and swaps it in as `out` when nothing was wrong.
fn into_output(
    root: &Path,
    out: &Path,
    as_of: NaiveDate,
    timings: &mut Timings,
    produce: impl FnOnce(&dyn Sink, &mut Timings) -> (Option<String>, Vec<Diagnostic>),
) -> Result<(String, Vec<Diagnostic>), Vec<Diagnostic>> {
    write::check_destination(root, out, &[CONTENT_DIR, TEMPLATES_DIR]).map_err(|p| vec![p])?;
    // Taken before anything is read: it puts back an output a killed run left aside, and
    // holds the output's lock until the new output is in place.
    let staging = Staging::begin(out).map_err(|p| vec![p])?;
    let (summary, diagnostics) = produce(&staging, timings);
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
    let (project, diagnostics) = validated_project(root, today, timings);
    match project {
        Some(project) => render_site(root, &project, diagnostics, as_of, public, sink, timings),
        None => (None, diagnostics.into_sorted()),
    }
}

/// Derive → render a validated project into `sink`; `diagnostics` holds its warnings so far.
fn render_site(
    root: &Path,
    project: &Project,
    mut diagnostics: Diagnostics,
    as_of: NaiveDate,
    public: bool,
    sink: &dyn Sink,
    timings: &mut Timings,
) -> (Option<String>, Vec<Diagnostic>) {
    let weeks = Weeks::new(project, as_of);
    let current = weeks.derive(weeks.current_index());
    timings.step("derive");
    let provenance = provenance::describe(root);
    let options = render::Options {
        public,
        provenance: provenance.as_deref(),
    };
    let summary = render::render(project, &weeks, &current, options, sink, &mut diagnostics);
    timings.step("render");
    let failed = diagnostics.has_errors();
    (summary.filter(|_| !failed), diagnostics.into_sorted())
}
