//! The CJK font documents are set in: found once per process, subset into each document.
//!
//! `TONGBAN_PDF_FONT` names a TrueType/OpenType file or collection (`path` or `path#index`);
//! otherwise the usual places of Debian's, macOS's and Windows' CJK fonts are tried. Without
//! any, documents name Adobe's standard `STSong-Light` (Adobe-GB1), which every PDF reader
//! supplies itself, and say so in the log at start.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Where CJK fonts usually are; the first that parses is used.
const CANDIDATES: &[&str] = &[
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "C:\\Windows\\Fonts\\msyh.ttc",
    "C:\\Windows\\Fonts\\simsun.ttc",
];

/// A font file read into memory, with the face to use.
pub struct Loaded {
    pub path: PathBuf,
    pub data: Vec<u8>,
    pub index: u32,
    pub name: String,
}

static FONT: OnceLock<Option<Loaded>> = OnceLock::new();

/// Finds the font (once per process) and says which; `configured` is `TONGBAN_PDF_FONT`.
/// A configured file that cannot be used is an error, so a typo is not silently replaced.
pub fn init(configured: Option<&Path>) -> Result<Option<&'static Loaded>, String> {
    if let Some(found) = FONT.get() {
        return Ok(found.as_ref());
    }
    let found = match configured {
        Some(path) => Some(load(path)?),
        None => CANDIDATES.iter().find_map(|p| load(Path::new(p)).ok()),
    };
    Ok(FONT.get_or_init(|| found).as_ref())
}

/// [`init`], and the log line that says which font documents embed, or that none was found.
pub fn announce(configured: Option<&Path>) -> Result<(), String> {
    match init(configured)? {
        Some(f) => {
            tracing::info!(font = %f.name, path = %f.path.display(), "documents embed this font")
        }
        None => tracing::warn!(
            "no CJK font found: documents name Adobe's STSong-Light instead of embedding one; \
             install fonts-noto-cjk or set TONGBAN_PDF_FONT"
        ),
    }
    Ok(())
}

/// The font in use, finding one with the defaults if `init` was not called.
pub fn current() -> Option<&'static Loaded> {
    FONT.get_or_init(|| CANDIDATES.iter().find_map(|p| load(Path::new(p)).ok()))
        .as_ref()
}

fn load(given: &Path) -> Result<Loaded, String> {
    let text = given.to_string_lossy();
    let (path, index) = match text.rsplit_once('#') {
        Some((p, i)) if i.parse::<u32>().is_ok() => (PathBuf::from(p), i.parse::<u32>().ok()),
        _ => (given.to_path_buf(), None),
    };
    let data =
        std::fs::read(&path).map_err(|e| format!("cannot read font {}: {e}", path.display()))?;
    let faces = ttf_parser::fonts_in_collection(&data).unwrap_or(1);
    // In a collection, prefer the Simplified Chinese face (Noto's "… SC", "… CN").
    let index = index.unwrap_or_else(|| {
        (0..faces)
            .find(|&i| {
                ttf_parser::Face::parse(&data, i)
                    .ok()
                    .and_then(|f| family(&f))
                    .is_some_and(|n| n.contains(" SC") || n.contains(" CN"))
            })
            .unwrap_or(0)
    });
    let face = ttf_parser::Face::parse(&data, index)
        .map_err(|e| format!("{} is not a usable font: {e}", path.display()))?;
    if face.glyph_index('中').is_none() {
        return Err(format!("{} has no Chinese glyphs", path.display()));
    }
    if face
        .raw_face()
        .table(ttf_parser::Tag::from_bytes(b"CFF2"))
        .is_some()
    {
        return Err(format!("{}: CFF2 fonts cannot be embedded", path.display()));
    }
    let name = family(&face).unwrap_or_else(|| "CJK".into());
    Ok(Loaded {
        path,
        data,
        index,
        name,
    })
}

fn family(face: &ttf_parser::Face) -> Option<String> {
    face.names()
        .into_iter()
        .filter(|n| n.name_id == ttf_parser::name_id::FAMILY && n.is_unicode())
        .find_map(|n| n.to_string())
}
