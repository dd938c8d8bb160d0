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
    /// Its subject and `Date` header as a mail client shows them, to tell the user which
    /// draft is meant.
    pub subject: String,
    pub date: String,
    /// What it says, for comparing with the email as it is now: the message without the
    /// mark and the `Date` line (which follows the as-of date, not the email).
    pub content: Vec<u8>,
}

/// What to do to the folder.
#[derive(Debug, Default)]
pub struct Plan {
    /// Indexes into the wanted emails, to append.
    pub add: Vec<usize>,
    /// Of `add`, those that take the place of an earlier draft of the same email.
    pub replacing: BTreeSet<usize>,
    /// Wanted emails already there, unchanged.
    pub kept: Vec<usize>,
    /// Wanted emails whose draft you edited: yours now, left as they are.
    pub yours: Vec<usize>,
    /// Earlier drafts to remove: replaced, no longer due, or a second copy.
    pub remove: Vec<Found>,
    /// Of `remove`, the UIDs that an added draft replaces.
    pub superseded: BTreeSet<u32>,
    /// Where the server cannot remove single messages: wanted emails whose earlier draft
    /// differs from them, not added beside it, with that draft.
    pub outdated: Vec<(usize, Found)>,
}

/// The email as a draft: `X-Unsent` dropped, and the mark with the digest of the rest put
/// first.
pub fn draft_bytes(eml: &[u8]) -> Vec<u8> {
    let body = without_header_line(eml, b"X-Unsent:");
    let mut draft = format!("{MARK}: {}\r\n", digest(&body)).into_bytes();
    draft.extend_from_slice(&body);
    draft
}

/// What a draft says, for comparing: without the mark and the `Date` line.
pub fn content(draft: &[u8]) -> Vec<u8> {
    let unmarked = without_header_line(draft, MARK.as_bytes());
    without_header_line(&unmarked, b"Date:")
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

/// What to add, keep, replace and remove so that the folder holds exactly one draft of each
/// wanted email, and no other draft of affrel's. A draft is matched to its email by
/// Message-ID, which names the action, and kept while it says what the email says now, else
/// replaced. `edited` holds the Message-IDs of the folder's other messages: a wanted email
/// among them is a draft you edited, and is never added beside it. Where the server cannot
/// remove single messages (`can_remove` false), nothing is added beside a draft that would
/// have to go.
pub fn plan(
    wanted: &[Wanted<'_>],
    found: &[Found],
    edited: &BTreeSet<String>,
    can_remove: bool,
) -> Plan {
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
        let drafts = by_id.get(email.message_id).map_or(&[][..], Vec::as_slice);
        let now = content(&email.bytes);
        let same = drafts.iter().find(|draft| draft.content == now);
        if let Some(same) = same {
            used.insert(same.uid);
            plan.kept.push(index);
        } else if edited.contains(email.message_id) {
            plan.yours.push(index);
        } else if let Some(earlier) = drafts.first().filter(|_| !can_remove) {
            used.extend(drafts.iter().map(|draft| draft.uid));
            plan.outdated.push((index, (*earlier).clone()));
        } else {
            if !drafts.is_empty() {
                plan.replacing.insert(index);
                plan.superseded.extend(drafts.iter().map(|draft| draft.uid));
            }
            plan.add.push(index);
        }
    }
    plan.remove = found
        .iter()
        .filter(|draft| !used.contains(&draft.uid))
        .cloned()
        .collect();
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

    use super::{Found, Wanted, content, draft_bytes, is_intact, plan, sent_bytes};

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

    fn wanted(id: &'static str, to: &str, says: &str) -> Wanted<'static> {
        Wanted {
            message_id: id,
            to: to.to_owned(),
            bytes: draft_bytes(format!("To: {to}\r\nDate: today\r\n\r\n{says}").as_bytes()),
        }
    }

    fn found(uid: u32, id: &str, to: &str, says: &str) -> Found {
        let bytes = draft_bytes(format!("To: {to}\r\nDate: earlier\r\n\r\n{says}").as_bytes());
        Found {
            uid,
            message_id: id.to_owned(),
            to: to.to_owned(),
            subject: String::new(),
            date: "earlier".to_owned(),
            content: content(&bytes),
        }
    }

    // Kept when there and the same (whatever its Date), added when not, replaced when its
    // email changed, a second copy and a draft no longer due removed, a draft you edited
    // left to you and never doubled.
    #[test]
    fn plan_keeps_adds_replaces_and_removes() {
        let wanted = [
            wanted("<a@x>", "ana@example.com", "Hello"),
            wanted("<b@x>", "ben@example.com", "New words"),
            wanted("<c@x>", "cleo@example.com", "Hi"),
            wanted("<e@x>", "eve@example.com", "Hey"),
        ];
        let found = [
            found(1, "<a@x>", "ana@example.com", "Hello"),
            found(2, "<a@x>", "ana@example.com", "Hello"),
            found(3, "<b@x>", "ben@example.com", "Old words"),
            found(4, "<d@x>", "dan@example.com", "Bye"),
        ];
        let edited = BTreeSet::from(["<c@x>".to_owned()]);
        let plan = plan(&wanted, &found, &edited, true);
        assert_eq!(plan.kept, [0]);
        assert_eq!(plan.add, [1, 3]);
        assert_eq!(plan.yours, [2]);
        assert_eq!(plan.replacing.iter().copied().collect::<Vec<_>>(), [1]);
        let removed: Vec<u32> = plan.remove.iter().map(|f| f.uid).collect();
        assert_eq!(removed, [2, 3, 4]);
        assert_eq!(plan.superseded.iter().copied().collect::<Vec<_>>(), [3]);
    }

    // Without single-message removal, a changed email is not added beside its earlier
    // draft: one draft per email, whatever the server can do.
    #[test]
    fn without_removal_a_changed_email_is_not_added_twice() {
        let wanted = [wanted("<b@x>", "ben@example.com", "New words")];
        let found = [found(3, "<b@x>", "ben@example.com", "Old words")];
        let plan = plan(&wanted, &found, &BTreeSet::new(), false);
        assert!(plan.add.is_empty());
        assert!(plan.remove.is_empty());
        assert_eq!(plan.outdated.len(), 1);
        assert_eq!(plan.outdated[0].1.uid, 3);
    }
}
