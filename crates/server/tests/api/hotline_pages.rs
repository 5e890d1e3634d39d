//! The participation pages without JavaScript: an anonymous complaint with a photo, refused
//! input kept on the form, the console loop (dispatch, sign, reply) by forms, the citizen's
//! rating by form, the rectification on the console, and the public mailbox.

use crate::authz::PNG;
use crate::helpers::*;
use crate::on_both_engines;
use reqwest::multipart::{Form, Part};
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use tongban_platform::identity::Role;

fn order_form(phone: &str, cookie: &str) -> Form {
    Form::new()
        .text("csrf", csrf_for(cookie))
        .text("type", "complaint")
        .text("category", "city.sanitation")
        .text("district", "梁溪区")
        .text("street", "南长街 12 号")
        .text("title", "垃圾桶满溢")
        .text("content", "垃圾桶两天没人清理，气味很大。")
        .text("phone", phone.to_owned())
}

on_both_engines!(complaint_pages_end_to_end, |app: TestApp| async move {
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let csrf_only = with_csrf("");
    let count = || async {
        app.db()
            .read(|c| {
                c.query_one("SELECT COUNT(*) AS n FROM work_orders", &[])?
                    .get_i64("n")
            })
            .await
            .unwrap()
    };

    // The form renders in Chinese with every category group.
    let html = client
        .get(app.url("/workorders/new"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("我要留言") && html.contains("市容环境") && html.contains(r#"name="photo""#)
    );

    // Refused: no phone while anonymous, and a photo that is not an image. Nothing stored.
    let before = count().await;
    let bad = order_form("", &csrf_only).part(
        "photo",
        Part::bytes(b"%PDF-1.4".to_vec()).file_name("x.pdf"),
    );
    let r = client
        .post(app.url("/workorders/new"))
        .header("cookie", &csrf_only)
        .multipart(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("未登录时请留下手机号码"),
        "the error is shown"
    );
    assert!(
        html.contains("垃圾桶两天没人清理"),
        "what was typed is kept"
    );
    let r = client
        .post(app.url("/workorders/new"))
        .header("cookie", &csrf_only)
        .multipart(order_form("13900006666", &csrf_only).part(
            "photo",
            Part::bytes(b"%PDF-1.4".to_vec()).file_name("x.pdf"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("照片须为 JPG、PNG 或 GIF 图片"));
    let r = client
        .post(app.url("/workorders/new"))
        .multipart(order_form("13900006666", &csrf_only))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no anti-forgery cookie");
    assert_eq!(count().await, before);

    // Anonymous complaint with a photo: acknowledged with the order number.
    let r = client
        .post(app.url("/workorders/new"))
        .header("cookie", &csrf_only)
        .multipart(
            order_form("13900006666", &csrf_only)
                .part("photo", Part::bytes(PNG.to_vec()).file_name("p.png")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let no = loc
        .trim_start_matches("/workorders/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let html = client
        .get(app.url(&loc))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&no) && html.contains("已受理") && html.contains("待派单"));

    // Console: the dispatcher lands on the work orders and dispatches by form.
    let dispatcher = app.staff("pd", "wx-12345", &[Role::Dispatcher]).await;
    let dc = with_csrf(&format!("tongban_staff={dispatcher}"));
    let r = client
        .get(app.iurl("/console"))
        .header("cookie", &dc)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/console/workorders");
    let html = client
        .get(app.iurl("/console/workorders?queue=dispatch"))
        .header("cookie", &dc)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&no));
    let act = |cookie: String, fields: Vec<(&'static str, String)>| {
        let mut form: Vec<(&str, String)> = vec![("csrf", csrf_for(&cookie))];
        form.extend(fields);
        client
            .post(app.iurl(&format!("/console/workorders/{no}/actions")))
            .header("cookie", cookie)
            .form(&form)
            .send()
    };
    let r = act(
        dc.clone(),
        vec![("action", "dispatch".into()), ("department", "".into())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("请选择承办单位"));
    let r = act(
        dc.clone(),
        vec![
            ("action", "dispatch".into()),
            ("department", "wx-zjj".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // The handler sees the photo, signs and replies by form.
    let handler = app.staff("ph", "wx-zjj", &[Role::Handler]).await;
    let hc = with_csrf(&format!("tongban_staff={handler}"));
    let html = client
        .get(app.iurl(&format!("/console/workorders/{no}")))
        .header("cookie", &hc)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("/console/workorders/{no}/photo"))
            && html.contains("签收")
            && html.contains("139****6666")
    );
    let r = client
        .get(app.iurl(&format!("/console/workorders/{no}/photo")))
        .header("cookie", &hc)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status(), r.headers()["content-type"].to_str().unwrap()),
        (StatusCode::OK, "image/png")
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG);
    assert_eq!(
        act(hc.clone(), vec![("action", "sign".into())])
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        act(
            hc.clone(),
            vec![
                ("action", "reply".into()),
                ("note", "已安排环卫每日清运".into())
            ]
        )
        .await
        .unwrap()
        .status(),
        StatusCode::SEE_OTHER
    );
    let html = client
        .get(app.iurl(&format!("/console/workorders/{no}")))
        .header("cookie", &hc)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("已安排环卫每日清运") && html.contains("已答复"));

    // The operator enters a call with a suggested category.
    let r = client
        .post(app.iurl("/console/workorders/new"))
        .header("cookie", &dc)
        .form(&[
            ("csrf", csrf_for(&dc).as_str()),
            ("op", "suggest"),
            ("title", "小区停水"),
            ("content", "今天早上开始停水，水压很低"),
            ("type", "help"),
        ])
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(
        html.contains(r#"<option value="utility.water" selected>"#),
        "suggested and preselected"
    );
    let r = client
        .post(app.iurl("/console/workorders/new"))
        .header("cookie", &dc)
        .form(&[
            ("csrf", csrf_for(&dc).as_str()),
            ("op", "file"),
            ("title", "小区停水"),
            ("content", "今天早上开始停水"),
            ("type", "help"),
            ("category", "utility.water"),
            ("district", "锡山区"),
            ("street", "东亭街道"),
            ("phone", "13900007777"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let html = client
        .get(app.iurl(&loc))
        .header("cookie", &dc)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("电话") && html.contains("工单已录入"));

    // A logged-in citizen files, gets an answer, and rates it 不满意 by form.
    let citizen = app.citizen().await;
    let cc = with_csrf(&format!("tongban_session={}", citizen.token));
    let r = client
        .post(app.url("/workorders/new"))
        .header("cookie", &cc)
        .multipart(order_form("", &cc))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let mine = loc
        .trim_start_matches("/workorders/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    for (cookie, f) in [
        (
            dc.clone(),
            vec![("action", "dispatch"), ("department", "wx-zjj")],
        ),
        (hc.clone(), vec![("action", "sign")]),
        (hc.clone(), vec![("action", "reply"), ("note", "已清运")]),
    ] {
        let token = csrf_for(&cookie);
        let mut form = vec![("csrf", token.as_str())];
        form.extend(f);
        let r = client
            .post(app.iurl(&format!("/console/workorders/{mine}/actions")))
            .header("cookie", cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let html = client
        .get(app.url(&format!("/workorders/{mine}")))
        .header("cookie", &cc)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("已清运") && html.contains("评价本次服务"));
    let r = client
        .post(app.url(&format!("/workorders/{mine}/rating")))
        .header("cookie", &cc)
        .form(&[("csrf", csrf_for(&cc).as_str()), ("level", "2")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("请写明原因"));
    let r = client
        .post(app.url(&format!("/workorders/{mine}/rating")))
        .header("cookie", &cc)
        .form(&[
            ("csrf", csrf_for(&cc).as_str()),
            ("level", "2"),
            ("overall", "2"),
            ("comment", "垃圾桶还是满的"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = client
        .get(app.url(&format!("/workorders/{mine}")))
        .header("cookie", &cc)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("您的评价") && html.contains("不满意"));
    // The rectification is on the department's console page, without the rater's identity.
    let html = client
        .get(app.iurl("/console/rectifications"))
        .header("cookie", &hc)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&mine) && html.contains("垃圾桶还是满的") && html.contains("记录回访"));
    assert!(!html.contains(&citizen.phone));
    // Departments by name, never by code.
    assert!(!html.contains("<dd>wx-"), "a department code is shown");
    let id = app
        .db()
        .read(|c| {
            c.query_one("SELECT MAX(id) AS n FROM rectifications", &[])?
                .get_i64("n")
        })
        .await
        .unwrap();
    let r = client
        .post(app.iurl(&format!("/console/rectifications/{id}/actions")))
        .header("cookie", &hc)
        .form(&[
            ("csrf", csrf_for(&hc).as_str()),
            ("action", "callback"),
            ("note", "已回访"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = client
        .get(app.iurl("/console/rectifications"))
        .header("cookie", &hc)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("完成整改") && html.contains("已回访"));

    // A decided case is rated from its own page.
    let clerk = app
        .staff("pc", "wx-wjw", &[Role::Clerk, Role::Approver])
        .await;
    let case_no = app.submit_birth(&citizen).await;
    let html = client
        .get(app.url(&format!("/my/cases/{case_no}")))
        .header("cookie", &cc)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains(&format!("/my/cases/{case_no}/rating")),
        "not before it is decided"
    );
    app.act(&clerk, &case_no, "accept", "受理").await;
    app.act(&clerk, &case_no, "approve", "准予").await;
    let html = client
        .get(app.url(&format!("/my/cases/{case_no}")))
        .header("cookie", &cc)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("/my/cases/{case_no}/rating")));
    let html = client
        .get(app.url(&format!("/my/cases/{case_no}/rating")))
        .header("cookie", &cc)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("生育登记") && html.contains(r#"name="level""#));
    let r = client
        .post(app.url(&format!("/my/cases/{case_no}/rating")))
        .header("cookie", &cc)
        .form(&[
            ("csrf", csrf_for(&cc).as_str()),
            ("level", "5"),
            ("convenience", "5"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = client
        .get(app.url(&format!("/my/cases/{case_no}/rating")))
        .header("cookie", &cc)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("您的评价") && html.contains("非常满意") && !html.contains(r#"name="level""#)
    );
    let other = app.citizen().await;
    let r = client
        .get(app.url(&format!("/my/cases/{case_no}/rating")))
        .header("cookie", format!("tongban_session={}", other.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The public mailbox page lists and filters.
    let html = client
        .get(app.url("/letters?category=city"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("公开信件") && html.contains("各单位办理情况"));
});

// The filer sees what they wrote, where, and up to three photos (from the camera or the
// gallery); whoever holds the query code too; nobody else. A fourth photo is refused.
on_both_engines!(filers_see_their_own_order, |app: TestApp| async move {
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let citizen = app.citizen().await;
    let other = app.citizen().await;
    let cookie = with_csrf(&format!("tongban_session={}", citizen.token));
    let photos = |n: usize| {
        let mut f = order_form("", &cookie);
        for i in 0..n {
            f = f.part(
                "photo",
                Part::bytes(PNG.to_vec()).file_name(format!("p{i}.png")),
            );
        }
        f
    };
    let post = |form: Form| {
        client
            .post(app.url("/workorders/new"))
            .header("cookie", &cookie)
            .multipart(form)
            .send()
    };
    let r = post(photos(4)).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("最多上传 3 张照片"));

    let r = post(photos(3)).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let no = loc
        .trim_start_matches("/workorders/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let code = loc.split("code=").nth(1).unwrap().to_owned();
    let page = |cookie: Option<String>, q: &str| {
        let mut req = client.get(app.url(&format!("/workorders/{no}{q}")));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    let html = page(Some(cookie.clone()), "").await;
    assert!(html.contains("您反映的内容") && html.contains("垃圾桶两天没人清理"));
    assert!(html.contains("南长街 12 号"), "the address");
    for n in 1..=3 {
        assert!(
            html.contains(&format!("/workorders/{no}/photos/{n}\"")),
            "photo {n}"
        );
    }
    let get = |path: String, cookie: Option<String>| {
        let mut req = client.get(app.url(&path));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        async move { req.send().await.unwrap() }
    };
    let r = get(format!("/workorders/{no}/photos/3"), Some(cookie.clone())).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG);
    let r = get(format!("/workorders/{no}/photos/4"), Some(cookie.clone())).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Another citizen, and nobody at all, find nothing; the query code opens it.
    let theirs = format!("tongban_session={}", other.token);
    let r = get(format!("/workorders/{no}/photos/1"), Some(theirs.clone())).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(!page(Some(theirs), "").await.contains("垃圾桶两天没人清理"));
    let r = get(format!("/workorders/{no}/photos/1"), None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let by_code = page(None, &format!("?code={code}")).await;
    assert!(by_code.contains("垃圾桶两天没人清理"));
    assert!(by_code.contains(&format!("/workorders/{no}/photos/2?code={code}")));
    let r = get(format!("/workorders/{no}/photos/2?code={code}"), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    // The API says the same to the filer.
    let v: serde_json::Value = app
        .get(
            &app.url(&format!("/api/v1/workorders/{no}")),
            &citizen.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["photos"], 3);
    assert_eq!(v["address"], "南长街 12 号");
    let r = app
        .get(
            &app.url(&format!("/api/v1/workorders/{no}/photos/2")),
            &citizen.token,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // Staff see all three.
    let dispatcher = app.staff("pd", "wx-12345", &[Role::Dispatcher]).await;
    let console = app
        .console_page(&format!("/console/workorders/{no}"), &dispatcher)
        .await;
    assert!(console.contains(&format!("/console/workorders/{no}/photo?n=3")));
});
