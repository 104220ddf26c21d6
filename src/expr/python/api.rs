//! authentik's expression API, as its documentation describes it: what a user, a group, the
//! HTTP request and the policy request look like to an expression, the methods they have, and
//! the `ak_*` helpers that need no store. Everything here is computed from facts the caller
//! loaded before the evaluation; look-ups that need the store go through the host.

use std::net::IpAddr;
use std::sync::Arc;

use monty_types::ExcType;
use serde_json::{Map, Value as Json};

pub use super::facts::{GroupFacts, HttpFacts, SystemSettings, UserFacts};
use super::value::{Object, ObjectKind, Value};

/// Everything `request` (authentik's `PolicyRequest`) carries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestFacts {
    /// `request.user` (authentik's `AnonymousUser` when there is none).
    pub user: UserFacts,
    /// `request.http_request`, when the evaluation happens in one.
    pub http: Option<HttpFacts>,
    /// `request.obj`: what the policy is evaluated against (an application, a flow).
    pub obj: Value,
    /// `request.context`'s own keys (`oauth_scopes`, `application`, `pending_user`, …).
    pub context: Vec<(String, Value)>,
    /// The running flow plan's context, when there is one: its keys are in `request.context`
    /// too, and `context["flow_plan"].context` is this dict, whose changes the outcome returns.
    pub plan_context: Option<Vec<(String, Value)>>,
    /// The flow was started by an external source (`ak_is_sso_flow`).
    pub is_sso_flow: bool,
}

/// One Django-style filter (`username="x"`, `name__startswith="a"`,
/// `attributes__team__iexact="core"`), as `ak_user_by`, `ak_is_group_member` and
/// `ak_groups.filter` take them.
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    /// The field path (`["attributes", "team"]`).
    pub path: Vec<String>,
    /// How the field is compared.
    pub op: LookupOp,
    /// What it is compared with.
    pub value: Json,
}

/// Django's field lookups that expressions use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupOp {
    Exact,
    IExact,
    Contains,
    IContains,
    StartsWith,
    IStartsWith,
    EndsWith,
    IEndsWith,
    In,
    IsNull,
}

const LOOKUP_OPS: &[(&str, LookupOp)] = &[
    ("exact", LookupOp::Exact),
    ("iexact", LookupOp::IExact),
    ("contains", LookupOp::Contains),
    ("icontains", LookupOp::IContains),
    ("startswith", LookupOp::StartsWith),
    ("istartswith", LookupOp::IStartsWith),
    ("endswith", LookupOp::EndsWith),
    ("iendswith", LookupOp::IEndsWith),
    ("in", LookupOp::In),
    ("isnull", LookupOp::IsNull),
];

impl Lookup {
    /// Parses a keyword argument (`name__startswith`) and its value.
    pub fn parse(key: &str, value: Json) -> Self {
        let mut path: Vec<String> = key.split("__").map(str::to_string).collect();
        let op = path
            .last()
            .and_then(|last| LOOKUP_OPS.iter().find(|(n, _)| n == last))
            .map(|(_, op)| *op);
        if op.is_some() && path.len() > 1 {
            path.pop();
        }
        Self {
            path,
            op: op.unwrap_or(LookupOp::Exact),
            value,
        }
    }

    /// Whether `record` (a JSON object) satisfies this filter.
    pub fn matches(&self, record: &Json) -> bool {
        let field = self.path.iter().try_fold(record, |v, k| v.get(k));
        if self.op == LookupOp::IsNull {
            let is_null = field.is_none_or(Json::is_null);
            return self.value.as_bool().unwrap_or(true) == is_null;
        }
        let Some(field) = field else { return false };
        let text = |v: &Json| match v {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        let (f, v) = (text(field), text(&self.value));
        let (fl, vl) = (f.to_lowercase(), v.to_lowercase());
        match self.op {
            LookupOp::Exact => field == &self.value || (field.is_string() && f == v),
            LookupOp::IExact => fl == vl,
            LookupOp::Contains => f.contains(&v),
            LookupOp::IContains => fl.contains(&vl),
            LookupOp::StartsWith => f.starts_with(&v),
            LookupOp::IStartsWith => fl.starts_with(&vl),
            LookupOp::EndsWith => f.ends_with(&v),
            LookupOp::IEndsWith => fl.ends_with(&vl),
            LookupOp::In => self
                .value
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == field)),
            LookupOp::IsNull => false,
        }
    }
}

