//! Email templates + the actions due this week → subject, plain text, HTML and a complete
//! RFC 5322 message for each, in memory.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

use chrono::NaiveDate;
use email_encoding::headers::rfc2047;
use email_encoding::headers::writer::EmailWriter;
use lettre::address::Envelope;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tera::{Context, Tera};

use crate::diagnostic::{Diagnostic, Diagnostics, Location, WarningKind};
use crate::model::{ActionKind, Config, EmailTemplate, Program, Referral, Sender};
use crate::money::cents;
use crate::render::{hex, markdown, template_help};
use crate::stages::{AffiliateState, Derived, NextAction, Reason};

/// The compiled email templates, one per action kind that has a file.
pub struct EmailTemplates<'a> {
    /// Subjects and bodies, values printed as they are: the plain-text part.
    plain: Tera,
    /// The bodies again, every printed string Markdown-escaped: the source of the HTML part.
    /// Escaping at print time, not in the context, keeps comparisons and filters in the
    /// template seeing the real values, so both parts take the same branches.
    markdown: Tera,
    by_kind: BTreeMap<ActionKind, &'a EmailTemplate>,
    /// Who every email is from: the template context's `sender`.
    sender: &'a Sender,
    /// The sender as a `From` mailbox, read once for every email; or why it is unusable.
    from: Result<Mailbox, String>,
}

/// One email, ready to write.
#[derive(Debug)]
pub struct RenderedEmail {
    pub id: String,
    pub kind: ActionKind,
    pub to_name: String,
    pub to_email: String,
    pub subject: String,
    pub due: NaiveDate,
    /// The Markdown body as rendered: the plain-text part.
    pub text: String,
    /// The body rendered to HTML: the HTML part, safe to embed in a page.
    pub html: String,
    /// The complete message, `X-Unsent: 1`.
    pub eml: Vec<u8>,
    /// Its Message-ID, `<…>`.
    pub message_id: String,
    /// A `mailto:` link with subject and body filled in.
    pub mailto: String,
    /// `Subject: …`, a blank line, then the body: the `.txt` file, and what the copy buttons
    /// copy.
    pub copy_text: String,
}

impl RenderedEmail {
    /// The `.eml` path relative to the output folder.
    pub fn eml_path(&self) -> String {
        eml_path(&self.id, self.kind)
    }

    /// The `.txt` path relative to the output folder.
    pub fn txt_path(&self) -> String {
        format!("emails/{}--{}.txt", self.id, self.kind)
    }
}

/// The `.eml` path of a referral's email for an action, relative to the output folder.
pub fn eml_path(id: &str, kind: ActionKind) -> String {
    format!("emails/{id}--{kind}.eml")
}

/// What the rest of the site needs of the emails once they are written: which actions got
/// one, and its copy-paste text. Found by referral id and action kind.
#[derive(Debug, Default)]
pub struct WrittenEmails {
    /// By referral id: a referral has at most one action at a time.
    by_id: BTreeMap<String, (ActionKind, String)>,
}

impl WrittenEmails {
    /// Records that `email` was written, keeping only what the rest of the site needs.
    pub fn record(&mut self, email: RenderedEmail) {
        self.by_id.insert(email.id, (email.kind, email.copy_text));
    }

    /// Adds the emails another part of the build wrote.
    pub fn extend(&mut self, other: WrittenEmails) {
        self.by_id.extend(other.by_id);
    }

    /// The `Subject: …` and body of the email written for a referral's action, if any.
    pub fn copy_text(&self, id: &str, kind: ActionKind) -> Option<&str> {
        self.by_id
            .get(id)
            .filter(|(written, _)| *written == kind)
            .map(|(_, text)| text.as_str())
    }

    /// The `.eml` path of the email written for a referral's action, if any.
    pub fn eml_path(&self, id: &str, kind: ActionKind) -> Option<String> {
        self.copy_text(id, kind).map(|_| eml_path(id, kind))
    }

    /// How many emails were written.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }
}

/// What an email template sees; DESIGN's "Email templates" context. Borrowed from the
/// records: it lives only while one email is rendered.
#[derive(Serialize)]
struct EmailContext<'a> {
    affiliate: AffiliateFields<'a>,
    program: ProgramFields<'a>,
    sender: SenderFields<'a>,
    action: ActionFields,
    as_of: NaiveDate,
    week: &'a str,
}

