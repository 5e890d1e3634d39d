//! The work-order category tree and routing rules: each (category, district) goes to a
//! department; a category-wide rule applies where no district rule is set.

use std::collections::BTreeMap;

/// The city's districts (无锡市辖区及县级市).
pub const DISTRICTS: [&str; 7] = [
    "梁溪区",
    "锡山区",
    "惠山区",
    "滨湖区",
    "新吴区",
    "江阴市",
    "宜兴市",
];

/// A top-level category: code, name, and its sub-categories (code, name).
pub type Category = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Top-level categories with their sub-categories.
pub const TREE: [Category; 10] = [
    (
        "city",
        "城市管理/市容环境",
        &[
            ("city.sanitation", "环境卫生"),
            ("city.roads", "道路设施"),
            ("city.noise", "噪声扰民"),
        ],
    ),
    (
        "traffic",
        "交通出行",
        &[("traffic.bus", "公交地铁"), ("traffic.parking", "停车管理")],
    ),
    (
        "housing",
        "住房保障",
        &[("housing.rent", "公租房"), ("housing.property", "物业管理")],
    ),
    (
        "education",
        "教育",
        &[
            ("education.enrol", "入学招生"),
            ("education.fees", "教育收费"),
        ],
    ),
    (
        "health",
        "医疗卫生",
        &[
            ("health.hospital", "医院服务"),
            ("health.insurance", "医保报销"),
        ],
    ),
    (
        "social",
        "社会保障",
        &[
            ("social.pension", "养老保险"),
            ("social.unemployment", "失业保险"),
        ],
    ),
    (
        "utility",
        "公用事业/水电气",
        &[
            ("utility.water", "供水"),
            ("utility.gas", "燃气"),
            ("utility.power", "供电"),
        ],
    ),
    (
        "market",
        "市场监管/消费维权",
        &[("market.food", "食品安全"), ("market.consumer", "消费纠纷")],
    ),
    (
        "environment",
        "生态环境",
        &[
            ("environment.air", "大气污染"),
            ("environment.water", "水污染"),
        ],
    ),
    ("other", "其他", &[("other.other", "其他事项")]),
];

/// Whether `code` names a category (top level or sub-category).
pub fn exists(code: &str) -> bool {
    TREE.iter()
        .any(|(c, _, subs)| *c == code || subs.iter().any(|(s, _)| *s == code))
}

/// The top-level category of a code (`city.noise` → `city`).
pub fn top(code: &str) -> &str {
    code.split('.').next().unwrap_or(code)
}

/// Routing rules: (category code, district or `None` for any) → department code.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    rules: BTreeMap<(String, Option<String>), String>,
}

impl Routing {
    pub fn add(&mut self, category: &str, district: Option<&str>, department: &str) {
        self.rules.insert(
            (category.to_owned(), district.map(str::to_owned)),
            department.to_owned(),
        );
    }

    /// The department for an order: the most specific rule wins — sub-category with district,
    /// sub-category, top category with district, top category; `None` when a dispatcher must
    /// decide.
    pub fn route(&self, category: &str, district: &str) -> Option<&str> {
        let top = top(category);
        [
            (category, Some(district)),
            (category, None),
            (top, Some(district)),
            (top, None),
        ]
        .into_iter()
        .find_map(|(c, d)| self.rules.get(&(c.to_owned(), d.map(str::to_owned))))
        .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_has_the_required_categories() {
        for name in [
            "城市管理/市容环境",
            "交通出行",
            "住房保障",
            "教育",
            "医疗卫生",
            "社会保障",
            "公用事业/水电气",
            "市场监管/消费维权",
            "生态环境",
            "其他",
        ] {
            assert!(TREE.iter().any(|(_, n, _)| *n == name), "{name}");
        }
        assert!(exists("city.noise") && exists("city") && !exists("city.nothing"));
    }

    #[test]
    fn the_most_specific_rule_wins() {
        let mut r = Routing::default();
        r.add("utility", None, "wx-zjj");
        r.add("utility.water", None, "wx-sw");
        r.add("utility.water", Some("江阴市"), "jy-sw");
        r.add("city", Some("滨湖区"), "bh-cg");
        assert_eq!(r.route("utility.water", "江阴市"), Some("jy-sw"));
        assert_eq!(r.route("utility.water", "梁溪区"), Some("wx-sw"));
        assert_eq!(r.route("utility.gas", "梁溪区"), Some("wx-zjj"));
        assert_eq!(r.route("city.noise", "滨湖区"), Some("bh-cg"));
        assert_eq!(
            r.route("city.noise", "新吴区"),
            None,
            "no rule: a dispatcher decides"
        );
    }
}
