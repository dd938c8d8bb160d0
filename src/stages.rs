//! Validated project + the date D → each relationship's stage and next action, the week's
//! transitions, metrics and history. Pure: no I/O, no clock.

mod communication;

use chrono::{Datelike, Days, Months, NaiveDate};
use rayon::prelude::{IndexedParallelIterator, IntoParallelRefIterator, ParallelIterator};
use serde::Serialize;

pub use communication::{Communication, EMAIL_EVENTS, EmailReplies, SentEmail};

use crate::model::{
    ActionKind, Event, EventKind, Interest, Program, Project, Referral, Rules, Stage,
};
use crate::money;

/// The next thing to do in a relationship, the day it is due, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextAction {
    pub kind: ActionKind,
    pub due: NaiveDate,
    pub reason: Reason,
}

/// The fact in the record that made an action due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Referred on this day and never contacted.
    Referred(NaiveDate),
    /// No sale yet; the last touch was on this day.
    LastTouch(NaiveDate),
    /// The first sale was on this day and nobody followed up since.
    FirstSale(NaiveDate),
    /// This many sales inside the thriving window, the latest on that day.
    RecentSales { count: usize, latest: NaiveDate },
    /// A reply with low interest on this day, not answered since.
    LowInterest(NaiveDate),
    /// No activity since this day.
    Quiet(NaiveDate),
}

/// A relationship's stage and next action as of one date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub stage: Stage,
    pub action: Option<NextAction>,
}

impl Status {
    fn new(stage: Stage, action: Option<NextAction>) -> Self {
        Self { stage, action }
    }
}

fn act(kind: ActionKind, due: NaiveDate, reason: Reason) -> NextAction {
    NextAction { kind, due, reason }
}

/// The events of a referral dated on or before `as_of`; `events` must be sorted by date.
fn events_until(referral: &Referral, as_of: NaiveDate) -> &[Event] {
    let end = referral.events.partition_point(|event| event.date <= as_of);
    &referral.events[..end]
}

fn latest(events: &[Event], kinds: &[EventKind]) -> Option<NaiveDate> {
    events
        .iter()
        .rev()
        .find(|event| kinds.contains(&event.kind))
        .map(|event| event.date)
}

fn first(events: &[Event], kind: EventKind) -> Option<NaiveDate> {
    events
        .iter()
        .find(|event| event.kind == kind)
        .map(|event| event.date)
}

fn plus_days(date: NaiveDate, days: i64) -> NaiveDate {
    let magnitude = Days::new(days.unsigned_abs());
    let shifted = if days >= 0 {
        date.checked_add_days(magnitude)
    } else {
        date.checked_sub_days(magnitude)
    };
    shifted.unwrap_or(if days >= 0 {
        NaiveDate::MAX
    } else {
        NaiveDate::MIN
    })
}

/// Applies DESIGN's stage table, first matching row wins. `None` when the referral does not
/// exist yet at `as_of`.
pub fn status(
    referral: &Referral,
    program: &Program,
    rules: &Rules,
    as_of: NaiveDate,
) -> Option<Status> {
    if referral.referred_on > as_of {
        return None;
    }
    let events = events_until(referral, as_of);
    let has = |kind| events.iter().any(|event: &Event| event.kind == kind);

    // Rows 1–3: not worth it, let go, uncontacted.
    if !program.residual_commissions {
        return Some(Status::new(Stage::NotWorthIt, None));
    }
    if has(EventKind::LetGo) {
        return Some(Status::new(Stage::LetGo, None));
    }
    if !has(EventKind::WelcomeSent) {
        let referred = referral.referred_on;
        let action = Some(act(
            ActionKind::Welcome,
            referred,
            Reason::Referred(referred),
        ));
        return Some(Status::new(Stage::Uncontacted, action));
    }

    // Row 4: welcomed, waiting for a first sale.
    let Some(first_sale) = first(events, EventKind::Sale) else {
        let touches = [
            EventKind::WelcomeSent,
            EventKind::NudgeSent,
            EventKind::Reply,
            EventKind::HelpGiven,
        ];
        let last_touch = latest(events, &touches).unwrap_or(referral.referred_on);
        let due = plus_days(last_touch, rules.nudge_after_days);
        let action = Some(act(ActionKind::Nudge, due, Reason::LastTouch(last_touch)));
        return Some(Status::new(Stage::Welcomed, action));
    };

    // Row 5: first sale, not followed up since.
    let followed_up = events
        .iter()
        .any(|e| e.kind == EventKind::FollowUpSent && e.date >= first_sale);
    if !followed_up {
        let due = plus_days(first_sale, rules.follow_up_after_days);
        let action = Some(act(
            ActionKind::FollowUp,
            due,
            Reason::FirstSale(first_sale),
        ));
        return Some(Status::new(Stage::FirstSale, action));
    }

    Some(
        thriving(events, rules, as_of)
            .or_else(|| losing_interest(events))
            .or_else(|| gone_quiet(events, rules, as_of))
            .unwrap_or(Status::new(Stage::FollowingUp, None)),
    )
}

