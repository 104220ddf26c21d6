//! argon2id password hashes with OWASP's parameters (m=19456 KiB, t=2, p=1).
//!
//! Each verification needs 19 MiB of working memory. Allocating it per login made the process
//! keep one such block per blocking thread (the allocator holds on to freed memory), so RSS grew
//! by ~19 MiB with every concurrent login. The async entry points ([`verify_bounded`],
//! [`hash_bounded`]) therefore run at most one hash per core at a time (the rest queue on a
//! semaphore) and reuse a small pool of working-memory blocks, one per hash that ran at the same
//! time, so memory stays bounded however many logins arrive.

use std::sync::{LazyLock, Mutex};

use argon2::password_hash::{Output, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use super::CryptoError;

/// OWASP's argon2id memory cost in KiB (one [`Block`] per KiB).
pub const MEMORY_KIB: u32 = 19_456;
const TIME_COST: u32 = 2;
const LANES: u32 = 1;

fn hasher() -> Argon2<'static> {
    // These constants are valid argon2 parameters, so construction cannot fail.
    let params = Params::new(MEMORY_KIB, TIME_COST, LANES, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password for storage (blocking, ~20 ms: call [`hash_bounded`] from async code).
pub fn hash(password: &str) -> Result<String, CryptoError> {
    let mut bytes = [0u8; 16];
    rand::Rng::fill(&mut rand::rng(), &mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| CryptoError::Hash(e.to_string()))?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CryptoError::Hash(e.to_string()))
}

/// Checks a password against a stored hash. A malformed hash never verifies. Blocking: call
/// [`verify_bounded`] from async code.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// [`verify`] with working memory the caller provides (`blocks` may be larger than needed).
fn verify_with_memory(password: &str, stored: &str, blocks: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let version = parsed
        .version
        .and_then(|v| Version::try_from(v).ok())
        .unwrap_or_default();
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    if blocks.len() < params.block_count() {
        blocks.resize(params.block_count(), Block::default());
    }
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = &mut out[..expected.len()];
    let argon = Argon2::new(algorithm, version, params);
    if argon
        .hash_password_into_with_memory(password.as_bytes(), salt, out, blocks.as_mut_slice())
        .is_err()
    {
        return false;
    }
    // Output's equality is constant-time.
    Output::new(out).is_ok_and(|computed| computed == expected)
}

/// The stored hash unknown users are checked against, so they cost what wrong passwords cost.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("latchkey-dummy-password").unwrap_or_default())
}

/// Burns the same time as a real verification, so unknown users cost what wrong passwords cost.
pub fn verify_dummy(password: &str) {
    let _ = verify(password, dummy_hash());
}

/// One hash per core at a time; the rest wait their turn.
static HASHING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    tokio::sync::Semaphore::new(cores)
});

/// Working memory of finished hashes, reused by the next ones (at most one per permit).
static MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

fn take_memory() -> Vec<Block> {
    MEMORY
        .lock()
        .ok()
        .and_then(|mut pool| pool.pop())
        .unwrap_or_else(|| vec![Block::default(); MEMORY_KIB as usize])
}

fn give_back_memory(blocks: Vec<Block>) {
    if let Ok(mut pool) = MEMORY.lock() {
        pool.push(blocks);
    }
}

/// Verifies `password` against `stored` on a blocking thread, queued behind at most one hash
/// per core and reusing pooled working memory. `None` (an unknown user) burns the same time
/// against a dummy hash and answers false.
pub async fn verify_bounded(password: String, stored: Option<String>) -> Result<bool, CryptoError> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| CryptoError::Hash(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let mut blocks = take_memory();
        let ok = match &stored {
            Some(h) => verify_with_memory(&password, h, &mut blocks),
            None => {
                verify_with_memory(&password, dummy_hash(), &mut blocks);
                false
            }
        };
        give_back_memory(blocks);
        ok
    })
    .await
    .map_err(|e| CryptoError::Hash(format!("the hashing task failed: {e}")))
}

/// Hashes `password` on a blocking thread, queued like [`verify_bounded`].
pub async fn hash_bounded(password: String) -> Result<String, CryptoError> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| CryptoError::Hash(e.to_string()))?;
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(|e| CryptoError::Hash(format!("the hashing task failed: {e}")))?
}

/// True when the stored hash was made with other parameters and should be re-hashed at login.
pub fn needs_rehash(stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return true;
    };
    if parsed.algorithm.as_str() != "argon2id" {
        return true;
    }
    let get = |k: &str| parsed.params.get_decimal(k);
    get("m") != Some(MEMORY_KIB) || get("t") != Some(TIME_COST) || get("p") != Some(LANES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse", &h));
        assert!(!verify("wrong", &h));
        assert!(!verify("correct horse", "not a hash"));
        assert!(!needs_rehash(&h));
        assert!(needs_rehash(
            "$argon2id$v=19$m=4096,t=3,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
        ));
    }

    #[test]
    fn pooled_memory_verifies_as_the_library_does() {
        let h = hash("correct horse").expect("hash");
        // Smaller than needed (grown), exact, and larger than needed (a prefix is used).
        for start in [16, MEMORY_KIB as usize, 2 * MEMORY_KIB as usize] {
            let mut blocks = vec![Block::default(); start];
            assert!(verify_with_memory("correct horse", &h, &mut blocks));
            assert!(!verify_with_memory("correct horsf", &h, &mut blocks));
        }
        // Other parameters and variants, as stored by other tools or older versions.
        let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
        for (alg, m, t) in [
            (Algorithm::Argon2id, 4096, 3),
            (Algorithm::Argon2i, 8192, 2),
            (Algorithm::Argon2d, 1024, 1),
        ] {
            let params = Params::new(m, t, 1, None).expect("params");
            let stored = Argon2::new(alg, Version::V0x13, params)
                .hash_password(b"pw", &salt)
                .expect("hash")
                .to_string();
            let mut blocks = Vec::new();
            assert!(verify_with_memory("pw", &stored, &mut blocks), "{stored}");
            assert!(!verify_with_memory("px", &stored, &mut blocks), "{stored}");
        }
        let mut blocks = Vec::new();
        for bad in [
            "",
            "not a hash",
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ",
        ] {
            assert!(!verify_with_memory("pw", bad, &mut blocks), "{bad}");
        }
    }

    #[tokio::test]
    async fn bounded_entry_points() {
        let h = hash_bounded("pw-123456".into()).await.expect("hash");
        assert!(
            verify_bounded("pw-123456".into(), Some(h.clone()))
                .await
                .expect("ok")
        );
        assert!(
            !verify_bounded("pw-654321".into(), Some(h))
                .await
                .expect("ok")
        );
        assert!(!verify_bounded("pw-123456".into(), None).await.expect("ok"));
    }
}
