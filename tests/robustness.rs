//! Robustness of the wire protocol against hostile input, over real HTTP: for every operation of
//! the service model, random and mutated JSON bodies (wrong types, ~1 MB strings, deep nesting,
//! invalid UTF-8, missing and extra fields, nulls, numbers out of range, arrays where objects
//! belong, truncated JSON). The server must never answer 5xx, never hang, always answer a client
//! error as an AWS error (`__type` equal to `x-amzn-ErrorType`) drawn from what the operation
//! may answer, and never change stored state on a request it rejected.
//!
//! Bodies come from proptest strategies built from the service model (`model::spec`), run with
//! a deterministic RNG so a failure reproduces; each operation gets a bounded number of cases.
//! `ROBUST_LIST_UNMODELLED=1 cargo test --test robustness -- --nocapture` prints error codes
//! outside an operation's allowed set instead of failing on the first.

mod common;

use codepipeline_local::model::spec::{spec, Shape};
use codepipeline_local::model::{ErrorCode, Operation};
use common::engine::manual_config;
use common::ROLE_ARN;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Map, Value};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::Duration;

const PREFIX: &str = "CodePipeline_20150709";
/// Random cases per operation (each case is one request, plus state snapshots around it).
const CASES_PER_OPERATION: u32 = 32;
/// A request that takes longer than this is a hang.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Names of the resources seeded before fuzzing; generated names pick them now and then, so
/// requests reach past "not found" into the handlers.
const SEED_PIPELINES: [&str; 2] = ["robust-1", "robust-2"];

/// The operation's modelled errors, the protocol-level errors any operation may answer, and the
/// unmodelled errors the README documents ("Decisions").
fn allowed_errors(op: Operation) -> Vec<&'static str> {
    let mut allowed: Vec<&'static str> = op.errors().iter().map(ErrorCode::as_str).collect();
    allowed.extend([
        "ValidationException",
        "SerializationException",
        "UnknownOperationException",
        "RequestEntityTooLargeException",
    ]);
    if op == Operation::UpdatePipeline {
        allowed.push("PipelineNotFoundException");
    }
    // README "Decisions": DeleteCustomActionType of an unknown type is
    // ActionTypeNotFoundException (the model lists only ValidationException and
    // ConcurrentModificationException).
    if op == Operation::DeleteCustomActionType {
        allowed.push("ActionTypeNotFoundException");
    }
    allowed
}

// ---------------------------------------------------------------------------------------------
// HTTP

struct Answer {
    status: u16,
    error_header: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

struct Wire {
    url: String,
    http: reqwest::Client,
}

impl Wire {
    async fn send(&self, operation: &str, body: Vec<u8>) -> Result<Answer, String> {
        let request = self
            .http
            .post(&self.url)
            .header("x-amz-target", format!("{PREFIX}.{operation}"))
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/codepipeline/aws4_request, \
                 SignedHeaders=host;x-amz-date;x-amz-target, Signature=00",
            )
            .body(body);
        let response = request
            .send()
            .await
            .map_err(|e| format!("{operation}: no answer: {e}"))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let error_header = header("x-amzn-errortype");
        let content_type = header("content-type");
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("{operation}: body not read: {e}"))?
            .to_vec();
        Ok(Answer {
            status,
            error_header,
            content_type,
            body,
        })
    }

    /// A call that must succeed; its JSON answer.
    async fn ok(&self, operation: &str, body: Value) -> Value {
        let answer = self
            .send(operation, serde_json::to_vec(&body).unwrap())
            .await
            .unwrap();
        assert_eq!(
            answer.status,
            200,
            "{operation} {body}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        serde_json::from_slice(&answer.body).unwrap()
    }
}

