//! Any city as data: a second, small region (3 districts, 9 streets, 5 departments, 8
//! categories, boundaries) built from files and loaded with `tongban region import`; orders
//! filed there over the JSON API, Open311 and the page are placed by their point or address
//! and routed by its rules; Wuxi's names are refused in it; a bad folder imports nothing;
//! and no Wuxi district name is left in the crates' code.

use crate::cli::tongban;
use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::json;
use std::path::Path;

/// A square of 0.1° with its south-west corner at (lon, lat), split into three strips.
fn square(lon: f64, lat: f64, w: f64) -> serde_json::Value {
    json!({"type": "Polygon", "coordinates": [[[lon, lat], [lon + w, lat], [lon + w, lat + 0.1], [lon, lat + 0.1], [lon, lat]]]})
}

/// The test city: 东湖区 (120.0–120.1), 西山区 (119.9–120.0) and 南岭县 (120.1–120.2), all at
/// latitude 30.0–30.1, each with three streets in strips of 1/30°.
pub fn write_region(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let w = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    w(
        "region.toml",
        "name = \"测试市\"\nname_en = \"Test City\"\ncode = \"990100\"\nhotline_name = \"测试市12345热线\"\nhotline_department = \"tc-12345\"\n",
    );
    let districts = [
        ("990101", "东湖区", 120.0, 410_000),
        ("990102", "西山区", 119.9, 320_000),
        ("990103", "南岭县", 120.1, 270_000),
    ];
    let mut div = String::from(
        "code,name,parent,level,population\n990000,测试省,,province,\n990100,测试市,990000,city,\n",
    );
    let mut features = Vec::new();
    for (code, name, lon, pop) in districts {
        div.push_str(&format!("{code},{name},990100,district,{pop}\n"));
        features.push(json!({"type": "Feature", "properties": {"code": code}, "geometry": square(lon, 30.0, 0.1)}));
        for (i, street) in ["一", "二", "三"].iter().enumerate() {
            let scode = format!("{code}{:03}000", i + 1);
            div.push_str(&format!("{scode},{name}第{street}街道,{code},street,\n"));
            features.push(json!({"type": "Feature", "properties": {"code": scode},
                "geometry": square(lon + i as f64 * 0.1 / 3.0, 30.0, 0.1 / 3.0)}));
        }
    }
    w("divisions.csv", &div);
    w(
        "boundaries.geojson",
        &json!({"type": "FeatureCollection", "features": features}).to_string(),
    );
    w(
        "departments.csv",
        "code,name,name_en,kind,parent,phone\n\
         tc-12345,测试市12345热线,Test City 12345,热线,,12345\n\
         tc-water,测试市水务集团,Test City Water,公共企事业单位,,0999-1000001\n\
         tc-city,测试市城市管理局,Test City Urban Management,政府部门,,0999-1000002\n\
         tc-city-west,西山区城市管理局,Xishan Urban Management,政府部门,tc-city,0999-1000003\n\
         tc-edu,测试市教育局,Test City Education Bureau,政府部门,,0999-1000004\n",
    );
    w(
        "halls.csv",
        "department,name,address,hours,phone,complaint_phone,lon,lat\n\
         tc-edu,测试市民中心教育窗口,测试市东湖区中心路1号,工作日 9:00-17:00,0999-1000004,12345,120.05,30.05\n",
    );
    w(
        "categories.csv",
        "code,name,parent,keywords\n\
         utility,公用事业,,\n\
         utility.water,供水,utility,停水 水压\n\
         utility.water.quality,水质,utility.water,水质 浑浊 异味\n\
         city,城市管理,,\n\
         city.noise,噪声扰民,city,噪音 吵\n\
         education,教育,,\n\
         education.enrol,入学招生,education,入学 学位\n\
         other,其他,,\n",
    );
    w(
        "routing.csv",
        "category,division,department\n\
         utility,,tc-water\n\
         city,,tc-city\n\
         city,990102,tc-city-west\n\
         education,,tc-edu\n",
    );
}

async fn department_of(app: &TestApp, no: &str) -> Option<String> {
    let no = no.to_owned();
    app.db()
        .read(move |c| tongban_hotline::stats::department_of(c, &no))
        .await
        .unwrap()
}

