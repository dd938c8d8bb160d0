//! A logged-in IMAP session with the few operations affrel needs: list the messages of a
//! folder that carry a header, read them, append, and remove messages by UID, never
//! touching any other.

use std::io::{self, Read, Write};
use std::sync::Arc;

use chrono::NaiveDate;
use imap::types::Flag;
use imap_proto::{NameAttribute, SectionPath};
use mail_parser::MessageParser;
use rustls::ClientConfig;

use crate::diagnostic::Diagnostic;
use crate::model::{ImapSettings, MailSettings, Security};

use super::password::{Password, Redactor};
use super::sasl::{self, TOKEN_REFUSED_HELP, TokenLogin};
use super::tls::{self, TlsStream};
use super::wire::{self, Bounded, Exceeded};
use super::{CONFIG, connect_tcp, label, silent_server};

/// A stream IMAP can talk over: plain TCP on this machine, or TLS; bounded either way.
trait Stream: Read + Write + Send {}
impl Stream for Bounded {}
impl Stream for TlsStream {}

/// A logged-in session with the mailbox.
pub struct Mailbox {
    session: imap::Session<Box<dyn Stream>>,
    /// `host:port`, for messages.
    label: String,
    /// Whether the server can expunge single messages (RFC 4315 UIDPLUS).
    uidplus: bool,
    /// Makes the server's words fit to print.
    redactor: Redactor,
}

/// One message of a folder, as read.
pub struct Fetched {
    pub uid: u32,
    pub bytes: Vec<u8>,
}

/// The header of one message, and the day the server received it.
pub struct Header {
    pub uid: u32,
    pub bytes: Vec<u8>,
    pub received: Option<NaiveDate>,
}

/// The most of a delivery status report's machine-readable part that is read: a few
/// recipients' fields fit many times over.
const STATUS_BYTES: usize = 16 * 1024;

/// How many messages one header FETCH names: with [`HEADER_BYTES`] each, the answer stays
/// well inside [`wire::MAX_ANSWER`].
const FETCH_BATCH: usize = 100;

/// The most of one message's header fields a FETCH asks for (a partial fetch): what a
/// stranger puts in a header cannot grow affrel's memory.
const HEADER_BYTES: usize = 64 * 1024;

/// How many whole drafts one FETCH reads.
const READ_BATCH: usize = 50;

impl Mailbox {
    /// Gets the password or token as `mail` says, then connects and logs in.
    pub fn log_in(imap: &ImapSettings, mail: &MailSettings) -> Result<Self, Diagnostic> {
        let password = super::password::password(mail)?;
        Self::connect(imap, mail, &password)
    }

    /// Connects, protects the connection as the config says, and logs in.
    pub fn connect(
        imap: &ImapSettings,
        mail: &MailSettings,
        password: &Password,
    ) -> Result<Self, Diagnostic> {
        let server = &imap.server;
        let label = label(server);
        let redactor = password.redactor();
        let tcp = connect_tcp(server, "IMAP")?;
        let config = tls::client_config(mail);
        let failed = |step: &str, err: imap::Error| error(&label, &redactor, step, &err);
        let client = match server.security {
            Security::Tls => {
                let stream = tls::handshake(config, &server.host, tcp)
                    .map_err(|err| tls_error(&label, &err))?;
                let mut client = imap::Client::new(Box::new(stream) as Box<dyn Stream>);
                greeting(&mut client).map_err(|err| failed("greeting", err))?;
                client
            }
            Security::StartTls => starttls(tcp, config, &server.host, &label, &redactor)?,
            Security::None => {
                let mut client = imap::Client::new(Box::new(tcp) as Box<dyn Stream>);
                greeting(&mut client).map_err(|err| failed("greeting", err))?;
                client
            }
        };
        let token = sasl::token_login(mail.auth, server, password.reveal());
        let logged_in = match &token {
            Some(token) => client.authenticate(token.mechanism, &Sasl::new(token)),
            None => client.login(&server.user, password.reveal()),
        };
        let mut session = logged_in.map_err(|(err, _)| {
            login_error(&label, &server.user, &redactor, &err, token.is_some())
        })?;
        let uidplus = session
            .capabilities()
            .map(|caps| caps.has_str("UIDPLUS"))
            .map_err(|err| failed("list its capabilities", err))?;
        Ok(Self {
            session,
            label,
            uidplus,
            redactor,
        })
    }

