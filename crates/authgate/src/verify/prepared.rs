//! jsonwebtoken's signature verifiers, prepared once per key and thread.
//!
//! `jsonwebtoken::crypto::verify` builds a verifier for every call: for HMAC that
//! is an aws-lc HMAC key derived from the secret (two SHA-256 blocks) in a fresh
//! `Box`, about a tenth of an HS256 request (docs/BENCHMARKS.md). The verifiers
//! it builds are not `Send`, so they cannot live in the shared configuration;
//! each thread keeps the few it used last instead, keyed by the key's
//! [`JwtKey::id`] and the algorithm. jsonwebtoken still does every signature
//! check: these are its own verifiers (its aws-lc provider, the one authgate
//! builds it with), only kept.
//!
//! A key that leaves the configuration (a JWKS rotation) can no longer be
//! selected, so its prepared verifier is never used again; it stays in a
//! thread's list until [`PER_THREAD`] newer keys push it out, or the thread ends.

use std::cell::{Cell, RefCell};

use jsonwebtoken::crypto::JwtVerifier;
use zeroize::Zeroize as _;

use crate::verify::keys::{Algorithm, JwtKey};

/// Verifiers kept per thread: more than a key set rotating through old, current
/// and next keys for a few algorithms needs.
pub(crate) const PER_THREAD: usize = 8;

struct Prepared {
    key: u64,
    alg: Algorithm,
    verifier: Box<dyn JwtVerifier>,
}

thread_local! {
    static PREPARED: RefCell<Vec<Prepared>> = const { RefCell::new(Vec::new()) };
    static SIGNATURE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// This thread's buffer for a decoded signature, empty; it goes back to the
/// thread when dropped (a nested use meanwhile just allocates its own).
pub(crate) struct SignatureBuf(Vec<u8>);

impl SignatureBuf {
    /// Takes the thread's buffer (or a new one), cleared.
    pub(crate) fn take() -> Self {
        let mut buf = SIGNATURE.take();
        buf.clear();
        SignatureBuf(buf)
    }
}

impl std::ops::Deref for SignatureBuf {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl std::ops::DerefMut for SignatureBuf {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl Drop for SignatureBuf {
    fn drop(&mut self) {
        // Zeroed with `zeroize` (writes the optimiser may not remove, even when
        // the buffer is freed next): a signature is part of a bearer credential,
        // and this buffer outlives the request. Only the bytes written are
        // zeroed; the rest of the capacity was zeroed when it was last used.
        // Kept up to an RSA-8192 signature; a bigger one was a bad token's.
        self.0.as_mut_slice().zeroize();
        if self.0.capacity() <= 1024 {
            SIGNATURE.set(std::mem::take(&mut self.0));
        }
    }
}

/// Whether `signature` (decoded) verifies `message` with `key` under `alg`: what
/// `jsonwebtoken::crypto::verify` answers, with the verifier built once per
/// thread. Errors are jsonwebtoken's (a key that does not fit the algorithm).
pub(crate) fn verify(
    key: &JwtKey,
    alg: Algorithm,
    message: &[u8],
    signature: &Vec<u8>,
) -> jsonwebtoken::errors::Result<bool> {
    let build = || {
        (jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.verifier_factory)(
            &alg.to_jsonwebtoken(),
            &key.decoding,
        )
    };
    PREPARED.with(|cell| {
        // Never re-entered (verifiers call no authgate code); should it be, the
        // verifier is built for this call alone.
        let Ok(mut list) = cell.try_borrow_mut() else {
            return Ok(build()?.verify(message, signature).is_ok());
        };
        let at = match list.iter().position(|p| p.key == key.id && p.alg == alg) {
            Some(at) => at,
            None => {
                let verifier = build()?;
                if list.len() == PER_THREAD {
                    list.remove(0);
                }
                list.push(Prepared {
                    key: key.id,
                    alg,
                    verifier,
                });
                list.len() - 1
            }
        };
        Ok(list[at].verifier.verify(message, signature).is_ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &[u8], message: &[u8]) -> Vec<u8> {
        let key = jsonwebtoken::EncodingKey::from_secret(secret);
        let b64 = jsonwebtoken::crypto::sign(message, &key, jsonwebtoken::Algorithm::HS256)
            .expect("sign");
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b64)
            .expect("base64")
    }

    #[test]
    fn agrees_with_jsonwebtoken_and_keeps_keys_apart() {
        let a = JwtKey::hmac([1u8; 32]);
        let b = JwtKey::hmac([2u8; 32]);
        let msg = b"header.payload";
        let sig_a = sign(&[1u8; 32], msg);
        let sig_b = sign(&[2u8; 32], msg);
        // Twice each: built, then prepared; each key only verifies its own.
        for _ in 0..2 {
            assert!(verify(&a, Algorithm::HS256, msg, &sig_a).unwrap());
            assert!(!verify(&a, Algorithm::HS256, msg, &sig_b).unwrap());
            assert!(verify(&b, Algorithm::HS256, msg, &sig_b).unwrap());
            assert!(!verify(&b, Algorithm::HS256, b"header.other", &sig_b).unwrap());
        }
        // A clone shares the material and the id.
        let a2 = a.clone();
        assert_eq!(a2.id, a.id);
        assert!(verify(&a2, Algorithm::HS256, msg, &sig_a).unwrap());
        // More keys than a thread keeps: the oldest are rebuilt, never confused.
        let keys: Vec<JwtKey> = (0..PER_THREAD as u8 + 3)
            .map(|i| JwtKey::hmac([i + 10; 32]))
            .collect();
        for _ in 0..2 {
            for (i, k) in keys.iter().enumerate() {
                let good = sign(&[i as u8 + 10; 32], msg);
                assert!(verify(k, Algorithm::HS256, msg, &good).unwrap());
                assert!(!verify(k, Algorithm::HS256, msg, &sig_a).unwrap());
            }
        }
        PREPARED.with(|l| assert!(l.borrow().len() <= PER_THREAD));
        // The same key under another algorithm is another verifier.
        let sig384 = {
            let key = jsonwebtoken::EncodingKey::from_secret(&[1u8; 32]);
            let b64 =
                jsonwebtoken::crypto::sign(msg, &key, jsonwebtoken::Algorithm::HS384).unwrap();
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b64).unwrap()
        };
        assert!(verify(&a, Algorithm::HS384, msg, &sig384).unwrap());
        assert!(!verify(&a, Algorithm::HS256, msg, &sig384).unwrap());
    }

    #[test]
    fn the_signature_buffer_is_reused_and_zeroed() {
        let mut a = SignatureBuf::take();
        a.extend_from_slice(&[7u8; 64]);
        let ptr = a.as_ptr();
        drop(a);
        // Back in the thread: zeroed (then cleared for the next use).
        let kept = SIGNATURE.take();
        assert!(kept.capacity() >= 64);
        assert!(kept.iter().all(|&b| b == 0) && kept.len() == 64);
        SIGNATURE.set(kept);
        let b = SignatureBuf::take();
        assert!(b.is_empty());
        assert_eq!(b.as_ptr(), ptr, "the same allocation, reused");
        // Taken twice at once: the second gets its own.
        let c = SignatureBuf::take();
        assert!(c.capacity() == 0);
        drop((b, c));
    }

    #[test]
    fn a_key_that_does_not_fit_is_jsonwebtokens_error() {
        let pem = include_bytes!("../../../../tests/keys/rsa.pub.pem");
        let rsa = JwtKey::from_pem(pem).expect("pem");
        assert!(verify(&rsa, Algorithm::HS256, b"m", &vec![0; 32]).is_err());
    }
}
