//! Project + derived weeks → every output file, handed to a [`Sink`] as soon as it is
//! rendered: `report.json`, the report page and its week archive, the feed, and (in private
//! builds) the emails due this week with their pages, the calendar and the spreadsheet.
//! Nothing waits in memory for the rest of the site, so memory stays flat as projects grow.

mod charts;
mod emails;
mod exports;
mod format;
mod json;
mod markdown;
mod pages;

use std::cmp::Ordering;

use rayon::prelude::{
    IndexedParallelIterator, IntoParallelIterator, ParallelIterator, ParallelSlice,
};

use crate::diagnostic::{Diagnostic, Diagnostics, WarningKind};
use crate::model::{ActionKind, Project};
use crate::report::{Naming, Report};
use crate::stages::{self, AffiliateState, Derived, NextAction, Weeks};

use emails::{EmailTemplates, WrittenEmails};
pub use emails::{RenderedEmail, eml_path};
use exports::FeedEntry;
pub use format::action_step;
pub use pages::why_now;
use pages::{EMAILS_PER_PAGE, EmailsPage, PageSettings, Pager, Pages, ReportPage};

/// Where rendered files go: the staging folder of a build, or nowhere for `check`. Called
/// from several threads at once.
pub trait Sink: Sync {
    /// Takes one file; `path` is relative to the output folder, with `/` between folders.
    fn put(&self, path: &str, bytes: &[u8]) -> Result<(), Diagnostic>;

    /// Takes one file as `produce` writes it, piece by piece, for a file too large to hold
    /// whole; the same bytes go to each of `paths`. Fails with `produce`'s problem, or with
    /// the sink's own when writing failed.
    fn put_streamed(&self, paths: &[&str], produce: &mut Produce<'_>) -> Result<(), Diagnostic>;
}

/// How many bytes of a streamed file are handed to the sink at a time.
pub const PIECE: usize = 1 << 16;

/// Writes a file's bytes into the writer it is given.
pub type Produce<'a> = dyn FnMut(&mut dyn std::io::Write) -> Result<(), Diagnostic> + 'a;

/// A sink that keeps nothing: `check` renders everything and writes nothing.
#[derive(Debug, Default)]
pub struct Discard;

impl Sink for Discard {
    fn put(&self, _path: &str, _bytes: &[u8]) -> Result<(), Diagnostic> {
        Ok(())
    }

    fn put_streamed(&self, _paths: &[&str], produce: &mut Produce<'_>) -> Result<(), Diagnostic> {
        produce(&mut std::io::sink())
    }
}

/// How to render: for the user, or for the public.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub public: bool,
    /// The commit the content came from, when the root is in git.
    pub provenance: Option<&'a str>,
}

/// Lowercase hexadecimal digits of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

/// Renders the whole site into `sink`: `current` is the current week of `weeks`, derived
/// already; each archived week is derived as it is rendered and dropped once written.
/// Returns a one-line description of what was produced, or `None` when something failed
/// (the problems are in `diagnostics`); the sink may then hold part of the site.
pub fn render(
    project: &Project,
    weeks: &Weeks<'_>,
    current: &Derived<'_>,
    options: Options<'_>,
    sink: &dyn Sink,
    diagnostics: &mut Diagnostics,
) -> Option<String> {
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
                    WarningKind::GuessablePseudonyms,
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
    let renderer = Renderer {
        project,
        weeks,
        labels: weeks.labels(),
        current,
        pages: &pages,
        naming,
        options,
        sink,
    };
    let mut emails = WrittenEmails::default();
    if !options.public {
        emails = renderer.write_emails(&email_templates, diagnostics);
        if diagnostics.has_errors() {
            return None;
        }
    }
    renderer
        .write_rest(emails)
        .map_err(|problem| diagnostics.push(problem))
        .ok()
}

/// The emails due by the end of the current week, rendered, in the order of the emails
/// pages: for the commands that put them in your mailbox. Empty, with the problems in
/// `diagnostics`, when a template is broken.
pub fn emails_due(
    project: &Project,
    current: &Derived<'_>,
    diagnostics: &mut Diagnostics,
) -> Vec<RenderedEmail> {
    let templates = emails::compile(&project.email_templates, &project.config, diagnostics);
    if diagnostics.has_errors() {
        return Vec::new();
    }
    let mut rendered = Vec::new();
    for (affiliate, action) in templates.due(current, diagnostics) {
        match templates.render(current, affiliate, action) {
            Ok(email) => rendered.push(email),
            Err(problem) => diagnostics.push(problem),
        }
    }
    rendered
}

/// The email templates compiled once, to render the email of one referral's action at a
/// time: `sync` asks what affrel wrote for someone on a given day.
pub struct Mailer<'p> {
    templates: EmailTemplates<'p>,
}

