//! Evaluate with limits. monty suspends at every call of a function the sandbox does not
//! define; latchkey answers authentik's helpers itself from the loaded facts and hands only
//! store look-ups (`ak_user_by`, `ak_call_policy`) to the caller's host, so the engine stays
//! I/O-free and the same driver serves an async host (flows) and a blocking one (the token
//! endpoint's scope mappings).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use monty::{FunctionCall, MontyRun, RunProgress};
use monty_types::{
    ExcType, ExtFunctionResult, MontyDate, MontyDateTime, MontyException, MontyObject,
    NameLookupResult, OsFunctionCall, PrintWriter, ResourceLimits, ResourceTracker,
};
use serde_json::{Map, Value as Json};

use super::api::{
    self, Args, EventRecord, LogLine, Lookup, Produced, Raise, RequestFacts, SystemSettings,
    UserFacts,
};
use super::error::{ErrorKind, ExprError, LimitKind};
use super::limits::Limits;
use super::native::Effect;
use super::program::{FILENAME, Program};
use super::source;
use super::value::{Object, ObjectKind, Registry, Value};
use crate::domain::Timestamp;

/// What one evaluation is given.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// `request` (and through it `user`, `context`, `http_request`, `ak_client_ip`).
    pub request: RequestFacts,
    /// Further variables of the signature (`token`, `provider`, `prompt_context`, …).
    pub vars: Vec<(String, Value)>,
    /// Now, as the caller's clock says (what `datetime.now()` returns), in Unix seconds.
    pub now: Timestamp,
    /// What `get_system_settings()` returns.
    pub settings: SystemSettings,
}

/// A policy another policy called with `ak_call_policy`, as the host evaluated it.
#[derive(Debug, Clone, PartialEq)]
pub struct CalledPolicy {
    /// It passed.
    pub passing: bool,
    /// Its messages.
    pub messages: Vec<String>,
    /// What it returned, raw.
    pub raw_result: Value,
}

/// Store look-ups an expression may make, answered by the caller (flows implement it over
/// the store). Errors are host failures (the store is down): the evaluation fails closed.
pub trait Host: Sync {
    /// `ak_user_by(**filters)`: the first user matching every lookup, or `None`.
    fn user_by(
        &self,
        lookups: &[Lookup],
    ) -> impl Future<Output = Result<Option<UserFacts>, String>> + Send;

    /// `ak_call_policy(name, **kwargs)`: evaluates the named policy for the current request with
    /// `kwargs` merged into its context; `None` when no policy has that name.
    fn call_policy(
        &self,
        name: &str,
        kwargs: &Map<String, Json>,
    ) -> impl Future<Output = Result<Option<CalledPolicy>, String>> + Send;
}

/// The blocking form of [`Host`], for callers that evaluate synchronously.
pub trait SyncHost {
    /// See [`Host::user_by`].
    fn user_by(&self, lookups: &[Lookup]) -> Result<Option<UserFacts>, String>;
    /// See [`Host::call_policy`].
    fn call_policy(
        &self,
        name: &str,
        kwargs: &Map<String, Json>,
    ) -> Result<Option<CalledPolicy>, String>;
}

/// A host without a store: look-ups fail the evaluation with a clear message.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHost;

const NO_STORE: &str = "no store is available to this evaluation";

impl SyncHost for NoHost {
    fn user_by(&self, _: &[Lookup]) -> Result<Option<UserFacts>, String> {
        Err(format!("ak_user_by: {NO_STORE}"))
    }
    fn call_policy(&self, _: &str, _: &Map<String, Json>) -> Result<Option<CalledPolicy>, String> {
        Err(format!("ak_call_policy: {NO_STORE}"))
    }
}

impl Host for NoHost {
    async fn user_by(&self, lookups: &[Lookup]) -> Result<Option<UserFacts>, String> {
        SyncHost::user_by(self, lookups)
    }
    async fn call_policy(
        &self,
        name: &str,
        kwargs: &Map<String, Json>,
    ) -> Result<Option<CalledPolicy>, String> {
        SyncHost::call_policy(self, name, kwargs)
    }
}

