//! Settings latchkey cannot honour, refused at save with a message that says what to do
//! (issue 21: no setting is stored silently). `domain::object::validate` calls these; each
//! answer is `(field, message)`.

use super::{
    AuthenticatorTotpSettings, AuthenticatorWebauthnSettings, DummySettings, EmailSettings,
    GeoipBinding, IdentificationSettings, NetworkBinding, PasswordPolicySettings, PasswordSettings,
    RedirectMode, RedirectSettings, UserLoginSettings,
};
use super::{PolicySettings, StageSettings};

/// authentik's backend that checks a user's app passwords (tokens of intent `app_password`).
pub const TOKEN_BACKEND: &str = "authentik.core.auth.TokenBackend";

/// authentik's LDAP backend: latchkey has no LDAP source to check a password against.
pub const LDAP_BACKEND: &str = "authentik.sources.ldap.auth.LDAPBackend";

/// The stage settings of `settings` latchkey refuses.
pub fn stage_refusals(settings: &StageSettings) -> Vec<(&'static str, String)> {
    match settings {
        StageSettings::Password(p) => password_stage(p),
        StageSettings::AuthenticatorTotp(t) => totp_stage(t),
        StageSettings::Email(m) => email_stage(m),
        StageSettings::Identification(i) => identification_stage(i),
        StageSettings::UserLogin(l) => user_login_stage(l),
        StageSettings::Redirect(r) => redirect_stage(r),
        StageSettings::AuthenticatorWebauthn(w) => webauthn_setup_stage(w),
        _ => Vec::new(),
    }
}

/// Identification: latchkey has no federation sources, no captcha stage and no passkey
/// autofill (conditional mediation) on the identification page.
fn identification_stage(s: &IdentificationSettings) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if !s.sources.is_empty() {
        out.push((
            "sources",
            "latchkey has no federation sources to offer on the login page: leave sources empty"
                .to_string(),
        ));
    }
    if s.captcha_stage.as_deref().is_some_and(|c| !c.is_empty()) {
        out.push((
            "captcha_stage",
            "latchkey has no captcha stage: leave captcha_stage empty".to_string(),
        ));
    }
    if s.webauthn_stage.as_deref().is_some_and(|w| !w.is_empty()) {
        out.push((
            "webauthn_stage",
            "latchkey does not offer passkey autofill on the identification page: leave \
             webauthn_stage empty and link a passwordless flow (passwordless_flow) instead"
                .to_string(),
        ));
    }
    out
}

/// User login: no ASN and no GeoIP database to bind a session with.
fn user_login_stage(s: &UserLoginSettings) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if s.network_binding == NetworkBinding::BindAsn {
        out.push((
            "network_binding",
            "latchkey has no ASN database to bind a session to its autonomous system: use \
             bind_asn_network (the client's /24 or /64 network), bind_asn_network_ip (the exact \
             address) or no_binding"
                .to_string(),
        ));
    }
    if s.geoip_binding != GeoipBinding::NoBinding {
        out.push((
            "geoip_binding",
            "latchkey has no GeoIP database to bind a session to a location: use no_binding \
             (network_binding can bind the session to the client's network)"
                .to_string(),
        ));
    }
    out
}

/// WebAuthn setup: authentik restricts device types by the FIDO Metadata Service's AAGUIDs,
/// which latchkey does not carry; a restriction it cannot check is refused, not ignored.
fn webauthn_setup_stage(w: &AuthenticatorWebauthnSettings) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if !w.device_type_restrictions.is_empty() {
        out.push((
            "device_type_restrictions",
            "latchkey has no FIDO metadata to tell authenticator types apart: leave this empty \
             (any authenticator may register) and limit who may register with a policy"
                .to_string(),
        ));
    }
    if w.max_attempts < 0 {
        out.push((
            "max_attempts",
            format!(
                "{} is negative: use 0 (no limit) or more, e.g. 3",
                w.max_attempts
            ),
        ));
    }
    out
}

/// Redirect: flow mode needs the flow to go to.
fn redirect_stage(s: &RedirectSettings) -> Vec<(&'static str, String)> {
    let no_flow = s.target_flow.as_deref().is_none_or(str::is_empty);
    if s.mode == RedirectMode::Flow && no_flow {
        return vec![(
            "target_flow",
            "a redirect in flow mode needs the flow to go to: choose target_flow, or use mode \
             static with target_static"
                .to_string(),
        )];
    }
    Vec::new()
}

