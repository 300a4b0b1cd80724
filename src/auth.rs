//! Credentials: argon2 hashes for client secrets, HS256 access tokens.
//! No HTTP here; `api::auth` exposes the token endpoint and the extractor.

use std::time::Duration;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::Argon2;
use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::domain::Role;

const ISSUER: &str = "exampost";
/// Seconds a token's `exp` and `nbf` may be off, for clocks of other replicas.
const LEEWAY_SECS: i64 = 5;

/// Hashes a client secret for storage.
pub fn hash_secret(secret: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .expect("argon2 with default parameters cannot fail")
        .to_string()
}

/// Checks a secret against a stored hash. With no stored hash (unknown
/// client) it still does the work, so timing does not tell which clients exist.
pub fn verify_secret(secret: &str, stored: Option<&str>) -> bool {
    verify_secret_in(&mut Vec::new(), secret, stored)
}

/// The most argon2 memory a stored hash may ask for (64 MiB), so that a
/// tampered row cannot make a check allocate without bound.
const MAX_ARGON2_BLOCKS: usize = 64 * 1024;

/// [`verify_secret`] with argon2's working memory (19 MiB with the default
/// parameters) in `memory`, kept by the caller from one check to the next.
/// Allocating it afresh for each check is what let glibc keep arenas of
/// 58 MB each, several per thread.
pub fn verify_secret_in(memory: &mut Vec<argon2::Block>, secret: &str, stored: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_secret("no such client"));
    let hash = stored.unwrap_or(dummy);
    let Ok(parsed) = PasswordHash::new(hash) else { return false };
    matches_hash(memory, secret, &parsed).unwrap_or(false) && stored.is_some()
}

/// Recomputes the hash of `secret` with the stored salt and parameters and
/// compares it in constant time; `None` when the stored hash is unusable.
fn matches_hash(memory: &mut Vec<argon2::Block>, secret: &str, stored: &PasswordHash<'_>) -> Option<bool> {
    let algorithm = argon2::Algorithm::try_from(stored.algorithm).ok()?;
    let version = match stored.version {
        Some(v) => argon2::Version::try_from(v).ok()?,
        None => argon2::Version::default(),
    };
    let params = argon2::Params::try_from(stored).ok()?;
    let expected = stored.hash?;
    let mut salt_buffer = [0u8; 64];
    let salt = stored.salt?.decode_b64(&mut salt_buffer).ok()?;
    let blocks = params.block_count();
    if blocks > MAX_ARGON2_BLOCKS {
        return None;
    }
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    let mut computed = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(secret.as_bytes(), salt, &mut computed, &mut memory[..blocks])
        .ok()?;
    // `Output`'s equality is constant-time.
    Some(argon2::password_hash::Output::new(&computed).ok()? == expected)
}

/// Checks client secrets on a few dedicated threads.
///
/// Each argon2 check takes 19 MiB. Run on the shared blocking pool, every
/// thread that ever ran one kept glibc arenas of that size, and 300 wrong
/// attempts grew the server to 3.3 GB for good. Here at most `threads` checks
/// run at once, each thread reusing one buffer for all of its checks, and at
/// most `queue` more
/// wait (asynchronously); beyond that `try_admit` says no at once, so the
/// caller can answer 503 instead of queueing without bound.
pub struct SecretVerifier {
    jobs: std::sync::mpsc::Sender<VerifyJob>,
    admission: std::sync::Arc<tokio::sync::Semaphore>,
}

struct VerifyJob {
    secret: String,
    stored: Option<String>,
    answer: tokio::sync::oneshot::Sender<bool>,
    /// Released when the check is done, not when the caller stops waiting:
    /// a client that hangs up must not free room for more work than runs.
    _slot: VerifySlot,
}

