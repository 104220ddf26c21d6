//! Endpoint devices with their connections to connectors and the facts snapshots check-ins
//! store (one aggregate: a connection and its snapshots go when the device goes).

use sqlx::{AssertSqlSafe, SqliteConnection};

use super::StoreResult;
use super::rows::{self, DomainRow, TableRow, json_or_empty, parse_json};
use crate::domain::{AgentDeviceConnection, Device, DeviceFactSnapshot, Timestamp};

#[derive(sqlx::FromRow)]
struct DeviceRow {
    id: String,
    identifier: String,
    name: String,
    access_group_id: Option<String>,
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
/// its latest snapshot says (read by SQLite from the JSON, so a list never loads every fact).
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
        json_extract(ls.data, '$.os.name') AS os_name, \
        json_extract(ls.data, '$.os.version') AS os_version";
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
pub async fn listings(conn: &mut SqliteConnection) -> StoreResult<Vec<DeviceListing>> {
    rows::select_all::<ListingRow>(conn, "ORDER BY d.name, d.identifier", &[]).await
}

/// One device as a list shows it.
pub async fn listing(conn: &mut SqliteConnection, id: &str) -> StoreResult<Option<DeviceListing>> {
    rows::select_one::<ListingRow>(conn, "WHERE d.id = ?", id).await
}

/// Every device, by name then serial.
pub async fn list(conn: &mut SqliteConnection) -> StoreResult<Vec<Device>> {
    rows::select_all::<DeviceRow>(conn, "ORDER BY name, identifier", &[]).await
}

/// The device with `id`.
pub async fn by_id(conn: &mut SqliteConnection, id: &str) -> StoreResult<Option<Device>> {
    rows::select_one::<DeviceRow>(conn, "WHERE id = ?", id).await
}

/// The device whose serial is `identifier`.
pub async fn by_identifier(
    conn: &mut SqliteConnection,
    identifier: &str,
) -> StoreResult<Option<Device>> {
    rows::select_one::<DeviceRow>(conn, "WHERE identifier = ?", identifier).await
}

/// The first device named `name` (authentik's `auth_fed` finds the device by name).
pub async fn by_name(conn: &mut SqliteConnection, name: &str) -> StoreResult<Option<Device>> {
    rows::select_one::<DeviceRow>(conn, "WHERE name = ? ORDER BY created_at, id LIMIT 1", name)
        .await
}

/// Inserts a device.
pub async fn insert(conn: &mut SqliteConnection, d: &Device) -> StoreResult<()> {
    let sql = format!("INSERT INTO devices ({DEVICE_COLS}) VALUES (?,?,?,?,?,?,?,?,?)");
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
pub async fn update(conn: &mut SqliteConnection, d: &Device) -> StoreResult<()> {
    let res = sqlx::query(
        "UPDATE devices SET name=?, access_group_id=?, expiring=?, expires_at=?, attributes=?, \
         updated_at=? WHERE id=?",
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
pub async fn delete(conn: &mut SqliteConnection, id: &str) -> StoreResult<bool> {
    Ok(rows::delete_by_id(conn, "devices", id).await? == 1)
}

/// The connection with `id`.
pub async fn connection(
    conn: &mut SqliteConnection,
    id: &str,
) -> StoreResult<Option<AgentDeviceConnection>> {
    rows::select_one::<ConnectionRow>(conn, "WHERE id = ?", id).await
}

/// The connection of `device_id` through `connector_id`.
pub async fn connection_between(
    conn: &mut SqliteConnection,
    device_id: &str,
    connector_id: &str,
) -> StoreResult<Option<AgentDeviceConnection>> {
    let mut found = rows::select_all::<ConnectionRow>(
        conn,
        "WHERE device_id = ? AND connector_id = ?",
        &[device_id, connector_id],
    )
    .await?;
    Ok(found.pop())
}

/// Every connection of `device_id`, oldest first.
pub async fn connections_of(
    conn: &mut SqliteConnection,
    device_id: &str,
) -> StoreResult<Vec<AgentDeviceConnection>> {
    rows::select_all::<ConnectionRow>(
        conn,
        "WHERE device_id = ? ORDER BY created_at, id",
        &[device_id],
    )
    .await
}

/// Inserts a connection.
pub async fn insert_connection(
    conn: &mut SqliteConnection,
    c: &AgentDeviceConnection,
) -> StoreResult<()> {
    let q = sqlx::query(
        "INSERT INTO device_connections (id, device_id, connector_id, created_at) \
         VALUES (?,?,?,?)",
    )
    .bind(&c.id)
    .bind(&c.device_id)
    .bind(&c.connector_id)
    .bind(c.created_at);
    rows::insert_object(conn, q, |_| c.device_id.clone()).await
}

/// Stores a snapshot.
pub async fn insert_snapshot(
    conn: &mut SqliteConnection,
    s: &DeviceFactSnapshot,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO device_fact_snapshots (id, connection_id, data, created_at, expires_at) \
         VALUES (?,?,?,?,?)",
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
    conn: &mut SqliteConnection,
    device_id: &str,
) -> StoreResult<Option<DeviceFactSnapshot>> {
    rows::select_one::<SnapshotRow>(
        conn,
        "WHERE c.device_id = ? ORDER BY s.created_at DESC, s.id DESC LIMIT 1",
        device_id,
    )
    .await
}

/// Every snapshot of `device_id`, newest first.
pub async fn snapshots_of(
    conn: &mut SqliteConnection,
    device_id: &str,
) -> StoreResult<Vec<DeviceFactSnapshot>> {
    rows::select_all::<SnapshotRow>(
        conn,
        "WHERE c.device_id = ? ORDER BY s.created_at DESC, s.id DESC",
        &[device_id],
    )
    .await
}

/// Deletes the snapshots of `connection_id` that expired by `now`, except its newest one (a
/// device that stopped checking in still shows what it last reported); how many went.
pub async fn delete_expired_snapshots(
    conn: &mut SqliteConnection,
    connection_id: &str,
    now: Timestamp,
) -> StoreResult<u64> {
    let res = sqlx::query(
        "DELETE FROM device_fact_snapshots WHERE connection_id = ?1 AND expires_at IS NOT NULL \
         AND expires_at <= ?2 AND id <> (SELECT id FROM device_fact_snapshots \
         WHERE connection_id = ?1 ORDER BY created_at DESC, id DESC LIMIT 1)",
    )
    .bind(connection_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(res.rows_affected())
}
