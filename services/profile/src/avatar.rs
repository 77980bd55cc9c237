//! Checking and normalising uploaded avatars.
//!
//! The format is judged by the bytes (magic number, then a real decode),
//! never by a file name or declared type. Dimensions are checked from the
//! header before any pixel is decoded, and the image is re-encoded as a
//! 256×256 PNG, which drops EXIF and anything else riding in the file.

use std::io::Cursor;

use chat_platform::ServiceError;
use image::{ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};

/// Largest upload accepted, in bytes.
pub const MAX_BYTES: usize = chat_platform::domain::MAX_AVATAR_BYTES;
/// Side of the stored square image.
pub const SIZE: u32 = 256;
pub const CONTENT_TYPE: &str = "image/png";

fn unsupported(reason: &str) -> ServiceError {
    ServiceError::UnsupportedMedia {
        field: "avatar",
        reason: reason.to_owned(),
    }
}

/// How big an image may be before and while it is decoded.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// Largest width or height, checked from the header before decoding.
    pub max_dimension: u32,
    /// Most bytes the decoder may allocate.
    pub max_alloc: u64,
}

/// Decodes `data`, refusing anything but PNG, JPEG, GIF or WebP, and returns
/// the re-encoded PNG.
pub fn normalise(data: &[u8], limits: DecodeLimits) -> Result<Vec<u8>, ServiceError> {
    let max = limits.max_dimension;
    if data.is_empty() {
        return Err(unsupported("avatar file is empty"));
    }
    let format = image::guess_format(data).map_err(|_| unsupported("avatar must be a PNG, JPEG, GIF or WebP image"))?;
    if !matches!(
        format,
        ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP
    ) {
        return Err(unsupported("avatar must be a PNG, JPEG, GIF or WebP image"));
    }
    let (width, height) = ImageReader::with_format(Cursor::new(data), format)
        .into_dimensions()
        .map_err(|_| unsupported("avatar is not a readable image"))?;
    if width == 0 || height == 0 || width > max || height > max {
        return Err(unsupported(&format!(
            "avatar dimensions {width}×{height} are outside 1–{max} pixels"
        )));
    }
    let mut reader = ImageReader::with_format(Cursor::new(data), format);
    let mut caps = Limits::default();
    caps.max_image_width = Some(max);
    caps.max_image_height = Some(max);
    caps.max_alloc = Some(limits.max_alloc);
    reader.limits(caps);
    let image = reader
        .decode()
        .map_err(|_| unsupported("avatar is not a readable image"))?;
    let square = image.resize_to_fill(SIZE, SIZE, image::imageops::FilterType::Triangle);
    let mut out = Cursor::new(Vec::new());
    square
        .to_rgba8()
        .write_to(&mut out, ImageFormat::Png)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("encoding avatar: {e}")))?;
    Ok(out.into_inner())
}

/// A new id for a stored avatar: unique per upload, so its URL changes.
pub fn new_id(user_id: i64, image: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(user_id.to_le_bytes());
    hasher.update(
        chrono::Utc::now()
            .timestamp_nanos_opt()
            .unwrap_or_default()
            .to_le_bytes(),
    );
    hasher.update(image);
    let digest = hasher.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The avatar fuzz target's entry (`fuzz/`): sniffing and decoding any
/// bytes under the default caps must refuse, never panic.
#[doc(hidden)]
pub fn fuzz(data: &[u8]) {
    let limits = DecodeLimits {
        max_dimension: 4096,
        max_alloc: 64 * 1024 * 1024,
    };
    let _ = normalise(data, limits);
}