/// Row 6: enough sales inside the window `as_of - window < date <= as_of`.
fn thriving(events: &[Event], rules: &Rules, as_of: NaiveDate) -> Option<Status> {
    let window_start = plus_days(as_of, -rules.thriving_window_days);
    let recent_sales = events
        .iter()
        .filter(|e| e.kind == EventKind::Sale && e.date > window_start)
        .count();
    if recent_sales < rules.thriving_sales {
        return None;
    }
    let congratulated_after = plus_days(as_of, -rules.congratulate_every_days);
    let recently_congratulated = events
        .iter()
        .any(|e| e.kind == EventKind::Congratulated && e.date > congratulated_after);
    let action = match latest(events, &[EventKind::Sale]) {
        Some(latest) if !recently_congratulated => {
            let reason = Reason::RecentSales {
                count: recent_sales,
                latest,
            };
            Some(act(ActionKind::Congratulate, latest, reason))
        }
        _ => None,
    };
    Some(Status::new(Stage::Thriving, action))
}

/// Row 7: the latest low-interest reply since the latest follow-up, with nothing after it.
fn losing_interest(events: &[Event]) -> Option<Status> {
    let followed_up_on = latest(events, &[EventKind::FollowUpSent])?;
    let low_reply_on = events
        .iter()
        .rev()
        .find(|e| {
            e.kind == EventKind::Reply
                && e.interest == Some(Interest::Low)
                && e.date >= followed_up_on
        })?
        .date;
    let answered = events.iter().any(|e| match e.kind {
        EventKind::Sale | EventKind::HelpGiven => e.date >= low_reply_on,
        EventKind::Reply => e.date > low_reply_on,
        _ => false,
    });
    (!answered).then(|| {
        let reason = Reason::LowInterest(low_reply_on);
        Status::new(
            Stage::Struggling,
            Some(act(ActionKind::OfferHelp, low_reply_on, reason)),
        )
    })
}

/// Row 8: no activity for `quiet_after_days`.
fn gone_quiet(events: &[Event], rules: &Rules, as_of: NaiveDate) -> Option<Status> {
    let activity = [
        EventKind::FollowUpSent,
        EventKind::Reply,
        EventKind::Sale,
        EventKind::HelpGiven,
    ];
    let last_activity = latest(events, &activity)?;
    let quiet_since = plus_days(last_activity, rules.quiet_after_days);
    (quiet_since <= as_of).then(|| {
        let reason = Reason::Quiet(last_activity);
        Status::new(
            Stage::Struggling,
            Some(act(ActionKind::OfferHelp, quiet_since, reason)),
        )
    })
}

/// The ISO week (Monday..Sunday) that contains a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Week {
    /// `YYYY-Www`, e.g. `2026-W48`.
    pub label: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Week {
    /// The ISO week containing `date`.
    pub fn containing(date: NaiveDate) -> Self {
        let iso = date.iso_week();
        let start = plus_days(date, -i64::from(date.weekday().num_days_from_monday()));
        Self {
            label: format!("{:04}-W{:02}", iso.year(), iso.week()),
            start,
            end: plus_days(start, 6),
        }
    }

    /// How pressing an action due on `due` is in this week.
    pub fn urgency(&self, due: NaiveDate) -> Urgency {
        if due < self.start {
            Urgency::Overdue
        } else if due <= self.end {
            Urgency::Due
        } else {
            Urgency::Upcoming
        }
    }
}

