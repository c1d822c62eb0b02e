//! What the layer targets share: one configured layer and one runtime, built once.

use std::sync::OnceLock;

use authgate::{Algorithm, ApiKey, AuthConfig, AuthLayer, BasicConfig, JwtConfig, JwtKey};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use tower::{Layer as _, ServiceExt as _};

/// The HS256 secret the layer trusts (the `jwt_token` target signs with it).
pub const SECRET: &[u8] = b"fuzzing secret, 32 bytes or more, for HS256 only";
/// The `kid` of that key.
pub const KID: &str = "fuzz";
/// The API key the layer accepts.
pub const API_KEY: &str = "agk_fuzz_0123456789abcdef0123456789abcdef";

type Inner = tower::util::ServiceFn<
    fn(Request<()>) -> std::future::Ready<Result<Response<Bytes>, std::convert::Infallible>>,
>;

fn ok(_req: Request<()>) -> std::future::Ready<Result<Response<Bytes>, std::convert::Infallible>> {
    std::future::ready(Ok(Response::new(Bytes::from_static(b"ok"))))
}

struct Env {
    rt: tokio::runtime::Runtime,
    svc: authgate::AuthService<Inner>,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        // Events are formatted (the escaping of request-derived values runs), then dropped.
        let _ = tracing_subscriber::fmt()
            .json()
            .with_writer(std::io::sink)
            .try_init();
        // bcrypt's lowest cost, so that a well-formed Basic credential costs ~1 ms.
        let hash = bcrypt::hash("fuzz-password", 4).expect("bcrypt hash");
        let cfg = AuthConfig::builder()
            .jwt(
                JwtConfig::new([Algorithm::HS256])
                    .key(JwtKey::hmac(SECRET).with_kid(KID))
                    .issuer("https://issuer.fuzz")
                    .audience("fuzz-api")
                    .token_cache(64, 60),
            )
            .api_key(ApiKey::from_key("fuzz-key", API_KEY).scopes(["read"]))
            .basic(
                BasicConfig::new()
                    .user("alice", &hash, ["read"])
                    .expect("basic user"),
            )
            .build()
            .expect("authgate configuration");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let inner: Inner = tower::service_fn(ok as fn(_) -> _);
        Env {
            rt,
            svc: AuthLayer::new(cfg).layer(inner),
        }
    })
}

/// Sends `req` through the layer and returns the response's status.
pub fn status(req: Request<()>) -> StatusCode {
    let env = env();
    let svc = env.svc.clone();
    let response = env
        .rt
        .block_on(svc.oneshot(req))
        .unwrap_or_else(|never| match never {});
    response.status()
}

/// The statuses the layer may answer with.
#[allow(dead_code)] // not every target that includes this file uses it
pub fn allowed(status: StatusCode) -> bool {
    matches!(status.as_u16(), 200 | 400 | 401 | 403 | 429 | 500 | 503)
}
