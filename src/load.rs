//! Files under the root → raw structs that mirror the YAML, with every read or parse problem
//! recorded as a located diagnostic.
//!
//! Nothing here knows what a valid record is (that is `model`); this step only reads bytes,
//! splits front matter and runs the one YAML parser. Referral files are only read here:
//! `model` parses each through [`parse_referral`] as it validates it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::{IntoParallelIterator, ParallelIterator};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use walkdir::WalkDir;

use crate::diagnostic::{Diagnostic, Diagnostics, Location, WarningKind};

/// The content folder, relative to the root.
pub const CONTENT_DIR: &str = "content";
/// The folder of referral records, relative to the root.
pub const REFERRALS_DIR: &str = "content/referrals";
/// The folder of user overrides of the built-in report templates, relative to the root.
pub const TEMPLATES_DIR: &str = "templates";
/// The byte-order mark some editors put at the start of a UTF-8 file.
pub const BOM: &str = "\u{feff}";

/// A file's text and its path relative to the project root.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

impl Source {
    /// Where a key sits in this YAML file; see [`locate`].
    pub fn locate(&self, keys: &[Key<'_>]) -> Option<Location> {
        locate(&self.text, keys)
    }

    /// Where the last key of the path itself is written (rather than its value).
    pub fn locate_key(&self, keys: &[Key<'_>]) -> Option<Location> {
        let at = self.locate(keys)?;
        let Some(Key::Field(name)) = keys.last() else {
            return Some(at);
        };
        let line = self.text.lines().nth(at.line - 1)?;
        let before = line.get(..at.column - 1).unwrap_or(line);
        Some(match before.rfind(&format!("{name}:")) {
            Some(index) => Location {
                line: at.line,
                column: index + 1,
            },
            None => at,
        })
    }
}

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
#[derive(Debug, Clone, Deserialize)]
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
#[derive(Debug, Clone, Deserialize)]
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

/// Reads the whole project under `root`, recording every problem in `diagnostics`.
pub fn load(root: &Path, diagnostics: &mut Diagnostics) -> RawContent {
    let config = load_config(root, diagnostics);
    let ca_file = config
        .as_ref()
        .and_then(|config| load_ca_file(root, &config.value));
    let (referrals, referral_problems) = load_referrals(root);
    diagnostics.extend(referral_problems);
    let emails = load_emails(root, diagnostics);
    let template_overrides = load_template_overrides(root, diagnostics);
    RawContent {
        config,
        referrals,
        emails,
        template_overrides,
        ca_file,
    }
}

/// Reads the file `mail.ca_file` names, relative to the root. Small and read whole: a
/// certificate bundle.
fn load_ca_file(root: &Path, config: &RawConfig) -> Option<CaFile> {
    let Some(Field::Valid(mail)) = &config.mail else {
        return None;
    };
    let Some(Field::Valid(path)) = &mail.ca_file else {
        return None;
    };
    let path = PathBuf::from(path);
    let bytes = fs::read(root.join(&path)).map_err(|err| err.to_string());
    Some(CaFile { path, bytes })
}

fn load_config(root: &Path, diagnostics: &mut Diagnostics) -> Option<Loaded<RawConfig>> {
    let relative = Path::new(CONTENT_DIR).join("config.yaml");
    if !root.join(&relative).is_file() {
        diagnostics.push(
            Diagnostic::error(&relative, "the configuration file is missing").with_help(
                "create content/config.yaml with a `sender` and at least one program, \
                 or run `affrel init` to start a new project",
            ),
        );
        return None;
    }
    let parsed = read_source(root, &relative).and_then(|source| parse_file(source, 0));
    parsed.map_err(|d| diagnostics.push(d)).ok()
}

/// Finds every referral file, then reads them in parallel.
fn load_referrals(root: &Path) -> (BTreeMap<String, Vec<Source>>, Vec<Diagnostic>) {
    let (paths, mut problems) = find_referral_files(root);
    let results: Vec<(String, Result<Source, Diagnostic>)> = paths
        .into_par_iter()
        .map(|(stem, relative)| (stem, read_source(root, &relative)))
        .collect();
    let mut referrals: BTreeMap<String, Vec<Source>> = BTreeMap::new();
    for (stem, read) in results {
        match read {
            Ok(source) => referrals.entry(stem).or_default().push(source),
            Err(problem) => problems.push(problem),
        }
    }
    (referrals, problems)
}

/// Lists `content/referrals/**/*.yaml` as (stem, path relative to root), sorted by path.
fn find_referral_files(root: &Path) -> (Vec<(String, PathBuf)>, Vec<Diagnostic>) {
    let dir = root.join(REFERRALS_DIR);
    let mut found = Vec::new();
    let mut problems = Vec::new();
    if !dir.is_dir() {
        return (found, problems);
    }
    for entry in WalkDir::new(&dir).follow_links(true).sort_by_file_name() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                let path = err.path().unwrap_or(&dir);
                problems.push(Diagnostic::error(relative_to(root, path), err.to_string()));
                continue;
            }
        };
        let relative = relative_to(root, entry.path());
        if !entry.file_type().is_file() {
            let special = !entry.file_type().is_dir();
            if special && entry.path().extension().is_some_and(|e| e == "yaml") {
                problems.push(
                    Diagnostic::warning(
                        WarningKind::IgnoredFile,
                        &relative,
                        "ignored: not a regular file",
                    )
                    .with_help("a referral is a plain `.yaml` file; remove or rename this one"),
                );
            }
            continue;
        }
        let extension = entry.path().extension().and_then(|e| e.to_str());
        match extension {
            Some("yaml") => {}
            Some("yml") => {
                problems.push(
                    Diagnostic::warning(
                        WarningKind::IgnoredFile,
                        &relative,
                        "ignored: referral files end in `.yaml`",
                    )
                    .with_help("rename the file to end in `.yaml`"),
                );
                continue;
            }
            _ => continue,
        }
        match entry.path().file_stem().and_then(|s| s.to_str()) {
            Some(stem) => found.push((stem.to_owned(), relative)),
            None => problems.push(
                Diagnostic::error(&relative, "the file name is not valid UTF-8")
                    .with_help("rename the file; its name is the referral's id"),
            ),
        }
    }
    (found, problems)
}

