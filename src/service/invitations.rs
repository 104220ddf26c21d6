//! Invitations (authentik's `Invitation`): made from the console and the CLI, each a link with a
//! random token that only exists in that link (the store keeps its SHA-256 digest), bound to an
//! enrollment flow that has an invitation stage, single-use or not, expiring or not, with data
//! fixed for the user it enrolls.

use serde_json::{Value, json};

use super::{Service, ServiceError, ServiceResult};
use crate::crypto::secrets;
use crate::domain::{Duration, FieldError, FieldErrors, StageKind, new_id};
use crate::store::{self, StoreError, Topic, invitations::InvitationRow};

/// The flow an invitation is for when the admin names none (the default blueprint's).
pub const DEFAULT_ENROLLMENT_FLOW: &str = "default-enrollment-flow";

/// How many random bytes an invitation token has (base64url in the link).
const TOKEN_BYTES: usize = 32;

/// What the admin asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInvitation {
    /// A unique name.
    pub name: String,
    /// The enrollment flow's slug or id (`None`: [`DEFAULT_ENROLLMENT_FLOW`]).
    pub flow: Option<String>,
    /// A JSON object laid over what the user types (e.g. `{"email": "…"}`).
    pub fixed_data: Value,
    /// Consumed by the first enrollment.
    pub single_use: bool,
    /// How long from now it is valid (`None`: never expires).
    pub expires_in: Option<Duration>,
    /// Who makes it (for the audit: a username, or the OS user of the console or CLI).
    pub created_by: String,
}

/// An invitation as listed (never its token).
#[derive(Debug, Clone, PartialEq)]
pub struct InvitationInfo {
    pub id: String,
    pub name: String,
    /// The flow's slug.
    pub flow: Option<String>,
    pub fixed_data: Value,
    pub single_use: bool,
    pub expires_at: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
}

/// An invitation just made, with its link: the only time the token exists outside the link.
#[derive(Debug, Clone)]
pub struct CreatedInvitation {
    pub invitation: InvitationInfo,
    /// The link to hand over (`…/if/flow/<slug>/?itoken=…`).
    pub url: String,
}

fn invalid(field: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::Invalid(FieldErrors(vec![FieldError {
        field: field.into(),
        message: message.into(),
    }]))
}

impl Service {
    /// Makes an invitation for an enrollment flow that has an invitation stage (else it would
    /// do nothing, so it is refused), and records `model_created` (without the token).
    pub async fn create_invitation(&self, new: &NewInvitation) -> ServiceResult<CreatedInvitation> {
        let name = new.name.trim();
        if name.is_empty() {
            return Err(invalid("name", "an invitation needs a name"));
        }
        if !new.fixed_data.is_object() {
            return Err(invalid(
                "fixed_data",
                "fixed data must be a JSON object, e.g. {\"email\": \"ann@example.com\"}",
            ));
        }
        if new.expires_in.is_some_and(|d| d.seconds() <= 0) {
            return Err(invalid(
                "expires_in",
                "an expiring invitation needs a validity above zero, e.g. days=7",
            ));
        }
        let wanted = new.flow.as_deref().unwrap_or(DEFAULT_ENROLLMENT_FLOW);
        let (flow_id, slug) = self.invitation_flow(wanted).await?;
        let slug = slug.as_str();
        let token = secrets::random_token(TOKEN_BYTES);
        let now = self.now();
        let row = InvitationRow {
            id: new_id(),
            name: name.to_string(),
            token_digest: secrets::digest(&token),
            flow_id: Some(flow_id),
            fixed_data: new.fixed_data.to_string(),
            single_use: new.single_use,
            expires_at: new.expires_in.map(|d| now + d.seconds()),
            created_by: new.created_by.clone(),
            created_at: now,
        };
        let mut tx = self.store().write_tx().await?;
        match store::invitations::insert(tx.conn(), &row).await {
            Err(StoreError::Duplicate { .. }) => {
                return Err(invalid(
                    "name",
                    format!("an invitation named {name} exists; choose another name"),
                ));
            }
            other => other?,
        }
        tx.touch(Topic::Users);
        tx.commit().await?;
        let info = InvitationInfo::of(row, Some(slug.to_string()));
        self.record_invitation_event("model_created", &info).await?;
        let url = format!(
            "{}/if/flow/{slug}/?itoken={token}",
            self.context().public_url()
        );
        Ok(CreatedInvitation {
            invitation: info,
            url,
        })
    }

