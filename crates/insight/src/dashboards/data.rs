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
    // Data sharing in the period, from the exchange room's door.
    let day = |d: chrono::NaiveDate| {
        tongban_platform::time::day_start(&d.format("%Y-%m-%d").to_string(), q.tz).unwrap_or(0)
    };
    let (start, end) = (day(q.from), day(q.to.succ_opt().unwrap_or(q.to)));
    let sharing =
        tongban_exchange::stats::period(c, start, end, tongban_platform::time::now_millis())?;
    let certs = tongban_exchange::stats::certificates(
        c,
        start,
        end,
        &q.from.format("%Y-%m-%d").to_string(),
        &q.to.format("%Y-%m-%d").to_string(),
    )?;
    // The website group in the period, from the portal room's door.
    let web = tongban_portal::stats::period(
        c,
        &q.from(),
        &q.to
            .succ_opt()
            .unwrap_or(q.to)
            .format("%Y-%m-%d")
            .to_string(),
        start,
        end,
    )?;
    // Open data: what is published now, how it was used in the period.
    let open = tongban_opendata::stats::period(
        c,
        &q.from(),
        &q.to
            .succ_opt()
            .unwrap_or(q.to)
            .format("%Y-%m-%d")
            .to_string(),
    )?;
    let figures = vec![
        figure(
            "cases",
            tr.t("applications_all_time"),
            count(cases_all),
            "件",
        ),
        figure(
            "orders",
            tr.t("work_orders_all_time"),
            count(orders_all),
            "件",
        ),
        figure(
            "ratings",
            tr.t("ratings_all_time"),
            count(ratings_all),
            "条",
        ),
        figure("users", tr.t("registered_users"), count(users), "人"),
        figure("matters", tr.t("published_matters"), count(matters), "项"),
        figure("departments", tr.t("departments"), count(departments), "个"),
        figure("letters", tr.t("published_letters"), count(letters), "件"),
        figure(
            "sharing",
            tr.t("data_sharing_exchanges"),
            count(sharing.answered),
            "次",
        ),
        figure(
            "shared_services",
            tr.t("shared_services"),
            count(sharing.services),
            "项",
        ),
        figure(
            "grants",
            tr.t("grants_in_force"),
            count(sharing.grants),
            "项",
        ),
        figure(
            "certificates_issued",
            tr.t("certificates_issued"),
            count(certs.issued),
            "张",
        ),
        figure(
            "certificates_checked",
            tr.t("certificates_checked"),
            count(certs.checked),
            "次",
        ),
        figure("sites", tr.t("sites"), count(web.sites), "个"),
        figure(
            "site_articles",
            tr.t("site_articles"),
            count(web.published),
            "篇",
        ),
        figure(
            "disclosure_requests",
            tr.t("disclosure_requests"),
            count(web.requests_received),
            "件",
        ),
        figure(
            "open_datasets",
            tr.t("open_datasets"),
            count(open.datasets),
            "个",
        ),
        figure(
            "open_data_downloads",
            tr.t("open_data_downloads"),
            count(open.downloads),
            "次",
        ),
        figure(
            "open_data_api_calls",
            tr.t("open_data_api_calls"),
            count(open.api_calls),
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
    let names = [tr.t("applications"), tr.t("work_orders"), tr.t("ratings")];
    let line = Chart {
        id: "monthly",
        title: tr.t("records_per_month"),
        kind: Kind::Line,
        unit: "条".into(),
        label_name: tr.t("month"),
        series: series_of(&months, &monthly, &names, &counts),
        partial: partial_periods(&months, Period::Month, q),
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
        tr.t("applications"),
        tr.t("work_orders"),
        tr.t("ratings"),
        tr.t("page_views"),
    ];
    let growth = Chart {
        id: "growth",
        title: tr.t("this_period_and_the_one_before"),
        kind: Kind::Bar,
        partial: Vec::new(),
        unit: "条".into(),
        label_name: tr.t("records"),
        series: vec![
            Series {
                name: format!("{} {}–{}", tr.t("this_period"), q.from(), q.to()),
                values: now.iter().map(|x| *x as f64).collect(),
            },
            Series {
                name: format!("{} {pf}–{pt}", tr.t("before")),
                values: before.iter().map(|x| *x as f64).collect(),
            },
        ],
        labels: kinds,
    };
    let volumes = Chart {
        id: "volumes",
        title: tr.t("records_held_by_the_platform"),
        kind: Kind::Bar,
        partial: Vec::new(),
        unit: "条".into(),
        label_name: tr.t("records"),
        labels: vec![
            tr.t("applications"),
            tr.t("work_orders"),
            tr.t("ratings"),
            tr.t("users"),
            tr.t("page_views"),
        ],
        series: vec![Series {
            name: tr.t("total"),
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
        title: tr.t("page_views_by_device"),
        kind: Kind::Pie,
        partial: Vec::new(),
        unit: "次".into(),
        label_name: tr.t("device"),
        labels: vec![tr.t("mobile"), tr.t("desktop")],
        series: vec![Series {
            name: tr.t("views"),
            values: vec![
                *dv.get("mobile").unwrap_or(&0) as f64,
                *dv.get("desktop").unwrap_or(&0) as f64,
            ],
        }],
    };
    let sites = Chart {
        id: "sites",
        title: tr.t("website_group"),
        kind: Kind::Bar,
        partial: Vec::new(),
        unit: "次".into(),
        label_name: tr.t("site"),
        labels: web.by_site.iter().map(|s| s.name.clone()).collect(),
        series: vec![
            Series {
                name: tr.t("site_views"),
                values: web.by_site.iter().map(|s| s.views as f64).collect(),
            },
            Series {
                name: tr.t("site_visitors"),
                values: web.by_site.iter().map(|s| s.visitors as f64).collect(),
            },
            Series {
                name: tr.t("site_articles"),
                values: web.by_site.iter().map(|s| s.published as f64).collect(),
            },
        ],
    };
    let notes = vec![tr
        .t("data_sharing_note")
        .replacen("{}", &sharing.departments.len().to_string(), 1)
        .replacen("{}", &sharing.refused.to_string(), 1)];
    Ok((figures, vec![line, growth, volumes, devices, sites], notes))
}
