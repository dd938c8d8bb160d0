//! Sending over SMTP with lettre's transport: TLS from the first byte or STARTTLS, verified
//! against the system's roots and `mail.ca_file`, logged in, with a timeout on every step.

use std::error::Error as _;
use std::io;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, SmtpTransport, Transport as _};

use crate::diagnostic::Diagnostic;
use crate::model::{MailSettings, Security, SmtpSettings};

use super::password::Password;
use super::{CONFIG, is_timeout, label, silent_server, timeout, tls};

/// A logged-in way to send.
pub struct Outbox {
    transport: SmtpTransport,
    label: String,
}

impl Outbox {
    /// Builds the transport and logs in once, so that a wrong password or an untrusted
    /// certificate is reported before anything is sent.
    pub fn connect(
        smtp: &SmtpSettings,
        mail: &MailSettings,
        password: &Password,
    ) -> Result<Self, Diagnostic> {
        let server = &smtp.server;
        let label = label(server);
        let mut parameters = TlsParameters::builder(server.host.clone());
        for der in &mail.extra_roots {
            let root =
                Certificate::from_der(der.clone()).map_err(|err| connection_error(&label, &err))?;
            parameters = parameters.add_root_certificate(root);
        }
        let parameters = parameters
            .build_rustls()
            .map_err(|err| connection_error(&label, &err))?;
        let tls = match server.security {
            Security::Tls => Tls::Wrapper(parameters),
            Security::StartTls => Tls::Required(parameters),
            Security::None => Tls::None,
        };
        let transport = SmtpTransport::builder_dangerous(server.host.clone())
            .port(server.port)
            .tls(tls)
            .credentials(Credentials::new(
                server.user.clone(),
                password.reveal().to_owned(),
            ))
            .timeout(Some(timeout()))
            .build();
        transport
            .test_connection()
            .map_err(|err| connection_error(&label, &err))?;
        Ok(Self { transport, label })
    }

    /// Sends one message from `from` to `to`. An error means the server did not take it.
    pub fn send(&self, from: &str, to: &str, bytes: &[u8]) -> Result<(), Diagnostic> {
        let address = |text: &str| {
            text.parse::<Address>().map_err(|err| {
                Diagnostic::error(
                    CONFIG,
                    format!("`{text}` is not an address to send with: {err}"),
                )
            })
        };
        let envelope = Envelope::new(Some(address(from)?), vec![address(to)?])
            .map_err(|err| Diagnostic::error(CONFIG, format!("cannot address the email: {err}")))?;
        self.transport
            .send_raw(&envelope, bytes)
            .map(drop)
            .map_err(|err| send_error(&self.label, to, &err))
    }
}

/// What went wrong before sending: TLS, the login, or the connection.
fn connection_error(label: &str, err: &lettre::transport::smtp::Error) -> Diagnostic {
    if timed_out(err) {
        return silent_server("SMTP", label);
    }
    if certificate_refused(err) {
        return Diagnostic::error(CONFIG, format!("the SMTP server {label} has a certificate this machine does not trust: {}", describe(err)))
            .with_help("if it is your own server or a local bridge, add its root certificate as `mail.ca_file`; affrel never connects to a server it cannot verify");
    }
    if err.is_permanent() {
        return Diagnostic::error(CONFIG, format!("the SMTP server {label} refused the login: {}", describe(err)))
            .with_help("check `mail.smtp.user`, and the password that `password_command` prints (or AFFREL_MAIL_PASSWORD); many providers want an app password here");
    }
    Diagnostic::error(CONFIG, format!("cannot connect to the SMTP server {label}: {}", describe(err)))
        .with_help("check `mail.smtp.host`, `port` and `security` in content/config.yaml (465 wants `tls`, 587 `starttls`), and that this machine is online")
}

fn send_error(label: &str, to: &str, err: &lettre::transport::smtp::Error) -> Diagnostic {
    if timed_out(err) {
        return silent_server("SMTP", label)
            .with_help(format!("the email to {to} may not have been sent; run `affrel send --yes` again later to send the rest"));
    }
    if err.is_permanent() {
        Diagnostic::error(
            CONFIG,
            format!(
                "the SMTP server {label} refused the email to {to}: {}",
                describe(err)
            ),
        )
        .with_help("check the referral's address; the emails after it were not sent")
    } else {
        Diagnostic::error(CONFIG, format!("the email to {to} was not sent: {}", describe(err)))
            .with_help("the connection to the server failed; run `affrel send --yes` again later to send the rest")
    }
}

/// The error with its causes, in one line.
fn describe(err: &lettre::transport::smtp::Error) -> String {
    let mut text = err.to_string();
    for cause in causes(err) {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
    }
    text
}

/// Whether the server went silent, somewhere in the error's causes.
fn timed_out(err: &lettre::transport::smtp::Error) -> bool {
    causes(err).any(|cause| cause.downcast_ref::<io::Error>().is_some_and(is_timeout))
}

/// Whether TLS refused the server's certificate, somewhere in the error's causes.
fn certificate_refused(err: &lettre::transport::smtp::Error) -> bool {
    causes(err).any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(tls::is_certificate_error)
            || matches!(
                cause.downcast_ref::<rustls::Error>(),
                Some(rustls::Error::InvalidCertificate(_))
            )
    })
}

/// The error's causes, nearest first.
fn causes<'e>(
    err: &'e lettre::transport::smtp::Error,
) -> impl Iterator<Item = &'e (dyn std::error::Error + 'static)> {
    std::iter::successors(err.source(), |&cause| cause.source())
}
