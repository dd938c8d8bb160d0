//! The stage engine against DESIGN's rule table, the ISO week, and the derived report
//! (transitions, history, metrics), all as pure functions of hand-built records.

use std::collections::BTreeMap;
use std::path::PathBuf;

use affrel::model::{
    ActionKind, Config, Event, EventKind, Interest, Program, Project, Referral, ReportSettings,
    Rules, Sender, Stage,
};
use affrel::stages::{self, Status, Week};
use chrono::NaiveDate;

use ActionKind::{Congratulate, FollowUp, Nudge, OfferHelp, Welcome};
use EventKind::{Congratulated, FollowUpSent, HelpGiven, LetGo, NudgeSent, WelcomeSent};
use Interest::{High, Low};

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test dates are valid")
}

/// An event of `kind` on `date`, with no amount or interest.
fn event(date: &str, kind: EventKind) -> Event {
    Event {
        date: day(date),
        kind,
        amount: None,
        interest: None,
        minutes: None,
        reference: None,
        message_id: None,
        address: None,
    }
}

fn sale(date: &str, amount: f64) -> Event {
    Event {
        amount: Some(amount),
        ..event(date, EventKind::Sale)
    }
}

fn reply(date: &str, interest: Interest) -> Event {
    Event {
        interest: Some(interest),
        ..event(date, EventKind::Reply)
    }
}

/// A referral to `program` with its events sorted by date, stably, as validation does.
fn referral_to(id: &str, program: &str, referred_on: &str, events: &[Event]) -> Referral {
    let mut events = events.to_vec();
    events.sort_by_key(|event| event.date);
    Referral {
        id: id.to_owned(),
        path: PathBuf::from(format!("content/referrals/{id}.yaml")),
        name: format!("{id} Example"),
        email: format!("{id}@example.com"),
        program: program.to_owned(),
        referred_on: day(referred_on),
        motivation: None,
        account: None,
        tags: Vec::new(),
        events,
    }
}

fn referral(referred_on: &str, events: &[Event]) -> Referral {
    referral_to("alice", "acme", referred_on, events)
}

fn program(id: &str, residual_commissions: bool, residual_rate: Option<f64>) -> Program {
    Program {
        id: id.to_owned(),
        name: format!("{id} program"),
        url: None,
        residual_commissions,
        residual_rate,
        import: None,
    }
}

/// The stage and next action as of `as_of` under the default rules, for a program that pays
/// residual commissions.
fn status_on(referral: &Referral, as_of: &str) -> Option<Outcome> {
    let acme = program("acme", true, Some(0.1));
    stages::status(referral, &acme, &Rules::default(), day(as_of)).map(outcome)
}

/// The part of a status the rule table fixes: the stage and the next action's kind and due
/// date.
type Outcome = (Stage, Option<(ActionKind, NaiveDate)>);

fn outcome(status: Status) -> Outcome {
    (
        status.stage,
        status.action.map(|action| (action.kind, action.due)),
    )
}

fn expect(stage: Stage, action: Option<(ActionKind, &str)>) -> Outcome {
    (stage, action.map(|(kind, due)| (kind, day(due))))
}

/// One row of the table: a referral's events, the date D, and what DESIGN says follows.
struct Case {
    name: &'static str,
    referred_on: &'static str,
    events: Vec<Event>,
    as_of: &'static str,
    expected: Outcome,
}

