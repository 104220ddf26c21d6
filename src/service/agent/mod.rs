//! The authentik Agent's API, one use-case per call: enrolling a device, its configuration,
//! its check-ins and its federated sign-in. The HTTP layer (`http::api_agent`) only parses and
//! answers; every rule lives here.

pub mod check_in;
pub mod enroll;
