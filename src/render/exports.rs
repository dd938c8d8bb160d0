//! Derived weeks → the machine-readable exports: `report.csv`, `cohorts.csv` and
//! `communication.csv` for spreadsheets, `agenda.ics` for calendars and `feed.xml` (Atom)
//! for feed readers.

use std::io::{self, Write as _};

use atom_syndication::{Entry, Feed, FixedDateTime, Generator, Link, Person, Text};
use chrono::{NaiveDate, NaiveTime};
use icalendar::{Calendar, Component, EventLike};
use sha2::{Digest, Sha256};

use crate::diagnostic::Diagnostic;
use crate::model::{ActionKind, Project, Stage};
use crate::render::PIECE;
use crate::render::emails::WrittenEmails;
use crate::render::format::{action_step, money, stage_label};
use crate::report::Naming;
use crate::stages::{Derived, NextAction, Urgency};

/// The "Everyone" table as CSV into `out`, one row per referral sorted by id.
pub fn everyone_csv(derived: &Derived<'_>, out: &mut dyn io::Write) -> Result<(), Diagnostic> {
    let failed = |err: csv::Error| Diagnostic::error("report.csv", err.to_string());
    let mut writer = csv::WriterBuilder::new()
        .buffer_capacity(PIECE)
        .from_writer(out);
    writer
        .write_record([
            "id",
            "name",
            "email",
            "program",
            "stage",
            "next_action",
            "due",
            "overdue",
            "referred_on",
            "last_contact",
            "sales",
            "first_sale_on",
            "minutes_invested",
            "estimated_residual",
            "motivation",
        ])
        .map_err(failed)?;
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    for a in &derived.affiliates {
        let action = a.status.action;
        writer
            .write_record([
                a.referral.id.as_str(),
                &inert(&a.referral.name),
                &inert(&a.referral.email),
                &a.program.id,
                a.status.stage.as_str(),
                action.map_or("", |x| x.kind.as_str()),
                &date(action.map(|x| x.due)),
                if action.is_some_and(|x| derived.week.urgency(x.due) == Urgency::Overdue) {
                    "yes"
                } else {
                    ""
                },
                &a.referral.referred_on.to_string(),
                &date(a.last_contact),
                &a.sales.to_string(),
                &date(a.first_sale_on),
                &a.minutes_invested.to_string(),
                &money(a.estimated_residual),
                &inert(a.referral.motivation.as_deref().unwrap_or("")),
            ])
            .map_err(failed)?;
    }
    writer
        .flush()
        .map_err(|err| Diagnostic::error("report.csv", err.to_string()))
}

/// The cohorts as CSV, one row per month, oldest first, with `report.json`'s keys as the
/// header; a null is an empty cell.
pub fn cohorts_csv(derived: &Derived<'_>) -> Result<Vec<u8>, Diagnostic> {
    let failed = |err: &dyn std::fmt::Display| Diagnostic::error("cohorts.csv", err.to_string());
    let mut writer = csv::Writer::from_writer(Vec::new());
    for cohort in &derived.cohorts {
        writer.serialize(cohort).map_err(|err| failed(&err))?;
    }
    writer.into_inner().map_err(|err| failed(&err))
}

/// Which emails get answers as CSV, one row per kind of email, with `report.json`'s keys
/// as the header; a null is an empty cell.
pub fn communication_csv(derived: &Derived<'_>) -> Result<Vec<u8>, Diagnostic> {
    let failed =
        |err: &dyn std::fmt::Display| Diagnostic::error("communication.csv", err.to_string());
    let mut writer = csv::Writer::from_writer(Vec::new());
    for kind in &derived.communication.emails {
        writer.serialize(kind).map_err(|err| failed(&err))?;
    }
    writer.into_inner().map_err(|err| failed(&err))
}

