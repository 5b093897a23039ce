//! Optional signatures on plugin components: ed25519 over the component's
//! sha256 digest (the 32 raw bytes), made with a key the operator trusts.
//!
//! | configuration | unsigned component | signed by a trusted key | signed otherwise |
//! |---|---|---|---|
//! | no trusted keys, not required | loaded | loaded (unverified: no key to check) | loaded (unverified) |
//! | trusted keys, not required | loaded | loaded, shown as signed | refused |
//! | required | refused | loaded, shown as signed | refused |
//!
//! A signature travels as 128 hex characters: in `<file>.wasm.sig` beside a
//! component in the plugins directory, or in the `x-plugin-signature` header
//! of an upload.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};

/// The operator's trusted keys and whether every plugin must be signed.
#[derive(Clone, Default)]
pub struct TrustedKeys {
    keys: Vec<VerifyingKey>,
    required: bool,
}

/// A short name for a key in messages and the API: its first 16 hex digits.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&key.to_bytes()[..8])
}

impl TrustedKeys {
    /// Parses hex public keys (64 hex characters each).
    pub fn parse(keys: &[String], required: bool) -> Result<TrustedKeys, String> {
        let keys = keys
            .iter()
            .map(|text| text.trim())
            .filter(|text| !text.is_empty())
            .map(|text| {
                let bytes: [u8; 32] = hex::decode(text)
                    .ok()
                    .and_then(|bytes| bytes.try_into().ok())
                    .ok_or_else(|| format!("trusted key `{text}` is not 64 hex characters"))?;
                VerifyingKey::from_bytes(&bytes)
                    .map_err(|error| format!("trusted key `{text}` is not an ed25519 key: {error}"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        if required && keys.is_empty() {
            return Err("signed plugins are required but no trusted key is configured".into());
        }
        Ok(TrustedKeys { keys, required })
    }

    /// Checks a component's signature; `Ok(Some(key id))` when a trusted
    /// key signed it, `Ok(None)` when it may load unsigned, else the reason
    /// it is refused.
    pub fn check(&self, digest: &[u8], signature: Option<&str>) -> Result<Option<String>, String> {
        let Some(text) = signature.map(str::trim).filter(|text| !text.is_empty()) else {
            return if self.required {
                Err("unsigned, and this host only loads signed plugins".into())
            } else {
                Ok(None)
            };
        };
        if self.keys.is_empty() {
            // Nothing to check against: the signature neither helps nor hurts.
            return Ok(None);
        }
        let bytes: [u8; 64] = hex::decode(text)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or("the signature is not 128 hex characters (an ed25519 signature)")?;
        let signature = Signature::from_bytes(&bytes);
        self.keys
            .iter()
            .find(|key| key.verify(digest, &signature).is_ok())
            .map(|key| Some(key_id(key)))
            .ok_or_else(|| {
                "the signature does not match the component under any trusted key".into()
            })
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer, SigningKey};

    use super::*;

    fn keys() -> (SigningKey, SigningKey) {
        (
            SigningKey::from_bytes(&[7; 32]),
            SigningKey::from_bytes(&[9; 32]),
        )
    }

    fn trusted(key: &SigningKey, required: bool) -> TrustedKeys {
        TrustedKeys::parse(&[hex::encode(key.verifying_key().to_bytes())], required).unwrap()
    }

    #[test]
    fn a_trusted_signature_over_the_digest_passes_and_names_its_key() {
        let (ours, _) = keys();
        let digest = [42u8; 32];
        let signature = hex::encode(ours.sign(&digest).to_bytes());
        assert_eq!(
            trusted(&ours, true).check(&digest, Some(&signature)),
            Ok(Some(key_id(&ours.verifying_key())))
        );
    }

    #[test]
    fn wrong_key_wrong_digest_and_garbage_are_refused() {
        let (ours, theirs) = keys();
        let digest = [42u8; 32];
        let by_them = hex::encode(theirs.sign(&digest).to_bytes());
        assert!(trusted(&ours, false)
            .check(&digest, Some(&by_them))
            .is_err());
        let other_digest = hex::encode(ours.sign(&[1u8; 32]).to_bytes());
        assert!(trusted(&ours, false)
            .check(&digest, Some(&other_digest))
            .is_err());
        assert!(trusted(&ours, false).check(&digest, Some("zz")).is_err());
    }

    #[test]
    fn unsigned_loads_unless_signatures_are_required() {
        let (ours, _) = keys();
        assert_eq!(trusted(&ours, false).check(&[0; 32], None), Ok(None));
        assert!(trusted(&ours, true).check(&[0; 32], None).is_err());
        assert!(
            TrustedKeys::parse(&[], true).is_err(),
            "required needs a key"
        );
        assert!(TrustedKeys::parse(&["abc".into()], false).is_err());
    }
}