/// The policy settings of `settings` latchkey refuses.
pub fn policy_refusals(settings: &PolicySettings) -> Vec<(&'static str, String)> {
    match settings {
        PolicySettings::Dummy(d) => dummy_policy(d),
        PolicySettings::Password(p) => password_policy(p),
        _ => Vec::new(),
    }
}

fn password_stage(p: &PasswordSettings) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if p.backends.is_empty() {
        out.push((
            "backends",
            format!(
                "choose at least one backend ({} or {TOKEN_BACKEND}): with none no password is ever accepted",
                super::INBUILT_BACKEND
            ),
        ));
    }
    // authentik's default blueprints list the LDAP backend beside the others; without an LDAP
    // source it never matches, in authentik as here. Alone it could never accept a password.
    if !p.backends.is_empty() && p.backends.iter().all(|b| b == LDAP_BACKEND) {
        out.push((
            "backends",
            format!(
                "{LDAP_BACKEND} alone never accepts a password: latchkey has no LDAP source; \
                 add {} (the user database) or {TOKEN_BACKEND} (app passwords)",
                super::INBUILT_BACKEND
            ),
        ));
    }
    for b in &p.backends {
        if b != super::INBUILT_BACKEND && b != TOKEN_BACKEND && b != LDAP_BACKEND {
            out.push((
                "backends",
                format!(
                    "unknown backend {b:?}: use {} or {TOKEN_BACKEND}",
                    super::INBUILT_BACKEND
                ),
            ));
        }
    }
    out
}

fn totp_stage(t: &AuthenticatorTotpSettings) -> Vec<(&'static str, String)> {
    if t.digits == 6 || t.digits == 8 {
        Vec::new()
    } else {
        vec![(
            "digits",
            format!("{} digits is not offered: use 6 or 8", t.digits),
        )]
    }
}

fn email_stage(m: &EmailSettings) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if m.recovery_max_attempts < 1 {
        out.push((
            "recovery_max_attempts",
            format!(
                "{} would never send an email: use 1 or more, e.g. 5",
                m.recovery_max_attempts
            ),
        ));
    }
    if m.use_global_settings {
        return out;
    }
    if m.host.trim().is_empty() {
        out.push((
            "host",
            "name the SMTP server, or turn on use_global_settings".to_string(),
        ));
    }
    if !(1..=65535).contains(&m.port) {
        out.push((
            "port",
            format!("{} is not a port: use 1 to 65535, e.g. 25", m.port),
        ));
    }
    if m.use_tls && m.use_ssl {
        out.push((
            "use_ssl",
            "use_tls (STARTTLS) and use_ssl (TLS from the start) exclude each other: choose one"
                .to_string(),
        ));
    }
    if !m.username.is_empty() {
        out.push((
            "username",
            "latchkey keeps no SMTP password in a stage: leave username empty for a relay that needs none, or turn on use_global_settings and set LATCHKEY_SMTP_PASSWORD".to_string(),
        ));
    }
    if m.timeout < 1 {
        out.push((
            "timeout",
            format!("{} must be at least 1 second, e.g. 10", m.timeout),
        ));
    }
    out
}

fn dummy_policy(d: &DummySettings) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if d.wait_min < 0 {
        out.push((
            "wait_min",
            format!("{} must be 0 or more seconds", d.wait_min),
        ));
    }
    if d.wait_min > d.wait_max {
        out.push((
            "wait_max",
            format!(
                "wait_max ({}) is below wait_min ({}): make it at least wait_min",
                d.wait_max, d.wait_min
            ),
        ));
    }
    out
}