#[derive(Serialize)]
struct AffiliateFields<'a> {
    id: &'a str,
    name: &'a str,
    first_name: &'a str,
    email: &'a str,
    motivation: Option<&'a str>,
    referred_on: NaiveDate,
    first_sale_on: Option<NaiveDate>,
    sales: usize,
    tags: &'a [String],
    minutes_invested: u64,
    estimated_residual: f64,
}

#[derive(Serialize)]
struct ProgramFields<'a> {
    id: &'a str,
    name: &'a str,
    url: Option<&'a str>,
}

#[derive(Serialize)]
struct SenderFields<'a> {
    name: &'a str,
    email: &'a str,
    signature: &'a str,
}

#[derive(Serialize)]
struct ActionFields {
    kind: ActionKind,
    due: NaiveDate,
}

/// The facts an email is about, before any escaping.
struct EmailFacts<'a> {
    referral: &'a Referral,
    program: &'a Program,
    sender: &'a Sender,
    action: NextAction,
    sales: usize,
    first_sale_on: Option<NaiveDate>,
    minutes_invested: u64,
    estimated_residual: f64,
    as_of: NaiveDate,
    week: &'a str,
}

impl EmailFacts<'_> {
    /// The template context, values as they are in the records.
    fn context(&self) -> EmailContext<'_> {
        let r = self.referral;
        EmailContext {
            affiliate: AffiliateFields {
                id: &r.id,
                name: &r.name,
                first_name: r.first_name(),
                email: &r.email,
                motivation: r.motivation.as_deref(),
                referred_on: r.referred_on,
                first_sale_on: self.first_sale_on,
                sales: self.sales,
                tags: &r.tags,
                minutes_invested: self.minutes_invested,
                estimated_residual: cents(self.estimated_residual),
            },
            program: ProgramFields {
                id: &self.program.id,
                name: &self.program.name,
                url: self.program.url.as_deref(),
            },
            sender: SenderFields {
                name: &self.sender.name,
                email: &self.sender.email,
                signature: &self.sender.signature,
            },
            action: ActionFields {
                kind: self.action.kind,
                due: self.action.due,
            },
            as_of: self.as_of,
            week: self.week,
        }
    }
}

/// Tera's escape function for the Markdown bodies.
fn escape_markdown(text: &str, out: &mut dyn io::Write) -> io::Result<()> {
    out.write_all(markdown::escape(text).as_bytes())
}

fn subject_name(template: &EmailTemplate) -> String {
    format!("{} (subject)", template.path.display())
}

fn body_name(template: &EmailTemplate) -> String {
    template.path.display().to_string()
}

/// Compiles every email template and tries each once with a fully filled-in context, so
/// that syntax errors and undefined variables are reported before anything is due.
pub fn compile<'a>(
    templates: &'a [EmailTemplate],
    config: &'a Config,
    diagnostics: &mut Diagnostics,
) -> EmailTemplates<'a> {
    let mut plain = Tera::new();
    plain.autoescape_on(Vec::<&str>::new());
    let mut markdown = Tera::new();
    markdown.autoescape_on([""]);
    markdown.set_escape_fn(escape_markdown);
    let mut by_kind = BTreeMap::new();
    for template in templates {
        let misspelt = unknown_fields(template);
        let mut ok = misspelt.is_empty();
        diagnostics.extend(misspelt);
        // The subject is plain text; the body Markdown, its values escaped so that they
        // stay text (the plain-text part takes the escapes out again).
        let subject = plain.add_raw_template(&subject_name(template), &template.subject);
        let body = markdown.add_raw_template(&body_name(template), &template.body);
        for error in [subject.err(), body.err()].into_iter().flatten() {
            diagnostics.push(template_diagnostic(template, &error));
            ok = false;
        }
        if ok {
            by_kind.insert(template.kind, template);
        }
    }
    let compiled = EmailTemplates {
        plain,
        markdown,
        by_kind,
        sender: &config.sender,
        from: mailbox(&config.sender.name, &config.sender.email),
    };
    if let Some(program) = config.programs.values().next() {
        let sample = sample_referral();
        for template in compiled.by_kind.values() {
            let facts = EmailFacts {
                referral: &sample,
                program,
                sender: &config.sender,
                action: NextAction {
                    kind: template.kind,
                    due: sample.referred_on,
                    reason: Reason::Referred(sample.referred_on),
                },
                sales: 3,
                first_sale_on: Some(sample.referred_on),
                minutes_invested: 90,
                estimated_residual: 12.5,
                as_of: sample.referred_on,
                week: "2026-W01",
            };
            if let Err(problem) = compiled.render_parts(template, &facts) {
                diagnostics.push(problem);
            }
        }
    }
    compiled
}

