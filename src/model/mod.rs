//! Raw structs from `load` → validated domain types (slug ids, dates, enums), with every
//! problem recorded as a located diagnostic.
//!
//! This file holds the domain types and the entry point; the checks live by concern:
//! [`check`] locates problems in a file, [`config`] validates `content/config.yaml`,
//! [`referral`] the referral records and their events, and [`text`] holds the checks of
//! single values (slugs, addresses, dates, spoofing characters) shared with the record
//! editor and the command line.

mod check;
mod config;
mod mail;
mod referral;
mod text;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::NaiveDate;
use rayon::prelude::{IntoParallelIterator, ParallelIterator};

use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use crate::load::{self, Loaded, RawContent, RawEmail, Source};

use config::{ProgramIndex, validate_config};
use referral::{Validated, across_referrals, validate_referral};
use text::{closest, quoted_list};
pub use text::{
    did_you_mean, is_date_shaped, is_message_id, is_slug, is_spoofing_character, parse_date,
};

/// A whole validated project: what every later step works from.
#[derive(Debug)]
pub struct Project {
    pub config: Config,
    /// Sorted by id.
    pub referrals: Vec<Referral>,
    /// At most one per kind, sorted by kind.
    pub email_templates: Vec<EmailTemplate>,
    /// The user's `templates/` files by name, overriding built-in report templates.
    pub template_overrides: BTreeMap<String, Source>,
}

/// `content/config.yaml`, validated.
#[derive(Debug)]
pub struct Config {
    pub sender: Sender,
    /// Keyed by program id.
    pub programs: BTreeMap<String, Program>,
    pub rules: Rules,
    pub report: ReportSettings,
    /// Your own mailbox, when the config has a `mail` block.
    pub mail: Option<MailSettings>,
}

/// The `mail` block: where `drafts`, `send` and `sync` reach your mailbox. The password is
/// never here: it comes from `password_command` or `AFFREL_MAIL_PASSWORD` when needed.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub imap: Option<ImapSettings>,
    pub smtp: Option<SmtpSettings>,
    /// How to log in: with a password, or an OAuth 2 access token.
    pub auth: Auth,
    /// The command whose first line of output is the password (or token).
    pub password_command: Option<PasswordCommand>,
    /// Roots to trust besides the system's (a self-hosted server, a local bridge), DER.
    pub extra_roots: Vec<Vec<u8>>,
}

/// How affrel logs in to the mail servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// LOGIN, AUTH PLAIN or LOGIN with a password.
    Password,
    /// SASL XOAUTH2 (Google's and Microsoft's) with an OAuth 2 access token.
    Xoauth2,
    /// SASL OAUTHBEARER (RFC 7628) with an OAuth 2 access token.
    OAuthBearer,
}

/// `password_command`, in the form it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordCommand {
    /// A command line, run by `sh -c` (quotes, `~` and pipes work).
    Shell(String),
    /// A program and its arguments, run directly.
    Program(Vec<String>),
}

/// How a connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte.
    Tls,
    /// A plain connection upgraded with STARTTLS before anything else is said.
    StartTls,
    /// No TLS: only to a server on this machine.
    None,
}

/// A server to log in to.
#[derive(Debug, Clone)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: String,
}

/// `mail.imap`: the mailbox, and its folders.
#[derive(Debug, Clone)]
pub struct ImapSettings {
    pub server: Server,
    pub drafts: String,
    pub sent: String,
    /// Where replies may be.
    pub inbox: Vec<String>,
}

/// `mail.smtp`: the server that sends.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub server: Server,
    /// Whether each sent email is also appended to the IMAP sent folder.
    pub save_sent: bool,
    /// At most this many emails a minute, when set.
    pub rate: Option<u32>,
}

/// The sender address `affrel init` writes: nobody sends from it, so `drafts` and `send`
/// refuse until it is changed.
pub const PLACEHOLDER_SENDER: &str = "you@example.com";

/// The tag of `affrel init`'s sample referrals, which are never drafted or sent.
pub const SAMPLE_TAG: &str = "sample";

/// Who the emails come from.
#[derive(Debug)]
pub struct Sender {
    pub name: String,
    pub email: String,
    /// Defaults to the sender's name.
    pub signature: String,
}

/// An affiliate program referrals can join.
#[derive(Debug)]
pub struct Program {
    pub id: String,
    pub name: String,
    pub url: Option<String>,
    pub residual_commissions: bool,
    /// The user's share of their referrals' sales, 0..=1.
    pub residual_rate: Option<f64>,
    /// How to read the program's sales export.
    pub import: Option<ImportMapping>,
}

