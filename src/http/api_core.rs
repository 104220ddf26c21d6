//! What the authentik Agent (ak-sysd) reads besides the Agent API: the current brand
//! (`GET /api/v3/core/brands/current/`, open to anyone, as authentik's), and for an
//! authenticated caller (here the Agent's device token, `Authorization: Bearer+agent <key>`)
//! the server's version (`GET /api/v3/admin/version/`) and the user and group directory of its
//! NSS module (`GET /api/v3/core/users/`, `/core/groups/`, paginated as authentik paginates).
//! Answers match authentik-client's `CurrentBrand`, `Version`, `PaginatedUserList` and
//! `PaginatedGroupList` models.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use crate::domain::{Brand, Flow};
use crate::service::directory::{
    DEFAULT_PAGE_SIZE, DirectoryGroup, DirectoryUser, Page, PageRequest,
};
use crate::service::{Service, ServiceError};

/// The authentik API version latchkey answers as (the authentik-client release it is checked
/// against); the build hash names latchkey's own version.
pub const AUTHENTIK_API_VERSION: &str = "2026.8.5";

/// The scheme ak-sysd sends its device token with.
const AGENT_SCHEME: &str = "Bearer+agent ";

/// A refused or failed call, as Django REST framework answers it (`{"detail": …}`).
struct Refusal(StatusCode, &'static str);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.0,
            [(header::CACHE_CONTROL, "no-store")],
            Json(json!({ "detail": self.1 })),
        )
            .into_response()
    }
}

impl From<ServiceError> for Refusal {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::AgentRefused(_) => Refusal(StatusCode::FORBIDDEN, PERMISSION_DENIED),
            other => {
                tracing::error!(error = %other, "api call failed");
                Refusal(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "A server error occurred.",
                )
            }
        }
    }
}

const NOT_AUTHENTICATED: &str = "Authentication credentials were not provided.";
const PERMISSION_DENIED: &str = "You do not have permission to perform this action.";

/// The Agent behind `Authorization: Bearer+agent <key>`: no such header is 403 "not
/// provided", a wrong key 403 "permission denied" (authentik answers both with 403).
async fn require_agent(service: &Service, headers: &HeaderMap) -> Result<(), Refusal> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix(AGENT_SCHEME))
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or(Refusal(StatusCode::FORBIDDEN, NOT_AUTHENTICATED))?;
    service.authenticate_agent(key).await?;
    Ok(())
}

/// `GET /api/v3/admin/version/`.
pub async fn version(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = require_agent(&state.service, &headers).await {
        return r.into_response();
    }
    Json(json!({
        "version_current": AUTHENTIK_API_VERSION,
        "version_latest": AUTHENTIK_API_VERSION,
        "version_latest_valid": true,
        "build_hash": concat!("latchkey-", env!("CARGO_PKG_VERSION")),
        "outdated": false,
        "outpost_outdated": false,
    }))
    .into_response()
}

/// `GET /api/v3/core/brands/current/`: the default brand (latchkey serves one public URL, so
/// no request host picks another), its flows by slug.
pub async fn current_brand(State(state): State<AppState>) -> Response {
    match current_brand_json(&state.service).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => Refusal::from(e).into_response(),
    }
}

async fn current_brand_json(service: &Service) -> Result<Value, ServiceError> {
    let brands = service.list_brands().await?;
    let flows = service.list_flows().await?;
    let brand = brands.iter().find(|b| b.default).or_else(|| brands.first());
    Ok(brand_json(brand, &flows))
}

/// authentik's `CurrentBrandSerializer` fields for `b` (none stored: authentik's fallback).
fn brand_json(b: Option<&Brand>, flows: &[Flow]) -> Value {
    let text = |get: fn(&Brand) -> &str| b.map_or(String::new(), |b| get(b).to_string());
    let slug = |get: fn(&Brand) -> &Option<String>| {
        b.and_then(|b| get(b).as_deref())
            .and_then(|id| flows.iter().find(|f| f.id == id))
            .map(|f| f.slug.clone())
    };
    let title = text(|b| &b.branding_title);
    json!({
        "matched_domain": text(|b| &b.domain),
        "branding_title": if title.is_empty() { "authentik".to_string() } else { title },
        "branding_logo": text(|b| &b.branding_logo),
        "branding_logo_themed_urls": null,
        "branding_favicon": text(|b| &b.branding_favicon),
        "branding_favicon_themed_urls": null,
        "branding_custom_css": text(|b| &b.branding_custom_css),
        "branding_map_tiles": "",
        "ui_footer_links": [],
        "ui_theme": "automatic",
        "flow_authentication": slug(|b| &b.flow_authentication_id),
        "flow_user_switch": null,
        "flow_invalidation": slug(|b| &b.flow_invalidation_id),
        "flow_recovery": slug(|b| &b.flow_recovery_id),
        "flow_unenrollment": slug(|b| &b.flow_unenrollment_id),
        "flow_user_settings": slug(|b| &b.flow_user_settings_id),
        "flow_device_code": slug(|b| &b.flow_device_code_id),
        "flow_lockdown": null,
        "flow_request": null,
        "default_locale": "",
        "flags": {"flows_continuous_login": false, "flows_refresh_others": false},
    })
}

