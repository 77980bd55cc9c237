//! The Ed25519 key that signs access tokens. Only this service holds it.
//!
//! It comes from `JWT_PRIVATE_KEY` (PKCS#8 PEM) or `JWT_PRIVATE_KEY_FILE`.
//! With neither, a key is generated once and kept in the data directory so a
//! restart does not sign everyone out.

use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_platform::token::{ALGORITHM, Claims, INTERNAL_AUDIENCE, SERVICE_SUBJECT_PREFIX};
use chat_proto::auth::v1::PublicKey;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use jsonwebtoken::{EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

pub struct Signer {
    encoding: EncodingKey,
    public: PublicKey,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.public.kid)
            .finish_non_exhaustive()
    }
}

/// Where the private key comes from.
pub enum KeySource {
    Pem(SecretString),
    File(std::path::PathBuf),
    /// Generated on first start and kept at this path.
    Generated(std::path::PathBuf),
}

impl Signer {
    pub fn load(source: &KeySource, issuer: &str, audience: &str) -> anyhow::Result<Self> {
        let key = match source {
            KeySource::Pem(pem) => SigningKey::from_pkcs8_pem(pem.expose_secret())
                .map_err(|e| anyhow::anyhow!("JWT_PRIVATE_KEY is not an Ed25519 PKCS#8 PEM key: {e}"))?,
            KeySource::File(path) => read_key(path)?,
            KeySource::Generated(path) if path.exists() => read_key(path)?,
            KeySource::Generated(path) => generate(path)?,
        };
        Self::from_key(&key, issuer, audience)
    }

    fn from_key(key: &SigningKey, issuer: &str, audience: &str) -> anyhow::Result<Self> {
        let der = key.to_pkcs8_der().context("encoding signing key")?;
        let public = key.verifying_key().to_bytes();
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(public)[..12]);
        Ok(Self {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            public: PublicKey {
                kid,
                alg: "EdDSA".into(),
                kty: "OKP".into(),
                crv: "Ed25519".into(),
                x: URL_SAFE_NO_PAD.encode(public),
            },
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs an access token for `user_id` in session `session_id`, valid for `ttl`.
    pub fn access_token(
        &self,
        user_id: i64,
        session_id: &str,
        ttl: std::time::Duration,
    ) -> anyhow::Result<(String, i64)> {
        self.sign(
            user_id.to_string(),
            self.audience.clone(),
            ttl,
            Some(session_id.to_owned()),
        )
    }

    /// Signs a short-lived token with which `service` calls its peers.
    pub fn service_token(&self, service: &str, ttl: std::time::Duration) -> anyhow::Result<(String, i64)> {
        self.sign(
            format!("{SERVICE_SUBJECT_PREFIX}{service}"),
            INTERNAL_AUDIENCE.into(),
            ttl,
            None,
        )
    }

    fn sign(
        &self,
        sub: String,
        aud: String,
        ttl: std::time::Duration,
        sid: Option<String>,
    ) -> anyhow::Result<(String, i64)> {
        let now = chrono::Utc::now().timestamp();
        let exp = now + ttl.as_secs() as i64;
        let claims = Claims {
            sub,
            exp,
            iat: now,
            iss: self.issuer.clone(),
            aud,
            sid,
        };
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.public.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding).context("signing token")?;
        Ok((token, exp))
    }
}

fn read_key(path: &Path) -> anyhow::Result<SigningKey> {
    let pem = std::fs::read_to_string(path).with_context(|| format!("reading JWT key {}", path.display()))?;
    SigningKey::from_pkcs8_pem(&pem)
        .map_err(|e| anyhow::anyhow!("{} is not an Ed25519 PKCS#8 PEM key: {e}", path.display()))
}

fn generate(path: &Path) -> anyhow::Result<SigningKey> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness for the JWT key: {e}"))?;
    let key = SigningKey::from_bytes(&seed);
    let pem = key.to_pkcs8_pem(LineEnding::LF).context("encoding JWT key")?;
    if !chat_platform::files::create_private(path, pem.as_bytes())? {
        // Another process generated it first: use theirs.
        return read_key(path);
    }
    tracing::info!(path = %path.display(), "generated a new token signing key");
    Ok(key)
}
