//! Header parsing rows of the catalog (SECURITY-CASES §2.1, H-xx), surrounding OWS
//! (which hyper trims and `oneshot` does not), CORS preflights and optional
//! authentication, each through `oneshot` and through a real server.

mod common;
mod configd;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use configd::*;
use http::Method;

fn bearer_value(token: &str) -> Vec<u8> {
    format!("Bearer {token}").into_bytes()
}

fn header_cases() -> Vec<Case> {
    let v = valid();
    let v2 = valid_admin();
    let basic = format!("Basic {}", STANDARD.encode("alice:s3cret"));
    let mut cases = vec![
        Case::new("H-01 no Authorization", vec![])
            .rej(401, "missing_credentials")
            .detail("no Authorization header")
            .no_hint(),
        Case::auth("H-02 empty value", "")
            .rej(401, "missing_credentials")
            .detail("present but empty")
            .hint("variable unset"),
        Case::auth("H-02 blank value (oneshot: spaces kept)", "   ")
            .rej(401, "missing_credentials")
            .detail("present but empty")
            .hint("variable unset"),
        Case::auth("H-02 HTAB only", "\t")
            .rej(401, "missing_credentials")
            .detail("present but empty"),
        Case::auth("H-03 Bearer", "Bearer")
            .bad_request()
            .detail("empty")
            .hint("$UNSET"),
        Case::auth("H-04 Bearer + 4 SP", "Bearer    ")
            .bad_request()
            .detail("empty")
            .hint("$UNSET"),
        Case::auth("H-05 two SP after Bearer", format!("Bearer  {v}"))
            .extracted(&v)
            .rs256()
            .ok()
            .subject(Some("alice")),
        Case::auth("H-08 trailing OWS", format!("Bearer {v}  \t"))
            .extracted(&v)
            .rs256()
            .ok()
            .subject(Some("alice")),
        Case::auth("H-09 leading OWS", format!("  Bearer {v}"))
            .extracted(&v)
            .rs256()
            .ok()
            .subject(Some("alice")),
        Case::auth(
            "H-08/09 OWS both sides, with HTAB",
            format!("\t Bearer {v} \t"),
        )
        .extracted(&v)
        .rs256()
        .ok(),
        Case::auth("H-07 HTAB separator", format!("Bearer\t{v}"))
            .bad_request()
            .detail("single space"),
        Case::auth(
            "H-10 token split by SP",
            format!("Bearer {} {}", &v[..30], &v[30..]),
        )
        .bad_request()
        .detail("more than one word"),
        Case::auth("H-11 one field, two Bearer credentials", {
            format!("Bearer {v}, Bearer {v2}")
        })
        .bad_request()
        .detail("','"),
        Case::auth("H-11b trailing comma", format!("Bearer {v},"))
            .bad_request()
            .detail("','"),
        Case::new(
            "H-12 two Authorization lines, both Bearer",
            vec![common::bearer(&v), common::bearer(&v2)],
        )
        .rej(400, "multiple_credentials")
        .detail("more than one Authorization header field"),
        Case::new(
            "H-13 Bearer line then Basic line",
            vec![common::bearer(&v), ("authorization", basic.clone().into())],
        )
        .rej(400, "multiple_credentials"),
        Case::new(
            "H-13 Basic line then Bearer line",
            vec![("authorization", basic.clone().into()), common::bearer(&v)],
        )
        .rej(400, "multiple_credentials")
        .scheme("basic"),
        Case::new(
            "H-14 two identical valid lines",
            vec![common::bearer(&v), common::bearer(&v)],
        )
        .rej(400, "multiple_credentials"),
        Case::new(
            "H-12b an empty line and a Bearer line",
            vec![("authorization", Vec::new()), common::bearer(&v)],
        )
        .rej(400, "multiple_credentials")
        .scheme("none"),
        Case::bearer("H-15 header + access_token query", &v)
            .path(&format!("/api/whoami?access_token={v}"))
            .rej(400, "multiple_credentials")
            .no_token()
            .detail("access_token query parameter"),
        // Reading of SPEC §2 pinned here: an Authorization field that is present
        // but empty still counts as "an Authorization header" next to a query
        // token, so the request is multiple_credentials (not query-alone).
        Case::auth("H-15d empty header + access_token query", "")
            .path("/api/whoami?access_token=q")
            .rej(400, "multiple_credentials"),
        Case::bearer("H-15b header + access%5Ftoken query", &v)
            .path("/api/whoami?a=1&access%5Ftoken=zzz")
            .rej(400, "multiple_credentials")
            .no_token(),
        Case::bearer("H-15c header + unrelated query", &v)
            .path("/api/whoami?not_access_token=1&x=access_token")
            .rs256()
            .ok(),
        Case::new("H-16 only ?access_token", vec![])
            .path(&format!("/api/whoami?access_token={v}"))
            .rej(401, "missing_credentials")
            .detail("access_token query parameter is never accepted")
            .hint("query tokens leak"),
        Case::auth(
            "H-17 Digest",
            r#"Digest username="u", realm="api", nonce="n", uri="/", response="r""#,
        )
        .rej(401, "unsupported_scheme")
        .scheme("digest")
        .detail("\"digest\" authentication scheme (the first word of the Authorization header) is not supported; this server accepts Bearer")
        .hint("another kind of server"),
        Case::auth("H-17 DIGEST upper-case", "DIGEST x=1")
            .rej(401, "unsupported_scheme")
            .scheme("digest"),
        Case::auth("H-18 Negotiate", "Negotiate YIIGhgYJKoZIhvcSAQICAQ==")
            .rej(401, "unsupported_scheme")
            .scheme("negotiate"),
        Case::auth("H-19 Token abc", "Token abc")
            .rej(401, "unsupported_scheme")
            .scheme("token")
            .detail("\"token\" authentication scheme")
            .hint("`Authorization: Bearer <token>`"),
        Case::auth("H-19 JWT a.b.c", "JWT a.b.c")
            .rej(401, "unsupported_scheme")
            .scheme("jwt")
            .hint("same credential with the Bearer scheme"),
        // The first word holds the token: it is not logged.
        Case::auth("H-19 Bearerabc x", "Bearerabc x")
            .rej(401, "unsupported_scheme")
            .scheme("unknown")
            .hint("without the `Bearer ` prefix"),
        Case::auth("H-19 Bearer-abc", "Bearer-abc")
            .rej(401, "unsupported_scheme")
            .scheme("unknown"),
        Case::auth("bare token without Bearer", v.clone())
            .rej(401, "unsupported_scheme")
            .scheme("unknown")
            .hint("without the `Bearer ` prefix"),
        Case::auth("H-20 Bearer:abc", "Bearer:abc")
            .bad_request()
            .detail("single space"),
        Case::auth("H-20 Bearer=abc", "Bearer=abc")
            .bad_request()
            .detail("single space"),
        Case::auth("H-21 5000-char scheme", format!("{} x", "A".repeat(5000)))
            .rej(401, "unsupported_scheme")
            .scheme("unknown"),
        Case::auth("H-22 obs-text in token", b"Bearer tok\xC3\xA9n".to_vec())
            .bad_request()
            .detail("b64token"),
        Case::auth("H-22b raw 0xFF in token", b"Bearer ab\xffcd".to_vec()).bad_request(),
        Case::auth("H-23 quoted token", "Bearer \"abc\"")
            .bad_request()
            .detail("quoted"),
        Case::auth("H-23 an\"invalid\"token", "Bearer an\"invalid\"token").bad_request(),
        Case::auth("H-24 abc=def", "Bearer abc=def")
            .bad_request()
            .detail("'='"),
        Case::auth("H-24 ===", "Bearer ===")
            .bad_request()
            .detail("no characters before"),
        Case::auth("H-24 =abc", "Bearer =abc").bad_request(),
        Case::bearer("H-25 abcd== (opaque, padded)", "abcd==").t("unknown_api_key"),
        Case::bearer("H-26 100 KiB token, no dots", &"A1b2".repeat(25 * 1024))
            .t("token_malformed")
            .detail("over max_token_bytes"),
        Case::bearer("H-26b exactly max_token_bytes (16384)", &"k".repeat(16_384))
            .t("unknown_api_key"),
        Case::bearer("H-26c max_token_bytes + 1", &"k".repeat(16_385))
            .t("token_malformed")
            .detail("the token is 16385 bytes, over max_token_bytes (16384)"),
        Case::bearer("H-27 50 000 dots", &".".repeat(50_000))
            .t("token_malformed")
            .detail("over max_token_bytes"),
        Case::bearer("H-27b 10 000 dots (under the cap)", &".".repeat(10_000))
            .t("token_malformed")
            .detail("this token has 10001"),
        Case::auth("H-28 Basic on a Bearer-only config", basic.clone())
            .rej(401, "unsupported_scheme")
            .scheme("basic")
            .detail("basic scheme is not enabled")
            .hint("only Bearer is enabled"),
        Case::auth(
            "H-28b undecodable Basic on a Bearer-only config",
            "Basic !!!",
        )
        .rej(401, "unsupported_scheme")
        .scheme("basic")
        .hint("only Bearer is enabled"),
        Case::new("H-29 no header, X-Forwarded-For", vec![])
            .header("x-forwarded-for", "203.0.113.7")
            .rej(401, "missing_credentials")
            .hint("proxy"),
        Case::new("H-29 no header, Forwarded", vec![])
            .header("forwarded", "for=203.0.113.7;proto=https")
            .rej(401, "missing_credentials")
            .hint("stripped the Authorization header"),
        Case::new("H-30 only Proxy-Authorization", vec![])
            .header("proxy-authorization", bearer_value(&v))
            .rej(401, "missing_credentials")
            .hint("Proxy-Authorization"),
        Case::new("H-31 CORS preflight passes", vec![])
            .method(Method::OPTIONS)
            .header("origin", "https://app.example.com")
            .header("access-control-request-method", "GET")
            .status(204)
            .silent(),
        // A browser never sends credentials on a preflight (Fetch standard,
        // CORS-preflight request): an OPTIONS that carries them is authenticated.
        Case::auth(
            "H-31d preflight carrying a broken Bearer token",
            "Bearer x.y.z",
        )
        .extracted("x.y.z")
        .method(Method::OPTIONS)
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .t("token_malformed"),
        Case::auth(
            "H-31e preflight carrying an unknown Basic user",
            basic.clone(),
        )
        .method(Method::OPTIONS)
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .rej(401, "unsupported_scheme")
        .scheme("basic"),
        Case::new("H-31f preflight carrying an access_token query", vec![])
            .path("/api/whoami?access_token=x")
            .method(Method::OPTIONS)
            .header("origin", "https://app.example.com")
            .header("access-control-request-method", "GET")
            .rej(401, "missing_credentials")
            .hint("query"),
        Case::bearer(
            "H-31g preflight with a valid token lacking the route's scope",
            &v,
        )
        .path("/api/admin")
        .method(Method::OPTIONS)
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .forbidden_scope("admin", "orders:read")
        .verified(),
        Case::new(
            "H-31h preflight without credentials on a scoped route passes",
            vec![],
        )
        .path("/api/admin")
        .method(Method::OPTIONS)
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .status(405)
        .silent(),
        Case::new("H-32 OPTIONS + Origin, no ACRM", vec![])
            .method(Method::OPTIONS)
            .header("origin", "https://app.example.com")
            .rej(401, "missing_credentials"),
        Case::new("H-31b preflight with CorsPreflight::Authenticate", vec![])
            .variant(Variant::CorsAuth)
            .method(Method::OPTIONS)
            .header("origin", "https://app.example.com")
            .header("access-control-request-method", "GET")
            .rej(401, "missing_credentials"),
        Case::bearer("H-31c authenticated preflight with Authenticate", &v)
            .variant(Variant::CorsAuth)
            .method(Method::OPTIONS)
            .header("origin", "https://app.example.com")
            .header("access-control-request-method", "GET")
            .rs256()
            .ok()
            .status(204),
        Case::new("H-33 HEAD without credentials", vec![])
            .method(Method::HEAD)
            .rej(401, "missing_credentials"),
        Case::new("POST without credentials", vec![])
            .method(Method::POST)
            .path("/api/whoami")
            .rej(401, "missing_credentials"),
        Case::auth("/healthz is outside the layer", "Digest x")
            .path("/healthz")
            .silent(),
    ];
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        cases.push(
            Case::auth(format!("H-06 scheme {scheme}"), format!("{scheme} {v}"))
                .extracted(&v)
                .rs256()
                .ok()
                .subject(Some("alice")),
        );
    }
    for c in ['"', ',', ';', '@', '!', '$', '%', '\\', '*', '#'] {
        cases.push(
            Case::auth(
                format!("H-23 {c:?} inside the token"),
                format!("Bearer {}{c}{}", &v[..20], &v[20..]),
            )
            .bad_request(),
        );
    }
    cases
}

