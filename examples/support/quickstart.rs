//! The quickstart: a generated key, a running server and ready-to-paste curl
//! commands. Shared by `examples/quickstart.rs` and the test that runs its
//! printed commands.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use authgate::{Algorithm, AuthConfig, JwtConfig, JwtKey};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

/// Issuer and audience of the quickstart's tokens.
pub const ISSUER: &str = "https://id.quickstart.example/";
/// The audience this API expects.
pub const AUDIENCE: &str = "orders-api";
/// The kid of the generated key.
pub const KID: &str = "quickstart-hs256";

/// A generated HS256 key and the configuration that trusts it.
pub struct Demo {
    secret: Vec<u8>,
    /// The authgate configuration.
    pub cfg: AuthConfig,
}

impl Demo {
    /// Generates a 64-byte secret from the OS RNG and a configuration trusting it.
    pub fn generate() -> Result<Demo, Box<dyn std::error::Error>> {
        let mut secret = vec![0u8; 64];
        getrandom::fill(&mut secret).map_err(|e| format!("OS random generator: {e}"))?;
        let cfg = AuthConfig::builder()
            .jwt(
                JwtConfig::new([Algorithm::HS256])
                    .key(JwtKey::hmac(&secret).with_kid(KID))
                    .issuer(ISSUER)
                    .audience(AUDIENCE)
                    .required_claims(["exp", "sub"]),
            )
            .build()?;
        Ok(Demo { secret, cfg })
    }

    /// A token for `sub` with `exp` at `now + exp_in` seconds.
    pub fn token(&self, sub: &str, aud: &str, scope: &str, exp_in: i64) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(KID.to_owned());
        let claims = json!({
            "iss": ISSUER, "aud": aud, "sub": sub, "scope": scope,
            "iat": now.min(now + exp_in - 60), "exp": now + exp_in,
        });
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&self.secret))
            .unwrap_or_default()
    }

    /// Writes the curl commands for a server at `base` (e.g. `http://127.0.0.1:3000`).
    pub fn print_commands(&self, base: &str, out: &mut impl Write) -> std::io::Result<()> {
        let valid = self.token("alice", AUDIENCE, "orders:read admin", 3600);
        let reader = self.token("bob", AUDIENCE, "orders:read", 3600);
        let expired = self.token("alice", AUDIENCE, "orders:read", -3600);
        let wrong_aud = self.token("alice", "billing-api", "orders:read", 3600);
        let cmds = [
            ("200: a valid token", "/api/whoami", valid.as_str()),
            ("200: admin scope granted", "/api/admin", valid.as_str()),
            (
                "403 insufficient_scope: no admin scope",
                "/api/admin",
                reader.as_str(),
            ),
            ("401 token_expired", "/api/whoami", expired.as_str()),
            (
                "401 audience_mismatch: a token for another API",
                "/api/whoami",
                wrong_aud.as_str(),
            ),
        ];
        writeln!(
            out,
            "authgate quickstart: paste these into another terminal\n"
        )?;
        for (what, path, token) in cmds {
            writeln!(out, "# {what}")?;
            writeln!(
                out,
                "curl -i {base}{path} -H 'Authorization: Bearer {token}'"
            )?;
        }
        writeln!(
            out,
            "# 401 missing_credentials (see the DEBUG event in this terminal)"
        )?;
        writeln!(out, "curl -i {base}/api/whoami")?;
        writeln!(out)?;
        Ok(())
    }
}