/// What an evaluation produced: the value (or why there is none) and everything it emitted
/// along the way, which the caller keeps even when the expression failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The returned value, or the error (exception with its line, or the limit exceeded).
    pub result: Result<Value, ExprError>,
    /// `ak_message(...)` texts, for the user.
    pub messages: Vec<String>,
    /// `ak_logger` lines and `print` output.
    pub logs: Vec<LogLine>,
    /// `ak_create_event(...)` events, for the caller to record.
    pub events: Vec<EventRecord>,
    /// The flow plan's context as the expression left it (when the request had a plan).
    pub plan_context: Option<Vec<(String, Value)>>,
    /// What the expression changed in the flow plan's context (keys set, changed or removed
    /// through `context["flow_plan"].context`), in key order, for the caller to write back
    /// into its running plan. Empty when the evaluation failed.
    pub plan_changes: Vec<PlanChange>,
    /// What a natively run authentik expression asks the caller to do (empty otherwise, and
    /// when the evaluation failed).
    pub effects: Vec<Effect>,
    /// Wall-clock time the evaluation took.
    pub elapsed: Duration,
}

impl Outcome {
    /// authentik's policy verdict: `bool(result)`; `None` fails (authentik logs a warning).
    pub fn passing(&self) -> Result<bool, &ExprError> {
        self.result.as_ref().map(Value::is_truthy)
    }

    /// A scope mapping's claims: the returned dict as JSON.
    pub fn claims(&self) -> Result<Map<String, Json>, ExprError> {
        match &self.result {
            Ok(v @ Value::Dict(_)) => match v.to_json() {
                Json::Object(m) => Ok(m),
                _ => Err(ExprError::new(ErrorKind::Result, None, "expected a dict")),
            },
            Ok(Value::None) => Ok(Map::new()),
            Ok(other) => Err(ExprError::new(
                ErrorKind::Result,
                None,
                format!(
                    "a scope mapping must return a dict, not {}",
                    other.to_json()
                ),
            )),
            Err(e) => Err(e.clone()),
        }
    }
}

/// One key of the flow plan's context an expression changed.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanChange {
    /// The context key (`pending_user`, `redirect`, an admin's own key, …).
    pub key: String,
    /// Its new value; `None` when the expression removed the key.
    pub value: Option<Value>,
}

/// The keys whose values differ between the plan context an evaluation started with and the
/// one it left (the `flow_plan` entry itself excluded).
fn plan_changes(before: &[(String, Value)], after: &[(String, Value)]) -> Vec<PlanChange> {
    let find = |ctx: &[(String, Value)], key: &str| {
        ctx.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    };
    let mut keys: Vec<&str> = before
        .iter()
        .chain(after.iter())
        .map(|(k, _)| k.as_str())
        .filter(|k| *k != "flow_plan")
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter()
        .filter_map(|key| {
            let (old, new) = (find(before, key), find(after, key));
            (old != new).then(|| PlanChange {
                key: key.to_string(),
                value: new,
            })
        })
        .collect()
}

/// Caps on what one evaluation may emit.
const MAX_MESSAGES: usize = 32;
const MAX_LOGS: usize = 100;
const MAX_EVENTS: usize = 16;
const MAX_PRINTED: usize = 16 * 1024;
const MAX_TEXT: usize = 1000;

/// A store look-up the driver hands to the host.
enum HostRequest {
    UserBy(Vec<Lookup>),
    CallPolicy(String, Map<String, Json>),
}

enum HostAnswer {
    User(Result<Option<Box<UserFacts>>, String>),
    Policy(String, Result<Option<CalledPolicy>, String>),
}

enum Next {
    Done(MontyObject),
    Host(Box<FunctionCall>, HostRequest),
}

/// Evaluates `program` with `input` under `limits`, asking `host` for store look-ups. A panic
/// inside the interpreter fails the evaluation instead of the caller's task.
pub async fn evaluate<H: Host>(
    program: &Program,
    input: &Input,
    limits: Limits,
    host: &H,
) -> Outcome {
    use futures::FutureExt;
    let started = Instant::now();
    std::panic::AssertUnwindSafe(async {
        let mut run = Run::new(program, input, limits);
        let first = run.start(program);
        let mut step = run.step(first);
        while let Step::Ask(call, request) = step {
            let answer = match request {
                HostRequest::UserBy(lookups) => {
                    HostAnswer::User(host.user_by(&lookups).await.map(|u| u.map(Box::new)))
                }
                HostRequest::CallPolicy(name, kwargs) => {
                    let answer = host.call_policy(&name, &kwargs).await;
                    HostAnswer::Policy(name, answer)
                }
            };
            let progress = run.answer(call, answer);
            step = run.step(progress);
        }
        run.finish(step)
    })
    .catch_unwind()
    .await
    .unwrap_or_else(|_| panicked(started))
}