fn load_emails(root: &Path, diagnostics: &mut Diagnostics) -> Vec<Loaded<RawEmail>> {
    let relative_dir = Path::new(CONTENT_DIR).join("emails");
    let mut emails = Vec::new();
    for (relative, stem) in list_files(root, &relative_dir, diagnostics) {
        if relative.extension().and_then(|e| e.to_str()) != Some("md") {
            diagnostics.push(
                Diagnostic::warning(
                    WarningKind::IgnoredFile,
                    &relative,
                    "ignored: email templates end in `.md`",
                )
                .with_help("rename the file to `<kind>.md`, or move it out of content/emails/"),
            );
            continue;
        }
        match read_source(root, &relative).and_then(|source| parse_email(source, stem)) {
            Ok(email) => emails.push(email),
            Err(problem) => diagnostics.push(problem),
        }
    }
    emails
}

fn load_template_overrides(root: &Path, diagnostics: &mut Diagnostics) -> BTreeMap<String, Source> {
    let relative_dir = Path::new(TEMPLATES_DIR);
    let mut overrides = BTreeMap::new();
    for (relative, _) in list_files(root, relative_dir, diagnostics) {
        let Some(name) = relative.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let name = name.to_owned();
        match read_source(root, &relative) {
            Ok(source) => {
                overrides.insert(name, source);
            }
            Err(problem) => diagnostics.push(problem),
        }
    }
    overrides
}

