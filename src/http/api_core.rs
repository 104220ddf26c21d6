//! What the authentik Agent (ak-sysd) reads besides the Agent API: the current brand
//! (`GET /api/v3/core/brands/current/`, open to anyone, as authentik's), and for an
//! authenticated caller (the Agent's device token, `Authorization: Bearer+agent <key>`, or a
//! superuser's session: [`ApiCaller`])
//! the server's version (`GET /api/v3/admin/version/`) and the user and group directory of its
//! NSS module (`GET /api/v3/core/users/`, `/core/groups/`, paginated as authentik paginates).
//! Answers match authentik-client's `CurrentBrand`, `Version`, `PaginatedUserList` and
//! `PaginatedGroupList` models.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::SharedState;
use super::api_auth::ApiCaller;
use super::api_drf::{self, PageQuery};
use super::extract::RequestHost;
use crate::domain::paging::Page;
use crate::domain::{Brand, Flow, brand_match};
use crate::service::Service;
use crate::service::ServiceError;
use crate::service::directory::{DirectoryGroup, DirectoryUser};

/// The authentik API version latchkey answers as (the authentik-client release it is checked
/// against); the build hash names latchkey's own version.
pub const AUTHENTIK_API_VERSION: &str = "2026.8.5";

/// `GET /api/v3/admin/version/`.
pub async fn version(_caller: ApiCaller) -> Response {
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

/// `GET /api/v3/core/brands/current/`: the brand the request's host picks (authentik's
/// `get_brand_for_request`), its flows by slug.
pub async fn current_brand(State(state): State<SharedState>, host: RequestHost) -> Response {
    match current_brand_json(&state.service, host.get()).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => api_drf::server_error(&e, "current brand"),
    }
}

async fn current_brand_json(service: &Service, host: Option<&str>) -> Result<Value, ServiceError> {
    let brands = service.list_brands().await?;
    let flows = service.list_flows().await?;
    let brand = brand_match::brand_for_host(&brands, host);
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
        "ui_theme": ui_theme(b),
        "flow_authentication": slug(|b| &b.flow_authentication_id),
        "flow_user_switch": null,
        "flow_invalidation": slug(|b| &b.flow_invalidation_id),
        "flow_recovery": slug(|b| &b.flow_recovery_id),
        "flow_unenrollment": slug(|b| &b.flow_unenrollment_id),
        "flow_user_settings": slug(|b| &b.flow_user_settings_id),
        "flow_device_code": slug(|b| &b.flow_device_code_id),
        "flow_lockdown": null,
        "flow_request": null,
        "default_locale": setting(b, "/settings/locale").unwrap_or_default(),
        "flags": {"flows_continuous_login": false, "flows_refresh_others": false},
    })
}

/// A string in the brand's `attributes` at `pointer` (authentik reads its UI settings there).
fn setting(b: Option<&Brand>, pointer: &str) -> Option<String> {
    b.and_then(|b| b.attributes.pointer(pointer))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// authentik's `ui_theme`: `attributes.settings.theme.base` when it is one of its themes,
/// else `automatic`.
fn ui_theme(b: Option<&Brand>) -> String {
    setting(b, "/settings/theme/base")
        .filter(|t| ["automatic", "light", "dark"].contains(&t.as_str()))
        .unwrap_or_else(|| "automatic".to_string())
}

/// A unix time as authentik's ISO 8601 (UTC).
fn iso(at: i64) -> Value {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .map_or(Value::Null, Value::String)
}

/// `GET /api/v3/core/users/` (other filters than the page are ignored).
pub async fn users(
    State(state): State<SharedState>,
    _caller: ApiCaller,
    Query(q): Query<PageQuery>,
) -> Response {
    let page = match q.request() {
        Ok(req) => state.service.directory_users(req).await,
        Err(invalid) => return invalid.into_response(),
    };
    list_answer(page, user_json, "user directory")
}

/// `GET /api/v3/core/groups/` (other filters than the page are ignored).
pub async fn groups(
    State(state): State<SharedState>,
    _caller: ApiCaller,
    Query(q): Query<PageQuery>,
) -> Response {
    let page = match q.request() {
        Ok(req) => state.service.directory_groups(req).await,
        Err(invalid) => return invalid.into_response(),
    };
    list_answer(page, group_json, "group directory")
}

/// A page the service cut, rendered by `render`; no such page is DRF's 404.
fn list_answer<T>(
    page: Result<Option<Page<T>>, ServiceError>,
    render: impl Fn(&T) -> Value,
    what: &str,
) -> Response {
    match page {
        Ok(Some(p)) => api_drf::answer(
            StatusCode::OK,
            api_drf::paginated(&p.map(|item| render(&item))),
        ),
        Ok(None) => api_drf::InvalidPage.into_response(),
        Err(e) => api_drf::server_error(&e, what),
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
