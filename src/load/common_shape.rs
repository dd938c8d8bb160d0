//! Referral files in the shape nearly all of them have, read straight into a [`RawReferral`]
//! without the general YAML parser, which would otherwise spend most of a large build's
//! reading time on them: `key: value` lines, tags as `[a, b]` or a `- ` list, and events as
//! one `{ … }` per line or as `- key: value` blocks, with comments and blank lines anywhere.
//!
//! This is only a shortcut. Anything outside that shape, and any value the general parser
//! could read differently (an empty value, `null`, `true`, a backslash escape, a number where
//! text is expected, a `:` or `#` inside a value, a repeated or unknown key), gives `None`,
//! and the file goes through [`super::yaml`] as before. So the shortcut never decides what a
//! value means where the general parser could decide otherwise, and never reports a problem:
//! every message about a file still comes from the one parser.

use super::{Field, RawEvent, RawReferral};

/// The record in `text`, when the whole file has the common shape; `None` otherwise.
pub fn referral(text: &str) -> Option<RawReferral> {
    if text.chars().any(needs_general_parser) {
        return None;
    }
    let mut lines = Lines::new(text);
    let mut referral = RawReferral::default();
    let mut any_key = false;
    while let Some(line) = lines.next() {
        let (key, value) = top_level_entry(line)?;
        any_key = true;
        match key {
            "name" => set(&mut referral.name, text_value(value)?)?,
            "email" => set(&mut referral.email, text_value(value)?)?,
            "program" => set(&mut referral.program, text_value(value)?)?,
            "referred_on" => set(&mut referral.referred_on, text_value(value)?)?,
            "motivation" => set(&mut referral.motivation, text_value(value)?)?,
            "account" => set(&mut referral.account, text_value(value)?)?,
            "notes" => set(&mut referral.notes, text_value(value)?)?,
            "tags" => set(&mut referral.tags, list_value(value, &mut lines)?)?,
            "events" => set(&mut referral.events, events_value(value, &mut lines)?)?,
            _ => return None,
        }
    }
    any_key.then_some(referral)
}

/// Characters the shortcut leaves to the general parser: tabs, carriage returns, backslash
/// escapes, control characters, and the characters YAML reads as line breaks or refuses.
fn needs_general_parser(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(
            c,
            '\\' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
}

/// The lines that hold something: blank lines and whole-line comments are skipped.
struct Lines<'t> {
    inner: std::iter::Peekable<std::str::Lines<'t>>,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str) -> Self {
        Self {
            inner: text.lines().peekable(),
        }
    }

    fn skip_empty(&mut self) {
        while self.inner.next_if(|line| is_empty_line(line)).is_some() {}
    }

    fn next(&mut self) -> Option<&'t str> {
        self.skip_empty();
        self.inner.next()
    }

    fn peek(&mut self) -> Option<&'t str> {
        self.skip_empty();
        self.inner.peek().copied()
    }

    /// Whether the next line, if any, is a top-level key: after a list, any other indented
    /// line is something the shortcut cannot read.
    fn at_top_level(&mut self) -> bool {
        self.peek().is_none_or(|line| !line.starts_with(' '))
    }
}

fn is_empty_line(line: &str) -> bool {
    let content = line.trim_start_matches(' ');
    content.is_empty() || content.starts_with('#')
}

/// Stores a key's value, refusing a key given twice.
fn set<T>(slot: &mut Option<Field<T>>, value: T) -> Option<()> {
    slot.is_none().then(|| *slot = Some(Field::Valid(value)))
}

/// `key: value` or `key:` at the start of a line: the key, and what follows `:` with
/// leading spaces trimmed.
fn top_level_entry(line: &str) -> Option<(&str, &str)> {
    let (key, rest) = line.split_once(':')?;
    let is_key = !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if !is_key || !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some((key, rest.trim_start_matches(' ')))
}

/// A text value on the key's own line, ended by the line or a comment.
fn text_value(value: &str) -> Option<String> {
    let mut cursor = Cursor::new(value);
    let text = cursor.text(Context::Block)?;
    cursor.end_of_line()?;
    Some(text)
}

/// `[a, b]` on the key's line, or a `- item` per line below it.
fn list_value(value: &str, lines: &mut Lines<'_>) -> Option<Vec<String>> {
    if !value.is_empty() {
        let mut cursor = Cursor::new(value);
        let items = cursor.flow_list()?;
        cursor.end_of_line()?;
        return Some(items);
    }
    let indent = item_indent(lines.peek()?)?;
    let mut items = Vec::new();
    while let Some(item) = lines.peek().and_then(|line| item_text(line, indent)) {
        lines.next();
        items.push(text_value(item)?);
    }
    lines.at_top_level().then_some(items)
}