/// Where a due date falls relative to the report week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    /// Due before the week started.
    Overdue,
    /// Due during the week.
    Due,
    /// Due after the week.
    Upcoming,
}

impl Urgency {
    /// The word used in templates: `overdue`, `due` or `upcoming`.
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Overdue => "overdue",
            Urgency::Due => "due",
            Urgency::Upcoming => "upcoming",
        }
    }

    /// Whether the action belongs to this week's work (overdue or due).
    pub fn is_this_week(self) -> bool {
        self != Urgency::Upcoming
    }
}

/// How many referrals are at each stage, indexed in `Stage::ALL` order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageCounts([usize; 8]);

impl StageCounts {
    fn add(&mut self, stage: Stage) {
        self.0[stage as usize] += 1;
    }

    /// The number of referrals at `stage`.
    pub fn get(&self, stage: Stage) -> usize {
        self.0[stage as usize]
    }

    /// Every stage with its count, in table order.
    pub fn iter(&self) -> impl Iterator<Item = (Stage, usize)> + '_ {
        Stage::ALL.iter().map(|&stage| (stage, self.get(stage)))
    }
}

/// One relationship as of D, with the facts the report shows about it.
#[derive(Debug)]
pub struct AffiliateState<'a> {
    pub referral: &'a Referral,
    pub program: &'a Program,
    pub status: Status,
    /// Whether a welcome was sent on or before D.
    pub contacted: bool,
    /// Sales dated on or before D.
    pub sales: usize,
    /// Sales dated from the start of the week to D, and their amount.
    pub sales_this_week: usize,
    pub amount_this_week: f64,
    pub first_sale_on: Option<NaiveDate>,
    /// The first welcome on or before D.
    pub first_welcome_on: Option<NaiveDate>,
    /// The latest event other than a sale on or before D: the last time you were in touch.
    pub last_contact: Option<NaiveDate>,
    /// The `minutes` of events on or before D: the time you have spent on them.
    pub minutes_invested: u64,
    /// The `minutes` of events from the start of the week to D.
    pub minutes_this_week: u64,
    /// Their sales on or before D times the program's `residual_rate`: what they earned you.
    pub estimated_residual: f64,
    /// Stage as of the day before the week started, `None` if the referral did not exist yet.
    pub stage_before_week: Option<Stage>,
    /// The emails you sent them on or before D, each with the first reply that answers it.
    pub emails: Vec<SentEmail>,
    /// Their replies on or before D.
    pub replies: usize,
    /// Your last email, when it went unanswered past the reply window: its kind and the days
    /// since.
    pub unanswered: Option<(ActionKind, i64)>,
    /// When their current address bounced, if it is bouncing.
    pub bouncing: Option<NaiveDate>,
}

/// A stage change during the report week.
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    pub referral: &'a Referral,
    pub from: Option<Stage>,
    pub to: Stage,
}

/// The stage counts at the end of one week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPoint {
    pub week: Week,
    pub counts: StageCounts,
}

/// How the mentoring is paying off, over referrals that exist at D and are worth it; written
/// to `report.json` with money rounded to cents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub referrals: usize,
    pub contacted: usize,
    pub contacted_with_sale: usize,
    pub uncontacted_with_sale: usize,
    pub first_sale_rate_contacted: Option<f64>,
    pub first_sale_rate_uncontacted: Option<f64>,
    pub median_days_to_first_sale: Option<f64>,
    pub sales_this_week: usize,
    #[serde(serialize_with = "money::in_cents")]
    pub sales_amount_this_week: f64,
    #[serde(serialize_with = "money::in_cents")]
    pub estimated_residual_this_week: f64,
    /// Minutes recorded on events dated on or before D.
    pub minutes_invested: u64,
    /// Minutes recorded on events dated from the start of the week to D.
    pub minutes_invested_this_week: u64,
    /// Every sale on or before D times its program's `residual_rate`.
    #[serde(serialize_with = "money::in_cents")]
    pub estimated_residual_total: f64,
    /// The same, over contacted referrals only.
    #[serde(serialize_with = "money::in_cents")]
    pub estimated_residual_contacted: f64,
    /// `estimated_residual_contacted` per hour invested; `None` when no minutes were recorded.
    #[serde(serialize_with = "money::maybe_in_cents")]
    pub residual_per_hour_invested: Option<f64>,
}

