//! Derived state → everything the report page shows, laid out for its template: the week's
//! actions and why each is due, the summary, stages, changes, trend, programs and everyone,
//! each list bounded so that the page stays small.

use std::borrow::Cow;
use std::fmt::Write as _;

use chrono::NaiveDate;
use serde::Serialize;

use crate::render::format::{
    action_label, action_step, ago, days_between, money, percent, stage_label, time_invested,
};

use super::PageSettings;
use crate::model::{ActionKind, Project, Rules, Stage};
use crate::money::cents;
use crate::render::charts::{self, Answers, Cohorts, ReturnChart};
use crate::render::emails::WrittenEmails;
use crate::render::{first_sorted, plural};
use crate::report::{HistoryView, Naming, Report, StageCountsView};
use crate::stages::{
    AffiliateState, Communication, Derived, Metrics, NextAction, Reason, UPCOMING_LISTED, Urgency,
};

/// Most actions due a report page lists, most overdue first; the emails pages, `agenda.ics`
/// and `report.csv` have them all (`report.json` in public builds).
pub const ACTIONS_LISTED: usize = 200;
/// Most stage changes a report page lists; `report.json` has them all.
pub const CHANGES_LISTED: usize = 200;
/// Most rows of the "Everyone" table, most urgent first; `report.csv` and `report.json` have
/// everyone. With these bounds a report page stays well under 5 MB at any number of referrals.
pub const PEOPLE_LISTED: usize = 2000;

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
    pub metrics: &'a Metrics,
    pub history: &'a [HistoryView],
    pub communication: &'a Communication,
}

impl<'a> PageReport<'a> {
    fn new(report: &'a Report<'a, '_>) -> Self {
        Self {
            week: report.week,
            week_start: report.week_start,
            week_end: report.week_end,
            as_of: report.as_of,
            stage_counts: report.stage_counts,
            metrics: report.metrics,
            history: &report.history,
            communication: report.communication,
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

impl<'a> ReportPage<'a> {
    /// Lays out the report page.
    pub fn new(
        project: &'a Project,
        derived: &Derived<'_>,
        report: &'a Report<'a, '_>,
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
    let mut pending: Vec<(NaiveDate, Cow<'_, str>, &AffiliateState<'_>, NextAction)> = derived
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
    // People with the same name stay in the order of their ids.
    first_sorted(&mut pending, listed, |a, b| {
        (a.0, &a.1, &a.2.referral.id).cmp(&(b.0, &b.1, &b.2.referral.id))
    });
    let rows = pending
        .into_iter()
        .map(|(due, who, affiliate, action)| {
            let id = &affiliate.referral.id;
            ActionRow {
                who: who.into_owned(),
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

fn summary(derived: &Derived<'_>) -> Summary {
    let m = &derived.metrics;
    let uncontacted = m.referrals - m.contacted;
    Summary {
        referrals: m.referrals,
        contacted: m.contacted,
        contacted_percent: (m.referrals > 0)
            .then(|| percent(m.contacted as f64 / m.referrals as f64)),
        rate_contacted_percent: m.first_sale_rate_contacted.map(percent),
        rate_uncontacted_percent: m.first_sale_rate_uncontacted.map(percent),
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
            who: naming.label(t.referral).into_owned(),
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

fn person_rows(derived: &Derived<'_>, naming: Naming<'_>, public: bool) -> Vec<PersonRow> {
    let mut ranked: Vec<(Option<NaiveDate>, Stage, Cow<'_, str>, &AffiliateState<'_>)> = derived
        .affiliates
        .iter()
        .map(|a| {
            let due = a.status.action.map(|x| x.due);
            (due, a.status.stage, naming.label(a.referral), a)
        })
        .collect();
    // People with the same name stay in the order of their ids.
    first_sorted(&mut ranked, PEOPLE_LISTED, |a, b| {
        (a.0.is_none(), a.0, a.1, &a.2, &a.3.referral.id).cmp(&(
            b.0.is_none(),
            b.0,
            b.1,
            &b.2,
            &b.3.referral.id,
        ))
    });
    ranked
        .into_iter()
        .map(|(due, stage, who, a)| {
            let action = a.status.action;
            PersonRow {
                who: who.into_owned(),
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
