//! `authgate`: explain why a request is rejected, offline and with the layer's own
//! code; check a configuration before deploying it; make password hashes, API keys
//! and test tokens for it.
//!
//! Exit status: 0 success (or, for `explain`, the request would pass), 1 `explain`
//! says it would be rejected, 2 usage or configuration error.
//!
//! Nothing here prints a secret (token, password, API key, HMAC secret, private
//! key), except the two things made to be handed over: the new key of `api-key
//! new`, once, and the token of `token mint`. The layer's `tracing` events are not
//! shown: no subscriber is installed.

mod api_key;
mod check;
mod explain;
mod hash;
mod mint;
mod toml_info;
mod util;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

const TOP_EXAMPLES: &str = "\
Examples:
  authgate explain --config authgate.toml \"$TOKEN\"      why is this token rejected?
  authgate check-config authgate.toml                   is the config right?
  authgate hash-password alice >> users.htpasswd        a Basic user
  authgate api-key new --id ci-bot --scopes orders:read an API key and its TOML block
  authgate token mint --config authgate.toml --key hmac-1   a token for local testing

Exit status: 0 success / would pass, 1 would be rejected (explain), 2 usage or configuration error.";

const EXPLAIN_EXAMPLES: &str = "\
Examples:
  # a bare token, a whole Authorization value, or stdin (keeps it out of shell history):
  authgate explain --config authgate.toml eyJhbGciOi...
  authgate explain --config authgate.toml 'Bearer eyJhbGciOi...'
  pbpaste | authgate explain --config authgate.toml -
  # would it have passed at 10:00 UTC (e.g. when the client logged its 401)?
  authgate explain --config authgate.toml --at 2026-11-25T10:00:00Z -
  # Basic credentials (user:password; the password is never printed):
  printf '%s' 'alice:s3cret' | authgate explain --config authgate.toml --basic -
  # machine-readable:
  authgate explain --config authgate.toml --format json - < token.txt
  # no file: an identity provider's token against its published keys
  authgate explain --oidc-issuer https://id.example.com/ --audience orders-api -

Remote keys: a configuration file with jwks_url or oidc_issuer makes explain exit 2
for Bearer tokens unless --fetch-keys is given (explain never goes online on its
own). With --fetch-keys the keys are fetched first, as the server does at start-up.
Without a file, --jwks-url or --oidc-issuer names the key set, which is fetched;
--issuer, --audience and --algorithm (default RS256 PS256 ES256 EdDSA) complete
the configuration.

Output: status, reason, the WWW-Authenticate challenge(s) the server would send,
detail and hint (as in the server's log event), auth.token_fp (to find the
request in the logs), the decoded header and claims, and whether the claims are
verified (signature checked) and which claim checks passed. The token itself is
never printed.

Exit status: 0 it would pass, 1 it would be rejected, 2 usage or configuration error.";

const CHECK_EXAMPLES: &str = "\
Examples:
  authgate check-config authgate.toml
  AUTHGATE_HS256_SECRET=... authgate check-config deploy/prod.toml

Loads the file exactly as the server does (same checks, same environment
variables) and prints a summary: schemes, algorithms, keys (kid, type, source),
issuers, audiences, API key ids, Basic users, remote key source, and warnings.
An environment variable named by secret_env that is unset is an error (the server
would refuse to start); the rest of the file is still checked. Secret values are
never printed.

Exit status: 0 valid (warnings allowed), 2 invalid or unreadable.";

const HASH_EXAMPLES: &str = "\
Examples:
  authgate hash-password alice >> users.htpasswd          # asks twice, no echo
  printf '%s' \"$PW\" | authgate hash-password --stdin alice
  authgate hash-password --algorithm bcrypt --cost 12 bob

Defaults follow the OWASP Password Storage Cheat Sheet: argon2id with m=19456 KiB,
t=2, p=1; bcrypt with cost 10 (lower is refused). bcrypt uses only 72 bytes of a
password, so longer passwords are refused with --algorithm bcrypt. Prints one
htpasswd line, USER:HASH, for basic.htpasswd_file (or the password_hash of a
[[basic.users]] entry).";

