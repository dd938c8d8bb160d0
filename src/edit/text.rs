//! A record's text + one new event (or a new record's fields) → the new text, changing no
//! byte of what was there: comments, blank lines, key order, quoting and line endings stay.
//!
//! The new item is placed by reading the lines, in the style the list already uses. The
//! caller re-parses the result and checks that it means exactly the old record plus the
//! new item, so a layout this scan misreads is refused rather than written.

use std::fmt::Write as _;

use crate::model::is_date_shaped;

/// A value as it will be written in YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scalar {
    /// Written as is: only used for text that YAML reads back as the same string or number.
    Plain(String),
    /// Written in double quotes with YAML escapes.
    Quoted(String),
}

impl Scalar {
    /// Text that reads back as itself: plain when that is unambiguous, else quoted.
    pub fn text(value: &str) -> Self {
        Self::shaped(value, |v| is_plain_safe(v, false))
    }

    /// Text inside a flow list (`[a, b]`), where a comma would split it.
    pub fn list_item(value: &str) -> Self {
        Self::shaped(value, |v| is_plain_safe(v, true))
    }

    /// Plain when `value` matches `shape`, so a well-formed date or number is written as one;
    /// otherwise quoted text, so that validation explains what is wrong with it.
    pub fn shaped(value: &str, shape: fn(&str) -> bool) -> Self {
        if shape(value) {
            Scalar::Plain(value.to_owned())
        } else {
            Scalar::Quoted(value.to_owned())
        }
    }

    fn write(&self, out: &mut String) {
        match self {
            Scalar::Plain(text) => out.push_str(text),
            Scalar::Quoted(text) => quote(text, out),
        }
    }
}

/// A whole number, possibly negative (so that validation can say it is negative).
fn integer_shaped(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    !digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A decimal number such as `49`, `49.5` or `-3.25`.
fn decimal_shaped(value: &str) -> bool {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, "0"));
    integer_shaped(whole) && !fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// A lowercase word such as an event type: letters and `_`.
fn word_shaped(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// Whether `value` can be written without quotes and read back as the same text: it starts
/// with a letter, uses only letters, digits, spaces and a few harmless marks, and is not a
/// word YAML gives another meaning.
fn is_plain_safe(value: &str, in_flow_list: bool) -> bool {
    const RESERVED: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", "inf",
    ];
    let harmless = |c: char| {
        c.is_alphanumeric() || c == ' ' || ".-_'@+/()&!?".contains(c) || (c == ',' && !in_flow_list)
    };
    value.chars().next().is_some_and(char::is_alphabetic)
        && !value.ends_with(' ')
        && !value.contains("  ")
        && value.chars().all(harmless)
        && !RESERVED.contains(&value.to_ascii_lowercase().as_str())
}

