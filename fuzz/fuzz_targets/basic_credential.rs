//! The Basic credential parser (RFC 7617 §2), without hashing.
//!
//! Byte 0 picks the mode. Even: the rest is the raw payload after `Basic `. Odd:
//! the rest is `user-id 0x00 password`, which the target base64-encodes itself and
//! then checks that the parser gives back exactly what RFC 7617 allows.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderValue;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let mut value = b"Basic ".to_vec();
        value.extend_from_slice(rest);
        let Ok(value) = HeaderValue::from_bytes(&value) else {
            return;
        };
        if let Some((user, _password)) = authgate::__fuzz::basic_credentials(&value) {
            assert!(!user.contains(':'), "a user-id with ':'");
            assert!(
                !user.chars().any(char::is_control),
                "a user-id with a control"
            );
        }
        return;
    }
    let (user, password) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let mut plain = user.to_vec();
    plain.push(b':');
    plain.extend_from_slice(password);
    let value = HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(&plain)))
        .expect("base64 is a header value");
    let got = authgate::__fuzz::basic_credentials(&value);
    let valid = match (std::str::from_utf8(user), std::str::from_utf8(password)) {
        (Ok(u), Ok(_)) => !u.contains(':') && !u.chars().any(char::is_control),
        _ => false,
    };
    if valid {
        let (u, p) = got.expect("valid Basic credentials refused");
        assert_eq!(u.as_bytes(), user);
        assert_eq!(p.as_bytes(), password);
    } else {
        // A ':' in the user-id moves the split: the parser sees another user-id.
        if let Some((u, p)) = got {
            assert!(!u.contains(':') && !u.chars().any(char::is_control));
            assert_eq!(format!("{u}:{p}").as_bytes(), &plain[..]);
        }
    }
});
