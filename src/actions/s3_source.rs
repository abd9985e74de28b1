//! The S3 source action for real: reads the configured object's ETag and VersionId, copies it
//! (server-side) into the artifact store as the output artifact, and reports the revision
//! (the VersionId, or the ETag when the bucket is not versioned) and the output variables
//! BucketName, ObjectKey, ETag and VersionId.

use super::artifacts::{S3Failure, S3Store};
use super::Task;
use crate::model::SourceRevisionType;
use crate::store::runtime::GivenRevision;
use crate::store::runtime::Outcome;
use std::collections::BTreeMap;

/// Object metadata a revision summary is taken from, as in AWS.
const SUMMARY_METADATA: &str = "codepipeline-artifact-revision-summary";

pub async fn run(store: &S3Store, task: &Task) -> Outcome {
    let config = |key: &str| task.configuration.get(key).cloned().unwrap_or_default();
    let bucket = config("S3Bucket");
    let mut key = config("S3ObjectKey");
    let mut version = None;
    if let Some(given) = &task.revision {
        match given.kind {
            Some(SourceRevisionType::S3ObjectKey) => key = given.value.clone(),
            _ => version = Some(given.value.clone()).filter(|v| v != "null"),
        }
    }
    let failed = |message: String| Outcome::failed("JobFailed", message);

    if let Err(e) = store.client.head_bucket().bucket(&bucket).send().await {
        let e = S3Failure::from_sdk(e);
        return failed(if e.no_bucket() || e.no_key() {
            format!(
                "The Amazon S3 bucket named '{bucket}' does not exist. Error: Amazon S3:NoSuchBucket:The specified bucket does not exist"
            )
        } else {
            format!("Could not access the Amazon S3 bucket named '{bucket}'. Error: {e}")
        });
    }
    let head = match store
        .client
        .head_object()
        .bucket(&bucket)
        .key(&key)
        .set_version_id(version.clone())
        .send()
        .await
    {
        Ok(head) => head,
        Err(e) => {
            let e = S3Failure::from_sdk(e);
            return failed(if e.no_key() {
                match &version {
                    Some(v) => format!(
                        "The object with key '{key}' and version id '{v}' does not exist in the Amazon S3 bucket named '{bucket}'. Error: Amazon S3:NoSuchVersion:The specified version does not exist"
                    ),
                    None => format!(
                        "The object with key '{key}' does not exist in the Amazon S3 bucket named '{bucket}'. Error: Amazon S3:NoSuchKey:The specified key does not exist"
                    ),
                }
            } else {
                format!("Could not read s3://{bucket}/{key}. Error: {e}")
            });
        }
    };
    let etag = head
        .e_tag()
        .unwrap_or_default()
        .trim_matches('"')
        .to_string();
    let version_id = head
        .version_id()
        .filter(|v| !v.is_empty() && *v != "null")
        .map(str::to_string);
    let summary = head
        .metadata()
        .and_then(|m| m.get(SUMMARY_METADATA))
        .cloned()
        .unwrap_or_else(|| match &version_id {
            Some(v) => format!("Amazon S3 version id: {v}"),
            None => format!("Amazon S3 ETag: {etag}"),
        });

    let mut source = format!("{bucket}/{}", encode_key(&key));
    if let Some(v) = &version_id {
        source.push_str(&format!("?versionId={}", encode_key(v)));
    }
    for output in &task.outputs {
        let copied = store
            .client
            .copy_object()
            .copy_source(&source)
            .bucket(&output.bucket)
            .key(&output.key)
            .send()
            .await;
        if let Err(e) = copied {
            let e = S3Failure::from_sdk(e);
            return failed(if e.no_bucket() {
                format!(
                    "The artifact store bucket '{}' does not exist on {}: create it before running the pipeline. Error: {e}",
                    output.bucket, store.endpoint
                )
            } else {
                format!(
                    "Could not copy s3://{bucket}/{key} to the artifact store (s3://{}/{}). Error: {e}",
                    output.bucket, output.key
                )
            });
        }
    }

    let mut variables = BTreeMap::new();
    variables.insert("BucketName".to_string(), bucket);
    variables.insert("ObjectKey".to_string(), key);
    variables.insert("ETag".to_string(), etag.clone());
    if let Some(v) = &version_id {
        variables.insert("VersionId".to_string(), v.clone());
    }
    let revision = GivenRevision {
        kind: None,
        value: version_id.clone().unwrap_or_else(|| etag.clone()),
        change_id: Some(etag),
        summary: Some(summary.clone()),
        url: None,
        branch: None,
    };
    super::succeeded(summary, variables, None, Some(revision))
}

/// Percent-encodes an object key for `x-amz-copy-source` (keeps `/` and unreserved bytes).
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_encoded_for_copy_source() {
        assert_eq!(super::encode_key("dir/app v1+.zip"), "dir/app%20v1%2B.zip");
    }
}