/// Writes `text` as a YAML double-quoted scalar: every character that is not printable or
/// could end the scalar is escaped, so the value reads back exactly and stays on one line.
fn quote(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if c.is_control() || c == '\u{feff}' => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// One new event: its keys in the order they are written, `date` and `type` first.
#[derive(Debug, Clone)]
pub struct Item {
    pub fields: Vec<(&'static str, Scalar)>,
}

impl Item {
    /// `{ date: 2026-11-25, type: welcome_sent }`
    pub fn flow(&self) -> String {
        let mut out = String::from("{ ");
        for (index, (key, value)) in self.fields.iter().enumerate() {
            if index > 0 {
                out.push_str(", ");
            }
            out.push_str(key);
            out.push_str(": ");
            value.write(&mut out);
        }
        out.push_str(" }");
        out
    }

    /// `date: …` lines for a block item; continuation lines indented by `indent`.
    fn block(&self, indent: &str, newline: &str) -> String {
        let mut out = String::new();
        for (index, (key, value)) in self.fields.iter().enumerate() {
            if index > 0 {
                out.push_str(newline);
                out.push_str(indent);
            }
            out.push_str(key);
            out.push_str(": ");
            value.write(&mut out);
        }
        out
    }
}

/// An event as given on the command line, each value as typed.
#[derive(Debug, Clone, Default)]
pub struct EventFields<'a> {
    pub date: &'a str,
    pub kind: &'a str,
    pub amount: Option<&'a str>,
    pub interest: Option<&'a str>,
    pub minutes: Option<&'a str>,
    pub reference: Option<&'a str>,
    pub note: Option<&'a str>,
    pub message_id: Option<&'a str>,
    pub address: Option<&'a str>,
}

impl Item {
    /// The event's keys in the order the samples use. Well-formed values are written plain;
    /// anything else is quoted, so that it can only ever be read as text and validation
    /// explains what is wrong with it.
    pub fn event(fields: &EventFields<'_>) -> Self {
        let mut item = vec![
            ("date", Scalar::shaped(fields.date, is_date_shaped)),
            ("type", Scalar::shaped(fields.kind, word_shaped)),
        ];
        let optional = [
            ("amount", fields.amount, decimal_shaped as fn(&str) -> bool),
            ("interest", fields.interest, word_shaped),
            ("minutes", fields.minutes, integer_shaped),
            ("ref", fields.reference, |_: &str| false),
            ("note", fields.note, |_: &str| false),
            ("message_id", fields.message_id, |_: &str| false),
            ("address", fields.address, |_: &str| false),
        ];
        for (key, value, shape) in optional {
            if let Some(value) = value {
                item.push((key, Scalar::shaped(value, shape)));
            }
        }
        Self { fields: item }
    }
}

/// A new referral as given on the command line.
#[derive(Debug, Clone)]
pub struct RecordFields<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub program: &'a str,
    pub referred_on: &'a str,
    pub motivation: Option<&'a str>,
    pub account: Option<&'a str>,
    pub tags: &'a [String],
}

/// The text of a new record, laid out and commented like the samples.
pub fn new_record(fields: &RecordFields<'_>) -> String {
    let mut lines: Vec<(String, Option<&str>)> = vec![
        (key_value("name", &Scalar::text(fields.name)), None),
        (key_value("email", &Scalar::text(fields.email)), None),
        (key_value("program", &Scalar::text(fields.program)), None),
        (
            key_value(
                "referred_on",
                &Scalar::shaped(fields.referred_on, is_date_shaped),
            ),
            None,
        ),
    ];
    if let Some(motivation) = fields.motivation {
        lines.push((
            key_value("motivation", &Scalar::text(motivation)),
            Some("their answer to \"what motivates you?\""),
        ));
    }
    if let Some(account) = fields.account {
        lines.push((
            key_value("account", &Scalar::text(account)),
            Some("their account in the program; imported sales are matched by it"),
        ));
    }
    if !fields.tags.is_empty() {
        let mut tags = String::from("tags: [");
        for (index, tag) in fields.tags.iter().enumerate() {
            if index > 0 {
                tags.push_str(", ");
            }
            Scalar::list_item(tag).write(&mut tags);
        }
        tags.push(']');
        lines.push((tags, None));
    }
    let width = lines
        .iter()
        .map(|(line, _)| line.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::from("# One file per person you referred; the file name is their id.\n");
    for (line, comment) in &lines {
        out.push_str(line);
        if let Some(comment) = comment {
            let pad = width - line.chars().count() + 3;
            let _ = write!(out, "{}# {comment}", " ".repeat(pad));
        }
        out.push('\n');
    }
    let _ = write!(
        out,
        "events:\n  # What happened, as it happens: `affrel done {id}` once you have sent the\n  # email that is due, `affrel log {id} reply --interest high` when they answer.\n",
        id = fields.id
    );
    out
}

fn key_value(key: &str, value: &Scalar) -> String {
    let mut line = format!("{key}: ");
    value.write(&mut line);
    line
}

/// Why an event could not be placed in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unplaceable(pub String);

/// `text` with `item` appended to its top-level `events` list, which is created at the end
/// of the file when absent.
pub fn append_event(text: &str, item: &Item) -> Result<String, Unplaceable> {
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let lines = Lines::new(text);
    let Some(key_line) = (0..lines.len()).find(|&i| is_events_key(lines.content(i))) else {
        let mut out = text.to_owned();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(newline);
        }
        let _ = write!(out, "events:{newline}  - {}{newline}", item.flow());
        return Ok(out);
    };
    let after_key = &lines.content(key_line)["events:".len()..];
    let value = strip_comment(after_key).trim();
    if value.starts_with('[') {
        let start = lines.start(key_line) + "events:".len() + after_key.find('[').unwrap_or(0);
        return append_to_flow_list(text, start, item, newline);
    }
    if !value.is_empty() {
        return Err(Unplaceable(format!(
            "the `events:` key holds `{value}`, not a list"
        )));
    }
    Ok(append_to_block_list(text, &lines, key_line, item, newline))
}

