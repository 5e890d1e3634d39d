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
