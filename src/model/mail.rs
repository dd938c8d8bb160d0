//! The config's `mail` block as loaded → validated [`MailSettings`], every problem located:
//! hosts, ports, how each connection is protected, folders, the certificate file, and a
//! password that has no place in a file.

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;

use crate::load::{
    CaFile, Field, IMAP_KEYS, Key, MAIL_KEYS, RawImap, RawMail, RawSmtp, SMTP_KEYS, UnknownKeys,
    Words,
};

use super::check::FileCheck;
use super::{Auth, ImapSettings, MailSettings, PasswordCommand, Security, Server, SmtpSettings};

/// Why a password is never a key, and where it comes from instead.
const PASSWORD_HELP: &str = "remove it: affrel never keeps your password in a file. Add `password_command:` under `mail:` with a command that prints it (e.g. `pass show mail/sam`, or your system keychain's tool), or set the AFFREL_MAIL_PASSWORD variable when you run `drafts`, `send` or `sync`";

/// What each server block is, for messages and defaults.
#[derive(Clone, Copy)]
enum Protocol {
    Imap,
    Smtp,
}

impl Protocol {
    fn key(self) -> &'static str {
        match self {
            Protocol::Imap => "imap",
            Protocol::Smtp => "smtp",
        }
    }

    /// The usual port for each kind of protection.
    fn default_port(self, security: Security) -> u16 {
        match (self, security) {
            (Protocol::Imap, Security::Tls) => 993,
            (Protocol::Imap, Security::StartTls | Security::None) => 143,
            (Protocol::Smtp, Security::Tls) => 465,
            (Protocol::Smtp, Security::StartTls) => 587,
            (Protocol::Smtp, Security::None) => 25,
        }
    }
}

/// Validates the `mail` block. `sender_email` is the default login name.
pub(super) fn validate_mail(
    check: &mut FileCheck<'_>,
    raw: &RawMail,
    sender_email: Option<&str>,
    ca_file: Option<&CaFile>,
) -> MailSettings {
    let block = [Key::Field("mail")];
    let at = |key| [Key::Field("mail"), Key::Field(key)];
    unknown_keys_and_password(check, &block, &raw.unknown, MAIL_KEYS);
    let imap = check.optional(
        &at("imap"),
        raw.imap.as_ref(),
        "a block with `host:` and `user:`",
    );
    let imap = imap.and_then(|imap| validate_imap(check, imap, sender_email));
    let smtp = check.optional(
        &at("smtp"),
        raw.smtp.as_ref(),
        "a block with `host:` and `user:`",
    );
    let smtp = smtp.and_then(|smtp| validate_smtp(check, smtp, sender_email));
    let auth = match check
        .optional(
            &at("auth"),
            raw.auth.as_ref(),
            "`password`, `xoauth2` or `oauthbearer`",
        )
        .map(String::as_str)
    {
        None | Some("password") => Auth::Password,
        Some("xoauth2") => Auth::Xoauth2,
        Some("oauthbearer") => Auth::OAuthBearer,
        Some(other) => {
            check.error(
                &at("auth"),
                format!("unknown auth `{}`; expected one of `password`, `xoauth2`, `oauthbearer`", other.escape_debug()),
                "write `password` (the default), or `xoauth2` for Gmail and Microsoft 365 with a token helper as `password_command`",
            );
            Auth::Password
        }
    };
    let password_command = check
        .optional(
            &at("password_command"),
            raw.password_command.as_ref(),
            "a command that prints your password, e.g. `pass show mail/sam`",
        )
        .and_then(|command| validate_command(check, &at("password_command"), command));
    if auth != Auth::Password && password_command.is_none() && raw.password_command.is_none() {
        check.error(
            &at("auth"),
            "OAuth 2 needs a `password_command` that prints an access token",
            "add `password_command:` with your token helper, e.g. `oama access sam@gmail.com` or `mutt_oauth2.py ~/.sam.tokens`; README's \"Your mailbox\" has recipes",
        );
    }
    check.optional(
        &at("ca_file"),
        raw.ca_file.as_ref(),
        "the path of a PEM certificate file, relative to the project folder",
    );
    let extra_roots =
        ca_file.map_or_else(Vec::new, |file| certificates(check, &at("ca_file"), file));
    if let (Some(smtp), None) = (&smtp, &imap)
        && smtp.save_sent
    {
        check.error(
            &[
                Key::Field("mail"),
                Key::Field("smtp"),
                Key::Field("save_sent"),
            ],
            "`save_sent` needs an `imap` block: the copy goes to its sent folder",
            "add `imap:` under `mail:`, or set `save_sent: false`",
        );
    }
    MailSettings {
        imap,
        smtp,
        auth,
        password_command,
        extra_roots,
    }
}

