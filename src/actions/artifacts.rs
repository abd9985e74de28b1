//! The real artifact store, where real actions read and write artifacts (zip files under
//! `BUCKET/PIPELINE/ARTIFACT/KEY`):
//!
//! - with `--s3-endpoint`: the pipeline's `artifactStore` bucket on that S3-compatible endpoint,
//!   through the AWS SDK for Rust's S3 client (path-style addressing, static credentials);
//! - without: a local directory, `DATA_DIR/artifacts` (or a temporary directory without
//!   `--data-dir`), holding `BUCKET/KEY` as files. Real actions (git sources, the local
//!   executor) then run with no other service; job workers still receive S3 locations, which
//!   only hold the artifacts with `--s3-endpoint`.
//!
//! An input artifact can also be a clone reference (`CODEBUILD_CLONE_REF` of a git source,
//! `actions::git_source::CloneRef`): `unpack_input` then clones the repository at the commit.

use super::unpack::{unpack, Limits, Unpacked};
use super::Input;
use crate::config::Config;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::Client;
use std::collections::HashMap;
use std::io::{Cursor, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use tokio::io::AsyncWriteExt;

/// Why a real action cannot reach its artifacts.
pub const NO_STORE: &str = "This action needs the real artifact store: start codepipeline-local with --s3-endpoint (an S3-compatible endpoint holding the pipeline's artifact bucket)";

/// Where artifacts are kept.
#[derive(Clone)]
pub struct ArtifactStore {
    backing: Backing,
    /// Repositories a clone reference may name (`[[repositories]]` paths and mirrors).
    clone_sources: Vec<PathBuf>,
}

#[derive(Clone)]
enum Backing {
    S3(S3Store),
    Local(PathBuf),
}

/// The S3 client of the configured endpoint.
#[derive(Clone)]
pub struct S3Store {
    pub client: Client,
    pub endpoint: String,
}

/// An S3 call that failed: the error code S3 answered (if it answered) and its message.
#[derive(Debug, Clone)]
pub struct S3Failure {
    pub code: Option<String>,
    pub message: String,
}

impl S3Failure {
    pub fn from_sdk<E, R>(err: aws_sdk_s3::error::SdkError<E, R>) -> S3Failure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        match err.as_service_error() {
            Some(service) => S3Failure {
                code: service.code().map(str::to_string),
                message: service
                    .message()
                    .map(str::to_string)
                    .unwrap_or_else(|| service.to_string()),
            },
            None => S3Failure {
                code: None,
                message: format!("{}", aws_sdk_s3::error::DisplayErrorContext(&err)),
            },
        }
    }

    /// Whether S3 said the bucket does not exist.
    pub fn no_bucket(&self) -> bool {
        self.code.as_deref() == Some("NoSuchBucket")
    }

    /// Whether S3 said the key (or version) does not exist (HEAD requests answer `NotFound`).
    pub fn no_key(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some("NoSuchKey" | "NotFound" | "NoSuchVersion")
        )
    }
}

impl std::fmt::Display for S3Failure {
    /// AWS's way of quoting an underlying S3 error: `Amazon S3:CODE:MESSAGE`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) => write!(f, "Amazon S3:{code}:{}", self.message),
            None => write!(f, "Amazon S3:{}", self.message),
        }
    }
}

impl ArtifactStore {
    /// The store of the configuration: its S3 endpoint, else the local directory (always
    /// `Some`; an `Option` for the callers written when only S3 existed).
    pub fn from_config(config: &Config) -> Option<ArtifactStore> {
        let clone_sources = config
            .repositories
            .iter()
            .map(|r| r.git_dir(config))
            .collect();
        let backing = match s3_client(config) {
            Some(s3) => Backing::S3(s3),
            None => Backing::Local(local_root(config)),
        };
        Some(ArtifactStore {
            backing,
            clone_sources,
        })
    }

    /// The S3 endpoint's client, when the store is on S3.
    pub fn s3(&self) -> Option<&S3Store> {
        match &self.backing {
            Backing::S3(s3) => Some(s3),
            Backing::Local(_) => None,
        }
    }

    /// The directory of a local store.
    pub fn local_dir(&self) -> Option<&Path> {
        match &self.backing {
            Backing::S3(_) => None,
            Backing::Local(root) => Some(root),
        }
    }

