//! `latchkey login`, `latchkey token` and `latchkey logout`: a command-line OAuth2 client that
//! signs in with the device authorization grant (RFC 8628) on the `oauth2` crate, keeps its
//! tokens in `$XDG_CONFIG_HOME/latchkey/tokens.json` (0600, written atomically), refreshes them
//! and revokes them (RFC 7009).

mod commands;
mod discover;
mod error;
mod http;
mod qr;
mod token_file;

pub use commands::{login, logout, token};
pub use discover::issuer_url;
pub use error::ClientError;
pub use token_file::{StoredTokens, token_file_path};
