//! The compression of packed executions (`store::packed`) and older pipeline versions: zstd against a dictionary of what a
//! record usually says (field names, statuses, common values), so that a blob holds little
//! more than what is unique to its run (ids, timestamps, revisions, artifact keys). The
//! dictionary is prepared once; each thread keeps its compression and decompression contexts.

use std::cell::RefCell;
use std::sync::OnceLock;
use zstd::dict::{DecoderDictionary, EncoderDictionary};

/// A sample packed execution with its unique values blanked.
const DICTIONARY: &[u8] = include_bytes!("packed_dictionary.json");

/// zstd's level: fast (packing runs once per finished execution, under the region's lock).
const LEVEL: i32 = 3;

fn encoder_dictionary() -> &'static EncoderDictionary<'static> {
    static DICT: OnceLock<EncoderDictionary<'static>> = OnceLock::new();
    DICT.get_or_init(|| EncoderDictionary::copy(DICTIONARY, LEVEL))
}

fn decoder_dictionary() -> &'static DecoderDictionary<'static> {
    static DICT: OnceLock<DecoderDictionary<'static>> = OnceLock::new();
    DICT.get_or_init(|| DecoderDictionary::copy(DICTIONARY))
}

thread_local! {
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Compresses `data` (the frame records its size).
pub fn compress(data: &[u8]) -> Result<Vec<u8>, String> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.try_borrow_mut().map_err(|e| e.to_string())?;
        if slot.is_none() {
            *slot = Some(
                zstd::bulk::Compressor::with_prepared_dictionary(encoder_dictionary())
                    .map_err(|e| e.to_string())?,
            );
        }
        match slot.as_mut() {
            Some(compressor) => compressor.compress(data).map_err(|e| e.to_string()),
            None => Err("no compression context".into()),
        }
    })
}

/// Decompresses what `compress` made.
pub fn decompress(blob: &[u8]) -> Result<Vec<u8>, String> {
    let size = match zstd::zstd_safe::get_frame_content_size(blob) {
        Ok(Some(size)) if size <= 64 << 20 => size as usize,
        _ => return Err("not a packed record".into()),
    };
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.try_borrow_mut().map_err(|e| e.to_string())?;
        if slot.is_none() {
            *slot = Some(
                zstd::bulk::Decompressor::with_prepared_dictionary(decoder_dictionary())
                    .map_err(|e| e.to_string())?,
            );
        }
        match slot.as_mut() {
            Some(decompressor) => decompressor
                .decompress(blob, size)
                .map_err(|e| e.to_string()),
            None => Err("no decompression context".into()),
        }
    })
}

/// Compresses a rarely read document (an older pipeline version) without the dictionary.
pub fn compress_plain(data: &[u8]) -> Result<Vec<u8>, String> {
    zstd::bulk::compress(data, LEVEL).map_err(|e| e.to_string())
}

/// Decompresses what `compress_plain` made.
pub fn decompress_plain(blob: &[u8]) -> Result<Vec<u8>, String> {
    match zstd::zstd_safe::get_frame_content_size(blob) {
        Ok(Some(size)) if size <= 64 << 20 => {
            zstd::bulk::decompress(blob, size as usize).map_err(|e| e.to_string())
        }
        _ => Err("not a compressed document".into()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips_and_refuses_garbage() {
        let data = br#"{"execution":{"id":"x","status":"Succeeded"}}"#;
        let blob = super::compress(data).expect("compresses");
        assert_eq!(super::decompress(&blob).expect("decompresses"), data);
        assert!(super::decompress(&[0xff; 8]).is_err());
        assert!(super::decompress(&[]).is_err());
        let blob = super::compress_plain(data).expect("compresses");
        assert_eq!(super::decompress_plain(&blob).expect("decompresses"), data);
        assert!(super::decompress_plain(&[0xff; 8]).is_err());
    }
}
