//! Remote keys and introspection over HTTPS from a private CA: a CA and a server
//! certificate for 127.0.0.1 made in the test (rcgen), a real TLS server on
//! 127.0.0.1 (rustls) serving a JWK Set and an introspection endpoint. Without the
//! CA the fetch fails with the TLS reason in the WARN; with `jwks_ca_file` /
//! `ca_file` it works.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use authgate::{
    Algorithm, AuthConfig, AuthLayer, IntrospectionConfig, JwtConfig, JwtKey, Principal,
};
use axum::Router;
use axum::routing::{get, post};
use jsonwebtoken::jwk::Jwk;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;

const KID: &str = "tls-rsa";

struct Pki {
    ca_pem: String,
    server_cert: CertificateDer<'static>,
    server_key: PrivateKeyDer<'static>,
}

fn pki() -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "authgate test CA");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server_params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let server_cert = server_params.signed_by(&server_key, &ca).unwrap();
    Pki {
        ca_pem: ca.pem(),
        server_cert: server_cert.der().clone(),
        server_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
    }
}

/// A TLS server on 127.0.0.1 serving `/jwks` and `/introspect`.
async fn https_server(pki: &Pki) -> SocketAddr {
    let rs256 = jsonwebtoken::Algorithm::RS256;
    let mut jwk =
        Jwk::from_encoding_key(&common::encoding_key_from_file(rs256, "rsa.pem"), rs256).unwrap();
    jwk.common.key_id = Some(KID.to_owned());
    let set = json!({ "keys": [jwk] });
    let app = Router::new()
        .route("/jwks", get(move || async move { axum::Json(set) }))
        .route(
            "/introspect",
            post(|| async {
                axum::Json(json!({ "active": true, "sub": "svc-a", "scope": "orders:read" }))
            }),
        );
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![pki.server_cert.clone()], pki.server_key.clone_key())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let app = app.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake.
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let svc = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    addr
}

async fn whoami(principal: Principal) -> String {
    principal.subject().unwrap_or_default().to_owned()
}

async fn serve(cfg: AuthConfig) -> SocketAddr {
    let app = Router::new()
        .route("/api/whoami", get(whoami))
        .layer(AuthLayer::new(cfg));
    common::serve(app).await
}

fn token() -> String {
    common::mint_with_key(
        jsonwebtoken::Algorithm::RS256,
        Some(KID),
        &json!({ "sub": "alice", "exp": common::now() + 600 }),
        &common::encoding_key_from_file(jsonwebtoken::Algorithm::RS256, "rsa.pem"),
    )
}

async fn call(addr: SocketAddr, token: &str) -> common::Resp {
    let auth = common::bearer(token);
    common::get(addr, "/api/whoami", &common::hdrs(&[auth])).await
}

fn jwt(https: SocketAddr) -> JwtConfig {
    JwtConfig::new([Algorithm::RS256])
        .jwks_url(format!("https://127.0.0.1:{}/jwks", https.port()))
        .jwks_timeout_secs(2)
}

#[tokio::test]
async fn a_private_ca_is_refused_with_the_tls_reason_unless_jwks_ca_file_names_it() {
    let (cap, _guard) = common::capture();
    let pki = pki();
    let https = https_server(&pki).await;

    // The default roots do not know the private CA.
    let addr = serve(AuthConfig::builder().jwt(jwt(https)).build().unwrap()).await;
    let res = call(addr, &token()).await;
    assert_eq!(res.status, 503, "{}", res.dump());
    assert_eq!(res.json()["reason"], "key_set_unavailable");
    let warn = cap
        .events()
        .into_iter()
        .find(|e| e["level"] == "WARN" && e["fields"]["error"].is_string())
        .expect("the fetcher's WARN");
    let error = warn["fields"]["error"].as_str().unwrap();
    assert!(
        error.contains("TLS handshake failed") && error.contains("certificate"),
        "{error}"
    );

    // With the CA's PEM bundle.
    let ca = common::TempPath::new("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let addr = serve(
        AuthConfig::builder()
            .jwt(jwt(https).jwks_ca_file(&*ca))
            .build()
            .unwrap(),
    )
    .await;
    let res = call(addr, &token()).await;
    assert_eq!(res.status, 200, "{}", res.dump());
    assert_eq!(res.text(), "alice");
}

