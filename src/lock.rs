//! A path → an exclusive advisory lock held while one affrel process writes, so that two
//! runs never write the same output folder or the same project's records at once.
//!
//! The lock file exists only while a process holds it: the holder removes it before letting
//! go. A process killed with the lock held leaves the file behind, unlocked (the OS releases
//! the lock with the process), and the next run takes it over. Taking the lock re-checks
//! that the file locked is still the one at the path, so a waiter never ends up holding a
//! file that the previous holder has just removed.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long to wait for another run before giving up, unless `AFFREL_LOCK_TIMEOUT` (whole
/// seconds) says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// How often a waiting process tries the lock again.
const RETRY_EVERY: Duration = Duration::from_millis(50);

/// An exclusive lock, released (and its file removed) when dropped.
#[derive(Debug)]
pub struct Lock {
    file: File,
    path: PathBuf,
}

/// Why a lock could not be taken.
#[derive(Debug)]
pub enum LockError {
    /// Another process held it for longer than the timeout.
    TimedOut(Duration),
    /// The lock file could not be created or locked.
    Io(io::Error),
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::TimedOut(waited) => write!(
                f,
                "another affrel run held the lock for more than {} seconds",
                waited.as_secs()
            ),
            LockError::Io(err) => write!(f, "cannot take the lock: {err}"),
        }
    }
}

impl Lock {
    /// Takes the lock at `path`, waiting for another process that holds it. `on_wait` is
    /// called once, before the first wait, so the caller can say what it is waiting for.
    pub fn acquire(path: &Path, on_wait: impl FnOnce()) -> Result<Self, LockError> {
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
                        return Ok(Self {
                            file,
                            path: path.to_path_buf(),
                        });
                    }
                    // The holder removed the file between our open and our lock: retry on
                    // the file now at the path.
                    continue;
                }
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(err)) => return Err(LockError::Io(err)),
            }
            if let Some(tell) = on_wait.take() {
                tell();
            }
            if started.elapsed() >= timeout {
                return Err(LockError::TimedOut(timeout));
            }
            std::thread::sleep(RETRY_EVERY);
        }
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
    use super::Lock;

    // The lock file lives only while held, and a second taker gets it after the first lets go.
    #[test]
    fn lock_is_exclusive_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".lock");
        let first = Lock::acquire(&path, || {}).unwrap();
        assert!(path.exists());
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut waited = false;
                let lock = Lock::acquire(&path, || waited = true).unwrap();
                drop(lock);
                waited
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(200));
        drop(first);
        assert!(
            waiter.join().unwrap(),
            "the second taker should have waited"
        );
        assert!(!path.exists());
    }
}
