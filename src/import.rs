//! A program's sales export (CSV bytes) + the validated project → the sales it would add to
//! each referral, the rows already recorded, and a located diagnostic for every row it could
//! not use. Pure: the command reads the file and writes the records.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;

use crate::diagnostic::{Diagnostic, WarningKind};
use crate::load::BOM;
use crate::model::{self, EventKind, ImportMapping, Program, Project, Referral};

/// One sale the export adds.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSale {
    /// The CSV line the row starts on.
    pub line: usize,
    pub date: NaiveDate,
    /// The amount as a plain decimal, e.g. `1234.50`.
    pub amount: Option<String>,
    pub reference: Option<String>,
}

/// What an export adds, by referral id, and what it left out.
#[derive(Debug, Default)]
pub struct Plan {
    /// New sales by referral id, in file order.
    pub sales: BTreeMap<String, Vec<NewSale>>,
    /// Rows whose sale is already in the records.
    pub already_recorded: usize,
    /// Rows skipped, with why (warnings), and rows that could not be read (errors).
    pub problems: Vec<Diagnostic>,
}

impl Plan {
    /// How many sales the export adds.
    pub fn sale_count(&self) -> usize {
        self.sales.values().map(Vec::len).sum()
    }
}

/// Reads `bytes`, the export of `program_id` found at `path`, against the project.
pub fn plan(
    project: &Project,
    program_id: &str,
    path: &Path,
    bytes: &[u8],
) -> Result<Plan, Vec<Diagnostic>> {
    let program = find_program(project, program_id, path)?;
    let Some(mapping) = &program.import else {
        return Err(vec![Diagnostic::error(
            "content/config.yaml",
            format!("the program `{program_id}` has no `import` block, so affrel cannot read its exports"),
        )
        .with_help("add `import:` under the program with the export's column names: `referral:` and `date:`, and optionally `date_format:`, `amount:` and `ref:`")]);
    };
    let text = std::str::from_utf8(bytes).map_err(|_| {
        vec![
            Diagnostic::error(path, "the file is not UTF-8 text")
                .with_help("export the sales as CSV in UTF-8, or save the file again as UTF-8"),
        ]
    })?;
    let text = text.strip_prefix(BOM).unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(text))
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|err| {
            vec![Diagnostic::error(path, format!("cannot read the header line: {err}")).at(1, 1)]
        })?
        .clone();
    let columns = Columns::find(&header, mapping, path)?;
    let referrals: Vec<&Referral> = project
        .referrals
        .iter()
        .filter(|r| r.program == program.id)
        .collect();
    let mut recorded = Recorded::new(&referrals);
    let mut plan = Plan::default();
    let lines = Lines::new(text);
    let line_of =
        |position: Option<&csv::Position>| position.map_or(0, |p| lines.line_of(p.byte()));
    for row in reader.records() {
        let row = match row {
            Ok(row) => row,
            Err(err) => {
                let line = line_of(err.position());
                plan.problems
                    .push(row_error(path, line, format!("cannot read the row: {err}")));
                continue;
            }
        };
        let line = line_of(row.position());
        if row.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        match read_row(&row, &columns, mapping, &referrals, path, line) {
            Ok(Row::Sale(id, sale)) => {
                if recorded.take(&id, &sale) {
                    plan.already_recorded += 1;
                } else {
                    plan.sales.entry(id).or_default().push(sale);
                }
            }
            Ok(Row::Skipped(warning)) | Err(warning) => plan.problems.push(warning),
        }
    }
    Ok(plan)
}

fn find_program<'p>(
    project: &'p Project,
    id: &str,
    path: &Path,
) -> Result<&'p Program, Vec<Diagnostic>> {
    project.config.programs.get(id).ok_or_else(|| {
        let ids: Vec<&str> = project.config.programs.keys().map(String::as_str).collect();
        vec![
            Diagnostic::error(path, format!("no program has the id `{id}`")).with_help(
                model::did_you_mean(id, ids.iter().copied()).unwrap_or_else(|| {
                    format!(
                        "pass one of the program ids in content/config.yaml: {}",
                        ids.join(", ")
                    )
                }),
            ),
        ]
    })
}

/// Where the lines of a file start, to turn the offset where the CSV reader says a row starts
/// into the line a text editor shows: `\n`, `\r\n` and a lone `\r` each end a line, and a
/// quoted cell over several lines spans them.
struct Lines<'t> {
    text: &'t [u8],
    starts: Vec<usize>,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for (i, &byte) in bytes.iter().enumerate() {
            if byte == b'\n' || (byte == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                starts.push(i + 1);
            }
        }
        Self {
            text: bytes,
            starts,
        }
    }

    /// The 1-based line of the row starting at `offset`. The reader places a row after the
    /// `\r` that ended the one before, on its `\n`, and on any empty lines it skips: the row
    /// is on the line of its first byte that ends no line.
    fn line_of(&self, offset: u64) -> usize {
        let mut offset = usize::try_from(offset).unwrap_or(usize::MAX);
        while matches!(self.text.get(offset), Some(b'\r' | b'\n')) {
            offset += 1;
        }
        self.starts.partition_point(|&start| start <= offset)
    }
}

