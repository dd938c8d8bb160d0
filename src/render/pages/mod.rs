//! Report view + derived state → the HTML pages, through the built-in report templates or
//! the user's overrides of them: the templates and the week archive's links here, the report
//! page's layout in `report_page`, the emails pages' in `emails_page`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use tera::{Context, Tera};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::load::{Source, TEMPLATES_DIR};
use crate::render::template_help;

mod emails_page;
mod report_page;

pub use emails_page::{EMAILS_PER_PAGE, EmailsPage, Pager, emails_page_file};
pub use report_page::{ReportPage, why_now};

/// The built-in report templates, by name; a user's `templates/<name>` replaces one.
const BUILT_IN: &[(&str, &str)] = &[
    ("base.html", include_str!("../../../templates/base.html")),
    ("index.html", include_str!("../../../templates/index.html")),
    (
        "emails.html",
        include_str!("../../../templates/emails.html"),
    ),
];

/// The compiled report templates.
pub struct Pages {
    tera: Tera,
}

/// Compiles the built-in templates with the user's overrides in their place. A broken
/// override is an error naming its file, never a silent fallback.
pub fn compile(overrides: &BTreeMap<String, Source>, diagnostics: &mut Diagnostics) -> Pages {
    let mut templates: BTreeMap<&str, (&str, String)> = BUILT_IN
        .iter()
        .map(|&(name, text)| (name, (text, format!("{TEMPLATES_DIR}/{name} (built in)"))))
        .collect();
    // Only HTML files are report templates; a README or stylesheet beside them is left alone.
    for (name, source) in overrides.iter().filter(|(name, _)| {
        Path::new(name)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("html"))
    }) {
        templates.insert(name, (&source.text, source.path.display().to_string()));
    }
    let mut tera = Tera::new();
    let mut failed = false;
    for (name, (text, origin)) in &templates {
        if let Err(err) = tera.add_raw_template(name, text) {
            diagnostics.push(page_diagnostic(origin, &err));
            failed = true;
        }
    }
    if !failed {
        for (name, (_, origin)) in &templates {
            if let Err(err) = tera.get_template_variables(name) {
                diagnostics.push(page_diagnostic(origin, &err));
            }
        }
    }
    Pages { tera }
}

fn page_diagnostic(origin: &str, error: &tera::Error) -> Diagnostic {
    let diagnostic = match error.kind() {
        tera::ErrorKind::SyntaxError(report) | tera::ErrorKind::RenderingError(report) => {
            let span = report.span();
            Diagnostic::error(origin, report.message()).at(span.start_line, span.start_col + 1)
        }
        other => Diagnostic::error(origin, other.to_string()),
    };
    let help = template_help(
        &diagnostic.message,
        "fix the report template, or delete the override to use the built-in one",
    );
    diagnostic.with_help(help)
}

impl Pages {
    /// Renders one page into `html`, replacing what it held; errors name the template.
    pub fn render<T: Serialize>(
        &self,
        name: &str,
        view: &T,
        html: &mut Vec<u8>,
    ) -> Result<(), Diagnostic> {
        let origin = format!("{TEMPLATES_DIR}/{name}");
        let context = Context::from_serialize(view)
            .map_err(|err| Diagnostic::error(&origin, err.to_string()))?;
        html.clear();
        self.tera
            .render_to(name, &context, &mut *html)
            .map_err(|err| page_diagnostic(&origin, &err))
    }
}

/// Where a report page sits and what surrounds it.
#[derive(Serialize)]
pub struct PageSettings<'a> {
    /// The path from the page back to the output folder: `""` or `"../../"`.
    pub base: &'static str,
    pub public: bool,
    /// Whether this page's week has an emails page (only the current week does).
    pub has_emails: bool,
    /// Whether this is the latest report, `index.html`. Pages in the week archive (the
    /// current week's too) leave out the per-person table, which their `report.json` holds,
    /// so that the archive stays small.
    pub current: bool,
    /// The commit the content came from, when the root is in git.
    pub provenance: Option<&'a str>,
    pub archive: Vec<ArchiveLink>,
}

/// One week in the archive navigation.
#[derive(Serialize)]
pub struct ArchiveLink {
    pub week: String,
    /// Relative to the output folder.
    pub href: String,
    /// `previous`, `this`, `next` or empty.
    pub relation: &'static str,
}

/// Archive links for every week (`labels` oldest first), marked relative to the week at
/// `index`.
pub fn archive_links(labels: &[String], index: usize) -> Vec<ArchiveLink> {
    labels
        .iter()
        .enumerate()
        .map(|(i, label)| ArchiveLink {
            week: label.clone(),
            href: format!("weeks/{label}/index.html"),
            relation: if i == index {
                "this"
            } else if i + 1 == index {
                "previous"
            } else if i == index + 1 {
                "next"
            } else {
                ""
            },
        })
        .collect()
}
