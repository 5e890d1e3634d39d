//! The region's tables: save an imported folder (divisions left out are retired, not
//! deleted), read the region in force, and the halls of a department.

use super::files::RegionFiles;
use super::{Division, Hall, Level, Meta, Region, TOPIC};
use crate::db::{Conn, DbError, Row};
use crate::params;

/// Check a GeoJSON Polygon or MultiPolygon: rings of at least four [lon, lat] positions in
/// range, each closed.
pub fn check_geometry(g: &serde_json::Value) -> Result<(), String> {
    let polygons: Vec<&serde_json::Value> = match g["type"].as_str() {
        Some("Polygon") => vec![&g["coordinates"]],
        Some("MultiPolygon") => g["coordinates"]
            .as_array()
            .ok_or("MultiPolygon coordinates must be an array")?
            .iter()
            .collect(),
        other => {
            return Err(format!(
                "geometry must be a Polygon or a MultiPolygon, got {other:?}"
            ))
        }
    };
    for p in polygons {
        let rings = p.as_array().ok_or("a polygon is an array of rings")?;
        if rings.is_empty() {
            return Err("a polygon needs its outer ring".into());
        }
        for ring in rings {
            let pts = ring.as_array().ok_or("a ring is an array of positions")?;
            if pts.len() < 4 {
                return Err("a ring needs at least four positions".into());
            }
            for pt in pts {
                let (Some(lon), Some(lat)) = (pt[0].as_f64(), pt[1].as_f64()) else {
                    return Err("a position is [longitude, latitude]".into());
                };
                if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
                    return Err(format!("position [{lon}, {lat}] is out of range"));
                }
            }
            if pts.first() != pts.last() {
                return Err("a ring must end where it begins".into());
            }
        }
    }
    Ok(())
}

/// Save a checked region folder in the caller's transaction.
pub fn save(c: &mut dyn Conn, r: &RegionFiles, now: i64) -> Result<(), DbError> {
    c.announce(TOPIC)?;
    // Matters are cached with their department's name.
    c.announce("departments")?;
    let places = r.places.join("\n");
    let dispatch =
        serde_json::to_string(&r.meta.demo_dispatch).map_err(|e| DbError::Decode(e.to_string()))?;
    for (name, value) in [
        ("name", r.meta.name.as_str()),
        ("name_en", r.meta.name_en.as_str()),
        ("code", r.meta.code.as_str()),
        ("hotline_name", r.meta.hotline_name.as_str()),
        ("hotline_department", r.meta.hotline_department.as_str()),
        ("data_department", r.meta.data_department.as_str()),
        ("demo_dispatch", dispatch.as_str()),
        ("places", places.as_str()),
    ] {
        c.execute(
            "INSERT INTO region_meta (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            params![name, value],
        )?;
    }
    // Retire everything, then bring back what the folder lists.
    c.execute(
        "UPDATE divisions SET retired_at = $1 WHERE retired_at IS NULL",
        params![now],
    )?;
    for (i, d) in r.divisions.iter().enumerate() {
        c.execute(
            "INSERT INTO divisions (code, name, parent, level, population, position, retired_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, parent = excluded.parent,
               level = excluded.level, population = excluded.population,
               position = excluded.position, retired_at = NULL, updated_at = excluded.updated_at",
            params![
                d.code.as_str(),
                d.name.as_str(),
                d.parent.as_deref(),
                d.level.as_str(),
                d.population,
                i as i64,
                now
            ],
        )?;
    }
    c.execute("DELETE FROM division_boundaries", &[])?;
    for (code, g) in &r.boundaries {
        c.execute(
            "INSERT INTO division_boundaries (code, geometry) VALUES ($1, $2)",
            params![code.as_str(), g.as_str()],
        )?;
    }
    c.execute(
        "UPDATE departments SET retired_at = $1 WHERE retired_at IS NULL",
        params![now],
    )?;
    for d in &r.departments {
        c.execute(
            "INSERT INTO departments (code, name, name_en, kind, parent, phone) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, name_en = excluded.name_en,
               kind = excluded.kind, parent = excluded.parent, phone = excluded.phone,
               retired_at = NULL",
            params![
                d.code.as_str(),
                d.name.as_str(),
                d.name_en.as_str(),
                d.kind.as_str(),
                d.parent.as_deref(),
                d.phone.as_str()
            ],
        )?;
        c.execute(
            "DELETE FROM halls WHERE department_code = $1",
            params![d.code.as_str()],
        )?;
    }
    for (i, h) in r.halls.iter().enumerate() {
        c.execute(
            "INSERT INTO halls (department_code, position, name, address, hours, phone, complaint_phone, lon, lat)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            params![
                h.department.as_str(),
                i as i64,
                h.name.as_str(),
                h.address.as_str(),
                h.hours.as_str(),
                h.phone.as_str(),
                h.complaint_phone.as_str(),
                h.lon,
                h.lat
            ],
        )?;
    }
    Ok(())
}

