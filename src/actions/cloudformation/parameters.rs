//! What a CloudFormation action deploys, read from its input artifacts: the template
//! (`TemplatePath`), the template configuration file (`TemplateConfiguration`: `Parameters`,
//! `Tags`, `StackPolicy`) and the `ParameterOverrides`, whose values may be
//! `{"Fn::GetArtifactAtt": [ARTIFACT, BucketName|ObjectKey|URL]}` or
//! `{"Fn::GetParam": [ARTIFACT, JSON_FILE, KEY]}`. Files are named `ARTIFACT::PATH`.

use super::super::artifacts::ArtifactStore;
use super::super::Input;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;

/// The input artifacts of the action, downloaded at most once each.
pub struct ArtifactFiles<'a> {
    store: Option<&'a ArtifactStore>,
    inputs: &'a [Input],
    max_bytes: u64,
    zips: HashMap<String, tempfile::NamedTempFile>,
}

impl<'a> ArtifactFiles<'a> {
    pub fn new(store: Option<&'a ArtifactStore>, inputs: &'a [Input], max_bytes: u64) -> Self {
        ArtifactFiles {
            store,
            inputs,
            max_bytes,
            zips: HashMap::new(),
        }
    }

    fn input(&self, artifact: &str) -> Result<&'a Input, String> {
        self.inputs
            .iter()
            .find(|i| i.name == artifact)
            .ok_or_else(|| {
                format!("The artifact '{artifact}' is not an input artifact of this action")
            })
    }

    /// The artifact store the files come from.
    pub fn store(&self) -> Option<&'a ArtifactStore> {
        self.store
    }

    /// Where an input artifact is: (bucket, key).
    pub fn location(&self, artifact: &str) -> Option<(String, String)> {
        self.input(artifact).ok()?.location.clone()
    }

    /// The contents of `ARTIFACT::PATH` (`setting` names the configuration property in
    /// messages).
    pub async fn read(&mut self, setting: &str, reference: &str) -> Result<Vec<u8>, String> {
        let (artifact, path) = split_file(setting, reference)?;
        self.file(artifact, path).await
    }

    async fn file(&mut self, artifact: &str, path: &str) -> Result<Vec<u8>, String> {
        let input = self.input(artifact)?;
        if !self.zips.contains_key(artifact) {
            let Some(store) = self.store else {
                return Err(super::super::artifacts::NO_STORE.to_string());
            };
            let zip = tempfile::NamedTempFile::new()
                .map_err(|e| format!("Cannot create a temporary file: {e}"))?;
            store
                .download_artifact(artifact, input.location.as_ref(), zip.path())
                .await?;
            self.zips.insert(artifact.to_string(), zip);
        }
        let zip = self
            .zips
            .get(artifact)
            .map(|z| z.path().to_path_buf())
            .ok_or_else(|| format!("Input artifact '{artifact}' was not downloaded"))?;
        let (artifact_name, path_name, max) =
            (artifact.to_string(), path.to_string(), self.max_bytes);
        tokio::task::spawn_blocking(move || read_entry(&zip, &artifact_name, &path_name, max))
            .await
            .map_err(|e| format!("Cannot read {artifact}::{path}: {e}"))?
    }

    /// An attribute of an input artifact's location (`Fn::GetArtifactAtt`).
    fn attribute(&self, artifact: &str, attribute: &str) -> Result<String, String> {
        let input = self.input(artifact)?;
        let Some((bucket, key)) = &input.location else {
            return Err(format!(
                "Input artifact '{artifact}' was not produced by an earlier action of this execution"
            ));
        };
        match attribute {
            "BucketName" => Ok(bucket.clone()),
            "ObjectKey" => Ok(key.clone()),
            "URL" => {
                let endpoint = self
                    .store
                    .and_then(|s| s.s3())
                    .map(|s3| s3.endpoint.as_str())
                    .unwrap_or_default();
                Ok(format!("{}/{bucket}/{key}", endpoint.trim_end_matches('/')))
            }
            other => Err(format!(
                "Fn::GetArtifactAtt: unknown attribute '{other}' (BucketName, ObjectKey or URL)"
            )),
        }
    }
}

