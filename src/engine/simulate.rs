//! What simulated AWS actions report when they succeed: the revision a source action picked up
//! and the output variables AWS emits for the provider (from the catalog), with plausible
//! values (40-hex commit ids, sha256 image digests, S3 version ids).

use crate::model::catalog;
use crate::model::*;
use crate::protocol::Scope;
use chrono::SecondsFormat;
use rand::distributions::Alphanumeric;
use rand::Rng;
use std::collections::BTreeMap;

/// The revision a source action picked up.
#[derive(Debug, Clone)]
pub struct SourceRevisionPick {
    pub revision_id: String,
    pub change_id: String,
    pub summary: String,
    pub url: Option<String>,
}

pub use crate::store::runtime::GivenRevision;

pub fn hex(len: usize) -> String {
    const HEX: &[u8] = b"0123456789abcdef";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| HEX[rng.gen_range(0..16)] as char)
        .collect()
}

pub fn alphanumeric(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// What a source action reports: its revision and output variables.
pub fn source_outputs(
    type_id: &ActionTypeId,
    configuration: &Map<String>,
    given: Option<&GivenRevision>,
    scope: &Scope,
) -> (SourceRevisionPick, BTreeMap<String, String>) {
    let region = scope.region.as_str();
    let now = chrono::Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let config = |key: &str| configuration.get(key).cloned().unwrap_or_default();
    let mut vars = BTreeMap::new();
    let pick = match type_id.provider.as_str() {
        "S3" => {
            let mut key = config("S3ObjectKey");
            let mut version = alphanumeric(32);
            if let Some(given) = given {
                match given.kind {
                    Some(SourceRevisionType::S3ObjectKey) => key = given.value.clone(),
                    _ => version = given.value.clone(),
                }
            }
            let etag = given
                .and_then(|g| g.change_id.clone())
                .filter(|_| given.is_some_and(|g| g.kind.is_none()))
                .unwrap_or_else(|| hex(32));
            vars.insert("BucketName".into(), config("S3Bucket"));
            vars.insert("ObjectKey".into(), key.clone());
            vars.insert("VersionId".into(), version.clone());
            vars.insert("ETag".into(), etag.clone());
            SourceRevisionPick {
                revision_id: version,
                change_id: etag,
                summary: format!("Amazon S3 version id: {}", vars["VersionId"]),
                url: None,
            }
        }
        "ECR" => {
            let digest = match given {
                Some(g) => g.value.clone(),
                None => format!("sha256:{}", hex(64)),
            };
            let repository = config("RepositoryName");
            let tag = configuration
                .get("ImageTag")
                .cloned()
                .unwrap_or_else(|| "latest".into());
            // The repository is the pipeline's account's, in its region (ECR source reference).
            let registry = scope.account.clone();
            vars.insert("RegistryId".into(), registry.clone());
            vars.insert("RepositoryName".into(), repository.clone());
            // The ECR reference: ImageTag is not emitted when the revision is overridden.
            if given.is_none_or(|g| g.kind.is_none()) {
                vars.insert("ImageTag".into(), tag.clone());
            }
            vars.insert("ImageDigest".into(), digest.clone());
            vars.insert(
                "ImageURI".into(),
                format!("{registry}.dkr.ecr.{region}.amazonaws.com/{repository}:{tag}"),
            );
            SourceRevisionPick {
                revision_id: digest.clone(),
                change_id: digest,
                summary: format!("Image {repository}:{tag}"),
                url: None,
            }
        }
        provider => {
            // Git sources: CodeCommit, CodeStarSourceConnection, GitHub (v1).
            let commit = given.map(|g| g.value.clone()).unwrap_or_else(|| hex(40));
            let message = given
                .and_then(|g| g.summary.clone())
                .unwrap_or_else(|| "Simulated commit by codepipeline-local".into());
            let branch = given
                .and_then(|g| g.branch.clone())
                .or_else(|| configuration.get("BranchName").cloned())
                .or_else(|| configuration.get("Branch").cloned())
                .unwrap_or_else(|| "main".into());
            vars.insert("CommitId".into(), commit.clone());
            vars.insert("CommitMessage".into(), message.clone());
            vars.insert("BranchName".into(), branch);
            vars.insert("AuthorDate".into(), now.clone());
            vars.insert("CommitterDate".into(), now.clone());
            let mut url = None;
            match provider {
                "CodeCommit" => {
                    let repository = config("RepositoryName");
                    url = Some(format!(
                        "https://{region}.console.aws.amazon.com/codesuite/codecommit/repositories/{repository}/commit/{commit}"
                    ));
                    vars.insert("RepositoryName".into(), repository);
                }
                "CodeStarSourceConnection" => {
                    let repository = config("FullRepositoryId");
                    vars.insert("ConnectionArn".into(), config("ConnectionArn"));
                    vars.insert("FullRepositoryName".into(), repository.clone());
                    url = Some(format!("https://github.com/{repository}/commit/{commit}"));
                }
                "GitHub" => {
                    let repository = format!("{}/{}", config("Owner"), config("Repo"));
                    let commit_url = format!("https://github.com/{repository}/commit/{commit}");
                    vars.insert("RepositoryName".into(), config("Repo"));
                    vars.insert("CommitUrl".into(), commit_url.clone());
                    url = Some(commit_url);
                }
                _ => {}
            }
            SourceRevisionPick {
                revision_id: commit.clone(),
                change_id: commit,
                summary: message,
                url,
            }
        }
    };
    let vars = only_declared(type_id, vars);
    (pick, vars)
}

/// What a non-source AWS action is simulated for: its configuration (variables resolved), the
/// action execution id and the caller's account and region.
pub struct Simulated<'a> {
    pub type_id: &'a ActionTypeId,
    pub configuration: &'a Map<String>,
    pub action_execution_id: &'a str,
    pub scope: &'a Scope,
}

