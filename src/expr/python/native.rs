//! authentik expressions that reach past what an expression may do (they import authentik's
//! models and write to them), recognised by the SHA-256 digest of their normalised text and run
//! as a native equivalent. The sandbox refuses every import it does not recreate; these few
//! texts come from authentik's own blueprints, so an admin who applies them unchanged gets
//! authentik's behaviour instead of a refused blueprint. The digest keeps authentik's text out
//! of latchkey; any edit to the code (comments and whitespace aside) makes it an ordinary
//! expression again, refused at save for its import.

use super::fingerprint::sha256_hex;
use crate::domain::FlowAuthentication;

/// Something a native expression asks its caller to do: the engine does no I/O, so the caller
/// (the policy engine) applies it, as it records the events an expression creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Set the authentication requirement of the flow with this slug.
    SetFlowAuthentication {
        /// The flow's slug.
        flow_slug: String,
        /// What the flow requires from now on.
        authentication: FlowAuthentication,
    },
}

/// One recognised expression.
pub(crate) struct NativeExpression {
    /// SHA-256 (hex) of [`normalise`]d text.
    digest: &'static str,
    /// The Python that runs in its place (what the expression returns).
    pub(crate) body: &'static str,
    /// What the caller applies after the body returned.
    pub(crate) effects: fn() -> Vec<Effect>,
}

/// authentik's initial-setup blueprint (`flow-oobe.yaml`): the policy on the login binding
/// that makes `initial-setup` require a superuser once it has been planned, so it runs once.
fn initial_setup_once() -> Vec<Effect> {
    vec![Effect::SetFlowAuthentication {
        flow_slug: "initial-setup".into(),
        authentication: FlowAuthentication::RequireSuperuser,
    }]
}

const NATIVE: &[NativeExpression] = &[NativeExpression {
    digest: "d7acac3596db450c8cff5f7d11dde4701251e228927c90bbb580946cdb6f30bd",
    body: "return True",
    effects: initial_setup_once,
}];

/// The text a digest is taken of: comment lines dropped, every whitespace character removed
/// (so re-indenting or re-wrapping a recognised expression keeps it recognised). Looser than
/// [`super::fingerprint`], which keeps lines and indentation because it picks native claims for
/// any managed mapping; this one only ever matches texts that import authentik's models.
pub fn normalise(source: &str) -> String {
    source
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
        .collect()
}

/// SHA-256 (lower-case hex) of the normalised `source`.
pub fn digest(source: &str) -> String {
    sha256_hex(&normalise(source))
}

/// The native equivalent of `source`, when it is one of the recognised texts.
pub(crate) fn recognise(source: &str) -> Option<&'static NativeExpression> {
    if !source.contains("import") {
        return None;
    }
    let digest = digest(source);
    NATIVE.iter().find(|n| n.digest == digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_ignores_comments_indentation_and_line_breaks() {
        assert_eq!(
            normalise("# a comment\nx = f(\n    1,\n)\n  # more\nreturn x"),
            "x=f(1,)returnx"
        );
        assert_eq!(digest("return  True"), digest("# why\nreturn True\n"));
        assert_ne!(digest("return True"), digest("return False"));
    }

    #[test]
    fn only_the_recognised_text_is_native() {
        assert!(recognise("import re\nreturn True").is_none());
        assert!(recognise("return True").is_none());
    }
}
