//! Citizen participation: 12345-style work orders (filing, routing, the staff loop with
//! working-day limits, supervision and escalation), public letters, 好差评 ratings with
//! rectification, and Open311 GeoReport v2 — rules in plain Rust, storage and HTTP beside.

pub use error::HotlineError;

pub mod categories;
pub mod console_pages;
pub mod error;
pub mod import;
pub mod letters;
pub mod open311;
pub mod orders;
pub mod pages;
pub mod rating_service;
pub mod ratings;
pub mod routes;
pub mod rules;
pub mod settings;
pub mod staff;
pub mod stats;
pub mod sweep;

pub const MIGRATIONS: &[tongban_platform::db::Migration] = &[
    tongban_platform::migration!("hotline", 1, "0001_work_orders"),
    tongban_platform::migration!("hotline", 2, "0002_participation"),
    tongban_platform::migration!("hotline", 3, "0003_event_time_indexes"),
    tongban_platform::migration!("hotline", 4, "0004_public_lookup"),
    tongban_platform::migration!("hotline", 5, "0005_queue_indexes"),
    tongban_platform::migration!("hotline", 6, "0006_categories"),
    tongban_platform::migration!("hotline", 7, "0007_media_url"),
    tongban_platform::migration!("hotline", 8, "0008_partner_clients"),
];

/// This room's sealed columns (key rotation re-seals them; values in clear are sealed at
/// start-up).
pub const SEALED: &[tongban_platform::keyring::Sealed] = &[
    tongban_platform::keyring::Sealed {
        table: "work_orders",
        column: "title",
    },
    tongban_platform::keyring::Sealed {
        table: "work_orders",
        column: "street",
    },
    tongban_platform::keyring::Sealed {
        table: "work_orders",
        column: "content",
    },
    tongban_platform::keyring::Sealed {
        table: "work_orders",
        column: "phone",
    },
    tongban_platform::keyring::Sealed {
        table: "work_orders",
        column: "email",
    },
    tongban_platform::keyring::Sealed {
        table: "work_orders",
        column: "reply",
    },
    tongban_platform::keyring::Sealed {
        table: "work_order_events",
        column: "note",
    },
    tongban_platform::keyring::Sealed {
        table: "ratings",
        column: "comment",
    },
    tongban_platform::keyring::Sealed {
        table: "ratings",
        column: "appeal",
    },
    tongban_platform::keyring::Sealed {
        table: "rectifications",
        column: "callback_note",
    },
    tongban_platform::keyring::Sealed {
        table: "rectifications",
        column: "outcome",
    },
];