fn is_events_key(line: &str) -> bool {
    line.strip_prefix("events:")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// A line without its comment: from a `#` that starts the line or follows white space.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let at = (0..bytes.len()).find(|&i| bytes[i] == b'#' && (i == 0 || bytes[i - 1] == b' '));
    at.map_or(line, |i| &line[..i])
}

/// The file's lines with their byte offsets.
struct Lines<'a> {
    text: &'a str,
    /// Start offset of each line.
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        if starts.last() == Some(&text.len()) && !text.is_empty() {
            starts.pop();
        }
        Self { text, starts }
    }

    fn len(&self) -> usize {
        self.starts.len()
    }

    fn start(&self, index: usize) -> usize {
        self.starts[index]
    }

    /// Where the line's content ends: before its `\n` or `\r\n`, or at the end of the file.
    fn content_end(&self, index: usize) -> usize {
        let end = match self.starts.get(index + 1) {
            Some(&next) => next - 1,
            None => self.text.strip_suffix('\n').unwrap_or(self.text).len(),
        };
        let line = &self.text[self.starts[index]..end];
        self.starts[index] + line.strip_suffix('\r').unwrap_or(line).len()
    }

    fn content(&self, index: usize) -> &'a str {
        &self.text[self.start(index)..self.content_end(index)]
    }
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.is_empty() || trimmed.starts_with('#')
}

fn is_item(line: &str) -> bool {
    let trimmed = line.trim_start_matches(' ');
    trimmed == "-" || trimmed.starts_with("- ")
}

/// Appends to `events:` followed by block items, or by nothing (a null value).
fn append_to_block_list(
    text: &str,
    lines: &Lines<'_>,
    key_line: usize,
    item: &Item,
    newline: &str,
) -> String {
    // The block runs until the next line at column 0 that is not a comment or an item of
    // an unindented list.
    let end = (key_line + 1..lines.len())
        .find(|&i| {
            let line = lines.content(i);
            !is_blank_or_comment(line) && indent_of(line) == 0 && !is_item(line)
        })
        .unwrap_or(lines.len());
    let block = key_line + 1..end;
    let last_item = block.clone().rev().find(|&i| is_item(lines.content(i)));
    let (insert_after, entry) = if let Some(item_line) = last_item {
        after_last_item(lines, block, item_line, item, newline)
    } else {
        // No items yet: after the key and any indented comments under it.
        let last = block
            .rev()
            .find(|&i| {
                let line = lines.content(i);
                line.trim_start().starts_with('#') && indent_of(line) > 0
            })
            .unwrap_or(key_line);
        (last, format!("  - {}", item.flow()))
    };
    let at = lines.content_end(insert_after);
    let mut out = String::with_capacity(text.len() + entry.len() + 2);
    out.push_str(&text[..at]);
    out.push_str(newline);
    out.push_str(&entry);
    out.push_str(&text[at..]);
    out
}

