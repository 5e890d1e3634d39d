//! What a relying party learns about a citizen, by scope: `profile` the name (and the ID
//! number masked), `phone` the number and whether it was proved by a code, `id_number` the
//! whole ID number. The subject is pairwise: each client sees its own stable identifier for
//! the citizen, so two apps cannot join their records by it.

use serde_json::{json, Map, Value};
use tongban_platform::db::{Conn, DbError};

/// The citizen's subject identifier for `client_id`.
pub fn subject(client_id: &str, account_id: i64) -> Result<String, DbError> {
    let keys = tongban_platform::vault::keys().map_err(DbError::from)?;
    let mac = keys.blind("oidc_sub", &format!("{client_id}:{account_id}"));
    Ok(mac.chars().take(40).collect())
}

pub fn has(scope: &str, wanted: &str) -> bool {
    scope.split(' ').any(|s| s == wanted)
}

/// The claims `scope` allows, with `sub`.
pub fn for_scope(
    c: &mut dyn Conn,
    client_id: &str,
    account_id: i64,
    scope: &str,
) -> Result<Map<String, Value>, DbError> {
    let mut out = Map::new();
    out.insert("sub".into(), json!(subject(client_id, account_id)?));
    let Some(citizen) = tongban_platform::identity::get_citizen(c, account_id)? else {
        return Ok(out);
    };
    if has(scope, "profile") {
        out.insert("name".into(), json!(citizen.name));
        if !has(scope, "id_number") {
            out.insert(
                "id_number".into(),
                json!(tongban_platform::mask::id_number(&citizen.id_number)),
            );
        }
    }
    if has(scope, "id_number") {
        out.insert("id_number".into(), json!(citizen.id_number));
    }
    if has(scope, "phone") {
        out.insert(
            "phone_number".into(),
            json!(format!("+86 {}", citizen.phone)),
        );
        out.insert(
            "phone_number_verified".into(),
            json!(tongban_platform::identity::phone_verified(c, account_id)?),
        );
    }
    Ok(out)
}
