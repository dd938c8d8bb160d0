//! Derived cohorts, communication and affiliates → the charts of "is the mentoring
//! working?", laid out in SVG units for the report template: the cohorts (a table row and two
//! bars per month), which emails get answers (a row and a bar per kind of email) and time
//! against return (a point per referral).

use serde::Serialize;

use crate::model::{ActionKind, Stage};
use crate::report::Naming;
use crate::stages::{AffiliateState, COHORT_DAYS, Cohort, Communication, Derived, EmailReplies};

use super::first_sorted;
use super::format::{money, percent, stage_label, time_invested};

/// Most points the time-against-return chart draws; `report.json` has everyone.
pub const POINTS_DRAWN: usize = 2000;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
/// Room below the plot for the axis labels, and left of it for the values.
const BOTTOM: f64 = 24.0;
const LEFT: f64 = 44.0;
/// Room above the plot, so that the top label is not cut.
const TOP: f64 = 10.0;

/// The cohorts section: a row per month, and its chart.
#[derive(Serialize)]
pub struct Cohorts {
    pub rows: Vec<CohortRow>,
    pub chart: CohortChart,
    /// How many days a first sale may take to count, and a referral must have had.
    pub days: i64,
}

/// One month in the cohorts table.
#[derive(Serialize)]
pub struct CohortRow {
    /// `YYYY-MM`.
    pub month: String,
    /// "Nov 2026".
    pub label: String,
    pub referrals: usize,
    pub contacted: usize,
    pub contacted_percent: Option<u32>,
    pub median_days_to_welcome: Option<String>,
    pub matured: usize,
    pub first_sale_within: usize,
    pub rate_percent: Option<u32>,
    /// Referrals joined, none old enough to judge.
    pub too_young: bool,
    pub time_invested: Option<String>,
    pub residual: String,
}

/// The frame of a chart of rates, in SVG units: its size, where the plot starts, the y of
/// 0 % (`bottom`) and of 100 % (`top`), and the gridlines between.
#[derive(Serialize)]
pub struct RateFrame {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub bottom: f64,
    pub top: f64,
    pub gridlines: Vec<Tick>,
}

impl RateFrame {
    fn new() -> Self {
        let (top, bottom) = (TOP, HEIGHT - BOTTOM);
        Self {
            width: WIDTH,
            height: HEIGHT,
            left: LEFT,
            bottom,
            top,
            gridlines: [0, 50, 100]
                .iter()
                .map(|&p| Tick {
                    at: round(bottom - (bottom - top) * f64::from(p) / 100.0),
                    label: format!("{p}%"),
                })
                .collect(),
        }
    }

    /// The width of each of `columns` columns side by side.
    fn slot(&self, columns: usize) -> f64 {
        (self.width - self.left) / columns.max(1) as f64
    }

    /// A bar of `percent`, `width` wide, at `x`.
    fn bar(&self, x: f64, width: f64, percent: u32) -> Bar {
        let height = (self.bottom - self.top) * f64::from(percent) / 100.0;
        Bar {
            x: round(x),
            y: round(self.bottom - height),
            width,
            height: round(height),
            percent,
        }
    }
}

/// The cohorts chart: per month, the share contacted and the early first-sale rate.
#[derive(Serialize)]
pub struct CohortChart {
    #[serde(flatten)]
    pub frame: RateFrame,
    pub months: Vec<CohortColumn>,
}

/// One month's pair of bars.
#[derive(Serialize)]
pub struct CohortColumn {
    /// `YYYY-MM`.
    pub month: String,
    pub label: String,
    pub title: String,
    pub label_x: f64,
    /// Absent for a month nobody joined in.
    pub contacted: Option<Bar>,
    /// Absent when nobody is old enough to judge: `too_young` then draws an outline.
    pub rate: Option<Bar>,
    pub too_young: bool,
    /// Where the outline of a month too young to judge goes.
    pub young: Bar,
}

/// A bar in SVG units.
#[derive(Serialize)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub percent: u32,
}

/// A labelled line across or along a chart.
#[derive(Serialize)]
pub struct Tick {
    pub at: f64,
    pub label: String,
}

