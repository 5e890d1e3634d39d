//! The 数据中心 board: volumes, month by month, this period against the one before, page views by device.

use super::*;

pub(super) fn data(c: &mut dyn Conn, q: &Query) -> Result<Parts, DbError> {
    let tr = q.tr;
    // All-time volumes from the daily figures (counting millions of rows per view is not needed).
    let all_cases = c.query_one(
        &format!(
            "SELECT {} FROM insight_case_days",
            sums(&["submitted", "rated"])
        ),
        &[],
    )?;
    let all_orders = c.query_one(
        &format!(
            "SELECT {} FROM insight_order_days",
            sums(&["received", "rated"])
        ),
        &[],
    )?;
    let users = tongban_platform::identity::count_accounts(c, None)?;
    let matters = tongban_catalog::stats::counts(c)?.published;
    let departments = q.names.len() as i64;
    let letters = tongban_hotline::stats::letters_published(c)?;
    let views_all = c
        .query_one(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM insight_visits",
            &[],
        )?
        .get_i64("n")?;
    let (cases_all, orders_all) = (
        all_cases.get_i64("submitted")?,
        all_orders.get_i64("received")?,
    );
    let ratings_all = all_cases.get_i64("rated")? + all_orders.get_i64("rated")?;
    let figures = vec![
        figure(
            "cases",
            tr.s("办件总量", "Applications, all time"),
            count(cases_all),
            "件",
        ),
        figure(
            "orders",
            tr.s("工单总量", "Work orders, all time"),
            count(orders_all),
            "件",
        ),
        figure(
            "ratings",
            tr.s("评价总量", "Ratings, all time"),
            count(ratings_all),
            "条",
        ),
        figure(
            "users",
            tr.s("注册用户", "Registered users"),
            count(users),
            "人",
        ),
        figure(
            "matters",
            tr.s("已发布事项", "Published matters"),
            count(matters),
            "项",
        ),
        figure(
            "departments",
            tr.s("接入部门", "Departments"),
            count(departments),
            "个",
        ),
        figure(
            "letters",
            tr.s("公开信件", "Published letters"),
            count(letters),
            "件",
        ),
        figure(
            "sharing",
            tr.s("数据共享交换次数", "Data sharing exchanges"),
            None,
            "次",
        ),
    ];
    // Month by month within the period.
    let cs = q.scope(false);
    let os = q.scope(true);
    let month = |d: &str| d.get(..7).unwrap_or(d).to_owned();
    let mut monthly: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (k, v) in grouped(c, "insight_case_days", "day", &["submitted", "rated"], &cs)? {
        let m = monthly.entry(month(&k)).or_insert_with(|| vec![0; 3]);
        m[0] += v[0];
        m[2] += v[1];
    }
    for (k, v) in grouped(c, "insight_order_days", "day", &["received", "rated"], &os)? {
        let m = monthly.entry(month(&k)).or_insert_with(|| vec![0; 3]);
        m[1] += v[0];
        m[2] += v[1];
    }
    let mut months = Vec::new();
    let mut d = q.from.with_day(1).unwrap_or(q.from);
    while d <= q.to {
        months.push(d.format("%Y-%m").to_string());
        d = d
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(q.to.succ_opt().unwrap_or(q.to));
    }
    let names = [
        tr.s("办件", "Applications"),
        tr.s("工单", "Work orders"),
        tr.s("评价", "Ratings"),
    ];
    let line = Chart {
        id: "monthly",
        title: tr.s("每月数据量", "Records per month"),
        kind: Kind::Line,
        unit: "条".into(),
        label_name: tr.s("月份", "Month"),
        series: series_of(&months, &monthly, &names, &counts),
        labels: months,
    };
    // Growth: this period against the one of the same length just before it.
    let len = (q.to - q.from).num_days() + 1;
    let prev_to = q.from - chrono::Duration::days(1);
    let prev_from = q.from - chrono::Duration::days(len);
    let (pf, pt) = (
        prev_from.format("%Y-%m-%d").to_string(),
        prev_to.format("%Y-%m-%d").to_string(),
    );
    let period = |c: &mut dyn Conn, from: &str, to: &str| -> Result<Vec<i64>, DbError> {
        let a = totals(
            c,
            "insight_case_days",
            &["submitted", "rated"],
            &scope(from, to, q.f, false),
        )?;
        let b = totals(
            c,
            "insight_order_days",
            &["received", "rated"],
            &scope(from, to, q.f, true),
        )?;
        let v = c
            .query_one(
                "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM insight_visits WHERE day >= $1 AND day <= $2",
                &[Value::from(from), Value::from(to)],
            )?
            .get_i64("n")?;
        Ok(vec![a[0], b[0], a[1] + b[1], v])
    };
    let now = period(c, &q.from(), &q.to())?;
    let before = period(c, &pf, &pt)?;
    let kinds = vec![
        tr.s("办件", "Applications"),
        tr.s("工单", "Work orders"),
        tr.s("评价", "Ratings"),
        tr.s("页面访问", "Page views"),
    ];
    let growth = Chart {
        id: "growth",
        title: tr.s("本期与上期对比", "This period and the one before"),
        kind: Kind::Bar,
        unit: "条".into(),
        label_name: tr.s("数据", "Records"),
        series: vec![
            Series {
                name: format!("{} {}–{}", tr.s("本期", "This period"), q.from(), q.to()),
                values: now.iter().map(|x| *x as f64).collect(),
            },
            Series {
                name: format!("{} {pf}–{pt}", tr.s("上期", "Before")),
                values: before.iter().map(|x| *x as f64).collect(),
            },
        ],
        labels: kinds,
    };
    let volumes = Chart {
        id: "volumes",
        title: tr.s("平台数据总量", "Records held by the platform"),
        kind: Kind::Bar,
        unit: "条".into(),
        label_name: tr.s("数据", "Records"),
        labels: vec![
            tr.s("办件", "Applications"),
            tr.s("工单", "Work orders"),
            tr.s("评价", "Ratings"),
            tr.s("注册用户", "Users"),
            tr.s("页面访问", "Page views"),
        ],
        series: vec![Series {
            name: tr.s("总量", "Total"),
            values: [cases_all, orders_all, ratings_all, users, views_all]
                .iter()
                .map(|x| *x as f64)
                .collect(),
        }],
    };
    let dev = c.query(
        "SELECT device, CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM insight_visits WHERE day >= $1 AND day <= $2 GROUP BY device ORDER BY device",
        &[Value::from(q.from()), Value::from(q.to())],
    )?;
    let mut dv = BTreeMap::new();
    for r in dev {
        dv.insert(r.get_str("device")?, r.get_i64("n")?);
    }
    let devices = Chart {
        id: "devices",
        title: tr.s("页面访问设备", "Page views by device"),
        kind: Kind::Pie,
        unit: "次".into(),
        label_name: tr.s("设备", "Device"),
        labels: vec![tr.s("手机", "Mobile"), tr.s("电脑", "Desktop")],
        series: vec![Series {
            name: tr.s("访问量", "Views"),
            values: vec![
                *dv.get("mobile").unwrap_or(&0) as f64,
                *dv.get("desktop").unwrap_or(&0) as f64,
            ],
        }],
    };
    let notes = vec![tr.s(
        "部门间数据共享交换尚未上线，上线后在此统计交换次数。",
        "Data sharing between departments is not yet part of the platform; its exchanges will be counted here.",
    )];
    Ok((figures, vec![line, growth, volumes, devices], notes))
}
