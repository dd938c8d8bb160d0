//! The mailbox password (or OAuth 2 access token), from `password_command` (a string through
//! `sh -c`, a list run directly; the first line it prints) or the `AFFREL_MAIL_PASSWORD` variable. It is held in a type that never
//! prints it, and every text from a server reaches the terminal through [`Redactor::clean`],
//! which removes it in each form it crossed the wire in.

use std::fmt;
use std::io::{self, IsTerminal as _, Read as _};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use crate::console::tell;
use crate::diagnostic::{Diagnostic, escape_controls};
use crate::model::{MailSettings, PasswordCommand};

use super::{CONFIG, timeout};

/// The variable that holds the password when there is no `password_command`.
pub const PASSWORD_VARIABLE: &str = "AFFREL_MAIL_PASSWORD";

/// The most a `password_command` may print that affrel reads.
const MAX_OUTPUT: u64 = 64 * 1024;

/// A password: shown nowhere, not even in debug output.
pub struct Password(String);

impl Password {
    /// The password itself, for the one call that logs in.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// What removes the password from server text.
    pub fn redactor(&self) -> Redactor {
        Redactor::new(&self.0)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(hidden)")
    }
}

/// Makes server text fit to print: the secret removed in every form it was sent in (as it
/// is, quoted as IMAP quotes it, and inside any base64, as AUTH PLAIN, LOGIN and XOAUTH2
/// carry it), then control characters escaped.
#[derive(Clone)]
pub struct Redactor {
    /// The texts to remove, longest first.
    forms: Vec<String>,
}

/// What stands where the secret was.
const HIDDEN: &str = "[hidden]";

impl Redactor {
    fn new(secret: &str) -> Self {
        let mut forms = vec![secret.to_owned()];
        let quoted = secret.replace('\\', "\\\\").replace('"', "\\\"");
        if quoted != secret {
            forms.push(quoted);
        }
        forms.push(STANDARD.encode(secret));
        forms.extend(base64_cores(secret.as_bytes()));
        forms.retain(|form| !form.is_empty());
        forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
        forms.dedup();
        Self { forms }
    }

    /// `text` with the secret removed and control characters escaped.
    pub fn clean(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for form in &self.forms {
            if text.contains(form.as_str()) {
                text = text.replace(form.as_str(), HIDDEN);
            }
        }
        escape_controls(text.trim_end_matches(['\r', '\n']))
    }
}

/// The part of base64 that spells `secret` wherever it sits in a longer encoded text: for
/// each of the three byte alignments, the characters that depend on the secret's bytes
/// alone. Too short a part would match by chance, so those are left out.
fn base64_cores(secret: &[u8]) -> Vec<String> {
    (0..3usize)
        .filter_map(|offset| {
            let mut bytes = vec![0u8; offset];
            bytes.extend_from_slice(secret);
            let encoded = STANDARD_NO_PAD.encode(&bytes);
            let skip = [0, 2, 3][offset];
            let whole = bytes.len() * 8 / 6;
            let core = encoded.get(skip..whole)?;
            (core.len() >= 4).then(|| core.to_owned())
        })
        .collect()
}

/// Gets the password: runs `password_command` when there is one, else reads the variable.
pub fn password(settings: &MailSettings) -> Result<Password, Diagnostic> {
    match &settings.password_command {
        Some(command) => run(command),
        None => match std::env::var(PASSWORD_VARIABLE) {
            Ok(value) if !value.is_empty() => Ok(Password(value)),
            _ => Err(Diagnostic::error(CONFIG, "no mailbox password: there is no `mail.password_command` and AFFREL_MAIL_PASSWORD is not set")
                .with_help("add `password_command:` under `mail:` with a command that prints your password (e.g. `pass show mail/sam`), or set AFFREL_MAIL_PASSWORD for this command")),
        },
    }
}

