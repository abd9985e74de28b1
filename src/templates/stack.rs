//! One CloudFormation template to a `Stack`: parameters (defaults, overrides, pseudo
//! parameters), conditions, the CodePipeline resources, and `Outputs` (with their exports).
//! Every problem is collected, each naming its resource and JSON path.

use super::intrinsics::{join, placeholder, Resolver};
use super::names::StackId;
use super::resources::{
    self, ActionTypeResource, PipelineResource, ProjectResource, WebhookResource,
};
use super::{Problem, TemplateError};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// What a template defines, ready to apply.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The file it came from (for messages).
    pub file: String,
    pub id: StackId,
    pub action_types: Vec<ActionTypeResource>,
    pub pipelines: Vec<PipelineResource>,
    pub webhooks: Vec<WebhookResource>,
    pub codebuild_projects: Vec<ProjectResource>,
    /// `Outputs`, by logical id.
    pub outputs: BTreeMap<String, String>,
    /// `Outputs.*.Export.Name` -> value.
    pub exports: BTreeMap<String, String>,
    /// Problems of resources left out (only with `LoadOptions::keep_going`).
    pub problems: Vec<Problem>,
    /// The parameters the template declares.
    pub parameters: Vec<String>,
}

impl Stack {
    pub fn empty(file: &str, id: StackId) -> Stack {
        Stack {
            file: file.to_string(),
            id,
            action_types: Vec::new(),
            pipelines: Vec::new(),
            webhooks: Vec::new(),
            codebuild_projects: Vec::new(),
            outputs: BTreeMap::new(),
            exports: BTreeMap::new(),
            problems: Vec::new(),
            parameters: Vec::new(),
        }
    }
}

/// Sections of a template; anything else at the top level is an error.
const SECTIONS: &[&str] = &[
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
];

/// Reads a template. `overrides` are parameter values (`--parameter NAME=VALUE`; those the
/// template does not declare are for other stacks, see `source::unknown_parameters`); `imports`
/// the exports of stacks loaded before in the same account and region. The stack holds the
/// resources that could be read; the problems of the others are in `Stack::problems`.
pub fn from_template(
    template: &Value,
    file: &str,
    id: StackId,
    overrides: &BTreeMap<String, String>,
    imports: &BTreeMap<String, String>,
) -> Stack {
    let problem = |resource: &str, e: TemplateError| Problem::new(file, resource, e);
    let Some(top) = template.as_object() else {
        let mut stack = Stack::empty(file, id);
        stack.problems.push(problem(
            "",
            TemplateError::new("", "Template format error: a template must be an object"),
        ));
        return stack;
    };
    let mut problems = Vec::new();
    for key in top.keys().filter(|k| !SECTIONS.contains(&k.as_str())) {
        problems.push(problem(
            "",
            TemplateError::new(
                key,
                format!("Template format error: Invalid template property or properties [{key}]"),
            ),
        ));
    }
    if let Some(transform) = top.get("Transform") {
        problems.push(problem("", TemplateError::new("Transform", format!("the transform {transform} is not supported by codepipeline-local: load the processed template"))));
    }
    let empty = Map::new();
    let section = |name: &str| top.get(name).and_then(Value::as_object).unwrap_or(&empty);
    let parameters = match parameter_values(section("Parameters"), overrides) {
        Ok(p) => p,
        Err(e) => {
            problems.push(problem("", e));
            let mut stack = Stack::empty(file, id);
            stack.problems = problems;
            return stack;
        }
    };
    let resources_section = section("Resources");
    let resolver = Resolver::new(
        &id,
        &parameters,
        section("Conditions"),
        resources_section,
        section("Mappings"),
        imports,
    );
    let mut stack = Stack::empty(file, id.clone());
    stack.parameters = section("Parameters").keys().cloned().collect();
    for (logical_id, resource) in resources_section {
        if let Err(e) = read_resource(&resolver, &mut stack, logical_id, resource) {
            problems.push(problem(logical_id, e));
        }
    }
    for (logical_id, output) in section("Outputs") {
        if let Err(e) = read_output(&resolver, &mut stack, logical_id, output) {
            problems.push(problem(logical_id, e));
        }
    }
    stack.problems = problems;
    stack
}

