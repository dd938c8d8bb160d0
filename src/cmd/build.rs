//! `affrel build`: load → validate → derive → render → write the site into `--out`.

use std::path::Path;

use chrono::NaiveDate;

use crate::cli::{BuildArgs, Exit};
use crate::cmd::{fail, print_all, today, validated_project};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::load::{CONTENT_DIR, TEMPLATES_DIR};
use crate::provenance;
use crate::render::{self, Site};
use crate::stages;
use crate::write;

/// Builds the site and swaps it into the output folder.
pub fn run(args: &BuildArgs) -> Exit {
    let Some(today) = today() else {
        return Exit::Usage;
    };
    let as_of = args.common.as_of.unwrap_or(today);
    let root = &args.common.root.path;
    let out = args.out.clone().unwrap_or_else(|| root.join("output"));
    if let Err(problem) = write::check_destination(root, &out, &[CONTENT_DIR, TEMPLATES_DIR])
        .and_then(|()| write::recover(&out))
    {
        return fail(&[problem]);
    }
    let (site, diagnostics) = produce(root, as_of, today, args.public);
    let Some(site) = site else {
        return fail(&diagnostics);
    };
    print_all(&diagnostics);
    if let Err(problem) = write::write_site(&site, &out) {
        return fail(&[problem]);
    }
    println!(
        "built {} files into {} as of {as_of}",
        site.files.len(),
        out.display()
    );
    Exit::Success
}

/// Load → validate → derive → render, with every problem collected. `None` when there were
/// errors.
pub fn produce(
    root: &Path,
    as_of: NaiveDate,
    today: NaiveDate,
    public: bool,
) -> (Option<Site>, Vec<Diagnostic>) {
    let (project, found) = validated_project(root, today);
    let mut diagnostics = Diagnostics::default();
    diagnostics.extend(found);
    let site = project.and_then(|project| {
        let weeks = stages::derive_weeks(&project, as_of);
        let provenance = provenance::describe(root);
        let options = render::Options {
            public,
            provenance: provenance.as_deref(),
        };
        render::render(&project, &weeks, options, &mut diagnostics)
    });
    let failed = diagnostics.has_errors();
    (site.filter(|_| !failed), diagnostics.into_sorted())
}