/// The regular files directly inside `root/relative_dir`, sorted, with their UTF-8 stems.
fn list_files(
    root: &Path,
    relative_dir: &Path,
    diagnostics: &mut Diagnostics,
) -> Vec<(PathBuf, String)> {
    let dir = root.join(relative_dir);
    if !dir.is_dir() {
        return Vec::new();
    }
    let mut files = Vec::new();
    for entry in WalkDir::new(&dir)
        .min_depth(1)
        .max_depth(1)
        .sort_by_file_name()
    {
        match entry {
            Ok(entry) if entry.file_type().is_file() => {
                let relative = relative_to(root, entry.path());
                match entry.path().file_stem().and_then(|s| s.to_str()) {
                    Some(stem) => files.push((relative.clone(), stem.to_owned())),
                    None => diagnostics.push(
                        Diagnostic::error(&relative, "the file name is not valid UTF-8")
                            .with_help("rename the file"),
                    ),
                }
            }
            Ok(_) => {}
            Err(err) => diagnostics.push(Diagnostic::error(
                relative_to(root, err.path().unwrap_or(&dir)),
                err.to_string(),
            )),
        }
    }
    files
}

fn relative_to(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}

/// The largest content file read: far beyond any real record, small enough to parse quickly.
const MAX_FILE_BYTES: u64 = 4_000_000;

/// Reads a file as UTF-8, locating the first invalid byte when it is not.
fn read_source(root: &Path, relative: &Path) -> Result<Source, Diagnostic> {
    let cannot_read =
        |err: std::io::Error| Diagnostic::error(relative, format!("cannot read the file: {err}"));
    let size = std::fs::metadata(root.join(relative))
        .map_err(cannot_read)?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(Diagnostic::error(
            relative,
            format!(
                "the file is {} MB; content files are at most {} MB",
                size / 1_000_000,
                MAX_FILE_BYTES / 1_000_000
            ),
        )
        .with_help("a record with years of events is a few kilobytes: check that this is the file you meant, and keep long notes elsewhere"));
    }
    let bytes = std::fs::read(root.join(relative)).map_err(cannot_read)?;
    Ok(Source {
        path: relative.to_path_buf(),
        text: decode(relative, bytes)?,
    })
}

/// A file's bytes as text without its byte-order mark (some Windows editors start UTF-8
/// files with one, which the YAML parser would read as content), or an error locating the
/// first byte that is not UTF-8.
pub fn decode(relative: &Path, bytes: Vec<u8>) -> Result<String, Diagnostic> {
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with(BOM) {
                text.drain(..BOM.len());
            }
            Ok(text)
        }
        Err(err) => {
            let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
            let line = valid.split(|&b| b == b'\n').count();
            let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let column = String::from_utf8_lossy(&valid[line_start..])
                .chars()
                .count()
                + 1;
            Err(Diagnostic::error(relative, "the file is not valid UTF-8")
                .at(line, column)
                .with_help("save the file with UTF-8 encoding"))
        }
    }
}

/// Parses a referral file's text: the one way a record is read, whether from disk or as a
/// changed record about to be written.
pub fn parse_referral(source: Source) -> Result<Loaded<RawReferral>, Diagnostic> {
    parse_file(source, 0)
}

/// Parses YAML text into a plain value tree, through the one YAML parser.
pub fn parse_value(path: &Path, text: &str) -> Result<serde_yaml::Value, Diagnostic> {
    parse_yaml(path, text, 0)
}

/// Parses a whole YAML file into `T`.
fn parse_file<T: DeserializeOwned>(
    source: Source,
    line_offset: usize,
) -> Result<Loaded<T>, Diagnostic> {
    let blank = |line: &str| line.trim().is_empty() || line.trim_start().starts_with('#');
    if source.text.lines().all(blank) {
        let message = if source.text.trim().is_empty() {
            "the file is empty"
        } else {
            "the file has nothing but comments"
        };
        return Err(Diagnostic::error(&source.path, message)
            .at(1, 1)
            .with_help("see the content format in README.md for the keys this file needs"));
    }
    let value = parse_yaml(&source.path, &source.text, line_offset)?;
    Ok(Loaded { source, value })
}

