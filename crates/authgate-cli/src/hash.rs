//! `authgate hash-password`: one htpasswd line, with OWASP's parameters.

use std::io::Read as _;
use std::process::ExitCode;

use argon2::password_hash::PasswordHasher as _;
use authgate::BasicConfig;

use crate::util::{CmdResult, EXIT_OK, Fail};
use crate::{HashAlgorithm, HashArgs};

/// OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane.
pub(crate) const ARGON2_M_KIB: u32 = 19_456;
/// See [`ARGON2_M_KIB`].
pub(crate) const ARGON2_T: u32 = 2;
/// See [`ARGON2_M_KIB`].
pub(crate) const ARGON2_P: u32 = 1;
/// OWASP: bcrypt with a work factor of 10 or more.
pub(crate) const BCRYPT_MIN_COST: u32 = 10;
/// The largest cost bcrypt supports.
const BCRYPT_MAX_COST: u32 = 31;
/// bcrypt uses at most this many bytes of a password.
const BCRYPT_MAX_PASSWORD: usize = 72;

pub(crate) fn run(args: &HashArgs) -> CmdResult {
    check_user(&args.user)?;
    let cost = match (args.algorithm, args.cost) {
        (HashAlgorithm::Argon2id, Some(_)) => {
            return Err(Fail::usage(format!(
                "--cost sets the bcrypt work factor; argon2id uses OWASP's parameters (m={ARGON2_M_KIB} KiB, t={ARGON2_T}, p={ARGON2_P}). Drop --cost, or add --algorithm bcrypt"
            )));
        }
        (HashAlgorithm::Bcrypt, Some(c)) if c < BCRYPT_MIN_COST => {
            return Err(Fail::usage(format!(
                "bcrypt cost {c} is below {BCRYPT_MIN_COST}, the minimum of the OWASP Password Storage Cheat Sheet; use --cost {BCRYPT_MIN_COST} or more"
            )));
        }
        (HashAlgorithm::Bcrypt, Some(c)) if c > BCRYPT_MAX_COST => {
            return Err(Fail::usage(format!(
                "bcrypt cost {c} is above {BCRYPT_MAX_COST}, the largest bcrypt supports (each step doubles the time; 10 to 12 is usual)"
            )));
        }
        (_, c) => c.unwrap_or(BCRYPT_MIN_COST),
    };
    let password = if args.stdin {
        read_stdin()?
    } else {
        read_tty(&args.user)?
    };
    check_password(&password, args.algorithm)?;
    let hash = match args.algorithm {
        HashAlgorithm::Argon2id => argon2id(&password)?,
        HashAlgorithm::Bcrypt => bcrypt::non_truncating_hash_with_result(password.as_bytes(), cost)
            .map_err(|e| Fail::usage(format!("bcrypt failed: {e}")))?
            .format_for_version(bcrypt::Version::TwoY),
    };
    drop(password);
    let line = format!("{}:{hash}", args.user);
    // The line must load in authgate itself.
    let _loads = BasicConfig::new()
        .htpasswd_str(&line)
        .map_err(|e| Fail::usage(format!("the hash does not load in authgate: {e}")))?;
    println!("{line}");
    Ok(ExitCode::from(EXIT_OK))
}

fn argon2id(password: &str) -> Result<String, Fail> {
    let params = argon2::Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, None)
        .map_err(|e| Fail::usage(format!("argon2 parameters: {e}")))?;
    let hasher = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| Fail::usage(format!("the OS random number generator failed: {e}")))?;
    hasher
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Fail::usage(format!("argon2id failed: {e}")))
}

/// A user-id that fits an htpasswd line and a Basic header (RFC 7617 §2).
fn check_user(user: &str) -> Result<(), Fail> {
    if user.is_empty() {
        return Err(Fail::usage("the user-id is empty"));
    }
    if user.contains(':') {
        return Err(Fail::usage(
            "the user-id contains ':', which separates user-id and password in Basic credentials (RFC 7617 §2) and in htpasswd lines; choose another user-id",
        ));
    }
    if user.chars().any(char::is_control) {
        return Err(Fail::usage(
            "the user-id contains a control character (RFC 7617 §2 forbids them)",
        ));
    }
    if user.trim_start().starts_with('#') || user.trim().is_empty() {
        return Err(Fail::usage(
            "the user-id would make a comment or blank line in an htpasswd file; choose another user-id",
        ));
    }
    Ok(())
}

fn check_password(password: &str, algorithm: HashAlgorithm) -> Result<(), Fail> {
    if password.is_empty() {
        return Err(Fail::usage("the password is empty"));
    }
    let n = password.len();
    if n > BasicConfig::MAX_PASSWORD_BYTES {
        return Err(Fail::usage(format!(
            "the password is {n} bytes; authgate refuses passwords over {} bytes without hashing them, so this user could never sign in",
            BasicConfig::MAX_PASSWORD_BYTES
        )));
    }
    if algorithm == HashAlgorithm::Bcrypt && n > BCRYPT_MAX_PASSWORD {
        return Err(Fail::usage(format!(
            "the password is {n} bytes, but bcrypt uses only the first {BCRYPT_MAX_PASSWORD}: anything after them would not count. Use --algorithm argon2id (the default) or a shorter password"
        )));
    }
    Ok(())
}

/// One line from stdin, without its line ending.
fn read_stdin() -> Result<String, Fail> {
    let mut s = String::new();
    std::io::stdin()
        .lock()
        .take(64 * 1024)
        .read_to_string(&mut s)
        .map_err(|_| Fail::usage("cannot read the password from stdin (it must be UTF-8 text)"))?;
    let line = s.strip_suffix('\n').unwrap_or(&s);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.contains(['\n', '\r']) {
        return Err(Fail::usage(
            "stdin holds more than one line; pipe exactly one password (e.g. `printf '%s' \"$PW\" | authgate hash-password --stdin USER`)",
        ));
    }
    Ok(line.to_owned())
}

/// The password from the terminal, without echo, asked twice.
fn read_tty(user: &str) -> Result<String, Fail> {
    let no_tty = |_| {
        Fail::usage(
            "no terminal to ask for the password; pipe it with --stdin (`printf '%s' \"$PW\" | authgate hash-password --stdin USER`)",
        )
    };
    let first = rpassword::prompt_password(format!("Password for {user}: ")).map_err(no_tty)?;
    let second = rpassword::prompt_password("Again: ").map_err(no_tty)?;
    if first != second {
        return Err(Fail::usage("the two passwords differ; nothing was written"));
    }
    Ok(first)
}
