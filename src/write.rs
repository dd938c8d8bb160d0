//! A rendered site in memory → the output folder, swapped in whole so that a failed build
//! never leaves a half-written or emptied folder. The only code that touches `--out`.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::diagnostic::Diagnostic;
use crate::render::Site;

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
            "refusing to replace this folder: it holds files but no report.json, so it is not an earlier affrel output",
        )
        .with_help("every build replaces the whole --out folder; pass a new or empty folder"));
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

/// Writes every file of `site` into a fresh folder beside `out`, then swaps it in.
pub fn write_site(site: &Site, out: &Path) -> Result<(), Diagnostic> {
    // Resolved so that the folder beside it and its name are real ones, whatever `.` or
    // `..` the user wrote.
    swap_in(site, &resolve(out)).map_err(|err| {
        Diagnostic::error(out, format!("cannot write the output: {err}")).with_help(
            "check the folder's permissions and free space; the previous output is unchanged",
        )
    })
}

fn swap_in(site: &Site, out: &Path) -> io::Result<()> {
    let parent = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent)?;
    let name = out
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    let staging = parent.join(format!(".{name}.affrel-new"));
    let retired = parent.join(format!(".{name}.affrel-old"));
    remove_if_present(&staging)?;
    remove_if_present(&retired)?;

    if let Err(err) = write_files(site, &staging) {
        let _ = fs::remove_dir_all(&staging);
        return Err(err);
    }
    if out.exists() {
        fs::rename(out, &retired)?;
        if let Err(err) = fs::rename(&staging, out) {
            fs::rename(&retired, out)?;
            let _ = fs::remove_dir_all(&staging);
            return Err(err);
        }
        // The new output is in place; a leftover old copy is removed by the next build.
        let _ = fs::remove_dir_all(&retired);
    } else {
        fs::rename(&staging, out)?;
    }
    Ok(())
}

fn write_files(site: &Site, dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    for (relative, bytes) in &site.files {
        let path = dir.join(relative);
        if let Some(folder) = path.parent() {
            fs::create_dir_all(folder)?;
        }
        fs::write(path, bytes)?;
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}
