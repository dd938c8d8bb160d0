//! A logged-in IMAP session with the few operations affrel needs: list the messages of a
//! folder that carry a header, read them, append, and remove messages by UID, never
//! touching any other.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use chrono::NaiveDate;
use imap::types::Flag;
use imap_proto::NameAttribute;
use mail_parser::MessageParser;
use rustls::ClientConfig;

use crate::diagnostic::Diagnostic;
use crate::model::{ImapSettings, MailSettings, Security};

use super::password::Password;
use super::tls::{self, TlsStream};
use super::{CONFIG, connect_tcp, is_timeout, label, silent_server};

/// A stream IMAP can talk over: plain TCP on this machine, or TLS.
trait Stream: Read + Write + Send {}
impl Stream for TcpStream {}
impl Stream for TlsStream {}

/// A logged-in session with the mailbox.
pub struct Mailbox {
    session: imap::Session<Box<dyn Stream>>,
    /// `host:port`, for messages.
    label: String,
    /// Whether the server can expunge single messages (RFC 4315 UIDPLUS).
    uidplus: bool,
}

/// One message of a folder, as read.
pub struct Fetched {
    pub uid: u32,
    pub bytes: Vec<u8>,
}

/// The header of one message, and the day the server received it.
pub struct Header {
    pub bytes: Vec<u8>,
    pub received: Option<NaiveDate>,
}

/// How many messages one FETCH names, so that no command line grows without bound.
const FETCH_BATCH: usize = 500;

impl Mailbox {
    /// Connects, protects the connection as the config says, and logs in.
    pub fn connect(
        imap: &ImapSettings,
        mail: &MailSettings,
        password: &Password,
    ) -> Result<Self, Diagnostic> {
        let server = &imap.server;
        let label = label(server);
        let tcp = connect_tcp(server, "IMAP")?;
        let config = tls::client_config(mail);
        let failed = |err: imap::Error| connection_error(&label, &err);
        let client = match server.security {
            Security::Tls => {
                let stream = tls::handshake(config, &server.host, tcp)
                    .map_err(|err| tls_error(&label, &err))?;
                let mut client = imap::Client::new(Box::new(stream) as Box<dyn Stream>);
                client.read_greeting().map_err(failed)?;
                client
            }
            Security::StartTls => starttls(tcp, config, &server.host, &label)?,
            Security::None => {
                let mut client = imap::Client::new(Box::new(tcp) as Box<dyn Stream>);
                client.read_greeting().map_err(failed)?;
                client
            }
        };
        let mut session = client
            .login(&server.user, password.reveal())
            .map_err(|(err, _)| login_error(&label, &server.user, &err))?;
        let uidplus = session
            .capabilities()
            .map(|caps| caps.has_str("UIDPLUS"))
            .map_err(failed)?;
        Ok(Self {
            session,
            label,
            uidplus,
        })
    }

    /// Opens `folder` to change it.
    pub fn select(&mut self, folder: &str) -> Result<(), Diagnostic> {
        match self.session.select(mailbox_name(folder)) {
            Ok(_) => Ok(()),
            Err(err) => Err(self.folder_error("cannot open", folder, &err)),
        }
    }

    /// Opens `folder` read-only: nothing in it changes, not a flag, not a message.
    pub fn examine(&mut self, folder: &str) -> Result<(), Diagnostic> {
        match self.session.examine(mailbox_name(folder)) {
            Ok(_) => Ok(()),
            Err(err) => Err(self.folder_error("cannot open", folder, &err)),
        }
    }

    /// The UIDs of the messages of the selected folder received on or after `date` (IMAP
    /// `SINCE`): the server searches, so a big folder is not downloaded.
    pub fn since(&mut self, date: NaiveDate) -> Result<Vec<u32>, Diagnostic> {
        self.search(&format!("SINCE {}", date.format("%-d-%b-%Y")))
    }