/// Reads one file of a zip archive, refusing one larger than `max` bytes.
fn read_entry(
    zip: &std::path::Path,
    artifact: &str,
    path: &str,
    max: u64,
) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(zip).map_err(|e| format!("Cannot open {artifact}: {e}"))?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| format!("Input artifact '{artifact}' is not a zip file: {e}"))?;
    let entry = archive
        .by_name(path)
        .map_err(|_| format!("File '{path}' does not exist in artifact '{artifact}'"))?;
    let mut contents = Vec::new();
    entry
        .take(max.saturating_add(1))
        .read_to_end(&mut contents)
        .map_err(|e| format!("Cannot read {artifact}::{path}: {e}"))?;
    if contents.len() as u64 > max {
        return Err(format!(
            "File '{path}' of artifact '{artifact}' is larger than {max} bytes"
        ));
    }
    Ok(contents)
}

/// `ARTIFACT::PATH` split in two.
pub fn split_file<'t>(setting: &str, reference: &'t str) -> Result<(&'t str, &'t str), String> {
    match reference.split_once("::") {
        Some((artifact, path)) if !artifact.is_empty() && !path.is_empty() => Ok((artifact, path)),
        _ => Err(format!(
            "{setting} must name a file as ArtifactName::FileName, got '{reference}'"
        )),
    }
}

/// What a template configuration file holds.
#[derive(Debug, Default, PartialEq)]
pub struct TemplateConfiguration {
    pub parameters: BTreeMap<String, Value>,
    pub tags: BTreeMap<String, String>,
    pub stack_policy: Option<String>,
}

/// Parses a template configuration file (JSON).
pub fn template_configuration(text: &[u8]) -> Result<TemplateConfiguration, String> {
    let value: Value = serde_json::from_slice(text)
        .map_err(|e| format!("The template configuration is not valid JSON: {e}"))?;
    let Value::Object(fields) = value else {
        return Err("The template configuration must be a JSON object".into());
    };
    let mut configuration = TemplateConfiguration::default();
    for (name, value) in fields {
        match (name.as_str(), value) {
            ("Parameters", Value::Object(parameters)) => {
                configuration.parameters = parameters.into_iter().collect();
            }
            ("Tags", Value::Object(tags)) => {
                configuration.tags = tags
                    .into_iter()
                    .map(|(k, v)| (k, scalar(&v)))
                    .collect();
            }
            ("StackPolicy", policy @ Value::Object(_)) => {
                configuration.stack_policy = Some(policy.to_string());
            }
            (other, _) => {
                return Err(format!(
                    "The template configuration has an invalid property '{other}' (Parameters, Tags and StackPolicy are objects)"
                ))
            }
        }
    }
    Ok(configuration)
}

/// Parses `ParameterOverrides` (a JSON object).
pub fn parameter_overrides(text: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str(text) {
        Ok(Value::Object(overrides)) => Ok(overrides),
        Ok(_) => Err("ParameterOverrides must be a JSON object".into()),
        Err(e) => Err(format!("ParameterOverrides is not valid JSON: {e}")),
    }
}

/// The stack's parameters: the template configuration's, replaced by the overrides, each
/// value resolved (`Fn::GetArtifactAtt`, `Fn::GetParam`).
pub async fn resolve_parameters(
    files: &mut ArtifactFiles<'_>,
    configured: BTreeMap<String, Value>,
    overrides: Map<String, Value>,
) -> Result<BTreeMap<String, String>, String> {
    let mut merged = configured;
    merged.extend(overrides);
    let mut resolved = BTreeMap::new();
    for (name, value) in merged {
        let value = resolve_value(files, &name, &value).await?;
        resolved.insert(name, value);
    }
    Ok(resolved)
}

