//! `authgate check-config`: load a configuration as the server does and summarize it.

use std::cell::RefCell;
use std::path::Path;
use std::process::ExitCode;

use authgate::summary::{ConfigSummary, KeySummary};
use authgate::{AuthConfig, KeyType};

use crate::CheckArgs;
use crate::toml_info::{self, KeyEntry, KeySource};
use crate::util::{self, CmdResult, EXIT_OK, EXIT_USAGE, clean};

use crate::util::PLACEHOLDER;

pub(crate) fn run(args: &CheckArgs) -> CmdResult {
    let path = &args.file;
    let text = util::read_config_text(path)?;
    let base = util::base_dir(path);
    let entries = toml_info::key_entries(&text);

    // Load exactly as the server does, recording which variables were looked up
    // and found unset or empty.
    let unset = RefCell::new(Vec::<String>::new());
    let record = |name: &str, value: Option<String>| {
        if value.as_deref().is_none_or(str::is_empty) {
            let mut u = unset.borrow_mut();
            if !u.iter().any(|n| n == name) {
                u.push(name.to_owned());
            }
        }
        value
    };
    let env = |name: &str| record(name, std::env::var(name).ok());
    let first = AuthConfig::from_toml_str_with_env(&text, &base, &env);
    let e = match first {
        Ok(cfg) => {
            print_summary(path, &cfg.summary(), &entries, &base, false);
            return Ok(ExitCode::from(EXIT_OK));
        }
        Err(e) => e,
    };
    if unset.borrow().is_empty() {
        eprintln!("error: {}", clean(&e.to_string()));
        eprintln!(
            "{} is NOT valid; the server would refuse to start.",
            path.display()
        );
        return Ok(ExitCode::from(EXIT_USAGE));
    }

    // Unset secret variables: name every one, then check the rest of the file
    // with a placeholder in their place.
    let placeholder_env = |name: &str| {
        record(name, std::env::var(name).ok())
            .filter(|v| !v.is_empty())
            .or_else(|| Some(PLACEHOLDER.to_owned()))
    };
    let second = AuthConfig::from_toml_str_with_env(&text, &base, &placeholder_env);
    for var in unset.borrow().iter() {
        let keys: Vec<String> = entries
            .iter()
            .filter(|e| matches!(&e.source, KeySource::Env { var: v, .. } if v == var))
            .map(|e| format!("{}.secret_env", e.key_path()))
            .collect();
        let at = if keys.is_empty() {
            "bearer.jwt.keys".to_owned()
        } else {
            keys.join(", ")
        };
        let state = match std::env::var_os(var) {
            Some(v) if v.is_empty() => "is set but empty",
            _ => "is unset",
        };
        // The variable's name is not printed: an unset name may be the secret
        // itself, pasted where the name belongs.
        eprintln!(
            "error: {at}: the environment variable named there {state}; the server would refuse to start. Set it in the server's environment to the HMAC secret (e.g. `openssl rand -base64 48` with secret_encoding = \"base64\"); if you wrote the secret itself in the file, remove it, rotate it, and write the variable's name instead"
        );
    }
    match second {
        Ok(cfg) => {
            print_summary(path, &cfg.summary(), &entries, &base, true);
        }
        Err(e2) => eprintln!("error: {}", clean(&e2.to_string())),
    }
    eprintln!(
        "{} is NOT valid; the server would refuse to start.",
        path.display()
    );
    Ok(ExitCode::from(EXIT_USAGE))
}

fn key_type(k: &KeySummary) -> String {
    let base = match k.key_type {
        KeyType::Hmac => "HMAC secret",
        KeyType::Rsa => "RSA public key",
        KeyType::Ec => "EC public key",
        KeyType::Ed25519 => "Ed25519 public key",
        _ => "key",
    };
    match k.curve {
        Some(c) => format!("{base} ({c})"),
        None => base.to_owned(),
    }
}