/// `[]` on the key's line, or a `- ` item per event below it: `- { date: …, type: … }`, or
/// `- date: …` with the event's other keys on the lines below, indented under `date`.
fn events_value(value: &str, lines: &mut Lines<'_>) -> Option<Vec<RawEvent>> {
    if !value.is_empty() {
        return (value == "[]").then(Vec::new);
    }
    let indent = item_indent(lines.peek()?)?;
    let mut events = Vec::new();
    while let Some(item) = lines.peek().and_then(|line| item_text(line, indent)) {
        lines.next();
        let mut event = RawEvent::default();
        if item.starts_with('{') {
            let mut cursor = Cursor::new(item);
            cursor.flow_event(&mut event)?;
            cursor.end_of_line()?;
        } else {
            event_entry(item, &mut event)?;
            let continuation = indent + 2;
            while let Some(entry) = lines
                .peek()
                .and_then(|line| continued_entry(line, continuation))
            {
                lines.next();
                event_entry(entry, &mut event)?;
            }
        }
        events.push(event);
    }
    lines.at_top_level().then_some(events)
}

/// The indentation of a `- ` item line.
fn item_indent(line: &str) -> Option<usize> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    line[indent..].starts_with("- ").then_some(indent)
}

/// What follows `- ` on an item line at exactly `indent` spaces.
fn item_text(line: &str, indent: usize) -> Option<&str> {
    let rest = line.get(indent..)?;
    let item = rest.strip_prefix("- ")?;
    (line[..indent].bytes().all(|b| b == b' ') && !item.starts_with(' ')).then_some(item)
}

/// A `key: value` line at exactly `indent` spaces, inside a block event.
fn continued_entry(line: &str, indent: usize) -> Option<&str> {
    let rest = line.get(indent..)?;
    let starts_key = rest.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
    (line[..indent].bytes().all(|b| b == b' ') && starts_key).then_some(rest)
}

/// One `key: value` of a block event.
fn event_entry(entry: &str, event: &mut RawEvent) -> Option<()> {
    let (key, value) = top_level_entry(entry)?;
    let mut cursor = Cursor::new(value);
    event_field(&mut cursor, key, event, Context::Block)?;
    cursor.end_of_line()
}

/// Reads the value of event key `key` at the cursor into `event`.
fn event_field(
    cursor: &mut Cursor<'_>,
    key: &str,
    event: &mut RawEvent,
    context: Context,
) -> Option<()> {
    match key {
        "date" => set(&mut event.date, cursor.text(context)?),
        "type" => set(&mut event.kind, cursor.text(context)?),
        "interest" => set(&mut event.interest, cursor.text(context)?),
        "note" => set(&mut event.note, cursor.text(context)?),
        "ref" => set(&mut event.reference, cursor.text(context)?),
        "message_id" => set(&mut event.message_id, cursor.text(context)?),
        "address" => set(&mut event.address, cursor.text(context)?),
        "amount" => set(&mut event.amount, amount(cursor.plain(context)?)?),
        "minutes" => set(&mut event.minutes, whole_number(cursor.plain(context)?)?),
        _ => None,
    }
}

/// A money amount written `49`, `49.5` or `49.00`: digits with no leading zero, at most 15
/// of them before the point, so that it reads as the same `f64` either way.
fn amount(plain: &str) -> Option<f64> {
    let (whole, fraction) = match plain.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (plain, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let no_leading_zero = whole == "0" || !whole.starts_with('0');
    let whole_ok = digits(whole) && whole.len() <= 15 && no_leading_zero;
    (whole_ok && fraction.is_none_or(digits))
        .then(|| plain.parse().ok())
        .flatten()
}

/// A whole number of minutes: up to nine digits, no leading zero.
fn whole_number(plain: &str) -> Option<u32> {
    let digits = !plain.is_empty() && plain.len() <= 9 && plain.bytes().all(|b| b.is_ascii_digit());
    (digits && (plain == "0" || !plain.starts_with('0')))
        .then(|| plain.parse().ok())
        .flatten()
}

/// Whether a value sits on a line of its own (block) or inside `[ ]` / `{ }` (flow), where
/// `,`, `]` and `}` end it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Context {
    Block,
    Flow,
}

/// A position in the value part of one line.
struct Cursor<'t> {
    rest: &'t str,
}

impl<'t> Cursor<'t> {
    fn new(text: &'t str) -> Self {
        Self { rest: text }
    }

    fn skip_spaces(&mut self) {
        self.rest = self.rest.trim_start_matches(' ');
    }

    fn eat(&mut self, c: char) -> Option<()> {
        self.rest = self.rest.strip_prefix(c)?;
        Some(())
    }

    /// Only spaces and a comment may follow.
    fn end_of_line(&mut self) -> Option<()> {
        let had_space = self.rest.starts_with(' ');
        self.skip_spaces();
        (self.rest.is_empty() || (had_space && self.rest.starts_with('#'))).then_some(())
    }

