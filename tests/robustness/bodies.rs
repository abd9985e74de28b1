//! Request bodies from the service model: proptest strategies for valid-shaped values, then
//! mutations of one node and damage to the bytes.

use super::*;

/// A plausible value of a shape (often valid, sometimes not): the base that mutations start from.
pub(crate) fn value_of(shape_name: &str, member: &str, depth: u32) -> BoxedStrategy<Value> {
    shape_value(spec().shape(shape_name), member, depth)
}

fn shape_value(shape: &'static Shape, member: &str, depth: u32) -> BoxedStrategy<Value> {
    match shape {
        Shape::Structure { members } => {
            if depth > 8 {
                return Just(json!({})).boxed();
            }
            let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = members
                .iter()
                .map(|m| {
                    let name = m.name.clone();
                    let value = shape_value(spec().at(m.shape), &m.name, depth + 1)
                        .prop_map(move |v| (name.clone(), v));
                    // Required members are present most of the time, optional ones half the time.
                    let weight = if m.required { 0.9 } else { 0.5 };
                    proptest::option::weighted(weight, value).boxed()
                })
                .collect();
            fields
                .prop_map(|fields| Value::Object(fields.into_iter().flatten().collect()))
                .boxed()
        }
        Shape::List { member, min, max } => {
            let lo = min.unwrap_or(0).clamp(0, 3) as usize;
            let hi = max.unwrap_or(3).clamp(lo as i64, 3) as usize;
            proptest::collection::vec(shape_value(spec().at(*member), "", depth + 1), lo..=hi)
                .prop_map(Value::Array)
                .boxed()
        }
        Shape::Map { key, value, .. } => proptest::collection::btree_map(
            shape_value(spec().at(*key), "", depth + 1)
                .prop_map(|k| k.as_str().unwrap_or("k").to_string()),
            shape_value(spec().at(*value), "", depth + 1),
            0..3,
        )
        .prop_map(|entries| Value::Object(entries.into_iter().collect()))
        .boxed(),
        Shape::String {
            min,
            max,
            pattern,
            values,
            ..
        } => {
            if let Some(values) = values {
                let values = values.clone();
                return prop_oneof![
                    9 => proptest::sample::select(values).prop_map(Value::String),
                    1 => "[A-Za-z]{0,12}".prop_map(Value::String),
                ]
                .boxed();
            }
            let lo = min.unwrap_or(0).max(0) as usize;
            let hi = max.unwrap_or(64).clamp(lo as i64, 64) as usize;
            let free = format!("[A-Za-z0-9_.:/-]{{{lo},{hi}}}");
            let generated = pattern
                .as_deref()
                .and_then(|p| proptest::string::string_regex(p).ok())
                .unwrap_or_else(|| proptest::string::string_regex(&free).unwrap());
            let known = known_values(member);
            if known.is_empty() {
                generated.prop_map(Value::String).boxed()
            } else {
                prop_oneof![
                    2 => generated.prop_map(Value::String),
                    1 => proptest::sample::select(known).prop_map(Value::String),
                ]
                .boxed()
            }
        }
        Shape::Integer { min, max } => {
            let lo = min.unwrap_or(-5);
            let hi = max.unwrap_or(1_000).max(lo);
            prop_oneof![
                (lo..=hi).prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
            ]
            .boxed()
        }
        Shape::Boolean => any::<bool>().prop_map(Value::Bool).boxed(),
        Shape::Timestamp => prop_oneof![
            (0i64..4_000_000_000).prop_map(Value::from),
            Just(Value::String("2024-01-01T00:00:00Z".into())),
        ]
        .boxed(),
    }
}

/// Values that name seeded resources, for members that name things.
pub(crate) fn known_values(member: &str) -> Vec<String> {
    match member {
        "name" | "pipelineName" | "targetPipeline" => {
            SEED_PIPELINES.iter().map(|s| s.to_string()).collect()
        }
        "resourceArn" => SEED_PIPELINES.iter().map(|s| arn(s)).collect(),
        "stageName" => vec!["Source".into(), "Build".into()],
        "actionName" => vec!["Source".into(), "Build".into()],
        "provider" => vec!["RobustBuilder".into()],
        _ => Vec::new(),
    }
}