/// Whether `user` matches every filter (what a host's `user_by` can use to check candidates).
pub fn matches_user(user: &UserFacts, lookups: &[Lookup]) -> bool {
    let record = user.lookup_record();
    lookups.iter().all(|l| l.matches(&record))
}

fn group_matches(group: &GroupFacts, lookups: &[Lookup]) -> bool {
    let record = group.lookup_record();
    lookups.iter().all(|l| l.matches(&record))
}

/// An exception raised into the sandbox by a built-in.
#[derive(Debug, Clone)]
pub(crate) struct Raise(pub ExcType, pub String);

fn type_error(msg: impl Into<String>) -> Raise {
    Raise(ExcType::TypeError, msg.into())
}

/// Arguments of one call as the sandbox passed them.
pub(crate) struct Args {
    pub positional: Vec<Value>,
    pub keywords: Vec<(String, Value)>,
}

impl Args {
    fn arg(&self, index: usize, name: &str) -> Option<&Value> {
        self.positional.get(index).or_else(|| {
            self.keywords
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v)
        })
    }

    /// The keywords as lookups (`name="x"` → exact match on `name`).
    pub fn lookups(&self) -> Vec<Lookup> {
        self.keywords
            .iter()
            .map(|(k, v)| Lookup::parse(k, v.to_json()))
            .collect()
    }

    fn user(&self, function: &str) -> Result<&Arc<UserFacts>, Raise> {
        match self.arg(0, "user") {
            Some(Value::Object(o)) => o
                .user()
                .ok_or_else(|| type_error(format!("{function}() expects a user, not {}", o.class))),
            Some(Value::None) | None => Err(Raise(
                ExcType::AttributeError,
                format!("{function}(): 'NoneType' object is not a user"),
            )),
            Some(other) => Err(type_error(format!(
                "{function}() expects a user, not {}",
                type_name(other)
            ))),
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::None => "NoneType",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float",
        Value::Str(_) => "str",
        Value::List(_) => "list",
        Value::Tuple(_) => "tuple",
        Value::Dict(_) => "dict",
        Value::Object(_) | Value::Repr(_) => "object",
    }
}

/// The object form of a user.
pub fn user_object(user: Arc<UserFacts>) -> Object {
    let groups = Value::Object(Object {
        class: "ManyRelatedManager".into(),
        kind: ObjectKind::Groups(user.clone()),
        attrs: Vec::new(),
        methods: Vec::new(),
    });
    let opt = |s: &Option<String>| s.clone().map_or(Value::None, Value::Str);
    let mut attrs = vec![
        ("pk".to_string(), Value::str(&user.pk)),
        ("uuid".into(), Value::str(&user.pk)),
        ("uid".into(), Value::str(&user.uid)),
        ("username".into(), Value::str(&user.username)),
        ("name".into(), Value::str(&user.name)),
        ("email".into(), Value::str(&user.email)),
        ("is_active".into(), Value::Bool(user.is_active)),
        ("is_superuser".into(), Value::Bool(user.is_superuser())),
        ("is_authenticated".into(), Value::Bool(!user.is_anonymous)),
        ("is_anonymous".into(), Value::Bool(user.is_anonymous)),
        ("type".into(), Value::str(&user.user_type)),
        ("path".into(), Value::str(&user.path)),
        ("avatar".into(), Value::str("")),
        ("attributes".into(), Value::from(&user.attributes)),
        ("last_login".into(), opt(&user.last_login)),
        ("date_joined".into(), opt(&user.date_joined)),
        ("ak_groups".into(), groups.clone()),
        ("groups".into(), groups),
    ];
    if let Some(backend) = &user.backend {
        attrs.push(("backend".into(), Value::str(backend)));
    }
    Object {
        class: "User".into(),
        kind: ObjectKind::User(user),
        attrs,
        methods: Vec::new(),
    }
}