    /// A text value: quoted, or a plain scalar that YAML reads as text and nothing else.
    fn text(&mut self, context: Context) -> Option<String> {
        match self.rest.chars().next()? {
            '"' | '\'' => self.quoted(),
            _ => {
                let plain = self.plain(context)?;
                is_plain_text(plain).then(|| plain.to_owned())
            }
        }
    }

    /// `"…"` without escapes, or `'…'` without a doubled quote.
    fn quoted(&mut self) -> Option<String> {
        let quote = self.rest.chars().next()?;
        let inner = &self.rest[1..];
        let end = inner.find(quote)?;
        let after = &inner[end + 1..];
        if after.starts_with(quote) {
            return None;
        }
        self.rest = after;
        Some(inner[..end].to_owned())
    }

    /// A plain scalar: from a letter or digit up to the end of the line, a comment, or (in
    /// flow) the next `,`, `]` or `}`; trailing spaces are not part of it. `None` for any
    /// character that could make YAML read it otherwise.
    fn plain(&mut self, context: Context) -> Option<&'t str> {
        if !self.rest.chars().next()?.is_alphanumeric() {
            return None;
        }
        let end = match context {
            Context::Block => self.rest.find(" #").unwrap_or(self.rest.len()),
            Context::Flow => self.rest.find([',', ']', '}']).unwrap_or(self.rest.len()),
        };
        let plain = self.rest[..end].trim_end_matches(' ');
        // In a block, `,`, brackets and quotes after the first character are text; `:` and
        // `#` can end the value in either context, so they are left to the general parser.
        let risky = |c: char| match context {
            Context::Block => matches!(c, ':' | '#'),
            Context::Flow => matches!(c, ':' | '#' | '"' | '[' | '{'),
        };
        if plain.contains(risky) {
            return None;
        }
        self.rest = &self.rest[plain.len()..];
        Some(plain)
    }

    /// `[a, b, "c"]`, or `[]`.
    fn flow_list(&mut self) -> Option<Vec<String>> {
        self.eat('[')?;
        self.skip_spaces();
        let mut items = Vec::new();
        if self.eat(']').is_some() {
            return Some(items);
        }
        loop {
            items.push(self.text(Context::Flow)?);
            self.skip_spaces();
            if self.eat(']').is_some() {
                return Some(items);
            }
            self.eat(',')?;
            self.skip_spaces();
        }
    }

    /// `{ date: …, type: …, … }`: one event on one line.
    fn flow_event(&mut self, event: &mut RawEvent) -> Option<()> {
        self.eat('{')?;
        loop {
            self.skip_spaces();
            let key_len = self
                .rest
                .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))?;
            let key = &self.rest[..key_len];
            self.rest = self.rest[key_len..].strip_prefix(": ")?;
            self.skip_spaces();
            event_field(self, key, event, Context::Flow)?;
            self.skip_spaces();
            if self.eat('}').is_some() {
                return Some(());
            }
            self.eat(',')?;
        }
    }
}

/// Whether YAML reads this plain scalar as the text itself: it starts with a letter and is
/// not a word for null or a boolean, or it is a date such as `2026-11-05`, which YAML's
/// number rules leave as text. Anything starting with a digit could be a number.
fn is_plain_text(plain: &str) -> bool {
    const OTHER_MEANINGS: &[&str] = &[
        "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
    ];
    let starts_with_letter = plain.chars().next().is_some_and(char::is_alphabetic);
    (starts_with_letter && !OTHER_MEANINGS.contains(&plain)) || is_date(plain)
}

/// `YYYY-MM-DD`, digits only.
fn is_date(plain: &str) -> bool {
    let bytes = plain.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(index, &b)| match index {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        })
}

#[cfg(test)]
mod tests {
    use super::referral;
    use crate::load::RawReferral;

    /// What the general parser makes of `text`, in the same form.
    fn general(text: &str) -> Option<String> {
        serde_yaml::from_str::<RawReferral>(text)
            .ok()
            .map(|parsed| format!("{parsed:?}"))
    }

    /// Wherever the shortcut reads a file, the general parser reads it the same way.
    fn assert_agrees(text: &str) -> bool {
        let Some(quick) = referral(text) else {
            return false;
        };
        assert_eq!(
            Some(format!("{quick:?}")),
            general(text),
            "the shortcut reads this differently:\n{text}"
        );
        true
    }

