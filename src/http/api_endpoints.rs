//! authentik's endpoint devices API for administrators: `GET /api/v3/endpoints/devices/` (a
//! page of devices, as DRF's paginator and filters answer) and
//! `GET /api/v3/endpoints/devices/{device_uuid}/` (one device), each with its access group and
//! latest facts snapshot as authentik's `EndpointDevice` serializer has them. Callers are
//! superusers' browser sessions ([`super::api_auth::Superuser`]).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::SharedState;
use super::api_auth::Superuser;
use super::api_drf::{self, PageQuery, answer, detail};
use crate::domain::DeviceFactSnapshot;
use crate::domain::Timestamp;
use crate::domain::paging::Page;
use crate::service::ServiceError;
use crate::service::devices::{DeviceDetail, DeviceRelations, DeviceSummary};

/// The facts' vendor: the platform Agent is the only one latchkey takes facts from.
const AGENT_VENDOR: &str = "goauthentik.io/platform";

/// The devices routes (merged into the router).
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/api/v3/endpoints/devices/", get(list))
        .route("/api/v3/endpoints/devices/{device_uuid}/", get(retrieve))
}

/// A service failure: logged, 500 with DRF's body.
fn server_error(err: &ServiceError) -> Response {
    api_drf::server_error(err, "endpoint devices API call")
}

/// RFC 3339, as DRF renders a `DateTimeField`.
fn rfc3339(at: Timestamp) -> Value {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .map_or(Value::Null, Value::String)
}

/// A facts snapshot as authentik's `DeviceFactSnapshot` serializer renders it (null for none).
fn snapshot_json(snapshot: Option<&DeviceFactSnapshot>) -> Value {
    snapshot.map_or(Value::Null, |s| {
        json!({
            "data": s.data.0,
            "connection": s.connection_id,
            "created": rfc3339(s.created_at),
            "expires": s.expires_at.map_or(Value::Null, rfc3339),
            "vendor": AGENT_VENDOR,
        })
    })
}

/// One device with its connections and bound policies, as `EndpointDeviceDetails`.
fn device_details_json(d: &DeviceDetail, relations: &DeviceRelations) -> Value {
    let mut body = device_json(d);
    let connections_obj: Vec<Value> = relations
        .connections
        .iter()
        .map(|c| {
            json!({
                "device": c.connection.device_id,
                "connector": c.connector.id,
                "connector_obj": {
                    "connector_uuid": c.connector.id,
                    "name": c.connector.name,
                    "enabled": c.connector.enabled,
                    "component": "ak-endpoints-connector-agent-form",
                    "verbose_name": "Agent Connector",
                    "verbose_name_plural": "Agent Connectors",
                    "meta_model_name": "authentik_endpoints_connectors_agent.agentconnector",
                },
                "latest_snapshot": snapshot_json(c.latest_snapshot.as_ref()),
            })
        })
        .collect();
    body["connections"] = relations
        .connections
        .iter()
        .map(|c| Value::String(c.connection.id.clone()))
        .collect();
    body["connections_obj"] = Value::Array(connections_obj);
    body["policies"] = json!(relations.policy_ids);
    body
}

/// One device as authentik's `EndpointDevice` serializer renders it.
fn device_json(d: &DeviceDetail) -> Value {
    let device = &d.device;
    let access_group_obj = match (&d.summary.access_group_id, &d.summary.access_group_name) {
        (Some(id), Some(name)) => json!({ "pbm_uuid": id, "name": name }),
        _ => Value::Null,
    };
    let facts = snapshot_json(d.facts.as_ref());
    let mut body = json!({
        "device_uuid": device.id,
        "pbm_uuid": device.id,
        "name": device.name,
        "access_group": device.access_group_id,
        "expiring": device.expiring,
        "expires": device.expires_at.map_or(Value::Null, rfc3339),
        "facts": facts,
        "attributes": device.attributes,
    });
    if !access_group_obj.is_null() {
        body["access_group_obj"] = access_group_obj;
    }
    body
}

/// The list's query: DRF's page number pagination, the `name`/`identifier` filters, `search`
/// over both and `ordering` by either (`-` for descending).
#[derive(Debug, Default, serde::Deserialize)]
struct ListQuery {
    #[serde(flatten)]
    page: PageQuery,
    name: Option<String>,
    identifier: Option<String>,
    search: Option<String>,
    ordering: Option<String>,
}

impl ListQuery {
    fn keeps(&self, d: &DeviceSummary) -> bool {
        let exact = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        let search = self.search.as_deref().map(str::trim).unwrap_or_default();
        let needle = search.to_lowercase();
        exact(&self.name, &d.name)
            && exact(&self.identifier, &d.identifier)
            && (needle.is_empty()
                || d.name.to_lowercase().contains(&needle)
                || d.identifier.to_lowercase().contains(&needle))
    }

    /// Orders by the first known `ordering` field; unknown fields are ignored, as DRF does.
    fn sort(&self, devices: &mut [DeviceSummary]) {
        let Some(field) = self.ordering.as_deref().and_then(|o| {
            o.split(',')
                .map(str::trim)
                .find(|f| matches!(f.trim_start_matches('-'), "name" | "identifier"))
        }) else {
            return;
        };
        let by_identifier = field.trim_start_matches('-') == "identifier";
        devices.sort_by(|a, b| {
            if by_identifier {
                a.identifier.cmp(&b.identifier)
            } else {
                a.name
                    .cmp(&b.name)
                    .then_with(|| a.identifier.cmp(&b.identifier))
            }
        });
        if field.starts_with('-') {
            devices.reverse();
        }
    }
}

/// `GET /api/v3/endpoints/devices/`.
async fn list(
    State(state): State<SharedState>,
    _caller: Superuser,
    Query(query): Query<ListQuery>,
) -> Response {
    let mut devices = match state.service.list_devices().await {
        Ok(all) => all
            .into_iter()
            .filter(|d| query.keeps(d))
            .collect::<Vec<_>>(),
        Err(e) => return server_error(&e),
    };
    query.sort(&mut devices);
    let page = match query
        .page
        .request()
        .and_then(|req| api_drf::cut(devices, req))
    {
        Ok(page) => page,
        Err(invalid) => return invalid.into_response(),
    };
    let mut results = Vec::new();
    for summary in &page.items {
        match state.service.device_detail(&summary.id).await {
            Ok(Some(d)) => results.push(device_json(&d)),
            Ok(None) => {} // deleted since the list was read
            Err(e) => return server_error(&e),
        }
    }
    let page = Page {
        items: results,
        page: page.page,
        page_size: page.page_size,
        count: page.count,
    };
    answer(StatusCode::OK, api_drf::paginated(&page))
}

/// `GET /api/v3/endpoints/devices/{device_uuid}/`.
async fn retrieve(
    State(state): State<SharedState>,
    _caller: Superuser,
    Path(device_uuid): Path<String>,
) -> Response {
    if uuid::Uuid::parse_str(&device_uuid).is_err() {
        return detail(StatusCode::NOT_FOUND, "No Device matches the given query.");
    }
    let found = match state.service.device_detail(&device_uuid).await {
        Ok(Some(d)) => d,
        Ok(None) => return detail(StatusCode::NOT_FOUND, "No Device matches the given query."),
        Err(e) => return server_error(&e),
    };
    match state.service.device_relations(&device_uuid).await {
        Ok(relations) => answer(StatusCode::OK, device_details_json(&found, &relations)),
        Err(e) => server_error(&e),
    }
}