/// Parameter values: overrides, then defaults; list types become lists, SSM-typed ones a
/// placeholder. A parameter without a value is AWS's `Parameters: [X] must have values`.
fn parameter_values(
    declared: &Map<String, Value>,
    overrides: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Value>, TemplateError> {
    let mut values = BTreeMap::new();
    let mut missing = Vec::new();
    for (name, declaration) in declared {
        let kind = declaration
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or("String");
        let value = match overrides.get(name) {
            Some(v) => Some(v.clone()),
            None => match declaration.get("Default") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Array(items)) => Some(
                    items
                        .iter()
                        .map(|v| {
                            v.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string())
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                Some(other) if !other.is_null() => Some(other.to_string()),
                _ => None,
            },
        };
        let Some(value) = value else {
            missing.push(name.clone());
            continue;
        };
        if let Some(allowed) = declaration.get("AllowedValues").and_then(Value::as_array) {
            let allowed: Vec<String> = allowed.iter().map(scalar_text).collect();
            if !allowed.contains(&value) {
                return Err(TemplateError::new(
                    &format!("Parameters.{name}"),
                    format!("Parameter '{name}' must be one of AllowedValues"),
                ));
            }
        }
        let value = if kind.starts_with("AWS::SSM::Parameter::Value") {
            Value::String(placeholder(&format!("ssm:{value}")))
        } else if kind == "CommaDelimitedList" || kind.starts_with("List<") {
            Value::Array(
                value
                    .split(',')
                    .map(|s| Value::String(s.trim().to_string()))
                    .collect(),
            )
        } else {
            Value::String(value)
        };
        values.insert(name.clone(), value);
    }
    if !missing.is_empty() {
        return Err(TemplateError::new(
            "Parameters",
            format!("Parameters: [{}] must have values", missing.join(", ")),
        ));
    }
    Ok(values)
}

/// A scalar as CloudFormation compares parameter values: as text.
fn scalar_text(value: &Value) -> String {
    value
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| value.to_string())
}

fn read_resource(
    resolver: &Resolver,
    stack: &mut Stack,
    logical_id: &str,
    resource: &Value,
) -> Result<(), TemplateError> {
    let base = format!("Resources.{logical_id}");
    let resource_type = resource
        .get("Type")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            TemplateError::new(
                &join(&base, "Type"),
                "Template format error: every resource must have a Type",
            )
        })?;
    if !matches!(
        resource_type,
        "AWS::CodePipeline::Pipeline"
            | "AWS::CodePipeline::Webhook"
            | "AWS::CodePipeline::CustomActionType"
            | "AWS::CodeBuild::Project"
    ) {
        // Other resources (roles, buckets, keys, ...) are only referred to: Ref and GetAtt give
        // their physical ids and ARNs.
        return Ok(());
    }
    if let Some(condition) = resource.get("Condition") {
        let name = condition.as_str().ok_or_else(|| {
            TemplateError::new(
                &join(&base, "Condition"),
                "a resource's Condition must name a condition",
            )
        })?;
        if !resolver.condition(name, &join(&base, "Condition"))? {
            return Ok(());
        }
    }
    let path = join(&base, "Properties");
    let properties = match resource.get("Properties") {
        Some(p) => resolver.resolve(p, &path)?.unwrap_or(Value::Null),
        None => Value::Null,
    };
    match resource_type {
        "AWS::CodePipeline::Pipeline" => {
            let name = resolver.physical_name(logical_id, &path)?;
            stack
                .pipelines
                .push(resources::pipeline(logical_id, properties, name, &path)?);
        }
        "AWS::CodePipeline::Webhook" => {
            let name = resolver.physical_name(logical_id, &path)?;
            stack
                .webhooks
                .push(resources::webhook(logical_id, properties, name, &path)?);
        }
        "AWS::CodePipeline::CustomActionType" => {
            stack.action_types.push(resources::custom_action_type(
                logical_id, properties, &path,
            )?);
        }
        _ => {
            let name = resolver.physical_name(logical_id, &path)?;
            stack.codebuild_projects.push(resources::codebuild_project(
                logical_id,
                &properties,
                name,
                &path,
            )?);
        }
    }
    Ok(())
}

