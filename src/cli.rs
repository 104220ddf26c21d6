//! Command-line interface (clap). Every flag says what it does in `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// latchkey: an identity provider in the mould of authentik, in one binary.
///
/// With no command, starts the terminal admin console and the OAuth2/OpenID Connect server
/// together, on an embedded SQLite store that is bootstrapped on first start.
#[derive(Debug, Parser)]
#[command(name = "latchkey", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command understands.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The store: a SQLite file path or `sqlite:PATH` (created when missing), `:memory:` for a
    /// throwaway instance, or `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` for a
    /// PostgreSQL database several instances share. Default:
    /// $XDG_DATA_HOME/latchkey/latchkey.db.
    #[arg(long, global = true, env = "LATCHKEY_DB", value_name = "PATH|URL")]
    pub db: Option<String>,
    /// Address the HTTP server listens on.
    #[arg(
        long,
        global = true,
        env = "LATCHKEY_LISTEN",
        default_value = "127.0.0.1:9000",
        value_name = "ADDR"
    )]
    pub listen: String,
    /// Serve HTTPS with the brands' web certificates: the TLS server name picks the brand
    /// whose domain matches it (longest first), else the default brand's certificate; a
    /// certificate changed in the store is served from the next connection on. Refused when
    /// no brand has a web certificate with a private key. Honoured by `run` and `serve`.
    #[arg(long, global = true, env = "LATCHKEY_TLS")]
    pub tls: bool,
    /// The public base URL clients reach the server at (the issuer and every absolute URL are
    /// built from it, never from the Host header). Default: http://<listen> (https:// with
    /// --tls).
    #[arg(long, global = true, env = "LATCHKEY_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Write logs to this file (console default: $XDG_STATE_HOME/latchkey/latchkey.log; `serve`
    /// logs to stderr unless this is given).
    #[arg(long, global = true, env = "LATCHKEY_LOG_FILE", value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    /// Open the console read-only: every action that would change the store is removed.
    #[arg(long, global = true)]
    pub readonly: bool,
    /// Colour theme: a name from themes/ (dark, light, high-contrast) or a path to a .toml file.
    #[arg(long, global = true, env = "LATCHKEY_THEME", value_name = "NAME|PATH")]
    pub theme: Option<String>,
    /// Apply this authentik blueprint (YAML) at start, before the server answers requests;
    /// repeat for several (applied in order, in one transaction). Honoured by `run` and `serve`.
    #[arg(long = "blueprint", global = true, value_name = "FILE")]
    pub blueprints: Vec<PathBuf>,
    /// How often `run` and `serve` delete expired codes, tokens, device codes and sessions and
    /// events past their retention (authentik's duration syntax).
    #[arg(
        long,
        global = true,
        env = "LATCHKEY_MAINTENANCE_INTERVAL",
        default_value = "minutes=10",
        value_name = "DURATION",
        value_parser = positive_duration
    )]
    pub maintenance_interval: std::time::Duration,
    /// A request head must arrive within this (new, slow and idle keep-alive connections are
    /// closed after it).
    #[arg(
        long,
        global = true,
        env = "LATCHKEY_HEADER_TIMEOUT",
        default_value = "seconds=10",
        value_name = "DURATION",
        value_parser = positive_duration
    )]
    pub header_timeout: std::time::Duration,
    /// A whole request, body included, must be answered within this (else 408).
    #[arg(
        long,
        global = true,
        env = "LATCHKEY_REQUEST_TIMEOUT",
        default_value = "seconds=30",
        value_name = "DURATION",
        value_parser = positive_duration
    )]
    pub request_timeout: std::time::Duration,
    /// Connections served at once; one more is answered 503 with Retry-After.
    #[arg(
        long,
        global = true,
        env = "LATCHKEY_MAX_CONNECTIONS",
        default_value_t = 1024,
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_connections: u32,
    /// How long a write waits for another process's write lock (an `apply`, a console in
    /// another process) before the request is answered 503 with Retry-After.
    #[arg(
        long,
        global = true,
        env = "LATCHKEY_BUSY_TIMEOUT",
        default_value = "seconds=5",
        value_name = "DURATION",
        value_parser = positive_duration
    )]
    pub busy_timeout: std::time::Duration,
    /// Failed passwords of one username from one address before that pair is refused for a
    /// while (a minute, doubling up to an hour); attempts are delayed from half this count on.
    /// 0 turns the sign-in throttle off.
    #[arg(
        long,
        global = true,
        env = "LATCHKEY_LOGIN_LOCKOUT_AFTER",
        default_value_t = 5,
        value_name = "N"
    )]
    pub login_lockout_after: u32,
    /// Failed passwords from one address, for any usernames, before the address is refused.
    #[arg(
        long,
        global = true,
        env = "LATCHKEY_LOGIN_IP_LOCKOUT_AFTER",
        default_value_t = 30,
        value_name = "N"
    )]
    pub login_ip_lockout_after: u32,
    /// Failed passwords of one username from any addresses before each attempt is delayed
    /// (growing to 8 s; never refused, so the owner can still sign in).
    #[arg(
        long,
        global = true,
        env = "LATCHKEY_LOGIN_SLOWDOWN_AFTER",
        default_value_t = 10,
        value_name = "N"
    )]
    pub login_slowdown_after: u32,
    /// Where email goes out: `smtp://host:port` (no TLS), `smtp+starttls://user@host:587`
    /// (STARTTLS) or `smtps://user@host:465` (TLS). The password comes from
    /// `LATCHKEY_SMTP_PASSWORD` or `LATCHKEY_SMTP_PASSWORD_FILE`, never from the URL.
    #[arg(long, global = true, env = "LATCHKEY_SMTP_URL", value_name = "URL")]
    pub smtp_url: Option<String>,
    /// The `From:` address of the email latchkey sends.
    #[arg(
        long,
        global = true,
        env = "LATCHKEY_SMTP_FROM",
        default_value = crate::mail::SmtpConfig::DEFAULT_FROM,
        value_name = "ADDRESS"
    )]
    pub smtp_from: String,
    /// How long one email may take to send, connecting included (a third of it, at most 5 s, to
    /// connect).
    #[arg(
        long,
        global = true,
        env = "LATCHKEY_SMTP_TIMEOUT",
        default_value = "seconds=10",
        value_name = "DURATION",
        value_parser = positive_duration
    )]
    pub smtp_timeout: std::time::Duration,
    /// The Have I Been Pwned range API password policies with `check_have_i_been_pwned` ask
    /// (only the first five hex digits of the password's SHA-1 are sent).
    #[arg(
        long,
        global = true,
        env = "LATCHKEY_HIBP_URL",
        default_value = crate::context::DEFAULT_HIBP_URL,
        value_name = "URL",
        value_parser = http_base_url
    )]
    pub hibp_url: String,
}

