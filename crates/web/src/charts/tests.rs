//! Tests of the charts.
use super::*;

fn chart(kind: Kind) -> Chart {
    Chart {
        id: "t",
        title: "办件<量>".into(),
        kind,
        partial: Vec::new(),
        unit: "件".into(),
        label_name: "部门".into(),
        labels: vec!["市场监管局".into(), "A&B <x>".into(), "公安局".into()],
        series: vec![
            Series {
                name: "按时".into(),
                values: vec![12.0, 3.0, 0.0],
            },
            Series {
                name: "超期".into(),
                values: vec![2.0, 1.0, 5.0],
            },
        ],
    }
}

#[test]
fn every_kind_draws_escaped_svg_with_its_labels() {
    for kind in [Kind::Line, Kind::Bar, Kind::Stacked, Kind::Pie, Kind::Heat] {
        let svg = chart(kind).svg();
        assert!(
            svg.starts_with("<svg role=\"img\" aria-label=\"办件&lt;量&gt;\""),
            "{kind:?}: {svg:.200}"
        );
        assert!(svg.trim_end().ends_with("</svg>"), "{kind:?}");
        assert!(!svg.contains("<x>"), "{kind:?}: labels are escaped");
        let label = if kind == Kind::Heat {
            "按时"
        } else {
            "市场监管"
        };
        assert!(svg.contains(label), "{kind:?}");
    }
    // Bars are as long as their values: the stacked total 14 is written at the end of row 1.
    let svg = chart(Kind::Stacked).svg();
    assert!(svg.contains(">\n14\n</text>"), "{svg}");
    let pie = chart(Kind::Pie).svg();
    assert!(pie.contains("80.0%"), "12 of 15 is 80%: {pie}");
}

#[test]
fn empty_and_odd_numbers_draw_without_panicking() {
    let mut c = chart(Kind::Line);
    c.labels.clear();
    for s in &mut c.series {
        s.values.clear();
    }
    for kind in [Kind::Line, Kind::Bar, Kind::Stacked, Kind::Pie, Kind::Heat] {
        c.kind = kind;
        assert!(c.svg().contains("</svg>"));
    }
    let mut c = chart(Kind::Bar);
    c.series[0].values = vec![f64::NAN, 1e12, -3.0];
    for kind in [Kind::Line, Kind::Bar, Kind::Stacked, Kind::Pie, Kind::Heat] {
        c.kind = kind;
        let _ = c.svg();
    }
}

#[test]
fn dates_under_the_axis_never_collide() {
    for n in 1..120 {
        let at = date_ticks(n);
        let step = n.div_ceil(6).max(1);
        assert_eq!(at.last(), Some(&(n - 1)), "the last date is shown ({n})");
        assert!(at.len() <= 7, "{n}: {at:?}");
        for w in at.windows(2) {
            assert!(w[1] - w[0] >= step, "{n}: {at:?}");
        }
    }
}

/// The y of the text element that says `what`.
fn text_y(svg: &str, what: &str) -> f64 {
    let at = svg.find(&format!(">\n{what}\n<")).expect(what);
    let open = svg[..at].rfind("<text").unwrap();
    let tag = &svg[open..at];
    let y = tag.find(" y=\"").unwrap() + 4;
    tag[y..y + tag[y..].find('"').unwrap()].parse().unwrap()
}

#[test]
fn legends_sit_above_the_plot_and_small_series_get_their_own_axis() {
    let c = Chart {
        id: "t",
        title: "用户与访问".into(),
        kind: Kind::Line,
        partial: Vec::new(),
        unit: "人".into(),
        label_name: "日期".into(),
        labels: (1..=30).map(|d| format!("2026-11-{d:02}")).collect(),
        series: vec![
            Series {
                name: "访问".into(),
                values: (0..30).map(|i| 900_000.0 + f64::from(i) * 1000.0).collect(),
            },
            Series {
                name: "注册用户".into(),
                values: (0..30).map(|i| f64::from(i % 4)).collect(),
            },
        ],
    };
    let svg = c.svg();
    assert!(
        svg.contains("注册用户（右轴）"),
        "the small series on the right axis"
    );
    assert!(!svg.contains("访问（右轴）"));
    // Both names in the band above the plot, whose top is lower still.
    assert!(text_y(&svg, "访问") < 40.0 && text_y(&svg, "注册用户（右轴）") < 40.0);
    // Of the same size, they share one axis.
    let mut same = c.clone();
    same.series[1].values = (0..30).map(|i| 800_000.0 + f64::from(i)).collect();
    assert!(!same.svg().contains("右轴"));
}

#[test]
fn numbers_read_like_a_person_writes_them() {
    assert_eq!(number(12.0), "12");
    assert_eq!(number(93.46), "93.5");
    assert_eq!(number(25_300.0), "2.5万");
    assert_eq!(number(3_000_000.0), "300万");
    assert_eq!(nice_max([0.0].into_iter()), 1.0);
    assert_eq!(nice_max([93.0].into_iter()), 100.0);
}

#[test]
fn partial_periods_are_dashed_with_hollow_points_and_marked_in_the_table() {
    let mut c = Chart {
        id: "t",
        title: "每周工单".into(),
        kind: Kind::Line,
        partial: Vec::new(),
        unit: "件".into(),
        label_name: "周".into(),
        labels: ["02", "09", "16", "23", "30"]
            .iter()
            .map(|d| format!("2026-11-{d}"))
            .chain(["2026-12-07".to_owned()])
            .collect(),
        series: vec![Series {
            name: "工单".into(),
            values: vec![700.0, 710.0, 690.0, 705.0, 700.0, 120.0],
        }],
    };
    let whole = c.svg();
    assert!(!whole.contains("<circle"));
    let lines = |svg: &str| svg.matches("<polyline").count();
    c.partial = vec![5];
    let svg = c.svg();
    // The solid line stops at the last whole week; dashes lead to the partial one, whose
    // point is drawn hollow.
    assert!(lines(&svg) > lines(&whole) + 1, "dashes: {svg}");
    let circles: Vec<&str> = svg.split("<circle").skip(1).collect();
    assert_eq!(circles.len(), 1, "{svg}");
    assert!(
        circles[0].contains("fill=\"none\""),
        "hollow: {}",
        circles[0]
    );
    let (_, rows) = c.table("（不完整）");
    assert_eq!(rows[5].0, "2026-12-07（不完整）");
    assert_eq!(rows[4].0, "2026-11-30");
}