/// Everything the report says, derived as of one date.
#[derive(Debug)]
pub struct Derived<'a> {
    pub as_of: NaiveDate,
    pub week: Week,
    /// Referrals that exist at D, sorted by id.
    pub affiliates: Vec<AffiliateState<'a>>,
    pub stage_counts: StageCounts,
    pub transitions: Vec<Transition<'a>>,
    pub metrics: Metrics,
    /// The previous `history_weeks` weeks, oldest first, then the current week as of D.
    pub history: Vec<HistoryPoint>,
    /// The last `cohort_months` months of referrals, oldest first.
    pub cohorts: Vec<Cohort>,
    /// Which emails get answers.
    pub communication: Communication,
}

/// How many days after joining a first sale counts as early, and how old a referral must be
/// for that to be judged.
pub const COHORT_DAYS: i64 = 60;

/// The referrals that joined in one month and are worth mentoring, as of D; written to
/// `report.json` with its month as `YYYY-MM` and money rounded to cents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cohort {
    /// The first day of the month.
    #[serde(serialize_with = "year_month")]
    pub month: NaiveDate,
    pub referrals: usize,
    /// With a welcome on or before D.
    pub contacted: usize,
    /// Days from joining to the first welcome, over the contacted.
    pub median_days_to_welcome: Option<f64>,
    /// With a sale on or before D.
    pub with_sale: usize,
    /// Joined at least [`COHORT_DAYS`] days before D: old enough to judge.
    pub matured: usize,
    /// Of the matured, those whose first sale came within [`COHORT_DAYS`] days of joining.
    pub first_sale_within_60_days: usize,
    /// That over `matured`; `None` when none has matured.
    pub first_sale_rate_60_days: Option<f64>,
    pub minutes_invested: u64,
    #[serde(serialize_with = "money::in_cents")]
    pub estimated_residual: f64,
}

/// Writes a month's first day as `YYYY-MM` (serde passes the field by reference).
#[allow(clippy::trivially_copy_pass_by_ref)]
fn year_month<S: serde::Serializer>(month: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&month.format("%Y-%m"))
}

/// How many actions due after the report week are listed after this week's.
pub const UPCOMING_LISTED: usize = 5;

impl<'a> Derived<'a> {
    /// The actions as `agenda` lists them: every one due by the end of the week, overdue ones
    /// first, then the next [`UPCOMING_LISTED`] after it; by due date, then name. (The report
    /// page orders by the name it shows, a pseudonym in public builds, and bounds the list.)
    pub fn agenda(&self) -> Vec<(&AffiliateState<'a>, NextAction)> {
        let mut actions: Vec<(&AffiliateState<'a>, NextAction)> = self
            .affiliates
            .iter()
            .filter_map(|affiliate| Some((affiliate, affiliate.status.action?)))
            .collect();
        actions.sort_by(|(a, x), (b, y)| {
            (x.due, &a.referral.name, &a.referral.id).cmp(&(
                y.due,
                &b.referral.name,
                &b.referral.id,
            ))
        });
        let this_week = actions
            .iter()
            .filter(|(_, action)| self.week.urgency(action.due).is_this_week())
            .count();
        actions.truncate(this_week + UPCOMING_LISTED);
        actions
    }

    /// Every next action due by the end of the week (overdue ones included), with whose it is.
    pub fn actions_this_week(&self) -> impl Iterator<Item = (&AffiliateState<'a>, NextAction)> {
        self.affiliates.iter().filter_map(|affiliate| {
            let action = affiliate.status.action?;
            self.week
                .urgency(action.due)
                .is_this_week()
                .then_some((affiliate, action))
        })
    }
}

/// One referral as of the report's date, with their stage the day before its week.
struct Timeline<'a> {
    referral: &'a Referral,
    program: &'a Program,
    now: Option<Status>,
    before_week: Option<Stage>,
}

