//! Real mail servers for the mailbox tests, started by the tests on 127.0.0.1 with free
//! ports: Dovecot (Debian's `dovecot-imapd`, with a config file of its own) for IMAP, and
//! aiosmtpd (`tests/mail/smtp_server.py`) for SMTP with STARTTLS and AUTH, both with a
//! certificate from a certificate authority made for the test.
//!
//! Where a server is not installed the test says so and returns; with
//! `AFFREL_REQUIRE_MAIL_SERVERS=1` (as `.ci/run` sets) it fails instead, so CI can never pass
//! without running them.

#![allow(dead_code)]

pub mod project;

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// The mailbox's login.
pub const USER: &str = "sam@example.com";
/// Its password: distinctive, so that a test can prove it never appears in any output.
pub const PASSWORD: &str = "pw-Zq7-never-printed";

/// A certificate authority made for one test, and a server certificate it signed for
/// `localhost` and `127.0.0.1`.
pub struct TestCa {
    pub ca: String,
    pub certificate: String,
    pub key: String,
}

impl TestCa {
    pub fn new() -> Self {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "affrel test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().expect("a CA key");
        let ca_cert = ca.self_signed(&ca_key).expect("a CA certificate");
        let issuer = Issuer::new(ca, ca_key);
        let mut server =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("server params");
        server
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let server_key = KeyPair::generate().expect("a server key");
        let server_cert = server
            .signed_by(&server_key, &issuer)
            .expect("a server certificate");
        Self {
            ca: ca_cert.pem(),
            certificate: server_cert.pem(),
            key: server_key.serialize_pem(),
        }
    }

    /// Writes the server's certificate and key into `dir`; returns their paths.
    fn write_server_files(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
        fs::write(&cert, &self.certificate).expect("certificate written");
        fs::write(&key, &self.key).expect("key written");
        (cert, key)
    }
}

/// Says that a server or test tool is missing: a failure where CI requires them, else a
/// skip message. Returns `None` for the test to return.
pub fn missing<T>(what: &str) -> Option<T> {
    assert!(
        std::env::var_os("AFFREL_REQUIRE_MAIL_SERVERS").is_none(),
        "{what}; AFFREL_REQUIRE_MAIL_SERVERS is set, so the tests that need it must run"
    );
    eprintln!(
        "SKIPPED: {what}; `.ci/run` installs it (apt-get install dovecot-imapd shellcheck, pip install aiosmtpd)"
    );
    None
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// Waits until something accepts connections on `port`.
fn wait_for_port(port: u16, what: &str, log: &Path) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what} did not start listening on port {port}:\n{}",
            fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How Dovecot is set up, beyond one user with `INBOX`, `Drafts`, `Sent` and `Replies`.
#[derive(Default, Clone)]
pub struct DovecotOptions {
    /// Also log in with XOAUTH2 and OAUTHBEARER, each token checked at this token
    /// introspection endpoint's port (Dovecot's `oauth2` passdb).
    pub introspection_port: Option<u16>,
    /// Laid out as Courier IMAP and many hosts are: every folder under `INBOX.`, `.` as the
    /// separator, no special-use marks, and [`COURIER_FOLDERS`].
    pub courier_layout: bool,
    /// Announces no UIDPLUS, so a client cannot remove one message by its UID.
    pub without_uidplus: bool,
}

/// The folders of the Courier-like layout besides `INBOX`: fourteen in all.
pub const COURIER_FOLDERS: [&str; 13] = [
    "INBOX.Drafts",
    "INBOX.Sent",
    "INBOX.Trash",
    "INBOX.Archive",
    "INBOX.Project01",
    "INBOX.Project02",
    "INBOX.Project03",
    "INBOX.Project04",
    "INBOX.Project05",
    "INBOX.Project06",
    "INBOX.Project07",
    "INBOX.Project08",
    "INBOX.Project09",
];

/// A Dovecot IMAP server with one user, listening with TLS from the first byte and with
/// STARTTLS.
pub struct Dovecot {
    dir: tempfile::TempDir,
    child: Child,
    /// TLS from the first byte.
    pub tls_port: u16,
    /// Plain, upgraded with STARTTLS; also where the tests' own client logs in.
    pub starttls_port: u16,
}

impl Dovecot {
    /// Dovecot with `INBOX`, `Drafts` and `Sent` (marked for their use) and `Replies`.
    pub fn start(ca: &TestCa) -> Option<Self> {
        Self::start_with(ca, &DovecotOptions::default())
    }

