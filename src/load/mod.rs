//! Files under the root → raw structs that mirror the YAML, with every read or parse problem
//! recorded as a located diagnostic.
//!
//! Nothing here knows what a valid record is (that is `model`); this step only reads bytes,
//! splits front matter and runs the one YAML parser. Referral files are only read here:
//! `model` parses each through [`parse_referral`] as it validates it.
//!
//! `raw` holds the structs that mirror the files, `yaml` the one YAML parser and its
//! messages, `common_shape` the shortcut that reads most referral files without it,
//! `locate` the finding of a key in a file's text; this module reads the files.

mod common_shape;
mod locate;
mod raw;
mod yaml;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use rayon::prelude::{IntoParallelIterator, ParallelIterator};
use walkdir::WalkDir;

use crate::diagnostic::{Diagnostic, Diagnostics, Location, WarningKind};

pub use locate::{Key, locate};
pub use raw::*;
use yaml::{parse_email, parse_file};
pub use yaml::{parse_referral, parse_value};

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
    // Opened once: its size and its bytes come from the same open file.
    let mut file = fs::File::open(root.join(relative)).map_err(cannot_read)?;
    let size = file.metadata().map_err(cannot_read)?.len();
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
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.read_to_end(&mut bytes).map_err(cannot_read)?;
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
