//! Report view + derived state → the HTML pages, through the built-in report templates or
//! the user's overrides of them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;
use tera::{Context, Tera};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::load::{Source, TEMPLATES_DIR};
use crate::model::{ActionKind, Project, Rules, Stage};
use crate::render::charts::{self, Answers, Cohorts, ReturnChart};
use crate::render::emails::{RenderedEmail, WrittenEmails};
use crate::render::{plural, template_help};
use crate::report::{HistoryView, MetricsView, Naming, Report, StageCountsView, cents};
use crate::stages::{
    AffiliateState, Communication, Derived, NextAction, Reason, UPCOMING_LISTED, Urgency,
};

/// Most actions due a report page lists, most overdue first; the emails pages, `agenda.ics`
/// and `report.csv` have them all (`report.json` in public builds).
pub const ACTIONS_LISTED: usize = 200;
/// Most stage changes a report page lists; `report.json` has them all.
pub const CHANGES_LISTED: usize = 200;
/// Most rows of the "Everyone" table, most urgent first; `report.csv` and `report.json` have
/// everyone. With these bounds a report page stays well under 5 MB at any number of referrals.
pub const PEOPLE_LISTED: usize = 2000;

/// The built-in report templates, by name; a user's `templates/<name>` replaces one.
const BUILT_IN: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("index.html", include_str!("../../templates/index.html")),
    ("emails.html", include_str!("../../templates/emails.html")),
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
    /// Renders one page; errors name the template.
    pub fn render<T: Serialize>(&self, name: &str, view: &T) -> Result<String, Diagnostic> {
        let origin = format!("{TEMPLATES_DIR}/{name}");
        let context = Context::from_serialize(view)
            .map_err(|err| Diagnostic::error(&origin, err.to_string()))?;
        self.tera
            .render(name, &context)
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

/// Everything `index.html` shows. The lists are bounded so that the page stays small at
/// any number of referrals; each comes with its full count.
#[derive(Serialize)]
pub struct ReportPage<'a> {
    pub title: &'a str,
    pub report: PageReport<'a>,
    pub settings: &'a PageSettings<'a>,
    /// Overdue and due this week (at most [`ACTIONS_LISTED`]), then the next few upcoming
    /// when all the due ones are listed.
    pub actions: Vec<ActionRow>,
    pub action_counts: ActionCounts,
    pub summary: Summary,
    pub stages: Vec<StageBar>,
    /// At most [`CHANGES_LISTED`], of `transitions_total`.
    pub transitions: Vec<TransitionRow>,
    pub transitions_total: usize,
    pub trend: Trend,
    pub cohorts: Cohorts,
    pub answers: Answers,
    pub returns: ReturnChart,
    pub programs: Vec<ProgramRow>,
    /// At most [`PEOPLE_LISTED`], of `people_total`; empty on archived weeks' pages.
    pub people: Vec<PersonRow>,
    pub people_total: usize,
}

/// The figures of `report.json` a page shows: all but its per-person lists, which a page
/// shows bounded (`actions`, `transitions`, `people`) and `report.json` keeps whole.
#[derive(Serialize)]
pub struct PageReport<'a> {
    pub week: &'a str,
    pub week_start: NaiveDate,
    pub week_end: NaiveDate,
    pub as_of: NaiveDate,
    pub stage_counts: StageCountsView,
    pub metrics: &'a MetricsView,
    pub history: &'a [HistoryView],
    pub communication: &'a Communication,
}

impl<'a> PageReport<'a> {
    fn new(report: &'a Report) -> Self {
        Self {
            week: &report.week,
            week_start: report.week_start,
            week_end: report.week_end,
            as_of: report.as_of,
            stage_counts: report.stage_counts,
            metrics: &report.metrics,
            history: &report.history,
            communication: &report.communication,
        }
    }
}

/// How many actions the week has, whether or not the page lists them all.
#[derive(Serialize)]
pub struct ActionCounts {
    pub overdue: usize,
    /// Due this week and not overdue.
    pub due: usize,
    /// Actions due with an email written.
    pub emails: usize,
    /// Actions due that the page leaves out.
    pub unlisted: usize,
}

