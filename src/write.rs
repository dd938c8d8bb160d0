//! Rendered files → a staging folder beside the output, written as they come, then swapped
//! in whole so that a failed build never leaves a half-written or emptied folder. The only
//! code that touches `--out`.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Read as _, Seek as _, Write as _};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use rayon::prelude::{IntoParallelRefIterator, ParallelIterator};

use crate::console::tell;
use crate::diagnostic::Diagnostic;
use crate::lock::{self, Lock};
use crate::render::{Produce, Sink};

/// The output folder inside the root when `--out` is not given.
pub const DEFAULT_OUT: &str = "output";

/// Refuses an output folder that is, contains or sits inside the root's source folders.
pub fn check_destination(root: &Path, out: &Path, source_dirs: &[&str]) -> Result<(), Diagnostic> {
    let root_abs = resolve(root);
    let out_abs = resolve(out);
    let refuse = |what: &str| {
        Err(
            Diagnostic::error(out, format!("refusing to write the output here: it {what}"))
                .with_help("pass an --out folder of its own, such as <root>/output"),
        )
    };
    if root_abs.starts_with(&out_abs) {
        return refuse("is or contains the project root");
    }
    for dir in source_dirs {
        let source = root_abs.join(dir);
        if source.starts_with(&out_abs) {
            return refuse(&format!("is or contains the {dir}/ folder"));
        }
        if out_abs.starts_with(&source) {
            return refuse(&format!("is inside the {dir}/ folder"));
        }
    }
    if out_abs.exists() && !out_abs.is_dir() {
        return Err(
            Diagnostic::error(out, "the output path exists and is not a folder")
                .with_help("remove the file or pass another --out"),
        );
    }
    if holds_foreign_files(&out_abs) {
        return Err(Diagnostic::error(
            out,
            "refusing to replace this folder: it holds files but no report.json, so it is not a complete earlier affrel output",
        )
        .with_help(format!(
            "every build replaces the whole --out folder. If this is an output left half-written (by an older affrel or by hand), delete it with `rm -r {}` and build again; if it holds files of your own, pass another --out",
            out.display()
        )));
    }
    Ok(())
}

/// Whether `dir` is a non-empty folder that an earlier build did not write.
fn holds_foreign_files(dir: &Path) -> bool {
    let Ok(mut entries) = fs::read_dir(dir) else {
        return false;
    };
    entries.next().is_some() && !dir.join("report.json").is_file()
}

/// An absolute, symlink-free form of `path`, which need not exist yet. Components are
/// resolved from the left: the part that exists is canonicalized after every step, so a
/// `..` always pops a real folder, and the rest is appended as written.
fn resolve(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut resolved = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                resolved.pop();
            }
            other => {
                resolved.push(other);
                if let Ok(canonical) = resolved.canonicalize() {
                    resolved = canonical;
                }
            }
        }
    }
    resolved
}

/// A build's output in the making: a fresh folder beside `--out` that rendered files go into,
/// under the output's lock so that no other affrel run writes it at the same time. Dropped
/// without [`Staging::finish`], it is removed and the output stays as it was.
pub struct Staging {
    place: Place,
    /// The output as the user wrote it, for messages.
    shown: PathBuf,
    dir: PathBuf,
    /// Whether there is a previous output to compare each file with; a first build has none.
    previous: bool,
    /// Files put so far.
    files: AtomicUsize,
    /// The files put whose bytes are the same in the previous output, relative to the output:
    /// linked from there by [`Staging::finish`] when anything else changed.
    unchanged: Mutex<Vec<String>>,
    /// The folders made in the staging folder so far, so that each is made once.
    folders: Mutex<HashSet<PathBuf>>,
    _lock: Lock,
}

impl Staging {
    /// Takes the output's lock, puts back an output a killed run left aside, and makes the
    /// staging folder.
    pub fn begin(out: &Path) -> Result<Self, Diagnostic> {
        // Resolved so that the folder beside it and its name are real ones, whatever `.` or
        // `..` the user wrote.
        let place = Place::of(&resolve(out));
        fs::create_dir_all(&place.parent).map_err(|err| write_failed(out, &err))?;
        let lock = place.lock(out)?;
        place.recover().map_err(|err| write_failed(out, &err))?;
        let dir = place.staging();
        fs::create_dir(&dir).map_err(|err| write_failed(out, &err))?;
        Ok(Self {
            previous: place.out.is_dir(),
            place,
            shown: out.to_path_buf(),
            dir,
            files: AtomicUsize::new(0),
            unchanged: Mutex::default(),
            folders: Mutex::default(),
            _lock: lock,
        })
    }

