//! The signed-in user's own interface (authentik's `/if/user/`), without HTTP: the library of
//! applications the user may open (each application's policy bindings evaluated for them, as
//! the authorization endpoint does), grouped by `group`, with authentik's launch URL rule, and
//! the care of their own account — sessions, consents, MFA devices, app passwords — where
//! every change is made only on an object the caller owns (another user's id is "not found").

use std::collections::BTreeMap;

use super::accounts::{CreatedToken, NewToken, TokenIntent};
use super::sessions::SessionSummary;
use super::{Service, ServiceError, ServiceResult};
use crate::domain::{Actor, Application, Provider, User};
use crate::flows::{Env, RequestInfo, policy};
use crate::store;

/// Where account changes made from the user's interface say they came from (events' `source`).
pub const SOURCE: &str = "user interface";

/// One application in the library, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryApp {
    /// Its slug.
    pub slug: String,
    /// Its name.
    pub name: String,
    /// Where the card links to: [`launch_url`] formatted for the user.
    pub launch_url: String,
    /// The icon's URL (`meta_icon`), when it is one a page can load.
    pub icon: Option<String>,
    /// `meta_publisher`.
    pub publisher: String,
    /// `meta_description`.
    pub description: String,
    /// `open_in_new_tab`: the link opens a new tab.
    pub open_in_new_tab: bool,
}

/// The applications of one `group` (empty: ungrouped), by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryGroup {
    /// The group's name as the applications spell it.
    pub name: String,
    /// Its applications.
    pub apps: Vec<LibraryApp>,
}

/// A flow the user may run to set up or change a credential: a stage's `configure_flow`
/// (authentik's user-settings cards: "Change password" for a password stage, one "set up" entry
/// per authenticator setup stage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupLink {
    /// `password`, `totp`, `static` or `webauthn`.
    pub kind: &'static str,
    /// What the link says: "Change password", or the setup stage's friendly name (else its name).
    pub label: String,
    /// The slug of the flow to run.
    pub flow_slug: String,
}

/// One of the user's own live sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnSession {
    /// The session.
    pub session: SessionSummary,
    /// Whether it is the session asking.
    pub current: bool,
}

/// A provider's guessed launch URL (authentik's `OAuth2Provider.launch_url`): its first
/// redirect URI with the path taken out; `None` without redirect URIs or when nothing is left.
pub fn provider_launch_url(provider: &Provider) -> Option<String> {
    let first = provider.oauth2.redirect_uris.first()?;
    let url = first.url.as_str();
    let after_scheme = url.find("://").map(|i| i + 3)?;
    let authority_end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    let path_end = url[authority_end..]
        .find(['?', '#'])
        .map_or(url.len(), |i| authority_end + i);
    let guessed = format!("{}{}", &url[..authority_end], &url[path_end..]);
    (!guessed.is_empty()).then_some(guessed)
}

/// authentik's `Application.get_launch_url(user)`: `meta_launch_url` when set, else the
/// provider's guess, with `%(field)s` placeholders filled from the user ([`format_for_user`]).
pub fn launch_url(
    app: &Application,
    provider: Option<&Provider>,
    user: &UserFields,
) -> Option<String> {
    let url = if app.meta_launch_url.is_empty() {
        provider.and_then(provider_launch_url)?
    } else {
        app.meta_launch_url.clone()
    };
    Some(format_for_user(&url, user))
}

/// Whether the library shows an application with this launch URL (authentik's
/// `appHasLaunchUrl`): an `http://` or `https://` URL, or a relative one. Any other scheme is
/// left out (authentik's `blank://blank` hides an application this way; latchkey has no
/// `goauthentik.io://` RAC launches, and `javascript:` is never a link).
pub fn shown_in_library(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    if lower.is_empty() {
        return false;
    }
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return true;
    }
    // Relative: no `scheme:` before the first '/', '?' or '#'.
    let head = lower.split(['/', '?', '#']).next().unwrap_or_default();
    !head.contains(':') && !lower.starts_with("//")
}

/// An icon a page can load: an absolute `http(s)://` URL, a `data:image/` URL or a path on
/// this server (authentik returns a name with `://` or under `/static` as it is).
fn icon_url(meta_icon: &str) -> Option<String> {
    let t = meta_icon.trim();
    let lower = t.to_ascii_lowercase();
    let loadable = lower.starts_with("https://")
        || lower.starts_with("http://")
        || lower.starts_with("data:image/")
        || (t.starts_with('/') && !t.starts_with("//"));
    loadable.then(|| t.to_string())
}

/// The user's fields a launch URL may name, as authentik's `user.__dict__` holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFields(BTreeMap<&'static str, String>);

