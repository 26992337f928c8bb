//! Password hashing and opaque tokens. Only hashes are stored: argon2id for passwords,
//! SHA-256 for high-entropy random tokens (a slow hash adds nothing for 256-bit secrets).

use super::hasher;
use crate::error::{AppError, AppResult};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const MIN_PASSWORD_LEN: usize = 8;

fn check_length(password: &str) -> AppResult<()> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AppError::validation(format!(
            "password must have at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    Ok(())
}

/// For the command line (no event loop to keep free); the server uses `hash_password_async`.
pub fn hash_password(password: &str) -> AppResult<String> {
    check_length(password)?;
    hasher::hash_with(&mut Vec::new(), password)
        .ok_or_else(|| AppError::internal("password hashing failed"))
}

/// On the hashing threads (`domain::hasher`): never on an actix worker, in bounded memory.
pub async fn hash_password_async(password: String) -> AppResult<String> {
    check_length(&password)?;
    hasher::hash(password)
        .await
        .ok_or_else(|| AppError::internal("password hashing failed"))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    hasher::verify_with(&mut Vec::new(), password, hash)
}

/// On the hashing threads. Without a stored hash (no such account) it checks a fixed one, so
/// the answer takes as long as for a real account and does not tell which addresses exist.
pub async fn verify_password_async(password: String, hash: Option<String>) -> bool {
    hasher::verify(password, hash).await
}

/// A new random token (hex, 256 bits) and the hash to store.
pub fn new_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A readable random password for generated accounts.
pub fn random_password() -> String {
    let mut bytes = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip() {
        let h = hash_password("correct horse").unwrap();
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse!", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[tokio::test]
    async fn hashing_off_the_event_loop_answers_the_same() {
        let h = hash_password_async("correct horse".into()).await.unwrap();
        assert!(verify_password("correct horse", &h));
        assert!(verify_password_async("correct horse".into(), Some(h.clone())).await);
        assert!(!verify_password_async("wrong horse!".into(), Some(h)).await);
        assert!(!verify_password_async("correct horse".into(), None).await);
        assert_eq!(
            hash_password_async("short".into()).await.unwrap_err().code,
            crate::error::ErrorCode::Validation
        );
    }

    #[test]
    fn short_password_is_refused() {
        assert_eq!(
            hash_password("short").unwrap_err().code,
            crate::error::ErrorCode::Validation
        );
    }

    #[test]
    fn tokens_are_unique_and_hashed() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(hash_token(&a), ha);
        assert_eq!(a.len(), 64);
    }
}
