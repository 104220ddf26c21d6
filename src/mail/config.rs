//! The SMTP configuration, typed: where to connect and how (plain, STARTTLS, implicit TLS), who
//! mail is from, the credentials, and the time limits. The URL is kept as given and parsed when
//! mail is sent, so a bad URL is a `configuration_error` at the stage rather than a server that
//! does not start.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::MailError;

/// How the connection is secured, from the URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// `smtp://`: no TLS (a relay on loopback or a trusted network).
    Plain,
    /// `smtp+starttls://`: STARTTLS, required.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Implicit,
}

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where the SMTP password comes from (`LATCHKEY_SMTP_PASSWORD` or `LATCHKEY_SMTP_PASSWORD_FILE`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PasswordSource {
    /// No password (no authentication unless the URL names a user).
    #[default]
    None,
    /// The value itself.
    Value(Secret),
    /// A file whose content (trailing newline dropped) is the password, read at each send so a
    /// rotated secret is picked up.
    File(PathBuf),
}

impl PasswordSource {
    /// The password, if any.
    pub fn read(&self) -> Result<Option<Secret>, MailError> {
        match self {
            PasswordSource::None => Ok(None),
            PasswordSource::Value(s) => Ok(Some(s.clone())),
            PasswordSource::File(path) => std::fs::read_to_string(path)
                .map(|s| Some(Secret::new(s.trim_end_matches(['\n', '\r']))))
                .map_err(|e| MailError::Password(format!("{}: {e}", path.display()))),
        }
    }
}

/// The SMTP configuration the server was started with.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// `smtp://host:port`, `smtp+starttls://user@host:587`, `smtps://user@host:465`.
    pub url: String,
    /// The `From:` address (`LATCHKEY_SMTP_FROM`).
    pub from: String,
    /// The password for the URL's user.
    pub password: PasswordSource,
    /// Connecting and each SMTP command must finish within this.
    pub connect_timeout: Duration,
    /// The whole send must finish within this.
    pub total_timeout: Duration,
}

impl SmtpConfig {
    /// The default sender when `LATCHKEY_SMTP_FROM` is unset (authentik's).
    pub const DEFAULT_FROM: &'static str = "system@authentik.local";

    /// A configuration for `url` with the default sender, no password and a 10 s limit.
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_string(),
            from: Self::DEFAULT_FROM.to_string(),
            password: PasswordSource::None,
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(10),
        }
    }
}

impl SmtpConfig {
    /// The connection an email stage names itself (authentik's `use_global_settings: false`):
    /// `host`/`port`, `use_ssl` (TLS from the first byte) or `use_tls` (STARTTLS) or neither,
    /// `username` (no password: latchkey keeps none in a stage, so a stage with a user name is
    /// refused at save), `from_address`, and `timeout` seconds for the whole send.
    pub fn of_stage(s: &crate::domain::EmailSettings) -> Self {
        let scheme = if s.use_ssl {
            "smtps"
        } else if s.use_tls {
            "smtp+starttls"
        } else {
            "smtp"
        };
        let host = if s.host.contains(':') && !s.host.starts_with('[') {
            format!("[{}]", s.host)
        } else {
            s.host.clone()
        };
        let user = match s.username.as_str() {
            "" => String::new(),
            u => format!(
                "{}@",
                percent_encoding::utf8_percent_encode(u, percent_encoding::NON_ALPHANUMERIC)
            ),
        };
        let total = Duration::from_secs(s.timeout.clamp(1, 300) as u64);
        Self {
            url: format!("{scheme}://{user}{host}:{}", s.port),
            from: s.from_address.clone(),
            password: PasswordSource::None,
            connect_timeout: total.min(Duration::from_secs(5)),
            total_timeout: total,
        }
    }
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password someone put there; show only what parses safely.
        let endpoint = SmtpEndpoint::parse(&self.url)
            .map(|e| e.to_string())
            .unwrap_or_else(|_| "(unusable URL)".into());
        f.debug_struct("SmtpConfig")
            .field("endpoint", &endpoint)
            .field("from", &self.from)
            .field("password", &self.password)
            .field("connect_timeout", &self.connect_timeout)
            .field("total_timeout", &self.total_timeout)
            .finish()
    }
}

