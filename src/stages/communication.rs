//! Which emails get answers: each reply matched to the email it answers, per referral, and
//! the counts by kind of email that the report's "Which emails get answers" shows. Pure.

use chrono::NaiveDate;
use serde::Serialize;

use super::{AffiliateState, median, ratio};
use crate::model::{ActionKind, Event, EventKind, Stage};

/// The events that are emails you send, with the kind of email each is, in report order.
pub const EMAIL_EVENTS: [(EventKind, ActionKind); 4] = [
    (EventKind::WelcomeSent, ActionKind::Welcome),
    (EventKind::NudgeSent, ActionKind::Nudge),
    (EventKind::FollowUpSent, ActionKind::FollowUp),
    (EventKind::Congratulated, ActionKind::Congratulate),
];

/// `report.json`'s `communication`: over the referrals that exist at D and are worth
/// mentoring, events dated on or before D.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Communication {
    pub reply_window_days: i64,
    /// One entry per kind of email, in [`EMAIL_EVENTS`] order.
    pub emails: Vec<EmailReplies>,
    /// Referrals with a `welcome_sent`.
    pub welcomed: usize,
    /// Of those, the ones whose motivation you know.
    pub motivation_known: usize,
    /// Among contacted referrals, the share with a sale: of those who replied at least once,
    /// and of those who never did; `None` for an empty group.
    pub first_sale_rate_replied: Option<f64>,
    pub first_sale_rate_not_replied: Option<f64>,
}

/// How one kind of email gets answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmailReplies {
    pub kind: ActionKind,
    /// Emails whose reply window has passed.
    pub sent: usize,
    /// Of those, the ones that at least one reply answers.
    pub answered: usize,
    /// `answered / sent`; `None` when none was sent.
    pub reply_rate: Option<f64>,
    /// Days from the email to its first answering reply, over the answered ones.
    pub median_days_to_reply: Option<f64>,
}

/// One email of a referral and the first reply that answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentEmail {
    pub kind: ActionKind,
    pub date: NaiveDate,
    /// The date of the first reply that answers it.
    pub answered_on: Option<NaiveDate>,
}

/// The emails in `events` (sorted by date, all on or before D), each with the first reply
/// that answers it: a reply answers the latest email dated on or before it (on one date, the
/// one listed later) when it is at most `window` days after it.
pub fn emails(events: &[Event], window: i64) -> Vec<SentEmail> {
    let mut emails: Vec<SentEmail> = events
        .iter()
        .filter_map(|event| {
            Some(SentEmail {
                kind: email_kind(event.kind)?,
                date: event.date,
                answered_on: None,
            })
        })
        .collect();
    for reply in events.iter().filter(|e| e.kind == EventKind::Reply) {
        // Events are sorted by date, stably: the last email dated on or before the reply is
        // the latest, and on one date the one listed later.
        let before = emails.partition_point(|email| email.date <= reply.date);
        let Some(email) = before.checked_sub(1).map(|i| &mut emails[i]) else {
            continue;
        };
        if (reply.date - email.date).num_days() <= window && email.answered_on.is_none() {
            email.answered_on = Some(reply.date);
        }
    }
    emails
}

/// The kind of email an event is, if it is an email you send.
fn email_kind(kind: EventKind) -> Option<ActionKind> {
    EMAIL_EVENTS
        .iter()
        .find(|(event, _)| *event == kind)
        .map(|&(_, action)| action)
}

/// The counts over every referral worth mentoring at D.
pub fn communication(
    affiliates: &[AffiliateState<'_>],
    as_of: NaiveDate,
    window: i64,
) -> Communication {
    let counted_until = super::plus_days(as_of, -window);
    let mut sent = [0usize; 4];
    let mut answered = [0usize; 4];
    let mut days: [Vec<i64>; 4] = Default::default();
    let (mut welcomed, mut motivation_known) = (0, 0);
    let (mut replied, mut replied_with_sale) = (0, 0);
    let (mut silent, mut silent_with_sale) = (0, 0);
    for affiliate in affiliates {
        if affiliate.status.stage == Stage::NotWorthIt {
            continue;
        }
        for email in affiliate.emails.iter().filter(|e| e.date <= counted_until) {
            let slot = EMAIL_EVENTS
                .iter()
                .position(|&(_, kind)| kind == email.kind)
                .unwrap_or_default();
            sent[slot] += 1;
            if let Some(reply) = email.answered_on {
                answered[slot] += 1;
                days[slot].push((reply - email.date).num_days());
            }
        }
        if affiliate.contacted {
            welcomed += 1;
            let known = affiliate
                .referral
                .motivation
                .as_deref()
                .is_some_and(|m| !m.trim().is_empty());
            motivation_known += usize::from(known);
            let with_sale = usize::from(affiliate.first_sale_on.is_some());
            if affiliate.replies > 0 {
                replied += 1;
                replied_with_sale += with_sale;
            } else {
                silent += 1;
                silent_with_sale += with_sale;
            }
        }
    }
    let emails = EMAIL_EVENTS
        .iter()
        .enumerate()
        .map(|(slot, &(_, kind))| EmailReplies {
            kind,
            sent: sent[slot],
            answered: answered[slot],
            reply_rate: ratio(answered[slot], sent[slot]),
            median_days_to_reply: median(&mut days[slot]),
        })
        .collect();
    Communication {
        reply_window_days: window,
        emails,
        welcomed,
        motivation_known,
        first_sale_rate_replied: ratio(replied_with_sale, replied),
        first_sale_rate_not_replied: ratio(silent_with_sale, silent),
    }
}

/// The last email, when its window has passed (as for counting it) and nothing was heard
/// from them since (no reply or sale dated on or after it): (its kind, days since it went).
pub fn unanswered(
    emails: &[SentEmail],
    events: &[Event],
    as_of: NaiveDate,
    window: i64,
) -> Option<(ActionKind, i64)> {
    let last = emails.last()?;
    let days = (as_of - last.date).num_days();
    let heard_since = events
        .iter()
        .any(|e| matches!(e.kind, EventKind::Reply | EventKind::Sale) && e.date >= last.date);
    (days >= window && !heard_since).then_some((last.kind, days))
}