/// `;` when the header line uses it and no commas (a common spreadsheet export), a tab
/// likewise, else `,`.
fn delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    let count = |c| header.matches(c).count();
    if count(';') > count(',') {
        b';'
    } else if count('\t') > count(',') {
        b'\t'
    } else {
        b','
    }
}

/// Where the mapped columns are in the header.
struct Columns {
    referral: usize,
    date: usize,
    amount: Option<usize>,
    reference: Option<usize>,
}

impl Columns {
    fn find(
        header: &csv::StringRecord,
        mapping: &ImportMapping,
        path: &Path,
    ) -> Result<Self, Vec<Diagnostic>> {
        let names: Vec<&str> = header.iter().map(str::trim).collect();
        let position = |name: &str| {
            names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(name.trim()))
        };
        let mut missing = Vec::new();
        let mut find = |key: &str, name: &str| {
            let found = position(name);
            if found.is_none() {
                missing.push(format!("`{name}` (the `import.{key}` column)"));
            }
            found
        };
        let referral = find("referral", &mapping.referral);
        let date = find("date", &mapping.date);
        let amount = mapping.amount.as_deref().map(|name| find("amount", name));
        let reference = mapping.reference.as_deref().map(|name| find("ref", name));
        if !missing.is_empty() {
            let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            return Err(vec![Diagnostic::error(
                path,
                format!("the header has no column {}", missing.join(" and no column ")),
            )
            .at(1, 1)
            .with_help(format!(
                "the file's columns are {}: correct the program's `import` block in content/config.yaml, or pass the export of the right program",
                quoted.join(", ")
            ))]);
        }
        Ok(Self {
            referral: referral.unwrap_or_default(),
            date: date.unwrap_or_default(),
            amount: amount.flatten(),
            reference: reference.flatten(),
        })
    }
}

enum Row {
    /// A sale of the referral with this id.
    Sale(String, NewSale),
    /// A row left out, with a warning saying why.
    Skipped(Diagnostic),
}

fn read_row(
    row: &csv::StringRecord,
    columns: &Columns,
    mapping: &ImportMapping,
    referrals: &[&Referral],
    path: &Path,
    line: usize,
) -> Result<Row, Diagnostic> {
    let cell = |index: usize| row.get(index).map_or("", str::trim);
    let who = cell(columns.referral);
    let written_date = cell(columns.date);
    let date = NaiveDate::parse_from_str(written_date, &mapping.date_format).map_err(|_| {
        row_error(
            path,
            line,
            format!(
                "`{written_date}` is not a date in the format `{}`",
                mapping.date_format
            ),
        )
        .with_help("correct the row, or the program's `import.date_format` (chrono `%` codes, e.g. \"%m/%d/%Y\")")
    })?;
    let amount = match columns.amount.map(cell).filter(|a| !a.is_empty()) {
        Some(written) => Some(parse_amount(written).map_err(|bad| match bad {
            BadAmount::DecimalComma => row_error(path, line, format!("`{written}` is not an amount: it has a decimal comma"))
                .with_help("affrel reads amounts with a decimal point only, since `1,234` could mean either: export the column with a decimal point (e.g. `1234.00`), or correct the row"),
            BadAmount::Unreadable => row_error(path, line, format!("`{written}` is not an amount"))
                .with_help("amounts look like `49.00`, `$1,234.50`, `USD 12.00`, `12.00 EUR` or `(12.00)`; correct the row"),
        })?),
        None => None,
    };
    let Some(referral) = match_referral(referrals, who) else {
        return Ok(Row::Skipped(
            Diagnostic::warning(WarningKind::UnknownReferralRow, path, format!("no referral of this program has the account, email or id `{who}`; row skipped"))
                .at(line, 1)
                .with_help("add `account:` to their record (or create it with `affrel new`), then import again"),
        ));
    };
    if let Some(amount) = &amount
        && amount.starts_with('-')
    {
        return Ok(Row::Skipped(
            Diagnostic::warning(
                WarningKind::NegativeAmountRow,
                path,
                format!("the amount {amount} is negative (a refund?); row skipped"),
            )
            .at(line, 1)
            .with_help("sales are recorded with amounts of at least 0; leave refunds out"),
        ));
    }
    let reference = columns.reference.map(cell).filter(|r| !r.is_empty());
    Ok(Row::Sale(
        referral.id.clone(),
        NewSale {
            line,
            date,
            amount,
            reference: reference.map(str::to_owned),
        },
    ))
}