/// Time against return: one point per referral with time or residual recorded.
#[derive(Serialize)]
pub struct ReturnChart {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
    pub x_ticks: Vec<Tick>,
    pub y_ticks: Vec<Tick>,
    /// At most [`POINTS_DRAWN`], most time invested first.
    pub points: Vec<ReturnPoint>,
    /// How many referrals have time or residual recorded.
    pub total: usize,
    /// Of the drawn points, the struggling ones: the let-go candidates.
    pub struggling: usize,
}

/// One referral in the chart.
#[derive(Serialize)]
pub struct ReturnPoint {
    pub who: String,
    pub stage: Stage,
    pub stage_label: &'static str,
    pub time: String,
    pub minutes: u64,
    pub residual: String,
    pub x: f64,
    pub y: f64,
    /// Where the name shows on hover and focus: left of the point near the right edge.
    pub tip_x: f64,
    pub tip_anchor: &'static str,
}

/// How many emails of a kind must have had their reply window before its rate is charted.
pub const ENOUGH_EMAILS: usize = 5;

/// "Which emails get answers": a row and a bar per kind of email, and what it says in words.
#[derive(Serialize)]
pub struct Answers {
    pub window: i64,
    pub rows: Vec<AnswerRow>,
    pub chart: AnswerChart,
    /// How the first-sale rate of those who wrote back compares with the rest's; absent when
    /// a group is empty.
    pub replied_sentence: Option<String>,
    /// How many of the people you welcomed told you what motivates them; absent when you
    /// welcomed nobody.
    pub motivation_sentence: Option<String>,
}

/// One kind of email in the table.
#[derive(Serialize)]
pub struct AnswerRow {
    pub kind: ActionKind,
    pub label: &'static str,
    pub sent: usize,
    pub answered: usize,
    pub rate_percent: Option<u32>,
    pub median_days: Option<String>,
    /// Fewer than [`ENOUGH_EMAILS`] counted: too few to chart a rate.
    pub too_few: bool,
}

/// The reply rates as bars, one per kind of email.
#[derive(Serialize)]
pub struct AnswerChart {
    #[serde(flatten)]
    pub frame: RateFrame,
    pub kinds: Vec<AnswerColumn>,
}

/// One kind of email's bar.
#[derive(Serialize)]
pub struct AnswerColumn {
    pub kind: ActionKind,
    pub label: &'static str,
    pub title: String,
    pub label_x: f64,
    pub sent: usize,
    pub answered: usize,
    /// Absent when too few were counted: `outline` then draws a dashed frame.
    pub rate: Option<Bar>,
    pub outline: Bar,
}

/// Lays out "Which emails get answers" of `derived`.
pub fn answers(derived: &Derived<'_>) -> Answers {
    let communication = &derived.communication;
    let rows: Vec<AnswerRow> = communication.emails.iter().map(answer_row).collect();
    Answers {
        window: communication.reply_window_days,
        chart: answer_chart(&rows),
        rows,
        replied_sentence: replied_sentence(communication),
        motivation_sentence: motivation_sentence(communication),
    }
}

fn answer_row(kind: &EmailReplies) -> AnswerRow {
    AnswerRow {
        kind: kind.kind,
        label: email_label(kind.kind),
        sent: kind.sent,
        answered: kind.answered,
        rate_percent: kind.reply_rate.map(percent),
        median_days: kind.median_days_to_reply.map(|d| format!("{d}")),
        too_few: kind.sent < ENOUGH_EMAILS,
    }
}

/// What a kind of email is called in the report.
fn email_label(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Welcome => "Welcome",
        ActionKind::Nudge => "Nudge",
        ActionKind::FollowUp => "Follow-up",
        ActionKind::OfferHelp => "Offer of help",
        ActionKind::Congratulate => "Congratulations",
    }
}

fn answer_chart(rows: &[AnswerRow]) -> AnswerChart {
    let frame = RateFrame::new();
    let slot = frame.slot(rows.len());
    let width = round(slot * 0.4);
    let kinds = rows
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let start = frame.left + index as f64 * slot;
            AnswerColumn {
                kind: row.kind,
                label: row.label,
                title: answer_title(row),
                label_x: round(start + slot / 2.0),
                sent: row.sent,
                answered: row.answered,
                rate: row
                    .rate_percent
                    .filter(|_| !row.too_few)
                    .map(|p| frame.bar(start + slot * 0.3, width, p)),
                outline: frame.bar(start + slot * 0.3, width, 100),
            }
        })
        .collect();
    AnswerChart { frame, kinds }
}

