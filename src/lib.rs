//! latchkey: an identity provider in the mould of authentik, in one binary, administered from
//! the terminal. docs/ARCHITECTURE.md has the module map and who may call whom; `main.rs` only wires these
//! together.

pub mod blueprint;
pub mod cli;
pub mod cli_events;
pub mod cli_invitation;
pub mod cli_user;
pub mod client;
pub mod console;
pub mod context;
pub mod crypto;
pub mod domain;
pub mod expr;
pub mod flows;
pub mod http;
pub mod logging;
pub mod mail;
pub mod oauth;
pub mod service;
pub mod store;
