//! Content-addressed file store for uploaded materials: each file lives once under its SM3
//! digest in the configured directory, which all nodes share.

use std::io::Write;
use std::path::{Path, PathBuf};

pub fn path_of(dir: &Path, sha: &str) -> Option<PathBuf> {
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(dir.join(&sha[..2]).join(sha))
}

/// Store `data` durably (written, fsynced, renamed into place) and return its SM3 digest.
pub fn put(dir: &Path, data: &[u8]) -> std::io::Result<String> {
    let sha = crate::crypto::sm3_hex(data);
    let Some(target) = path_of(dir, &sha) else {
        return Err(std::io::Error::other("bad digest"));
    };
    if target.exists() {
        return Ok(sha);
    }
    let parent = target.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent)?;
    let tmp = parent.join(format!(
        ".{sha}.{}",
        crate::crypto::random_token().get(..8).unwrap_or("tmp")
    ));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &target)?;
    Ok(sha)
}

pub fn get(dir: &Path, sha: &str) -> std::io::Result<Vec<u8>> {
    match path_of(dir, sha) {
        Some(p) => std::fs::read(p),
        None => Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "bad digest",
        )),
    }
}

/// The file type by its content (magic bytes), as the extension a matter lists; `None` when
/// the content is no format the platform accepts. The name a browser sends is not trusted.
pub fn sniff(data: &[u8]) -> Option<&'static [&'static str]> {
    const KINDS: [(&[u8], &[&str]); 6] = [
        (b"%PDF-", &["pdf"]),
        (b"\x89PNG\r\n\x1a\n", &["png"]),
        (b"\xFF\xD8\xFF", &["jpg", "jpeg"]),
        // OFD (GB/T 33190), XLSX and DOCX are ZIP containers.
        (b"PK\x03\x04", &["ofd", "xlsx", "docx"]),
        (b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", &["doc", "xls"]),
        (b"GIF8", &["gif"]),
    ];
    KINDS
        .iter()
        .find(|(magic, _)| data.starts_with(magic))
        .map(|(_, exts)| *exts)
}

/// A file name safe to keep as metadata: the last path component, without control characters.
pub fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    let trimmed = cleaned
        .trim_matches(|c: char| c == '.' || c.is_whitespace())
        .to_owned();
    if trimmed.is_empty() {
        "file".to_owned()
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_decides_the_type() {
        assert_eq!(sniff(b"%PDF-1.7 ..."), Some(&["pdf"][..]));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nIHDR"), Some(&["png"][..]));
        assert!(sniff(b"MZ\x90\x00 an exe").is_none());
        assert!(sniff(b"").is_none());
    }

    #[test]
    fn hostile_names_are_cleaned() {
        assert_eq!(clean_name("../../etc/passwd.pdf"), "passwd.pdf");
        assert_eq!(clean_name("..\\..\\boot.ini"), "boot.ini");
        assert_eq!(clean_name("a\u{0}b\nc.pdf"), "abc.pdf");
        assert_eq!(clean_name(".."), "file");
        assert_eq!(clean_name("结婚证.pdf"), "结婚证.pdf");
    }

    #[test]
    fn paths_stay_inside_the_store() {
        let dir = std::path::Path::new("/srv/uploads");
        assert!(path_of(dir, "../../etc/passwd").is_none());
        let sha = crate::crypto::sm3_hex(b"x");
        assert!(path_of(dir, &sha).unwrap().starts_with(dir));
    }
}
