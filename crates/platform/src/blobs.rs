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

/// Store `data` durably, sealed with SM4 under the current data key (written, fsynced,
/// renamed into place; file 0600, folders 0700), and return its SM3 digest.
pub fn put(dir: &Path, data: &[u8]) -> std::io::Result<String> {
    let sha = crate::crypto::sm3_hex(data);
    let Some(target) = path_of(dir, &sha) else {
        return Err(std::io::Error::other("bad digest"));
    };
    if target.exists() {
        return Ok(sha);
    }
    let keys = crate::vault::keys().map_err(std::io::Error::other)?;
    let sealed = keys.encrypt_bytes(data).map_err(std::io::Error::other)?;
    let parent = target.parent().unwrap_or(dir);
    make_dirs(parent)?;
    write_private(&target, &sealed)?;
    Ok(sha)
}

/// Create `dir` and its parents, owner-only.
fn make_dirs(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// Write `data` to `target` through a temporary file that only the owner may read.
fn write_private(target: &Path, data: &[u8]) -> std::io::Result<()> {
    let parent = target.parent().unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(
        ".{name}.{}",
        crate::crypto::random_token().get(..8).unwrap_or("tmp")
    ));
    {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let mut f = o.open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, target)
}

/// The contents of a stored file, opened with the data keys.
pub fn get(dir: &Path, sha: &str) -> std::io::Result<Vec<u8>> {
    let stored = match path_of(dir, sha) {
        Some(p) => std::fs::read(p)?,
        None => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "bad digest",
            ))
        }
    };
    let keys = crate::vault::keys().map_err(std::io::Error::other)?;
    keys.decrypt_bytes(&stored).map_err(std::io::Error::other)
}

/// Re-seal every stored file that is in clear or under another key than the current one,
/// and make files and folders owner-only; how many files were rewritten.
pub fn reseal_all(dir: &Path) -> std::io::Result<usize> {
    if !dir.exists() {
        return Ok(0);
    }
    let keys = crate::vault::keys().map_err(std::io::Error::other)?;
    let mut n = 0;
    for sub in std::fs::read_dir(dir)? {
        let sub = sub?.path();
        if !sub.is_dir() {
            continue;
        }
        set_mode(&sub, 0o700)?;
        for f in std::fs::read_dir(&sub)? {
            let path = f?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('.') || !path.is_file() {
                continue;
            }
            let stored = std::fs::read(&path)?;
            if crate::vault::Keys::file_key(&stored) != Some(keys.current.as_str()) {
                let plain = keys
                    .decrypt_bytes(&stored)
                    .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
                write_private(
                    &path,
                    &keys.encrypt_bytes(&plain).map_err(std::io::Error::other)?,
                )?;
                n += 1;
            }
            set_mode(&path, 0o600)?;
        }
    }
    set_mode(dir, 0o700)?;
    Ok(n)
}

/// Files not under `current` (0 after a finished rotation).
pub fn stale(dir: &Path, current: &str) -> std::io::Result<usize> {
    let mut n = 0;
    if !dir.exists() {
        return Ok(0);
    }
    for sub in std::fs::read_dir(dir)? {
        let sub = sub?.path();
        if !sub.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&sub)? {
            let path = f?.path();
            let hidden = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if !hidden
                && path.is_file()
                && crate::vault::Keys::file_key(&std::fs::read(&path)?) != Some(current)
            {
                n += 1;
            }
        }
    }
    Ok(n)
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
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
