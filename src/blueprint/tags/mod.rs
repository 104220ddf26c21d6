//! The tags beyond lookups and formatting, one file each: `!Enumerate` with `!Index`/`!Value`
//! (`enumerate.rs`), `!File` (`file.rs`), and `!AtIndex`, `!ParseJSON`, `!FindObject`
//! (`lookup.rs`). `resolve.rs` dispatches to them.

pub mod enumerate;
pub mod file;
pub mod lookup;

pub use enumerate::{Items, enumerate, item};
pub use file::file;
pub use lookup::{at_index, find_object, parse_json};

#[cfg(test)]
mod tests;