on_both_engines!(a_second_city_from_files, |app: TestApp| async move {
    let url = app.ctx.config.database_url.clone();
    let base = app.dir.path().to_owned();
    // An order filed in the demo city before the switch keeps its district's name.
    let citizen = app.citizen().await;
    let file = |body: serde_json::Value| {
        let (client, url, token) = (
            app.client.clone(),
            app.url("/api/v1/workorders"),
            citizen.token.clone(),
        );
        async move {
            let mp = reqwest::multipart::Form::new().text("order", body.to_string());
            let r = client
                .post(url)
                .bearer_auth(token)
                .multipart(mp)
                .send()
                .await
                .unwrap();
            let status = r.status();
            (status, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (s, old) = file(
        json!({"type": "complaint", "category": "utility.water", "district": "梁溪区",
        "street": "中山路", "title": "停水", "content": "停水两天"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{old}");
    let old_no = old["order_no"].as_str().unwrap().to_owned();
    // The demo city names no hall: its guides send questions and complaints to its hotline.
    let guide = app
        .client
        .get(app.url("/matters/WX-WJ-001"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for want in [
        "咨询电话",
        "投诉电话",
        "href=\"tel:12345\"",
        "政务服务便民热线",
    ] {
        assert!(guide.contains(want), "{want}");
    }

    // A bad folder: every problem by file and line, nothing imported.
    let bad = base.join("bad-region");
    write_region(&bad);
    let mut div = std::fs::read_to_string(bad.join("divisions.csv")).unwrap();
    div.push_str("99010X,坏区,990100,district,\n990104,孤儿街道,990199,district,\n");
    std::fs::write(bad.join("divisions.csv"), div).unwrap();
    std::fs::write(
        bad.join("routing.csv"),
        "category,division,department\ntraffic,,tc-water\n",
    )
    .unwrap();
    let o = tongban(
        &url,
        &base,
        &["region", "import", bad.to_str().unwrap()],
        None,
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("divisions.csv line 16"), "{err}");
    assert!(
        err.contains("divisions.csv line 17") && err.contains("990199"),
        "{err}"
    );
    assert!(
        err.contains("routing.csv line 2") && err.contains("traffic"),
        "{err}"
    );
    assert!(err.contains("nothing imported"), "{err}");
    let r = app
        .client
        .get(app.url("/api/v1/workorder-categories"))
        .send()
        .await
        .unwrap();
    let cats: serde_json::Value = r.json().await.unwrap();
    assert!(
        cats["districts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "梁溪区"),
        "unchanged"
    );

    // The test city, from its folder.
    let dir = base.join("test-city");
    write_region(&dir);
    let o = tongban(
        &url,
        &base,
        &["region", "import", dir.to_str().unwrap()],
        None,
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Every division of the demo's is retired (none of its codes is the test city's).
    let wuxi = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/regions/wuxi/divisions.csv"),
    )
    .unwrap()
    .lines()
    .count()
        - 1;
    assert!(
        out.contains("14 divisions")
            && out.contains(&format!("{wuxi} retired"))
            && out.contains("8 categories"),
        "{out}"
    );
    // Every node's copy follows the change (on SQLite within 200 ms of another process's).
    let started = std::time::Instant::now();
    loop {
        let d: serde_json::Value = app
            .client
            .get(app.url("/open311/v2/discovery.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if d["contact"] == "测试市12345热线" {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 5,
            "the region is not followed: {d}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let cats: serde_json::Value = app
        .client
        .get(app.url("/api/v1/workorder-categories"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cats["districts"], json!(["东湖区", "西山区", "南岭县"]));
    // The departments the console offers are the city's; the demo's are retired, kept.
    let (active, all) = app
        .db()
        .read(|c| {
            Ok((
                tongban_platform::identity::list_departments(c)?,
                tongban_platform::identity::all_departments(c)?,
            ))
        })
        .await
        .unwrap();
    let codes: Vec<&str> = active.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(
        codes,
        ["tc-12345", "tc-city", "tc-city-west", "tc-edu", "tc-water"]
    );
    assert!(all.iter().any(|d| d.code == "wx-wjw"));

    // JSON API, a point and no district: 东湖区's second street, routed by the category above.
    let (s, o1) = file(
        json!({"type": "complaint", "category": "utility.water.quality",
        "lat": 30.05, "long": 120.05, "title": "水质浑浊", "content": "自来水发黄"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{o1}");
    let no1 = o1["order_no"].as_str().unwrap().to_owned();
    assert!(no1.starts_with("990100") && no1.len() == 21, "{no1}");
    let mine: serde_json::Value = app
        .client
        .get(app.url(&format!("/api/v1/workorders/{no1}")))
        .bearer_auth(&citizen.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["district"], "东湖区", "{mine}");
    assert_eq!(mine["address"], "东湖区第二街道", "{mine}");
    assert_eq!(department_of(&app, &no1).await.as_deref(), Some("tc-water"));

    // A district that does not hold the point, and a point outside the city: refused.
    let (s, e) = file(
        json!({"type": "complaint", "category": "city.noise", "district": "南岭县",
        "lat": 30.05, "long": 119.95, "street": "x", "title": "噪音", "content": "夜里施工"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["error"]["code"], "invalid_location");
    assert!(e["error"]["message"].as_str().unwrap().contains("西山区"));
    let (s, e) = file(json!({"type": "complaint", "category": "city.noise",
        "lat": 31.5, "long": 120.3, "street": "x", "title": "噪音", "content": "夜里施工"}))
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["error"]["code"], "outside_region");
    // Wuxi's names mean nothing here.
    let (s, e) = file(
        json!({"type": "complaint", "category": "city.noise", "district": "梁溪区",
        "street": "中山路", "title": "噪音", "content": "夜里施工"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["error"]["code"], "unknown_district");
    assert!(e["error"]["message"].as_str().unwrap().contains("东湖区"));
    let (s, e) = file(
        json!({"type": "complaint", "category": "traffic.bus", "district": "东湖区",
        "street": "中山路", "title": "公交", "content": "班次太少"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["error"]["code"], "unknown_category");
    // No point: an address naming the district fills it.
    let (s, o2) = file(json!({"type": "complaint", "category": "city.noise",
        "street": "西山区人民路 8 号", "title": "噪音", "content": "广场舞太吵"}))
    .await;
    assert_eq!(s, StatusCode::CREATED, "{o2}");
    let no2 = o2["order_no"].as_str().unwrap();
    assert_eq!(
        department_of(&app, no2).await.as_deref(),
        Some("tc-city-west")
    );

    // Open311: a point in 西山区 and no attribute[district]; the service says it is optional.
    let key = app
        .db()
        .write(|c| tongban_hotline::open311::add_key(c, "partner", 0))
        .await
        .unwrap();
    let def: serde_json::Value = app
        .client
        .get(app.url("/open311/v2/services/city.noise.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let district_attr = def["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "district")
        .unwrap()
        .clone();
    assert_eq!(district_attr["required"], false);
    let values: Vec<&str> = district_attr["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["key"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["东湖区", "西山区", "南岭县"]);
    let r = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .form(&[
            ("api_key", key.as_str()),
            ("service_code", "city.noise"),
            ("lat", "30.02"),
            ("long", "119.91"),
            ("description", "工地夜间施工噪音"),
            ("phone", "13900007777"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: serde_json::Value = r.json().await.unwrap();
    let no3 = v[0]["service_request_id"].as_str().unwrap();
    assert_eq!(
        department_of(&app, no3).await.as_deref(),
        Some("tc-city-west")
    );

    // The page: its district picker offers the test city's districts only.
    let html = app
        .client
        .get(app.url("/workorders/new"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("南岭县") && !html.contains("梁溪区"));
    assert!(
        html.contains("<datalist id=\"f-streets\">") && html.contains("西山区第三街道"),
        "the streets to pick from"
    );
    let cookie = with_csrf("");
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf_for(&cookie))
        .text("type", "consult")
        .text("category", "education.enrol")
        .text("district", "南岭县")
        .text("street", "县前街 3 号")
        .text("title", "入学咨询")
        .text("content", "孩子明年入学需要什么材料")
        .text("phone", "13900006666");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .post(app.url("/workorders/new"))
        .header("cookie", &cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let newest = app
        .db()
        .read(|c| {
            c.query_one(
                "SELECT order_no, department_code FROM work_orders ORDER BY id DESC LIMIT 1",
                &[],
            )
            .and_then(|r| Ok((r.get_str("order_no")?, r.get_opt_str("department_code")?)))
        })
        .await
        .unwrap();
    assert_eq!(newest.1.as_deref(), Some("tc-edu"));

    // A matter of the education bureau: its guide says where, when and whom to call.
    app.db()
        .write(|c| {
            let mut m = tongban_catalog::store::get(c, "WX-JY-001")?.unwrap();
            m.code = "TC-JY-001".into();
            m.department = tongban_platform::identity::get_department(c, "tc-edu")?.unwrap();
            tongban_catalog::store::save(c, &[m])
        })
        .await
        .unwrap();
    let guide = app
        .client
        .get(app.url("/matters/TC-JY-001"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for want in [
        "测试市民中心教育窗口（测试市东湖区中心路1号）",
        "工作日 9:00-17:00",
        "href=\"tel:0999-1000004\"",
        "投诉电话",
    ] {
        assert!(guide.contains(want), "{want}");
    }

    // A district renamed (same code): its orders and figures follow it.
    app.db()
        .write(|c| {
            c.execute(
                "INSERT INTO insight_order_days (day, department_code, district, category, received, mobile, phone, replied, replied_on_time, closed, rated, satisfied, bad)
                 VALUES ('2026-11-01', 'tc-edu', '南岭县', 'education', 3, 0, 0, 0, 0, 0, 0, 0, 0),
                        ('2026-11-01', 'tc-edu', '南岭区', 'education', 2, 0, 0, 0, 0, 0, 0, 0, 0)",
                &[],
            )
            .map(|_| ())
        })
        .await
        .unwrap();
    let div = std::fs::read_to_string(dir.join("divisions.csv"))
        .unwrap()
        .replace("南岭县", "南岭区");
    std::fs::write(dir.join("divisions.csv"), div).unwrap();
    let o = tongban(
        &url,
        &base,
        &["region", "import", dir.to_str().unwrap()],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (edu_district, merged) = {
        let no = newest.0.clone();
        app.db()
            .read(move |c| {
                let d = c
                    .query_one(
                        "SELECT district FROM work_orders WHERE order_no = $1",
                        tongban_platform::params![no.as_str()],
                    )?
                    .get_str("district")?;
                let m = c
                    .query_one(
                        "SELECT CAST(SUM(received) AS BIGINT) AS n FROM insight_order_days WHERE day = '2026-11-01' AND district = '南岭区'",
                        &[],
                    )?
                    .get_i64("n")?;
                let old = c
                    .query_one(
                        "SELECT COUNT(*) AS n FROM insight_order_days WHERE district = '南岭县'",
                        &[],
                    )?
                    .get_i64("n")?;
                Ok((d, (m, old)))
            })
            .await
            .unwrap()
    };
    assert_eq!(edu_district, "南岭区");
    assert_eq!(merged, (5, 0), "figures merged under the new name");

    // The evaluation counts each district against its own population from the files.
    let sup = app
        .staff(
            "s-tc",
            "tc-12345",
            &[tongban_platform::identity::Role::Supervisor],
        )
        .await;
    let v: serde_json::Value = app
        .get(&app.iurl("/api/v1/staff/evaluation?month=2026-11"), &sup)
        .await
        .json()
        .await
        .unwrap();
    let d = v["districts"].as_array().unwrap();
    let names: Vec<&str> = d.iter().map(|x| x["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["东湖区", "西山区", "南岭区"]);
    assert_eq!(
        (&d[2]["population"], &d[2]["received"], &d[2]["per_10k"]),
        (&json!(270_000), &json!(5), &json!(0.19)),
        "{v}"
    );
    assert_eq!(
        (&d[0]["received"], &d[0]["per_10k"]),
        (&json!(0), &json!(0.0))
    );
    let page = app
        .client
        .get(app.iurl("/console/evaluation?month=2026-11"))
        .header("cookie", format!("tongban_staff={sup}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("各区县电子参与") && page.contains("各区县每万人工单量"),
        "{page}"
    );

    // The order from before the switch keeps its district.
    let kept = app
        .db()
        .read(move |c| {
            c.query_one(
                "SELECT district FROM work_orders WHERE order_no = $1",
                tongban_platform::params![old_no.as_str()],
            )?
            .get_str("district")
        })
        .await
        .unwrap();
    assert_eq!(kept, "梁溪区");
});
