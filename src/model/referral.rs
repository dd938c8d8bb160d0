//! Referral records as loaded → validated [`Referral`]s with their events, every problem
//! located; and the checks that compare records.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::diagnostic::{Diagnostic, Location, WarningKind};
use crate::load::{EVENT_KEYS, Field, Key, Loaded, REFERRAL_KEYS, RawEvent, RawReferral, Source};

use super::check::FileCheck;
use super::config::ProgramIndex;
use super::text::{did_you_mean, is_message_id, is_slug, quoted_list};
use super::{Event, EventKind, Interest, Referral};

/// A valid referral and where its cross-file keys are written, for the checks that compare
/// files.
pub(super) struct Validated {
    pub(super) referral: Referral,
    pub(super) email_at: Option<Location>,
    pub(super) account_at: Option<Location>,
}

pub(super) fn validate_referral(
    loaded: Loaded<RawReferral>,
    programs: Option<&ProgramIndex>,
    today: NaiveDate,
) -> (Option<Validated>, Vec<Diagnostic>) {
    let Loaded { source, value: raw } = loaded;
    let mut check = FileCheck::new(&source);
    let id = referral_id(&source);
    if !is_slug(&id) {
        check.error(
            &[],
            format!("the file name `{id}` is not a valid referral id"),
            "rename the file to lowercase letters, digits, `-` and `_`, starting with a letter or digit, e.g. `alice-walker.yaml`",
        );
    }
    check.unknown_keys(&[], &raw.unknown, REFERRAL_KEYS);
    let at = |key| [Key::Field(key)];
    let name = check.required(&at("name"), raw.name.as_ref(), "their full name");
    let name = name.map(|name| check.text_line(&at("name"), "name", name));
    let email = check.required(&at("email"), raw.email.as_ref(), "their email address");
    let email = email.map(|email| check.email(&at("email"), email));
    let program = check.required(
        &at("program"),
        raw.program.as_ref(),
        "a program id from content/config.yaml",
    );
    if let (Some(program), Some(programs)) = (program, programs)
        && !programs.ids.contains(program)
    {
        let known: Vec<&str> = programs.ids.iter().map(String::as_str).collect();
        check.error(
            &at("program"),
            format!(
                "unknown program `{program}`; expected one of the program ids in content/config.yaml: {}",
                quoted_list(&known)
            ),
            did_you_mean(program, known.iter().copied()).unwrap_or_else(|| {
                "correct the id, or add the program to content/config.yaml".to_owned()
            }),
        );
    }
    let referred_on = check.required(
        &at("referred_on"),
        raw.referred_on.as_ref(),
        "a date, YYYY-MM-DD",
    );
    let referred_on = referred_on.and_then(|date| check.date(&at("referred_on"), date));
    if let Some(date) = referred_on {
        check.not_after_today(&at("referred_on"), date, today);
    }
    let motivation = check.optional(&at("motivation"), raw.motivation.as_ref(), "text");
    let account = check.optional(
        &at("account"),
        raw.account.as_ref(),
        "their account name or id in the program",
    );
    let account = account.map(|account| check.text_line(&at("account"), "account", account));
    check.optional(&at("notes"), raw.notes.as_ref(), "text");
    let tags = check.optional(
        &at("tags"),
        raw.tags.as_ref(),
        "a list of words, e.g. `[blogger]`",
    );
    let tags: Vec<String> = tags
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(index, tag)| check.text_line(&[Key::Field("tags"), Key::Item(index)], "tag", tag))
        .collect();
    let events = check.optional(&at("events"), raw.events.as_ref(), "a list of events");
    let events: Vec<(usize, Event)> = events
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(index, event)| Some((index, validate_event(&mut check, index, event)?)))
        .collect();
    let has_rate = match (program, programs) {
        (Some(program), Some(programs)) => programs.with_rate.contains(program),
        _ => false,
    };
    check_event_history(&mut check, &events, referred_on, today, has_rate);
    let mut events: Vec<Event> = events.into_iter().map(|(_, event)| event).collect();
    events.sort_by_key(|event| event.date);
    // Collected through a filter, the list may hold room for twice its events; a large
    // project keeps every record for the whole build.
    events.shrink_to_fit();
    let validated = match (name, email, program, referred_on) {
        (Some(name), Some(email), Some(program), Some(referred_on)) => Some(Validated {
            referral: Referral {
                id,
                path: source.path.clone(),
                name,
                email,
                program: program.clone(),
                referred_on,
                motivation: motivation.cloned(),
                account,
                tags,
                events,
            },
            email_at: source.locate(&at("email")),
            account_at: source.locate(&at("account")),
        }),
        _ => None,
    };
    check.finish(validated)
}