/// Each referral's stage on each day some week of a report looks back at (the Sundays of
/// its history), worked out once for all the weeks that share those days.
struct PastStages {
    /// Sorted, each once.
    dates: Vec<NaiveDate>,
    /// By referral (in the project's order), then by date.
    stages: Vec<Option<Stage>>,
    /// By date: how many referrals were at each stage.
    counts: Vec<StageCounts>,
}

impl PastStages {
    fn new(project: &Project, mut dates: Vec<NaiveDate>) -> Self {
        dates.sort_unstable();
        dates.dedup();
        let rules = &project.config.rules;
        let stages = project
            .referrals
            .par_iter()
            .flat_map_iter(|referral| {
                let program = project.config.programs.get(&referral.program);
                dates.iter().map(move |&date| {
                    program.and_then(|p| status(referral, p, rules, date).map(|s| s.stage))
                })
            })
            .collect::<Vec<_>>();
        let counts = (0..dates.len())
            .map(|column| {
                count(
                    stages
                        .iter()
                        .skip(column)
                        .step_by(dates.len())
                        .flatten()
                        .copied(),
                )
            })
            .collect();
        Self {
            dates,
            stages,
            counts,
        }
    }

    /// The column of `date`, which must be one of the dates the table was made for.
    fn column(&self, date: NaiveDate) -> Option<usize> {
        self.dates.binary_search(&date).ok()
    }

    /// How many referrals were at each stage on `date`, one of the table's dates.
    fn counts_on(&self, date: NaiveDate) -> StageCounts {
        self.column(date)
            .map_or_else(StageCounts::default, |column| self.counts[column])
    }

    /// The stage of the referral at position `referral` on the column's date.
    fn get(&self, referral: usize, column: Option<usize>) -> Option<Stage> {
        self.stages[referral * self.dates.len() + column?]
    }
}

/// The days a report as of `as_of` looks back at: its history Sundays and the day before
/// its week.
fn looked_back_at(as_of: NaiveDate, history_weeks: u32) -> Vec<NaiveDate> {
    let week = Week::containing(as_of);
    let mut dates = history_sundays(&week, history_weeks);
    dates.push(plus_days(week.start, -1));
    dates
}

/// Derives the whole report as of `as_of`. Referrals whose program is unknown are skipped
/// (validation has already reported them).
pub fn derive(project: &Project, as_of: NaiveDate) -> Derived<'_> {
    let past = PastStages::new(
        project,
        looked_back_at(as_of, project.config.report.history_weeks),
    );
    derive_with(project, as_of, &past)
}

/// [`derive`], with the past stages already worked out.
fn derive_with<'p>(project: &'p Project, as_of: NaiveDate, past: &PastStages) -> Derived<'p> {
    let rules = &project.config.rules;
    let week = Week::containing(as_of);
    let sundays = history_sundays(&week, project.config.report.history_weeks);
    let before_week = past.column(plus_days(week.start, -1));

    let timelines: Vec<Timeline<'_>> = project
        .referrals
        .par_iter()
        .enumerate()
        .filter_map(|(index, referral)| {
            let program = project.config.programs.get(&referral.program)?;
            Some(Timeline {
                referral,
                program,
                now: status(referral, program, rules, as_of),
                before_week: past.get(index, before_week),
            })
        })
        .collect();

    let mut history: Vec<HistoryPoint> = sundays
        .iter()
        .map(|&sunday| HistoryPoint {
            week: Week::containing(sunday),
            counts: past.counts_on(sunday),
        })
        .collect();
    let affiliates: Vec<AffiliateState<'_>> = timelines
        .iter()
        .filter_map(|timeline| affiliate_state(timeline, &week, as_of, rules))
        .collect();
    let stage_counts = count(affiliates.iter().map(|a| a.status.stage));
    history.push(HistoryPoint {
        week: week.clone(),
        counts: stage_counts,
    });
    let transitions = affiliates
        .iter()
        .filter(|a| a.stage_before_week != Some(a.status.stage))
        .map(|a| Transition {
            referral: a.referral,
            from: a.stage_before_week,
            to: a.status.stage,
        })
        .collect();
    let metrics = metrics(&affiliates);
    let cohorts = cohorts(&affiliates, as_of, project.config.report.cohort_months);
    let communication = communication::communication(&affiliates, as_of, rules.reply_window_days);
    Derived {
        as_of,
        week,
        affiliates,
        stage_counts,
        transitions,
        metrics,
        history,
        cohorts,
        communication,
    }
}

