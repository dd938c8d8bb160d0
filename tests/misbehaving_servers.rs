//! `drafts`, `send` and `sync` against small scripted servers on 127.0.0.1 that misbehave
//! as real servers, proxies and bridges sometimes do: a connection dropped after the final
//! dot, an answer after the deadline, bytes trickled forever, an endless line, a 4 GB
//! literal, a password echoed back, garbage and wrong tags. Each server plays its script for
//! every connection on its own free port; every socket has a timeout, and affrel is killed
//! (and the test fails) if it outlives its deadline by far.

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

mod common;
mod servers;

use common::{affrel, assert_exit, demo, text};
use servers::project::{message_id, recorded_ids, run_measured};
use servers::{PASSWORD, USER};

/// The deadline affrel is given, in seconds.
const DEADLINE: u64 = 2;

/// One connection, as a script sees it.
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    /// The next line from the client, `None` once it has gone.
    fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line),
        }
    }

    /// Sends bytes; `false` once the client has gone.
    fn send(&mut self, bytes: &[u8]) -> bool {
        self.writer.write_all(bytes).is_ok()
    }

    /// Sends `bytes` one at a time, every `gap`, until the client goes (or 60 s pass).
    fn trickle(&mut self, bytes: &[u8], gap: Duration) {
        let until = Instant::now() + Duration::from_secs(60);
        for &byte in bytes.iter().cycle() {
            if Instant::now() > until || !self.send(&[byte]) {
                return;
            }
            thread::sleep(gap);
        }
    }

    /// Reads the message after DATA, through its final dot.
    fn message(&mut self) -> Vec<u8> {
        let mut message = Vec::new();
        while let Some(line) = self.line() {
            if line == ".\r\n" {
                break;
            }
            message.extend_from_slice(line.as_bytes());
        }
        message
    }
}

/// A scripted server: its port, and the messages its script kept.
struct Scripted {
    port: u16,
    kept: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
}

type Script = dyn Fn(&mut Conn, &Mutex<Vec<Vec<u8>>>) + Send + Sync;

