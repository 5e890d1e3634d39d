//! Open government data (开放数据, 三多一动): a catalogue of datasets as CKAN shapes it
//! (`datasets`, `resources`, `themes` for groups, departments as organizations), searched
//! (`search`) and served through CKAN's Action API v3 (`ckan`, `actions`, `write`), written by
//! publishers with API tokens (`tokens`, `staff`).

pub mod actions;
pub mod ckan;
pub mod datasets;
pub mod datastore;
pub mod dcat;
pub mod ds_actions;
pub mod dump;
pub mod error;
pub mod files;
pub mod live;
pub mod pages;
pub mod rdf;
pub mod requests;
pub mod resources;
pub mod search;
pub mod sql;
pub mod staff;
pub mod stats;
pub mod themes;
pub mod tokens;
pub mod upload;
pub mod usage;
pub mod write;

pub const MIGRATIONS: &[tongban_platform::db::Migration] = &[
    tongban_platform::migration!("opendata", 1, "0001_catalogue"),
    tongban_platform::migration!("opendata", 2, "0002_datastore"),
    tongban_platform::migration!("opendata", 3, "0003_keys"),
    tongban_platform::migration!("opendata", 4, "0004_refresh"),
    tongban_platform::migration!("opendata", 5, "0005_usage"),
    tongban_platform::migration!("opendata", 6, "0006_requests"),
];

/// What the room needs on start: the standard themes when the city has none.
pub async fn start(ctx: &tongban_platform::Ctx) -> Result<usize, tongban_platform::db::DbError> {
    let now = tongban_platform::time::now_millis();
    ctx.db.write(move |c| themes::ensure(c, now)).await
}
