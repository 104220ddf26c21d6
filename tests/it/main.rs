//! The one integration test binary (DESIGN.md §7): every suite is a module here, so the crate
//! links once.

mod support;

mod binary;
mod blueprint;
mod bootstrap;
mod browser;
mod console;
mod console_e2e;
mod console_export;
mod console_forms;
mod console_import;
mod console_prompts;
mod console_sessions;
mod console_textarea;
mod console_themes;
mod device;
mod device_page;
mod expr_python;
mod flows;
mod flows_policies;
mod flows_stages;
mod flows_support;
mod http_limits;
mod oauth_authorize;
mod oauth_backchannel_logout;
mod oauth_checklist_authorize;
mod oauth_checklist_token;
mod oauth_end_session;
mod oauth_github;
mod oauth_jwe;
mod oauth_keys;
mod oauth_token;
mod oidc_flow;
mod server;
mod store;
mod store_maintenance;
