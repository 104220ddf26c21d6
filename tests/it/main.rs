//! The one integration test binary (DESIGN.md §7): every suite is a module here, so the crate
//! links once.

mod support;

mod binary;
mod blueprint;
mod bootstrap;
mod console;
mod console_forms;
mod oauth_token;
mod server;
mod store;