/// What a kind's bar says, in words, for hover.
fn answer_title(row: &AnswerRow) -> String {
    match row.rate_percent {
        Some(rate) if !row.too_few => format!(
            "{}: {rate}% answered ({} of {})",
            row.label, row.answered, row.sent
        ),
        _ => format!(
            "{}: not enough yet ({} counted; a rate needs {ENOUGH_EMAILS})",
            row.label, row.sent
        ),
    }
}

/// "Referrals who wrote back made a first sale 61% of the time; those who never did, 23%."
fn replied_sentence(communication: &Communication) -> Option<String> {
    let replied = communication.first_sale_rate_replied?;
    let silent = communication.first_sale_rate_not_replied?;
    Some(format!(
        "Referrals you contacted who wrote back made a first sale {}% of the time; those who never did, {}%. That is an association, not a cause: someone keen to sell may simply write back more.",
        percent(replied),
        percent(silent)
    ))
}

/// "You know the motivation of 9 of 18 people you welcomed."
fn motivation_sentence(communication: &Communication) -> Option<String> {
    let welcomed = communication.welcomed;
    (welcomed > 0).then(|| {
        format!(
            "You know the motivation of {} of {} you welcomed.",
            communication.motivation_known,
            super::plural(welcomed, "person", "people")
        )
    })
}

/// Lays out the cohorts of `derived`.
pub fn cohorts(derived: &Derived<'_>) -> Cohorts {
    let rows = derived.cohorts.iter().map(cohort_row).collect();
    Cohorts {
        rows,
        chart: cohort_chart(&derived.cohorts),
        days: COHORT_DAYS,
    }
}

fn cohort_row(cohort: &Cohort) -> CohortRow {
    CohortRow {
        month: cohort.month.format("%Y-%m").to_string(),
        label: cohort.month.format("%b %Y").to_string(),
        referrals: cohort.referrals,
        contacted: cohort.contacted,
        contacted_percent: ratio(cohort.contacted, cohort.referrals),
        median_days_to_welcome: cohort.median_days_to_welcome.map(|d| format!("{d}")),
        matured: cohort.matured,
        first_sale_within: cohort.first_sale_within_60_days,
        rate_percent: cohort.first_sale_rate_60_days.map(percent),
        too_young: cohort.referrals > 0 && cohort.matured == 0,
        time_invested: time_invested(cohort.minutes_invested),
        residual: money(cohort.estimated_residual),
    }
}

fn ratio(part: usize, whole: usize) -> Option<u32> {
    (whole > 0).then(|| (part as f64 * 100.0 / whole as f64).round() as u32)
}

fn cohort_chart(cohorts: &[Cohort]) -> CohortChart {
    let frame = RateFrame::new();
    let slot = frame.slot(cohorts.len());
    let width = round(slot * 0.3);
    let months = cohorts
        .iter()
        .enumerate()
        .map(|(index, cohort)| {
            let start = frame.left + index as f64 * slot;
            let row = cohort_row(cohort);
            let bar = |offset: f64, percent| frame.bar(start + slot * offset, width, percent);
            CohortColumn {
                month: row.month.clone(),
                label: cohort.month.format("%b").to_string(),
                title: column_title(&row),
                label_x: round(start + slot / 2.0),
                contacted: row.contacted_percent.map(|p| bar(0.18, p)),
                rate: row.rate_percent.map(|p| bar(0.52, p)),
                too_young: row.too_young,
                young: bar(0.52, 100),
            }
        })
        .collect();
    CohortChart { frame, months }
}

/// What a month's bars say, in words, for hover.
fn column_title(row: &CohortRow) -> String {
    if row.referrals == 0 {
        return format!("{}: nobody joined", row.label);
    }
    let contacted = format!("{} of {} contacted", row.contacted, row.referrals);
    match row.rate_percent {
        Some(rate) => format!(
            "{}: {contacted}; {rate}% made a first sale within {COHORT_DAYS} days ({} of {})",
            row.label, row.first_sale_within, row.matured
        ),
        None => format!(
            "{}: {contacted}; too young to judge (no one has had {COHORT_DAYS} days yet)",
            row.label
        ),
    }
}

