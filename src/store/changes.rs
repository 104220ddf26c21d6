//! What changed, so views refresh only what they show and the server drops its snapshot.

use crate::domain::Kind;

/// A kind of stored object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    Flows,
    Stages,
    Policies,
    Applications,
    Providers,
    ScopeMappings,
    Certificates,
    Brands,
    Connectors,
    Users,
    Groups,
    Events,
    Sessions,
    Tokens,
    /// Endpoint devices, their connections and facts (every check-in).
    Devices,
    /// Something changed outside this process: refresh everything.
    All,
}

impl Topic {
    /// True when a change of this topic can alter what the server serves from its snapshot.
    pub fn affects_config(self) -> bool {
        !matches!(
            self,
            Topic::Events | Topic::Sessions | Topic::Tokens | Topic::Devices
        )
    }
}

/// One committed change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub topic: Topic,
}

impl Change {
    /// A change of `topic`.
    pub fn new(topic: Topic) -> Self {
        Self { topic }
    }
}

impl Topic {
    /// The change topic a write of `kind` publishes.
    pub fn of_kind(kind: Kind) -> Topic {
        match kind {
            Kind::Flow | Kind::FlowStageBinding => Topic::Flows,
            Kind::Stage | Kind::Prompt => Topic::Stages,
            // Rules are policy binding targets; the notifier reads them at every batch.
            Kind::Policy
            | Kind::PolicyBinding
            | Kind::NotificationRule
            | Kind::NotificationTransport => Topic::Policies,
            Kind::Application => Topic::Applications,
            Kind::Provider => Topic::Providers,
            Kind::ScopeMapping => Topic::ScopeMappings,
            Kind::Certificate => Topic::Certificates,
            Kind::Brand => Topic::Brands,
            Kind::Connector | Kind::DeviceAccessGroup | Kind::EnrollmentToken => Topic::Connectors,
            Kind::User => Topic::Users,
            Kind::Group => Topic::Groups,
        }
    }
}
