//! From an admin's expression to the module monty compiles. authentik runs an expression as the
//! body of a function (so `return` works at the top level) whose parameters are the
//! evaluation's variables; latchkey wraps it the same way, then checks the body with Ruff's
//! parser before monty sees it: forbidden imports and builtins, walks to interpreter internals,
//! names that are not defined and helpers latchkey does not offer are refused here, with their
//! line, so a console field or a blueprint entry is refused at save time rather than
//! misbehaving at run time. Two rewrites keep authentik's own expressions working: imports of
//! the few modules monty lacks bind latchkey's equivalents, and a body that `yield`s (authentik's
//! SAML group mapping) collects its values into a list.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, ExprContext, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::error::{ErrorKind, ExprError};
use super::prelude::{self, Part};

/// The function wrapping the body.
pub(crate) const HANDLER: &str = "__ak_handler";
/// Where the values a generator body yields are collected.
const YIELDED: &str = "_ak_yielded";

/// How one of an evaluation's variables gets its value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Binding {
    /// Passed in by the caller under its own name.
    Input,
    /// Derived from other inputs by this Python expression.
    Derived(&'static str),
}

/// The external functions the engine serves (their names are monty inputs when used).
pub(crate) const API_FUNCTIONS: &[&str] = &[
    "ak_message",
    "ak_is_group_member",
    "ak_user_by",
    "ak_user_has_authenticator",
    "ak_call_policy",
    "ak_create_event",
    "_ak_ip_facts",
    "_ak_network_facts",
    "_ak_url_valid",
    "_ak_system_settings",
];

/// authentik helpers latchkey refuses, and why.
const UNAVAILABLE: &[(&str, &str)] = &[
    ("requests", "expressions have no network access in latchkey"),
    (
        "resolve_dns",
        "expressions have no network access in latchkey",
    ),
    (
        "reverse_dns",
        "expressions have no network access in latchkey",
    ),
    (
        "ak_send_email",
        "latchkey does not send email from expressions",
    ),
    (
        "ak_create_jwt",
        "latchkey does not issue tokens from expressions",
    ),
    (
        "ak_create_jwt_raw",
        "latchkey does not issue tokens from expressions",
    ),
];

/// Builtins that would reach outside the sandbox or into the interpreter.
const FORBIDDEN: &[&str] = &[
    "open",
    "__import__",
    "eval",
    "exec",
    "compile",
    "globals",
    "locals",
    "vars",
    "dir",
    "input",
    "breakpoint",
    "help",
    "exit",
    "quit",
    "memoryview",
    "delattr",
    "super",
];

/// The builtins expressions may use (those monty implements).
pub(crate) const BUILTINS: &[&str] = &[
    "True",
    "False",
    "None",
    "Ellipsis",
    "NotImplemented",
    "abs",
    "all",
    "any",
    "bin",
    "chr",
    "divmod",
    "enumerate",
    "filter",
    "getattr",
    "hasattr",
    "hash",
    "hex",
    "id",
    "isinstance",
    "len",
    "map",
    "max",
    "min",
    "next",
    "oct",
    "ord",
    "pow",
    "print",
    "repr",
    "reversed",
    "round",
    "setattr",
    "sorted",
    "sum",
    "type",
    "zip",
    "iter",
    "bool",
    "bytes",
    "dict",
    "float",
    "frozenset",
    "int",
    "list",
    "object",
    "range",
    "set",
    "slice",
    "str",
    "tuple",
    "property",
    "BaseException",
    "Exception",
    "ArithmeticError",
    "OverflowError",
    "ZeroDivisionError",
    "LookupError",
    "IndexError",
    "KeyError",
    "RuntimeError",
    "NotImplementedError",
    "RecursionError",
    "AttributeError",
    "NameError",
    "UnboundLocalError",
    "ValueError",
    "UnicodeDecodeError",
    "UnicodeEncodeError",
    "ImportError",
    "ModuleNotFoundError",
    "OSError",
    "TimeoutError",
    "AssertionError",
    "MemoryError",
    "StopIteration",
    "TypeError",
];

