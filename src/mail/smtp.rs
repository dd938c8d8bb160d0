//! Sending over SMTP (RFC 5321): TLS from the first byte or STARTTLS, verified against the
//! system's roots and `mail.ca_file`, logged in with AUTH PLAIN or LOGIN, every exchange
//! bounded by the deadline and size of [`Bounded`].
//!
//! The client is affrel's own, small and strict, because the one question that matters is
//! answered only here: once the final `.` of a message is written, the server has it, and
//! only a definite refusal means it was not sent (RFC 5321 §6.1). A dropped connection or a
//! silent server at that point is an unknown outcome, never "not sent".

use std::io::{self, Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::diagnostic::Diagnostic;
use crate::model::{MailSettings, Security, SmtpSettings};

use super::password::{Password, Redactor};
use super::sasl::{self, TOKEN_REFUSED_HELP, TokenLogin};
use super::tls::{self, TlsStream};
use super::wire::{self, Bounded, Exceeded};
use super::{CONFIG, connect_tcp, label, silent_server};

/// The longest reply line accepted (RFC 5321 allows 512 bytes; servers stretch it).
const MAX_LINE: usize = 8192;
/// The most lines one reply may have.
const MAX_LINES: usize = 100;

/// A logged-in connection to send over.
pub struct Outbox {
    wire: Wire,
    label: String,
    redactor: Redactor,
}

/// Why an email was not sent, or may have been.
pub enum SendError {
    /// The server did not take it: nothing was sent.
    NotSent(Diagnostic),
    /// The whole email was handed over and the server never said whether it took it: it
    /// may well have been sent.
    Unconfirmed(Diagnostic),
}

impl Outbox {
    /// Connects, protects the connection as the config says, and logs in, so that a wrong
    /// password or an untrusted certificate is reported before anything is sent.
    pub fn connect(
        smtp: &SmtpSettings,
        mail: &MailSettings,
        password: &Password,
    ) -> Result<Self, Diagnostic> {
        let server = &smtp.server;
        let label = label(server);
        let redactor = password.redactor();
        let tcp = connect_tcp(server, "SMTP")?;
        let hello = match tcp.local_addr() {
            Ok(address) if address.is_ipv6() => format!("EHLO [IPv6:{}]", address.ip()),
            Ok(address) => format!("EHLO [{}]", address.ip()),
            Err(_) => "EHLO localhost".to_owned(),
        };
        let transport = match server.security {
            Security::Tls => Transport::Tls(Box::new(
                tls::handshake(tls::client_config(mail), &server.host, tcp)
                    .map_err(|err| tls_error(&label, &err))?,
            )),
            Security::StartTls | Security::None => Transport::Plain(tcp),
        };
        let mut outbox = Self {
            wire: Wire::new(transport),
            label,
            redactor,
        };
        outbox.expect("greeting", None, 220)?;
        let mut capabilities = outbox.expect("EHLO", Some(&hello), 250)?.lines;
        if server.security == Security::StartTls {
            outbox.start_tls(mail, &server.host, &capabilities)?;
            capabilities = outbox.expect("EHLO", Some(&hello), 250)?.lines;
        }
        match sasl::token_login(mail.auth, server, password.reveal()) {
            Some(token) => outbox.log_in_with_token(&token)?,
            None => outbox.log_in(&server.user, password, &capabilities)?,
        }
        Ok(outbox)
    }

    /// Upgrades the connection with STARTTLS.
    fn start_tls(
        &mut self,
        mail: &MailSettings,
        host: &str,
        capabilities: &[String],
    ) -> Result<(), Diagnostic> {
        if !capabilities
            .iter()
            .any(|line| line.eq_ignore_ascii_case("STARTTLS"))
        {
            return Err(Diagnostic::error(CONFIG, format!("the SMTP server {} does not offer STARTTLS", self.label))
                .with_help("check `mail.smtp.security` and `port`: port 465 wants `security: tls`, 587 `starttls`"));
        }
        self.expect("STARTTLS", Some("STARTTLS"), 220)?;
        if !self.wire.buffer.is_empty() {
            // Bytes sent before TLS and read as if after it: a known injection attack.
            return Err(self.protocol_error("STARTTLS", "it sent more than its answer"));
        }
        self.wire.transport = match std::mem::replace(&mut self.wire.transport, Transport::Gone) {
            Transport::Plain(tcp) => Transport::Tls(Box::new(
                tls::handshake(tls::client_config(mail), host, tcp)
                    .map_err(|err| tls_error(&self.label, &err))?,
            )),
            other => other,
        };
        Ok(())
    }

    /// Logs in with AUTH PLAIN, or LOGIN when the server offers only that.
    fn log_in(
        &mut self,
        user: &str,
        password: &Password,
        capabilities: &[String],
    ) -> Result<(), Diagnostic> {
        let offered: Vec<String> = capabilities
            .iter()
            .filter_map(|line| {
                let upper = line.to_ascii_uppercase();
                let rest = upper
                    .strip_prefix("AUTH ")
                    .or_else(|| upper.strip_prefix("AUTH="))?
                    .to_owned();
                Some(rest)
            })
            .flat_map(|rest| {
                rest.split_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        let reply = if offered.iter().any(|m| m == "PLAIN") {
            let response = STANDARD.encode(format!("\0{user}\0{}", password.reveal()));
            self.exchange("login", &format!("AUTH PLAIN {response}"))?
        } else if offered.iter().any(|m| m == "LOGIN") {
            let first = self.exchange("login", "AUTH LOGIN")?;
            if first.code != 334 {
                return Err(self.login_refused(&first));
            }
            let second = self.exchange("login", &STANDARD.encode(user))?;
            if second.code != 334 {
                return Err(self.login_refused(&second));
            }
            self.exchange("login", &STANDARD.encode(password.reveal()))?
        } else {
            return Err(Diagnostic::error(CONFIG, format!("the SMTP server {} offers no way to log in that affrel knows (AUTH PLAIN or LOGIN)", self.label))
                .with_help("check `mail.smtp.host`, `port` and `security`: many servers offer AUTH only after TLS"));
        };
        if reply.code == 235 {
            Ok(())
        } else {
            Err(self.login_refused(&reply))
        }
    }

    /// Logs in with an OAuth 2 token (XOAUTH2 or OAUTHBEARER); to an error challenge
    /// (`334`) it answers as the mechanism says, and the server's refusal follows.
    fn log_in_with_token(&mut self, token: &TokenLogin) -> Result<(), Diagnostic> {
        let line = format!(
            "AUTH {} {}",
            token.mechanism,
            STANDARD.encode(&token.initial)
        );
        let mut reply = self.exchange("login", &line)?;
        if reply.code == 334 {
            reply = self.exchange("login", &STANDARD.encode(token.after_error))?;
        }
        if reply.code == 235 {
            return Ok(());
        }
        Err(Diagnostic::error(
            CONFIG,
            format!(
                "the SMTP server {} refused the token: {}",
                self.label,
                self.said(&reply)
            ),
        )
        .with_help(TOKEN_REFUSED_HELP))
    }

    /// Sends one message from `from` to `to`.
    pub fn send(&mut self, from: &str, to: &str, bytes: &[u8]) -> Result<(), SendError> {
        for address in [from, to] {
            if address
                .chars()
                .any(|c| c.is_control() || c == '<' || c == '>')
            {
                return Err(SendError::NotSent(Diagnostic::error(
                    CONFIG,
                    format!("`{address}` is not an address to send with"),
                )));
            }
        }
        let not_sent = SendError::NotSent;
        self.step("MAIL FROM", &format!("MAIL FROM:<{from}>"), &[250])
            .map_err(|failed| not_sent(self.refused_email(to, failed)))?;
        self.step("RCPT TO", &format!("RCPT TO:<{to}>"), &[250, 251])
            .map_err(|failed| not_sent(self.refused_email(to, failed)))?;
        self.step("DATA", "DATA", &[354])
            .map_err(|failed| not_sent(self.refused_email(to, failed)))?;
        self.wire
            .write(&dot_stuffed(bytes))
            .map_err(|err| not_sent(self.io_error("sending the email", &err)))?;
        // From here on the server may have the whole message.
        let answer = self
            .wire
            .write(b".\r\n")
            .map_err(Failure::from)
            .and_then(|()| self.wire.read_reply());
        match answer {
            Ok(reply) if reply.code / 100 == 2 => Ok(()),
            Ok(reply) if matches!(reply.code / 100, 4 | 5) => {
                Err(not_sent(self.refused_email(to, Step::Refused(reply))))
            }
            Ok(reply) => Err(SendError::Unconfirmed(self.protocol_error(
                "after the email",
                &format!(
                    "an answer that is neither yes nor no: {}",
                    self.said(&reply)
                ),
            ))),
            Err(failure) => Err(SendError::Unconfirmed(
                self.failure("after the email", failure),
            )),
        }
    }

    /// Says goodbye; a server that has gone by then is no error.
    pub fn quit(mut self) {
        let _ = self.wire.command("QUIT");
    }

    /// Sends `line` and reads the answer, which must have one of `codes`.
    fn step(&mut self, step: &str, line: &str, codes: &[u16]) -> Result<Reply, Step> {
        match self.wire.command(line) {
            Ok(reply) if codes.contains(&reply.code) => Ok(reply),
            Ok(reply) => Err(Step::Refused(reply)),
            Err(failure) => Err(Step::Failed(self.failure(step, failure))),
        }
    }

    /// A step that must succeed for the connection to be usable; `line` is `None` for the
    /// greeting, which is read without sending anything.
    fn expect(&mut self, step: &str, line: Option<&str>, code: u16) -> Result<Reply, Diagnostic> {
        let reply = match line {
            Some(line) => self.wire.command(line),
            None => self.wire.read_reply(),
        };
        match reply {
            Ok(reply) if reply.code == code => Ok(reply),
            Ok(reply) => Err(self.diagnose(step, Step::Refused(reply))),
            Err(failure) => Err(self.failure(step, failure)),
        }
    }

    /// Sends a line of the login and reads the answer, whatever its code.
    fn exchange(&mut self, step: &str, line: &str) -> Result<Reply, Diagnostic> {
        self.wire
            .command(line)
            .map_err(|failure| self.failure(step, failure))
    }

    /// The error for an email the server would not take: for now (`4xx`: often a
    /// provider's hourly or daily limit; nothing more is sent, and the server's words say
    /// when to try again, if it said) or for good (`5xx`: usually the address).
    fn refused_email(&self, to: &str, failed: Step) -> Diagnostic {
        let reply = match failed {
            Step::Failed(problem) => return problem,
            Step::Refused(reply) => reply,
        };
        let said = self.said(&reply);
        if reply.code / 100 == 4 {
            Diagnostic::error(
                CONFIG,
                format!("the SMTP server {} refused the email to {to} for now: {said}", self.label),
            )
            .with_help("a temporary refusal, often a provider's limit on emails an hour or a day: nothing more was sent. Run `affrel send --yes` again later (when the server's words above say, if they do); `--rate` or `mail.smtp.rate` spaces the emails out")
        } else {
            Diagnostic::error(
                CONFIG,
                format!(
                    "the SMTP server {} refused the email to {to}: {said}",
                    self.label
                ),
            )
            .with_help("check the referral's address; the emails after it were not sent")
        }
    }

    /// The error for a step that did not go as it should.
    fn diagnose(&self, step: &str, failed: Step) -> Diagnostic {
        match failed {
            Step::Failed(problem) => problem,
            Step::Refused(reply) => Diagnostic::error(
                CONFIG,
                format!(
                    "the SMTP server {} refused {step}: {}",
                    self.label,
                    self.said(&reply)
                ),
            )
            .with_help("check `mail.smtp` in content/config.yaml and the server's status; nothing was sent"),
        }
    }

    fn login_refused(&self, reply: &Reply) -> Diagnostic {
        Diagnostic::error(CONFIG, format!("the SMTP server {} refused the login: {}", self.label, self.said(reply)))
            .with_help("check `mail.smtp.user`, and the password that `password_command` prints (or AFFREL_MAIL_PASSWORD); many providers want an app password here")
    }

    /// The error for a reply that never came whole.
    fn failure(&self, step: &str, failure: Failure) -> Diagnostic {
        match failure {
            Failure::Io(err) => self.io_error(step, &err),
            Failure::Garbled(line) => self.protocol_error(
                step,
                &format!("unreadable reply `{}`", self.redactor.clean(&line)),
            ),
        }
    }

    fn io_error(&self, step: &str, err: &io::Error) -> Diagnostic {
        match wire::exceeded(err) {
            Some(Exceeded::Deadline) => silent_server("SMTP", &self.label, step),
            Some(Exceeded::Size) => self.protocol_error(step, &Exceeded::Size.to_string()),
            None => Diagnostic::error(
                CONFIG,
                format!(
                    "the connection to the SMTP server {} was lost ({step}): {err}",
                    self.label
                ),
            )
            .with_help("run `affrel send --yes` again later; if it keeps failing, check `mail.smtp.host`, `port` and `security` and the server's status"),
        }
    }

    fn protocol_error(&self, step: &str, what: &str) -> Diagnostic {
        Diagnostic::error(
            CONFIG,
            format!("protocol error from the SMTP server {} ({step}): {what}", self.label),
        )
        .with_help("check `mail.smtp.host`, `port` and `security` in content/config.yaml: it may not be an SMTP server, or a proxy in between breaks the exchange")
    }

    /// What the server said, fit to print.
    fn said(&self, reply: &Reply) -> String {
        self.redactor
            .clean(&format!("{} {}", reply.code, reply.lines.join(" ")))
    }
}

/// How a step failed: a reply with another code, or no usable reply at all.
enum Step {
    Refused(Reply),
    Failed(Diagnostic),
}

/// One reply: its code and the text of each of its lines.
struct Reply {
    code: u16,
    lines: Vec<String>,
}

/// Why no reply could be read.
enum Failure {
    /// The connection failed, ran past its deadline or its size.
    Io(io::Error),
    /// Something that is not an SMTP reply.
    Garbled(String),
}

impl From<io::Error> for Failure {
    fn from(err: io::Error) -> Self {
        Self::Io(err)
    }
}

/// The connection, in the clear or over TLS.
enum Transport {
    Plain(Bounded),
    Tls(Box<TlsStream>),
    /// Only while STARTTLS swaps one for the other.
    Gone,
}

impl Transport {
    fn stream(&mut self) -> io::Result<&mut dyn ReadWrite> {
        match self {
            Self::Plain(tcp) => Ok(tcp),
            Self::Tls(tls) => Ok(tls.as_mut()),
            Self::Gone => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the connection is closed",
            )),
        }
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// Lines in and out, with what was read past the last line kept for the next.
struct Wire {
    transport: Transport,
    buffer: Vec<u8>,
}

impl Wire {
    fn new(transport: Transport) -> Self {
        Self {
            transport,
            buffer: Vec::new(),
        }
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let stream = self.transport.stream()?;
        stream.write_all(bytes)?;
        stream.flush()
    }

    /// Sends a command line and reads its reply.
    fn command(&mut self, line: &str) -> Result<Reply, Failure> {
        self.write(format!("{line}\r\n").as_bytes())?;
        self.read_reply()
    }

    /// Reads one reply: lines `NNN-text` then a last `NNN text`, all with the same code.
    fn read_reply(&mut self) -> Result<Reply, Failure> {
        let mut lines = Vec::new();
        let mut code = None;
        loop {
            let line = self.read_line()?;
            let garbled = || Failure::Garbled(line.clone());
            let number: u16 = line
                .get(..3)
                .filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|digits| digits.parse().ok())
                .filter(|number| (200..600).contains(number))
                .ok_or_else(garbled)?;
            if code.is_some_and(|code| code != number) {
                return Err(garbled());
            }
            code = Some(number);
            let separator = line.as_bytes().get(3).copied();
            lines.push(line.get(4..).unwrap_or_default().to_owned());
            match separator {
                None | Some(b' ') => {
                    return Ok(Reply {
                        code: number,
                        lines,
                    });
                }
                Some(b'-') if lines.len() < MAX_LINES => {}
                _ => return Err(garbled()),
            }
        }
    }

    /// One line, without its line end; at most [`MAX_LINE`] bytes.
    fn read_line(&mut self) -> Result<String, Failure> {
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                let text = String::from_utf8_lossy(&line);
                return Ok(text.trim_end_matches(['\r', '\n']).to_owned());
            }
            if self.buffer.len() > MAX_LINE {
                return Err(Failure::Io(io::Error::new(
                    io::ErrorKind::InvalidData,
                    Exceeded::Size,
                )));
            }
            let mut chunk = [0u8; 4096];
            let count = self.transport.stream()?.read(&mut chunk)?;
            if count == 0 {
                return Err(Failure::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                )));
            }
            self.buffer.extend_from_slice(&chunk[..count]);
        }
    }
}

