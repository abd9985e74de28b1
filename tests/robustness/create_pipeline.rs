//! Seeded mutations of one rich, valid CreatePipeline body.

use super::*;

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