/// A referral with every optional field filled, for trying templates out.
fn sample_referral() -> Referral {
    let day = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap_or_default();
    Referral {
        id: "sample".to_owned(),
        path: Path::new("sample.yaml").to_path_buf(),
        name: "Alex Sample".to_owned(),
        email: "alex@example.com".to_owned(),
        program: String::new(),
        referred_on: day,
        motivation: Some("Save for a trip".to_owned()),
        account: Some("alex-sample".to_owned()),
        tags: vec!["blogger".to_owned()],
        events: Vec::new(),
    }
}

/// The fields of each object in the email context (see [`EmailContext`]).
const CONTEXT_FIELDS: &[(&str, &[&str])] = &[
    (
        "affiliate",
        &[
            "id",
            "name",
            "first_name",
            "email",
            "motivation",
            "referred_on",
            "first_sale_on",
            "sales",
            "tags",
            "minutes_invested",
            "estimated_residual",
        ],
    ),
    ("program", &["id", "name", "url"]),
    ("sender", &["name", "email", "signature"]),
    ("action", &["kind", "due"]),
];

/// Reports every `object.field` in a template's tags that the context does not have, even in
/// a branch that no record takes yet, so that `check` catches it before a later week does.
fn unknown_fields(template: &EmailTemplate) -> Vec<Diagnostic> {
    let subject = misspelt_fields(&template.subject)
        .into_iter()
        .map(|(line, column, message)| {
            let column = if line == 1 {
                template.subject_location.column + column
            } else {
                column
            };
            (template.subject_location.line + line - 1, column, message)
        });
    let body = misspelt_fields(&template.body)
        .into_iter()
        .map(|(line, column, message)| (template.body_line + line - 1, column, message));
    subject
        .chain(body)
        .map(|(line, column, message)| {
            Diagnostic::error(&template.path, message)
                .at(line, column)
                .with_help("correct the field name; see the email context in README.md")
        })
        .collect()
}

