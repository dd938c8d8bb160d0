//! Project + derived state → every output file, rendered into memory: `report.json`, the
//! report page, and the emails due this week.

mod emails;
mod markdown;
mod pages;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::{ActionKind, Project};
use crate::report::{Naming, Report};
use crate::stages::{AffiliateState, Derived};

use emails::RenderedEmail;
use pages::{EmailsPage, ReportPage};

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

/// Lowercase hexadecimal digits of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}

/// Shows referrals by their ids and names.
struct Private;

impl Naming for Private {
    fn id(&self, id: &str) -> String {
        id.to_owned()
    }
    fn name(&self, name: &str) -> Option<String> {
        Some(name.to_owned())
    }
}

/// Renders the whole site; `None` when a template failed (the problems are in
/// `diagnostics`).
pub fn render(
    project: &Project,
    derived: &Derived<'_>,
    public: bool,
    diagnostics: &mut Diagnostics,
) -> Option<Site> {
    let email_templates = emails::compile(&project.email_templates, &project.config, diagnostics);
    let pages = pages::compile(&project.template_overrides, diagnostics);
    if diagnostics.has_errors() {
        return None;
    }
    let emails = email_templates.render_due(&project.config, derived, diagnostics);
    if diagnostics.has_errors() {
        return None;
    }
    let naming = Private;
    let email_paths: BTreeMap<(String, ActionKind), String> = emails
        .iter()
        .map(|email| ((email.id.clone(), email.kind), email.eml_path()))
        .collect();
    let report = Report::new(derived, &email_paths, &naming);
    let display_name = |a: &AffiliateState<'_>| a.referral.name.clone();

    let mut site = Site::default();
    let rendered = render_pages(
        project,
        derived,
        &report,
        &emails,
        &pages,
        &display_name,
        public,
    )
    .map_err(|problem| diagnostics.push(problem))
    .ok()?;
    for (path, text) in rendered {
        site.add(path, text);
    }
    for email in &emails {
        site.add(email.eml_path(), email.eml.clone());
        site.add(email.txt_path(), email.copy_text());
    }
    site.summary = format!(
        "{} referrals, {} actions due this week, {} emails",
        derived.affiliates.len(),
        derived
            .affiliates
            .iter()
            .filter(|a| a.status.action.is_some_and(|x| x.due <= derived.week.end))
            .count(),
        emails.len()
    );
    Some(site)
}

fn render_pages(
    project: &Project,
    derived: &Derived<'_>,
    report: &Report,
    emails: &[RenderedEmail],
    pages: &pages::Pages,
    display_name: &dyn Fn(&AffiliateState<'_>) -> String,
    public: bool,
) -> Result<Vec<(String, Vec<u8>)>, Diagnostic> {
    let mut json = serde_json::to_vec_pretty(report)
        .map_err(|err| Diagnostic::error("report.json", err.to_string()))?;
    json.push(b'\n');
    let page = ReportPage::new(project, derived, report, emails, display_name, public);
    let mut files = vec![
        ("report.json".to_owned(), json),
        (
            "index.html".to_owned(),
            pages.render("index.html", &page)?.into_bytes(),
        ),
    ];
    if !public {
        let emails_page = EmailsPage::new(project, derived, emails);
        files.push((
            "emails/index.html".to_owned(),
            pages.render("emails.html", &emails_page)?.into_bytes(),
        ));
    }
    Ok(files)
}