    /// The headers of these messages of the selected folder, read without marking any
    /// seen.
    pub fn headers(&mut self, uids: &[u32]) -> Result<Vec<Header>, Diagnostic> {
        let mut headers = Vec::with_capacity(uids.len());
        for batch in uids.chunks(FETCH_BATCH) {
            let fetches = self
                .session
                .uid_fetch(uid_set(batch), "(UID INTERNALDATE BODY.PEEK[HEADER])")
                .map_err(|err| command_error(&self.label, "read messages", &err))?;
            headers.extend(fetches.iter().filter_map(|fetch| {
                Some(Header {
                    bytes: fetch.header()?.to_vec(),
                    received: fetch.internal_date().map(|moment| moment.date_naive()),
                })
            }));
        }
        Ok(headers)
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
            .map_err(|err| command_error(&self.label, "search", &err))?
            .into_iter()
            .collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// The Message-ID of every message of the selected folder, by UID, without marking any
    /// seen; a message without one is left out.
    pub fn message_ids(&mut self) -> Result<Vec<(u32, String)>, Diagnostic> {
        let fetches = self
            .session
            .uid_fetch("1:*", "(UID BODY.PEEK[HEADER])")
            .map_err(|err| command_error(&self.label, "read the folder", &err))?;
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
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let fetches = self
            .session
            .uid_fetch(uid_set(uids), "(UID BODY.PEEK[])")
            .map_err(|err| command_error(&self.label, "read messages", &err))?;
        Ok(fetches
            .iter()
            .filter_map(|fetch| {
                Some(Fetched {
                    uid: fetch.uid?,
                    bytes: fetch.body()?.to_vec(),
                })
            })
            .collect())
    }

    /// Appends a message to `folder` with these flags.
    pub fn append(
        &mut self,
        folder: &str,
        bytes: &[u8],
        flags: &[Flag<'static>],
    ) -> Result<(), Diagnostic> {
        let name = mailbox_name(folder);
        let appended = self
            .session
            .append(&name, bytes)
            .flags(flags.iter().cloned())
            .finish();
        match appended {
            Ok(_) => Ok(()),
            Err(err) => Err(self.folder_error("could not store a message in", folder, &err)),
        }
    }

    /// The error for a folder the server cannot open or store in (`what` it could not do),
    /// with the server's own folder names in the help (its drafts and sent folders marked),
    /// so the user can copy the right one.
    fn folder_error(&mut self, what: &str, folder: &str, err: &imap::Error) -> Diagnostic {
        if is_silent(err) {
            return silent_server("IMAP", &self.label);
        }
        let folders = self.folders().unwrap_or_default();
        Diagnostic::error(
            CONFIG,
            format!(
                "the IMAP server {} {what} the folder `{folder}`: {err}",
                self.label
            ),
        )
        .with_help(folder_help(&folders))
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
            .map_err(|err| command_error(&self.label, "remove messages", &err))?;
        self.session
            .uid_expunge(&set)
            .map(drop)
            .map_err(|err| command_error(&self.label, "remove messages", &err))
    }

    /// Logs out; a server that has gone by then is no error.
    pub fn logout(mut self) {
        let _ = self.session.logout();
    }
}

/// Connects in the clear, asks for STARTTLS before anything else, and carries on over TLS.
/// The exchange is two lines, read byte by byte so that nothing of the TLS handshake is
/// read as IMAP.
fn starttls(
    mut tcp: TcpStream,
    config: Arc<ClientConfig>,
    host: &str,
    label: &str,
) -> Result<imap::Client<Box<dyn Stream>>, Diagnostic> {
    let refused = |why: String| {
        Diagnostic::error(CONFIG, format!("the IMAP server {label} did not start TLS: {why}"))
            .with_help("check `mail.imap.security` and `port`: port 993 wants `security: tls`, port 143 `starttls`")
    };
    let greeting = read_line(&mut tcp).map_err(|err| {
        if is_timeout(&err) {
            silent_server("IMAP", label)
        } else {
            refused(err.to_string())
        }
    })?;
    if !greeting.starts_with("* OK") {
        return Err(refused(format!(
            "it greeted with `{}`",
            greeting.trim_end()
        )));
    }
    tcp.write_all(b"s0 STARTTLS\r\n")
        .map_err(|err| refused(err.to_string()))?;
    loop {
        let line = read_line(&mut tcp).map_err(|err| refused(err.to_string()))?;
        if line.starts_with("s0 OK") {
            break;
        }
        if line.starts_with("s0 ") {
            return Err(refused(format!("it answered `{}`", line.trim_end())));
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
fn read_line(tcp: &mut TcpStream) -> io::Result<String> {
    let mut line = Vec::new();
    let mut byte = [0u8];
    while line.last() != Some(&b'\n') {
        if tcp.read(&mut byte)? == 0 || line.len() > MAX_PLAIN_LINE {
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
    if is_timeout(err) {
        return silent_server("IMAP", label);
    }
    if tls::is_certificate_error(err) {
        Diagnostic::error(CONFIG, format!("the IMAP server {label} has a certificate this machine does not trust: {err}"))
            .with_help("if it is your own server or a local bridge, add its root certificate as `mail.ca_file`; affrel never connects to a server it cannot verify")
    } else {
        Diagnostic::error(CONFIG, format!("cannot set up TLS with the IMAP server {label}: {err}"))
            .with_help("check `mail.imap.security` and `port`: port 993 wants `security: tls`, port 143 `starttls`")
    }
}

/// The error for a server that went silent, else `diagnostic`.
fn unless_silent(label: &str, err: &imap::Error, diagnostic: Diagnostic) -> Diagnostic {
    if is_silent(err) {
        silent_server("IMAP", label)
    } else {
        diagnostic
    }
}

/// Whether the error is the server not answering in time.
fn is_silent(err: &imap::Error) -> bool {
    matches!(err, imap::Error::Io(io) if is_timeout(io))
}

fn connection_error(label: &str, err: &imap::Error) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        CONFIG,
        format!("the IMAP server {label} did not answer as IMAP: {err}"),
    )
    .with_help("check `mail.imap.host`, `port` and `security` in content/config.yaml");
    unless_silent(label, err, diagnostic)
}

fn login_error(label: &str, user: &str, err: &imap::Error) -> Diagnostic {
    let reply = match err {
        imap::Error::No(response) => response.information.clone(),
        imap::Error::Bad(response) => response.information.clone(),
        other => other.to_string(),
    };
    let diagnostic = Diagnostic::error(CONFIG, format!("the IMAP server {label} refused the login of `{user}`: {reply}"))
        .with_help("check `mail.imap.user`, and the password that `password_command` prints (or AFFREL_MAIL_PASSWORD); many providers want an app password here");
    unless_silent(label, err, diagnostic)
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

/// What to write under `mail.imap`: the server's folders, its drafts and sent ones first,
/// each quoted and escaped as YAML's double quotes want (no control character reaches the
/// terminal).
fn folder_help(folders: &[Folder]) -> String {
    const CHECK: &str = "check the folder names under `mail.imap` in content/config.yaml (`drafts`, `sent`, `inbox`)";
    if folders.is_empty() {
        return format!("{CHECK}; your mail client shows them");
    }
    let mut ordered: Vec<&Folder> = folders.iter().filter(|f| f.role.is_some()).collect();
    ordered.extend(folders.iter().filter(|f| f.role.is_none()));
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
    let example = ordered[0];
    format!(
        "{CHECK}; this server's folders are {}. Copy a name with its quotes, as in `{}: {:?}`",
        shown.join(", "),
        example.role.unwrap_or("drafts"),
        example.name
    )
}

fn command_error(label: &str, what: &str, err: &imap::Error) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        CONFIG,
        format!("the IMAP server {label} could not {what}: {err}"),
    )
    .with_help("run the command again; if it keeps failing, check the server's status");
    unless_silent(label, err, diagnostic)
}

#[cfg(test)]
mod tests {
    use super::{folder_name, mailbox_name};

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
