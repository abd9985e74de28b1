//! Plausible physical ids and ARNs for a stack's resources, as CloudFormation makes them:
//! an unnamed resource is called `<stack>-<logicalId>-<SUFFIX>`. The suffix is derived from the
//! stack's account, region, name and the logical id, so loading a template again names every
//! resource the same (and a pipeline is updated in place, not created twice).

use crate::store::partition;
use sha2::{Digest, Sha256};

/// The stack a resource belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackId {
    pub account: String,
    pub region: String,
    pub name: String,
}

impl StackId {
    pub fn partition(&self) -> &'static str {
        partition(&self.region)
    }

    /// `arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/UUID` (a stable UUID).
    pub fn arn(&self) -> String {
        format!(
            "arn:{}:cloudformation:{}:{}:stack/{}/{}",
            self.partition(),
            self.region,
            self.account,
            self.name,
            stable_uuid(&[&self.account, &self.region, &self.name])
        )
    }

    /// CloudFormation's name for an unnamed resource: `<stack>-<logicalId>-<SUFFIX>`, at most
    /// `max_len` characters (the stack and logical id parts are shortened to fit).
    pub fn generated_name(&self, logical_id: &str, max_len: usize) -> String {
        let suffix = suffix(&[&self.account, &self.region, &self.name, logical_id]);
        let room = max_len.saturating_sub(suffix.len() + 2);
        let stack_room = room / 2;
        let stack: String = self
            .name
            .chars()
            .take(stack_room.max(room.saturating_sub(logical_id.len())))
            .collect();
        let logical: String = logical_id
            .chars()
            .take(room.saturating_sub(stack.len()))
            .collect();
        format!("{stack}-{logical}-{suffix}")
    }
}

