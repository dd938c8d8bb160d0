//! This week's emails and what the drafts folder holds → what `affrel drafts` adds, keeps,
//! replaces and removes. Pure: the command reads the folder and changes it.
//!
//! A draft is affrel's only while it is exactly what affrel wrote. Each one carries, as its
//! first header, `X-Affrel-Draft:` and the SHA-256 of the rest of the message: a mail client
//! that saves an edited draft writes a new message whose bytes no longer match (or drops the
//! header), so an edited draft is the user's and is never touched again.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest as _, Sha256};

use crate::render::hex;

/// The header that marks affrel's drafts.
pub const MARK: &str = "X-Affrel-Draft";

/// An email due this week, as the drafts folder should hold it.
pub struct Wanted<'e> {
    pub message_id: &'e str,
    /// The recipient's address, lowercase: one referral, one action, one draft.
    pub to: String,
    /// The draft's bytes, marked.
    pub bytes: Vec<u8>,
}

/// One of affrel's drafts found in the folder.
#[derive(Debug, Clone)]
pub struct Found {
    pub uid: u32,
    pub message_id: String,
    /// The recipient's address, lowercase.
    pub to: String,
}

/// What to do to the folder.
#[derive(Debug, Default)]
pub struct Plan {
    /// Indexes into the wanted emails, to append.
    pub add: Vec<usize>,
    /// Of `add`, those that take the place of an earlier draft to the same person.
    pub replacing: BTreeSet<usize>,
    /// Wanted emails already there, unchanged.
    pub kept: Vec<usize>,
    /// Wanted emails whose draft you edited: yours now, left as they are.
    pub yours: Vec<usize>,
    /// Earlier drafts to remove: replaced, no longer due, or a second copy.
    pub remove: Vec<Found>,
    /// Of `remove`, how many an added draft replaces.
    pub superseded: usize,
}

/// The email as a draft: `X-Unsent` dropped, and the mark with the digest of the rest put
/// first.
pub fn draft_bytes(eml: &[u8]) -> Vec<u8> {
    let body = without_header_line(eml, b"X-Unsent:");
    let mut draft = format!("{MARK}: {}\r\n", digest(&body)).into_bytes();
    draft.extend_from_slice(&body);
    draft
}

/// The email as it is sent: `X-Unsent` dropped and dated `date` (RFC 5322 form), nothing
/// else changed.
pub fn sent_bytes(eml: &[u8], date: &str) -> Vec<u8> {
    let unsent = without_header_line(eml, b"X-Unsent:");
    let undated = without_header_line(&unsent, b"Date:");
    let mut sent = format!("Date: {date}\r\n").into_bytes();
    sent.extend_from_slice(&undated);
    sent
}

/// Whether `bytes` are a draft exactly as affrel wrote it.
pub fn is_intact(bytes: &[u8]) -> bool {
    let prefix = format!("{MARK}: ");
    let Some(rest) = bytes.strip_prefix(prefix.as_bytes()) else {
        return false;
    };
    let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
        return false;
    };
    rest[..end] == *digest(&rest[end + 2..]).as_bytes()
}