/// Checks one answer against the protocol; returns the error code when it is an error.
fn check_answer(op: Operation, answer: &Answer) -> Result<Option<String>, String> {
    let text = || String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)]).into_owned();
    if answer.status >= 500 {
        return Err(format!(
            "{}: server error {}: {}",
            op.name(),
            answer.status,
            text()
        ));
    }
    let json: Value = serde_json::from_slice(&answer.body)
        .map_err(|e| format!("{}: answer is not JSON ({e}): {}", op.name(), text()))?;
    if answer.content_type.as_deref() != Some("application/x-amz-json-1.1") {
        return Err(format!(
            "{}: content type {:?}",
            op.name(),
            answer.content_type
        ));
    }
    match answer.status {
        200 => {
            if !json.is_object() {
                return Err(format!(
                    "{}: success body is not an object: {}",
                    op.name(),
                    text()
                ));
            }
            Ok(None)
        }
        400 | 413 => {
            let code = json["__type"]
                .as_str()
                .ok_or_else(|| format!("{}: error without __type: {}", op.name(), text()))?;
            if answer.error_header.as_deref() != Some(code) {
                return Err(format!(
                    "{}: x-amzn-ErrorType {:?} differs from __type {code}",
                    op.name(),
                    answer.error_header
                ));
            }
            if !json["message"].is_string() {
                return Err(format!("{}: error without message: {}", op.name(), text()));
            }
            if std::env::var("ROBUST_LIST_UNMODELLED").is_ok()
                && !allowed_errors(op).contains(&code)
            {
                eprintln!("UNMODELLED {} {code} {}", op.name(), text());
            } else if !allowed_errors(op).contains(&code) {
                return Err(format!(
                    "{}: error {code} is neither modelled for the operation nor a protocol error: {}",
                    op.name(),
                    text()
                ));
            }
            if (answer.status == 413) != (code == "RequestEntityTooLargeException") {
                return Err(format!(
                    "{}: status {} with {code}",
                    op.name(),
                    answer.status
                ));
            }
            Ok(Some(code.to_string()))
        }
        other => Err(format!(
            "{}: unexpected status {other}: {}",
            op.name(),
            text()
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Seeded state and its snapshot

fn pipeline_json(name: &str) -> Value {
    json!({
        "name": name,
        "roleArn": ROLE_ARN,
        "artifactStore": {"type": "S3", "location": "artifact-bucket"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "b", "S3ObjectKey": "k.zip"},
                "outputArtifacts": [{"name": "SourceOutput"}]
            }]},
            {"name": "Build", "actions": [{
                "name": "Build",
                "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "p"},
                "inputArtifacts": [{"name": "SourceOutput"}]
            }]}
        ]
    })
}

fn arn(name: &str) -> String {
    format!("arn:aws:codepipeline:us-east-1:000000000000:{name}")
}

/// Makes sure the seeded resources exist (a fuzz request that succeeded may have removed one).
async fn seed(wire: &Wire) {
    for name in SEED_PIPELINES {
        let exists = wire
            .send(
                "GetPipeline",
                serde_json::to_vec(&json!({"name": name})).unwrap(),
            )
            .await
            .unwrap()
            .status
            == 200;
        if !exists {
            wire.ok(
                "CreatePipeline",
                json!({"pipeline": pipeline_json(name), "tags": [{"key": "team", "value": "qa"}]}),
            )
            .await;
        }
    }
    let types = wire
        .ok("ListActionTypes", json!({"actionOwnerFilter": "Custom"}))
        .await;
    if types["actionTypes"].as_array().is_none_or(Vec::is_empty) {
        wire.ok(
            "CreateCustomActionType",
            json!({"category": "Build", "provider": "RobustBuilder", "version": "1",
                   "inputArtifactDetails": {"minimumCount": 0, "maximumCount": 1},
                   "outputArtifactDetails": {"minimumCount": 0, "maximumCount": 1}}),
        )
        .await;
    }
}