impl GlobalArgs {
    /// The configuration every layer reads, for the server at `public_url`.
    pub fn config(&self, public_url: &str) -> crate::context::Config {
        crate::context::Config {
            login: crate::context::LoginLimits {
                lockout_after: i64::from(self.login_lockout_after),
                ip_lockout_after: i64::from(self.login_ip_lockout_after.max(1)),
                slowdown_after: i64::from(self.login_slowdown_after.max(1)),
                ..Default::default()
            },
            smtp: self.smtp(),
            hibp_url: self.hibp_url.clone(),
            ..crate::context::Config::new(public_url)
        }
    }

    /// The SMTP configuration, when `--smtp-url` is set. The password is read from the
    /// environment only (a flag would show it in the process list).
    fn smtp(&self) -> Option<crate::mail::SmtpConfig> {
        use crate::mail::{PasswordSource, Secret, SmtpConfig};
        let url = self.smtp_url.as_deref().filter(|u| !u.trim().is_empty())?;
        let password = match (
            std::env::var("LATCHKEY_SMTP_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty()),
            std::env::var_os("LATCHKEY_SMTP_PASSWORD_FILE").filter(|p| !p.is_empty()),
        ) {
            (Some(value), _) => PasswordSource::Value(Secret::new(value)),
            (None, Some(path)) => PasswordSource::File(path.into()),
            (None, None) => PasswordSource::None,
        };
        Some(SmtpConfig {
            from: self.smtp_from.clone(),
            password,
            connect_timeout: (self.smtp_timeout / 3).clamp(
                std::time::Duration::from_secs(1),
                std::time::Duration::from_secs(5),
            ),
            total_timeout: self.smtp_timeout,
            ..SmtpConfig::new(url)
        })
    }

    /// How the store waits for other writers.
    pub fn store_options(&self) -> crate::store::StoreOptions {
        crate::store::StoreOptions {
            busy_timeout: self.busy_timeout,
        }
    }

    /// The connection limits the server runs with.
    pub fn limits(&self) -> crate::http::Limits {
        crate::http::Limits {
            header_timeout: self.header_timeout,
            request_timeout: self.request_timeout,
            max_connections: self.max_connections as usize,
            ..Default::default()
        }
    }
}

/// An `http(s)://` base URL with a host (a mistyped one is refused at start, not reported as an
/// unreachable service at the first password check).
pub fn http_base_url(s: &str) -> Result<String, String> {
    let ok = url::Url::parse(s)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if !ok {
        return Err(format!(
            "'{s}' is not an http(s) URL with a host, e.g. https://api.pwnedpasswords.com"
        ));
    }
    Ok(s.to_string())
}

/// Parses authentik's duration syntax (`hours=1;minutes=30`) into a positive duration.
pub fn positive_duration(s: &str) -> Result<std::time::Duration, String> {
    let d = crate::domain::Duration::parse(s).map_err(|e| e.to_string())?;
    if d.seconds() <= 0 {
        return Err(format!("'{s}' must be longer than zero, e.g. minutes=10"));
    }
    Ok(std::time::Duration::from_secs(d.seconds() as u64))
}

/// The commands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Console and server in one process (the default when no command is given).
    Run,
    /// The server alone, logging to stderr (containers, CI, tests). Stops on SIGTERM or Ctrl-C.
    Serve,
    /// The console alone, on the store a running `latchkey serve` (another process, e.g. a
    /// systemd service) uses: no listener, no bootstrap. Over SSH: `ssh host latchkey console`
    /// (`--readonly` to look only). The header shows the serving instances' URL and health;
    /// quitting leaves the server running.
    Console,
    /// Apply authentik blueprints (YAML) to the store in one transaction: all or nothing.
    /// Prints created/updated/deleted/unchanged counts; re-applying a file changes nothing.
    Apply(ApplyArgs),
    /// Write the store as an authentik blueprint that `apply` takes back unchanged
    /// (passwords are never exported).
    Export(ExportArgs),
    /// Create users and set passwords from the shell (bootstrap or recovery).
    #[command(subcommand)]
    User(UserCommand),
    /// Invitations to an enrollment flow: `invitation create` prints the link to hand over.
    #[command(subcommand)]
    Invitation(InvitationCommand),
    /// Whole-store operations: `store copy` moves every table to another location.
    #[command(subcommand)]
    Store(StoreCommand),
    /// The audit trail: the newest events a filter lets through, oldest of them first, as a
    /// table or as JSON Lines in authentik's event shape (`--json`, for a SIEM); `--follow`
    /// keeps printing new ones until Ctrl-C (or end of input).
    Events(EventsArgs),
    /// Sign in to a latchkey (or authentik) server with the OAuth2 device code grant: prints a
    /// URL, a user code and a QR code, waits for approval in a browser, then stores the tokens
    /// in $XDG_CONFIG_HOME/latchkey/tokens.json (mode 0600).
    Login(LoginArgs),
    /// Print a valid access token from `latchkey login`, refreshing it first when expired.
    Token,
    /// Revoke the stored tokens at the server (RFC 7009) and delete them.
    Logout,
}

