//! CKAN's write actions, for a publisher's token: datasets and resources of the publisher's
//! own department, every change a new version and an audit entry (refusals audited too).

use crate::ckan::Caller;
use crate::datasets::{self, Input};
use crate::error::{invalid, OdError};
use crate::files::{self, Upload};
use crate::resources;
use serde_json::{Map, Value};
use tongban_platform::audit::{self, Entry};
use tongban_platform::db::Conn;
use tongban_platform::identity::Staff;
use tongban_platform::Ctx;

fn id_of(p: &Map<String, Value>, key: &str) -> Result<String, OdError> {
    match p.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        _ => Err(invalid(key, "Missing value")),
    }
}

fn resource_inputs(p: &Map<String, Value>) -> Result<Option<Vec<resources::Input>>, OdError> {
    match p.get("resources") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(list)) => {
            let mut out = Vec::new();
            for (i, r) in list.iter().enumerate() {
                let Value::Object(m) = r else {
                    return Err(invalid("resources", format!("item {i}: an object")));
                };
                out.push(
                    resources::Input::from_json(resources::Input::default(), m)
                        .map_err(|e| invalid("resources", format!("item {i}: {e}")))?,
                );
            }
            Ok(Some(out))
        }
        Some(_) => Err(invalid("resources", "a list of resources")),
    }
}

/// Refuse unless `staff` publishes for `department`.
pub(crate) fn own(staff: &Staff, department: &str) -> Result<(), OdError> {
    if staff.department.code == department {
        Ok(())
    } else {
        Err(OdError::Forbidden(format!(
            "a publisher of {} acts only on its own department's datasets, not {department}'s",
            staff.department.code
        )))
    }
}

pub async fn run(
    ctx: &Ctx,
    caller: &Caller,
    action: &str,
    p: Map<String, Value>,
    upload: Option<Upload>,
) -> Result<Value, OdError> {
    let Some(staff) = caller.publisher.clone() else {
        return Err(OdError::Forbidden(format!(
            "{action} needs a data publisher's API token (Authorization header)"
        )));
    };
    // A file is stored and read before the write, which only attaches it.
    let mut p = p;
    let file = match upload {
        Some(up) => {
            let format = p.get("format").and_then(Value::as_str).unwrap_or("");
            let f = files::prepare(ctx, format, up).await?;
            // A new resource is named after its file unless the call names it (as CKAN).
            if action == "resource_create" && !p.get("name").is_some_and(Value::is_string) {
                p.insert("name".into(), Value::String(f.name.clone()));
            }
            Some(f)
        }
        None => None,
    };
    let now = tongban_platform::time::now_millis();
    let (s2, action2) = (staff.clone(), action.to_owned());
    let r = ctx
        .db
        .transact(move |c| -> Result<(Value, String), OdError> {
            let (result, object) = apply(c, &s2, &action2, &p, now, file.is_some())?;
            let result = match &file {
                Some(f) => {
                    let dataset = result["package_id"].as_str().unwrap_or("").to_owned();
                    files::attach(c, &dataset, &object, f)?;
                    resources::get(c, &object)?.unwrap_or(result)
                }
                None => result,
            };
            audit::append(
                c,
                &Entry::staff(&s2, &format!("opendata.{action2}"), &object, "ok"),
            )?;
            Ok((result, object))
        })
        .await;
    match r {
        Ok((v, _)) => Ok(v),
        Err(OdError::Forbidden(m)) => {
            audit::record(
                &ctx.db,
                Entry::staff(&staff, &format!("opendata.{action}"), "", "denied"),
            )
            .await;
            Err(OdError::Forbidden(m))
        }
        Err(e) => Err(e),
    }
}

