//! Checks an uploaded XLSX before any parser sees it. A 2 KB workbook with cells A1 and
//! XFD1048576 made the reader allocate 512 GiB and abort the process (both listeners went
//! down); a zip bomb inflates a few kilobytes into gigabytes. So the archive's entry count,
//! declared and actual uncompressed sizes, every sheet's used range (declared `<dimension>`
//! and the cells it really names) and the shared-string count are bounded first.

use std::io::Read;

/// Limits of a workbook the platform accepts.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: usize,
    /// All entries together, uncompressed.
    pub max_uncompressed: u64,
    /// Cells of a sheet's used range (rows × columns).
    pub max_cells: u64,
    pub max_shared_strings: u64,
}

pub const LIMITS: Limits = Limits {
    max_entries: 500,
    max_uncompressed: 64 * 1024 * 1024,
    max_cells: 2_000_000,
    max_shared_strings: 1_000_000,
};

/// `Ok` when the workbook is within `limits`; otherwise what to fix, for a 422.
pub fn check(data: &[u8], limits: Limits) -> Result<(), String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(data))
        .map_err(|e| format!("not a readable XLSX workbook: {e}"))?;
    if zip.len() > limits.max_entries {
        return Err(format!(
            "the workbook has {} parts; at most {} are accepted",
            zip.len(),
            limits.max_entries
        ));
    }
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| format!("not a readable XLSX workbook: {e}"))?;
        let name = entry.name().to_owned();
        total = total.saturating_add(entry.size());
        if total > limits.max_uncompressed {
            return Err(too_big(limits));
        }
        let is_sheet = name.starts_with("xl/worksheets/") && name.ends_with(".xml");
        let is_strings = name == "xl/sharedStrings.xml";
        if !(is_sheet || is_strings) {
            continue;
        }
        // Read no more than the limit allows, whatever the entry declares.
        let mut body = Vec::new();
        (&mut entry)
            .take(limits.max_uncompressed + 1)
            .read_to_end(&mut body)
            .map_err(|e| format!("not a readable XLSX workbook: {name}: {e}"))?;
        if body.len() as u64 > limits.max_uncompressed {
            return Err(too_big(limits));
        }
        if is_sheet {
            let cells = used_cells(&body);
            if cells > limits.max_cells {
                return Err(format!(
                    "{name} spans {cells} cells; a sheet may span at most {} (remove stray cells far from the data)",
                    limits.max_cells
                ));
            }
        } else if let Some(n) = attr_u64(&body, b"<sst", b"uniqueCount=\"")
            .into_iter()
            .chain(attr_u64(&body, b"<sst", b"count=\""))
            .max()
        {
            if n > limits.max_shared_strings {
                return Err(format!(
                    "the workbook declares {n} shared strings; at most {} are accepted",
                    limits.max_shared_strings
                ));
            }
        }
    }
    Ok(())
}

fn too_big(limits: Limits) -> String {
    format!(
        "the workbook unpacks to more than {} MiB; split it or remove what is not the catalogue",
        limits.max_uncompressed / (1024 * 1024)
    )
}

