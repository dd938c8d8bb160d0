//! Problems found in the content → one located, printable diagnostic type and an accumulator.
//!
//! Every step that can find something wrong pushes a [`Diagnostic`] and keeps going; the
//! command prints them all, errors first, each sorted by file and line, and fails once.

use std::fmt;
use std::path::{Path, PathBuf};

/// How serious a diagnostic is: errors fail the command, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// What a warning is about: warnings of one kind are shown for the first few, then counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WarningKind {
    /// A date after today, usually a mistyped year.
    DateAfterToday,
    /// An event dated after the referral was let go.
    AfterLetGo,
    /// A sale without an amount in a program with a residual rate.
    SaleWithoutAmount,
    /// Two records with the same address.
    SharedAddress,
    /// A file in a content folder that affrel does not read.
    IgnoredFile,
    /// An action kind due this week that has no email template.
    MissingTemplate,
    /// A public build without a pseudonym salt.
    GuessablePseudonyms,
    /// An import row naming nobody known.
    UnknownReferralRow,
    /// An import row with a negative amount.
    NegativeAmountRow,
}

/// One problem, located in a file relative to the project root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// For a warning, what it is about.
    pub warning_kind: Option<WarningKind>,
    pub path: PathBuf,
    /// 1-based line, when the parser knows it.
    pub line: Option<usize>,
    /// 1-based column, when the parser knows it.
    pub column: Option<usize>,
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error in `path` with no location yet.
    pub fn error(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            warning_kind: None,
            path: path.into(),
            line: None,
            column: None,
            message: message.into(),
            help: None,
        }
    }

    /// A warning of this kind in `path`, with no location yet.
    pub fn warning(
        kind: WarningKind,
        path: impl Into<PathBuf>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            warning_kind: Some(kind),
            ..Self::error(path, message)
        }
    }

    /// Whether this diagnostic fails the command.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Places the diagnostic at a 1-based line and column.
    #[must_use]
    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    /// Places the diagnostic at a location, if one is known.
    #[must_use]
    pub fn at_location(self, location: Option<Location>) -> Self {
        match location {
            Some(Location { line, column }) => self.at(line, column),
            None => self,
        }
    }

    /// Adds advice on how to fix the problem.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Puts `first` before the advice it already has.
    #[must_use]
    pub fn with_help_first(mut self, first: &str) -> Self {
        self.help = Some(match self.help.take() {
            Some(help) => format!("{first}; {help}"),
            None => first.to_owned(),
        });
        self
    }

    /// Errors first, then warnings; each by file, line and column.
    fn sort_key(&self) -> (Severity, &Path, usize, usize, &str) {
        (
            self.severity,
            &self.path,
            self.line.unwrap_or(0),
            self.column.unwrap_or(0),
            &self.message,
        )
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", escape_lines(&self.path.display().to_string()))?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, ": {label}: {}", escape_lines(&self.message))?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {}", escape_lines(help))?;
        }
        Ok(())
    }
}

/// Control characters written as escapes, so that no text from a record or a server can
/// move the cursor, set a title or ring the bell on the terminal.
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// [`escape_controls`] line by line: a message's own line breaks stay.
fn escape_lines(text: &str) -> String {
    text.split('\n')
        .map(escape_controls)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A 1-based line and column in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// Collects diagnostics from every step so that all problems are reported together.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Records one diagnostic.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Records many diagnostics.
    pub fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(diagnostics);
    }

    /// Whether any recorded diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    /// How many recorded diagnostics are errors.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    /// All diagnostics, errors before warnings, each sorted by file, line and column: the
    /// order they are printed in.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        self.items.dedup();
        self.items
    }
}