    /// Every invitation, by name (never a token).
    pub async fn list_invitations(&self) -> ServiceResult<Vec<InvitationInfo>> {
        let mut conn = self.store().read().await?;
        let rows = store::invitations::list(&mut conn).await?;
        let flows = store::flows::list(&mut conn).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let slug = r
                    .flow_id
                    .as_ref()
                    .and_then(|id| flows.iter().find(|f| &f.id == id))
                    .map(|f| f.slug.clone());
                InvitationInfo::of(r, slug)
            })
            .collect())
    }

    /// Deletes the invitation with this name or id; its link stops working at once.
    pub async fn delete_invitation(&self, name_or_id: &str) -> ServiceResult<InvitationInfo> {
        let found = {
            let mut conn = self.store().read().await?;
            let row = store::invitations::by_name_or_id(&mut conn, name_or_id)
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("invitation {name_or_id}")))?;
            let slug = match &row.flow_id {
                Some(id) => store::flows::get(&mut conn, id).await?.map(|f| f.slug),
                None => None,
            };
            InvitationInfo::of(row, slug)
        };
        let mut tx = self.store().write_tx().await?;
        store::invitations::delete(tx.conn(), &found.id).await?;
        tx.touch(Topic::Users);
        tx.commit().await?;
        self.record_invitation_event("model_deleted", &found)
            .await?;
        Ok(found)
    }

    /// The id and slug of the flow with this slug or id, when one of its stages is an
    /// invitation stage.
    async fn invitation_flow(&self, slug: &str) -> ServiceResult<(String, String)> {
        let mut conn = self.store().read().await?;
        let found = match store::flows::get_by_slug(&mut conn, slug).await? {
            Some(flow) => Some(flow),
            None => store::flows::get(&mut conn, slug).await?,
        };
        let Some(flow) = found else {
            return Err(invalid(
                "flow",
                format!(
                    "no flow {slug}; name an enrollment flow (the default blueprints make \
                     {DEFAULT_ENROLLMENT_FLOW})"
                ),
            ));
        };
        for binding in store::flows::bindings_of(&mut conn, &flow.id).await? {
            let stage = store::stages::get(&mut conn, &binding.stage_id).await?;
            if stage.is_some_and(|s| s.settings.kind() == StageKind::Invitation) {
                return Ok((flow.id, flow.slug));
            }
        }
        Err(invalid(
            "flow",
            format!("flow {slug} has no invitation stage, so an invitation would do nothing there"),
        ))
    }

    async fn record_invitation_event(&self, action: &str, i: &InvitationInfo) -> ServiceResult<()> {
        let context = json!({"model": {"app": "authentik_stages_invitation", "model_name": "invitation",
            "pk": i.id, "name": i.name}, "flow": i.flow, "single_use": i.single_use,
            "expires_at": i.expires_at});
        let event = crate::domain::Event::by(self.actor(), action, context, self.now());
        Ok(self.context().insert_event(event).await?)
    }
}

impl InvitationInfo {
    fn of(r: InvitationRow, flow: Option<String>) -> Self {
        Self {
            fixed_data: serde_json::from_str(&r.fixed_data).unwrap_or_else(|_| json!({})),
            id: r.id,
            name: r.name,
            flow,
            single_use: r.single_use,
            expires_at: r.expires_at,
            created_by: r.created_by,
            created_at: r.created_at,
        }
    }
}
