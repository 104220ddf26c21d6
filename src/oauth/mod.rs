//! OAuth2 / OpenID Connect protocol logic, without axum: the snapshot the hot path reads,
//! discovery documents, authorize validation, the token endpoint's grants (one file each, under
//! [`grant`]) and claims.

pub mod authorize;
pub mod authorize_flow;
pub mod claims;
pub mod client_auth;
pub mod device;
pub mod discovery;
pub mod end_session;
pub mod errors;
pub mod flow_history;
pub mod fulfil;
pub mod github;
pub mod grant;
pub mod lifetimes;
pub mod logout;
pub mod pkce;
pub mod redirect_uri;
pub mod resource;
pub mod scope_defaults;
pub mod scope_expr;
pub mod session_step;
pub mod signature_memo;
pub mod snapshot;
pub mod throttle;
pub mod tokens;

pub use snapshot::{ProviderEntry, Snapshot, SnapshotCache};
