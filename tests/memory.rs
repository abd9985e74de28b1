//! Memory per stored pipeline and per finished execution, counted by a counting allocator
//! around the system allocator (the server runs in this process).
//! `cargo test --release --test memory -- --ignored --nocapture` prints the figures;
//! `records_stay_compact` fails when a stored pipeline grows past the target of issue 13, or an
//! execution past twice its target.

mod common;

use serde_json::{json, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// A 2-stage pipeline of simulated actions (source, build).
fn pipeline(name: &str) -> Value {
    json!({
        "name": name,
        "roleArn": common::ROLE_ARN,
        "artifactStore": {"type": "S3", "location": "artifact-bucket"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "source-bucket", "S3ObjectKey": "app.zip"},
                "outputArtifacts": [{"name": "SourceOutput"}],
                "runOrder": 1
            }]},
            {"name": "Build", "actions": [{
                "name": "Build",
                "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "my-project"},
                "inputArtifacts": [{"name": "SourceOutput"}],
                "outputArtifacts": [{"name": "BuildOutput"}],
                "runOrder": 1
            }]}
        ],
        "version": 1
    })
}

async fn settle() {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
}

/// One measurement at a time (the counter is global).
static MEASURING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_stay_compact() {
    let _one = MEASURING.lock().await;
    let server = common::start_with(common::engine::manual_config()).await;
    let (per_pipeline, per_execution) = measure(&server, 600).await;
    // Targets: 2 KiB per stored pipeline, 1.5 KiB per finished 2-stage execution. Each server
    // thread also keeps its last decoded executions (`store::packed`), a fixed amount that
    // adds up to a few hundred bytes per execution over this few: hence the quarter more.
    // The figure itself comes from `bytes_per_pipeline_and_per_finished_execution`.
    assert!(
        per_execution <= 1.25 * 1536.0,
        "{per_execution:.0} bytes per finished execution"
    );
    assert!(
        per_pipeline < 2048.0,
        "{per_pipeline:.0} bytes per stored pipeline"
    );
}

