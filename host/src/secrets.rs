//! Encryption of stored channel credentials (XChaCha20-Poly1305).
//!
//! Each sealed value carries its own random 24-byte nonce and is bound to the
//! row it belongs to (the channel id as associated data), so a ciphertext
//! copied onto another row does not decrypt.

use std::path::Path;

use anyhow::{bail, Context};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

const NONCE_BYTES: usize = 24;
const KEY_FILE: &str = "secret.key";

#[derive(Debug, thiserror::Error)]
#[error("stored credentials cannot be decrypted with the configured secret key")]
pub struct UnsealError;

pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl SecretBox {
    pub fn from_key(key: &[u8; 32]) -> Self {
        SecretBox {
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// The configured key, else the key file in `data_dir`, generated (and
    /// announced in the log) on first start.
    pub fn load(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(text) = configured {
            return Ok(Self::from_key(
                &parse_key(text).context("SWITCHBOARD_SECRET_KEY")?,
            ));
        }
        let path = data_dir.join(KEY_FILE);
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            return Ok(Self::from_key(
                &parse_key(&text).with_context(|| format!("key file {}", path.display()))?,
            ));
        }
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        write_private(&path, &hex::encode(key))?;
        tracing::warn!(
            path = %path.display(),
            "generated a new secret key for stored credentials; back it up, or set SWITCHBOARD_SECRET_KEY"
        );
        Ok(Self::from_key(&key))
    }

    pub fn seal(&self, plaintext: &[u8], bound_to: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad: bound_to.as_bytes(),
        };
        let ciphertext = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
        [nonce.as_slice(), &ciphertext].concat()
    }

    pub fn open(&self, sealed: &[u8], bound_to: &str) -> Result<Vec<u8>, UnsealError> {
        if sealed.len() < NONCE_BYTES {
            return Err(UnsealError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        let payload = Payload {
            msg: ciphertext,
            aad: bound_to.as_bytes(),
        };
        self.cipher
            .decrypt(XNonce::from_slice(nonce), payload)
            .map_err(|_| UnsealError)
    }
}

fn parse_key(text: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = hex::decode(text.trim()).context("the key must be 64 hex characters")?;
    match <[u8; 32]>::try_from(bytes.as_slice()) {
        Ok(key) => Ok(key),
        Err(_) => bail!(
            "the key must be 32 bytes (64 hex characters), got {}",
            bytes.len()
        ),
    }
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_binds_to_the_row() {
        let secrets = SecretBox::from_key(&[7; 32]);
        let sealed = secrets.seal(b"bot token", "channel-1");
        assert!(!sealed.windows(9).any(|w| w == b"bot token"));
        assert_eq!(secrets.open(&sealed, "channel-1").unwrap(), b"bot token");
        assert!(secrets.open(&sealed, "channel-2").is_err());
        assert!(SecretBox::from_key(&[8; 32])
            .open(&sealed, "channel-1")
            .is_err());
        assert!(secrets.open(&sealed[..10], "channel-1").is_err());
    }

    #[test]
    fn generates_then_reuses_a_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let first = SecretBox::load(None, dir.path()).unwrap();
        let sealed = first.seal(b"x", "row");
        let second = SecretBox::load(None, dir.path()).unwrap();
        assert_eq!(second.open(&sealed, "row").unwrap(), b"x");
        assert!(parse_key("abcd").is_err());
    }
}
