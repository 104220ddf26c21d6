//! OAuth2 / OpenID Connect protocol logic, without axum: the snapshot the hot path reads,
//! discovery documents, and (in later modules) authorize validation, grants and claims.

pub mod discovery;
pub mod redirect_uri;
pub mod snapshot;

pub use snapshot::{ProviderEntry, Snapshot, SnapshotCache};