#[tokio::test]
async fn headers_oneshot() {
    run_oneshot(&header_cases()).await;
}

#[tokio::test]
async fn headers_wire() {
    run_wire(&header_cases()).await;
}

// ---------------------------------------------------------------------------
// Optional authentication
// ---------------------------------------------------------------------------

fn optional_cases() -> Vec<Case> {
    let v = valid();
    let expired = rs(&claims_with(|c| {
        c.insert("exp".into(), serde_json::json!(NOW - 120));
    }));
    let o = |c: Case| c.variant(Variant::Optional).path("/api/maybe");
    // The route layer answers the 401 itself and names the route's scope
    // (RFC 6750 §3), which the event repeats.
    let mut scoped_anonymous = Case::new("optional: RequireScopes without credentials", vec![])
        .variant(Variant::Optional)
        .path("/api/admin")
        .rej(401, "missing_credentials")
        .detail("this route requires authentication");
    scoped_anonymous.want_scope = Some("admin");
    scoped_anonymous.want_required = Some("admin");
    vec![
        o(Case::new("optional: no credentials → anonymous", vec![]))
            .subject(None)
            .silent(),
        o(Case::auth("optional: empty header → anonymous", ""))
            .subject(None)
            .silent(),
        o(Case::new(
            "optional: only ?access_token → anonymous",
            vec![],
        ))
        .path(&format!("/api/maybe?access_token={v}"))
        .subject(None)
        .silent(),
        o(Case::valid_rs("optional: valid token", &v)).subject(Some("alice")),
        o(Case::bearer("optional: expired token still 401", &expired))
            .t("token_expired")
            .rs256()
            .verified()
            .skew(120),
        o(Case::auth("optional: malformed still 400", "Bearer"))
            .bad_request()
            .hint("$UNSET"),
        o(Case::auth(
            "optional: unsupported scheme still 401",
            "Digest x=1",
        ))
        .rej(401, "unsupported_scheme")
        .scheme("digest"),
        o(Case::bearer("optional: header + query still 400", &v))
            .path(&format!("/api/maybe?access_token={v}"))
            .rej(400, "multiple_credentials")
            .no_token(),
        o(Case::bearer("optional: forged token still 401", &{
            common::mint_with_key(
                jsonwebtoken::Algorithm::RS256,
                Some("rsa-1"),
                &serde_json::Value::Object(claims()),
                &common::encoding_key_from_file(jsonwebtoken::Algorithm::RS256, "rsa2.pem"),
            )
        }))
        .t("signature_invalid")
        .rs256(),
        // A handler that needs a Principal, behind the optional layer: the
        // extractor answers 401 with the layer's challenge.
        Case::new("optional: Principal extractor without credentials", vec![])
            .variant(Variant::Optional)
            .rej(401, "missing_credentials")
            .detail("this handler requires authentication"),
        scoped_anonymous,
    ]
}

