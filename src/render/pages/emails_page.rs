//! The rendered emails → the emails pages, a bounded number of cards each, and their pager.

use chrono::NaiveDate;
use serde::Serialize;

use crate::render::format::action_label;

use crate::model::{ActionKind, Project};
use crate::render::emails::RenderedEmail;
use crate::stages::Derived;

/// Everything one emails page shows: `emails/index.html`, then `emails/page-2.html` and on,
/// [`EMAILS_PER_PAGE`] emails each.
#[derive(Serialize)]
pub struct EmailsPage<'a> {
    pub title: &'a str,
    pub week: &'a str,
    pub as_of: NaiveDate,
    /// This page's emails, oldest due first.
    pub emails: Vec<EmailCard<'a>>,
    /// The place of this page's first and last email among all `total`, counting from 1.
    pub first: usize,
    pub last: usize,
    pub total: usize,
    /// The kinds of this page's emails, in the method's order, each with how many there are.
    pub kinds: Vec<KindCount>,
    pub pager: Pager,
}

/// How many emails of one kind the emails page shows.
#[derive(Serialize)]
pub struct KindCount {
    pub kind: ActionKind,
    pub label: &'static str,
    pub count: usize,
}

/// One email on the emails page.
#[derive(Serialize)]
pub struct EmailCard<'a> {
    /// `Name <address>`.
    pub to: String,
    pub to_name: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// The HTML part, built from escaped values: safe to embed.
    pub html: &'a str,
    pub due: NaiveDate,
    pub kind: ActionKind,
    pub kind_label: &'static str,
    /// The card's element id: `email-<id>--<kind>`, a valid HTML id for any referral id.
    pub anchor: String,
    /// The command that records this email as sent: `affrel done <id>`.
    pub done_command: String,
    pub eml: String,
    pub txt: String,
    pub mailto: &'a str,
    pub copy_text: &'a str,
}

/// Most emails on one emails page; more go on further pages.
pub const EMAILS_PER_PAGE: usize = 100;

/// The file of emails page `page` (counting from 1), relative to `emails/`.
pub fn emails_page_file(page: usize) -> String {
    if page <= 1 {
        "index.html".to_owned()
    } else {
        format!("page-{page}.html")
    }
}

impl<'a> EmailsPage<'a> {
    /// Lays out one emails page: `emails` in order, on page `pager.page` of `total` emails.
    pub fn new(
        project: &'a Project,
        derived: &'a Derived<'_>,
        emails: &'a [RenderedEmail],
        total: usize,
        pager: Pager,
    ) -> Self {
        let cards: Vec<EmailCard<'a>> = emails
            .iter()
            .map(|email| EmailCard {
                to: format!("{} <{}>", email.to_name, email.to_email),
                to_name: &email.to_name,
                kind_label: action_label(email.kind),
                subject: &email.subject,
                body: &email.text,
                html: &email.html,
                due: email.due,
                kind: email.kind,
                anchor: format!("email-{}--{}", email.id, email.kind),
                done_command: format!("affrel done {}", email.id),
                eml: email.eml_path().trim_start_matches("emails/").to_owned(),
                txt: email.txt_path().trim_start_matches("emails/").to_owned(),
                mailto: &email.mailto,
                copy_text: &email.copy_text,
            })
            .collect();
        let kinds = ActionKind::ALL
            .iter()
            .map(|&kind| KindCount {
                kind,
                label: action_label(kind),
                count: cards.iter().filter(|card| card.kind == kind).count(),
            })
            .filter(|k| k.count > 0)
            .collect();
        let first = (pager.page - 1) * EMAILS_PER_PAGE + 1;
        Self {
            title: &project.config.report.title,
            week: &derived.week.label,
            as_of: derived.as_of,
            first,
            last: first + cards.len().saturating_sub(1),
            total,
            emails: cards,
            kinds,
            pager,
        }
    }
}

/// Links between the pages of a long list: the first and last page, and those near this one.
#[derive(Serialize)]
pub struct Pager {
    /// This page, counting from 1.
    pub page: usize,
    pub pages: usize,
    pub previous: Option<String>,
    pub next: Option<String>,
    pub links: Vec<PageLink>,
}

/// One numbered link of a [`Pager`].
#[derive(Serialize)]
pub struct PageLink {
    pub number: usize,
    pub href: String,
    pub current: bool,
    /// Whether pages are skipped between the previous link and this one.
    pub gap_before: bool,
}

/// How many pages either side of this one get a numbered link.
const PAGER_NEIGHBOURS: usize = 2;

impl Pager {
    /// The links from page `page` of `pages`, each page's file named by `file`.
    pub fn new(page: usize, pages: usize, file: impl Fn(usize) -> String) -> Self {
        // A gap of a single page would hide no more than its own link: list that page.
        let next_to_end = |number: usize| number == 2 || number + 1 == pages;
        let listed = |number: usize| {
            number == 1
                || number == pages
                || number.abs_diff(page) <= PAGER_NEIGHBOURS + usize::from(next_to_end(number))
        };
        let mut links = Vec::new();
        let mut last_listed = 0;
        for number in 1..=pages {
            if listed(number) {
                links.push(PageLink {
                    number,
                    href: file(number),
                    current: number == page,
                    gap_before: number > last_listed + 1,
                });
                last_listed = number;
            }
        }
        Self {
            page,
            pages,
            previous: (page > 1).then(|| file(page - 1)),
            next: (page < pages).then(|| file(page + 1)),
            links,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pager's numbered links as text: `[3]` for this page, `…` for a gap.
    fn shown(page: usize, pages: usize) -> String {
        Pager::new(page, pages, emails_page_file)
            .links
            .iter()
            .map(|link| {
                let number = if link.current {
                    format!("[{}]", link.number)
                } else {
                    link.number.to_string()
                };
                if link.gap_before {
                    format!("… {number}")
                } else {
                    number
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn pager_lists_the_ends_and_the_neighbours_and_never_hides_a_single_page() {
        assert_eq!(shown(1, 1), "[1]");
        assert_eq!(shown(1, 7), "[1] 2 3 … 7");
        assert_eq!(shown(3, 7), "1 2 [3] 4 5 6 7");
        assert_eq!(shown(4, 9), "1 2 3 [4] 5 6 … 9");
        assert_eq!(shown(9, 9), "1 … 7 8 [9]");
        assert_eq!(shown(50, 100), "1 … 48 49 [50] 51 52 … 100");
    }

    #[test]
    fn pager_links_name_the_files_of_the_neighbouring_pages() {
        let pager = Pager::new(2, 3, emails_page_file);
        assert_eq!(pager.previous.as_deref(), Some("index.html"));
        assert_eq!(pager.next.as_deref(), Some("page-3.html"));
        let first = Pager::new(1, 3, emails_page_file);
        assert_eq!(
            (first.previous, first.next.as_deref()),
            (None, Some("page-2.html"))
        );
    }
}
