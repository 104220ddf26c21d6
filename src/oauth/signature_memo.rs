//! The last JWT signed for a client whose claims bind it to nothing unique (an ID token without
//! `at_hash`, as authentik issues for client_credentials and app passwords), by its exact claims.
//!
//! A memo belongs to one client of one [`crate::oauth::Snapshot`] (see
//! [`crate::oauth::snapshot::ClientEntry`]): a key or configuration change builds a new snapshot
//! and with it empty memos, so an old signature is never reused under a new key. It sits apart
//! from the provider entry and from the token code so that neither has to know the other.

use std::sync::Mutex;

/// One entry: a provider's hot caller is one service account.
#[derive(Default)]
pub struct SignatureMemo(Mutex<Option<(Vec<u8>, String)>>);

impl std::fmt::Debug for SignatureMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignatureMemo(..)")
    }
}

impl SignatureMemo {
    /// The JWT last signed for exactly these (serialised) claims, if it is the one remembered.
    pub(crate) fn get(&self, claims: &[u8]) -> Option<String> {
        let guard = self.0.lock().ok()?;
        match guard.as_ref() {
            Some((k, v)) if k.as_slice() == claims => Some(v.clone()),
            _ => None,
        }
    }

    /// Remembers `jws` as the signature of `claims`, replacing what was remembered.
    pub(crate) fn put(&self, claims: Vec<u8>, jws: String) {
        if let Ok(mut guard) = self.0.lock() {
            *guard = Some((claims, jws));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_one_signature_for_its_exact_claims() {
        let memo = SignatureMemo::default();
        assert_eq!(memo.get(b"{}"), None);
        memo.put(b"{\"a\":1}".to_vec(), "jws-a".into());
        assert_eq!(memo.get(b"{\"a\":1}").as_deref(), Some("jws-a"));
        assert_eq!(memo.get(b"{\"a\":2}"), None);
        memo.put(b"{\"a\":2}".to_vec(), "jws-b".into());
        assert_eq!(memo.get(b"{\"a\":1}"), None, "one entry: the newest wins");
        assert_eq!(memo.get(b"{\"a\":2}").as_deref(), Some("jws-b"));
    }
}
