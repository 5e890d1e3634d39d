//! The service catalogue (事项清单): matters with their guides and application form schemas,
//! their storage, the XLSX/JSON exchange staff use, and the public HTTP routes.

pub mod admin;
pub mod cache;
pub mod error;
pub mod exchange;
pub mod form;
pub mod model;
pub mod pages;
pub mod routes;
pub mod samples;
pub mod stats;
pub mod store;
pub mod xlsx_guard;

pub use error::CatalogError;
pub use model::{Field, Material, Matter};

pub const MIGRATIONS: &[tongban_platform::db::Migration] = &[
    tongban_platform::migration!("catalog", 1, "0001_matters"),
    tongban_platform::migration!("catalog", 2, "0002_accept_days"),
    tongban_platform::migration!("catalog", 3, "0003_english"),
    tongban_platform::migration!("catalog", 4, "0004_samples"),
];

pub use cache::{matters, Matters};

/// Read a matter by code (for other rooms), from the database itself; [`matters`] reads
/// through the in-memory cache.
pub fn get_matter(
    c: &mut dyn tongban_platform::db::Conn,
    code: &str,
) -> Result<Option<Matter>, tongban_platform::db::DbError> {
    store::get(c, code)
}