/// Arguments of `latchkey login`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct LoginArgs {
    /// The server: either an application's issuer URL
    /// (`https://idp.example.com/application/o/<slug>/`), or the server's base URL
    /// (`https://idp.example.com`), in which case the application is `--app`, defaulting to the
    /// client id.
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// The application slug, when --url is a base URL (default: the client id).
    #[arg(long, value_name = "SLUG")]
    pub app: Option<String>,
    /// The public OAuth2 client to sign in as.
    #[arg(long, default_value = "authentik-cli", value_name = "ID")]
    pub client_id: String,
    /// Scopes to ask for, space- or comma-separated (the server keeps those its provider maps);
    /// `offline_access` gives a refresh token so `latchkey token` can renew.
    #[arg(
        long,
        default_value = "openid profile email offline_access",
        value_name = "SCOPES"
    )]
    pub scope: String,
}

/// Arguments of `latchkey apply`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ApplyArgs {
    /// Blueprint files, applied in the order given.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Arguments of `latchkey export`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ExportArgs {
    /// Write to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only objects of this model (authentik's name, e.g. authentik_flows.flow).
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// Only objects whose name, slug, username or domain is exactly this.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

/// `latchkey user …`: passwords are read from the terminal without echo (or from stdin when it
/// is not a terminal), never from a flag, so they stay out of shell history and `ps`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum UserCommand {
    /// Create a user (without a password; set one with `user set-password`).
    Create {
        /// The username.
        name: String,
        /// The user's email address.
        #[arg(long, value_name = "EMAIL")]
        email: Option<String>,
        /// Add the user to the superuser group (authentik Admins).
        #[arg(long)]
        superuser: bool,
    },
    /// Set a user's password, read from the terminal (twice, no echo) or from stdin.
    SetPassword {
        /// The username.
        name: String,
    },
    /// Print a single-use link into the brand's recovery flow for the user (authentik's
    /// "Create recovery link"), to hand over when no email can be sent.
    RecoveryLink {
        /// The username.
        name: String,
        /// How long the link works.
        #[arg(long, default_value = "days=1", value_name = "DURATION", value_parser = positive_duration)]
        valid_for: std::time::Duration,
    },
    /// Email the user a recovery link through the recovery flow's email stage and the server's
    /// SMTP configuration (authentik's "Send recovery email").
    RecoveryEmail {
        /// The username.
        name: String,
    },
    /// A user's app passwords and API tokens.
    #[command(subcommand)]
    Token(UserTokenCommand),
    /// A user's authenticators (second factors).
    #[command(subcommand)]
    Mfa(UserMfaCommand),
}