fn read_output(
    resolver: &Resolver,
    stack: &mut Stack,
    logical_id: &str,
    output: &Value,
) -> Result<(), TemplateError> {
    let base = format!("Outputs.{logical_id}");
    if let Some(condition) = output.get("Condition").and_then(Value::as_str) {
        if !resolver.condition(condition, &join(&base, "Condition"))? {
            return Ok(());
        }
    }
    let value = output.get("Value").ok_or_else(|| {
        TemplateError::new(
            &join(&base, "Value"),
            "Template format error: every Outputs member must contain a Value object",
        )
    })?;
    let value = resolver.resolve_string(value, &join(&base, "Value"))?;
    if let Some(export) = output.pointer("/Export/Name") {
        let export = resolver.resolve_string(export, &join(&base, "Export.Name"))?;
        stack.exports.insert(export, value.clone());
    }
    stack.outputs.insert(logical_id.to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::parse::parse_document;
    use serde_json::json;

    fn stack_id() -> StackId {
        StackId {
            account: "111122223333".into(),
            region: "eu-west-1".into(),
            name: "app".into(),
        }
    }

    /// A template with one pipeline whose first action's configuration is `configuration`.
    fn read(yaml_configuration: &str, overrides: &[(&str, &str)]) -> Stack {
        let text = format!(
            r#"
Parameters:
  Env: {{ Type: String, Default: prod, AllowedValues: [dev, prod] }}
  Names: {{ Type: CommaDelimitedList, Default: "a,b,c" }}
  Version: {{ Type: "AWS::SSM::Parameter::Value<String>", Default: /cdk/version }}
Mappings:
  Sizes: {{ prod: {{ Cpu: 4 }} }}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  Both: !And [!Condition IsProd, !Not [!Equals [!Ref Env, dev]]]
Resources:
  Role: {{ Type: AWS::IAM::Role }}
  Bucket: {{ Type: AWS::S3::Bucket, Properties: {{ BucketName: !Sub "b-${{AWS::Region}}" }} }}
  P:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      RoleArn: !GetAtt Role.Arn
      ArtifactStore: {{ Type: S3, Location: !Ref Bucket }}
      Stages:
        - Name: S
          Actions:
            - Name: A
              ActionTypeId: {{ Category: Source, Owner: AWS, Provider: S3, Version: 1 }}
              Configuration:
{yaml_configuration}
"#
        );
        let template = parse_document(&text).unwrap();
        let overrides = overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let imports = BTreeMap::from([("shared-Bucket".to_string(), "shared-bucket".to_string())]);
        from_template(&template, "t.yaml", stack_id(), &overrides, &imports)
    }

    fn configuration(stack: &Stack) -> Value {
        assert_eq!(stack.problems, [], "no problems");
        stack.pipelines[0].declaration["stages"][0]["actions"][0]["configuration"].clone()
    }

    #[test]
    fn intrinsics_resolve_as_cloudformation_resolves_them() {
        let stack = read(
            r#"
                Sub1: !Sub "${AWS::StackName}-${Env}-${Bucket}-${!Literal}"
                Sub2: !Sub ["${X}/${Role.Arn}", { X: !Select [2, !Ref Names] }]
                If: !If [Both, yes, no]
                Gone: !If [IsProd, !Ref "AWS::NoValue", kept]
                Map: !FindInMap [Sizes, !Ref Env, Cpu]
                Split: !Join ["+", !Split ["/", "x/y"]]
                Az: !Select [1, !GetAZs ""]
                Import: !ImportValue shared-Bucket
                B64: !Base64 hi
                Ssm: !Ref Version
                Secret: "{{resolve:secretsmanager:token:SecretString:t}}"
                Json: !ToJsonString { a: 1 }"#,
            &[],
        );
        let c = configuration(&stack);
        assert_eq!(c["Sub1"], "app-prod-b-eu-west-1-${Literal}");
        assert_eq!(
            c["Sub2"],
            format!(
                "c/arn:aws:iam::111122223333:role/{}",
                stack_id().generated_name("Role", 64)
            )
        );
        assert_eq!(c["If"], "yes");
        assert!(c.get("Gone").is_none(), "AWS::NoValue removes the key");
        assert_eq!(c["Map"], "4");
        assert_eq!(c["Split"], "x+y");
        assert_eq!(c["Az"], "eu-west-1b");
        assert_eq!(c["Import"], "shared-bucket");
        assert_eq!(c["B64"], "aGk=");
        assert_eq!(c["Ssm"], "local-placeholder:ssm:/cdk/version");
        assert_eq!(
            c["Secret"],
            "local-placeholder:resolve:secretsmanager:token:SecretString:t"
        );
        assert_eq!(c["Json"], r#"{"a":1}"#);
        assert_eq!(
            stack.pipelines[0].declaration["artifactStore"]["location"],
            "b-eu-west-1"
        );
        assert!(stack.pipelines[0].generated_name);
    }

    #[test]
    fn overrides_win_over_defaults() {
        let stack = read(
            "                If: !If [IsProd, yes, no]",
            &[("Env", "dev")],
        );
        assert_eq!(configuration(&stack), json!({"If": "no"}));
    }

    #[test]
    fn problems_name_the_resource_and_path() {
        let stack = read("                X: !Ref Nowhere", &[]);
        assert_eq!(stack.problems.len(), 1);
        let p = &stack.problems[0];
        assert_eq!(
            (p.resource.as_str(), p.code.as_str()),
            ("P", "ValidationError")
        );
        assert_eq!(
            p.path,
            "Resources.P.Properties.Stages[0].Actions[0].Configuration.X.Ref"
        );
        assert!(
            p.message
                .contains("Unresolved resource dependencies [Nowhere]"),
            "{}",
            p.message
        );

        let stack = read("                X: !ImportValue missing", &[]);
        assert!(stack.problems[0]
            .message
            .starts_with("No export named missing found"));

        let stack = read("                X: y", &[("Env", "staging")]);
        assert_eq!(stack.problems[0].path, "Parameters.Env");
        assert_eq!(
            stack.problems[0].message,
            "Parameter 'Env' must be one of AllowedValues"
        );
    }
}