/// One action in "This week's actions", or one upcoming.
#[derive(Serialize)]
pub struct ActionRow {
    pub who: String,
    pub program: String,
    pub kind: ActionKind,
    /// The step of the method, e.g. "Welcome and offer help".
    pub step: &'static str,
    pub why: String,
    pub due: NaiveDate,
    /// `overdue`, `due` or `upcoming`.
    pub urgency: &'static str,
    pub days_late: i64,
    /// The `.eml` file, relative to the output folder (templates prefix `settings.base`).
    pub email: Option<String>,
    /// `Subject: …` and the body, for the copy button.
    pub copy_text: Option<String>,
    /// For an offer of help (where letting go is weighed): the time spent on them and what
    /// they earned you.
    pub investment: Option<String>,
}

/// The headline figures.
#[derive(Serialize)]
pub struct Summary {
    pub referrals: usize,
    pub contacted: usize,
    pub contacted_percent: Option<u32>,
    pub rate_contacted_percent: Option<u32>,
    pub rate_uncontacted_percent: Option<u32>,
    pub contacted_with_sale: usize,
    pub uncontacted: usize,
    pub uncontacted_with_sale: usize,
    pub thriving: usize,
    pub median_days_to_first_sale: Option<String>,
    pub sales_this_week: usize,
    pub sales_amount_this_week: String,
    pub estimated_residual_this_week: String,
    /// The return on your time: hours invested (all, and this week), the residual earned
    /// through the referrals you contacted, and that per hour (`None` with no time recorded).
    pub time_invested: String,
    pub time_invested_this_week: String,
    pub residual_contacted: String,
    pub residual_per_hour: Option<String>,
}

/// One bar of the stage chart.
#[derive(Serialize)]
pub struct StageBar {
    pub stage: Stage,
    pub label: &'static str,
    pub count: usize,
    /// Bar length as a percentage of the largest count.
    pub percent: f64,
}

/// One stage change this week.
#[derive(Serialize)]
pub struct TransitionRow {
    pub who: String,
    pub from: Option<Stage>,
    pub from_label: Option<&'static str>,
    pub to: Stage,
    pub to_label: &'static str,
}

/// A stacked-column chart of stage counts per week, laid out in SVG units.
#[derive(Serialize)]
pub struct Trend {
    pub width: u32,
    pub height: u32,
    pub columns: Vec<TrendColumn>,
}

/// One week's column.
#[derive(Serialize)]
pub struct TrendColumn {
    pub week: String,
    pub x: f64,
    pub width: f64,
    pub total: usize,
    pub segments: Vec<TrendSegment>,
    pub label_x: f64,
}

/// One stage's part of a column.
#[derive(Serialize)]
pub struct TrendSegment {
    pub stage: Stage,
    pub label: &'static str,
    pub count: usize,
    pub y: f64,
    pub height: f64,
}

/// Counts and sales of one program.
#[derive(Serialize)]
pub struct ProgramRow {
    pub name: String,
    pub url: Option<String>,
    pub residual: bool,
    pub rate_percent: Option<String>,
    pub referrals: usize,
    pub active: usize,
    pub thriving: usize,
    pub with_sale: usize,
    pub sales: usize,
    pub sales_this_week: usize,
    pub amount_this_week: String,
}

/// One row of "Everyone".
#[derive(Serialize)]
pub struct PersonRow {
    pub who: String,
    pub program: String,
    pub stage: Stage,
    pub stage_label: &'static str,
    /// The stage's place in the method's order, for sorting by stage.
    pub stage_rank: usize,
    /// The record's tags; empty in public reports.
    pub tags: Vec<String>,
    pub action: Option<ActionKind>,
    pub action_label: Option<&'static str>,
    pub due: Option<NaiveDate>,
    pub urgency: Option<&'static str>,
    pub last_contact: Option<NaiveDate>,
    pub sales: usize,
    pub motivation: Option<String>,
    /// Time spent on them, e.g. "1 h 30 min"; `None` when none was recorded.
    pub time_invested: Option<String>,
    pub minutes_invested: u64,
    /// What their sales earned you, with two decimals.
    pub earned: String,
}

