//! A program's sales export (CSV bytes) + the validated project → the sales it would add to
//! each referral, the rows already recorded, and a located diagnostic for every row it could
//! not use. Pure: the command reads the file and writes the records.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;

use crate::diagnostic::Diagnostic;
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
    for row in reader.records() {
        let row = match row {
            Ok(row) => row,
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line() as usize);
                plan.problems
                    .push(row_error(path, line, format!("cannot read the row: {err}")));
                continue;
            }
        };
        let line = row.position().map_or(0, |p| p.line() as usize);
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
        Some(written) => Some(parse_amount(written).ok_or_else(|| {
            row_error(path, line, format!("`{written}` is not an amount"))
                .with_help("amounts look like `49.00`, `$1,234.50` or `USD 12.00`; correct the row")
        })?),
        None => None,
    };
    let Some(referral) = match_referral(referrals, who) else {
        return Ok(Row::Skipped(
            Diagnostic::warning(path, format!("no referral of this program has the account, email or id `{who}`; row skipped"))
                .at(line, 1)
                .with_help("add `account:` to their record (or create it with `affrel new`), then import again"),
        ));
    };
    if let Some(amount) = &amount
        && amount.starts_with('-')
    {
        return Ok(Row::Skipped(
            Diagnostic::warning(
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

/// An amount as a plain decimal: a currency symbol or code and spaces are dropped, and
/// commas are accepted only as thousands separators (`1,234.50`), so that a decimal comma
/// (`12,50`) is refused rather than misread.
pub fn parse_amount(written: &str) -> Option<String> {
    let negative = written.contains('-') || (written.starts_with('(') && written.ends_with(')'));
    let kept: String = written
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
        .collect();
    let (whole, fraction) = kept.split_once('.').unwrap_or((&kept, ""));
    let groups: Vec<&str> = whole.split(',').collect();
    let grouped_right = groups.len() == 1
        || (!groups[0].is_empty()
            && groups[0].len() <= 3
            && groups[1..].iter().all(|g| g.len() == 3));
    let letters_ok = written.chars().filter(|c| c.is_alphabetic()).count() <= 3;
    if whole.is_empty() || !grouped_right || fraction.contains(',') || !letters_ok {
        return None;
    }
    let digits = groups.concat();
    let number = if fraction.is_empty() {
        digits
    } else {
        format!("{digits}.{fraction}")
    };
    number.parse::<f64>().ok()?;
    Some(if negative {
        format!("-{number}")
    } else {
        number
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
                        .push(reference.clone()),
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
    use super::parse_amount;

    // Money as programs write it becomes a plain decimal; a decimal comma is refused rather
    // than read as a thousands separator.
    #[test]
    fn amounts_in_common_shapes() {
        let read = |s| parse_amount(s);
        assert_eq!(read("$1,234.50").as_deref(), Some("1234.50"));
        assert_eq!(read("1234.5").as_deref(), Some("1234.5"));
        assert_eq!(read("USD 12.00").as_deref(), Some("12.00"));
        assert_eq!(read("€ 9").as_deref(), Some("9"));
        assert_eq!(read("12,345,678").as_deref(), Some("12345678"));
        assert_eq!(read("-5.00").as_deref(), Some("-5.00"));
        for bad in ["12,50", "1.234,50", "", "n/a", "1,23.00", "twelve"] {
            assert_eq!(read(bad), None, "{bad}");
        }
    }
}
