//! Execution and action execution ids as the runtime's indexes hold them. The emulator makes
//! them as UUIDs in their lowercase hyphenated form, which an index keeps as the UUID's 16
//! bytes rather than as a 36-character string (the index entries of a finished execution are
//! most of what it costs besides its packed record). Any other id (from imported state) is
//! kept as written.

use litemap::LiteMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::HashMap;
use std::fmt;

/// An execution or action execution id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum RecordId {
    /// A UUID written `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in lowercase.
    Uuid(uuid::Bytes),
    /// Any other id.
    Text(Box<str>),
}

/// The UUID `id` spells, when it spells one exactly as `RecordId` writes it back: of the forms
/// a UUID parses from, only the hyphenated one has 36 characters, so a lowercase one of that
/// length is written back as it is.
fn canonical_uuid(id: &str) -> Option<uuid::Bytes> {
    if id.len() != 36 || id.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    uuid::Uuid::try_parse(id).ok().map(|uuid| *uuid.as_bytes())
}

impl RecordId {
    pub fn new(id: &str) -> RecordId {
        match canonical_uuid(id) {
            Some(bytes) => RecordId::Uuid(bytes),
            None => RecordId::Text(id.into()),
        }
    }

    /// Whether this is the id `id`.
    pub fn is(&self, id: &str) -> bool {
        match self {
            RecordId::Uuid(bytes) => canonical_uuid(id).as_ref() == Some(bytes),
            RecordId::Text(text) => **text == *id,
        }
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordId::Uuid(bytes) => uuid::Uuid::from_bytes(*bytes).hyphenated().fmt(f),
            RecordId::Text(text) => f.write_str(text),
        }
    }
}

impl Serialize for RecordId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RecordId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id: std::borrow::Cow<'de, str> = Deserialize::deserialize(deserializer)?;
        Ok(RecordId::new(&id))
    }
}

/// Ids to sequence numbers (a sorted vector: the history cap keeps it small).
#[derive(Debug, Default)]
pub struct IdIndex(LiteMap<RecordId, u64>);

impl IdIndex {
    pub fn get(&self, id: &str) -> Option<&u64> {
        self.0.get(&RecordId::new(id))
    }

    /// The sequence number of `id`, as the index holds it.
    pub fn get_id(&self, id: &RecordId) -> Option<&u64> {
        self.0.get(id)
    }

    pub fn contains_key(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    pub fn insert(&mut self, id: &str, seq: u64) {
        self.0.insert(RecordId::new(id), seq);
    }

    pub fn remove(&mut self, id: &str) -> Option<u64> {
        self.0.remove(&RecordId::new(id))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Gives back spare capacity.
    pub fn shrink(&mut self) {
        self.0 = super::runtime::shrunk(std::mem::take(&mut self.0));
    }

    /// The index as a JSON object's entries (state export).
    pub fn to_map(&self) -> HashMap<String, u64> {
        self.0
            .iter()
            .map(|(id, seq)| (id.to_string(), *seq))
            .collect()
    }
}

impl<'de> Deserialize<'de> for IdIndex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries: LiteMap<String, u64> = Deserialize::deserialize(deserializer)?;
        let mut index = IdIndex::default();
        for (id, seq) in entries.iter() {
            index.insert(id, *seq);
        }
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_held_as_bytes_and_read_back_as_written() {
        let uuid = "0b8e3a1c-1234-4abc-9def-0123456789ab";
        let id = RecordId::new(uuid);
        assert!(matches!(id, RecordId::Uuid(_)));
        assert_eq!(id.to_string(), uuid);
        assert!(id.is(uuid));
        assert!(!id.is("0B8E3A1C-1234-4ABC-9DEF-0123456789AB"));
        for other in [
            "0B8E3A1C-1234-4ABC-9DEF-0123456789AB",
            "0b8e3a1c12344abc9def0123456789ab",
            "{0b8e3a1c-1234-4abc-9def-0123456789ab}",
            "exec-1",
            "",
        ] {
            let id = RecordId::new(other);
            assert!(matches!(id, RecordId::Text(_)), "{other}");
            assert_eq!(id.to_string(), other);
            assert!(id.is(other));
        }
    }

    #[test]
    fn an_index_finds_removes_and_exports_ids() {
        let mut index = IdIndex::default();
        index.insert("0b8e3a1c-1234-4abc-9def-0123456789ab", 1);
        index.insert("imported", 2);
        assert_eq!(index.get("0b8e3a1c-1234-4abc-9def-0123456789ab"), Some(&1));
        assert_eq!(index.get("imported"), Some(&2));
        assert_eq!(index.get("0B8E3A1C-1234-4ABC-9DEF-0123456789AB"), None);
        let json = serde_json::to_string(&index.to_map()).expect("serializes");
        let back: IdIndex = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back.to_map(), index.to_map());
        let empty: IdIndex = serde_json::from_str("[]").expect("an empty export");
        assert!(empty.is_empty());
        assert_eq!(index.remove("imported"), Some(2));
        assert_eq!(index.len(), 1);
    }
}