/// What replaces a node of the value.
#[derive(Debug, Clone)]
pub(crate) enum Mutation {
    /// A value of another JSON type (or a string/number of an odd kind).
    Replace(Value),
    /// A string of about 1 MB.
    Huge,
    /// Arrays nested far past any shape (and past the JSON parser's depth limit).
    Deep(usize),
    /// Removes the node (a missing member).
    Remove,
    /// Adds a member no shape has.
    Extra(String, Value),
}

pub(crate) fn odd_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        Just(json!([])),
        Just(json!([1, "two", null, {"three": 3}])),
        Just(json!({})),
        Just(json!({"__type": "x", "nested": {"a": [1, 2]}})),
        Just(Value::String("\u{0}\u{1f}\u{7f}\u{ffff}\u{10ffff}".into())),
        Just(Value::String("'; DROP TABLE pipelines; --".into())),
        Just(Value::String("../../../../etc/passwd".into())),
        Just(Value::String("#{Variables.x}".into())),
    ]
}

pub(crate) fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => odd_value().prop_map(Mutation::Replace),
        1 => Just(Mutation::Huge),
        1 => prop_oneof![Just(64usize), Just(200), Just(10_000)].prop_map(Mutation::Deep),
        2 => Just(Mutation::Remove),
        2 => ("[a-zA-Z_]{1,12}", odd_value()).prop_map(|(k, v)| Mutation::Extra(k, v)),
    ]
}

pub(crate) fn count_nodes(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(count_nodes).sum(),
        Value::Object(entries) => entries.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Applies `mutation` to the `target`-th node (pre-order); the root is node 0.
pub(crate) fn mutate(value: &mut Value, target: usize, mutation: &Mutation) {
    fn visit(value: &mut Value, target: usize, seen: &mut usize, mutation: &Mutation) -> bool {
        if *seen == target {
            match mutation {
                Mutation::Replace(v) => *value = v.clone(),
                Mutation::Huge => *value = Value::String("é".repeat(512 * 1024)),
                Mutation::Deep(_) | Mutation::Remove => {}
                Mutation::Extra(k, v) => match value {
                    Value::Object(entries) => {
                        entries.insert(k.clone(), v.clone());
                    }
                    other => *other = json!({ k.clone(): v.clone() }),
                },
            }
            return true;
        }
        *seen += 1;
        match value {
            Value::Array(items) => {
                for i in 0..items.len() {
                    if *seen == target && matches!(mutation, Mutation::Remove) {
                        items.remove(i);
                        return true;
                    }
                    if visit(&mut items[i], target, seen, mutation) {
                        return true;
                    }
                }
            }
            Value::Object(entries) => {
                let keys: Vec<String> = entries.keys().cloned().collect();
                for k in keys {
                    if *seen == target && matches!(mutation, Mutation::Remove) {
                        entries.remove(&k);
                        return true;
                    }
                    if visit(entries.get_mut(&k).unwrap(), target, seen, mutation) {
                        return true;
                    }
                }
            }
            _ => {}
        }
        false
    }
    let mut seen = 0;
    visit(value, target, &mut seen, mutation);
}

/// Serializes, and for `Deep` splices the nesting in as text (serde_json would refuse to build
/// it past its own recursion limit).
pub(crate) fn render(value: &Value, target: usize, mutation: &Mutation) -> Vec<u8> {
    if let Mutation::Deep(depth) = mutation {
        let marker = "__deep_marker__";
        let mut marked = value.clone();
        mutate(
            &mut marked,
            target,
            &Mutation::Replace(Value::String(marker.into())),
        );
        let text = serde_json::to_string(&marked).unwrap();
        let nested = format!("{}1{}", "[".repeat(*depth), "]".repeat(*depth));
        return text
            .replacen(&format!("\"{marker}\""), &nested, 1)
            .into_bytes();
    }
    let mut value = value.clone();
    mutate(&mut value, target, mutation);
    serde_json::to_vec(&value).unwrap()
}

/// Byte-level damage to a serialized body.
#[derive(Debug, Clone)]
pub(crate) enum Damage {
    None,
    /// Cut the body at a fraction of its length.
    Truncate(f64),
    /// Put bytes that are not UTF-8 inside the first string.
    InvalidUtf8(Vec<u8>),
    /// A number out of any range in place of the first digit run (or prepended as a member).
    HugeNumber(&'static str),
    /// Something that is not JSON at all.
    Garbage(Vec<u8>),
}

pub(crate) fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        12 => Just(Damage::None),
        1 => (0.0f64..1.0).prop_map(Damage::Truncate),
        1 => prop_oneof![
            Just(vec![0xffu8]),
            Just(vec![0xc3, 0x28]),
            Just(vec![0xed, 0xa0, 0x80]),
            Just(vec![0xf8, 0x88, 0x80, 0x80, 0x80]),
        ]
        .prop_map(Damage::InvalidUtf8),
        1 => prop_oneof![
            Just("1e400"),
            Just("-1e400"),
            Just("123456789012345678901234567890"),
            Just("-9223372036854775809"),
            Just("1.7976931348623157e309"),
            Just("NaN"),
        ]
        .prop_map(Damage::HugeNumber),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Damage::Garbage),
    ]
}

