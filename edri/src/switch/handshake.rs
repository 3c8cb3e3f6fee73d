//! The handshake's cryptography: the shared secret, the challenge-response proofs and the
//! per-direction session keys.
//!
//! The switch sends a random nonce; the router answers with its own nonce and an HMAC, under the
//! secret, of both nonces, its id and its epoch; the switch checks it and answers with an HMAC
//! of the same transcript under another label, which the router checks in turn. Each direction
//! then tags its frames with a key that HKDF derives from the secret and both nonces, so keys
//! never repeat across connections and a frame of one connection is worthless on another.

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::frame::FrameKey;
use super::message::Position;

/// The shortest secret accepted: 32 bytes, as the original requires.
pub const MIN_SECRET_LEN: usize = 32;

/// The secret shared by the switch and its routers (`EDRI_SWITCH_TOKEN`). The switch may accept
/// several, to rotate them; a router sends with one.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Why a secret was refused.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Shorter than [`MIN_SECRET_LEN`].
    #[error("a switch secret must be at least {MIN_SECRET_LEN} bytes long, this one has {0}")]
    TooShort(usize),
    /// The token file could not be read.
    #[error("cannot read the switch token file {path}: {source}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The token file has no secret in it.
    #[error("the switch token file {0} holds no secret (blank lines and `#` lines are skipped)")]
    Empty(std::path::PathBuf),
}

impl Secret {
    /// A secret of at least [`MIN_SECRET_LEN`] bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, SecretError> {
        let bytes = bytes.into();
        if bytes.len() < MIN_SECRET_LEN {
            return Err(SecretError::TooShort(bytes.len()));
        }
        Ok(Self(bytes))
    }

    /// The secrets in a file, one per line (blank lines and `#` lines skipped): the first is
    /// the one a router sends with, the others are also accepted by a switch.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Vec<Self>, SecretError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SecretError::File {
            path: path.to_owned(),
            source,
        })?;
        let secrets = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| Secret::new(line.as_bytes()))
            .collect::<Result<Vec<_>, _>>()?;
        if secrets.is_empty() {
            return Err(SecretError::Empty(path.to_owned()));
        }
        Ok(secrets)
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length, so this cannot fail.
        Hmac::new_from_slice(&self.0).expect("HMAC accepts any key length")
    }
}

/// What both proofs cover: everything the hello says, so that nobody between a router and
/// the switch can change its demands or positions without the proof failing.
pub(crate) struct Transcript<'a> {
    pub(crate) switch_nonce: &'a [u8; 32],
    pub(crate) router_nonce: &'a [u8; 32],
    pub(crate) router: &'a str,
    pub(crate) epoch: u64,
    /// [`hello_digest`] of the hello's demands and positions.
    pub(crate) details: [u8; 32],
}

/// SHA-256 of a hello's demands and stream positions, as postcard encodes them.
pub(crate) fn hello_digest(demands: &[String], received: &[Position]) -> [u8; 32] {
    let encoded = crate::wire::encode(&(demands, received)).unwrap_or_default();
    Sha256::digest(&encoded).into()
}

impl Transcript<'_> {
    fn proof(&self, secret: &Secret, label: &[u8]) -> [u8; 32] {
        let mut mac = secret.mac();
        mac.update(label);
        mac.update(self.switch_nonce);
        mac.update(self.router_nonce);
        mac.update(&(self.router.len() as u32).to_be_bytes());
        mac.update(self.router.as_bytes());
        mac.update(&self.epoch.to_be_bytes());
        mac.update(&self.details);
        mac.finalize().into_bytes().into()
    }

    /// The router's proof that it knows `secret`.
    pub(crate) fn router_proof(&self, secret: &Secret) -> [u8; 32] {
        self.proof(secret, b"edri-switch v1 router")
    }

    /// The switch's proof that it knows `secret`.
    pub(crate) fn switch_proof(&self, secret: &Secret) -> [u8; 32] {
        self.proof(secret, b"edri-switch v1 switch")
    }

    /// The secret among `secrets` that `proof` was made with.
    pub(crate) fn check_router_proof<'s>(
        &self,
        secrets: &'s [Secret],
        proof: &[u8; 32],
    ) -> Option<&'s Secret> {
        secrets
            .iter()
            .find(|secret| constant_time_eq(&self.router_proof(secret), proof))
    }

    /// The session keys: router to switch, then switch to router.
    pub(crate) fn session_keys(&self, secret: &Secret) -> (FrameKey, FrameKey) {
        let mut salt = [0u8; 64];
        salt[..32].copy_from_slice(self.switch_nonce);
        salt[32..].copy_from_slice(self.router_nonce);
        let hkdf = Hkdf::<Sha256>::new(Some(&salt), &secret.0);
        let mut up = [0u8; 32];
        let mut down = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit of 8160, so neither expansion can fail.
        hkdf.expand(b"edri-switch v1 router to switch", &mut up)
            .expect("32 bytes is a valid HKDF length");
        hkdf.expand(b"edri-switch v1 switch to router", &mut down)
            .expect("32 bytes is a valid HKDF length");
        (FrameKey::new(&up), FrameKey::new(&down))
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// A fresh random nonce.
pub(crate) fn nonce() -> std::io::Result<[u8; 32]> {
    let mut nonce = [0u8; 32];
    getrandom::fill(&mut nonce).map_err(std::io::Error::other)?;
    Ok(nonce)
}

/// A random `u64` (epochs, generated router ids).
pub(crate) fn random_u64() -> std::io::Result<u64> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    Ok(u64::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_differ_by_secret_and_by_side() {
        let right = Secret::new([1u8; 32]).unwrap();
        let wrong = Secret::new([2u8; 32]).unwrap();
        let transcript = Transcript {
            switch_nonce: &[3; 32],
            router_nonce: &[4; 32],
            router: "a",
            epoch: 9,
            details: hello_digest(&["numbered".to_owned()], &[]),
        };
        let proof = transcript.router_proof(&right);
        let accepted = [wrong.clone(), right.clone()];
        assert!(transcript.check_router_proof(&accepted, &proof).is_some());
        assert!(transcript.check_router_proof(&[wrong], &proof).is_none());
        assert_ne!(proof, transcript.switch_proof(&right));
        // A hello whose demands were changed on the way does not match its proof.
        let altered = Transcript {
            details: hello_digest(&["numbered".to_owned(), "secrets".to_owned()], &[]),
            ..transcript
        };
        assert!(altered.check_router_proof(&accepted, &proof).is_none());
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(matches!(
            Secret::new(b"short".to_vec()),
            Err(SecretError::TooShort(5))
        ));
    }
}
