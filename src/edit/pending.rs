//! The email `send` has handed to the server and not yet recorded. It is written down, on
//! disk, before the email goes, and removed once its event is recorded; a run stopped in
//! between leaves it, and the next `send --yes` records that email as sent rather than send
//! it again.

use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::commit::{remove_durably, write_durably};
use crate::diagnostic::Diagnostic;

/// Beside `content/`, while one email is on its way.
pub const PENDING_FILE: &str = ".content.affrel-sending";

/// What is needed to record the email as sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    /// The referral's id.
    pub id: String,
    /// The event that records it, such as `welcome_sent`.
    pub event: String,
    pub date: String,
    pub message_id: String,
    pub to: String,
    pub subject: String,
    /// The event's note: set when the server never confirmed the email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Writes it down before the email goes.
pub fn write(root: &Path, pending: &Pending) -> Result<(), Diagnostic> {
    let json = serde_json::to_vec(pending).map_err(io::Error::other);
    json.and_then(|json| write_durably(root, Path::new(PENDING_FILE), &json))
        .map_err(|err| problem(&format!("cannot write it: {err}")))
}

/// The email a stopped run left on its way, if any.
pub fn read(root: &Path) -> Result<Option<Pending>, Diagnostic> {
    match fs::read(root.join(PENDING_FILE)) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|err| problem(&format!("cannot read it: {err}"))),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(problem(&format!("cannot read it: {err}"))),
    }
}

/// Forgets it, once recorded (or never sent).
pub fn clear(root: &Path) -> Result<(), Diagnostic> {
    remove_durably(root, Path::new(PENDING_FILE))
        .map_err(|err| problem(&format!("cannot remove it: {err}")))
}

fn problem(what: &str) -> Diagnostic {
    Diagnostic::error(
        PENDING_FILE,
        format!("the note of the email being sent: {what}"),
    )
    .with_help("check the project folder's permissions and free space; it names one email that was handed to the server, so record it with `affrel done` if it went out")
}