/// Output variables of a non-source AWS action: the catalog's fixed names, with values taken
/// from the configuration where a key has the same name, otherwise built as the provider's
/// action reference describes them.
pub fn action_outputs(action: &Simulated) -> BTreeMap<String, String> {
    let Some(known) = catalog::action_type(action.type_id) else {
        return BTreeMap::new();
    };
    let config = |key: &str| action.configuration.get(key).cloned();
    known
        .output_variables
        .iter()
        .map(|name| {
            let value = config(name).unwrap_or_else(|| match name.as_str() {
                "ExecutionArn" => step_functions_execution_arn(action),
                "EKSClusterName" => config("ClusterName").unwrap_or_default(),
                "ECRImageDigestId" => format!("sha256:{}", hex(64)),
                // CloudFormation StackSets: `NAME:UUID`, as CreateStackSet returns it.
                "StackSetId" => format!(
                    "{}:{}",
                    config("StackSetName").unwrap_or_default(),
                    uuid::Uuid::new_v4()
                ),
                // The lowest of the documented values (medium | high | critical).
                "HighestScannedSeverity" => "medium".into(),
                "FunctionVersion" => config("PublishedTargetVersion").unwrap_or_else(|| "1".into()),
                _ => uuid::Uuid::new_v4().to_string(),
            });
            (name.clone(), value)
        })
        .collect()
}

/// Step Functions names the execution after the action execution id, prefixed by
/// `ExecutionNamePrefix` and a hyphen; it runs in the state machine's account and region.
fn step_functions_execution_arn(action: &Simulated) -> String {
    let machine = action
        .configuration
        .get("StateMachineArn")
        .map(String::as_str)
        .unwrap_or_default();
    // arn:aws:states:REGION:ACCOUNT:stateMachine:NAME
    let parts: Vec<&str> = machine.split(':').collect();
    let (partition, region, account, name) = match parts.as_slice() {
        ["arn", partition, "states", region, account, "stateMachine", name, ..] => {
            (*partition, *region, *account, *name)
        }
        _ => (
            "aws",
            action.scope.region.as_str(),
            action.scope.account.as_str(),
            machine,
        ),
    };
    let execution = match action.configuration.get("ExecutionNamePrefix") {
        Some(prefix) if !prefix.is_empty() => format!("{prefix}-{}", action.action_execution_id),
        _ => action.action_execution_id.to_string(),
    };
    format!("arn:{partition}:states:{region}:{account}:execution:{name}:{execution}")
}

