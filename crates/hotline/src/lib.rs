//! Citizen participation (work in progress): 12345-style work orders. This first part holds
//! the rules — order types and their working-day limits, the category tree and routing, and
//! the order lifecycle — in plain Rust; storage, HTTP, letters, ratings and Open311 follow.

pub mod categories;
pub mod orders;
pub mod routes;
pub mod rules;

pub const MIGRATIONS: &[tongban_platform::db::Migration] = &[tongban_platform::migration!(
    "hotline",
    1,
    "0001_work_orders"
)];
