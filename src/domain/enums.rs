//! authentik's enumerations, spelled exactly as authentik spells them so blueprints and API
//! payloads round-trip unchanged.

use serde::{Deserialize, Serialize};

/// Declares a string-backed enum with its authentik spelling and a human label, once.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => ($text:literal, $label:literal)),+ $(,)? } default $default:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in display order (drives selects in the console).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire/database spelling (authentik's).
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// A short human label for lists and pickers.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// Parses the authentik spelling; `None` for anything else.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }

            /// All accepted spellings, for error messages.
            pub fn choices() -> String {
                [$($text),+].join(", ")
            }
        }

        impl Default for $name {
            fn default() -> Self { $name::$default }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::parse(s).ok_or_else(|| format!("'{s}' is not one of: {}", Self::choices()))
            }
        }
    };
}

/// Lets the settings types declare their choice fields the same way.
pub(crate) use string_enum;

string_enum!(
    /// What a flow is for (authentik's `designation`).
    FlowDesignation {
        Authentication => ("authentication", "Authentication"),
        Authorization => ("authorization", "Authorization"),
        Invalidation => ("invalidation", "Invalidation"),
        Enrollment => ("enrollment", "Enrollment"),
        Unenrollment => ("unenrollment", "Unenrollment"),
        Recovery => ("recovery", "Recovery"),
        StageConfiguration => ("stage_configuration", "Stage configuration"),
    } default Authentication
);

string_enum!(
    /// Who may start a flow (authentik's `authentication`).
    FlowAuthentication {
        None => ("none", "No requirement"),
        RequireAuthenticated => ("require_authenticated", "Require authenticated"),
        RequireUnauthenticated => ("require_unauthenticated", "Require unauthenticated"),
        RequireSuperuser => ("require_superuser", "Require superuser"),
        RequireRedirect => ("require_redirect", "Require redirect"),
        RequireOutpost => ("require_outpost", "Require outpost"),
    } default None
);

string_enum!(
    /// What happens when a flow's policies deny access.
    DeniedAction {
        MessageContinue => ("message_continue", "Message, continue"),
        Message => ("message", "Message"),
        Continue => ("continue", "Continue"),
    } default MessageContinue
);

string_enum!(
    /// How many bound policies must pass.
    PolicyEngineMode {
        Any => ("any", "Any policy must match"),
        All => ("all", "All policies must match"),
    } default Any
);

string_enum!(
    /// Flow page layout.
    FlowLayout {
        Stacked => ("stacked", "Stacked"),
        ContentLeft => ("content_left", "Content left"),
        ContentRight => ("content_right", "Content right"),
        SidebarLeft => ("sidebar_left", "Sidebar left"),
        SidebarRight => ("sidebar_right", "Sidebar right"),
    } default Stacked
);

string_enum!(
    /// What the executor does with an invalid stage response.
    InvalidResponseAction {
        Retry => ("retry", "Retry"),
        Restart => ("restart", "Restart"),
        RestartWithContext => ("restart_with_context", "Restart with context"),
    } default Retry
);

string_enum!(
    /// Stage kinds latchkey implements, with authentik's blueprint model names kept in `stage_model`.
    StageKind {
        Identification => ("identification", "Identification"),
        Password => ("password", "Password"),
        AuthenticatorValidate => ("authenticator_validate", "Authenticator validation"),
        AuthenticatorTotp => ("authenticator_totp", "TOTP authenticator setup"),
        Consent => ("consent", "Consent"),
        UserLogin => ("user_login", "User login"),
        UserLogout => ("user_logout", "User logout"),
        UserWrite => ("user_write", "User write"),
        Prompt => ("prompt", "Prompt"),
        Deny => ("deny", "Deny"),
        Redirect => ("redirect", "Redirect"),
        Endpoint => ("endpoint", "Endpoint"),
        Invitation => ("invitation", "Invitation"),
        AuthenticatorStatic => ("authenticator_static", "Static authenticator setup"),
        AuthenticatorWebauthn => ("authenticator_webauthn", "WebAuthn authenticator setup"),
        Email => ("email", "Email"),
    } default Identification
);

string_enum!(
    /// Policy kinds.
    PolicyKind {
        Expression => ("expression", "Expression"),
        GroupMembership => ("group_membership", "Group membership"),
        Password => ("password", "Password"),
        Reputation => ("reputation", "Reputation"),
        EventMatcher => ("event_matcher", "Event matcher"),
        Dummy => ("dummy", "Dummy"),
    } default Expression
);

string_enum!(
    /// OAuth2 client type.
    ClientType {
        Confidential => ("confidential", "Confidential"),
        Public => ("public", "Public"),
    } default Confidential
);

string_enum!(
    /// How the `sub` claim is derived.
    SubMode {
        HashedUserId => ("hashed_user_id", "Hashed user ID"),
        UserId => ("user_id", "User ID"),
        UserUuid => ("user_uuid", "User UUID"),
        UserUsername => ("user_username", "Username"),
        UserEmail => ("user_email", "Email"),
        UserUpn => ("user_upn", "UPN"),
    } default HashedUserId
);

string_enum!(
    /// How relying parties are told a session ended (OpenID Connect Back-Channel / Front-Channel
    /// Logout), as authentik's provider setting.
    LogoutMethod {
        Backchannel => ("backchannel", "Back-channel"),
        Frontchannel => ("frontchannel", "Front-channel"),
    } default Backchannel
);

string_enum!(
    /// Whether the issuer is per provider or global.
    IssuerMode {
        PerProvider => ("per_provider", "Per provider"),
        Global => ("global", "Global"),
    } default PerProvider
);

string_enum!(
    /// How a redirect URI is matched.
    MatchingMode {
        Strict => ("strict", "Strict"),
        Regex => ("regex", "Regex"),
    } default Strict
);

string_enum!(
    /// Whether a redirect URI is for authorization or post-logout.
    RedirectUriType {
        Authorization => ("authorization", "Authorization"),
        Logout => ("logout", "Logout"),
    } default Authorization
);

string_enum!(
    /// Private key algorithm of a certificate keypair.
    KeyType {
        Rsa => ("rsa", "RSA"),
        Ec => ("ec", "ECDSA"),
        Ed25519 => ("ed25519", "Ed25519"),
    } default Rsa
);

string_enum!(
    /// Kind of user account.
    UserType {
        Internal => ("internal", "Internal"),
        External => ("external", "External"),
        ServiceAccount => ("service_account", "Service account"),
        InternalServiceAccount => ("internal_service_account", "Internal service account"),
    } default Internal
);

string_enum!(
    /// Connector kinds.
    ConnectorKind {
        Agent => ("agent", "authentik Agent"),
    } default Agent
);