impl UserFields {
    /// The fields of `user`, whose integer primary key (authentik's `id`) is `number`.
    pub fn of(user: &User, number: Option<i64>) -> Self {
        let python_bool = |b: bool| if b { "True" } else { "False" }.to_string();
        let mut m = BTreeMap::from([
            ("username", user.username.clone()),
            ("name", user.name.clone()),
            ("email", user.email.clone()),
            ("uuid", user.id.clone()),
            ("path", user.path.clone()),
            ("type", user.user_type.as_str().to_string()),
            ("is_active", python_bool(user.is_active)),
        ]);
        if let Some(n) = number {
            m.insert("id", n.to_string());
        }
        Self(m)
    }
}

/// Python's `url % user.__dict__` as authentik applies it to a launch URL: `%(field)s` is the
/// field's value, `%%` a percent sign. When Python would raise (an unknown field, another
/// conversion, a lone `%`), the URL is used as it is, as authentik does.
pub fn format_for_user(url: &str, user: &UserFields) -> String {
    fn expand(url: &str, user: &UserFields) -> Option<String> {
        let mut out = String::with_capacity(url.len());
        let mut rest = url;
        while let Some(i) = rest.find('%') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(tail) = after.strip_prefix('%') {
                out.push('%');
                rest = tail;
                continue;
            }
            let inner = after.strip_prefix('(')?;
            let close = inner.find(')')?;
            let value = user.0.get(&inner[..close])?;
            rest = inner[close + 1..].strip_prefix('s')?;
            out.push_str(value);
        }
        out.push_str(rest);
        Some(out)
    }
    expand(url, user).unwrap_or_else(|| {
        tracing::warn!("cannot format a launch URL for the user; using it unformatted");
        url.to_string()
    })
}

/// Groups apps by their group name (empty first), each group and its apps by name.
fn grouped(mut apps: Vec<(String, LibraryApp)>) -> Vec<LibraryGroup> {
    apps.sort_by(|(ga, a), (gb, b)| {
        (ga, a.name.to_lowercase(), &a.slug).cmp(&(gb, b.name.to_lowercase(), &b.slug))
    });
    let mut groups: Vec<LibraryGroup> = Vec::new();
    for (group, app) in apps {
        match groups.last_mut() {
            Some(g) if g.name == group => g.apps.push(app),
            _ => groups.push(LibraryGroup {
                name: group,
                apps: vec![app],
            }),
        }
    }
    groups
}

impl Service {
    /// The signed-in user (active), or not found.
    async fn library_user(&self, user_id: &str) -> ServiceResult<(User, UserFields)> {
        let mut conn = self.store().read().await?;
        let user = store::users::get(&mut conn, user_id)
            .await?
            .filter(|u| u.is_active)
            .ok_or_else(|| ServiceError::NotFound("the user".into()))?;
        let number = store::directory::user_number(&mut conn, user_id).await?;
        let fields = UserFields::of(&user, number);
        Ok((user, fields))
    }

    /// Where `/` sends a signed-in user (authentik's `RootRedirectView`): an external user or a
    /// service account goes to the launch URL of the default application of the brand `host`
    /// picks, as the library would link it ([`launch_url`]); `None` for an internal user, a
    /// brand without a default application or one the library would not link, and then the
    /// user's interface is where they land.
    pub async fn default_application_launch(
        &self,
        host: Option<&str>,
        user_id: &str,
    ) -> ServiceResult<Option<String>> {
        let Some(app_id) = crate::flows::lookup::brand_for_host(self.context(), host)
            .await?
            .and_then(|b| b.default_application_id)
        else {
            return Ok(None);
        };
        let (user, fields) = self.library_user(user_id).await?;
        if user.user_type == crate::domain::UserType::Internal {
            return Ok(None);
        }
        let mut conn = self.store().read().await?;
        let Some(app) = store::applications::get(&mut conn, &app_id).await? else {
            return Ok(None);
        };
        let provider = match &app.provider_id {
            Some(id) => store::providers::get(&mut conn, id).await?,
            None => None,
        };
        Ok(launch_url(&app, provider.as_ref(), &fields).filter(|u| shown_in_library(u)))
    }

    /// This service acting for the signed-in `user_id` from `client_ip` (their account
    /// changes' events name them); not found when the user is gone or inactive.
    pub async fn acting_for_user(&self, user_id: &str, client_ip: &str) -> ServiceResult<Service> {
        let (user, _) = self.library_user(user_id).await?;
        Ok(self.acting_as(Actor::http(&user.username, Some(&user.id), client_ip)))
    }

