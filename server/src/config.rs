//! Command-line and environment configuration.

use std::path::PathBuf;

use crate::emulate::Release;

/// The session-mode user made for the first keypair when no `--user` is given.
pub const DEFAULT_USER_EMAIL: &str = "user@example.com";

#[derive(Debug, Clone)]
pub struct Keypair {
    pub access_key: String,
    pub secret_key: String,
}

#[derive(Debug, Clone)]
pub struct User {
    pub email: String,
    pub password: String,
    pub access_key: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub keypairs: Vec<Keypair>,
    pub users: Vec<User>,
    pub data_dir: Option<PathBuf>,
    pub python: String,
    pub verbose: bool,
    /// The Backend.AI release answered as (`--emulate`).
    pub emulate: Release,
    /// `--allow-non-loopback`: the operator means to listen beyond this machine.
    pub allow_non_loopback: bool,
    /// `--no-app-proxy`: answer start-service (and 23.09's model services) as a manager
    /// without an app proxy does.
    pub no_app_proxy: bool,
    /// `--record FILE` (or `BAI_LOCAL_RECORD`): every request received, one JSON line each.
    pub record: Option<PathBuf>,
    /// Set when no keypair was given and one was generated (printed at start).
    pub generated_keypair: bool,
}

pub const USAGE: &str = "usage: backendai-local-server [--emulate 23.09|26.09] [--host 127.0.0.1] \
[--allow-non-loopback] [--port 8081] [--keypair ACCESS:SECRET]... [--user EMAIL:PASSWORD:ACCESS]... \
[--data-dir DIR] [--python PATH] [--no-app-proxy] [--record FILE] [--verbose]";

/// Whether `host` names only this machine (the loopback range, `localhost`, `::1`).
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    h.parse::<std::net::IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

/// A random keypair in the shape of Backend.AI's (`AKIA` + 16, 40 characters).
fn random_keypair() -> Keypair {
    use rand::Rng;
    const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const ANY: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rngs::OsRng;
    let pick = |set: &[u8], n: usize, rng: &mut rand::rngs::OsRng| -> String {
        (0..n).map(|_| set[rng.gen_range(0..set.len())] as char).collect()
    };
    Keypair { access_key: format!("AKIA{}", pick(UPPER, 16, &mut rng)), secret_key: pick(ANY, 40, &mut rng) }
}

fn parse_keypair(s: &str) -> Result<Keypair, String> {
    match s.split_once(':') {
        Some((a, k)) if !a.is_empty() && !k.is_empty() => {
            Ok(Keypair { access_key: a.to_string(), secret_key: k.to_string() })
        }
        _ => Err("a keypair must be given as ACCESS:SECRET".to_string()),
    }
}

fn parse_user(s: &str) -> Result<User, String> {
    let mut it = s.splitn(3, ':');
    match (it.next(), it.next(), it.next()) {
        (Some(e), Some(p), Some(a)) if !e.is_empty() && !a.is_empty() => Ok(User {
            email: e.to_string(),
            password: p.to_string(),
            access_key: a.to_string(),
        }),
        _ => Err("a user must be given as EMAIL:PASSWORD:ACCESS".to_string()),
    }
}