impl<'p> Mailer<'p> {
    /// Compiles the templates; `None` when one is broken (the problems are in `diagnostics`).
    pub fn new(project: &'p Project, diagnostics: &mut Diagnostics) -> Option<Self> {
        let templates = emails::compile(&project.email_templates, &project.config, diagnostics);
        (!diagnostics.has_errors()).then_some(Self { templates })
    }

    /// The email affrel writes for the referral's next action as of `affiliate`'s date; `None`
    /// when there is no action, or no template for it.
    pub fn email_for(
        &self,
        affiliate: &AffiliateState<'_>,
        as_of: chrono::NaiveDate,
    ) -> Option<(NextAction, Result<RenderedEmail, Diagnostic>)> {
        let action = affiliate.status.action?;
        if !self.templates.has(action.kind) {
            return None;
        }
        let week = stages::Week::containing(as_of);
        let email = self
            .templates
            .render_as_of(as_of, &week.label, affiliate, action);
        Some((action, email))
    }
}

/// What every page of one build shares.
struct Renderer<'a> {
    project: &'a Project,
    weeks: &'a Weeks<'a>,
    /// Each week's label, oldest first.
    labels: Vec<String>,
    current: &'a Derived<'a>,
    pages: &'a Pages,
    naming: Naming<'a>,
    options: Options<'a>,
    sink: &'a dyn Sink,
}

/// What one emails page wrote, and the problems its emails and the page had.
type EmailsPageResult = (WrittenEmails, Vec<Diagnostic>);