    /// Opens `folder` (the config's `mail.imap.<key>`) to change it.
    pub fn select(&mut self, key: &str, folder: &str) -> Result<(), Diagnostic> {
        match self
            .session
            .run_command_and_check_ok(format!("SELECT {}", quoted(folder)))
        {
            Ok(()) => Ok(()),
            Err(err) => Err(self.folder_error("cannot open", key, folder, &err)),
        }
    }

    /// Opens `folder` (the config's `mail.imap.<key>`) read-only: nothing in it changes, not
    /// a flag, not a message.
    pub fn examine(&mut self, key: &str, folder: &str) -> Result<(), Diagnostic> {
        match self
            .session
            .run_command_and_check_ok(format!("EXAMINE {}", quoted(folder)))
        {
            Ok(()) => Ok(()),
            Err(err) => Err(self.folder_error("cannot open", key, folder, &err)),
        }
    }

    /// The UIDs of the messages of the selected folder received on or after `date` (IMAP
    /// `SINCE`): the server searches, so a big folder is not downloaded.
    pub fn since(&mut self, date: NaiveDate) -> Result<Vec<u32>, Diagnostic> {
        self.search(&format!("SINCE {}", date.format("%-d-%b-%Y")))
    }

    /// These header fields of these messages of the selected folder, at most
    /// [`HEADER_BYTES`] of each, read without marking any seen.
    pub fn headers(&mut self, uids: &[u32], fields: &[&str]) -> Result<Vec<Header>, Diagnostic> {
        let query = format!(
            "(UID INTERNALDATE BODY.PEEK[HEADER.FIELDS ({})]<0.{HEADER_BYTES}>)",
            fields.join(" ")
        );
        let mut headers = Vec::with_capacity(uids.len());
        for batch in uids.chunks(FETCH_BATCH) {
            let fetches = self
                .session
                .uid_fetch(uid_set(batch), &query)
                .map_err(|err| self.error("read messages", &err))?;
            headers.extend(fetches.iter().filter_map(|fetch| {
                Some(Header {
                    uid: fetch.uid?,
                    bytes: fetch.header()?.to_vec(),
                    received: fetch.internal_date().map(|moment| moment.date_naive()),
                })
            }));
        }
        Ok(headers)
    }

    /// The machine-readable part of each of these delivery status reports, at most
    /// [`STATUS_BYTES`] of it, by UID. A `multipart/report` puts it second (RFC 6522), so
    /// only that part is fetched: never the returned message, and no body structure, which
    /// some servers describe in forms a parser may not follow.
    pub fn delivery_status(&mut self, uids: &[u32]) -> Result<Vec<(u32, Vec<u8>)>, Diagnostic> {
        let query = format!("(UID BODY.PEEK[2]<0.{STATUS_BYTES}>)");
        let section = SectionPath::Part(vec![2], None);
        let mut parts = Vec::with_capacity(uids.len());
        for batch in uids.chunks(FETCH_BATCH) {
            let fetches = self
                .session
                .uid_fetch(uid_set(batch), &query)
                .map_err(|err| self.error("read messages", &err))?;
            parts.extend(
                fetches
                    .iter()
                    .filter_map(|f| Some((f.uid?, f.section(&section)?.to_vec()))),
            );
        }
        Ok(parts)
    }

    /// The UIDs of the messages of the selected folder that have the header `name`.
    pub fn with_header(&mut self, name: &str) -> Result<Vec<u32>, Diagnostic> {
        self.search(&format!("HEADER {name} \"\""))
    }