    pub fn start_with(ca: &TestCa, options: &DovecotOptions) -> Option<Self> {
        let binary = ["/usr/sbin/dovecot", "/usr/bin/dovecot"]
            .into_iter()
            .find(|path| Path::new(path).exists());
        let Some(binary) = binary else {
            return missing("Dovecot is not installed");
        };
        let dir = tempfile::Builder::new()
            .prefix("affrel-dovecot")
            .tempdir()
            .expect("a folder for Dovecot");
        let root = dir.path();
        let (cert, key) = ca.write_server_files(root);
        fs::write(root.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n"))
            .expect("passwd written");
        let (tls_port, starttls_port) = (free_port(), free_port());
        let users = Users::for_this_process(root);
        let config = root.join("dovecot.conf");
        let mut text = dovecot_config(root, &cert, &key, tls_port, starttls_port, &users);
        text.push_str(&optional_config(root, options));
        fs::write(&config, text).expect("config written");
        let log = root.join("dovecot.log");
        let child = Command::new(binary)
            .arg("-F")
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(fs::File::create(root.join("stderr.log")).expect("a log file"))
            .spawn()
            .expect("dovecot starts");
        let dovecot = Self {
            dir,
            child,
            tls_port,
            starttls_port,
        };
        wait_for_port(tls_port, "Dovecot", &log);
        wait_for_port(starttls_port, "Dovecot", &log);
        if options.courier_layout {
            let mut client = dovecot.client();
            for folder in COURIER_FOLDERS {
                client.create(folder).expect("a folder made");
            }
            let _ = client.logout();
        }
        Some(dovecot)
    }

    /// A client of the tests' own, logged in over the plain port (Dovecot trusts a client
    /// on the same machine), to look into the mailbox and change it as a mail client would.
    pub fn client(&self) -> imap::Session<TcpStream> {
        let tcp = TcpStream::connect(("127.0.0.1", self.starttls_port)).expect("IMAP connects");
        let mut client = imap::Client::new(tcp);
        client.read_greeting().expect("IMAP greets");
        client
            .login(USER, PASSWORD)
            .map_err(|(err, _)| err)
            .expect("IMAP login")
    }

    /// Every message of a folder as (flags, bytes), oldest first, read without changing
    /// anything.
    pub fn messages(&self, folder: &str) -> Vec<(Vec<String>, Vec<u8>)> {
        let mut session = self.client();
        session.examine(folder).expect("the folder exists");
        let fetches = session
            .uid_fetch("1:*", "(UID FLAGS BODY.PEEK[])")
            .expect("messages fetched");
        let mut messages: Vec<(u32, Vec<String>, Vec<u8>)> = fetches
            .iter()
            .map(|fetch| {
                let flags = fetch.flags().iter().map(|f| format!("{f:?}")).collect();
                (
                    fetch.uid.unwrap_or_default(),
                    flags,
                    fetch.body().unwrap_or_default().to_vec(),
                )
            })
            .collect();
        messages.sort_by_key(|(uid, _, _)| *uid);
        let _ = session.logout();
        messages.into_iter().map(|(_, f, b)| (f, b)).collect()
    }

    /// Appends a message to a folder, as a mail client saving a draft or delivering mail.
    pub fn append(&self, folder: &str, bytes: &[u8], flags: &[imap::types::Flag<'static>]) {
        let mut session = self.client();
        session
            .append(folder, bytes)
            .flags(flags.iter().cloned())
            .finish()
            .expect("appended");
        let _ = session.logout();
    }

    /// Edits the one draft addressed to `to` as the user would in their mail client: its
    /// text goes through `edit` and is saved in its place.
    pub fn edit_draft(&self, to: &str, edit: impl FnOnce(&str) -> String) {
        let draft = self
            .messages("Drafts")
            .into_iter()
            .map(|(_, bytes)| bytes)
            .find(|bytes| String::from_utf8_lossy(bytes).contains(to))
            .unwrap_or_else(|| panic!("a draft to {to}"));
        let edited = edit(&String::from_utf8_lossy(&draft));
        self.replace("Drafts", &project::message_id(&draft), edited.as_bytes());
    }

    /// Replaces the message with this Message-ID in a folder by `bytes`, as a mail client
    /// saves an edited draft: a new message, and the old one removed.
    pub fn replace(&self, folder: &str, message_id: &str, bytes: &[u8]) {
        let mut session = self.client();
        session.select(folder).expect("the folder exists");
        let uids = session
            .uid_search(format!("HEADER Message-ID \"{message_id}\""))
            .expect("searched");
        assert_eq!(uids.len(), 1, "one message has {message_id}");
        session
            .append(folder, bytes)
            .flag(imap::types::Flag::Draft)
            .finish()
            .expect("appended");
        let set: Vec<String> = uids.iter().map(u32::to_string).collect();
        session
            .uid_store(set.join(","), "+FLAGS (\\Deleted)")
            .expect("flagged");
        session.uid_expunge(set.join(",")).expect("expunged");
        let _ = session.logout();
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its children too.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// Who Dovecot's processes run as. As root: its packaged users, with the mail folder
/// handed to `dovecot`; otherwise everything as this user.
struct Users {
    internal: String,
    login: String,
    mail: String,
}

impl Users {
    fn for_this_process(root: &Path) -> Self {
        let me = Command::new("id")
            .arg("-un")
            .output()
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
            .unwrap_or_default();
        let home = root.join("home");
        fs::create_dir_all(&home).expect("home made");
        if me == "root" {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(root, fs::Permissions::from_mode(0o755)).expect("chmod");
            let status = Command::new("chown")
                .args(["-R", "dovecot:dovecot"])
                .arg(&home)
                .status()
                .expect("chown runs");
            assert!(status.success(), "chown of the mail folder");
            Self {
                internal: "dovecot".to_owned(),
                login: "dovenull".to_owned(),
                mail: "dovecot".to_owned(),
            }
        } else {
            Self {
                internal: me.clone(),
                login: me.clone(),
                mail: me,
            }
        }
    }
}

fn dovecot_config(
    root: &Path,
    cert: &Path,
    key: &Path,
    tls_port: u16,
    starttls_port: u16,
    users: &Users,
) -> String {
    let root = root.display();
    format!(
        r"base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
# Answer a failed login at once: the failure tests give the client 2 seconds.
auth_failure_delay = 0
default_internal_user = {internal}
default_internal_group = {internal}
default_login_user = {login}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail} gid={mail} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {starttls_port}
  }}
  inet_listener imaps {{
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
",
        cert = cert.display(),
        key = key.display(),
        internal = users.internal,
        login = users.login,
        mail = users.mail,
    )
}

/// The settings `options` asks for: the login mechanisms, the token passdb, the folders'
/// namespace and the capabilities.
fn optional_config(root: &Path, options: &DovecotOptions) -> String {
    let mut config = String::new();
    if let Some(port) = options.introspection_port {
        let settings = root.join("oauth2.conf");
        fs::write(
            &settings,
            format!(
                "introspection_mode = post\n\
                 introspection_url = http://127.0.0.1:{port}/introspect\n\
                 username_attribute = username\n\
                 active_attribute = active\n\
                 active_value = true\n"
            ),
        )
        .expect("oauth2 settings written");
        config.push_str("auth_mechanisms = plain login xoauth2 oauthbearer\n");
        let _ = writeln!(
            config,
            "passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {}\n}}",
            settings.display()
        );
    } else {
        config.push_str("auth_mechanisms = plain login\n");
    }
    config.push_str(if options.courier_layout {
        "namespace inbox {\n  inbox = yes\n  prefix = INBOX.\n  separator = .\n}\n"
    } else {
        "namespace inbox {\n  inbox = yes\n  separator = /\n\
         mailbox Drafts {\n    auto = create\n    special_use = \\Drafts\n  }\n\
         mailbox Sent {\n    auto = create\n    special_use = \\Sent\n  }\n\
         mailbox Replies {\n    auto = create\n  }\n}\n"
    });
    if options.without_uidplus {
        // Dovecot's own list, less UIDPLUS.
        config.push_str(
            "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT \
             SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND \
             URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE CONDSTORE QRESYNC ESEARCH \
             ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY \
             PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE\n",
        );
    }
    config
}

/// An OAuth 2 token introspection endpoint (RFC 7662), as an identity provider serves it:
/// Dovecot's `oauth2` passdb posts each token here and is told whether it is active, and
/// whose it is. Only [`TOKEN`] is.
pub struct Introspection {
    pub port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The one access token the test servers accept: distinctive, so that a test can prove it
/// never appears in any output.
pub const TOKEN: &str = "ya29.a0-tok-Wm3-never-printed";

impl Introspection {
    pub fn start() -> Self {
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port for the endpoint");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("its address").port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => answer_introspection(stream),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Self {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Introspection {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one `POST` of `token=…` and answers whether that token is active, then closes.
fn answer_introspection(stream: TcpStream) {
    use std::io::{Read as _, Write as _};
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(stream);
    let mut length = 0;
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line.trim() != "" {
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
        line.clear();
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let body = String::from_utf8_lossy(&body);
    let token = body
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .unwrap_or_default();
    let answer = if token == TOKEN {
        format!(r#"{{"active":true,"username":"{USER}","scope":"mail"}}"#)
    } else {
        r#"{"active":false}"#.to_owned()
    };
    let mut stream = reader.into_inner();
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
}

/// A certificate authority, Dovecot and an SMTP server behaving as `options` says, all
/// trusting that authority; `None` when a server is missing.
pub fn start_both(options: &SmtpOptions) -> Option<(TestCa, Dovecot, Smtp)> {
    let ca = TestCa::new();
    let dovecot = Dovecot::start(&ca)?;
    let smtp = Smtp::start(&ca, options)?;
    Some((ca, dovecot, smtp))
}

/// How the SMTP server behaves.
#[derive(Default, Clone)]
pub struct SmtpOptions {
    /// TLS from the first byte instead of STARTTLS.
    pub implicit_tls: bool,
    /// Accept this many messages, then drop every connection.
    pub accept: Option<usize>,
    /// Refuse this recipient.
    pub refuse: Option<String>,
    /// Also accept XOAUTH2 and OAUTHBEARER logins with this access token.
    pub token: Option<String>,
    /// Refuse every recipient for now (451 4.7.0) after this many accepted messages.
    pub tempfail_after: Option<usize>,
}

/// An aiosmtpd server with STARTTLS and AUTH that keeps every message it accepts.
pub struct Smtp {
    dir: tempfile::TempDir,
    child: Child,
    stdin: Option<ChildStdin>,
    pub port: u16,
}

impl Smtp {
    pub fn start(ca: &TestCa, options: &SmtpOptions) -> Option<Self> {
        let python = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status();
        if !python.is_ok_and(|status| status.success()) {
            return missing("Python's aiosmtpd is not installed");
        }
        let dir = tempfile::tempdir().expect("a folder for the SMTP server");
        let (cert, key) = ca.write_server_files(dir.path());
        let store = dir.path().join("received");
        fs::create_dir(&store).expect("store made");
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mail/smtp_server.py");
        let mut command = Command::new("python3");
        command
            .arg(script)
            .args([
                "--port",
                &port.to_string(),
                "--user",
                USER,
                "--password",
                PASSWORD,
            ])
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .arg("--store")
            .arg(&store)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(dir.path().join("smtp.log")).expect("a log file"));
        if options.implicit_tls {
            command.arg("--implicit-tls");
        }
        if let Some(accept) = options.accept {
            command.args(["--accept", &accept.to_string()]);
        }
        if let Some(refuse) = &options.refuse {
            command.args(["--refuse", refuse]);
        }
        if let Some(token) = &options.token {
            command.args(["--token", token]);
        }
        if let Some(after) = options.tempfail_after {
            command.args(["--tempfail-after", &after.to_string()]);
        }
        let mut child = command.spawn().expect("the SMTP server starts");
        let mut ready = String::new();
        let stdout = child.stdout.take().expect("its output");
        BufReader::new(stdout)
            .read_line(&mut ready)
            .expect("it says when it is ready");
        assert_eq!(
            ready.trim(),
            "ready",
            "{}",
            fs::read_to_string(dir.path().join("smtp.log")).unwrap_or_default()
        );
        let stdin = child.stdin.take();
        Some(Self {
            dir,
            child,
            stdin,
            port,
        })
    }

    /// What the server noted of each message it accepted, oldest first: its envelope,
    /// how the sender logged in, when it arrived.
    pub fn envelopes(&self) -> Vec<serde_json::Value> {
        self.message_files()
            .iter()
            .map(|path| envelope(path))
            .collect()
    }

    /// The files of the messages received, oldest first.
    fn message_files(&self) -> Vec<PathBuf> {
        let store = self.dir.path().join("received");
        let mut names: Vec<PathBuf> = fs::read_dir(&store)
            .expect("the store")
            .map(|entry| entry.expect("an entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "eml"))
            .collect();
        names.sort();
        names
    }

    /// The messages received, oldest first: (recipients, bytes).
    pub fn received(&self) -> Vec<(Vec<String>, Vec<u8>)> {
        self.message_files()
            .into_iter()
            .map(|path| {
                let meta = envelope(&path);
                let recipients = meta["rcpt_tos"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.as_str().map(str::to_owned))
                    .collect();
                (recipients, fs::read(&path).expect("the message"))
            })
            .collect()
    }
}

/// What the server noted beside the message at `path`.
fn envelope(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path.with_extension("json")).expect("its envelope"))
        .expect("JSON")
}

impl Drop for Smtp {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