async fn resolve_value(
    files: &mut ArtifactFiles<'_>,
    name: &str,
    value: &Value,
) -> Result<String, String> {
    let Value::Object(function) = value else {
        return Ok(scalar(value));
    };
    let arguments = |key: &str, count: usize| -> Result<Vec<String>, String> {
        match function.get(key) {
            Some(Value::Array(items))
                if items.len() == count && items.iter().all(Value::is_string) =>
            {
                Ok(items.iter().map(scalar).collect())
            }
            _ => Err(format!(
                "Parameter '{name}': {key} takes a list of {count} strings"
            )),
        }
    };
    if function.len() == 1 && function.contains_key("Fn::GetArtifactAtt") {
        let args = arguments("Fn::GetArtifactAtt", 2)?;
        return files.attribute(&args[0], &args[1]);
    }
    if function.len() == 1 && function.contains_key("Fn::GetParam") {
        let args = arguments("Fn::GetParam", 3)?;
        let text = files.file(&args[0], &args[1]).await?;
        let document: Value = serde_json::from_slice(&text).map_err(|e| {
            format!(
                "Fn::GetParam: {}::{} is not valid JSON: {e}",
                args[0], args[1]
            )
        })?;
        return match document.get(&args[2]) {
            Some(found) => Ok(scalar(found)),
            None => Err(format!(
                "Fn::GetParam: key '{}' does not exist in {}::{}",
                args[2], args[0], args[1]
            )),
        };
    }
    Err(format!(
        "Parameter '{name}': a value must be a string, Fn::GetArtifactAtt or Fn::GetParam"
    ))
}

/// A JSON value as a parameter or tag value: strings as they are, anything else as JSON.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_artifact_and_path() {
        assert_eq!(
            split_file("TemplatePath", "Build::out/template.yml"),
            Ok(("Build", "out/template.yml"))
        );
        assert!(split_file("TemplatePath", "template.yml").is_err());
        assert!(split_file("TemplatePath", "::template.yml").is_err());
    }

    #[test]
    fn template_configuration_reads_parameters_tags_and_policy() {
        let configuration = template_configuration(
            br#"{"Parameters":{"A":"1","B":2},"Tags":{"team":"x"},"StackPolicy":{"Statement":[]}}"#,
        )
        .unwrap();
        assert_eq!(configuration.parameters["A"], Value::from("1"));
        assert_eq!(configuration.tags["team"], "x");
        assert_eq!(
            configuration.stack_policy.as_deref(),
            Some(r#"{"Statement":[]}"#)
        );
        assert!(template_configuration(b"[1]").is_err());
        assert!(template_configuration(br#"{"Parameters":[]}"#).is_err());
    }

    #[tokio::test]
    async fn overrides_replace_configured_values_and_resolve_artifact_attributes() {
        let inputs = vec![Input {
            name: "Src".into(),
            location: Some(("bucket".into(), "p/Src/abc".into())),
            revision: None,
        }];
        let mut files = ArtifactFiles::new(None, &inputs, 1024);
        let configured = BTreeMap::from([
            ("A".to_string(), Value::from("from-file")),
            ("B".to_string(), Value::from("kept")),
        ]);
        let overrides = parameter_overrides(
            r#"{"A":"override","Bucket":{"Fn::GetArtifactAtt":["Src","BucketName"]},"Key":{"Fn::GetArtifactAtt":["Src","ObjectKey"]}}"#,
        )
        .unwrap();
        let resolved = resolve_parameters(&mut files, configured, overrides)
            .await
            .unwrap();
        assert_eq!(resolved["A"], "override");
        assert_eq!(resolved["B"], "kept");
        assert_eq!(resolved["Bucket"], "bucket");
        assert_eq!(resolved["Key"], "p/Src/abc");
        let bad =
            parameter_overrides(r#"{"X":{"Fn::GetArtifactAtt":["Other","BucketName"]}}"#).unwrap();
        let error = resolve_parameters(&mut files, BTreeMap::new(), bad)
            .await
            .unwrap_err();
        assert!(
            error.contains("'Other' is not an input artifact"),
            "{error}"
        );
        assert!(parameter_overrides("[]").is_err());
        assert!(parameter_overrides("{").is_err());
    }
}
