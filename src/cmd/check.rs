//! `affrel check`: the build without the write step, so the two can never disagree.

use crate::cli::{CommonArgs, Exit};
use crate::cmd::{build, fail, print_all, today};

/// Validates and renders everything in memory; prints a summary line when all is fine.
pub fn run(args: &CommonArgs) -> Exit {
    let Some(today) = today() else {
        return Exit::Usage;
    };
    let as_of = args.as_of.unwrap_or(today);
    let (site, diagnostics) = build::produce(&args.root.path, as_of, today, false);
    match site {
        Some(site) => {
            print_all(&diagnostics);
            println!("ok: {} as of {as_of}", site.summary);
            Exit::Success
        }
        None => fail(&diagnostics),
    }
}
