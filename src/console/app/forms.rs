//! The app's side of forms, the type chooser and the delete dialog: opening them from the
//! selected row, handing them the keymap's actions and typed keys, turning a valid form into a [`Request`] and showing
//! the [`Outcome`] where it belongs (at the field, in the dialog, or in the status line).

use crossterm::event::KeyEvent;

use super::overlay::Overlay;
use super::{App, ExternalEdit, Status};
use crate::console::actions::AccountChange;
use crate::console::actions::{Outcome, Request};
use crate::console::dialog::{DeleteDialog, DeleteTarget, DialogOutcome};
use crate::console::form::picker::{ListPick, Picker};
use crate::console::form::{Form, FormOutcome, Purpose};
use crate::console::form::{open, specs, with_provider};
use crate::console::keymap::{self, Action};
use crate::console::tabs::{TABS, TabId, Tone};
use crate::console::text::inert;
use crate::domain::{Kind, Object};
use crate::service::ServiceError;
use crate::service::accounts::{NewToken, TokenIntent, parse_expiry};
use crate::service::certificates::KeyAlgorithm;
use crate::service::enrollment::NewEnrollmentToken;
use crate::service::invitations::NewInvitation;

impl App {
    /// Opens `form` as `n` or `e` would (tests render every declared form this way).
    pub fn open_form_for_test(&mut self, form: Form) {
        self.open_form(form);
    }

    /// Opens `form` over what is showing (it replaces a form already open).
    pub(super) fn open_form(&mut self, form: Form) {
        match self.overlays.form_mut() {
            Some(open) => *open = form,
            None => self.overlays.push(Overlay::Form(Box::new(form))),
        }
    }

    /// Closes the form: back to the list or detail it was opened from.
    pub(super) fn close_form(&mut self) {
        if self.overlays.form_on_top() {
            self.overlays.pop();
        }
    }

    /// A form row's action (the stale form's reload even while saving, nothing else then).
    pub(super) fn form_action(&mut self, action: Action) {
        if action == Action::Reload {
            self.reload_form();
            return;
        }
        let Some(form) = self.overlays.form_mut() else {
            return;
        };
        if form.saving {
            return;
        }
        let outcome = form.act(action, &self.data);
        if action == Action::Reveal
            && let Some(req) = revealed_secret(form)
        {
            self.pending = Some(req);
            return;
        }
        match outcome {
            FormOutcome::Stay => {}
            FormOutcome::Close => self.close_form(),
            FormOutcome::EditExternally { key, text } => {
                self.external_edit = Some(ExternalEdit { key, text });
            }
            FormOutcome::Save => {
                if let Some(req) = request_for(form) {
                    form.saving = true;
                    self.pending = Some(req);
                }
            }
            FormOutcome::CreateFor(key) => self.create_for_field(key),
        }
    }

    /// `n` on a select: a form creating an object for it, over this one (saving it selects
    /// the new object here).
    fn create_for_field(&mut self, key: &'static str) {
        let Some(form) = self.overlays.form_mut() else {
            return;
        };
        match open::form_for_field(&form.base, key, &self.data) {
            Some(nested) => self.overlays.push(Overlay::Form(Box::new(nested))),
            None => form.banner = Some("nothing to create for this field".into()),
        }
    }

    /// A form saved: it closes, and a form opened with `n` from another form's select has the
    /// new object selected there.
    fn close_saved_form(&mut self) {
        let Some(Overlay::Form(saved)) = self.overlays.pop() else {
            return;
        };
        if let (Some(key), Some(parent)) = (saved.select_in_parent, self.overlays.form_mut()) {
            parent.set_one(key, Some(saved.base.id()));
            parent.dirty = true;
            parent.validate();
        }
    }

    /// `N` on the Applications tab: authentik's "Create with Provider", one form for a new
    /// application and its provider.
    pub(super) fn start_new_with_provider(&mut self) {
        if TABS[self.tab].id != TabId::Applications {
            self.set_status(
                "N creates an application with its provider: on the Applications tab",
                Tone::Muted,
            );
            return;
        }
        let form = open::application_with_provider_form(&self.data);
        self.open_form(form);
    }