/// An expression prepared for monty.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    /// The module monty compiles.
    pub code: String,
    /// The number of lines of the admin's source (lines 2..=lines+1 of `code` are the body).
    pub lines: u32,
    /// Monty's input names, in order: the variables passed in, then the API used.
    pub inputs: Vec<String>,
    /// The attributes of host objects sent along with them (those the expression or the
    /// wrapper names); the others are looked up when touched.
    pub eager: Arc<HashSet<String>>,
}

/// The 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> u32 {
    let upto = text.get(..offset).unwrap_or(text);
    u32::try_from(upto.matches('\n').count() + 1).unwrap_or(u32::MAX)
}

/// The admin's line for a line of the wrapped module, if it is one of the body's.
pub(crate) fn body_line(module_line: u32, lines: u32) -> Option<u32> {
    (module_line >= 2 && module_line <= lines + 1).then(|| module_line - 1)
}

fn indent(source: &str) -> (String, u32) {
    let mut out = String::new();
    let mut lines = 0u32;
    for line in source.replace("\r\n", "\n").split('\n') {
        lines += 1;
        if !line.trim().is_empty() {
            out.push_str("    ");
            out.push_str(line);
        }
        out.push('\n');
    }
    if source.ends_with('\n') {
        out.pop();
        lines -= 1;
    }
    (out, lines)
}

/// Wraps, checks and rewrites `source` for a signature's variables.
pub(crate) fn prepare(source: &str, vars: &[(String, Binding)]) -> Result<Prepared, ExprError> {
    let params: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
    let (body, lines) = indent(source);
    let header = format!("def {HANDLER}({}):\n", params.join(", "));
    let wrapped = format!("{header}{body}    pass\n");
    let parsed = ruff_python_parser::parse_module(&wrapped).map_err(|e| {
        let line = body_line(line_of(&wrapped, e.location.start().to_usize()), lines);
        ExprError::new(
            ErrorKind::Syntax,
            line,
            format!("syntax error: {}", e.error),
        )
    })?;
    let Some(Stmt::FunctionDef(handler)) = parsed.syntax().body.first() else {
        return Err(ExprError::new(
            ErrorKind::Syntax,
            None,
            "the expression is not a function body",
        ));
    };
    let mut scan = Scan::new(&wrapped, lines);
    for stmt in &handler.body {
        scan.visit_stmt(stmt);
    }
    if let Some(err) = scan.error.take() {
        return Err(err);
    }
    let known: HashSet<&str> = params
        .iter()
        .copied()
        .chain(API_FUNCTIONS.iter().copied())
        .chain(["ak_logger"])
        .chain(prelude::DEFINES.iter().map(|(n, _)| *n))
        .chain(BUILTINS.iter().copied())
        .collect();
    if let Some((name, line)) = scan
        .loads
        .iter()
        .find(|(n, _)| !known.contains(n.as_str()) && !scan.bound.contains(n))
    {
        return Err(ExprError::unsupported(
            Some(*line),
            format!("name '{name}' is not defined"),
        ));
    }
    let generator = !scan.yields.is_empty();
    let mut edits = std::mem::take(&mut scan.edits);
    if generator {
        for range in &scan.returns {
            edits.push((*range, format!("return {YIELDED}")));
        }
    }
    let mut text = apply(&wrapped, edits);
    if generator {
        let with_default = format!(
            "{HANDLER}({}{}{YIELDED}=[]):\n",
            params.join(", "),
            if params.is_empty() { "" } else { ", " }
        );
        text = text.replacen(
            &format!("{HANDLER}({}):\n", params.join(", ")),
            &with_default,
            1,
        );
        text.push_str(&format!("    return {YIELDED}\n"));
    }
    let used: BTreeSet<&str> = scan.loads.iter().map(|(n, _)| n.as_str()).collect();
    let mut parts = scan.parts.clone();
    for (name, part) in prelude::DEFINES {
        if used.contains(name) && !scan.bound.contains(*name) {
            parts.insert(*part);
        }
    }
    let derived_ip = vars
        .iter()
        .any(|(n, b)| n == "ak_client_ip" && matches!(b, Binding::Derived(_)))
        && used.contains("ak_client_ip");
    if derived_ip {
        parts.insert(Part::Ip);
    }
    Ok(finish(
        text,
        lines,
        vars,
        &used,
        &parts,
        derived_ip,
        scan.mentions,
    ))
}

