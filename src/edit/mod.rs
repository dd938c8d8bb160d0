//! Requested changes to records (a new referral, appended events) → new file texts that are
//! checked as `check` checks them, then written atomically under the project lock. With
//! `init`, the only code that writes under `content/`.
//!
//! Every command that changes records runs one [`Session`]: it holds the project lock for
//! its whole life, so two affrel processes never change records at once and no update is
//! lost; it takes back a change that a killed process left half-made; and it writes several
//! files all or none ([`commit`]). `drafts` runs one too, only for the lock: its mailbox
//! work then never overlaps another `drafts` or a `send`.

pub mod commit;
pub mod pending;
pub mod text;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::console::tell;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::load::{self, BOM, CONTENT_DIR, REFERRALS_DIR, RawContent, Source};
use crate::lock::{self, Lock};
use crate::model::{self, Project, Referral};

use commit::{Failure, Unfinished};
use text::{Item, Unplaceable};

/// The project lock, beside `content/`; it exists only while a command holds it.
const LOCK_FILE: &str = ".content.affrel-lock";

/// One file's new text, and the bytes it was computed from.
#[derive(Debug, Clone)]
pub struct Change {
    /// Relative to the root.
    pub path: PathBuf,
    /// The file as read; `None` for a file to create.
    pub before: Option<Vec<u8>>,
    /// The new text, without a byte-order mark.
    pub after: String,
    /// Whether `before` started with a byte-order mark (kept in the new file).
    bom: bool,
}

impl Change {
    /// A new file.
    pub fn create(path: PathBuf, text: String) -> Self {
        Self {
            path,
            before: None,
            after: text,
            bom: false,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let bom = if self.bom { BOM } else { "" };
        format!("{bom}{}", self.after).into_bytes()
    }
}

/// The project lock, and the content read once under it: the records are looked up,
/// checked and changed from this one reading.
pub struct Session {
    root: PathBuf,
    content: RawContent,
    /// The problems met reading `content`.
    read_problems: Diagnostics,
    _lock: Lock,
}

impl Session {
    /// Takes the project lock (waiting for another affrel run, and saying so), takes back a
    /// change to several files that an earlier run was killed in the middle of, then reads
    /// the content.
    pub fn open(root: &Path) -> Result<Self, Refused> {
        let content = root.join(CONTENT_DIR);
        if !content.is_dir() {
            return Err(Refused::from(Diagnostic::error(CONTENT_DIR, "there is no content folder here")
                .with_help("run the command in a project folder, pass --root, or start one with `affrel init`")));
        }
        let lock = Lock::acquire(&root.join(LOCK_FILE), |holder| {
            tell(format_args!(
                "waiting for {} to finish…",
                lock::describe(holder)
            ));
        })
        .map_err(|err| Diagnostic::error(LOCK_FILE, err.to_string()).with_help(err.help()))?;
        if let Some(restored) = commit::recover(root).map_err(Refused::from)?
            && !restored.is_empty()
        {
            let names: Vec<String> = restored.iter().map(|p| p.display().to_string()).collect();
            tell(format_args!(
                "an earlier affrel run was stopped while changing records; put back what {} held before it: {}",
                if names.len() == 1 {
                    "this file"
                } else {
                    "these files"
                },
                names.join(", ")
            ));
        }
        let mut read_problems = Diagnostics::default();
        let content = load::load(root, &mut read_problems);
        Ok(Self {
            root: root.to_path_buf(),
            content,
            read_problems,
            _lock: lock,
        })
    }

    /// The project as read, validated as `check` does; `None` when it has errors.
    pub fn project(&self, today: NaiveDate) -> (Option<Project>, Vec<Diagnostic>) {
        let mut diagnostics = self.read_problems.clone();
        let project = model::validate(self.content.clone(), today, &mut diagnostics);
        let failed = diagnostics.has_errors();
        (project.filter(|_| !failed), diagnostics.into_sorted())
    }

    /// The path of the referral file with this id, in any subfolder.
    pub fn find_record(&self, id: &str) -> Result<PathBuf, Diagnostic> {
        let referrals = &self.content.referrals;
        match referrals.get(id).and_then(|files| files.first()) {
            Some(source) => Ok(source.path.clone()),
            None => Err(unknown_id(id, referrals.keys().map(String::as_str))),
        }
    }

    /// The project root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The change that appends `items`, in order, to the events of the record at `path`.
    pub fn append(&self, path: &Path, items: &[Item]) -> Result<Change, Diagnostic> {
        let before = fs::read(self.root.join(path))
            .map_err(|err| Diagnostic::error(path, format!("cannot read the file: {err}")))?;
        let bom = before.starts_with(BOM.as_bytes());
        let text = load::decode(path, before.clone())?;
        let mut after = text.clone();
        for item in items {
            after = text::append_event(&after, item)
                .map_err(|Unplaceable(why)| cannot_place(path, &why, item))?;
        }
        appends_exactly(path, &text, &after, items)?;
        Ok(Change {
            path: path.to_path_buf(),
            before: Some(before),
            after,
            bom,
        })
    }

    /// Checks the project with `changes` applied, exactly as `check` does, and writes them
    /// when nothing is wrong: all files or none. Returns the warnings about the changed
    /// files; on failure, every error in the project and those warnings, or what a change
    /// that stopped part-way left.
    pub fn apply(
        mut self,
        changes: &[Change],
        today: NaiveDate,
    ) -> Result<Vec<Diagnostic>, Refused> {
        let raw = std::mem::take(&mut self.content);
        let read_problems = std::mem::take(&mut self.read_problems);
        self.check_and_commit(raw, read_problems, changes, today)
    }

