//! The paths each listener serves, listed once for the tests that check the listeners keep
//! apart, the OpenAPI documents describe every path, and the authorization matrix covers
//! every internal one.

/// Every path the public listener serves.
pub fn public_paths() -> Vec<&'static str> {
    let mut v = vec!["/", "/api/openapi.json"];
    v.extend(tongban_platform::routes::PUBLIC_PATHS);
    v.extend(tongban_catalog::routes::PUBLIC_PATHS);
    v.extend(tongban_cases::routes::PUBLIC_PATHS);
    v.extend(tongban_hotline::routes::PUBLIC_PATHS);
    v.extend(tongban_exchange::cert_routes::PUBLIC_PATHS);
    v.extend(tongban_portal::search::routes::PUBLIC_PATHS);
    v.extend(tongban_portal::articles::routes::PUBLIC_PATHS);
    v.extend(tongban_portal::disclosure::routes::PUBLIC_PATHS);
    v.extend(tongban_opendata::ckan::PUBLIC_PATHS);
    v.extend(tongban_opendata::dump::PUBLIC_PATHS);
    v.extend(tongban_opendata::files::PUBLIC_PATHS);
    v.extend(tongban_opendata::dcat::PUBLIC_PATHS);
    v.extend(tongban_identity::PUBLIC_PATHS);
    v
}

/// Every path only the internal listener serves.
pub fn internal_paths() -> Vec<&'static str> {
    let mut v = vec!["/metrics", "/api/openapi-internal.json"];
    v.extend(tongban_platform::routes::INTERNAL_PATHS);
    v.extend(tongban_platform::lists::INTERNAL_PATHS);
    v.extend(tongban_cases::routes::INTERNAL_PATHS);
    v.extend(tongban_hotline::routes::INTERNAL_PATHS);
    v.extend(tongban_insight::routes::INTERNAL_PATHS);
    v.extend(tongban_exchange::routes::INTERNAL_PATHS);
    v.extend(tongban_exchange::cert_routes::INTERNAL_PATHS);
    v.extend(tongban_exchange::console::CONSOLE_PATHS);
    v.extend(tongban_portal::search::routes::INTERNAL_PATHS);
    v.extend(tongban_portal::articles::routes::INTERNAL_PATHS);
    v.extend(tongban_portal::disclosure::routes::INTERNAL_PATHS);
    v.extend(tongban_portal::console::CONSOLE_PATHS);
    v.extend(tongban_portal::console_sites::CONSOLE_PATHS);
    v.extend(tongban_opendata::staff::INTERNAL_PATHS);
    v.extend(tongban_identity::staff::INTERNAL_PATHS);
    v.extend(tongban_web::routes::CONSOLE_PATHS);
    v.extend(tongban_catalog::pages::CONSOLE_PATHS);
    v.extend(tongban_cases::pages::CONSOLE_PATHS);
    v.extend(tongban_hotline::pages::CONSOLE_PATHS);
    v.extend(tongban_insight::pages::CONSOLE_PATHS);
    v
}
