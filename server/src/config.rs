//! Command-line and environment configuration.

use std::path::PathBuf;

pub const DEFAULT_ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
pub const DEFAULT_SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
pub const DEFAULT_USER: &str = "user@example.com:example-password:AKIAIOSFODNN7EXAMPLE";

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
}

pub const USAGE: &str = "usage: backendai-local-server [--host 127.0.0.1] [--port 8081] \
[--keypair ACCESS:SECRET]... [--user EMAIL:PASSWORD:ACCESS]... [--data-dir DIR] [--python PATH] [--verbose]";

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
        if cfg.keypairs.is_empty() {
            cfg.keypairs.push(Keypair {
                access_key: DEFAULT_ACCESS_KEY.into(),
                secret_key: DEFAULT_SECRET_KEY.into(),
            });
        }
        if cfg.users.is_empty() {
            cfg.users.push(parse_user(DEFAULT_USER)?);
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
    fn defaults_and_repeats() {
        let c = Config::from_args(&[], None).unwrap();
        assert_eq!(c.port, 8081);
        assert_eq!(c.secret_for(DEFAULT_ACCESS_KEY), Some(DEFAULT_SECRET_KEY));
        assert_eq!(c.users[0].email, "user@example.com");
        let c = Config::from_args(
            &s(&["--port", "0", "--keypair", "A:B", "--keypair=C:D:E", "--user", "a@b:pw:A"]),
            Some("X:Y".into()),
        )
        .unwrap();
        assert_eq!(c.port, 0);
        assert_eq!(c.secret_for("A"), Some("B"));
        assert_eq!(c.secret_for("C"), Some("D:E"));
        assert_eq!(c.secret_for("X"), Some("Y"));
        assert_eq!(c.secret_for(DEFAULT_ACCESS_KEY), None);
        assert!(Config::from_args(&s(&["--bogus"]), None).is_err());
        assert!(Config::from_args(&s(&["--keypair", "nocolon"]), None).is_err());
    }
}
