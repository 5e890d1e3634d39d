//! The region the platform serves, as data: its administrative divisions (GB/T 2260 codes for
//! provinces, cities and districts or counties; the 12-digit 统计用区划代码 for streets and
//! towns), their boundaries, the departments with their kind, parent, phone and service halls,
//! and what the region calls itself (its name, the code in case and order numbers). Any
//! Chinese city is a folder of files (`tongban region import DIR`, see [`files`]); nothing of
//! one city is compiled in.
//!
//! Readers take the region in force with [`current`] (kept in memory per node, following the
//! database's announced changes like the catalogue's cache) or [`load`] inside a transaction.

pub mod files;
pub mod locate;
pub mod store;

use crate::db::{Db, DbError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

pub use store::load;

/// What a region import announces (caches of the region follow it).
pub const TOPIC: &str = "region";

/// The levels of the administrative divisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Province,
    City,
    /// A district or a county (or a county-level city): 区、县、县级市.
    District,
    /// A street or a town: 街道、镇、乡.
    Street,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Province => "province",
            Level::City => "city",
            Level::District => "district",
            Level::Street => "street",
        }
    }

    /// The level named in English or Chinese.
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.trim() {
            "province" | "省" => Level::Province,
            "city" | "市" | "地级市" => Level::City,
            "district" | "county" | "区" | "县" | "县级市" => Level::District,
            "street" | "town" | "街道" | "镇" | "乡" => Level::Street,
            _ => return None,
        })
    }

    /// Digits of a code at this level: six (GB/T 2260) above streets, twelve for streets.
    pub fn code_len(self) -> usize {
        if self == Level::Street {
            12
        } else {
            6
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Division {
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
    pub level: Level,
    /// 常住人口, where the region gives it (the evaluation's per-capita figures).
    pub population: Option<i64>,
}

/// A department as the region describes it (the platform's `departments`, with more).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepartmentInfo {
    pub code: String,
    pub name: String,
    pub name_en: String,
    /// What kind of body it is (e.g. 政府部门, 公共企事业单位, 热线).
    pub kind: String,
    pub parent: Option<String>,
    /// Its contact phone (咨询电话).
    pub phone: String,
}

/// A service hall (办理地点) of a department.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hall {
    pub department: String,
    pub name: String,
    pub address: String,
    /// Opening hours as people read them (e.g. 工作日 9:00–17:00).
    pub hours: String,
    pub phone: String,
    /// Where to complain (投诉电话).
    pub complaint_phone: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

/// What a region calls itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Meta {
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    /// The six-digit code in case and order numbers (the city's GB/T 2260 code).
    pub code: String,
    /// The hotline's name (e.g. 12345政务服务便民热线 of the city).
    #[serde(default)]
    pub hotline_name: String,
    /// The hotline centre's department code (its dispatchers and supervisors work there).
    #[serde(default)]
    pub hotline_department: String,
    /// The department that publishes the platform's own open datasets (the matters
    /// catalogue, applications, 好差评; the hotline's own figures are the hotline
    /// department's). Empty: the hotline department.
    #[serde(default)]
    pub data_department: String,
    /// What the demo history's dispatcher decides for categories without a routing rule
    /// (top-level category → department). Only the demo's made-up past uses it.
    #[serde(default)]
    pub demo_dispatch: std::collections::BTreeMap<String, String>,
}

/// The region in force, in memory.
#[derive(Debug, Clone, Default)]
pub struct Region {
    pub meta: Meta,
    /// Divisions in force, in the order of the import.
    pub divisions: Vec<Division>,
    /// Names of divisions no longer in force (orders filed there keep them).
    pub retired: Vec<Division>,
    /// Place names beyond the divisions (roads, landmarks) for the insight dictionary.
    pub places: Vec<String>,
    /// The boundaries, parsed (none before they are imported).
    pub locator: Option<Arc<locate::Locator>>,
    by_code: HashMap<String, usize>,
}

impl Region {
    pub fn new(
        meta: Meta,
        divisions: Vec<Division>,
        retired: Vec<Division>,
        places: Vec<String>,
    ) -> Region {
        let by_code = divisions
            .iter()
            .enumerate()
            .map(|(i, d)| (d.code.clone(), i))
            .collect();
        Region {
            meta,
            divisions,
            retired,
            places,
            locator: None,
            by_code,
        }
    }

    pub fn division(&self, code: &str) -> Option<&Division> {
        self.by_code.get(code).map(|i| &self.divisions[*i])
    }

    /// The districts and counties in force, in the import's order.
    pub fn districts(&self) -> impl Iterator<Item = &Division> {
        self.divisions.iter().filter(|d| d.level == Level::District)
    }

    /// Names of the districts and counties in force.
    pub fn district_names(&self) -> Vec<String> {
        self.districts().map(|d| d.name.clone()).collect()
    }

    /// The district or county in force named `name` (or coded `name`).
    pub fn district(&self, name: &str) -> Option<&Division> {
        self.districts().find(|d| d.name == name || d.code == name)
    }

    /// The streets and towns in force of district `code`.
    pub fn streets_of<'a>(&'a self, code: &'a str) -> impl Iterator<Item = &'a Division> {
        self.divisions
            .iter()
            .filter(move |d| d.level == Level::Street && d.parent.as_deref() == Some(code))
    }

    /// 常住人口 of the region: its city (or province) as given, else the sum of the districts
    /// that give one; `None` when the files give none.
    pub fn population(&self) -> Option<i64> {
        self.divisions
            .iter()
            .filter(|d| d.level <= Level::City)
            .filter_map(|d| d.population)
            .max()
            .or_else(|| {
                let given: Vec<i64> = self.districts().filter_map(|d| d.population).collect();
                (!given.is_empty()).then(|| given.iter().sum())
            })
    }

    /// The six-digit code in case and order numbers: the configured `region_code` when one is
    /// set, else the region's own ("000000" before a region is imported).
    pub fn number_code<'a>(&'a self, config: &'a crate::config::Config) -> &'a str {
        match &config.region_code {
            Some(code) => code,
            None if self.meta.code.is_empty() => "000000",
            None => &self.meta.code,
        }
    }

    /// Every place name the region knows: divisions in force and retired, then the extra
    /// places.
    pub fn place_names(&self) -> Vec<String> {
        self.divisions
            .iter()
            .chain(&self.retired)
            .map(|d| d.name.clone())
            .chain(self.places.iter().cloned())
            .collect()
    }
}

/// The region in force: from memory while the database has announced no change since it was
/// read, else read again.
pub async fn current(db: &Db) -> Result<Arc<Region>, DbError> {
    crate::db::snapshot::current(db, load).await
}