    /// The UIDs, in order, of the messages of the selected folder that `query` finds.
    fn search(&mut self, query: &str) -> Result<Vec<u32>, Diagnostic> {
        let mut uids: Vec<u32> = self
            .session
            .uid_search(query)
            .map_err(|err| self.error("search", &err))?
            .into_iter()
            .collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// The Message-ID of every message of the selected folder, by UID, without marking any
    /// seen; a message without one is left out.
    pub fn message_ids(&mut self) -> Result<Vec<(u32, String)>, Diagnostic> {
        let query = format!("(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]<0.{HEADER_BYTES}>)");
        let fetches = self
            .session
            .uid_fetch("1:*", query)
            .map_err(|err| self.error("read the folder", &err))?;
        Ok(fetches
            .iter()
            .filter_map(|fetch| {
                let header = MessageParser::default().parse_headers(fetch.header()?)?;
                Some((fetch.uid?, format!("<{}>", header.message_id()?)))
            })
            .collect())
    }

    /// Reads whole messages of the selected folder, without marking them seen.
    pub fn read(&mut self, uids: &[u32]) -> Result<Vec<Fetched>, Diagnostic> {
        let mut read = Vec::with_capacity(uids.len());
        for batch in uids.chunks(READ_BATCH) {
            let fetches = self
                .session
                .uid_fetch(uid_set(batch), "(UID BODY.PEEK[])")
                .map_err(|err| self.error("read messages", &err))?;
            read.extend(fetches.iter().filter_map(|fetch| {
                Some(Fetched {
                    uid: fetch.uid?,
                    bytes: fetch.body()?.to_vec(),
                })
            }));
        }
        Ok(read)
    }

    /// Appends a message to `folder` (the config's `mail.imap.<key>`) with these flags.
    pub fn append(
        &mut self,
        key: &str,
        folder: &str,
        bytes: &[u8],
        flags: &[Flag<'static>],
    ) -> Result<(), Diagnostic> {
        // The crate writes the name between quotes as it is given: give it escaped.
        let name = quoted(folder);
        let appended = self
            .session
            .append(&name[1..name.len() - 1], bytes)
            .flags(flags.iter().cloned())
            .finish();
        match appended {
            Ok(_) => Ok(()),
            Err(err) => Err(self.folder_error("could not store a message in", key, folder, &err)),
        }
    }

    /// The error for a command that failed while doing `step`.
    fn error(&self, step: &str, err: &imap::Error) -> Diagnostic {
        error(&self.label, &self.redactor, step, err)
    }

    /// The error for a folder the server cannot open or store in (`what` it could not do),
    /// with the server's own folder names in the help (its drafts and sent folders marked),
    /// so the user can copy the right one.
    fn folder_error(
        &mut self,
        what: &str,
        key: &str,
        folder: &str,
        err: &imap::Error,
    ) -> Diagnostic {
        let Some(refusal) = refusal(err) else {
            return self.error(&format!("open the folder `{folder}`"), err);
        };
        let reply = self.redactor.clean(refusal);
        let folders = self.folders().unwrap_or_default();
        Diagnostic::error(
            CONFIG,
            format!(
                "the IMAP server {} {what} the folder `{folder}` (`mail.imap.{key}`): {reply}",
                self.label
            ),
        )
        .with_help(folder_help(&folders, key, folder))
    }

    /// The folders a message can be in, with their special use, as the server lists them.
    fn folders(&mut self) -> Option<Vec<Folder>> {
        let names = self.session.list(Some(""), Some("*")).ok()?;
        let folders = names
            .iter()
            .filter(|name| !name.attributes().contains(&NameAttribute::NoSelect))
            .map(|name| Folder {
                name: folder_name(name.name()),
                role: name
                    .attributes()
                    .iter()
                    .find_map(|attribute| match attribute {
                        NameAttribute::Drafts => Some("drafts"),
                        NameAttribute::Sent => Some("sent"),
                        _ => None,
                    }),
            })
            .collect();
        Some(folders)
    }

    /// Whether [`Mailbox::remove`] can remove single messages here.
    pub fn can_remove(&self) -> bool {
        self.uidplus
    }

    /// Removes exactly these messages of the selected folder: flagged deleted, then expunged
    /// by UID, so that a message someone else flagged deleted stays.
    pub fn remove(&mut self, uids: &[u32]) -> Result<(), Diagnostic> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uid_set(uids);
        self.session
            .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
            .map_err(|err| self.error("remove messages", &err))?;
        self.session
            .uid_expunge(&set)
            .map(drop)
            .map_err(|err| self.error("remove messages", &err))
    }

    /// Logs out; a server that has gone by then is no error.
    pub fn logout(mut self) {
        let _ = self.session.logout();
    }
}

/// A token login as the `imap` crate drives it: the initial response to the server's first
/// (empty) challenge, then the mechanism's answer to its error challenge.
struct Sasl<'t> {
    token: &'t TokenLogin,
    answered: std::cell::Cell<bool>,
}