/// Where a new item goes after the last one (the line after the block's last content), and
/// the item written like that last one: flow or block, at its indentation.
fn after_last_item(
    lines: &Lines<'_>,
    block: std::ops::Range<usize>,
    item_line: usize,
    item: &Item,
    newline: &str,
) -> (usize, String) {
    let dash_line = lines.content(item_line);
    let dash = indent_of(dash_line);
    let after_dash = &dash_line[dash + 1..];
    // Keys start after the dash's spaces, or two columns in when the dash is alone.
    let key_column = if after_dash.trim().is_empty() {
        dash + 2
    } else {
        dash + 1 + (after_dash.len() - after_dash.trim_start().len())
    };
    let last_content = block
        .rev()
        .find(|&i| !is_blank_or_comment(lines.content(i)))
        .unwrap_or(item_line);
    let body = if after_dash.trim_start().starts_with('{') {
        item.flow()
    } else {
        item.block(&" ".repeat(key_column), newline)
    };
    let gap = " ".repeat(key_column - dash - 1);
    (last_content, format!("{}-{gap}{body}", " ".repeat(dash)))
}

/// Appends to a flow list `[ … ]` that opens at byte `open`.
fn append_to_flow_list(
    text: &str,
    open: usize,
    item: &Item,
    newline: &str,
) -> Result<String, Unplaceable> {
    let scan = FlowScan::run(text, open)
        .ok_or_else(|| Unplaceable("the `[` after `events:` is never closed".to_owned()))?;
    let flow = item.flow();
    let last = scan.last_token_end;
    let same_line = !text[last..scan.close].contains('\n');
    let trailing_comma = text[..last].ends_with(',');
    let insertion = if last == open + 1 {
        flow
    } else if same_line {
        if trailing_comma {
            format!(" {flow},")
        } else {
            format!(", {flow}")
        }
    } else {
        let line_start = text[..last].rfind('\n').map_or(0, |i| i + 1);
        let indent = " ".repeat(indent_of(&text[line_start..]));
        let comma = if trailing_comma { "" } else { "," };
        let after = if trailing_comma { "," } else { "" };
        format!("{comma}{newline}{indent}{flow}{after}")
    };
    let mut out = String::with_capacity(text.len() + insertion.len());
    out.push_str(&text[..last]);
    out.push_str(&insertion);
    out.push_str(&text[last..]);
    Ok(out)
}

/// The matching `]` of a flow list, and where its last token ends.
struct FlowScan {
    close: usize,
    /// Just past the last character inside the list that is not space or comment (just past
    /// the `[` when the list is empty).
    last_token_end: usize,
}

impl FlowScan {
    fn run(text: &str, open: usize) -> Option<Self> {
        let bytes = text.as_bytes();
        let mut depth = 0usize;
        let mut last_token_end = open + 1;
        let mut i = open;
        while i < bytes.len() {
            match bytes[i] {
                b'"' | b'\'' => {
                    i = skip_quoted(bytes, i)?;
                    last_token_end = i;
                    continue;
                }
                b'#' if i > 0 && bytes[i - 1].is_ascii_whitespace() => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
                b'[' | b'{' => depth += 1,
                b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(Self {
                            close: i,
                            last_token_end,
                        });
                    }
                }
                _ => {}
            }
            if !bytes[i].is_ascii_whitespace() && i != open {
                last_token_end = i + 1;
            }
            i += 1;
        }
        None
    }
}