/// A cell that a spreadsheet shows as text: one starting like a formula gets a leading `'`.
fn inert(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// "Follow up with Gia Russo": what the calendar entry for an action says.
fn calendar_summary(kind: ActionKind, name: &str) -> String {
    match kind {
        ActionKind::Welcome => format!("Welcome {name}"),
        ActionKind::Nudge => format!("Nudge {name}"),
        ActionKind::FollowUp => format!("Follow up with {name}"),
        ActionKind::OfferHelp => format!("Offer help to {name}"),
        ActionKind::Congratulate => format!("Congratulate {name}"),
    }
}

/// One all-day event per next action, on its due date (overdue ones on D), into `out`. UIDs
/// depend only on the referral and the kind, so a subscribed calendar updates rather than
/// duplicates.
pub fn agenda_ics(
    derived: &Derived<'_>,
    emails: &WrittenEmails,
    out: &mut dyn io::Write,
) -> Result<(), Diagnostic> {
    let stamp = derived.as_of.and_time(NaiveTime::MIN).and_utc();
    // Events are written one by one into the calendar's frame rather than collected into a
    // `Calendar`, whose model of every property costs far more memory than the text.
    let frame = Calendar::new().name("affrel actions").done().to_string();
    let (head, tail) = frame.split_at(frame.rfind("END:VCALENDAR").unwrap_or(frame.len()));
    let mut out = io::BufWriter::with_capacity(PIECE, out);
    let failed = |err: io::Error| Diagnostic::error("agenda.ics", err.to_string());
    out.write_all(head.as_bytes()).map_err(failed)?;
    let mut text = String::new();
    for a in &derived.affiliates {
        let Some(action) = a.status.action else {
            continue;
        };
        let day = action.due.max(derived.as_of);
        let mut description = format!("{}. Due {}.", action_step(action.kind), action.due);
        if let Some(path) = emails.eml_path(&a.referral.id, action.kind) {
            description = format!("{description} Email: {path}");
        }
        let event = icalendar::Event::new()
            .uid(&format!("{}--{}@affrel", a.referral.id, action.kind))
            .summary(&format!(
                "{} ({})",
                calendar_summary(action.kind, &a.referral.name),
                a.program.name
            ))
            .description(&description)
            .starts(day)
            .ends(day.succ_opt().unwrap_or(day))
            .timestamp(stamp)
            .done();
        text.clear();
        // Writing into a String cannot fail.
        let _ = event.fmt_write(&mut text);
        out.write_all(text.as_bytes()).map_err(failed)?;
    }
    out.write_all(tail.as_bytes())
        .and_then(|()| out.flush())
        .map_err(failed)
}

/// What the feed says about one week, taken while the week is at hand.
pub struct FeedEntry {
    label: String,
    as_of: NaiveDate,
    summary: String,
}

impl FeedEntry {
    /// The entry of `week`.
    pub fn of(week: &Derived<'_>, naming: Naming<'_>) -> Self {
        Self {
            label: week.week.label.clone(),
            as_of: week.as_of,
            summary: week_summary(week, naming),
        }
    }
}

/// An Atom feed with one entry per week, newest first; `weeks` are oldest first.
pub fn atom_feed(project: &Project, weeks: &[FeedEntry]) -> String {
    let title = &project.config.report.title;
    let key = Sha256::digest(title.as_bytes());
    let feed_id = format!(
        "urn:affrel:{:08x}",
        u32::from_be_bytes([key[0], key[1], key[2], key[3]])
    );
    let entries: Vec<Entry> = weeks
        .iter()
        .rev()
        .map(|week| {
            let mut entry = Entry::default();
            entry.set_title(format!("Week {}", week.label));
            entry.set_id(format!("{feed_id}:week:{}", week.label));
            entry.set_updated(midnight(week.as_of));
            entry.set_links(vec![link(
                "alternate",
                &format!("weeks/{}/index.html", week.label),
            )]);
            entry.set_summary(Some(Text::plain(week.summary.clone())));
            entry
        })
        .collect();
    let mut feed = Feed::default();
    feed.set_title(title.as_str());
    feed.set_id(feed_id);
    feed.set_updated(
        weeks
            .last()
            .map_or_else(|| midnight(NaiveDate::MIN), |w| midnight(w.as_of)),
    );
    feed.set_links(vec![
        link("self", "feed.xml"),
        link("alternate", "index.html"),
    ]);
    // Atom requires an author; the report speaks for itself, under its title.
    let mut author = Person::default();
    author.set_name(title.as_str());
    feed.set_authors(vec![author]);
    feed.set_generator(Some(Generator {
        value: "affrel".to_owned(),
        uri: None,
        version: Some(env!("CARGO_PKG_VERSION").to_owned()),
    }));
    feed.set_entries(entries);
    feed.to_string()
}

fn link(rel: &str, href: &str) -> Link {
    let mut link = Link::default();
    link.set_rel(rel);
    link.set_href(href);
    link
}

fn midnight(date: NaiveDate) -> FixedDateTime {
    date.and_time(NaiveTime::MIN).and_utc().fixed_offset()
}

/// Most stage changes a feed entry names; the week's `report.json` has them all.
const CHANGES_IN_FEED: usize = 20;

/// "3 actions due (1 overdue). Changes: r-1a2b3c4d welcomed → first sale. Stages: …"
fn week_summary(week: &Derived<'_>, naming: Naming<'_>) -> String {
    let due: Vec<NextAction> = week.actions_this_week().map(|(_, action)| action).collect();
    let overdue = due
        .iter()
        .filter(|a| week.week.urgency(a.due) == Urgency::Overdue)
        .count();
    let mut changes: Vec<String> = week
        .transitions
        .iter()
        .take(CHANGES_IN_FEED)
        .map(|t| {
            let from = t.from.map_or("new", stage_label);
            format!(
                "{} {from} → {}",
                naming.label(t.referral),
                stage_label(t.to)
            )
        })
        .collect();
    let unlisted = week.transitions.len().saturating_sub(CHANGES_IN_FEED);
    if unlisted > 0 {
        changes.push(format!("and {unlisted} more"));
    }
    let stages: Vec<String> = Stage::ALL
        .iter()
        .map(|&stage| format!("{} {}", stage_label(stage), week.stage_counts.get(stage)))
        .collect();
    format!(
        "{} actions due ({overdue} overdue). Changes: {}. Stages: {}.",
        due.len(),
        if changes.is_empty() {
            "none".to_owned()
        } else {
            changes.join(", ")
        },
        stages.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::inert;

    // A record cannot smuggle a formula into the user's spreadsheet.
    #[test]
    fn csv_cells_that_look_like_formulas_stay_text() {
        assert_eq!(inert("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(inert("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(inert("Zoë Müller"), "Zoë Müller");
    }
}