/// Reports unknown keys, and a `password` key as the secret it is.
fn unknown_keys_and_password(
    check: &mut FileCheck<'_>,
    block: &[Key<'_>],
    unknown: &UnknownKeys,
    allowed: &[&str],
) {
    let mut others = unknown.clone();
    if others.remove("password").is_some() {
        let mut keys = block.to_vec();
        keys.push(Key::Field("password"));
        check.error(
            &keys,
            "a password is not allowed in the config",
            PASSWORD_HELP,
        );
    }
    check.unknown_keys(block, &others, allowed);
}

fn validate_imap(
    check: &mut FileCheck<'_>,
    raw: &RawImap,
    sender_email: Option<&str>,
) -> Option<ImapSettings> {
    let block = [Key::Field("mail"), Key::Field("imap")];
    let at = |key| [Key::Field("mail"), Key::Field("imap"), Key::Field(key)];
    unknown_keys_and_password(check, &block, &raw.unknown, IMAP_KEYS);
    let fields = ServerFields {
        host: raw.host.as_ref(),
        port: raw.port.as_ref(),
        security: raw.security.as_ref(),
        user: raw.user.as_ref(),
    };
    let server = validate_server(check, Protocol::Imap, &fields, sender_email);
    let mut folder = |key, default: &str| {
        let written = check.optional(&at(key), folder_field(raw, key), "a folder name");
        written.map_or_else(
            || default.to_owned(),
            |name| check.text_line(&at(key), &format!("{key} folder name"), name),
        )
    };
    let drafts = folder("drafts", "Drafts");
    let sent = folder("sent", "Sent");
    let inbox = match check.optional(
        &at("inbox"),
        raw.inbox.as_ref(),
        "a folder name or a list of them",
    ) {
        None => vec!["INBOX".to_owned()],
        Some(words) => {
            let names = words_of(words);
            if names.is_empty() {
                check.error(
                    &at("inbox"),
                    "`inbox` lists no folder",
                    "name at least one folder where replies arrive, e.g. `INBOX`",
                );
            }
            names
                .iter()
                .map(|name| check.text_line(&at("inbox"), "inbox folder name", name))
                .collect()
        }
    };
    Some(ImapSettings {
        server: server?,
        drafts,
        sent,
        inbox,
    })
}

fn folder_field<'r>(raw: &'r RawImap, key: &str) -> Option<&'r Field<String>> {
    match key {
        "drafts" => raw.drafts.as_ref(),
        _ => raw.sent.as_ref(),
    }
}

fn validate_smtp(
    check: &mut FileCheck<'_>,
    raw: &RawSmtp,
    sender_email: Option<&str>,
) -> Option<SmtpSettings> {
    let block = [Key::Field("mail"), Key::Field("smtp")];
    unknown_keys_and_password(check, &block, &raw.unknown, SMTP_KEYS);
    let fields = ServerFields {
        host: raw.host.as_ref(),
        port: raw.port.as_ref(),
        security: raw.security.as_ref(),
        user: raw.user.as_ref(),
    };
    let server = validate_server(check, Protocol::Smtp, &fields, sender_email);
    let save_sent = check
        .optional(
            &[
                Key::Field("mail"),
                Key::Field("smtp"),
                Key::Field("save_sent"),
            ],
            raw.save_sent.as_ref(),
            "`true` or `false`",
        )
        .copied()
        .unwrap_or(false);
    let rate_keys = [Key::Field("mail"), Key::Field("smtp"), Key::Field("rate")];
    let rate = match check.optional(
        &rate_keys,
        raw.rate.as_ref(),
        "emails a minute, a whole number",
    ) {
        Some(0) => {
            check.error(
                &rate_keys,
                "`rate: 0` would send nothing",
                "write how many emails a minute your provider allows, e.g. `rate: 20`, or remove the key to send without pauses",
            );
            None
        }
        rate => rate.copied(),
    };
    Some(SmtpSettings {
        server: server?,
        save_sent,
        rate,
    })
}

/// The keys a server block shares.
struct ServerFields<'r> {
    host: Option<&'r Field<String>>,
    port: Option<&'r Field<u16>>,
    security: Option<&'r Field<String>>,
    user: Option<&'r Field<String>>,
}

