//! Pictures made fit to publish: decoded and encoded again, so that nothing but the pixels
//! goes out — no EXIF (with its GPS position and camera serial), no comments, no thumbnails.
//! Decoding is bounded (dimensions and memory), so a crafted file cannot exhaust the node.

use image::{ImageFormat, ImageReader, Limits};
use std::io::Cursor;

/// The largest picture decoded, per side.
const MAX_SIDE: u32 = 8_000;

/// `data` (a JPEG, PNG or GIF) encoded anew without metadata: JPEG stays JPEG (quality 85),
/// the others become PNG. Returns the bytes and their content type.
pub fn without_metadata(data: &[u8]) -> Result<(Vec<u8>, &'static str), String> {
    let mut reader = ImageReader::new(Cursor::new(data))
        .with_guessed_format()
        .map_err(|e| format!("not a picture: {e}"))?;
    let format = reader.format().ok_or("not a picture the platform reads")?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| format!("cannot read the picture: {e}"))?;
    let mut out = Cursor::new(Vec::new());
    let kind = if format == ImageFormat::Jpeg {
        let rgb = img.to_rgb8();
        let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
        enc.encode_image(&rgb)
            .map_err(|e| format!("cannot encode the picture: {e}"))?;
        "image/jpeg"
    } else {
        img.write_to(&mut out, ImageFormat::Png)
            .map_err(|e| format!("cannot encode the picture: {e}"))?;
        "image/png"
    };
    Ok((out.into_inner(), kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG with an EXIF segment holding a GPS tag's bytes.
    fn jpeg_with_exif() -> Vec<u8> {
        let img =
            image::RgbImage::from_fn(16, 8, |x, y| image::Rgb([x as u8 * 16, y as u8 * 32, 200]));
        let mut plain = Cursor::new(Vec::new());
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90)
            .encode_image(&img)
            .unwrap();
        let plain = plain.into_inner();
        // SOI, then an APP1 "Exif" segment, then the rest.
        let payload = b"Exif\0\0MM\0*GPSLatitude 31.49N GPSLongitude 120.31E";
        let len = (payload.len() + 2) as u16;
        let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(payload);
        out.extend_from_slice(&plain[2..]);
        out
    }

    #[test]
    fn metadata_is_gone_and_the_picture_stays() {
        let with = jpeg_with_exif();
        assert!(with.windows(4).any(|w| w == b"Exif"));
        let (clean, kind) = without_metadata(&with).unwrap();
        assert_eq!(kind, "image/jpeg");
        assert!(!clean.windows(4).any(|w| w == b"Exif"));
        assert!(!clean.windows(11).any(|w| w == b"GPSLatitude"));
        let back = image::load_from_memory(&clean).unwrap();
        assert_eq!((back.width(), back.height()), (16, 8));
        assert!(without_metadata(b"%PDF-1.4 not a picture").is_err());
    }
}
