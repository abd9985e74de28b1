//! Action types: custom types listed, tagged and deleted, their queryable properties, action type
//! declarations read and updated, deploy targets, and the rule type catalog.

use super::*;

#[tokio::test]
async fn custom_action_types_are_listed_tagged_and_deleted_for_good() {
    let mut config = manual_config();
    config.max_custom_action_types = 2;
    let t = start_with(config).await;
    let c = &t.client;
    create_custom_type(c, "Listed").await;
    let all = c.list_action_types().send().await.unwrap();
    let providers: Vec<_> = all
        .action_types()
        .iter()
        .map(|t| t.id().unwrap().provider().to_string())
        .collect();
    for expected in [
        "S3",
        "CodeCommit",
        "CodeBuild",
        "CodeDeploy",
        "CloudFormation",
        "Manual",
        "Lambda",
        "Listed",
    ] {
        assert!(providers.iter().any(|p| p == expected), "{expected} listed");
    }
    let custom = c
        .list_action_types()
        .action_owner_filter(ActionOwner::Custom)
        .send()
        .await
        .unwrap();
    assert_eq!(custom.action_types().len(), 1);
    let listed = &custom.action_types()[0];
    assert_eq!(listed.input_artifact_details().unwrap().maximum_count(), 1);
    assert_eq!(listed.action_configuration_properties().len(), 2);
    let aws = c
        .list_action_types()
        .action_owner_filter(ActionOwner::Aws)
        .send()
        .await
        .unwrap();
    assert!(aws
        .action_types()
        .iter()
        .all(|t| t.id().unwrap().owner() == &ActionOwner::Aws));
    let codebuild = aws
        .action_types()
        .iter()
        .find(|t| {
            t.id().unwrap().provider() == "CodeBuild"
                && t.id().unwrap().category() == &ActionCategory::Build
        })
        .unwrap();
    assert_eq!(
        codebuild.input_artifact_details().unwrap().minimum_count(),
        1
    );
    assert_eq!(
        codebuild.input_artifact_details().unwrap().maximum_count(),
        5
    );

    let arn = "arn:aws:codepipeline:us-east-1:000000000000:actiontype:Custom/Build/Listed/1";
    let tags = c
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags()[0].key(), "team");

    let err = c
        .create_custom_action_type()
        .category(ActionCategory::Build)
        .provider("Listed")
        .version("1")
        .input_artifact_details(common::artifacts(0, 0))
        .output_artifact_details(common::artifacts(0, 0))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ActionTypeAlreadyExistsException"));
    create_custom_type(c, "Second").await;
    let err = c
        .create_custom_action_type()
        .category(ActionCategory::Build)
        .provider("Third")
        .version("1")
        .input_artifact_details(common::artifacts(0, 0))
        .output_artifact_details(common::artifacts(0, 0))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("LimitExceededException"));

    c.delete_custom_action_type()
        .category(ActionCategory::Build)
        .provider("Listed")
        .version("1")
        .send()
        .await
        .unwrap();
    // A pipeline using it can no longer be created, and the id cannot be reused.
    let err = c
        .create_pipeline()
        .pipeline(worker_pipeline("orphan", "Listed", "p"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidActionDeclarationException"));
    let err = c
        .create_custom_action_type()
        .category(ActionCategory::Build)
        .provider("Listed")
        .version("1")
        .input_artifact_details(common::artifacts(0, 0))
        .output_artifact_details(common::artifacts(0, 0))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ActionTypeAlreadyExistsException"));
    let err = c
        .delete_custom_action_type()
        .category(ActionCategory::Build)
        .provider("Listed")
        .version("1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ActionTypeNotFoundException"));
}

#[tokio::test]
async fn queryable_properties_must_be_required_and_not_secret() {
    let t = start_with(manual_config()).await;
    let err = t
        .client
        .create_custom_action_type()
        .category(ActionCategory::Test)
        .provider("Bad")
        .version("1")
        .configuration_properties(
            ActionConfigurationProperty::builder()
                .name("Q")
                .required(false)
                .key(true)
                .secret(false)
                .queryable(true)
                .build()
                .unwrap(),
        )
        .input_artifact_details(common::artifacts(0, 0))
        .output_artifact_details(common::artifacts(0, 0))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
}

/// An action type declaration run by job workers, with artifact bounds (min, max).
fn job_worker_type(
    category: ActionCategory,
    owner: &str,
    provider: &str,
    inputs: (i32, i32),
    outputs: (i32, i32),
) -> aws_sdk_codepipeline::types::builders::ActionTypeDeclarationBuilder {
    let bounds = |(min, max): (i32, i32)| {
        ActionTypeArtifactDetails::builder()
            .minimum_count(min)
            .maximum_count(max)
            .build()
    };
    ActionTypeDeclaration::builder()
        .id(ActionTypeIdentifier::builder()
            .category(category)
            .owner(owner)
            .provider(provider)
            .version("1")
            .build()
            .unwrap())
        .executor(
            ActionTypeExecutor::builder()
                .r#type(ExecutorType::JobWorker)
                .configuration(ExecutorConfiguration::builder().build())
                .build()
                .unwrap(),
        )
        .input_artifact_details(bounds(inputs))
        .output_artifact_details(bounds(outputs))
}

