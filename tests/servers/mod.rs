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

/// Says that a server is missing: a failure where CI requires the servers, else a skip
/// message. Returns `None` for the test to return.
fn missing<T>(what: &str) -> Option<T> {
    assert!(
        std::env::var_os("AFFREL_REQUIRE_MAIL_SERVERS").is_none(),
        "{what}; AFFREL_REQUIRE_MAIL_SERVERS is set, so the mail tests must run"
    );
    eprintln!(
        "SKIPPED: {what}; `.ci/run` installs it (apt-get install dovecot-imapd, pip install aiosmtpd)"
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

/// A Dovecot IMAP server with one user, `Drafts`, `Sent` and `INBOX`, listening with TLS
/// from the first byte and with STARTTLS.
pub struct Dovecot {
    dir: tempfile::TempDir,
    child: Child,
    /// TLS from the first byte.
    pub tls_port: u16,
    /// Plain, upgraded with STARTTLS; also where the tests' own client logs in.
    pub starttls_port: u16,
}

impl Dovecot {
    pub fn start(ca: &TestCa) -> Option<Self> {
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
        fs::write(
            &config,
            dovecot_config(root, &cert, &key, tls_port, starttls_port, &users),
        )
        .expect("config written");
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
auth_mechanisms = plain login
# Answer a failed login at once: the failure tests give the client 2 seconds.
auth_failure_delay = 0
default_internal_user = {internal}
default_internal_group = {internal}
default_login_user = {login}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail} gid={mail} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Drafts {{
    auto = create
    special_use = \Drafts
  }}
  mailbox Sent {{
    auto = create
    special_use = \Sent
  }}
  mailbox Replies {{
    auto = create
  }}
}}
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

    /// The messages received, oldest first: (recipients, bytes).
    pub fn received(&self) -> Vec<(Vec<String>, Vec<u8>)> {
        let store = self.dir.path().join("received");
        let mut names: Vec<PathBuf> = fs::read_dir(&store)
            .expect("the store")
            .map(|entry| entry.expect("an entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "eml"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|path| {
                let meta: serde_json::Value = serde_json::from_slice(
                    &fs::read(path.with_extension("json")).expect("its envelope"),
                )
                .expect("JSON");
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
