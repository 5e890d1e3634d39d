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

/// The Chinese name of a built-in category.
pub fn name(code: &str) -> Option<&'static str> {
    TREE.iter().find_map(|(c, n, subs)| {
        if *c == code {
            Some(*n)
        } else {
            subs.iter().find(|(s, _)| *s == code).map(|(_, n)| *n)
        }
    })
}

/// The top-level category of a code (`city.noise` → `city`).
pub fn top(code: &str) -> &str {
    code.split('.').next().unwrap_or(code)
}

/// Words that point to a sub-category, for the operator's suggestion while typing a call.
pub const KEYWORDS: [(&str, &[&str]); 21] = [
    (
        "city.noise",
        &["噪音", "噪声", "扰民", "施工", "广场舞", "吵"],
    ),
    ("city.sanitation", &["垃圾", "卫生", "脏", "异味", "清扫"]),
    (
        "city.roads",
        &["路灯", "井盖", "道路", "坑", "人行道", "破损"],
    ),
    ("traffic.bus", &["公交", "地铁", "线路", "站台", "司机"]),
    ("traffic.parking", &["停车", "违停", "车位", "占道"]),
    ("housing.rent", &["公租房", "廉租", "保障房", "租赁补贴"]),
    (
        "housing.property",
        &["物业", "电梯", "小区", "业委会", "维修基金"],
    ),
    ("education.enrol", &["入学", "招生", "学位", "转学", "划片"]),
    ("education.fees", &["学费", "补课", "乱收费", "培训"]),
    ("health.hospital", &["医院", "看病", "挂号", "医生", "护士"]),
    ("health.insurance", &["医保", "报销", "异地就医"]),
    ("social.pension", &["养老", "退休", "养老金"]),
    ("social.unemployment", &["失业", "失业金"]),
    ("utility.water", &["停水", "水压", "自来水", "水费", "水管"]),
    ("utility.gas", &["燃气", "煤气", "天然气"]),
    ("utility.power", &["停电", "电费", "供电", "电压"]),
    ("market.food", &["食品", "过期", "餐馆", "饭店", "外卖"]),
    (
        "market.consumer",
        &["退款", "商家", "消费", "欺诈", "预付卡", "退费"],
    ),
    ("environment.air", &["油烟", "废气", "空气", "烟尘", "焚烧"]),
    (
        "environment.water",
        &["河道", "排污", "污水", "水体", "黑臭"],
    ),
    ("other.other", &[]),
];

/// Up to three sub-categories whose words occur in `text`, best first.
pub fn suggest(text: &str) -> Vec<&'static str> {
    let mut scored: Vec<(usize, usize, &str)> = KEYWORDS
        .iter()
        .enumerate()
        .map(|(i, (code, words))| (words.iter().filter(|w| text.contains(*w)).count(), i, *code))
        .filter(|(n, _, _)| *n > 0)
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(3).map(|(_, _, c)| c).collect()
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
    fn suggestions_follow_the_words() {
        let mut s = suggest("楼下饭店油烟很大，晚上还很吵");
        s.sort_unstable();
        assert_eq!(s, ["city.noise", "environment.air", "market.food"]);
        assert_eq!(suggest("小区停水三天了，水压也低")[0], "utility.water");
        assert!(suggest("你好").is_empty());
        for (code, _) in KEYWORDS {
            assert!(exists(code), "{code}");
        }
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