/// `latchkey user token …`: the key is printed once, at creation; only its digest is stored.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum UserTokenCommand {
    /// Make a token and print its key (on stdout, this once).
    Create {
        /// The username.
        user: String,
        /// What it is for: `app_password` (the token endpoint's password grant) or `api`.
        #[arg(long, default_value = "app_password", value_parser = ["app_password", "api"])]
        intent: String,
        /// A note about the token.
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
        /// How long it works, e.g. 30d, 12h, or `days=30` (default: until revoked).
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
    },
    /// List a user's tokens (never their keys).
    List {
        /// The username.
        user: String,
    },
    /// Revoke a token: it stops working at once.
    Revoke {
        /// The username.
        user: String,
        /// The token's id or identifier, as `token list` shows them.
        id: String,
    },
}

/// `latchkey user mfa …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum UserMfaCommand {
    /// List a user's authenticators (TOTP, static recovery codes, WebAuthn).
    List {
        /// The username.
        user: String,
    },
    /// Delete every authenticator of a user (a lost phone): the old factors stop working.
    Reset {
        /// The username.
        user: String,
    },
}

/// `latchkey invitation …`: the link's token exists only in what `create` prints (the store
/// keeps its digest), so print it into a file or hand it over at once.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum InvitationCommand {
    /// Make an invitation and print its link on stdout.
    Create {
        /// A unique name (to list and delete it by).
        name: String,
        /// The enrollment flow (it must have an invitation stage).
        #[arg(long, value_name = "SLUG", default_value = "default-enrollment-flow")]
        flow: String,
        /// Valid for this long, as authentik writes durations (`days=7`, `hours=12`); without
        /// it the invitation never expires.
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
        /// Let any number of people enroll with the link (by default the first enrollment
        /// consumes it).
        #[arg(long)]
        multi_use: bool,
        /// A JSON object laid over what the user types, e.g. '{"email": "ann@example.com"}'.
        #[arg(long, value_name = "JSON", default_value = "{}")]
        fixed_data: String,
    },
    /// List the invitations (never their tokens).
    List,
    /// Delete an invitation by name or id; its link stops working at once.
    Delete {
        /// The name or id.
        name: String,
    },
}