fn check_cases(cases: &[Case]) {
    let mut failures = Vec::new();
    for case in cases {
        let actual = status_on(&referral(case.referred_on, &case.events), case.as_of);
        if actual != Some(case.expected) {
            failures.push(format!(
                "{}: expected {:?}, got {actual:?}",
                case.name, case.expected
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Events of a referral that had a first sale on 2026-09-10 and was followed up on
/// 2026-10-01: the common start of rows 6 to 9.
fn followed_up(more: &[Event]) -> Vec<Event> {
    let mut events = vec![
        event("2026-09-01", WelcomeSent),
        sale("2026-09-10", 20.0),
        event("2026-10-01", FollowUpSent),
    ];
    events.extend_from_slice(more);
    events
}

// Row 1: a program without residual commissions is never worth an action, whatever happened.
#[test]
fn referral_to_a_program_without_residuals_is_not_worth_it() {
    let bounty = program("bounty", false, None);
    let record = referral_to(
        "alice",
        "bounty",
        "2026-09-01",
        &[event("2026-09-02", LetGo)],
    );
    let actual =
        stages::status(&record, &bounty, &Rules::default(), day("2026-11-24")).map(outcome);
    assert_eq!(actual, Some(expect(Stage::NotWorthIt, None)));
}

// Rows 2 to 9, one case per row.
#[test]
fn each_rule_row_gives_its_stage_and_next_action() {
    check_cases(&[
        Case {
            name: "row 2: a let_go event ends the relationship, even after sales",
            referred_on: "2026-09-01",
            events: followed_up(&[event("2026-11-01", LetGo)]),
            as_of: "2026-11-24",
            expected: expect(Stage::LetGo, None),
        },
        Case {
            name: "row 3: no welcome yet, welcome due on the referral day",
            referred_on: "2026-11-01",
            events: vec![],
            as_of: "2026-11-24",
            expected: expect(Stage::Uncontacted, Some((Welcome, "2026-11-01"))),
        },
        Case {
            name: "row 3: a sale without a welcome is still uncontacted",
            referred_on: "2026-11-01",
            events: vec![sale("2026-11-05", 10.0)],
            as_of: "2026-11-24",
            expected: expect(Stage::Uncontacted, Some((Welcome, "2026-11-01"))),
        },
        Case {
            name: "row 4: welcomed without a sale, nudge due after nudge_after_days",
            referred_on: "2026-11-01",
            events: vec![event("2026-11-02", WelcomeSent)],
            as_of: "2026-11-24",
            expected: expect(Stage::Welcomed, Some((Nudge, "2026-11-16"))),
        },
        Case {
            name: "row 5: first sale, follow-up due after follow_up_after_days",
            referred_on: "2026-10-01",
            events: vec![event("2026-10-01", WelcomeSent), sale("2026-10-20", 5.0)],
            as_of: "2026-11-24",
            expected: expect(Stage::FirstSale, Some((FollowUp, "2026-11-10"))),
        },
        Case {
            name: "row 6: three sales inside the window, congratulate on the latest",
            referred_on: "2026-09-01",
            events: followed_up(&[
                sale("2026-11-01", 1.0),
                sale("2026-11-10", 1.0),
                sale("2026-11-20", 1.0),
            ]),
            as_of: "2026-11-24",
            expected: expect(Stage::Thriving, Some((Congratulate, "2026-11-20"))),
        },
        Case {
            name: "row 7: low-interest reply after the follow-up, offer help on its day",
            referred_on: "2026-09-01",
            events: followed_up(&[reply("2026-11-05", Low)]),
            as_of: "2026-11-24",
            expected: expect(Stage::Struggling, Some((OfferHelp, "2026-11-05"))),
        },
        Case {
            name: "row 8: quiet for more than quiet_after_days, help due when it went quiet",
            referred_on: "2026-09-01",
            events: followed_up(&[]),
            as_of: "2026-11-24",
            expected: expect(Stage::Struggling, Some((OfferHelp, "2026-10-31"))),
        },
        Case {
            name: "row 9: followed up recently, nothing to do",
            referred_on: "2026-09-01",
            events: followed_up(&[reply("2026-11-10", High)]),
            as_of: "2026-11-24",
            expected: expect(Stage::FollowingUp, None),
        },
    ]);
}

// The thriving window is open at its start: `D - window < date <= D`.
#[test]
fn thriving_window_excludes_a_sale_exactly_window_days_before_d() {
    check_cases(&[
        Case {
            name: "a sale on D - 30 days does not count",
            referred_on: "2026-09-01",
            events: followed_up(&[
                sale("2026-10-25", 1.0),
                sale("2026-11-10", 1.0),
                sale("2026-11-20", 1.0),
            ]),
            as_of: "2026-11-24",
            expected: expect(Stage::FollowingUp, None),
        },
        Case {
            name: "a sale one day later does",
            referred_on: "2026-09-01",
            events: followed_up(&[
                sale("2026-10-26", 1.0),
                sale("2026-11-10", 1.0),
                sale("2026-11-20", 1.0),
            ]),
            as_of: "2026-11-24",
            expected: expect(Stage::Thriving, Some((Congratulate, "2026-11-20"))),
        },
        Case {
            name: "a sale on D itself counts",
            referred_on: "2026-09-01",
            events: followed_up(&[
                sale("2026-11-10", 1.0),
                sale("2026-11-20", 1.0),
                sale("2026-11-24", 1.0),
            ]),
            as_of: "2026-11-24",
            expected: expect(Stage::Thriving, Some((Congratulate, "2026-11-24"))),
        },
    ]);
}

// A congratulation silences the next one only while `date > D - congratulate_every_days`.
#[test]
fn congratulation_is_due_again_once_congratulate_every_days_have_passed() {
    let thriving = |congratulated_on: &str| {
        followed_up(&[
            event(congratulated_on, Congratulated),
            sale("2026-11-01", 1.0),
            sale("2026-11-10", 1.0),
            sale("2026-11-20", 1.0),
        ])
    };
    check_cases(&[
        Case {
            name: "congratulated on D - 89 days: inside, no action",
            referred_on: "2026-06-01",
            events: thriving("2026-08-27"),
            as_of: "2026-11-24",
            expected: expect(Stage::Thriving, None),
        },
        Case {
            name: "congratulated on D - 90 days: outside, congratulate again",
            referred_on: "2026-06-01",
            events: thriving("2026-08-26"),
            as_of: "2026-11-24",
            expected: expect(Stage::Thriving, Some((Congratulate, "2026-11-20"))),
        },
        Case {
            name: "congratulated this week: no action",
            referred_on: "2026-06-01",
            events: thriving("2026-11-21"),
            as_of: "2026-11-24",
            expected: expect(Stage::Thriving, None),
        },
    ]);
}

// Events dated the same day as each other or as D all count.
#[test]
fn same_day_events_and_events_on_d_count() {
    check_cases(&[
        Case {
            name: "referred, welcomed and replayed on the same day",
            referred_on: "2026-11-24",
            events: vec![event("2026-11-24", WelcomeSent)],
            as_of: "2026-11-24",
            expected: expect(Stage::Welcomed, Some((Nudge, "2026-12-08"))),
        },
        Case {
            name: "a follow-up on the day of the first sale counts as following up",
            referred_on: "2026-11-01",
            events: vec![
                event("2026-11-02", WelcomeSent),
                sale("2026-11-10", 1.0),
                event("2026-11-10", FollowUpSent),
            ],
            as_of: "2026-11-24",
            expected: expect(Stage::FollowingUp, None),
        },
        Case {
            name: "help given on the day of the low reply answers it",
            referred_on: "2026-09-01",
            events: followed_up(&[reply("2026-11-05", Low), event("2026-11-05", HelpGiven)]),
            as_of: "2026-11-24",
            expected: expect(Stage::FollowingUp, None),
        },
        Case {
            name: "a low reply on the day of the follow-up is after it",
            referred_on: "2026-09-01",
            events: followed_up(&[event("2026-11-05", FollowUpSent), reply("2026-11-05", Low)]),
            as_of: "2026-11-24",
            expected: expect(Stage::Struggling, Some((OfferHelp, "2026-11-05"))),
        },
    ]);
}

// Replaying a past week must not see anything that happened later.
#[test]
fn events_dated_after_d_are_ignored() {
    check_cases(&[
        Case {
            name: "a welcome sent tomorrow has not happened yet",
            referred_on: "2026-11-01",
            events: vec![event("2026-11-25", WelcomeSent)],
            as_of: "2026-11-24",
            expected: expect(Stage::Uncontacted, Some((Welcome, "2026-11-01"))),
        },
        Case {
            name: "a later let_go does not end the relationship yet",
            referred_on: "2026-11-01",
            events: vec![event("2026-11-02", WelcomeSent), event("2026-12-01", LetGo)],
            as_of: "2026-11-24",
            expected: expect(Stage::Welcomed, Some((Nudge, "2026-11-16"))),
        },
        Case {
            name: "later sales do not make a referral thriving",
            referred_on: "2026-09-01",
            events: followed_up(&[
                sale("2026-11-20", 1.0),
                sale("2026-11-25", 1.0),
                sale("2026-11-26", 1.0),
            ]),
            as_of: "2026-11-24",
            expected: expect(Stage::FollowingUp, None),
        },
    ]);
}

// A referral does not exist before the day it was referred.
#[test]
fn referral_that_starts_after_d_does_not_exist_yet() {
    let record = referral("2026-11-25", &[]);
    assert_eq!(status_on(&record, "2026-11-24"), None);
    assert_eq!(
        status_on(&record, "2026-11-25"),
        Some(expect(Stage::Uncontacted, Some((Welcome, "2026-11-25"))))
    );
}

// Records list events in any order; the engine sees them by date.
#[test]
fn events_listed_out_of_order_are_read_by_date() {
    check_cases(&[Case {
        name: "sale listed before the welcome",
        referred_on: "2026-10-01",
        events: vec![
            event("2026-10-30", FollowUpSent),
            sale("2026-10-20", 5.0),
            event("2026-10-01", WelcomeSent),
            sale("2026-10-25", 5.0),
        ],
        as_of: "2026-11-24",
        expected: expect(Stage::FollowingUp, None),
    }]);
}

// Only a follow-up on or after the first sale moves a referral past row 5.
#[test]
fn follow_up_sent_before_the_first_sale_leaves_the_referral_at_first_sale() {
    check_cases(&[Case {
        name: "follow-up before the sale",
        referred_on: "2026-10-01",
        events: vec![
            event("2026-10-01", WelcomeSent),
            event("2026-10-10", FollowUpSent),
            sale("2026-10-20", 5.0),
        ],
        as_of: "2026-11-24",
        expected: expect(Stage::FirstSale, Some((FollowUp, "2026-11-10"))),
    }]);
}

// Row 7 only fires while the low reply is unanswered.
#[test]
fn low_interest_reply_answered_by_help_or_a_sale_is_not_struggling() {
    check_cases(&[
        Case {
            name: "help given after the low reply",
            referred_on: "2026-09-01",
            events: followed_up(&[reply("2026-11-05", Low), event("2026-11-06", HelpGiven)]),
            as_of: "2026-11-24",
            expected: expect(Stage::FollowingUp, None),
        },
        Case {
            name: "a sale after the low reply",
            referred_on: "2026-09-01",
            events: followed_up(&[reply("2026-11-05", Low), sale("2026-11-06", 1.0)]),
            as_of: "2026-11-24",
            expected: expect(Stage::FollowingUp, None),
        },
        Case {
            name: "a keen reply after the low one",
            referred_on: "2026-09-01",
            events: followed_up(&[reply("2026-11-05", Low), reply("2026-11-07", High)]),
            as_of: "2026-11-24",
            expected: expect(Stage::FollowingUp, None),
        },
        Case {
            name: "a low reply before the latest follow-up is old news",
            referred_on: "2026-09-01",
            events: followed_up(&[reply("2026-10-05", Low), event("2026-11-01", FollowUpSent)]),
            as_of: "2026-11-24",
            expected: expect(Stage::FollowingUp, None),
        },
        Case {
            name: "a nudge does not answer a low reply",
            referred_on: "2026-09-01",
            events: followed_up(&[reply("2026-11-05", Low), event("2026-11-06", NudgeSent)]),
            as_of: "2026-11-24",
            expected: expect(Stage::Struggling, Some((OfferHelp, "2026-11-05"))),
        },
    ]);
}

// The nudge clock restarts at the latest welcome, nudge, reply or help.
#[test]
fn welcomed_referral_is_nudged_after_the_latest_touch() {
    check_cases(&[
        Case {
            name: "after a nudge",
            referred_on: "2026-10-01",
            events: vec![
                event("2026-10-02", WelcomeSent),
                event("2026-10-16", NudgeSent),
            ],
            as_of: "2026-11-24",
            expected: expect(Stage::Welcomed, Some((Nudge, "2026-10-30"))),
        },
        Case {
            name: "after a reply",
            referred_on: "2026-10-01",
            events: vec![
                event("2026-10-02", WelcomeSent),
                event("2026-10-16", NudgeSent),
                reply("2026-11-18", High),
            ],
            as_of: "2026-11-24",
            expected: expect(Stage::Welcomed, Some((Nudge, "2026-12-02"))),
        },
        Case {
            name: "after help",
            referred_on: "2026-10-01",
            events: vec![
                event("2026-10-02", WelcomeSent),
                event("2026-11-20", HelpGiven),
            ],
            as_of: "2026-11-24",
            expected: expect(Stage::Welcomed, Some((Nudge, "2026-12-04"))),
        },
    ]);
}

// Row 8 fires at exactly `quiet_after_days` of silence, not a day earlier.
#[test]
fn quiet_referral_is_struggling_from_exactly_quiet_after_days() {
    let events = vec![
        event("2026-09-01", WelcomeSent),
        sale("2026-09-10", 1.0),
        event("2026-10-25", FollowUpSent),
    ];
    check_cases(&[
        Case {
            name: "29 days quiet",
            referred_on: "2026-09-01",
            events: events.clone(),
            as_of: "2026-11-23",
            expected: expect(Stage::FollowingUp, None),
        },
        Case {
            name: "30 days quiet",
            referred_on: "2026-09-01",
            events: events.clone(),
            as_of: "2026-11-24",
            expected: expect(Stage::Struggling, Some((OfferHelp, "2026-11-24"))),
        },
        Case {
            name: "a congratulation is not activity",
            referred_on: "2026-09-01",
            events: [events, vec![event("2026-11-20", Congratulated)]].concat(),
            as_of: "2026-11-24",
            expected: expect(Stage::Struggling, Some((OfferHelp, "2026-11-24"))),
        },
    ]);
}

// Week labels follow ISO 8601, whose years do not end on 31 December.
#[test]
fn iso_weeks_at_year_ends() {
    let week = |label: &str, start: &str, end: &str| Week {
        label: label.to_owned(),
        start: day(start),
        end: day(end),
    };
    let w53 = week("2026-W53", "2026-12-28", "2027-01-03");
    for date in ["2026-12-28", "2026-12-31", "2027-01-01", "2027-01-03"] {
        assert_eq!(Week::containing(day(date)), w53, "{date}");
    }
    assert_eq!(
        Week::containing(day("2027-01-04")),
        week("2027-W01", "2027-01-04", "2027-01-10")
    );
    assert_eq!(
        Week::containing(day("2026-11-24")),
        week("2026-W48", "2026-11-23", "2026-11-29")
    );
    // 2025-12-29 is a Monday that belongs to 2026's first week.
    assert_eq!(
        Week::containing(day("2025-12-31")),
        week("2026-W01", "2025-12-29", "2026-01-04")
    );
}

/// A project with the default rules, `history_weeks: 4`, and programs `acme` (10% residual),
/// `ink` (no rate) and `bounty` (no residual commissions).
fn project(referrals: Vec<Referral>) -> Project {
    let programs = [
        program("acme", true, Some(0.1)),
        program("ink", true, None),
        program("bounty", false, None),
    ];
    let mut referrals = referrals;
    referrals.sort_by(|a, b| a.id.cmp(&b.id));
    Project {
        config: Config {
            sender: Sender {
                name: "Sam Rivera".to_owned(),
                email: "sam@example.com".to_owned(),
                signature: "Sam".to_owned(),
            },
            programs: programs
                .into_iter()
                .map(|p| (p.id.clone(), p))
                .collect::<BTreeMap<_, _>>(),
            rules: Rules::default(),
            report: ReportSettings {
                title: "Affiliate relationships".to_owned(),
                history_weeks: 4,
                cohort_months: 12,
                pseudonym_salt: None,
            },
            mail: None,
        },
        referrals,
        email_templates: Vec::new(),
        template_overrides: BTreeMap::new(),
    }
}

// Transitions compare the day before the week with D; a referral that is new this week
// comes from null, and one whose stage did not change is not listed.
#[test]
fn transitions_compare_the_day_before_the_week_with_d() {
    let project = project(vec![
        // Welcomed on Tuesday of the report week.
        referral_to(
            "bea",
            "acme",
            "2026-11-01",
            &[event("2026-11-24", WelcomeSent)],
        ),
        // Referred this week: did not exist the Sunday before.
        referral_to("cal", "acme", "2026-11-23", &[]),
        // Unchanged since last week.
        referral_to(
            "dee",
            "acme",
            "2026-11-01",
            &[event("2026-11-02", WelcomeSent)],
        ),
        // Referred after D: not in the report at all.
        referral_to("eve", "acme", "2026-11-25", &[]),
    ]);
    let derived = stages::derive(&project, day("2026-11-24"));
    let transitions: Vec<(&str, Option<Stage>, Stage)> = derived
        .transitions
        .iter()
        .map(|t| (t.referral.id.as_str(), t.from, t.to))
        .collect();
    assert_eq!(
        transitions,
        [
            ("bea", Some(Stage::Uncontacted), Stage::Welcomed),
            ("cal", None, Stage::Uncontacted),
        ]
    );
    let ids: Vec<&str> = derived
        .affiliates
        .iter()
        .map(|a| a.referral.id.as_str())
        .collect();
    assert_eq!(ids, ["bea", "cal", "dee"]);
}

// History has one entry per past Sunday plus the current week, which matches the counts.
#[test]
fn history_ends_with_the_current_counts_after_history_weeks_sundays() {
    let project = project(vec![
        referral_to("ann", "acme", "2026-10-20", &[]),
        referral_to(
            "bob",
            "acme",
            "2026-11-03",
            &[event("2026-11-10", WelcomeSent)],
        ),
    ]);
    let derived = stages::derive(&project, day("2026-11-24"));
    let weeks: Vec<&str> = derived
        .history
        .iter()
        .map(|point| point.week.label.as_str())
        .collect();
    assert_eq!(
        weeks,
        ["2026-W44", "2026-W45", "2026-W46", "2026-W47", "2026-W48"]
    );
    let at = |index: usize, stage| derived.history[index].counts.get(stage);
    // Sunday 2026-11-01: only ann existed.
    assert_eq!((at(0, Stage::Uncontacted), at(0, Stage::Welcomed)), (1, 0));
    // Sunday 2026-11-08: bob referred, not yet welcomed.
    assert_eq!((at(1, Stage::Uncontacted), at(1, Stage::Welcomed)), (2, 0));
    // Sunday 2026-11-15: bob welcomed.
    assert_eq!((at(2, Stage::Uncontacted), at(2, Stage::Welcomed)), (1, 1));
    assert_eq!(
        derived.history.last().map(|point| point.counts),
        Some(derived.stage_counts)
    );
}

// A report with history_weeks = 0 still has the current week.
#[test]
fn history_with_zero_weeks_is_just_the_current_week() {
    let mut project = project(vec![referral_to("ann", "acme", "2026-10-20", &[])]);
    project.config.report.history_weeks = 0;
    let derived = stages::derive(&project, day("2026-11-24"));
    assert_eq!(derived.history.len(), 1);
    assert_eq!(derived.history[0].week.label, "2026-W48");
}

// Metrics: the median of an even count is the mean of the middle two; `not_worth_it` and
// not-yet-referred records are left out; sales count from week_start through D.
#[test]
fn metrics_take_the_mean_of_the_middle_two_and_skip_not_worth_it() {
    let project = project(vec![
        // 10 days to first sale; 2 sales this week up to D, 1 after D.
        referral_to(
            "ann",
            "acme",
            "2026-10-01",
            &[
                event("2026-10-01", WelcomeSent),
                sale("2026-10-11", 100.0),
                sale("2026-11-23", 10.0),
                sale("2026-11-24", 20.0),
                sale("2026-11-25", 1000.0),
            ],
        ),
        // 20 days to first sale, uncontacted; its program has no rate.
        referral_to(
            "bob",
            "ink",
            "2026-10-01",
            &[sale("2026-10-21", 5.0), sale("2026-11-23", 7.0)],
        ),
        // 30 days, contacted; a sale the Sunday before the week does not count.
        referral_to(
            "cat",
            "acme",
            "2026-10-01",
            &[
                event("2026-10-02", WelcomeSent),
                sale("2026-10-31", 1.0),
                sale("2026-11-22", 1.0),
            ],
        ),
        // 45 days, contacted.
        referral_to(
            "dan",
            "acme",
            "2026-09-01",
            &[event("2026-09-02", WelcomeSent), sale("2026-10-16", 1.0)],
        ),
        // Contacted, no sale.
        referral_to(
            "eli",
            "acme",
            "2026-11-01",
            &[event("2026-11-02", WelcomeSent)],
        ),
        // Not worth it: a 1-day first sale and a big sale this week that must not count.
        referral_to(
            "fay",
            "bounty",
            "2026-11-01",
            &[
                event("2026-11-01", WelcomeSent),
                sale("2026-11-02", 1.0),
                sale("2026-11-24", 500.0),
            ],
        ),
        // Does not exist yet.
        referral_to("gus", "acme", "2026-11-30", &[]),
    ]);
    let metrics = stages::derive(&project, day("2026-11-24")).metrics;
    assert_eq!(metrics.referrals, 5);
    assert_eq!(metrics.contacted, 4);
    assert_eq!(metrics.contacted_with_sale, 3);
    assert_eq!(metrics.uncontacted_with_sale, 1);
    assert_eq!(metrics.first_sale_rate_contacted, Some(0.75));
    assert_eq!(metrics.first_sale_rate_uncontacted, Some(1.0));
    assert_eq!(metrics.median_days_to_first_sale, Some(25.0));
    assert_eq!(metrics.sales_this_week, 3);
    assert!((metrics.sales_amount_this_week - 37.0).abs() < 1e-9);
    assert!((metrics.estimated_residual_this_week - 3.0).abs() < 1e-9);
}

// Rates and the median are null, not zero or NaN, when their group is empty.
#[test]
fn metrics_are_null_when_their_group_is_empty() {
    let all_contacted = project(vec![referral_to(
        "ann",
        "acme",
        "2026-11-01",
        &[event("2026-11-02", WelcomeSent)],
    )]);
    let metrics = stages::derive(&all_contacted, day("2026-11-24")).metrics;
    assert_eq!(metrics.first_sale_rate_contacted, Some(0.0));
    assert_eq!(metrics.first_sale_rate_uncontacted, None);
    assert_eq!(metrics.median_days_to_first_sale, None);

    let only_not_worth_it = project(vec![referral_to("bob", "bounty", "2026-11-01", &[])]);
    let metrics = stages::derive(&only_not_worth_it, day("2026-11-24")).metrics;
    assert_eq!(metrics.referrals, 0);
    assert_eq!(metrics.first_sale_rate_contacted, None);
    assert_eq!(metrics.first_sale_rate_uncontacted, None);
}

// An odd count takes the middle value.
#[test]
fn median_of_an_odd_count_is_the_middle_value() {
    let with_first_sale = |id: &str, sale_on: &str| {
        referral_to(
            id,
            "acme",
            "2026-10-01",
            &[event("2026-10-01", WelcomeSent), sale(sale_on, 1.0)],
        )
    };
    let project = project(vec![
        with_first_sale("a", "2026-10-03"),
        with_first_sale("b", "2026-10-31"),
        with_first_sale("c", "2026-10-08"),
    ]);
    let metrics = stages::derive(&project, day("2026-11-24")).metrics;
    assert_eq!(metrics.median_days_to_first_sale, Some(7.0));
}
