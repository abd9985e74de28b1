//! Timestamps go over the wire as epoch seconds (a JSON number, fractions allowed): that is
//! what the AWS SDKs parse for AWS JSON 1.1. ISO strings break the Rust SDK.

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, serialized as epoch seconds with millisecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// The current time, truncated to milliseconds (what AWS reports).
    pub fn now() -> Self {
        Self::from_millis(Utc::now().timestamp_millis())
    }

    pub fn from_millis(millis: i64) -> Self {
        Timestamp(
            Utc.timestamp_millis_opt(millis)
                .single()
                .unwrap_or_default(),
        )
    }

    pub fn millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    pub fn epoch_seconds(&self) -> f64 {
        self.millis() as f64 / 1000.0
    }

    /// Parses epoch seconds (integer or fraction); `None` outside the representable range.
    pub fn from_epoch_seconds(seconds: f64) -> Option<Self> {
        if !seconds.is_finite() || seconds.abs() > 1.0e13 {
            return None;
        }
        Some(Self::from_millis((seconds * 1000.0).round() as i64))
    }
}

impl Default for Timestamp {
    fn default() -> Self {
        Timestamp::from_millis(0)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let millis = self.millis();
        if millis % 1000 == 0 {
            serializer.serialize_i64(millis / 1000)
        } else {
            serializer.serialize_f64(self.epoch_seconds())
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Number(f64),
            Text(String),
        }
        let parsed = match Wire::deserialize(deserializer)? {
            Wire::Number(seconds) => Timestamp::from_epoch_seconds(seconds),
            Wire::Text(text) => text
                .parse::<f64>()
                .ok()
                .and_then(Timestamp::from_epoch_seconds)
                .or_else(|| {
                    DateTime::parse_from_rfc3339(&text)
                        .ok()
                        .map(|t| Timestamp(t.with_timezone(&Utc)))
                }),
        };
        parsed.ok_or_else(|| serde::de::Error::custom("timestamp out of range"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_go_out_as_integers_and_fractions_as_floats() {
        let t = Timestamp::from_millis(1_700_000_000_000);
        assert_eq!(serde_json::to_string(&t).unwrap(), "1700000000");
        let t = Timestamp::from_millis(1_700_000_000_123);
        assert_eq!(serde_json::to_string(&t).unwrap(), "1700000000.123");
        let back: Timestamp = serde_json::from_str("1700000000.123").unwrap();
        assert_eq!(back, t);
    }
}
