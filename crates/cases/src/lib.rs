//! Applications (办件): the whole story of a case in one room. `rules` holds the state
//! machine and deadline arithmetic, `store` the SQL, `service` the capability functions,
//! `view` the JSON shapes, `routes` the HTTP endpoints for citizens and staff.

pub mod documents;
pub mod error;
pub mod pages;
pub mod routes;
pub mod rules;
pub mod service;
pub mod stats;
pub mod steps;
pub mod store;
pub mod view;

pub const MIGRATIONS: &[tongban_platform::db::Migration] = &[
    tongban_platform::migration!("cases", 1, "0001_cases"),
    tongban_platform::migration!("cases", 2, "0002_concluded_index"),
    tongban_platform::migration!("cases", 3, "0003_channel"),
    tongban_platform::migration!("cases", 4, "0004_concluded_partial"),
    tongban_platform::migration!("cases", 5, "0005_pending_uploads"),
    tongban_platform::migration!("cases", 6, "0006_drafts"),
    tongban_platform::migration!("cases", 7, "0007_supplement_items"),
    tongban_platform::migration!("cases", 8, "0008_certificate_materials"),
];