impl Scripted {
    /// Listens on a free port and plays `script` for each connection.
    fn start(script: impl Fn(&mut Conn, &Mutex<Vec<Vec<u8>>>) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("an address").port();
        let kept = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let script: Arc<Script> = Arc::new(script);
        let (kept_by_thread, stop_seen) = (Arc::clone(&kept), Arc::clone(&stop));
        thread::spawn(move || {
            while !stop_seen.load(Ordering::Relaxed) {
                let Ok((stream, _)) = listener.accept() else {
                    thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let (script, kept) = (Arc::clone(&script), Arc::clone(&kept_by_thread));
                thread::spawn(move || {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
                    let Ok(writer) = stream.try_clone() else {
                        return;
                    };
                    let mut conn = Conn {
                        reader: BufReader::new(stream),
                        writer,
                    };
                    script(&mut conn, &kept);
                });
            }
        });
        Self { port, kept, stop }
    }

    fn kept(&self) -> Vec<Vec<u8>> {
        self.kept.lock().expect("the messages").clone()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// An IMAP server that answers every command well, except what `answer` takes over: it
/// gets the tag, the command's name and the whole line, and returns whether it answered.
fn imap(answer: impl Fn(&mut Conn, &str, &str, &str) -> bool + Send + Sync + 'static) -> Scripted {
    Scripted::start(move |conn, _| {
        if !conn.send(b"* OK ready\r\n") {
            return;
        }
        while let Some(line) = conn.line() {
            let mut words = line.split_whitespace();
            let tag = words.next().unwrap_or_default().to_owned();
            let mut command = words.next().unwrap_or_default().to_ascii_uppercase();
            if command == "UID" {
                command = words.next().unwrap_or_default().to_ascii_uppercase();
            }
            if answer(conn, &tag, &command, &line) {
                continue;
            }
            let reply = match command.as_str() {
                "CAPABILITY" => format!("* CAPABILITY IMAP4rev1 UIDPLUS\r\n{tag} OK done\r\n"),
                "SEARCH" => format!("* SEARCH\r\n{tag} OK done\r\n"),
                "LOGOUT" => format!("* BYE bye\r\n{tag} OK done\r\n"),
                _ => format!("{tag} OK done\r\n"),
            };
            if !conn.send(reply.as_bytes()) {
                return;
            }
        }
    })
}

/// How an SMTP server answers once it has the whole message.
#[derive(Clone, Copy)]
enum AfterDot {
    Accept,
    Drop,
    AnswerLate,
}

/// An SMTP server that logs anyone in and keeps each message it reads in full.
fn smtp(after_dot: AfterDot) -> Scripted {
    Scripted::start(move |conn, kept| {
        if !conn.send(b"220 ready\r\n") {
            return;
        }
        while let Some(line) = conn.line() {
            let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" => b"250-hello\r\n250 AUTH PLAIN LOGIN\r\n",
                "AUTH" => b"235 ok\r\n",
                "MAIL" | "RCPT" => b"250 ok\r\n",
                "DATA" => {
                    conn.send(b"354 go on\r\n");
                    let message = conn.message();
                    kept.lock().expect("the messages").push(message);
                    match after_dot {
                        AfterDot::Accept => b"250 queued\r\n",
                        AfterDot::Drop => return,
                        AfterDot::AnswerLate => {
                            thread::sleep(Duration::from_secs(DEADLINE + 2));
                            b"250 queued\r\n"
                        }
                    }
                }
                "QUIT" => {
                    conn.send(b"221 bye\r\n");
                    return;
                }
                _ => b"500 what\r\n",
            };
            if !conn.send(reply) {
                return;
            }
        }
    })
}

/// The demo project with a `mail` block for these ports, in the clear on this machine.
fn project(imap_port: u16, smtp_port: u16, extra: &str) -> tempfile::TempDir {
    let dir = demo();
    let config = dir.path().join("content/config.yaml");
    let mut text = fs::read_to_string(&config).expect("the config");
    let _ = write!(
        text,
        "mail:\n  imap:\n    host: 127.0.0.1\n    port: {imap_port}\n    security: none\n    user: {USER}\n  smtp:\n    host: 127.0.0.1\n    port: {smtp_port}\n    security: none\n    user: {USER}\n{extra}"
    );
    fs::write(config, text).expect("the config written");
    dir
}

/// Runs affrel on the project with the deadline and the password, killing it (and failing
/// the test) after 40 s; returns its output and how long it ran.
fn run(root: &Path, args: &[&str]) -> (Output, Duration) {
    let mut all = args.to_vec();
    all.extend(["--root", root.to_str().expect("a UTF-8 path")]);
    let started = Instant::now();
    let mut child = affrel(&all)
        .env("AFFREL_MAIL_PASSWORD", PASSWORD)
        .env("AFFREL_MAIL_TIMEOUT", DEADLINE.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("affrel runs");
    while child.try_wait().expect("waitable").is_none() {
        if started.elapsed() > Duration::from_secs(40) {
            let _ = child.kill();
            panic!("affrel {args:?} still ran after 40 s: it hangs");
        }
        thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("its output");
    (output, started.elapsed())
}

/// Both streams of a run.
fn both(output: &Output) -> String {
    format!("{}{}", text(&output.stdout), text(&output.stderr))
}

/// Asserts that a run was cut off at its deadline with a message naming the server, and
/// that the project lock was released: another command that takes it runs at once.
fn assert_cut_off(root: &Path, (output, took): &(Output, Duration), port: u16) {
    assert_exit(output, 1);
    let said = both(output);
    assert!(
        said.contains(&format!(
            "127.0.0.1:{port} did not answer within {DEADLINE} seconds"
        )),
        "{said}"
    );
    assert!(*took < Duration::from_secs(DEADLINE + 3), "took {took:?}");
    let (new, took) = run(
        root,
        &[
            "new",
            "zed",
            "--name",
            "Zed",
            "--email",
            "zed@example.org",
            "--program",
            "acme",
        ],
    );
    assert_exit(&new, 0);
    assert!(took < Duration::from_secs(5), "the lock was held: {took:?}");
}

/// The forms the password could be echoed in.
fn password_forms() -> Vec<String> {
    vec![
        PASSWORD.to_owned(),
        STANDARD.encode(PASSWORD),
        STANDARD.encode(format!("\0{USER}\0{PASSWORD}")),
    ]
}

// A server that takes the whole message and then drops the connection before its answer:
// the email counts as sent, recorded with a note, and the next run never hands it over again.
#[test]
fn a_drop_after_the_final_dot_records_the_email_and_never_resends_it() {
    let dropping = smtp(AfterDot::Drop);
    let dir = project(1, dropping.port, "");
    let root = dir.path();
    let (output, _) = run(root, &["send", "--yes"]);
    assert_exit(&output, 1);
    let said = both(&output);
    assert!(said.contains("delivery was not confirmed"), "{said}");
    assert!(said.contains("sent folder"), "{said}");
    let kept = dropping.kept();
    assert_eq!(kept.len(), 1);
    let first = message_id(&kept[0]);
    assert_eq!(
        recorded_ids(root)
            .iter()
            .filter(|(_, id)| *id == first)
            .count(),
        1
    );
    assert!(
        fs::read_to_string(root.join("content/referrals/jose-alvarez.yaml"))
            .expect("the record")
            .contains("delivery not confirmed by the server")
    );

    let accepting = smtp(AfterDot::Accept);
    let dir_config = root.join("content/config.yaml");
    let config = fs::read_to_string(&dir_config).expect("the config");
    fs::write(
        &dir_config,
        config.replace(
            &format!("port: {}", dropping.port),
            &format!("port: {}", accepting.port),
        ),
    )
    .expect("the config written");
    let (again, _) = run(root, &["send", "--yes"]);
    assert_exit(&again, 0);
    let resent: Vec<String> = accepting.kept().iter().map(|m| message_id(m)).collect();
    assert!(!resent.is_empty());
    assert!(!resent.contains(&first), "handed over twice: {first}");
}

// A server that answers only after the deadline: the same outcome as a dropped connection.
#[test]
fn a_late_answer_after_the_final_dot_records_the_email_once() {
    let late = smtp(AfterDot::AnswerLate);
    let dir = project(1, late.port, "");
    let root = dir.path();
    let (output, _) = run(root, &["send", "--yes"]);
    assert_exit(&output, 1);
    assert!(
        both(&output).contains("delivery was not confirmed"),
        "{}",
        both(&output)
    );
    assert_eq!(late.kept().len(), 1);
    assert_eq!(recorded_ids(root).len(), 1);
    assert_eq!(recorded_ids(root)[0].1, message_id(&late.kept()[0]));
}

// A greeting trickled one byte at a time is cut off at the deadline, not reset by each byte.
#[test]
fn an_imap_greeting_trickled_forever_is_cut_off() {
    let trickling = Scripted::start(|conn, _| {
        conn.trickle(b"* OK slow\r\n", Duration::from_millis(300));
    });
    let dir = project(trickling.port, 1, "");
    let outcome = run(dir.path(), &["sync"]);
    assert_cut_off(dir.path(), &outcome, trickling.port);
}

// `* OK still working` lines every half second after LOGIN never end the exchange.
#[test]
fn an_imap_login_answered_with_endless_progress_lines_is_cut_off() {
    let busy = imap(|conn, _, command, _| {
        if command != "LOGIN" {
            return false;
        }
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until && conn.send(b"* OK still working\r\n") {
            thread::sleep(Duration::from_millis(500));
        }
        true
    });
    let dir = project(busy.port, 1, "");
    let outcome = run(dir.path(), &["sync"]);
    assert_cut_off(dir.path(), &outcome, busy.port);
}

// Opening the drafts folder answered a byte at a time is cut off too.
#[test]
fn a_folder_opened_a_byte_at_a_time_is_cut_off() {
    let slow = imap(|conn, tag, command, _| {
        if command != "SELECT" && command != "EXAMINE" {
            return false;
        }
        conn.trickle(
            format!("* 3 EXISTS\r\n{tag} OK done\r\n").as_bytes(),
            Duration::from_millis(300),
        );
        true
    });
    let dir = project(slow.port, 1, "");
    let outcome = run(dir.path(), &["drafts"]);
    assert_cut_off(dir.path(), &outcome, slow.port);
}

// An SMTP greeting trickled forever is cut off before anything is sent.
#[test]
fn an_smtp_greeting_trickled_forever_is_cut_off() {
    let trickling = Scripted::start(|conn, _| {
        conn.trickle(b"220 slow\r\n", Duration::from_millis(300));
    });
    let dir = project(1, trickling.port, "");
    let outcome = run(dir.path(), &["send", "--yes"]);
    assert_cut_off(dir.path(), &outcome, trickling.port);
    assert!(recorded_ids(dir.path()).is_empty());
}

/// Streams `x` in 64 KiB chunks until the client goes away or 4 GiB are sent.
fn flood(conn: &mut Conn) {
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..(4 * 1024 * 1024 / 64) {
        if !conn.send(&chunk) {
            return;
        }
    }
}

// A greeting line that never ends is a protocol error, and memory stays bounded.
#[test]
fn an_endless_line_is_a_protocol_error_in_bounded_memory() {
    let endless = Scripted::start(|conn, _| {
        if conn.send(b"* OK ") {
            flood(conn);
        }
    });
    let dir = project(endless.port, 1, "");
    let (output, peak_kib) = run_measured(dir.path(), &["sync"]);
    assert_exit(&output, 1);
    assert!(
        both(&output).contains("protocol error"),
        "{}",
        both(&output)
    );
    assert!(peak_kib < 100 * 1024, "peak {peak_kib} KiB");
}

// A literal announced as 4 GB is a protocol error, and memory stays bounded.
#[test]
fn a_four_gigabyte_literal_is_a_protocol_error_in_bounded_memory() {
    let huge = imap(|conn, tag, command, _| match command {
        "SEARCH" => conn.send(format!("* SEARCH 1\r\n{tag} OK done\r\n").as_bytes()),
        "FETCH" => {
            if conn.send(b"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (FROM)] {4000000000}\r\n") {
                flood(conn);
            }
            true
        }
        _ => false,
    });
    let dir = project(huge.port, 1, "");
    let (output, peak_kib) = run_measured(dir.path(), &["sync"]);
    assert_exit(&output, 1);
    assert!(
        both(&output).contains("protocol error"),
        "{}",
        both(&output)
    );
    assert!(peak_kib < 100 * 1024, "peak {peak_kib} KiB");
}

// A server that echoes the credentials in its refusal, with control characters, gets them
// printed in no form, and no control character reaches the terminal.
#[test]
fn an_imap_server_echoing_the_password_never_gets_it_printed() {
    let echoing = imap(|conn, tag, command, line| {
        if command != "LOGIN" {
            return false;
        }
        let reply = format!(
            "{tag} NO [AUTHENTICATIONFAILED] no such login: {} \u{1b}]0;pwned\u{7} {}\r\n",
            line.trim(),
            STANDARD.encode(PASSWORD)
        );
        conn.send(reply.as_bytes());
        true
    });
    let dir = project(echoing.port, 1, "");
    let (output, _) = run(dir.path(), &["sync"]);
    assert_exit(&output, 1);
    let said = both(&output);
    assert!(said.contains("refused the login"), "{said}");
    for form in password_forms() {
        assert!(!said.contains(&form), "{form} in {said}");
    }
    assert!(
        !said.contains('\u{1b}') && !said.contains('\u{7}'),
        "{said:?}"
    );
}

// The same for SMTP's `535`, which echoes the base64 of AUTH PLAIN.
#[test]
fn an_smtp_server_echoing_the_password_never_gets_it_printed() {
    let echoing = Scripted::start(|conn, _| {
        conn.send(b"220 ready\r\n");
        while let Some(line) = conn.line() {
            let reply = if line.starts_with("EHLO") {
                "250-hello\r\n250 AUTH PLAIN LOGIN\r\n".to_owned()
            } else if line.starts_with("AUTH") {
                format!("535 5.7.8 bad credentials {} {PASSWORD}\r\n", line.trim())
            } else {
                "221 bye\r\n".to_owned()
            };
            if !conn.send(reply.as_bytes()) {
                return;
            }
        }
    });
    let dir = project(1, echoing.port, "");
    let (output, _) = run(dir.path(), &["send", "--yes"]);
    assert_exit(&output, 1);
    let said = both(&output);
    assert!(said.contains("refused the login"), "{said}");
    for form in password_forms() {
        assert!(!said.contains(&form), "{form} in {said}");
    }
}

// A `password_command` that never ends, with no terminal to prompt on, is ended at the
// deadline with a message naming it.
#[test]
fn a_password_command_that_never_ends_is_ended_at_the_deadline() {
    let dir = project(1, 1, "  password_command: [sleep, \"1000\"]\n");
    let (output, took) = run(dir.path(), &["sync"]);
    assert_exit(&output, 1);
    let said = both(&output);
    assert!(
        said.contains("`mail.password_command` `sleep 1000` did not finish within 2 seconds"),
        "{said}"
    );
    assert!(took < Duration::from_secs(DEADLINE + 3), "took {took:?}");
}

// Garbage instead of a greeting, a reply that is not IMAP, and a reply with another tag are
// protocol errors: never a refused login, never a debug dump.
#[test]
fn garbage_and_wrong_tags_are_protocol_errors() {
    let garbage = Scripted::start(|conn, _| {
        conn.send(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        thread::sleep(Duration::from_millis(500));
    });
    let malformed = imap(|conn, tag, command, _| {
        command == "LOGIN" && conn.send(format!("{tag} BLAH\u{1}\r\n").as_bytes())
    });
    let wrong_tag =
        imap(|conn, _, command, _| command == "LOGIN" && conn.send(b"zz99 OK done\r\n"));
    for server in [&garbage, &malformed, &wrong_tag] {
        let dir = project(server.port, 1, "");
        let (output, _) = run(dir.path(), &["sync"]);
        assert_exit(&output, 1);
        let said = both(&output);
        assert!(
            said.contains(&format!(
                "protocol error from the IMAP server 127.0.0.1:{}",
                server.port
            )),
            "{said}"
        );
        for wrong in [
            "refused the login",
            "check the password",
            "TagMismatch",
            "{",
        ] {
            assert!(!said.contains(wrong), "{wrong} in {said}");
        }
    }
}

// `drafts --dry-run` opens the drafts folder read-only (EXAMINE), never with SELECT.
#[test]
fn a_dry_run_opens_the_drafts_folder_read_only() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let commands = Arc::clone(&seen);
    let server = imap(move |_, _, command, _| {
        commands
            .lock()
            .expect("the commands")
            .push(command.to_owned());
        false
    });
    let dir = project(server.port, 1, "");
    let (output, _) = run(dir.path(), &["drafts", "--dry-run"]);
    assert_exit(&output, 0);
    let seen = seen.lock().expect("the commands").clone();
    assert!(seen.contains(&"EXAMINE".to_owned()), "{seen:?}");
    assert!(!seen.contains(&"SELECT".to_owned()), "{seen:?}");
    assert!(!seen.contains(&"APPEND".to_owned()), "{seen:?}");
}