/// One write; (the result, the object it names for the audit).
fn apply(
    c: &mut dyn Conn,
    staff: &Staff,
    action: &str,
    p: &Map<String, Value>,
    now: i64,
    has_file: bool,
) -> Result<(Value, String), OdError> {
    let actor = staff.username.as_str();
    let found = |c: &mut dyn Conn, id: &str| -> Result<datasets::Head, OdError> {
        match datasets::head(c, id)? {
            Some(h) if h.state != "deleted" => Ok(h),
            _ => Err(OdError::NotFound("Dataset not found".into())),
        }
    };
    match action {
        "datastore_create" | "datastore_upsert" | "datastore_delete" => {
            crate::ds_actions::write(c, staff, action, p, now)
        }
        "package_create" | "package_update" | "package_patch" => {
            let existing = if action == "package_create" {
                None
            } else {
                let id = p
                    .get("id")
                    .or_else(|| p.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .trim()
                    .to_owned();
                if id.is_empty() {
                    return Err(invalid("id", "Missing value"));
                }
                let h = found(c, &id)?;
                own(staff, &h.department)?;
                Some(h)
            };
            let base = match (&existing, action) {
                (Some(h), "package_patch") => datasets::input_of(c, &h.id)?.unwrap_or_default(),
                (Some(h), _) => Input {
                    name: h.name.clone(),
                    owner_org: h.department.clone(),
                    ..Input::default()
                },
                (None, _) => Input {
                    owner_org: staff.department.code.clone(),
                    ..Input::default()
                },
            };
            let input = Input::from_json(base, p)?;
            own(staff, &input.owner_org)?;
            let res = resource_inputs(p)?;
            let id = datasets::save(
                c,
                existing.as_ref().map(|h| h.id.as_str()),
                &input,
                actor,
                now,
            )?;
            if let Some(list) = res {
                for old in resources::of_dataset(c, &id)? {
                    resources::delete(c, old["id"].as_str().unwrap_or(""))?;
                }
                for r in &list {
                    resources::create(c, &id, r, now)?;
                }
            }
            let v = datasets::package(c, &id)?.unwrap_or(Value::Null);
            Ok((v, id))
        }
        "package_delete" => {
            let h = found(c, &id_of(p, "id")?)?;
            own(staff, &h.department)?;
            datasets::delete(c, &h.id, now, actor)?;
            Ok((Value::Null, h.id))
        }
        "resource_create" => {
            let h = found(c, &id_of(p, "package_id")?)?;
            own(staff, &h.department)?;
            let input = resources::Input::from_json(resources::Input::default(), p)?;
            if input.url.is_empty() && !has_file {
                return Err(invalid(
                    "url",
                    "Missing value (or send the file as \"upload\")",
                ));
            }
            let id = resources::create(c, &h.id, &input, now)?;
            datasets::touch(c, &h.id, now, actor, "resource added")?;
            Ok((resources::get(c, &id)?.unwrap_or(Value::Null), id))
        }
        "resource_update" | "resource_patch" | "resource_delete" => {
            let id = id_of(p, "id")?;
            let (dataset, base) = resources::input_of(c, &id)?
                .ok_or_else(|| OdError::NotFound("Resource was not found.".into()))?;
            let h = found(c, &dataset)?;
            own(staff, &h.department)?;
            if action == "resource_delete" {
                resources::delete(c, &id)?;
                datasets::touch(c, &h.id, now, actor, "resource deleted")?;
                return Ok((Value::Null, id));
            }
            let base = if action == "resource_patch" {
                base
            } else {
                resources::Input::default()
            };
            let input = resources::Input::from_json(base, p)?;
            if input.url.is_empty() && !has_file {
                return Err(invalid(
                    "url",
                    "Missing value (or send the file as \"upload\")",
                ));
            }
            resources::update(c, &id, &input, now)?;
            datasets::touch(c, &h.id, now, actor, "resource changed")?;
            Ok((resources::get(c, &id)?.unwrap_or(Value::Null), id))
        }
        other => Err(OdError::NotFound(format!("Action name not known: {other}"))),
    }
}
