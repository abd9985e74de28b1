//! CloudFormation's intrinsic functions and pseudo parameters, resolved offline:
//! `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub` (both forms), `Fn::Select`, `Fn::Split`,
//! `Fn::If` with the condition functions (`Fn::Equals`, `Fn::And`, `Fn::Or`, `Fn::Not`,
//! `Condition`), `Fn::FindInMap`, `Fn::ImportValue` (exports of stacks loaded before),
//! `Fn::Base64`, `Fn::GetAZs`, `Fn::ToJsonString`, `Fn::Length`. Resources resolve to plausible
//! physical ids and ARNs (`names`); dynamic references (`{{resolve:...}}`) to a placeholder.
//! Anything else is an error naming the JSON path.

use super::names::{self, StackId};
use super::TemplateError;
use base64::Engine;
use serde_json::{Map, Value};
use std::cell::Cell;
use std::collections::BTreeMap;

mod conditions;

/// What a dynamic reference or an SSM-typed parameter resolves to (no secret leaves AWS).
pub fn placeholder(reference: &str) -> String {
    format!("local-placeholder:{reference}")
}

/// Resolves intrinsics in one stack's template.
pub struct Resolver<'a> {
    pub stack: &'a StackId,
    /// Parameter values (a string, or a list for list-typed parameters).
    pub parameters: &'a BTreeMap<String, Value>,
    pub conditions: &'a Map<String, Value>,
    pub resources: &'a Map<String, Value>,
    pub mappings: &'a Map<String, Value>,
    /// Exports of the stacks loaded before, in this account and region.
    pub imports: &'a BTreeMap<String, String>,
    /// Nesting guard (conditions naming conditions, names referring to resources).
    depth: Cell<usize>,
}

const MAX_DEPTH: usize = 64;

type Resolved = Result<Option<Value>, TemplateError>;

impl<'a> Resolver<'a> {
    pub fn new(
        stack: &'a StackId,
        parameters: &'a BTreeMap<String, Value>,
        conditions: &'a Map<String, Value>,
        resources: &'a Map<String, Value>,
        mappings: &'a Map<String, Value>,
        imports: &'a BTreeMap<String, String>,
    ) -> Self {
        Resolver {
            stack,
            parameters,
            conditions,
            resources,
            mappings,
            imports,
            depth: Cell::new(0),
        }
    }

