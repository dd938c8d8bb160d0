//! The bytes between affrel and a mail server, with the bounds every exchange keeps: one
//! deadline from the moment a command is written until its whole answer is read, however the
//! bytes arrive (a server that trickles one byte a second is cut off as surely as a silent
//! one), and at most [`MAX_ANSWER`] bytes in one answer. IMAP and SMTP both talk through a
//! [`Bounded`] connection, TLS on top of it, so no caller can forget the bounds.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The most one answer may bring: far above any header batch, draft or reply affrel asks
/// for, far below what would strain memory.
pub const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// Which bound a server broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// The exchange took longer than the deadline.
    Deadline,
    /// The answer grew past [`MAX_ANSWER`].
    Size,
}

impl fmt::Display for Exceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Deadline => f.write_str("the exchange ran past its deadline"),
            Self::Size => write!(
                f,
                "the answer ran past {} MiB without ending",
                MAX_ANSWER / (1024 * 1024)
            ),
        }
    }
}

impl std::error::Error for Exceeded {}

/// Which bound an I/O error reports, if it is one of these.
pub fn exceeded(err: &io::Error) -> Option<Exceeded> {
    err.get_ref()
        .and_then(|inner| inner.downcast_ref::<Exceeded>())
        .copied()
}

/// A TCP connection whose every exchange is bounded in time and size.
pub struct Bounded {
    tcp: TcpStream,
    /// How long one exchange may take.
    limit: Duration,
    /// When the current exchange must be over.
    deadline: Instant,
    /// Bytes read in the current exchange.
    read: usize,
    /// Whether the last call read: the next write starts a new exchange.
    answering: bool,
}

impl Bounded {
    /// Bounds a fresh connection; its first exchange (the server's greeting) starts now.
    pub fn new(tcp: TcpStream, limit: Duration) -> Self {
        Self {
            tcp,
            limit,
            deadline: Instant::now() + limit,
            read: 0,
            answering: false,
        }
    }

    /// This end's address, for SMTP's EHLO.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// The time left in this exchange, or the deadline error.
    fn remaining(&self) -> io::Result<Duration> {
        self.deadline
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
            .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, Exceeded::Deadline))
    }
}

impl Read for Bounded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.answering = true;
        if self.read >= MAX_ANSWER {
            return Err(io::Error::new(io::ErrorKind::InvalidData, Exceeded::Size));
        }
        self.tcp.set_read_timeout(Some(self.remaining()?))?;
        let room = buf.len().min(MAX_ANSWER - self.read);
        match self.tcp.read(&mut buf[..room]) {
            Ok(count) => {
                self.read += count;
                Ok(count)
            }
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(io::Error::new(io::ErrorKind::TimedOut, Exceeded::Deadline))
            }
            Err(err) => Err(err),
        }
    }
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.answering {
            self.answering = false;
            self.deadline = Instant::now() + self.limit;
            self.read = 0;
        }
        self.tcp.set_write_timeout(Some(self.remaining()?))?;
        match self.tcp.write(buf) {
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(io::Error::new(io::ErrorKind::TimedOut, Exceeded::Deadline))
            }
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    use super::{Bounded, Exceeded, MAX_ANSWER, exceeded};

    /// A connected pair: the client end bounded by `limit`, and the server end.
    fn pair(limit: Duration) -> (Bounded, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (Bounded::new(client, limit), server)
    }

    // A server that trickles a byte at a time is cut off at the deadline, not reset by each
    // byte as a per-read timeout would be.
    #[test]
    fn a_trickle_is_cut_off_at_the_deadline() {
        let (mut client, mut server) = pair(Duration::from_millis(600));
        let trickle = std::thread::spawn(move || {
            for _ in 0..40 {
                if server.write_all(b"x").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let started = Instant::now();
        let mut byte = [0u8];
        let err = loop {
            if let Err(err) = client.read(&mut byte) {
                break err;
            }
        };
        assert_eq!(exceeded(&err), Some(Exceeded::Deadline));
        assert!(started.elapsed() < Duration::from_millis(1200));
        drop(client);
        trickle.join().unwrap();
    }

    // Writing a command starts a new exchange with a fresh deadline and budget.
    #[test]
    fn each_command_gets_its_own_deadline() {
        let (mut client, mut server) = pair(Duration::from_millis(400));
        let mut buf = [0u8; 8];
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(250));
            client.write_all(b"ping").unwrap();
            server.write_all(b"pong").unwrap();
            client.read_exact(&mut buf[..4]).unwrap();
        }
    }

    // An answer that never ends is cut off at the byte budget.
    #[test]
    fn an_endless_answer_is_cut_off_at_the_budget() {
        let (mut client, mut server) = pair(Duration::from_secs(20));
        let flood = std::thread::spawn(move || {
            let chunk = vec![b'x'; 64 * 1024];
            while server.write_all(&chunk).is_ok() {}
        });
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        let err = loop {
            match client.read(&mut buf) {
                Ok(count) => total += count,
                Err(err) => break err,
            }
        };
        assert_eq!(exceeded(&err), Some(Exceeded::Size));
        assert_eq!(total, MAX_ANSWER);
        drop(client);
        flood.join().unwrap();
    }
}
