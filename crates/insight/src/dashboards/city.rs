//! The 城市管理 board: districts by category (heat map and stacks), the largest categories week by week, on time by district.

use super::*;

pub(super) fn city(c: &mut dyn Conn, q: &Query) -> Result<Parts, DbError> {
    let tr = q.tr;
    let s = q.scope(true);
    let mut cells: BTreeMap<(String, String), i64> = BTreeMap::new();
    for r in c.query(
        &format!(
            "SELECT district, category, {} FROM insight_order_days WHERE {} GROUP BY district, category",
            sums(&["received"]),
            s.sql
        ),
        &s.params,
    )? {
        cells.insert((r.get_str("district")?, r.get_str("category")?), r.get_i64("received")?);
    }
    let by_district = grouped(
        c,
        "insight_order_days",
        "district",
        &["received", "replied", "replied_on_time"],
        &s,
    )?;
    let received: i64 = by_district.values().map(|v| v[0]).sum();
    let districts: Vec<String> = q
        .districts
        .iter()
        .filter(|d| q.f.district.as_deref().is_none_or(|x| x == d.as_str()))
        .cloned()
        .collect();
    let cat_total = |k: &str| {
        cells
            .iter()
            .filter(|((_, c), _)| c == k)
            .map(|(_, n)| *n)
            .sum::<i64>()
    };
    let mut cats: Vec<&str> = q.tree.tops().map(|t| t.code.as_str()).collect();
    cats.sort_by_key(|k| std::cmp::Reverse(cat_total(k)));
    let busiest = by_district
        .iter()
        .max_by_key(|(_, v)| v[0])
        .map(|(k, _)| k.clone());
    let top_cat = cats
        .first()
        .filter(|k| cat_total(k) > 0)
        .map(|k| q.category_name(k));
    let (replied, on_time): (i64, i64) = by_district
        .values()
        .map(|v| (v[1], v[2]))
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let figures = vec![
        figure("received", tr.t("orders"), count(received), "件"),
        figure(
            "per_day",
            tr.t("per_day"),
            avg(received, (q.to - q.from).num_days() + 1),
            "件",
        ),
        figure(
            "answered_on_time",
            tr.t("answered_on_time"),
            rate(on_time, replied),
            "%",
        ),
    ];
    let mut notes = Vec::new();
    if let Some(b) = busiest {
        notes.push(format!("{}{b}", tr.t("district_with_most_orders")));
    }
    if let Some(t) = top_cat {
        notes.push(format!("{}{t}", tr.t("most_frequent_category")));
    }
    let cat_names: Vec<String> = cats.iter().map(|k| q.category_name(k)).collect();
    let heat = Chart {
        id: "heat",
        title: tr.t("orders_by_district_and_category_heat_map"),
        kind: Kind::Heat,
        partial: Vec::new(),
        unit: "件".into(),
        label_name: tr.t("district"),
        labels: cat_names.clone(),
        series: districts
            .iter()
            .map(|d| Series {
                name: d.clone(),
                values: cats
                    .iter()
                    .map(|k| *cells.get(&(d.clone(), k.to_string())).unwrap_or(&0) as f64)
                    .collect(),
            })
            .collect(),
    };
    // The five largest categories stacked per district, the rest as one layer.
    let mut layers: Vec<Series> = cats
        .iter()
        .take(5)
        .map(|k| Series {
            name: q.category_name(k),
            values: districts
                .iter()
                .map(|d| *cells.get(&(d.clone(), k.to_string())).unwrap_or(&0) as f64)
                .collect(),
        })
        .collect();
    layers.push(Series {
        name: tr.t("other"),
        values: districts
            .iter()
            .map(|d| {
                cats.iter()
                    .skip(5)
                    .map(|k| *cells.get(&(d.clone(), k.to_string())).unwrap_or(&0) as f64)
                    .sum()
            })
            .collect(),
    });
    let stacked = Chart {
        id: "by_district",
        title: tr.t("orders_per_district_by_category"),
        kind: Kind::Stacked,
        partial: Vec::new(),
        unit: "件".into(),
        label_name: tr.t("district"),
        labels: districts.clone(),
        series: layers,
    };
    // Weekly volumes of the four largest categories (weeks begin on Monday).
    let mut daily: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let top4: Vec<&str> = cats.iter().take(4).copied().collect();
    for r in c.query(
        &format!(
            "SELECT day, category, {} FROM insight_order_days WHERE {} GROUP BY day, category",
            sums(&["received"]),
            s.sql
        ),
        &s.params,
    )? {
        let category = r.get_str("category")?;
        let Some(i) = top4.iter().position(|k| *k == category) else {
            continue;
        };
        daily.entry(r.get_str("day")?).or_insert_with(|| vec![0; 4])[i] += r.get_i64("received")?;
    }
    let (weeks, weekly) = weekly(q.from, q.to, daily);
    let names: Vec<String> = top4.iter().map(|k| q.category_name(k)).collect();
    let line = Chart {
        id: "weekly",
        title: tr.t("weekly_orders_of_the_largest_categories"),
        kind: Kind::Line,
        unit: "件".into(),
        label_name: tr.t("week_of"),
        series: series_of(&weeks, &weekly, &names, &counts),
        partial: partial_periods(&weeks, Period::Week, q),
        labels: weeks,
    };
    let rate_chart = Chart {
        id: "on_time_by_district",
        title: tr.t("answered_on_time_by_district"),
        kind: Kind::Bar,
        partial: Vec::new(),
        unit: "%".into(),
        label_name: tr.t("district"),
        series: series_of(&districts, &by_district, &[tr.t("on_time")], &|v| match v {
            [_, r, o] => vec![rate(*o, *r).unwrap_or(0.0)],
            _ => vec![],
        }),
        labels: districts,
    };
    Ok((figures, vec![heat, stacked, line, rate_chart], notes))
}
