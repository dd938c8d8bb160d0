//! The one YAML parser, and its messages made plain for people who write YAML rather than
//! Rust: a location for every problem, advice for the commonest slips, and a guard against
//! nesting that would make parsing slow.

use std::fmt::Write as _;
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::diagnostic::{Diagnostic, Location};

use super::{Key, Loaded, RawEmail, RawFrontMatter, RawReferral, Source, common_shape};

/// Parses a referral file's text: the one way a record is read, whether from disk or as a
/// changed record about to be written.
/// Files in the common shape are read by [`common_shape`], the rest by the general parser.
pub fn parse_referral(source: Source) -> Result<Loaded<RawReferral>, Diagnostic> {
    match common_shape::referral(&source.text) {
        Some(value) => Ok(Loaded { source, value }),
        None => parse_file(source, 0),
    }
}

/// Parses YAML text into a plain value tree, through the one YAML parser.
pub fn parse_value(path: &Path, text: &str) -> Result<serde_yaml::Value, Diagnostic> {
    parse_yaml(path, text, 0)
}

/// Parses a whole YAML file into `T`.
pub(super) fn parse_file<T: DeserializeOwned>(
    source: Source,
    line_offset: usize,
) -> Result<Loaded<T>, Diagnostic> {
    let blank = |line: &str| line.trim().is_empty() || line.trim_start().starts_with('#');
    if source.text.lines().all(blank) {
        let message = if source.text.trim().is_empty() {
            "the file is empty"
        } else {
            "the file has nothing but comments"
        };
        return Err(Diagnostic::error(&source.path, message)
            .at(1, 1)
            .with_help("see the content format in README.md for the keys this file needs"));
    }
    let value = parse_yaml(&source.path, &source.text, line_offset)?;
    Ok(Loaded { source, value })
}

/// The one place YAML is parsed. `line_offset` is the number of lines above `text` in the
/// file (front matter), so that locations point into the real file.
fn parse_yaml<T: DeserializeOwned>(
    path: &Path,
    text: &str,
    line_offset: usize,
) -> Result<T, Diagnostic> {
    if let Some(at) = too_deeply_nested(text) {
        return Err(Diagnostic::error(
            path,
            format!("`[ ]` and `{{ }}` are nested more than {MAX_FLOW_DEPTH} levels deep"),
        )
        .at(at.line + line_offset, at.column)
        .with_help("the content format needs at most two levels: remove the extra brackets"));
    }
    serde_yaml::from_str(text).map_err(|err| {
        let at = err.location().map(|l| (l.line(), l.column()));
        let message = plain_yaml_message(&err.to_string(), at, line_offset);
        let at = repeated_top_level_key(text, &message).or(at);
        let help = at
            .and_then(|(line, _)| common_mistake(text, line))
            .unwrap_or_else(|| yaml_error_help(&message).to_owned());
        let several_documents = help == SEVERAL_DOCUMENTS_HELP;
        let diagnostic = Diagnostic::error(path, message).with_help(help);
        match at {
            Some((line, column)) => diagnostic.at(line + line_offset, column),
            None if several_documents => diagnostic.at_location(second_document(text, line_offset)),
            None => diagnostic,
        }
    })
}

/// `serde_yaml` places a repeated key at the start of its mapping; for a top-level key, find the
/// line that repeats it.
fn repeated_top_level_key(text: &str, message: &str) -> Option<(usize, usize)> {
    let name = message.strip_prefix("duplicate key `")?.split('`').next()?;
    let prefix = format!("{name}:");
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.starts_with(&prefix))
        .nth(1)
        .map(|(index, _)| (index + 1, 1))
}

/// Flow collections nested deeper than this are refused before parsing: the YAML parser takes
/// time quadratic in the depth (minutes for a file of a few hundred kilobytes), and the content
/// format never needs more than two levels.
const MAX_FLOW_DEPTH: usize = 64;

