//! CloudFormation deploy actions for real (`--cloudformation-endpoint`), against moto's server
//! (one per test binary, started by the test) serving S3 and CloudFormation: the template comes
//! from an S3 source artifact (`--s3-endpoint` on the same moto), the stack really exists in
//! moto afterwards (checked with the CloudFormation SDK), its outputs are the action's output
//! variables that a later action reads, a change-set pair deploys, a broken template fails the
//! action with CloudFormation's reason, and DELETE_ONLY deletes.

mod common;

use aws_sdk_codepipeline::types::*;
use codepipeline_local::actions::artifacts::{zip_bytes, zip_entries};
use common::engine::*;
use common::real::*;
use common::*;
use serde_json::{json, Value};

/// A template creating an S3 bucket, with outputs.
fn bucket_template() -> Value {
    json!({
        "Parameters": {
            "BucketName": {"Type": "String"},
            "SourceBucket": {"Type": "String"},
            "Team": {"Type": "String", "Default": "nobody"}
        },
        "Resources": {
            "Site": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Ref": "BucketName"}}}
        },
        "Outputs": {
            "BucketName": {"Value": {"Ref": "Site"}},
            "SourceBucket": {"Value": {"Ref": "SourceBucket"}},
            "Team": {"Value": {"Ref": "Team"}}
        }
    })
}

/// A template past CloudFormation's 51,200-byte TemplateBody limit.
fn large_template() -> Value {
    json!({
        "Metadata": {"Padding": "x".repeat(60_000)},
        "Resources": {
            "Large": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "large-template-bucket"}}
        },
        "Outputs": {"Name": {"Value": {"Ref": "Large"}}}
    })
}

/// A template CloudFormation refuses.
fn broken_template() -> Value {
    json!({
        "Resources": {
            "Site": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Fn::GetAtt": ["Missing", "Arn"]}}}
        }
    })
}