fn password_policy(p: &PasswordPolicySettings) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (field, value) in [
        ("hibp_allowed_count", p.hibp_allowed_count),
        ("zxcvbn_score_threshold", p.zxcvbn_score_threshold),
    ] {
        if value < 0 {
            out.push((field, format!("{value} must be 0 or more")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::INBUILT_BACKEND;

    fn password(backends: &[&str]) -> StageSettings {
        StageSettings::Password(PasswordSettings {
            backends: backends.iter().map(|b| b.to_string()).collect(),
            ..Default::default()
        })
    }

    fn refused_fields(
        kind: crate::domain::StageKind,
        settings: serde_json::Value,
    ) -> Vec<&'static str> {
        stage_refusals(&StageSettings::from_json(kind, &settings))
            .into_iter()
            .map(|(f, _)| f)
            .collect()
    }

    #[test]
    fn sources_and_captcha_are_refused_on_identification() {
        use crate::domain::StageKind;
        let fields = refused_fields(
            StageKind::Identification,
            serde_json::json!({"sources": ["s1"], "captcha_stage": "c1", "webauthn_stage": "w1"}),
        );
        assert_eq!(fields, ["sources", "captcha_stage", "webauthn_stage"]);
        assert!(
            refused_fields(
                StageKind::Identification,
                serde_json::json!({"sources": []})
            )
            .is_empty()
        );
    }

    #[test]
    fn asn_only_and_geoip_bindings_are_refused_on_user_login() {
        use crate::domain::StageKind;
        let fields = refused_fields(
            StageKind::UserLogin,
            serde_json::json!({"network_binding": "bind_asn", "geoip_binding": "bind_continent"}),
        );
        assert_eq!(fields, ["network_binding", "geoip_binding"]);
        for ok in ["no_binding", "bind_asn_network", "bind_asn_network_ip"] {
            assert!(
                refused_fields(
                    StageKind::UserLogin,
                    serde_json::json!({"network_binding": ok})
                )
                .is_empty(),
                "{ok}"
            );
        }
    }

    #[test]
    fn password_backends_inbuilt_and_token_are_accepted_ldap_alone_unknown_and_none_refused() {
        assert!(stage_refusals(&password(&[INBUILT_BACKEND, TOKEN_BACKEND])).is_empty());
        assert!(stage_refusals(&password(&[TOKEN_BACKEND])).is_empty());
        // Beside another backend LDAP is accepted (it never matches: no LDAP source), as
        // authentik's default blueprints list it; alone it is refused.
        assert!(
            stage_refusals(&password(&[INBUILT_BACKEND, LDAP_BACKEND, TOKEN_BACKEND])).is_empty()
        );
        let ldap = stage_refusals(&password(&[LDAP_BACKEND]));
        assert_eq!(ldap.len(), 1);
        assert_eq!(ldap[0].0, "backends");
        assert!(ldap[0].1.contains("no LDAP source"), "{}", ldap[0].1);
        let unknown = stage_refusals(&password(&["my.Backend"]));
        assert!(unknown[0].1.contains("unknown backend \"my.Backend\""));
        let none = stage_refusals(&password(&[]));
        assert!(none[0].1.contains("at least one backend"), "{}", none[0].1);
    }

    #[test]
    fn totp_digits_other_than_6_or_8_are_refused() {
        for (digits, ok) in [(6, true), (8, true), (7, false), (0, false)] {
            let s = StageSettings::AuthenticatorTotp(AuthenticatorTotpSettings {
                digits,
                ..Default::default()
            });
            assert_eq!(stage_refusals(&s).is_empty(), ok, "{digits}");
        }
    }

    #[test]
    fn an_email_stage_of_its_own_needs_a_usable_connection() {
        let email = |f: &dyn Fn(&mut EmailSettings)| {
            let mut m = EmailSettings::default();
            f(&mut m);
            stage_refusals(&StageSettings::Email(m))
                .into_iter()
                .map(|(field, _)| field)
                .collect::<Vec<_>>()
        };
        assert!(
            email(&|_| {}).is_empty(),
            "authentik's defaults: localhost:25"
        );
        assert_eq!(email(&|m| m.username = "bob".into()), ["username"]);
        assert_eq!(
            email(&|m| {
                m.use_tls = true;
                m.use_ssl = true;
            }),
            ["use_ssl"]
        );
        assert_eq!(email(&|m| m.port = 0), ["port"]);
        assert!(
            email(&|m| {
                m.use_global_settings = true;
                m.username = "ignored".into();
            })
            .is_empty()
        );
    }

    #[test]
    fn dummy_wait_min_above_wait_max_is_refused() {
        let d = |wait_min, wait_max| {
            policy_refusals(&PolicySettings::Dummy(DummySettings {
                result: true,
                wait_min,
                wait_max,
            }))
        };
        assert!(d(0, 1).is_empty());
        assert!(d(2, 2).is_empty());
        let r = d(3, 1);
        assert_eq!(r[0].0, "wait_max");
        assert!(r[0].1.contains("below wait_min"));
        assert_eq!(d(-1, 1)[0].0, "wait_min");
    }
}