#[tokio::test]
async fn optional_oneshot() {
    run_oneshot(&optional_cases()).await;
}

#[tokio::test]
async fn optional_wire() {
    run_wire(&optional_cases()).await;
}

// ---------------------------------------------------------------------------
// Transport facts the tables rely on
// ---------------------------------------------------------------------------

/// Over the wire, hyper trims OWS before the layer sees the value; through
/// `oneshot` it does not. Both must give the same answer, and the blank value
/// must be `missing_credentials` either way (SPEC §2 "Empty or blank").
#[tokio::test]
async fn ows_is_trimmed_the_same_in_both_transports() {
    let v = valid();
    let (cap, _g) = common::capture();
    let app = app(Variant::D);
    let addr = common::serve(app.clone()).await;
    for value in [
        format!(" \t Bearer {v} \t "),
        format!("Bearer {v}\t"),
        "  ".to_owned(),
        "Bearer \t ".to_owned(),
    ] {
        let mut req = http::Request::builder()
            .uri("/api/whoami")
            .body(axum::body::Body::empty())
            .expect("request");
        req.headers_mut().insert(
            "authorization",
            http::HeaderValue::from_str(&value).expect("value"),
        );
        cap.clear();
        let one = oneshot(&app, req).await;
        let one_reason = one_event_reason(&cap);
        cap.clear();
        let wire = common::get(addr, "/api/whoami", &[("authorization", value.as_bytes())]).await;
        let wire_reason = one_event_reason(&cap);
        assert_eq!(one.status, wire.status, "{value:?}");
        assert_eq!(one.www_authenticate(), wire.www_authenticate(), "{value:?}");
        assert_eq!(one_reason, wire_reason, "{value:?}");
    }
}

