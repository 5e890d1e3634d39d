//! What the evaluation is measured against (populations, weights) and each district's
//! e-participation in a month.

use super::{pct, Period};
use serde::Serialize;
use tongban_platform::db::{Conn, DbError};
use tongban_platform::params;
use tongban_platform::region::Region;

/// One district's month: its work orders, per 10,000 residents where the region gives its
/// population, answered on time and satisfaction.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DistrictFigures {
    pub name: String,
    pub population: Option<i64>,
    pub received: i64,
    pub per_10k: Option<f64>,
    pub answered_on_time: Option<f64>,
    pub satisfaction: Option<f64>,
}

/// The districts' figures of a period from the daily figures; `districts` are the region's
/// (name, population).
pub(super) fn by_district(
    c: &mut dyn Conn,
    p: &Period,
    districts: &[(String, Option<i64>)],
) -> Result<Vec<DistrictFigures>, DbError> {
    let mut got = std::collections::HashMap::new();
    for r in c.query(
        "SELECT district, CAST(SUM(received) AS BIGINT) AS received,
                CAST(SUM(replied) AS BIGINT) AS replied,
                CAST(SUM(replied_on_time) AS BIGINT) AS on_time,
                CAST(SUM(rated) AS BIGINT) AS rated,
                CAST(SUM(satisfied) AS BIGINT) AS satisfied
         FROM insight_order_days WHERE day >= $1 AND day < $2 GROUP BY district",
        params![p.start_day.as_str(), p.end_day.as_str()],
    )? {
        got.insert(
            r.get_str("district")?,
            [
                r.get_i64("received")?,
                r.get_i64("replied")?,
                r.get_i64("on_time")?,
                r.get_i64("rated")?,
                r.get_i64("satisfied")?,
            ],
        );
    }
    Ok(districts
        .iter()
        .map(|(name, population)| {
            let [received, replied, on_time, rated, satisfied] =
                got.get(name).copied().unwrap_or_default();
            DistrictFigures {
                name: name.clone(),
                population: *population,
                received,
                per_10k: population
                    .filter(|p| *p > 0)
                    .map(|p| (received as f64 * 10_000.0 / p as f64 * 100.0).round() / 100.0),
                answered_on_time: pct(on_time, replied),
                satisfaction: pct(satisfied, rated),
            }
        })
        .collect())
}

/// What a report is measured against: the resident population (the configured one, else the
/// region's), each district's, and the dimensions' weights.
pub struct Basis {
    pub population: Option<i64>,
    pub districts: Vec<(String, Option<i64>)>,
    pub weights: Vec<f64>,
}

impl Basis {
    pub fn of(config: &tongban_platform::config::Config, region: &Region) -> Basis {
        Basis {
            population: config.population.or(region.population()),
            districts: region
                .districts()
                .map(|d| (d.name.clone(), d.population))
                .collect(),
            weights: config.evaluation_weights.clone(),
        }
    }
}