/// The one place YAML is parsed. `line_offset` is the number of lines above `text` in the
/// file (front matter), so that locations point into the real file.
fn parse_yaml<T: DeserializeOwned>(
    path: &Path,
    text: &str,
    line_offset: usize,
) -> Result<T, Diagnostic> {
    if let Some(at) = too_deeply_nested(text) {
        return Err(Diagnostic::error(
            path,
            format!("`[ ]` and `{{ }}` are nested more than {MAX_FLOW_DEPTH} levels deep"),
        )
        .at(at.line + line_offset, at.column)
        .with_help("the content format needs at most two levels: remove the extra brackets"));
    }
    serde_yaml::from_str(text).map_err(|err| {
        let at = err.location().map(|l| (l.line(), l.column()));
        let message = plain_yaml_message(&err.to_string(), at, line_offset);
        let at = repeated_top_level_key(text, &message).or(at);
        let help = at
            .and_then(|(line, _)| common_mistake(text, line))
            .unwrap_or_else(|| yaml_error_help(&message).to_owned());
        let several_documents = help == SEVERAL_DOCUMENTS_HELP;
        let diagnostic = Diagnostic::error(path, message).with_help(help);
        match at {
            Some((line, column)) => diagnostic.at(line + line_offset, column),
            None if several_documents => diagnostic.at_location(second_document(text, line_offset)),
            None => diagnostic,
        }
    })
}

/// `serde_yaml` places a repeated key at the start of its mapping; for a top-level key, find the
/// line that repeats it.
fn repeated_top_level_key(text: &str, message: &str) -> Option<(usize, usize)> {
    let name = message.strip_prefix("duplicate key `")?.split('`').next()?;
    let prefix = format!("{name}:");
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.starts_with(&prefix))
        .nth(1)
        .map(|(index, _)| (index + 1, 1))
}

/// Flow collections nested deeper than this are refused before parsing: the YAML parser takes
/// time quadratic in the depth (minutes for a file of a few hundred kilobytes), and the content
/// format never needs more than two levels.
const MAX_FLOW_DEPTH: usize = 64;

/// Where `[` or `{` first opens a collection deeper than [`MAX_FLOW_DEPTH`], by a linear
/// scan that skips quoted scalars and comments. Only brackets that can start a node count, so
/// that brackets inside plain text are never mistaken for nesting: it may undercount, which
/// only weakens the guard, but never rejects valid content.
fn too_deeply_nested(text: &str) -> Option<Location> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (line_index, line) in text.lines().enumerate() {
        // The last character that was not a space on this line, `None` at its start.
        let mut previous: Option<char> = None;
        let mut after_space = true;
        let mut chars = line.chars().enumerate();
        while let Some((index, c)) = chars.next() {
            if let Some(open) = quote {
                if c == '\\' && open == '"' {
                    chars.next();
                } else if c == open {
                    quote = None;
                    previous = Some(c);
                }
                continue;
            }
            let starts_node = matches!(previous, None | Some(':' | '-' | '?' | ',' | '[' | '{'));
            match c {
                '#' if after_space => break,
                '"' | '\'' if starts_node => quote = Some(c),
                '[' | '{' if starts_node => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Some(Location {
                            line: line_index + 1,
                            column: index + 1,
                        });
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            after_space = c.is_whitespace();
            if !after_space {
                // A bracket inside plain text is text: it starts nothing after it either.
                let text_bracket = matches!(c, '[' | '{') && !starts_node;
                previous = Some(if text_bracket { 'x' } else { c });
            }
        }
    }
    None
}

