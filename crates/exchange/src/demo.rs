//! The demo city's data sharing (`data/demo_exchange.json`): services, a base registry with
//! the demo citizen's record, and the grants that let matters take it instead of a scan.

use crate::model::Service;
use crate::{grants, registry, store, ExchangeError};
use serde::Deserialize;
use tongban_platform::db::Conn;

#[derive(Deserialize)]
struct Demo {
    services: Vec<Service>,
    registries: Vec<Registry>,
    grants: Vec<Grant>,
}

#[derive(Deserialize)]
struct Registry {
    name: String,
    provider: String,
    key_field: String,
    csv: String,
}

#[derive(Deserialize)]
struct Grant {
    provider: String,
    service: String,
    consumer: String,
    purpose: String,
    days: i64,
}

/// Register the demo's services, load its registries (with `citizen`, the demo citizen's ID
/// number) and give its grants.
pub fn seed(c: &mut dyn Conn, citizen: &str, now: i64) -> Result<(), ExchangeError> {
    let demo: Demo = serde_json::from_str(include_str!("../data/demo_exchange.json"))
        .map_err(|e| ExchangeError::Invalid(format!("demo_exchange.json: {e}")))?;
    for s in &demo.services {
        s.check()?;
        store::save(c, s, now)?;
    }
    for r in &demo.registries {
        let csv = r.csv.replace("{citizen}", citizen);
        let table = registry::read_table("demo.csv", csv.as_bytes())?;
        registry::check(&table, &r.key_field)?;
        let sealed = registry::seal(&r.name, &table, &r.key_field)?;
        registry::replace(
            c,
            &r.name,
            &r.provider,
            &r.key_field,
            &table.header,
            &sealed,
            now,
        )?;
    }
    for g in &demo.grants {
        grants::grant(
            c,
            &g.provider,
            &g.service,
            &g.consumer,
            &g.purpose,
            now + g.days * 86_400_000,
            "demo",
            now,
        )?;
    }
    Ok(())
}