/// Bytes per pipeline and per finished execution (one each) over `n` pipelines, after a warm-up.
async fn measure(server: &common::TestServer, n: usize) -> (f64, f64) {
    // Warm up: one pipeline with a finished execution, so lazily built tables exist.
    let warm = server
        .raw(
            "CreatePipeline",
            &json!({"pipeline": pipeline("warm")}).to_string(),
        )
        .await;
    assert_eq!(warm.0, 200, "{warm:?}");
    let id = common::engine::start_execution(&server.client, "warm").await;
    common::engine::wait_finished(&server.client, "warm", &id).await;
    // The first successful CreatePipeline requests over HTTP grow something of the server once
    // (about 120 KB, whatever the number of pipelines): paid here, not spread over the
    // pipelines measured.
    for i in 0..50 {
        let name = format!("warm-{i:04}");
        let body = json!({"pipeline": pipeline(&name)}).to_string();
        let (status, _, answer) = server.raw("CreatePipeline", &body).await;
        assert_eq!(status, 200, "{answer}");
        let (status, _, answer) = server
            .raw("DeletePipeline", &json!({"name": name}).to_string())
            .await;
        assert_eq!(status, 200, "{answer}");
    }
    settle().await;

    let before = live();
    for i in 0..n {
        let body = json!({"pipeline": pipeline(&format!("mem-{i:04}"))}).to_string();
        let (status, _, answer) = server.raw("CreatePipeline", &body).await;
        assert_eq!(status, 200, "{answer}");
    }
    settle().await;
    let pipelines = live();

    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(common::engine::start_execution(&server.client, &format!("mem-{i:04}")).await);
    }
    for (i, id) in ids.iter().enumerate() {
        let execution =
            common::engine::wait_finished(&server.client, &format!("mem-{i:04}"), id).await;
        assert_eq!(
            execution.status,
            Some(aws_sdk_codepipeline::types::PipelineExecutionStatus::Succeeded)
        );
    }
    drop(ids);
    settle().await;
    let executions = live();
    (
        (pipelines - before) as f64 / n as f64,
        (executions - pipelines) as f64 / n as f64,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn bytes_per_pipeline_and_per_finished_execution() {
    const N: usize = 900;
    let _one = MEASURING.lock().await;
    let server = common::start_with(common::engine::manual_config()).await;
    let (per_pipeline, per_execution) = measure(&server, N).await;
    println!("bytes per stored pipeline (1 version): {per_pipeline:.0}");
    println!("bytes per finished 2-stage execution: {per_execution:.0}");
    // A second execution of each pipeline: what one more kept execution costs.
    let mut ids = Vec::new();
    let before = live();
    for i in 0..N {
        ids.push(common::engine::start_execution(&server.client, &format!("mem-{i:04}")).await);
    }
    for (i, id) in ids.iter().enumerate() {
        common::engine::wait_finished(&server.client, &format!("mem-{i:04}"), id).await;
    }
    drop(ids);
    settle().await;
    println!(
        "bytes per further finished execution (second of each pipeline): {:.0}",
        (live() - before) as f64 / N as f64
    );

    // Where a pipeline without executions holds its bytes.
    let body = json!({"pipeline": pipeline("fresh")}).to_string();
    let (status, _, answer) = server.raw("CreatePipeline", &body).await;
    assert_eq!(status, 200, "{answer}");
    fresh_pipeline_parts(&server.server.app);

    // Where one pipeline's runtime holds them: freed bytes when each part is dropped.
    let scope = codepipeline_local::protocol::Scope {
        account: "000000000000".into(),
        region: "us-east-1".into(),
    };
    let region = server.server.app.store.read(&scope);
    let mut state = region.lock();
    let record = state.pipelines.get_mut("mem-0000").expect("pipeline");
    let before = live();
    let copy = (**record.current()).clone();
    println!("  a copy of the declaration: {}", live() - before);
    drop(copy);
    println!(
        "  arn {} tags {}",
        record.arn.capacity(),
        record.tags.capacity()
    );
    let runtime = &mut record.runtime;
    println!(
        "  packed blobs: {} bytes for {} executions",
        runtime.packed_bytes(),
        runtime.packed.len()
    );
    if std::env::var("MEMORY_DUMP").is_ok() {
        println!("{}", serde_json::to_string(&*runtime).unwrap_or_default());
    }
    let freed = |what: &str, f: &mut dyn FnMut()| {
        let before = live();
        f();
        println!("  {what}: {}", before - live());
    };
    if let Some(first) = runtime.action_executions.values_mut().next() {
        let a = std::sync::Arc::make_mut(first);
        freed("  action.input", &mut || drop(std::mem::take(&mut a.input)));
        freed("  action.output_artifacts", &mut || {
            drop(std::mem::take(&mut a.output_artifacts))
        });
        freed("  action.output_variables", &mut || {
            drop(std::mem::take(&mut a.output_variables))
        });
        freed("  action.summary", &mut || drop(a.summary.take()));
        freed("  action.external ids", &mut || {
            drop(a.external_execution_id.take());
            drop(a.external_execution_url.take());
        });
        freed("  action.runner", &mut || {
            drop(std::mem::replace(
                &mut a.runner,
                codepipeline_local::store::runtime::Runner::Approval,
            ))
        });
    }
    if let Some(first) = runtime.executions.values_mut().next() {
        let e = std::sync::Arc::make_mut(first);
        freed("  execution.artifact_revisions", &mut || {
            drop(std::mem::take(&mut e.artifact_revisions))
        });
        freed("  execution.source_revisions", &mut || {
            drop(std::mem::take(&mut e.source_revisions))
        });
        freed("  execution.artifacts", &mut || {
            drop(std::mem::take(&mut e.artifacts))
        });
        freed("  execution.stages", &mut || {
            drop(std::mem::take(&mut e.stages))
        });
        freed("  execution.namespaces", &mut || {
            drop(std::mem::take(&mut e.namespaces))
        });
        freed("  execution.variables", &mut || {
            drop(std::mem::take(&mut e.variables))
        });
    }
    freed("action_executions", &mut || {
        drop(std::mem::take(&mut runtime.action_executions))
    });
    freed("executions", &mut || {
        drop(std::mem::take(&mut runtime.executions))
    });
    freed("execution_ids", &mut || {
        drop(std::mem::take(&mut runtime.execution_ids))
    });
    freed("action_execution_ids", &mut || {
        drop(std::mem::take(&mut runtime.action_execution_ids))
    });
    freed("stage_latest", &mut || {
        drop(std::mem::take(&mut runtime.stage_latest))
    });
    freed("action_latest", &mut || {
        drop(std::mem::take(&mut runtime.action_latest))
    });
    freed("current_revisions", &mut || {
        drop(std::mem::take(&mut runtime.current_revisions))
    });
    freed("rest of runtime", &mut || drop(std::mem::take(runtime)));
    let before = live();
    let removed = state.pipelines.remove("mem-0001");
    println!(
        "pipeline record out of the map (its declaration shared with its executions): {}",
        before - live()
    );
    let before = live();
    drop(removed);
    println!("pipeline record dropped: {}", before - live());
}

/// Prints the parts of the stored pipeline `fresh` (no executions), then drops it.
fn fresh_pipeline_parts(app: &codepipeline_local::app::App) {
    let scope = codepipeline_local::protocol::Scope {
        account: "000000000000".into(),
        region: "us-east-1".into(),
    };
    let region = app.store.read(&scope);
    let mut state = region.lock();
    println!("a pipeline without executions:");
    let Some(record) = state.pipelines.get("fresh") else {
        panic!("pipeline fresh");
    };
    let before = live();
    let copy = (**record.current()).clone();
    println!("  a copy of its declaration: {}", live() - before);
    drop(copy);
    println!("  arn (capacity): {}", record.arn.capacity());
    let before = live();
    let runtime = Box::<codepipeline_local::store::runtime::PipelineRuntime>::default();
    println!("  an empty runtime: {}", live() - before);
    drop(runtime);
    let before = live();
    let removed = state.pipelines.remove("fresh");
    println!("  out of the map of pipelines: {}", before - live());
    let before = live();
    drop(removed);
    println!("  the record dropped: {}", before - live());
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn record_sizes() {
    use codepipeline_local::store::runtime::*;
    println!(
        "PipelineExecutionRecord {}",
        std::mem::size_of::<PipelineExecutionRecord>()
    );
    println!(
        "StageExecutionRecord {}",
        std::mem::size_of::<StageExecutionRecord>()
    );
    println!(
        "ActionExecutionRecord {}",
        std::mem::size_of::<ActionExecutionRecord>()
    );
    println!(
        "RuleExecutionRecord {}",
        std::mem::size_of::<RuleExecutionRecord>()
    );
    println!("PipelineRuntime {}", std::mem::size_of::<PipelineRuntime>());
    println!("ArtifactRecord {}", std::mem::size_of::<ArtifactRecord>());
    use codepipeline_local::model::*;
    println!("Runner {}", std::mem::size_of::<Runner>());
    println!(
        "ActionExecutionInput {}",
        std::mem::size_of::<ActionExecutionInput>()
    );
    println!("ErrorDetails {}", std::mem::size_of::<ErrorDetails>());
    println!("ArtifactDetail {}", std::mem::size_of::<ArtifactDetail>());
    println!("Timestamp {}", std::mem::size_of::<Timestamp>());
    println!(
        "ExecutionTrigger {}",
        std::mem::size_of::<ExecutionTrigger>()
    );
    println!("StopRequest {}", std::mem::size_of::<StopRequest>());
    println!(
        "PipelineRecord {}",
        std::mem::size_of::<codepipeline_local::store::PipelineRecord>()
    );
    let text = pipeline("size-0000").to_string();
    let before = live();
    let declaration: PipelineDeclaration = serde_json::from_str(&text).expect("declaration");
    println!(
        "a declaration parsed from JSON text (with its vectors' growth slack): {}",
        live() - before
    );
    let mut declaration = declaration;
    declaration.shrink_to_fit();
    println!(
        "the same after shrink_to_fit (as a loaded pipeline keeps it): {}",
        live() - before
    );
    println!(
        "ActionDeclaration {} StageDeclaration {} PipelineDeclaration {}",
        std::mem::size_of::<ActionDeclaration>(),
        std::mem::size_of::<StageDeclaration>(),
        std::mem::size_of::<PipelineDeclaration>()
    );
    drop(declaration);
}
