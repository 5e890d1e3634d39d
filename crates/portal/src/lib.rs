//! The website group (网站群) and the one search over everything the platform publishes.
//! Built so far: the search (`search`, and its synonym list on the console: `console`), and
//! `robots.txt` and `sitemap.xml` (`machines`).

pub mod console;
pub mod machines;
pub mod search;

pub const MIGRATIONS: &[tongban_platform::db::Migration] = &[
    tongban_platform::migration!("portal", 1, "0001_search"),
    tongban_platform::migration!("portal", 2, "0002_synonyms"),
];
