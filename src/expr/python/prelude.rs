//! Python that latchkey adds to an expression when it uses what monty lacks: `ipaddress`
//! (built on host-parsed facts), authentik's small helpers (`regex_match`, `list_flatten`,
//! `slugify`), and the handful of Django/authentik imports authentik's own blueprints use. Each
//! part is added only when the expression names something in it, so plain expressions pay
//! nothing. Names start with `_ak_`, which expressions may not use.

/// One part of the prelude.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Part {
    /// `ip_address`, `ip_network`, `import ipaddress`, `ak_client_ip`.
    Ip,
    /// `regex_match`, `regex_replace`, `list_flatten`, `slugify`.
    Helpers,
    /// `django.core.exceptions.ValidationError`, `django.core.validators.URLValidator`.
    Django,
    /// `authentik.core.models.UserTypes`.
    Models,
}

/// The global names each part defines (an expression naming one needs the part).
pub(crate) const DEFINES: &[(&str, Part)] = &[
    ("ip_address", Part::Ip),
    ("ip_network", Part::Ip),
    ("regex_match", Part::Helpers),
    ("regex_replace", Part::Helpers),
    ("list_flatten", Part::Helpers),
    ("slugify", Part::Helpers),
];

impl Part {
    /// The part's source.
    pub(crate) fn source(self) -> &'static str {
        match self {
            Part::Ip => IP,
            Part::Helpers => HELPERS,
            Part::Django => DJANGO,
            Part::Models => MODELS,
        }
    }
}

const IP: &str = r#"
class _AkAddress:
    def __init__(self, facts):
        self._ak_text = facts["_ak_text"]
        self._ak_int = int(facts["int"])
        self.version = facts["version"]
        self.max_prefixlen = 32 if self.version == 4 else 128
        self.is_private = facts["is_private"]
        self.is_global = facts["is_global"]
        self.is_loopback = facts["is_loopback"]
        self.is_multicast = facts["is_multicast"]
        self.is_link_local = facts["is_link_local"]
        self.is_unspecified = facts["is_unspecified"]
        self.compressed = self._ak_text
        self.exploded = self._ak_text

    def __str__(self):
        return self._ak_text

    def __repr__(self):
        kind = "IPv4Address" if self.version == 4 else "IPv6Address"
        return kind + "('" + self._ak_text + "')"

    def __int__(self):
        return self._ak_int

    def __hash__(self):
        return hash((self.version, self._ak_int))

    def __eq__(self, other):
        return isinstance(other, _AkAddress) and other.version == self.version and other._ak_int == self._ak_int

    def __ne__(self, other):
        return not self.__eq__(other)

    def __lt__(self, other):
        return self._ak_int < other._ak_int

    def __le__(self, other):
        return self._ak_int <= other._ak_int

    def __gt__(self, other):
        return self._ak_int > other._ak_int

    def __ge__(self, other):
        return self._ak_int >= other._ak_int


class _AkNetwork:
    def __init__(self, facts):
        self.network_address = _AkAddress(facts)
        self._ak_text = facts["_ak_text"]
        self._ak_int = self.network_address._ak_int
        self.version = self.network_address.version
        self.max_prefixlen = self.network_address.max_prefixlen
        self.prefixlen = facts["prefixlen"]
        self._ak_shift = self.max_prefixlen - self.prefixlen
        self.num_addresses = 2 ** self._ak_shift
        self.is_private = facts["is_private"]
        self.is_global = facts["is_global"]
        self.with_prefixlen = self._ak_text
        self.compressed = self._ak_text

    def __str__(self):
        return self._ak_text

    def __repr__(self):
        kind = "IPv4Network" if self.version == 4 else "IPv6Network"
        return kind + "('" + self._ak_text + "')"

    def __hash__(self):
        return hash((self.version, self._ak_int, self.prefixlen))

    def __eq__(self, other):
        return isinstance(other, _AkNetwork) and other._ak_text == self._ak_text

    def __contains__(self, other):
        if not isinstance(other, _AkAddress) or other.version != self.version:
            return False
        return (other._ak_int >> self._ak_shift) == (self._ak_int >> self._ak_shift)

    def subnet_of(self, other):
        return other.prefixlen <= self.prefixlen and self.network_address in other

    def supernet_of(self, other):
        return other.subnet_of(self)

    def overlaps(self, other):
        return self.network_address in other or other.network_address in self


