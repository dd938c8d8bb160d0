//! Project + derived weeks → every output file, rendered into memory: `report.json`, the
//! report page and its week archive, the feed, and (in private builds) the emails due this
//! week, the calendar and the spreadsheet.

mod emails;
mod exports;
mod markdown;
mod pages;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use rayon::prelude::{IndexedParallelIterator, IntoParallelRefIterator, ParallelIterator};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::Project;
use crate::report::{Naming, Report};
use crate::stages::Derived;

use emails::WrittenEmails;
pub use emails::eml_path;
use pages::{EmailsPage, PageSettings, Pages, ReportPage};
pub use pages::{action_step, stage_label, why};

/// Every output file, keyed by its path relative to the output folder.
#[derive(Debug, Default)]
pub struct Site {
    pub files: BTreeMap<PathBuf, Vec<u8>>,
    /// A one-line description of what was produced.
    pub summary: String,
}

impl Site {
    fn add(&mut self, path: impl Into<PathBuf>, bytes: impl Into<Vec<u8>>) {
        self.files.insert(path.into(), bytes.into());
    }
}

/// A rendered file: its path relative to the output folder, and its bytes.
type OutputFile = (String, Vec<u8>);

/// How to render: for the user, or for the public.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub public: bool,
    /// The commit the content came from, when the root is in git.
    pub provenance: Option<&'a str>,
}

/// Lowercase hexadecimal digits of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}

/// Renders the whole site. `weeks` holds each archived week as replayed at its Sunday,
/// oldest first, and last the current week as of D. `None` when a template failed (the
/// problems are in `diagnostics`).
pub fn render(
    project: &Project,
    weeks: &[Derived<'_>],
    options: Options<'_>,
    diagnostics: &mut Diagnostics,
) -> Option<Site> {
    let current = weeks.last()?;
    let email_templates = emails::compile(&project.email_templates, &project.config, diagnostics);
    let pages = pages::compile(&project.template_overrides, diagnostics);
    if diagnostics.has_errors() {
        return None;
    }
    let naming = if options.public {
        let salt = project.config.report.pseudonym_salt.as_deref();
        if salt.is_none() {
            diagnostics.push(
                Diagnostic::warning(
                    "content/config.yaml",
                    "no `report.pseudonym_salt`: the pseudonyms in this public report can be reversed by guessing ids",
                )
                .with_help("add `pseudonym_salt:` with a long random value under `report:`"),
            );
        }
        Naming::Public { salt }
    } else {
        Naming::Private
    };
    let emails = if options.public {
        Vec::new()
    } else {
        email_templates.render_due(&project.config, current, diagnostics)
    };
    if diagnostics.has_errors() {
        return None;
    }
    let site = Renderer {
        project,
        weeks,
        pages: &pages,
        naming,
        options,
        emails: WrittenEmails::new(&emails),
    }
    .site();
    site.map_err(|problem| diagnostics.push(problem)).ok()
}

/// What every page of one build shares.
struct Renderer<'a> {
    project: &'a Project,
    weeks: &'a [Derived<'a>],
    pages: &'a Pages,
    naming: Naming<'a>,
    options: Options<'a>,
    /// The current week's emails; archived weeks have none.
    emails: WrittenEmails<'a>,
}

impl Renderer<'_> {
    fn site(&self) -> Result<Site, Diagnostic> {
        let mut site = Site::default();
        let current_index = self.weeks.len() - 1;
        let weeks: Vec<Result<Vec<OutputFile>, Diagnostic>> = self
            .weeks
            .par_iter()
            .enumerate()
            .map(|(index, week)| self.week_files(week, index, index == current_index))
            .collect();
        for files in weeks {
            for (path, bytes) in files? {
                site.add(path, bytes);
            }
        }
        site.add(
            "feed.xml",
            exports::atom_feed(self.project, self.weeks, self.naming),
        );
        let current = &self.weeks[current_index];
        if !self.options.public {
            let page = EmailsPage::new(self.project, current, &self.emails);
            site.add(
                "emails/index.html",
                self.pages.render("emails.html", &page)?,
            );
            for email in self.emails.iter() {
                site.add(email.eml_path(), email.eml.clone());
                site.add(email.txt_path(), email.copy_text());
            }
            site.add("agenda.ics", exports::agenda_ics(current, &self.emails));
            site.add("report.csv", exports::everyone_csv(current)?);
        }
        site.summary = [
            plural(current.affiliates.len(), "referral", "referrals"),
            plural(current.actions_this_week().count(), "action", "actions") + " due this week",
            plural(self.emails.iter().count(), "email", "emails"),
            plural(self.weeks.len(), "week", "weeks") + " archived",
        ]
        .join(", ");
        Ok(site)
    }

    /// One week's archived page and report; for the current week also the main ones.
    fn week_files(
        &self,
        week: &Derived<'_>,
        index: usize,
        is_current: bool,
    ) -> Result<Vec<OutputFile>, Diagnostic> {
        let folder = format!("weeks/{}/", week.week.label);
        let none = WrittenEmails::default();
        let emails = if is_current { &self.emails } else { &none };
        let report = Report::new(week, &|id, kind| emails.eml_path(id, kind), self.naming);
        let json = to_json(&report)?;
        let page = |base| self.report_page(week, &report, emails, index, is_current, base);
        let mut files = vec![
            (format!("{folder}report.json"), json.clone()),
            (format!("{folder}index.html"), page("../../")?.into_bytes()),
        ];
        if is_current {
            files.push(("report.json".to_owned(), json));
            files.push(("index.html".to_owned(), page("")?.into_bytes()));
        }
        Ok(files)
    }

    fn report_page(
        &self,
        week: &Derived<'_>,
        report: &Report,
        emails: &WrittenEmails<'_>,
        index: usize,
        is_current: bool,
        base: &'static str,
    ) -> Result<String, Diagnostic> {
        let settings = PageSettings {
            base,
            public: self.options.public,
            has_emails: !self.options.public && is_current,
            current: is_current,
            provenance: self.options.provenance,
            archive: pages::archive_links(self.weeks, index),
        };
        let page = ReportPage::new(self.project, week, report, emails, self.naming, &settings);
        self.pages.render("index.html", &page)
    }
}

/// What to do about a template error: an unclosed tag is reported where the file ends, far
/// from the tag itself, so that case gets its own advice.
fn template_help(message: &str, otherwise: &str) -> String {
    if message.contains("Unexpected end of input") || message.contains("Unknown tag") {
        "a `{% if %}`, `{% for %}` or `{% block %}` above is not closed: add its `{% endif %}`, `{% endfor %}` or `{% endblock %}`".to_owned()
    } else {
        otherwise.to_owned()
    }
}

/// "1 email", "3 emails".
fn plural<N: std::fmt::Display + PartialEq + From<u8> + Copy>(
    n: N,
    one: &str,
    many: &str,
) -> String {
    let noun = if n == N::from(1) { one } else { many };
    format!("{n} {noun}")
}

fn to_json(report: &Report) -> Result<Vec<u8>, Diagnostic> {
    let mut json = serde_json::to_vec_pretty(report)
        .map_err(|err| Diagnostic::error("report.json", err.to_string()))?;
    json.push(b'\n');
    Ok(json)
}