    /// Swaps the staging folder in as the output, or leaves the output untouched when every
    /// file is the same as before. Returns how many files the site has.
    pub fn finish(self) -> Result<usize, Diagnostic> {
        let files = self.files.load(Ordering::Relaxed);
        let unchanged = std::mem::take(&mut *self.unchanged.lock().map_err(|_| {
            Diagnostic::error(
                &self.shown,
                "cannot write the output: a writer thread failed",
            )
        })?);
        if unchanged.len() == files && file_count(&self.place.out) == Some(files) {
            // Nothing changed: the output stays as it is, every file keeping its inode and
            // modification time, and the empty staging folder goes.
            return Ok(files);
        }
        self.link_unchanged(&unchanged)
            .and_then(|()| self.swap_in())
            .map_err(|err| write_failed(&self.shown, &err))?;
        Ok(files)
    }

    /// Links each unchanged file from the previous output into the staging folder, so that
    /// it keeps its modification time (a file that did not change is not rewritten).
    fn link_unchanged(&self, unchanged: &[String]) -> io::Result<()> {
        unchanged.par_iter().try_for_each(|relative| {
            let (old, path) = (self.place.out.join(relative), self.dir.join(relative));
            if let Some(folder) = path.parent() {
                self.make_folder(folder)?;
            }
            // A link can fail where copying the same bytes does not (a file system without
            // hard links).
            fs::hard_link(&old, &path).or_else(|_| fs::copy(&old, &path).map(drop))
        })
    }

    fn swap_in(&self) -> io::Result<()> {
        let (staging, out) = (&self.dir, &self.place.out);
        if !out.exists() {
            return fs::rename(staging, out);
        }
        if exchange(staging, out).is_ok() {
            // `staging` now holds the previous output, which `drop` removes.
            return Ok(());
        }
        // No atomic exchange here: two renames, and `recover` mends a stop between them.
        let retired = self.place.beside("old");
        fs::rename(out, &retired)?;
        if let Err(err) = fs::rename(staging, out) {
            fs::rename(&retired, out)?;
            return Err(err);
        }
        let _ = fs::remove_dir_all(&retired);
        Ok(())
    }

    /// Writes one file into the staging folder, unless its bytes are the same in the
    /// previous output: then it is only noted, for [`Staging::finish`] to link.
    fn write(&self, relative: &str, bytes: &[u8]) -> io::Result<()> {
        self.files.fetch_add(1, Ordering::Relaxed);
        if self.previous && same_bytes(&self.place.out.join(relative), bytes) {
            self.note_unchanged(relative);
            return Ok(());
        }
        self.create(&self.dir.join(relative))?.write_all(bytes)
    }

    /// Notes a file that is the same as in the previous output, for [`Staging::finish`] to
    /// link. The list stays whole even if another writer panicked holding it.
    fn note_unchanged(&self, relative: &str) {
        (self.unchanged.lock())
            .unwrap_or_else(PoisonError::into_inner)
            .push(relative.to_owned());
    }
}

impl Staging {
    /// Makes `folder` and its parents unless an earlier file made them.
    fn make_folder(&self, folder: &Path) -> io::Result<()> {
        let known = |folders: &HashSet<PathBuf>| folders.contains(folder);
        if self.folders.lock().is_ok_and(|folders| known(&folders)) {
            return Ok(());
        }
        fs::create_dir_all(folder)?;
        if let Ok(mut folders) = self.folders.lock() {
            folders.insert(folder.to_path_buf());
        }
        Ok(())
    }
}

impl Sink for Staging {
    fn put(&self, path: &str, bytes: &[u8]) -> Result<(), Diagnostic> {
        self.write(path, bytes)
            .map_err(|err| write_failed(&self.shown, &err))
    }

    fn put_streamed(&self, paths: &[&str], produce: &mut Produce<'_>) -> Result<(), Diagnostic> {
        let failed = |err: &io::Error| write_failed(&self.shown, err);
        let targets = paths
            .iter()
            .map(|relative| self.target(relative))
            .collect::<io::Result<_>>()
            .map_err(|err| failed(&err))?;
        let mut tee = Tee {
            staging: self,
            targets,
            failure: None,
        };
        let produced = produce(&mut tee);
        // A failure to write is the sink's, whatever the producer made of it.
        if let Some(failure) = &tee.failure {
            return Err(failed(failure));
        }
        produced?;
        for (relative, target) in paths.iter().zip(tee.targets) {
            self.files.fetch_add(1, Ordering::Relaxed);
            if target.finish(self).map_err(|err| failed(&err))? {
                self.note_unchanged(relative);
            }
        }
        Ok(())
    }
}

