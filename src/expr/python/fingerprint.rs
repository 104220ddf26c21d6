//! Recognising a well-known expression (authentik's managed defaults) without keeping its text:
//! a SHA-256 over the text with comment-only and blank lines dropped and line ends trimmed.
//! Neither changes what Python runs, so two texts with one fingerprint behave the same, and
//! latchkey can hold a fingerprint of authentik's text where a copy would not belong.

use sha2::{Digest, Sha256};

/// The text's lines that Python runs: no blank or comment-only lines, no trailing spaces.
fn meaningful_lines(text: &str) -> String {
    text.lines()
        .map(str::trim_end)
        .filter(|l| {
            let t = l.trim_start();
            !t.is_empty() && !t.starts_with('#')
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The hex SHA-256 of the expression's meaningful lines.
pub fn fingerprint(text: &str) -> String {
    sha256_hex(&meaningful_lines(text))
}

/// Lower-case hex SHA-256 of `text`.
pub(crate) fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_blank_lines_and_line_ends_do_not_count() {
        let a = "# a comment\n\nreturn {\n    \"x\": 1,   \n    # another\n}\n";
        let b = "return {\n    \"x\": 1,\n}";
        assert_eq!(fingerprint(a), fingerprint(b));
    }

    #[test]
    fn code_and_indentation_do() {
        let base = fingerprint("if x:\n    return 1\nreturn 2");
        assert_ne!(base, fingerprint("if x:\n    return 1\n    return 2"));
        assert_ne!(base, fingerprint("if x:\n    return 1\nreturn 3"));
        // A '#' inside code stays: only whole-line comments go.
        assert_ne!(fingerprint("return '#'"), fingerprint("return ''"));
    }

    #[test]
    fn the_empty_mapping() {
        assert_eq!(
            fingerprint("return {}"),
            "7df8f0cd9e1cd0b204a760783671c0ccca4a3258dc7c51f59e9e2295c6c25315"
        );
    }
}
