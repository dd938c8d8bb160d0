//! Derived state → the serializable view structs of `report.json`: the documented contract
//! other tools read, and the core of every template's context.

use std::borrow::Cow;

use chrono::NaiveDate;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use sha2::{Digest, Sha256};

use crate::model::{ActionKind, Referral, Stage};
use crate::money;
use crate::stages::{Cohort, Communication, Derived, HistoryPoint, Metrics, StageCounts, Urgency};

/// `report.json`, exactly as DESIGN specifies. Borrows the records' ids and names.
#[derive(Debug, Serialize)]
pub struct Report<'p> {
    pub week: String,
    pub week_start: NaiveDate,
    pub week_end: NaiveDate,
    pub as_of: NaiveDate,
    pub stage_counts: StageCountsView,
    /// Sorted by id.
    pub affiliates: Vec<AffiliateView<'p>>,
    /// Sorted by id.
    pub transitions: Vec<TransitionView<'p>>,
    pub metrics: Metrics,
    pub history: Vec<HistoryView>,
    /// The last `cohort_months` months of referrals, oldest first.
    pub cohorts: Vec<Cohort>,
    /// Which emails get answers.
    pub communication: Communication,
}

/// All eight stage counts as an object, in table order.
#[derive(Debug, Clone, Copy)]
pub struct StageCountsView(pub StageCounts);

impl Serialize for StageCountsView {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(Stage::ALL.len()))?;
        for (stage, count) in self.0.iter() {
            map.serialize_entry(stage.as_str(), &count)?;
        }
        map.end()
    }
}

/// One referral in `report.json`.
#[derive(Debug, Serialize)]
pub struct AffiliateView<'p> {
    pub id: Cow<'p, str>,
    /// Null in public reports.
    pub name: Option<&'p str>,
    pub program: &'p str,
    pub stage: Stage,
    pub next_action: Option<ActionView>,
    pub sales: usize,
    pub first_sale_on: Option<NaiveDate>,
    /// The minutes recorded on their events up to D.
    pub minutes_invested: u64,
    /// Their sales up to D times the program's residual rate, rounded to cents.
    #[serde(serialize_with = "money::in_cents")]
    pub estimated_residual: f64,
}

/// A next action in `report.json`.
#[derive(Debug, Serialize)]
pub struct ActionView {
    pub kind: ActionKind,
    pub due: NaiveDate,
    pub overdue: bool,
    /// The `.eml` written for it, relative to the output folder.
    pub email: Option<String>,
}

/// A stage change this week.
#[derive(Debug, Serialize)]
pub struct TransitionView<'p> {
    pub id: Cow<'p, str>,
    pub from: Option<Stage>,
    pub to: Stage,
}

/// One week of the stage history.
#[derive(Debug, Serialize)]
pub struct HistoryView {
    pub week: String,
    pub stage_counts: StageCountsView,
}

/// How people are named in the output.
#[derive(Debug, Clone, Copy)]
pub enum Naming<'a> {
    /// By id and name: the user's own report.
    Private,
    /// By a stable pseudonym derived from a salted hash of the id, and never by name.
    Public { salt: Option<&'a str> },
}

impl Naming<'_> {
    /// The id shown for a referral: itself, or `r-` and 8 hex digits of
    /// SHA-256(salt + id).
    pub fn id<'r>(&self, id: &'r str) -> Cow<'r, str> {
        match self {
            Naming::Private => Cow::Borrowed(id),
            Naming::Public { salt } => {
                let digest = Sha256::new()
                    .chain_update(salt.unwrap_or(""))
                    .chain_update(id)
                    .finalize();
                let leading = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
                Cow::Owned(format!("r-{leading:08x}"))
            }
        }
    }

    /// The name shown for a referral, `None` when names are withheld.
    pub fn name<'r>(&self, name: &'r str) -> Option<&'r str> {
        match self {
            Naming::Private => Some(name),
            Naming::Public { .. } => None,
        }
    }

    /// What to call a referral on a page: the name, or the pseudonym.
    pub fn label(&self, referral: &Referral) -> String {
        self.name(&referral.name)
            .map_or_else(|| self.id(&referral.id).into_owned(), str::to_owned)
    }
}

impl<'p> Report<'p> {
    /// Builds the report view. `email_path` gives the `.eml` written for a referral's
    /// action, if any.
    pub fn new(
        derived: &Derived<'p>,
        email_path: &dyn Fn(&str, ActionKind) -> Option<String>,
        naming: Naming<'_>,
    ) -> Self {
        let mut affiliates: Vec<AffiliateView<'p>> = derived
            .affiliates
            .iter()
            .map(|a| AffiliateView {
                id: naming.id(&a.referral.id),
                name: naming.name(&a.referral.name),
                program: &a.program.id,
                stage: a.status.stage,
                next_action: a.status.action.map(|action| ActionView {
                    kind: action.kind,
                    due: action.due,
                    overdue: derived.week.urgency(action.due) == Urgency::Overdue,
                    email: email_path(&a.referral.id, action.kind),
                }),
                sales: a.sales,
                first_sale_on: a.first_sale_on,
                minutes_invested: a.minutes_invested,
                estimated_residual: a.estimated_residual,
            })
            .collect();
        affiliates.sort_by(|a, b| a.id.cmp(&b.id));
        let mut transitions: Vec<TransitionView<'p>> = derived
            .transitions
            .iter()
            .map(|t| TransitionView {
                id: naming.id(&t.referral.id),
                from: t.from,
                to: t.to,
            })
            .collect();
        transitions.sort_by(|a, b| a.id.cmp(&b.id));
        Self {
            week: derived.week.label.clone(),
            week_start: derived.week.start,
            week_end: derived.week.end,
            as_of: derived.as_of,
            stage_counts: StageCountsView(derived.stage_counts),
            affiliates,
            transitions,
            metrics: derived.metrics.clone(),
            history: derived.history.iter().map(HistoryView::from).collect(),
            cohorts: derived.cohorts.clone(),
            communication: derived.communication.clone(),
        }
    }
}

impl From<&HistoryPoint> for HistoryView {
    fn from(point: &HistoryPoint) -> Self {
        Self {
            week: point.week.label.clone(),
            stage_counts: StageCountsView(point.counts),
        }
    }
}
