//! Raw structs from `load` → validated domain types (slug ids, dates, enums), with every
//! problem recorded as a located diagnostic.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::NaiveDate;
use rayon::prelude::{IntoParallelIterator, ParallelIterator};

use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use crate::load::{
    self, CONFIG_KEYS, EVENT_KEYS, Field, IMPORT_KEYS, Key, Loaded, PROGRAM_KEYS, REFERRAL_KEYS,
    REPORT_KEYS, RULES_KEYS, RawConfig, RawContent, RawEmail, RawEvent, RawImport, RawProgram,
    RawReferral, RawReport, RawRules, RawSender, SENDER_KEYS, Source, UnknownKeys,
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
}

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
        }
    }
}

/// The `report` block, with defaults applied.
#[derive(Debug)]
pub struct ReportSettings {
    pub title: String,
    pub history_weeks: u32,
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
    pub reference: Option<String>,
}

impl EventKind {
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

/// The programs as written in the config, for checking referrals even when something else
/// in the config is wrong, so that one run reports every problem.
struct ProgramIndex {
    /// Valid program ids, sorted.
    ids: Vec<String>,
    /// The ids of programs with a `residual_rate`.
    with_rate: Vec<String>,
}

impl ProgramIndex {
    fn new(config: Option<&Loaded<RawConfig>>) -> Option<Self> {
        let Some(Field::Valid(programs)) = config.and_then(|c| c.value.programs.as_ref()) else {
            return None;
        };
        let id = |program: &RawProgram| match &program.id {
            Some(Field::Valid(id)) if is_slug(id) => Some(id.clone()),
            _ => None,
        };
        let mut ids: Vec<String> = programs.iter().filter_map(id).collect();
        ids.sort();
        ids.dedup();
        let with_rate = programs
            .iter()
            .filter(|p| matches!(p.residual_rate, Some(Field::Valid(_))))
            .filter_map(id)
            .collect();
        (!ids.is_empty()).then_some(Self { ids, with_rate })
    }
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
        .and_then(|loaded| validate_config(&loaded, diagnostics));

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

/// Collects the problems of one file, each located by a key path.
struct FileCheck<'a> {
    source: &'a Source,
    problems: Vec<Diagnostic>,
}

impl<'a> FileCheck<'a> {
    fn new(source: &'a Source) -> Self {
        Self {
            source,
            problems: Vec::new(),
        }
    }

    fn error(&mut self, keys: &[Key<'_>], message: impl Into<String>, help: impl Into<String>) {
        self.problems.push(
            Diagnostic::error(&self.source.path, message)
                .at_location(self.source.locate(keys))
                .with_help(help),
        );
    }

    /// A key the block at `keys[..len - 1]` must have: reported when it is absent (located
    /// at its block, or the start of the file) or of the wrong shape.
    fn required<'f, T>(
        &mut self,
        keys: &[Key<'_>],
        field: Option<&'f Field<T>>,
        shape: &str,
    ) -> Option<&'f T> {
        if field.is_none() {
            let (name, block) = split_last_key(keys);
            let location = self
                .source
                .locate(block)
                .unwrap_or(Location { line: 1, column: 1 });
            self.problems.push(
                Diagnostic::error(&self.source.path, format!("the key `{name}` is missing"))
                    .at_location(Some(location))
                    .with_help(format!("add `{name}:` with {shape}")),
            );
        }
        self.optional(keys, field, shape)
    }

    /// A key the block may have: reported when it is of the wrong shape.
    fn optional<'f, T>(
        &mut self,
        keys: &[Key<'_>],
        field: Option<&'f Field<T>>,
        shape: &str,
    ) -> Option<&'f T> {
        match field {
            Some(Field::Valid(value)) => Some(value),
            Some(Field::Invalid(written)) => {
                let (name, _) = split_last_key(keys);
                self.error(
                    keys,
                    format!("`{name}` should be {shape}, not {}", describe(written)),
                    format!("write {shape} here"),
                );
                None
            }
            None => None,
        }
    }

