//! The user detail's account care, after its sessions: the user's authenticators, consents and
//! app passwords / API tokens as selectable lines (one cursor runs over the sessions and these),
//! `R` on one of them (a confirmation first), `M` to reset MFA and `T` to make a token (a small
//! form; the key is shown once in a message window that `y` copies from).

use super::App;
use super::overlay::Overlay;
use crate::console::actions::AccountChange;
use crate::console::dialog::DeleteDialog;
use crate::console::form::open;
use crate::console::tabs::{TABS, TabId, Tone};
use crate::domain::User;

/// Which section of the user detail a line belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountSection {
    /// A second factor (TOTP, static recovery codes, WebAuthn).
    Authenticator,
    /// A remembered consent to an application.
    Consent,
    /// An app password or API token.
    Token,
    /// A notification the user received (a notification rule matched an event).
    Notification,
}

impl AccountSection {
    /// Every section, in the order the detail shows them.
    pub const ALL: [AccountSection; 4] = [
        AccountSection::Authenticator,
        AccountSection::Consent,
        AccountSection::Token,
        AccountSection::Notification,
    ];

    /// The section's title (its count is added), with the keys that act on it.
    pub fn title(self) -> &'static str {
        match self {
            AccountSection::Authenticator => "Authenticators",
            AccountSection::Consent => "Consents",
            AccountSection::Token => "App passwords and API tokens",
            AccountSection::Notification => "Notifications received",
        }
    }

    /// The keys that act on the section's lines, for its title.
    pub fn keys(self) -> &'static str {
        match self {
            AccountSection::Authenticator => "R delete, M reset MFA (delete all)",
            AccountSection::Consent => "R revoke (asks again next time)",
            AccountSection::Token => "R revoke, T new (key shown once)",
            AccountSection::Notification => "newest first, * unseen",
        }
    }
}

/// One selectable line of the user detail's account sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountLine {
    /// Its section.
    pub section: AccountSection,
    /// The item's id (what the change names).
    pub id: String,
    /// How messages and dialogs name it.
    pub label: String,
    /// What the line shows.
    pub text: String,
}

/// A time left or past as "in 3d" / "never".
fn expiry(at: Option<i64>, now: i64) -> String {
    match at {
        None => "never expires".into(),
        Some(t) if t <= now => "expired".into(),
        Some(t) => format!("expires in {}", span(t - now)),
    }
}

