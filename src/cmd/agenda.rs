//! `affrel agenda`: the validated project as of D → this week's actions in the terminal, as
//! the report lists them, or as JSON.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;

use crate::cli::{AgendaArgs, Exit};
use crate::cmd::{fail, print_all, shown, today, validated_project};
use crate::console;
use crate::model::{ActionKind, Project, Stage};
use crate::render::{action_step, eml_path, plural, why_now};
use crate::stages::{self, AffiliateState, Derived, NextAction, Urgency};
use crate::timings::Timings;
use crate::write;

/// One action, as `--json` prints it.
#[derive(Debug, Serialize)]
struct AgendaItem {
    pub id: String,
    pub name: String,
    pub program: String,
    pub stage: Stage,
    pub kind: ActionKind,
    pub due: NaiveDate,
    pub overdue: bool,
    /// Why it is due, in words.
    pub reason: String,
    /// The `.eml` a build writes for it, relative to the output folder; null when none.
    pub email: Option<String>,
    #[serde(skip)]
    program_name: String,
    #[serde(skip)]
    urgency: Urgency,
}

/// Prints the week's actions.
pub fn run(args: &AgendaArgs) -> Exit {
    let Some(today) = today() else {
        return Exit::Usage;
    };
    let as_of = args.common.as_of.unwrap_or(today);
    let root = &args.common.root.path;
    let (project, diagnostics) = validated_project(root, today, &mut Timings::new(false));
    let diagnostics = diagnostics.into_sorted();
    let Some(project) = project else {
        return fail(&diagnostics);
    };
    print_all(&diagnostics);
    if !args.json {
        let out = shown(root, Path::new(write::DEFAULT_OUT));
        print(&project, as_of, Some(&out));
        return Exit::Success;
    }
    let derived = stages::derive(&project, as_of);
    match serde_json::to_vec_pretty(&items(&project, &derived)) {
        Ok(mut json) => {
            json.push(b'\n');
            console::out(&json);
            Exit::Success
        }
        Err(err) => {
            console::tell(format_args!(
                "error: cannot write the agenda as JSON: {err}"
            ));
            Exit::InvalidContent
        }
    }
}

/// Prints the week's actions as of `as_of` for the terminal, each email's file in `out`, the
/// output folder as the user can type it (`None` when no emails were written).
pub fn print(project: &Project, as_of: NaiveDate, out: Option<&Path>) {
    let derived = stages::derive(project, as_of);
    let items = items(project, &derived);
    console::out(show(&derived, &items, out, Style::detect()).as_bytes());
}

/// The listed actions with everything the terminal and JSON show.
fn items(project: &Project, derived: &Derived<'_>) -> Vec<AgendaItem> {
    derived
        .agenda()
        .into_iter()
        .map(|(affiliate, action)| item(project, derived, affiliate, action))
        .collect()
}

fn item(
    project: &Project,
    derived: &Derived<'_>,
    affiliate: &AffiliateState<'_>,
    action: NextAction,
) -> AgendaItem {
    let urgency = derived.week.urgency(action.due);
    let has_template = project
        .email_templates
        .iter()
        .any(|t| t.kind == action.kind);
    let referral = affiliate.referral;
    AgendaItem {
        id: referral.id.clone(),
        name: referral.name.clone(),
        program: affiliate.program.id.clone(),
        stage: affiliate.status.stage,
        kind: action.kind,
        due: action.due,
        overdue: urgency == Urgency::Overdue,
        reason: why_now(affiliate, action, &project.config.rules, derived.as_of),
        email: (urgency.is_this_week() && has_template)
            .then(|| eml_path(&referral.id, action.kind)),
        program_name: affiliate.program.name.clone(),
        urgency,
    }
}

/// Terminal colours, or none.
#[derive(Debug, Clone, Copy)]
struct Style {
    color: bool,
}

impl Style {
    /// Colour only on a terminal, and never with `NO_COLOR` set.
    fn detect() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            color: std::io::stdout().is_terminal() && !no_color,
        }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// The agenda as terminal text: a heading, then a section per urgency.
fn show(
    derived: &Derived<'_>,
    items: &[AgendaItem],
    emails_in: Option<&Path>,
    style: Style,
) -> String {
    let week = &derived.week;
    let mut out = format!(
        "{} {} ({} to {}), as of {}\n",
        style.paint("1", "Week"),
        week.label,
        week.start,
        week.end,
        derived.as_of
    );
    let sections = [
        (Urgency::Overdue, "Overdue", "1;31"),
        (Urgency::Due, "Due this week", "1;33"),
        (Urgency::Upcoming, "Coming up", "1;2"),
    ];
    for (urgency, title, color) in sections {
        let listed: Vec<&AgendaItem> = items.iter().filter(|i| i.urgency == urgency).collect();
        if listed.is_empty() {
            continue;
        }
        out.push('\n');
        out.push_str(&style.paint(color, &format!("{title} ({})", listed.len())));
        out.push('\n');
        for item in listed {
            out.push_str(&entry(item, derived.as_of, emails_in, style));
        }
    }
    let this_week: Vec<&str> = items
        .iter()
        .filter(|i| i.urgency.is_this_week())
        .map(|i| i.id.as_str())
        .collect();
    out.push('\n');
    if this_week.is_empty() {
        out.push_str("Nothing is due this week.\n");
    } else {
        let _ = writeln!(
            out,
            "Once sent, record them: affrel done {}",
            this_week.join(" ")
        );
    }
    out
}

/// Two lines: when and what for whom, then why and the email file in `emails_in`.
fn entry(item: &AgendaItem, as_of: NaiveDate, emails_in: Option<&Path>, style: Style) -> String {
    let late = (as_of - item.due).num_days();
    let when = match item.urgency {
        Urgency::Overdue => style.paint(
            "31",
            &format!("{}, {} late", item.due, plural(late, "day", "days")),
        ),
        Urgency::Due if late == 0 => format!("{}, today", item.due),
        Urgency::Due if late > 0 => format!("{}, {} ago", item.due, plural(late, "day", "days")),
        _ => item.due.to_string(),
    };
    let mut out = format!(
        "  {}  {} ({}): {}\n      {}",
        when,
        style.paint("1", &item.name),
        item.program_name,
        action_step(item.kind),
        item.reason
    );
    if let (Some(email), Some(folder)) = (&item.email, emails_in) {
        let file = folder.join(email);
        let _ = write!(out, " · {}", style.paint("2", &file.display().to_string()));
    }
    out.push('\n');
    out
}
