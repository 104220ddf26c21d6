//! A session bound to the network it was signed in from (authentik's user login
//! `network_binding`). latchkey has no ASN database, so `bind_asn_network` binds the client's
//! network as the address's /24 (IPv4) or /64 (IPv6) and `bind_asn_network_ip` the exact
//! address; `bind_asn` alone is refused at save (docs/DEPARTURES.md). A request from outside
//! the bound network ends the session.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::NetworkBinding;

/// What a session was bound to at login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkBound {
    /// The login stage's mode.
    pub mode: NetworkBinding,
    /// The client address at login.
    pub ip: String,
}

/// Why a request broke the binding, in authentik's event shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingBroken {
    /// `network.asn_network` or `network.ip`.
    pub reason: &'static str,
    /// The address the session was bound at.
    pub previous_ip: String,
    /// The request's address.
    pub new_ip: String,
}

impl BindingBroken {
    /// The `logout` event's context (authentik's `SessionBindingBroken.to_event`).
    pub fn to_event(&self) -> Value {
        json!({
            "logout_reason": "Session binding broken",
            "binding": {"reason": self.reason, "previous_value": self.previous_ip,
                        "new_value": self.new_ip},
            "ip": {"previous": self.previous_ip, "new": self.new_ip},
        })
    }
}

impl NetworkBound {
    /// The binding a login from `ip` makes under `mode`; none for `no_binding`.
    pub fn at_login(mode: NetworkBinding, ip: &str) -> Option<Self> {
        (mode != NetworkBinding::NoBinding).then(|| Self {
            mode,
            ip: ip.to_string(),
        })
    }

    /// Whether a request from `ip` breaks the binding.
    pub fn check(&self, ip: &str) -> Option<BindingBroken> {
        if ip == self.ip || canonical(ip).is_some_and(|a| Some(a) == canonical(&self.ip)) {
            return None;
        }
        let broken = |reason| {
            Some(BindingBroken {
                reason,
                previous_ip: self.ip.clone(),
                new_ip: ip.to_string(),
            })
        };
        match self.mode {
            NetworkBinding::NoBinding => None,
            NetworkBinding::BindAsnNetworkIp => broken("network.ip"),
            // `bind_asn` is refused at save; a stored one binds at least the network.
            NetworkBinding::BindAsn | NetworkBinding::BindAsnNetwork => {
                match (network(&self.ip), network(ip)) {
                    (Some(a), Some(b)) if a == b => None,
                    _ => broken("network.asn_network"),
                }
            }
        }
    }
}

/// The address as one spelling: an IPv4-mapped IPv6 address is its IPv4 address.
fn canonical(ip: &str) -> Option<IpAddr> {
    Some(ip.parse::<IpAddr>().ok()?.to_canonical())
}

/// The address's network: its /24 for IPv4 (an IPv4-mapped IPv6 address counts as IPv4), its
/// /64 for IPv6.
fn network(ip: &str) -> Option<(bool, u128)> {
    match canonical(ip)? {
        IpAddr::V4(v4) => Some((false, u128::from(u32::from(v4) >> 8))),
        IpAddr::V6(v6) => Some((true, u128::from(v6) >> 64)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(mode: NetworkBinding, ip: &str) -> NetworkBound {
        NetworkBound::at_login(mode, ip).expect("bound")
    }

    #[test]
    fn the_network_mode_keeps_a_session_within_its_24_or_64() {
        let b = bound(NetworkBinding::BindAsnNetwork, "192.0.2.10");
        assert_eq!(b.check("192.0.2.200"), None);
        assert_eq!(b.check("::ffff:192.0.2.7"), None);
        assert_eq!(
            b.check("192.0.3.10").map(|x| x.reason),
            Some("network.asn_network")
        );
        let b = bound(NetworkBinding::BindAsnNetwork, "2001:db8:1:2::1");
        assert_eq!(b.check("2001:db8:1:2:ffff::9"), None);
        assert!(b.check("2001:db8:1:3::1").is_some());
        assert!(b.check("not an address").is_some());
    }

    #[test]
    fn the_ip_mode_keeps_a_session_on_its_address_and_no_binding_binds_nothing() {
        let b = bound(NetworkBinding::BindAsnNetworkIp, "192.0.2.10");
        assert_eq!(b.check("192.0.2.10"), None);
        assert_eq!(
            b.check("::ffff:192.0.2.10"),
            None,
            "the same address, mapped"
        );
        let broken = b.check("192.0.2.11").expect("broken");
        assert_eq!(broken.reason, "network.ip");
        assert_eq!(broken.to_event()["ip"]["previous"], "192.0.2.10");
        assert_eq!(
            NetworkBound::at_login(NetworkBinding::NoBinding, "192.0.2.10"),
            None
        );
    }
}