/// Keeps the variables the catalog lists for the provider (all of them if it lists none).
fn only_declared(
    type_id: &ActionTypeId,
    vars: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    match catalog::action_type(type_id) {
        Some(known) if !known.output_variables.is_empty() => vars
            .into_iter()
            .filter(|(k, _)| known.output_variables.contains(k))
            .collect(),
        _ => vars,
    }
}

/// Git sources report the commit they picked up as their external execution.
pub fn is_git_source(type_id: &ActionTypeId) -> bool {
    type_id.category == ActionCategory::Source
        && matches!(
            type_id.provider.as_str(),
            "CodeCommit" | "CodeStarSourceConnection" | "GitHub"
        )
}

/// The summary AWS reports for a succeeded action of the provider, where it reports one.
pub fn success_summary(type_id: &ActionTypeId) -> Option<String> {
    match (type_id.category, type_id.provider.as_str()) {
        (ActionCategory::Deploy, "CodeDeploy" | "CodeDeployToECS") => {
            Some("Deployment Succeeded".into())
        }
        _ => None,
    }
}

/// External execution id, URL and summary AWS shows for common providers.
pub fn external_execution(
    type_id: &ActionTypeId,
    configuration: &Map<String>,
    region: &str,
) -> (Option<String>, Option<String>) {
    match type_id.provider.as_str() {
        "CodeBuild" => {
            let project = configuration
                .get("ProjectName")
                .cloned()
                .unwrap_or_default();
            let id = format!("{project}:{}", uuid::Uuid::new_v4());
            let url = format!(
                "https://console.aws.amazon.com/codebuild/home?region={region}#/builds/{id}/view/new"
            );
            (Some(id), Some(url))
        }
        "CodeDeploy" => {
            let id = format!("d-{}", alphanumeric(9).to_uppercase());
            let url = format!(
                "https://console.aws.amazon.com/codedeploy/home?region={region}#/deployments/{id}"
            );
            (Some(id), Some(url))
        }
        _ => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step_functions(configuration: &[(&str, &str)]) -> String {
        let configuration: Map<String> = configuration
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let scope = Scope {
            account: "111111111111".into(),
            region: "eu-west-1".into(),
        };
        action_outputs(&Simulated {
            type_id: &ActionTypeId {
                category: ActionCategory::Invoke,
                owner: ActionOwner::Aws,
                provider: "StepFunctions".into(),
                version: "1".into(),
            },
            configuration: &configuration,
            action_execution_id: "a1b2",
            scope: &scope,
        })["ExecutionArn"]
            .clone()
    }

    #[test]
    fn step_functions_executions_are_named_after_the_action_execution() {
        let machine = "arn:aws-cn:states:cn-north-1:222222222222:stateMachine:Deploy";
        assert_eq!(
            step_functions(&[("StateMachineArn", machine)]),
            "arn:aws-cn:states:cn-north-1:222222222222:execution:Deploy:a1b2"
        );
        assert_eq!(
            step_functions(&[("StateMachineArn", machine), ("ExecutionNamePrefix", "rel")]),
            "arn:aws-cn:states:cn-north-1:222222222222:execution:Deploy:rel-a1b2"
        );
        // A state machine given by name: the caller's account and region.
        assert_eq!(
            step_functions(&[("StateMachineArn", "Deploy")]),
            "arn:aws:states:eu-west-1:111111111111:execution:Deploy:a1b2"
        );
    }
}