/// The cohorts of the `months` months up to D's month, oldest first; months nobody joined
/// in are there with zero counts.
fn cohorts(affiliates: &[AffiliateState<'_>], as_of: NaiveDate, months: u32) -> Vec<Cohort> {
    let last = first_of_month(as_of);
    let first = last
        .checked_sub_months(Months::new(months.saturating_sub(1)))
        .unwrap_or(last);
    let starts: Vec<NaiveDate> = (0..months)
        .filter_map(|offset| first.checked_add_months(Months::new(offset)))
        .take_while(|month| *month <= last)
        .collect();
    let matured_by = plus_days(as_of, -COHORT_DAYS);
    let mut days_to_welcome: Vec<Vec<i64>> = vec![Vec::new(); starts.len()];
    let mut cohorts: Vec<Cohort> = starts
        .iter()
        .map(|&month| Cohort {
            month,
            referrals: 0,
            contacted: 0,
            median_days_to_welcome: None,
            with_sale: 0,
            matured: 0,
            first_sale_within_60_days: 0,
            first_sale_rate_60_days: None,
            minutes_invested: 0,
            estimated_residual: 0.0,
        })
        .collect();
    for affiliate in affiliates {
        let referred_on = affiliate.referral.referred_on;
        let Ok(index) = starts.binary_search(&first_of_month(referred_on)) else {
            continue;
        };
        if affiliate.status.stage == Stage::NotWorthIt {
            continue;
        }
        let cohort = &mut cohorts[index];
        cohort.referrals += 1;
        if let Some(welcome) = affiliate.first_welcome_on {
            cohort.contacted += 1;
            days_to_welcome[index].push((welcome - referred_on).num_days());
        }
        cohort.with_sale += usize::from(affiliate.first_sale_on.is_some());
        if referred_on <= matured_by {
            cohort.matured += 1;
            let early = affiliate
                .first_sale_on
                .is_some_and(|sale| (sale - referred_on).num_days() <= COHORT_DAYS);
            cohort.first_sale_within_60_days += usize::from(early);
        }
        cohort.minutes_invested += affiliate.minutes_invested;
        cohort.estimated_residual += affiliate.estimated_residual;
    }
    for (cohort, days) in cohorts.iter_mut().zip(&mut days_to_welcome) {
        cohort.median_days_to_welcome = median(days);
        cohort.first_sale_rate_60_days = (cohort.matured > 0)
            .then(|| cohort.first_sale_within_60_days as f64 / cohort.matured as f64);
    }
    cohorts
}

/// The first day of the date's month.
fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

/// One referral's state as of `as_of`, without the rest of the project: for a command that
/// looks at one person at a time (`sync`). `None` before they were referred, or when their
/// program is unknown.
pub fn state_of<'a>(
    project: &'a Project,
    referral: &'a Referral,
    as_of: NaiveDate,
) -> Option<AffiliateState<'a>> {
    let program = project.config.programs.get(&referral.program)?;
    let rules = &project.config.rules;
    let week = Week::containing(as_of);
    let timeline = Timeline {
        referral,
        program,
        now: status(referral, program, rules, as_of),
        before_week: status(referral, program, rules, plus_days(week.start, -1)).map(|s| s.stage),
    };
    affiliate_state(&timeline, &week, as_of, rules)
}

/// The Sundays ending each of the `weeks` weeks before `week`, oldest first.
fn history_sundays(week: &Week, weeks: u32) -> Vec<NaiveDate> {
    (1..=i64::from(weeks))
        .rev()
        .map(|back| plus_days(week.start, -1 - 7 * (back - 1)))
        .collect()
}

fn count(stages: impl Iterator<Item = Stage>) -> StageCounts {
    let mut counts = StageCounts::default();
    for stage in stages {
        counts.add(stage);
    }
    counts
}