    /// `B` in a flow's detail: a policy binding on the selected stage binding (authentik's
    /// way of making a stage conditional), or on the flow when no stage binding is selected.
    pub(super) fn start_bind_policy(&mut self) {
        if let Some(group) = self.device_access_group_detail() {
            let form = open::new_policy_binding_form(group, &self.data);
            self.open_form(form);
            return;
        }
        if TABS[self.tab].id != TabId::Flows {
            return;
        }
        let Some(flow_id) = self.selected_id() else {
            return;
        };
        let lines = self.binding_lines();
        let selected = lines.get(self.copy_cursor()).map(|(id, _)| id.as_str());
        let target = match selected {
            Some(id) if self.data.bindings.iter().any(|b| b.id == id) => id.to_string(),
            Some(id) => self
                .data
                .policy_bindings
                .iter()
                .find(|b| b.id == id)
                .map_or(flow_id, |b| b.target_id.clone()),
            None => flow_id,
        };
        let form = open::new_policy_binding_form(&target, &self.data);
        self.open_form(form);
    }

    /// A key no form row binds: typed into the focused field (nothing while saving).
    pub(super) fn form_typed(&mut self, ev: &KeyEvent) {
        if let Some(form) = self.overlays.form_mut()
            && !form.saving
        {
            form.type_key(ev);
        }
    }

    /// `r` on a stale form: the stored object again (the form closes if it is gone).
    fn reload_form(&mut self) {
        let Some(form) = self.overlays.form() else {
            return;
        };
        let tab = TABS[self.tab].id;
        match open::object_for(tab, form.base.id(), &self.data) {
            Some((_, fresh, _)) => self.open_form(open::edit_form(fresh)),
            None => self.close_form(),
        }
    }

    pub(super) fn start_new(&mut self) {
        let tab = TABS[self.tab].id;
        if let Some(choices) = open::new_choices(tab) {
            let picker = Picker::over_list(choices.iter().map(|(_, label)| label.clone()));
            let choices = choices.into_iter().map(|(c, _)| c).collect();
            self.overlays.push(Overlay::Choose(picker, choices));
        } else if let Some(form) = open::new_form(tab) {
            self.open_form(form);
        } else {
            self.set_status("nothing to create on this tab", Tone::Muted);
        }
    }

    /// A row's action in the type chooser: picking a type opens its form.
    pub(super) fn chooser_action(&mut self, action: Action) {
        let Some(Overlay::Choose(picker, choices)) = self.overlays.top_mut() else {
            return;
        };
        let ListPick::Closed(picked) = picker.act_on_list(action, choices) else {
            return;
        };
        self.overlays.pop();
        if let Some(choice) = picked {
            let form = open::chosen_form(choice, &self.data);
            self.open_form(form);
        }
    }

    /// The object `e`, `D`, `P`, `x` and `b` act on: the open detail's, or the selected row's.
    fn selected_id(&self) -> Option<String> {
        match self.overlays.detail_on_top() {
            Some(d) => Some(d.row.key.clone()),
            None => self.selected_row().map(|r| r.key.clone()),
        }
    }

    pub(super) fn start_edit(&mut self) {
        let tab = TABS[self.tab].id;
        let Some(id) = self.selected_id() else { return };
        match open::object_for(tab, &id, &self.data) {
            Some((_, obj, _)) => {
                let form = open::edit_form(obj);
                self.open_form(form);
            }
            None => self.set_status("nothing to edit here", Tone::Muted),
        }
    }

    pub(super) fn start_delete(&mut self) {
        let tab = TABS[self.tab].id;
        let Some(id) = self.selected_id() else { return };
        match open::object_for(tab, &id, &self.data) {
            Some((kind, _, name)) => self.pending = Some(Request::Usages { kind, id, name }),
            None => match self.data.invitations.iter().find(|i| i.id == id) {
                Some(i) if tab == TabId::Users => {
                    let dialog = DeleteDialog::invitation(id, format!("invitation {}", i.name));
                    self.overlays.push(Overlay::Delete(dialog));
                }
                _ => self.set_status("nothing to delete here", Tone::Muted),
            },
        }
    }

