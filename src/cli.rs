//! Command-line arguments → a resolved date and paths, one pipeline run, and an exit status.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use clap::{Args, Parser, Subcommand};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::init;
use crate::load::{self, CONTENT_DIR, TEMPLATES_DIR};
use crate::model;
use crate::provenance;
use crate::render::{self, Site};
use crate::stages;
use crate::write;

/// Turns plain-text affiliate records into a weekly mentoring report and the emails that
/// are due.
#[derive(Debug, Parser)]
#[command(name = "affrel", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the report, report.json and the emails due this week into the output folder.
    Build(BuildArgs),
    /// Validate the content and templates without writing anything.
    Check(CheckArgs),
    /// Start a new project: config, sample referrals, email templates and a CI workflow.
    Init(InitArgs),
}

/// Arguments of `affrel init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to create the project in
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

/// Arguments of `affrel build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Output folder [default: <root>/output]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write a report fit for a public page: pseudonyms, no names, addresses or emails.
    #[arg(long)]
    pub public: bool,
}

/// Arguments of `affrel check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Arguments shared by `build` and `check`.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Project root holding content/ and optionally templates/
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub root: PathBuf,
    /// Compute everything as of this date [default: `$SOURCE_DATE_EPOCH`, else today]
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_as_of)]
    pub as_of: Option<NaiveDate>,
}

/// The process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    InvalidContent = 1,
    Usage = 2,
}

fn parse_as_of(value: &str) -> Result<NaiveDate, String> {
    model::parse_date(value)
}

/// Runs one command and reports what happened on stderr/stdout.
pub fn run(cli: &Cli) -> Exit {
    match &cli.command {
        Command::Build(args) => build(args),
        Command::Check(args) => check(&args.common),
        Command::Init(args) => init(&args.dir),
    }
}

fn init(dir: &Path) -> Exit {
    let Some(today) = resolve_as_of(None) else {
        return Exit::Usage;
    };
    match init::scaffold(dir, today) {
        Ok(done) => {
            for path in &done.written {
                println!("created {}", dir.join(path).display());
            }
            for path in &done.skipped {
                println!("skipped {} (already exists)", dir.join(path).display());
            }
            println!(
                "next: edit {}, then run `affrel build`",
                dir.join("content/config.yaml").display()
            );
            Exit::Success
        }
        Err(err) => {
            eprintln!(
                "error: cannot create the project in {}: {err}",
                dir.display()
            );
            Exit::InvalidContent
        }
    }
}

fn build(args: &BuildArgs) -> Exit {
    let Some(as_of) = resolve_as_of(args.common.as_of) else {
        return Exit::Usage;
    };
    let root = &args.common.root;
    let out = args.out.clone().unwrap_or_else(|| root.join("output"));
    if let Err(problem) = write::check_destination(root, &out, &[CONTENT_DIR, TEMPLATES_DIR]) {
        return fail(&[problem]);
    }
    let (site, diagnostics) = produce(root, as_of, args.public);
    let Some(site) = site else {
        return fail(&diagnostics);
    };
    print_all(&diagnostics);
    if let Err(problem) = write::write_site(&site, &out) {
        return fail(&[problem]);
    }
    println!(
        "built {} files into {} as of {as_of}",
        site.files.len(),
        out.display()
    );
    Exit::Success
}

fn check(args: &CommonArgs) -> Exit {
    let Some(as_of) = resolve_as_of(args.as_of) else {
        return Exit::Usage;
    };
    let (site, diagnostics) = produce(&args.root, as_of, false);
    match site {
        Some(site) => {
            print_all(&diagnostics);
            println!("ok: {} as of {as_of}", site.summary);
            Exit::Success
        }
        None => fail(&diagnostics),
    }
}

/// Load → validate → derive → render, with every problem collected. `None` when there were
/// errors.
fn produce(root: &Path, as_of: NaiveDate, public: bool) -> (Option<Site>, Vec<Diagnostic>) {
    let mut diagnostics = Diagnostics::default();
    let raw = load::load(root, &mut diagnostics);
    let project = model::validate(raw, &mut diagnostics);
    let site = project.and_then(|project| {
        let weeks = stages::derive_weeks(&project, as_of);
        let provenance = provenance::describe(root);
        let options = render::Options {
            public,
            provenance: provenance.as_deref(),
        };
        render::render(&project, &weeks, options, &mut diagnostics)
    });
    let failed = diagnostics.has_errors();
    (site.filter(|_| !failed), diagnostics.into_sorted())
}

/// `--as-of`, else `SOURCE_DATE_EPOCH`, else today; `None` after printing a usage error.
fn resolve_as_of(flag: Option<NaiveDate>) -> Option<NaiveDate> {
    if let Some(date) = flag {
        return Some(date);
    }
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
                eprintln!(
                    "error: SOURCE_DATE_EPOCH=`{value}` is not a number of seconds since 1970-01-01 within years 0 to 9999\n  help: unset it or pass --as-of YYYY-MM-DD"
                );
            }
            date
        }
        Err(_) => Some(chrono::Local::now().date_naive()),
    }
}

fn print_all(diagnostics: &[Diagnostic]) {
    let mut stderr = std::io::stderr().lock();
    for diagnostic in diagnostics {
        // A closed stderr leaves nobody to tell; the exit status still says what happened.
        let _ = writeln!(stderr, "{diagnostic}");
    }
}

fn fail(diagnostics: &[Diagnostic]) -> Exit {
    print_all(diagnostics);
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let noun = if errors == 1 { "problem" } else { "problems" };
    eprintln!("error: {errors} {noun} found; nothing was written");
    Exit::InvalidContent
}
