//! Layering the sources of the settings: the built-in defaults (clap's), then the config file,
//! then what the command line or the environment gave explicitly (clap's value source says
//! which). The layers are merged by `figment` and extracted into one `Config`.

use super::{Config, Flags};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Command, FromArgMatches};
use figment::providers::{Format, Json, Serialized, Toml};
use figment::Figment;
use serde_json::{Map, Value};
use std::path::Path;

impl Config {
    /// The configuration a parsed command line asks for: `flags` as parsed from `matches`.
    pub fn load(flags: &Flags, matches: &ArgMatches) -> Result<Config, String> {
        let given = settings_map(&flags.settings)?;
        let explicit: Map<String, Value> = given
            .iter()
            .filter(|(key, _)| is_explicit(matches, key))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        let mut figment = Figment::from(Serialized::defaults(given));
        if let Some(path) = &flags.config {
            figment = figment.merge(file_layer(path)?);
        }
        let config: Config = figment
            .merge(Serialized::defaults(explicit))
            .extract()
            .map_err(|e| match &flags.config {
                Some(path) => format!("invalid config file {}: {e}", path.display()),
                None => e.to_string(),
            })?;
        config.checked()
    }

    /// The configuration of a command line given as arguments (without the program's name),
    /// with the environment's `CODEPIPELINE_LOCAL_*` variables, as the server would read it.
    pub fn from_args<I, S>(args: I) -> Result<Config, String>
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString> + Clone,
    {
        let command = Flags::augment_args(Command::new("codepipeline-local"));
        let argv = std::iter::once(std::ffi::OsString::from("codepipeline-local"))
            .chain(args.into_iter().map(Into::into));
        let matches = command
            .try_get_matches_from(argv)
            .map_err(|e| e.to_string())?;
        let flags = Flags::from_arg_matches(&matches).map_err(|e| e.to_string())?;
        Config::load(&flags, &matches)
    }
}

/// Every setting at its default: the command line's defaults, no environment read.
pub(super) fn defaults() -> Config {
    let command =
        Config::augment_args(Command::new("codepipeline-local")).mut_args(|arg| arg.env(None));
    let parsed = command
        .try_get_matches_from(["codepipeline-local"])
        .and_then(|matches| Config::from_arg_matches(&matches));
    match parsed {
        Ok(config) => config,
        // The defaults are constants of this file: a unit test parses them.
        Err(e) => panic!("the settings' defaults do not parse: {e}"),
    }
}

/// Whether the command line or the environment gave this setting (its file key).
pub fn is_explicit(matches: &ArgMatches, key: &str) -> bool {
    matches!(
        matches
            .try_contains_id(key)
            .ok()
            .and_then(|present| { present.then(|| matches.value_source(key)).flatten() }),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    )
}

/// The settings as file keys and values; unset optional settings left out.
fn settings_map(config: &Config) -> Result<Map<String, Value>, String> {
    match serde_json::to_value(config) {
        Ok(Value::Object(map)) => Ok(map.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        Ok(_) => Err("the settings do not serialize as a map".to_string()),
        Err(e) => Err(format!("the settings do not serialize: {e}")),
    }
}

/// A config file as a layer: TOML, or JSON when it starts with `{`.
fn file_layer(path: &Path) -> Result<Figment, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
    Ok(text_layer(&text))
}

fn text_layer(text: &str) -> Figment {
    if text.trim_start().starts_with('{') {
        Figment::from(Json::string(text))
    } else {
        Figment::from(Toml::string(text))
    }
}

/// A config file's settings over the defaults.
pub fn read_file(path: &Path) -> Result<Config, String> {
    let layer = file_layer(path)?;
    over_defaults(layer).map_err(|e| format!("invalid config file {}: {e}", path.display()))
}

/// A config file's text (TOML or JSON) over the defaults.
pub fn parse_file(text: &str) -> Result<Config, String> {
    over_defaults(text_layer(text))
}

fn over_defaults(layer: Figment) -> Result<Config, String> {
    let defaults = settings_map(&Config::default())?;
    Figment::from(Serialized::defaults(defaults))
        .merge(layer)
        .extract()
        .map_err(|e| e.to_string())
}

/// `NAME=VALUE`.
pub fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("expected NAME=VALUE, got '{text}'")),
    }
}

/// A number of seconds on the command line.
pub(super) fn seconds_arg(text: &str) -> Result<std::time::Duration, String> {
    text.parse::<u64>()
        .map(std::time::Duration::from_secs)
        .map_err(|_| format!("expected a whole number of seconds, got '{text}'"))
}

/// `--no-auto-start [true|false]` given as the `auto_start` it negates.
pub(super) fn negated_bool(text: &str) -> Result<bool, String> {
    match text {
        "true" => Ok(false),
        "false" => Ok(true),
        _ => Err(format!("expected true or false, got '{text}'")),
    }
}

pub(super) fn max_tags() -> usize {
    50
}

/// A duration as whole seconds in the file.
pub(super) mod seconds {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

/// A bool shown (and read) as the setting that negates it.
pub(super) mod negated {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(!value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        bool::deserialize(d).map(|value| !value)
    }
}

/// `NAME=VALUE` pairs as a table in the file.
pub(super) mod pairs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(pairs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(pairs.iter().map(|(k, v)| (k, v)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
        BTreeMap::<String, String>::deserialize(d).map(|map| map.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_parse() {
        let d = Config::default();
        assert_eq!(d.listen, "127.0.0.1:4566");
        assert!(d.auto_start);
        assert_eq!(
            d.approval_timeout,
            std::time::Duration::from_secs(7 * 24 * 3600)
        );
        assert_eq!(d.max_tags, 50);
    }

    #[test]
    fn every_setting_round_trips_through_its_file_key() {
        let d = Config::default();
        let shown = serde_json::to_string(&d).unwrap();
        let back = parse_file(&shown).unwrap();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&d).unwrap()
        );
    }
}