/// A 12-character upper-case alphanumeric suffix, stable for the same parts.
fn suffix(parts: &[&str]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    digest(parts)
        .iter()
        .take(12)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// A UUID-shaped id, stable for the same parts.
pub fn stable_uuid(parts: &[&str]) -> String {
    let hex = hex::encode(&digest(parts)[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn digest(parts: &[&str]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize().to_vec()
}

/// The property that names a resource of this type, when the template may set it.
pub fn name_property(resource_type: &str) -> Option<&'static str> {
    Some(match resource_type {
        "AWS::CodePipeline::Pipeline"
        | "AWS::CodePipeline::Webhook"
        | "AWS::CodeBuild::Project"
        | "AWS::Events::Rule" => "Name",
        "AWS::S3::Bucket" => "BucketName",
        "AWS::IAM::Role" => "RoleName",
        "AWS::IAM::ManagedPolicy" => "ManagedPolicyName",
        "AWS::IAM::Policy" => "PolicyName",
        "AWS::Lambda::Function" => "FunctionName",
        "AWS::SNS::Topic" => "TopicName",
        "AWS::SQS::Queue" => "QueueName",
        "AWS::CodeCommit::Repository" => "RepositoryName",
        "AWS::ECR::Repository" => "RepositoryName",
        "AWS::CodeStarConnections::Connection" | "AWS::CodeConnections::Connection" => {
            "ConnectionName"
        }
        _ => return None,
    })
}

/// The generated physical name of an unnamed resource of this type.
pub fn generated_physical_name(stack: &StackId, resource_type: &str, logical_id: &str) -> String {
    match resource_type {
        // S3 bucket names are lower case, at most 63 characters.
        "AWS::S3::Bucket" => stack.generated_name(logical_id, 63).to_lowercase(),
        "AWS::KMS::Key" => stable_uuid(&[&stack.account, &stack.region, &stack.name, logical_id]),
        "AWS::IAM::Role" | "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => {
            stack.generated_name(logical_id, 64)
        }
        _ => stack.generated_name(logical_id, 100),
    }
}

/// What `Ref` returns for a resource whose physical name is `name`.
pub fn ref_value(stack: &StackId, resource_type: &str, name: &str) -> String {
    match resource_type {
        // These types answer Ref with their ARN.
        "AWS::SNS::Topic"
        | "AWS::CodeStarConnections::Connection"
        | "AWS::CodeConnections::Connection"
        | "AWS::IAM::ManagedPolicy" => arn(stack, resource_type, name),
        "AWS::SQS::Queue" => format!(
            "https://sqs.{}.amazonaws.com/{}/{name}",
            stack.region, stack.account
        ),
        _ => name.to_string(),
    }
}

/// The ARN of a resource of this type named `name`.
pub fn arn(stack: &StackId, resource_type: &str, name: &str) -> String {
    let p = stack.partition();
    let (r, a) = (&stack.region, &stack.account);
    match resource_type {
        "AWS::IAM::Role" => format!("arn:{p}:iam::{a}:role/{name}"),
        "AWS::IAM::ManagedPolicy" | "AWS::IAM::Policy" => format!("arn:{p}:iam::{a}:policy/{name}"),
        "AWS::S3::Bucket" => format!("arn:{p}:s3:::{name}"),
        "AWS::KMS::Key" => format!("arn:{p}:kms:{r}:{a}:key/{name}"),
        "AWS::KMS::Alias" => format!("arn:{p}:kms:{r}:{a}:{name}"),
        "AWS::CodeBuild::Project" => format!("arn:{p}:codebuild:{r}:{a}:project/{name}"),
        "AWS::CodePipeline::Pipeline" => format!("arn:{p}:codepipeline:{r}:{a}:{name}"),
        "AWS::CodePipeline::Webhook" => format!("arn:{p}:codepipeline:{r}:{a}:webhook:{name}"),
        "AWS::Lambda::Function" => format!("arn:{p}:lambda:{r}:{a}:function:{name}"),
        "AWS::SNS::Topic" => format!("arn:{p}:sns:{r}:{a}:{name}"),
        "AWS::SQS::Queue" => format!("arn:{p}:sqs:{r}:{a}:{name}"),
        "AWS::Events::Rule" => format!("arn:{p}:events:{r}:{a}:rule/{name}"),
        "AWS::CodeCommit::Repository" => format!("arn:{p}:codecommit:{r}:{a}:{name}"),
        "AWS::ECR::Repository" => format!("arn:{p}:ecr:{r}:{a}:repository/{name}"),
        "AWS::CodeStarConnections::Connection" => format!(
            "arn:{p}:codestar-connections:{r}:{a}:connection/{}",
            stable_uuid(&[r, a, name])
        ),
        "AWS::CodeConnections::Connection" => format!(
            "arn:{p}:codeconnections:{r}:{a}:connection/{}",
            stable_uuid(&[r, a, name])
        ),
        other => {
            // AWS::Service::Type -> arn:aws:service:REGION:ACCOUNT:type/NAME
            let mut parts = other.split("::").skip(1);
            let service = parts.next().unwrap_or("unknown").to_lowercase();
            let kind = parts.next().unwrap_or("resource").to_lowercase();
            format!("arn:{p}:{service}:{r}:{a}:{kind}/{name}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack() -> StackId {
        StackId {
            account: "111122223333".into(),
            region: "eu-west-1".into(),
            name: "MyStack".into(),
        }
    }

    #[test]
    fn generated_names_are_stable_and_cloudformation_shaped() {
        let a = stack().generated_name("Pipeline", 100);
        assert_eq!(a, stack().generated_name("Pipeline", 100));
        assert!(a.starts_with("MyStack-Pipeline-"), "{a}");
        assert_eq!(a.len(), "MyStack-Pipeline-".len() + 12);
        assert_ne!(a, stack().generated_name("Pipeline2", 100));
        let long = StackId {
            name: "S".repeat(90),
            ..stack()
        };
        assert!(long.generated_name(&"L".repeat(90), 100).len() <= 100);
        let bucket = generated_physical_name(&stack(), "AWS::S3::Bucket", "ArtifactsBucket");
        assert_eq!(bucket, bucket.to_lowercase());
    }

    #[test]
    fn arns_follow_each_service() {
        assert_eq!(
            arn(&stack(), "AWS::IAM::Role", "r"),
            "arn:aws:iam::111122223333:role/r"
        );
        assert_eq!(
            arn(&stack(), "AWS::CodeBuild::Project", "p"),
            "arn:aws:codebuild:eu-west-1:111122223333:project/p"
        );
        assert_eq!(arn(&stack(), "AWS::S3::Bucket", "b"), "arn:aws:s3:::b");
    }
}