/// A place among the checks running or waiting.
pub struct VerifySlot {
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl SecretVerifier {
    pub fn new(threads: usize, queue: usize) -> Self {
        let threads = threads.max(1);
        let (jobs, receiver) = std::sync::mpsc::channel::<VerifyJob>();
        let receiver = std::sync::Arc::new(std::sync::Mutex::new(receiver));
        for n in 0..threads {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new().name(format!("secret-verify-{n}")).spawn(move || {
                let mut memory = Vec::new();
                loop {
                    let next = match receiver.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    // Every sender is gone once the server state is dropped.
                    let Ok(job) = next else { return };
                    let (secret, stored) = (job.secret, job.stored);
                    let check = std::panic::AssertUnwindSafe(|| verify_secret_in(&mut memory, &secret, stored.as_deref()));
                    let valid = std::panic::catch_unwind(check).unwrap_or_else(|_| {
                        tracing::error!("secret check panicked; refusing that attempt");
                        false
                    });
                    let _ = job.answer.send(valid);
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a secret-verify thread");
            }
        }
        SecretVerifier { jobs, admission: std::sync::Arc::new(tokio::sync::Semaphore::new(threads + queue)) }
    }

    /// A slot if one is free now; `None` when `threads + queue` checks are already admitted.
    pub fn try_admit(&self) -> Option<VerifySlot> {
        self.admission.clone().try_acquire_owned().ok().map(|permit| VerifySlot { _permit: permit })
    }

    /// Checks a secret as [`verify_secret`] does, on the verifier's threads.
    pub async fn verify(&self, slot: VerifySlot, secret: String, stored: Option<String>) -> bool {
        let (answer, result) = tokio::sync::oneshot::channel();
        if self.jobs.send(VerifyJob { secret, stored, answer, _slot: slot }).is_err() {
            return false;
        }
        result.await.unwrap_or(false)
    }
}

/// A new random client secret (256 bits, URL-safe).
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("eps_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// What an access token says about its bearer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// API client id.
    pub sub: String,
    /// Organization id.
    pub org: String,
    pub role: Role,
    /// The organization's province (scopes overseers).
    pub prov: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    /// The client's credential generation when the token was issued: a
    /// secret rotation starts a new one and ends the tokens of the old.
    /// Absent (0) in tokens from before generations existed.
    #[serde(default)]
    pub gen: i64,
    /// The organization reads every item of its province (a provincial
    /// Department of Education). Absent (false) in older tokens.
    #[serde(default)]
    pub rp: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token is not signed with HS256")]
    WrongAlgorithm,
    #[error("token signature does not match")]
    BadSignature,
    #[error("token is malformed or lacks required claims")]
    Malformed,
}

/// Whom a token is issued to.
#[derive(Debug, Clone, Copy)]
pub struct TokenSubject<'a> {
    pub client_id: &'a str,
    pub org_id: &'a str,
    pub role: Role,
    pub province: &'a str,
    pub reads_province: bool,
    pub generation: i64,
}

/// Signs and checks access tokens with one HS256 secret. Both take the time
/// from the caller (the service's clock), never from the system: a token
/// expires when the clock the rest of the service reads says so.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub ttl: Duration,
}

impl TokenKeys {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "sub"]);
        // jsonwebtoken reads the system clock; `verify` checks the times
        // (and then the issuer, in jsonwebtoken's order) against `now`.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), validation, ttl }
    }

    /// Issues a token for a client of this credential generation, valid from
    /// `now` for the configured lifetime.
    pub fn issue(&self, client: TokenSubject<'_>, now: DateTime<Utc>) -> String {
        let TokenSubject { client_id, org_id, role, province, reads_province, generation } = client;
        let now = now.timestamp();
        let claims = Claims {
            sub: client_id.into(),
            org: org_id.into(),
            role,
            prov: province.into(),
            iss: ISSUER.into(),
            iat: now,
            nbf: now,
            exp: now + self.ttl.as_secs() as i64,
            gen: generation,
            rp: reads_province,
        };
        self.sign(&claims)
    }

    pub fn sign(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding).expect("HS256 signing cannot fail")
    }

    /// The claims of a token signed with this key, valid at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
        use jsonwebtoken::errors::ErrorKind;
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => TokenError::WrongAlgorithm,
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                _ => TokenError::Malformed,
            })?;
        let now = now.timestamp();
        if claims.exp < now - LEEWAY_SECS {
            return Err(TokenError::Expired);
        }
        if claims.nbf > now + LEEWAY_SECS {
            return Err(TokenError::NotYetValid);
        }
        if claims.iss != ISSUER {
            return Err(TokenError::Malformed);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hash_and_verify() {
        let secret = generate_secret();
        let hash = hash_secret(&secret);
        assert!(verify_secret(&secret, Some(&hash)));
        assert!(!verify_secret("wrong", Some(&hash)));
        assert!(!verify_secret(&secret, None));
        let mut memory = Vec::new();
        assert!(verify_secret_in(&mut memory, &secret, Some(&hash)));
        assert_eq!(memory.len(), 19 * 1024, "argon2's default 19 MiB, kept for the next check");
        assert!(!verify_secret_in(&mut memory, "wrong", Some(&hash)));
        assert!(verify_secret_in(&mut memory, &secret, Some(&hash)), "the reused memory gives the same answer");
        assert!(!verify_secret_in(&mut memory, &secret, Some("$argon2id$v=19$m=9999999,t=2,p=1$c2FsdHNhbHQ$aGFzaA")), "no unbounded memory");
        assert!(!verify_secret_in(&mut memory, &secret, Some("not a hash")));
    }

    #[actix_web::test]
    async fn the_verifier_admits_threads_plus_queue_and_frees_a_slot_per_check() {
        let verifier = SecretVerifier::new(1, 1);
        let secret = generate_secret();
        let hash = hash_secret(&secret);
        let first = verifier.try_admit().unwrap();
        let second = verifier.try_admit().unwrap();
        assert!(verifier.try_admit().is_none(), "one running and one waiting is the bound");
        assert!(verifier.verify(first, secret.clone(), Some(hash.clone())).await);
        assert!(!verifier.verify(second, "wrong".into(), Some(hash.clone())).await);
        let again = verifier.try_admit().expect("finished checks free their slots");
        assert!(!verifier.verify(again, secret, None).await, "unknown clients never pass");
    }

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let keys = TokenKeys::new(&[7u8; 32], Duration::from_secs(60));
        let subject = TokenSubject { client_id: "client", org_id: "org", role: Role::Carrier, province: "phu-tho", reads_province: false, generation: 3 };
        let now = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let token = keys.issue(subject, now);
        let claims = keys.verify(&token, now).unwrap();
        assert_eq!((claims.role, claims.gen), (Role::Carrier, 3));
        let other = TokenKeys::new(&[8u8; 32], Duration::from_secs(60));
        assert_eq!(other.verify(&token, now), Err(TokenError::BadSignature));
        let expired = Claims { exp: now.timestamp() - 100, ..claims.clone() };
        assert_eq!(keys.verify(&keys.sign(&expired), now), Err(TokenError::Expired));
        let future = Claims { nbf: now.timestamp() + 100, ..claims.clone() };
        assert_eq!(keys.verify(&keys.sign(&future), now), Err(TokenError::NotYetValid));
        let foreign = Claims { iss: "elsewhere".into(), ..claims };
        assert_eq!(keys.verify(&keys.sign(&foreign), now), Err(TokenError::Malformed));
    }

    #[test]
    fn a_token_expires_when_the_given_clock_passes_its_lifetime_and_leeway() {
        let keys = TokenKeys::new(&[7u8; 32], Duration::from_secs(60));
        let subject = TokenSubject { client_id: "client", org_id: "org", role: Role::Carrier, province: "phu-tho", reads_province: false, generation: 0 };
        let issued = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let token = keys.issue(subject, issued);
        let at = |seconds| issued + chrono::Duration::seconds(seconds);
        assert!(keys.verify(&token, at(60 + LEEWAY_SECS)).is_ok());
        assert_eq!(keys.verify(&token, at(60 + LEEWAY_SECS + 1)), Err(TokenError::Expired));
        assert!(keys.verify(&token, at(-LEEWAY_SECS)).is_ok());
        assert_eq!(keys.verify(&token, at(-LEEWAY_SECS - 1)), Err(TokenError::NotYetValid));
    }
}