impl Renderer<'_> {
    /// Renders and writes every email due this week and the emails pages that show them, one
    /// page's worth at a time on each core.
    fn write_emails(
        &self,
        templates: &EmailTemplates<'_>,
        diagnostics: &mut Diagnostics,
    ) -> WrittenEmails {
        let due = templates.due(self.current, diagnostics);
        let page_count = due.len().div_ceil(EMAILS_PER_PAGE).max(1);
        let results: Vec<EmailsPageResult> = if due.is_empty() {
            vec![self.emails_page(templates, &[], 1, page_count, 0)]
        } else {
            due.par_chunks(EMAILS_PER_PAGE)
                .enumerate()
                .map(|(index, chunk)| {
                    self.emails_page(templates, chunk, index + 1, page_count, due.len())
                })
                .collect()
        };
        let mut written = WrittenEmails::default();
        for (page, problems) in results {
            written.extend(page);
            diagnostics.extend(problems);
        }
        written
    }

    /// Renders and writes one page's emails, then the page. Only what the rest of the site
    /// needs of them is kept.
    fn emails_page(
        &self,
        templates: &EmailTemplates<'_>,
        due: &[(&AffiliateState<'_>, NextAction)],
        page: usize,
        page_count: usize,
        total: usize,
    ) -> EmailsPageResult {
        let mut problems = Vec::new();
        let mut emails = Vec::with_capacity(due.len());
        for &(affiliate, action) in due {
            let written = templates
                .render(self.current, affiliate, action)
                .and_then(|email| {
                    self.sink.put(&email.eml_path(), &email.eml)?;
                    self.sink
                        .put(&email.txt_path(), email.copy_text.as_bytes())?;
                    Ok(email)
                });
            match written {
                Ok(email) => emails.push(email),
                Err(problem) => problems.push(problem),
            }
        }
        let pager = Pager::new(page, page_count, pages::emails_page_file);
        let view = EmailsPage::new(self.project, self.current, &emails, total, pager);
        let path = format!("emails/{}", pages::emails_page_file(page));
        let mut html = Vec::new();
        if let Err(problem) = self
            .pages
            .render("emails.html", &view, &mut html)
            .and_then(|()| self.sink.put(&path, &html))
        {
            problems.push(problem);
        }
        let mut written = WrittenEmails::default();
        for email in emails {
            written.record(email);
        }
        (written, problems)
    }

    /// Writes everything but the emails: each week's report and page, the feed, and in
    /// private builds the calendar and the spreadsheets. Returns the one-line summary.
    ///
    /// The current week goes first, beside the exports that also read it, so that the
    /// emails' texts, which only its page shows, are let go before the archived weeks
    /// are derived and written in parallel.
    fn write_rest(&self, emails: WrittenEmails) -> Result<String, Diagnostic> {
        let current_index = self.weeks.current_index();
        let mut files = Vec::new();
        let (current, exported) = rayon::join(
            || self.write_week(self.current, current_index, &emails, &mut files),
            || self.write_exports(&emails),
        );
        let current = current?;
        exported?;
        let email_count = emails.len();
        drop(emails);
        // No archived week has more people than the current one: a buffer the size of its
        // largest page holds each of theirs without growing.
        let size = files.capacity();
        drop(files);
        let none = WrittenEmails::default();
        let mut feed: Vec<FeedEntry> = (0..current_index)
            .into_par_iter()
            .map_init(
                || Vec::with_capacity(size),
                |files, index| self.write_week(&self.weeks.derive(index), index, &none, files),
            )
            .collect::<Result<_, _>>()?;
        feed.push(current);
        self.sink.put(
            "feed.xml",
            exports::atom_feed(self.project, &feed).as_bytes(),
        )?;
        let current = self.current;
        Ok([
            plural(current.affiliates.len(), "referral", "referrals"),
            plural(current.actions_this_week().count(), "action", "actions") + " due this week",
            plural(email_count, "email", "emails"),
            plural(self.weeks.count(), "week", "weeks") + " archived",
        ]
        .join(", "))
    }

    /// In private builds: the calendar and the spreadsheets of the current week.
    fn write_exports(&self, emails: &WrittenEmails) -> Result<(), Diagnostic> {
        if self.options.public {
            return Ok(());
        }
        let (sink, current) = (self.sink, self.current);
        sink.put_streamed(&["agenda.ics"], &mut |out| {
            exports::agenda_ics(current, emails, out)
        })?;
        sink.put_streamed(&["report.csv"], &mut |out| {
            exports::everyone_csv(current, out)
        })?;
        sink.put("cohorts.csv", &exports::cohorts_csv(current)?)?;
        sink.put("communication.csv", &exports::communication_csv(current)?)
    }

    /// One week's archived page and report; for the current week also the main ones.
    /// `emails` are the emails written in this week (none for an archived week); `out` is a
    /// buffer that holds each page in turn, while `report.json` is written as it is made.
    /// Returns what the feed says about the week.
    fn write_week(
        &self,
        week: &Derived<'_>,
        index: usize,
        emails: &WrittenEmails,
        out: &mut Vec<u8>,
    ) -> Result<FeedEntry, Diagnostic> {
        let is_current = index == self.weeks.current_index();
        let folder = format!("weeks/{}/", week.week.label);
        let email_path = |id: &str, kind: ActionKind| emails.eml_path(id, kind);
        let report = Report::new(week, &email_path, self.naming);
        let archived_json = format!("{folder}report.json");
        let json_paths: &[&str] = if is_current {
            &[&archived_json, "report.json"]
        } else {
            &[&archived_json]
        };
        self.sink.put_streamed(json_paths, &mut |writer| {
            json::write_report(&report, writer)
        })?;
        let archived = self.page_settings(index, is_current, "../../");
        let latest = is_current.then(|| self.page_settings(index, true, ""));
        let settings = latest.as_ref().unwrap_or(&archived);
        let page = ReportPage::new(self.project, week, &report, emails, self.naming, settings);
        if is_current {
            self.pages.render("index.html", &page, out)?;
            self.sink.put("index.html", out)?;
        }
        self.pages
            .render("index.html", &page.archived(&archived), out)?;
        self.sink.put(&format!("{folder}index.html"), out)?;
        Ok(FeedEntry::of(week, self.naming))
    }

    /// Where a report page of week `index` sits: the latest report when `base` is empty,
    /// else its page in the week archive, which leaves out the per-person table.
    fn page_settings(
        &self,
        index: usize,
        is_current: bool,
        base: &'static str,
    ) -> PageSettings<'_> {
        PageSettings {
            base,
            public: self.options.public,
            has_emails: !self.options.public && is_current,
            current: base.is_empty(),
            provenance: self.options.provenance,
            archive: pages::archive_links(&self.labels, index),
        }
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

/// Sorts `items` by `order` and keeps the first `n`, without sorting the ones left out.
/// `order` tells every two items apart, so the result is the one a full sort gives.
pub fn first_sorted<T>(items: &mut Vec<T>, n: usize, order: impl Fn(&T, &T) -> Ordering) {
    if items.len() > n {
        if let Some(last) = n.checked_sub(1) {
            items.select_nth_unstable_by(last, &order);
        }
        items.truncate(n);
    }
    items.sort_unstable_by(order);
}

/// "1 email", "3 emails".
pub fn plural<N: std::fmt::Display + PartialEq + From<u8> + Copy>(
    n: N,
    one: &str,
    many: &str,
) -> String {
    let noun = if n == N::from(1) { one } else { many };
    format!("{n} {noun}")
}

#[cfg(test)]
mod tests {
    use super::first_sorted;

    /// The first `n` are those of a full sort, in its order, however many there are.
    #[test]
    fn first_sorted_keeps_what_a_full_sort_puts_first() {
        let items: Vec<(u32, u32)> = (0..500).map(|i| ((i * 7919) % 97, i)).collect();
        let mut sorted = items.clone();
        sorted.sort_unstable();
        for n in [0, 1, 2, 50, 96, 499, 500, 501, 1000] {
            let mut kept = items.clone();
            first_sorted(&mut kept, n, Ord::cmp);
            assert_eq!(kept, sorted[..n.min(sorted.len())], "n = {n}");
        }
    }
}
