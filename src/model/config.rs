//! `content/config.yaml` as loaded → the validated [`Config`], every problem located.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::diagnostic::Diagnostics;
use crate::load::{
    CONFIG_KEYS, CaFile, Field, IMPORT_KEYS, Key, Loaded, PROGRAM_KEYS, REPORT_KEYS, RULES_KEYS,
    RawConfig, RawImport, RawProgram, RawReport, RawRules, RawSender, SENDER_KEYS,
};

use super::check::FileCheck;
use super::mail::validate_mail;
use super::text::{is_slug, is_spoofing_character};
use super::{Config, ImportMapping, Program, ReportSettings, Rules, Sender};

/// The programs as written in the config, for checking referrals even when something else
/// in the config is wrong, so that one run reports every problem.
pub(super) struct ProgramIndex {
    /// Valid program ids, sorted.
    pub(super) ids: Vec<String>,
    /// The ids of programs with a `residual_rate`.
    pub(super) with_rate: Vec<String>,
}

impl ProgramIndex {
    pub(super) fn new(config: Option<&Loaded<RawConfig>>) -> Option<Self> {
        let Some(Field::Valid(programs)) = config.and_then(|c| c.value.programs.as_ref()) else {
            return None;
        };
        let id = |program: &RawProgram| match &program.id {
            Some(Field::Valid(id)) if is_slug(id) => Some(id.clone()),
            _ => None,
        };
        let mut ids: Vec<String> = programs.iter().filter_map(id).collect();
        ids.sort();
        ids.dedup();
        let with_rate = programs
            .iter()
            .filter(|p| matches!(p.residual_rate, Some(Field::Valid(_))))
            .filter_map(id)
            .collect();
        (!ids.is_empty()).then_some(Self { ids, with_rate })
    }
}

pub(super) fn validate_config(
    loaded: &Loaded<RawConfig>,
    ca_file: Option<&CaFile>,
    diagnostics: &mut Diagnostics,
) -> Option<Config> {
    let mut check = FileCheck::new(&loaded.source);
    let raw = &loaded.value;
    check.unknown_keys(&[], &raw.unknown, CONFIG_KEYS);
    let sender = check
        .required(
            &[Key::Field("sender")],
            raw.sender.as_ref(),
            "a block with `name:` and `email:` (the emails are sent from it)",
        )
        .and_then(|sender| validate_sender(&mut check, sender));
    let programs = check
        .required(
            &[Key::Field("programs")],
            raw.programs.as_ref(),
            "a list of programs, each with `id`, `name` and `residual_commissions`",
        )
        .map(|programs| validate_programs(&mut check, programs))
        .unwrap_or_default();
    let rules = check.optional(
        &[Key::Field("rules")],
        raw.rules.as_ref(),
        "a block of rules",
    );
    let rules = rules.map_or_else(Rules::default, |rules| validate_rules(&mut check, rules));
    let report = check.optional(
        &[Key::Field("report")],
        raw.report.as_ref(),
        "a block of report settings",
    );
    let report = validate_report(&mut check, report);
    let mail = check.optional(
        &[Key::Field("mail")],
        raw.mail.as_ref(),
        "a block with `imap:` and `smtp:`",
    );
    let sender_email = sender.as_ref().map(|s| s.email.as_str());
    let mail = mail.map(|mail| validate_mail(&mut check, mail, sender_email, ca_file));
    let config = sender.map(|sender| Config {
        sender,
        programs,
        rules,
        report,
        mail,
    });
    let (config, problems) = check.finish(config);
    diagnostics.extend(problems);
    config
}