/// Rewrites a `serde_yaml` message for people who write YAML rather than Rust: the error's
/// own location is shown separately so it is dropped from the text, any other location (the
/// start of the construct being parsed) is moved past the front matter, and Rust type names
/// become words.
fn plain_yaml_message(message: &str, at: Option<(usize, usize)>, line_offset: usize) -> String {
    const MARKER: &str = " at line ";
    let mut plain = String::with_capacity(message.len());
    let mut rest = message;
    let mut own_location_dropped = false;
    while let Some(index) = rest.find(MARKER) {
        plain.push_str(&rest[..index]);
        let after = &rest[index + MARKER.len()..];
        if let Some((line, column, length)) = parse_line_column(after) {
            if !own_location_dropped && at == Some((line, column)) {
                own_location_dropped = true;
            } else {
                // Writing to a String cannot fail.
                let _ = write!(plain, "{MARKER}{} column {column}", line + line_offset);
            }
            rest = &after[length..];
        } else {
            plain.push_str(MARKER);
            rest = after;
        }
    }
    plain.push_str(rest);
    plain_type_names(&plain)
}

/// Reads `L column C` at the start of `text`: (L, C, bytes read).
fn parse_line_column(text: &str) -> Option<(usize, usize, usize)> {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let line_len = digits(text);
    let line = text[..line_len].parse().ok()?;
    let after_line = text[line_len..].strip_prefix(" column ")?;
    let column_len = digits(after_line);
    let column = after_line[..column_len].parse().ok()?;
    Some((line, column, text.len() - after_line.len() + column_len))
}

/// Replaces serde's Rust words ("field", type names) with the words of the content format.
fn plain_type_names(message: &str) -> String {
    let mut plain = message
        .replace("unknown field `", "unknown key `")
        .replace("missing field `", "missing key `")
        .replace("duplicate field `", "duplicate key `")
        .replace("expected field identifier", "expected a key name")
        .replace("expected u32", "expected a whole number of at least 0")
        .replace("expected f64", "expected a number")
        .replace("expected a boolean", "expected `true` or `false`")
        .replace("expected a sequence", "expected a list")
        .replace("invalid type: sequence", "invalid type: list")
        .replace("invalid type: map", "invalid type: mapping of keys")
        .replace(
            "deserializing from YAML containing more than one document is not supported",
            "the file holds more than one YAML document",
        );
    while let Some(index) = plain.find("expected struct ") {
        let name_start = index + "expected struct ".len();
        let name_len = plain[name_start..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(plain.len() - name_start);
        plain.replace_range(
            index..name_start + name_len,
            "expected a mapping of `key: value` lines",
        );
    }
    plain
}

/// Advice for the YAML mistakes people make most, recognised on the line where parsing
/// failed (1-based): a tab in the indentation, an unquoted value holding `: `, and list
/// items with no key above them.
fn common_mistake(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let error_line = *lines.get(line.checked_sub(1)?)?;
    let indentation = &error_line[..error_line.len() - error_line.trim_start().len()];
    if indentation.contains('\t') {
        return Some("YAML does not allow tabs in indentation: indent with spaces".to_owned());
    }
    if let Some((key, value)) = value_with_colon(error_line) {
        return Some(format!(
            "the value of `{key}` contains `: `, which YAML reads as the start of another key: put the value in quotes, `{key}: \"{value}\"`"
        ));
    }
    if is_orphan_item(&lines, line - 1) {
        return Some(
            "this list item has no key above it: add a line `events:` before the first `- ` item (and indent the items under it)"
                .to_owned(),
        );
    }
    None
}

/// The first `key: value` pair on the line whose unquoted value itself holds `: `.
fn value_with_colon(line: &str) -> Option<(&str, &str)> {
    let body = line.trim_start().trim_start_matches("- ").trim();
    let body = body
        .strip_prefix('{')
        .map_or(body, |inner| inner.trim_end_matches('}'));
    body.split(", ").find_map(|pair| {
        let (key, value) = pair.trim().split_once(": ")?;
        let value = value.trim();
        let quoted = value.starts_with(['"', '\'']);
        (!quoted && value.contains(": ")).then_some((key.trim(), value))
    })
}

/// Whether the line at `index` (0-based) is a `- ` item whose nearest line above that is not
/// an item, blank or a comment is not a `key:` opening a block.
fn is_orphan_item(lines: &[&str], index: usize) -> bool {
    let is_item = |line: &str| {
        let trimmed = line.trim_start();
        trimmed == "-" || trimmed.starts_with("- ")
    };
    if !is_item(lines[index]) {
        return false;
    }
    let above = lines[..index].iter().rev().find(|line| {
        let trimmed = line.trim();
        !(trimmed.is_empty()
            || trimmed.starts_with('#')
            || is_item(line)
            || line.starts_with([' ', '\t']))
    });
    above.is_none_or(|line| {
        let without_comment = line.split(" #").next().unwrap_or(line).trim_end();
        !without_comment.ends_with(':')
    })
}

const SEVERAL_DOCUMENTS_HELP: &str = "a file holds one record: remove the `---` line and what follows it, or move it to a file of its own";

fn yaml_error_help(message: &str) -> &'static str {
    if message.contains("unknown key") {
        "remove the key or correct its spelling"
    } else if message.contains("missing key") {
        "add the missing key"
    } else if message.contains("duplicate") {
        "keep only one of the repeated keys"
    } else if message.contains("more than one YAML document") {
        SEVERAL_DOCUMENTS_HELP
    } else if message.contains("while parsing a flow") {
        "check that the `{ … }` or `[ … ]` that starts there is closed and its items are separated by commas"
    } else if message.contains("recursion limit") || message.contains("repetition limit") {
        "remove the YAML aliases (`*name`) that expand this document"
    } else if message.contains("invalid type") || message.contains("invalid value") {
        "check the value's type against the content format in README.md"
    } else {
        "fix the YAML syntax at this place"
    }
}

