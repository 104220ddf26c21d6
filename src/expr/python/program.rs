//! Compile once: an expression's text becomes a [`Program`] the caller caches per text (the
//! token endpoint evaluates scope mappings on every request and must not re-parse them).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use monty::MontyRun;
use monty_types::{CompileOptions, ExcType, MontyException};

use super::error::{ErrorKind, ExprError};
use super::native::{self, Effect};
use super::source::{self, Binding, Prepared};

/// The file name tracebacks show for an expression.
pub(crate) const FILENAME: &str = "expression";

/// The variables an expression receives, as authentik passes them to the function it wraps
/// the expression in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Signature {
    vars: Vec<(String, Binding)>,
}

impl Signature {
    /// Expression policies (authentik's `PolicyEvaluator`): `request`, `context` (the same dict
    /// as `request.context`), `http_request`, `ak_is_sso_flow`, `ak_client_ip`.
    pub fn policy() -> Self {
        Self {
            vars: vec![
                ("request".into(), Binding::Input),
                ("context".into(), Binding::Derived("request.context")),
                (
                    "http_request".into(),
                    Binding::Derived("request.http_request"),
                ),
                ("ak_is_sso_flow".into(), Binding::Input),
                (
                    "ak_client_ip".into(),
                    Binding::Derived("ip_address(_ak_client_ip)"),
                ),
            ],
        }
    }

    /// OAuth2 scope mappings: `request`, `user` (the same object as `request.user`), `token`,
    /// `provider`.
    pub fn scope_mapping() -> Self {
        Self::property_mapping(&["token", "provider"])
    }

    /// Prompt `initial_value` / `placeholder` expressions: `request`, `user`, `prompt_context`.
    pub fn prompt() -> Self {
        Self::property_mapping(&["prompt_context"])
    }

    /// Any other property mapping (authentik's `PropertyMappingEvaluator`): `request`, `user`
    /// and the named extra variables (`ldap`, `dn`, `source`, `group`, `principal`, …).
    pub fn property_mapping(extra: &[&str]) -> Self {
        let mut vars = vec![
            ("request".to_string(), Binding::Input),
            ("user".into(), Binding::Derived("request.user")),
        ];
        vars.extend(extra.iter().map(|n| ((*n).to_string(), Binding::Input)));
        Self { vars }
    }

    /// Every variable any kind of expression has (what [`check`] accepts): a policy's, a
    /// scope mapping's, a prompt's, and those of authentik's source and provider mappings.
    pub fn any() -> Self {
        let mut sig = Self::policy();
        for name in [
            "token",
            "provider",
            "prompt_context",
            "ldap",
            "dn",
            "source",
            "group",
            "principal",
            "properties",
        ] {
            sig.vars.push((name.into(), Binding::Input));
        }
        sig.vars
            .push(("user".into(), Binding::Derived("request.user")));
        sig
    }

    /// The variable names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.iter().map(|(n, _)| n.as_str())
    }
}

/// A compiled expression: parse, checks and bytecode done once; evaluate as often as needed.
/// Cheap to clone and shareable across threads.
#[derive(Clone)]
pub struct Program {
    inner: Arc<Inner>,
}

struct Inner {
    /// monty's compiled module; `start` consumes one, so each evaluation clones it (monty's
    /// program is `Send` but not `Sync`, hence the lock around the pristine copy).
    run: Mutex<MontyRun>,
    prepared: Prepared,
    /// What a recognised authentik expression asks the caller to do once it has returned.
    effects: Vec<Effect>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("lines", &self.inner.prepared.lines)
            .finish_non_exhaustive()
    }
}

impl Program {
    /// A fresh copy of the compiled module for one evaluation.
    pub(crate) fn fresh(&self) -> Result<MontyRun, ExprError> {
        self.inner.run.lock().map(|run| run.clone()).map_err(|_| {
            ExprError::new(
                ErrorKind::Exception("RuntimeError".into()),
                None,
                "compiled expression is unusable (a panic poisoned it)",
            )
        })
    }

    pub(crate) fn prepared(&self) -> &Prepared {
        &self.inner.prepared
    }

    /// What the caller applies after a successful evaluation (empty unless the text is one of
    /// the authentik expressions latchkey runs natively).
    pub fn effects(&self) -> &[Effect] {
        &self.inner.effects
    }

    /// The module monty runs (the admin's body wrapped, plus the prelude it needs), for
    /// debugging and the console's inspector.
    pub fn wrapped_source(&self) -> &str {
        &self.inner.prepared.code
    }
}

/// Compiles `source` for `signature`: checks, rewrites and compiles to bytecode. Everything
/// latchkey cannot run is an error here, with its line. An authentik expression latchkey
/// recognises (see [`native`]) compiles to its native equivalent.
pub fn compile(source: &str, signature: &Signature) -> Result<Program, ExprError> {
    let (source, effects) = match native::recognise(source) {
        Some(n) => (n.body, (n.effects)()),
        None => (source, Vec::new()),
    };
    let prepared = source::prepare(source, &signature.vars)?;
    let run = MontyRun::new(
        prepared.code.clone(),
        FILENAME,
        prepared.inputs.clone(),
        CompileOptions::default(),
    )
    .map_err(|e| compile_error(&e, prepared.lines))?;
    Ok(Program {
        inner: Arc::new(Inner {
            run: Mutex::new(run),
            prepared,
            effects,
        }),
    })
}

/// Whether `source` would compile as any kind of expression: what a console field or a
/// blueprint entry calls before saving.
pub fn check(source: &str) -> Result<(), ExprError> {
    compile(source, &Signature::any()).map(|_| ())
}

/// Compiled programs by signature and source text, so a caller compiles each expression once
/// per change (the token endpoint, the policy engine).
#[derive(Debug, Default)]
pub struct Cache {
    programs: Mutex<HashMap<(Signature, String), Program>>,
}

/// Beyond this many distinct expressions the cache starts over (edited texts linger).
const CACHE_LIMIT: usize = 1024;

impl Cache {
    /// The compiled program for `source`, compiling it on first use. Compile errors are not
    /// cached (they are cheap to reproduce and the text is usually fixed soon).
    pub fn program(&self, source: &str, signature: &Signature) -> Result<Program, ExprError> {
        let key = (signature.clone(), source.to_string());
        if let Some(p) = self.programs.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(p);
        }
        let program = compile(source, signature)?;
        if let Ok(mut cache) = self.programs.lock() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(key, program.clone());
        }
        Ok(program)
    }
}

fn compile_error(e: &MontyException, lines: u32) -> ExprError {
    let line = e
        .traceback()
        .iter()
        .rev()
        .find_map(|f| source::body_line(f.start.line, lines));
    let message = e.message().unwrap_or("invalid expression").to_string();
    let kind = match e.exc_type() {
        ExcType::SyntaxError => ErrorKind::Syntax,
        _ => ErrorKind::Unsupported,
    };
    let message = match e.exc_type() {
        ExcType::NotImplementedError => message.replace(
            "The monty syntax parser does not yet support",
            "latchkey's interpreter does not support",
        ),
        _ => message,
    };
    ExprError::new(kind, line, message)
}