/// The offset just past the quoted scalar that starts at `start`.
fn skip_quoted(bytes: &[u8], start: usize) -> Option<usize> {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{Item, Scalar, append_event, quote};

    fn sale() -> Item {
        Item {
            fields: vec![
                ("date", Scalar::Plain("2026-11-25".into())),
                ("type", Scalar::Plain("sale".into())),
                ("amount", Scalar::Plain("12.5".into())),
            ],
        }
    }

    fn appended(text: &str) -> String {
        append_event(text, &sale()).unwrap()
    }

    // The new item follows the last flow item, in the same style and indentation.
    #[test]
    fn appends_a_flow_item_after_the_last_one() {
        let text = "name: A\nevents:\n  - { date: 2026-01-01, type: welcome_sent }\n\nnotes: x\n";
        assert_eq!(
            appended(text),
            "name: A\nevents:\n  - { date: 2026-01-01, type: welcome_sent }\n  - { date: 2026-11-25, type: sale, amount: 12.5 }\n\nnotes: x\n"
        );
    }

    // Block items get block items, keys aligned under the first key of the last item.
    #[test]
    fn appends_a_block_item_in_block_style() {
        let text = "events:\n- date: 2026-01-01\n  type: welcome_sent\n# done\n";
        assert_eq!(
            appended(text),
            "events:\n- date: 2026-01-01\n  type: welcome_sent\n- date: 2026-11-25\n  type: sale\n  amount: 12.5\n# done\n"
        );
    }

    // A one-line flow list grows in place; an empty one gets its first item.
    #[test]
    fn appends_inside_a_flow_list() {
        assert_eq!(
            appended("events: [{ date: 2026-01-01, type: welcome_sent }]  # c\n"),
            "events: [{ date: 2026-01-01, type: welcome_sent }, { date: 2026-11-25, type: sale, amount: 12.5 }]  # c\n"
        );
        assert_eq!(
            appended("events: []\n"),
            "events: [{ date: 2026-11-25, type: sale, amount: 12.5 }]\n"
        );
    }

    // A list spread over lines gets a new line before the closing bracket.
    #[test]
    fn appends_a_line_to_a_multi_line_flow_list() {
        let text = "events: [\n    { date: 2026-01-01, type: welcome_sent, note: \"a ] b\" }\n]\n";
        assert_eq!(
            appended(text),
            "events: [\n    { date: 2026-01-01, type: welcome_sent, note: \"a ] b\" },\n    { date: 2026-11-25, type: sale, amount: 12.5 }\n]\n"
        );
    }

    // Without an `events:` key one is created, also when the last line has no newline; CRLF
    // files stay CRLF.
    #[test]
    fn creates_the_events_key_when_absent() {
        assert_eq!(
            appended("name: A"),
            "name: A\nevents:\n  - { date: 2026-11-25, type: sale, amount: 12.5 }\n"
        );
        assert_eq!(
            appended("name: A\r\n"),
            "name: A\r\nevents:\r\n  - { date: 2026-11-25, type: sale, amount: 12.5 }\r\n"
        );
    }

    // An empty `events:` with an explaining comment gets its first item below the comment.
    #[test]
    fn appends_below_comments_of_an_empty_list() {
        let text = "events:\n  # what happened\n\n# end\n";
        assert_eq!(
            appended(text),
            "events:\n  # what happened\n  - { date: 2026-11-25, type: sale, amount: 12.5 }\n\n# end\n"
        );
    }

    // The last line's newline stays after the new item.
    #[test]
    fn appends_before_the_final_newline() {
        assert_eq!(
            appended("events:\n  - { date: 2026-01-01, type: welcome_sent }\n"),
            "events:\n  - { date: 2026-01-01, type: welcome_sent }\n  - { date: 2026-11-25, type: sale, amount: 12.5 }\n"
        );
    }

    // A file that ends in the list without a newline keeps ending without one.
    #[test]
    fn keeps_a_missing_final_newline() {
        assert_eq!(
            appended("events:\n  - { date: 2026-01-01, type: welcome_sent }"),
            "events:\n  - { date: 2026-01-01, type: welcome_sent }\n  - { date: 2026-11-25, type: sale, amount: 12.5 }"
        );
    }

    // Quoted text reads back exactly and stays on one line.
    #[test]
    fn quotes_every_character_that_could_break_out() {
        let mut out = String::new();
        quote("a \"b\" \\ c\nd\r\u{2028}\u{85}\u{1b}", &mut out);
        assert_eq!(out, r#""a \"b\" \\ c\nd\r\L\N\u001B""#);
    }

    // Ambiguous words and marks are quoted; ordinary names are not.
    #[test]
    fn writes_plain_text_only_when_it_reads_back_the_same() {
        assert_eq!(
            Scalar::text("Zoë Müller"),
            Scalar::Plain("Zoë Müller".into())
        );
        for tricky in [
            "yes", "12", "a: b", "#x", "- x", " x", "x ", "[x]", "null", "@x",
        ] {
            assert!(
                matches!(Scalar::text(tricky), Scalar::Quoted(_)),
                "{tricky}"
            );
        }
        assert!(matches!(Scalar::list_item("a,b"), Scalar::Quoted(_)));
    }
}
