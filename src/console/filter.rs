//! The `/` filter language, kept deliberately small and stable (k9s users rely on `a|b`):
//! case-insensitive substring, `!x` negates, `a|b` matches either alternative.

/// A parsed filter; the empty filter matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    alternatives: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    needle: String,
    negated: bool,
}

impl Filter {
    /// Parses what the user typed after `/`.
    pub fn parse(input: &str) -> Self {
        let alternatives = input
            .split('|')
            .map(str::trim)
            .filter(|t| !t.is_empty() && *t != "!")
            .map(|t| match t.strip_prefix('!') {
                Some(rest) => Term {
                    needle: rest.to_lowercase(),
                    negated: true,
                },
                None => Term {
                    needle: t.to_lowercase(),
                    negated: false,
                },
            })
            .collect();
        Self { alternatives }
    }

    /// True when nothing would be filtered out.
    pub fn is_empty(&self) -> bool {
        self.alternatives.is_empty()
    }

    /// Does a row whose searchable text is `haystack` (already lower-cased) pass?
    pub fn matches_lowercase(&self, haystack: &str) -> bool {
        self.is_empty()
            || self
                .alternatives
                .iter()
                .any(|t| haystack.contains(&t.needle) != t.negated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_language() {
        let f = Filter::parse("Auth");
        assert!(f.matches_lowercase("default-authentication-flow"));
        assert!(!f.matches_lowercase("logout"));
        let f = Filter::parse("!auth");
        assert!(!f.matches_lowercase("default-authentication-flow"));
        assert!(f.matches_lowercase("logout"));
        let f = Filter::parse("logout|consent");
        assert!(f.matches_lowercase("logout"));
        assert!(f.matches_lowercase("explicit-consent"));
        assert!(!f.matches_lowercase("password"));
        assert!(Filter::parse("").matches_lowercase("x"));
        assert!(Filter::parse(" | ").is_empty());
    }
}
