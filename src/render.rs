//! Project + derived state → every output file, rendered into memory.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::{ActionKind, Project};
use crate::report::{Naming, Report};
use crate::stages::Derived;

/// Every output file, keyed by its path relative to the output folder.
#[derive(Debug, Default)]
pub struct Site {
    pub files: BTreeMap<PathBuf, Vec<u8>>,
    /// A one-line description of what was produced.
    pub summary: String,
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

/// Renders the whole site; `None` when rendering failed (the problems are in `diagnostics`).
pub fn render(
    project: &Project,
    derived: &Derived<'_>,
    public: bool,
    diagnostics: &mut Diagnostics,
) -> Option<Site> {
    let _ = public;
    let emails: BTreeMap<(String, ActionKind), String> = BTreeMap::new();
    let report = Report::new(derived, &emails, &Private);
    let mut site = Site::default();
    match serde_json::to_vec_pretty(&report) {
        Ok(mut json) => {
            json.push(b'\n');
            site.files.insert(PathBuf::from("report.json"), json);
        }
        Err(err) => {
            diagnostics.push(Diagnostic::error("report.json", err.to_string()));
            return None;
        }
    }
    site.summary = format!(
        "{} referrals in {} programs",
        project.referrals.len(),
        project.config.programs.len()
    );
    Some(site)
}
