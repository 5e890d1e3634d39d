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
        figure(
            "received",
            tr.s("诉求受理量", "Orders received"),
            count(received),
            "件",
        ),
        figure(
            "answered_on_time",
            tr.s("按时答复率", "Answered on time"),
            rate(replied_on_time, replied),
            "%",
        ),
        figure(
            "satisfaction",
            tr.s("满意率", "Satisfaction"),
            rate(satisfied, rated),
            "%",
        ),
        figure(
            "bad_reviews",
            tr.s("差评数", "Bad reviews"),
            count(bad),
            "件",
        ),
        figure(
            "rectified_on_time",
            tr.s("差评按时整改率", "Rectified on time"),
            rate(rect_total[0], rect_total[0] + rect_total[1]),
            "%",
        ),
        figure(
            "rectifying",
            tr.s("整改中", "Being rectified"),
            count(rect_total[2]),
            "件",
        ),
        figure(
            "mobile_share",
            tr.s("移动端诉求占比", "From mobile"),
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
            ("每日诉求受理与答复", "Orders received and answered per day"),
            (
                "每周诉求受理与答复",
                "Orders received and answered per week",
            ),
        ],
        &[tr.s("受理", "Received"), tr.s("答复", "Answered")],
    )?;
    let by_cat = grouped(c, "insight_order_days", "category", &["received"], &s)?;
    let cats = top_keys(&by_cat, &|v| v[0], 10);
    let cat_chart = Chart {
        id: "by_category",
        title: tr.s("诉求类别", "Orders by category"),
        kind: Kind::Bar,
        unit: "件".into(),
        label_name: tr.s("类别", "Category"),
        series: series_of(&cats, &by_cat, &[tr.s("受理量", "Received")], &counts),
        labels: cats.iter().map(|k| category_name(k)).collect(),
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
        title: tr.s("各部门好差评", "Reviews by department"),
        kind: Kind::Stacked,
        unit: "件".into(),
        label_name: tr.s("部门", "Department"),
        series: series_of(
            &depts,
            &by_dept,
            &[tr.s("满意", "Satisfied"), tr.s("不满意", "Dissatisfied")],
            &|v| v.iter().skip(1).map(|x| *x as f64).collect(),
        ),
        labels: depts.iter().map(|d| q.dept(d)).collect(),
    };
    let rd = top_keys(&rect, &|v| v.iter().sum(), 15);
    let rect_chart = Chart {
        id: "rectification_by_department",
        title: tr.s(
            "差评整改（按部门）",
            "Rectification of bad reviews by department",
        ),
        kind: Kind::Stacked,
        unit: "件".into(),
        label_name: tr.s("部门", "Department"),
        series: series_of(
            &rd,
            &rect,
            &[
                tr.s("按时整改", "Done on time"),
                tr.s("超期整改", "Done late"),
                tr.s("整改中", "Open"),
            ],
            &counts,
        ),
        labels: rd.iter().map(|d| q.dept(d)).collect(),
    };
    let channel = Chart {
        id: "channel",
        title: tr.s("诉求渠道", "Where orders came from"),
        kind: Kind::Pie,
        unit: "件".into(),
        label_name: tr.s("渠道", "Channel"),
        labels: vec![
            tr.s("移动端", "Mobile"),
            tr.s("电话", "Phone"),
            tr.s("网站及接口", "Website and API"),
        ],
        series: vec![Series {
            name: tr.s("受理量", "Received"),
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