impl<'t> Sasl<'t> {
    fn new(token: &'t TokenLogin) -> Self {
        Self {
            token,
            answered: std::cell::Cell::new(false),
        }
    }
}

impl imap::Authenticator for Sasl<'_> {
    type Response = Vec<u8>;

    fn process(&self, _challenge: &[u8]) -> Vec<u8> {
        if self.answered.replace(true) {
            self.token.after_error.to_vec()
        } else {
            self.token.initial.clone()
        }
    }
}

/// Reads the server's greeting, which must say `* OK`.
fn greeting(client: &mut imap::Client<Box<dyn Stream>>) -> imap::Result<()> {
    let line = client.read_greeting()?;
    if line.starts_with(b"* OK") {
        Ok(())
    } else {
        Err(imap::Error::Parse(imap::error::ParseError::Invalid(line)))
    }
}

/// Connects in the clear, asks for STARTTLS before anything else, and carries on over TLS.
/// The exchange is two lines, read byte by byte so that nothing of the TLS handshake is
/// read as IMAP.
fn starttls(
    mut tcp: Bounded,
    config: Arc<ClientConfig>,
    host: &str,
    label: &str,
    redactor: &Redactor,
) -> Result<imap::Client<Box<dyn Stream>>, Diagnostic> {
    let refused = |why: String| {
        Diagnostic::error(CONFIG, format!("the IMAP server {label} did not start TLS: {why}"))
            .with_help("check `mail.imap.security` and `port`: port 993 wants `security: tls`, port 143 `starttls`")
    };
    let io_failed =
        |step: &str, err: io::Error| error(label, redactor, step, &imap::Error::Io(err));
    let greeting = read_line(&mut tcp).map_err(|err| io_failed("greeting", err))?;
    if !greeting.starts_with("* OK") {
        return Err(protocol_error(
            label,
            "greeting",
            &redactor.clean(&greeting),
        ));
    }
    tcp.write_all(b"s0 STARTTLS\r\n")
        .map_err(|err| io_failed("start TLS", err))?;
    loop {
        let line = read_line(&mut tcp).map_err(|err| io_failed("start TLS", err))?;
        if line.starts_with("s0 OK") {
            break;
        }
        if line.starts_with("s0 ") {
            return Err(refused(format!("it answered `{}`", redactor.clean(&line))));
        }
    }
    let stream = tls::handshake(config, host, tcp).map_err(|err| tls_error(label, &err))?;
    let mut client = imap::Client::new(Box::new(stream) as Box<dyn Stream>);
    client.greeting_read = true;
    Ok(client)
}

/// The longest line of the plain-text exchange before TLS.
const MAX_PLAIN_LINE: usize = 8192;

