//! Your own mailbox: the validated `mail` settings and a password → connections to your IMAP
//! and SMTP servers, always over verified TLS (or on this machine only, in the clear), and
//! what `drafts`, `send` and `sync` do with them. The password comes from `password_command` or
//! `AFFREL_MAIL_PASSWORD` and is never printed, logged or put in a message.

pub mod drafts;
pub mod imap;
pub mod password;
mod sasl;
pub mod smtp;
pub mod sync;
mod tls;
mod wire;

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::diagnostic::Diagnostic;
use crate::model::{ImapSettings, MailSettings, Server, SmtpSettings};

/// How long a connection, and then each exchange with the server (a command and the whole
/// of its answer), may take, unless `AFFREL_MAIL_TIMEOUT` (whole seconds) says otherwise: a
/// server that goes silent or trickles cannot hang a command.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The deadline of every connection and exchange.
pub fn timeout() -> Duration {
    std::env::var("AFFREL_MAIL_TIMEOUT")
        .ok()
        .and_then(|value| value.trim().parse::<u64>().ok())
        .filter(|&seconds| seconds > 0)
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs)
}

/// The config file, where every mail setting is.
const CONFIG: &str = "content/config.yaml";

/// The error that a server did not finish an exchange in time (`step`: what it was doing),
/// naming it.
fn silent_server(what: &str, label: &str, step: &str) -> Diagnostic {
    Diagnostic::error(
        CONFIG,
        format!(
            "the {what} server {label} did not answer within {} seconds ({step})",
            timeout().as_secs()
        ),
    )
    .with_help(format!("check `mail.{}.host`, `port` and `security` in {CONFIG}; on a slow connection, set AFFREL_MAIL_TIMEOUT to more seconds", what.to_lowercase()))
}

/// `host:port`, as messages name a server.
pub fn label(server: &Server) -> String {
    if server.host.contains(':') {
        format!("[{}]:{}", server.host, server.port)
    } else {
        format!("{}:{}", server.host, server.port)
    }
}

/// Opens a TCP connection to the server, trying each of its addresses, with a timeout on the
/// connection and a deadline and byte budget on every exchange after it.
fn connect_tcp(server: &Server, what: &str) -> Result<wire::Bounded, Diagnostic> {
    let failed = |err: &io::Error| {
        Diagnostic::error(
            CONFIG,
            format!(
                "cannot connect to the {what} server {}: {err}",
                label(server)
            ),
        )
        .with_help(format!(
            "check `mail.{}.host` and `port` in {CONFIG}, and that this machine is online",
            what.to_lowercase()
        ))
    };
    let addresses = (server.host.as_str(), server.port)
        .to_socket_addrs()
        .map_err(|err| failed(&err))?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name has no address");
    for address in addresses {
        match TcpStream::connect_timeout(&address, timeout()) {
            Ok(stream) => return Ok(wire::Bounded::new(stream, timeout())),
            Err(err) => last = err,
        }
    }
    Err(failed(&last))
}

/// The `mail` block, or an error that says what to add.
pub fn settings(mail: Option<&MailSettings>) -> Result<&MailSettings, Diagnostic> {
    mail.ok_or_else(|| {
        Diagnostic::error(
            CONFIG,
            "there is no `mail` block: affrel does not know your mailbox",
        )
        .with_help(MAIL_HELP)
    })
}

/// The `mail.imap` block, or an error that says what to add.
pub fn imap_settings(mail: &MailSettings) -> Result<&ImapSettings, Diagnostic> {
    mail.imap.as_ref().ok_or_else(|| {
        Diagnostic::error(CONFIG, "there is no `mail.imap` block: affrel does not know where your drafts and sent folders are")
            .with_help(MAIL_HELP)
    })
}

/// The `mail.smtp` block, or an error that says what to add.
pub fn smtp_settings(mail: &MailSettings) -> Result<&SmtpSettings, Diagnostic> {
    mail.smtp.as_ref().ok_or_else(|| {
        Diagnostic::error(
            CONFIG,
            "there is no `mail.smtp` block: affrel does not know how to send",
        )
        .with_help(MAIL_HELP)
    })
}

/// Where to find out what to write in the `mail` block.
const MAIL_HELP: &str = "add a `mail:` block to content/config.yaml with your provider's `imap:` and `smtp:` servers; README's \"Your mailbox\" lists the values of common providers, and `affrel init` in an empty folder writes a commented example";