fn finish(
    mut text: String,
    lines: u32,
    vars: &[(String, Binding)],
    used: &BTreeSet<&str>,
    parts: &BTreeSet<Part>,
    derived_ip: bool,
    mentions: HashSet<String>,
) -> Prepared {
    let mut eager = mentions;
    for part in parts {
        text.push_str(part.source());
        text.push('\n');
    }
    let mut inputs: Vec<String> = vars
        .iter()
        .filter(|(_, b)| *b == Binding::Input)
        .map(|(n, _)| n.clone())
        .collect();
    if derived_ip {
        inputs.push("_ak_client_ip".into());
    }
    let mut needed: BTreeSet<&str> = used.iter().copied().collect();
    for part in parts {
        let src = part.source();
        needed.extend(API_FUNCTIONS.iter().copied().filter(|f| src.contains(f)));
    }
    if text.contains("_ak_system_settings") {
        needed.insert("_ak_system_settings");
    }
    for f in API_FUNCTIONS.iter().chain(&["ak_logger"]) {
        if needed.contains(f) && !inputs.iter().any(|i| i == f) {
            inputs.push((*f).to_string());
        }
    }
    let has_request = vars.iter().any(|(n, _)| n == "request");
    // A variable the body never names is passed as None, so its object is never built.
    let args: Vec<String> = vars
        .iter()
        .map(|(n, b)| match b {
            Binding::Input => n.clone(),
            Binding::Derived(_) if n == "ak_client_ip" && !derived_ip => "None".into(),
            Binding::Derived(_) if !used.contains(n.as_str()) => "None".into(),
            Binding::Derived(expr) => {
                if let Some(attr) = expr.strip_prefix("request.") {
                    eager.insert(attr.to_string());
                }
                (*expr).to_string()
            }
        })
        .collect();
    // The flow plan comes back only to an expression that can reach it.
    if has_request && eager.contains("flow_plan") {
        eager.insert("context".to_string());
        text.push_str("_ak_plan = request.context.get(\"flow_plan\")\n");
    } else {
        text.push_str("_ak_plan = None\n");
    }
    text.push_str(&format!("({HANDLER}({}), _ak_plan)\n", args.join(", ")));
    Prepared {
        code: text,
        lines,
        inputs,
        eager: Arc::new(eager),
    }
}

fn apply(text: &str, mut edits: Vec<(TextRange, String)>) -> String {
    edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start()));
    let mut out = text.to_string();
    for (range, replacement) in edits {
        let (start, end) = (range.start().to_usize(), range.end().to_usize());
        let newlines = text.get(start..end).map_or(0, |s| s.matches('\n').count());
        let mut rep = replacement;
        for _ in 0..newlines.saturating_sub(rep.matches('\n').count()) {
            rep.push('\n');
        }
        out.replace_range(start..end, &rep);
    }
    out
}

/// One pass over the body: names loaded and bound, imports and yields to rewrite, and the
/// first refusal.
struct Scan<'s> {
    text: &'s str,
    lines: u32,
    depth: usize,
    error: Option<ExprError>,
    loads: Vec<(String, u32)>,
    bound: HashSet<String>,
    edits: Vec<(TextRange, String)>,
    yields: Vec<TextRange>,
    returns: Vec<TextRange>,
    parts: BTreeSet<Part>,
    /// Attribute names and string constants: which attributes of host objects to send along.
    mentions: HashSet<String>,
}

impl<'s> Scan<'s> {
    fn new(text: &'s str, lines: u32) -> Self {
        Self {
            text,
            lines,
            depth: 0,
            error: None,
            loads: Vec::new(),
            bound: HashSet::new(),
            edits: Vec::new(),
            yields: Vec::new(),
            returns: Vec::new(),
            parts: BTreeSet::new(),
            mentions: HashSet::new(),
        }
    }

    fn line(&self, range: TextRange) -> Option<u32> {
        body_line(line_of(self.text, range.start().to_usize()), self.lines)
    }