    /// The endpoint or the directory, for messages.
    pub fn endpoint(&self) -> String {
        match &self.backing {
            Backing::S3(s3) => s3.endpoint.clone(),
            Backing::Local(root) => format!("the local artifact store {}", root.display()),
        }
    }

    /// Reads a whole object.
    pub async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, S3Failure> {
        match &self.backing {
            Backing::S3(s3) => s3.get(bucket, key).await,
            Backing::Local(root) => {
                let path = local_path(root, bucket, key)?;
                tokio::fs::read(&path)
                    .await
                    .map_err(|e| local_failure(&e, bucket, key))
            }
        }
    }

    /// Writes a whole object.
    pub async fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>) -> Result<(), S3Failure> {
        match &self.backing {
            Backing::S3(s3) => s3.put(bucket, key, bytes).await,
            Backing::Local(root) => {
                let path = local_path(root, bucket, key)?;
                let failure = |e: std::io::Error| S3Failure {
                    code: None,
                    message: format!("writing {}: {e}", path.display()),
                };
                if let Some(dir) = path.parent() {
                    tokio::fs::create_dir_all(dir).await.map_err(failure)?;
                }
                // Written aside, then renamed: a reader never sees half an artifact.
                let partial = path.with_extension(format!("partial-{}", uuid::Uuid::new_v4()));
                tokio::fs::write(&partial, bytes).await.map_err(failure)?;
                tokio::fs::rename(&partial, &path).await.map_err(failure)
            }
        }
    }

    /// Downloads an input artifact into the file `path` (streamed: never whole in memory), with
    /// a message saying what is wrong when it cannot.
    pub async fn download_artifact(
        &self,
        name: &str,
        location: Option<&(String, String)>,
        path: &Path,
    ) -> Result<(), String> {
        let Some((bucket, key)) = location else {
            return Err(format!(
                "Input artifact '{name}' was not produced by an earlier action of this execution"
            ));
        };
        let read_error = |e: &dyn std::fmt::Display| {
            format!("Could not read input artifact '{name}' from s3://{bucket}/{key}. Error: {e}")
        };
        let s3 = match &self.backing {
            Backing::S3(s3) => s3,
            Backing::Local(root) => {
                let from = local_path(root, bucket, key).map_err(|e| read_error(&e))?;
                return match tokio::fs::copy(&from, path).await {
                    Ok(_) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
                        "Input artifact '{name}' has no object at s3://{bucket}/{key} in {}: the action that produced it did not write it (simulated actions write no artifact objects)",
                        self.endpoint()
                    )),
                    Err(e) => Err(read_error(&e)),
                };
            }
        };
        let out = match s3.client.get_object().bucket(bucket).key(key).send().await {
            Ok(out) => out,
            Err(e) => {
                let e = S3Failure::from_sdk(e);
                return Err(if e.no_key() {
                    format!(
                        "Input artifact '{name}' has no object at s3://{bucket}/{key} on {}: the action that produced it did not upload it (simulated actions write no artifact objects). Error: {e}",
                        s3.endpoint
                    )
                } else {
                    read_error(&e)
                });
            }
        };
        let mut file = tokio::fs::File::create(path)
            .await
            .map_err(|e| format!("Cannot create {}: {e}", path.display()))?;
        let mut body = out.body.into_async_read();
        tokio::io::copy(&mut body, &mut file)
            .await
            .map_err(|e| read_error(&e))?;
        file.flush().await.map_err(|e| read_error(&e))
    }

    /// Writes an output artifact, with a message saying what is wrong when it cannot.
    pub async fn put_artifact(
        &self,
        name: &str,
        bucket: &str,
        key: &str,
        bytes: Vec<u8>,
    ) -> Result<(), String> {
        self.put(bucket, key, bytes).await.map_err(|e| {
            if e.no_bucket() {
                format!(
                    "The artifact store bucket '{bucket}' does not exist on {}: create it before running the pipeline. Error: {e}",
                    self.endpoint()
                )
            } else {
                format!("Could not upload output artifact '{name}' to s3://{bucket}/{key}. Error: {e}")
            }
        })
    }
}

