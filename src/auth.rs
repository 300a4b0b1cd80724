//! Credentials: argon2 hashes for client secrets, HS256 access tokens.
//! No HTTP here; `api::auth` exposes the token endpoint and the extractor.

use std::time::Duration;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::domain::Role;

const ISSUER: &str = "exampost";

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
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_secret("no such client"));
    let hash = stored.unwrap_or(dummy);
    let Ok(parsed) = PasswordHash::new(hash) else { return false };
    Argon2::default().verify_password(secret.as_bytes(), &parsed).is_ok() && stored.is_some()
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

/// Signs and checks access tokens with one HS256 secret.
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
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), validation, ttl }
    }

    /// Issues a token for a client, valid from now for the configured lifetime.
    pub fn issue(&self, client_id: &str, org_id: &str, role: Role, province: &str) -> String {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: client_id.into(),
            org: org_id.into(),
            role,
            prov: province.into(),
            iss: ISSUER.into(),
            iat: now,
            nbf: now,
            exp: now + self.ttl.as_secs() as i64,
        };
        self.sign(&claims)
    }

    pub fn sign(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding).expect("HS256 signing cannot fail")
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        use jsonwebtoken::errors::ErrorKind;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => TokenError::WrongAlgorithm,
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                _ => TokenError::Malformed,
            })
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
    }

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let keys = TokenKeys::new(&[7u8; 32], Duration::from_secs(60));
        let token = keys.issue("client", "org", Role::Carrier, "phu-tho");
        let claims = keys.verify(&token).unwrap();
        assert_eq!(claims.role, Role::Carrier);
        let other = TokenKeys::new(&[8u8; 32], Duration::from_secs(60));
        assert_eq!(other.verify(&token), Err(TokenError::BadSignature));
        let expired = Claims { exp: Utc::now().timestamp() - 100, ..claims.clone() };
        assert_eq!(keys.verify(&keys.sign(&expired)), Err(TokenError::Expired));
        let future = Claims { nbf: Utc::now().timestamp() + 100, ..claims };
        assert_eq!(keys.verify(&keys.sign(&future)), Err(TokenError::NotYetValid));
    }
}