const API_KEY_EXAMPLES: &str = "\
Examples:
  authgate api-key new --id ci-bot
  authgate api-key new --id reporting --scopes orders:read,orders:export

Prints the new key once (256 bits from the OS random generator, base62, prefixed
ag_ so secret scanners recognise it) and the [[bearer.api_keys]] block with its
SHA-256 digest. Store the key now: only the digest goes into the configuration,
and the key cannot be recovered from it. Clients send it as
`Authorization: Bearer ag_...`.";

const MINT_EXAMPLES: &str = "\
Examples:
  # HMAC key: the secret is read from the variable its secret_env names
  AUTHGATE_HS256_SECRET=... authgate token mint --config authgate.toml --key hmac-1
  # RSA / EC / Ed25519 key: pass the private key matching the configured public key
  authgate token mint --config authgate.toml --key rsa-2026 --private-key rsa.pem --exp 2h
  # extra or different claims (null removes a default claim):
  authgate token mint --config authgate.toml --key hmac-1 --claims '{\"sub\":\"alice\",\"scope\":\"admin\"}'
  curl -H \"Authorization: Bearer $(authgate token mint --config authgate.toml --key hmac-1)\" localhost:8080/api/whoami

Default claims: sub \"test\", iat now, exp now + --exp, and iss / aud from the first
configured issuer / audience. The token is verified through the layer before it
is printed: a key that would not verify it (unknown kid, private key that does
not match) is refused with exit 2. For local testing only.";

/// Explain a rejection offline, check a configuration, make credentials for it.
#[derive(Debug, Parser)]
#[command(name = "authgate", version, after_help = TOP_EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// What would the server answer for this token or Authorization value, and why? (offline)
    #[command(after_help = EXPLAIN_EXAMPLES)]
    Explain(ExplainArgs),
    /// Load and validate a configuration as the server does, and summarize it
    #[command(name = "check-config", after_help = CHECK_EXAMPLES)]
    CheckConfig(CheckArgs),
    /// Hash a password for an htpasswd file (argon2id or bcrypt)
    #[command(name = "hash-password", after_help = HASH_EXAMPLES)]
    HashPassword(HashArgs),
    /// API keys for [[bearer.api_keys]]
    #[command(name = "api-key", subcommand, after_help = API_KEY_EXAMPLES)]
    ApiKey(ApiKeyCommand),
    /// Tokens for local testing
    #[command(subcommand, after_help = MINT_EXAMPLES)]
    Token(TokenCommand),
}

/// Output format of `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Human-readable text.
    Text,
    /// One JSON object.
    Json,
}

