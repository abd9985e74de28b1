//! `PollForSourceChanges` for S3 sources, with `--s3-endpoint`: every
//! `repository_poll_interval_ms` the object of each S3 source action (AWS owner, first stage,
//! `PollForSourceChanges` not `false`) is read with HEAD; when its revision (the version id,
//! else the ETag) differs from the one the pipeline last ran (else from the one first seen),
//! an execution starts with trigger `PollForSourceChanges`, pinned to that version. One
//! revision starts at most one execution per action. The task ends with the application.

use crate::actions::artifacts::{ArtifactStore, S3Store};
use crate::app::{App, WeakApp};
use crate::engine::StartRequest;
use crate::model::{ActionOwner, Timestamp, TriggerType};
use crate::store::runtime::{action_key, ActionRevisionRecord};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// An S3 source action to poll.
struct Target {
    account: String,
    region: String,
    pipeline: String,
    action: String,
    bucket: String,
    key: String,
    /// The revision of the pipeline's last run of the action.
    last_run: Option<String>,
}

/// An object's revision: (version id or ETag, ETag, versioned).
type Revision = (String, String, bool);

/// Starts polling when an S3 endpoint is configured.
pub fn start(app: &App) {
    if app.config.s3_endpoint.is_none() {
        return;
    }
    let interval = Duration::from_millis(app.config.repository_poll_interval_ms.max(10));
    tokio::spawn(run(app.downgrade(), interval));
}

async fn run(app: WeakApp, interval: Duration) {
    // (account, region, pipeline, action) -> the revision seen last.
    let mut seen: HashMap<(String, String, String, String), String> = HashMap::new();
    loop {
        tokio::time::sleep(interval).await;
        let Some(strong) = app.upgrade() else {
            return;
        };
        let Some(store) = ArtifactStore::from_config(&strong.config) else {
            continue;
        };
        let targets = targets(&strong);
        drop(strong);
        let Some(s3) = store.s3() else {
            continue;
        };
        for target in targets {
            let Some((revision, etag, versioned)) = head(s3, &target.bucket, &target.key).await
            else {
                continue;
            };
            let id = (
                target.account.clone(),
                target.region.clone(),
                target.pipeline.clone(),
                target.action.clone(),
            );
            let previous = seen.insert(id, revision.clone());
            let baseline = target.last_run.clone().or(previous.clone());
            let changed = baseline.as_ref().is_some_and(|b| *b != revision);
            // A revision seen before started (or was) its execution already.
            if !changed || previous.as_ref() == Some(&revision) {
                continue;
            }
            let Some(app) = app.upgrade() else {
                return;
            };
            start_execution(&app, &target, &revision, &etag, versioned);
        }
    }
}

/// The S3 source actions of every pipeline that poll.
fn targets(app: &App) -> Vec<Target> {
    let mut targets = Vec::new();
    for region in app.store.regions() {
        let state = region.lock();
        for (name, record) in &state.pipelines {
            let declaration = record.current();
            let Some(stage) = declaration.stages.first() else {
                continue;
            };
            for action in &stage.actions {
                let type_id = &action.action_type_id;
                if type_id.owner != ActionOwner::Aws || type_id.provider != "S3" {
                    continue;
                }
                let empty = crate::model::Map::new();
                let configuration = action.configuration.as_ref().unwrap_or(&empty);
                let polls = configuration
                    .get("PollForSourceChanges")
                    .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"));
                if !polls {
                    continue;
                }
                let value = |key: &str| configuration.get(key).cloned().unwrap_or_default();
                targets.push(Target {
                    account: region.scope.account.clone(),
                    region: region.scope.region.clone(),
                    pipeline: name.clone(),
                    action: action.name.clone(),
                    bucket: value("S3Bucket"),
                    key: value("S3ObjectKey"),
                    last_run: record
                        .runtime
                        .current_revisions
                        .get(&action_key(&stage.name, &action.name))
                        .map(|r| r.revision_id.clone()),
                });
            }
        }
    }
    targets
}

/// The object's revision, or `None` when it cannot be read (missing, endpoint down).
async fn head(s3: &S3Store, bucket: &str, key: &str) -> Option<Revision> {
    let head = s3
        .client
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .ok()?;
    let etag = head
        .e_tag()
        .unwrap_or_default()
        .trim_matches('"')
        .to_string();
    match head.version_id().filter(|v| !v.is_empty() && *v != "null") {
        Some(version) => Some((version.to_string(), etag, true)),
        None => Some((etag.clone(), etag, false)),
    }
}

fn start_execution(app: &App, target: &Target, revision: &str, etag: &str, versioned: bool) {
    let scope = crate::protocol::Scope {
        account: target.account.clone(),
        region: target.region.clone(),
    };
    let Some(region) = app.store.get(&scope) else {
        return;
    };
    // A version is pinned; without versioning the source reads the object as it is.
    let pinned_revisions = if versioned {
        BTreeMap::from([(
            target.action.clone(),
            ActionRevisionRecord {
                revision_id: revision.to_string(),
                revision_change_id: etag.to_string(),
                created: Timestamp::now(),
                summary: None,
                branch: None,
            },
        )])
    } else {
        BTreeMap::new()
    };
    let request = StartRequest {
        trigger_type: Some(TriggerType::PollForSourceChanges),
        trigger_detail: Some(target.action.clone()),
        pinned_revisions,
        ..StartRequest::default()
    };
    match crate::runtime::start_execution(app, &region, &target.pipeline, request) {
        Ok(id) => tracing::info!(
            "pipeline {}: s3://{}/{} changed to {revision}: execution {id} (PollForSourceChanges)",
            target.pipeline,
            target.bucket,
            target.key
        ),
        Err(e) => tracing::warn!(
            "pipeline {}: s3://{}/{} changed, but the execution did not start: {}",
            target.pipeline,
            target.bucket,
            target.key,
            crate::protocol::ApiError::from(e).message
        ),
    }
}