fn validate_sender(check: &mut FileCheck<'_>, raw: &RawSender) -> Option<Sender> {
    let at = |key| [Key::Field("sender"), Key::Field(key)];
    check.unknown_keys(&[Key::Field("sender")], &raw.unknown, SENDER_KEYS);
    let name = check.required(
        &at("name"),
        raw.name.as_ref(),
        "your name, as emails show it",
    );
    let name = name.map(|name| check.text_line(&at("name"), "sender name", name));
    let email = check.required(&at("email"), raw.email.as_ref(), "your email address");
    let email = email.map(|email| check.email(&at("email"), email));
    let signature = check.optional(&at("signature"), raw.signature.as_ref(), "text");
    if let Some(signature) = signature {
        check.no_invisible(
            &at("signature"),
            "signature",
            signature,
            is_spoofing_character,
        );
    }
    let name = name?;
    Some(Sender {
        signature: signature.cloned().unwrap_or_else(|| name.clone()),
        name,
        email: email?,
    })
}

fn validate_programs(check: &mut FileCheck<'_>, raw: &[RawProgram]) -> BTreeMap<String, Program> {
    if raw.is_empty() {
        check.error(
            &[Key::Field("programs")],
            "no programs are configured",
            "add at least one entry under `programs:` with `id`, `name` and `residual_commissions`",
        );
    }
    let mut programs = BTreeMap::new();
    for (index, program) in raw.iter().enumerate() {
        let block = [Key::Field("programs"), Key::Item(index)];
        let at = |key| [Key::Field("programs"), Key::Item(index), Key::Field(key)];
        check.unknown_keys(&block, &program.unknown, PROGRAM_KEYS);
        let id = check.required(&at("id"), program.id.as_ref(), "a short id such as `acme`");
        if let Some(id) = id
            && !is_slug(id)
        {
            check.error(
                &at("id"),
                format!("the program id `{id}` is not a valid id"),
                "use lowercase letters, digits, `-` and `_`, starting with a letter or digit",
            );
        }
        let name = check.required(&at("name"), program.name.as_ref(), "the program's name");
        let name = name.map(|name| check.text_line(&at("name"), "program name", name));
        let url = check.optional(&at("url"), program.url.as_ref(), "a web address");
        let url = url.map(|url| url.trim().to_owned());
        if let Some(url) = &url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            check.error(
                &at("url"),
                format!("`{url}` is not a web address"),
                "write a URL starting with `https://`",
            );
        }
        let residual = check.required(
            &at("residual_commissions"),
            program.residual_commissions.as_ref(),
            "`true` or `false`: does the program pay you a share of their sales?",
        );
        let rate = check
            .optional(
                &at("residual_rate"),
                program.residual_rate.as_ref(),
                "a number from 0 to 1",
            )
            .copied();
        if let Some(rate) = rate
            && !(0.0..=1.0).contains(&rate)
        {
            check.error(
                &at("residual_rate"),
                format!("the residual rate {rate} is not between 0 and 1"),
                "write your share of their sales as a fraction, e.g. 0.10 for 10%",
            );
        }
        let import = check
            .optional(
                &at("import"),
                program.import.as_ref(),
                "a block naming the columns of the program's sales export",
            )
            .and_then(|raw| validate_import(check, index, raw));
        let (Some(id), Some(name), Some(&residual_commissions)) = (id, name, residual) else {
            continue;
        };
        let validated = Program {
            id: id.clone(),
            name,
            url,
            residual_commissions,
            residual_rate: rate,
            import,
        };
        if programs.insert(id.clone(), validated).is_some() {
            check.error(
                &at("id"),
                format!("the program id `{id}` is used twice"),
                "give each program its own id",
            );
        }
    }
    programs
}

