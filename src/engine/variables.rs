//! Variable references in action configuration: `#{Namespace.Variable}` for the output variables
//! of an earlier action with that namespace, `#{variables.Name}` for pipeline-level variables
//! (V2), and `#{codepipeline.PipelineExecutionId}`. References are resolved when the action
//! starts; one that cannot be resolved fails the action.

use std::collections::BTreeMap;

/// The variables visible to an action when it starts, by namespace.
pub struct VariableScope<'a> {
    pub execution_id: &'a str,
    pub pipeline_variables: BTreeMap<&'a str, &'a str>,
    pub namespaces: &'a BTreeMap<String, BTreeMap<String, String>>,
}

impl<'a> VariableScope<'a> {
    /// The variables an action (or rule) of this execution sees.
    pub fn of(execution: &'a crate::engine::PipelineExecutionRecord) -> Self {
        VariableScope {
            execution_id: &execution.id,
            pipeline_variables: execution
                .variables
                .iter()
                .filter_map(|v| Some((v.name.as_deref()?, v.resolved_value.as_deref()?)))
                .collect(),
            namespaces: &execution.namespaces,
        }
    }

    fn lookup(&self, namespace: &str, name: &str) -> Option<String> {
        match namespace {
            "codepipeline" => match name {
                "PipelineExecutionId" => Some(self.execution_id.to_string()),
                _ => None,
            },
            "variables" => self.pipeline_variables.get(name).map(|v| v.to_string()),
            other => self
                .namespaces
                .get(other)
                .and_then(|vars| vars.get(name))
                .cloned(),
        }
    }

    /// Replaces every `#{ns.name}` in `text`; the error names the first unresolvable reference.
    pub fn resolve(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("#{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return Ok(out);
            };
            let reference = &after[..end];
            let value = reference
                .split_once('.')
                .and_then(|(namespace, name)| self.lookup(namespace, name))
                .ok_or_else(|| format!("Unable to resolve variable '#{{{reference}}}'"))?;
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Resolves every value of a configuration map.
    pub fn resolve_map(
        &self,
        map: &crate::model::Map<String>,
    ) -> Result<crate::model::Map<String>, String> {
        map.iter()
            .map(|(k, v)| self.resolve(v).map(|v| (k.clone(), v)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_namespaces_pipeline_variables_and_execution_id() {
        let mut namespaces = BTreeMap::new();
        namespaces.insert(
            "SourceVariables".to_string(),
            BTreeMap::from([("CommitId".to_string(), "abc123".to_string())]),
        );
        let scope = VariableScope {
            execution_id: "exec-1",
            pipeline_variables: BTreeMap::from([("Env", "prod")]),
            namespaces: &namespaces,
        };
        assert_eq!(
            scope
                .resolve("#{SourceVariables.CommitId}-#{variables.Env}-#{codepipeline.PipelineExecutionId}")
                .unwrap(),
            "abc123-prod-exec-1"
        );
        assert_eq!(scope.resolve("plain").unwrap(), "plain");
        assert_eq!(
            scope.resolve("#{Nope.X}").unwrap_err(),
            "Unable to resolve variable '#{Nope.X}'"
        );
    }
}