/// Everything one emails page shows: `emails/index.html`, then `emails/page-2.html` and on,
/// [`EMAILS_PER_PAGE`] emails each.
#[derive(Serialize)]
pub struct EmailsPage<'a> {
    pub title: &'a str,
    pub week: &'a str,
    pub as_of: NaiveDate,
    /// This page's emails, oldest due first.
    pub emails: Vec<EmailCard<'a>>,
    /// The place of this page's first and last email among all `total`, counting from 1.
    pub first: usize,
    pub last: usize,
    pub total: usize,
    /// The kinds of this page's emails, in the method's order, each with how many there are.
    pub kinds: Vec<KindCount>,
    pub pager: Pager,
}

/// How many emails of one kind the emails page shows.
#[derive(Serialize)]
pub struct KindCount {
    pub kind: ActionKind,
    pub label: &'static str,
    pub count: usize,
}

/// One email on the emails page.
#[derive(Serialize)]
pub struct EmailCard<'a> {
    /// `Name <address>`.
    pub to: String,
    pub to_name: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// The HTML part, built from escaped values: safe to embed.
    pub html: &'a str,
    pub due: NaiveDate,
    pub kind: ActionKind,
    pub kind_label: &'static str,
    /// The card's element id: `email-<id>--<kind>`, a valid HTML id for any referral id.
    pub anchor: String,
    /// The command that records this email as sent: `affrel done <id>`.
    pub done_command: String,
    pub eml: String,
    pub txt: String,
    pub mailto: &'a str,
    pub copy_text: &'a str,
}

/// A human label for a stage.
pub fn stage_label(stage: Stage) -> &'static str {
    match stage {
        Stage::NotWorthIt => "Not worth it",
        Stage::Uncontacted => "Uncontacted",
        Stage::Welcomed => "Welcomed",
        Stage::FirstSale => "First sale",
        Stage::FollowingUp => "Following up",
        Stage::Struggling => "Struggling",
        Stage::Thriving => "Thriving",
        Stage::LetGo => "Let go",
    }
}

/// A human label for an action: the step of the method it carries out.
pub fn action_step(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Welcome => "Welcome and offer help",
        ActionKind::Nudge => "Nudge toward a first sale",
        ActionKind::FollowUp => "Follow up after the first sale",
        ActionKind::OfferHelp => "Offer help, or let go",
        ActionKind::Congratulate => "Congratulate",
    }
}

/// A short label for an action.
pub fn action_label(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Welcome => "Welcome",
        ActionKind::Nudge => "Nudge",
        ActionKind::FollowUp => "Follow up",
        ActionKind::OfferHelp => "Offer help",
        ActionKind::Congratulate => "Congratulate",
    }
}

impl<'a> ReportPage<'a> {
    /// Lays out the report page.
    pub fn new(
        project: &'a Project,
        derived: &Derived<'_>,
        report: &'a Report,
        emails: &WrittenEmails,
        naming: Naming<'_>,
        settings: &'a PageSettings<'a>,
    ) -> Self {
        let (actions, action_counts) = action_rows(project, derived, emails, naming);
        Self {
            title: &project.config.report.title,
            report: PageReport::new(report),
            settings,
            actions,
            action_counts,
            summary: summary(derived),
            stages: stage_bars(derived),
            transitions: transition_rows(derived, naming),
            transitions_total: derived.transitions.len(),
            trend: trend(derived),
            cohorts: charts::cohorts(derived),
            answers: charts::answers(derived),
            returns: charts::returns(derived, naming),
            programs: program_rows(project, derived),
            people: if settings.current {
                person_rows(derived, naming, settings.public)
            } else {
                Vec::new()
            },
            people_total: derived.affiliates.len(),
        }
    }

    /// The same page as the week archive shows it, under `settings`: without the per-person
    /// table.
    pub fn archived(self, settings: &'a PageSettings<'a>) -> Self {
        Self {
            settings,
            people: Vec::new(),
            ..self
        }
    }
}

fn days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    (to - from).num_days()
}

fn ago(date: NaiveDate, as_of: NaiveDate) -> String {
    match days_between(date, as_of) {
        0 => "today".to_owned(),
        1 => "yesterday".to_owned(),
        days => format!("{} ago", plural(days, "day", "days")),
    }
}

