//! Endpoint devices with their connections to connectors and the facts snapshots check-ins
//! store (one aggregate: a connection and its snapshots go when the device goes).

use super::Conn;
use sqlx::AssertSqlSafe;

use super::StoreResult;
use super::rows::{self, DomainRow, TableRow, json_or_empty, parse_json};
use crate::domain::{AgentDeviceConnection, Device, DeviceFactSnapshot, Timestamp};

#[derive(sqlx::FromRow)]
struct DeviceRow {
    id: String,
    identifier: String,
    name: String,
    access_group_id: Option<String>,
    #[sqlx(try_from = "super::engine::Flag")]
    expiring: bool,
    expires_at: Option<i64>,
    attributes: String,
    created_at: i64,
    updated_at: i64,
}

const DEVICE_COLS: &str = "id, identifier, name, access_group_id, expiring, expires_at, attributes, created_at, \
     updated_at";

impl TableRow for DeviceRow {
    const COLUMNS: &'static str = DEVICE_COLS;
    const TABLE: &'static str = "devices";
}

impl DomainRow for DeviceRow {
    type Domain = Device;
    fn into_domain(self) -> StoreResult<Device> {
        let what = format!("device {}", self.identifier);
        Ok(Device {
            attributes: parse_json(&what, &self.attributes)?,
            id: self.id,
            identifier: self.identifier,
            name: self.name,
            access_group_id: self.access_group_id,
            expiring: self.expiring,
            expires_at: self.expires_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ConnectionRow {
    id: String,
    device_id: String,
    connector_id: String,
    created_at: i64,
}

impl TableRow for ConnectionRow {
    const COLUMNS: &'static str = "id, device_id, connector_id, created_at";
    const TABLE: &'static str = "device_connections";
}

impl DomainRow for ConnectionRow {
    type Domain = AgentDeviceConnection;
    fn into_domain(self) -> StoreResult<AgentDeviceConnection> {
        Ok(AgentDeviceConnection {
            id: self.id,
            device_id: self.device_id,
            connector_id: self.connector_id,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SnapshotRow {
    id: String,
    connection_id: String,
    data: String,
    created_at: i64,
    expires_at: Option<i64>,
}

impl TableRow for SnapshotRow {
    const COLUMNS: &'static str = "s.id, s.connection_id, s.data, s.created_at, s.expires_at";
    const TABLE: &'static str =
        "device_fact_snapshots s JOIN device_connections c ON c.id = s.connection_id";
}

impl DomainRow for SnapshotRow {
    type Domain = DeviceFactSnapshot;
    fn into_domain(self) -> StoreResult<DeviceFactSnapshot> {
        let what = format!("facts snapshot {}", self.id);
        Ok(DeviceFactSnapshot {
            data: parse_json(&what, &self.data)?,
            id: self.id,
            connection_id: self.connection_id,
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}

/// One device as a list shows it: the device, the connector and access group names, and what
/// its latest snapshot says (read by the database from the JSON, so a list never loads every fact).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceListing {
    pub device: Device,
    pub connector_id: Option<String>,
    pub connector_name: Option<String>,
    pub access_group_name: Option<String>,
    pub last_check_in: Option<Timestamp>,
    pub os_name: Option<String>,
    pub os_version: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ListingRow {
    #[sqlx(flatten)]
    device: DeviceRow,
    connector_id: Option<String>,
    connector_name: Option<String>,
    access_group_name: Option<String>,
    last_check_in: Option<i64>,
    os_name: Option<String>,
    os_version: Option<String>,
}

impl TableRow for ListingRow {
    const COLUMNS: &'static str = "d.id, d.identifier, d.name, d.access_group_id, d.expiring, \
        d.expires_at, d.attributes, d.created_at, d.updated_at, \
        (SELECT cn.id FROM device_connections c JOIN connectors cn ON cn.id = c.connector_id \
         WHERE c.device_id = d.id ORDER BY c.created_at, c.id LIMIT 1) AS connector_id, \
        (SELECT cn.name FROM device_connections c JOIN connectors cn ON cn.id = c.connector_id \
         WHERE c.device_id = d.id ORDER BY c.created_at, c.id LIMIT 1) AS connector_name, \
        g.name AS access_group_name, \
        ls.created_at AS last_check_in, \
        {os_name} AS os_name, {os_version} AS os_version";

    fn columns(engine: super::Engine) -> std::borrow::Cow<'static, str> {
        Self::COLUMNS
            .replace("{os_name}", &engine.json_text("ls.data", &["os", "name"]))
            .replace(
                "{os_version}",
                &engine.json_text("ls.data", &["os", "version"]),
            )
            .into()
    }
    const TABLE: &'static str = "devices d \
        LEFT JOIN device_access_groups g ON g.id = d.access_group_id \
        LEFT JOIN device_fact_snapshots ls ON ls.id = \
        (SELECT s.id FROM device_fact_snapshots s \
         JOIN device_connections c ON c.id = s.connection_id WHERE c.device_id = d.id \
         ORDER BY s.created_at DESC, s.id DESC LIMIT 1)";
}

impl DomainRow for ListingRow {
    type Domain = DeviceListing;
    fn into_domain(self) -> StoreResult<DeviceListing> {
        Ok(DeviceListing {
            device: self.device.into_domain()?,
            connector_id: self.connector_id,
            connector_name: self.connector_name,
            access_group_name: self.access_group_name,
            last_check_in: self.last_check_in,
            os_name: self.os_name,
            os_version: self.os_version,
        })
    }
}

/// Every device as a list shows it, by name then serial.
pub async fn listings(conn: &mut Conn) -> StoreResult<Vec<DeviceListing>> {
    rows::select_all::<ListingRow>(conn, "ORDER BY d.name, d.identifier", &[]).await
}

/// One device as a list shows it.
pub async fn listing(conn: &mut Conn, id: &str) -> StoreResult<Option<DeviceListing>> {
    rows::select_one::<ListingRow>(conn, "WHERE d.id = $1", id).await
}

/// Every device, by name then serial.
pub async fn list(conn: &mut Conn) -> StoreResult<Vec<Device>> {
    rows::select_all::<DeviceRow>(conn, "ORDER BY name, identifier", &[]).await
}

/// The device with `id`.
pub async fn by_id(conn: &mut Conn, id: &str) -> StoreResult<Option<Device>> {
    rows::select_one::<DeviceRow>(conn, "WHERE id = $1", id).await
}

/// The device whose serial is `identifier`.
pub async fn by_identifier(conn: &mut Conn, identifier: &str) -> StoreResult<Option<Device>> {
    rows::select_one::<DeviceRow>(conn, "WHERE identifier = $1", identifier).await
}

/// The first device named `name` (authentik's `auth_fed` finds the device by name).
pub async fn by_name(conn: &mut Conn, name: &str) -> StoreResult<Option<Device>> {
    rows::select_one::<DeviceRow>(
        conn,
        "WHERE name = $1 ORDER BY created_at, id LIMIT 1",
        name,
    )
    .await
}

/// The device authentik's `auth_fed` means by `value`: the one named so, or else the one whose
/// latest facts snapshot lists `value` among the Agent's SSH host keys
/// (`vendor["goauthentik.io/platform"].ssh_host_keys`); the oldest when several match.
pub async fn by_name_or_ssh_host_key(conn: &mut Conn, value: &str) -> StoreResult<Option<Device>> {
    let latest = "(SELECT s.data FROM device_fact_snapshots s \
        JOIN device_connections c ON c.id = s.connection_id \
        WHERE c.device_id = devices.id ORDER BY s.created_at DESC, s.id DESC LIMIT 1)";
    let has_key = match super::Engine::of(conn) {
        super::Engine::Sqlite => format!(
            "EXISTS (SELECT 1 FROM json_each({latest}, \
             '$.vendor.\"goauthentik.io/platform\".ssh_host_keys') k \
             WHERE k.type = 'text' AND k.value = $1)"
        ),
        super::Engine::Postgres => format!(
            "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(\
             {latest}::jsonb #> '{{vendor,goauthentik.io/platform,ssh_host_keys}}') = 'array' \
             THEN {latest}::jsonb #> '{{vendor,goauthentik.io/platform,ssh_host_keys}}' \
             ELSE '[]'::jsonb END) k WHERE jsonb_typeof(k) = 'string' AND k #>> '{{}}' = $1)"
        ),
    };
    let tail = format!(
        "WHERE name = $1 OR {has_key} ORDER BY CASE WHEN name = $1 THEN 0 ELSE 1 END, \
         created_at, id LIMIT 1"
    );
    rows::select_one::<DeviceRow>(conn, &tail, value).await
}

/// Inserts a device.
pub async fn insert(conn: &mut Conn, d: &Device) -> StoreResult<()> {
    let sql = format!("INSERT INTO devices ({DEVICE_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)");
    let q = sqlx::query(AssertSqlSafe(sql))
        .bind(&d.id)
        .bind(&d.identifier)
        .bind(&d.name)
        .bind(&d.access_group_id)
        .bind(d.expiring)
        .bind(d.expires_at)
        .bind(json_or_empty(&d.attributes))
        .bind(d.created_at)
        .bind(d.updated_at);
    rows::insert_object(conn, q, |_| d.identifier.clone()).await
}

/// Updates a device's editable fields (name, access group, expiry, attributes).
pub async fn update(conn: &mut Conn, d: &Device) -> StoreResult<()> {
    let res = sqlx::query(
        "UPDATE devices SET name=$1, access_group_id=$2, expiring=$3, expires_at=$4, attributes=$5, \
         updated_at=$6 WHERE id=$7",
    )
    .bind(&d.name)
    .bind(&d.access_group_id)
    .bind(d.expiring)
    .bind(d.expires_at)
    .bind(json_or_empty(&d.attributes))
    .bind(d.updated_at)
    .bind(&d.id)
    .execute(&mut *conn)
    .await?;
    rows::check_updated(res.rows_affected(), &format!("device {}", d.identifier))
}

/// Deletes a device with its connections, tokens and snapshots; true when it existed.
pub async fn delete(conn: &mut Conn, id: &str) -> StoreResult<bool> {
    Ok(rows::delete_by_id(conn, "devices", id).await? == 1)
}

/// The connection with `id`.
pub async fn connection(conn: &mut Conn, id: &str) -> StoreResult<Option<AgentDeviceConnection>> {
    rows::select_one::<ConnectionRow>(conn, "WHERE id = $1", id).await
}

/// The connection of `device_id` through `connector_id`.
pub async fn connection_between(
    conn: &mut Conn,
    device_id: &str,
    connector_id: &str,
) -> StoreResult<Option<AgentDeviceConnection>> {
    let mut found = rows::select_all::<ConnectionRow>(
        conn,
        "WHERE device_id = $1 AND connector_id = $2",
        &[device_id, connector_id],
    )
    .await?;
    Ok(found.pop())
}

/// Every connection of `device_id`, oldest first.
pub async fn connections_of(
    conn: &mut Conn,
    device_id: &str,
) -> StoreResult<Vec<AgentDeviceConnection>> {
    rows::select_all::<ConnectionRow>(
        conn,
        "WHERE device_id = $1 ORDER BY created_at, id",
        &[device_id],
    )
    .await
}

/// Inserts a connection.
pub async fn insert_connection(conn: &mut Conn, c: &AgentDeviceConnection) -> StoreResult<()> {
    let q = sqlx::query(
        "INSERT INTO device_connections (id, device_id, connector_id, created_at) \
         VALUES ($1,$2,$3,$4)",
    )
    .bind(&c.id)
    .bind(&c.device_id)
    .bind(&c.connector_id)
    .bind(c.created_at);
    rows::insert_object(conn, q, |_| c.device_id.clone()).await
}

/// Stores a snapshot.
pub async fn insert_snapshot(conn: &mut Conn, s: &DeviceFactSnapshot) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO device_fact_snapshots (id, connection_id, data, created_at, expires_at) \
         VALUES ($1,$2,$3,$4,$5)",
    )
    .bind(&s.id)
    .bind(&s.connection_id)
    .bind(rows::to_json(&s.data))
    .bind(s.created_at)
    .bind(s.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The newest snapshot of `device_id` over all its connections, expired or not.
pub async fn latest_snapshot(
    conn: &mut Conn,
    device_id: &str,
) -> StoreResult<Option<DeviceFactSnapshot>> {
    rows::select_one::<SnapshotRow>(
        conn,
        "WHERE c.device_id = $1 ORDER BY s.created_at DESC, s.id DESC LIMIT 1",
        device_id,
    )
    .await
}

/// Every snapshot of `device_id`, newest first.
pub async fn snapshots_of(
    conn: &mut Conn,
    device_id: &str,
) -> StoreResult<Vec<DeviceFactSnapshot>> {
    rows::select_all::<SnapshotRow>(
        conn,
        "WHERE c.device_id = $1 ORDER BY s.created_at DESC, s.id DESC",
        &[device_id],
    )
    .await
}

/// Deletes the snapshots of `connection_id` that expired by `now`, except its newest one (a
/// device that stopped checking in still shows what it last reported); how many went.
pub async fn delete_expired_snapshots(
    conn: &mut Conn,
    connection_id: &str,
    now: Timestamp,
) -> StoreResult<u64> {
    let res = sqlx::query(
        "DELETE FROM device_fact_snapshots WHERE connection_id = $1 AND expires_at IS NOT NULL \
         AND expires_at <= $2 AND id <> (SELECT id FROM device_fact_snapshots \
         WHERE connection_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1)",
    )
    .bind(connection_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(res.rows_affected())
}
