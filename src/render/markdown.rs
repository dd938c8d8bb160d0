//! Markdown text → HTML: the one place pulldown-cmark is configured.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

/// Renders an email body to HTML. Raw HTML in the Markdown is shown as text, never passed
/// through: an HTML block becomes a paragraph of its lines. Single line breaks are kept, as
/// a reader of a plain-text email expects.
pub fn to_html(markdown: &str) -> String {
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    let mut events = Vec::new();
    let mut html_block: Option<String> = None;
    for event in Parser::new_ext(markdown, options) {
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
    use super::{escape, to_html};

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