/// Registers ThirdParty/Test/PROVIDER/1 the way the README says (AWS creates third-party types
/// on request): a custom type of that name, exported, renamed to ThirdParty and imported.
async fn register_third_party_type(t: &TestServer, provider: &str) {
    t.client
        .create_custom_action_type()
        .category(ActionCategory::Test)
        .provider(provider)
        .version("1")
        .input_artifact_details(common::artifacts(1, 1))
        .output_artifact_details(common::artifacts(0, 0))
        .send()
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/_codepipeline-local/state", t.url);
    let mut doc: serde_json::Value = http.get(&url).send().await.unwrap().json().await.unwrap();
    let types = doc[0]["state"]["action_types"].as_object_mut().unwrap();
    let mut entry = types.remove(&format!("Custom/Test/{provider}/1")).unwrap();
    entry["action_type"]["id"]["owner"] = "ThirdParty".into();
    types.insert(format!("ThirdParty/Test/{provider}/1"), entry);
    let put = http.put(&url).json(&doc).send().await.unwrap();
    assert_eq!(put.status(), 200);
}

#[tokio::test]
async fn get_and_update_action_type_declarations() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let s3 = c
        .get_action_type()
        .category(ActionCategory::Source)
        .owner("AWS")
        .provider("S3")
        .version("1")
        .send()
        .await
        .unwrap();
    let declaration = s3.action_type().unwrap();
    assert_eq!(declaration.id().unwrap().provider(), "S3");
    assert_eq!(
        declaration
            .output_artifact_details()
            .unwrap()
            .minimum_count(),
        1
    );
    assert!(declaration
        .properties()
        .iter()
        .any(|p| p.name() == "S3Bucket" && !p.optional()));

    let err = c
        .get_action_type()
        .category(ActionCategory::Test)
        .owner("ThirdParty")
        .provider("Partner")
        .version("1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ActionTypeNotFoundException"));

    let partner = job_worker_type(
        ActionCategory::Test,
        "ThirdParty",
        "Partner",
        (1, 1),
        (0, 0),
    )
    .properties(
        ActionTypeProperty::builder()
            .name("ApiKey")
            .optional(false)
            .key(false)
            .no_echo(true)
            .build()
            .unwrap(),
    )
    .description("A partner test action")
    .build();
    // A type that does not exist cannot be updated, as in AWS.
    let err = c
        .update_action_type()
        .action_type(partner.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ActionTypeNotFoundException"));
    register_third_party_type(&t, "Partner").await;
    c.update_action_type()
        .action_type(partner)
        .send()
        .await
        .unwrap();
    let got = c
        .get_action_type()
        .category(ActionCategory::Test)
        .owner("ThirdParty")
        .provider("Partner")
        .version("1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.action_type().unwrap().description(),
        Some("A partner test action")
    );
    // Its declared properties now drive pipeline validation: ApiKey is required.
    let test = action("Check", third_party_id("Partner"), &["Src"], &[])
        .build()
        .unwrap();
    let declaration = pipeline("partner-check")
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Test", vec![test]))
        .build()
        .unwrap();
    let err = c
        .create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidActionDeclarationException"));

    let aws_owned = job_worker_type(ActionCategory::Source, "AWS", "S3", (0, 0), (1, 1)).build();
    let err = c
        .update_action_type()
        .action_type(aws_owned)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("RequestFailedException"));
}

#[tokio::test]
async fn deploy_actions_list_their_targets() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let deploy = codedeploy("Deploy", "Src");
    let declaration = pipeline("targets")
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Deploy", vec![deploy]))
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "targets").await;
    wait_status(c, "targets", &id, PipelineExecutionStatus::Succeeded).await;
    let actions = action_executions(c, "targets", &id).await;
    let deploy_id = actions
        .iter()
        .find(|a| a.action_name() == Some("Deploy"))
        .and_then(|a| a.action_execution_id())
        .unwrap();
    let targets = c
        .list_deploy_action_execution_targets()
        .pipeline_name("targets")
        .action_execution_id(deploy_id)
        .send()
        .await
        .unwrap();
    assert_eq!(targets.targets().len(), 2);
    let target = &targets.targets()[0];
    assert_eq!(target.status(), Some("Succeeded"));
    assert!(target.target_id().unwrap().starts_with("i-"));
    assert!(!target.events().is_empty());
    // Stable between calls, filterable and paginated.
    let again = c
        .list_deploy_action_execution_targets()
        .action_execution_id(deploy_id)
        .send()
        .await
        .unwrap();
    assert_eq!(again.targets()[0].target_id(), target.target_id());
    let failed_only = c
        .list_deploy_action_execution_targets()
        .action_execution_id(deploy_id)
        .filters(
            TargetFilter::builder()
                .name(TargetFilterName::TargetStatus)
                .values("Failed")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(failed_only.targets().is_empty());
    let page = c
        .list_deploy_action_execution_targets()
        .action_execution_id(deploy_id)
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(page.targets().len(), 1);
    assert!(page.next_token().is_some());
    let err = c
        .list_deploy_action_execution_targets()
        .action_execution_id("no-such-action-execution")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ActionExecutionNotFoundException"));
}

#[tokio::test]
async fn list_rule_types_returns_the_aws_rule_catalog() {
    let t = start().await;
    let rules = t.client.list_rule_types().send().await.unwrap();
    let providers: Vec<_> = rules
        .rule_types()
        .iter()
        .map(|r| r.id().unwrap().provider().to_string())
        .collect();
    for expected in [
        "VariableCheck",
        "CloudWatchAlarm",
        "LambdaInvoke",
        "DeploymentWindow",
        "Commands",
    ] {
        assert!(providers.iter().any(|p| p == expected), "{expected} listed");
    }
    let check = rules
        .rule_types()
        .iter()
        .find(|r| r.id().unwrap().provider() == "VariableCheck")
        .unwrap();
    let names: Vec<_> = check
        .rule_configuration_properties()
        .iter()
        .map(|p| p.name())
        .collect();
    assert!(names.contains(&"Variable") && names.contains(&"Operator") && names.contains(&"Value"));
}