    /// The applications `user_id` may open, grouped: every application whose policy bindings
    /// admit the user ([`policy::application_admits`], the authorization endpoint's check, with
    /// the request the page answers) and whose launch URL the library shows.
    pub async fn user_library(
        &self,
        user_id: &str,
        client_ip: &str,
        request: Option<&RequestInfo>,
    ) -> ServiceResult<Vec<LibraryGroup>> {
        let (_, fields) = self.library_user(user_id).await?;
        let (apps, providers) = {
            let mut conn = self.store().read().await?;
            let apps = store::applications::list(&mut conn).await?;
            let providers: BTreeMap<String, Provider> = store::providers::list(&mut conn)
                .await?
                .into_iter()
                .map(|p| (p.id.clone(), p))
                .collect();
            (apps, providers)
        };
        let env = Env::new(self.context(), client_ip, Some(user_id.to_string())).answering(request);
        let mut shown = Vec::new();
        for app in apps {
            let provider = app.provider_id.as_ref().and_then(|id| providers.get(id));
            let Some(url) = launch_url(&app, provider, &fields).filter(|u| shown_in_library(u))
            else {
                continue;
            };
            if !policy::application_admits(&env, user_id, &app, BTreeMap::new())
                .await
                .passing
            {
                continue;
            }
            let entry = LibraryApp {
                icon: icon_url(&app.meta_icon),
                slug: app.slug,
                name: app.name,
                launch_url: url,
                publisher: app.meta_publisher,
                description: app.meta_description,
                open_in_new_tab: app.open_in_new_tab,
            };
            shown.push((app.group, entry));
        }
        Ok(grouped(shown))
    }

    /// The flows the stages name as their `configure_flow`, by kind then label: what a user may
    /// run to change a password or set up an authenticator. A stage whose flow is gone is left
    /// out.
    pub async fn setup_links(&self) -> ServiceResult<Vec<SetupLink>> {
        use crate::domain::StageSettings as S;
        let mut conn = self.store().read().await?;
        let flows: BTreeMap<String, String> = store::flows::list(&mut conn)
            .await?
            .into_iter()
            .map(|f| (f.id, f.slug))
            .collect();
        let named = |friendly: &str, name: &str| {
            if friendly.trim().is_empty() {
                name.to_string()
            } else {
                friendly.trim().to_string()
            }
        };
        let mut links = Vec::new();
        for stage in store::stages::list(&mut conn).await? {
            let (kind, label, flow) = match &stage.settings {
                S::Password(p) => ("password", "Change password".to_string(), &p.configure_flow),
                S::AuthenticatorTotp(t) => (
                    "totp",
                    named(&t.friendly_name, &stage.name),
                    &t.configure_flow,
                ),
                S::AuthenticatorStatic(t) => (
                    "static",
                    named(&t.friendly_name, &stage.name),
                    &t.configure_flow,
                ),
                S::AuthenticatorWebauthn(w) => (
                    "webauthn",
                    named(&w.friendly_name, &stage.name),
                    &w.configure_flow,
                ),
                _ => continue,
            };
            if let Some(flow_slug) = flow.as_ref().and_then(|id| flows.get(id)) {
                links.push(SetupLink {
                    kind,
                    label,
                    flow_slug: flow_slug.clone(),
                });
            }
        }
        links.sort_by(|a, b| {
            (a.kind != "password", &a.label).cmp(&(b.kind != "password", &b.label))
        });
        links.dedup();
        Ok(links)
    }

    /// The user's live sessions, most recently seen first; `current` is the asking session's id.
    pub async fn own_sessions(
        &self,
        user_id: &str,
        current: &str,
    ) -> ServiceResult<Vec<OwnSession>> {
        Ok(self
            .list_sessions()
            .await?
            .into_iter()
            .filter(|s| s.user_id == user_id)
            .map(|s| OwnSession {
                current: s.id == current,
                session: s,
            })
            .collect())
    }

    /// Ends one of the user's own sessions ([`Service::revoke_session`]: its tokens revoked, its
    /// relying parties told); another user's session, or none, is not found.
    pub async fn revoke_own_session(&self, user_id: &str, session_id: &str) -> ServiceResult<u64> {
        let owned = {
            let mut conn = self.store().read().await?;
            store::sessions::of_user(&mut conn, user_id)
                .await?
                .into_iter()
                .any(|s| s.id == session_id)
        };
        if !owned {
            return Err(ServiceError::NotFound("the session".into()));
        }
        self.revoke_session(session_id).await
    }