    /// Reports every key of a block that the format does not define.
    fn unknown_keys(&mut self, block: &[Key<'_>], unknown: &UnknownKeys, allowed: &[&str]) {
        for name in unknown.keys() {
            let mut keys = block.to_vec();
            keys.push(Key::Field(name));
            let help = did_you_mean(name, allowed.iter().copied()).unwrap_or_else(|| {
                format!("remove it; the keys here are {}", quoted_list(allowed))
            });
            self.problems.push(
                Diagnostic::error(&self.source.path, format!("unknown key `{name}`"))
                    .at_location(
                        self.source
                            .locate_key(&keys)
                            .or(Some(Location { line: 1, column: 1 })),
                    )
                    .with_help(help),
            );
        }
    }

    /// Checks a required human-readable line of text (a name).
    fn text_line(&mut self, keys: &[Key<'_>], what: &str, value: &str) -> String {
        if value.trim().is_empty() {
            self.error(
                keys,
                format!("{what} is empty"),
                format!("write the {what}"),
            );
        } else if value.chars().any(char::is_control) {
            self.error(
                keys,
                format!("{what} contains a control character (such as a line break or tab)"),
                format!("write the {what} on one line, without tabs"),
            );
        } else if value.chars().count() > MAX_LINE_CHARS {
            self.error(
                keys,
                format!(
                    "{what} is {} characters long, more than {MAX_LINE_CHARS}",
                    value.chars().count()
                ),
                format!("shorten the {what}: it is shown on one line, and in email headers"),
            );
        } else {
            self.no_invisible(keys, what, value, is_spoofing_character);
        }
        value.trim().to_owned()
    }

    /// Refuses characters that are invisible or reorder text, which can make a value show
    /// as something it is not (a name in a mail client's From line, a row in the report).
    fn no_invisible(&mut self, keys: &[Key<'_>], what: &str, value: &str, bad: fn(char) -> bool) {
        if let Some(c) = value.chars().find(|&c| bad(c)) {
            self.error(
                keys,
                format!(
                    "{what} contains the invisible character U+{:04X}, which can make it display as something else",
                    u32::from(c)
                ),
                format!("retype the {what} without it (it often comes with text pasted from a web page)"),
            );
        }
    }

    fn email(&mut self, keys: &[Key<'_>], value: &str) -> String {
        let invisible = value
            .chars()
            .any(|c| is_spoofing_character(c) || is_joiner(c));
        if invisible {
            self.no_invisible(keys, "email address", value, |c| {
                is_spoofing_character(c) || is_joiner(c)
            });
        } else if !is_valid_email(value) {
            self.error(
                keys,
                format!("`{value}` is not a valid email address"),
                "write an address like `name@example.com`",
            );
        }
        value.trim().to_owned()
    }

    fn date(&mut self, keys: &[Key<'_>], value: &str) -> Option<NaiveDate> {
        match parse_date(value) {
            Ok(date) => Some(date),
            Err(message) => {
                self.error(keys, message, date_help(value));
                None
            }
        }
    }

    /// Warns about a date that has not happened yet: usually a mistyped year.
    fn not_after_today(&mut self, keys: &[Key<'_>], date: NaiveDate, today: NaiveDate) {
        if date > today {
            self.warning(
                keys,
                format!("{date} is after today ({today}), so the report ignores it until then"),
                "check the year; if it is right, nothing needs doing",
            );
        }
    }

    fn warning(&mut self, keys: &[Key<'_>], message: impl Into<String>, help: impl Into<String>) {
        self.problems.push(
            Diagnostic::warning(&self.source.path, message)
                .at_location(self.source.locate(keys))
                .with_help(help),
        );
    }

    /// The value, unless an error was found; and every diagnostic, warnings included.
    fn finish<T>(self, value: Option<T>) -> (Option<T>, Vec<Diagnostic>) {
        let failed = self.problems.iter().any(Diagnostic::is_error);
        (value.filter(|_| !failed), self.problems)
    }
}

fn validate_config(loaded: &Loaded<RawConfig>, diagnostics: &mut Diagnostics) -> Option<Config> {
    let mut check = FileCheck::new(&loaded.source);
    let raw = &loaded.value;
    check.unknown_keys(&[], &raw.unknown, CONFIG_KEYS);
    let sender = check
        .required(
            &[Key::Field("sender")],
            raw.sender.as_ref(),
            "a block with `name:` and `email:` (the emails are sent from it)",
        )
        .and_then(|sender| validate_sender(&mut check, sender));
    let programs = check
        .required(
            &[Key::Field("programs")],
            raw.programs.as_ref(),
            "a list of programs, each with `id`, `name` and `residual_commissions`",
        )
        .map(|programs| validate_programs(&mut check, programs))
        .unwrap_or_default();
    let rules = check.optional(
        &[Key::Field("rules")],
        raw.rules.as_ref(),
        "a block of rules",
    );
    let rules = rules.map_or_else(Rules::default, |rules| validate_rules(&mut check, rules));
    let report = check.optional(
        &[Key::Field("report")],
        raw.report.as_ref(),
        "a block of report settings",
    );
    let report = validate_report(&mut check, report);
    let config = sender.map(|sender| Config {
        sender,
        programs,
        rules,
        report,
    });
    let (config, problems) = check.finish(config);
    diagnostics.extend(problems);
    config
}

fn validate_sender(check: &mut FileCheck<'_>, raw: &RawSender) -> Option<Sender> {
    let at = |key| [Key::Field("sender"), Key::Field(key)];
    check.unknown_keys(&[Key::Field("sender")], &raw.unknown, SENDER_KEYS);
    let name = check.required(
        &at("name"),
        raw.name.as_ref(),
        "your name, as emails show it",
    );
    let name = name.map(|name| check.text_line(&at("name"), "sender name", name));
    let email = check.required(&at("email"), raw.email.as_ref(), "your email address");
    let email = email.map(|email| check.email(&at("email"), email));
    let signature = check.optional(&at("signature"), raw.signature.as_ref(), "text");
    if let Some(signature) = signature {
        check.no_invisible(
            &at("signature"),
            "signature",
            signature,
            is_spoofing_character,
        );
    }
    let name = name?;
    Some(Sender {
        signature: signature.cloned().unwrap_or_else(|| name.clone()),
        name,
        email: email?,
    })
}

fn validate_programs(check: &mut FileCheck<'_>, raw: &[RawProgram]) -> BTreeMap<String, Program> {
    if raw.is_empty() {
        check.error(
            &[Key::Field("programs")],
            "no programs are configured",
            "add at least one entry under `programs:` with `id`, `name` and `residual_commissions`",
        );
    }
    let mut programs = BTreeMap::new();
    for (index, program) in raw.iter().enumerate() {
        let block = [Key::Field("programs"), Key::Item(index)];
        let at = |key| [Key::Field("programs"), Key::Item(index), Key::Field(key)];
        check.unknown_keys(&block, &program.unknown, PROGRAM_KEYS);
        let id = check.required(&at("id"), program.id.as_ref(), "a short id such as `acme`");
        if let Some(id) = id
            && !is_slug(id)
        {
            check.error(
                &at("id"),
                format!("the program id `{id}` is not a valid id"),
                "use lowercase letters, digits, `-` and `_`, starting with a letter or digit",
            );
        }
        let name = check.required(&at("name"), program.name.as_ref(), "the program's name");
        let name = name.map(|name| check.text_line(&at("name"), "program name", name));
        let url = check.optional(&at("url"), program.url.as_ref(), "a web address");
        let url = url.map(|url| url.trim().to_owned());
        if let Some(url) = &url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            check.error(
                &at("url"),
                format!("`{url}` is not a web address"),
                "write a URL starting with `https://`",
            );
        }
        let residual = check.required(
            &at("residual_commissions"),
            program.residual_commissions.as_ref(),
            "`true` or `false`: does the program pay you a share of their sales?",
        );
        let rate = check
            .optional(
                &at("residual_rate"),
                program.residual_rate.as_ref(),
                "a number from 0 to 1",
            )
            .copied();
        if let Some(rate) = rate
            && !(0.0..=1.0).contains(&rate)
        {
            check.error(
                &at("residual_rate"),
                format!("the residual rate {rate} is not between 0 and 1"),
                "write your share of their sales as a fraction, e.g. 0.10 for 10%",
            );
        }
        let import = check
            .optional(
                &at("import"),
                program.import.as_ref(),
                "a block naming the columns of the program's sales export",
            )
            .and_then(|raw| validate_import(check, index, raw));
        let (Some(id), Some(name), Some(&residual_commissions)) = (id, name, residual) else {
            continue;
        };
        let validated = Program {
            id: id.clone(),
            name,
            url,
            residual_commissions,
            residual_rate: rate,
            import,
        };
        if programs.insert(id.clone(), validated).is_some() {
            check.error(
                &at("id"),
                format!("the program id `{id}` is used twice"),
                "give each program its own id",
            );
        }
    }
    programs
}

fn validate_import(
    check: &mut FileCheck<'_>,
    index: usize,
    raw: &RawImport,
) -> Option<ImportMapping> {
    let block = [
        Key::Field("programs"),
        Key::Item(index),
        Key::Field("import"),
    ];
    let at = |key| {
        [
            Key::Field("programs"),
            Key::Item(index),
            Key::Field("import"),
            Key::Field(key),
        ]
    };
    check.unknown_keys(&block, &raw.unknown, IMPORT_KEYS);
    let mut column = |key: &'static str, field: Option<&Field<String>>, required: bool| {
        let shape = "the name of a column in the export's header line";
        let name = if required {
            check.required(&at(key), field, shape)
        } else {
            check.optional(&at(key), field, shape)
        };
        name.map(|name| check.text_line(&at(key), "column name", name))
    };
    let referral = column("referral", raw.referral.as_ref(), true);
    let date = column("date", raw.date.as_ref(), true);
    let amount = column("amount", raw.amount.as_ref(), false);
    let reference = column("ref", raw.reference.as_ref(), false);
    let date_format = check
        .optional(
            &at("date_format"),
            raw.date_format.as_ref(),
            "a date format such as \"%m/%d/%Y\"",
        )
        .cloned()
        .unwrap_or_else(|| "%Y-%m-%d".to_owned());
    if !is_date_format(&date_format) {
        check.error(
            &at("date_format"),
            format!("`{date_format}` is not a date format that names a year, a month and a day"),
            "write it with chrono's `%` codes, e.g. \"%m/%d/%Y\" for 09/25/2026 or \"%d.%m.%Y\" for 25.09.2026",
        );
    }
    Some(ImportMapping {
        referral: referral?,
        date: date?,
        date_format,
        amount,
        reference,
    })
}

/// Whether `format` is a valid chrono format that can read a whole date.
fn is_date_format(format: &str) -> bool {
    use chrono::format::{Item, StrftimeItems};
    let items: Vec<Item<'_>> = StrftimeItems::new(format).collect();
    let Some(sample) = NaiveDate::from_ymd_opt(2026, 9, 25).and_then(|d| d.and_hms_opt(0, 0, 0))
    else {
        return false;
    };
    // Writing fails, rather than panics, for codes a date and time cannot fill (a zone).
    let mut written = String::new();
    !items.iter().any(|item| matches!(item, Item::Error))
        && std::fmt::Write::write_fmt(&mut written, format_args!("{}", sample.format(format)))
            .is_ok()
        && NaiveDate::parse_from_str(&written, format) == Ok(sample.date())
}

/// The largest rule value: a hundred years of days. Larger values could only mean "never",
/// and would push due dates past what dates can hold.
const MAX_RULE: u32 = 36_500;

fn validate_rules(check: &mut FileCheck<'_>, raw: &RawRules) -> Rules {
    let defaults = Rules::default();
    // Every rule is a whole number in 1..=MAX_RULE: day counts and the thriving sales count.
    check.unknown_keys(&[Key::Field("rules")], &raw.unknown, RULES_KEYS);
    let mut whole_number = |key: &str, value: Option<&Field<u32>>, default: i64| -> i64 {
        let shape = format!("a whole number from 1 to {MAX_RULE}");
        let keys = [Key::Field("rules"), Key::Field(key)];
        match check.optional(&keys, value, &shape).copied() {
            Some(value) if (1..=MAX_RULE).contains(&value) => i64::from(value),
            Some(value) => {
                check.error(
                    &[Key::Field("rules"), Key::Field(key)],
                    format!("`{key}` is {value}; expected a whole number from 1 to {MAX_RULE}"),
                    format!("leave the key out to use the default, {default}"),
                );
                default
            }
            None => default,
        }
    };
    Rules {
        nudge_after_days: whole_number(
            "nudge_after_days",
            raw.nudge_after_days.as_ref(),
            defaults.nudge_after_days,
        ),
        follow_up_after_days: whole_number(
            "follow_up_after_days",
            raw.follow_up_after_days.as_ref(),
            defaults.follow_up_after_days,
        ),
        quiet_after_days: whole_number(
            "quiet_after_days",
            raw.quiet_after_days.as_ref(),
            defaults.quiet_after_days,
        ),
        thriving_sales: whole_number(
            "thriving_sales",
            raw.thriving_sales.as_ref(),
            defaults.thriving_sales as i64,
        ) as usize,
        thriving_window_days: whole_number(
            "thriving_window_days",
            raw.thriving_window_days.as_ref(),
            defaults.thriving_window_days,
        ),
        congratulate_every_days: whole_number(
            "congratulate_every_days",
            raw.congratulate_every_days.as_ref(),
            defaults.congratulate_every_days,
        ),
    }
}

/// The most history weeks a report may chart: ten years.
const MAX_HISTORY_WEEKS: u32 = 520;

fn validate_report(check: &mut FileCheck<'_>, raw: Option<&RawReport>) -> ReportSettings {
    let at = |key| [Key::Field("report"), Key::Field(key)];
    let mut settings = ReportSettings {
        title: "Affiliate relationships".to_owned(),
        history_weeks: 12,
        pseudonym_salt: None,
    };
    let Some(raw) = raw else {
        return settings;
    };
    check.unknown_keys(&[Key::Field("report")], &raw.unknown, REPORT_KEYS);
    if let Some(title) = check.optional(&at("title"), raw.title.as_ref(), "text") {
        settings.title = check.text_line(&at("title"), "report title", title);
    }
    let weeks_shape = format!("a whole number of weeks up to {MAX_HISTORY_WEEKS}");
    if let Some(&weeks) = check.optional(
        &at("history_weeks"),
        raw.history_weeks.as_ref(),
        &weeks_shape,
    ) {
        if weeks > MAX_HISTORY_WEEKS {
            check.error(
                &at("history_weeks"),
                format!("`history_weeks` is {weeks}, more than {MAX_HISTORY_WEEKS}"),
                "chart at most ten years of weeks",
            );
        }
        settings.history_weeks = weeks;
    }
    let salt = check.optional(
        &at("pseudonym_salt"),
        raw.pseudonym_salt.as_ref(),
        "a long random text",
    );
    settings.pseudonym_salt = salt.map(|salt| salt.trim().to_owned());
    if settings.pseudonym_salt.as_deref() == Some("") {
        check.error(
            &at("pseudonym_salt"),
            "`pseudonym_salt` is empty",
            "remove the key or set it to a long random string (`affrel init` writes one)",
        );
    }
    settings
}

/// A valid referral and where its cross-file keys are written, for the checks that compare
/// files.
struct Validated {
    referral: Referral,
    email_at: Option<Location>,
    account_at: Option<Location>,
}

fn validate_referral(
    loaded: Loaded<RawReferral>,
    programs: Option<&ProgramIndex>,
    today: NaiveDate,
) -> (Option<Validated>, Vec<Diagnostic>) {
    let Loaded { source, value: raw } = loaded;
    let mut check = FileCheck::new(&source);
    let id = referral_id(&source);
    if !is_slug(&id) {
        check.error(
            &[],
            format!("the file name `{id}` is not a valid referral id"),
            "rename the file to lowercase letters, digits, `-` and `_`, starting with a letter or digit, e.g. `alice-walker.yaml`",
        );
    }
    check.unknown_keys(&[], &raw.unknown, REFERRAL_KEYS);
    let at = |key| [Key::Field(key)];
    let name = check.required(&at("name"), raw.name.as_ref(), "their full name");
    let name = name.map(|name| check.text_line(&at("name"), "name", name));
    let email = check.required(&at("email"), raw.email.as_ref(), "their email address");
    let email = email.map(|email| check.email(&at("email"), email));
    let program = check.required(
        &at("program"),
        raw.program.as_ref(),
        "a program id from content/config.yaml",
    );
    if let (Some(program), Some(programs)) = (program, programs)
        && !programs.ids.contains(program)
    {
        let known: Vec<&str> = programs.ids.iter().map(String::as_str).collect();
        check.error(
            &at("program"),
            format!(
                "unknown program `{program}`; expected one of the program ids in content/config.yaml: {}",
                quoted_list(&known)
            ),
            did_you_mean(program, known.iter().copied()).unwrap_or_else(|| {
                "correct the id, or add the program to content/config.yaml".to_owned()
            }),
        );
    }
    let referred_on = check.required(
        &at("referred_on"),
        raw.referred_on.as_ref(),
        "a date, YYYY-MM-DD",
    );
    let referred_on = referred_on.and_then(|date| check.date(&at("referred_on"), date));
    if let Some(date) = referred_on {
        check.not_after_today(&at("referred_on"), date, today);
    }
    let motivation = check.optional(&at("motivation"), raw.motivation.as_ref(), "text");
    let account = check.optional(
        &at("account"),
        raw.account.as_ref(),
        "their account name or id in the program",
    );
    let account = account.map(|account| check.text_line(&at("account"), "account", account));
    check.optional(&at("notes"), raw.notes.as_ref(), "text");
    let tags = check.optional(
        &at("tags"),
        raw.tags.as_ref(),
        "a list of words, e.g. `[blogger]`",
    );
    let tags: Vec<String> = tags
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(index, tag)| check.text_line(&[Key::Field("tags"), Key::Item(index)], "tag", tag))
        .collect();
    let events = check.optional(&at("events"), raw.events.as_ref(), "a list of events");
    let events: Vec<(usize, Event)> = events
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(index, event)| Some((index, validate_event(&mut check, index, event)?)))
        .collect();
    let has_rate = match (program, programs) {
        (Some(program), Some(programs)) => programs.with_rate.contains(program),
        _ => false,
    };
    check_event_history(&mut check, &events, referred_on, today, has_rate);
    let mut events: Vec<Event> = events.into_iter().map(|(_, event)| event).collect();
    events.sort_by_key(|event| event.date);
    let validated = match (name, email, program, referred_on) {
        (Some(name), Some(email), Some(program), Some(referred_on)) => Some(Validated {
            referral: Referral {
                id,
                path: source.path.clone(),
                name,
                email,
                program: program.clone(),
                referred_on,
                motivation: motivation.cloned(),
                account,
                tags,
                events,
            },
            email_at: source.locate(&at("email")),
            account_at: source.locate(&at("account")),
        }),
        _ => None,
    };
    check.finish(validated)
}

/// Checks of a referral's events against each other and the referral: errors for what
/// cannot be, warnings for what is probably a mistake.
fn check_event_history(
    check: &mut FileCheck<'_>,
    events: &[(usize, Event)],
    referred_on: Option<NaiveDate>,
    today: NaiveDate,
    has_rate: bool,
) {
    let at = |index: usize, key| [Key::Field("events"), Key::Item(index), Key::Field(key)];
    let let_go_on = events
        .iter()
        .filter(|(_, e)| e.kind == EventKind::LetGo)
        .map(|(_, e)| e.date)
        .min();
    let mut refs: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, event) in events {
        let index = *index;
        if let Some(referred_on) = referred_on
            && event.date < referred_on
        {
            check.error(
                &at(index, "date"),
                format!(
                    "the event is dated {}, before `referred_on` ({referred_on})",
                    event.date
                ),
                "correct the event's date or `referred_on`: nothing happens before the referral",
            );
        }
        check.not_after_today(&at(index, "date"), event.date, today);
        if let Some(let_go_on) = let_go_on
            && event.date > let_go_on
        {
            check.warning(
                &at(index, "date"),
                format!(
                    "this `{}` event is dated after the `let_go` of {let_go_on}, so the report ignores it",
                    event.kind
                ),
                "if the relationship picked up again, remove the `let_go` event; otherwise correct the date",
            );
        }
        if has_rate && event.kind == EventKind::Sale && event.amount.is_none() {
            check.warning(
                &at(index, "type"),
                "this sale has no `amount`, so it adds nothing to the estimated residual",
                "add `amount:` with the sale's value, e.g. `amount: 49.00`",
            );
        }
        if let Some(reference) = &event.reference
            && let Some(first) = refs.insert(reference, index)
        {
            refs.insert(reference, first);
            check.error(
                &at(index, "ref"),
                format!(
                    "the sale `ref` `{reference}` is already used by event {} of this referral",
                    first + 1
                ),
                "each sale has its own `ref`: remove the repeated sale or correct its `ref`",
            );
        }
    }
}

/// Checks that compare referral files: the same address in two records, and an account
/// used twice in one program.
fn across_referrals(validated: &[Validated]) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let mut emails: BTreeMap<String, &Referral> = BTreeMap::new();
    let mut accounts: BTreeMap<(&str, &str), &Referral> = BTreeMap::new();
    for v in validated {
        let referral = &v.referral;
        if let Some(first) = emails.get(&referral.email.to_lowercase()) {
            problems.push(
                Diagnostic::warning(
                    &referral.path,
                    format!(
                        "the address `{}` is also the address of {}",
                        referral.email,
                        first.path.display()
                    ),
                )
                .at_location(v.email_at)
                .with_help("one person, one record: merge the two files, or correct the address"),
            );
        } else {
            emails.insert(referral.email.to_lowercase(), referral);
        }
        let Some(account) = referral.account.as_deref() else {
            continue;
        };
        if let Some(first) = accounts.get(&(referral.program.as_str(), account)) {
            problems.push(
                Diagnostic::error(
                    &referral.path,
                    format!(
                        "the account `{account}` in program `{}` is also the account of {}",
                        referral.program,
                        first.path.display()
                    ),
                )
                .at_location(v.account_at)
                .with_help("an account belongs to one referral, and imported sales are matched by it: correct one of the two"),
            );
        } else {
            accounts.insert((referral.program.as_str(), account), referral);
        }
    }
    problems
}

/// The id is the file stem; `load` only accepts files whose stem is UTF-8.
fn referral_id(source: &Source) -> String {
    source
        .path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The most minutes one event can record: a whole day.
const MAX_MINUTES: u32 = 1440;

fn validate_event(check: &mut FileCheck<'_>, index: usize, raw: &RawEvent) -> Option<Event> {
    let at = |key| [Key::Field("events"), Key::Item(index), Key::Field(key)];
    check.unknown_keys(
        &[Key::Field("events"), Key::Item(index)],
        &raw.unknown,
        EVENT_KEYS,
    );
    let date = check.required(&at("date"), raw.date.as_ref(), "a date, YYYY-MM-DD");
    let date = date.and_then(|date| check.date(&at("date"), date));
    check.optional(&at("note"), raw.note.as_ref(), "text");
    let written = check.required(
        &at("type"),
        raw.kind.as_ref(),
        "an event type such as `welcome_sent`",
    )?;
    let kind = written.parse::<EventKind>().ok();
    if kind.is_none() {
        check.error(
            &at("type"),
            format!(
                "unknown event type `{written}`; expected one of {}",
                EventKind::expected()
            ),
            did_you_mean(written, EventKind::ALL.iter().map(|k| k.as_str()))
                .unwrap_or_else(|| "correct the event's `type`".to_owned()),
        );
    }
    let amount = check
        .optional(&at("amount"), raw.amount.as_ref(), "a number, e.g. 49.00")
        .copied();
    if let Some(amount) = amount {
        if kind.is_some_and(|k| k != EventKind::Sale) {
            check.error(
                &at("amount"),
                format!("`amount` is only allowed on `sale` events, not on `{written}`"),
                "remove the amount, or change the type to `sale`",
            );
        } else if !amount.is_finite() {
            check.error(
                &at("amount"),
                format!("the sale amount `{amount}` is not a number"),
                "write the sale's amount as a number of at least 0, e.g. 49.00",
            );
        } else if amount < 0.0 {
            check.error(
                &at("amount"),
                format!("the sale amount {amount} is negative"),
                "write the sale's amount as a number of at least 0; leave refunds out",
            );
        }
    }
    let interest = check.optional(&at("interest"), raw.interest.as_ref(), "`low` or `high`");
    let interest = interest.and_then(|word| {
        if kind.is_some_and(|k| k != EventKind::Reply) {
            check.error(
                &at("interest"),
                format!("`interest` is only allowed on `reply` events, not on `{written}`"),
                "remove `interest`, or change the type to `reply`",
            );
            return None;
        }
        let interest = word.parse::<Interest>().ok();
        if interest.is_none() {
            check.error(
                &at("interest"),
                format!(
                    "unknown interest `{word}`; expected one of {}",
                    Interest::expected()
                ),
                did_you_mean(word, Interest::ALL.iter().map(|i| i.as_str())).unwrap_or_else(|| {
                    "write `low` if they sounded unsure or busy, `high` if keen".to_owned()
                }),
            );
        }
        interest
    });
    let minutes = validate_minutes(check, &at("minutes"), raw.minutes.as_ref(), kind, written);
    let reference = check.optional(
        &at("ref"),
        raw.reference.as_ref(),
        "the program's id of the sale, in quotes",
    );
    let reference = reference.map(|reference| {
        if kind.is_some_and(|k| k != EventKind::Sale) {
            check.error(
                &at("ref"),
                format!("`ref` is only allowed on `sale` events, not on `{written}`"),
                "remove `ref`, or change the type to `sale`",
            );
        }
        check.text_line(&at("ref"), "sale ref", reference)
    });
    Some(Event {
        date: date?,
        kind: kind?,
        amount,
        interest,
        minutes,
        reference,
    })
}

fn validate_minutes(
    check: &mut FileCheck<'_>,
    keys: &[Key<'_>],
    raw: Option<&Field<u32>>,
    kind: Option<EventKind>,
    written: &str,
) -> Option<u32> {
    let shape = format!("a whole number of minutes from 0 to {MAX_MINUTES}");
    let minutes = check.optional(keys, raw, &shape).copied()?;
    if kind.is_some_and(|k| !EventKind::TIMED.contains(&k)) {
        let timed: Vec<&str> = EventKind::TIMED.iter().map(|k| k.as_str()).collect();
        check.error(
            keys,
            format!(
                "`minutes` is only allowed on events that record your time ({}), not on `{written}`",
                quoted_list(&timed)
            ),
            "remove `minutes`, or put them on the event that took your time",
        );
    } else if minutes > MAX_MINUTES {
        check.error(
            keys,
            format!("`minutes` is {minutes}, more than a day ({MAX_MINUTES})"),
            "record the minutes this one contact took; log longer help as several events",
        );
    }
    Some(minutes)
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

/// The last key of a path (its name) and the path of the block holding it.
fn split_last_key<'k>(keys: &'k [Key<'k>]) -> (&'k str, &'k [Key<'k>]) {
    match keys.split_last() {
        Some((Key::Field(name), block)) => (name, block),
        Some((Key::Item(_), block)) => ("item", block),
        None => ("document", keys),
    }
}

/// How a value of the wrong shape was written, for an error message.
fn describe(value: &serde_yaml::Value) -> String {
    match value {
        serde_yaml::Value::Null => "empty".to_owned(),
        serde_yaml::Value::Bool(b) => format!("`{b}`"),
        serde_yaml::Value::Number(n) => format!("the number `{n}`"),
        serde_yaml::Value::String(text) => format!("the text `{text}`"),
        serde_yaml::Value::Sequence(_) => "a list".to_owned(),
        serde_yaml::Value::Mapping(_) => "a block of keys".to_owned(),
        serde_yaml::Value::Tagged(_) => "a tagged value".to_owned(),
    }
}

/// Whether `value` matches `[a-z0-9][a-z0-9_-]*`.
pub fn is_slug(value: &str) -> bool {
    let mut bytes = value.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The longest name, tag, account or title: it must fit on one line and in a header.
const MAX_LINE_CHARS: usize = 200;

/// Bidirectional controls and invisible format characters that have no place in a name:
/// they can reorder or hide what is shown. Zero-width joiners are not among them: Persian
/// and Indic names and emoji need them.
fn is_spoofing_character(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'
            | '\u{200E}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// Zero-width joiners: fine in names, never in addresses.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

/// Whether `value` is an address a mail message can be sent to.
fn is_valid_email(value: &str) -> bool {
    let value = value.trim();
    !value.chars().any(|c| c.is_control() || c.is_whitespace())
        && lettre::Address::from_str(value).is_ok_and(|address| address.domain().contains('.'))
}

/// Whether `value` has the shape of a `YYYY-MM-DD` date: four digits, `-`, two, `-`, two.
pub fn is_date_shaped(value: &str) -> bool {
    value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// Parses a strict `YYYY-MM-DD` date, explaining what is wrong otherwise.
pub fn parse_date(value: &str) -> Result<NaiveDate, String> {
    if !is_date_shaped(value) {
        return Err(format!("`{value}` is not a date in YYYY-MM-DD form"));
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| format!("`{value}` is not a real calendar date"))
}

/// How to write a date that is not `YYYY-MM-DD`, with the intended date spelled out where the
/// mistake is a common one: unpadded numbers, or day and month around slashes or dots.
fn date_help(value: &str) -> String {
    let numbers: Vec<u32> = value
        .trim()
        .split(['-', '/', '.'])
        .map(str::parse)
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    let written = |y: u32, m: u32, d: u32| {
        NaiveDate::from_ymd_opt(y as i32, m, d).map(|date| date.format("%Y-%m-%d").to_string())
    };
    match numbers[..] {
        [y, m, d] if y >= 1000 && value.contains('-') => match written(y, m, d) {
            Some(date) => format!("write it as `{date}`: four-digit year, two-digit month and day"),
            None => "write dates as YYYY-MM-DD, e.g. 2026-09-01".to_owned(),
        },
        [a, b, y] if y >= 1000 => match (written(y, b, a), written(y, a, b)) {
            (Some(day_first), Some(month_first)) if day_first != month_first => format!(
                "write dates as YYYY-MM-DD: `{day_first}` if the day comes first, `{month_first}` if the month does"
            ),
            (Some(date), _) | (None, Some(date)) => {
                format!("write dates as YYYY-MM-DD: `{date}`")
            }
            (None, None) => "write dates as YYYY-MM-DD, e.g. 2026-09-01".to_owned(),
        },
        _ => "write dates as YYYY-MM-DD, e.g. 2026-09-01".to_owned(),
    }
}

/// "did you mean `x`?" for the candidate closest to a misspelt `word`, if one is close.
pub fn did_you_mean<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    closest(word, candidates).map(|candidate| format!("did you mean `{candidate}`?"))
}

/// The candidate closest to a misspelt `word`, if one is close enough to be the intent.
fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_lowercase();
    candidates
        .map(|candidate| (edit_distance(&word, candidate), candidate))
        .filter(|&(distance, candidate)| distance <= (candidate.chars().count() / 3).max(1))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// The Levenshtein distance between two words, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

fn quoted_list(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("`{w}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::{did_you_mean, edit_distance, is_slug, is_valid_email, parse_date};

    // Ids are file names and must stay safe as output file names.
    #[test]
    fn slug_accepts_lowercase_words_and_rejects_paths() {
        assert!(is_slug("alice-walker_2"));
        assert!(is_slug("0day"));
        for bad in ["", "-alice", "Alice", "al ice", "../x", "a/b", "é"] {
            assert!(!is_slug(bad), "{bad}");
        }
    }

    // Addresses must be deliverable-looking and carry no header tricks.
    #[test]
    fn email_validation_rejects_malformed_addresses() {
        assert!(is_valid_email("alice@example.com"));
        for bad in [
            "alice",
            "alice@",
            "@example.com",
            "a b@example.com",
            "a@example",
            "a@b.com\r\nBcc: x@y.z",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    // Dates must be real and written in one form.
    #[test]
    fn dates_must_be_real_and_zero_padded() {
        assert!(parse_date("2028-02-29").is_ok());
        assert!(
            parse_date("2026-02-29")
                .unwrap_err()
                .contains("real calendar date")
        );
        assert!(parse_date("2026-9-1").unwrap_err().contains("YYYY-MM-DD"));
    }

    // Misspelt words get a suggestion; unrelated words do not.
    #[test]
    fn suggests_the_closest_word_for_a_typo() {
        assert_eq!(edit_distance("welcom_sent", "welcome_sent"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        let kinds = ["welcome_sent", "nudge_sent", "sale"];
        let suggest = |word| did_you_mean(word, kinds.iter().copied());
        assert_eq!(
            suggest("welcom_sent").as_deref(),
            Some("did you mean `welcome_sent`?")
        );
        assert_eq!(suggest("Sale").as_deref(), Some("did you mean `sale`?"));
        assert_eq!(suggest("purchase"), None);
    }
}
