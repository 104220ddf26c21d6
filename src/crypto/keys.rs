//! Certificate keypairs: generate self-signed ones (rcgen on aws-lc-rs) and inspect imported PEM
//! (x509-parser), refusing weak, encrypted or mismatched keys with a specific message.

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PublicKeyData, RsaKeySize};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::CryptoError;
use crate::domain::{CertificateKeypair, KeyType};

/// Which key to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// RSA 2048 (signs RS256).
    Rsa2048,
    /// RSA 4096 (authentik's default for generated certificates).
    Rsa4096,
    /// ECDSA P-256 (ES256).
    EcdsaP256,
    /// ECDSA P-384 (ES384).
    EcdsaP384,
    /// Ed25519 (EdDSA).
    Ed25519,
}

/// A freshly generated certificate and its private key, both PEM.
#[derive(Debug, Clone)]
pub struct GeneratedPair {
    pub certificate_pem: String,
    pub key_pem: String,
}

/// Generates a self-signed certificate valid from a day ago for `validity_days`.
pub fn generate_self_signed(
    common_name: &str,
    subject_alt_names: &[String],
    validity_days: i64,
    algorithm: KeyAlgorithm,
) -> Result<GeneratedPair, CryptoError> {
    let gen_err = |e: rcgen::Error| CryptoError::Generate(e.to_string());
    let key = match algorithm {
        KeyAlgorithm::Rsa2048 => {
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048)
        }
        KeyAlgorithm::Rsa4096 => {
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_4096)
        }
        KeyAlgorithm::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        KeyAlgorithm::EcdsaP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        KeyAlgorithm::Ed25519 => KeyPair::generate_for(&rcgen::PKCS_ED25519),
    }
    .map_err(gen_err)?;
    let mut params = CertificateParams::new(subject_alt_names.to_vec()).map_err(gen_err)?;
    let mut dn = DistinguishedName::new();
    let cn: String = common_name.chars().take(64).collect();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::OrganizationName, "latchkey");
    dn.push(DnType::OrganizationalUnitName, "Self-signed");
    params.distinguished_name = dn;
    let now = ::time::OffsetDateTime::now_utc();
    params.not_before = now - ::time::Duration::days(1);
    params.not_after = now + ::time::Duration::days(validity_days.max(1));
    let cert = params.self_signed(&key).map_err(gen_err)?;
    Ok(GeneratedPair {
        certificate_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// What latchkey derives from a certificate (and key) at save time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    pub key_type: KeyType,
    pub subject: String,
    pub not_before: i64,
    pub not_after: i64,
    pub fingerprint_sha256: String,
    pub fingerprint_sha1: String,
    /// The signing algorithm the key implies (`RS256`, `ES256`, `ES384`, `EdDSA`).
    pub algorithm: &'static str,
}

const OID_ED25519: &str = "1.3.101.112";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";

fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses a certificate (and optional private key), checks they belong together and that the
/// key is strong enough, and returns the derived facts.
pub fn inspect(certificate_pem: &str, key_pem: Option<&str>) -> Result<KeyFacts, CryptoError> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(certificate_pem.as_bytes())
        .map_err(|e| CryptoError::BadCertificate(e.to_string()))?;
    if pem.label != "CERTIFICATE" {
        return Err(CryptoError::BadCertificate(format!(
            "expected a CERTIFICATE block, found {}",
            pem.label
        )));
    }
    let cert = pem
        .parse_x509()
        .map_err(|e| CryptoError::BadCertificate(e.to_string()))?;
    let spki = cert.public_key();
    let alg_oid = spki.algorithm.algorithm.to_id_string();
    let parsed = spki
        .parsed()
        .map_err(|e| CryptoError::BadCertificate(e.to_string()))?;
    let (key_type, algorithm) = match &parsed {
        x509_parser::public_key::PublicKey::RSA(rsa) => {
            let bits = rsa.key_size();
            if bits < 2048 {
                return Err(CryptoError::WeakRsa(bits));
            }
            (KeyType::Rsa, "RS256")
        }
        x509_parser::public_key::PublicKey::EC(_) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .unwrap_or_default();
            match curve.as_str() {
                OID_P256 => (KeyType::Ec, "ES256"),
                OID_P384 => (KeyType::Ec, "ES384"),
                other => {
                    return Err(CryptoError::Unsupported(format!(
                        "EC curve {other} (use P-256 or P-384)"
                    )));
                }
            }
        }
        _ if alg_oid == OID_ED25519 => (KeyType::Ed25519, "EdDSA"),
        _ => {
            return Err(CryptoError::Unsupported(format!(
                "public key algorithm {alg_oid} (use RSA, ECDSA P-256/P-384 or Ed25519)"
            )));
        }
    };
    if let Some(key_pem) = key_pem.filter(|k| !k.trim().is_empty()) {
        if key_pem.contains("ENCRYPTED") {
            return Err(CryptoError::EncryptedKey);
        }
        let key = KeyPair::from_pem(key_pem).map_err(|e| CryptoError::BadKey(e.to_string()))?;
        if key.der_bytes() != spki.subject_public_key.data.as_ref() {
            return Err(CryptoError::KeyMismatch);
        }
    }
    let der = pem.contents.as_slice();
    Ok(KeyFacts {
        key_type,
        subject: cert.subject().to_string(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        fingerprint_sha256: colon_hex(&Sha256::digest(der)),
        fingerprint_sha1: colon_hex(&Sha1::digest(der)),
        algorithm,
    })
}