#[tokio::test]
async fn introspection_trusts_its_ca_file_too() {
    let (_cap, _guard) = common::capture();
    let pki = pki();
    let https = https_server(&pki).await;
    let url = format!("https://127.0.0.1:{}/introspect", https.port());
    let intro = || IntrospectionConfig::new(&url, "rs", "rs-secret").timeout_secs(2);

    let addr = serve(
        AuthConfig::builder()
            .introspection(intro())
            .build()
            .unwrap(),
    )
    .await;
    let res = call(addr, "opaque-token-1").await;
    assert_eq!(res.status, 503, "{}", res.dump());
    let detail = res.json()["detail"].as_str().unwrap_or_default().to_owned();
    assert!(detail.contains("TLS handshake failed"), "{detail}");

    let ca = common::TempPath::new("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let addr = serve(
        AuthConfig::builder()
            .introspection(intro().ca_file(&*ca))
            .build()
            .unwrap(),
    )
    .await;
    let res = call(addr, "opaque-token-1").await;
    assert_eq!(res.status, 200, "{}", res.dump());
    assert_eq!(res.text(), "svc-a");
}

#[tokio::test]
async fn a_ca_file_that_is_missing_or_holds_no_certificate_is_refused_at_build() {
    let https: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let missing = common::TempPath::new("missing.pem");
    let err = AuthConfig::builder()
        .jwt(jwt(https).jwks_ca_file(&*missing))
        .build()
        .unwrap_err();
    assert_eq!(err.key(), "bearer.jwt.jwks_ca_file");
    assert!(err.message().contains("cannot read"), "{err}");

    let not_pem = common::TempPath::new("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let err = AuthConfig::builder()
        .jwt(jwt(https).jwks_ca_file(&*not_pem))
        .build()
        .unwrap_err();
    assert!(err.message().contains("no PEM certificate"), "{err}");

    // A CA bundle with static keys only: nothing would ever be fetched with it.
    let static_only = JwtConfig::new([Algorithm::HS256])
        .key(JwtKey::hmac(b"0123456789abcdef0123456789abcdef"))
        .jwks_ca_file(&*not_pem);
    let err = AuthConfig::builder().jwt(static_only).build().unwrap_err();
    assert_eq!(err.key(), "bearer.jwt.jwks_ca_file");
    assert!(
        err.message().contains("no jwks_url or oidc_issuer"),
        "{err}"
    );

    let key_only = common::TempPath::new("key.pem");
    std::fs::write(
        &key_only,
        rcgen::KeyPair::generate().unwrap().serialize_pem(),
    )
    .unwrap();
    let err = AuthConfig::builder()
        .introspection(
            IntrospectionConfig::new("https://id.example.com/i", "c", "s3cr3t-client-value")
                .ca_file(&*key_only),
        )
        .build()
        .unwrap_err();
    assert_eq!(err.key(), "bearer.introspection.ca_file");
    common::assert_no_secret(&err.to_string(), &["s3cr3t-client-value"]);
}

#[tokio::test]
async fn the_toml_keys_resolve_the_ca_file_against_the_config_directory() {
    let (_cap, _guard) = common::capture();
    let pki = pki();
    let https = https_server(&pki).await;
    let dir = common::TempPath::dir("tls-config");
    std::fs::write(dir.join("ca.pem"), &pki.ca_pem).unwrap();
    let text = format!(
        "[bearer.jwt]\nalgorithms = [\"RS256\"]\njwks_url = \"https://127.0.0.1:{}/jwks\"\njwks_ca_file = \"ca.pem\"\n\n[bearer.introspection]\nurl = \"https://127.0.0.1:{}/introspect\"\nclient_id = \"rs\"\nclient_secret_env = \"TLS_TEST_CLIENT_SECRET\"\nca_file = \"ca.pem\"\n",
        https.port(),
        https.port()
    );
    let env = |_: &str| Some("rs-secret".to_owned());
    let cfg = AuthConfig::from_toml_str_with_env(&text, &dir, &env).expect("config");
    let addr = serve(cfg).await;
    assert_eq!(call(addr, &token()).await.text(), "alice");
    assert_eq!(call(addr, "opaque-token-2").await.text(), "svc-a");
    // Resolved against another directory, the file is not there.
    let err = AuthConfig::from_toml_str_with_env(&text, std::path::Path::new("/nonexistent"), &env)
        .unwrap_err();
    assert!(err.key().ends_with("ca_file"), "{err}");
}
