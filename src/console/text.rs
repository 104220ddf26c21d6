//! Stored text made inert before it reaches the terminal: names come from blueprints, the HTTP
//! API and other processes, so an escape sequence or a bidi override in one must never be
//! interpreted by the terminal or reorder what the admin reads.

/// Replaces control characters with caret notation (`ESC` -> `^[`) and invisible or
/// direction-changing characters with U+FFFD, so every character drawn is visible and inert.
pub fn inert(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\u{0}'..='\u{1f}' => {
                out.push('^');
                out.push(char::from((c as u8) ^ 0x40));
            }
            '\u{7f}' => out.push_str("^?"),
            c if is_hidden(c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// C1 controls, bidi embeddings/overrides/isolates and marks, and zero-width characters that
/// could hide or reorder text.
fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{80}'..='\u{9f}'
        | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2069}'
        | '\u{061c}'
        | '\u{feff}'
    )
}

/// Shortens `s` to at most `width` characters, marking the cut with `..`.
pub fn ellipsize(s: &str, width: usize) -> String {
    let count = s.chars().count();
    if count <= width {
        return s.to_string();
    }
    if width <= 2 {
        return s.chars().take(width).collect();
    }
    let mut out: String = s.chars().take(width - 2).collect();
    out.push_str("..");
    out
}

/// Shortens `s` to at most `width` characters by cutting out its middle, so identifiers that
/// share a long prefix (`default-provider-authorization-…`) stay distinguishable.
pub fn ellipsize_middle(s: &str, width: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= width {
        return s.to_string();
    }
    if width <= 4 {
        return ellipsize(s, width);
    }
    let tail = (width - 2) / 2;
    let head = width - 2 - tail;
    let mut out: String = chars[..head].iter().collect();
    out.push_str("..");
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// Breaks `text` into lines of at most `width` characters: at its newlines, then at the last
/// space that fits, else mid-word (a secret or a URL has no spaces). Nothing is dropped but the
/// spaces a line breaks at.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut rest: Vec<char> = para.chars().collect();
        if rest.is_empty() {
            out.push(String::new());
        }
        while !rest.is_empty() {
            if rest.len() <= width {
                out.push(rest.iter().collect());
                break;
            }
            let cut = rest[..=width]
                .iter()
                .rposition(|c| *c == ' ')
                .filter(|&i| i > 0);
            let (line, skip) = match cut {
                Some(i) => (rest[..i].iter().collect::<String>(), i + 1),
                None => (rest[..width].iter().collect::<String>(), width),
            };
            out.push(line);
            rest.drain(..skip);
        }
    }
    out
}

/// `YYYY-MM-DD HH:MM` in UTC, or `-` for a time that cannot be shown.
pub fn datetime(unix: i64) -> String {
    format_unix(unix, true)
}

/// `YYYY-MM-DD` in UTC, or `-` for a time that cannot be shown.
pub fn date(unix: i64) -> String {
    format_unix(unix, false)
}

fn format_unix(unix: i64, with_time: bool) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(unix) else {
        return "-".into();
    };
    let d = t.date();
    let mut s = format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    if with_time {
        s.push_str(&format!(" {:02}:{:02}", t.hour(), t.minute()));
    }
    s
}

/// "yes" or "no", as authentik's lists spell booleans.
pub fn yes_no(b: bool) -> String {
    if b { "yes".into() } else { "no".into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_made_visible() {
        assert_eq!(inert("a\u{1b}[2Jb"), "a^[[2Jb");
        assert_eq!(inert("x\u{202e}y"), "x\u{fffd}y");
        assert_eq!(inert("tab\there"), "tab^Ihere");
        assert_eq!(inert("del\u{7f}"), "del^?");
        assert_eq!(inert("grüße"), "grüße");
    }

    #[test]
    fn ellipsize_cuts_long_text() {
        assert_eq!(ellipsize("abcdef", 4), "ab..");
        assert_eq!(ellipsize("abc", 4), "abc");
        assert_eq!(ellipsize_middle("abcdefghij", 6), "ab..ij");
        assert_eq!(ellipsize_middle("abc", 6), "abc");
    }

    #[test]
    fn wrap_breaks_at_spaces_then_mid_word_and_keeps_every_character() {
        assert_eq!(wrap("one two three", 7), vec!["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\n\nb", 10), vec!["a", "", "b"]);
        let secret = "x".repeat(128);
        assert_eq!(wrap(&secret, 50).concat(), secret);
    }

    #[test]
    fn dates_format_in_utc() {
        assert_eq!(datetime(0), "1970-01-01 00:00");
        assert_eq!(date(86_400), "1970-01-02");
    }
}