/// Parses a certificate PEM and hands the certificate to `read`.
fn with_certificate<T>(
    certificate_pem: &str,
    read: impl FnOnce(&x509_parser::certificate::X509Certificate<'_>) -> Result<T, CryptoError>,
) -> Result<T, CryptoError> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(certificate_pem.as_bytes())
        .map_err(|e| CryptoError::BadCertificate(e.to_string()))?;
    let cert = pem
        .parse_x509()
        .map_err(|e| CryptoError::BadCertificate(e.to_string()))?;
    read(&cert)
}

/// The raw subject public key bits of a certificate (the Ed25519 point, the RSA/EC key).
pub fn public_key_bits(certificate_pem: &str) -> Result<Vec<u8>, CryptoError> {
    with_certificate(certificate_pem, |cert| {
        Ok(cert.public_key().subject_public_key.data.to_vec())
    })
}

/// The certificate's SubjectPublicKeyInfo, DER (what aws-lc-rs takes as a public key).
pub fn subject_public_key_info_der(certificate_pem: &str) -> Result<Vec<u8>, CryptoError> {
    with_certificate(certificate_pem, |cert| Ok(cert.public_key().raw.to_vec()))
}

/// The RSA modulus and public exponent of a certificate's key (big-endian, no leading zeros),
/// for a JWK's `n` and `e`; an error when the key is not RSA.
pub fn rsa_public_numbers(certificate_pem: &str) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
    with_certificate(certificate_pem, |cert| match cert.public_key().parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => {
            let trim = |b: &[u8]| {
                let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
                b[start..].to_vec()
            };
            Ok((trim(rsa.modulus), trim(rsa.exponent)))
        }
        _ => Err(CryptoError::Unsupported("not an RSA key".into())),
    })
}

/// A private key PEM (any form [`inspect`] accepts) as PKCS#8 DER.
pub fn private_key_pkcs8_der(key_pem: &str) -> Result<Vec<u8>, CryptoError> {
    KeyPair::from_pem(key_pem)
        .map(|k| k.serialize_der())
        .map_err(|e| CryptoError::BadKey(e.to_string()))
}

/// The certificate's DER bytes (for `x5c` in JWKS).
pub fn certificate_der(certificate_pem: &str) -> Result<Vec<u8>, CryptoError> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(certificate_pem.as_bytes())
        .map_err(|e| CryptoError::BadCertificate(e.to_string()))?;
    Ok(pem.contents)
}

/// Builds a certificate keypair from PEM text, deriving what authentik derives at save time
/// (key type, fingerprints, subject, validity, kid). Timestamps and version are left at zero.
pub fn keypair_from_pem(
    id: &str,
    name: &str,
    certificate_pem: &str,
    key_pem: Option<&str>,
    managed: Option<String>,
) -> Result<CertificateKeypair, CryptoError> {
    let facts = inspect(certificate_pem, key_pem)?;
    let mut kp = CertificateKeypair {
        id: id.to_string(),
        name: name.to_string(),
        certificate_pem: certificate_pem.to_string(),
        key_pem: key_pem.map(str::to_string),
        managed,
        key_type: facts.key_type,
        kid: String::new(),
        fingerprint_sha256: facts.fingerprint_sha256,
        fingerprint_sha1: facts.fingerprint_sha1,
        subject: facts.subject,
        not_before: facts.not_before,
        not_after: facts.not_after,
        created_at: 0,
        updated_at: 0,
        version: 0,
    };
    if kp.key_pem.is_some() {
        kp.kid = super::jwk::SigningKey::from_keypair(&kp)?.kid;
    }
    Ok(kp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pairs_inspect_cleanly() {
        for (alg, kt, jwa) in [
            (KeyAlgorithm::Rsa2048, KeyType::Rsa, "RS256"),
            (KeyAlgorithm::EcdsaP256, KeyType::Ec, "ES256"),
            (KeyAlgorithm::EcdsaP384, KeyType::Ec, "ES384"),
            (KeyAlgorithm::Ed25519, KeyType::Ed25519, "EdDSA"),
        ] {
            let pair = generate_self_signed("test", &["localhost".into()], 30, alg).expect("gen");
            let facts = inspect(&pair.certificate_pem, Some(&pair.key_pem)).expect("inspect");
            assert_eq!(facts.key_type, kt);
            assert_eq!(facts.algorithm, jwa);
            assert!(facts.subject.contains("CN=test"), "{}", facts.subject);
            assert!(facts.not_after > facts.not_before);
            assert_eq!(facts.fingerprint_sha256.len(), 32 * 3 - 1);
        }
    }

    #[test]
    fn refuses_mismatch_garbage_and_encrypted() {
        let a = generate_self_signed("a", &[], 1, KeyAlgorithm::EcdsaP256).expect("gen");
        let b = generate_self_signed("b", &[], 1, KeyAlgorithm::EcdsaP256).expect("gen");
        assert!(matches!(
            inspect(&a.certificate_pem, Some(&b.key_pem)),
            Err(CryptoError::KeyMismatch)
        ));
        assert!(matches!(
            inspect("not pem", None),
            Err(CryptoError::BadCertificate(_))
        ));
        let enc =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(matches!(
            inspect(&a.certificate_pem, Some(enc)),
            Err(CryptoError::EncryptedKey)
        ));
        assert!(matches!(
            inspect(&a.certificate_pem, Some("garbage")),
            Err(CryptoError::BadKey(_))
        ));
    }
}