/// The object form of a group.
pub fn group_object(group: &GroupFacts) -> Object {
    Object {
        class: "Group".into(),
        kind: ObjectKind::Group(Arc::new(group.clone())),
        attrs: vec![
            ("pk".to_string(), Value::str(&group.pk)),
            ("group_uuid".into(), Value::str(&group.pk)),
            ("name".into(), Value::str(&group.name)),
            ("is_superuser".into(), Value::Bool(group.is_superuser)),
            ("attributes".into(), Value::from(&group.attributes)),
        ],
        methods: Vec::new(),
    }
}

fn pairs_dict(pairs: &[(String, String)]) -> Value {
    Value::dict(pairs.iter().map(|(k, v)| (k.clone(), Value::str(v))))
}

/// The object form of the HTTP request (Django's `HttpRequest` as far as expressions use it).
pub fn http_object(http: Arc<HttpFacts>) -> Object {
    let mut meta: Vec<(String, Value)> = http
        .headers
        .iter()
        .map(|(k, v)| {
            let key = format!("HTTP_{}", k.to_ascii_uppercase().replace('-', "_"));
            (key, Value::str(v))
        })
        .collect();
    if let Some(ip) = http.client_ip {
        meta.push(("REMOTE_ADDR".into(), Value::Str(ip.to_string())));
    }
    let scheme = http
        .base_url
        .split("://")
        .next()
        .unwrap_or("https")
        .to_string();
    Object {
        class: "HttpRequest".into(),
        attrs: vec![
            ("method".to_string(), Value::str(&http.method)),
            ("path".into(), Value::str(&http.path)),
            ("path_info".into(), Value::str(&http.path)),
            ("scheme".into(), Value::Str(scheme)),
            ("GET".into(), pairs_dict(&http.query)),
            ("headers".into(), pairs_dict(&http.headers)),
            ("META".into(), Value::dict(meta)),
        ],
        kind: ObjectKind::HttpRequest(http),
        methods: Vec::new(),
    }
}

/// `request`: authentik's `PolicyRequest` (and `context["flow_plan"]` inside its context).
pub fn request_object(request: &RequestFacts) -> Object {
    let mut context: Vec<(String, Value)> = Vec::new();
    if let Some(plan) = &request.plan_context {
        context.extend(plan.iter().cloned());
        let plan = Object::plain(
            "FlowPlan",
            vec![("context".into(), Value::dict(plan.clone()))],
        );
        context.push(("flow_plan".into(), Value::Object(plan)));
    }
    for (k, v) in &request.context {
        match context.iter_mut().find(|(ck, _)| ck == k) {
            Some(slot) => slot.1 = v.clone(),
            None => context.push((k.clone(), v.clone())),
        }
    }
    let http = request
        .http
        .clone()
        .map_or(Value::None, |h| Value::Object(http_object(Arc::new(h))));
    Object::plain(
        "PolicyRequest",
        vec![
            (
                "user".into(),
                Value::Object(user_object(Arc::new(request.user.clone()))),
            ),
            ("http_request".into(), http),
            ("obj".into(), request.obj.clone()),
            ("context".into(), Value::dict(context)),
            ("debug".into(), Value::Bool(false)),
        ],
    )
}

/// `get_system_settings()`.
pub fn settings_object(settings: SystemSettings) -> Object {
    Object {
        class: "SystemSettings".into(),
        kind: ObjectKind::Settings,
        attrs: vec![
            (
                "default_user_change_name".into(),
                Value::Bool(settings.default_user_change_name),
            ),
            (
                "default_user_change_email".into(),
                Value::Bool(settings.default_user_change_email),
            ),
            (
                "default_user_change_username".into(),
                Value::Bool(settings.default_user_change_username),
            ),
        ],
        methods: Vec::new(),
    }
}

