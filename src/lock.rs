//! A path → an exclusive advisory lock held while one affrel process writes, so that two
//! runs never write the same output folder or the same project's records at once.
//!
//! The lock file exists only while a process holds it: the holder writes its process id and
//! command into it, so that a waiter can say whom it waits for, and removes it before letting
//! go. A process killed with the lock held leaves the file behind, unlocked (the OS releases
//! the lock with the process), and the next run takes it over. Taking the lock re-checks
//! that the file locked is still the one at the path, so a waiter never ends up holding a
//! file that the previous holder has just removed.

use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long to wait for another run before giving up, unless `AFFREL_LOCK_TIMEOUT` (whole
/// seconds) says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// How often a waiting process tries the lock again.
const RETRY_EVERY: Duration = Duration::from_millis(50);

/// How long a waiter gives the holder to write who it is before saying it waits.
const HOLDER_GRACE: Duration = Duration::from_millis(500);

/// An exclusive lock, released (and its file removed) when dropped.
#[derive(Debug)]
pub struct Lock {
    file: File,
    path: PathBuf,
}

/// The process holding a lock, as it wrote itself into the lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    /// The command it runs, such as `affrel done`.
    pub command: String,
}

impl Holder {
    /// This process.
    fn current() -> Self {
        let subcommand = std::env::args_os()
            .nth(1)
            .map(|arg| arg.to_string_lossy().into_owned())
            .filter(|arg| arg.chars().all(|c| c.is_ascii_lowercase()))
            .unwrap_or_default();
        Self {
            pid: std::process::id(),
            command: format!("affrel {subcommand}").trim_end().to_owned(),
        }
    }

    /// The holder written in the lock file at `path`, if it is there and readable.
    fn read(path: &Path) -> Option<Self> {
        let text = fs::read_to_string(path).ok()?;
        let mut pid = None;
        let mut command = None;
        for line in text.lines() {
            match line.split_once('=') {
                Some(("pid", value)) => pid = value.parse().ok(),
                Some(("command", value)) => command = Some(value.to_owned()),
                _ => {}
            }
        }
        Some(Self {
            pid: pid?,
            command: command?,
        })
    }

    fn text(&self) -> String {
        format!("pid={}\ncommand={}\n", self.pid, self.command)
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (pid {})", self.command, self.pid)
    }
}

/// Who holds a lock, in words: the holder when it is known.
pub fn describe(holder: Option<&Holder>) -> String {
    holder.map_or_else(|| "another affrel run".to_owned(), Holder::to_string)
}

/// Why a lock could not be taken.
#[derive(Debug)]
pub enum LockError {
    /// Another process held it for longer than the timeout.
    TimedOut {
        waited: Duration,
        holder: Option<Holder>,
    },
    /// The lock file could not be created or locked.
    Io(io::Error),
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::TimedOut { waited, holder } => write!(
                f,
                "{} has held the lock for more than {} seconds",
                describe(holder.as_ref()),
                waited.as_secs()
            ),
            LockError::Io(err) => write!(f, "cannot take the lock: {err}"),
        }
    }
}

impl LockError {
    /// What to do about it: never to delete the lock file, which a live process holds.
    pub fn help(&self) -> String {
        match self {
            LockError::TimedOut {
                holder: Some(holder),
                ..
            } => format!(
                "wait for it to finish and run the command again; if it is stuck, end it (`kill {}`): its lock goes with it. Set AFFREL_LOCK_TIMEOUT (seconds) to wait longer",
                holder.pid
            ),
            LockError::TimedOut { holder: None, .. } => "wait for the other affrel run to finish and run the command again; if one is stuck, end it: its lock goes with it. Set AFFREL_LOCK_TIMEOUT (seconds) to wait longer".to_owned(),
            LockError::Io(_) => "check the folder's permissions and free space".to_owned(),
        }
    }
}

impl Lock {
    /// Takes the lock at `path`, waiting for another process that holds it, and writes this
    /// process into it. `on_wait` is called once, before the wait, with the holder when it is
    /// known, so the caller can say whom it is waiting for.
    pub fn acquire(path: &Path, on_wait: impl FnOnce(Option<&Holder>)) -> Result<Self, LockError> {
        let timeout = timeout_from_env();
        let started = Instant::now();
        let mut on_wait = Some(on_wait);
        loop {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(path)
                .map_err(LockError::Io)?;
            match file.try_lock() {
                Ok(()) => {
                    if still_at(&file, path) {
                        return Self::hold(file, path).map_err(LockError::Io);
                    }
                    // The holder removed the file between our open and our lock: retry on
                    // the file now at the path.
                    continue;
                }
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(err)) => return Err(LockError::Io(err)),
            }
            let holder = Holder::read(path);
            if (holder.is_some() || started.elapsed() >= HOLDER_GRACE)
                && let Some(tell) = on_wait.take()
            {
                tell(holder.as_ref());
            }
            if started.elapsed() >= timeout {
                return Err(LockError::TimedOut {
                    waited: timeout,
                    holder,
                });
            }
            std::thread::sleep(RETRY_EVERY);
        }
    }

    /// Writes this process into the locked file.
    fn hold(mut file: File, path: &Path) -> io::Result<Self> {
        file.set_len(0)?;
        file.write_all(Holder::current().text().as_bytes())?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Removed while still locked, so no other process can take over a file about to go.
        let _ = fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

fn timeout_from_env() -> Duration {
    std::env::var("AFFREL_LOCK_TIMEOUT")
        .ok()
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs)
}

/// Whether `file` is still the file at `path` (not removed or replaced since it was opened).
#[cfg(unix)]
fn still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(held), Ok(current)) => held.dev() == current.dev() && held.ino() == current.ino(),
        _ => false,
    }
}

/// Without inode numbers, trust that the file is still there.
#[cfg(not(unix))]
fn still_at(_file: &File, path: &Path) -> bool {
    path.exists()
}

#[cfg(test)]
mod tests {
    use super::{Holder, Lock};

    // The lock file lives only while held, and a second taker gets it after the first lets go.
    #[test]
    fn lock_is_exclusive_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".lock");
        let first = Lock::acquire(&path, |_| {}).unwrap();
        assert!(path.exists());
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut waited = false;
                let lock = Lock::acquire(&path, |_| waited = true).unwrap();
                drop(lock);
                waited
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert_eq!(
            Holder::read(&path),
            Some(Holder {
                pid: std::process::id(),
                command: Holder::current().command,
            })
        );
        drop(first);
        assert!(
            waiter.join().unwrap(),
            "the second taker should have waited"
        );
        assert!(!path.exists());
    }
}