impl Staging {
    /// Where a streamed file goes: compared with the previous output's copy as it comes when
    /// there is one, else written.
    fn target(&self, relative: &str) -> io::Result<Target> {
        let old = self.place.out.join(relative);
        let path = self.dir.join(relative);
        if self.previous
            && fs::metadata(&old).is_ok_and(|m| m.is_file())
            && let Ok(previous) = fs::File::open(&old)
        {
            return Ok(Target::Same {
                previous,
                matched: 0,
                scratch: Vec::new(),
                path,
            });
        }
        self.create(&path).map(Target::Written)
    }

    /// Creates the file at `path` in the staging folder, and the folders it needs.
    fn create(&self, path: &Path) -> io::Result<fs::File> {
        if let Some(folder) = path.parent() {
            self.make_folder(folder)?;
        }
        fs::File::create(path)
    }
}

/// Hands each piece of a streamed file to every path it goes to, remembering the first
/// failure to write (the producer only sees it as its own error).
struct Tee<'s> {
    staging: &'s Staging,
    targets: Vec<Target>,
    failure: Option<io::Error>,
}

impl io::Write for Tee<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        for target in &mut self.targets {
            if let Err(err) = target.write(self.staging, bytes) {
                self.failure
                    .get_or_insert_with(|| io::Error::new(err.kind(), err.to_string()));
                return Err(err);
            }
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One file of a streamed put.
enum Target {
    /// Every byte so far is the same as in the previous output's copy, read alongside; no
    /// file is written unless a difference turns up.
    Same {
        previous: fs::File,
        matched: u64,
        /// Holds the previous copy's next piece.
        scratch: Vec<u8>,
        /// Where the file goes in the staging folder if it differs.
        path: PathBuf,
    },
    /// Being written into the staging folder.
    Written(fs::File),
}

impl Target {
    fn write(&mut self, staging: &Staging, bytes: &[u8]) -> io::Result<()> {
        if let Target::Same {
            previous,
            matched,
            scratch,
            path,
        } = self
        {
            scratch.resize(bytes.len(), 0);
            if read_full(previous, scratch)? == bytes.len() && scratch[..] == *bytes {
                *matched += bytes.len() as u64;
                return Ok(());
            }
            let file = diverge(staging, path, previous, *matched)?;
            *self = Target::Written(file);
        }
        match self {
            Target::Written(file) => file.write_all(bytes),
            Target::Same { .. } => Ok(()),
        }
    }

    /// Ends the file; `true` when it is the same as the previous output's copy, which then
    /// stands for it.
    fn finish(self, staging: &Staging) -> io::Result<bool> {
        match self {
            Target::Same {
                mut previous,
                matched,
                path,
                ..
            } => {
                if read_full(&mut previous, &mut [0])? == 0 {
                    return Ok(true);
                }
                diverge(staging, &path, &mut previous, matched).map(|_| false)
            }
            Target::Written(_) => Ok(false),
        }
    }
}

/// Starts writing a streamed file that turned out to differ from the previous output's
/// copy: the staging file begins with the `matched` bytes the two share.
fn diverge(
    staging: &Staging,
    path: &Path,
    previous: &mut fs::File,
    matched: u64,
) -> io::Result<fs::File> {
    let mut file = staging.create(path)?;
    previous.seek(io::SeekFrom::Start(0))?;
    io::copy(&mut previous.take(matched), &mut file)?;
    Ok(file)
}

/// Reads into `buffer` until it is full or the file ends; returns how many bytes it holds.
fn read_full(file: &mut fs::File, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

impl Drop for Staging {
    fn drop(&mut self) {
        // Gone already when it became the output; else the abandoned or previous output.
        let _ = remove_if_present(&self.dir);
    }
}

fn write_failed(out: &Path, err: &io::Error) -> Diagnostic {
    Diagnostic::error(out, format!("cannot write the output: {err}")).with_help(
        "check the folder's permissions and free space; the previous output is unchanged",
    )
}

/// The output folder and the names affrel uses beside it.
struct Place {
    out: PathBuf,
    parent: PathBuf,
    /// The output folder's name.
    name: String,
}

impl Place {
    fn of(out: &Path) -> Self {
        let parent = match out.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = out
            .file_name()
            .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
        Self {
            out: out.to_path_buf(),
            parent,
            name,
        }
    }

    /// Takes the output's lock, saying so when another run holds it.
    fn lock(&self, shown: &Path) -> Result<Lock, Diagnostic> {
        Lock::acquire(&self.beside("lock"), |holder| {
            tell(format_args!(
                "waiting for {} to finish writing {}…",
                lock::describe(holder),
                shown.display()
            ));
        })
        .map_err(|err| {
            Diagnostic::error(shown, format!("cannot write the output: {err}"))
                .with_help(err.help())
        })
    }

    /// `.<name>.affrel-<what>` beside the output folder.
    fn beside(&self, what: &str) -> PathBuf {
        self.parent.join(format!(".{}.affrel-{what}", self.name))
    }

    /// A staging folder no other process can be using: named after this process and the
    /// moment, and only ever made while the lock is held.
    fn staging(&self) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        self.beside(&format!("new-{}-{nanos}", std::process::id()))
    }

    /// Puts back the previous output if a run was killed between moving it aside and moving
    /// the new one in, and removes what killed runs left behind.
    fn recover(&self) -> io::Result<()> {
        let retired = self.beside("old");
        if !self.out.exists() && retired.is_dir() {
            fs::rename(&retired, &self.out)?;
        }
        remove_if_present(&retired)?;
        let prefix = format!(".{}.affrel-new", self.name);
        for entry in fs::read_dir(&self.parent)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                remove_if_present(&entry.path())?;
            }
        }
        Ok(())
    }
}

