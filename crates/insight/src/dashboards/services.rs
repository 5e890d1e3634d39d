//! The 政务服务 board: applications and decisions, on time and late, working days taken against promised, what is overdue now, channels.

use super::*;

pub(super) fn services(c: &mut dyn Conn, q: &Query) -> Result<Parts, DbError> {
    let tr = q.tr;
    let s = q.scope(false);
    const COLS: [&str; 9] = [
        "submitted",
        "mobile",
        "decided",
        "on_time",
        "days_taken",
        "days_promised",
        "rated",
        "satisfied",
        "bad",
    ];
    let t = totals(c, "insight_case_days", &COLS, &s)?;
    let (submitted, mobile, decided, on_time, taken, promised, rated, satisfied) =
        (t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]);
    // Overdue now: accepted cases past their deadline (a case waiting for a supplement is paused).
    let mut overdue_dept: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut overdue_matter: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut overdue = 0;
    for (d, m, n) in tongban_cases::stats::overdue_now(c, q.today, q.f.department.as_deref())? {
        overdue += n;
        overdue_dept.entry(d).or_insert_with(|| vec![0])[0] += n;
        overdue_matter.entry(m).or_insert_with(|| vec![0])[0] += n;
    }
    let figures = vec![
        figure("submitted", tr.t("applications_2"), count(submitted), "件"),
        figure("decided", tr.t("decided"), count(decided), "件"),
        figure(
            "on_time",
            tr.t("decided_on_time"),
            rate(on_time, decided),
            "%",
        ),
        figure(
            "avg_days",
            tr.t("average_working_days"),
            avg(taken, decided),
            tr.t("days").as_str(),
        ),
        figure(
            "avg_promised",
            tr.t("average_promised_days"),
            avg(promised, decided),
            tr.t("days").as_str(),
        ),
        figure("overdue_now", tr.t("overdue_now"), count(overdue), "件"),
        figure(
            "mobile_share",
            tr.t("from_mobile_2"),
            rate(mobile, submitted),
            "%",
        ),
        figure(
            "satisfaction",
            tr.t("satisfaction_2"),
            rate(satisfied, rated),
            "%",
        ),
    ];
    let line = time_line(
        c,
        q,
        "insight_case_days",
        &["submitted", "decided"],
        [
            "applications_and_decisions_per_day",
            "applications_and_decisions_per_week",
        ],
        &[tr.t("applications_3"), tr.t("decided_2")],
    )?;
    let by_dept = grouped(
        c,
        "insight_case_days",
        "department_code",
        &["decided", "on_time", "days_taken", "days_promised"],
        &s,
    )?;
    let depts = top_keys(&by_dept, &|v| v[0], 15);
    let dept_names: Vec<String> = depts.iter().map(|d| q.dept(d)).collect();
    let on_time_chart = Chart {
        id: "on_time_by_department",
        title: tr.t("decided_on_time_and_late_by_department"),
        kind: Kind::Stacked,
        partial: Vec::new(),
        unit: "件".into(),
        label_name: tr.t("department"),
        series: series_of(
            &depts,
            &by_dept,
            &[tr.t("on_time_2"), tr.t("late")],
            &|v| match v {
                [d, o, ..] => vec![*o as f64, (d - o) as f64],
                _ => vec![],
            },
        ),
        labels: dept_names.clone(),
    };
    let days_chart = Chart {
        id: "days_by_department",
        title: tr.t("working_days_taken_and_promised_by_depar"),
        kind: Kind::Bar,
        partial: Vec::new(),
        unit: tr.t("days"),
        label_name: tr.t("department"),
        series: series_of(
            &depts,
            &by_dept,
            &[tr.t("taken"), tr.t("promised")],
            &|v| match v {
                [d, _, t, p] => vec![avg(*t, *d).unwrap_or(0.0), avg(*p, *d).unwrap_or(0.0)],
                _ => vec![],
            },
        ),
        labels: dept_names,
    };
    let od = top_keys(&overdue_dept, &|v| v[0], 15);
    let overdue_dept_chart = Chart {
        id: "overdue_by_department",
        title: tr.t("overdue_now_by_department"),
        kind: Kind::Bar,
        partial: Vec::new(),
        unit: "件".into(),
        label_name: tr.t("department"),
        series: series_of(&od, &overdue_dept, &[tr.t("overdue")], &counts),
        labels: od.iter().map(|d| q.dept(d)).collect(),
    };
    let om = top_keys(&overdue_matter, &|v| v[0], 10);
    let matter_names = tongban_catalog::store::names(c, &om)?;
    let overdue_matter_chart = Chart {
        id: "overdue_by_matter",
        title: tr.t("overdue_now_the_ten_matters_with_most"),
        kind: Kind::Bar,
        partial: Vec::new(),
        unit: "件".into(),
        label_name: tr.t("matter"),
        series: series_of(&om, &overdue_matter, &[tr.t("overdue")], &counts),
        labels: om
            .iter()
            .map(|m| matter_names.get(m).cloned().unwrap_or_else(|| m.clone()))
            .collect(),
    };
    let channel = Chart {
        id: "channel",
        title: tr.t("where_applications_came_from"),
        kind: Kind::Pie,
        partial: Vec::new(),
        unit: "件".into(),
        label_name: tr.t("channel"),
        labels: vec![tr.t("mobile_2"), tr.t("website")],
        series: vec![Series {
            name: tr.t("applications_2"),
            values: vec![mobile as f64, (submitted - mobile) as f64],
        }],
    };
    let mut notes = Vec::new();
    if q.f.district.is_some() {
        notes.push(tr.t("applications_carry_no_district_the_distr"));
    }
    Ok((
        figures,
        vec![
            line,
            on_time_chart,
            days_chart,
            overdue_dept_chart,
            overdue_matter_chart,
            channel,
        ],
        notes,
    ))
}
