//! Shared ground for every Tongban room: configuration, the two-engine database with
//! migrations, the error shape, crypto, the working-day calendar, ID validation, identity
//! and sessions, and HTTP helpers.

pub mod accounts;
pub mod audit;
pub mod blobs;
pub mod calendar;
pub mod config;
pub mod crypto;
pub mod ctx;
pub mod db;
pub mod error;
pub mod followers;
pub mod http;
pub mod identity;
pub mod ids;
pub mod images;
pub mod keyring;
pub mod lists;
pub mod mask;
pub mod notify;
pub mod outbox;
pub mod phone_codes;
pub mod ranking;
pub mod region;
pub mod routes;
pub mod sms;
pub mod throttle;
pub mod time;
pub mod totp;
pub mod vault;

pub use ctx::Ctx;
pub use error::ApiError;

/// This room's migrations.
pub const MIGRATIONS: &[db::Migration] = &[
    migration!("platform", 1, "0001_platform"),
    migration!("platform", 2, "0002_login_throttle"),
    migration!("platform", 3, "0003_audit"),
    migration!("platform", 4, "0004_staff_totp"),
    migration!("platform", 5, "0005_encryption"),
    migration!("platform", 6, "0006_audit_checkpoint"),
    migration!("platform", 7, "0007_outbox"),
    migration!("platform", 8, "0008_staff_email"),
    migration!("platform", 9, "0009_data_keys"),
    migration!("platform", 10, "0010_sealed_names"),
    migration!("platform", 11, "0011_follower_quarantine"),
    migration!("platform", 12, "0012_numbers"),
    migration!("platform", 13, "0013_audit_pending"),
    migration!("platform", 14, "0014_department_english"),
    migration!("platform", 15, "0015_region"),
    migration!("platform", 16, "0016_department_retired"),
    migration!("platform", 17, "0017_phone_codes"),
];
