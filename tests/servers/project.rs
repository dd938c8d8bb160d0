//! The demo project, set up to use the test servers, and what the mailbox tests read back
//! from it.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mail_parser::MessageParser;

use super::{Dovecot, PASSWORD, TestCa, USER};
use crate::common::{affrel, assert_exit, demo, text};

/// How many emails the demo has due in the week of 2026-11-24.
pub const DUE: usize = 10;

/// How the test project reaches the servers.
pub struct Setup {
    pub imap_port: u16,
    pub imap_security: &'static str,
    pub smtp_port: u16,
    pub smtp_security: &'static str,
    pub trust_ca: bool,
    pub save_sent: bool,
    pub password_command: Option<String>,
    /// `mail.imap.drafts` and `sent`, when not the defaults.
    pub drafts_folder: Option<&'static str>,
    pub sent_folder: Option<&'static str>,
    /// `mail.imap.inbox`, as YAML.
    pub inbox_folders: &'static str,
    /// `mail.auth`, when not the default.
    pub auth: Option<&'static str>,
}

impl Setup {
    pub fn new(dovecot: &Dovecot, smtp_port: u16) -> Self {
        Self {
            imap_port: dovecot.tls_port,
            imap_security: "tls",
            smtp_port,
            smtp_security: "starttls",
            trust_ca: true,
            save_sent: false,
            password_command: None,
            drafts_folder: None,
            sent_folder: None,
            inbox_folders: "[INBOX, Replies]",
            auth: None,
        }
    }
}

/// The demo project with a `mail` block for the servers, and the test CA as `ca_file`.
pub fn project(ca: &TestCa, setup: &Setup) -> tempfile::TempDir {
    let dir = demo();
    let root = dir.path();
    fs::create_dir_all(root.join("certs")).unwrap();
    fs::write(root.join("certs/test-ca.pem"), &ca.ca).unwrap();
    let mut folders = String::new();
    for (key, folder) in [("drafts", setup.drafts_folder), ("sent", setup.sent_folder)] {
        if let Some(folder) = folder {
            let _ = writeln!(folders, "    {key}: {folder}");
        }
    }
    let mut mail = format!(
        "mail:\n  imap:\n    host: 127.0.0.1\n    port: {}\n    security: {}\n    user: {USER}\n{folders}    inbox: {}\n  smtp:\n    host: localhost\n    port: {}\n    security: {}\n    user: {USER}\n    save_sent: {}\n",
        setup.imap_port,
        setup.imap_security,
        setup.inbox_folders,
        setup.smtp_port,
        setup.smtp_security,
        setup.save_sent
    );
    if setup.trust_ca {
        mail.push_str("  ca_file: certs/test-ca.pem\n");
    }
    if let Some(auth) = setup.auth {
        let _ = writeln!(mail, "  auth: {auth}");
    }
    if let Some(command) = &setup.password_command {
        let _ = writeln!(mail, "  password_command: {command}");
    }
    let config = root.join("content/config.yaml");
    let mut text = fs::read_to_string(&config).unwrap();
    text.push_str(&mail);
    fs::write(config, text).unwrap();
    dir
}

/// Runs affrel on the project with the mailbox password in the environment.
pub fn run(root: &Path, args: &[&str]) -> Output {
    run_with_password(root, args, PASSWORD)
}

pub fn run_with_password(root: &Path, args: &[&str], password: &str) -> Output {
    command(root, args, password).output().unwrap()
}

/// affrel on the project, with this mailbox password, ready to run.
pub fn command(root: &Path, args: &[&str], password: &str) -> Command {
    let mut all = args.to_vec();
    all.extend(["--root", root.to_str().unwrap()]);
    let mut command = affrel(&all);
    command
        .env("AFFREL_MAIL_PASSWORD", password)
        .env("AFFREL_MAIL_TIMEOUT", "10");
    command
}

/// Every record of the project, for "nothing changed".
pub fn records(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(root.join("content"))
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().display().to_string(), fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    files
}