/// Where `[` or `{` first opens a collection deeper than [`MAX_FLOW_DEPTH`], by a linear
/// scan that skips quoted scalars and comments. Only brackets that can start a node count, so
/// that brackets inside plain text are never mistaken for nesting: it may undercount, which
/// only weakens the guard, but never rejects valid content.
fn too_deeply_nested(text: &str) -> Option<Location> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (line_index, line) in text.lines().enumerate() {
        // The last character that was not a space on this line, `None` at its start.
        let mut previous: Option<char> = None;
        let mut after_space = true;
        let mut chars = line.chars().enumerate();
        while let Some((index, c)) = chars.next() {
            if let Some(open) = quote {
                if c == '\\' && open == '"' {
                    chars.next();
                } else if c == open {
                    quote = None;
                    previous = Some(c);
                }
                continue;
            }
            let starts_node = matches!(previous, None | Some(':' | '-' | '?' | ',' | '[' | '{'));
            match c {
                '#' if after_space => break,
                '"' | '\'' if starts_node => quote = Some(c),
                '[' | '{' if starts_node => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Some(Location {
                            line: line_index + 1,
                            column: index + 1,
                        });
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            after_space = c.is_whitespace();
            if !after_space {
                // A bracket inside plain text is text: it starts nothing after it either.
                let text_bracket = matches!(c, '[' | '{') && !starts_node;
                previous = Some(if text_bracket { 'x' } else { c });
            }
        }
    }
    None
}

/// Rewrites a `serde_yaml` message for people who write YAML rather than Rust: the error's
/// own location is shown separately so it is dropped from the text, any other location (the
/// start of the construct being parsed) is moved past the front matter, and Rust type names
/// become words.
fn plain_yaml_message(message: &str, at: Option<(usize, usize)>, line_offset: usize) -> String {
    const MARKER: &str = " at line ";
    let mut plain = String::with_capacity(message.len());
    let mut rest = message;
    let mut own_location_dropped = false;
    while let Some(index) = rest.find(MARKER) {
        plain.push_str(&rest[..index]);
        let after = &rest[index + MARKER.len()..];
        if let Some((line, column, length)) = parse_line_column(after) {
            if !own_location_dropped && at == Some((line, column)) {
                own_location_dropped = true;
            } else {
                // Writing to a String cannot fail.
                let _ = write!(plain, "{MARKER}{} column {column}", line + line_offset);
            }
            rest = &after[length..];
        } else {
            plain.push_str(MARKER);
            rest = after;
        }
    }
    plain.push_str(rest);
    plain_type_names(&plain)
}

/// Reads `L column C` at the start of `text`: (L, C, bytes read).
fn parse_line_column(text: &str) -> Option<(usize, usize, usize)> {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let line_len = digits(text);
    let line = text[..line_len].parse().ok()?;
    let after_line = text[line_len..].strip_prefix(" column ")?;
    let column_len = digits(after_line);
    let column = after_line[..column_len].parse().ok()?;
    Some((line, column, text.len() - after_line.len() + column_len))
}

