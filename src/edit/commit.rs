//! Checked changes → files on disk, all or none, and on disk before anyone is told.
//!
//! Each new text is written beside its file and flushed. A change to several files then
//! writes a journal of what every file held, and flushes it with its folder. The texts are
//! renamed into place, a new file with a rename that never replaces, and each changed folder
//! is flushed; removing the journal is the moment the change is made. A failure on the way
//! puts back what the files held, from memory; a process killed on the way leaves the
//! journal, and the next run puts back the same before it does anything else (the
//! rollback journal of `SQLite`, one file at a time).

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Change;
use crate::diagnostic::Diagnostic;

/// The journal of a change to several files, beside `content/`; it exists only while such
/// a change is being made, or after a run was killed making one.
pub const JOURNAL_FILE: &str = ".content.affrel-journal";

/// How to take one file of a change back to what it held before.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "undo", rename_all = "snake_case")]
enum Undo {
    /// The file held `text`: put it back.
    Restore { path: PathBuf, text: String },
    /// The change created the file with `text`: remove it if it still holds that.
    Remove { path: PathBuf, text: String },
}

impl Undo {
    fn of(change: &Change) -> io::Result<Self> {
        let path = change.path.clone();
        Ok(match &change.before {
            Some(before) => Self::Restore {
                path,
                text: String::from_utf8(before.clone()).map_err(io::Error::other)?,
            },
            None => Self::Remove {
                path,
                text: String::from_utf8(change.bytes()).map_err(io::Error::other)?,
            },
        })
    }

    fn path(&self) -> &Path {
        match self {
            Self::Restore { path, .. } | Self::Remove { path, .. } => path,
        }
    }

    /// Whether the file holds what it held before the change.
    fn is_undone(&self, root: &Path) -> bool {
        match self {
            Self::Restore { path, text } => holds(root, path, text),
            Self::Remove { path, text } => !root.join(path).exists() || !holds(root, path, text),
        }
    }

    /// Takes the file back to what it held before, unless it already is; `true` when
    /// something had to be put back.
    fn apply(&self, root: &Path) -> io::Result<bool> {
        remove_if_present(&root.join(temp_path(self.path())))?;
        if self.is_undone(root) {
            return Ok(false);
        }
        match self {
            Self::Restore { path, text } => {
                let temp = write_temp(root, path, text.as_bytes())?;
                fs::rename(root.join(temp), root.join(path))?;
            }
            Self::Remove { path, .. } => fs::remove_file(root.join(path))?,
        }
        Ok(true)
    }
}

/// Why a change was not made, or not wholly.
#[derive(Debug)]
pub enum Failure {
    /// Every file holds what it held before, and nothing of the attempt is left.
    Clean(Diagnostic),
    /// Some files hold their new text and could not be put back.
    Unfinished(Unfinished),
}

/// A change that stopped part-way and could not be taken back: which files hold what.
#[derive(Debug)]
pub struct Unfinished {
    /// What stopped the change, then what stopped putting it back.
    pub problems: Vec<Diagnostic>,
    /// The files that hold their new text.
    pub changed: Vec<PathBuf>,
    /// The files that hold what they held before.
    pub unchanged: Vec<PathBuf>,
    /// Whether a journal is left for the next run to finish putting them back.
    pub journal_left: bool,
}

impl Unfinished {
    /// What a change that could not be taken back left, file by file.
    fn left(root: &Path, undo: &[Undo], problems: Vec<Diagnostic>) -> Self {
        let (unchanged, changed): (Vec<&Undo>, Vec<&Undo>) =
            undo.iter().partition(|u| u.is_undone(root));
        let paths = |undo: Vec<&Undo>| undo.iter().map(|u| u.path().to_path_buf()).collect();
        Self {
            problems,
            changed: paths(changed),
            unchanged: paths(unchanged),
            journal_left: root.join(JOURNAL_FILE).exists(),
        }
    }
}