/// What to add, keep, replace and remove so that the folder holds exactly one intact draft
/// of each wanted email, and no other draft of affrel's. `edited` holds the Message-IDs of
/// the folder's other messages: a wanted email among them is a draft you edited, and is not
/// added again.
pub fn plan(wanted: &[Wanted<'_>], found: &[Found], edited: &BTreeSet<String>) -> Plan {
    let mut plan = Plan::default();
    let mut by_id: BTreeMap<&str, Vec<&Found>> = BTreeMap::new();
    for draft in found {
        by_id
            .entry(draft.message_id.as_str())
            .or_default()
            .push(draft);
    }
    let mut used: BTreeSet<u32> = BTreeSet::new();
    for (index, email) in wanted.iter().enumerate() {
        match by_id
            .get(email.message_id)
            .and_then(|drafts| drafts.first())
        {
            Some(first) => {
                used.insert(first.uid);
                plan.kept.push(index);
            }
            None if edited.contains(email.message_id) => plan.yours.push(index),
            None => plan.add.push(index),
        }
    }
    let added_to: BTreeMap<&str, usize> = plan
        .add
        .iter()
        .map(|&index| (wanted[index].to.as_str(), index))
        .collect();
    let wanted_ids: BTreeSet<&str> = wanted.iter().map(|w| w.message_id).collect();
    for draft in found.iter().filter(|d| !used.contains(&d.uid)) {
        if let Some(&index) = added_to.get(draft.to.as_str())
            && !wanted_ids.contains(draft.message_id.as_str())
        {
            plan.replacing.insert(index);
            plan.superseded += 1;
        }
        plan.remove.push(draft.clone());
    }
    plan
}

fn digest(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The message without the header line that starts with `name` (in the header section
/// only; affrel's own headers are never folded).
fn without_header_line(message: &[u8], name: &[u8]) -> Vec<u8> {
    let header_end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(message.len(), |end| end + 2);
    let mut out = Vec::with_capacity(message.len());
    let mut start = 0;
    while start < header_end {
        let end = message[start..header_end]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(header_end, |at| start + at + 2);
        let line = &message[start..end];
        if !line.starts_with(name) {
            out.extend_from_slice(line);
        }
        start = end;
    }
    out.extend_from_slice(&message[header_end..]);
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::{Found, Wanted, draft_bytes, is_intact, plan, sent_bytes};

    const EML: &[u8] = b"From: Sam <sam@example.com>\r\nX-Unsent: 1\r\nSubject: Hi\r\n\r\nHello\r\nX-Unsent: stays in the body\r\n";

    // A draft is the email without X-Unsent, marked; any change to it makes it the user's.
    #[test]
    fn drafts_are_marked_and_an_edit_unmarks_them() {
        let draft = draft_bytes(EML);
        assert!(draft.starts_with(b"X-Affrel-Draft: "));
        assert!(is_intact(&draft));
        let text = String::from_utf8(draft.clone()).unwrap();
        assert!(!text.contains("X-Unsent: 1"));
        assert!(text.contains("X-Unsent: stays in the body"));
        let edited = text.replace("Hello", "Hello there");
        assert!(!is_intact(edited.as_bytes()));
        let sent = sent_bytes(EML, "Sun, 29 Nov 2026 18:00:00 +0000");
        assert!(sent.starts_with(b"Date: Sun, 29 Nov 2026 18:00:00 +0000\r\nFrom: Sam"));
        assert!(!is_intact(&sent));
        assert!(!is_intact(b"X-Affrel-Draft: 00\r\n"));
    }

    fn wanted(id: &'static str, to: &str) -> Wanted<'static> {
        Wanted {
            message_id: id,
            to: to.to_owned(),
            bytes: Vec::new(),
        }
    }

    fn found(uid: u32, id: &str, to: &str) -> Found {
        Found {
            uid,
            message_id: id.to_owned(),
            to: to.to_owned(),
        }
    }

    // Kept when there, added when not, the earlier draft to the same person replaced, a
    // second copy and a draft no longer due removed, a draft you edited left to you.
    #[test]
    fn plan_keeps_adds_replaces_and_removes() {
        let wanted = [
            wanted("<a@x>", "ana@example.com"),
            wanted("<b2@x>", "ben@example.com"),
            wanted("<c@x>", "cleo@example.com"),
        ];
        let found = [
            found(1, "<a@x>", "ana@example.com"),
            found(2, "<a@x>", "ana@example.com"),
            found(3, "<b1@x>", "ben@example.com"),
            found(4, "<d@x>", "dan@example.com"),
        ];
        let edited = BTreeSet::from(["<c@x>".to_owned()]);
        let plan = plan(&wanted, &found, &edited);
        assert_eq!(plan.kept, [0]);
        assert_eq!(plan.add, [1]);
        assert_eq!(plan.yours, [2]);
        assert_eq!(plan.replacing.iter().copied().collect::<Vec<_>>(), [1]);
        let removed: Vec<u32> = plan.remove.iter().map(|f| f.uid).collect();
        assert_eq!(removed, [2, 3, 4]);
        assert_eq!(plan.superseded, 1);
    }
}
