//! Tests of the PDF documents.
use super::*;

fn doc() -> Doc {
    Doc {
        title: "受理回执".into(),
        issuer: "某市政务服务中心".into(),
        rows: vec![
            Row::Field("办件编号".into(), "320200-20261201-000001".into()),
            Row::Heading("材料".into()),
            Row::Field("事项".into(), "出生登记 ".repeat(20)),
        ],
        qr: Some(Qr {
            url: "http://127.0.0.1:8080/my/cases/320200-20261201-000001".into(),
            caption: "扫码查看办理进度".into(),
        }),
        notes: vec!["请留意短信通知。".into()],
        footer: "Tongban".into(),
    }
}

#[test]
fn a_document_is_a_pdf_with_its_font_and_code() {
    let bytes = render(&doc());
    assert!(bytes.starts_with(b"%PDF-"));
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("/Type0"), "a CID-keyed font");
    assert!(text.contains("/Subtype /Image"), "the QR code");
    assert!(text.contains("/URI"), "the code links to the case");
    if font::current().is_some() {
        assert!(
            text.contains("/FontFile2") || text.contains("/FontFile3"),
            "the found font is embedded"
        );
        assert!(text.contains("/ToUnicode"));
    } else {
        assert!(text.contains("/STSong-Light"));
    }
}

#[test]
fn long_values_wrap_within_the_column() {
    let s = Setter::new(font::current());
    let lines = s.wrap(&"出生登记".repeat(40), BODY, 300.0);
    assert!(lines.len() > 1);
    assert!(lines.iter().all(|l| s.width(l, BODY) <= 300.0 + BODY));
    assert_eq!(lines.concat(), "出生登记".repeat(40));
    let words = s.wrap("Birth registration for a newborn child", BODY, 80.0);
    assert!(words.iter().all(|l| !l.starts_with(' ')), "{words:?}");
}

#[test]
fn the_code_has_a_quiet_zone_and_dark_modules() {
    let (side, px) = qr_pixels("http://example.test/my/cases/1");
    assert_eq!(px.len(), side * side);
    assert!(
        px[..side * 4 * QR_PX].iter().all(|&p| p == 255),
        "quiet zone"
    );
    assert!(px.iter().filter(|&&p| p == 0).count() > side);
}