    pub(super) fn start_bind_stage(&mut self) {
        if TABS[self.tab].id != TabId::Flows {
            return;
        }
        if let Some(id) = self.selected_id() {
            let form = open::new_binding_form(&id, &self.data);
            self.open_form(form);
        }
    }

    /// The binding under the flow detail's cursor: a stage binding, or a policy binding on the
    /// flow or on one of its stage bindings.
    fn selected_binding(&self) -> Option<Object> {
        let lines = self.binding_lines();
        let (id, _) = lines.get(self.copy_cursor())?;
        if let Some(b) = self.data.bindings.iter().find(|b| b.id == *id) {
            return Some(Object::FlowStageBinding(b.clone()));
        }
        self.data
            .policy_bindings
            .iter()
            .find(|b| b.id == *id)
            .map(|b| Object::PolicyBinding(b.clone()))
    }

    pub(super) fn edit_binding(&mut self) {
        match self.selected_binding() {
            Some(b) => {
                let form = open::edit_form(b);
                self.open_form(form);
            }
            None => self.set_status("no binding selected", Tone::Muted),
        }
    }

    pub(super) fn remove_binding(&mut self) {
        let lines = self.binding_lines();
        match (self.selected_binding(), lines.get(self.copy_cursor())) {
            (Some(b), Some((_, text))) => {
                let (kind, name) = match &b {
                    Object::PolicyBinding(p) => (
                        Kind::PolicyBinding,
                        format!(
                            "policy binding #{} {}",
                            p.order,
                            specs::binding_subject_label(&self.data, &p.subject)
                        ),
                    ),
                    _ => (Kind::FlowStageBinding, format!("binding {}", text.trim())),
                };
                self.pending = Some(Request::Usages {
                    kind,
                    id: b.id().to_string(),
                    name,
                });
            }
            _ => self.set_status("no binding selected", Tone::Muted),
        }
    }

    /// The flow detail's bindings, as `(id, line)`: each stage binding in order with the
    /// policy bindings on it under it, then the policy bindings on the flow itself.
    pub(super) fn flow_binding_lines(&self, flow_id: &str) -> Vec<(String, String)> {
        let mut stage_bindings: Vec<_> = self
            .data
            .bindings
            .iter()
            .filter(|b| b.flow_id == flow_id)
            .collect();
        stage_bindings.sort_by_key(|b| b.order);
        let mut out = Vec::new();
        for b in stage_bindings {
            let stage = self.data.stages.iter().find(|s| s.id == b.stage_id);
            let text = format!(
                "{:>4}  {} ({})",
                b.order,
                stage.map_or(b.stage_id.as_str(), |s| s.name.as_str()),
                stage.map_or("?", |s| s.kind().label())
            );
            out.push((b.id.clone(), text));
            out.extend(self.policy_binding_lines(&b.id, "        └ "));
        }
        out.extend(self.policy_binding_lines(flow_id, "flow  └ "));
        out
    }

    /// The policy bindings on `target_id` in order, each line after `indent`.
    pub(super) fn policy_binding_lines(
        &self,
        target_id: &str,
        indent: &str,
    ) -> Vec<(String, String)> {
        let mut bindings: Vec<_> = self
            .data
            .policy_bindings
            .iter()
            .filter(|b| b.target_id == target_id)
            .collect();
        bindings.sort_by_key(|b| b.order);
        bindings
            .into_iter()
            .map(|b| {
                let mut text = format!(
                    "{indent}#{} {}",
                    b.order,
                    specs::binding_subject_label(&self.data, &b.subject)
                );
                if b.negate {
                    text.push_str(", negated");
                }
                if !b.enabled {
                    text.push_str(", disabled");
                }
                (b.id.clone(), text)
            })
            .collect()
    }

    /// How many stage and policy bindings the open flow detail lists (its section title).
    pub fn flow_binding_counts(&self, flow_id: &str) -> (usize, usize) {
        let stages = self
            .data
            .bindings
            .iter()
            .filter(|b| b.flow_id == flow_id)
            .count();
        let lines = self.flow_binding_lines(flow_id).len();
        (stages, lines.saturating_sub(stages))
    }