    /// The value with every intrinsic resolved; `None` for `AWS::NoValue`.
    pub fn resolve(&self, value: &Value, path: &str) -> Resolved {
        match value {
            Value::String(s) => Ok(Some(Value::String(dynamic_references(s)))),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    if let Some(v) = self.resolve(item, &format!("{path}[{i}]"))? {
                        out.push(v);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            Value::Object(object) => {
                if let Some((name, argument)) = intrinsic(object) {
                    return self.guarded(path, |r| r.function(name, argument, path));
                }
                let mut out = Map::new();
                for (key, child) in object {
                    if let Some(v) = self.resolve(child, &join(path, key))? {
                        out.insert(key.clone(), v);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    /// A value that must resolve to a string (numbers and booleans are written out).
    pub fn resolve_string(&self, value: &Value, path: &str) -> Result<String, TemplateError> {
        match self.resolve(value, path)? {
            Some(Value::String(s)) => Ok(s),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(Value::Bool(b)) => Ok(b.to_string()),
            Some(other) => Err(error(path, format!("expected a string, got {other}"))),
            None => Err(error(path, "expected a string, got AWS::NoValue")),
        }
    }

    fn guarded(&self, path: &str, f: impl FnOnce(&Self) -> Resolved) -> Resolved {
        if self.depth.get() >= MAX_DEPTH {
            return Err(error(
                path,
                "Template error: circular dependency between conditions or resources",
            ));
        }
        self.depth.set(self.depth.get() + 1);
        let result = f(self);
        self.depth.set(self.depth.get() - 1);
        result
    }

    fn function(&self, name: &str, arg: &Value, path: &str) -> Resolved {
        let path = &join(path, name);
        match name {
            "Ref" => self.reference(arg, path).map(|v| match v {
                Some(Value::String(s)) if s == NO_VALUE => None,
                other => other,
            }),
            "Fn::GetAtt" => self.get_att(arg, path).map(|s| Some(Value::String(s))),
            "Fn::Join" => self.join_fn(arg, path),
            "Fn::Sub" => self.sub(arg, path).map(|s| Some(Value::String(s))),
            "Fn::Select" => self.select(arg, path),
            "Fn::Split" => {
                let [delimiter, source] = pair(arg, path)?;
                let delimiter = self.resolve_string(delimiter, path)?;
                let source = self.resolve_string(source, path)?;
                Ok(Some(Value::Array(
                    source.split(delimiter.as_str()).map(Value::from).collect(),
                )))
            }
            "Fn::If" => {
                let items = array(arg, 3, path)?;
                let condition = self.condition_name(&items[0], path)?;
                let chosen = if self.condition(&condition, path)? {
                    &items[1]
                } else {
                    &items[2]
                };
                self.resolve(chosen, path)
            }
            "Fn::Equals" | "Fn::And" | "Fn::Or" | "Fn::Not" | "Condition" => {
                let mut object = Map::new();
                object.insert(name.to_string(), arg.clone());
                self.condition_value(&Value::Object(object), path)
                    .map(|b| Some(Value::Bool(b)))
            }
            "Fn::FindInMap" => self.find_in_map(arg, path),
            "Fn::ImportValue" => {
                let export = self.resolve_string(arg, path)?;
                self.imports
                    .get(&export)
                    .map(|v| Some(Value::String(v.clone())))
                    .ok_or_else(|| TemplateError {
                        path: path.clone(),
                        code: "ValidationError",
                        message: format!(
                            "No export named {export} found (load the stack that exports it first)"
                        ),
                    })
            }
            "Fn::Base64" => {
                let text = self.resolve_string(arg, path)?;
                Ok(Some(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(text),
                )))
            }
            "Fn::GetAZs" => {
                let region = match self.resolve_string(arg, path)? {
                    r if r.is_empty() => self.stack.region.clone(),
                    r => r,
                };
                Ok(Some(Value::Array(
                    ["a", "b", "c"]
                        .iter()
                        .map(|z| Value::String(format!("{region}{z}")))
                        .collect(),
                )))
            }
            "Fn::ToJsonString" => {
                let inner = self.resolve(arg, path)?.unwrap_or(Value::Null);
                Ok(Some(Value::String(inner.to_string())))
            }
            "Fn::Length" => match self.resolve(arg, path)? {
                Some(Value::Array(items)) => Ok(Some(Value::from(items.len()))),
                _ => Err(error(path, "Fn::Length takes a list")),
            },
            other => Err(error(
                path,
                format!("the intrinsic function {other} is not supported by codepipeline-local"),
            )),
        }
    }

    /// `Ref`: a parameter, a pseudo parameter or a resource.
    fn reference(&self, arg: &Value, path: &str) -> Result<Option<Value>, TemplateError> {
        let name = arg.as_str().ok_or_else(|| {
            error(
                path,
                "Template error: Ref takes the name of a parameter or resource",
            )
        })?;
        if let Some(value) = self.parameters.get(name) {
            return Ok(Some(value.clone()));
        }
        if let Some(value) = self.pseudo(name) {
            return Ok(Some(value));
        }
        let (resource_type, _) = self.resource(name, path)?;
        let physical = self.physical_name(name, path)?;
        Ok(Some(Value::String(names::ref_value(
            self.stack,
            resource_type,
            &physical,
        ))))
    }

    fn pseudo(&self, name: &str) -> Option<Value> {
        let stack = self.stack;
        Some(match name {
            "AWS::AccountId" => stack.account.clone().into(),
            "AWS::Region" => stack.region.clone().into(),
            "AWS::StackName" => stack.name.clone().into(),
            "AWS::StackId" => stack.arn().into(),
            "AWS::Partition" => stack.partition().into(),
            "AWS::URLSuffix" => if stack.region.starts_with("cn-") {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            }
            .into(),
            "AWS::NotificationARNs" => Value::Array(Vec::new()),
            "AWS::NoValue" => NO_VALUE.into(),
            _ => return None,
        })
    }

    fn resource(
        &self,
        logical_id: &str,
        path: &str,
    ) -> Result<(&'a str, &'a Value), TemplateError> {
        let resource = self.resources.get(logical_id).ok_or_else(|| {
            error(
                path,
                format!("Template format error: Unresolved resource dependencies [{logical_id}] in the Resources block of the template"),
            )
        })?;
        let resource_type = resource
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Ok((resource_type, resource))
    }

    /// The physical name of a resource: its name property when set, else a generated one.
    pub fn physical_name(&self, logical_id: &str, path: &str) -> Result<String, TemplateError> {
        let (resource_type, resource) = self.resource(logical_id, path)?;
        let explicit = names::name_property(resource_type).and_then(|p| {
            resource
                .get("Properties")
                .and_then(|props| props.get(p))
                .map(|v| (p, v))
        });
        match explicit {
            Some((property, value)) => {
                let name_path = format!("Resources.{logical_id}.Properties.{property}");
                self.guarded(path, |r| {
                    r.resolve_string(value, &name_path)
                        .map(|s| Some(Value::String(s)))
                })
                .map(|v| {
                    v.and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                })
            }
            None => Ok(names::generated_physical_name(
                self.stack,
                resource_type,
                logical_id,
            )),
        }
    }

    fn get_att(&self, arg: &Value, path: &str) -> Result<String, TemplateError> {
        let (logical_id, attribute) = match arg {
            Value::String(s) => s
                .split_once('.')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| {
                    error(
                        path,
                        "Template error: Fn::GetAtt takes [resource, attribute]",
                    )
                })?,
            Value::Array(items) if items.len() == 2 => (
                items[0]
                    .as_str()
                    .ok_or_else(|| {
                        error(
                            path,
                            "Template error: Fn::GetAtt's resource must be a string",
                        )
                    })?
                    .to_string(),
                self.resolve_string(&items[1], path)?,
            ),
            _ => {
                return Err(error(
                    path,
                    "Template error: Fn::GetAtt takes [resource, attribute]",
                ))
            }
        };
        let (resource_type, _) = self.resource(&logical_id, path)?;
        let physical = self.physical_name(&logical_id, path)?;
        let region = &self.stack.region;
        Ok(match (resource_type, attribute.as_str()) {
            (_, a) if a == "Arn" || a.ends_with(".Arn") => {
                names::arn(self.stack, resource_type, &physical)
            }
            ("AWS::CodePipeline::Pipeline", "Version") => "1".to_string(),
            ("AWS::CodePipeline::Webhook", "Url") => {
                format!("https://{region}.webhooks.aws/trigger?t={physical}")
            }
            ("AWS::S3::Bucket", "DomainName") => format!("{physical}.s3.amazonaws.com"),
            ("AWS::S3::Bucket", "RegionalDomainName") => {
                format!("{physical}.s3.{region}.amazonaws.com")
            }
            ("AWS::S3::Bucket", "WebsiteURL") => {
                format!("http://{physical}.s3-website-{region}.amazonaws.com")
            }
            ("AWS::SQS::Queue", "QueueName") | ("AWS::SNS::Topic", "TopicName") => physical,
            ("AWS::SQS::Queue", "QueueUrl") => {
                names::ref_value(self.stack, resource_type, &physical)
            }
            ("AWS::KMS::Key", "KeyId") => physical,
            (_, "Name") => physical,
            (_, a) => format!("{physical}-{a}"),
        })
    }

    fn join_fn(&self, arg: &Value, path: &str) -> Resolved {
        let [delimiter, list] = pair(arg, path)?;
        let delimiter = self.resolve_string(delimiter, path)?;
        let items = match self.resolve(list, path)? {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(error(
                    path,
                    "Template error: Fn::Join takes [delimiter, list]",
                ))
            }
        };
        let parts = items
            .iter()
            .map(|item| scalar_string(item).ok_or_else(|| error(path, format!("Template error: every Fn::Join object must resolve to a string, got {item}"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Value::String(parts.join(&delimiter))))
    }

    fn select(&self, arg: &Value, path: &str) -> Resolved {
        let [index, list] = pair(arg, path)?;
        let index: usize = self
            .resolve_string(index, path)?
            .parse()
            .map_err(|_| error(path, "Template error: Fn::Select's index must be a number"))?;
        match self.resolve(list, path)? {
            Some(Value::Array(items)) => items
                .get(index)
                .cloned()
                .map(Some)
                .ok_or_else(|| error(path, format!("Template error: Fn::Select cannot select nonexistent value at index {index}"))),
            _ => Err(error(path, "Template error: Fn::Select takes [index, list]")),
        }
    }

    fn find_in_map(&self, arg: &Value, path: &str) -> Resolved {
        let items = arg.as_array().filter(|a| a.len() == 3).ok_or_else(|| {
            error(
                path,
                "Template error: Fn::FindInMap takes [map, top-level key, second-level key]",
            )
        })?;
        let keys = items
            .iter()
            .map(|k| self.resolve_string(k, path))
            .collect::<Result<Vec<_>, _>>()?;
        self.mappings
            .get(&keys[0])
            .and_then(|m| m.get(&keys[1]))
            .and_then(|m| m.get(&keys[2]))
            .cloned()
            .map(Some)
            .ok_or_else(|| {
                error(
                    path,
                    format!(
                        "Template error: Unable to get mapping for {}::{}::{}",
                        keys[0], keys[1], keys[2]
                    ),
                )
            })
    }

    /// `Fn::Sub`: `"text ${Name} ${Res.Attr} ${!Literal}"` or `[text, {Name: value}]`.
    fn sub(&self, arg: &Value, path: &str) -> Result<String, TemplateError> {
        let (template, variables) = match arg {
            Value::String(s) => (s.as_str(), BTreeMap::new()),
            Value::Array(items) if items.len() == 2 => {
                let template = items[0].as_str().ok_or_else(|| {
                    error(
                        path,
                        "Template error: Fn::Sub's first element must be a string",
                    )
                })?;
                let mut variables = BTreeMap::new();
                for (name, value) in items[1].as_object().into_iter().flatten() {
                    variables.insert(name.clone(), self.resolve_string(value, &join(path, name))?);
                }
                (template, variables)
            }
            _ => {
                return Err(error(
                    path,
                    "Template error: Fn::Sub takes a string or [string, map]",
                ))
            }
        };
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| error(path, "Template error: Fn::Sub has an unterminated ${"))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = variables.get(name) {
                out.push_str(value);
            } else if let Some((resource, attribute)) =
                name.split_once('.').filter(|(r, _)| !r.contains("::"))
            {
                out.push_str(
                    &self.get_att(&Value::Array(vec![resource.into(), attribute.into()]), path)?,
                );
            } else {
                let value = self.reference(&Value::String(name.to_string()), path)?;
                let text = value.as_ref().and_then(scalar_string).ok_or_else(|| {
                    error(
                        path,
                        format!(
                            "Template error: variable {name} in Fn::Sub must resolve to a string"
                        ),
                    )
                })?;
                out.push_str(&text);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(dynamic_references(&out))
    }
}

const NO_VALUE: &str = "\u{0}AWS::NoValue";

/// `{"Ref": ...}` or `{"Fn::X": ...}`: the function's name and argument.
fn intrinsic(object: &Map<String, Value>) -> Option<(&str, &Value)> {
    if object.len() != 1 {
        return None;
    }
    let (key, value) = object.iter().next()?;
    (key == "Ref" || key.starts_with("Fn::")).then_some((key.as_str(), value))
}

fn intrinsic_or_condition(object: &Map<String, Value>) -> Option<(&str, &Value)> {
    match object.iter().next() {
        Some((key, value)) if object.len() == 1 && key == "Condition" => {
            Some((key.as_str(), value))
        }
        _ => intrinsic(object),
    }
}

/// Replaces `{{resolve:service:reference}}` dynamic references with a placeholder.
fn dynamic_references(text: &str) -> String {
    if !text.contains("{{resolve:") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{resolve:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                out.push_str(&placeholder(&after[..end]));
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn pair<'v>(arg: &'v Value, path: &str) -> Result<[&'v Value; 2], TemplateError> {
    let items = array(arg, 2, path)?;
    Ok([&items[0], &items[1]])
}

fn array<'v>(arg: &'v Value, len: usize, path: &str) -> Result<&'v [Value], TemplateError> {
    arg.as_array()
        .filter(|a| a.len() == len)
        .map(Vec::as_slice)
        .ok_or_else(|| {
            error(
                path,
                format!("Template error: this function takes a list of {len} elements"),
            )
        })
}

/// `a.b`, or `b` at the top.
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn error(path: &str, message: impl Into<String>) -> TemplateError {
    TemplateError {
        path: path.to_string(),
        code: "ValidationError",
        message: message.into(),
    }
}
