//! Where a point is: the district and the street or town whose boundary holds it
//! (point-in-polygon with the `geo` crate, each boundary's bounding box tried first), and the
//! divisions an address names when there is no point.

use super::{Division, Level, Region};
use geo::{BoundingRect, Contains, Coord, LineString, MultiPolygon, Point, Polygon, Rect};

/// One division's boundary, ready to test points against.
struct Area {
    code: String,
    level: Level,
    bbox: Rect<f64>,
    shape: MultiPolygon<f64>,
}

/// The boundaries of a region, parsed once.
#[derive(Default)]
pub struct Locator {
    areas: Vec<Area>,
}

impl std::fmt::Debug for Locator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Locator({} areas)", self.areas.len())
    }
}

fn ring(v: &serde_json::Value) -> Option<LineString<f64>> {
    let pts = v.as_array()?;
    let coords: Option<Vec<Coord<f64>>> = pts
        .iter()
        .map(|p| {
            Some(Coord {
                x: p.get(0)?.as_f64()?,
                y: p.get(1)?.as_f64()?,
            })
        })
        .collect();
    Some(LineString::new(coords?))
}

fn polygon(v: &serde_json::Value) -> Option<Polygon<f64>> {
    let rings = v.as_array()?;
    let mut it = rings.iter();
    let outer = ring(it.next()?)?;
    let holes: Option<Vec<LineString<f64>>> = it.map(ring).collect();
    Some(Polygon::new(outer, holes?))
}

/// A GeoJSON Polygon or MultiPolygon as a multipolygon.
pub fn shape(g: &serde_json::Value) -> Option<MultiPolygon<f64>> {
    match g["type"].as_str()? {
        "Polygon" => Some(MultiPolygon::new(vec![polygon(&g["coordinates"])?])),
        "MultiPolygon" => {
            let ps: Option<Vec<Polygon<f64>>> =
                g["coordinates"].as_array()?.iter().map(polygon).collect();
            Some(MultiPolygon::new(ps?))
        }
        _ => None,
    }
}

impl Locator {
    /// Build from (division code, GeoJSON geometry text) pairs of divisions in force;
    /// geometries that cannot be read are left out (they were checked on import).
    pub fn new(region: &Region, boundaries: &[(String, String)]) -> Locator {
        let areas = boundaries
            .iter()
            .filter_map(|(code, text)| {
                let d = region.division(code)?;
                let g: serde_json::Value = serde_json::from_str(text).ok()?;
                let shape = shape(&g)?;
                let bbox = shape.bounding_rect()?;
                Some(Area {
                    code: code.clone(),
                    level: d.level,
                    bbox,
                    shape,
                })
            })
            .collect();
        Locator { areas }
    }

    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// The divisions whose boundary holds (`lon`, `lat`), most specific first.
    pub fn at(&self, lon: f64, lat: f64) -> Vec<(&str, Level)> {
        let p = Point::new(lon, lat);
        let mut hits: Vec<(&str, Level)> = self
            .areas
            .iter()
            .filter(|a| a.bbox.contains(&p) && a.shape.contains(&p))
            .map(|a| (a.code.as_str(), a.level))
            .collect();
        hits.sort_by_key(|h| std::cmp::Reverse(h.1));
        hits
    }
}

/// Where an order is, as the region knows it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Place {
    pub district: Option<Division>,
    pub street: Option<Division>,
}

impl Region {
    /// The district and street holding a point; `None` when the region has no boundaries.
    /// An empty place means the point is outside them all.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<Place> {
        let loc = self.locator.as_ref().filter(|l| !l.is_empty())?;
        let mut place = Place::default();
        for (code, level) in loc.at(lon, lat) {
            let Some(d) = self.division(code) else {
                continue;
            };
            match level {
                Level::Street if place.street.is_none() => place.street = Some(d.clone()),
                Level::District if place.district.is_none() => place.district = Some(d.clone()),
                _ => {}
            }
        }
        if place.district.is_none() {
            // A street's boundary without its district's: the district is its parent.
            place.district = place
                .street
                .as_ref()
                .and_then(|s| s.parent.as_deref())
                .and_then(|p| self.division(p))
                .filter(|d| d.level == Level::District)
                .cloned();
        }
        Some(place)
    }

    /// The district and street an address names (the longest names first, so 东湖街道
    /// is not taken for 东湖区); a street fills its district.
    pub fn named_in(&self, address: &str) -> Place {
        let mut found = Place::default();
        let mut by_length: Vec<&Division> = self
            .divisions
            .iter()
            .filter(|d| matches!(d.level, Level::District | Level::Street))
            .collect();
        by_length.sort_by_key(|d| std::cmp::Reverse(d.name.chars().count()));
        for d in by_length {
            if !address.contains(&d.name) {
                continue;
            }
            match d.level {
                Level::Street if found.street.is_none() => found.street = Some(d.clone()),
                Level::District if found.district.is_none() => found.district = Some(d.clone()),
                _ => {}
            }
        }
        if found.district.is_none() {
            found.district = found
                .street
                .as_ref()
                .and_then(|s| s.parent.as_deref())
                .and_then(|p| self.division(p))
                .cloned();
        }
        found
    }
}