    const COMMON: &str = "\
name: José Álvarez   # from the podcast
email: jose@example.com
program: inkwell
referred_on: 2026-10-14
motivation: Q&A sessions, and it's fun
account: jalvarez
tags: [podcaster, \"two words\", 'it''s']

notes: 'Signed up: through the link'
events:
  # the first sale
  - { date: 2026-11-02, type: sale, amount: 29.00 }
  - { date: 2026-11-03, type: welcome_sent, minutes: 15, note: \"hi, there\" }
  - date: 2026-11-09
    type: reply
    interest: high
  - { date: 2026-11-10, type: sale, amount: 5, ref: A-1 }
";

    // The shapes people and affrel write are read by the shortcut, exactly as the general
    // parser reads them.
    #[test]
    fn reads_the_common_shapes_as_the_general_parser_does() {
        // 'it''s' has a doubled quote, which the shortcut leaves alone.
        assert!(!assert_agrees(COMMON));
        let common = COMMON.replace("'it''s'", "its");
        assert!(assert_agrees(&common));
        for path in walkdir::WalkDir::new(concat!(env!("CARGO_MANIFEST_DIR"), "/content/referrals"))
            .into_iter()
            .flatten()
            .filter(|entry| entry.path().extension().is_some_and(|e| e == "yaml"))
        {
            let text = std::fs::read_to_string(path.path()).unwrap();
            assert!(
                assert_agrees(&text),
                "{} is not read by the shortcut",
                path.path().display()
            );
        }
        let block_tags = "name: A\ntags:\n- a\n- b c\nevents: []\n";
        assert!(assert_agrees(block_tags));
    }

    // Every value the general parser might read otherwise is left to it.
    #[test]
    fn leaves_every_doubtful_value_to_the_general_parser() {
        let doubtful = [
            "name: null",
            "name: True",
            "name: ~",
            "name:",
            "name: 12",
            "name: 0x1F",
            "name: 2026-1-05",
            "name: .inf",
            "name: a: b",
            "name: a#b",
            "name: \"a\\tb\"",
            "name: \"a\"b",
            "name: |\n  text",
            "name: >\n  text",
            "name: &anchor a",
            "name: !!str a",
            "name: a\n  continued",
            "name: a\nname: b",
            "nmae: a",
            "name: a\r\n",
            "name:\ta",
            "---\nname: a",
            "tags: [a, [b]]",
            "tags: [a,]",
            "tags: [a, b",
            "events: { date: 2026-01-01 }",
            "events:\n  - { date: 2026-01-01, date: 2026-01-02 }",
            "events:\n  - { date: 2026-01-01, amount: 007 }",
            "events:\n  - { date: 2026-01-01, amount: 1e3 }",
            "events:\n  - { date: 2026-01-01, amount: 5. }",
            "events:\n  - { date: 2026-01-01, amount: -5 }",
            "events:\n  - { date: 2026-01-01, minutes: 1.5 }",
            "events:\n  - { date: 2026-01-01, minutes: \"15\" }",
            "events:\n  - { date: 2026-01-01, bogus: 1 }",
            "events:\n  - { date:2026-01-01 }",
            "events:\n  - { date: 2026-01-01,\n      type: sale }",
            "events:\n  - date: 2026-01-01\n     type: sale",
            "events:\n  - date: 2026-01-01\n  type: sale",
            "events:\n  - { date: 2026-01-01 } trailing",
            "",
            "# only a comment",
        ];
        for text in doubtful {
            assert!(referral(text).is_none(), "the shortcut read:\n{text}");
        }
    }

    // Random values from an alphabet of YAML's special characters: whatever the shortcut
    // reads, the general parser reads the same.
    #[test]
    fn agrees_with_the_general_parser_on_random_values() {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            "é",
            "7",
            "0",
            " ",
            "  ",
            ".",
            "-",
            "_",
            ":",
            "#",
            "'",
            "\"",
            ",",
            "[",
            "]",
            "{",
            "}",
            "&",
            "*",
            "!",
            "|",
            ">",
            "%",
            "@",
            "`",
            "?",
            "~",
            "null",
            "true",
            "e",
            "x",
            "2026-01-05",
            "1.5",
            "\\",
            "\t",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |limit: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % limit as u64).unwrap_or(0)
        };
        let mut read = 0;
        for _ in 0..20_000 {
            let mut value = String::new();
            for _ in 0..=next(5) {
                value.push_str(PIECES[next(PIECES.len())]);
            }
            let text = match next(5) {
                0 => format!("name: {value}\n"),
                1 => format!("tags: [{value}, b]\n"),
                2 => format!("events:\n  - {{ date: 2026-01-05, note: {value} }}\n"),
                3 => format!("events:\n  - {{ date: 2026-01-05, amount: {value} }}\n"),
                _ => format!("events:\n  - date: {value}\n    minutes: {value}\n"),
            };
            read += usize::from(assert_agrees(&text));
        }
        // The alphabet is rich enough that the shortcut both reads and refuses many.
        assert!(read > 1_000, "only {read} read");
    }
}