pub(crate) fn apply_damage(mut body: Vec<u8>, damage: &Damage) -> Vec<u8> {
    match damage {
        Damage::None => body,
        Damage::Truncate(fraction) => {
            let at = (body.len() as f64 * fraction) as usize;
            body.truncate(at);
            body
        }
        Damage::InvalidUtf8(bytes) => match body.iter().position(|&b| b == b'"') {
            Some(i) => {
                body.splice(i + 1..i + 1, bytes.iter().copied());
                body
            }
            None => {
                let mut out = b"{\"x\":\"".to_vec();
                out.extend_from_slice(bytes);
                out.extend_from_slice(b"\"}");
                out
            }
        },
        Damage::HugeNumber(number) => {
            let text = String::from_utf8(body).unwrap();
            let replaced = match text.find(|c: char| c.is_ascii_digit()) {
                Some(start) => {
                    let end = text[start..]
                        .find(|c: char| !c.is_ascii_digit())
                        .map_or(text.len(), |e| start + e);
                    format!("{}{number}{}", &text[..start], &text[end..])
                }
                None => text.replacen('{', &format!("{{\"n\":{number},"), 1),
            };
            replaced.into_bytes()
        }
        Damage::Garbage(bytes) => bytes.clone(),
    }
}

/// One request body for an operation: a model-shaped value, mutated, serialized, maybe damaged.
pub(crate) fn body_for(op: Operation) -> impl Strategy<Value = (Vec<u8>, String)> {
    (
        value_of(op.input_shape(), "", 0),
        any::<prop::sample::Index>(),
        proptest::option::weighted(0.85, mutation()),
        damage(),
    )
        .prop_map(|(value, index, mutation, damage)| {
            let mutation = mutation.unwrap_or(Mutation::Replace(Value::Null));
            let (target, mutation) = match &mutation {
                // An unmutated body: replace nothing (the root is never replaced with null).
                Mutation::Replace(Value::Null) if index.index(4) == 0 => (usize::MAX, mutation),
                _ => (index.index(count_nodes(&value)), mutation),
            };
            let body = if target == usize::MAX {
                serde_json::to_vec(&value).unwrap()
            } else {
                render(&value, target, &mutation)
            };
            let body = apply_damage(body, &damage);
            let description =
                format!("mutation {mutation:.60?} at node {target}, damage {damage:?}");
            (body, description)
        })
}
