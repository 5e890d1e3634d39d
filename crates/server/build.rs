//! Tells the test suite whether a PostgreSQL test database is configured, so that without
//! one the PostgreSQL variants are reported as ignored (skipped, by name and counted), never
//! as passed.

fn main() {
    println!("cargo:rerun-if-env-changed=TONGBAN_TEST_DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(tongban_pg)");
    if std::env::var("TONGBAN_TEST_DATABASE_URL").is_ok_and(|v| !v.trim().is_empty()) {
        println!("cargo:rustc-cfg=tongban_pg");
    }
}