    /// Makes an app password for the user themselves (the key returned once).
    pub async fn create_own_app_password(
        &self,
        user_id: &str,
        description: &str,
        expires: &str,
    ) -> ServiceResult<CreatedToken> {
        let expires_in = super::accounts::parse_expiry(expires).map_err(|message| {
            ServiceError::Invalid(crate::domain::FieldErrors(vec![
                crate::domain::FieldError {
                    field: "expires".into(),
                    message,
                },
            ]))
        })?;
        let new = NewToken {
            intent: TokenIntent::AppPassword,
            description: description.to_string(),
            expires_in,
        };
        self.create_token(user_id, &new, SOURCE).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::redirect::RedirectUri;

    fn user() -> UserFields {
        let mut u = User::new_internal("alice", "Alice A", "alice@example.com", 0);
        u.id = "u-1".into();
        UserFields::of(&u, Some(7))
    }

    #[test]
    fn launch_urls_are_formatted_with_the_users_fields_as_python_does() {
        let u = user();
        let f = |url: &str| format_for_user(url, &u);
        assert_eq!(
            f("https://x.example/%(username)s"),
            "https://x.example/alice"
        );
        assert_eq!(
            f("https://x.example/?u=%(id)s&e=%(email)s&p=100%%"),
            "https://x.example/?u=7&e=alice@example.com&p=100%"
        );
        // What Python refuses leaves the URL as it is.
        for raw in [
            "https://x.example/a%20b",
            "https://x.example/%(nope)s",
            "https://x.example/%(username)d",
            "https://x.example/%(username",
            "https://x.example/%",
        ] {
            assert_eq!(f(raw), raw);
        }
        assert_eq!(f("https://x.example/plain"), "https://x.example/plain");
    }

    #[test]
    fn a_provider_guesses_its_launch_url_from_the_first_redirect_uri() {
        let mut p = Provider {
            id: "p".into(),
            name: "p".into(),
            client_id: "c".into(),
            authorization_flow_id: None,
            authentication_flow_id: None,
            invalidation_flow_id: None,
            signing_key_id: None,
            encryption_key_id: None,
            scope_mapping_ids: vec![],
            oauth2: Default::default(),
            created_at: 0,
            updated_at: 0,
            version: 1,
        };
        assert_eq!(provider_launch_url(&p), None);
        p.oauth2.redirect_uris = vec![
            RedirectUri::strict("https://app.example:8443/oauth/cb?x=1"),
            RedirectUri::strict("https://other.example/cb"),
        ];
        assert_eq!(
            provider_launch_url(&p).as_deref(),
            Some("https://app.example:8443?x=1")
        );
        p.oauth2.redirect_uris = vec![RedirectUri::strict("http://localhost:8080/cb")];
        assert_eq!(
            provider_launch_url(&p).as_deref(),
            Some("http://localhost:8080")
        );
    }

    #[test]
    fn the_library_shows_http_and_relative_launch_urls_only() {
        for url in ["https://a.example/", "HTTP://a.example", "/app/", "app?x=1"] {
            assert!(shown_in_library(url), "{url}");
        }
        for url in [
            "",
            "blank://blank",
            "goauthentik.io://providers/rac/launch",
            "javascript:alert(1)",
            "//evil.example/",
            "mailto:a@example.com",
        ] {
            assert!(!shown_in_library(url), "{url}");
        }
    }

    #[test]
    fn icons_are_urls_a_page_can_load() {
        assert_eq!(
            icon_url("https://cdn.example/i.png").as_deref(),
            Some("https://cdn.example/i.png")
        );
        assert_eq!(icon_url("/static/i.svg").as_deref(), Some("/static/i.svg"));
        assert_eq!(icon_url("application-icons/i.png"), None);
        assert_eq!(icon_url("javascript:alert(1)"), None);
        assert_eq!(icon_url(""), None);
    }

    #[test]
    fn apps_are_grouped_by_group_then_by_name() {
        let app = |name: &str| LibraryApp {
            slug: name.to_lowercase(),
            name: name.into(),
            launch_url: "/".into(),
            icon: None,
            publisher: String::new(),
            description: String::new(),
            open_in_new_tab: false,
        };
        let groups = grouped(vec![
            ("Tools".into(), app("Wiki")),
            (String::new(), app("mail")),
            ("Tools".into(), app("Chat")),
            (String::new(), app("Books")),
        ]);
        let names: Vec<(&str, Vec<&str>)> = groups
            .iter()
            .map(|g| {
                (
                    g.name.as_str(),
                    g.apps.iter().map(|a| a.name.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            names,
            vec![("", vec!["Books", "mail"]), ("Tools", vec!["Chat", "Wiki"])]
        );
    }
}