/// Lays out the time-against-return chart of `derived`, naming people as `naming` says.
pub fn returns(derived: &Derived<'_>, naming: Naming<'_>) -> ReturnChart {
    let mut plotted: Vec<&AffiliateState<'_>> = derived
        .affiliates
        .iter()
        .filter(|a| a.minutes_invested > 0 || a.estimated_residual > 0.0)
        .collect();
    let total = plotted.len();
    first_sorted(&mut plotted, POINTS_DRAWN, |a, b| {
        b.minutes_invested
            .cmp(&a.minutes_invested)
            .then(b.estimated_residual.total_cmp(&a.estimated_residual))
            .then_with(|| a.referral.id.cmp(&b.referral.id))
    });
    let max_hours = plotted
        .iter()
        .map(|a| a.minutes_invested as f64 / 60.0)
        .fold(0.0, f64::max);
    let max_residual = plotted
        .iter()
        .map(|a| a.estimated_residual)
        .fold(0.0, f64::max);
    let (x_step, x_max) = nice_scale(max_hours);
    let (y_step, y_max) = nice_scale(max_residual);
    let (left, right, top, bottom) = (LEFT, WIDTH - 12.0, TOP, HEIGHT - BOTTOM);
    let x_of = |hours: f64| round(left + (right - left) * hours / x_max);
    let y_of = |residual: f64| round(bottom - (bottom - top) * residual / y_max);
    let points: Vec<ReturnPoint> = plotted
        .iter()
        .map(|a| {
            let x = x_of(a.minutes_invested as f64 / 60.0);
            let near_right = x > f64::midpoint(left, right);
            ReturnPoint {
                who: naming.label(a.referral).into_owned(),
                stage: a.status.stage,
                stage_label: stage_label(a.status.stage),
                time: time_invested(a.minutes_invested).unwrap_or_else(|| "no time".to_owned()),
                minutes: a.minutes_invested,
                residual: money(a.estimated_residual),
                x,
                y: y_of(a.estimated_residual),
                tip_x: if near_right { x - 8.0 } else { x + 8.0 },
                tip_anchor: if near_right { "end" } else { "start" },
            }
        })
        .collect();
    let ticks = |step: f64, max: f64, at: &dyn Fn(f64) -> f64, unit: &str| {
        let count = (max / step).round() as usize;
        (0..=count)
            .map(|i| {
                let value = step * i as f64;
                Tick {
                    at: at(value),
                    label: format!("{}{unit}", trim_number(value)),
                }
            })
            .collect::<Vec<Tick>>()
    };
    ReturnChart {
        width: WIDTH,
        height: HEIGHT,
        left,
        right,
        top,
        bottom,
        x_ticks: ticks(x_step, x_max, &x_of, " h"),
        y_ticks: ticks(y_step, y_max, &y_of, ""),
        struggling: points
            .iter()
            .filter(|p| p.stage == Stage::Struggling)
            .count(),
        points,
        total,
    }
}

/// A step of 1, 2 or 5 times a power of ten giving at most five intervals up to `max`, and
/// the top of the scale.
fn nice_scale(max: f64) -> (f64, f64) {
    if max <= 0.0 {
        return (1.0, 1.0);
    }
    let rough = max / 5.0;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|step| *step >= rough)
        .unwrap_or(10.0 * power);
    (step, (max / step).ceil().max(1.0) * step)
}

/// A tick value without trailing zeros: 0.5, 2, 150.
fn trim_number(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::nice_scale;

    // Axes end on a round number a little above the largest value.
    #[test]
    fn scales_are_round() {
        assert_eq!(nice_scale(0.0), (1.0, 1.0));
        assert_eq!(nice_scale(4.5), (1.0, 5.0));
        assert_eq!(nice_scale(92.1), (20.0, 100.0));
        assert_eq!(nice_scale(0.7), (0.2, 0.8));
    }
}
