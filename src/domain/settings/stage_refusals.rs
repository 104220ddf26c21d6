//! Stage settings latchkey cannot honour, refused at save with what to do instead (issue 21:
//! no setting is stored to be silently ignored). `domain::object::validate` calls
//! [`refuse_unsupported`] for every stage.

use super::stages::{GeoipBinding, NetworkBinding, RedirectMode, StageSettings};
use crate::domain::FieldErrors;

/// Records a field error for each setting of `settings` that latchkey has nothing to honour
/// it with.
pub fn refuse_unsupported(e: &mut FieldErrors, settings: &StageSettings) {
    match settings {
        StageSettings::Identification(s) => {
            if !s.sources.is_empty() {
                e.add(
                    "sources",
                    "latchkey has no federation sources to offer on the login page: leave \
                     sources empty",
                );
            }
            if s.captcha_stage.as_deref().is_some_and(|c| !c.is_empty()) {
                e.add(
                    "captcha_stage",
                    "latchkey has no captcha stage: leave captcha_stage empty",
                );
            }
        }
        StageSettings::UserLogin(s) => {
            if s.network_binding == NetworkBinding::BindAsn {
                e.add(
                    "network_binding",
                    "latchkey has no ASN database to bind a session to its autonomous system: \
                     use bind_asn_network (the client's /24 or /64 network), \
                     bind_asn_network_ip (the exact address) or no_binding",
                );
            }
            if s.geoip_binding != GeoipBinding::NoBinding {
                e.add(
                    "geoip_binding",
                    "latchkey has no GeoIP database to bind a session to a location: use \
                     no_binding (network_binding can bind the session to the client's network)",
                );
            }
        }
        StageSettings::Redirect(s) => {
            let no_flow = s.target_flow.as_deref().is_none_or(str::is_empty);
            if s.mode == RedirectMode::Flow && no_flow {
                e.add(
                    "target_flow",
                    "a redirect in flow mode needs the flow to go to: choose target_flow, or use \
                     mode static with target_static",
                );
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::StageKind;

    fn errors(kind: StageKind, settings: serde_json::Value) -> FieldErrors {
        let mut e = FieldErrors::default();
        refuse_unsupported(&mut e, &StageSettings::from_json(kind, &settings));
        e
    }

    #[test]
    fn sources_and_captcha_are_refused_on_identification() {
        let e = errors(
            StageKind::Identification,
            json!({"sources": ["s1"], "captcha_stage": "c1"}),
        );
        assert!(
            e.get("sources")
                .is_some_and(|m| m.contains("leave sources empty"))
        );
        assert!(e.get("captcha_stage").is_some());
        assert!(errors(StageKind::Identification, json!({"sources": []})).is_empty());
    }

    #[test]
    fn asn_only_and_geoip_bindings_are_refused_on_user_login() {
        let e = errors(
            StageKind::UserLogin,
            json!({"network_binding": "bind_asn", "geoip_binding": "bind_continent"}),
        );
        assert!(e.get("network_binding").is_some());
        assert!(e.get("geoip_binding").is_some());
        for ok in ["no_binding", "bind_asn_network", "bind_asn_network_ip"] {
            assert!(
                errors(StageKind::UserLogin, json!({"network_binding": ok})).is_empty(),
                "{ok}"
            );
        }
    }
}