    /// `x` on a certificate: the export form.
    pub(super) fn start_export(&mut self) {
        if TABS[self.tab].id != TabId::Certificates {
            return;
        }
        let Some(id) = self.selected_id() else { return };
        if let Some(cert) = self.data.certificates.iter().find(|c| c.id == id) {
            let form = open::export_form(cert);
            self.open_form(form);
        }
    }

    pub(super) fn start_set_password(&mut self) {
        if TABS[self.tab].id != TabId::Users {
            return;
        }
        let Some(id) = self.selected_id() else { return };
        match self.data.users.iter().find(|u| u.id == id) {
            Some(user) => {
                let form = open::password_form(user);
                self.open_form(form);
            }
            None => self.set_status("groups have no password", Tone::Muted),
        }
    }

    /// `K` / `M` on a user: a recovery link to hand over (shown once), or a recovery email.
    pub(super) fn request_recovery(&mut self, by_email: bool) {
        if TABS[self.tab].id != TabId::Users {
            return;
        }
        let Some(id) = self.selected_id() else { return };
        let Some(user) = self.data.users.iter().find(|u| u.id == id) else {
            self.set_status("groups have no recovery", Tone::Muted);
            return;
        };
        let (user_id, username) = (user.id.clone(), user.username.clone());
        self.pending = Some(if by_email {
            Request::SendRecoveryEmail { user_id, username }
        } else {
            Request::CreateRecoveryLink { user_id, username }
        });
    }

    /// A row's action in the delete dialog: Delete (when armed) asks the service.
    pub(super) fn dialog_action(&mut self, action: Action) {
        let Some(Overlay::Delete(d)) = self.overlays.top_mut() else {
            return;
        };
        match d.act(action) {
            DialogOutcome::Stay => {}
            DialogOutcome::Cancel => {
                self.overlays.pop();
            }
            DialogOutcome::Delete => {
                let (id, name) = (d.id.clone(), d.name.clone());
                self.pending = Some(match (&d.change, d.target) {
                    (Some(change), _) => Request::Account(change.clone()),
                    (None, DeleteTarget::Object(kind)) => Request::Delete { kind, id, name },
                    (None, DeleteTarget::Invitation) => Request::DeleteInvitation { id, name },
                });
            }
        }
    }

    /// Returns and clears a Ctrl-E request: the loop suspends the terminal, runs `$EDITOR` on
    /// the text and calls [`App::finish_external_edit`].
    pub fn take_external_edit(&mut self) -> Option<ExternalEdit> {
        self.external_edit.take()
    }

    /// Puts what the editor left into the field (or shows why it failed).
    pub fn finish_external_edit(&mut self, key: &str, result: Result<String, String>) {
        match self.overlays.form_mut() {
            Some(form) => form.finish_external_edit(key, result),
            None => {
                if let Err(why) = result {
                    self.set_status(&why, Tone::Error);
                }
            }
        }
    }

    /// Returns and clears the use-case call the last key asked for.
    pub fn take_request(&mut self) -> Option<Request> {
        self.pending.take()
    }

