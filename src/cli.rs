//! Command-line arguments → typed arguments for the subcommands, and the exit statuses.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use crate::model::{self, EventKind};

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
    /// List this week's actions: overdue first, then due this week, then coming up.
    Agenda(AgendaArgs),
    /// Create the record of someone you referred.
    New(NewArgs),
    /// Record one event in a referral's file.
    Log(LogArgs),
    /// Record that each referral's next action is done (after sending this week's emails).
    Done(DoneArgs),
    /// Read a program's sales export and record the sales it adds (a dry run without --write).
    Import(ImportArgs),
    /// Put this week's emails into your mailbox's drafts folder, ready to review and send.
    Drafts(DraftsArgs),
    /// Send this week's emails over SMTP and record each one as it goes (a dry run without --yes).
    Send(SendArgs),
    /// Read your sent and inbox folders and record the emails you sent and the replies you got (a dry run without --write).
    Sync(SyncArgs),
    /// The Monday routine: sync --write, build, drafts, then the agenda (sync and drafts only with `mail:`).
    Weekly(WeeklyArgs),
    /// Print a shell completion script: `affrel completions bash > ~/.local/share/bash-completion/completions/affrel`.
    Completions(CompletionsArgs),
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
    /// Print how long each step took (load, validate, derive, render, swap) to stderr
    #[arg(long)]
    pub timings: bool,
}

/// Arguments of `affrel check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Print how long each step took (load, validate, derive, render) to stderr
    #[arg(long)]
    pub timings: bool,
}

/// Arguments of `affrel agenda`.
#[derive(Debug, Args)]
pub struct AgendaArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Print the actions as JSON
    #[arg(long)]
    pub json: bool,
}

/// Arguments shared by the commands that compute stages.
#[derive(Debug, Args)]
pub struct CommonArgs {
    #[command(flatten)]
    pub root: RootArg,
    /// Compute everything as of this date [default: `$SOURCE_DATE_EPOCH`, else today]
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_as_of)]
    pub as_of: Option<NaiveDate>,
}

/// The project root, and how much of what is wrong in it to show.
#[derive(Debug, Args)]
pub struct RootArg {
    /// Project root holding content/ and optionally templates/
    #[arg(long = "root", value_name = "DIR", default_value = ".")]
    pub path: PathBuf,
    /// Print every warning, not only the first few of each kind and a count of the rest
    #[arg(long)]
    pub all_warnings: bool,
}

/// Arguments of `affrel new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The new referral's id, which is also its file name: lowercase letters, digits, `-`, `_`
    pub id: String,
    /// Their full name
    #[arg(long, allow_hyphen_values = true)]
    pub name: String,
    /// Their email address
    #[arg(long)]
    pub email: String,
    /// The id of the program you referred them to
    #[arg(long)]
    pub program: String,
    /// The day they joined [default: today]
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub referred_on: Option<String>,
    /// Their answer to "what motivates you?"
    #[arg(long, allow_hyphen_values = true)]
    pub motivation: Option<String>,
    /// Their account name or id in the program (imported sales are matched by it)
    #[arg(long, allow_hyphen_values = true)]
    pub account: Option<String>,
    /// A tag; repeat for several
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    #[command(flatten)]
    pub root: RootArg,
}

/// Arguments of `affrel log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// The referral's id (its file name without .yaml)
    pub id: String,
    #[arg(
        value_name = "TYPE",
        value_parser = parse_event_kind,
        help = "The event type: welcome_sent, nudge_sent, reply, sale, follow_up_sent, help_given, congratulated, let_go or bounced"
    )]
    pub kind: EventKind,
    #[command(flatten)]
    pub event: EventArgs,
    /// The sale's amount (sales only)
    #[arg(long, allow_hyphen_values = true)]
    pub amount: Option<String>,
    /// How interested the reply sounded: low or high (replies only)
    #[arg(long)]
    pub interest: Option<String>,
    /// The program's id of the sale (sales only)
    #[arg(long = "ref", value_name = "TEXT", allow_hyphen_values = true)]
    pub reference: Option<String>,
    /// The address an email could not be delivered to (bounces only)
    #[arg(long, value_name = "ADDRESS")]
    pub address: Option<String>,
    #[command(flatten)]
    pub root: RootArg,
}

/// Arguments of `affrel done`.
#[derive(Debug, Args)]
pub struct DoneArgs {
    /// The referrals whose next action is done
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,
    #[command(flatten)]
    pub event: EventArgs,
    #[command(flatten)]
    pub root: RootArg,
}

/// What `log` and `done` record besides the event type.
#[derive(Debug, Args)]
pub struct EventArgs {
    /// The day it happened [default: today]
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// A note to keep with the event
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub note: Option<String>,
    /// The minutes it took you
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub minutes: Option<String>,
}

/// Arguments of `affrel import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The sales export, a CSV file
    #[arg(value_name = "CSV")]
    pub file: PathBuf,
    /// The id of the program it comes from; its `import` block says how to read it
    #[arg(long)]
    pub program: String,
    /// Record the sales (without it, only list what would be added)
    #[arg(long)]
    pub write: bool,
    #[command(flatten)]
    pub root: RootArg,
}

/// Arguments of `affrel drafts`.
#[derive(Debug, Args)]
pub struct DraftsArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// List what would change in the drafts folder, and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `affrel send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Send only the emails of these referrals [default: every email due this week]
    #[arg(value_name = "ID")]
    pub ids: Vec<String>,
    /// Send them (without it, only list what would be sent)
    #[arg(long)]
    pub yes: bool,
    /// Send at most this many
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Send at most this many a minute [default: `mail.smtp.rate`, else no pauses]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: Option<u32>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Arguments of `affrel sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Read messages dated on or after this day [default: 30 days before today]
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_as_of)]
    pub since: Option<NaiveDate>,
    /// Record the events (without it, only list what would be recorded)
    #[arg(long)]
    pub write: bool,
    #[command(flatten)]
    pub root: RootArg,
}

/// Arguments of `affrel weekly`.
#[derive(Debug, Args)]
pub struct WeeklyArgs {
    /// Output folder [default: <root>/output]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write a report fit for a public page (drafts still go to your mailbox)
    #[arg(long)]
    pub public: bool,
    #[command(flatten)]
    pub root: RootArg,
}

/// Arguments of `affrel completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

impl Command {
    /// The project the command reads, if it reads one.
    pub fn project(&self) -> Option<&RootArg> {
        match self {
            Command::Build(args) => Some(&args.common.root),
            Command::Check(args) => Some(&args.common.root),
            Command::Agenda(args) => Some(&args.common.root),
            Command::New(args) => Some(&args.root),
            Command::Log(args) => Some(&args.root),
            Command::Done(args) => Some(&args.root),
            Command::Import(args) => Some(&args.root),
            Command::Drafts(args) => Some(&args.common.root),
            Command::Send(args) => Some(&args.common.root),
            Command::Sync(args) => Some(&args.root),
            Command::Weekly(args) => Some(&args.root),
            Command::Init(_) | Command::Completions(_) => None,
        }
    }
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

/// An event type, checked before any file is read.
fn parse_event_kind(value: &str) -> Result<EventKind, String> {
    value.parse().map_err(|()| {
        let hint = model::did_you_mean(value, EventKind::ALL.iter().map(|k| k.as_str()))
            .map(|hint| format!("; {hint}"))
            .unwrap_or_default();
        format!(
            "unknown event type `{value}`; expected one of {}{hint}",
            EventKind::expected()
        )
    })
}
