//! Password hashing off the event loop, in bounded memory.
//!
//! Argon2id with the default parameters fills 19 MiB and takes tens of milliseconds per hash.
//! On an actix worker it would stall every websocket of that worker; on tokio's blocking pool
//! each hash allocates and frees 19 MiB on whichever thread runs it, and glibc keeps those
//! freed blocks per thread arena (a load test's 50 agent logins left the server at 160–800 MiB
//! idle). So a fixed set of threads does all hashing, each with one block buffer it allocates
//! once and reuses: hashing memory stays at `THREADS` × 19 MiB whatever the login rate.

use argon2::password_hash::{
    rand_core::OsRng, Ident, Output, ParamsString, PasswordHash, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{mpsc, oneshot};

const THREADS: usize = 2;
/// Jobs waiting beyond this make callers wait to enqueue (back-pressure, not memory).
const QUEUE: usize = 256;
/// A stored hash asking for more memory than this (4× the default) is treated as not matching.
const MAX_BLOCKS: usize = 4 * Params::DEFAULT_M_COST as usize;

enum Job {
    Hash {
        password: String,
        reply: oneshot::Sender<Option<String>>,
    },
    Verify {
        password: String,
        /// `None`: no such account; a fixed hash is checked so the answer takes as long.
        hash: Option<String>,
        reply: oneshot::Sender<bool>,
    },
}

fn queue() -> &'static mpsc::Sender<Job> {
    static QUEUE_TX: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    QUEUE_TX.get_or_init(|| {
        let (tx, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..THREADS {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || work(&rx));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        tx
    })
}

fn work(rx: &Mutex<mpsc::Receiver<Job>>) {
    let mut blocks: Vec<Block> = Vec::new();
    loop {
        let job = match rx.lock() {
            Ok(mut rx) => rx.blocking_recv(),
            Err(_) => return,
        };
        match job {
            None => return,
            Some(Job::Hash { password, reply }) => {
                let _ = reply.send(hash_with(&mut blocks, &password));
            }
            Some(Job::Verify {
                password,
                hash,
                reply,
            }) => {
                let ok = match hash {
                    Some(h) => verify_with(&mut blocks, &password, &h),
                    None => {
                        verify_with(&mut blocks, &password, absent_account_hash());
                        false
                    }
                };
                let _ = reply.send(ok);
            }
        }
    }
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`), as `Argon2::default().hash_password`.
pub(crate) fn hash_with(blocks: &mut Vec<Block>, password: &str) -> Option<String> {
    let params = Params::default();
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_buf).ok()?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    blocks.resize(params.block_count(), Block::default());
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, &mut blocks[..])
        .ok()?;
    let phc = PasswordHash {
        algorithm: Ident::from(Algorithm::Argon2id),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).ok()?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).ok()?),
    };
    Some(phc.to_string())
}

/// Whether `password` matches the PHC string `hash` (any argon2 variant and parameters up to
/// `MAX_BLOCKS`); the comparison is constant-time (`Output`'s equality).
pub(crate) fn verify_with(blocks: &mut Vec<Block>, password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
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
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let n = params.block_count();
    if n > MAX_BLOCKS {
        return false;
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    blocks.resize(n.max(blocks.len()), Block::default());
    let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password.as_bytes(),
        salt_bytes,
        &mut out,
        &mut blocks[..n],
    );
    computed.is_ok() && Output::new(&out).is_ok_and(|o| o == expected)
}

fn absent_account_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let mut blocks = Vec::new();
        hash_with(&mut blocks, &super::auth::random_password()).unwrap_or_default()
    })
}

/// Hashes a password on the hashing threads; `None` if hashing failed.
pub async fn hash(password: String) -> Option<String> {
    let (reply, answer) = oneshot::channel();
    queue().send(Job::Hash { password, reply }).await.ok()?;
    answer.await.ok().flatten()
}

/// Checks a password on the hashing threads; see `Job::Verify` for `hash: None`.
pub async fn verify(password: String, hash: Option<String>) -> bool {
    let (reply, answer) = oneshot::channel();
    if queue()
        .send(Job::Verify {
            password,
            hash,
            reply,
        })
        .await
        .is_err()
    {
        return false;
    }
    answer.await.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[test]
    fn same_format_as_the_argon2_defaults_both_ways() {
        let mut blocks = Vec::new();
        let ours = hash_with(&mut blocks, "correct horse").unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());

        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(verify_with(&mut blocks, "correct horse", &theirs));
        assert!(!verify_with(&mut blocks, "wrong horse!", &theirs));
        assert!(!verify_with(&mut blocks, "correct horse", "not a hash"));
        // The buffer is reused, not grown per call.
        assert_eq!(blocks.len(), Params::default().block_count());
    }

    #[test]
    fn other_parameters_verify_and_oversized_ones_are_refused() {
        let mut blocks = Vec::new();
        let small = Params::new(1024, 1, 1, None).unwrap();
        let salt = SaltString::generate(&mut OsRng);
        let h = Argon2::new(Algorithm::Argon2i, Version::V0x13, small)
            .hash_password(b"pw-12345", &salt)
            .unwrap()
            .to_string();
        assert!(verify_with(&mut blocks, "pw-12345", &h));
        let huge = Params::new(MAX_BLOCKS as u32 * 2, 1, 1, None).unwrap();
        let forged = format!(
            "$argon2id$v=19${}${}$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            ParamsString::try_from(&huge).unwrap(),
            salt.as_str()
        );
        let parsed = PasswordHash::new(&forged).unwrap();
        assert_eq!(
            Params::try_from(&parsed).unwrap().block_count(),
            2 * MAX_BLOCKS
        );
        assert!(!verify_with(&mut blocks, "pw-12345", &forged));
        assert!(blocks.len() <= MAX_BLOCKS);
    }

    #[tokio::test]
    async fn the_threads_answer() {
        let h = hash("correct horse".into()).await.unwrap();
        assert!(verify("correct horse".into(), Some(h.clone())).await);
        assert!(!verify("wrong horse!".into(), Some(h)).await);
        assert!(!verify("correct horse".into(), None).await);
    }
}