/// The message as DATA carries it: every line ending in CRLF, a line that starts with `.`
/// given a second one (RFC 5321 §4.5.2), and a line end at the end, ready for the final `.`.
fn dot_stuffed(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32 + 2);
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    for line in body.split(|&byte| byte == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b".") {
            out.push(b'.');
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn tls_error(label: &str, err: &io::Error) -> Diagnostic {
    if wire::exceeded(err) == Some(Exceeded::Deadline) {
        return silent_server("SMTP", label, "setting up TLS");
    }
    if tls::is_certificate_error(err) {
        Diagnostic::error(CONFIG, format!("the SMTP server {label} has a certificate this machine does not trust: {err}"))
            .with_help("if it is your own server or a local bridge, add its root certificate as `mail.ca_file`; affrel never connects to a server it cannot verify")
    } else {
        Diagnostic::error(CONFIG, format!("cannot set up TLS with the SMTP server {label}: {err}"))
            .with_help("check `mail.smtp.host`, `port` and `security` in content/config.yaml (465 wants `tls`, 587 `starttls`)")
    }
}

#[cfg(test)]
mod tests {
    use super::dot_stuffed;

    // Lines that start with a dot get a second one, and every line ends in CRLF, so that no
    // line of the message can end the DATA early.
    #[test]
    fn data_is_dot_stuffed_with_crlf_line_ends() {
        assert_eq!(dot_stuffed(b"a\r\n.b\r\n..\r\n"), b"a\r\n..b\r\n...\r\n");
        assert_eq!(dot_stuffed(b".\nx\n.\n"), b"..\r\nx\r\n..\r\n");
        assert_eq!(dot_stuffed(b"no end"), b"no end\r\n");
    }
}
