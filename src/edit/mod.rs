//! Requested changes to records (a new referral, appended events) → new file texts that are
//! checked as `check` checks them, then written atomically under the project lock. With
//! `init`, the only code that writes under `content/`.
//!
//! Every command that changes records runs one [`Session`]: it holds the project lock for
//! its whole life, so two affrel processes never change records at once and no update is
//! lost; it finishes a change that a killed process left half-done; and it writes several
//! files all or none.

pub mod text;

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::console::tell;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::load::{self, BOM, CONTENT_DIR, REFERRALS_DIR, RawContent, Source};
use crate::lock::Lock;
use crate::model::{self, Project, Referral};

use text::{Item, Unplaceable};

/// The project lock, beside `content/`; it exists only while a command holds it.
const LOCK_FILE: &str = ".content.affrel-lock";
/// The list of renames of a change to several files, kept until all are done.
const JOURNAL_FILE: &str = ".content.affrel-journal";

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
    /// Takes the project lock (waiting for another affrel run, and saying so), finishes a
    /// change to several files that an earlier run was killed in the middle of, then reads
    /// the content.
    pub fn open(root: &Path) -> Result<Self, Diagnostic> {
        let content = root.join(CONTENT_DIR);
        if !content.is_dir() {
            return Err(Diagnostic::error(CONTENT_DIR, "there is no content folder here")
                .with_help("run the command in a project folder, pass --root, or start one with `affrel init`"));
        }
        let lock = Lock::acquire(&root.join(LOCK_FILE), || {
            tell(format_args!("waiting for another affrel run to finish changing records…"));
        })
        .map_err(|err| {
            Diagnostic::error(LOCK_FILE, err.to_string()).with_help(
                "wait for the other run to finish and try again; if no other affrel is running, delete the lock file",
            )
        })?;
        let mut session = Self {
            root: root.to_path_buf(),
            content: RawContent::default(),
            read_problems: Diagnostics::default(),
            _lock: lock,
        };
        session.finish_interrupted()?;
        session.content = load::load(&session.root, &mut session.read_problems);
        Ok(session)
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
    /// files; on failure, every error in the project and those warnings.
    pub fn apply(
        mut self,
        changes: &[Change],
        today: NaiveDate,
    ) -> Result<Vec<Diagnostic>, Vec<Diagnostic>> {
        let mut diagnostics = std::mem::take(&mut self.read_problems);
        let mut raw = std::mem::take(&mut self.content);
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
            return Err(relevant);
        }
        self.commit(changes).map_err(|problem| {
            let mut all = relevant.clone();
            all.push(problem);
            all
        })?;
        Ok(relevant)
    }

    /// Writes every change beside its file, then renames them into place. Several files are
    /// listed in a journal first, so that a run killed among the renames is finished by the
    /// next one.
    fn commit(&self, changes: &[Change]) -> Result<(), Diagnostic> {
        for change in changes {
            self.unchanged_since_read(change)?;
        }
        let mut staged = Vec::with_capacity(changes.len());
        for change in changes {
            let temp = temp_path(&change.path);
            if let Err(err) = self.stage(change, &temp) {
                for (temp, _) in &staged {
                    let _ = fs::remove_file(self.root.join(temp));
                }
                let _ = fs::remove_file(self.root.join(&temp));
                return Err(write_error(&change.path, &err));
            }
            staged.push((temp, change));
        }
        let journal = staged.len() > 1;
        if journal {
            let renames: Vec<(PathBuf, PathBuf)> = staged
                .iter()
                .map(|(temp, change)| (temp.clone(), change.path.clone()))
                .collect();
            self.write_journal(&renames)
                .map_err(|err| write_error(Path::new(JOURNAL_FILE), &err))?;
        }
        for (temp, change) in &staged {
            let placed = if change.before.is_some() {
                fs::rename(self.root.join(temp), self.root.join(&change.path))
            } else {
                create_new(&self.root.join(temp), &self.root.join(&change.path))
            };
            placed.map_err(|err| write_error(&change.path, &err))?;
        }
        if journal {
            let _ = fs::remove_file(self.root.join(JOURNAL_FILE));
        }
        Ok(())
    }

    /// Refuses to replace a file that someone changed after it was read.
    fn unchanged_since_read(&self, change: &Change) -> Result<(), Diagnostic> {
        let now = fs::read(self.root.join(&change.path)).ok();
        if now == change.before {
            return Ok(());
        }
        let message = if change.before.is_none() {
            "the file appeared while affrel was preparing it"
        } else {
            "the file changed while affrel was preparing the change"
        };
        Err(Diagnostic::error(&change.path, message)
            .with_help("nothing was written; run the command again"))
    }

    /// Writes a change's bytes to `temp`, with the permissions of the file it replaces, and
    /// flushes them to disk.
    fn stage(&self, change: &Change, temp: &Path) -> io::Result<()> {
        let temp = self.root.join(temp);
        let mut file = fs::File::create(&temp)?;
        file.write_all(&change.bytes())?;
        if change.before.is_some()
            && let Ok(metadata) = fs::metadata(self.root.join(&change.path))
        {
            file.set_permissions(metadata.permissions())?;
        }
        file.sync_all()
    }

    fn write_journal(&self, renames: &[(PathBuf, PathBuf)]) -> io::Result<()> {
        let lines = renames
            .iter()
            .map(|(temp, target)| Ok([path_text(temp)?, path_text(target)?]))
            .collect::<io::Result<Vec<[String; 2]>>>()?;
        let json = serde_json::to_vec(&lines).map_err(io::Error::other)?;
        let temp = self.root.join(temp_path(Path::new(JOURNAL_FILE)));
        let mut file = fs::File::create(&temp)?;
        file.write_all(&json)?;
        file.sync_all()?;
        fs::rename(temp, self.root.join(JOURNAL_FILE))
    }

    /// Completes the renames listed in a journal left by a run that was killed.
    fn finish_interrupted(&self) -> Result<(), Diagnostic> {
        let journal = self.root.join(JOURNAL_FILE);
        let Ok(json) = fs::read(&journal) else {
            return Ok(());
        };
        let renames: Vec<[String; 2]> = serde_json::from_slice(&json).map_err(|err| {
            Diagnostic::error(
                JOURNAL_FILE,
                format!("cannot read the journal of an interrupted change: {err}"),
            )
            .with_help("check the records it names, then delete the journal file")
        })?;
        let mut finished = 0;
        for [temp, target] in &renames {
            let temp = self.root.join(temp);
            if temp.exists() {
                fs::rename(&temp, self.root.join(target))
                    .map_err(|err| write_error(Path::new(target), &err))?;
                finished += 1;
            }
        }
        let _ = fs::remove_file(&journal);
        if finished > 0 {
            tell(format_args!(
                "finished an interrupted change to {finished} records"
            ));
        }
        Ok(())
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

fn write_error(path: &Path, err: &io::Error) -> Diagnostic {
    Diagnostic::error(path, format!("cannot write the file: {err}"))
        .with_help("check the folder's permissions and free space; no record was changed")
}

/// The hidden file a change is written to before it replaces `path`.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.affrel-tmp"))
}

/// Moves `temp` to `target`, refusing to replace a file that exists there.
fn create_new(temp: &Path, target: &Path) -> io::Result<()> {
    let linked = fs::hard_link(temp, target);
    let _ = fs::remove_file(temp);
    linked
}

fn path_text(path: &Path) -> io::Result<String> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| io::Error::other(format!("the path {} is not UTF-8", path.display())))
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