/// The `---` line that starts a second YAML document, for the error `serde_yaml` gives
/// without a location.
fn second_document(text: &str, line_offset: usize) -> Option<Location> {
    let mut seen_content = false;
    for (index, line) in text.lines().enumerate() {
        let is_marker = line == "---" || line.starts_with("--- ");
        if is_marker && seen_content {
            return Some(Location {
                line: index + 1 + line_offset,
                column: 1,
            });
        }
        let trimmed = line.trim();
        seen_content |= !(trimmed.is_empty() || trimmed.starts_with('#'));
        seen_content |= is_marker;
    }
    None
}

/// Splits `---` front matter from the body and parses both halves' metadata.
fn parse_email(source: Source, stem: String) -> Result<Loaded<RawEmail>, Diagnostic> {
    let Some((front_text, body, body_line)) = split_front_matter(&source.text) else {
        return Err(
            Diagnostic::error(&source.path, "the email template has no front matter")
                .at(1, 1)
                .with_help("start the file with `---`, a `subject: \"…\"` line and another `---`"),
        );
    };
    if front_text.trim().is_empty() {
        return Err(Diagnostic::error(&source.path, "the front matter is empty")
            .at(2, 1)
            .with_help("add a `subject: \"…\"` line between the `---` lines"));
    }
    let front: RawFrontMatter = parse_yaml(&source.path, front_text, 1)?;
    let subject_location = source
        .locate(&[Key::Field("subject")])
        .unwrap_or(Location { line: 2, column: 1 });
    let email = RawEmail {
        stem,
        front,
        subject_location,
        body: body.to_owned(),
        body_line,
    };
    Ok(Loaded {
        source,
        value: email,
    })
}

/// Returns (front matter, body, 1-based line where the body starts).
fn split_front_matter(text: &str) -> Option<(&str, &str, usize)> {
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let mut offset = 0;
    for (index, line) in rest.split_inclusive('\n').enumerate() {
        if line.trim_end() == "---" {
            let front = &rest[..offset];
            let body = &rest[offset + line.len()..];
            return Some((front, body, index + 3));
        }
        offset += line.len();
    }
    None
}

/// A step in a path to a YAML key: a mapping key or an item of a sequence.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    Field(&'a str),
    Item(usize),
}

