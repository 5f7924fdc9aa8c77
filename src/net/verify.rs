//! The server certificate check behind every TLS connection thoth opens (DESIGN.md §3, §4): rustls' webpki
//! verification against the trusted roots, then the SHA-256 leaf pins when THOTH_TLS_PINNED_CERT_SHA256 is
//! set, with a bounded cache of pins already verified. No crypto of its own: hashing is `ring::digest`,
//! signatures are rustls'.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};

/// The most (server name, certificate) pairs the pin cache remembers.
pub const PIN_CACHE_ENTRIES: usize = 64;

/// Lowercase hex SHA-256 of a DER certificate (the form of THOTH_TLS_PINNED_CERT_SHA256).
pub fn sha256_hex(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// What the verifier checks.
#[derive(Debug)]
pub struct PinnedVerifier {
    /// The webpki chain check; None when THOTH_TLS_VERIFY=false (dev only).
    chain: Option<Arc<WebPkiServerVerifier>>,
    /// Accepted leaf hashes (lowercase hex); empty: no pinning.
    pins: Vec<String>,
    cache: PinCache,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedVerifier {
    pub fn new(
        chain: Option<Arc<WebPkiServerVerifier>>,
        pins: Vec<String>,
        cache_for: Duration,
        algorithms: WebPkiSupportedAlgorithms,
    ) -> PinnedVerifier {
        PinnedVerifier {
            chain,
            pins,
            cache: PinCache::new(cache_for),
            algorithms,
        }
    }
}

impl ServerCertVerifier for PinnedVerifier {
    /// The chain first, then the pin. A certificate whose pin was verified for this server name within the
    /// cache time is accepted without re-validating its chain: the window (THOTH_TLS_PIN_CACHE_SECONDS) is
    /// how long a certificate that expires meanwhile could still be accepted.
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let pinned = !self.pins.is_empty();
        let hash = pinned.then(|| sha256_hex(end_entity));
        let name = server_name.to_str();
        if let Some(hash) = &hash {
            if self.cache.is_fresh(&name, hash) {
                return Ok(ServerCertVerified::assertion());
            }
        }
        if let Some(chain) = &self.chain {
            chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)?;
        }
        let Some(hash) = hash else {
            return Ok(ServerCertVerified::assertion());
        };
        if !self.pins.contains(&hash) {
            tracing::error!(server = %name, sha256 = %hash, "the server's certificate matches none of THOTH_TLS_PINNED_CERT_SHA256");
            return Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(PinMismatch { sha256: hash })),
            )));
        }
        self.cache.insert(&name, hash);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A leaf certificate whose hash is not pinned.
#[derive(Debug)]
pub struct PinMismatch {
    pub sha256: String,
}

impl fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "certificate SHA-256 {} matches none of THOTH_TLS_PINNED_CERT_SHA256",
            self.sha256
        )
    }
}

impl std::error::Error for PinMismatch {}

/// (server name, leaf hash) pairs verified recently, bounded to `PIN_CACHE_ENTRIES`.
#[derive(Debug)]
struct PinCache {
    ttl: Duration,
    verified: Mutex<HashMap<(String, String), Instant>>,
}

impl PinCache {
    fn new(ttl: Duration) -> PinCache {
        PinCache {
            ttl,
            verified: Mutex::new(HashMap::new()),
        }
    }

    fn is_fresh(&self, name: &str, hash: &str) -> bool {
        let Ok(verified) = self.verified.lock() else {
            return false;
        };
        verified
            .get(&(name.to_owned(), hash.to_owned()))
            .is_some_and(|at| at.elapsed() < self.ttl)
    }

    fn insert(&self, name: &str, hash: String) {
        let Ok(mut verified) = self.verified.lock() else {
            return;
        };
        if verified.len() >= PIN_CACHE_ENTRIES {
            let ttl = self.ttl;
            verified.retain(|_, at| at.elapsed() < ttl);
        }
        if verified.len() >= PIN_CACHE_ENTRIES {
            if let Some(oldest) = verified
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(k, _)| k.clone())
            {
                verified.remove(&oldest);
            }
        }
        verified.insert((name.to_owned(), hash), Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_pin_cache_expires_and_stays_bounded() {
        let cache = PinCache::new(Duration::from_secs(60));
        cache.insert("a", "h1".into());
        assert!(cache.is_fresh("a", "h1"));
        assert!(!cache.is_fresh("a", "h2"));
        assert!(!cache.is_fresh("b", "h1"));
        for i in 0..(PIN_CACHE_ENTRIES * 2) {
            cache.insert(&format!("host{i}"), "h".into());
        }
        assert!(cache.verified.lock().unwrap().len() <= PIN_CACHE_ENTRIES);

        let expired = PinCache::new(Duration::ZERO);
        expired.insert("a", "h1".into());
        assert!(!expired.is_fresh("a", "h1"));
    }
}