fn one_event_reason(cap: &common::Captured) -> Option<String> {
    cap.authgate_events()
        .iter()
        .find_map(|e| e["fields"]["auth.reason"].as_str().map(str::to_owned))
}

/// SPEC §3: every event field is at most 1024 characters, including
/// `http.request.method` (an extension method is any token, of any length) and
/// `url.path`.
#[tokio::test]
async fn long_method_and_path_are_capped_in_events() {
    let (cap, _g) = common::capture();
    let app = app(Variant::D);
    let addr = common::serve(app.clone()).await;
    let method = Method::from_bytes("X".repeat(2000).as_bytes()).expect("extension method");
    let path = format!("/api/{}", "p".repeat(3000));
    let req = http::Request::builder()
        .method(method.clone())
        .uri(&path)
        .body(axum::body::Body::empty())
        .expect("request");
    let one = oneshot(&app, req).await;
    let one_events = cap.authgate_events();
    cap.clear();
    let wire = common::request(addr, method, &path, &[], bytes::Bytes::new()).await;
    let wire_events = cap.authgate_events();
    for (resp, events) in [(one, one_events), (wire, wire_events)] {
        assert_eq!(resp.status, 401, "{}", resp.text());
        assert_eq!(events.len(), 1, "{events:?}");
        let errs = check_field_caps(&events);
        assert!(errs.is_empty(), "{errs:?}");
        let f = &events[0]["fields"];
        for field in ["http.request.method", "url.path"] {
            let v = f[field].as_str().expect(field);
            assert_eq!(v.chars().count(), 1024, "{field}");
            assert!(v.ends_with('…'), "{field} cut without a mark");
        }
    }
}
