//! Request and response schemas: JSON Schema (an OpenAPI 3 schema object is one), compiled
//! without fetching anything, and the first problem of a body named by its field.

use crate::ExchangeError;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A compiled schema, or why it cannot be used.
pub fn compile(schema: &Value) -> Result<jsonschema::Validator, String> {
    if !schema.is_object() && !schema.is_boolean() {
        return Err("a schema is a JSON object".into());
    }
    jsonschema::validator_for(schema).map_err(|e| e.to_string())
}

/// The compiled form of a service's schema, kept: a call compiles each schema once, not on
/// every request (a changed service has another text, hence another entry).
pub fn cached(schema: &Value) -> Result<Arc<jsonschema::Validator>, String> {
    static CACHE: Mutex<Option<HashMap<String, Arc<jsonschema::Validator>>>> = Mutex::new(None);
    let key = schema.to_string();
    if let Some(v) = CACHE
        .lock()
        .ok()
        .and_then(|c| c.as_ref()?.get(&key).cloned())
    {
        return Ok(v);
    }
    let v = Arc::new(compile(schema)?);
    if let Ok(mut c) = CACHE.lock() {
        let map = c.get_or_insert_with(HashMap::new);
        if map.len() >= 1024 {
            map.clear();
        }
        map.insert(key, v.clone());
    }
    Ok(v)
}

/// Check `body` against `schema`: the first problem names its field (a JSON pointer without
/// the leading slash, or the missing property).
pub fn check(
    schema: &jsonschema::Validator,
    body: &Value,
    what: &str,
) -> Result<(), ExchangeError> {
    let Some(e) = schema.iter_errors(body).next() else {
        return Ok(());
    };
    let path = e.instance_path().to_string();
    let message = e.to_string();
    let field = match path.trim_start_matches('/') {
        "" => message
            .split('"')
            .nth(1)
            .filter(|_| message.contains("required"))
            .unwrap_or("")
            .to_owned(),
        p => p.to_owned(),
    };
    let at = if field.is_empty() {
        String::new()
    } else {
        format!(" at {field}")
    };
    Err(ExchangeError::InvalidRequest {
        field: if field.is_empty() {
            "body".into()
        } else {
            field
        },
        message: format!("the {what} does not match the service's schema{at}: {message}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_the_field() {
        let s = compile(&json!({"type": "object", "required": ["id_number"],
            "properties": {"id_number": {"type": "string", "pattern": "^[0-9]{17}[0-9X]$"},
                           "age": {"type": "integer"}}}))
        .unwrap();
        assert!(check(&s, &json!({"id_number": "32020219900307123X"}), "request").is_ok());
        let field = |b: Value| match check(&s, &b, "request") {
            Err(ExchangeError::InvalidRequest { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(json!({})), "id_number");
        assert_eq!(field(json!({"id_number": "x"})), "id_number");
        assert_eq!(
            field(json!({"id_number": "32020219900307123X", "age": "x"})),
            "age"
        );
        assert!(compile(&json!("x")).is_err());
        assert!(compile(&json!({"type": 5})).is_err());
    }
}
