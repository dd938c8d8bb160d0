//! Markdown text → HTML: the one place pulldown-cmark is configured.

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, html};

/// The Markdown features email bodies use.
const OPTIONS: Options = Options::ENABLE_STRIKETHROUGH.union(Options::ENABLE_TABLES);

/// The plain-text part of an email from its Markdown with every value escaped (as
/// [`escape`] does): the template's own links become `text <url>` (or just the address when
/// the text is the address), and the escapes are taken out again, so each value reads
/// exactly as in its record, link syntax included, and no template link syntax is left.
pub fn to_plain_text(escaped_markdown: &str) -> String {
    let mut out = String::with_capacity(escaped_markdown.len());
    let mut copied = 0;
    let mut link: Option<(usize, String, String)> = None;
    for (event, range) in Parser::new_ext(escaped_markdown, OPTIONS).into_offset_iter() {
        match event {
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                ..
            }) if !matches!(link_type, LinkType::Autolink | LinkType::Email) => {
                link = Some((range.start, dest_url.into_string(), String::new()));
            }
            Event::Text(text) | Event::Code(text) => {
                if let Some((_, _, label)) = link.as_mut() {
                    label.push_str(&text);
                }
            }
            Event::End(TagEnd::Link) => {
                if let Some((start, url, label)) = link.take()
                    && start >= copied
                {
                    out.push_str(&unescape(&escaped_markdown[copied..start]));
                    if label.trim() != url && !label.trim().is_empty() {
                        out.push_str(&label);
                        out.push_str(" <");
                    }
                    out.push_str(&url);
                    if label.trim() != url && !label.trim().is_empty() {
                        out.push('>');
                    }
                    copied = range.end;
                }
            }
            _ => {}
        }
    }
    out.push_str(&unescape(&escaped_markdown[copied..]));
    out
}

/// Undoes [`escape`]: a backslash before ASCII punctuation is dropped.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    // Both bytes are ASCII, so every cut falls between characters.
    for (index, pair) in text.as_bytes().windows(2).enumerate() {
        if pair[0] == b'\\' && pair[1].is_ascii_punctuation() {
            out.push_str(&text[copied..index]);
            copied = index + 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Renders an email body to HTML. Raw HTML in the Markdown is shown as text, never passed
/// through: an HTML block becomes a paragraph of its lines. Single line breaks are kept, as
/// a reader of a plain-text email expects.
pub fn to_html(markdown: &str) -> String {
    let mut events = Vec::new();
    let mut html_block: Option<String> = None;
    for event in Parser::new_ext(markdown, OPTIONS) {
        match (event, html_block.as_mut()) {
            (Event::Start(Tag::HtmlBlock), _) => html_block = Some(String::new()),
            (Event::Html(raw), Some(block)) => block.push_str(&raw),
            (Event::End(TagEnd::HtmlBlock), _) => {
                let block = html_block.take().unwrap_or_default();
                events.push(Event::Start(Tag::Paragraph));
                for (index, line) in block.trim_end_matches('\n').split('\n').enumerate() {
                    if index > 0 {
                        events.push(Event::HardBreak);
                    }
                    events.push(Event::Text(CowStr::from(line.to_owned())));
                }
                events.push(Event::End(TagEnd::Paragraph));
            }
            (Event::Html(raw) | Event::InlineHtml(raw), _) => events.push(Event::Text(raw)),
            (Event::SoftBreak, _) => events.push(Event::HardBreak),
            (other, _) => events.push(other),
        }
    }
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events.into_iter());
    out
}

/// Backslash-escapes every ASCII punctuation character, so that a value inserted into
/// Markdown is read as literal text: no links, emphasis or HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    for c in text.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{escape, to_html, to_plain_text};

    // The plain-text part has no template link syntax: each link reads `text <url>`; a
    // value keeps its own text exactly, link syntax and backslashes included.
    #[test]
    fn plain_text_links_read_as_text_and_address() {
        assert_eq!(
            to_plain_text(
                "See [the partner dashboard](https://acme.example/partners), or <https://x.example>.\nBye"
            ),
            "See the partner dashboard <https://acme.example/partners>, or <https://x.example>.\nBye"
        );
        let value = escape("[click](javascript:alert(1)) a\\b <i>");
        assert_eq!(
            to_plain_text(&format!(
                "[https://a.example](https://a.example) and {value}"
            )),
            "https://a.example and [click](javascript:alert(1)) a\\b <i>"
        );
    }

    // Raw HTML written into a template or a value never reaches the HTML part as markup.
    #[test]
    fn raw_html_is_shown_as_text() {
        assert_eq!(
            to_html("<script>x</script>"),
            "<p>&lt;script&gt;x&lt;/script&gt;</p>\n"
        );
    }

    // A multi-line HTML block reads as a paragraph of its lines, as in the plain part.
    #[test]
    fn html_block_is_a_paragraph_of_text() {
        assert_eq!(
            to_html("Hi,\n\n<div>\n<b>bold</b>\n</div>\n\nBye"),
            "<p>Hi,</p>\n<p>&lt;div&gt;<br />\n&lt;b&gt;bold&lt;/b&gt;<br />\n&lt;/div&gt;</p>\n<p>Bye</p>\n"
        );
    }

    // Escaped values cannot form links or emphasis.
    #[test]
    fn escaped_values_stay_literal() {
        let html = to_html(&escape("[click](javascript:alert(1)) *bold* <b>"));
        assert_eq!(
            html,
            "<p>[click](javascript:alert(1)) *bold* &lt;b&gt;</p>\n"
        );
    }

    // Line breaks written in a template survive, as in the plain-text part.
    #[test]
    fn single_line_breaks_are_kept() {
        assert_eq!(to_html("Thanks,\nSam"), "<p>Thanks,<br />\nSam</p>\n");
    }
}
