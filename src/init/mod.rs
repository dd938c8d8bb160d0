//! A folder → a ready affrel project: config, two sample referrals, the five email
//! templates, `.gitignore` and a weekly publishing workflow. Never overwrites a file.

use std::fmt::Write as _;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::path::{Path, PathBuf};

use chrono::{Days, NaiveDate};

/// What `init` did.
#[derive(Debug, Default)]
pub struct Scaffolded {
    pub written: Vec<PathBuf>,
    /// Files that already existed and were left alone.
    pub skipped: Vec<PathBuf>,
}

/// Writes the starter files into `dir`, dating the samples relative to `today`.
pub fn scaffold(dir: &Path, today: NaiveDate) -> io::Result<Scaffolded> {
    let mut done = Scaffolded::default();
    for (relative, text) in files(today) {
        let path = dir.join(relative);
        if path.exists() {
            done.skipped.push(relative.into());
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, text)?;
        done.written.push(relative.into());
    }
    Ok(done)
}

fn files(today: NaiveDate) -> Vec<(&'static str, String)> {
    let days_before = |days| today.checked_sub_days(Days::new(days)).unwrap_or(today);
    let salt = random_salt();
    let fill = |text: &str| {
        text.replace("{{TODAY}}", &today.to_string())
            .replace("{{REFERRED}}", &days_before(20).to_string())
            .replace("{{WELCOMED}}", &days_before(19).to_string())
            .replace("{{SALT}}", &salt)
    };
    vec![
        ("content/config.yaml", fill(include_str!("config.yaml"))),
        (
            "content/referrals/alex-example.yaml",
            fill(include_str!("sample-new.yaml")),
        ),
        (
            "content/referrals/robin-sample.yaml",
            fill(include_str!("sample-welcomed.yaml")),
        ),
        (
            "content/emails/welcome.md",
            include_str!("../../content/emails/welcome.md").to_owned(),
        ),
        (
            "content/emails/nudge.md",
            include_str!("../../content/emails/nudge.md").to_owned(),
        ),
        (
            "content/emails/follow_up.md",
            include_str!("../../content/emails/follow_up.md").to_owned(),
        ),
        (
            "content/emails/offer_help.md",
            include_str!("../../content/emails/offer_help.md").to_owned(),
        ),
        (
            "content/emails/congratulate.md",
            include_str!("../../content/emails/congratulate.md").to_owned(),
        ),
        (".gitignore", include_str!("gitignore").to_owned()),
        (
            ".github/workflows/weekly-report.yml",
            include_str!("weekly-report.yml").to_owned(),
        ),
    ]
}

/// 256 random bits as hex, from the standard library's randomly seeded hasher.
fn random_salt() -> String {
    (0..4u64).fold(String::with_capacity(64), |mut salt, round| {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(round);
        let _ = write!(salt, "{:016x}", hasher.finish());
        salt
    })
}
