//! The structs that mirror the YAML of the content files as written, and the keys each block
//! allows: what `model` validates.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::diagnostic::Location;

use super::Source;

/// A parsed file together with its source, kept for locating later problems.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    pub source: Source,
    pub value: T,
}

/// A value read as `T` when it has the right shape, otherwise the YAML as written: a key of
/// the wrong shape is reported by `model` while the rest of the file is still checked.
#[derive(Debug, Clone)]
pub enum Field<T> {
    Valid(T),
    /// Boxed: a record holds dozens of fields, nearly all valid, and a YAML value is large.
    Invalid(Box<serde_yaml::Value>),
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_yaml::Value::deserialize(deserializer)?;
        Ok(match T::deserialize(&value) {
            Ok(valid) => Field::Valid(valid),
            Err(_) => Field::Invalid(Box::new(value)),
        })
    }
}

/// Keys a block does not define, as written, for `model` to report every one of them.
pub type UnknownKeys = BTreeMap<String, serde_yaml::Value>;

/// `content/config.yaml` as written.
#[derive(Debug, Clone, Deserialize)]
pub struct RawConfig {
    pub sender: Option<Field<RawSender>>,
    pub programs: Option<Field<Vec<RawProgram>>>,
    pub rules: Option<Field<RawRules>>,
    pub report: Option<Field<RawReport>>,
    pub mail: Option<Field<RawMail>>,
    #[serde(flatten)]
    pub unknown: UnknownKeys,
}

/// The keys of `content/config.yaml`.
pub const CONFIG_KEYS: &[&str] = &["sender", "programs", "rules", "report", "mail"];

/// The `mail` block: your own mailbox, for `drafts`, `send` and `sync`.
#[derive(Debug, Clone, Deserialize)]
pub struct RawMail {
    pub imap: Option<Field<RawImap>>,
    pub smtp: Option<Field<RawSmtp>>,
    pub auth: Option<Field<String>>,
    pub password_command: Option<Field<Words>>,
    pub ca_file: Option<Field<String>>,
    #[serde(flatten)]
    pub unknown: UnknownKeys,
}

/// The keys of the `mail` block.
pub const MAIL_KEYS: &[&str] = &["imap", "smtp", "auth", "password_command", "ca_file"];

/// The `mail.imap` block.
#[derive(Debug, Clone, Deserialize)]
pub struct RawImap {
    pub host: Option<Field<String>>,
    pub port: Option<Field<u16>>,
    pub security: Option<Field<String>>,
    pub user: Option<Field<String>>,
    pub drafts: Option<Field<String>>,
    pub sent: Option<Field<String>>,
    pub inbox: Option<Field<Words>>,
    #[serde(flatten)]
    pub unknown: UnknownKeys,
}

/// The keys of the `mail.imap` block.
pub const IMAP_KEYS: &[&str] = &[
    "host", "port", "security", "user", "drafts", "sent", "inbox",
];

/// The `mail.smtp` block.
#[derive(Debug, Clone, Deserialize)]
pub struct RawSmtp {
    pub host: Option<Field<String>>,
    pub port: Option<Field<u16>>,
    pub security: Option<Field<String>>,
    pub user: Option<Field<String>>,
    pub save_sent: Option<Field<bool>>,
    pub rate: Option<Field<u32>>,
    #[serde(flatten)]
    pub unknown: UnknownKeys,
}

/// The keys of the `mail.smtp` block.
pub const SMTP_KEYS: &[&str] = &["host", "port", "security", "user", "save_sent", "rate"];

/// One word or a list of them: `inbox: INBOX` or `inbox: [INBOX, Replies]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Words {
    One(String),
    Many(Vec<String>),
}

/// The file `mail.ca_file` names, as read: its path relative to the root, and its bytes or
/// why it could not be read.
#[derive(Debug, Clone)]
pub struct CaFile {
    pub path: PathBuf,
    pub bytes: Result<Vec<u8>, String>,
}

/// The `sender` block.
#[derive(Debug, Clone, Deserialize)]
pub struct RawSender {
    pub name: Option<Field<String>>,
    pub email: Option<Field<String>>,
    pub signature: Option<Field<String>>,
    #[serde(flatten)]
    pub unknown: UnknownKeys,
}

/// The keys of the `sender` block.
pub const SENDER_KEYS: &[&str] = &["name", "email", "signature"];

/// One entry of `programs`.
#[derive(Debug, Clone, Deserialize)]
pub struct RawProgram {
    pub id: Option<Field<String>>,
    pub name: Option<Field<String>>,
    pub url: Option<Field<String>>,
    pub residual_commissions: Option<Field<bool>>,
    pub residual_rate: Option<Field<f64>>,
    pub import: Option<Field<RawImport>>,
    #[serde(flatten)]
    pub unknown: UnknownKeys,
}

/// The keys of a program.
pub const PROGRAM_KEYS: &[&str] = &[
    "id",
    "name",
    "url",
    "residual_commissions",
    "residual_rate",
    "import",
];