    fn refuse(&mut self, range: TextRange, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(ExprError::unsupported(self.line(range), message));
        }
    }

    fn slice(&self, range: TextRange) -> &'s str {
        self.text
            .get(range.start().to_usize()..range.end().to_usize())
            .unwrap_or("")
    }

    fn check_name(&mut self, name: &str, range: TextRange) {
        if FORBIDDEN.contains(&name) {
            self.refuse(
                range,
                format!("{name}() is not available: expressions have no file, process or network access and cannot reach the interpreter"),
            );
        } else if let Some((_, why)) = UNAVAILABLE.iter().find(|(n, _)| *n == name) {
            self.refuse(range, format!("{name} is not available: {why}"));
        } else if is_internal(name) {
            self.refuse(
                range,
                format!("'{name}' names interpreter internals, which expressions may not use"),
            );
        }
    }

    fn import(&mut self, stmt: &ast::StmtImport) {
        let mut binds = Vec::new();
        for alias in &stmt.names {
            let module = alias.name.id.as_str();
            let bound = alias.asname.as_ref().map_or_else(
                || module.split('.').next().unwrap_or(module),
                |a| a.id.as_str(),
            );
            if prelude::NATIVE_MODULES.contains(&module) {
                binds.push(format!("import {module} as {bound}"));
            } else if let Some((_, expr, part)) =
                prelude::MODULE_SHIMS.iter().find(|(m, _, _)| *m == module)
            {
                self.parts.insert(*part);
                binds.push(format!("{bound} = {expr}"));
            } else {
                return self.refuse(stmt.range, not_importable(module));
            }
            self.bound.insert(bound.to_string());
        }
        self.edits.push((stmt.range, binds.join("; ")));
    }

    fn import_from(&mut self, stmt: &ast::StmtImportFrom) {
        let module = stmt.module.as_ref().map_or("", |m| m.id.as_str());
        if stmt.level > 0 {
            return self.refuse(stmt.range, "relative imports are not allowed");
        }
        let native = prelude::NATIVE_MODULES.contains(&module);
        let mut binds = Vec::new();
        for alias in &stmt.names {
            let name = alias.name.id.as_str();
            let bound = alias.asname.as_ref().map_or(name, |a| a.id.as_str());
            if name == "*" {
                return self.refuse(stmt.range, "'import *' is not allowed");
            }
            self.bound.insert(bound.to_string());
            if native {
                continue;
            }
            match prelude::SHIMS
                .iter()
                .find(|(m, n, _, _)| *m == module && *n == name)
            {
                Some((_, _, expr, part)) => {
                    if let Some(part) = part {
                        self.parts.insert(*part);
                    }
                    binds.push(format!("{bound} = {expr}"));
                }
                None if prelude::SHIMS.iter().any(|(m, ..)| *m == module) => {
                    return self.refuse(
                        stmt.range,
                        format!("latchkey does not provide {name} from {module}"),
                    );
                }
                None => return self.refuse(stmt.range, not_importable(module)),
            }
        }
        if !native {
            self.edits.push((stmt.range, binds.join("; ")));
        }
    }

    fn call(&mut self, call: &ast::ExprCall) {
        let Expr::Name(func) = call.func.as_ref() else {
            return;
        };
        if !matches!(func.id.as_str(), "getattr" | "setattr" | "hasattr") {
            return;
        }
        if let Some(Expr::StringLiteral(s)) = call.arguments.args.get(1)
            && is_internal(s.value.to_str())
        {
            self.refuse(
                call.range(),
                format!(
                    "attribute '{}' is an interpreter internal, which expressions may not reach",
                    s.value.to_str()
                ),
            );
        }
    }

    fn yield_(&mut self, expr: &Expr, value: Option<&Expr>, from: bool) {
        if self.depth > 0 {
            return self.refuse(
                expr.range(),
                "generators (yield) are only supported in the expression's own body",
            );
        }
        let value = value.map_or("None", |v| self.slice(v.range()));
        let method = if from { "extend" } else { "append" };
        self.edits
            .push((expr.range(), format!("{YIELDED}.{method}({value})")));
        self.yields.push(expr.range());
    }
}