/// Arguments of `latchkey events`. Criteria combine with AND; repeated `--action`s with OR.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct EventsArgs {
    /// Only events at or after this: how long ago (`30m`, `1h`, `2d`, `1w`), a date
    /// (`2026-01-31`, UTC) or an RFC 3339 time (`2026-01-31T08:00:00Z`).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only events before this (the same forms as --since).
    #[arg(long, value_name = "WHEN", conflicts_with = "follow")]
    pub until: Option<String>,
    /// Only this action (`login`, `login_failed`, `model_updated`, …); repeat for several.
    #[arg(long = "action", value_name = "ACTION")]
    pub actions: Vec<String>,
    /// Only events of exactly this username.
    #[arg(long, value_name = "USERNAME")]
    pub user: Option<String>,
    /// Only events whose username contains this (ignoring ASCII case).
    #[arg(long, value_name = "TEXT", conflicts_with = "user")]
    pub user_contains: Option<String>,
    /// Only events of this application (its slug).
    #[arg(long, value_name = "SLUG")]
    pub app: Option<String>,
    /// Only events from this client address.
    #[arg(long, value_name = "IP")]
    pub client_ip: Option<String>,
    /// Only events of this origin: http, console, cli, system, or blueprint (any blueprint) /
    /// "blueprint NAME".
    #[arg(long, value_name = "ORIGIN")]
    pub origin: Option<String>,
    /// At most this many events (the newest ones); with --follow, the backlog printed first.
    #[arg(
        long,
        default_value_t = 100,
        value_name = "N",
        value_parser = clap::value_parser!(i64).range(1..=crate::domain::audit::MAX_LIMIT)
    )]
    pub limit: i64,
    /// One JSON object per line (authentik's event fields: pk, user, action, app, context,
    /// client_ip, created, brand; plus origin) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Keep printing events as they are recorded (checked twice a second), until Ctrl-C,
    /// SIGTERM or the end of standard input (Ctrl-D, or a closed pipe).
    #[arg(long)]
    pub follow: bool,
}

/// `latchkey store …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum StoreCommand {
    /// Copy a whole store (configuration, users, keys, live sessions and tokens) into an empty
    /// one, in one transaction, e.g. `--from sqlite:/var/lib/latchkey/latchkey.db --to
    /// postgres://latchkey@db/latchkey`. The source is only read; prints the rows per table.
    Copy {
        /// The store to read, as `--db` takes it.
        #[arg(long, value_name = "PATH|URL")]
        from: String,
        /// The empty store to fill, as `--db` takes it (created and migrated when missing).
        #[arg(long, value_name = "PATH|URL")]
        to: String,
    },
}

impl Cli {
    /// The command to run: `run` when none was given.
    pub fn command(&self) -> Command {
        self.command.clone().unwrap_or(Command::Run)
    }
}