/// The blocking form of [`evaluate`].
pub fn evaluate_sync<H: SyncHost>(
    program: &Program,
    input: &Input,
    limits: Limits,
    host: &H,
) -> Outcome {
    let started = Instant::now();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut run = Run::new(program, input, limits);
        let first = run.start(program);
        let mut step = run.step(first);
        while let Step::Ask(call, request) = step {
            let answer = match request {
                HostRequest::UserBy(lookups) => {
                    HostAnswer::User(host.user_by(&lookups).map(|u| u.map(Box::new)))
                }
                HostRequest::CallPolicy(name, kwargs) => {
                    let answer = host.call_policy(&name, &kwargs);
                    HostAnswer::Policy(name, answer)
                }
            };
            let progress = run.answer(call, answer);
            step = run.step(progress);
        }
        run.finish(step)
    }))
    .unwrap_or_else(|_| panicked(started))
}

/// Where a driver stands: finished, or waiting for the host to answer a look-up.
enum Step {
    Done(Result<MontyObject, ExprError>),
    Ask(Box<FunctionCall>, HostRequest),
}

fn panicked(started: Instant) -> Outcome {
    Outcome {
        result: Err(ExprError::new(
            ErrorKind::Exception("InternalError".into()),
            None,
            "the interpreter failed on this expression",
        )),
        messages: Vec::new(),
        logs: Vec::new(),
        events: Vec::new(),
        plan_context: None,
        plan_changes: Vec::new(),
        effects: Vec::new(),
        elapsed: started.elapsed(),
    }
}

/// One evaluation's state between suspensions.
struct Run<'a> {
    input: &'a Input,
    /// The program's native effects, handed to the caller when it returns.
    effects: &'a [Effect],
    limits: Limits,
    lines: u32,
    started: Instant,
    registry: Registry,
    messages: Vec<String>,
    logs: Vec<LogLine>,
    events: Vec<EventRecord>,
    printed: String,
    host_calls: usize,
    /// Interpreter time used by earlier slices (the tracker restarts at each new budget).
    cpu_used: Duration,
    /// Which limit the current slice's time budget comes from.
    bound: LimitKind,
}

impl<'a> Run<'a> {
    fn new(program: &'a Program, input: &'a Input, limits: Limits) -> Self {
        Self {
            input,
            effects: program.effects(),
            limits,
            lines: program.prepared().lines,
            started: Instant::now(),
            registry: Registry::new(program.prepared().eager.clone()),
            messages: Vec::new(),
            logs: Vec::new(),
            events: Vec::new(),
            printed: String::new(),
            host_calls: 0,
            cpu_used: Duration::ZERO,
            bound: LimitKind::Time,
        }
    }

    /// The time budget for the next slice: the CPU time left, or the wall time left if less.
    fn budget(&mut self) -> Result<Duration, ExprError> {
        let wall_left = self.limits.deadline.checked_sub(self.started.elapsed());
        let cpu_left = self.limits.cpu_time.checked_sub(self.cpu_used);
        match (cpu_left, wall_left) {
            (_, None) => Err(ExprError::limit(
                LimitKind::Deadline,
                None,
                format!("{:?}", self.limits.deadline),
            )),
            (None, _) => Err(ExprError::limit(
                LimitKind::Time,
                None,
                format!("{:?}", self.limits.cpu_time),
            )),
            (Some(cpu), Some(wall)) => {
                self.bound = if wall < cpu {
                    LimitKind::Deadline
                } else {
                    LimitKind::Time
                };
                Ok(cpu.min(wall))
            }
        }
    }

    fn input_value(&self, name: &str) -> Value {
        match name {
            "request" => Value::Object(api::request_object(&self.input.request)),
            "ak_is_sso_flow" => Value::Bool(self.input.request.is_sso_flow),
            "_ak_client_ip" => Value::Str(
                self.input
                    .request
                    .http
                    .as_ref()
                    .and_then(|h| h.client_ip)
                    .map_or_else(|| "255.255.255.255".to_string(), |ip| ip.to_string()),
            ),
            "ak_logger" => Value::Object(Object {
                class: "BoundLogger".into(),
                kind: ObjectKind::Logger,
                attrs: Vec::new(),
                methods: Vec::new(),
            }),
            other => self
                .input
                .vars
                .iter()
                .find(|(n, _)| n == other)
                .map_or(Value::None, |(_, v)| v.clone()),
        }
    }