/// A parsed SMTP URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpEndpoint {
    /// How the connection is secured.
    pub tls: TlsMode,
    /// The server's host name or address.
    pub host: String,
    /// The port (the scheme's default when the URL has none: 25, 587, 465).
    pub port: u16,
    /// The user to authenticate as (percent-decoded), if any.
    pub username: Option<String>,
}

impl SmtpEndpoint {
    /// Parses an SMTP URL. A password in the URL is refused, so it never lands in a log or a
    /// process listing: it belongs in `LATCHKEY_SMTP_PASSWORD(_FILE)`.
    pub fn parse(input: &str) -> Result<Self, MailError> {
        let bad = |why: &str| MailError::BadUrl(why.to_string());
        let url = url::Url::parse(input.trim()).map_err(|e| bad(&e.to_string()))?;
        let (tls, default_port) = match url.scheme() {
            "smtp" => (TlsMode::Plain, 25),
            "smtp+starttls" => (TlsMode::StartTls, 587),
            "smtps" => (TlsMode::Implicit, 465),
            other => {
                return Err(bad(&format!(
                    "scheme '{other}' is not smtp://, smtp+starttls:// or smtps://"
                )));
            }
        };
        if url.password().is_some() {
            return Err(bad(
                "the URL carries a password; put it in LATCHKEY_SMTP_PASSWORD or LATCHKEY_SMTP_PASSWORD_FILE",
            ));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let username = match url.username() {
            "" => None,
            u => Some(
                percent_encoding::percent_decode_str(u)
                    .decode_utf8()
                    .map_err(|_| bad("the user name is not UTF-8"))?
                    .into_owned(),
            ),
        };
        Ok(Self {
            tls,
            host,
            port: url.port().unwrap_or(default_port),
            username,
        })
    }
}

impl fmt::Display for SmtpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.tls {
            TlsMode::Plain => "smtp",
            TlsMode::StartTls => "smtp+starttls",
            TlsMode::Implicit => "smtps",
        };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_choose_the_tls_mode_and_default_port() {
        let cases = [
            ("smtp://127.0.0.1:2525", TlsMode::Plain, 2525, None),
            ("smtp://mail.example", TlsMode::Plain, 25, None),
            (
                "smtp+starttls://bob%40corp@mail.example",
                TlsMode::StartTls,
                587,
                Some("bob@corp"),
            ),
            (
                "smtps://alice@mail.example",
                TlsMode::Implicit,
                465,
                Some("alice"),
            ),
        ];
        for (url, tls, port, user) in cases {
            let e = SmtpEndpoint::parse(url).expect(url);
            assert_eq!(
                (e.tls, e.port, e.username.as_deref()),
                (tls, port, user),
                "{url}"
            );
        }
    }

    #[test]
    fn bad_urls_and_passwords_in_urls_are_refused() {
        for url in [
            "",
            "not a url",
            "http://mail.example",
            "smtp://",
            "smtp://u:pw@host",
        ] {
            assert!(
                matches!(SmtpEndpoint::parse(url), Err(MailError::BadUrl(_))),
                "{url}"
            );
        }
        let err = SmtpEndpoint::parse("smtp://u:hunter2@host").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn a_stage_names_its_own_connection() {
        let mut s = crate::domain::EmailSettings {
            host: "mail.example".into(),
            port: 2525,
            from_address: "stage@example.org".into(),
            timeout: 3,
            ..Default::default()
        };
        let c = SmtpConfig::of_stage(&s);
        assert_eq!(c.url, "smtp://mail.example:2525");
        assert_eq!(c.from, "stage@example.org");
        assert_eq!(c.total_timeout, Duration::from_secs(3));
        s.use_tls = true;
        s.username = "bob@corp".into();
        let e = SmtpEndpoint::parse(&SmtpConfig::of_stage(&s).url).expect("url");
        assert_eq!(
            (e.tls, e.port, e.username.as_deref()),
            (TlsMode::StartTls, 2525, Some("bob@corp"))
        );
        s.use_ssl = true;
        s.host = "::1".into();
        let e = SmtpEndpoint::parse(&SmtpConfig::of_stage(&s).url).expect("url");
        assert_eq!((e.tls, e.host.as_str()), (TlsMode::Implicit, "::1"));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let mut c = SmtpConfig::new("smtp://u:hunter2@host");
        c.password = PasswordSource::Value(Secret::new("s3cret"));
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cret"),
            "{shown}"
        );
    }
}