/// The weeks a report covers: the `history_weeks` before D's week, each replayed at its
/// Sunday, oldest first, then the current week as of D. A week is derived when asked for, so
/// that a build holds only the weeks it is working on.
pub struct Weeks<'a> {
    project: &'a Project,
    /// The day each week is derived as of, oldest first; the last is D.
    dates: Vec<NaiveDate>,
    /// The stages every week looks back at.
    past: PastStages,
}

impl<'a> Weeks<'a> {
    /// The archived weeks and the current one as of `as_of`.
    pub fn new(project: &'a Project, as_of: NaiveDate) -> Self {
        let week = Week::containing(as_of);
        let history_weeks = project.config.report.history_weeks;
        let mut dates = history_sundays(&week, history_weeks);
        dates.push(as_of);
        let looked_back = dates
            .iter()
            .flat_map(|&date| looked_back_at(date, history_weeks))
            .collect();
        let past = PastStages::new(project, looked_back);
        Self {
            project,
            dates,
            past,
        }
    }

    /// How many weeks: the archived ones and the current one.
    pub fn count(&self) -> usize {
        self.dates.len()
    }

    /// The position of the current week: the last.
    pub fn current_index(&self) -> usize {
        self.dates.len() - 1
    }

    /// The ISO week of each week, oldest first, e.g. `2026-W48`.
    pub fn labels(&self) -> Vec<String> {
        self.dates
            .iter()
            .map(|&date| Week::containing(date).label)
            .collect()
    }

    /// Derives week `index` (counting from the oldest).
    pub fn derive(&self, index: usize) -> Derived<'a> {
        derive_with(self.project, self.dates[index], &self.past)
    }
}

fn affiliate_state<'a>(
    timeline: &Timeline<'a>,
    week: &Week,
    as_of: NaiveDate,
    rules: &Rules,
) -> Option<AffiliateState<'a>> {
    let status = timeline.now?;
    let events = events_until(timeline.referral, as_of);
    let window = rules.reply_window_days;
    let emails = communication::emails(events, window);
    let tally = Tally::of(events, week.start);
    Some(AffiliateState {
        referral: timeline.referral,
        program: timeline.program,
        status,
        contacted: tally.first_welcome_on.is_some(),
        sales: tally.sales,
        sales_this_week: tally.sales_this_week,
        amount_this_week: tally.amount_this_week,
        first_sale_on: tally.first_sale_on,
        first_welcome_on: tally.first_welcome_on,
        last_contact: tally.last_contact,
        minutes_invested: tally.minutes,
        minutes_this_week: tally.minutes_this_week,
        estimated_residual: tally.sale_amounts * timeline.program.residual_rate.unwrap_or(0.0),
        stage_before_week: timeline.before_week,
        unanswered: communication::unanswered(&emails, events, as_of, window),
        emails,
        replies: tally.replies,
        bouncing: bouncing(timeline.referral, events),
    })
}

/// When the referral's current address bounced, while that is the latest news of them: a
/// `bounced` for their current `email` later than any reply or sale.
fn bouncing(referral: &Referral, events: &[Event]) -> Option<NaiveDate> {
    let bounce = events.iter().rev().find(|e| e.kind == EventKind::Bounced)?;
    let address = bounce.address.as_deref()?;
    let heard_since = latest(events, &[EventKind::Reply, EventKind::Sale])
        .is_some_and(|heard| heard >= bounce.date);
    (address.eq_ignore_ascii_case(&referral.email) && !heard_since).then_some(bounce.date)
}

/// What one pass over a referral's events counts for their state.
struct Tally {
    sales: usize,
    sales_this_week: usize,
    /// The amounts of this week's sales, a sale without one counting as zero.
    amount_this_week: f64,
    /// The amounts of every sale that has one.
    sale_amounts: f64,
    first_sale_on: Option<NaiveDate>,
    first_welcome_on: Option<NaiveDate>,
    last_contact: Option<NaiveDate>,
    minutes: u64,
    minutes_this_week: u64,
    replies: usize,
}