/// A called policy's result (`ak_call_policy`): `.passing`, `.messages`, `.raw_result`.
pub fn policy_result_object(passing: bool, messages: &[String], raw: Value) -> Object {
    Object::plain(
        "PolicyResult",
        vec![
            ("passing".into(), Value::Bool(passing)),
            (
                "messages".into(),
                Value::Tuple(messages.iter().map(Value::str).collect()),
            ),
            ("raw_result".into(), raw),
        ],
    )
}

/// A log line an expression wrote with `ak_logger` or `print`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// `debug`, `info`, `warning`, `error`, `critical`, or `print`.
    pub level: String,
    /// The message.
    pub message: String,
    /// Keyword arguments, as JSON.
    pub fields: Map<String, Json>,
}

/// An event an expression created with `ak_create_event`; the caller records it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// The action.
    pub action: String,
    /// The keyword arguments, as JSON.
    pub context: Map<String, Json>,
}

/// What a built-in method produced.
pub(crate) enum Produced {
    Value(Value),
    Log(LogLine),
}

/// A method call on one of our objects.
pub(crate) fn call_method(obj: &Object, method: &str, args: &Args) -> Result<Produced, Raise> {
    let value = match (&obj.kind, method) {
        (ObjectKind::User(u), "group_attributes") => Value::from(&u.group_attributes()),
        (ObjectKind::User(u), "has_usable_password") => Value::Bool(u.has_usable_password),
        (ObjectKind::User(u), "all_groups") => {
            Value::List(u.all_groups().map(|g| group_object(g).into()).collect())
        }
        (ObjectKind::User(u), "locale") => Value::str(
            u.attributes
                .pointer("/settings/locale")
                .and_then(Json::as_str)
                .unwrap_or(""),
        ),
        (ObjectKind::User(_), "app_entitlements") => Value::List(Vec::new()),
        (ObjectKind::User(u), "get_username") => Value::str(&u.username),
        (ObjectKind::Groups(u), _) => return groups_method(u, method, args).map(Produced::Value),
        (ObjectKind::HttpRequest(h), _) => {
            return http_method(h, method, args).map(Produced::Value);
        }
        (ObjectKind::Logger, level) => return log_line(level, args).map(Produced::Log),
        _ if obj.methods.iter().any(|(m, _)| m == method) => obj
            .methods
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
        _ => {
            return Err(Raise(
                ExcType::AttributeError,
                format!("'{}' object has no attribute '{method}'", obj.class),
            ));
        }
    };
    Ok(Produced::Value(value))
}

fn groups_method(user: &UserFacts, method: &str, args: &Args) -> Result<Value, Raise> {
    let lookups = args.lookups();
    let mut matching = user.groups.iter().filter(|g| group_matches(g, &lookups));
    Ok(match method {
        "all" | "filter" => Value::List(matching.map(|g| group_object(g).into()).collect()),
        "count" => Value::Int(i64::try_from(matching.count()).unwrap_or(i64::MAX)),
        "exists" => Value::Bool(matching.next().is_some()),
        "first" => matching
            .next()
            .map_or(Value::None, |g| group_object(g).into()),
        _ => {
            return Err(Raise(
                ExcType::AttributeError,
                format!("'ManyRelatedManager' object has no attribute '{method}'"),
            ));
        }
    })
}

fn http_method(http: &HttpFacts, method: &str, args: &Args) -> Result<Value, Raise> {
    let base = http.base_url.trim_end_matches('/');
    let full_path = || {
        let query: Vec<String> = http.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if query.is_empty() {
            http.path.clone()
        } else {
            format!("{}?{}", http.path, query.join("&"))
        }
    };
    Ok(match method {
        "build_absolute_uri" => match args.arg(0, "location") {
            Some(Value::Str(loc)) if loc.contains("://") => Value::str(loc),
            Some(Value::Str(loc)) if loc.starts_with('/') => Value::Str(format!("{base}{loc}")),
            Some(Value::Str(loc)) => Value::Str(format!("{base}{}/{loc}", http.path)),
            _ => Value::Str(format!("{base}{}", full_path())),
        },
        "get_full_path" => Value::Str(full_path()),
        "get_host" => Value::str(base.split("://").nth(1).unwrap_or(base)),
        "is_secure" => Value::Bool(base.starts_with("https://")),
        _ => {
            return Err(Raise(
                ExcType::AttributeError,
                format!("'HttpRequest' object has no attribute '{method}'"),
            ));
        }
    })
}

