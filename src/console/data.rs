//! What the console shows, loaded in one go through the service (never the store), so a
//! refresh is one call and tests can build or tweak a snapshot by hand.

use std::collections::HashSet;

use crate::domain::{
    Application, Brand, CertificateKeypair, Connector, DeviceAccessGroup, EnrollmentToken, Event,
    EventFilter, Flow, FlowStageBinding, Group, Notification, Policy, PolicyBinding, Prompt,
    Provider, ScopeMapping, Stage, User,
};
use crate::service::accounts::{AuthenticatorSummary, ConsentSummary, TokenSummary};
use crate::service::dashboard::DashboardStats;
use crate::service::devices::DeviceSummary;
use crate::service::executions::LiveExecution;
use crate::service::invitations::InvitationInfo;
use crate::service::sessions::SessionSummary;
use crate::service::{Service, ServiceResult};

/// How many events the console keeps in view.
pub const EVENT_LIMIT: i64 = 500;

/// A snapshot of every list the console shows.
#[derive(Debug, Clone, Default)]
pub struct Data {
    /// "Now" when loaded (unix seconds), for expiry colours and relative times.
    pub now: i64,
    /// Every flow.
    pub flows: Vec<Flow>,
    /// Every stage binding (for stage counts).
    pub bindings: Vec<FlowStageBinding>,
    /// Every stage.
    pub stages: Vec<Stage>,
    /// Every policy.
    pub policies: Vec<Policy>,
    /// Every application.
    pub applications: Vec<Application>,
    /// Every provider.
    pub providers: Vec<Provider>,
    /// Every certificate keypair.
    pub certificates: Vec<CertificateKeypair>,
    /// Every brand.
    pub brands: Vec<Brand>,
    /// Every connector.
    pub connectors: Vec<Connector>,
    /// Every device access group (listed under Connectors).
    pub device_access_groups: Vec<DeviceAccessGroup>,
    /// Every enrollment token (listed under Connectors).
    pub enrollment_tokens: Vec<EnrollmentToken>,
    /// Every enrolled device, with what its latest facts say (the Endpoint Devices tab).
    pub devices: Vec<DeviceSummary>,
    /// Every user.
    pub users: Vec<User>,
    /// Every invitation (listed under Users; never a token).
    pub invitations: Vec<InvitationInfo>,
    /// Every group.
    pub groups: Vec<Group>,
    /// Ids of users with superuser rights.
    pub superusers: HashSet<String>,
    /// Newest first.
    pub events: Vec<Event>,
    /// What the Events tab's audit filter lets through, newest first (`None`: no filter, the
    /// tab shows `events`); queried through the service, so it reaches past `events`.
    pub filtered_events: Option<Vec<Event>>,
    /// Every scope mapping (for the provider form's checklist).
    pub scope_mappings: Vec<ScopeMapping>,
    /// Every (user id, group id) membership (for the user and group forms).
    pub memberships: Vec<(String, String)>,
    /// Every prompt (listed under Stages, picked by prompt stages).
    pub prompts: Vec<Prompt>,
    /// Every policy binding (listed under Policies).
    pub policy_bindings: Vec<PolicyBinding>,
    /// Live signed-in sessions, most recently seen first (the users detail).
    pub sessions: Vec<SessionSummary>,
    /// Flows being executed right now (from the store's sessions), most recently active first.
    pub executions: Vec<LiveExecution>,
    /// Every user's confirmed authenticators (the users detail).
    pub authenticators: Vec<AuthenticatorSummary>,
    /// Every user's remembered consents, newest first (the users detail).
    pub consents: Vec<ConsentSummary>,
    /// Every user's app passwords and API tokens, newest first, without keys (the users detail).
    pub tokens: Vec<TokenSummary>,
    /// Every notification users received, newest first (the users detail).
    pub notifications: Vec<Notification>,
    /// The dashboard's charts, counted at `now` (at reload, never per frame).
    pub dashboard: DashboardStats,
}

/// Loads [`Data`] through the service.
#[derive(Clone)]
pub struct DataSource {
    service: Service,
}

impl DataSource {
    /// Reads through `service`.
    pub fn new(service: Service) -> Self {
        Self { service }
    }

    /// The servers recorded in the store, live ones first, with their health now.
    pub async fn instances(&self) -> ServiceResult<Vec<crate::context::ServerInstance>> {
        Ok(self.service.context().server_instances().await?)
    }

    /// The flow executions in progress, read now (the live view refreshes them every tick).
    pub async fn executions(&self) -> ServiceResult<Vec<LiveExecution>> {
        self.service.live_executions().await
    }

    /// Everything the console shows, read now.
    pub async fn load(&self) -> ServiceResult<Data> {
        self.load_with(&EventFilter::default()).await
    }

    /// Everything the console shows, with the Events tab's audit filter applied.
    pub async fn load_with(&self, events: &EventFilter) -> ServiceResult<Data> {
        let s = &self.service;
        let filtered_events = if events.is_unfiltered() {
            None
        } else {
            Some(s.query_events(events).await?)
        };
        let now = s.now();
        Ok(Data {
            filtered_events,
            now,
            flows: s.list_flows().await?,
            bindings: s.list_flow_stage_bindings().await?,
            stages: s.list_stages().await?,
            policies: s.list_policies().await?,
            applications: s.list_applications().await?,
            providers: s.list_providers().await?,
            certificates: s.list_certificates().await?,
            brands: s.list_brands().await?,
            connectors: s.list_connectors().await?,
            device_access_groups: s.list_device_access_groups().await?,
            enrollment_tokens: s.list_enrollment_tokens().await?,
            devices: s.list_devices().await?,
            users: s.list_users().await?,
            invitations: s.list_invitations().await?,
            groups: s.list_groups().await?,
            superusers: s.superuser_ids().await?,
            events: s.recent_events(EVENT_LIMIT).await?,
            scope_mappings: s.list_scope_mappings().await?,
            memberships: s.memberships().await?,
            prompts: s.list_prompts().await?,
            policy_bindings: s.list_policy_bindings().await?,
            sessions: s.list_sessions().await?,
            executions: s.live_executions().await?,
            authenticators: s.list_authenticators().await?,
            consents: s.list_consents().await?,
            tokens: s.list_tokens().await?,
            notifications: s.all_notifications().await?,
            dashboard: s.dashboard_stats(now).await?,
        })
    }
}