/// Checks of a referral's events against each other and the referral: errors for what
/// cannot be, warnings for what is probably a mistake.
fn check_event_history(
    check: &mut FileCheck<'_>,
    events: &[(usize, Event)],
    referred_on: Option<NaiveDate>,
    today: NaiveDate,
    has_rate: bool,
) {
    let at = |index: usize, key| [Key::Field("events"), Key::Item(index), Key::Field(key)];
    let let_go_on = events
        .iter()
        .filter(|(_, e)| e.kind == EventKind::LetGo)
        .map(|(_, e)| e.date)
        .min();
    let mut refs: BTreeMap<&str, usize> = BTreeMap::new();
    let mut message_ids: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, event) in events {
        let index = *index;
        if let Some(referred_on) = referred_on
            && event.date < referred_on
        {
            check.error(
                &at(index, "date"),
                format!(
                    "the event is dated {}, before `referred_on` ({referred_on})",
                    event.date
                ),
                "correct the event's date or `referred_on`: nothing happens before the referral",
            );
        }
        check.not_after_today(&at(index, "date"), event.date, today);
        if let Some(let_go_on) = let_go_on
            && event.date > let_go_on
        {
            check.warning(
                WarningKind::AfterLetGo,
                &at(index, "date"),
                format!(
                    "this `{}` event is dated after the `let_go` of {let_go_on}, so the report ignores it",
                    event.kind
                ),
                "if the relationship picked up again, remove the `let_go` event; otherwise correct the date",
            );
        }
        if has_rate && event.kind == EventKind::Sale && event.amount.is_none() {
            check.warning(
                WarningKind::SaleWithoutAmount,
                &at(index, "type"),
                "this sale has no `amount`, so it adds nothing to the estimated residual",
                "add `amount:` with the sale's value, e.g. `amount: 49.00`",
            );
        }
        if let Some(reference) = &event.reference
            && let Some(first) = refs.insert(reference, index)
        {
            refs.insert(reference, first);
            check.error(
                &at(index, "ref"),
                format!(
                    "the sale `ref` `{reference}` is already used by event {} of this referral",
                    first + 1
                ),
                "each sale has its own `ref`: remove the repeated sale or correct its `ref`",
            );
        }
        if let Some(message_id) = &event.message_id
            && let Some(first) = message_ids.insert(message_id, index)
        {
            message_ids.insert(message_id, first);
            check.error(
                &at(index, "message_id"),
                format!(
                    "the `message_id` `{message_id}` is already used by event {} of this referral",
                    first + 1
                ),
                "one email is one event: remove the repeated event",
            );
        }
    }
}

/// Checks that compare referral files: the same address in two records, and an account
/// used twice in one program.
pub(super) fn across_referrals(validated: &[Validated]) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let mut emails: BTreeMap<String, &Referral> = BTreeMap::new();
    let mut accounts: BTreeMap<(&str, &str), &Referral> = BTreeMap::new();
    for v in validated {
        let referral = &v.referral;
        if let Some(first) = emails.get(&referral.email.to_lowercase()) {
            problems.push(
                Diagnostic::warning(
                    WarningKind::SharedAddress,
                    &referral.path,
                    format!(
                        "the address `{}` is also the address of {}",
                        referral.email,
                        first.path.display()
                    ),
                )
                .at_location(v.email_at)
                .with_help("one person, one record: merge the two files, or correct the address"),
            );
        } else {
            emails.insert(referral.email.to_lowercase(), referral);
        }
        let Some(account) = referral.account.as_deref() else {
            continue;
        };
        if let Some(first) = accounts.get(&(referral.program.as_str(), account)) {
            problems.push(
                Diagnostic::error(
                    &referral.path,
                    format!(
                        "the account `{account}` in program `{}` is also the account of {}",
                        referral.program,
                        first.path.display()
                    ),
                )
                .at_location(v.account_at)
                .with_help("an account belongs to one referral, and imported sales are matched by it: correct one of the two"),
            );
        } else {
            accounts.insert((referral.program.as_str(), account), referral);
        }
    }
    problems
}