fn validate_server(
    check: &mut FileCheck<'_>,
    protocol: Protocol,
    raw: &ServerFields<'_>,
    sender_email: Option<&str>,
) -> Option<Server> {
    let at = |key| {
        [
            Key::Field("mail"),
            Key::Field(protocol.key()),
            Key::Field(key),
        ]
    };
    let host = check.required(
        &at("host"),
        raw.host,
        "the server's name, e.g. `imap.example.com`",
    );
    let host = host.and_then(|host| {
        let host = host.trim();
        if is_host_name(host) {
            Some(host.to_owned())
        } else {
            check.error(
                &at("host"),
                format!("`{}` is not a server name", host.escape_debug()),
                "write the name your provider gives, such as `imap.example.com`, or an IP address",
            );
            None
        }
    });
    let security = check.optional(&at("security"), raw.security, "`tls`, `starttls` or `none`");
    let security = match security.map(String::as_str) {
        None | Some("tls") => Security::Tls,
        Some("starttls") => Security::StartTls,
        Some("none") => Security::None,
        Some(other) => {
            check.error(
                &at("security"),
                format!("unknown security `{other}`; expected one of `tls`, `starttls`, `none`"),
                "write `tls` (the usual), or `starttls` if your provider says so",
            );
            Security::Tls
        }
    };
    if security == Security::None
        && let Some(host) = &host
        && !is_loopback(host)
    {
        check.error(
            &at("security"),
            format!("`security: none` would send your password to {host} unencrypted"),
            "`none` is only for a server on this machine (localhost, 127.0.0.1, ::1), such as a mail bridge; use `tls` or `starttls`",
        );
    }
    let port = match check.optional(&at("port"), raw.port, "a port number from 1 to 65535") {
        Some(0) => {
            check.error(
                &at("port"),
                "port 0 is not a port",
                "write the port your provider gives, e.g. 993",
            );
            None
        }
        Some(port) => Some(*port),
        None => Some(protocol.default_port(security)),
    };
    let user = match check.optional(&at("user"), raw.user, "your login name") {
        Some(user) => Some(check.text_line(&at("user"), "login name", user)),
        None => sender_email.map(str::to_owned),
    };
    Some(Server {
        host: host?,
        port: port?,
        security,
        user: user?,
    })
}

fn validate_command(
    check: &mut FileCheck<'_>,
    keys: &[Key<'_>],
    command: &Words,
) -> Option<PasswordCommand> {
    let (command, words) = match command {
        Words::One(line) => (
            PasswordCommand::Shell(line.trim().to_owned()),
            vec![line.trim().to_owned()],
        ),
        Words::Many(list) => (PasswordCommand::Program(list.clone()), list.clone()),
    };
    if words.first().is_none_or(String::is_empty)
        || words.iter().any(|w| w.chars().any(char::is_control))
    {
        check.error(
            keys,
            "`password_command` is empty or not one line",
            "write the command that prints your password, e.g. `pass show mail/sam` (run by `sh -c`), or a list such as `[op, read, \"op://Private/Mail/app password\"]` (run directly)",
        );
        return None;
    }
    Some(command)
}

/// The words of a one-word-or-list key: a single string is split at spaces (a command
/// line), a list is taken as it is (for arguments that hold spaces).
fn words_of(words: &Words) -> Vec<String> {
    match words {
        Words::One(line) => line.split_whitespace().map(str::to_owned).collect(),
        Words::Many(list) => list.clone(),
    }
}

/// The certificates of `mail.ca_file`, DER; an error when it cannot be read or holds none.
fn certificates(check: &mut FileCheck<'_>, keys: &[Key<'_>], file: &CaFile) -> Vec<Vec<u8>> {
    let shown = file.path.display();
    let bytes = match &file.bytes {
        Ok(bytes) => bytes,
        Err(why) => {
            check.error(
                keys,
                format!("cannot read the certificate file {shown}: {why}"),
                "give the path of a PEM file relative to the project folder (where content/ is)",
            );
            return Vec::new();
        }
    };
    let found: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(bytes)
        .filter_map(Result::ok)
        .map(|der| der.as_ref().to_vec())
        .collect();
    if found.is_empty() {
        check.error(
            keys,
            format!("{shown} holds no certificate"),
            "give a PEM file with at least one `-----BEGIN CERTIFICATE-----` block: the root your server's certificate is signed by",
        );
    }
    found
}

/// Whether `host` can be a server name or an IP address.
fn is_host_name(host: &str) -> bool {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Whether `host` is this machine, where a connection never leaves it.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
