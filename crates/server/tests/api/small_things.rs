//! Small things that break trust: the API link in every page's footer opens on the listener
//! that served the page, and an unknown API path names that listener's own document.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use tongban_platform::identity::Role;

/// The footer's API link of a page.
fn api_link(html: &str) -> String {
    let footer = html.split("site-footer").nth(1).expect("a footer");
    let href = footer
        .split("href=\"")
        .nth(1)
        .expect("a link in the footer");
    href.split('"').next().unwrap_or_default().to_owned()
}

on_both_engines!(
    api_links_open_on_their_listener,
    |app: TestApp| async move {
        // A public page: its link opens on the public listener.
        let home = app.client.get(app.url("/")).send().await.unwrap();
        let link = api_link(&home.text().await.unwrap());
        let doc = app.client.get(app.url(&link)).send().await.unwrap();
        assert_eq!(
            doc.status(),
            StatusCode::OK,
            "{link} on the public listener"
        );
        let v: serde_json::Value = doc.json().await.unwrap();
        assert!(
            v["openapi"].as_str().is_some_and(|s| s.starts_with('3')),
            "{v}"
        );

        // A console page: its link opens on the internal listener.
        let staff = app.staff("s-footer", "wx-wjw", &[Role::Clerk]).await;
        let link = api_link(&app.console_page("/console", &staff).await);
        let doc = app.client.get(app.iurl(&link)).send().await.unwrap();
        assert_eq!(
            doc.status(),
            StatusCode::OK,
            "{link} on the internal listener"
        );
        let v: serde_json::Value = doc.json().await.unwrap();
        assert!(v["paths"].as_object().is_some_and(|p| !p.is_empty()), "{v}");

        // An unknown API path on each listener names that listener's document, which exists.
        for (url, base) in [
            (app.url("/api/v1/nowhere"), app.public.clone()),
            (app.iurl("/api/v1/nowhere"), app.internal.clone()),
        ] {
            let r = app.client.get(&url).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND);
            let body: serde_json::Value = r.json().await.unwrap();
            let message = body["error"]["message"].as_str().unwrap_or_default();
            let named = message
                .split_whitespace()
                .find(|w| w.starts_with("/api/openapi"))
                .expect("names a document");
            let doc = app
                .client
                .get(format!("{base}{named}"))
                .send()
                .await
                .unwrap();
            assert_eq!(doc.status(), StatusCode::OK, "{url} names {named}");
        }
    }
);

// 我的诉求 is in the navigation of a logged-in citizen (and not of a visitor, who has none).
on_both_engines!(
    my_requests_are_in_the_navigation,
    |app: TestApp| async move {
        let citizen = app.citizen().await;
        let nav = |html: &str| {
            let start = html.find("class=\"main-nav\"").expect("a main navigation");
            let end = start + html[start..].find("</nav>").expect("its end");
            html[start..end].to_owned()
        };
        let r = app
            .client
            .get(app.url("/"))
            .header("cookie", format!("tongban_session={}", citizen.token))
            .send()
            .await
            .unwrap();
        let html = r.text().await.unwrap();
        assert!(
            nav(&html).contains("<a href=\"/my/workorders\">我的诉求</a>"),
            "{}",
            nav(&html)
        );
        let html = app
            .client
            .get(app.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!nav(&html).contains("/my/workorders"));
    }
);
