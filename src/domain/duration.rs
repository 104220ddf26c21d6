//! authentik's duration strings (`hours=1;minutes=2`), used for every validity setting.

use std::fmt;

/// A signed duration in seconds, parsed from and printed as authentik's `key=value;…` format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Duration {
    seconds: i64,
}

/// Why a duration string was refused; the message says what the admin should type instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a duration: {reason}; write it like 'hours=3;minutes=1'")]
pub struct DurationError {
    /// The text that failed.
    pub input: String,
    /// What in particular was wrong.
    pub reason: String,
}

const UNITS: &[(&str, f64)] = &[
    ("microseconds", 1e-6),
    ("milliseconds", 1e-3),
    ("seconds", 1.0),
    ("minutes", 60.0),
    ("hours", 3600.0),
    ("days", 86400.0),
    ("weeks", 604800.0),
];

impl Duration {
    /// A duration of `seconds`.
    pub const fn from_seconds(seconds: i64) -> Self {
        Self { seconds }
    }

    /// Whole seconds (may be negative; authentik allows that for offsets).
    pub const fn seconds(self) -> i64 {
        self.seconds
    }

    /// Parses `hours=1;minutes=2`. Unlike authentik, an unknown key is an error rather than being
    /// silently skipped, so a typo never turns a setting into "zero".
    pub fn parse(input: &str) -> Result<Self, DurationError> {
        let err = |reason: String| DurationError {
            input: input.to_string(),
            reason,
        };
        let mut total = 0f64;
        let mut any = false;
        for part in input.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| err(format!("'{part}' has no '='")))?;
            let key = key.trim().to_ascii_lowercase();
            let factor = UNITS
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, f)| *f)
                .ok_or_else(|| {
                    err(format!(
                        "unknown unit '{key}' (use one of {})",
                        UNITS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
                    ))
                })?;
            let value: f64 = value
                .trim()
                .parse()
                .map_err(|_| err(format!("'{}' is not a number", value.trim())))?;
            if !value.is_finite() {
                return Err(err(format!("'{value}' is not a finite number")));
            }
            total += value * factor;
            any = true;
        }
        if !any {
            return Err(err("it is empty".into()));
        }
        // Not finite when parts overflow both ways (`minutes=-1e308;minutes=1e308` is NaN).
        if !total.is_finite() || total.abs() > 100.0 * 365.0 * 86400.0 {
            return Err(err("it is longer than 100 years".into()));
        }
        Ok(Self {
            seconds: total.round() as i64,
        })
    }

    /// authentik's canonical form, as `timedelta_to_string` emits it.
    pub fn to_authentik(self) -> String {
        format!("seconds={}", self.seconds)
    }

    /// A compact human form for previews: `1h 2m`, `30d`, `0s`.
    pub fn human(self) -> String {
        if self.seconds == 0 {
            return "0s".into();
        }
        let sign = if self.seconds < 0 { "-" } else { "" };
        let mut rest = self.seconds.unsigned_abs();
        let mut parts = Vec::new();
        for (unit, size) in [
            ("w", 604800u64),
            ("d", 86400),
            ("h", 3600),
            ("m", 60),
            ("s", 1),
        ] {
            if rest >= size {
                parts.push(format!("{}{unit}", rest / size));
                rest %= size;
            }
        }
        format!("{sign}{}", parts.join(" "))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.human())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_authentik_examples() {
        let cases = [
            ("hours=1;minutes=2", 3720),
            ("minutes=1", 60),
            ("days=30", 2_592_000),
            ("seconds=0", 0),
            ("HOURS=1", 3600),
            ("hours=-1", -3600),
            ("weeks=4", 2_419_200),
            ("milliseconds=1500", 2),
            (" hours = 1 ; ", 3600),
        ];
        for (input, want) in cases {
            assert_eq!(
                Duration::parse(input).map(|d| d.seconds()),
                Ok(want),
                "{input}"
            );
        }
    }

    #[test]
    fn refuses_bad_input_with_a_hint() {
        for input in [
            "",
            "hours",
            "hours=x",
            "fortnights=1",
            ";;",
            "hours=inf",
            "days=99999999",
            "minutes=-1e308;minutes=1e308",
        ] {
            let err = Duration::parse(input).expect_err(input);
            assert!(err.to_string().contains("hours=3;minutes=1"), "{err}");
        }
    }

    #[test]
    fn human_preview() {
        assert_eq!(Duration::from_seconds(3720).human(), "1h 2m");
        assert_eq!(Duration::from_seconds(0).human(), "0s");
        assert_eq!(Duration::from_seconds(-90).human(), "-1m 30s");
        assert_eq!(Duration::from_seconds(3720).to_authentik(), "seconds=3720");
    }
}