/// The id is the file stem; `load` only accepts files whose stem is UTF-8.
fn referral_id(source: &Source) -> String {
    source
        .path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The most minutes one event can record: a whole day.
const MAX_MINUTES: u32 = 1440;

fn validate_event(check: &mut FileCheck<'_>, index: usize, raw: &RawEvent) -> Option<Event> {
    let at = |key| [Key::Field("events"), Key::Item(index), Key::Field(key)];
    check.unknown_keys(
        &[Key::Field("events"), Key::Item(index)],
        &raw.unknown,
        EVENT_KEYS,
    );
    let date = check.required(&at("date"), raw.date.as_ref(), "a date, YYYY-MM-DD");
    let date = date.and_then(|date| check.date(&at("date"), date));
    check.optional(&at("note"), raw.note.as_ref(), "text");
    let written = check.required(
        &at("type"),
        raw.kind.as_ref(),
        "an event type such as `welcome_sent`",
    )?;
    let kind = written.parse::<EventKind>().ok();
    if kind.is_none() {
        check.error(
            &at("type"),
            format!(
                "unknown event type `{written}`; expected one of {}",
                EventKind::expected()
            ),
            did_you_mean(written, EventKind::ALL.iter().map(|k| k.as_str()))
                .unwrap_or_else(|| "correct the event's `type`".to_owned()),
        );
    }
    let amount = check
        .optional(&at("amount"), raw.amount.as_ref(), "a number, e.g. 49.00")
        .copied();
    if let Some(amount) = amount {
        if kind.is_some_and(|k| k != EventKind::Sale) {
            only_on_type(
                check,
                &at("amount"),
                "amount",
                EventKind::Sale,
                written,
                "the amount",
            );
        } else if !amount.is_finite() {
            check.error(
                &at("amount"),
                format!("the sale amount `{amount}` is not a number"),
                "write the sale's amount as a number of at least 0, e.g. 49.00",
            );
        } else if amount < 0.0 {
            check.error(
                &at("amount"),
                format!("the sale amount {amount} is negative"),
                "write the sale's amount as a number of at least 0; leave refunds out",
            );
        }
    }
    let interest = validate_interest(check, &at("interest"), raw.interest.as_ref(), kind, written);
    let minutes = validate_minutes(check, &at("minutes"), raw.minutes.as_ref(), kind, written);
    let reference = check.optional(
        &at("ref"),
        raw.reference.as_ref(),
        "the program's id of the sale, in quotes",
    );
    let reference = reference.map(|reference| {
        if kind.is_some_and(|k| k != EventKind::Sale) {
            only_on_type(check, &at("ref"), "ref", EventKind::Sale, written, "`ref`");
        }
        check.text_line(&at("ref"), "sale ref", reference)
    });
    let message_id = validate_message_id(
        check,
        &at("message_id"),
        raw.message_id.as_ref(),
        kind,
        written,
    );
    let address = validate_address(check, &at("address"), raw.address.as_ref(), kind, written);
    Some(Event {
        date: date?,
        kind: kind?,
        amount,
        interest,
        minutes,
        reference: reference.map(Into::into),
        message_id: message_id.map(Into::into),
        address: address.map(Into::into),
    })
}

/// Reports `key` (at `keys`), which belongs only on `owner` events, written on an event of
/// type `written`; `removed` is what the help says to remove ("the amount", "`ref`").
fn only_on_type(
    check: &mut FileCheck<'_>,
    keys: &[Key<'_>],
    key: &str,
    owner: EventKind,
    written: &str,
    removed: &str,
) {
    let owner = owner.as_str();
    check.error(
        keys,
        format!("`{key}` is only allowed on `{owner}` events, not on `{written}`"),
        format!("remove {removed}, or change the type to `{owner}`"),
    );
}

/// `address`: required on `bounced` (the address that failed), allowed on no other type.
fn validate_address(
    check: &mut FileCheck<'_>,
    keys: &[Key<'_>],
    raw: Option<&Field<String>>,
    kind: Option<EventKind>,
    written: &str,
) -> Option<String> {
    let shape = "the address that could not be reached, e.g. ana@example.com";
    if kind == Some(EventKind::Bounced) {
        let address = check.required(keys, raw, shape)?;
        return Some(check.email(keys, address));
    }
    check.optional(keys, raw, shape)?;
    if kind.is_some() {
        only_on_type(
            check,
            keys,
            "address",
            EventKind::Bounced,
            written,
            "`address`",
        );
    }
    None
}

fn validate_interest(
    check: &mut FileCheck<'_>,
    keys: &[Key<'_>],
    raw: Option<&Field<String>>,
    kind: Option<EventKind>,
    written: &str,
) -> Option<Interest> {
    let word = check.optional(keys, raw, "`low` or `high`")?;
    if kind.is_some_and(|k| k != EventKind::Reply) {
        only_on_type(
            check,
            keys,
            "interest",
            EventKind::Reply,
            written,
            "`interest`",
        );
        return None;
    }
    let interest = word.parse::<Interest>().ok();
    if interest.is_none() {
        check.error(
            keys,
            format!(
                "unknown interest `{word}`; expected one of {}",
                Interest::expected()
            ),
            did_you_mean(word, Interest::ALL.iter().map(|i| i.as_str())).unwrap_or_else(|| {
                "write `low` if they sounded unsure or busy, `high` if keen".to_owned()
            }),
        );
    }
    interest
}

fn validate_message_id(
    check: &mut FileCheck<'_>,
    keys: &[Key<'_>],
    raw: Option<&Field<String>>,
    kind: Option<EventKind>,
    written: &str,
) -> Option<String> {
    let shape = "the email's Message-ID in quotes, such as \"<1234@example.com>\"";
    let message_id = check.optional(keys, raw, shape)?;
    if kind.is_some_and(|k| !EventKind::EMAILS.contains(&k)) {
        let emails: Vec<&str> = EventKind::EMAILS.iter().map(|k| k.as_str()).collect();
        check.error(
            keys,
            format!(
                "`message_id` is only allowed on events that are emails ({}), not on `{written}`",
                quoted_list(&emails)
            ),
            "remove `message_id`, or put it on the event of the email",
        );
        return None;
    }
    if !is_message_id(message_id) {
        check.error(
            keys,
            format!("`{}` is not a Message-ID", message_id.escape_debug()),
            format!("write {shape}: `<`, the id with one `@` and no spaces, then `>`"),
        );
        return None;
    }
    Some(message_id.clone())
}

fn validate_minutes(
    check: &mut FileCheck<'_>,
    keys: &[Key<'_>],
    raw: Option<&Field<u32>>,
    kind: Option<EventKind>,
    written: &str,
) -> Option<u32> {
    let shape = format!("a whole number of minutes from 0 to {MAX_MINUTES}");
    let minutes = check.optional(keys, raw, &shape).copied()?;
    if kind.is_some_and(|k| !EventKind::TIMED.contains(&k)) {
        let timed: Vec<&str> = EventKind::TIMED.iter().map(|k| k.as_str()).collect();
        check.error(
            keys,
            format!(
                "`minutes` is only allowed on events that record your time ({}), not on `{written}`",
                quoted_list(&timed)
            ),
            "remove `minutes`, or put them on the event that took your time",
        );
    } else if minutes > MAX_MINUTES {
        check.error(
            keys,
            format!("`minutes` is {minutes}, more than a day ({MAX_MINUTES})"),
            "record the minutes this one contact took; log longer help as several events",
        );
    }
    Some(minutes)
}