fn is_internal(name: &str) -> bool {
    name.starts_with("__") || name.starts_with("_ak_")
}

fn not_importable(module: &str) -> String {
    format!(
        "import of '{module}' is not allowed: expressions may import {}, ipaddress, and the authentik helpers latchkey recreates",
        prelude::NATIVE_MODULES.join(", ")
    )
}

impl<'a> Visitor<'a> for Scan<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(s) => return self.import(s),
            Stmt::ImportFrom(s) => return self.import_from(s),
            Stmt::FunctionDef(f) => {
                self.bound.insert(f.name.id.to_string());
                for d in &f.decorator_list {
                    self.visit_decorator(d);
                }
                self.visit_parameters(&f.parameters);
                self.depth += 1;
                for s in &f.body {
                    self.visit_stmt(s);
                }
                self.depth -= 1;
                return;
            }
            Stmt::ClassDef(c) => {
                self.bound.insert(c.name.id.to_string());
                self.depth += 1;
                visitor::walk_stmt(self, stmt);
                self.depth -= 1;
                return;
            }
            Stmt::Global(g) => self.bound.extend(g.names.iter().map(|n| n.id.to_string())),
            Stmt::Nonlocal(g) => self.bound.extend(g.names.iter().map(|n| n.id.to_string())),
            Stmt::Return(r) if self.depth == 0 => self.returns.push(r.range),
            Stmt::Expr(e) => {
                if let Expr::Yield(y) = e.value.as_ref() {
                    return self.yield_(&e.value, y.value.as_deref(), false);
                }
                if let Expr::YieldFrom(y) = e.value.as_ref() {
                    return self.yield_(&e.value, Some(&y.value), true);
                }
            }
            _ => {}
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Name(n) => match n.ctx {
                ExprContext::Load => {
                    self.check_name(n.id.as_str(), n.range);
                    let line = self.line(n.range).unwrap_or(0);
                    self.loads.push((n.id.to_string(), line));
                }
                _ => {
                    self.check_name(n.id.as_str(), n.range);
                    self.bound.insert(n.id.to_string());
                }
            },
            Expr::Attribute(a) if !is_internal(a.attr.id.as_str()) => {
                self.mentions.insert(a.attr.id.to_string());
            }
            Expr::StringLiteral(s) if !format_reaches_internals(s.value.to_str()) => {
                let text = s.value.to_str();
                if text.len() <= 64 {
                    self.mentions.insert(text.to_string());
                }
            }
            Expr::Attribute(a) => self.refuse(
                a.attr.range,
                format!(
                    "attribute '{}' is an interpreter internal, which expressions may not reach",
                    a.attr.id
                ),
            ),
            Expr::Call(c) => self.call(c),
            Expr::Yield(_) | Expr::YieldFrom(_) => {
                self.refuse(
                    expr.range(),
                    "yield is only supported as a statement of its own",
                );
            }
            Expr::Lambda(_) => {
                self.depth += 1;
                visitor::walk_expr(self, expr);
                self.depth -= 1;
                return;
            }
            Expr::StringLiteral(s) if format_reaches_internals(s.value.to_str()) => {
                self.refuse(s.range, "format fields may not reach interpreter internals");
            }
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }

    fn visit_parameter(&mut self, parameter: &'a ast::Parameter) {
        self.check_name(parameter.name.id.as_str(), parameter.range);
        self.bound.insert(parameter.name.id.to_string());
        visitor::walk_parameter(self, parameter);
    }

    fn visit_except_handler(&mut self, handler: &'a ast::ExceptHandler) {
        let ast::ExceptHandler::ExceptHandler(h) = handler;
        if let Some(name) = &h.name {
            self.bound.insert(name.id.to_string());
        }
        visitor::walk_except_handler(self, handler);
    }
}

/// `"{0.__class__}".format(x)` reaches attributes through a format string.
fn format_reaches_internals(s: &str) -> bool {
    s.split('{').skip(1).any(|field| {
        let field = field.split('}').next().unwrap_or("");
        field.contains("__") || field.contains("._ak_")
    })
}