const LOG_LEVELS: &[&str] = &[
    "debug",
    "info",
    "warning",
    "warn",
    "error",
    "exception",
    "critical",
    "msg",
];

fn log_line(level: &str, args: &Args) -> Result<LogLine, Raise> {
    if !LOG_LEVELS.contains(&level) {
        return Err(Raise(
            ExcType::AttributeError,
            format!("'BoundLogger' object has no attribute '{level}'"),
        ));
    }
    let message = match args.arg(0, "event") {
        Some(Value::Str(s)) => s.clone(),
        Some(v) => v.to_json().to_string(),
        None => String::new(),
    };
    let fields = args
        .keywords
        .iter()
        .filter(|(k, _)| k != "event")
        .map(|(k, v)| (k.clone(), v.to_json()))
        .collect();
    let level = match level {
        "warn" => "warning",
        "exception" => "error",
        "msg" => "info",
        l => l,
    };
    Ok(LogLine {
        level: level.to_string(),
        message,
        fields,
    })
}

/// `ak_is_group_member(user, **group_filters)`: membership in a group matching the filters,
/// inherited groups included (authentik's `all_groups()`).
pub(crate) fn is_group_member(args: &Args) -> Result<Value, Raise> {
    let user = args.user("ak_is_group_member")?;
    let lookups = args.lookups();
    Ok(Value::Bool(
        user.all_groups().any(|g| group_matches(g, &lookups)),
    ))
}

/// `ak_user_has_authenticator(user, device_type=None)`.
pub(crate) fn user_has_authenticator(args: &Args) -> Result<Value, Raise> {
    let user = args.user("ak_user_has_authenticator")?;
    Ok(Value::Bool(match args.arg(1, "device_type") {
        Some(Value::Str(t)) => user.authenticators.iter().any(|d| d == t),
        _ => !user.authenticators.is_empty(),
    }))
}

/// `ak_message(text)`: the text, as authentik stores it.
pub(crate) fn message_text(args: &Args) -> String {
    match args.arg(0, "message") {
        Some(Value::Str(s)) => s.clone(),
        Some(v) => v.to_json().to_string(),
        None => String::new(),
    }
}

/// `ak_create_event(action, **kwargs)`.
pub(crate) fn event(args: &Args) -> Result<EventRecord, Raise> {
    let Some(Value::Str(action)) = args.arg(0, "action") else {
        return Err(type_error("ak_create_event() needs an action string"));
    };
    Ok(EventRecord {
        action: action.clone(),
        context: args
            .keywords
            .iter()
            .filter(|(k, _)| k != "action")
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect(),
    })
}

/// The facts an IP address parses into, for the prelude's `ip_address()`.
pub(crate) fn ip_facts(args: &Args) -> Result<Value, Raise> {
    let text = match args.arg(0, "address") {
        Some(Value::Str(s)) => s.trim().to_string(),
        Some(Value::Int(i)) => std::net::Ipv4Addr::from(u32::try_from(*i).unwrap_or(0)).to_string(),
        _ => {
            return Err(Raise(
                ExcType::ValueError,
                "does not appear to be an IPv4 or IPv6 address".into(),
            ));
        }
    };
    let ip: IpAddr = text.parse().map_err(|_| {
        Raise(
            ExcType::ValueError,
            format!("'{text}' does not appear to be an IPv4 or IPv6 address"),
        )
    })?;
    Ok(ip_dict(ip))
}