fn cfn_client(moto: &Moto) -> aws_sdk_cloudformation::Client {
    let conf = aws_sdk_cloudformation::Config::builder()
        .behavior_version(aws_sdk_cloudformation::config::BehaviorVersion::latest())
        .endpoint_url(&moto.url)
        .region(aws_sdk_cloudformation::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cloudformation::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .build();
    aws_sdk_cloudformation::Client::from_conf(conf)
}

/// A CloudFormation deploy action.
fn cloudformation(
    name: &str,
    mode: &str,
    stack: &str,
    inputs: &[&str],
    outputs: &[&str],
    settings: &[(&str, &str)],
) -> ActionDeclaration {
    let mut builder = action(
        name,
        type_id(ActionCategory::Deploy, ActionOwner::Aws, "CloudFormation"),
        inputs,
        outputs,
    )
    .configuration("ActionMode", mode)
    .configuration("StackName", stack);
    for (key, value) in settings {
        builder = builder.configuration(*key, *value);
    }
    builder.build().unwrap()
}

async fn run(
    c: &aws_sdk_codepipeline::Client,
    declaration: PipelineDeclaration,
) -> (String, String) {
    let name = declaration.name().to_string();
    if c.get_pipeline().name(&name).send().await.is_err() {
        c.create_pipeline()
            .pipeline(declaration)
            .send()
            .await
            .unwrap();
    }
    let id = start_execution(c, &name).await;
    let execution = wait_finished(c, &name, &id).await;
    (id, format!("{:?}", execution.status().unwrap()))
}

/// The stack's status and outputs in moto; `None` when it does not exist.
async fn stack(
    cfn: &aws_sdk_cloudformation::Client,
    name: &str,
) -> Option<(String, std::collections::BTreeMap<String, String>)> {
    let out = cfn.describe_stacks().stack_name(name).send().await.ok()?;
    let stack = out.stacks().first()?.clone();
    Some((
        stack.stack_status()?.as_str().to_string(),
        stack
            .outputs()
            .iter()
            .map(|o| {
                (
                    o.output_key().unwrap_or_default().to_string(),
                    o.output_value().unwrap_or_default().to_string(),
                )
            })
            .collect(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudformation_actions_deploy_stacks_and_change_sets_in_moto() {
    let moto = Moto::start().await;
    let s3 = moto.s3();
    let cfn = cfn_client(&moto);
    create_bucket(&s3, "source-bucket", true).await;
    create_bucket(&s3, "artifact-bucket", false).await;
    let source = zip_bytes(&[
        (
            "infra/template.json",
            bucket_template().to_string().as_bytes(),
        ),
        (
            "infra/broken.json",
            broken_template().to_string().as_bytes(),
        ),
        (
            "infra/config.json",
            br#"{"Parameters":{"Team":"platform"},"Tags":{"owner":"ci"}}"#,
        ),
        ("params.json", br#"{"bucket":"cfn-site-bucket"}"#),
        ("infra/large.json", large_template().to_string().as_bytes()),
    ]);
    put(&s3, "source-bucket", "infra.zip", source).await;
    let t = start_with(codepipeline_local::Config {
        cloudformation_endpoint: Some(moto.url.clone()),
        ..real_config(&moto)
    })
    .await;
    let c = &t.client;

    create_update_reads_outputs_and_no_updates_succeeds(c, &s3, &cfn).await;
    a_change_set_pair_deploys(c, &s3, &cfn).await;
    a_broken_template_fails_with_the_reason(c).await;
    delete_only_deletes_and_a_missing_stack_succeeds(c, &cfn).await;
    a_large_template_goes_by_url(c, &s3, &cfn).await;
}

/// A template too large for TemplateBody is put into the artifact bucket and passed by URL.
async fn a_large_template_goes_by_url(
    c: &aws_sdk_codepipeline::Client,
    s3: &aws_sdk_s3::Client,
    cfn: &aws_sdk_cloudformation::Client,
) {
    let declaration = pipeline("cfn-large")
        .stages(stage(
            "Source",
            vec![source("source-bucket", "infra.zip", "Src")],
        ))
        .stages(stage(
            "Deploy",
            vec![cloudformation(
                "Large",
                "CREATE_UPDATE",
                "large-stack",
                &["Src"],
                &[],
                &[("TemplatePath", "Src::infra/large.json")],
            )],
        ))
        .build()
        .unwrap();
    let (id, status) = run(c, declaration).await;
    let detail = action_detail(c, "cfn-large", &id, "Large").await;
    assert_eq!(status, "Succeeded", "{}", error_message(&detail));
    let (stack_status, outputs) = stack(cfn, "large-stack").await.expect("the stack exists");
    assert_eq!(stack_status, "CREATE_COMPLETE");
    assert_eq!(outputs["Name"], "large-template-bucket");
    let uploaded = keys(s3, "artifact-bucket", "cfn-large/cfn-templates/").await;
    assert_eq!(uploaded.len(), 1, "{uploaded:?}");
    assert!(uploaded[0].ends_with("/large.json"), "{uploaded:?}");
}

/// CREATE_UPDATE with a template configuration and parameter overrides (Fn::GetParam,
/// Fn::GetArtifactAtt): the stack and its bucket exist in moto, the outputs are variables that
/// the S3 deploy of the next stage reads (it deploys the OutputFileName artifact into the
/// bucket the stack created); a second run has nothing to update and succeeds.
async fn create_update_reads_outputs_and_no_updates_succeeds(
    c: &aws_sdk_codepipeline::Client,
    s3: &aws_sdk_s3::Client,
    cfn: &aws_sdk_cloudformation::Client,
) {
    let deploy = ActionDeclaration::builder()
        .set_namespace(Some("StackVars".into()))
        .name("CreateStack")
        .action_type_id(type_id(
            ActionCategory::Deploy,
            ActionOwner::Aws,
            "CloudFormation",
        ))
        .input_artifacts(InputArtifact::builder().name("Src").build().unwrap())
        .output_artifacts(OutputArtifact::builder().name("StackOut").build().unwrap())
        .configuration("ActionMode", "CREATE_UPDATE")
        .configuration("StackName", "site-stack")
        .configuration("TemplatePath", "Src::infra/template.json")
        .configuration("TemplateConfiguration", "Src::infra/config.json")
        .configuration(
            "ParameterOverrides",
            r#"{"BucketName":{"Fn::GetParam":["Src","params.json","bucket"]},"SourceBucket":{"Fn::GetArtifactAtt":["Src","BucketName"]}}"#,
        )
        .configuration("Capabilities", "CAPABILITY_IAM,CAPABILITY_NAMED_IAM")
        .configuration("RoleArn", "arn:aws:iam::123456789012:role/cfn-deploy")
        .configuration("OutputFileName", "outputs.json")
        .build()
        .unwrap();
    let declaration = pipeline("cfn-create")
        .stages(stage(
            "Source",
            vec![source("source-bucket", "infra.zip", "Src")],
        ))
        .stages(stage("Deploy", vec![deploy]))
        .stages(stage(
            "Publish",
            vec![s3_deploy("StackOut", "#{StackVars.BucketName}", "stack")],
        ))
        .build()
        .unwrap();
    let (id, status) = run(c, declaration.clone()).await;
    let detail = action_detail(c, "cfn-create", &id, "CreateStack").await;
    assert_eq!(status, "Succeeded", "{}", error_message(&detail));

    let (stack_status, outputs) = stack(cfn, "site-stack")
        .await
        .expect("the stack exists in moto");
    assert_eq!(stack_status, "CREATE_COMPLETE");
    assert_eq!(outputs["BucketName"], "cfn-site-bucket");
    assert_eq!(
        outputs["SourceBucket"], "artifact-bucket",
        "Fn::GetArtifactAtt"
    );
    assert_eq!(
        outputs["Team"], "platform",
        "the template configuration's parameter"
    );
    let variables = output_variables(&detail);
    assert_eq!(
        variables.get("BucketName").map(String::as_str),
        Some("cfn-site-bucket")
    );
    assert_eq!(variables.get("Team").map(String::as_str), Some("platform"));
    assert!(
        external_execution_id(&detail).contains(":stack/site-stack/"),
        "the stack id: {}",
        external_execution_id(&detail)
    );

    // The next stage read #{StackVars.BucketName}: the outputs file landed in that bucket.
    let deployed = get(s3, "cfn-site-bucket", "stack/outputs.json").await;
    let deployed: Value = serde_json::from_slice(&deployed).unwrap();
    assert_eq!(deployed["BucketName"], "cfn-site-bucket");
    assert_eq!(deployed["SourceBucket"], "artifact-bucket");
    let publish = action_detail(c, "cfn-create", &id, "Deploy").await;
    let resolved = publish
        .input()
        .and_then(|i| i.resolved_configuration())
        .and_then(|r| r.get("BucketName"))
        .cloned();
    assert_eq!(resolved.as_deref(), Some("cfn-site-bucket"));
    // The output artifact holds the file (read from the artifact store).
    let artifact = detail.output().unwrap().output_artifacts()[0]
        .s3_location()
        .unwrap();
    let zip = get(s3, artifact.bucket().unwrap(), artifact.key().unwrap()).await;
    let entries = zip_entries(&zip).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, "outputs.json");

    // Same template, same parameters: "No updates are to be performed" succeeds as in AWS,
    // with the stack's outputs.
    let (id, status) = run(c, declaration).await;
    let detail = action_detail(c, "cfn-create", &id, "CreateStack").await;
    assert_eq!(status, "Succeeded", "{}", error_message(&detail));
    assert_eq!(
        output_variables(&detail)
            .get("BucketName")
            .map(String::as_str),
        Some("cfn-site-bucket")
    );
    assert!(
        detail
            .output()
            .and_then(|o| o.execution_result())
            .and_then(|r| r.external_execution_summary())
            .unwrap_or_default()
            .contains("No updates are to be performed"),
        "{detail:?}"
    );
}

/// CHANGE_SET_REPLACE creates the change set (the stack waits in REVIEW_IN_PROGRESS), then
/// CHANGE_SET_EXECUTE executes it: the stack exists and its outputs are the second action's
/// variables.
async fn a_change_set_pair_deploys(
    c: &aws_sdk_codepipeline::Client,
    s3: &aws_sdk_s3::Client,
    cfn: &aws_sdk_cloudformation::Client,
) {
    let overrides = r#"{"BucketName":"change-set-bucket","SourceBucket":"x"}"#;
    let mut execute = cloudformation(
        "Execute",
        "CHANGE_SET_EXECUTE",
        "cs-stack",
        &[],
        &[],
        &[("ChangeSetName", "release")],
    );
    execute.run_order = Some(2);
    execute.namespace = Some("Executed".into());
    let declaration = pipeline("cfn-change-set")
        .stages(stage(
            "Source",
            vec![source("source-bucket", "infra.zip", "Src")],
        ))
        .stages(stage(
            "Deploy",
            vec![
                cloudformation(
                    "Prepare",
                    "CHANGE_SET_REPLACE",
                    "cs-stack",
                    &["Src"],
                    &[],
                    &[
                        ("ChangeSetName", "release"),
                        ("TemplatePath", "Src::infra/template.json"),
                        ("ParameterOverrides", overrides),
                    ],
                ),
                execute,
            ],
        ))
        .build()
        .unwrap();
    let (id, status) = run(c, declaration).await;
    let prepare = action_detail(c, "cfn-change-set", &id, "Prepare").await;
    let executed = action_detail(c, "cfn-change-set", &id, "Execute").await;
    assert_eq!(
        status,
        "Succeeded",
        "{} / {}",
        error_message(&prepare),
        error_message(&executed)
    );
    let change_set = cfn
        .describe_change_set()
        .stack_name("cs-stack")
        .change_set_name("release")
        .send()
        .await
        .expect("the change set exists in moto");
    assert_eq!(
        change_set.execution_status().map(|s| s.as_str()),
        Some("EXECUTE_COMPLETE")
    );
    let (stack_status, outputs) = stack(cfn, "cs-stack").await.expect("the stack exists");
    assert_eq!(stack_status, "CREATE_COMPLETE");
    // The change set's resources exist (moto's S3 has the bucket).
    s3.head_bucket()
        .bucket("change-set-bucket")
        .send()
        .await
        .expect("the change set created the bucket");
    // The execute action reports the stack's outputs (moto computes none for a stack created
    // by a change set; AWS does).
    let variables: std::collections::BTreeMap<String, String> =
        output_variables(&executed).into_iter().collect();
    assert_eq!(variables, outputs);
    assert!(
        external_execution_id(&prepare).contains(":stack/cs-stack/"),
        "{}",
        external_execution_id(&prepare)
    );
}

/// A template CloudFormation refuses fails the action with CloudFormation's message.
async fn a_broken_template_fails_with_the_reason(c: &aws_sdk_codepipeline::Client) {
    let declaration = pipeline("cfn-broken")
        .stages(stage(
            "Source",
            vec![source("source-bucket", "infra.zip", "Src")],
        ))
        .stages(stage(
            "Deploy",
            vec![cloudformation(
                "Broken",
                "CREATE_UPDATE",
                "broken-stack",
                &["Src"],
                &[],
                &[("TemplatePath", "Src::infra/broken.json")],
            )],
        ))
        .build()
        .unwrap();
    let (id, status) = run(c, declaration).await;
    assert_eq!(status, "Failed");
    let detail = action_detail(c, "cfn-broken", &id, "Broken").await;
    assert_eq!(detail.status(), Some(&ActionExecutionStatus::Failed));
    let message = error_message(&detail);
    assert!(
        message.contains(
            "Template error: instance of Fn::GetAtt references undefined resource Missing"
        ),
        "{message}"
    );

    // A template path that is not in the artifact fails with what is missing.
    let declaration = pipeline("cfn-missing-file")
        .stages(stage(
            "Source",
            vec![source("source-bucket", "infra.zip", "Src")],
        ))
        .stages(stage(
            "Deploy",
            vec![cloudformation(
                "Missing",
                "CREATE_UPDATE",
                "missing-stack",
                &["Src"],
                &[],
                &[("TemplatePath", "Src::nope.yml")],
            )],
        ))
        .build()
        .unwrap();
    let (id, status) = run(c, declaration).await;
    assert_eq!(status, "Failed");
    let message = error_message(&action_detail(c, "cfn-missing-file", &id, "Missing").await);
    assert!(
        message.contains("'nope.yml' does not exist in artifact 'Src'"),
        "{message}"
    );
}

/// REPLACE_ON_FAILURE creates a stack that does not exist; DELETE_ONLY deletes stacks (moto no
/// longer knows them); a stack that does not exist succeeds, as in AWS.
async fn delete_only_deletes_and_a_missing_stack_succeeds(
    c: &aws_sdk_codepipeline::Client,
    cfn: &aws_sdk_cloudformation::Client,
) {
    assert!(stack(cfn, "cs-stack").await.is_some());
    let declaration = pipeline("cfn-delete")
        .stages(stage(
            "Source",
            vec![source("source-bucket", "infra.zip", "Src")],
        ))
        .stages(stage(
            "Replace",
            vec![cloudformation(
                "Replace",
                "REPLACE_ON_FAILURE",
                "replaced-stack",
                &["Src"],
                &[],
                &[
                    ("TemplatePath", "Src::infra/template.json"),
                    (
                        "ParameterOverrides",
                        r#"{"BucketName":"replaced-bucket","SourceBucket":"y"}"#,
                    ),
                ],
            )],
        ))
        .stages(stage(
            "Teardown",
            vec![
                cloudformation("Delete", "DELETE_ONLY", "cs-stack", &[], &[], &[]),
                cloudformation(
                    "DeleteReplaced",
                    "DELETE_ONLY",
                    "replaced-stack",
                    &[],
                    &[],
                    &[],
                ),
                cloudformation(
                    "DeleteMissing",
                    "DELETE_ONLY",
                    "never-created",
                    &[],
                    &[],
                    &[],
                ),
            ],
        ))
        .build()
        .unwrap();
    let (id, status) = run(c, declaration).await;
    let delete = action_detail(c, "cfn-delete", &id, "Delete").await;
    assert_eq!(status, "Succeeded", "{}", error_message(&delete));
    assert!(output_variables(&delete).is_empty());
    assert!(stack(cfn, "cs-stack").await.is_none(), "the stack is gone");
    let replace = action_detail(c, "cfn-delete", &id, "Replace").await;
    assert_eq!(
        output_variables(&replace)
            .get("BucketName")
            .map(String::as_str),
        Some("replaced-bucket")
    );
    assert!(stack(cfn, "replaced-stack").await.is_none());
}
