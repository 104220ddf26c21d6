//! The one integration test binary (DESIGN.md §7): every suite is a module here, so the crate
//! links once.

mod support;

mod binary;
mod bootstrap;
mod browser;
mod flows;
mod flows_policies;
mod flows_stages;
mod flows_support;
mod server;
mod store;