/// The facts a network parses into, for the prelude's `ip_network()`.
pub(crate) fn network_facts(args: &Args) -> Result<Value, Raise> {
    let Some(Value::Str(text)) = args.arg(0, "address") else {
        return Err(Raise(
            ExcType::ValueError,
            "does not appear to be an IPv4 or IPv6 network".into(),
        ));
    };
    let strict = args.arg(1, "strict").is_none_or(Value::is_truthy);
    let bad = || {
        Raise(
            ExcType::ValueError,
            format!("'{text}' does not appear to be an IPv4 or IPv6 network"),
        )
    };
    let (addr, prefix) = text.trim().split_once('/').unwrap_or((text.trim(), ""));
    let ip: IpAddr = addr.parse().map_err(|_| bad())?;
    let bits: u32 = if ip.is_ipv4() { 32 } else { 128 };
    let prefix: u32 = if prefix.is_empty() {
        bits
    } else {
        prefix.parse().map_err(|_| bad())?
    };
    if prefix > bits {
        return Err(bad());
    }
    let value = ip_u128(ip);
    let mask = if prefix == 0 {
        0
    } else {
        (!0u128 >> (128 - bits)) & !((1u128 << (bits - prefix)) - 1)
    };
    if strict && value & !mask != 0 {
        return Err(Raise(
            ExcType::ValueError,
            format!("{text} has host bits set"),
        ));
    }
    let network = value & mask;
    let net_ip = ip_from(network, ip.is_ipv4());
    let mut facts = ip_dict(net_ip);
    if let Value::Dict(pairs) = &mut facts {
        pairs.push((Value::str("prefixlen"), Value::Int(i64::from(prefix))));
        pairs.push((
            Value::str("_ak_text"),
            Value::Str(format!("{net_ip}/{prefix}")),
        ));
    }
    Ok(facts)
}

fn ip_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn ip_from(value: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4(std::net::Ipv4Addr::from(u32::try_from(value).unwrap_or(0)))
    } else {
        IpAddr::V6(std::net::Ipv6Addr::from(value))
    }
}

/// Python's `ipaddress` private ranges (`is_private`: not globally reachable).
const PRIVATE_V4: &[(u32, u32)] = &[
    (0x0000_0000, 8),
    (0x0a00_0000, 8),
    (0x7f00_0000, 8),
    (0xa9fe_0000, 16),
    (0xac10_0000, 12),
    (0xc000_0000, 29),
    (0xc000_00aa, 31),
    (0xc000_0200, 24),
    (0xc0a8_0000, 16),
    (0xc612_0000, 15),
    (0xc633_6400, 24),
    (0xcb00_7100, 24),
    (0xf000_0000, 4),
    (0xffff_ffff, 32),
];

fn in_v4(value: u32, table: &[(u32, u32)]) -> bool {
    table.iter().any(|(net, prefix)| {
        let mask = if *prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix)
        };
        value & mask == *net
    })
}

fn ip_dict(ip: IpAddr) -> Value {
    let (version, private, loopback, multicast, link_local, unspecified) = match ip {
        IpAddr::V4(v4) => {
            let n = u32::from(v4);
            (
                4,
                in_v4(n, PRIVATE_V4),
                v4.is_loopback(),
                v4.is_multicast(),
                v4.is_link_local(),
                v4.is_unspecified(),
            )
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            let ula = seg[0] & 0xfe00 == 0xfc00;
            let ll = seg[0] & 0xffc0 == 0xfe80;
            let doc = seg[0] == 0x2001 && seg[1] == 0x0db8;
            let mapped = v6
                .to_ipv4_mapped()
                .map(|v4| in_v4(u32::from(v4), PRIVATE_V4));
            (
                6,
                ula || ll || doc || v6.is_loopback() || v6.is_unspecified() || mapped == Some(true),
                v6.is_loopback(),
                v6.is_multicast(),
                ll,
                v6.is_unspecified(),
            )
        }
    };
    let shared = matches!(ip, IpAddr::V4(v4) if in_v4(u32::from(v4), &[(0x6440_0000, 10)]));
    Value::dict([
        ("version", Value::Int(version)),
        ("int", Value::Str(ip_u128(ip).to_string())),
        ("_ak_text", Value::Str(ip.to_string())),
        ("is_private", Value::Bool(private)),
        ("is_global", Value::Bool(!private && !shared)),
        ("is_loopback", Value::Bool(loopback)),
        ("is_multicast", Value::Bool(multicast)),
        ("is_link_local", Value::Bool(link_local)),
        ("is_unspecified", Value::Bool(unspecified)),
    ])
}