/// A program's `import` block: which columns of its sales export mean what.
#[derive(Debug, Clone, Deserialize)]
pub struct RawImport {
    pub referral: Option<Field<String>>,
    pub date: Option<Field<String>>,
    pub date_format: Option<Field<String>>,
    pub amount: Option<Field<String>>,
    #[serde(rename = "ref")]
    pub reference: Option<Field<String>>,
    #[serde(flatten)]
    pub unknown: UnknownKeys,
}

/// The keys of an `import` block.
pub const IMPORT_KEYS: &[&str] = &["referral", "date", "date_format", "amount", "ref"];

/// The `rules` block; absent keys take DESIGN's defaults in `model`.
#[derive(Debug, Clone, Deserialize)]
pub struct RawRules {
    pub nudge_after_days: Option<Field<u32>>,
    pub follow_up_after_days: Option<Field<u32>>,
    pub quiet_after_days: Option<Field<u32>>,
    pub thriving_sales: Option<Field<u32>>,
    pub thriving_window_days: Option<Field<u32>>,
    pub congratulate_every_days: Option<Field<u32>>,
    pub reply_window_days: Option<Field<u32>>,
    #[serde(flatten)]
    pub unknown: UnknownKeys,
}

/// The keys of the `rules` block.
pub const RULES_KEYS: &[&str] = &[
    "nudge_after_days",
    "follow_up_after_days",
    "quiet_after_days",
    "thriving_sales",
    "thriving_window_days",
    "congratulate_every_days",
    "reply_window_days",
];

/// The `report` block.
#[derive(Debug, Clone, Deserialize)]
pub struct RawReport {
    pub title: Option<Field<String>>,
    pub history_weeks: Option<Field<u32>>,
    pub cohort_months: Option<Field<u32>>,
    pub pseudonym_salt: Option<Field<String>>,
    #[serde(flatten)]
    pub unknown: UnknownKeys,
}

/// The keys of the `report` block.
pub const REPORT_KEYS: &[&str] = &["title", "history_weeks", "cohort_months", "pseudonym_salt"];

/// `content/referrals/<id>.yaml` as written. Dates and enum words stay strings here so that
/// `model` can explain a bad one in the user's terms.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawReferral {
    pub name: Option<Field<String>>,
    pub email: Option<Field<String>>,
    pub program: Option<Field<String>>,
    pub referred_on: Option<Field<String>>,
    pub motivation: Option<Field<String>>,
    pub account: Option<Field<String>>,
    pub tags: Option<Field<Vec<String>>>,
    pub notes: Option<Field<String>>,
    pub events: Option<Field<Vec<RawEvent>>>,
    #[serde(flatten)]
    pub unknown: UnknownKeys,
}

/// The keys of a referral.
pub const REFERRAL_KEYS: &[&str] = &[
    "name",
    "email",
    "program",
    "referred_on",
    "motivation",
    "account",
    "tags",
    "notes",
    "events",
];

/// One entry of a referral's `events`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawEvent {
    pub date: Option<Field<String>>,
    #[serde(rename = "type")]
    pub kind: Option<Field<String>>,
    pub amount: Option<Field<f64>>,
    pub interest: Option<Field<String>>,
    pub note: Option<Field<String>>,
    pub minutes: Option<Field<u32>>,
    #[serde(rename = "ref")]
    pub reference: Option<Field<String>>,
    pub message_id: Option<Field<String>>,
    pub address: Option<Field<String>>,
    #[serde(flatten)]
    pub unknown: UnknownKeys,
}

/// The keys of an event.
pub const EVENT_KEYS: &[&str] = &[
    "date",
    "type",
    "amount",
    "interest",
    "note",
    "minutes",
    "ref",
    "message_id",
    "address",
];

/// The front matter of an email template.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFrontMatter {
    pub subject: String,
}

/// `content/emails/<kind>.md`: front matter plus a Markdown body.
#[derive(Debug, Clone)]
pub struct RawEmail {
    pub stem: String,
    pub front: RawFrontMatter,
    /// Where the `subject` value starts in the file.
    pub subject_location: Location,
    pub body: String,
    /// The 1-based line of the file on which the body starts.
    pub body_line: usize,
}

/// Everything read from the root, before validation.
#[derive(Debug, Clone, Default)]
pub struct RawContent {
    pub config: Option<Loaded<RawConfig>>,
    /// Referral files keyed by their stem (the id); more than one file per stem is a clash.
    /// Read but not parsed: `model` parses each with [`parse_referral`] as it validates it,
    /// so that a large project never holds every raw record at once.
    pub referrals: BTreeMap<String, Vec<Source>>,
    pub emails: Vec<Loaded<RawEmail>>,
    /// The user's `templates/` files, keyed by file name.
    pub template_overrides: BTreeMap<String, Source>,
    /// The certificate file `mail.ca_file` names, when it names one.
    pub ca_file: Option<CaFile>,
}
