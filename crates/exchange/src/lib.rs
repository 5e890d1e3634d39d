//! Data sharing between departments (数据共享交换): a department registers the services it
//! provides (with request and response schemas and a sharing class), consumers ask for access
//! for a purpose, the provider grants it per consumer, purpose and validity, and every call is
//! signed with SM2, verified on receipt, answered signed, and written to an SM3 hash-chained
//! message log. Built-in services answer from base registries the departments load.

pub mod access;
pub mod call;
pub mod canonical;
pub mod cert_pages;
pub mod cert_routes;
pub mod certificates;
pub mod checks;
pub mod console;
pub mod demo;
pub mod error;
pub mod grants;
pub mod log;
pub mod model;
pub mod peers;
pub mod registry;
pub mod remote;
pub mod routes;
pub mod schema;
pub mod stats;
pub mod store;

pub use error::ExchangeError;

pub const MIGRATIONS: &[tongban_platform::db::Migration] = &[
    tongban_platform::migration!("exchange", 1, "0001_exchange"),
    tongban_platform::migration!("exchange", 2, "0002_certificates"),
    tongban_platform::migration!("exchange", 3, "0003_peers"),
    tongban_platform::migration!("exchange", 4, "0004_certificate_checks"),
];

/// This room's sealed columns (key rotation re-seals them): registry records and
/// certificates' contents.
pub const SEALED: &[tongban_platform::keyring::Sealed] = &[
    tongban_platform::keyring::Sealed {
        table: "exchange_records",
        column: "record",
    },
    tongban_platform::keyring::Sealed {
        table: "certificates",
        column: "content",
    },
];
