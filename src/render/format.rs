//! The words and numbers every page and export shares: stage and action labels, money, time,
//! percentages and "3 days ago".

use chrono::NaiveDate;

use crate::model::{ActionKind, Stage};
use crate::money::cents;
use crate::render::plural;

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

pub fn days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    (to - from).num_days()
}

pub fn ago(date: NaiveDate, as_of: NaiveDate) -> String {
    match days_between(date, as_of) {
        0 => "today".to_owned(),
        1 => "yesterday".to_owned(),
        days => format!("{} ago", plural(days, "day", "days")),
    }
}

/// A ratio as a whole percentage.
pub fn percent(ratio: f64) -> u32 {
    (ratio * 100.0).round() as u32
}

/// Money with two decimals; the currency is whatever the programs pay in.
pub fn money(amount: f64) -> String {
    format!("{:.2}", cents(amount))
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