/// Writes every change, all or none. Refuses when a file changed since it was read.
pub fn commit(root: &Path, changes: &[Change]) -> Result<(), Failure> {
    for change in changes {
        unchanged_since_read(root, change).map_err(Failure::Clean)?;
    }
    let mut undo = Vec::with_capacity(changes.len());
    for change in changes {
        undo.push(Undo::of(change).map_err(|err| Failure::Clean(write_error(&change.path, &err)))?);
    }
    for change in changes {
        if let Err(err) = write_temp(root, &change.path, &change.bytes()) {
            remove_temps(root, changes);
            return Err(Failure::Clean(write_error(&change.path, &err)));
        }
    }
    let journal = changes.len() > 1;
    if journal && let Err(err) = write_journal(root, &undo) {
        remove_temps(root, changes);
        let _ = remove_if_present(&root.join(temp_path(Path::new(JOURNAL_FILE))));
        return Err(Failure::Clean(write_error(Path::new(JOURNAL_FILE), &err)));
    }
    let Err((path, err)) = place_all(root, changes, journal) else {
        return Ok(());
    };
    remove_temps(root, changes);
    let problem = write_error(&path, &err);
    match roll_back(root, &undo) {
        Ok(()) => {
            // Every file holds its old text again, so a journal that stays is harmless:
            // the next run finds nothing to put back.
            let _ = remove_journal(root);
            Err(Failure::Clean(problem))
        }
        Err(undo_problem) => Err(Failure::Unfinished(Unfinished::left(
            root,
            &undo,
            vec![problem, undo_problem],
        ))),
    }
}

/// Renames every staged text into place, flushes the folders, and removes the journal: the
/// moment the change is made. The file that stopped it, on failure.
fn place_all(root: &Path, changes: &[Change], journal: bool) -> Result<(), (PathBuf, io::Error)> {
    for change in changes {
        let (temp, target) = (root.join(temp_path(&change.path)), root.join(&change.path));
        let placed = if change.before.is_some() {
            fs::rename(temp, target)
        } else {
            rename_no_replace(&temp, &target)
        };
        placed.map_err(|err| (change.path.clone(), err))?;
    }
    let folders: BTreeSet<&Path> = changes.iter().filter_map(|c| c.path.parent()).collect();
    for folder in folders {
        sync_folder(&root.join(folder)).map_err(|err| (folder.to_path_buf(), err))?;
    }
    if journal {
        remove_journal(root).map_err(|err| (PathBuf::from(JOURNAL_FILE), err))?;
    }
    Ok(())
}

/// Finishes taking back a change to several files that a killed run left half-made: puts
/// back what each file held and removes the journal. `Ok(None)` when there is no journal,
/// else the files that had to be put back.
pub fn recover(root: &Path) -> Result<Option<Vec<PathBuf>>, Failure> {
    let journal = root.join(JOURNAL_FILE);
    let bytes = match fs::read(&journal) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(Failure::Clean(unreadable_journal(&err.to_string()))),
    };
    let undo: Vec<Undo> = serde_json::from_slice(&bytes)
        .map_err(|err| Failure::Clean(unreadable_journal(&err.to_string())))?;
    let restored: Vec<PathBuf> = undo
        .iter()
        .filter(|u| !u.is_undone(root))
        .map(|u| u.path().to_path_buf())
        .collect();
    let finished = roll_back(root, &undo).and_then(|()| {
        remove_journal(root).map_err(|err| write_error(Path::new(JOURNAL_FILE), &err))
    });
    match finished {
        Ok(()) => Ok(Some(restored)),
        Err(problem) => Err(Failure::Unfinished(Unfinished::left(
            root,
            &undo,
            vec![problem],
        ))),
    }
}

/// Takes every file back to what it held, trying them all, then flushes their folders.
/// The first problem met, if any.
fn roll_back(root: &Path, undo: &[Undo]) -> Result<(), Diagnostic> {
    let mut first_problem = None;
    for entry in undo {
        if let Err(err) = entry.apply(root) {
            first_problem.get_or_insert_with(|| undo_error(entry.path(), &err));
        }
    }
    let folders: BTreeSet<&Path> = undo.iter().filter_map(|u| u.path().parent()).collect();
    for folder in folders {
        if let Err(err) = sync_folder(&root.join(folder)) {
            first_problem.get_or_insert_with(|| undo_error(folder, &err));
        }
    }
    first_problem.map_or(Ok(()), Err)
}

