//! Plain types and validation for every admin object. No I/O lives here, so the console, the HTTP
//! server and the blueprint importer all share one definition of what a valid object is.

pub mod actor;
pub mod audit;
pub mod brand_match;
pub mod devices;
pub mod duration;
pub mod endpoints;
pub mod enums;
pub mod event_actions;
pub mod facts;
pub mod flow_support;
pub mod notifications;
pub mod object;
pub mod objects;
pub mod paging;
pub mod redirect;
pub mod settings;
pub mod validate;

pub use actor::Actor;
pub use audit::{EventCursor, EventFilter, UserMatch};
pub use devices::{
    AgentDeviceConnection, Device, DeviceAuthToken, DeviceFactSnapshot, DeviceFacts, DeviceToken,
    FactSection,
};
pub use duration::Duration;
pub use endpoints::{DeviceAccessGroup, EnrollmentToken};
pub use enums::*;
pub use notifications::{
    Notification, NotificationRule, NotificationSeverity, NotificationTransport, TransportMode,
};
pub use object::{Kind, Object, string_list, truthy, validate as validate_object};
pub use objects::*;
pub use settings::*;
pub use validate::{FieldError, FieldErrors};

/// Seconds since the Unix epoch; the store keeps every time in this unit.
pub type Timestamp = i64;

/// A fresh time-ordered id (UUID v7), so ids sort by creation like authentik's listings.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