    /// [`Session::apply`], keeping the session, and its reading of the content up to date,
    /// for a command that changes records one after another (`send`).
    pub fn apply_and_keep(
        &mut self,
        changes: &[Change],
        today: NaiveDate,
    ) -> Result<Vec<Diagnostic>, Refused> {
        let applied = self.check_and_commit(
            self.content.clone(),
            self.read_problems.clone(),
            changes,
            today,
        );
        if applied.is_ok() {
            for change in changes {
                substitute(&mut self.content, change);
            }
        }
        applied
    }

    /// Validates `raw` with `changes` applied and writes them when nothing is wrong.
    fn check_and_commit(
        &self,
        mut raw: RawContent,
        mut diagnostics: Diagnostics,
        changes: &[Change],
        today: NaiveDate,
    ) -> Result<Vec<Diagnostic>, Refused> {
        for change in changes {
            substitute(&mut raw, change);
        }
        let project = model::validate(raw, today, &mut diagnostics);
        let changed_paths: BTreeSet<&Path> = changes.iter().map(|c| c.path.as_path()).collect();
        let relevant: Vec<Diagnostic> = diagnostics
            .into_sorted()
            .into_iter()
            .filter(|d| d.is_error() || changed_paths.contains(d.path.as_path()))
            .collect();
        if project.is_none() || relevant.iter().any(Diagnostic::is_error) {
            return Err(Refused::Unchanged(relevant));
        }
        match commit::commit(&self.root, changes) {
            Ok(()) => Ok(relevant),
            Err(Failure::Clean(problem)) => {
                let mut all = relevant;
                all.push(problem);
                Err(Refused::Unchanged(all))
            }
            Err(Failure::Unfinished(unfinished)) => Err(Refused::Unfinished(unfinished)),
        }
    }
}

/// Why records were not changed, or not wholly.
#[derive(Debug)]
pub enum Refused {
    /// Nothing was changed, for these reasons (and these warnings).
    Unchanged(Vec<Diagnostic>),
    /// A change stopped part-way and could not be wholly taken back.
    Unfinished(Unfinished),
}

impl From<Diagnostic> for Refused {
    fn from(problem: Diagnostic) -> Self {
        Self::Unchanged(vec![problem])
    }
}

impl From<Failure> for Refused {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Clean(problem) => Self::from(problem),
            Failure::Unfinished(unfinished) => Self::Unfinished(unfinished),
        }
    }
}

/// Puts a change's text in place of (or beside) the files `load` read.
fn substitute(raw: &mut RawContent, change: &Change) {
    let stem = change
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let files = raw.referrals.entry(stem).or_default();
    files.retain(|source| source.path != change.path);
    files.push(Source {
        path: change.path.clone(),
        text: change.after.clone(),
    });
}

/// Checks that `after` means exactly `before` with `items` appended to its events: the line
/// scan placed them where YAML reads them, and disturbed nothing else.
fn appends_exactly(
    path: &Path,
    before: &str,
    after: &str,
    items: &[Item],
) -> Result<(), Diagnostic> {
    use serde_yaml::Value;
    let Some(first) = items.first() else {
        return Ok(());
    };
    let unusual = |why: &str| cannot_place(path, why, first);
    let events_key = Value::String("events".to_owned());
    let parsed = |text: &str| load::parse_value(path, text);
    let mut expected = parsed(before)?;
    let listed = items.iter().fold(String::new(), |mut listed, item| {
        listed.push_str("- ");
        listed.push_str(&item.flow());
        listed.push('\n');
        listed
    });
    let Value::Sequence(new_items) = parsed(&listed)? else {
        return Err(unusual("the new events do not read back as a list"));
    };
    let Value::Mapping(record) = &mut expected else {
        return Err(unusual("the file is not a mapping of keys"));
    };
    match record.get_mut(&events_key) {
        Some(Value::Sequence(events)) => events.extend(new_items),
        Some(Value::Null) | None => {
            record.insert(events_key, Value::Sequence(new_items));
        }
        Some(_) => return Err(unusual("`events` is not a list")),
    }
    if parsed(after)? == expected {
        Ok(())
    } else {
        Err(unusual("the file's layout is unusual"))
    }
}

fn cannot_place(path: &Path, why: &str, item: &Item) -> Diagnostic {
    Diagnostic::error(path, format!("cannot add the event to this file: {why}")).with_help(format!(
        "add it to the `events:` list by hand: `- {}`",
        item.flow()
    ))
}

/// The referral with this id in a validated project.
pub fn referral<'p>(project: &'p Project, id: &str) -> Result<&'p Referral, Diagnostic> {
    project
        .referrals
        .binary_search_by(|r| r.id.as_str().cmp(id))
        .map(|index| &project.referrals[index])
        .map_err(|_| unknown_id(id, project.referrals.iter().map(|r| r.id.as_str())))
}

fn unknown_id<'a>(id: &str, known: impl Iterator<Item = &'a str>) -> Diagnostic {
    let help = model::did_you_mean(id, known).unwrap_or_else(|| {
        "the id is the record's file name without `.yaml`; `affrel agenda` lists who is due"
            .to_owned()
    });
    Diagnostic::error(REFERRALS_DIR, format!("no referral has the id `{id}`")).with_help(help)
}