/// Replaces serde's Rust words ("field", type names) with the words of the content format.
fn plain_type_names(message: &str) -> String {
    let mut plain = message
        .replace("unknown field `", "unknown key `")
        .replace("missing field `", "missing key `")
        .replace("duplicate field `", "duplicate key `")
        .replace("expected field identifier", "expected a key name")
        .replace("expected u32", "expected a whole number of at least 0")
        .replace("expected f64", "expected a number")
        .replace("expected a boolean", "expected `true` or `false`")
        .replace("expected a sequence", "expected a list")
        .replace("invalid type: sequence", "invalid type: list")
        .replace("invalid type: map", "invalid type: mapping of keys")
        .replace(
            "deserializing from YAML containing more than one document is not supported",
            "the file holds more than one YAML document",
        );
    while let Some(index) = plain.find("expected struct ") {
        let name_start = index + "expected struct ".len();
        let name_len = plain[name_start..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(plain.len() - name_start);
        plain.replace_range(
            index..name_start + name_len,
            "expected a mapping of `key: value` lines",
        );
    }
    plain
}

/// Advice for the YAML mistakes people make most, recognised on the line where parsing
/// failed (1-based): a tab in the indentation, an unquoted value holding `: `, and list
/// items with no key above them.
fn common_mistake(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let error_line = *lines.get(line.checked_sub(1)?)?;
    let indentation = &error_line[..error_line.len() - error_line.trim_start().len()];
    if indentation.contains('\t') {
        return Some("YAML does not allow tabs in indentation: indent with spaces".to_owned());
    }
    if let Some((key, value)) = value_with_colon(error_line) {
        return Some(format!(
            "the value of `{key}` contains `: `, which YAML reads as the start of another key: put the value in quotes, `{key}: \"{value}\"`"
        ));
    }
    if is_orphan_item(&lines, line - 1) {
        return Some(
            "this list item has no key above it: add a line `events:` before the first `- ` item (and indent the items under it)"
                .to_owned(),
        );
    }
    None
}

/// The first `key: value` pair on the line whose unquoted value itself holds `: `.
fn value_with_colon(line: &str) -> Option<(&str, &str)> {
    let body = line.trim_start().trim_start_matches("- ").trim();
    let body = body
        .strip_prefix('{')
        .map_or(body, |inner| inner.trim_end_matches('}'));
    body.split(", ").find_map(|pair| {
        let (key, value) = pair.trim().split_once(": ")?;
        let value = value.trim();
        let quoted = value.starts_with(['"', '\'']);
        (!quoted && value.contains(": ")).then_some((key.trim(), value))
    })
}

/// Whether the line at `index` (0-based) is a `- ` item whose nearest line above that is not
/// an item, blank or a comment is not a `key:` opening a block.
fn is_orphan_item(lines: &[&str], index: usize) -> bool {
    let is_item = |line: &str| {
        let trimmed = line.trim_start();
        trimmed == "-" || trimmed.starts_with("- ")
    };
    if !is_item(lines[index]) {
        return false;
    }
    let above = lines[..index].iter().rev().find(|line| {
        let trimmed = line.trim();
        !(trimmed.is_empty()
            || trimmed.starts_with('#')
            || is_item(line)
            || line.starts_with([' ', '\t']))
    });
    above.is_none_or(|line| {
        let without_comment = line.split(" #").next().unwrap_or(line).trim_end();
        !without_comment.ends_with(':')
    })
}

const SEVERAL_DOCUMENTS_HELP: &str = "a file holds one record: remove the `---` line and what follows it, or move it to a file of its own";

fn yaml_error_help(message: &str) -> &'static str {
    if message.contains("unknown key") {
        "remove the key or correct its spelling"
    } else if message.contains("missing key") {
        "add the missing key"
    } else if message.contains("duplicate") {
        "keep only one of the repeated keys"
    } else if message.contains("more than one YAML document") {
        SEVERAL_DOCUMENTS_HELP
    } else if message.contains("while parsing a flow") {
        "check that the `{ … }` or `[ … ]` that starts there is closed and its items are separated by commas"
    } else if message.contains("recursion limit") || message.contains("repetition limit") {
        "remove the YAML aliases (`*name`) that expand this document"
    } else if message.contains("invalid type") || message.contains("invalid value") {
        "check the value's type against the content format in README.md"
    } else {
        "fix the YAML syntax at this place"
    }
}

/// The `---` line that starts a second YAML document, for the error `serde_yaml` gives
/// without a location.
fn second_document(text: &str, line_offset: usize) -> Option<Location> {
    let mut seen_content = false;
    for (index, line) in text.lines().enumerate() {
        let is_marker = line == "---" || line.starts_with("--- ");
        if is_marker && seen_content {
            return Some(Location {
                line: index + 1 + line_offset,
                column: 1,
            });
        }
        let trimmed = line.trim();
        seen_content |= !(trimmed.is_empty() || trimmed.starts_with('#'));
        seen_content |= is_marker;
    }
    None
}

/// Splits `---` front matter from the body and parses both halves' metadata.
pub(super) fn parse_email(source: Source, stem: String) -> Result<Loaded<RawEmail>, Diagnostic> {
    let Some((front_text, body, body_line)) = split_front_matter(&source.text) else {
        return Err(
            Diagnostic::error(&source.path, "the email template has no front matter")
                .at(1, 1)
                .with_help("start the file with `---`, a `subject: \"…\"` line and another `---`"),
        );
    };
    if front_text.trim().is_empty() {
        return Err(Diagnostic::error(&source.path, "the front matter is empty")
            .at(2, 1)
            .with_help("add a `subject: \"…\"` line between the `---` lines"));
    }
    let front: RawFrontMatter = parse_yaml(&source.path, front_text, 1)?;
    let subject_location = source
        .locate(&[Key::Field("subject")])
        .unwrap_or(Location { line: 2, column: 1 });
    let email = RawEmail {
        stem,
        front,
        subject_location,
        body: body.to_owned(),
        body_line,
    };
    Ok(Loaded {
        source,
        value: email,
    })
}

