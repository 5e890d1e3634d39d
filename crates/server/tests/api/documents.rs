//! Receipts and result notices: PDFs the applicant (and no one else) downloads, whose QR code
//! decodes to the case page. The code is read twice: from the image in the file, and from
//! the page as poppler (a real PDF reader) draws it, which also shows the embedded font and
//! the text; poppler-utils is required in CI and reported as skipped where it is missing.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use std::io::Read;
use std::process::Command;
use tongban_platform::identity::Role;

/// The QR code's text from a grey image.
fn decode_qr(w: usize, h: usize, px: &[u8]) -> Vec<String> {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| px[y * w + x]);
    img.detect_grids()
        .iter()
        .filter_map(|g| g.decode().ok().map(|(_, text)| text))
        .collect()
}

/// The number after `key` in a PDF dictionary.
fn number_after(dict: &str, key: &str) -> usize {
    let at = dict.find(key).unwrap_or_else(|| panic!("{key} in {dict}")) + key.len();
    dict[at..]
        .trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a number after {key}"))
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

/// Every image XObject of the file (8-bit grey, compressed), decoded as QR codes.
pub(crate) fn codes_in_images(pdf: &[u8]) -> Vec<String> {
    let mut found = vec![];
    let mut from = 0;
    while let Some(at) = find(pdf, b"/Subtype /Image", from) {
        let start = pdf[..at].windows(2).rposition(|w| w == b"<<").unwrap();
        let dict_end = find(pdf, b">>", at).unwrap();
        let dict = std::str::from_utf8(&pdf[start..dict_end]).expect("an ASCII dictionary");
        let (w, h, len) = (
            number_after(dict, "/Width"),
            number_after(dict, "/Height"),
            number_after(dict, "/Length"),
        );
        let stream = find(pdf, b"stream", dict_end).unwrap() + 6;
        let body_at = stream + if pdf[stream] == b'\r' { 2 } else { 1 };
        let mut pixels = vec![];
        flate2::read::ZlibDecoder::new(&pdf[body_at..body_at + len])
            .read_to_end(&mut pixels)
            .unwrap();
        assert_eq!(pixels.len(), w * h, "8-bit grey pixels");
        found.extend(decode_qr(w, h, &pixels));
        from = body_at + len;
    }
    found
}

/// Poppler's view of the file: its text, its fonts, and the QR codes on its first page.
pub(crate) struct Poppler {
    pub(crate) text: String,
    pub(crate) fonts: String,
    pub(crate) codes: Vec<String>,
}

pub(crate) fn poppler(pdf: &[u8]) -> Option<Poppler> {
    if Command::new("pdftoppm").arg("-v").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "poppler-utils (pdftoppm, pdftotext, pdffonts) is required in CI"
        );
        println!("skipped: poppler-utils is not installed; the PDF was not drawn by a reader");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.pdf");
    std::fs::write(&file, pdf).unwrap();
    let run = |cmd: &str, args: &[&str]| {
        let out = Command::new(cmd).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let f = file.to_str().unwrap();
    let text = String::from_utf8(run("pdftotext", &["-layout", f, "-"])).unwrap();
    let fonts = String::from_utf8(run("pdffonts", &[f])).unwrap();
    let prefix = dir.path().join("page");
    run(
        "pdftoppm",
        &[
            "-r",
            "150",
            "-gray",
            "-f",
            "1",
            "-l",
            "1",
            f,
            prefix.to_str().unwrap(),
        ],
    );
    let page = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "pgm"))
        .expect("pdftoppm drew the page");
    let pgm = std::fs::read(page).unwrap();
    // "P5\n<w> <h>\n255\n" then one byte per pixel.
    let mut fields = vec![];
    let mut at = 0;
    while fields.len() < 4 {
        while pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&pgm[start..at]).into_owned());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let px = &pgm[at + 1..];
    assert_eq!(px.len(), w * h);
    Some(Poppler {
        text,
        fonts,
        codes: decode_qr(w, h, px),
    })
}

async fn pdf(app: &TestApp, url: &str, token: &str) -> Vec<u8> {
    let r = app.get(url, token).await;
    assert_eq!(r.status(), StatusCode::OK, "{url}");
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-store"));
    let bytes = r.bytes().await.unwrap().to_vec();
    assert!(bytes.starts_with(b"%PDF-"));
    bytes
}