fn row_error(path: &Path, line: usize, message: String) -> Diagnostic {
    Diagnostic::error(path, message).at(line, 1)
}

/// The referral whose `account`, else email (case-insensitive), else id is `who`.
fn match_referral<'r>(referrals: &[&'r Referral], who: &str) -> Option<&'r Referral> {
    if who.is_empty() {
        return None;
    }
    let by = |matches: &dyn Fn(&Referral) -> bool| referrals.iter().copied().find(|r| matches(r));
    by(&|r| r.account.as_deref() == Some(who))
        .or_else(|| by(&|r| r.email.eq_ignore_ascii_case(who)))
        .or_else(|| by(&|r| r.id == who))
}

/// Currency symbols an amount may carry before or after the number, besides a three-letter
/// code such as `USD`. Longer ones first, so that `US$` is not read as `$` after `US`.
const CURRENCY_SYMBOLS: &[&str] = &[
    "US$", "CA$", "AU$", "NZ$", "HK$", "R$", "C$", "A$", "zł", "kr", "$", "€", "£", "¥", "₹", "₽",
    "₩", "₺", "₪", "₫", "₴", "₦", "₱", "₲", "₵", "₡", "฿",
];

/// The most digits before the decimal point: a sale of a hundred billion is a typo.
const MAX_WHOLE_DIGITS: usize = 11;

/// Why a cell is not an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadAmount {
    /// A comma followed by one or two digits: a decimal comma, which affrel does not guess at.
    DecimalComma,
    /// Anything else outside the accepted shapes.
    Unreadable,
}

/// An amount as a plain decimal, `-` first for a negative one. Accepted, and nothing else:
/// a number with a decimal point (`1234.50`), optionally with `,` or space thousands
/// separators in groups of three (`1,234.50`, `1 234.50`); a currency symbol or an uppercase
/// three-letter code before or after it (`$1,049.00`, `USD 12.00`, `12.00 EUR`); a negative
/// written `-12.00`, `$-12.00`, `(12.00)` or `12.00-`. A decimal comma (`12,50`, `1 234,00`)
/// is refused rather than guessed, as are exponents, hex and any other text (`1e3`, `0x1F`,
/// `12.5.3`, `12 refunded`).
pub fn parse_amount(written: &str) -> Result<String, BadAmount> {
    let (mut negative, signed) = split_sign(written.trim());
    let mut number = strip_currency(signed).ok_or(BadAmount::Unreadable)?;
    if let Some(after) = number.strip_prefix('-')
        && !negative
    {
        negative = true;
        number = after.trim_start();
    }
    let plain = plain_number(number)?;
    Ok(if negative { format!("-{plain}") } else { plain })
}

/// Whether the text is written as a negative (`(…)`, a trailing `-` or a leading one), and the
/// text without that sign.
fn split_sign(text: &str) -> (bool, &str) {
    if let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        (true, inner.trim())
    } else if let Some(before) = text.strip_suffix('-') {
        (true, before.trim_end())
    } else if let Some(after) = text.strip_prefix('-') {
        (true, after.trim_start())
    } else {
        (false, text)
    }
}

/// The text without one currency symbol or code before or after the number; `None` when
/// what is around the number is not a currency.
fn strip_currency(text: &str) -> Option<&str> {
    let is_code = |code: &str| code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase());
    for symbol in CURRENCY_SYMBOLS {
        if let Some(rest) = text.strip_prefix(symbol) {
            return Some(rest.trim_start());
        }
        if let Some(rest) = text.strip_suffix(symbol) {
            return Some(rest.trim_end());
        }
    }
    if let Some((code, rest)) = text.split_at_checked(3)
        && is_code(code)
        && !rest.starts_with(|c: char| c.is_alphabetic())
    {
        return Some(rest.trim_start());
    }
    if let Some((rest, code)) = text.split_at_checked(text.len().saturating_sub(3))
        && is_code(code)
        && !rest.ends_with(|c: char| c.is_alphabetic())
    {
        return Some(rest.trim_end());
    }
    let bare = text
        .chars()
        .all(|c| c.is_ascii_digit() || ".,- \u{a0}\u{202f}".contains(c));
    bare.then_some(text)
}