fn span(secs: i64) -> String {
    match secs.max(0) {
        s @ 0..60 => format!("{s}s"),
        s @ 60..3600 => format!("{}m", s / 60),
        s @ 3600..86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

impl App {
    /// The user whose detail is open (not a group's), also under a dialog or form, so its
    /// sections keep their lines behind them.
    pub(super) fn detail_user(&self) -> Option<&User> {
        if TABS[self.tab].id != TabId::Users {
            return None;
        }
        let row = self.detail()?;
        self.data.users.iter().find(|u| u.id == row.key)
    }

    /// The user detail's account lines, section by section (empty elsewhere).
    pub fn account_lines(&self) -> Vec<AccountLine> {
        let Some(user) = self.detail_user() else {
            return Vec::new();
        };
        let now = self.data.now;
        let d = &self.data;
        let authenticators = d
            .authenticators
            .iter()
            .filter(|a| a.user_id == user.id)
            .map(|a| AccountLine {
                section: AccountSection::Authenticator,
                id: a.id.clone(),
                label: format!("{} ({})", a.name, a.kind),
                text: format!(
                    "{:<9} {:<24} set up {} ago{}",
                    a.kind,
                    a.name,
                    span(now - a.created_at),
                    a.codes_left
                        .map(|n| format!(", {n} code(s) left"))
                        .unwrap_or_default()
                ),
            });
        let consents = d
            .consents
            .iter()
            .filter(|c| c.user_id == user.id)
            .map(|c| AccountLine {
                section: AccountSection::Consent,
                id: c.id.clone(),
                label: c.application.clone(),
                text: format!(
                    "{:<24} {}  {}",
                    c.application,
                    if c.permissions.is_empty() {
                        "(no scopes)".to_string()
                    } else {
                        c.permissions.join(" ")
                    },
                    expiry(c.expires_at, now)
                ),
            });
        let tokens = d
            .tokens
            .iter()
            .filter(|t| t.user_id == user.id)
            .map(|t| AccountLine {
                section: AccountSection::Token,
                id: t.id.clone(),
                label: t.identifier.clone(),
                text: format!(
                    "{:<12} {}  {}  {}",
                    t.intent,
                    t.identifier,
                    expiry(t.expires_at, now),
                    t.description
                ),
            });
        let notifications = d
            .notifications
            .iter()
            .filter(|n| n.user_id == user.id)
            .map(|n| AccountLine {
                section: AccountSection::Notification,
                id: n.id.clone(),
                label: n.body.clone(),
                text: format!(
                    "{} {:<7} {:>4} ago  {}",
                    if n.seen { " " } else { "*" },
                    n.severity.as_str(),
                    span(now - n.created_at),
                    n.body
                ),
            });
        authenticators
            .chain(consents)
            .chain(tokens)
            .chain(notifications)
            .collect()
    }

    /// `R` on an account line (index among [`App::account_lines`]): a confirmation first.
    pub(super) fn start_account_revoke(&mut self, index: usize) {
        let Some(user) = self.detail_user().cloned() else {
            return;
        };
        let Some(line) = self.account_lines().get(index).cloned() else {
            self.set_status("nothing selected", Tone::Muted);
            return;
        };
        let (user_id, id, label) = (user.id.clone(), line.id.clone(), line.label.clone());
        let dialog = match line.section {
            AccountSection::Authenticator => DeleteDialog::account(
                "Delete",
                format!("authenticator {label}"),
                format!("{} can no longer sign in with it.", user.username),
                AccountChange::DeleteAuthenticator { user_id, id, label },
            ),
            AccountSection::Consent => DeleteDialog::account(
                "Revoke",
                format!("the consent to {label}"),
                format!("{label} asks {} for consent again.", user.username),
                AccountChange::RevokeConsent { user_id, id, label },
            ),
            AccountSection::Token => DeleteDialog::account(
                "Revoke",
                format!("token {label}"),
                "It stops working at its next use.".into(),
                AccountChange::RevokeToken { user_id, id, label },
            ),
            AccountSection::Notification => {
                self.set_status("a notification is a record: nothing to revoke", Tone::Muted);
                return;
            }
        };
        self.overlays.push(Overlay::Delete(dialog));
    }

    /// `M` in a user's detail: delete every authenticator, after a confirmation.
    pub(super) fn start_mfa_reset(&mut self) {
        let Some(user) = self.detail_user().cloned() else {
            return;
        };
        let n = self
            .data
            .authenticators
            .iter()
            .filter(|a| a.user_id == user.id)
            .count();
        if n == 0 {
            self.set_status(
                &format!("{} has no authenticator", user.username),
                Tone::Muted,
            );
            return;
        }
        let dialog = DeleteDialog::account(
            "Reset",
            format!("MFA of {}", user.username),
            format!(
                "Deletes all {n} authenticator(s): the old factors stop working, and {} sets up \
                 new ones at the next sign-in where the flow asks for it.",
                user.username
            ),
            AccountChange::ResetMfa {
                user_id: user.id.clone(),
                username: user.username.clone(),
            },
        );
        self.overlays.push(Overlay::Delete(dialog));
    }

    /// `T` in a user's detail: the new token form.
    pub(super) fn start_new_token(&mut self) {
        if let Some(user) = self.detail_user().cloned() {
            let form = open::token_form(&user);
            self.open_form(form);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_read_as_time_left() {
        assert_eq!(expiry(None, 100), "never expires");
        assert_eq!(expiry(Some(100), 100), "expired");
        assert_eq!(expiry(Some(100 + 3 * 86400), 100), "expires in 3d");
        assert_eq!(expiry(Some(190), 100), "expires in 1m");
    }
}