/// Reads one line, byte by byte, up to and including its `\n`.
fn read_line(tcp: &mut Bounded) -> io::Result<String> {
    let mut line = Vec::new();
    let mut byte = [0u8];
    while line.last() != Some(&b'\n') {
        if line.len() > MAX_PLAIN_LINE {
            return Err(io::Error::new(io::ErrorKind::InvalidData, Exceeded::Size));
        }
        if tcp.read(&mut byte)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the connection ended",
            ));
        }
        line.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// A comma-separated UID set.
fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A folder name as every command writes it: modified UTF-7, between double quotes with `\\`
/// and `"` escaped (RFC 3501 quoted string).
fn quoted(name: &str) -> String {
    let encoded = mailbox_name(name);
    format!("\"{}\"", encoded.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A folder name as IMAP writes it: modified UTF-7 (RFC 3501 5.1.3) for anything beyond
/// printable ASCII, so that `Entwürfe` reaches the server as `Entw&APw-rfe`.
pub fn mailbox_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|unit| unit.to_be_bytes()).collect();
        out.push('&');
        out.push_str(&modified_base64(&bytes));
        out.push('-');
        pending.clear();
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0; 2];
            pending.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// A folder name as the server writes it (modified UTF-7) → as the user writes it; a name
/// that does not decode is shown as it came.
fn folder_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('-') else {
            return raw.to_owned();
        };
        match &after[..end] {
            "" => out.push('&'),
            encoded => match from_modified_base64(encoded) {
                Some(text) => out.push_str(&text),
                None => return raw.to_owned(),
            },
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The alphabet of modified UTF-7's base64: `,` for `/`.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Modified base64 of UTF-16BE → the text, if it is that.
fn from_modified_base64(encoded: &str) -> Option<String> {
    let mut bits: u32 = 0;
    let mut held = 0;
    let mut bytes = Vec::new();
    for c in encoded.bytes() {
        let value = ALPHABET.iter().position(|&a| a == c)?;
        bits = (bits << 6) | u32::try_from(value).ok()?;
        held += 6;
        if held >= 8 {
            held -= 8;
            bytes.push(u8::try_from(bits >> held).ok()?);
            bits &= (1 << held) - 1;
        }
    }
    if bytes.len() % 2 != 0 {
        return None;
    }
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

/// Base64 with `,` for `/` and no padding, as modified UTF-7 wants.
fn modified_base64(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextets = chunk.len() + 1;
        for i in 0..sextets {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn tls_error(label: &str, err: &io::Error) -> Diagnostic {
    if wire::exceeded(err) == Some(Exceeded::Deadline) {
        return silent_server("IMAP", label, "setting up TLS");
    }
    if tls::is_certificate_error(err) {
        Diagnostic::error(CONFIG, format!("the IMAP server {label} has a certificate this machine does not trust: {err}"))
            .with_help("if it is your own server or a local bridge, add its root certificate as `mail.ca_file`; affrel never connects to a server it cannot verify")
    } else {
        Diagnostic::error(CONFIG, format!("cannot set up TLS with the IMAP server {label}: {err}"))
            .with_help("check `mail.imap.security` and `port`: port 993 wants `security: tls`, port 143 `starttls`")
    }
}

/// The error for an exchange that failed while doing `step`: the server's deadline or size
/// bound, a lost connection, a refusal in the server's (cleaned) words, or a reply that is
/// not IMAP as affrel knows it.
fn error(label: &str, redactor: &Redactor, step: &str, err: &imap::Error) -> Diagnostic {
    match err {
        imap::Error::Io(io) => match wire::exceeded(io) {
            Some(Exceeded::Deadline) => silent_server("IMAP", label, step),
            Some(Exceeded::Size) => protocol_error(label, step, &Exceeded::Size.to_string()),
            None => lost(label, step, &io.to_string()),
        },
        imap::Error::ConnectionLost => lost(label, step, "the server closed it"),
        imap::Error::No(_) | imap::Error::Bad(_) => Diagnostic::error(
            CONFIG,
            format!(
                "the IMAP server {label} refused to {step}: {}",
                redactor.clean(refusal(err).unwrap_or_default())
            ),
        )
        .with_help("run the command again; if it keeps failing, check the server's status"),
        // The crate reports a line it cannot parse as a tagged BYE, which no server sends.
        imap::Error::Bye(_) => protocol_error(label, step, "a reply that is not IMAP"),
        imap::Error::Parse(imap::error::ParseError::Invalid(line)) => {
            let line = String::from_utf8_lossy(&line[..line.len().min(200)]).into_owned();
            protocol_error(
                label,
                step,
                &format!("unreadable reply `{}`", redactor.clean(&line)),
            )
        }
        imap::Error::TagMismatch(_) => {
            protocol_error(label, step, "a reply to a command affrel did not send")
        }
        imap::Error::Unexpected(_) => protocol_error(label, step, "an unexpected reply"),
        other => protocol_error(label, step, &redactor.clean(&other.to_string())),
    }
}

/// The server's words when it answered a command `NO` or `BAD`.
fn refusal(err: &imap::Error) -> Option<&str> {
    match err {
        imap::Error::No(response) => Some(&response.information),
        imap::Error::Bad(response) => Some(&response.information),
        _ => None,
    }
}

/// The error for a reply that is not what IMAP says it should be.
fn protocol_error(label: &str, step: &str, what: &str) -> Diagnostic {
    Diagnostic::error(
        CONFIG,
        format!("protocol error from the IMAP server {label} ({step}): {what}"),
    )
    .with_help("check `mail.imap.host`, `port` and `security` in content/config.yaml: it may not be an IMAP server, or a proxy in between breaks the exchange")
}

/// The error for a connection that ended before the answer did.
fn lost(label: &str, step: &str, why: &str) -> Diagnostic {
    Diagnostic::error(
        CONFIG,
        format!("the connection to the IMAP server {label} was lost ({step}): {why}"),
    )
    .with_help("run the command again; if it keeps failing, check `mail.imap.host`, `port` and `security` in content/config.yaml and the server's status")
}

/// A refused login in the server's words (the password or token removed); any other failure
/// as [`error`] says.
fn login_error(
    label: &str,
    user: &str,
    redactor: &Redactor,
    err: &imap::Error,
    with_token: bool,
) -> Diagnostic {
    let Some(refusal) = refusal(err) else {
        return error(label, redactor, "login", err);
    };
    let what = if with_token { "the token" } else { "the login" };
    let refused = Diagnostic::error(
        CONFIG,
        format!(
            "the IMAP server {label} refused {what} of `{user}`: {}",
            redactor.clean(refusal)
        ),
    );
    if with_token {
        return refused.with_help(TOKEN_REFUSED_HELP);
    }
    refused
    .with_help("check `mail.imap.user`, and the password that `password_command` prints (or AFFREL_MAIL_PASSWORD); many providers want an app password here")
}

/// A folder of the mailbox, as `LIST` names it.
struct Folder {
    /// Decoded from modified UTF-7.
    name: String,
    /// `drafts` or `sent` when the server marks it so (RFC 6154).
    role: Option<&'static str>,
}

/// How many folder names a message lists.
const FOLDERS_SHOWN: usize = 12;

/// What to write as `mail.imap.<key>` instead of `configured`: the server's folders, the
/// likely ones first (a folder whose last part is the configured name in any case, as
/// `INBOX.Drafts` for `Drafts` on a server that puts every folder under `INBOX.`; then the
/// one the server marks for that use; then the other marked ones), each quoted and escaped
/// as YAML's double quotes want (no control character reaches the terminal). The likely
/// ones come first, so they are never among those cut from a long list.
fn folder_help(folders: &[Folder], key: &str, configured: &str) -> String {
    let check = format!("check `mail.imap.{key}` in content/config.yaml");
    if folders.is_empty() {
        return format!("{check}; your mail client shows the folder names");
    }
    let rank = |folder: &Folder| {
        let last = folder
            .name
            .rsplit(['.', '/'])
            .next()
            .unwrap_or(&folder.name);
        if last.eq_ignore_ascii_case(configured) {
            0
        } else if folder.role == Some(key) {
            1
        } else if folder.role.is_some() {
            2
        } else {
            3
        }
    };
    let mut ordered: Vec<&Folder> = folders.iter().collect();
    ordered.sort_by_key(|folder| rank(folder));
    let mut shown: Vec<String> = ordered
        .iter()
        .take(FOLDERS_SHOWN)
        .map(|folder| match folder.role {
            Some(role) => format!("{:?} ({role})", folder.name),
            None => format!("{:?}", folder.name),
        })
        .collect();
    if ordered.len() > FOLDERS_SHOWN {
        shown.push(format!("and {} more", ordered.len() - FOLDERS_SHOWN));
    }
    let suggestion = ordered
        .iter()
        .find(|folder| rank(folder) < 2)
        .map_or_else(String::new, |folder| {
            format!(" Likely: `{key}: {:?}`.", folder.name)
        });
    format!(
        "{check}; this server's folders are {}.{suggestion} Copy a name with its quotes, as in `{key}: {:?}`",
        shown.join(", "),
        ordered[0].name
    )
}

#[cfg(test)]
mod tests {
    use super::{Folder, folder_help, folder_name, mailbox_name};

    // On a server without special-use marks that puts every folder under `INBOX.`, the help
    // names the key that failed and suggests the folder whose last part is the configured
    // name, however many folders there are.
    #[test]
    fn folder_help_suggests_the_folder_with_the_configured_name() {
        let mut folders: Vec<Folder> = (1..=12)
            .map(|n| Folder {
                name: format!("INBOX.Project{n:02}"),
                role: None,
            })
            .collect();
        for name in ["INBOX", "INBOX.Sent", "INBOX.Drafts"] {
            folders.push(Folder {
                name: name.to_owned(),
                role: None,
            });
        }
        let help = folder_help(&folders, "drafts", "Drafts");
        assert!(help.starts_with("check `mail.imap.drafts`"), "{help}");
        assert!(
            help.contains("Likely: `drafts: \"INBOX.Drafts\"`"),
            "{help}"
        );
        assert!(
            help.contains("this server's folders are \"INBOX.Drafts\", "),
            "{help}"
        );
        let help = folder_help(&folders, "sent", "sent");
        assert!(help.contains("Likely: `sent: \"INBOX.Sent\"`"), "{help}");
        let marked = [
            Folder {
                name: "Sent Items".to_owned(),
                role: Some("sent"),
            },
            Folder {
                name: "Entwürfe".to_owned(),
                role: Some("drafts"),
            },
        ];
        let help = folder_help(&marked, "drafts", "Drafts");
        assert!(help.contains("Likely: `drafts: \"Entwürfe\"`"), "{help}");
    }

    // Folder names beyond ASCII reach the server in modified UTF-7, `&` escaped.
    #[test]
    fn folder_names_are_modified_utf7() {
        assert_eq!(mailbox_name("Drafts"), "Drafts");
        assert_eq!(mailbox_name("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(mailbox_name("Tom & Jerry"), "Tom &- Jerry");
        assert_eq!(mailbox_name("台北"), "&U,BTFw-");
        assert_eq!(mailbox_name("[Gmail]/Brouillons"), "[Gmail]/Brouillons");
    }

    // The server's names read back as written, emoji (two UTF-16 units) included; a name
    // that is not valid modified UTF-7 is shown as it came.
    #[test]
    fn folder_names_decode_from_modified_utf7() {
        for name in [
            "Drafts",
            "Entwürfe",
            "Tom & Jerry",
            "台北",
            "Отправленные",
            "📬 Inbox",
            "a&b&c",
        ] {
            assert_eq!(folder_name(&mailbox_name(name)), name);
        }
        assert_eq!(
            folder_name("&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"),
            "Отправленные"
        );
        assert_eq!(folder_name("broken&AP"), "broken&AP");
        assert_eq!(folder_name("odd&AA-"), "odd&AA-");
    }
}