    fn start(&mut self, program: &Program) -> Result<RunProgress, ExprError> {
        let run: MontyRun = program.fresh()?;
        let inputs: Vec<MontyObject> = program
            .prepared()
            .inputs
            .iter()
            .map(|name| {
                if source::API_FUNCTIONS.contains(&name.as_str()) {
                    MontyObject::Function {
                        name: name.clone(),
                        docstring: None,
                    }
                } else {
                    let v = self.input_value(name);
                    self.registry.send_owned(v)
                }
            })
            .collect();
        let budget = self.budget()?;
        let limits = ResourceLimits::default()
            .max_duration(budget)
            .max_memory(self.limits.memory)
            .max_recursion_depth(self.limits.recursion)
            .max_suspensions(self.limits.host_calls);
        let print = PrintWriter::CollectString(&mut self.printed, Some(MAX_PRINTED));
        let progress = run.start(inputs, ResourceTracker::new(limits), print);
        progress.map_err(|e| self.error(&e))
    }

    /// Runs until the expression completes or needs the host.
    fn step(&mut self, progress: Result<RunProgress, ExprError>) -> Step {
        match progress.and_then(|p| self.drive(p)) {
            Ok(Next::Done(value)) => Step::Done(Ok(value)),
            Ok(Next::Host(call, request)) => Step::Ask(call, request),
            Err(e) => Step::Done(Err(e)),
        }
    }

    fn drive(&mut self, mut progress: RunProgress) -> Result<Next, ExprError> {
        loop {
            if self.started.elapsed() > self.limits.deadline {
                return Err(ExprError::limit(
                    LimitKind::Deadline,
                    None,
                    format!("{:?}", self.limits.deadline),
                ));
            }
            progress = match progress {
                RunProgress::Complete(value) => return Ok(Next::Done(value)),
                RunProgress::FunctionCall(call) => match self.builtin(&call) {
                    Handled::Value(v) => {
                        let m = self.registry.send_owned(v);
                        self.resume(call, ExtFunctionResult::Return(m))?
                    }
                    Handled::Raise(r) => {
                        let exc = MontyException::new(r.0, Some(r.1));
                        self.resume(call, ExtFunctionResult::Error(exc))?
                    }
                    Handled::Host(request) => {
                        self.host_calls += 1;
                        if self.host_calls > self.limits.host_calls {
                            return Err(ExprError::limit(
                                LimitKind::HostCalls,
                                None,
                                self.limits.host_calls,
                            ));
                        }
                        return Ok(Next::Host(Box::new(call), request));
                    }
                    Handled::NotFound => {
                        let name = call.function_name.clone();
                        self.resume(call, ExtFunctionResult::NotFound(name))?
                    }
                },
                RunProgress::NameLookup(lookup) => {
                    let answer = lookup
                        .object_id()
                        .and_then(|id| self.registry.lazy_attr(&id, &lookup.name))
                        .map_or(NameLookupResult::Undefined, NameLookupResult::Value);
                    let print = PrintWriter::CollectString(&mut self.printed, Some(MAX_PRINTED));
                    let r = lookup.resume(answer, print);
                    r.map_err(|e| self.error(&e))?
                }
                RunProgress::OsCall(call) => {
                    let answer = self.os_call(&call.function_call);
                    let print = PrintWriter::CollectString(&mut self.printed, Some(MAX_PRINTED));
                    let r = match answer {
                        Ok(v) => call.resume(v, print),
                        Err(exc) => call.abort(exc, print),
                    };
                    r.map_err(|e| self.error(&e))?
                }
                RunProgress::ResolveFutures(f) => {
                    let exc = MontyException::new(
                        ExcType::NotImplementedError,
                        Some("async code is not supported in expressions".into()),
                    );
                    let print = PrintWriter::CollectString(&mut self.printed, Some(MAX_PRINTED));
                    let r = f.abort(exc, print);
                    r.map_err(|e| self.error(&e))?
                }
            };
        }
    }

    fn resume(
        &mut self,
        call: FunctionCall,
        result: ExtFunctionResult,
    ) -> Result<RunProgress, ExprError> {
        let print = PrintWriter::CollectString(&mut self.printed, Some(MAX_PRINTED));
        let r = call.resume(result, print);
        r.map_err(|e| self.error(&e))
    }

