//! Secrets at rest (a Page access token, an app secret): sealed with XChaCha20-Poly1305 under
//! one server key before they reach the database, opened only where they are used. The key is
//! `SWITCHBOARD_SECRET_KEY` (32 bytes as 64 hex digits) or, when that is unset, the file
//! `secret.key` in the data dir, created on the first start (mode 0600). A database dump alone
//! does not reveal the secrets; the key is backed up with the data dir, not with the database.

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::path::Path;

const PREFIX: &str = "v1.";
const KEY_FILE: &str = "secret.key";

/// The server's sealing key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
    /// Derived from the same key for `mac`, so sealing and signing never share a key.
    mac_key: [u8; 32],
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

impl SecretBox {
    pub fn from_key(key: &[u8; 32]) -> SecretBox {
        SecretBox {
            cipher: XChaCha20Poly1305::new(key.into()),
            mac_key: hmac_sha256(key, b"switchboard mac key v1"),
        }
    }

    /// A key given as 64 hex digits.
    pub fn from_hex(hex_key: &str) -> Result<SecretBox, String> {
        let bytes = hex::decode(hex_key.trim())
            .map_err(|_| "SWITCHBOARD_SECRET_KEY must be 64 hex digits (32 bytes)".to_string())?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "SWITCHBOARD_SECRET_KEY must be 64 hex digits (32 bytes)".to_string())?;
        Ok(SecretBox::from_key(&key))
    }

    /// The key from `SWITCHBOARD_SECRET_KEY` if given, else from the data dir (made once).
    pub fn load(configured: Option<&str>, data_dir: &Path) -> Result<SecretBox, String> {
        if let Some(k) = configured {
            return SecretBox::from_hex(k);
        }
        let path = data_dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => SecretBox::from_hex(&text)
                .map_err(|_| format!("{} is not a 64-hex-digit key", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                write_private(&path, &hex::encode(key))
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                Ok(SecretBox::from_key(&key))
            }
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Seals `plain`; `label` (the field's name) binds it to its place, so a sealed token
    /// copied into the app-secret field does not open.
    pub fn seal(&self, label: &str, plain: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plain.as_bytes(),
            aad: label.as_bytes(),
        };
        // Encryption with a fresh nonce and an in-memory buffer cannot fail.
        let sealed = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", B64.encode(out))
    }

    /// Opens what `seal` made with the same label; an error when the key or label differ.
    pub fn open(&self, label: &str, sealed: &str) -> Result<String, String> {
        let bad = || format!("the stored {label} cannot be opened with this server's key");
        let raw = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| B64.decode(b).ok())
            .ok_or_else(bad)?;
        if raw.len() < 24 {
            return Err(bad());
        }
        let (nonce, body) = raw.split_at(24);
        let payload = Payload {
            msg: body,
            aad: label.as_bytes(),
        };
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), payload)
            .map_err(|_| bad())?;
        String::from_utf8(plain).map_err(|_| bad())
    }
}

impl SecretBox {
    /// HMAC-SHA256 of `data` under the server's key, bound to `label`: what the server issued
    /// (a visitor token) can be told from what a client made up, without storing it.
    pub fn mac(&self, label: &str, data: &[u8]) -> [u8; 32] {
        let mut msg = Vec::with_capacity(label.len() + 1 + data.len());
        msg.extend_from_slice(label.as_bytes());
        msg.push(0);
        msg.extend_from_slice(data);
        hmac_sha256(&self.mac_key, &msg)
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    // HMAC takes a key of any length, so this cannot fail.
    let Ok(mut m) = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key) else {
        return [0; 32];
    };
    m.update(data);
    m.finalize().into_bytes().into()
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_with_its_key_and_label_only() {
        let a = SecretBox::from_key(&[7; 32]);
        let sealed = a.seal("app_secret", "s3cret");
        assert!(!sealed.contains("s3cret"));
        assert_eq!(a.open("app_secret", &sealed).unwrap(), "s3cret");
        assert!(a.open("page_token", &sealed).is_err());
        assert!(SecretBox::from_key(&[8; 32])
            .open("app_secret", &sealed)
            .is_err());
    }

    #[test]
    fn a_mac_depends_on_key_label_and_data() {
        let a = SecretBox::from_key(&[7; 32]);
        assert_eq!(a.mac("t", b"x"), a.mac("t", b"x"));
        assert_ne!(a.mac("t", b"x"), a.mac("u", b"x"));
        assert_ne!(a.mac("t", b"x"), a.mac("t", b"y"));
        assert_ne!(
            a.mac("t", b"x"),
            SecretBox::from_key(&[8; 32]).mac("t", b"x")
        );
    }

    #[test]
    fn sealing_twice_gives_different_text() {
        let a = SecretBox::from_key(&[7; 32]);
        assert_ne!(a.seal("x", "same"), a.seal("x", "same"));
    }

    #[test]
    fn the_key_file_is_made_once_and_read_back() {
        let dir = std::env::temp_dir().join(format!("sb-key-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let sealed = SecretBox::load(None, &dir).unwrap().seal("t", "v");
        assert_eq!(
            SecretBox::load(None, &dir)
                .unwrap()
                .open("t", &sealed)
                .unwrap(),
            "v"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_malformed_key_is_refused_by_name() {
        let e = SecretBox::from_hex("abc").unwrap_err();
        assert!(e.contains("SWITCHBOARD_SECRET_KEY"), "{e}");
    }
}