/// The number of an attribute inside the first `element` tag.
fn attr_u64(xml: &[u8], element: &[u8], attr: &[u8]) -> Option<u64> {
    let start = find(xml, element, 0)?;
    let end = find(xml, b">", start)?;
    let tag = &xml[start..end];
    let at = find(tag, attr, 0)? + attr.len();
    let digits: Vec<u8> = tag[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// A cell reference such as `XFD1048576`: (column from 1, row from 1).
fn cell_ref(s: &[u8]) -> Option<(u64, u64)> {
    let letters = s.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if letters == 0 || letters > 3 {
        return None;
    }
    let col = s[..letters].iter().fold(0u64, |a, b| {
        a * 26 + u64::from(b.to_ascii_uppercase() - b'A' + 1)
    });
    let digits: Vec<u8> = s[letters..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    let row: u64 = std::str::from_utf8(&digits).ok()?.parse().ok()?;
    Some((col, row))
}

/// The bounding box of the cells a sheet names.
struct Bounds {
    c0: u64,
    c1: u64,
    r0: u64,
    r1: u64,
}

impl Bounds {
    fn see(&mut self, (c, r): (u64, u64)) {
        self.c0 = self.c0.min(c);
        self.c1 = self.c1.max(c);
        self.see_row(r);
    }
    fn see_row(&mut self, r: u64) {
        self.r0 = self.r0.min(r);
        self.r1 = self.r1.max(r);
    }
}

/// The cells of the sheet's used range: the bounding box of its declared dimension and of
/// every cell and row it names (a reader sizes its grid by these).
fn used_cells(xml: &[u8]) -> u64 {
    let mut b = Bounds {
        c0: u64::MAX,
        c1: 0,
        r0: u64::MAX,
        r1: 0,
    };
    // Declared: <dimension ref="A1:XFD1048576"/>.
    if let Some(p) = find(xml, b"<dimension ref=\"", 0) {
        let at = p + 16;
        let end = find(xml, b"\"", at).unwrap_or(at);
        for part in xml[at..end].split(|b| *b == b':') {
            if let Some(x) = cell_ref(part) {
                b.see(x);
            }
        }
    }
    // Named: <c r="B7" …> and <row r="7" …>.
    let mut i = 0;
    while let Some(p) = find(xml, b" r=\"", i) {
        let at = p + 4;
        i = at;
        let tag_start = xml[..p].iter().rposition(|b| *b == b'<').unwrap_or(0);
        let tag = &xml[tag_start..p];
        if tag.starts_with(b"<c") {
            if let Some(x) = cell_ref(&xml[at..]) {
                b.see(x);
            }
        } else if tag.starts_with(b"<row") {
            let digits: Vec<u8> = xml[at..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .copied()
                .collect();
            if let Some(r) = std::str::from_utf8(&digits)
                .ok()
                .and_then(|d| d.parse().ok())
            {
                b.see_row(r);
            }
        }
    }
    if b.c1 == 0 || b.r1 == 0 {
        return 0;
    }
    let cols = b.c1 - b.c0.min(b.c1) + 1;
    let rows = b.r1 - b.r0.min(b.r1) + 1;
    cols.saturating_mul(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn workbook(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let opt = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            for (name, body) in parts {
                z.start_file(*name, opt).unwrap();
                z.write_all(body).unwrap();
            }
            z.finish().unwrap();
        }
        buf.into_inner()
    }

    #[test]
    fn a_dimension_bomb_is_refused() {
        let sheet = br#"<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>"#;
        let wb = workbook(&[("xl/worksheets/sheet1.xml", sheet)]);
        assert!(wb.len() < 4096);
        let e = check(&wb, LIMITS).unwrap_err();
        assert!(e.contains("cells"), "{e}");
        let declared = br#"<worksheet><dimension ref="A1:XFD1048576"/><sheetData/></worksheet>"#;
        assert!(check(&workbook(&[("xl/worksheets/sheet1.xml", declared)]), LIMITS).is_err());
    }

    #[test]
    fn a_zip_bomb_is_refused() {
        let big = vec![b'a'; 8 * 1024 * 1024];
        let wb = workbook(&[("xl/worksheets/sheet1.xml", &big)]);
        let small = Limits {
            max_uncompressed: 4 * 1024 * 1024,
            ..LIMITS
        };
        assert!(wb.len() < 64 * 1024, "compresses well: {}", wb.len());
        assert!(check(&wb, small).unwrap_err().contains("MiB"));
    }

    #[test]
    fn a_shared_string_bomb_is_refused() {
        let sst = br#"<sst xmlns="x" count="900000000" uniqueCount="900000000"></sst>"#;
        assert!(check(&workbook(&[("xl/sharedStrings.xml", sst)]), LIMITS)
            .unwrap_err()
            .contains("shared strings"));
    }

    #[test]
    fn an_ordinary_sheet_passes() {
        let sheet = br#"<worksheet><dimension ref="A1:M40"/><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="M40"/></row></sheetData></worksheet>"#;
        assert!(check(&workbook(&[("xl/worksheets/sheet1.xml", sheet)]), LIMITS).is_ok());
        assert_eq!(cell_ref(b"XFD1048576"), Some((16384, 1_048_576)));
        assert!(check(b"not a zip", LIMITS).is_err());
    }
}