/// Returns (front matter, body, 1-based line where the body starts).
fn split_front_matter(text: &str) -> Option<(&str, &str, usize)> {
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let mut offset = 0;
    for (index, line) in rest.split_inclusive('\n').enumerate() {
        if line.trim_end() == "---" {
            let front = &rest[..offset];
            let body = &rest[offset + line.len()..];
            return Some((front, body, index + 3));
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{
        Location, MAX_FLOW_DEPTH, plain_yaml_message, second_document, split_front_matter,
        too_deeply_nested,
    };

    // The body of an email template starts on the line after the closing `---`.
    #[test]
    fn splits_front_matter_and_counts_body_line() {
        let (front, body, line) = split_front_matter("---\nsubject: Hi\n---\nHello\n").unwrap();
        assert_eq!((front, body, line), ("subject: Hi\n", "Hello\n", 4));
    }

    // Locations are printed separately, so serde_yaml's own location is removed from the text.
    #[test]
    fn removes_the_errors_own_location_from_the_message() {
        assert_eq!(
            plain_yaml_message(
                "unknown field `x`, expected `a` at line 2 column 1",
                Some((2, 1)),
                0
            ),
            "unknown key `x`, expected `a`"
        );
        assert_eq!(
            plain_yaml_message("no location here", None, 0),
            "no location here"
        );
    }

    // The start of the construct being parsed stays in the message, shifted past the front
    // matter like the error's own location.
    #[test]
    fn keeps_the_context_location_shifted_by_the_front_matter() {
        assert_eq!(
            plain_yaml_message(
                "found unexpected end of stream at line 3 column 1, while scanning a quoted scalar at line 1 column 10",
                Some((3, 1)),
                1
            ),
            "found unexpected end of stream, while scanning a quoted scalar at line 2 column 10"
        );
    }

    // Users write YAML, not Rust: serde's type names are replaced by content-format words.
    #[test]
    fn replaces_rust_type_names() {
        assert_eq!(
            plain_yaml_message(
                "invalid type: sequence, expected struct RawReferral at line 1 column 1",
                Some((1, 1)),
                0
            ),
            "invalid type: list, expected a mapping of `key: value` lines"
        );
        assert_eq!(
            plain_yaml_message(
                "rules.quiet_after_days: invalid type: integer `-1`, expected u32",
                None,
                0
            ),
            "rules.quiet_after_days: invalid type: integer `-1`, expected a whole number of at least 0"
        );
    }

    // Deep flow nesting is refused where it crosses the limit; brackets in quotes, comments
    // and plain text do not count.
    #[test]
    fn finds_flow_nesting_deeper_than_the_limit() {
        let deep = format!("name: x\nnotes: {}\n", "[".repeat(MAX_FLOW_DEPTH + 1));
        assert_eq!(
            too_deeply_nested(&deep),
            Some(Location {
                line: 2,
                column: 8 + MAX_FLOW_DEPTH
            })
        );
        let at_limit = format!(
            "notes: {}{}\n",
            "{a: ".repeat(MAX_FLOW_DEPTH),
            "}".repeat(MAX_FLOW_DEPTH)
        );
        assert_eq!(too_deeply_nested(&at_limit), None);
        let brackets = "[".repeat(2 * MAX_FLOW_DEPTH);
        for harmless in [
            format!("note: \"{brackets}\"\n"),
            format!("note: '{brackets}'\n"),
            format!("note: x # {brackets}\n"),
            format!("note: see{brackets}\n"),
            format!("note: \"multi\n  {brackets}\"\n"),
            format!("note: \"a \\\" {brackets}\"\n"),
        ] {
            assert_eq!(too_deeply_nested(&harmless), None, "{harmless}");
        }
    }

    // A second document is located at its `---` line, not at a document-start marker.
    #[test]
    fn locates_the_second_document() {
        let at = |text| second_document(text, 0).map(|l| l.line);
        assert_eq!(at("name: a\n---\nname: b\n"), Some(2));
        assert_eq!(at("---\nname: a\n--- \nname: b\n"), Some(3));
        assert_eq!(at("# c\n---\nname: a\n---\n"), Some(4));
    }
}