    /// Shows what a request came back with.
    pub fn apply_outcome(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Saved(msg) => {
                match self.overlays.top() {
                    Some(Overlay::Form(_)) => self.close_saved_form(),
                    Some(Overlay::Import(_)) => {
                        self.overlays.pop();
                    }
                    _ => {}
                }
                self.set_status(&msg, Tone::Ok);
            }
            Outcome::Noted => {}
            Outcome::Deleted(msg) => self.deleted(&msg),
            Outcome::Usages {
                kind,
                id,
                name,
                usages,
                refused,
            } => {
                let dialog = DeleteDialog::new(kind, id, name, usages, refused);
                self.overlays.push(Overlay::Delete(dialog));
            }
            Outcome::Preview {
                file,
                sources,
                report,
            } => self.show_preview(file, sources, report),
            Outcome::BlueprintFailed(msg) => self.show_import_error(&msg),
            Outcome::Failed(err) => self.failed(&err),
            Outcome::DryRun { title, answer } => self.show_dry_run(title, &answer),
            Outcome::DeviceFacts { id, rows } => self.apply_device_facts(id, rows),
            Outcome::Events { filter, events } => self.apply_events(filter, events),
            Outcome::SecretShownOnce {
                message,
                what,
                secret,
            } => {
                if self.overlays.form_on_top() {
                    self.close_saved_form();
                }
                self.set_status(&message, Tone::Ok);
                self.show_secret_once(&what, &secret);
            }
        }
    }

    /// The delete went through: a stage or policy binding removed from a flow's detail leaves
    /// the detail open, anything else closes the detail too (the object is gone).
    fn deleted(&mut self, msg: &str) {
        // A binding removed from a device access group's detail leaves it open as well.
        let on_flow = TABS[self.tab].id == TabId::Flows
            || (TABS[self.tab].id == TabId::Connectors && self.overlays.detail().is_some());
        // So does an account change from a user's detail.
        let binding = matches!(
            self.overlays.top(),
            Some(Overlay::Delete(d)) if d.target == DeleteTarget::Object(Kind::FlowStageBinding)
                || (on_flow && d.target == DeleteTarget::Object(Kind::PolicyBinding))
                || d.change.is_some()
        );
        if matches!(self.overlays.top(), Some(Overlay::Delete(_))) {
            self.overlays.pop();
        }
        match self.overlays.detail_on_top_mut() {
            Some(d) if binding => d.cursor = 0,
            _ => self.overlays.clear(),
        }
        self.set_status(msg, Tone::Ok);
    }

    /// A use-case refused: at the form's field, in the dialog, or on the status line.
    fn failed(&mut self, err: &ServiceError) {
        match self.overlays.top_mut() {
            Some(Overlay::Form(form)) => {
                form.saving = false;
                show_in_form(form, err);
            }
            Some(Overlay::Delete(d)) => d.error = Some(inert(&err.to_string())),
            _ => {
                self.status = Some(Status {
                    text: inert(&err.to_string()),
                    tone: Tone::Error,
                });
            }
        }
    }

    /// The open form.
    pub fn form(&self) -> Option<&Form> {
        self.overlays.form()
    }

    /// The open form, for tests that fill fields directly.
    pub fn form_mut(&mut self) -> Option<&mut Form> {
        self.overlays.form_mut()
    }

    /// The type chooser `n` opened.
    pub fn chooser(&self) -> Option<&Picker> {
        match self.overlays.top() {
            Some(Overlay::Choose(p, _)) => Some(p),
            _ => None,
        }
    }

    /// The open delete dialog.
    pub fn dialog(&self) -> Option<&DeleteDialog> {
        match self.overlays.top() {
            Some(Overlay::Delete(d)) => Some(d),
            _ => None,
        }
    }
}