fn division_from(r: &Row) -> Result<Division, DbError> {
    let level = r.get_str("level")?;
    Ok(Division {
        code: r.get_str("code")?,
        name: r.get_str("name")?,
        parent: r.get_opt_str("parent")?,
        level: Level::parse(&level)
            .ok_or_else(|| DbError::Decode(format!("division level {level:?}")))?,
        population: r.get_opt_i64("population")?,
    })
}

/// The region in force (empty before the first import).
pub fn load(c: &mut dyn Conn) -> Result<Region, DbError> {
    let mut meta = Meta::default();
    let mut places = Vec::new();
    for r in c.query("SELECT name, value FROM region_meta", &[])? {
        let v = r.get_str("value")?;
        match r.get_str("name")?.as_str() {
            "name" => meta.name = v,
            "name_en" => meta.name_en = v,
            "code" => meta.code = v,
            "hotline_name" => meta.hotline_name = v,
            "hotline_department" => meta.hotline_department = v,
            "data_department" => meta.data_department = v,
            "demo_dispatch" => meta.demo_dispatch = serde_json::from_str(&v).unwrap_or_default(),
            "places" => places = v.lines().map(str::to_owned).collect(),
            _ => {}
        }
    }
    let mut divisions = Vec::new();
    let mut retired = Vec::new();
    for r in c.query(
        "SELECT code, name, parent, level, population, retired_at FROM divisions ORDER BY position, code",
        &[],
    )? {
        let d = division_from(&r)?;
        if r.get_opt_i64("retired_at")?.is_some() {
            retired.push(d);
        } else {
            divisions.push(d);
        }
    }
    let mut region = Region::new(meta, divisions, retired, places);
    let shapes = boundaries(c)?;
    if !shapes.is_empty() {
        region.locator = Some(std::sync::Arc::new(super::locate::Locator::new(
            &region, &shapes,
        )));
    }
    Ok(region)
}

/// The service halls of a department, in the order of the import.
pub fn halls_of(c: &mut dyn Conn, department: &str) -> Result<Vec<Hall>, DbError> {
    c.query(
        "SELECT department_code, name, address, hours, phone, complaint_phone, lon, lat
         FROM halls WHERE department_code = $1 ORDER BY position",
        params![department],
    )?
    .iter()
    .map(|r| {
        Ok(Hall {
            department: r.get_str("department_code")?,
            name: r.get_str("name")?,
            address: r.get_str("address")?,
            hours: r.get_str("hours")?,
            phone: r.get_str("phone")?,
            complaint_phone: r.get_str("complaint_phone")?,
            lon: r.get_opt_f64("lon")?,
            lat: r.get_opt_f64("lat")?,
        })
    })
    .collect()
}

/// A department's contact phone as the region gives it ("" where none).
pub fn department_phone(c: &mut dyn Conn, code: &str) -> Result<String, DbError> {
    Ok(c.query_opt(
        "SELECT phone FROM departments WHERE code = $1",
        params![code],
    )?
    .map(|r| r.get_str("phone"))
    .transpose()?
    .unwrap_or_default())
}

/// The boundaries kept: (division code, GeoJSON geometry).
pub fn boundaries(c: &mut dyn Conn) -> Result<Vec<(String, String)>, DbError> {
    c.query(
        "SELECT code, geometry FROM division_boundaries ORDER BY code",
        &[],
    )?
    .iter()
    .map(|r| Ok((r.get_str("code")?, r.get_str("geometry")?)))
    .collect()
}

/// The hotline's name as the region gives it ("12345" before a region is imported).
pub fn hotline_name(c: &mut dyn Conn) -> Result<String, DbError> {
    Ok(c.query_opt(
        "SELECT value FROM region_meta WHERE name = 'hotline_name'",
        &[],
    )?
    .map(|r| r.get_str("value"))
    .transpose()?
    .filter(|v| !v.is_empty())
    .unwrap_or_else(|| "12345".to_owned()))
}

/// The hotline's number: its department's phone ("12345", the national number, when the
/// region names none).
pub fn hotline_phone(c: &mut dyn Conn) -> Result<String, DbError> {
    Ok(c.query_opt(
        "SELECT d.phone FROM region_meta m JOIN departments d ON d.code = m.value
         WHERE m.name = 'hotline_department'",
        &[],
    )?
    .map(|r| r.get_str("phone"))
    .transpose()?
    .filter(|v| !v.is_empty())
    .unwrap_or_else(|| "12345".to_owned()))
}

/// Whether a region has been imported (any division in force).
pub fn loaded(c: &mut dyn Conn) -> Result<bool, DbError> {
    Ok(c.query_one(
        "SELECT COUNT(*) AS n FROM divisions WHERE retired_at IS NULL",
        &[],
    )?
    .get_i64("n")?
        > 0)
}

/// Names of the districts and counties in force, in the order of the import.
pub fn district_names(c: &mut dyn Conn) -> Result<Vec<String>, DbError> {
    c.query(
        "SELECT name FROM divisions WHERE level = 'district' AND retired_at IS NULL ORDER BY position, code",
        &[],
    )?
    .iter()
    .map(|r| r.get_str("name"))
    .collect()
}
