//! One minisign check shared by the signed self-update (`update::verify`) and signed lockfiles
//! (`lock::signature`): which of the trusted keys signed the bytes, or why none did. The callers name the
//! file and check their own trusted-comment fields. Verification is `minisign-verify`'s.

use minisign_verify::{Error as SigError, PublicKey, Signature};

/// Why no trusted key verified the signature.
#[derive(Debug)]
pub enum Unverified {
    /// No key has the signature's key id.
    UnknownKey,
    /// The key with that id says the bytes (or the trusted comment) do not match.
    BadSignature,
    /// Anything else minisign-verify refused (algorithm, encoding), in its words.
    Malformed(String),
}

/// Verify `signature` over `bytes` with the first of `keys` whose key id matches. `allow_legacy` accepts
/// minisign's legacy `Ed` (not prehashed) signatures too.
pub fn verify_with_any<'a>(
    keys: impl IntoIterator<Item = &'a PublicKey>,
    bytes: &[u8],
    signature: &Signature,
    allow_legacy: bool,
) -> Result<(), Unverified> {
    for key in keys {
        match key.verify(bytes, signature, allow_legacy) {
            Ok(()) => return Ok(()),
            Err(SigError::UnexpectedKeyId) => continue,
            Err(SigError::InvalidSignature) => return Err(Unverified::BadSignature),
            Err(other) => return Err(Unverified::Malformed(other.to_string())),
        }
    }
    Err(Unverified::UnknownKey)
}
