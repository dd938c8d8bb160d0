//! Checks of single values, shared by validation, the record editor and the command line:
//! slugs, addresses, dates, characters that spoof, and "did you mean" suggestions.

use std::str::FromStr;

use chrono::NaiveDate;

/// Whether `value` matches `[a-z0-9][a-z0-9_-]*`.
pub fn is_slug(value: &str) -> bool {
    let mut bytes = value.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The longest name, tag, account or title: it must fit on one line and in a header.
pub(super) const MAX_LINE_CHARS: usize = 200;

/// Bidirectional controls and invisible format characters that have no place in a name:
/// they can reorder or hide what is shown. Zero-width joiners are not among them: Persian
/// and Indic names and emoji need them.
pub fn is_spoofing_character(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'
            | '\u{200E}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// Zero-width joiners: fine in names, never in addresses.
pub(super) fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

/// Whether `value` is an address a mail message can be sent to.
pub(super) fn is_valid_email(value: &str) -> bool {
    let value = value.trim();
    !value.chars().any(|c| c.is_control() || c.is_whitespace())
        && lettre::Address::from_str(value).is_ok_and(|address| address.domain().contains('.'))
}

/// The longest Message-ID kept: RFC 5322 lines end at 998 characters, and real ones are far
/// shorter.
const MAX_MESSAGE_ID_CHARS: usize = 250;

/// Whether `value` is a Message-ID as RFC 5322 writes one: `<`, printable ASCII with exactly
/// one `@` and no spaces or angle brackets, `>`.
pub fn is_message_id(value: &str) -> bool {
    let Some(inner) = value.strip_prefix('<').and_then(|v| v.strip_suffix('>')) else {
        return false;
    };
    let Some((left, right)) = inner.split_once('@') else {
        return false;
    };
    value.len() <= MAX_MESSAGE_ID_CHARS
        && !left.is_empty()
        && !right.is_empty()
        && inner
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"<>\"\\ ".contains(&b))
        && !right.contains('@')
}

/// Whether `value` has the shape of a `YYYY-MM-DD` date: four digits, `-`, two, `-`, two.
pub fn is_date_shaped(value: &str) -> bool {
    value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// Parses a strict `YYYY-MM-DD` date, explaining what is wrong otherwise.
pub fn parse_date(value: &str) -> Result<NaiveDate, String> {
    if !is_date_shaped(value) {
        return Err(format!("`{value}` is not a date in YYYY-MM-DD form"));
    }
    let number = |range: std::ops::Range<usize>| value[range].parse::<u32>().unwrap_or(0);
    // Four digits always fit an `i32`.
    let year = i32::try_from(number(0..4)).unwrap_or(0);
    NaiveDate::from_ymd_opt(year, number(5..7), number(8..10))
        .ok_or_else(|| format!("`{value}` is not a real calendar date"))
}

/// How to write a date that is not `YYYY-MM-DD`, with the intended date spelled out where the
/// mistake is a common one: unpadded numbers, or day and month around slashes or dots.
pub(super) fn date_help(value: &str) -> String {
    let numbers: Vec<u32> = value
        .trim()
        .split(['-', '/', '.'])
        .map(str::parse)
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    let written = |y: u32, m: u32, d: u32| {
        NaiveDate::from_ymd_opt(y as i32, m, d).map(|date| date.format("%Y-%m-%d").to_string())
    };
    match numbers[..] {
        [y, m, d] if y >= 1000 && value.contains('-') => match written(y, m, d) {
            Some(date) => format!("write it as `{date}`: four-digit year, two-digit month and day"),
            None => "write dates as YYYY-MM-DD, e.g. 2026-09-01".to_owned(),
        },
        [a, b, y] if y >= 1000 => match (written(y, b, a), written(y, a, b)) {
            (Some(day_first), Some(month_first)) if day_first != month_first => format!(
                "write dates as YYYY-MM-DD: `{day_first}` if the day comes first, `{month_first}` if the month does"
            ),
            (Some(date), _) | (None, Some(date)) => {
                format!("write dates as YYYY-MM-DD: `{date}`")
            }
            (None, None) => "write dates as YYYY-MM-DD, e.g. 2026-09-01".to_owned(),
        },
        _ => "write dates as YYYY-MM-DD, e.g. 2026-09-01".to_owned(),
    }
}

/// "did you mean `x`?" for the candidate closest to a misspelt `word`, if one is close.
pub fn did_you_mean<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    closest(word, candidates).map(|candidate| format!("did you mean `{candidate}`?"))
}

/// The candidate closest to a misspelt `word`, if one is close enough to be the intent.
pub(super) fn closest<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let word = word.to_lowercase();
    candidates
        .map(|candidate| (strsim::levenshtein(&word, candidate), candidate))
        .filter(|&(distance, candidate)| distance <= (candidate.chars().count() / 3).max(1))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

pub(super) fn quoted_list(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("`{w}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::{did_you_mean, is_slug, is_valid_email, parse_date};
    use strsim::levenshtein as edit_distance;

    // Ids are file names and must stay safe as output file names.
    #[test]
    fn slug_accepts_lowercase_words_and_rejects_paths() {
        assert!(is_slug("alice-walker_2"));
        assert!(is_slug("0day"));
        for bad in ["", "-alice", "Alice", "al ice", "../x", "a/b", "é"] {
            assert!(!is_slug(bad), "{bad}");
        }
    }

    // Addresses must be deliverable-looking and carry no header tricks.
    #[test]
    fn email_validation_rejects_malformed_addresses() {
        assert!(is_valid_email("alice@example.com"));
        for bad in [
            "alice",
            "alice@",
            "@example.com",
            "a b@example.com",
            "a@example",
            "a@b.com\r\nBcc: x@y.z",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    // Dates must be real and written in one form.
    #[test]
    fn dates_must_be_real_and_zero_padded() {
        assert!(parse_date("2028-02-29").is_ok());
        assert!(
            parse_date("2026-02-29")
                .unwrap_err()
                .contains("real calendar date")
        );
        assert!(parse_date("2026-9-1").unwrap_err().contains("YYYY-MM-DD"));
    }

    // Misspelt words get a suggestion; unrelated words do not.
    #[test]
    fn suggests_the_closest_word_for_a_typo() {
        assert_eq!(edit_distance("welcom_sent", "welcome_sent"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        let kinds = ["welcome_sent", "nudge_sent", "sale"];
        let suggest = |word| did_you_mean(word, kinds.iter().copied());
        assert_eq!(
            suggest("welcom_sent").as_deref(),
            Some("did you mean `welcome_sent`?")
        );
        assert_eq!(suggest("Sale").as_deref(), Some("did you mean `sale`?"));
        assert_eq!(suggest("purchase"), None);
    }
}
