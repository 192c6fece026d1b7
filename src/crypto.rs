//! Tokens, hashes and signatures used across the server.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The key that seals stored secrets (channel tokens). Kept outside the database: in
/// PEREPISKA_SECRET_KEY or a file in the data dir, so a database dump alone reveals nothing.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

/// The key's file in the data dir when PEREPISKA_SECRET_KEY is not set.
pub const SECRET_KEY_FILE: &str = "secret.key";

/// What a sealed value starts with; anything else is a value stored before sealing existed.
const SEALED: &str = "sealed:v1:";

impl SecretKey {
    pub fn generate() -> Result<SecretKey> {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k)
            .map_err(|e| Error::internal(format!("no randomness available: {e}")))?;
        Ok(SecretKey(k))
    }

    /// 64 hex characters.
    pub fn from_hex(s: &str) -> Result<SecretKey> {
        let bytes = hex::decode(s.trim())
            .map_err(|_| Error::invalid("the secret key must be 64 hex characters (32 bytes)"))?;
        let k: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::invalid("the secret key must be 64 hex characters (32 bytes)"))?;
        Ok(SecretKey(k))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Encrypts and authenticates `plain` (ChaCha20-Poly1305, a fresh nonce each time).
    pub fn seal(&self, plain: &str) -> Result<String> {
        use chacha20poly1305::aead::Aead;
        use chacha20poly1305::{ChaCha20Poly1305, KeyInit as _, Nonce};
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce)
            .map_err(|e| Error::internal(format!("no randomness available: {e}")))?;
        let cipher = ChaCha20Poly1305::new((&self.0).into());
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .map_err(|_| Error::internal("sealing failed"))?;
        let mut out = nonce.to_vec();
        out.extend(ct);
        Ok(format!("{SEALED}{}", hex::encode(out)))
    }

    /// The plain text of a sealed value; a value stored before sealing comes back as it is.
    /// A value sealed with another key is an error (never garbage).
    pub fn open(&self, stored: &str) -> Result<String> {
        use chacha20poly1305::aead::Aead;
        use chacha20poly1305::{ChaCha20Poly1305, KeyInit as _, Nonce};
        let Some(body) = stored.strip_prefix(SEALED) else {
            return Ok(stored.to_string());
        };
        let wrong = || Error::Invalid("sealed with another secret key".into());
        let bytes = hex::decode(body).map_err(|_| wrong())?;
        if bytes.len() < 12 {
            return Err(wrong());
        }
        let (nonce, ct) = bytes.split_at(12);
        let plain = ChaCha20Poly1305::new((&self.0).into())
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| wrong())?;
        String::from_utf8(plain).map_err(|_| wrong())
    }

    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(SEALED)
    }
}

/// `bytes` random bytes as lowercase hex.
pub fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::internal(format!("no randomness available: {e}")))?;
    Ok(hex::encode(buf))
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; this arm cannot be reached with Sha256.
        Err(_) => String::new(),
    }
}

/// Constant-time check of a hex HMAC-SHA256 signature.
pub fn verify_hmac_sha256(key: &[u8], data: &[u8], signature_hex: &str) -> bool {
    let Ok(sig) = hex::decode(signature_hex.trim()) else {
        return false;
    };
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.verify_slice(&sig).is_ok()
        }
        Err(_) => false,
    }
}

/// Constant-time equality for secrets compared as strings.
pub fn secure_eq(a: &str, b: &str) -> bool {
    secure_eq_bytes(a.as_bytes(), b.as_bytes())
}

pub fn hash_password(password: &str) -> Result<String> {
    use argon2::password_hash::PasswordHasher;
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("cannot hash password: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    verify_password_in(&mut Vec::new(), password, hash)
}

/// Checks a password with the caller's working memory (~19 MiB for our hashes). The allocator
/// keeps a freed block of that size per thread it ran on, so checks that each allocate their
/// own ratchet memory up with every new blocking thread; a few reused buffers do not.
pub fn verify_password_in(memory: &mut Vec<argon2::Block>, password: &str, hash: &str) -> bool {
    use argon2::password_hash::phc::PasswordHash;
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        argon2::Algorithm::new(parsed.algorithm.as_ref()),
        argon2::Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = match parsed.version.map(argon2::Version::try_from) {
        None => argon2::Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    let mut out = vec![0u8; expected.as_ref().len()];
    let Some(work) = memory.get_mut(..blocks) else {
        return false;
    };
    argon2::Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut out, work)
        .is_ok()
        && secure_eq_bytes(&out, expected.as_ref())
}

fn secure_eq_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key() -> Result<()> {
        let k = SecretKey::generate()?;
        let sealed = k.seal("{\"token\":\"123:ABC\"}")?;
        assert!(SecretKey::is_sealed(&sealed) && !sealed.contains("123:ABC"));
        assert_ne!(sealed, k.seal("{\"token\":\"123:ABC\"}")?, "a fresh nonce");
        assert_eq!(k.open(&sealed)?, "{\"token\":\"123:ABC\"}");
        let other = SecretKey::generate()?;
        assert!(other.open(&sealed).is_err());
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push('0');
        assert!(k.open(&tampered).is_err() || tampered == sealed);
        assert_eq!(k.open("{}")?, "{}", "values from before sealing pass");
        assert!(SecretKey::from_hex(&k.to_hex()).is_ok());
        assert!(SecretKey::from_hex("abc").is_err());
        Ok(())
    }

    #[test]
    fn hmac_round_trip_and_forgery() {
        let sig = hmac_sha256_hex(b"k", b"body");
        assert!(verify_hmac_sha256(b"k", b"body", &sig));
        assert!(!verify_hmac_sha256(b"k", b"body2", &sig));
        assert!(!verify_hmac_sha256(b"k", b"body", "zz"));
    }

    #[test]
    fn password_hash_verifies_only_the_right_password() {
        let h = hash_password("correct horse").unwrap_or_default();
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        let mut memory = Vec::new();
        assert!(verify_password_in(&mut memory, "correct horse", &h));
        assert!(!verify_password_in(&mut memory, "correct horsf", &h));
        assert!(!verify_password_in(
            &mut memory,
            "correct horse",
            "$argon2id$garbage"
        ));
    }
}
