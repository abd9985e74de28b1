//! Conditions: the `Conditions` section, `Fn::If`'s choice, and the condition functions
//! (`Fn::Equals`, `Fn::And`, `Fn::Or`, `Fn::Not`, `Condition`).

use super::{array, error, intrinsic_or_condition, join, pair, scalar_string, Resolver};
use crate::templates::TemplateError;
use serde_json::Value;

impl Resolver<'_> {
    /// Whether the named condition of the `Conditions` section holds.
    pub fn condition(&self, name: &str, path: &str) -> Result<bool, TemplateError> {
        let definition = self.conditions.get(name).ok_or_else(|| {
            error(
                path,
                format!("Template format error: Unresolved dependencies [{name}]. Cannot reference resources in the Conditions block of the template"),
            )
        })?;
        self.guarded(path, |r| {
            r.condition_value(definition, &format!("Conditions.{name}"))
                .map(|b| Some(Value::Bool(b)))
        })
        .map(|v| v == Some(Value::Bool(true)))
    }

    pub(super) fn condition_name(
        &self,
        value: &Value,
        path: &str,
    ) -> Result<String, TemplateError> {
        value.as_str().map(str::to_string).ok_or_else(|| {
            error(
                path,
                "Template error: Fn::If's first element must name a condition",
            )
        })
    }

    /// A condition function (or a `{"Condition": name}`) evaluated to a boolean.
    pub(super) fn condition_value(&self, value: &Value, path: &str) -> Result<bool, TemplateError> {
        if let Value::Bool(b) = value {
            return Ok(*b);
        }
        let Some((name, arg)) = value.as_object().and_then(intrinsic_or_condition) else {
            return Err(error(
                path,
                format!("Template error: a condition must be a condition function, got {value}"),
            ));
        };
        let path = &join(path, name);
        match name {
            "Condition" => {
                let other = self.condition_name(arg, path)?;
                self.condition(&other, path)
            }
            "Fn::Equals" => {
                let [a, b] = pair(arg, path)?;
                let a = self.resolve(a, path)?;
                let b = self.resolve(b, path)?;
                Ok(a.as_ref()
                    .and_then(scalar_string)
                    .or_else(|| a.map(|v| v.to_string()))
                    == b.as_ref()
                        .and_then(scalar_string)
                        .or_else(|| b.map(|v| v.to_string())))
            }
            "Fn::Not" => {
                let items = array(arg, 1, path)?;
                Ok(!self.condition_value(&items[0], path)?)
            }
            "Fn::And" | "Fn::Or" => {
                let items = arg
                    .as_array()
                    .filter(|a| (2..=10).contains(&a.len()))
                    .ok_or_else(|| {
                        error(
                            path,
                            format!("Template error: {name} takes 2 to 10 conditions"),
                        )
                    })?;
                let mut values = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    values.push(self.condition_value(item, &format!("{path}[{i}]"))?);
                }
                Ok(if name == "Fn::And" {
                    values.iter().all(|b| *b)
                } else {
                    values.iter().any(|b| *b)
                })
            }
            _ => match self.resolve(value, path)? {
                Some(Value::Bool(b)) => Ok(b),
                Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
                other => Err(error(
                    path,
                    format!(
                        "Template error: a condition must evaluate to a boolean, got {other:?}"
                    ),
                )),
            },
        }
    }
}
