//! Markdown text → HTML: the one place pulldown-cmark is configured.

use pulldown_cmark::{Event, Options, Parser, html};

/// Renders an email body to HTML. Raw HTML in the Markdown is shown as text, never passed
/// through, and single line breaks are kept, as a reader of a plain-text email expects.
pub fn to_html(markdown: &str) -> String {
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::SoftBreak => Event::HardBreak,
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
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