on_both_engines!(receipt_and_result_documents, |app: TestApp| async move {
    let citizen = app.citizen().await;
    let case_no = app.submit_birth(&citizen).await;
    let case_url = app.url(&format!("/my/cases/{case_no}"));
    let cookie = format!("tongban_session={}", citizen.token);

    let receipt = pdf(
        &app,
        &app.url(&format!("/api/v1/cases/{case_no}/receipt.pdf")),
        &citizen.token,
    )
    .await;
    assert_eq!(codes_in_images(&receipt), vec![case_url.clone()]);
    if let Some(p) = poppler(&receipt) {
        assert_eq!(p.codes, vec![case_url.clone()], "the drawn page's code");
        assert!(p.text.contains("申请受理回执"), "{}", p.text);
        assert!(p.text.contains(&case_no), "{}", p.text);
        assert!(
            p.text.contains("申请人居民身份证"),
            "materials listed: {}",
            p.text
        );
        assert!(p.text.contains("李四"), "the applicant: {}", p.text);
        if tongban_web::pdf::font::current().is_some() {
            // name, type, encoding, then emb sub uni: yes yes yes.
            assert!(
                p.fonts.contains("Identity-H       yes yes yes"),
                "{}",
                p.fonts
            );
        }
    }

    // Only the applicant; no one without a session.
    let other = app.citizen().await;
    let r = app
        .get(
            &app.url(&format!("/api/v1/cases/{case_no}/receipt.pdf")),
            &other.token,
        )
        .await;
    assert_eq!(error_code(r).await.1, "case_not_found");
    let r = app
        .client
        .get(app.url(&format!("/api/v1/cases/{case_no}/receipt.pdf")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // No result before the decision; then the notice with the opinion.
    let result_url = app.url(&format!("/api/v1/cases/{case_no}/result.pdf"));
    let (status, code, _) = error_code(app.get(&result_url, &citizen.token).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "no_result_yet")
    );
    let clerk = app.staff("clerk1", "wx-wjw", &[Role::Clerk]).await;
    let reviewer = app.staff("reviewer1", "wx-wjw", &[Role::Reviewer]).await;
    let approver = app.staff("approver1", "wx-wjw", &[Role::Approver]).await;
    for (who, action, note) in [
        (&clerk, "accept", ""),
        (&reviewer, "review", "材料齐全"),
        (&approver, "approve", "准予登记，请按时产检"),
    ] {
        let r = app.act(who, &case_no, action, note).await;
        assert_eq!(r.status(), StatusCode::OK, "{action}");
    }
    let result = pdf(&app, &result_url, &citizen.token).await;
    assert_eq!(codes_in_images(&result), vec![case_url.clone()]);
    if let Some(p) = poppler(&result) {
        assert!(p.text.contains("准予办理决定书"), "{}", p.text);
        assert!(p.text.contains("准予登记，请按时产检"), "{}", p.text);
        assert_eq!(p.codes, vec![case_url.clone()]);
    }

    // The case page links both; the page route serves them in the page's language.
    let page = app
        .client
        .get(&case_url)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("/my/cases/{case_no}/receipt.pdf")));
    assert!(page.contains(&format!("/my/cases/{case_no}/result.pdf")));
    let r = app
        .client
        .get(format!("{case_url}/receipt.pdf"))
        .header("cookie", &cookie)
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let english = r.bytes().await.unwrap();
    if let Some(p) = poppler(&english) {
        assert!(p.text.contains("Application receipt"), "{}", p.text);
    }
});

// The guide offers the matter's application form, blank, to print and fill in by hand.
on_both_engines!(blank_application_form, |app: TestApp| async move {
    let guide = app
        .client
        .get(app.url("/matters/WX-WJ-001"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(guide.contains("/matters/WX-WJ-001/form.pdf"));
    let r = app
        .client
        .get(app.url("/matters/WX-WJ-001/form.pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.unwrap().to_vec();
    assert!(pdf.starts_with(b"%PDF-"));
    if let Some(p) = poppler(&pdf) {
        for text in ["生育登记申请表", "配偶姓名", "申请人居民身份证", "（必填）"]
        {
            assert!(p.text.contains(text), "{text} in {}", p.text);
        }
        assert!(p.codes.is_empty(), "no code on a blank form");
    }
    let r = app
        .client
        .get(app.url("/matters/NO-SUCH/form.pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
});