    /// Resumes after a host answer, with a fresh time budget (host time counts only against
    /// the deadline).
    fn answer(
        &mut self,
        call: Box<FunctionCall>,
        answer: HostAnswer,
    ) -> Result<RunProgress, ExprError> {
        let mut call = *call;
        let result = match answer {
            HostAnswer::User(Ok(user)) => Ok(user.map_or(Value::None, |u| {
                Value::Object(api::user_object(Arc::new(*u)))
            })),
            HostAnswer::Policy(_, Ok(Some(p))) => Ok(Value::Object(api::policy_result_object(
                p.passing,
                &p.messages,
                p.raw_result,
            ))),
            HostAnswer::Policy(name, Ok(None)) => Err(Raise(
                ExcType::ValueError,
                format!("Policy '{name}' not found."),
            )),
            HostAnswer::User(Err(e)) | HostAnswer::Policy(_, Err(e)) => {
                return Err(ExprError::new(
                    ErrorKind::Exception("HostError".into()),
                    None,
                    e,
                ));
            }
        };
        self.cpu_used += call.tracker().elapsed();
        let budget = self.budget()?;
        call.tracker_mut().set_max_duration(budget);
        match result {
            Ok(v) => {
                let m = self.registry.send_owned(v);
                self.resume(call, ExtFunctionResult::Return(m))
            }
            Err(r) => self.resume(
                call,
                ExtFunctionResult::Error(MontyException::new(r.0, Some(r.1))),
            ),
        }
    }

    fn builtin(&mut self, call: &FunctionCall) -> Handled {
        let args = Args {
            positional: call.args.iter().map(|a| self.registry.receive(a)).collect(),
            keywords: call
                .kwargs
                .iter()
                .filter_map(|(k, v)| match k {
                    MontyObject::String(k) => Some((k.clone(), self.registry.receive(v))),
                    _ => None,
                })
                .collect(),
        };
        if let Some(id) = &call.object_id {
            let Some(obj) = self.registry.get(id) else {
                return Handled::Raise(Raise(
                    ExcType::AttributeError,
                    format!("object has no method '{}'", call.function_name),
                ));
            };
            return match api::call_method(obj, &call.function_name, &args) {
                Ok(Produced::Value(v)) => Handled::Value(v),
                Ok(Produced::Log(line)) => {
                    if self.logs.len() < MAX_LOGS {
                        self.logs.push(line);
                    }
                    Handled::Value(Value::None)
                }
                Err(r) => Handled::Raise(r),
            };
        }
        let produced = match call.function_name.as_str() {
            "ak_message" => {
                if self.messages.len() < MAX_MESSAGES {
                    self.messages
                        .push(api::message_text(&args).chars().take(MAX_TEXT).collect());
                }
                Ok(Value::None)
            }
            "ak_is_group_member" => api::is_group_member(&args),
            "ak_user_has_authenticator" => api::user_has_authenticator(&args),
            "ak_create_event" => api::event(&args).map(|e| {
                if self.events.len() < MAX_EVENTS {
                    self.events.push(e);
                }
                Value::None
            }),
            "_ak_ip_facts" => api::ip_facts(&args),
            "_ak_network_facts" => api::network_facts(&args),
            "_ak_url_valid" => Ok(Value::Bool(url_valid(&args))),
            "_ak_system_settings" => Ok(Value::Object(api::settings_object(self.input.settings))),
            "ak_user_by" => return Handled::Host(HostRequest::UserBy(args.lookups())),
            "ak_call_policy" => {
                let Some(Value::Str(name)) = args.positional.first() else {
                    return Handled::Raise(Raise(
                        ExcType::TypeError,
                        "ak_call_policy() needs a policy name".into(),
                    ));
                };
                let kwargs = args
                    .keywords
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect();
                return Handled::Host(HostRequest::CallPolicy(name.clone(), kwargs));
            }
            _ => return Handled::NotFound,
        };
        match produced {
            Ok(v) => Handled::Value(v),
            Err(r) => Handled::Raise(r),
        }
    }

