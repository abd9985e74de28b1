//! An execution's row as stored (a BLOB): its records compressed as a packed execution's are
//! (`store::packed`: MessagePack with field names, zstd against a dictionary), with the id of
//! that dictionary, and the declaration it ran: the number of the pipeline version (in
//! `pipeline_versions`) whose declaration it is, or else the declaration itself. The
//! `dictionaries` table keeps every dictionary a row was compressed with, so a later build
//! whose dictionary differs still reads it. Rows written before this format are JSON text
//! (`ExecutionRow`) and still load.
//!
//! Layout: a format byte (1), the dictionary id (8 bytes), the version (8 bytes; 0 when the
//! declaration follows), the length of the declaration's JSON (4 bytes; 0 with a version),
//! that JSON, then the compressed records; numbers little-endian.

use crate::model::PipelineDeclaration;
use crate::store::packed::{self, Group};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

const FORMAT: u8 = 1;
const HEADER: usize = 1 + 8 + 8 + 4;

/// A dictionary's id: the first 8 bytes of its SHA-256.
pub fn dictionary_id(dictionary: &[u8]) -> i64 {
    let digest = Sha256::digest(dictionary);
    let mut id = [0u8; 8];
    id.copy_from_slice(&digest[..8]);
    i64::from_le_bytes(id)
}

/// This process's dictionary and its id.
pub fn current_dictionary() -> (i64, &'static [u8]) {
    static ID: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let dictionary = packed::dictionary();
    (*ID.get_or_init(|| dictionary_id(dictionary)), dictionary)
}

/// The declaration an execution ran, as its row gives it.
#[derive(Debug)]
pub enum Declared<D> {
    /// That of this version of its pipeline.
    Version(i64),
    Own(D),
}

/// A row's bytes: `records` (compressed with the dictionary `dictionary`) and the
/// declaration the execution ran.
pub fn encode(
    dictionary: i64,
    declared: Declared<&PipelineDeclaration>,
    records: &[u8],
) -> Result<Vec<u8>, String> {
    let (version, declaration) = match declared {
        Declared::Version(v) if v > 0 => (v, Vec::new()),
        Declared::Version(v) => return Err(format!("encoding error: pipeline version {v}")),
        Declared::Own(d) => (
            0,
            serde_json::to_vec(d).map_err(|e| format!("encoding error: {e}"))?,
        ),
    };
    let length = u32::try_from(declaration.len())
        .map_err(|_| "encoding error: a declaration over 4 GiB".to_string())?;
    let mut row = Vec::with_capacity(HEADER + declaration.len() + records.len());
    row.push(FORMAT);
    row.extend_from_slice(&dictionary.to_le_bytes());
    row.extend_from_slice(&version.to_le_bytes());
    row.extend_from_slice(&length.to_le_bytes());
    row.extend_from_slice(&declaration);
    row.extend_from_slice(records);
    Ok(row)
}

/// A row's records and the declaration they ran (the group's own declaration is a default).
pub fn decode(
    row: &[u8],
    dictionaries: &HashMap<i64, Vec<u8>>,
) -> Result<(Group, Declared<PipelineDeclaration>), String> {
    let malformed = || "an execution row that is not in a known format".to_string();
    if row.len() < HEADER || row[0] != FORMAT {
        return Err(malformed());
    }
    let number = |range: std::ops::Range<usize>| -> Result<[u8; 8], String> {
        row[range].try_into().map_err(|_| malformed())
    };
    let id = i64::from_le_bytes(number(1..9)?);
    let version = i64::from_le_bytes(number(9..17)?);
    let length = u32::from_le_bytes(row[17..21].try_into().map_err(|_| malformed())?) as usize;
    let records_start = HEADER.checked_add(length).ok_or_else(malformed)?;
    let (declaration, records) = match (row.get(HEADER..records_start), row.get(records_start..)) {
        (Some(d), Some(r)) => (d, r),
        _ => return Err(malformed()),
    };
    let dictionary = dictionaries.get(&id).ok_or_else(|| {
        format!(
            "an execution row compressed with dictionary {id}, which the database does not hold"
        )
    })?;
    let group = packed::decompress(records, dictionary)?;
    let declared = match version {
        0 => Declared::Own(
            serde_json::from_slice(declaration).map_err(|e| format!("encoding error: {e}"))?,
        ),
        v => Declared::Version(v),
    };
    Ok((group, declared))
}
