//! Groups (CKAN's groups, our themes 主题): the city's list, from `data/themes.json` until an
//! operator changes it.

use serde_json::{json, Value};
use tongban_platform::db::{Conn, DbError, Row};
use tongban_platform::params;

#[derive(serde::Deserialize)]
struct Theme {
    name: String,
    title: String,
    title_en: String,
}

/// Put the standard themes in when there are none (on start, once).
pub fn ensure(c: &mut dyn Conn, now: i64) -> Result<usize, DbError> {
    if c.query_opt("SELECT name FROM od_groups LIMIT 1", &[])?
        .is_some()
    {
        return Ok(0);
    }
    let list: Vec<Theme> =
        serde_json::from_str(include_str!("../data/themes.json")).unwrap_or_default();
    for (i, t) in list.iter().enumerate() {
        c.execute(
            "INSERT INTO od_groups (name, title, title_en, description, position, created_at)
             VALUES ($1, $2, $3, '', $4, $5) ON CONFLICT (name) DO NOTHING",
            params![
                t.name.as_str(),
                t.title.as_str(),
                t.title_en.as_str(),
                i as i64,
                now
            ],
        )?;
    }
    Ok(list.len())
}

/// A group as CKAN shows it inside a package.
pub fn group_brief(r: &Row) -> Result<Value, DbError> {
    let name = r.get_str("name")?;
    Ok(json!({
        "id": name, "name": name, "title": r.get_str("title")?, "title_en": r.get_str("title_en")?,
        "display_name": r.get_str("title")?, "description": r.get_str("description")?,
        "image_display_url": "",
    }))
}

/// Every group in the city's order, with how many published datasets each holds.
pub fn all(c: &mut dyn Conn) -> Result<Vec<(Value, i64)>, DbError> {
    c.query(
        "SELECT g.name, g.title, g.title_en, g.description,
                (SELECT COUNT(*) FROM od_dataset_groups dg JOIN od_datasets d ON d.id = dg.dataset_id
                 WHERE dg.group_name = g.name AND d.state = 'active') AS n
         FROM od_groups g ORDER BY g.position, g.name",
        &[],
    )?
    .iter()
    .map(|r| Ok((group_brief(r)?, r.get_i64("n")?)))
    .collect()
}