fn validate_import(
    check: &mut FileCheck<'_>,
    index: usize,
    raw: &RawImport,
) -> Option<ImportMapping> {
    let block = [
        Key::Field("programs"),
        Key::Item(index),
        Key::Field("import"),
    ];
    let at = |key| {
        [
            Key::Field("programs"),
            Key::Item(index),
            Key::Field("import"),
            Key::Field(key),
        ]
    };
    check.unknown_keys(&block, &raw.unknown, IMPORT_KEYS);
    let mut column = |key: &'static str, field: Option<&Field<String>>, required: bool| {
        let shape = "the name of a column in the export's header line";
        let name = if required {
            check.required(&at(key), field, shape)
        } else {
            check.optional(&at(key), field, shape)
        };
        name.map(|name| check.text_line(&at(key), "column name", name))
    };
    let referral = column("referral", raw.referral.as_ref(), true);
    let date = column("date", raw.date.as_ref(), true);
    let amount = column("amount", raw.amount.as_ref(), false);
    let reference = column("ref", raw.reference.as_ref(), false);
    let date_format = check
        .optional(
            &at("date_format"),
            raw.date_format.as_ref(),
            "a date format such as \"%m/%d/%Y\"",
        )
        .cloned()
        .unwrap_or_else(|| "%Y-%m-%d".to_owned());
    if !is_date_format(&date_format) {
        check.error(
            &at("date_format"),
            format!("`{date_format}` is not a date format that names a year, a month and a day"),
            "write it with chrono's `%` codes, e.g. \"%m/%d/%Y\" for 09/25/2026 or \"%d.%m.%Y\" for 25.09.2026",
        );
    }
    Some(ImportMapping {
        referral: referral?,
        date: date?,
        date_format,
        amount,
        reference,
    })
}

/// Whether `format` is a valid chrono format that can read a whole date.
fn is_date_format(format: &str) -> bool {
    use chrono::format::{Item, StrftimeItems};
    let items: Vec<Item<'_>> = StrftimeItems::new(format).collect();
    let Some(sample) = NaiveDate::from_ymd_opt(2026, 9, 25).and_then(|d| d.and_hms_opt(0, 0, 0))
    else {
        return false;
    };
    // Writing fails, rather than panics, for codes a date and time cannot fill (a zone).
    let mut written = String::new();
    !items.iter().any(|item| matches!(item, Item::Error))
        && std::fmt::Write::write_fmt(&mut written, format_args!("{}", sample.format(format)))
            .is_ok()
        && NaiveDate::parse_from_str(&written, format) == Ok(sample.date())
}

/// The largest rule value: a hundred years of days. Larger values could only mean "never",
/// and would push due dates past what dates can hold.
const MAX_RULE: u32 = 36_500;

fn validate_rules(check: &mut FileCheck<'_>, raw: &RawRules) -> Rules {
    let defaults = Rules::default();
    // Every rule is a whole number in 1..=MAX_RULE: day counts and the thriving sales count.
    check.unknown_keys(&[Key::Field("rules")], &raw.unknown, RULES_KEYS);
    let mut whole_number = |key: &str, value: Option<&Field<u32>>, default: i64| -> i64 {
        let shape = format!("a whole number from 1 to {MAX_RULE}");
        let keys = [Key::Field("rules"), Key::Field(key)];
        match check.optional(&keys, value, &shape).copied() {
            Some(value) if (1..=MAX_RULE).contains(&value) => i64::from(value),
            Some(value) => {
                check.error(
                    &[Key::Field("rules"), Key::Field(key)],
                    format!("`{key}` is {value}; expected a whole number from 1 to {MAX_RULE}"),
                    format!("leave the key out to use the default, {default}"),
                );
                default
            }
            None => default,
        }
    };
    Rules {
        nudge_after_days: whole_number(
            "nudge_after_days",
            raw.nudge_after_days.as_ref(),
            defaults.nudge_after_days,
        ),
        follow_up_after_days: whole_number(
            "follow_up_after_days",
            raw.follow_up_after_days.as_ref(),
            defaults.follow_up_after_days,
        ),
        quiet_after_days: whole_number(
            "quiet_after_days",
            raw.quiet_after_days.as_ref(),
            defaults.quiet_after_days,
        ),
        thriving_sales: whole_number(
            "thriving_sales",
            raw.thriving_sales.as_ref(),
            defaults.thriving_sales as i64,
        ) as usize,
        thriving_window_days: whole_number(
            "thriving_window_days",
            raw.thriving_window_days.as_ref(),
            defaults.thriving_window_days,
        ),
        congratulate_every_days: whole_number(
            "congratulate_every_days",
            raw.congratulate_every_days.as_ref(),
            defaults.congratulate_every_days,
        ),
        reply_window_days: reply_window(check, raw.reply_window_days.as_ref()),
    }
}

