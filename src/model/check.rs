//! Locating the problems of one file: each problem is placed at the key path it is about.

use chrono::NaiveDate;

use crate::diagnostic::{Diagnostic, Location, WarningKind};
use crate::load::{Field, Key, Source, UnknownKeys};

use super::text::{
    MAX_LINE_CHARS, date_help, did_you_mean, is_joiner, is_spoofing_character, is_valid_email,
    parse_date, quoted_list,
};

/// Collects the problems of one file, each located by a key path.
pub(super) struct FileCheck<'a> {
    pub(super) source: &'a Source,
    pub(super) problems: Vec<Diagnostic>,
}

impl<'a> FileCheck<'a> {
    pub(super) fn new(source: &'a Source) -> Self {
        Self {
            source,
            problems: Vec::new(),
        }
    }

    pub(super) fn error(
        &mut self,
        keys: &[Key<'_>],
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.problems.push(
            Diagnostic::error(&self.source.path, message)
                .at_location(self.source.locate(keys))
                .with_help(help),
        );
    }

    /// A key the block at `keys[..len - 1]` must have: reported when it is absent (located
    /// at its block, or the start of the file) or of the wrong shape.
    pub(super) fn required<'f, T>(
        &mut self,
        keys: &[Key<'_>],
        field: Option<&'f Field<T>>,
        shape: &str,
    ) -> Option<&'f T> {
        if field.is_none() {
            let (name, block) = split_last_key(keys);
            let location = self
                .source
                .locate(block)
                .unwrap_or(Location { line: 1, column: 1 });
            self.problems.push(
                Diagnostic::error(&self.source.path, format!("the key `{name}` is missing"))
                    .at_location(Some(location))
                    .with_help(format!("add `{name}:` with {shape}")),
            );
        }
        self.optional(keys, field, shape)
    }

    /// A key the block may have: reported when it is of the wrong shape.
    pub(super) fn optional<'f, T>(
        &mut self,
        keys: &[Key<'_>],
        field: Option<&'f Field<T>>,
        shape: &str,
    ) -> Option<&'f T> {
        match field {
            Some(Field::Valid(value)) => Some(value),
            Some(Field::Invalid(written)) => {
                let (name, _) = split_last_key(keys);
                self.error(
                    keys,
                    format!("`{name}` should be {shape}, not {}", describe(written)),
                    format!("write {shape} here"),
                );
                None
            }
            None => None,
        }
    }

    /// Reports every key of a block that the format does not define.
    pub(super) fn unknown_keys(
        &mut self,
        block: &[Key<'_>],
        unknown: &UnknownKeys,
        allowed: &[&str],
    ) {
        for name in unknown.keys() {
            let mut keys = block.to_vec();
            keys.push(Key::Field(name));
            let help = did_you_mean(name, allowed.iter().copied()).unwrap_or_else(|| {
                format!("remove it; the keys here are {}", quoted_list(allowed))
            });
            self.problems.push(
                Diagnostic::error(&self.source.path, format!("unknown key `{name}`"))
                    .at_location(
                        self.source
                            .locate_key(&keys)
                            .or(Some(Location { line: 1, column: 1 })),
                    )
                    .with_help(help),
            );
        }
    }

    /// Checks a required human-readable line of text (a name).
    pub(super) fn text_line(&mut self, keys: &[Key<'_>], what: &str, value: &str) -> String {
        if value.trim().is_empty() {
            self.error(
                keys,
                format!("{what} is empty"),
                format!("write the {what}"),
            );
        } else if value.chars().any(char::is_control) {
            self.error(
                keys,
                format!("{what} contains a control character (such as a line break or tab)"),
                format!("write the {what} on one line, without tabs"),
            );
        } else if value.chars().count() > MAX_LINE_CHARS {
            self.error(
                keys,
                format!(
                    "{what} is {} characters long, more than {MAX_LINE_CHARS}",
                    value.chars().count()
                ),
                format!("shorten the {what}: it is shown on one line, and in email headers"),
            );
        } else {
            self.no_invisible(keys, what, value, is_spoofing_character);
        }
        value.trim().to_owned()
    }

    /// Refuses characters that are invisible or reorder text, which can make a value show
    /// as something it is not (a name in a mail client's From line, a row in the report).
    pub(super) fn no_invisible(
        &mut self,
        keys: &[Key<'_>],
        what: &str,
        value: &str,
        bad: fn(char) -> bool,
    ) {
        if let Some(c) = value.chars().find(|&c| bad(c)) {
            self.error(
                keys,
                format!(
                    "{what} contains the invisible character U+{:04X}, which can make it display as something else",
                    u32::from(c)
                ),
                format!("retype the {what} without it (it often comes with text pasted from a web page)"),
            );
        }
    }

    pub(super) fn email(&mut self, keys: &[Key<'_>], value: &str) -> String {
        let invisible = value
            .chars()
            .any(|c| is_spoofing_character(c) || is_joiner(c));
        if invisible {
            self.no_invisible(keys, "email address", value, |c| {
                is_spoofing_character(c) || is_joiner(c)
            });
        } else if !is_valid_email(value) {
            self.error(
                keys,
                format!("`{value}` is not a valid email address"),
                "write an address like `name@example.com`",
            );
        }
        value.trim().to_owned()
    }

    pub(super) fn date(&mut self, keys: &[Key<'_>], value: &str) -> Option<NaiveDate> {
        match parse_date(value) {
            Ok(date) => Some(date),
            Err(message) => {
                self.error(keys, message, date_help(value));
                None
            }
        }
    }

    /// Warns about a date that has not happened yet: usually a mistyped year.
    pub(super) fn not_after_today(&mut self, keys: &[Key<'_>], date: NaiveDate, today: NaiveDate) {
        if date > today {
            self.warning(
                WarningKind::DateAfterToday,
                keys,
                format!("{date} is after today ({today}), so the report ignores it until then"),
                "check the year; if it is right, nothing needs doing",
            );
        }
    }

    pub(super) fn warning(
        &mut self,
        kind: WarningKind,
        keys: &[Key<'_>],
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.problems.push(
            Diagnostic::warning(kind, &self.source.path, message)
                .at_location(self.source.locate(keys))
                .with_help(help),
        );
    }

    /// The value, unless an error was found; and every diagnostic, warnings included.
    pub(super) fn finish<T>(self, value: Option<T>) -> (Option<T>, Vec<Diagnostic>) {
        let failed = self.problems.iter().any(Diagnostic::is_error);
        (value.filter(|_| !failed), self.problems)
    }
}

/// The last key of a path (its name) and the path of the block holding it.
pub(super) fn split_last_key<'k>(keys: &'k [Key<'k>]) -> (&'k str, &'k [Key<'k>]) {
    match keys.split_last() {
        Some((Key::Field(name), block)) => (name, block),
        Some((Key::Item(_), block)) => ("item", block),
        None => ("document", keys),
    }
}

/// How a value of the wrong shape was written, for an error message.
pub(super) fn describe(value: &serde_yaml::Value) -> String {
    match value {
        serde_yaml::Value::Null => "empty".to_owned(),
        serde_yaml::Value::Bool(b) => format!("`{b}`"),
        serde_yaml::Value::Number(n) => format!("the number `{n}`"),
        serde_yaml::Value::String(text) => format!("the text `{text}`"),
        serde_yaml::Value::Sequence(_) => "a list".to_owned(),
        serde_yaml::Value::Mapping(_) => "a block of keys".to_owned(),
        serde_yaml::Value::Tagged(_) => "a tagged value".to_owned(),
    }
}