/// Runs the command and takes the first line of its output. On a terminal it may prompt
/// (gpg, pass) and is given the time that takes; without one it must finish within the mail
/// deadline, and what it says on stderr is kept for the message if it fails. Nothing it
/// printed on stdout is ever repeated in a message.
fn run(command: &PasswordCommand) -> Result<Password, Diagnostic> {
    let (mut process, shown) = match command {
        PasswordCommand::Shell(line) => {
            let mut process = Command::new("sh");
            process.arg("-c").arg(line);
            (process, line.clone())
        }
        PasswordCommand::Program(words) => {
            let Some((program, arguments)) = words.split_first() else {
                return Err(command_error("is empty", None));
            };
            let mut process = Command::new(program);
            process.args(arguments);
            (process, words.join(" "))
        }
    };
    let interactive = io::stdin().is_terminal();
    process.stdin(Stdio::inherit()).stdout(Stdio::piped());
    if interactive {
        process.stderr(Stdio::inherit());
        tell(format_args!(
            "waiting for `mail.password_command` (`{shown}`): it may be asking for a passphrase"
        ));
    } else {
        // Its own process group, so that a deadline ends whatever it started.
        process.stderr(Stdio::piped()).process_group(0);
    }
    let child = process
        .spawn()
        .map_err(|err| command_error(&format!("`{shown}` could not be started: {err}"), None))?;
    let deadline = (!interactive).then(|| Instant::now() + timeout());
    let finished = finish(child, deadline).ok_or_else(|| {
        command_error(
            &format!(
                "`{shown}` did not finish within {} seconds",
                timeout().as_secs()
            ),
            None,
        )
        .with_help("without a terminal it cannot ask for a passphrase: make it print the password without asking (an unlocked keychain or agent), or set AFFREL_MAIL_PASSWORD; AFFREL_MAIL_TIMEOUT sets the seconds")
    })?;
    if !finished.status.success() {
        return Err(command_error(
            &format!("`{shown}` failed ({})", finished.status),
            Some(&finished.stderr),
        ));
    }
    let text = String::from_utf8(finished.stdout).map_err(|_| {
        command_error(
            &format!("`{shown}` printed something that is not UTF-8 text"),
            None,
        )
    })?;
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        return Err(command_error(
            &format!("`{shown}` printed no password"),
            Some(&finished.stderr),
        ));
    }
    Ok(Password(line.to_owned()))
}

/// What a finished command left.
struct Finished {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Reads a child's stream to its end (at most [`MAX_OUTPUT`]) on a thread of its own.
fn collect(stream: Option<impl io::Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(stream) = stream {
            let _ = stream.take(MAX_OUTPUT).read_to_end(&mut bytes);
        }
        let _ = sender.send(bytes);
    });
    receiver
}

/// Waits for the command's output and exit, until `deadline` when there is one; past it,
/// ends its process group and returns `None`.
fn finish(mut child: Child, deadline: Option<Instant>) -> Option<Finished> {
    let stdout = collect(child.stdout.take());
    let stderr = collect(child.stderr.take());
    let receive = |receiver: &mpsc::Receiver<Vec<u8>>| match deadline {
        Some(deadline) => receiver
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .ok(),
        None => receiver.recv().ok(),
    };
    let output = receive(&stdout).zip(receive(&stderr));
    let status = match (output.is_some(), deadline) {
        (true, None) => child.wait().ok(),
        (true, Some(deadline)) => wait_until(&mut child, deadline),
        (false, _) => None,
    };
    if let (Some(status), Some((stdout, stderr))) = (status, output) {
        Some(Finished {
            status,
            stdout,
            stderr,
        })
    } else {
        end(&mut child);
        None
    }
}

/// The child's exit status, if it exits before `deadline`.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Ends the child and everything in its process group.
fn end(child: &mut Child) {
    if let Some(group) = rustix::process::Pid::from_raw(child.id().cast_signed()) {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The error for a `password_command` that did not give a password; `stderr`, when kept,
/// gives the help its first line, escaped.
fn command_error(why: &str, stderr: Option<&[u8]>) -> Diagnostic {
    let said = stderr.map(String::from_utf8_lossy).and_then(|text| {
        text.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(escape_controls)
    });
    let help = match said {
        Some(line) => format!("it said: {line}. It must print the password (or token) on its first line"),
        None => "it must print the password (or token) on its first line; a string runs through `sh -c` (quotes, `~` and pipes work), a list runs the program directly".to_owned(),
    };
    Diagnostic::error(CONFIG, format!("`mail.password_command` {why}")).with_help(help)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::Redactor;
    use crate::diagnostic::escape_controls;

    // The secret is removed as it is, quoted, and inside any base64 that carries it, as
    // SASL PLAIN, LOGIN and XOAUTH2 do, at whatever offset it sits.
    #[test]
    fn the_secret_is_removed_in_every_form() {
        let secret = "pw-Zq7-never\"printed";
        let redactor = Redactor::new(secret);
        let sent = [
            secret.to_owned(),
            format!("\"{}\"", secret.replace('"', "\\\"")),
            STANDARD.encode(secret),
            STANDARD.encode(format!("\0sam@example.com\0{secret}")),
            STANDARD.encode(format!("sam\0sam\0{secret}")),
            STANDARD.encode(format!("user=sam\x01auth=Bearer {secret}\x01\x01")),
        ];
        for form in sent {
            let cleaned = redactor.clean(&format!("535 no: {form} (try again)"));
            assert!(!cleaned.contains("never"), "{cleaned}");
            assert!(
                !cleaned.contains(&STANDARD.encode(secret)[..8]),
                "{cleaned}"
            );
            assert!(cleaned.contains("[hidden]"), "{cleaned}");
        }
    }

    // Control characters from outside are shown escaped, never sent to the terminal.
    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_controls("a\u{1b}]0;x\u{7}b"), "a\\u{1b}]0;x\\u{7}b");
        assert_eq!(Redactor::new("secret").clean("fine\r\n"), "fine");
    }
}
