//! Open311 media: a partner uploads photos as multipart `media` parts (checked as the site's)
//! or names its own picture with `media_url` (stored, never fetched); a public order's photo
//! is published as an expiring signed link that serves it re-encoded without EXIF; links that
//! are forged or expired, and photos of orders that are not public, are refused.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::Value;

/// A real JPEG whose EXIF segment carries a GPS position.
fn jpeg_with_gps() -> Vec<u8> {
    let img = image::RgbImage::from_fn(24, 12, |x, y| image::Rgb([x as u8 * 10, y as u8 * 20, 90]));
    let mut plain = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90)
        .encode_image(&img)
        .unwrap();
    let plain = plain.into_inner();
    let payload = b"Exif\0\0MM\0*GPSLatitude 31.57N GPSLongitude 120.30E";
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&plain[2..]);
    out
}

on_both_engines!(open311_media, |app: TestApp| async move {
    let key = app
        .db()
        .write(|c| tongban_hotline::open311::add_key(c, "随手拍", 0))
        .await
        .unwrap();
    let fields = |form: reqwest::multipart::Form| {
        form.text("api_key", key.clone())
            .text("service_code", "utility.water")
            .text("address_string", "梁溪区人民路 1 号")
            .text("description", "水管爆裂，水漫到马路上")
            .text("phone", "13900004444")
    };
    let photo = jpeg_with_gps();
    let form = fields(reqwest::multipart::Form::new()).part(
        "media",
        reqwest::multipart::Part::bytes(photo.clone()).file_name("p.jpg"),
    );
    let r = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let no = r.json::<Value>().await.unwrap()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The same checks as the site's upload: a PDF is no photo, four are too many.
    let pdf = fields(reqwest::multipart::Form::new()).part(
        "media",
        reqwest::multipart::Part::bytes(b"%PDF-1.4".to_vec()).file_name("x.pdf"),
    );
    let r = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .multipart(pdf)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "{}",
        r.text().await.unwrap()
    );
    let mut four = fields(reqwest::multipart::Form::new());
    for i in 0..4 {
        four = four.part(
            "media",
            reqwest::multipart::Part::bytes(photo.clone()).file_name(format!("{i}.jpg")),
        );
    }
    let r = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .multipart(four)
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), StatusCode::CREATED);

    // media_url given by the partner: kept as given, shown back to it; a bad one refused.
    let with_url = |u: &str| {
        vec![
            ("api_key", key.clone()),
            ("service_code", "utility.water".to_owned()),
            ("address_string", "梁溪区中山路".to_owned()),
            ("description", "路面积水".to_owned()),
            ("phone", "13900004444".to_owned()),
            ("media_url", u.to_owned()),
        ]
    };
    let r = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .form(&with_url("javascript:alert(1)"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .form(&with_url("https://partner.example.cn/p/1.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let no2 = r.json::<Value>().await.unwrap()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let own: Value = app
        .client
        .get(app.url(&format!("/open311/v2/requests/{no2}.json?api_key={key}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(own[0]["media_url"], "https://partner.example.cn/p/1.jpg");

    // Not public: the partner's own listing gives no link to its photo.
    let own: Value = app
        .client
        .get(app.url(&format!("/open311/v2/requests/{no}.json?api_key={key}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(own[0]["media_url"].is_null(), "{own}");
    let sign = |no: &str, n: usize, exp: i64| {
        tongban_platform::vault::keys()
            .unwrap()
            .blind("open311-media", &format!("{no}/{n}/{exp}"))
    };
    let later = tongban_platform::time::now_millis() / 1000 + 600;
    let r = app
        .client
        .get(app.url(&format!(
            "/open311/v2/media/{no}/0?exp={later}&sig={}",
            sign(&no, 0, later)
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "a photo of an order that is not public"
    );

    // Published: the link serves the photo without its EXIF.
    let n2 = no.clone();
    app.db()
        .write(move |c| {
            c.execute(
                "UPDATE work_orders SET public = TRUE, published_at = 1 WHERE order_no = $1",
                tongban_platform::params![n2.as_str()],
            )
            .map(|_| ())
        })
        .await
        .unwrap();
    let listed: Value = app
        .client
        .get(app.url(&format!("/open311/v2/requests/{no}.json")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link = listed[0]["media_url"].as_str().unwrap().to_owned();
    assert!(
        link.contains(&format!("/open311/v2/media/{no}/0?exp=")),
        "{link}"
    );
    let path = &link[link.find("/open311/").unwrap()..];
    let r = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let served = r.bytes().await.unwrap().to_vec();
    assert!(!served.windows(4).any(|w| w == b"Exif"));
    assert!(!served.windows(11).any(|w| w == b"GPSLatitude"));
    let back = image::load_from_memory(&served).unwrap();
    assert_eq!((back.width(), back.height()), (24, 12));

    // Forged, tampered or expired links are refused.
    let forged = path.replace("sig=", "sig=0");
    let r = app.client.get(app.url(&forged)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let other = path.replace("/0?", "/1?");
    let r = app.client.get(app.url(&other)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a link names one photo");
    let past = tongban_platform::time::now_millis() / 1000 - 10;
    let r = app
        .client
        .get(app.url(&format!(
            "/open311/v2/media/{no}/0?exp={past}&sig={}",
            sign(&no, 0, past)
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
});
