//! Where a key sits in a YAML file's text: `serde_yaml` says where parsing failed, not where a
//! parsed value came from, so problems found after parsing are located here.

use crate::diagnostic::Location;

/// A step in a path to a YAML key: a mapping key or an item of a sequence.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    Field(&'a str),
    Item(usize),
}

/// Finds where the value at a key path starts, by reading the text line by line.
///
/// `serde_yaml` reports where parsing failed but not where a successfully parsed value came
/// from, so problems found after parsing are located here. It understands block mappings,
/// block sequences and one-line flow mappings (`- { date: …, type: … }`), which is what the
/// content format uses; anything else falls back to the nearest enclosing key it found.
pub fn locate(text: &str, keys: &[Key<'_>]) -> Option<Location> {
    if let [Key::Field(name)] = keys {
        // One top-level key, the usual question: the lines need no numbering up front.
        let pattern = format!("{name}:");
        return text.lines().enumerate().find_map(|(line, text)| {
            let column = field_column(text, &pattern, 0, true)?;
            Some(Location {
                line: line + 1,
                column: column + 1,
            })
        });
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut scope = 0..lines.len();
    let mut indent = 0;
    let mut found = None;
    for key in keys {
        let position = match *key {
            Key::Field(name) => find_field(&lines, scope.clone(), indent, found.is_none(), name),
            Key::Item(index) => find_item(&lines, scope.clone(), index),
        };
        let Some((line, column)) = position else {
            break;
        };
        found = Some(Location {
            line: line + 1,
            column: column + 1,
        });
        indent = column;
        scope = line..block_end(&lines, line, column);
    }
    found
}

/// Finds `name:` at `indent` or deeper within `scope`, also inside a one-line flow mapping.
fn find_field(
    lines: &[&str],
    scope: std::ops::Range<usize>,
    indent: usize,
    top_level: bool,
    name: &str,
) -> Option<(usize, usize)> {
    let pattern = format!("{name}:");
    scope.into_iter().find_map(|index| {
        Some((
            index,
            field_column(lines[index], &pattern, indent, top_level)?,
        ))
    })
}

/// Where the value of the key `pattern` (`name:`) starts on `line`, or the key itself when
/// its value is on the lines below: when the key is at column 0 (`top_level`) or at `indent`
/// or deeper.
fn field_column(line: &str, pattern: &str, indent: usize, top_level: bool) -> Option<usize> {
    let mut search_from = 0;
    while let Some(position) = line[search_from..].find(pattern) {
        let at = search_from + position;
        let before = line[..at].trim_end();
        let starts_key = before.is_empty()
            || before.ends_with('{')
            || before.ends_with(',')
            || before.ends_with('-');
        let indented_right = if top_level { at == 0 } else { at >= indent };
        if indented_right && starts_key {
            let value_start = at + pattern.len();
            let skipped = line[value_start..].len() - line[value_start..].trim_start().len();
            return Some(if line[value_start..].trim().is_empty() {
                at
            } else {
                value_start + skipped
            });
        }
        search_from = at + pattern.len();
    }
    None
}

/// Finds the `index`th `- ` item directly under the key whose block is `scope`.
fn find_item(
    lines: &[&str],
    scope: std::ops::Range<usize>,
    index: usize,
) -> Option<(usize, usize)> {
    let mut item_indent = None;
    let mut count = 0;
    for line_index in scope.skip(1) {
        let line = lines[line_index];
        let trimmed = line.trim_start();
        if !(trimmed.starts_with("- ") || trimmed == "-") {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if *item_indent.get_or_insert(indent) != indent {
            continue;
        }
        if count == index {
            return Some((line_index, indent));
        }
        count += 1;
    }
    None
}

/// The line after the block that starts at `line` with its key or item at `column`.
fn block_end(lines: &[&str], line: usize, column: usize) -> usize {
    let starts_item = lines[line][column..].starts_with('-');
    for (index, text) in lines.iter().enumerate().skip(line + 1) {
        let trimmed = text.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = text.len() - trimmed.len();
        let dedented =
            indent < column || (indent == column && (starts_item || !trimmed.starts_with('-')));
        if dedented {
            return index;
        }
    }
    lines.len()
}

#[cfg(test)]
mod tests {
    use super::{Key, Location, locate};

    const REFERRAL: &str = "name: Alice\nprogram: acme\nevents:\n  - { date: 2026-09-02, type: welcome_sent }\n  - date: 2026-09-05\n    type: reply\n    interest: high\n";

    // Post-parse problems point at the value of a top-level key.
    #[test]
    fn locates_top_level_key_value() {
        let at = locate(REFERRAL, &[Key::Field("program")]);
        assert_eq!(
            at,
            Some(Location {
                line: 2,
                column: 10
            })
        );
    }

    // A key inside a one-line flow mapping item is found on that item's line.
    #[test]
    fn locates_key_in_flow_item() {
        let at = locate(
            REFERRAL,
            &[Key::Field("events"), Key::Item(0), Key::Field("type")],
        );
        assert_eq!(
            at,
            Some(Location {
                line: 4,
                column: 31
            })
        );
    }

    // A key inside a block-style item is found below the item's dash.
    #[test]
    fn locates_key_in_block_item() {
        let at = locate(
            REFERRAL,
            &[Key::Field("events"), Key::Item(1), Key::Field("interest")],
        );
        assert_eq!(
            at,
            Some(Location {
                line: 7,
                column: 15
            })
        );
    }
}
