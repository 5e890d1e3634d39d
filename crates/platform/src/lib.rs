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
pub mod http;
pub mod identity;
pub mod ids;
pub mod mask;
pub mod routes;
pub mod throttle;
pub mod time;
pub mod totp;
pub mod vault;

pub use ctx::Ctx;
pub use error::ApiError;

/// This room's migrations.
pub const MIGRATIONS: &[db::Migration] = &[
    db::Migration {
        component: "platform",
        version: 1,
        name: "platform",
        sqlite: include_str!("../migrations/sqlite/0001_platform.sql"),
        postgres: include_str!("../migrations/postgres/0001_platform.sql"),
    },
    db::Migration {
        component: "platform",
        version: 2,
        name: "login_throttle",
        sqlite: include_str!("../migrations/sqlite/0002_login_throttle.sql"),
        postgres: include_str!("../migrations/postgres/0002_login_throttle.sql"),
    },
    db::Migration {
        component: "platform",
        version: 3,
        name: "audit",
        sqlite: include_str!("../migrations/sqlite/0003_audit.sql"),
        postgres: include_str!("../migrations/postgres/0003_audit.sql"),
    },
    db::Migration {
        component: "platform",
        version: 4,
        name: "staff_totp",
        sqlite: include_str!("../migrations/sqlite/0004_staff_totp.sql"),
        postgres: include_str!("../migrations/postgres/0004_staff_totp.sql"),
    },
    db::Migration {
        component: "platform",
        version: 5,
        name: "encryption",
        sqlite: include_str!("../migrations/sqlite/0005_encryption.sql"),
        postgres: include_str!("../migrations/postgres/0005_encryption.sql"),
    },
];