impl Tally {
    fn of(events: &[Event], week_start: NaiveDate) -> Self {
        // Sums start at -0.0, as `Iterator::sum` of floats does, so an empty one is the same.
        let mut tally = Self {
            sales: 0,
            sales_this_week: 0,
            amount_this_week: -0.0,
            sale_amounts: -0.0,
            first_sale_on: None,
            first_welcome_on: None,
            last_contact: None,
            minutes: 0,
            minutes_this_week: 0,
            replies: 0,
        };
        for event in events {
            let this_week = event.date >= week_start;
            let minutes = event.minutes.map_or(0, u64::from);
            tally.minutes += minutes;
            if this_week {
                tally.minutes_this_week += minutes;
            }
            match event.kind {
                EventKind::Sale => {
                    tally.sales += 1;
                    tally.first_sale_on.get_or_insert(event.date);
                    if let Some(amount) = event.amount {
                        tally.sale_amounts += amount;
                    }
                    if this_week {
                        tally.sales_this_week += 1;
                        tally.amount_this_week += event.amount.unwrap_or(0.0);
                    }
                }
                EventKind::WelcomeSent => {
                    tally.first_welcome_on.get_or_insert(event.date);
                }
                EventKind::Reply => tally.replies += 1,
                _ => {}
            }
            if CONTACT_KINDS.contains(&event.kind) {
                tally.last_contact = Some(event.date);
            }
        }
        tally
    }
}

/// The events that count as being in touch with a referral.
const CONTACT_KINDS: [EventKind; 7] = [
    EventKind::WelcomeSent,
    EventKind::NudgeSent,
    EventKind::Reply,
    EventKind::FollowUpSent,
    EventKind::HelpGiven,
    EventKind::Congratulated,
    EventKind::LetGo,
];

fn metrics(affiliates: &[AffiliateState<'_>]) -> Metrics {
    let mut m = Metrics {
        referrals: 0,
        contacted: 0,
        contacted_with_sale: 0,
        uncontacted_with_sale: 0,
        first_sale_rate_contacted: None,
        first_sale_rate_uncontacted: None,
        median_days_to_first_sale: None,
        sales_this_week: 0,
        sales_amount_this_week: 0.0,
        estimated_residual_this_week: 0.0,
        minutes_invested: 0,
        minutes_invested_this_week: 0,
        estimated_residual_total: 0.0,
        estimated_residual_contacted: 0.0,
        residual_per_hour_invested: None,
    };
    let mut days_to_first_sale = Vec::new();
    for affiliate in affiliates {
        if affiliate.status.stage == Stage::NotWorthIt {
            continue;
        }
        let contacted = affiliate.contacted;
        m.referrals += 1;
        m.contacted += usize::from(contacted);
        if let Some(first_sale) = affiliate.first_sale_on {
            m.contacted_with_sale += usize::from(contacted);
            m.uncontacted_with_sale += usize::from(!contacted);
            days_to_first_sale.push((first_sale - affiliate.referral.referred_on).num_days());
        }
        let rate = affiliate.program.residual_rate.unwrap_or(0.0);
        m.sales_this_week += affiliate.sales_this_week;
        m.sales_amount_this_week += affiliate.amount_this_week;
        m.estimated_residual_this_week += affiliate.amount_this_week * rate;
        m.minutes_invested += affiliate.minutes_invested;
        m.minutes_invested_this_week += affiliate.minutes_this_week;
        m.estimated_residual_total += affiliate.estimated_residual;
        if contacted {
            m.estimated_residual_contacted += affiliate.estimated_residual;
        }
    }
    m.residual_per_hour_invested = (m.minutes_invested > 0)
        .then(|| m.estimated_residual_contacted / (m.minutes_invested as f64 / 60.0));
    m.first_sale_rate_contacted = ratio(m.contacted_with_sale, m.contacted);
    m.first_sale_rate_uncontacted = ratio(m.uncontacted_with_sale, m.referrals - m.contacted);
    m.median_days_to_first_sale = median(&mut days_to_first_sale);
    m
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn median(values: &mut [i64]) -> Option<f64> {
    values.sort_unstable();
    let middle = values.len() / 2;
    match values.len() {
        0 => None,
        n if n % 2 == 1 => Some(values[middle] as f64),
        _ => Some((values[middle - 1] + values[middle]) as f64 / 2.0),
    }
}
