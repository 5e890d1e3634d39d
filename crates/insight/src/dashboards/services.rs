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
        figure(
            "submitted",
            tr.s("申请件数", "Applications"),
            count(submitted),
            "件",
        ),
        figure("decided", tr.s("办结件数", "Decided"), count(decided), "件"),
        figure(
            "on_time",
            tr.s("按时办结率", "Decided on time"),
            rate(on_time, decided),
            "%",
        ),
        figure(
            "avg_days",
            tr.s("平均办理工作日", "Average working days"),
            avg(taken, decided),
            tr.s("工作日", "days").as_str(),
        ),
        figure(
            "avg_promised",
            tr.s("平均承诺工作日", "Average promised days"),
            avg(promised, decided),
            tr.s("工作日", "days").as_str(),
        ),
        figure(
            "overdue_now",
            tr.s("当前超期在办", "Overdue now"),
            count(overdue),
            "件",
        ),
        figure(
            "mobile_share",
            tr.s("移动端申请占比", "From mobile"),
            rate(mobile, submitted),
            "%",
        ),
        figure(
            "satisfaction",
            tr.s("办件满意率", "Satisfaction"),
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
            ("每日申请与办结", "Applications and decisions per day"),
            ("每周申请与办结", "Applications and decisions per week"),
        ],
        &[tr.s("申请", "Applications"), tr.s("办结", "Decided")],
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
        title: tr.s(
            "各部门按时与超期办结",
            "Decided on time and late by department",
        ),
        kind: Kind::Stacked,
        unit: "件".into(),
        label_name: tr.s("部门", "Department"),
        series: series_of(
            &depts,
            &by_dept,
            &[tr.s("按时办结", "On time"), tr.s("超期办结", "Late")],
            &|v| match v {
                [d, o, ..] => vec![*o as f64, (d - o) as f64],
                _ => vec![],
            },
        ),
        labels: dept_names.clone(),
    };
    let days_chart = Chart {
        id: "days_by_department",
        title: tr.s(
            "各部门平均办理与承诺工作日",
            "Working days taken and promised by department",
        ),
        kind: Kind::Bar,
        unit: tr.s("工作日", "days"),
        label_name: tr.s("部门", "Department"),
        series: series_of(
            &depts,
            &by_dept,
            &[tr.s("实际平均", "Taken"), tr.s("承诺平均", "Promised")],
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
        title: tr.s("当前超期在办（按部门）", "Overdue now by department"),
        kind: Kind::Bar,
        unit: "件".into(),
        label_name: tr.s("部门", "Department"),
        series: series_of(&od, &overdue_dept, &[tr.s("超期件数", "Overdue")], &counts),
        labels: od.iter().map(|d| q.dept(d)).collect(),
    };
    let om = top_keys(&overdue_matter, &|v| v[0], 10);
    let matter_names = tongban_catalog::store::names(c, &om)?;
    let overdue_matter_chart = Chart {
        id: "overdue_by_matter",
        title: tr.s(
            "当前超期在办（前十个事项）",
            "Overdue now: the ten matters with most",
        ),
        kind: Kind::Bar,
        unit: "件".into(),
        label_name: tr.s("事项", "Matter"),
        series: series_of(
            &om,
            &overdue_matter,
            &[tr.s("超期件数", "Overdue")],
            &counts,
        ),
        labels: om
            .iter()
            .map(|m| matter_names.get(m).cloned().unwrap_or_else(|| m.clone()))
            .collect(),
    };
    let channel = Chart {
        id: "channel",
        title: tr.s("申请渠道", "Where applications came from"),
        kind: Kind::Pie,
        unit: "件".into(),
        label_name: tr.s("渠道", "Channel"),
        labels: vec![tr.s("移动端", "Mobile"), tr.s("网站", "Website")],
        series: vec![Series {
            name: tr.s("申请件数", "Applications"),
            values: vec![mobile as f64, (submitted - mobile) as f64],
        }],
    };
    let mut notes = Vec::new();
    if q.f.district.is_some() {
        notes.push(tr.s(
            "办件不记录地区，地区筛选不适用于本看板。",
            "Applications carry no district: the district filter does not apply to this board.",
        ));
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
