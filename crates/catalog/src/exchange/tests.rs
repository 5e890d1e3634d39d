//! Tests of the catalogue's exchange formats.
use super::*;

#[test]
fn demo_catalogue_is_valid_and_large_enough() {
    let ms = demo().unwrap();
    assert!(ms.len() >= 30);
    let depts: std::collections::BTreeSet<_> = ms.iter().map(|m| &m.department.code).collect();
    assert!(depts.len() >= 8);
}

#[test]
fn xlsx_round_trip_is_exact() {
    let mut ms = demo().unwrap();
    // An acceptance limit other than the default travels too.
    ms[0].accept_days = 3;
    ms[1].accept_days = 0;
    // English texts travel in their own columns.
    assert!(!ms[0].name_en.is_empty() && !ms[0].materials[0].name_en.is_empty());
    ms[0].conditions_en = "Joining a spouse, child or parent registered here".into();
    // So do the copies asked for.
    ms[0].materials[1].copies = 2;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.xlsx");
    export_xlsx(&ms, &p).unwrap();
    let back = import_xlsx(&p).unwrap();
    assert_eq!(back, ms);
}

#[test]
fn bad_rows_are_reported_by_row_and_nothing_returned() {
    let mut ms = demo().unwrap();
    ms[2].kind = "行政魔法".into();
    ms[4].promised_days = ms[4].legal_days + 1;
    ms[5].accept_days = 21;
    ms[6].materials[0].copies = 0;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.xlsx");
    export_xlsx(&ms, &p).unwrap();
    let errs = import_xlsx(&p).unwrap_err();
    assert_eq!(errs.len(), 4, "{errs:?}");
    assert!(errs.iter().any(|e| e.contains("copies")), "{errs:?}");
    assert!(
        errs[0].contains("row 4") && errs[0].contains("kind"),
        "{errs:?}"
    );
    assert!(
        errs[1].contains("row 6") && errs[1].contains("promised_days"),
        "{errs:?}"
    );
    assert!(
        errs[2].contains("row 7") && errs[2].contains("accept_days"),
        "{errs:?}"
    );
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Any bytes given as a workbook are refused with a message, never a panic.
        #[test]
        fn importer_never_panics_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = import_xlsx_bytes(data);
        }

        /// A real workbook with one cell changed to anything still imports or names a row.
        #[test]
        fn importer_reports_bad_cells(text in "\\PC{0,30}", num in any::<f64>()) {
            let mut ms = demo().unwrap();
            ms[0].fee = text.clone();
            ms[1].name = text;
            ms[2].legal_days = if num.is_finite() { (num.abs() % 400.0) as u32 } else { 0 };
            let bytes = export_xlsx_bytes(&ms).unwrap();
            match import_xlsx_bytes(bytes) {
                Ok(back) => prop_assert_eq!(back.len(), ms.len()),
                Err(errs) => prop_assert!(errs.iter().all(|e| e.contains("row "))),
            }
        }

        /// JSON catalogues of any shape are refused cleanly.
        #[test]
        fn json_import_never_panics(text in "\\PC{0,200}") {
            let _ = import_json(&text);
        }
    }
}
