//! Derived state → the serializable view structs of `report.json`: the documented contract
//! other tools read, and the core of every template's context.

use std::borrow::Cow;

use chrono::NaiveDate;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use sha2::{Digest, Sha256};

use crate::model::{ActionKind, Referral, Stage};
use crate::money;
use crate::stages::{Cohort, Communication, Derived, HistoryPoint, Metrics, StageCounts, Urgency};

/// `report.json`, exactly as DESIGN specifies. Borrows the derived week: each referral's
/// entry is made as it is written, so that no copy of the week waits in memory.
#[derive(Serialize)]
pub struct Report<'r, 'p> {
    pub week: &'r str,
    pub week_start: NaiveDate,
    pub week_end: NaiveDate,
    pub as_of: NaiveDate,
    pub stage_counts: StageCountsView,
    /// Sorted by id.
    pub affiliates: Affiliates<'r, 'p>,
    /// Sorted by id.
    pub transitions: Vec<TransitionView<'p>>,
    pub metrics: &'r Metrics,
    pub history: Vec<HistoryView>,
    /// The last `cohort_months` months of referrals, oldest first.
    pub cohorts: &'r [Cohort],
    /// Which emails get answers.
    pub communication: &'r Communication,
}

/// Every referral of a week in `report.json`, sorted by the id shown, each entry made as it
/// is written.
pub struct Affiliates<'r, 'p> {
    derived: &'r Derived<'p>,
    email_path: &'r dyn Fn(&str, ActionKind) -> Option<String>,
    naming: Naming<'r>,
    /// Pseudonyms sort in another order than ids: each with its referral's position in
    /// `derived.affiliates`. Empty when referrals are shown by id, in the derived order.
    pseudonyms: Vec<(String, usize)>,
}

impl<'r, 'p> Affiliates<'r, 'p> {
    fn new(
        derived: &'r Derived<'p>,
        email_path: &'r dyn Fn(&str, ActionKind) -> Option<String>,
        naming: Naming<'r>,
    ) -> Self {
        let mut pseudonyms = Vec::new();
        if let Naming::Public { .. } = naming {
            pseudonyms = derived
                .affiliates
                .iter()
                .enumerate()
                .map(|(index, a)| (naming.id(&a.referral.id).into_owned(), index))
                .collect();
            pseudonyms.sort();
        }
        Self {
            derived,
            email_path,
            naming,
            pseudonyms,
        }
    }

    /// The entry of the referral at `index` in `derived.affiliates`, shown as `id`.
    fn view<'v>(&'v self, index: usize, id: &'v str) -> AffiliateView<'v> {
        let a = &self.derived.affiliates[index];
        AffiliateView {
            id,
            name: self.naming.name(&a.referral.name),
            program: &a.program.id,
            stage: a.status.stage,
            next_action: a.status.action.map(|action| ActionView {
                kind: action.kind,
                due: action.due,
                overdue: self.derived.week.urgency(action.due) == Urgency::Overdue,
                email: (self.email_path)(&a.referral.id, action.kind),
            }),
            sales: a.sales,
            first_sale_on: a.first_sale_on,
            minutes_invested: a.minutes_invested,
            estimated_residual: a.estimated_residual,
        }
    }
}

impl Serialize for Affiliates<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut list = serializer.serialize_seq(Some(self.derived.affiliates.len()))?;
        let mut put = |index: usize, id: &str| list.serialize_element(&self.view(index, id));
        if self.pseudonyms.is_empty() {
            for (index, a) in self.derived.affiliates.iter().enumerate() {
                put(index, &a.referral.id)?;
            }
        } else {
            for (pseudonym, index) in &self.pseudonyms {
                put(*index, pseudonym)?;
            }
        }
        list.end()
    }
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
    pub id: &'p str,
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
    pub fn label<'r>(&self, referral: &'r Referral) -> Cow<'r, str> {
        match self.name(&referral.name) {
            Some(name) => Cow::Borrowed(name),
            None => self.id(&referral.id),
        }
    }
}

impl<'r, 'p> Report<'r, 'p> {
    /// Builds the report view. `email_path` gives the `.eml` written for a referral's
    /// action, if any.
    pub fn new(
        derived: &'r Derived<'p>,
        email_path: &'r dyn Fn(&str, ActionKind) -> Option<String>,
        naming: Naming<'r>,
    ) -> Self {
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
            week: &derived.week.label,
            week_start: derived.week.start,
            week_end: derived.week.end,
            as_of: derived.as_of,
            stage_counts: StageCountsView(derived.stage_counts),
            affiliates: Affiliates::new(derived, email_path, naming),
            transitions,
            metrics: &derived.metrics,
            history: derived.history.iter().map(HistoryView::from).collect(),
            cohorts: &derived.cohorts,
            communication: &derived.communication,
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