/// What a rejected request must not change: pipelines (declarations and versions), tags,
/// which executions exist, stage transitions, custom action types, webhooks.
async fn snapshot(wire: &Wire) -> BTreeMap<String, Value> {
    let mut state = BTreeMap::new();
    let mut list = wire.ok("ListPipelines", json!({})).await;
    let names: Vec<String> = list["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    if let Some(pipelines) = list["pipelines"].as_array_mut() {
        for p in pipelines {
            // `updated` of a pipeline changes only with its version.
            p.as_object_mut().unwrap().remove("updated");
        }
    }
    state.insert("ListPipelines".into(), list);
    for name in &names {
        let mut pipeline = wire.ok("GetPipeline", json!({"name": name})).await;
        if let Some(metadata) = pipeline["metadata"].as_object_mut() {
            metadata.remove("pollingDisabledAt");
        }
        state.insert(format!("GetPipeline {name}"), pipeline);
        state.insert(
            format!("ListTagsForResource {name}"),
            wire.ok("ListTagsForResource", json!({"resourceArn": arn(name)}))
                .await,
        );
        let executions = wire
            .ok("ListPipelineExecutions", json!({"pipelineName": name}))
            .await;
        let ids: Vec<Value> = executions["pipelineExecutionSummaries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["pipelineExecutionId"].clone())
            .collect();
        state.insert(format!("executions {name}"), Value::Array(ids));
        let pipeline_state = wire.ok("GetPipelineState", json!({"name": name})).await;
        let transitions: Vec<Value> = pipeline_state["stageStates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| json!([s["stageName"], s["inboundTransitionState"]]))
            .collect();
        state.insert(format!("transitions {name}"), Value::Array(transitions));
    }
    state.insert(
        "ListActionTypes".into(),
        wire.ok("ListActionTypes", json!({"actionOwnerFilter": "Custom"}))
            .await,
    );
    state.insert(
        "ListWebhooks".into(),
        wire.ok("ListWebhooks", json!({})).await,
    );
    state
}

fn first_difference(
    before: &BTreeMap<String, Value>,
    after: &BTreeMap<String, Value>,
) -> Option<String> {
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter().find_map(|k| {
        (before.get(k) != after.get(k))
            .then(|| format!("{k}: before {:?}\nafter {:?}", before.get(k), after.get(k)))
    })
}

// ---------------------------------------------------------------------------------------------
// Bodies from the service model

/// A plausible value of a shape (often valid, sometimes not): the base that mutations start from.
fn value_of(shape_name: &str, member: &str, depth: u32) -> BoxedStrategy<Value> {
    match spec().shape(shape_name) {
        Shape::Structure { members } => {
            if depth > 8 {
                return Just(json!({})).boxed();
            }
            let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = members
                .iter()
                .map(|m| {
                    let name = m.name.clone();
                    let value =
                        value_of(&m.shape, &m.name, depth + 1).prop_map(move |v| (name.clone(), v));
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
            proptest::collection::vec(value_of(member, "", depth + 1), lo..=hi)
                .prop_map(Value::Array)
                .boxed()
        }
        Shape::Map { key, value, .. } => proptest::collection::btree_map(
            value_of(key, "", depth + 1).prop_map(|k| k.as_str().unwrap_or("k").to_string()),
            value_of(value, "", depth + 1),
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
fn known_values(member: &str) -> Vec<String> {
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
enum Mutation {
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

fn odd_value() -> impl Strategy<Value = Value> {
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

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => odd_value().prop_map(Mutation::Replace),
        1 => Just(Mutation::Huge),
        1 => prop_oneof![Just(64usize), Just(200), Just(10_000)].prop_map(Mutation::Deep),
        2 => Just(Mutation::Remove),
        2 => ("[a-zA-Z_]{1,12}", odd_value()).prop_map(|(k, v)| Mutation::Extra(k, v)),
    ]
}

fn count_nodes(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(count_nodes).sum(),
        Value::Object(entries) => entries.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Applies `mutation` to the `target`-th node (pre-order); the root is node 0.
fn mutate(value: &mut Value, target: usize, mutation: &Mutation) {
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
fn render(value: &Value, target: usize, mutation: &Mutation) -> Vec<u8> {
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
enum Damage {
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

fn damage() -> impl Strategy<Value = Damage> {
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

fn apply_damage(mut body: Vec<u8>, damage: &Damage) -> Vec<u8> {
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
fn body_for(op: Operation) -> impl Strategy<Value = (Vec<u8>, String)> {
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

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(400)]).into_owned();
    if body.len() > 400 {
        format!("{text}... ({} bytes)", body.len())
    } else {
        text
    }
}

fn is_read_only(op: Operation) -> bool {
    let name = op.name();
    name.starts_with("Get") || name.starts_with("List")
}

fn runner(seed_offset: u8) -> TestRunner {
    let mut seed = [7u8; 32];
    seed[0] = seed_offset;
    TestRunner::new_with_rng(
        ProptestConfig {
            cases: CASES_PER_OPERATION,
            failure_persistence: None,
            max_shrink_iters: 64,
            ..ProptestConfig::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn wire(url: &str) -> Wire {
    Wire {
        url: url.to_string(),
        http: reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap(),
    }
}

/// Every operation, random and mutated bodies: protocol-correct answers, no 5xx, no hang, and
/// no state change from a rejected request.
#[test]
fn every_operation_survives_random_and_mutated_bodies() {
    let rt = runtime();
    let mut config = manual_config();
    config.max_pipelines = 10_000;
    let server = rt.block_on(common::start_with(config));
    let wire = wire(&server.url);
    let outcomes: RefCell<BTreeMap<String, usize>> = RefCell::default();
    for (i, op) in Operation::ALL.iter().copied().enumerate() {
        rt.block_on(seed(&wire));
        let baseline = RefCell::new(rt.block_on(snapshot(&wire)));
        let strategy = body_for(op);
        let mut runner = runner(i as u8);
        let result = runner.run(&strategy, |(body, description)| {
            let answer = rt
                .block_on(wire.send(op.name(), body.clone()))
                .map_err(|e| TestCaseError::fail(format!("{e}\n{description}\nbody: {}", excerpt(&body))))?;
            let code = check_answer(op, &answer).map_err(|e| {
                TestCaseError::fail(format!("{e}\n{description}\nbody: {}", excerpt(&body)))
            })?;
            *outcomes
                .borrow_mut()
                .entry(code.clone().unwrap_or_else(|| "200".into()))
                .or_default() += 1;
            if is_read_only(op) {
                return Ok(());
            }
            let after = rt.block_on(snapshot(&wire));
            if code.is_some() {
                if let Some(diff) = first_difference(&baseline.borrow(), &after) {
                    return Err(TestCaseError::fail(format!(
                        "{}: a rejected request ({code:?}) changed state: {diff}\n{description}\nbody: {}",
                        op.name(),
                        excerpt(&body)
                    )));
                }
            } else {
                // An accepted change: the new state is the baseline from here on.
                *baseline.borrow_mut() = after;
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{}: {e}", op.name());
        }
    }
    let outcomes = outcomes.into_inner();
    eprintln!("outcomes: {outcomes:?}");
    // The generator reaches past validation: some requests succeed, some hit the handlers.
    assert!(
        outcomes.get("200").copied().unwrap_or(0) > 20,
        "{outcomes:?}"
    );
    assert!(outcomes.get("SerializationException").copied().unwrap_or(0) > 20);
    assert!(outcomes.get("ValidationException").copied().unwrap_or(0) > 20);
    rt.block_on(server.server.shutdown()).unwrap();
}

fn rich_create_body(name: &str) -> Value {
    let mut pipeline = pipeline_json(name);
    pipeline["pipelineType"] = json!("V2");
    pipeline["executionMode"] = json!("QUEUED");
    pipeline["variables"] =
        json!([{"name": "Env", "defaultValue": "dev", "description": "target"}]);
    pipeline["stages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "Deploy", "actions": [{
            "name": "Deploy",
            "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CodeDeploy", "version": "1"},
            "configuration": {"ApplicationName": "app", "DeploymentGroupName": "#{variables.Env}"},
            "inputArtifacts": [{"name": "SourceOutput"}],
            "runOrder": 2,
            "region": "us-east-1",
            "namespace": "DeployVars"
        }], "onFailure": {"result": "ROLLBACK"}}));
    json!({"pipeline": pipeline, "tags": [{"key": "team", "value": "qa"}, {"key": "cost", "value": "1"}]})
}

/// Flips the JSON type of a node: string <-> number, object <-> array, bool -> string, null in.
fn flip(value: &Value, choice: usize) -> Value {
    match value {
        Value::String(s) => match choice % 4 {
            0 => json!(s.len()),
            1 => json!([s]),
            2 => Value::Null,
            // Same type, another value: often still valid.
            _ => json!(format!("{s}x")),
        },
        Value::Number(n) => match choice % 3 {
            0 => json!(n.to_string()),
            1 => json!(u64::MAX),
            _ => json!(-1),
        },
        Value::Bool(b) => json!(b.to_string()),
        Value::Array(items) => match choice % 3 {
            0 => json!({"member": items.first().cloned().unwrap_or(Value::Null)}),
            1 => json!([]),
            _ => Value::Array(items.iter().chain(items.iter()).cloned().collect()),
        },
        Value::Object(entries) => match choice % 3 {
            0 => Value::Array(entries.values().cloned().collect()),
            1 => Value::Object(Map::new()),
            _ => json!("object"),
        },
        Value::Null => json!({}),
    }
}

/// A valid, rich CreatePipeline body with 1-4 members' types flipped: never a 5xx, always a
/// well-formed answer; an accepted one is a real pipeline (readable, then deleted).
#[test]
fn seeded_mutations_of_a_valid_create_pipeline_never_break_the_server() {
    let rt = runtime();
    let mut config = manual_config();
    config.max_pipelines = 10_000;
    let server = rt.block_on(common::start_with(config));
    let wire = wire(&server.url);
    // The unmutated body is valid.
    rt.block_on(wire.ok("CreatePipeline", rich_create_body("mut-base")));
    let counter = Cell::new(0u32);
    let strategy = proptest::collection::vec((any::<prop::sample::Index>(), 0usize..12), 1..=4);
    let mut runner = runner(200);
    let accepted = Cell::new(0u32);
    let result = runner.run(&strategy, |flips| {
        counter.set(counter.get() + 1);
        let name = format!("mut-{}", counter.get());
        let mut body = rich_create_body(&name);
        for (index, choice) in &flips {
            // Never the root; the name stays a string so a success can be cleaned up.
            let target = 1 + index.index(count_nodes(&body) - 1);
            let mut current = body.clone();
            let mut node = Value::Null;
            let mut seen = 0usize;
            find_node(&current, target, &mut seen, &mut node);
            if node.as_str() == Some(name.as_str()) {
                continue;
            }
            mutate(
                &mut current,
                target,
                &Mutation::Replace(flip(&node, *choice)),
            );
            body = current;
        }
        let bytes = serde_json::to_vec(&body).unwrap();
        let answer = rt
            .block_on(wire.send("CreatePipeline", bytes.clone()))
            .map_err(TestCaseError::fail)?;
        let code = check_answer(Operation::CreatePipeline, &answer)
            .map_err(|e| TestCaseError::fail(format!("{e}\nbody: {}", excerpt(&bytes))))?;
        if code.is_none() {
            accepted.set(accepted.get() + 1);
            let get = rt.block_on(wire.send(
                "GetPipeline",
                serde_json::to_vec(&json!({"name": name})).unwrap(),
            ));
            prop_assert_eq!(get.map(|a| a.status).ok(), Some(200));
            rt.block_on(wire.ok("DeletePipeline", json!({"name": name})));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "accepted mutations: {}/{CASES_PER_OPERATION}",
        accepted.get()
    );
    rt.block_on(server.server.shutdown()).unwrap();
}

fn find_node(value: &Value, target: usize, seen: &mut usize, out: &mut Value) -> bool {
    if *seen == target {
        *out = value.clone();
        return true;
    }
    *seen += 1;
    match value {
        Value::Array(items) => items.iter().any(|v| find_node(v, target, seen, out)),
        Value::Object(entries) => entries.values().any(|v| find_node(v, target, seen, out)),
        _ => false,
    }
}

/// Bodies no model shape produces: the protocol answers each with an AWS error, on every
/// operation.
#[test]
fn hostile_bodies_on_every_operation() {
    let rt = runtime();
    let server = rt.block_on(common::start_with(manual_config()));
    let wire = wire(&server.url);
    let deep_object = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    let bodies: Vec<Vec<u8>> = vec![
        b"[]".to_vec(),
        b"null".to_vec(),
        b"42".to_vec(),
        b"\"string\"".to_vec(),
        b"{".to_vec(),
        b"{}}".to_vec(),
        b"\xff\xfe\x00{}".to_vec(),
        b"{\"name\": \"\xff\"}".to_vec(),
        b"{\"name\": 1e400}".to_vec(),
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        deep_object.into_bytes(),
        format!("{{\"name\": \"{}\"}}", "x".repeat(1 << 20)).into_bytes(),
        format!(
            "{{{}}}",
            (0..20_000)
                .map(|i| format!("\"k{i}\": {i}"))
                .collect::<Vec<_>>()
                .join(",")
        )
        .into_bytes(),
    ];
    rt.block_on(async {
        for op in Operation::ALL {
            for body in &bodies {
                let answer = wire.send(op.name(), body.clone()).await.unwrap();
                let code = check_answer(op, &answer)
                    .unwrap_or_else(|e| panic!("{e}\nbody: {}", excerpt(body)));
                // Nothing here is a valid request, except objects whose members are all unknown
                // (ignored, as AWS does) for an operation without required members.
                if code.is_none() {
                    let parsed: Result<Value, _> = serde_json::from_slice(body);
                    assert!(
                        parsed.is_ok_and(|v| v.is_object()),
                        "{}: accepted {}",
                        op.name(),
                        excerpt(body)
                    );
                }
            }
        }
    });
    rt.block_on(server.server.shutdown()).unwrap();
}