/// Why an action is due, in the user's words.
/// Why an action is due, and what the mailbox says of them: their last email unanswered past
/// the reply window ("welcome unanswered for 16 days"), an address that bounced.
pub fn why_now(
    affiliate: &AffiliateState<'_>,
    action: NextAction,
    rules: &Rules,
    as_of: NaiveDate,
) -> String {
    let mut why = match (action.reason, affiliate.unanswered) {
        // The last touch was that email: say it went unanswered, once.
        (Reason::LastTouch(on), Some((kind, days))) if days_between(on, as_of) == days => {
            format!("no sale yet; {}", unanswered(kind, days))
        }
        (reason, Some((kind, days))) => {
            format!("{}; {}", why(reason, rules, as_of), unanswered(kind, days))
        }
        (reason, None) => why(reason, rules, as_of),
    };
    if let Some(on) = affiliate.bouncing {
        let _ = write!(why, "; address bounced on {on}: check it");
    }
    why
}

/// "welcome unanswered for 16 days".
fn unanswered(kind: ActionKind, days: i64) -> String {
    let email = match kind {
        ActionKind::Welcome => "welcome",
        ActionKind::Nudge => "nudge",
        ActionKind::FollowUp => "follow-up",
        ActionKind::OfferHelp => "offer of help",
        ActionKind::Congratulate => "congratulations",
    };
    format!("{email} unanswered for {}", plural(days, "day", "days"))
}

/// Why an action is due, from the fact in the record that made it due.
fn why(reason: Reason, rules: &Rules, as_of: NaiveDate) -> String {
    match reason {
        Reason::Referred(on) => format!("referred {}, not contacted yet", ago(on, as_of)),
        Reason::LastTouch(on) => format!("no sale yet; last touch {}", ago(on, as_of)),
        Reason::FirstSale(on) => format!("first sale {}", ago(on, as_of)),
        Reason::RecentSales { count, latest } => format!(
            "{} in the last {} days, latest {}",
            plural(count, "sale", "sales"),
            rules.thriving_window_days,
            ago(latest, as_of)
        ),
        Reason::LowInterest(on) => format!("replied with low interest {}", ago(on, as_of)),
        Reason::Quiet(since) => format!(
            "quiet since {since}, {}",
            plural(days_between(since, as_of), "day", "days")
        ),
    }
}

