//! Authentication: argon2id passwords, random bearer tokens stored as SHA-256, TOTP second
//! factors (RFC 6238) for reviewers and administrators, per-token rate limits.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{AppState, Error, Result};

/// An account's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Applies for projects and queries approved ones.
    Researcher,
    /// Reviews applications.
    Reviewer,
    /// Runs ingest and linkage; reads job reports.
    Steward,
    /// Manages accounts and projects.
    Admin,
}

impl Role {
    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Researcher => "researcher",
            Role::Reviewer => "reviewer",
            Role::Steward => "steward",
            Role::Admin => "admin",
        }
    }

    /// Parses a role name.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "researcher" => Ok(Role::Researcher),
            "reviewer" => Ok(Role::Reviewer),
            "steward" => Ok(Role::Steward),
            "admin" => Ok(Role::Admin),
            other => Err(Error::BadRequest(format!(
                "unknown role {other:?}: researcher, reviewer, steward or admin"
            ))),
        }
    }

    /// Whether logging in needs a one-time code.
    pub fn needs_second_factor(self) -> bool {
        matches!(self, Role::Reviewer | Role::Admin)
    }
}

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("hash password: {e}")))
}

/// Whether `password` matches the stored hash.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A fresh random secret: 32 bytes, base64url.
pub fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("random: {e}")))?;
    Ok(format!("niji_{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A new TOTP secret (20 random bytes, base32, as authenticator apps take it).
pub fn new_totp_secret() -> Result<String> {
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("random: {e}")))?;
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(BASE32[((buf >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    Ok(out)
}

fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = BASE32.iter().position(|x| *x == c.to_ascii_uppercase())? as u32;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((buf >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

/// The 6-digit TOTP code of `secret` (base32) at Unix time `now` (30-second steps, HMAC-SHA1).
pub fn totp_code(secret: &str, now: i64) -> Option<String> {
    let key = base32_decode(secret)?;
    let counter = (now / 30) as u64;
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&key).ok()?;
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = (h[h.len() - 1] & 0x0f) as usize;
    let bin = (u32::from(h[offset] & 0x7f) << 24)
        | (u32::from(h[offset + 1]) << 16)
        | (u32::from(h[offset + 2]) << 8)
        | u32::from(h[offset + 3]);
    Some(format!("{:06}", bin % 1_000_000))
}

/// Whether `code` is the TOTP of `secret` now or one step either side (clock drift).
pub fn totp_matches(secret: &str, code: &str, now: i64) -> bool {
    [-30, 0, 30]
        .iter()
        .any(|d| totp_code(secret, now + d).is_some_and(|c| c == code.trim()))
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Account id.
    pub id: String,
    /// User name.
    pub username: String,
    /// Role.
    pub role: Role,
}

impl Caller {
    /// Refuses unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<()> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "this needs the role {}",
                roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            )))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(Error::Unauthenticated)?;
        let hash = token_hash(token.trim());
        state.limiter.check(&hash)?;
        let now = state.clock.now().timestamp();
        let row = sqlx::query(
            "SELECT a.id, a.username, a.role FROM tokens t JOIN accounts a ON a.id = t.account_id \
             WHERE t.token_hash = $1 AND t.revoked = 0 AND a.disabled = 0 \
             AND (t.expires_at IS NULL OR t.expires_at > $2)",
        )
        .bind(&hash)
        .bind(now)
        .fetch_optional(&state.db)
        .await?
        .ok_or(Error::Unauthenticated)?;
        Ok(Caller {
            id: row.get(0),
            username: row.get(1),
            role: Role::parse(&row.get::<String, _>(2))?,
        })
    }
}

/// A token bucket per token: `per_minute` requests a minute, bursts up to the same number.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` requests a minute per token.
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s bucket, or refuses.
    pub fn check(&self, key: &str) -> Result<()> {
        let mut buckets = self
            .buckets
            .lock()
            .map_err(|_| Error::Internal("rate limiter poisoned".into()))?;
        let now = Instant::now();
        let (tokens, last) = buckets
            .entry(key.to_string())
            .or_insert((self.per_minute, now));
        let refill = now.duration_since(*last).as_secs_f64() * self.per_minute / 60.0;
        *tokens = (*tokens + refill).min(self.per_minute);
        *last = now;
        if *tokens < 1.0 {
            return Err(Error::RateLimited);
        }
        *tokens -= 1.0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B, key "12345678901234567890" (base32 below), 8 digits there: the
        // last six digits are the 6-digit code.
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        assert_eq!(totp_code(secret, 59).as_deref(), Some("287082"));
        assert_eq!(totp_code(secret, 1_111_111_109).as_deref(), Some("081804"));
        assert_eq!(totp_code(secret, 2_000_000_000).as_deref(), Some("279037"));
        assert!(totp_matches(secret, "287082", 59));
        assert!(!totp_matches(secret, "287083", 59));
    }

    #[test]
    fn passwords_and_tokens() {
        let h = hash_password("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        let t = random_token().expect("token");
        assert_ne!(t, random_token().expect("token"));
        assert_eq!(token_hash(&t).len(), 64);
        let s = new_totp_secret().expect("secret");
        assert_eq!(s.len(), 32);
        assert_eq!(base32_decode(&s).map(|b| b.len()), Some(20));
    }

    #[test]
    fn rate_limit_refuses_past_the_budget() {
        let l = RateLimiter::new(3);
        for _ in 0..3 {
            l.check("a").expect("within budget");
        }
        assert!(matches!(l.check("a"), Err(Error::RateLimited)));
        l.check("b").expect("another token has its own bucket");
    }
}