/// (line, column, message) of each unknown context field inside `{{ }}` and `{% %}`.
fn misspelt_fields(text: &str) -> Vec<(usize, usize, String)> {
    let mut found = Vec::new();
    let mut offset = 0;
    while let Some(open) = text[offset..].find(['{']).map(|i| offset + i) {
        let closing = match text[open..].chars().nth(1) {
            Some('{') => "}}",
            Some('%') => "%}",
            _ => {
                offset = open + 1;
                continue;
            }
        };
        let end = text[open..].find(closing).map_or(text.len(), |i| open + i);
        for (at, object, field) in dotted_names(&text[open + 2..end]) {
            let Some((_, fields)) = CONTEXT_FIELDS.iter().find(|(name, _)| *name == object) else {
                continue;
            };
            if !fields.contains(&field) {
                // Point at the field itself, after `object.`.
                let at = open + 2 + at + object.len() + 1;
                let line = text[..at].matches('\n').count() + 1;
                let column = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
                let message = format!(
                    "`{object}` has no field `{field}`; its fields are {}",
                    fields
                        .iter()
                        .map(|f| format!("`{f}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                found.push((line, column, message));
            }
        }
        offset = end;
    }
    found
}

/// Each `name.field` in a tag's text, outside string literals: (offset of `name`, name, field).
fn dotted_names(tag: &str) -> Vec<(usize, &str, &str)> {
    let bytes = tag.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut names = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            quote @ (b'"' | b'\'') => {
                index += 1;
                while index < bytes.len() && bytes[index] != quote {
                    index += 1;
                }
                index += 1;
            }
            b if is_ident(b) && (index == 0 || bytes[index - 1] != b'.') => {
                let start = index;
                while index < bytes.len() && is_ident(bytes[index]) {
                    index += 1;
                }
                if bytes.get(index) == Some(&b'.') {
                    let field_start = index + 1;
                    let mut field_end = field_start;
                    while field_end < bytes.len() && is_ident(bytes[field_end]) {
                        field_end += 1;
                    }
                    if field_end > field_start {
                        names.push((start, &tag[start..index], &tag[field_start..field_end]));
                    }
                }
            }
            _ => index += 1,
        }
    }
    names
}

/// Turns a Tera error into a diagnostic located in the template's file.
fn template_diagnostic(template: &EmailTemplate, error: &tera::Error) -> Diagnostic {
    let (message, place) = match error.kind() {
        tera::ErrorKind::SyntaxError(report) | tera::ErrorKind::RenderingError(report) => {
            let span = report.span();
            (
                report.message().to_owned(),
                Some((
                    report.filename().to_owned(),
                    span.start_line,
                    span.start_col + 1,
                )),
            )
        }
        other => parse_report_text(&other.to_string()),
    };
    let location = place.map(|(name, line, column)| {
        if name == subject_name(template) {
            Location {
                line: template.subject_location.line + line - 1,
                column: if line == 1 {
                    template.subject_location.column + column
                } else {
                    column
                },
            }
        } else {
            Location {
                line: template.body_line + line - 1,
                column,
            }
        }
    });
    let help = template_help(
        &message,
        "fix the template; it can use `affiliate`, `program`, `sender`, `action`, `as_of` and `week` (see README.md)",
    );
    Diagnostic::error(&template.path, message)
        .at_location(location)
        .with_help(help)
}

/// Reads the message and `--> name:line:col` of a Tera report that is only available as
/// text (unknown filters, tests and functions).
fn parse_report_text(text: &str) -> (String, Option<(String, usize, usize)>) {
    let message = text
        .lines()
        .next()
        .unwrap_or(text)
        .trim_start_matches("error: ")
        .to_owned();
    let place = text.lines().find_map(|line| {
        let locus = line.trim_start().strip_prefix("--> ")?;
        let mut parts = locus.rsplitn(3, ':');
        let column = parts.next()?.parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        Some((parts.next()?.to_owned(), line, column))
    });
    (message, place)
}

impl EmailTemplates<'_> {
    /// Renders (subject, plain body, HTML body) for one email.
    fn render_parts(
        &self,
        template: &EmailTemplate,
        facts: &EmailFacts<'_>,
    ) -> Result<(String, String, String), Diagnostic> {
        let context = Context::from_serialize(&facts.context())
            .map_err(|err| Diagnostic::error(&template.path, err.to_string()))?;
        let render = |tera: &Tera, name: &str| {
            tera.render(name, &context)
                .map_err(|err| template_diagnostic(template, &err))
        };
        let subject = shorten_subject(&fold_header(&render(&self.plain, &subject_name(template))?));
        let html_source = render(&self.markdown, &body_name(template))?;
        let body = normalize_line_breaks(&markdown::to_plain_text(&html_source));
        Ok((subject, body, markdown::to_html(&html_source)))
    }

    /// The actions due by the end of the report week that have a template, in the order of
    /// the emails pages: due date, then file name. Kinds without a template get a warning
    /// each.
    pub fn due<'d, 'p>(
        &self,
        derived: &'d Derived<'p>,
        diagnostics: &mut Diagnostics,
    ) -> Vec<(&'d AffiliateState<'p>, NextAction)> {
        let due: Vec<(&AffiliateState<'_>, NextAction)> = derived.actions_this_week().collect();
        warn_missing_templates(&self.by_kind, &due, diagnostics);
        let mut due: Vec<(String, (&AffiliateState<'_>, NextAction))> = due
            .into_iter()
            .filter(|(_, action)| self.by_kind.contains_key(&action.kind))
            .map(|(affiliate, action)| {
                (
                    eml_path(&affiliate.referral.id, action.kind),
                    (affiliate, action),
                )
            })
            .collect();
        due.sort_by(|(a_path, (_, a)), (b_path, (_, b))| (a.due, a_path).cmp(&(b.due, b_path)));
        due.into_iter().map(|(_, pair)| pair).collect()
    }

    /// Renders the email for one action returned by [`EmailTemplates::due`].
    pub fn render(
        &self,
        derived: &Derived<'_>,
        affiliate: &AffiliateState<'_>,
        action: NextAction,
    ) -> Result<RenderedEmail, Diagnostic> {
        self.render_as_of(derived.as_of, &derived.week.label, affiliate, action)
    }

    /// Whether there is a template for this kind of action.
    pub fn has(&self, kind: ActionKind) -> bool {
        self.by_kind.contains_key(&kind)
    }

    /// Renders the email for one action as of a date, in its week.
    pub fn render_as_of(
        &self,
        as_of: NaiveDate,
        week: &str,
        affiliate: &AffiliateState<'_>,
        action: NextAction,
    ) -> Result<RenderedEmail, Diagnostic> {
        let template = self.by_kind.get(&action.kind).ok_or_else(|| {
            Diagnostic::error("content/emails", format!("no `{}` template", action.kind))
        })?;
        let facts = EmailFacts {
            referral: affiliate.referral,
            program: affiliate.program,
            sender: self.sender,
            action,
            sales: affiliate.sales,
            first_sale_on: affiliate.first_sale_on,
            minutes_invested: affiliate.minutes_invested,
            estimated_residual: affiliate.estimated_residual,
            as_of,
            week,
        };
        self.render_email(template, &facts)
    }

    fn render_email(
        &self,
        template: &EmailTemplate,
        facts: &EmailFacts<'_>,
    ) -> Result<RenderedEmail, Diagnostic> {
        let (subject, text, html) = self.render_parts(template, facts).map_err(|d| {
            let message = format!("{} (rendering for {})", d.message, facts.referral.id);
            Diagnostic { message, ..d }
        })?;
        let referral = facts.referral;
        let (eml, message_id) =
            build_message(&self.from, facts, &subject, &text, &html).map_err(|message| {
                Diagnostic::error(&referral.path, message)
                    .with_help("check the referral's name and email address")
            })?;
        Ok(RenderedEmail {
            id: referral.id.clone(),
            kind: facts.action.kind,
            due: facts.action.due,
            to_name: referral.name.clone(),
            to_email: referral.email.clone(),
            mailto: mailto(&referral.email, &subject, &text),
            copy_text: format!("Subject: {subject}\n\n{text}"),
            subject,
            text,
            html,
            eml,
            message_id,
        })
    }
}

fn warn_missing_templates(
    by_kind: &BTreeMap<ActionKind, &EmailTemplate>,
    due: &[(&AffiliateState<'_>, NextAction)],
    diagnostics: &mut Diagnostics,
) {
    let mut missing: BTreeMap<ActionKind, usize> = BTreeMap::new();
    for (_, action) in due {
        if !by_kind.contains_key(&action.kind) {
            *missing.entry(action.kind).or_default() += 1;
        }
    }
    for (kind, count) in missing {
        let path = Path::new("content")
            .join("emails")
            .join(format!("{kind}.md"));
        let plural = if count == 1 {
            "action gets"
        } else {
            "actions get"
        };
        diagnostics.push(
            Diagnostic::warning(
                WarningKind::MissingTemplate,
                &path,
                format!("no `{kind}` template: {count} due {plural} no email"),
            )
            .with_help(format!(
                "create {} to have these emails written",
                path.display()
            )),
        );
    }
}

/// Folds line breaks and other control characters to single spaces, so that nothing in a
/// value can start a new header line.
fn fold_header(value: &str) -> String {
    value
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The longest subject kept, in characters: far more than a mail client shows, and short
/// enough that no header line can pass RFC 5322's limit of 998 characters.
const MAX_SUBJECT_CHARS: usize = 200;

/// Cuts an overlong subject (say, a huge value from a record) at a word, marked with `…`.
fn shorten_subject(subject: &str) -> String {
    if subject.chars().count() <= MAX_SUBJECT_CHARS {
        return subject.to_owned();
    }
    let cut: String = subject.chars().take(MAX_SUBJECT_CHARS - 1).collect();
    let at_word = match cut.rfind(' ') {
        Some(space) if space > MAX_SUBJECT_CHARS / 2 => &cut[..space],
        _ => &cut,
    };
    format!("{at_word}…")
}

/// Turns CRLF and lone CRs (from a value such as `"a\rb"`) into LF: a bare CR is not
/// allowed in a message body, and the `.txt` should read the same on every system.
fn normalize_line_breaks(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// The Message-ID of the email that carries out this action: it names the action (the
/// referral, the kind, and how many events of that kind they already have), never its words,
/// its sender, its due date or the as-of date. Editing a template, the sender or the draft
/// keeps it, so `drafts` never adds a second draft for one action; doing the action moves
/// the next one of that kind to a new Message-ID.
fn action_message_id(facts: &EmailFacts<'_>) -> String {
    let completed = facts.action.kind.completed_by();
    let before = facts
        .referral
        .events
        .iter()
        .filter(|event| event.kind == completed && event.date <= facts.as_of)
        .count();
    let digest = Sha256::new()
        .chain_update(b"affrel action\0")
        .chain_update(&facts.referral.id)
        .chain_update([0])
        .chain_update(facts.action.kind.as_str())
        .chain_update([0])
        .chain_update(before.to_string())
        .finalize();
    format!("<{}@affrel.invalid>", &hex(&digest)[..32])
}

/// Builds the RFC 5322 message: From, To, Subject, a fixed Date, the action's Message-ID,
/// `X-Unsent: 1`, and text + HTML alternatives. Returns it and its Message-ID.
fn build_message(
    from: &Result<Mailbox, String>,
    facts: &EmailFacts<'_>,
    subject: &str,
    text: &str,
    html: &str,
) -> Result<(Vec<u8>, String), String> {
    let from = from.clone()?;
    let to = mailbox(&facts.referral.name, &facts.referral.email)?;
    let hash = hex(&Sha256::new()
        .chain_update(subject)
        .chain_update([0])
        .chain_update(text)
        .finalize());
    let html_document = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n{html}</body></html>\n"
    );
    let body = MultiPart::alternative()
        .boundary(format!("affrel-{}", &hash[..32]))
        .singlepart(SinglePart::plain(text.to_owned()))
        .singlepart(SinglePart::html(html_document));
    let message_id = action_message_id(facts);
    // Given, the envelope is not parsed back out of the headers just written.
    let envelope = Envelope::new(Some(from.email.clone()), vec![to.email.clone()])
        .map_err(|err| format!("cannot build the email: {err}"))?;
    let message = Message::builder()
        .envelope(envelope)
        .from(from)
        .to(to)
        .raw_header(subject_header(subject))
        .date(nine_am_utc(facts.as_of))
        .message_id(Some(message_id.clone()))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Unsent"),
            "1".to_owned(),
        ))
        .multipart(body)
        .map_err(|err| format!("cannot build the email: {err}"))?;
    Ok((message.formatted(), message_id))
}

/// The Subject header. A subject that contains `=?` is always encoded (RFC 2047): left as
/// it is, a value from a record could pose as an encoded word that mail clients decode.
fn subject_header(subject: &str) -> HeaderValue {
    let name = HeaderName::new_from_ascii_str("Subject");
    if !subject.contains("=?") {
        return HeaderValue::new(name, subject.to_owned());
    }
    let mut encoded = String::new();
    {
        let mut writer = EmailWriter::new(&mut encoded, "Subject: ".len(), 0, false);
        // Writing to a String cannot fail.
        let _ = rfc2047::encode(subject, &mut writer);
    }
    HeaderValue::dangerous_new_pre_encoded(name, subject.to_owned(), encoded)
}

fn mailbox(name: &str, email: &str) -> Result<Mailbox, String> {
    let address: Address = email
        .parse()
        .map_err(|err| format!("`{email}` is not a usable address: {err}"))?;
    Ok(Mailbox::new(Some(fold_header(name)), address))
}

/// D at 09:00 UTC, so that rebuilding the same week gives the same Date header.
fn nine_am_utc(date: NaiveDate) -> SystemTime {
    let seconds = date
        .and_hms_opt(9, 0, 0)
        .map_or(0, |moment| moment.and_utc().timestamp());
    let offset = Duration::from_secs(seconds.unsigned_abs());
    let moment = if seconds >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(offset)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(offset)
    };
    moment.unwrap_or(SystemTime::UNIX_EPOCH)
}

/// A `mailto:` URL (RFC 6068) with subject and body percent-encoded.
fn mailto(to: &str, subject: &str, body: &str) -> String {
    let body = body.replace("\r\n", "\n").replace('\n', "\r\n");
    format!(
        "mailto:{}?subject={}&body={}",
        percent_encode(to, b"@"),
        percent_encode(subject, b""),
        percent_encode(&body, b"")
    )
}

fn percent_encode(text: &str, keep: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) || keep.contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{
        MAX_SUBJECT_CHARS, fold_header, mailto, misspelt_fields, normalize_line_breaks,
        parse_report_text, shorten_subject, subject_header,
    };

    // A subject that looks like an encoded word is encoded itself, so that mail clients
    // show it as written instead of decoding it into something else.
    #[test]
    fn subjects_that_look_encoded_are_encoded() {
        let subject = "Welcome =?utf-8?q?=E2=80=AEevil?= Ana";
        let message = lettre::Message::builder()
            .from("sam@example.com".parse().unwrap())
            .to("ana@example.com".parse().unwrap())
            .raw_header(subject_header(subject))
            .body(String::new())
            .unwrap()
            .formatted();
        let text = String::from_utf8_lossy(&message);
        assert!(text.contains("Subject: =?utf-8?b?"), "{text}");
        let parsed = mail_parser::MessageParser::default()
            .parse_headers(&message)
            .unwrap();
        assert_eq!(parsed.subject(), Some(subject));
    }

    // Nothing from a record may start a new header line.
    #[test]
    fn header_values_fold_line_breaks() {
        assert_eq!(
            fold_header("Hi\r\nBcc: x@example.net\t!"),
            "Hi Bcc: x@example.net !"
        );
    }

    // A lone CR from a record never reaches a message body.
    #[test]
    fn body_line_breaks_become_lf() {
        assert_eq!(normalize_line_breaks("a\rb\r\nc\nd"), "a\nb\nc\nd");
    }

    // Mail clients fill subject and body from the link.
    #[test]
    fn mailto_percent_encodes_subject_and_body() {
        assert_eq!(
            mailto("a@example.com", "Hi & bye", "Line 1\nZoë"),
            "mailto:a@example.com?subject=Hi%20%26%20bye&body=Line%201%0D%0AZo%C3%AB"
        );
    }

    // A misspelt field is found in any branch, and its place is exact; strings are skipped.
    #[test]
    fn misspelt_context_fields_are_found_in_every_branch() {
        let text = "Hi {{ affiliate.first_name }},\n{% if \"affiliate.x\" in affiliate.tags %}{{ affiliate.bogus }}{% endif %} {{ program.nmae }}";
        let found: Vec<(usize, usize)> = misspelt_fields(text)
            .iter()
            .map(|(l, c, _)| (*l, *c))
            .collect();
        assert_eq!(found, [(2, 54), (2, 85)]);
    }

    // A huge value in a subject cannot make a header line longer than the RFC allows.
    #[test]
    fn overlong_subjects_are_cut() {
        let short = "How is it going, Zoë?";
        assert_eq!(shorten_subject(short), short);
        let word = "x".repeat(5000);
        let cut = shorten_subject(&format!("Hi {word}"));
        assert_eq!(cut.chars().count(), MAX_SUBJECT_CHARS);
        assert!(cut.ends_with('…'));
        let words = "word ".repeat(100);
        assert!(shorten_subject(&words).ends_with("word…"));
    }

    // Tera reports some errors only as text; their location is still found.
    #[test]
    fn reads_location_from_report_text() {
        let (message, place) =
            parse_report_text("error: Unknown filter `bad`\n --> content/emails/x.md:3:10\n  |");
        assert_eq!(message, "Unknown filter `bad`");
        assert_eq!(place, Some(("content/emails/x.md".to_owned(), 3, 10)));
    }
}