fn action_rows(
    project: &Project,
    derived: &Derived<'_>,
    emails: &WrittenEmails,
    naming: Naming<'_>,
) -> (Vec<ActionRow>, ActionCounts) {
    let mut pending: Vec<(NaiveDate, String, &AffiliateState<'_>, NextAction)> = derived
        .affiliates
        .iter()
        .filter_map(|affiliate| {
            let action = affiliate.status.action?;
            Some((
                action.due,
                naming.label(affiliate.referral),
                affiliate,
                action,
            ))
        })
        .collect();
    pending.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let due_now = |action: &NextAction| derived.week.urgency(action.due).is_this_week();
    let due_count = pending
        .iter()
        .filter(|(.., action)| due_now(action))
        .count();
    let overdue = pending
        .iter()
        .filter(|(.., action)| derived.week.urgency(action.due) == Urgency::Overdue)
        .count();
    let with_email = pending
        .iter()
        .filter(|(_, _, affiliate, action)| {
            due_now(action)
                && emails
                    .copy_text(&affiliate.referral.id, action.kind)
                    .is_some()
        })
        .count();
    let listed = if due_count > ACTIONS_LISTED {
        ACTIONS_LISTED
    } else {
        due_count + UPCOMING_LISTED
    };
    pending.truncate(listed);
    let rows = pending
        .into_iter()
        .map(|(due, who, affiliate, action)| {
            let id = &affiliate.referral.id;
            ActionRow {
                who,
                program: affiliate.program.name.clone(),
                kind: action.kind,
                step: action_step(action.kind),
                why: why_now(affiliate, action, &project.config.rules, derived.as_of),
                due,
                urgency: derived.week.urgency(due).as_str(),
                days_late: days_between(due, derived.as_of).max(0),
                email: emails.eml_path(id, action.kind),
                copy_text: emails.copy_text(id, action.kind).map(str::to_owned),
                investment: (action.kind == ActionKind::OfferHelp).then(|| investment(affiliate)),
            }
        })
        .collect();
    let counts = ActionCounts {
        overdue,
        due: due_count - overdue,
        emails: with_email,
        unlisted: due_count.saturating_sub(ACTIONS_LISTED),
    };
    (rows, counts)
}

/// "1 h 30 min invested, earned you 12.40": the return on the time spent on one person.
fn investment(affiliate: &AffiliateState<'_>) -> String {
    let time = time_invested(affiliate.minutes_invested).map_or_else(
        || "no time recorded".to_owned(),
        |t| format!("{t} invested"),
    );
    format!("{time}, earned you {}", money(affiliate.estimated_residual))
}

fn percent(ratio: Option<f64>) -> Option<u32> {
    ratio.map(|r| (r * 100.0).round() as u32)
}

/// Money with two decimals; the currency is whatever the programs pay in.
pub fn money(amount: f64) -> String {
    format!("{:.2}", cents(amount))
}

fn summary(derived: &Derived<'_>) -> Summary {
    let m = &derived.metrics;
    let uncontacted = m.referrals - m.contacted;
    Summary {
        referrals: m.referrals,
        contacted: m.contacted,
        contacted_percent: percent(
            (m.referrals > 0).then(|| m.contacted as f64 / m.referrals as f64),
        ),
        rate_contacted_percent: percent(m.first_sale_rate_contacted),
        rate_uncontacted_percent: percent(m.first_sale_rate_uncontacted),
        contacted_with_sale: m.contacted_with_sale,
        uncontacted,
        uncontacted_with_sale: m.uncontacted_with_sale,
        thriving: derived.stage_counts.get(Stage::Thriving),
        median_days_to_first_sale: m.median_days_to_first_sale.map(|d| format!("{d}")),
        sales_this_week: m.sales_this_week,
        sales_amount_this_week: money(m.sales_amount_this_week),
        estimated_residual_this_week: money(m.estimated_residual_this_week),
        time_invested: time_invested(m.minutes_invested).unwrap_or_else(|| "0 h".to_owned()),
        time_invested_this_week: time_invested(m.minutes_invested_this_week)
            .unwrap_or_else(|| "0 h".to_owned()),
        residual_contacted: money(m.estimated_residual_contacted),
        residual_per_hour: m.residual_per_hour_invested.map(money),
    }
}

fn stage_bars(derived: &Derived<'_>) -> Vec<StageBar> {
    let max = derived
        .stage_counts
        .iter()
        .map(|(_, n)| n)
        .max()
        .unwrap_or(0)
        .max(1);
    derived
        .stage_counts
        .iter()
        .map(|(stage, count)| StageBar {
            stage,
            label: stage_label(stage),
            count,
            percent: (count as f64 / max as f64 * 1000.0).round() / 10.0,
        })
        .collect()
}

fn transition_rows(derived: &Derived<'_>, naming: Naming<'_>) -> Vec<TransitionRow> {
    derived
        .transitions
        .iter()
        .take(CHANGES_LISTED)
        .map(|t| TransitionRow {
            who: naming.label(t.referral),
            from: t.from,
            from_label: t.from.map(stage_label),
            to: t.to,
            to_label: stage_label(t.to),
        })
        .collect()
}

/// Chart size in SVG units; the SVG scales to its container.
const TREND_WIDTH: u32 = 720;
const TREND_HEIGHT: u32 = 220;
const TREND_LABELS: f64 = 22.0;

fn trend(derived: &Derived<'_>) -> Trend {
    let max_total = derived
        .history
        .iter()
        .map(|point| point.counts.iter().map(|(_, n)| n).sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = f64::from(TREND_WIDTH) / derived.history.len().max(1) as f64;
    let plot_height = f64::from(TREND_HEIGHT) - TREND_LABELS;
    let scale = plot_height / max_total as f64;
    let round = |v: f64| (v * 10.0).round() / 10.0;
    let columns = derived
        .history
        .iter()
        .enumerate()
        .map(|(index, point)| {
            let x = index as f64 * slot;
            let mut top = plot_height;
            let segments = point
                .counts
                .iter()
                .filter(|&(_, count)| count > 0)
                .map(|(stage, count)| {
                    let height = count as f64 * scale;
                    top -= height;
                    TrendSegment {
                        stage,
                        label: stage_label(stage),
                        count,
                        y: round(top),
                        height: round(height),
                    }
                })
                .collect();
            TrendColumn {
                week: point.week.label.clone(),
                x: round(x + slot * 0.15),
                width: round(slot * 0.7),
                total: point.counts.iter().map(|(_, n)| n).sum(),
                segments,
                label_x: round(x + slot / 2.0),
            }
        })
        .collect();
    Trend {
        width: TREND_WIDTH,
        height: TREND_HEIGHT,
        columns,
    }
}

fn program_rows(project: &Project, derived: &Derived<'_>) -> Vec<ProgramRow> {
    let mut rows: Vec<ProgramRow> = project
        .config
        .programs
        .values()
        .map(|program| {
            let members: Vec<&AffiliateState<'_>> = derived
                .affiliates
                .iter()
                .filter(|a| a.program.id == program.id)
                .collect();
            ProgramRow {
                name: program.name.clone(),
                url: program.url.clone(),
                residual: program.residual_commissions,
                rate_percent: program
                    .residual_rate
                    .map(|r| format!("{}", cents(r * 100.0))),
                referrals: members.len(),
                active: members
                    .iter()
                    .filter(|a| !matches!(a.status.stage, Stage::LetGo | Stage::NotWorthIt))
                    .count(),
                thriving: members
                    .iter()
                    .filter(|a| a.status.stage == Stage::Thriving)
                    .count(),
                with_sale: members.iter().filter(|a| a.sales > 0).count(),
                sales: members.iter().map(|a| a.sales).sum(),
                sales_this_week: members.iter().map(|a| a.sales_this_week).sum(),
                amount_this_week: money(members.iter().map(|a| a.amount_this_week).sum()),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.residual
            .cmp(&a.residual)
            .then_with(|| a.name.cmp(&b.name))
    });
    rows
}

/// Minutes as hours and minutes: "45 min", "2 h", "1 h 30 min"; `None` for none.
pub fn time_invested(minutes: u64) -> Option<String> {
    let (hours, rest) = (minutes / 60, minutes % 60);
    match (hours, rest) {
        (0, 0) => None,
        (0, m) => Some(format!("{m} min")),
        (h, 0) => Some(format!("{h} h")),
        (h, m) => Some(format!("{h} h {m} min")),
    }
}

fn person_rows(derived: &Derived<'_>, naming: Naming<'_>, public: bool) -> Vec<PersonRow> {
    let mut ranked: Vec<(Option<NaiveDate>, Stage, String, &AffiliateState<'_>)> = derived
        .affiliates
        .iter()
        .map(|a| {
            let due = a.status.action.map(|x| x.due);
            (due, a.status.stage, naming.label(a.referral), a)
        })
        .collect();
    let rank = |row: &(Option<NaiveDate>, Stage, String, &AffiliateState<'_>)| {
        (row.0.is_none(), row.0, row.1)
    };
    ranked.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.2.cmp(&b.2)));
    ranked.truncate(PEOPLE_LISTED);
    ranked
        .into_iter()
        .map(|(due, stage, who, a)| {
            let action = a.status.action;
            PersonRow {
                who,
                program: a.program.name.clone(),
                stage,
                stage_label: stage_label(stage),
                stage_rank: stage as usize,
                tags: if public {
                    Vec::new()
                } else {
                    a.referral.tags.clone()
                },
                action: action.map(|x| x.kind),
                action_label: action.map(|x| action_label(x.kind)),
                due,
                urgency: due.map(|due| derived.week.urgency(due).as_str()),
                last_contact: a.last_contact,
                sales: a.sales,
                time_invested: time_invested(a.minutes_invested),
                minutes_invested: a.minutes_invested,
                earned: money(a.estimated_residual),
                motivation: if public {
                    None
                } else {
                    a.referral.motivation.clone()
                },
            }
        })
        .collect()
}

/// Most emails on one emails page; more go on further pages.
pub const EMAILS_PER_PAGE: usize = 100;

/// The file of emails page `page` (counting from 1), relative to `emails/`.
pub fn emails_page_file(page: usize) -> String {
    if page <= 1 {
        "index.html".to_owned()
    } else {
        format!("page-{page}.html")
    }
}

impl<'a> EmailsPage<'a> {
    /// Lays out one emails page: `emails` in order, on page `pager.page` of `total` emails.
    pub fn new(
        project: &'a Project,
        derived: &'a Derived<'_>,
        emails: &'a [RenderedEmail],
        total: usize,
        pager: Pager,
    ) -> Self {
        let cards: Vec<EmailCard<'a>> = emails
            .iter()
            .map(|email| EmailCard {
                to: format!("{} <{}>", email.to_name, email.to_email),
                to_name: &email.to_name,
                kind_label: action_label(email.kind),
                subject: &email.subject,
                body: &email.text,
                html: &email.html,
                due: email.due,
                kind: email.kind,
                anchor: format!("email-{}--{}", email.id, email.kind),
                done_command: format!("affrel done {}", email.id),
                eml: email.eml_path().trim_start_matches("emails/").to_owned(),
                txt: email.txt_path().trim_start_matches("emails/").to_owned(),
                mailto: &email.mailto,
                copy_text: &email.copy_text,
            })
            .collect();
        let kinds = ActionKind::ALL
            .iter()
            .map(|&kind| KindCount {
                kind,
                label: action_label(kind),
                count: cards.iter().filter(|card| card.kind == kind).count(),
            })
            .filter(|k| k.count > 0)
            .collect();
        let first = (pager.page - 1) * EMAILS_PER_PAGE + 1;
        Self {
            title: &project.config.report.title,
            week: &derived.week.label,
            as_of: derived.as_of,
            first,
            last: first + cards.len().saturating_sub(1),
            total,
            emails: cards,
            kinds,
            pager,
        }
    }
}

/// Links between the pages of a long list: the first and last page, and those near this one.
#[derive(Serialize)]
pub struct Pager {
    /// This page, counting from 1.
    pub page: usize,
    pub pages: usize,
    pub previous: Option<String>,
    pub next: Option<String>,
    pub links: Vec<PageLink>,
}

/// One numbered link of a [`Pager`].
#[derive(Serialize)]
pub struct PageLink {
    pub number: usize,
    pub href: String,
    pub current: bool,
    /// Whether pages are skipped between the previous link and this one.
    pub gap_before: bool,
}

/// How many pages either side of this one get a numbered link.
const PAGER_NEIGHBOURS: usize = 2;

impl Pager {
    /// The links from page `page` of `pages`, each page's file named by `file`.
    pub fn new(page: usize, pages: usize, file: impl Fn(usize) -> String) -> Self {
        // A gap of a single page would hide no more than its own link: list that page.
        let next_to_end = |number: usize| number == 2 || number + 1 == pages;
        let listed = |number: usize| {
            number == 1
                || number == pages
                || number.abs_diff(page) <= PAGER_NEIGHBOURS + usize::from(next_to_end(number))
        };
        let mut links = Vec::new();
        let mut last_listed = 0;
        for number in 1..=pages {
            if listed(number) {
                links.push(PageLink {
                    number,
                    href: file(number),
                    current: number == page,
                    gap_before: number > last_listed + 1,
                });
                last_listed = number;
            }
        }
        Self {
            page,
            pages,
            previous: (page > 1).then(|| file(page - 1)),
            next: (page < pages).then(|| file(page + 1)),
            links,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pager's numbered links as text: `[3]` for this page, `…` for a gap.
    fn shown(page: usize, pages: usize) -> String {
        Pager::new(page, pages, emails_page_file)
            .links
            .iter()
            .map(|link| {
                let number = if link.current {
                    format!("[{}]", link.number)
                } else {
                    link.number.to_string()
                };
                if link.gap_before {
                    format!("… {number}")
                } else {
                    number
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn pager_lists_the_ends_and_the_neighbours_and_never_hides_a_single_page() {
        assert_eq!(shown(1, 1), "[1]");
        assert_eq!(shown(1, 7), "[1] 2 3 … 7");
        assert_eq!(shown(3, 7), "1 2 [3] 4 5 6 7");
        assert_eq!(shown(4, 9), "1 2 3 [4] 5 6 … 9");
        assert_eq!(shown(9, 9), "1 … 7 8 [9]");
        assert_eq!(shown(50, 100), "1 … 48 49 [50] 51 52 … 100");
    }

    #[test]
    fn pager_links_name_the_files_of_the_neighbouring_pages() {
        let pager = Pager::new(2, 3, emails_page_file);
        assert_eq!(pager.previous.as_deref(), Some("index.html"));
        assert_eq!(pager.next.as_deref(), Some("page-3.html"));
        let first = Pager::new(1, 3, emails_page_file);
        assert_eq!(
            (first.previous, first.next.as_deref()),
            (None, Some("page-2.html"))
        );
    }
}