fn list<T: AsRef<str>>(items: &[T]) -> String {
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items
            .iter()
            .map(|s| clean(s.as_ref()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn print_summary(
    path: &Path,
    s: &ConfigSummary,
    entries: &[KeyEntry],
    base: &Path,
    with_placeholders: bool,
) {
    let mut o = String::new();
    if with_placeholders {
        o.push_str(&format!(
            "{}: summary with the unset secret variable(s) assumed set:\n\n",
            path.display()
        ));
    } else {
        o.push_str(&format!("{}: valid\n\n", path.display()));
    }
    let schemes = s.schemes();
    o.push_str(&format!("  schemes          {}\n", list(&schemes)));
    o.push_str(&format!("  realm            {:?}\n", clean(&s.realm)));
    o.push_str(&format!("  leeway           {} s\n", s.leeway_secs));
    o.push_str(&format!("  max_token_bytes  {}\n", s.max_token_bytes));
    o.push_str(&format!("  cors_preflight   {}\n", s.cors_preflight));
    o.push_str(&format!(
        "  problem bodies   {}\n",
        if s.problem_body { "on" } else { "off" }
    ));
    if s.revocation_check {
        o.push_str("  revocation       checked in code\n");
    }

    if let Some(jwt) = &s.jwt {
        o.push_str("\n[bearer.jwt]\n");
        let algs: Vec<&str> = jwt.algorithms.iter().map(|a| a.as_str()).collect();
        o.push_str(&format!("  algorithms       {}\n", list(&algs)));
        o.push_str(&format!("  issuers          {}\n", list(&jwt.issuers)));
        o.push_str(&format!("  audiences        {}\n", list(&jwt.audiences)));
        o.push_str(&format!(
            "  required claims  {}\n",
            list(&jwt.required_claims)
        ));
        o.push_str(&format!("  scope claim      {}\n", clean(&jwt.scope_claim)));
        let origins = toml_info::key_origins(entries, base).filter(|o| o.len() == jwt.keys.len());
        o.push_str(&format!("  keys             {}\n", jwt.keys.len()));
        for (i, k) in jwt.keys.iter().enumerate() {
            let kid = k
                .kid
                .as_deref()
                .map_or("(no kid)".to_owned(), |k| format!("kid {:?}", clean(k)));
            let fits: Vec<&str> = k.algorithms.iter().map(|a| a.as_str()).collect();
            let source = origins
                .as_ref()
                .and_then(|o| o.get(i))
                .map(|(entry, what)| format!("bearer.jwt.keys[{entry}]: {}", clean(what)))
                .unwrap_or_default();
            let restricted = k
                .restricted_to
                .map(|a| format!(" (JWK alg {a})"))
                .unwrap_or_default();
            o.push_str(&format!(
                "    - {kid}, {}{restricted}, verifies {}; {source}\n",
                key_type(k),
                list(&fits),
            ));
        }
        match &jwt.remote {
            Some(r) => {
                let source = match (&r.jwks_url, &r.oidc_issuer) {
                    (Some(u), _) => format!("jwks_url {}", clean(u)),
                    (None, Some(i)) => {
                        format!("oidc_issuer {} (OpenID Connect discovery)", clean(i))
                    }
                    (None, None) => "(none)".to_owned(),
                };
                o.push_str(&format!("  remote keys      {source}\n"));
                o.push_str(&format!(
                    "                   refresh {} s, unknown-kid refetch at most every {} s, stale keys served {} s, timeout {} s{}\n",
                    r.refresh_secs,
                    r.refetch_cooldown_secs,
                    r.stale_secs,
                    r.timeout_secs,
                    if r.allow_insecure_http { ", plain HTTP allowed" } else { "" }
                ));
            }
            None => o.push_str("  remote keys      (none)\n"),
        }
    }

    if !s.api_keys.is_empty() {
        o.push_str(&format!("\n[[bearer.api_keys]]  {}\n", s.api_keys.len()));
        for k in &s.api_keys {
            o.push_str(&format!(
                "    - id {:?}, scopes [{}]\n",
                clean(&k.id),
                clean(&k.scopes.join(" "))
            ));
        }
    }

    if let Some(b) = &s.basic {
        o.push_str("\n[basic]\n");
        o.push_str(&format!("  users            {}\n", b.users));
        o.push_str(&format!("  max_pending      {}\n", b.max_pending));
        let kinds: Vec<String> = b
            .hash_kinds
            .iter()
            .map(|k| {
                let n = k.users.len();
                format!("{k} ({n} user{})", if n == 1 { "" } else { "s" })
            })
            .collect();
        if !kinds.is_empty() {
            o.push_str(&format!(
                "  password hashes  {}\n",
                clean(&kinds.join("; "))
            ));
        }
        for f in &b.htpasswd_files {
            o.push_str(&format!(
                "  htpasswd_file    {}\n",
                clean(&f.display().to_string())
            ));
        }
    }

    let warnings = s.warnings();
    if !warnings.is_empty() {
        o.push_str("\nwarnings:\n");
        for w in warnings {
            o.push_str(&format!("  - {}\n", clean(&w)));
        }
    }
    print!("{o}");
}