#[derive(Debug, Args)]
struct ExplainArgs {
    /// The server's configuration file (TOML); or describe it with --jwks-url /
    /// --oidc-issuer and the flags after them
    #[arg(long, value_name = "FILE", required_unless_present_any = ["jwks_url", "oidc_issuer"])]
    config: Option<PathBuf>,
    /// Without a file: the issuer's JWK Set URL (fetched, like --fetch-keys)
    #[arg(long, value_name = "URL", conflicts_with_all = ["config", "oidc_issuer"])]
    jwks_url: Option<String>,
    /// Without a file: the issuer whose OpenID discovery gives the keys (fetched)
    #[arg(long, value_name = "URL", conflicts_with = "config")]
    oidc_issuer: Option<String>,
    /// Without a file: an expected `iss` (repeat for several)
    #[arg(long, value_name = "ISS", conflicts_with = "config")]
    issuer: Vec<String>,
    /// Without a file: an expected `aud` (repeat for several)
    #[arg(long, value_name = "AUD", conflicts_with = "config")]
    audience: Vec<String>,
    /// Without a file: an allowed `alg` (repeat; default RS256 PS256 ES256 EdDSA)
    #[arg(long = "algorithm", value_name = "ALG", conflicts_with = "config")]
    algorithms: Vec<String>,
    /// Evaluate at this time instead of now: RFC 3339 (2026-11-25T10:00:00Z) or unix seconds
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// TOKEN is user:password for Basic authentication
    #[arg(long)]
    basic: bool,
    /// Fetch the remote key set (jwks_url / oidc_issuer) first; without it explain stays offline
    #[arg(long)]
    fetch_keys: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Also check a step-up route (RFC 9470): the token's acr must be this value
    /// (repeat for several accepted values)
    #[arg(long, value_name = "ACR")]
    acr: Vec<String>,
    /// Also check a step-up route (RFC 9470): the login (auth_time) at most SECS old
    #[arg(long, value_name = "SECS")]
    max_age: Option<u64>,
    /// A token, a whole Authorization value (`Bearer …`, `Basic …`), or with
    /// --basic user:password; `-` or nothing reads it from stdin
    #[arg(value_name = "TOKEN")]
    token: Option<String>,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The configuration file (TOML)
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

/// Password hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum HashAlgorithm {
    /// argon2id, m=19456 KiB, t=2, p=1 (OWASP's first choice)
    Argon2id,
    /// bcrypt ($2y$), cost 10 by default
    Bcrypt,
}

#[derive(Debug, Args)]
struct HashArgs {
    /// Hash algorithm
    #[arg(long, value_enum, default_value_t = HashAlgorithm::Argon2id)]
    algorithm: HashAlgorithm,
    /// bcrypt cost (work factor), 10 to 31; default 10
    #[arg(long, value_name = "N")]
    cost: Option<u32>,
    /// Read the password from stdin (one line) instead of asking on the terminal
    #[arg(long)]
    stdin: bool,
    /// The user-id (no ':' or control characters)
    #[arg(value_name = "USER")]
    user: String,
}

#[derive(Debug, Subcommand)]
enum ApiKeyCommand {
    /// Generate a new API key and its [[bearer.api_keys]] block
    #[command(after_help = API_KEY_EXAMPLES)]
    New(ApiKeyNewArgs),
}

#[derive(Debug, Args)]
struct ApiKeyNewArgs {
    /// The key's id: logged as auth.key_id and the principal's subject
    #[arg(long, value_name = "ID")]
    id: String,
    /// Scopes the key grants, comma-separated
    #[arg(long, value_name = "a,b", value_delimiter = ',')]
    scopes: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Mint a signed JWT for local testing with a key of the configuration
    #[command(after_help = MINT_EXAMPLES)]
    Mint(MintArgs),
}

#[derive(Debug, Args)]
struct MintArgs {
    /// The configuration file (TOML) whose key will verify the token
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The kid of the configured key to sign for
    #[arg(long = "key", value_name = "KID")]
    kid: String,
    /// Claims as a JSON object, merged over the defaults (null removes one)
    #[arg(long, value_name = "JSON")]
    claims: Option<String>,
    /// Lifetime: 30s, 10m, 2h, 1d, 1h30m
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    exp: String,
    /// PEM private key (PKCS#8; PKCS#1 for RSA) for an RSA, EC or Ed25519 key
    #[arg(long, value_name = "FILE")]
    private_key: Option<PathBuf>,
    /// Algorithm (default: the first allowed algorithm that fits the key)
    #[arg(long, value_name = "ALG")]
    alg: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Explain(a) => explain::run(&a),
        Command::CheckConfig(a) => check::run(&a),
        Command::HashPassword(a) => hash::run(&a),
        Command::ApiKey(ApiKeyCommand::New(a)) => api_key::run(&a),
        Command::Token(TokenCommand::Mint(a)) => mint::run(&a),
    };
    match result {
        Ok(code) => code,
        Err(fail) => {
            eprintln!("error: {fail}");
            ExitCode::from(fail.code)
        }
    }
}