/// Finds where the value at a key path starts, by reading the text line by line.
///
/// `serde_yaml` reports where parsing failed but not where a successfully parsed value came
/// from, so problems found after parsing are located here. It understands block mappings,
/// block sequences and one-line flow mappings (`- { date: …, type: … }`), which is what the
/// content format uses; anything else falls back to the nearest enclosing key it found.
pub fn locate(text: &str, keys: &[Key<'_>]) -> Option<Location> {
    let lines: Vec<&str> = text.lines().collect();
    let mut scope = 0..lines.len();
    let mut indent = 0;
    let mut found = None;
    for key in keys {
        let position = match *key {
            Key::Field(name) => find_field(&lines, scope.clone(), indent, found.is_none(), name),
            Key::Item(index) => find_item(&lines, scope.clone(), index),
        };
        let Some((line, column)) = position else {
            break;
        };
        found = Some(Location {
            line: line + 1,
            column: column + 1,
        });
        indent = column;
        scope = line..block_end(&lines, line, column);
    }
    found
}

/// Finds `name:` at `indent` or deeper within `scope`, also inside a one-line flow mapping.
fn find_field(
    lines: &[&str],
    scope: std::ops::Range<usize>,
    indent: usize,
    top_level: bool,
    name: &str,
) -> Option<(usize, usize)> {
    let pattern = format!("{name}:");
    for index in scope {
        let line = lines[index];
        let mut search_from = 0;
        while let Some(position) = line[search_from..].find(&pattern) {
            let at = search_from + position;
            let before = line[..at].trim_end();
            let starts_key = before.is_empty()
                || before.ends_with('{')
                || before.ends_with(',')
                || before.ends_with('-');
            let indented_right = if top_level { at == 0 } else { at >= indent };
            if indented_right && starts_key {
                let value_start = at + pattern.len();
                let skipped = line[value_start..].len() - line[value_start..].trim_start().len();
                let column = if line[value_start..].trim().is_empty() {
                    at
                } else {
                    value_start + skipped
                };
                return Some((index, column));
            }
            search_from = at + pattern.len();
        }
    }
    None
}

/// Finds the `index`th `- ` item directly under the key whose block is `scope`.
fn find_item(
    lines: &[&str],
    scope: std::ops::Range<usize>,
    index: usize,
) -> Option<(usize, usize)> {
    let mut item_indent = None;
    let mut count = 0;
    for line_index in scope.skip(1) {
        let line = lines[line_index];
        let trimmed = line.trim_start();
        if !(trimmed.starts_with("- ") || trimmed == "-") {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if *item_indent.get_or_insert(indent) != indent {
            continue;
        }
        if count == index {
            return Some((line_index, indent));
        }
        count += 1;
    }
    None
}

/// The line after the block that starts at `line` with its key or item at `column`.
fn block_end(lines: &[&str], line: usize, column: usize) -> usize {
    let starts_item = lines[line][column..].starts_with('-');
    for (index, text) in lines.iter().enumerate().skip(line + 1) {
        let trimmed = text.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = text.len() - trimmed.len();
        let dedented =
            indent < column || (indent == column && (starts_item || !trimmed.starts_with('-')));
        if dedented {
            return index;
        }
    }
    lines.len()
}

#[cfg(test)]
mod tests {
    use super::{
        Key, Location, MAX_FLOW_DEPTH, locate, plain_yaml_message, second_document,
        split_front_matter, too_deeply_nested,
    };

    const REFERRAL: &str = "name: Alice\nprogram: acme\nevents:\n  - { date: 2026-09-02, type: welcome_sent }\n  - date: 2026-09-05\n    type: reply\n    interest: high\n";

    // Post-parse problems point at the value of a top-level key.
    #[test]
    fn locates_top_level_key_value() {
        let at = locate(REFERRAL, &[Key::Field("program")]);
        assert_eq!(
            at,
            Some(Location {
                line: 2,
                column: 10
            })
        );
    }

    // A key inside a one-line flow mapping item is found on that item's line.
    #[test]
    fn locates_key_in_flow_item() {
        let at = locate(
            REFERRAL,
            &[Key::Field("events"), Key::Item(0), Key::Field("type")],
        );
        assert_eq!(
            at,
            Some(Location {
                line: 4,
                column: 31
            })
        );
    }

    // A key inside a block-style item is found below the item's dash.
    #[test]
    fn locates_key_in_block_item() {
        let at = locate(
            REFERRAL,
            &[Key::Field("events"), Key::Item(1), Key::Field("interest")],
        );
        assert_eq!(
            at,
            Some(Location {
                line: 7,
                column: 15
            })
        );
    }

    // The body of an email template starts on the line after the closing `---`.
    #[test]
    fn splits_front_matter_and_counts_body_line() {
        let (front, body, line) = split_front_matter("---\nsubject: Hi\n---\nHello\n").unwrap();
        assert_eq!((front, body, line), ("subject: Hi\n", "Hello\n", 4));
    }

    // Locations are printed separately, so serde_yaml's own location is removed from the text.
    #[test]
    fn removes_the_errors_own_location_from_the_message() {
        assert_eq!(
            plain_yaml_message(
                "unknown field `x`, expected `a` at line 2 column 1",
                Some((2, 1)),
                0
            ),
            "unknown key `x`, expected `a`"
        );
        assert_eq!(
            plain_yaml_message("no location here", None, 0),
            "no location here"
        );
    }

    // The start of the construct being parsed stays in the message, shifted past the front
    // matter like the error's own location.
    #[test]
    fn keeps_the_context_location_shifted_by_the_front_matter() {
        assert_eq!(
            plain_yaml_message(
                "found unexpected end of stream at line 3 column 1, while scanning a quoted scalar at line 1 column 10",
                Some((3, 1)),
                1
            ),
            "found unexpected end of stream, while scanning a quoted scalar at line 2 column 10"
        );
    }

    // Users write YAML, not Rust: serde's type names are replaced by content-format words.
    #[test]
    fn replaces_rust_type_names() {
        assert_eq!(
            plain_yaml_message(
                "invalid type: sequence, expected struct RawReferral at line 1 column 1",
                Some((1, 1)),
                0
            ),
            "invalid type: list, expected a mapping of `key: value` lines"
        );
        assert_eq!(
            plain_yaml_message(
                "rules.quiet_after_days: invalid type: integer `-1`, expected u32",
                None,
                0
            ),
            "rules.quiet_after_days: invalid type: integer `-1`, expected a whole number of at least 0"
        );
    }

    // A second document is located at its `---` line, not at a document-start marker.
    #[test]
    fn locates_the_second_document() {
        let at = |text| second_document(text, 0).map(|l| l.line);
        assert_eq!(at("name: a\n---\nname: b\n"), Some(2));
        assert_eq!(at("---\nname: a\n--- \nname: b\n"), Some(3));
        assert_eq!(at("# c\n---\nname: a\n---\n"), Some(4));
    }

    // Deep flow nesting is refused where it crosses the limit; brackets in quotes, comments
    // and plain text do not count.
    #[test]
    fn finds_flow_nesting_deeper_than_the_limit() {
        let deep = format!("name: x\nnotes: {}\n", "[".repeat(MAX_FLOW_DEPTH + 1));
        assert_eq!(
            too_deeply_nested(&deep),
            Some(Location {
                line: 2,
                column: 8 + MAX_FLOW_DEPTH
            })
        );
        let at_limit = format!(
            "notes: {}{}\n",
            "{a: ".repeat(MAX_FLOW_DEPTH),
            "}".repeat(MAX_FLOW_DEPTH)
        );
        assert_eq!(too_deeply_nested(&at_limit), None);
        let brackets = "[".repeat(2 * MAX_FLOW_DEPTH);
        for harmless in [
            format!("note: \"{brackets}\"\n"),
            format!("note: '{brackets}'\n"),
            format!("note: x # {brackets}\n"),
            format!("note: see{brackets}\n"),
            format!("note: \"multi\n  {brackets}\"\n"),
            format!("note: \"a \\\" {brackets}\"\n"),
        ] {
            assert_eq!(too_deeply_nested(&harmless), None, "{harmless}");
        }
    }
}
