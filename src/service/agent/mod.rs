//! The authentik Agent's API, one use-case per call: enrolling a device, its configuration,
//! its check-ins, its federated sign-in and its interactive (browser) sign-in. The HTTP layer (`http::api_agent`) only parses and
//! answers; every rule lives here.

pub mod auth_fed;
pub mod auth_ia;
pub mod check_in;
pub mod config;
pub mod enroll;
