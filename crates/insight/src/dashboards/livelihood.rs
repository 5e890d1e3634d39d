//! The 民生服务 board: work orders received and answered, by category, ratings and rectification by department, channels.

use super::*;

pub(super) fn livelihood(c: &mut dyn Conn, q: &Query) -> Result<Parts, DbError> {
    let tr = q.tr;
    let s = q.scope(true);
    let t = totals(c, "insight_order_days", &ORDER_COLS, &s)?;
    let (received, mobile, phone, replied, replied_on_time, _closed, rated, satisfied, bad) =
        (t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8]);
    // Rectifications of the period (by when the bad review asked for them), as they stand now.
    let (rs, re) = (q.start_ms(), q.end_ms());
    let rect: BTreeMap<String, Vec<i64>> =
        tongban_hotline::stats::rectifications_by_department(c, rs, re, q.f.department.as_deref())?
            .into_iter()
            .map(|(d, v)| (d, v.to_vec()))
            .collect();
    let rect_total: Vec<i64> = (0..3).map(|i| rect.values().map(|v| v[i]).sum()).collect();
    let figures = vec![
        figure("received", tr.t("orders_received"), count(received), "件"),
        figure(
            "answered_on_time",
            tr.t("answered_on_time"),
            rate(replied_on_time, replied),
            "%",
        ),
        figure(
            "satisfaction",
            tr.t("satisfaction"),
            rate(satisfied, rated),
            "%",
        ),
        figure("bad_reviews", tr.t("bad_reviews"), count(bad), "件"),
        figure(
            "rectified_on_time",
            tr.t("rectified_on_time"),
            rate(rect_total[0], rect_total[0] + rect_total[1]),
            "%",
        ),
        figure(
            "rectifying",
            tr.t("being_rectified"),
            count(rect_total[2]),
            "件",
        ),
        figure(
            "mobile_share",
            tr.t("from_mobile"),
            rate(mobile, received),
            "%",
        ),
    ];
    let line = time_line(
        c,
        q,
        "insight_order_days",
        &["received", "replied"],
        [
            "orders_received_and_answered_per_day",
            "orders_received_and_answered_per_week",
        ],
        &[tr.t("received"), tr.t("answered")],
    )?;
    let by_cat = grouped(c, "insight_order_days", "category", &["received"], &s)?;
    let cats = top_keys(&by_cat, &|v| v[0], 10);
    let cat_chart = Chart {
        id: "by_category",
        title: tr.t("orders_by_category"),
        kind: Kind::Bar,
        partial: Vec::new(),
        unit: "件".into(),
        label_name: tr.t("category"),
        series: series_of(&cats, &by_cat, &[tr.t("received_2")], &counts),
        labels: cats.iter().map(|k| q.category_name(k)).collect(),
    };
    let by_dept = grouped(
        c,
        "insight_order_days",
        "department_code",
        &["rated", "satisfied", "bad"],
        &s,
    )?;
    let depts = top_keys(&by_dept, &|v| v[0], 15);
    let sat_chart = Chart {
        id: "satisfaction_by_department",
        title: tr.t("reviews_by_department"),
        kind: Kind::Stacked,
        partial: Vec::new(),
        unit: "件".into(),
        label_name: tr.t("department"),
        series: series_of(
            &depts,
            &by_dept,
            &[tr.t("satisfied"), tr.t("dissatisfied")],
            &|v| v.iter().skip(1).map(|x| *x as f64).collect(),
        ),
        labels: depts.iter().map(|d| q.dept(d)).collect(),
    };
    let rd = top_keys(&rect, &|v| v.iter().sum(), 15);
    let rect_chart = Chart {
        id: "rectification_by_department",
        title: tr.t("rectification_of_bad_reviews_by_departme"),
        kind: Kind::Stacked,
        partial: Vec::new(),
        unit: "件".into(),
        label_name: tr.t("department"),
        series: series_of(
            &rd,
            &rect,
            &[tr.t("done_on_time"), tr.t("done_late"), tr.t("open")],
            &counts,
        ),
        labels: rd.iter().map(|d| q.dept(d)).collect(),
    };
    let channel = Chart {
        id: "channel",
        title: tr.t("where_orders_came_from"),
        kind: Kind::Pie,
        partial: Vec::new(),
        unit: "件".into(),
        label_name: tr.t("channel"),
        labels: vec![tr.t("mobile_2"), tr.t("phone"), tr.t("website_and_api")],
        series: vec![Series {
            name: tr.t("received_2"),
            values: vec![
                mobile as f64,
                phone as f64,
                (received - mobile - phone).max(0) as f64,
            ],
        }],
    };
    Ok((
        figures,
        vec![line, cat_chart, sat_chart, rect_chart, channel],
        Vec::new(),
    ))
}
