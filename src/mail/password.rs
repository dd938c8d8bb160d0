//! The mailbox password, from `password_command` (run as it is, without a shell; the first
//! line it prints) or the `AFFREL_MAIL_PASSWORD` variable. It is held in a type that never
//! prints it.

use std::fmt;
use std::process::{Command, Stdio};

use crate::diagnostic::Diagnostic;
use crate::model::MailSettings;

use super::CONFIG;

/// The variable that holds the password when there is no `password_command`.
pub const PASSWORD_VARIABLE: &str = "AFFREL_MAIL_PASSWORD";

/// A password: shown nowhere, not even in debug output.
pub struct Password(String);

impl Password {
    /// The password itself, for the one call that logs in.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(hidden)")
    }
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

/// Runs the command, its prompts (if any) on this terminal, and takes the first line of its
/// output. Nothing it printed is ever repeated in a message.
fn run(command: &[String]) -> Result<Password, Diagnostic> {
    let Some((program, arguments)) = command.split_first() else {
        return Err(command_error("is empty"));
    };
    let output = Command::new(program)
        .args(arguments)
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|err| command_error(&format!("`{program}` could not be started: {err}")))?;
    if !output.status.success() {
        return Err(command_error(&format!(
            "`{program}` failed ({})",
            output.status
        )));
    }
    let text = String::from_utf8(output.stdout).map_err(|_| {
        command_error(&format!(
            "`{program}` printed something that is not UTF-8 text"
        ))
    })?;
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        return Err(command_error(&format!("`{program}` printed no password")));
    }
    Ok(Password(line.to_owned()))
}

fn command_error(why: &str) -> Diagnostic {
    Diagnostic::error(CONFIG, format!("`mail.password_command` {why}"))
        .with_help("run the command yourself to see what is wrong; it must print the password on its first line")
}