/// The `page` and `page_size` query parameters of a list (anything else is ignored, as the
/// Agent's filters are; a non-number is authentik's 404 "Invalid page." for `page`).
#[derive(Debug, serde::Deserialize)]
pub struct ListQuery {
    page: Option<String>,
    page_size: Option<String>,
}

impl ListQuery {
    fn request(&self) -> Result<PageRequest, Refusal> {
        let number = |v: &Option<String>, default: usize| match v.as_deref() {
            None | Some("") => Some(default),
            Some(t) => t.trim().parse::<usize>().ok(),
        };
        let page = number(&self.page, 1)
            .filter(|p| *p >= 1)
            .ok_or(Refusal(StatusCode::NOT_FOUND, "Invalid page."))?;
        let page_size = number(&self.page_size, DEFAULT_PAGE_SIZE).unwrap_or(DEFAULT_PAGE_SIZE);
        Ok(PageRequest { page, page_size })
    }
}

/// authentik's pagination block for `p` with its `results`.
fn paginated<T>(p: &Page<T>, results: Vec<Value>) -> Value {
    let total = p.total_pages();
    let start = if p.items.is_empty() {
        0
    } else {
        (p.page - 1) * p.page_size + 1
    };
    json!({
        "pagination": {
            "next": if p.page < total { p.page + 1 } else { 0 },
            "previous": p.page.saturating_sub(1),
            "count": p.count,
            "current": p.page,
            "total_pages": total,
            "start_index": start,
            "end_index": if start == 0 { 0 } else { start + p.items.len() - 1 },
        },
        "results": results,
        "autocomplete": {},
    })
}

/// A unix time as authentik's ISO 8601 (UTC).
fn iso(at: i64) -> Value {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .map_or(Value::Null, Value::String)
}

/// `GET /api/v3/core/users/` (the Agent's device token).
pub async fn users(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Response {
    let run = async {
        require_agent(&state.service, &headers).await?;
        let page = state.service.directory_users(q.request()?).await?;
        let results = page.items.iter().map(user_json).collect();
        Ok::<_, Refusal>(paginated(&page, results))
    };
    match run.await {
        Ok(v) => Json(v).into_response(),
        Err(r) => r.into_response(),
    }
}

/// `GET /api/v3/core/groups/` (the Agent's device token).
pub async fn groups(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Response {
    let run = async {
        require_agent(&state.service, &headers).await?;
        let page = state.service.directory_groups(q.request()?).await?;
        let results = page.items.iter().map(group_json).collect();
        Ok::<_, Refusal>(paginated(&page, results))
    };
    match run.await {
        Ok(v) => Json(v).into_response(),
        Err(r) => r.into_response(),
    }
}

/// authentik's `UserSerializer` fields.
fn user_json(d: &DirectoryUser) -> Value {
    let u = &d.user;
    json!({
        "pk": d.number,
        "username": u.username,
        "name": u.name,
        "is_active": u.is_active,
        "last_login": u.last_login.map_or(Value::Null, iso),
        "date_joined": iso(u.created_at),
        "is_superuser": d.is_superuser,
        "groups": d.groups.iter().map(|(g, _)| g.id.clone()).collect::<Vec<_>>(),
        "groups_obj": d.groups.iter().map(|(g, n)| json!({
            "pk": g.id, "num_pk": n, "name": g.name, "is_superuser": g.is_superuser,
            "attributes": g.attributes,
        })).collect::<Vec<_>>(),
        "roles": [],
        "roles_obj": [],
        "email": u.email,
        "avatar": "",
        "attributes": u.attributes,
        "uid": crate::oauth::claims::subject(crate::domain::SubMode::HashedUserId, u),
        "path": u.path,
        "type": u.user_type.as_str(),
        "uuid": u.id,
        "password_change_date": iso(u.updated_at),
        "last_updated": iso(u.updated_at),
    })
}

/// authentik's `GroupSerializer` fields.
fn group_json(d: &DirectoryGroup) -> Value {
    let g = &d.group;
    json!({
        "pk": g.id,
        "num_pk": d.number,
        "name": g.name,
        "is_superuser": g.is_superuser,
        "parents": g.parent_id.iter().collect::<Vec<_>>(),
        "parents_obj": null,
        "users": d.member_numbers,
        "users_obj": null,
        "attributes": g.attributes,
        "roles": [],
        "roles_obj": [],
        "inherited_roles_obj": null,
        "children": d.children,
        "children_obj": null,
    })
}
