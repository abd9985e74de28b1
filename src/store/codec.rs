//! The compression of packed executions (`store::packed`) and older pipeline versions: zstd against a dictionary of what a
//! record usually says (field names, statuses, common values; `store::dictionary`), so
//! that a blob holds little more than what is unique to its run (ids, timestamps, revisions,
//! artifact keys). Each thread keeps its compression and decompression contexts, made with
//! the first dictionary it is given (there is one per process).

use std::cell::RefCell;

/// zstd's level: packing runs once per finished execution. Against the trained dictionary
/// (`store::dictionary`), level -1 (no entropy coding of literals) compresses a 2-stage
/// execution's 3.7 KB into about 625 bytes; level 1 into about 505, in about 1.4 times as long.
const LEVEL: i32 = -1;

/// The level for older pipeline versions: written once per UpdatePipeline, without a dictionary.
const PLAIN_LEVEL: i32 = 3;

/// A compression context with the dictionary and tables sized for records of a few KiB (zstd's
/// defaults for the level take about 2.4 MiB per context; these about a tenth of it).
fn compressor(dictionary: &[u8]) -> std::io::Result<zstd::bulk::Compressor<'static>> {
    use zstd::zstd_safe::CParameter;
    let mut compressor = zstd::bulk::Compressor::with_dictionary(LEVEL, dictionary)?;
    compressor.set_parameter(CParameter::WindowLog(16))?;
    compressor.set_parameter(CParameter::HashLog(13))?;
    compressor.set_parameter(CParameter::ChainLog(13))?;
    Ok(compressor)
}

/// Where a dictionary's bytes start: which dictionary a thread's context was made with.
fn identity(dictionary: &[u8]) -> usize {
    dictionary.as_ptr() as usize
}

thread_local! {
    static COMPRESSOR: RefCell<Option<(usize, zstd::bulk::Compressor<'static>)>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<(usize, zstd::bulk::Decompressor<'static>)>> = const { RefCell::new(None) };
}

/// Compresses `data` against `dictionary` (the frame records its size).
pub fn compress(data: &[u8], dictionary: &[u8]) -> Result<Vec<u8>, String> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.try_borrow_mut().map_err(|e| e.to_string())?;
        if slot.as_ref().map(|(id, _)| *id) != Some(identity(dictionary)) {
            let made = compressor(dictionary).map_err(|e| e.to_string())?;
            *slot = Some((identity(dictionary), made));
        }
        match slot.as_mut() {
            Some((_, compressor)) => compressor.compress(data).map_err(|e| e.to_string()),
            None => Err("no compression context".into()),
        }
    })
}

/// Decompresses what `compress` made with `dictionary`.
pub fn decompress(blob: &[u8], dictionary: &[u8]) -> Result<Vec<u8>, String> {
    let size = match zstd::zstd_safe::get_frame_content_size(blob) {
        Ok(Some(size)) if size <= 64 << 20 => size as usize,
        _ => return Err("not a packed record".into()),
    };
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.try_borrow_mut().map_err(|e| e.to_string())?;
        if slot.as_ref().map(|(id, _)| *id) != Some(identity(dictionary)) {
            let made =
                zstd::bulk::Decompressor::with_dictionary(dictionary).map_err(|e| e.to_string())?;
            *slot = Some((identity(dictionary), made));
        }
        match slot.as_mut() {
            Some((_, decompressor)) => decompressor
                .decompress(blob, size)
                .map_err(|e| e.to_string()),
            None => Err("no decompression context".into()),
        }
    })
}

/// Compresses a rarely read document (an older pipeline version) without the dictionary.
pub fn compress_plain(data: &[u8]) -> Result<Vec<u8>, String> {
    zstd::bulk::compress(data, PLAIN_LEVEL).map_err(|e| e.to_string())
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
        let dictionary = br#"{"execution":{"id":"","status":"Succeeded"}}"#;
        let blob = super::compress(data, dictionary).expect("compresses");
        assert_eq!(
            super::decompress(&blob, dictionary).expect("decompresses"),
            data
        );
        assert!(super::decompress(&[0xff; 8], dictionary).is_err());
        assert!(super::decompress(&[], dictionary).is_err());
        let blob = super::compress_plain(data).expect("compresses");
        assert_eq!(super::decompress_plain(&blob).expect("decompresses"), data);
        assert!(super::decompress_plain(&[0xff; 8]).is_err());
    }
}

#[cfg(test)]
mod rss {
    #[repr(C)]
    struct MallInfo2 {
        arena: usize,
        ordblks: usize,
        smblks: usize,
        hblks: usize,
        hblkhd: usize,
        usmblks: usize,
        fsmblks: usize,
        uordblks: usize,
        fordblks: usize,
        keepcost: usize,
    }
    extern "C" {
        fn mallinfo2() -> MallInfo2;
    }

    /// Bytes in use by C malloc (zstd's allocations), mmapped blocks included.
    fn c_heap() -> i64 {
        let info = unsafe { mallinfo2() };
        (info.uordblks + info.hblkhd) as i64
    }

    #[test]
    #[ignore = "a measurement"]
    fn contexts_heap() {
        let data = include_bytes!("packed_dictionary.json");
        let before = c_heap();
        let blob = super::compress(data, data).expect("compresses");
        let middle = c_heap();
        let _ = super::decompress(&blob, data).expect("decompresses");
        println!(
            "compression context: {} KiB, decompression context: {} KiB",
            (middle - before) / 1024,
            (c_heap() - middle) / 1024
        );
    }
}