def ip_address(address):
    if isinstance(address, _AkAddress):
        return address
    return _AkAddress(_ak_ip_facts(address))


def ip_network(address, strict=True):
    if isinstance(address, _AkNetwork):
        return address
    return _AkNetwork(_ak_network_facts(address, strict))


class _AkIpaddressModule:
    def ip_address(self, address):
        return ip_address(address)

    def ip_network(self, address, strict=True):
        return ip_network(address, strict)


_ak_ipaddress = _AkIpaddressModule()
"#;

const HELPERS: &str = r#"
import re as _ak_re


def regex_match(value, regex):
    return _ak_re.search(regex, value) is not None


def regex_replace(value, regex, repl):
    return _ak_re.sub(regex, repl, value)


def list_flatten(value):
    if isinstance(value, list):
        if len(value) < 1:
            return None
        return value[0]
    return value


def slugify(value):
    value = _ak_re.sub(r"[^\w\s-]", "", str(value).lower())
    return _ak_re.sub(r"[-\s]+", "-", value).strip("-_")
"#;

// monty has no class inheritance and no `__call__`, so Django's ValidationError is a ValueError here (an
// `except ValidationError` catches what the validator raises, and other ValueErrors too)
// and URLValidator() returns the validating function.
const DJANGO: &str = r#"
_AkValidationError = ValueError


def _AkURLValidator(schemes=None):
    allowed = schemes or ["http", "https", "ftp", "ftps"]

    def validate(value):
        if not isinstance(value, str) or not _ak_url_valid(value, allowed):
            raise _AkValidationError("Enter a valid URL.")

    return validate
"#;

const MODELS: &str = r#"
class _AkUserTypes:
    INTERNAL = "internal"
    EXTERNAL = "external"
    SERVICE_ACCOUNT = "service_account"
    INTERNAL_SERVICE_ACCOUNT = "internal_service_account"
"#;

/// What `from MODULE import NAME` becomes: the Python expression bound to the name, and the
/// prelude part it needs. Modules monty implements itself (`re`, `json`, `datetime`) are not
/// listed: their imports run as written.
pub(crate) const SHIMS: &[(&str, &str, &str, Option<Part>)] = &[
    (
        "ipaddress",
        "ip_address",
        "_ak_ipaddress.ip_address",
        Some(Part::Ip),
    ),
    (
        "ipaddress",
        "ip_network",
        "_ak_ipaddress.ip_network",
        Some(Part::Ip),
    ),
    (
        "django.core.exceptions",
        "ValidationError",
        "_AkValidationError",
        Some(Part::Django),
    ),
    (
        "django.core.validators",
        "URLValidator",
        "_AkURLValidator",
        Some(Part::Django),
    ),
    (
        "authentik.core.models",
        "USER_ATTRIBUTE_CHANGE_EMAIL",
        "'goauthentik.io/user/can-change-email'",
        None,
    ),
    (
        "authentik.core.models",
        "USER_ATTRIBUTE_CHANGE_NAME",
        "'goauthentik.io/user/can-change-name'",
        None,
    ),
    (
        "authentik.core.models",
        "USER_ATTRIBUTE_CHANGE_USERNAME",
        "'goauthentik.io/user/can-change-username'",
        None,
    ),
    (
        "authentik.core.models",
        "USER_PATH_SERVICE_ACCOUNT",
        "'goauthentik.io/service-accounts'",
        None,
    ),
    (
        "authentik.core.models",
        "UserTypes",
        "_AkUserTypes",
        Some(Part::Models),
    ),
    (
        "authentik.admin.utils",
        "get_system_settings",
        "_ak_system_settings",
        None,
    ),
];

/// `import MODULE` for a shimmed module: the expression bound to the module name.
pub(crate) const MODULE_SHIMS: &[(&str, &str, Part)] = &[("ipaddress", "_ak_ipaddress", Part::Ip)];

/// Modules monty implements that expressions may import.
pub(crate) const NATIVE_MODULES: &[&str] = &["re", "json", "datetime"];