impl Config {
    pub fn from_args(args: &[String], env_keypairs: Option<String>) -> Result<Config, String> {
        let mut cfg = Config {
            host: "127.0.0.1".into(),
            port: 8081,
            keypairs: vec![],
            users: vec![],
            data_dir: None,
            python: "python3".into(),
            verbose: false,
            emulate: crate::emulate::DEFAULT,
            allow_non_loopback: false,
            no_app_proxy: false,
            record: None,
            generated_keypair: false,
        };
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
                _ => (a.clone(), None),
            };
            let mut value = || -> Result<String, String> {
                if let Some(v) = inline.clone() {
                    return Ok(v);
                }
                i += 1;
                args.get(i).cloned().ok_or_else(|| format!("{name} needs a value"))
            };
            match name.as_str() {
                "--host" => cfg.host = value()?,
                "--port" => {
                    cfg.port = value()?.parse().map_err(|_| "--port needs a number".to_string())?
                }
                "--keypair" => cfg.keypairs.push(parse_keypair(&value()?)?),
                "--user" => cfg.users.push(parse_user(&value()?)?),
                "--data-dir" => cfg.data_dir = Some(PathBuf::from(value()?)),
                "--python" => cfg.python = value()?,
                "--verbose" | "-v" => cfg.verbose = true,
                "--emulate" => cfg.emulate = Release::parse(&value()?)?,
                "--allow-non-loopback" => cfg.allow_non_loopback = true,
                "--no-app-proxy" => cfg.no_app_proxy = true,
                "--record" => cfg.record = Some(PathBuf::from(value()?)),
                "--help" | "-h" => return Err(USAGE.to_string()),
                other => return Err(format!("unknown argument: {other}\n{USAGE}")),
            }
            i += 1;
        }
        if let Some(env) = env_keypairs {
            for item in env.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                cfg.keypairs.push(parse_keypair(item)?);
            }
        }
        if !cfg.allow_non_loopback && !is_loopback(&cfg.host) {
            return Err(format!(
                "refusing to listen on {}: this server runs any code it is sent, unsandboxed, as \
                 this user; pass --allow-non-loopback if other machines are meant to reach it",
                cfg.host
            ));
        }
        if cfg.keypairs.is_empty() {
            // never the published example key: anyone who read the docs would hold it
            cfg.keypairs.push(random_keypair());
            cfg.generated_keypair = true;
        }
        if cfg.users.is_empty() {
            let ak = cfg.keypairs[0].access_key.clone();
            let pw = random_keypair().secret_key;
            cfg.users.push(User { email: DEFAULT_USER_EMAIL.into(), password: pw, access_key: ak });
        }
        Ok(cfg)
    }

    pub fn secret_for(&self, access_key: &str) -> Option<&str> {
        self.keypairs
            .iter()
            .rev()
            .find(|k| k.access_key == access_key)
            .map(|k| k.secret_key.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn safe_defaults() {
        let c = Config::from_args(&[], None).unwrap();
        assert_eq!(c.port, 8081);
        assert!(c.generated_keypair);
        let kp = &c.keypairs[0];
        assert_ne!(kp.access_key, "AKIAIOSFODNN7EXAMPLE");
        assert_ne!(kp.secret_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        assert_eq!((kp.access_key.len(), kp.secret_key.len()), (20, 40));
        let again = Config::from_args(&[], None).unwrap();
        assert_ne!(again.keypairs[0].secret_key, kp.secret_key);
        assert_eq!(c.users[0].email, "user@example.com");
        assert_eq!(c.users[0].access_key, kp.access_key);
        assert_eq!(c.emulate, crate::emulate::DEFAULT);
        // a non-loopback address needs the operator's explicit consent
        for h in ["0.0.0.0", "192.0.2.7", "::", "example.com"] {
            let e = Config::from_args(&s(&["--host", h]), None).unwrap_err();
            assert!(e.contains("--allow-non-loopback"), "{h}: {e}");
            assert!(Config::from_args(&s(&["--host", h, "--allow-non-loopback"]), None).is_ok());
        }
        for h in ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"] {
            assert!(Config::from_args(&s(&["--host", h]), None).is_ok(), "{h}");
        }
        let c = Config::from_args(&s(&["--emulate", "23.09", "--no-app-proxy", "--record", "x.jsonl"]), None).unwrap();
        assert_eq!(c.emulate, Release::V2309);
        assert!(c.no_app_proxy);
        assert!(Config::from_args(&s(&["--emulate", "24.03"]), None).is_err());
    }

    #[test]
    fn repeats() {
        let c = Config::from_args(
            &s(&["--port", "0", "--keypair", "A:B", "--keypair=C:D:E", "--user", "a@b:pw:A"]),
            Some("X:Y".into()),
        )
        .unwrap();
        assert_eq!(c.port, 0);
        assert_eq!(c.secret_for("A"), Some("B"));
        assert_eq!(c.secret_for("C"), Some("D:E"));
        assert_eq!(c.secret_for("X"), Some("Y"));
        assert!(!c.generated_keypair);
        assert!(Config::from_args(&s(&["--bogus"]), None).is_err());
        assert!(Config::from_args(&s(&["--keypair", "nocolon"]), None).is_err());
    }
}