/// Writes a small file of affrel's own beside `content/` (`path` relative to `root`) so that
/// it is on disk, folder entry included, when this returns.
pub fn write_durably(root: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = write_temp(root, path, bytes)?;
    fs::rename(root.join(temp), root.join(path))?;
    sync_folder(&root.join(path.parent().unwrap_or(Path::new(""))))
}

/// Removes such a file, if present, and flushes its folder.
pub fn remove_durably(root: &Path, path: &Path) -> io::Result<()> {
    remove_if_present(&root.join(path))?;
    sync_folder(&root.join(path.parent().unwrap_or(Path::new(""))))
}

/// Refuses to replace a file that someone changed after it was read.
fn unchanged_since_read(root: &Path, change: &Change) -> Result<(), Diagnostic> {
    let now = fs::read(root.join(&change.path)).ok();
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

/// Writes `bytes` to the hidden file beside `path`, with the permissions of `path` when it
/// exists, and flushes them to disk. Returns the hidden file's path, relative to `root`.
fn write_temp(root: &Path, path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let temp = temp_path(path);
    let mut file = fs::File::create(root.join(&temp))?;
    file.write_all(bytes)?;
    if let Ok(metadata) = fs::metadata(root.join(path)) {
        file.set_permissions(metadata.permissions())?;
    }
    file.sync_all()?;
    Ok(temp)
}

/// Writes the journal beside `content/`, flushed, folder included, before any file is
/// replaced.
fn write_journal(root: &Path, undo: &[Undo]) -> io::Result<()> {
    let json = serde_json::to_vec(undo).map_err(io::Error::other)?;
    let temp = write_temp(root, Path::new(JOURNAL_FILE), &json)?;
    fs::rename(root.join(temp), root.join(JOURNAL_FILE))?;
    sync_folder(root)
}

fn remove_journal(root: &Path) -> io::Result<()> {
    remove_if_present(&root.join(JOURNAL_FILE))?;
    sync_folder(root)
}

fn remove_temps(root: &Path, changes: &[Change]) {
    for change in changes {
        let _ = remove_if_present(&root.join(temp_path(&change.path)));
    }
}

/// Flushes a folder's entries (the names a rename or removal changed) to disk.
fn sync_folder(folder: &Path) -> io::Result<()> {
    let folder = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    fs::File::open(folder)?.sync_all()
}

/// Moves `temp` to `target`, failing if a file exists there, in one step: no moment when
/// both names hold the file.
#[cfg(target_os = "linux")]
fn rename_no_replace(temp: &Path, target: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, temp, CWD, target, RenameFlags::NOREPLACE).map_err(io::Error::from)
}

/// Without a no-replace rename: a link, which fails if the target exists, then the removal
/// of the hidden name.
#[cfg(not(target_os = "linux"))]
fn rename_no_replace(temp: &Path, target: &Path) -> io::Result<()> {
    fs::hard_link(temp, target)?;
    fs::remove_file(temp)
}

fn holds(root: &Path, path: &Path, text: &str) -> bool {
    fs::read(root.join(path)).is_ok_and(|bytes| bytes == text.as_bytes())
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// The hidden file a change is written to before it replaces `path`.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.affrel-tmp"))
}

fn write_error(path: &Path, err: &io::Error) -> Diagnostic {
    Diagnostic::error(path, format!("cannot write the file: {err}"))
        .with_help("check the file's and its folder's permissions and free space")
}

fn undo_error(path: &Path, err: &io::Error) -> Diagnostic {
    Diagnostic::error(path, format!("cannot put back what the file held: {err}"))
        .with_help("check the file's and its folder's permissions and free space")
}

fn unreadable_journal(why: &str) -> Diagnostic {
    Diagnostic::error(
        JOURNAL_FILE,
        format!("cannot read the journal of an interrupted change to the records: {why}"),
    )
    .with_help("it lists what each record held before a change that was stopped part-way; nothing can change records until it is readable. If it is damaged, compare the records it names with their last commit in git, then move the journal out of the project folder")
}