/// Swaps two folders in one step, so that the output folder is never missing.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// How many files a folder holds; `None` when it cannot be read or holds anything but
/// files and folders.
fn file_count(dir: &Path) -> Option<usize> {
    let mut count = 0;
    for entry in walkdir::WalkDir::new(dir).min_depth(1) {
        let entry = entry.ok()?;
        if entry.file_type().is_file() {
            count += 1;
        } else if !entry.file_type().is_dir() {
            return None;
        }
    }
    Some(count)
}

/// Whether the file at `path` holds exactly `bytes` (its size is checked first, and only a
/// regular file is opened: a FIFO left in the output must not stall the build).
fn same_bytes(path: &Path, bytes: &[u8]) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
        && fs::read(path).is_ok_and(|old| old == bytes)
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    /// Streams `text` into each path, a few bytes at a time, as a large file comes.
    fn stream(staging: &Staging, paths: &[&str], text: &str) {
        staging
            .put_streamed(paths, &mut |writer| {
                for piece in text.as_bytes().chunks(3) {
                    writer
                        .write_all(piece)
                        .map_err(|err| Diagnostic::error("test", err.to_string()))?;
                }
                Ok(())
            })
            .unwrap();
    }

    /// A streamed file the same as before keeps its inode; one that starts the same and then
    /// differs, ends early or runs on is written whole.
    #[test]
    fn streamed_files_are_compared_with_the_previous_output_as_they_come() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("output");
        let files = [
            ("report.json", "abcdefghij", "abcdefghij"),
            ("weeks/a/report.json", "abcdefghij", "abcdefghijk"),
            ("weeks/b/report.json", "abcdefghij", "abcdefg"),
            ("weeks/c/report.json", "abcdefghij", "abcdeXghij"),
        ];
        let staging = Staging::begin(&out).unwrap();
        for (path, before, _) in files {
            stream(&staging, &[path], before);
        }
        assert_eq!(staging.finish().unwrap(), files.len());
        let inode = |path: &str| fs::metadata(out.join(path)).unwrap().ino();
        let inodes: Vec<u64> = files.iter().map(|(path, ..)| inode(path)).collect();

        // The first file also goes to a path that had none.
        let staging = Staging::begin(&out).unwrap();
        stream(&staging, &[files[0].0, "weeks/d/report.json"], files[0].2);
        for (path, _, after) in &files[1..] {
            stream(&staging, &[path], after);
        }
        assert_eq!(staging.finish().unwrap(), files.len() + 1);
        for ((path, _, after), before) in files.iter().zip(inodes) {
            assert_eq!(
                fs::read_to_string(out.join(path)).unwrap(),
                *after,
                "{path}"
            );
            assert_eq!(inode(path) == before, *path == "report.json", "{path}");
        }
        let added = fs::read_to_string(out.join("weeks/d/report.json")).unwrap();
        assert_eq!(added, files[0].2);
    }
}