/// (endpoint, region, access key, secret) -> client; clients are kept so their connection
/// pools are reused.
type ClientCache = Mutex<HashMap<(String, String, String, String), Client>>;

/// The client of the configured S3 endpoint, or `None` when there is none.
fn s3_client(config: &Config) -> Option<S3Store> {
    let endpoint = config.s3_endpoint.clone()?;
    static CLIENTS: OnceLock<ClientCache> = OnceLock::new();
    let key = (
        endpoint.clone(),
        config.s3_region().to_string(),
        config.s3_access_key_id.clone(),
        config.s3_secret_access_key.clone(),
    );
    let mut clients = CLIENTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let client = clients
        .entry(key)
        .or_insert_with(|| {
            let conf = aws_sdk_s3::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .endpoint_url(&endpoint)
                .region(Region::new(config.s3_region().to_string()))
                .credentials_provider(credentials(config))
                .force_path_style(true)
                // S3-compatible servers differ in their support of the newer checksums.
                .request_checksum_calculation(
                    aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
                )
                .response_checksum_validation(
                    aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
                )
                .build();
            Client::from_conf(conf)
        })
        .clone();
    Some(S3Store { client, endpoint })
}

impl S3Store {
    async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, S3Failure> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(S3Failure::from_sdk)?;
        let body = out.body.collect().await.map_err(|e| S3Failure {
            code: None,
            message: format!("reading s3://{bucket}/{key}: {e}"),
        })?;
        Ok(body.into_bytes().to_vec())
    }

    async fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>) -> Result<(), S3Failure> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(bytes.into())
            .send()
            .await
            .map_err(S3Failure::from_sdk)?;
        Ok(())
    }
}

/// The local store's directory: `DATA_DIR/artifacts`, else one in the temporary directory.
pub fn local_root(config: &Config) -> PathBuf {
    match &config.data_dir {
        Some(dir) => dir.join("artifacts"),
        None => std::env::temp_dir().join(format!(
            "codepipeline-local-artifacts-{}",
            std::process::id()
        )),
    }
}

/// The file of `BUCKET/KEY` in a local store; a key that would leave it is refused.
pub fn local_path(root: &Path, bucket: &str, key: &str) -> Result<PathBuf, S3Failure> {
    let invalid = || S3Failure {
        code: Some("InvalidArgument".into()),
        message: format!("'{bucket}/{key}' is not a valid artifact location"),
    };
    let relative = Path::new(bucket).join(key);
    let plain = !bucket.is_empty()
        && !bucket.contains('/')
        && relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    if !plain {
        return Err(invalid());
    }
    Ok(root.join(relative))
}

fn local_failure(e: &std::io::Error, bucket: &str, key: &str) -> S3Failure {
    if e.kind() == std::io::ErrorKind::NotFound {
        S3Failure {
            code: Some("NoSuchKey".into()),
            message: format!("The specified key does not exist: {bucket}/{key}"),
        }
    } else {
        S3Failure {
            code: None,
            message: format!("reading {bucket}/{key}: {e}"),
        }
    }
}

/// The configured static credentials.
pub fn credentials(config: &Config) -> Credentials {
    Credentials::new(
        &config.s3_access_key_id,
        &config.s3_secret_access_key,
        None,
        None,
        "codepipeline-local",
    )
}

/// The artifactCredentials of jobs when the real artifact store is configured: its own static
/// credentials (with an empty session token), so a worker's S3 client pointed at the same
/// endpoint can read and write the artifacts. `None` keeps the generated STS-like ones.
pub fn job_credentials(config: &Config) -> Option<crate::model::AWSSessionCredentials> {
    config.s3_endpoint.as_ref()?;
    Some(crate::model::AWSSessionCredentials {
        access_key_id: config.s3_access_key_id.clone(),
        secret_access_key: config.s3_secret_access_key.clone(),
        session_token: String::new(),
    })
}

/// Downloads input artifact `input` and unpacks it into `dir` within `limits` (see
/// `unpack`); the error is the action's failure message.
pub async fn unpack_input(
    store: &ArtifactStore,
    input: &Input,
    dir: &Path,
    limits: Limits,
) -> Result<Unpacked, String> {
    unpack_input_at_depth(store, input, dir, limits, None).await
}

