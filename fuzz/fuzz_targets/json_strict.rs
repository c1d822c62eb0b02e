//! The strict JOSE/claims JSON parser. The request-path parsers (header, claims)
//! and the whole-object parser must accept exactly the same documents.
#![no_main]

use authgate::__fuzz::{claims, jose_header, object};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let whole = object(data);
    let header = jose_header(data);
    let claim_set = claims(data, Some("scope"));
    let nested = claims(data, Some("realm_access"));
    // The header parser types `alg`/`kid`/... and the claims parser types the
    // registered claims, so they may refuse documents the generic one takes; but
    // none may accept what the generic one refuses.
    if header || claim_set || nested {
        assert!(
            whole,
            "a typed parser accepted what the strict object parser refused"
        );
    }
});
