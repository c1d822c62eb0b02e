//! Arbitrary JOSE header and claims JSON, base64url-encoded into a token, through
//! the layer. Input: byte 0 = flags, bytes 1..3 = header length (big-endian), then
//! the header JSON, then the claims JSON. Flag bit 0: sign with the layer's HS256
//! key (so the claim checks run); otherwise a fixed signature.
#![no_main]

#[path = "common.rs"]
mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac as _};
use http::{HeaderValue, Request, header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let flags = data[0];
    let split = usize::from(u16::from_be_bytes([data[1], data[2]]));
    let rest = &data[3..];
    let (head, claims) = rest.split_at(split.min(rest.len()));
    let mut token = format!("{}.{}", B64.encode(head), B64.encode(claims));
    let signed = flags & 1 == 1;
    let sig = if signed {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(common::SECRET).expect("hmac key");
        mac.update(token.as_bytes());
        B64.encode(mac.finalize().into_bytes())
    } else {
        B64.encode([0x5a; 32])
    };
    token.push('.');
    token.push_str(&sig);
    let value =
        HeaderValue::from_str(&format!("Bearer {token}")).expect("b64url is a header value");
    let mut req = Request::builder()
        .uri("/resource")
        .body(())
        .expect("request");
    req.headers_mut().insert(header::AUTHORIZATION, value);
    let status = common::status(req);
    if signed {
        assert!(
            matches!(status.as_u16(), 200 | 400 | 401 | 403),
            "unexpected status {status}"
        );
    } else {
        // Never 200 without a valid signature.
        assert!(
            matches!(status.as_u16(), 400 | 401),
            "unexpected status {status} for a token with a wrong signature"
        );
    }
});
