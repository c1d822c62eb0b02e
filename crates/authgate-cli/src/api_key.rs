//! `authgate api-key new`: a random key, shown once, and its configuration block.

use std::process::ExitCode;

use sha2::{Digest as _, Sha256};

use crate::ApiKeyNewArgs;
use crate::util::{CmdResult, EXIT_OK, Fail, toml_string};

/// Prefix of every key, so secret scanners can find leaked ones.
pub(crate) const PREFIX: &str = "ag_";
/// base62 characters after the prefix: 43 × log2(62) ≈ 256.03 bits.
const KEY_CHARS: usize = 43;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

pub(crate) fn run(args: &ApiKeyNewArgs) -> CmdResult {
    check_id(&args.id)?;
    let scopes: Vec<&str> = args
        .scopes
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    for s in &scopes {
        check_scope(s)?;
    }
    let key = new_key()?;
    let digest = hex(&Sha256::digest(key.as_bytes()));
    let scopes_toml: Vec<String> = scopes.iter().map(|s| toml_string(s)).collect();
    // stdout: the key (once), then the block to paste into the configuration.
    println!("{key}");
    println!();
    println!("[[bearer.api_keys]]");
    println!("id = {}", toml_string(&args.id));
    println!("sha256 = \"{digest}\"");
    println!("scopes = [{}]", scopes_toml.join(", "));
    eprintln!(
        "The first line is the new API key. It is shown only this once: store it in your secret manager now; the configuration keeps only its SHA-256 digest. Clients send it as `Authorization: Bearer {PREFIX}...`."
    );
    Ok(ExitCode::from(EXIT_OK))
}

/// `ag_` and 43 base62 characters from the OS random number generator (at least
/// 256 bits), drawn without modulo bias.
fn new_key() -> Result<String, Fail> {
    let mut out = String::with_capacity(PREFIX.len() + KEY_CHARS);
    out.push_str(PREFIX);
    let mut buf = [0u8; 64];
    while out.len() < PREFIX.len() + KEY_CHARS {
        getrandom::fill(&mut buf)
            .map_err(|e| Fail::usage(format!("the OS random number generator failed: {e}")))?;
        for &b in &buf {
            // 248 = 4 × 62: bytes at or above it would bias the draw.
            if b < 248 && out.len() < PREFIX.len() + KEY_CHARS {
                out.push(char::from(BASE62[usize::from(b % 62)]));
            }
        }
    }
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn check_id(id: &str) -> Result<(), Fail> {
    if id.trim().is_empty() {
        return Err(Fail::usage(
            "--id is empty; give the key a name that says who uses it (e.g. ci-bot): it is logged as auth.key_id",
        ));
    }
    if id.chars().any(char::is_control) || id.chars().count() > 128 {
        return Err(Fail::usage(
            "--id must be at most 128 characters without control characters",
        ));
    }
    Ok(())
}

/// RFC 6750 §3 scope-token: `%x21 / %x23-5B / %x5D-7E` (no space, `"` or `\`).
fn check_scope(scope: &str) -> Result<(), Fail> {
    let ok = scope
        .bytes()
        .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Fail::usage(format!(
            "scope {:?} has a character a scope may not have (RFC 6750 §3: visible ASCII without space, '\"' or '\\'); separate scopes with commas",
            crate::util::clean(scope)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_prefix_length_and_alphabet() {
        let a = new_key().unwrap();
        let b = new_key().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("ag_") && a.len() == 3 + KEY_CHARS);
        assert!(a[3..].bytes().all(|c| c.is_ascii_alphanumeric()));
        assert!(check_scope("orders:read").is_ok());
        assert!(check_scope("a b").is_err() && check_scope("a\"").is_err());
    }
}
