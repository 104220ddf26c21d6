//! Sandboxed expressions: [`python`] is authentik's Python expression engine, which policies,
//! scope mappings and the save-time checks use. Every evaluation is bounded in CPU time,
//! memory, recursion and wall-clock time, so an admin-written expression can neither loop
//! forever nor exhaust memory.

pub mod python;

/// Whether `source` is written in the rhai dialect earlier latchkey versions used for scope
/// mappings (`#{ key: value }`): Python reads such a text as a comment and would silently
/// return nothing, so the save-time checks and the evaluators refuse it instead.
pub fn looks_like_rhai(source: &str) -> bool {
    source.trim_start().starts_with("#{")
}

/// The refusal for a [`looks_like_rhai`] text.
pub const RHAI_REFUSED: &str = "this is latchkey's former rhai syntax (`#{ … }`); write it as Python: return {\"claim\": value}";

#[cfg(test)]
mod tests {
    #[test]
    fn rhai_maps_are_recognised() {
        assert!(super::looks_like_rhai("  #{ email: request.user.email }"));
        assert!(!super::looks_like_rhai("# a comment\nreturn {}"));
    }
}