/// The request a valid form saves with.
fn request_for(form: &Form) -> Option<Request> {
    let text = |k: &str| {
        form.value(k)
            .map(|v| v.text().trim().to_string())
            .unwrap_or_default()
    };
    Some(match &form.purpose {
        Purpose::Create => Request::Save {
            obj: Box::new(form.build()),
            is_new: true,
        },
        Purpose::Update => Request::Save {
            obj: Box::new(form.build()),
            is_new: false,
        },
        Purpose::CreateWithProvider => {
            let (application, provider) = with_provider::pair(form)?;
            Request::CreateApplicationWithProvider {
                application: Box::new(application),
                provider: Box::new(provider),
            }
        }
        Purpose::GenerateCertificate => Request::GenerateCertificate {
            name: text("name"),
            common_name: text("common_name"),
            sans: text("subject_alt_name")
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            days: text("validity_days").parse().unwrap_or(365),
            algorithm: match form.value("alg").and_then(|v| v.one()) {
                Some("rsa2048") => KeyAlgorithm::Rsa2048,
                Some("ecdsa_p256") => KeyAlgorithm::EcdsaP256,
                Some("ecdsa_p384") => KeyAlgorithm::EcdsaP384,
                Some("ed25519") => KeyAlgorithm::Ed25519,
                _ => KeyAlgorithm::Rsa4096,
            },
        },
        Purpose::ImportCertificate => {
            let key = text("key_data");
            Request::ImportCertificate {
                name: text("name"),
                certificate: text("certificate_data"),
                key: if key.is_empty() { None } else { Some(key) },
            }
        }
        Purpose::ExportCertificate(id) => Request::ExportCertificate {
            id: id.clone(),
            certificate_path: text("certificate_path"),
            key_path: text("key_path"),
        },
        Purpose::ImportBlueprint => Request::PreviewBlueprint { path: text("path") },
        Purpose::DryRun(dry_run) => dry_run.request(form),
        Purpose::CreateEnrollmentToken => Request::CreateEnrollmentToken(NewEnrollmentToken {
            name: text("name"),
            connector_id: form
                .value("connector")
                .and_then(|v| v.one())
                .unwrap_or_default()
                .to_string(),
            device_group_id: form
                .value("device_group")
                .and_then(|v| v.one())
                .map(str::to_string),
            // The field accepts only a valid duration or nothing.
            expires_in: Some(text("expires_in"))
                .filter(|t| !t.is_empty())
                .and_then(|t| crate::domain::Duration::parse(&t).ok()),
        }),
        Purpose::CreateInvitation => Request::CreateInvitation(invitation_request(form)),
        Purpose::CreateToken(user_id, username) => Request::Account(AccountChange::CreateToken {
            user_id: user_id.clone(),
            username: username.clone(),
            new: NewToken {
                intent: form
                    .value("intent")
                    .and_then(|v| v.one())
                    .and_then(TokenIntent::parse)
                    .unwrap_or(TokenIntent::AppPassword),
                description: text("description"),
                // The field accepts only a valid duration or nothing.
                expires_in: parse_expiry(&text("expires")).ok().flatten(),
            },
        }),
        Purpose::SetPassword(user_id) => Request::SetPassword {
            user_id: user_id.clone(),
            password: form
                .value("password")
                .map(|v| v.text().to_string())
                .unwrap_or_default(),
        },
    })
}

/// Puts a failed save's reason at the field it concerns, or in the form's banner.
/// The invitation the form asks for; the console's OS user is recorded as its maker.
fn invitation_request(form: &Form) -> NewInvitation {
    let text = |k: &str| {
        form.value(k)
            .map(|v| v.text().trim().to_string())
            .unwrap_or_default()
    };
    let fixed = text("fixed_data");
    NewInvitation {
        name: text("name"),
        flow: form.value("flow").and_then(|v| v.one()).map(str::to_string),
        // The field accepts only a JSON object (or nothing).
        fixed_data: if fixed.is_empty() {
            serde_json::json!({})
        } else {
            serde_json::from_str(&fixed).unwrap_or(serde_json::Value::Null)
        },
        single_use: form.value("single_use").is_some_and(|v| v.flag()),
        // The field accepts only a valid duration or nothing.
        expires_in: Some(text("expires_in"))
            .filter(|t| !t.is_empty())
            .and_then(|t| crate::domain::Duration::parse(&t).ok()),
        created_by: format!(
            "console:{}",
            std::env::var("USER").unwrap_or_else(|_| "unknown".into())
        ),
    }
}

fn show_in_form(form: &mut Form, err: &ServiceError) {
    if err.is_stale() {
        form.stale = true;
        form.banner = Some(format!(
            "changed by someone else meanwhile: {} to reload",
            keymap::label_of(Action::Reload)
        ));
        return;
    }
    let fields = err.field_errors();
    if fields.is_empty() {
        form.banner = Some(inert(&err.to_string()));
    }
    for e in fields {
        if !form.set_error(&e.field, &e.message) {
            form.banner = Some(e.message.clone());
        }
    }
}

/// The audit request for a stored secret Ctrl-T just revealed in an update form (a secret
/// typed or generated in this form is the admin's own and not recorded).
fn revealed_secret(form: &crate::console::form::Form) -> Option<Request> {
    let field = form.fields.get(form.focus)?;
    let crate::console::form::field::FieldKind::Secret(_) = field.spec.kind else {
        return None;
    };
    let stored = form.purpose == crate::console::form::Purpose::Update && field.revealed;
    stored.then(|| Request::SecretView {
        kind: form.base.kind(),
        id: form.base.id().to_string(),
        field: field.spec.key,
        how: "reveal",
    })
}