/// `unpack_input`, a clone reference checked out with `depth` commits of history (CodeBuild's
/// `GitCloneDepth`).
pub async fn unpack_input_at_depth(
    store: &ArtifactStore,
    input: &Input,
    dir: &Path,
    limits: Limits,
    depth: Option<u32>,
) -> Result<Unpacked, String> {
    let zip = tempfile::NamedTempFile::new()
        .map_err(|e| format!("Cannot create a temporary file: {e}"))?;
    store
        .download_artifact(&input.name, input.location.as_ref(), zip.path())
        .await?;
    if let Some(reference) = super::git_source::CloneRef::read(zip.path()) {
        return reference
            .check_out(&store.clone_sources, &input.name, dir, depth)
            .await;
    }
    let dir = dir.to_path_buf();
    // Inflating is blocking work; the limits bound it.
    let unpacked = tokio::task::spawn_blocking(move || unpack(zip.path(), &dir, &limits)).await;
    match unpacked {
        Ok(Ok(unpacked)) => Ok(unpacked),
        Ok(Err(e)) => Err(e.message(&input.name)),
        Err(e) => Err(format!(
            "Input artifact '{}' cannot be extracted: {e}",
            input.name
        )),
    }
}

/// The files of a small, trusted zip archive in memory: (path, contents), directories left
/// out (tests read artifacts with it; actions `unpack` instead).
pub fn zip_entries(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("not a zip file: {e}"))?;
    let mut entries = Vec::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(|e| e.to_string())?;
        if file.is_dir() {
            continue;
        }
        let name = file.name().to_string();
        let mut contents = Vec::new();
        file.read_to_end(&mut contents).map_err(|e| e.to_string())?;
        entries.push((name, contents));
    }
    Ok(entries)
}

/// Packs files into a zip archive: (name in the archive, file on disk).
pub fn zip_files(files: &[(String, PathBuf)]) -> Result<Vec<u8>, String> {
    use zip::write::SimpleFileOptions;
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, path) in files {
        let mut options =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(meta) = std::fs::metadata(path) {
                options = options.unix_permissions(meta.permissions().mode() & 0o777);
            }
        }
        let contents =
            std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        writer
            .start_file(name.as_str(), options)
            .map_err(|e| e.to_string())?;
        writer.write_all(&contents).map_err(|e| e.to_string())?;
    }
    let cursor = writer.finish().map_err(|e| e.to_string())?;
    Ok(cursor.into_inner())
}

/// Packs in-memory files into a zip archive (for tests and small artifacts).
pub fn zip_bytes(files: &[(&str, &[u8])]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, contents) in files {
        writer
            .start_file(*name, SimpleFileOptions::default())
            .expect("zip entry");
        writer.write_all(contents).expect("zip write");
    }
    writer.finish().expect("zip finish").into_inner()
}

/// Every file under `root`, as (path relative to `root` with `/` separators, full path),
/// sorted; symbolic links are not followed.
pub fn walk(root: &Path) -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                dirs.push(path);
            } else if kind.is_file() {
                if let Ok(relative) = path.strip_prefix(root) {
                    let name = relative
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy())
                        .collect::<Vec<_>>()
                        .join("/");
                    files.push((name, path.clone()));
                }
            }
        }
    }
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zips_round_trip() {
        let bytes = zip_bytes(&[("a.txt", b"hello"), ("dir/b.txt", b"world")]);
        let entries = zip_entries(&bytes).unwrap();
        assert_eq!(
            entries,
            vec![
                ("a.txt".to_string(), b"hello".to_vec()),
                ("dir/b.txt".to_string(), b"world".to_vec())
            ]
        );
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("a.zip");
        std::fs::write(&archive, &bytes).unwrap();
        let out = dir.path().join("out");
        let limits = Limits {
            max_entries: 10,
            max_bytes: 1024,
            max_ratio: 10,
        };
        unpack(&archive, &out, &limits).unwrap();
        let files = walk(&out);
        assert_eq!(
            files.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["a.txt", "dir/b.txt"]
        );
        let again = zip_files(&files).unwrap();
        assert_eq!(zip_entries(&again).unwrap(), entries);
    }
}