/// The column names of a program's sales export, and how its dates are written.
#[derive(Debug, Clone)]
pub struct ImportMapping {
    pub referral: String,
    pub date: String,
    /// A chrono `strftime` format; `%Y-%m-%d` by default.
    pub date_format: String,
    pub amount: Option<String>,
    pub reference: Option<String>,
}

/// The day counts that drive the stage rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub nudge_after_days: i64,
    pub follow_up_after_days: i64,
    pub quiet_after_days: i64,
    pub thriving_sales: usize,
    pub thriving_window_days: i64,
    pub congratulate_every_days: i64,
    /// A reply within this many days of an email answers it.
    pub reply_window_days: i64,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            nudge_after_days: 14,
            follow_up_after_days: 21,
            quiet_after_days: 30,
            thriving_sales: 3,
            thriving_window_days: 30,
            congratulate_every_days: 90,
            reply_window_days: 14,
        }
    }
}

/// The `report` block, with defaults applied.
#[derive(Debug)]
pub struct ReportSettings {
    pub title: String,
    pub history_weeks: u32,
    /// How many months of referral cohorts the report shows, up to D's month.
    pub cohort_months: u32,
    pub pseudonym_salt: Option<String>,
}

/// One referred affiliate, validated; events sorted by date (stable for equal dates).
#[derive(Debug, Clone)]
pub struct Referral {
    pub id: String,
    pub path: PathBuf,
    pub name: String,
    pub email: String,
    pub program: String,
    pub referred_on: NaiveDate,
    pub motivation: Option<String>,
    /// Their account name or id in the program, which imported sales are matched by.
    pub account: Option<String>,
    pub tags: Vec<String>,
    pub events: Vec<Event>,
}

impl Referral {
    /// The first word of the name.
    pub fn first_name(&self) -> &str {
        self.name.split_whitespace().next().unwrap_or(&self.name)
    }
}

/// Something that happened in a relationship.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub date: NaiveDate,
    pub kind: EventKind,
    /// Only on sales.
    pub amount: Option<f64>,
    /// Only on replies.
    pub interest: Option<Interest>,
    /// Time spent on it; only on the events that are something you did for them.
    pub minutes: Option<u32>,
    /// The program's id of a sale; only on sales.
    pub reference: Option<Box<str>>,
    /// The `<…>` Message-ID of the email this event was sent as or read from; only on the
    /// events that are emails.
    pub message_id: Option<Box<str>>,
    /// The address an email could not be delivered to; only on `bounced`, where it is
    /// required.
    pub address: Option<Box<str>>,
}

impl EventKind {
    /// The events that are an email, sent or received, and so may carry `message_id`.
    pub const EMAILS: &'static [Self] = &[
        Self::WelcomeSent,
        Self::NudgeSent,
        Self::FollowUpSent,
        Self::HelpGiven,
        Self::Congratulated,
        Self::Reply,
        Self::Bounced,
    ];

    /// The events that record time you spent, and so may carry `minutes`.
    pub const TIMED: &'static [Self] = &[
        Self::WelcomeSent,
        Self::NudgeSent,
        Self::FollowUpSent,
        Self::HelpGiven,
        Self::Congratulated,
    ];
}