/// The path of a referral's record, in whichever folder of `content/referrals` it is.
pub fn record_path(root: &Path, id: &str) -> PathBuf {
    walkdir::WalkDir::new(root.join("content/referrals"))
        .into_iter()
        .map(Result::unwrap)
        .find(|e| e.path().file_stem().is_some_and(|s| s == id))
        .unwrap_or_else(|| panic!("a record of {id}"))
        .into_path()
}

/// A referral's record, parsed.
pub fn record(root: &Path, id: &str) -> serde_yaml::Value {
    serde_yaml::from_slice(&fs::read(record_path(root, id)).unwrap()).unwrap()
}

/// The events of a referral's record.
pub fn events(root: &Path, id: &str) -> Vec<serde_yaml::Value> {
    record(root, id)["events"]
        .as_sequence()
        .cloned()
        .unwrap_or_default()
}

/// The `message_id`s recorded in the project's events, by referral id.
pub fn recorded_ids(root: &Path) -> Vec<(String, String)> {
    let mut ids = Vec::new();
    for entry in walkdir::WalkDir::new(root.join("content/referrals")) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let value: serde_yaml::Value =
            serde_yaml::from_slice(&fs::read(entry.path()).unwrap()).unwrap();
        let id = entry
            .path()
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for event in value["events"].as_sequence().into_iter().flatten() {
            if let Some(message_id) = event["message_id"].as_str() {
                ids.push((id.clone(), message_id.to_owned()));
            }
        }
    }
    ids.sort();
    ids
}

/// The Message-ID of a message, `<…>`.
pub fn message_id(bytes: &[u8]) -> String {
    let message = MessageParser::default().parse(bytes).expect("a message");
    format!("<{}>", message.message_id().expect("a Message-ID"))
}

/// The parts of a message a reader sees.
pub fn seen(bytes: &[u8]) -> (String, String, String, String, String, String) {
    let message = MessageParser::default().parse(bytes).expect("a message");
    let address = |a: Option<&mail_parser::Address<'_>>| {
        a.and_then(|a| a.first())
            .map(|a| format!("{} <{}>", a.name().unwrap_or(""), a.address().unwrap_or("")))
            .unwrap_or_default()
    };
    (
        address(message.from()),
        address(message.to()),
        message.subject().unwrap_or_default().to_owned(),
        message.message_id().unwrap_or_default().to_owned(),
        message.body_text(0).unwrap_or_default().into_owned(),
        message.body_html(0).unwrap_or_default().into_owned(),
    )
}

/// The `.eml` files `build` writes for the project, by Message-ID.
pub fn built_emails(root: &Path) -> Vec<(String, Vec<u8>)> {
    assert_exit(&run(root, &["build"]), 0);
    let mut emails: Vec<(String, Vec<u8>)> = fs::read_dir(root.join("output/emails"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| {
            let bytes = fs::read(&p).unwrap();
            (message_id(&bytes), bytes)
        })
        .collect();
    emails.sort();
    emails
}

/// The output of a run, both streams.
pub fn both(output: &Output) -> String {
    format!("{}{}", text(&output.stdout), text(&output.stderr))
}

/// Runs affrel on the project as [`run`] does, and measures its peak resident memory (KiB)
/// as the kernel counts it for a waited-for child (python's `getrusage`).
pub fn run_measured(root: &Path, args: &[&str]) -> (Output, u64) {
    const MEASURE: &str = "import resource, subprocess, sys\n\
        done = subprocess.run(sys.argv[2:])\n\
        open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n\
        sys.exit(done.returncode)\n";
    let peak_file = tempfile::NamedTempFile::new().unwrap();
    let mut all = args.to_vec();
    all.extend(["--root", root.to_str().unwrap()]);
    let output = Command::new("python3")
        .args(["-c", MEASURE])
        .arg(peak_file.path())
        .arg(env!("CARGO_BIN_EXE_affrel"))
        .args(&all)
        .env("SOURCE_DATE_EPOCH", crate::common::TODAY)
        .env("AFFREL_MAIL_PASSWORD", PASSWORD)
        .env("AFFREL_MAIL_TIMEOUT", "10")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let peak = fs::read_to_string(peak_file.path())
        .unwrap()
        .trim()
        .parse()
        .expect("the peak in KiB");
    (output, peak)
}