    fn os_call(&self, call: &OsFunctionCall) -> Result<MontyObject, MontyException> {
        let now = time::OffsetDateTime::from_unix_timestamp(self.input.now)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        match call {
            OsFunctionCall::DateToday => Ok(MontyObject::Date(MontyDate {
                year: now.year(),
                month: u8::from(now.month()),
                day: now.day(),
            })),
            OsFunctionCall::DateTimeNow(tz) => Ok(MontyObject::DateTime(MontyDateTime {
                year: now.year(),
                month: u8::from(now.month()),
                day: now.day(),
                hour: now.hour(),
                minute: now.minute(),
                second: now.second(),
                microsecond: 0,
                offset_seconds: tz.as_ref().map(|t| t.offset_seconds),
                timezone_name: tz.as_ref().and_then(|t| t.name.clone()),
            })),
            other => Err(MontyException::new(
                ExcType::PermissionError,
                Some(format!(
                    "{}: expressions have no file, environment or network access",
                    other.name()
                )),
            )),
        }
    }

    /// Maps a monty exception to an error naming the limit or the exception and its line.
    fn error(&self, e: &MontyException) -> ExprError {
        let line = e
            .traceback()
            .iter()
            .rev()
            .filter(|f| f.filename == FILENAME)
            .find_map(|f| source::body_line(f.start.line, self.lines));
        let message = e.message().unwrap_or("").to_string();
        match e.exc_type() {
            ExcType::TimeoutError if message.contains("time limit exceeded") => {
                ExprError::limit(self.bound, line, message)
            }
            ExcType::MemoryError if message.contains("memory limit exceeded") => {
                ExprError::limit(LimitKind::Memory, line, message)
            }
            ExcType::RecursionError => ExprError::limit(LimitKind::Recursion, line, message),
            other => ExprError::new(ErrorKind::Exception(other.to_string()), line, message),
        }
    }

    fn finish(mut self, step: Step) -> Outcome {
        let result = match step {
            Step::Done(result) => result,
            Step::Ask(..) => Err(ExprError::new(
                ErrorKind::Exception("InternalError".into()),
                None,
                "unanswered host call",
            )),
        };
        let mut plan_context = None;
        let result = result.map(|m| match self.registry.receive(&m) {
            Value::Tuple(mut pair) if pair.len() == 2 => {
                if let Some(Value::Object(plan)) = pair.pop()
                    && let Some(Value::Dict(ctx)) = plan.attr("context")
                {
                    plan_context = Some(
                        ctx.iter()
                            .filter_map(|(k, v)| k.as_str().map(|k| (k.to_string(), v.clone())))
                            .collect(),
                    );
                }
                pair.pop().unwrap_or(Value::None)
            }
            other => other,
        });
        for line in std::mem::take(&mut self.printed).lines().take(MAX_LOGS) {
            self.logs.push(LogLine {
                level: "print".into(),
                message: line.chars().take(MAX_TEXT).collect(),
                fields: Map::new(),
            });
        }
        // The plan comes back only to an expression that names it; nothing to compare otherwise.
        let (plan_changes, effects) = match (&result, &self.input.request.plan_context) {
            (Ok(_), Some(before)) => (
                plan_context
                    .as_deref()
                    .map(|after| plan_changes(before, after))
                    .unwrap_or_default(),
                self.effects.to_vec(),
            ),
            (Ok(_), None) => (Vec::new(), self.effects.to_vec()),
            (Err(_), _) => (Vec::new(), Vec::new()),
        };
        Outcome {
            result,
            messages: self.messages,
            logs: self.logs,
            events: self.events,
            plan_context,
            plan_changes,
            effects,
            elapsed: self.started.elapsed(),
        }
    }
}

enum Handled {
    Value(Value),
    Raise(Raise),
    Host(HostRequest),
    NotFound,
}

/// Django's `URLValidator` as far as the setup flow needs it: a scheme from the list, a host
/// that is `localhost`, an IP or a dotted name, no whitespace.
fn url_valid(args: &Args) -> bool {
    let Some(Value::Str(text)) = args.positional.first() else {
        return false;
    };
    let schemes: Vec<String> = match args.positional.get(1) {
        Some(Value::List(l)) | Some(Value::Tuple(l)) => l
            .iter()
            .filter_map(|v| v.as_str().map(str::to_lowercase))
            .collect(),
        _ => vec!["http".into(), "https".into(), "ftp".into(), "ftps".into()],
    };
    if text.chars().any(char::is_whitespace) {
        return false;
    }
    let Ok(url) = url::Url::parse(text) else {
        return false;
    };
    let host_ok = match url.host() {
        Some(url::Host::Domain(d)) => {
            d == "localhost" || (d.contains('.') && !d.starts_with('.') && !d.ends_with('.'))
        }
        Some(_) => true,
        None => false,
    };
    schemes.iter().any(|s| s == url.scheme()) && host_ok
}
