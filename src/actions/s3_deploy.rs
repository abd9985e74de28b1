//! The S3 deploy action for real: `Extract = true` unpacks the input artifact into the target
//! bucket (under `ObjectKey` as a path prefix, when given); `Extract = false` copies the
//! artifact's zip to `BucketName`/`ObjectKey`. `CacheControl` and `CannedACL` are applied;
//! content types follow the file extension. `KMSEncryptionKeyARN` is ignored.

use super::artifacts::{unpack_input, walk, ArtifactStore, S3Failure};
use super::unpack::Limits;
use super::Task;
use crate::store::runtime::Outcome;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ObjectCannedAcl;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Deploys the input artifact. With `Extract = true` it is unpacked to a temporary directory
/// first (within `limits`, refusing unsafe paths: nothing is uploaded from a bad artifact),
/// then uploaded file by file from disk.
pub async fn run(store: &ArtifactStore, task: &Task, limits: Limits) -> Outcome {
    let failed = |message: String| Outcome::failed("JobFailed", message);
    let config = |key: &str| task.configuration.get(key).cloned();
    let bucket = config("BucketName").unwrap_or_default();
    let extract = config("Extract").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let object_key = config("ObjectKey").filter(|k| !k.is_empty());
    let Some(s3) = store.s3() else {
        return failed(super::artifacts::NO_STORE.into());
    };
    let Some(input) = task.inputs.first() else {
        return failed("The S3 deploy action needs an input artifact".into());
    };
    let work = match tempfile::Builder::new()
        .prefix("codepipeline-local-deploy-")
        .tempdir()
    {
        Ok(dir) => dir,
        Err(e) => return failed(format!("Cannot create a working directory: {e}")),
    };

    let objects: Vec<(String, PathBuf)> = if extract {
        let files = work.path().join("files");
        if let Err(message) = unpack_input(store, input, &files, limits).await {
            return failed(message);
        }
        let prefix = object_key
            .as_deref()
            .map(|p| format!("{}/", p.trim_end_matches('/')))
            .unwrap_or_default();
        walk(&files)
            .into_iter()
            .map(|(name, path)| (format!("{prefix}{name}"), path))
            .collect()
    } else {
        let Some(key) = object_key.clone() else {
            return failed("ObjectKey is required when Extract is false".into());
        };
        let path = work.path().join("artifact.zip");
        if let Err(message) = store
            .download_artifact(&input.name, input.location.as_ref(), &path)
            .await
        {
            return failed(message);
        }
        vec![(key, path)]
    };

    let count = objects.len();
    for (key, path) in objects {
        let body = match ByteStream::from_path(&path).await {
            Ok(body) => body,
            Err(e) => return failed(format!("Cannot read {}: {e}", path.display())),
        };
        let put = s3
            .client
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .content_type(content_type(&key, extract))
            .set_cache_control(config("CacheControl"))
            .set_acl(config("CannedACL").map(|a| ObjectCannedAcl::from(a.as_str())))
            .body(body)
            .send()
            .await;
        if let Err(e) = put {
            let e = S3Failure::from_sdk(e);
            return failed(if e.no_bucket() {
                format!(
                    "The Amazon S3 bucket named '{bucket}' does not exist. Error: Amazon S3:NoSuchBucket:The specified bucket does not exist"
                )
            } else {
                format!("Could not upload s3://{bucket}/{key}. Error: {e}")
            });
        }
    }
    let target = match &object_key {
        Some(key) => format!("s3://{bucket}/{key}"),
        None => format!("s3://{bucket}/"),
    };
    let summary = if extract {
        format!("Extracted {count} files of '{}' to {target}", input.name)
    } else {
        format!("Uploaded '{}' to {target}", input.name)
    };
    super::succeeded(summary, BTreeMap::new(), None, None)
}

/// The Content-Type of a deployed object, by extension.
fn content_type(key: &str, extracted: bool) -> &'static str {
    if !extracted {
        return "application/zip";
    }
    let extension = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("html" | "htm") => "text/html",
        Some("css") => "text/css",
        Some("js" | "mjs") => "text/javascript",
        Some("json" | "map") => "application/json",
        Some("txt" | "md") => "text/plain",
        Some("xml") => "application/xml",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("ico") => "image/x-icon",
        Some("wasm") => "application/wasm",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}
