//! `Map`: the Rust type of the service model's `map` shapes (action and rule configurations,
//! output variables, artifact stores by region). A JSON object with string keys, held as a
//! vector sorted by key (`litemap::LiteMap`): a configuration of two keys takes two slots, where
//! a `BTreeMap` leaf takes eleven.
//!
//! On the wire it is what a `BTreeMap<String, V>` was: an object (also when empty) with its keys
//! in sorted order; read from an object only, a key given twice keeps its last value. A map read
//! from the wire holds no spare capacity.

use litemap::LiteMap;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

/// A map from string keys to `V`, sorted by key. Reads and edits go through `LiteMap`'s
/// methods (`get`, `insert`, `remove`, `iter`, `entry`, ...).
#[derive(Clone, PartialEq, Eq)]
pub struct Map<V>(LiteMap<String, V>);

impl<V> Map<V> {
    pub const fn new() -> Self {
        Map(LiteMap::new_vec())
    }

    /// Drops spare capacity.
    pub fn shrink_to_fit(&mut self) {
        let entries = std::mem::take(&mut self.0).into_tuple_vec();
        self.0 = LiteMap::from_sorted_store_unchecked(exact(entries));
    }

    /// The values, mutably, in key order.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.0.iter_mut().map(|(_, v)| v)
    }

    /// The entries, by value, in key order.
    pub fn into_entries(self) -> Vec<(String, V)> {
        self.0.into_tuple_vec()
    }
}

/// The vector with its capacity cut to its length.
fn exact<T>(mut entries: Vec<T>) -> Vec<T> {
    entries.shrink_to_fit();
    entries
}

impl<V> Default for Map<V> {
    fn default() -> Self {
        Map::new()
    }
}

impl<V: fmt::Debug> fmt::Debug for Map<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

impl<V> Deref for Map<V> {
    type Target = LiteMap<String, V>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<V> DerefMut for Map<V> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// Sorted by key; of a key given twice, the last value stays.
impl<V> FromIterator<(String, V)> for Map<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        from_entries(iter.into_iter().collect())
    }
}

impl<V, const N: usize> From<[(String, V); N]> for Map<V> {
    fn from(entries: [(String, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<V> Extend<(String, V)> for Map<V> {
    fn extend<I: IntoIterator<Item = (String, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.0.insert(k, v);
        }
    }
}

impl<V> IntoIterator for Map<V> {
    type Item = (String, V);
    type IntoIter = std::vec::IntoIter<(String, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_tuple_vec().into_iter()
    }
}

impl<'a, V> IntoIterator for &'a Map<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = <&'a LiteMap<String, V> as IntoIterator>::IntoIter;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'a, V> IntoIterator for &'a mut Map<V> {
    type Item = (&'a String, &'a mut V);
    type IntoIter = <&'a mut LiteMap<String, V> as IntoIterator>::IntoIter;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter_mut()
    }
}

/// Entries in any order, keys possibly repeated: sorted (stable, so repeats keep their order),
/// then each run of one key collapsed into its last value.
fn from_entries<V>(mut entries: Vec<(String, V)>) -> Map<V> {
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.dedup_by(|later, earlier| {
        let same = later.0 == earlier.0;
        if same {
            std::mem::swap(&mut later.1, &mut earlier.1);
        }
        same
    });
    Map(LiteMap::from_sorted_store_unchecked(exact(entries)))
}

impl<V: Serialize> Serialize for Map<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Map<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

struct MapVisitor<V>(PhantomData<fn() -> V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
    type Value = Map<V>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        // The hint is the input's word: bounded, as serde's own collections do.
        let mut entries = Vec::with_capacity(access.size_hint().unwrap_or(0).min(256));
        while let Some(entry) = access.next_entry()? {
            entries.push(entry);
        }
        Ok(from_entries(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::Map;

    #[test]
    fn serializes_as_an_object_in_key_order_also_when_empty() {
        let map: Map<String> = [("b", "2"), ("a", "1")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(serde_json::to_string(&map).unwrap(), r#"{"a":"1","b":"2"}"#);
        assert_eq!(serde_json::to_string(&Map::<String>::new()).unwrap(), "{}");
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value_and_no_spare_capacity_stays() {
        let map: Map<i64> =
            serde_json::from_str(r#"{"b": 1, "a": 2, "b": 3, "c": 4, "a": 5}"#).expect("a map");
        let entries: Vec<(&str, i64)> = map.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(entries, [("a", 5), ("b", 3), ("c", 4)]);
        assert_eq!(map.into_entries().capacity(), 3);
    }

    #[test]
    fn reads_objects_only() {
        assert!(serde_json::from_str::<Map<String>>(r#"[["a", "1"]]"#).is_err());
        assert!(serde_json::from_str::<Map<String>>(r#""a""#).is_err());
        let empty: Map<String> = serde_json::from_str("{}").expect("a map");
        assert!(empty.is_empty());
    }
}