/// Declares a closed set of words used in content files, with parsing and display.
macro_rules! content_words {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The word used in content files and output.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $word),+ }
            }

            /// The accepted words, formatted for an error message.
            pub fn expected() -> String {
                let words: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                quoted_list(&words)
            }
        }

        impl FromStr for $name {
            type Err = ();
            fn from_str(word: &str) -> Result<Self, ()> {
                match word { $($word => Ok(Self::$variant),)+ _ => Err(()) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

content_words!(
    /// An event `type`.
    EventKind {
        WelcomeSent = "welcome_sent",
        NudgeSent = "nudge_sent",
        Reply = "reply",
        Sale = "sale",
        FollowUpSent = "follow_up_sent",
        HelpGiven = "help_given",
        Congratulated = "congratulated",
        LetGo = "let_go",
        Bounced = "bounced",
    }
);

content_words!(
    /// How interested a reply sounded.
    Interest { Low = "low", High = "high" }
);

content_words!(
    /// A next action; also the stem of its email template.
    ActionKind {
        Welcome = "welcome",
        Nudge = "nudge",
        FollowUp = "follow_up",
        OfferHelp = "offer_help",
        Congratulate = "congratulate",
    }
);

content_words!(
    /// Where a relationship stands; declared in DESIGN's table order.
    Stage {
        NotWorthIt = "not_worth_it",
        Uncontacted = "uncontacted",
        Welcomed = "welcomed",
        FirstSale = "first_sale",
        FollowingUp = "following_up",
        Struggling = "struggling",
        Thriving = "thriving",
        LetGo = "let_go",
    }
);

impl ActionKind {
    /// The event that records this action as done.
    pub fn completed_by(self) -> EventKind {
        match self {
            ActionKind::Welcome => EventKind::WelcomeSent,
            ActionKind::Nudge => EventKind::NudgeSent,
            ActionKind::FollowUp => EventKind::FollowUpSent,
            ActionKind::OfferHelp => EventKind::HelpGiven,
            ActionKind::Congratulate => EventKind::Congratulated,
        }
    }
}

/// `content/emails/<kind>.md`, validated but not yet compiled.
#[derive(Debug)]
pub struct EmailTemplate {
    pub kind: ActionKind,
    pub path: PathBuf,
    pub subject: String,
    pub subject_location: Location,
    pub body: String,
    pub body_line: usize,
}

/// Validates everything `load` read. `today` is the real date (not `--as-of`), for warning
/// about dates that have not happened yet. Returns `None` when the config is unusable;
/// referral and template problems are recorded and the offending files left out.
pub fn validate(
    raw: RawContent,
    today: NaiveDate,
    diagnostics: &mut Diagnostics,
) -> Option<Project> {
    let programs = ProgramIndex::new(raw.config.as_ref());
    let config = raw
        .config
        .and_then(|loaded| validate_config(&loaded, raw.ca_file.as_ref(), diagnostics));

    let files: Vec<Source> = unique_referral_files(raw.referrals, diagnostics);
    // Each file is parsed and validated in one go, so only the validated records pile up.
    let results: Vec<(Option<Validated>, Vec<Diagnostic>)> = files
        .into_par_iter()
        .map(|source| match load::parse_referral(source) {
            Ok(loaded) => validate_referral(loaded, programs.as_ref(), today),
            Err(problem) => (None, vec![problem]),
        })
        .collect();
    let mut validated = Vec::with_capacity(results.len());
    for (referral, problems) in results {
        diagnostics.extend(problems);
        validated.extend(referral);
    }
    validated.sort_by(|a, b| a.referral.id.cmp(&b.referral.id));
    diagnostics.extend(across_referrals(&validated));
    let referrals = validated.into_iter().map(|v| v.referral).collect();

    let email_templates = validate_emails(raw.emails, diagnostics);
    Some(Project {
        config: config?,
        referrals,
        email_templates,
        template_overrides: raw.template_overrides,
    })
}

/// Keeps the first file of each id and reports every other file that reuses it.
fn unique_referral_files(
    by_id: BTreeMap<String, Vec<Source>>,
    diagnostics: &mut Diagnostics,
) -> Vec<Source> {
    let mut unique = Vec::with_capacity(by_id.len());
    for (id, mut files) in by_id {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let mut files = files.into_iter();
        let Some(first) = files.next() else { continue };
        for clash in files {
            diagnostics.push(
                Diagnostic::error(
                    &clash.path,
                    format!("the id `{id}` is already used by {}", first.path.display()),
                )
                .with_help("ids are file names and must be unique across all subfolders: rename one of the two files"),
            );
        }
        unique.push(first);
    }
    unique
}

fn validate_emails(
    raw: Vec<Loaded<RawEmail>>,
    diagnostics: &mut Diagnostics,
) -> Vec<EmailTemplate> {
    let mut templates = Vec::new();
    for Loaded { source, value } in raw {
        let Ok(kind) = value.stem.parse::<ActionKind>() else {
            diagnostics.push(
                Diagnostic::error(
                    &source.path,
                    format!(
                        "`{}` is not an action kind, so this template is never used; expected one of {}",
                        value.stem,
                        ActionKind::expected()
                    ),
                )
                .with_help(
                    match closest(&value.stem, ActionKind::ALL.iter().map(|k| k.as_str())) {
                        Some(kind) => format!("rename the file to `{kind}.md`"),
                        None => "rename the file after the action kind it is for".to_owned(),
                    },
                ),
            );
            continue;
        };
        templates.push(EmailTemplate {
            kind,
            path: source.path,
            subject: value.front.subject,
            subject_location: value.subject_location,
            body: value.body,
            body_line: value.body_line,
        });
    }
    templates.sort_by_key(|t| t.kind);
    templates
}