/// Digits with an optional decimal point and thousands separators in groups of three, as a
/// plain decimal.
fn plain_number(text: &str) -> Result<String, BadAmount> {
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let decimal_comma = match fraction {
        Some(fraction) => fraction.contains(','),
        None => whole
            .rsplit_once(',')
            .is_some_and(|(_, after)| after.len() <= 2 && digits(after)),
    };
    if decimal_comma {
        return Err(BadAmount::DecimalComma);
    }
    let groups: Vec<&str> = whole.split([',', ' ', '\u{a0}', '\u{202f}']).collect();
    let one_separator = [",", " ", "\u{a0}", "\u{202f}"]
        .iter()
        .filter(|sep| whole.contains(**sep))
        .count()
        <= 1;
    let grouped =
        groups.len() == 1 || (groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3));
    let whole_digits = groups.concat();
    let readable = one_separator
        && grouped
        && groups.iter().all(|g| digits(g))
        && whole_digits.len() <= MAX_WHOLE_DIGITS
        && fraction.is_none_or(digits);
    if !readable {
        return Err(BadAmount::Unreadable);
    }
    Ok(match fraction {
        Some(fraction) => format!("{whole_digits}.{fraction}"),
        None => whole_digits,
    })
}

/// The sales already in the records, to recognise a row imported before: by `ref`; else,
/// for a row without one or a sale typed in by hand without one, by date and amount.
/// Counted, so that two equal sales on one day in the export are two sales.
struct Recorded {
    refs: BTreeMap<String, Vec<String>>,
    without_ref: BTreeMap<(String, NaiveDate, i64), usize>,
}

impl Recorded {
    fn new(referrals: &[&Referral]) -> Self {
        let mut recorded = Self {
            refs: BTreeMap::new(),
            without_ref: BTreeMap::new(),
        };
        for referral in referrals {
            for sale in referral.events.iter().filter(|e| e.kind == EventKind::Sale) {
                match &sale.reference {
                    Some(reference) => recorded
                        .refs
                        .entry(referral.id.clone())
                        .or_default()
                        .push(reference.to_string()),
                    None => {
                        *recorded
                            .without_ref
                            .entry((referral.id.clone(), sale.date, cents(sale.amount)))
                            .or_default() += 1;
                    }
                }
            }
        }
        recorded
    }

    /// Whether the sale is already recorded. A match is used up, so that the same row twice
    /// counts once, and a new ref is remembered, so that it is added once.
    fn take(&mut self, id: &str, sale: &NewSale) -> bool {
        let refs = self.refs.entry(id.to_owned()).or_default();
        if let Some(reference) = &sale.reference
            && refs.contains(reference)
        {
            return true;
        }
        let amount = cents(sale.amount.as_deref().and_then(|a| a.parse().ok()));
        let count = self
            .without_ref
            .entry((id.to_owned(), sale.date, amount))
            .or_default();
        if *count > 0 {
            *count -= 1;
            return true;
        }
        if let Some(reference) = &sale.reference {
            refs.push(reference.clone());
        }
        false
    }
}

fn cents(amount: Option<f64>) -> i64 {
    amount.map_or(-1, |a| (a * 100.0).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::{BadAmount, parse_amount};

    // Money as programs write it becomes a plain decimal; a decimal comma is refused rather
    // than read as a thousands separator, and anything else is refused rather than guessed.
    #[test]
    fn amounts_in_common_shapes() {
        let read = |s| parse_amount(s);
        for (written, plain) in [
            ("$1,234.50", "1234.50"),
            ("$1,049.00", "1049.00"),
            ("1234.5", "1234.5"),
            ("USD 12.00", "12.00"),
            ("12.00 EUR", "12.00"),
            ("EUR12", "12"),
            ("€ 9", "9"),
            ("9 €", "9"),
            ("US$ 5.10", "5.10"),
            ("12,345,678", "12345678"),
            ("1 234.00", "1234.00"),
            ("-5.00", "-5.00"),
            ("$-5.00", "-5.00"),
            ("-$5.00", "-5.00"),
            ("(12.00)", "-12.00"),
            ("($12.00)", "-12.00"),
            ("12.00-", "-12.00"),
            ("0", "0"),
        ] {
            assert_eq!(read(written).as_deref(), Ok(plain), "{written}");
        }
        for comma in ["12,50", "1 234,00", "1.234,50", "0,5"] {
            assert_eq!(read(comma), Err(BadAmount::DecimalComma), "{comma}");
        }
        for bad in [
            "",
            "n/a",
            "1,23.00",
            "twelve",
            "1e3",
            "1e308",
            "0x1F",
            "12.5.3",
            "12 refunded",
            "12.",
            ".50",
            "--5",
            "-(5)",
            "(5)-",
            "usd 12",
            "USDX 12",
            "12 USDX",
            "$ $12",
            "1,234 567.00",
            "123456789012",
            "5 apples",
            "∞",
            "NaN",
            "+5",
        ] {
            assert_eq!(read(bad), Err(BadAmount::Unreadable), "{bad}");
        }
    }
}