/// The longest reply window: a year.
const MAX_REPLY_WINDOW: u32 = 365;

/// `reply_window_days`, a whole number of days from 1 to [`MAX_REPLY_WINDOW`].
fn reply_window(check: &mut FileCheck<'_>, value: Option<&Field<u32>>) -> i64 {
    let default = Rules::default().reply_window_days;
    let keys = [Key::Field("rules"), Key::Field("reply_window_days")];
    let shape = format!("a whole number of days from 1 to {MAX_REPLY_WINDOW}");
    match check.optional(&keys, value, &shape).copied() {
        Some(days) if (1..=MAX_REPLY_WINDOW).contains(&days) => i64::from(days),
        Some(days) => {
            check.error(
                &keys,
                format!("`reply_window_days` is {days}; expected a whole number of days from 1 to {MAX_REPLY_WINDOW}"),
                format!("leave the key out to use the default, {default}"),
            );
            default
        }
        None => default,
    }
}

/// The most history weeks a report may chart: ten years.
const MAX_HISTORY_WEEKS: u32 = 520;

/// The most months of cohorts a report may show: ten years.
const MAX_COHORT_MONTHS: u32 = 120;

fn validate_report(check: &mut FileCheck<'_>, raw: Option<&RawReport>) -> ReportSettings {
    let at = |key| [Key::Field("report"), Key::Field(key)];
    let mut settings = ReportSettings {
        title: "Affiliate relationships".to_owned(),
        history_weeks: 12,
        cohort_months: 12,
        pseudonym_salt: None,
    };
    let Some(raw) = raw else {
        return settings;
    };
    check.unknown_keys(&[Key::Field("report")], &raw.unknown, REPORT_KEYS);
    if let Some(title) = check.optional(&at("title"), raw.title.as_ref(), "text") {
        settings.title = check.text_line(&at("title"), "report title", title);
    }
    let weeks_shape = format!("a whole number of weeks up to {MAX_HISTORY_WEEKS}");
    if let Some(&weeks) = check.optional(
        &at("history_weeks"),
        raw.history_weeks.as_ref(),
        &weeks_shape,
    ) {
        if weeks > MAX_HISTORY_WEEKS {
            check.error(
                &at("history_weeks"),
                format!("`history_weeks` is {weeks}, more than {MAX_HISTORY_WEEKS}"),
                "chart at most ten years of weeks",
            );
        }
        settings.history_weeks = weeks;
    }
    let months_shape = format!("a whole number of months from 1 to {MAX_COHORT_MONTHS}");
    if let Some(&months) = check.optional(
        &at("cohort_months"),
        raw.cohort_months.as_ref(),
        &months_shape,
    ) {
        if months == 0 || months > MAX_COHORT_MONTHS {
            check.error(
                &at("cohort_months"),
                format!("`cohort_months` is {months}, not from 1 to {MAX_COHORT_MONTHS}"),
                "show between one month and ten years of cohorts",
            );
        }
        settings.cohort_months = months.clamp(1, MAX_COHORT_MONTHS);
    }
    let salt = check.optional(
        &at("pseudonym_salt"),
        raw.pseudonym_salt.as_ref(),
        "a long random text",
    );
    settings.pseudonym_salt = salt.map(|salt| salt.trim().to_owned());
    if settings.pseudonym_salt.as_deref() == Some("") {
        check.error(
            &at("pseudonym_salt"),
            "`pseudonym_salt` is empty",
            "remove the key or set it to a long random string (`affrel init` writes one)",
        );
    }
    settings
}
