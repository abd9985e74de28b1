//! Stored state: the seeded pipelines and snapshots that show a rejected request changed nothing.

use super::*;

/// Names of the resources seeded before fuzzing; generated names pick them now and then, so
/// requests reach past "not found" into the handlers.
pub(crate) const SEED_PIPELINES: [&str; 2] = ["robust-1", "robust-2"];

pub(crate) fn pipeline_json(name: &str) -> Value {
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

pub(crate) fn arn(name: &str) -> String {
    format!("arn:aws:codepipeline:us-east-1:000000000000:{name}")
}

/// Makes sure the seeded resources exist (a fuzz request that succeeded may have removed one).
pub(crate) async fn seed(wire: &Wire) {
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
pub(crate) async fn snapshot(wire: &Wire) -> BTreeMap<String, Value> {
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

pub(crate) fn first_difference(
    before: &BTreeMap<String, Value>,
    after: &BTreeMap<String, Value>,
) -> Option<String> {
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter().find_map(|k| {
        (before.get(k) != after.get(k))
            .then(|| format!("{k}: before {:?}\nafter {:?}", before.get(k), after.get(k)))
    })
}
