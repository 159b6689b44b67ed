//! Body validation in the manner of the 23.09 trafaret schemas: unknown keys and nulls for
//! non-nullable keys are errors, reported per key in `data`.

use serde_json::{Map, Value};

pub enum Kind {
    Str,
    NullOrStr,
    Name,
    Enum(&'static [&'static str]),
    ToInt(i64),
    ToBool,
    Mapping,
    NullOrList,
    NullOrUrl,
}

pub struct Key {
    pub names: &'static [&'static str],
    pub kind: Kind,
    pub default: Option<Value>,
}

fn check_value(kind: &Kind, v: &Value) -> Result<Value, String> {
    let not_str = || "value is not a string".to_string();
    match kind {
        Kind::Str => match v {
            Value::String(s) if s.is_empty() => Err("blank value is not allowed".into()),
            Value::String(_) => Ok(v.clone()),
            _ => Err(not_str()),
        },
        Kind::NullOrStr => match v {
            Value::Null => Ok(Value::Null),
            Value::String(s) if s.is_empty() => Err("blank value is not allowed".into()),
            Value::String(_) => Ok(v.clone()),
            _ => Err(not_str()),
        },
        Kind::Name => {
            let Value::String(s) = v else { return Err(not_str()) };
            let ok = s.len() >= 4
                && s.len() <= 64
                && s.is_ascii()
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
                && {
                    let f = s.chars().next().unwrap();
                    let l = s.chars().last().unwrap();
                    (f.is_ascii_alphanumeric() || f == '_') && (l.is_ascii_alphanumeric() || l == '_')
                };
            if ok {
                Ok(v.clone())
            } else {
                Err("does not match pattern ^(?=.{4,64}$)\\w[\\w.-]*\\w$".into())
            }
        }
        Kind::Enum(vals) => match v.as_str() {
            Some(s) if vals.contains(&s) => Ok(v.clone()),
            _ => Err("value doesn't match any variant".into()),
        },
        Kind::ToInt(min) => {
            let n = match v {
                Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            match n {
                None => Err("value can't be converted to int".into()),
                Some(n) if n < *min => Err(format!("value is less than {min}")),
                Some(n) => Ok(Value::from(n)),
            }
        }
        Kind::ToBool => match v {
            Value::Bool(_) => Ok(v.clone()),
            Value::Number(n) if n.as_i64() == Some(0) => Ok(Value::Bool(false)),
            Value::Number(n) if n.as_i64() == Some(1) => Ok(Value::Bool(true)),
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "t" | "true" | "y" | "yes" | "on" | "1" => Ok(Value::Bool(true)),
                "f" | "false" | "n" | "no" | "off" | "0" | "" => Ok(Value::Bool(false)),
                _ => Err("value can't be converted to Bool".into()),
            },
            _ => Err("value can't be converted to Bool".into()),
        },
        Kind::Mapping => match v {
            Value::Object(_) => Ok(v.clone()),
            _ => Err("value is not a dict".into()),
        },
        Kind::NullOrList => match v {
            Value::Null | Value::Array(_) => Ok(v.clone()),
            _ => Err("value is not a list".into()),
        },
        Kind::NullOrUrl => match v {
            Value::Null => Ok(Value::Null),
            Value::String(s) if s.starts_with("http://") || s.starts_with("https://") => Ok(v.clone()),
            _ => Err("value is not URL".into()),
        },
    }
}

/// Checks `obj` against `keys` as the emulated release does: 23.09's trafaret schemas reject
/// unknown keys, 26.09's request models drop them.
pub fn check(obj: &Value, keys: &[Key]) -> Result<Map<String, Value>, Value> {
    check_with(obj, keys, !crate::emulate::is_2609())
}

/// Checks `obj` against `keys`. The result maps each key's first name to its value
/// (or default); errors map the key as given to the message. With `strict`, keys not in
/// `keys` are errors.
pub fn check_with(obj: &Value, keys: &[Key], strict: bool) -> Result<Map<String, Value>, Value> {
    let Value::Object(input) = obj else {
        return Err(Value::String("value is not a dict".into()));
    };
    let mut out = Map::new();
    let mut errors = Map::new();
    let mut used = std::collections::HashSet::new();
    for key in keys {
        let found = key.names.iter().find(|n| input.contains_key(**n));
        match found {
            Some(n) => {
                used.insert(n.to_string());
                match check_value(&key.kind, &input[*n]) {
                    Ok(v) => {
                        out.insert(key.names[0].to_string(), v);
                    }
                    Err(e) => {
                        errors.insert(n.to_string(), Value::String(e));
                    }
                }
            }
            None => match &key.default {
                Some(d) => {
                    out.insert(key.names[0].to_string(), d.clone());
                }
                None => {
                    errors.insert(key.names[0].to_string(), Value::String("is required".into()));
                }
            },
        }
        // a second alias of the same key is not allowed either
        for n in key.names.iter() {
            if Some(n) != found && input.contains_key(*n) {
                used.insert(n.to_string());
            }
        }
    }
    for k in input.keys() {
        if strict && !used.contains(k) {
            errors.insert(k.clone(), Value::String(format!("{k} is not allowed key")));
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Value::Object(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_null_and_missing() {
        let keys = [
            Key { names: &["name", "session_name"], kind: Kind::Name, default: None },
            Key { names: &["domain"], kind: Kind::Str, default: Some(json!("default")) },
            Key { names: &["tag"], kind: Kind::NullOrStr, default: Some(Value::Null) },
        ];
        let ok = check_with(&json!({"session_name": "abcd", "tag": null}), &keys, true).unwrap();
        assert_eq!(ok["name"], "abcd");
        assert_eq!(ok["domain"], "default");
        let e = check_with(&json!({"name": "a", "domain": null, "bogus": 1}), &keys, true).unwrap_err();
        assert_eq!(e["bogus"], "bogus is not allowed key");
        assert_eq!(e["domain"], "value is not a string");
        assert!(e["name"].as_str().unwrap().starts_with("does not match pattern"));
        let e = check_with(&json!({}), &keys, true).unwrap_err();
        assert_eq!(e["name"], "is required");
        // not strict (26.09): unknown keys are dropped
        let ok = check_with(&json!({"name": "abcd", "bogus": 1}), &keys, false).unwrap();
        assert!(ok.get("bogus").is_none());
    }
}
