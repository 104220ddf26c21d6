//! A provider's validity settings (authentik duration strings such as `hours=1`) as seconds.
//! Kept apart from minting so the snapshot, which needs token lifetimes to keep retired keys,
//! does not depend on the token code.

use crate::domain::Duration;

/// Parses one of the provider's validity settings, with the default when it is unreadable.
pub fn validity(setting: &str, default_seconds: i64) -> i64 {
    Duration::parse(setting)
        .map(|d| d.seconds())
        .unwrap_or(default_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_settings_parse_and_unreadable_ones_take_the_default() {
        for (setting, default, want) in [
            ("hours=1", 5, 3600),
            ("minutes=1;seconds=2", 5, 62),
            ("", 60, 60),
            ("soon", 600, 600),
        ] {
            assert_eq!(validity(setting, default), want, "{setting:?}");
        }
    }
}
